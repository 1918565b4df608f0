"""Dead letters: in-memory enqueues that could not become runs, for operators to act on.

A request lands here with a reason: WORKFLOW_EXISTS (its workflowId was taken),
DUPLICATE_DEDUPLICATION_ID (an active run held its deduplication id), REFUSED (the database
refused its data) or DROPPED_OLDEST (the in-memory queue overflowed under the dropOldest
policy). List them, replay one (it becomes an ENQUEUED run, once), or purge them.
"""
from __future__ import absolute_import, division, print_function

import uuid

from exchange.workflows.api import envelope
from exchange.workflows.api.envelope import guarded
from exchange.workflows.db import deadletters, runs
from exchange.workflows import codec, codes, compat, settings, validate, vocabulary
from exchange.workflows.engine import dispatcher
from exchange.workflows.errors import InvalidArgument

_KEYS = {"dead_letter_id": "deadLetterId", "workflow_id": "workflowId",
         "workflow_name": "workflowName", "queue_name": "queueName",
         "deduplication_id": "deduplicationId", "reason": "reason", "message": "message",
         "request": "request", "accepted_at_ms": "acceptedAtMs", "created_at_ms": "createdAtMs",
         "replayed_at_ms": "replayedAtMs", "replayed_workflow_id": "replayedWorkflowId"}


def _present(row):
    result = dict((_KEYS[k], v) for k, v in row.items())
    try:
        result["request"] = codec.decode(result["request"])
    except compat.CATCHABLE:
        pass  # a refused request may not decode: show its text
    return result


@guarded
def listDeadLetters(reason=None, includeReplayed=False, limit=100, offset=0, dbName=None):
    """Dead letters, newest first (replayed ones only with ``includeReplayed``)."""
    reasons = vocabulary.DEAD_LETTER_REASONS
    if reason is not None and reason not in reasons:
        raise InvalidArgument(u"reason must be one of %s" % u", ".join(reasons))
    validate.wholeNumber("limit", limit, 0)
    validate.wholeNumber("offset", offset, 0)
    letters = [_present(row) for row in deadletters.listLetters(
        dbName, reason, includeReplayed, min(limit, 10000), offset)]
    return envelope.ok(codes.DEAD_LETTERS_LISTED, u"%d dead letter(s)" % len(letters),
                       {"deadLetters": letters, "count": len(letters)})


@guarded
def replayDeadLetter(deadLetterId, freshWorkflowId=False, dbName=None):
    """Enqueue a dead letter's request as a run (once). ``freshWorkflowId=True`` gives it a
    new workflow id (for a WORKFLOW_EXISTS letter). Codes DEAD_LETTER_REPLAYED,
    DEAD_LETTER_NOT_FOUND, DEAD_LETTER_ALREADY_REPLAYED, or REPLAY_CONFLICT (its id or
    deduplication id is still taken; the letter stays)."""
    validate.wholeNumber("deadLetterId", deadLetterId, 1)
    fresh = compat.toText(uuid.uuid4()) if freshWorkflowId else None
    workflowId = deadletters.replay(dbName, deadLetterId, fresh)
    if workflowId is not None:
        if settings.startOnEnqueue():
            dispatcher.startSoon(dbName)
        return envelope.ok(codes.DEAD_LETTER_REPLAYED, u"dead letter %d enqueued as workflow %s"
                           % (deadLetterId, workflowId),
                           {"deadLetterId": deadLetterId, "workflowId": workflowId})
    letter = deadletters.get(dbName, deadLetterId)
    if letter is None:
        return envelope.fail(codes.DEAD_LETTER_NOT_FOUND, u"no dead letter %d" % deadLetterId,
                             {"deadLetterId": deadLetterId})
    if letter["replayed_at_ms"] is not None:
        return envelope.fail(codes.DEAD_LETTER_ALREADY_REPLAYED, u"dead letter %d was replayed as "
                             u"workflow %s" % (deadLetterId, letter["replayed_workflow_id"]),
                             _present(letter))
    holder = runs.get(dbName, fresh or letter["workflow_id"]) or {}
    if not holder and letter["deduplication_id"]:
        holderId = runs.dedupHolder(dbName, letter["queue_name"], letter["deduplication_id"])
        holder = runs.get(dbName, holderId) if holderId else {}
    return envelope.fail(codes.REPLAY_CONFLICT, u"dead letter %d was not replayed: its workflow "
                         u"id or deduplication id is still taken" % deadLetterId,
                         dict(_present(letter), holderStatus=(holder or {}).get("status"),
                              holderWorkflowId=(holder or {}).get("workflow_id")))


@guarded
def purgeDeadLetters(deadLetterIds=None, olderThanSeconds=None, dbName=None):
    """Delete dead letters: the listed ids, or those older than ``olderThanSeconds`` (0 for
    all), or both conditions together. One of them is required."""
    if deadLetterIds is None and olderThanSeconds is None:
        raise InvalidArgument(u"name the deadLetterIds to purge, or olderThanSeconds "
                                       u"(0 purges all)")
    idsJson = None
    if deadLetterIds is not None:
        if not isinstance(deadLetterIds, (list, tuple)):
            raise InvalidArgument(u"deadLetterIds must be a list of ids")
        for one in deadLetterIds:
            validate.wholeNumber("deadLetterIds item", one, 1)
        idsJson = codec.encode(list(deadLetterIds))
    olderThanMs = None if olderThanSeconds is None else int(
        1000 * validate.number("olderThanSeconds", olderThanSeconds, allowZero=True))
    deleted = deadletters.purge(dbName, idsJson, olderThanMs)
    return envelope.ok(codes.DEAD_LETTERS_PURGED, u"%d dead letter(s) deleted" % deleted,
                       {"deleted": deleted})
