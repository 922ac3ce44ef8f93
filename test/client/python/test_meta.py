"""_meta: the params and tags lines, flattened and checked as the service checks them."""

import enum
import json

import pytest

from outpost_logger import _contract
from outpost_logger._meta import encode_params, encode_tags


class Depth(enum.IntEnum):
    DEEP = 4


class Name(str):
    def __str__(self):
        return "lies"


def test_params_are_one_line_with_nested_dicts_flattened_and_values_kept_as_json_types():
    line = encode_params({"lr": 0.01, "model": {"depth": Depth.DEEP, "act": Name("relu")}, "layers": (64, 32), "amp": True})
    assert line.endswith("\n") and line.count("\n") == 1
    assert json.loads(line) == {"params": {"lr": 0.01, "model.depth": 4, "model.act": "relu", "layers": [64, 32], "amp": True}}


def test_tags_keep_numbers_and_booleans_as_json_for_the_service_to_turn_into_text_and_none_removes():
    assert json.loads(encode_tags({"team": "vision", "n": 3, "ok": False, "stale": None})) == {
        "tags": {"team": "vision", "n": 3, "ok": False, "stale": None}}


@pytest.mark.parametrize("params, message", [
    ("lr=0.01", "log_params() takes a dict of name -> value, got 'lr=0.01'"),
    ({}, "log_params() takes a non-empty dict"),
    ({"a": None}, "params['a'] must be a number, string, boolean, list or dict, got None"),
    ({"a": float("inf")}, "params['a'] must be a number"),
    ({"a": [[1]]}, "params['a'][0] must be a finite number, a string or a boolean"),
    ({"a": {"": 1}}, "a param name is empty (in 'a')"),
    ({"m": {}}, "log_params() takes a non-empty dict"),
    ({1: 2}, "a param name must be a string, got 1"),
    ({"a.b": 1, "a": {"b": 2}}, "param 'a.b' is given twice"),
    ({"a\0": 1}, "contains a NUL character"),
    ({"a": "\ud800"}, "params['a'] contains a lone surrogate (U+D800)"),
    ({"x" * (_contract.MAX_NAME_CHARS + 1): 1}, "is longer than %d characters" % _contract.MAX_NAME_CHARS),
    ({"a": "x" * _contract.MAX_LINE_BYTES}, "over the %d-byte limit" % _contract.MAX_LINE_BYTES),
])
def test_bad_params_are_refused_naming_what_and_where(params, message):
    with pytest.raises(ValueError) as err:
        encode_params(params)
    assert message in str(err.value)
    assert str(err.value).startswith(("cannot log params", "log_params()"))


def test_more_params_than_a_line_holds_are_refused_after_flattening():
    encode_params({"m": {str(i): i for i in range(_contract.MAX_METRICS_PER_LINE)}})
    with pytest.raises(ValueError, match="more than %d in one line" % _contract.MAX_METRICS_PER_LINE):
        encode_params({"m": {str(i): i for i in range(_contract.MAX_METRICS_PER_LINE)}, "one": 1})


def test_a_deep_dict_is_walked_without_recursion():
    deep: dict = {}
    inner = deep
    for _ in range(5000):
        inner["d"] = {}
        inner = inner["d"]
    inner["x"] = 1
    # 5000 levels make a name far over the limit: refused by name, not by a RecursionError.
    with pytest.raises(ValueError, match="is longer than"):
        encode_params(deep)


@pytest.mark.parametrize("tags, message", [
    ([("a", "b")], "set_tags() takes a dict of name -> value"),
    ({}, "set_tags() takes a non-empty dict"),
    ({"a": [1]}, "tags['a'] must be a string, number, boolean or None (to remove it), got a list of 1 item"),
    ({"a": float("nan")}, "tags['a'] must be a string, number, boolean or None"),
    ({"": "x"}, "cannot set tags: a tag name is empty"),
    ({"a": "\udfff"}, "tags['a'] contains a lone surrogate (U+DFFF)"),
])
def test_bad_tags_are_refused_naming_what_and_where(tags, message):
    with pytest.raises(ValueError) as err:
        encode_tags(tags)
    assert message in str(err.value)
