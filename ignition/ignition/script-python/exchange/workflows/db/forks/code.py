"""Every statement of a fork (api.service.fork): the original read, and the copies that give
the new run the original's history before the fork point.

The copies run in the transaction that inserts the new run (db.runs.insert), so a fork is
there with its history or not at all. What is copied, by the position that produced it:
the step log's records before ``fromStep``; the events whose current value and the stream
entries that were written before it (their ``step_position``); the messages sent to the
original, those it consumed at a position after the fork point (or never) as unread, so
the re-run ``recv`` finds them again. The original is only read.
"""
from __future__ import absolute_import, division, print_function

from collections import namedtuple

from exchange.workflows.db import sql, tx

# (locked FOR SHARE: a resume or a retention delete waits until the fork has its copy)
_SOURCE = """SELECT workflow_name, inputs::text, queue_name, partition_key, priority, timeout_ms,
       (SELECT COALESCE(max(step_position), 0) FROM {schema}.step_outputs s
         WHERE s.workflow_id = r.workflow_id)
  FROM {schema}.workflow_runs r WHERE workflow_id = ?
   FOR SHARE"""

_MARK = """UPDATE {schema}.workflow_runs SET forked_from = ?, forked_at_step = ?
 WHERE workflow_id = ? AND forked_from IS NULL"""

_COPY_STEPS = """INSERT INTO {schema}.step_outputs
    (workflow_id, step_position, step_name, status, output, error, attempts, executor_id,
     run_attempt, started_at_ms, completed_at_ms)
SELECT ?, step_position, step_name, status, output, error, attempts, executor_id,
       run_attempt, started_at_ms, completed_at_ms
  FROM {schema}.step_outputs WHERE workflow_id = ? AND step_position < ?"""

_COPY_EVENTS = """INSERT INTO {schema}.events
    (workflow_id, event_key, value, version, updated_at_ms, step_position)
SELECT ?, event_key, value, version, updated_at_ms, step_position
  FROM {schema}.events WHERE workflow_id = ? AND step_position < ?"""

_COPY_STREAMS = """INSERT INTO {schema}.streams
    (workflow_id, stream_key, stream_offset, value, closed, created_at_ms, step_position)
SELECT ?, stream_key, stream_offset, value, closed, created_at_ms, step_position
  FROM {schema}.streams WHERE workflow_id = ? AND step_position < ?"""

_COPY_MESSAGES = """INSERT INTO {schema}.messages
    (workflow_id, topic, body, idempotency_key, sender, created_at_ms, consumed_at_ms,
     consumed_position)
SELECT ?, topic, body, idempotency_key, sender, created_at_ms,
       CASE WHEN consumed_position < ? THEN consumed_at_ms END,
       CASE WHEN consumed_position < ? THEN consumed_position END
  FROM {schema}.messages WHERE workflow_id = ?
 ORDER BY message_id"""


class Source(namedtuple("Source", "workflowName inputsJson queueName partitionKey priority "
                                  "timeoutMs lastPosition")):
    """What a fork takes from its original: the workflow, its inputs and queue placement,
    its timeout, and the last position of its step log (0: none)."""

    __slots__ = ()


def source(dbName, workflowId, t):
    """The Source of run ``workflowId`` (locked against changes until ``t`` ends), or None."""
    rows = tx.query(dbName, sql.bind(_SOURCE, dbName), [workflowId], t)
    return Source(*rows[0]) if rows else None


def copy(dbName, originalId, forkId, fromStep, t):
    """In ``t``, the new run's transaction: mark run ``forkId`` as forked from ``originalId``
    at ``fromStep`` and copy the history before it; {steps, events, streams, messages}
    copied."""
    tx.update(dbName, sql.bind(_MARK, dbName), [originalId, fromStep, forkId], t)
    counts = {}
    for what, statement in (("steps", _COPY_STEPS), ("events", _COPY_EVENTS),
                            ("streams", _COPY_STREAMS)):
        counts[what] = tx.update(dbName, sql.bind(statement, dbName),
                                 [forkId, originalId, fromStep], t)
    counts["messages"] = tx.update(dbName, sql.bind(_COPY_MESSAGES, dbName),
                                   [forkId, fromStep, fromStep, originalId], t)
    return counts
