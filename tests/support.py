"""The behaviour suite's base classes, shared by CPython (pytest collects them) and Jython
(tests/jython_suite.py runs them with unittest). Python 2.7/3 code.

``GatewayCase`` gives each test the simulated gateway wired to the session's test database as
"WorkflowsDB" (the default datasource) with clean globals and tags, ``self.gw`` to run raw SQL
beside the engine, and a check that no ``system.db`` transaction was left open.
``EngineCase`` adds a freshly truncated system schema, the test workflows registered, and
``self.engine``: the public API plus the means to drive it the way the gateway timer would.

The database: ``dsnProvider`` (set by tests/conftest.py under pytest) or the environment
variable WORKFLOWS_TEST_DSN_DB (a libpq DSN of a database we may create tables in, set by
tests/tools/with_database.py for the Jython run).
"""
from __future__ import absolute_import, division, print_function

import os
import sys
import unittest

from helpers import waitFor

IS_JYTHON = sys.platform.startswith("java")
DSN_ENV = "WORKFLOWS_TEST_DSN_DB"
DB_NAME = "WorkflowsDB"
RAW_DB_NAME = "TestRawSQL"  # the tests' own datasource: their SQL never borrows the engine's
TERMINAL = ("SUCCESS", "ERROR", "CANCELLED", "STOPPED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED")

SIDE_EFFECTS = """CREATE TABLE IF NOT EXISTS public.side_effects (
    id bigserial PRIMARY KEY, workflow_id text, kind text, value text, at_ms bigint)"""

dsnProvider = None


def testDsn():
    """The libpq DSN of this run's test database."""
    if dsnProvider is not None:
        return dsnProvider()
    dsn = os.environ.get(DSN_ENV)
    if not dsn:
        raise RuntimeError("no test database: set %s (tests/tools/with_database.py does)"
                           % DSN_ENV)
    return dsn


class CountedDb(object):
    """Records every system.db statement and transaction while a test runs (restored at its
    cleanup; the engine reaches system.db at call time): ``sent`` holds (entry point, the
    statement's text on one line)."""

    NAMES = ("runPrepQuery", "runPrepUpdate", "runScalarPrepQuery", "beginTransaction")

    def __init__(self, testCase):
        import system
        self.db = system.db
        self.sent = []
        for name in self.NAMES:
            original = getattr(self.db, name)
            setattr(self.db, name, self._counted(name, original))
            testCase.addCleanup(setattr, self.db, name, original)

    def _counted(self, name, original):
        def counted(*args, **kwargs):
            self.sent.append((name, " ".join(str(args[0] if args else "").split())))
            return original(*args, **kwargs)
        return counted

    def calls(self):
        """The entry points called, in order."""
        return [name for name, _ in self.sent]

    def matching(self, text):
        """The statements sent that contain ``text``."""
        return [query for _, query in self.sent if text in query]


def sqlStateOf(error):
    """The SQLSTATE behind an error raised by system.db (Python or Java), or None."""
    from exchange.workflows.db import tx
    return tx.sqlState(error)


def catchable():
    """What a test must catch to see every error a system.db call can raise."""
    from exchange.workflows import compat
    return compat.CATCHABLE


class Gateway(object):
    """What a test uses beside the engine.

    .dsn, .dbName; .sql(query, *args) runs raw SQL on the tests' own datasource (``%s`` or
    ``?`` placeholders) and returns a list of tuples of plain values, or None for statements
    without a result; .addCleanup(fn, *args) runs after the test (last added first);
    .allowOpenTransactions = True disables the leaked-transaction check."""

    dbName = DB_NAME

    def __init__(self, testCase, dsn):
        self._case = testCase
        self.dsn = dsn
        self.allowOpenTransactions = False

    def sql(self, query, *args):
        import system
        from exchange.workflows.db import tx
        statement = query.replace("%s", "?") if args else query
        head = statement.lstrip().split(None, 1)[0].upper()
        if head in ("SELECT", "WITH", "VALUES", "SHOW") or " RETURNING " in statement.upper():
            dataset = system.db.runPrepQuery(statement, list(args), RAW_DB_NAME)
            width = len(dataset.getColumnNames())
            return [tuple(tx.cell(row[c]) for c in range(width)) for row in dataset]
        system.db.runPrepUpdate(statement, list(args), RAW_DB_NAME)
        return None

    def addCleanup(self, fn, *args, **kwargs):
        self._case.addCleanup(fn, *args, **kwargs)

    def finish(self):
        from simulator import gateway
        leaked = gateway.openTransactionCount()
        gateway.closeAll()
        gateway.resetTags()
        if leaked and not self.allowOpenTransactions:
            raise AssertionError("test left %d system.db transaction(s) open" % leaked)


def openGateway(testCase):
    """Reset the simulated gateway for a test and return its Gateway handle; the handle's
    final check runs after every cleanup the test adds."""
    from simulator import gateway
    dsn = testDsn()
    gateway.closeAll()
    gateway.resetGlobals()
    gateway.resetTags()
    gateway.addDatabase(DB_NAME, dsn)
    gateway.addDatabase(RAW_DB_NAME, dsn)
    gateway.setDefaultDatabase(DB_NAME)
    handle = Gateway(testCase, dsn)
    testCase.addCleanup(handle.finish)
    return handle


class Engine(object):
    """The public API plus the means to drive it the way the gateway timer would."""

    def __init__(self, gw):
        import exchange.workflows.api.service as service
        import exchange.workflows.api.admin as admin
        self.gw = gw
        self.service = service
        self.admin = admin

    def enqueue(self, name, **kwargs):
        """Enqueue and insist it worked; the workflow id."""
        result = self.service.enqueue(name, **kwargs)
        assert result["ok"], result
        return result["data"]["workflowId"]

    def startOnlyOnDispatch(self):
        """Runs wait ENQUEUED until a dispatch claims them (enqueue's immediate claim off),
        for tests of what one dispatch does with queued work. A worker that has just
        finished a run claims the next itself: this returns once none is doing so."""
        configured = self.admin.configure(startOnEnqueue=False)
        assert configured["ok"], configured
        self.waitSettled()

    def waitSettled(self):
        """Wait until every pool thread at work is running a workflow (none is between the
        end of its run and the claim that may follow it) and nothing claims."""
        from exchange.workflows.engine import kernel

        def settled():
            k = kernel.getKernel()
            return k.claimsUnderWay() == 0 and k.poolActive() == k.inFlight.get()
        waitFor(settled, 20, 0.005, "no worker between runs")

    def status(self, workflowId):
        """The run's status; None while no such run exists (a child its parent has not
        started yet)."""
        rows = self.gw.sql("SELECT status FROM workflows.workflow_runs WHERE workflow_id = ?",
                           workflowId)
        return rows[0][0] if rows else None

    def runUntil(self, predicate, timeoutSeconds=20, message="condition"):
        """Call dispatch (as the timer does) until ``predicate()`` holds."""
        def tick():
            result = self.service.dispatch()
            assert result["ok"], result
            return predicate()
        return waitFor(tick, timeoutSeconds, 0.005, message)

    def waitsAtGate(self, workflowId, steps=1):
        """Wait until the run recorded ``steps`` steps and has waited at its gate (a test
        gate in its body) for longer than the state freshness window, so its next step
        boundary reads the run's state: a command sent now is applied there, not one step
        later."""
        from exchange.workflows import settings
        waitFor(lambda: self.gw.sql(
            "SELECT count(*) = ? AND workflows.now_ms() - max(completed_at_ms) > ? "
            "FROM workflows.step_outputs WHERE workflow_id = ?", steps,
            3 * settings.STATE_FRESH_MS, workflowId)[0][0], 10, 0.005,
            "%s waits at its gate" % workflowId)

    def runToEnd(self, *workflowIds):
        """Dispatch until every run is terminal; their statuses."""
        def done():
            statuses = [self.status(w) for w in workflowIds]
            return statuses if all(s in TERMINAL for s in statuses) else None
        return self.runUntil(done, message="runs %s terminal" % (workflowIds,))

    def sideEffects(self, workflowId, kind=None):
        rows = self.gw.sql("SELECT kind FROM public.side_effects WHERE workflow_id = ? "
                           "ORDER BY id", workflowId)
        kinds = [r[0] for r in rows]
        return kinds if kind is None else kinds.count(kind)

    def runUntilCrashed(self, workflowId, where):
        """Dispatch until the run "dies" at ``where`` (see testing.flows.crashOnce)."""
        self.runUntil(lambda: self.sideEffects(workflowId, "crash:" + where) == 1)
        self.waitIdle()

    def recoveryAttempts(self, workflowId):
        return self.gw.sql("SELECT recovery_attempts FROM workflows.workflow_runs "
                           "WHERE workflow_id = ?", workflowId)[0][0]

    def recoverCrashed(self, workflowId):
        """Recover a run its thread left RUNNING (a simulated crash) the way the engine does:
        the heartbeat finds this executor's claimed run running nowhere here, twice in a
        row, and puts it back in its queue."""
        before = self.recoveryAttempts(workflowId)

        def recovered():
            beat = self.admin.recoverNow()
            assert beat["ok"], beat
            return self.recoveryAttempts(workflowId) == before + 1
        waitFor(recovered, 10, 0.02, "the heartbeat recovered %s" % workflowId)

    def waitIdle(self):
        """Wait until no workflow runs on this executor and no worker is still claiming the
        next one."""
        from exchange.workflows.engine import kernel

        def idle():
            k = kernel.getKernel()
            return k.inFlight.get() == 0 and k.claimsUnderWay() == 0 and k.poolActive() == 0
        waitFor(idle, 20, 0.005, "executor idle")

    def stop(self):
        """End of test: let running work finish, then stop this executor's pool."""
        from exchange.workflows import platform
        from exchange.workflows.engine import kernel, lookout
        lookout.stop()
        self.waitIdle()
        for pool in (kernel.getKernel().existingPool(), kernel.getKernel().existingStepPool()):
            if pool is not None:
                platform.shutdownPool(pool)


def openEngine(gw, executes=True):
    """A fresh system schema, the test workflows registered, and the Engine driver (stopped
    after the test). ``executes``: this process ran the startup script (onStartup) and runs
    workflows; False: a client (a Script Console, a script off the gateway) that only
    writes requests and commands."""
    gw.sql(SIDE_EFFECTS)
    import exchange.workflows.api.admin as admin
    installed = admin.installSchema()
    assert installed["ok"], installed
    gw.sql("TRUNCATE workflows.workflow_runs, workflows.step_outputs, workflows.queues, "
           "workflows.dead_letters, workflows.executors, workflows.messages, workflows.events, "
           "workflows.streams, workflows.prompts, workflows.journal, workflows.maintenance, "
           "workflows.template_runs, workflows.templates, workflows.template_versions, "
           "workflows.enums, workflows.enum_versions, workflows.schedules, "
           "workflows.debounces, "
           "public.side_effects")
    gw.sql("DELETE FROM workflows.retention_policy")  # its one row, as the migration made it
    gw.sql("INSERT INTO workflows.retention_policy (policy_id) VALUES (1)")
    registered = admin.registerWorkflowModules(["testing.flows"])
    assert registered["ok"], registered
    # the suite drives the timer itself: no lookout claims behind a test's back (the tests
    # of the lookout turn it on)
    configured = admin.configure(idlePollMs=0)
    assert configured["ok"], configured
    if executes:  # what the gateway's startup script does: this process runs workflows
        import exchange.workflows.api.lifecycle as lifecycle
        started = lifecycle.onStartup(installSchema=False)
        assert started["ok"], started
    engine = Engine(gw)
    gw.addCleanup(engine.stop)
    return engine


def inAnotherInterpreter(testCase, variables, code, extraPaths=()):
    """Run ``code`` in a second Jython interpreter of this JVM (its own ``sys`` and modules,
    the script library loaded afresh: what a project save starts) after setting
    ``variables`` in it. Jython only."""
    from org.python.core import Py, PyStringMap, PySystemState  # novm
    from org.python.util import PythonInterpreter  # novm
    from simulator import loader
    interpreter = PythonInterpreter(PyStringMap(), PySystemState())
    current = Py.getSystemState()

    def close():
        # Not interpreter.close(): its cleanup would run the exit functions of the modules
        # the second interpreter shares with this one (Jython's socket module shuts down
        # its event loop group then, and every later socket of this JVM fails). Like a
        # project save, the old interpreter is just left to the garbage collector.
        Py.setSystemState(current)
    testCase.addCleanup(close)
    try:
        variables = dict(variables, paths=list(sys.path) + list(extraPaths),
                         roots=loader.roots())
        for name, value in variables.items():
            interpreter.set(name, value)
        interpreter.exec("import sys\nsys.path[:0] = paths\nfrom simulator import loader\n"
                         "loader.install(roots)\n" + code)
    finally:
        Py.setSystemState(current)  # exec leaves its sys as this thread's current one


class GatewayCase(unittest.TestCase):
    """A test against the simulated gateway and the test database."""

    def setUp(self):
        self.gw = openGateway(self)

    def assertSqlState(self, state, fn, *args, **kwargs):
        """``fn(*args)`` must fail with a database error of SQLSTATE ``state``."""
        try:
            fn(*args, **kwargs)
        except catchable() as error:
            self.assertEqual(sqlStateOf(error), state, error)
            return error
        self.fail("expected a database error %s from %r" % (state, fn))


class EngineCase(GatewayCase):
    """A test of the engine: clean schema, test workflows registered, ``self.engine``.
    ``executes = False`` in a subclass: this process is a client (onStartup not called)."""

    executes = True

    def ok(self, result, code):
        """The data of an envelope that must be ok with ``code``."""
        assert result["ok"] and result["code"] == code, result
        return result["data"]

    def refused(self, result, code):
        """The data of an envelope that must be refused with ``code``."""
        assert not result["ok"] and result["code"] == code, result
        return result["data"]

    def setUp(self):
        GatewayCase.setUp(self)
        self.engine = openEngine(self.gw, self.executes)
