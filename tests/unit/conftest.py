"""The fast tier: unit tests of pure functions, run first by ``make test`` (``make
test-fast``), in well under a second.

They need no database, and may not use one: a test here that asks for a database fixture,
or for the session database through ``support.dsnProvider`` (GatewayCase, EngineCase), fails
at once instead of starting a server. tests/conftest.py still applies (sys.path, the script
library loader); its database is started lazily, so it stays down for these.
"""
import pytest

import support

DATABASE_FIXTURES = frozenset(("pgServer", "embeddedServer", "testDatabase", "gw", "engine"))


def _noDatabase():
    pytest.fail("a unit test needs no database: move it beside the tests that use one")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    wanted = sorted(DATABASE_FIXTURES.intersection(item.fixturenames))
    if wanted:
        pytest.fail("a unit test needs no database, but %s asks for %s"
                    % (item.nodeid, ", ".join(wanted)), pytrace=False)
    support.dsnProvider = _noDatabase  # (tests/conftest.py puts the session's back after)
