"""Suricata eve.json in: http events as requests, other event types counted."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from capture.identity.detector import IdentityDetector
from capture.scan import scan
from capture.sources.eve import (
    HEADERS_NOT_DUMPED,
    XFF_NOTE,
    merged_note,
    parsed_from_eve,
    undecoded_note,
)
from capture.sources.inputs import open_input
from capture.sources.records import RecordFile
from tests.conftest import REPO

ENGINES = REPO / "tests" / "data" / "engines"
SURICATA = ENGINES / "suricata"


def _scan(paths: list[str], **kw: Any) -> tuple[list[dict[str, Any]], str]:
    out, err = io.StringIO(), io.StringIO()
    scan(paths, detector=IdentityDetector(), out=out, err=err, jobs=1, **kw)
    return [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


def _event(headers: list[tuple[str, str]], **http: Any) -> dict[str, Any]:
    return {
        "timestamp": "2026-12-03T10:00:00.250000+0100",
        "flow_id": 1234567890123,
        "event_type": "http",
        "src_ip": "10.0.0.2",
        "src_port": 40000,
        "dest_ip": "192.0.2.80",
        "dest_port": 80,
        "proto": "TCP",
        "tx_id": 2,
        "http": {
            "hostname": "example.com",
            "url": "/a?b=c",
            "http_method": "GET",
            "protocol": "HTTP/1.1",
            "request_headers": [{"name": n, "value": v} for n, v in headers],
            **http,
        },
    }


def test_the_eve_example_of_suricatas_docs_maps_onto_a_request_and_its_response() -> None:
    source = open_input(str(SURICATA / "docs-dump-all-headers.eve.json"))
    assert isinstance(source, RecordFile) and "Suricata" in source.what
    [parsed] = list(source.requests())
    request = parsed.request
    assert (request.src, request.sport, request.dst, request.dport) == (
        "192.168.2.14",
        50096,
        "209.53.113.5",
        80,
    )
    assert (request.method, request.uri, request.version) == ("GET", "/test/file.json", "HTTP/1.1")
    assert (request.flow, request.depth) == (586497171462735, 1)
    assert request.ts == datetime(2015, 3, 25, 15, 40, 41, tzinfo=UTC).timestamp()
    assert request.headers == (("User-Agent", "Wget/1.13.4 (linux-gnu)"), ("Accept", "*/*"))
    assert request.host == "test.co.uk"  # http.hostname: no Host among the headers dumped
    assert parsed.response is not None and parsed.response.status == 200
    assert parsed.response.headers == (("Date", "Wed, 25 Mar 2015 15:40:41 GMT"),)
    assert source.other_lines == 1  # the docs' alert event


def test_other_event_types_are_counted_skipped_and_the_scan_says_how_many() -> None:
    # A real eve.json from suricata-verify (a fileinfo event) and the docs' alert.
    records, err = _scan(
        [
            str(SURICATA / "verify-output-eve-fileinfo.eve.json"),
            str(SURICATA / "docs-dump-all-headers.eve.json"),
        ]
    )
    assert len(records) == 1
    assert "verify-output-eve-fileinfo.eve.json: 1 line skipped: other Suricata event types" in err
    assert "not JSON" not in err and "passed over" not in err


def test_an_identity_header_in_an_eve_event_is_found_with_the_request_line_and_tuple(
    tmp_path: Path,
) -> None:
    path = tmp_path / "eve.json"
    lines = [
        _event([("Host", "example.com"), ("X-MSISDN", "447700900123")]),
        {"timestamp": "2026-12-03T10:00:01+0000", "event_type": "dns", "dns": {}},
        {"timestamp": "2026-12-03T10:00:02+0000", "event_type": "flow", "flow": {}},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    [record], err = _scan([str(path)])
    assert (record["dst"], record["host"], record["uri"], record["depth"]) == (
        "192.0.2.80",
        "example.com",
        "/a?b=c",
        3,
    )
    assert record["ts"] == datetime(2026, 12, 3, 9, 0, 0, 250000, tzinfo=UTC).timestamp()
    [finding] = record["findings"]
    assert (finding["name"], finding["kind"], finding["normalized"]) == (
        "X-MSISDN",
        "msisdn",
        "+447700900123",
    )
    assert "2 lines skipped: other Suricata event types" in err


def test_a_merged_duplicate_header_says_so_in_the_anomalies() -> None:
    # Suricata (libhtp) sends two X-UIDH headers on as one value joined by ", ".
    parsed = parsed_from_eve(
        _event(
            [
                ("X-UIDH", "OTgxNTk2NDk0ADJVquRu5NS5+rSbBANlrp+13QL7CXLGsFHpMi4LsUHw, other"),
                ("Accept-Language", "en-GB, en"),
                ("If-Modified-Since", "Thu, 01 Jan 1970 00:00:00 GMT"),
            ]
        )
    )
    assert parsed is not None
    assert parsed.request.anomalies == (merged_note("X-UIDH"),)


def test_an_http_event_without_dumped_headers_keeps_what_suricata_logs_and_says_so() -> None:
    event = _event([], http_user_agent="curl/8", http_refer="http://a.example/")
    del event["http"]["request_headers"]
    parsed = parsed_from_eve(event)
    assert parsed is not None
    assert parsed.request.headers == (
        ("Host", "example.com"),
        ("User-Agent", "curl/8"),
        ("Referer", "http://a.example/"),
    )
    assert parsed.request.anomalies == (HEADERS_NOT_DUMPED,)


def test_suricatas_xff_field_is_the_forwarded_for_header_only_where_none_was_logged(
    tmp_path: Path,
) -> None:
    # Suricata's xff option (extra-data) logs the address at the event's top level,
    # beside the http object: without dump-all-headers, the header's one trace.
    bare = _event([], http_user_agent="curl/8")
    del bare["http"]["request_headers"]
    dumped = _event([("Host", "example.com")])
    logged = _event([("Host", "example.com"), ("x-forwarded-for", "10.9.8.7, 192.0.2.1")])
    path = tmp_path / "eve.json"
    path.write_text(
        "".join(json.dumps({**e, "xff": "10.9.8.7"}) + "\n" for e in (bare, dumped, logged))
    )
    records, _ = _scan([str(path)], fmt="jsonl")
    assert [r["headers"][-1] for r in records] == [
        ["X-Forwarded-For", "10.9.8.7"],
        ["X-Forwarded-For", "10.9.8.7"],
        ["x-forwarded-for", "10.9.8.7, 192.0.2.1"],  # as logged: never twice
    ]
    assert [r.get("anomalies", []) for r in records] == [
        [HEADERS_NOT_DUMPED, XFF_NOTE],
        [XFF_NOTE],
        [],
    ]
    for e in (bare, dumped):
        for empty in ("", None, 7):
            parsed = parsed_from_eve({**e, "xff": empty})
            assert parsed is not None and parsed_from_eve(e) == parsed


def test_an_event_whose_dumped_headers_hold_no_host_takes_its_host_from_http_hostname(
    tmp_path: Path,
) -> None:
    # The reference (parsed_from_eve): the C reader is held to it in test_eveline.py.
    parsed = parsed_from_eve(_event([("User-Agent", "curl/8")], hostname="ads.example"))
    assert parsed is not None
    request = parsed.request
    assert request.host == "ads.example" and request.authority == "ads.example"
    assert request.headers == (("User-Agent", "curl/8"),)  # no Host header made up
    # A Host header logged (in any case) is the host, as on the wire.
    for name in ("Host", "HOST"):
        parsed = parsed_from_eve(_event([(name, "b.example:8080")], hostname="b.example"))
        assert parsed is not None
        assert (parsed.request.host, parsed.request.authority) == ("b.example:8080", None)
    for hostname in ("", None, 7):
        parsed = parsed_from_eve(_event([], hostname=hostname))
        assert parsed is not None and parsed.request.host is None
    path = tmp_path / "eve.json"
    path.write_text(json.dumps(_event([("Accept", "*/*")], hostname="ads.example")) + "\n")
    [record], _ = _scan([str(path)])
    assert (record["host"], record["authority"]) == ("ads.example", "ads.example")


def test_an_http2_event_with_hpack_size_updates_and_decode_errors_keeps_its_identities(
    tmp_path: Path,
) -> None:
    # Suricata's HTTP/2 logger (rust/src/http2/logger.rs, log_http2_headers) writes
    # a dynamic table size update as {"table_size_update": N} and a header it could
    # not decode as {"error": "..."} among the {name, value} entries of both lists.
    event = _event([], hostname="h2.example", status=200, version="2")
    del event["http"]["protocol"]
    event["http"]["request_headers"] = [
        {"table_size_update": 4096},
        {"name": ":method", "value": "GET"},
        {"name": ":authority", "value": "h2.example"},
        {"name": "x-msisdn", "value": "447700900123"},
        {"error": "HTTP2HeaderDecodeIntegerOverflow"},
    ]
    event["http"]["response_headers"] = [
        {"table_size_update": 0},
        {"name": ":status", "value": "200"},
    ]
    parsed = parsed_from_eve(event)
    assert parsed is not None and parsed.response is not None
    assert parsed.request.headers == (
        (":method", "GET"),
        (":authority", "h2.example"),
        ("x-msisdn", "447700900123"),
    )
    assert parsed.request.anomalies == (undecoded_note("HTTP2HeaderDecodeIntegerOverflow"),)
    assert parsed.response.headers == ((":status", "200"),)
    lean = parsed_from_eve(event, responses=False)
    assert lean is not None and lean.request == parsed.request
    path = tmp_path / "eve.json"
    path.write_text(json.dumps(event) + "\n")
    [record], err = _scan([str(path)])
    assert [f["normalized"] for f in record["findings"]] == ["+447700900123"]
    assert "passed over" not in err


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"src_ip": None}, "src_ip: missing"),
        ({"timestamp": "yesterday"}, "timestamp: not an ISO 8601 time"),
        ({"http": {"request_headers": [["Host", "x"]]}}, "not a list of {name, value} objects"),
        ({"event_type": None}, "event_type: missing"),
        # Read, these were a request with no target, or a method "-", without a word.
        ({"http": {"url": 7, "request_headers": []}}, "http.url: not a string"),
        ({"http": {"http_method": {}, "request_headers": []}}, "http.http_method: not a string"),
        ({"src_port": -1}, "source port -1: not from 0 to 65535"),
    ],
)
def test_a_wrong_eve_line_is_passed_over_with_the_field_named(
    tmp_path: Path, change: dict[str, Any], why: str
) -> None:
    bad = {**_event([("Host", "example.com")]), **change}
    bad = {k: v for k, v in bad.items() if v is not None}
    path = tmp_path / "eve.json"
    path.write_text(json.dumps(_event([])) + "\n" + json.dumps(bad) + "\n")
    records, err = _scan([str(path)], fmt="jsonl")
    assert len(records) == 1
    assert "1 line passed over: not Suricata eve.json events (first: line 2: " in err
    assert why in err


def test_the_dashboards_file_source_reads_eve_named_or_recognised_and_tells_what_it_skipped() -> (
    None
):
    from capture.model import Parsed
    from capture.sources.source import FileSource

    path = str(SURICATA / "docs-dump-all-headers.eve.json")
    for kind in ("suricata", None):
        notices: list[tuple[str, str]] = []
        source = FileSource([path], notify=lambda *notice: notices.append(notice), kind=kind)  # noqa: B023
        items = [item for item in source.frames() if item is not None]
        assert len(items) == 1 and isinstance(items[0], Parsed)
        assert items[0].request.uri == "/test/file.json"
        assert notices == [
            ("warning", f"{path}: 1 line skipped: other Suricata event types (not http)")
        ]


def test_a_requests_only_reader_leaves_responses_out_but_keeps_a_reflectors_echo() -> None:
    from capture.http.echo import ECHO_HEADER, encode_echo

    plain = _event([("Host", "example.com")], status=200)
    plain["http"]["response_headers"] = [{"name": "Server", "value": "nginx"}]
    full = parsed_from_eve(plain)
    assert full is not None and full.response is not None
    lean = parsed_from_eve(plain, responses=False)
    assert lean is not None and lean.response is None and lean.request == full.request

    received = (("Host", "example.com"), ("X-MSISDN", "447700900123"))
    echoed = _event([("Host", "example.com")], status=200)
    echoed["http"]["response_headers"] = [
        {"name": ECHO_HEADER.lower(), "value": encode_echo(received)}
    ]
    kept = parsed_from_eve(echoed, responses=False)
    assert kept is not None and kept.response is not None
    # A bad response header list loses the response either way, not the request.
    broken = _event([("Host", "example.com")], status=200)
    broken["http"]["response_headers"] = [{"name": "Server"}]
    for responses in (True, False):
        read = parsed_from_eve(broken, responses=responses)
        assert read is not None and read.response is None
        assert read.request.headers == full.request.headers
        assert read.request.anomalies[-1].startswith("eve: response not read (http.response_h")


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ([{"name": "Server", "value": 1}], "not a list of {name, value} objects"),
        ([{"name": None, "value": "x"}], "not a list of {name, value} objects"),
        ([["Server", "nginx"]], "not a list of {name, value} objects"),
        ({"Server": "nginx"}, "not a list"),
    ],
)
def test_a_bad_response_header_list_is_a_note_worded_alike_with_or_without_responses(
    headers: Any, why: str
) -> None:
    """The request stands (what was sent is the evidence); its record says the
    response was not read, and why, as a HAR entry's does."""
    from capture.http.echo import ECHO_HEADER

    event = _event([("Host", "example.com")], status=200)
    # An echo header before the bad entry does not make the list good.
    event["http"]["response_headers"] = (
        [{"name": ECHO_HEADER, "value": "x"}, *headers] if type(headers) is list else headers
    )
    for responses in (True, False):
        read = parsed_from_eve(event, responses=responses)
        assert read is not None and read.response is None
        note = read.request.anomalies[-1]
        assert note == f"eve: response not read (http.response_headers: {why})"


def test_a_scan_of_eve_shows_what_a_reflectors_echo_says_was_injected(tmp_path: Path) -> None:
    from capture.http.echo import ECHO_HEADER, encode_echo

    received = (("Host", "example.com"), ("X-MSISDN", "447700900123"))
    event = _event([("Host", "example.com")], status=200)
    event["http"]["response_headers"] = [{"name": ECHO_HEADER, "value": encode_echo(received)}]
    path = tmp_path / "eve.json"
    path.write_text(json.dumps(event) + "\n")
    for fmt in ("jsonl", "har"):
        out, err = io.StringIO(), io.StringIO()
        scan([str(path)], fmt=fmt, detector=IdentityDetector(), out=out, err=err, jobs=1)
        assert "X-MSISDN" in out.getvalue() and "447700900123" in out.getvalue()
    records, _ = _scan([str(path)], fmt="jsonl")
    assert records[0]["injected"] == [["X-MSISDN", "447700900123"]]
    assert any(f["name"] == "X-MSISDN" for f in records[0]["findings"])
