"""HAR 1.2 export: ordered headers with duplicates, our extras under '_', streaming."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
from collections.abc import Iterator

import pytest

from capture.formats.har import har_document, har_entry, write_har
from capture.formats.session import SessionInfo, canary_digest
from capture.http.echo import transit
from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.model import Record
from capture.version import catalog_version, tool_version
from capture.view.store import Entry
from tests.capture.factories import finding, record, response

HEADERS = (
    ("Host", "bbc.co.uk"),
    ("Cookie", "a=1; b=2"),
    ("x-up-calling-line-id", "447700900123"),
    ("Accept", "text/html"),
    ("Accept", "*/*"),  # a duplicate: kept, in order
)


def test_request_fields_and_extras() -> None:
    rec = record(
        7,
        (finding(),),
        response(headers=(("Content-Type", "text/html"), ("Set-Cookie", "uid=9; Path=/"))),
        uri="/page/1?q=a%20b&empty=",
        headers=HEADERS,
        anomalies=("obs-fold in header x-foo",),
    )
    moved = transit(HEADERS, (*HEADERS[1:], ("x-up-calling-line-id", "447700900123")))
    entry = Entry(dataclasses.replace(rec, transit=moved), marked=True, comment="proxy added it")
    har = har_entry(entry)
    req = har["request"]
    assert req["method"] == "GET" and req["url"] == "http://bbc.co.uk/page/1?q=a%20b&empty="
    assert req["httpVersion"] == "HTTP/1.1"
    assert req["headers"] == [{"name": n, "value": v} for n, v in HEADERS]
    assert req["cookies"] == [{"name": "a", "value": "1"}, {"name": "b", "value": "2"}]
    assert req["queryString"] == [{"name": "q", "value": "a b"}, {"name": "empty", "value": ""}]
    assert req["bodySize"] == 0 and "postData" not in req
    assert req["headersSize"] == len(
        b"GET /page/1?q=a%20b&empty= HTTP/1.1\r\n"
        + b"".join(f"{n}: {v}\r\n".encode() for n, v in HEADERS)
        + b"\r\n"
    )
    assert har["_identityFindings"] == [
        {
            "name": "x-up-calling-line-id",
            "where": "header",
            "kind": "msisdn",
            "value": "447700900123",
            "normalized": "+447700900123",
            "detector": "catalog",
            "severity": "high",
        }
    ]
    assert har["_marked"] is True and har["_comment"] == "proxy added it"
    assert har["comment"] == "proxy added it"
    assert har["_injected"] == [{"name": "x-up-calling-line-id", "value": "447700900123"}]
    assert har["_removed"] == [{"name": HEADERS[0][0], "value": HEADERS[0][1]}]
    assert har["_changed"] == []
    assert har["_anomalies"] == ["obs-fold in header x-foo"]
    assert har["_flow"] == 1 and har["_id"] == 7 and har["_depth"] == 1
    assert har["startedDateTime"] == "2012-01-10T14:22:11.520Z"
    assert har["time"] == har["timings"]["wait"] == 80.0
    assert har["serverIPAddress"] == "198.51.100.1"
    resp = har["response"]
    assert resp["status"] == 200 and resp["statusText"] == "OK"
    assert resp["headers"][1] == {"name": "Set-Cookie", "value": "uid=9; Path=/"}
    assert resp["cookies"] == [{"name": "uid", "value": "9"}]
    assert resp["content"]["mimeType"] == "text/html"


def test_no_response_is_status_zero() -> None:
    har = har_entry(record())
    assert har["response"]["status"] == 0 and har["response"]["_noResponse"] is True
    assert har["time"] == 0 and "_marked" not in har  # a bare record has no user state


def test_post_bodies_text_form_and_binary() -> None:
    text = har_entry(
        record(
            method="POST",
            headers=(("Content-Type", "application/json"),),
            body='{"a": "é"}'.encode(),
        )
    )
    assert text["request"]["postData"] == {"mimeType": "application/json", "text": '{"a": "é"}'}
    form = har_entry(
        record(
            method="POST",
            headers=(("Content-Type", "application/x-www-form-urlencoded"),),
            body=b"imei=353299110012345&x=1",
            body_length=500,
        )
    )
    post = form["request"]["postData"]
    assert post["params"] == [
        {"name": "imei", "value": "353299110012345"},
        {"name": "x", "value": "1"},
    ]
    assert post["_truncated"] is True and form["request"]["bodySize"] == 500
    binary = har_entry(record(method="POST", body=b"\x00\xff\xfe"))
    assert binary["request"]["postData"]["encoding"] == "base64"
    assert base64.b64decode(binary["request"]["postData"]["text"]) == b"\x00\xff\xfe"


def test_undecodable_bytes_and_hostile_values_are_valid_json() -> None:
    rec = record(headers=(("Host", "h"), ("X-Raw", "a\udcff\x1b[31m")), uri="/\udcfe")
    text = json.dumps(har_entry(rec), ensure_ascii=False)
    text.encode("utf-8")  # no lone surrogates left
    assert "a\\xff\x1b[31m" in json.loads(text)["request"]["headers"][1]["value"]


def test_url_forms() -> None:
    assert har_entry(record(uri="http://proxy.example/x"))["request"]["url"] == (
        "http://proxy.example/x"
    )
    no_host = record(headers=(), dport=8080)
    assert har_entry(no_host)["request"]["url"] == "http://198.51.100.1:8080/page/1"
    v6 = record(headers=(), dst="2001:db8::1")
    assert har_entry(v6)["request"]["url"] == "http://[2001:db8::1]/page/1"
    assert har_entry(v6)["_server"] == "[2001:db8::1]:80"
    connect = record(method="CONNECT", uri="example.com:443", headers=())
    assert har_entry(connect)["request"]["url"] == "example.com:443"
    http09 = record(uri="/", version=None, headers=())
    assert har_entry(http09)["request"]["httpVersion"] == "HTTP/0.9"


def test_streamed_document_equals_the_built_one() -> None:
    items: list[Entry | Record] = [Entry(record(1, (finding(),))), record(2, uri="/two")]
    out = io.StringIO()
    assert write_har(items, out, comment="two requests") == 2
    streamed = json.loads(out.getvalue())
    assert streamed == har_document(items, comment="two requests")
    log = streamed["log"]
    assert log["version"] == "1.2" and log["creator"]["name"] == "headerwatch"
    assert [e["_id"] for e in log["entries"]] == [1, 2]
    empty = io.StringIO()
    write_har([], empty)
    assert json.loads(empty.getvalue())["log"]["entries"] == []


def test_a_document_stopped_in_its_entries_is_closed_with_those_written() -> None:
    def stopped_at_the_third() -> Iterator[Record]:
        yield record(1)
        yield record(2, uri="/two")
        raise KeyboardInterrupt

    out = io.StringIO()
    with pytest.raises(KeyboardInterrupt):
        write_har(stopped_at_the_third(), out)
    # Cut where the stop came, it did not parse.
    assert [e["_id"] for e in json.loads(out.getvalue())["log"]["entries"]] == [1, 2]


def test_a_stop_taken_at_the_end_of_the_head_s_write_leaves_a_document_that_parses() -> None:
    class StoppedAfterTheHead(io.StringIO):
        def write(self, text: str) -> int:
            done = super().write(text)
            if text.startswith('{"log"'):
                raise KeyboardInterrupt
            return done

    out = StoppedAfterTheHead()
    with pytest.raises(KeyboardInterrupt):
        write_har([record(1)], out)
    assert json.loads(out.getvalue())["log"]["entries"] == []


def test_a_stop_taken_at_the_end_of_an_entry_s_write_finds_it_counted() -> None:
    # A signal that comes during a write is raised when it returns: the entry was
    # written, and the count said one fewer (the summary then said it was lacking).
    class StoppedAfterTheSecond(io.StringIO):
        stopped = False

        def write(self, text: str) -> int:
            done = super().write(text)
            if text.startswith(",\n") and not self.stopped:
                self.stopped = True
                raise KeyboardInterrupt
            return done

    out, written = StoppedAfterTheSecond(), [0]
    with pytest.raises(KeyboardInterrupt):
        write_har([record(1), record(2, uri="/two"), record(3)], out, written=written)
    assert len(json.loads(out.getvalue())["log"]["entries"]) == written[0] == 2


def test_the_creator_cites_the_catalog_region_and_canaries_that_judged_the_findings() -> None:
    cited = SessionInfo.judged_by(
        IdentityDetector(IdentityConfig(region="GB", canaries=("s3cret-42",)))
    )
    items: list[Entry | Record] = [Entry(record(1, (finding(),)))]
    out = io.StringIO()
    write_har(items, out, cited=cited)
    creator = json.loads(out.getvalue())["log"]["creator"]
    assert creator == har_document(items, cited=cited)["log"]["creator"]
    assert creator == {
        "name": "headerwatch",
        "version": tool_version(),
        "_catalog": catalog_version(),
        "_region": "GB",
        "_canary_sha256": [canary_digest("s3cret-42")],
    }
    # Not known (a HAR of records no detector judged): not cited.
    assert har_document(items)["log"]["creator"] == {
        "name": "headerwatch",
        "version": tool_version(),
    }
