"""The exceptions of the engine, each with a stable code.

Control-flow signals (cancellation, lost ownership) derive from BaseException so that a
workflow's ``except Exception:`` cannot swallow them; user-facing failures derive from
WorkflowsError.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows import codes


class WorkflowsError(Exception):
    """Base of the engine's errors; ``code`` is stable and appears in envelopes."""
    code = codes.WORKFLOWS_ERROR

    def __init__(self, message, code=None, data=None):
        Exception.__init__(self, message)
        if code is not None:
            self.code = code
        self.message_ = message
        self.data = data or {}


class InvalidArgument(WorkflowsError):
    """Bad input to a public call; nothing was written."""
    code = codes.INVALID_ARGUMENT


class DatabaseUnavailable(WorkflowsError):
    """The system database cannot be reached (dispatch pauses and retries with backoff)."""
    code = codes.DATABASE_UNAVAILABLE


class StepError(WorkflowsError):
    """A step failed (after its retries). Raised identically on a live run and on replay.

    ``errorType`` and ``errorMessage`` name the original exception, which is not re-created:
    JSON records cannot rebuild arbitrary classes, and a replay must see the same exception
    type as the live run did.
    """
    code = codes.STEP_FAILED

    def __init__(self, stepName, position, errorType, errorMessage, attempts):
        WorkflowsError.__init__(
            self, u"step %s (#%d) failed after %d attempt(s): %s: %s"
            % (stepName, position, attempts, errorType, errorMessage))
        self.stepName = stepName
        self.position = position
        self.errorType = errorType
        self.errorMessage = errorMessage
        self.attempts = attempts


class ChildFailed(WorkflowsError):
    """A child workflow did not succeed: it ended in ERROR (``CHILD_FAILED``), was cancelled
    or stopped (``CHILD_CANCELLED``), or the parent's wait for it ran out
    (``CHILD_RESULT_TIMEOUT``). Raised identically on a live run and on replay (the outcome
    is recorded). ``status`` is the child's status then; ``errorType`` and ``errorMessage``
    name its error (None when it had none)."""
    code = codes.CHILD_FAILED

    def __init__(self, childId, status, errorType, errorMessage, code):
        WorkflowsError.__init__(self, u"child workflow %s ended %s: %s: %s"
                                % (childId, status, errorType, errorMessage), code,
                                {"workflowId": childId, "status": status})
        self.workflowId = childId
        self.status = status
        self.errorType = errorType
        self.errorMessage = errorMessage


class StepRefused(WorkflowsError):
    """Raised in a step's body when trying again cannot change the answer (a statement the
    database refuses, an HTTP 4xx): the step fails at once, its remaining retries unused,
    and its recorded error type is ``code``."""


class ControlSignal(BaseException):
    """Stops a workflow body; never an error of the workflow itself."""


class NonDeterminismError(ControlSignal):
    """Replay met a different step at a recorded position: the code changed under a run.

    A control signal, so a workflow's ``except Exception:`` cannot carry on with a log that
    no longer matches its code; the run ends in ERROR with this code.
    """
    code = codes.NON_DETERMINISTIC_REPLAY

    def __init__(self, position, recordedName, currentName):
        ControlSignal.__init__(
            self, u"replay mismatch at step #%d: the log recorded %r but the code now calls %r"
            % (position, recordedName, currentName))
        self.position = position
        self.recordedName = recordedName
        self.currentName = currentName


class WorkflowCancelled(ControlSignal):
    """The run was cancelled (or its status changed under it): stop at this boundary."""
    code = codes.WORKFLOW_CANCELLED


class OwnershipLost(ControlSignal):
    """This executor no longer owns the run (re-claimed, recovered): abandon without writing."""
    code = codes.OWNERSHIP_LOST


class CheckpointUnavailable(ControlSignal):
    """A checkpoint (or the read that follows a refused one) failed for a reason that waiting
    cannot cure: stop without deciding.

    The run is left as it is (nothing is marked failed because of the database); it is
    picked up again by recovery.
    """
    code = codes.CHECKPOINT_UNAVAILABLE


class KeptCheckpointRefused(ControlSignal):
    """The database refused a step's kept checkpoint (engine.checkpoints) after the workflow
    went on with its result: the run ends in the step's error (``stepError``, a StepError)
    where it is, and no later code of the body can catch it and go on."""

    def __init__(self, stepError):
        ControlSignal.__init__(self, stepError.args[0] if stepError.args
                               else u"a kept checkpoint was refused")
        self.stepError = stepError


class WorkflowSuspended(ControlSignal):
    """The run released its thread: it waits durably (WAITING) or was held (HELD); whoever
    brings what it waits for, dispatch at its wake time, or a RESUME makes it claimable."""
    code = codes.WORKFLOW_SUSPENDED


class HandlerFailed(ControlSignal):
    """A hold or stop handler raised: the equipment may not be in a safe state, so the run
    ends in ERROR (a control signal, so the workflow's own ``except`` cannot carry on)."""
    code = codes.HANDLER_FAILED


class WorkflowStopped(ControlSignal):
    """An operator's STOP was applied at a step boundary and the stop handler ran: the run
    ends STOPPED with the handler's result (``outputJson``)."""
    code = codes.WORKFLOW_STOPPED

    def __init__(self, message, outputJson):
        ControlSignal.__init__(self, message)
        self.outputJson = outputJson


class NotAuthorized(WorkflowsError):
    """The caller lacks every role the action requires; nothing was done (it is journaled)."""
    code = codes.NOT_AUTHORIZED
