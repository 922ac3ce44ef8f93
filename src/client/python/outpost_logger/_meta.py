"""The run's own lines beside the metric lines: its params and its tags (docs/metric-line.md).

    {"params": {"lr": 0.01, "model": {"depth": 4}}}    hyperparameters; the service keeps model.depth
    {"tags": {"team": "vision", "stale": null}}         set, overwritten, or removed (None)

The rules are the service's (src/protocol/run-meta-line.ts), checked here first so that a mistake
is a ValueError at the call, naming the key, rather than a rejected line found later. Nesting is
walked with a stack, never recursively, and a dict's own entries are read (dict.items), whatever
a subclass says.
"""

from __future__ import annotations

import json
from typing import Any, List, Optional, Tuple

from . import _contract as contract
from ._encode import _MAX_FLOAT, _as_number, describe, surrogate_problem, utf16_len

_CANNOT = {"param": "cannot log params", "params": "cannot log params", "tag": "cannot set tags", "tags": "cannot set tags"}


def encode_params(params: Any) -> str:
    """The line for params (nested dicts flattened to dotted names), or ValueError saying what is wrong and where."""
    if not issubclass(type(params), dict):
        raise ValueError("log_params() takes a dict of name -> value, got %s" % describe(params))
    seen: set[str] = set()
    parts: List[str] = []
    stack: List[Tuple[str, Any]] = [("", params)]
    while stack:
        prefix, obj = stack.pop()
        for key, value in list(dict.items(obj)):
            name = prefix + _key("param", key, prefix)
            _check_name("param", name)
            if issubclass(type(value), dict):
                stack.append((name + ".", value))
                continue
            if name in seen:
                raise ValueError("cannot log params: param %r is given twice (once flattened from a nested dict)" % name)
            seen.add(name)
            if len(seen) > contract.MAX_METRICS_PER_LINE:
                raise ValueError("cannot log params: more than %d in one line (MAX_METRICS_PER_LINE); split them over "
                                 "several log_params() calls" % contract.MAX_METRICS_PER_LINE)
            parts.append("%s:%s" % (json.dumps(name), _param_value(name, value)))
    if not parts:
        raise ValueError("log_params() takes a non-empty dict of name -> value")
    return _line("params", parts)


def encode_tags(tags: Any) -> str:
    """The line for tags: each a string, number or boolean (the service keeps its text), or None to remove it."""
    if not issubclass(type(tags), dict):
        raise ValueError("set_tags() takes a dict of name -> value, got %s" % describe(tags))
    parts: List[str] = []
    for key, value in list(dict.items(tags)):
        name = _key("tag", key, "")
        _check_name("tag", name)
        parts.append("%s:%s" % (json.dumps(name), _tag_value(name, value)))
    if not parts:
        raise ValueError("set_tags() takes a non-empty dict of name -> value")
    if len(parts) > contract.MAX_METRICS_PER_LINE:
        raise ValueError("cannot set %d tags in one line: the limit is %d (MAX_METRICS_PER_LINE)"
                         % (len(parts), contract.MAX_METRICS_PER_LINE))
    return _line("tags", parts)


def _line(kind: str, parts: List[str]) -> str:
    line = "{\"%s\":{%s}}\n" % (kind, ",".join(parts))
    if len(line) > contract.MAX_LINE_BYTES + 1:  # json.dumps escapes non-ASCII: characters are bytes
        raise ValueError("cannot log %s: the line is %d bytes, over the %d-byte limit of a metric line"
                         % (kind, len(line) - 1, contract.MAX_LINE_BYTES))
    return line


def _key(what: str, key: Any, prefix: str) -> str:
    if type(key) is str:
        return key
    if issubclass(type(key), str):
        return str.__str__(key)
    raise ValueError("%s: a %s name must be a string, got %s%s"
                     % (_CANNOT[what], what, describe(key), " (in %r)" % prefix[:-1] if prefix else ""))


def _check_name(what: str, name: str) -> None:
    if not name or name.endswith("."):
        raise ValueError("%s: a %s name is empty%s" % (_CANNOT[what], what, " (in %r)" % name[:-1] if name else ""))
    if utf16_len(name) > contract.MAX_NAME_CHARS:
        raise ValueError("%s: %s name %r... is longer than %d characters"
                         % (_CANNOT[what], what, name[:40], contract.MAX_NAME_CHARS))
    if "\0" in name:
        raise ValueError("%s: %s name %r contains a NUL character" % (_CANNOT[what], what, name))
    problem = surrogate_problem(name)
    if problem:
        raise ValueError("%s: %s name %r %s" % (_CANNOT[what], what, name, problem))


def _param_value(name: str, value: Any) -> str:
    """A number, string or boolean, or a list of them, as JSON."""
    if issubclass(type(value), (list, tuple)):
        items = list.__getitem__(value, slice(None)) if issubclass(type(value), list) else tuple.__getitem__(value, slice(None))
        out = []
        for i, item in enumerate(items):
            text = _scalar(item, "params[%r][%d]" % (name, i))
            if text is None:
                raise ValueError("cannot log params: params[%r][%d] must be a finite number, a string or a boolean "
                                 "(lists of params hold those), got %s" % (name, i, describe(item)))
            out.append(text)
        return "[%s]" % ",".join(out)
    text = _scalar(value, "params[%r]" % name)
    if text is None:
        raise ValueError("cannot log params: params[%r] must be a number, string, boolean, list or dict, got %s"
                         % (name, describe(value)))
    return text


def _tag_value(name: str, value: Any) -> str:
    if value is None:
        return "null"
    text = _scalar(value, "tags[%r]" % name)
    if text is None:
        raise ValueError("cannot set tags: tags[%r] must be a string, number, boolean or None (to remove it), got %s"
                         % (name, describe(value)))
    return text


def _scalar(value: Any, where: str) -> Optional[str]:
    """JSON text of a finite number, a string or a boolean (numpy scalars too); None for anything else."""
    t = type(value)
    if t is bool or t.__name__ == "bool_":
        return "true" if value else "false"
    if issubclass(t, str):
        text = str.__str__(value)
        problem = surrogate_problem(text)
        if problem:
            raise ValueError("%s: %s %s" % (_CANNOT[where[:where.index("[")]], where, problem))
        return json.dumps(text)
    n: Any = value if t is int or t is float else _as_number(where, value, "the value")
    if type(n) is int and -_MAX_FLOAT <= n <= _MAX_FLOAT:
        return int.__repr__(n)
    if type(n) is float and n - n == 0.0:
        return repr(n)
    return None
