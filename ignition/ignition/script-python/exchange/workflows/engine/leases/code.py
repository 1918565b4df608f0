"""This executor's lease: registration, the heartbeat that renews it, and recovery.

Every executor has a row in ``executors``. Dispatch renews its lease (at most every
settings.heartbeatIntervalMs) and, in the same statement, recovers the runs of executors
whose lease ran out: they go back to their queue and resume by replay on whichever executor
claims them. An executor that starts under a name retires every earlier one of that name, so
a restarted gateway recovers its own runs at once.

The heartbeat also finds this executor's own orphans: runs the database says it owns that
no thread here runs (a claim whose answer was lost, a run left by its thread). A run seen
so in two heartbeats in a row (its claim at least ORPHAN_MIN_AGE_MS old) is recovered like a
dead executor's.

A zombie (an executor paused past its lease) is fenced by the database: each of its writes
names the (executor, attempt) that claimed the run and matches nothing once ownership moved.
On top of that, a run whose executor may have lapsed checks ownership before it starts its
next step (``guardStep``), so a zombie that wakes between two steps never starts the next.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db import executors, tx, versions
from exchange.workflows import codec, compat, platform, settings
from exchange.workflows.engine import kernel
from exchange.workflows.errors import CheckpointUnavailable


def _logger():
    return platform.logger("exchange.workflows.leases")


def _key(dbName, workflowId):
    return u"%s|%s" % (dbName, workflowId)


def trackRun(running, fence):
    """Remember in the kernel's ``running`` map that this JVM runs the claimed run of
    ``fence`` (its attempt)."""
    running.put(_key(fence.dbName, fence.workflowId), int(fence.attempt))


def untrackRun(running, fence):
    """Forget that this JVM runs the attempt of ``fence`` (a newer attempt of its run,
    claimed here meanwhile after a cancel and resume, stays tracked)."""
    running.remove(_key(fence.dbName, fence.workflowId), int(fence.attempt))


def executorName():
    """The configured name, else the platform's default."""
    return settings.executorName() or platform.defaultExecutorName()


def register(dbName):
    """Insert (or renew) this executor's row, retire earlier executors of its name and
    recover their runs at once; returns {superseded, recovered, exceeded}."""
    dbName = settings.databaseName(dbName)
    k = kernel.getKernel()
    name = executorName()
    # one try: a failure reaches dispatch, whose outage backoff tries again (and a missing
    # connection is told at once)
    identity = executors.Identity(k.executorId, name, platform.hostName(),
                                  platform.runtimeName())
    superseded, wasGone = executors.register(dbName, identity, k.generation.get(),
                                             settings.leaseMs(), settings.workerThreads())
    versions.recordExecutor(dbName, k.executorId, settings.appVersion(),
                            codec.encode(settings.runnableVersions()))
    connection = k.connection(dbName)
    connection.registered = True
    connection.superseded = None
    if wasGone:  # our runs may have been recovered meanwhile: threads check before a step
        k.leaseEpoch.incrementAndGet()
    if superseded:
        _logger().info(u"executor %s (%s) replaces %d earlier executor(s) of its name; their "
                       u"runs are recovered now" % (k.executorId, name, superseded))
    result = heartbeat(dbName, force=True)
    result["superseded"] = superseded
    return result


def mayClaim(dbName, k):
    """Register on first use, renew a lease that may have lapsed (no renewal for most of a
    lease: a timer that stopped, a pause); False once another executor took over this one's
    name (or it retired): only onStartup (``register``) makes it claim again. The claim
    itself also refuses while the database holds this executor's lease lapsed or retired."""
    connection = k.connection(dbName)
    if connection.superseded is not None:
        return False
    if not connection.registered:
        register(dbName)
    elif _stale(connection):
        heartbeat(dbName)
    return connection.superseded is None


def _stale(connection):
    """Whether this executor's lease may have lapsed: no renewal for most of a lease."""
    last = connection.beatMs
    return last is None or compat.monotonicMs() - last > settings.leaseMs() * 4 // 5


def heartbeat(dbName, force=False, includeUnregistered=False):
    """Renew the lease (unless renewed less than an interval ago), recover the runs of dead
    executors and this executor's own orphans; counters of what it did.

    ``includeUnregistered`` also recovers the runs of owners that never registered (a
    gateway on a library version without leases): only when those are known to be gone."""
    dbName = settings.databaseName(dbName)
    k = kernel.getKernel()
    connection = k.connection(dbName)
    result = {"renewed": False, "recovered": 0, "exceeded": 0, "orphansRecovered": 0,
              "unregisteredOwners": 0}
    last = connection.beatMs
    sentAtMs = compat.monotonicMs()
    if not force and last is not None and sentAtMs - last < settings.heartbeatIntervalMs():
        return result
    if not connection.registered:
        return register(dbName)
    found = executors.beat(dbName, k.executorId, settings.leaseMs(), k.generation.get(),
                           k.inFlight.get(), settings.maxRecoveryAttempts(),
                           includeUnregistered=includeUnregistered)
    if not found.renewed:
        return _notRenewed(dbName, k, connection, result)
    connection.beatMs = sentAtMs
    if found.lapsed:
        k.leaseEpoch.incrementAndGet()
        _logger().warn(u"executor %s: its lease had lapsed or nearly (paused, or cut off "
                       u"from the database); its runs check ownership before their next step"
                       % k.executorId)
    if found.recovered or found.exceeded:
        _logger().warn(u"recovered %d run(s) from %d executor(s) whose lease ran out or that "
                       u"stopped; %d stopped at their recovery limit: %s"
                       % (found.recovered, found.executorsDeclaredDead, found.exceeded,
                          _named(codec.decode(found.movedJson or u"[]"))))
    _reportUnregistered(connection, found.unregisteredOwners)
    result.update({"renewed": True, "recovered": found.recovered,
                   "exceeded": found.exceeded, "unregisteredOwners": found.unregisteredOwners})
    orphans = _recoverOrphans(dbName, k, connection, found.owned, sentAtMs)
    result["orphansRecovered"] = len(orphans)
    return result


def heartbeatUntilRecovered(dbName, force=False, rounds=10):
    """``heartbeat``, then more (forced) while the last one recovered a full batch
    (settings.RECOVERY_BATCH): a thousand orphans are back in their queues at once, not a
    batch per tick. The counters of all of them."""
    result = heartbeat(dbName, force=force)
    moved = result["recovered"] + result["exceeded"]
    while moved >= settings.RECOVERY_BATCH and rounds > 1:
        rounds -= 1
        more = heartbeat(dbName, force=True)
        moved = more["recovered"] + more["exceeded"]
        result["recovered"] += more["recovered"]
        result["exceeded"] += more["exceeded"]
    return result


NAMED_IN_LOG = 20


def _named(moved):
    """The runs a recovery moved, for its log line: "id (from executor -> status), ..."."""
    shown = [u"%s (from %s -> %s)" % (workflowId, was, status)
             for workflowId, status, was in moved[:NAMED_IN_LOG]]
    more = len(moved) - NAMED_IN_LOG
    return u", ".join(shown) + (u" and %d more (see the journal, action RECOVER)" % more
                                if more > 0 else u"")


def _reportUnregistered(connection, owners):
    """Warn (when the number changes) of runs whose owner never registered: they wait for an
    operator, since no lease tells whether that owner still runs them."""
    if owners == (connection.unregisteredOwners or 0):
        return
    connection.unregisteredOwners = owners
    if owners:
        _logger().warn(u"%d executor(s) without a lease own running workflows (a gateway on "
                       u"an older library version, during an upgrade?); their runs are not "
                       u"recovered automatically. Once those executors are gone, call "
                       u"exchange.workflows.api.admin.recoverNow(includeUnregistered=True)"
                       % owners)


def _notRenewed(dbName, k, connection, result):
    """Our row is retired or gone. Superseded (another start took our name: two live
    executors of one name would take each other's runs) or stopped (retired on purpose):
    claim nothing more. Declared dead (or pruned): our runs were recovered; rejoin, and make
    running threads check ownership."""
    if connection.superseded is not None:
        return result  # stopped or taken over, and known: only onStartup registers again
    k.leaseEpoch.incrementAndGet()  # runs still going here check before their next step
    row = executors.get(dbName, k.executorId)
    if row is not None and row["retired_reason"] == "stopped":
        connection.supersede(u"stopped")
        return result
    if row is not None and row["retired_reason"] == "superseded":
        if connection.supersede(row["retired_by"] or u"?"):
            _logger().error(u"executor %s: executor %s started under the same name (%s) and "
                            u"took over; this one claims nothing more. Give each executor its "
                            u"own name, or restart this one to take the name back"
                            % (k.executorId, row["retired_by"], row["executor_name"]))
        return result
    _logger().warn(u"executor %s was declared dead (%s); its runs were recovered elsewhere; "
                   u"rejoining" % (k.executorId, row["retired_reason"] if row else u"no row"))
    connection.registered = None
    return register(dbName)


# A claim is tracked here microseconds after it commits; one this old that is not is not
# a claim on its way to a worker.
ORPHAN_MIN_AGE_MS = 250
# Claim ages are measured on the database's clock, tracking on this JVM's: a run claimed
# within this margin after tracking began (clock rates, jitter) is not judged.
ORPHAN_CLOCK_MARGIN_MS = 20


def _recoverOrphans(dbName, k, connection, owned, sentAtMs):
    """Recover our claimed runs that no thread here runs (claimed at least ORPHAN_MIN_AGE_MS
    ago), once seen so in two heartbeats in a row (not counting a heartbeat during a claim:
    its runs are tracked only once the claim has returned)."""
    # (not skipped for hand-overs, which finishing workers make all the time under load:
    # a run they claimed is tracked microseconds after their commit, and the age rule and
    # the second heartbeat keep it from being judged before that)
    if k.claiming.get():
        return []
    previous = set(codec.decode(connection.suspects or u"[]"))
    # Runs claimed before this JVM tracked its runs (by a library version without leases,
    # whose threads may still run them after a project save; tracking begins with the first
    # onStartup of this version) are never taken for orphans: their claim is older than
    # the tracking, measured up to before the heartbeat was sent.
    trackedForMs = sentAtMs - k.trackingSince.get()
    now = []
    for workflowId, attempt, claimAgeMs in owned:
        running = k.running.get(_key(dbName, workflowId))
        if (running is None or int(running) != attempt) and claimAgeMs >= ORPHAN_MIN_AGE_MS \
                and claimAgeMs < trackedForMs - ORPHAN_CLOCK_MARGIN_MS:
            now.append(u"%s#%d" % (workflowId, attempt))
    connection.suspects = codec.encode(now)
    confirmed = [key for key in now if key in previous]
    if not confirmed:
        return []
    pairs = [{"workflow_id": key.rsplit(u"#", 1)[0], "attempts": int(key.rsplit(u"#", 1)[1])}
             for key in confirmed]
    recovered = executors.recoverOwn(dbName, k.executorId, codec.encode(pairs),
                                     settings.maxRecoveryAttempts())
    if recovered:
        _logger().warn(u"executor %s: %d run(s) it had claimed were running nowhere; "
                       u"recovered: %s" % (k.executorId, len(recovered),
                                           u", ".join(u"%s -> %s" % r for r in recovered)))
    return recovered


def guardStep(ctx, checkOwnership):
    """Before a step starts: if this executor's lease may have lapsed since the run was
    claimed (no renewal for most of a lease, or a renewal found it lapsed), check ownership
    first with ``checkOwnership(ctx)`` (engine.boundary's refresh: a zombie abandons the run
    here instead of running the step)."""
    k = kernel.getKernel()
    epoch = k.leaseEpoch.get()
    if epoch == ctx.leaseEpoch and not _stale(k.connection(ctx.dbName)):
        return
    try:
        checkOwnership(ctx)
    except compat.CATCHABLE as error:  # a database error is never the workflow's own
        raise CheckpointUnavailable(u"workflow %s: its ownership could not be checked: %s"
                                    % (ctx.workflowId, compat.describeError(error)[1]))
    ctx.leaseEpoch = epoch


def retire(dbName=None, graceMs=0):
    """A clean stop: claim nothing more, let running workflows finish for up to ``graceMs``
    (renewing the lease meanwhile, so nobody takes them), then retire this executor's row
    and give its claimed runs back to their queues at once; (retired, runsGivenBack)."""
    dbName = settings.databaseName(dbName)
    k = kernel.getKernel()
    k.connection(dbName).superseded = u"stopped"
    endMs = compat.monotonicMs() + int(graceMs)
    while k.inFlight.get() and compat.monotonicMs() < endMs:
        try:
            heartbeat(dbName)
        except compat.CATCHABLE as error:
            _logger().warn(u"executor %s: lease not renewed while stopping: %s"
                           % (k.executorId, compat.describeError(error)[1]))
        compat.sleepMs(min(50, max(1, endMs - compat.monotonicMs())))
    retired = tx.retrying(lambda: executors.retire(dbName, k.executorId))
    k.leaseEpoch.incrementAndGet()  # runs still going here check before their next step
    return retired
