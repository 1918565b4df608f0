"""Moving runs between application versions: an operator's explicit word that the runs of
one version are to be finished by the code of another (docs/versions.md).

An operator action (engine.operator; adminRoles, journaled MOVE_RUNS by its actor): only
runs that have not ended move; an ended run keeps the version it ran under.
"""
from __future__ import absolute_import, division, print_function

from collections import namedtuple

from exchange.workflows.db import versions
from exchange.workflows.db.journal import JournalEntry
from exchange.workflows import codes, vocabulary
from exchange.workflows.engine import operator


class Move(namedtuple("Move", "fromVersion toVersion workflowName")):
    """Which runs move: those of ``fromVersion`` (of ``workflowName``; None: every
    workflow), to ``toVersion``."""

    __slots__ = ()


class MoveRuns(operator.Action):
    """Give the active runs of one version another (db.versions.move)."""

    def __init__(self, dbName, move, reason=None):
        operator.Action.__init__(self, dbName, "admin", JournalEntry(vocabulary.MOVE_RUNS,
                                                                     reason=reason))
        self.move = move
        self.moved = 0

    def decide(self, state):
        return "move", codes.RUNS_MOVED

    def transition(self, t, state, transition):
        self.moved = versions.move(self.dbName, self.move, t)
        return True

    def claims(self, outcome):
        return self.moved > 0  # moved runs may be this executor's to run now

    def details(self, outcome):
        return {"fromVersion": self.move.fromVersion, "toVersion": self.move.toVersion,
                "workflowName": self.move.workflowName, "moved": self.moved}


def moveRuns(dbName, move, reason, caller):
    """Move runs for ``caller`` (an actors.Caller); the data of the accepted move (the
    caller without adminRoles gets NotAuthorized, journaled)."""
    action = MoveRuns(dbName, move, reason)
    operator.act(action, caller)
    return dict(action.details(None), actor=action.actor.name)
