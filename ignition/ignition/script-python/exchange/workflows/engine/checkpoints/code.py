"""A step's SUCCESS checkpoint written a moment later: with the run's next write, or by a
flusher once it was kept DEFER_MS.

The run's own thread keeps its last step's checkpoint (engine.steps) until its next durable
operation (engine.boundary writes it first) or its end (the runner's terminal write takes it
in the same statement: a three-step run makes three statements, not four). So that plain
workflow code that blocks between two steps never leaves a finished step unrecorded for
long, a flusher writes any checkpoint still kept DEFER_MS after its step ended (one flusher
per interpreter: while the database does not answer, it waits as every write does).

Who writes a kept checkpoint is decided once, under its lock: the run's thread (``take``) or
the flusher (``flushDue``), which holds the lock while it writes, so a run that reaches its
next operation meanwhile waits for that write and sees its outcome (a failure is raised on
the run's thread, as if its own write had failed). The flusher is one task on a one-thread
pool that runs while checkpoints are kept and ends when none is; the pool's idle thread
ends after 30 s, so an interpreter replaced by a project save keeps none.
"""
from __future__ import absolute_import, division, print_function

import collections
import threading

from exchange.workflows import compat, platform

DEFER_MS = 100
THREAD_NAME = "exchange-workflows-checkpoints"
_RUN, _FLUSHER = 1, 2

_kept = collections.deque()  # PendingStep, in the order they are due (appends are atomic)
_state = {"flushing": False, "pool": None}
_stateLock = threading.Lock()


class PendingStep(object):
    """A kept SUCCESS checkpoint: ``lastStep`` as db.runs writes it with a terminal write,
    (db.steps.Step, outputJson); ``write(byFlusher=False)`` writes it alone."""

    __slots__ = ("lastStep", "write", "dueMs", "_lock", "_writer", "_failure")

    def __init__(self, lastStep, write, dueMs):
        self.lastStep = lastStep
        self.write = write
        self.dueMs = dueMs
        self._lock = threading.Lock()
        self._writer = None
        self._failure = None

    def take(self):
        """The run's thread: True when the checkpoint is its own to write (alone or with the
        terminal write); False when the flusher wrote it (its failure is raised here)."""
        with self._lock:
            if self._writer is None:
                self._writer = _RUN
                return True
            failure = self._failure
        if failure is not None:
            raise failure
        return False

    def flushDue(self):
        """The flusher: write the checkpoint unless the run's thread took it."""
        if self._writer is not None:  # (set once, never undone: taken already)
            return
        with self._lock:
            if self._writer is not None:
                return
            self._writer = _FLUSHER
            try:
                self.write(True)
            except BaseException as failure:  # noqa: B902 - a control signal is the run's
                self._failure = failure
            except compat.JavaThrowable as failure:  # pragma: no cover - Jython only
                self._failure = failure


def keep(ctx, step, outputJson, write):
    """Keep ``step``'s (a db.steps.Step) SUCCESS checkpoint on ``ctx`` (its
    ``flushCheckpoint`` or the runner's terminal write takes it); the flusher writes it
    with ``write(True)`` if it is still kept in DEFER_MS."""
    pending = PendingStep((step, outputJson), write, compat.monotonicMs() + DEFER_MS)
    ctx.pendingStep = pending
    _kept.append(pending)
    if not _state["flushing"]:
        _startFlusher()


def _startFlusher():
    with _stateLock:
        if _state["flushing"]:
            return
        if _state["pool"] is None or platform.isShutdown(_state["pool"]):
            _state["pool"] = platform.newThreadPool(THREAD_NAME, 1)
        _state["flushing"] = True
    try:
        platform.submit(_state["pool"], _flushLoop, THREAD_NAME)
    except compat.CATCHABLE:  # no thread for it: the runs' threads write what they kept
        _state["flushing"] = False


def _flushLoop():
    """Write each kept checkpoint that is due; end when none is kept (or on a failure of
    its own: the flag goes down, so the next kept checkpoint starts it again)."""
    try:
        while True:
            while _kept:
                nowMs = compat.monotonicMs()
                while _kept and _kept[0].dueMs <= nowMs:
                    _kept.popleft().flushDue()
                if _kept:  # (the clock again: the writes above took time)
                    waitMs = _kept[0].dueMs - compat.monotonicMs()
                    if waitMs > 0:
                        compat.sleepMs(waitMs)
            with _stateLock:  # flag down first, then look: one kept meanwhile is seen
                _state["flushing"] = False  # here, or sees the flag down and starts us
                if not _kept:
                    return
                _state["flushing"] = True
    except (BaseException, compat.JavaThrowable):  # noqa: B902 - never up with no flusher
        with _stateLock:
            _state["flushing"] = False
        raise
