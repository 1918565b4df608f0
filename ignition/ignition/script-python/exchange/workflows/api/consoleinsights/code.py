"""The Insights page of the operator console: what ran over a recent window, as its tables
read it (api.statistics.getStatistics of the last minutes). docs/api.md, "consoleinsights".
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.api import statistics
from exchange.workflows.api.envelope import guarded
from exchange.workflows import compat, statuses, validate

# The window dropdown's options: minutes back from now.
WINDOWS = [{"label": u"Last 15 minutes", "value": 15}, {"label": u"Last hour", "value": 60},
           {"label": u"Last 24 hours", "value": 1440}, {"label": u"Last 7 days", "value": 10080},
           {"label": u"Last 31 days", "value": 44640}]
_DIMENSIONS = (("byStatus", u"status"), ("byQueue", u"queue"), ("byWorkflow", u"workflow"),
               ("byExecutor", u"executor"))
_MEASURES = (("queueWait", u"queue wait"), ("runTime", u"run time"))


@guarded
def insights(windowMinutes=60, queueName=None, workflowName=None, dbName=None):
    """getStatistics of the runs created in the last ``windowMinutes`` (optionally of one
    queue and one workflow; "" is any), plus the tables' rows: ``countRows`` [{dimension,
    key, runs, percent}], ``timeRows`` [{measure, count, meanMs, p50Ms, p90Ms, p95Ms, p99Ms,
    maxMs}], ``stepRows`` (its steps, each with ``errorPercent``), ``windows`` (the
    dropdown's options) and ``summary`` (one sentence). Code STATISTICS."""
    minutes = validate.number("windowMinutes", windowMinutes, maximum=44640)
    toMs = compat.nowMs()
    result = statistics.getStatistics(toMs - int(minutes * 60000), toMs, queueName or None,
                                      workflowName or None, dbName=dbName)
    if result["ok"]:
        data = result["data"]
        data.update(countRows=_countRows(data), timeRows=_timeRows(data),
                    stepRows=[dict(step, errorPercent=_percent(step["errors"], step["count"]))
                              for step in data["steps"]],
                    windows=WINDOWS, summary=_summary(data, minutes))
    return result


def _countRows(data):
    """One row per (dimension, key), the biggest first within each dimension."""
    rows = []
    for name, dimension in _DIMENSIONS:
        keyed = data["counts"][name]
        for key in sorted(keyed, key=lambda k: (-keyed[k], k)):
            rows.append({"dimension": dimension, "key": key or u"(not claimed)",
                         "runs": keyed[key], "percent": _percent(keyed[key], data["total"])})
    return rows


def _timeRows(data):
    """The two measures as rows, durations rounded to the millisecond."""
    return [dict([("measure", label)] + [(k, v if k == "count" or v is None else round(v))
                                         for k, v in data[name].items()])
            for name, label in _MEASURES]


def _percent(part, whole):
    return round(100.0 * part / whole, 1) if whole else 0.0


def _summary(data, minutes):
    """One sentence: how many runs, how many failed, the p95 queue wait and run time."""
    failed = sum(data["counts"]["byStatus"].get(s, 0)
                 for s in (statuses.ERROR, statuses.RECOVERY_EXCEEDED))

    def p95(name):
        value = data[name]["p95Ms"]
        return u"-" if value is None else u"%d ms" % round(value)
    return u"%d run(s) created in the last %g minute(s), %d failed; p95 queue wait %s, " \
        u"p95 run time %s" % (data["total"], minutes, failed, p95("queueWait"), p95("runTime"))
