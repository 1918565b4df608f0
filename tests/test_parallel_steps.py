"""Parallel steps (runtime.runParallel) and retry predicates (@step(retryIf=...))."""
from __future__ import absolute_import, division, print_function

import threading

import support
from helpers import waitFor


class ParallelFlowsCase(support.EngineCase):
    """An engine with the workflows of testing.parallelflows registered."""

    def setUp(self):
        support.EngineCase.setUp(self)
        registered = self.engine.admin.registerWorkflowModules(["testing.parallelflows"])
        assert registered["ok"], registered


class ParallelStepsTest(ParallelFlowsCase):

    def steps(self, wf):
        return [(s["position"], s["name"], s["status"], s["output"])
                for s in self.engine.service.listSteps(wf)["data"]["steps"]]

    def gate(self, name):
        import system
        gate = threading.Event()
        system.util.getGlobals()[name] = gate
        self.addCleanup(gate.set)
        return gate

    def test_all_returns_in_call_order_and_positions_follow_calls_not_completion(self):
        engine = self.engine
        wf = engine.enqueue("parallel_all")
        assert engine.runToEnd(wf) == ["SUCCESS"]
        assert engine.service.getResult(wf, 1)["data"]["output"] == ["slow", "fast", "after"]
        assert self.steps(wf) == [(1, "after_other", "SUCCESS", "slow"),
                                  (2, "right_away", "SUCCESS", "fast"),
                                  (3, "right_away", "SUCCESS", "after")]
        done = dict(self.gw.sql("SELECT step_position, completed_at_ms FROM "
                                "workflows.step_outputs WHERE workflow_id = ?", wf))
        assert done[2] <= done[1], "the later call was to finish first"

    def test_replay_after_a_crash_runs_no_finished_step_again(self):
        engine = self.engine
        wf = engine.enqueue("parallel_all", inputs={"crash": "after-group"})
        engine.runUntilCrashed(wf, "after-group")
        engine.recoverCrashed(wf)
        assert engine.runToEnd(wf) == ["SUCCESS"]
        assert engine.service.getResult(wf, 1)["data"]["output"] == ["slow", "fast", "after"]
        assert engine.sideEffects(wf, "run:slow") == 1
        assert engine.sideEffects(wf, "run:fast") == 1
        assert [s[0] for s in self.steps(wf)] == [1, 2, 3]

    def test_a_crash_inside_the_group_reruns_only_the_unfinished_call(self):
        engine = self.engine
        wf = engine.enqueue("parallel_crash_inside")
        engine.runUntilCrashed(wf, "in-c")
        assert [s[3] for s in self.steps(wf)] == ["a", "b"]
        engine.recoverCrashed(wf)
        assert engine.runToEnd(wf) == ["SUCCESS"]
        assert engine.service.getResult(wf, 1)["data"]["output"] == ["a", "b", "c"]
        assert [engine.sideEffects(wf, "run:" + k) for k in "abc"] == [1, 1, 2]

    def test_first_returns_the_first_success_and_records_which_won(self):
        engine = self.engine
        gate = self.gate("parallel-first-gate")
        wf = engine.enqueue("parallel_first", inputs={"gateName": "parallel-first-gate"})
        engine.runUntil(lambda: len(self.steps(wf)) == 2, message="the winner recorded")
        assert self.steps(wf) == [(2, "right_away", "SUCCESS", "winner"),
                                  (3, "<first>", "SUCCESS", {"index": 1})]
        gate.set()  # the loser goes on, and is recorded at its own position
        assert engine.runToEnd(wf) == ["SUCCESS"]
        assert engine.service.getResult(wf, 1)["data"]["output"] == [1, "winner", "after"]
        assert self.steps(wf) == [(1, "at_gate", "SUCCESS", "loser"),
                                  (2, "right_away", "SUCCESS", "winner"),
                                  (3, "<first>", "SUCCESS", {"index": 1}),
                                  (4, "after_other", "SUCCESS", "after")]
        assert engine.sideEffects(wf, "run:loser") == 1

    def test_first_replays_the_same_winner_without_running_any_call(self):
        engine = self.engine
        gate = self.gate("parallel-first-crash")
        wf = engine.enqueue("parallel_first", inputs={"gateName": "parallel-first-crash",
                                                      "crash": "after-first"})
        engine.runUntilCrashed(wf, "after-first")
        gate.set()  # the loser of the crashed attempt finishes while the run is still its own
        waitFor(lambda: self.steps(wf)[0][1] == "at_gate", 10, 0.01, "the loser recorded")
        engine.recoverCrashed(wf)
        assert engine.runToEnd(wf) == ["SUCCESS"]
        assert engine.service.getResult(wf, 1)["data"]["output"] == [1, "winner", "after"]
        assert engine.sideEffects(wf, "run:winner") == 1
        assert engine.sideEffects(wf, "run:loser") == 1

    def test_a_losers_late_checkpoint_after_the_run_moved_on_is_refused(self):
        from exchange.workflows.engine import kernel
        import exchange.workflows.api.messages as messages
        engine = self.engine
        gate = self.gate("parallel-late-gate")
        wf = engine.enqueue("parallel_first_then_waits",
                            inputs={"gateName": "parallel-late-gate"})
        engine.runUntil(lambda: engine.status(wf) == "WAITING", message="the run waits")
        before = self.steps(wf)
        assert [s[:2] for s in before] == [(2, "right_away"), (3, "<first>"),
                                           (4, "<recv.deadline>")], before
        gate.set()  # the loser finishes now, on the step pool, for an ownership that is over
        pool = kernel.getKernel().existingStepPool()
        waitFor(lambda: engine.sideEffects(wf, "done:loser") == 1 and
                pool.getActiveCount() == 0, 10, 0.01, "the loser's thread done")
        assert self.steps(wf) == before, "a late checkpoint landed"
        assert messages.send(wf, "go!", topic="go")["code"] == "MESSAGE_SENT"
        assert engine.runToEnd(wf) == ["SUCCESS"]
        assert engine.service.getResult(wf, 1)["data"]["output"] == [1, "winner", "go!"]
        assert 1 not in [s[0] for s in self.steps(wf)]  # (its replay knows the winner)
        assert engine.sideEffects(wf, "run:loser") == 1

    def test_all_raises_the_first_failure_in_call_order_after_all_finished(self):
        engine = self.engine
        wf = engine.enqueue("parallel_failures")
        assert engine.runToEnd(wf) == ["SUCCESS"]
        output = engine.service.getResult(wf, 1)["data"]["output"]
        assert output["step"] == "fails" and output["position"] == 2, output
        assert output["message"] == "early failed"
        assert [(s[0], s[2]) for s in self.steps(wf)] == [(1, "SUCCESS"), (2, "ERROR"),
                                                         (3, "ERROR")]

    def test_each_parallel_step_keeps_its_retry_policy(self):
        engine = self.engine
        wf = engine.enqueue("parallel_retries", inputs={"failures": 2})
        assert engine.runToEnd(wf) == ["SUCCESS"]
        assert engine.service.getResult(wf, 1)["data"]["output"] == ["flaky", "side"]
        rows = engine.service.listSteps(wf)["data"]["steps"]
        assert [(s["name"], s["attempts"]) for s in rows] == [("flaky_part", 3),
                                                              ("right_away", 1)]

    def test_the_steps_have_a_pool_apart_that_follows_worker_threads(self):
        from exchange.workflows import settings
        from exchange.workflows.engine import kernel
        engine = self.engine
        assert engine.runToEnd(engine.enqueue("parallel_all")) == ["SUCCESS"]
        k = kernel.getKernel()
        pool = k.existingStepPool()
        assert pool is not None and pool is not k.existingPool()
        self.addCleanup(engine.admin.configure, workerThreads=settings.workerThreads())
        assert engine.admin.configure(workerThreads=3)["ok"]
        assert pool.getMaximumPoolSize() == 3

    def test_outside_a_workflow_the_calls_run_in_turn(self):
        from exchange.workflows.engine.runtime import InvalidArgument, runParallel
        from testing import parallelflows as flows
        assert runParallel([(flows.right_away, ["x"]), (flows.right_away, ("y",))]) == ["x", "y"]
        assert runParallel([(flows.fails, ["a"]), (flows.right_away, ["b"])],
                           mode="first") == (1, "b")
        try:
            runParallel([(flows.fails, ["a"]), (flows.fails, ["b"])])
            self.fail("no failure raised")
        except ValueError as error:
            assert str(error) == "a failed"
        for bad in ([len], [(flows.right_away, "x")], "x"):
            self.assertRaises(InvalidArgument, runParallel, bad)
        self.assertRaises(InvalidArgument, runParallel, [flows.right_away], "any")
        self.assertRaises(InvalidArgument, runParallel, [], "first")


class RetryPredicateTest(ParallelFlowsCase):
    def step(self, wf):
        return self.engine.service.listSteps(wf)["data"]["steps"][0]

    def test_an_error_the_predicate_accepts_is_retried(self):
        wf = self.engine.enqueue("predicated", inputs={"kind": "transient"})
        assert self.engine.runToEnd(wf) == ["SUCCESS"]
        assert self.step(wf)["attempts"] == 3
        assert self.engine.sideEffects(wf, "run:picky") == 3

    def test_an_error_the_predicate_refuses_stops_at_once_with_that_error(self):
        wf = self.engine.enqueue("predicated", inputs={"kind": "permanent"})
        assert self.engine.runToEnd(wf) == ["ERROR"]
        step = self.step(wf)
        assert step["status"] == "ERROR" and step["attempts"] == 1
        assert step["error"]["type"].endswith("ValueError")
        assert step["error"]["message"] == "recipe R-7 is unknown"
        assert self.engine.sideEffects(wf, "run:picky") == 1

    def test_a_predicate_that_raises_means_no_retry(self):
        wf = self.engine.enqueue("predicated", inputs={"kind": "raising"})
        assert self.engine.runToEnd(wf) == ["ERROR"]
        step = self.step(wf)
        assert step["attempts"] == 1 and step["error"]["type"].endswith("KeyError")
        assert self.engine.sideEffects(wf, "run:predicate_raises") == 1

    def test_a_predicate_needs_retries_and_a_function(self):
        from exchange.workflows.engine.runtime import InvalidArgument, step
        self.assertRaises(InvalidArgument, step, retryIf=lambda e: True)
        self.assertRaises(InvalidArgument, step, retriesAllowed=True, retryIf="yes")


class ChangeDelayTest(support.EngineCase):
    def runAt(self, wf):
        return self.gw.sql("SELECT run_at_ms, workflows.now_ms() FROM workflows.workflow_runs "
                           "WHERE workflow_id = ?", wf)[0]

    def test_a_delayed_run_gets_a_new_start_and_the_change_is_journaled(self):
        engine = self.engine
        wf = engine.enqueue("three_steps", delaySeconds=3600)
        assert engine.status(wf) == "DELAYED"
        later = engine.service.changeDelay(wf, runAtMs=self.runAt(wf)[1] + 7200000,
                                           reason="line 2 is late", user="carol")
        assert (later["ok"], later["code"]) == (True, "DELAY_CHANGED"), later
        runAtMs, nowMs = self.runAt(wf)
        assert later["data"]["newRunAtMs"] == runAtMs and runAtMs - nowMs > 3600000
        assert later["data"]["actor"] == "carol" and later["data"]["status"] == "DELAYED"
        now = engine.service.changeDelay(wf, delaySeconds=0)
        assert now["code"] == "DELAY_CHANGED", now
        assert engine.runToEnd(wf) == ["SUCCESS"]
        import exchange.workflows.api.journal as journal
        entries = journal.listJournal(workflowId=wf)["data"]["entries"]
        assert [(e["action"], e["actor"], e["outcome"]) for e in reversed(entries)][0] == \
            ("CHANGE_DELAY", "carol", "DELAY_CHANGED")

    def test_only_a_delayed_run_has_a_delay_to_change(self):
        engine = self.engine
        engine.startOnlyOnDispatch()
        queued = engine.enqueue("three_steps")
        refused = engine.service.changeDelay(queued, delaySeconds=60)
        assert (refused["ok"], refused["code"]) == (False, "NOT_DELAYED"), refused
        assert refused["data"]["status"] == "ENQUEUED" and engine.status(queued) == "ENQUEUED"
        assert engine.runToEnd(queued) == ["SUCCESS"]
        assert engine.service.changeDelay(queued, delaySeconds=60)["code"] == "NOT_DELAYED"
        held = engine.enqueue("three_steps", delaySeconds=3600)
        assert engine.service.sendCommand(held, "HOLD")["code"] == "HELD"
        assert engine.service.changeDelay(held, delaySeconds=1)["code"] == "NOT_DELAYED"
        assert engine.service.changeDelay("no-such-run", delaySeconds=1)["code"] == \
            "WORKFLOW_NOT_FOUND"
        for bad in ({}, {"delaySeconds": 1, "runAtMs": 5}, {"delaySeconds": -1},
                    {"runAtMs": "soon"}):
            answer = engine.service.changeDelay(held, **bad)
            assert answer["code"] == "INVALID_ARGUMENT", (bad, answer)

    def test_command_roles_authorize_it(self):
        engine = self.engine
        configured = engine.admin.configure(commandRoles=["Operator"])
        assert configured["ok"], configured
        self.addCleanup(engine.admin.configure, commandRoles=[])
        wf = engine.enqueue("three_steps", delaySeconds=3600)
        refused = engine.service.changeDelay(wf, delaySeconds=0, user="visitor")
        assert refused["code"] == "NOT_AUTHORIZED", refused
        assert engine.status(wf) == "DELAYED"
        accepted = engine.service.changeDelay(wf, delaySeconds=0, user="carol",
                                              roles=["Operator"])
        assert accepted["code"] == "DELAY_CHANGED", accepted
