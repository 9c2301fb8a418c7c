"""The records' constructors: :func:`capture.model.positional_new`, in C where
``capture/_positional.c`` was built, and its Python reference ``positional_twin``."""

from __future__ import annotations

import dataclasses
import pickle
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capture import model
from capture.formats.redact import Redactor
from capture.model import (
    Parsed,
    Record,
    Request,
    RequestSeen,
    positional_new,
    positional_twin,
)
from tests.capture.factories import finding, request

needs_c = pytest.mark.skipif(
    model._Builder is None,
    reason="capture._positional is not built (no C compiler when headerwatch was installed)",
)


def _request() -> Request:
    return Request(
        1.5, 7, 2, "10.0.0.1", 40000, "192.0.2.1", 80, "GET", "/a?b=1", "HTTP/1.1",
        (("Host", "example.com"), ("X-MSISDN", "447700900123")), b"", 0, ("note",), None, "",
    )  # fmt: skip


def test_a_request_built_by_position_is_the_request_the_constructor_builds() -> None:
    made = positional_new(Request)(*dataclasses.astuple(_request()))
    assert type(made) is Request
    assert made == _request()
    assert hash(made) == hash(_request())
    assert made.host == "example.com"
    assert pickle.loads(pickle.dumps(made)) == made
    assert dataclasses.replace(made, ts=2.0).ts == 2.0


def test_a_record_built_by_position_stays_frozen() -> None:
    record = positional_new(Record)(3, _request(), (), None, None)
    assert record == Record(3, _request())
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.id = 4  # type: ignore[misc]
    seen = positional_new(RequestSeen)(record)
    assert seen == RequestSeen(record)
    assert positional_new(Parsed)(_request(), None, (), None, False) == Parsed(_request())


def test_a_class_without_slots_in_field_order_is_refused() -> None:
    @dataclasses.dataclass(frozen=True)
    class Loose:
        a: int

    with pytest.raises(TypeError, match="slots in field order"):
        positional_new(Loose)


_VALUE = st.one_of(
    st.none(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=8),
    st.binary(max_size=8),
    st.tuples(st.text(max_size=3), st.text(max_size=3)),
)

_FIELDS = len(dataclasses.fields(Request))


@needs_c
@settings(max_examples=200, deadline=None)
@given(st.lists(_VALUE, min_size=_FIELDS, max_size=_FIELDS))
def test_the_c_builder_builds_what_its_python_twin_builds(values: list[Any]) -> None:
    in_c = positional_new(Request)(*values)
    in_python = positional_twin(Request)(*values)
    assert type(in_c) is type(in_python) is Request
    assert dataclasses.astuple(in_c) == dataclasses.astuple(in_python) == tuple(values)
    with pytest.raises(dataclasses.FrozenInstanceError):
        in_c.ts = 0.0  # type: ignore[misc]


@needs_c
@pytest.mark.parametrize("count", [0, 4, 15, 17])
def test_the_c_builder_refuses_a_wrong_number_of_values_as_its_twin_does(count: int) -> None:
    for way in (positional_new, positional_twin):
        with pytest.raises(TypeError):
            way(Record)(*range(count))


@needs_c
@settings(max_examples=100, deadline=None)
@given(st.lists(_VALUE, min_size=_FIELDS, max_size=_FIELDS), st.integers(0, _FIELDS))
def test_the_c_builder_takes_fields_by_name_as_its_twin_does(values: list[Any], cut: int) -> None:
    names = [f.name for f in dataclasses.fields(Request)]
    by_name = dict(zip(names[cut:], values[cut:], strict=True))
    in_c = positional_new(Request)(*values[:cut], **by_name)
    assert in_c == positional_twin(Request)(*values[:cut], **by_name)
    assert dataclasses.astuple(in_c) == tuple(values)


@needs_c
@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((1, None, ()), {"response": None, "id": 2}),  # id twice
        ((1, None, (), None), {"nothing": None}),
        ((), {"id": 1, "request": None, "findings": (), "response": None}),  # one short
    ],
)
def test_the_c_builder_refuses_what_its_twin_refuses(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    for way in (positional_new, positional_twin):
        with pytest.raises(TypeError):
            way(Record)(*args, **kwargs)


@needs_c
def test_the_c_builder_holds_its_values_and_lets_them_go() -> None:
    value = "a value no one else holds" + str(id(object()))
    before = sys.getrefcount(value)
    made = [positional_new(RequestSeen)(value) for _ in range(1000)]
    assert sys.getrefcount(value) == before + 1000
    del made
    assert sys.getrefcount(value) == before
    for _ in range(100):  # refused half-way: what it held so far is let go
        with pytest.raises(TypeError):
            positional_new(Record)(value, value, value, value, id=value)
    assert sys.getrefcount(value) == before


@needs_c
def test_the_c_builder_takes_only_a_class_of_exactly_those_slots() -> None:
    builder = model._Builder
    assert builder is not None

    class Base:
        __slots__ = ("a",)

    class Derived(Base):
        __slots__ = ("b",)

    class Plain:
        pass

    for cls, names in [
        (Derived, ("b",)),  # a base's slot would stay empty
        (Plain, ()),  # a __dict__
        (Base, ("b",)),  # no such slot
        (Base, ()),  # a slot left out
        (Base, ("a", "a")),
        (int, ()),  # not a heap type
    ]:
        with pytest.raises(TypeError):
            builder(cls, names)


def test_identities_seen_counts_each_value_in_each_place_once() -> None:
    number = finding()
    canary = finding("canary", detector="canary")
    other = finding(value="447911123456", normalized="+447911123456")
    info = finding("client_ip", name="X-Forwarded-For", value="10.0.0.1", severity="info")
    assert model.identities_seen([number, canary, info]) == 1  # confirmed, not doubled
    assert model.identities_seen([number, other]) == 2  # two numbers in one header
    assert model.identities_seen([info]) == 0


def test_identities_seen_counts_a_redacted_canary_and_the_number_it_confirms_once() -> None:
    # Their masks name their kinds ("<canary …23 #h>", "<msisdn …23 #h>") and share the
    # value's hash: a redacted file read back counted 40 identities for 30.
    redactor = Redactor.new()
    number = finding()
    masked = finding(value=redactor.mask("msisdn", "+447700900123"))
    canary = finding("canary", detector="canary", value=redactor.mask("canary", "+447700900123"))
    other = finding(value=redactor.mask("msisdn", "+447911123456"))
    assert model.identities_seen([masked, canary]) == 1
    assert model.identities_seen([masked, other, canary]) == 2
    assert model.identities_seen([number, masked]) == 2  # one raw, one masked: not told


def test_identities_seen_counts_a_third_place_and_places_seen_again_once() -> None:
    number = finding()
    canary = finding("canary", detector="canary")
    other = finding(value="447911123456", normalized="+447911123456")
    third = finding(name="X-Up-Calling-Line-Id")
    info = finding("client_ip", name="X-Forwarded-For", value="10.0.0.1", severity="info")
    assert model.identities_seen([info, number, other, canary, other, third, number]) == 3
    assert model.identities_seen([info, canary]) == 1
    assert model.identities_seen(iter([number, other])) == 2
    assert model.identities_seen([]) == 0


def test_has_identity_says_whether_a_record_shows_one() -> None:
    number = finding()
    info = finding("client_ip", name="X-Forwarded-For", value="10.0.0.1", severity="info")
    profile = finding("device_profile", severity="info")
    for findings in [(), (info,), (info, profile), (number,), (info, profile, number)]:
        shown = model.Record(1, request(), findings).identities
        assert model.has_identity(findings) is bool(shown), findings
