"""Every statement on ``prompts``: create (once per prompt() call), answer (once), expire,
list the pending ones.

A prompt expires on the database clock: an answer is taken only before ``expires_at_ms``,
and the run records a timeout only after it, so the two never both win.
"""
from __future__ import absolute_import, division, print_function

from collections import namedtuple

from exchange.workflows.db import sql, tx

PROMPT_COLUMNS = ("prompt_id", "workflow_id", "step_position", "message", "options",
                  "response_schema", "roles", "status", "expires_at_ms", "response",
                  "answered_by", "answer_comment", "answered_at_ms", "created_at_ms",
                  "workflow_name", "run_status")

_SELECT = """SELECT p.prompt_id, p.workflow_id, p.step_position, p.message, p.options::text,
       p.response_schema::text, p.roles::text, p.status, p.expires_at_ms, p.response::text,
       p.answered_by, p.answer_comment, p.answered_at_ms, p.created_at_ms, r.workflow_name,
       r.status
  FROM {schema}.prompts p JOIN {schema}.workflow_runs r ON r.workflow_id = p.workflow_id"""

_CREATE = """INSERT INTO {schema}.prompts
    (prompt_id, workflow_id, step_position, message, options, response_schema, roles,
     expires_at_ms)
SELECT ?, ?, ?, ?, CAST(? AS json), CAST(? AS json), CAST(? AS json),
       {schema}.now_ms() + CAST(? AS bigint)
ON CONFLICT (prompt_id) DO NOTHING"""

_ANSWER = """UPDATE {schema}.prompts
   SET status = 'ANSWERED', response = CAST(? AS json), answered_by = ?, answer_comment = ?,
       answered_at_ms = {schema}.now_ms()
 WHERE prompt_id = ? AND status = 'PENDING'
   AND (expires_at_ms IS NULL OR expires_at_ms > {schema}.now_ms())"""

_EXPIRE = """UPDATE {schema}.prompts SET status = 'TIMED_OUT'
 WHERE prompt_id = ? AND status = 'PENDING' AND expires_at_ms <= {schema}.now_ms()"""

_PENDING = _SELECT + """
 WHERE p.status = 'PENDING'
   AND r.status IN ('DELAYED', 'ENQUEUED', 'PENDING', 'RUNNING', 'WAITING', 'HELD')
   AND (CAST(? AS text) IS NULL OR p.workflow_id = ?)
 ORDER BY p.created_at_ms, p.prompt_id
 LIMIT ?"""


class Question(namedtuple("Question", "message optionsJson schemaJson rolesJson timeoutMs")):
    """What a prompt asks: its message, the allowed options, the schema an answer must
    satisfy and the roles that may answer (JSON; None: any), and how long it waits (ms;
    None: for ever)."""

    __slots__ = ()


def create(dbName, promptId, workflowId, position, question, t):
    """Insert a prompt (``question``: a Question) unless it exists (a replayed call finds
    its own)."""
    tx.update(dbName, sql.bind(_CREATE, dbName),
              [promptId, workflowId, position, question.message, question.optionsJson,
               question.schemaJson, question.rolesJson, question.timeoutMs], t,
              skipAudit=True)


def get(dbName, promptId, t=None):
    """One prompt as a dict keyed by PROMPT_COLUMNS, or None."""
    rows = tx.query(dbName, sql.bind(_SELECT + " WHERE p.prompt_id = ?", dbName), [promptId], t)
    return dict(zip(PROMPT_COLUMNS, rows[0])) if rows else None


def answer(dbName, promptId, responseJson, user, comment, t):
    """Record the answer of a pending, unexpired prompt; True when it took."""
    return tx.update(dbName, sql.bind(_ANSWER, dbName),
                     [responseJson, user, comment, promptId], t) == 1


def expire(dbName, promptId, t):
    """Mark a pending prompt whose time ran out TIMED_OUT; True when it took."""
    return tx.update(dbName, sql.bind(_EXPIRE, dbName), [promptId], t, skipAudit=True) == 1


def listPending(dbName, workflowId, limit):
    """Pending prompts of active runs, oldest first."""
    rows = tx.query(dbName, sql.bind(_PENDING, dbName), [workflowId, workflowId, limit])
    return [dict(zip(PROMPT_COLUMNS, row)) for row in rows]
