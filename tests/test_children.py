"""Child workflows against the real database: a parent starts children (or calls a workflow
function) and waits for their results without a thread; the start is recorded, so a
recovered parent gets the same child and never a second; a child's end wakes its parent;
deadlines are inherited; commands cascade to descendants; listWorkflows filters by parent."""
from __future__ import absolute_import, division, print_function

from helpers import waitFor
from support import EngineCase


class ChildWorkflowsTest(EngineCase):

    def setUp(self):
        EngineCase.setUp(self)
        registered = self.engine.admin.registerWorkflowModules(["testing.flows",
                                                                "testing.childflows"])
        assert registered["ok"], registered
        import exchange.workflows.api.messages as messages
        self.messages = messages

    def childrenOf(self, wf):
        listed = self.engine.service.listWorkflows(parentWorkflowId=wf)
        assert listed["ok"], listed
        return sorted(run["workflowId"] for run in listed["data"]["workflows"])

    def waiting(self, *wfs):
        self.engine.runUntil(lambda: all(self.engine.status(w) == "WAITING" for w in wfs),
                             message="%s wait without a thread" % (wfs,))

    def output(self, wf):
        return self.engine.service.getResult(wf, 0)["data"]["output"]

    def release(self, child, message="go!"):
        sent = self.messages.send(child, message, topic="go")
        assert sent["code"] == "MESSAGE_SENT", sent

    def test_calling_a_workflow_function_in_a_workflow_runs_a_child_and_returns_its_result(self):
        engine = self.engine
        wf = engine.enqueue("parent_calls", inputs={"x": 5})
        assert engine.runToEnd(wf) == ["SUCCESS"]
        assert self.output(wf) == {"result": 10, "again": 12}
        children = self.childrenOf(wf)
        assert children == [wf + "-c1", wf + "-c3"], children  # (#2: the first wait)
        status = engine.service.getStatus(wf + "-c1")["data"]
        assert (status["parentWorkflowId"], status["workflowName"], status["output"]) == \
            (wf, "child_double", 10)
        assert engine.service.getStatus(wf)["data"]["parentWorkflowId"] is None
        from testing.childflows import child_double
        assert child_double(x=4) == 8  # outside a workflow: a plain call

    def test_a_parent_waits_without_a_thread_and_the_childs_end_wakes_it(self):
        engine = self.engine
        wf = engine.enqueue("parent_waits_child")
        child = wf + "-c1"
        self.waiting(wf, child)
        assert self.gw.sql("SELECT waiting_for FROM workflows.workflow_runs "
                           "WHERE workflow_id = ?", wf)[0][0] == "result:" + child
        self.release(child)
        assert engine.runToEnd(wf, child) == ["SUCCESS", "SUCCESS"]
        assert self.output(wf) == {"child": child, "result": {"got": "go!"}}
        assert self.childrenOf(wf) == [child]  # the woken parent replayed its start

    def test_a_child_that_ended_before_the_parent_waits_is_found_at_once(self):
        engine = self.engine
        wf = engine.enqueue("parent_late_wait", inputs={"x": 3})
        assert engine.runToEnd(wf) == ["SUCCESS"]
        assert self.output(wf) == {"status": "SUCCESS", "result": 6}
        assert self.childrenOf(wf) == ["late-child-3"]

    def test_an_adopted_run_that_had_no_parent_wakes_its_new_parent_when_it_ends(self):
        engine = self.engine
        child = engine.enqueue("child_waits", workflowId="adopted-1")
        self.waiting(child)
        wf = engine.enqueue("parent_adopts", inputs={"childId": child})
        self.waiting(wf)
        assert self.childrenOf(wf) == [child]  # adopted: now the parent's child
        self.release(child)
        assert engine.runToEnd(child, wf) == ["SUCCESS", "SUCCESS"]
        assert self.output(wf) == {"created": False, "result": {"got": "go!"}}

    def test_a_recovered_parent_gets_the_same_child_and_never_starts_a_second(self):
        engine = self.engine
        engine.startOnlyOnDispatch()
        wf = engine.enqueue("parent_waits_child", inputs={"crash": "after-start"})
        engine.runUntilCrashed(wf, "after-start")
        child = wf + "-c1"
        assert self.childrenOf(wf) == [child]
        engine.recoverCrashed(wf)
        self.waiting(wf, child)
        self.release(child, "once")
        assert engine.runToEnd(wf) == ["SUCCESS"]
        assert self.output(wf) == {"child": child, "result": {"got": "once"}}
        assert self.childrenOf(wf) == [child]
        assert self.gw.sql("SELECT count(*) FROM workflows.workflow_runs "
                           "WHERE workflow_name = 'child_waits'")[0][0] == 1

    def test_a_parent_recovered_after_the_result_replays_it_from_its_step_log(self):
        engine = self.engine
        engine.startOnlyOnDispatch()
        wf = engine.enqueue("parent_waits_child", inputs={"crash": "after-result"})
        child = wf + "-c1"
        self.waiting(wf, child)
        self.release(child, "first")
        engine.runUntilCrashed(wf, "after-result")
        # the child's result changes under the parent: the replay must not read it again
        self.gw.sql("UPDATE workflows.workflow_runs SET output = '{\"got\": \"changed\"}' "
                    "WHERE workflow_id = ?", child)
        engine.recoverCrashed(wf)
        assert engine.runToEnd(wf) == ["SUCCESS"]
        assert self.output(wf) == {"child": child, "result": {"got": "first"}}
        assert self.childrenOf(wf) == [child]

    def test_a_failed_child_raises_child_failed_in_the_parent_which_can_catch_it(self):
        engine = self.engine
        wf = engine.enqueue("parent_catches")
        assert engine.runToEnd(wf) == ["SUCCESS"]
        assert self.output(wf) == {"code": "CHILD_FAILED", "status": "ERROR",
                                   "errorType": "ValueError", "message": "tank T-1 overfull"}

    def test_a_cancelled_child_fails_its_parent_with_child_cancelled(self):
        engine = self.engine
        wf = engine.enqueue("parent_uncaught")
        child = wf + "-c1"
        self.waiting(wf, child)
        cancelled = engine.service.cancel(child, reason="wrong recipe")
        assert cancelled["code"] == "CANCEL_REQUESTED", cancelled
        assert engine.runToEnd(wf) == ["ERROR"]
        error = engine.service.getStatus(wf)["data"]["error"]
        assert error["type"].endswith("ChildFailed") and error["code"] == "CHILD_CANCELLED", error

    def test_a_wait_for_a_child_can_time_out(self):
        engine = self.engine
        wf = engine.enqueue("parent_result_timeout")
        assert engine.runToEnd(wf) == ["SUCCESS"]
        assert self.output(wf)["code"] == "CHILD_RESULT_TIMEOUT"
        engine.service.cancel(wf + "-c1")

    def test_cancel_cascades_to_grandchildren_and_journals_each(self):
        engine = self.engine
        wf = engine.enqueue("grandparent")
        child, grandchild = wf + "-c1", wf + "-c1-c1"
        self.waiting(wf, child, grandchild)
        cancelled = engine.service.cancel(wf, reason="batch scrapped", user="dave")
        assert cancelled["code"] == "CANCEL_REQUESTED", cancelled
        assert [(d["workflowId"], d["code"]) for d in cancelled["data"]["descendants"]] == \
            [(child, "CANCEL_REQUESTED"), (grandchild, "CANCEL_REQUESTED")]
        assert [engine.status(w) for w in (wf, child, grandchild)] == ["CANCELLED"] * 3
        import exchange.workflows.api.journal as journal
        entries = journal.listJournal(action="CANCEL")["data"]["entries"]
        assert sorted((e["workflowId"], e["actor"]) for e in entries) == \
            sorted([(wf, "dave"), (child, "dave"), (grandchild, "dave")])

    def test_cancel_without_cascade_leaves_children_running(self):
        engine = self.engine
        wf = engine.enqueue("parent_waits_child")
        child = wf + "-c1"
        self.waiting(wf, child)
        cancelled = engine.service.cancel(wf, cascade=False)
        assert cancelled["code"] == "CANCEL_REQUESTED", cancelled
        assert "descendants" not in cancelled["data"]
        assert engine.status(child) == "WAITING"
        self.release(child)
        assert engine.runToEnd(child) == ["SUCCESS"]
        assert engine.status(wf) == "CANCELLED"

    def test_hold_and_resume_reach_the_children_with_cascade(self):
        engine = self.engine
        wf = engine.enqueue("parent_waits_child")
        child = wf + "-c1"
        self.waiting(wf, child)
        alone = engine.service.sendCommand(wf, "HOLD")
        assert alone["code"] == "HOLD_REQUESTED" and "descendants" not in alone["data"]
        engine.runUntil(lambda: engine.status(wf) == "HELD", message="parent held")
        assert engine.status(child) == "WAITING"
        held = engine.service.sendCommand(wf, "HOLD", cascade=True)
        assert [(d["workflowId"], d["code"]) for d in held["data"]["descendants"]] == \
            [(child, "HOLD_REQUESTED")], held
        engine.runUntil(lambda: engine.status(child) == "HELD", message="child held")
        resumed = engine.service.sendCommand(wf, "RESUME", cascade=True)
        assert resumed["code"] == "RESUMED", resumed
        assert [(d["workflowId"], d["code"]) for d in resumed["data"]["descendants"]] == \
            [(child, "RESUMED")], resumed
        self.waiting(wf, child)
        self.release(child)
        assert engine.runToEnd(wf, child) == ["SUCCESS", "SUCCESS"]

    def test_children_inherit_the_parents_deadline_unless_they_outlive_it(self):
        engine = self.engine
        wf = engine.enqueue("parent_three_children", timeoutSeconds=600)
        inherits, outlives, shorter = wf + "-c1", wf + "-c2", wf + "-c3"
        self.waiting(wf, inherits, outlives, shorter)

        def deadline(w):
            return self.gw.sql("SELECT deadline_ms FROM workflows.workflow_runs "
                               "WHERE workflow_id = ?", w)[0][0]
        parent = deadline(wf)
        assert parent is not None
        assert deadline(inherits) == parent
        assert deadline(outlives) is None
        assert deadline(shorter) is not None and deadline(shorter) < parent
        assert self.childrenOf(wf) == sorted([inherits, outlives, shorter])
        engine.service.cancel(wf)
        waitFor(lambda: all(engine.status(w) == "CANCELLED" for w in
                            (inherits, outlives, shorter)), 10, 0.01, "children cancelled")

    def test_a_child_runs_under_its_parents_version_and_only_its_executors_claim_it(self):
        engine, admin = self.engine, self.engine.admin
        assert admin.configure(appVersion="3")["ok"]
        wf = engine.enqueue("parent_waits_child")
        child = wf + "-c1"
        assert admin.configure(appVersion="4", compatibleVersions=["3"])["ok"]
        self.waiting(wf, child)  # a version 4 executor that finishes version 3 runs

        def version(w):
            return self.gw.sql("SELECT app_version FROM workflows.workflow_runs "
                               "WHERE workflow_id = ?", w)[0][0]
        assert (version(wf), version(child)) == ("3", "3")
        assert admin.configure(compatibleVersions=[])["ok"]  # now version 4 only
        # a claim that read the versions before that (the parent's worker claims after it
        # suspends) must be over before the child becomes claimable; later ones read "4"
        from exchange.workflows.engine import kernel
        waitFor(lambda: kernel.getKernel().claimsUnderWay() == 0, 20, 0.005,
                "no claim under way with the old versions")
        self.release(child)
        for _ in range(3):
            assert engine.service.dispatch()["ok"]
        assert engine.status(child) == "ENQUEUED", "a version 4 executor took a version 3 child"
        assert admin.configure(appVersion="3")["ok"]
        assert engine.runToEnd(wf, child) == ["SUCCESS", "SUCCESS"]
        assert (version(wf), version(child)) == ("3", "3")

    def test_the_console_shows_a_runs_children_and_its_parent_and_filters_by_parent(self):
        engine = self.engine
        wf = engine.enqueue("parent_calls", inputs={"x": 1})
        assert engine.runToEnd(wf) == ["SUCCESS"]
        import exchange.workflows.api.consoledetails as details
        import exchange.workflows.api.consoleruns as consoleruns
        shown = details.runDetails(wf)["data"]
        assert shown["run"]["parentWorkflowId"] is None
        assert [(c["workflowId"], c["workflowName"], c["status"]) for c in shown["children"]] \
            == [(wf + "-c1", "child_double", "SUCCESS"), (wf + "-c3", "child_double", "SUCCESS")]
        child = details.runDetails(wf + "-c1")["data"]
        assert (child["run"]["parentWorkflowId"], child["children"]) == (wf, [])
        page = consoleruns.runsPage(parentWorkflowId=wf)["data"]
        assert sorted(r["workflowId"] for r in page["rows"]) == [wf + "-c1", wf + "-c3"]
        assert page["total"] == 2 and page["rows"][0]["parentWorkflowId"] == wf
        timeline = details.runTimeline(wf)["data"]["rows"]
        assert [r["kind"] for r in timeline if r["name"] == "<child.result>"] == ["wait"] * 2

    def test_list_workflows_checks_the_parent_filter(self):
        listed = self.engine.service.listWorkflows(parentWorkflowId="")
        assert (listed["ok"], listed["code"]) == (False, "MISSING_ARGUMENT") or \
            listed["code"] in ("INVALID_ARGUMENT", "VALUE_TOO_LONG"), listed
        assert self.childrenOf("no-such-parent") == []
