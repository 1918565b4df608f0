"""The system database's schema: ordered migrations, installed once, safely in parallel.

Each migration is a list of statements (never split at run time, so function bodies are
safe) applied in one transaction together with its row in ``schema_migrations``. Installers
serialise on a transaction-scoped advisory lock, so any number of executors may start at
once against an empty database. New capabilities add migrations at the end; an applied
migration is never edited.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows import settings
from exchange.workflows.db import sql, tx

# Runs keep JSON as jsonb (queryable from the console); step outputs as json, which keeps
# the text exactly as written, so a replay decodes the very document the live run decoded.
_ACTIVE = "'ENQUEUED', 'PENDING', 'RUNNING'"
_TERMINAL = "'SUCCESS', 'ERROR', 'CANCELLED'"

# What both claim functions return (a claim's rows), and how they run: their plan kept per
# connection, never JIT-compiled, and never a sequential scan (a plan built while the table
# was small would go on reading it whole once it grew, until the next ANALYZE: 40 ms a
# claim over 300,000 rows, against 1 ms).
_CLAIMED_ROWS_12 = """
    RETURNS TABLE (o_workflow_id text, o_attempts integer, o_limited bigint, o_queues bigint,
                   o_workflow_name text, o_inputs text, o_deadline_ms bigint,
                   o_now_ms bigint, o_has_steps boolean, o_pending_command text)
    LANGUAGE plpgsql VOLATILE
    SET plan_cache_mode = force_generic_plan SET jit = off SET enable_seqscan = off
    AS $$
#variable_conflict use_column
BEGIN
"""

# The claim (version 12): one statement that serves every queue with runnable work, fairly.
#  - queues and partitions with work are found by skipping through the claim indexes
#    (a loose index scan), so terminal rows and long backlogs cost nothing;
#  - each queue gets a budget: the rows asked for, cut by its global concurrency (claimed
#    runs of the queue), its worker concurrency (this executor's), and its rate limit
#    (claims within the window, from queues.recent_starts). A queue with any of these
#    limits is served only when this transaction holds its queues row lock (``held``,
#    taken just before by lockLimitedQueues), so two claimers never spend one budget;
#  - candidates are a queue's unpartitioned rows in priority, FIFO order, and the heads of
#    each partition, as many as the partition has free slots (a head this executor cannot
#    run blocks its partition: FIFO within a partition);
#  - queues are interleaved by turn (every queue's first candidate, then every second...),
#    so a busy queue never starves another; then the candidates are locked in turn (rows
#    another claimer holds are skipped) until as many as asked for are, and updated.
#    An unlimited queue offers 16 candidates more than it may give (``spare``): claimers
#    running at once (the finishing workers of one executor hand over at once, other
#    executors claim) lock the same first rows, and a claimer that found its few
#    candidates all locked by others took nothing though work was queued. A limited queue
#    has none spare: it is claimed by the one claimer holding its lock, and its budget
#    holds. The LIMITs are fenced in CTEs so one claim never takes more than it asked for;
#  - only an executor whose lease holds claims: one declared dead (paused past its lease, say)
#    claims nothing until its heartbeat has rejoined, and its row is locked for the claim,
#    so a recoverer cannot retire it while the claim lands;
#  - no queue in maintenance (db.maintenance: every queue, or this one) is served;
#  - a claimed run is RUNNING at once (its slot is reserved: it starts on a worker now), and
#    the claim returns what the runner needs, so a run costs no separate start write: its
#    inputs, its deadline and whether a step log exists (a re-run reads it).
# The unique index workflow_runs_partition_slot_idx is the last word on partitions: a claim
# racing another for one partition slot fails (23505) and is simply tried again.
# The last row reports (NULL, NULL, limited queues with work, queues with work).
# Its plan is estimated cheap whatever the history and the backlog (a plan estimated above
# the server's jit_above_cost is JIT-compiled at every execution: tens of ms for 1 ms of
# work; tests/test_hot_path_plans.py holds every hot-path statement to that):
#  - ``params`` is inlined (NOT MATERIALIZED), so the planner sees each parameter as the
#    constant it is, where a materialized CTE would hide it;
#  - a LIMIT of a per-row count (a queue's budget, a partition's free slots) is estimated at
#    a tenth of the rows below it, a tenth of the backlog; a LIMIT of the constant ``wanted``
#    above each one (never smaller than it) bounds the estimate to what is taken;
#  - each partition's free slots are computed once (MATERIALIZED: inlined, the array's
#    subquery was planned and run twice), at most ``wanted`` of them;
#  - maintenance is looked up by its key, for every queue ('') and for the queue;
#  - the registered names are an array the candidates are filtered by, not a set they are
#    joined with (a join the planner may build the wrong way round: a hash of the backlog);
#    so are the application versions this executor runs (settings.runnableVersions): a run
#    of another version is left to an executor that runs it (docs/versions.md). The column
#    is never NULL (schema version 8), so its statistics know its few values and the
#    estimate stays that of the names' filter, whatever the backlog;
#  - queued runs are tested ``(status = 'ENQUEUED') IS TRUE`` (see db.runs, above _PROMOTE): the
#    loose index scans and the candidates go through the claim indexes, whose predicates
#    carry that test, and the candidates are locked and updated by primary key.
# It runs inside claim_runs (below), whose plan PostgreSQL keeps per connection: planned
# each time, the statement cost 2-3 ms of server CPU to plan for 0.5 ms to run, and a
# prepared statement does not help (its generic plan is estimated dearer than a custom one,
# so the server keeps planning). The function's generic plan is built on a connection's
# first claim and reused (plan_cache_mode = force_generic_plan), never JIT-compiled (jit =
# off); tests/test_hot_path_plans.py holds that generic plan to the same bounds.
_CLAIM_RUNS_12 = """CREATE OR REPLACE FUNCTION {schema}.claim_runs(
        a_names text, a_wanted integer, a_me text, a_held text, a_versions text)""" + \
    _CLAIMED_ROWS_12 + """RETURN QUERY
WITH RECURSIVE
params AS NOT MATERIALIZED (  -- inlined: each use is the constant itself, for the planner
    SELECT ARRAY(SELECT jsonb_array_elements_text(CAST(a_names AS jsonb))) AS names,
           a_wanted AS wanted, a_me AS me, CAST(a_held AS jsonb) AS held,
           ARRAY(SELECT jsonb_array_elements_text(CAST(a_versions AS jsonb))) AS versions),
alive AS (  -- this executor's lease holds (locked, so no recoverer retires it meanwhile)
    SELECT 1 FROM {schema}.executors e, params p
     WHERE e.executor_id = p.me AND e.retired_at_ms IS NULL
       AND e.heartbeat_at_ms + e.lease_ms >= {schema}.now_ms()
       FOR SHARE OF e),
plain_queues(queue_name) AS (
    (SELECT queue_name FROM {schema}.workflow_runs
      WHERE (status = 'ENQUEUED') IS TRUE AND partition_key IS NULL
      ORDER BY queue_name LIMIT 1)
  UNION ALL
    SELECT n.queue_name FROM plain_queues q CROSS JOIN LATERAL (
        SELECT r.queue_name FROM {schema}.workflow_runs r
         WHERE (r.status = 'ENQUEUED') IS TRUE AND r.partition_key IS NULL
           AND r.queue_name > q.queue_name
         ORDER BY r.queue_name LIMIT 1) n),
partitions(queue_name, partition_key) AS (
    (SELECT queue_name, partition_key FROM {schema}.workflow_runs
      WHERE (status = 'ENQUEUED') IS TRUE AND partition_key IS NOT NULL
      ORDER BY queue_name, partition_key LIMIT 1)
  UNION ALL
    SELECT n.queue_name, n.partition_key FROM partitions p CROSS JOIN LATERAL (
        SELECT r.queue_name, r.partition_key FROM {schema}.workflow_runs r
         WHERE (r.status = 'ENQUEUED') IS TRUE AND r.partition_key IS NOT NULL
           AND (r.queue_name, r.partition_key) > (p.queue_name, p.partition_key)
         ORDER BY r.queue_name, r.partition_key LIMIT 1) n),
limits AS (
    SELECT w.queue_name, q.concurrency, q.worker_concurrency, q.rate_limit, q.rate_period_ms,
           q.recent_starts, COALESCE(q.partition_concurrency, 1) AS partition_concurrency,
           COALESCE(q.concurrency IS NOT NULL OR q.worker_concurrency IS NOT NULL
                    OR q.rate_limit IS NOT NULL OR q.partition_concurrency > 1, false) AS limited
      FROM (SELECT queue_name FROM plain_queues
            UNION SELECT queue_name FROM partitions) w
      LEFT JOIN {schema}.queues q ON q.queue_name = w.queue_name),
budgets AS (
    SELECT l.queue_name, l.partition_concurrency, GREATEST(0, LEAST(p.wanted,
             CASE WHEN l.concurrency IS NULL THEN p.wanted ELSE l.concurrency - (
                  SELECT count(*) FROM {schema}.workflow_runs a
                   WHERE a.queue_name = l.queue_name AND a.status IN ('PENDING', 'RUNNING'))
             END,
             CASE WHEN l.worker_concurrency IS NULL THEN p.wanted ELSE l.worker_concurrency - (
                  SELECT count(*) FROM {schema}.workflow_runs a
                   WHERE a.queue_name = l.queue_name AND a.executor_id = p.me
                     AND a.status IN ('PENDING', 'RUNNING'))
             END,
             CASE WHEN l.rate_limit IS NULL THEN p.wanted ELSE l.rate_limit - (
                  SELECT count(*) FROM unnest(l.recent_starts) AS s(t)
                   WHERE s.t > {schema}.now_ms() - l.rate_period_ms)
             END)) AS budget,
           CASE WHEN l.limited THEN 0 ELSE 16 END AS spare
      FROM limits l CROSS JOIN params p
     WHERE (NOT l.limited OR l.queue_name IN (SELECT jsonb_array_elements_text(p.held)))
       AND NOT EXISTS (SELECT 1 FROM {schema}.maintenance m WHERE m.scope = '')
       AND NOT EXISTS (SELECT 1 FROM {schema}.maintenance m WHERE m.scope = l.queue_name)),
plain AS (
    SELECT c.workflow_id, b.queue_name, c.priority, c.enqueue_seq, CAST(NULL AS integer) AS slot
      FROM budgets b CROSS JOIN params p CROSS JOIN LATERAL (
           SELECT * FROM (
               SELECT r.workflow_id, r.priority, r.enqueue_seq FROM {schema}.workflow_runs r
                WHERE (r.status = 'ENQUEUED') IS TRUE AND r.partition_key IS NULL
                  AND r.queue_name = b.queue_name
                  AND r.workflow_name = ANY (p.names)
                  AND r.app_version = ANY (p.versions)
                ORDER BY r.priority, r.enqueue_seq LIMIT b.budget + b.spare) x
            LIMIT p.wanted + 16) c
     WHERE b.budget > 0),
free AS MATERIALIZED (  -- each partition's free slots, lowest first
    SELECT pt.queue_name, pt.partition_key,
           ARRAY(SELECT s FROM generate_series(0, b.partition_concurrency - 1) AS s
                  WHERE NOT EXISTS (
                        SELECT 1 FROM {schema}.workflow_runs a
                         WHERE a.queue_name = pt.queue_name
                           AND a.partition_key = pt.partition_key
                           AND a.partition_slot = s
                           AND a.status IN ('PENDING', 'RUNNING'))
                  ORDER BY s LIMIT p.wanted) AS free
      FROM partitions pt
      JOIN budgets b ON b.queue_name = pt.queue_name AND b.budget > 0
     CROSS JOIN params p),
heads AS (
    SELECT h.workflow_id, f.queue_name, h.priority, h.enqueue_seq,
           CAST(f.free[h.n] AS integer) AS slot
      FROM free f CROSS JOIN params p CROSS JOIN LATERAL (
           SELECT * FROM (
               SELECT r.workflow_id, r.workflow_name, r.app_version, r.priority, r.enqueue_seq,
                      row_number() OVER (ORDER BY r.priority, r.enqueue_seq) AS n
                 FROM {schema}.workflow_runs r
                WHERE (r.status = 'ENQUEUED') IS TRUE AND r.queue_name = f.queue_name
                  AND r.partition_key = f.partition_key
                ORDER BY r.priority, r.enqueue_seq LIMIT cardinality(f.free)) x
            LIMIT p.wanted) h
     WHERE h.workflow_name = ANY (p.names)
       AND h.app_version = ANY (p.versions)),
ranked AS (
    SELECT c.*, row_number() OVER (PARTITION BY c.queue_name
                                   ORDER BY c.priority, c.enqueue_seq) AS turn
      FROM (SELECT * FROM plain UNION ALL SELECT * FROM heads) c),
chosen AS (
    SELECT c.* FROM params p CROSS JOIN LATERAL (
        SELECT k.workflow_id, k.slot, k.turn, k.priority, k.enqueue_seq
          FROM ranked k JOIN budgets b ON b.queue_name = k.queue_name
         WHERE k.turn <= b.budget + b.spare
         ORDER BY k.turn, k.priority, k.enqueue_seq
         LIMIT p.wanted + 16) c),
taken AS (  -- by key, in turn, locked one by one until enough are (the LIMIT above the lock)
    SELECT r.workflow_id, c.slot FROM {schema}.workflow_runs r
      JOIN chosen c ON c.workflow_id = r.workflow_id
     WHERE (r.status = 'ENQUEUED') IS TRUE AND EXISTS (SELECT 1 FROM alive)
     ORDER BY c.turn, c.priority, c.enqueue_seq
     LIMIT (SELECT wanted FROM params)
       FOR UPDATE OF r SKIP LOCKED),
claimed AS (
    UPDATE {schema}.workflow_runs r
       SET status = 'RUNNING', executor_id = p.me,
           attempts = r.attempts + 1, partition_slot = taken.slot,
           claimed_at_ms = {schema}.now_ms(), updated_at_ms = {schema}.now_ms(),
           started_at_ms = COALESCE(r.started_at_ms, {schema}.now_ms()),
           deadline_ms = COALESCE(r.deadline_ms, {schema}.now_ms() + r.timeout_ms)
      FROM taken, params p
     WHERE r.workflow_id = taken.workflow_id AND (r.status = 'ENQUEUED') IS TRUE
    RETURNING r.workflow_id, r.attempts, r.queue_name, r.claimed_at_ms, r.workflow_name,
              r.inputs, r.deadline_ms, r.pending_command),
starts AS (  -- (a data-modifying CTE runs whether or not it is read)
    UPDATE {schema}.queues q
       SET recent_starts = ARRAY(
               SELECT w.t FROM (SELECT s.t FROM unnest(q.recent_starts) AS s(t)
                                 WHERE s.t > {schema}.now_ms() - q.rate_period_ms
                                UNION ALL
                                SELECT c.claimed_at_ms FROM claimed c
                                 WHERE c.queue_name = q.queue_name) AS w(t)
                ORDER BY w.t)
     WHERE q.rate_limit IS NOT NULL AND q.queue_name IN (SELECT queue_name FROM claimed))
SELECT c.workflow_id, c.attempts, CAST(NULL AS bigint), CAST(NULL AS bigint),
       c.workflow_name, c.inputs::text, c.deadline_ms,
       {schema}.now_ms(), EXISTS (SELECT 1 FROM {schema}.step_outputs o
                                   WHERE o.workflow_id = c.workflow_id), c.pending_command
  FROM claimed c
UNION ALL
SELECT NULL, NULL, (SELECT count(*) FROM limits WHERE limited),
       (SELECT count(*) FROM limits),
       NULL, NULL, NULL, NULL, NULL, NULL;
END $$"""

# A hand-over's terminal write (db.runs' _FINISH on the function's arguments), and its end
# when the write did not take effect (zero rows: nothing is claimed).
_FINISH_RUN_12 = """UPDATE {schema}.workflow_runs
   SET status = a_status, output = CAST(a_output AS jsonb), error = CAST(a_error AS jsonb),
       pending_command = NULL, completed_at_ms = {schema}.now_ms(),
       updated_at_ms = {schema}.now_ms()
 WHERE workflow_id = a_workflow_id AND status = 'RUNNING' AND executor_id = a_me
   AND attempts = a_attempt;
IF NOT FOUND THEN
    RETURN;
END IF;
"""

# The claim that follows a hand-over's write (when it took effect), and the function's end.
_CLAIM_NEXT_12 = """RETURN QUERY SELECT * FROM {schema}.claim_runs(a_names, a_wanted, a_me, a_held, a_versions);
END $$"""

# A finishing worker's terminal write and its claim of the next runs, in one statement (one
# round trip and one pool validation fewer per claim; engine.dispatcher's hand-over). The
# write is db.runs' _FINISH, guarded by RUNNING and the owner; only when it took effect does
# the claim run (as claim_runs, with a_me the same executor), so zero rows mean the run had
# moved on and nothing was claimed. One transaction: a claim that fails (a lost race for a
# partition slot) takes the terminal write back with it, and the caller writes it alone.
_FINISH_AND_CLAIM_12 = """CREATE OR REPLACE FUNCTION {schema}.finish_and_claim(
        a_status text, a_output text, a_error text, a_workflow_id text, a_me text,
        a_attempt integer, a_names text, a_wanted integer, a_held text, a_versions text)""" + \
    _CLAIMED_ROWS_12 + _FINISH_RUN_12 + _CLAIM_NEXT_12

# finish_and_claim with the checkpoint of the run's last step (version 15): a step's
# SUCCESS checkpoint waits for the run's next durable operation (engine.steps), and when
# that is the end of the run, the step's row is written in the terminal write's statement,
# only when the terminal write took effect (the run row stays locked by it: no re-claim
# slips between). Its first six parameters are the step's; then finish_and_claim's.
_FINISH_STEP_AND_CLAIM_15 = """CREATE OR REPLACE FUNCTION {schema}.finish_step_and_claim(
        a_position integer, a_step_name text, a_step_output text, a_step_attempts integer,
        a_step_started_ms bigint, a_step_completed_ms bigint,
        a_status text, a_output text, a_error text, a_workflow_id text, a_me text,
        a_attempt integer, a_names text, a_wanted integer, a_held text, a_versions text)""" + \
    _CLAIMED_ROWS_12 + _FINISH_RUN_12 + """INSERT INTO {schema}.step_outputs
    (workflow_id, step_position, step_name, status, output, error, attempts, executor_id,
     run_attempt, started_at_ms, completed_at_ms)
VALUES (a_workflow_id, a_position, a_step_name, 'SUCCESS', CAST(a_step_output AS json), NULL,
        a_step_attempts, a_me, a_attempt, a_step_started_ms, a_step_completed_ms)
ON CONFLICT (workflow_id, step_position) DO NOTHING;
""" + _CLAIM_NEXT_12

# A sleeping worker's suspend and its claim of the next runs, in one statement (version
# 14): what finish_and_claim is to a terminal write, for a sleep's one-statement suspend
# (db.waits' _SUSPEND_ALONE: taken only while no command is pending and the wake time is
# more than a_short_ms ahead). Zero rows: the suspend did not take, and nothing was claimed.
_SUSPEND_AND_CLAIM_14 = """CREATE OR REPLACE FUNCTION {schema}.suspend_and_claim(
        a_channel text, a_wake_at_ms bigint, a_short_ms bigint, a_workflow_id text,
        a_me text, a_attempt integer, a_names text, a_wanted integer, a_held text,
        a_versions text)""" + _CLAIMED_ROWS_12 + """UPDATE {schema}.workflow_runs
   SET status = 'WAITING', waiting_for = a_channel,
       run_at_ms = LEAST(a_wake_at_ms, deadline_ms), executor_id = NULL,
       partition_slot = NULL, claimed_at_ms = NULL, updated_at_ms = {schema}.now_ms()
 WHERE workflow_id = a_workflow_id AND status = 'RUNNING' AND executor_id = a_me
   AND attempts = a_attempt AND pending_command IS NULL
   AND a_wake_at_ms - {schema}.now_ms() > a_short_ms;
IF NOT FOUND THEN
    RETURN;
END IF;
RETURN QUERY SELECT * FROM {schema}.claim_runs(a_names, a_wanted, a_me, a_held, a_versions);
END $$"""

# The claim's fast path (version 13). Under a backlog nearly every claim meets one plain
# queue with work: unlimited, no partitioned work, no maintenance. There the general
# statement (claim_runs_general, version 12's claim_runs) cost twice the server CPU of a
# plain SKIP LOCKED claim, most of it in a plan built for every case at once (pgbench, 8
# clients, one run a claim: 2,800 claims a second; this path 4,500-5,000; a hand-written
# one-statement claim 6,000-7,000). In that case fairness across queues, budgets and slots
# have nothing to decide, so the claim is the queue's oldest runnable rows, locked in order
# (SKIP LOCKED) until enough are: what the general statement takes there
# (tests/test_claim_fast_path.py compares the two), except that it never stops at the
# general statement's 16 spare candidates: with more of the queue's first rows held by
# other claimers, it takes the next ones where the general statement took nothing.
#  - FAST_QUEUE finds that queue (no row: any other case, left to the general statement);
#  - the executor's lease is checked and its row locked, as the general statement does
#    (a lapsed lease also goes to the general statement, which claims nothing);
#  - FAST_TAKE claims in the queue: $1 the queue, then a_names, a_wanted, a_me, a_versions
#    as $2..$5, and reports the general statement's last row (no limited queue, one queue).
# The rest of the fast path's test, after its one-queue test: no partitioned work, no limit
# on the queue, no maintenance over everything or over it.
_FAST_QUEUE_CHECKS = """   AND NOT EXISTS (SELECT 1 FROM {schema}.workflow_runs r
                    WHERE (r.status = 'ENQUEUED') IS TRUE AND r.partition_key IS NOT NULL)
   AND NOT EXISTS (SELECT 1 FROM {schema}.queues l
                    WHERE l.queue_name = q.queue_name
                      AND (l.concurrency IS NOT NULL OR l.worker_concurrency IS NOT NULL
                           OR l.rate_limit IS NOT NULL OR l.partition_concurrency > 1))
   AND NOT EXISTS (SELECT 1 FROM {schema}.maintenance m WHERE m.scope = '')
   AND NOT EXISTS (SELECT 1 FROM {schema}.maintenance m WHERE m.scope = q.queue_name)"""

_FAST_QUEUE_13 = """SELECT q.queue_name FROM (
    SELECT r.queue_name FROM {schema}.workflow_runs r
     WHERE (r.status = 'ENQUEUED') IS TRUE AND r.partition_key IS NULL
     ORDER BY r.queue_name LIMIT 1) q
 WHERE NOT EXISTS (SELECT 1 FROM {schema}.workflow_runs r
                    WHERE (r.status = 'ENQUEUED') IS TRUE AND r.partition_key IS NULL
                      AND r.queue_name > q.queue_name)
""" + _FAST_QUEUE_CHECKS

# The fast path's queue (version 17): the first queue name among the plain runnable rows,
# and no such row naming a later one, each a LIMIT 1 probe of their index, the second
# starting past the first queue's rows. Version 13 asked the second as NOT EXISTS, an anti
# join that a planner with statistics predating a burst (ANALYZE saw no queued run: on a
# big table autovacuum analyzes only after 10% of it changed) ran as a read of every
# queued run of the queue, filtered, instead of a probe past the first name: every claim
# read the whole backlog (10,000 queued: 2-6 ms a claim; bench figure 7c drained 1.3-1.4
# times slower than over a freshly emptied table). A scalar subquery is never made a
# join: it runs as the probe (0.04 ms there).
FAST_QUEUE = """SELECT q.queue_name FROM (
    SELECT (SELECT r.queue_name FROM {schema}.workflow_runs r
             WHERE (r.status = 'ENQUEUED') IS TRUE AND r.partition_key IS NULL
             ORDER BY r.queue_name LIMIT 1) AS queue_name
     OFFSET 0) q  -- (kept whole: its probe runs once, not once for each use of its name)
 WHERE (SELECT 1 FROM {schema}.workflow_runs r
         WHERE (r.status = 'ENQUEUED') IS TRUE AND r.partition_key IS NULL
           AND r.queue_name > q.queue_name LIMIT 1) IS NULL
""" + _FAST_QUEUE_CHECKS

FAST_TAKE_13 = """WITH claimed AS (
    UPDATE {schema}.workflow_runs r
       SET status = 'RUNNING', executor_id = $4,
           attempts = r.attempts + 1, partition_slot = NULL,
           claimed_at_ms = {schema}.now_ms(), updated_at_ms = {schema}.now_ms(),
           started_at_ms = COALESCE(r.started_at_ms, {schema}.now_ms()),
           deadline_ms = COALESCE(r.deadline_ms, {schema}.now_ms() + r.timeout_ms)
     WHERE r.workflow_id = ANY (ARRAY(
               SELECT c.workflow_id FROM {schema}.workflow_runs c
                WHERE (c.status = 'ENQUEUED') IS TRUE AND c.partition_key IS NULL
                  AND c.queue_name = $1
                  AND c.workflow_name = ANY (ARRAY(
                          SELECT jsonb_array_elements_text(CAST($2 AS jsonb))))
                  AND c.app_version = ANY (ARRAY(
                          SELECT jsonb_array_elements_text(CAST($5 AS jsonb))))
                ORDER BY c.priority, c.enqueue_seq
                LIMIT GREATEST($3, 0)  -- (NULL: none, as the general statement's budget)
                  FOR UPDATE OF c SKIP LOCKED))
       AND (r.status = 'ENQUEUED') IS TRUE
    RETURNING r.workflow_id, r.attempts, r.workflow_name, r.inputs, r.deadline_ms,
              r.pending_command, r.priority, r.enqueue_seq)
SELECT * FROM (  -- in the queue's order, as the general statement answers
    SELECT c.workflow_id, c.attempts, CAST(NULL AS bigint), CAST(NULL AS bigint),
           c.workflow_name, c.inputs::text, c.deadline_ms,
           {schema}.now_ms(), EXISTS (SELECT 1 FROM {schema}.step_outputs o
                                       WHERE o.workflow_id = c.workflow_id), c.pending_command
      FROM claimed c ORDER BY c.priority, c.enqueue_seq) ordered
UNION ALL
SELECT NULL, NULL, CAST(0 AS bigint), CAST(1 AS bigint), NULL, NULL, NULL, NULL, NULL, NULL"""

_ALIVE_13 = """PERFORM 1 FROM {schema}.executors e
     WHERE e.executor_id = a_me AND e.retired_at_ms IS NULL
       AND e.heartbeat_at_ms + e.lease_ms >= {schema}.now_ms()
       FOR SHARE OF e"""

# Version 12's claim, renamed: the statement for every case (the fast path's too, when the
# executor's lease lapsed: it claims nothing and reports the queues).
_CLAIM_RUNS_GENERAL_13 = _CLAIM_RUNS_12.replace(".claim_runs(", ".claim_runs_general(", 1)


def _claimRuns(fastQueue):
    """The claim function with its fast path, finding the queue with ``fastQueue``."""
    if fastQueue.count("SELECT q.queue_name FROM") != 1:
        raise AssertionError("the fast path's queue test is not where the claim expects it")
    return """CREATE OR REPLACE FUNCTION {schema}.claim_runs(
        a_names text, a_wanted integer, a_me text, a_held text, a_versions text)""" + \
        _CLAIMED_ROWS_12.replace("use_column\n", "use_column\nDECLARE\n    v_queue text;\n") + \
        fastQueue.replace("SELECT q.queue_name FROM", "SELECT q.queue_name INTO v_queue FROM",
                          1) + _CLAIM_RUNS_13_REST


_CLAIM_RUNS_13_REST = """;
IF v_queue IS NOT NULL THEN
    """ + _ALIVE_13 + """;
END IF;
IF v_queue IS NULL OR NOT FOUND THEN
    RETURN QUERY SELECT * FROM {schema}.claim_runs_general(a_names, a_wanted, a_me, a_held,
                                                           a_versions);
    RETURN;
END IF;
RETURN QUERY """ + FAST_TAKE_13.replace("$1", "v_queue").replace("$2", "a_names") \
    .replace("$3", "a_wanted").replace("$4", "a_me").replace("$5", "a_versions") + """;
END $$"""
_CLAIM_RUNS_13 = _claimRuns(_FAST_QUEUE_13)

# A claim stamps a run's first start no earlier than the run was created or due (version
# 16). now_ms() is the claiming statement's start, and the claim functions read with a
# snapshot of their own, taken later: a run whose insert began after the claiming statement
# and committed before the claim's read was claimed "before" it existed (a negative queue
# wait on the console; seen with the hand-over, whose claim follows the terminal write).
_STARTED_NOW = "started_at_ms = COALESCE(r.started_at_ms, {schema}.now_ms()),"
_STARTED_NOT_BEFORE = ("started_at_ms = COALESCE(r.started_at_ms, "
                       "GREATEST({schema}.now_ms(), r.created_at_ms, r.run_at_ms)),")


def _startedNotBefore(text):
    """A claim's text with version 16's first start (exactly one place to change)."""
    if text.count(_STARTED_NOW) != 1:
        raise AssertionError("the claim's start stamp is not where version 16 expects it")
    return text.replace(_STARTED_NOW, _STARTED_NOT_BEFORE)


FAST_TAKE = _startedNotBefore(FAST_TAKE_13)  # (the fast path's take as installed now)
_CLAIM_RUNS_GENERAL_16 = _startedNotBefore(_CLAIM_RUNS_GENERAL_13)
_CLAIM_RUNS_16 = _startedNotBefore(_CLAIM_RUNS_13)
_CLAIM_RUNS_17 = _startedNotBefore(_claimRuns(FAST_QUEUE))

MIGRATIONS = [
    (1, "workflow runs and step outputs", [
        # One instant per statement (statement_timestamp), so every column a statement
        # stamps agrees, and STABLE so comparisons against it can use indexes.
        """CREATE OR REPLACE FUNCTION {schema}.now_ms() RETURNS bigint LANGUAGE sql STABLE
           AS $$ SELECT CAST(extract(epoch FROM statement_timestamp()) * 1000 AS bigint) $$""",
        """CREATE TABLE {schema}.workflow_runs (
            workflow_id      text PRIMARY KEY,
            workflow_name    text NOT NULL,
            status           text NOT NULL,
            queue_name       text NOT NULL,
            priority         integer NOT NULL DEFAULT 0,
            partition_key    text,
            deduplication_id text,
            inputs           jsonb NOT NULL,
            output           jsonb,
            error            jsonb,
            executor_id      text,
            attempts         integer NOT NULL DEFAULT 0,
            timeout_ms       bigint,
            deadline_ms      bigint,
            enqueue_seq      bigint GENERATED ALWAYS AS IDENTITY,
            created_at_ms    bigint NOT NULL DEFAULT {schema}.now_ms(),
            updated_at_ms    bigint NOT NULL DEFAULT {schema}.now_ms(),
            claimed_at_ms    bigint,
            started_at_ms    bigint,
            completed_at_ms  bigint,
            CONSTRAINT workflow_runs_status_known CHECK (status IN (%(active)s, %(terminal)s)),
            CONSTRAINT workflow_runs_id_length CHECK (length(workflow_id) BETWEEN 1 AND 200),
            CONSTRAINT workflow_runs_name_length CHECK (length(workflow_name) BETWEEN 1 AND 200),
            CONSTRAINT workflow_runs_queue_length CHECK (length(queue_name) BETWEEN 1 AND 200),
            CONSTRAINT workflow_runs_partition_length CHECK (length(partition_key) BETWEEN 1 AND 200),
            CONSTRAINT workflow_runs_dedup_length CHECK (length(deduplication_id) BETWEEN 1 AND 200),
            CONSTRAINT workflow_runs_inputs_object CHECK (jsonb_typeof(inputs) = 'object'),
            CONSTRAINT workflow_runs_owner_when_claimed
                CHECK (status NOT IN ('PENDING', 'RUNNING') OR executor_id IS NOT NULL),
            CONSTRAINT workflow_runs_completed_iff_terminal
                CHECK ((status IN (%(terminal)s)) = (completed_at_ms IS NOT NULL)),
            CONSTRAINT workflow_runs_success_has_output CHECK (status <> 'SUCCESS' OR output IS NOT NULL),
            CONSTRAINT workflow_runs_error_has_error CHECK (status <> 'ERROR' OR error IS NOT NULL),
            CONSTRAINT workflow_runs_timeout_positive CHECK (timeout_ms IS NULL OR timeout_ms > 0)
        )""" % {"active": _ACTIVE, "terminal": _TERMINAL},
        """CREATE INDEX workflow_runs_claim_idx ON {schema}.workflow_runs (priority, enqueue_seq)
           WHERE status = 'ENQUEUED'""",
        """CREATE UNIQUE INDEX workflow_runs_dedup_active_idx
           ON {schema}.workflow_runs (queue_name, deduplication_id)
           WHERE deduplication_id IS NOT NULL AND status IN (%s)""" % _ACTIVE,
        # The database holds the partition invariant: one claimed run per partition key.
        """CREATE UNIQUE INDEX workflow_runs_partition_active_idx
           ON {schema}.workflow_runs (queue_name, partition_key)
           WHERE partition_key IS NOT NULL AND status IN ('PENDING', 'RUNNING')""",
        """CREATE INDEX workflow_runs_owner_idx ON {schema}.workflow_runs (executor_id)
           WHERE status IN ('PENDING', 'RUNNING')""",
        """CREATE INDEX workflow_runs_completed_idx ON {schema}.workflow_runs (completed_at_ms)
           WHERE status IN (%s)""" % _TERMINAL,
        "CREATE INDEX workflow_runs_created_idx ON {schema}.workflow_runs (created_at_ms)",
        """CREATE INDEX workflow_runs_name_created_idx
           ON {schema}.workflow_runs (workflow_name, created_at_ms)""",
        """CREATE INDEX workflow_runs_status_created_idx
           ON {schema}.workflow_runs (status, created_at_ms)""",
        """CREATE TABLE {schema}.step_outputs (
            workflow_id     text NOT NULL
                            REFERENCES {schema}.workflow_runs (workflow_id) ON DELETE CASCADE,
            step_position   integer NOT NULL,
            step_name       text NOT NULL,
            status          text NOT NULL,
            output          json,
            error           json,
            attempts        integer NOT NULL,
            executor_id     text NOT NULL,
            run_attempt     integer NOT NULL,
            started_at_ms   bigint NOT NULL,
            completed_at_ms bigint NOT NULL,
            PRIMARY KEY (workflow_id, step_position),
            CONSTRAINT step_outputs_position_positive CHECK (step_position >= 1),
            CONSTRAINT step_outputs_status_known CHECK (status IN ('SUCCESS', 'ERROR')),
            CONSTRAINT step_outputs_outcome
                CHECK ((status = 'SUCCESS' AND output IS NOT NULL AND error IS NULL)
                    OR (status = 'ERROR' AND error IS NOT NULL AND output IS NULL)),
            CONSTRAINT step_outputs_attempts_positive CHECK (attempts >= 1)
        )""",
    ]),
    (2, "queues: limits, delays, partition slots, dead letters", [
        # DELAYED: enqueued with delaySeconds, not claimable before run_at_ms. An active
        # status: it holds its deduplication id and can be cancelled while it waits.
        """ALTER TABLE {schema}.workflow_runs
             DROP CONSTRAINT workflow_runs_status_known,
             ADD CONSTRAINT workflow_runs_status_known
                 CHECK (status IN ('DELAYED', %(active)s, %(terminal)s)),
             ADD COLUMN run_at_ms bigint,
             ADD COLUMN partition_slot integer,
             ADD CONSTRAINT workflow_runs_delayed_has_time
                 CHECK (status <> 'DELAYED' OR run_at_ms IS NOT NULL),
             ADD CONSTRAINT workflow_runs_slot_range CHECK (partition_slot >= 0)"""
        % {"active": _ACTIVE, "terminal": _TERMINAL},
        """UPDATE {schema}.workflow_runs SET partition_slot = 0
            WHERE partition_key IS NOT NULL AND status IN ('PENDING', 'RUNNING')""",
        # A claimed run of a partition holds one of its queue's partition slots (0 .. the
        # queue's partitionConcurrency - 1); the unique index is the database's word that
        # no two claimed runs of one partition share a slot.
        """ALTER TABLE {schema}.workflow_runs ADD CONSTRAINT workflow_runs_slot_when_claimed
             CHECK (status NOT IN ('PENDING', 'RUNNING') OR partition_key IS NULL
                    OR partition_slot IS NOT NULL)""",
        "DROP INDEX {schema}.workflow_runs_partition_active_idx",
        """CREATE UNIQUE INDEX workflow_runs_partition_slot_idx
           ON {schema}.workflow_runs (queue_name, partition_key, partition_slot)
           WHERE partition_key IS NOT NULL AND status IN ('PENDING', 'RUNNING')""",
        "DROP INDEX {schema}.workflow_runs_dedup_active_idx",
        """CREATE UNIQUE INDEX workflow_runs_dedup_active_idx
           ON {schema}.workflow_runs (queue_name, deduplication_id)
           WHERE deduplication_id IS NOT NULL AND status IN ('DELAYED', %s)""" % _ACTIVE,
        # The claim reads runnable rows per queue (and per partition) in priority, FIFO
        # order, and finds the queues and partitions with work by skipping through these.
        "DROP INDEX {schema}.workflow_runs_claim_idx",
        """CREATE INDEX workflow_runs_queue_plain_idx
           ON {schema}.workflow_runs (queue_name, priority, enqueue_seq)
           WHERE status = 'ENQUEUED' AND partition_key IS NULL""",
        """CREATE INDEX workflow_runs_queue_partition_idx
           ON {schema}.workflow_runs (queue_name, partition_key, priority, enqueue_seq)
           WHERE status = 'ENQUEUED' AND partition_key IS NOT NULL""",
        """CREATE INDEX workflow_runs_active_queue_idx
           ON {schema}.workflow_runs (queue_name, executor_id)
           WHERE status IN ('PENDING', 'RUNNING')""",
        """CREATE INDEX workflow_runs_delayed_idx ON {schema}.workflow_runs (run_at_ms)
           WHERE status = 'DELAYED'""",
        # Queue limits every gateway shares. recent_starts holds the claim times of a
        # rate-limited queue inside its window (at most rate_limit of them); it is written
        # only by a claim that holds the queue's row lock.
        """CREATE TABLE {schema}.queues (
            queue_name            text PRIMARY KEY,
            concurrency           integer,
            worker_concurrency    integer,
            rate_limit            integer,
            rate_period_ms        bigint,
            partition_concurrency integer NOT NULL DEFAULT 1,
            recent_starts         bigint[] NOT NULL DEFAULT '{}',
            updated_at_ms         bigint NOT NULL DEFAULT {schema}.now_ms(),
            CONSTRAINT queues_name_length CHECK (length(queue_name) BETWEEN 1 AND 200),
            CONSTRAINT queues_concurrency_positive CHECK (concurrency >= 1),
            CONSTRAINT queues_worker_concurrency_positive CHECK (worker_concurrency >= 1),
            CONSTRAINT queues_rate_positive CHECK (rate_limit >= 1 AND rate_period_ms >= 1),
            CONSTRAINT queues_rate_complete
                CHECK ((rate_limit IS NULL) = (rate_period_ms IS NULL)),
            CONSTRAINT queues_partition_concurrency_positive CHECK (partition_concurrency >= 1)
        )""",
        # In-memory enqueues the database would not take, kept with the reason and the
        # request (as text: a request refused as jsonb must still be storable).
        """CREATE TABLE {schema}.dead_letters (
            dead_letter_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            workflow_id          text,
            workflow_name        text,
            queue_name           text,
            deduplication_id     text,
            reason               text NOT NULL,
            message              text NOT NULL,
            request              text NOT NULL,
            accepted_at_ms       bigint,
            created_at_ms        bigint NOT NULL DEFAULT {schema}.now_ms(),
            replayed_at_ms       bigint,
            replayed_workflow_id text
        )""",
        """CREATE INDEX dead_letters_created_idx
           ON {schema}.dead_letters (created_at_ms, dead_letter_id)""",
    ]),
    (3, "executors, leases and recovery limits", [
        # Every executor (a gateway, a headless worker) has a row: its lease is renewed by
        # its dispatch (heartbeat_at_ms + lease_ms, on the database clock). contact_since_ms
        # is when its current unbroken run of heartbeats began: only an executor in contact
        # for a whole lease may declare others dead, so after an outage that cut everyone
        # off, nobody takes over work whose executor is merely reconnecting. A retired row
        # (stopped, superseded by a newer start under the same name, or declared dead by a
        # recovery) never renews; it is certainly not running anything.
        """CREATE TABLE {schema}.executors (
            executor_id      text PRIMARY KEY,
            executor_name    text NOT NULL,
            host             text NOT NULL,
            runtime          text NOT NULL,
            generation       bigint NOT NULL,
            lease_ms         bigint NOT NULL,
            worker_threads   integer NOT NULL,
            in_flight        integer NOT NULL DEFAULT 0,
            started_at_ms    bigint NOT NULL DEFAULT {schema}.now_ms(),
            heartbeat_at_ms  bigint NOT NULL DEFAULT {schema}.now_ms(),
            contact_since_ms bigint NOT NULL DEFAULT {schema}.now_ms(),
            retired_at_ms    bigint,
            retired_reason   text,
            retired_by       text,
            recovered_runs   integer NOT NULL DEFAULT 0,
            CONSTRAINT executors_id_length CHECK (length(executor_id) BETWEEN 1 AND 200),
            CONSTRAINT executors_name_length CHECK (length(executor_name) BETWEEN 1 AND 200),
            CONSTRAINT executors_lease_positive CHECK (lease_ms > 0),
            CONSTRAINT executors_retired_reason CHECK ((retired_at_ms IS NULL) = (retired_reason IS NULL))
        )""",
        """CREATE INDEX executors_live_name_idx ON {schema}.executors (executor_name)
           WHERE retired_at_ms IS NULL""",
        # A run whose executor keeps dying is stopped after max_recovery_attempts recoveries
        # in MAX_RECOVERY_ATTEMPTS_EXCEEDED: terminal (it holds no slot, no deduplication
        # id), distinct from ERROR, and resumable by an operator.
        """ALTER TABLE {schema}.workflow_runs
             ADD COLUMN recovery_attempts integer NOT NULL DEFAULT 0,
             ADD COLUMN max_recovery_attempts integer,
             ADD CONSTRAINT workflow_runs_max_recovery_range CHECK (max_recovery_attempts >= 0),
             DROP CONSTRAINT workflow_runs_status_known,
             ADD CONSTRAINT workflow_runs_status_known
                 CHECK (status IN ('DELAYED', %(active)s, %(terminal)s,
                                   'MAX_RECOVERY_ATTEMPTS_EXCEEDED')),
             DROP CONSTRAINT workflow_runs_completed_iff_terminal,
             ADD CONSTRAINT workflow_runs_completed_iff_terminal
                 CHECK ((status IN (%(terminal)s, 'MAX_RECOVERY_ATTEMPTS_EXCEEDED'))
                        = (completed_at_ms IS NOT NULL))"""
        % {"active": _ACTIVE, "terminal": _TERMINAL},
        "DROP INDEX {schema}.workflow_runs_completed_idx",
        """CREATE INDEX workflow_runs_completed_idx ON {schema}.workflow_runs (completed_at_ms)
           WHERE status IN (%s, 'MAX_RECOVERY_ATTEMPTS_EXCEEDED')""" % _TERMINAL,
    ]),
    (4, "operators: commands, durable waits, prompts, messages, events, streams, journal, "
        "maintenance", [
        # HELD (an operator's hold, no thread) and WAITING (a durable wait: a prompt, a
        # message, an event, a sleep; no thread, woken by whoever brings what it waits for,
        # or by dispatch at run_at_ms) are active; STOPPED (an orderly operator stop, after
        # the workflow's stop handler) is terminal. pending_command is a HOLD or STOP the
        # running thread applies at its next step boundary; waiting_for names what a
        # WAITING run waits for (its wake channel).
        """ALTER TABLE {schema}.workflow_runs
             DROP CONSTRAINT workflow_runs_status_known,
             ADD CONSTRAINT workflow_runs_status_known
                 CHECK (status IN ('DELAYED', 'WAITING', 'HELD', %(active)s, %(terminal)s,
                                   'STOPPED', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED')),
             DROP CONSTRAINT workflow_runs_completed_iff_terminal,
             ADD CONSTRAINT workflow_runs_completed_iff_terminal
                 CHECK ((status IN (%(terminal)s, 'STOPPED', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED'))
                        = (completed_at_ms IS NOT NULL)),
             ADD COLUMN pending_command text,
             ADD COLUMN waiting_for text,
             ADD CONSTRAINT workflow_runs_command_known CHECK (pending_command IN ('HOLD', 'STOP')),
             ADD CONSTRAINT workflow_runs_waiting_has_channel
                 CHECK (status <> 'WAITING' OR waiting_for IS NOT NULL)"""
        % {"active": _ACTIVE, "terminal": _TERMINAL},
        "DROP INDEX {schema}.workflow_runs_completed_idx",
        """CREATE INDEX workflow_runs_completed_idx ON {schema}.workflow_runs (completed_at_ms)
           WHERE status IN (%s, 'STOPPED', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED')""" % _TERMINAL,
        "DROP INDEX {schema}.workflow_runs_dedup_active_idx",
        """CREATE UNIQUE INDEX workflow_runs_dedup_active_idx
           ON {schema}.workflow_runs (queue_name, deduplication_id)
           WHERE deduplication_id IS NOT NULL
             AND status IN ('DELAYED', 'WAITING', 'HELD', %s)""" % _ACTIVE,
        "DROP INDEX {schema}.workflow_runs_delayed_idx",
        """CREATE INDEX workflow_runs_due_idx ON {schema}.workflow_runs (run_at_ms)
           WHERE status IN ('DELAYED', 'WAITING')""",
        """CREATE INDEX workflow_runs_waiting_idx ON {schema}.workflow_runs (waiting_for)
           WHERE status = 'WAITING'""",
        # Messages (send/recv): FIFO per (destination, topic), consumed exactly once by the
        # recv that records it; an idempotency key sends a message once per destination.
        """CREATE TABLE {schema}.messages (
            message_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            workflow_id       text NOT NULL
                              REFERENCES {schema}.workflow_runs (workflow_id) ON DELETE CASCADE,
            topic             text NOT NULL,
            body              json NOT NULL,
            idempotency_key   text,
            sender            text,
            created_at_ms     bigint NOT NULL DEFAULT {schema}.now_ms(),
            consumed_at_ms    bigint,
            consumed_position integer,
            CONSTRAINT messages_topic_length CHECK (length(topic) <= 200),
            CONSTRAINT messages_key_length CHECK (length(idempotency_key) BETWEEN 1 AND 200)
        )""",
        """CREATE UNIQUE INDEX messages_idempotency_idx
           ON {schema}.messages (workflow_id, idempotency_key) WHERE idempotency_key IS NOT NULL""",
        """CREATE INDEX messages_unread_idx ON {schema}.messages (workflow_id, topic, message_id)
           WHERE consumed_at_ms IS NULL""",
        # Events: the latest value of each key a workflow published.
        """CREATE TABLE {schema}.events (
            workflow_id   text NOT NULL
                          REFERENCES {schema}.workflow_runs (workflow_id) ON DELETE CASCADE,
            event_key     text NOT NULL,
            value         json NOT NULL,
            version       integer NOT NULL DEFAULT 1,
            updated_at_ms bigint NOT NULL DEFAULT {schema}.now_ms(),
            PRIMARY KEY (workflow_id, event_key),
            CONSTRAINT events_key_length CHECK (length(event_key) BETWEEN 1 AND 200)
        )""",
        # Streams: an append-only log per (workflow, key), offsets 0, 1, ...; a closing row
        # (closed, no value) ends it.
        """CREATE TABLE {schema}.streams (
            workflow_id   text NOT NULL
                          REFERENCES {schema}.workflow_runs (workflow_id) ON DELETE CASCADE,
            stream_key    text NOT NULL,
            stream_offset integer NOT NULL,
            value         json,
            closed        boolean NOT NULL DEFAULT false,
            created_at_ms bigint NOT NULL DEFAULT {schema}.now_ms(),
            PRIMARY KEY (workflow_id, stream_key, stream_offset),
            CONSTRAINT streams_key_length CHECK (length(stream_key) BETWEEN 1 AND 200),
            CONSTRAINT streams_value_or_close CHECK (closed = (value IS NULL))
        )""",
        # Operator prompts: one per prompt() call (its id is the run's id and the call's
        # position, so a replay finds the same prompt); answered once.
        """CREATE TABLE {schema}.prompts (
            prompt_id       text PRIMARY KEY,
            workflow_id     text NOT NULL
                            REFERENCES {schema}.workflow_runs (workflow_id) ON DELETE CASCADE,
            step_position   integer NOT NULL,
            message         text NOT NULL,
            options         json,
            response_schema json,
            roles           json,
            status          text NOT NULL DEFAULT 'PENDING',
            expires_at_ms   bigint,
            response        json,
            answered_by     text,
            answer_comment  text,
            answered_at_ms  bigint,
            created_at_ms   bigint NOT NULL DEFAULT {schema}.now_ms(),
            CONSTRAINT prompts_status_known
                CHECK (status IN ('PENDING', 'ANSWERED', 'TIMED_OUT')),
            CONSTRAINT prompts_answer_complete
                CHECK ((status = 'ANSWERED') = (answered_at_ms IS NOT NULL))
        )""",
        """CREATE INDEX prompts_pending_idx ON {schema}.prompts (created_at_ms)
           WHERE status = 'PENDING'""",
        "CREATE INDEX prompts_workflow_idx ON {schema}.prompts (workflow_id)",
        # The audit journal: every command, prompt answer and maintenance action, accepted or
        # refused, with its actor. Not tied to runs by a foreign key: it outlives them.
        """CREATE TABLE {schema}.journal (
            entry_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            at_ms       bigint NOT NULL DEFAULT {schema}.now_ms(),
            actor       text NOT NULL,
            action      text NOT NULL,
            workflow_id text,
            prompt_id   text,
            queue_name  text,
            reason      text,
            accepted    boolean NOT NULL,
            outcome     text NOT NULL,
            details     jsonb,
            executor_id text
        )""",
        """CREATE INDEX journal_workflow_idx ON {schema}.journal (workflow_id, entry_id)
           WHERE workflow_id IS NOT NULL""",
        "CREATE INDEX journal_at_idx ON {schema}.journal (at_ms)",
        # Maintenance: while a row exists no executor sharing the database claims work of its
        # scope ('' = every queue, else one queue).
        """CREATE TABLE {schema}.maintenance (
            scope         text PRIMARY KEY,
            mode          text NOT NULL,
            reason        text,
            actor         text NOT NULL,
            since_ms      bigint NOT NULL DEFAULT {schema}.now_ms(),
            CONSTRAINT maintenance_mode_known CHECK (mode IN ('drain', 'cancel'))
        )""",
    ]),
    (5, "work indexes that statistics taken before a burst cannot pass over", [
        # The indexes by which the claim, the promotion of due runs and the wake find their
        # runs. A status test of the form (status = ...) IS TRUE is the one they share with
        # their statements (db.runs, db.waits), and one the index on (status,
        # created_at_ms) cannot serve; a plain status test could, and a planner whose
        # statistics predate a burst (ANALYZE saw no queued run: on a big table autovacuum
        # analyzes only after 10% of it changed) takes that index for the cheaper way in,
        # and reads and sorts every queued run to take a few.
        "DROP INDEX {schema}.workflow_runs_queue_plain_idx",
        """CREATE INDEX workflow_runs_queue_plain_idx
           ON {schema}.workflow_runs (queue_name, priority, enqueue_seq)
           WHERE (status = 'ENQUEUED') IS TRUE AND partition_key IS NULL""",
        "DROP INDEX {schema}.workflow_runs_queue_partition_idx",
        """CREATE INDEX workflow_runs_queue_partition_idx
           ON {schema}.workflow_runs (queue_name, partition_key, priority, enqueue_seq)
           WHERE (status = 'ENQUEUED') IS TRUE AND partition_key IS NOT NULL""",
        "DROP INDEX {schema}.workflow_runs_due_idx",
        """CREATE INDEX workflow_runs_due_idx ON {schema}.workflow_runs (run_at_ms)
           WHERE (status IN ('DELAYED', 'WAITING')) IS TRUE""",
        "DROP INDEX {schema}.workflow_runs_waiting_idx",
        """CREATE INDEX workflow_runs_waiting_idx ON {schema}.workflow_runs (waiting_for)
           WHERE (status = 'WAITING') IS TRUE""",
    ]),
    (6, "parameter templates and enums", [
        # A catalog (enums, templates) holds one row per name, locked by every change of
        # its versions and numbering them; its versions are append-only (their content is
        # never updated, only their status: DRAFT -> ACTIVE -> RETIRED), and at most one
        # version per name is ACTIVE (the partial unique index is the database's word).
        """CREATE TABLE {schema}.enums (
            enum_name      text PRIMARY KEY,
            latest_version integer NOT NULL DEFAULT 0,
            created_by     text NOT NULL,
            created_at_ms  bigint NOT NULL DEFAULT {schema}.now_ms(),
            CONSTRAINT enums_name_length CHECK (length(enum_name) BETWEEN 1 AND 200)
        )""",
        """CREATE TABLE {schema}.enum_versions (
            enum_name     text NOT NULL REFERENCES {schema}.enums (enum_name) ON DELETE CASCADE,
            version       integer NOT NULL,
            status        text NOT NULL DEFAULT 'DRAFT',
            options       jsonb NOT NULL,
            created_by    text NOT NULL,
            created_at_ms bigint NOT NULL DEFAULT {schema}.now_ms(),
            changed_at_ms bigint,
            PRIMARY KEY (enum_name, version),
            CONSTRAINT enum_versions_status_known CHECK (status IN ('DRAFT', 'ACTIVE', 'RETIRED')),
            CONSTRAINT enum_versions_options_array CHECK (jsonb_typeof(options) = 'array')
        )""",
        """CREATE UNIQUE INDEX enum_versions_active_idx ON {schema}.enum_versions (enum_name)
           WHERE (status = 'ACTIVE') IS TRUE""",
        """CREATE TABLE {schema}.templates (
            template_name  text PRIMARY KEY,
            workflow_name  text NOT NULL,
            latest_version integer NOT NULL DEFAULT 0,
            created_by     text NOT NULL,
            created_at_ms  bigint NOT NULL DEFAULT {schema}.now_ms(),
            CONSTRAINT templates_name_length CHECK (length(template_name) BETWEEN 1 AND 200)
        )""",
        """CREATE TABLE {schema}.template_versions (
            template_name text NOT NULL
                          REFERENCES {schema}.templates (template_name) ON DELETE CASCADE,
            version       integer NOT NULL,
            status        text NOT NULL DEFAULT 'DRAFT',
            input_values  jsonb NOT NULL,
            form_layout   jsonb,
            created_by    text NOT NULL,
            created_at_ms bigint NOT NULL DEFAULT {schema}.now_ms(),
            changed_at_ms bigint,
            PRIMARY KEY (template_name, version),
            CONSTRAINT template_versions_status_known
                CHECK (status IN ('DRAFT', 'ACTIVE', 'RETIRED')),
            CONSTRAINT template_versions_values_object CHECK (jsonb_typeof(input_values) = 'object')
        )""",
        """CREATE UNIQUE INDEX template_versions_active_idx
           ON {schema}.template_versions (template_name) WHERE (status = 'ACTIVE') IS TRUE""",
        # The template version and overrides a run started with: a table of its own, written
        # only by startWithTemplate in the transaction of the run's insert, so an enqueue
        # without a template keeps its one statement and workflow_runs its columns. No
        # foreign key to templates: the record outlives a deleted template (audit).
        """CREATE TABLE {schema}.template_runs (
            workflow_id      text PRIMARY KEY
                             REFERENCES {schema}.workflow_runs (workflow_id) ON DELETE CASCADE,
            template_name    text NOT NULL,
            template_version integer NOT NULL,
            overrides        jsonb NOT NULL,
            started_by       text NOT NULL
        )""",
        """CREATE INDEX template_runs_template_idx
           ON {schema}.template_runs (template_name, template_version)""",
    ]),
    (7, "child workflows: the parent link and the wake of a waiting parent", [
        # A run started by a workflow (engine.children) names its parent; the index finds a
        # run's children (the console, listWorkflows, a cascading command) whatever their
        # status. No foreign key: a child outlives its parent's row (retention).
        "ALTER TABLE {schema}.workflow_runs ADD COLUMN parent_workflow_id text",
        """CREATE INDEX workflow_runs_parent_idx ON {schema}.workflow_runs (parent_workflow_id)
           WHERE parent_workflow_id IS NOT NULL""",
        # Whatever ends a child (its own terminal write, a timeout, a cancel, a stop, the
        # recovery limit) wakes a parent waiting for its result, in that transaction. The
        # wake takes the channel's advisory lock first, as every waiter and bringer of a
        # durable wait does (db.waits), so a parent never misses the end it waits for.
        """CREATE OR REPLACE FUNCTION {schema}.wake_parent() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             PERFORM pg_advisory_xact_lock(hashtext('result:' || NEW.workflow_id));
             UPDATE {schema}.workflow_runs
                SET status = 'ENQUEUED', waiting_for = NULL, updated_at_ms = {schema}.now_ms()
              WHERE waiting_for = 'result:' || NEW.workflow_id
                AND (status = 'WAITING') IS TRUE;
             RETURN NULL;
           END $$""",
        """CREATE TRIGGER workflow_runs_wake_parent
           AFTER UPDATE OF status ON {schema}.workflow_runs FOR EACH ROW
           WHEN (NEW.parent_workflow_id IS NOT NULL AND NEW.completed_at_ms IS NOT NULL
                 AND OLD.completed_at_ms IS NULL)
           EXECUTE FUNCTION {schema}.wake_parent()""",
    ]),
    (8, "application versions and forks", [
        # The application version a run started under (settings.appVersion; the runs from
        # before versions, and inserts that name none, get settings.DEFAULT_APP_VERSION: a
        # constant default costs no table rewrite) and the run a fork copied its first steps
        # from (api.service.fork: the original and the first position it ran again). An
        # executor claims only runs of the versions it can run (db.runs claim).
        """ALTER TABLE {schema}.workflow_runs
             ADD COLUMN app_version text NOT NULL DEFAULT '1',
             ADD COLUMN forked_from text,
             ADD COLUMN forked_at_step integer,
             ADD CONSTRAINT workflow_runs_version_length CHECK (length(app_version) BETWEEN 1 AND 200),
             ADD CONSTRAINT workflow_runs_fork_complete
                 CHECK ((forked_from IS NULL) = (forked_at_step IS NULL))""",
        """CREATE INDEX workflow_runs_forked_from_idx ON {schema}.workflow_runs (forked_from)
           WHERE forked_from IS NOT NULL""",
        # What an executor runs: its own version and the versions it declares compatible
        # (settings.compatibleVersions), as registered at its start.
        """ALTER TABLE {schema}.executors
             ADD COLUMN app_version text,
             ADD COLUMN app_versions jsonb""",
        # The position of the operation that wrote an event's current value or a stream
        # entry (the step's, when written inside a step): a fork copies those written before
        # its fork point. NULL: written before this version (never copied).
        "ALTER TABLE {schema}.events ADD COLUMN step_position integer",
        "ALTER TABLE {schema}.streams ADD COLUMN step_position integer",
    ]),
    (9, "schedules: cron schedules that start workflows", [
        # One row per schedule; the dispatch tick fires a due one by advancing next_tick_ms
        # from the value it read (a guarded UPDATE) in the transaction of the run's insert,
        # whose id is made of the name and the tick: one run per tick (engine.schedules).
        """CREATE TABLE {schema}.schedules (
            schedule_name    text PRIMARY KEY,
            workflow_name    text NOT NULL,
            cron             text NOT NULL,
            time_zone        text NOT NULL,
            inputs           jsonb NOT NULL DEFAULT '{}',
            queue_name       text,
            status           text NOT NULL DEFAULT 'ACTIVE',
            source           text NOT NULL,
            next_tick_ms     bigint,
            last_tick_ms     bigint,
            last_workflow_id text,
            created_by       text NOT NULL,
            created_at_ms    bigint NOT NULL DEFAULT {schema}.now_ms(),
            updated_at_ms    bigint NOT NULL DEFAULT {schema}.now_ms(),
            CONSTRAINT schedules_name_length CHECK (length(schedule_name) BETWEEN 1 AND 120),
            CONSTRAINT schedules_status_known CHECK (status IN ('ACTIVE', 'PAUSED')),
            CONSTRAINT schedules_source_known CHECK (source IN ('CODE', 'RUNTIME')),
            CONSTRAINT schedules_inputs_object CHECK (jsonb_typeof(inputs) = 'object')
        )""",
        """CREATE INDEX schedules_due_idx ON {schema}.schedules (next_tick_ms)
           WHERE status = 'ACTIVE'""",
    ]),
    (10, "debounced starts", [
        # One row per debounce key: the pending burst of calls that starts one run when it
        # goes quiet (engine.debounces). Every call upserts it (the last call's workflow,
        # inputs and timing win; first_call_ms is kept, calls counted, fire_at_ms
        # recomputed); the dispatch tick deletes a due row and inserts its run in one
        # transaction.
        """CREATE TABLE {schema}.debounces (
            debounce_key  text PRIMARY KEY,
            workflow_name text NOT NULL,
            inputs        jsonb NOT NULL,
            queue_name    text NOT NULL,
            partition_key text,
            priority      integer NOT NULL DEFAULT 0,
            period_ms     bigint NOT NULL,
            max_wait_ms   bigint,
            first_call_ms bigint NOT NULL,
            last_call_ms  bigint NOT NULL,
            fire_at_ms    bigint NOT NULL,
            calls         bigint NOT NULL DEFAULT 1,
            CONSTRAINT debounces_key_length CHECK (length(debounce_key) BETWEEN 1 AND 150),
            CONSTRAINT debounces_period_positive CHECK (period_ms > 0),
            CONSTRAINT debounces_inputs_object CHECK (jsonb_typeof(inputs) = 'object')
        )""",
        "CREATE INDEX debounces_fire_at_idx ON {schema}.debounces (fire_at_ms)",
    ]),
    (11, "retention policy", [
        # One row (policy_id 1) every gateway sharing the database reads: the three limits
        # (NULL: off), how often and how much the automatic pass does, who set it, and the
        # last pass (last_pass_at_ms is also the guard one gateway wins per interval).
        """CREATE TABLE {schema}.retention_policy (
            policy_id           integer PRIMARY KEY DEFAULT 1,
            max_age_ms          bigint,
            max_rows            bigint,
            stale_after_ms      bigint,
            interval_ms         bigint NOT NULL DEFAULT 60000,
            batch_size          integer NOT NULL DEFAULT 500,
            updated_by          text,
            updated_at_ms       bigint,
            last_pass_at_ms     bigint NOT NULL DEFAULT 0,
            last_pass_deleted   integer NOT NULL DEFAULT 0,
            last_pass_cancelled integer NOT NULL DEFAULT 0,
            CONSTRAINT retention_policy_one_row CHECK (policy_id = 1),
            CONSTRAINT retention_policy_age_range CHECK (max_age_ms >= 0),
            CONSTRAINT retention_policy_rows_range CHECK (max_rows >= 0),
            CONSTRAINT retention_policy_stale_range CHECK (stale_after_ms > 0),
            CONSTRAINT retention_policy_interval_range CHECK (interval_ms >= 1000),
            CONSTRAINT retention_policy_batch_range CHECK (batch_size BETWEEN 1 AND 10000)
        )""",
        "INSERT INTO {schema}.retention_policy (policy_id) VALUES (1)",
        # maxRows keeps the newest terminal runs by (completed_at_ms, workflow_id): the
        # completed index gains the id, so it answers both the edge (the N-th newest) and
        # the batch below it in order (and still everything it answered before).
        "DROP INDEX {schema}.workflow_runs_completed_idx",
        """CREATE INDEX workflow_runs_completed_idx
           ON {schema}.workflow_runs (completed_at_ms, workflow_id)
           WHERE status IN (%s, 'STOPPED', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED')""" % _TERMINAL,
    ]),
    (12, "the claim as functions with cached plans", [_CLAIM_RUNS_12, _FINISH_AND_CLAIM_12]),
    (13, "the claim's fast path: one plain unlimited queue", [_CLAIM_RUNS_GENERAL_13,
                                                              _CLAIM_RUNS_13]),
    (14, "a sleep's suspend with the claim of the next runs", [_SUSPEND_AND_CLAIM_14]),
    (15, "a run's end with its last step's checkpoint and the claim of the next runs",
     [_FINISH_STEP_AND_CLAIM_15]),
    (16, "a claim starts a run no earlier than it was created or due",
     [_CLAIM_RUNS_GENERAL_16, _CLAIM_RUNS_16]),
    (17, "the claim's fast path finds its queue in two index probes", [_CLAIM_RUNS_17]),
]

LATEST_VERSION = MIGRATIONS[-1][0]

_LOCK = "SELECT 1 FROM (SELECT pg_advisory_xact_lock(hashtext(?))) l"  # a value, never void
_BOOTSTRAP = [
    "CREATE SCHEMA IF NOT EXISTS {schema}",
    """CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (
        version       integer PRIMARY KEY,
        name          text NOT NULL,
        applied_at_ms bigint NOT NULL)""",
]
_APPLIED = "SELECT version FROM {schema}.schema_migrations ORDER BY version"
_RECORD = """INSERT INTO {schema}.schema_migrations (version, name, applied_at_ms)
             VALUES (?, ?, CAST(extract(epoch FROM clock_timestamp()) * 1000 AS bigint))"""
_MIGRATIONS_TABLE = "SELECT to_regclass(?) IS NOT NULL"


def install(dbName=None):
    """Create or upgrade the schema; returns the versions applied by this call."""
    schema = settings.schemaName(dbName)

    def work(t):
        tx.query(dbName, _LOCK, ["exchange.workflows:" + schema], t)
        for statement in _BOOTSTRAP:
            tx.update(dbName, sql.bind(statement, dbName), [], t)
        applied = set(row[0] for row in tx.query(dbName, sql.bind(_APPLIED, dbName), [], t))
        done = []
        for version, name, statements in MIGRATIONS:
            if version in applied:
                continue
            for statement in statements:
                tx.update(dbName, sql.bind(statement, dbName), [], t)
            tx.update(dbName, sql.bind(_RECORD, dbName), [version, name], t)
            done.append(version)
        return done

    return tx.inTransaction(dbName, work)


def appliedVersions(dbName=None):
    """The migration versions recorded in the database ([] when nothing is installed)."""
    table = settings.schemaName(dbName) + ".schema_migrations"
    if not tx.scalar(dbName, _MIGRATIONS_TABLE, [table]):
        return []
    return [row[0] for row in tx.query(dbName, sql.bind(_APPLIED, dbName))]
