"""Executing one claimed run on a worker thread, from its start write to its terminal write.

The same path serves a first run and a re-run: the start write returns the step log, and the
steps replay from it. The terminal write is guarded by RUNNING and the owner, so a run that
was cancelled or taken over meanwhile is left as the other writer left it.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db import runs, tx
from exchange.workflows.engine import codec, compat, context, runtime, settings
from exchange.workflows.engine.errors import (CheckpointUnavailable, NonDeterminismError,
                                              OwnershipLost, WorkflowCancelled)


def _logger():
    import system
    return system.util.getLogger("exchange.workflows.runner")


def execute(dbName, workflowId, executorId, attempt):
    """Run a claimed workflow to a terminal state (or stop quietly if it is no longer ours)."""
    try:
        started = tx.retrying(lambda: runs.start(dbName, workflowId, executorId, attempt))
    except compat.CATCHABLE as error:
        _abandon(workflowId, u"its start could not be recorded", error)
        return None
    if started is None:
        return None  # cancelled or re-claimed between claim and start
    workflowName, inputsJson, _deadlineMs, stepRows = started
    recorded = dict((row[0], (row[1], row[2], row[3], row[4])) for row in stepRows)
    outcome = _runBody(dbName, workflowId, workflowName, executorId, attempt, inputsJson, recorded)
    if outcome is None:
        return None
    status, outputJson, errorJson = outcome
    try:
        written = tx.retrying(lambda: runs.finish(dbName, workflowId, executorId, attempt, status,
                                                  outputJson, errorJson))
    except compat.CATCHABLE as error:
        _abandon(workflowId, u"its %s could not be recorded" % status, error)
        return None
    if not written:
        _logger().info(u"workflow %s: terminal write %s rejected; the run moved on without us"
                       % (workflowId, status))
        return None
    return status


def _runBody(dbName, workflowId, workflowName, executorId, attempt, inputsJson, recorded):
    """(status, outputJson, errorJson), or None when the run must be abandoned."""
    try:
        definition = runtime.lookup(workflowName)
    except compat.CATCHABLE as error:
        errorType, message = compat.describeError(error)
        return _error("WorkflowModuleImportFailed", u"importing the workflow modules failed: "
                      u"%s: %s" % (errorType, message), compat.formatTraceback(error))
    if definition is None:
        return _error("WorkflowNotRegistered",
                      u"no workflow named %r is registered on executor %s"
                      % (workflowName, executorId), u"")
    ctx = context.WorkflowContext(dbName, workflowId, workflowName, executorId, attempt, recorded)
    context.activate(ctx)
    try:
        result = definition.function(**(codec.decode(inputsJson) or {}))
    except WorkflowCancelled:
        return None
    except (OwnershipLost, CheckpointUnavailable) as signal:
        _logger().warn(compat.toText(signal.args[0] if signal.args else signal))
        return None
    except NonDeterminismError as error:
        return _error("NonDeterminismError", compat.toText(error.args[0]),
                      compat.formatTraceback(error), error.code)
    except compat.CATCHABLE as error:
        errorType, message = compat.describeError(error)
        return _error(errorType, message, compat.formatTraceback(error), getattr(error, "code", None))
    finally:
        context.deactivate()
    try:
        return settings.STATUS_SUCCESS, codec.encode(result), None
    except codec.NotSerializable as error:
        return _error("NotSerializable", u"the workflow returned a value that cannot be stored "
                      u"as JSON: %s" % compat.describeError(error)[1], u"")


def _abandon(workflowId, what, error):
    """Leave a run as it stands when the database will not take its writes (recovery resumes
    it); never turn a database outage into a workflow failure."""
    _logger().warn(u"workflow %s abandoned on this executor: %s (%s)"
                   % (workflowId, what, compat.describeError(error)[1]))


def _error(errorType, message, trace, code=None):
    body = {"type": errorType, "message": message, "traceback": trace}
    if code:
        body["code"] = code
    return settings.STATUS_ERROR, None, codec.encode(body)
