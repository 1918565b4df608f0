"""The step library's tag steps: read, write, write-and-confirm and wait for a tag condition.

Each is a recorded step (a recovered run does not write again) on ``system.tag`` (8.1 and
8.3: readBlocking, writeBlocking). A read or write of bad quality fails with
TagQualityError / TagWriteError and is retried a few times; a confirm that times out is not.
The StepError a failed tag step raises carries the code (codes.TAG_*), live and on replay.

``waitForTag`` is a durable wait: shorter than settings.SHORT_WAIT_MS it polls; longer, the
run waits without a thread on channel ``tag:<run>:<position>``, and the dispatch tick
(engine.tagconditions.recheck) reads the tags of waiting runs and wakes those whose
condition held long enough.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows import codes, compat, validate
from exchange.workflows.db import tagwaits, waits
from exchange.workflows.engine import context, durable, kernel, registry, steps, tagconditions
from exchange.workflows.errors import InvalidArgument, StepError, WorkflowsError, \
    WorkflowSuspended

CONDITIONS = ("equals", "above", "below", "within")
POLL_MS = 100


class TagQualityError(WorkflowsError):
    """A tag read whose quality is not Good."""
    code = codes.TAG_BAD_QUALITY


class TagWriteError(WorkflowsError):
    """A tag write answered with a QualityCode that is not Good."""
    code = codes.TAG_WRITE_FAILED


class TagConfirmTimeout(WorkflowsError):
    """The written value did not read back before the confirm timeout."""
    code = codes.TAG_CONFIRM_TIMEOUT


_CODES = {"TagQualityError": codes.TAG_BAD_QUALITY, "TagWriteError": codes.TAG_WRITE_FAILED,
          "TagConfirmTimeout": codes.TAG_CONFIRM_TIMEOUT}


def _readGood(path):
    value, quality = tagconditions.read(path)
    if not quality.isGood():
        raise TagQualityError(u"tag %s reads with quality %s" % (path, quality))
    return value


def _write(path, value):
    import system  # (gateway only: imported when called)
    quality = system.tag.writeBlocking([path], [value])[0]
    if not quality.isGood():
        raise TagWriteError(u"writing %r to tag %s answered %s" % (value, path, quality))
    return True


def _matches(actual, expected, tolerance):
    if tolerance is not None and isinstance(actual, (int, float)) and \
            isinstance(expected, (int, float)):
        return abs(actual - expected) <= tolerance
    return actual == expected


def _confirm(path, expected, timeoutMs, tolerance):
    endMs = compat.monotonicMs() + timeoutMs
    while True:
        value, quality = tagconditions.read(path)
        if quality.isGood() and _matches(value, expected, tolerance):
            return value
        if compat.monotonicMs() >= endMs:
            if not quality.isGood():
                raise TagQualityError(u"tag %s reads with quality %s" % (path, quality))
            raise TagConfirmTimeout(u"tag %s reads %r, not %r, after %d ms"
                                    % (path, value, expected, timeoutMs))
        compat.sleepMs(POLL_MS)


_READ = registry.StepDefinition("readTag", _readGood, True, 3, 0.5, 2.0)
_WRITE = registry.StepDefinition("writeTag", _write, True, 3, 0.5, 2.0)
_CONFIRM = registry.StepDefinition("confirmTag", _confirm, False, 1, 0.0, 1.0)


def _step(definition, *args):
    """Run a tag step; its StepError carries the tag code (set from the recorded type, so
    a replay raises the same)."""
    try:
        return steps.run(definition, args, {})
    except StepError as error:
        typeName = compat.toText(error.errorType).rsplit(u".", 1)[-1]
        error.code = _CODES.get(typeName, error.code)
        raise


def readTag(path):
    """The tag's value (a recorded step); StepError TAG_BAD_QUALITY if not Good after 3 tries."""
    validate.text("path", path, 1000)
    return _step(_READ, path)


def writeTag(path, value):
    """Write a value (a recorded step, 3 tries); StepError TAG_WRITE_FAILED if refused."""
    validate.text("path", path, 1000)
    return _step(_WRITE, path, value)


def writeAndConfirm(path, value, confirmPath=None, timeoutSeconds=10, tolerance=None):
    """Write ``value`` to ``path``, then read ``confirmPath`` (default: the same tag) until
    it matches (within ``tolerance`` for numbers) or ``timeoutSeconds`` pass: then StepError
    TAG_CONFIRM_TIMEOUT (or TAG_BAD_QUALITY when the last read was not Good), not retried.
    Two recorded steps; returns the confirmed value."""
    validate.text("path", path, 1000)
    timeoutMs = int(validate.number("timeoutSeconds", timeoutSeconds, allowZero=True) * 1000)
    _step(_WRITE, path, value)
    return _step(_CONFIRM, confirmPath or path, value, timeoutMs, tolerance)


def _spec(path, condition, value, low, high, forSeconds):
    validate.text("path", path, 1000)
    if condition not in CONDITIONS:
        raise InvalidArgument(u"condition is one of %s, not %s"
                              % (", ".join(CONDITIONS), compat.shown(condition)))
    if condition == "within" and (low is None or high is None):
        raise InvalidArgument(u"condition 'within' needs low and high")
    if condition != "within" and value is None:
        raise InvalidArgument(u"condition %r needs a value" % condition)
    forMs = int(validate.number("forSeconds", forSeconds, allowZero=True) * 1000)
    return {"path": path, "condition": condition, "value": value, "low": low, "high": high,
            "forMs": forMs}


def waitForTag(path, condition, value=None, low=None, high=None, forSeconds=0,
               timeoutSeconds=60):
    """Wait until tag ``path`` meets ``condition`` ("equals"/"above"/"below" ``value``,
    "within" ``low``..``high``) with Good quality for ``forSeconds``, at most
    ``timeoutSeconds``. Returns {"met", "value", "quality", "timedOut"}; recorded, so a
    recovered run waits only what is left. A long wait releases its thread."""
    spec = _spec(path, condition, value, low, high, forSeconds)
    ctx = context.current()
    if ctx is None or ctx.inStep:
        raise InvalidArgument(u"waitForTag is called in a workflow body", codes.NOT_IN_WORKFLOW)
    timeoutMs = int(validate.number("timeoutSeconds", timeoutSeconds, allowZero=True) * 1000)
    recorded = durable.operation(ctx, tagwaits.SPEC_NAME, lambda t, p: dict(
        spec, wakeAtMs=waits.databaseNowMs(ctx.dbName, t) + timeoutMs, position=p))
    key = tagconditions.holdKey(ctx.dbName, ctx.workflowId, recorded["position"])

    def look(t, position):
        current, good, quality = tagconditions.reading(path)
        met = tagconditions.heldLongEnough(key, spec, good and tagconditions.holds(spec, current))
        return met, {"met": met, "value": current, "quality": quality, "timedOut": False}

    def onTimeout(t):
        current, good, quality = tagconditions.reading(path)
        kernel.getKernel().tagHolds.remove(key)
        return {"met": False, "value": current, "quality": quality, "timedOut": True}
    try:
        return durable.waitFor(ctx, "<waitForTag>", u"tag:%s:%d" % (ctx.workflowId,
                                                                   recorded["position"]),
                               recorded["wakeAtMs"], look, onTimeout, pollMs=POLL_MS)
    except WorkflowSuspended:
        kernel.getKernel().tagWaitsBegun.incrementAndGet()  # (committed: the tick looks)
        raise
