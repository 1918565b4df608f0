"""Test helpers shared by the CPython suite and (later) a Jython runner: Python 2.7/3 code."""
import time

try:
    _clock = time.monotonic  # novm
except AttributeError:  # Python 2.7 / Jython: no monotonic clock in the stdlib
    _clock = time.time


def waitFor(predicate, timeoutSeconds=10, intervalSeconds=0.01, message=""):
    """Poll ``predicate()`` until it returns something truthy and return that value.

    Raises AssertionError (with ``message`` and the last value seen) when the deadline
    passes. Use it instead of fixed sleeps."""
    deadline = _clock() + timeoutSeconds
    while True:
        value = predicate()
        if value:
            return value
        if _clock() >= deadline:
            raise AssertionError("waitFor timed out after %ss: %s (last value: %r)"
                                 % (timeoutSeconds, message or predicate, value))
        time.sleep(intervalSeconds)


class LogRecords(object):
    """What the engine logged at ``level`` or above under a logger name, while attached:
    ``records`` is a list of (levelname, logger name, message). The gateway simulator's
    system.util.getLogger writes to Python logging under both interpreters."""

    def __init__(self, name="exchange.workflows", level=None):
        import logging
        self.records = []
        self._logger = logging.getLogger(name)
        records = self.records

        class Handler(logging.Handler):
            def emit(self, record):
                records.append((record.levelname, record.name, record.getMessage()))
        self._handler = Handler(logging.WARNING if level is None else level)
        self._logger.addHandler(self._handler)

    def detach(self):
        self._logger.removeHandler(self._handler)

    def messages(self, levelname=None, name=None):
        return [m for (lv, n, m) in self.records
                if (levelname is None or lv == levelname) and (name is None or n == name)]


def runConcurrently(function, count, timeoutSeconds=30):
    """Call ``function()`` from ``count`` threads released at the same moment; the results."""
    import threading
    start = threading.Event()
    results = []

    def worker():
        start.wait(5)
        results.append(function())

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    start.set()
    for thread in threads:
        thread.join(timeoutSeconds)
    return results
