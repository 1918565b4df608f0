"""The contract of the gateway simulator's ``system`` package.

Every behaviour of system.db / util / date / tag that exchange.workflows relies on is pinned
here, so both simulators (CPython + psycopg2 under pytest, Jython 2.7 + pgJDBC under
tests/jython_suite.py) are held to the same file. Keep it Python 2.7 compatible: no
f-strings, annotations, keyword-only args.

Errors differ by interpreter as they differ between a gateway and our CPython stand-in:
under Jython system.db raises ``java.lang.Exception("Error executing system.db...", cause)``
with the driver's ``SQLException`` as cause (not caught by ``except Exception``), under
CPython ``system.db.DatabaseError``. The tests read both through ``errorMessages`` and the
engine's own ``exchange.workflows.db.tx.sqlState``.

Database: ``dsnProvider`` (set by tests/conftest.py under pytest, by tests/jython_suite.py
under Jython) or the environment variable WORKFLOWS_CONTRACT_DSN (a database we may create
tables in); DB tests skip without either. The runner must put ``tests/gateway`` and
``tests`` on sys.path; this module installs the engine's script library for sqlState.
"""
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
import unittest

import system
from helpers import runConcurrently, waitFor
from simulator import gateway, loader

loader.install([loader.engineRoot()])
from exchange.workflows.db.tx import sqlState  # noqa: E402  (the engine's SQLSTATE reader)

STRING_TYPES = (str, type(u""))  # + unicode on Python 2 / Jython
INT_TYPES = (int, type(2 ** 64))  # + long on Python 2 / Jython
JYTHON = sys.platform.startswith("java")
if JYTHON:
    import java.lang  # novm
    import java.sql  # novm
    CATCHABLE = (Exception, java.lang.Throwable)
else:
    CATCHABLE = (Exception,)

dsnProvider = None
DSN_ENV = "WORKFLOWS_CONTRACT_DSN"
DB = "ContractDB"


def contractDsn():
    if dsnProvider is not None:
        return dsnProvider()
    return os.environ.get(DSN_ENV)


def query(sql, args=None, tx=None):
    return system.db.runPrepQuery(sql, args or [], DB, tx)


def scalar(sql, args=None, tx=None):
    return system.db.runScalarPrepQuery(sql, args or [], DB, tx)


def update(sql, args=None, tx=None):
    return system.db.runPrepUpdate(sql, args or [], DB, tx)


def itemCount():
    return scalar("SELECT count(*) FROM contract_items")


def errorMessages(error):
    """The messages of an error and its causes, outermost first (Python or Java)."""
    messages = []
    while error is not None and len(messages) < 10:
        if JYTHON and isinstance(error, java.lang.Throwable):
            messages.append(error.getMessage() or u"")
        else:
            messages.append(u"%s" % (error,))
        cause = getattr(error, "cause", None)  # Java: getCause() as a bean property
        error = cause if cause is not error else None
    return messages


class DbTestCase(unittest.TestCase):
    maxConnections = 8
    poolWaitSeconds = 10.0

    def setUp(self):
        self.dsn = contractDsn()
        if not self.dsn:
            self.skipTest("no contract database (set %s)" % DSN_ENV)
        self.configure()
        self.addCleanup(gateway.removeDatabase, DB)
        self.addCleanup(gateway.closeAll)
        update("CREATE TABLE IF NOT EXISTS contract_items (id SERIAL PRIMARY KEY, "
               "name TEXT UNIQUE, qty BIGINT, flag BOOLEAN, ratio DOUBLE PRECISION)")
        update("TRUNCATE contract_items RESTART IDENTITY")

    def configure(self, **options):
        options.setdefault("maxConnections", self.maxConnections)
        options.setdefault("poolWaitSeconds", self.poolWaitSeconds)
        gateway.addDatabase(DB, self.dsn, **options)
        gateway.setDefaultDatabase(DB)

    def assertDatabaseError(self, fn, *args, **kwargs):
        """The error ``fn`` raises: what a gateway raises (java.lang.Exception, exactly)
        under Jython, system.db.DatabaseError under CPython; its message is always
        ``Error executing system.db.<function>(...)``."""
        try:
            fn(*args, **kwargs)
        except CATCHABLE as e:
            if JYTHON:
                self.assertTrue(type(e) is java.lang.Exception, repr(e))
            else:
                self.assertTrue(isinstance(e, system.db.DatabaseError), repr(e))
            self.assertTrue(errorMessages(e)[0].startswith("Error executing system.db."),
                            errorMessages(e))
            return e
        self.fail("expected a system.db error from %r" % (fn,))

    def assertIsPlainDataset(self, ds):
        """A Java Dataset, not a PyDataSet: Jython gives it no len(), indexing or
        iteration (it is not a Collection), so neither does the simulator."""
        for use in (len, lambda d: d[0], iter, lambda d: [r for r in d]):
            self.assertRaises(TypeError, use, ds)

    def assertErrorSays(self, error, text):
        self.assertTrue(any(text in m for m in errorMessages(error)), errorMessages(error))

    def assertSqlCause(self, error, state):
        """The SQLSTATE ``state`` reaches the engine, and the cause is the driver's error
        (a java.sql.SQLException under Jython)."""
        self.assertEqual(sqlState(error), state)
        self.assertTrue(error.cause is not None)
        if JYTHON:
            self.assertTrue(isinstance(error.cause, java.sql.SQLException), repr(error.cause))


class PyDataSetContract(DbTestCase):

    def test_shape_and_access(self):
        ds = query("SELECT g AS n, 'r' || g AS label FROM generate_series(1, 3) g ORDER BY g")
        self.assertEqual(len(ds), 3)
        self.assertEqual(ds.getRowCount(), 3)
        self.assertEqual(ds.getColumnCount(), 2)
        self.assertEqual(list(ds.getColumnNames()), ["n", "label"])
        self.assertEqual(ds.getColumnName(1), "label")
        self.assertEqual(ds.getColumnIndex("label"), 1)
        self.assertEqual(ds.getColumnIndex("missing"), -1)
        self.assertEqual(ds[0][0], 1)
        self.assertEqual(ds[0]["label"], "r1")
        self.assertEqual(list(ds[1]), [2, "r2"])
        self.assertEqual(len(ds[2]), 2)
        self.assertEqual(ds.getValueAt(2, "n"), 3)
        self.assertEqual(ds.getValueAt(2, 1), "r3")
        self.assertEqual([row["n"] for row in ds], [1, 2, 3])
        self.assertEqual([list(row) for row in ds][2], [3, "r3"])
        plain = ds.getUnderlyingDataset()
        self.assertEqual((plain.getRowCount(), plain.getValueAt(2, "label")), (3, "r3"))
        self.assertIsPlainDataset(plain)

    def test_empty_result_keeps_columns(self):
        ds = query("SELECT 1 AS a, 2 AS b WHERE false")
        self.assertEqual(len(ds), 0)
        self.assertEqual(list(ds.getColumnNames()), ["a", "b"])
        self.assertEqual([r for r in ds], [])


class QueryContract(DbTestCase):
    def test_scalar_none_on_empty(self):
        self.assertTrue(scalar("SELECT id FROM contract_items WHERE name = ?", ["none"]) is None)
        self.assertEqual(scalar("SELECT 41 + ?", [1]), 42)

    def test_update_row_counts(self):
        self.assertEqual(update("INSERT INTO contract_items (name, qty) VALUES (?, ?), (?, ?), (?, ?)",
                                ["a", 1, "b", 2, "c", 3]), 3)
        self.assertEqual(update("UPDATE contract_items SET qty = qty + 1 WHERE qty >= ?", [2]), 2)
        self.assertEqual(update("DELETE FROM contract_items WHERE name = ?", ["zzz"]), 0)
        self.assertEqual(itemCount(), 3)

    def test_returning_through_run_prep_query(self):
        ds = query("INSERT INTO contract_items (name, qty) VALUES (?, ?) RETURNING id, name", ["r", 5])
        self.assertEqual(len(ds), 1)
        self.assertEqual(ds[0]["id"], 1)
        self.assertEqual(ds[0]["name"], "r")
        ds = query("UPDATE contract_items SET qty = 6 WHERE name = ? RETURNING qty", ["r"])
        self.assertEqual(ds[0][0], 6)

    def test_get_key(self):
        key = system.db.runPrepUpdate("INSERT INTO contract_items (name) VALUES (?)", ["k1"],
                                      DB, None, True)
        self.assertEqual(key, 1)

    def test_placeholders_in_literals_comments_and_quotes_untouched(self):
        ds = query("SELECT '?' AS q, ? AS v, 'a%b' AS p, $$x?$$ AS d, \"?\" AS w -- a ? here\n"
                   "FROM (SELECT 1 AS \"?\") s /* and ? here */", [5])
        self.assertEqual(ds[0]["q"], "?")
        self.assertEqual(ds[0]["v"], 5)
        self.assertEqual(ds[0]["p"], "a%b")
        self.assertEqual(ds[0]["d"], "x?")
        self.assertEqual(ds[0]["w"], 1)
        self.assertTrue(scalar("SELECT 'a%b' LIKE ?", ["a%"]))

    def test_double_question_mark_is_a_literal_question_mark(self):
        self.assertTrue(scalar("SELECT (?::jsonb) ?? 'a'", ['{"a": 1}']))

    def test_null_and_types(self):
        ds = query("SELECT 'a'::text AS t, 5::bigint AS b, true AS f, 1.5::float8 AS d, "
                   "NULL::text AS n, 7::int AS i")
        row = ds[0]
        self.assertTrue(isinstance(row["t"], STRING_TYPES))
        self.assertEqual(row["t"], "a")
        self.assertTrue(isinstance(row["b"], INT_TYPES))
        self.assertEqual(row["b"], 5)
        self.assertTrue(row["f"] is True)
        self.assertTrue(isinstance(row["d"], float))
        self.assertEqual(row["d"], 1.5)
        self.assertTrue(row["n"] is None)
        self.assertEqual(row["i"], 7)

    def test_args_round_trip(self):
        row = query("SELECT ?::text AS t, ?::bigint AS b, ?::boolean AS f, ?::float8 AS d, "
                    "?::text IS NULL AS n", ["x", 2 ** 40, True, 0.25, None])[0]
        self.assertEqual(list(row), ["x", 2 ** 40, True, 0.25, True])

    def test_parameter_types_are_jdbc_types(self):
        # pgJDBC types a String parameter as varchar: casts like ?::jsonb are required.
        self.assertEqual(scalar("SELECT pg_typeof(?)::text", ["x"]), "character varying")
        self.assertEqual(scalar("SELECT pg_typeof(?)::text", [1.5]), "double precision")
        self.assertEqual(scalar("SELECT pg_typeof(?)::text", [True]), "boolean")
        self.assertEqual(scalar("SELECT (?::jsonb)->>'a'", ['{"a": "b"}']), "b")

    def test_wrong_argument_count_raises(self):
        self.assertDatabaseError(query, "SELECT ?, ?", [1])
        self.assertDatabaseError(query, "SELECT ?", [1, 2])


class PreparedStatementContract(DbTestCase):
    """pgJDBC prepares a statement server-side once a connection has run it a few times
    (prepareThreshold, 5 by default): the server then parses and plans it as a prepared
    statement, not at every call. The simulator's psycopg2 driver does the same, so the
    engine's statements cost the server what they cost it behind a gateway."""
    maxConnections = 1  # every call on the one connection

    def preparedCount(self, marker):
        return scalar("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE ?",
                      ["%" + marker + "%"])

    def test_a_statement_runs_prepared_after_a_few_executions(self):
        marker = "contract_prepare_marker"
        statement = "SELECT ?::bigint + 1 AS %s" % marker
        for i in range(3):
            self.assertEqual(scalar(statement, [i]), i + 1)
        self.assertEqual(self.preparedCount(marker), 0, "prepared too soon")
        for i in range(3, 10):
            self.assertEqual(scalar(statement, [i]), i + 1)
        self.assertEqual(self.preparedCount(marker), 1, "never prepared")
        # and it still answers as before, with other types as well (a NULL, a string)
        self.assertEqual(scalar(statement, [None]), None)
        self.assertEqual(scalar("SELECT ?::text || 'x' AS %s_text" % marker, ["a"]), "ax")

    def test_a_prepared_write_counts_its_rows_and_keeps_errors_as_they_were(self):
        for i in range(8):
            self.assertEqual(update("INSERT INTO contract_items (name, qty) VALUES (?, ?)",
                                    ["n%d" % i, i]), 1)
        self.assertEqual(update("UPDATE contract_items SET qty = qty + ? WHERE qty >= ?",
                                [1, 0]), 8)
        error = self.assertDatabaseError(update, "INSERT INTO contract_items (name, qty) "
                                                 "VALUES (?, ?)", ["n1", 1])
        self.assertSqlCause(error, "23505")


class ErrorContract(DbTestCase):
    def test_run_prep_query_on_update_raises_after_running(self):
        update("INSERT INTO contract_items (name, qty) VALUES ('u', 1)")
        e = self.assertDatabaseError(query, "UPDATE contract_items SET qty = 2 WHERE name = 'u'")
        self.assertErrorSays(e, "No results were returned by the query.")
        self.assertTrue(errorMessages(e)[0].startswith("Error executing system.db.runPrepQuery("))
        # like pgJDBC's executeQuery, the statement ran (autocommit: committed)
        self.assertEqual(scalar("SELECT qty FROM contract_items WHERE name = 'u'"), 2)

    def test_the_error_names_the_statement_and_its_arguments(self):
        # (formatted when the call fails, not before every call: a gateway's cost too)
        e = self.assertDatabaseError(query, "SELECT CAST(? AS integer) / ?", ["7", 0])
        self.assertIn("SELECT CAST(? AS integer) / ?, [7, 0]", errorMessages(e)[0])

    def test_run_prep_update_on_select_raises(self):
        e = self.assertDatabaseError(update, "SELECT 1")
        self.assertErrorSays(e, "A result was returned when none was expected.")
        self.assertTrue(errorMessages(e)[0].startswith("Error executing system.db.runPrepUpdate("))

    def test_unknown_database(self):
        e = self.assertDatabaseError(system.db.runPrepQuery, "SELECT 1", [], "NoSuchDb")
        self.assertErrorSays(e, 'Datasource "NoSuchDb" does not exist')
        self.assertTrue(sqlState(e) is None)
        e = self.assertDatabaseError(system.db.beginTransaction, "NoSuchDb")
        self.assertErrorSays(e, 'Datasource "NoSuchDb" does not exist')

    def test_sql_state_unique_violation(self):
        update("INSERT INTO contract_items (name) VALUES (?)", ["dup"])
        e = self.assertDatabaseError(update, "INSERT INTO contract_items (name) VALUES (?)", ["dup"])
        self.assertSqlCause(e, "23505")
        self.assertErrorSays(e, "duplicate key")

    def test_sql_state_undefined_table(self):
        e = self.assertDatabaseError(query, "SELECT * FROM contract_no_such_table")
        self.assertSqlCause(e, "42P01")
        self.assertErrorSays(e, "contract_no_such_table")

    def test_void_result_column_is_refused(self):
        for run in (query, scalar):
            e = self.assertDatabaseError(run, "SELECT pg_advisory_xact_lock(hashtext(?))",
                                         ["contract"])
            self.assertErrorSays(e, "has the type void")
            self.assertEqual(sqlState(e), "0A000")
        self.assertEqual(scalar("SELECT 1 FROM (SELECT pg_advisory_xact_lock(hashtext(?))) l",
                                ["contract"]), 1)


class ConnectionInfoContract(DbTestCase):
    def test_connection_info_is_a_plain_dataset(self):
        ds = system.db.getConnectionInfo(DB)
        self.assertIsPlainDataset(ds)
        self.assertEqual(ds.getRowCount(), 1)
        names = list(ds.getColumnNames())
        self.assertEqual(ds.getColumnCount(), len(names))
        self.assertEqual(ds.getValueAt(0, names.index("Name")), DB)
        self.assertEqual(ds.getValueAt(0, "Status"), "Valid")
        self.assertEqual(system.db.getConnectionInfo("NoSuchDb").getRowCount(), 0)

    def test_connections_list_every_datasource(self):
        ds = system.db.getConnections()
        self.assertIsPlainDataset(ds)
        self.assertTrue(DB in [ds.getValueAt(r, "Name") for r in range(ds.getRowCount())])


class DefaultsContract(DbTestCase):
    def test_default_database(self):
        self.assertEqual(system.db.runScalarPrepQuery("SELECT 1", []), 1)
        self.assertEqual(system.db.runScalarPrepQuery("SELECT ?", [2], ""), 2)

    def test_args_are_required(self):
        for fn in (system.db.runPrepQuery, system.db.runScalarPrepQuery,
                   system.db.runPrepUpdate):
            self.assertRaises(TypeError, fn, "SELECT 1")

    def test_updates_are_audited_unless_skip_audit(self):
        system.db.simAuditLog(clear=True)
        update("INSERT INTO contract_items (name) VALUES (?)", ["audited"])
        system.db.runPrepUpdate("INSERT INTO contract_items (name) VALUES (?)", ["quiet"], DB,
                                skipAudit=True)
        tx = system.db.beginTransaction(DB)
        try:
            update("UPDATE contract_items SET qty = ? WHERE name = ?", [1, "audited"], tx)
            system.db.commitTransaction(tx)
        finally:
            system.db.closeTransaction(tx)
        query("SELECT count(*) FROM contract_items")  # a query is never audited
        logged = system.db.simAuditLog(clear=True)
        self.assertEqual([(e["database"], e["args"], e["tx"] is None) for e in logged],
                         [(DB, ["audited"], True), (DB, [1, "audited"], False)])
        self.assertEqual(system.db.simAuditLog(), [])


class TransactionContract(DbTestCase):
    def test_commit_visible_rollback_invisible(self):
        tx = system.db.beginTransaction(DB)
        try:
            self.assertTrue(isinstance(tx, STRING_TYPES))
            update("INSERT INTO contract_items (name) VALUES (?)", ["t1"], tx)
            self.assertEqual(scalar("SELECT count(*) FROM contract_items", tx=tx), 1)
            self.assertEqual(itemCount(), 0)
            system.db.commitTransaction(tx)
            self.assertEqual(itemCount(), 1)
            # the transaction stays open after commit and rollback
            update("INSERT INTO contract_items (name) VALUES (?)", ["t2"], tx)
            system.db.rollbackTransaction(tx)
            self.assertEqual(itemCount(), 1)
            update("INSERT INTO contract_items (name) VALUES (?)", ["t3"], tx)
            system.db.commitTransaction(tx)
        finally:
            system.db.closeTransaction(tx)
        self.assertEqual(sorted(r[0] for r in query("SELECT name FROM contract_items")),
                         ["t1", "t3"])

    def test_close_uncommitted_rolls_back_and_invalidates(self):
        tx = system.db.beginTransaction(DB)
        update("INSERT INTO contract_items (name) VALUES (?)", ["gone"], tx)
        system.db.closeTransaction(tx)
        self.assertEqual(itemCount(), 0)
        e = self.assertDatabaseError(scalar, "SELECT 1", None, tx)
        self.assertErrorSays(e, "closed")
        self.assertTrue(sqlState(e) is None)
        self.assertDatabaseError(system.db.commitTransaction, tx)
        self.assertDatabaseError(system.db.closeTransaction, tx)
        self.assertDatabaseError(scalar, "SELECT 1", None, "no-such-transaction")

    def test_isolation_levels(self):
        self.assertEqual((system.db.READ_UNCOMMITTED, system.db.READ_COMMITTED,
                          system.db.REPEATABLE_READ, system.db.SERIALIZABLE), (1, 2, 4, 8))
        for level, name in ((None, "read committed"),
                            (system.db.READ_COMMITTED, "read committed"),
                            (system.db.REPEATABLE_READ, "repeatable read"),
                            (system.db.SERIALIZABLE, "serializable")):
            tx = system.db.beginTransaction(DB, level)
            try:
                self.assertEqual(scalar("SHOW transaction_isolation", tx=tx), name)
            finally:
                system.db.closeTransaction(tx)
        # autocommit calls after a pooled connection served a transaction are back to default
        self.assertEqual(scalar("SHOW transaction_isolation"), "read committed")

    def test_repeatable_read_snapshot(self):
        tx = system.db.beginTransaction(DB, system.db.REPEATABLE_READ)
        try:
            self.assertEqual(scalar("SELECT count(*) FROM contract_items", tx=tx), 0)
            update("INSERT INTO contract_items (name) VALUES ('outside')")
            self.assertEqual(scalar("SELECT count(*) FROM contract_items", tx=tx), 0)
        finally:
            system.db.closeTransaction(tx)
        tx = system.db.beginTransaction(DB, system.db.READ_COMMITTED)
        try:
            self.assertEqual(scalar("SELECT count(*) FROM contract_items", tx=tx), 1)
            update("INSERT INTO contract_items (name) VALUES ('outside2')")
            self.assertEqual(scalar("SELECT count(*) FROM contract_items", tx=tx), 2)
        finally:
            system.db.closeTransaction(tx)

    def test_error_aborts_transaction_until_rollback(self):
        tx = system.db.beginTransaction(DB)
        try:
            e = self.assertDatabaseError(scalar, "SELECT * FROM contract_no_such_table", None, tx)
            self.assertSqlCause(e, "42P01")
            e = self.assertDatabaseError(scalar, "SELECT 1", None, tx)
            self.assertSqlCause(e, "25P02")
            system.db.rollbackTransaction(tx)
            self.assertEqual(scalar("SELECT 1", tx=tx), 1)
        finally:
            system.db.closeTransaction(tx)

    def test_inactivity_timeout_expires_and_rolls_back(self):
        tx = system.db.beginTransaction(DB, None, 300)
        update("INSERT INTO contract_items (name) VALUES ('expiring')", None, tx)
        waitFor(lambda: gateway.openTransactionCount() == 0, 10,
                message="transaction never expired")
        e = self.assertDatabaseError(scalar, "SELECT 1", None, tx)
        self.assertErrorSays(e, "closed")
        self.assertEqual(itemCount(), 0)

    def test_use_resets_the_inactivity_timer(self):
        tx = system.db.beginTransaction(DB, None, 400)
        try:
            end = time.time() + 1.2
            while time.time() < end:
                self.assertEqual(scalar("SELECT 1", tx=tx), 1)
                threading.Event().wait(0.1)
        finally:
            system.db.closeTransaction(tx)

    def test_expired_transaction_returns_its_connection(self):
        self.configure(maxConnections=1, poolWaitSeconds=10.0)
        tx = system.db.beginTransaction(DB, None, 200)
        self.assertTrue(tx)
        # the only connection is held by tx; this waits until the reaper frees it
        self.assertEqual(scalar("SELECT 7"), 7)


class PoolContract(DbTestCase):
    maxConnections = 2

    def test_pool_exhaustion_times_out(self):
        self.configure(poolWaitSeconds=0.3)
        tx1 = system.db.beginTransaction(DB)
        tx2 = system.db.beginTransaction(DB)
        try:
            start = time.time()
            e = self.assertDatabaseError(system.db.beginTransaction, DB)
            self.assertTrue(time.time() - start >= 0.25)
            self.assertErrorSays(e, "Cannot get a connection")
            self.assertDatabaseError(scalar, "SELECT 1")
        finally:
            system.db.closeTransaction(tx1)
            system.db.closeTransaction(tx2)
        self.assertEqual(scalar("SELECT 1"), 1)

    def test_waiting_begin_succeeds_when_a_transaction_closes(self):
        self.configure(poolWaitSeconds=10.0)
        tx1 = system.db.beginTransaction(DB)
        tx2 = system.db.beginTransaction(DB)
        got = []
        done = threading.Event()

        def third():
            try:
                got.append(system.db.beginTransaction(DB))
            finally:
                done.set()
        threading.Thread(target=third).start()
        try:
            self.assertFalse(done.wait(0.3), "third beginTransaction should wait for a connection")
            system.db.closeTransaction(tx1)
            waitFor(done.is_set, 10, message="third beginTransaction never got a connection")
            self.assertEqual(len(got), 1)
            self.assertEqual(scalar("SELECT 3", tx=got[0]), 3)
        finally:
            for tx in [tx2] + got:
                system.db.closeTransaction(tx)

    def backendGone(self, pid, tx=None):
        # inside a transaction pg_stat_activity is read once and kept: clear it each time
        scalar("SELECT 1 FROM (SELECT pg_stat_clear_snapshot()) AS cleared", [], tx)
        return scalar("SELECT count(*) FROM pg_stat_activity WHERE pid = ?", [pid], tx) == 0

    def test_broken_connection_is_replaced(self):
        tx = system.db.beginTransaction(DB)
        try:
            pid = scalar("SELECT pg_backend_pid()")
            self.assertEqual(scalar("SELECT pg_backend_pid()"), pid)  # pooled, reused
            self.assertTrue(scalar("SELECT pg_terminate_backend(?)", [pid], tx))
            waitFor(lambda: self.backendGone(pid, tx), 10, message="backend not terminated")
        finally:
            system.db.closeTransaction(tx)
        for _ in range(3):
            self.assertNotEqual(scalar("SELECT pg_backend_pid()"), pid)

    def test_broken_transaction_connection_is_discarded(self):
        tx = system.db.beginTransaction(DB)
        pid = scalar("SELECT pg_backend_pid()", tx=tx)
        self.assertTrue(scalar("SELECT pg_terminate_backend(?)", [pid]))
        waitFor(lambda: self.backendGone(pid), 10, message="backend not terminated")
        e = self.assertDatabaseError(scalar, "SELECT 1", None, tx)
        self.assertTrue(sqlState(e) is None or sqlState(e)[:2] in ("08", "57"), sqlState(e))
        system.db.closeTransaction(tx)
        tx1 = system.db.beginTransaction(DB)
        tx2 = system.db.beginTransaction(DB)
        try:
            self.assertEqual(scalar("SELECT 1", tx=tx1), 1)
            self.assertEqual(scalar("SELECT 1", tx=tx2), 1)
        finally:
            system.db.closeTransaction(tx1)
            system.db.closeTransaction(tx2)


class _ListHandler(logging.Handler):
    def __init__(self):
        logging.Handler.__init__(self)
        self.records = []

    def emit(self, record):
        self.records.append(record)


class UtilContract(unittest.TestCase):
    def test_globals_identity_survives_reimport(self):
        g = system.util.getGlobals()
        self.assertTrue(g is system.util.getGlobals())
        self.assertTrue(g is system.util.globals)
        g["contract.key"] = 1
        names = ("system.util", "system._jvm")
        originals = dict((name, sys.modules[name]) for name in names)
        try:
            for name in names:  # even the module that keeps JVM-wide state is re-run
                del sys.modules[name]
                delattr(system, name.split(".")[1])
            fresh = __import__("system.util", fromlist=["getGlobals"])
            self.assertTrue(fresh is not originals["system.util"])
            self.assertTrue(sys.modules["system._jvm"] is not originals["system._jvm"])
            self.assertTrue(fresh.getGlobals() is g)
            self.assertEqual(fresh.getGlobals()["contract.key"], 1)
        finally:
            sys.modules.update(originals)
            system.util = originals["system.util"]
            system._jvm = originals["system._jvm"]
            g.pop("contract.key", None)

    def test_globals_dict_operations_and_atomic_setdefault(self):
        g = system.util.getGlobals()
        key = "contract.setdefault"
        try:
            self.assertTrue(g.get(key) is None)
            winners = runConcurrently(lambda: g.setdefault(key, object()), 16)
            self.assertEqual(len(winners), 16)
            self.assertTrue(all(w is g[key] for w in winners), "setdefault is not atomic")
            g[key] = 2
            self.assertEqual(g.pop(key), 2)
            self.assertTrue(g.pop(key, None) is None)
        finally:
            g.pop(key, None)

    def test_globals_shared_across_interpreters(self):
        """A new script environment with its own ``sys`` (a PythonInterpreter with its own
        PySystemState, as after a project save) imports ``system`` afresh yet sees the very
        same globals dict."""
        if not JYTHON:
            self.skipTest("needs Jython: a second org.python.util.PythonInterpreter")
        from org.python.core import Py, PyStringMap, PySystemState  # novm
        from org.python.util import PythonInterpreter  # novm
        g = system.util.getGlobals()
        g["contract.fromA"] = "A"
        # the interpreter leaves its sys as this thread's current one: put ours back after
        self.addCleanup(Py.setSystemState, Py.getSystemState())
        interpreter = PythonInterpreter(PyStringMap(), PySystemState())
        try:
            interpreter.set("paths", list(sys.path))
            interpreter.exec("import sys\nsys.path[:0] = paths\nimport system\n"
                             "g = system.util.getGlobals()\n"
                             "seen = g.get('contract.fromA')\n"
                             "g['contract.fromB'] = 'B'\n")
            self.assertTrue(interpreter.get("system") is not system)  # a separate import
            self.assertTrue(interpreter.get("g") is g)
            self.assertEqual(interpreter.get("seen"), "A")
            self.assertEqual(g.get("contract.fromB"), "B")
        finally:
            # not interpreter.close(): it would run the exit functions of the modules both
            # interpreters share (Jython's socket module shuts its event loop group down)
            g.pop("contract.fromA", None)
            g.pop("contract.fromB", None)

    def test_logger(self):
        name = "contract.logger"
        handler = _ListHandler()
        logging.getLogger(name).addHandler(handler)
        try:
            system.util.setLoggingLevel(name, "trace")
            log = system.util.getLogger(name)
            for method in ("trace", "debug", "info", "warn", "error"):
                getattr(log, method)("plain " + method)
                getattr(log, method + "f")("fmt %s %d", method, 3)
            log.error("with throwable", ValueError("boom"))
            messages = [r.getMessage() for r in handler.records]
            self.assertTrue("plain trace" in messages, messages)
            self.assertTrue("fmt warn 3" in messages, messages)
            self.assertTrue("fmt error 3" in messages, messages)
            self.assertEqual(len(messages), 11)
        finally:
            logging.getLogger(name).removeHandler(handler)

    def test_invoke_asynchronous(self):
        seen = []
        done = threading.Event()

        def work(a, b=None):
            seen.append((a, b, threading.current_thread().name))
            done.set()
        caller = threading.current_thread().name
        system.util.invokeAsynchronous(work, ["x"], {"b": 2}, "contract-async")
        waitFor(done.is_set, 10, message="async function never ran")
        self.assertEqual(seen[0][:2], ("x", 2))
        self.assertNotEqual(seen[0][2], caller)

    def test_project_name_and_json(self):
        gateway.setProjectName("contract")
        try:
            self.assertEqual(system.util.getProjectName(), "contract")
        finally:
            gateway.setProjectName("workflows")
        self.assertEqual(system.util.getProjectName(), "workflows")
        self.assertEqual(system.util.jsonDecode(system.util.jsonEncode({"a": [1, "b", None]})),
                         {"a": [1, "b", None]})


class DateContract(unittest.TestCase):
    def sample(self):
        d = system.date.setTime(system.date.getDate(2024, 2, 5), 7, 8, 9)  # 0-based month
        return system.date.addMillis(d, 123)

    def test_format(self):
        d = self.sample()
        self.assertEqual(system.date.format(d, "yyyy-MM-dd HH:mm:ss.SSS"), "2024-03-05 07:08:09.123")
        self.assertEqual(system.date.format(d), "2024-03-05 07:08:09")
        self.assertEqual(system.date.format(d, "yyyyMMdd'T'HHmm"), "20240305T0708")

    def test_millis_round_trip(self):
        d = self.sample()
        self.assertEqual(system.date.toMillis(system.date.fromMillis(system.date.toMillis(d))),
                         system.date.toMillis(d))
        self.assertEqual(system.date.toMillis(system.date.fromMillis(1700000000123)), 1700000000123)
        self.assertEqual(system.date.format(system.date.fromMillis(system.date.toMillis(d)),
                                            "HH:mm:ss.SSS"), "07:08:09.123")
        nowMs = system.date.toMillis(system.date.now())
        self.assertTrue(abs(nowMs - time.time() * 1000) < 5000)

    def test_arithmetic(self):
        d = self.sample()
        self.assertEqual(system.date.secondsBetween(d, system.date.addSeconds(d, 90)), 90)
        self.assertEqual(system.date.millisBetween(d, system.date.addMinutes(d, 1)), 60000)
        self.assertEqual(system.date.secondsBetween(system.date.addSeconds(d, 90), d), -90)


class TagContract(unittest.TestCase):
    def setUp(self):
        gateway.resetTags()
        self.addCleanup(gateway.resetTags)

    def test_write_then_read(self):
        qualities = system.tag.writeBlocking(["[default]Contract/A", "[default]Contract/B"], [5, "x"])
        self.assertEqual(len(qualities), 2)
        self.assertTrue(all(q.isGood() for q in qualities))
        values = system.tag.readBlocking(["[default]Contract/A", "[default]Contract/B"])
        self.assertEqual([v.value for v in values], [5, "x"])
        self.assertTrue(values[0].quality.isGood())
        self.assertEqual(str(values[0].quality), "Good")
        self.assertTrue(values[0].timestamp is not None)

    def test_not_found(self):
        value = system.tag.readBlocking(["[default]Contract/Missing"])[0]
        self.assertTrue(value.value is None)
        self.assertFalse(value.quality.isGood())
        self.assertEqual(str(value.quality), "Bad_NotFound")

    def test_value_change_script(self):
        path = "[default]Contract/Watched"
        events = []
        caller = threading.current_thread().name

        def onChange(tag, tagPath, previousValue, currentValue, initialChange, missedEvents):
            events.append((previousValue.value if previousValue is not None else None,
                           currentValue.value, initialChange, missedEvents,
                           threading.current_thread().name))
        system.tag.writeBlocking([path], [0])
        system.tag.simAddValueChangeScript(path, onChange)
        system.tag.writeBlocking([path], [1])
        system.tag.writeBlocking([path], [1])  # no change, no event
        system.tag.writeBlocking([path], [2])
        waitFor(lambda: len(events) >= 2, 10, message="value-change script did not fire")
        self.assertTrue(system.tag.simWaitForEvents(10))
        self.assertEqual([e[:4] for e in events], [(0, 1, False, False), (1, 2, False, False)])
        self.assertNotEqual(events[0][4], caller)

    def test_initial_change(self):
        path = "[default]Contract/Initial"
        events = []
        system.tag.writeBlocking([path], [9])
        system.tag.simAddValueChangeScript(
            path, lambda tag, tagPath, prev, cur, initial, missed: events.append((cur.value, initial)),
            True)
        waitFor(lambda: events, 10, message="initial event did not fire")
        self.assertEqual(events, [(9, True)])


class LoaderContract(unittest.TestCase):
    """The script-library import hook: a.b.c -> <root>/a/b/c/code.py."""

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="contract-lib-")
        self.addCleanup(shutil.rmtree, self.root, True)
        self.write("contractlib/pkg/mod/code.py", "VALUE = 1\nclass Thing(object):\n    pass\n")
        self.write("contractlib/pkg/mod/child/code.py",
                   "import contractlib.pkg.mod\nPARENT = contractlib.pkg.mod.VALUE\n"
                   "DB = system.db\n")
        loader.install([self.root])
        self.addCleanup(loader.simulateProjectSave, ["contractlib"])

    def write(self, relative, text):
        path = os.path.join(self.root, *relative.split("/"))
        if not os.path.isdir(os.path.dirname(path)):
            os.makedirs(os.path.dirname(path))
        with open(path, "w") as f:
            f.write(text)

    def test_resolution(self):
        import contractlib.pkg.mod.child as child
        mod = sys.modules["contractlib.pkg.mod"]
        self.assertEqual(mod.VALUE, 1)
        self.assertEqual(os.path.basename(mod.__file__), "code.py")
        self.assertTrue(hasattr(sys.modules["contractlib.pkg"], "__path__"))
        self.assertEqual(child.PARENT, 1)
        self.assertTrue(child.DB is system.db)  # `system` is pre-imported in scripts

    def test_project_save_gives_fresh_modules_and_keeps_globals(self):
        import contractlib.pkg.mod as first
        system.util.getGlobals()["contract.saved"] = first.Thing
        removed = loader.simulateProjectSave(["contractlib"])
        self.assertTrue("contractlib.pkg.mod" in removed, removed)
        self.write("contractlib/pkg/mod/code.py", "VALUE = 2\nclass Thing(object):\n    pass\n")
        import contractlib.pkg.mod as second
        try:
            self.assertTrue(second is not first)
            self.assertEqual(second.VALUE, 2)
            self.assertTrue(second.Thing is not first.Thing)
            self.assertTrue(system.util.getGlobals()["contract.saved"] is first.Thing)
        finally:
            system.util.getGlobals().pop("contract.saved", None)


if __name__ == "__main__":
    unittest.main()
