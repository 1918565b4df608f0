"""Patch markers: a code change that old runs must not see (DBOS's patching).

``if patched("name"):`` guards the new code path. A run that reaches it for the first time
records a marker operation ``<patch:name>`` at its next position and takes the new path
(True); a replay meets the marker there and takes it again. A run whose step log holds
something else at that position recorded its history under the old code: the old path
(False), and the position is left to what the log holds. ``deprecatePatch("name")``, once
no run may still need the old path: True always; it consumes a marker it meets, and records
none. docs/versions.md.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows import codes, validate
from exchange.workflows.engine import boundary, context
from exchange.workflows.errors import InvalidArgument

PREFIX = u"<patch:"


def _marker(name):
    validate.name("patch name", name)
    return u"%s%s>" % (PREFIX, name)


def _context(what):
    ctx = context.current()
    if ctx is None:
        raise InvalidArgument(u"%s is called inside a workflow" % what, codes.NOT_IN_WORKFLOW)
    if ctx.inStep:
        raise InvalidArgument(u"%s is called in the workflow body, not inside a step" % what,
                              codes.NOT_ALLOWED_IN_STEP)
    return ctx


def patched(name):
    """True: this run takes the new code path (it had not passed this point before the
    change); False: its history was recorded by the old code (take the old path)."""
    marker = _marker(name)
    ctx = _context("patched")

    def work():
        position, recorded = boundary.nextOperation(ctx)
        if recorded is None:
            boundary.recordAt(ctx, position, marker, lambda t: True)
            return True
        if recorded[0] == marker:
            return True
        ctx.position -= 1  # the old path's operation holds this position
        return False
    return boundary.closing(ctx, work)


def deprecatePatch(name):
    """True: the new path, for every run; a marker ``patched(name)`` recorded is consumed."""
    marker = _marker(name)
    ctx = _context("deprecatePatch")

    def work():
        position, recorded = boundary.nextOperation(ctx)
        if recorded is None or recorded[0] != marker:
            ctx.position -= 1  # nothing of ours here: the position stays the next one's
        return True
    return boundary.closing(ctx, work)
