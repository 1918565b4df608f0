"""Debounced starts: a burst of calls to one key starts ONE run once the key has been quiet
for its period (the last call's workflow and inputs win), and at the latest ``maxWait``
after the burst's first call.

The pending bursts live in the ``debounces`` table (db.debounces), shared by every gateway
on the database. A button's call is one upsert. A tag event's call touches no database: it
merges into a JVM-wide map in the kernel (one entry per key and connection, JSON text), and
the dispatch tick flushes each entry with one upsert; a failed flush merges the entry back
for the next tick (like enqueueInMemory, what is not flushed dies with the JVM). The tick
then fires due rows: in one short transaction it locks them (``SKIP LOCKED``), deletes each
and inserts its run under the deterministic id ``debounce:<key>:<firstCallMs>``, so two
gateways never start two runs for one burst and a crash in between loses nothing.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db import debounces as statements, runs, tx
from exchange.workflows import codec, codes, compat, platform, settings, validate, vocabulary
from exchange.workflows.engine import faults, kernel, registry, requests
from exchange.workflows.errors import InvalidArgument

MAX_KEY_LENGTH = 150   # "debounce:<key>:<ms>" must fit a workflow id (200)
MEMORY_KEYS = 10000    # pending keys held in memory per connection between two ticks
FIRE_BATCH = 100       # due bursts fired per tick (the rest fire on the next one)
ID_PREFIX = "debounce:"


def _logger():
    return platform.logger("exchange.workflows.debounces")


def workflowIdFor(key, firstCallMs):
    """The id of the run a burst starts: one per key and burst, the same on every gateway."""
    return u"%s%s:%d" % (ID_PREFIX, key, firstCallMs)


def _milliseconds(what, seconds):
    value = int(1000 * validate.number(what, seconds, maximum=settings.MAX_DELAY_SECONDS))
    if value < 1:
        raise InvalidArgument(u"%s must be at least 0.001" % what)
    return value


class Call(object):
    """One validated debounced call: its key and timing, and the run it asks for (an
    engine.requests.Request)."""

    def __init__(self, key, periodSeconds, request, maxWaitSeconds=None):
        self.key = validate.name("key", key, maxLength=MAX_KEY_LENGTH)
        self.periodMs = _milliseconds("periodSeconds", periodSeconds)
        self.maxWaitMs = None if maxWaitSeconds is None \
            else _milliseconds("maxWaitSeconds", maxWaitSeconds)
        if self.maxWaitMs is not None and self.maxWaitMs < self.periodMs:
            raise InvalidArgument(u"maxWaitSeconds (%g) must be at least periodSeconds (%g)"
                                  % (maxWaitSeconds, periodSeconds), codes.DEBOUNCE_MAX_WAIT,
                                  {"key": key})
        self.workflowName = request.workflowName
        self.inputsJson = request.inputsJson
        self.queueName = request.queueName
        self.partitionKey = request.partitionKey
        self.priority = request.priority
        self.calls = 1


def store(dbName, call):
    """The durable path: record the call with one upsert; (firstCallMs, fireAtMs, calls)."""
    first, fireAt, calls = statements.upsert(dbName, call)
    return int(first), int(fireAt), int(calls)


# -- the in-memory path ---------------------------------------------------------------------

_FIELDS = ("workflowName", "inputsJson", "queueName", "partitionKey", "priority", "periodMs",
           "maxWaitMs")


def _entry(call, firstMs, lastMs, calls):
    fields = dict((name, getattr(call, name)) for name in _FIELDS)
    fields.update({"key": call.key, "first": firstMs, "last": lastMs, "calls": calls})
    return codec.encode(fields)


class _Held(object):
    """A call decoded from its in-memory entry (the attributes of a Call)."""

    def __init__(self, text):
        for name, value in codec.decode(compat.toText(text)).items():
            setattr(self, str(name), value)


def _merged(older, newer):
    """One entry of two of the same key: the first call of both, the calls of both, and the
    content of the one called last."""
    late = newer if newer.last >= older.last else older
    return _entry(late, min(older.first, newer.first), late.last, older.calls + newer.calls)


def offer(dbName, call):
    """Merge one call into this JVM's pending entry of its key, without I/O; the calls the
    entry now holds, or None when MEMORY_KEYS other keys are pending already."""
    pending = kernel.getKernel().debounceMap(settings.databaseName(dbName))
    nowMs = compat.nowMs()
    mine = _entry(call, nowMs, nowMs, 1)
    while True:
        old = pending.get(call.key)
        if old is None:
            if pending.size() >= MEMORY_KEYS:
                return None
            if pending.putIfAbsent(call.key, mine) is None:
                return 1
            continue
        held = _Held(old)
        if pending.replace(call.key, old, _merged(held, _Held(mine))):
            return held.calls + 1


def _putBack(pending, taken):
    """Merge an entry the flush took (and could not store) with what arrived since."""
    while True:
        current = pending.get(taken.key)
        if current is None:
            if pending.putIfAbsent(taken.key, _entry(taken, taken.first, taken.last,
                                                     taken.calls)) is None:
                return
            continue
        if pending.replace(taken.key, current, _merged(taken, _Held(current))):
            return


def inMemory():
    """Keys whose calls this JVM holds in memory, not yet flushed, for every connection."""
    maps = kernel.getKernel().debounces
    return sum(maps.get(name).size() for name in list(maps.keySet()))


def flushAll():
    """Store this JVM's in-memory entries of every connection (one upsert each); how many
    were stored. A connection's failure keeps its entries for the next tick and is logged,
    never raised: the durable work of the tick must go on."""
    k = kernel.getKernel()
    stored = 0
    for name in sorted(compat.toText(n) for n in k.debounces.keySet()):
        try:
            stored += _flush(name, k.debounceMap(name))
        except compat.CATCHABLE as error:
            _logger().warn(u"in-memory debounced calls for %s not stored yet (kept for the "
                           u"next tick): %s" % (name, compat.describeError(error)[1]))
    return stored


def _flush(dbName, pending):
    stored = 0
    for key in list(pending.keySet()):
        text = pending.remove(key)
        if text is None:
            continue
        taken = _Held(text)
        try:
            statements.upsert(dbName, taken, (compat.nowMs(), taken.first, taken.last))
        except compat.CATCHABLE:
            _putBack(pending, taken)
            raise
        stored += 1
    return stored


# -- firing ---------------------------------------------------------------------------------

def fire(dbName):
    """Start the runs of due bursts of workflows registered here, in one short transaction
    (opened only when one is due): each row is deleted and its run inserted together.
    Returns how many runs were started."""
    registered, names = registry.namesAndJson()
    if not registered or not statements.anyDue(dbName, names):
        return 0  # (one read, no transaction: the idle tick's case)

    def work(t):
        started = 0
        for row in statements.due(dbName, names, FIRE_BATCH, t):
            started += _fireOne(dbName, row, t)
        return started
    return tx.inTransaction(dbName, work)


def _fireOne(dbName, row, t):
    key, workflowName, inputsText, queueName, partitionKey, priority, first, _last, \
        fireAt, _calls = row
    workflowId = workflowIdFor(key, first)
    try:
        request = requests.Request(workflowName, codec.decode(inputsText), queueName=queueName,
                                   partitionKey=partitionKey, priority=priority,
                                   workflowId=workflowId)
    except InvalidArgument as refused:
        statements.deadLetter(dbName, (key, fireAt, workflowId, settings.appVersion()),
                              vocabulary.REASON_DEBOUNCE_INVALID, refused.args[0], t)
        _logger().error(u"debounced burst %s of %s not started (kept as a dead letter): %s"
                        % (key, workflowName, refused.args[0]))
        return 0
    if not statements.delete(dbName, key, fireAt, t):
        return 0
    faults.point("debounce.after_delete")
    return 1 if runs.insert(dbName, request, t) else 0
