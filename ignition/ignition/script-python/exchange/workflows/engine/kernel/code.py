"""The JVM-wide state of the engine, kept in the gateway globals.

A project save starts a new interpreter while old threads keep running. So everything that
must be unique per JVM (the executor id, the worker pool, the in-flight counter, the names
of user workflow modules, the in-memory enqueue queues) lives in one concurrent map in ``system.util.getGlobals()``, holding platform objects only (Java objects
on a gateway: no Python object that would keep an old interpreter alive). ``getKernel()``
builds a fresh facade over that map on every call, so no Python object of an old interpreter
is reused. The configuration sits beside it, in its own map (see settings).

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
# project save keeps the executor id and the pool.
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
    ("registered", platform.newConcurrentMap),   # dbName -> True once our row exists there
    ("beats", platform.newConcurrentMap),        # dbName -> monotonic ms of the last renewal
    ("suspects", platform.newConcurrentMap),     # dbName -> own claims nothing here runs
    ("superseded", platform.newConcurrentMap),   # dbName -> who took our name over
    ("leaseEpoch", lambda: platform.newAtomicLong(0)),  # bumped when our lease had lapsed
    ("outages", platform.newConcurrentMap),      # dbName -> its outage (engine.outages)
    ("unregistered", platform.newConcurrentMap),  # dbName -> owners seen without a lease
    # monotonic ms since when "running" tracks this JVM's runs: always, for a kernel this
    # version created; over an older version's kernel, from this version's first onStartup
    # (becomeCurrentInterpreter): runs claimed before then (by an older version's threads,
    # which may still run them) are never taken for orphans
    ("trackingSince", lambda: platform.newAtomicLong(TRACKED_FROM_THE_START)),
    ("executes", lambda: False),  # onStartup made this JVM an executor (isExecutor)
)
_NEWEST = _ENTRIES[-1][0]


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


class Kernel(object):
    """A facade over the JVM-wide map; cheap to build, never stored."""

    def __init__(self, state):
        if state.get(_NEWEST) is None:  # a kernel of an older library version
            _complete(state)
        self.state = state
        self.executorId = state.get("executorId")
        self.config = settings.configMap()  # kept beside the kernel (see settings)
        self.modules = state.get("modules")
        self.inFlight = state.get("inFlight")
        self.generation = state.get("generation")
        self.memoryQueues = state.get("memoryQueues")
        self.flushing = state.get("flushing")
        self.claiming = state.get("claiming")
        self.claimWanted = state.get("claimWanted")
        self.backlog = state.get("backlog")
        self.limitedSeen = state.get("limitedSeen")
        self.running = state.get("running")
        self.leaseEpoch = state.get("leaseEpoch")

    def pool(self):
        """The workflow thread pool, created once per JVM (atomically). A pool found shut down
        (by an administrator, or a swap that raced us) is replaced, again atomically."""
        while True:
            pool = self.state.get("pool")
            if pool is not None and not platform.isShutdown(pool):
                return pool
            candidate = platform.newThreadPool(POOL_NAME, settings.workerThreads())
            if pool is None:
                won = self.state.putIfAbsent("pool", candidate) is None
            else:
                won = self.state.replace("pool", pool, candidate)
            if won:
                return candidate
            platform.shutdownPool(candidate)

    def memoryQueue(self, dbName, capacity):
        """The in-memory enqueue queue of one database connection, created once per JVM."""
        return self.sharedQueue("memoryQueues", dbName, capacity)

    def sharedQueue(self, mapName, dbName, capacity):
        """A bounded queue of one database connection kept in one of the kernel's maps."""
        queues = self.state.get(mapName)
        queue = queues.get(dbName)
        if queue is None:
            candidate = platform.newBoundedQueue(capacity)
            queue = queues.putIfAbsent(dbName, candidate)
            if queue is None:  # (never `or`: an empty Java queue is false in Jython)
                queue = candidate
        return queue

    def becomeCurrentInterpreter(self, executes=True):
        """Called by onStartup: this interpreter is now the one whose code runs new work, and
        this JVM runs workflows (unless ``executes`` is False: a gateway that only serves
        sessions). Threads of an interpreter a project save replaced see another token and
        leave new work to the timer of the current one."""
        global _ownToken
        _ownToken = uuid.uuid4().hex
        self.state.put("executes", bool(executes))
        self.state.put("interpreter", _ownToken)
        # over an older version's kernel, claims are tracked from this first start on (an
        # older version's interpreter claims nothing once this one is current)
        self.state.get("trackingSince").compareAndSet(TRACKED_FROM_STARTUP,
                                                      compat.monotonicMs())

    def isCurrentInterpreter(self):
        """True when onStartup ran in this interpreter and in no other since (a Script
        Console, a Vision client, a script off the gateway never ran it: not current)."""
        token = self.state.get("interpreter")
        return bool(token) and token == _ownToken

    def isExecutor(self):
        """Whether this interpreter claims, registers an executor and runs workflow bodies:
        only after the startup script of this JVM called onStartup here (and did not opt
        out). Everywhere else the API only writes requests and commands."""
        return self.isCurrentInterpreter() and bool(self.state.get("executes"))

    def replacePool(self):
        """Install a new pool (after a drain); the old one finishes what it runs and stops."""
        old = self.state.put("pool", platform.newThreadPool(POOL_NAME, settings.workerThreads()))
        if old is not None:
            platform.shutdownPool(old)
        return self.generation.incrementAndGet()


def getKernel():
    """The kernel of this JVM, created on first use; safe to call from any thread."""
    store = platform.globalsMap()
    state = store.get(KERNEL_KEY)
    if state is None:
        state = store.setdefault(KERNEL_KEY, _createMap())
    return Kernel(state)
