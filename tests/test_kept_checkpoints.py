"""A step's checkpoint kept until the run's next operation, its end or a tenth of a second
(engine.checkpoints): the last step's written with the run's end in one statement, a step
followed by blocking workflow code still recorded while the code blocks, and a write the
database refuses still recording the step apart."""
from __future__ import absolute_import, division, print_function

import json

import support
from helpers import waitFor
from test_guards_and_limits import gate


def stepRows(engine, workflowId):
    """(name, status, output, written by the run's owner and attempt) per position."""
    return [(r[0], r[1], json.loads(r[2]), r[3]) for r in engine.gw.sql(
        "SELECT s.step_name, s.status, s.output::text, "
        "       s.executor_id = r.executor_id AND s.run_attempt = r.attempts "
        "  FROM workflows.step_outputs s JOIN workflows.workflow_runs r USING (workflow_id) "
        " WHERE workflow_id = ? ORDER BY s.step_position", workflowId)]


def refuse(case, table, name, check):
    """Make the database refuse rows of ``table`` that fail ``check`` until the test ends
    (existing rows are not checked)."""
    case.gw.sql("ALTER TABLE workflows.%s ADD CONSTRAINT %s CHECK (%s) NOT VALID"
                % (table, name, check))
    case.addCleanup(case.gw.sql, "ALTER TABLE workflows.%s DROP CONSTRAINT %s" % (table, name))


class KeptCheckpointTest(support.EngineCase):
    def test_a_runs_last_step_is_written_with_its_end_in_one_statement(self):
        engine = self.engine
        counted = support.CountedDb(self)
        wf = engine.enqueue("three_steps", inputs={"kg": 3})
        assert engine.runToEnd(wf) == ["SUCCESS"]
        ends = counted.matching("finish_step_and_claim(") + \
            counted.matching("WITH fin AS (UPDATE workflows.workflow_runs")
        assert len(counted.matching("WITH own AS")) == 2, counted.sent  # checkpoints alone
        assert len(ends) == 1 and not counted.matching("finish_and_claim("), counted.sent
        assert stepRows(engine, wf) == [
            ("weigh", "SUCCESS", {"material": "flour", "kg": 3}, True),
            ("mix", "SUCCESS", 8, True),
            ("label", "SUCCESS", "batch of 8 kg", True)]
        assert engine.sideEffects(wf) == ["weigh", "mix", "label"]

    def test_without_a_hand_over_the_terminal_write_alone_takes_the_last_step(self):
        # no backlog seen: the worker's terminal write is its own statement, with the step
        engine = self.engine
        from exchange.workflows.engine import kernel
        release = gate("gate.alone.1")
        self.addCleanup(release.set)
        wf = engine.enqueue("held_per_attempt", inputs={"gateName": "gate.alone"})
        engine.runUntil(lambda: len(stepRows(engine, wf)) == 1, message="first step")
        kernel.getKernel().backlog.set(0)
        counted = support.CountedDb(self)
        release.set()
        waitFor(lambda: engine.status(wf) == "SUCCESS", 10, 0.005, "the run ended")
        assert len(counted.matching("WITH fin AS (UPDATE workflows.workflow_runs")) == 1, \
            counted.sent
        assert not counted.matching("WITH own AS"), counted.sent
        assert not counted.matching("_and_claim("), counted.sent
        assert stepRows(engine, wf)[1] == ("label", "SUCCESS", "batch of 4 kg", True)

    def test_a_step_followed_by_blocking_workflow_code_is_recorded_while_it_blocks(self):
        # the body waits at a gate after its first step: no next operation comes, so the
        # flusher writes the kept checkpoint (the run's own thread is still in the body)
        engine = self.engine
        release = gate("gate.kept.1")
        self.addCleanup(release.set)
        wf = engine.enqueue("held_per_attempt", inputs={"gateName": "gate.kept"})
        # (the gate opens by itself after 20 s: the step must be recorded well before)
        engine.runUntil(lambda: len(stepRows(engine, wf)) == 1, timeoutSeconds=10,
                        message="the first step recorded while its run waits at the gate")
        assert engine.status(wf) == "RUNNING" and not release.is_set()
        assert stepRows(engine, wf) == [("weigh", "SUCCESS",
                                         {"material": "sand", "kg": 3}, True)]
        release.set()
        assert engine.runToEnd(wf) == ["SUCCESS"]
        assert [r[0] for r in stepRows(engine, wf)] == ["weigh", "label"]
        assert engine.sideEffects(wf) == ["weigh", "label"]

    def refuse(self, table, name, check):
        refuse(self, table, name, check)

    def failedRun(self, kg):
        """A three_steps run of ``kg`` run to its end, which must be ERROR: (its id, its
        error)."""
        wf = self.engine.enqueue("three_steps", inputs={"kg": kg})
        assert self.engine.runToEnd(wf) == ["ERROR"]
        return wf, self.engine.service.getResult(wf, 0)["data"]["error"]

    def stepErrors(self, wf):
        """(name, status, error type) of the run's steps, in position order."""
        return [tuple(r) for r in self.gw.sql(
            "SELECT step_name, status, error ->> 'type' FROM workflows.step_outputs "
            "WHERE workflow_id = ? ORDER BY step_position", wf)]

    def test_a_result_the_database_refuses_still_records_the_last_step(self):
        # the one statement is refused as a whole: the step is written apart, then the end
        # (the result refused: ResultRefused, as without a kept step)
        engine = self.engine
        self.refuse("workflow_runs", "refuse_total_42",
                    "output IS NULL OR (output ->> 'total') IS DISTINCT FROM '42'")
        wf, error = self.failedRun(37)
        assert error["type"] == "ResultRefused", error
        assert stepRows(engine, wf)[2] == ("label", "SUCCESS", "batch of 42 kg", True)
        assert engine.sideEffects(wf) == ["weigh", "mix", "label"]

    def test_a_last_step_output_the_database_refuses_fails_the_run_on_that_step(self):
        # the step written apart is refused in turn: recorded as the step's error, and the
        # run ends in it (as if the step had raised it), with no step run twice
        engine = self.engine
        self.refuse("step_outputs", "refuse_label_43",
                    "output IS NULL OR output::text <> '\"batch of 43 kg\"'")
        wf, error = self.failedRun(38)
        assert error["type"].endswith("StepError") and "CheckpointRefused" in error["message"], \
            error
        assert self.stepErrors(wf) == [("weigh", "SUCCESS", None), ("mix", "SUCCESS", None),
                                       ("label", "ERROR", "CheckpointRefused")]
        assert engine.sideEffects(wf) == ["weigh", "mix", "label"]
        assert engine.recoveryAttempts(wf) == 0

    def test_a_cancel_while_the_body_blocks_after_a_step_keeps_that_step_for_a_resume(self):
        # the flusher's write lands before the cancel: a resume replays the step
        engine = self.engine
        first = gate("gate.cancel.1")
        second = gate("gate.cancel.2")
        self.addCleanup(first.set)
        self.addCleanup(second.set)
        wf = engine.enqueue("held_per_attempt", inputs={"gateName": "gate.cancel"})
        engine.runUntil(lambda: len(stepRows(engine, wf)) == 1, message="step recorded")
        assert engine.service.cancel(wf, reason="wrong batch")["ok"]
        first.set()  # the body goes on, meets the cancel at its next step and lets go
        waitFor(lambda: engine.service.resume(wf)["ok"], 10, 0.01, "resumed")
        second.set()
        assert engine.runToEnd(wf) == ["SUCCESS"]
        assert engine.sideEffects(wf) == ["weigh", "label"]  # weigh replayed, not run again

    def test_a_kept_step_output_refused_at_the_next_step_ends_the_run_there(self):
        # the body went on with weigh's result; its kept checkpoint, written before mix, is
        # refused: the run ends in weigh's error at once (a control signal the body cannot
        # catch), and mix never runs
        engine = self.engine
        self.refuse("step_outputs", "refuse_weigh_41",
                    "output IS NULL OR (output ->> 'kg') IS DISTINCT FROM '41'")
        wf, error = self.failedRun(41)
        assert error["type"].endswith("StepError") and "CheckpointRefused" in error["message"] \
            and "weigh" in error["message"], error
        assert self.stepErrors(wf) == [("weigh", "ERROR", "CheckpointRefused")]
        assert engine.sideEffects(wf) == ["weigh"]


class KeptBeforeASleepTest(support.EngineCase):
    """A sleep (any wait with a wake time) right after a step: the step's kept checkpoint
    and the wake time go in one statement (boundary.recordWakeAtAfter)."""

    def sleeping(self, wf):
        self.engine.runUntil(lambda: self.engine.status(wf) == "WAITING",
                             message="%s sleeps" % wf)
        self.addCleanup(self.engine.service.cancel, wf)

    def names(self, wf):
        return [row[0] for row in stepRows(self.engine, wf)]

    def test_a_sleep_after_a_step_writes_that_step_with_its_wake_time_in_one_statement(self):
        counted = support.CountedDb(self)
        wf = self.engine.enqueue("sleeper", inputs={"seconds": 30.0})
        self.sleeping(wf)
        writes = counted.matching("INSERT INTO workflows.step_outputs")
        assert len(writes) == 1 and "wake AS (" in writes[0], counted.sent
        rows = stepRows(self.engine, wf)
        assert [(name, status) for name, status, _, _ in rows] == \
            [("phase", "SUCCESS"), ("<sleep>", "SUCCESS")], rows
        wakeAt = self.gw.sql(
            "SELECT r.run_at_ms - CAST(s.output->>'wakeAtMs' AS bigint), "
            "CAST(s.output->>'wakeAtMs' AS bigint) - s.started_at_ms "
            "FROM workflows.step_outputs s JOIN workflows.workflow_runs r USING (workflow_id) "
            "WHERE workflow_id = ? AND step_name = '<sleep>'", wf)[0]
        assert wakeAt[0] == 0 and 29000 <= wakeAt[1] <= 31000, wakeAt
        assert self.engine.sideEffects(wf) == ["phase:1"]

    def test_a_command_sent_while_the_step_before_a_sleep_is_kept_comes_before_the_sleep(self):
        # a HOLD pending when the step lands is applied before the wake time is recorded,
        # as the step's own answer would have had it: the sleep starts after the hold
        from exchange.workflows.engine import checkpoints
        engine = self.engine
        sent = []
        original = checkpoints.keep

        def keep(ctx, step, outputJson, write):
            original(ctx, step, outputJson, write)
            if not sent:
                sent.append(engine.service.sendCommand(ctx.workflowId, "HOLD")["code"])
        checkpoints.keep = keep
        self.addCleanup(setattr, checkpoints, "keep", original)
        counted = support.CountedDb(self)
        wf = engine.enqueue("long_rest", inputs={"seconds": 600})
        self.addCleanup(engine.service.cancel, wf)
        engine.runUntil(lambda: engine.status(wf) == "HELD", message="held before the sleep")
        assert sent == ["HOLD_REQUESTED"], sent
        assert counted.matching("wake AS ("), "the step was not written with the wake time"
        assert not counted.matching("run_attempt, output::text FROM workflows.step_outputs"), \
            "a read-back after a statement that wrote the step"
        assert "<sleep>" not in self.names(wf) and self.names(wf)[:2] == ["phase", "<hold>"], \
            stepRows(engine, wf)
        assert engine.sideEffects(wf) == ["phase:1", "safe:hold:R1"]
        checkpoints.keep = original
        assert engine.service.sendCommand(wf, "RESUME")["code"] == "RESUMED"
        self.sleeping(wf)
        names = self.names(wf)
        assert names.index("<sleep>") > names.index("<hold>"), names
        assert engine.sideEffects(wf) == ["phase:1", "safe:hold:R1"]

    def test_a_sleep_written_with_the_kept_step_whose_answer_was_lost_reads_it_back(self):
        from exchange.workflows.engine import faults
        self.addCleanup(faults.disarm)
        faults.arm("wait.after_deadline", times=1)
        counted = support.CountedDb(self)
        wf = self.engine.enqueue("sleeper", inputs={"seconds": 30.0})
        self.sleeping(wf)
        assert len(counted.matching("wake AS (")) == 2, counted.sent  # the write, its retry
        assert self.names(wf) == ["phase", "<sleep>"]
        assert self.gw.sql("SELECT r.run_at_ms = CAST(s.output->>'wakeAtMs' AS bigint) "
                           "FROM workflows.step_outputs s JOIN workflows.workflow_runs r "
                           "USING (workflow_id) WHERE workflow_id = ? "
                           "AND step_name = '<sleep>'", wf) == [(True,)]
        assert self.engine.sideEffects(wf) == ["phase:1"]
        assert self.engine.recoveryAttempts(wf) == 0

    def test_a_kept_step_output_refused_at_a_sleep_ends_the_run_on_that_step(self):
        # the one statement is refused as a whole: the step written apart is refused in
        # turn and recorded as its error; no wake time, and the run ends there
        refuse(self, "step_outputs", "refuse_phase_1",
               "step_name <> 'phase' OR output::text <> '1'")
        wf = self.engine.enqueue("sleeper", inputs={"seconds": 30.0})
        assert self.engine.runToEnd(wf) == ["ERROR"]
        error = self.engine.service.getResult(wf, 0)["data"]["error"]
        assert error["type"].endswith("StepError") and "CheckpointRefused" in error["message"] \
            and "phase" in error["message"], error
        assert [tuple(r) for r in self.gw.sql(
            "SELECT step_name, status, error ->> 'type' FROM workflows.step_outputs "
            "WHERE workflow_id = ? ORDER BY step_position", wf)] == \
            [("phase", "ERROR", "CheckpointRefused")]
        assert self.engine.sideEffects(wf) == ["phase:1"]

    def keepThen(self, action, before=False):
        """``action(ctx)`` on the run's thread right after a step's checkpoint is kept (the
        first time only; ``before``: right before, as the end of the step's body), until
        the test ends."""
        from exchange.workflows.engine import checkpoints
        original = checkpoints.keep
        done = []

        def keep(ctx, step, outputJson, write):
            if before and not done:
                done.append(action(ctx))
            original(ctx, step, outputJson, write)
            if not done:
                done.append(action(ctx))
        checkpoints.keep = keep
        self.addCleanup(setattr, checkpoints, "keep", original)
        return done

    def test_a_step_that_ends_past_the_runs_deadline_before_a_sleep_is_recorded(self):
        # the timeout ends the run at the sleep, but the step before it landed first: a
        # resume (which lifts the deadline) replays it and does not run it again
        from exchange.workflows import compat
        engine = self.engine

        def pastTheDeadline(ctx):  # (the run's deadline as the run knows it, now passed)
            ctx.deadlineMs = compat.nowMs() - 1
        self.keepThen(pastTheDeadline, before=True)  # (the flusher writes after 0.1 s)
        wf = engine.enqueue("long_rest", inputs={"seconds": 600}, timeoutSeconds=600)
        assert engine.runToEnd(wf) == ["CANCELLED"]
        assert engine.service.getResult(wf, 0)["data"]["error"]["type"] == "Timeout"
        assert self.names(wf) == ["phase"], stepRows(engine, wf)
        waitFor(lambda: engine.service.resume(wf)["ok"], 10, 0.01, "resumed")
        self.sleeping(wf)
        assert engine.sideEffects(wf) == ["phase:1"]

    def test_a_hold_noted_and_withdrawn_during_the_step_before_a_sleep_is_not_applied(self):
        # the run noted a HOLD (a read inside the step, as checkCancelled() makes), then a
        # RESUME withdrew it: the sleep's step write answers that none is pending, and the
        # run goes to sleep with no hold marker
        from exchange.workflows.engine import boundary
        engine = self.engine

        def holdThenResume(ctx):
            assert engine.service.sendCommand(ctx.workflowId, "HOLD")["ok"]
            boundary.refresh(ctx)
            assert ctx.command == "HOLD", ctx.command
            return engine.service.sendCommand(ctx.workflowId, "RESUME")["code"]
        done = self.keepThen(holdThenResume, before=True)  # (the flusher writes after 0.1 s)
        wf = engine.enqueue("long_rest", inputs={"seconds": 600})
        self.sleeping(wf)
        assert done == ["HOLD_WITHDRAWN"], done
        assert self.names(wf) == ["phase", "<sleep>"], (done, stepRows(engine, wf))
        assert engine.sideEffects(wf) == ["phase:1"]

    def test_a_cancel_sent_during_the_step_before_a_sleep_is_found_by_its_one_statement(self):
        # no state read before the sleep: the statement with the step finds the run
        # cancelled and writes nothing (the step unrecorded, as for any cancel within the
        # moment its checkpoint is kept), and the run ends without sleeping
        engine = self.engine
        done = self.keepThen(lambda ctx: engine.service.cancel(ctx.workflowId)["code"],
                             before=True)
        counted = support.CountedDb(self)
        wf = engine.enqueue("long_rest", inputs={"seconds": 600})
        assert engine.runToEnd(wf) == ["CANCELLED"]
        engine.waitIdle()  # (the run's thread goes on after the cancel, to its sleep)
        assert done == ["CANCEL_REQUESTED"], done
        assert len(counted.matching("wake AS (")) == 1, counted.sent
        assert stepRows(engine, wf) == [], stepRows(engine, wf)
        assert engine.sideEffects(wf) == ["phase:1"]
