"""The statements of operator commands: lock a run, then one transition of the state/command
matrix (engine.commands decides which).

Each transition runs in the transaction that locked the run row and names the status it
expects, so commands sent in quick succession apply one after another, in order, each to
the state the previous one left.
"""
from __future__ import absolute_import, division, print_function

from collections import namedtuple

from exchange.workflows.db import sql, tx

_LOCK = """SELECT status, pending_command, started_at_ms IS NOT NULL, executor_id, attempts
  FROM {schema}.workflow_runs WHERE workflow_id = ? FOR UPDATE"""

_CLEAR_CLAIM = """executor_id = NULL, partition_slot = NULL, claimed_at_ms = NULL"""

_TRANSITIONS = {
    # not running: held at once (it holds no thread)
    "hold": """UPDATE {schema}.workflow_runs
   SET status = 'HELD', pending_command = NULL, waiting_for = NULL, """ + _CLEAR_CLAIM + """,
       updated_at_ms = {schema}.now_ms()
 WHERE workflow_id = ? AND status = ?""",
    # running: its thread applies the command at the next step boundary
    "request": """UPDATE {schema}.workflow_runs
   SET pending_command = ?, updated_at_ms = {schema}.now_ms()
 WHERE workflow_id = ? AND status = ?""",
    # waiting, held or queued after a start: back to its queue, to apply the command there
    "requestAndWake": """UPDATE {schema}.workflow_runs
   SET pending_command = ?, status = 'ENQUEUED', waiting_for = NULL, """ + _CLEAR_CLAIM + """,
       updated_at_ms = {schema}.now_ms()
 WHERE workflow_id = ? AND status = ?""",
    "withdraw": """UPDATE {schema}.workflow_runs
   SET pending_command = NULL, updated_at_ms = {schema}.now_ms()
 WHERE workflow_id = ? AND status = ? AND pending_command = 'HOLD'""",
    # a held run continues: a run held before its delay ended waits for it again
    "release": """UPDATE {schema}.workflow_runs
   SET status = CASE WHEN started_at_ms IS NULL AND run_at_ms > {schema}.now_ms()
                     THEN 'DELAYED' ELSE 'ENQUEUED' END,
       updated_at_ms = {schema}.now_ms()
 WHERE workflow_id = ? AND status = ?""",
    # never started: nothing to bring to a safe state
    "stopNow": """UPDATE {schema}.workflow_runs
   SET status = 'STOPPED', pending_command = NULL, waiting_for = NULL, error = CAST(? AS jsonb),
       """ + _CLEAR_CLAIM + """, completed_at_ms = {schema}.now_ms(),
       updated_at_ms = {schema}.now_ms()
 WHERE workflow_id = ? AND status = ?""",
    # a running run keeps its owner until its thread lets go (db.runs.letGo)
    "cancel": """UPDATE {schema}.workflow_runs
   SET status = 'CANCELLED', pending_command = NULL, waiting_for = NULL, error = CAST(? AS jsonb),
       partition_slot = NULL, completed_at_ms = {schema}.now_ms(),
       updated_at_ms = {schema}.now_ms()
 WHERE workflow_id = ? AND status = ?""",
    # a run that stopped without finishing goes back to its queue with a fresh recovery count
    # and deadline; only once the thread of its last attempt let go (or its executor is
    # gone), so a step that thread is still inside never runs twice at once
    "resumeTerminal": """UPDATE {schema}.workflow_runs r
   SET status = 'ENQUEUED', recovery_attempts = 0, executor_id = NULL, partition_slot = NULL,
       claimed_at_ms = NULL, deadline_ms = NULL, error = NULL, completed_at_ms = NULL,
       pending_command = NULL, updated_at_ms = {schema}.now_ms()
 WHERE r.workflow_id = ? AND r.status = ?
   AND (r.status <> 'CANCELLED' OR r.executor_id IS NULL OR NOT EXISTS (
        SELECT 1 FROM {schema}.executors e
         WHERE e.executor_id = r.executor_id AND e.retired_at_ms IS NULL
           AND e.heartbeat_at_ms + e.lease_ms >= {schema}.now_ms()))""",
}


class Locked(namedtuple("Locked", "status pendingCommand started executorId attempt")):
    """A run row as a command read it: its status, the command pending for its next
    boundary, whether it ever started, and its owner (executor and attempt); None where
    the read did not say."""

    __slots__ = ()

    def __new__(cls, status, pendingCommand=None, started=None, executorId=None,
                attempt=None):
        return super(Locked, cls).__new__(cls, status, pendingCommand, started, executorId,
                                          attempt)


def lock(dbName, workflowId, t):
    """Lock a run row for a command; its Locked, or None."""
    rows = tx.query(dbName, sql.bind(_LOCK, dbName), [workflowId], t)
    return Locked(*rows[0]) if rows else None


def transition(dbName, action, workflowId, expectedStatus, t, argument=None):
    """Apply one transition to a locked run; True when it took effect. ``argument``: the
    command of "request"/"requestAndWake", the error JSON of "stopNow"/"cancel"."""
    params = [workflowId, expectedStatus]
    if action in ("request", "requestAndWake", "stopNow", "cancel"):
        params = [argument] + params
    return tx.update(dbName, sql.bind(_TRANSITIONS[action], dbName), params, t) == 1
