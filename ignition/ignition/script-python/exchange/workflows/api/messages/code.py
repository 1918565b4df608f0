"""Messages, events and streams from outside a workflow: send to a run, read what runs
publish (``getEvent``, ``listEvents``) and what they stream (``readStream``).

In a workflow, use engine.runtime's ``send``, ``recv``, ``setEvent``, ``getEvent``,
``writeStream`` and ``closeStream``: they are recorded, so they keep their guarantees when
the run is recovered.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.api import envelope
from exchange.workflows.api.envelope import guarded
from exchange.workflows.db import events
from exchange.workflows import codec, codes, settings, validate
from exchange.workflows.engine import durable


@guarded
def send(workflowId, message, topic=None, idempotencyKey=None, dbName=None):
    """Send a message (JSON) to a run on ``topic``; a run waiting in ``recv`` for that topic
    wakes. With ``idempotencyKey`` a repeated call sends once. Codes: MESSAGE_SENT,
    MESSAGE_DUPLICATE (that key was used: nothing sent), WORKFLOW_NOT_FOUND."""
    result = durable.send(workflowId, message, topic, idempotencyKey, settings.databaseName(dbName))
    data = {"workflowId": workflowId, "topic": topic, "messageId": result["messageId"],
            "destinationStatus": result["destinationStatus"]}
    if not result["sent"]:
        return envelope.ok(codes.MESSAGE_DUPLICATE, u"a message with idempotency key %r was "
                           u"already sent to %s; nothing sent" % (idempotencyKey, workflowId), data)
    return envelope.ok(codes.MESSAGE_SENT, u"message sent to %s" % workflowId, data)


@guarded
def getEvent(workflowId, key, timeoutSeconds=0, dbName=None):
    """The value a run published under ``key``, waiting up to ``timeoutSeconds`` for it.
    Codes: EVENT_FOUND (data: value, version), EVENT_TIMEOUT."""
    validate.name("workflowId", workflowId)
    validate.name("key", key)
    timeoutMs = int(validate.number("timeoutSeconds", timeoutSeconds or 0, allowZero=True) * 1000)
    found, value, version = durable.readEvent(settings.databaseName(dbName), workflowId, key,
                                              timeoutMs)
    data = {"workflowId": workflowId, "key": key, "value": value, "version": version}
    if not found:
        return envelope.fail(codes.EVENT_TIMEOUT, u"workflow %s has not published %r" % (workflowId,
                                                                                    key), data)
    return envelope.ok(codes.EVENT_FOUND, u"event %r of workflow %s" % (key, workflowId), data)


@guarded
def listEvents(workflowId, dbName=None):
    """Every event a run published: {key: {value, version, updatedAtMs}}."""
    validate.name("workflowId", workflowId)
    found = dict((key, {"value": codec.decode(valueJson), "version": version,
                        "updatedAtMs": updated})
                 for key, valueJson, version, updated in events.listEvents(dbName, workflowId))
    return envelope.ok(codes.EVENTS_LISTED, u"%d event(s)" % len(found),
                       {"workflowId": workflowId, "events": found})


@guarded
def readStream(workflowId, key, fromOffset=0, limit=1000, timeoutSeconds=0, dbName=None):
    """Values of a run's stream from ``fromOffset``, in order, waiting up to
    ``timeoutSeconds`` for at least one. Read on from ``nextOffset`` until ``closed``: the
    stream was closed, or its writer ended and everything it wrote was read. Codes:
    STREAM_READ, WORKFLOW_NOT_FOUND."""
    validate.name("workflowId", workflowId)
    validate.name("key", key)
    validate.wholeNumber("fromOffset", fromOffset, 0)
    validate.wholeNumber("limit", limit, 1)
    timeoutMs = int(validate.number("timeoutSeconds", timeoutSeconds or 0, allowZero=True) * 1000)
    values, nextOffset, closed = durable.readStream(settings.databaseName(dbName), workflowId,
                                                    key, fromOffset, min(limit, 10000), timeoutMs)
    return envelope.ok(codes.STREAM_READ, u"%d value(s)%s" % (len(values), u", closed" if closed
                                                          else u""),
                       {"workflowId": workflowId, "key": key, "values": values,
                        "nextOffset": nextOffset, "closed": closed})
