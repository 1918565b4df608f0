"""Every statement of the console's statistics (api.statistics): counts, queue wait and run
time percentiles, and step statistics of the runs created in a window.

Each reads only the newest runs of its window (at most a cap) through the created index
(workflow_runs_created_idx, or the name one), and the steps of those runs by their primary
key; the API bounds the window and the cap, so none scans the table's history."""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db import sql, tx

# The newest runs of the window (at most the cap), optionally of one queue and one workflow,
# with the columns named: (from, to, queue, queue, workflow, workflow, cap).
def _window(columns):
    """The CTE ``w``: the window's newest runs with ``columns`` (of ``r``)."""
    return """WITH w AS (
    SELECT """ + columns + """
      FROM {schema}.workflow_runs r
     WHERE r.created_at_ms >= ? AND r.created_at_ms < ?
       AND (CAST(? AS text) IS NULL OR r.queue_name = ?)
       AND (CAST(? AS text) IS NULL OR r.workflow_name = ?)
     ORDER BY r.created_at_ms DESC
     LIMIT ?)
"""

# One scan, four groupings: (dimension, key, runs); key NULL: no executor (never claimed).
_COUNTS = _window("r.status, r.queue_name, r.workflow_name, r.executor_id") + """
SELECT CASE WHEN GROUPING(status) = 0 THEN 'status'
            WHEN GROUPING(queue_name) = 0 THEN 'queue'
            WHEN GROUPING(workflow_name) = 0 THEN 'workflow' ELSE 'executor' END,
       COALESCE(status, queue_name, workflow_name, executor_id), count(*)
  FROM w
 GROUP BY GROUPING SETS ((status), (queue_name), (workflow_name), (executor_id))"""

# Queue wait: from when the run could first run (created, or its delay's end) to its claim;
# run time: from its start to its end. percentile_cont skips the NULLs (not claimed, not
# ended). Per measure: count, mean, p50, p90, p95, p99, max.
_MEASURES = ("wait", "took")
_TIMES = _window("""CASE WHEN r.claimed_at_ms IS NOT NULL  -- GREATEST would make a NULL wait 0
                THEN GREATEST(0, r.claimed_at_ms - GREATEST(r.created_at_ms,
                                                            COALESCE(r.run_at_ms, 0))) END AS wait,
           r.completed_at_ms - r.started_at_ms AS took""") + """
SELECT """ + ",\n       ".join(
    ("count(%(m)s), avg(%(m)s), percentile_cont(0.5) WITHIN GROUP (ORDER BY %(m)s), "
     "percentile_cont(0.9) WITHIN GROUP (ORDER BY %(m)s), "
     "percentile_cont(0.95) WITHIN GROUP (ORDER BY %(m)s), "
     "percentile_cont(0.99) WITHIN GROUP (ORDER BY %(m)s), max(%(m)s)") % {"m": m}
    for m in _MEASURES) + "\n  FROM w"

TIME_KEYS = ("count", "meanMs", "p50Ms", "p90Ms", "p95Ms", "p99Ms", "maxMs")

# Per step name, over the steps of the window's runs: (name, steps, errors, mean ms, p95 ms,
# attempts, max attempts), the busiest first.
_STEPS = _window("r.workflow_id") + """
SELECT s.step_name, count(*), count(*) FILTER (WHERE s.status = 'ERROR'),
       avg(s.completed_at_ms - s.started_at_ms),
       percentile_cont(0.95) WITHIN GROUP (ORDER BY s.completed_at_ms - s.started_at_ms),
       sum(s.attempts), max(s.attempts)
  FROM w
  JOIN {schema}.step_outputs s ON s.workflow_id = w.workflow_id
 GROUP BY s.step_name
 ORDER BY count(*) DESC, s.step_name
 LIMIT ?"""


def _args(window):
    """The window's arguments: ``window`` is (fromMs, toMs, queueName, workflowName, cap)."""
    fromMs, toMs, queueName, workflowName, cap = window
    return [fromMs, toMs, queueName, queueName, workflowName, workflowName, cap]


def counts(dbName, window):
    """{dimension: {key: runs}} for status, queue, workflow and executor."""
    found = {"status": {}, "queue": {}, "workflow": {}, "executor": {}}
    for dimension, key, runs in tx.query(dbName, sql.bind(_COUNTS, dbName), _args(window)):
        found[dimension][key] = int(runs)
    return found


def times(dbName, window):
    """{"queueWait": {TIME_KEYS...}, "runTime": {...}} in ms (None where no run counts)."""
    row = tx.query(dbName, sql.bind(_TIMES, dbName), _args(window))[0]
    width = len(TIME_KEYS)
    return dict((name, dict(zip(TIME_KEYS, [_number(v) for v in row[i * width:(i + 1) * width]])))
                for i, name in enumerate(("queueWait", "runTime")))


def steps(dbName, window, limit):
    """Per step name: (name, count, errors, meanMs, p95Ms, attempts, maxAttempts)."""
    return [(row[0], int(row[1]), int(row[2]), _number(row[3]), _number(row[4]), int(row[5]),
             int(row[6]))
            for row in tx.query(dbName, sql.bind(_STEPS, dbName), _args(window) + [limit])]


def _number(value):
    """A count or duration as a float (numeric and Java BigDecimal too), None as None."""
    return None if value is None else float(value)
