"""Maintenance: the database-wide switch that stops claiming (drain) or also cancels
(cancel) the work of every queue or of one, and the cutover of this executor's pools.

The switch is a row in ``maintenance``, which the claim statement of every executor sharing
the database reads, so one call stops them all and nothing depends on a message reaching a
gateway. Enqueues are still accepted while draining (they wait, durably, for the exit);
recovery, wake-ups, commands and prompts go on.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db import journal, maintenance as statements, tx
from exchange.workflows import codec, platform, settings
from exchange.workflows.engine import kernel

DRAIN, CANCEL = "drain", "cancel"
MODES = (DRAIN, CANCEL)


# the outcome of each action that took effect (every other outcome is a refusal)
_DONE = ("MAINTENANCE_ENTERED", "MAINTENANCE_EXITED", "SWAPPED")


def _entry(actor, action, queueName, reason, outcome, details):
    return {"actor": actor.name, "action": action, "queue_name": queueName, "reason": reason,
            "accepted": outcome in _DONE, "outcome": outcome,
            "details": codec.encode(details), "executor_id": kernel.getKernel().executorId}


def enter(dbName, mode, reason, queueName, actor):
    """Switch maintenance on for ``queueName`` (None: every queue); in cancel mode also
    cancel the active runs in scope. Returns {cancelled: {status: count}}."""
    scope = queueName or u""
    errorJson = codec.errorJson("MaintenanceCancel", reason or u"cancelled by maintenance")

    def work(t):
        statements.enter(dbName, scope, mode, reason, actor.name, t)
        cancelled = statements.cancelScope(dbName, scope, errorJson, t) if mode == CANCEL else {}
        journal.record(dbName, _entry(actor, "MAINTENANCE_ENTER", queueName, reason,
                                      "MAINTENANCE_ENTERED",
                                      {"mode": mode, "cancelled": cancelled}), t)
        return cancelled
    # (a deadlock with a run's own write is retried: the switch is idempotent)
    return {"cancelled": tx.retrying(lambda: tx.inTransaction(dbName, work),
                                     onlyStates=tx.LOST_RACE_STATES)}


def exit(dbName, queueName, reason, actor):
    """Switch maintenance off for ``queueName`` (None: every scope); how many scopes ended."""
    def work(t):
        ended = statements.exit(dbName, queueName, t)
        journal.record(dbName, _entry(actor, "MAINTENANCE_EXIT", queueName, reason,
                                      "MAINTENANCE_EXITED" if ended else "NOT_IN_MAINTENANCE",
                                      {"scopesEnded": ended}), t)
        return ended
    return tx.inTransaction(dbName, work)


def status(dbName):
    """The switch, every live executor's in-flight runs, and the active work by status."""
    k = kernel.getKernel()
    scopes = [{"queueName": row["scope"] or None, "mode": row["mode"], "reason": row["reason"],
               "actor": row["actor"], "sinceMs": row["since_ms"]}
              for row in statements.listScopes(dbName)]
    executors = [{"executorId": e[0], "executorName": e[1], "generation": e[2],
                  "reportedInFlight": e[3], "inFlight": int(e[4]), "heartbeatAtMs": e[5],
                  "drained": int(e[4]) == 0}
                 for e in statements.inFlight(dbName)]
    pool = k.state.get("pool")
    return {"enabled": bool(scopes), "scopes": scopes,
            "allQueues": any(s["queueName"] is None for s in scopes),
            "executors": executors, "workload": statements.workload(dbName),
            "executorId": k.executorId, "generation": k.generation.get(),
            "inFlightHere": k.inFlight.get(),
            "poolActive": platform.activeCount(pool) if pool is not None else 0}


def swapIfDrained(dbName, actor):
    """Replace this executor's pool and bump its generation, only while maintenance is on
    and this executor runs nothing (by its own count, its pool's and the database's).
    Returns (swapped, code, details)."""
    k = kernel.getKernel()
    pool = k.state.get("pool")
    details = {"inFlight": k.inFlight.get(),
               "poolActive": platform.activeCount(pool) if pool is not None else 0,
               "claimedRuns": statements.ownedBy(dbName, k.executorId),
               "generation": k.generation.get()}
    if not statements.coversEveryQueue(dbName):  # (a one-queue drain lets others claim)
        code = "MAINTENANCE_REQUIRED"
    elif details["inFlight"] or details["poolActive"] or details["claimedRuns"]:
        code = "NOT_DRAINED"
    else:
        code = "SWAPPED"
        details["previousGeneration"] = details["generation"]
        details["generation"] = k.replacePool()
    journal.record(dbName, _entry(actor, "SWAP", None, None, code, details))
    return code == "SWAPPED", code, details
