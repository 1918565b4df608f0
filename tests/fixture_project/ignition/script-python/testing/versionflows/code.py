"""Workflows of the fork and version tests (tests/test_fork_and_versions.py).

Each step records its side effect (testing.flows.note), so a test counts which steps really
ran in a fork. ``patchable`` calls ``patched`` only when the test turned the "new code" on
(the global PATCH_SWITCH), standing for a code change between two runs.
"""
from __future__ import absolute_import, division, print_function

import system

from exchange.workflows.engine.runtime import patched, recv, setEvent, step, workflow, \
    writeStream
from testing.flows import note

PATCH_SWITCH = "versionflows.patch"


@step
def prepare(n):
    note("prepare")
    return n + 1


@step
def heat(x):
    note("heat")
    return x * 2


@step
def finish(x):
    note("finish")
    return x + 100


@workflow(name="versions.three")
def three(n=1):
    """Positions: 1 prepare, 2 <setEvent>, 3 <writeStream>, 4 heat, 5 <writeStream>,
    6 <setEvent>, 7 finish."""
    a = prepare(n)
    setEvent("phase", "prepared")
    writeStream("log", "a")
    b = heat(a)
    writeStream("log", "b")
    setEvent("phase", "heated")
    return finish(b)


@workflow(name="versions.receiver")
def receiver():
    """Positions: 1 <recv.deadline>, 2 <recv>, 3 <recv.deadline>, 4 <recv>."""
    return [recv("t", 5), recv("t", 5)]


@step
def alpha():
    note("alpha")
    return "alpha"


@step
def betaOld():
    note("beta-old")
    return "old"


@step
def betaNew():
    note("beta-new")
    return "new"


@workflow(name="versions.patchable")
def patchable():
    """Old code: 1 alpha, 2 betaOld. New code: 1 alpha, 2 <patch:beta>, 3 betaNew."""
    first = alpha()
    if system.util.getGlobals().get(PATCH_SWITCH) and patched("beta"):
        return [first, betaNew()]
    return [first, betaOld()]
