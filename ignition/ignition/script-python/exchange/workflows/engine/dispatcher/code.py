"""One dispatch cycle: claim what this executor has room for and hand it to the pool.

Called by the gateway timer (fixed delay). It stays short: one claim statement, then
submissions. It claims no more than the free worker capacity, so unclaimed work stays
ENQUEUED for other executors. A submission the pool refuses gives its row back.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db import runs, tx
from exchange.workflows.engine import compat, kernel, platform, settings


def _logger():
    import system
    return system.util.getLogger("exchange.workflows.dispatcher")


def dispatch(dbName=None):
    """Claim and submit runnable work; returns counters of what this cycle did."""
    dbName = settings.databaseName(dbName)
    k = kernel.getKernel()
    free = settings.workerThreads() - k.inFlight.get()
    result = {"claimed": 0, "submitted": 0, "released": 0, "inFlight": k.inFlight.get()}
    if free <= 0:
        return result
    claimed = runs.claim(dbName, k.executorId, min(free, settings.claimBatch()))
    result["claimed"] = len(claimed)
    pool = k.pool() if claimed else None
    for workflowId, attempt in claimed:
        if _submit(k, pool, dbName, workflowId, attempt):
            result["submitted"] += 1
        else:
            result["released"] += 1
    result["inFlight"] = k.inFlight.get()
    return result


def _submit(k, pool, dbName, workflowId, attempt):
    """Hand one claimed run to the pool; on refusal, give the row back to the queue."""
    executorId = k.executorId
    inFlight = k.inFlight

    def task():
        try:
            from exchange.workflows.engine import runner
            runner.execute(dbName, workflowId, executorId, attempt)
        except compat.CATCHABLE as error:
            _logger().error(u"workflow %s: unexpected failure in the runner: %s"
                            % (workflowId, compat.describeError(error)[1]))
        finally:
            inFlight.decrementAndGet()

    inFlight.incrementAndGet()
    try:
        platform.submit(pool, task)
        return True
    except compat.CATCHABLE as error:
        inFlight.decrementAndGet()
        _logger().warn(u"workflow %s: submission refused (%s); returning it to the queue"
                       % (workflowId, compat.describeError(error)[0]))
        tx.retrying(lambda: runs.release(dbName, workflowId, executorId, attempt))
        return False
