"""One dispatch cycle: land in-memory enqueues, claim what this executor has room for and
hand it to the pool.

Called by the gateway timer (fixed delay). It stays short: a bounded flush of the in-memory
queue, one claim statement, then submissions. Capacity is reserved atomically before claiming, so concurrent dispatches (two
projects' timers, a console button) never claim more than the free worker slots; unclaimed
work stays ENQUEUED for other executors. It claims only workflows this interpreter can run.
A submission the pool refuses gives its row back.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db import runs, tx
from exchange.workflows.engine import codec, compat, kernel, memoryqueue, platform, runtime, \
    settings

_UNIQUE_VIOLATION = "23505"


def _logger():
    import system
    return system.util.getLogger("exchange.workflows.dispatcher")


def dispatch(dbName=None):
    """Claim and submit runnable work; returns counters of what this cycle did."""
    dbName = settings.databaseName(dbName)
    k = kernel.getKernel()
    result = {"claimed": 0, "submitted": 0, "released": 0}
    result.update(_flush())
    names = runtime.registeredNames()
    reserved = _reserve(k.inFlight, settings.workerThreads(), settings.claimBatch()) \
        if names else 0
    claimed = []
    try:
        pool = k.pool() if reserved else None  # before the claim: a pool found shut down is
        if reserved:                           # replaced now, not after rows were taken
            claimed = _claim(dbName, k.executorId, reserved, names)
    finally:
        k.inFlight.addAndGet(len(claimed) - reserved)  # give back what was not claimed
    result["claimed"] = len(claimed)
    for workflowId, attempt in claimed:
        if _submit(k, pool, dbName, workflowId, attempt):
            result["submitted"] += 1
        else:
            result["released"] += 1
    result["inFlight"] = k.inFlight.get()
    return result


def _flush():
    """Land the in-memory enqueues of every connection. A failure (those requests stay
    queued) must not stop this executor from claiming work that is already durable, so it
    is logged and reported, not raised; when the database itself is down, the claim below
    fails and says so."""
    result = memoryqueue.flushAll()
    errors = result.pop("errors")
    for name, message in sorted(errors.items()):
        _logger().warn(u"in-memory enqueues for %s not stored yet (%d waiting, kept for the "
                       u"next tick): %s" % (name, memoryqueue.depth(name), message))
    if errors:
        result["flushErrors"] = errors
    return result


def _reserve(inFlight, workerThreads, batch):
    """Atomically take up to ``batch`` free worker slots; how many were taken."""
    while True:
        current = inFlight.get()
        take = min(batch, workerThreads - current)
        if take <= 0:
            return 0
        if inFlight.compareAndSet(current, current + take):
            return take


def _claim(dbName, executorId, limit, names):
    try:
        return runs.claim(dbName, executorId, limit, codec.encode(names))
    except compat.CATCHABLE as error:
        if tx.sqlState(error) == _UNIQUE_VIOLATION:
            return []  # another executor claimed the same partition just now; next tick
        raise


def _submit(k, pool, dbName, workflowId, attempt):
    """Hand one claimed run (its slot already reserved) to the pool; on refusal, give the
    row and the slot back. Never raises, so one bad row cannot strand the rest."""
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

    try:
        platform.submit(pool, task)
        return True
    except compat.CATCHABLE as error:
        inFlight.decrementAndGet()
        _logger().warn(u"workflow %s: submission refused (%s); returning it to the queue"
                       % (workflowId, compat.describeError(error)[0]))
        try:
            tx.retrying(lambda: runs.release(dbName, workflowId, executorId, attempt))
        except compat.CATCHABLE as releaseError:
            _logger().error(u"workflow %s: could not be returned to the queue: %s"
                            % (workflowId, compat.describeError(releaseError)[1]))
        return False
