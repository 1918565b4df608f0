"""Prompts, messages, events, streams and durable sleep, against the real database: each is
recorded once, a wait longer than a second releases its thread (WAITING) and is woken by
whoever brings what it waits for, or by dispatch at its timeout."""
from __future__ import absolute_import, division, print_function

from helpers import waitFor
from support import EngineCase


class DurableWaitsTest(EngineCase):

    def run_(self, wf):
        return self.gw.sql("SELECT status, executor_id, waiting_for, run_at_ms "
                           "FROM workflows.workflow_runs WHERE workflow_id = ?", wf)[0]

    def waiting(self, wf):
        self.engine.runUntil(lambda: self.engine.status(wf) == "WAITING",
                             message="%s waits without a thread" % wf)
        status, executor, channel, _ = self.run_(wf)
        assert executor is None and channel, (status, executor, channel)
        return channel

    def prompts(self):
        import exchange.workflows.api.prompts as prompts
        return prompts

    def pendingPrompt(self, wf):
        listed = self.prompts().listPrompts(workflowId=wf)
        assert listed["ok"], listed
        assert listed["data"]["count"] == 1, listed
        return listed["data"]["prompts"][0]

    def test_a_prompt_waits_without_a_thread_and_returns_the_answer_with_who_and_when(self):
        engine = self.engine
        wf = engine.enqueue("asks_operator", inputs={"question": "Hopper empty?"})
        assert self.waiting(wf).startswith("prompt:")
        pending = self.pendingPrompt(wf)
        assert (pending["message"], pending["options"], pending["status"]) == \
            ("Hopper empty?", ["yes", "no"], "PENDING")
        prompts = self.prompts()
        wrong = prompts.respondToPrompt(pending["promptId"], "maybe", user="dave")
        assert (wrong["ok"], wrong["code"]) == (False, "INVALID_RESPONSE"), wrong
        answered = prompts.respondToPrompt(pending["promptId"], "yes", user="dave",
                                           comment="checked by torch")
        assert answered["code"] == "PROMPT_ANSWERED", answered
        again = prompts.respondToPrompt(pending["promptId"], "no", user="erin")
        assert (again["ok"], again["code"]) == (False, "PROMPT_ALREADY_ANSWERED"), again
        assert engine.runToEnd(wf) == ["SUCCESS"]
        output = engine.service.getResult(wf, 0)["data"]["output"]
        assert (output["status"], output["response"], output["user"], output["comment"]) == \
            ("ANSWERED", "yes", "dave", "checked by torch")
        assert output["answeredAtMs"] and not output["timedOut"]
        assert engine.sideEffects(wf) == ["phase:1"]
        import exchange.workflows.api.journal as journal
        entries = journal.listJournal(workflowId=wf, action="PROMPT_ANSWER")["data"]["entries"]
        assert [(e["actor"], e["outcome"]) for e in reversed(entries)] == \
            [("dave", "INVALID_RESPONSE"), ("dave", "PROMPT_ANSWERED"),
             ("erin", "PROMPT_ALREADY_ANSWERED")]

    def test_ids_derived_from_the_longest_accepted_workflow_id_can_be_used(self):
        """A prompt id (the run's id and the prompt's position), a send's idempotency key
        and a wake channel derived from a 200-character workflow id all work."""
        engine = self.engine
        import exchange.workflows.api.messages as messages
        longest = "w" * 200
        assert engine.enqueue("asks_operator", workflowId=longest) == longest
        self.waiting(longest)
        promptId = self.pendingPrompt(longest)["promptId"]
        assert len(promptId) > 200
        found = self.prompts().getPrompt(promptId)
        assert (found["ok"], found["data"]["promptId"]) == (True, promptId), found
        answered = self.prompts().respondToPrompt(promptId, "no", user="dave")
        assert answered["code"] == "PROMPT_ANSWERED", answered
        assert engine.runToEnd(longest) == ["SUCCESS"]
        inbox = "m" * 200
        topic = "t" * 200
        assert engine.enqueue("mailbox", workflowId=inbox,
                              inputs={"topic": topic, "count": 1}) == inbox
        assert self.waiting(inbox) == "message:%s:%s" % (inbox, topic)
        assert messages.send(inbox, "hi", topic=topic)["code"] == "MESSAGE_SENT"
        assert engine.runToEnd(inbox) == ["SUCCESS"]
        tooLong = self.prompts().getPrompt("p" * 212)
        assert (tooLong["ok"], tooLong["code"]) == (False, "VALUE_TOO_LONG"), tooLong

    def test_a_timed_out_prompt_returns_the_timeout_result_and_refuses_a_late_answer(self):
        engine = self.engine
        wf = engine.enqueue("asks_operator", inputs={"timeoutSeconds": 1.5})
        self.waiting(wf)
        promptId = self.pendingPrompt(wf)["promptId"]
        assert engine.runToEnd(wf) == ["SUCCESS"]  # dispatch wakes it at the timeout
        output = engine.service.getResult(wf, 0)["data"]["output"]
        assert (output["status"], output["timedOut"], output["response"]) == \
            ("TIMED_OUT", True, None)
        late = self.prompts().respondToPrompt(promptId, "yes", user="dave")
        assert (late["ok"], late["code"]) == (False, "PROMPT_TIMED_OUT"), late

    def test_prompt_answers_are_checked_against_the_schema_and_the_roles(self):
        engine = self.engine
        lot = engine.enqueue("asks_for_lot")
        self.waiting(lot)
        prompts = self.prompts()
        promptId = self.pendingPrompt(lot)["promptId"]
        bad = prompts.respondToPrompt(promptId, "lot 7", user="dave")
        assert (bad["ok"], bad["code"]) == (False, "INVALID_RESPONSE") and "match" in \
            bad["message"], bad
        assert prompts.respondToPrompt(promptId, "L0042", user="dave")["ok"]
        assert engine.runToEnd(lot) == ["SUCCESS"]
        assert engine.service.getResult(lot, 0)["data"]["output"] == "L0042"
        guarded = engine.enqueue("asks_operator", inputs={"roles": ["Supervisor"]})
        self.waiting(guarded)
        promptId = self.pendingPrompt(guarded)["promptId"]
        refused = prompts.respondToPrompt(promptId, "yes", user="op", roles=["Operator"])
        assert (refused["ok"], refused["code"]) == (False, "NOT_AUTHORIZED"), refused
        assert prompts.respondToPrompt(promptId, "yes", user="sue", roles=["Supervisor"])["ok"]
        assert engine.runToEnd(guarded) == ["SUCCESS"]

    def test_recv_waits_without_a_thread_gets_each_message_once_and_times_out_durably(self):
        engine = self.engine
        import exchange.workflows.api.messages as messages
        wf = engine.enqueue("mailbox", inputs={"topic": "lot", "timeoutSeconds": 1.5})
        assert self.waiting(wf) == "message:%s:lot" % wf
        sent = messages.send(wf, {"lot": "L1"}, topic="lot", idempotencyKey="k1")
        assert sent["code"] == "MESSAGE_SENT", sent
        again = messages.send(wf, {"lot": "L1"}, topic="lot", idempotencyKey="k1")
        assert again["code"] == "MESSAGE_DUPLICATE", again
        other = messages.send(wf, "elsewhere", topic="other")
        assert other["ok"]
        assert engine.runToEnd(wf) == ["SUCCESS"]  # the second recv times out
        assert engine.service.getResult(wf, 0)["data"]["output"] == [{"lot": "L1"}, None]
        assert engine.sideEffects(wf) == ["phase:1", "phase:2"]
        missing = messages.send("no-such-run", 1)
        assert (missing["ok"], missing["code"]) == (False, "WORKFLOW_NOT_FOUND")

    def test_events_and_streams_are_read_in_order_and_end_at_close(self):
        engine = self.engine
        import exchange.workflows.api.messages as messages
        waiter = engine.enqueue("event_waiter", inputs={"target": "pub-1"})
        self.waiting(waiter)  # waits for an event of a run that does not exist yet
        pub = engine.enqueue("publisher", inputs={"values": 3}, workflowId="pub-1")
        assert engine.runToEnd(pub, waiter) == ["SUCCESS", "SUCCESS"]
        assert engine.service.getResult(waiter, 0)["data"]["output"] in ("filling", "done")
        event = messages.getEvent(pub, "phase")
        assert (event["code"], event["data"]["value"], event["data"]["version"]) == \
            ("EVENT_FOUND", "done", 2)
        assert messages.getEvent(pub, "absent")["code"] == "EVENT_TIMEOUT"
        first = messages.readStream(pub, "log", limit=2)["data"]
        assert (first["values"], first["nextOffset"], first["closed"]) == \
            ([{"n": 0}, {"n": 1}], 2, False)
        rest = messages.readStream(pub, "log", fromOffset=first["nextOffset"])["data"]
        assert (rest["values"], rest["closed"]) == ([{"n": 2}], True)

    def test_a_long_sleep_releases_its_thread_and_wakes_at_its_time(self):
        engine = self.engine
        wf = engine.enqueue("sleeper", inputs={"seconds": 2.0})
        assert self.waiting(wf) == "sleep:%s" % wf
        from exchange.workflows import platform
        from exchange.workflows.engine import kernel
        pool = kernel.getKernel().existingPool()
        waitFor(lambda: platform.activeCount(pool) == 0, 10, 0.01, "no thread sleeps")
        wakeAt = self.run_(wf)[3]
        assert engine.runToEnd(wf) == ["SUCCESS"]
        finished = self.gw.sql("SELECT completed_at_ms FROM workflows.workflow_runs "
                               "WHERE workflow_id = ?", wf)[0][0]
        assert finished >= wakeAt
        assert engine.sideEffects(wf) == ["phase:1", "phase:2"]
        names = [s["name"] for s in engine.service.listSteps(wf)["data"]["steps"]]
        assert names == ["phase", "<sleep>", "<sleep.done>", "phase"]

    def test_a_sleep_records_its_wake_time_by_the_database_clock_in_one_statement(self):
        """The wake time is written by one fenced statement, not a transaction of its own
        with a clock read: what a wait with a timeout costs before it suspends."""
        import support
        counted = support.CountedDb(self)
        wf = self.engine.enqueue("sleeper", inputs={"seconds": 30.0})
        self.waiting(wf)
        records = [(entry, query) for entry, query in counted.sent if "wakeAtMs" in query]
        assert [entry for entry, _ in records] == ["runPrepQuery"], records
        assert counted.matching("SELECT workflows.now_ms()") == [], "a clock read of its own"
        steps = self.engine.service.listSteps(wf)["data"]["steps"]
        sleep = [s for s in steps if s["name"] == "<sleep>"][0]
        wakeAt = self.gw.sql(
            "SELECT CAST(s.output->>'wakeAtMs' AS bigint), "
            "r.run_at_ms - CAST(s.output->>'wakeAtMs' AS bigint) "
            "FROM workflows.step_outputs s JOIN workflows.workflow_runs r USING (workflow_id) "
            "WHERE workflow_id = ? AND step_position = ?", wf, sleep["position"])[0]
        assert wakeAt[1] == 0, "the run wakes at the recorded time"
        assert 29000 <= wakeAt[0] - sleep["startedAtMs"] <= 31000, (wakeAt, sleep)
        self.engine.service.cancel(wf)

    def test_a_long_sleep_suspends_in_one_statement_and_its_wake_up_sends_it_no_more(self):
        """A sleep's suspend is one fenced statement outside a transaction (no channel
        lock, no look): what S3's recovered runs and every long sleep pay to release their
        thread. The woken run's replay goes straight to the look, which records the end."""
        import support
        counted = support.CountedDb(self)
        wf = self.engine.enqueue("sleeper", inputs={"seconds": 2.0})
        self.waiting(wf)
        alone = [entry for entry, query in counted.sent
                 if "pending_command IS NULL AND CAST" in query]
        suspends = alone + [entry for entry, query in counted.sent
                            if "suspend_and_claim(" in query]
        assert len(suspends) == 1, counted.sent  # alone, or handing over under a backlog
        assert counted.matching("pg_advisory_xact_lock") == [], "a look's transaction"
        assert counted.matching("FOR NO KEY UPDATE") == [], "a look's transaction"
        assert self.engine.runToEnd(wf) == ["SUCCESS"]
        assert len(counted.matching("pending_command IS NULL AND CAST")) + len(
            counted.matching("suspend_and_claim(")) == 1, "the woken replay suspended again"
        assert self.engine.sideEffects(wf) == ["phase:1", "phase:2"]

    def test_a_command_that_arrives_before_a_long_sleep_suspends_is_applied_there(self):
        """A HOLD sent between the sleep's wake time and its suspend: the one-statement
        suspend leaves the run alone, and the look applies the HOLD (the handler runs)."""
        from exchange.workflows.engine import faults
        self.addCleanup(faults.disarm)
        engine = self.engine
        sent = []
        faults.arm("wait.after_deadline", action=lambda name: sent.append(
            engine.service.sendCommand(sent[0], "HOLD")["code"]) if sent else None)
        wf = engine.enqueue("long_rest", inputs={"seconds": 600})
        sent.append(wf)
        engine.runUntil(lambda: engine.status(wf) == "HELD", message="held at the sleep")
        assert sent[1:] == ["HOLD_REQUESTED"], sent
        assert engine.sideEffects(wf) == ["phase:1", "safe:hold:R1"]
        assert engine.service.sendCommand(wf, "RESUME")["code"] == "RESUMED"
        self.waiting(wf)  # back to its sleep
        assert engine.service.cancel(wf)["ok"]

    def test_a_sleep_suspend_whose_answer_was_lost_is_read_back_and_the_run_waits(self):
        """The one-statement suspend landed but its answer was lost: the run is found
        WAITING (only its owner suspends it), so the worker lets it go as suspended, not
        as lost to another owner, and no look's transaction runs."""
        import support
        from exchange.workflows.engine import faults
        self.addCleanup(faults.disarm)
        faults.arm("wait.after_suspend", times=1)
        counted = support.CountedDb(self)
        wf = self.engine.enqueue("sleeper", inputs={"seconds": 2.0})
        self.waiting(wf)
        assert counted.matching("pg_advisory_xact_lock") == [], "the look ran after the loss"
        assert self.engine.runToEnd(wf) == ["SUCCESS"]
        assert self.engine.sideEffects(wf) == ["phase:1", "phase:2"]
        assert self.engine.recoveryAttempts(wf) == 0

    def sleepersOnOneWorker(self, count, replace=None):
        """``count`` runs about to sleep 600 s, one worker, db.runs.suspendAndClaim
        replaced by ``replace(original)`` until the test ends; their ids, after one tick
        claimed the first (the rest are left to the hand-overs)."""
        from exchange.workflows.db import runs
        engine = self.engine
        assert engine.admin.configure(workerThreads=1)["ok"]
        self.addCleanup(engine.admin.configure, workerThreads=8)
        engine.startOnlyOnDispatch()
        if replace is not None:
            original = runs.suspendAndClaim
            runs.suspendAndClaim = replace(original)
            self.addCleanup(setattr, runs, "suspendAndClaim", original)
        ids = [engine.enqueue("long_rest", inputs={"seconds": 600}) for _ in range(count)]
        for wf in ids:
            self.addCleanup(engine.service.cancel, wf)
        result = engine.service.dispatch()
        assert result["data"]["claimed"] == 1, (result, [engine.status(w) for w in ids])
        return ids

    def test_under_a_backlog_a_sleep_suspends_and_claims_the_next_run_in_one_statement(self):
        """A sleep hands its worker over as a terminal write does: its suspend claims the
        next run in the same statement (suspend_and_claim), no claim of its own after it."""
        import support
        counted = support.CountedDb(self)
        ids = self.sleepersOnOneWorker(3)
        waitFor(lambda: [self.engine.status(w) for w in ids] == ["WAITING"] * 3, 20, 0.005,
                "the one worker put all three to sleep")
        self.engine.waitIdle()
        handOvers = counted.matching("suspend_and_claim(")
        alone = counted.matching("pending_command IS NULL AND CAST")
        claims = counted.matching("claim_runs(")
        assert len(claims) == 1, counted.sent  # the tick's: the sleeps claimed the rest
        assert len(handOvers) >= 2 and len(handOvers) + len(alone) == 3, counted.sent
        assert counted.matching("pg_advisory_xact_lock") == [], "a look's transaction"
        assert [self.engine.recoveryAttempts(w) for w in ids] == [0, 0, 0]

    def test_under_a_backlog_a_command_sent_before_the_sleep_suspends_is_applied_there(self):
        """The hand-over's suspend leaves a run with a pending command alone too: a HOLD
        sent between the first sleeper's wake time and its suspend holds it there."""
        from exchange.workflows.engine import context, faults
        self.addCleanup(faults.disarm)
        engine = self.engine
        sent = []

        def hold(name):
            workflowId = context.current().workflowId
            sent.append((workflowId, engine.service.sendCommand(workflowId, "HOLD")["code"]))
        faults.arm("wait.after_deadline", action=hold)
        import support
        counted = support.CountedDb(self)
        ids = self.sleepersOnOneWorker(2)
        engine.runUntil(lambda: [engine.status(w) for w in ids] == ["HELD", "WAITING"],
                        message="the first held at its sleep, the second asleep")
        assert sent == [(ids[0], "HOLD_REQUESTED")], sent
        assert counted.matching("suspend_and_claim("), "no hand-over was tried"
        assert counted.matching("pg_advisory_xact_lock"), "the held run's look did not run"
        assert engine.sideEffects(ids[0]) == ["phase:1", "safe:hold:R1"]

    def test_a_sleep_hand_over_that_fails_leaves_the_suspend_to_the_look_and_loses_nothing(
            self):
        from exchange.workflows.engine import faults
        failed = []

        def failing(original):
            def suspendAndClaim(*args):
                failed.append(args[1])
                raise faults.ConnectionLost(u"the hand-over failed before it ran")
            return suspendAndClaim
        import support
        counted = support.CountedDb(self)
        ids = self.sleepersOnOneWorker(2, failing)
        self.engine.runUntil(lambda: [self.engine.status(w) for w in ids] == ["WAITING"] * 2,
                             message="both asleep")
        assert failed, "no hand-over was tried"
        assert counted.matching("pg_advisory_xact_lock"), "the run was not read and looked at"
        assert [self.engine.recoveryAttempts(w) for w in ids] == [0, 0]

    def test_a_sleep_hand_over_whose_answer_was_lost_suspends_and_its_claims_are_recovered(
            self):
        """The statement suspended the run and claimed the next one, then its answer was
        lost: the sleeper is read WAITING (no look, no recovery of it), and the run claimed
        but never started is this executor's orphan, which its heartbeat recovers."""
        from exchange.workflows.engine import faults
        lost = []

        def losing(original):
            def suspendAndClaim(*args):
                answer = original(*args)
                if not lost:
                    lost.append(answer)
                    raise faults.ConnectionLost(u"the answer was lost after the commit")
                return answer
            return suspendAndClaim
        import support
        counted = support.CountedDb(self)
        ids = self.sleepersOnOneWorker(2, losing)
        self.engine.runUntil(lambda: [self.engine.status(w) for w in ids] == ["WAITING"] * 2,
                             timeoutSeconds=60, message="both asleep")
        assert lost and lost[0][0] and len(lost[0][1]) == 1, lost
        assert counted.matching("pg_advisory_xact_lock") == [], "the sleeper was looked at"
        assert self.engine.recoveryAttempts(ids[0]) == 0
        assert self.engine.sideEffects(ids[1]) == ["phase:1"]  # its step ran once

    def test_on_a_schema_before_version_14_sleeps_suspend_alone_after_one_try(self):
        """A library newer than its schema (suspend_and_claim missing): the first hand-over
        fails and is not tried again; every sleep still suspends, none is lost."""
        import support
        from exchange.workflows.db import schema
        from exchange.workflows.engine import dispatcher
        self.gw.sql("DROP FUNCTION workflows.suspend_and_claim")
        self.addCleanup(self.gw.sql, schema._SUSPEND_AND_CLAIM_14.replace("{schema}",
                                                                          "workflows"))
        self.addCleanup(dispatcher._lacking.clear)
        counted = support.CountedDb(self)
        ids = self.sleepersOnOneWorker(3)
        self.engine.runUntil(lambda: [self.engine.status(w) for w in ids] == ["WAITING"] * 3,
                             message="all three asleep")
        assert len(counted.matching("suspend_and_claim(")) == 1, counted.sent
        assert counted.matching("pg_advisory_xact_lock") == [], "a missing function's " \
            "failure took its sleep to the look, not to the suspend alone"
        assert [self.engine.recoveryAttempts(w) for w in ids] == [0, 0, 0]

    def test_the_hand_over_suspends_exactly_where_the_suspend_alone_does(self):
        """suspend_and_claim (schema version 14) repeats the one-statement suspend's
        conditions in PL/pgSQL: both run on twin rows, case by case, and must leave them
        alike (the plain case, a pending command, a near wake time, another attempt, a
        deadline before the wake time)."""
        from exchange.workflows.db import waits
        gw = self.gw
        now = gw.sql("SELECT workflows.now_ms()")[0][0]
        alone = waits._SUSPEND_ALONE.replace("{schema}", "workflows")
        handOver = ("SELECT * FROM workflows.suspend_and_claim(?, ?, ?, ?, ?, ?, ?, ?, ?, "
                    "?)")
        cases = [  # (pending command, wake in ms, the fence's attempt, deadline in ms)
            (None, 60000, 1, None), ("HOLD", 60000, 1, None), (None, 500, 1, None),
            (None, 60000, 2, None), (None, 60000, 1, 30000)]
        left = []
        for n, (command, wakeIn, attempt, deadlineIn) in enumerate(cases):
            twins = []
            for how in ("alone", "hand-over"):
                wf = "twin-%d-%s" % (n, how)
                self.addCleanup(gw.sql, "DELETE FROM workflows.workflow_runs "
                                "WHERE workflow_id = ?", wf)
                gw.sql("INSERT INTO workflows.workflow_runs (workflow_id, workflow_name, "
                       "status, queue_name, inputs, executor_id, attempts, pending_command, "
                       "deadline_ms) VALUES (?, 'long_rest', 'RUNNING', 'default', "
                       "CAST('{}' AS jsonb), 'twin-executor', 1, ?, ?)",
                       wf, command, None if deadlineIn is None else now + deadlineIn)
                fence = [wf, "twin-executor", attempt]
                if how == "alone":
                    gw.sql(alone, *(["sleep:" + wf, now + wakeIn] + fence
                                    + [now + wakeIn, 1000]))
                else:
                    gw.sql(handOver, *(["sleep:" + wf, now + wakeIn, 1000] + fence
                                       + ["[]", 0, "[]", "[]"]))
                twins.append(gw.sql("SELECT status, waiting_for = ?, run_at_ms - ?, "
                                    "executor_id FROM workflows.workflow_runs "
                                    "WHERE workflow_id = ?", "sleep:" + wf, now, wf)[0])
            assert twins[0] == twins[1], (cases[n], twins)
            left.append(twins[0][:3])
        assert left == [("WAITING", True, 60000)] + [("RUNNING", None, None)] * 3 \
            + [("WAITING", True, 30000)], left

    def test_a_wake_time_whose_commit_answer_was_lost_is_read_back_not_written_again(self):
        from exchange.workflows.engine import faults
        self.addCleanup(faults.disarm)
        faults.arm("wait.after_deadline", times=2)
        wf = self.engine.enqueue("sleeper", inputs={"seconds": 0.2})
        assert self.engine.runToEnd(wf) == ["SUCCESS"]
        names = [s["name"] for s in self.engine.service.listSteps(wf)["data"]["steps"]]
        assert names == ["phase", "<sleep>", "<sleep.done>", "phase"], names
        assert self.engine.sideEffects(wf) == ["phase:1", "phase:2"]
        assert self.engine.recoveryAttempts(wf) == 0  # the lost answer was read back: ours

    def test_a_wake_time_read_back_that_fails_once_is_retried_not_a_workflow_error(self):
        """A database problem never becomes the workflow's failure: the answer of the wake
        time's write is lost, and the first read-back of it loses its connection too."""
        from exchange.workflows.db import steps as stepLog
        from exchange.workflows.engine import faults
        self.addCleanup(faults.disarm)
        faults.arm("wait.after_deadline", times=1)
        readBack = stepLog.outputAt
        calls = []

        def flaky(*args):
            calls.append(args)
            if len(calls) == 1:
                raise faults.ConnectionLost(u"the read-back lost its connection")
            return readBack(*args)
        stepLog.outputAt = flaky
        self.addCleanup(setattr, stepLog, "outputAt", readBack)
        wf = self.engine.enqueue("sleeper", inputs={"seconds": 0.2})
        assert self.engine.runToEnd(wf) == ["SUCCESS"]
        assert len(calls) >= 2, calls
        assert self.engine.recoveryAttempts(wf) == 0

    def test_200_runs_waiting_on_prompts_and_sleeps_leave_4_threads_free_for_other_work(self):
        engine = self.engine
        assert engine.admin.configure(workerThreads=4)["ok"]
        self.addCleanup(engine.admin.configure, workerThreads=8)
        waiting = [engine.enqueue("asks_operator") for _ in range(150)] + \
            [engine.enqueue("sleeper", inputs={"seconds": 600}) for _ in range(50)]
        engine.runUntil(lambda: self.gw.sql(
            "SELECT count(*) FROM workflows.workflow_runs WHERE status = 'WAITING'")[0][0] == 200,
            timeoutSeconds=60, message="200 runs waiting")
        others = [engine.enqueue("three_steps") for _ in range(8)]
        assert engine.runToEnd(*others) == ["SUCCESS"] * 8
        prompts = self.prompts()
        for row in prompts.listPrompts(limit=1000)["data"]["prompts"]:
            assert prompts.respondToPrompt(row["promptId"], "yes", user="shift")["ok"]
        assert engine.runToEnd(*waiting[:150]) == ["SUCCESS"] * 150
        for wf in waiting[150:]:
            assert engine.service.cancel(wf)["ok"]

    def test_a_run_waiting_past_its_deadline_is_woken_and_ends_by_its_timeout(self):
        engine = self.engine
        wf = engine.enqueue("asks_operator", timeoutSeconds=1.5)  # the prompt has none
        self.waiting(wf)
        assert engine.runToEnd(wf) == ["CANCELLED"]
        assert engine.service.getStatus(wf)["data"]["error"]["type"] == "Timeout"

    def test_a_long_sleep_past_the_run_deadline_ends_by_the_timeout(self):
        engine = self.engine
        wf = engine.enqueue("oversleeps")
        self.waiting(wf)
        assert self.run_(wf)[3] < self.gw.sql("SELECT workflows.now_ms() + 2000")[0][0]
        assert engine.runToEnd(wf) == ["CANCELLED"]
        assert engine.service.getStatus(wf)["data"]["error"]["type"] == "Timeout"

    def test_a_prompt_schema_with_a_keyword_the_engine_cannot_check_is_refused(self):
        engine = self.engine
        wf = engine.enqueue("asks_with_unsupported_schema")
        assert engine.runToEnd(wf) == ["ERROR"]
        error = engine.service.getStatus(wf)["data"]["error"]
        assert (error["code"], "format" in error["message"]) == ("INVALID_SCHEMA", True), error
        assert self.prompts().listPrompts(workflowId=wf)["data"]["count"] == 0

    def test_commands_reach_a_sleeping_run_and_every_hold_runs_its_handler(self):
        engine = self.engine
        wf = engine.enqueue("long_rest", inputs={"seconds": 600})
        self.waiting(wf)
        command = engine.service.sendCommand
        assert command(wf, "HOLD")["code"] == "HOLD_REQUESTED"  # woken to apply it
        engine.runUntil(lambda: engine.status(wf) == "HELD")
        assert command(wf, "RESUME")["code"] == "RESUMED"
        self.waiting(wf)  # back to its sleep: 600 s were not over
        assert command(wf, "STOP")["code"] == "STOP_REQUESTED"
        assert engine.runToEnd(wf) == ["STOPPED"]
        assert engine.sideEffects(wf) == ["phase:1", "safe:hold:R1", "safe:stop:R1"]
        names = [s["name"] for s in engine.service.listSteps(wf)["data"]["steps"]]
        assert names == ["phase", "<sleep>", "<hold>", "safe_state", "<stop>", "safe_state"]

    def test_a_second_hold_after_a_resumed_one_runs_the_hold_handler_again(self):
        engine = self.engine
        from test_guards_and_limits import gate
        release = gate("gate.twice")
        wf = engine.enqueue("holds_twice", inputs={"gateName": "gate.twice"})
        engine.runUntil(lambda: engine.sideEffects(wf, "phase:1") == 1)
        engine.waitsAtGate(wf)
        assert engine.service.sendCommand(wf, "HOLD")["ok"]
        release.set()
        engine.runUntil(lambda: engine.status(wf) == "HELD")
        assert engine.service.sendCommand(wf, "RESUME")["ok"]
        self.waiting(wf)  # in recv, after phase 2
        assert engine.service.sendCommand(wf, "HOLD")["code"] == "HOLD_REQUESTED"
        engine.runUntil(lambda: engine.status(wf) == "HELD")
        assert engine.sideEffects(wf).count("safe:hold:R1") == 2
        assert engine.service.sendCommand(wf, "RESUME")["ok"]
        import exchange.workflows.api.messages as messages
        self.waiting(wf)
        assert messages.send(wf, "go!", topic="go")["ok"]
        assert engine.runToEnd(wf) == ["SUCCESS"]
        assert engine.sideEffects(wf) == ["phase:1", "safe:hold:R1", "phase:2",
                                          "safe:hold:R1", "phase:3"]

    def test_a_finally_block_does_not_run_a_step_when_the_wait_only_suspends_the_run(self):
        engine = self.engine
        wf = engine.enqueue("tidy_waiter")
        self.waiting(wf)
        assert engine.sideEffects(wf) == []
        import exchange.workflows.api.messages as messages
        assert messages.send(wf, "done", topic="x")["ok"]
        assert engine.runToEnd(wf) == ["SUCCESS"]
        assert engine.sideEffects(wf) == ["safe:finally"]

    def test_a_refused_send_is_recorded_so_a_replay_takes_the_same_branch(self):
        engine = self.engine
        wf = engine.enqueue("sends_to_missing", inputs={"target": "late-target"})
        self.waiting(wf)  # asleep after the refused send
        target = engine.enqueue("mailbox", inputs={"count": 1, "timeoutSeconds": 5},
                                workflowId="late-target")
        assert engine.runToEnd(wf, target) == ["SUCCESS", "SUCCESS"]
        assert engine.service.getResult(wf, 0)["data"]["output"] is False
        assert engine.service.getResult(target, 0)["data"]["output"] == [None]
        steps = engine.service.listSteps(wf)["data"]["steps"]
        assert (steps[0]["name"], steps[0]["status"], steps[0]["error"]["code"]) == \
            ("<send>", "ERROR", "WORKFLOW_NOT_FOUND")
