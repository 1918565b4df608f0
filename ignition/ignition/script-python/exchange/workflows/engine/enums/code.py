"""Enums: named, versioned option lists ({label, value, disabled}) that templates and
prompts name, expanded when a form is drawn and checked when an input or a prompt answer
arrives, against the enum's active version at that moment."""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db import enums as statements
from exchange.workflows import codec, codes, compat, validate, vocabulary
from exchange.workflows.engine import catalog
from exchange.workflows.errors import InvalidArgument

KIND = catalog.Kind(statements.CATALOG, "enum", codes.ENUM_NOT_FOUND,
                    (vocabulary.ENUM_VERSION_CREATE, vocabulary.ENUM_VERSION_ACTIVATE,
                     vocabulary.ENUM_VERSION_RETIRE))
_SCALARS = compat.string_types + compat.integer_types + (float, bool)


def _option(option):
    """One option, checked: {label, value, disabled}."""
    given = codec.asDict(option)
    if given is None or set(given) - set(("label", "value", "disabled")):
        raise InvalidArgument(u"an option is a dict of label, value and disabled: %s"
                              % compat.shown(option), codes.INVALID_ENUM)
    value = given.get("value")
    if not isinstance(value, _SCALARS):
        raise InvalidArgument(u"an option's value is text, a number or a boolean: %s"
                              % compat.shown(value), codes.INVALID_ENUM)
    label = given.get("label", compat.toText(value))
    validate.text("label", label, 200)
    return {"label": label, "value": value, "disabled": bool(given.get("disabled", False))}


def checkOptions(options):
    """The options of a new version, checked (a non-empty list, values unique)."""
    if not isinstance(options, (list, tuple)) or not options:
        raise InvalidArgument(u"options must be a non-empty list", codes.INVALID_ENUM)
    checked = [_option(o) for o in options]
    values = [codec.encode(o["value"]) for o in checked]
    if len(set(values)) != len(values):
        raise InvalidArgument(u"option values must be unique", codes.INVALID_ENUM)
    return checked


def prepare(dbName, enumName):
    """What creates the enum's row when its first version is made."""
    return lambda t, actorName: statements.create(dbName, enumName, actorName, t)


def activeOptions(dbName, enumName, t=None):
    """The options of the enum's active version, or None when none is active."""
    row = statements.CATALOG.active(dbName, enumName, t)
    return None if row is None else codec.decode(row["options"])


def enabledOptions(dbName, enumName):
    """The enabled options of the enum's active version as a dropdown shows them
    ({label, value}); none when it has no active version."""
    return [{"label": o["label"], "value": o["value"]}
            for o in activeOptions(dbName, enumName) or [] if not o["disabled"]]


def enabledValues(dbName, enumName):
    """The values an input or answer bound to the enum may take now, or None when it has
    no active version."""
    options = activeOptions(dbName, enumName)
    return None if options is None else [o["value"] for o in options if not o["disabled"]]


def valueProblem(dbName, enumName, value):
    """Why ``value`` is not one of the enum's enabled values now, or None."""
    allowed = enabledValues(dbName, enumName)
    if allowed is None:
        return u"enum %s has no active version" % enumName
    if value not in allowed:
        return u"%s is not one of the enabled values of enum %s: %s" % (
            compat.shown(value), enumName, u", ".join(compat.shown(v) for v in allowed))
    return None
