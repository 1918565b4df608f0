"""The gateway self-test behind ``admin.selfTest``: proves an install where it runs.

Three groups of checks, each check on its own (one that fails stops no other), each with its
time and a short detail (api/selftestchecks):

- ``system.db`` (api/selftestdb), in a scratch schema of its own that is dropped at the end
  whatever happens: transactions, parameter and column types, JSON round trips, SQLSTATE
  extraction and the connection check;
- ``kernel`` (api/selftestkernel): the JVM-wide state in the gateway globals and the worker
  pool, including which interpreter's code a pool thread runs a task with;
- ``workflow`` (api/selftestworkflow): the built-in workflow through the live engine on the
  connection: retries, a hold and a resume, a prompt answered here, a durable sleep that
  dispatch wakes. Its run is deleted afterwards; the journal keeps its entries.

This module runs the groups in that order, gathers their report and journals the outcome.
"""
from __future__ import absolute_import, division, print_function

import sys

from exchange.workflows.api import selftestdb, selftestkernel, selftestworkflow
from exchange.workflows.api.selftestchecks import Report
from exchange.workflows.db import selfcheck
from exchange.workflows.db.journal import JournalEntry
from exchange.workflows import codes, compat, platform, vocabulary
from exchange.workflows.engine import kernel, operator


def run(dbName, timeoutMs, actor, caller):
    """Every check, then the journal entry; the envelope's data. ``caller`` (an
    actors.Caller) sends the commands and answers the prompt."""
    started = compat.monotonicMs()
    report = Report()
    schema = selfcheck.newSchemaName()
    selftestdb.databaseChecks(report, dbName, schema)
    selftestkernel.kernelChecks(report)
    flowRun = selftestworkflow.FlowRun(dbName, started + timeoutMs, caller)
    selftestworkflow.workflowChecks(report, flowRun)
    data = {"checks": report.checks, "passed": report.count(True),
            "failed": report.count(False), "skipped": report.count(None),
            "durationMs": compat.monotonicMs() - started, "interpreter": interpreter(),
            "executor": kernel.getKernel().isExecutor(), "schema": schema,
            "database": dbName, "workflowId": flowRun.workflowId, "ranOn": flowRun.ranOn}
    data["journaled"] = _journal(dbName, actor, data)
    return data


def interpreter():
    """What runs the self-test: Python's version, its kind, the JVM's version."""
    return {"version": compat.toText(sys.version), "runtime": platform.runtimeName(),
            "implementation": "jython" if compat.IS_JYTHON else "cpython",
            "java": platform.javaVersion()}


def _journal(dbName, actor, data):
    failed = [u"%s/%s" % (c["group"], c["name"]) for c in data["checks"] if c["ok"] is False]
    details = dict((key, data[key]) for key in ("passed", "failed", "skipped", "durationMs",
                                                "schema", "workflowId", "ranOn"))
    details["failedChecks"] = failed
    try:
        operator.journal(dbName, actor, JournalEntry(vocabulary.SELF_TEST), operator.Outcome(
            True, codes.SELF_TEST_FAILED if failed else codes.SELF_TEST_PASSED), details)
        return True
    except compat.CATCHABLE:  # (no system tables here: the workflow checks said so)
        return False
