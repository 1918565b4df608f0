"""The seam between the engine and the platform it runs on.

Everything the engine needs from the JVM (thread pools, concurrent maps, atomics, the
gateway-wide globals) comes through here, as Java objects on Jython and as Python
equivalents with the same method names on CPython. Code above this seam is identical
everywhere. Objects created here may be parked in the globals map: on Jython they are pure
Java objects, so they outlive a project save without pinning the old interpreter.
"""
from __future__ import absolute_import, division, print_function

import threading

from exchange.workflows.engine import compat


def globalsMap():
    """The JVM-wide globals dictionary (``system.util.getGlobals()``)."""
    import system
    return system.util.getGlobals()


if compat.IS_JYTHON:  # pragma: no cover - exercised by the Jython suite
    from java.util.concurrent import ConcurrentHashMap, ThreadPoolExecutor, TimeUnit  # novm
    from java.util.concurrent import LinkedBlockingQueue, ThreadFactory  # novm
    from java.util.concurrent.atomic import AtomicLong, AtomicInteger  # novm
    from java.lang import Thread, Runnable  # novm

    def newConcurrentMap():
        """A concurrent map with Java's get/getOrDefault/put/putIfAbsent/remove API."""
        return ConcurrentHashMap()

    def newAtomicLong(value=0):
        """An atomic counter (get/set/incrementAndGet/decrementAndGet/compareAndSet)."""
        return AtomicLong(value)

    class _NamedThreadFactory(ThreadFactory):
        def __init__(self, prefix):
            self.prefix = prefix
            self.counter = AtomicInteger(0)

        def newThread(self, runnable):
            thread = Thread(runnable, "%s-%d" % (self.prefix, self.counter.incrementAndGet()))
            thread.setDaemon(True)
            return thread

    def newThreadPool(name, threads):
        """A fixed pool of named daemon threads."""
        pool = ThreadPoolExecutor(threads, threads, 60, TimeUnit.SECONDS, LinkedBlockingQueue(),
                                  _NamedThreadFactory(name))
        return pool

    class _Task(Runnable):
        def __init__(self, function):
            self.function = function

        def run(self):
            self.function()

    def _asTask(function):
        return _Task(function)

else:
    from concurrent.futures import ThreadPoolExecutor as _PyPool  # novm

    class _PyConcurrentMap(object):
        """Python twin of ConcurrentHashMap's methods the engine uses."""

        def __init__(self):
            self._data = {}
            self._lock = threading.Lock()

        def get(self, key):
            return self._data.get(key)

        def getOrDefault(self, key, default):
            return self._data.get(key, default)

        def put(self, key, value):
            with self._lock:
                previous = self._data.get(key)
                self._data[key] = value
                return previous

        def putIfAbsent(self, key, value):
            with self._lock:
                if key in self._data:
                    return self._data[key]
                self._data[key] = value
                return None

        def remove(self, key):
            with self._lock:
                return self._data.pop(key, None)

        def keySet(self):
            return list(self._data.keys())

        def size(self):
            return len(self._data)

    class _PyAtomicLong(object):
        """Python twin of java.util.concurrent.atomic.AtomicLong."""

        def __init__(self, value=0):
            self._value = value
            self._lock = threading.Lock()

        def get(self):
            return self._value

        def set(self, value):
            with self._lock:
                self._value = value

        def addAndGet(self, delta):
            with self._lock:
                self._value += delta
                return self._value

        def incrementAndGet(self):
            return self.addAndGet(1)

        def decrementAndGet(self):
            return self.addAndGet(-1)

        def compareAndSet(self, expected, value):
            with self._lock:
                if self._value != expected:
                    return False
                self._value = value
                return True

    class _PyPoolFacade(object):
        """A fixed thread pool with the counters ThreadPoolExecutor reports on the JVM."""

        def __init__(self, name, threads):
            self._pool = _PyPool(max_workers=threads, thread_name_prefix=name)
            self._active = _PyAtomicLong(0)

        def execute(self, function):
            def task():
                self._active.incrementAndGet()
                try:
                    function()
                finally:
                    self._active.decrementAndGet()
            return self._pool.submit(task)

        def getActiveCount(self):
            return self._active.get()

        def getPoolSize(self):
            return len(self._pool._threads)

        def shutdown(self):
            self._pool.shutdown(wait=False)

        def getMaximumPoolSize(self):
            return self._pool._max_workers

        def setMaximumPoolSize(self, threads):
            # ThreadPoolExecutor starts threads lazily up to this bound; extra idle threads
            # of a shrunk pool stay parked, and dispatch never gives them more work.
            self._pool._max_workers = threads

        def setCorePoolSize(self, threads):
            pass  # Python pools have no separate core size

    def newConcurrentMap():
        """A concurrent map with Java's get/getOrDefault/put/putIfAbsent/remove API."""
        return _PyConcurrentMap()

    def newAtomicLong(value=0):
        """An atomic counter (get/set/incrementAndGet/decrementAndGet/compareAndSet)."""
        return _PyAtomicLong(value)

    def newThreadPool(name, threads):
        """A fixed pool of named daemon threads."""
        return _PyPoolFacade(name, threads)

    def _asTask(function):
        return function


def submit(pool, function):
    """Run ``function()`` on the pool; raises (RejectedExecutionException on the JVM) when the
    pool is shut down."""
    return pool.execute(_asTask(function))


def activeCount(pool):
    """Threads of the pool busy right now."""
    return pool.getActiveCount()


def poolSize(pool):
    """Threads the pool has started."""
    return pool.getPoolSize()


def shutdownPool(pool):
    """Stop accepting work; running tasks finish."""
    pool.shutdown()


def resizePool(pool, threads):
    """Change the number of threads of a live pool (grow the bound first, shrink it last)."""
    if threads > pool.getMaximumPoolSize():
        pool.setMaximumPoolSize(threads)
        pool.setCorePoolSize(threads)
    else:
        pool.setCorePoolSize(threads)
        pool.setMaximumPoolSize(threads)
