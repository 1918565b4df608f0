"""The self-test's ``kernel`` checks (api/selftest): the JVM-wide state in the gateway
globals and the worker pool, including which interpreter's code a pool thread runs a task
with.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.api.selftestchecks import Skipped, expect
from exchange.workflows import compat, platform
from exchange.workflows.engine import kernel

GROUP = "kernel"
TASK_TIMEOUT_MS = 10000   # a pool task that has not run by then: every worker is busy
TEMPORARY_POOL = "exchange-workflows-selftest"


def kernelChecks(report):
    """The kernel group; a temporary pool is shut down at the end."""
    report.run(GROUP, "one kernel per JVM", checkOneKernel)
    report.run(GROUP, "kernel holds Java objects only", checkJavaOnly)
    pool = Pool()
    try:
        report.run(GROUP, "pool runs a task", checkPoolRuns, pool)
        report.run(GROUP, "task runs the submitter's code", checkPoolInterpreter, pool)
    finally:
        pool.close()


def checkOneKernel():
    first, second = kernel.getKernel(), kernel.getKernel()
    expect(first.sharedMap() is second.sharedMap() and first.sharedMap() is
           platform.globalsMap().get(kernel.KERNEL_KEY),
           u"two getKernel() calls gave different maps: the JVM-wide state is not shared")
    expect(first.executorId == second.executorId and
           first.generation.get() == second.generation.get(),
           u"two getKernel() calls disagree on the executor id or generation")
    return u"executor %s, generation %d, created %d s ago" % (
        first.executorId, first.generation.get(),
        (compat.nowMs() - first.createdAtMs) // 1000)


def checkJavaOnly():
    if not compat.IS_JYTHON:
        raise Skipped(u"not on the JVM (%s): no interpreter to pin" % platform.runtimeName())
    k = kernel.getKernel()
    found = platform.pythonObjectsIn(k.sharedMap())
    pool = k.existingPool()
    if pool is not None:
        found += platform.pythonObjectsIn(pool.getThreadFactory(), u"pool.threadFactory")
    expect(not found, u"Python objects that would keep an old interpreter alive: %s"
           % u", ".join(found))
    return u"%d entries, all Java objects" % k.sharedMap().size()


class Pool(object):
    """The pool the checks submit to: this executor's, or in a client (which has none) a
    temporary one of one thread, shut down by ``close``."""

    def __init__(self):
        self.temporary = not kernel.getKernel().isExecutor()
        self.pool = None

    def get(self):
        if self.pool is None:
            self.pool = platform.newThreadPool(TEMPORARY_POOL, 1) if self.temporary \
                else kernel.getKernel().pool()
        return self.pool

    def name(self):
        return u"a temporary pool (this JVM runs no workflows)" if self.temporary \
            else u"this executor's pool"

    def close(self):
        if self.temporary and self.pool is not None:
            platform.shutdownPool(self.pool)


def onPool(pool, function):
    """``function()`` run by a thread of the pool; its value."""
    box = platform.newBoundedQueue(1)

    def task():
        try:
            box.offer((True, function()))
        except compat.CATCHABLE as error:
            box.offer((False, u"%s: %s" % compat.describeError(error)))
    platform.submit(pool.get(), task, TEMPORARY_POOL if pool.temporary else kernel.POOL_NAME)
    deadline = compat.monotonicMs() + TASK_TIMEOUT_MS
    while box.size() == 0:
        expect(compat.monotonicMs() < deadline, u"a task submitted to %s did not run within "
               u"%d s: every worker busy?" % (pool.name(), TASK_TIMEOUT_MS // 1000))
        compat.sleepMs(5)
    done, value = box.poll()
    expect(done, u"the task failed: %s" % (value,))
    return value


def _threadName():
    import threading  # (resolved on the pool thread, by the interpreter that runs the task)
    return compat.toText(threading.current_thread().name)


def checkPoolRuns(pool):
    answer, thread = onPool(pool, lambda: (6 * 7, _threadName()))
    expect(answer == 42, u"the task answered %s, not 42" % compat.shown(answer))
    return u"%s ran it on %s and gave its value back" % (pool.name(), thread)


def modulesSeen(names):
    """The ``sys`` and the modules of those names that the calling thread's interpreter
    imports (a pool thread: the interpreter that runs the task)."""
    import sys as current  # (the calling thread's interpreter's sys, not the importer's)
    return [current] + [current.modules.get(name) for name in names]


def checkPoolInterpreter(pool):
    names = [kernel.__name__, __name__]
    mine = modulesSeen(names)
    theirs = onPool(pool, lambda: modulesSeen(names))
    other = [name for name, a, b in zip(["sys"] + names, mine, theirs) if a is not b]
    expect(not other, u"a pool thread ran this interpreter's task with another interpreter's "
           u"%s: after a project save it would run old code" % u", ".join(other))
    return u"the task saw this interpreter's sys and modules"
