"""pytest wiring: the gateway simulator on sys.path, the script-library import hook, and
database fixtures.

Database: ``WORKFLOWS_TEST_DSN`` (a libpq DSN of a server where we may CREATE DATABASE) if
set, else a throwaway embedded PostgreSQL started on first use. Either way the session gets
its own database ``wf_test_<pid>_<random>``, dropped at the end.

Fixtures:
  pgServer        (session) admin DSN of the server
  embeddedServer  (session) the EmbeddedPostgres object (for restart/outage tests);
                  skips the test when WORKFLOWS_TEST_DSN points at an external server
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

    def __init__(self):
        self._adminDsn = None
        self._stopper = None
        self._dbName = None
        self._dsn = None

    @property
    def server(self):
        self.adminDsn()
        return getattr(self._stopper, "server", None)

    def adminDsn(self):
        if self._adminDsn is None:
            self._adminDsn, self._stopper = pgserver.serverFromEnv(DSN_ENV)
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


_session = _SessionDatabase()


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: a test that takes more than a few seconds")


support.dsnProvider = _session.testDsn


def pytest_collection_modifyitems(session, config, items):
    for item in items:
        module = getattr(item, "module", None)
        if module is not None and hasattr(module, "dsnProvider") and module.dsnProvider is None:
            module.dsnProvider = _session.testDsn


@pytest.fixture(scope="session", autouse=True)
def _sessionDatabaseTeardown():
    yield
    _session.close()


@pytest.fixture(scope="session")
def pgServer():
    """Admin DSN (dbname=postgres) of the test server."""
    return _session.adminDsn()


@pytest.fixture(scope="session")
def embeddedServer():
    """The EmbeddedPostgres (restart(), stopServer(), startServer()); skips on an external
    server given by WORKFLOWS_TEST_DSN."""
    server = _session.server
    if server is None:
        pytest.skip("needs the embedded server (unset %s)" % DSN_ENV)
    return server


@pytest.fixture(scope="session")
def testDatabase():
    """DSN of this session's database (created once, dropped at the end)."""
    return _session.testDsn()
