"""Every statement about application versions: what an executor runs, and moving the runs
of one version to another (api.admin.moveRuns).

A run records the version it started under (db.runs insert); an executor claims only runs
of the versions it runs (db.runs claim). docs/versions.md.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db import sql, tx

_EXECUTOR = """UPDATE {schema}.executors SET app_version = ?, app_versions = CAST(? AS jsonb)
 WHERE executor_id = ?"""

# Only runs that have not ended: an ended run keeps the version it ran under (its history).
_MOVE = """UPDATE {schema}.workflow_runs
   SET app_version = ?, updated_at_ms = {schema}.now_ms()
 WHERE app_version = ?
   AND status IN ('DELAYED', 'ENQUEUED', 'PENDING', 'RUNNING', 'WAITING', 'HELD')
   AND (CAST(? AS text) IS NULL OR workflow_name = ?)"""


def recordExecutor(dbName, executorId, appVersion, runnableJson):
    """Record on executor ``executorId``'s row the version it runs and the versions whose
    runs it claims (a JSON list); whether the row exists."""
    return tx.update(dbName, sql.bind(_EXECUTOR, dbName),
                     [appVersion, runnableJson, executorId], skipAudit=True) == 1


def move(dbName, move, t=None):
    """Give the active runs of ``move.fromVersion`` (of workflow ``move.workflowName``,
    None: every workflow) the version ``move.toVersion``; how many moved."""
    return tx.update(dbName, sql.bind(_MOVE, dbName),
                     [move.toVersion, move.fromVersion, move.workflowName,
                      move.workflowName], t)
