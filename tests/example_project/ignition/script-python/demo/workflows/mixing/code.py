"""A mixing batch, as a plant engineer would write it instead of an SFC.

Started from a Perspective button:
    exchange.workflows.api.service.enqueue("mix_batch", inputs={"recipe": "R-100", "batchKg": 500})
Every step is checkpointed: if the gateway restarts during ``mix``, the batch resumes there
without dosing the ingredients a second time.
"""
from __future__ import absolute_import, division, print_function

import time

from exchange.workflows.engine.runtime import step, workflow

RECIPES = {
    "R-100": [("flour", 0.60), ("water", 0.35), ("salt", 0.05)],
    "R-200": [("sugar", 0.50), ("water", 0.50)],
}


@step
def check_unit_ready(unit):
    time.sleep(0.2)  # read interlocks, confirm the vessel is clean and empty
    return {"unit": unit, "ready": True}


@step
def dose(unit, material, kg):
    time.sleep(0.3)  # open the valve, watch the load cell, close at target
    return {"material": material, "targetKg": kg, "actualKg": round(kg * 1.002, 2)}


@step
def mix(unit, minutes):
    time.sleep(0.4)  # run the agitator
    return {"minutes": minutes}


_sampleRequests = {}


@step(retriesAllowed=True, maxAttempts=3, intervalSeconds=0.2, backoffRate=2.0)
def take_sample(unit):
    _sampleRequests[unit] = _sampleRequests.get(unit, 0) + 1
    if _sampleRequests[unit] == 1:
        raise IOError("lab system busy")  # the first request fails; the retry succeeds
    return {"viscosity": 412}


@workflow(timeoutSeconds=3600)
def mix_batch(recipe, batchKg, unit="Mixer-1"):
    check_unit_ready(unit)
    doses = [dose(unit, material, round(batchKg * share, 1))
             for material, share in RECIPES[recipe]]
    mix(unit, 12)
    sample = take_sample(unit)
    return {"recipe": recipe, "doses": doses, "sample": sample}
