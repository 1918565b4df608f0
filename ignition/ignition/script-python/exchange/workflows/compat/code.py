"""The Python 2.7 (Jython) / Python 3 differences, in one place.

Every other module imports its shims from here, so the rest of the library is written once
for both interpreters. Lines that only run on one side are marked ``# novm`` for vermin.
"""
from __future__ import absolute_import, division, print_function

import inspect
import re
import sys
import time
import traceback

IS_JYTHON = sys.platform.startswith("java")
PY2 = sys.version_info[0] == 2

if PY2:
    text_type = unicode  # noqa: F821  # novm
    string_types = (str, unicode)  # noqa: F821  # novm
    integer_types = (int, long)  # noqa: F821  # novm
else:
    text_type = str
    string_types = (str,)
    integer_types = (int,)

if IS_JYTHON:
    from java.lang import Throwable as JavaThrowable  # novm
    from java.lang import System as _JavaSystem  # novm
    from java.io import PrintWriter, StringWriter  # novm

    def monotonicMs():
        """Milliseconds from an arbitrary origin that never goes backwards."""
        return _JavaSystem.nanoTime() // 1000000
else:
    class JavaThrowable(Exception):
        """Stand-in so ``except (Exception, JavaThrowable)`` is valid off the JVM."""

    def monotonicMs():
        """Milliseconds from an arbitrary origin that never goes backwards."""
        return int(time.monotonic() * 1000)  # novm

# What a boundary must catch so nothing leaks: Python errors and, on Jython, Java ones.
CATCHABLE = (Exception, JavaThrowable)


def nowMs():
    """Wall-clock epoch milliseconds of this process (the database clock is preferred in SQL)."""
    return int(time.time() * 1000)


def toText(value):
    """Text of any value without ever raising on non-ASCII (``str()`` does on Jython)."""
    if value is None:
        return u""
    if isinstance(value, text_type):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    try:
        return text_type(value)
    except CATCHABLE:
        try:
            return repr(value).decode("utf-8", "replace") if PY2 else repr(value)
        except CATCHABLE:
            return u"<unprintable %s>" % type(value).__name__


def shown(value, limit=60):
    """``repr(value)`` for a message, cut to ``limit`` characters: a caller's value is
    echoed in an error, never pasted whole (it may be kilobytes)."""
    try:
        text = toText(repr(value))
    except CATCHABLE:
        text = u"<%s>" % type(value).__name__
    if len(text) <= limit:
        return text
    return u"%s... (%d characters)" % (text[:limit], len(text))


# How system.db wraps a failure: "Error executing system.db.<call>(<statement>, <args>, ...)"
# around the driver's exception (the simulator's text, under CPython, ends ": <cause>").
_SYSTEM_DB_CALL = re.compile(r"^Error executing (system\.db\.\w+)\((.*)$", re.DOTALL)
WHERE_LIMIT = 120


def describeError(error):
    """(type name, message) of a Python or Java exception, for records and envelopes. The
    message leads with the cause: a system.db error gives the driver's message and the
    call, not the statement (``errorContext`` has that)."""
    if IS_JYTHON and isinstance(error, JavaThrowable):
        return error.getClass().getName(), _javaMessage(error)
    typeName = type(error).__name__
    module = getattr(type(error), "__module__", "")
    if module not in (None, "builtins", "exceptions", "__builtin__"):
        typeName = "%s.%s" % (module, typeName)
    if error.args:
        message = u", ".join(toText(a) for a in error.args) if len(error.args) > 1 else toText(error.args[0])
    else:
        message = toText(error)
    call = _SYSTEM_DB_CALL.match(message)
    if call:
        message = _causeFirst(_textAfterCall(call.group(2)), call.group(1))
    return toText(typeName), message


def errorContext(error):
    """The full text around a wrapped error (system.db's call with its statement and
    arguments), for a log or an envelope's data; None when there is none."""
    if IS_JYTHON and isinstance(error, JavaThrowable):
        text = toText(error.getMessage())
    else:
        text = toText(error.args[0]) if getattr(error, "args", None) else toText(error)
    return text if _SYSTEM_DB_CALL.match(text) else None


def _textAfterCall(text):
    """The driver's message after "...(<statement>, <args>, <db>, <tx>): " (its first line;
    PostgreSQL's LINE and caret lines follow it)."""
    cut = text.find(u"\nLINE ")
    head = text if cut < 0 else text[:cut]
    at = head.rfind(u"): ")
    return head[at + 3:].split(u"\n")[0].strip() if at >= 0 else u""


def _causeFirst(cause, where):
    where = where if len(where) <= WHERE_LIMIT else where[:WHERE_LIMIT] + u"..."
    return u"%s (in %s)" % (cause, where) if cause else where


def _javaMessage(error):
    """A Java exception's message, led by its root cause when that says something more (as
    system.db's "Error executing ..." wrapped around the driver's SQLException)."""
    message = toText(error.getMessage())
    root = error
    for _ in range(10):
        cause = root.getCause()
        if cause is None or cause is root:
            break
        root = cause
    if root is not error:
        rootMessage = toText(root.getMessage())
        if rootMessage and rootMessage not in message:
            call = _SYSTEM_DB_CALL.match(message)
            # the driver's first line (PostgreSQL's Detail, Hint and Where lines follow it)
            return _causeFirst(rootMessage.strip().split(u"\n")[0].strip(),
                               call.group(1) if call else message)
    return message


def formatTraceback(error, tracebackObj=None):
    """A traceback text for a Python or Java exception; never raises."""
    try:
        if IS_JYTHON and isinstance(error, JavaThrowable):
            writer = StringWriter()
            error.printStackTrace(PrintWriter(writer))
            return toText(writer.toString())
        if tracebackObj is None:
            tracebackObj = sys.exc_info()[2]
        lines = traceback.format_exception(type(error), error, tracebackObj)
        return u"".join(toText(line) for line in lines)
    except CATCHABLE:
        return u""


def optionalSystemFunction(path):
    """The function ``system.<path>`` (e.g. "security.getUsername") where this scope and
    Ignition version have it, else None. The one way the library reaches a ``system``
    function that is not everywhere (tests/test_published_api.py lists them, each with the
    test of its fallback); every other ``system.*`` call exists in 8.1 and 8.3."""
    try:
        import system  # (gateway only: imported when called, so the module loads anywhere)
        target = system
        for name in path.split("."):
            target = getattr(target, name, None)
            if target is None:
                return None
        return target if hasattr(target, "__call__") else None
    except CATCHABLE:
        return None


def argSpec(function):
    """(parameter names, name of the ``**`` parameter or None, defaults tuple or None)."""
    try:
        spec = inspect.getfullargspec(function)  # novm
        return list(spec.args), spec.varkw, spec.defaults
    except AttributeError:
        spec = inspect.getargspec(function)  # novm
        return list(spec.args), spec.keywords, spec.defaults


def sleepMs(ms):
    """Sleep for a number of milliseconds (no-op when not positive)."""
    if ms > 0:
        time.sleep(ms / 1000.0)
