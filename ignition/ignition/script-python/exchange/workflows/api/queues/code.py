"""Named queues: the limits that guard scarce resources, shared by every gateway.

A queue is used by naming it in ``enqueue(queueName=...)``; it needs no declaration. A
declaration stores its limits in the database, where every executor's claim reads them:

- ``concurrency``: claimed runs of the queue at once, across all executors;
- ``workerConcurrency``: claimed runs of the queue at once on one executor;
- ``rateLimit`` starts per ``ratePeriodSeconds`` (a start is a claim);
- ``partitionConcurrency``: claimed runs at once per partition key (default 1).

Declare queues from the startup script (or any script): it is idempotent and writes only
when a limit changed. Every call returns an envelope.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.api import envelope
from exchange.workflows.api.envelope import guarded
from exchange.workflows.db import queues
from exchange.workflows import codes, validate
from exchange.workflows.errors import InvalidArgument

_KEYS = {"queue_name": "queueName", "concurrency": "concurrency",
         "worker_concurrency": "workerConcurrency", "rate_limit": "rateLimit",
         "rate_period_ms": "ratePeriodMs", "partition_concurrency": "partitionConcurrency",
         "updated_at_ms": "updatedAtMs", "declared": "declared", "delayed": "delayed",
         "enqueued": "enqueued", "active": "active"}


@guarded
def declareQueue(queueName, concurrency=None, workerConcurrency=None, rateLimit=None,
                 ratePeriodSeconds=None, partitionConcurrency=1, dbName=None):
    """Create or change a queue's limits (None = no limit). Codes QUEUE_DECLARED (stored or
    changed) or QUEUE_UNCHANGED."""
    validate.name("queueName", queueName)
    validate.wholeNumber("concurrency", concurrency, 1, required=False)
    validate.wholeNumber("workerConcurrency", workerConcurrency, 1, required=False)
    validate.wholeNumber("rateLimit", rateLimit, 1, required=False)
    validate.wholeNumber("partitionConcurrency", partitionConcurrency, 1)
    if (rateLimit is None) != (ratePeriodSeconds is None):
        raise InvalidArgument(u"rateLimit and ratePeriodSeconds go together: at most "
                              u"rateLimit starts per ratePeriodSeconds")
    periodMs = None if ratePeriodSeconds is None else int(
        1000 * validate.number("ratePeriodSeconds", ratePeriodSeconds, maximum=86400 * 366))
    if periodMs is not None and periodMs < 1:
        raise InvalidArgument(u"ratePeriodSeconds must be at least 0.001")
    changed = queues.declare(dbName, queueName, concurrency=concurrency,
                             workerConcurrency=workerConcurrency, rateLimit=rateLimit,
                             ratePeriodMs=periodMs, partitionConcurrency=partitionConcurrency)
    data = {"queueName": queueName, "concurrency": concurrency,
            "workerConcurrency": workerConcurrency, "rateLimit": rateLimit,
            "ratePeriodMs": periodMs, "partitionConcurrency": partitionConcurrency,
            "changed": changed}
    if changed:
        return envelope.ok(codes.QUEUE_DECLARED, u"queue %s declared" % queueName, data)
    return envelope.ok(codes.QUEUE_UNCHANGED, u"queue %s already has these limits" % queueName,
                       data)


@guarded
def listQueues(dbName=None):
    """Declared queues and queues holding active runs: limits and delayed, enqueued and
    claimed (active) counts."""
    rows = [dict((_KEYS[k], v) for k, v in row.items()) for row in queues.listQueues(dbName)]
    return envelope.ok(codes.QUEUES_LISTED, u"%d queue(s)" % len(rows),
                       {"queues": rows, "count": len(rows)})


@guarded
def removeQueue(queueName, dbName=None):
    """Forget a queue's limits; its runs stay and are then claimed without limits."""
    validate.name("queueName", queueName)
    if queues.remove(dbName, queueName):
        return envelope.ok(codes.QUEUE_REMOVED, u"queue %s has no limits any more" % queueName,
                           {"queueName": queueName})
    return envelope.fail(codes.QUEUE_NOT_FOUND, u"queue %s was not declared" % queueName,
                         {"queueName": queueName})
