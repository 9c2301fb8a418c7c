"""The JSONL record: the contract's keys, valid UTF-8 whatever the wire carried."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capture.formats import jsonl
from capture.formats.jsonl import ID_KEY, dumps, dumps_bytes, record_to_dict
from capture.http.stream import BODY_CAP
from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.model import Record, Transit
from capture.scan import scan
from capture.text import from_bytes
from tests.capture.factories import finding, record, request, response
from tests.helpers import BODY_IMEI, BODY_NUMBER, identity_bodies_capture


def test_line_is_the_record_object() -> None:
    rec = record(
        findings=(finding(detail="GB, mobile"),),
        resp=response(),
        anomalies=("bare LF line endings",),
    )
    line = dumps(rec)
    assert "\n" not in line
    assert json.loads(line) == record_to_dict(rec)
    obj = json.loads(line)
    assert list(obj)[:10] == [
        "ts", "src", "sport", "dst", "dport", "method", "uri", "version", "host", "headers",
    ]  # fmt: skip
    assert obj["headers"] == [
        ["Host", "bbc.co.uk"],
        ["User-Agent", "Mozilla/5.0 (Linux; Android 4.0)"],
    ]
    assert obj["findings"][0]["detail"] == "GB, mobile"
    assert obj["response"]["status"] == 200
    assert obj["anomalies"] == ["bare LF line endings"]


def test_undecodable_bytes_are_written_as_escapes() -> None:
    """Bytes that are not UTF-8 anywhere in the record become the four characters
    \\xNN (Zeek's convention), and the line stays valid UTF-8 JSON."""
    odd = from_bytes(b"caf\xe9 \xff")
    rec = record(
        uri="/" + odd,
        headers=(("Host", "h"), ("X-" + odd, odd)),
        findings=(finding(value=odd, normalized=odd),),
        resp=response(reason=odd),
    )
    raw = dumps_bytes(rec)
    raw.decode("utf-8")  # valid UTF-8
    obj = json.loads(raw)
    assert obj["uri"] == "/caf\\xe9 \\xff"
    assert obj["headers"][1] == ["X-caf\\xe9 \\xff", "caf\\xe9 \\xff"]
    assert obj["findings"][0]["value"] == "caf\\xe9 \\xff"
    assert obj["response"]["reason"] == "caf\\xe9 \\xff"
    assert obj == record_to_dict(rec)


def test_valid_utf8_is_kept_as_is() -> None:
    rec = record(headers=(("Host", "h"), ("X-Name", "Zoë ☎")))
    assert json.loads(dumps(rec))["headers"][1] == ["X-Name", "Zoë ☎"]


# JSON's punctuation, controls, DEL, C1, bidi, an undecodable byte, non-ASCII.
_odd_chars = 'aZ,"\\[]{}:\x00\x1f\x7f\x85\u202e\udcff é☎'
_odd_text = st.text(alphabet=st.sampled_from(_odd_chars), max_size=6)


@settings(max_examples=300)
@given(
    st.tuples(_odd_text, _odd_text),
    _odd_text,
    st.one_of(st.none(), _odd_text),
    st.lists(st.tuples(_odd_text, _odd_text), max_size=3),
    st.lists(_odd_text, max_size=2),
    st.floats(min_value=0, max_value=2**32),
    st.integers(0, 2**64 - 1),
    st.booleans(),
)
def test_a_line_is_the_same_with_or_without_the_c_joiner(
    names: tuple[str, str],
    uri: str,
    version: str | None,
    headers: list[tuple[str, str]],
    details: list[str],
    ts: float,
    body_length: int,
    host_first: bool,
) -> None:
    """dumps_bytes writes a record without optional keys as an array made an object in
    C (capture.formats.jsonobject); without the C joiner it writes the dict, as for
    every other record. Both ways give the same bytes, whatever the strings hold
    (undecodable bytes, controls, bidi characters, JSON's own punctuation)."""
    if host_first:
        headers.insert(0, ("HOST", names[0]))
    rec = record(
        src=names[0],
        dst=names[1],
        uri=uri,
        version=version,
        headers=tuple(headers),
        ts=ts,
        body_length=body_length,
        findings=tuple(finding(detail=detail, value=detail) for detail in details),
    )
    with_c = dumps_bytes(rec)
    saved = jsonl.object_from_array_c
    jsonl.object_from_array_c = None
    try:
        without = dumps_bytes(rec)
    finally:
        jsonl.object_from_array_c = saved
    assert with_c == without
    assert json.loads(with_c) == record_to_dict(rec)


def test_the_last_id_key_of_a_line_is_where_the_record_id_is() -> None:
    """A split scan's parent renumbers lines at the last ``ID_KEY`` (scan_jobs.merge):
    ids, and text that looks like one, in the fields before and after it do not move it."""
    looks_like_id = '{"id":7},"id":8'
    rec = Record(
        1234567,
        request(
            headers=(("id", looks_like_id), ("X-Id", '"id":9')),
            uri='/?"id":10',
            anomalies=(looks_like_id,),
            authority=looks_like_id,
            app=looks_like_id,
        ),
        (finding(name="id", value=looks_like_id),),
        response(headers=(("id", looks_like_id),), reason=looks_like_id),
        Transit(
            received=(("id", looks_like_id),),
            injected=(("id", looks_like_id),),
            removed=(("Id", '"id":11'),),
            changed=(("id", looks_like_id, '"id":12'),),
        ),
    )
    line = dumps_bytes(rec)
    cut = line.rindex(ID_KEY) + len(ID_KEY)
    assert line[cut:].startswith(b"1234567,")
    assert json.loads(line[:cut] + b"42" + line[cut + 7 :])["id"] == 42


def _scan(path: str | Path, config: IdentityConfig) -> str:
    out, err = io.StringIO(), io.StringIO()
    assert scan([str(path)], detector=IdentityDetector(config), out=out, err=err) == 0
    return out.getvalue()


@pytest.mark.parametrize(
    "config",
    [
        IdentityConfig(region="GB"),
        IdentityConfig(region="GB", msisdns=(BODY_NUMBER,), imeis=(BODY_IMEI,)),
    ],
    ids=["plain", "canaries"],
)
def test_records_read_back_again_and_again_are_the_same_lines(
    tmp_path: Path, config: IdentityConfig
) -> None:
    """The body is not kept, so its findings are carried over: each once, in the place
    the detector gave it (a canary's after the value detectors', as in the capture)."""
    first = _scan(identity_bodies_capture(tmp_path), config)
    records = [json.loads(line) for line in first.splitlines()]
    assert len([f for r in records for f in r["findings"] if f["where"] == "body"]) >= 6
    source = tmp_path / "round0.jsonl"
    source.write_text(first, encoding="utf-8")
    for n in range(1, 4):
        again = _scan(source, config)
        assert again == first, f"round {n}"
        source = tmp_path / f"round{n}.jsonl"
        source.write_text(again, encoding="utf-8")


def _proxy_record(**keys: object) -> dict[str, object]:
    """A record as the mitmproxy add-on writes it: a JSON POST, with ``keys`` added."""
    return {
        "ts": 1.0,
        "src": "10.0.0.2",
        "sport": 40000,
        "dst": "192.0.2.1",
        "dport": 443,
        "method": "POST",
        "uri": "/v1/profile",
        "version": "HTTP/1.1",
        "headers": [["Host", "api.example"], ["Content-Type", "application/json"]],
        "body_length": 59,
        **keys,
    }


_BODY = '{"user":{"phone":"+447700900123","imei":"490154203237518"}}'


def _body_findings(obj: dict[str, object]) -> list[tuple[str, str, str]]:
    from capture.identity.detector import IdentityDetector

    parsed = jsonl.parsed_from_dict(obj)
    assert parsed is not None
    found = (*IdentityDetector().detect(parsed.request), *parsed.carried)
    return sorted((f.where, f.name, f.kind) for f in found)


def test_a_body_carried_as_text_or_base64_is_read_for_identities_as_a_captured_one() -> None:
    expected = [("body", "user.imei", "imei"), ("body", "user.phone", "msisdn")]
    assert _body_findings(_proxy_record(body=_BODY)) == expected
    encoded = base64.b64encode(_BODY.encode()).decode()
    assert _body_findings(_proxy_record(body_base64=encoded)) == expected
    # Without one, nothing in a body can be found again (and none was written).
    assert _body_findings(_proxy_record()) == []


def test_a_carried_body_is_kept_to_the_first_64_kib_as_a_captured_one() -> None:
    parsed = jsonl.parsed_from_dict(_proxy_record(body="x" * 100_000, body_length=100_000))
    assert parsed is not None
    assert parsed.request.body == b"x" * BODY_CAP
    assert parsed.request.body_length == 100_000


def test_body_findings_are_carried_over_only_where_the_body_is_not() -> None:
    number = "+447700900123"
    written = {"name": "user.phone", "where": "body", "kind": "msisdn", "value": number,
               "normalized": number, "detector": "phonenumber", "severity": "high"}  # fmt: skip
    without = jsonl.parsed_from_dict(_proxy_record(findings=[written]))
    assert without is not None and [f.name for f in without.carried] == ["user.phone"]
    # With the body, they are found again, not carried over as well (no double).
    with_body = _proxy_record(body=_BODY, findings=[written])
    assert [f for f in _body_findings(with_body) if f[2] == "msisdn"] == [
        ("body", "user.phone", "msisdn")
    ]


@pytest.mark.parametrize(
    ("keys", "reason"),
    [
        ({"body": 7}, "body: not a string"),
        ({"body_base64": "not base64!"}, "body_base64: not base64"),
        ({"body": "a", "body_base64": "YQ=="}, "body_base64: beside body"),
    ],
)
def test_a_body_that_is_not_what_it_says_makes_the_line_bad(
    keys: dict[str, object], reason: str
) -> None:
    with pytest.raises(ValueError, match=reason):
        jsonl.parsed_from_dict(_proxy_record(**keys))


def test_a_reflectors_record_says_so_and_reads_back_as_the_same_request_seen_by_one() -> None:
    rec = record(headers=(("Host", "r.example"), ("X-MSISDN", "447700900123")))
    line = jsonl.reflector_line(dumps(rec))
    obj = json.loads(line)
    assert jsonl.is_reflector_record(obj) and not jsonl.is_reflector_record(json.loads(dumps(rec)))
    assert {k: v for k, v in obj.items() if k != "reflector"} == json.loads(dumps(rec))
    parsed = jsonl.parsed_from_dict(obj)
    # Where it was seen is kept, so the request written again still says it.
    assert parsed is not None
    assert parsed.request == dataclasses.replace(rec.request, source=jsonl.REFLECTOR_SOURCE)
    again = json.loads(dumps(dataclasses.replace(rec, request=parsed.request)))
    assert again["source"] == "reflector"


def test_the_add_on_s_source_is_kept_and_written_back_so_a_rescan_still_knows_it() -> None:
    parsed = jsonl.parsed_from_dict(_proxy_record(source="mitmproxy"))
    assert parsed is not None and parsed.request.source == "mitmproxy"
    line = json.loads(dumps(Record(1, parsed.request)))
    assert line["source"] == "mitmproxy"
    again = jsonl.parsed_from_dict(line)
    assert again is not None and again.request.source == "mitmproxy"
    # A capture's record says nothing of where it was taken: no key.
    assert "source" not in json.loads(dumps(record()))
    with pytest.raises(ValueError, match="source"):
        jsonl.parsed_from_dict(_proxy_record(source=1))
