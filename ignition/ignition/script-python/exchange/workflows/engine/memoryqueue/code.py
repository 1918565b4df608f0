"""The in-memory fast path: accept starts with no I/O, land them in the database in batches.

Tag event scripts get three shared threads and must return in milliseconds, so
``enqueueInMemory`` only offers one JSON text to a bounded queue kept in the kernel (a Java
queue on a gateway: it survives project saves and is shared by every interpreter). When the
queue is full, the request is refused, or (policy dropOldest) the oldest waiting request
makes room and is kept as a dead letter.

Dispatch calls ``flush``: one flusher at a time per JVM moves the oldest requests into the
connection's batch holder, inserts them with one statement, and only then empties the
holder. A database outage leaves the batch in its holder and the rest in the queue, for the
next tick: nothing accepted is lost while the JVM lives, and a request being stored can
never be dropped by an overflow. A request the database will not take (a conflict, data it
refuses) becomes a dead letter with the reason; the rest of its batch lands.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db import deadletters, runs, tx
from exchange.workflows import codec, compat, platform, settings, vocabulary
from exchange.workflows.engine import kernel

BATCH_SIZE = 500          # rows per INSERT statement
BATCH_CHARS = 8 * 1024 * 1024  # and at most about this much JSON (inputs may be 1 MiB each)
BATCHES_PER_FLUSH = 10    # a dispatch tick stays short; the rest waits for the next tick
DROPPED_CAPACITY = 10000  # dropped requests waiting to become dead letters, per connection


def _logger():
    return platform.logger("exchange.workflows.memoryqueue")


def offer(dbName, rowJson, overflowPolicy):
    """Queue one validated run (db.runs.insertBatch's row format).

    Returns (accepted, depth, droppedJson): droppedJson is the request the dropOldest
    policy pushed out to make room (None when nothing was dropped)."""
    name = settings.databaseName(dbName)
    k = kernel.getKernel()
    queue = k.memoryQueues.get(name)  # (the capacity is read only to make the queue)
    if queue is None:
        queue = k.memoryQueue(name, settings.memoryQueueCapacity())
    dropped = None
    while not queue.offer(rowJson):
        if overflowPolicy != settings.OVERFLOW_DROP_OLDEST:
            return False, queue.size(), None
        oldest = queue.poll()
        if oldest is not None:
            dropped = compat.toText(oldest)
            _keepDropped(k, name, dropped)
    return True, queue.size(), dropped


def _keepDropped(k, name, rowJson):
    """Hold a dropped request until the next flush makes it a dead letter (bounded too: past
    DROPPED_CAPACITY only a count is kept, and logged)."""
    held = k.sharedQueue(k.memoryDropped, name, DROPPED_CAPACITY)
    if not held.offer(rowJson):
        k.droppedUnrecorded.incrementAndGet()


def depth(dbName=None):
    """How many accepted requests wait for one database connection (queued and in the batch
    being stored)."""
    name = settings.databaseName(dbName)
    k = kernel.getKernel()
    return sum(_size(queues, name) for queues in (k.memoryQueues, k.memoryBatches))


def _size(queues, name):
    queue = queues.get(name)
    return 0 if queue is None else queue.size()


def totalDepth():
    """How many accepted requests wait, for every database connection."""
    queues = kernel.getKernel().memoryQueues
    return sum(depth(compat.toText(name)) for name in list(queues.keySet()))


def droppedWaiting():
    """Dropped requests not yet written as dead letters, for every connection."""
    held = kernel.getKernel().memoryDropped
    return sum(held.get(name).size() for name in list(held.keySet()))


def flushAll():
    """Flush the queue of every database connection that has one (the timer dispatches the
    default connection only, and a request may name another, or the default may have
    changed since it was accepted). A connection's failure is reported in ``errors`` and
    keeps its requests queued; the others still flush."""
    result = _counts()
    result["errors"] = {}
    for name in sorted(compat.toText(n) for n in kernel.getKernel().memoryQueues.keySet()):
        try:
            counts = flush(name)
        except compat.CATCHABLE as error:
            result["errors"][name] = compat.describeError(error)[1]
            continue
        for key in counts:
            result[key] += counts[key]
    return result


def _counts():
    return {"flushed": 0, "deadLettered": 0, "deduplicated": 0}


def flush(dbName=None):
    """Write queued requests of one connection to the database; counts of what this call
    did. Database errors (an outage, a missing schema) leave the requests not yet written
    queued and propagate."""
    result = _counts()
    name = settings.databaseName(dbName)
    k = kernel.getKernel()
    if k.memoryQueues.get(name) is None or not k.flushing.compareAndSet(0, 1):
        return result
    try:
        queue = k.memoryQueues.get(name)
        batch = k.sharedQueue(k.memoryBatches, name, BATCH_SIZE)
        for _ in range(BATCHES_PER_FLUSH):
            if batch.size() == 0:
                _fill(queue, batch)
            items = [compat.toText(item) for item in _items(batch)]
            if not items:
                break
            _store(name, batch, items, result)
        _storeDropped(k, name)
    finally:
        k.flushing.set(0)
    return result


def _fill(queue, batch):
    """Move the oldest requests into the batch holder: at most BATCH_SIZE and about
    BATCH_CHARS of text, but always at least one."""
    size = 0
    while batch.size() < BATCH_SIZE:
        item = queue.peek()
        if item is None or (size and size + len(item) > BATCH_CHARS):
            return
        item = queue.poll()  # what we peeked, or its successor if an overflow dropped it
        if item is None:
            return
        batch.offer(item)
        size += len(item)


def _items(queue):
    items = []
    iterator = queue.iterator()
    while iterator.hasNext():
        items.append(iterator.next())
    return items


def _clear(batch, count):
    for _ in range(count):
        batch.poll()


def _store(name, batch, items, result):
    """Insert one batch; a batch the database refuses as a whole is stored one by one."""
    try:
        landed, dead = runs.insertBatch(name, u"[%s]" % u",".join(items), compat.nowMs())
    except compat.CATCHABLE as error:
        if not _refusesTheData(error):
            raise
        for item in items:
            _storeOne(name, item, result)
            _clear(batch, 1)
        return
    _clear(batch, len(items))
    _count(result, len(items), landed, dead)


def _count(result, written, landed, dead):
    result["flushed"] += landed
    result["deadLettered"] += dead
    result["deduplicated"] += written - landed - dead
    if dead:
        _logger().warn(u"%d in-memory enqueue(s) not started: their workflow id or active "
                       u"deduplication id was taken; see the dead letters" % dead)


def _storeOne(name, item, result):
    try:
        landed, dead = runs.insertBatch(name, u"[%s]" % item, compat.nowMs())
    except compat.CATCHABLE as error:
        if not _refusesTheData(error):
            raise
        message = u"the database refused the request (SQLSTATE %s): %s" % (
            tx.sqlState(error), compat.describeError(error)[1])
        _deadLetter(name, item, vocabulary.REASON_REFUSED, message)
        _logger().error(u"an in-memory enqueue was refused by the database and kept as a "
                        u"dead letter: %s" % message)
        result["deadLettered"] += 1
        return
    _count(result, 1, landed, dead)


def _deadLetter(name, item, reason, message):
    """Write one request as a dead letter, whatever its text holds."""
    try:
        fields = codec.decode(item) or {}
    except compat.CATCHABLE:
        fields = {}
    deadletters.insert(name, fields, reason, message, item)


def _storeDropped(k, name):
    """Requests an overflow dropped become dead letters (the oldest first, a bounded number
    per tick); an outage keeps them for the next tick."""
    held = k.memoryDropped.get(name)
    for _ in range(BATCH_SIZE if held is not None else 0):
        item = held.peek()
        if item is None:
            break
        _deadLetter(name, compat.toText(item), vocabulary.REASON_DROPPED_OLDEST,
                    u"the in-memory queue was full and its overflow policy is dropOldest")
        held.poll()
    lost = k.droppedUnrecorded.getAndSet(0)
    if lost:
        _logger().error(u"%d dropped in-memory enqueue(s) could not even be kept as dead "
                        u"letters (more than %d waited)" % (lost, DROPPED_CAPACITY))


def _refusesTheData(error):
    """A data exception (22) or a constraint violation (23): this row's fault, not the
    database's or the configuration's (those keep every item queued)."""
    state = tx.sqlState(error)
    return state is not None and state[:2] in ("22", "23")
