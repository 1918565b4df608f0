"""The engine's exceptions under their first address, for workflow code written before they
moved to exchange.workflows.errors (new code imports them from engine.runtime)."""
from __future__ import absolute_import, division, print_function

from exchange.workflows.errors import CheckpointUnavailable, ControlSignal, \
    DatabaseUnavailable, HandlerFailed, InvalidArgument, NonDeterminismError, NotAuthorized, \
    OwnershipLost, StepError, WorkflowCancelled, WorkflowStopped, WorkflowSuspended, \
    WorkflowsError

__all__ = ["CheckpointUnavailable", "ControlSignal", "DatabaseUnavailable", "HandlerFailed",
           "InvalidArgument", "NonDeterminismError", "NotAuthorized", "OwnershipLost",
           "StepError", "WorkflowCancelled", "WorkflowStopped", "WorkflowSuspended",
           "WorkflowsError"]
