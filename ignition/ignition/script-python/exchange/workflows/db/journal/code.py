"""Every statement on ``journal``: the audit trail of operator and maintenance actions.

An entry is written in the same transaction as the action it records when the action took
effect, and on its own when it was refused, so the journal never claims an action that
did not happen and never misses one that was tried.
"""
from __future__ import absolute_import, division, print_function

from collections import namedtuple

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
   AND (CAST(? AS bigint) IS NULL OR at_ms < CAST(? AS bigint))
 ORDER BY entry_id DESC
 LIMIT ?"""


class JournalEntry(namedtuple("JournalEntry", "action workflowId promptId queueName reason")):
    """What a journal entry is about: the action, the run, prompt and queue it names and
    the reason given (None: none). Fields by name, so a misspelt one raises (TypeError;
    ValueError from ``_replace``) instead of journaling NULL."""

    __slots__ = ()

    def __new__(cls, action, workflowId=None, promptId=None, queueName=None, reason=None):
        return super(JournalEntry, cls).__new__(cls, action, workflowId, promptId, queueName,
                                                reason)


class Decision(namedtuple("Decision", "actor accepted outcome detailsJson executorId")):
    """How the action of an entry was decided: by whom (the actor's name), accepted or
    not, its outcome code, its details (JSON), and the executor that wrote it."""

    __slots__ = ()


def record(dbName, entry, decision, t=None):
    """Write one journal entry: what it is about (a JournalEntry) and its Decision."""
    tx.update(dbName, sql.bind(_INSERT, dbName),
              [decision.actor, entry.action, entry.workflowId, entry.promptId,
               entry.queueName, entry.reason, bool(decision.accepted), decision.outcome,
               decision.detailsJson, decision.executorId], t)


def listEntries(dbName, workflowId, action, actor, sinceMs, limit, untilMs=None):
    """Journal entries matching the filters (None = any; ``untilMs`` excluded), newest
    first."""
    rows = tx.query(dbName, sql.bind(_LIST, dbName),
                    [workflowId, workflowId, action, action, actor, actor, sinceMs, sinceMs,
                     untilMs, untilMs, limit])
    return [dict(zip(JOURNAL_COLUMNS, row)) for row in rows]
