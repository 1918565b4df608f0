"""The step boundary: where a run takes its next position, and where an operator's command
takes effect.

Every durable operation of a workflow (a step, a sleep, a recv, a prompt...) starts here.
Before a new one, the run checks its deadline and its lease, then applies a pending HOLD or
STOP: it records a marker at the position (``<hold>``, ``<stop>``), runs the workflow's hold
or stop handler (its steps take the positions after the marker) and then holds (HELD, the
thread is released) or stops (STOPPED). On replay a marker is met at its position and the
handler replays with it, so the step log and the code stay in step: a hold in the middle of
a run is part of its history.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db import runs, steps as stepLog, tx, waits
from exchange.workflows import codec, compat, platform, settings, statuses, vocabulary
from exchange.workflows.engine import faults, leases
from exchange.workflows.errors import (CheckpointUnavailable, ControlSignal,
                                       HandlerFailed, OwnershipLost, WorkflowCancelled,
                                       WorkflowStopped, WorkflowSuspended)

MARKERS = {"<hold>": vocabulary.HOLD, "<stop>": vocabulary.STOP}
_MARKER_OF = {vocabulary.HOLD: "<hold>", vocabulary.STOP: "<stop>"}


def closing(ctx, work, flush=True):
    """Run one durable operation of the workflow body. Once the engine stopped the body (a
    suspend, a stop, a cancel, a lost ownership...), no later operation runs: a user's
    ``finally`` or ``with`` block that calls a step after it gets the same signal again.
    Not ``flush``: the operation's own write takes the kept checkpoint (a sleep's)."""
    if ctx.closed is not None:
        raise ctx.closed
    try:
        if flush:
            ctx.flushCheckpoint()  # the last step's, kept (engine.checkpoints): first
        return work()
    except ControlSignal as signal:
        ctx.closed = signal
        raise


def nextOperation(ctx, flush=True):
    """The position of the workflow's next operation and its record (None: run it now).

    Replays the markers (and handlers) recorded on the way; at a new position, checks the
    deadline and the lease and applies a pending command first. Not ``flush``: the kept
    checkpoint stays kept for the operation's own write, which also answers the run's
    pending command (so the state is not read first, however old the last answer is)."""
    if flush:
        ctx.flushCheckpoint()  # (closing did, for the operations it wraps)
    while True:
        position = ctx.nextPosition()
        recorded = ctx.recorded.get(position)
        if recorded is not None and recorded[0] in MARKERS and not ctx.inHandler:
            _replayMarker(ctx, MARKERS[recorded[0]])
            continue
        if recorded is not None:
            return position, recorded
        checkDeadline(ctx)
        leases.guardStep(ctx, refresh)
        if flush and not ctx.inHandler and \
                compat.monotonicMs() - ctx.stateReadAtMs > settings.STATE_FRESH_MS:
            refresh(ctx)  # a command (or a cancel) sent since the last checkpoint
        if ctx.command and not ctx.inHandler:
            ctx.flushCheckpoint()  # (the step before the command's marker)
            if not ctx.command:  # (its answer: withdrawn meanwhile)
                return position, None
            ctx.position -= 1  # nothing was recorded there: the command's marker takes it
            applyPending(ctx)
            continue
        return position, None


def applyPending(ctx):
    """Apply the pending command at the next position: marker, handler, then hold or stop.
    Returns only when a HOLD was withdrawn (a RESUME came while its handler ran)."""
    command = ctx.command
    position = ctx.nextPosition()
    recordAt(ctx, position, _MARKER_OF[command], lambda t: {"command": command})
    _afterMarker(ctx, command)


def _replayMarker(ctx, command):
    _afterMarker(ctx, command, replaying=True)


def _afterMarker(ctx, command, replaying=False):
    result = _runHandler(ctx, command)
    if command == vocabulary.STOP:
        try:
            outputJson = codec.encode(result)
        except codec.NotSerializable:
            outputJson = None
        raise WorkflowStopped(u"workflow %s stopped by an operator" % ctx.workflowId,
                              outputJson)
    if replaying and (ctx.command != vocabulary.HOLD or ctx.position + 1 in ctx.recorded):
        # held and resumed since, or withdrawn (the run went on after it): go on. A HOLD
        # pending with nothing after the handler is this one, not done (or a new one with
        # nothing run since: the equipment is still where the handler left it)
        return
    _hold(ctx)


def _hold(ctx):
    """Become HELD (releasing the thread) unless a RESUME withdrew the HOLD meanwhile."""
    if tx.persistently(lambda: waits.hold(ctx.fence), u"hold write"):
        raise WorkflowSuspended(u"workflow %s held" % ctx.workflowId)
    refresh(ctx)  # withdrawn (go on), a STOP instead (applied at the next boundary), or gone


def _runHandler(ctx, command):
    definition = ctx.definition
    handler = None if definition is None else (
        definition.onHold if command == vocabulary.HOLD else definition.onStop)
    if handler is None:
        return None
    ctx.inHandler = True
    try:
        return handler(**handlerInputs(handler, ctx.inputs))
    except ControlSignal:
        raise
    except compat.CATCHABLE as error:
        errorType, message = compat.describeError(error)
        failed = HandlerFailed(u"the %s handler of workflow %s failed: %s: %s"
                               % (command.lower(), ctx.workflowId, errorType, message))
        failed.trace = compat.formatTraceback(error)
        raise failed
    finally:
        ctx.inHandler = False


def handlerInputs(handler, inputs):
    """The run's inputs a handler accepts (all of them with **kwargs, none without params)."""
    names, varkw, _ = compat.argSpec(handler)
    if varkw is not None:
        return dict(inputs)
    return dict((k, v) for k, v in inputs.items() if k in names)


def refresh(ctx):
    """Read the run's state (waiting out an outage): keep its pending command; raise
    WorkflowCancelled/OwnershipLost if it moved on."""
    state = tx.persistently(lambda: runs.owner(ctx.dbName, ctx.workflowId), u"status read")
    if state is not None and state.status == statuses.RUNNING and \
            ctx.fence.isOwner(state.executorId, state.attempt):
        noteState(ctx, state.pendingCommand)
        return
    if state is not None and state.status == statuses.CANCELLED:
        raise WorkflowCancelled(u"workflow %s was cancelled" % ctx.workflowId)
    raise OwnershipLost(u"workflow %s is no longer owned by %s (attempt %d)"
                        % (ctx.workflowId, ctx.fence.executorId, ctx.fence.attempt))


def noteState(ctx, command):
    """The database just told the run its pending command (a checkpoint, a read)."""
    ctx.command = command
    ctx.stateReadAtMs = compat.monotonicMs()


def checkDeadline(ctx):
    """At a step boundary: end the run as CANCELLED (reason timeout) once its deadline passed."""
    if not deadlinePassed(ctx.deadlineMs, compat.nowMs()):
        return
    ctx.flushCheckpoint()  # (a step kept for the next write lands before the timeout)
    errorJson = codec.errorJson("Timeout", u"the run's deadline passed")
    try:
        tx.persistently(lambda: runs.timeOut(ctx.fence, errorJson), u"timeout write")
    except compat.CATCHABLE as error:
        raise CheckpointUnavailable(u"workflow %s: its timeout could not be recorded: %s"
                                    % (ctx.workflowId, compat.describeError(error)[1]))
    raise WorkflowCancelled(u"workflow %s timed out" % ctx.workflowId)


def deadlinePassed(deadlineMs, nowMs):
    """Whether a deadline (None: none) has passed at ``nowMs`` on its clock; it has at its
    own millisecond. A run's deadline and a durable wait's wake time both follow it."""
    return deadlineMs is not None and nowMs >= deadlineMs


class NotOurs(Exception):
    """The fenced write of an operation matched nothing: roll its transaction back."""


class AlreadyRecorded(Exception):
    """An earlier try of this operation's transaction landed, its answer lost: roll this one
    back (it may have done the operation again) and return what was recorded."""

    def __init__(self, value):
        Exception.__init__(self, u"already recorded")
        self.value = value


def whatLanded(ctx, position, name, written, readBack):
    """Write, else read back what landed: the one answer to a fenced write at ``position``
    (a step's checkpoint, an operation's record). ``written`` (db.steps.Recorded) landed:
    the run notes its pending command; None. Else ``readBack()`` reads the position: the
    row an earlier try of ours left there (its commit answer lost) is returned; anything
    else raises NotOurs (the run moved on, or another attempt holds the position)."""
    if written:
        noteState(ctx, written.pendingCommand)
        return None
    existing = readBack()
    if existing is not None and existing[0] == name and ctx.fence.isOwner(*existing[1:3]):
        return existing
    raise NotOurs()


def recordIn(ctx, t, position, name, outputJson, errorJson=None, startedMs=None):
    """Record an operation's result at ``position`` in transaction ``t``, fenced by the
    owner. Raises AlreadyRecorded when an earlier try of ours landed there, NotOurs when
    the run moved on or another attempt holds the position."""
    nowMs = compat.nowMs()
    step = stepLog.Step(position, name, 1, startedMs or nowMs, nowMs)
    landed = stepLog.record(ctx.fence, step, statuses.ERROR if errorJson else statuses.SUCCESS,
                            outputJson, errorJson, t)
    existing = whatLanded(ctx, position, name, landed,
                          lambda: stepLog.outputAt(ctx.dbName, ctx.workflowId, position))
    if existing is not None:
        raise AlreadyRecorded(codec.decode(existing[3]))


def recordWakeAt(ctx, position, name, timeoutMs):
    """Record at ``position`` when a wait beginning now wakes, ``timeoutMs`` after the
    database clock's now (None: never), in one fenced statement, not a transaction of its
    own (a clock read, the record, the commit: two round trips more); the wake time as
    recorded (an answer lost after commit is read back, as a checkpoint's is)."""
    nowMs = compat.nowMs()
    step = stepLog.Step(position, name, 1, nowMs, nowMs)

    def write():
        landed = stepLog.recordWakeAt(ctx.fence, step, timeoutMs)
        faults.point("wait.after_deadline")
        return landed

    try:
        return _wakeAtLanded(ctx, position, name, tx.persistently(write, u"operation write"))
    except NotOurs:
        lost(ctx, position)
    except compat.CATCHABLE as error:  # (a read-back that kept failing: as a checkpoint's)
        raise _wakeAtUnavailable(ctx, position, error)


def _wakeAtLanded(ctx, position, name, landed):
    """The wake time a write at ``position`` left (``landed``: a db.steps.Recorded): the one
    it wrote, else the one an earlier try of ours wrote (read back); NotOurs otherwise."""
    existing = whatLanded(ctx, position, name, landed, lambda: tx.retrying(
        lambda: stepLog.outputAt(ctx.dbName, ctx.workflowId, position)))
    return codec.decode(landed.outputJson if existing is None else existing[3])["wakeAtMs"]


def _wakeAtUnavailable(ctx, position, error):
    return CheckpointUnavailable(u"workflow %s: the wake time at #%d could not be recorded: %s"
                                 % (ctx.workflowId, position, compat.describeError(error)[1]))


AGAIN = object()  # recordWakeAtAfter's answer: the step landed, the wake time did not


def recordWakeAtAfter(ctx, position, name, timeoutMs, pending):
    """recordWakeAt with the kept checkpoint ``pending`` (an engine.checkpoints.PendingStep,
    now this thread's) in the same statement: a sleep's two writes in one. AGAIN when only
    the step landed: a command is pending (as the step's own answer would have told, it is
    applied before the wake time is recorded), or the database refused the statement (the
    step's output: the kept checkpoint is then written alone, as the flush writes it). The
    caller then takes the position again, as any operation does, and records the wake time
    alone."""
    nowMs = compat.nowMs()
    kept, keptOutputJson = pending.lastStep
    step = stepLog.Step(position, name, 1, nowMs, nowMs)

    def write():
        landed = stepLog.recordWakeAtAfter(ctx.fence, kept, keptOutputJson, step, timeoutMs)
        faults.point("step.after_commit")
        faults.point("wait.after_deadline")
        return landed

    try:
        answer = tx.persistently(write, u"operation write")
    except compat.CATCHABLE as refused:
        platform.logger("exchange.workflows.boundary").info(
            u"workflow %s: the wake time with the kept checkpoint of step #%d was refused "
            u"(%s); written apart" % (ctx.workflowId, kept.position,
                                      compat.describeError(refused)[1]))
        pending.write()
        return AGAIN
    command = answer.recorded.pendingCommand
    if not answer.recorded and answer.keptWritten and command is not None:
        noteState(ctx, command)  # (the step landed now, so no earlier try did: no read-back)
        return AGAIN
    try:
        return _wakeAtLanded(ctx, position, name, answer.recorded)
    except NotOurs:  # (nothing at the position: a command kept it free, or the run moved on)
        if answer.ours and command is not None:
            noteState(ctx, command)
            return AGAIN
        lost(ctx, position)
    except compat.CATCHABLE as error:
        raise _wakeAtUnavailable(ctx, position, error)


def lost(ctx, position, what=u"operation"):
    """Raise why a write at ``position`` matched nothing (cancelled, or no longer ours)."""
    refresh(ctx)
    raise OwnershipLost(u"workflow %s: %s #%d was recorded by another attempt"
                        % (ctx.workflowId, what, position))


def recordAt(ctx, position, name, perform, errorJson=None):
    """Run ``perform(t)`` and record its (JSON) result at ``position`` in one transaction,
    fenced by the owner: the operation happens exactly once, or not at all. Returns the
    result (as recorded: an answer lost after commit is read back). With ``errorJson`` the
    position records that refusal instead."""
    startedMs = compat.nowMs()

    def work(t):
        value = perform(t)
        outputJson, value = codec.roundTrip(value)
        recordIn(ctx, t, position, name, None if errorJson else outputJson,
                 errorJson=errorJson, startedMs=startedMs)
        return value

    try:
        return tx.persistently(lambda: tx.inTransaction(ctx.dbName, work), u"operation write")
    except AlreadyRecorded as landed:
        return landed.value
    except NotOurs:
        lost(ctx, position)
