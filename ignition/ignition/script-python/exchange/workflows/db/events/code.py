"""Every statement on ``events``: a run's published key/value pairs (latest value wins)."""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db import sql, tx

_SET = """INSERT INTO {schema}.events AS e (workflow_id, event_key, value, step_position)
VALUES (?, ?, CAST(? AS json), CAST(? AS integer))
ON CONFLICT (workflow_id, event_key) DO UPDATE
   SET value = EXCLUDED.value, version = e.version + 1,
       updated_at_ms = {schema}.now_ms(), step_position = EXCLUDED.step_position
RETURNING version"""

_GET = """SELECT value::text, version, updated_at_ms FROM {schema}.events
 WHERE workflow_id = ? AND event_key = ?"""

_ALL = """SELECT event_key, value::text, version, updated_at_ms FROM {schema}.events
 WHERE workflow_id = ? ORDER BY event_key"""


def setEvent(dbName, workflowId, key, valueJson, t, position=None):
    """Publish (or replace) a value, written at step ``position`` of the run (a fork copies
    it when that is before its fork point); its version (1 for the first)."""
    return int(tx.query(dbName, sql.bind(_SET, dbName), [workflowId, key, valueJson, position],
                        t)[0][0])


def get(dbName, workflowId, key, t=None):
    """(valueJson, version, updatedAtMs) or None."""
    rows = tx.query(dbName, sql.bind(_GET, dbName), [workflowId, key], t)
    return tuple(rows[0]) if rows else None


def listEvents(dbName, workflowId):
    """Every event of a run: (key, valueJson, version, updatedAtMs) rows."""
    return [tuple(row) for row in tx.query(dbName, sql.bind(_ALL, dbName), [workflowId])]
