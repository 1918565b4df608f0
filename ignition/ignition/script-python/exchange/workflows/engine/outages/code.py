"""Dispatch during a database outage: back off, say so once, and say when it is over.

Each connection has its own record (``outage`` of the kernel's connection record, kept as
JSON text), so an outage of one database never pauses the dispatch of another. While a
connection is down its ticks raise DatabaseUnavailable without touching it until the backoff
has passed: 250 ms, doubling up to 5 s, but never more than a quarter of the lease, so an
executor is back within its lease of the database's return (its peers wait that long before
they take its runs).
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows import codec, compat, platform, settings
from exchange.workflows.engine import kernel
from exchange.workflows.errors import DatabaseUnavailable

FIRST_BACKOFF_MS = 250
MAX_BACKOFF_MS = 5000
REMINDER_MS = 60000  # while it lasts, a warning at most this often


def _logger():
    return platform.logger("exchange.workflows.dispatcher")


def backoffCapMs():
    """The longest wait between two tries under the configured lease (capMs)."""
    return capMs(settings.leaseMs())


def capMs(leaseMs):
    """The longest wait between two tries: MAX_BACKOFF_MS, at most a quarter of the lease
    (``leaseMs``), at least 50 ms."""
    return max(50, min(MAX_BACKOFF_MS, leaseMs // 4))


def backoffMs(failures, leaseMs):
    """The wait after ``failures`` failed ticks in a row: FIRST_BACKOFF_MS, doubling with each
    failure, up to capMs(leaseMs)."""
    return min(capMs(leaseMs), FIRST_BACKOFF_MS * 2 ** min(failures - 1, 6))


def _record(dbName):
    text = kernel.getKernel().connection(dbName).outage
    return codec.decode(text) if text else None


def _data(record, retryInMs):
    return {"outageSinceMs": record["since"], "failedTicks": record["failures"],
            "retryInMs": retryInMs}


def waitOut(dbName):
    """Raise DatabaseUnavailable while the connection's backoff has not passed."""
    record = _record(dbName)
    if record is None:
        return
    waitMs = record["retryAt"] - compat.monotonicMs()
    if waitMs > 0:
        raise DatabaseUnavailable(u"the database was unreachable; dispatch tries again in "
                                  u"%d ms" % waitMs, data=_data(record, waitMs))


def begins(dbName, error):
    """Count a failed tick, set the next try after a growing backoff, warn on the first
    failure (and each REMINDER_MS), and raise DatabaseUnavailable."""
    record = _record(dbName) or {"since": compat.nowMs(), "failures": 0, "warnedAt": None}
    record["failures"] += 1
    backoff = backoffMs(record["failures"], settings.leaseMs())
    now = compat.monotonicMs()
    record["retryAt"] = now + backoff
    message = compat.describeError(error)[1]
    if record["warnedAt"] is None or now - record["warnedAt"] >= REMINDER_MS:
        record["warnedAt"] = now
        _logger().warn(u"database %s is unreachable (%d failed tick(s)); dispatch pauses and "
                       u"retries with backoff; running workflows wait at their next "
                       u"checkpoint: %s" % (dbName, record["failures"], message))
    kernel.getKernel().connection(dbName).outage = codec.encode(record)
    raise DatabaseUnavailable(u"the database is unreachable: %s" % message,
                              data=_data(record, backoff))


def ends(dbName):
    """The connection answered: forget its outage, and say how long it lasted."""
    record = _record(dbName)
    if record is None:
        return
    kernel.getKernel().connection(dbName).outage = None
    _logger().info(u"database %s answers again after %.1f s (%d failed tick(s)); dispatch "
                   u"resumes" % (dbName, (compat.nowMs() - record["since"]) / 1000.0,
                                 record["failures"]))
