"""The console's forms: the instances a flex repeater of ``Exchange/Workflows/Field`` views
shows for a form's fields (the Runs page's start form, a prompt's answer form), and the
values an operator filled in, converted by each field's type.

The view builds nothing itself: a view model hands it ``instances`` and its submit script
passes the repeater's ``props.instances`` back to ``values`` in one call.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.api import envelope
from exchange.workflows.api.consolecommon import options
from exchange.workflows.api.envelope import guarded
from exchange.workflows import codec, codes, compat
from exchange.workflows.errors import InvalidArgument

# What the Field view draws: a text field (string, json), a numeric entry field (number,
# integer), a checkbox (boolean); a dropdown whenever the field has options.
FIELD_TYPES = ("string", "number", "integer", "boolean", "json")
# A form field's type (a start form's guess, a JSON schema's type) -> the Field view's.
TYPE_NAMES = {"text": "string", "object": "json", "array": "json"}


def fieldType(field):
    """The Field view's type of a form field: its ``type`` (the first of a schema's list
    that is not "null"), an integer default making a number an integer; unknown: string."""
    kind = field.get("type")
    if isinstance(kind, list):
        kind = ([k for k in kind if k != "null"] or [None])[0]
    kind = TYPE_NAMES.get(kind, kind)
    default = field.get("default")
    if kind == "number" and isinstance(default, compat.integer_types) \
            and not isinstance(default, bool):
        kind = "integer"
    return kind if kind in FIELD_TYPES else "string"


def _shown(kind, default):
    """A default as its input shows it: JSON text for json, False for an unset boolean,
    empty text for an unset string."""
    if kind == "json":
        return u"" if default is None else codec.encode(default)
    if default is None:
        return {"boolean": False, "string": u""}.get(kind)
    return default


def instances(fields):
    """A repeater's instances for form fields (consoleruns.workflowForm's ``fields``,
    consoleprompts' ``form``): ``{name, type, required, options, value}`` each, ``options``
    a dropdown's ``[{label, value}]`` of the field's ``enum`` (empty without one) and
    ``value`` its default as the input shows it."""
    found = []
    for field in fields:
        kind = fieldType(field)
        found.append({"name": field.get("name"), "type": kind,
                      "required": bool(field.get("required")),
                      "options": options(field.get("enum") or []),
                      "value": _shown(kind, field.get("default"))})
    return found


def _number(name, kind, value):
    if isinstance(value, compat.string_types):
        try:
            value = float(value.strip())
        except ValueError:
            raise InvalidArgument(u"%s must be a number, not \"%s\"" % (name, value),
                                  codes.INVALID_INPUTS)
    if kind == "integer":
        if value != int(value):
            raise InvalidArgument(u"%s must be a whole number, not %s" % (name, value),
                                  codes.INVALID_INPUTS)
        return int(value)
    return value


def _converted(name, kind, value):
    """A filled-in value as its type asks (text that is not JSON: INVALID_INPUTS)."""
    if kind in ("number", "integer"):
        return _number(name, kind, value)
    if kind == "boolean":
        return value in (True, u"true", u"True") if not isinstance(value, bool) else value
    if kind == "json" and isinstance(value, compat.string_types):
        try:
            return codec.decode(value)
        except ValueError as error:
            raise InvalidArgument(u"%s is not valid JSON: %s" % (name, error),
                                  codes.INVALID_INPUTS)
    return value


def _empty(value):
    return value is None or (isinstance(value, compat.string_types) and not value.strip())


@guarded
def values(instances):
    """What a form's instances were filled in with: ``{name: value}``, each value converted
    by its type, an empty optional field left out (its default applies); an unnamed field
    (a prompt whose schema is not an object) answers its value itself. Codes: FORM_VALUES;
    INVALID_INPUTS for an empty required field or a value its type refuses."""
    filled = {}
    for instance in instances or []:
        name, kind, value = instance["name"], instance["type"], instance["value"]
        if _empty(value):
            if instance["required"]:
                raise InvalidArgument(u"%s is required" % (name or u"the answer"),
                                      codes.INVALID_INPUTS)
            continue
        filled[name] = _converted(name or u"the answer", kind, value)
    data = filled.get(None) if list(filled) == [None] else filled
    return envelope.ok(codes.FORM_VALUES, u"%d value(s)" % len(filled), data)
