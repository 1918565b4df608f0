"""Every statement on ``schedules``: cron schedules that start workflows (engine.schedules).

A due schedule is fired by advancing its ``next_tick_ms`` from the value the tick read
(``advance``: zero rows when another executor fired it first, or it was paused), in the
transaction that inserts the tick's run."""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db import sql, tx

COLUMNS = ("schedule_name", "workflow_name", "cron", "time_zone", "inputs", "queue_name",
           "status", "source", "next_tick_ms", "last_tick_ms", "last_workflow_id",
           "created_by", "created_at_ms", "updated_at_ms")
_SELECT = """SELECT schedule_name, workflow_name, cron, time_zone, inputs::text, queue_name,
       status, source, next_tick_ms, last_tick_ms, last_workflow_id, created_by,
       created_at_ms, updated_at_ms
  FROM {schema}.schedules s"""
_CREATE = """INSERT INTO {schema}.schedules (schedule_name, workflow_name, cron, time_zone,
    inputs, queue_name, next_tick_ms, source, created_by)
VALUES (?, ?, ?, ?, CAST(? AS jsonb), ?, ?, ?, ?)
ON CONFLICT (schedule_name) DO NOTHING
RETURNING schedule_name"""
# Schedules declared in code, as one JSON array: new ones are inserted, changed ones (of
# source CODE only) take the new definition and its next tick; a paused one stays paused.
_DECLARE = """INSERT INTO {schema}.schedules AS s (schedule_name, workflow_name, cron,
    time_zone, inputs, queue_name, next_tick_ms, source, created_by)
SELECT d.name, d.workflow, d.cron, d.zone, COALESCE(d.inputs, '{}'), d.queue, d.next, ?,
       d.creator
  FROM jsonb_to_recordset(CAST(? AS jsonb))
       AS d(name text, workflow text, cron text, zone text, inputs jsonb, queue text,
            next bigint, creator text)
ON CONFLICT (schedule_name) DO UPDATE
   SET workflow_name = EXCLUDED.workflow_name, cron = EXCLUDED.cron,
       time_zone = EXCLUDED.time_zone, inputs = EXCLUDED.inputs,
       queue_name = EXCLUDED.queue_name, next_tick_ms = EXCLUDED.next_tick_ms,
       updated_at_ms = {schema}.now_ms()
 WHERE s.source = EXCLUDED.source
   AND (s.workflow_name, s.cron, s.time_zone, s.inputs, s.queue_name) IS DISTINCT FROM
       (EXCLUDED.workflow_name, EXCLUDED.cron, EXCLUDED.time_zone, EXCLUDED.inputs,
        EXCLUDED.queue_name)"""
_DUE = """SELECT s.schedule_name, s.workflow_name, s.cron, s.time_zone, s.inputs::text,
       s.queue_name, s.next_tick_ms, n.now_ms
  FROM {schema}.schedules s,
       (SELECT COALESCE(CAST(? AS bigint), {schema}.now_ms()) AS now_ms) n
 WHERE s.status = 'ACTIVE' AND s.next_tick_ms <= n.now_ms
   AND s.workflow_name IN (SELECT jsonb_array_elements_text(CAST(? AS jsonb)))
 ORDER BY s.next_tick_ms
 LIMIT ?"""
_ADVANCE = """UPDATE {schema}.schedules
   SET last_tick_ms = ?, next_tick_ms = ?, last_workflow_id = ?,
       updated_at_ms = {schema}.now_ms()
 WHERE schedule_name = ? AND status = 'ACTIVE' AND next_tick_ms = ?"""
_SET_STATUS = """UPDATE {schema}.schedules
   SET status = ?, next_tick_ms = ?, updated_at_ms = {schema}.now_ms()
 WHERE schedule_name = ? AND status = ?"""
_NOTE_RUN = """UPDATE {schema}.schedules SET last_workflow_id = ?,
       updated_at_ms = {schema}.now_ms() WHERE schedule_name = ?"""
_DELETE = "DELETE FROM {schema}.schedules WHERE schedule_name = ? AND status = ?"
_NOW = "SELECT {schema}.now_ms()"
_LISTING = """SELECT schedule_name, workflow_name, cron, time_zone, inputs::text, queue_name,
       status, source, next_tick_ms, last_tick_ms, last_workflow_id, created_by,
       created_at_ms, updated_at_ms,
       (SELECT r.status FROM {schema}.workflow_runs r
         WHERE r.workflow_id = s.last_workflow_id) AS last_run_status
  FROM {schema}.schedules s"""


def _row(row):
    return dict(zip(COLUMNS, row))


def create(dbName, schedule, nextTickMs, source, createdBy, t=None):
    """Insert a schedule (an object with name, workflowName, cron, timeZone, inputsJson,
    queueName); False when the name is taken."""
    return bool(tx.query(dbName, sql.bind(_CREATE, dbName), [
        schedule.name, schedule.workflowName, schedule.cron, schedule.timeZone,
        schedule.inputsJson, schedule.queueName, nextTickMs, source, createdBy], t))


def declare(dbName, declaredJson, source):
    """Upsert the schedules of a JSON array ({name, workflow, cron, zone, inputs, queue,
    next, creator}); how many rows were inserted or changed."""
    return tx.update(dbName, sql.bind(_DECLARE, dbName), [source, declaredJson],
                     skipAudit=True)


class Due(object):
    """A schedule whose next tick has come, read by the tick; ``nowMs``: the clock the
    tick fires against (the database's, or the one the caller gave)."""

    __slots__ = ("name", "workflowName", "cron", "timeZone", "inputsJson", "queueName",
                 "nextTickMs", "nowMs")

    def __init__(self, row):
        (self.name, self.workflowName, self.cron, self.timeZone, self.inputsJson,
         self.queueName, self.nextTickMs, self.nowMs) = row


def due(dbName, workflowNamesJson, nowMs=None, limit=100):
    """The active schedules of the workflows named (a JSON array: those registered here, so
    schedules only another gateway can run never crowd out ours) whose next tick is at or
    before ``nowMs`` (None: the database's now), earliest first."""
    return [Due(row) for row in tx.query(dbName, sql.bind(_DUE, dbName),
                                         [nowMs, workflowNamesJson, limit])]


def advance(dbName, name, expectedNextMs, fired, t):
    """Record ``fired`` = (tickMs, nextMs, workflowId): the tick as fired by that run and
    the next tick, only while the schedule is ACTIVE with ``expectedNextMs`` still its next
    tick."""
    return tx.update(dbName, sql.bind(_ADVANCE, dbName),
                     list(fired) + [name, expectedNextMs], t, skipAudit=True) == 1


def lock(dbName, name, t):
    """A schedule's row (dict by COLUMNS), locked for the transaction, or None."""
    rows = tx.query(dbName, sql.bind(_SELECT + " WHERE schedule_name = ? FOR UPDATE",
                                     dbName), [name], t)
    return _row(rows[0]) if rows else None


def setStatus(dbName, name, expected, status, nextTickMs, t):
    """Move a schedule from status ``expected`` to ``status`` with its next tick; whether it
    moved."""
    return tx.update(dbName, sql.bind(_SET_STATUS, dbName),
                     [status, nextTickMs, name, expected], t) == 1


def noteRun(dbName, name, workflowId, t):
    """Remember the latest run a schedule started (a trigger's)."""
    tx.update(dbName, sql.bind(_NOTE_RUN, dbName), [workflowId, name], t)


def delete(dbName, name, expectedStatus, t):
    """Delete a schedule still in ``expectedStatus``; whether it was deleted."""
    return tx.update(dbName, sql.bind(_DELETE, dbName), [name, expectedStatus], t) == 1


def databaseNow(dbName, t=None):
    """The database's clock (epoch ms)."""
    return tx.scalar(dbName, sql.bind(_NOW, dbName), [], t)


def listing(dbName, name=None):
    """Every schedule (or the one named) by name, with ``last_run_status``: the status of
    the latest run it started (None: none, or deleted)."""
    where, args = (" WHERE schedule_name = ?", [name]) if name is not None else ("", [])
    rows = tx.query(dbName, sql.bind(_LISTING + where + " ORDER BY schedule_name", dbName),
                    args)
    return [dict(zip(COLUMNS + ("last_run_status",), row)) for row in rows]
