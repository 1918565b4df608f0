"""system.util of the gateway simulator (CPython and Jython).

* getGlobals(): ONE JVM-wide dict (also ``system.util.globals``), surviving project
  saves (reloads of the engine), re-imports of this module and, under Jython, separate
  ``PythonInterpreter``s (see system._jvm). It supports get, setdefault (atomic), [], pop,
  clear like Ignition's.
* getLogger(name): Ignition's LoggerEx over Python ``logging`` (TRACE = level 5).
  The ``*f`` methods take Java ``String.format`` style patterns (``%s``, ``%d``); the
  simulator formats them with Python ``%`` eagerly, so a bad pattern fails in tests even
  when the level is disabled. The throwable may be a Python or (Jython) a Java exception.
* invokeAsynchronous(): a new, started, daemon thread per call (named after
  ``description``); an exception escaping the function is logged, as the gateway does.
  Under Jython it returns the ``java.lang.Thread``, as Ignition does; under CPython a
  ``threading.Thread``.
"""
import json
import logging
import sys
import threading

from system import _jvm

TRACE = 5
logging.addLevelName(TRACE, "TRACE")

_LEVELS = {
    "trace": TRACE,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}

globals = _jvm.STATE["globals"]  # noqa: A001 - Ignition exposes system.util.globals


def getGlobals():
    """The JVM-wide globals dict (the same object on every call)."""
    return _jvm.STATE["globals"]


def getProjectName():
    return _jvm.STATE["projectName"]


class LoggerEx(object):
    """Ignition's LoggerEx facade: trace/debug/info/warn/error(msg, throwable=None) and
    tracef/debugf/infof/warnf/errorf(fmt, *args)."""

    def __init__(self, name):
        self.name = name
        self._logger = logging.getLogger(name)

    def getName(self):
        return self.name

    def _log(self, level, message, throwable=None):
        excInfo = None
        if isinstance(throwable, BaseException):
            excInfo = (type(throwable), throwable, getattr(throwable, "__traceback__", None))
        elif throwable is not None:
            message = "%s: %s" % (message, _javaStackTrace(throwable) or throwable)
        self._logger.log(level, "%s", message, exc_info=excInfo)

    def _logf(self, level, fmt, args):
        message = fmt % tuple(args)
        self._logger.log(level, "%s", message)

    def trace(self, message, throwable=None):
        self._log(TRACE, message, throwable)

    def debug(self, message, throwable=None):
        self._log(logging.DEBUG, message, throwable)

    def info(self, message, throwable=None):
        self._log(logging.INFO, message, throwable)

    def warn(self, message, throwable=None):
        self._log(logging.WARNING, message, throwable)

    def error(self, message, throwable=None):
        self._log(logging.ERROR, message, throwable)

    def tracef(self, fmt, *args):
        self._logf(TRACE, fmt, args)

    def debugf(self, fmt, *args):
        self._logf(logging.DEBUG, fmt, args)

    def infof(self, fmt, *args):
        self._logf(logging.INFO, fmt, args)

    def warnf(self, fmt, *args):
        self._logf(logging.WARNING, fmt, args)

    def errorf(self, fmt, *args):
        self._logf(logging.ERROR, fmt, args)

    def isTraceEnabled(self):
        return self._logger.isEnabledFor(TRACE)

    def isDebugEnabled(self):
        return self._logger.isEnabledFor(logging.DEBUG)

    def isInfoEnabled(self):
        return self._logger.isEnabledFor(logging.INFO)


def _javaStackTrace(throwable):
    """The printed stack trace of a Java throwable (None for anything else)."""
    if not _jvm.IS_JAVA:
        return None
    from java.io import PrintWriter, StringWriter  # novm
    from java.lang import Throwable  # novm
    if not isinstance(throwable, Throwable):
        return None
    writer = StringWriter()
    throwable.printStackTrace(PrintWriter(writer))
    return writer.toString()


def getLogger(name):
    return LoggerEx(name)


def setLoggingLevel(loggerName, loggerLevel):
    """loggerLevel: "trace", "debug", "info", "warn" or "error" (case-insensitive)."""
    level = _LEVELS.get(str(loggerLevel).lower())
    if level is None:
        raise ValueError("Unknown logging level %r" % (loggerLevel,))
    logging.getLogger(loggerName).setLevel(level)


_asyncLogger = logging.getLogger("system.util.invokeAsynchronous")
_threadCounter = [0]
_counterLock = threading.Lock()


def invokeAsynchronous(function, args=None, kwargs=None, description=None):
    """Run ``function(*args, **kwargs)`` on a new daemon thread; returns the started thread
    (a java.lang.Thread under Jython)."""
    args = tuple(args or ())
    kwargs = dict(kwargs or {})
    with _counterLock:
        _threadCounter[0] += 1
        number = _threadCounter[0]
    name = description or "invokeAsynchronous-%d" % number

    def run():
        try:
            function(*args, **kwargs)
        except _jvm.CATCHABLE + (BaseException,):
            error = sys.exc_info()[1]
            trace = _javaStackTrace(error)
            if trace is not None:
                _asyncLogger.error("Error in asynchronous script %r: %s", name, trace)
            else:
                _asyncLogger.error("Error in asynchronous script %r", name,
                                   exc_info=sys.exc_info())

    if _jvm.IS_JAVA:
        from java.lang import Thread  # novm
        thread = Thread(run, name)
    else:
        thread = threading.Thread(target=run, name=name)
    thread.daemon = True
    thread.start()
    return thread


def jsonEncode(pyObj, indentFactor=None):
    """Compact JSON (no spaces) unless indentFactor is given."""
    if indentFactor:
        return json.dumps(pyObj, indent=indentFactor, default=str)
    return json.dumps(pyObj, separators=(",", ":"), default=str)


def jsonDecode(jsonString):
    return json.loads(jsonString)
