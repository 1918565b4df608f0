"""Scheduled workflows: create, pause, resume, delete, list, trigger and backfill cron
schedules at run time (schedules declared in code with ``@schedule`` are listed and
controlled the same way). Every call returns an envelope; the changes are operator actions,
journaled (create, delete and backfill need ``adminRoles``; pause, resume and trigger
``commandRoles``). docs/schedules.md.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.api import envelope
from exchange.workflows.api.envelope import guarded
from exchange.workflows.db import schedules as statements
from exchange.workflows import codec, codes, cron as cronexpr, settings, validate, \
    vocabulary
from exchange.workflows.engine import actors, registry, scheduleadmin, schedules
from exchange.workflows.errors import InvalidArgument

MAX_NAME_LENGTH = schedules.MAX_NAME_LENGTH
_KEYS = {"schedule_name": "scheduleName", "workflow_name": "workflowName", "cron": "cron",
         "time_zone": "timeZone", "inputs": "inputs", "queue_name": "queueName",
         "status": "status", "source": "source", "next_tick_ms": "nextTickMs",
         "last_tick_ms": "lastTickMs", "last_workflow_id": "lastWorkflowId",
         "last_run_status": "lastRunStatus", "created_by": "createdBy",
         "created_at_ms": "createdAtMs", "updated_at_ms": "updatedAtMs"}


def _name(scheduleName):
    validate.name("scheduleName", scheduleName)
    if len(scheduleName) > MAX_NAME_LENGTH:
        raise InvalidArgument(u"scheduleName is at most %d characters" % MAX_NAME_LENGTH,
                              codes.VALUE_TOO_LONG)
    return scheduleName


def _answer(action, caller):
    accepted, code, message, data = scheduleadmin.perform(action, caller)
    return (envelope.ok if accepted else envelope.fail)(code, message, data)


@guarded
def createSchedule(scheduleName, workflowName, cron, timeZone=vocabulary.UTC, inputs=None,
                   queueName=None, user=None, session=None, roles=None, dbName=None):
    """Start ``workflowName`` with ``inputs`` on each tick of ``cron`` (5 fields, or 6 with
    seconds first) in the IANA ``timeZone``, from the first tick after now. Codes:
    SCHEDULE_CREATED, SCHEDULE_EXISTS, UNKNOWN_WORKFLOW, INVALID_CRON, UNKNOWN_TIME_ZONE,
    INVALID_INPUTS, NOT_AUTHORIZED (adminRoles)."""
    _name(scheduleName)
    validate.name("workflowName", workflowName)
    validate.name("queueName", queueName, False)
    if registry.lookup(workflowName) is None:
        return envelope.fail(codes.UNKNOWN_WORKFLOW, u"no workflow named %r is registered"
                             % workflowName, {"workflowName": workflowName})
    dbName = settings.databaseName(dbName)
    given = {} if inputs is None else codec.asDict(inputs)
    if given is None:
        raise InvalidArgument(u"inputs must be a dict of keyword arguments",
                              codes.INVALID_INPUTS)
    first = cronexpr.check(cron, timeZone, scheduleadmin.clockNow(dbName))[1]
    schedules.runRequest(workflowName, given, queueName, first, u"sched:check")  # the inputs fit
    definition = scheduleadmin.Definition(scheduleName, workflowName, cron, timeZone, given,
                                          queueName)
    return _answer(scheduleadmin.Create(dbName, definition),
                   actors.Caller(user, session, roles))


@guarded
def pauseSchedule(scheduleName, user=None, session=None, roles=None, dbName=None):
    """Stop firing a schedule's ticks until it is resumed. Codes: SCHEDULE_PAUSED,
    SCHEDULE_ALREADY_PAUSED, SCHEDULE_NOT_FOUND, NOT_AUTHORIZED (commandRoles)."""
    return _answer(scheduleadmin.SetStatus(settings.databaseName(dbName), _name(scheduleName),
                                           True), actors.Caller(user, session, roles))


@guarded
def resumeSchedule(scheduleName, user=None, session=None, roles=None, dbName=None):
    """Fire a paused schedule again from its first tick after now (the ticks of the pause
    are not fired; backfillSchedule creates them). Codes: SCHEDULE_RESUMED,
    SCHEDULE_ALREADY_ACTIVE, SCHEDULE_NOT_FOUND, NOT_AUTHORIZED (commandRoles)."""
    return _answer(scheduleadmin.SetStatus(settings.databaseName(dbName), _name(scheduleName),
                                           False), actors.Caller(user, session, roles))


@guarded
def deleteSchedule(scheduleName, user=None, session=None, roles=None, dbName=None):
    """Delete a schedule; the runs it started stay. Codes: SCHEDULE_DELETED,
    SCHEDULE_NOT_FOUND, SCHEDULE_DECLARED_IN_CODE, NOT_AUTHORIZED (adminRoles)."""
    return _answer(scheduleadmin.Delete(settings.databaseName(dbName), _name(scheduleName)),
                   actors.Caller(user, session, roles))


@guarded
def triggerSchedule(scheduleName, user=None, session=None, roles=None, dbName=None):
    """Start the schedule's workflow now, outside its ticks (also while paused); data
    ``workflowId``. Codes: SCHEDULE_TRIGGERED, SCHEDULE_NOT_FOUND, those of the start's
    validation (UNKNOWN_WORKFLOW, INVALID_INPUTS), NOT_AUTHORIZED (commandRoles)."""
    return _answer(scheduleadmin.Trigger(settings.databaseName(dbName), _name(scheduleName)),
                   actors.Caller(user, session, roles))


@guarded
def backfillSchedule(scheduleName, fromMs, toMs, user=None, session=None, roles=None,
                     dbName=None):
    """Create the runs of the schedule's ticks in [fromMs, toMs] (epoch ms; ticks after now
    are left to the schedule) that do not exist yet: run again, it creates none. Data
    ``ticks``, ``created``, ``skipped``, ``workflowIds`` (the created). Codes:
    SCHEDULE_BACKFILLED, BACKFILL_TOO_LARGE (over scheduleadmin.MAX_BACKFILL_TICKS ticks),
    SCHEDULE_NOT_FOUND, NOT_AUTHORIZED (adminRoles)."""
    validate.wholeNumber("fromMs", fromMs, 0)
    validate.wholeNumber("toMs", toMs, 0)
    if toMs < fromMs:
        raise InvalidArgument(u"toMs must not be before fromMs")
    return _answer(scheduleadmin.Backfill(settings.databaseName(dbName), _name(scheduleName),
                                          fromMs, toMs), actors.Caller(user, session, roles))


@guarded
def listSchedules(dbName=None):
    """Every schedule by name: its workflow, cron, time zone, inputs, queue, status, source
    (CODE or RUNTIME), next and last tick (epoch ms), its latest run and that run's
    status."""
    rows = [present(row) for row in statements.listing(dbName)]
    return envelope.ok(codes.SCHEDULES_LISTED, u"%d schedule(s)" % len(rows),
                       {"schedules": rows, "count": len(rows)})


def present(row):
    """A schedules row as the API answers it (camelCase keys, inputs decoded)."""
    shown = dict((_KEYS[k], v) for k, v in row.items())
    shown["inputs"] = codec.decode(shown["inputs"])
    return shown
