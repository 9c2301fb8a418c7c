"""A JSON array's elements as an object's values: the reference
(``capture.formats.jsonobject.object_from_array_py``) against orjson's own objects, and
the C one (``capture/formats/_jsonobject.c``) against the reference, on damaged input too.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capture.formats.jsonobject import (
    json_unsafe_in_c,
    json_unsafe_in_py,
    object_from_array_c,
    object_from_array_py,
)

needs_c = pytest.mark.skipif(
    object_from_array_c is None, reason="capture.formats._jsonobject is not built"
)

# Strings with what JSON escapes or brackets: quotes, backslashes, commas, controls.
_text = st.text(alphabet=st.sampled_from('ab,[]{}":\\\x00\x1f\n\u00e9\u202e'), max_size=8)
_json: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats() | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=8,
)
_names = st.lists(_text, max_size=6, unique=True)


def _keys(names: list[str]) -> tuple[bytes, ...]:
    return tuple(orjson.dumps(name) for name in names)


@settings(max_examples=500)
@given(_names, st.data())
def test_an_array_with_its_keys_is_what_orjson_writes_for_the_object(
    names: list[str], data: st.DataObject
) -> None:
    values = [data.draw(_json) for _ in names]
    expected = orjson.dumps(dict(zip(names, values, strict=True)))
    array = orjson.dumps(values)
    assert object_from_array_py(_keys(names), array) == expected
    if object_from_array_c is not None:
        assert object_from_array_c(_keys(names), array) == expected


@settings(max_examples=300)
@given(_names, st.data())
def test_an_array_of_another_length_gives_none(names: list[str], data: st.DataObject) -> None:
    values = [data.draw(_json) for _ in range(data.draw(st.integers(0, 7)))]
    if len(values) == len(names):
        values.append(None)
    assert object_from_array_py(_keys(names), orjson.dumps(values)) is None


@needs_c
@settings(max_examples=2000)
@given(st.lists(st.binary(max_size=6), max_size=5), st.binary(max_size=40))
def test_the_c_joiner_answers_as_the_reference_on_any_bytes(
    keys: list[bytes], array: bytes
) -> None:
    assert object_from_array_c is not None
    assert object_from_array_c(tuple(keys), array) == object_from_array_py(tuple(keys), array)


@needs_c
@settings(max_examples=2000)
@given(_names, st.data())
def test_the_c_joiner_answers_as_the_reference_on_damaged_arrays(
    names: list[str], data: st.DataObject
) -> None:
    assert object_from_array_c is not None
    array = bytearray(orjson.dumps([data.draw(_json) for _ in names]))
    for _ in range(data.draw(st.integers(1, 3))):
        if not array:
            break
        at = data.draw(st.integers(0, len(array) - 1))
        cut = data.draw(st.sampled_from(("byte", "truncate", "delete")))
        if cut == "byte":
            array[at] = data.draw(st.sampled_from(b'[]{}",\\ax'))
        elif cut == "truncate":
            del array[at:]
        else:
            del array[at]
    keys = _keys(names)
    assert object_from_array_c(keys, bytes(array)) == object_from_array_py(keys, bytes(array))


@needs_c
def test_the_c_joiner_refuses_keys_that_are_not_bytes() -> None:
    assert object_from_array_c is not None
    with pytest.raises(TypeError):
        object_from_array_c(("a",), b"[1]")  # type: ignore[arg-type]


# The bytes of what JSON lines escape (capture.text), their neighbours that are not
# escaped, and plain ASCII: DEL, U+0085 and U+009F, "·" (\xc2\xb7) and U+00A0,
# U+061C, U+200E, U+202E, U+2066 and U+2069, U+2010 and U+2065, and lone lead bytes;
# and those that show as nothing, U+00AD, U+180E, U+200B, U+2060, U+2064 and U+FEFF,
# beside U+00AC, U+180F, U+200A, U+2065 and U+FEFE.
_UNSAFE_PIECES = [b"a", b'"', b"\x7f", b"\xc2\x85", b"\xc2\x9f", b"\xc2\xb7", b"\xc2\xa0",
    b"\xd8\x9c", b"\xd8\x9d", b"\xe2\x80\x8e", b"\xe2\x80\xae", b"\xe2\x81\xa6",
    b"\xe2\x81\xa9", b"\xe2\x80\x90", b"\xe2\x81\xa5", b"\xc2", b"\xd8", b"\xe2", b"\xe2\x80",
    b"\xe2\x81", b"\xc2\xad", b"\xc2\xac", b"\xe1\xa0\x8e", b"\xe1\xa0\x8f", b"\xe1\xa0",
    b"\xe2\x80\x8b", b"\xe2\x80\x8a", b"\xe2\x81\xa0", b"\xe2\x81\xa4", b"\xef\xbb\xbf",
    b"\xef\xbb\xbe", b"\xef\xbb", b"\xef"]  # fmt: skip


@needs_c
@settings(max_examples=1000)
@given(
    st.lists(st.sampled_from(_UNSAFE_PIECES), max_size=40).map(b"".join) | st.binary(max_size=80)
)
def test_the_c_escape_test_answers_as_the_reference_on_any_bytes(line: bytes) -> None:
    assert json_unsafe_in_c is not None
    assert json_unsafe_in_c(line) == json_unsafe_in_py(line)


@needs_c
@pytest.mark.parametrize("piece", _UNSAFE_PIECES)
@pytest.mark.parametrize("at", [0, 1, 13, 14, 15, 16, 17, 31, 32, 47])
def test_the_c_escape_test_finds_a_sequence_wherever_it_falls_in_a_block(
    piece: bytes, at: int
) -> None:
    """The C test looks at 16 bytes at a time: a sequence across two blocks, or in the
    tail after the last whole block, is found as one inside a block."""
    assert json_unsafe_in_c is not None
    for tail in (0, 1, 5):
        line = b"x" * at + piece + b"y" * tail
        assert json_unsafe_in_c(line) == json_unsafe_in_py(line)


def test_the_escape_test_says_what_escaping_does() -> None:
    assert json_unsafe_in_py(b'{"a":"\xc2\xb7 \xe2\x80\x90"}') is False
    assert json_unsafe_in_py(b'{"a":"x\xc2\x85"}') is True
    assert json_unsafe_in_py(b'{"a":"\x7f"}') is True


@needs_c
def test_the_c_escape_test_refuses_what_is_not_bytes() -> None:
    assert json_unsafe_in_c is not None
    with pytest.raises(TypeError):
        json_unsafe_in_c("\x7f")  # type: ignore[arg-type]
