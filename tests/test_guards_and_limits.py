"""What a demanding operator relies on: fencing of stale writers, capacity and partitions
under concurrency, deadlines, and cancels that stop retries."""
from __future__ import absolute_import, division, print_function

import threading

import support
from helpers import runConcurrently, waitFor


def gate(name):
    import system
    event = threading.Event()
    system.util.getGlobals()[name] = event
    return event


def active(engine):
    return engine.gw.sql("SELECT count(*) FROM workflows.workflow_runs "
                         "WHERE status IN ('PENDING', 'RUNNING')")[0][0]


def cancelStopsRunningStep(engine, flow, marker):
    wf = engine.enqueue(flow)
    engine.runUntil(lambda: engine.sideEffects(wf, marker) == 1)
    assert engine.service.cancel(wf)["ok"]
    engine.waitIdle()
    assert engine.status(wf) == "CANCELLED"
    assert engine.sideEffects(wf, marker) <= 2, "the step went on after the cancel"
    assert engine.service.listSteps(wf)["data"]["count"] == 0
    assert engine.sideEffects(wf, "label") == 0


class GuardsAndLimitsTest(support.EngineCase):
    def test_a_stale_attempt_can_neither_checkpoint_nor_finish(self):
        engine = self.engine
        from exchange.workflows.db import runs
        from exchange.workflows.fence import Fence
        opened = gate("gate.stale")
        wf = engine.enqueue("gated", inputs={"gateName": "gate.stale"})
        engine.runUntil(lambda: engine.sideEffects(wf, "gate-wait") == 1)
        row = engine.service.getStatus(wf)["data"]
        # meanwhile the run was recovered and claimed again elsewhere (attempt + 1)
        engine.gw.sql("UPDATE workflows.workflow_runs SET attempts = attempts + 1, "
                      "executor_id = 'other:executor' WHERE workflow_id = %s", wf)
        opened.set()
        engine.waitIdle()
        assert engine.service.listSteps(wf)["data"]["count"] == 0, "a stale attempt checkpointed"
        assert engine.sideEffects(wf, "label") == 0, "the stale attempt went on"
        stale = Fence(None, wf, row["executorId"], row["attempts"])
        assert runs.finish(stale, "SUCCESS", '"late"', None) is False
        current = engine.service.getStatus(wf)["data"]
        assert (current["status"], current["executorId"]) == ("RUNNING", "other:executor")

    def test_terminal_write_after_cancel_is_rejected(self):
        engine = self.engine
        opened = gate("gate.body")
        wf = engine.enqueue("gated_body", inputs={"gateName": "gate.body"})
        engine.runUntil(lambda: engine.status(wf) == "RUNNING")
        assert engine.service.cancel(wf)["code"] == "CANCEL_REQUESTED"
        opened.set()
        engine.waitIdle()
        row = engine.service.getStatus(wf)["data"]
        assert row["status"] == "CANCELLED" and row["output"] is None

    def test_concurrent_dispatches_never_exceed_capacity_nor_share_a_row(self):
        engine = self.engine
        opened = gate("gate.concurrent")
        engine.admin.configure(workerThreads=2)
        engine.startOnlyOnDispatch()
        ids = [engine.enqueue("gated", inputs={"gateName": "gate.concurrent"}) for _ in range(8)]
        claims = [r["data"]["claimed"] for r in runConcurrently(engine.service.dispatch, 4)]
        assert sum(claims) == 2 and active(engine) == 2, claims
        opened.set()
        assert engine.runToEnd(*ids) == ["SUCCESS"] * 8
        assert engine.gw.sql("SELECT max(attempts) FROM workflows.workflow_runs") == [(1,)]

    def test_small_pool_runs_at_most_its_worker_count_at_once(self):
        engine = self.engine
        engine.admin.configure(workerThreads=3)
        ids = [engine.enqueue("briefly", inputs={"ms": 40}) for _ in range(12)]
        assert engine.runToEnd(*ids) == ["SUCCESS"] * 12
        spans = engine.gw.sql("SELECT started_at_ms, completed_at_ms FROM workflows.workflow_runs")
        events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans],
                        key=lambda ev: (ev[0], ev[1]))
        running = peak = 0
        for _, delta in events:
            running += delta
            peak = max(peak, running)
        assert 2 <= peak <= 3, peak

    def test_concurrent_enqueues_of_one_id_create_one_run(self):
        engine = self.engine
        # (no run may start: one that finished before the last enqueue came would free its
        # deduplication id, which only active runs hold)
        engine.startOnlyOnDispatch()
        for kwargs in ({"workflowId": "batch-42"}, {"deduplicationId": "lot-42"}):
            results = runConcurrently(lambda: engine.service.enqueue("three_steps", **kwargs), 8)
            codes = sorted(r["code"] for r in results)
            assert codes.count("WORKFLOW_ENQUEUED") == 1, codes
            assert set(codes) - set(["WORKFLOW_ENQUEUED"]) <= \
                set(["WORKFLOW_EXISTS", "DUPLICATE_DEDUPLICATION_ID"]), codes
        assert engine.gw.sql("SELECT count(*) FROM workflows.workflow_runs") == [(2,)]

    def test_runs_of_unknown_workflows_are_left_for_executors_that_know_them(self):
        engine = self.engine
        engine.gw.sql("INSERT INTO workflows.workflow_runs (workflow_id, workflow_name, status, "
                      "queue_name, inputs) VALUES ('foreign-1', 'lives_elsewhere', 'ENQUEUED', "
                      "'default', '{}')")
        mine = engine.enqueue("three_steps")
        assert engine.runToEnd(mine) == ["SUCCESS"]
        assert engine.status("foreign-1") == "ENQUEUED"

    def test_one_run_per_partition_key_at_a_time_in_fifo_order(self):
        engine = self.engine
        opened = gate("gate.partition")
        engine.admin.configure(workerThreads=4)
        same = [engine.enqueue("gated", inputs={"gateName": "gate.partition"},
                               partitionKey="Mixer-1") for _ in range(3)]
        other = engine.enqueue("gated", inputs={"gateName": "gate.partition"},
                               partitionKey="Mixer-2")
        engine.runUntil(lambda: engine.status(other) == "RUNNING" and engine.status(same[0])
                        == "RUNNING")
        # work queued behind the busy partition's backlog is not held up by it
        behind = engine.enqueue("three_steps")
        assert engine.runToEnd(behind) == ["SUCCESS"]
        assert [engine.status(w) for w in same[1:]] == ["ENQUEUED", "ENQUEUED"]
        opened.set()
        assert engine.runToEnd(*(same + [other])) == ["SUCCESS"] * 4
        order = [r[0] for r in engine.gw.sql(
            "SELECT workflow_id FROM workflows.workflow_runs WHERE partition_key = 'Mixer-1' "
            "ORDER BY claimed_at_ms, started_at_ms")]
        assert order == same
        # what ran (the steps' own spans on this executor's clock) never overlaps within a
        # partition; the runs' database timestamps cannot show it: a claim's statement_timestamp
        # is taken when the statement arrives, its snapshot only after planning
        overlaps = engine.gw.sql(
            "WITH spans AS (SELECT r.workflow_id, r.partition_key, min(s.started_at_ms) AS s, "
            "max(s.completed_at_ms) AS e FROM workflows.workflow_runs r "
            "JOIN workflows.step_outputs s ON s.workflow_id = r.workflow_id "
            "WHERE r.partition_key IS NOT NULL GROUP BY 1, 2) "
            "SELECT count(*) FROM spans a JOIN spans b ON a.partition_key = b.partition_key "
            "AND a.workflow_id < b.workflow_id AND a.s < b.e AND b.s < a.e")
        assert overlaps == [(0,)]

    def test_the_database_refuses_a_second_active_run_of_a_partition(self):
        engine = self.engine
        engine.startOnlyOnDispatch()
        a = engine.enqueue("three_steps", partitionKey="Unit-7")
        b = engine.enqueue("three_steps", partitionKey="Unit-7")
        claim = ("UPDATE workflows.workflow_runs SET status = 'PENDING', executor_id = 'x', "
                 "partition_slot = 0 WHERE workflow_id = %s")
        engine.gw.sql(claim, a)
        self.assertSqlState("23505", engine.gw.sql, claim, b)

    def test_deadline_ends_the_run_at_the_next_step_as_a_timeout(self):
        engine = self.engine
        opened = gate("gate.deadline")
        wf = engine.enqueue("with_deadline", inputs={"gateName": "gate.deadline"})
        engine.runUntil(lambda: engine.status(wf) == "RUNNING")
        row = engine.service.getStatus(wf)["data"]
        assert row["deadlineMs"] == row["startedAtMs"] + 300
        waitFor(lambda: engine.gw.sql("SELECT workflows.now_ms() > %s", row["deadlineMs"])[0][0], 5)
        opened.set()
        engine.waitIdle()
        final = engine.service.getStatus(wf)["data"]
        assert final["status"] == "CANCELLED" and final["error"]["type"] == "Timeout"
        assert [s["name"] for s in engine.service.listSteps(wf)["data"]["steps"]] == ["wait_quietly"]
        assert engine.sideEffects(wf, "label") == 0

    def test_cancel_stops_a_step_waiting_between_retries(self):
        cancelStopsRunningStep(self.engine, "slow_retry", "slow")

    def test_cancel_stops_a_long_step_that_calls_checkCancelled(self):
        cancelStopsRunningStep(self.engine, "cancellable", "poll-start")

    def test_a_run_ending_in_error_is_logged_as_a_warning_naming_it(self):
        from helpers import LogRecords
        logged = LogRecords("exchange.workflows.runner")
        self.addCleanup(logged.detach)
        wf = self.engine.enqueue("body_fails")
        assert self.engine.runToEnd(wf) == ["ERROR"]
        error = self.engine.service.getStatus(wf)["data"]["error"]
        expected = u"workflow body_fails (%s) ended in ERROR: %s: %s" % (
            wf, error["type"], error["message"])
        waitFor(lambda: expected in logged.messages("WARNING"), 5, 0.01, "the warning")

    def test_anything_a_workflow_raises_ends_it_in_error(self):
        engine = self.engine
        exited = engine.enqueue("exits")
        nul = engine.enqueue("nul_error")
        assert engine.runToEnd(exited, nul) == ["ERROR", "SUCCESS"]
        assert engine.service.getStatus(exited)["data"]["error"]["type"] == "SystemExit"
        assert engine.service.getResult(nul, 1)["data"]["output"] == u"bad?byte"
