"""What workflow authors import, and all they need: ``@workflow``, ``@step``, the helpers a
workflow calls, and the exceptions it may catch.

A workflow is called with its inputs as keyword arguments (``mix_batch(recipe="A", kg=50)``).
The decorators fill engine.registry; the helpers are engine.durable's (recorded, so a
recovered run does each once) and engine.boundary's. Nothing else belongs here.
"""
from __future__ import absolute_import, division, print_function

import functools

from exchange.workflows import codec, codes, compat, cron as cronexpr, validate, vocabulary
from exchange.workflows.engine import boundary, children, context, durable, parallel, patches, \
    registry, schedules, steps
from exchange.workflows.errors import ChildFailed, ControlSignal, InvalidArgument, \
    NonDeterminismError, StepError, WorkflowCancelled, WorkflowsError

__all__ = ["workflow", "step", "schedule", "sleep", "send", "recv", "setEvent", "getEvent",
           "writeStream", "closeStream", "prompt", "checkCancelled", "currentWorkflowId",
           "startChild", "runParallel", "patched", "deprecatePatch", "StepError",
           "ChildFailed", "InvalidArgument", "WorkflowCancelled", "NonDeterminismError",
           "ControlSignal", "WorkflowsError"]

sleep = durable.sleep
send = durable.send
recv = durable.recv
setEvent = durable.setEvent
getEvent = durable.getEvent
writeStream = durable.writeStream
closeStream = durable.closeStream
prompt = durable.prompt
startChild = children.startChild


def runParallel(calls, mode="all"):
    """Run step calls at once and wait: ``calls`` is a list of steps, or (step, args) or
    (step, args, kwargs) tuples. Mode "all": their results in call order; if any failed,
    the first failure in call order is raised once all finished. Mode "first": (index,
    result) of the first to succeed (recorded, so a replay returns the same one); the others
    go on and are recorded when they finish. Each step keeps its own retry policy."""
    return parallel.run(calls, mode)


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

    Called from another workflow's body, the function runs as a child workflow and the
    call returns its result (engine.children); called anywhere else it is a plain call.
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

        @functools.wraps(function)
        def callWorkflow(*args, **kwargs):
            return children.call(definition, args, kwargs)

        function.workflowName = callWorkflow.workflowName = definition.name
        callWorkflow.workflowDefinition = definition
        return callWorkflow

    return register


def schedule(cron, timeZone=vocabulary.UTC, name=None, inputs=None, queueName=None):
    """Start the workflow below on a cron schedule, put above ``@workflow``
    (docs/schedules.md): ``cron`` of 5 fields (or 6, seconds first), in the IANA
    ``timeZone``; the schedule is named ``name`` (default: the workflow's) and its runs get
    ``inputs`` (and ``scheduledAtMs`` when the workflow takes it) in ``queueName``. The
    dispatch tick stores it in the database and fires it; stack several for several."""
    cronexpr.parse(cron)
    cronexpr.checkZone(timeZone)
    validate.name("name", name, False)
    validate.name("queueName", queueName, False)
    if inputs is not None and codec.asDict(inputs) is None:
        raise InvalidArgument(u"schedule inputs must be a dict, not %s" % compat.shown(inputs))

    def declare(function):
        workflowName = getattr(function, "workflowName", None)
        if workflowName is None:
            raise InvalidArgument(u"@schedule goes above @workflow (on a workflow function): "
                                  u"%s" % compat.shown(function))
        if len(name or workflowName) > schedules.MAX_NAME_LENGTH:  # (its runs' ids too long)
            raise InvalidArgument(u"a schedule name is at most %d characters (name it): %s"
                                  % (schedules.MAX_NAME_LENGTH, name or workflowName),
                                  codes.VALUE_TOO_LONG)
        registry.addSchedule(registry.ScheduleDeclaration(
            name or workflowName, workflowName, cron, timeZone, inputs=dict(inputs or {}),
            queueName=queueName, module=getattr(function, "__module__", "?")))
        return function

    return declare


def step(name=None, retriesAllowed=False, maxAttempts=3, intervalSeconds=1.0, backoffRate=2.0,
         retryIf=None):
    """Make a function a checkpointed step (``@step`` or ``@step(retriesAllowed=True, ...)``).

    ``retryIf``: with retries allowed, a function of the error deciding whether another
    attempt may help; False (or raising) ends the step at once with that error."""
    if hasattr(name, "__call__"):
        return step()(name)
    if int(maxAttempts) < 1 or float(intervalSeconds) < 0 or float(backoffRate) < 1:
        raise InvalidArgument(u"step policy needs maxAttempts >= 1, intervalSeconds >= 0, "
                              u"backoffRate >= 1")
    if retryIf is not None and not (retriesAllowed and hasattr(retryIf, "__call__")):
        raise InvalidArgument(u"retryIf must be a function of the error, with "
                              u"retriesAllowed=True: %s" % compat.shown(retryIf))

    def wrap(function):
        definition = registry.StepDefinition(name or function.__name__, function,
                                             retriesAllowed, maxAttempts, intervalSeconds,
                                             backoffRate, retryIf=retryIf)
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
