"""Nothing lost when executors die: leases, recovery of dead executors' runs (exactly once,
by whichever live executor gets there first), a start under the same name taking over at
once, the recovery limit and resume, zombies fenced before their next step, lost commit
answers, killed connections, and deadlines. Runs on CPython and Jython; the scenarios with
real processes (kill -9, SIGSTOP, Postgres restarts) are in test_fault_processes.py."""
from __future__ import absolute_import, division, print_function

import threading

import support
from helpers import runConcurrently, waitFor
from test_guards_and_limits import gate


def addExecutor(gw, executorId, name=None, heartbeatAgoMs=0, leaseMs=30000, contactAgoMs=0):
    """An executor row of another process (alive or not, by its heartbeat and lease)."""
    gw.sql("INSERT INTO workflows.executors (executor_id, executor_name, host, runtime, "
           "generation, lease_ms, worker_threads, started_at_ms, heartbeat_at_ms, "
           "contact_since_ms) VALUES (?, ?, 'elsewhere', 'cpython 3', 1, ?, 4, "
           "workflows.now_ms() - ?, workflows.now_ms() - ?, workflows.now_ms() - ?)",
           executorId, name or executorId, leaseMs, max(heartbeatAgoMs, contactAgoMs),
           heartbeatAgoMs, contactAgoMs)


def claimedBy(engine, executorId, count, workflowName="three_steps"):
    """Runs that ``executorId`` claimed and was running (as its claim would leave them)."""
    ids = [engine.enqueue(workflowName) for _ in range(count)]
    engine.gw.sql("UPDATE workflows.workflow_runs SET status = 'RUNNING', executor_id = ?, "
                  "attempts = attempts + 1, claimed_at_ms = workflows.now_ms(), "
                  "started_at_ms = workflows.now_ms() "
                  "WHERE workflow_id = ANY(string_to_array(?, ','))", executorId, ",".join(ids))
    return ids


def inContactForALease(engine):
    """Make this executor one that has renewed its lease without a break for a whole lease
    (what a recoverer must be) without waiting one out."""
    from exchange.workflows.engine import kernel
    assert engine.admin.recoverNow()["ok"]  # registers it
    engine.gw.sql("UPDATE workflows.executors SET contact_since_ms = contact_since_ms - 600000 "
                  "WHERE executor_id = ?", kernel.getKernel().executorId)


def runRow(engine, workflowId):
    return engine.service.getStatus(workflowId)["data"]


class RecoveryTest(support.EngineCase):
    def setUp(self):
        support.EngineCase.setUp(self)
        self.engine.startOnlyOnDispatch()

    def test_a_run_left_by_its_thread_is_recovered_after_two_heartbeats_and_replays(self):
        engine = self.engine
        wf = engine.enqueue("three_steps", inputs={"crash": "in-mix"})
        engine.runUntilCrashed(wf, "in-mix")
        waitFor(lambda: self.gw.sql("SELECT workflows.now_ms() - claimed_at_ms >= 300 FROM "
                                    "workflows.workflow_runs WHERE workflow_id = ?", wf)[0][0],
                10, 0.02, "a claim too old to be on its way to a worker")
        assert engine.admin.recoverNow()["data"]["orphansRecovered"] == 0  # seen once
        assert engine.status(wf) == "RUNNING"
        assert engine.admin.recoverNow()["data"]["orphansRecovered"] == 1  # seen twice
        row = runRow(engine, wf)
        assert (row["status"], row["executorId"], row["recoveryAttempts"]) == \
            ("ENQUEUED", None, 1)
        assert engine.runToEnd(wf) == ["SUCCESS"]
        assert engine.sideEffects(wf) == ["weigh", "mix", "crash:in-mix", "mix", "label"]

    def test_a_dead_executors_runs_are_recovered_and_finish_here(self):
        engine = self.engine
        from exchange.workflows.engine import kernel
        addExecutor(engine.gw, "ghost", heartbeatAgoMs=60000, leaseMs=30000)
        ids = claimedBy(engine, "ghost", 5)
        inContactForALease(engine)
        counts = engine.admin.recoverNow()["data"]
        assert counts["recovered"] == 5, counts
        ghost = [e for e in engine.admin.listExecutors(includeRetired=True)["data"]["executors"]
                 if e["executorId"] == "ghost"][0]
        assert (ghost["retiredReason"], ghost["retiredBy"], ghost["recoveredRuns"],
                ghost["alive"], ghost["activeRuns"]) == \
            ("lease expired", kernel.getKernel().executorId, 5, False, 0)
        assert engine.runToEnd(*ids) == ["SUCCESS"] * 5
        for wf in ids:
            row = runRow(engine, wf)
            assert (row["recoveryAttempts"], row["attempts"]) == (1, 2)
        assert engine.admin.recoverNow()["data"]["recovered"] == 0

    def test_a_recovery_is_journaled_and_logged_with_the_runs_it_moved(self):
        engine = self.engine
        from exchange.workflows.engine import kernel
        from helpers import LogRecords
        import exchange.workflows.api.journal as journal
        logged = LogRecords("exchange.workflows.leases")
        self.addCleanup(logged.detach)
        me = kernel.getKernel().executorId
        addExecutor(engine.gw, "ghost", heartbeatAgoMs=60000, leaseMs=30000)
        ids = claimedBy(engine, "ghost", 2)
        inContactForALease(engine)
        assert engine.admin.recoverNow()["data"]["recovered"] == 2
        for wf in ids:
            entries = journal.listJournal(workflowId=wf, action="RECOVER")["data"]["entries"]
            assert [(e["actor"], e["outcome"], e["accepted"], e["executorId"], e["reason"],
                     e["details"]) for e in entries] == \
                [("gateway:" + me, "RECOVERED", True, me, "the lease of its executor ran out",
                  {"from": "ghost", "attempt": 1, "recoveryAttempts": 1,
                   "status": "ENQUEUED"})], entries
        line = [m for m in logged.messages("WARNING") if m.startswith("recovered 2 run(s)")]
        assert len(line) == 1 and all("%s (from ghost -> ENQUEUED)" % wf in line[0]
                                      for wf in ids), logged.records

    def test_an_orphan_recovery_and_a_hand_back_are_journaled(self):
        engine = self.engine
        import exchange.workflows.api.journal as journal
        import exchange.workflows.api.lifecycle as lifecycle
        wf = engine.enqueue("three_steps", inputs={"crash": "in-mix"})
        engine.runUntilCrashed(wf, "in-mix")
        engine.recoverCrashed(wf)
        entry = journal.listJournal(workflowId=wf, action="RECOVER")["data"]["entries"][0]
        assert (entry["outcome"], entry["reason"], entry["details"]["status"]) == \
            ("RECOVERED", "no thread of its executor ran it any more (an orphan)",
             "ENQUEUED"), entry
        assert engine.runToEnd(wf) == ["SUCCESS"]
        opened = gate("gate.handback")
        held = engine.enqueue("gated", inputs={"gateName": "gate.handback"})
        engine.runUntil(lambda: engine.status(held) == "RUNNING")
        assert lifecycle.retire(graceSeconds=0)["data"]["runsGivenBack"] == 1
        handed = journal.listJournal(workflowId=held, action="HAND_BACK")["data"]["entries"]
        assert [(e["outcome"], e["details"]["attempt"]) for e in handed] == [("ENQUEUED", 1)]
        opened.set()
        assert lifecycle.onStartup(installSchema=False)["ok"]  # started again
        assert engine.runToEnd(held) == ["SUCCESS"]

    def test_executors_and_their_runs_show_an_overdue_heartbeat_before_the_lease_ends(self):
        engine = self.engine
        from exchange.workflows.engine import kernel
        me = kernel.getKernel().executorId
        addExecutor(engine.gw, "stalled", heartbeatAgoMs=5000, leaseMs=30000)
        addExecutor(engine.gw, "gone", heartbeatAgoMs=60000, leaseMs=30000)
        stalled, = claimedBy(engine, "stalled", 1)
        gone, = claimedBy(engine, "gone", 1)
        orphan, = claimedBy(engine, "nobody", 1)
        assert engine.admin.recoverNow()["ok"]  # (this executor beats; it recovers nothing)
        listed = dict((e["executorId"], e) for e in
                      engine.admin.listExecutors()["data"]["executors"])
        assert [(listed[x]["state"], listed[x]["alive"]) for x in ("stalled", "gone", me)] == \
            [("overdue", True), ("lapsed", False), ("alive", True)], listed
        assert listed["stalled"]["heartbeatAgeMs"] >= 5000
        assert listed["stalled"]["overdueAfterMs"] == 3000
        assert listed[me]["heartbeatAgeMs"] < listed[me]["overdueAfterMs"]
        states = [(runRow(engine, wf)["executorState"], runRow(engine, wf)["status"])
                  for wf in (stalled, gone, orphan)]
        assert states == [("overdue", "RUNNING"), ("lapsed", "RUNNING"),
                          ("unregistered", "RUNNING")], states
        assert runRow(engine, stalled)["executorHeartbeatAgeMs"] >= 5000
        queued = engine.enqueue("three_steps", delaySeconds=60)
        assert (runRow(engine, queued)["executorState"],
                runRow(engine, queued)["executorHeartbeatAgeMs"]) == (None, None)

    def test_runs_of_an_owner_without_a_lease_wait_for_the_operator(self):
        """Runs claimed by a gateway still on a library version without leases (a rolling
        upgrade) have no lease to judge them by: that gateway may still be running them.
        They are counted, and recovered when the operator says so."""
        engine = self.engine
        ids = claimedBy(engine, "gateway-on-the-old-version", 2)
        inContactForALease(engine)
        counts = engine.admin.recoverNow()["data"]
        assert (counts["recovered"], counts["unregisteredOwners"]) == (0, 1), counts
        assert [engine.status(w) for w in ids] == ["RUNNING"] * 2
        engine.service.dispatch()
        assert [engine.status(w) for w in ids] == ["RUNNING"] * 2
        told = engine.admin.recoverNow(includeUnregistered=True)["data"]
        assert (told["recovered"], told["unregisteredOwners"]) == (2, 0), told
        assert engine.runToEnd(*ids) == ["SUCCESS"] * 2

    def test_no_recovery_before_the_recoverer_was_in_contact_for_a_lease(self):
        """After an outage that cut every executor off, the first one back must not take the
        runs of others that are reconnecting too."""
        engine = self.engine
        addExecutor(engine.gw, "ghost", heartbeatAgoMs=60000, leaseMs=30000)
        ids = claimedBy(engine, "ghost", 2)
        assert engine.admin.recoverNow()["data"]["recovered"] == 0  # we just (re)joined
        assert [engine.status(w) for w in ids] == ["RUNNING"] * 2
        inContactForALease(engine)
        assert engine.admin.recoverNow()["data"]["recovered"] == 2

    def test_an_executor_with_a_longer_lease_gets_its_whole_lease_to_come_back(self):
        """After an outage, a recoverer waits the dead one's lease when it is longer than its
        own: that executor may be retrying on its own, slower schedule."""
        engine = self.engine
        from exchange.workflows.engine import kernel
        addExecutor(engine.gw, "slow-peer", heartbeatAgoMs=200000, leaseMs=120000)
        ids = claimedBy(engine, "slow-peer", 2)
        assert engine.admin.recoverNow()["ok"]  # registers us (lease 30 s)

        def inContactFor(ms):
            engine.gw.sql("UPDATE workflows.executors SET contact_since_ms = "
                          "workflows.now_ms() - ? WHERE executor_id = ?",
                          ms, kernel.getKernel().executorId)
        inContactFor(60000)  # two of our leases, half of its
        assert engine.admin.recoverNow()["data"]["recovered"] == 0
        assert [engine.status(w) for w in ids] == ["RUNNING"] * 2
        inContactFor(121000)
        assert engine.admin.recoverNow()["data"]["recovered"] == 2

    def test_a_live_executors_runs_are_left_alone(self):
        engine = self.engine
        addExecutor(engine.gw, "busy-peer", heartbeatAgoMs=1000, leaseMs=30000)
        ids = claimedBy(engine, "busy-peer", 2)
        inContactForALease(engine)
        assert engine.admin.recoverNow()["data"]["recovered"] == 0
        rows = engine.gw.sql("SELECT status, executor_id FROM workflows.workflow_runs "
                             "WHERE workflow_id = ANY(string_to_array(?, ','))", ",".join(ids))
        assert rows == [("RUNNING", "busy-peer")] * 2
        alive = engine.admin.listExecutors()["data"]
        assert alive["alive"] == 2 and alive["count"] == 2

    def test_eight_recoverers_at_once_take_each_run_exactly_once(self):
        engine = self.engine
        from exchange.workflows.db import executors
        addExecutor(engine.gw, "ghost", heartbeatAgoMs=60000, leaseMs=1000)
        ids = claimedBy(engine, "ghost", 60, "briefly")
        names = ["peer-%d" % i for i in range(8)]
        for name in names:
            addExecutor(engine.gw, name, heartbeatAgoMs=0, leaseMs=1000, contactAgoMs=60000)
        lock = threading.Lock()

        def recover():
            with lock:
                me = names.pop()
            return executors.beat(engine.gw.dbName, me, 1000, 1, 0, 10, False).recovered
        counts = runConcurrently(recover, 8)
        assert sum(counts) == 60 and len(counts) == 8, counts
        rows = engine.gw.sql("SELECT recovery_attempts, status, count(*) FROM "
                             "workflows.workflow_runs "
                             "WHERE workflow_id = ANY(string_to_array(?, ',')) "
                             "GROUP BY 1, 2", ",".join(ids))
        assert rows == [(1, "ENQUEUED", 60)], rows

    def test_a_start_under_the_same_name_takes_over_its_predecessors_runs_at_once(self):
        engine = self.engine
        from exchange.workflows.engine import kernel
        import exchange.workflows.api.lifecycle as lifecycle
        addExecutor(engine.gw, "line-3:before-restart", "line-3", heartbeatAgoMs=500)
        ids = claimedBy(engine, "line-3:before-restart", 3)
        started = lifecycle.onStartup(installSchema=False, executorName="line-3")
        assert started["ok"], started
        assert (started["data"]["superseded"], started["data"]["recovered"],
                started["data"]["executorName"]) == (1, 3, "line-3")
        before = engine.gw.sql("SELECT retired_reason, retired_by FROM workflows.executors "
                               "WHERE executor_id = 'line-3:before-restart'")
        assert before == [("superseded", kernel.getKernel().executorId)]
        assert engine.runToEnd(*ids) == ["SUCCESS"] * 3

    def test_an_executor_whose_name_was_taken_over_claims_nothing_more(self):
        engine = self.engine
        from exchange.workflows.db import executors
        import exchange.workflows.api.lifecycle as lifecycle
        assert lifecycle.onStartup(installSchema=False, executorName="press-7")["ok"]
        inContactForALease(engine)
        newer = executors.Identity("press-7:newer", "press-7", "elsewhere", "cpython 3")
        assert executors.register(engine.gw.dbName, newer, 1, 30000, 4) == (1, False)
        wf = engine.enqueue("briefly")
        engine.admin.recoverNow()  # our heartbeat finds our row retired: superseded
        result = engine.service.dispatch()
        assert result["ok"] and result["data"]["claimed"] == 0, result
        assert engine.status(wf) == "ENQUEUED"

    def test_a_run_stops_at_its_recovery_limit_and_resume_lets_the_fix_finish(self):
        engine = self.engine
        import system
        wf = engine.enqueue("crashes_until_fixed", inputs={"fixName": "fix.poison"})
        for crash in (1, 2):  # maxRecoveryAttempts=1: one recovery, then the limit
            engine.runUntil(lambda: engine.sideEffects(wf, "crash") == crash)
            engine.waitIdle()
            engine.recoverCrashed(wf)
        row = runRow(engine, wf)
        assert (row["status"], row["recoveryAttempts"], row["maxRecoveryAttempts"]) == \
            ("MAX_RECOVERY_ATTEMPTS_EXCEEDED", 2, 1), row
        assert row["error"]["type"] == "MaxRecoveryAttemptsExceeded" and row["completedAtMs"]
        result = engine.service.getResult(wf, 0)
        assert (result["ok"], result["code"]) == (False, "MAX_RECOVERY_ATTEMPTS_EXCEEDED")
        listed = engine.service.listWorkflows(status="MAX_RECOVERY_ATTEMPTS_EXCEEDED")
        assert [w["workflowId"] for w in listed["data"]["workflows"]] == [wf]
        engine.service.dispatch()
        assert engine.status(wf) == "MAX_RECOVERY_ATTEMPTS_EXCEEDED"  # nobody runs it
        system.util.getGlobals()["fix.poison"] = True  # the fixed version is deployed
        resumed = engine.service.resume(wf, reason="fixed the salt dosing")
        assert resumed["code"] == "WORKFLOW_RESUMED", resumed
        assert engine.recoveryAttempts(wf) == 0
        assert engine.runToEnd(wf) == ["SUCCESS"]
        assert engine.service.getResult(wf, 0)["data"]["output"] == [1, "batch of 1 kg"]
        assert engine.sideEffects(wf) == ["weigh", "crash", "crash", "label"]
        again = engine.service.resume(wf)
        assert (again["code"], again["data"]["status"]) == ("NOT_RESUMABLE", "SUCCESS")
        assert engine.service.resume("no-such-run")["code"] == "WORKFLOW_NOT_FOUND"

    def lapseOurLease(self, retire=False):
        """What a pause past the lease leaves in the database: our heartbeat a minute old,
        and (``retire``) our row retired by the executor that recovered our runs."""
        from exchange.workflows.engine import kernel
        self.gw.sql("UPDATE workflows.executors SET heartbeat_at_ms = workflows.now_ms() - "
                    "60000, retired_at_ms = CASE WHEN ? THEN workflows.now_ms() END, "
                    "retired_reason = CASE WHEN ? THEN 'lease expired' END, "
                    "retired_by = CASE WHEN ? THEN 'other' END WHERE executor_id = ?",
                    retire, retire, retire, kernel.getKernel().executorId)

    def assertZombieStopsBeforeItsNextStep(self, gateName, ourSideNotices):
        """A run waits between two steps while its lease lapses and another executor takes
        it over; ``ourSideNotices()`` is how this executor learns it; then the run goes on
        here: it must not start its next step."""
        engine = self.engine
        opened = gate(gateName)
        wf = engine.enqueue("gate_between_steps", inputs={"gateName": gateName})
        engine.runUntil(lambda: len(engine.service.listSteps(wf)["data"]["steps"]) == 1,
                        message="the first step recorded")
        engine.gw.sql("UPDATE workflows.workflow_runs SET executor_id = 'other', "
                      "attempts = attempts + 1 WHERE workflow_id = ?", wf)
        ourSideNotices()
        opened.set()
        engine.waitIdle()
        assert engine.sideEffects(wf, "label") == 0, "the zombie started its next step"
        assert [s["name"] for s in engine.service.listSteps(wf)["data"]["steps"]] == ["weigh"]
        assert engine.gw.sql("SELECT status, executor_id FROM workflows.workflow_runs "
                             "WHERE workflow_id = ?", wf) == [("RUNNING", "other")]

    def test_a_zombie_that_wakes_between_steps_never_starts_the_next(self):
        def heartbeatFindsTheLeaseLapsed():
            self.lapseOurLease()
            beat = self.engine.admin.recoverNow()["data"]
            assert beat["renewed"], beat
        self.assertZombieStopsBeforeItsNextStep("gate.zombie", heartbeatFindsTheLeaseLapsed)

    def test_a_zombie_restarted_after_being_declared_dead_checks_before_its_next_step(self):
        """A project save (onStartup) after this executor was declared dead: its threads
        still run recovered runs and must check ownership before their next step."""
        import exchange.workflows.api.lifecycle as lifecycle

        def declaredDeadThenRestarted():
            self.lapseOurLease(retire=True)
            assert lifecycle.onStartup(installSchema=False)["ok"]
        self.assertZombieStopsBeforeItsNextStep("gate.dead", declaredDeadThenRestarted)

    def test_an_executor_whose_lease_lapsed_claims_nothing_until_it_renewed(self):
        """Woken from a pause, a worker or a button may try to claim before the timer's
        heartbeat: the database refuses while our lease is lapsed or retired."""
        engine = self.engine
        assert engine.admin.configure(startOnEnqueue=True)["ok"]
        assert engine.admin.recoverNow()["ok"]  # registered, lease fresh
        for retire in (False, True):
            self.lapseOurLease(retire)
            wf = engine.enqueue("briefly")  # its claim runs on this thread, at once
            assert engine.status(wf) == "ENQUEUED", retire
            assert engine.runToEnd(wf) == ["SUCCESS"]  # the timer renews, then claims

    def test_a_resumed_run_claimed_here_again_is_not_taken_for_an_orphan(self):
        """Cancel, then resume, while the first attempt's thread still runs: a resume waits
        until that thread let go (STILL_RUNNING); in the moment between its let-go and its
        end, a resumed attempt claimed here stays tracked when the old thread forgets its
        own."""
        engine = self.engine
        from exchange.workflows import platform
        from exchange.workflows.engine import kernel
        first, second = gate("gate.held.1"), gate("gate.held.2")
        wf = engine.enqueue("held_per_attempt", inputs={"gateName": "gate.held"})
        engine.runUntil(lambda: len(engine.service.listSteps(wf)["data"]["steps"]) == 1,
                        message="the first step recorded")
        assert engine.service.cancel(wf, reason="valve stuck")["ok"]
        refused = engine.service.resume(wf)
        assert (refused["ok"], refused["code"]) == (False, "STILL_RUNNING"), refused
        # the thread's let-go, recorded before that thread has ended
        self.gw.sql("UPDATE workflows.workflow_runs SET executor_id = NULL WHERE workflow_id = ?",
                    wf)
        assert engine.service.resume(wf)["ok"]
        engine.runUntil(lambda: runRow(engine, wf)["attempts"] == 2 and
                        engine.status(wf) == "RUNNING")
        pool = kernel.getKernel().existingPool()
        waitFor(lambda: platform.activeCount(pool) == 2, 10, 0.01, "both attempts run here")
        first.set()  # the first attempt goes on, is fenced, and its thread ends
        waitFor(lambda: platform.activeCount(pool) == 1, 10, 0.01, "attempt 1 ended")
        waitFor(lambda: self.gw.sql("SELECT workflows.now_ms() - claimed_at_ms >= 300 FROM "
                                    "workflows.workflow_runs WHERE workflow_id = ?", wf)[0][0],
                10, 0.02, "a claim old enough to be judged")
        for _ in range(3):
            assert engine.admin.recoverNow()["data"]["orphansRecovered"] == 0
        row = runRow(engine, wf)
        assert (row["status"], row["attempts"], row["recoveryAttempts"]) == ("RUNNING", 2, 0)
        second.set()
        assert engine.runToEnd(wf) == ["SUCCESS"]

    def test_runs_claimed_before_an_upgrade_to_leases_are_not_taken_for_orphans(self):
        """A project save that brings this version over a running older one: the old
        threads keep running the runs they had claimed, which the new code never tracked."""
        engine = self.engine
        from exchange.workflows import compat
        from exchange.workflows.engine import kernel
        me = kernel.getKernel().executorId
        assert engine.admin.recoverNow()["ok"]
        import exchange.workflows.api.lifecycle as lifecycle
        before = claimedBy(engine, me, 1)  # claimed by the old library version's threads
        names = kernel.entryNames()  # a kernel older than tracking lacks these
        for entry in names[names.index("trackingSince"):]:
            kernel.getKernel().sharedMap().remove(entry)
        assert lifecycle.onStartup(installSchema=False)["ok"]  # this version's first start
        upgraded = kernel.getKernel().trackingSince.get()
        waitFor(lambda: compat.monotonicMs() - upgraded > 100, 5, 0.01, "time after upgrade")
        after = claimedBy(engine, me, 1)  # claimed since, and left by its thread
        waitFor(lambda: self.gw.sql("SELECT bool_and(workflows.now_ms() - claimed_at_ms "
                                    ">= 300) FROM workflows.workflow_runs WHERE status = "
                                    "'RUNNING'")[0][0], 10, 0.02, "claims old enough")
        found = [engine.admin.recoverNow()["data"]["orphansRecovered"] for _ in range(3)]
        assert found == [0, 1, 0], found
        assert (engine.status(before[0]), engine.recoveryAttempts(before[0])) == ("RUNNING", 0)
        assert engine.recoveryAttempts(after[0]) == 1

    def test_a_stopped_executor_gives_its_runs_back_without_counting_a_recovery(self):
        engine = self.engine
        import exchange.workflows.api.lifecycle as lifecycle
        opened = gate("gate.stop")
        wf = engine.enqueue("gated", inputs={"gateName": "gate.stop"})
        engine.runUntil(lambda: engine.status(wf) == "RUNNING")
        retired = lifecycle.retire(graceSeconds=0.2)  # the run does not end in time
        assert (retired["code"], retired["data"]["runsGivenBack"]) == ("RETIRED", 1), retired
        row = runRow(engine, wf)
        assert (row["status"], row["executorId"], row["recoveryAttempts"]) == \
            ("ENQUEUED", None, 0)
        assert engine.service.dispatch()["data"]["claimed"] == 0  # stopped: claims nothing
        assert engine.admin.recoverNow()["ok"]
        assert engine.service.dispatch()["data"]["claimed"] == 0  # ... and stays stopped
        assert engine.admin.applyRetention(0)["data"]["executorsDeleted"] == 1  # row gone
        assert engine.service.dispatch()["data"]["claimed"] == 0  # ... stopped all the same
        assert lifecycle.onStartup(installSchema=False)["ok"]  # started again
        opened.set()
        assert engine.runToEnd(wf) == ["SUCCESS"]
        assert engine.recoveryAttempts(wf) == 0

    def test_a_claim_landing_while_the_executor_retires_is_handed_back_too(self):
        """The retirement waits for a claim of ours that holds our executor row, and hands
        back what that claim took."""
        engine = self.engine
        import system
        import exchange.workflows.api.lifecycle as lifecycle
        from exchange.workflows.engine import kernel
        me = kernel.getKernel().executorId
        assert engine.admin.recoverNow()["ok"]
        wf = engine.enqueue("briefly")
        landing = system.db.beginTransaction(support.RAW_DB_NAME)  # a claim, half done
        try:
            system.db.runPrepQuery("SELECT 1 FROM workflows.executors WHERE executor_id = ? "
                                   "FOR SHARE", [me], support.RAW_DB_NAME, landing)
            system.db.runPrepUpdate("UPDATE workflows.workflow_runs SET status = 'RUNNING', "
                                    "executor_id = ?, attempts = 1, claimed_at_ms = 1 "
                                    "WHERE workflow_id = ?", [me, wf], support.RAW_DB_NAME,
                                    landing)
            results = []
            thread = threading.Thread(target=lambda: results.append(lifecycle.retire()))
            thread.start()
            waitFor(lambda: self.gw.sql("SELECT count(*) FROM pg_stat_activity WHERE "
                                        "wait_event_type = 'Lock' AND "
                                        "datname = current_database()")[0][0] == 1,
                    10, 0.01, "the retirement waits for the claim")
            system.db.commitTransaction(landing)
        finally:
            system.db.closeTransaction(landing)
        thread.join(10)
        assert results and results[0]["data"] == {"retired": True, "runsGivenBack": 1}, results
        assert (engine.status(wf), engine.recoveryAttempts(wf)) == ("ENQUEUED", 0)

    def test_a_checkpoint_whose_commit_answer_was_lost_is_not_repeated(self):
        engine = self.engine
        from exchange.workflows.engine import faults
        self.addCleanup(faults.disarm)
        faults.arm("step.after_commit", times=2)
        faults.arm("run.after_finish", times=1)
        wf = engine.enqueue("three_steps")
        assert engine.runToEnd(wf) == ["SUCCESS"]
        assert engine.service.getResult(wf, 0)["data"]["output"] == {"label": "batch of 15 kg", "total": 15}
        assert engine.sideEffects(wf) == ["weigh", "mix", "label"]
        steps = engine.service.listSteps(wf)["data"]["steps"]
        assert [(s["name"], s["attempts"]) for s in steps] == \
            [("weigh", 1), ("mix", 1), ("label", 1)]
        assert engine.recoveryAttempts(wf) == 0  # each lost answer was read back: still ours

    def test_killing_every_engine_connection_mid_run_reaches_no_user_code(self):
        engine = self.engine
        self.gw.allowOpenTransactions = True  # a transaction whose connection died is closed
        ids = [engine.enqueue("briefly", inputs={"ms": 40}) for _ in range(30)]
        stop = threading.Event()
        kills = []

        def killer():
            while not stop.is_set() and len(kills) < 40:
                try:
                    rows = self.gw.sql(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
                        "datname = current_database() AND pid <> pg_backend_pid() "
                        "AND backend_type = 'client backend'")
                    kills.append(rows[0][0])
                except support.catchable():
                    pass  # our own connection was killed by the other thread's round
                stop.wait(0.03)
        thread = threading.Thread(target=killer)
        thread.start()
        try:
            def finished():
                engine.service.dispatch()  # refused while connections die: that is fine
                try:
                    return all(s in support.TERMINAL for s in [engine.status(w) for w in ids])
                except support.catchable():
                    return False
            waitFor(finished, 60, 0.01, "every run finished")
        finally:
            stop.set()
            thread.join(10)
        print("\n[pg_terminate_backend] rounds=%d, connectionsKilled=%d, runs=%d"
              % (len(kills), sum(kills), len(ids)))
        assert sum(kills) > 0, "no connection was killed"
        rows = self.gw.sql("SELECT status, output::text, count(*) FROM workflows.workflow_runs "
                           "GROUP BY 1, 2")
        assert rows == [("SUCCESS", "40", 30)], rows
        steps = self.gw.sql("SELECT status, attempts, count(*) FROM workflows.step_outputs "
                            "GROUP BY 1, 2")
        assert steps == [("SUCCESS", 1, 30)], steps

    def test_a_run_past_its_deadline_stops_in_checkCancelled_with_the_reason_timeout(self):
        engine = self.engine
        wf = engine.enqueue("overrunning")
        assert engine.runToEnd(wf) == ["CANCELLED"]
        row = runRow(engine, wf)
        assert row["error"]["type"] == "Timeout" and "deadline" in row["error"]["message"]
        assert row["deadlineMs"] == row["startedAtMs"] + 300
        assert engine.sideEffects(wf) == ["watch-start"]
        assert engine.service.listSteps(wf)["data"]["count"] == 0

    def test_time_waiting_in_the_queue_does_not_count_towards_the_timeout(self):
        engine = self.engine
        wf = engine.enqueue("briefly", inputs={"ms": 1}, timeoutSeconds=0.3)
        waitFor(lambda: self.gw.sql("SELECT workflows.now_ms() - created_at_ms > 600 FROM "
                                    "workflows.workflow_runs WHERE workflow_id = ?", wf)[0][0],
                10, 0.02, "the run waited in its queue twice its timeout")
        assert engine.runToEnd(wf) == ["SUCCESS"]
        row = runRow(engine, wf)
        assert row["deadlineMs"] == row["startedAtMs"] + 300

    def test_lease_settings_are_checked(self):
        admin = self.engine.admin
        for bad in ({"leaseSeconds": 0.1}, {"leaseSeconds": "long"}, {"executorName": ""},
                    {"maxRecoveryAttempts": -1}, {"maxRecoveryAttempts": 1.5}):
            assert admin.configure(**bad)["code"] == "INVALID_ARGUMENT", bad
        configured = admin.configure(leaseSeconds=12, executorName="mixer-1",
                                     maxRecoveryAttempts=4)["data"]
        assert (configured["leaseSeconds"], configured["executorName"],
                configured["maxRecoveryAttempts"]) == (12.0, "mixer-1", 4)
        wf = self.engine.enqueue("briefly")
        assert runRow(self.engine, wf)["maxRecoveryAttempts"] == 4
        # in an outage dispatch retries at least four times a lease, so it is back within
        # its lease of the database's return
        from exchange.workflows.engine import outages
        assert outages.backoffCapMs() == 3000
        assert admin.configure(leaseSeconds="1.2")["ok"]  # text is fine, as elsewhere
        assert outages.backoffCapMs() == 300
