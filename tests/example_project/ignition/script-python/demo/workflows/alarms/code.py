"""An alarm response started from a tag change script.

The tag event script (on the tag, Value Changed). Tag events share three threads and must
return in milliseconds, so it uses the in-memory enqueue (no database call; the next
dispatch stores the request):
    if currentValue.value > 80 and not initialChange:
        exchange.workflows.api.service.enqueueInMemory("respond_to_high_temperature",
            inputs={"tagPath": str(tagPath), "value": currentValue.value})
"""
from __future__ import absolute_import, division, print_function

import time

import system

from exchange.workflows.engine.runtime import step, workflow


@step
def read_context(tagPath):
    values = system.tag.readBlocking([tagPath])
    time.sleep(0.1)
    return {"tagPath": tagPath, "value": values[0].value, "quality": str(values[0].quality)}


@step
def reduce_setpoint(setpointPath, value):
    system.tag.writeBlocking([setpointPath], [value])
    time.sleep(0.1)
    return value


@step
def notify_shift_lead(message):
    time.sleep(0.1)  # e.g. system.net.sendEmail / a notification pipeline
    return {"notified": "shift-lead", "message": message}


@workflow
def respond_to_high_temperature(tagPath, value):
    observed = read_context(tagPath)
    newSetpoint = reduce_setpoint("[default]Plant/Reactor1/Setpoint", 70)
    notify_shift_lead(u"%s reached %s; setpoint lowered to %s" % (tagPath, value, newSetpoint))
    return {"observed": observed, "setpoint": newSetpoint}
