"""Fault-injection points for the fault tests (DBOS's debug triggers).

The engine calls ``point(name)`` where a failure is hardest to get right: right after a
step's checkpoint committed (``step.after_commit``), right after a wait's wake time was
recorded (``wait.after_deadline``), right after a sleep's one-statement suspend
(``wait.after_suspend``), right after the terminal write (``run.after_finish``) and right
after a debounced start's row was deleted (``debounce.after_delete``). Unarmed,
a point costs one dictionary lookup. A test arms it to run an action a number of times,
e.g. to raise a lost-connection error after the commit, so the engine must cope with a
write whose outcome it never heard.
"""
from __future__ import absolute_import, division, print_function

import threading

_armed = {}
_lock = threading.Lock()


class ConnectionLost(Exception):
    """What a dropped connection looks like to the engine: a database error of SQLSTATE 08006
    (connection failure), whose statement may or may not have committed."""
    sqlState = "08006"


def _raiseConnectionLost(name):
    raise ConnectionLost(u"fault point %s: the connection dropped after the commit" % name)


def arm(name, times=1, action=None):
    """Make point ``name`` run ``action(name)`` (default: raise ConnectionLost) the next
    ``times`` times it is reached."""
    with _lock:
        _armed[name] = [times, action or _raiseConnectionLost]


def disarm(name=None):
    """Disarm one point, or all of them."""
    with _lock:
        if name is None:
            _armed.clear()
        else:
            _armed.pop(name, None)


def point(name):
    """A fault point: nothing unless a test armed it."""
    if not _armed:
        return
    with _lock:
        entry = _armed.get(name)
        if entry is None:
            return
        entry[0] -= 1
        if entry[0] <= 0:
            del _armed[name]
        action = entry[1]
    action(name)
