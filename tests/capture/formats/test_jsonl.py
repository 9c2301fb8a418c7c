"""The JSONL record: the contract's keys, valid UTF-8 whatever the wire carried."""

from __future__ import annotations

import json

from capture.formats.jsonl import dumps, dumps_bytes, record_to_dict
from capture.text import from_bytes
from tests.capture.factories import finding, record, response


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
