"""Every statement of retention: the one-row policy every gateway sharing the database
reads, the guarded claim of an automatic pass (one gateway per interval), and the bounded
batches a pass makes (delete ended runs by age or beyond a row count, cancel stale active
runs). Deleting a run deletes its steps, events, messages, streams, prompts and template
record by ON DELETE CASCADE; active runs are never deleted, nor an ended child whose parent
is still active (the parent may yet read its outcome: it goes once the parent ended)."""
from __future__ import absolute_import, division, print_function

from exchange.workflows import statuses
from exchange.workflows.db import sql, tx
from exchange.workflows.db.maintenance import CANCELLED_SET

POLICY_COLUMNS = ("max_age_ms", "max_rows", "stale_after_ms", "interval_ms", "batch_size",
                  "updated_by", "updated_at_ms", "last_pass_at_ms", "last_pass_deleted",
                  "last_pass_cancelled")



def _statusList(names):
    """A status set as an SQL list, from the statuses module (constants, never inputs)."""
    return "(%s)" % ", ".join("'%s'" % name for name in names)


_TERMINAL = _statusList(statuses.TERMINAL)  # (the completed index's predicate, same order)
_ACTIVE = _statusList(statuses.ACTIVE)
# An ended run ``r`` no active parent may still read (engine.children: a woken parent reads
# its child's outcome at its next look; deleted, the parent would fail WORKFLOW_NOT_FOUND).
_NOT_AWAITED = """NOT EXISTS (SELECT 1 FROM {schema}.workflow_runs p
                     WHERE p.workflow_id = r.parent_workflow_id AND p.status IN """ + _ACTIVE + ")"

_POLICY = "SELECT " + ", ".join(POLICY_COLUMNS) + \
    " FROM {schema}.retention_policy WHERE policy_id = 1"

_SET = """UPDATE {schema}.retention_policy
   SET max_age_ms = ?, max_rows = ?, stale_after_ms = ?, interval_ms = ?, batch_size = ?,
       updated_by = ?, updated_at_ms = {schema}.now_ms()
 WHERE policy_id = 1"""

# The guard: one gateway wins the pass of an interval (the others match no row, and a row
# not matching is skipped without waiting for a lock). It commits on its own, at once.
_CLAIM_PASS = """UPDATE {schema}.retention_policy SET last_pass_at_ms = {schema}.now_ms()
 WHERE policy_id = 1 AND last_pass_at_ms <= {schema}.now_ms() - interval_ms
   AND (max_age_ms IS NOT NULL OR max_rows IS NOT NULL OR stale_after_ms IS NOT NULL)
RETURNING max_age_ms, max_rows, stale_after_ms, interval_ms, batch_size"""

_RECORD_PASS = """UPDATE {schema}.retention_policy
   SET last_pass_deleted = ?, last_pass_cancelled = ?,
       last_pass_at_ms = GREATEST(last_pass_at_ms, {schema}.now_ms())
 WHERE policy_id = 1"""

# The oldest ended runs first (the completed index, in order); SKIP LOCKED: a run an
# operator holds a lock on waits for the next pass.
_DELETE_AGED = """WITH picked AS (
    SELECT r.workflow_id FROM {schema}.workflow_runs r
     WHERE r.status IN %s AND r.completed_at_ms < {schema}.now_ms() - CAST(? AS bigint)
       AND %s
     ORDER BY r.completed_at_ms, r.workflow_id
     LIMIT ?
       FOR UPDATE OF r SKIP LOCKED)
DELETE FROM {schema}.workflow_runs r USING picked WHERE r.workflow_id = picked.workflow_id""" \
    % (_TERMINAL, _NOT_AWAITED)

# Keep the newest ``max_rows`` ended runs by (completed_at_ms, workflow_id): the edge is the
# first one beyond them, and every ended run at or below it goes, oldest first.
_DELETE_BEYOND = """WITH edge AS (
    SELECT completed_at_ms, workflow_id FROM {schema}.workflow_runs
     WHERE status IN %(terminal)s
     ORDER BY completed_at_ms DESC, workflow_id DESC
    OFFSET ? LIMIT 1),
picked AS (
    SELECT r.workflow_id FROM {schema}.workflow_runs r, edge
     WHERE r.status IN %(terminal)s
       AND (r.completed_at_ms, r.workflow_id) <= (edge.completed_at_ms, edge.workflow_id)
       AND %(notAwaited)s
     ORDER BY r.completed_at_ms, r.workflow_id
     LIMIT ?
       FOR UPDATE OF r SKIP LOCKED)
DELETE FROM {schema}.workflow_runs r USING picked WHERE r.workflow_id = picked.workflow_id""" \
    % {"terminal": _TERMINAL, "notAwaited": _NOT_AWAITED}

# Active runs created longer ago than the timeout end CANCELLED with the reason. The pick
# is the fence: it locks each row and re-checks ``status IN active`` on its newest version
# (a row another transaction holds is skipped, left to the next pass), so an ended run is
# never cancelled again; the write names the status and owner it was picked in as well
# (with the row locked in the same statement, that match cannot fail: a guard, not a race
# it loses). A running thread stops at its next step boundary, as on any cancel.
_CANCEL_STALE = """WITH picked AS (
    SELECT workflow_id, status AS was, executor_id AS owner FROM {schema}.workflow_runs
     WHERE status IN """ + _ACTIVE + """ AND created_at_ms < {schema}.now_ms() - CAST(? AS bigint)
     ORDER BY created_at_ms
     LIMIT ?
       FOR UPDATE SKIP LOCKED),
cancelled AS (
    UPDATE {schema}.workflow_runs r
       """ + CANCELLED_SET + """
      FROM picked
     WHERE r.workflow_id = picked.workflow_id AND r.status = picked.was
       AND r.executor_id IS NOT DISTINCT FROM picked.owner
    RETURNING r.workflow_id)
SELECT count(*) FROM cancelled"""


def policy(dbName, t=None):
    """The policy row as a dict keyed by POLICY_COLUMNS."""
    return dict(zip(POLICY_COLUMNS, tx.query(dbName, sql.bind(_POLICY, dbName), [], t)[0]))


def setPolicy(dbName, limits, actorName, t=None):
    """Store the policy: ``limits`` is (maxAgeMs, maxRows, staleAfterMs, intervalMs,
    batchSize), None for a limit that is off."""
    tx.update(dbName, sql.bind(_SET, dbName), list(limits) + [actorName], t)


def claimPass(dbName):
    """Win the automatic pass of this interval: the policy's (maxAgeMs, maxRows,
    staleAfterMs, intervalMs, batchSize), or None (not due, no limit on, or another gateway
    won it)."""
    rows = tx.query(dbName, sql.bind(_CLAIM_PASS, dbName))
    return tuple(rows[0]) if rows else None


def recordPass(dbName, deleted, cancelled, t=None):
    """What the last pass did, for getRetentionPolicy."""
    tx.update(dbName, sql.bind(_RECORD_PASS, dbName), [deleted, cancelled], t)


def deleteAged(dbName, olderThanMs, limit, t=None):
    """Delete up to ``limit`` runs that ended more than ``olderThanMs`` ago; how many."""
    return tx.update(dbName, sql.bind(_DELETE_AGED, dbName), [olderThanMs, limit], t)


def deleteBeyond(dbName, keepRows, limit, t=None):
    """Delete up to ``limit`` ended runs older than the newest ``keepRows``; how many."""
    return tx.update(dbName, sql.bind(_DELETE_BEYOND, dbName), [keepRows, limit], t)


def cancelStale(dbName, olderThanMs, limit, errorJson, t=None):
    """Cancel up to ``limit`` active runs created more than ``olderThanMs`` ago; how many."""
    return int(tx.query(dbName, sql.bind(_CANCEL_STALE, dbName),
                        [olderThanMs, limit, errorJson], t)[0][0])
