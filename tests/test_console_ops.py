"""The console's view models of the Queues, Executors and Admin pages against the real
database: the shape and the values each view reads (docs/api.md, "Console view models:
queues, executors, admin"), and that the Admin page's actions act as the caller, under the
admin roles, journaled."""
from __future__ import absolute_import, division, print_function

from support import EngineCase
from test_guards_and_limits import gate

ACTIVE = ("DELAYED", "ENQUEUED", "PENDING", "RUNNING", "WAITING", "HELD")
QUEUE_KEYS = set(["queueName", "byStatus", "claimed", "concurrency", "workerConcurrency",
                  "rateLimit", "ratePeriodMs", "partitionConcurrency", "declared",
                  "oldestWaitingMs", "startsPerMinute", "maintenance", "maintenanceMode",
                  "delayed", "enqueued", "pending", "running", "waiting", "held"])
EXECUTOR_KEYS = set(["executorId", "name", "host", "runtime", "state", "overdue", "colour",
                     "heartbeatAgeMs", "leaseMs", "poolThreads", "poolActive", "inFlight",
                     "activeRuns", "memoryQueueDepth", "generation", "startedAtMs",
                     "recoveredRuns", "stateCell", "here"])


def console(name):
    return __import__("exchange.workflows.api.console" + name, fromlist=["x"])


def counts(**nonZero):
    """A byStatus dict: every active status, zero unless named."""
    return dict((status, nonZero.get(status, 0)) for status in ACTIVE)


class QueuesPageTest(EngineCase):

    def test_rows_show_depth_limits_oldest_waiting_starts_and_maintenance(self):
        engine, service = self.engine, self.engine.service
        queues = __import__("exchange.workflows.api.queues", fromlist=["x"])
        assert queues.declareQueue("mixing", concurrency=2, rateLimit=10,
                                   ratePeriodSeconds=60)["ok"]
        assert queues.declareQueue("idle", workerConcurrency=3)["ok"]
        release = gate("gate.console.queues")
        self.addCleanup(release.set)
        running = engine.enqueue("gated", inputs={"gateName": "gate.console.queues"},
                                 queueName="mixing")
        engine.runUntil(lambda: engine.status(running) == "RUNNING")
        finished = [engine.enqueue("three_steps", queueName="done") for _ in range(2)]
        assert engine.runToEnd(*finished) == ["SUCCESS"] * 2
        engine.gw.sql("UPDATE workflows.workflow_runs SET started_at_ms = started_at_ms - 120000 "
                      "WHERE workflow_id = ?", finished[1])  # started before the last minute
        engine.startOnlyOnDispatch()
        waiting = [engine.enqueue("three_steps", queueName="mixing") for _ in range(2)]
        engine.gw.sql("UPDATE workflows.workflow_runs SET created_at_ms = created_at_ms - 5000 "
                      "WHERE workflow_id = ?", waiting[0])
        held = engine.enqueue("three_steps", queueName="mixing")
        assert service.sendCommand(held, "HOLD")["code"] == "HELD"
        engine.enqueue("three_steps", queueName="mixing", delaySeconds=60)
        engine.enqueue("three_steps", queueName="packing")
        assert engine.admin.enterMaintenance("drain", queueName="packing")["ok"]

        page = console("queues").queuesPage()
        assert (page["ok"], page["code"]) == (True, "QUEUES_PAGE"), page
        rows = page["data"]["rows"]
        assert [r["queueName"] for r in rows] == ["done", "idle", "mixing", "packing"]
        assert all(set(r) == QUEUE_KEYS for r in rows), rows
        done, idle, mixing, packing = rows
        assert mixing["byStatus"] == counts(DELAYED=1, ENQUEUED=2, RUNNING=1, HELD=1), mixing
        assert [mixing[s] for s in ("delayed", "enqueued", "pending", "running", "waiting",
                                    "held")] == [1, 2, 0, 1, 0, 1], mixing  # a column each
        assert (mixing["claimed"], mixing["concurrency"], mixing["workerConcurrency"],
                mixing["rateLimit"], mixing["ratePeriodMs"], mixing["declared"]) == \
            (1, 2, None, 10, 60000, True), mixing
        assert 5000 <= mixing["oldestWaitingMs"] < 60000, mixing
        assert (mixing["startsPerMinute"], mixing["maintenance"]) == (1, False), mixing
        assert (done["byStatus"], done["startsPerMinute"], done["declared"],
                done["oldestWaitingMs"]) == (counts(), 1, False, None), done
        assert (idle["byStatus"], idle["workerConcurrency"], idle["startsPerMinute"],
                idle["oldestWaitingMs"]) == (counts(), 3, 0, None), idle
        assert (packing["byStatus"], packing["maintenance"], packing["maintenanceMode"]) == \
            (counts(ENQUEUED=1), True, "drain"), packing
        assert engine.admin.enterMaintenance("drain", queueName=None)["ok"]
        held = console("queues").queuesPage()["data"]["rows"]
        assert [(r["maintenance"], r["maintenanceMode"]) for r in held] == \
            [(True, "drain")] * 4, held
        assert engine.admin.exitMaintenance()["ok"]
        release.set()
        engine.runToEnd(running)


class ExecutorsPageTest(EngineCase):

    def test_this_executor_live_and_another_overdue_the_retired_left_out(self):
        engine = self.engine
        engine.startOnlyOnDispatch()
        assert engine.service.dispatch()["ok"]  # the heartbeat: this executor's row
        assert engine.service.enqueueInMemory("three_steps")["ok"]
        engine.gw.sql(
            "INSERT INTO workflows.executors (executor_id, executor_name, host, runtime, "
            "generation, lease_ms, worker_threads, in_flight, heartbeat_at_ms) VALUES "
            "('line2-exec', 'line2', 'host2', 'cpython', 3, 30000, 4, 2, "
            "workflows.now_ms() - 5000), ('old-exec', 'old', 'host3', 'jython', 1, 30000, 2, "
            "0, workflows.now_ms() - 900000)")
        engine.gw.sql("UPDATE workflows.executors SET retired_at_ms = workflows.now_ms(), "
                      "retired_reason = 'stopped' WHERE executor_id = 'old-exec'")
        info = engine.admin.getEngineInfo()["data"]

        page = console("executors").executorsPage()
        assert (page["ok"], page["code"]) == (True, "EXECUTORS_PAGE"), page
        data = page["data"]
        assert data["thisExecutor"] == info["executorId"]
        rows = dict((r["executorId"], r) for r in data["rows"])
        assert sorted(rows) == sorted([info["executorId"], "line2-exec"]), rows
        assert all(set(r) == EXECUTOR_KEYS for r in rows.values()), rows
        here, other = rows[info["executorId"]], rows["line2-exec"]
        assert (here["state"], here["overdue"], here["colour"], here["here"]) == \
            ("alive", False, "#2e7d32", True)
        assert here["stateCell"]["value"] == "alive", here
        assert (here["poolThreads"], here["poolActive"], here["inFlight"],
                here["memoryQueueDepth"], here["generation"]) == \
            (info["poolThreads"], 0, 0, 1, info["generation"]), here
        assert 0 <= here["heartbeatAgeMs"] < 5000 and here["leaseMs"] > 0, here
        assert (other["name"], other["host"], other["runtime"], other["state"],
                other["overdue"], other["colour"]) == \
            ("line2", "host2", "cpython", "overdue", True, "#e53935"), other
        assert (other["here"], other["stateCell"]["style"]["backgroundColor"]) == \
            (False, "#e53935"), other
        assert (other["leaseMs"], other["poolThreads"], other["poolActive"], other["inFlight"],
                other["memoryQueueDepth"], other["generation"]) == \
            (30000, 4, None, 2, None, 3), other
        assert 5000 <= other["heartbeatAgeMs"] < 30000, other


class ClientExecutorsPageTest(EngineCase):
    executes = False

    def test_a_jvm_that_runs_no_workflows_names_no_executor(self):
        page = console("executors").executorsPage()
        assert (page["ok"], page["data"]) == (True, {"rows": [], "thisExecutor": None}), page


class AdminPageTest(EngineCase):

    def journal(self, action):
        rows = console("admin").journal(action=action)["data"]["rows"]
        return [(e["actor"], e["outcome"], e["accepted"]) for e in reversed(rows)]

    def engineerOnly(self):
        admin = self.engine.admin
        assert admin.configure(adminRoles=["Engineer"])["ok"]
        self.addCleanup(admin.configure, adminRoles=[])

    def deadLetters(self, count):
        """``count`` DROPPED_OLDEST dead letters (and one run that landed)."""
        engine = self.engine
        engine.startOnlyOnDispatch()
        assert engine.admin.configure(memoryQueueCapacity=1)["ok"]
        for i in range(count + 1):
            assert engine.service.enqueueInMemory("three_steps", inputs={"kg": i},
                                                  overflowPolicy="dropOldest")["ok"]
        assert engine.service.dispatch()["data"]["flushed"] == 1

    def test_overview_reads_schema_maintenance_dead_letters_and_retention(self):
        engine = self.engine
        from exchange.workflows.db import schema
        admin = console("admin")
        first = admin.overview()
        assert (first["ok"], first["code"]) == (True, "ADMIN_OVERVIEW"), first
        data = first["data"]
        assert data["schema"] == {"installed": schema.LATEST_VERSION,
                                  "current": schema.LATEST_VERSION, "upToDate": True,
                                  "pending": [], "schemaName": "workflows"}, data
        assert (data["maintenance"]["enabled"], data["deadLetters"], data["retention"]) == \
            (False, 0, {"oldestEndedMs": None, "oldestEndedAgeMs": None}), data
        assert data["summary"] == {
            "schema": "schema %d installed, library %d (up to date)" % (
                schema.LATEST_VERSION, schema.LATEST_VERSION),
            "maintenance": "off", "deadLetters": "0 waiting", "retention": "no ended run"}
        ended = engine.enqueue("three_steps")
        assert engine.runToEnd(ended) == ["SUCCESS"]
        engine.gw.sql("UPDATE workflows.workflow_runs SET completed_at_ms = "
                      "completed_at_ms - 86400000 WHERE workflow_id = ?", ended)
        self.deadLetters(2)
        assert engine.admin.enterMaintenance("drain", queueName="packing")["ok"]
        data = admin.overview()["data"]
        endedAt = engine.gw.sql("SELECT completed_at_ms FROM workflows.workflow_runs "
                                "WHERE workflow_id = ?", ended)[0][0]
        assert data["retention"]["oldestEndedMs"] == endedAt, data
        assert 86400000 <= data["retention"]["oldestEndedAgeMs"] < 86460000, data
        assert data["deadLetters"] == 2, data
        assert data["maintenance"]["enabled"] and \
            data["maintenance"]["scopes"][0]["queueName"] == "packing", data
        assert (data["summary"]["maintenance"], data["summary"]["deadLetters"],
                data["summary"]["retention"]) == ("on: packing (drain)", "2 waiting",
                                                  "oldest ended run 1.0 days ago"), data

    def test_overview_of_a_database_without_the_schema_offers_the_install(self):
        assert self.engine.admin.configure(schemaName="console_missing")["ok"]
        self.addCleanup(self.engine.admin.configure, schemaName="workflows")
        data = console("admin").overview()["data"]
        assert (data["schema"]["installed"], data["schema"]["upToDate"],
                data["schema"]["schemaName"], data["maintenance"], data["deadLetters"],
                data["retention"]) == (0, False, "console_missing", None, None, None), data
        assert data["summary"]["schema"].startswith("schema not installed, library "), data
        assert data["summary"]["maintenance"] == "unknown", data

    def test_maintenance_actions_act_as_the_caller_under_the_admin_roles(self):
        self.engineerOnly()
        admin, eng, op = console("admin"), dict(user="eng", roles=["Engineer"]), \
            dict(user="op", roles=["Operator"])
        refused = admin.maintenanceAction("ENTER", **op)
        assert (refused["ok"], refused["code"]) == (False, "NOT_AUTHORIZED"), refused
        entered = admin.maintenanceAction("ENTER", mode="cancel", queueName="mixing",
                                          reason="line 2 down", **eng)
        assert entered["code"] == "MAINTENANCE_ENTERED", entered
        assert entered["data"]["scopes"] == [{"queueName": "mixing", "mode": "cancel",
                                              "reason": "line 2 down", "actor": "eng",
                                              "sinceMs": entered["data"]["scopes"][0]["sinceMs"]}]
        swap = admin.maintenanceAction("SWAP", **eng)
        assert (swap["ok"], swap["code"]) == (False, "MAINTENANCE_REQUIRED"), swap
        assert admin.maintenanceAction("EXIT", queueName="mixing", **eng)["code"] == \
            "MAINTENANCE_EXITED"
        assert admin.maintenanceAction("ENTER", **eng)["data"]["scopes"][0]["mode"] == "drain"
        self.engine.waitIdle()
        assert admin.maintenanceAction("SWAP", **eng)["code"] == "SWAPPED"
        assert admin.maintenanceAction("EXIT", **eng)["code"] == "MAINTENANCE_EXITED"
        unknown = admin.maintenanceAction("PAUSE", **eng)
        assert (unknown["ok"], unknown["code"]) == (False, "INVALID_ARGUMENT"), unknown
        assert self.journal("MAINTENANCE_ENTER") == [
            ("op", "NOT_AUTHORIZED", False), ("eng", "MAINTENANCE_ENTERED", True),
            ("eng", "MAINTENANCE_ENTERED", True)]
        assert self.journal("SWAP") == [("eng", "MAINTENANCE_REQUIRED", False),
                                        ("eng", "SWAPPED", True)]

    def test_dead_letters_page_replay_and_purge_as_an_admin_journaled(self):
        self.engineerOnly()
        self.deadLetters(3)
        admin, eng, op = console("admin"), dict(user="eng", roles=["Engineer"]), \
            dict(user="op", roles=["Operator"])
        page = admin.deadLetters(limit=2)
        assert (page["ok"], page["code"], page["data"]["total"]) == \
            (True, "DEAD_LETTERS_LISTED", 3), page
        rows = page["data"]["rows"]
        assert [r["reason"] for r in rows] == ["DROPPED_OLDEST"] * 2, rows
        assert [r["request"]["inputs"] for r in rows] == [{"kg": 2}, {"kg": 1}], rows
        assert admin.deadLetters(limit=2, offset=2)["data"]["rows"][0]["request"]["inputs"] \
            == {"kg": 0}
        letter = rows[0]["deadLetterId"]
        refused = admin.replayDeadLetter(letter, **op)
        assert (refused["ok"], refused["code"]) == (False, "NOT_AUTHORIZED"), refused
        replayed = admin.replayDeadLetter(letter, **eng)
        assert replayed["code"] == "DEAD_LETTER_REPLAYED", replayed
        assert admin.replayDeadLetter(letter, **eng)["code"] == "DEAD_LETTER_ALREADY_REPLAYED"
        assert admin.deadLetters()["data"]["total"] == 2
        missing = admin.purgeDeadLetters(**eng)
        assert (missing["ok"], missing["code"]) == (False, "MISSING_ARGUMENT"), missing
        assert admin.purgeDeadLetters(olderThanMs=0, **op)["code"] == "NOT_AUTHORIZED"
        kept = admin.purgeDeadLetters(olderThanMs=3600000, **eng)
        assert (kept["code"], kept["data"]["deleted"]) == ("DEAD_LETTERS_PURGED", 0), kept
        purged = admin.purgeDeadLetters(olderThanMs=0, **eng)
        assert (purged["code"], purged["data"]["deleted"]) == ("DEAD_LETTERS_PURGED", 3), purged
        assert admin.deadLetters()["data"] == {"rows": [], "total": 0}
        assert self.journal("DEAD_LETTER_REPLAY") == [
            ("op", "NOT_AUTHORIZED", False), ("eng", "DEAD_LETTER_REPLAYED", True),
            ("eng", "DEAD_LETTER_ALREADY_REPLAYED", False)]
        assert self.journal("DEAD_LETTER_PURGE") == [
            ("op", "NOT_AUTHORIZED", False), ("eng", "DEAD_LETTERS_PURGED", True),
            ("eng", "DEAD_LETTERS_PURGED", True)]

    def test_retention_and_schema_upgrade_as_an_admin_and_the_journal_filters(self):
        self.engineerOnly()
        engine = self.engine
        admin, eng = console("admin"), dict(user="eng", roles=["Engineer"])
        old, new = engine.enqueue("three_steps"), engine.enqueue("three_steps")
        assert engine.runToEnd(old, new) == ["SUCCESS"] * 2
        engine.gw.sql("UPDATE workflows.workflow_runs SET completed_at_ms = "
                      "completed_at_ms - 3 * 86400000 WHERE workflow_id = ?", old)
        refused = admin.applyRetention(1, user="op", roles=["Operator"])
        assert (refused["ok"], refused["code"]) == (False, "NOT_AUTHORIZED"), refused
        applied = admin.applyRetention(2, **eng)
        assert (applied["code"], applied["data"]["deleted"]) == ("RETENTION_APPLIED", 1), applied
        assert engine.gw.sql("SELECT workflow_id FROM workflows.workflow_runs") == [(new,)]
        upgraded = admin.upgradeSchema(**eng)
        assert (upgraded["code"], upgraded["data"]["applied"]) == ("SCHEMA_INSTALLED", []), \
            upgraded
        everything = admin.journal(actor="eng")
        assert everything["code"] == "JOURNAL_LISTED", everything
        rows = everything["data"]["rows"]
        assert [(e["action"], e["outcome"]) for e in rows] == [
            ("SCHEMA_UPGRADE", "SCHEMA_INSTALLED"), ("RETENTION", "RETENTION_APPLIED")], rows
        assert rows[1]["details"]["deleted"] == 1, rows
        assert self.journal("RETENTION") == [("op", "NOT_AUTHORIZED", False),
                                             ("eng", "RETENTION_APPLIED", True)]
        latest = rows[0]["atMs"]
        engine.gw.sql("UPDATE workflows.journal SET at_ms = at_ms - 10000 "
                      "WHERE action = 'RETENTION'")
        before = admin.journal(actor="eng", toMs=latest - 5000)["data"]["rows"]
        assert [e["action"] for e in before] == ["RETENTION"], before
        since = admin.journal(actor="eng", fromMs=latest - 5000)["data"]["rows"]
        assert [e["action"] for e in since] == ["SCHEMA_UPGRADE"], since
        assert admin.journal(action="SCHEMA_UPGRADE", limit=1)["data"]["rows"][0]["actor"] == \
            "eng"
        bad = admin.journal(toMs="yesterday")
        assert (bad["ok"], bad["code"]) == (False, "INVALID_ARGUMENT"), bad
