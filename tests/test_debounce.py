"""Debounced starts against PostgreSQL (docs/debounce.md): a burst of calls to one key starts
ONE run with the last call's inputs, from a button (one upsert a call) and from a tag event
(no I/O: merged in memory, stored by dispatch); maxWait bounds a burst that never goes quiet;
two firers of one due burst start one run; a crash between the delete and the insert loses
nothing; bad input gets stable codes and writes nothing. Times are moved in the table, never
waited out."""
from __future__ import absolute_import, division, print_function

from helpers import runConcurrently, waitFor
from support import EngineCase

HOUR = 3600


def api():
    import exchange.workflows.api.debounces as debounces
    return debounces


class DebounceCase(EngineCase):
    def setUp(self):
        EngineCase.setUp(self)
        registered = self.engine.admin.registerWorkflowModules(["testing.debounceflows"])
        assert registered["ok"], registered
        self.debounces = api()

    def pending(self):
        return self.gw.sql("SELECT debounce_key, workflow_name, calls, inputs::text "
                           "FROM workflows.debounces ORDER BY debounce_key")

    def makeDue(self, key):
        self.gw.sql("UPDATE workflows.debounces SET fire_at_ms = workflows.now_ms() - 1 "
                    "WHERE debounce_key = ?", key)

    def runs(self, workflowName=None):
        return self.gw.sql("SELECT workflow_id, workflow_name, inputs::text FROM "
                           "workflows.workflow_runs WHERE CAST(? AS text) IS NULL OR workflow_name = ? "
                           "ORDER BY created_at_ms", workflowName, workflowName)

    def output(self, workflowId):
        assert self.engine.runToEnd(workflowId) == ["SUCCESS"], workflowId
        return self.engine.service.getResult(workflowId, 0)["data"]["output"]

    def fireUntilStarted(self, workflowName="settle_level"):
        return self.engine.runUntil(lambda: self.runs(workflowName),
                                    message="a debounced run started")


class BurstTest(DebounceCase):
    def test_a_burst_of_a_thousand_button_calls_starts_one_run_with_the_last_inputs(self):
        ids = set()
        for level in range(1000):
            data = self.ok(self.debounces.debounce("tank-1", HOUR, "settle_level",
                                                   {"level": level, "source": "button"}),
                           "DEBOUNCED")
            ids.add(data["workflowId"])
        assert data["calls"] == 1000 and len(ids) == 1, (data, ids)
        assert data["fireAtMs"] >= data["firstCallMs"] + HOUR * 1000, data
        assert self.ok(self.engine.service.dispatch(), "DISPATCHED")["debounced"] == 0
        assert self.runs() == [], "the burst is not quiet yet: nothing starts"
        self.makeDue("tank-1")
        [(workflowId, name, _inputs)] = self.fireUntilStarted()
        assert workflowId == data["workflowId"] and name == "settle_level"
        assert self.output(workflowId) == {"level": 999, "source": "button"}
        assert self.pending() == []
        self.engine.service.dispatch()
        assert len(self.runs()) == 1, "one burst, one run"

    def test_a_burst_of_a_thousand_tag_event_calls_is_merged_in_memory_then_starts_one_run(self):
        for level in range(1000):
            data = self.ok(self.debounces.debounceInMemory("tank-2", HOUR, "settle_level",
                                                           {"level": level, "source": "tag"}),
                           "DEBOUNCED_IN_MEMORY")
        assert data["calls"] == 1000, data
        assert self.pending() == [], "no database I/O on the caller's thread"
        listed = self.ok(self.debounces.listDebounces(), "DEBOUNCES_LISTED")
        assert listed["inMemory"] == 1 and listed["debounces"] == [], listed
        self.ok(self.engine.service.dispatch(), "DISPATCHED")
        [(key, name, calls, inputs)] = self.pending()
        assert (key, name, calls) == ("tank-2", "settle_level", 1000), self.pending()
        assert self.ok(self.debounces.listDebounces(), "DEBOUNCES_LISTED")["inMemory"] == 0
        self.makeDue("tank-2")
        [(workflowId, _name, _inputs)] = self.fireUntilStarted()
        assert workflowId.startswith("debounce:tank-2:"), workflowId
        assert self.output(workflowId) == {"level": 999, "source": "tag"}

    def test_calls_from_both_paths_join_one_burst_and_count_together(self):
        first = self.ok(self.debounces.debounce("mixer", HOUR, "settle_level", {"level": 1}),
                        "DEBOUNCED")
        for level in (2, 3):
            self.ok(self.debounces.debounceInMemory("mixer", HOUR, "settle_level",
                                                    {"level": level}), "DEBOUNCED_IN_MEMORY")
        self.engine.service.dispatch()
        last = self.ok(self.debounces.debounce("mixer", HOUR, "settle_level", {"level": 4}),
                       "DEBOUNCED")
        assert last["calls"] == 4 and last["workflowId"] == first["workflowId"], (first, last)

    def test_the_last_call_wins_even_with_another_workflow(self):
        self.debounces.debounce("area-7", HOUR, "settle_level", {"level": 5})
        self.ok(self.debounces.debounce("area-7", HOUR, "recalculate", {"area": 7}),
                "DEBOUNCED")
        self.makeDue("area-7")
        [(workflowId, _name, _inputs)] = self.fireUntilStarted("recalculate")
        assert self.output(workflowId) == {"area": 7}
        assert self.runs("settle_level") == []

    def test_a_call_after_the_burst_fired_begins_a_new_burst_and_a_new_run(self):
        first = self.ok(self.debounces.debounce("pump", HOUR, "settle_level", {"level": 1}),
                        "DEBOUNCED")
        self.makeDue("pump")
        self.fireUntilStarted()
        second = self.ok(self.debounces.debounce("pump", HOUR, "settle_level", {"level": 2}),
                         "DEBOUNCED")
        assert second["calls"] == 1 and second["workflowId"] != first["workflowId"], second


class MaxWaitTest(DebounceCase):
    def test_max_wait_bounds_the_fire_time_of_a_burst_that_never_goes_quiet(self):
        data = self.ok(self.debounces.debounce("line-3", 60, "settle_level", {"level": 0},
                                               maxWaitSeconds=600), "DEBOUNCED")
        assert data["fireAtMs"] - data["firstCallMs"] == 60000, data  # quiet period first
        # the burst began 10 minutes ago and was never quiet for a minute since
        self.gw.sql("UPDATE workflows.debounces SET first_call_ms = first_call_ms - 600000")
        data = self.ok(self.debounces.debounce("line-3", 60, "settle_level", {"level": 9},
                                               maxWaitSeconds=600), "DEBOUNCED")
        assert data["fireAtMs"] == data["firstCallMs"] + 600000, data
        [(workflowId, _name, _inputs)] = self.fireUntilStarted()
        assert workflowId == data["workflowId"] and self.output(workflowId)["level"] == 9

    def test_a_steady_stream_of_calls_starts_runs_at_most_max_wait_apart(self):
        """Calls every few ms against a quiet period of 0.5 s: maxWait (1 s) starts a run
        while the calls keep coming (the fire time arithmetic itself is the test above)."""
        state = {"level": 0}

        def callAndTick():
            state["level"] += 1
            self.ok(self.debounces.debounceInMemory("stream", 0.5, "settle_level",
                                                    {"level": state["level"]},
                                                    maxWaitSeconds=1), "DEBOUNCED_IN_MEMORY")
            self.ok(self.engine.service.dispatch(), "DISPATCHED")
            return self.runs()
        [(workflowId, _name, inputs)] = waitFor(callAndTick, 20, 0.005, "maxWait fired")
        assert 1 < self.output(workflowId)["level"] <= state["level"]


class TwoGatewaysTest(DebounceCase):
    def test_two_firers_of_one_due_burst_start_one_run(self):
        from exchange.workflows.engine import debounces
        for key in ("k1", "k2", "k3"):
            self.debounces.debounce(key, HOUR, "settle_level", {"level": 1})
            self.makeDue(key)
        started = runConcurrently(lambda: debounces.fire(self.gw.dbName), 6)
        assert sorted(started) and sum(started) == 3, started
        assert len(self.runs()) == 3 and self.pending() == []

    def test_a_crash_between_the_delete_and_the_insert_rolls_both_back(self):
        from exchange.workflows.engine import debounces, faults

        def crash(name):
            raise RuntimeError("the gateway died at " + name)
        self.debounces.debounce("valve", HOUR, "settle_level", {"level": 3})
        self.makeDue("valve")
        faults.arm("debounce.after_delete", action=crash)
        self.addCleanup(faults.disarm)
        try:
            debounces.fire(self.gw.dbName)
        except RuntimeError:
            pass
        else:
            self.fail("the fault point was not reached")
        assert [r[0] for r in self.pending()] == ["valve"] and self.runs() == []
        [(workflowId, _name, _inputs)] = self.fireUntilStarted()
        assert self.output(workflowId)["level"] == 3

    def test_a_burst_that_no_longer_validates_becomes_a_dead_letter(self):
        self.debounces.debounce("bad", HOUR, "settle_level", {"level": 3})
        self.gw.sql("UPDATE workflows.debounces SET inputs = '{\"nope\": 1}'")
        self.makeDue("bad")
        self.ok(self.engine.service.dispatch(), "DISPATCHED")
        assert self.pending() == [] and self.runs() == []
        [(reason, name)] = self.gw.sql("SELECT reason, workflow_name FROM workflows.dead_letters")
        assert (reason, name) == ("DEBOUNCE_INVALID", "settle_level")

    def test_a_replayed_debounce_dead_letter_runs_under_the_firing_version(self):
        assert self.engine.admin.configure(appVersion="2")["ok"]
        self.debounces.debounce("bad", HOUR, "settle_level", {"level": 3})
        self.gw.sql("UPDATE workflows.debounces SET inputs = '{\"nope\": 1}'")
        self.makeDue("bad")
        self.ok(self.engine.service.dispatch(), "DISPATCHED")
        self.gw.sql("UPDATE workflows.dead_letters SET request = "
                    "jsonb_set(CAST(request AS jsonb), '{inputs}', '{\"level\": 4}')::text")
        import exchange.workflows.api.deadletters as deadletters
        [letter] = self.ok(deadletters.listDeadLetters(), "DEAD_LETTERS_LISTED")["deadLetters"]
        replayed = self.ok(deadletters.replayDeadLetter(letter["deadLetterId"]),
                           "DEAD_LETTER_REPLAYED")["workflowId"]
        assert self.gw.sql("SELECT app_version FROM workflows.workflow_runs WHERE "
                           "workflow_id = ?", replayed) == [("2",)], "a version 2 executor " \
            "would never claim it"
        assert self.output(replayed)["level"] == 4

    def test_in_memory_calls_a_connection_cannot_store_wait_for_the_next_tick(self):
        self.ok(self.debounces.debounceInMemory("far", HOUR, "settle_level", {"level": 1},
                                                dbName="NoSuchDatabase"), "DEBOUNCED_IN_MEMORY")
        self.ok(self.debounces.debounceInMemory("near", HOUR, "settle_level", {"level": 1}),
                "DEBOUNCED_IN_MEMORY")
        self.ok(self.engine.service.dispatch(), "DISPATCHED")
        assert [r[0] for r in self.pending()] == ["near"]
        data = self.ok(self.debounces.debounceInMemory("far", HOUR, "settle_level",
                                                       {"level": 2}, dbName="NoSuchDatabase"),
                       "DEBOUNCED_IN_MEMORY")
        assert data["calls"] == 2, "the failed flush merged the call back"


class BadInputTest(DebounceCase):
    def test_bad_calls_get_stable_codes_and_write_nothing(self):
        for call in (self.debounces.debounce, self.debounces.debounceInMemory):
            self.refused(call(None, 1, "settle_level", {"level": 1}), "MISSING_ARGUMENT")
            self.refused(call("k" * 151, 1, "settle_level", {"level": 1}), "VALUE_TOO_LONG")
            self.refused(call("k", 0, "settle_level", {"level": 1}), "INVALID_ARGUMENT")
            self.refused(call("k", "soon", "settle_level", {"level": 1}), "INVALID_ARGUMENT")
            self.refused(call("k", 10, "settle_level", {"level": 1}, maxWaitSeconds=5),
                         "DEBOUNCE_MAX_WAIT")
            self.refused(call("k", 1, "no_such_flow", {}), "UNKNOWN_WORKFLOW")
            self.refused(call("k", 1, "settle_level", {"nope": 1}), "INVALID_INPUTS")
            self.refused(call("k", 1, "settle_level", {"level": 1}, priority="high"),
                         "INVALID_ARGUMENT")
            self.refused(call("k", 1), "MISSING_ARGUMENT")
        assert self.pending() == []
        assert self.ok(self.debounces.listDebounces(), "DEBOUNCES_LISTED")["inMemory"] == 0
        self.refused(self.debounces.listDebounces(0), "INVALID_ARGUMENT")


class ConsoleTest(DebounceCase):
    def test_the_queues_page_shows_the_pending_bursts_soonest_first(self):
        import exchange.workflows.api.consolequeues as consolequeues
        for level in range(3):
            self.debounces.debounce("tank-9", HOUR, "settle_level", {"level": level})
        self.debounces.debounce("area-1", 60, "recalculate", {"area": 1})
        page = consolequeues.queuesPage()
        assert page["ok"] and page["code"] == "QUEUES_PAGE", page
        shown = [(d["key"], d["workflowName"], d["queueName"], d["calls"])
                 for d in page["data"]["debounces"]]
        assert shown == [("area-1", "recalculate", "default", 1),
                         ("tank-9", "settle_level", "default", 3)], shown
        soon = page["data"]["debounces"][0]
        assert soon["fireAtMs"] - soon["firstCallMs"] == 60000 and 0 < soon["firesInMs"], soon


class OrderTest(DebounceCase):
    def test_calls_stored_out_of_order_keep_the_content_of_the_call_made_last(self):
        """Two gateways flush one key's calls: the one holding the older calls lands last."""
        self.ok(self.debounces.debounce("late", HOUR, "settle_level", {"level": 2}),
                "DEBOUNCED")
        self.gw.sql("UPDATE workflows.debounces SET first_call_ms = first_call_ms - 5000")
        self.ok(self.debounces.debounceInMemory("late", 60, "recalculate", {"area": 1}),
                "DEBOUNCED_IN_MEMORY")
        from exchange.workflows.engine import kernel
        pending = kernel.getKernel().debounceMap(self.gw.dbName)
        from exchange.workflows import codec
        entry = codec.decode(pending.get("late"))
        entry["first"] -= 10000
        entry["last"] -= 10000  # called before the stored call
        pending.put("late", codec.encode(entry))
        self.ok(self.engine.service.dispatch(), "DISPATCHED")
        [(first, last, fireAt, name, inputs, calls)] = self.gw.sql(
            "SELECT first_call_ms, last_call_ms, fire_at_ms, workflow_name, inputs::text, "
            "calls FROM workflows.debounces")
        assert (name, calls, fireAt - last) == ("settle_level", 2, HOUR * 1000), \
            (name, calls, fireAt - last)
        assert '"level": 2' in inputs and last - first > 5000, (inputs, first, last)
