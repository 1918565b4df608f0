"""The ownership fence of a claimed run: the database, the run, and the owner that claimed it.

Every claim increments the run's ``attempts``, so the pair (executor_id, attempts) names one
ownership of a run; every write a run makes while it runs (a checkpoint, a wait, a hold, its
timeout, its terminal write, letting go) names that pair and matches nothing once the run
moved on. The fence is built once, from the claim, and carried by the run's context.
"""
from __future__ import absolute_import, division, print_function


class Fence(object):
    """One ownership of a run: (dbName, workflowId, executorId, attempt). Immutable."""

    __slots__ = ("dbName", "workflowId", "executorId", "attempt")

    def __init__(self, dbName, workflowId, executorId, attempt):
        for name, value in (("dbName", dbName), ("workflowId", workflowId),
                            ("executorId", executorId), ("attempt", attempt)):
            object.__setattr__(self, name, value)

    def __setattr__(self, name, value):
        raise AttributeError(u"a fence does not change (%s)" % name)

    def params(self):
        """The guard's parameters, in its order: workflow_id = ?, executor_id = ?,
        attempts = ?."""
        return [self.workflowId, self.executorId, self.attempt]

    def isOwner(self, executorId, attempt):
        """Whether an owner read from a row (a run's, a step's) is this one."""
        return executorId == self.executorId and attempt == self.attempt

    def _key(self):
        return self.dbName, self.workflowId, self.executorId, self.attempt

    def __eq__(self, other):
        return isinstance(other, Fence) and self._key() == other._key()

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return "Fence(%r, %r, %r, %r)" % self._key()
