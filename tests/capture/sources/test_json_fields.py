"""The typed readers of JSON fields that every record format uses: one wording for what
is wrong, whatever the format."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from capture.identity.detector import IdentityDetector
from capture.scan import scan
from capture.sources import json_fields as field
from capture.sources.har_input import parsed_from_entry


@pytest.mark.parametrize(
    ("read", "obj", "why"),
    [
        (lambda o: field.string(o, "src"), {}, "src: missing"),
        (lambda o: field.string(o, "src"), {"src": 3}, "src: not a string"),
        (lambda o: field.string(o, "src"), {"src": None}, "src: not a string"),
        (lambda o: field.whole(o, "sport"), {"sport": "80"}, "sport: not a whole number"),
        (lambda o: field.whole(o, "sport"), {"sport": True}, "sport: not a whole number"),
        (lambda o: field.whole(o, "sport"), {"sport": 8.5}, "sport: not a whole number"),
        (lambda o: field.number(o, "ts"), {"ts": "now"}, "ts: not a number"),
        (lambda o: field.number(o, "ts"), {"ts": False}, "ts: not a number"),
        (lambda o: field.mapping(o, "http"), {}, "http: missing"),
        (lambda o: field.mapping(o, "http"), {"http": []}, "http: not an object"),
        (lambda o: field.array(o, "findings"), {"findings": {}}, "findings: not a list"),
        (
            lambda o: field.strings(o, "anomalies"),
            {"anomalies": [1]},
            "anomalies: not a list of strings",
        ),
        (
            lambda o: field.pairs(o, "headers"),
            {"headers": [["Host"]]},
            "headers: not a list of [name, value] pairs",
        ),
        (
            lambda o: field.name_values(o["h"], "http.request_headers"),
            {"h": [{"name": "Host", "value": 1}]},
            "http.request_headers: not a list of {name, value} objects",
        ),
        (
            lambda o: field.name_values(o["h"], "http.request_headers"),
            {"h": [["Host", "x"]]},
            "http.request_headers: not a list of {name, value} objects",
        ),
        (
            lambda o: field.name_values(o["h"], "http.request_headers"),
            {"h": "Host: x"},
            "http.request_headers: not a list",
        ),
        (lambda o: field.iso_time(o, "timestamp"), {}, "timestamp: missing"),
        (
            lambda o: field.iso_time(o, "timestamp"),
            {"timestamp": "yesterday"},
            "timestamp: not an ISO 8601 time ('yesterday')",
        ),
        (lambda o: field.string(o, "url", at="request"), {}, "request.url: missing"),
        (
            lambda o: field.whole(o, "status", at="response"),
            {"status": "200"},
            "response.status: not a whole number",
        ),
    ],
)
def test_each_reader_names_the_field_and_what_is_wrong_with_it(
    read: Callable[[dict[str, Any]], object], obj: dict[str, Any], why: str
) -> None:
    with pytest.raises(ValueError) as raised:
        read(obj)
    assert str(raised.value) == why


def test_readers_give_the_value_a_default_or_nothing_for_an_absent_field() -> None:
    obj = {"s": "x", "n": 3, "f": 1.5, "l": ["a"], "h": [{"name": "A", "value": "b"}]}
    assert field.string(obj, "s") == "x" and field.string(obj, "t", "") == ""
    assert field.optional_string(obj, "t") is None and field.optional_string(obj, "s") == "x"
    assert field.whole(obj, "n") == 3 and field.whole(obj, "m", 0) == 0
    assert field.number(obj, "n") == 3.0 and field.number(obj, "f") == 1.5
    assert field.array(obj, "absent") == [] and field.strings(obj, "l") == ["a"]
    assert field.optional_strings(obj, "absent") is None
    assert field.name_values(obj["h"], "h") == (("A", "b"),) and field.name_values(None, "h") == ()
    assert field.pairs({"p": [["A", "b"]]}, "p") == (("A", "b"),)


def test_a_time_without_an_offset_is_read_as_utc() -> None:
    assert field.iso_time({"t": "1970-01-01T00:01:00"}, "t") == 60.0
    assert field.iso_time({"t": "1970-01-01T01:01:00+01:00"}, "t") == 60.0
    assert field.iso_time({"t": "2025-12-03T10:00:00.000499+0000"}, "t") == 1764756000.000499


def test_the_four_formats_word_a_wrong_port_alike(tmp_path: Path) -> None:
    """A port that is a string: the same words from JSONL, eve.json, Zeek and HAR."""
    jsonl = {
        "ts": 1.0, "src": "10.0.0.2", "sport": "x", "dst": "192.0.2.1", "dport": 80,
        "method": "GET", "uri": "/", "version": "HTTP/1.1", "headers": [["Host", "a"]],
    }  # fmt: skip
    eve = {
        "timestamp": "2026-12-03T10:00:00+0000", "event_type": "http", "src_ip": "10.0.0.2",
        "src_port": "x", "dest_ip": "192.0.2.1", "dest_port": 80, "http": {"url": "/"},
    }  # fmt: skip
    zeek = {
        "ts": 1.0, "uid": "C1", "id.orig_h": "10.0.0.2", "id.orig_p": "x",
        "id.resp_h": "192.0.2.1", "id.resp_p": 80, "method": "GET", "uri": "/",
    }  # fmt: skip
    for name, kind, record, why in (
        ("a.jsonl", "jsonl", jsonl, "sport: not a whole number"),
        ("eve.json", "suricata", eve, "src_port: not a whole number"),
        ("http.log", "zeek", zeek, "id.orig_p: not a whole number"),
    ):
        path = tmp_path / name
        path.write_text(json.dumps(record) + "\n")
        out, err = io.StringIO(), io.StringIO()
        scan([str(path)], detector=IdentityDetector(), out=out, err=err, jobs=1, kind=kind)
        assert f"line 1: {why})" in err.getvalue()
    entry = {
        "startedDateTime": "2026-12-03T10:00:00Z",
        "request": {"method": "GET", "url": "http://a.example/", "headers": []},
        "response": {"status": "200", "headers": []},
    }
    parsed = parsed_from_entry(entry)
    assert "HAR response not read (response.status: not a whole number)" in (
        parsed.request.anomalies
    )


_GOOD_JSONL = {
    "ts": 1.0, "src": "10.0.0.2", "sport": 40000, "dst": "192.0.2.1", "dport": 80,
    "method": "GET", "uri": "/", "version": "HTTP/1.1", "headers": [["Host", "a"]],
}  # fmt: skip


@pytest.mark.parametrize(
    ("key", "value", "why"),
    [
        ("sport", 70000, "source port 70000: not from 0 to 65535"),
        ("dport", -1, "destination port -1: not from 0 to 65535"),
        ("depth", -4, "depth -4: not from 0 to 9223372036854775807"),
        ("body_length", -1, "body length -1: not from 0 to 9223372036854775807"),
        ("ts", 1e30, "time 1e+30: not from 1970 to 2106-02-07"),
        ("ts", -5.0, "time -5.0: not from 1970 to 2106-02-07"),
    ],
)
def test_a_record_whose_values_no_request_has_is_passed_over_and_the_rest_kept(
    tmp_path: Path, key: str, value: Any, why: str
) -> None:
    """A Zeek id.orig_p past 64 bits made the writer fail and lost every request of
    the scan (a traceback); a ts of 1e30 made the report fail."""
    path = tmp_path / "a.jsonl"
    bad = {**_GOOD_JSONL, key: value}
    path.write_text("".join(json.dumps(r) + "\n" for r in (_GOOD_JSONL, bad, _GOOD_JSONL)))
    out, err = io.StringIO(), io.StringIO()
    assert scan([str(path)], detector=IdentityDetector(), out=out, err=err, jobs=1) == 0
    assert len(out.getvalue().splitlines()) == 2
    assert f"line 2: {why})" in err.getvalue()


def test_a_zeek_tsv_value_past_64_bits_is_a_line_passed_over(tmp_path: Path) -> None:
    fields = "ts uid id.orig_h id.orig_p id.resp_h id.resp_p trans_depth method host uri"
    types = "time string addr port addr port count string string string"
    rows = [
        "1.0 C1 10.0.0.2 40000 192.0.2.1 80 1 GET a /1",
        "2.0 C2 10.0.0.2 40001 192.0.2.1 80 18446744073709551616 GET a /2",
        "3.0 C3 10.0.0.2 40002 192.0.2.1 80 1 GET a /3",
    ]
    lines = [f"#fields {fields}", f"#types {types}", *rows]
    path = tmp_path / "http.log"
    tabbed = (line.replace(" ", "\t") for line in lines)
    path.write_text("#separator \\x09\n" + "\n".join(tabbed) + "\n")
    out, err = io.StringIO(), io.StringIO()
    assert scan([str(path)], detector=IdentityDetector(), out=out, err=err, jobs=1) == 0
    assert [json.loads(line)["uri"] for line in out.getvalue().splitlines()] == ["/1", "/3"]
    assert "line 5: depth 18446744073709551616: not from 0 to" in err.getvalue()


@pytest.mark.parametrize(
    ("response", "why"),
    [
        ({"ts": 1e30, "version": "HTTP/1.1", "status": 200, "reason": "OK", "headers": []},
         "response time 1e+30: not from 1970 to 2106-02-07"),
        ({"ts": 2.0, "version": "HTTP/1.1", "status": -1, "reason": "", "headers": []},
         "response status -1: not from 0 to 9223372036854775807"),
    ],
)  # fmt: skip
def test_a_response_no_response_can_be_is_left_out_and_its_request_kept(
    response: dict[str, Any], why: str
) -> None:
    """The whole record was passed over: report and --format har lost a request that
    scan, which reads no responses, kept."""
    from capture.formats.jsonl import parsed_from_dict

    parsed = field.checked(parsed_from_dict({**_GOOD_JSONL, "response": response}))
    assert parsed.response is None
    assert parsed.request.anomalies == (f"response not read ({why})",)
