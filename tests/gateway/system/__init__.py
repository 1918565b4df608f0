"""The ``system`` package of the CPython gateway simulator.

Put ``tests/gateway`` on sys.path and ``import system``: ``system.db`` (psycopg2),
``system.util``, ``system.date`` and ``system.tag`` behave like an Ignition 8.1/8.3
gateway's for the functions exchange.workflows uses. Gateway configuration that is not
Ignition API (datasources, project name, resets) lives in ``simulator.gateway``.
"""
from system import dataset  # noqa: F401
from system import db  # noqa: F401
from system import util  # noqa: F401
from system import date  # noqa: F401
from system import tag  # noqa: F401
