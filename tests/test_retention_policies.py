"""Retention policies against the real database: the policy is one row every gateway reads,
set and read by the admin API (authorized, journaled); applied on demand it removes exactly
the ended runs it should (by age, beyond a row count) and cancels, never deletes, stale
active runs; dispatch applies it automatically, one bounded batch per interval, and still
claims queued work while 100,000 runs fill the table."""
from __future__ import absolute_import, division, print_function

from support import IS_JYTHON, EngineCase

DAY_MS, MINUTE_MS = 86400000, 60000
# The bulk table: every tenth run is active (HELD or WAITING), the others ended one minute
# apart, the newest first (run g ended g minutes and a half ago). Jython fills fewer rows
# (the same statement; its driver only reads the remaining ids slower).
RUNS = 20000 if IS_JYTHON else 100000
AGE_DAYS = 10  # runs g > 14400 ended longer ago


def bulkInsert(gw, runs):
    """``runs`` runs in one INSERT ... SELECT; their numbers g are 1..runs."""
    gw.sql("""
        INSERT INTO workflows.workflow_runs (workflow_id, workflow_name, status, queue_name,
               inputs, output, waiting_for, run_at_ms, created_at_ms, claimed_at_ms,
               started_at_ms, completed_at_ms)
        SELECT 'r' || lpad(g::text, 6, '0'), 'bulk',
               CASE WHEN g % 10 <> 0 THEN 'SUCCESS' WHEN g % 20 = 0 THEN 'HELD'
                    ELSE 'WAITING' END,
               'bulk', '{}',
               CASE WHEN g % 10 <> 0 THEN '1'::jsonb END,
               CASE WHEN g % 20 = 10 THEN 'message:bulk' END,
               CASE WHEN g % 20 = 10 THEN workflows.now_ms() + 86400000 END,
               workflows.now_ms() - g * 60000 - 31000, workflows.now_ms() - g * 60000 - 30900,
               workflows.now_ms() - g * 60000 - 30800,
               CASE WHEN g % 10 <> 0 THEN workflows.now_ms() - g * 60000 - 30000 END
          FROM generate_series(1, CAST(? AS bigint)) AS g""", runs)


def bulkId(g):
    return "r%06d" % g


def isActive(g):
    return g % 10 == 0


def remaining(gw):
    return set(row[0] for row in gw.sql(
        "SELECT workflow_id FROM workflows.workflow_runs WHERE workflow_name = 'bulk'"))


class RetentionPolicyTest(EngineCase):

    def engineerOnly(self):
        admin = self.engine.admin
        assert admin.configure(adminRoles=["Engineer"])["ok"]
        self.addCleanup(admin.configure, adminRoles=[])

    def journal(self):
        import exchange.workflows.api.journal as journal
        entries = journal.listJournal(action="RETENTION")["data"]["entries"]
        return [(e["actor"], e["outcome"], e["accepted"]) for e in reversed(entries)]

    def test_every_table_of_a_run_goes_with_it(self):
        rows = self.engine.gw.sql("""
            SELECT c.conrelid::regclass::text, c.confdeltype FROM pg_constraint c
             WHERE c.contype = 'f' AND c.confrelid = 'workflows.workflow_runs'::regclass""")
        assert rows and all(kind == "c" for _table, kind in rows), rows

    def test_the_policy_is_set_by_an_admin_read_by_anyone_and_journaled(self):
        self.engineerOnly()
        admin, eng = self.engine.admin, dict(user="eng", roles=["Engineer"])
        off = admin.getRetentionPolicy()
        assert (off["code"], off["data"]["automatic"], off["data"]["maxAgeDays"],
                off["data"]["lastPassAtMs"]) == ("RETENTION_POLICY", False, None, None), off
        nothing = admin.applyRetention()
        assert (nothing["ok"], nothing["code"]) == (False, "NO_RETENTION_POLICY"), nothing
        refused = admin.setRetentionPolicy(maxAgeDays=30, user="op", roles=["Operator"])
        assert (refused["ok"], refused["code"]) == (False, "NOT_AUTHORIZED"), refused
        for bad in (dict(maxAgeDays=-1), dict(maxRows=1.5), dict(staleAfterHours=0),
                    dict(batchSize=0), dict(batchSize=10001), dict(intervalSeconds="x")):
            wrong = admin.setRetentionPolicy(**dict(bad, **eng))
            assert (wrong["ok"], wrong["code"]) == (False, "INVALID_ARGUMENT"), (bad, wrong)
        stored = admin.setRetentionPolicy(maxAgeDays=30, maxRows=5000, staleAfterHours=12,
                                          intervalSeconds=120, batchSize=200, **eng)
        assert stored["code"] == "RETENTION_POLICY_SET", stored
        read = admin.getRetentionPolicy()["data"]
        assert dict((k, read[k]) for k in ("maxAgeDays", "maxRows", "staleAfterHours",
                                           "intervalSeconds", "batchSize", "automatic",
                                           "updatedBy")) == {
            "maxAgeDays": 30.0, "maxRows": 5000, "staleAfterHours": 12.0,
            "intervalSeconds": 120.0, "batchSize": 200, "automatic": True, "updatedBy": "eng"}
        assert self.engine.gw.sql("SELECT max_age_ms, stale_after_ms, interval_ms FROM "
                                  "workflows.retention_policy") == [(30 * DAY_MS, 12 * 3600000,
                                                                     120000)]
        assert admin.setRetentionPolicy(**eng)["data"]["automatic"] is False  # all off
        assert self.journal() == [("op", "NOT_AUTHORIZED", False),
                                  ("eng", "RETENTION_POLICY_SET", True),
                                  ("eng", "RETENTION_POLICY_SET", True)]

    def test_retention_removes_exactly_what_it_should_among_many_runs(self):
        engine = self.engine
        bulkInsert(engine.gw, RUNS)
        engine.gw.sql("""INSERT INTO workflows.step_outputs (workflow_id, step_position,
                             step_name, status, output, attempts, executor_id, run_attempt,
                             started_at_ms, completed_at_ms)
                         SELECT workflow_id, 1, 'bulk_step', 'SUCCESS', '1', 1, 'x', 1, 0, 1
                           FROM workflows.workflow_runs WHERE workflow_id LIKE '%01'""")
        ended = [g for g in range(1, RUNS + 1) if not isActive(g)]
        active = set(bulkId(g) for g in range(1, RUNS + 1) if isActive(g))
        assert engine.admin.setRetentionPolicy(maxAgeDays=AGE_DAYS, batchSize=5000)["ok"]
        byAge = engine.admin.applyRetention()
        assert byAge["code"] == "RETENTION_APPLIED", byAge
        young = [g for g in ended if g * MINUTE_MS < AGE_DAYS * DAY_MS]
        assert remaining(engine.gw) == set(bulkId(g) for g in young) | active
        assert byAge["data"]["deleted"] == len(ended) - len(young), byAge["data"]
        keepRows = len(young) // 3
        assert engine.admin.setRetentionPolicy(maxAgeDays=AGE_DAYS, maxRows=keepRows,
                                               batchSize=5000)["ok"]
        applied = engine.admin.applyRetention()
        kept = set(bulkId(g) for g in young[:keepRows])
        assert remaining(engine.gw) == kept | active
        assert (applied["data"]["deleted"], applied["data"]["cancelled"]) == \
            (len(young) - keepRows, 0), applied["data"]
        steps = engine.gw.sql("SELECT workflow_id FROM workflows.step_outputs")
        assert set(row[0] for row in steps) == set(w for w in kept if w.endswith("01"))

    def test_dispatch_removes_one_batch_per_interval_and_still_claims(self):
        from exchange.workflows.engine import retention
        engine = self.engine
        engine.startOnlyOnDispatch()
        bulkInsert(engine.gw, RUNS)
        before = remaining(engine.gw)
        assert engine.admin.setRetentionPolicy(maxAgeDays=AGE_DAYS, intervalSeconds=3600,
                                               batchSize=500)["ok"]
        queued = [engine.enqueue("three_steps") for _ in range(3)]
        first = engine.service.dispatch()["data"]
        assert first["retention"] == {"deleted": 500, "cancelled": 0}, first
        assert first["claimed"] == 3, first
        oldest = sorted((g for g in range(1, RUNS + 1) if not isActive(g)), reverse=True)
        assert before - remaining(engine.gw) == set(bulkId(g) for g in oldest[:500])
        again = engine.service.dispatch()["data"]  # within the interval: no pass
        assert again["retention"] is None and len(remaining(engine.gw)) == len(before) - 500
        engine.gw.sql("UPDATE workflows.retention_policy SET last_pass_at_ms = 0")
        retention.checkSoon(engine.gw.dbName)
        third = engine.service.dispatch()["data"]
        assert third["retention"] == {"deleted": 500, "cancelled": 0}, third
        assert before - remaining(engine.gw) == set(bulkId(g) for g in oldest[:1000])
        assert engine.admin.getRetentionPolicy()["data"]["lastPassDeleted"] == 500
        assert engine.runToEnd(*queued) == ["SUCCESS"] * 3

    def test_a_pass_deletes_at_most_its_batch_by_age_and_beyond_the_rows_together(self):
        from exchange.workflows.engine import retention
        engine = self.engine
        bulkInsert(engine.gw, 100)  # 90 ended: 45 older than 50 minutes, 45 younger
        assert engine.admin.setRetentionPolicy(maxAgeDays=50 / 1440.0, maxRows=10,
                                               batchSize=30)["ok"]
        policy = retention.storedPolicy(engine.gw.dbName)
        passes = [retention.onePass(engine.gw.dbName, policy)["deleted"] for _ in range(4)]
        assert passes == [30, 30, 20, 0], passes  # 45 by age, then 35 beyond the newest 10
        young = [g for g in range(1, 51) if not isActive(g)]
        assert remaining(engine.gw) == set(bulkId(g) for g in young[:10]) | set(
            bulkId(g) for g in range(1, 101) if isActive(g))

    def test_a_gateway_that_lost_the_pass_makes_none(self):
        from exchange.workflows.engine import retention
        engine = self.engine
        bulkInsert(engine.gw, 100)
        assert engine.admin.setRetentionPolicy(maxAgeDays=0, intervalSeconds=3600)["ok"]
        engine.gw.sql("UPDATE workflows.retention_policy SET last_pass_at_ms = "
                      "workflows.now_ms()")  # another gateway just made this interval's pass
        retention.checkSoon(engine.gw.dbName)
        assert retention.tick(engine.gw.dbName) is None
        assert len(remaining(engine.gw)) == 100

    def test_a_failed_pass_is_logged_and_never_fails_the_tick(self):
        from exchange.workflows.db import retention as statements
        from exchange.workflows.engine import retention

        def broken(dbName):
            raise ValueError("a pass that cannot be made")
        self.addCleanup(setattr, statements, "claimPass", statements.claimPass)
        statements.claimPass = broken
        retention.checkSoon(self.gw.dbName)
        self.addCleanup(retention.checkSoon, self.gw.dbName)
        ticked = self.engine.service.dispatch()
        assert ticked["ok"] and ticked["data"]["retention"] is None, ticked

    def test_stale_active_runs_are_cancelled_with_a_reason_never_deleted(self):
        engine = self.engine
        engine.startOnlyOnDispatch()
        stale = [engine.enqueue("three_steps") for _ in range(2)]
        held = engine.enqueue("three_steps")
        assert engine.service.sendCommand(held, "HOLD")["code"] == "HELD"
        fresh = engine.enqueue("three_steps")
        engine.gw.sql("UPDATE workflows.workflow_runs SET created_at_ms = created_at_ms - "
                      "2 * 86400000 WHERE workflow_id IN (?, ?, ?)", stale[0], stale[1], held)
        assert engine.admin.setRetentionPolicy(staleAfterHours=24)["ok"]
        applied = engine.admin.applyRetention()
        assert (applied["data"]["deleted"], applied["data"]["cancelled"]) == (0, 3), applied
        rows = engine.gw.sql("SELECT workflow_id, status, error->>'type', error->>'message' "
                             "FROM workflows.workflow_runs ORDER BY workflow_id")
        assert sorted((w, s) for w, s, _t, _m in rows) == sorted(
            [(stale[0], "CANCELLED"), (stale[1], "CANCELLED"), (held, "CANCELLED"),
             (fresh, "ENQUEUED")])
        reasons = set((t, m) for w, s, t, m in rows if s == "CANCELLED")
        assert reasons == set([("RetentionTimeout",
                                "cancelled by retention: active for more than 24 hour(s)")])
        assert engine.runToEnd(fresh) == ["SUCCESS"]

    def test_the_stale_timeout_cancels_only_active_runs(self):
        engine = self.engine
        bulkInsert(engine.gw, 100)  # created 1.5 to 100.5 minutes ago, one in ten active
        assert engine.admin.setRetentionPolicy(staleAfterHours=1 / 60.0)["ok"]
        applied = engine.admin.applyRetention()["data"]
        assert (applied["deleted"], applied["cancelled"]) == (0, 10), applied
        rows = engine.gw.sql("SELECT workflow_id, status, error IS NULL FROM "
                             "workflows.workflow_runs WHERE workflow_name = 'bulk'")
        assert sorted(rows) == sorted(
            (bulkId(g), "CANCELLED", False) if isActive(g) else (bulkId(g), "SUCCESS", True)
            for g in range(1, 101)), "an ended run was cancelled again"

    def test_an_ended_child_stays_while_its_parent_may_still_read_it(self):
        engine = self.engine
        assert engine.admin.registerWorkflowModules(["testing.childflows"])["ok"]
        wf = engine.enqueue("parent_waits_child")
        child = wf + "-c1"
        engine.runUntil(lambda: [engine.status(w) for w in (wf, child)] == ["WAITING"] * 2,
                        message="parent and child wait")
        engine.startOnlyOnDispatch()
        engine.gw.sql("""UPDATE workflows.workflow_runs SET status = 'SUCCESS',
                             output = '{"got": "late"}', waiting_for = NULL,
                             completed_at_ms = workflows.now_ms() - 60000
                          WHERE workflow_id = ?""", child)  # (ended; the parent is woken)
        assert engine.status(wf) == "ENQUEUED"
        bulkInsert(engine.gw, 20)  # ended runs no parent waits for
        for policy in (dict(maxAgeDays=0), dict(maxRows=0)):
            assert engine.admin.setRetentionPolicy(**policy)["ok"]
            assert engine.admin.applyRetention()["ok"]
            assert remaining(engine.gw) == set(bulkId(g) for g in (10, 20)), policy
            assert engine.status(child) == "SUCCESS", policy
        assert engine.runToEnd(wf) == ["SUCCESS"]
        assert engine.service.getResult(wf, 0)["data"]["output"] == \
            {"child": child, "result": {"got": "late"}}
        assert engine.admin.applyRetention()["data"]["deleted"] == 2  # both ended: both go

    def test_the_console_panel_shows_edits_and_applies_the_policy(self):
        self.engineerOnly()
        from exchange.workflows.api import consoleadmin
        eng = dict(user="eng", roles=["Engineer"])
        engine = self.engine
        bulkInsert(engine.gw, 50)
        shown = consoleadmin.retentionPolicy()["data"]["summary"]
        assert shown == {"maxAge": "off", "maxRows": "off", "staleAfter": "off",
                         "pace": "up to 500 run(s) every 60 s", "lastPass": "never"}, shown
        refused = consoleadmin.setRetentionPolicy(maxRows=10, user="op", roles=["Operator"])
        assert refused["code"] == "NOT_AUTHORIZED", refused
        assert consoleadmin.setRetentionPolicy(maxRows=10, **eng)["code"] == \
            "RETENTION_POLICY_SET"
        applied = consoleadmin.applyRetention(**eng)
        assert (applied["code"], applied["data"]["deleted"]) == ("RETENTION_APPLIED", 35), applied
        assert len(remaining(engine.gw)) == 15  # 5 active, the 10 newest ended
        shown = consoleadmin.retentionPolicy()["data"]["summary"]
        assert (shown["maxRows"], shown["lastPass"]) == ("the newest 10 ended runs stay",
                                                         "35 deleted, 0 cancelled"), shown
        assert self.journal() == [("op", "NOT_AUTHORIZED", False),
                                  ("eng", "RETENTION_POLICY_SET", True),
                                  ("eng", "RETENTION_APPLIED", True)]
