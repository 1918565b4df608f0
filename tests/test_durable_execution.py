"""Workflows and steps that survive: replay, re-run, retries, guarded terminal writes."""
from __future__ import absolute_import, division, print_function

import threading

import support
from helpers import waitFor


class DurableExecutionTest(support.EngineCase):
    def test_workflow_runs_its_steps_and_records_each_once(self):
        engine = self.engine
        wf = engine.enqueue("three_steps", inputs={"material": "flour", "kg": 10})
        assert engine.runToEnd(wf) == ["SUCCESS"]
        result = engine.service.getResult(wf, 5)
        assert result["ok"] and result["code"] == "WORKFLOW_SUCCEEDED"
        assert result["data"]["output"] == {"total": 15, "label": "batch of 15 kg"}
        steps = engine.service.listSteps(wf)["data"]["steps"]
        assert [(s["position"], s["name"], s["status"]) for s in steps] == [
            (1, "weigh", "SUCCESS"), (2, "mix", "SUCCESS"), (3, "label", "SUCCESS")]
        assert steps[0]["output"] == {"material": "flour", "kg": 10}
        assert engine.sideEffects(wf) == ["weigh", "mix", "label"]

    def test_interruption_between_steps_replays_finished_steps(self):
        engine = self.engine
        wf = engine.enqueue("three_steps", inputs={"crash": "after-weigh"})
        # the executor "dies" after step 1 committed: the run is left RUNNING with one step logged
        engine.runUntilCrashed(wf, "after-weigh")
        assert engine.status(wf) == "RUNNING"
        assert len(engine.service.listSteps(wf)["data"]["steps"]) == 1
        engine.recoverCrashed(wf)
        assert engine.runToEnd(wf) == ["SUCCESS"]
        assert engine.sideEffects(wf, "weigh") == 1, "a finished step ran again"
        assert engine.sideEffects(wf, "mix") == 1
        assert engine.service.getResult(wf, 1)["data"]["output"]["total"] == 15
        assert engine.gw.sql("SELECT attempts FROM workflows.workflow_runs WHERE workflow_id = %s",
                             wf)[0][0] == 2

    def test_interrupted_step_runs_again(self):
        engine = self.engine
        wf = engine.enqueue("three_steps", inputs={"crash": "in-mix"})
        engine.runUntilCrashed(wf, "in-mix")
        assert [s["name"] for s in engine.service.listSteps(wf)["data"]["steps"]] == ["weigh"]
        engine.recoverCrashed(wf)
        assert engine.runToEnd(wf) == ["SUCCESS"]
        assert engine.sideEffects(wf, "weigh") == 1
        assert engine.sideEffects(wf, "mix") == 2, "the interrupted step must run again"
        assert engine.sideEffects(wf, "label") == 1
        steps = engine.service.listSteps(wf)["data"]["steps"]
        assert [s["name"] for s in steps] == ["weigh", "mix", "label"]

    def test_retries_follow_backoff_and_succeed(self):
        engine = self.engine
        wf = engine.enqueue("retrying", inputs={"failures": 2})
        assert engine.runToEnd(wf) == ["SUCCESS"]
        assert engine.service.getResult(wf, 1)["data"]["output"] == "read"
        step = engine.service.listSteps(wf)["data"]["steps"][0]
        assert step["attempts"] == 3 and step["status"] == "SUCCESS"
        assert engine.sideEffects(wf, "flaky") == 3

    def test_retries_stop_at_max_attempts_with_growing_gaps(self):
        engine = self.engine
        wf = engine.enqueue("retrying", inputs={"failures": 99})
        assert engine.runToEnd(wf) == ["ERROR"]
        times = [r[0] for r in engine.gw.sql(
            "SELECT at_ms FROM public.side_effects WHERE workflow_id = %s AND kind = 'flaky' "
            "ORDER BY id", wf)]
        assert len(times) == 4, "maxAttempts=4 means exactly four tries"
        gaps = [b - a for a, b in zip(times, times[1:])]
        for gap, expected in zip(gaps, (50, 100, 200)):
            assert gap >= expected - 2, (gaps, "backoff 0.05 s x 2 not honoured")
        step = engine.service.listSteps(wf)["data"]["steps"][0]
        assert step["status"] == "ERROR" and step["attempts"] == 4
        assert step["error"]["type"].endswith("OSError") or step["error"]["type"].endswith("IOError")
        result = engine.service.getResult(wf, 1)
        assert result["code"] == "WORKFLOW_FAILED"
        assert result["data"]["error"]["type"].endswith("StepError")

    def test_step_failure_is_recorded_and_replayed_identically(self):
        engine = self.engine
        wf = engine.enqueue("step_fails_then_recovers")
        assert engine.runToEnd(wf) == ["SUCCESS"]
        live = engine.service.getResult(wf, 1)["data"]["output"]
        assert live == {"caught": "StepError", "errorType": "ValueError",
                        "message": "valve V-101 did not open"}
        # run it again from its log: the recorded failure is raised, the step does not run again
        engine.gw.sql("UPDATE workflows.workflow_runs SET status = 'ENQUEUED', executor_id = NULL, "
                      "output = NULL, completed_at_ms = NULL WHERE workflow_id = %s", wf)
        assert engine.runToEnd(wf) == ["SUCCESS"]
        assert engine.service.getResult(wf, 1)["data"]["output"] == live
        assert engine.sideEffects(wf, "once_failing") == 1

    def test_workflow_body_error_is_recorded_with_type_message_traceback(self):
        engine = self.engine
        wf = engine.enqueue("body_fails")
        assert engine.runToEnd(wf) == ["ERROR"]
        error = engine.service.getStatus(wf)["data"]["error"]
        assert error["type"] == "RuntimeError"
        assert error["message"] == u"hopper H-2 not empty \u2013 operator check needed"
        assert "body_fails" in error["traceback"]

    def test_late_terminal_write_is_rejected_once_terminal(self):
        engine = self.engine
        import system
        gate = threading.Event()
        system.util.getGlobals()["gate.late"] = gate
        wf = engine.enqueue("gated", inputs={"gateName": "gate.late"})
        engine.runUntil(lambda: engine.sideEffects(wf, "gate-wait") == 1)
        cancelled = engine.service.cancel(wf, reason="operator stop")
        assert cancelled["ok"], cancelled
        gate.set()
        engine.waitIdle()
        assert engine.sideEffects(wf, "gate-passed") == 1
        assert engine.status(wf) == "CANCELLED"
        assert engine.service.listSteps(wf)["data"]["count"] == 0, "a step was recorded after cancel"
        assert engine.sideEffects(wf, "label") == 0, "the workflow went on after losing its run"
        assert engine.service.cancel(wf)["code"] == "NOT_CANCELLABLE"

    def test_terminal_write_names_the_status_it_expects(self):
        engine = self.engine
        from exchange.workflows.db import runs
        from exchange.workflows.fence import Fence
        wf = engine.enqueue("renamed.flow",
                            inputs={"x": 21})
        assert engine.runToEnd(wf) == ["SUCCESS"]
        row = engine.service.getStatus(wf)["data"]
        assert row["output"] == 42
        late = runs.finish(Fence(None, wf, row["executorId"], row["attempts"]), "ERROR", None,
                           '{"type": "Late"}')
        assert late is False
        assert engine.service.getStatus(wf)["data"]["output"] == 42
        assert engine.status(wf) == "SUCCESS"

    def test_step_result_that_is_not_json_fails_the_step_not_the_row(self):
        engine = self.engine
        wf = engine.enqueue("bad_step_result")
        assert engine.runToEnd(wf) == ["SUCCESS"]
        assert engine.service.getResult(wf, 1)["data"]["output"] == {"errorType": "NotSerializable"}
        step = engine.service.listSteps(wf)["data"]["steps"][0]
        assert step["status"] == "ERROR" and step["output"] is None
        assert "JSON" in step["error"]["message"]

    def test_workflow_result_that_is_not_json_ends_in_error(self):
        engine = self.engine
        wf = engine.enqueue("bad_result")
        assert engine.runToEnd(wf) == ["ERROR"]
        assert engine.service.getStatus(wf)["data"]["error"]["type"] == "NotSerializable"

    def test_step_outside_a_workflow_is_a_plain_call(self):
        engine = self.engine
        import testing.flows as flows
        assert flows.label(3) == "batch of 3 kg"

    def test_deadline_is_set_when_the_run_starts(self):
        engine = self.engine
        engine.startOnlyOnDispatch()
        wf = engine.enqueue("renamed.flow", inputs={"x": 1})
        row = engine.service.getStatus(wf)["data"]
        assert row["timeoutMs"] == 30000 and row["deadlineMs"] is None
        assert engine.runToEnd(wf) == ["SUCCESS"]
        row = engine.service.getStatus(wf)["data"]
        assert row["deadlineMs"] == row["startedAtMs"] + 30000

    def test_many_workflows_finish_on_a_small_pool(self):
        engine = self.engine
        engine.admin.configure(workerThreads=3)
        ids = [engine.enqueue("three_steps", inputs={"kg": i}) for i in range(30)]
        statuses = engine.runToEnd(*ids)
        assert statuses == ["SUCCESS"] * 30
        totals = sorted(engine.service.getResult(w, 1)["data"]["output"]["total"] for w in ids)
        assert totals == sorted(i + 5 for i in range(30))
        waitFor(lambda: engine.admin.getEngineInfo()["data"]["inFlight"] == 0, 5)

    def test_replay_meeting_another_step_is_a_non_determinism_error(self):
        engine = self.engine
        import system
        wf = engine.enqueue("order_from_globals", inputs={"crash": "after-both"})
        engine.runUntilCrashed(wf, "after-both")
        system.util.getGlobals()["order.swap"] = True  # the code changed under the run
        engine.recoverCrashed(wf)
        assert engine.runToEnd(wf) == ["ERROR"]
        error = engine.service.getStatus(wf)["data"]["error"]
        assert error["code"] == "NON_DETERMINISTIC_REPLAY"
        assert "#1" in error["message"] and "'step_a'" in error["message"] \
            and "'step_b'" in error["message"]
        assert engine.sideEffects(wf, "a") == 1 and engine.sideEffects(wf, "b") == 1
        from exchange.workflows.errors import NonDeterminismError
        assert not issubclass(NonDeterminismError, Exception), "a workflow could swallow it"

    def test_replay_returns_exactly_what_the_live_run_saw(self):
        engine = self.engine
        wf = engine.enqueue("replay_fidelity", inputs={"crash": "after-big"})
        engine.runUntilCrashed(wf, "after-big")
        engine.recoverCrashed(wf)
        assert engine.runToEnd(wf) == ["SUCCESS"]
        output = engine.service.getResult(wf, 1)["data"]["output"]
        assert output["type"] == "float", "the replayed step output changed type"
        assert output["seen"] == {"reading": 1e16, "nested": [1.5, u"caf\u00e9"]}
        assert engine.sideEffects(wf, "big") == 1

    def test_step_result_with_nul_text_fails_the_step_clearly(self):
        engine = self.engine
        wf = engine.enqueue("nul_result")
        assert engine.runToEnd(wf) == ["SUCCESS"]
        assert engine.service.getResult(wf, 1)["data"]["output"] == "NotSerializable"
        step = engine.service.listSteps(wf)["data"]["steps"][0]
        assert step["status"] == "ERROR" and "NUL" in step["error"]["message"]
