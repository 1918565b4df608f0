"""Checks of public arguments, shared by every API module so a bad value gets the same code
everywhere. Each raises InvalidArgument (nothing has been written when it does)."""
from __future__ import absolute_import, division, print_function

from exchange.workflows.engine import compat
from exchange.workflows.engine.errors import InvalidArgument

MAX_NAME_LENGTH = 200


def name(what, value, required=True):
    """A name-like argument: 1 to 200 characters of text (None allowed when not required)."""
    if value is None:
        if required:
            raise InvalidArgument(u"%s is required" % what, "MISSING_ARGUMENT")
        return None
    if not isinstance(value, compat.string_types) or not value.strip():
        raise InvalidArgument(u"%s must be non-empty text" % what)
    if len(value) > MAX_NAME_LENGTH:
        raise InvalidArgument(u"%s is %d characters long; the limit is %d"
                              % (what, len(value), MAX_NAME_LENGTH), "VALUE_TOO_LONG")
    return value


def wholeNumber(what, value, minimum=None, required=True):
    """An integer (not a bool), optionally at least ``minimum``."""
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, compat.integer_types) \
            or (minimum is not None and value < minimum):
        raise InvalidArgument(u"%s must be a whole number%s" % (
            what, u"" if minimum is None else u" >= %d" % minimum))
    return value


def number(what, value, allowZero=False):
    """A number > 0 (or >= 0 with allowZero), as a float."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not (number >= 0 if allowZero else number > 0):
        raise InvalidArgument(u"%s must be a number %s" % (
            what, u">= 0" if allowZero else u"> 0"))
    return number
