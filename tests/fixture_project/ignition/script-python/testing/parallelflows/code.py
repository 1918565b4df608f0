"""Workflows of parallel steps (runtime.runParallel) and retry predicates, for
tests/test_parallel_steps.py.

Steps that must finish in a given order wait for each other's checkpoint (a poll of the
step log with a deadline), never for a fixed time; a step that must not finish before the
test says so waits for a gate the test opens (a threading.Event in the globals).
"""
from __future__ import absolute_import, division, print_function

import time

import system

from exchange.workflows.engine.runtime import StepError, recv, runParallel, step, workflow
from testing.flows import DB, crashOnce, note, times


def _recorded(stepName):
    from exchange.workflows.engine.runtime import currentWorkflowId
    return system.db.runScalarPrepQuery(
        "SELECT count(*) FROM workflows.step_outputs WHERE workflow_id = ? AND step_name = ?",
        [currentWorkflowId(), stepName], DB)


def _waitFor(condition, what):
    deadline = time.time() + 20
    while not condition():
        if time.time() > deadline:
            raise RuntimeError("gave up waiting for " + what)
        time.sleep(0.005)


@step
def after_other(label, other, count=1):
    """Finishes only once step ``other`` has been recorded ``count`` times."""
    note("run:" + label)
    _waitFor(lambda: _recorded(other) >= count, other)
    return label


@step
def right_away(label, crash=None):
    note("run:" + label)
    crashOnce(crash, "in-" + label)
    return label


@step
def fails(label):
    note("run:" + label)
    raise ValueError("%s failed" % label)


@step
def at_gate(label, gateName):
    note("run:" + label)
    gate = system.util.getGlobals().get(gateName)
    _waitFor(gate.is_set, gateName)
    note("done:" + label)
    return label


@step(retriesAllowed=True, maxAttempts=4, intervalSeconds=0.01)
def flaky_part(failures):
    note("run:flaky")
    if times("run:flaky") <= failures:
        raise IOError("sensor busy (try %d)" % times("run:flaky"))
    return "flaky"


@workflow
def parallel_all(crash=None):
    """The later call finishes first; then one more step after the group."""
    results = runParallel([(after_other, ["slow", "right_away"]),
                           (right_away, ["fast"], {"crash": crash})])
    crashOnce(crash, "after-group")
    return results + [right_away("after")]


@workflow
def parallel_crash_inside():
    """The third call dies (the executor's crash) while the first two finish."""
    return runParallel([(right_away, ["a"]), (right_away, ["b"]),
                        (right_away, ["c"], {"crash": "in-c"})])


@workflow
def parallel_first(gateName, crash=None):
    """The first call waits at a gate, so the second wins; the run then waits until the
    loser is recorded too."""
    index, value = runParallel([(at_gate, ["loser", gateName]), (right_away, ["winner"])],
                               mode="first")
    crashOnce(crash, "after-first")
    return [index, value, after_other("after", "at_gate")]


@workflow
def parallel_first_then_waits(gateName):
    """The loser waits at a gate while the run goes on and suspends (its thread released):
    the loser's late checkpoint belongs to an ownership that is over."""
    index, value = runParallel([(at_gate, ["loser", gateName]), (right_away, ["winner"])],
                               mode="first")
    return [index, value, recv("go", timeoutSeconds=60)]


@workflow
def parallel_failures():
    """Two of three calls fail: the first in call order is raised, after all finished."""
    try:
        runParallel([(after_other, ["ok", "fails", 2]), (fails, ["early"]), (fails, ["late"])])
    except StepError as error:
        return {"step": error.stepName, "position": error.position,
                "message": error.errorMessage}
    return "no error"


@workflow
def parallel_retries(failures=2):
    return runParallel([(flaky_part, [failures]), (right_away, ["side"])])


class Transient(Exception):
    """An error worth another attempt."""


def _isTransient(error):
    return isinstance(error, Transient)


@step(retriesAllowed=True, maxAttempts=4, intervalSeconds=0.01, retryIf=_isTransient)
def picky(kind):
    note("run:picky")
    if kind == "permanent":
        raise ValueError("recipe R-7 is unknown")
    if times("run:picky") <= 2:
        raise Transient("PLC busy")
    return "done"


@step(retriesAllowed=True, maxAttempts=4, intervalSeconds=0.01,
      retryIf=lambda error: error.retryable)
def predicate_raises():
    note("run:predicate_raises")
    raise KeyError("tank T-3")


@workflow
def predicated(kind="transient"):
    if kind == "raising":
        return predicate_raises()
    return picky(kind)
