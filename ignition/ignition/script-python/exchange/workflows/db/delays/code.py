"""The statements of a changed delay: lock a run, then move the start of a DELAYED run
(engine.delays decides).

The move names the status it expects (DELAYED), so a run that started, was held or was
cancelled meanwhile is never given a start time again.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db import sql, tx

_LOCK = """SELECT status, run_at_ms FROM {schema}.workflow_runs WHERE workflow_id = ?
   FOR UPDATE"""

# the new start: ``runAtMs`` when given, else the database's now plus ``delayMs``
_MOVE = """UPDATE {schema}.workflow_runs
   SET run_at_ms = COALESCE(CAST(? AS bigint), {schema}.now_ms() + CAST(? AS bigint)),
       updated_at_ms = {schema}.now_ms()
 WHERE workflow_id = ? AND status = 'DELAYED'
RETURNING run_at_ms"""


def lock(dbName, workflowId, t):
    """Lock a run row; (status, runAtMs), or None when there is no such run."""
    rows = tx.query(dbName, sql.bind(_LOCK, dbName), [workflowId], t)
    return (rows[0][0], tx.cell(rows[0][1])) if rows else None


def move(dbName, workflowId, runAtMs, delayMs, t):
    """Give a DELAYED run its new start (``runAtMs``, else now + ``delayMs``); the start
    it got, or None when the run is no longer DELAYED."""
    rows = tx.query(dbName, sql.bind(_MOVE, dbName), [runAtMs, delayMs, workflowId], t)
    return tx.cell(rows[0][0]) if rows else None
