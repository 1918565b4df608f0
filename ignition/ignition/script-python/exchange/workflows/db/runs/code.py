"""Every statement on ``workflow_runs``: enqueue, claim, start, finish, cancel, read.

Each status write names the status (and the owner) it expects, so a late writer (a zombie
thread, a cancelled run) changes nothing once the run has moved on. The owner of a claimed
run is the pair (executor_id, attempts): every claim increments ``attempts``, so it doubles
as a fencing token: the Fence (exchange.workflows.fence) every fenced write here takes.
"""
from __future__ import absolute_import, division, print_function

from collections import namedtuple

from exchange.workflows import codec, settings, statuses
from exchange.workflows.db import sql, tx
from exchange.workflows.db.executors import STATE_SQL
from exchange.workflows.fence import Fence

RUN_COLUMNS = ("workflow_id", "workflow_name", "status", "queue_name", "priority",
               "partition_key", "deduplication_id", "inputs", "output", "error", "executor_id",
               "attempts", "timeout_ms", "deadline_ms", "created_at_ms", "updated_at_ms",
               "claimed_at_ms", "started_at_ms", "completed_at_ms", "run_at_ms",
               "recovery_attempts", "max_recovery_attempts", "pending_command", "waiting_for",
               "executor_state", "executor_heartbeat_age_ms", "parent_workflow_id",
               "app_version", "forked_from", "forked_at_step")
# How a claimed run's owner looks (db.executors.STATE_SQL: alive, overdue, lapsed, retired;
# unregistered without a row) and how old its last heartbeat is, so a run of a crashed
# executor says so at once instead of RUNNING for a whole lease.
_OWNER = """(SELECT %s FROM {schema}.executors e
                WHERE e.executor_id = workflow_runs.executor_id)"""
_OWNER_STATE = ("CASE WHEN status IN ('PENDING', 'RUNNING') THEN COALESCE(" + _OWNER
                % STATE_SQL + ", 'unregistered') END")
_OWNER_BEAT_AGE = ("CASE WHEN status IN ('PENDING', 'RUNNING') THEN " + _OWNER
                   % "{schema}.now_ms() - e.heartbeat_at_ms" + " END")
_SELECT_RUN = """SELECT workflow_id, workflow_name, status, queue_name, priority, partition_key,
       deduplication_id, inputs::text, output::text, error::text, executor_id, attempts,
       timeout_ms, deadline_ms, created_at_ms, updated_at_ms, claimed_at_ms, started_at_ms,
       completed_at_ms, run_at_ms, recovery_attempts, max_recovery_attempts, pending_command,
       waiting_for, """ + _OWNER_STATE + """,
       """ + _OWNER_BEAT_AGE + """, parent_workflow_id, app_version, forked_from, forked_at_step
  FROM {schema}.workflow_runs"""

_INSERT = """INSERT INTO {schema}.workflow_runs
    (workflow_id, workflow_name, status, queue_name, priority, partition_key, deduplication_id,
     inputs, timeout_ms, run_at_ms, max_recovery_attempts, app_version)
VALUES (?, ?, ?, ?, ?, ?, ?, CAST(? AS jsonb), ?, {schema}.now_ms() + CAST(? AS bigint), ?, ?)
ON CONFLICT DO NOTHING"""

# Many runs in one statement (the in-memory enqueue flush): one JSON array parameter whose
# objects carry the columns by name, inserted in array order so FIFO holds. Times move from
# the JVM clock to the database's: a request accepted ``jvm_now - accepted_at_ms`` ago was
# created that long before this statement, and its delay counts from then. A row whose id
# or active deduplication id is taken is not inserted but written to dead_letters with the
# reason, in the same statement (unless it asked for returnExisting: then the holder is
# the answer and nothing is kept). A repeated id within the batch is dead-lettered too.
_INSERT_BATCH = """WITH params AS (
    SELECT CAST(? AS jsonb) AS items, CAST(? AS bigint) AS jvm_now),
items AS (
    SELECT e.item, e.n, {schema}.now_ms() - GREATEST(0, p.jvm_now
               - COALESCE(CAST(e.item->>'accepted_at_ms' AS bigint), p.jvm_now)) AS created,
           COALESCE(CAST(e.item->>'delay_ms' AS bigint), 0) AS delay,
           row_number() OVER (PARTITION BY e.item->>'workflow_id' ORDER BY e.n) AS copy
      FROM params p, jsonb_array_elements(p.items) WITH ORDINALITY AS e(item, n)),
landed AS (
    INSERT INTO {schema}.workflow_runs
        (workflow_id, workflow_name, status, queue_name, priority, partition_key,
         deduplication_id, inputs, timeout_ms, run_at_ms, created_at_ms, max_recovery_attempts,
         app_version)
    SELECT i.item->>'workflow_id', i.item->>'workflow_name',
           CASE WHEN i.delay > 0 THEN 'DELAYED' ELSE 'ENQUEUED' END, i.item->>'queue_name',
           CAST(i.item->>'priority' AS integer), i.item->>'partition_key',
           i.item->>'deduplication_id', i.item->'inputs', CAST(i.item->>'timeout_ms' AS bigint),
           CASE WHEN i.delay > 0 THEN i.created + i.delay END, i.created,
           CAST(i.item->>'max_recovery_attempts' AS integer),
           COALESCE(i.item->>'app_version', '1')  -- (queued by code before versions)
      FROM items i WHERE i.copy = 1
     ORDER BY i.n
    ON CONFLICT DO NOTHING
    RETURNING workflow_id),
missed AS (
    SELECT i.item, i.n,
           CASE WHEN i.copy = 1 AND i.item->>'deduplication_id' IS NOT NULL
                 AND NOT EXISTS (SELECT 1 FROM {schema}.workflow_runs x
                                  WHERE x.workflow_id = i.item->>'workflow_id')
                THEN 'DUPLICATE_DEDUPLICATION_ID' ELSE 'WORKFLOW_EXISTS' END AS reason
      FROM items i
     WHERE i.copy > 1 OR i.item->>'workflow_id' NOT IN (SELECT workflow_id FROM landed)),
dead AS (
    INSERT INTO {schema}.dead_letters
        (workflow_id, workflow_name, queue_name, deduplication_id, reason, message, request,
         accepted_at_ms)
    SELECT m.item->>'workflow_id', m.item->>'workflow_name', m.item->>'queue_name',
           m.item->>'deduplication_id', m.reason,
           CASE m.reason WHEN 'WORKFLOW_EXISTS' THEN 'a workflow with this id already exists'
                ELSE 'the deduplication id is held by an active workflow' END,
           m.item::text, CAST(m.item->>'accepted_at_ms' AS bigint)
      FROM missed m
     WHERE NOT (m.reason = 'DUPLICATE_DEDUPLICATION_ID'
                AND m.item->>'deduplication_policy' = 'returnExisting')
     ORDER BY m.n
    RETURNING 1)
SELECT (SELECT count(*) FROM landed), (SELECT count(*) FROM dead)"""

_DEDUP_HOLDER = """SELECT workflow_id FROM {schema}.workflow_runs
 WHERE queue_name = ? AND deduplication_id = ?
   AND status IN ('DELAYED', 'ENQUEUED', 'PENDING', 'RUNNING', 'WAITING', 'HELD')"""

# Status tests of queued, delayed and waiting runs are written ``(status = ...) IS TRUE``:
# the same test, but one the index on (status, created_at_ms) cannot serve. The statistics
# may predate the work at hand (a burst queued after the last ANALYZE, which autovacuum
# runs on a big table only after 10% of it changed), and a planner that takes the status
# for nearly empty would reach the runs through that index, reading every run of the
# status, instead of by primary key or through the work indexes. Those (the claim's, the
# due runs', the wake channels') carry the very same test in their predicates (schema
# version 5), which is how the planner knows they serve it.

# Delayed runs whose time has come, and waiting runs whose wait timed out (a sleep ended, a
# recv or prompt reached its timeout), join their queue (keeping their place in it). The
# due rows are found by workflow_runs_due_idx and locked first, then updated by key.
_PROMOTE = """WITH due AS MATERIALIZED (
    SELECT workflow_id FROM {schema}.workflow_runs
     WHERE (status IN ('DELAYED', 'WAITING')) IS TRUE AND run_at_ms <= {schema}.now_ms()
     ORDER BY run_at_ms LIMIT ? FOR UPDATE SKIP LOCKED)
UPDATE {schema}.workflow_runs r
   SET status = 'ENQUEUED', waiting_for = NULL, updated_at_ms = {schema}.now_ms()
  FROM due
 WHERE r.workflow_id = due.workflow_id
   AND (r.status IN ('DELAYED', 'WAITING') AND r.run_at_ms <= {schema}.now_ms()) IS TRUE"""

# The claim: one call of the claim_runs function (db.schema: version 12, where its statement
# and the reasons for each of its parts are, and version 13, its fast path), whose plan
# each connection keeps. Its parameters: the registered workflow names (JSON array), how
# many rows at most, this executor, the limited queues this transaction holds (JSON
# array), the application versions this executor runs (JSON array).
_CLAIM = """SELECT * FROM {schema}.claim_runs(CAST(? AS text), CAST(? AS integer),
    CAST(? AS text), CAST(? AS text), CAST(? AS text))"""

# A terminal write and, when it took effect, a claim: the finish_and_claim function (db.schema,
# version 12). Parameters: _FINISH's, then claim_runs' but the executor (the fence's).
_FINISH_AND_CLAIM = """SELECT * FROM {schema}.finish_and_claim(CAST(? AS text),
    CAST(? AS text), CAST(? AS text), CAST(? AS text), CAST(? AS text), CAST(? AS integer),
    CAST(? AS text), CAST(? AS integer), CAST(? AS text), CAST(? AS text))"""

# The same with the checkpoint of the run's last step (schema version 15): the step's
# six parameters (position, name, output, attempts, started and completed ms) first.
_FINISH_STEP_AND_CLAIM = """SELECT * FROM {schema}.finish_step_and_claim(CAST(? AS integer),
    CAST(? AS text), CAST(? AS text), CAST(? AS integer), CAST(? AS bigint), CAST(? AS bigint),
    CAST(? AS text), CAST(? AS text), CAST(? AS text), CAST(? AS text), CAST(? AS text),
    CAST(? AS integer), CAST(? AS text), CAST(? AS integer), CAST(? AS text), CAST(? AS text))"""

_SUSPEND_AND_CLAIM = """SELECT * FROM {schema}.suspend_and_claim(CAST(? AS text),
    CAST(? AS bigint), CAST(? AS bigint), CAST(? AS text), CAST(? AS text),
    CAST(? AS integer), CAST(? AS text), CAST(? AS integer), CAST(? AS text),
    CAST(? AS text))"""

# Limited queues are claimed one claimer at a time: each claim first takes the row locks of
# the limited queues no other claimer holds right now (never waiting for one).
_LOCK_LIMITED = """SELECT queue_name FROM {schema}.queues
 WHERE concurrency IS NOT NULL OR worker_concurrency IS NOT NULL OR rate_limit IS NOT NULL
    OR partition_concurrency > 1
 ORDER BY queue_name
   FOR UPDATE SKIP LOCKED"""

_RELEASE = """UPDATE {schema}.workflow_runs
   SET status = 'ENQUEUED', executor_id = NULL, claimed_at_ms = NULL, partition_slot = NULL,
       started_at_ms = CASE WHEN attempts = 1 THEN NULL ELSE started_at_ms END,
       deadline_ms = CASE WHEN attempts = 1 AND parent_workflow_id IS NULL THEN NULL
                          ELSE deadline_ms END,
       updated_at_ms = {schema}.now_ms()
 WHERE workflow_id = ? AND status IN ('PENDING', 'RUNNING') AND executor_id = ?
   AND attempts = ?"""

_FINISH = """UPDATE {schema}.workflow_runs
   SET status = ?, output = CAST(? AS jsonb), error = CAST(? AS jsonb), pending_command = NULL,
       completed_at_ms = {schema}.now_ms(), updated_at_ms = {schema}.now_ms()
 WHERE workflow_id = ? AND status = 'RUNNING' AND executor_id = ? AND attempts = ?"""

# _FINISH with the checkpoint of the run's last step (engine.checkpoints keeps a SUCCESS one to
# the run's next durable operation): the step's row is inserted only when the terminal
# write took effect, in its statement (the run row locked by it). The step's parameters
# follow _FINISH's.
_FINISH_WITH_STEP = """WITH fin AS (""" + _FINISH + """
RETURNING workflow_id, executor_id, attempts), step AS (
INSERT INTO {schema}.step_outputs
    (workflow_id, step_position, step_name, status, output, error, attempts, executor_id,
     run_attempt, started_at_ms, completed_at_ms)
SELECT workflow_id, ?, ?, 'SUCCESS', CAST(? AS json), NULL, ?, executor_id, attempts,
       CAST(? AS bigint), CAST(? AS bigint)
  FROM fin
ON CONFLICT (workflow_id, step_position) DO NOTHING)
SELECT count(*) FROM fin"""

_FINISHED_BY = """SELECT count(*) FROM {schema}.workflow_runs
 WHERE workflow_id = ? AND status = ? AND executor_id = ? AND attempts = ?"""

_TIME_OUT = """UPDATE {schema}.workflow_runs
   SET status = 'CANCELLED', error = CAST(? AS jsonb), pending_command = NULL,
       completed_at_ms = {schema}.now_ms(), updated_at_ms = {schema}.now_ms()
 WHERE workflow_id = ? AND status = 'RUNNING' AND executor_id = ? AND attempts = ?"""

# What retention would delete first (the partial completed index answers it at once).
_OLDEST_ENDED = """SELECT min(completed_at_ms), {schema}.now_ms() - min(completed_at_ms)
  FROM {schema}.workflow_runs
 WHERE status IN ('SUCCESS', 'ERROR', 'CANCELLED', 'STOPPED', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED')"""

_OWNER = """SELECT status, executor_id, attempts, pending_command FROM {schema}.workflow_runs
 WHERE workflow_id = ?"""

# A cancelled (or timed-out) run's thread lets go: until then a resume waits, so a step the
# thread is still inside never runs twice at once.
_LET_GO = """UPDATE {schema}.workflow_runs SET executor_id = NULL, updated_at_ms = {schema}.now_ms()
 WHERE workflow_id = ? AND status IN ('CANCELLED', 'STOPPED') AND executor_id = ? AND attempts = ?"""

_LIST = _SELECT_RUN + """
 WHERE (CAST(? AS text) IS NULL OR status = ANY (string_to_array(?, ',')))
   AND (CAST(? AS text) IS NULL OR workflow_name = ?)
   AND (CAST(? AS text) IS NULL OR queue_name = ?)
   AND (CAST(? AS bigint) IS NULL OR created_at_ms >= CAST(? AS bigint))
   AND (CAST(? AS bigint) IS NULL OR created_at_ms < CAST(? AS bigint))
   AND (CAST(? AS text) IS NULL OR parent_workflow_id = ?)
 ORDER BY created_at_ms DESC, enqueue_seq DESC
 LIMIT ? OFFSET ?"""


def insert(dbName, run, t=None):
    """Insert one run, ENQUEUED (or DELAYED by its ``delayMs``); False when its id or active
    dedup id is already taken (in transaction ``t``, a template start's, when given). ``run`` holds the new row's fields by name (a validated
    enqueue request): workflowId, workflowName, queueName, priority, partitionKey,
    deduplicationId, inputsJson, timeoutMs, delayMs, maxRecoveryAttempts, appVersion."""
    delayed = run.delayMs > 0  # (a plain VALUES row: the cheapest INSERT to plan)
    return tx.update(dbName, sql.bind(_INSERT, dbName),
                     [run.workflowId, run.workflowName,
                      statuses.DELAYED if delayed else statuses.ENQUEUED, run.queueName,
                      run.priority, run.partitionKey, run.deduplicationId, run.inputsJson,
                      run.timeoutMs, run.delayMs if delayed else None,
                      run.maxRecoveryAttempts, run.appVersion], t, skipAudit=True) == 1


def insertBatch(dbName, itemsJson, jvmNowMs):
    """Insert runs from a JSON array of row objects (the in-memory request format);
    (landed, deadLettered) counts. Items neither landed nor dead-lettered were answered by
    their deduplication holder (returnExisting)."""
    row = tx.query(dbName, sql.bind(_INSERT_BATCH, dbName), [itemsJson, jvmNowMs])[0]
    return int(row[0]), int(row[1])


def dedupHolder(dbName, queueName, deduplicationId):
    """The id of the active run holding a deduplication id, or None."""
    return tx.scalar(dbName, sql.bind(_DEDUP_HOLDER, dbName), [queueName, deduplicationId])


def promoteDue(dbName, limit=1000):
    """Move delayed runs whose time has come to ENQUEUED; how many moved."""
    return tx.update(dbName, sql.bind(_PROMOTE, dbName), [limit], skipAudit=True)


class Claim(object):
    """One run a claim took: its fence (the new owner) and what the runner needs to start
    it. ``deadlineMs`` and ``databaseNowMs`` are on the database's clock; ``hasSteps``: a
    step log exists (a re-run); ``pendingCommand``: a HOLD or STOP waiting for the run."""

    __slots__ = ("fence", "workflowName", "inputsJson", "deadlineMs", "databaseNowMs",
                 "hasSteps", "pendingCommand")

    def __init__(self, fence, row):
        self.fence = fence
        self.workflowName, self.inputsJson, self.deadlineMs, self.databaseNowMs = row[4:8]
        self.hasSteps = bool(row[8])
        self.pendingCommand = row[9]


def claim(dbName, executorId, limit, workflowNamesJson, heldQueuesJson="[]", t=None):
    """Claim up to ``limit`` runnable rows of the named workflows, of the application
    versions this executor runs (settings.runnableVersions).

    Returns (claimed, limitedWithWork, queuesWithWork): claimed is a list of Claim; the
    counts are of the queues that had runnable rows, and of those the limited ones (served
    only when ``heldQueuesJson`` names them).
    """
    rows = tx.query(dbName, sql.bind(_CLAIM, dbName),
                    [workflowNamesJson, limit, executorId, heldQueuesJson,
                     codec.encode(settings.runnableVersions())], t)
    return _claimed(dbName, executorId, rows)


def finishAndClaim(fence, status, outputJson, errorJson, limit, workflowNamesJson,
                   lastStep=None):
    """The terminal write of ``fence``'s run (as ``finish``, with ``lastStep``'s checkpoint
    when given) and, in the same statement when it took effect, a claim of up to ``limit``
    runs of the named workflows for the fence's executor (no limited queue: those are
    claimed holding their locks).

    Returns (finished, claimed, limitedWithWork, queuesWithWork), as ``claim`` for the last
    three; nothing is claimed when the write did not take effect."""
    head = [status, outputJson, errorJson]
    if lastStep is None:
        return _writtenAndClaimed(fence, _FINISH_AND_CLAIM, head, limit, workflowNamesJson)
    return _writtenAndClaimed(fence, _FINISH_STEP_AND_CLAIM, _lastStepArgs(lastStep) + head,
                              limit, workflowNamesJson)


def _lastStepArgs(lastStep):
    """The parameters of a run's last step's SUCCESS checkpoint (``lastStep``: a
    (db.steps.Step, outputJson) pair) as the statements ending a run with it take them."""
    step, outputJson = lastStep
    return [step.position, step.name, outputJson, step.attempts, step.startedMs,
            step.completedMs]


def suspendAndClaim(fence, channel, wakeAtMs, shortWaitMs, limit, workflowNamesJson):
    """A sleep's suspend of ``fence``'s run (as db.waits.suspendAlone) and, in the same
    statement when it took, a claim as finishAndClaim's; the same answer."""
    return _writtenAndClaimed(fence, _SUSPEND_AND_CLAIM, [channel, wakeAtMs, shortWaitMs],
                              limit, workflowNamesJson)


def _writtenAndClaimed(fence, statement, head, limit, workflowNamesJson):
    """Run a hand-over function (``head``, the fence, then the claim's arguments): a write
    of the fence's run and, when it took, a claim; no row means the write did not take."""
    rows = tx.query(fence.dbName, sql.bind(statement, fence.dbName),
                    head + fence.params() + [workflowNamesJson, limit, "[]",
                                             codec.encode(settings.runnableVersions())])
    if not rows:
        return False, [], 0, 0
    claimed, limited, queues = _claimed(fence.dbName, fence.executorId, rows)
    return True, claimed, limited, queues


def _claimed(dbName, executorId, rows):
    """(claims, limited queues with work, queues with work) of a claim's rows."""
    claimed = [Claim(Fence(dbName, row[0], executorId, row[1]), row)
               for row in rows if row[0] is not None]
    summary = [row for row in rows if row[0] is None][0]
    return claimed, int(summary[2]), int(summary[3])


def lockLimitedQueues(dbName, t):
    """In transaction ``t``: lock the limited queues no other claimer holds; their names."""
    return [row[0] for row in tx.query(dbName, sql.bind(_LOCK_LIMITED, dbName), [], t)]


def release(fence):
    """Give a claimed run that no worker took back to the queue; True when it was ours."""
    return tx.update(fence.dbName, sql.bind(_RELEASE, fence.dbName), fence.params(),
                     skipAudit=True) == 1


def finish(fence, status, outputJson, errorJson, lastStep=None):
    """The terminal write, guarded by RUNNING and the owner; True when it took effect.
    ``lastStep``, a (db.steps.Step, outputJson) pair: the SUCCESS checkpoint of the run's
    last step, written with it in one statement (only when it took effect)."""
    args = [status, outputJson, errorJson] + fence.params()
    if lastStep is None:
        return tx.update(fence.dbName, sql.bind(_FINISH, fence.dbName), args,
                         skipAudit=True) == 1
    return int(tx.scalar(fence.dbName, sql.bind(_FINISH_WITH_STEP, fence.dbName),
                         args + _lastStepArgs(lastStep))) == 1


def finishedBy(fence, status):
    """Whether the run already ended in ``status`` under this owner (a terminal write that
    landed though its answer was lost)."""
    return int(tx.scalar(fence.dbName, sql.bind(_FINISHED_BY, fence.dbName),
                         [fence.workflowId, status, fence.executorId, fence.attempt])) == 1


def timeOut(fence, errorJson):
    """End our RUNNING run as CANCELLED because its deadline passed; True when it took."""
    return tx.update(fence.dbName, sql.bind(_TIME_OUT, fence.dbName),
                     [errorJson] + fence.params(), skipAudit=True) == 1


def letGo(fence):
    """The thread of a cancelled or stopped run is done with it (resume may proceed)."""
    return tx.update(fence.dbName, sql.bind(_LET_GO, fence.dbName), fence.params(),
                     skipAudit=True) == 1


class Ownership(namedtuple("Ownership", "status executorId attempt pendingCommand")):
    """A run's status and owner as one read saw them: the status, the owner (executor and
    attempt; a Fence's ``isOwner`` compares them) and the command pending for its next
    boundary."""

    __slots__ = ()


def owner(dbName, workflowId, t=None):
    """The Ownership of a run, or None."""
    rows = tx.query(dbName, sql.bind(_OWNER, dbName), [workflowId], t)
    return Ownership(*rows[0]) if rows else None


def get(dbName, workflowId):
    """One run as a dict keyed by RUN_COLUMNS, or None."""
    rows = tx.query(dbName, sql.bind(_SELECT_RUN + " WHERE workflow_id = ?", dbName), [workflowId])
    return dict(zip(RUN_COLUMNS, rows[0])) if rows else None


def listRuns(dbName, statuses=None, workflowName=None, queueName=None, createdFromMs=None,
             createdToMs=None, limit=100, offset=0, parentWorkflowId=None):
    """Runs matching the filters (None = any), newest first."""
    rows = tx.query(dbName, sql.bind(_LIST, dbName),
                    [statuses, statuses, workflowName, workflowName, queueName, queueName,
                     createdFromMs, createdFromMs, createdToMs, createdToMs, parentWorkflowId,
                     parentWorkflowId, limit, offset])
    return [dict(zip(RUN_COLUMNS, row)) for row in rows]


def oldestEnded(dbName):
    """(when the oldest ended run ended, how long ago) by the database clock; (None, None)
    when no run has ended."""
    return tuple(tx.query(dbName, sql.bind(_OLDEST_ENDED, dbName))[0])
