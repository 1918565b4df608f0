"""The ``system`` package of the gateway simulator, for CPython 3 and Jython 2.7.

Put ``tests/gateway`` on sys.path and ``import system``: ``system.db`` (psycopg2 under
CPython, pgJDBC under Jython), ``system.util``, ``system.date`` and ``system.tag`` behave
like an Ignition 8.1/8.3 gateway's for the functions exchange.workflows uses. Gateway
configuration that is not Ignition API (datasources, project name, resets) lives in
``simulator.gateway``. JVM-lifetime state lives in ``system._jvm``.

Every public function has the signature of Ignition's published scripting API
(ignition-api-stubs 8.1 and 8.3) and returns the kind of object it names; simulator-only
functions are named ``sim*``, helpers start with ``_``. tests/test_published_api.py holds
the package to that.
"""
from system import db  # noqa: F401
from system import util  # noqa: F401
from system import date  # noqa: F401
from system import tag  # noqa: F401
from system import net  # noqa: F401
