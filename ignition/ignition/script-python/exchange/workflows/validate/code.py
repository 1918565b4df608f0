"""Checks of public arguments, shared by every API module so a bad value gets the same code
everywhere. Each raises InvalidArgument (nothing has been written when it does)."""
from __future__ import absolute_import, division, print_function

import math
import re

from exchange.workflows import codes, compat
from exchange.workflows.errors import InvalidArgument

MAX_NAME_LENGTH = 200
# A prompt's id is its run's id, ':' and its position (up to 10 digits): every prompt of
# every accepted workflow id can be named back.
MAX_PROMPT_ID_LENGTH = MAX_NAME_LENGTH + 11
_CONTROL = re.compile(u"[\x00-\x1f\x7f]")
# Names already seen free of control characters (workflow, queue and input names repeat on
# every enqueue, and a regex search costs microseconds on Jython); emptied when full.
_clean = {}
_CLEAN_LIMIT = 4096


def name(what, value, required=True, maxLength=MAX_NAME_LENGTH):
    """A name-like argument: 1 to ``maxLength`` (200) characters of text (None allowed when
    not required)."""
    if value is None:
        if required:
            raise InvalidArgument(u"%s is required" % what, codes.MISSING_ARGUMENT)
        return None
    if not isinstance(value, compat.string_types) or not value.strip():
        raise InvalidArgument(u"%s must be non-empty text" % what)
    if len(value) > maxLength:
        raise InvalidArgument(u"%s is %d characters long; the limit is %d"
                              % (what, len(value), maxLength), codes.VALUE_TOO_LONG)
    if value not in _clean:
        if _CONTROL.search(value):
            raise InvalidArgument(u"%s must not contain control characters" % what)
        if len(_clean) >= _CLEAN_LIMIT:
            _clean.clear()
        _clean[value] = True
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


def number(what, value, allowZero=False, maximum=1e9):
    """A finite number > 0 (or >= 0 with allowZero) and at most ``maximum``, as a float."""
    try:
        number = float(value) if not isinstance(value, bool) else float("nan")
    except (TypeError, ValueError):
        number = float("nan")
    low = (number >= 0) if allowZero else (number > 0)
    if math.isnan(number) or not low or number > maximum:
        raise InvalidArgument(u"%s must be a number %s and at most %g" % (
            what, u">= 0" if allowZero else u"> 0", maximum))
    return number


def text(what, value, maxLength, required=True):
    """Free text (a message, a reason, a comment): up to ``maxLength`` characters."""
    if value is None:
        if required:
            raise InvalidArgument(u"%s is required" % what, codes.MISSING_ARGUMENT)
        return None
    if not isinstance(value, compat.string_types) or (required and not value.strip()):
        raise InvalidArgument(u"%s must be non-empty text" % what)
    if len(value) > maxLength:
        raise InvalidArgument(u"%s is %d characters long; the limit is %d"
                              % (what, len(value), maxLength), codes.VALUE_TOO_LONG)
    return value
