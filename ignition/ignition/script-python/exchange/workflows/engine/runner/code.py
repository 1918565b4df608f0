"""Executing one claimed run on a worker thread, from its claim to its terminal write.

The same path serves a first run and a re-run: a re-run reads its step log, and the steps
replay from it. The terminal write is guarded by RUNNING and the owner, so a run that
was cancelled or taken over meanwhile is left as the other writer left it. Whatever the
workflow raises ends the run in ERROR; only the engine's control signals stop it without a
verdict (cancelled, taken over, database unreachable), leaving the run to its new owner.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db import runs, steps as stepLog, tx
from exchange.workflows import codec, compat, platform, statuses
from exchange.workflows.engine import context, faults, registry, steps
from exchange.workflows.errors import ControlSignal, HandlerFailed, KeptCheckpointRefused, \
    NonDeterminismError, WorkflowCancelled, WorkflowStopped, WorkflowSuspended

_SUSPENDED = "suspended"


def _logger():
    return platform.logger("exchange.workflows.runner")


def execute(claim, clockOffsetMs, leaseEpoch, handOver=None):
    """Run a claimed workflow to a terminal state (or stop quietly if it is no longer ours).

    ``claim`` is a db.runs.Claim: the claim made the run RUNNING, named its fence and brought
    its inputs; a re-run reads its step log first. ``clockOffsetMs``: the database clock
    minus this process's, as the dispatcher measured it around the claim (the deadline moves
    by it). ``leaseEpoch`` is the executor's lease epoch before the claim (a lapse noticed
    since makes the run check ownership before its first step). ``handOver(fence, status,
    outputJson, errorJson)``, when given, tries the terminal write together with the claim of
    the next runs (engine.dispatcher): true when the write took effect; otherwise the write
    is made alone, as without it."""
    fence = claim.fence
    recorded = {}
    if claim.hasSteps:
        try:
            rows = tx.persistently(lambda: stepLog.listSteps(fence.dbName, fence.workflowId),
                                   u"step log read")
        except compat.CATCHABLE as error:
            _abandon(fence.workflowId, u"its step log could not be read", error)
            _letGo(fence)
            return None
        recorded = dict((row["step_position"], (row["step_name"], row["status"],
                                                row["output"], row["error"])) for row in rows)
    deadlineMs = None if claim.deadlineMs is None else claim.deadlineMs - clockOffsetMs
    ctx = context.WorkflowContext(fence, claim.workflowName, recorded, deadlineMs)
    ctx.leaseEpoch = leaseEpoch
    ctx.command = claim.pendingCommand
    ctx.clockOffsetMs = clockOffsetMs
    ctx.defersCheckpoints = True  # a step's, kept until the next operation or the end
    outcome = _runBody(ctx, claim.inputsJson)
    if outcome is _SUSPENDED:
        return None
    if outcome is None:  # left to others: if it was cancelled, a resume may go on now
        _writeKept(ctx)
        _letGo(fence)
        return None
    status = _finish(ctx, handOver, *outcome)
    if status is None:
        _letGo(fence)  # cancelled meanwhile: a resume may go on now
    return status


def _runBody(ctx, inputsJson):
    """(status, outputJson, errorJson), or None when the run must be left to others."""
    try:
        definition = registry.lookup(ctx.workflowName)
    except compat.CATCHABLE as error:
        return _error("WorkflowModuleImportFailed", u"importing the workflow modules failed: "
                      u"%s: %s" % compat.describeError(error), compat.formatTraceback(error))
    if definition is None:
        return _error("WorkflowNotRegistered", u"no workflow named %r is registered on executor "
                      u"%s" % (ctx.workflowName, ctx.fence.executorId), u"")
    ctx.definition = definition
    ctx.inputs = codec.decode(inputsJson) or {}
    context.activate(ctx)
    try:
        result = definition.function(**ctx.inputs)
    except WorkflowSuspended:
        return _SUSPENDED  # waiting or held: the thread is free, claimable when woken
    except WorkflowStopped as stopped:
        return statuses.STOPPED, stopped.outputJson, codec.errorJson(
            "Stopped", u"stopped by an operator; the stop handler ran")
    except WorkflowCancelled:
        return None
    except HandlerFailed as error:
        return _error("HandlerFailed", compat.toText(error.args[0]), error.trace, error.code)
    except NonDeterminismError as error:
        return _error("NonDeterminismError", compat.toText(error.args[0]),
                      compat.formatTraceback(error), error.code)
    except KeptCheckpointRefused as refused:  # a step's kept checkpoint: the step's error
        return _failure(refused.stepError)
    except ControlSignal as signal:  # ownership lost, database unreachable, executor stopping
        _logger().warn(u"workflow %s left to recovery: %s"
                       % (ctx.workflowId, compat.describeError(signal)[1]))
        return None
    except BaseException as error:  # noqa: B902 - SystemExit in a workflow is its error too
        return _failure(error)
    except compat.JavaThrowable as error:  # pragma: no cover - Jython only
        return _failure(error)
    finally:
        context.deactivate()
    try:
        outputJson = codec.encode(result)
        if len(outputJson) > steps.MAX_OUTPUT_CHARS:
            raise codec.NotSerializable(u"%d characters of JSON; the limit is %d"
                                        % (len(outputJson), steps.MAX_OUTPUT_CHARS))
        return statuses.SUCCESS, outputJson, None
    except codec.NotSerializable as error:
        return _error("NotSerializable", u"the workflow returned a value that cannot be stored "
                      u"as JSON: %s" % compat.describeError(error)[1], u"")


def _finish(ctx, handOver, status, outputJson, errorJson):
    """The terminal write (handed over with the next claim when it can be), with the last
    step's kept checkpoint (engine.checkpoints) in the same statement; a result the database
    refuses becomes a bounded ERROR."""
    taken = []  # (the flusher may have written it: then None, and its failure raised)
    outcome = _withKept(ctx, lambda: taken.append(ctx.takePendingStep()),
                        (status, outputJson, errorJson))
    if outcome is None:
        return None
    status, outputJson, errorJson = outcome
    pending = taken[0] if taken else None
    lastStep = None if pending is None else pending.lastStep
    if handOver is not None and handOver(ctx.fence, status, outputJson, errorJson, lastStep):
        faults.point("run.after_finish")
        return _ended(ctx, status, errorJson)

    def finish(status, outputJson, errorJson, lastStep=None):
        if runs.finish(ctx.fence, status, outputJson, errorJson, lastStep):
            faults.point("run.after_finish")
            return True
        # an earlier try of this write may have landed with its answer lost
        return runs.finishedBy(ctx.fence, status)

    if pending is not None:
        try:
            written = tx.persistently(lambda: finish(status, outputJson, errorJson, lastStep),
                                      u"terminal write")
            return _written(ctx, written, status, errorJson)
        except compat.CATCHABLE as refused:  # the step's output or the result: write apart
            _logger().info(u"workflow %s: the terminal write with its last step's checkpoint "
                           u"was refused (%s); written apart"
                           % (ctx.workflowId, compat.describeError(refused)[1]))
        outcome = _withKept(ctx, pending.write, (status, outputJson, errorJson))
        if outcome is None:
            return None
        status, outputJson, errorJson = outcome

    def write(status, outputJson, errorJson):
        return tx.persistently(lambda: finish(status, outputJson, errorJson), u"terminal write")
    try:
        written, status, errorJson = steps.writeOutcome(write, status, outputJson, errorJson,
                                                        "ResultRefused", u"the workflow's result")
    except compat.CATCHABLE as error:
        _abandon(ctx.workflowId, u"its %s could not be recorded" % status, error)
        return None
    return _written(ctx, written, status, errorJson)


def _withKept(ctx, action, outcome):
    """``action()`` takes or writes the run's kept checkpoint; the run's outcome after it:
    ``outcome`` as it was, the step's error when its checkpoint was refused, or None when
    the run must be left to others (no longer ours, or the write failed for good)."""
    try:
        action()
        return outcome
    except KeptCheckpointRefused as refused:  # the step's output: the run fails on it
        return _failure(refused.stepError)
    except ControlSignal as signal:  # no longer ours, or the database away for good
        _logger().warn(u"workflow %s left to recovery: %s"
                       % (ctx.workflowId, compat.describeError(signal)[1]))
        return None
    except compat.CATCHABLE as error:
        _abandon(ctx.workflowId, u"its last step could not be recorded", error)
        return None


def _written(ctx, written, status, errorJson):
    """The run's terminal write took effect (``written``), or was rejected: the status, or
    None."""
    if not written:
        _logger().info(u"workflow %s: terminal write %s rejected; the run moved on without us"
                       % (ctx.workflowId, status))
        return None
    return _ended(ctx, status, errorJson)


def _ended(ctx, status, errorJson):
    """A run's terminal write took effect: an ERROR is logged; the status."""
    if status == statuses.ERROR:
        error = codec.decode(errorJson) or {}
        _logger().warn(u"workflow %s (%s) ended in ERROR: %s: %s"
                       % (ctx.workflowName, ctx.workflowId, error.get("type"),
                          compat.toText(error.get("message"))[:500]))
    return status


def _writeKept(ctx):
    """A run stopped without a verdict (an executor stopping, a lost run): its last step's
    kept checkpoint is still written if the run is ours (a step that ended is not run
    again); refused quietly if not."""
    try:
        ctx.flushCheckpoint()
    except ControlSignal:
        pass  # no longer ours, or refused (the step's error was recorded)
    except compat.CATCHABLE as error:
        _logger().warn(u"workflow %s: its last step's checkpoint could not be written: %s"
                       % (ctx.workflowId, compat.describeError(error)[1]))


def _letGo(fence):
    """This thread is done with a cancelled run (resume waits for it: never two threads in
    one step). If this write fails, resume answers STILL_RUNNING until this executor is
    gone (stopped, or its lease lapsed)."""
    try:
        tx.retrying(lambda: runs.letGo(fence))
    except compat.CATCHABLE as error:
        _logger().warn(u"workflow %s: could not record that this thread let go: %s"
                       % (fence.workflowId, compat.describeError(error)[1]))


def _failure(error):
    errorType, message = compat.describeError(error)
    code = getattr(error, "code", None)
    return _error(errorType, message, compat.formatTraceback(error),
                  code if isinstance(code, compat.string_types) else None)


def _abandon(workflowId, what, error):
    """Leave a run as it stands when its start or terminal write failed for a reason waiting
    cannot cure (recovery resumes it); a database problem never becomes a workflow failure."""
    _logger().warn(u"workflow %s abandoned on this executor: %s (%s)"
                   % (workflowId, what, compat.describeError(error)[1]))


def _error(errorType, message, trace, code=None):
    """An ERROR outcome (its JSON cannot fail to encode)."""
    extra = {"code": code} if code else {}
    return statuses.ERROR, None, codec.errorJson(errorType, message, trace, **extra)
