"""Every statement on ``workflow_runs``: enqueue, claim, start, finish, cancel, read.

Each status write names the status (and the owner) it expects, so a late writer (a zombie
thread, a cancelled run) changes nothing once the run has moved on. The owner of a claimed
run is the pair (executor_id, attempts): every claim increments ``attempts``, so it doubles
as a fencing token.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db import sql, tx

RUN_COLUMNS = ("workflow_id", "workflow_name", "status", "queue_name", "priority",
               "partition_key", "deduplication_id", "inputs", "output", "error", "executor_id",
               "attempts", "timeout_ms", "deadline_ms", "created_at_ms", "updated_at_ms",
               "claimed_at_ms", "started_at_ms", "completed_at_ms")
_SELECT_RUN = """SELECT workflow_id, workflow_name, status, queue_name, priority, partition_key,
       deduplication_id, inputs::text, output::text, error::text, executor_id, attempts,
       timeout_ms, deadline_ms, created_at_ms, updated_at_ms, claimed_at_ms, started_at_ms,
       completed_at_ms
  FROM {schema}.workflow_runs"""

_INSERT = """INSERT INTO {schema}.workflow_runs
    (workflow_id, workflow_name, status, queue_name, priority, partition_key, deduplication_id,
     inputs, timeout_ms)
VALUES (?, ?, 'ENQUEUED', ?, ?, ?, ?, CAST(? AS jsonb), ?)
ON CONFLICT DO NOTHING
RETURNING workflow_id"""

# Many runs in one statement (the in-memory enqueue flush): one JSON array parameter whose
# objects carry the columns by name, inserted in array order so FIFO holds. A row whose id or
# active deduplication id is taken is skipped (ON CONFLICT DO NOTHING); the ids returned are
# the rows that landed.
_INSERT_BATCH = """INSERT INTO {schema}.workflow_runs
    (workflow_id, workflow_name, status, queue_name, priority, partition_key, deduplication_id,
     inputs, timeout_ms)
SELECT e.item->>'workflow_id', e.item->>'workflow_name', 'ENQUEUED', e.item->>'queue_name',
       CAST(e.item->>'priority' AS integer), e.item->>'partition_key',
       e.item->>'deduplication_id', e.item->'inputs', CAST(e.item->>'timeout_ms' AS bigint)
  FROM jsonb_array_elements(CAST(? AS jsonb)) WITH ORDINALITY AS e(item, n)
 ORDER BY e.n
ON CONFLICT DO NOTHING
RETURNING workflow_id"""

_DEDUP_HOLDER = """SELECT workflow_id FROM {schema}.workflow_runs
 WHERE queue_name = ? AND deduplication_id = ? AND status IN ('ENQUEUED', 'PENDING', 'RUNNING')"""

# The CTE fences the LIMIT: rows are locked (skipping those another dispatcher holds) and
# only then updated, so one claim never takes more than it asked for. Only workflows this
# executor can run are taken (names as a JSON array), and a partitioned row only while no
# run of its partition is claimed; of several rows of one partition in a batch only the
# first is claimed. The unique index workflow_runs_partition_active_idx is the last word:
# a concurrent claim of the same partition fails (23505) and is simply tried next tick.
_CLAIM = """WITH picked AS (
    SELECT r.workflow_id, r.queue_name, r.partition_key, r.priority, r.enqueue_seq
      FROM {schema}.workflow_runs r
     WHERE r.status = 'ENQUEUED'
       AND r.workflow_name IN (SELECT jsonb_array_elements_text(CAST(? AS jsonb)))
       AND (r.partition_key IS NULL OR NOT EXISTS (
            SELECT 1 FROM {schema}.workflow_runs a
             WHERE a.queue_name = r.queue_name AND a.partition_key = r.partition_key
               AND a.status IN ('PENDING', 'RUNNING')))
     ORDER BY r.priority, r.enqueue_seq
     LIMIT ?
     FOR UPDATE SKIP LOCKED),
firsts AS (
    SELECT DISTINCT ON (queue_name, COALESCE(partition_key, workflow_id)) workflow_id
      FROM picked
     ORDER BY queue_name, COALESCE(partition_key, workflow_id), priority, enqueue_seq)
UPDATE {schema}.workflow_runs r
   SET status = 'PENDING', executor_id = ?, attempts = r.attempts + 1,
       claimed_at_ms = {schema}.now_ms(), updated_at_ms = {schema}.now_ms()
  FROM firsts
 WHERE r.workflow_id = firsts.workflow_id AND r.status = 'ENQUEUED'
RETURNING r.workflow_id, r.attempts"""

_RELEASE = """UPDATE {schema}.workflow_runs
   SET status = 'ENQUEUED', executor_id = NULL, claimed_at_ms = NULL,
       updated_at_ms = {schema}.now_ms()
 WHERE workflow_id = ? AND status = 'PENDING' AND executor_id = ? AND attempts = ?"""

# One round trip: move the run to RUNNING and read its inputs and its step log. The inputs
# ride on the first row only, so a long log does not repeat a large input document. RUNNING
# under the same (executor, attempt) is accepted too: only this claim's own earlier try can
# have written it, so a retry after a lost acknowledgement is harmless.
_START = """WITH started AS (
    UPDATE {schema}.workflow_runs
       SET status = 'RUNNING', updated_at_ms = {schema}.now_ms(),
           started_at_ms = COALESCE(started_at_ms, {schema}.now_ms()),
           deadline_ms = COALESCE(deadline_ms, {schema}.now_ms() + timeout_ms)
     WHERE workflow_id = ? AND status IN ('PENDING', 'RUNNING') AND executor_id = ?
       AND attempts = ?
    RETURNING workflow_id, workflow_name, inputs, deadline_ms)
SELECT s.workflow_name,
       CASE WHEN row_number() OVER (ORDER BY o.step_position) = 1 THEN s.inputs::text END,
       s.deadline_ms, {schema}.now_ms(),
       o.step_position, o.step_name, o.status, o.output::text, o.error::text
  FROM started s
  LEFT JOIN {schema}.step_outputs o ON o.workflow_id = s.workflow_id
 ORDER BY o.step_position"""

_FINISH = """UPDATE {schema}.workflow_runs
   SET status = ?, output = CAST(? AS jsonb), error = CAST(? AS jsonb),
       completed_at_ms = {schema}.now_ms(), updated_at_ms = {schema}.now_ms()
 WHERE workflow_id = ? AND status = 'RUNNING' AND executor_id = ? AND attempts = ?"""

_TIME_OUT = """UPDATE {schema}.workflow_runs
   SET status = 'CANCELLED', error = CAST(? AS jsonb),
       completed_at_ms = {schema}.now_ms(), updated_at_ms = {schema}.now_ms()
 WHERE workflow_id = ? AND status = 'RUNNING' AND executor_id = ? AND attempts = ?"""

_CANCEL = """UPDATE {schema}.workflow_runs
   SET status = 'CANCELLED', error = CAST(? AS jsonb),
       completed_at_ms = {schema}.now_ms(), updated_at_ms = {schema}.now_ms()
 WHERE workflow_id = ? AND status IN ('ENQUEUED', 'PENDING', 'RUNNING')
RETURNING workflow_id"""

_DELETE_COMPLETED = """WITH picked AS (
    SELECT workflow_id FROM {schema}.workflow_runs
     WHERE status IN ('SUCCESS', 'ERROR', 'CANCELLED')
       AND completed_at_ms < {schema}.now_ms() - CAST(? AS bigint)
     ORDER BY completed_at_ms
     LIMIT ?
       FOR UPDATE SKIP LOCKED)
DELETE FROM {schema}.workflow_runs r USING picked WHERE r.workflow_id = picked.workflow_id"""

_OWNER = """SELECT status, executor_id, attempts FROM {schema}.workflow_runs
 WHERE workflow_id = ?"""

_LIST = _SELECT_RUN + """
 WHERE (CAST(? AS text) IS NULL OR status = ANY (string_to_array(?, ',')))
   AND (CAST(? AS text) IS NULL OR workflow_name = ?)
   AND (CAST(? AS text) IS NULL OR queue_name = ?)
   AND (CAST(? AS bigint) IS NULL OR created_at_ms >= CAST(? AS bigint))
   AND (CAST(? AS bigint) IS NULL OR created_at_ms < CAST(? AS bigint))
 ORDER BY created_at_ms DESC, enqueue_seq DESC
 LIMIT ? OFFSET ?"""


def insert(dbName, workflowId, workflowName, queueName, priority, partitionKey,
           deduplicationId, inputsJson, timeoutMs):
    """Insert one ENQUEUED run; False when its id or active dedup id is already taken."""
    rows = tx.query(dbName, sql.bind(_INSERT, dbName),
                    [workflowId, workflowName, queueName, priority, partitionKey,
                     deduplicationId, inputsJson, timeoutMs])
    return bool(rows)


def insertBatch(dbName, itemsJson):
    """Insert ENQUEUED runs from a JSON array of row objects; the ids that landed."""
    return [row[0] for row in tx.query(dbName, sql.bind(_INSERT_BATCH, dbName), [itemsJson])]


def dedupHolder(dbName, queueName, deduplicationId):
    """The id of the active run holding a deduplication id, or None."""
    return tx.scalar(dbName, sql.bind(_DEDUP_HOLDER, dbName), [queueName, deduplicationId])


def claim(dbName, executorId, limit, workflowNamesJson):
    """Claim up to ``limit`` runnable rows of the named workflows: [(workflowId, attempt)]."""
    rows = tx.query(dbName, sql.bind(_CLAIM, dbName), [workflowNamesJson, limit, executorId])
    return [(row[0], row[1]) for row in rows]


def release(dbName, workflowId, executorId, attempt):
    """Give a claimed but never started run back to the queue; True when it was ours."""
    return tx.update(dbName, sql.bind(_RELEASE, dbName), [workflowId, executorId, attempt]) == 1


def start(dbName, workflowId, executorId, attempt):
    """PENDING -> RUNNING for the claim's owner, or None when the claim is no longer ours.

    Returns (name, inputsJson, deadlineMs, databaseNowMs, stepRows); ``stepRows`` are
    (position, name, status, outputJson, errorJson) in position order.
    """
    rows = tx.query(dbName, sql.bind(_START, dbName), [workflowId, executorId, attempt])
    if not rows:
        return None
    steps = [tuple(row[4:9]) for row in rows if row[4] is not None]
    return rows[0][0], rows[0][1], rows[0][2], rows[0][3], steps


def finish(dbName, workflowId, executorId, attempt, status, outputJson, errorJson):
    """The terminal write, guarded by RUNNING and the owner; True when it took effect."""
    return tx.update(dbName, sql.bind(_FINISH, dbName),
                     [status, outputJson, errorJson, workflowId, executorId, attempt]) == 1


def timeOut(dbName, workflowId, executorId, attempt, errorJson):
    """End our RUNNING run as CANCELLED because its deadline passed; True when it took."""
    return tx.update(dbName, sql.bind(_TIME_OUT, dbName),
                     [errorJson, workflowId, executorId, attempt]) == 1


def cancel(dbName, workflowId, errorJson):
    """Mark an active run CANCELLED; True when it was active."""
    return bool(tx.query(dbName, sql.bind(_CANCEL, dbName), [errorJson, workflowId]))


def owner(dbName, workflowId):
    """(status, executorId, attempts) of a run, or None."""
    rows = tx.query(dbName, sql.bind(_OWNER, dbName), [workflowId])
    return tuple(rows[0]) if rows else None


def get(dbName, workflowId):
    """One run as a dict keyed by RUN_COLUMNS, or None."""
    rows = tx.query(dbName, sql.bind(_SELECT_RUN + " WHERE workflow_id = ?", dbName), [workflowId])
    return dict(zip(RUN_COLUMNS, rows[0])) if rows else None


def listRuns(dbName, statuses, workflowName, queueName, createdFromMs, createdToMs, limit, offset):
    """Runs matching the filters (None = any), newest first."""
    rows = tx.query(dbName, sql.bind(_LIST, dbName),
                    [statuses, statuses, workflowName, workflowName, queueName, queueName,
                     createdFromMs, createdFromMs, createdToMs, createdToMs, limit, offset])
    return [dict(zip(RUN_COLUMNS, row)) for row in rows]


def deleteCompleted(dbName, olderThanMs, limit):
    """Delete up to ``limit`` runs that ended more than ``olderThanMs`` ago by the database
    clock (their steps cascade)."""
    return tx.update(dbName, sql.bind(_DELETE_COMPLETED, dbName), [olderThanMs, limit])
