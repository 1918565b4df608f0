"""Forks and application versions against PostgreSQL (docs/forks.md, docs/versions.md): a
fork replays the original's history before its fork point without running it and runs the
rest; the original is untouched and the journal names who forked; an executor claims only
runs of the versions it runs; moveRuns moves the active runs of a version; ``patched`` takes
the new path for new runs and the old one for runs whose history holds the old code; a
project save between two steps is no new version: the run finishes on the new code."""
from __future__ import absolute_import, division, print_function

import os
import shutil
import tempfile

import support
from helpers import waitFor

PATCH_SWITCH = "versionflows.patch"
SAVE_MODULE = '''"""A workflow module whose code changes between two project saves."""
from __future__ import absolute_import
from exchange.workflows.engine.runtime import recv, step, workflow

VERSION = "%s"


@step
def first():
    return VERSION


@step
def second():
    return VERSION


@workflow(name="versiontest.saved")
def saved():
    before = first()
    recv("go", 60)
    return [before, second()]
'''


def api(name):
    return __import__("exchange.workflows.api." + name, fromlist=["x"])


class VersionCase(support.EngineCase):
    def setUp(self):
        support.EngineCase.setUp(self)
        registered = self.engine.admin.registerWorkflowModules(["testing.versionflows"])
        assert registered["ok"], registered

    def finished(self, name, **inputs):
        workflowId = self.engine.enqueue(name, inputs=inputs)
        assert self.engine.runToEnd(workflowId) == ["SUCCESS"]
        return workflowId

    def output(self, workflowId):
        return self.engine.service.getResult(workflowId, 5)["data"]["output"]

    def steps(self, workflowId):
        return [(s["position"], s["name"]) for s in
                self.engine.service.listSteps(workflowId)["data"]["steps"]]

    def row(self, workflowId, columns):
        return self.gw.sql("SELECT %s FROM workflows.workflow_runs WHERE workflow_id = ?"
                           % columns, workflowId)[0]


class ForkTest(VersionCase):
    def test_a_fork_replays_the_steps_before_its_point_and_runs_the_rest(self):
        engine = self.engine
        original = self.finished("versions.three", n=1)
        assert self.output(original) == 104
        before = self.row(original, "status, updated_at_ms, output::text")
        steps = self.steps(original)

        forked = self.ok(engine.service.fork(original, 4, reason="re-heat", user="alice"),
                         "WORKFLOW_FORKED")
        fork = forked["workflowId"]
        assert fork != original and forked["forkedFrom"] == original
        assert forked["copied"] == {"steps": 3, "events": 0, "streams": 1, "messages": 0}
        assert engine.runToEnd(fork) == ["SUCCESS"]
        assert self.output(fork) == 104
        # only the steps from the fork point on ran in the fork
        assert engine.sideEffects(fork) == ["heat", "finish"]
        assert engine.sideEffects(original) == ["prepare", "heat", "finish"]
        assert self.steps(fork) == steps
        status = self.ok(engine.service.getStatus(fork), "WORKFLOW_FOUND")
        assert (status["forkedFrom"], status["forkedAtStep"]) == (original, 4)
        assert self.row(fork, "inputs::text, workflow_name") == \
            self.row(original, "inputs::text, workflow_name")
        # its stream holds the copied entry and the one it wrote; its event it set again
        values = engine.gw.sql("SELECT value::text FROM workflows.streams WHERE workflow_id = ? "
                               "AND NOT closed ORDER BY stream_offset", fork)
        assert [v[0] for v in values] == ['"a"', '"b"']
        assert engine.gw.sql("SELECT value::text, version FROM workflows.events "
                             "WHERE workflow_id = ?", fork) == [('"heated"', 1)]
        # the original is untouched
        assert self.row(original, "status, updated_at_ms, output::text") == before
        assert self.row(original, "forked_from")[0] is None
        assert self.steps(original) == steps
        journal = engine.gw.sql("SELECT actor, accepted, outcome, workflow_id, reason "
                                "FROM workflows.journal WHERE action = 'FORK'")
        assert journal == [("alice", True, "WORKFLOW_FORKED", original, "re-heat")]

    def test_a_fork_at_the_end_replays_everything_and_at_one_runs_everything(self):
        engine = self.engine
        original = self.finished("versions.three", n=2)
        whole = self.ok(engine.service.fork(original, 8, newWorkflowId="fork-end"),
                        "WORKFLOW_FORKED")
        assert whole["workflowId"] == "fork-end"
        again = self.ok(engine.service.fork(original, 1), "WORKFLOW_FORKED")["workflowId"]
        assert engine.runToEnd("fork-end", again) == ["SUCCESS", "SUCCESS"]
        assert engine.sideEffects("fork-end") == []
        assert engine.sideEffects(again) == ["prepare", "heat", "finish"]
        assert self.output("fork-end") == self.output(again) == 106
        # a fork of a fork names its own original
        third = self.ok(engine.service.fork("fork-end", 7), "WORKFLOW_FORKED")
        assert self.row(third["workflowId"], "forked_from, forked_at_step") == ("fork-end", 7)
        self.refused(engine.service.fork(original, 1, newWorkflowId="fork-end"),
                     "WORKFLOW_EXISTS")

    def test_a_fork_point_out_of_range_or_an_unknown_run_is_refused(self):
        engine = self.engine
        original = self.finished("versions.three", n=1)
        data = self.refused(engine.service.fork(original, 9), "FORK_STEP_OUT_OF_RANGE")
        assert data["workflowId"] is None
        self.refused(engine.service.fork(original, 0), "INVALID_ARGUMENT")
        self.refused(engine.service.fork("no-such-run", 1), "WORKFLOW_NOT_FOUND")
        assert self.gw.sql("SELECT count(*) FROM workflows.workflow_runs")[0][0] == 1
        refusals = self.gw.sql("SELECT outcome FROM workflows.journal WHERE action = 'FORK' "
                               "AND NOT accepted ORDER BY entry_id")
        assert [r[0] for r in refusals] == ["FORK_STEP_OUT_OF_RANGE", "WORKFLOW_NOT_FOUND"]

    def test_a_fork_needs_the_command_roles(self):
        engine = self.engine
        original = self.finished("versions.three", n=1)
        assert engine.admin.configure(commandRoles=["Operator"])["ok"]
        self.refused(engine.service.fork(original, 2, user="bob", roles=["Viewer"]),
                     "NOT_AUTHORIZED")
        self.ok(engine.service.fork(original, 2, user="ann", roles=["Operator"]),
                "WORKFLOW_FORKED")
        assert self.gw.sql("SELECT actor, accepted FROM workflows.journal "
                           "WHERE action = 'FORK' ORDER BY entry_id") == \
            [("bob", False), ("ann", True)]

    def test_a_fork_gets_the_messages_its_replayed_part_had_not_consumed(self):
        engine = self.engine
        engine.startOnlyOnDispatch()
        original = engine.enqueue("versions.receiver")
        for body in ("x", "y"):
            assert api("messages").send(original, body, topic="t")["ok"]
        assert engine.runToEnd(original) == ["SUCCESS"]
        assert self.output(original) == ["x", "y"]
        forked = self.ok(engine.service.fork(original, 3), "WORKFLOW_FORKED")
        assert forked["copied"]["messages"] == 2
        assert engine.runToEnd(forked["workflowId"]) == ["SUCCESS"]
        assert self.output(forked["workflowId"]) == ["x", "y"]


class VersionClaimTest(VersionCase):
    def test_an_executor_claims_only_runs_of_the_versions_it_runs(self):
        engine = self.engine
        engine.startOnlyOnDispatch()
        old = engine.enqueue("versions.three", inputs={"n": 1})
        assert self.row(old, "app_version")[0] == "1"
        assert engine.admin.configure(appVersion="2")["ok"]
        new = engine.enqueue("versions.three", inputs={"n": 2})
        assert self.row(new, "app_version")[0] == "2"
        assert engine.runToEnd(new) == ["SUCCESS"]
        for _ in range(3):
            assert engine.service.dispatch()["ok"]
        assert engine.status(old) == "ENQUEUED", "a version 2 executor took a version 1 run"
        assert engine.admin.configure(compatibleVersions=["1"])["ok"]
        assert engine.runToEnd(old) == ["SUCCESS"]
        assert self.row(old, "app_version")[0] == "1"

    def test_a_run_inserted_without_a_version_is_of_the_default_one(self):
        engine = self.engine
        engine.startOnlyOnDispatch()
        self.gw.sql("INSERT INTO workflows.workflow_runs (workflow_id, workflow_name, status, "
                    "queue_name, inputs) VALUES ('older', 'versions.three', 'ENQUEUED', "
                    "'default', '{}')")
        assert self.row("older", "app_version")[0] == "1"
        assert engine.admin.configure(appVersion="2")["ok"]
        engine.service.dispatch()
        assert engine.status("older") == "ENQUEUED"
        assert engine.admin.configure(appVersion="1")["ok"]
        assert engine.runToEnd("older") == ["SUCCESS"]

    def test_an_in_memory_run_and_a_replayed_dead_letter_keep_their_version(self):
        engine = self.engine
        engine.startOnlyOnDispatch()
        assert engine.admin.configure(appVersion="2")["ok"]
        first = self.ok(engine.service.enqueueInMemory(
            "versions.three", inputs={"n": 1}, workflowId="mem-1"), "ACCEPTED_IN_MEMORY")
        again = self.ok(engine.service.enqueueInMemory(
            "versions.three", inputs={"n": 1}, workflowId="mem-1"), "ACCEPTED_IN_MEMORY")
        assert first["workflowId"] == again["workflowId"] == "mem-1"
        assert engine.service.dispatch()["ok"]
        assert self.row("mem-1", "app_version")[0] == "2"
        letters = self.ok(api("deadletters").listDeadLetters(), "DEAD_LETTERS_LISTED")
        letter = letters["deadLetters"][0]["deadLetterId"]
        replayed = self.ok(api("deadletters").replayDeadLetter(letter, freshWorkflowId=True),
                           "DEAD_LETTER_REPLAYED")["workflowId"]
        assert self.row(replayed, "app_version")[0] == "2"

    def test_the_executor_row_records_the_versions_it_runs(self):
        import exchange.workflows.api.lifecycle as lifecycle
        engine = self.engine
        assert engine.admin.configure(appVersion="3", compatibleVersions=["2", "1"])["ok"]
        assert lifecycle.onStartup(installSchema=False)["ok"]
        rows = self.gw.sql("SELECT app_version, app_versions::text FROM workflows.executors "
                           "WHERE retired_at_ms IS NULL")
        assert rows == [("3", '["3", "2", "1"]')], rows
        listed = self.ok(engine.admin.listExecutors(), "EXECUTORS_LISTED")["executors"]
        assert [(e["appVersion"], e["runsVersions"]) for e in listed] == [("3", ["3", "2", "1"])]

    def test_move_runs_moves_the_active_runs_of_a_version(self):
        engine = self.engine
        ended = self.finished("versions.three", n=1)
        engine.startOnlyOnDispatch()
        waiting = [engine.enqueue("versions.three", inputs={"n": n}) for n in (2, 3)]
        other = engine.enqueue("versions.receiver")
        assert engine.admin.configure(appVersion="2")["ok"]
        engine.service.dispatch()
        assert [engine.status(w) for w in waiting] == ["ENQUEUED", "ENQUEUED"]
        moved = self.ok(engine.admin.moveRuns("1", "2", workflowName="versions.three",
                                              reason="deploy 2", user="eng"), "RUNS_MOVED")
        assert moved["moved"] == 2 and moved["actor"] == "eng"
        assert engine.runToEnd(*waiting) == ["SUCCESS", "SUCCESS"]
        assert self.row(ended, "app_version")[0] == "1", "an ended run keeps its version"
        assert self.row(other, "app_version")[0] == "1"
        assert engine.status(other) == "ENQUEUED"
        assert self.gw.sql("SELECT actor, accepted, outcome, reason FROM workflows.journal "
                           "WHERE action = 'MOVE_RUNS'") == \
            [("eng", True, "RUNS_MOVED", "deploy 2")]
        assert engine.admin.configure(adminRoles=["Admin"])["ok"]
        self.refused(engine.admin.moveRuns("1", "2", user="bob"), "NOT_AUTHORIZED")
        assert self.row(other, "app_version")[0] == "1"


class PatchTest(VersionCase):
    def switch(self, on):
        import system
        system.util.getGlobals()[PATCH_SWITCH] = on

    def test_patched_is_true_for_new_runs_and_false_for_runs_with_the_old_history(self):
        engine = self.engine
        self.switch(False)
        old = self.finished("versions.patchable")
        assert self.output(old) == ["alpha", "old"]
        self.switch(True)
        new = self.finished("versions.patchable")
        assert self.output(new) == ["alpha", "new"]
        assert self.steps(new) == [(1, "alpha"), (2, "<patch:beta>"), (3, "betaNew")]
        # the old run replayed under the new code keeps its old path (a fork replaying all)
        replayOld = self.ok(engine.service.fork(old, 3), "WORKFLOW_FORKED")["workflowId"]
        # the new run replayed meets its marker and keeps the new path
        replayNew = self.ok(engine.service.fork(new, 4), "WORKFLOW_FORKED")["workflowId"]
        # a run that had not passed the patch point takes the new path
        midway = self.ok(engine.service.fork(old, 2), "WORKFLOW_FORKED")["workflowId"]
        assert engine.runToEnd(replayOld, replayNew, midway) == ["SUCCESS"] * 3
        assert self.output(replayOld) == ["alpha", "old"]
        assert engine.sideEffects(replayOld) == []
        assert self.steps(replayOld) == [(1, "alpha"), (2, "betaOld")]
        assert self.output(replayNew) == ["alpha", "new"]
        assert engine.sideEffects(replayNew) == []
        assert self.output(midway) == ["alpha", "new"]
        assert engine.sideEffects(midway) == ["beta-new"]

    def test_patched_outside_a_workflow_is_refused(self):
        from exchange.workflows.engine.runtime import InvalidArgument, patched
        try:
            patched("beta")
        except InvalidArgument as refused:
            assert refused.code == "NOT_IN_WORKFLOW"
        else:
            raise AssertionError("patched ran outside a workflow")


class ProjectSaveTest(VersionCase):
    def setUp(self):
        VersionCase.setUp(self)
        from simulator import loader
        self.root = tempfile.mkdtemp(prefix="wf_version_")
        self.addCleanup(shutil.rmtree, self.root, True)
        self.addCleanup(loader.simulateProjectSave, ["versiontest"])
        os.makedirs(os.path.join(self.root, "versiontest", "flows"))
        self.writeVersion("v1")
        loader.install([self.root])

    def writeVersion(self, version):
        with open(os.path.join(self.root, "versiontest", "flows", "code.py"), "w") as handle:
            handle.write(SAVE_MODULE % version)

    def test_a_project_save_between_two_steps_strands_nothing(self):
        from simulator import loader
        import exchange.workflows.api.lifecycle as lifecycle
        engine = self.engine
        assert lifecycle.onStartup(["versiontest.flows"])["ok"]
        workflowId = engine.enqueue("versiontest.saved")
        engine.runUntil(lambda: engine.status(workflowId) == "WAITING")

        assert lifecycle.onShutdown()["ok"]
        self.writeVersion("v2")
        loader.simulateProjectSave()
        import exchange.workflows.api.lifecycle as freshLifecycle
        import exchange.workflows.api.service as freshService
        assert freshService is not engine.service, "the save did not create new modules"
        assert freshLifecycle.onStartup(["versiontest.flows"])["ok"]
        assert api("messages").send(workflowId, "go", topic="go")["ok"]
        waitFor(lambda: freshService.dispatch() and engine.status(workflowId) == "SUCCESS", 20,
                0.005, "the run finishes after the save")
        assert freshService.getResult(workflowId, 1)["data"]["output"] == ["v1", "v2"]
        assert self.row(workflowId, "app_version")[0] == "1"


class ConsoleForkTest(VersionCase):
    def test_run_details_show_the_fork_and_the_fork_action_forks(self):
        details = api("consoledetails")
        original = self.finished("versions.three", n=1)
        shown = self.ok(details.runDetails(original), "RUN_DETAILS")["run"]
        assert (shown["forkedFrom"], shown["forkedAtStep"], shown["appVersion"]) == \
            (None, None, "1")
        self.refused(details.fork(original, 4, None, user="ann"), "MISSING_ARGUMENT")
        fork = self.ok(details.fork(original, 4, "again", user="ann"),
                       "WORKFLOW_FORKED")["workflowId"]
        shown = self.ok(details.runDetails(fork), "RUN_DETAILS")["run"]
        assert (shown["forkedFrom"], shown["forkedAtStep"]) == (original, 4)
