"""Claiming work and handing it to the pool: the timer's tick, and the fast paths.

The gateway timer calls ``dispatch`` (fixed delay): it lands in-memory enqueues, moves due
delayed runs into their queues, then claims what this executor has room for. Work also
starts without waiting for a tick: ``enqueue`` asks for a claim right after its insert,
and a worker that finishes a run asks for the next one while queued work was seen. All of
them go through ``pump``: one claimer at a time per JVM (callers arriving meanwhile are
served by the running claimer's next round), the same claim statement and the same
ownership rules, and only in the interpreter that ran the last onStartup, so no thread of
an interpreter a project save replaced ever starts new work. A JVM where onStartup never ran
(a Script Console, a Vision client, a script off the gateway) claims nothing and registers
nothing: its ``dispatch`` only stores the in-memory requests taken there.

Capacity is reserved atomically before claiming, so the claim never takes more than the
free worker slots; unclaimed work stays ENQUEUED for other executors. A submission the pool
refuses gives its row back.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db import runs, tx
from exchange.workflows import codec, compat, platform, settings
from exchange.workflows.engine import debounces, kernel, leases, memoryqueue, outages, registry, \
    retention, runner, schedules, tagconditions

# A claim that lost a race (a partition slot, a deadlock between claimers) claims nothing
# this round; the rows stay ENQUEUED for the next one.
_LOST_RACE = ("23505",) + tx.LOST_RACE_STATES


def _logger():
    return platform.logger("exchange.workflows.dispatcher")


def dispatch(dbName=None):
    """One timer tick: renew the lease and recover dead executors' runs, land in-memory
    enqueues, promote due delayed runs, claim. Returns counters of what it did.

    While the database is unreachable the tick raises DatabaseUnavailable, and the next
    ticks wait out a growing backoff without touching it (engine.outages). The tick's
    statements go first for a pool connection (db.tx.first): busy workers never starve it."""
    return tx.first(lambda: _tick(settings.databaseName(dbName)))


def _tick(dbName):
    k = kernel.getKernel()
    if not k.isExecutor():
        return _storeOnly(k)
    outages.waitOut(dbName)
    try:
        # first: a slow tick must never cost the lease
        result = leases.heartbeatUntilRecovered(dbName)
        result.update(_flush())
        result["promoted"] = runs.promoteDue(dbName)
        result["debounced"] = debounces.fire(dbName)  # due bursts start runs
        result["tagWaitsWoken"] = _recheckTags(dbName)
        result["scheduled"] = schedules.tick(dbName)  # cron ticks due: one run each
        k.backlog.set(1)  # the timer always looks, whatever the last claim saw
        # the tick claims for a while at most: under a steady backlog finishing workers keep
        # asking for more, and the timer must come back to renew the lease and flush
        result.update(pump(dbName, compat.monotonicMs() + settings.heartbeatIntervalMs()))
        if not k.lookoutRuns():  # (else the lookout makes the pass, off the tick's path)
            result["retention"] = retention.tick(dbName)  # after the claim; one small batch
    except compat.CATCHABLE as error:
        if tx.isTransient(error) and not _lostRace(error) and tx.databaseExists(dbName):
            outages.begins(dbName, error)
        raise
    outages.ends(dbName)
    result["inFlight"] = k.inFlight.get()
    result["executor"] = True
    return result


def _recheckTags(dbName):
    """Wake the runs waiting on a tag whose condition holds (engine.tagconditions); a tag that cannot
    be read is logged, never a failed tick."""
    try:
        return tagconditions.recheck(dbName)
    except compat.CATCHABLE as error:
        if tx.isTransient(error):
            raise
        _logger().warn(u"re-checking tag waits failed (the next tick tries again): %s"
                       % compat.describeError(error)[1])
        return 0


def _storeOnly(k):
    """Dispatch where the engine does not run (a client, a gateway whose startup script did
    not call onStartup): store the in-memory requests taken here, claim nothing, register
    nothing. The executing gateways run the work."""
    if k.noteWarnedNotExecutor():
        _logger().warn(u"dispatch in a JVM that is not an executor: it only stores in-memory "
                       u"requests, and the executing gateways run them. On a gateway meant to "
                       u"run workflows, call exchange.workflows.api.lifecycle.onStartup from "
                       u"its startup script")
    result = _flush()
    result.update({"claimed": 0, "submitted": 0, "released": 0, "executor": False,
                   "inFlight": 0})
    return result


def startSoon(dbName=None):
    """Claim now, on the caller's thread, if queued work may be waiting (after an enqueue);
    never raises: the work is durable and the next tick claims it anyway."""
    kernel.getKernel().backlog.set(1)
    _quietly(dbName)


def claimNow(dbName=None):
    """The lookout saw claimable work: claim now, on its thread; how many runs were claimed.
    Raises what the claim raised (the lookout logs it; the tick claims anyway)."""
    kernel.getKernel().backlog.set(1)
    return pump(dbName)["claimed"]


def claimable(dbName=None):
    """Work became claimable on a caller's thread (a wake-up, a resume, a maintenance exit):
    claim it now, unless this gateway leaves every start to the timer (startOnEnqueue)."""
    if settings.startOnEnqueue():
        startSoon(dbName)


def afterRun(dbName):
    """A worker finished a run: take the next runnable rows if the last claim saw any, or if
    a claim was asked for and left to the next caller (a hand-over that filled its room, a
    tick out of time)."""
    k = kernel.getKernel()
    if k.backlog.get() or k.claimWanted.get():
        _quietly(dbName)


def handOver(fence, status, outputJson, errorJson, lastStep=None):
    """A finishing worker's terminal write with the claim of the next runs in one statement
    (db.runs.finishAndClaim, with ``lastStep``'s kept checkpoint when given), when the
    last claim saw work and no limited queue: the run's worker slot passes to the first run
    claimed, and the free ones are filled too. True when the write took effect (what was
    claimed is submitted); False when it did not (nothing was claimed); None when the worker
    must write alone (nothing to claim, no room, anything failed: a failed statement's
    transaction took the write back; a schema before version 15 with a last step). Never
    raises. Hand-overs run beside each other and beside the claimer: each takes its own
    slots (reserved atomically), and SKIP LOCKED keeps their claims apart."""
    if lastStep is not None and (fence.dbName, "finish_step_and_claim") in _lacking:
        return None
    try:
        return _handOver(fence, lambda wanted, namesJson: runs.finishAndClaim(
            fence, status, outputJson, errorJson, wanted, namesJson, lastStep=lastStep))
    except compat.CATCHABLE as error:
        if lastStep is not None:
            _noteLacking(fence.dbName, "finish_step_and_claim", tx.sqlState(error))
        _handOverFailed(fence, error)
        return None


def suspendHandOver(fence, channel, wakeAtMs, shortWaitMs):
    """A sleeping worker's one-statement suspend (db.waits.suspendAlone) with the claim of
    the next runs (db.runs.suspendAndClaim), when handOver could hand over: True when the
    suspend took (what was claimed is submitted); False when it did not (nothing was
    claimed); None when the worker must suspend alone (no hand-over here, nothing to claim,
    no room, or a statement that failed without effect: a schema before version 14, a lost
    race for a partition slot). Raises any other failure (the suspend may have taken: the
    caller reads the run)."""
    if (fence.dbName, "suspend_and_claim") in _lacking:
        return None
    try:
        return _handOver(fence, lambda wanted, namesJson: runs.suspendAndClaim(
            fence, channel, wakeAtMs, shortWaitMs, wanted, namesJson))
    except compat.CATCHABLE as error:
        state = tx.sqlState(error)
        if state != _UNDEFINED_FUNCTION and state not in _LOST_RACE:
            raise  # (the caller reads the run, and says what failed)
        _noteLacking(fence.dbName, "suspend_and_claim", state)
        _handOverFailed(fence, error, u"sleep's suspend")
        return None  # (the statement took nothing back: it did nothing)


_UNDEFINED_FUNCTION = "42883"
# (connection, hand-over function) pairs whose schema lacks the function: suspend_and_claim
# before version 14, finish_step_and_claim before version 15. Not tried again until the
# library is loaded again.
_lacking = set()


def _noteLacking(dbName, function, sqlState):
    """A hand-over that failed for want of its function is not tried again."""
    if sqlState == _UNDEFINED_FUNCTION:
        _lacking.add((dbName, function))


def _handOver(fence, writeAndClaim):
    """A hand-over, when the last claim saw work and no limited queue on an executor's
    current interpreter (else None): counted as under way while it runs; raises what
    failed."""
    k = kernel.getKernel()
    if not k.backlog.get() or k.limitedSeen.get() or not k.isExecutor() \
            or not k.isCurrentInterpreter():
        return None
    k.handingOver.incrementAndGet()  # (every kernel has it: a facade completes older ones)
    try:
        return _handOverWith(k, fence, writeAndClaim)
    finally:
        k.handingOver.decrementAndGet()


_warned = set()  # kinds of hand-over failure logged as a warning once by this interpreter


def _handOverFailed(fence, error, what=u"terminal write"):
    """A failed hand-over costs the run nothing (it is written alone), but one that fails
    every time (a schema without version 12, a bug) costs every run a round trip: each
    kind is a warning once, then a debug line."""
    kind, message = compat.describeError(error)
    platform.warnOncePerKind(_logger(), _warned, kind, u"workflow %s: %s with a claim of the "
                             u"next runs failed (%s: %s); made without"
                             % (fence.workflowId, what, kind, message))


def _handOverWith(k, fence, writeAndClaim):
    """A hand-over's work: ``writeAndClaim(wanted, namesJson)`` writes the run and claims
    (as db.runs.finishAndClaim answers); raises what failed (the slots it reserved given
    back)."""
    dbName = fence.dbName
    names, namesJson = registry.namesAndJson()
    if not names or not leases.mayClaim(dbName, k):
        return None
    workers = settings.workerThreads()
    own = 1 if k.inFlight.get() <= workers else 0  # (not above a shrunk pool's size)
    extra = _reserve(k.inFlight, workers, settings.claimBatch() - own)
    if not own + extra:
        return None
    epoch = k.leaseEpoch.get()
    sentAtMs = compat.nowMs()
    k.claimWanted.set(0)  # this claim sees the work of every request made before it; one
    try:  # made while it runs (it may not see that work) raises the flag again for afterRun
        pool = k.pool()
        finished, claimed, limited, queues = writeAndClaim(own + extra, namesJson)
    except compat.CATCHABLE:
        k.inFlight.addAndGet(-extra)
        k.claimWanted.set(1)  # (no claim was made: the requests stand)
        raise
    # this run's slot is freed when its task ends: the first run claimed takes it over
    k.inFlight.addAndGet(len(claimed) - extra)
    if not finished:
        k.claimWanted.set(1)
        return False
    k.limitedSeen.set(1 if limited else 0)
    k.backlog.set(1 if queues else 0)
    if limited or len(claimed) == own + extra:
        k.claimWanted.set(1)  # limited queues wait, or room was filled: afterRun claims
    _submitAll(k, pool, claimed, sentAtMs, epoch, {"submitted": 0, "released": 0})
    return True


def _quietly(dbName):
    try:
        pump(dbName)
    except compat.CATCHABLE as error:
        _logger().warn(u"claim outside the timer failed (the next tick claims): %s"
                       % compat.describeError(error)[1])


def pump(dbName=None, untilMs=None):
    """Claim and submit until this executor is full or nothing more is claimable (or, with
    ``untilMs``, that monotonic time passed: the request is left to the next caller, a
    finishing worker or the next tick). Callers arriving while another thread claims leave
    their request to it and return at once; a full executor leaves it to its next finishing
    worker."""
    dbName = settings.databaseName(dbName)
    k = kernel.getKernel()
    total = {"claimed": 0, "submitted": 0, "released": 0}
    if not k.isExecutor() or not leases.mayClaim(dbName, k):
        return total
    k.claimWanted.set(1)
    full = False
    while not full and k.claimWanted.get() and k.claiming.compareAndSet(0, 1):
        try:
            while (untilMs is None or compat.monotonicMs() < untilMs) and \
                    k.claimWanted.getAndSet(0) and k.isCurrentInterpreter():
                reserved, counts = _claimOnce(dbName, k)
                for key in total:
                    total[key] += counts[key]
                if not reserved:  # no room: the request waits for the next finishing worker
                    k.claimWanted.set(1)  # (the backlog flag alone may be cleared meanwhile
                    full = True  # by a claim that began before this request's work existed)
                    break
                if counts["claimed"] == reserved:
                    k.claimWanted.set(1)  # room was filled: there may be more, and room
        finally:
            k.claiming.set(0)
        if untilMs is not None and compat.monotonicMs() >= untilMs:
            break
    return total


def _flush():
    """Land the in-memory enqueues of every connection. A failure (those requests stay
    queued) must not stop this executor from claiming work that is already durable, so it
    is logged and reported, not raised; when the database itself is down, the claim below
    fails and says so."""
    result = memoryqueue.flushAll()
    result["debouncesStored"] = debounces.flushAll()
    errors = result.pop("errors")
    for name, message in sorted(errors.items()):
        _logger().warn(u"in-memory enqueues for %s not stored yet (%d waiting, kept for the "
                       u"next tick): %s" % (name, memoryqueue.depth(name), message))
    if errors:
        result["flushErrors"] = errors
    return result


def _claimOnce(dbName, k):
    """Reserve free slots, claim up to that many rows, submit them; (reserved, counts)."""
    counts = {"claimed": 0, "submitted": 0, "released": 0}
    names, namesJson = registry.namesAndJson()
    reserved = _reserve(k.inFlight, settings.workerThreads(), settings.claimBatch()) \
        if names else 0
    if not reserved:
        return 0, counts
    claimed, sentAtMs = [], None
    epoch = k.leaseEpoch.get()  # before the claim: a lapse noticed since is checked by the run
    try:
        pool = k.pool()  # before the claim: a pool found shut down is replaced now
        claimed, sentAtMs = _claim(dbName, k, reserved, namesJson)
    finally:
        k.inFlight.addAndGet(len(claimed) - reserved)  # give back what was not claimed
    counts["claimed"] = len(claimed)
    _submitAll(k, pool, claimed, sentAtMs, epoch, counts)
    return reserved, counts


def _submitAll(k, pool, claimed, sentAtMs, epoch, counts):
    """Track and submit claimed runs (their slots reserved), counting into ``counts``."""
    for claim in claimed:
        leases.trackRun(k.running, claim.fence)
    for claim in claimed:
        if not k.isCurrentInterpreter():  # a project save replaced us meanwhile
            _giveBack(k, claim.fence)
            counts["released"] += 1
        elif _submit(k, pool, claim, _clockOffsetMs(claim, sentAtMs), epoch):
            counts["submitted"] += 1
        else:
            counts["released"] += 1


def _reserve(inFlight, workerThreads, batch):
    """Atomically take up to ``batch`` free worker slots; how many were taken."""
    while True:
        current = inFlight.get()
        take = min(batch, workerThreads - current)
        if take <= 0:
            return 0
        if inFlight.compareAndSet(current, current + take):
            return take


def _claim(dbName, k, limit, namesJson):
    """Claim up to ``limit`` rows: without locks while no limited queue has work (one
    statement), else in a short transaction that first locks the limited queues.
    Returns (claims, sentAtMs): the claims (db.runs.Claim) and when the claim was sent."""
    sentAtMs = compat.nowMs()
    try:
        if k.limitedSeen.get():
            claimed, limited, queues = _claimLimited(dbName, k, limit, namesJson)
        else:
            claimed, limited, queues = runs.claim(dbName, k.executorId, limit, namesJson)
            if limited and len(claimed) < limit:
                more, limited, queues = _claimLimited(dbName, k, limit - len(claimed),
                                                      namesJson)
                claimed = claimed + more
    except compat.CATCHABLE as error:
        if _lostRace(error):
            return [], sentAtMs
        raise
    k.limitedSeen.set(1 if limited else 0)
    k.backlog.set(1 if queues else 0)
    return claimed, sentAtMs


def _clockOffsetMs(claim, sentAtMs):
    """The database clock minus this process's, for a claim sent at ``sentAtMs``: the
    runner moves the claim's deadline by it. The claim stamped the run's start when the
    statement began, so the offset is taken from when we sent it (never later: a deadline
    may come a little early, not late)."""
    return claim.databaseNowMs - sentAtMs if claim.databaseNowMs is not None else 0


def _lostRace(error):
    """A statement that lost a race with another executor (a partition slot, a deadlock):
    nothing is wrong with the database; the next round tries again."""
    return tx.sqlState(error) in _LOST_RACE


def _claimLimited(dbName, k, limit, namesJson):
    def work(t):
        held = runs.lockLimitedQueues(dbName, t)
        return runs.claim(dbName, k.executorId, limit, namesJson, codec.encode(held), t)
    return tx.inTransaction(dbName, work)


def _submit(k, pool, claim, clockOffsetMs, epoch):
    """Hand one claimed run (its slot already reserved) to the pool; on refusal, give the
    row and the slot back. Never raises, so one bad row cannot strand the rest. ``epoch``:
    the lease epoch before the claim."""
    inFlight = k.inFlight
    running = k.running
    fence = claim.fence
    dbName, workflowId = fence.dbName, fence.workflowId

    def task():
        try:
            runner.execute(claim, clockOffsetMs, epoch, handOver)
        except compat.CATCHABLE as error:
            _logger().error(u"workflow %s: unexpected failure in the runner: %s"
                            % (workflowId, compat.describeError(error)[1]))
        finally:
            leases.untrackRun(running, fence)
            inFlight.decrementAndGet()
        afterRun(dbName)

    try:
        platform.submit(pool, task)
        return True
    except compat.CATCHABLE as error:
        _logger().warn(u"workflow %s: submission refused (%s); returning it to the queue"
                       % (workflowId, compat.describeError(error)[0]))
        _giveBack(k, fence)
        return False


def _giveBack(k, fence):
    """Return a claimed run no worker took to its queue (and its reserved slot)."""
    k.inFlight.decrementAndGet()
    leases.untrackRun(k.running, fence)
    try:
        if not tx.retrying(lambda: runs.release(fence)):
            tx.retrying(lambda: runs.letGo(fence))
    except compat.CATCHABLE as releaseError:
        _logger().error(u"workflow %s: could not be returned to the queue: %s"
                        % (fence.workflowId, compat.describeError(releaseError)[1]))
