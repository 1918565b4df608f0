"""The system schema (install, check, concurrent installers) and the dispatch cycle."""
from __future__ import absolute_import, division, print_function

import threading

import support
from helpers import waitFor


class SchemaTest(support.GatewayCase):
    def test_install_is_idempotent_and_check_reports_it(self):
        gw = self.gw
        import exchange.workflows.api.admin as admin
        admin.configure(schemaName="wf_install_check")
        gw.addCleanup(lambda: gw.sql("DROP SCHEMA IF EXISTS wf_install_check CASCADE"))
        before = admin.checkSchema()
        assert before["code"] == "SCHEMA_NOT_INSTALLED" and before["data"]["version"] == 0
        first = admin.installSchema()
        everyVersion = list(range(1, first["data"]["version"] + 1))
        assert first["ok"] and first["data"]["applied"] == everyVersion
        second = admin.installSchema()
        assert second["ok"] and second["data"]["applied"] == []
        after = admin.checkSchema()
        assert after["code"] == "SCHEMA_CURRENT" and after["data"]["pending"] == []
        rows = gw.sql("SELECT version FROM wf_install_check.schema_migrations")
        assert [r[0] for r in rows] == everyVersion

    def test_many_executors_installing_at_once_apply_each_migration_once(self):
        gw = self.gw
        import exchange.workflows.api.admin as admin
        admin.configure(schemaName="wf_concurrent")
        gw.addCleanup(lambda: gw.sql("DROP SCHEMA IF EXISTS wf_concurrent CASCADE"))
        from helpers import runConcurrently
        results = runConcurrently(admin.installSchema, 6)
        assert len(results) == 6 and all(r["ok"] for r in results), results
        latest = results[0]["data"]["version"]
        assert sorted(len(r["data"]["applied"]) for r in results) == [0] * 5 + [latest]
        assert gw.sql("SELECT count(*) FROM wf_concurrent.schema_migrations") == [(latest,)]

    def test_invalid_schema_name_is_refused(self):
        gw = self.gw
        import exchange.workflows.api.admin as admin
        result = admin.configure(schemaName="workflows; DROP TABLE x")
        assert result["ok"] is False and result["code"] == "INVALID_ARGUMENT"


class DispatchTest(support.EngineCase):
    """What one dispatch does with queued work (enqueue's immediate claim is off)."""

    def setUp(self):
        support.EngineCase.setUp(self)
        self.engine.startOnlyOnDispatch()

    def test_dispatch_claims_only_free_capacity(self):
        engine = self.engine
        import system
        engine.admin.configure(workerThreads=2)
        gate = threading.Event()
        system.util.getGlobals()["gate.capacity"] = gate
        ids = [engine.enqueue("gated", inputs={"gateName": "gate.capacity"}) for _ in range(5)]
        first = engine.service.dispatch()["data"]
        assert first["claimed"] == 2 and first["submitted"] == 2
        assert engine.service.dispatch()["data"]["claimed"] == 0, "claimed beyond capacity"
        statuses = sorted(engine.status(w) for w in ids)
        assert statuses.count("ENQUEUED") == 3
        gate.set()
        assert engine.runToEnd(*ids) == ["SUCCESS"] * 5

    def test_the_engine_keeps_its_own_writes_out_of_the_audit_log_operators_stay_in(self):
        engine = self.engine
        import system

        def audited():
            """The engine's audited statements (a workflow's own writes are user code)."""
            return [e["query"] for e in system.db.simAuditLog()
                    if e["database"] == support.DB_NAME and "workflows." in e["query"]]
        delayed = engine.enqueue("three_steps", delaySeconds=0.05)
        system.db.simAuditLog(clear=True)
        assert engine.runToEnd(delayed) == ["SUCCESS"]  # ticks promote it, a worker runs it
        for _ in range(3):
            assert engine.service.dispatch()["ok"]  # the idle timer tick
        assert audited() == []
        queued = engine.enqueue("three_steps")
        assert audited() == []  # the enqueue's insert: a runPrepUpdate that skips the audit
        assert engine.service.cancel(queued, reason="wrong recipe")["ok"]
        assert any("UPDATE" in q and "workflow_runs" in q for q in audited()), audited()

    def test_priority_then_fifo_order_of_claims(self):
        engine = self.engine
        engine.admin.configure(workerThreads=1)
        low = engine.enqueue("three_steps", priority=5)
        first = engine.enqueue("three_steps", priority=1)
        second = engine.enqueue("three_steps", priority=1)
        # one tick: the one worker takes the rest itself, one after the other, no tick needed
        assert engine.service.dispatch()["data"]["claimed"] == 1
        engine.waitIdle()
        waitFor(lambda: engine.gw.sql("SELECT count(*) FROM workflows.workflow_runs WHERE "
                                      "status = 'SUCCESS'") == [(3,)], 10, 0.005, "all done")
        order = [r[0] for r in engine.gw.sql(
            "SELECT workflow_id FROM workflows.workflow_runs ORDER BY started_at_ms, claimed_at_ms")]
        assert order == [first, second, low], "lower priority value first, FIFO within a value"

    def test_a_finishing_worker_ends_its_run_and_claims_the_next_in_one_statement(self):
        # under a backlog each run's terminal write also claims the next run, and writes the
        # run's last step's checkpoint: two round trips (and two pool validations) fewer
        # per run than a checkpoint, a write and a claim of their own
        engine = self.engine
        engine.admin.configure(workerThreads=1)
        ids = [engine.enqueue("three_steps", inputs={"kg": i}) for i in range(3)]
        counted = support.CountedDb(self)
        assert engine.service.dispatch()["data"]["claimed"] == 1
        waitFor(lambda: [engine.status(w) for w in ids] == ["SUCCESS"] * 3, 20, 0.005,
                "the one worker ran all three")
        engine.waitIdle()
        handOvers = counted.matching("finish_step_and_claim(")
        claims = counted.matching("claim_runs(")
        alone = counted.matching("UPDATE workflows.workflow_runs SET status = ?, output")
        checkpoints = counted.matching("INSERT INTO workflows.step_outputs")
        assert (len(handOvers), len(claims), len(alone), len(checkpoints)) == (3, 1, 0, 6), \
            counted.sent
        assert [engine.gw.sql("SELECT output ->> 'total' FROM workflows.workflow_runs "
                              "WHERE workflow_id = ?", w)[0][0] for w in ids] == ["5", "6", "7"]
        assert [engine.gw.sql("SELECT s.step_name, s.output::text, s.executor_id = r.executor_id "
                              "  AND s.run_attempt = r.attempts FROM workflows.step_outputs s "
                              "JOIN workflows.workflow_runs r USING (workflow_id) "
                              "WHERE workflow_id = ? ORDER BY s.step_position", w)[2]
                for w in ids] == [("label", '"batch of %d kg"' % kg, True) for kg in (5, 6, 7)]

    def test_a_run_claimed_by_a_statement_begun_before_it_existed_starts_after_it(self):
        # the claim functions read with snapshots of their own, later than the statement's
        # start (now_ms()): a claim that began before a run's insert may still take it, and
        # must not stamp a start before the run's creation (a negative wait on the console)
        import system
        from exchange.workflows import codec, settings
        from exchange.workflows.engine import kernel
        engine = self.engine
        engine.startOnlyOnDispatch()
        me = kernel.getKernel().executorId
        claim = ("DO $$ BEGIN PERFORM pg_sleep(0.5); PERFORM * FROM workflows.claim_runs("
                 "'[\"three_steps\"]', 1, '%s', '[]', '%s'); END $$"
                 % (me, codec.encode(settings.runnableVersions())))
        thread = threading.Thread(target=system.db.runPrepUpdate,
                                  args=(claim, [], support.RAW_DB_NAME))
        thread.start()
        waitFor(lambda: self.gw.sql("SELECT count(*) FROM pg_stat_activity "
                                    "WHERE wait_event = 'PgSleep'")[0][0] == 1,
                10, 0.005, "the claiming statement began")
        wf = engine.enqueue("three_steps")
        thread.join(20)
        row = self.gw.sql("SELECT status, executor_id, started_at_ms - created_at_ms "
                          "FROM workflows.workflow_runs WHERE workflow_id = ?", wf)[0]
        assert (row[0], row[1]) == ("RUNNING", me), row
        assert row[2] >= 0, "started %d ms before it was created" % -row[2]
        engine.admin.recoverNow()  # (the run has no thread here: give it back)

    def oneWorkerHandingOver(self, count, replace):
        """One worker, ``count`` runs queued, and db.runs.finishAndClaim replaced by
        ``replace(original)`` until the test ends; the runs' ids."""
        from exchange.workflows.db import runs
        self.engine.admin.configure(workerThreads=1)
        ids = [self.engine.enqueue("three_steps", inputs={"kg": i}) for i in range(count)]
        original = runs.finishAndClaim
        runs.finishAndClaim = replace(original)
        self.addCleanup(setattr, runs, "finishAndClaim", original)
        return ids

    def test_a_hand_over_that_fails_leaves_the_write_to_the_worker_and_loses_nothing(self):
        # the statement fails (its transaction, write and claim, rolled back): the worker
        # writes the end alone, and the next run is claimed the usual way
        failed = []

        def failing(original):
            def call(fence, *args, **kwargs):
                failed.append(fence.workflowId)
                raise RuntimeError("the hand-over lost a race")
            return call
        ids = self.oneWorkerHandingOver(3, failing)
        assert self.engine.runToEnd(*ids) == ["SUCCESS"] * 3
        assert failed == ids[:len(failed)] and failed, failed
        assert [self.engine.recoveryAttempts(w) for w in ids] == [0, 0, 0]

    def test_a_hand_over_whose_answer_is_lost_ends_the_run_once(self):
        # it committed (the end written, the next run claimed) but the answer never came:
        # the worker reads its end back, and the run claimed with no thread is recovered by
        # this executor's heartbeat, as any claim whose answer was lost
        lost = []

        def answerLost(original):
            def call(fence, *args, **kwargs):
                result = original(fence, *args, **kwargs)
                if not lost:
                    lost.append(result[1])
                    raise RuntimeError("connection reset after the commit")
                return result
            return call
        engine = self.engine
        ids = self.oneWorkerHandingOver(2, answerLost)
        assert engine.runToEnd(*ids) == ["SUCCESS"] * 2
        assert [c.fence.workflowId for c in lost[0]] == [ids[1]], "the lost claim took the next"
        assert engine.recoveryAttempts(ids[0]) == 0
        assert engine.gw.sql("SELECT count(*) FROM workflows.step_outputs WHERE workflow_id = ?",
                             ids[0]) == [(3,)]

    def test_a_claim_takes_the_next_runs_while_another_claimer_holds_the_first(self):
        # claimers at once (the finishing workers of an executor, other executors) lock the
        # same first rows: a claim skips those and takes the next, never nothing
        import system
        engine = self.engine
        engine.admin.configure(workerThreads=1)
        ids = [engine.enqueue("three_steps") for _ in range(3)]
        t = system.db.beginTransaction(support.RAW_DB_NAME)
        try:
            system.db.runPrepQuery("SELECT 1 FROM workflows.workflow_runs WHERE workflow_id = ? "
                                   "FOR UPDATE", [ids[0]], support.RAW_DB_NAME, t)
            assert engine.service.dispatch()["data"]["claimed"] == 1
            assert engine.status(ids[0]) == "ENQUEUED"
            waitFor(lambda: engine.status(ids[1]) == "SUCCESS", 20, 0.005, "the second done")
        finally:
            system.db.rollbackTransaction(t)
            system.db.closeTransaction(t)
        assert engine.runToEnd(*ids) == ["SUCCESS"] * 3

    def test_refused_submission_returns_the_row_and_the_counter(self):
        # the pool is shut down between the claim and the submission (a swap racing the
        # timer): the pool refuses the task (RejectedExecutionException on the JVM)
        from exchange.workflows.db import runs
        from exchange.workflows import platform
        from exchange.workflows.engine import kernel
        engine = self.engine
        wf = engine.enqueue("three_steps")
        claim = runs.claim

        def claimThenShutDown(*args):
            rows = claim(*args)
            platform.shutdownPool(kernel.getKernel().pool())
            return rows
        runs.claim = claimThenShutDown
        try:
            result = engine.service.dispatch()["data"]
        finally:
            runs.claim = claim
        assert result["claimed"] == 1 and result["released"] == 1 and result["submitted"] == 0
        assert engine.status(wf) == "ENQUEUED", "the refused row was not given back"
        assert kernel.getKernel().inFlight.get() == 0, "a slot leaked"
        # the next dispatch finds the pool shut down and replaces it before claiming
        assert engine.runToEnd(wf) == ["SUCCESS"]

    def test_workflow_modules_survive_a_project_save(self):
        engine = self.engine
        from simulator import loader
        wf = engine.enqueue("three_steps")
        loader.simulateProjectSave()
        import exchange.workflows.api.service as fresh_service
        assert fresh_service is not engine.service, "the save did not create new modules"
        import exchange.workflows.api.lifecycle as fresh_lifecycle  # the startup script again
        assert fresh_lifecycle.onStartup(installSchema=False)["ok"]
        # the new interpreter's registry is empty; the module names kept JVM-wide bring it back
        again = fresh_service.enqueue("three_steps")
        assert again["ok"], again
        def done():
            fresh_service.dispatch()
            return engine.status(wf) == "SUCCESS" and engine.status(again["data"]["workflowId"]) \
                == "SUCCESS"
        from helpers import waitFor
        waitFor(done, 20, 0.01, "both runs finish after the save")

    def test_engine_info_reports_executor_and_limits(self):
        engine = self.engine
        info = engine.admin.getEngineInfo()
        assert info["ok"] and ":" in info["data"]["executorId"]
        assert info["data"]["workerThreads"] == 8 and info["data"]["modules"] == ["testing.flows"]

    def test_retention_deletes_only_old_terminal_runs(self):
        engine = self.engine
        done = engine.enqueue("three_steps")
        engine.runToEnd(done)
        engine.waitIdle()
        waiting = engine.enqueue("three_steps")
        assert engine.admin.applyRetention(1)["data"]["deleted"] == 0
        engine.gw.sql("UPDATE workflows.workflow_runs SET completed_at_ms = completed_at_ms - "
                      "2 * 86400000 WHERE workflow_id = %s", done)
        result = engine.admin.applyRetention(1)
        assert result["ok"] and result["data"]["deleted"] == 1
        assert engine.service.getStatus(done)["code"] == "WORKFLOW_NOT_FOUND"
        assert engine.gw.sql("SELECT count(*) FROM workflows.step_outputs WHERE workflow_id = %s",
                             done) == [(0,)]
        assert engine.status(waiting) == "ENQUEUED"
        assert engine.admin.applyRetention("soon")["code"] == "INVALID_ARGUMENT"

    def test_worker_threads_resize_the_live_pool(self):
        engine = self.engine
        import system
        gate = threading.Event()
        system.util.getGlobals()["gate.resize"] = gate
        engine.admin.configure(workerThreads=1)
        ids = [engine.enqueue("gated", inputs={"gateName": "gate.resize"}) for _ in range(4)]
        assert engine.service.dispatch()["data"]["claimed"] == 1
        engine.admin.configure(workerThreads=4)
        assert engine.service.dispatch()["data"]["claimed"] == 3
        from helpers import waitFor
        waitFor(lambda: engine.sideEffects(ids[3], "gate-wait") == 1 and all(
            engine.sideEffects(w, "gate-wait") == 1 for w in ids), 10, 0.01,
            "four runs in their step at once")
        assert engine.admin.getEngineInfo()["data"]["poolActive"] == 4
        gate.set()
        assert engine.runToEnd(*ids) == ["SUCCESS"] * 4

    def test_registering_a_missing_module_is_refused_and_not_remembered(self):
        engine = self.engine
        result = engine.admin.registerWorkflowModules(["testing.no_such_module"])
        assert result["ok"] is False and result["code"] == "MODULE_IMPORT_FAILED"
        assert "testing.no_such_module" in result["data"]["failed"]
        assert result["data"]["modules"] == ["testing.flows"]
