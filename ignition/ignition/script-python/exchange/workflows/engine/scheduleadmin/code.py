"""Changes of schedules on someone's word, as operator actions (engine.operator): create,
delete and backfill with ``adminRoles``; pause, resume and trigger with ``commandRoles``
(what an operator presses in the console). Each locks the schedule's row, decides from it,
makes one fenced change and journals it (SCHEDULE_* actions). docs/schedules.md.
"""
from __future__ import absolute_import, division, print_function

import uuid

from exchange.workflows.db import runs, schedules as statements
from exchange.workflows.db.journal import JournalEntry
from exchange.workflows import codec, codes, compat, cron, statuses, vocabulary
from exchange.workflows.engine import operator, schedules
from exchange.workflows.errors import InvalidArgument

MAX_BACKFILL_TICKS = 1000  # ticks one backfill call creates at most


class Definition(object):
    """A schedule as createSchedule was given it, checked: its cron parsed."""

    def __init__(self, name, workflowName, cronText, timeZone, inputs, queueName):
        self.name, self.workflowName, self.cron, self.timeZone = name, workflowName, \
            cronText, timeZone
        self.parsed = cron.parse(cronText)
        self.inputsJson = codec.encode(inputs or {})
        self.queueName = queueName


class ScheduleAction(operator.Action):
    """An action on one schedule: lock its row (and read the database's clock), decide."""

    def __init__(self, dbName, area, action, name):
        operator.Action.__init__(self, dbName, area, JournalEntry(action))
        self.name = name
        self.message = None
        self.result = {"scheduleName": name}
        self.nowMs = None

    def lock(self, t):
        self.nowMs = statements.databaseNow(self.dbName, t)
        return statements.lock(self.dbName, self.name, t)

    def missed(self, t, state):
        return codes.SCHEDULE_NOT_FOUND

    def refuse(self, code, message):
        self.message = message
        return None, code

    def found(self, row):
        """The refusal when there is no such schedule, or None."""
        if row is None:
            return self.refuse(codes.SCHEDULE_NOT_FOUND, u"no schedule named %s" % self.name)
        return None

    def details(self, outcome):
        return dict(self.result, message=self.message)

    def refusal(self, message, data):
        return self.fields, dict(data or {}, scheduleName=self.name, message=message)


class Create(ScheduleAction):
    """A new RUNTIME schedule, ACTIVE from its first tick after now."""

    def __init__(self, dbName, definition):
        ScheduleAction.__init__(self, dbName, "admin", vocabulary.SCHEDULE_CREATE,
                                definition.name)
        self.definition = definition

    def decide(self, row):
        if row is not None:
            return self.refuse(codes.SCHEDULE_EXISTS, u"schedule %s exists" % self.name)
        return "create", codes.SCHEDULE_CREATED

    def transition(self, t, row, transition):
        d = self.definition
        self.result.update(workflowName=d.workflowName, cron=d.cron, timeZone=d.timeZone,
                           nextTickMs=cron.nextTick(d.parsed, d.timeZone, self.nowMs))
        return statements.create(self.dbName, d, self.result["nextTickMs"],
                                 vocabulary.RUNTIME, self.actor.name, t)

    def missed(self, t, state):
        self.message = u"schedule %s exists" % self.name
        return codes.SCHEDULE_EXISTS


class SetStatus(ScheduleAction):
    """PAUSE (ACTIVE -> PAUSED) or RESUME (PAUSED -> ACTIVE, from the first tick after
    now: the ticks of the pause are not fired)."""

    def __init__(self, dbName, name, pause):
        ScheduleAction.__init__(self, dbName, "command", vocabulary.SCHEDULE_PAUSE if pause
                                else vocabulary.SCHEDULE_RESUME, name)
        self.expected, self.status = (statuses.SCHEDULE_ACTIVE, statuses.SCHEDULE_PAUSED) \
            if pause else (statuses.SCHEDULE_PAUSED, statuses.SCHEDULE_ACTIVE)

    def decide(self, row):
        problem = self.found(row)
        if problem is None and row["status"] != self.expected:
            code = codes.SCHEDULE_ALREADY_PAUSED if self.status == statuses.SCHEDULE_PAUSED \
                else codes.SCHEDULE_ALREADY_ACTIVE
            problem = self.refuse(code, u"schedule %s is already %s" % (self.name,
                                                                        row["status"]))
        return problem or (self.status, codes.SCHEDULE_PAUSED if self.status ==
                           statuses.SCHEDULE_PAUSED else codes.SCHEDULE_RESUMED)

    def transition(self, t, row, transition):
        nextMs = row["next_tick_ms"]
        if self.status == statuses.SCHEDULE_ACTIVE:
            nextMs = cron.nextTick(cron.parse(row["cron"]), row["time_zone"], self.nowMs)
        self.result.update(status=self.status, nextTickMs=nextMs)
        return statements.setStatus(self.dbName, self.name, self.expected, self.status,
                                    nextMs, t)


class Delete(ScheduleAction):
    """Delete a schedule (its runs stay); refused while code of this interpreter declares
    it (the next dispatch would bring it back: pause it instead)."""

    def __init__(self, dbName, name):
        ScheduleAction.__init__(self, dbName, "admin", vocabulary.SCHEDULE_DELETE, name)

    def decide(self, row):
        problem = self.found(row)
        if problem is None and row["source"] == vocabulary.CODE and \
                schedules.isDeclared(self.name):
            problem = self.refuse(codes.SCHEDULE_DECLARED_IN_CODE, u"schedule %s is declared "
                                  u"in code (%s); pause it, or remove it from the code"
                                  % (self.name, row["created_by"]))
        return problem or ("delete", codes.SCHEDULE_DELETED)

    def transition(self, t, row, transition):
        return statements.delete(self.dbName, self.name, row["status"], t)


class Trigger(ScheduleAction):
    """Start the schedule's workflow now (active or paused), outside its ticks; its run
    id is ``sched:<name>:now:<random>`` and ``scheduledAtMs`` is now."""

    def __init__(self, dbName, name):
        ScheduleAction.__init__(self, dbName, "command", vocabulary.SCHEDULE_TRIGGER, name)
        self.request = None

    def decide(self, row):
        problem = self.found(row)
        if problem is None:
            workflowId = u"sched:%s:now:%s" % (self.name, uuid.uuid4().hex[:12])
            try:
                self.request = schedules.runRequest(row["workflow_name"],
                                                    codec.decode(row["inputs"]),
                                                    row["queue_name"], self.nowMs, workflowId)
            except InvalidArgument as error:
                problem = self.refuse(error.code, error.args[0])
        return problem or ("trigger", codes.SCHEDULE_TRIGGERED)

    def transition(self, t, row, transition):
        self.result.update(workflowId=self.request.workflowId, workflowName=row[
            "workflow_name"])
        self.fields = self.fields._replace(workflowId=self.request.workflowId)
        statements.noteRun(self.dbName, self.name, self.request.workflowId, t)
        return runs.insert(self.dbName, self.request, t)

    def claims(self, outcome):
        return True


class Backfill(ScheduleAction):
    """Create the runs of the schedule's ticks in [fromMs, toMs] (ticks after now are left
    to the schedule) whose run does not exist yet; more than MAX_BACKFILL_TICKS ticks in
    the window are refused, nothing created."""

    def __init__(self, dbName, name, fromMs, toMs):
        ScheduleAction.__init__(self, dbName, "admin", vocabulary.SCHEDULE_BACKFILL, name)
        self.fromMs, self.toMs = fromMs, toMs
        self.requests = []

    def decide(self, row):
        problem = self.found(row)
        if problem is not None:
            return problem
        ticks = cron.ticksBetween(cron.parse(row["cron"]), row["time_zone"], self.fromMs,
                                  min(self.toMs, self.nowMs), MAX_BACKFILL_TICKS)
        if len(ticks) > MAX_BACKFILL_TICKS:
            return self.refuse(codes.BACKFILL_TOO_LARGE, u"the window holds more than %d "
                               u"ticks of schedule %s; backfill it in smaller windows"
                               % (MAX_BACKFILL_TICKS, self.name))
        try:
            inputs = codec.decode(row["inputs"])
            self.requests = [schedules.runRequest(
                row["workflow_name"], inputs, row["queue_name"], tick,
                schedules.workflowIdOf(self.name, tick)) for tick in ticks]
        except InvalidArgument as error:
            return self.refuse(error.code, error.args[0])
        return "backfill", codes.SCHEDULE_BACKFILLED

    def transition(self, t, row, transition):
        created = [r.workflowId for r in self.requests if runs.insert(self.dbName, r, t)]
        self.result.update(fromMs=self.fromMs, toMs=self.toMs, ticks=len(self.requests),
                           created=len(created), skipped=len(self.requests) - len(created),
                           workflowIds=created)
        return True

    def details(self, outcome):
        found = ScheduleAction.details(self, outcome)
        found.pop("workflowIds", None)  # the journal keeps the counts
        return found

    def claims(self, outcome):
        return bool(self.result.get("created"))


def perform(action, caller):
    """Run a ScheduleAction for a caller (an actors.Caller); (accepted, code, message,
    data)."""
    operator.authorized(action, caller)
    outcome = operator.perform(action)
    message = action.message if not outcome.accepted else u"schedule %s: %s" % (
        action.name, outcome.code)
    return outcome.accepted, outcome.code, message, action.result


def clockNow(dbName):
    """The database's clock, for checks made before an action (createSchedule's)."""
    return statements.databaseNow(dbName) or compat.nowMs()
