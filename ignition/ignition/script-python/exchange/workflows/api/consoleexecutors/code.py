"""The Executors page of the operator console: every gateway or worker sharing the system
database with its state, heartbeat age (overdue ones visibly), lease, pool use, in-memory
queue depth and generation. Pool use and the in-memory queue are known only to the JVM that
holds them: this executor's row shows them live, the others' rows show what their last
heartbeat reported (``inFlight``) and None for the rest. docs/api.md, "Console view models:
queues, executors, admin"."""
from __future__ import absolute_import, division, print_function

from exchange.workflows.api import admin, envelope
from exchange.workflows.api.consolecommon import colouredCell
from exchange.workflows.api.envelope import guarded
from exchange.workflows import codes

# An executor's state (db.executors: alive, overdue, lapsed, retired) -> CSS colour.
# A late heartbeat is red, so an overdue row stands out.
STATE_COLOURS = {"alive": "#2e7d32", "overdue": "#e53935", "lapsed": "#b71c1c",
                 "retired": "#757575"}
# The states whose heartbeat is late: the row is shown as overdue.
LATE_STATES = ("overdue", "lapsed")


@guarded
def executorsPage(dbName=None):
    """One row per executor that is not retired, by name; ``thisExecutor``: the id of the
    executor in this JVM (None where this JVM runs no workflows). Code EXECUTORS_PAGE."""
    listed = envelope.dataOf(admin.listExecutors(dbName=dbName))["executors"]
    here = envelope.dataOf(admin.getEngineInfo())
    thisExecutor = here["executorId"] if here["runsWorkflows"] else None
    rows = [_row(e, here if e["executorId"] == thisExecutor else None) for e in listed]
    return envelope.ok(codes.EXECUTORS_PAGE, u"%d executor(s)" % len(rows),
                       {"rows": rows, "thisExecutor": thisExecutor})


def _row(executor, here):
    """An executor's row; ``here``: getEngineInfo's data when it is this JVM's executor."""
    state = executor["state"]
    return {"executorId": executor["executorId"], "name": executor["executorName"],
            "host": executor["host"], "runtime": executor["runtime"], "state": state,
            "overdue": state in LATE_STATES, "colour": STATE_COLOURS.get(state),
            "stateCell": colouredCell(state, STATE_COLOURS.get(state)), "here": bool(here),
            "heartbeatAgeMs": int(executor["heartbeatAgeMs"]),
            "leaseMs": int(executor["leaseMs"]),
            "poolThreads": here["poolThreads"] if here else int(executor["workerThreads"]),
            "poolActive": here["poolActive"] if here else None,
            "inFlight": here["inFlight"] if here else int(executor["inFlight"]),
            "activeRuns": int(executor["activeRuns"]),
            "memoryQueueDepth": here["inMemoryQueued"] if here else None,
            "generation": here["generation"] if here else int(executor["generation"]), "startedAtMs": executor["startedAtMs"],
            "recoveredRuns": int(executor["recoveredRuns"])}
