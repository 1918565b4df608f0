"""Group commit of step checkpoints (db.groupcommit): the checkpoints asked for while one is in
flight go in one statement, each row checked against its own run's status and owner and
answered with its own run's pending command; a statement refused as a whole writes each
checkpoint alone, so one run's refused output fails that run only.

A test holds the row lock of a run (A) whose first checkpoint is then in flight, blocked,
while three other runs finish their first step: their checkpoints wait, and go together
when the lock is let go. Rows inserted by one statement share its transaction id (xmin).
The hand-over between threads is tested alone too: the first write goes alone at once, the
ones asked for meanwhile together (at most MAX_TOGETHER) in arrival order, each with its own
answer, and a statement that fails as a whole sends each write alone."""
from __future__ import absolute_import, division, print_function

import threading
import unittest

import support
from helpers import waitFor
from test_guards_and_limits import gate


class GroupCommitTest(support.EngineCase):
    def blockOneRun(self, name):
        """A run of gate_then_steps whose first checkpoint is in flight, blocked on its run
        row's lock held by the test: (its id, the function that lets the lock go)."""
        import system
        engine = self.engine
        opened = gate(name)
        self.addCleanup(opened.set)
        blocked = engine.enqueue("gate_then_steps", inputs={"gateName": name})
        engine.runUntil(lambda: engine.status(blocked) == "RUNNING", message="A running")
        t = system.db.beginTransaction(support.RAW_DB_NAME)
        state = {"open": True}

        def letGo():
            if state["open"]:
                state["open"] = False
                system.db.rollbackTransaction(t)
                system.db.closeTransaction(t)
        self.addCleanup(letGo)
        system.db.runPrepQuery("SELECT 1 FROM workflows.workflow_runs WHERE workflow_id = ? "
                               "FOR UPDATE", [blocked], support.RAW_DB_NAME, t)
        opened.set()
        waitFor(lambda: self.gw.sql(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query LIKE '%INSERT INTO workflows.step_outputs%'")[0][0] == 1, 20, 0.005,
            "A's checkpoint waits for the row lock")
        return blocked, letGo

    def waitBehind(self, runs):
        """Start three_steps runs of these kg and wait until their first checkpoints wait
        behind the one in flight: their ids."""
        from exchange.workflows.db import steps
        engine = self.engine
        ids = [engine.enqueue("three_steps", inputs={"kg": kg}) for kg in runs]
        engine.runUntil(lambda: steps.checkpointsWaiting() == len(ids),
                        message="%d checkpoints wait behind A's" % len(ids))
        return ids

    def weighXmin(self, workflowId):
        rows = self.gw.sql("SELECT xmin::text FROM workflows.step_outputs "
                           "WHERE workflow_id = ? AND step_position = 1", workflowId)
        return rows[0][0] if rows else None

    def test_checkpoints_asked_for_while_one_is_in_flight_go_in_one_statement(self):
        engine = self.engine
        blocked, letGo = self.blockOneRun("gate.group.one")
        ids = self.waitBehind([11, 12, 13])
        letGo()
        assert engine.runToEnd(blocked, *ids) == ["SUCCESS"] * 4
        together = set(self.weighXmin(wf) for wf in ids)
        assert len(together) == 1 and self.weighXmin(blocked) not in together
        for wf in ids:
            assert engine.sideEffects(wf) == ["weigh", "mix", "label"]
            assert self.gw.sql("SELECT step_name FROM workflows.step_outputs WHERE "
                               "workflow_id = ? ORDER BY step_position", wf) == \
                [("weigh",), ("mix",), ("label",)]

    def test_each_row_is_checked_and_answered_for_its_own_run(self):
        # cancelled meanwhile: its row is left out and the run stops; taken by another
        # owner, or by another attempt of this one, meanwhile (as a re-claim would): left
        # out, and its thread writes nothing more; held meanwhile: its row is written and
        # the HOLD answered at that boundary; the fifth goes on
        engine = self.engine
        blocked, letGo = self.blockOneRun("gate.group.own")
        goes, cancelled, taken, reclaimed, held = self.waitBehind([21, 22, 24, 25, 23])
        assert engine.service.cancel(cancelled, reason="wrong silo")["ok"]
        self.gw.sql("UPDATE workflows.workflow_runs SET executor_id = 'another-gateway' "
                    "WHERE workflow_id = ?", taken)
        oldAttempt = self.gw.sql("UPDATE workflows.workflow_runs SET attempts = attempts + 1 "
                                 "WHERE workflow_id = ? RETURNING attempts - 1", reclaimed)[0][0]
        assert engine.service.sendCommand(held, "HOLD", reason="check the mixer")["ok"]
        letGo()
        assert engine.runToEnd(blocked, goes, cancelled) == ["SUCCESS", "SUCCESS", "CANCELLED"]
        waitFor(lambda: engine.status(held) == "HELD", 20, 0.005, "the held run held")
        assert self.weighXmin(goes) == self.weighXmin(held) is not None
        assert self.weighXmin(cancelled) is None and self.weighXmin(taken) is None
        engine.waitIdle()
        assert engine.status(taken) == "RUNNING" and engine.sideEffects(taken) == ["weigh"]
        # (this executor may recover the re-claimed run meanwhile: the old attempt wrote none)
        assert self.gw.sql("SELECT count(*) FROM workflows.step_outputs WHERE workflow_id = ? "
                           "AND run_attempt = ?", reclaimed, oldAttempt) == [(0,)]
        assert engine.sideEffects(held) == ["weigh"]  # held before mix
        assert engine.service.resume(held)["ok"]
        assert engine.runToEnd(held) == ["SUCCESS"]
        assert engine.sideEffects(held) == ["weigh", "mix", "label"]
        assert engine.sideEffects(cancelled) == ["weigh"]

    def test_a_statement_refused_as_a_whole_writes_each_checkpoint_alone(self):
        # one run's output is refused: the statement fails as a whole, each checkpoint is
        # then written alone, and only that run fails (CheckpointRefused on its step)
        engine = self.engine
        self.gw.sql("ALTER TABLE workflows.step_outputs ADD CONSTRAINT refuse_kg_32 CHECK "
                    "(output IS NULL OR (output ->> 'kg') IS DISTINCT FROM '32') NOT VALID")
        self.addCleanup(self.gw.sql,
                        "ALTER TABLE workflows.step_outputs DROP CONSTRAINT refuse_kg_32")
        blocked, letGo = self.blockOneRun("gate.group.refused")
        first, refused, last = self.waitBehind([31, 32, 33])
        letGo()
        assert engine.runToEnd(blocked, first, refused, last) == \
            ["SUCCESS", "SUCCESS", "ERROR", "SUCCESS"]
        assert self.weighXmin(first) != self.weighXmin(last)  # alone, each
        error = engine.service.getResult(refused, 0)["data"]["error"]
        assert "CheckpointRefused" in error["message"] and "weigh" in error["message"], error
        assert self.gw.sql("SELECT status, error ->> 'type' FROM workflows.step_outputs "
                           "WHERE workflow_id = ?", refused) == [("ERROR", "CheckpointRefused")]
        for wf in (first, refused, last):
            assert engine.sideEffects(wf, "weigh") == 1


class Writes(object):
    """alone/together that record their calls; "first" blocks until ``release`` is set and
    a batch holding "refused" fails as a whole."""

    def __init__(self):
        from exchange.workflows.db import groupcommit
        self.release = threading.Event()
        self.calls = []
        self.group = groupcommit.Group(self.alone, self.together)
        self.answers = {}
        self.threads = []

    def alone(self, item):
        self.calls.append(("alone", item))
        if item == "first":
            assert self.release.wait(10)
        return "alone:" + item

    def together(self, items):
        self.calls.append(("together", list(items)))
        if "refused" in items:
            raise IOError("check constraint")
        return ["together:" + item for item in items]

    def write(self, item, waitingAfter):
        """Write ``item`` on a thread of its own; return once ``waitingAfter`` writes wait."""
        def run():
            self.answers[item] = self.group.write(item)
        thread = threading.Thread(target=run)
        thread.start()
        self.threads.append(thread)
        waitFor(lambda: self.group.waiting() == waitingAfter
                and (waitingAfter or ("alone", item) in self.calls), 5, 0.001,
                "%s written or waiting" % item)

    def finish(self):
        self.release.set()
        for thread in self.threads:
            thread.join(10)
        return self.answers


def behindFirst(*items):
    writes = Writes()
    writes.write("first", 0)
    for count, item in enumerate(items, 1):
        writes.write(item, count)
    return writes


class GroupHandOverTest(unittest.TestCase):
    """The hand-over between threads alone (no database): writes that record what they
    were given."""

    def test_a_write_with_none_in_flight_goes_alone_at_once(self):
        writes = Writes()
        assert writes.group.write("solo") == "alone:solo"
        assert writes.group.write("next") == "alone:next"
        assert writes.calls == [("alone", "solo"), ("alone", "next")]

    def test_the_writes_asked_for_meanwhile_go_together_each_with_its_answer(self):
        writes = behindFirst("a", "b", "c")
        assert writes.finish() == {"first": "alone:first", "a": "together:a",
                                   "b": "together:b", "c": "together:c"}
        assert writes.calls == [("alone", "first"), ("together", ["a", "b", "c"])]
        assert writes.group.write("later") == "alone:later"  # the group is idle again

    def test_a_statement_refused_as_a_whole_sends_each_write_alone(self):
        writes = behindFirst("a", "refused", "c")
        assert writes.finish() == {"first": "alone:first", "a": "alone:a",
                                   "refused": "alone:refused", "c": "alone:c"}
        assert writes.calls[:2] == [("alone", "first"), ("together", ["a", "refused", "c"])]
        assert sorted(writes.calls[2:]) == [("alone", "a"), ("alone", "c"), ("alone", "refused")]

    def test_at_most_max_together_go_in_one_statement_the_rest_in_the_next(self):
        from exchange.workflows.db import groupcommit
        before = groupcommit.MAX_TOGETHER
        groupcommit.MAX_TOGETHER = 2
        try:
            writes = behindFirst("a", "b", "c", "d", "e")
            answers = writes.finish()
        finally:
            groupcommit.MAX_TOGETHER = before
        assert writes.calls == [("alone", "first"), ("together", ["a", "b"]),
                                ("together", ["c", "d"]), ("alone", "e")]
        assert answers["e"] == "alone:e" and answers["d"] == "together:d"
