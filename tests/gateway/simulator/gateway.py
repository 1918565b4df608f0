"""Simulator-only gateway configuration (NOT Ignition API; scripts never call this).

Tests and demo runners use it to set up what a gateway administrator would configure:
datasources, the project name, and to reset JVM-wide state between tests. Runs under
CPython and Jython alike (it only uses the ``sim*`` functions of the system modules).
"""
from __future__ import absolute_import

from system import _jvm
from system import db as _db
from system import tag as _tag


def addDatabase(name, dsn, maxConnections=8, poolWaitSeconds=10.0, testOnBorrow=True,
                stringType="varchar", connectTimeoutSeconds=10):
    """Register (or replace) datasource ``name`` -> libpq ``dsn``.

    maxConnections: pool bound (Ignition's default 8). poolWaitSeconds: how long a call waits
    for a free connection before raising. testOnBorrow: validate pooled connections with
    SELECT 1 before use (Ignition's default). stringType: "varchar" (pgJDBC default: str
    parameters are typed varchar) or "unspecified" (the JDBC stringtype=unspecified option).
    """
    _db.simConfigure(name, dsn, maxConnections=maxConnections, poolWaitSeconds=poolWaitSeconds,
                     testOnBorrow=testOnBorrow, stringType=stringType,
                     connectTimeoutSeconds=connectTimeoutSeconds)


def removeDatabase(name):
    """Forget a datasource: its open transactions are rolled back, its pool closed."""
    _db.simRemove(name)


def setDefaultDatabase(name):
    """The datasource used when a system.db call passes database=""."""
    _db.simSetDefault(name)


def closeAll():
    """Roll back and close every open transaction and close every pooled connection
    (datasources stay registered; pools refill on the next call)."""
    _db.simCloseAll()


def poolStats(name):
    """{"total", "idle", "max"} connections of a datasource's pool (for tests)."""
    return _db.simPoolStats(name)


def openTransactionCount():
    """Number of open (not closed, not expired) transactions, for leak checks."""
    return _db.simOpenTransactionCount()


def resetGlobals():
    """Empty the JVM-wide globals dict (the same dict object is kept)."""
    _jvm.STATE["globals"].clear()


def resetTags():
    """Drop every simulated tag and value-change script."""
    _tag.simReset()


def setProjectName(name):
    """What system.util.getProjectName() returns (default "workflows")."""
    _jvm.STATE["projectName"] = name
