"""Every statement on ``messages``: send, and the consuming read of recv.

A message is consumed by marking it (never deleted), so its idempotency key keeps a second
send with the same key out for as long as the run exists.
"""
from __future__ import absolute_import, division, print_function

from collections import namedtuple

from exchange.workflows.db import sql, tx

_SEND = """INSERT INTO {schema}.messages (workflow_id, topic, body, idempotency_key, sender)
VALUES (?, ?, CAST(? AS json), ?, ?)
ON CONFLICT (workflow_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
RETURNING message_id"""

_CONSUME = """UPDATE {schema}.messages
   SET consumed_at_ms = {schema}.now_ms(), consumed_position = ?
 WHERE message_id = (SELECT message_id FROM {schema}.messages
                      WHERE workflow_id = ? AND topic = ? AND consumed_at_ms IS NULL
                      ORDER BY message_id LIMIT 1)
RETURNING body::text, message_id, sender, created_at_ms"""


class Message(namedtuple("Message", "topic bodyJson idempotencyKey sender")):
    """One message as sent: its topic, its body (JSON), the idempotency key that makes a
    repeated send land once (None: none), and the run that sent it (None: not a run)."""

    __slots__ = ()


def send(dbName, workflowId, message, t):
    """Insert a message (a Message) for run ``workflowId``; its id, or None when its
    idempotency key was already used."""
    rows = tx.query(dbName, sql.bind(_SEND, dbName),
                    [workflowId, message.topic, message.bodyJson, message.idempotencyKey,
                     message.sender], t)
    return rows[0][0] if rows else None


def consume(dbName, workflowId, topic, position, t):
    """Mark the oldest unread message of (run, topic) read by the recv at ``position``;
    (bodyJson, messageId, sender, createdAtMs) or None."""
    rows = tx.query(dbName, sql.bind(_CONSUME, dbName), [position, workflowId, topic], t)
    return tuple(rows[0]) if rows else None
