"""Workflows for ``make bench``: steps that do no work, so what is measured is the engine.

Every step returns a small value and touches nothing; the only database work of a run is
the engine's own (claim, start, one checkpoint per step, terminal write).
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.engine.runtime import step, workflow


@step
def tick(index):
    return {"i": index}


@step
def first(value):
    return value + 1


@step
def second(value):
    return value * 2


@step
def third(value):
    return {"value": value}


@workflow
def three_steps(value=0):
    return third(second(first(value)))


@workflow
def noop_steps(n=0):
    last = None
    for index in range(n):
        last = tick(index)
    return {"steps": n, "last": last}
