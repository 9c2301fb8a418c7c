"""The records' constructors: :func:`capture.model.positional_new`, in C
(``capture/_positional.c``) where it was built and in Python (:func:`twin_new`, the
reference): both build the objects the constructor builds."""

from __future__ import annotations

import dataclasses
import gc
import pickle
import sys
from collections.abc import Callable
from typing import Any

import pytest

from capture import model
from capture.model import Finding, Parsed, Record, Request, RequestSeen, positional_new, twin_new

WAYS = ["python"] + (["c"] if model._positional is not None else [])


def _new(way: str, cls: type) -> Callable[..., Any]:
    if way == "c":
        return positional_new(cls)
    return twin_new(cls, [f.name for f in dataclasses.fields(cls)])


def _request() -> Request:
    return Request(
        1.5, 7, 2, "10.0.0.1", 40000, "192.0.2.1", 80, "GET", "/a?b=1", "HTTP/1.1",
        (("Host", "example.com"), ("X-MSISDN", "447700900123")), b"", 0, ("note",), None, "",
    )  # fmt: skip


@pytest.mark.parametrize("way", WAYS)
def test_a_request_built_by_position_is_the_request_the_constructor_builds(way: str) -> None:
    made = _new(way, Request)(*dataclasses.astuple(_request()))
    assert type(made) is Request
    assert made == _request()
    assert hash(made) == hash(_request())
    assert repr(made) == repr(_request())
    assert made.host == "example.com"
    assert pickle.loads(pickle.dumps(made)) == made
    assert dataclasses.replace(made, ts=2.0).ts == 2.0


@pytest.mark.parametrize("way", WAYS)
def test_a_record_built_by_position_stays_frozen(way: str) -> None:
    record = _new(way, Record)(3, _request(), (), None, None)
    assert record == Record(3, _request())
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.id = 4  # type: ignore[misc]
    seen = _new(way, RequestSeen)(record)
    assert seen == RequestSeen(record)
    assert _new(way, Parsed)(_request(), None, (), None) == Parsed(_request())
    finding = Finding("X", "header", "msisdn", "1", "+1", "catalog", "high")
    assert _new(way, Finding)(*dataclasses.astuple(finding)) == finding


@pytest.mark.parametrize("way", WAYS)
def test_built_objects_hold_and_let_go_of_their_fields(way: str) -> None:
    value = "a value held by many" + str(id(way))
    before = sys.getrefcount(value)
    made = [_new(way, RequestSeen)(value) for _ in range(100)]
    assert sys.getrefcount(value) == before + 100
    del made
    gc.collect()
    assert sys.getrefcount(value) == before
    # A cycle through a built object is collected.
    box: list[Any] = []
    seen = _new(way, RequestSeen)(box)
    box.append(seen)
    del box, seen
    assert gc.collect() >= 2


@pytest.mark.parametrize("way", WAYS)
def test_fields_may_be_given_by_name_too(way: str) -> None:
    new = _new(way, Parsed)
    made = new(_request(), carried=(), transit=None, response=None)
    assert made == Parsed(_request())
    assert new(request=_request(), response=None, carried=(), transit=None) == made


@pytest.mark.parametrize("way", WAYS)
def test_the_wrong_fields_are_refused(way: str) -> None:
    new = _new(way, Parsed)
    with pytest.raises(TypeError):
        new(_request())
    with pytest.raises(TypeError):
        new(_request(), None, (), None, None)
    with pytest.raises(TypeError):
        new(_request(), None, (), other=None)
    with pytest.raises(TypeError):
        new(_request(), None, (), request=None)
    with pytest.raises(TypeError):
        new(_request(), None, (), None, transit=None)


def test_a_class_without_slots_in_field_order_is_refused() -> None:
    @dataclasses.dataclass(frozen=True)
    class Loose:
        a: int

    with pytest.raises(TypeError, match="slots in field order"):
        positional_new(Loose)


@pytest.mark.skipif(model._positional is None, reason="capture._positional is not built")
def test_the_c_maker_takes_only_the_classs_own_object_slots() -> None:
    assert model._positional is not None
    maker = model._positional.maker
    with pytest.raises(TypeError, match="not a slot"):
        maker(Request, ("ts", "nothing"))
    with pytest.raises(TypeError, match="not a slot"):
        maker(Request, ("host",))  # a property
    with pytest.raises(TypeError, match="slots only"):
        maker(type("Plain", (), {}), ())
    with pytest.raises(TypeError):
        maker(Request, ["ts"])
