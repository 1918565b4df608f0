"""Group commit: the writes that threads ask for while one is in flight go together, in the
next statement.

Under a backlog every worker writes a checkpoint between two steps, and each write alone
costs a pool borrow (the datasource's SELECT 1), a round trip and a commit. A thread that
finds no write of its group in flight writes alone at once (an idle engine never waits); one
that finds one in flight waits, and when that write ends the first waiter writes every
waiting one (MAX_TOGETHER at most) in one statement and answers the others. A statement that
fails as a whole fails nobody: each of its writes is then made alone, by its own thread,
which sees its own outcome as it always did. A write that fails alone is its caller's.
"""
from __future__ import absolute_import, division, print_function

import threading

from exchange.workflows import compat

MAX_TOGETHER = 64
IN_FLIGHT = 1

_ALONE = object()  # a waiter's answer: write alone (the statement together failed)


class _Waiter(object):
    """A thread waiting for its write: ``wait`` until another ``wake``s it (a lock held from
    the start, which any thread may release: a tenth of an Event's cost on both
    interpreters)."""

    __slots__ = ("item", "_ready", "batch", "answer")

    def __init__(self, item):
        self.item = item
        self._ready = threading.Lock()
        self._ready.acquire()
        self.batch = None  # set when this waiter writes the next statement
        self.answer = _ALONE

    def wait(self):
        self._ready.acquire()

    def wake(self):
        self._ready.release()


class Group(object):
    """One kind of write on one database: ``alone(item)`` writes one item, ``together(items)``
    writes several in one statement and returns their answers in order."""

    def __init__(self, alone, together):
        self._alone = alone
        self._together = together
        self._lock = threading.Lock()
        self._waiting = []
        self._busy = 0

    def write(self, item):
        """The answer of ``item``'s write, made alone or together with others'."""
        with self._lock:
            if self._busy >= IN_FLIGHT:
                waiter = _Waiter(item)
                self._waiting.append(waiter)
            else:
                self._busy += 1
                waiter = None
        if waiter is None:
            return self._writeFirst(item)
        waiter.wait()
        if waiter.batch is not None:
            if len(waiter.batch) == 1:
                return self._writeFirst(item)
            self._writeBatch(waiter.batch)
        if waiter.answer is _ALONE:
            return self._alone(item)
        return waiter.answer

    def waiting(self):
        """How many writes wait for the one in flight."""
        return len(self._waiting)

    def _writeFirst(self, item):
        """The one write in flight, alone."""
        try:
            return self._alone(item)
        finally:
            self._handOn()

    def _writeBatch(self, batch):
        """On the first waiter's thread: one statement for ``batch``, its answers handed
        out, then the next batch handed on (also when this thread is stopped meanwhile)."""
        try:
            answers = self._together([waiter.item for waiter in batch])
            for waiter, answer in zip(batch, answers):
                waiter.answer = answer
        except compat.CATCHABLE:  # each writes alone: its own error is its own
            pass
        finally:
            for waiter in batch[1:]:
                waiter.wake()
            self._handOn()

    def _handOn(self):
        """The write in flight ended: wake the first waiter to write the others with its
        own, or mark the group idle."""
        with self._lock:
            batch = self._waiting[:MAX_TOGETHER]
            del self._waiting[:MAX_TOGETHER]
            if not batch:
                self._busy = 0
                return
        batch[0].batch = batch
        batch[0].wake()
