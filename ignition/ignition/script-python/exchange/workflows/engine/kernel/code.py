"""The JVM-wide state of the engine, kept in the gateway globals.

A project save starts a new interpreter while old threads keep running. So everything that
must be unique per JVM (the executor id, the worker pool, the in-flight counter, the
configuration, the names of user workflow modules) lives in one concurrent map in
``system.util.getGlobals()``, holding platform objects only. ``getKernel()`` builds a fresh
facade over that map on every call, so no Python object of an old interpreter is reused.
"""
from __future__ import absolute_import, division, print_function

import socket
import uuid

from exchange.workflows.engine import platform

KERNEL_KEY = "exchange.workflows.kernel.v1"


def _newExecutorId():
    try:
        host = socket.gethostname()
    except Exception:  # pragma: no cover - hostname lookups do not fail in practice
        host = "unknown"
    return "%s:%s" % (host, uuid.uuid4().hex[:12])


def _createMap():
    state = platform.newConcurrentMap()
    state.put("executorId", _newExecutorId())
    state.put("config", platform.newConcurrentMap())
    state.put("modules", platform.newConcurrentMap())
    state.put("inFlight", platform.newAtomicLong(0))
    state.put("generation", platform.newAtomicLong(1))
    return state


class Kernel(object):
    """A facade over the JVM-wide map; cheap to build, never stored."""

    def __init__(self, state):
        self.state = state
        self.executorId = state.get("executorId")
        self.config = state.get("config")
        self.modules = state.get("modules")
        self.inFlight = state.get("inFlight")
        self.generation = state.get("generation")

    def pool(self):
        """The workflow thread pool, created once per JVM (atomically)."""
        pool = self.state.get("pool")
        if pool is not None:
            return pool
        from exchange.workflows.engine import settings
        candidate = platform.newThreadPool("exchange-workflows", settings.workerThreads())
        existing = self.state.putIfAbsent("pool", candidate)
        if existing is not None:
            platform.shutdownPool(candidate)
            return existing
        return candidate

    def replacePool(self):
        """Install a new pool (after a drain); the old one finishes what it runs and stops."""
        from exchange.workflows.engine import settings
        old = self.state.put("pool", platform.newThreadPool("exchange-workflows",
                                                            settings.workerThreads()))
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
