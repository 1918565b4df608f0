"""The only door to the database: ``system.db`` prepared statements and transactions.

Rows come back as lists of plain Python values (``cell`` converts the Java types a gateway
returns), so the SQL modules above never see a PyDataSet or a Java object. A transaction is
always opened, used and closed inside one call here: none stays open across user code.

The timer goes first (``first``). A gateway's pool hands a returned connection to whoever
asks next, not to the longest waiter: under a backlog a worker that just returned its
connection takes it back at once for its next statement, and the timer's tick (the lease
renewal among it) waited out the pool's 10 s, once per tick, while the workers waited
milliseconds (pool of 8, 8 workers: Ignition's and the engine's defaults). So a thread
marked ``first`` counts its statements while they run, JVM-wide, and any other thread's
statement that needs a connection waits (1 ms slices, YIELD_MAX_MS at most) while one runs:
the connections the workers return meanwhile go to it. One read of a counter per statement
when nobody is first.
"""
from __future__ import absolute_import, division, print_function

import threading

import system

from exchange.workflows import compat, platform, settings

if compat.IS_JYTHON:  # pragma: no cover - exercised by the Jython suite
    from java.lang import Number, String  # novm
    from java.sql import SQLException  # novm
    from java.util import Date  # novm


def cell(value):
    """A database cell as a plain Python value (Java Long, String, BigDecimal, Date...)."""
    if value is None or not compat.IS_JYTHON:
        return value
    if isinstance(value, String):
        return compat.toText(value)
    if isinstance(value, Date):
        return int(value.getTime())
    if isinstance(value, Number):
        text = value.toString()
        return float(text) if ("." in text or "E" in text) else int(text)
    return value


def _rows(dataset):
    count = len(dataset)
    if not count:
        return []
    width = len(dataset.getColumnNames())
    result = []
    for index in range(count):
        row = dataset[index]
        result.append([cell(row[col]) for col in range(width)])
    return result


YIELD_MAX_MS = 50  # the longest a statement waits for the first ones (a stuck one: go)
_FIRST_KEY = "exchange.workflows.tx.firstStatements"


class _First(threading.local):
    """Whether this thread's statements go first (``first``)."""
    on = False


_first = _First()
_firstCount = []  # the JVM-wide count of statements of ``first`` threads running now


def _running():
    if not _firstCount:
        counter = platform.globalsMap().get(_FIRST_KEY)
        if counter is None:
            counter = platform.globalsMap().setdefault(_FIRST_KEY, platform.newAtomicLong(0))
        _firstCount.append(counter)
    return _firstCount[0]


def first(work):
    """``work()`` with this thread's statements first in line for a pool connection (the
    timer's tick): see the module's docstring."""
    before = _first.on
    _first.on = True
    try:
        return work()
    finally:
        _first.on = before


def _inTurn(call, *args, **kwargs):
    """A statement that borrows a connection from the pool, in its turn."""
    counter = _running()
    if _first.on:
        counter.incrementAndGet()
        try:
            return call(*args, **kwargs)
        finally:
            counter.decrementAndGet()
    if counter.get():
        endMs = compat.monotonicMs() + YIELD_MAX_MS
        while counter.get() and compat.monotonicMs() < endMs:
            compat.sleepMs(1)
    return call(*args, **kwargs)


def query(dbName, sql, args=(), tx=None):
    """Run a statement that returns rows (SELECT, or DML with RETURNING); list of row lists."""
    if tx is None:
        return _rows(_inTurn(system.db.runPrepQuery, sql, list(args),
                             settings.databaseName(dbName), None))
    return _rows(system.db.runPrepQuery(sql, list(args), settings.databaseName(dbName), tx))


def update(dbName, sql, args=(), tx=None, skipAudit=False):
    """Run a statement that returns no rows; the number of rows it changed.

    ``skipAudit=True`` keeps it out of the audit log of the project's audit profile (the
    engine's own frequent bookkeeping: the timer tick, a run's status writes); writes an
    operator or a script asked for stay audited, Ignition's default."""
    if tx is None:
        return _inTurn(system.db.runPrepUpdate, sql, list(args), settings.databaseName(dbName),
                       None, skipAudit=skipAudit)
    return system.db.runPrepUpdate(sql, list(args), settings.databaseName(dbName), tx,
                                   skipAudit=skipAudit)


def scalar(dbName, sql, args=(), tx=None):
    """First column of the first row, or None."""
    if tx is None:
        return cell(_inTurn(system.db.runScalarPrepQuery, sql, list(args),
                            settings.databaseName(dbName), None))
    return cell(system.db.runScalarPrepQuery(sql, list(args), settings.databaseName(dbName), tx))


def inTransaction(dbName, work, timeoutMs=None):
    """Run ``work(tx)`` in one transaction at the connection's default isolation level:
    commit on success, roll back on any error, close."""
    tx = _inTurn(system.db.beginTransaction, database=settings.databaseName(dbName),
                 timeout=timeoutMs or settings.TX_TIMEOUT_MS)
    try:
        result = work(tx)
        system.db.commitTransaction(tx)
        return result
    except BaseException:  # (a control signal too: nothing of this transaction may land)
        _quietly(system.db.rollbackTransaction, tx)
        raise
    except compat.JavaThrowable:  # pragma: no cover - Jython only
        _quietly(system.db.rollbackTransaction, tx)
        raise
    finally:
        _quietly(system.db.closeTransaction, tx)


def _quietly(function, tx):
    try:
        function(tx)
    except compat.CATCHABLE:
        pass


def _field(obj, attribute, getter):
    """A Python attribute, else the value of a Java getter, else None."""
    value = getattr(obj, attribute, None)
    if value is None and hasattr(obj, getter):
        try:
            value = getattr(obj, getter)()
        except compat.CATCHABLE:
            value = None
    return value


def sqlState(error):
    """The SQLSTATE behind a ``system.db`` error (Python or Java), or None."""
    current = error
    for _ in range(10):
        if current is None:
            return None
        state = _field(current, "sqlState", "getSQLState")
        if state:
            return compat.toText(state)
        cause = _field(current, "cause", "getCause")
        current = cause if cause is not current else None
    return None


def databaseExists(dbName):
    """Whether the gateway has a database connection of that name. getConnectionInfo
    answers a plain Dataset, which has no len() in Jython: getRowCount()."""
    try:
        info = system.db.getConnectionInfo(settings.databaseName(dbName))
        return info.getRowCount() > 0
    except compat.CATCHABLE:
        return False


# SQLSTATE classes worth retrying: connection lost, out of resources, operator intervention,
# serialization failure / deadlock. No SQLSTATE at all usually means no connection either.
_TRANSIENT_CLASSES = ("08", "53", "57", "40")


def isDatabaseError(error):
    """Whether an exception came from ``system.db`` (and not from a bug of ours)."""
    if sqlState(error) is not None:
        return True
    if compat.IS_JYTHON and isinstance(error, compat.JavaThrowable):
        return _fromSystemDb(error)
    text = compat.describeError(error)[1]
    return type(error).__name__ == "DatabaseError" or "system.db" in text \
        or "Datasource" in text


def _fromSystemDb(error):
    """Whether a Java exception came from system.db: it wraps the driver's SQLException, or
    says it is about a datasource or a statement ("Error executing system.db...", "Datasource
    ... not found", a faulted pool). A NullPointerException of a Java library is a bug, and
    retrying it forever would hide it."""
    current = error
    for _ in range(10):
        if current is None:
            return False
        if isinstance(current, SQLException):
            return True
        text = compat.toText(current.getMessage())
        if "system.db" in text or "atasource" in text or "ransaction" in text:
            return True
        cause = current.getCause()
        current = cause if cause is not current else None
    return False


def isTransient(error):
    """Whether a database error may succeed when simply tried again (a connection lost, a
    pool exhausted, a deadlock): never a programming error."""
    if not isDatabaseError(error):
        return False
    state = sqlState(error)
    return state is None or state[:2] in _TRANSIENT_CLASSES


# A transaction that lost a race with another (a deadlock, a serialization failure): it
# changed nothing and may simply run again.
LOST_RACE_STATES = ("40P01", "40001")


def retrying(work, tries=8, maxDelayMs=2000, describe=None, onlyStates=None):
    """Call ``work()``, retrying transient database errors with exponential backoff from
    50 ms; ``tries=None`` retries without limit, warning now and then when ``describe``
    names the work. Non-transient errors are raised at once, and with ``onlyStates`` every
    error whose SQLSTATE is not one of them (an API call retries a lost race, not a
    connection that does not exist).

    Only for statements that are safe to repeat (guarded or idempotent writes, reads).
    """
    delay = 50
    attempt = 0
    while True:
        attempt += 1
        try:
            return work()
        except compat.CATCHABLE as error:
            if attempt == tries or not isTransient(error) or (
                    onlyStates is not None and sqlState(error) not in onlyStates):
                raise
            if describe and (attempt in (3, 20) or attempt % 100 == 0):
                _warn(u"%s: the database is not answering (try %d, retrying): %s"
                      % (describe, attempt, compat.describeError(error)[1]))
            compat.sleepMs(delay)
            delay = min(maxDelayMs, delay * 2)


def persistently(work, describe=u"database write"):
    """Call ``work()`` until it succeeds, waiting out transient database errors (an outage
    pauses the caller; it never fails it). For the writes that must land for a run to go on:
    start, checkpoints, terminal writes, and the status reads between retries."""
    return retrying(work, None, 5000, describe)


def _warn(message):
    try:
        platform.logger("exchange.workflows.db").warn(message)
    except compat.CATCHABLE:
        pass
