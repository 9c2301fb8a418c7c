"""A JSON array's elements as the values of a JSON object with given keys.

A JSONL line (:mod:`capture.formats.jsonl`) is one JSON object of some fifteen keys a
request. orjson writes the same values as an array in 40% fewer instructions than as
an object (no keys to write), Python builds the list in a third of the dict's (nothing
to hash), and :func:`object_from_array` puts the keys in: ``object_from_array((b'"a"', b'"b"'),
b'[1,"x"]')`` is ``b'{"a":1,"b":"x"}'``, what orjson writes for ``{"a": 1, "b": "x"}``.

It is written twice: in Python here (the reference) and in C
(``capture/formats/_jsonobject.c``); tests/capture/formats/test_jsonobject.py holds the
two to the same answers, on damaged input too. Only the C one saves anything: where it
was not built (no C compiler at install time), the writer builds the object as before.
"""

from __future__ import annotations

from collections.abc import Callable

from capture.text import escape_json_bytes

_QUOTE, _BACKSLASH, _COMMA = 0x22, 0x5C, 0x2C
_OPENS = (0x5B, 0x7B)  # [ {
_CLOSES = (0x5D, 0x7D)  # ] }


def _element_end(s: bytes, start: int, end: int) -> int:
    """The end (exclusive) of the array element at ``start``; -1 when it is not well
    formed (an unterminated string, a closing bracket with none open, brackets still
    open at ``end``, or nothing at all)."""
    at = start
    depth = 0
    while at < end:
        c = s[at]
        if c == _QUOTE:
            at += 1
            while at < end and s[at] != _QUOTE:
                at += 2 if s[at] == _BACKSLASH else 1
            if at >= end:
                return -1
        elif c in _OPENS:
            depth += 1
        elif c in _CLOSES:
            if depth == 0:
                return -1
            depth -= 1
        elif c == _COMMA and depth == 0:
            break
        at += 1
    if at == start or depth:
        return -1
    return at


def object_from_array_py(keys: tuple[bytes, ...], array: bytes) -> bytes | None:
    """The JSON object whose keys are ``keys`` (each the JSON text of a string) and
    whose values are the elements of ``array``, in order: a compact JSON array (no
    white space), as orjson writes it. None when ``array`` is not such an array of
    exactly ``len(keys)`` elements."""
    n = len(array)
    if n < 2 or array[0] != _OPENS[0] or array[-1] != _CLOSES[0]:
        return None
    end = n - 1
    if end == 1:
        return None if keys else b"{}"
    parts = [b"{"]
    at = 1
    count = 0
    while True:
        if count >= len(keys):
            return None
        stop = _element_end(array, at, end)
        if stop < 0:
            return None
        if count:
            parts.append(b",")
        parts += (keys[count], b":", array[at:stop])
        count += 1
        if stop == end:
            break
        at = stop + 1  # past the comma
    if count != len(keys):
        return None
    parts.append(b"}")
    return b"".join(parts)


object_from_array_c: Callable[[tuple[bytes, ...], bytes], bytes | None] | None
try:  # built at install time where a C compiler is there (see pyproject.toml)
    from capture.formats._jsonobject import object_from_array as object_from_array_c
except ImportError:
    object_from_array_c = None
""":func:`object_from_array_py` in C; None where it was not built (no C compiler at
install time). Only worth it in C: a writer without it writes objects the usual way."""


def json_unsafe_in_py(line: bytes) -> bool:
    """Does :func:`~capture.text.escape_json_bytes` change ``line`` (does its pattern
    match)? The reference of ``json_unsafe_in``, which the writer asks of a line that is
    not ASCII (one with a finding: the "·" of its detail) instead of escaping it: the
    pattern's scan, or the finds before it, cost 17,000 instructions a line of the ad
    and analytics mix."""
    return escape_json_bytes(line) != line


json_unsafe_in_c: Callable[[bytes], bool] | None
try:
    from capture.formats._jsonobject import json_unsafe_in as json_unsafe_in_c
except ImportError:
    json_unsafe_in_c = None
""":func:`json_unsafe_in_py` in C; None where it was not built."""
