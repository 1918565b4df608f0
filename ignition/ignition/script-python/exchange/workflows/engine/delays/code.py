"""Changing the delay of a run that has not started yet (``api.service.changeDelay``).

An operator action (engine.operator): lock the run row, accept only a DELAYED run, move
its start in one statement fenced by that status, journal (CHANGE_DELAY). A run whose new
start has come is promoted and claimed by the next dispatch, as any due delayed run.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db import delays as statements
from exchange.workflows.db.journal import JournalEntry
from exchange.workflows import codes, statuses, vocabulary
from exchange.workflows.engine import operator

_MESSAGES = {
    codes.DELAY_CHANGED: u"workflow %s now starts at %s (epoch ms)",
    codes.NOT_DELAYED: u"workflow %s is not DELAYED (it is %s): only a run waiting for its "
                       u"delay can be given another",
    codes.WORKFLOW_NOT_FOUND: u"no workflow %s",
}


class DelayChange(operator.Action):
    """A new start for a DELAYED run: ``runAtMs`` (epoch ms, the database's clock), else
    ``delayMs`` from now."""

    def __init__(self, dbName, workflowId, start, reason, actor=None):
        operator.Action.__init__(self, dbName, "command", JournalEntry(
            vocabulary.CHANGE_DELAY, workflowId=workflowId, reason=reason), actor)
        self.workflowId = workflowId
        self.runAtMs, self.delayMs = start
        self.newRunAtMs = None

    def lock(self, t):
        return statements.lock(self.dbName, self.workflowId, t)

    def decide(self, state):
        if state is None:
            return None, codes.WORKFLOW_NOT_FOUND
        if state[0] != statuses.DELAYED:
            return None, codes.NOT_DELAYED
        return "move", codes.DELAY_CHANGED

    def transition(self, t, state, transition):
        self.newRunAtMs = statements.move(self.dbName, self.workflowId, self.runAtMs,
                                          self.delayMs, t)
        return self.newRunAtMs is not None

    def missed(self, t, state):
        return codes.NOT_DELAYED  # (the row is locked: only a race lost before the lock)

    def details(self, outcome):
        status, runAtMs = outcome.state or (None, None)
        return {"status": status, "runAtMs": runAtMs, "newRunAtMs": self.newRunAtMs}


def change(dbName, workflowId, start, reason, caller):
    """Change the delay for the caller (an actors.Caller); ``start`` is (runAtMs, delayMs),
    one of them None. (accepted, code, message, data); journaled either way."""
    action = DelayChange(dbName, workflowId, start, reason)
    outcome = operator.act(action, caller)
    data = dict(action.details(outcome), workflowId=workflowId, actor=action.actor.name)
    shown = {codes.DELAY_CHANGED: action.newRunAtMs, codes.NOT_DELAYED: data["status"]}
    message = _MESSAGES[outcome.code] % ((workflowId, shown[outcome.code])
                                         if outcome.code in shown else workflowId)
    return outcome.accepted, outcome.code, message, data
