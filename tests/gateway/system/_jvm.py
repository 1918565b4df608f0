"""JVM-lifetime state of the simulated gateway, and the interpreter it runs on.

Ignition keeps ``system.util.getGlobals()`` (and its datasources, transactions, tags) for the
life of the JVM: a project save, even a new script interpreter with its own ``sys`` module,
does not reset it. ``STATE`` is one dict per process that every (re-)import of the
``system`` package finds again:

* CPython: kept on the ``sys`` module (one per process);
* Jython: kept in ``java.lang.System.getProperties()`` under a private key, because ``sys``
  is per ``PySystemState`` there: every ``org.python.util.PythonInterpreter`` created with
  its own ``PySystemState`` then still sees the same dict. Jython's dict is a
  ``ConcurrentHashMap`` underneath (``setdefault`` is ``putIfAbsent``), so it is safe to
  share between threads of several interpreters.

``IS_JAVA`` tells the two apart; ``CATCHABLE`` is what a catch-all must name there (Java
exceptions are not ``Exception`` subclasses under Jython).
"""
import sys
import threading

IS_JAVA = sys.platform.startswith("java")
_KEY = "_ignitionGatewaySimulatorJvmState"


def _fresh():
    return {"globals": {}, "projectName": "workflows"}


if IS_JAVA:
    from java.lang import System as _System  # novm
    from java.lang import Throwable as _Throwable  # novm

    CATCHABLE = (Exception, _Throwable)
    STATE = _System.getProperties().get(_KEY)
    if STATE is None:
        _candidate = _fresh()
        STATE = _System.getProperties().putIfAbsent(_KEY, _candidate)
        if STATE is None:
            STATE = _candidate
else:
    CATCHABLE = (Exception,)
    STATE = getattr(sys, _KEY, None)
    if STATE is None:
        STATE = _fresh()
        setattr(sys, _KEY, STATE)


def shared(name, factory):
    """The JVM-wide object ``name``, made by ``factory()`` the first time (atomically: two
    racing first callers get the same object)."""
    value = STATE.get(name)
    if value is None:
        value = STATE.setdefault(name, factory())
    return value


def sharedState(name, **initial):
    """``shared(name)`` of a dict holding ``lock`` (an RLock), ``cond`` (a Condition on
    it) and the ``initial`` values: the JVM-wide state of one system module."""
    def make():
        lock = threading.RLock()
        state = {"lock": lock, "cond": threading.Condition(lock)}
        state.update(initial)
        return state
    return shared(name, make)
