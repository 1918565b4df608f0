"""Operator commands (HOLD, RESUME, STOP, CANCEL): the state/command matrix, and sending one.

A command is applied in one transaction that locks the run row, decides by the matrix from
the state the previous command left, makes the transition and journals it; a refused
command is journaled too. So commands sent in quick succession apply in order and none is
lost. A running run applies HOLD and STOP itself at its next step boundary
(engine.boundary); a run without a thread (queued, waiting, held) changes state at once,
or goes back to its queue to apply the command when it has a stop handler to run.

The matrix (status, and the command pending for the run's next boundary):

=====================  ==============  ===============  ===============  ================
status                 HOLD            RESUME           STOP             CANCEL
=====================  ==============  ===============  ===============  ================
DELAYED, ENQUEUED      HELD            NOT_HELD         STOPPED (never   CANCEL_REQUESTED
                                                        started) or
                                                        STOP_REQUESTED
PENDING, RUNNING       HOLD_REQUESTED  NOT_HELD         STOP_REQUESTED   CANCEL_REQUESTED
WAITING                HOLD_REQUESTED  NOT_HELD         STOP_REQUESTED   CANCEL_REQUESTED
HELD                   ALREADY_HELD    RESUMED          STOPPED (never   CANCEL_REQUESTED
                                                        started) or
                                                        STOP_REQUESTED
... with HOLD pending  HOLD_PENDING    HOLD_WITHDRAWN   STOP_REQUESTED   CANCEL_REQUESTED
... with STOP pending  STOP_PENDING    STOP_PENDING     STOP_PENDING     CANCEL_REQUESTED
CANCELLED,             WORKFLOW_       WORKFLOW_        WORKFLOW_        NOT_CANCELLABLE
MAX_RECOVERY_...       FINISHED        RESUMED          FINISHED
SUCCESS, ERROR,        WORKFLOW_       NOT_RESUMABLE    WORKFLOW_        NOT_CANCELLABLE
STOPPED                FINISHED                         FINISHED
=====================  ==============  ===============  ===============  ================
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db import commands as statements, journal, runs, tx
from exchange.workflows import codec, compat, statuses
from exchange.workflows.engine import kernel

HOLD, RESUME, STOP, CANCEL = "HOLD", "RESUME", "STOP", "CANCEL"
COMMANDS = (HOLD, RESUME, STOP)
_QUEUED = (statuses.DELAYED, statuses.ENQUEUED)
_RUNNING = (statuses.PENDING, statuses.RUNNING)

_MESSAGES = {
    "HELD": u"workflow %s is held (it had no thread)",
    "HOLD_REQUESTED": u"workflow %s holds at its next step boundary (after its hold handler)",
    "HOLD_WITHDRAWN": u"the pending HOLD of workflow %s was withdrawn; it goes on",
    "RESUMED": u"workflow %s resumed; it continues from its step log",
    "WORKFLOW_RESUMED": u"workflow %s resumed; it continues after its last recorded step",
    "STOP_REQUESTED": u"workflow %s stops at its next step boundary (after its stop handler)",
    "STOPPED": u"workflow %s stopped (it had not started)",
    "CANCEL_REQUESTED": u"workflow %s cancelled; a running step finishes, nothing after it runs",
    "ALREADY_HELD": u"workflow %s is already held",
    "HOLD_PENDING": u"workflow %s already has a HOLD pending",
    "STOP_PENDING": u"workflow %s is stopping; only CANCEL is accepted",
    "NOT_HELD": u"workflow %s is not held (RESUME continues a held run)",
    "WORKFLOW_FINISHED": u"workflow %s has ended",
    "NOT_RESUMABLE": u"workflow %s ended; only CANCELLED or MAX_RECOVERY_ATTEMPTS_EXCEEDED runs "
                     u"can be resumed",
    "NOT_CANCELLABLE": u"workflow %s has already ended",
    "STILL_RUNNING": u"workflow %s was cancelled while inside a step that has not returned "
                     u"yet; resume it once that thread let go",
    "RESUME_CONFLICT": u"workflow %s cannot be resumed while another active run holds its "
                       u"deduplication id",
    "WORKFLOW_NOT_FOUND": u"no workflow %s",
}


def decide(command, status, pending, started):
    """(transition, code) of the matrix; transition None when the command is refused."""
    if status in statuses.TERMINAL:
        if command == CANCEL:
            return None, "NOT_CANCELLABLE"
        if command == RESUME:
            if status in statuses.RESUMABLE:
                return "resumeTerminal", "WORKFLOW_RESUMED"
            return None, "NOT_RESUMABLE"
        return None, "WORKFLOW_FINISHED"
    if command == CANCEL:
        return "cancel", "CANCEL_REQUESTED"
    if pending == STOP:
        return None, "STOP_PENDING"
    if command == HOLD:
        if pending == HOLD:
            return None, "HOLD_PENDING"
        if status == statuses.HELD:
            return None, "ALREADY_HELD"
        if status in _QUEUED:
            return "hold", "HELD"
        if status in _RUNNING:
            return "request", "HOLD_REQUESTED"
        return "requestAndWake", "HOLD_REQUESTED"  # WAITING: it applies the hold itself
    if command == RESUME:
        if status == statuses.HELD:
            return "release", "RESUMED"
        if pending == HOLD:
            return "withdraw", "HOLD_WITHDRAWN"
        return None, "NOT_HELD"
    # STOP
    if status in _RUNNING:
        return "request", "STOP_REQUESTED"
    if not started and status in _QUEUED + (statuses.HELD,):
        return "stopNow", "STOPPED"
    return "requestAndWake", "STOP_REQUESTED"


def apply(dbName, workflowId, command, reason, actor):
    """Apply one command; (accepted, code, message, data). Journaled either way."""
    entry = {"actor": actor.name, "action": command, "workflow_id": workflowId,
             "reason": reason, "executor_id": kernel.getKernel().executorId}

    def work(t):
        row = statements.lock(dbName, workflowId, t)
        if row is None:
            return _journaled(dbName, entry, False, "WORKFLOW_NOT_FOUND", (None, None), t)
        status, pending, started = row[0], row[1], bool(row[2])
        transition, code = decide(command, status, pending, started)
        if transition is not None:
            argument = {"request": command, "requestAndWake": command,
                        "stopNow": codec.errorJson("Stopped", reason or u"stopped by an operator"),
                        "cancel": codec.errorJson("Cancelled", reason or u"cancelled")
                        }.get(transition)
            if not statements.transition(dbName, transition, workflowId, status, t, argument):
                code, transition = "STILL_RUNNING", None  # (only resumeTerminal can miss)
        return _journaled(dbName, entry, transition is not None, code, (status, pending), t)
    try:
        result = tx.inTransaction(dbName, work)
    except compat.CATCHABLE as error:
        if tx.sqlState(error) != "23505":
            raise
        result = tx.inTransaction(dbName, lambda t: _journaled(
            dbName, entry, False, "RESUME_CONFLICT",
            ((runs.owner(dbName, workflowId, t) or (None,))[0], None), t))
    if result[0] and result[1] in ("RESUMED", "WORKFLOW_RESUMED", "STOP_REQUESTED",
                                   "HOLD_REQUESTED"):
        from exchange.workflows.engine import dispatcher
        dispatcher.claimable(dbName)
    return result


def _journaled(dbName, entry, accepted, code, found, t):
    """Journal the command's verdict; ``found``: the run's (status, pendingCommand) as the
    command found it (None for what it did not find)."""
    status, pending = found
    data = {"workflowId": entry["workflow_id"], "command": entry["action"],
            "status": status, "pendingCommand": pending, "actor": entry["actor"]}
    entry = dict(entry, accepted=accepted, outcome=code, details=codec.encode(
        {"status": status, "pendingCommand": pending}))
    journal.record(dbName, entry, t)
    return accepted, code, _MESSAGES[code] % entry["workflow_id"], data


def authorizedActor(dbName, area, entry, user=None, session=None, roles=None):
    """The actor of a call (engine.actors), authorized for ``area``; a refusal is journaled
    (``entry``: the journal fields of the action) and raised as NotAuthorized."""
    from exchange.workflows.engine import actors
    from exchange.workflows.errors import NotAuthorized
    actor = actors.resolve(user, session, roles)
    try:
        actors.authorize(actor, area)
    except NotAuthorized as refused:
        refuse(dbName, dict(entry, actor=actor.name), refused.code, refused.args[0],
               refused.data)
        raise
    return actor


def refuse(dbName, entry, code, message, data=None):
    """Journal an action refused before it reached the database's state (no role, bad
    input); the refusal stands even when the journal cannot be written."""
    try:
        journal.record(dbName, dict(entry, accepted=False, outcome=code,
                                    details=codec.encode(data or {}),
                                    executor_id=kernel.getKernel().executorId))
    except compat.CATCHABLE:
        pass
    return False, code, message, data or {}
