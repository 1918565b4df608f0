"""Workflows started by schedules (tests/test_schedules.py): one declared in code with
``@schedule``, one that schedules created at run time start. Each returns the tick it was
started for (``scheduledAtMs``)."""
from __future__ import absolute_import, division, print_function

from exchange.workflows.engine.runtime import schedule, workflow


@schedule("0 6 * * *", timeZone="Europe/Zurich", name="morning-report",
          inputs={"label": "morning"})
@workflow
def morning_report(scheduledAtMs=None, label=None):
    return {"scheduledAtMs": scheduledAtMs, "label": label}


@workflow
def scheduled_job(scheduledAtMs=None, label="job"):
    return {"scheduledAtMs": scheduledAtMs, "label": label}


@workflow
def unscheduled_inputs(count):
    return count
