"""Every statement on ``maintenance``: the switch every executor sharing the database obeys
(the claim statement skips a queue while a row covers it), and what drains report."""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db import sql, tx

MAINTENANCE_COLUMNS = ("scope", "mode", "reason", "actor", "since_ms")

_ENTER = """INSERT INTO {schema}.maintenance (scope, mode, reason, actor) VALUES (?, ?, ?, ?)
ON CONFLICT (scope) DO UPDATE
   SET mode = EXCLUDED.mode, reason = EXCLUDED.reason, actor = EXCLUDED.actor,
       since_ms = {schema}.now_ms()"""

_EXIT_ALL = "DELETE FROM {schema}.maintenance"
_EXIT_ONE = "DELETE FROM {schema}.maintenance WHERE scope = ?"

_LIST = "SELECT scope, mode, reason, actor, since_ms FROM {schema}.maintenance ORDER BY scope"

# Cancel mode: every active run in scope ends CANCELLED; counted by the status it had. The
# rows are locked first (in workflow id order), so a run changing state meanwhile (a claim,
# a suspend, a wake) is cancelled in the state it reached, not skipped.
# An active run's cancel (one error parameter): what every bulk cancel writes (maintenance's
# cancel mode, retention's stale timeout).
CANCELLED_SET = """SET status = 'CANCELLED', error = CAST(? AS jsonb), pending_command = NULL,
           waiting_for = NULL, partition_slot = NULL, completed_at_ms = {schema}.now_ms(),
           updated_at_ms = {schema}.now_ms()"""

_CANCEL_SCOPE = """WITH picked AS (
    SELECT workflow_id, status AS was FROM {schema}.workflow_runs
     WHERE status IN ('DELAYED', 'ENQUEUED', 'PENDING', 'RUNNING', 'WAITING', 'HELD')
       AND (CAST(? AS text) = '' OR queue_name = ?)
     ORDER BY workflow_id
       FOR UPDATE),
cancelled AS (
    UPDATE {schema}.workflow_runs r
       """ + CANCELLED_SET + """
      FROM picked
     WHERE r.workflow_id = picked.workflow_id AND r.status = picked.was
    RETURNING picked.was)
SELECT was, count(*) FROM cancelled GROUP BY was"""

_SCOPE_ALL = "SELECT count(*) FROM {schema}.maintenance WHERE scope = ''"

# Per live executor: what it runs right now (by the database's word) and what it reported.
_IN_FLIGHT = """SELECT e.executor_id, e.executor_name, e.generation, e.in_flight,
       (SELECT count(*) FROM {schema}.workflow_runs r
         WHERE r.executor_id = e.executor_id AND r.status IN ('PENDING', 'RUNNING')),
       e.heartbeat_at_ms
  FROM {schema}.executors e
 WHERE e.retired_at_ms IS NULL AND e.heartbeat_at_ms + e.lease_ms >= {schema}.now_ms()
 ORDER BY e.executor_name, e.executor_id"""

_WORKLOAD = """SELECT status, count(*) FROM {schema}.workflow_runs
 WHERE status IN ('DELAYED', 'ENQUEUED', 'PENDING', 'RUNNING', 'WAITING', 'HELD')
   AND (CAST(? AS text) IS NULL OR queue_name = ?)
 GROUP BY status"""

_OWNED = """SELECT count(*) FROM {schema}.workflow_runs
 WHERE executor_id = ? AND status IN ('PENDING', 'RUNNING')"""


def enter(dbName, scope, mode, reason, actor, t):
    """Switch maintenance on for ``scope`` ('' = every queue), or change its mode."""
    tx.update(dbName, sql.bind(_ENTER, dbName), [scope, mode, reason, actor], t)


def exit(dbName, scope, t):
    """Switch maintenance off for ``scope`` (None: every scope); how many rows went."""
    if scope is None:
        return tx.update(dbName, sql.bind(_EXIT_ALL, dbName), [], t)
    return tx.update(dbName, sql.bind(_EXIT_ONE, dbName), [scope], t)


def listScopes(dbName, t=None):
    """The maintenance rows as dicts keyed by MAINTENANCE_COLUMNS."""
    return [dict(zip(MAINTENANCE_COLUMNS, row))
            for row in tx.query(dbName, sql.bind(_LIST, dbName), [], t)]


def coversEveryQueue(dbName):
    """Whether maintenance is on for every queue (not only for some)."""
    return int(tx.scalar(dbName, sql.bind(_SCOPE_ALL, dbName))) > 0


def cancelScope(dbName, scope, errorJson, t):
    """Cancel every active run of ``scope``; {status it had: count}."""
    rows = tx.query(dbName, sql.bind(_CANCEL_SCOPE, dbName), [scope, scope, errorJson], t)
    return dict((row[0], int(row[1])) for row in rows)


def inFlight(dbName):
    """Live executors: (id, name, generation, reportedInFlight, claimedRuns, heartbeatAtMs)."""
    return [tuple(row) for row in tx.query(dbName, sql.bind(_IN_FLIGHT, dbName))]


def workload(dbName, queueName=None):
    """Active runs by status (of one queue, or all)."""
    rows = tx.query(dbName, sql.bind(_WORKLOAD, dbName), [queueName, queueName])
    return dict((row[0], int(row[1])) for row in rows)


def ownedBy(dbName, executorId):
    """How many claimed runs the database says an executor owns."""
    return int(tx.scalar(dbName, sql.bind(_OWNED, dbName), [executorId]))
