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
    def transaction(self):
        """A transaction of the test's own: (it, the function that rolls it back)."""
        import system
        t = system.db.beginTransaction(support.RAW_DB_NAME)
        state = {"open": True}

        def letGo():
            if state["open"]:
                state["open"] = False
                system.db.rollbackTransaction(t)
                system.db.closeTransaction(t)
        self.addCleanup(letGo)
        return t, letGo

    def runningAtGate(self, flow, name):
        """A run of ``flow`` that waits at gate ``name`` in its body: (its id, the gate)."""
        opened = gate(name)
        self.addCleanup(opened.set)
        wf = self.engine.enqueue(flow, inputs={"gateName": name})
        self.engine.runUntil(lambda: self.engine.status(wf) == "RUNNING",
                             message="%s running" % wf)
        return wf, opened

    def waitCheckpointBlocked(self, message):
        """Wait until one checkpoint statement waits for a lock."""
        waitFor(lambda: self.gw.sql(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query LIKE '%INSERT INTO workflows.step_outputs%'")[0][0] == 1, 20, 0.005,
            message)

    def blockOneRun(self, name):
        """A run of gate_then_steps whose first checkpoint is in flight, blocked: the test's
        open transaction inserted a row at that position first (the insert waits to see
        whether it commits). (Its id, the function that rolls that row back.)"""
        import system
        blocked, opened = self.runningAtGate("gate_then_steps", name)
        t, letGo = self.transaction()
        system.db.runPrepUpdate(
            "INSERT INTO workflows.step_outputs (workflow_id, step_position, step_name, "
            "status, output, attempts, executor_id, run_attempt, started_at_ms, "
            "completed_at_ms) VALUES (?, 1, 'weigh', 'SUCCESS', '1', 1, 'test', 1, 0, 0)",
            [blocked], support.RAW_DB_NAME, t)
        opened.set()
        self.waitCheckpointBlocked("A's checkpoint waits for the test's row")
        return blocked, letGo

    def holdRow(self, workflowId):
        """Lock a run's row in a transaction of the test's: the function that lets it go."""
        import system
        t, letGo = self.transaction()
        system.db.runPrepQuery("SELECT 1 FROM workflows.workflow_runs WHERE workflow_id = ? "
                               "FOR UPDATE", [workflowId], support.RAW_DB_NAME, t)
        return letGo

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

    def test_a_run_row_another_transaction_holds_is_skipped_not_waited_for(self):
        # the statement never waits for a run row: the held run's checkpoint is written
        # alone (and waits alone); the others go on together meanwhile
        engine = self.engine
        blocked, letGo = self.blockOneRun("gate.group.held")
        first, rowHeld, last = self.waitBehind([41, 42, 43])
        letRowGo = self.holdRow(rowHeld)
        letGo()
        assert engine.runToEnd(blocked, first, last) == ["SUCCESS"] * 3
        assert self.weighXmin(first) == self.weighXmin(last) is not None
        assert engine.status(rowHeld) == "RUNNING" and self.weighXmin(rowHeld) is None
        letRowGo()
        assert engine.runToEnd(rowHeld) == ["SUCCESS"]
        assert engine.sideEffects(rowHeld) == ["weigh", "mix", "label"]

    def test_the_statement_answers_each_row_by_its_run_position_and_owner(self):
        # straight at db.steps: the owner's rows (two positions of one run, one output a
        # JSON null) written and answered; a stale attempt's row at the owner's position
        # not written, and answered ALONE (written alone, it reads back whose row that is)
        from exchange.workflows.db import groupcommit, steps
        from exchange.workflows.fence import Fence
        engine = self.engine
        wf, opened = self.runningAtGate("gated_body", "gate.group.direct")
        row = engine.service.getStatus(wf)["data"]
        owner = Fence(None, wf, row["executorId"], row["attempts"])
        stale = Fence(None, wf, row["executorId"], row["attempts"] - 1)
        answers = steps._recordSeveral(None, [
            (stale, steps.Step(7, "weigh", 1, 10, 20), '"stale"'),
            (owner, steps.Step(7, "weigh", 2, 10, 20), "null"),
            (owner, steps.Step(8, "mix", 1, 20, 30), '{"kg":8}')])
        assert answers[0] is groupcommit.ALONE
        assert answers[1].written and answers[2].written, answers
        assert self.gw.sql("SELECT step_position, output IS NULL, output::text, attempts, "
                           "run_attempt FROM workflows.step_outputs WHERE workflow_id = ? "
                           "ORDER BY step_position", wf) == [
            (7, False, "null", 2, row["attempts"]), (8, False, '{"kg":8}', 1, row["attempts"])]
        opened.set()
        assert engine.runToEnd(wf) == ["SUCCESS"]

    def test_a_run_whose_row_is_held_delays_no_other_runs_checkpoints(self):
        # its checkpoint, sent with none in flight, skips the held row and is written alone
        # outside the group, where it waits; the other runs' checkpoints go on meanwhile
        engine = self.engine
        held, opened = self.runningAtGate("gate_then_steps", "gate.group.rowheld")
        letRowGo = self.holdRow(held)
        opened.set()
        self.waitCheckpointBlocked("the held run's checkpoint waits for its row")
        others = [engine.enqueue("three_steps", inputs={"kg": kg}) for kg in (51, 52)]
        assert engine.runToEnd(*others) == ["SUCCESS"] * 2
        assert engine.status(held) == "RUNNING" and self.weighXmin(held) is None
        letRowGo()
        assert engine.runToEnd(held) == ["SUCCESS"]

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
        counted = support.CountedDb(self)
        letGo()
        assert engine.runToEnd(blocked, first, refused, last) == \
            ["SUCCESS", "SUCCESS", "ERROR", "SUCCESS"]
        assert self.weighXmin(first) != self.weighXmin(last)  # alone, each
        assert counted.matching("json_array_elements("), counted.sent  # (tried together)
        error = engine.service.getResult(refused, 0)["data"]["error"]
        assert "CheckpointRefused" in error["message"] and "weigh" in error["message"], error
        assert self.gw.sql("SELECT status, error ->> 'type' FROM workflows.step_outputs "
                           "WHERE workflow_id = ?", refused) == [("ERROR", "CheckpointRefused")]
        for wf in (first, refused, last):
            assert engine.sideEffects(wf, "weigh") == 1


class LostConnection(Exception):
    """What a driver raises when the connection drops (a transient SQLSTATE)."""
    sqlState = "08006"


class Writes(object):
    """The three writes of a group, recording their calls: "first" blocks until ``release``
    is set, "held" cannot be written without waiting (ALONE), a batch holding "refused" is
    refused as a whole and one holding "lost" loses its connection."""

    def __init__(self):
        from exchange.workflows.db import groupcommit
        self.ALONE = groupcommit.ALONE
        self.release = threading.Event()
        self.calls = []
        self.group = groupcommit.Group(self.nowait, self.together, self.alone, len)
        self.answers = {}
        self.threads = []

    def nowait(self, item):
        self.calls.append(("nowait", item))
        if item == "first":
            assert self.release.wait(10)
        return self.ALONE if item == "held" else "nowait:" + item

    def together(self, items):
        self.calls.append(("together", list(items)))
        if "refused" in items:
            raise IOError("check constraint")
        if "lost" in items:
            raise LostConnection("connection reset")
        return [self.ALONE if item == "held" else "together:" + item for item in items]

    def alone(self, item):
        self.calls.append(("alone", item))
        return "alone:" + item

    def write(self, item, waitingAfter):
        """Write ``item`` on a thread of its own; return once ``waitingAfter`` writes wait."""
        def run():
            try:
                self.answers[item] = self.group.write(item)
            except LostConnection as error:
                self.answers[item] = error
        thread = threading.Thread(target=run)
        thread.daemon = True
        thread.start()
        self.threads.append(thread)
        waitFor(lambda: self.group.waiting() == waitingAfter
                and (waitingAfter or ("nowait", item) in self.calls), 5, 0.001,
                "%s written or waiting" % item)

    def finish(self):
        self.release.set()
        for thread in self.threads:
            thread.join(10)
            assert not thread.is_alive(), "a write never ended"
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

    def test_a_write_with_none_in_flight_goes_at_once(self):
        writes = Writes()
        assert writes.group.write("solo") == "nowait:solo"
        assert writes.group.write("held") == "alone:held"
        assert writes.calls == [("nowait", "solo"), ("nowait", "held"), ("alone", "held")]

    def test_the_writes_asked_for_meanwhile_go_together_each_with_its_answer(self):
        writes = behindFirst("a", "held", "c")
        assert writes.finish() == {"first": "nowait:first", "a": "together:a",
                                   "held": "alone:held", "c": "together:c"}
        assert writes.calls == [("nowait", "first"), ("together", ["a", "held", "c"]),
                                ("alone", "held")]
        assert writes.group.write("later") == "nowait:later"  # the group is idle again

    def test_a_statement_refused_as_a_whole_sends_each_write_alone(self):
        writes = behindFirst("a", "refused", "c")
        assert writes.finish() == {"first": "nowait:first", "a": "alone:a",
                                   "refused": "alone:refused", "c": "alone:c"}
        assert writes.calls[:2] == [("nowait", "first"), ("together", ["a", "refused", "c"])]
        assert sorted(writes.calls[2:]) == [("alone", "a"), ("alone", "c"),
                                            ("alone", "refused")]

    def test_a_statement_that_lost_its_connection_raises_that_in_each(self):
        writes = behindFirst("a", "lost")
        answers = writes.finish()
        assert isinstance(answers["a"], LostConnection) and answers["lost"] is answers["a"]
        assert writes.calls == [("nowait", "first"), ("together", ["a", "lost"])]
        assert writes.group.write("later") == "nowait:later"

    def test_at_most_max_together_go_in_one_statement_the_rest_in_the_next(self):
        from exchange.workflows.db import groupcommit
        before = groupcommit.MAX_TOGETHER, groupcommit.MAX_TOGETHER_CHARS
        groupcommit.MAX_TOGETHER, groupcommit.MAX_TOGETHER_CHARS = 3, 6
        try:  # (three at most, and six characters, but always one)
            writes = behindFirst("a", "b", "c", "d", "eeeeeeeeee", "f")
            answers = writes.finish()
        finally:
            groupcommit.MAX_TOGETHER, groupcommit.MAX_TOGETHER_CHARS = before
        assert writes.calls == [("nowait", "first"), ("together", ["a", "b", "c"]),
                                ("nowait", "d"), ("nowait", "eeeeeeeeee"), ("nowait", "f")]
        assert answers["c"] == "together:c" and answers["f"] == "nowait:f"
