"""The JVM-wide state of the engine, kept in the gateway globals.

A project save starts a new interpreter while old threads keep running. So everything that
must be unique per JVM (the executor id, the worker pool, the in-flight counter, the names
of user workflow modules, the in-memory enqueue queues) lives in one concurrent map in
``system.util.getGlobals()``, holding platform objects only (Java objects on a gateway: no
Python object that would keep an old interpreter alive). ``getKernel()`` answers a facade
over that map, made by this interpreter and kept in this module (never in the map), so no
Python object of an old interpreter is reused. The
configuration sits beside it, in its own map (see settings). What this JVM knows of each
database connection (its lease, its outage) is one record, a map of its own in
``connections`` (``connection(dbName)``).

The kernel is one per JVM, not per project: tag event scripts run in the Gateway Scripting
Project's interpreter, and their ``enqueueInMemory`` must reach the same queue the
workflows project's timer flushes.
"""
from __future__ import absolute_import, division, print_function

import uuid

from exchange.workflows import compat, platform, settings

KERNEL_KEY = "exchange.workflows.kernel.v1"
_ownToken = None  # this interpreter's token, set when its onStartup ran (see Kernel)
POOL_NAME = "exchange-workflows"
STEP_POOL_NAME = "exchange-workflows-steps"


def _newExecutorId():
    return "%s:%s" % (platform.hostName(), uuid.uuid4().hex[:12])


# "trackingSince" of a kernel this library version created: before any monotonic time
# (System.nanoTime may be negative), i.e. every run this JVM claimed was tracked.
TRACKED_FROM_THE_START = -(2 ** 62)
# ... of a kernel an older version (that did not track its runs) created, until this
# version's first onStartup sets it to that moment: runs claimed before are never judged.
TRACKED_FROM_STARTUP = 2 ** 62

# What a kernel holds besides the pool, and how each entry is made. A kernel left by an older
# library version gains the entries it lacks on first use (putIfAbsent), so an upgrade by a
# project save keeps the executor id and the pool. Every entry is an attribute of the facade
# (the Java object itself), except those a method reads and writes (_BY_METHOD).
_ENTRIES = (
    ("executorId", _newExecutorId),
    ("modules", platform.newConcurrentMap),
    ("inFlight", lambda: platform.newAtomicLong(0)),
    ("generation", lambda: platform.newAtomicLong(1)),
    ("memoryQueues", platform.newConcurrentMap),
    ("memoryBatches", platform.newConcurrentMap),   # per connection: the batch being stored
    ("memoryDropped", platform.newConcurrentMap),   # per connection: dropped by an overflow
    ("droppedUnrecorded", lambda: platform.newAtomicLong(0)),
    ("flushing", lambda: platform.newAtomicLong(0)),
    ("claiming", lambda: platform.newAtomicLong(0)),     # one claimer at a time per JVM
    ("claimWanted", lambda: platform.newAtomicLong(0)),  # a claim was asked for meanwhile
    ("backlog", lambda: platform.newAtomicLong(1)),      # the last claim saw queued work
    ("limitedSeen", lambda: platform.newAtomicLong(0)),  # ... in a limited queue
    ("createdAtMs", compat.nowMs),
    ("interpreter", lambda: ""),  # the token of the interpreter that ran onStartup last
    ("running", platform.newConcurrentMap),      # "dbName|workflowId" -> attempt run here
    ("leaseEpoch", lambda: platform.newAtomicLong(0)),  # bumped when our lease had lapsed
    # monotonic ms since when "running" tracks this JVM's runs: always, for a kernel this
    # version created; over an older version's kernel, from this version's first onStartup
    # (becomeCurrentInterpreter): runs claimed before then (by an older version's threads,
    # which may still run them) are never taken for orphans
    ("trackingSince", lambda: platform.newAtomicLong(TRACKED_FROM_THE_START)),
    ("executes", lambda: False),  # onStartup made this JVM an executor (isExecutor)
    # dbName -> that connection's record (a map: see Connection). An older version kept
    # these per-connection facts in six maps of their own, which this one ignores: it
    # derives them afresh (registers again, beats, starts counting suspects and outages anew).
    ("connections", platform.newConcurrentMap),
    # engine.plant's tag waits: "db|run|position" -> monotonic ms since its condition holds;
    # the tag waits suspended here so far, and how many the tick's last empty look had seen
    # and until when (monotonic ms) it need not look again
    ("tagHolds", platform.newConcurrentMap),
    ("tagWaitsBegun", lambda: platform.newAtomicLong(0)),
    ("tagScanSeen", lambda: platform.newAtomicLong(-1)),
    ("tagScanAtMs", lambda: platform.newAtomicLong(0)),
    # engine.debounces: dbName -> (debounce key -> the JSON text of the calls this JVM took
    # since the last flush)
    ("debounces", platform.newConcurrentMap),
    # hand-overs under way, finishing and sleeping workers' (engine.dispatcher; any number)
    ("handingOver", lambda: platform.newAtomicLong(0)),
    # (a new entry goes last: a map lacking the last one is completed at once, see getKernel)
)
_NEWEST = _ENTRIES[-1][0]
_BY_METHOD = ("interpreter", "executes")  # (and "pool", "stepPool", "started", ...)
_ATTRIBUTES = tuple(name for name, _make in _ENTRIES if name not in _BY_METHOD)


def _createMap():
    state = platform.newConcurrentMap()
    for key, make in _ENTRIES:
        state.put(key, make())
    return state


def _complete(state):
    """Add what a kernel of an older library version lacks (its runs were not tracked:
    tracking starts at this version's first onStartup)."""
    for key, make in _ENTRIES:
        if state.get(key) is None:
            state.putIfAbsent(key, platform.newAtomicLong(TRACKED_FROM_STARTUP)
                              if key == "trackingSince" else make())


def entryNames():
    """The names of the kernel's entries, oldest first (a test stands in for a kernel of an
    older version by removing the newest ones)."""
    return [name for name, _make in _ENTRIES]


def _getOrCreate(entries, key, make):
    """The value of ``key`` in a concurrent map, created once (atomically) on first use."""
    found = entries.get(key)
    if found is None:
        candidate = make()
        found = entries.putIfAbsent(key, candidate)
        if found is None:  # (never `or`: an empty Java queue or map is false in Jython)
            found = candidate
    return found


def _entry(name):
    return property(lambda self: self._state.get(name),
                    doc=u"the kernel's entry %s (see _ENTRIES)" % name)


class Kernel(object):
    """A facade over the JVM-wide map; cheap to build, kept by this interpreter only (it
    holds no state of its own). Each entry is an attribute or a method, and nothing else
    is: a misspelt name raises AttributeError."""

    __slots__ = ("_state",)

    def __init__(self, state):
        # a kernel of an older library version lacks entries (whichever: made once per
        # interpreter, the facade checks them all)
        if any(state.get(key) is None for key, _make in _ENTRIES):
            _complete(state)
        self._state = state

    @property
    def config(self):
        """The configuration map, kept beside the kernel (see settings)."""
        return settings.configMap()

    def sharedMap(self):
        """The map itself, for checks of it as a whole (shared, Java objects only); entries
        are read through the attributes and methods."""
        return self._state

    def connection(self, dbName):
        """This JVM's record of one database connection (its lease and its outage)."""
        return Connection(_getOrCreate(self.connections, dbName, platform.newConcurrentMap))

    def pool(self):
        """The workflow thread pool, created once per JVM (atomically). A pool found shut down
        (by an administrator, or a swap that raced us) is replaced, again atomically."""
        return self._livePool("pool", POOL_NAME)

    def stepPool(self):
        """The pool of parallel steps (engine.parallel), made as the workflow pool is: as
        many threads, apart from it, so a workflow waiting for its parallel steps never
        waits for a workflow thread."""
        return self._livePool("stepPool", STEP_POOL_NAME)

    def existingStepPool(self):
        """The pool of parallel steps, or None while no workflow ran steps in parallel."""
        return self._state.get("stepPool")

    def _livePool(self, key, name):
        while True:
            pool = self._state.get(key)
            if pool is not None and not platform.isShutdown(pool):
                return pool
            candidate = platform.newThreadPool(name, settings.workerThreads())
            if pool is None:
                won = self._state.putIfAbsent(key, candidate) is None
            else:
                won = self._state.replace(key, pool, candidate)
            if won:
                return candidate
            platform.shutdownPool(candidate)

    def lookout(self):
        """The lookout's scheduler (engine.lookout), or None while none runs."""
        return self._state.get("lookout")

    def lookoutIsOurs(self):
        """Whether the lookout was started by this interpreter (the current one or not)."""
        return self._state.get("lookoutBy") == _ownToken and _ownToken is not None

    def lookoutRuns(self):
        """Whether a lookout this interpreter started runs (it makes the retention pass)."""
        current = self._state.get("lookout")
        return current is not None and not platform.isShutdown(current) \
            and self.lookoutIsOurs()

    def swapLookout(self, old, new):
        """Install ``new`` (None: none) in place of ``old``, atomically; True when done. The
        interpreter that swaps owns the lookout from then on."""
        if old is None:
            done = new is not None and self._state.putIfAbsent("lookout", new) is None
        elif new is None:
            done = self._state.remove("lookout", old)
        else:
            done = self._state.replace("lookout", old, new)
        if done and new is not None:
            self._state.put("lookoutBy", _ownToken)
        return bool(done)

    def existingPool(self):
        """The workflow thread pool, or None while none was made (a client never makes one)."""
        return self._state.get("pool")

    def claimsUnderWay(self):
        """Claims under way on this JVM, the claimer's and the finishing or sleeping
        workers' hand-overs (whose runs are not tracked yet)."""
        return self.claiming.get() + self.handingOver.get()

    def poolActive(self):
        """Threads of the workflow pool busy right now (0 while none was made)."""
        pool = self.existingPool()
        return platform.activeCount(pool) if pool is not None else 0

    def memoryQueue(self, dbName, capacity):
        """The in-memory enqueue queue of one database connection, created once per JVM."""
        return self.sharedQueue(self.memoryQueues, dbName, capacity)

    def sharedQueue(self, queues, dbName, capacity):
        """A bounded queue of one database connection kept in one of the kernel's maps."""
        return _getOrCreate(queues, dbName, lambda: platform.newBoundedQueue(capacity))

    def debounceMap(self, dbName):
        """The in-memory debounced calls of one database connection, created once per JVM."""
        return _getOrCreate(self.debounces, dbName, platform.newConcurrentMap)

    def noteStarted(self):
        """True on the first onStartup in this JVM, False on every later one (a project
        save runs it again)."""
        return self._state.putIfAbsent("started", True) is None

    def noteWarnedNotExecutor(self):
        """True the first time dispatch warns that this JVM is no executor, then False."""
        return self._state.putIfAbsent("warnedNotExecutor", True) is None

    def becomeCurrentInterpreter(self, executes=True):
        """Called by onStartup: this interpreter is now the one whose code runs new work, and
        this JVM runs workflows (unless ``executes`` is False: a gateway that only serves
        sessions). Threads of an interpreter a project save replaced see another token and
        leave new work to the timer of the current one."""
        global _ownToken
        _ownToken = uuid.uuid4().hex
        self._state.put("executes", bool(executes))
        self._state.put("interpreter", _ownToken)
        # over an older version's kernel, claims are tracked from this first start on (an
        # older version's interpreter claims nothing once this one is current)
        self.trackingSince.compareAndSet(TRACKED_FROM_STARTUP, compat.monotonicMs())

    def isCurrentInterpreter(self):
        """True when onStartup ran in this interpreter and in no other since (a Script
        Console, a Vision client, a script off the gateway never ran it: not current)."""
        token = self._state.get("interpreter")
        return bool(token) and token == _ownToken

    def isExecutor(self):
        """Whether this interpreter claims, registers an executor and runs workflow bodies:
        only after the startup script of this JVM called onStartup here (and did not opt
        out). Everywhere else the API only writes requests and commands."""
        return self.isCurrentInterpreter() and bool(self._state.get("executes"))

    def replacePool(self):
        """Install a new pool (after a drain); the old one finishes what it runs and stops."""
        old = self._state.put("pool", platform.newThreadPool(POOL_NAME, settings.workerThreads()))
        if old is not None:
            platform.shutdownPool(old)
        return self.generation.incrementAndGet()


for _name in _ATTRIBUTES:
    setattr(Kernel, _name, _entry(_name))
del _name


def _field(name, doc):
    """A Connection attribute kept in its map; None removes it (a Java map holds no null)."""
    def write(self, value):
        if value is None:
            self._fields.remove(name)
        else:
            self._fields.put(name, value)
    return property(lambda self: self._fields.get(name), write, doc=doc)


class Connection(object):
    """This JVM's facts about one database connection: a facade over one Java map in the
    kernel's ``connections``, cheap to build, never stored. Read and written by
    engine.leases (the lease) and engine.outages (the backoff)."""

    __slots__ = ("_fields",)

    registered = _field("registered", "True once this executor's row exists there")
    beatMs = _field("beatMs", "the monotonic ms the last renewing heartbeat was sent")
    suspects = _field("suspects", "own claims the last heartbeat found running nowhere "
                                  "here (JSON text of workflowId#attempt)")
    superseded = _field("superseded", "who took this executor's name over, or stopped: "
                                      "while set it claims nothing (a registration clears it)")
    unregisteredOwners = _field("unregisteredOwners", "how many owners without an executor "
                                                      "row the last heartbeat saw")
    outage = _field("outage", "the record of an outage, as JSON text (engine.outages)")

    def __init__(self, fields):
        self._fields = fields

    def supersede(self, by):
        """Record who took over (or "stopped") unless it is known already; True when this
        call recorded it."""
        return self._fields.putIfAbsent("superseded", by) is None


_facade = [None]  # the last facade made, reused while the globals hold its map


def getKernel():
    """The kernel of this JVM, created on first use; safe to call from any thread. The
    facade is made once per map (a hot path calls this often): a new map (the globals were
    reset) or one lacking this version's entries makes a new one."""
    store = platform.globalsMap()
    state = store.get(KERNEL_KEY)
    if state is None:
        state = store.setdefault(KERNEL_KEY, _createMap())
    facade = _facade[0]
    if facade is not None and facade._state is state and state.get(_NEWEST) is not None:
        return facade
    facade = Kernel(state)
    _facade[0] = facade
    return facade
