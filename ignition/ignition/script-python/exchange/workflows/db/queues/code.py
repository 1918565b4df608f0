"""Every statement on ``queues``: the limits every gateway shares.

A queue needs no row to be used: a queue without one has no limits (and partitions of one
run at a time). Declaring writes only when something changed, so every gateway may
declare its queues at every start.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db import sql, tx

QUEUE_COLUMNS = ("queue_name", "concurrency", "worker_concurrency", "rate_limit",
                 "rate_period_ms", "partition_concurrency", "updated_at_ms")

_DECLARE = """INSERT INTO {schema}.queues AS q
    (queue_name, concurrency, worker_concurrency, rate_limit, rate_period_ms,
     partition_concurrency)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (queue_name) DO UPDATE
   SET concurrency = EXCLUDED.concurrency, worker_concurrency = EXCLUDED.worker_concurrency,
       rate_limit = EXCLUDED.rate_limit, rate_period_ms = EXCLUDED.rate_period_ms,
       partition_concurrency = EXCLUDED.partition_concurrency,
       updated_at_ms = {schema}.now_ms()
 WHERE (q.concurrency, q.worker_concurrency, q.rate_limit, q.rate_period_ms,
        q.partition_concurrency)
       IS DISTINCT FROM (EXCLUDED.concurrency, EXCLUDED.worker_concurrency,
                         EXCLUDED.rate_limit, EXCLUDED.rate_period_ms,
                         EXCLUDED.partition_concurrency)
RETURNING queue_name"""

_REMOVE = "DELETE FROM {schema}.queues WHERE queue_name = ?"

# Declared queues and queues that hold runs, with what they hold right now.
_LIST = """WITH names AS (
    SELECT queue_name FROM {schema}.queues
    UNION SELECT DISTINCT queue_name FROM {schema}.workflow_runs
     WHERE status IN ('DELAYED', 'ENQUEUED', 'PENDING', 'RUNNING', 'WAITING', 'HELD'))
SELECT n.queue_name, q.concurrency, q.worker_concurrency, q.rate_limit, q.rate_period_ms,
       COALESCE(q.partition_concurrency, 1), q.updated_at_ms, q.queue_name IS NOT NULL,
       (SELECT count(*) FROM {schema}.workflow_runs r
         WHERE r.queue_name = n.queue_name AND r.status = 'DELAYED'),
       (SELECT count(*) FROM {schema}.workflow_runs r
         WHERE r.queue_name = n.queue_name AND r.status = 'ENQUEUED'),
       (SELECT count(*) FROM {schema}.workflow_runs r
         WHERE r.queue_name = n.queue_name AND r.status IN ('PENDING', 'RUNNING'))
  FROM names n LEFT JOIN {schema}.queues q ON q.queue_name = n.queue_name
 ORDER BY n.queue_name"""

# What each queue holds and did lately, for the console: its active runs by status, how
# long its oldest claimable run has waited (since it was enqueued, or became due), and the
# runs first started in the last STARTS_WINDOW_MS (still active, or ended inside the window).
# Bounded by the active runs and the runs ended inside the window (status_created_idx and
# the partial completed_idx), never by the history.
STARTS_WINDOW_MS = 60000
_ACTIVITY = """WITH active AS (
    SELECT queue_name, status, count(*) AS n,
           min(CASE WHEN status = 'ENQUEUED'
                    THEN GREATEST(created_at_ms, COALESCE(run_at_ms, created_at_ms)) END)
               AS waiting_since
      FROM {schema}.workflow_runs
     WHERE status IN ('DELAYED', 'ENQUEUED', 'PENDING', 'RUNNING', 'WAITING', 'HELD')
     GROUP BY queue_name, status),
started AS (
    SELECT s.queue_name, count(*) AS n FROM (
        SELECT queue_name FROM {schema}.workflow_runs
         WHERE status IN ('PENDING', 'RUNNING', 'WAITING', 'HELD')
           AND started_at_ms > {schema}.now_ms() - CAST(? AS bigint)
        UNION ALL
        SELECT queue_name FROM {schema}.workflow_runs
         WHERE status IN ('SUCCESS', 'ERROR', 'CANCELLED', 'STOPPED',
                          'MAX_RECOVERY_ATTEMPTS_EXCEEDED')
           AND completed_at_ms > {schema}.now_ms() - CAST(? AS bigint)
           AND started_at_ms > {schema}.now_ms() - CAST(? AS bigint)) s
     GROUP BY s.queue_name),
names AS (SELECT queue_name FROM active UNION SELECT queue_name FROM started)
SELECT n.queue_name,
       (SELECT CAST(jsonb_object_agg(a.status, a.n) AS text) FROM active a
         WHERE a.queue_name = n.queue_name),
       {schema}.now_ms() - (SELECT min(a.waiting_since) FROM active a
                             WHERE a.queue_name = n.queue_name),
       COALESCE((SELECT s.n FROM started s WHERE s.queue_name = n.queue_name), 0)
  FROM names n
 ORDER BY n.queue_name"""


def declare(dbName, queueName, concurrency=None, workerConcurrency=None, rateLimit=None,
            ratePeriodMs=None, partitionConcurrency=1):
    """Create or change a queue's limits (None = no limit); True when the stored row
    changed."""
    rows = tx.query(dbName, sql.bind(_DECLARE, dbName),
                    [queueName, concurrency, workerConcurrency, rateLimit, ratePeriodMs,
                     partitionConcurrency])
    return bool(rows)


def remove(dbName, queueName):
    """Forget a queue's limits (its runs stay); True when it was declared."""
    return tx.update(dbName, sql.bind(_REMOVE, dbName), [queueName]) == 1


def listQueues(dbName):
    """Every declared or used queue: its limits and its DELAYED/ENQUEUED/claimed counts."""
    keys = QUEUE_COLUMNS + ("declared", "delayed", "enqueued", "active")
    return [dict(zip(keys, row)) for row in tx.query(dbName, sql.bind(_LIST, dbName))]


def activity(dbName):
    """Each queue with active runs or recent starts: ``by_status`` (JSON text of
    {status: count} of its active runs, or None), ``oldest_waiting_ms`` (the age of its
    oldest ENQUEUED run, or None) and ``starts`` in the last STARTS_WINDOW_MS."""
    keys = ("queue_name", "by_status", "oldest_waiting_ms", "starts")
    window = [STARTS_WINDOW_MS] * 3
    return [dict(zip(keys, row)) for row in tx.query(dbName, sql.bind(_ACTIVITY, dbName), window)]
