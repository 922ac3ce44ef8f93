"""Values to JSON text for a metric line: what can be logged, and the refusal of everything else.

Values are typed Any: they come from user code, and are checked here at run time.

Values come from user code: nothing here recurses more than one level, and nothing trusts a
value's own methods beyond the number protocol (operator.index, float()), whose results are
taken as exact ints and floats. Subclasses of str, int, float, list and tuple are read through
the base type's own methods (their __iter__, __str__ or __repr__ may loop, recurse or lie), and
messages describe a value in a few words (describe), never through its repr. So a deep,
recursive or hostile value is a ValueError naming the metric, never a RecursionError or a hang.
"""

from __future__ import annotations

import json
import operator
import re
import sys
from typing import Any, Optional, Union

from . import _contract as contract

_MAX_FLOAT = sys.float_info.max
MAX_SAFE_INTEGER = 9007199254740991  # JavaScript's largest safe integer: the largest step

# A list item takes at least two bytes ("1,"): a longer list cannot fit in a line.
MAX_LIST_ITEMS = contract.MAX_LINE_BYTES // 2

# Surrogate code points have no UTF-8 form: json.dumps would write one as a \u escape, and the
# service would then have to refuse the line (or store U+FFFD, a different name).
_SURROGATE = re.compile("[\ud800-\udfff]")


def check_name(value: Any) -> str:
    """The name as a plain str, or ValueError saying what is wrong with it."""
    if type(value) is str:
        name: str = value
    elif issubclass(type(value), str):
        name = str.__str__(value)
    else:
        raise ValueError("metric name must be a string, got %s" % describe(value))
    limit = contract.MAX_NAME_CHARS
    if not name:
        raise ValueError("metric name is empty")
    if len(name) > limit or utf16_len(name) > limit:
        raise ValueError("metric name %r... is longer than %d characters%s" % (
            name[:40], limit, "" if len(name) > limit else
            " (counted as the service counts them, in UTF-16 code units: a character beyond U+FFFF takes two)"))
    if "\0" in name:
        raise ValueError("metric name %r contains a NUL character" % (name,))
    problem = surrogate_problem(name)
    if problem:
        raise ValueError("metric name %r %s" % (name, problem))
    return name


def utf16_len(text: str) -> int:
    """The length of `text` as JavaScript (and so the service) counts it: a character beyond U+FFFF is two."""
    if text.isascii():
        return len(text)
    return len(text) + sum(1 for c in text if c > "\uffff")


def surrogate_problem(text: str) -> Optional[str]:
    """None when `text` is valid Unicode, else why not (as the service words it)."""
    if text.isascii():
        return None
    found = _SURROGATE.search(text)
    if found is None:
        return None
    return "contains a lone surrogate (U+%04X), not valid Unicode" % ord(found.group())


def encode_step(name: object, step: Any) -> str:
    """`,"step":N` for a step given, "" for None; ValueError for anything but an integer from 0 to 2**53 - 1."""
    if step is None:
        return ""
    if type(step) is not int:
        n = None
        if not issubclass(type(step), (bool, float)):
            try:
                n = int.__index__(operator.index(step))
            except Exception:  # not an integer (its own __index__ may fail in any way)
                pass
        if n is None:
            raise ValueError("cannot log metric %r: step must be an integer >= 0, got %s" % (name, describe(step)))
        step = n
    if step < 0 or step > MAX_SAFE_INTEGER:
        raise ValueError("cannot log metric %r: step must be an integer >= 0, got %s" % (name, describe(step)))
    return ",\"step\":%d" % step


def encode_value(name: str, value: Any) -> str:
    """JSON text of one value; ValueError naming the metric and the reason for anything else."""
    t = type(value)
    if t is float:
        if value - value != 0.0:  # NaN or infinity, the fast way
            raise ValueError("cannot log metric %r: %r is not a finite number" % (name, value))
        return repr(value)
    if t is int:
        if -_MAX_FLOAT <= value <= _MAX_FLOAT:
            return int.__repr__(value)
        raise ValueError("cannot log metric %r: the integer is too large for a JSON number" % (name,))
    if t is str:
        problem = surrogate_problem(value)
        if problem:
            raise ValueError("cannot log metric %r: the string value %s" % (name, problem))
        return json.dumps(value)
    if t is bool:
        return "true" if value else "false"
    if t is list or t is tuple:
        if len(value) > MAX_LIST_ITEMS:
            raise ValueError("cannot log metric %r: the list has %d items, more than a %d-byte metric line holds"
                             % (name, len(value), contract.MAX_LINE_BYTES))
        return "[%s]" % ",".join([_encode_number(name, i, v) for i, v in enumerate(value)])
    return _encode_other(name, value)


def _encode_number(name: str, i: int, v: Any) -> str:
    """One list item: a finite number, as JSON."""
    t = type(v)
    if t is int and -_MAX_FLOAT <= v <= _MAX_FLOAT:
        return int.__repr__(v)
    if t is float and v - v == 0.0:
        return repr(v)
    if issubclass(t, (list, tuple)):
        raise ValueError("cannot log metric %r: item %d is a list; nested lists are not allowed (lists hold numbers only)"
                         % (name, i))
    if t is not bool and t is not int and t is not float:
        n = _as_number(name, v, "item %d" % i)
        if type(n) is int and -_MAX_FLOAT <= n <= _MAX_FLOAT:
            return int.__repr__(n)
        if type(n) is float and n - n == 0.0:
            return repr(n)
    raise ValueError("cannot log metric %r: item %d (%s) must be a finite number (lists hold numbers only)"
                     % (name, i, describe(v)))


def _as_number(name: str, v: Any, where: str) -> Union[int, float, None]:
    """numpy scalars and other numbers (without importing numpy) as an exact int or float, else None."""
    t = type(v)
    if issubclass(t, bool) or t.__name__ == "bool_":
        return None
    try:
        if hasattr(v, "__index__"):
            return int.__index__(operator.index(v))
        if hasattr(v, "__float__") and not issubclass(t, (str, bytes, list, tuple, dict)):
            return float(v)  # an exact float, or TypeError
    except (TypeError, ValueError, OverflowError):
        return None
    except Exception as err:  # the value's own code failed (a RecursionError, say)
        raise _foreign_failure(name, where, v, err)
    return None


def _encode_other(name: str, value: Any) -> str:
    """Anything but the plain types: None, subclasses of them, numpy (and torch) values, other numbers."""
    if value is None:
        raise ValueError("cannot log metric %r: the value is None" % (name,))
    t = type(value)
    # Subclasses: the plain value, read by the base type's own methods. Each gives a plain type, so
    # encode_value does not come back here.
    if issubclass(t, str):
        return encode_value(name, str.__str__(value))
    if issubclass(t, int):  # bool cannot be subclassed; IntEnum members land here
        return encode_value(name, int.__index__(value))
    if issubclass(t, float):  # numpy.float64 too
        return encode_value(name, float.__float__(value))
    if issubclass(t, list):
        return encode_value(name, list.__getitem__(value, slice(None)))
    if issubclass(t, tuple):
        return encode_value(name, tuple.__getitem__(value, slice(None)))
    try:
        if t.__name__ == "bool_":  # numpy.bool_
            return "true" if bool(value) else "false"
        is_array = hasattr(value, "tolist") and hasattr(value, "ndim")
        if is_array:
            ndim, size = value.ndim, getattr(value, "size", None)
    except Exception as err:
        raise _foreign_failure(name, "the value", value, err)
    if is_array:  # numpy arrays and scalars, torch tensors
        if type(ndim) is int and ndim > 1:
            raise ValueError("cannot log metric %r: a %d-dimensional array; only 1-dimensional ones (lists of numbers) "
                             "can be logged" % (name, ndim))
        if type(size) is int and size > MAX_LIST_ITEMS:
            raise ValueError("cannot log metric %r: the array has %d items, more than a %d-byte metric line holds"
                             % (name, size, contract.MAX_LINE_BYTES))
        try:
            plain = value.tolist()
        except Exception as err:
            raise _foreign_failure(name, "tolist() of the value", value, err)
        if type(plain) in (int, float, bool, str, list, tuple):
            return encode_value(name, plain)
        raise ValueError("cannot log metric %r: tolist() of the %s value gave %s, not a number or a list of numbers"
                         % (name, t.__name__, describe(plain)))
    n = _as_number(name, value, "the value")
    if n is not None:
        return encode_value(name, n)
    raise ValueError("cannot log metric %r: a value must be a number, string, boolean or list of numbers, got %s"
                     % (name, t.__name__))


def _foreign_failure(name: str, where: str, value: object, err: BaseException) -> ValueError:
    try:
        detail = str(err)[:200]
    except Exception:
        detail = ""
    return ValueError("cannot log metric %r: %s (of type %s) could not be read as a number: %s%s"
                      % (name, where, type(value).__name__, type(err).__name__, ": " + detail if detail else ""))


def describe(value: Any) -> str:
    """A value in a few words, for a message: a scalar as written (shortened), else its kind and size."""
    t = type(value)
    if value is None or t is bool or t is float:
        return repr(value)
    if t is int:
        return int.__repr__(value) if value.bit_length() <= 64 else "an integer of %d bits" % value.bit_length()
    if t is str:
        return repr(value) if len(value) <= 40 else "%r... (%d characters)" % (value[:40], len(value))
    if t is dict:
        return "{}" if not dict.__len__(value) else "a dict of %s" % _items(dict.__len__(value))
    if t is list or t is tuple:
        return "a %s of %s" % (t.__name__, _items(len(value)))
    return "a value of type %s" % t.__name__


def _items(n: int) -> str:
    return "1 item" if n == 1 else "%d items" % n
