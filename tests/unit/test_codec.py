"""JSON encoding of what the engine stores (exchange.workflows.codec): compact and sorted,
refusing what cannot be stored and saying why; error records that cannot fail.
No database: the codec is pure."""
from __future__ import absolute_import, division, print_function

import json

import pytest

from exchange.workflows import codec


def test_text_is_compact_sorted_and_ascii():
    assert codec.encode({"b": [1, 2.5, None], "a": u"\u00e9t\u00e9"}) == \
        '{"a":"\\u00e9t\\u00e9","b":[1,2.5,null]}'


def test_a_document_comes_back_as_a_replay_sees_it():
    document = {"nested": {"list": [1, {"x": True}]}, "big": 2 ** 53 + 1, "neg": -2 ** 40,
                "tenth": 0.1, "none": None, "empty": {}, "text": u"\u6e29\u5ea6"}
    assert codec.decode(codec.encode(document)) == document
    text, value = codec.roundTrip((1, 2))
    assert (text, value) == ("[1,2]", [1, 2])  # a tuple comes back a list, live as on replay
    assert codec.decode(None) is None


@pytest.mark.parametrize("value", [float("nan"), float("inf"), set([1]), object(),
                                   {(1, 2): "a tuple key"},
                                   u"a NUL \x00 in text", {"k": [u"\x00"]}])
def test_what_cannot_be_stored_is_refused(value):
    with pytest.raises(codec.NotSerializable):
        codec.encode(value)


def test_an_escaped_backslash_before_u0000_is_not_a_nul():
    text = codec.encode(u"\\u0000")  # a backslash, then the six characters u0000
    assert json.loads(text) == u"\\u0000"


def test_an_error_record_never_fails():
    record = json.loads(codec.errorJson("Boom", u"bad \x00 byte", u"t" * (70 * 1024),
                                        code="STEP_FAILED", attempts=3, detail=None))
    assert record["type"] == "Boom" and record["message"] == u"bad ? byte"
    assert len(record["traceback"]) == codec.MAX_ERROR_TEXT
    assert (record["code"], record["attempts"], record["detail"]) == ("STEP_FAILED", 3, u"")


def test_only_a_dict_is_a_dict():
    assert codec.asDict({"a": 1}) == {"a": 1}
    assert codec.asDict([("a", 1)]) is None and codec.asDict(None) is None


def test_a_flat_dict_is_written_exactly_as_the_json_encoder_writes_it():
    # codec writes dicts of text keys to text, whole numbers, booleans and None itself (a
    # hot path); the text must be the encoder's, byte for byte
    encoder = json.JSONEncoder(sort_keys=True, separators=(",", ":"), allow_nan=False,
                               ensure_ascii=True)
    flats = [{}, {u"value": 1}, {u"b": None, u"a": True, u"c": False},
             {u"\u00e9": u"t\u00e9\"\\\n\u2603", u"big": 2 ** 70, u"neg": -5},
             {u"emoji": u"\U0001F600", u"": u""}, {"plain": "text", "n": 1}]
    for value in flats:
        assert codec._flat(value) is not None, value
        assert codec.encode(value) == encoder.encode(value)
    for value in ({u"f": 0.5}, {u"l": [1]}, {u"d": {}}, {1: u"a number key"}):
        assert codec._flat(value) is None, "%r goes the long way" % (value,)
        assert codec.encode(value) == encoder.encode(value)
