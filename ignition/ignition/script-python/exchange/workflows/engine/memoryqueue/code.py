"""The in-memory fast path: accept starts with no I/O, land them in the database in batches.

Tag event scripts get three shared threads and must return in milliseconds, so
``enqueueInMemory`` only offers one JSON text to a bounded queue kept in the kernel (a Java
queue on a gateway: it survives project saves and is shared by every interpreter). Dispatch
calls ``flush``: one flusher at a time per JVM reads the oldest items without removing them,
inserts them with one statement, and only then removes them, so a database outage keeps
them queued for the next tick instead of losing them.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db import runs, tx
from exchange.workflows.engine import compat, kernel, settings

BATCH_SIZE = 500          # rows per INSERT statement
BATCH_CHARS = 8 * 1024 * 1024  # and at most about this much JSON (inputs may be 1 MiB each)
BATCHES_PER_FLUSH = 10    # a dispatch tick stays short; the rest waits for the next tick


def _logger():
    import system
    return system.util.getLogger("exchange.workflows.memoryqueue")


def offer(dbName, rowJson):
    """Queue one validated run (db.runs.insertBatch's row format); (accepted, depth)."""
    queue = kernel.getKernel().memoryQueue(settings.databaseName(dbName),
                                           settings.memoryQueueCapacity())
    accepted = queue.offer(rowJson)
    return bool(accepted), queue.size()


def depth(dbName=None):
    """How many accepted requests wait for one database connection."""
    queue = kernel.getKernel().memoryQueues.get(settings.databaseName(dbName))
    return 0 if queue is None else queue.size()


def totalDepth():
    """How many accepted requests wait, for every database connection."""
    queues = kernel.getKernel().memoryQueues
    return sum(queues.get(name).size() for name in list(queues.keySet()))


def flushAll():
    """Flush the queue of every database connection that has one (the timer dispatches the
    default connection only, and a request may name another, or the default may have
    changed since it was accepted). A connection's failure is reported in ``errors`` and
    keeps its requests queued; the others still flush."""
    result = {"flushed": 0, "skipped": 0, "refused": 0, "errors": {}}
    for name in sorted(compat.toText(n) for n in kernel.getKernel().memoryQueues.keySet()):
        try:
            counts = flush(name)
        except compat.CATCHABLE as error:
            result["errors"][name] = compat.describeError(error)[1]
            continue
        for key in ("flushed", "skipped", "refused"):
            result[key] += counts[key]
    return result


def flush(dbName=None):
    """Write queued requests to the database; counts of what this call did. Database errors
    (an outage, a missing schema) leave the items not yet written queued and propagate; an
    item whose data the database refuses is logged and dropped so it cannot block the items
    behind it."""
    result = {"flushed": 0, "skipped": 0, "refused": 0}
    k = kernel.getKernel()
    queue = k.memoryQueues.get(settings.databaseName(dbName))
    if queue is None or queue.size() == 0 or not k.flushing.compareAndSet(0, 1):
        return result
    try:
        for _ in range(BATCHES_PER_FLUSH):
            batch = _oldest(queue, BATCH_SIZE, BATCH_CHARS)
            if not batch:
                break
            try:
                _count(runs.insertBatch(dbName, u"[%s]" % u",".join(batch)), len(batch), result)
            except compat.CATCHABLE as error:
                if not _refusesTheData(error):
                    raise
                _landOneByOne(dbName, queue, batch, result)
                continue
            _remove(queue, len(batch))
    finally:
        k.flushing.set(0)
    if result["skipped"]:
        _logger().warn(u"%d in-memory enqueue(s) not stored: their workflow id or active "
                       u"deduplication id already exists" % result["skipped"])
    return result


def _oldest(queue, limit, maxChars):
    """The oldest items (not removed), at most ``limit`` of them and about ``maxChars`` of
    text, but always at least one."""
    items = []
    size = 0
    iterator = queue.iterator()
    while len(items) < limit and iterator.hasNext():
        item = compat.toText(iterator.next())
        if items and size + len(item) > maxChars:
            break
        items.append(item)
        size += len(item)
    return items


def _remove(queue, count):
    for _ in range(count):
        queue.poll()  # the only remover is this flusher: these are the items just written


def _count(landed, written, result):
    result["flushed"] += len(landed)
    result["skipped"] += written - len(landed)


def _refusesTheData(error):
    """A data exception (22) or a constraint violation (23): this row's fault, not the
    database's or the configuration's (those keep every item queued)."""
    state = tx.sqlState(error)
    return state is not None and state[:2] in ("22", "23")


def _landOneByOne(dbName, queue, batch, result):
    """Find the item the database refuses: each item is written (or dropped) and removed on
    its own, so an outage in the middle leaves exactly the unwritten ones queued."""
    for item in batch:
        try:
            _count(runs.insertBatch(dbName, u"[%s]" % item), 1, result)
        except compat.CATCHABLE as error:
            if not _refusesTheData(error):
                raise
            result["refused"] += 1
            _logger().error(u"an in-memory enqueue was refused by the database and dropped: "
                            u"%s; request: %s" % (compat.describeError(error)[1], item))
        _remove(queue, 1)
