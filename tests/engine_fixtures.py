"""pytest fixtures for the CPython-only engine tests; the shared suite uses the unittest base
classes of tests/support.py, which these fixtures are built on."""
from __future__ import absolute_import, division, print_function

import unittest

import pytest

import support


class _FixtureCase(unittest.TestCase):
    """A throwaway TestCase so fixtures reuse support's setup and cleanups."""

    def runTest(self):
        pass


@pytest.fixture
def gw(testDatabase):
    """The simulated gateway, "WorkflowsDB" -> the test database (default datasource),
    clean globals and tags; cleanups and a leaked-transaction check after."""
    case = _FixtureCase()
    handle = support.openGateway(case)
    yield handle
    case.doCleanups()


@pytest.fixture
def engine(gw):
    """A fresh system schema, the test workflows registered, and the Engine driver."""
    return support.openEngine(gw)


@pytest.fixture
def client(gw):
    """Like ``engine``, but this process never ran onStartup: a client (a Script Console, a
    Vision client, a script off the gateway) that writes requests and commands only; the
    executor processes a test starts run the work."""
    return support.openEngine(gw, executes=False)


@pytest.fixture
def ownServer():
    """A PostgreSQL server of this test alone (a test that stops, crashes or restarts it),
    whatever server the rest of the session uses; its commits survive its crash."""
    from simulator import pgserver
    server = pgserver.EmbeddedPostgres(crashSafe=True).start()
    try:
        yield server
    finally:
        server.stop()
