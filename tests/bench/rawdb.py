"""The bench's raw database seam: baselines and set-up talk to PostgreSQL without the
simulator, through the driver a gateway's interpreter has.

* CPython: psycopg2 itself (``connect`` returns a psycopg2 connection in autocommit;
  ``executeValues`` is ``psycopg2.extras.execute_values``).
* Jython: bare JDBC (pgJDBC's ``java.sql`` objects) behind the few DB-API calls the bench
  uses (``cursor().execute/fetchone/fetchall/rowcount/description/close``, ``close``):
  ``%s`` and ``%(name)s`` placeholders become ``?`` (``%%`` a ``%``; no translation without
  parameters, as psycopg2), every statement is prepared and closed per call (as
  ``system.db`` does, so the pgJDBC statement cache treats both alike), a list parameter is
  a ``text[]``, json/jsonb cells come back decoded as psycopg2 returns them. The baselines
  under Jython thus send the same statements as the psycopg2 ones, over the driver a
  gateway's ``system.db`` uses.

Also the interpreter-neutral clock (``time.perf_counter`` is missing on Python 2.7, and
Jython's ``time.time`` ticks in milliseconds: ``System.nanoTime`` there).
"""
from __future__ import absolute_import, division, print_function

import json
import re
import sys
import time

IS_JAVA = sys.platform.startswith("java")

if IS_JAVA:
    from java.lang import System as _System  # novm

    def clock():
        """Seconds from an arbitrary origin, nanosecond resolution (System.nanoTime)."""
        return _System.nanoTime() / 1e9
else:
    clock = getattr(time, "perf_counter", time.time)


def driverName():
    return "JDBC (pgJDBC)" if IS_JAVA else "psycopg2"


def connect(dsn, applicationName="bench-raw"):
    """A raw autocommit connection to the libpq ``dsn`` (DB-API subset). Under CPython its
    statements are prepared server-side from their 5th use, as pgJDBC prepares them (under
    Jython, and behind the gateway simulator's system.db on both): like with like."""
    if not IS_JAVA:
        import psycopg2
        conn = psycopg2.connect(dsn, application_name=applicationName,
                                connection_factory=_preparingConnection())
        conn.autocommit = True
        return conn
    return _JdbcConnection(dsn, applicationName)


_PREPARING = []


def _preparingConnection():
    """The psycopg2 connection class whose cursors prepare as pgJDBC does (made once)."""
    if _PREPARING:
        return _PREPARING[0]
    import os
    import psycopg2.extensions
    gateway = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "gateway")
    if gateway not in sys.path:
        sys.path.append(gateway)
    from system import _psycopg2_driver as driver

    class PreparingCursor(psycopg2.extensions.cursor):
        def execute(self, query, vars=None):
            if isinstance(vars, (list, tuple)):
                sent = driver.prepared(self.connection, self, query, list(vars), "unspecified")
                if sent is not None:
                    return psycopg2.extensions.cursor.execute(self, sent, vars)
            return psycopg2.extensions.cursor.execute(self, query, vars)

    class PreparingConnection(driver.Connection):
        def cursor(self, *args, **kwargs):
            kwargs.setdefault("cursor_factory", PreparingCursor)
            return driver.Connection.cursor(self, *args, **kwargs)

    _PREPARING.append(PreparingConnection)
    return PreparingConnection


def executeValues(cur, statement, rows, template=None, pageSize=500):
    """``INSERT .. VALUES %s`` for many rows, ``pageSize`` rows a statement (psycopg2's
    execute_values; the same multi-row statements over JDBC)."""
    if not IS_JAVA:
        import psycopg2.extras
        psycopg2.extras.execute_values(cur, statement, rows, template=template,
                                       page_size=pageSize)
        return
    for start in range(0, len(rows), pageSize):
        page = rows[start:start + pageSize]
        one = template or "(" + ", ".join(["%s"] * len(page[0])) + ")"
        values = ", ".join([one] * len(page))
        at = statement.rfind("%s")  # the VALUES %s
        cur.execute(statement[:at] + values + statement[at + 2:],
                    [value for row in page for value in row])


# ----------------------------------------------------------------------------------------
# Jython: bare JDBC behind a DB-API subset
# ----------------------------------------------------------------------------------------
_NAMED = re.compile(r"%\((\w+)\)s|%s|%%")


def translate(statement, params):
    """(JDBC statement with ``?``, ordered parameter list) for a psycopg2-style one."""
    if params is None:
        return statement, []
    ordered = []
    positional = list(params) if not isinstance(params, dict) else None
    index = [0]

    def swap(match):
        text = match.group(0)
        if text == "%%":
            return "%"
        if match.group(1) is not None:
            ordered.append(params[match.group(1)])
        else:
            ordered.append(positional[index[0]])
            index[0] += 1
        return "?"
    return _NAMED.sub(swap, statement), ordered


class _JdbcConnection(object):
    def __init__(self, dsn, applicationName):
        from system import _jdbc_driver
        url, props = _jdbc_driver.jdbcConfig(dsn)
        props.setProperty("ApplicationName", applicationName)
        self.jdbc = _jdbc_driver._DRIVER.connect(url, props)
        self.jdbc.setAutoCommit(True)
        self.autocommit = True

    def cursor(self):
        return _JdbcCursor(self)

    def close(self):
        self.jdbc.close()


class _JdbcCursor(object):
    def __init__(self, conn):
        self.conn = conn
        self.rows = None
        self.rowcount = -1
        self.description = None

    def execute(self, statement, params=None):
        text, ordered = translate(statement, params)
        jdbc = self.conn.jdbc
        st = jdbc.prepareStatement(text)
        try:
            for index, value in enumerate(ordered):
                st.setObject(index + 1, self._toJava(jdbc, value))
            if st.execute():
                rs = st.getResultSet()
                meta = rs.getMetaData()
                width = meta.getColumnCount()
                kinds = [meta.getColumnTypeName(i) for i in range(1, width + 1)]
                self.description = [(meta.getColumnLabel(i),) for i in range(1, width + 1)]
                rows = []
                while rs.next():
                    rows.append(tuple(self._cell(rs.getObject(i), kinds[i - 1])
                                      for i in range(1, width + 1)))
                self.rows = rows
                self.rowcount = len(rows)
            else:
                self.rows = None
                self.description = None
                self.rowcount = st.getUpdateCount()
        finally:
            st.close()

    @staticmethod
    def _toJava(jdbc, value):
        from system import _jdbc_driver
        if isinstance(value, (list, tuple)):
            return jdbc.createArrayOf("text", [u"%s" % v for v in value])
        return _jdbc_driver._toJava(value)

    @staticmethod
    def _cell(value, kind):
        if value is None:
            return None
        if kind in ("json", "jsonb"):
            return json.loads(value.getValue())
        from java.math import BigDecimal  # novm - Jython only (numeric: avg() and the like)
        if isinstance(value, BigDecimal):
            return float(value.doubleValue())
        return value

    def fetchall(self):
        rows, self.rows = self.rows or [], []
        return rows

    def fetchone(self):
        if not self.rows:
            return None
        return self.rows.pop(0)

    def close(self):
        self.rows = None
