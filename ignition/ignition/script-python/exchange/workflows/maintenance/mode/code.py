"""Maintenance mode: the database-wide switch that stops claiming (drain) or also cancels
(cancel) the work of every queue or of one, and the cutover of this executor's pools.

The switch is a row in ``maintenance``, which the claim statement of every executor sharing
the database reads, so one call stops them all and nothing depends on a message reaching a
gateway. Enqueues are still accepted while draining (they wait, durably, for the exit);
recovery, wake-ups, commands and prompts go on.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db import maintenance as statements
from exchange.workflows.db.journal import JournalEntry
from exchange.workflows import codec, codes, vocabulary
from exchange.workflows.engine import kernel, operator

DRAIN, CANCEL = "drain", "cancel"
MODES = (DRAIN, CANCEL)


class _Switch(operator.Action):
    """A maintenance action through the operator protocol: authorized by the admin roles,
    one transition, journaled (a refusal names only the action)."""

    def __init__(self, dbName, action, queueName, reason):
        operator.Action.__init__(self, dbName, "admin", JournalEntry(
            action, queueName=queueName, reason=reason))
        self.queueName = queueName

    def refusal(self, message, data):
        return JournalEntry(self.fields.action), data or {}


class _Enter(_Switch):
    """Upsert the scope's row, and in cancel mode cancel its active runs (idempotent: a
    deadlock with a run's own write is retried)."""
    idempotent = True

    def __init__(self, dbName, mode, reason, queueName):
        _Switch.__init__(self, dbName, vocabulary.MAINTENANCE_ENTER, queueName, reason)
        self.mode, self.cancelled = mode, {}

    def decide(self, state):
        return "enter", codes.MAINTENANCE_ENTERED

    def transition(self, t, state, transition):
        scope, reason = self.queueName or u"", self.fields.reason
        statements.enter(self.dbName, scope, self.mode, reason, self.actor.name, t)
        self.cancelled = statements.cancelScope(self.dbName, scope, codec.errorJson(
            "MaintenanceCancel", reason or u"cancelled by maintenance"), t) \
            if self.mode == CANCEL else {}
        return True

    def details(self, outcome):
        return {"mode": self.mode, "cancelled": self.cancelled}

    def report(self, outcome):
        return dict(status(self.dbName), cancelled=self.cancelled)


def enter(dbName, mode, reason, queueName, caller):
    """Switch maintenance on for ``queueName`` (None: every queue) as ``caller`` (an
    actors.Caller); in cancel mode also cancel the active runs in scope. Returns
    getMaintenanceStatus's data with {cancelled: {status: count}}."""
    return operator.act(_Enter(dbName, mode, reason, queueName), caller).report


class _Exit(_Switch):
    """Delete the scope's row (every row without a queue); refused when none matched."""

    def __init__(self, dbName, queueName, reason):
        _Switch.__init__(self, dbName, vocabulary.MAINTENANCE_EXIT, queueName, reason)
        self.ended = 0

    def decide(self, state):
        return "exit", codes.MAINTENANCE_EXITED

    def transition(self, t, state, transition):
        self.ended = statements.exit(self.dbName, self.queueName, t)
        return self.ended > 0

    def missed(self, t, state):
        return codes.NOT_IN_MAINTENANCE

    def details(self, outcome):
        return {"scopesEnded": self.ended}

    def claims(self, outcome):
        return True

    def report(self, outcome):
        return status(self.dbName)


def exit(dbName, queueName, reason, caller):
    """Switch maintenance off for ``queueName`` (None: every scope) as ``caller``; (whether
    a scope ended, getMaintenanceStatus's data read before the claim it lets this thread
    make)."""
    outcome = operator.act(_Exit(dbName, queueName, reason), caller)
    return outcome.accepted, outcome.report


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
    return {"enabled": bool(scopes), "scopes": scopes,
            "allQueues": any(s["queueName"] is None for s in scopes),
            "executors": executors, "workload": statements.workload(dbName),
            "executorId": k.executorId, "generation": k.generation.get(),
            "inFlightHere": k.inFlight.get(),
            "poolActive": k.poolActive()}


class _Swap(_Switch):
    """The cutover: nothing to lock (its reads and the pool swap run on their own), decided
    by what this executor still runs."""
    transactional = False

    def __init__(self, dbName):
        _Switch.__init__(self, dbName, vocabulary.SWAP, None, None)
        self.drain = None

    def lock(self, t):
        k = kernel.getKernel()
        self.drain = {"inFlight": k.inFlight.get(), "poolActive": k.poolActive(),
                      "claimedRuns": statements.ownedBy(self.dbName, k.executorId),
                      "generation": k.generation.get()}
        return statements.coversEveryQueue(self.dbName)

    def decide(self, coversEveryQueue):
        details = self.drain
        if not coversEveryQueue:  # (a one-queue drain lets others claim)
            return None, codes.MAINTENANCE_REQUIRED
        if details["inFlight"] or details["poolActive"] or details["claimedRuns"]:
            return None, codes.NOT_DRAINED
        return "swap", codes.SWAPPED

    def transition(self, t, state, transition):
        self.drain["previousGeneration"] = self.drain["generation"]
        self.drain["generation"] = kernel.getKernel().replacePool()
        return True

    def details(self, outcome):
        return self.drain

    def report(self, outcome):
        return self.drain


def swapIfDrained(dbName, caller):
    """Replace this executor's pool and bump its generation, only while maintenance is on
    and this executor runs nothing (by its own count, its pool's and the database's).
    As ``caller`` (an actors.Caller); (swapped, code, details)."""
    outcome = operator.act(_Swap(dbName), caller)
    return outcome.accepted, outcome.code, outcome.report
