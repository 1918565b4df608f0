"""The gateway's platform: Java exceptions, Java threads, the JVM-wide kernel, project saves,
the in-memory fast path, and the startup/shutdown scripts. Runs under CPython (pytest) and
Jython (tests/jython_suite.py); the tests about Java classes run under Jython only."""
from __future__ import absolute_import, division, print_function

import os
import shutil
import tempfile
import threading

import support
from helpers import waitFor

jythonOnly = support.unittest.skipUnless(support.IS_JYTHON, "needs the JVM (Jython)")

SAVE_MODULE = '''"""A workflow module whose code changes between two project saves."""
from __future__ import absolute_import
import time
import system
from exchange.workflows.engine.runtime import step, workflow

VERSION = "%s"


@step
def stamp():
    return VERSION


@workflow(name="save_test.versioned")
def versioned(gateName=None):
    if gateName:
        gate = system.util.getGlobals()[gateName]
        deadline = time.time() + 20
        while not gate.is_set() and time.time() < deadline:
            gate.wait(0.01)
    return [VERSION, stamp()]
'''


ELSEWHERE_MODULE = '''"""A workflow module registered in the JVM by another interpreter."""
from __future__ import absolute_import
from exchange.workflows.engine.runtime import step, workflow


@step
def where():
    return "elsewhere"


@workflow(name="save_test.registered_elsewhere")
def registeredElsewhere():
    return where()
'''


def onJavaThreads(function, count):
    """Call ``function()`` from ``count`` threads started together (Java threads on the JVM,
    as tag event threads are); the results."""
    if not support.IS_JYTHON:
        from helpers import runConcurrently
        return runConcurrently(function, count)
    from java.lang import Thread  # novm
    from java.util.concurrent import ConcurrentLinkedQueue, CountDownLatch, TimeUnit  # novm
    start, done = CountDownLatch(1), CountDownLatch(count)
    results = ConcurrentLinkedQueue()

    def work():
        try:
            getattr(start, "await")()  # `await` is a keyword in Python 3
            results.add(function())
        finally:
            done.countDown()
    threads = [Thread(work, "tag-event-%d" % i) for i in range(count)]
    for thread in threads:
        thread.start()
    start.countDown()
    getattr(done, "await")(30, TimeUnit.SECONDS)
    return list(results)


class JavaExceptionTest(support.EngineCase):
    @jythonOnly
    def test_a_java_exception_in_a_step_is_retried_and_recorded(self):
        engine = self.engine
        recovered = engine.enqueue("java_failing_step", inputs={"failures": 1})
        failed = engine.enqueue("java_failing_step", inputs={"failures": 5})
        assert engine.runToEnd(recovered, failed) == ["SUCCESS", "ERROR"]
        assert engine.service.getResult(recovered, 1)["data"]["output"] == "written"
        assert engine.sideEffects(recovered, "java_flaky") == 2, "retried once, then succeeded"
        assert engine.sideEffects(failed, "java_flaky") == 3, "maxAttempts=3"
        step = engine.service.listSteps(failed)["data"]["steps"][0]
        assert step["status"] == "ERROR" and step["attempts"] == 3
        assert step["error"]["type"] == "java.lang.RuntimeException"
        assert step["error"]["message"] == u"PLC write to FIC-101 timed out"
        error = engine.service.getStatus(failed)["data"]["error"]
        assert error["type"].endswith("StepError")
        assert "java.lang.RuntimeException" in error["message"]

    @jythonOnly
    def test_a_java_exception_in_the_body_ends_the_run_in_error(self):
        engine = self.engine
        wf = engine.enqueue("java_failing_body")
        assert engine.runToEnd(wf) == ["ERROR"]
        error = engine.service.getStatus(wf)["data"]["error"]
        assert error["type"] == "java.lang.RuntimeException"
        assert error["message"] == u"recipe server refused the download"
        assert "java_failing_body" in error["traceback"] or "RuntimeException" in \
            error["traceback"]

    def test_a_database_error_inside_a_step_is_retried_and_recorded_with_its_cause(self):
        engine = self.engine
        wf = engine.enqueue("database_error_step")
        assert engine.runToEnd(wf) == ["ERROR"]
        assert engine.sideEffects(wf, "divide") == 2, "maxAttempts=2"
        step = engine.service.listSteps(wf)["data"]["steps"][0]
        assert step["status"] == "ERROR" and step["attempts"] == 2
        message = step["error"]["message"]  # the cause first, and short: no statement
        assert message.startswith("ERROR: division by zero"), message
        assert message.endswith("(in system.db.runScalarPrepQuery)") and len(message) < 200
        if support.IS_JYTHON:  # system.db raises a Java exception around the SQLException
            assert step["error"]["type"].startswith("java."), step["error"]
        assert engine.service.getStatus(wf)["data"]["error"]["type"].endswith("StepError")

    def test_a_database_error_answers_with_its_cause_first_and_the_statement_in_data(self):
        engine = self.engine
        wf = engine.enqueue("three_steps", delaySeconds=60)
        self.gw.sql("ALTER TABLE workflows.journal ADD CONSTRAINT test_refuses_all "
                    "CHECK (length(actor) < 0)")
        self.addCleanup(self.gw.sql, "ALTER TABLE workflows.journal "
                                     "DROP CONSTRAINT test_refuses_all")
        failed = engine.service.cancel(wf, reason="wrong recipe", user="ann")
        assert (failed["ok"], failed["code"], failed["data"]["sqlState"]) == \
            (False, "DATABASE_ERROR", "23514"), failed
        assert "violates check constraint" in failed["message"].split("(in system.db.")[0]
        assert len(failed["message"]) < 300, failed["message"]
        statement = failed["data"]["statement"]
        assert statement.startswith("Error executing system.db.") and "journal" in statement
        assert engine.status(wf) == "DELAYED", "the command rolled back with its journal entry"


class KernelTest(support.EngineCase):
    @jythonOnly
    def test_the_kernel_in_the_globals_holds_java_objects_only(self):
        import system
        from exchange.workflows.engine import kernel
        from exchange.workflows.platform import pythonObjectsIn
        ack = self.engine.service.enqueueInMemory("three_steps")  # a queue, a pool, a run
        assert self.engine.runToEnd(ack["data"]["workflowId"]) == ["SUCCESS"]
        state = system.util.getGlobals()[kernel.KERNEL_KEY]
        assert pythonObjectsIn(state) == [], "these would pin an old interpreter"
        pool = kernel.getKernel().pool()
        assert pythonObjectsIn(pool.getThreadFactory(), "pool.threadFactory") == []

    @jythonOnly
    def test_a_pool_thread_runs_each_task_in_the_interpreter_that_submitted_it(self):
        # Pool threads are shared by every interpreter of the JVM; a task must import the
        # modules of the project (interpreter) that submitted it, whatever the thread ran
        # before. Here interpreter B submits a task that imports a module only B can see.
        from java.util.concurrent import ConcurrentLinkedQueue  # novm
        from exchange.workflows import platform
        folder = tempfile.mkdtemp(prefix="wf_interp_")
        self.addCleanup(shutil.rmtree, folder, True)
        with open(os.path.join(folder, "onlyinb.py"), "w") as handle:
            handle.write("VALUE = 'seen from B'\n")
        pool = platform.newThreadPool("wf-interp-test", 1)
        self.addCleanup(platform.shutdownPool, pool)
        results = ConcurrentLinkedQueue()
        platform.submit(pool, lambda: results.add("A ran first"))  # the thread serves A
        waitFor(lambda: results.size() == 1, 10)
        support.inAnotherInterpreter(self, {"pool": pool, "results": results},
                                     "from exchange.workflows import platform\n"
                                     "def task():\n    import onlyinb\n"
                                     "    results.add(onlyinb.VALUE)\n"
                                     "platform.submit(pool, task)\n", [folder])
        waitFor(lambda: results.size() == 2, 10, 0.01, "B's task imported B's module")
        assert list(results) == ["A ran first", "seen from B"]

    def test_the_kernel_is_created_once_under_concurrent_first_use(self):
        from simulator import gateway
        from exchange.workflows.engine import kernel
        gateway.resetGlobals()
        ids = onJavaThreads(lambda: kernel.getKernel().executorId, 16)
        assert len(ids) == 16 and len(set(ids)) == 1, set(ids)

    def test_a_misspelt_entry_fails_instead_of_reading_none(self):
        from exchange.workflows.engine import kernel
        k = kernel.getKernel()
        for name in kernel.entryNames():  # each entry: an attribute, or read by a method
            assert getattr(k, name, None) is not None or name in ("interpreter", "executes"), \
                name
        connection = k.connection(support.DB_NAME)
        for holder, typo in ((k, "inFligt"), (connection, "beatMS")):
            self.assertRaises(AttributeError, getattr, holder, typo)
            self.assertRaises(AttributeError, setattr, holder, typo, 1)
        connection.outage = u"{}"
        assert k.connection(support.DB_NAME).outage == u"{}", "one record per connection"
        connection.outage = None
        assert k.connection(support.DB_NAME).outage is None

    def test_a_kernel_lacking_any_entry_gains_it_on_the_next_interpreter(self):
        """An upgrade by project save from a version whose kernel lacks an entry this one has,
        wherever it stands in the list (not only the newest): the next facade completes
        the map, and the engine runs on."""
        from exchange.workflows.engine import kernel
        engine = self.engine
        assert engine.runToEnd(engine.enqueue("three_steps")) == ["SUCCESS"]
        engine.waitIdle()
        before = kernel.getKernel()
        executorId = before.executorId
        names = kernel.entryNames()
        middle = names[len(names) // 2]  # (the newest is there: only the middle one lacks)
        before.sharedMap().remove(middle)
        kernel._facade[0] = None  # (the next interpreter's first look)
        after = kernel.getKernel()
        assert after.sharedMap().get(middle) is not None, middle
        assert after.claimsUnderWay() == 0 and after.executorId == executorId
        assert engine.runToEnd(engine.enqueue("three_steps")) == ["SUCCESS"]

    def test_a_kernel_without_connection_records_keeps_its_executor_and_pool(self):
        """An upgrade by project save from the version that kept each connection's lease and
        outage in maps of their own: the records are derived afresh."""
        from exchange.workflows.engine import kernel
        import exchange.workflows.api.lifecycle as lifecycle
        engine = self.engine
        assert engine.runToEnd(engine.enqueue("three_steps")) == ["SUCCESS"]
        before = kernel.getKernel()
        executorId, pool = before.executorId, before.existingPool()
        names = kernel.entryNames()
        for entry in names[names.index("connections"):]:
            before.sharedMap().remove(entry)
        started = lifecycle.onStartup(installSchema=False)  # the new version's first start
        assert started["ok"] and started["data"]["firstStart"] is False, started
        after = kernel.getKernel()
        assert (after.executorId, after.existingPool()) == (executorId, pool)
        connection = after.connection(support.DB_NAME)
        assert connection.registered and connection.beatMs is not None
        assert engine.runToEnd(engine.enqueue("three_steps")) == ["SUCCESS"]


class ProjectSaveTest(support.EngineCase):
    def setUp(self):
        support.EngineCase.setUp(self)
        from simulator import loader
        self.root = tempfile.mkdtemp(prefix="wf_save_")
        self.addCleanup(shutil.rmtree, self.root, True)
        self.addCleanup(loader.simulateProjectSave, ["savetest"])
        os.makedirs(os.path.join(self.root, "savetest", "flows"))
        self.writeVersion("v1")
        loader.install([self.root])

    def writeVersion(self, version):
        with open(os.path.join(self.root, "savetest", "flows", "code.py"), "w") as handle:
            handle.write(SAVE_MODULE % version)

    def test_a_save_keeps_the_pool_and_each_run_keeps_the_code_it_started_with(self):
        import system
        from simulator import loader
        from exchange.workflows import platform
        from exchange.workflows.engine import kernel
        import exchange.workflows.api.lifecycle as lifecycle
        engine = self.engine
        assert lifecycle.onStartup(["savetest.flows"])["ok"]
        engine.admin.configure(workerThreads=4)
        gate = threading.Event()
        system.util.getGlobals()["gate.save"] = gate
        before = engine.enqueue("save_test.versioned", inputs={"gateName": "gate.save"})
        engine.runUntil(lambda: engine.status(before) == "RUNNING")
        pool = kernel.getKernel().existingPool()
        threads = platform.poolSize(pool)

        # the save: old scripts shut down, the library is imported afresh, new scripts start
        assert lifecycle.onShutdown()["ok"]
        self.writeVersion("v2")
        loader.simulateProjectSave()
        import exchange.workflows.api.lifecycle as freshLifecycle
        import exchange.workflows.api.service as freshService
        from exchange.workflows.engine import kernel as freshKernel
        assert freshService is not engine.service, "the save did not create new modules"
        started = freshLifecycle.onStartup(["savetest.flows"])
        assert started["ok"] and started["data"]["firstStart"] is False, started
        assert freshKernel.getKernel().existingPool() == pool, "a save replaced the pool"
        assert platform.poolSize(pool) == threads, "a save started threads"

        after = freshService.enqueue("save_test.versioned")["data"]["workflowId"]
        waitFor(lambda: freshService.dispatch() and engine.status(after) == "SUCCESS", 20,
                0.005, "the run claimed after the save finishes")
        assert engine.status(before) == "RUNNING", "the old run waits for its gate"
        gate.set()
        waitFor(lambda: engine.status(before) == "SUCCESS", 20, 0.005, "the old run finishes")
        assert freshService.getResult(before, 1)["data"]["output"] == ["v1", "v1"]
        assert freshService.getResult(after, 1)["data"]["output"] == ["v2", "v2"]
        attempts = self.gw.sql("SELECT attempts FROM workflows.workflow_runs "
                               "WHERE workflow_id IN (%s, %s)", before, after)
        assert sorted(a[0] for a in attempts) == [1, 1], "a run was claimed twice"
        assert freshKernel.getKernel().existingPool() == pool
        assert platform.poolSize(pool) <= 4


    def test_a_module_another_interpreter_registers_is_claimed_by_the_next_claim(self):
        """Each claim names the workflows this interpreter runs, and that list is kept
        between claims (registry.namesAndJson): a module registered in the JVM since (by
        another project's interpreter, or an older one) is still imported and its runs
        claimed by the very next claim."""
        from exchange.workflows.engine import kernel, registry
        engine = self.engine
        os.makedirs(os.path.join(self.root, "savetest", "elsewhere"))
        with open(os.path.join(self.root, "savetest", "elsewhere", "code.py"), "w") as handle:
            handle.write(ELSEWHERE_MODULE)  # (a module no other test imports)
        names, namesJson = registry.namesAndJson()
        assert "save_test.registered_elsewhere" not in names
        assert registry.namesAndJson()[1] is namesJson, "the answer is not kept"
        runId = "registered-elsewhere-1"  # (enqueued where the module is registered)
        self.gw.sql("INSERT INTO workflows.workflow_runs (workflow_id, workflow_name, status, "
                    "queue_name, inputs) VALUES (%s, 'save_test.registered_elsewhere', "
                    "'ENQUEUED', 'default', '{}')", runId)
        assert engine.service.dispatch()["ok"]
        assert engine.status(runId) == "ENQUEUED", "claimed before it was registered"
        kernel.getKernel().modules.put("savetest.elsewhere", True)  # what registerModule does
        assert "save_test.registered_elsewhere" in registry.namesAndJson()[0]
        waitFor(lambda: engine.service.dispatch() and engine.status(runId) == "SUCCESS", 20,
                0.005, "the run of the module registered since finishes")
        assert engine.service.getResult(runId, 1)["data"]["output"] == "elsewhere"


class InMemoryEnqueueTest(support.EngineCase):
    def test_concurrent_in_memory_enqueues_touch_no_database_and_all_land(self):
        engine = self.engine
        counter = support.CountedDb(self)
        acks = onJavaThreads(lambda: engine.service.enqueueInMemory(
            "three_steps", inputs={"kg": 1}), 100)
        assert counter.calls() == [], "enqueueInMemory reached the database: %s" % counter.sent
        assert len(acks) == 100 and all(a["code"] == "ACCEPTED_IN_MEMORY" for a in acks), \
            [a for a in acks if not a["ok"]][:3]
        ids = set(a["data"]["workflowId"] for a in acks)
        assert len(ids) == 100
        assert engine.admin.getEngineInfo()["data"]["inMemoryQueued"] == 100
        flushed = engine.service.dispatch()["data"]
        assert flushed["flushed"] == 100, flushed
        rows = engine.gw.sql("SELECT workflow_id FROM workflows.workflow_runs")
        assert set(r[0] for r in rows) == ids
        assert engine.runToEnd(*sorted(ids)) == ["SUCCESS"] * 100

    def test_in_memory_enqueue_validates_like_enqueue(self):
        service = self.engine.service
        assert service.enqueueInMemory("no_such_flow")["code"] == "UNKNOWN_WORKFLOW"
        assert service.enqueueInMemory("gated", inputs={})["code"] == "INVALID_INPUTS"
        assert service.enqueueInMemory("three_steps", inputs={"kg": object()})["code"] == \
            "INPUTS_NOT_SERIALIZABLE"
        assert self.engine.admin.getEngineInfo()["data"]["inMemoryQueued"] == 0

    def test_a_full_queue_refuses_and_keeps_what_it_accepted(self):
        engine = self.engine
        engine.admin.configure(memoryQueueCapacity=3)
        acks = [engine.service.enqueueInMemory("three_steps") for _ in range(4)]
        assert [a["code"] for a in acks] == ["ACCEPTED_IN_MEMORY"] * 3 + ["IN_MEMORY_QUEUE_FULL"]
        assert engine.service.dispatch()["data"]["flushed"] == 3
        landed = set(r[0] for r in engine.gw.sql("SELECT workflow_id FROM workflows.workflow_runs"))
        assert landed == set(a["data"]["workflowId"] for a in acks[:3])

    def test_a_conflicting_request_does_not_block_the_rest_of_its_batch(self):
        engine = self.engine
        service = engine.service
        first = service.enqueueInMemory("three_steps", deduplicationId="lot-9", priority=1)
        second = service.enqueueInMemory("three_steps", deduplicationId="lot-9")
        third = service.enqueueInMemory("three_steps", workflowId="batch-77")
        again = service.enqueueInMemory("three_steps", workflowId="batch-77")
        assert all(a["ok"] for a in (first, second, third, again))
        result = service.dispatch()["data"]
        assert (result["flushed"], result["deadLettered"]) == (2, 2), result
        landed = sorted(r[0] for r in engine.gw.sql("SELECT workflow_id FROM "
                                                     "workflows.workflow_runs"))
        assert landed == sorted([first["data"]["workflowId"], "batch-77"])
        assert engine.admin.getEngineInfo()["data"]["inMemoryQueued"] == 0
        letters = engine.gw.sql("SELECT workflow_id, reason FROM workflows.dead_letters "
                                "ORDER BY dead_letter_id")
        assert letters == [(second["data"]["workflowId"], "DUPLICATE_DEDUPLICATION_ID"),
                           ("batch-77", "WORKFLOW_EXISTS")], letters

    def test_requests_stay_queued_while_the_schema_is_missing(self):
        engine = self.engine
        engine.admin.configure(schemaName="not_installed_yet")
        assert engine.service.enqueueInMemory("three_steps")["ok"]
        assert engine.service.dispatch()["code"] == "SCHEMA_NOT_INSTALLED"  # (the claim)
        assert engine.admin.getEngineInfo()["data"]["inMemoryQueued"] == 1, "a request was lost"
        engine.admin.configure(schemaName="workflows")
        assert engine.service.dispatch()["data"]["flushed"] == 1

    def test_a_flush_that_fails_does_not_stop_durable_work_from_starting(self):
        from exchange.workflows.db import runs
        engine = self.engine
        engine.startOnlyOnDispatch()
        durable = engine.enqueue("three_steps")
        ack = engine.service.enqueueInMemory("three_steps")
        insertBatch = runs.insertBatch

        def noPermission(*args):
            import system
            return system.db.runPrepQuery("SELECT no_such_column FROM workflows.workflow_runs",
                                          [], "WorkflowsDB")
        runs.insertBatch = noPermission
        try:
            result = engine.service.dispatch()["data"]
        finally:
            runs.insertBatch = insertBatch
        assert "WorkflowsDB" in result["flushErrors"] and result["claimed"] == 1, result
        assert engine.admin.getEngineInfo()["data"]["inMemoryQueued"] == 1, "a request was lost"
        # the next ticks land the kept request and run both
        assert engine.runToEnd(durable, ack["data"]["workflowId"]) == ["SUCCESS", "SUCCESS"]

    def test_requests_for_another_connection_or_an_old_default_are_flushed_too(self):
        from simulator import gateway
        engine = self.engine
        gateway.addDatabase("OtherDB", self.gw.dsn)  # the same database under another name
        other = engine.service.enqueueInMemory("three_steps", dbName="OtherDB")
        before = engine.service.enqueueInMemory("three_steps")
        engine.admin.configure(defaultDatabase="OtherDB")
        self.addCleanup(engine.admin.configure, defaultDatabase="WorkflowsDB")
        result = engine.service.dispatch()["data"]  # the timer: the (new) default only
        assert result["flushed"] == 2 and "flushErrors" not in result, result
        assert engine.admin.getEngineInfo()["data"]["inMemoryQueued"] == 0
        ids = set(r[0] for r in engine.gw.sql("SELECT workflow_id FROM workflows.workflow_runs"))
        assert ids == set([other["data"]["workflowId"], before["data"]["workflowId"]])

    def test_a_refused_request_becomes_a_dead_letter_alone_and_the_rest_land_once(self):
        from exchange.workflows.db import runs
        engine = self.engine
        acks = [engine.service.enqueueInMemory("three_steps", inputs={"kg": i})
                for i in range(5)]
        insertBatch = runs.insertBatch

        def refuseTheThird(dbName, itemsJson, jvmNowMs):
            if acks[2]["data"]["workflowId"] in itemsJson:  # the batch, then the item alone
                import system
                system.db.runPrepQuery("SELECT CAST('x' AS integer)", [], "WorkflowsDB")
            return insertBatch(dbName, itemsJson, jvmNowMs)
        runs.insertBatch = refuseTheThird
        try:
            result = engine.service.dispatch()["data"]
        finally:
            runs.insertBatch = insertBatch
        assert (result["flushed"], result["deadLettered"]) == (4, 1), result
        landed = set(r[0] for r in engine.gw.sql("SELECT workflow_id FROM workflows.workflow_runs"))
        assert landed == set(a["data"]["workflowId"] for i, a in enumerate(acks) if i != 2)
        assert engine.admin.getEngineInfo()["data"]["inMemoryQueued"] == 0
        letters = engine.gw.sql("SELECT workflow_id, reason, message FROM workflows.dead_letters")
        assert [l[:2] for l in letters] == [(acks[2]["data"]["workflowId"], "REFUSED")], letters
        assert "22P02" in letters[0][2], letters


class LifecycleTest(support.EngineCase):
    executes = False  # each test runs the startup script itself

    def test_startup_is_idempotent_and_shutdown_stores_queued_requests(self):
        import exchange.workflows.api.lifecycle as lifecycle
        from exchange.workflows.engine import kernel
        first = lifecycle.onStartup(["testing.flows"])
        assert first["ok"] and first["code"] == "STARTED", first
        assert first["data"]["firstStart"] is True
        again = lifecycle.onStartup(["testing.flows"])
        assert again["ok"] and again["data"]["firstStart"] is False
        assert again["data"]["executorId"] == first["data"]["executorId"]
        pool = kernel.getKernel().existingPool()
        ack = self.engine.service.enqueueInMemory("three_steps")
        stopped = lifecycle.onShutdown()
        assert stopped["ok"] and stopped["data"]["flushed"] == 1, stopped
        assert self.engine.status(ack["data"]["workflowId"]) == "ENQUEUED"
        assert kernel.getKernel().existingPool() == pool
        assert not kernel.getKernel().pool().isShutdown(), "shutdown stopped the pool"
        assert self.engine.runToEnd(ack["data"]["workflowId"]) == ["SUCCESS"]

    def test_startup_reports_a_missing_module_without_raising(self):
        import exchange.workflows.api.lifecycle as lifecycle
        result = lifecycle.onStartup(["no.such.module"])
        assert result["ok"] is False and result["code"] == "STARTED_WITH_PROBLEMS"
        assert "no.such.module" in result["data"]["problems"]["modules"]
