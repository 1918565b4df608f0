"""The Schedules page of the operator console: each schedule with its next fire time in its
own time zone, its latest run and that run's status, the Pause, Resume and Trigger
buttons and the Create schedule form, acting as the session's user. The view reads ``data.rows``; docs/api.md, "Console
view models: queues, executors, admin"."""
from __future__ import absolute_import, division, print_function

from exchange.workflows.api import envelope, schedules
from exchange.workflows.api.consolecommon import parsedInputs
from exchange.workflows.api.envelope import guarded
from exchange.workflows import codes, compat, platform, vocabulary
from exchange.workflows.errors import InvalidArgument

_ACTIONS = {vocabulary.PAUSE: schedules.pauseSchedule,
            vocabulary.RESUME: schedules.resumeSchedule,
            vocabulary.TRIGGER: schedules.triggerSchedule}


def localTime(epochMs, timeZone):
    """``epochMs`` as the wall-clock text of ``timeZone`` ("2026-12-05 06:00:00"), or ""."""
    if epochMs is None:
        return u""
    return u"%04d-%02d-%02d %02d:%02d:%02d" % platform.wallClock(epochMs, timeZone)


@guarded
def schedulesPage(dbName=None):
    """One row per schedule, by name. Code SCHEDULES_PAGE (data: ``rows``)."""
    listed = envelope.dataOf(schedules.listSchedules(dbName=dbName))["schedules"]
    rows = [_row(s) for s in listed]
    return envelope.ok(codes.SCHEDULES_PAGE, u"%d schedule(s)" % len(rows), {"rows": rows})


def _row(s):
    zone = s["timeZone"]
    return {"scheduleName": s["scheduleName"], "workflowName": s["workflowName"],
            "cron": s["cron"], "timeZone": zone, "status": s["status"], "source": s["source"],
            "nextFire": localTime(s["nextTickMs"], zone), "nextTickMs": s["nextTickMs"],
            "lastTick": localTime(s["lastTickMs"], zone), "lastTickMs": s["lastTickMs"],
            "lastWorkflowId": s["lastWorkflowId"] or u"",
            "lastRunStatus": s["lastRunStatus"] or u""}


@guarded
def scheduleAction(action, scheduleName, session=None, user=None, roles=None, dbName=None):
    """PAUSE, RESUME or TRIGGER schedule ``scheduleName`` as the session's user: the
    envelope of pause/resume/triggerSchedule."""
    if action not in _ACTIONS:
        raise InvalidArgument(u"action must be one of %s" % u", ".join(
            vocabulary.SCHEDULE_ACTIONS))
    return _ACTIONS[action](scheduleName, user=user, session=session, roles=roles,
                            dbName=dbName)


def _blank(text):
    """A form's empty text field as None (the call's default)."""
    if isinstance(text, compat.string_types) and not text.strip():
        return None
    return text


@guarded
def createSchedule(scheduleName, workflowName, cron, timeZone, inputs, queueName=None,
                   session=None, user=None, roles=None, dbName=None):
    """The Create schedule form: api.schedules.createSchedule as the session's user (one of
    ``adminRoles``). ``inputs``: the form's JSON text of a dict (blank: none); a blank
    ``timeZone`` is UTC, a blank ``queueName`` none. Its envelope and codes (INVALID_INPUTS
    also for text that is not JSON)."""
    return schedules.createSchedule(scheduleName, workflowName, cron,
                                    _blank(timeZone) or vocabulary.UTC, parsedInputs(inputs),
                                    queueName=_blank(queueName), user=user, session=session,
                                    roles=roles, dbName=dbName)
