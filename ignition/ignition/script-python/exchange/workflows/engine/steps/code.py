"""Running one step inside a workflow: replay from the log, or run, retry and checkpoint.

A finished step is never run again: its recorded output (or error) is returned at the same
position on replay. A step whose result was not recorded (the executor died mid-step) runs
again, so steps are at-least-once; the checkpoint write is exactly-once. The step boundary
is where a run stops: at its deadline, and (between retries) when it was cancelled.

A SUCCESS checkpoint of the run's own thread is kept until the run's next durable operation
(engine.boundary writes it first), the run's end (whose terminal write takes it in the same
statement: a run's last step costs no statement of its own) or DEFER_MS, whichever comes
first (engine.checkpoints). Nothing durable happens between a step and its checkpoint.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db import steps as stepLog, tx
from exchange.workflows import codec, compat, statuses
from exchange.workflows.engine import boundary, checkpoints, context, faults
from exchange.workflows.errors import (CheckpointUnavailable, KeptCheckpointRefused,
                                       NonDeterminismError, StepError, StepRefused)

MAX_OUTPUT_CHARS = 16 * 1024 * 1024
_BACKOFF_SLICE_MS = 1000


def run(definition, args, kwargs):
    """Execute a step call: directly outside a workflow or inside another step."""
    ctx = context.current()
    if ctx is None or ctx.inStep:
        return definition.function(*args, **kwargs)
    def work():
        position, recorded = boundary.nextOperation(ctx)
        if recorded is not None:
            return replay(definition, position, recorded)
        return execute(ctx, definition, position, args, kwargs)
    return boundary.closing(ctx, work)


def replay(definition, position, recorded):
    """The recorded result of a step at ``position``: its output, or its StepError raised."""
    name, status, outputJson, errorJson = recorded
    if name != definition.name:
        raise NonDeterminismError(position, name, definition.name)
    if status == statuses.SUCCESS:
        return codec.decode(outputJson)
    _raiseRecorded(name, position, errorJson)


def execute(ctx, definition, position, args, kwargs):
    """Run a step at its (unrecorded) ``position`` with its retries; record and return its
    result, or raise its StepError. ``ctx`` may be a parallel step's (engine.parallel)."""
    startedMs = compat.nowMs()
    attempt = 0
    while True:
        attempt += 1
        mayRetry = definition.retriesAllowed and attempt < definition.maxAttempts
        value, failure, final = _attempt(ctx, definition, args, kwargs, mayRetry)
        if failure is None or final or not mayRetry:
            break
        _waitBeforeRetry(ctx, definition.delayMs(attempt))
    if failure is None:
        outputJson, result, failure = _encodeOutput(definition, value)
    if failure is None:
        step = _step(definition, position, attempt, startedMs)
        if ctx.defersCheckpoints and not ctx.inHandler:
            checkpoints.keep(ctx, step, outputJson,
                             lambda byFlusher=False: writeKept(ctx, step, outputJson,
                                                               byFlusher))
            return result
        status, errorJson = _checkpoint(ctx, step, statuses.SUCCESS, outputJson, None)
        if status == statuses.SUCCESS:
            return result
    else:
        errorType, message, trace = failure
        errorJson = codec.errorJson(errorType, message, trace, attempts=attempt)
        _checkpoint(ctx, _step(definition, position, attempt, startedMs), statuses.ERROR,
                    None, errorJson)
    _raiseRecorded(definition.name, position, errorJson)


def writeKept(ctx, step, outputJson, byFlusher=False):
    """Write a kept SUCCESS checkpoint alone (engine.checkpoints): before the run's next
    durable operation, by the flusher, or at the run's end when the terminal write could
    not take it. A result the database refuses is recorded as the step's error, which ends
    the run (KeptCheckpointRefused: the body already went on, so no later call may catch it).
    The flusher's write notes a pending command for the run, but not as the run's own
    read of its state: a command sent after it is still read at the next boundary."""
    readAtMs = ctx.stateReadAtMs
    status, errorJson = _checkpoint(ctx, step, statuses.SUCCESS, outputJson, None)
    if byFlusher:
        ctx.stateReadAtMs = readAtMs
    if status != statuses.SUCCESS:
        try:
            _raiseRecorded(step.name, step.position, errorJson)
        except StepError as error:  # (the body went on with the result: it ends here)
            raise KeptCheckpointRefused(error)


def _encodeOutput(definition, value):
    """(outputJson, value as a replay will see it, None), or (None, None, failure triple)."""
    try:
        outputJson, result = codec.roundTrip(value)
        if len(outputJson) > MAX_OUTPUT_CHARS:
            raise codec.NotSerializable(u"%d characters of JSON; the limit is %d"
                                        % (len(outputJson), MAX_OUTPUT_CHARS))
        return outputJson, result, None
    except codec.NotSerializable as error:
        return None, None, ("NotSerializable", u"step %s returned a value that cannot be stored "
                            u"as JSON: %s" % (definition.name, compat.describeError(error)[1]),
                            u"")


def _waitBeforeRetry(ctx, delayMs):
    """Sleep the backoff in slices, stopping early if the run was cancelled or timed out."""
    boundary.refresh(ctx)
    endMs = compat.monotonicMs() + delayMs
    while True:
        remaining = endMs - compat.monotonicMs()
        if remaining <= 0:
            break
        compat.sleepMs(min(remaining, _BACKOFF_SLICE_MS))
        if endMs - compat.monotonicMs() > 0:
            boundary.refresh(ctx)
    boundary.checkDeadline(ctx)
    boundary.refresh(ctx)


def _attempt(ctx, definition, args, kwargs, mayRetry):
    """Run the step body once: (value, None, False) on success, else (None, failure triple,
    whether retrying is pointless: errors.StepRefused, or an error the step's ``retryIf``
    does not deem worth it, asked only when a retry would follow)."""
    ctx.inStep = True
    try:
        return definition.function(*args, **kwargs), None, False
    except StepRefused as refused:
        return None, (refused.code, compat.describeError(refused)[1], u""), True
    except compat.CATCHABLE as error:
        errorType, message = compat.describeError(error)
        final = mayRetry and not definition.worthRetrying(error)
        return None, (errorType, message, compat.formatTraceback(error)), final
    finally:
        ctx.inStep = False


def _step(definition, position, attempts, startedMs):
    """The step as its checkpoint records it, completed now."""
    return stepLog.Step(position, definition.name, attempts, startedMs, compat.nowMs())


def _checkpoint(ctx, step, status, outputJson, errorJson):
    """Write the step's outcome (``step``: a db.steps.Step) once; (status, errorJson) as
    recorded.

    A database outage pauses here (the result is kept) until the write lands. A result the
    database refuses outright (too large, invalid) is recorded as the step's error instead.
    Stops the run (WorkflowCancelled, OwnershipLost) when it is no longer ours.
    """
    def record(status, outputJson, errorJson):
        written = stepLog.record(ctx.fence, step, status, outputJson, errorJson)
        faults.point("step.after_commit")
        return written

    def write(status, outputJson, errorJson):
        return tx.persistently(lambda: record(status, outputJson, errorJson),
                               u"step checkpoint")

    try:
        written, status, errorJson = writeOutcome(write, status, outputJson, errorJson,
                                                  "CheckpointRefused", u"the step's result",
                                                  attempts=step.attempts)
        boundary.whatLanded(ctx, step.position, step.name, written, lambda: tx.retrying(
            lambda: stepLog.at(ctx.dbName, ctx.workflowId, step.position)))
    except boundary.NotOurs:
        boundary.lost(ctx, step.position, u"step")
    except compat.CATCHABLE as error:
        raise CheckpointUnavailable(u"workflow %s: step #%d could not be recorded: %s"
                                    % (ctx.workflowId, step.position,
                                       compat.describeError(error)[1]))
    return status, errorJson  # (or an earlier try of this write landed, its answer lost)


def writeOutcome(write, status, outputJson, errorJson, refusedType, what, **extra):
    """``write(status, outputJson, errorJson)``; a SUCCESS the database refuses outright (too
    large, invalid) is written as an ERROR of type ``refusedType`` instead, so a result never
    leaves a run undecided. Returns (written, status, errorJson) as written."""
    try:
        return write(status, outputJson, errorJson), status, errorJson
    except compat.CATCHABLE as refused:
        if status != statuses.SUCCESS:
            raise
        errorJson = codec.errorJson(refusedType, u"the database refused %s: %s"
                                    % (what, compat.describeError(refused)[1]), **extra)
        return write(statuses.ERROR, None, errorJson), statuses.ERROR, errorJson


def _raiseRecorded(name, position, errorJson):
    """Raise the StepError a recorded failure stands for."""
    error = codec.decode(errorJson)
    raise StepError(name, position, error.get("type"), error.get("message"),
                    error.get("attempts", 1))
