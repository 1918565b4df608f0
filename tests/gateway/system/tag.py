"""system.tag of the gateway simulator: an in-memory tag table (JVM-wide, see system._jvm).

* Paths are lists (as in Ignition). A path without a provider gets ``[default]``;
  ``[~]`` means ``[default]``; a trailing ``.value`` property is ignored; lookups are
  case-insensitive.
* readBlocking -> list of BasicQualifiedValue (``.value``, ``.quality``, ``.timestamp`` (a
  system.date date: java.util.Date under Jython) and the Java getters). A missing tag
  reads as value None with quality ``Bad_NotFound``.
* writeBlocking -> list of QualityCode. SIMULATOR CONVENIENCE: writing a path that does
  not exist creates the tag (a real gateway answers Bad_NotFound).

Simulator extensions (not Ignition API), all named ``sim*``:
* ``simAddValueChangeScript(path, fn, fireInitial=False)``: ``fn(tag, tagPath,
  previousValue, currentValue, initialChange, missedEvents)`` runs on a 3-thread worker
  pool (like the gateway's tag event pool) after a write changes the tag's value or
  quality. Events of one tag run in order, one at a time, through a queue of 5; events
  arriving while it is full are dropped and the next delivered event has
  ``missedEvents=True``. ``fireInitial=True`` also fires the initial event
  (``initialChange=True``, previousValue None) Ignition sends when a script starts.
* ``simRemoveValueChangeScripts(path)``, ``simReset()`` (drop all tags and scripts),
  ``simSetQuality(path, qualityName)``, ``simWaitForEvents(timeoutSeconds)``.
* ``simFailWrites(path, qualityName)``: writes to the tag answer that QualityCode and change
  nothing (None: writes work again); ``simLagWrites(path, seconds)``: a write answers Good
  but the tag takes the value only ``seconds`` later (a slow device).
"""
import collections
import logging
import threading

try:
    import queue as _queue  # novm
except ImportError:  # Python 2 / Jython
    import Queue as _queue  # novm

from system import _jvm
from system import date as _date

_logger = logging.getLogger("system.tag")
_STRING_TYPES = (str, type(u""))

EVENT_THREADS = 3
EVENT_QUEUE_SIZE = 5


class QualityCode(object):
    """A tag quality. ``str(q)`` is its name ("Good", "Bad_NotFound", ...)."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def isGood(self):
        return self.name == "Good" or self.name.startswith("Good_")

    def isBad(self):
        return self.name.startswith("Bad")

    def isUncertain(self):
        return self.name.startswith("Uncertain")

    def isNotGood(self):
        return not self.isGood()

    def getName(self):
        return self.name

    def __str__(self):
        return self.name

    def __repr__(self):
        return "QualityCode(%s)" % self.name

    def __eq__(self, other):
        if isinstance(other, QualityCode):
            return self.name == other.name
        if isinstance(other, _STRING_TYPES):
            return self.name == other
        return NotImplemented

    def __ne__(self, other):
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __hash__(self):
        return hash(self.name)


GOOD = QualityCode("Good")
BAD_NOT_FOUND = QualityCode("Bad_NotFound")
BAD_READ_ONLY = QualityCode("Bad_ReadOnly")


class BasicQualifiedValue(object):
    __slots__ = ("value", "quality", "timestamp")

    def __init__(self, value, quality, timestamp):
        self.value = value
        self.quality = quality
        self.timestamp = timestamp

    def getValue(self):
        return self.value

    def getQuality(self):
        return self.quality

    def getTimestamp(self):
        return self.timestamp

    def __repr__(self):
        return "[%r, %s, %s]" % (self.value, self.quality, self.timestamp)


class _Tag(object):
    def __init__(self, path):
        self.path = path
        self.name = path.split("]", 1)[-1].rsplit("/", 1)[-1]
        self.value = None
        self.quality = GOOD
        self.timestamp = _now()
        self.scripts = []
        self.queue = collections.deque()
        self.scheduled = False
        self.missed = False

    def qualified(self):
        return BasicQualifiedValue(self.value, self.quality, self.timestamp)


class TagInfo(object):
    """The ``tag`` argument of a value-change script (name/path, dict-style too)."""

    def __init__(self, tag):
        self.name = tag.name
        self.path = tag.path
        self.value = tag.value
        self.quality = tag.quality

    def __getitem__(self, key):
        return getattr(self, key)


def _now():
    return _date.now()


class _EventPool(object):
    """The gateway's tag event pool: ``threads`` daemon workers taking jobs in order."""

    def __init__(self, threads):
        self._jobs = _queue.Queue()
        for number in range(threads):
            worker = threading.Thread(target=self._work, name="tag-event-%d" % (number + 1))
            worker.daemon = True
            worker.start()

    def submit(self, fn, *args):
        self._jobs.put((fn, args))

    def _work(self):
        while True:
            fn, args = self._jobs.get()
            try:
                fn(*args)
            except _jvm.CATCHABLE:
                _logger.exception("tag event job failed")


_state = _jvm.sharedState("system.tag", tags={}, pool=[None], pending=[0], failing={},
                          lagging={})
_lock = _state["lock"]
_idle = _state["cond"]  # signalled when no event is pending
_tags = _state["tags"]
_pool = _state["pool"]
_pending = _state["pending"]
_failing = _state.setdefault("failing", {})  # key -> QualityCode name a write answers
_lagging = _state.setdefault("lagging", {})  # key -> seconds before a write lands


def _normalize(path):
    path = str(path).strip()
    if path.startswith("[~]"):
        path = "[default]" + path[3:]
    elif not path.startswith("["):
        path = "[default]" + path
    if path.lower().endswith(".value"):
        path = path[:-len(".value")]
    return path


def _key(path):
    return _normalize(path).lower()


def _executor():
    with _lock:
        if _pool[0] is None:
            _pool[0] = _EventPool(EVENT_THREADS)
        return _pool[0]


def _asList(paths):
    if isinstance(paths, _STRING_TYPES):
        raise TypeError("tagPaths must be a list of strings, got a string")
    return list(paths)


def readBlocking(tagPaths, timeout=45000):
    result = []
    with _lock:
        for p in _asList(tagPaths):
            tag = _tags.get(_key(p))
            if tag is None:
                result.append(BasicQualifiedValue(None, BAD_NOT_FOUND, _now()))
            else:
                result.append(tag.qualified())
    return result


def readAsync(tagPaths, callback):
    """Calls ``callback(listOfQualifiedValues)`` on another thread."""
    values = readBlocking(tagPaths)
    _daemon(callback, (values,), "tag-readAsync")


def _set(path, value, quality):
    """Update a tag (creating it); returns the event to fire or None. Holds _lock."""
    key = _key(path)
    tag = _tags.get(key)
    if tag is None:
        tag = _tags[key] = _Tag(_normalize(path))
    previous = tag.qualified()
    changed = previous.value != value or previous.quality != quality or \
        type(previous.value) is not type(value)
    tag.value = value
    tag.quality = quality
    tag.timestamp = _now()
    if changed and tag.scripts:
        return _enqueue(tag, previous, tag.qualified(), False)
    return None


def _enqueue(tag, previous, current, initial):
    if len(tag.queue) >= EVENT_QUEUE_SIZE:
        tag.missed = True
        return None
    tag.queue.append((previous, current, initial, TagInfo(tag)))
    if tag.scheduled:
        return None
    tag.scheduled = True
    _pending[0] += 1
    return tag


def _submit(tag):
    if tag is not None:
        _executor().submit(_drainOne, tag)


def _drainOne(tag):
    with _lock:
        previous, current, initial, info = tag.queue.popleft()
        missed = tag.missed
        tag.missed = False
        scripts = list(tag.scripts)
    try:
        for fn in scripts:
            try:
                fn(info, tag.path, previous, current, initial, missed)
            except _jvm.CATCHABLE:
                _logger.exception("Error in value-change script of %s", tag.path)
    finally:
        with _lock:
            if tag.queue:
                again = True
            else:
                again = False
                tag.scheduled = False
                _pending[0] -= 1
                _idle.notify_all()
        if again:
            _executor().submit(_drainOne, tag)


def writeBlocking(tagPaths, values, timeout=45000):
    paths = _asList(tagPaths)
    values = list(values)
    if len(paths) != len(values):
        raise ValueError("tagPaths and values must have the same length")
    toSubmit, result = [], []
    with _lock:
        for p, v in zip(paths, values):
            failing, lag = _failing.get(_key(p)), _lagging.get(_key(p))
            result.append(QualityCode(failing or "Good"))
            if lag and not failing:
                _later(lag, p, v)
            elif not failing:
                toSubmit.append(_set(p, v, GOOD))
    for tag in toSubmit:
        _submit(tag)
    return result


def _later(seconds, path, value):
    def land():
        with _lock:
            tag = _set(path, value, GOOD)
        _submit(tag)
    timer = threading.Timer(seconds, land)
    timer.daemon = True
    timer.start()


def writeAsync(tagPaths, values, callback=None):
    """Writes on another thread; ``callback(listOfQualityCodes)`` when done."""
    def run():
        result = writeBlocking(tagPaths, values)
        if callback is not None:
            callback(result)
    _daemon(run, (), "tag-writeAsync")


def _daemon(fn, args, name):
    thread = threading.Thread(target=fn, args=args, name=name)
    thread.daemon = True
    thread.start()


def exists(tagPath):
    with _lock:
        return _key(tagPath) in _tags


# --- simulator extensions (not Ignition API) -------------------------------------------
def simAddValueChangeScript(tagPath, fn, fireInitial=False):
    """Attach a value-change script ``fn(tag, tagPath, previousValue, currentValue,
    initialChange, missedEvents)`` to a tag (created with value None if missing)."""
    with _lock:
        key = _key(tagPath)
        tag = _tags.get(key)
        if tag is None:
            tag = _tags[key] = _Tag(_normalize(tagPath))
        tag.scripts.append(fn)
        toSubmit = _enqueue(tag, None, tag.qualified(), True) if fireInitial else None
    _submit(toSubmit)


def simRemoveValueChangeScripts(tagPath):
    with _lock:
        tag = _tags.get(_key(tagPath))
        if tag is not None:
            del tag.scripts[:]


_KEEP = object()


def simSetQuality(tagPath, qualityName, value=_KEEP):
    """Force a tag's quality (e.g. "Bad_Disabled"), keeping its value unless one is given."""
    with _lock:
        if value is _KEEP:
            tag = _tags.get(_key(tagPath))
            value = tag.value if tag is not None else None
        tag = _set(tagPath, value, QualityCode(qualityName))
    _submit(tag)


def simWaitForEvents(timeoutSeconds=10.0):
    """Wait until no value-change event is queued or running; True if idle in time."""
    import time
    deadline = time.time() + timeoutSeconds
    with _idle:
        while _pending[0] > 0:
            remaining = deadline - time.time()
            if remaining <= 0:
                return False
            _idle.wait(remaining)
    return True


def simFailWrites(tagPath, qualityName):
    """Writes to the tag answer QualityCode ``qualityName`` (e.g. "Bad_ReadOnly") and change
    nothing; None: they work again."""
    with _lock:
        _failing.pop(_key(tagPath), None)
        if qualityName is not None:
            _failing[_key(tagPath)] = qualityName


def simLagWrites(tagPath, seconds):
    """A write to the tag answers Good at once but lands ``seconds`` later (0: at once)."""
    with _lock:
        _lagging[_key(tagPath)] = seconds


def simReset():
    """Drop every tag and script (pending events of dropped tags still run), and every
    failing or lagging write."""
    with _lock:
        _tags.clear()
        _failing.clear()
        _lagging.clear()
