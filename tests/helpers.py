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
