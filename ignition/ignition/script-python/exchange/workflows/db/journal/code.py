"""Every statement on ``journal``: the audit trail of operator and maintenance actions.

An entry is written in the same transaction as the action it records when the action took
effect, and on its own when it was refused, so the journal never claims an action that
did not happen and never misses one that was tried.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db import sql, tx

JOURNAL_COLUMNS = ("entry_id", "at_ms", "actor", "action", "workflow_id", "prompt_id",
                   "queue_name", "reason", "accepted", "outcome", "details", "executor_id")

_INSERT = """INSERT INTO {schema}.journal
    (actor, action, workflow_id, prompt_id, queue_name, reason, accepted, outcome, details,
     executor_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS jsonb), ?)"""

_LIST = """SELECT entry_id, at_ms, actor, action, workflow_id, prompt_id, queue_name, reason,
       accepted, outcome, details::text, executor_id
  FROM {schema}.journal
 WHERE (CAST(? AS text) IS NULL OR workflow_id = ?)
   AND (CAST(? AS text) IS NULL OR action = ?)
   AND (CAST(? AS text) IS NULL OR actor = ?)
   AND (CAST(? AS bigint) IS NULL OR at_ms >= CAST(? AS bigint))
 ORDER BY entry_id DESC
 LIMIT ?"""


def record(dbName, entry, t=None):
    """Write one journal entry (a dict with the JOURNAL_COLUMNS it sets; details as JSON)."""
    tx.update(dbName, sql.bind(_INSERT, dbName),
              [entry["actor"], entry["action"], entry.get("workflow_id"),
               entry.get("prompt_id"), entry.get("queue_name"), entry.get("reason"),
               bool(entry["accepted"]), entry["outcome"], entry.get("details"),
               entry.get("executor_id")], t)


def listEntries(dbName, workflowId, action, actor, sinceMs, limit):
    """Journal entries matching the filters (None = any), newest first."""
    rows = tx.query(dbName, sql.bind(_LIST, dbName),
                    [workflowId, workflowId, action, action, actor, actor, sinceMs, sinceMs,
                     limit])
    return [dict(zip(JOURNAL_COLUMNS, row)) for row in rows]
