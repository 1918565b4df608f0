"""The JSON Schema subset that checks prompt answers (engine.schemas): a schema it cannot
apply fully is refused when the prompt is made, and an answer gets every problem it has.
No database: check and problems are pure."""
from __future__ import absolute_import, division, print_function

import pytest

from exchange.workflows import codes
from exchange.workflows.engine import schemas
from exchange.workflows.errors import InvalidArgument


def refusal(schema):
    with pytest.raises(InvalidArgument) as raised:
        schemas.check(schema)
    assert raised.value.code == codes.INVALID_SCHEMA
    return raised.value.args[0]


def test_a_schema_of_the_supported_keywords_passes_the_check():
    schemas.check({"type": "object", "title": "batch", "description": "d", "default": {},
                   "required": ["lot"], "additionalProperties": False,
                   "properties": {"lot": {"type": "string", "minLength": 1, "maxLength": 8,
                                          "pattern": "^L[0-9]+$"},
                                  "kg": {"type": ["number", "null"], "minimum": 0,
                                         "exclusiveMaximum": 100},
                                  "ok": {"enum": [True, False]}, "v": {"const": 1},
                                  "tags": {"type": "array", "minItems": 1, "maxItems": 3,
                                           "items": {"type": "integer",
                                                     "exclusiveMinimum": 0,
                                                     "maximum": 9}}}})


def test_what_the_checker_cannot_apply_fully_is_refused_with_its_path():
    assert "must be a dict" in refusal([])
    assert "unsupported keyword(s) format, oneOf" in refusal({"oneOf": [], "format": "x"})
    assert "unknown type 'date'" in refusal({"type": "date"})
    assert "invalid pattern" in refusal({"type": "string", "pattern": "("})
    assert "additionalProperties may only be true or false" in refusal(
        {"additionalProperties": {"type": "string"}})
    assert "items must be one schema" in refusal({"items": [{"type": "string"}]})
    assert refusal({"properties": {"a": {"properties": {"b": {"minimum": "1"}}}}}).startswith(
        "schema.properties.a.properties.b: minimum has the wrong type")
    assert "schema.items" in refusal({"items": {"maxLength": -1}})
    assert "required has the wrong type" in refusal({"required": ["a", 1]})
    assert "minItems has the wrong type" in refusal({"minItems": True})


def test_a_valid_answer_has_no_problems():
    schema = {"type": "object", "required": ["lot"], "additionalProperties": False,
              "properties": {"lot": {"type": "string", "pattern": "^L"},
                             "kg": {"type": "number", "minimum": 0, "maximum": 10}}}
    assert schemas.problems({"lot": "L1", "kg": 10}, schema) == []
    assert schemas.problems(3.0, {"type": "integer"}) == []
    assert schemas.problems(None, {"type": ["string", "null"]}) == []


def test_a_wrong_type_is_the_only_problem_reported():
    assert schemas.problems("5", {"type": "integer", "minimum": 9}) == [
        "response must be of type integer"]
    assert schemas.problems(True, {"type": ["number", "null"]}) == [
        "response must be of type number or null"]
    assert schemas.problems(1.5, {"type": "integer"}) == ["response must be of type integer"]


def test_every_problem_of_an_answer_is_reported_with_its_path():
    schema = {"type": "object", "required": ["lot", "kg"], "additionalProperties": False,
              "properties": {"lot": {"type": "string", "minLength": 3, "pattern": "^L"},
                             "tags": {"type": "array", "maxItems": 1,
                                      "items": {"enum": ["a", "b"]}}}}
    found = schemas.problems({"lot": "X", "tags": ["a", "c"], "extra": 1}, schema)
    assert len(found) == 6, found
    assert set(found) == set([
        "response.kg is required", "response.lot is shorter than 3 characters",
        "response.lot does not match ^L", "response.tags has more than 1 items",
        "response.tags[1] must be one of ['a', 'b']", "response.extra is not allowed"])


def test_bounds_are_inclusive_or_exclusive_as_named():
    assert schemas.problems(0, {"minimum": 0, "maximum": 0}) == []
    assert schemas.problems(0, {"exclusiveMinimum": 0}) == [
        "response is 0; exclusiveMinimum is 0"]
    assert schemas.problems(5, {"exclusiveMaximum": 5}) == [
        "response is 5; exclusiveMaximum is 5"]
    assert schemas.problems(-1, {"minimum": 0}) == ["response is -1; minimum is 0"]
    assert schemas.problems([], {"minItems": 1}) == ["response has fewer than 1 items"]
    assert schemas.problems("abcd", {"maxLength": 3}) == [
        "response is longer than 3 characters"]
    assert schemas.problems(2, {"const": 1}) == ["response must be 1"]
