"""Retention: the policy every gateway sharing the database follows (ended runs older than
an age, ended runs beyond a row count, active runs older than a timeout), applied on demand
or automatically by dispatch.

Every pass is one bounded batch in one short transaction, so retention never holds locks on
the hot table for long. Ended runs are deleted (their steps, events, messages, streams,
prompts and template record cascade); active runs are never deleted, only cancelled by the
stale timeout through a fenced status write. ``tick`` is dispatch's line: it asks the
database at most every few seconds, and one gateway per interval wins the pass.
"""
from __future__ import absolute_import, division, print_function

from collections import namedtuple

from exchange.workflows.db import retention as statements, tx
from exchange.workflows import codec, compat, platform, validate

DAY_MS, HOUR_MS = 86400000, 3600000
STALE_ERROR_TYPE = "RetentionTimeout"  # the error type of a run the stale timeout cancelled
LOST_CHECK_MS = 5000  # how soon a gateway that did not win a pass asks again
FAILED_CHECK_MS = 60000  # how soon it asks again after a pass failed
_nextCheckMs = {}  # dbName -> monotonic ms before which tick does not ask the database


class Policy(namedtuple("Policy", "maxAgeMs maxRows staleAfterMs intervalMs batchSize")):
    """The limits (None: off) and the pace of the automatic pass."""

    __slots__ = ()

    def isOn(self):
        return not (self.maxAgeMs is None and self.maxRows is None and self.staleAfterMs is None)


def checkedPolicy(maxAgeDays=None, maxRows=None, staleAfterHours=None, intervalSeconds=60,
                  batchSize=500):
    """A Policy from the API's units, every value checked (InvalidArgument)."""
    days = validate.number("maxAgeDays", maxAgeDays, allowZero=True, maximum=36500) \
        if maxAgeDays is not None else None
    validate.wholeNumber("maxRows", maxRows, 0, required=False)
    hours = validate.number("staleAfterHours", staleAfterHours, maximum=876000) \
        if staleAfterHours is not None else None
    seconds = validate.number("intervalSeconds", 60 if intervalSeconds is None
                              else intervalSeconds, maximum=86400)
    batch = validate.wholeNumber("batchSize", 500 if batchSize is None else batchSize, 1)
    validate.wholeNumber("batchSize", 10000 - batch, 0)
    return Policy(None if days is None else int(days * DAY_MS), maxRows,
                  None if hours is None else int(hours * HOUR_MS),
                  max(1000, int(seconds * 1000)), batch)


def readPolicy(dbName):
    """The stored policy (in the API's units) and what the last automatic pass did."""
    row = statements.policy(dbName)
    return {"maxAgeDays": _inUnits(row["max_age_ms"], DAY_MS), "maxRows": row["max_rows"],
            "staleAfterHours": _inUnits(row["stale_after_ms"], HOUR_MS),
            "intervalSeconds": row["interval_ms"] / 1000.0, "batchSize": row["batch_size"],
            "automatic": any(row[c] is not None
                             for c in ("max_age_ms", "max_rows", "stale_after_ms")),
            "updatedBy": row["updated_by"], "updatedAtMs": row["updated_at_ms"],
            "lastPassAtMs": row["last_pass_at_ms"] or None,
            "lastPassDeleted": row["last_pass_deleted"],
            "lastPassCancelled": row["last_pass_cancelled"]}


def storedPolicy(dbName):
    """The stored policy as a Policy (exact, in ms)."""
    row = statements.policy(dbName)
    return Policy(row["max_age_ms"], row["max_rows"], row["stale_after_ms"],
                  row["interval_ms"], row["batch_size"])


def _inUnits(ms, unitMs):
    return None if ms is None else ms / float(unitMs)


def setPolicy(dbName, policy, actorName, t=None):
    """Store ``policy`` for every gateway; this one applies it at its next tick."""
    statements.setPolicy(dbName, policy, actorName, t)
    checkSoon(dbName)


def checkSoon(dbName):
    """Forget this gateway's wait before asking the database whether a pass is due."""
    _nextCheckMs.pop(dbName, None)


def onePass(dbName, policy):
    """One bounded batch of ``policy`` in one short transaction: at most ``batchSize`` ended
    runs deleted (by age first, then beyond maxRows) and at most ``batchSize`` stale runs
    cancelled. {deleted, cancelled}."""
    def work(t):
        room, deleted, cancelled = policy.batchSize, 0, 0
        if policy.maxAgeMs is not None:
            deleted = statements.deleteAged(dbName, policy.maxAgeMs, room, t)
        if policy.maxRows is not None and deleted < room:
            deleted += statements.deleteBeyond(dbName, policy.maxRows, room - deleted, t)
        if policy.staleAfterMs is not None:
            cancelled = statements.cancelStale(dbName, policy.staleAfterMs, room, codec.errorJson(
                STALE_ERROR_TYPE, u"cancelled by retention: active for more than %g hour(s)"
                % (policy.staleAfterMs / float(HOUR_MS))), t)
        statements.recordPass(dbName, deleted, cancelled, t)
        return {"deleted": deleted, "cancelled": cancelled}
    return tx.inTransaction(dbName, work)


def applyPolicy(dbName, policy, maxBatches=1000):
    """Pass after pass of ``policy`` until one finds nothing left (or ``maxBatches``);
    {deleted, cancelled, batches}."""
    total = {"deleted": 0, "cancelled": 0, "batches": 0}
    for _ in range(maxBatches):
        done = onePass(dbName, policy)
        total["batches"] += 1
        total["deleted"] += done["deleted"]
        total["cancelled"] += done["cancelled"]
        if done["deleted"] < policy.batchSize and done["cancelled"] < policy.batchSize:
            break
    return total


def deleteCompletedOlderThan(dbName, olderThanMs, batchSize=1000, maxBatches=100):
    """Delete terminal runs that ended more than ``olderThanMs`` ago; the number deleted."""
    policy = Policy(olderThanMs, None, None, 60000, batchSize)
    return applyPolicy(dbName, policy, maxBatches)["deleted"]


def tick(dbName):
    """Dispatch's line: at most every few seconds ask whether this gateway wins a pass, and
    then make one batch. {deleted, cancelled}, or None when it made none. A failure is
    logged, never a failed tick (a transient one is raised: dispatch's outage handling)."""
    now = compat.monotonicMs()
    if now < _nextCheckMs.get(dbName, 0):
        return None
    _nextCheckMs[dbName] = now + LOST_CHECK_MS
    try:
        won = statements.claimPass(dbName)
        if won is None:
            return None
        policy = Policy(*won)
        _nextCheckMs[dbName] = now + policy.intervalMs
        return onePass(dbName, policy)
    except compat.CATCHABLE as error:
        if tx.isTransient(error):
            raise
        _nextCheckMs[dbName] = now + FAILED_CHECK_MS  # a missing table warns once a minute
        platform.logger("exchange.workflows.retention").warn(
            u"the retention pass failed (tried again in a minute): %s"
            % compat.describeError(error)[1])
        return None
