"""The state of the workflow run on the current thread.

Steps find their run through a thread-local, so workflow code stays plain Python calls.
"""
from __future__ import absolute_import, division, print_function

import threading

from exchange.workflows import compat

_local = threading.local()


class WorkflowContext(object):
    """One run being executed: its fence (exchange.workflows.fence, built from the claim:
    every write of the run names it), its recorded steps and the step counter."""

    def __init__(self, fence, workflowName, recorded, deadlineMs=None):
        self.fence = fence
        self.dbName = fence.dbName
        self.workflowId = fence.workflowId
        self.workflowName = workflowName
        self.recorded = recorded  # position -> (name, status, outputJson, errorJson)
        self.position = 0
        self.inStep = False
        self.deadlineMs = deadlineMs  # on this process's clock (corrected for the database's)
        self.leaseEpoch = 0  # the executor's lease epoch when the run started (engine.leases)
        self.command = None  # an operator's HOLD or STOP waiting for the next step boundary
        self.stateReadAtMs = compat.monotonicMs()  # when the database last told us ``command``
        self.inHandler = False  # running a hold or stop handler (commands wait until after)
        self.closed = None  # the control signal that stopped the body (engine.boundary)
        self.definition = None  # the WorkflowDefinition being run (its handlers)
        self.inputs = {}  # the run's inputs (hold and stop handlers receive them too)
        self.clockOffsetMs = 0  # database clock minus this process's (from the claim)
        self.defersCheckpoints = False  # the runner's own run: keeps a step's checkpoint
        self.pendingStep = None  # engine.checkpoints.PendingStep: kept, not written yet

    def databaseNowMs(self):
        """This process's estimate of the database clock (durable wake times use it)."""
        return compat.nowMs() + self.clockOffsetMs

    def flushCheckpoint(self):
        """Write the kept checkpoint (engine.checkpoints), if any, before anything else the
        run does (unless the flusher wrote it: then its failure, if any, is raised)."""
        pending = self.takePendingStep()
        if pending is not None:
            pending.write()

    def takePendingStep(self):
        """The kept checkpoint (an engine.checkpoints.PendingStep), now this thread's to
        write; None when there is none or the flusher wrote it (its failure raised)."""
        pending = self.pendingStep
        if pending is None:
            return None
        self.pendingStep = None
        return pending if pending.take() else None

    def nextPosition(self):
        """The position of the next step call (1-based, in call order)."""
        self.position += 1
        return self.position


def current():
    """The context of the run on this thread, or None."""
    return getattr(_local, "context", None)


def activate(ctx):
    """Bind a run to this thread (the runner does this around the workflow body)."""
    _local.context = ctx


def deactivate():
    """Unbind whatever run is bound to this thread."""
    _local.context = None
