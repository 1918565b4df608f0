"""Running one step inside a workflow: replay from the log, or run, retry and checkpoint.

A finished step is never run again: its recorded output (or error) is returned at the same
position on replay. A step whose result was not recorded (the executor died mid-step) runs
again, so steps are at-least-once; the checkpoint write is exactly-once.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db import runs, steps as stepLog, tx
from exchange.workflows.engine import codec, compat, context, settings
from exchange.workflows.engine.errors import (CheckpointUnavailable, NonDeterminismError,
                                              OwnershipLost, StepError, WorkflowCancelled)


def run(definition, args, kwargs):
    """Execute a step call: directly outside a workflow or inside another step."""
    ctx = context.current()
    if ctx is None or ctx.inStep:
        return definition.function(*args, **kwargs)
    position = ctx.nextPosition()
    recorded = ctx.recorded.get(position)
    if recorded is not None:
        return _replay(definition, position, recorded)
    return _execute(ctx, definition, position, args, kwargs)


def _replay(definition, position, recorded):
    name, status, outputJson, errorJson = recorded
    if name != definition.name:
        raise NonDeterminismError(position, name, definition.name)
    if status == settings.STATUS_SUCCESS:
        return codec.decode(outputJson)
    error = codec.decode(errorJson)
    raise StepError(name, position, error.get("type"), error.get("message"),
                    error.get("attempts", 1))


def _execute(ctx, definition, position, args, kwargs):
    startedMs = compat.nowMs()
    attempt = 0
    while True:
        attempt += 1
        value, failure = _attempt(ctx, definition, args, kwargs)
        if failure is None or not definition.retriesAllowed or attempt >= definition.maxAttempts:
            break
        compat.sleepMs(definition.delayMs(attempt))
    if failure is None:
        try:
            outputJson, result = codec.roundTrip(value)
        except codec.NotSerializable as error:
            failure = ("NotSerializable", u"step %s returned a value that cannot be stored as "
                       u"JSON: %s" % (definition.name, compat.describeError(error)[1]), u"")
        else:
            _checkpoint(ctx, position, definition.name, settings.STATUS_SUCCESS, outputJson, None,
                        attempt, startedMs)
            return result
    errorType, message, trace = failure
    errorJson = codec.encode({"type": errorType, "message": message, "traceback": trace,
                              "attempts": attempt})
    _checkpoint(ctx, position, definition.name, settings.STATUS_ERROR, None, errorJson, attempt,
                startedMs)
    raise StepError(definition.name, position, errorType, message, attempt)


def _attempt(ctx, definition, args, kwargs):
    """Run the step body once: (value, None) on success, else (None, failure triple)."""
    ctx.inStep = True
    try:
        return definition.function(*args, **kwargs), None
    except compat.CATCHABLE as error:
        errorType, message = compat.describeError(error)
        return None, (errorType, message, compat.formatTraceback(error))
    finally:
        ctx.inStep = False


def _checkpoint(ctx, position, name, status, outputJson, errorJson, attempts, startedMs):
    """Write the step's outcome once, or stop the run if it is no longer ours."""
    completedMs = compat.nowMs()

    def write():
        return stepLog.record(ctx.dbName, ctx.workflowId, ctx.executorId, ctx.attempt, position,
                              name, status, outputJson, errorJson, attempts, startedMs,
                              completedMs)

    try:
        if tx.retrying(write):
            return
        existing = tx.retrying(lambda: stepLog.at(ctx.dbName, ctx.workflowId, position))
        state = tx.retrying(lambda: runs.owner(ctx.dbName, ctx.workflowId))
    except compat.CATCHABLE as error:
        raise CheckpointUnavailable(u"workflow %s: step #%d could not be recorded: %s"
                                    % (ctx.workflowId, position, compat.describeError(error)[1]))
    if existing is not None and existing[0] == name and existing[1] == ctx.executorId \
            and state is not None and state[1:] == (ctx.executorId, ctx.attempt):
        return  # an earlier try of this very write committed before its answer was lost
    if state is not None and state[0] == settings.STATUS_CANCELLED:
        raise WorkflowCancelled(u"workflow %s was cancelled" % ctx.workflowId)
    raise OwnershipLost(u"workflow %s is no longer owned by %s (attempt %d)"
                        % (ctx.workflowId, ctx.executorId, ctx.attempt))
