"""Scheduled workflows: the dispatch tick that fires due cron ticks, exactly once each.

Each dispatch (engine.dispatcher) calls ``tick``: it upserts the schedules declared in code
(``@schedule``, engine.registry), reads the ACTIVE schedules whose next tick has come, and
fires each in one short transaction: advance ``next_tick_ms`` from the value it read (a
guarded UPDATE: zero rows when another executor fired that tick first, or it was paused)
and insert the tick's run, whose id ``sched:<name>:<tick as UTC ISO>`` is the same on
every executor (the insert does nothing when the run exists). So however many gateways
tick, a schedule tick starts one run. A schedule whose next tick lies far in the past (the
executors were down) fires only its latest due tick and goes on from now: missed ticks are
not replayed; ``backfill`` (engine.scheduleadmin) creates them when asked.
docs/schedules.md, docs/architecture.md "Schedules".
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db import runs, schedules as statements, tx
from exchange.workflows import codec, compat, cron, platform, vocabulary
from exchange.workflows.engine import registry, requests
from exchange.workflows.errors import InvalidArgument

MAX_DUE_PER_TICK = 100  # schedules fired by one tick at most; the rest by the next
MAX_NAME_LENGTH = 120  # the run ids sched:<name>:<tick> stay within 200 characters
SCHEDULED_AT = "scheduledAtMs"  # the input a workflow names to receive its tick's time


def _logger():
    return platform.logger("exchange.workflows.schedules")


def workflowIdOf(name, tickMs):
    """The id of the run of a schedule's tick: the same on every executor."""
    return u"sched:%s:%s" % (name, cron.tickLabel(tickMs))


def runRequest(workflowName, inputs, queueName, tickMs, workflowId):
    """The validated start request of a scheduled run: the schedule's ``inputs`` (a dict),
    plus ``scheduledAtMs`` (the tick) when the workflow takes such a parameter and the
    inputs do not set it."""
    inputs = dict(inputs or {})
    definition = registry.lookup(workflowName)
    if definition is not None and SCHEDULED_AT in definition.argSpec()[0]:
        inputs.setdefault(SCHEDULED_AT, tickMs)
    return requests.Request(workflowName, inputs, queueName=queueName, workflowId=workflowId)


def tick(dbName, nowMs=None):
    """Upsert the declared schedules and fire the due ticks (at ``nowMs``, default the
    database's clock); how many runs it started. Only the schedules of workflows registered
    in this interpreter are read (the others are left to the executors that run them); one
    whose inputs no longer fit is logged and left due; a database outage is raised to the dispatcher, any
    other failure (a schema not yet upgraded) is logged: it never stops the claim."""
    try:
        declare(dbName)
        names, namesJson = registry.namesAndJson()
        if not names:
            return 0
        dues = statements.due(dbName, namesJson, nowMs, MAX_DUE_PER_TICK)
    except compat.CATCHABLE as error:
        _unlessTransient(error, u"reading the schedules")
        return 0
    fired = 0
    for due in dues:
        try:
            fired += 1 if fire(dbName, due) else 0
        except compat.CATCHABLE as error:
            _unlessTransient(error, u"schedule %s firing its tick" % due.name)
    return fired


def _unlessTransient(error, what):
    """Raise a transient database error (the dispatcher's outage handling); log any other."""
    if tx.isTransient(error):
        raise error
    _logger().warn(u"%s failed (the next dispatch tries again): %s"
                   % (what, compat.describeError(error)[1]))


def fire(dbName, due):
    """Fire a due schedule (a db.schedules.Due): its latest due tick, one run; whether this
    call started it (False: another executor fired that tick first)."""
    tickMs, nextMs = cron.latestDue(cron.parse(due.cron), due.timeZone, due.nextTickMs,
                                    due.nowMs)
    workflowId = workflowIdOf(due.name, tickMs)
    request = runRequest(due.workflowName, codec.decode(due.inputsJson), due.queueName,
                         tickMs, workflowId)

    def work(t):
        if not statements.advance(dbName, due.name, due.nextTickMs,
                                  (tickMs, nextMs, workflowId), t):
            return False
        return runs.insert(dbName, request, t)
    return tx.inTransaction(dbName, work)


def declare(dbName):
    """Upsert the schedules declared in code (nothing when none is); how many rows changed."""
    declared = registry.declaredSchedules()
    if not declared:
        return 0
    items = []
    for d in declared:
        try:
            first = cron.check(d.cron, d.timeZone, compat.nowMs())[1]
        except InvalidArgument as error:
            _logger().warn(u"schedule %s: %s" % (d.name, error.args[0]))
            continue
        items.append({"name": d.name, "workflow": d.workflowName, "cron": d.cron,
                      "zone": d.timeZone, "inputs": d.inputs, "queue": d.queueName,
                      "next": first, "creator": u"code:%s" % d.module})
    return statements.declare(dbName, codec.encode(items), vocabulary.CODE) \
        if items else 0


def isDeclared(name):
    """Whether code of this interpreter declares a schedule of that name."""
    return any(d.name == name for d in registry.declaredSchedules())
