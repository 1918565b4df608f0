"""The Queues page of the operator console: each queue's depth by status, its claimed runs
against its limits, how long its oldest run has waited, its starts per minute, and whether
maintenance holds it; and the pending debounced bursts. The view reads ``data.rows`` and
``data.debounces`` and formats them; docs/api.md, "Console view models: queues, executors,
admin"."""
from __future__ import absolute_import, division, print_function

from exchange.workflows.api import admin, debounces, envelope, queues
from exchange.workflows.api.envelope import guarded
from exchange.workflows.db import queues as statements
from exchange.workflows import codec, codes, statuses


@guarded
def queuesPage(dbName=None):
    """One row per queue that is declared, holds active runs or started one in the last
    minute, by name. Code QUEUES_PAGE (data: ``rows``)."""
    listed = envelope.dataOf(queues.listQueues(dbName=dbName))["queues"]
    scopes = envelope.dataOf(admin.getMaintenanceStatus(dbName=dbName))["scopes"]
    limits = dict((q["queueName"], q) for q in listed)
    activity = dict((a["queue_name"], a) for a in statements.activity(dbName))
    rows = [_row(name, limits.get(name, {}), activity.get(name, {}), scopes)
            for name in sorted(set(limits) | set(activity))]
    return envelope.ok(codes.QUEUES_PAGE, u"%d queue(s)" % len(rows),
                       {"rows": rows, "debounces": _debounces(dbName)})


DEBOUNCES_SHOWN = 200  # pending bursts on the page, the soonest to fire first


def _debounces(dbName):
    """The pending debounced bursts: key, workflow, queue, calls, when it fires (and in how
    many ms; negative: due, waiting for a tick or an executor that runs the workflow)."""
    shown = ("key", "workflowName", "queueName", "calls", "firstCallMs", "fireAtMs",
             "firesInMs")
    return [dict((name, row[name]) for name in shown)
            for row in debounces.pendingRows(dbName, DEBOUNCES_SHOWN)]


def _row(queueName, limits, activity, scopes):
    """A queue's row from its declared limits, its activity and the maintenance scopes."""
    byStatus = dict((status, 0) for status in statuses.ACTIVE)
    byStatus.update(codec.decode(activity.get("by_status") or u"{}"))
    byStatus = dict((status, int(n)) for status, n in byStatus.items())
    mode = _maintenanceMode(queueName, scopes)
    oldest = activity.get("oldest_waiting_ms")
    row = {"queueName": queueName, "byStatus": byStatus,
           "claimed": byStatus[statuses.PENDING] + byStatus[statuses.RUNNING],
           "concurrency": limits.get("concurrency"),
           "workerConcurrency": limits.get("workerConcurrency"),
           "rateLimit": limits.get("rateLimit"), "ratePeriodMs": limits.get("ratePeriodMs"),
           "partitionConcurrency": limits.get("partitionConcurrency", 1),
           "declared": bool(limits.get("declared")),
           "oldestWaitingMs": None if oldest is None else int(oldest),
           "startsPerMinute": int(activity.get("starts") or 0),
           "maintenance": mode is not None, "maintenanceMode": mode}
    # a key per status too, a table column each: delayed, enqueued, pending, running, ...
    row.update((status.lower(), n) for status, n in byStatus.items())
    return row


def _maintenanceMode(queueName, scopes):
    """The mode of the maintenance that holds the queue (its own scope first, then every
    queue's), or None."""
    modes = dict((s["queueName"], s["mode"]) for s in scopes)
    return modes.get(queueName, modes.get(None))
