"""The claim's fast path (schema version 13): where one plain, unlimited queue has work, no
partitioned run is queued and no maintenance covers it, ``claim_runs`` claims without the
general statement, and takes exactly the runs the general statement takes; in every other
case it leaves the claim to the general statement (``claim_runs_general``).

Each claim runs in a transaction that is rolled back, so both functions meet the same rows;
``track_functions`` tells whether the general statement ran. CPython (psycopg2): the
functions are the database's, whatever the interpreter that calls them.
"""
from __future__ import absolute_import, division, print_function

import json

import psycopg2
import pytest

import history

SCHEMA = "fast_claim"
ME = "me"
NAMES = json.dumps(["mix", "dose"])
VERSIONS = json.dumps(["1"])


class Plant(object):
    """A throwaway schema with this executor registered, and a session on it."""

    def __init__(self, dsn):
        self.dsn = dsn
        self.conn = psycopg2.connect(dsn)
        self.conn.autocommit = True
        self.cur = self.conn.cursor()
        self.cur.execute("DROP SCHEMA IF EXISTS %s CASCADE" % SCHEMA)
        history.install(self.cur, SCHEMA)
        self.sql("INSERT INTO {s}.executors (executor_id, executor_name, host, runtime, "
                 "generation, lease_ms, worker_threads) VALUES (%s, 'me', 'h', 'r', 1, "
                 "3600000, 8)", (ME,))

    def sql(self, statement, params=None):
        self.cur.execute(statement.replace("{s}", SCHEMA), params)

    def enqueue(self, workflowId, queue="default", name="mix", priority=0, version="1",
                partition=None):
        self.sql("INSERT INTO {s}.workflow_runs (workflow_id, workflow_name, status, "
                 "queue_name, priority, partition_key, inputs, app_version) "
                 "VALUES (%s, %s, 'ENQUEUED', %s, %s, %s, '{}', %s)",
                 (workflowId, name, queue, priority, partition, version))

    def claim(self, function, wanted, held="[]", names=NAMES):
        """(claimed ids in order, the last row's (limited, queues), whether the general
        statement ran), rolled back."""
        self.conn.autocommit = False
        try:
            self.cur.execute("SET LOCAL track_functions = 'pl'")
            before = self.generalCalls()
            self.cur.execute("SELECT * FROM %s.%s(%%s, %%s, %%s, %%s, %%s)"
                             % (SCHEMA, function), (names, wanted, ME, held, VERSIONS))
            rows = self.cur.fetchall()
            general = self.generalCalls() - before
        finally:
            self.conn.rollback()
            self.conn.autocommit = True
        return ([r[0] for r in rows if r[0] is not None],
                [(r[2], r[3]) for r in rows if r[0] is None], general > 0)

    def generalCalls(self):
        """Calls of the general statement counted so far (the counts of a finished
        transaction may still show until the server flushes them: compare two readings)."""
        self.cur.execute("SELECT coalesce(sum(calls), 0) FROM pg_stat_xact_user_functions "
                         "WHERE schemaname = %s AND funcname = 'claim_runs_general'", (SCHEMA,))
        return self.cur.fetchone()[0]

    def close(self):
        self.cur.execute("DROP SCHEMA %s CASCADE" % SCHEMA)
        self.conn.close()


@pytest.fixture
def plant(testDatabase):
    made = Plant(testDatabase)
    yield made
    made.close()


def both(plant, wanted, held="[]"):
    """The fast claim and the general one over the same rows: (claimed, summary, general
    ran) of each."""
    return plant.claim("claim_runs", wanted, held), plant.claim("claim_runs_general", wanted,
                                                                  held)


def bothWhileHeld(plant, wanted, heldWhere):
    """``both`` while another claimer's transaction holds the runs ``heldWhere`` picks."""
    other = psycopg2.connect(plant.dsn)
    try:
        other.cursor().execute("SELECT workflow_id FROM %s.workflow_runs WHERE %s FOR UPDATE"
                               % (SCHEMA, heldWhere))
        return both(plant, wanted)
    finally:
        other.rollback()
        other.close()


def oneQueue(plant):
    """One plain queue: priorities out of order, a run of another workflow, one of another
    application version."""
    for i, priority in enumerate([5, 0, 3, 0, 9, 1, 0, 2, 7, 4, 0, 6]):
        plant.enqueue("run-%02d" % i, priority=priority)
    plant.enqueue("other-name", priority=0, name="unregistered")
    plant.enqueue("other-version", priority=0, version="2")


@pytest.mark.parametrize("wanted", [1, 3, 8, 20])
def test_one_plain_queue_is_claimed_fast_and_as_the_general_claim_does(plant, wanted):
    oneQueue(plant)
    fast, general = both(plant, wanted)
    assert not fast[2], "the general statement ran where the fast path applies"
    assert fast[0] == general[0], (fast, general)
    assert len(fast[0]) == min(wanted, 12)
    assert fast[1] == general[1] == [(0, 1)]  # no limited queue, one queue with work


def test_the_fast_claim_skips_runs_another_claimer_holds(plant):
    oneQueue(plant)
    fast, general = bothWhileHeld(plant, 4, "workflow_id IN ('run-01', 'run-03', 'run-06')")
    assert not fast[2]
    assert fast[0] == general[0] == ["run-10", "run-05", "run-07", "run-02"], (fast, general)


def test_the_fast_claim_goes_past_more_held_runs_than_the_general_claim_looks_at(plant):
    """Other claimers hold the queue's first 20 runs: the general statement, which looks at
    its first wanted + 16 candidates, takes nothing; the fast path takes the next ones."""
    for i in range(30):
        plant.enqueue("run-%02d" % i)
    fast, general = bothWhileHeld(plant, 3, "workflow_id < 'run-20'")
    assert not fast[2]
    assert fast[0] == ["run-20", "run-21", "run-22"], fast
    assert general[0] == [], general


def test_a_claim_of_no_runs_takes_none_on_the_fast_path_either(plant):
    oneQueue(plant)
    fast, general = both(plant, None)
    assert not fast[2]
    assert fast[0] == general[0] == [], (fast, general)


def test_the_fast_claim_stamps_a_claimed_run_as_the_general_claim_does(plant):
    plant.enqueue("run-a")
    plant.sql("UPDATE {s}.workflow_runs SET timeout_ms = 60000 WHERE workflow_id = 'run-a'")
    plant.conn.autocommit = False
    try:
        plant.cur.execute("SELECT * FROM %s.claim_runs(%%s, 1, %%s, '[]', %%s)" % SCHEMA,
                          (NAMES, ME, VERSIONS))
        claimed = plant.cur.fetchall()[0]
        plant.cur.execute("SELECT status, executor_id, attempts, claimed_at_ms IS NOT NULL, "
                          "started_at_ms IS NOT NULL, deadline_ms - started_at_ms FROM "
                          "%s.workflow_runs WHERE workflow_id = 'run-a'" % SCHEMA)
        row = plant.cur.fetchone()
    finally:
        plant.conn.rollback()
        plant.conn.autocommit = True
    assert claimed[:2] == ("run-a", 1) and claimed[4] == "mix" and claimed[5] == "{}", claimed
    assert claimed[8] is False, "a run without steps says so (no log read)"
    assert row == ("RUNNING", ME, 1, True, True, 60000), row


def test_a_second_queue_with_work_goes_to_the_general_claim_and_its_turns(plant):
    for i in range(4):
        plant.enqueue("a-%d" % i, queue="alpha")
        plant.enqueue("b-%d" % i, queue="beta")
    fast, general = both(plant, 4)
    assert fast[2], "two queues need the general statement's turns"
    assert fast[0] == general[0] == ["a-0", "b-0", "a-1", "b-1"], fast


def test_a_limited_queue_goes_to_the_general_claim_and_keeps_its_budget(plant):
    plant.sql("INSERT INTO {s}.queues (queue_name, concurrency) VALUES ('default', 2)")
    oneQueue(plant)
    fast, general = both(plant, 8, held=json.dumps(["default"]))
    assert fast[2]
    assert fast[0] == general[0] and len(fast[0]) == 2, fast
    assert fast[1] == [(1, 1)]


def test_queued_partitioned_work_goes_to_the_general_claim(plant):
    oneQueue(plant)
    plant.enqueue("line-1", queue="line", partition="unit-1")
    fast, general = both(plant, 20)
    assert fast[2]
    assert "line-1" in fast[0] and fast[0] == general[0], fast


@pytest.mark.parametrize("scope", ["", "default"])
def test_maintenance_goes_to_the_general_claim_which_takes_nothing(plant, scope):
    oneQueue(plant)
    plant.sql("INSERT INTO {s}.maintenance (scope, mode, reason, actor) "
              "VALUES (%s, 'drain', 'test', 'me')", (scope,))
    fast, general = both(plant, 8)
    assert fast[2]
    assert fast[0] == general[0] == [], fast


def test_an_executor_whose_lease_lapsed_claims_nothing_on_the_fast_path_either(plant):
    oneQueue(plant)
    plant.sql("UPDATE {s}.executors SET heartbeat_at_ms = heartbeat_at_ms - 7200000")
    fast, general = both(plant, 8)
    assert fast[0] == general[0] == [], fast
    assert fast[1] == general[1] == [(0, 1)]


def test_no_queued_work_claims_nothing(plant):
    fast, general = both(plant, 8)
    assert fast[0] == general[0] == []
    assert fast[1] == general[1] == [(0, 0)]
