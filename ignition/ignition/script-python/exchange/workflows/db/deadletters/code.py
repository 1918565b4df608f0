"""Every statement on ``dead_letters``: in-memory enqueues the database would not take.

The flush writes conflicts (a taken workflow id, a held deduplication id) in the same
statement as the batch (db.runs.insertBatch); this module writes the rest (requests the
database refused, requests an overflow dropped) and serves the console: list, replay,
purge. A replay inserts the stored request as a run and marks the dead letter in one
statement, so a request is never replayed twice.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db import sql, tx

DEAD_LETTER_COLUMNS = ("dead_letter_id", "workflow_id", "workflow_name", "queue_name",
                       "deduplication_id", "reason", "message", "request", "accepted_at_ms",
                       "created_at_ms", "replayed_at_ms", "replayed_workflow_id")

_INSERT = """INSERT INTO {schema}.dead_letters
    (workflow_id, workflow_name, queue_name, deduplication_id, reason, message, request,
     accepted_at_ms)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)"""

_LIST = """SELECT dead_letter_id, workflow_id, workflow_name, queue_name, deduplication_id,
       reason, message, request, accepted_at_ms, created_at_ms, replayed_at_ms,
       replayed_workflow_id
  FROM {schema}.dead_letters
 WHERE (CAST(? AS text) IS NULL OR reason = ?)
   AND (CAST(? AS boolean) OR replayed_at_ms IS NULL)
 ORDER BY dead_letter_id DESC
 LIMIT ? OFFSET ?"""

# The stored request becomes an ENQUEUED run (delays are not re-applied: its time has
# passed), under its own workflow id or ``fresh`` when given, of the application version
# it was accepted under.
_REPLAY = """WITH letter AS (
    SELECT dead_letter_id, CAST(request AS jsonb) AS item, CAST(? AS text) AS fresh
      FROM {schema}.dead_letters
     WHERE dead_letter_id = ? AND replayed_at_ms IS NULL
       FOR UPDATE),
landed AS (
    INSERT INTO {schema}.workflow_runs
        (workflow_id, workflow_name, status, queue_name, priority, partition_key,
         deduplication_id, inputs, timeout_ms, max_recovery_attempts, app_version)
    SELECT COALESCE(l.fresh, l.item->>'workflow_id'), l.item->>'workflow_name', 'ENQUEUED',
           l.item->>'queue_name', CAST(l.item->>'priority' AS integer),
           l.item->>'partition_key', l.item->>'deduplication_id', l.item->'inputs',
           CAST(l.item->>'timeout_ms' AS bigint),
           CAST(l.item->>'max_recovery_attempts' AS integer),
           COALESCE(l.item->>'app_version', '1')  -- its version (requests before versions: 1)
      FROM letter l
    ON CONFLICT DO NOTHING
    RETURNING workflow_id)
UPDATE {schema}.dead_letters d
   SET replayed_at_ms = {schema}.now_ms(), replayed_workflow_id = landed.workflow_id
  FROM letter, landed
 WHERE d.dead_letter_id = letter.dead_letter_id
RETURNING d.replayed_workflow_id"""

_GET = _LIST.split(" WHERE ")[0] + " WHERE dead_letter_id = ?"

_PURGE = """DELETE FROM {schema}.dead_letters
 WHERE (CAST(? AS jsonb) IS NULL
        OR dead_letter_id IN (SELECT CAST(jsonb_array_elements_text(CAST(? AS jsonb)) AS bigint)))
   AND (CAST(? AS bigint) IS NULL OR created_at_ms < {schema}.now_ms() - CAST(? AS bigint))"""

_COUNT = "SELECT count(*) FROM {schema}.dead_letters WHERE replayed_at_ms IS NULL"


def insert(dbName, fields, reason, message, requestText):
    """Keep one request the database would not take. ``fields``: what could be read of it
    (a dict in the in-memory request format of runs.insertBatch; any key may be missing);
    ``requestText``: the request as it was."""
    tx.update(dbName, sql.bind(_INSERT, dbName),
              [fields.get("workflow_id"), fields.get("workflow_name"), fields.get("queue_name"),
               fields.get("deduplication_id"), reason, message, requestText,
               fields.get("accepted_at_ms")], skipAudit=True)


def listLetters(dbName, reason, includeReplayed, limit, offset):
    """Dead letters, newest first, as dicts keyed by DEAD_LETTER_COLUMNS."""
    rows = tx.query(dbName, sql.bind(_LIST, dbName),
                    [reason, reason, bool(includeReplayed), limit, offset])
    return [dict(zip(DEAD_LETTER_COLUMNS, row)) for row in rows]


def get(dbName, deadLetterId):
    """One dead letter as a dict, or None."""
    rows = tx.query(dbName, sql.bind(_GET, dbName), [deadLetterId])
    return dict(zip(DEAD_LETTER_COLUMNS, rows[0])) if rows else None


def replay(dbName, deadLetterId, freshWorkflowId=None):
    """Enqueue a dead letter's request; the new run's id, or None when nothing was inserted
    (no such letter, already replayed, or the run would conflict again)."""
    return tx.scalar(dbName, sql.bind(_REPLAY, dbName), [freshWorkflowId, deadLetterId])


def purge(dbName, idsJson, olderThanMs):
    """Delete dead letters by id (a JSON array) and/or age; how many were deleted."""
    return tx.update(dbName, sql.bind(_PURGE, dbName), [idsJson, idsJson, olderThanMs,
                                                        olderThanMs])


def countWaiting(dbName):
    """Dead letters not replayed yet."""
    return tx.scalar(dbName, sql.bind(_COUNT, dbName))
