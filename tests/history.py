"""A plant's months of history and a backlog, made with set-based SQL, for the plan test
(test_hot_path_plans.py) and the bench (figure 7). CPython only (psycopg2 cursors).

``fillHistory`` adds terminal runs (of three queues: plain, partitioned, limited; or of the
plain one), some with a few step rows each; ``setBacklog`` replaces every non-terminal run
with ``queued`` ENQUEUED runs spread over the three queues, plus the active rows of a
working plant (runs RUNNING on this executor and on a dead one, partition slots taken,
WAITING and DELAYED runs) and the queue declarations, with the statistics taken after it
(fresh) or before it (stale, as after a burst on a big table).
"""
from __future__ import absolute_import, division, print_function

EXECUTOR = "me"           # a live executor: owns RUNNING runs, and claims
DEAD_EXECUTOR = "gone"    # its lease ran out long ago: owns RUNNING runs a beat recovers
PLAIN, PARTITIONED, LIMITED = "default", "line", "limited"
PARTITION_KEYS = 40
RUNNING = ["run-%d" % i for i in range(1, 9)]  # this executor's claimed runs (attempt 1)
WAITING = 2000   # runs waiting on a channel each, until a timeout far ahead
DELAYED = 1000   # delayed runs, a tenth of them due


def install(cur, schema):
    """The system schema's migrations, applied into ``schema`` (a throwaway one)."""
    from exchange.workflows.db import schema as migrations
    cur.execute("CREATE SCHEMA IF NOT EXISTS %s" % schema)
    for _, _, statements in migrations.MIGRATIONS:
        for statement in statements:
            cur.execute(statement.replace("{schema}", schema))


def fillHistory(cur, schema, runs=1000000, withSteps=300000, steps=3, oneQueue=False):
    """Add ``runs`` terminal runs (96% SUCCESS, 3% ERROR, 1% CANCELLED) ended over the past
    ``runs`` x 10 ms, the last ``withSteps`` of them with ``steps`` step rows each; all of
    the plain queue with ``oneQueue``, else 70% of it, 20% partitioned, 10% limited."""
    s = schema
    cur.execute("""
        INSERT INTO {s}.workflow_runs (workflow_id, workflow_name, status, queue_name,
               partition_key, inputs, output, error, executor_id, attempts, created_at_ms,
               updated_at_ms, claimed_at_ms, started_at_ms, completed_at_ms)
        SELECT 'h' || lpad(g::text, 8, '0'),
               CASE WHEN g %% 5 = 0 THEN 'w' || (g %% 20) ELSE 'three_steps' END,
               CASE WHEN g %% 100 < 96 THEN 'SUCCESS' WHEN g %% 100 < 99 THEN 'ERROR'
                    ELSE 'CANCELLED' END,
               CASE WHEN %(one)s OR g %% 10 < 7 THEN %(plain)s
                    WHEN g %% 10 < 9 THEN %(partitioned)s ELSE %(limited)s END,
               CASE WHEN NOT %(one)s AND g %% 10 IN (7, 8)
                    THEN 'unit-' || (g / 10 %% %(keys)s) END,
               '{{}}', CASE WHEN g %% 100 < 96 THEN jsonb '1' END,
               CASE WHEN g %% 100 BETWEEN 96 AND 98 THEN jsonb '{{"type": "Failed"}}' END,
               %(dead)s, 1, t.at, t.at, t.at, t.at, t.at + 50
          FROM (SELECT {s}.now_ms() - 60000 - %(runs)s * 10 AS zero) z,
               generate_series(1, %(runs)s) AS g,
               LATERAL (SELECT z.zero + g * 10 AS at) t""".format(s=s),
                dict(plain=PLAIN, partitioned=PARTITIONED, limited=LIMITED,
                     keys=PARTITION_KEYS, dead=DEAD_EXECUTOR, runs=runs, one=oneQueue))
    # the step rows reference runs written just above: the foreign key's per-row check is
    # skipped where allowed (a superuser), as a bulk load would
    cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    if cur.fetchone()[0]:
        cur.execute("SET session_replication_role = replica")
    cur.execute("""
        INSERT INTO {s}.step_outputs (workflow_id, step_position, step_name, status, output,
               attempts, executor_id, run_attempt, started_at_ms, completed_at_ms)
        SELECT 'h' || lpad(g::text, 8, '0'), p, 'step_' || p, 'SUCCESS', '1', 1, %(dead)s, 1,
               0, 0
          FROM generate_series(%(first)s, %(runs)s) AS g, generate_series(1, %(steps)s) AS p
         ORDER BY g, p""".format(s=s),
                dict(dead=DEAD_EXECUTOR, first=runs - withSteps + 1, runs=runs, steps=steps))
    cur.execute("RESET session_replication_role")
    cur.execute("VACUUM ANALYZE {s}.workflow_runs, {s}.step_outputs".format(s=s))


def setBacklog(cur, schema, queued, fresh=True, oneQueue=False):
    """Replace every non-terminal run: ``queued`` ENQUEUED runs (80% plain, 10% over the
    partitions of a queue with two slots each, 10% in a queue with every limit; with
    ``oneQueue`` all plain, the claim's fast path's case), and what a working plant has
    beside them. Executors and queue rows are set up too. Not ``fresh``:
    the statistics are taken before (they know of no active run: a burst that came after
    the last ANALYZE, as on a big table, where autovacuum analyzes after 10% changed)."""
    s = schema
    cur.execute("DELETE FROM {s}.workflow_runs WHERE completed_at_ms IS NULL".format(s=s))
    if not fresh:
        cur.execute("ANALYZE {s}.workflow_runs".format(s=s))
    cur.execute("DELETE FROM {s}.executors; DELETE FROM {s}.queues".format(s=s))
    cur.execute("""
        INSERT INTO {s}.executors (executor_id, executor_name, host, runtime, generation,
               lease_ms, worker_threads, heartbeat_at_ms, contact_since_ms)
        VALUES (%(me)s, %(me)s, 'here', 'cpython 3', 1, 30000, 8, {s}.now_ms(),
                {s}.now_ms() - 600000),
               (%(dead)s, %(dead)s, 'there', 'cpython 3', 1, 30000, 8,
                {s}.now_ms() - 600000, {s}.now_ms() - 900000)""".format(s=s),
                dict(me=EXECUTOR, dead=DEAD_EXECUTOR))
    cur.execute("""
        INSERT INTO {s}.queues (queue_name, concurrency, worker_concurrency, rate_limit,
               rate_period_ms, partition_concurrency)
        VALUES (%(partitioned)s, NULL, NULL, NULL, NULL, 2),
               (%(limited)s, 4, 2, 100, 60000, 1)""".format(s=s),
                dict(partitioned=PARTITIONED, limited=LIMITED))
    cur.execute("""
        INSERT INTO {s}.workflow_runs (workflow_id, workflow_name, status, queue_name, priority,
               partition_key, inputs)
        SELECT 'q' || lpad(g::text, 8, '0'), 'three_steps', 'ENQUEUED',
               CASE WHEN %(one)s OR g %% 10 < 8 THEN %(plain)s
                    WHEN g %% 10 = 8 THEN %(partitioned)s ELSE %(limited)s END,
               CASE WHEN g %% 50 = 0 THEN -1 ELSE 0 END,
               CASE WHEN NOT %(one)s AND g %% 10 = 8
                    THEN 'unit-' || (g / 10 %% %(keys)s) END, '{{}}'
          FROM generate_series(1, %(queued)s) AS g""".format(s=s),
                dict(plain=PLAIN, partitioned=PARTITIONED, limited=LIMITED,
                     keys=PARTITION_KEYS, queued=queued, one=oneQueue))
    # claimed runs: this executor's (some in partitions, holding slots), and a dead one's
    cur.execute("""
        INSERT INTO {s}.workflow_runs (workflow_id, workflow_name, status, queue_name,
               partition_key, partition_slot, inputs, executor_id, attempts, claimed_at_ms,
               started_at_ms, timeout_ms, deadline_ms)
        SELECT c.id, 'three_steps', 'RUNNING', c.queue, c.pkey, c.slot, jsonb '{{}}', c.owner, 1,
               {s}.now_ms(), {s}.now_ms(), 600000, {s}.now_ms() + 600000
          FROM (VALUES %(running)s,
                       ('slot-1', %(partitioned)s, 'unit-1', 0, %(me)s),
                       ('slot-2', %(partitioned)s, 'unit-2', 1, %(me)s),
                       ('limit-1', %(limited)s, NULL, NULL, %(me)s),
                       ('dead-1', %(plain)s, NULL, NULL, %(dead)s),
                       ('dead-2', %(partitioned)s, 'unit-3', 0, %(dead)s))
               AS c(id, queue, pkey, slot, owner)""".format(s=s).replace(
                   "%(running)s", ", ".join(
                       "('%s', %%(plain)s, NULL, CAST(NULL AS integer), %%(me)s)" % i
                       for i in RUNNING)),
                dict(plain=PLAIN, partitioned=PARTITIONED, limited=LIMITED, me=EXECUTOR,
                     dead=DEAD_EXECUTOR))
    # durable waits (a message or a prompt, until a timeout) and delayed runs
    cur.execute("""
        INSERT INTO {s}.workflow_runs (workflow_id, workflow_name, status, queue_name, inputs,
               waiting_for, run_at_ms, attempts, started_at_ms)
        SELECT 'wait-' || g, 'three_steps', 'WAITING', %(plain)s, jsonb '{{}}', 'channel-' || g,
               {s}.now_ms() + 600000, 1, {s}.now_ms()
          FROM generate_series(1, %(waiting)s) AS g
        UNION ALL
        SELECT 'delayed-' || g, 'three_steps', 'DELAYED', %(plain)s, jsonb '{{}}', NULL,
               {s}.now_ms() + CASE WHEN g %% 10 = 0 THEN -1000 ELSE 600000 END, 0, NULL
          FROM generate_series(1, %(delayed)s) AS g""".format(s=s),
                dict(plain=PLAIN, waiting=WAITING, delayed=DELAYED))
    cur.execute("ANALYZE {s}.executors, {s}.queues".format(s=s))
    if fresh:
        cur.execute("ANALYZE {s}.workflow_runs".format(s=s))
