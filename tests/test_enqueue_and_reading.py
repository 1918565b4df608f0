"""Enqueue (idempotent, validated, nothing written on refusal) and the reading calls."""
from __future__ import absolute_import, division, print_function

import support



def count(engine):
    return engine.gw.sql("SELECT count(*) FROM workflows.workflow_runs")[0][0]


# Each refused call: its arguments and the stable code it must get.
BAD_INPUTS = [
    ({"workflowName": "no_such_flow"}, "UNKNOWN_WORKFLOW"),
    ({"workflowName": None}, "MISSING_ARGUMENT"),
    ({"workflowName": ""}, "INVALID_ARGUMENT"),
    ({"workflowName": "x" * 201}, "VALUE_TOO_LONG"),
    ({"inputs": ["flour", 10]}, "INVALID_INPUTS"),
    ({"inputs": "kg=10"}, "INVALID_INPUTS"),
    ({"inputs": {"kg": object()}}, "INPUTS_NOT_SERIALIZABLE"),
    ({"inputs": {"kg": float("nan")}}, "INPUTS_NOT_SERIALIZABLE"),
    ({"inputs": {"kg": set([1])}}, "INPUTS_NOT_SERIALIZABLE"),
    ({"inputs": {"material": u"flour\x00"}}, "INPUTS_NOT_SERIALIZABLE"),
    ({"inputs": {1: "one"}}, "INVALID_INPUTS"),
    ({"inputs": {"k" * 201: 1}}, "VALUE_TOO_LONG"),
    ({"inputs": {"unknown_parameter": 1}}, "INVALID_INPUTS"),
    ({"queueName": "q" * 201}, "VALUE_TOO_LONG"),
    ({"partitionKey": "p" * 201}, "VALUE_TOO_LONG"),
    ({"deduplicationId": "d" * 201}, "VALUE_TOO_LONG"),
    ({"workflowId": "w" * 201}, "VALUE_TOO_LONG"),
    ({"priority": "high"}, "INVALID_ARGUMENT"),
    ({"priority": True}, "INVALID_ARGUMENT"),
    ({"priority": 2 ** 40}, "INVALID_ARGUMENT"),
    ({"timeoutSeconds": -5}, "INVALID_ARGUMENT"),
    ({"timeoutSeconds": "soon"}, "INVALID_ARGUMENT"),
    ({"timeoutSeconds": 0.0001}, "INVALID_ARGUMENT"),
    ({"timeoutSeconds": float("inf")}, "INVALID_ARGUMENT"),
    ({"timeoutSeconds": 1e300}, "INVALID_ARGUMENT"),
    ({"timeoutSeconds": True}, "INVALID_ARGUMENT"),
    ({"workflowId": u"batch\x00-1"}, "INVALID_ARGUMENT"),
    ({"queueName": u"mixing\nline"}, "INVALID_ARGUMENT"),
    ({"dbName": "NoSuchDatabase"}, "DATABASE_NOT_FOUND"),
]


class EnqueueAndReadingTest(support.EngineCase):
    """Enqueue and the reading calls on runs that wait ENQUEUED (enqueue's immediate claim
    is off here; tests of that fast path are in test_queues)."""

    def setUp(self):
        support.EngineCase.setUp(self)
        self.engine.startOnlyOnDispatch()

    def test_bad_input_gets_a_stable_code_and_writes_nothing(self):
        for kwargs, code in BAD_INPUTS:
            call = {"workflowName": "three_steps"}
            call.update(kwargs)
            result = self.engine.service.enqueue(**call)
            assert result["ok"] is False and result["code"] == code, (kwargs, result)
            assert result["message"]
        assert count(self.engine) == 0

    def test_new_workflow_ids_are_distinct_version_4_uuids(self):
        import uuid
        from exchange.workflows import platform
        made = [platform.newId() for _ in range(20000)]
        stored = [self.engine.service.enqueue("three_steps")["data"]["workflowId"]
                  for _ in range(3)]
        assert len(set(made + stored)) == len(made) + len(stored)
        for workflowId in made[:50] + stored:
            parsed = uuid.UUID(workflowId)
            assert (str(parsed), parsed.version) == (workflowId, 4), workflowId
        assert len(set(w[:8] for w in made[:50])) == 50, "ids differ at a glance"

    def test_enqueue_inserts_one_enqueued_row(self):
        engine = self.engine
        result = engine.service.enqueue("three_steps", inputs={"kg": 2}, queueName="mixing",
                                        partitionKey="unit-1", priority=5, deduplicationId="lot-7")
        assert result["ok"] and result["code"] == "WORKFLOW_ENQUEUED"
        row = engine.service.getStatus(result["data"]["workflowId"])["data"]
        assert row["status"] == "ENQUEUED" and row["workflowName"] == "three_steps"
        assert (row["queueName"], row["partitionKey"], row["priority"], row["deduplicationId"]) == \
            ("mixing", "unit-1", 5, "lot-7")
        assert row["inputs"] == {"kg": 2} and row["attempts"] == 0
        assert count(engine) == 1

    def test_start_is_enqueue_under_its_older_name(self):
        engine = self.engine
        assert engine.service.start is engine.service.enqueue

    def test_caller_supplied_id_makes_enqueue_idempotent(self):
        engine = self.engine
        first = engine.service.enqueue("three_steps", workflowId="batch-2026-001")
        second = engine.service.enqueue("three_steps", workflowId="batch-2026-001",
                                        inputs={"kg": 99})
        assert first["code"] == "WORKFLOW_ENQUEUED" and first["data"]["created"] is True
        assert second["ok"] and second["code"] == "WORKFLOW_EXISTS"
        assert second["data"]["workflowId"] == "batch-2026-001" and second["data"]["created"] is False
        assert count(engine) == 1
        assert engine.service.getStatus("batch-2026-001")["data"]["inputs"] == {}
        other = engine.service.enqueue("retrying", workflowId="batch-2026-001")
        assert not other["ok"] and other["code"] == "WORKFLOW_ID_CONFLICT"
        assert count(engine) == 1

    def test_active_deduplication_id_is_refused_and_free_after_the_end(self):
        engine = self.engine
        first = engine.enqueue("three_steps", deduplicationId="lot-1")
        second = engine.service.enqueue("three_steps", deduplicationId="lot-1")
        assert second["code"] == "DUPLICATE_DEDUPLICATION_ID"
        assert second["data"]["workflowId"] == first
        assert engine.service.enqueue("three_steps", deduplicationId="lot-1", queueName="other")["ok"]
        engine.runToEnd(first)
        assert engine.service.enqueue("three_steps", deduplicationId="lot-1")["ok"]

    def test_missing_required_input_is_refused(self):
        engine = self.engine
        result = engine.service.enqueue("gated", inputs={})
        assert result["code"] == "INVALID_INPUTS" and "gateName" in result["message"]

    def test_missing_schema_is_named(self):
        engine = self.engine
        engine.admin.configure(schemaName="not_installed_here")
        result = engine.service.enqueue("three_steps")
        assert result["code"] == "SCHEMA_NOT_INSTALLED", result

    def test_get_result_times_out_while_queued(self):
        engine = self.engine
        wf = engine.enqueue("three_steps")
        result = engine.service.getResult(wf, 0.05)
        assert result["ok"] is False and result["code"] == "RESULT_TIMEOUT"
        assert result["data"]["status"] == "ENQUEUED"
        assert engine.service.getResult("nope", 0)["code"] == "WORKFLOW_NOT_FOUND"
        assert engine.service.getStatus("nope")["code"] == "WORKFLOW_NOT_FOUND"

    def test_list_workflows_filters(self):
        engine = self.engine
        b = engine.enqueue("retrying", inputs={"failures": 0})
        engine.runToEnd(b)
        engine.waitIdle()  # (its worker looks for more work once it is done)
        a = engine.enqueue("three_steps", queueName="mixing")
        c = engine.enqueue("three_steps")
        everything = engine.service.listWorkflows()["data"]["workflows"]
        assert [w["workflowId"] for w in everything] == [c, a, b], "newest first"
        by_name = engine.service.listWorkflows(workflowName="three_steps")["data"]["workflows"]
        assert set(w["workflowId"] for w in by_name) == set([a, c])
        done = engine.service.listWorkflows(status="SUCCESS")["data"]["workflows"]
        assert [w["workflowId"] for w in done] == [b]
        several = engine.service.listWorkflows(status=["SUCCESS", "ENQUEUED"])["data"]["count"]
        assert several == 3
        in_queue = engine.service.listWorkflows(queueName="mixing")["data"]["workflows"]
        assert [w["workflowId"] for w in in_queue] == [a]
        page = engine.service.listWorkflows(limit=1, offset=1)["data"]["workflows"]
        assert len(page) == 1
        created = engine.service.getStatus(b)["data"]["createdAtMs"]
        later = engine.service.listWorkflows(createdFromMs=created + 10 ** 9)["data"]["count"]
        assert later == 0
        assert engine.service.listWorkflows(createdToMs=created)["data"]["count"] == 0
        assert engine.service.listWorkflows(status="DONE")["code"] == "INVALID_ARGUMENT"
        assert engine.service.listWorkflows(limit=-1)["code"] == "INVALID_ARGUMENT"
        assert engine.service.listWorkflows(createdFromMs="yesterday")["code"] == "INVALID_ARGUMENT"
        assert engine.service.listWorkflows(status=["SUCCESS", 5])["code"] == "INVALID_ARGUMENT"

    def test_cancel_a_queued_run_means_it_never_starts(self):
        engine = self.engine
        wf = engine.enqueue("three_steps")
        assert engine.service.cancel(wf, "wrong recipe")["code"] == "CANCEL_REQUESTED"
        engine.service.dispatch()
        engine.waitIdle()
        assert engine.status(wf) == "CANCELLED"
        assert engine.sideEffects(wf) == []
        assert engine.service.getStatus(wf)["data"]["error"]["message"] == "wrong recipe"
        assert engine.service.cancel("nope")["code"] == "WORKFLOW_NOT_FOUND"

    def test_registered_workflows_are_listed(self):
        engine = self.engine
        names = engine.service.listRegisteredWorkflows()["data"]["names"]
        assert "three_steps" in names and "renamed.flow" in names

    def test_reading_calls_refuse_bad_arguments_with_codes(self):
        engine = self.engine
        assert engine.service.getResult("x", timeoutSeconds="soon")["code"] == "INVALID_ARGUMENT"
        assert engine.service.getStatus(None)["code"] == "MISSING_ARGUMENT"
        assert engine.service.listSteps("nope")["code"] == "WORKFLOW_NOT_FOUND"
        assert engine.service.getStatus("x", "NoSuchDatabase")["code"] == "DATABASE_NOT_FOUND", \
            "dbName passed by position"
        assert engine.admin.registerWorkflowModules(None)["code"] == "INVALID_ARGUMENT"

    def test_configure_is_all_or_nothing(self):
        engine = self.engine
        before = engine.admin.getEngineInfo()["data"]
        result = engine.admin.configure(defaultDatabase="Other", schemaName="Bad-Name")
        assert result["code"] == "INVALID_ARGUMENT"
        after = engine.admin.getEngineInfo()["data"]
        assert after["defaultDatabase"] == before["defaultDatabase"] == "WorkflowsDB"
        assert engine.admin.configure(workerThreads=0)["code"] == "INVALID_ARGUMENT"
        assert engine.admin.configure(defaultDatabase="d" * 201)["code"] == "VALUE_TOO_LONG"

    def test_each_setting_is_a_parameter_of_configure_shown_back_and_read_by_the_engine(self):
        from exchange.workflows import compat, platform, settings
        admin = self.engine.admin
        names = [row.name for row in settings.SETTINGS]
        parameters = compat.argSpec(admin.configure.__wrapped__)[0]
        assert sorted(parameters) == sorted(names + ["dbName"]), parameters
        # a value other than the current one for each, what configure and getEngineInfo show,
        # what the engine reads
        flipped = not settings.startOnEnqueue()
        given = {"defaultDatabase": ("OtherDB", "defaultDatabase", "OtherDB",
                                     lambda: settings.databaseName()),
                 "schemaName": ("other_schema", "schema", "other_schema",
                                lambda: settings.schemaName("OtherDB")),
                 "workerThreads": (3, "workerThreads", 3, settings.workerThreads),
                 "claimBatch": (5, "claimBatch", 5, settings.claimBatch),
                 "memoryQueueCapacity": (7, "memoryQueueCapacity", 7,
                                         settings.memoryQueueCapacity),
                 "memoryQueueOverflow": ("dropOldest", "memoryQueueOverflow", "dropOldest",
                                         settings.memoryQueueOverflow),
                 "startOnEnqueue": (flipped, "startOnEnqueue", flipped, settings.startOnEnqueue),
                 "idlePollMs": (20, "idlePollMs", 20, settings.idlePollMs),
                 "leaseSeconds": (2.5, "leaseSeconds", 2.5, lambda: settings.leaseMs() / 1e3),
                 "executorName": ("mixer-9", "executorName", "mixer-9", settings.executorName),
                 "maxRecoveryAttempts": (0, "maxRecoveryAttempts", 0,
                                         settings.maxRecoveryAttempts),
                 "commandRoles": (["A"], "commandRoles", ["A"],
                                  lambda: settings.requiredRoles("command")),
                 "promptRoles": (["B"], "promptRoles", ["B"],
                                 lambda: settings.requiredRoles("prompt")),
                 "adminRoles": (["C"], "adminRoles", ["C"],
                                lambda: settings.requiredRoles("admin")),
                 "appVersion": ("2", "appVersion", "2", settings.appVersion),
                 "compatibleVersions": (["1"], "compatibleVersions", ["1"],
                                        lambda: settings.runnableVersions()[1:])}
        assert sorted(given) == sorted(names), "a setting this test does not try"
        before = admin.getEngineInfo()["data"]
        assert [name for name in given if before[given[name][1]] == given[name][2]] == []
        assert before["executorName"] == platform.defaultExecutorName(), "none configured"
        configured = admin.configure(**dict((name, given[name][0]) for name in given))
        assert configured["code"] == "CONFIGURED", configured
        info = admin.getEngineInfo()["data"]
        for name, (_value, shownAs, shown, read) in given.items():
            assert configured["data"][shownAs] == info[shownAs] == shown == read(), name

    def test_a_database_error_names_a_missing_connection_only_when_it_is_missing(self):
        import system
        from exchange.workflows.api import envelope
        from exchange.workflows.db import tx
        try:
            system.db.runPrepQuery("SELECT CAST('x' AS integer)", [], "WorkflowsDB")
        except support.catchable() as error:
            failure = error
        assert tx.databaseExists("WorkflowsDB") and not tx.databaseExists("NoSuchDatabase")
        assert envelope.fromError(failure, "WorkflowsDB")["code"] == "DATABASE_ERROR"
        assert envelope.fromError(failure, "NoSuchDatabase")["code"] == "DATABASE_NOT_FOUND"

    def test_only_database_errors_are_waited_out(self):
        engine = self.engine
        import system
        from exchange.workflows.db import tx
        try:
            system.db.runPrepQuery("SELECT * FROM no_such_table", [], "WorkflowsDB")
        except support.catchable() as error:
            undefined = error
        assert tx.isDatabaseError(undefined) and not tx.isTransient(undefined)
        try:
            system.db.runPrepQuery("SELECT 1", [], "NoSuchDatabase")
        except support.catchable() as error:
            missing = error
        assert tx.isTransient(missing), "a connection that is not there may come back"
        assert not tx.isTransient(TypeError("a bug in our own code"))
        if support.IS_JYTHON:  # a Java bug is not a database error either
            from java.lang import NullPointerException  # novm
            assert not tx.isDatabaseError(NullPointerException("a bug in Java code"))
        calls = []

        def buggy():
            calls.append(1)
            raise TypeError("a bug in our own code")
        try:
            tx.persistently(buggy)
        except TypeError:
            pass
        assert calls == [1], "a programming error was retried"
