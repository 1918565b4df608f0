"""The part of JSON Schema an operator prompt needs to check an answer.

Supported keywords: type (string, number, integer, boolean, object, array, null, or a list
of them), enum, const, minimum, maximum, exclusiveMinimum, exclusiveMaximum, minLength,
maxLength, pattern, required, properties, additionalProperties (false), items, minItems,
maxItems. Any other keyword is refused when the prompt is created, so a schema never
silently checks less than its author meant.
"""
from __future__ import absolute_import, division, print_function

import re

from exchange.workflows import codes, compat
from exchange.workflows.errors import InvalidArgument

_KEYWORDS = frozenset(("type", "enum", "const", "minimum", "maximum", "exclusiveMinimum",
                       "exclusiveMaximum", "minLength", "maxLength", "pattern", "required",
                       "properties", "additionalProperties", "items", "minItems", "maxItems",
                       "title", "description", "default"))
_TYPES = ("string", "number", "integer", "boolean", "object", "array", "null")


def check(schema, path=u"schema"):
    """Refuse a schema this module cannot apply fully (InvalidArgument, code INVALID_SCHEMA)."""
    if not isinstance(schema, dict):
        raise InvalidArgument(u"%s must be a dict" % path, codes.INVALID_SCHEMA)
    unknown = sorted(set(schema) - _KEYWORDS)
    if unknown:
        raise InvalidArgument(u"%s uses unsupported keyword(s) %s" % (path, u", ".join(unknown)),
                              codes.INVALID_SCHEMA)
    _checkValues(schema, path)
    types = schema.get("type")
    for one in (types if isinstance(types, list) else [types] if types is not None else []):
        if one not in _TYPES:
            raise InvalidArgument(u"%s: unknown type %s" % (path, compat.shown(one)),
                                  codes.INVALID_SCHEMA)
    if "pattern" in schema:
        try:
            re.compile(schema["pattern"])
        except (re.error, TypeError):
            raise InvalidArgument(u"%s: invalid pattern %s" % (path, compat.shown(schema["pattern"])),
                                  codes.INVALID_SCHEMA)
    if schema.get("additionalProperties", False) not in (True, False):
        raise InvalidArgument(u"%s: additionalProperties may only be true or false" % path,
                              codes.INVALID_SCHEMA)
    if "items" in schema and not isinstance(schema["items"], dict):
        raise InvalidArgument(u"%s: items must be one schema (a dict)" % path, codes.INVALID_SCHEMA)
    for name, sub in (schema.get("properties") or {}).items():
        check(sub, u"%s.properties.%s" % (path, name))
    if isinstance(schema.get("items"), dict):
        check(schema["items"], path + u".items")


def _checkValues(schema, path):
    """Each keyword's value has the type JSON Schema gives it (else the check would fail
    or, worse, check something else)."""
    def number(v):
        return isinstance(v, compat.integer_types + (float,)) and not isinstance(v, bool)

    def count(v):
        return isinstance(v, compat.integer_types) and not isinstance(v, bool) and v >= 0
    rules = (("minimum", number), ("maximum", number), ("exclusiveMinimum", number),
             ("exclusiveMaximum", number), ("minLength", count), ("maxLength", count),
             ("minItems", count), ("maxItems", count),
             ("pattern", lambda v: isinstance(v, compat.string_types)),
             ("enum", lambda v: isinstance(v, (list, tuple))),
             ("required", lambda v: isinstance(v, (list, tuple)) and
              all(isinstance(n, compat.string_types) for n in v)),
             ("properties", lambda v: isinstance(v, dict)))
    for key, valid in rules:
        if key in schema and not valid(schema[key]):
            raise InvalidArgument(u"%s: %s has the wrong type (%s)" % (path, key, compat.shown(schema[key])),
                                  codes.INVALID_SCHEMA)


def _isType(value, kind):
    if kind == "null":
        return value is None
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, compat.integer_types) and not isinstance(value, bool) or \
            (isinstance(value, float) and value.is_integer())
    if kind == "number":
        return isinstance(value, compat.integer_types + (float,)) and not isinstance(value, bool)
    if kind == "string":
        return isinstance(value, compat.string_types)
    if kind == "array":
        return isinstance(value, (list, tuple))
    return isinstance(value, dict)


def problems(value, schema, path=u"response"):
    """What is wrong with ``value`` under ``schema``: a list of messages (empty: valid)."""
    found = []
    types = schema.get("type")
    if types is not None:
        kinds = types if isinstance(types, list) else [types]
        if not any(_isType(value, kind) for kind in kinds):
            return [u"%s must be of type %s" % (path, u" or ".join(kinds))]
    if "enum" in schema and value not in schema["enum"]:
        found.append(u"%s must be one of %s" % (path, schema["enum"]))
    if "const" in schema and value != schema["const"]:
        found.append(u"%s must be %s" % (path, compat.shown(schema["const"])))
    if _isType(value, "number"):
        for key, bad in (("minimum", lambda v, b: v < b), ("maximum", lambda v, b: v > b),
                         ("exclusiveMinimum", lambda v, b: v <= b),
                         ("exclusiveMaximum", lambda v, b: v >= b)):
            if key in schema and bad(value, schema[key]):
                found.append(u"%s is %s; %s is %s" % (path, value, key, schema[key]))
    if isinstance(value, compat.string_types):
        if "minLength" in schema and len(value) < schema["minLength"]:
            found.append(u"%s is shorter than %d characters" % (path, schema["minLength"]))
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            found.append(u"%s is longer than %d characters" % (path, schema["maxLength"]))
        if "pattern" in schema and not re.search(schema["pattern"], value):
            found.append(u"%s does not match %s" % (path, schema["pattern"]))
    if isinstance(value, dict):
        for name in schema.get("required") or ():
            if name not in value:
                found.append(u"%s.%s is required" % (path, name))
        properties = schema.get("properties") or {}
        for name, item in value.items():
            if name in properties:
                found.extend(problems(item, properties[name], u"%s.%s" % (path, name)))
            elif schema.get("additionalProperties") is False:
                found.append(u"%s.%s is not allowed" % (path, name))
    if isinstance(value, (list, tuple)):
        if "minItems" in schema and len(value) < schema["minItems"]:
            found.append(u"%s has fewer than %d items" % (path, schema["minItems"]))
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            found.append(u"%s has more than %d items" % (path, schema["maxItems"]))
        if isinstance(schema.get("items"), dict):
            for index, item in enumerate(value):
                found.extend(problems(item, schema["items"], u"%s[%d]" % (path, index)))
    return found
