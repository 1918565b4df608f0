"""Workflows for tests/bench/scaling.py: runs that stay put, so recovery and memory can be
measured on executors holding many of them.

``held`` blocks its worker thread in a step while the executor's environment says
SCALING_HOLD=1 (the executor about to be killed); anywhere else the step returns at once and
the run parks in a long durable sleep (WAITING: no thread held). ``parked`` only sleeps.
``probe`` reports the executor's own memory, and with ``fill`` what a full in-memory queue
adds to it.
"""
from __future__ import absolute_import, division, print_function

import gc
import os
import time

from exchange.workflows.engine.runtime import sleep, step, workflow


@step
def hold(seconds):
    if os.environ.get("SCALING_HOLD") == "1":
        end = time.time() + seconds
        while time.time() < end:
            time.sleep(0.2)
    return 1


@workflow
def held(seconds=600):
    hold(seconds)
    sleep(3600)
    return 1


@workflow
def parked(seconds=3600):
    sleep(seconds)
    return 1


def _rssKb():
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (IOError, OSError):
        pass
    return None


def _heapBytes():
    """Heap in use after a full collection (Jython: the JVM's; CPython: None)."""
    gc.collect()
    try:
        from java.lang import Runtime, System  # noqa: F401 - Jython only
    except ImportError:
        return None
    for _ in range(3):
        System.gc()
        time.sleep(0.05)
    runtime = Runtime.getRuntime()
    return int(runtime.totalMemory() - runtime.freeMemory())


def _objects():
    try:
        return len(gc.get_objects())
    except NotImplementedError:  # Jython: its gc does not track Python objects
        return None


def _memory():
    return {"rssKb": _rssKb(), "heapBytes": _heapBytes(), "objects": _objects()}


@step
def measure(fill=0):
    """This executor's memory; with ``fill``, before and after enqueueInMemory up to the
    queue's capacity (``fill`` calls at most), then the queue emptied again unstored."""
    import exchange.workflows.api.service as service
    from exchange.workflows import settings
    from exchange.workflows.engine import kernel, memoryqueue
    before = _memory()
    if not fill:
        return {"before": before}
    accepted = 0
    flushAll = memoryqueue.flushAll
    # the timer must not store the requests while they are counted: its flush is stopped
    memoryqueue.flushAll = lambda: {"flushed": 0, "deadLettered": 0, "deduplicated": 0,
                                    "errors": {}}
    try:
        for index in range(fill):
            if not service.enqueueInMemory("three_steps", inputs={"value": index},
                                           overflowPolicy="reject")["ok"]:
                break
            accepted += 1
        queue = kernel.getKernel().memoryQueues.get(settings.databaseName(None))
        depth = queue.size() if queue is not None else 0
        after = _memory()
        while queue is not None and queue.poll() is not None:
            pass
    finally:
        memoryqueue.flushAll = flushAll
    return {"before": before, "after": after, "accepted": accepted, "depth": depth}


@workflow
def probe(fill=0):
    return measure(fill)
