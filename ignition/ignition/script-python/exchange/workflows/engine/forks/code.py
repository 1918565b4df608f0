"""Forking a run: a new run of the same workflow and inputs that takes the original's
history before a step position from the original's records, and runs the rest again.

An operator action (engine.operator; commandRoles, journaled FORK by its actor): the
original is read under a share lock, the new run is inserted (db.runs.insert, the same
validated start request as any enqueue: engine.requests) and its history copied
(db.forks) in one transaction. The original is never changed, whatever its status.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db import forks, runs
from exchange.workflows.db.journal import JournalEntry
from exchange.workflows import codec, codes, vocabulary
from exchange.workflows.engine import operator, requests
from exchange.workflows.errors import InvalidArgument


class Fork(operator.Action):
    """Fork run ``workflowId`` at position ``fromStep`` (1 .. its last position + 1): the
    records before it are replayed, the rest runs again. ``newWorkflowId``: the new run's
    id (None: a fresh one)."""

    def __init__(self, dbName, workflowId, fromStep, reason=None, newWorkflowId=None):
        operator.Action.__init__(self, dbName, "command", JournalEntry(
            vocabulary.FORK, workflowId=workflowId, reason=reason))
        self.workflowId, self.fromStep, self.newWorkflowId = workflowId, fromStep, newWorkflowId
        self.request = None
        self.copied = None
        self.message = None

    def lock(self, t):
        return forks.source(self.dbName, self.workflowId, t)

    def decide(self, state):
        if state is None:
            return self._refused(codes.WORKFLOW_NOT_FOUND, u"no workflow %s" % self.workflowId)
        if not 1 <= self.fromStep <= state.lastPosition + 1:
            return self._refused(codes.FORK_STEP_OUT_OF_RANGE, u"fromStep must be from 1 to %d "
                                 u"(the last recorded position + 1), not %d"
                                 % (state.lastPosition + 1, self.fromStep))
        try:
            self.request = requests.Request(
                state.workflowName, codec.decode(state.inputsJson), queueName=state.queueName,
                partitionKey=state.partitionKey, priority=state.priority,
                workflowId=self.newWorkflowId,
                timeoutSeconds=None if state.timeoutMs is None else state.timeoutMs / 1000.0)
        except InvalidArgument as refused:
            return self._refused(refused.code or codes.INVALID_ARGUMENT, refused.args[0])
        self.message = u"workflow %s forked from %s at step %d" % (
            self.request.workflowId, self.workflowId, self.fromStep)
        return "fork", codes.WORKFLOW_FORKED

    def _refused(self, code, message):
        self.message = message
        return None, code

    def transition(self, t, state, transition):
        if not runs.insert(self.dbName, self.request, t):
            return False
        self.copied = forks.copy(self.dbName, self.workflowId, self.request.workflowId,
                                 self.fromStep, t)
        return True

    def missed(self, t, state):
        self.message = u"a workflow with id %s already exists" % self.request.workflowId
        return codes.WORKFLOW_EXISTS

    def claims(self, outcome):
        return True

    def details(self, outcome):
        return {"forkedFrom": self.workflowId, "fromStep": self.fromStep,
                "newWorkflowId": self.request.workflowId if outcome.accepted else None,
                "copied": self.copied}


def fork(dbName, workflowId, fromStep, reason, newWorkflowId, caller):
    """Fork for ``caller`` (an actors.Caller); (accepted, code, message, data). Journaled
    either way; a caller without the command roles gets NotAuthorized."""
    action = Fork(dbName, workflowId, fromStep, reason, newWorkflowId)
    outcome = operator.act(action, caller)
    data = dict(action.details(outcome), actor=action.actor.name,
                workflowId=action.request.workflowId if outcome.accepted else None)
    return outcome.accepted, outcome.code, action.message, data
