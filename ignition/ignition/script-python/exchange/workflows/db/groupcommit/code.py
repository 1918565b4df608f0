"""Group commit: the writes that threads ask for while one is in flight go together, in the
next statement.

Under a backlog every worker writes a checkpoint between two steps, and each write alone
costs a pool borrow (the datasource's SELECT 1), a round trip and a commit. A thread that
finds no write of its group in flight sends its own at once (an idle engine never waits);
one that finds one in flight waits, and when that write ends the first waiter sends every
waiting one (MAX_TOGETHER, MAX_TOGETHER_CHARS at most) in one statement and hands each its
answer. One statement of a group is in flight at a time, and it never waits for a run row
(or every write behind it would): a write that would (``ALONE``) is made again alone, by
its own thread, after the group moved on. A statement that fails as a whole fails nobody:
each of its writes is made alone, and sees its own outcome; one that lost its connection
(a transient error) raises that error in each, whose caller retries as it always did.
"""
from __future__ import absolute_import, division, print_function

import threading

from exchange.workflows import compat
from exchange.workflows.db import tx

MAX_TOGETHER = 64
MAX_TOGETHER_CHARS = 1 << 20  # (a batch of large outputs: 64 x 16 MB is no parameter)

ALONE = object()  # an answer: the write could not be made without waiting; make it alone


class _Waiter(object):
    """A thread waiting for its write: ``wait`` until another ``wake``s it (a lock held from
    the start, which any thread may release: a tenth of an Event's cost. No interrupt ends
    its acquire under Jython; under CPython only the main thread's, which runs no run)."""

    __slots__ = ("item", "chars", "_ready", "batch", "answer", "failure")

    def __init__(self, item, chars):
        self.item = item
        self.chars = chars
        self._ready = threading.Lock()
        self._ready.acquire()
        self.batch = None  # set when this waiter sends the next statement
        self.answer = ALONE
        self.failure = None  # the statement's transient error, raised on this thread

    def wait(self):
        self._ready.acquire()

    def wake(self):
        self._ready.release()


class Group(object):
    """One kind of write on one database.

    ``nowait(item)`` and ``together(items)`` send one statement that never waits for a row
    lock, answering ALONE for a write that would; ``alone(item)`` makes one write that may
    wait; ``charsOf(item)`` is an item's size in a statement."""

    def __init__(self, nowait, together, alone, charsOf):
        self._nowait = nowait
        self._together = together
        self._alone = alone
        self._charsOf = charsOf
        self._lock = threading.Lock()
        self._waiting = []
        self._busy = False

    def write(self, item):
        """The answer of ``item``'s write, made alone or together with others'."""
        chars = self._charsOf(item)  # (outside the lock: nothing under it can fail)
        with self._lock:
            if self._busy:
                waiter = _Waiter(item, chars)
                self._waiting.append(waiter)
            else:
                self._busy = True
                waiter = None
        if waiter is None:
            answer = self._first(item)
        else:
            waiter.wait()
            if waiter.batch is not None:
                self._send(waiter.batch)
            if waiter.failure is not None:
                raise waiter.failure
            answer = waiter.answer
        return self._alone(item) if answer is ALONE else answer

    def waiting(self):
        """How many writes wait for the one in flight."""
        return len(self._waiting)

    def _first(self, item):
        """The one write in flight, alone."""
        try:
            return self._nowait(item)
        finally:
            self._handOn()

    def _send(self, batch):
        """On the first waiter's thread: one statement for ``batch``, its answers handed
        out, then the next batch handed on (also when this thread is stopped meanwhile)."""
        try:
            if len(batch) == 1:
                answers = [self._nowait(batch[0].item)]
            else:
                answers = self._together([waiter.item for waiter in batch])
            for waiter, answer in zip(batch, answers):
                waiter.answer = answer
        except compat.CATCHABLE as failure:  # each alone: its own error is its own
            if tx.isTransient(failure):
                for waiter in batch:
                    waiter.failure = failure
        finally:  # (the next statement first: the answered threads can wait a moment)
            try:
                self._handOn()
            finally:
                for waiter in batch[1:]:
                    waiter.wake()

    def _handOn(self):
        """The write in flight ended: wake the first waiter to send the next batch, or
        mark the group idle."""
        with self._lock:
            if not self._waiting:
                self._busy = False
                return
            count, chars = 0, 0
            for waiter in self._waiting[:MAX_TOGETHER]:
                chars += waiter.chars
                if count and chars > MAX_TOGETHER_CHARS:
                    break
                count += 1
            batch = self._waiting[:count]
            del self._waiting[:count]
        batch[0].batch = batch
        batch[0].wake()
