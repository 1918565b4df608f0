"""Scheduled workflows against PostgreSQL (docs/schedules.md): a tick fired by two
executors starts one run, missed ticks are not replayed, a backfill creates exactly the
missing ticks, pause/resume/delete/trigger as journaled operator actions, a schedule
declared in code appears after a dispatch. The tick takes ``nowMs``; tests move
``next_tick_ms`` into the past instead of sleeping."""
from __future__ import absolute_import, division, print_function

import calendar
import json
import threading

from support import EngineCase

MINUTE = 60000


def utc(*wall):
    return calendar.timegm(tuple(wall) + (0, 0, 0)) * 1000


class ScheduleCase(EngineCase):
    def setUp(self):
        EngineCase.setUp(self)
        self.api = __import__("exchange.workflows.api.schedules", fromlist=["x"])
        self.engineSchedules = __import__("exchange.workflows.engine.schedules",
                                          fromlist=["x"])
        self.statements = __import__("exchange.workflows.db.schedules", fromlist=["x"])
        registered = self.engine.admin.registerWorkflowModules(["testing.scheduleflows"])
        assert registered["ok"], registered

    def everyMinute(self, name="every-minute", **kwargs):
        return self.ok(self.api.createSchedule(name, "scheduled_job", "* * * * *", "UTC",
                                               user="eng", **kwargs), "SCHEDULE_CREATED")

    def due(self, nowMs):
        """What this executor's tick reads: the due schedules of the workflows it runs."""
        registry = __import__("exchange.workflows.engine.registry", fromlist=["x"])
        names = json.dumps(registry.registeredNames())
        return self.statements.due(None, names, nowMs)

    def dueAt(self, name, tickMs):
        """Move the schedule's next tick to ``tickMs`` (a past minute): it is due."""
        self.gw.sql("UPDATE workflows.schedules SET next_tick_ms = ? WHERE schedule_name = ?",
                    tickMs, name)

    def pastMinute(self, minutesAgo=10):
        now = self.gw.sql("SELECT workflows.now_ms()")[0][0]
        return (now // MINUTE - minutesAgo) * MINUTE

    def runIds(self, workflowName="scheduled_job"):
        return [r[0] for r in self.gw.sql("SELECT workflow_id FROM workflows.workflow_runs "
                                          "WHERE workflow_name = ? ORDER BY workflow_id",
                                          workflowName)]

    def row(self, name):
        return self.statements.listing(None, name)[0]


class TickTest(ScheduleCase):
    def test_two_executors_firing_the_same_tick_start_one_run(self):
        self.everyMinute()
        tick = self.pastMinute()
        self.dueAt("every-minute", tick)
        # both executors read the due schedule before either fires it
        first = self.due(tick + 5000)
        second = self.due(tick + 5000)
        assert [d.name for d in first] == [d.name for d in second] == ["every-minute"]
        assert self.engineSchedules.fire(None, first[0]) is True
        assert self.engineSchedules.fire(None, second[0]) is False
        assert self.engineSchedules.tick(None, tick + 5000) == 0  # nothing due any more
        label = self.engineSchedules.workflowIdOf("every-minute", tick)
        assert self.runIds() == [label], self.runIds()
        assert label.startswith("sched:every-minute:") and label.endswith("Z")
        row = self.row("every-minute")
        assert (row["last_tick_ms"], row["next_tick_ms"], row["last_workflow_id"]) == (
            tick, tick + MINUTE, label)
        inputs = self.gw.sql("SELECT inputs->>'scheduledAtMs' FROM workflows.workflow_runs "
                             "WHERE workflow_id = ?", label)[0][0]
        assert int(inputs) == tick

    def test_schedules_only_another_gateway_runs_never_crowd_out_ours(self):
        # more due schedules of a workflow registered elsewhere than one tick fires
        self.everyMinute()
        tick = self.pastMinute()
        self.dueAt("every-minute", tick)
        self.gw.sql("INSERT INTO workflows.schedules (schedule_name, workflow_name, cron, "
                    "time_zone, source, next_tick_ms, created_by) "
                    "SELECT 'elsewhere-' || i, 'only_on_another_gateway', '* * * * *', 'UTC', "
                    "'RUNTIME', ? - 60000, 'eng' FROM generate_series(1, ?) i",
                    tick, self.engineSchedules.MAX_DUE_PER_TICK + 50)
        assert [d.name for d in self.due(tick + 5000)] == ["every-minute"]
        assert self.engineSchedules.tick(None, tick + 5000) == 1
        assert self.runIds() == [self.engineSchedules.workflowIdOf("every-minute", tick)]

    def test_two_threads_firing_the_same_tick_at_once_start_one_run(self):
        self.everyMinute()
        tick = self.pastMinute()
        self.dueAt("every-minute", tick)
        dues = [self.due(tick + 5000)[0] for _ in range(4)]
        start, results = threading.Event(), []

        def fire(due):
            start.wait(10)
            results.append(self.engineSchedules.fire(None, due))
        threads = [threading.Thread(target=fire, args=(due,)) for due in dues]
        for thread in threads:
            thread.start()
        start.set()
        for thread in threads:
            thread.join(20)
        assert sorted(results) == [False, False, False, True], results
        assert self.runIds() == [self.engineSchedules.workflowIdOf("every-minute", tick)]

    def test_a_restart_fires_only_the_latest_missed_tick_and_backfill_creates_the_rest(self):
        self.everyMinute()
        tick = self.pastMinute()
        self.dueAt("every-minute", tick - 60 * MINUTE)  # 60 ticks missed while down
        assert self.engineSchedules.tick(None, tick + 5000) == 1
        assert self.runIds() == [self.engineSchedules.workflowIdOf("every-minute", tick)]
        assert self.row("every-minute")["next_tick_ms"] == tick + MINUTE
        filled = self.ok(self.api.backfillSchedule("every-minute", tick - 60 * MINUTE, tick,
                                                   user="eng"), "SCHEDULE_BACKFILLED")
        assert (filled["ticks"], filled["created"], filled["skipped"]) == (61, 60, 1)
        assert len(self.runIds()) == 61
        again = self.ok(self.api.backfillSchedule("every-minute", tick - 60 * MINUTE, tick,
                                                  user="eng"), "SCHEDULE_BACKFILLED")
        assert (again["created"], again["skipped"]) == (0, 61)
        self.refused(self.api.backfillSchedule("every-minute", tick - 2000 * MINUTE, tick,
                                               user="eng"), "BACKFILL_TOO_LARGE")
        assert len(self.runIds()) == 61
        journal = self.gw.sql("SELECT accepted, outcome FROM workflows.journal WHERE action = "
                              "'SCHEDULE_BACKFILL' ORDER BY entry_id")
        assert [tuple(r) for r in journal] == [(True, "SCHEDULE_BACKFILLED"),
                                               (True, "SCHEDULE_BACKFILLED"),
                                               (False, "BACKFILL_TOO_LARGE")]

    def test_the_dispatch_tick_fires_due_schedules(self):
        self.everyMinute()
        self.dueAt("every-minute", self.pastMinute(1))
        self.engine.service.dispatch()
        assert len(self.runIds()) == 1
        self.engine.runToEnd(self.runIds()[0])


class ControlTest(ScheduleCase):
    def test_pause_resume_trigger_and_delete(self):
        self.everyMinute(inputs={"label": "hourly"})
        tick = self.pastMinute()
        self.ok(self.api.pauseSchedule("every-minute", user="op"), "SCHEDULE_PAUSED")
        self.refused(self.api.pauseSchedule("every-minute", user="op"),
                     "SCHEDULE_ALREADY_PAUSED")
        self.dueAt("every-minute", tick)
        assert self.engineSchedules.tick(None, tick + 5000) == 0 and self.runIds() == []
        resumed = self.ok(self.api.resumeSchedule("every-minute", user="op"),
                          "SCHEDULE_RESUMED")
        assert resumed["nextTickMs"] > tick + 9 * MINUTE  # from now: the pause's ticks skipped
        self.refused(self.api.resumeSchedule("every-minute", user="op"),
                     "SCHEDULE_ALREADY_ACTIVE")
        triggered = self.ok(self.api.triggerSchedule("every-minute", user="op"),
                            "SCHEDULE_TRIGGERED")
        assert triggered["workflowId"].startswith("sched:every-minute:now:")
        assert self.runIds() == [triggered["workflowId"]]
        self.engine.runToEnd(triggered["workflowId"])
        listed = self.ok(self.api.listSchedules(), "SCHEDULES_LISTED")["schedules"]
        assert [(s["scheduleName"], s["status"], s["source"], s["inputs"], s["lastWorkflowId"],
                 s["lastRunStatus"], s["createdBy"]) for s in listed
                if s["source"] == "RUNTIME"] == [
            ("every-minute", "ACTIVE", "RUNTIME", {"label": "hourly"}, triggered["workflowId"],
             "SUCCESS", "eng")]
        self.ok(self.api.deleteSchedule("every-minute", user="eng"), "SCHEDULE_DELETED")
        self.refused(self.api.deleteSchedule("every-minute", user="eng"), "SCHEDULE_NOT_FOUND")
        self.refused(self.api.triggerSchedule("every-minute", user="op"), "SCHEDULE_NOT_FOUND")
        assert [s["scheduleName"] for s in self.ok(self.api.listSchedules(),
                                                   "SCHEDULES_LISTED")["schedules"]] == \
            ["morning-report"]  # declared in code, stored by the dispatches of runToEnd
        assert self.runIds() == [triggered["workflowId"]]  # its runs stay
        journal = self.gw.sql("SELECT action, actor, accepted, outcome FROM workflows.journal "
                              "WHERE action LIKE 'SCHEDULE%' ORDER BY entry_id")
        assert [tuple(r) for r in journal] == [
            ("SCHEDULE_CREATE", "eng", True, "SCHEDULE_CREATED"),
            ("SCHEDULE_PAUSE", "op", True, "SCHEDULE_PAUSED"),
            ("SCHEDULE_PAUSE", "op", False, "SCHEDULE_ALREADY_PAUSED"),
            ("SCHEDULE_RESUME", "op", True, "SCHEDULE_RESUMED"),
            ("SCHEDULE_RESUME", "op", False, "SCHEDULE_ALREADY_ACTIVE"),
            ("SCHEDULE_TRIGGER", "op", True, "SCHEDULE_TRIGGERED"),
            ("SCHEDULE_DELETE", "eng", True, "SCHEDULE_DELETED"),
            ("SCHEDULE_DELETE", "eng", False, "SCHEDULE_NOT_FOUND"),
            ("SCHEDULE_TRIGGER", "op", False, "SCHEDULE_NOT_FOUND")]

    def test_bad_definitions_are_refused_with_stable_codes(self):
        api = self.api
        self.refused(api.createSchedule("s", "scheduled_job", "61 * * * *", user="eng"),
                     "INVALID_CRON")
        self.refused(api.createSchedule("s", "scheduled_job", "0 0 31 2 *", user="eng"),
                     "INVALID_CRON")
        self.refused(api.createSchedule("s", "scheduled_job", "@daily", "Mars/Base",
                                        user="eng"), "UNKNOWN_TIME_ZONE")
        self.refused(api.createSchedule("s", "no_such_flow", "@daily", user="eng"),
                     "UNKNOWN_WORKFLOW")
        self.refused(api.createSchedule("s", "unscheduled_inputs", "@daily", user="eng"),
                     "INVALID_INPUTS")
        self.ok(api.createSchedule("s", "scheduled_job", "@daily", "Europe/Zurich",
                                   user="eng"), "SCHEDULE_CREATED")
        self.refused(api.createSchedule("s", "scheduled_job", "@hourly", user="eng"),
                     "SCHEDULE_EXISTS")
        assert self.engine.admin.configure(adminRoles=["Engineer"])["ok"]
        self.refused(api.deleteSchedule("s", user="op", roles=["Operator"]), "NOT_AUTHORIZED")
        self.refused(api.backfillSchedule("s", 2, 1, user="eng"), "INVALID_ARGUMENT")
        assert self.engine.admin.configure(commandRoles=["Operator"])["ok"]
        self.refused(api.pauseSchedule("s", user="guest", roles=["Viewer"]), "NOT_AUTHORIZED")
        self.ok(api.pauseSchedule("s", user="op", roles=["Operator"]), "SCHEDULE_PAUSED")


class ConsoleTest(ScheduleCase):
    """api.consoleschedules: the Schedules page's Create schedule form."""

    def test_the_create_form_takes_json_text_and_blank_fields_and_acts_as_the_user(self):
        console = __import__("exchange.workflows.api.consoleschedules", fromlist=["x"])
        created = self.ok(console.createSchedule("nightly", "scheduled_job", "0 2 * * *", "",
                                                 '{"label": "night"}', queueName=" ",
                                                 user="eng"), "SCHEDULE_CREATED")
        assert created["scheduleName"] == "nightly"
        row = self.row("nightly")
        assert (row["time_zone"], row["queue_name"], row["created_by"]) == ("UTC", None, "eng")
        assert json.loads(row["inputs"]) == {"label": "night"}
        self.refused(console.createSchedule("bad", "scheduled_job", "@daily", "UTC", "{label",
                                            user="eng"), "INVALID_INPUTS")
        self.refused(console.createSchedule("bad", "scheduled_job", "@daily", "UTC", "[1]",
                                            user="eng"), "INVALID_INPUTS")
        self.refused(console.createSchedule("nightly", "scheduled_job", "@daily", "UTC", None,
                                            user="eng"), "SCHEDULE_EXISTS")
        assert self.engine.admin.configure(adminRoles=["Engineer"])["ok"]
        self.refused(console.createSchedule("bad", "scheduled_job", "@daily", "UTC", "",
                                            user="op", roles=["Operator"]), "NOT_AUTHORIZED")
        rows = self.ok(console.schedulesPage(), "SCHEDULES_PAGE")["rows"]
        assert "nightly" in [r["scheduleName"] for r in rows] and \
            "bad" not in [r["scheduleName"] for r in rows]


class DeclaredTest(ScheduleCase):
    def test_a_declared_schedule_whose_run_ids_would_be_too_long_is_refused_at_once(self):
        from exchange.workflows.engine.runtime import InvalidArgument, schedule

        def flow():
            return None
        flow.workflowName = "w" * 180  # (as @workflow marks it; a name may be 200 long)
        for name in (None, "s" * 121):
            try:
                schedule("@daily", name=name)(flow)
            except InvalidArgument as refused:
                assert refused.code == "VALUE_TOO_LONG", refused.code
            else:
                self.fail("a schedule named %r was declared" % (name,))

    def test_a_schedule_declared_in_code_appears_after_a_dispatch_and_stays_paused(self):
        assert self.ok(self.api.listSchedules(), "SCHEDULES_LISTED")["count"] == 0
        self.engine.service.dispatch()
        listed = self.ok(self.api.listSchedules(), "SCHEDULES_LISTED")["schedules"]
        assert [(s["scheduleName"], s["workflowName"], s["cron"], s["timeZone"], s["source"],
                 s["inputs"]) for s in listed] == [
            ("morning-report", "morning_report", "0 6 * * *", "Europe/Zurich", "CODE",
             {"label": "morning"})]
        platform = __import__("exchange.workflows.platform", fromlist=["x"])
        assert platform.wallClock(listed[0]["nextTickMs"], "Europe/Zurich")[3:] == (6, 0, 0)
        self.refused(self.api.deleteSchedule("morning-report", user="eng"),
                     "SCHEDULE_DECLARED_IN_CODE")
        self.ok(self.api.pauseSchedule("morning-report", user="op"), "SCHEDULE_PAUSED")
        self.engine.service.dispatch()
        assert self.row("morning-report")["status"] == "PAUSED"

    def test_a_schedule_declared_in_code_fires_with_its_inputs_and_tick(self):
        self.engine.service.dispatch()
        cron = __import__("exchange.workflows.cron", fromlist=["x"])
        now = self.gw.sql("SELECT workflows.now_ms()")[0][0]
        tick = cron.latestDue(cron.parse("0 6 * * *"), "Europe/Zurich",
                              utc(2026, 3, 29, 4, 0, 0), now)[0]  # the last 06:00 in Zurich
        self.dueAt("morning-report", utc(2026, 3, 29, 4, 0, 0))  # long overdue: the latest
        self.engine.service.dispatch()
        workflowId = self.engineSchedules.workflowIdOf("morning-report", tick)
        assert self.runIds("morning_report") == [workflowId]
        self.engine.runToEnd(workflowId)
        result = self.engine.service.getResult(workflowId, timeoutSeconds=5)
        assert result["data"]["output"] == {"scheduledAtMs": tick, "label": "morning"}, result
        nextTick = self.row("morning-report")["next_tick_ms"]
        platform = __import__("exchange.workflows.platform", fromlist=["x"])
        assert platform.wallClock(nextTick, "Europe/Zurich")[3:] == (6, 0, 0)


class ZoneTest(ScheduleCase):
    """The time zones of this interpreter's platform (java.time under Jython)."""

    def test_daylight_saving_transitions_of_zurich_and_new_york(self):
        cron = __import__("exchange.workflows.cron", fromlist=["x"])
        daily = cron.parse("30 2 * * *")
        assert cron.nextTick(daily, "Europe/Zurich", utc(2026, 3, 28, 12, 0, 0)) == \
            utc(2026, 3, 29, 1, 0, 0)  # skipped: at the end of the gap, 03:00 CEST
        assert cron.nextTick(daily, "Europe/Zurich", utc(2026, 10, 24, 12, 0, 0)) == \
            utc(2026, 10, 25, 0, 30, 0)  # repeated: its first occurrence, CEST
        assert cron.nextTick(daily, "Europe/Zurich", utc(2026, 10, 25, 0, 30, 0)) == \
            utc(2026, 10, 26, 1, 30, 0)
        assert cron.nextTick(daily, "America/New_York", utc(2026, 3, 7, 12, 0, 0)) == \
            utc(2026, 3, 8, 7, 0, 0)
        leap = cron.parse("0 0 12 29 2 *")
        assert cron.nextTick(leap, "UTC", utc(2026, 1, 1, 0, 0, 0)) == \
            utc(2028, 2, 29, 12, 0, 0)
