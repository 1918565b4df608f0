"""Debounced starts for buttons and tag events: a burst of calls to one key starts ONE run
of the last call's workflow and inputs, once the key was quiet for ``periodSeconds`` (and
at the latest ``maxWaitSeconds`` after the burst's first call). docs/debounce.md.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.api import envelope
from exchange.workflows.api.envelope import guarded
from exchange.workflows.db import debounces as statements
from exchange.workflows import codec, codes, validate
from exchange.workflows.engine import debounces, requests

_PENDING_KEYS = ("key", "workflowName", "inputs", "queueName", "partitionKey", "priority",
                 "firstCallMs", "lastCallMs", "fireAtMs", "calls", "firesInMs")


def _call(key, periodSeconds, workflowName, inputs, maxWaitSeconds, options):
    request = requests.Request(workflowName, inputs, queueName=options[0],
                               partitionKey=options[1], priority=options[2])
    return debounces.Call(key, periodSeconds, request, maxWaitSeconds)


@guarded
def debounce(key, periodSeconds, workflowName, inputs=None, maxWaitSeconds=None,
             queueName=None, partitionKey=None, priority=0, dbName=None):
    """Join the pending burst of ``key`` (or begin one) with one upsert, for buttons and
    scripts. The burst starts one run of the last call's workflow and inputs at
    min(last call + period, first call + maxWait). Code DEBOUNCED (data: the run's future
    ``workflowId``, ``calls`` so far, ``fireAtMs``); the validation codes of enqueue,
    DEBOUNCE_MAX_WAIT."""
    call = _call(key, periodSeconds, workflowName, inputs, maxWaitSeconds,
                 (queueName, partitionKey, priority))
    first, fireAt, calls = debounces.store(dbName, call)
    return envelope.ok(codes.DEBOUNCED, u"%s: call %d of its burst; %s starts at %d"
                       % (key, calls, workflowName, fireAt),
                       {"key": key, "workflowName": workflowName, "calls": calls,
                        "firstCallMs": first, "fireAtMs": fireAt,
                        "workflowId": debounces.workflowIdFor(key, first)})


@guarded
def debounceInMemory(key, periodSeconds, workflowName, inputs=None, maxWaitSeconds=None,
                     queueName=None, partitionKey=None, priority=0, dbName=None):
    """``debounce`` without touching the database, for tag event scripts: the call merges
    into this gateway's pending entry of ``key`` and the next dispatch stores it. Code
    DEBOUNCED_IN_MEMORY (data: ``calls`` this gateway holds for the key), or
    DEBOUNCE_MEMORY_FULL (nothing accepted)."""
    call = _call(key, periodSeconds, workflowName, inputs, maxWaitSeconds,
                 (queueName, partitionKey, priority))
    calls = debounces.offer(dbName, call)
    data = {"key": key, "workflowName": workflowName, "calls": calls}
    if calls is None:
        return envelope.fail(codes.DEBOUNCE_MEMORY_FULL, u"%d debounce keys wait in memory "
                             u"already; dispatch stores them" % debounces.MEMORY_KEYS, data)
    return envelope.ok(codes.DEBOUNCED_IN_MEMORY, u"%s: call accepted in memory; dispatch "
                       u"stores it" % key, data)


def pendingRows(dbName, limit):
    """The pending bursts as dicts (_PENDING_KEYS), the soonest to fire first."""
    return [dict(zip(_PENDING_KEYS, row[:2] + [codec.decode(row[2])] + row[3:]))
            for row in statements.pending(dbName, limit)]


@guarded
def listDebounces(limit=100, dbName=None):
    """The pending bursts (``debounces``: key, workflowName, inputs, calls, firstCallMs,
    lastCallMs, fireAtMs, firesInMs, ...), the soonest to fire first, and ``inMemory``: the
    keys this gateway holds in memory, not yet stored. Code DEBOUNCES_LISTED."""
    validate.wholeNumber("limit", limit, minimum=1)
    rows = pendingRows(dbName, limit)
    return envelope.ok(codes.DEBOUNCES_LISTED, u"%d pending burst(s)" % len(rows),
                       {"debounces": rows, "inMemory": debounces.inMemory()})
