"""system.db driver for Jython: pgJDBC, as on an Ignition gateway.

* The datasource's libpq DSN (``host=... port=... user=... dbname=...``, as under CPython)
  becomes a ``jdbc:postgresql://host:port/dbname`` URL plus properties; connections come
  from ``org.postgresql.Driver().connect`` (DriverManager does not see drivers loaded by
  Jython's class loader). ``stringType="unspecified"`` is the ``stringtype=unspecified``
  option; by default pgJDBC types a String parameter as varchar.
* Placeholders, ``??``, parameter counts, "No results were returned by the query.",
  "A result was returned when none was expected." and generated keys are pgJDBC's own.
* Arguments are converted as Ignition converts Python values (an assumption): int ->
  Integer, long -> Long (BigInteger beyond 64 bits), float -> Double, bool -> Boolean,
  str/unicode -> String, Decimal -> BigDecimal, None -> NULL; Java objects pass as they are.
* Rows are Java ``Object[]`` arrays filled by ``ResultSet.getObject`` without passing
  through Python, so reading a cell goes through Jython's own Java -> Python coercion, as it
  does on a gateway: Long -> long, String -> unicode, Timestamp/BigDecimal/PGobject (json)
  stay Java objects, NULL -> None.
* Errors are what Ignition raises: ``java.lang.Exception("Error executing
  system.db.<fn>(<query>, [<args>], <database>, <tx>)", cause)`` where the cause is the
  driver's ``SQLException`` (``getSQLState()``); a pool timeout's cause is an
  ``SQLException`` without SQLSTATE, a missing datasource's or a closed transaction's a
  plain ``java.lang.Exception``. These are Java exceptions: ``except Exception`` does not
  catch them under Jython.
"""
import decimal

from java.lang import Exception as JavaException  # novm
from java.lang import Integer, Long, Object, Throwable  # novm
from java.lang.invoke import MethodHandleProxies, MethodHandles, MethodType  # novm
from java.math import BigDecimal, BigInteger  # novm
from java.net import URLEncoder  # novm
from java.sql import ResultSet, SQLException, Statement  # novm
from java.util import ArrayList, Properties  # novm
from java.util.function import IntFunction  # novm
from java.util.stream import IntStream  # novm

from system._dataset import PyDataSet
from system._dbshared import Problem, voidColumn

try:
    from org.postgresql import Driver as _PgDriver  # novm
except ImportError:
    raise ImportError("pgJDBC is not on the class path: put /usr/share/java/postgresql.jar "
                      "(Debian package libpostgresql-jdbc-java) on CLASSPATH or sys.path")

_DRIVER = _PgDriver()
_GET_OBJECT = MethodHandles.publicLookup().findVirtual(
    ResultSet, "getObject", MethodType.methodType(Object, Integer.TYPE))
_INT_TYPES = (int, type(2 ** 64))


# ---------------------------------------------------------------------------------------
# libpq DSN -> JDBC URL
# ---------------------------------------------------------------------------------------
def parseDsn(dsn):
    """The ``key=value`` pairs of a libpq connection string (values may be '...' quoted,
    with backslash escapes), as a dict."""
    result = {}
    i, n = 0, len(dsn)
    while True:
        while i < n and dsn[i].isspace():
            i += 1
        if i >= n:
            return result
        eq = dsn.find("=", i)
        if eq < 0:
            raise ValueError("missing \"=\" after %r in connection info string" % dsn[i:])
        key = dsn[i:eq].strip()
        i = eq + 1
        while i < n and dsn[i].isspace():
            i += 1
        value = []
        quoted = i < n and dsn[i] == "'"
        if quoted:
            i += 1
        while i < n:
            c = dsn[i]
            if c == "\\" and i + 1 < n:
                value.append(dsn[i + 1])
                i += 2
                continue
            if (quoted and c == "'") or (not quoted and c.isspace()):
                i += 1
                break
            value.append(c)
            i += 1
        else:
            if quoted:
                raise ValueError("unterminated quoted string in connection info string")
        result[key] = "".join(value)


# libpq keyword -> pgJDBC property (same meaning)
_PROPERTIES = {"user": "user", "password": "password", "connect_timeout": "connectTimeout",
               "application_name": "ApplicationName", "sslmode": "sslmode",
               "sslcert": "sslcert", "sslkey": "sslkey", "sslrootcert": "sslrootcert",
               "options": "options"}


def jdbcConfig(dsn, stringType="varchar", connectTimeoutSeconds=10):
    """(JDBC URL, java.util.Properties) for a libpq DSN."""
    pairs = parseDsn(dsn)
    props = Properties()
    props.setProperty("connectTimeout", str(int(connectTimeoutSeconds)))
    props.setProperty("ApplicationName", "ignition-simulator")
    host = pairs.pop("host", None) or pairs.pop("hostaddr", None) or "localhost"
    pairs.pop("hostaddr", None)
    if host.startswith("/"):
        raise ValueError("JDBC cannot use the Unix socket %r: give host=<address>" % host)
    port = pairs.pop("port", None) or "5432"
    dbname = pairs.pop("dbname", None) or pairs.get("user") or "postgres"
    for key, value in sorted(pairs.items()):
        if key not in _PROPERTIES:
            raise ValueError("connection option %r has no pgJDBC equivalent here" % key)
        props.setProperty(_PROPERTIES[key], value)
    if stringType == "unspecified":
        props.setProperty("stringtype", "unspecified")
    if ":" in host and not host.startswith("["):
        host = "[%s]" % host  # IPv6 literal
    url = "jdbc:postgresql://%s:%s/%s" % (host, port,
                                          URLEncoder.encode(dbname, "UTF-8").replace("+", "%20"))
    return url, props


# ---------------------------------------------------------------------------------------
# Connections (the pool in system.db calls these)
# ---------------------------------------------------------------------------------------
class _Conn(object):
    """A java.sql.Connection; ``isolated``: a transaction changed its isolation level."""

    __slots__ = ("jdbc", "isolated")

    def __init__(self, jdbc):
        self.jdbc = jdbc
        self.isolated = False


def _problem(err, conn):
    """A Problem for an SQLException raised on ``conn`` (broken: the connection is gone)."""
    state = err.getSQLState()
    try:
        broken = conn is None or conn.jdbc.isClosed()
    except SQLException:
        broken = True
    broken = broken or (state is not None and state.startswith("08"))
    message = err.getMessage()
    return Problem(message if message is not None else err.toString(), state, err,
                   broken=broken)


def error(context, problem):
    """The exception a failed call raises: java.lang.Exception(context, cause)."""
    cause = problem.cause
    if not isinstance(cause, Throwable):
        if problem.fromPool or problem.sqlState is not None:
            cause = SQLException(problem.message, problem.sqlState)
        else:
            cause = JavaException(problem.message)
    return JavaException(context, cause)


def connect(ds):
    """A new connection for datasource ``ds`` in autocommit mode; raises Problem."""
    url, props = jdbcConfig(ds.dsn, ds.stringType, ds.connectTimeoutSeconds)
    try:
        jdbc = _DRIVER.connect(url, props)
    except SQLException as e:
        raise Problem(e.getMessage() or e.toString(), e.getSQLState() or "08001", e)
    if jdbc is None:
        raise Problem("pgJDBC does not accept the URL %s" % url, "08001")
    jdbc.setAutoCommit(True)
    return _Conn(jdbc)


def isClosed(conn):
    try:
        return conn.jdbc.isClosed()
    except SQLException:
        return True


def validate(conn):
    """Test on borrow: SELECT 1 works."""
    st = None
    try:
        st = conn.jdbc.createStatement()
        rs = st.executeQuery("SELECT 1")
        return rs.next()
    except SQLException:
        return False
    finally:
        _closeQuietly(st)


def reset(conn):
    """Back to pool state (rolled back, autocommit, default isolation); False if broken."""
    jdbc = conn.jdbc
    st = None
    try:
        if not jdbc.getAutoCommit():
            jdbc.rollback()
            jdbc.setAutoCommit(True)
        if conn.isolated:
            st = jdbc.createStatement()
            st.execute("RESET default_transaction_isolation")
            conn.isolated = False
        return True
    except SQLException:
        return False
    finally:
        _closeQuietly(st)


def close(conn):
    try:
        conn.jdbc.close()
    except SQLException:
        pass


def begin(conn, isolationLevel):
    """Leave autocommit mode with the given isolation level (None: the default); Ignition's
    constants are JDBC's (java.sql.Connection.TRANSACTION_*: 1, 2, 4, 8)."""
    try:
        if isolationLevel is not None:
            conn.isolated = True
            conn.jdbc.setTransactionIsolation(isolationLevel)
        conn.jdbc.setAutoCommit(False)
    except SQLException as e:
        raise _problem(e, conn)


def commit(conn):
    try:
        conn.jdbc.commit()
    except SQLException as e:
        raise _problem(e, conn)


def rollback(conn):
    try:
        conn.jdbc.rollback()
    except SQLException as e:
        raise _problem(e, conn)


# ---------------------------------------------------------------------------------------
# Statements
# ---------------------------------------------------------------------------------------
def _toJava(value):
    """A Python argument as Ignition hands it to JDBC (see the module docstring)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, _INT_TYPES) and not isinstance(value, int):
        if -2 ** 63 <= value < 2 ** 63:
            return Long(value)
        return BigInteger(str(value))
    if isinstance(value, decimal.Decimal):
        return BigDecimal(str(value))
    return value


def _closeQuietly(closeable):
    if closeable is not None:
        try:
            closeable.close()
        except SQLException:
            pass


def _refuseVoid(meta):
    """A result column of type void (type name "void") is refused (_dbshared.voidColumn)."""
    for column in range(1, meta.getColumnCount() + 1):
        if meta.getColumnTypeName(column) == "void":
            raise voidColumn(column - 1, meta.getColumnLabel(column))


def _dataset(rs):
    """A PyDataSet whose rows are Object[] arrays straight from ResultSet.getObject."""
    meta = rs.getMetaData()
    width = meta.getColumnCount()
    names = [meta.getColumnLabel(i) for i in range(1, width + 1)]
    getter = MethodHandleProxies.asInterfaceInstance(IntFunction, _GET_OBJECT.bindTo(rs))
    rows = ArrayList()
    while rs.next():
        rows.add(IntStream.rangeClosed(1, width).mapToObj(getter).toArray())
    return PyDataSet(names, rows)


def execute(conn, ds, query, args, mode, getKey=False):
    """Run ``query``: mode "query" -> PyDataSet, "scalar" -> first cell or None, "update"
    -> row count (or the generated key with getKey). Raises Problem."""
    jdbc = conn.jdbc
    st = None
    try:
        try:
            if getKey:
                st = jdbc.prepareStatement(query, Statement.RETURN_GENERATED_KEYS)
            else:
                st = jdbc.prepareStatement(query)
            for index, value in enumerate([] if args is None else list(args)):
                st.setObject(index + 1, _toJava(value))
            if mode == "update":
                count = st.executeUpdate()
                if not getKey:
                    return count
                keys = st.getGeneratedKeys()
                return keys.getObject(1) if keys is not None and keys.next() else None
            rs = st.executeQuery()
            _refuseVoid(rs.getMetaData())
            if mode == "scalar":
                return rs.getObject(1) if rs.next() else None
            return _dataset(rs)
        except SQLException as e:
            raise _problem(e, conn)
    finally:
        _closeQuietly(st)

