"""The conditions of tag waits, and the dispatch tick's re-check of the runs waiting on one.

engine.plant.waitForTag records what a run waits for; here a condition is tested against a
Good reading, the time it has held is tracked (this JVM's clock, in the kernel), and
``recheck`` (called by the dispatch tick) reads every waiting tag at once and wakes the runs whose condition held long enough.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows import codec, compat, platform
from exchange.workflows.db import tagwaits, waits
from exchange.workflows.engine import kernel

RESCAN_MS = 30000  # with no tag wait known here, the tick looks again this often


def plain(value):
    """A tag value as JSON can record it (Java numbers and dates become Python's)."""
    try:
        return codec.roundTrip(value)[1]
    except codec.NotSerializable:
        return compat.toText(value)


def readAll(paths):
    """[(value, QualityCode)] of the tags at ``paths``, in one ``system.tag.readBlocking``
    (8.1 and 8.3)."""
    import system  # (gateway only: imported when called)
    return [(plain(qualified.value), qualified.quality)
            for qualified in system.tag.readBlocking(list(paths))]


def read(path):
    """(value, QualityCode) of one tag."""
    return readAll([path])[0]


def reading(path):
    """(value, isGood, quality as text) of one tag."""
    value, quality = read(path)
    return value, quality.isGood(), compat.toText(quality)


def holds(spec, value):
    """Whether a Good reading ``value`` meets the wait's condition."""
    condition = spec["condition"]
    try:
        if condition == "equals":
            return value == spec["value"]
        if condition == "above":
            return value > spec["value"]
        if condition == "below":
            return value < spec["value"]
        return spec["low"] <= value <= spec["high"]
    except TypeError:  # (Python 3: None or text against a number)
        return False


def holdKey(dbName, workflowId, position):
    return u"%s|%s|%d" % (dbName, workflowId, position)


def heldLongEnough(key, spec, met):
    """Track since when the condition holds (this JVM's clock, kept in the kernel): True
    once it held ``forMs``. A run claimed elsewhere starts counting again there."""
    holdsMap = kernel.getKernel().tagHolds
    if not met:
        holdsMap.remove(key)
        return False
    since = holdsMap.get(key)
    if since is None:
        holdsMap.putIfAbsent(key, platform.newAtomicLong(compat.monotonicMs()))
        since = holdsMap.get(key)
    return compat.monotonicMs() - since.get() >= spec["forMs"]


def recheck(dbName):
    """The dispatch tick's look at tag waits: read the tags of the runs waiting on one and
    wake those whose condition held long enough (their timeout is dispatch's, run_at_ms).
    Costs nothing while no tag wait is known here: one look per RESCAN_MS (for the waits
    of other executors), and one after each wait suspended here."""
    k = kernel.getKernel()
    begun = k.tagWaitsBegun.get()  # (before the look: a wait suspended after it is seen next)
    if compat.monotonicMs() < k.tagScanAtMs.get() and begun == k.tagScanSeen.get():
        return 0
    waiting = tagwaits.waiting(dbName)
    if not waiting:
        k.tagScanSeen.set(begun)
        k.tagScanAtMs.set(compat.monotonicMs() + RESCAN_MS)
        return 0
    specs = [codec.decode(specJson) for _w, _c, _p, specJson in waiting]
    readings = readAll(spec["path"] for spec in specs)  # every waiting tag in one read
    woken = 0
    for (workflowId, channel, position, _json), spec, (current, quality) in \
            zip(waiting, specs, readings):
        if heldLongEnough(holdKey(dbName, workflowId, position), spec,
                          quality.isGood() and holds(spec, current)):
            woken += waits.wake(dbName, channel)
    return woken
