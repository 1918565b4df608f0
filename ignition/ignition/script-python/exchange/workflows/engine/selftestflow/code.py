"""The built-in workflow of the self-test (api/selftest): a step that fails twice before it
succeeds, a prompt (where the self-test also holds and resumes the run), a durable sleep
long enough to release the thread, and a last step that says who ran it.

Every executor knows it without being told (engine.registry imports it beside the registered
modules), so the self-test proves whichever gateway runs the engine. Its runs go to a queue
of their own, with workflow ids that start with ``selftest-``.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows import platform, settings
from exchange.workflows.engine import kernel
from exchange.workflows.engine.runtime import currentWorkflowId, prompt, sleep, step, \
    workflow

WORKFLOW_NAME = "exchange.workflows.selftest"
QUEUE_NAME = "exchange.workflows.selftest"
ID_PREFIX = "selftest-"
FAILURES = 2  # attempts that fail before the third succeeds
ANSWER = "go"
# longer than a short wait, so the run goes WAITING without a thread and dispatch wakes it
SLEEP_SECONDS = settings.SHORT_WAIT_MS / 1000.0 + 1

_tries = {}  # workflow id -> failed attempts of failsTwice in this interpreter


@step(retriesAllowed=True, maxAttempts=FAILURES + 1, intervalSeconds=0.05, backoffRate=1.0)
def failsTwice():
    """Fail FAILURES times, then succeed: the retries of a step."""
    workflowId = currentWorkflowId()
    tries = _tries.get(workflowId, 0) + 1
    if tries <= FAILURES:
        _tries[workflowId] = tries
        raise RuntimeError(u"self-test: deliberate failure %d of %d" % (tries, FAILURES))
    _tries.pop(workflowId, None)
    return tries


@step
def ranOn():
    """The executor and runtime that ran the run's end."""
    return {"executorId": kernel.getKernel().executorId, "runtime": platform.runtimeName()}


@workflow(name=WORKFLOW_NAME)
def selfTestFlow(sleepSeconds=SLEEP_SECONDS):
    """The phases the self-test drives and watches."""
    tries = failsTwice()
    answer = prompt(u"exchange.workflows self-test: answer %r to go on" % ANSWER,
                    options=[ANSWER])
    sleep(sleepSeconds)
    return {"tries": tries, "answer": answer["response"], "answeredBy": answer["user"],
            "ranOn": ranOn()}
