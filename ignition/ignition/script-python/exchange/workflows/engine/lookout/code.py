"""The lookout: an idle executor's quick eye on work nothing here announced.

An enqueue on this JVM claims at once (dispatcher.startSoon), but a run enqueued where the
engine does not run (a client, another gateway, the Script Console) only writes its row, and
a peer killed mid-run only stops renewing its lease: without the lookout both wait for the
next timer tick. Every ``settings.idlePollMs`` (default 50 ms) one daemon thread per JVM asks
the database one small indexed statement (db.executors.lookout) and acts on the answer: a new
enqueue number or queued work the last claim did not see -> claim (the same fast path as an
enqueue); a due delayed or waiting run -> promote, claim; a live peer whose lease ran out
still owning runs -> heartbeat (which recovers them, a batch per statement) until none is
left, claim. It also makes the retention pass, so the tick never waits for one.

The thread is a scheduler kept in the kernel (one per JVM, Java only on a gateway). A task
runs the code of the interpreter that armed it and re-arms itself after each look; a
project save's onStartup (or the new interpreter's first tick) swaps in a scheduler of its
own and shuts the old one down, and a task that finds itself no longer the kernel's lookout,
its interpreter replaced, or the setting 0 stops re-arming. Only an executor looks.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db import executors, runs
from exchange.workflows import compat, platform, settings
from exchange.workflows.engine import dispatcher, kernel, leases, retention

THREAD_NAME = "exchange-workflows-lookout"
RECOVERY_GAP_MS = 100  # the least time between two looks that beat to recover
_lastEnqueue = {}      # dbName -> the enqueue number the last look saw
_lastRecoveryMs = {}   # dbName -> monotonic ms of the last look that beat to recover


def _logger():
    return platform.logger("exchange.workflows.lookout")


def ensure():
    """Start this interpreter's lookout unless it runs already (cheap: each tick calls it);
    True when one runs now. Nothing on a JVM that is no executor, or with idlePollMs 0."""
    k = kernel.getKernel()
    if k.lookoutRuns():
        return True
    current = k.lookout()
    if not k.isExecutor() or settings.idlePollMs() <= 0:
        return False
    candidate = platform.newScheduler(THREAD_NAME)
    if not k.swapLookout(current, candidate):
        platform.shutdownPool(candidate)  # another thread swapped first: its lookout runs
        return True
    if current is not None:
        platform.shutdownPool(current)
    _arm(candidate, 0)
    return True


def stop():
    """Stop this interpreter's lookout (a retire, a shutdown script); True when one ran."""
    k = kernel.getKernel()
    current = k.lookout()
    if current is None or not k.lookoutIsOurs() or not k.swapLookout(current, None):
        return False
    platform.shutdownPool(current)
    return True


def _arm(scheduler, delayMs):
    try:
        platform.schedule(scheduler, lambda: _look(scheduler), delayMs, THREAD_NAME)
    except compat.CATCHABLE:
        pass  # shut down meanwhile: this lookout is over


def _look(scheduler):
    """One look (a task of ``scheduler``), then the next one armed, unless this lookout is
    over."""
    k = kernel.getKernel()
    period = settings.idlePollMs()
    if k.lookout() != scheduler or not k.lookoutIsOurs() or not k.isExecutor() or period <= 0:
        k.swapLookout(scheduler, None)
        platform.shutdownPool(scheduler)
        return
    try:
        lookEverywhere(k)
    except compat.CATCHABLE as error:  # the timer's tick reports what is wrong
        _logger().debug(u"the lookout's look failed (the timer's tick goes on): %s"
                        % compat.describeError(error)[1])
    _arm(scheduler, period)


def lookEverywhere(k):
    """One look at every connection this executor claims from (registered, not superseded,
    not in an outage); counters of what it did."""
    done = {"looks": 0, "recovered": 0, "promoted": 0, "claimed": 0}
    for name in sorted(compat.toText(n) for n in k.connections.keySet()):
        connection = k.connection(name)
        if connection.registered and connection.superseded is None \
                and connection.outage is None:
            for key, value in look(name, k).items():
                done[key] += value
    return done


def look(dbName, k):
    """Ask ``dbName`` what arrived (one statement) and act on it; counters."""
    done = {"looks": 1, "recovered": 0, "promoted": 0, "claimed": 0}
    seen = executors.lookout(dbName, k.executorId)
    wanted = False
    nowMs = compat.monotonicMs()
    if seen.lapsedPeers and nowMs - _lastRecoveryMs.get(dbName, nowMs - RECOVERY_GAP_MS) \
            >= RECOVERY_GAP_MS:
        _lastRecoveryMs[dbName] = nowMs
        beat = leases.heartbeatUntilRecovered(dbName, force=True)
        done["recovered"] = beat["recovered"] + beat["exceeded"]
        wanted = True
    if seen.due:
        done["promoted"] = runs.promoteDue(dbName)
        wanted = True
    previous = _lastEnqueue.get(dbName)
    _lastEnqueue[dbName] = seen.lastEnqueue
    if seen.queued and (previous != seen.lastEnqueue or not k.backlog.get()):
        wanted = True
    if wanted:
        done["claimed"] = dispatcher.claimNow(dbName)
    retention.tick(dbName)  # (at most every few seconds; off the tick's path)
    return done
