"""pytest wiring: the gateway simulator on sys.path, the script-library import hook, and
database fixtures.

Database: ``WORKFLOWS_TEST_DSN`` (a libpq DSN of a server where we may CREATE DATABASE) if
set, else a PostgreSQL container when a Docker daemon answers, else a throwaway embedded
PostgreSQL (pgserver.serverFromEnv; WORKFLOWS_TEST_SERVER=embedded|container forces one),
started on first use. Either way the session gets its own database
``wf_test_<pid>_<random>``, dropped at the end. The summary names the server.

Fixtures:
  pgServer        (session) admin DSN of the server
  embeddedServer  (session) an EmbeddedPostgres the test may stop and restart, holding the
                  database of the test's gw/engine: the session's server when it is
                  embedded, else one started for these tests
  testDatabase    (session) DSN of the session's test database
  gw, engine      (function, tests/engine_fixtures.py) for the CPython-only modules; the
                  shared suite uses tests/support.py's GatewayCase / EngineCase instead.
Unittest-style modules that define a module-level ``dsnProvider = None`` get it set to a
function returning the test database DSN (started lazily), see test_simulator_contract.py.
"""
import os
import sys

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
for _p in (os.path.join(TESTS_DIR, "gateway"), TESTS_DIR):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import pytest  # noqa: E402

from helpers import waitFor  # noqa: E402,F401  (re-exported for tests)
from simulator import gateway, loader, pgserver  # noqa: E402
import support  # noqa: E402

DSN_ENV = "WORKFLOWS_TEST_DSN"
DB_NAME = "WorkflowsDB"
EXAMPLE_PROJECT = os.path.join(TESTS_DIR, "example_project")
FIXTURE_PROJECT = os.path.join(TESTS_DIR, "fixture_project")  # the suite's own workflows

SCRIPT_ROOTS = [loader.engineRoot(), loader.projectRoot(EXAMPLE_PROJECT),
                loader.projectRoot(FIXTURE_PROJECT)]
loader.install(SCRIPT_ROOTS)

# Engine-level fixtures (``engine`` ...) live in tests/engine_fixtures.py.
pytest_plugins = ["engine_fixtures"]


class _SessionDatabase(object):
    """Lazily started server + per-session database, torn down once at session end."""

    def __init__(self, startServer):
        self._startServer = startServer
        self._adminDsn = None
        self._stopper = None
        self._dbName = None
        self._dsn = None
        self.description = None  # which server, kept for the summary after close()

    @property
    def server(self):
        self.adminDsn()
        return getattr(self._stopper, "server", None)

    def adminDsn(self):
        if self._adminDsn is None:
            self._adminDsn, self._stopper = self._startServer()
            self.description = self._stopper.description
        return self._adminDsn

    def testDsn(self):
        if self._dsn is None:
            self._dbName, self._dsn = pgserver.createDatabase(self.adminDsn(), "wf_test")
        return self._dsn

    def close(self):
        try:
            gateway.closeAll()
            if self._dbName is not None:
                pgserver.dropDatabase(self.adminDsn(), self._dbName)
        finally:
            self._dbName = self._dsn = None
            if self._stopper is not None:
                self._stopper()
            self._adminDsn = self._stopper = None


_session = _SessionDatabase(lambda: pgserver.serverFromEnv(DSN_ENV, container=True))
# Tests that stop the server of their database (embeddedServer) need an embedded one.
_stoppable = _SessionDatabase(lambda: pgserver.startEmbedded("a server the tests may stop"))


def _stoppableSession():
    """The session's database when its server is embedded, else one on an embedded server
    started for the tests that stop it."""
    return _session if _session.server is not None else _stoppable


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: a test that takes more than a few seconds")


support.dsnProvider = _session.testDsn


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """A test that stops its server gets its gw/engine on the stoppable database (set
    before any function fixture opens the gateway; session fixtures come first anyway)."""
    if "embeddedServer" in item.fixturenames:
        support.dsnProvider = _stoppableSession().testDsn


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    yield
    support.dsnProvider = _session.testDsn


def pytest_terminal_summary(terminalreporter):
    """One line naming the session's server (and the stoppable one, if it was started)."""
    if _session.description:
        terminalreporter.write_line("database: %s" % _session.description)
    if _stoppable.description:
        terminalreporter.write_line("database of the tests that stop their server: %s"
                                    % _stoppable.description)


def pytest_collection_modifyitems(session, config, items):
    for item in items:
        module = getattr(item, "module", None)
        if module is not None and hasattr(module, "dsnProvider") and module.dsnProvider is None:
            module.dsnProvider = _session.testDsn


@pytest.fixture(scope="session", autouse=True)
def _sessionDatabaseTeardown():
    yield
    try:
        _stoppable.close()
    finally:
        _session.close()


@pytest.fixture(scope="session")
def pgServer():
    """Admin DSN (dbname=postgres) of the test server."""
    return _session.adminDsn()


@pytest.fixture(scope="session")
def embeddedServer():
    """The EmbeddedPostgres (restart(), stopServer(), startServer()) of the test's
    database, whatever server the rest of the session uses."""
    return _stoppableSession().server


@pytest.fixture(scope="session")
def testDatabase():
    """DSN of this session's database (created once, dropped at the end)."""
    return _session.testDsn()
