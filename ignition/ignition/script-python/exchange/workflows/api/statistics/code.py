"""Statistics of the runs created in a time window, for the console's Insights page and for
scripts: counts by status, queue, workflow and executor; queue wait and run time
percentiles; per step name its count, errors, durations and attempts.

The window is bounded (at most MAX_WINDOW_MS), so each statement reads a bounded slice of
the table through its created index, whatever the history kept.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.api import envelope
from exchange.workflows.api.envelope import guarded
from exchange.workflows.db import statistics
from exchange.workflows import codes, compat, validate
from exchange.workflows.errors import InvalidArgument

DAY_MS = 86400000
MAX_WINDOW_MS = 31 * DAY_MS  # the widest window a call may read
STEP_ROWS = 200  # the step names reported at most (the busiest)
RUN_CAP = 100000  # the newest runs of a window the statistics read at most


@guarded
def getStatistics(fromMs=None, toMs=None, queueName=None, workflowName=None, dbName=None):
    """Statistics of the runs created from ``fromMs`` (included) to ``toMs`` (excluded; None:
    now; ``fromMs`` None: a day before ``toMs``), optionally of one queue and one workflow.
    data: ``counts`` {byStatus, byQueue, byWorkflow, byExecutor: {key: runs}} (byExecutor's
    key "" for runs never claimed), ``queueWait`` and ``runTime`` {count, meanMs, p50Ms,
    p90Ms, p95Ms, p99Ms, maxMs}, ``steps`` [{stepName, count, errors, meanMs, p95Ms,
    attempts, meanAttempts, maxAttempts}], ``total``, ``fromMs``, ``toMs``; over the newest
    RUN_CAP runs of the window (``capped``: it had that many). Code STATISTICS."""
    window = checkedWindow(fromMs, toMs, queueName, workflowName) + (RUN_CAP,)
    found = statistics.counts(dbName, window)
    data = {"counts": dict(("by" + dimension.capitalize(),
                            dict(((k if k is not None else u""), v) for k, v in keyed.items()))
                           for dimension, keyed in found.items()),
            "total": sum(found["status"].values()), "fromMs": window[0], "toMs": window[1],
            "capped": sum(found["status"].values()) >= RUN_CAP,
            "queueName": queueName, "workflowName": workflowName}
    for name, measured in statistics.times(dbName, window).items():
        measured["count"] = int(measured["count"] or 0)
        data[name] = measured
    data["steps"] = [{"stepName": name, "count": count, "errors": errors, "meanMs": meanMs,
                      "p95Ms": p95Ms, "attempts": attempts,
                      "meanAttempts": attempts / float(count), "maxAttempts": maxAttempts}
                     for name, count, errors, meanMs, p95Ms, attempts, maxAttempts
                     in statistics.steps(dbName, window, STEP_ROWS)]
    return envelope.ok(codes.STATISTICS, u"%d run(s) created in the window" % data["total"],
                       data)


def checkedWindow(fromMs, toMs, queueName, workflowName):
    """(fromMs, toMs, queueName, workflowName) checked: a window of at most MAX_WINDOW_MS."""
    toMs = compat.nowMs() if toMs is None else validate.wholeNumber("toMs", toMs, 0)
    fromMs = toMs - DAY_MS if fromMs is None else validate.wholeNumber("fromMs", fromMs, 0)
    if not fromMs < toMs <= fromMs + MAX_WINDOW_MS:
        raise InvalidArgument(u"the window must end after it starts and span at most %d days"
                              % (MAX_WINDOW_MS // DAY_MS))
    validate.name("queueName", queueName, False)
    validate.name("workflowName", workflowName, False)
    return (fromMs, toMs, queueName, workflowName)
