"""Administration: the schema, the configuration, user workflow modules, engine facts, retention.

Every call returns an envelope ``{ok, code, message, data}``.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.api import envelope, selftest
from exchange.workflows.api.envelope import guarded
from exchange.workflows.db import executors, schema, tx
from exchange.workflows.db.journal import JournalEntry
from exchange.workflows import codec, codes, compat, platform, settings, validate, vocabulary
from exchange.workflows.engine import actors, kernel, leases, memoryqueue, operator, \
    registry, retention, versions
from exchange.workflows.errors import InvalidArgument
from exchange.workflows.maintenance import mode as maintenanceMode


@guarded
def installSchema(dbName=None):
    """Create or upgrade the system tables; safe to call from every gateway at every start."""
    applied = schema.install(dbName)
    return envelope.ok(codes.SCHEMA_INSTALLED, u"schema %s at version %d (%d migration(s) applied)"
                       % (settings.schemaName(dbName), schema.LATEST_VERSION, len(applied)),
                       {"schema": settings.schemaName(dbName), "applied": applied,
                        "version": schema.LATEST_VERSION})


@guarded
def checkSchema(dbName=None):
    """Whether the system tables are installed and current."""
    versions = schema.appliedVersions(dbName)
    current = max(versions) if versions else 0
    pending = [m[0] for m in schema.MIGRATIONS if m[0] not in versions]
    data = {"schema": settings.schemaName(dbName), "version": current,
            "latestVersion": schema.LATEST_VERSION, "pending": pending}
    if not versions:
        return envelope.fail(codes.SCHEMA_NOT_INSTALLED, u"schema %s is not installed"
                             % data["schema"], data)
    if pending:
        return envelope.fail(codes.SCHEMA_OUTDATED, u"schema %s needs migration(s) %s"
                             % (data["schema"], pending), data)
    return envelope.ok(codes.SCHEMA_CURRENT, u"schema %s is at version %d"
                       % (data["schema"], current), data)


@guarded
def configure(defaultDatabase=None, schemaName=None, dbName=None, workerThreads=None,
              claimBatch=None, memoryQueueCapacity=None, memoryQueueOverflow=None,
              startOnEnqueue=None, leaseSeconds=None, executorName=None,
              maxRecoveryAttempts=None, commandRoles=None, promptRoles=None, adminRoles=None,
              appVersion=None, compatibleVersions=None, idlePollMs=None):
    """Change the engine's configuration for this gateway (kept across project saves).

    ``schemaName`` applies to the connection ``dbName`` (default: the default database).
    ``memoryQueueCapacity`` bounds in-memory enqueue queues created after the call (a queue
    already holding requests keeps its bound until the JVM restarts).
    ``memoryQueueOverflow`` is what a full in-memory queue does when a call names no policy:
    "reject" (the default) or "dropOldest". ``startOnEnqueue`` (default True): ``enqueue``
    claims right away on the caller's thread when this executor has room; False leaves
    every start to the timer (no claim ever runs on a button's thread). ``idlePollMs``
    (default 50): how often an executor's lookout asks the database for runs enqueued
    elsewhere and for peers whose lease ran out (0: only the timer looks).
    ``leaseSeconds`` (default 30): how long this executor stays the owner of its runs
    without renewing its lease; keep it at least 3 timer periods. ``executorName``: this
    executor's stable name (default: the gateway's system name); a start under a name takes
    over the runs of the earlier executor of that name at once. ``maxRecoveryAttempts``
    (default 10): the recovery limit stored with each run enqueued from then on whose
    workflow names none (runs keep the limit they were enqueued with).
    ``commandRoles`` / ``promptRoles`` / ``adminRoles``: lists of roles of which a caller
    needs one to send commands (HOLD, RESUME, STOP, cancel), answer prompts, or switch
    maintenance and swap pools (default []: anyone); refusals are journaled.
    ``appVersion`` (default "1"): the application version new runs record and this
    executor runs; ``compatibleVersions``: older versions whose runs this code can finish
    (docs/versions.md). Set them before ``onStartup``: the executor's row records them.
    Every value is checked before any is applied, so a refused call changes nothing.
    """
    wanted = dict(locals())  # every parameter but dbName is a row of settings.SETTINGS
    dbName = wanted.pop("dbName")
    validate.name("dbName", dbName, required=False)
    settings.configure(wanted, dbName)
    if workerThreads is not None:  # (parallel steps have a pool of that size too)
        for pool in (kernel.getKernel().existingPool(), kernel.getKernel().existingStepPool()):
            if pool is not None:
                platform.resizePool(pool, settings.workerThreads())
    return envelope.ok(codes.CONFIGURED, u"configuration updated", settings.shown(dbName))


@guarded
def registerWorkflowModules(moduleNames):
    """Import user modules that define workflows and remember them across project saves.

    Call it from the gateway startup script, e.g.
    ``registerWorkflowModules(["plant.workflows.batch"])``.
    """
    moduleNames = checkModuleNames(moduleNames)
    failed = {}
    for name in moduleNames:
        try:
            registry.registerModule(name)
        except compat.CATCHABLE as error:
            failed[name] = u"%s: %s" % compat.describeError(error)
    data = {"modules": registry.registeredModules(), "workflows": registry.registeredNames(),
            "failed": failed}
    if failed:
        return envelope.fail(codes.MODULE_IMPORT_FAILED, u"could not import %s" % u"; ".join(
            u"%s (%s)" % (name, failed[name]) for name in sorted(failed)), data)
    return envelope.ok(codes.MODULES_REGISTERED, u"%d module(s) registered" % len(data["modules"]),
                       data)


def checkModuleNames(moduleNames):
    """A module name or a list of them, checked; the list."""
    if isinstance(moduleNames, compat.string_types):
        moduleNames = [moduleNames]
    if not isinstance(moduleNames, (list, tuple)) or not moduleNames:
        raise InvalidArgument(u"moduleNames must be a module name or a list of them")
    for name in moduleNames:
        validate.name("module name", name)
    return list(moduleNames)


@guarded
def getEngineInfo():
    """This executor's id, configuration and load (for diagnostics)."""
    k = kernel.getKernel()
    pool = k.existingPool()
    data = settings.shown()
    data.update({"executorId": k.executorId, "generation": k.generation.get(),
                 "runsWorkflows": k.isExecutor(),
                 "runningHere": k.running.size(),
                 "inFlight": k.inFlight.get(), "inMemoryQueued": memoryqueue.totalDepth(),
                 "droppedWaiting": memoryqueue.droppedWaiting(),
                 "poolThreads": platform.poolSize(pool) if pool is not None else 0,
                 "poolActive": k.poolActive(),
                 "modules": registry.registeredModules()})
    return envelope.ok(codes.ENGINE_INFO, u"executor %s" % k.executorId, data)


@guarded
def applyRetention(olderThanDays=None, dbName=None):
    """Delete runs that ended more than ``olderThanDays`` days ago (active runs are kept), or
    with None apply the stored retention policy now, batch after batch (its stale timeout
    cancels, never deletes). Codes RETENTION_APPLIED, NO_RETENTION_POLICY."""
    if olderThanDays is None:
        return _applyPolicy(settings.databaseName(dbName))
    days = validate.number("olderThanDays", olderThanDays, allowZero=True)
    olderThanMs = int(days * 86400000)
    deleted = retention.deleteCompletedOlderThan(dbName, olderThanMs)
    pruned = executors.prune(dbName, olderThanMs)
    return envelope.ok(codes.RETENTION_APPLIED, u"%d run(s) and %d gone executor(s) deleted"
                       % (deleted, pruned),
                       {"deleted": deleted, "executorsDeleted": pruned,
                        "olderThanMs": olderThanMs, "cancelled": 0})


def _applyPolicy(dbName):
    """applyRetention of the stored policy."""
    policy = retention.storedPolicy(dbName)
    if not policy.isOn():
        return envelope.fail(codes.NO_RETENTION_POLICY, u"no retention limit is set "
                             u"(setRetentionPolicy)", retention.readPolicy(dbName))
    done = retention.applyPolicy(dbName, policy)
    done["executorsDeleted"] = executors.prune(dbName, policy.maxAgeMs) \
        if policy.maxAgeMs is not None else 0
    done["olderThanMs"] = policy.maxAgeMs
    return envelope.ok(codes.RETENTION_APPLIED, u"%d run(s) deleted, %d stale run(s) "
                       u"cancelled" % (done["deleted"], done["cancelled"]), done)


@guarded
def getRetentionPolicy(dbName=None):
    """The retention policy every gateway sharing the database follows (None: a limit that
    is off), and what the last pass did. Code RETENTION_POLICY."""
    data = retention.readPolicy(settings.databaseName(dbName))
    return envelope.ok(codes.RETENTION_POLICY, u"retention %s" % (
        u"on" if data["automatic"] else u"off"), data)


@guarded
def setRetentionPolicy(maxAgeDays=None, maxRows=None, staleAfterHours=None,
                       intervalSeconds=60, batchSize=500, user=None, session=None, roles=None,
                       dbName=None):
    """Replace the retention policy of every gateway sharing the database (None: that limit
    off; all None: retention off). Ended runs older than ``maxAgeDays`` go, and the oldest
    ended runs beyond the newest ``maxRows``; active runs older than ``staleAfterHours`` are
    cancelled (never deleted). Dispatch applies it: one gateway every ``intervalSeconds``
    deletes at most ``batchSize`` runs in one short transaction. Authorized by adminRoles,
    journaled as RETENTION. Code RETENTION_POLICY_SET (getRetentionPolicy's data)."""
    policy = retention.checkedPolicy(maxAgeDays, maxRows, staleAfterHours, intervalSeconds,
                                     batchSize)
    dbName = settings.databaseName(dbName)
    actor = _admin(actors.Caller(user, session, roles), dbName, vocabulary.RETENTION)

    def work(t):
        retention.setPolicy(dbName, policy, actor.name, t)
        operator.journal(dbName, actor, JournalEntry(vocabulary.RETENTION),
                         operator.Outcome(True, codes.RETENTION_POLICY_SET),
                         {"policy": dict(zip(policy._fields, policy))}, t)
    tx.inTransaction(dbName, work)
    data = retention.readPolicy(dbName)
    return envelope.ok(codes.RETENTION_POLICY_SET, u"retention %s" % (
        u"on" if data["automatic"] else u"off"), data)


_EXECUTOR_KEYS = (("executor_id", "executorId"), ("executor_name", "executorName"),
                  ("host", "host"), ("runtime", "runtime"), ("generation", "generation"),
                  ("lease_ms", "leaseMs"), ("worker_threads", "workerThreads"),
                  ("in_flight", "inFlight"), ("started_at_ms", "startedAtMs"),
                  ("heartbeat_at_ms", "heartbeatAtMs"), ("contact_since_ms", "contactSinceMs"),
                  ("retired_at_ms", "retiredAtMs"), ("retired_reason", "retiredReason"),
                  ("retired_by", "retiredBy"), ("recovered_runs", "recoveredRuns"),
                  ("alive", "alive"), ("active_runs", "activeRuns"), ("state", "state"),
                  ("heartbeat_age_ms", "heartbeatAgeMs"), ("overdue_after_ms", "overdueAfterMs"),
                  ("app_version", "appVersion"), ("app_versions", "runsVersions"))


@guarded
def listExecutors(includeRetired=False, dbName=None):
    """The executors sharing the system database: live ones, ones whose lease lapsed (their
    runs are recovered by the others), and with ``includeRetired`` the stopped, superseded
    and dead ones, with who recovered their runs."""
    rows = executors.listExecutors(dbName, bool(includeRetired))
    found = [dict((key, row[column]) for column, key in _EXECUTOR_KEYS) for row in rows]
    for executor in found:  # (JSON text from the database; None before schema version 8)
        executor["runsVersions"] = codec.decode(executor["runsVersions"])
    alive = len([e for e in found if e["alive"]])
    return envelope.ok(codes.EXECUTORS_LISTED, u"%d executor(s), %d alive" % (len(found), alive),
                       {"executors": found, "count": len(found), "alive": alive})


@guarded
def recoverNow(includeUnregistered=False, dbName=None):
    """Renew this executor's lease and recover the runs of dead executors now, instead of at
    the next dispatch. ``includeUnregistered`` also recovers runs whose owner never
    registered a lease (a gateway on a library version before leases): call it once those
    gateways are upgraded or stopped, since nothing else tells whether they still run them.
    Code RECOVERY_DONE with the counts (``unregisteredOwners``: such owners left alone)."""
    refused = _notExecutor(u"recovery runs on the executing gateways, at their next tick")
    if refused:
        return refused
    counts = leases.heartbeat(dbName, force=True, includeUnregistered=bool(includeUnregistered))
    return envelope.ok(codes.RECOVERY_DONE, u"%d run(s) recovered, %d stopped at their recovery "
                       u"limit" % (counts["recovered"] + counts["orphansRecovered"],
                                   counts["exceeded"]), counts)


def _notExecutor(why):
    """The NOT_AN_EXECUTOR envelope where onStartup did not make this JVM an executor (a
    Script Console, a Vision client, a script off the gateway), else None."""
    if kernel.getKernel().isExecutor():
        return None
    return envelope.fail(codes.NOT_AN_EXECUTOR, u"this JVM runs no workflows (its startup script "
                         u"did not call onStartup here): %s" % why, {})


def _admin(caller, dbName, action):
    """The actor of an admin call (an actors.Caller), authorized (a refusal is journaled
    and raised)."""
    return operator.authorized(operator.Action(settings.databaseName(dbName), "admin",
                                               JournalEntry(action)), caller)


@guarded
def enterMaintenance(mode="drain", reason=None, queueName=None, user=None, session=None,
                     roles=None, dbName=None):
    """Stop every executor sharing the database from claiming work of ``queueName`` (None:
    every queue). ``mode="cancel"`` also cancels the queued, waiting, held and running runs
    in scope (running ones stop at their next step boundary). Enqueues are still accepted;
    they wait for ``exitMaintenance``. Code MAINTENANCE_ENTERED (data: cancelled counts by
    the status they had, and getMaintenanceStatus's)."""
    settings.checkChoice("mode", mode, maintenanceMode.MODES)
    validate.text("reason", reason, 2000, required=False)
    validate.name("queueName", queueName, False)
    data = maintenanceMode.enter(settings.databaseName(dbName), mode, reason, queueName,
                                 actors.Caller(user, session, roles))
    return envelope.ok(codes.MAINTENANCE_ENTERED, u"maintenance (%s) on for %s" % (
        mode, queueName or u"every queue"), data)


@guarded
def exitMaintenance(queueName=None, reason=None, user=None, session=None, roles=None,
                    dbName=None):
    """Let executors claim again (every scope, or only ``queueName``'s). Codes
    MAINTENANCE_EXITED, NOT_IN_MAINTENANCE."""
    validate.name("queueName", queueName, False)
    validate.text("reason", reason, 2000, required=False)
    ended, data = maintenanceMode.exit(settings.databaseName(dbName), queueName, reason,
                                       actors.Caller(user, session, roles))
    if not ended:
        return envelope.fail(codes.NOT_IN_MAINTENANCE, u"no maintenance was on for %s"
                             % (queueName or u"any queue"), data)
    return envelope.ok(codes.MAINTENANCE_EXITED, u"maintenance off for %s"
                       % (queueName or u"every queue"), data)


@guarded
def moveRuns(fromVersion, toVersion, workflowName=None, reason=None, user=None, session=None,
             roles=None, dbName=None):
    """Give the runs of application version ``fromVersion`` that have not ended (of
    ``workflowName`` only, when given) the version ``toVersion``: executors that run
    ``toVersion`` finish them (docs/versions.md). Ended runs keep their version. Journaled
    (MOVE_RUNS, adminRoles). Codes RUNS_MOVED (data: moved), NOT_AUTHORIZED."""
    validate.name("fromVersion", fromVersion)
    validate.name("toVersion", toVersion)
    validate.name("workflowName", workflowName, False)
    validate.text("reason", reason, 2000, required=False)
    data = versions.moveRuns(settings.databaseName(dbName),
                             versions.Move(fromVersion, toVersion, workflowName), reason,
                             actors.Caller(user, session, roles))
    return envelope.ok(codes.RUNS_MOVED, u"%d run(s) of version %s moved to version %s"
                       % (data["moved"], fromVersion, toVersion), data)


@guarded
def getMaintenanceStatus(dbName=None):
    """Whether maintenance is on (and for which queues), each live executor's in-flight
    runs (``drained``), this executor's generation, and the active work by status."""
    data = maintenanceMode.status(settings.databaseName(dbName))
    return envelope.ok(codes.MAINTENANCE_STATUS, u"maintenance %s" % (
        u"on" if data["enabled"] else u"off"), data)


@guarded
def swapIfDrained(user=None, session=None, roles=None, dbName=None):
    """The deployment cutover: replace this executor's worker pool and bump its generation,
    only while maintenance is on for every queue and this executor runs nothing. Codes SWAPPED,
    NOT_DRAINED (data: what still runs), MAINTENANCE_REQUIRED."""
    refused = _notExecutor(u"it has no worker pool to swap")
    if refused:
        return refused
    swapped, code, details = maintenanceMode.swapIfDrained(settings.databaseName(dbName),
                                                           actors.Caller(user, session, roles))
    messages = {codes.SWAPPED: u"pools replaced; generation %s" % details["generation"],
                codes.NOT_DRAINED: u"this executor still runs work (%d in flight, %d claimed)"
                               % (details["inFlight"], details["claimedRuns"]),
                codes.MAINTENANCE_REQUIRED: u"enter maintenance first"}
    return (envelope.ok if swapped else envelope.fail)(code, messages[code], details)


@guarded
def selfTest(dbName=None, timeoutSeconds=60, user=None, session=None, roles=None):
    """Prove this install where it runs (the Script Console, a gateway script, a console
    button): system.db in a scratch schema (dropped after), the JVM-wide kernel and the
    worker pool, and the built-in workflow through the live engine on ``dbName`` (retries,
    hold and resume, a prompt answered by the caller, a durable sleep), deleted after.
    ``timeoutSeconds`` bounds the wait for the workflow. Each check is reported with its
    outcome, time and detail; one that fails stops no other. Codes SELF_TEST_PASSED,
    SELF_TEST_FAILED (data: checks, counts, interpreter, ...); journaled as SELF_TEST."""
    timeoutMs = int(1000 * validate.number("timeoutSeconds", timeoutSeconds, maximum=3600))
    dbName = settings.databaseName(dbName)
    caller = actors.Caller(user, session, roles)
    data = selftest.run(dbName, timeoutMs, _admin(caller, dbName, vocabulary.SELF_TEST), caller)
    seconds = data["durationMs"] / 1000.0
    if data["failed"]:
        failedChecks = u"; ".join(u"%s/%s" % (c["group"], c["name"])
                                  for c in data["checks"] if c["ok"] is False)
        return envelope.fail(codes.SELF_TEST_FAILED, u"self-test failed %d of %d check(s) in "
                             u"%.1f s: %s" % (data["failed"], len(data["checks"]), seconds,
                                              failedChecks), data)
    return envelope.ok(codes.SELF_TEST_PASSED, u"self-test passed %d check(s) in %.1f s "
                       u"(%d skipped)" % (data["passed"], seconds, data["skipped"]), data)
