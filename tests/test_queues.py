"""Queues on one executor: declarations, priority and delay, deduplication, the in-memory
path with its overflow policies and dead letters, and the fast paths.

Several executors at once (global limits, partitions under contention) are in
test_queue_executors.py, with real processes; the plans of the claim and of every other
hot-path statement over a long history are in test_hot_path_plans.py.
"""
from __future__ import absolute_import, division, print_function

import time

import support
from helpers import waitFor


def spans(engine):
    """(workflowId, executorId, start, end) of every ``occupied`` run's step, by start."""
    return engine.gw.sql(
        "SELECT s.workflow_id, r.executor_id, CAST(s.value AS bigint), s.at_ms "
        "FROM public.side_effects s JOIN workflows.workflow_runs r USING (workflow_id) "
        "WHERE s.kind = 'span' ORDER BY 3")


def peakOverlap(intervals):
    """The most intervals open at one instant (an end and a start at the same ms do not
    overlap)."""
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    running = peak = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    return peak


def countRuns(engine, where="TRUE", *args):
    return engine.gw.sql("SELECT count(*) FROM workflows.workflow_runs WHERE " + where,
                         *args)[0][0]


class QueueDeclarationTest(support.EngineCase):
    def test_declare_is_idempotent_listed_and_removable(self):
        queues = __import__("exchange.workflows.api.queues", fromlist=["x"])
        first = queues.declareQueue("recipe-downloads", concurrency=2, workerConcurrency=1,
                                    rateLimit=10, ratePeriodSeconds=60)
        assert first["ok"] and first["code"] == "QUEUE_DECLARED", first
        assert queues.declareQueue("recipe-downloads", concurrency=2, workerConcurrency=1,
                                   rateLimit=10, ratePeriodSeconds=60)["code"] == \
            "QUEUE_UNCHANGED"
        assert queues.declareQueue("recipe-downloads", concurrency=3)["code"] == \
            "QUEUE_DECLARED"
        self.engine.startOnlyOnDispatch()
        self.engine.enqueue("three_steps", queueName="undeclared")
        listed = dict((q["queueName"], q) for q in queues.listQueues()["data"]["queues"])
        assert listed["recipe-downloads"]["concurrency"] == 3
        assert listed["recipe-downloads"]["rateLimit"] is None
        assert listed["undeclared"]["declared"] is False and listed["undeclared"]["enqueued"] == 1
        assert queues.removeQueue("recipe-downloads")["code"] == "QUEUE_REMOVED"
        assert queues.removeQueue("recipe-downloads")["code"] == "QUEUE_NOT_FOUND"

    def test_bad_limits_get_stable_codes_and_store_nothing(self):
        queues = __import__("exchange.workflows.api.queues", fromlist=["x"])
        for kwargs in ({"concurrency": 0}, {"workerConcurrency": -1}, {"rateLimit": 5},
                       {"ratePeriodSeconds": 1}, {"rateLimit": 1, "ratePeriodSeconds": 0},
                       {"partitionConcurrency": 0}, {"concurrency": 1.5}):
            result = queues.declareQueue("q", **kwargs)
            assert result["code"] == "INVALID_ARGUMENT", (kwargs, result)
        assert queues.declareQueue("", concurrency=1)["code"] == "INVALID_ARGUMENT"
        assert countRuns(self.engine) == 0
        assert self.gw.sql("SELECT count(*) FROM workflows.queues") == [(0,)]


class OrderAndDelayTest(support.EngineCase):
    def test_delayed_runs_never_start_early_and_can_be_cancelled_while_waiting(self):
        engine = self.engine
        late = engine.service.enqueue("three_steps", delaySeconds=0.6)
        dropped = engine.service.enqueue("three_steps", delaySeconds=0.6)
        assert late["ok"] and late["data"]["status"] == "DELAYED", late
        assert engine.service.cancel(dropped["data"]["workflowId"])["code"] == "CANCEL_REQUESTED"
        wf = late["data"]["workflowId"]
        row = engine.service.getStatus(wf)["data"]
        assert row["status"] == "DELAYED" and row["runAtMs"] - row["createdAtMs"] == 600
        engine.runToEnd(wf)  # ticks as fast as they come: none may start it early
        row = engine.service.getStatus(wf)["data"]
        assert row["startedAtMs"] >= row["runAtMs"], row
        assert engine.status(dropped["data"]["workflowId"]) == "CANCELLED"
        assert engine.sideEffects(dropped["data"]["workflowId"]) == []

    def test_priority_first_then_fifo_across_a_tick_and_the_workers_own_claims(self):
        engine = self.engine
        engine.startOnlyOnDispatch()
        engine.admin.configure(workerThreads=1)
        ids = [engine.enqueue("three_steps", priority=p) for p in (3, 1, 2, 1, 3, 0)]
        engine.runToEnd(*ids)
        order = [r[0] for r in engine.gw.sql(
            "SELECT workflow_id FROM workflows.workflow_runs ORDER BY claimed_at_ms, started_at_ms")]
        expected = [ids[5], ids[1], ids[3], ids[2], ids[0], ids[4]]
        assert order == expected, "lower value first, FIFO within a value"

    def test_bad_delay_or_policy_gets_a_stable_code(self):
        service = self.engine.service
        for kwargs in ({"delaySeconds": -1}, {"delaySeconds": "soon"},
                       {"delaySeconds": 10 ** 9}, {"deduplicationPolicy": "merge"}):
            result = service.enqueue("three_steps", **kwargs)
            assert result["code"] == "INVALID_ARGUMENT", (kwargs, result)
            assert service.enqueueInMemory("three_steps", **kwargs)["code"] == "INVALID_ARGUMENT"
        assert service.enqueueInMemory("three_steps", overflowPolicy="drop")["code"] == \
            "INVALID_ARGUMENT"
        assert countRuns(self.engine) == 0


class DeduplicationTest(support.EngineCase):
    def test_rejected_while_active_returned_on_request_reusable_after_the_end(self):
        engine = self.engine
        service = engine.service
        holder = service.enqueue("three_steps", deduplicationId="lot-5", delaySeconds=30)
        assert holder["data"]["status"] == "DELAYED"
        holderId = holder["data"]["workflowId"]
        second = service.enqueue("three_steps", deduplicationId="lot-5")
        assert (second["ok"], second["code"]) == (False, "DUPLICATE_DEDUPLICATION_ID")
        assert second["data"]["workflowId"] == holderId
        existing = service.enqueue("three_steps", deduplicationId="lot-5",
                                   deduplicationPolicy="returnExisting")
        assert (existing["ok"], existing["code"]) == (True, "DEDUPLICATED"), existing
        assert existing["data"]["workflowId"] == holderId and not existing["data"]["created"]
        assert service.enqueue("three_steps", deduplicationId="lot-5", queueName="other")["ok"]
        service.cancel(holderId)  # terminal: the id is free again
        again = service.enqueue("three_steps", deduplicationId="lot-5")
        assert again["code"] == "WORKFLOW_ENQUEUED" and again["data"]["workflowId"] != holderId
        assert countRuns(engine, "deduplication_id = 'lot-5' AND queue_name = 'default'") == 2

    def test_in_memory_conflicts_become_dead_letters_unless_returnExisting(self):
        engine = self.engine
        service = engine.service
        engine.startOnlyOnDispatch()
        holder = engine.enqueue("gated", inputs={"gateName": "gate.none"},
                                deduplicationId="alarm-1", delaySeconds=30)
        acks = [service.enqueueInMemory("three_steps", inputs={"kg": 1}),
                service.enqueueInMemory("three_steps", deduplicationId="alarm-1"),
                service.enqueueInMemory("three_steps", deduplicationId="alarm-1",
                                        deduplicationPolicy="returnExisting"),
                service.enqueueInMemory("three_steps", inputs={"kg": 2})]
        assert [a["code"] for a in acks] == ["ACCEPTED_IN_MEMORY"] * 4
        result = service.dispatch()["data"]
        assert (result["flushed"], result["deadLettered"], result["deduplicated"]) == \
            (2, 1, 1), result
        letters = engine.admin.getEngineInfo()  # (the dead letters live in the database)
        assert letters["data"]["inMemoryQueued"] == 0
        dead = engine.gw.sql("SELECT workflow_id, reason FROM workflows.dead_letters")
        assert dead == [(acks[1]["data"]["workflowId"], "DUPLICATE_DEDUPLICATION_ID")]
        assert countRuns(engine, "workflow_id IN (%s, %s)", acks[0]["data"]["workflowId"],
                         acks[3]["data"]["workflowId"]) == 2
        assert engine.status(holder) == "DELAYED"


class InMemoryQueueTest(support.EngineCase):
    def test_no_database_call_and_every_one_of_100k_requests_lands(self):
        import system
        engine = self.engine
        engine.admin.configure(memoryQueueCapacity=200000)
        calls = []
        real = system.db

        class Counting(object):
            def __getattr__(self, name):
                calls.append(name)
                return getattr(real, name)
        system.db = Counting()
        try:
            for i in range(100000):
                ack = engine.service.enqueueInMemory("three_steps", inputs={"kg": i % 100},
                                                     queueName="bulk-%d" % (i % 4))
                if ack["code"] != "ACCEPTED_IN_MEMORY":
                    raise AssertionError(ack)
        finally:
            system.db = real
        assert calls == [], "enqueueInMemory called system.db: %s" % sorted(set(calls))
        from exchange.workflows.engine import memoryqueue
        total = 0
        while memoryqueue.totalDepth():
            landed = memoryqueue.flushAll()
            assert not landed["errors"], landed
            total += landed["flushed"]
        assert total == 100000
        assert countRuns(engine, "status = 'ENQUEUED'") == 100000
        fifo = engine.gw.sql(
            "SELECT count(*) FROM (SELECT (inputs->>'kg')::int AS kg, lag((inputs->>'kg')::int) "
            "OVER (PARTITION BY queue_name ORDER BY enqueue_seq) AS previous "
            "FROM workflows.workflow_runs) t WHERE previous IS NOT NULL "
            "AND kg <> (previous + 4) % 100")
        assert fifo == [(0,)], "stored in the order accepted"
        engine.gw.sql("TRUNCATE workflows.workflow_runs CASCADE")

    def test_drop_oldest_reports_the_dropped_request_and_keeps_it_as_a_dead_letter(self):
        engine = self.engine
        engine.startOnlyOnDispatch()
        engine.admin.configure(memoryQueueCapacity=2)
        service = engine.service
        acks = [service.enqueueInMemory("three_steps", inputs={"kg": i},
                                        overflowPolicy="dropOldest") for i in range(3)]
        assert [a["code"] for a in acks] == ["ACCEPTED_IN_MEMORY"] * 2 + \
            ["ACCEPTED_DROPPED_OLDEST"]
        assert acks[2]["data"]["droppedWorkflowId"] == acks[0]["data"]["workflowId"]
        rejected = service.enqueueInMemory("three_steps", overflowPolicy="reject")
        assert (rejected["ok"], rejected["code"]) == (False, "IN_MEMORY_QUEUE_FULL")
        engine.admin.configure(memoryQueueOverflow="dropOldest")
        assert service.enqueueInMemory("three_steps")["code"] == "ACCEPTED_DROPPED_OLDEST"
        result = service.dispatch()["data"]
        assert result["flushed"] == 2, result
        dead = engine.gw.sql("SELECT workflow_id, reason FROM workflows.dead_letters "
                             "ORDER BY dead_letter_id")
        assert dead == [(acks[0]["data"]["workflowId"], "DROPPED_OLDEST"),
                        (acks[1]["data"]["workflowId"], "DROPPED_OLDEST")], dead

    def test_requests_accepted_earlier_keep_their_acceptance_time(self):
        engine = self.engine
        engine.startOnlyOnDispatch()
        before = engine.gw.sql("SELECT workflows.now_ms()")[0][0]
        ack = engine.service.enqueueInMemory("three_steps", delaySeconds=0.3)
        waitFor(lambda: engine.gw.sql("SELECT workflows.now_ms()")[0][0] > before + 150, 5)
        assert engine.service.dispatch()["data"]["flushed"] == 1
        row = engine.service.getStatus(ack["data"]["workflowId"])["data"]
        assert row["status"] == "DELAYED"
        assert before - 50 <= row["createdAtMs"] <= before + 100, (before, row)
        assert row["runAtMs"] - row["createdAtMs"] == 300


class DeadLetterAdminTest(support.EngineCase):
    def test_list_replay_once_conflict_and_purge(self):
        engine = self.engine
        engine.startOnlyOnDispatch()
        letters = __import__("exchange.workflows.api.deadletters", fromlist=["x"])
        service = engine.service
        holder = engine.enqueue("three_steps", deduplicationId="lot-8", delaySeconds=60)
        lost = service.enqueueInMemory("three_steps", deduplicationId="lot-8", inputs={"kg": 8})
        twin = service.enqueueInMemory("three_steps", workflowId=holder)
        assert service.dispatch()["data"]["deadLettered"] == 2
        listed = letters.listDeadLetters()["data"]["deadLetters"]
        assert [l["reason"] for l in listed] == ["WORKFLOW_EXISTS", "DUPLICATE_DEDUPLICATION_ID"]
        dedupLetter, twinLetter = listed[1], listed[0]
        assert dedupLetter["request"]["inputs"] == {"kg": 8}
        assert letters.listDeadLetters(reason="WORKFLOW_EXISTS")["data"]["count"] == 1
        conflict = letters.replayDeadLetter(dedupLetter["deadLetterId"])
        assert conflict["code"] == "REPLAY_CONFLICT", conflict
        assert conflict["data"]["holderWorkflowId"] == holder, conflict
        service.cancel(holder)
        replayed = letters.replayDeadLetter(dedupLetter["deadLetterId"])
        assert replayed["code"] == "DEAD_LETTER_REPLAYED", replayed
        assert replayed["data"]["workflowId"] == lost["data"]["workflowId"]
        assert service.getStatus(lost["data"]["workflowId"])["data"]["maxRecoveryAttempts"] \
            == 10, "the replayed run lost the recovery limit it was accepted with"
        assert letters.replayDeadLetter(dedupLetter["deadLetterId"])["code"] == \
            "DEAD_LETTER_ALREADY_REPLAYED"
        fresh = letters.replayDeadLetter(twinLetter["deadLetterId"], freshWorkflowId=True)
        assert fresh["ok"] and fresh["data"]["workflowId"] != twin["data"]["workflowId"]
        assert engine.runToEnd(lost["data"]["workflowId"], fresh["data"]["workflowId"]) == \
            ["SUCCESS", "SUCCESS"]
        assert letters.listDeadLetters()["data"]["count"] == 0
        assert letters.listDeadLetters(includeReplayed=True)["data"]["count"] == 2
        assert letters.replayDeadLetter(999999)["code"] == "DEAD_LETTER_NOT_FOUND"
        assert letters.purgeDeadLetters()["code"] == "INVALID_ARGUMENT"
        assert letters.purgeDeadLetters(deadLetterIds=[twinLetter["deadLetterId"]])["data"] == \
            {"deleted": 1}
        assert letters.purgeDeadLetters(olderThanSeconds=0)["data"] == {"deleted": 1}


class LimitsOnOneExecutorTest(support.EngineCase):
    def test_worker_and_global_concurrency_hold_with_room_to_spare(self):
        engine = self.engine
        queues = __import__("exchange.workflows.api.queues", fromlist=["x"])
        queues.declareQueue("downloads", concurrency=2)
        queues.declareQueue("scales", workerConcurrency=3)
        engine.startOnlyOnDispatch()
        ids = [engine.enqueue("occupied", inputs={"ms": 40}, queueName=q)
               for q in ("downloads", "scales") for _ in range(8)]
        assert engine.runToEnd(*ids) == ["SUCCESS"] * 16
        rows = engine.gw.sql(
            "SELECT r.queue_name, CAST(s.value AS bigint), s.at_ms FROM public.side_effects s "
            "JOIN workflows.workflow_runs r USING (workflow_id) WHERE s.kind = 'span'")
        assert peakOverlap([(a, b) for q, a, b in rows if q == "downloads"]) == 2
        assert peakOverlap([(a, b) for q, a, b in rows if q == "scales"]) == 3

    def test_rate_limit_holds_for_sorted_start_times(self):
        engine = self.engine
        queues = __import__("exchange.workflows.api.queues", fromlist=["x"])
        queues.declareQueue("starts", rateLimit=2, ratePeriodSeconds=0.5)
        ids = [engine.enqueue("three_steps", queueName="starts") for _ in range(7)]
        assert engine.runToEnd(*ids) == ["SUCCESS"] * 7
        starts = [r[0] for r in engine.gw.sql(
            "SELECT claimed_at_ms FROM workflows.workflow_runs ORDER BY 1")]
        gaps = [starts[i + 2] - starts[i] for i in range(len(starts) - 2)]
        assert min(gaps) >= 500, starts

    def test_a_busy_queue_does_not_starve_another(self):
        engine = self.engine
        engine.startOnlyOnDispatch()
        engine.admin.configure(workerThreads=2, claimBatch=2)
        busy = [engine.enqueue("occupied", inputs={"ms": 10}, queueName="busy")
                for _ in range(40)]
        quiet = engine.enqueue("occupied", inputs={"ms": 10}, queueName="quiet")
        engine.runToEnd(quiet, *busy)
        ahead = countRuns(engine, "queue_name = 'busy' AND claimed_at_ms < (SELECT "
                          "claimed_at_ms FROM workflows.workflow_runs WHERE workflow_id = %s)",
                          quiet)
        assert ahead == 0, "the quiet queue's one run waited behind %d busy ones" % ahead


class FastPathTest(support.EngineCase):
    def test_enqueue_starts_at_once_when_there_is_room(self):
        engine = self.engine
        wf = engine.enqueue("three_steps")
        # no dispatch call: the enqueue itself claimed and submitted the run
        assert engine.status(wf) in ("PENDING", "RUNNING", "SUCCESS")
        waitFor(lambda: engine.status(wf) == "SUCCESS", 10, 0.005, "run finished")

    def test_a_finishing_worker_takes_the_next_row_without_a_tick(self):
        engine = self.engine
        engine.admin.configure(workerThreads=1)
        ids = [engine.enqueue("three_steps") for _ in range(5)]  # the first starts at once
        waitFor(lambda: countRuns(engine, "status = 'SUCCESS'") == 5, 20, 0.005,
                "the one worker ran all five without a dispatch")
        assert engine.gw.sql("SELECT max(attempts) FROM workflows.workflow_runs") == [(1,)]
        assert len(ids) == 5

    def test_a_run_enqueued_while_a_hand_over_claims_is_not_left_for_the_tick(self):
        # the hand-over's claim began before the run existed and saw no work (the backlog
        # flag goes down), and the enqueue found no free worker: the request stays with
        # the executor, and the finishing worker claims the run without a tick
        import threading
        import system
        from exchange.workflows.db import runs
        from exchange.workflows.engine import kernel
        engine = self.engine
        engine.admin.configure(workerThreads=1)
        opened = threading.Event()
        system.util.getGlobals()["gate.handover"] = opened
        self.addCleanup(opened.set)
        first = engine.enqueue("gated", inputs={"gateName": "gate.handover"})
        waitFor(lambda: engine.status(first) == "RUNNING", 10, 0.005, "the first running")
        late = []
        finishAndClaim = runs.finishAndClaim

        def thenEnqueue(*args, **kwargs):
            answer = finishAndClaim(*args, **kwargs)
            if not late:
                enqueuing = threading.Thread(
                    target=lambda: late.append(engine.enqueue("three_steps")))
                enqueuing.start()
                enqueuing.join(10)
            return answer
        runs.finishAndClaim = thenEnqueue
        self.addCleanup(setattr, runs, "finishAndClaim", finishAndClaim)
        kernel.getKernel().backlog.set(1)  # (as after an enqueue that found no room)
        opened.set()
        waitFor(lambda: late and engine.status(late[0]) == "SUCCESS", 20, 0.005,
                "the run enqueued during the hand-over ran without a dispatch")
        assert engine.status(first) == "SUCCESS"

    def test_threads_of_a_replaced_interpreter_start_nothing_new(self):
        import threading
        import system
        from exchange.workflows.engine import kernel
        engine = self.engine
        engine.admin.configure(workerThreads=1)
        opened = threading.Event()
        system.util.getGlobals()["gate.save"] = opened
        running = engine.enqueue("gated", inputs={"gateName": "gate.save"})
        waitFor(lambda: engine.status(running) == "RUNNING", 10, 0.005)
        k = kernel.getKernel()
        kernel._ownToken = "a-replaced-interpreter"  # a project save made another current
        queued = engine.enqueue("three_steps")
        assert engine.service.dispatch()["data"]["claimed"] == 0
        opened.set()
        waitFor(lambda: engine.status(running) == "SUCCESS", 10, 0.005)
        engine.waitIdle()
        assert engine.status(queued) == "ENQUEUED", "old code claimed new work"
        k.becomeCurrentInterpreter()  # the new interpreter's startup
        assert engine.runToEnd(queued) == ["SUCCESS"]
