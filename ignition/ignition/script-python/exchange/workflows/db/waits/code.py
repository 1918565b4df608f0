"""The statements of durable waits: a wake channel's lock, the waiting run's own row, the
suspend that releases its thread, and the wake.

A run that waits for something (a message, a prompt's answer, an event) and whoever brings
it both take the transaction-scoped advisory lock of the wait's channel first, then read or
write in later statements (each with a fresh snapshot). So either the waiter sees what was
brought, or the bringer sees the run WAITING on that channel and wakes it: a wake-up is
never lost between the waiter's look and its suspend.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db import sql, tx

_CHANNEL_LOCK = "SELECT 1 FROM (SELECT pg_advisory_xact_lock(hashtext(?))) l"

_OWN = """SELECT pending_command, {schema}.now_ms() FROM {schema}.workflow_runs
 WHERE workflow_id = ? AND status = 'RUNNING' AND executor_id = ? AND attempts = ?
   FOR NO KEY UPDATE"""

# (woken at its deadline at the latest, so a run waiting past its timeout ends by it)
_SUSPEND = """UPDATE {schema}.workflow_runs
   SET status = 'WAITING', waiting_for = ?, run_at_ms = LEAST(CAST(? AS bigint), deadline_ms),
       executor_id = NULL,
       partition_slot = NULL, claimed_at_ms = NULL, updated_at_ms = {schema}.now_ms()
 WHERE workflow_id = ? AND status = 'RUNNING' AND executor_id = ? AND attempts = ?"""

# A sleep's suspend alone, one statement outside a transaction: nothing is brought to a
# sleep's channel and its look finds nothing, so neither the channel's lock nor a look is
# needed; the run's row is the one thing to settle. It takes only while no command is
# pending and the wake time is more than a short wait ahead (the database's clock); else
# it changes nothing and the caller's general look (a transaction) decides.
_SUSPEND_ALONE = _SUSPEND + """
   AND pending_command IS NULL AND CAST(? AS bigint) - {schema}.now_ms() > CAST(? AS bigint)"""

# Held at a step boundary after the hold handler ran; only while the HOLD is still pending
# (a RESUME sent meanwhile withdrew it: the run goes on).
_HOLD = """UPDATE {schema}.workflow_runs
   SET status = 'HELD', pending_command = NULL, executor_id = NULL, partition_slot = NULL,
       claimed_at_ms = NULL, updated_at_ms = {schema}.now_ms()
 WHERE workflow_id = ? AND status = 'RUNNING' AND executor_id = ? AND attempts = ?
   AND pending_command = 'HOLD'"""

# (the status test is the one of workflow_runs_waiting_idx's predicate, and one the index
# on status cannot serve: see the status tests in db.runs)
_WAKE = """UPDATE {schema}.workflow_runs
   SET status = 'ENQUEUED', waiting_for = NULL, updated_at_ms = {schema}.now_ms()
 WHERE waiting_for = ? AND (status = 'WAITING') IS TRUE"""

_NOW = "SELECT {schema}.now_ms()"


def lockChannel(dbName, channel, t):
    """Serialise with everyone waiting on, or bringing to, ``channel`` (until commit)."""
    tx.query(dbName, _CHANNEL_LOCK, [channel], t)


def lockOwn(fence, t):
    """Lock our RUNNING run row; (pendingCommand, databaseNowMs), or None when not ours."""
    rows = tx.query(fence.dbName, sql.bind(_OWN, fence.dbName), fence.params(), t)
    return (rows[0][0], int(rows[0][1])) if rows else None


def suspend(fence, channel, wakeAtMs, t):
    """Our run waits without a thread until woken on ``channel`` or at ``wakeAtMs``
    (database clock; None: only a wake); True when it took."""
    return tx.update(fence.dbName, sql.bind(_SUSPEND, fence.dbName),
                     [channel, wakeAtMs] + fence.params(), t, skipAudit=True) == 1


def suspendAlone(fence, channel, wakeAtMs, shortWaitMs):
    """Our run sleeps without a thread until ``wakeAtMs`` (database clock), woken on
    ``channel``, in one statement; True when it took, False when a command is pending, the
    wake time is ``shortWaitMs`` away or less, or the run is not ours (see _SUSPEND_ALONE)."""
    return tx.update(fence.dbName, sql.bind(_SUSPEND_ALONE, fence.dbName),
                     [channel, wakeAtMs] + fence.params() + [wakeAtMs, shortWaitMs],
                     skipAudit=True) == 1


def hold(fence):
    """Our run becomes HELD if its HOLD is still pending; True when it took."""
    return tx.update(fence.dbName, sql.bind(_HOLD, fence.dbName), fence.params(),
                     skipAudit=True) == 1


def wake(dbName, channel, t=None):
    """Runs waiting on ``channel`` go back to their queue; how many."""
    return tx.update(dbName, sql.bind(_WAKE, dbName), [channel], t, skipAudit=True)


def databaseNowMs(dbName, t=None):
    """The database clock (epoch ms)."""
    return int(tx.scalar(dbName, sql.bind(_NOW, dbName), [], t))
