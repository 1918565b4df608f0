"""What workflow authors import, and all they need: ``@workflow``, ``@step``, the helpers a
workflow calls, and the exceptions it may catch.

A workflow is called with its inputs as keyword arguments (``mix_batch(recipe="A", kg=50)``).
The decorators fill engine.registry; the helpers are engine.durable's (recorded, so a
recovered run does each once) and engine.boundary's. Nothing else belongs here.
"""
from __future__ import absolute_import, division, print_function

import functools

from exchange.workflows import compat, validate
from exchange.workflows.engine import boundary, context, durable, patches, registry, steps
from exchange.workflows.errors import ControlSignal, InvalidArgument, NonDeterminismError, \
    StepError, WorkflowCancelled, WorkflowsError

__all__ = ["workflow", "step", "sleep", "send", "recv", "setEvent", "getEvent", "writeStream",
           "closeStream", "prompt", "checkCancelled", "currentWorkflowId", "patched",
           "deprecatePatch",
           "StepError", "InvalidArgument", "WorkflowCancelled", "NonDeterminismError",
           "ControlSignal", "WorkflowsError"]

sleep = durable.sleep
send = durable.send
recv = durable.recv
setEvent = durable.setEvent
getEvent = durable.getEvent
writeStream = durable.writeStream
closeStream = durable.closeStream
prompt = durable.prompt
patched = patches.patched  # a code change old runs must not see (docs/versions.md)
deprecatePatch = patches.deprecatePatch


def workflow(name=None, timeoutSeconds=None, maxRecoveryAttempts=None, onHold=None,
             onStop=None):
    """Register a function as a durable workflow (``@workflow`` or ``@workflow(name=...)``).

    ``timeoutSeconds``: the default deadline of its runs, counted from their start.
    ``maxRecoveryAttempts``: how often a run may be recovered after its executor died (or
    lost it) before it stops in MAX_RECOVERY_ATTEMPTS_EXCEEDED (default: the engine's, 10).
    ``onHold`` / ``onStop``: functions (usually calling steps) that bring the equipment to a
    safe state when an operator's HOLD or STOP reaches the run's next step boundary; they
    receive the run's inputs they name as parameters.
    """
    if hasattr(name, "__call__"):
        return workflow()(name)
    validate.wholeNumber("maxRecoveryAttempts", maxRecoveryAttempts, 0, required=False)
    for what, handler in (("onHold", onHold), ("onStop", onStop)):
        if handler is not None and not hasattr(handler, "__call__"):
            raise InvalidArgument(u"%s must be a function, not %s" % (what, compat.shown(handler)))

    def register(function):
        definition = registry.WorkflowDefinition(name or function.__name__, function,
                                                 timeoutSeconds, maxRecoveryAttempts, onHold,
                                                 onStop)
        registry.add(definition)
        function.workflowName = definition.name
        return function

    return register


def step(name=None, retriesAllowed=False, maxAttempts=3, intervalSeconds=1.0, backoffRate=2.0):
    """Make a function a checkpointed step (``@step`` or ``@step(retriesAllowed=True, ...)``)."""
    if hasattr(name, "__call__"):
        return step()(name)
    if int(maxAttempts) < 1 or float(intervalSeconds) < 0 or float(backoffRate) < 1:
        raise InvalidArgument(u"step policy needs maxAttempts >= 1, intervalSeconds >= 0, "
                              u"backoffRate >= 1")

    def wrap(function):
        definition = registry.StepDefinition(name or function.__name__, function,
                                             retriesAllowed, maxAttempts, intervalSeconds,
                                             backoffRate)
        if not isinstance(definition.name, compat.string_types) or \
                definition.name.startswith("<"):
            raise InvalidArgument(u"step names are text not starting with '<' (the engine's "
                                  u"own operations are named so): %s" % compat.shown(definition.name))

        @functools.wraps(function)
        def runAsStep(*args, **kwargs):
            return steps.run(definition, args, kwargs)

        runAsStep.stepDefinition = definition
        return runAsStep

    return wrap


def currentWorkflowId():
    """The id of the workflow running on this thread, or None outside a workflow."""
    ctx = context.current()
    return ctx.workflowId if ctx is not None else None


def checkCancelled():
    """Raise WorkflowCancelled if this run was cancelled or passed its deadline; call it in
    long steps (it reads the run's status: one statement)."""
    ctx = context.current()
    if ctx is None:
        return
    def check():
        boundary.checkDeadline(ctx)
        boundary.refresh(ctx)
    boundary.closing(ctx, check)
