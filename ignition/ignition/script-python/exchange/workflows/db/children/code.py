"""The statements of child workflows: a child's insert (linked to its parent, under the
parent's deadline and of the parent's application version, so the executors that run
the parent run it), a child's outcome as its waiting parent reads it, and a run's
descendants (for cascading commands).

A child's end wakes its waiting parent by the trigger of schema version 7 (db.schema), in
the transaction that ends it, whoever ends it.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db import sql, tx

# Deadline inheritance: unless it may outlive its parent, a child's deadline is set at its
# insert to the parent's (or its own timeout from now, when that is sooner); without a
# parent deadline the claim sets it from the child's timeout, as for any run.
_INSERT = """INSERT INTO {schema}.workflow_runs
    (workflow_id, workflow_name, status, queue_name, priority, partition_key, inputs,
     timeout_ms, max_recovery_attempts, parent_workflow_id, app_version, deadline_ms)
SELECT ?, ?, 'ENQUEUED', ?, ?, ?, CAST(? AS jsonb), d.timeout, ?, p.workflow_id, p.app_version,
       CASE WHEN d.outlive OR p.deadline_ms IS NULL THEN NULL
            ELSE LEAST(p.deadline_ms, {schema}.now_ms() + d.timeout) END
  FROM (SELECT CAST(? AS bigint) AS timeout, CAST(? AS boolean) AS outlive) d,
       {schema}.workflow_runs p
 WHERE p.workflow_id = ?
ON CONFLICT DO NOTHING
RETURNING workflow_id"""


# A run the parent adopts (startChild naming the id of a run of that workflow) that has no
# parent becomes its child: the trigger wakes only the parents of runs that have one.
_ADOPT = """UPDATE {schema}.workflow_runs SET parent_workflow_id = ?
 WHERE workflow_id = ? AND parent_workflow_id IS NULL AND workflow_id <> ?"""

_OUTCOME = """SELECT status, output::text, error::text, workflow_name, parent_workflow_id
  FROM {schema}.workflow_runs WHERE workflow_id = ?"""

_DESCENDANTS = """WITH RECURSIVE family(workflow_id, depth) AS (
    SELECT workflow_id, 1 FROM {schema}.workflow_runs WHERE parent_workflow_id = ?
  UNION ALL
    SELECT r.workflow_id, f.depth + 1 FROM {schema}.workflow_runs r
      JOIN family f ON r.parent_workflow_id = f.workflow_id
     WHERE f.depth < 100)
SELECT r.workflow_id, r.status, f.depth FROM family f
  JOIN {schema}.workflow_runs r ON r.workflow_id = f.workflow_id
 ORDER BY f.depth, r.created_at_ms, r.workflow_id"""

_CHILDREN = """SELECT workflow_id, workflow_name, status, created_at_ms, completed_at_ms
  FROM {schema}.workflow_runs WHERE parent_workflow_id = ?
 ORDER BY created_at_ms, enqueue_seq LIMIT ?"""


def insert(dbName, request, parentId, outliveParent, t):
    """Insert a child run of ``parentId`` from a validated request (engine.requests), in
    the parent's recording transaction ``t``; False when its id is taken."""
    rows = tx.query(dbName, sql.bind(_INSERT, dbName),
                    [request.workflowId, request.workflowName, request.queueName,
                     request.priority, request.partitionKey, request.inputsJson,
                     request.maxRecoveryAttempts, request.timeoutMs, bool(outliveParent),
                     parentId], t)
    return bool(rows)


def adopt(dbName, workflowId, parentId, t):
    """In the parent's recording transaction ``t``: run ``workflowId``, when it has no
    parent, becomes a child of ``parentId`` (so its end wakes the parent)."""
    tx.update(dbName, sql.bind(_ADOPT, dbName), [parentId, workflowId, parentId], t)


def outcome(dbName, workflowId, t=None):
    """(status, outputJson, errorJson, workflowName, parentWorkflowId) of a run, or None."""
    rows = tx.query(dbName, sql.bind(_OUTCOME, dbName), [workflowId], t)
    return tuple(rows[0]) if rows else None


def descendants(dbName, workflowId, t=None):
    """Every run below ``workflowId`` (children, grandchildren...), parents before their
    children: a list of (workflowId, status, depth)."""
    return [tuple(row) for row in tx.query(dbName, sql.bind(_DESCENDANTS, dbName),
                                           [workflowId], t)]


def children(dbName, workflowId, limit=200):
    """The runs a run started, oldest first: dicts of workflow_id, workflow_name, status,
    created_at_ms, completed_at_ms."""
    keys = ("workflow_id", "workflow_name", "status", "created_at_ms", "completed_at_ms")
    return [dict(zip(keys, row)) for row in tx.query(dbName, sql.bind(_CHILDREN, dbName),
                                                     [workflowId, limit])]
