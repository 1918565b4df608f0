"""Test helpers shared by the CPython suite and (later) a Jython runner: Python 2.7/3 code."""
import time


def waitFor(predicate, timeoutSeconds=10, intervalSeconds=0.01, message=""):
    """Poll ``predicate()`` until it returns something truthy and return that value.

    Raises AssertionError (with ``message`` and the last value seen) when the deadline
    passes. Use it instead of fixed sleeps."""
    deadline = time.time() + timeoutSeconds
    while True:
        value = predicate()
        if value:
            return value
        if time.time() >= deadline:
            raise AssertionError("waitFor timed out after %ss: %s (last value: %r)"
                                 % (timeoutSeconds, message or predicate, value))
        time.sleep(intervalSeconds)
