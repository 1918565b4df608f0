"""Test workflows of the step library's tag steps (tests/test_plant_tags.py)."""
from __future__ import absolute_import, division, print_function

from exchange.workflows.engine import plant
from exchange.workflows.engine.runtime import StepError, workflow


@workflow
def set_and_confirm(path, value, confirmPath=None, timeoutSeconds=2.0, tolerance=None):
    """Write and confirm; the failed step's code instead of raising it."""
    try:
        return {"value": plant.writeAndConfirm(path, value, confirmPath=confirmPath,
                                               timeoutSeconds=timeoutSeconds,
                                               tolerance=tolerance)}
    except StepError as error:
        return {"code": error.code, "type": error.errorType.rsplit(".", 1)[-1], "attempts": error.attempts}


@workflow
def read_tag(path):
    try:
        return {"value": plant.readTag(path)}
    except StepError as error:
        return {"code": error.code, "attempts": error.attempts}


@workflow
def wait_for_level(path, low, high, forSeconds=0, timeoutSeconds=60):
    return plant.waitForTag(path, "within", low=low, high=high, forSeconds=forSeconds,
                            timeoutSeconds=timeoutSeconds)


@workflow
def fill_until_level(setpoint, level, low, high, forSeconds=0):
    """Open the fill valve, wait (long) for the level band, close it: the wait's result."""
    plant.writeTag(setpoint, 80)
    reached = plant.waitForTag(level, "within", low=low, high=high, forSeconds=forSeconds,
                               timeoutSeconds=60)
    plant.writeTag(setpoint, 0)
    return reached
