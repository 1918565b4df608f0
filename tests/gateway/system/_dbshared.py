"""What system.db and its two drivers (_psycopg2_driver, _jdbc_driver) share: the internal
failure type, the Java-style text of values in error messages, and the refusal of a
``void`` result column."""


class Problem(Exception):
    """Internal: a failure with a driver-style message; system.db turns it into the error
    the interpreter's gateway raises (``driver.error``).

    ``sqlState``: SQLSTATE or None; ``cause``: the driver's exception or None; ``broken``:
    the connection it happened on is unusable; ``fromPool``: raised by the connection pool
    (a java.sql.SQLException on a gateway)."""

    def __init__(self, message, sqlState=None, cause=None, broken=False, fromPool=False):
        Exception.__init__(self, message)
        self.message = message
        self.sqlState = sqlState
        self.cause = cause
        self.broken = broken
        self.fromPool = fromPool


def javaText(value):
    """``String.valueOf(value)`` as Java shows it: null, true/false, text never raising on
    non-ASCII under Python 2."""
    if value is None:
        return u"null"
    if isinstance(value, bool):
        return u"true" if value else u"false"
    try:
        return u"%s" % (value,)
    except UnicodeError:
        return repr(value)


def argsText(args):
    """A list of arguments as Java's ``List.toString()`` shows it: ``[a, 1, null]``."""
    if args is None:
        return u"[]"
    try:
        return u"[" + u", ".join(javaText(a) for a in args) + u"]"
    except TypeError:
        return u"[" + javaText(args) + u"]"


def describe(fn, *parts):
    """``Error executing system.db.<fn>(<part>, ...)``; an empty string part stays empty."""
    return u"Error executing system.db.%s(%s)" % (
        fn, u", ".join(javaText(p) if p != "" else u"" for p in parts))


def voidColumn(index, name):
    """The refusal of result column ``index`` (0-based) of type void, raised by both drivers
    after the statement ran: a void column has no value a dataset could hold (drivers make
    null, an empty string or an error of it), so the simulator stops any such statement."""
    return Problem(u"result column %d (%s) has the type void: select a value instead, e.g. "
                   u"SELECT 1 FROM (SELECT pg_advisory_xact_lock(?)) l (refused by the "
                   u"gateway simulator)" % (index + 1, javaText(name)), "0A000")
