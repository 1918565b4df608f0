"""Child workflows: a workflow starts another (``startChild``, or by calling a registered
workflow function) and waits for its result without holding a thread.

The start is an operation of the parent's step log (engine.durable): the child's row is
inserted in the transaction that records it, under an id derived from the parent's id and
the position (``<parentId>-c<position>``) unless the author names one, so a recovered
parent gets the same child back and never starts a second. The child is linked to its
parent (parent_workflow_id) and inherits its deadline. The parent's wait for the result is
a durable wait on the channel ``result:<childId>``: whatever ends the child wakes it
(db.schema's trigger), and a child that ended first is found at once. The outcome is
recorded, so a replay raises or returns the same.
"""
from __future__ import absolute_import, division, print_function

import hashlib

from exchange.workflows.db import children as statements
from exchange.workflows import codec, codes, compat, statuses, validate
from exchange.workflows.engine import context, dispatcher, durable, kernel, requests
from exchange.workflows.errors import ChildFailed, InvalidArgument

_CANCELLED = (statuses.CANCELLED, statuses.STOPPED)


def resultChannel(workflowId):
    """The wake channel of a parent waiting for child ``workflowId`` (db.schema's trigger
    spells it the same)."""
    return u"result:%s" % workflowId


def childId(parentId, position):
    """The id of the child a parent starts at ``position`` (hashed when a long parent id
    would make it longer than an id may be)."""
    derived = u"%s-c%d" % (parentId, position)
    if len(derived) <= validate.MAX_NAME_LENGTH:
        return derived
    return u"sha1:%s-c%d" % (hashlib.sha1(parentId.encode("utf-8")).hexdigest(), position)


class ChildHandle(object):
    """A started child: ``workflowId``, ``getResult(timeoutSeconds=None)`` and
    ``getStatus()``. In the parent's body both are recorded (a replay answers the same)."""

    def __init__(self, dbName, workflowId, created=True):
        self.dbName = dbName
        self.workflowId = workflowId
        self.created = created  # False: the author's workflowId named a run that existed

    def __repr__(self):
        return "ChildHandle(%r)" % (self.workflowId,)

    def getResult(self, timeoutSeconds=None):
        """The child's output once it ended in SUCCESS; else raise ChildFailed (its
        ``code``: CHILD_FAILED, CHILD_CANCELLED, CHILD_RESULT_TIMEOUT, WORKFLOW_NOT_FOUND).
        ``timeoutSeconds``: None waits as long as the child runs."""
        ctx = context.current()
        timeoutMs = None if timeoutSeconds is None else int(
            validate.number("timeoutSeconds", timeoutSeconds, allowZero=True) * 1000)
        if ctx is None or ctx.inStep:
            return verdict(self.workflowId, _poll(self.dbName, self.workflowId, timeoutMs))
        return verdict(self.workflowId, _wait(ctx, self.workflowId, timeoutMs))

    def getStatus(self):
        """{workflowId, workflowName, status, parentWorkflowId} of the child now (None when
        it does not exist, retention having deleted it)."""
        ctx = context.current()
        if ctx is None or ctx.inStep:
            return _status(self.dbName, self.workflowId, None)
        return durable.operation(ctx, "<child.status>",
                                 lambda t, p: _status(ctx.dbName, self.workflowId, t))


def _status(dbName, workflowId, t):
    row = statements.outcome(dbName, workflowId, t)
    if row is None:
        return None
    return {"workflowId": workflowId, "workflowName": row[3], "status": row[0],
            "parentWorkflowId": row[4]}


def startChild(name, inputs=None, queueName=None, timeoutSeconds=None, workflowId=None,
               outliveParent=False, priority=0, partitionKey=None):
    """Start workflow ``name`` (its name, or its @workflow function) as a child of the
    running workflow; its ChildHandle.

    Recorded: a recovered parent gets the same child and never starts a second. Its id is
    ``<parentId>-c<position>`` unless ``workflowId`` names it (a run of the same workflow
    already holding that id is adopted). It inherits the parent's deadline (it ends by it)
    unless ``outliveParent``; ``timeoutSeconds`` can only shorten that."""
    ctx = durable.inWorkflow("startChild")
    name = getattr(name, "workflowName", name)  # (the @workflow function itself names it)

    def start(t, position):
        request = requests.Request(name, inputs, queueName=queueName,
                                   partitionKey=partitionKey, priority=priority,
                                   workflowId=workflowId or childId(ctx.workflowId, position),
                                   timeoutSeconds=timeoutSeconds)
        created = statements.insert(ctx.dbName, request, ctx.workflowId, outliveParent, t)
        if not created:
            existing = statements.outcome(ctx.dbName, request.workflowId, t)
            if existing is None or existing[3] != name:
                raise InvalidArgument(u"workflow id %s already belongs to a run of %s"
                                      % (request.workflowId, existing and existing[3]),
                                      codes.WORKFLOW_ID_CONFLICT,
                                      {"workflowId": request.workflowId})
            if existing[4] is None:
                statements.adopt(ctx.dbName, request.workflowId, ctx.workflowId, t)
        return {"workflowId": request.workflowId, "created": created}
    started = durable.operation(ctx, "<startChild>", start)
    if started["created"]:
        dispatcher.claimable(ctx.dbName)
    return ChildHandle(ctx.dbName, started["workflowId"], started["created"])


def call(definition, args, kwargs):
    """A registered workflow function called: in a workflow body, run it as a child and
    wait for its result (ChildFailed when it does not succeed); elsewhere (outside a
    workflow, inside a step) just call it."""
    ctx = context.current()
    if ctx is None or ctx.inStep:
        return definition.function(*args, **kwargs)
    names = definition.argSpec()[0]
    if len(args) > len(names):
        raise InvalidArgument(u"workflow %s takes its inputs by name (%d given by position)"
                              % (definition.name, len(args)), codes.INVALID_INPUTS)
    inputs = dict(zip(names, args))
    inputs.update(kwargs)
    return startChild(definition.name, inputs).getResult()


def _wait(ctx, workflowId, timeoutMs):
    """The recorded outcome of the child, waited for durably (no thread while it runs)."""
    wakeAtMs = None
    if timeoutMs is not None:
        wakeAtMs = durable.deadline(ctx, "<child.deadline>", timeoutMs)

    def look(t, position):
        found = _outcome(ctx.dbName, workflowId, t)
        if found is None:
            kernel.getKernel().backlog.set(1)  # the child's end makes this run claimable
        return found is not None, found

    def onTimeout(t):
        row = statements.outcome(ctx.dbName, workflowId, t)
        return {"status": row and row[0], "timedOut": True}
    return durable.waitFor(ctx, "<child.result>", resultChannel(workflowId), wakeAtMs, look,
                           onTimeout)


def _outcome(dbName, workflowId, t=None):
    """The child's outcome once it ended ({status, output, error}); None while it runs."""
    row = statements.outcome(dbName, workflowId, t)
    if row is None:
        return {"status": None}
    if row[0] not in statuses.TERMINAL:
        return None
    return {"status": row[0], "output": codec.decode(row[1]), "error": codec.decode(row[2])}


def _poll(dbName, workflowId, timeoutMs):
    """The outcome read until the child ends (from a step, or outside a workflow)."""
    endMs = None if timeoutMs is None else compat.monotonicMs() + timeoutMs
    pause = 10
    while True:
        found = _outcome(dbName, workflowId)
        if found is not None:
            return found
        if endMs is not None and compat.monotonicMs() >= endMs:
            row = statements.outcome(dbName, workflowId)
            return {"status": row and row[0], "timedOut": True}
        compat.sleepMs(pause if endMs is None else min(pause, endMs - compat.monotonicMs()))
        pause = min(500, pause * 2)


def verdict(workflowId, outcome):
    """The child's output, or the ChildFailed its outcome means."""
    status = outcome.get("status")
    if status == statuses.SUCCESS:
        return outcome.get("output")
    error = outcome.get("error") or {}
    if outcome.get("timedOut"):
        code, error = codes.CHILD_RESULT_TIMEOUT, {"type": "Timeout",
                                                   "message": u"still %s" % status}
    elif status is None:
        code, error = codes.WORKFLOW_NOT_FOUND, {"type": "NotFound",
                                                 "message": u"no such workflow"}
    else:
        code = codes.CHILD_CANCELLED if status in _CANCELLED else codes.CHILD_FAILED
    raise ChildFailed(workflowId, status, error.get("type"), error.get("message"), code)
