"""Every statement on ``executors``, and the recovery of runs whose executor is gone.

An executor renews its lease with each heartbeat (the database's clock decides expiry). The
heartbeat statement also recovers: runs owned by an executor whose lease ran out (or that
retired) go back to their queue in the same statement, each exactly once: the rows are taken
with FOR UPDATE SKIP LOCKED and the write names the owner it expects, so two executors
recovering the same dead one never both take a row. A run recovered more often than its
limit ends in MAX_RECOVERY_ATTEMPTS_EXCEEDED instead.
"""
from __future__ import absolute_import, division, print_function

from collections import namedtuple

from exchange.workflows.db import sql, tx
from exchange.workflows import settings

EXECUTOR_COLUMNS = ("executor_id", "executor_name", "host", "runtime", "generation",
                    "lease_ms", "worker_threads", "in_flight", "started_at_ms",
                    "heartbeat_at_ms", "contact_since_ms", "retired_at_ms", "retired_reason",
                    "retired_by", "recovered_runs", "alive", "active_runs", "state",
                    "heartbeat_age_ms", "overdue_after_ms", "app_version", "app_versions")

# An executor's health as others see it (``e`` is its row): retired; lapsed (its lease ran
# out: its runs are being recovered); overdue (alive by its lease, but its heartbeats, due
# every second at most, stopped three intervals ago, at least a second: it crashed, hangs,
# or lost the database, and is lapsing); else alive.
OVERDUE_AFTER_SQL = "GREATEST(3 * LEAST(e.lease_ms / 10, 1000), 1000)"
STATE_SQL = """CASE WHEN e.retired_at_ms IS NOT NULL THEN 'retired'
     WHEN e.heartbeat_at_ms + e.lease_ms < {schema}.now_ms() THEN 'lapsed'
     WHEN {schema}.now_ms() - e.heartbeat_at_ms > """ + OVERDUE_AFTER_SQL + """ THEN 'overdue'
     ELSE 'alive' END"""

# What recovery writes to a run taken from its executor (``r``, with ``p.default_max`` the
# limit of runs that name none): back to ENQUEUED (it keeps its place: enqueue_seq, started_at
# and its deadline), or past its limit, the terminal MAX_RECOVERY_ATTEMPTS_EXCEEDED.
_EXCEEDED = "r.recovery_attempts >= COALESCE(r.max_recovery_attempts, p.default_max)"
_RECOVERY_SET = """
    status = CASE WHEN %(x)s THEN 'MAX_RECOVERY_ATTEMPTS_EXCEEDED' ELSE 'ENQUEUED' END,
    recovery_attempts = r.recovery_attempts + 1,
    executor_id = CASE WHEN %(x)s THEN r.executor_id END,
    pending_command = CASE WHEN %(x)s THEN NULL ELSE r.pending_command END,
    partition_slot = NULL, claimed_at_ms = NULL,
    error = CASE WHEN %(x)s THEN jsonb_build_object(
        'type', 'MaxRecoveryAttemptsExceeded',
        'message', format('the run was interrupted %%s times (its executor stopped or lost it '
                          'mid-run); it may be recovered %%s times. Fix the cause, then resume it',
                          r.recovery_attempts + 1,
                          COALESCE(r.max_recovery_attempts, p.default_max)),
        'executorId', r.executor_id) ELSE r.error END,
    completed_at_ms = CASE WHEN %(x)s THEN {schema}.now_ms() END,
    updated_at_ms = {schema}.now_ms()""" % {"x": _EXCEEDED}

# A recovery is journaled in the statement that makes it (action RECOVER, one entry per run
# moved, by the recovering executor): the run's history shows who took it from whom, and
# why. ``recovered`` names the CTE of the moved runs (workflow_id, status, was, attempts,
# recovery_attempts), ``why`` the SQL text of the reason.
_JOURNAL_RECOVERIES = """INSERT INTO {schema}.journal
        (actor, action, workflow_id, reason, accepted, outcome, details, executor_id)
    SELECT 'gateway:' || p.me, 'RECOVER', x.workflow_id, %(why)s, true,
           CASE WHEN x.status = 'ENQUEUED' THEN 'RECOVERED' ELSE x.status END,
           jsonb_build_object('from', x.was, 'attempt', x.attempts,
                              'recoveryAttempts', x.recovery_attempts, 'status', x.status),
           p.me
      FROM %(recovered)s x CROSS JOIN params p
    RETURNING 1"""

# Registration: this executor's row (new, or renewed after a restart of its scripts), and
# every other live executor of the same name retired as superseded: a new start under a
# name means the earlier process of that name is gone (a gateway restart, a failover), so
# its runs are recovered at once instead of after its lease. Returns how many were
# superseded, and whether this executor's own row had been retired or had lapsed (its
# threads may be running runs that were recovered meanwhile: they must check ownership).
_REGISTER = """WITH params AS (
    SELECT CAST(? AS text) AS me, CAST(? AS text) AS name, CAST(? AS text) AS host,
           CAST(? AS text) AS runtime, CAST(? AS bigint) AS generation,
           CAST(? AS bigint) AS lease, CAST(? AS integer) AS threads),
prior AS (
    SELECT e.retired_at_ms IS NOT NULL OR e.heartbeat_at_ms + e.lease_ms < {schema}.now_ms()
           AS gone
      FROM {schema}.executors e WHERE e.executor_id = (SELECT me FROM params)),
superseded AS (
    UPDATE {schema}.executors e
       SET retired_at_ms = {schema}.now_ms(), retired_reason = 'superseded',
           retired_by = p.me
      FROM params p
     WHERE e.executor_name = p.name AND e.executor_id <> p.me AND e.retired_at_ms IS NULL
    RETURNING e.executor_id),
registered AS (
    INSERT INTO {schema}.executors AS e
        (executor_id, executor_name, host, runtime, generation, lease_ms, worker_threads)
    SELECT me, name, host, runtime, generation, lease, threads FROM params
    ON CONFLICT (executor_id) DO UPDATE
       SET executor_name = EXCLUDED.executor_name, host = EXCLUDED.host,
           runtime = EXCLUDED.runtime, generation = EXCLUDED.generation,
           lease_ms = EXCLUDED.lease_ms, worker_threads = EXCLUDED.worker_threads,
           contact_since_ms = CASE WHEN e.retired_at_ms IS NOT NULL
                                     OR e.heartbeat_at_ms + LEAST(e.lease_ms, 2000)
                                        < {schema}.now_ms()
                                   THEN {schema}.now_ms() ELSE e.contact_since_ms END,
           heartbeat_at_ms = {schema}.now_ms(),
           retired_at_ms = NULL, retired_reason = NULL, retired_by = NULL
    RETURNING 1)
SELECT (SELECT count(*) FROM superseded), COALESCE((SELECT gone FROM prior), false)"""

# The heartbeat: renew this executor's lease (only while it is not retired), recover the runs
# of dead executors, and list this executor's own claimed runs (the caller compares them with
# what it really runs).
#  - An executor is in contact while its heartbeats come no more than 2 s apart (or its
#    lease, if shorter; the timer beats every second): a longer gap (an outage, a pause)
#    starts its contact anew (contact_since_ms).
#  - An executor declares another dead only when it has itself been in contact for a whole
#    lease, its own or the other's, whichever is longer: after an outage that cut everyone
#    off, each of the others gets its whole lease to come back (dispatch retries at least
#    four times a lease) before anything of theirs is taken.
#  - Owners are found by a loose index scan over workflow_runs_owner_idx: one probe per
#    executor owning work. An owner with no executor row (a gateway still on a library
#    version without leases, during a rolling upgrade) cannot be judged by a lease: its runs
#    are recovered only when asked (``include_unregistered``, admin.recoverNow), and counted.
#  - The runs of dead owners are locked with SKIP LOCKED and written only while they still
#    name the (executor, attempt) that was seen, so two recoverers never both take a row.
#  - A dead owner is marked retired only if its lease still lapsed when the mark is written
#    (it may have renewed during this statement); its claims lock its row, so a claim and a
#    retirement never pass each other.
# Rows: (workflow_id, attempts, ms since its claim) of this executor's claimed runs, then one
# summary row (NULL, NULL, renewed, lapsed, recovered, exceeded, executors marked dead,
# owners without an executor row).
_BEAT = """WITH RECURSIVE params AS (
    SELECT CAST(? AS text) AS me, CAST(? AS bigint) AS lease, CAST(? AS bigint) AS generation,
           CAST(? AS integer) AS in_flight, CAST(? AS integer) AS batch,
           CAST(? AS integer) AS default_max, CAST(? AS boolean) AS include_unregistered),
prior AS (  -- lapsed, or so nearly (3/4 of it gone) that a recoverer may have seen it lapse
    SELECT e.heartbeat_at_ms + e.lease_ms * 3 / 4 < {schema}.now_ms() AS lapsed
      FROM {schema}.executors e
     WHERE e.executor_id = (SELECT me FROM params) AND e.retired_at_ms IS NULL),
beat AS (
    UPDATE {schema}.executors e
       SET heartbeat_at_ms = {schema}.now_ms(), lease_ms = p.lease,
           generation = p.generation, in_flight = p.in_flight,
           contact_since_ms = CASE WHEN e.heartbeat_at_ms + LEAST(e.lease_ms, 2000)
                                        < {schema}.now_ms()
                                   THEN {schema}.now_ms() ELSE e.contact_since_ms END
      FROM params p
     WHERE e.executor_id = p.me AND e.retired_at_ms IS NULL
    RETURNING e.contact_since_ms),
owners(executor_id) AS (
    (SELECT executor_id FROM {schema}.workflow_runs
      WHERE status IN ('PENDING', 'RUNNING') ORDER BY executor_id LIMIT 1)
  UNION ALL
    SELECT n.executor_id FROM owners o CROSS JOIN LATERAL (
        SELECT r.executor_id FROM {schema}.workflow_runs r
         WHERE r.status IN ('PENDING', 'RUNNING') AND r.executor_id > o.executor_id
         ORDER BY r.executor_id LIMIT 1) n),
judged AS (
    SELECT o.executor_id, e.executor_id IS NULL AS unregistered,
           e.retired_at_ms IS NOT NULL
           OR (CASE WHEN e.executor_id IS NULL THEN p.include_unregistered
                    ELSE e.heartbeat_at_ms + e.lease_ms < {schema}.now_ms() END
               AND b.contact_since_ms
                   <= {schema}.now_ms() - GREATEST(p.lease, COALESCE(e.lease_ms, 0))) AS dead
      FROM owners o CROSS JOIN params p CROSS JOIN beat b
      LEFT JOIN {schema}.executors e ON e.executor_id = o.executor_id
     WHERE o.executor_id <> p.me),
picked AS (
    SELECT r.workflow_id, r.executor_id AS was, r.attempts FROM {schema}.workflow_runs r
     WHERE r.executor_id IN (SELECT executor_id FROM judged WHERE dead)
       AND r.status IN ('PENDING', 'RUNNING')
     ORDER BY r.enqueue_seq
     LIMIT (SELECT batch FROM params)
       FOR UPDATE OF r SKIP LOCKED),
recovered AS (
    UPDATE {schema}.workflow_runs r SET """ + _RECOVERY_SET + """
      FROM picked, params p
     WHERE r.workflow_id = picked.workflow_id AND r.executor_id = picked.was
       AND r.attempts = picked.attempts AND r.status IN ('PENDING', 'RUNNING')
    RETURNING r.workflow_id, r.status, picked.was, r.attempts, r.recovery_attempts),
journaled AS (""" + _JOURNAL_RECOVERIES % {
    "recovered": "recovered",
    "why": "COALESCE((SELECT CASE e.retired_reason "
           "WHEN 'superseded' THEN 'a new start under its executor''s name took over' "
           "WHEN 'stopped' THEN 'its executor stopped' "
           "ELSE 'the lease of its executor ran out' END "
           "FROM {schema}.executors e WHERE e.executor_id = x.was), "
           "'its owner had no executor row (recovered on request)')"} + """),
marked AS (
    UPDATE {schema}.executors e
       SET retired_at_ms = CASE WHEN e.retired_at_ms IS NULL
                                 AND e.heartbeat_at_ms + e.lease_ms >= {schema}.now_ms()
                                THEN NULL ELSE COALESCE(e.retired_at_ms, {schema}.now_ms()) END,
           retired_reason = CASE WHEN e.retired_at_ms IS NULL
                                  AND e.heartbeat_at_ms + e.lease_ms >= {schema}.now_ms()
                                 THEN NULL ELSE COALESCE(e.retired_reason, 'lease expired') END,
           retired_by = CASE WHEN e.retired_at_ms IS NULL
                              AND e.heartbeat_at_ms + e.lease_ms >= {schema}.now_ms()
                             THEN NULL ELSE COALESCE(e.retired_by, p.me) END,
           recovered_runs = e.recovered_runs + x.n
      FROM (SELECT was, count(*) AS n FROM recovered GROUP BY was) x, params p
     WHERE e.executor_id = x.was
    RETURNING 1)
SELECT r.workflow_id, r.attempts, {schema}.now_ms() - r.claimed_at_ms, NULL, NULL, NULL, NULL,
       NULL, CAST(NULL AS text)
  FROM {schema}.workflow_runs r
 WHERE r.executor_id = (SELECT me FROM params) AND r.status IN ('PENDING', 'RUNNING')
UNION ALL
SELECT NULL, NULL, (SELECT count(*) FROM beat), (SELECT count(*) FROM prior WHERE lapsed),
       (SELECT count(*) FROM recovered WHERE status = 'ENQUEUED'),
       (SELECT count(*) FROM recovered WHERE status <> 'ENQUEUED'),
       (SELECT count(*) FROM marked),
       (SELECT count(*) FROM judged WHERE unregistered AND NOT dead),
       (SELECT CAST(json_agg(json_build_array(x.workflow_id, x.status, x.was)) AS text)
          FROM recovered x)"""

# This executor's own claimed runs that nothing in it runs any more (a claim whose answer
# was lost, a run abandoned by its thread): recovered like a dead executor's, but only the
# given (workflow_id, attempts) pairs, so a run claimed since is never touched.
_RECOVER_OWN = """WITH params AS (
    SELECT CAST(? AS text) AS me, CAST(? AS integer) AS default_max),
recovered AS (
    UPDATE {schema}.workflow_runs r SET """ + _RECOVERY_SET + """
      FROM params p,
           jsonb_to_recordset(CAST(? AS jsonb)) AS o(workflow_id text, attempts integer)
     WHERE r.workflow_id = o.workflow_id AND r.attempts = o.attempts AND r.executor_id = p.me
       AND r.status IN ('PENDING', 'RUNNING')
    RETURNING r.workflow_id, r.status, p.me AS was, r.attempts, r.recovery_attempts),
journaled AS (""" + _JOURNAL_RECOVERIES % {
    "recovered": "recovered",
    "why": "'no thread of its executor ran it any more (an orphan)'"} + """)
SELECT workflow_id, status FROM recovered"""

# A clean stop, in two statements: this executor retires (it will never renew, and the claim
# refuses a retired executor; the update waits for a claim of ours that is landing, whose
# lock on our row it meets), then a statement with a snapshot taken after that hands back
# every run still claimed, so nothing waits for the lease. A hand-back is no interruption:
# it does not count towards the run's recovery limit.
# The lookout's look (engine.lookout), cheap enough to ask every 50 ms on an idle executor:
# the last enqueue number handed out (an insert anywhere moves it: read from the identity's
# sequence, not the table), whether any run is queued (the first entry of either claim
# index, as the claim's loose scan starts: never a scan of the table), whether a delayed or
# waiting run is due (workflow_runs_due_idx), and whether a live peer whose lease ran out
# still owns runs (the small executors table, then workflow_runs_owner_idx).
_LOOKOUT = """SELECT (SELECT last_value FROM {schema}.workflow_runs_enqueue_seq_seq),
       EXISTS (SELECT 1 FROM {schema}.workflow_runs
                WHERE (status = 'ENQUEUED') IS TRUE AND partition_key IS NULL
                ORDER BY queue_name LIMIT 1)
       OR EXISTS (SELECT 1 FROM {schema}.workflow_runs
                   WHERE (status = 'ENQUEUED') IS TRUE AND partition_key IS NOT NULL
                   ORDER BY queue_name, partition_key LIMIT 1),
       EXISTS (SELECT 1 FROM {schema}.workflow_runs
                WHERE (status IN ('DELAYED', 'WAITING')) IS TRUE
                  AND run_at_ms <= {schema}.now_ms()
                ORDER BY run_at_ms LIMIT 1),
       EXISTS (SELECT 1 FROM {schema}.executors e
                WHERE e.retired_at_ms IS NULL AND e.executor_id <> ?
                  AND e.heartbeat_at_ms + e.lease_ms < {schema}.now_ms()
                  AND EXISTS (SELECT 1 FROM {schema}.workflow_runs r
                               WHERE r.executor_id = e.executor_id
                                 AND r.status IN ('PENDING', 'RUNNING')))"""

_RETIRE = """UPDATE {schema}.executors
   SET retired_at_ms = {schema}.now_ms(), retired_reason = 'stopped', retired_by = ?
 WHERE executor_id = ? AND retired_at_ms IS NULL"""

_HAND_BACK = """WITH params AS (SELECT CAST(? AS text) AS me),
handed AS (
    UPDATE {schema}.workflow_runs r
       SET status = 'ENQUEUED', executor_id = NULL, partition_slot = NULL,
           claimed_at_ms = NULL, updated_at_ms = {schema}.now_ms()
      FROM params p
     WHERE r.executor_id = p.me AND r.status IN ('PENDING', 'RUNNING')
    RETURNING r.workflow_id, r.attempts),
journaled AS (
    INSERT INTO {schema}.journal
        (actor, action, workflow_id, reason, accepted, outcome, details, executor_id)
    SELECT 'gateway:' || p.me, 'HAND_BACK', h.workflow_id,
           'its executor stopped (retire) and gave it back to its queue', true, 'ENQUEUED',
           jsonb_build_object('attempt', h.attempts), p.me
      FROM handed h CROSS JOIN params p
    RETURNING 1)
SELECT count(*) FROM handed"""

_GET = """SELECT e.executor_id, e.executor_name, e.host, e.runtime, e.generation, e.lease_ms,
       e.worker_threads, e.in_flight, e.started_at_ms, e.heartbeat_at_ms, e.contact_since_ms,
       e.retired_at_ms, e.retired_reason, e.retired_by, e.recovered_runs,
       e.retired_at_ms IS NULL AND e.heartbeat_at_ms + e.lease_ms >= {schema}.now_ms(),
       (SELECT count(*) FROM {schema}.workflow_runs r
         WHERE r.executor_id = e.executor_id AND r.status IN ('PENDING', 'RUNNING')),
       """ + STATE_SQL + """, {schema}.now_ms() - e.heartbeat_at_ms, """ + OVERDUE_AFTER_SQL + """,
       e.app_version, e.app_versions::text
  FROM {schema}.executors e"""

_LIST = _GET + """
 WHERE CAST(? AS boolean) OR e.retired_at_ms IS NULL
 ORDER BY e.executor_name, e.started_at_ms DESC"""

# Rows of executors gone for longer than the cutoff that own nothing any more.
_PRUNE = """DELETE FROM {schema}.executors e
 WHERE COALESCE(e.retired_at_ms, e.heartbeat_at_ms + e.lease_ms)
       < {schema}.now_ms() - CAST(? AS bigint)
   AND NOT EXISTS (SELECT 1 FROM {schema}.workflow_runs r
                    WHERE r.executor_id = e.executor_id AND r.status IN ('PENDING', 'RUNNING'))"""


class Identity(namedtuple("Identity", "executorId name host runtime")):
    """Who an executor is, as its row shows it: its id, its name, where it runs and on
    which interpreter."""

    __slots__ = ()


def register(dbName, identity, generation, leaseMs, workerThreads):
    """Insert or renew this executor's row (``identity``: an Identity), retiring earlier
    executors of the same name; (how many were retired, whether our own row had been
    retired or had lapsed)."""
    row = tx.query(dbName, sql.bind(_REGISTER, dbName),
                   [identity.executorId, identity.name, identity.host, identity.runtime,
                    generation, leaseMs, workerThreads])[0]
    return int(row[0]), bool(row[1])


class Beat(object):
    """What one heartbeat found: whether the lease was renewed (False: this executor is
    retired or unknown), whether it had lapsed before, the runs it recovered, and the
    (workflowId, attempts, msSinceClaim) of this executor's claimed runs."""

    def __init__(self, rows):
        summary = [row for row in rows if row[0] is None][0]
        self.renewed = bool(summary[2])
        self.lapsed = bool(summary[3])
        self.recovered = int(summary[4])
        self.exceeded = int(summary[5])
        self.executorsDeclaredDead = int(summary[6])
        self.unregisteredOwners = int(summary[7])
        # JSON [[workflowId, newStatus, fromExecutorId], ...] of the runs it recovered
        self.movedJson = summary[8]
        self.owned = [(row[0], int(row[1]), int(row[2] or 0)) for row in rows
                      if row[0] is not None]


def beat(dbName, executorId, leaseMs, generation, inFlight, defaultMaxRecoveries,
         includeUnregistered=False):
    """Renew the lease, recover dead executors' runs, settings.RECOVERY_BATCH at most (and,
    when asked, those of owners that never registered); a Beat."""
    return Beat(tx.query(dbName, sql.bind(_BEAT, dbName),
                         [executorId, leaseMs, generation, inFlight, settings.RECOVERY_BATCH,
                          defaultMaxRecoveries, bool(includeUnregistered)]))


def recoverOwn(dbName, executorId, ownedJson, defaultMaxRecoveries):
    """Recover the listed runs of this executor (JSON array of {workflow_id, attempts});
    [(workflowId, newStatus)]."""
    rows = tx.query(dbName, sql.bind(_RECOVER_OWN, dbName),
                    [executorId, defaultMaxRecoveries, ownedJson])
    return [(row[0], row[1]) for row in rows]


Lookout = namedtuple("Lookout", "lastEnqueue queued due lapsedPeers")


def lookout(dbName, executorId):
    """What an idle executor looks for, in one statement: a Lookout."""
    row = tx.query(dbName, sql.bind(_LOOKOUT, dbName), [executorId])[0]
    return Lookout(int(row[0] or 0), bool(row[1]), bool(row[2]), bool(row[3]))


def retire(dbName, executorId):
    """Retire this executor, then give its claimed runs back; (retired, runsGivenBack).
    Both statements may be repeated."""
    retired = tx.update(dbName, sql.bind(_RETIRE, dbName), [executorId, executorId]) == 1
    return retired, int(tx.scalar(dbName, sql.bind(_HAND_BACK, dbName), [executorId]))


def get(dbName, executorId):
    """One executor as a dict keyed by EXECUTOR_COLUMNS, or None."""
    rows = tx.query(dbName, sql.bind(_GET + " WHERE e.executor_id = ?", dbName), [executorId])
    return dict(zip(EXECUTOR_COLUMNS, rows[0])) if rows else None


def listExecutors(dbName, includeRetired):
    """Executors (live and lapsed; retired ones too when asked), by name, newest first."""
    rows = tx.query(dbName, sql.bind(_LIST, dbName), [bool(includeRetired)])
    return [dict(zip(EXECUTOR_COLUMNS, row)) for row in rows]


def prune(dbName, olderThanMs):
    """Delete executors gone for longer than ``olderThanMs`` that own no run; how many."""
    return tx.update(dbName, sql.bind(_PRUNE, dbName), [olderThanMs])
