"""The seam between the engine and the platform it runs on.

Everything the engine needs from the JVM (thread pools, concurrent maps, atomics, the
gateway-wide globals) comes through here, as Java objects on Jython and as Python
equivalents with the same method names on CPython. Code above this seam is identical
everywhere. Objects created here may be parked in the globals map: on Jython they are pure
Java objects, so they outlive a project save without pinning the old interpreter.
"""
from __future__ import absolute_import, division, print_function

import collections
import heapq
import os
import platform as _platform
import socket
import sys
import threading

from exchange.workflows import compat, validate


_getGlobals = []  # system.util.getGlobals, bound on first use (hot: every kernel read)


def globalsMap():
    """The JVM-wide globals dictionary (``system.util.getGlobals()``)."""
    if not _getGlobals:
        import system  # (gateway only: imported when called, so the module loads anywhere)
        _getGlobals.append(system.util.getGlobals)
    return _getGlobals[0]()


# Workflow ids (newId): UUID-shaped text (version 4, variant bits), unique without a random
# draw per id (uuid4 costs 5 us on CPython and 10-20 us on Jython, on a tag event thread).
# The first 48 bits are a counter scrambled by a bijection (times an odd constant, modulo
# 2^48, xor random bits), so ids of one load never repeat and still differ at a glance; the
# other 74 bits are random, drawn once per module load (a project save draws anew): two
# loads share them with odds of 2^-74 (2^-37 by the birthday bound over all loads ever).
_ID_RANDOM = int(u"".join(u"%02x" % byte for byte in bytearray(os.urandom(16))), 16)
_ID_MASK = (1 << 48) - 1
_ID_SCRAMBLE = 0x9E3779B97F4B & _ID_MASK | 1   # odd: multiplying by it is a bijection
_ID_XOR = _ID_RANDOM >> 80 & _ID_MASK
_ID_HIGH = 0x4000 | (_ID_RANDOM & 0xFFF)                         # version 4, 12 random bits
_ID_LOW = (0x8000 | (_ID_RANDOM >> 12 & 0x3FFF)) << 48 | (_ID_RANDOM >> 26 & _ID_MASK)


def _idBits(count):
    """The first 48 bits of the id numbered ``count`` (distinct counts: distinct bits)."""
    return ((count * _ID_SCRAMBLE) & _ID_MASK) ^ _ID_XOR


def logger(name):
    """The gateway's logger of that name (``system.util.getLogger``): each module names its
    own, and docs/operations.md lists them."""
    import system  # (gateway only: imported when called, so the module loads anywhere)
    return system.util.getLogger(name)


def warnOncePerKind(log, warned, kind, text):
    """Log ``text`` as a warning the first time ``kind`` is met (``warned``: the kinds met
    so far, kept by the caller per interpreter), then at debug level: a failure that comes
    back on every call is said once, not on every call."""
    if kind in warned:
        log.debug(text)
    else:
        warned.add(kind)
        log.warn(text + u" (this kind of failure is logged once as a warning)")


if compat.IS_JYTHON:  # pragma: no cover - exercised by the Jython suite
    from java.lang import Runnable, System, Thread  # novm
    from java.lang.management import ManagementFactory  # novm
    from java.util import Map  # novm
    from java.util.concurrent import ConcurrentHashMap, Executors, LinkedBlockingQueue  # novm
    from java.util.concurrent import ScheduledThreadPoolExecutor, ThreadPoolExecutor  # novm
    from java.util.concurrent import TimeUnit  # novm
    from java.util.concurrent.atomic import AtomicLong  # novm

    def newConcurrentMap():
        """A concurrent map with Java's get/getOrDefault/put/putIfAbsent/remove API."""
        return ConcurrentHashMap()

    def newAtomicLong(value=0):
        """An atomic counter (get/set/incrementAndGet/decrementAndGet/compareAndSet)."""
        return AtomicLong(value)

    from java.util import UUID  # novm
    _idCount = AtomicLong(0)
    _ID_LSB = _ID_LOW - (1 << 64)  # (as a signed long: the variant's top bit is set)

    def newId():
        """A fresh workflow id (see _ID_RANDOM), made by java.util.UUID (1 us)."""
        high = _idBits(_idCount.incrementAndGet()) << 16 | _ID_HIGH
        return UUID(high - (1 << 64) if high >> 63 else high, _ID_LSB).toString()

    def newBoundedQueue(capacity):
        """A FIFO queue of at most ``capacity`` items (offer/poll/peek/size/iterator)."""
        return LinkedBlockingQueue(capacity)

    def newKeySet():
        """A concurrent set (add/remove/contains/size)."""
        return ConcurrentHashMap.newKeySet()

    def _threadFactory(name):
        """A thread factory made of Java classes only, so the pool it serves (parked in the
        globals) keeps no interpreter alive. Guava's builder ships with Ignition; Java 21 has
        Thread.Builder; otherwise the JDK's default factory, and tasks name their thread."""
        try:
            # (Guava ships with Ignition: elsewhere the import fails, and we fall back)
            from com.google.common.util.concurrent import ThreadFactoryBuilder  # novm
            return ThreadFactoryBuilder().setNameFormat(name + "-%d").setDaemon(True).build()
        except compat.CATCHABLE:  # ImportError, or a Java NoClassDefFoundError
            pass
        builder = getattr(Thread, "ofPlatform", None)
        if builder is not None:
            return builder().name(name + "-", 1).daemon(True).factory()
        return Executors.defaultThreadFactory()

    def newThreadPool(name, threads):
        """A fixed pool of named threads; idle threads end after 30 s, so a pool that is
        replaced or forgotten holds no thread for long."""
        pool = ThreadPoolExecutor(threads, threads, 30, TimeUnit.SECONDS, LinkedBlockingQueue(),
                                  _threadFactory(name))
        pool.allowCoreThreadTimeOut(True)
        return pool

    class _Task(Runnable):
        """One submission. A Python subclass of a Java interface, because Jython runs its
        ``run`` under the interpreter that created it: a pool thread (shared by every
        interpreter of the JVM) must import the library of the project that submitted the
        task, not of whichever interpreter the thread last served. It lives only while
        queued or running, so it pins nothing once done."""

        def __init__(self, function, name):
            self.function = function
            self.name = name

        def run(self):
            thread = Thread.currentThread()
            if not thread.getName().startswith(self.name):
                thread.setName(u"%s-%d" % (self.name, thread.getId()))
            self.function()

    def _asTask(function, name):
        return _Task(function, name)

    def upgradePool(pool, name):
        """Give a pool made by an older library version (a Python thread factory, which
        pins the interpreter that made it) a Java-only factory; new threads use it."""
        factory = pool.getThreadFactory()
        if factory.getClass().getName().startswith("org.python"):
            pool.setThreadFactory(_threadFactory(name))
            pool.allowCoreThreadTimeOut(True)
            return True
        return False

    def isShutdown(pool):
        """Whether the pool no longer accepts work."""
        return pool.isShutdown()

    def newScheduler(name):
        """One daemon thread that runs tasks after a delay (``schedule``); its shutdown
        drops the tasks not started yet."""
        scheduler = ScheduledThreadPoolExecutor(1, _threadFactory(name))
        scheduler.setRemoveOnCancelPolicy(True)
        scheduler.setExecuteExistingDelayedTasksAfterShutdownPolicy(False)
        return scheduler

    def schedule(scheduler, function, delayMs, name):
        """Run ``function()`` once on the scheduler's thread in ``delayMs``."""
        scheduler.schedule(_Task(function, name), int(delayMs), TimeUnit.MILLISECONDS)

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

        def remove(self, key, *expected):
            """remove(key): the old value; remove(key, value): only while it maps to an
            equal value, True when it did (as ConcurrentHashMap)."""
            with self._lock:
                if not expected:
                    return self._data.pop(key, None)
                if key in self._data and self._data[key] == expected[0]:
                    del self._data[key]
                    return True
                return False

        def replace(self, key, expected, value):
            with self._lock:
                if self._data.get(key) is not expected:
                    return False
                self._data[key] = value
                return True

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

        def getAndSet(self, value):
            with self._lock:
                previous, self._value = self._value, value
                return previous

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
            self._shutdown = True
            self._pool.shutdown(wait=False)

        def isShutdown(self):
            return getattr(self, "_shutdown", False)

        def getMaximumPoolSize(self):
            return self._pool._max_workers

        def setMaximumPoolSize(self, threads):
            # ThreadPoolExecutor starts threads lazily up to this bound; extra idle threads
            # of a shrunk pool stay parked, and dispatch never gives them more work.
            self._pool._max_workers = threads

        def setCorePoolSize(self, threads):
            pass  # Python pools have no separate core size

    class _PyBoundedQueue(object):
        """Python twin of LinkedBlockingQueue's non-blocking methods."""

        def __init__(self, capacity):
            self._items = collections.deque()
            self._capacity = capacity
            self._lock = threading.Lock()

        def offer(self, item):
            with self._lock:
                if len(self._items) >= self._capacity:
                    return False
                self._items.append(item)
                return True

        def poll(self):
            with self._lock:
                return self._items.popleft() if self._items else None

        def peek(self):
            with self._lock:
                return self._items[0] if self._items else None

        def size(self):
            return len(self._items)

        def remainingCapacity(self):
            return self._capacity - len(self._items)

        def iterator(self):
            with self._lock:
                return _PyIterator(list(self._items))

    class _PyIterator(object):
        """Java's iterator protocol (hasNext/next) over a snapshot."""

        def __init__(self, items):
            self._items = items
            self._index = 0

        def hasNext(self):
            return self._index < len(self._items)

        def next(self):
            self._index += 1
            return self._items[self._index - 1]

    class _PyKeySet(object):
        """Python twin of ConcurrentHashMap.newKeySet()."""

        def __init__(self):
            self._items = set()
            self._lock = threading.Lock()

        def add(self, item):
            with self._lock:
                if item in self._items:
                    return False
                self._items.add(item)
                return True

        def remove(self, item):
            with self._lock:
                if item not in self._items:
                    return False
                self._items.discard(item)
                return True

        def contains(self, item):
            return item in self._items

        def size(self):
            return len(self._items)

        def toArray(self):
            with self._lock:
                return list(self._items)

    def newConcurrentMap():
        """A concurrent map with Java's get/getOrDefault/put/putIfAbsent/remove API."""
        return _PyConcurrentMap()

    def newAtomicLong(value=0):
        """An atomic counter (get/set/incrementAndGet/decrementAndGet/compareAndSet)."""
        return _PyAtomicLong(value)

    import itertools
    _idCount = itertools.count(1)  # (next() is atomic under the GIL)
    _ID_TAIL = u"-%04x-%04x-%012x" % (_ID_HIGH, _ID_LOW >> 48, _ID_LOW & _ID_MASK)

    def newId():
        """A fresh workflow id (see _ID_RANDOM), 0.3 us."""
        bits = _idBits(next(_idCount))
        return u"%08x-%04x%s" % (bits >> 16, bits & 0xFFFF, _ID_TAIL)

    def newThreadPool(name, threads):
        """A fixed pool of named daemon threads."""
        return _PyPoolFacade(name, threads)

    def newBoundedQueue(capacity):
        """A FIFO queue of at most ``capacity`` items (offer/poll/peek/size/iterator)."""
        return _PyBoundedQueue(capacity)

    def newKeySet():
        """A concurrent set (add/remove/contains/size)."""
        return _PyKeySet()

    def _asTask(function, name):
        return function

    class _PyScheduler(object):
        """Python twin of a one-thread ScheduledThreadPoolExecutor (schedule, shutdown)."""

        def __init__(self, name):
            self._due = []  # (monotonic seconds, sequence, function), a heap
            self._condition = threading.Condition()
            self._shutdown = False
            self._sequence = 0
            thread = threading.Thread(target=self._loop, name=name)
            thread.daemon = True
            thread.start()

        def schedule(self, function, delayMs):
            with self._condition:
                if self._shutdown:
                    raise RuntimeError("scheduler shut down")
                self._sequence += 1
                heapq.heappush(self._due, (compat.monotonicMs() / 1000.0 + delayMs / 1000.0,
                                           self._sequence, function))
                self._condition.notify()

        def _loop(self):
            while True:
                with self._condition:
                    while not self._shutdown and (not self._due or self._due[0][0] >
                                                  compat.monotonicMs() / 1000.0):
                        wait = self._due[0][0] - compat.monotonicMs() / 1000.0 \
                            if self._due else None
                        self._condition.wait(wait)
                    if self._shutdown:
                        return
                    function = heapq.heappop(self._due)[2]
                function()

        def shutdown(self):
            with self._condition:
                self._shutdown = True
                self._due = []
                self._condition.notify()

        def isShutdown(self):
            return self._shutdown

    def newScheduler(name):
        """One daemon thread that runs tasks after a delay (``schedule``); its shutdown
        drops the tasks not started yet."""
        return _PyScheduler(name)

    def schedule(scheduler, function, delayMs, name):
        """Run ``function()`` once on the scheduler's thread in ``delayMs``."""
        scheduler.schedule(function, delayMs)

    def upgradePool(pool, name):
        """Nothing to upgrade off the JVM."""
        return False

    def isShutdown(pool):
        """Whether the pool no longer accepts work."""
        return pool.isShutdown()


def submit(pool, function, threadName="exchange-workflows"):
    """Run ``function()`` on the pool; raises (RejectedExecutionException on the JVM) when the
    pool is shut down."""
    return pool.execute(_asTask(function, threadName))


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


def defaultExecutorName():
    """The stable name of this executor when none is configured: the gateway's system name
    (a restarted gateway then recovers its own runs at once), else host:pid (a process of
    its own: a headless worker without --name)."""
    try:
        import system  # (gateway only: imported when called, so the module loads anywhere)
        value = system.tag.readBlocking(["[System]Gateway/SystemName"])[0]
        good = value.quality.isGood() if hasattr(value.quality, "isGood") else False
        if good and value.value:
            return compat.toText(value.value)[:validate.MAX_NAME_LENGTH]
    except compat.CATCHABLE:
        pass
    return u"%s:%s" % (hostName(), processId())


# Executor ids and names are host name + ':' + a suffix, in 200-character columns; a host
# name may have 253 characters.
MAX_HOST_LENGTH = 160


def hostName():
    """This machine's host name (its first MAX_HOST_LENGTH characters)."""
    try:
        return compat.toText(socket.gethostname())[:MAX_HOST_LENGTH]
    except compat.CATCHABLE:  # pragma: no cover - host names do not fail in practice
        return u"unknown"


def processId():
    """This process's id (the JVM's on Jython)."""
    try:
        return os.getpid()
    except compat.CATCHABLE:  # pragma: no cover - Jython without a native POSIX layer
        return compat.toText(ManagementFactory.getRuntimeMXBean().getName()).split("@")[0]


def runtimeName():
    """What this executor runs on, e.g. "jython 2.7.3" or "cpython 3.11.7"."""
    kind = "jython" if compat.IS_JYTHON else _platform.python_implementation().lower()
    return u"%s %d.%d.%d" % ((kind,) + tuple(sys.version_info[:3]))


def javaVersion():
    """The JVM's version (e.g. "17.0.9"), or None off the JVM."""
    if not compat.IS_JYTHON:
        return None
    return compat.toText(System.getProperty("java.version"))


def pythonObjectsIn(value, path="kernel"):
    """Paths of Python objects (or Python subclasses of Java classes) under a Java value, on
    the JVM: in the gateway globals each would keep an old interpreter alive. Jython hands
    Java strings, numbers and booleans out as Python values; anything else that is no Java
    object (has no getClass) or is a Python proxy class is a finding. Maps are searched."""
    if value is None or isinstance(value, compat.string_types + compat.integer_types +
                                   (float, bool)):
        return []
    if not hasattr(value, "getClass") or \
            value.getClass().getName().startswith("org.python"):
        return [path]
    found = []
    if isinstance(value, Map):
        for key in value.keySet():
            found.extend(pythonObjectsIn(value.get(key), u"%s.%s" % (path, key)))
    return found


# Wall-clock time in an IANA time zone (engine.schedules, the cron module): java.time on the
# JVM (Jython 2.7 has no zoneinfo), zoneinfo on CPython 3.9+. A wall-clock time is a tuple
# (year, month, day, hour, minute, second).
if compat.IS_JYTHON:  # pragma: no cover - exercised by the Jython suite
    from java.time import DateTimeException, Instant, LocalDateTime, ZoneId  # novm

    def _zone(zoneId):
        if not isinstance(zoneId, compat.string_types) or not zoneId:
            raise ValueError(u"unknown time zone %s" % compat.shown(zoneId))
        try:
            return ZoneId.of(zoneId)
        except (DateTimeException, TypeError):
            raise ValueError(u"unknown time zone %s" % compat.shown(zoneId))

    def wallClock(epochMs, zoneId):
        """The wall-clock time in ``zoneId`` at ``epochMs`` (to the second)."""
        t = LocalDateTime.ofInstant(Instant.ofEpochMilli(int(epochMs)), _zone(zoneId))
        return (t.getYear(), t.getMonthValue(), t.getDayOfMonth(), t.getHour(),
                t.getMinute(), t.getSecond())

    def _instantsOf(wall, zoneId):
        """(epoch ms of each instant showing ``wall``, the gap's end when none does)."""
        local = LocalDateTime.of(*[int(v) for v in wall])
        rules = _zone(zoneId).getRules()
        found = [local.toInstant(o).toEpochMilli() for o in rules.getValidOffsets(local)]
        if found:
            return found, None
        return found, rules.getTransition(local).getInstant().toEpochMilli()
else:
    import calendar
    import datetime
    try:
        import zoneinfo  # novm
    except ImportError:  # pragma: no cover - CPython before 3.9
        zoneinfo = None

    def _zone(zoneId):
        if zoneinfo is None or not isinstance(zoneId, compat.string_types) or not zoneId:
            raise ValueError(u"unknown time zone %s" % compat.shown(zoneId))
        try:
            return zoneinfo.ZoneInfo(zoneId)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(u"unknown time zone %s" % compat.shown(zoneId))

    def wallClock(epochMs, zoneId):
        """The wall-clock time in ``zoneId`` at ``epochMs`` (to the second)."""
        t = datetime.datetime.fromtimestamp(int(epochMs) // 1000, _zone(zoneId))
        return (t.year, t.month, t.day, t.hour, t.minute, t.second)

    def _instantsOf(wall, zoneId):
        zone, naive = _zone(zoneId), datetime.datetime(*wall)
        both = [calendar.timegm(naive.replace(tzinfo=zone, fold=fold).utctimetuple()) * 1000  # novm
                for fold in (0, 1)]
        found = sorted(set(e for e in both if wallClock(e, zoneId) == tuple(wall)))
        if found:
            return found, None
        low, high = min(both), max(both)  # in a gap: wall(low) < wall < wall(high)
        while high - low > 1000:  # the first second whose wall clock is past ``wall``
            middle = low + (high - low) // 2000 * 1000
            if wallClock(middle, zoneId) > tuple(wall):
                high = middle
            else:
                low = middle
        return found, high


def checkZone(zoneId):
    """Raise ValueError unless ``zoneId`` names a time zone this platform knows."""
    _zone(zoneId)


def instantOf(wall, zoneId):
    """The epoch ms at which the wall clock of ``zoneId`` shows ``wall``: at a fall-back's
    repeated hour the first occurrence; at a spring-forward's skipped hour the first
    instant after it (the transition: 02:30 of a skipped 02:00-03:00 is 03:00)."""
    found, gapEnd = _instantsOf(wall, zoneId)
    return min(found) if found else gapEnd
