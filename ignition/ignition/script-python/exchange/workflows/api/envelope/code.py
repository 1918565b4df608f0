"""The result shape of every public call: ``{ok, code, message, data}`` with stable codes.

``guarded`` turns any failure into an envelope (Python and Java exceptions alike), so a
button or timer script never sees an exception from the library.
"""
from __future__ import absolute_import, division, print_function

import functools

from exchange.workflows.engine import compat
from exchange.workflows.engine.errors import WorkflowsError

# Codes of failures that are not the caller's fault.
DATABASE_NOT_FOUND = "DATABASE_NOT_FOUND"
SCHEMA_NOT_INSTALLED = "SCHEMA_NOT_INSTALLED"
DATABASE_ERROR = "DATABASE_ERROR"
INTERNAL_ERROR = "INTERNAL_ERROR"

# undefined_table, invalid_schema_name: the schema was never installed in this database.
_UNDEFINED_OBJECT_STATES = ("42P01", "3F000")


def ok(code, message, data=None):
    """A successful envelope."""
    return {"ok": True, "code": code, "message": message, "data": data if data is not None else {}}


def fail(code, message, data=None):
    """A failed envelope."""
    return {"ok": False, "code": code, "message": message,
            "data": data if data is not None else {}}


def fromError(error, dbName=None):
    """The envelope for an exception raised by the library or the database."""
    if isinstance(error, WorkflowsError):
        return fail(error.code, compat.toText(error.args[0] if error.args else error), error.data)
    from exchange.workflows.db import tx
    errorType, message = compat.describeError(error)
    state = tx.sqlState(error)
    if state in _UNDEFINED_OBJECT_STATES:
        return fail(SCHEMA_NOT_INSTALLED, u"the workflow tables are missing: run "
                    u"exchange.workflows.api.admin.installSchema() (%s)" % message,
                    {"sqlState": state})
    if tx.isDatabaseError(error):
        if not tx.databaseExists(dbName):
            from exchange.workflows.engine import settings
            return fail(DATABASE_NOT_FOUND, u"no database connection named %r on this gateway"
                        % settings.databaseName(dbName), {})
        return fail(DATABASE_ERROR, message, {"sqlState": state, "errorType": errorType})
    return fail(INTERNAL_ERROR, u"%s: %s" % (errorType, message), {"errorType": errorType})


def guarded(function):
    """Decorate a public API function so it always returns an envelope."""
    names = compat.argSpec(function)[0]
    dbIndex = names.index("dbName") if "dbName" in names else None

    @functools.wraps(function)
    def call(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except compat.CATCHABLE as error:
            dbName = kwargs.get("dbName")
            if dbName is None and dbIndex is not None and len(args) > dbIndex:
                dbName = args[dbIndex]
            envelope = fromError(error, dbName)
            if envelope["code"] == INTERNAL_ERROR:
                _log(function.__name__, error)
            return envelope
    return call


def _log(name, error):
    try:
        import system
        system.util.getLogger("exchange.workflows.api").error(
            u"%s failed: %s\n%s" % (name, compat.describeError(error)[1],
                                    compat.formatTraceback(error)))
    except compat.CATCHABLE:
        pass
