"""The records' constructors: :func:`capture.model.positional_new`."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from capture.model import Parsed, Record, Request, RequestSeen, positional_new


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
    assert positional_new(Parsed)(_request(), None, (), None) == Parsed(_request())


def test_a_class_without_slots_in_field_order_is_refused() -> None:
    @dataclasses.dataclass(frozen=True)
    class Loose:
        a: int

    with pytest.raises(TypeError, match="slots in field order"):
        positional_new(Loose)
