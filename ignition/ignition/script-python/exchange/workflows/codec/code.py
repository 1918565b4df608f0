"""JSON encoding of everything the engine stores: inputs, step outputs, results, errors.

JSON only (no pickle): rows stay readable from SQL and the console, and CPython workers and
Jython gateways read each other's records. Keys are sorted because Jython dicts are unordered.
"""
from __future__ import absolute_import, division, print_function

import json
import json.encoder
import re

from exchange.workflows import compat

if compat.IS_JYTHON:  # pragma: no cover - exercised by the Jython suite
    from java.lang import Boolean, Number, String  # novm
    from java.util import Collection, Date, Map  # novm


# An escaped NUL (\u0000 not itself preceded by an escaping backslash): PostgreSQL text cannot
# hold it, so it is refused here, clearly, instead of failing inside the database.
_NUL = re.compile(r"(?:^|[^\\])(?:\\\\)*\\u0000")
_quote = json.encoder.encode_basestring_ascii


class NotSerializable(ValueError):
    """A value that cannot be stored as JSON (a Java object, NaN, a set, a non-text key...)."""


def _javaToPython(value):
    """Convert the Java values a gateway commonly hands over (boxed numbers, strings, dates,
    maps and lists such as Perspective property trees)."""
    if not compat.IS_JYTHON:
        raise TypeError("not JSON serializable: %s" % type(value).__name__)
    if isinstance(value, Map):
        return dict((compat.toText(e.getKey()), e.getValue()) for e in value.entrySet())
    if isinstance(value, Collection):
        return list(value)
    if isinstance(value, Boolean):
        return bool(value.booleanValue())
    if isinstance(value, Number):
        text = value.toString()
        return float(text) if ("." in text or "E" in text) else int(text)
    if isinstance(value, String):
        return compat.toText(value)
    if isinstance(value, Date):
        return int(value.getTime())
    raise TypeError("not JSON serializable: %s" % type(value).__name__)


# ASCII output: Python 2 byte strings and unicode never meet in one document, and the text
# survives any driver encoding unchanged. One encoder for every call (json.dumps with options
# builds one per call: 2-3x the cost of a small document on Jython); it keeps no state
# between calls, so threads share it.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), allow_nan=False,
                            ensure_ascii=True, default=_javaToPython)


_NUMBERS = tuple(set(compat.integer_types))  # (whole numbers only: floats go the long way)
_TEXTS = tuple(set(compat.string_types))  # (a Python 2 str is quoted as the encoder does)


def _flat(value):
    """The JSON of a dict of text keys to text, whole numbers, booleans and None (the usual
    inputs and step outputs), exactly as _ENCODER writes it, or None for anything else.
    Jython's json sorts keys in pure Python, 5-10 us for the smallest dict; this is 1-2."""
    parts = []
    for key in sorted(value):
        if type(key) not in _TEXTS:
            return None
        item = value[key]
        kind = type(item)
        if kind in _TEXTS:
            item = _quote(item)
        elif item is None:
            item = u"null"
        elif kind is bool:
            item = u"true" if item else u"false"
        elif kind in _NUMBERS:
            item = u"%d" % item
        else:
            return None
        parts.append(u"%s:%s" % (_quote(key), item))
    return u"{%s}" % u",".join(parts)


def encode(value):
    """Serialise to compact JSON text, or raise NotSerializable saying why."""
    try:
        text = _flat(value) if type(value) is dict else None
        if text is None:
            text = _ENCODER.encode(value)
    except compat.CATCHABLE as error:
        raise NotSerializable(compat.describeError(error)[1])
    if u"\\u0000" in text and _NUL.search(text):  # (the substring first: it is cheap)
        raise NotSerializable(u"text with NUL characters (\\u0000) cannot be stored")
    return text


def quoted(text):
    """A text as a JSON string literal, exactly as ``encode`` writes it."""
    return _quote(text)


def decode(text):
    """Parse JSON text from the database (None stays None)."""
    if text is None:
        return None
    return json.loads(text)


MAX_ERROR_TEXT = 64 * 1024


def errorJson(errorType, message, traceback=u"", **extra):
    """The JSON record of a failure; never raises (NUL is replaced, long text is cut)."""
    body = {"type": errorType, "message": message, "traceback": traceback}
    body.update(extra)
    clean = {}
    for key, value in body.items():
        if isinstance(value, compat.string_types) or value is None:
            value = compat.toText(value).replace(u"\x00", u"?")[:MAX_ERROR_TEXT]
        clean[key] = value
    return encode(clean)


def asDict(value):
    """A dict from a dict, or from a Java map (a Perspective object); None for anything else."""
    if isinstance(value, dict):
        return value
    if compat.IS_JYTHON and isinstance(value, Map):
        return dict((e.getKey(), e.getValue()) for e in value.entrySet())
    return None


def roundTrip(value):
    """The value as a replay will see it, so a live run and its replay behave the same."""
    text = encode(value)
    return text, json.loads(text)
