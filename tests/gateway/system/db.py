"""system.db for the CPython gateway simulator (psycopg2 underneath).

Faithful to what an Ignition gateway does over pgJDBC, for the functions the engine uses:

* ``?`` placeholders (JDBC style). ``??`` is an escaped literal ``?`` (pgJDBC rule, for the
  jsonb ``?`` operators). ``?`` inside '...', E'...', "...", $tag$...$tag$, -- and /* */
  is left alone.
* Parameters are typed the way pgJDBC types them by default: a ``str`` is sent as
  ``varchar`` (so ``INSERT INTO t(jsonb_col) VALUES (?)`` fails exactly as with JDBC; write
  ``?::jsonb``), a ``float`` as ``float8``. Configure ``stringType="unspecified"`` in
  ``simulator.gateway.addDatabase`` to mimic the ``stringtype=unspecified`` JDBC option.
* runPrepQuery on a statement without a result set raises ("No results were returned by
  the query.", SQLSTATE 02000) AFTER the statement ran (as pgJDBC's executeQuery does: in
  autocommit mode the change is committed). runPrepUpdate on a statement returning rows
  raises ("A result was returned when none was expected.", SQLSTATE 0100E), also after
  running it.
* Calls without ``tx`` run in autocommit mode on a connection borrowed from the pool.
* Transactions: string ids (uuid), each holding one pooled connection until closed.
  ``timeout`` is milliseconds of INACTIVITY, reset at every use; an expired transaction is
  rolled back by a reaper thread, its connection returned, and its id rejected afterwards.
  Simulator assumption: the default timeout (``timeout=None``) is 60000 ms.
* One bounded pool per datasource (default 8 connections; waiting for a connection gives
  up after 10 s, "Cannot get a connection, pool error Timeout waiting for idle object").
  Connections are validated on borrow (Ignition's default "Test On Borrow" with
  ``SELECT 1``), so a connection killed by a server restart or pg_terminate_backend is
  discarded and replaced transparently on the next call; a connection found broken after
  an error is discarded, never pooled again.
* json/jsonb cells come back as their JSON text (not parsed dicts); timestamptz cells as
  naive local datetimes (what a java.util.Date is to system.date), timestamp cells naive.

Errors: every failure raises :class:`DatabaseError` with ``sqlState`` (SQLSTATE or None),
``cause`` (the psycopg2 exception or None) and a message
``Error executing system.db.<fn>(<query>, [<args>], <database>, <tx>): <driver message>``.
Connection loss has sqlState ``08006`` (or the server's ``57P01``..``57P03`` when it said
goodbye), a refused connection ``08001``.
"""
import re
import threading
import time
import uuid

import psycopg2
import psycopg2.extensions
import psycopg2.extras

from system.dataset import PyDataSet

READ_UNCOMMITTED = 1
READ_COMMITTED = 2
REPEATABLE_READ = 4
SERIALIZABLE = 8

# Simulator assumptions (Ignition does not document them); see simulator.gateway.
DEFAULT_TX_TIMEOUT_MS = 60000
DEFAULT_MAX_CONNECTIONS = 8
DEFAULT_POOL_WAIT_SECONDS = 10.0

_ISOLATION_NAMES = {
    READ_UNCOMMITTED: "READ UNCOMMITTED",
    READ_COMMITTED: "READ COMMITTED",
    REPEATABLE_READ: "REPEATABLE READ",
    SERIALIZABLE: "SERIALIZABLE",
}


class DatabaseError(Exception):
    """Any failure of a system.db call (Ignition wraps a java.sql.SQLException similarly).

    Attributes: ``sqlState`` (str or None), ``cause`` (underlying exception or None),
    ``message`` (the full text, also ``str(e)``)."""

    def __init__(self, message, sqlState=None, cause=None):
        Exception.__init__(self, message)
        self.message = message
        self.sqlState = sqlState
        self.cause = cause

    def getSQLState(self):
        return self.sqlState

    def getCause(self):
        return self.cause


class _Problem(Exception):
    """Internal: a failure with a driver-style message, wrapped into DatabaseError later."""

    broken = False

    def __init__(self, message, sqlState=None, cause=None):
        Exception.__init__(self, message)
        self.message = message
        self.sqlState = sqlState
        self.cause = cause


# ---------------------------------------------------------------------------------------
# `?` -> `%s` translation
# ---------------------------------------------------------------------------------------
_DOLLAR_TAG = re.compile(r"\$([A-Za-z_\x80-\uffff][A-Za-z0-9_\x80-\uffff]*)?\$")
_IDENT_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$")
_convertCache = {}
_CACHE_MAX = 2048


def _convert(query):
    """Return (psycopg2 query, number of parameters) for a JDBC-style query."""
    hit = _convertCache.get(query)
    if hit is not None:
        return hit
    out = []
    count = 0
    i = 0
    n = len(query)
    while i < n:
        c = query[i]
        if c == "'":
            prev = query[i - 1] if i > 0 else ""
            prev2 = query[i - 2] if i > 1 else ""
            escapes = prev in "eE" and prev != "" and prev2 not in _IDENT_CHARS
            j = i + 1
            while j < n:
                if escapes and query[j] == "\\":
                    j += 2
                    continue
                if query[j] == "'":
                    break
                j += 1
            j = min(j + 1, n)
            out.append(query[i:j].replace("%", "%%"))
            i = j
        elif c == '"':
            j = query.find('"', i + 1)
            j = n if j < 0 else j + 1
            out.append(query[i:j].replace("%", "%%"))
            i = j
        elif c == "-" and query.startswith("--", i):
            j = query.find("\n", i)
            j = n if j < 0 else j + 1
            out.append(query[i:j].replace("%", "%%"))
            i = j
        elif c == "/" and query.startswith("/*", i):
            depth = 0
            j = i
            while j < n:
                if query.startswith("/*", j):
                    depth += 1
                    j += 2
                elif query.startswith("*/", j):
                    depth -= 1
                    j += 2
                    if depth == 0:
                        break
                else:
                    j += 1
            out.append(query[i:j].replace("%", "%%"))
            i = j
        elif c == "$" and (i == 0 or query[i - 1] not in _IDENT_CHARS):
            m = _DOLLAR_TAG.match(query, i)
            if m is None:
                out.append(c)
                i += 1
                continue
            tag = m.group(0)
            end = query.find(tag, m.end())
            j = n if end < 0 else end + len(tag)
            out.append(query[i:j].replace("%", "%%"))
            i = j
        elif c == "?":
            if query.startswith("??", i):
                out.append("?")
                i += 2
            else:
                out.append("%s")
                count += 1
                i += 1
        elif c == "%":
            out.append("%%")
            i += 1
        else:
            out.append(c)
            i += 1
    result = ("".join(out), count)
    if len(_convertCache) >= _CACHE_MAX:
        _convertCache.clear()
    _convertCache[query] = result
    return result


class _TypedLiteral(object):
    """A psycopg2 adapter that renders the default adaptation plus a ``::type`` cast."""

    def __init__(self, value, pgType):
        self._value = value
        self._pgType = pgType
        self._conn = None

    def __conform__(self, protocol):
        if protocol is psycopg2.extensions.ISQLQuote:
            return self
        return None

    def prepare(self, conn):
        self._conn = conn

    def getquoted(self):
        adapted = psycopg2.extensions.adapt(self._value)
        if self._conn is not None and hasattr(adapted, "prepare"):
            adapted.prepare(self._conn)
        return b"(" + adapted.getquoted() + b")::" + self._pgType


def _bindArgs(args, stringType):
    out = []
    for a in args:
        if isinstance(a, bool) or a is None:
            out.append(a)
        elif isinstance(a, str):
            out.append(_TypedLiteral(a, b"varchar") if stringType == "varchar" else a)
        elif isinstance(a, float):
            out.append(_TypedLiteral(a, b"float8"))
        else:
            out.append(a)
    return tuple(out)


def _javaStr(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _argsText(args):
    if args is None:
        return "[]"
    try:
        return "[" + ", ".join(_javaStr(a) for a in args) + "]"
    except TypeError:
        return "[" + _javaStr(args) + "]"


_SEVERITY = re.compile(r"^(ERROR|FATAL|PANIC):  ", re.MULTILINE)


def _driverMessage(err):
    text = getattr(err, "pgerror", None) or str(err)
    return _SEVERITY.sub(r"\1: ", text.strip())


def _localTimestamp(value, cursor):
    """timestamptz -> naive local datetime: a java.util.Date shown in the JVM's zone."""
    aware = psycopg2.extensions.PYDATETIMETZ(value, cursor)
    if aware is None or not hasattr(aware, "astimezone"):
        return aware
    try:
        return aware.astimezone().replace(tzinfo=None)
    except (OverflowError, ValueError):  # +/-infinity
        return aware.replace(tzinfo=None)


_TIMESTAMPTZ = psycopg2.extensions.new_type((1184,), "TIMESTAMPTZ_AS_LOCAL", _localTimestamp)


def _classify(err, conn):
    """(sqlState, broken) for a psycopg2 error raised on ``conn``."""
    state = getattr(err, "pgcode", None)
    broken = conn is None or conn.closed != 0 or isinstance(err, psycopg2.InterfaceError)
    if state is None and broken:
        state = "08006"
    return state, broken


# ---------------------------------------------------------------------------------------
# Datasources and pools
# ---------------------------------------------------------------------------------------
_lock = threading.RLock()
_txCond = threading.Condition(_lock)
_datasources = {}
_config = {"default": ""}
_txs = {}
_reaper = [None]


class _DataSource(object):
    def __init__(self, name, dsn, maxConnections=DEFAULT_MAX_CONNECTIONS,
                 poolWaitSeconds=DEFAULT_POOL_WAIT_SECONDS, testOnBorrow=True,
                 stringType="varchar", connectTimeoutSeconds=10):
        if stringType not in ("varchar", "unspecified"):
            raise ValueError("stringType must be 'varchar' or 'unspecified'")
        self.name = name
        self.dsn = dsn
        self.maxConnections = int(maxConnections)
        self.poolWaitSeconds = float(poolWaitSeconds)
        self.testOnBorrow = testOnBorrow
        self.stringType = stringType
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self._cond = threading.Condition(threading.Lock())
        self._idle = []
        self._total = 0
        self._generation = 0
        self._owner = {}  # id(conn) -> generation

    # -- pool ---------------------------------------------------------------------------
    def _connect(self):
        try:
            conn = psycopg2.connect(self.dsn, connect_timeout=self.connectTimeoutSeconds,
                                    application_name="ignition-simulator")
        except psycopg2.Error as e:
            raise _Problem(_driverMessage(e), getattr(e, "pgcode", None) or "08001", e)
        conn.autocommit = True
        raw = lambda s: s
        psycopg2.extras.register_default_json(conn, loads=raw)
        psycopg2.extras.register_default_jsonb(conn, loads=raw)
        psycopg2.extensions.register_type(_TIMESTAMPTZ, conn)
        return conn

    def borrow(self, waitSeconds=None):
        """A connection in autocommit mode, validated. Raises _Problem on timeout/failure."""
        wait = self.poolWaitSeconds if waitSeconds is None else waitSeconds
        deadline = time.time() + wait
        while True:
            conn = None
            create = False
            with self._cond:
                while True:
                    if self._idle:
                        conn = self._idle.pop()
                        break
                    if self._total < self.maxConnections:
                        self._total += 1
                        create = True
                        break
                    remaining = deadline - time.time()
                    if remaining <= 0:
                        raise _Problem("Cannot get a connection, pool error Timeout waiting for "
                                       "idle object (datasource \"%s\", maxConnections=%d)"
                                       % (self.name, self.maxConnections))
                    self._cond.wait(remaining)
                generation = self._generation
            if create:
                try:
                    conn = self._connect()
                except BaseException:
                    self._forget(None)
                    raise
                with self._cond:
                    self._owner[id(conn)] = generation
                return conn
            if not self.testOnBorrow or self._validate(conn):
                return conn
            self._discard(conn)

    def _validate(self, conn):
        if conn.closed:
            return False
        try:
            cur = conn.cursor()
            try:
                cur.execute("SELECT 1")
                cur.fetchall()
            finally:
                cur.close()
            return True
        except psycopg2.Error:
            return False

    def release(self, conn, broken=False):
        if not broken and not conn.closed:
            try:
                if conn.status != psycopg2.extensions.STATUS_READY:
                    conn.rollback()
                if not conn.autocommit or conn.isolation_level is not None:
                    conn.set_session(isolation_level="DEFAULT", autocommit=True)
            except psycopg2.Error:
                broken = True
        with self._cond:
            stale = self._owner.get(id(conn)) != self._generation
        if broken or conn.closed or stale:
            self._discard(conn)
            return
        with self._cond:
            self._idle.append(conn)
            self._cond.notify()

    def _discard(self, conn):
        try:
            conn.close()
        except Exception:
            pass
        self._forget(conn)

    def _forget(self, conn):
        with self._cond:
            if conn is not None:
                self._owner.pop(id(conn), None)
            self._total -= 1
            self._cond.notify()

    def closeIdle(self):
        """Close pooled connections; connections in use are closed when given back."""
        with self._cond:
            idle = self._idle
            self._idle = []
            self._generation += 1
        for conn in idle:
            self._discard(conn)

    def stats(self):
        with self._cond:
            return {"total": self._total, "idle": len(self._idle),
                    "max": self.maxConnections}


def _configure(name, dsn, **options):
    """simulator.gateway.addDatabase: register (or replace) a datasource."""
    ds = _DataSource(name, dsn, **options)
    with _lock:
        old = _datasources.get(name)
        _datasources[name] = ds
    if old is not None:
        old.closeIdle()
    return ds


def _unconfigure(name):
    with _lock:
        ds = _datasources.pop(name, None)
        if _config["default"] == name:
            _config["default"] = ""
    if ds is not None:
        _closeTransactions(lambda t: t.ds is ds)
        ds.closeIdle()


def _setDefault(name):
    _config["default"] = name


def _closeAll():
    """Roll back and close every open transaction, close every pooled connection."""
    _closeTransactions(lambda t: True)
    with _lock:
        sources = list(_datasources.values())
    for ds in sources:
        ds.closeIdle()


def _datasource(database):
    name = database or _config["default"]
    with _lock:
        ds = _datasources.get(name)
    if ds is None:
        raise _Problem('Datasource "%s" does not exist in this Gateway' % (name,))
    return ds


# ---------------------------------------------------------------------------------------
# Transactions
# ---------------------------------------------------------------------------------------
class _Tx(object):
    def __init__(self, txId, ds, conn, timeoutMs):
        self.id = txId
        self.ds = ds
        self.conn = conn
        self.timeoutSeconds = timeoutMs / 1000.0
        self.lastUsed = time.time()
        self.inUse = 0
        self.lock = threading.Lock()
        self.broken = False

    def deadline(self):
        return self.lastUsed + self.timeoutSeconds

    def expired(self, now):
        return self.inUse == 0 and now >= self.deadline()


def _finishTx(t):
    """Roll back and give the connection back (caller removed t from _txs)."""
    with t.lock:
        broken = t.broken or t.conn.closed != 0
        if not broken:
            try:
                t.conn.rollback()
            except psycopg2.Error:
                broken = True
        t.ds.release(t.conn, broken=broken)


def _closeTransactions(predicate):
    with _lock:
        doomed = [t for t in _txs.values() if predicate(t)]
        for t in doomed:
            del _txs[t.id]
    for t in doomed:
        _finishTx(t)


def _reaperLoop():
    while True:
        with _txCond:
            now = time.time()
            doomed = [t for t in _txs.values() if t.expired(now)]
            for t in doomed:
                del _txs[t.id]
            if not doomed:
                pending = [t.deadline() for t in _txs.values() if t.inUse == 0]
                wait = min(pending) - now if pending else 1.0
                _txCond.wait(max(0.001, min(wait, 1.0)))
                continue
        for t in doomed:
            try:
                _finishTx(t)
            except Exception:
                pass


def _ensureReaper():
    with _lock:
        if _reaper[0] is None or not _reaper[0].is_alive():
            th = threading.Thread(target=_reaperLoop, name="system.db transaction reaper")
            th.daemon = True
            th.start()
            _reaper[0] = th


def _acquireTx(txId):
    expired = None
    with _lock:
        t = _txs.get(txId)
        if t is not None and t.expired(time.time()):
            del _txs[txId]
            expired, t = t, None
        if t is not None:
            t.inUse += 1
    if expired is not None:
        _finishTx(expired)
    if t is None:
        raise _Problem('Transaction "%s" is closed' % (txId,))
    t.lock.acquire()
    return t


def _releaseTx(t):
    t.lock.release()
    with _txCond:
        t.inUse -= 1
        t.lastUsed = time.time()
        _txCond.notify_all()


def _describe(fn, *parts):
    return "Error executing system.db.%s(%s)" % (fn, ", ".join(_javaStr(p) if p != "" else ""
                                                                for p in parts))


def _fail(context, problem):
    raise DatabaseError("%s: %s" % (context, problem.message), problem.sqlState, problem.cause)


# ---------------------------------------------------------------------------------------
# Statement execution
# ---------------------------------------------------------------------------------------
_RETURNING = re.compile(r"\breturning\b", re.IGNORECASE)


def _execute(conn, ds, query, args, mode, getKey=False):
    sql, expected = _convert(query)
    args = [] if args is None else list(args)
    if len(args) < expected:
        raise _Problem("No value specified for parameter %d." % (len(args) + 1), "22023")
    if len(args) > expected:
        raise _Problem("The column index is out of range: %d, number of columns: %d."
                       % (len(args), expected), "22023")
    if getKey and not _RETURNING.search(sql):
        sql = sql.rstrip().rstrip(";") + " RETURNING *"
    cur = conn.cursor()
    try:
        try:
            cur.execute(sql, _bindArgs(args, ds.stringType))
        except psycopg2.Error as e:
            state, broken = _classify(e, conn)
            problem = _Problem(_driverMessage(e), state, e)
            problem.broken = broken
            raise problem
        except (TypeError, ValueError, IndexError) as e:
            raise _Problem("Cannot bind parameters: %s" % (e,), None, e)
        if mode == "update":
            if getKey:
                rows = cur.fetchall() if cur.description is not None else []
                return rows[0][0] if rows else None
            if cur.description is not None:
                raise _Problem("A result was returned when none was expected.", "0100E")
            return max(cur.rowcount, 0)  # DDL: JDBC reports 0
        if cur.description is None:
            raise _Problem("No results were returned by the query.", "02000")
        rows = cur.fetchall()
        if mode == "scalar":
            return rows[0][0] if rows else None
        return PyDataSet([d[0] for d in cur.description], rows)
    finally:
        try:
            cur.close()
        except psycopg2.Error:
            pass


def _run(fn, query, args, database, tx, mode, getKey=False):
    context = _describe(fn, query, _argsText(args), database, tx)
    try:
        if tx:
            t = _acquireTx(tx)
            try:
                try:
                    return _execute(t.conn, t.ds, query, args, mode, getKey)
                except _Problem as p:
                    if getattr(p, "broken", False):
                        t.broken = True
                    raise
            finally:
                _releaseTx(t)
        ds = _datasource(database)
        conn = ds.borrow()
        broken = False
        try:
            return _execute(conn, ds, query, args, mode, getKey)
        except _Problem as p:
            broken = getattr(p, "broken", False)
            raise
        except BaseException:
            broken = True
            raise
        finally:
            ds.release(conn, broken=broken)
    except _Problem as p:
        _fail(context, p)


# ---------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------
def runPrepQuery(query, args=None, database="", tx=None):
    """Run a statement that returns rows (SELECT, ... RETURNING); returns a PyDataSet."""
    return _run("runPrepQuery", query, args, database, tx, "query")


def runPrepUpdate(query, args=None, database="", tx=None, getKey=False, skipAudit=True):
    """Run a statement that returns no rows; returns the affected row count.

    getKey=True: appends RETURNING * (as pgJDBC does for generated keys) unless the query
    already has RETURNING, and returns the first column of the first row (None if none)."""
    return _run("runPrepUpdate", query, args, database, tx, "update", getKey=getKey)


def runScalarPrepQuery(query, args=None, database="", tx=None):
    """First column of the first row, or None when there are no rows."""
    return _run("runScalarPrepQuery", query, args, database, tx, "scalar")


def beginTransaction(database="", isolationLevel=None, timeout=None):
    """Open a transaction holding one pooled connection; returns its id (a uuid string).

    timeout: milliseconds of inactivity (default 60000, a simulator assumption)."""
    context = _describe("beginTransaction", database, isolationLevel, timeout)
    try:
        if isolationLevel is not None and isolationLevel not in _ISOLATION_NAMES:
            raise _Problem("Invalid isolation level: %s" % (isolationLevel,))
        timeoutMs = DEFAULT_TX_TIMEOUT_MS if timeout is None else timeout
        ds = _datasource(database)
        conn = ds.borrow()
        try:
            conn.set_session(isolation_level=_ISOLATION_NAMES.get(isolationLevel, "DEFAULT"),
                             autocommit=False)
        except psycopg2.Error as e:
            ds.release(conn, broken=True)
            state, _ = _classify(e, conn)
            raise _Problem(_driverMessage(e), state, e)
        t = _Tx(str(uuid.uuid4()), ds, conn, float(timeoutMs))
        _ensureReaper()
        with _txCond:
            _txs[t.id] = t
            _txCond.notify_all()
        return t.id
    except _Problem as p:
        _fail(context, p)


def _txCall(fn, tx, action):
    context = _describe(fn, tx)
    try:
        t = _acquireTx(tx)
        try:
            try:
                action(t.conn)
            except psycopg2.Error as e:
                state, broken = _classify(e, t.conn)
                t.broken = t.broken or broken
                raise _Problem(_driverMessage(e), state, e)
        finally:
            _releaseTx(t)
    except _Problem as p:
        _fail(context, p)


def commitTransaction(tx):
    """Commit the work done so far; the transaction stays open."""
    _txCall("commitTransaction", tx, lambda conn: conn.commit())


def rollbackTransaction(tx):
    """Roll back the work done so far; the transaction stays open."""
    _txCall("rollbackTransaction", tx, lambda conn: conn.rollback())


def closeTransaction(tx):
    """Close the transaction (rolling back anything uncommitted) and return its connection.

    The id becomes invalid. Closing an unknown/expired/closed id raises DatabaseError."""
    context = _describe("closeTransaction", tx)
    with _lock:
        t = _txs.pop(tx, None)
    if t is None:
        _fail(context, _Problem('Transaction "%s" is closed' % (tx,)))
    _finishTx(t)


def getConnectionInfo(name=""):
    """Dataset with one row (Name, DBType, Status, MaxConnections, ActiveConnections) for a
    configured datasource, or zero rows if it does not exist. Status is "Valid" or
    "Faulted" (a connection could not be obtained)."""
    columns = ["Name", "DBType", "Status", "MaxConnections", "ActiveConnections"]
    try:
        ds = _datasource(name)
    except _Problem:
        return PyDataSet(columns, [])
    stats = ds.stats()
    status = "Valid"
    if stats["idle"] > 0 or stats["total"] < stats["max"]:
        try:
            conn = ds.borrow(waitSeconds=0)
            ds.release(conn)
        except _Problem as p:
            if p.sqlState is not None:
                status = "Faulted"
    stats = ds.stats()
    return PyDataSet(columns, [(ds.name, "POSTGRES", status, stats["max"],
                                stats["total"] - stats["idle"])])


def getConnections():
    """Dataset of every configured datasource (same columns as getConnectionInfo)."""
    with _lock:
        names = sorted(_datasources)
    rows = []
    for name in names:
        for row in getConnectionInfo(name):
            rows.append(list(row))
    return PyDataSet(["Name", "DBType", "Status", "MaxConnections", "ActiveConnections"], rows)
