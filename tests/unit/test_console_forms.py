"""The console's forms (api.consoleforms): the repeater instances a form's fields become and
the values filled in, converted by type. No database: both are pure."""
from __future__ import absolute_import, division, print_function

from exchange.workflows.api import consoleforms


def filled(*instances):
    return consoleforms.values(list(instances))


def field(name, kind, value, required=False):
    return {"name": name, "type": kind, "required": required, "options": [], "value": value}


def test_a_start_form_becomes_instances_with_its_defaults_shown():
    fields = [{"name": "material", "required": False, "default": "flour", "type": "text"},
              {"name": "kg", "required": False, "default": 10, "type": "number"},
              {"name": "rate", "required": False, "default": 0.5, "type": "number"},
              {"name": "dry", "required": False, "default": True, "type": "boolean"},
              {"name": "recipe", "required": False, "default": {"a": 1}, "type": "json"},
              {"name": "target", "required": True, "default": None, "type": "text"}]
    assert consoleforms.instances(fields) == [
        field("material", "string", "flour"), field("kg", "integer", 10),
        field("rate", "number", 0.5), field("dry", "boolean", True),
        field("recipe", "json", '{"a":1}'), field("target", "string", u"", True)]


def test_a_prompt_form_becomes_instances_with_its_enum_as_options():
    form = [{"name": "grade", "type": "string", "required": False, "enum": ["A", "B"]},
            {"name": "kg", "type": ["number", "null"], "required": True, "enum": None},
            {"name": "ok", "type": "boolean", "required": True, "enum": None},
            {"name": "tags", "type": "array", "required": False, "enum": None},
            {"name": None, "type": None, "required": True, "enum": None}]
    instances = consoleforms.instances(form)
    assert [(i["type"], i["value"]) for i in instances] == [
        ("string", u""), ("number", None), ("boolean", False), ("json", u""), ("string", u"")]
    assert instances[0]["options"] == [{"label": "A", "value": "A"},
                                       {"label": "B", "value": "B"}]


def test_values_are_converted_by_type_and_an_empty_optional_field_left_out():
    result = filled(field("material", "string", "rye"), field("kg", "integer", "12"),
                    field("rate", "number", 2), field("dry", "boolean", "true"),
                    field("recipe", "json", '{"a": [1]}'), field("crash", "string", " "),
                    field("count", "integer", 4.0), field("note", "json", ""))
    assert (result["ok"], result["code"]) == (True, "FORM_VALUES"), result
    assert result["data"] == {"material": "rye", "kg": 12, "rate": 2, "dry": True,
                              "recipe": {"a": [1]}, "count": 4}
    assert isinstance(result["data"]["count"], int)


def test_an_unnamed_field_answers_its_value_itself():
    assert filled(field(None, "string", "L0007", True))["data"] == "L0007"
    assert filled()["data"] == {}


def test_a_value_its_type_refuses_or_an_empty_required_field_is_invalid_inputs():
    for instance, message in [
            (field("kg", "number", "ten"), 'kg must be a number, not "ten"'),
            (field("kg", "integer", 2.5), "kg must be a whole number, not 2.5"),
            (field("target", "string", "", True), "target is required"),
            (field(None, "integer", None, True), "the answer is required")]:
        result = filled(instance)
        assert (result["ok"], result["code"], result["message"]) == \
            (False, "INVALID_INPUTS", message), result
    broken = filled(field("recipe", "json", "{"))
    assert broken["code"] == "INVALID_INPUTS"
    assert broken["message"].startswith("recipe is not valid JSON"), broken
