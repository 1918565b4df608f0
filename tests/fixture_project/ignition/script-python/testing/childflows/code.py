"""Workflows that start child workflows, for tests/test_children.py.

A child that waits for a message (``child_waits``) runs until the test sends it one, so a
test can look at parents and children while both wait without a thread.
"""
from __future__ import absolute_import, division, print_function

from testing.flows import crashOnce, note

from exchange.workflows.engine.runtime import ChildFailed, closeStream, recv, setEvent, \
    startChild, step, workflow, writeStream


@step
def double(x):
    note("double")
    return 2 * x


@workflow
def child_double(x=1):
    return double(x)


@workflow
def child_waits(topic="go"):
    return {"got": recv(topic, timeoutSeconds=120)}


@workflow
def child_fails():
    raise ValueError("tank T-1 overfull")


@workflow
def parent_calls(x=1):
    """Calling a registered workflow function runs it as a child and returns its result."""
    return {"result": child_double(x=x), "again": child_double(x + 1)}


@workflow
def parent_waits_child(crash=None):
    handle = startChild("child_waits")
    crashOnce(crash, "after-start")
    result = handle.getResult()
    crashOnce(crash, "after-result")
    return {"child": handle.workflowId, "result": result}


@workflow
def grandparent():
    return startChild("parent_waits_child").getResult()


@workflow
def parent_catches():
    try:
        child_fails()
    except ChildFailed as failed:
        return {"code": failed.code, "status": failed.status, "errorType": failed.errorType,
                "message": failed.errorMessage}
    return None


@workflow
def parent_uncaught():
    return startChild("child_waits").getResult()


@step
def until_ended(workflowId):
    """Waits (polling, inside a step) until the child ended, so the parent's wait finds
    its result at once."""
    return startedChild(workflowId).getResult(timeoutSeconds=20)


def startedChild(workflowId):
    from exchange.workflows.engine import children  # the handle of a known id, in a step
    return children.ChildHandle(None, workflowId)


@workflow
def parent_late_wait(x=3):
    handle = startChild("child_double", {"x": x}, workflowId="late-child-%d" % x)
    until_ended(handle.workflowId)
    return {"status": handle.getStatus()["status"], "result": handle.getResult()}


@workflow
def parent_adopts(childId):
    """Starts as its child a run that exists already (enqueued on its own), and waits."""
    handle = startChild("child_waits", workflowId=childId)
    return {"created": handle.created, "result": handle.getResult()}


@workflow
def parent_three_children():
    inherits = startChild("child_waits")
    outlives = startChild(child_waits, outliveParent=True)  # (the function names it)
    shorter = startChild("child_waits", timeoutSeconds=5)
    return [inherits.getResult(), outlives.getResult(), shorter.getResult()]


@workflow
def parent_result_timeout():
    handle = startChild("child_waits")
    try:
        handle.getResult(timeoutSeconds=0)
    except ChildFailed as failed:
        return {"code": failed.code, "status": failed.status}
    return None


@workflow
def family_publisher(values=2):
    """Events, a stream and a child: what the console's Run details page shows."""
    setEvent("phase", "filling")
    for n in range(values):
        writeStream("log", {"n": n})
    closeStream("log")
    child_double(x=values)
    setEvent("phase", "done")
    return values
