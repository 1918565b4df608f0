"""Every statement a run costs, or the dispatch tick runs, stays cheap however long the
history: over a million terminal runs (300,000 with step rows), 10,000 queued, 2,000
waiting and 1,000 delayed, no plan would be JIT-compiled (its estimated cost stays under
the server's jit_above_cost) or reads workflow_runs or step_outputs sequentially, and
none touches more than a thousand of their rows (the backlog is never read whole), with
statistics taken after the backlog came or before it (as after a burst on a big table,
which autovacuum analyzes only after 10% of it changed), the backlog spread over three
queues or all in one plain queue (the claim's fast path's case). And the claim reads no more, and
nothing sequentially, with 100,000 runs queued than with 1,000. CPython only: plans are read
with psycopg2, which sends parameters as literals, as a gateway's driver does for a
statement's first executions; the claim's is the generic plan its function keeps.

The history is made once per session in a schema of its own (tests/history.py).
"""
from __future__ import absolute_import, division, print_function

import json

import psycopg2
import pytest

import history

pytestmark = pytest.mark.slow

SCHEMA = "plan_history"
HISTORY_RUNS = 1000000
RUNS_WITH_STEPS = 300000
BACKLOG = 10000
SHORT_BACKLOG, LONG_BACKLOG = 1000, 100000  # the claim compared over both
DEFAULT_JIT_ABOVE_COST = 100000.0
WHOLE_TABLES = ("workflow_runs", "step_outputs")  # never read sequentially, nor widely
TOUCHES_AT_MOST = 1000  # rows of those a hot-path statement may read (10,000 are queued)


class Plant(object):
    """The history schema and a session on it (jit on, as a server's default has it)."""

    def __init__(self, dsn):
        self.conn = psycopg2.connect(dsn)
        self.conn.autocommit = True
        self.cur = self.conn.cursor()
        self.cur.execute("SET jit = on")
        self.cur.execute("SELECT current_setting('jit_above_cost')::float8")
        configured = self.cur.fetchone()[0]
        # a server with JIT disabled by cost (-1) is judged by the default threshold
        self.jitAboveCost = configured if 0 <= configured <= DEFAULT_JIT_ABOVE_COST \
            else DEFAULT_JIT_ABOVE_COST
        self.state = None

    def explain(self, statement, params, analyze=False):
        """The JSON plan of one library statement (``{schema}`` and ``?`` placeholders) with
        these parameters; with ``analyze`` it runs, in a transaction rolled back."""
        text = statement.replace("{schema}", SCHEMA).replace("%", "%%")
        assert text.count("?") == len(params), "parameters do not match the statement"
        options = "ANALYZE, FORMAT JSON" if analyze else "FORMAT JSON"
        self.conn.autocommit = False
        try:
            self.cur.execute("EXPLAIN (%s) %s" % (options, text.replace("?", "%s")), params)
            return self.cur.fetchone()[0][0]["Plan"]
        finally:
            self.conn.rollback()
            self.conn.autocommit = True

    def explainGeneric(self, statement, types, params, analyze=False):
        """The JSON plan a prepared ``statement`` (``{schema}`` and ``$n`` parameters of
        ``types``) runs with under force_generic_plan: the plan the claim function builds on
        a connection's first claim and keeps. With ``analyze`` it runs, rolled back."""
        text = statement.replace("{schema}", SCHEMA)
        options = "ANALYZE, FORMAT JSON" if analyze else "FORMAT JSON"
        self.conn.autocommit = False
        try:
            self.cur.execute("SET LOCAL plan_cache_mode = force_generic_plan")
            self.cur.execute("PREPARE hot_generic (%s) AS %s" % (", ".join(types), text))
            self.cur.execute("EXPLAIN (%s) EXECUTE hot_generic (%s)"
                             % (options, ", ".join(["%s"] * len(params))), params)
            return self.cur.fetchone()[0][0]["Plan"]
        finally:
            self.conn.rollback()
            self.conn.autocommit = True
            self.cur.execute("DEALLOCATE ALL")

    def backlog(self, queued, statistics):
        """``queued`` runs and the rest of the working set, the statistics taken after them
        ("fresh") or before ("stale"; "stale, one queue": all queued runs in one plain
        queue, the claim's fast path's case)."""
        if self.state != (queued, statistics):
            history.setBacklog(self.cur, SCHEMA, queued, fresh=statistics == "fresh",
                               oneQueue=statistics.endswith("one queue"))
            self.state = (queued, statistics)


@pytest.fixture(scope="module")
def plant(testDatabase):
    made = Plant(testDatabase)
    made.cur.execute("DROP SCHEMA IF EXISTS %s CASCADE" % SCHEMA)
    history.install(made.cur, SCHEMA)
    history.fillHistory(made.cur, SCHEMA, HISTORY_RUNS, RUNS_WITH_STEPS)
    yield made
    made.cur.execute("DROP SCHEMA %s CASCADE" % SCHEMA)
    made.conn.close()


@pytest.fixture(scope="module", params=["fresh", "stale", "stale, one queue"])
def statistics(request, plant):
    """The backlog, with statistics taken after it came or before."""
    plant.backlog(BACKLOG, request.param)
    return request.param


def nodes(plan):
    """Every node of a plan (init plans, sub plans and CTEs included)."""
    yield plan
    for child in plan.get("Plans", []):
        for node in nodes(child):
            yield node


def sequential(plan):
    """The sequential reads of workflow_runs or step_outputs in a plan."""
    return ["%s on %s" % (n["Node Type"], n["Relation Name"]) for n in nodes(plan)
            if n["Node Type"] == "Seq Scan" and n.get("Relation Name") in WHOLE_TABLES]


def touched(plan):
    """Rows of workflow_runs and step_outputs an executed plan read, kept or filtered out,
    over all loops of all its scans."""
    return sum((n["Actual Rows"] + n.get("Rows Removed by Filter", 0)
                + n.get("Rows Removed by Index Recheck", 0)) * n["Actual Loops"]
               for n in nodes(plan)
               if n.get("Relation Name") in WHOLE_TABLES and "Scan" in n["Node Type"])


CLAIM_TYPES = ("text", "integer", "text", "text", "text")


def claimQuery():
    """The statement inside the claim_runs_general function (db.schema), its arguments as
    $1..$5."""
    from exchange.workflows.db import schema
    body = schema._CLAIM_RUNS_GENERAL_13.split("RETURN QUERY", 1)[1].rsplit(";", 1)[0]
    for n, name in enumerate(("a_names", "a_wanted", "a_me", "a_held", "a_versions"), 1):
        body = body.replace(name, "$%d" % n)
    return body


def explain(plant, statement, params, analyze=False):
    """A hot-path statement's plan: the claim's generic plan (the one its function keeps),
    any other statement's as sent."""
    if statement == CLAIM:
        return plant.explainGeneric(claimQuery(), CLAIM_TYPES, params, analyze)
    if statement == FAST_TAKE:
        from exchange.workflows.db import schema
        return plant.explainGeneric(schema.FAST_TAKE, FAST_TAKE_TYPES, params, analyze)
    return plant.explain(statement, params, analyze)


CLAIM = "the claim function's general statement"
FAST_TAKE = "the claim function's fast path"
FAST_TAKE_TYPES = ("text", "text", "integer", "text", "text")


def hotPath():
    """(what, statement, representative parameters) of every hot-path statement."""
    from exchange.workflows.db import debounces, executors, runs, schema, steps, waits
    me, mine = history.EXECUTOR, history.RUNNING[0]
    batch = json.dumps([{"workflow_id": "memory-%d" % i, "workflow_name": "three_steps",
                         "queue_name": history.PLAIN, "priority": 0, "inputs": {"i": i},
                         "accepted_at_ms": 1000} for i in range(100)])
    names = json.dumps(["three_steps", "w1"])
    return [
        ("enqueue", runs._INSERT,
         ["new-1", "three_steps", "ENQUEUED", history.PLAIN, 0, None, None, "{}", None, None,
          None, "1"]),
        ("enqueue, partitioned and deduplicated, delayed", runs._INSERT,
         ["new-2", "three_steps", "DELAYED", history.PARTITIONED, 0, "unit-1", "batch-7", "{}",
          60000, 5000, 3, "2"]),
        ("deduplication holder", runs._DEDUP_HOLDER, [history.PLAIN, "batch-7"]),
        ("in-memory batch insert", runs._INSERT_BATCH, [batch, 2000]),
        ("promote due runs", runs._PROMOTE, [1000]),
        ("lock limited queues", runs._LOCK_LIMITED, []),
        ("claim", CLAIM, [names, 8, me, "[]", '["1"]']),
        ("claim, two versions", CLAIM, [names, 8, me, "[]", '["2", "1"]']),
        ("claim holding the limited queues", CLAIM,
         [names, 32, me, json.dumps([history.LIMITED, history.PARTITIONED]), '["1"]']),
        ("claim's fast path: the one queue with work", schema.FAST_QUEUE, []),
        ("claim's fast path: the take", FAST_TAKE, [history.PLAIN, names, 8, me, '["1"]']),
        ("step checkpoint", steps._RECORD,
         [mine, me, 1, mine, 4, "step_4", "SUCCESS", "1", None, 1, me, 1, 0, 0]),
        ("step checkpoint, skipping a held run row (the group's)", steps._RECORD_NOWAIT,
         [mine, me, 1, mine, 4, "step_4", "SUCCESS", "1", None, 1, me, 1, 0, 0]),
        ("step checkpoints of several runs", steps._RECORD_SEVERAL,
         [json.dumps([[run, me, 1, 4, "step_4", 1, 0, 0, {"kg": 4}]
                      for run in history.RUNNING[:8]])]),
        ("a wait's wake time", steps._RECORD_WAKE_AT,
         [mine, me, 1, mine, 4, "<sleep>", "SUCCESS", 30000, 1, me, 1, 0, 0]),
        ("a wait's wake time with the kept step before it", steps._RECORD_WAKE_AT_AFTER,
         [mine, me, 1, mine, 4, "step_4", "1", 1, me, 1, 0, 0,
          mine, 5, "<sleep>", 30000, 1, me, 1, 0, 0]),
        ("step log read (a re-run)", steps._LIST, [mine]),
        ("step read at a position", steps._OUTPUT_AT, [mine, 2]),
        ("finish", runs._FINISH, ["SUCCESS", "1", None, mine, me, 1]),
        ("finished by (a lost answer)", runs._FINISHED_BY, [mine, "SUCCESS", me, 1]),
        ("time out", runs._TIME_OUT, ['{"type": "Timeout"}', mine, me, 1]),
        ("let go", runs._LET_GO, [mine, me, 1]),
        ("release", runs._RELEASE, [mine, me, 1]),
        ("owner read", runs._OWNER, [mine]),
        ("heartbeat", executors._BEAT, [me, 30000, 1, 8, 500, 10, False]),
        ("heartbeat, unregistered owners too", executors._BEAT, [me, 30000, 1, 8, 500, 10, True]),
        ("the idle lookout's look", executors._LOOKOUT, [me]),
        ("debounces due (the idle tick's pre-check)", debounces._ANY_DUE, [names]),
        ("recover own runs", executors._RECOVER_OWN,
         [me, 10, json.dumps([{"workflow_id": mine, "attempts": 1}])]),
        ("wait: channel lock", waits._CHANNEL_LOCK, ["channel-1"]),
        ("wait: own row", waits._OWN, [mine, me, 1]),
        ("wait: suspend", waits._SUSPEND, ["channel-x", 0, mine, me, 1]),
        ("sleep: suspend alone", waits._SUSPEND_ALONE,
         ["channel-x", 0, mine, me, 1, 0, 1000]),
        ("wait: hold", waits._HOLD, [mine, me, 1]),
        ("wait: wake", waits._WAKE, ["channel-1"]),
    ]


@pytest.mark.parametrize("what,statement,params", hotPath(), ids=[s[0] for s in hotPath()])
def test_no_hot_path_plan_is_jit_compiled_or_reads_the_history(plant, statistics, what,
                                                                statement, params):
    plan = explain(plant, statement, params)
    scans = sequential(plan)
    assert not scans, "%s reads the history sequentially: %s" % (what, scans)
    assert plan["Total Cost"] <= plant.jitAboveCost, \
        "%s: estimated cost %.0f is above jit_above_cost %.0f: every execution would be " \
        "JIT-compiled" % (what, plan["Total Cost"], plant.jitAboveCost)
    rows = touched(explain(plant, statement, params, analyze=True))
    assert rows <= TOUCHES_AT_MOST, "%s read %d rows (%s statistics)" % (what, rows, statistics)


def test_the_claim_costs_and_reads_no_more_with_a_long_backlog(plant, statistics):
    params = ['["three_steps"]', 8, history.EXECUTOR, "[]", '["1"]']
    try:
        plant.backlog(SHORT_BACKLOG, statistics)
        short = explain(plant, CLAIM, params, analyze=True)
        plant.backlog(LONG_BACKLOG, statistics)
        long = explain(plant, CLAIM, params, analyze=True)
    finally:
        plant.backlog(BACKLOG, statistics)
    assert long["Actual Rows"] == short["Actual Rows"] == 9, "8 claimed and the summary"
    # (its estimate grows with the backlog: a generic plan takes a LIMIT of a parameter for
    # a tenth of the rows below it; the function never JIT-compiles, whatever the estimate)
    assert not sequential(long), "over %d queued the claim reads %s" % (LONG_BACKLOG,
                                                                         sequential(long))
    assert touched(long) <= touched(short) + 100, \
        "taking 8 of %d queued runs read %d rows, of %d queued %d" \
        % (LONG_BACKLOG, touched(long), SHORT_BACKLOG, touched(short))


def test_the_claim_function_keeps_a_generic_plan_never_jit_compiled(plant):
    """The claim's plan is built once per connection and reused: the function carries
    plan_cache_mode = force_generic_plan (a custom plan costs 2-3 ms of planning a claim),
    jit = off and enable_seqscan = off, and so does the general statement's; and a claim
    through it takes the runs the statement takes."""
    for function in ("claim_runs", "claim_runs_general", "finish_and_claim", "suspend_and_claim",
                     "finish_step_and_claim"):
        plant.cur.execute("SELECT proconfig FROM pg_proc WHERE oid = to_regproc(%s)",
                          (SCHEMA + "." + function,))
        config = plant.cur.fetchone()[0]
        assert sorted(config) == ["enable_seqscan=off", "jit=off",
                                  "plan_cache_mode=force_generic_plan"], (function, config)
    plant.backlog(BACKLOG, "fresh")
    from exchange.workflows.db import runs
    plant.conn.autocommit = False
    try:
        plant.cur.execute(runs._CLAIM.replace("{schema}", SCHEMA).replace("?", "%s"),
                          ['["three_steps"]', 8, history.EXECUTOR, "[]", '["1"]'])
        rows = plant.cur.fetchall()
    finally:
        plant.conn.rollback()
        plant.conn.autocommit = True
    assert len([r for r in rows if r[0] is not None]) == 8, rows


def bareSchema(cur, name):
    """A system schema of its own, ``name``, made anew: every migration, autovacuum off on
    workflow_runs (its statistics change only when a test says so), executor "me" alive."""
    from exchange.workflows.db import schema
    cur.execute("DROP SCHEMA IF EXISTS %s CASCADE" % name)
    cur.execute("CREATE SCHEMA %s" % name)
    for _, _, statements in schema.MIGRATIONS:
        for statement in statements:
            cur.execute(statement.replace("{schema}", name))
    cur.execute("ALTER TABLE %s.workflow_runs SET (autovacuum_enabled = false)" % name)
    cur.execute("INSERT INTO %s.executors (executor_id, executor_name, host, runtime, "
                "generation, lease_ms, worker_threads) VALUES ('me', 'me', 'h', 'r', 1, "
                "3600000, 8)" % name)


def test_a_claim_plan_kept_from_a_small_table_reads_no_history_once_it_grew(plant):
    """A connection's first claim plans the function over the table as it is (a fresh
    install: nearly empty); the plan is kept while a history grows beneath it, until an
    ANALYZE. It must not scan the table sequentially then: with 300,000 runs more and no
    statistics of them, a claim on that connection reads no workflow_runs row but by index."""
    from exchange.workflows.db import runs
    small = "plan_small"
    cur = plant.cur
    bareSchema(cur, small)
    claim = runs._CLAIM.replace("{schema}", small).replace("?", "%s")
    params = ['["three_steps"]', 1, "me", "[]", '["1"]']
    own = psycopg2.connect(plant.conn.dsn)  # one connection: the plan it keeps
    try:
        ownCur = own.cursor()
        ownCur.execute(claim, params)  # planned over the empty table, and kept
        own.rollback()
        cur.execute("INSERT INTO %s.workflow_runs (workflow_id, workflow_name, status, "
                    "queue_name, inputs, completed_at_ms, output) "
                    "SELECT 'old-' || i, 'three_steps', 'SUCCESS', 'default', '{}', 1, '1' "
                    "FROM generate_series(1, 300000) i" % small)
        cur.execute("INSERT INTO %s.workflow_runs (workflow_id, workflow_name, status, "
                    "queue_name, inputs) SELECT 'new-' || i, 'three_steps', 'ENQUEUED', "
                    "'default', '{}' FROM generate_series(1, 100) i" % small)
        ownCur.execute(claim, params)
        taken = [row for row in ownCur.fetchall() if row[0] is not None]
        ownCur.execute("SELECT seq_scan FROM pg_stat_xact_user_tables "
                       "WHERE schemaname = %s AND relname = 'workflow_runs'", (small,))
        scans = ownCur.fetchone()[0]
        own.rollback()
    finally:
        own.close()
        cur.execute("DROP SCHEMA %s CASCADE" % small)
    assert len(taken) == 1, taken
    assert scans == 0, "the kept plan read workflow_runs sequentially %d time(s)" % scans


def test_the_fast_path_reads_no_backlog_to_find_its_queue_after_a_burst(testDatabase):
    """A burst of runs into one plain queue of a table analyzed before it (statistics that
    know of no queued run: autovacuum analyzes a big table only after 10% of it changed):
    each claim still finds the queue with a few index probes. Version 13's fast path asked
    whether a queued run named a later queue with an anti join, which such statistics
    planned as a read of every queued run of the queue, in every claim. (The rows are
    fresh, not yet all-visible: each index entry a scan reads fetches its row.)"""
    from exchange.workflows.db import runs
    burst = "plan_burst"
    conn = psycopg2.connect(testDatabase)
    conn.autocommit = True
    cur = conn.cursor()
    try:
        bareSchema(cur, burst)
        cur.execute("INSERT INTO %s.workflow_runs (workflow_id, workflow_name, status, "
                    "queue_name, inputs, completed_at_ms, output) "
                    "SELECT 'old-' || i, 'three_steps', 'SUCCESS', 'default', '{}', 1, '1' "
                    "FROM generate_series(1, 20000) i" % burst)
        cur.execute("VACUUM ANALYZE %s.workflow_runs" % burst)
        cur.execute("INSERT INTO %s.workflow_runs (workflow_id, workflow_name, status, "
                    "queue_name, inputs) SELECT 'new-' || i, 'three_steps', 'ENQUEUED', "
                    "'default', '{}' FROM generate_series(1, %d) i" % (burst, BACKLOG))
        conn.autocommit = False
        cur.execute("SET LOCAL track_functions = 'pl'")
        cur.execute(runs._CLAIM.replace("{schema}", burst).replace("?", "%s"),
                    ['["three_steps"]', 1, "me", "[]", '["1"]'])
        taken = [row[0] for row in cur.fetchall() if row[0] is not None]
        cur.execute("SELECT idx_tup_fetch FROM pg_stat_xact_user_tables "
                    "WHERE schemaname = %s AND relname = 'workflow_runs'", (burst,))
        read = cur.fetchone()[0]
        cur.execute("SELECT funcname FROM pg_stat_xact_user_functions WHERE schemaname = %s",
                    (burst,))
        ran = sorted(row[0] for row in cur.fetchall())
    finally:
        conn.rollback()
        conn.autocommit = True
        cur.execute("DROP SCHEMA IF EXISTS %s CASCADE" % burst)
        conn.close()
    assert taken == ["new-1"], taken
    assert "claim_runs_general" not in ran, "the fast path did not take it: %s" % ran
    assert read <= 100, "a claim of 1 of %d queued runs fetched %d rows" % (BACKLOG, read)
