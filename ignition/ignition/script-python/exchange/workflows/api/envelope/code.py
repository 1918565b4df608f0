"""The result shape of every public call: ``{ok, code, message, data}`` with stable codes.

``guarded`` turns any failure into an envelope (Python and Java exceptions alike), so a
button or timer script never sees an exception from the library.
"""
from __future__ import absolute_import, division, print_function

import functools

from exchange.workflows.db import tx
from exchange.workflows import codes, compat, platform, settings
from exchange.workflows.errors import WorkflowsError

# undefined_table, invalid_schema_name: the schema was never installed in this database.
_UNDEFINED_OBJECT_STATES = ("42P01", "3F000")


def ok(code, message, data=None):
    """A successful envelope."""
    return {"ok": True, "code": code, "message": message, "data": data if data is not None else {}}


def fail(code, message, data=None):
    """A failed envelope."""
    return {"ok": False, "code": code, "message": message,
            "data": data if data is not None else {}}


def dataOf(result):
    """The ``data`` of an ok envelope from another public call; a failed one is raised (a
    WorkflowsError with its code, message and data), so the guarded caller answers it."""
    if not result["ok"]:
        raise WorkflowsError(result["message"], result["code"], result["data"])
    return result["data"]


def fromError(error, dbName=None):
    """The envelope for an exception raised by the library or the database."""
    if isinstance(error, WorkflowsError):
        return fail(error.code, compat.toText(error.args[0] if error.args else error), error.data)
    errorType, message = compat.describeError(error)
    state = tx.sqlState(error)
    if state in _UNDEFINED_OBJECT_STATES:
        return fail(codes.SCHEMA_NOT_INSTALLED, u"the workflow tables are missing: run "
                    u"exchange.workflows.api.admin.installSchema() (%s)" % message,
                    {"sqlState": state})
    if tx.isDatabaseError(error):
        if not tx.databaseExists(dbName):
            return fail(codes.DATABASE_NOT_FOUND, u"no database connection named %s on this "
                        u"gateway" % compat.shown(settings.databaseName(dbName)), {})
        return fail(codes.DATABASE_ERROR, message, {"sqlState": state, "errorType": errorType,
                                                    "statement": _clip(compat.errorContext(error))})
    return fail(codes.INTERNAL_ERROR, u"%s: %s" % (errorType, message), {"errorType": errorType})


def guarded(function):
    """Decorate a public API function so it always returns an envelope."""
    spec = compat.argSpec(function)
    names = spec[0]
    dbIndex = names.index("dbName") if "dbName" in names else None

    @functools.wraps(function)
    def call(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except compat.CATCHABLE as error:
            mistake = isinstance(error, TypeError) and \
                callMistake(function.__name__, spec, args, kwargs)
            if mistake:  # the caller's, not ours: no traceback in the log
                return fail(mistake[0], mistake[1], {"parameters": list(names)})
            dbName = kwargs.get("dbName")
            if dbName is None and dbIndex is not None and len(args) > dbIndex:
                dbName = args[dbIndex]
            envelope = fromError(error, dbName)
            if envelope["code"] == codes.INTERNAL_ERROR:
                _log(function.__name__, error)
            return envelope
    call.__wrapped__ = function  # (functools.wraps sets it on Python 3 only)
    return call


STATEMENT_LIMIT = 4000


def _clip(text):
    """The call and statement of a database error for ``data`` (at most STATEMENT_LIMIT
    characters), or None."""
    if text is None or len(text) <= STATEMENT_LIMIT:
        return text
    return text[:STATEMENT_LIMIT] + u"..."


def callMistake(name, spec, args, kwargs):
    """(code, message) saying why ``name(*args, **kwargs)`` cannot be bound to its
    parameters (a misspelled keyword, a doubled argument, too many positional ones:
    INVALID_ARGUMENT; a missing one: MISSING_ARGUMENT), or None."""
    names, varkw, defaults = spec
    required = names[:len(names) - len(defaults or ())]
    unknown = sorted(k for k in kwargs if k not in names) if varkw is None else []
    doubled = sorted(k for k in kwargs if k in names[:len(args)])
    missing = [n for n in required[len(args):] if n not in kwargs]
    code = codes.INVALID_ARGUMENT
    if len(args) > len(names):
        problem = u"takes at most %d positional arguments (%d given)" % (len(names), len(args))
    elif unknown:
        problem = u"got an unexpected keyword argument '%s'" % compat.toText(unknown[0])
    elif doubled:
        problem = u"got multiple values for argument '%s'" % doubled[0]
    elif missing:
        code, problem = codes.MISSING_ARGUMENT, u"is missing the required argument(s) %s" \
            % u", ".join(missing)
    else:
        return None
    return code, u"%s() %s; its parameters are %s" % (name, problem, u", ".join(names))


def _log(name, error):
    try:
        platform.logger("exchange.workflows.api").error(
            u"%s failed: %s\n%s" % (name, compat.describeError(error)[1],
                                    compat.formatTraceback(error)))
    except compat.CATCHABLE:
        pass
