"""Every statement on ``debounces``: the pending bursts of debounced calls (engine.debounces).

A call (or an in-memory flush of many calls to one key) is one upsert that keeps the
burst's first call, counts the calls and recomputes when it fires. Firing locks due rows
with ``SKIP LOCKED``, so two executors never take the same one, and deletes each in the
transaction that inserts its run.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db import sql, tx

# Times: the database clock. A flush of in-memory calls passes their JVM times with the JVM's
# now, and they move to the database clock as db/runs.insertBatch moves them; a button's call
# passes none: now. The content (workflow, inputs, queue, timing) of the call made last wins,
# whichever write lands last (two gateways may flush one key's calls out of order).
_CONTENT = ("workflow_name", "inputs", "queue_name", "partition_key", "priority", "period_ms",
            "max_wait_ms")
_NEWER = "EXCLUDED.last_call_ms >= d.last_call_ms"


def _latest(column):
    return "CASE WHEN %s THEN EXCLUDED.%s ELSE d.%s END" % (_NEWER, column, column)


_PERIOD = _latest("period_ms")
_UPSERT = """WITH p AS (
    SELECT {schema}.now_ms() AS now, CAST(? AS bigint) AS jvm_now, CAST(? AS bigint) AS jvm_first,
           CAST(? AS bigint) AS jvm_last, CAST(? AS bigint) AS period,
           CAST(? AS bigint) AS max_wait),
t AS (
    SELECT p.period, p.max_wait,
           p.now - GREATEST(0, COALESCE(p.jvm_now - p.jvm_first, 0)) AS first_at,
           p.now - GREATEST(0, COALESCE(p.jvm_now - p.jvm_last, 0)) AS last_at
      FROM p)
INSERT INTO {schema}.debounces AS d
    (debounce_key, workflow_name, inputs, queue_name, partition_key, priority, period_ms,
     max_wait_ms, first_call_ms, last_call_ms, fire_at_ms, calls)
SELECT ?, ?, CAST(? AS jsonb), ?, ?, ?, t.period, t.max_wait, t.first_at, t.last_at,
       LEAST(t.last_at + t.period, COALESCE(t.first_at + t.max_wait, t.last_at + t.period)),
       CAST(? AS bigint)
  FROM t
ON CONFLICT (debounce_key) DO UPDATE
   SET """ + ", ".join("%s = %s" % (c, _latest(c)) for c in _CONTENT) + """,
       first_call_ms = LEAST(d.first_call_ms, EXCLUDED.first_call_ms),
       last_call_ms = GREATEST(d.last_call_ms, EXCLUDED.last_call_ms),
       fire_at_ms = LEAST(GREATEST(d.last_call_ms, EXCLUDED.last_call_ms) + """ + _PERIOD + """,
                          COALESCE(LEAST(d.first_call_ms, EXCLUDED.first_call_ms) + """ \
    + _latest("max_wait_ms") + """,
                                   GREATEST(d.last_call_ms, EXCLUDED.last_call_ms) + """ \
    + _PERIOD + """)),
       calls = d.calls + EXCLUDED.calls
RETURNING first_call_ms, fire_at_ms, calls"""

_COLUMNS = """debounce_key, workflow_name, inputs::text, queue_name, partition_key, priority,
       first_call_ms, last_call_ms, fire_at_ms, calls"""

# Due rows of workflows this executor runs (another executor takes the rest), locked.
_DUE = """SELECT """ + _COLUMNS + """
  FROM {schema}.debounces
 WHERE fire_at_ms <= {schema}.now_ms()
   AND workflow_name IN (SELECT jsonb_array_elements_text(CAST(? AS jsonb)))
 ORDER BY fire_at_ms
 LIMIT ?
   FOR UPDATE SKIP LOCKED"""

# Whether any row of those workflows is due, without a lock or a transaction: the tick asks
# this first, so an idle tick opens no transaction (debounces_fire_at_idx).
_ANY_DUE = """SELECT EXISTS (SELECT 1 FROM {schema}.debounces
                WHERE fire_at_ms <= {schema}.now_ms()
                  AND workflow_name IN (SELECT jsonb_array_elements_text(CAST(? AS jsonb))))"""

_DELETE = "DELETE FROM {schema}.debounces WHERE debounce_key = ? AND fire_at_ms = ?"

# A due row whose request no longer validates (its inputs no longer fit the workflow) moves
# to the dead letters, in one statement (replayable as any dead letter, under the application
# version its run would have started under: a replay of a request naming none gets "1").
_DEAD_LETTER = """WITH gone AS (
    DELETE FROM {schema}.debounces WHERE debounce_key = ? AND fire_at_ms = ?
    RETURNING workflow_name, queue_name, partition_key, priority, inputs)
INSERT INTO {schema}.dead_letters (workflow_id, workflow_name, queue_name, reason, message,
                                   request)
SELECT CAST(? AS text), g.workflow_name, g.queue_name, ?, ?,
       jsonb_build_object('workflow_id', CAST(? AS text), 'workflow_name', g.workflow_name,
                          'queue_name', g.queue_name, 'partition_key', g.partition_key,
                          'priority', g.priority, 'inputs', g.inputs,
                          'app_version', CAST(? AS text))::text
  FROM gone g"""

_PENDING = """SELECT """ + _COLUMNS + """, fire_at_ms - {schema}.now_ms()
  FROM {schema}.debounces
 ORDER BY fire_at_ms, debounce_key
 LIMIT ?"""

_COUNT = "SELECT count(*) FROM {schema}.debounces"


def upsert(dbName, call, times=None):
    """Record calls to ``call.key``: one call now (``times`` None), or a flushed burst
    (``times``: (jvmNowMs, firstCallJvmMs, lastCallJvmMs)). ``call``: key, workflowName,
    inputsJson, queueName, partitionKey, priority, periodMs, maxWaitMs, calls.
    Returns [firstCallMs, fireAtMs, calls] of the pending row."""
    jvmNow, first, last = times or (None, None, None)
    return tx.query(dbName, sql.bind(_UPSERT, dbName),
                    [jvmNow, first, last, call.periodMs, call.maxWaitMs, call.key,
                     call.workflowName, call.inputsJson, call.queueName, call.partitionKey,
                     call.priority, call.calls], None)[0]


def due(dbName, workflowNamesJson, limit, t):
    """Lock up to ``limit`` due rows of the named workflows (in transaction ``t``); rows of
    _COLUMNS."""
    return tx.query(dbName, sql.bind(_DUE, dbName), [workflowNamesJson, limit], t)


def anyDue(dbName, workflowNamesJson):
    """Whether a row of the named workflows is due (no lock taken)."""
    return bool(tx.scalar(dbName, sql.bind(_ANY_DUE, dbName), [workflowNamesJson]))


def delete(dbName, key, fireAtMs, t):
    """Delete a pending row as it was read; 1, or 0 when it changed or went meanwhile."""
    return tx.update(dbName, sql.bind(_DELETE, dbName), [key, fireAtMs], t, skipAudit=True)


def deadLetter(dbName, row, reason, message, t):
    """Move a pending row (as read by ``due``) to the dead letters under ``row``'s
    deterministic workflow id and the application version it would have started under
    (``row``: key, fireAtMs, workflowId, appVersion); 1, or 0 when it changed meanwhile."""
    key, fireAtMs, workflowId, appVersion = row
    return tx.update(dbName, sql.bind(_DEAD_LETTER, dbName),
                     [key, fireAtMs, workflowId, reason, message, workflowId, appVersion], t,
                     skipAudit=True)


def pending(dbName, limit):
    """The pending rows, the soonest to fire first: _COLUMNS and the ms until it fires."""
    return tx.query(dbName, sql.bind(_PENDING, dbName), [limit])


def count(dbName):
    """How many keys have a pending burst."""
    return int(tx.scalar(dbName, sql.bind(_COUNT, dbName)))
