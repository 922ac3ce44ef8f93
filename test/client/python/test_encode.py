"""_encode: values to JSON text, and the refusal, by a ValueError naming the metric, of everything else."""

import json
import math

import pytest

from outpost_logger import _contract
from outpost_logger._encode import (MAX_LIST_ITEMS, check_name, describe, encode_step, encode_value,
                                    surrogate_problem, utf16_len)


@pytest.mark.parametrize("value, text", [
    (7, "7"),
    (-0, "0"),
    (3.141592, "3.141592"),
    (1e300, "1e+300"),
    (True, "true"),
    (False, "false"),
    ("this is a string metric", '"this is a string metric"'),
    ("é😀", '"\\u00e9\\ud83d\\ude00"'),  # json escapes what is not ASCII: a line is bytes = chars
    ([1, 3, 5, 10, 6, 4], "[1,3,5,10,6,4]"),
    ((0.5, 2), "[0.5,2]"),
    ([], "[]"),
])
def test_plain_values_are_written_as_json_with_their_type(value, text):
    assert encode_value("m", value) == text
    assert json.loads(text) == (list(value) if isinstance(value, tuple) else value)


class Celsius(float):
    def __repr__(self):
        return "hot"


class Count(int):
    def __index__(self):
        return self


class Strange(str):
    def __str__(self):
        return "lie"


class Endless(list):
    def __iter__(self):
        while True:
            yield 1


class Index:
    def __index__(self):
        return 12


class Float:
    def __float__(self):
        return 0.25


def test_subclasses_and_other_numbers_are_logged_as_the_plain_values_they_hold():
    assert encode_value("m", Celsius(21.5)) == "21.5"
    assert encode_value("m", Count(6)) == "6"
    assert encode_value("m", Strange("text")) == '"text"'
    assert encode_value("m", Endless([1, 2])) == "[1,2]"
    assert encode_value("m", Index()) == "12"
    assert encode_value("m", Float()) == "0.25"
    assert encode_value("m", [Index(), Float()]) == "[12,0.25]"


@pytest.mark.parametrize("value, reason", [
    (math.nan, "nan is not a finite number"),
    (-math.inf, "-inf is not a finite number"),
    (10 ** 400, "the integer is too large for a JSON number"),
    (None, "the value is None"),
    ({"a": 1}, "a value must be a number, string, boolean or list of numbers, got dict"),
    (object(), "a value must be a number, string, boolean or list of numbers, got object"),
    (b"bytes", "a value must be a number, string, boolean or list of numbers, got bytes"),
    ([[1, 2]], "item 0 is a list; nested lists are not allowed (lists hold numbers only)"),
    ([1, "a"], "item 1 ('a') must be a finite number (lists hold numbers only)"),
    ([True], "item 0 (True) must be a finite number (lists hold numbers only)"),
    ([1, math.inf], "item 1 (inf) must be a finite number (lists hold numbers only)"),
    ("x\ud800", "the string value contains a lone surrogate (U+D800), not valid Unicode"),
])
def test_what_cannot_be_logged_is_refused_naming_the_metric_and_the_reason(value, reason):
    with pytest.raises(ValueError) as err:
        encode_value("bad metric", value)
    assert str(err.value) == "cannot log metric 'bad metric': " + reason


def test_a_list_too_long_for_a_line_is_refused_before_it_is_encoded():
    assert MAX_LIST_ITEMS == _contract.MAX_LINE_BYTES // 2
    encode_value("m", [0] * MAX_LIST_ITEMS)
    with pytest.raises(ValueError, match=r"the list has %d items, more than a %d-byte metric line holds"
                       % (MAX_LIST_ITEMS + 1, _contract.MAX_LINE_BYTES)):
        encode_value("m", [0] * (MAX_LIST_ITEMS + 1))


def test_a_deep_or_recursive_value_is_a_value_error_never_a_recursion_error():
    deep = []
    d = deep
    for _ in range(100000):
        d.append([])
        d = d[0]
    looped = []
    looped.append(looped)

    class RecursiveIndex:
        def __index__(self):
            return self.__index__()

    for value in [deep, looped, RecursiveIndex(), [RecursiveIndex()]]:
        with pytest.raises(ValueError, match="^cannot log metric 'm': "):
            encode_value("m", value)


class FakeArray:
    """numpy-like: ndim, size and tolist(), without numpy."""

    def __init__(self, plain, ndim=1, size=None):
        self.plain, self.ndim, self.size = plain, ndim, size

    def tolist(self):
        return self.plain


def test_numpy_like_values_are_checked_by_ndim_and_size_before_tolist():
    assert encode_value("m", FakeArray([1.5, 2])) == "[1.5,2]"
    assert encode_value("m", FakeArray(2.5, ndim=0)) == "2.5"
    with pytest.raises(ValueError, match="a 2-dimensional array; only 1-dimensional ones"):
        encode_value("m", FakeArray([[1]], ndim=2))
    with pytest.raises(ValueError, match="the array has 1000000 items"):
        encode_value("m", FakeArray(None, size=1000000))
    with pytest.raises(ValueError, match="tolist\\(\\) of the FakeArray value gave a dict of 1 item, not a number"):
        encode_value("m", FakeArray({"a": 1}))


def test_names_are_plain_non_empty_strings_of_at_most_max_name_chars_utf16_units():
    assert check_name("loss") == "loss"
    assert type(check_name(Strange("sub"))) is str
    assert check_name("😀" * (_contract.MAX_NAME_CHARS // 2)) == "😀" * (_contract.MAX_NAME_CHARS // 2)
    cases = [
        ("", "metric name is empty"),
        (3, "metric name must be a string, got 3"),
        (None, "metric name must be a string, got None"),
        ("a\0b", "metric name 'a\\x00b' contains a NUL character"),
        ("bad \ud800", "metric name 'bad \\ud800' contains a lone surrogate (U+D800), not valid Unicode"),
        ("x" * 257, "metric name '%s'... is longer than 256 characters" % ("x" * 40)),
        ("😀" * 129, "metric name '%s'... is longer than 256 characters (counted as the service counts them, in "
                     "UTF-16 code units: a character beyond U+FFFF takes two)" % ("😀" * 40)),
    ]
    for name, message in cases:
        with pytest.raises(ValueError) as err:
            check_name(name)
        assert str(err.value) == message


def test_utf16_length_and_surrogates_are_counted_as_javascript_does():
    assert utf16_len("abc") == 3
    assert utf16_len("é") == 1
    assert utf16_len("😀") == 2
    assert surrogate_problem("é😀") is None
    assert surrogate_problem("\udc80") == "contains a lone surrogate (U+DC80), not valid Unicode"


def test_a_step_is_an_integer_from_0_to_the_largest_safe_javascript_integer():
    assert encode_step("m", None) == ""
    assert encode_step("m", 10) == ',"step":10'
    assert encode_step("m", Index()) == ',"step":12'
    assert encode_step("m", 2 ** 53 - 1) == ',"step":%d' % (2 ** 53 - 1)
    for step, shown in [(-1, "-1"), (2 ** 53, str(2 ** 53)), (1.5, "1.5"), (True, "True"), ("3", "'3'"),
                        ([1], "a list of 1 item")]:
        with pytest.raises(ValueError) as err:
            encode_step("m", step)
        assert str(err.value) == "cannot log metric 'm': step must be an integer >= 0, got %s" % shown


def test_messages_describe_values_in_a_few_words_never_through_their_repr():
    assert describe(None) == "None"
    assert describe(2 ** 70) == "an integer of 71 bits"
    assert describe("y" * 50) == "%r... (50 characters)" % ("y" * 40)
    assert describe({}) == "{}"
    assert describe({"a": 1, "b": 2}) == "a dict of 2 items"
    assert describe((1,)) == "a tuple of 1 item"
    assert describe(Celsius(1.0)) == "a value of type Celsius"
