"""The gateway self-test (admin.selfTest) passes where the engine runs, says which check
failed and why where something is wrong, and leaves only its journal entries behind. Shared
by CPython and Jython (unittest style): the same checks against both simulators."""
from __future__ import absolute_import, division, print_function

import threading

import support

jythonOnly = support.unittest.skipUnless(support.IS_JYTHON, "needs the JVM (Jython)")

CHECKS = [
    ("system.db", "connection check"), ("system.db", "scratch schema"),
    ("system.db", "commit is visible"), ("system.db", "rollback is invisible"),
    ("system.db", "transaction is closed"), ("system.db", "parameter and column types"),
    ("system.db", "JSON round trip"), ("system.db", "error and SQLSTATE"),
    ("system.db", "scratch schema dropped"),
    ("kernel", "one kernel per JVM"), ("kernel", "kernel holds Java objects only"),
    ("kernel", "pool runs a task"), ("kernel", "task runs the submitter's code"),
    ("workflow", "live executor"), ("workflow", "enqueue"), ("workflow", "retries"),
    ("workflow", "hold"), ("workflow", "resume"), ("workflow", "prompt"),
    ("workflow", "durable sleep"), ("workflow", "cleanup"),
]
PHASES_AFTER_EXECUTOR = ["enqueue", "retries", "hold", "resume", "prompt", "durable sleep"]


def outcomes(result, ok):
    """(group, name) of the checks whose ok is ``ok`` (True, False, None: skipped)."""
    return [(c["group"], c["name"]) for c in result["data"]["checks"] if c["ok"] is ok]


def detail(result, group, name):
    return [c["detail"] for c in result["data"]["checks"]
            if (c["group"], c["name"]) == (group, name)][0]


def scratchSchemas(gw):
    return gw.sql("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'workflows_selftest_%'")[0][0]


class Ticker(object):
    """The gateway timer: ``service.dispatch()`` every 0.2 s on a thread of its own (nobody
    else wakes the self-test's sleeping run in this process); stopped after the test."""

    def __init__(self, case, periodSeconds=0.2):
        import exchange.workflows.api.service as service
        self.service = service
        self.periodSeconds = periodSeconds
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.loop, name="test-timer")
        self.thread.daemon = True
        self.thread.start()
        case.addCleanup(self.stop)

    def loop(self):
        while not self.stopping.is_set():
            self.service.dispatch()
            self.stopping.wait(self.periodSeconds)

    def stop(self):
        self.stopping.set()
        self.thread.join(10)


class SelfTestOnAnExecutorTest(support.EngineCase):
    def test_the_self_test_passes_where_the_engine_runs_and_leaves_only_its_journal(self):
        from exchange.workflows.engine import kernel
        Ticker(self)
        result = self.engine.admin.selfTest(user="ann")
        assert (result["ok"], result["code"]) == (True, "SELF_TEST_PASSED"), \
            [c for c in result["data"].get("checks", []) if c["ok"] is not True] or result
        data = result["data"]
        assert [(c["group"], c["name"]) for c in data["checks"]] == CHECKS
        assert outcomes(result, None) == ([] if support.IS_JYTHON else
                                          [("kernel", "kernel holds Java objects only")])
        assert data["failed"] == 0 and data["passed"] + data["skipped"] == len(CHECKS)
        assert all(c["ms"] >= 0 and c["detail"] for c in data["checks"])
        assert data["executor"] is True and data["ranOn"] == kernel.getKernel().executorId
        assert data["interpreter"]["implementation"] == ("jython" if support.IS_JYTHON
                                                         else "cpython")
        assert data["schema"].startswith("workflows_selftest_") and data["journaled"] is True
        assert "this executor's pool" in detail(result, "kernel", "pool runs a task")
        # what it leaves: nothing but the journal entries of what it did
        assert scratchSchemas(self.gw) == 0
        for table in ("workflow_runs", "step_outputs", "prompts"):
            assert self.gw.sql("SELECT count(*) FROM workflows.%s" % table)[0][0] == 0, table
        entries = self.gw.sql("SELECT action, outcome, actor, workflow_id FROM workflows.journal "
                              "ORDER BY entry_id")
        assert [e[:3] for e in entries] == [
            ("HOLD", "HOLD_REQUESTED", "ann"), ("RESUME", "RESUMED", "ann"),
            ("PROMPT_ANSWER", "PROMPT_ANSWERED", "ann"), ("SELF_TEST", "SELF_TEST_PASSED", "ann")]
        assert set(e[3] for e in entries[:3]) == set([data["workflowId"]])
        assert data["workflowId"].startswith("selftest-")

    def test_maintenance_on_its_queue_fails_the_workflow_checks_with_the_reason(self):
        from exchange.workflows.engine import selftestflow
        admin = self.engine.admin
        for queueName, named in ((selftestflow.QUEUE_NAME, selftestflow.QUEUE_NAME),
                                 (None, "every queue")):
            assert admin.enterMaintenance(queueName=queueName, user="ann")["ok"]
            result = admin.selfTest(timeoutSeconds=5)
            assert admin.exitMaintenance(user="ann")["ok"]
            assert (result["ok"], result["code"]) == (False, "SELF_TEST_FAILED"), result
            assert outcomes(result, False) == [("workflow", "live executor")], result
            assert detail(result, "workflow", "live executor").startswith(
                "maintenance is on for %s" % named)
            assert outcomes(result, None)[-len(PHASES_AFTER_EXECUTOR) - 1:] == [
                ("workflow", name) for name in PHASES_AFTER_EXECUTOR + ["cleanup"]]
            assert "live executor" in result["message"]
        assert self.gw.sql("SELECT count(*) FROM workflows.workflow_runs")[0][0] == 0

    def test_admin_roles_and_arguments_are_checked_before_anything_runs(self):
        admin = self.engine.admin
        assert admin.selfTest(timeoutSeconds=0)["code"] == "INVALID_ARGUMENT"
        assert admin.configure(adminRoles=["engineer"])["ok"]
        refused = admin.selfTest(user="ann", roles=["operator"])
        assert (refused["ok"], refused["code"]) == (False, "NOT_AUTHORIZED"), refused
        assert self.gw.sql("SELECT action, accepted, outcome FROM workflows.journal") == [
            ("SELF_TEST", False, "NOT_AUTHORIZED")]
        assert scratchSchemas(self.gw) == 0

    @jythonOnly
    def test_a_pool_thread_runs_a_task_with_the_modules_of_the_interpreter_that_sent_it(self):
        # After a project save, pool threads made under the old interpreter serve the new
        # one. Here interpreter B (its own sys and library modules) runs the self-test's
        # check on a pool whose thread served this interpreter (A) first.
        from java.util.concurrent import ConcurrentLinkedQueue  # novm
        from exchange.workflows.api import selftestkernel
        from exchange.workflows import platform
        holder = selftestkernel.Pool()
        holder.pool, holder.temporary = platform.newThreadPool("wf-selftest-interp", 1), False
        self.addCleanup(platform.shutdownPool, holder.pool)
        assert selftestkernel.checkPoolInterpreter(holder)  # the thread now serves A
        results = ConcurrentLinkedQueue()
        support.inAnotherInterpreter(
            self, {"holder": holder, "theirs": selftestkernel, "results": results},
            "from exchange.workflows.api import selftestchecks, selftestkernel\n"
            "own = selftestkernel.Pool()\nown.pool, own.temporary = holder.pool, False\n"
            "report = selftestchecks.Report()\n"
            "report.run('kernel', 'interpreter', selftestkernel.checkPoolInterpreter, own)\n"
            "results.add(report.checks[0])\nresults.add(selftestkernel is not theirs)\n")
        check, ownLibrary = list(results)
        assert ownLibrary, "B imported the library afresh"
        assert check["ok"] is True, check


class SelfTestInAClientTest(support.EngineCase):
    executes = False  # a Designer Script Console: no startup script ran here

    def test_without_a_live_executor_the_workflow_checks_say_where_to_run_it(self):
        from exchange.workflows.engine import kernel
        result = self.engine.admin.selfTest()
        assert (result["ok"], result["code"]) == (False, "SELF_TEST_FAILED"), result
        assert outcomes(result, False) == [("workflow", "live executor")], result
        assert detail(result, "workflow", "live executor").startswith(
            "no live executor on WorkflowsDB: run the self-test where a gateway runs the engine")
        assert outcomes(result, None)[-len(PHASES_AFTER_EXECUTOR) - 1:] == [
            ("workflow", name) for name in PHASES_AFTER_EXECUTOR + ["cleanup"]]
        assert result["data"]["executor"] is False and result["data"]["ranOn"] is None
        assert detail(result, "kernel", "pool runs a task").startswith("a temporary pool")
        assert kernel.getKernel().existingPool() is None, "a client made a worker pool"
        assert self.gw.sql("SELECT count(*) FROM workflows.executors")[0][0] == 0
        assert scratchSchemas(self.gw) == 0

    def test_a_missing_connection_fails_the_checks_that_need_it_and_raises_nothing(self):
        result = self.engine.admin.selfTest(dbName="NoSuchDatabase", timeoutSeconds=5)
        assert (result["ok"], result["code"]) == (False, "SELF_TEST_FAILED"), result
        failed = outcomes(result, False)
        for check in (("system.db", "connection check"), ("system.db", "scratch schema"),
                      ("workflow", "live executor")):
            assert check in failed, failed
        assert set(group for group, _ in outcomes(result, True)) == set(["kernel"])
        assert [c for c in failed if c[0] == "kernel"] == []
        assert "NoSuchDatabase" in detail(result, "system.db", "connection check")
        assert result["data"]["journaled"] is False
