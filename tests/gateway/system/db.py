"""system.db of the gateway simulator: one front, two drivers.

What an Ignition gateway does, for the functions the engine uses, independent of the
driver:

* Calls without ``tx`` run in autocommit mode on a connection borrowed from the pool.
  ``database=""`` means the default datasource.
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
* Datasources, pools and open transactions are JVM-wide (``system._jvm``): a re-import of
  this module, or another interpreter, sees the same ones.
* Signatures are those of Ignition's published scripting API (ignition-api-stubs 8.1 and
  8.3; tests/test_published_api.py holds them to it): ``args`` is required, and
  ``runPrepUpdate``'s ``skipAudit`` defaults to False as on a gateway. A statement that
  would reach the project's audit log (skipAudit False) is recorded (``simAuditLog``).
* What comes back is what a gateway returns: runPrepQuery a PyDataSet, getConnectionInfo
  and getConnections a plain Dataset (no ``len()``, no indexing, no iteration).
* A result column of type ``void`` (``SELECT pg_advisory_xact_lock(?)``) is refused on
  both drivers (SQLSTATE 0A000): it has no value a dataset could hold, and drivers differ
  on what they make of it; select a proper value instead.

The driver (connect, execute with ``?`` parameters, error classification, cells, the
exception raised) is chosen by interpreter:

* CPython: ``system._psycopg2_driver`` (imitates pgJDBC; raises :class:`DatabaseError`
  with ``sqlState``/``cause``/``getSQLState()``/``getCause()``);
* Jython: ``system._jdbc_driver`` (pgJDBC itself; raises ``java.lang.Exception`` whose
  cause is the driver's ``SQLException``, as Ignition does).

Datasources are configured through the simulator-only ``sim*`` functions below (used by
``simulator.gateway``); scripts never call them.
"""
import collections
import threading
import time
import uuid

from system import _jvm
from system._dataset import BasicDataset
from system._dbshared import Problem, argsText, describe

if _jvm.IS_JAVA:
    from system import _jdbc_driver as _driver
else:
    from system import _psycopg2_driver as _driver
    DatabaseError = _driver.DatabaseError

READ_UNCOMMITTED = 1
READ_COMMITTED = 2
REPEATABLE_READ = 4
SERIALIZABLE = 8

# Simulator assumptions (Ignition does not document them); see simulator.gateway.
DEFAULT_TX_TIMEOUT_MS = 60000
DEFAULT_MAX_CONNECTIONS = 8
DEFAULT_POOL_WAIT_SECONDS = 10.0

_ISOLATION_LEVELS = (READ_UNCOMMITTED, READ_COMMITTED, REPEATABLE_READ, SERIALIZABLE)
_CONNECTION_COLUMNS = ["Name", "DBType", "Status", "MaxConnections", "ActiveConnections"]
_AUDIT_KEPT = 10000  # the latest audited statements simAuditLog() remembers


_state = _jvm.sharedState("system.db", datasources={}, config={"default": ""}, txs={},
                          reaper=[None])
_lock = _state["lock"]
_txCond = _state["cond"]  # signalled when transactions are used, opened or closed
_datasources = _state["datasources"]
_config = _state["config"]
_txs = _state["txs"]
_reaper = _state["reaper"]
_audited = _state.setdefault("audited", collections.deque(maxlen=_AUDIT_KEPT))


# ---------------------------------------------------------------------------------------
# Datasources and pools
# ---------------------------------------------------------------------------------------
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

    def borrow(self, waitSeconds=None):
        """A connection in autocommit mode, validated. Raises Problem on timeout/failure."""
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
                        raise Problem("Cannot get a connection, pool error Timeout waiting for "
                                      "idle object (datasource \"%s\", maxConnections=%d)"
                                      % (self.name, self.maxConnections), fromPool=True)
                    self._cond.wait(remaining)
                generation = self._generation
            if create:
                conn = None
                try:
                    conn = _driver.connect(self)
                finally:
                    if conn is None:
                        self._forget(None)
                with self._cond:
                    self._owner[id(conn)] = generation
                return conn
            if not self.testOnBorrow or _driver.validate(conn):
                return conn
            self._discard(conn)

    def release(self, conn, broken=False):
        """Give a connection back (rolled back, autocommit, default isolation), or discard
        it when broken or from before closeIdle()."""
        if not broken and not _driver.isClosed(conn):
            broken = not _driver.reset(conn)
        with self._cond:
            stale = self._owner.get(id(conn)) != self._generation
        if broken or stale or _driver.isClosed(conn):
            self._discard(conn)
            return
        with self._cond:
            self._idle.append(conn)
            self._cond.notify()

    def _discard(self, conn):
        _driver.close(conn)
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


def _datasource(database):
    name = database or _config["default"]
    with _lock:
        ds = _datasources.get(name)
    if ds is None:
        raise Problem('Datasource "%s" does not exist in this Gateway' % (name,))
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
        t.ds.release(t.conn, broken=t.broken)


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
            except _jvm.CATCHABLE:
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
        raise Problem('Transaction "%s" is closed' % (txId,))
    t.lock.acquire()
    return t


def _releaseTx(t):
    t.lock.release()
    with _txCond:
        t.inUse -= 1
        t.lastUsed = time.time()
        _txCond.notify_all()


def _fail(context, problem):
    raise _driver.error(context, problem)


# ---------------------------------------------------------------------------------------
# Statement execution
# ---------------------------------------------------------------------------------------
def _run(fn, query, args, database, tx, mode, getKey=False, audit=False):
    # the error's context ("Error executing system.db...") is formatted only when a call
    # fails, as a gateway does: formatting it before every call cost Jython 0.03-0.08 ms a
    # statement (make bench, the simulator's share)
    try:
        if tx:
            t = _acquireTx(tx)
            try:
                try:
                    result = _driver.execute(t.conn, t.ds, query, args, mode, getKey)
                except Problem as p:
                    t.broken = t.broken or p.broken
                    raise
            finally:
                _releaseTx(t)
            if audit:
                _audit(t.ds, query, args, tx)
            return result
        ds = _datasource(database)
        conn = ds.borrow()
        broken = True  # unless the statement ends normally or with a database error
        try:
            result = _driver.execute(conn, ds, query, args, mode, getKey)
            broken = False
            if audit:
                _audit(ds, query, args, None)
            return result
        except Problem as p:
            broken = p.broken
            raise
        finally:
            ds.release(conn, broken=broken)
    except Problem as p:
        _fail(describe(fn, query, argsText(args), database, tx), p)


# ---------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------
def _audit(ds, query, args, tx):
    """Remember a statement a gateway would write to the project's audit log."""
    with _lock:
        _audited.append({"database": ds.name, "query": query,
                         "args": list(args) if args is not None else [], "tx": tx})


def runPrepQuery(query, args, database="", tx=None):
    """Run a statement that returns rows (SELECT, ... RETURNING); returns a PyDataSet."""
    return _run("runPrepQuery", query, args, database, tx, "query")


def runPrepUpdate(query, args, database="", tx=None, getKey=False, skipAudit=False):
    """Run a statement that returns no rows; returns the affected row count.

    getKey=True: appends RETURNING * (as pgJDBC does for generated keys) unless the query
    already has RETURNING, and returns the first column of the first row (None if none).
    skipAudit=False (Ignition's default): the statement goes to the audit log of the
    project's audit profile; the simulator records it (simAuditLog)."""
    return _run("runPrepUpdate", query, args, database, tx, "update", getKey=getKey,
                audit=not skipAudit)


def runScalarPrepQuery(query, args, database="", tx=None):
    """First column of the first row, or None when there are no rows."""
    return _run("runScalarPrepQuery", query, args, database, tx, "scalar")


def beginTransaction(database="", isolationLevel=None, timeout=None):
    """Open a transaction holding one pooled connection; returns its id (a uuid string).

    timeout: milliseconds of inactivity (default 60000, a simulator assumption)."""
    context = describe("beginTransaction", database, isolationLevel, timeout)
    try:
        if isolationLevel is not None and isolationLevel not in _ISOLATION_LEVELS:
            raise Problem("Invalid isolation level: %s" % (isolationLevel,))
        timeoutMs = DEFAULT_TX_TIMEOUT_MS if timeout is None else timeout
        ds = _datasource(database)
        conn = ds.borrow()
        began = False
        try:
            _driver.begin(conn, isolationLevel)
            began = True
        finally:
            if not began:
                ds.release(conn, broken=True)
        t = _Tx(str(uuid.uuid4()), ds, conn, float(timeoutMs))
        _ensureReaper()
        with _txCond:
            _txs[t.id] = t
            _txCond.notify_all()
        return t.id
    except Problem as p:
        _fail(context, p)


def _txCall(fn, tx, action):
    context = describe(fn, tx)
    try:
        t = _acquireTx(tx)
        try:
            try:
                action(t.conn)
            except Problem as p:
                t.broken = t.broken or p.broken
                raise
        finally:
            _releaseTx(t)
    except Problem as p:
        _fail(context, p)


def commitTransaction(tx):
    """Commit the work done so far; the transaction stays open."""
    _txCall("commitTransaction", tx, _driver.commit)


def rollbackTransaction(tx):
    """Roll back the work done so far; the transaction stays open."""
    _txCall("rollbackTransaction", tx, _driver.rollback)


def closeTransaction(tx):
    """Close the transaction (rolling back anything uncommitted) and return its connection.

    The id becomes invalid. Closing an unknown/expired/closed id raises."""
    context = describe("closeTransaction", tx)
    with _lock:
        t = _txs.pop(tx, None)
    if t is None:
        _fail(context, Problem('Transaction "%s" is closed' % (tx,)))
    _finishTx(t)


def getConnectionInfo(name=""):
    """A plain Dataset (not a PyDataSet: no len(), use getRowCount()) with one row (Name,
    DBType, Status, MaxConnections, ActiveConnections) for a configured datasource, or zero
    rows if it does not exist. Status is "Valid" or "Faulted" (a connection could not be
    obtained)."""
    return BasicDataset(_CONNECTION_COLUMNS, _connectionRows(name))


def _connectionRows(name):
    try:
        ds = _datasource(name)
    except Problem:
        return []
    stats = ds.stats()
    status = "Valid"
    if stats["idle"] > 0 or stats["total"] < stats["max"]:
        try:
            conn = ds.borrow(waitSeconds=0)
            ds.release(conn)
        except Problem as p:
            if p.sqlState is not None:
                status = "Faulted"
    stats = ds.stats()
    return [(ds.name, "POSTGRES", status, stats["max"], stats["total"] - stats["idle"])]


def getConnections():
    """A plain Dataset of every configured datasource (columns of getConnectionInfo)."""
    with _lock:
        names = sorted(_datasources)
    rows = []
    for name in names:
        rows.extend(_connectionRows(name))
    return BasicDataset(_CONNECTION_COLUMNS, rows)


# ---------------------------------------------------------------------------------------
# Simulator-only API (what a gateway administrator configures; see simulator.gateway)
# ---------------------------------------------------------------------------------------
def simConfigure(name, dsn, **options):
    """Register (or replace) datasource ``name`` for the libpq ``dsn``; options are
    _DataSource's (maxConnections, poolWaitSeconds, testOnBorrow, stringType,
    connectTimeoutSeconds)."""
    ds = _DataSource(name, dsn, **options)
    with _lock:
        old = _datasources.get(name)
        _datasources[name] = ds
    if old is not None:
        old.closeIdle()


def simRemove(name):
    """Forget a datasource: its open transactions are rolled back, its pool closed."""
    with _lock:
        ds = _datasources.pop(name, None)
        if _config["default"] == name:
            _config["default"] = ""
    if ds is not None:
        _closeTransactions(lambda t: t.ds is ds)
        ds.closeIdle()


def simSetDefault(name):
    """The datasource used when a call passes database=""."""
    _config["default"] = name


def simCloseAll():
    """Roll back and close every open transaction, close every pooled connection."""
    _closeTransactions(lambda t: True)
    with _lock:
        sources = list(_datasources.values())
    for ds in sources:
        ds.closeIdle()


def simPoolStats(name):
    """{"total", "idle", "max"} connections of a datasource's pool."""
    try:
        return _datasource(name).stats()
    except Problem as p:
        raise KeyError(p.message)


def simOpenTransactionCount():
    """Open (not closed, not expired) transactions."""
    with _lock:
        return len(_txs)


def simAuditLog(clear=False):
    """The statements that would have reached the audit log (runPrepUpdate without
    skipAudit), oldest first, as dicts {database, query, args, tx}; ``clear``: forget them
    after reading."""
    with _lock:
        entries = list(_audited)
        if clear:
            _audited.clear()
    return entries
