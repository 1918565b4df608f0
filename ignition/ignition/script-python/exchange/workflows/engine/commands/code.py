"""Operator commands (HOLD, RESUME, STOP, CANCEL): the state/command matrix, and sending one.

A command goes through the operator protocol (engine.operator): one transaction locks the
run row, decides by the matrix from the state the previous command left, makes the
transition and journals it; a refused command is journaled too. So commands sent in quick
succession apply in order and none is lost. A running run applies HOLD and STOP itself at
its next step boundary (engine.boundary); a run without a thread (queued, waiting, held)
changes state at once, or goes back to its queue to apply the command when it has a stop
handler to run.

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

from exchange.workflows.db import commands as statements, runs, tx
from exchange.workflows.db.journal import JournalEntry
from exchange.workflows import codec, codes, compat, statuses, vocabulary
from exchange.workflows.engine import actors, operator
from exchange.workflows.errors import InvalidArgument

_QUEUED = (statuses.DELAYED, statuses.ENQUEUED)
_RUNNING = (statuses.PENDING, statuses.RUNNING)

_MESSAGES = {
    codes.HELD: u"workflow %s is held (it had no thread)",
    codes.HOLD_REQUESTED: u"workflow %s holds at its next step boundary (after its hold "
                          u"handler)",
    codes.HOLD_WITHDRAWN: u"the pending HOLD of workflow %s was withdrawn; it goes on",
    codes.RESUMED: u"workflow %s resumed; it continues from its step log",
    codes.WORKFLOW_RESUMED: u"workflow %s resumed; it continues after its last recorded step",
    codes.STOP_REQUESTED: u"workflow %s stops at its next step boundary (after its stop "
                          u"handler)",
    codes.STOPPED: u"workflow %s stopped (it had not started)",
    codes.CANCEL_REQUESTED: u"workflow %s cancelled; a running step finishes, nothing after "
                            u"it runs",
    codes.ALREADY_HELD: u"workflow %s is already held",
    codes.HOLD_PENDING: u"workflow %s already has a HOLD pending",
    codes.STOP_PENDING: u"workflow %s is stopping; only CANCEL is accepted",
    codes.NOT_HELD: u"workflow %s is not held (RESUME continues a held run)",
    codes.WORKFLOW_FINISHED: u"workflow %s has ended",
    codes.NOT_RESUMABLE: u"workflow %s ended; only CANCELLED or MAX_RECOVERY_ATTEMPTS_EXCEEDED "
                         u"runs can be resumed",
    codes.NOT_CANCELLABLE: u"workflow %s has already ended",
    codes.STILL_RUNNING: u"workflow %s was cancelled while inside a step that has not "
                         u"returned yet; resume it once that thread let go",
    codes.RESUME_CONFLICT: u"workflow %s cannot be resumed while another active run holds "
                           u"its deduplication id",
    codes.WORKFLOW_NOT_FOUND: u"no workflow %s",
}


def decide(command, status, pending, started):
    """(transition, code) of the matrix; transition None when the command is refused."""
    if status in statuses.TERMINAL:
        if command == vocabulary.CANCEL:
            return None, codes.NOT_CANCELLABLE
        if command == vocabulary.RESUME:
            if status in statuses.RESUMABLE:
                return "resumeTerminal", codes.WORKFLOW_RESUMED
            return None, codes.NOT_RESUMABLE
        return None, codes.WORKFLOW_FINISHED
    if command == vocabulary.CANCEL:
        return "cancel", codes.CANCEL_REQUESTED
    if pending == vocabulary.STOP:
        return None, codes.STOP_PENDING
    if command == vocabulary.HOLD:
        if pending == vocabulary.HOLD:
            return None, codes.HOLD_PENDING
        if status == statuses.HELD:
            return None, codes.ALREADY_HELD
        if status in _QUEUED:
            return "hold", codes.HELD
        if status in _RUNNING:
            return "request", codes.HOLD_REQUESTED
        return "requestAndWake", codes.HOLD_REQUESTED  # WAITING: it applies the hold itself
    if command == vocabulary.RESUME:
        if status == statuses.HELD:
            return "release", codes.RESUMED
        if pending == vocabulary.HOLD:
            return "withdraw", codes.HOLD_WITHDRAWN
        return None, codes.NOT_HELD
    # STOP
    if status in _RUNNING:
        return "request", codes.STOP_REQUESTED
    if not started and status in _QUEUED + (statuses.HELD,):
        return "stopNow", codes.STOPPED
    return "requestAndWake", codes.STOP_REQUESTED


class Command(operator.Action):
    """One command through the operator protocol: lock the run row, decide by the matrix,
    make its transition (fenced by the status the lock read), journal."""

    def __init__(self, dbName, workflowId, command, reason, actor=None):
        operator.Action.__init__(self, dbName, "command", JournalEntry(
            command, workflowId=workflowId, reason=reason), actor)
        self.workflowId, self.command, self.reason = workflowId, command, reason

    def lock(self, t):
        return statements.lock(self.dbName, self.workflowId, t)

    def decide(self, row):
        if row is None:
            return None, codes.WORKFLOW_NOT_FOUND
        return decide(self.command, row.status, row.pendingCommand, bool(row.started))

    def transition(self, t, row, transition):
        argument = {"request": self.command, "requestAndWake": self.command,
                    "stopNow": codec.errorJson("Stopped", self.reason or
                                               u"stopped by an operator"),
                    "cancel": codec.errorJson("Cancelled", self.reason or u"cancelled")
                    }.get(transition)
        return statements.transition(self.dbName, transition, self.workflowId, row.status, t,
                                     argument)

    def missed(self, t, row):
        return codes.STILL_RUNNING  # (only resumeTerminal can miss)

    def claims(self, outcome):
        return outcome.code in (codes.RESUMED, codes.WORKFLOW_RESUMED, codes.STOP_REQUESTED,
                                codes.HOLD_REQUESTED)

    def details(self, outcome):
        locked = outcome.state or statements.Locked(None)
        return {"status": locked.status, "pendingCommand": locked.pendingCommand}


class _Conflict(Command):
    """A RESUME whose run's deduplication id another active run holds: refused, with the
    run's status (read, not locked)."""

    def lock(self, t):
        owner = runs.owner(self.dbName, self.workflowId, t)
        return statements.Locked(owner.status if owner is not None else None)

    def decide(self, state):
        return None, codes.RESUME_CONFLICT


def apply(dbName, workflowId, command, reason, caller):
    """Apply one command for the caller (an actors.Caller); (accepted, code, message, data).
    Journaled either way; a caller without the command roles gets NotAuthorized."""
    action = Command(dbName, workflowId, command, reason)
    try:
        outcome = operator.act(action, caller)
    except compat.CATCHABLE as error:
        if tx.sqlState(error) != "23505":
            raise
        outcome = operator.perform(_Conflict(dbName, workflowId, command, reason,
                                             action.actor))
    data = dict(action.details(outcome), workflowId=workflowId, command=command,
                actor=action.actor.name)
    return outcome.accepted, outcome.code, _MESSAGES[outcome.code] % workflowId, data


def known(dbName, cmd, workflowId, reason, caller):
    """The command ``cmd`` names (trimmed, upper case); an unknown one is journaled as
    refused and raised as InvalidArgument (UNKNOWN_COMMAND)."""
    command = cmd.strip().upper() if isinstance(cmd, compat.string_types) else cmd
    if command in vocabulary.COMMANDS:
        return command
    message = u"cmd must be one of %s, not %s" % (u", ".join(vocabulary.COMMANDS),
                                                  compat.shown(cmd))
    operator.refuse(operator.Action(dbName, fields=JournalEntry(
        compat.toText(cmd)[:200], reason=reason,
        workflowId=workflowId if isinstance(workflowId, compat.string_types) else None),
        actor=actors.resolve(caller)), codes.UNKNOWN_COMMAND, message)
    raise InvalidArgument(message, codes.UNKNOWN_COMMAND)
