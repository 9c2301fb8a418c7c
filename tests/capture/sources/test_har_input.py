"""HAR 1.2 read as requests: mitmproxy's hardump made here, browsers' exports, bad files."""

from __future__ import annotations

import gzip
import http.server
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.scan import scan
from capture.sources.frames import CaptureError
from capture.sources.har_input import (
    CLAMPED,
    COOKIES_JOINED,
    COOKIES_MERGED,
    LOWER_CASE,
    NO_CLIENT,
    NO_RAW_HEAD,
    parsed_from_entry,
)
from capture.sources.inputs import open_input
from capture.sources.records import HarFile
from tests.helpers import BODY_IMEI, BODY_NUMBER, identity_bodies_capture
from tui.common import demo_capture_path

HARS = Path(__file__).resolve().parents[2] / "data" / "har"
PCAPS = HARS.parent / "pcaps"
MITMDUMP = os.environ.get("HEADERWATCH_MITMDUMP") or (
    "/opt/mitmproxy/bin/mitmdump"
    if os.path.exists("/opt/mitmproxy/bin/mitmdump")
    else shutil.which("mitmdump")
)


def _scan(
    path: str | Path, fmt: str = "jsonl", config: IdentityConfig | None = None
) -> tuple[list[dict[str, Any]], str]:
    out, err = io.StringIO(), io.StringIO()
    detector = IdentityDetector(config)
    code = scan([str(path)], fmt=fmt, detector=detector, out=out, err=err, jobs=1)
    assert code == 0, err.getvalue()
    if fmt == "har":
        return json.loads(out.getvalue())["log"]["entries"], err.getvalue()
    return [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


def _error(path: Path) -> str:
    with pytest.raises(CaptureError) as caught:
        open_input(str(path))
    message = str(caught.value)
    assert "\n" not in message
    return message


# --- mitmproxy's hardump, produced here ----------------------------------------------


class _Answer(http.server.BaseHTTPRequestHandler):
    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def origin() -> Iterator[int]:
    """A plain HTTP server on loopback; its port."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _hardump(tmp_path: Path, origin: int, curls: list[list[str]]) -> Path:
    """Run mitmdump as a regular proxy with ``hardump``, send ``curls`` through it,
    stop it (the HAR is written on exit) and return the HAR's path."""
    if MITMDUMP is None:
        pytest.skip("mitmdump is not installed (CI installs it at /opt/mitmproxy)")
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    har = tmp_path / "flows.har"
    port = _free_port()
    proxy = subprocess.Popen(
        [
            MITMDUMP,
            "-q",
            "--listen-host",
            "127.0.0.1",
            "--listen-port",
            str(port),
            "--set",
            f"confdir={tmp_path / 'mitmproxy'}",
            "--set",
            f"hardump={har}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proxy.poll() is None, proxy.stderr.read() if proxy.stderr else ""
                assert time.monotonic() < deadline, "mitmdump did not listen"
                time.sleep(0.05)
        for args in curls:
            subprocess.run(
                ["curl", "-sS", "-o", "/dev/null", "-x", f"http://127.0.0.1:{port}", *args],
                check=True,
                timeout=30,
            )
    finally:
        proxy.send_signal(signal.SIGINT)
        proxy.wait(timeout=30)
    assert har.exists()
    return har


def test_a_mitmproxy_hardump_made_here_reports_the_msisdn_header_and_the_imei_cookie(
    tmp_path: Path, origin: int
) -> None:
    har = _hardump(
        tmp_path,
        origin,
        [
            [
                "-H",
                "X-MSISDN: 447700900123",
                "-H",
                "X-Dup: first",
                "-H",
                "X-Dup: second",
                "-b",
                "imei=490154203237518; theme=dark",
                f"http://127.0.0.1:{origin}/page?q=1",
            ],
            ["-d", "imei=490154203237518", f"http://127.0.0.1:{origin}/form"],
        ],
    )
    records, err = _scan(har)
    assert [(r["method"], r["uri"]) for r in records] == [
        ("GET", f"http://127.0.0.1:{origin}/page?q=1"),
        ("POST", f"http://127.0.0.1:{origin}/form"),
    ]
    first, form = records
    # curl's wire order, duplicates kept, as mitmproxy lists them.
    assert first["headers"] == [
        ["Host", f"127.0.0.1:{origin}"],
        ["User-Agent", first["headers"][1][1]],
        ["Accept", "*/*"],
        ["Proxy-Connection", "Keep-Alive"],
        ["Cookie", "imei=490154203237518; theme=dark"],
        ["X-MSISDN", "447700900123"],
        ["X-Dup", "first"],
        ["X-Dup", "second"],
    ]
    found = {(f["kind"], f["where"], f["name"], f["normalized"]) for f in first["findings"]}
    assert ("msisdn", "header", "X-MSISDN", "+447700900123") in found
    assert ("imei", "cookie", "imei", "490154203237518") in found
    assert [(f["kind"], f["where"]) for f in form["findings"]] == [("imei", "body")]
    assert first["dst"] == "127.0.0.1" and first["dport"] == origin
    assert NO_CLIENT in first["anomalies"] and NO_RAW_HEAD in first["anomalies"]
    assert err.count("HAR written by mitmproxy") == 1
    assert "no client address or port" in err
    # Made by a client-side proxy: the requests as the client sent them.
    assert [r["source"] for r in records] == ["har", "har"]
    assert "2 parsed requests read" in err and "3 identities in 2 requests" in err
    # The response came along: the HAR export shows it.
    entries, _ = _scan(har, fmt="har")
    assert [e["response"]["status"] for e in entries] == [200, 200]


# --- browsers' HARs from public repositories (tests/data/har/README.md) --------------


def test_chrome_51s_har_keeps_the_order_chrome_listed_and_says_it_is_not_the_wire_order() -> None:
    records, err = _scan(HARS / "chrome51.har")
    assert len(records) == 27
    first = records[0]
    # Chrome 51 listed HTTP/1.1 headers from a dictionary: Host is second. Kept as
    # listed, and said to be the tool's listing.
    assert [n for n, _ in first["headers"]] == [
        "Accept-Encoding",
        "Host",
        "Accept-Language",
        "Upgrade-Insecure-Requests",
        "User-Agent",
        "Accept",
        "Cache-Control",
        "Connection",
    ]
    assert first["host"] == "gitgrimbo.github.io"
    assert (first["dst"], first["dport"]) == ("151.101.60.133", 80)
    assert first["src"] == "" and first["sport"] == 0
    assert NO_RAW_HEAD in first["anomalies"]
    assert sum(not r["findings"] for r in records) == 27  # a plain page: nothing to find
    # Chrome's "connection" ids give the connections: 26375, 26376, 26378 and the
    # entries served from its cache (no connection) each alone.
    assert records[0]["flow"] == records[1]["flow"] != records[2]["flow"]
    assert records[1]["depth"] == 2
    lines = [line for line in err.splitlines() if "HAR written by WebInspector 537.36" in line]
    assert len(lines) == 1
    assert "HTTP version unknown" in lines[0]  # the cached entries


def test_firefox_47s_har_reads_with_its_cookie_and_local_time_offsets() -> None:
    records, err = _scan(HARS / "firefox47.har")
    assert len(records) == 23
    first = records[0]
    assert [n for n, _ in first["headers"]][:3] == ["Host", "User-Agent", "Accept"]
    assert first["ts"] == pytest.approx(1467139377.206)  # 19:42:57.206+01:00
    with_cookie = [r for r in records if any(n == "Cookie" for n, _ in r["headers"])]
    assert with_cookie and COOKIES_JOINED not in with_cookie[0]["anomalies"]
    assert err.count("HAR written by Firefox 47.0") == 1


def test_a_browser_s_har_is_the_client_s_record_and_headerwatch_s_own_says_its_source(
    tmp_path: Path,
) -> None:
    browser, _ = _scan(HARS / "firefox47.har")
    assert {r["source"] for r in browser} == {"har"}
    # headerwatch's HAR of a capture: where the capture was taken is not known.
    entries, _ = _scan(demo_capture_path(), fmt="har")
    har = tmp_path / "demo.har"
    doc = {"log": {"version": "1.2", "creator": {"name": "headerwatch"}, "entries": entries}}
    har.write_text(json.dumps(doc), encoding="utf-8")
    assert not any("source" in r for r in _scan(har)[0])
    # Its HAR of a browser's HAR keeps the browser's word (_source).
    entries, _ = _scan(HARS / "firefox47.har", fmt="har")
    doc["log"]["entries"] = entries
    har.write_text(json.dumps(doc), encoding="utf-8")
    assert {r["source"] for r in _scan(har)[0]} == {"har"}


def test_charles_4_2s_har_gives_the_form_body_from_its_params() -> None:
    records, err = _scan(HARS / "charles42-form.har")
    assert [(r["method"], r["uri"]) for r in records] == [
        ("GET", "http://cgi-lib.berkeley.edu/ex/simple-form.html"),
        ("POST", "http://cgi-lib.berkeley.edu/ex/simple-form.cgi"),
    ]
    post = records[1]
    # Charles keeps the form only as params: rebuilt, it is as long as was sent.
    assert post["body_length"] == 62
    assert ["Content-Length", "62"] in post["headers"]
    assert post["dst"] == "128.32.236.14"
    assert err.count("HAR written by Charles Proxy 4.2:") == 1


# --- headerwatch's own HAR, and HAR's gaps -------------------------------------------


def test_headerwatch_s_own_har_reads_back_with_its_addresses_findings_and_order(
    tmp_path: Path,
) -> None:
    demo = demo_capture_path()
    first, _ = _scan(demo)
    entries, _ = _scan(demo, fmt="har")
    har = tmp_path / "demo.har"
    har.write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}), encoding="utf-8")
    again, err = _scan(har)
    keys = ("src", "sport", "dst", "dport", "method", "uri", "headers", "findings", "flow", "depth")
    assert [{k: r[k] for k in keys} for r in again] == [{k: r[k] for k in keys} for r in first]
    # HAR keeps milliseconds.
    assert all(0 <= a["ts"] - b["ts"] < 0.001 for a, b in zip(first, again, strict=True))
    assert any(f["kind"] == "msisdn" for r in again for f in r["findings"])
    assert "no client address" not in err and "no raw head" not in err


def _without_ts(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records as JSONL gives them, times left out (HAR keeps milliseconds)."""
    out = []
    for record in records:
        record = {k: v for k, v in record.items() if k != "ts"}
        if record.get("response") is not None:
            record["response"] = {k: v for k, v in record["response"].items() if k != "ts"}
        out.append(record)
    return out


def _write_har(source: str | Path, har: Path, config: IdentityConfig) -> list[dict[str, Any]]:
    """``scan --format har source > har``; the entries written."""
    out, err = io.StringIO(), io.StringIO()
    code = scan([str(source)], fmt="har", detector=IdentityDetector(config), out=out, err=err)
    assert code == 0, err.getvalue()
    har.write_text(out.getvalue(), encoding="utf-8")
    entries: list[dict[str, Any]] = json.loads(out.getvalue())["log"]["entries"]
    return entries


def _identities(summary: str) -> str:
    """``8 identities in 4 requests``, from the summary line."""
    return next(part for part in summary.splitlines()[-1].split("; ") if " in " in part)


PLAIN = IdentityConfig(region="GB")
CANARIES = IdentityConfig(region="GB", msisdns=(BODY_NUMBER,), imeis=(BODY_IMEI,))


@pytest.mark.parametrize("config", [PLAIN, CANARIES], ids=["plain", "canaries"])
def test_headerwatch_s_own_har_read_and_written_again_and_again_gives_the_capture_s_findings(
    tmp_path: Path, config: IdentityConfig
) -> None:
    capture = identity_bodies_capture(tmp_path)
    first, summary = _scan(capture, config=config)
    names = [f["name"] for f in first[0]["findings"] if f["detector"] != "canary"]
    assert names == ["X-MSISDN", "user.tel", "user.imei"]
    # The canaries confirm what the detectors read there: the same 8 identities seen.
    assert _identities(summary) == "8 identities in 4 requests"
    source: str | Path = capture
    for n in range(1, 4):
        har = tmp_path / f"round{n}.har"
        _write_har(source, har, config)
        again, said = _scan(har, config=config)
        # Each body identity once, however often it went round: the body the HAR keeps
        # is searched again, and its _identityFindings are not added to what is found.
        assert _without_ts(again) == _without_ts(first), f"round {n}"
        assert _identities(said) == _identities(summary)
        assert all(0 <= a["ts"] - b["ts"] < 0.001 for a, b in zip(first, again, strict=True))
        source = har


@pytest.mark.parametrize("config", [PLAIN, CANARIES], ids=["plain", "canaries"])
def test_a_har_written_from_records_without_bodies_carries_their_body_findings_once(
    tmp_path: Path, config: IdentityConfig
) -> None:
    capture = identity_bodies_capture(tmp_path)
    first, _ = _scan(capture, config=config)
    records = tmp_path / "records.jsonl"
    records.write_text("".join(json.dumps(r) + "\n" for r in first), encoding="utf-8")
    source = records
    for n in range(1, 4):
        har = tmp_path / f"round{n}.har"
        entries = _write_har(source, har, config)
        # JSONL keeps no body: the HAR has none to search, only the findings it lists.
        assert not any("postData" in e["request"] for e in entries)
        again, _ = _scan(har, config=config)
        assert [r["findings"] for r in again] == [r["findings"] for r in first], f"round {n}"
        source = har


@pytest.mark.parametrize(
    "capture",
    [
        "zeek/methods.pcap",  # CONNECT host:port, OPTIONS *, an empty target
        "zeek/no-uri.pcap",
        "zeek/no-version.pcap",  # HTTP/0.9: no version, no Host
        "zeek/connect-with-header.pcap",
        "suricata-verify/decode-chdlc-01/hdlc-http_1tx.pcap",  # "://" in the query
    ],
)
def test_headerwatch_s_own_har_reads_back_every_request_line_as_sent(
    tmp_path: Path, capture: str
) -> None:
    first, _ = _scan(PCAPS / capture, config=PLAIN)
    source = PCAPS / capture
    for n in range(1, 3):
        har = tmp_path / f"round{n}.har"
        _write_har(source, har, PLAIN)
        again, said = _scan(har, config=PLAIN)
        # None passed over (a CONNECT's URL is its authority, not absolute), and the
        # target and version are the request line's, not the URL's.
        assert "passed over" not in said
        assert _without_ts(again) == _without_ts(first), f"round {n}"
        source = har


def test_a_headerwatch_har_of_proxy_records_keeps_their_authority_and_http2_names(
    tmp_path: Path,
) -> None:
    headers = [["user-agent", "app"], ["x-msisdn", BODY_NUMBER], ["cookie", "a=1; b=2"]]
    record = {"ts": 1700000001.25, "src": "10.0.0.2", "sport": 40000, "dst": "192.0.2.1",
              "dport": 443, "method": "GET", "uri": "/3", "version": "HTTP/2.0",
              "authority": "b.example:8443", "flow": 1, "depth": 1, "headers": headers}  # fmt: skip
    records = tmp_path / "proxy.jsonl"
    records.write_text(json.dumps(record) + "\n", encoding="utf-8")
    first, _ = _scan(records, config=PLAIN)
    har = tmp_path / "proxy.har"
    _write_har(records, har, PLAIN)
    again, said = _scan(har, config=PLAIN)
    # The names are the record's, not a browser's listing: nothing to say about them.
    assert "warning" not in said
    assert _without_ts(again) == _without_ts(first)
    assert again[0]["host"] == "b.example:8443" and again[0]["uri"] == "/3"


def test_a_headerwatch_har_written_before_target_was_kept_still_reads_its_origin_form_targets(
    tmp_path: Path,
) -> None:
    first, _ = _scan(demo_capture_path(), config=PLAIN)
    entries, _ = _scan(demo_capture_path(), fmt="har", config=PLAIN)
    for entry in entries:
        del entry["_target"], entry["_version"]
    har = tmp_path / "old.har"
    har.write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}), encoding="utf-8")
    again, _ = _scan(har, config=PLAIN)
    assert [r["uri"] for r in again] == [r["uri"] for r in first]
    assert [r["findings"] for r in again] == [r["findings"] for r in first]


def test_a_headerwatch_har_written_before_target_was_kept_reads_a_bare_origin_form_url(
    tmp_path: Path,
) -> None:
    capture = PCAPS / "suricata-verify/decode-chdlc-01/hdlc-http_1tx.pcap"  # "://" in the query
    first, _ = _scan(capture, config=PLAIN)
    entries, _ = _scan(capture, fmt="har", config=PLAIN)
    for entry in entries:
        # What request_url wrote for such a target before it went by the target's form.
        entry["request"]["url"] = entry.pop("_target")
        del entry["_version"]
    har = tmp_path / "old.har"
    har.write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}), encoding="utf-8")
    again, said = _scan(har, config=PLAIN)
    assert "passed over" not in said
    assert _without_ts(again) == _without_ts(first)


@pytest.mark.parametrize("url", [" http://a.example/x", "ht\ttp://a.example/x", "http:///x"])
def test_a_url_that_is_not_absolute_form_is_not_read_as_one(url: str) -> None:
    # urlsplit drops spaces and tabs and would read these as http://a.example/x: the
    # target kept would then have no host and no path to any other reader.
    entry = {
        "startedDateTime": "2024-11-15T10:46:43.282Z",
        "request": {"method": "GET", "url": url, "headers": []},
        "response": {"status": 0},
    }
    with pytest.raises(ValueError, match=r"request\.url: not an absolute URL"):
        parsed_from_entry(entry)


def test_a_browser_http2_entry_says_its_names_are_lower_case_and_cookies_are_joined() -> None:
    entry = {
        "startedDateTime": "2024-11-15T10:46:43.282Z",
        "request": {
            "method": "GET",
            "url": "https://api.example/v1?x=1",
            "httpVersion": "http/2.0",
            "headers": [
                {"name": ":authority", "value": "api.example"},
                {"name": ":method", "value": "GET"},
                {"name": "x-msisdn", "value": "447700900123"},
            ],
            "cookies": [{"name": "imei", "value": "490154203237518"}],
        },
        "response": {"status": 0},
    }
    parsed = parsed_from_entry(entry)
    request = parsed.request
    odd = parsed_from_entry({**entry, "response": {"status": "200"}})
    assert odd.response is None and odd.request.headers == request.headers
    assert "HAR response not read (response.status: not a whole number)" in odd.request.anomalies
    assert request.headers[-1] == ("Cookie", "imei=490154203237518")
    assert LOWER_CASE in request.anomalies and COOKIES_JOINED in request.anomalies
    assert COOKIES_MERGED not in request.anomalies  # one cookie: nothing to merge
    headers = [*entry["request"]["headers"], {"name": "cookie", "value": "a=1; b=2"}]  # type: ignore[dict-item]
    merged = parsed_from_entry({**entry, "request": {**entry["request"], "headers": headers}})  # type: ignore[dict-item]
    assert COOKIES_MERGED in merged.request.anomalies
    assert (request.dport, request.host) == (443, "api.example")
    assert parsed.response is None  # status 0: no response came


def test_start_times_out_of_range_are_clamped_and_counted(tmp_path: Path) -> None:
    entry = {
        "startedDateTime": "1969-07-20T20:17:40Z",
        "request": {"method": "GET", "url": "http://a.example/", "headers": []},
    }
    har = tmp_path / "moon.har"
    har.write_text(json.dumps({"log": {"entries": [entry]}}), encoding="utf-8")
    records, err = _scan(har)
    assert records[0]["ts"] == 0.0 and CLAMPED in records[0]["anomalies"]
    assert "1 entry had a start time out of range" in err


# --- sniffing and bad files: one line each -------------------------------------------


def test_a_pretty_printed_har_is_told_from_jsonl_and_a_one_line_har_too(tmp_path: Path) -> None:
    doc = {"log": {"version": "1.2", "entries": []}}
    pretty = tmp_path / "pretty.har"
    pretty.write_bytes(b"\xef\xbb\xbf\r\n" + json.dumps(doc, indent=4).encode())
    one_line = tmp_path / "one.har"
    one_line.write_text(json.dumps(doc), encoding="utf-8")
    assert isinstance(open_input(str(pretty)), HarFile)
    assert isinstance(open_input(str(one_line)), HarFile)


def test_a_har_cut_before_its_first_entry_ends_is_one_line(tmp_path: Path) -> None:
    whole = (HARS / "firefox47.har").read_bytes()
    first_entry = whole.index(b'"startedDateTime"')
    cut = tmp_path / "cut.har"
    cut.write_bytes(whole[: first_entry + 40])
    message = _error(cut)
    assert message.startswith(f"{cut}: not a readable HAR (cut short? not JSON: ")


def test_a_har_cut_short_gives_every_entry_before_the_cut_and_says_so(tmp_path: Path) -> None:
    """A browser that crashed while saving, a copy cut in transit: the entries before
    the cut are evidence, read and reported; the cut is a warning, as a capture's."""
    whole = HARS / "firefox47.har"
    entries, _ = _scan(whole)
    cut = tmp_path / "cut.har"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    read, err = _scan(cut)
    assert 0 < len(read) < len(entries)
    assert read == entries[: len(read)]
    assert f"headerwatch: warning: {cut}: cut short (its JSON ends unfinished at line " in err
    assert "every entry before the cut is reported" in err


def test_a_gzip_compressed_har_cut_short_gives_its_entries_whole_in_what_came_out(
    tmp_path: Path,
) -> None:
    """As a gzip-compressed capture cut short does (it was refused whole: 'cannot read
    (Compressed file ended before the end-of-stream marker was reached)')."""
    whole = HARS / "firefox47.har"
    entries, _ = _scan(whole)
    cut = tmp_path / "cut.har.gz"
    packed = gzip.compress(whole.read_bytes())
    cut.write_bytes(packed[: len(packed) * 2 // 3])
    read, err = _scan(cut)
    assert 0 < len(read) < len(entries)
    assert read == entries[: len(read)]
    assert "cut short (Compressed file ended before the end-of-stream marker" in err
    cut.write_bytes(packed[:40])  # nothing whole came out: refused, as before
    assert _error(cut).startswith(f"{cut}: gzip-compressed, but not readable (Compressed file")
    # A HAR cut before its first whole entry is one of none, cut short, as a JSONL or
    # a capture cut there is (it was refused: "cannot read").
    cut.write_bytes(packed[:600])
    read, err = _scan(cut)
    assert read == []
    assert "cut short (Compressed file ended before the end-of-stream marker was reached; " in err
    assert "before its first whole entry)" in err


def test_a_lone_surrogate_escape_is_read_as_a_browser_sends_it(tmp_path: Path) -> None:
    """orjson refuses ``"\\ud83d"`` alone, which ``JSON.stringify`` writes for a string
    cut inside an emoji; the file is read, that character as U+FFFD (what a browser's
    UTF-8 encoder put on the wire), and the rest of the entry's findings stand."""
    doc = json.loads((HARS / "chrome51.har").read_text(encoding="utf-8"))
    request = doc["log"]["entries"][0]["request"]
    request["headers"].append({"name": "X-Title", "value": "caf\ud83d"})
    request["headers"].append({"name": "X-MSISDN", "value": "447700900123"})
    path = tmp_path / "lone.har"
    path.write_text(json.dumps(doc), encoding="ascii")  # the escape as JSON writes it
    assert "\\ud83d" in path.read_text(encoding="ascii")
    read, err = _scan(path, config=IdentityConfig(region="GB"))
    assert len(read) == len(doc["log"]["entries"])
    assert ["X-Title", "caf\ufffd"] in read[0]["headers"]
    assert [f["normalized"] for f in read[0]["findings"]] == ["+447700900123"]
    assert "1 string held half a surrogate pair" in err


def test_a_foreign_json_document_is_one_line(tmp_path: Path) -> None:
    pretty = tmp_path / "package.json"
    pretty.write_text(json.dumps({"name": "x", "version": "1"}, indent=2), encoding="utf-8")
    assert _error(pretty).startswith(f'{pretty}: not a file headerwatch reads (starts with "{{')
    one_line = tmp_path / "other.json"
    one_line.write_text(json.dumps({"log": [1, 2]}), encoding="utf-8")
    assert _error(one_line) == f'{one_line}: not a HAR (no "log" object)'


def test_a_har_with_wrong_types_is_one_line_or_its_bad_entries_are_passed_over(
    tmp_path: Path,
) -> None:
    entries_not_list = tmp_path / "a.har"
    entries_not_list.write_text(json.dumps({"log": {"entries": {}}}), encoding="utf-8")
    message = _error(entries_not_list)
    assert message == f'{entries_not_list}: not a HAR ("log.entries" is not a list)'

    good = {
        "startedDateTime": "2016-06-28T18:40:33.525Z",
        "request": {"method": "GET", "url": "http://a.example/", "headers": []},
    }
    bad_headers = {**good, "request": {**good["request"], "headers": [["Host", "a"]]}}  # type: ignore[dict-item]
    bad_date = {**good, "startedDateTime": 12}
    har = tmp_path / "b.har"
    har.write_text(
        json.dumps({"log": {"entries": [bad_headers, good, bad_date]}}), encoding="utf-8"
    )
    out, err = io.StringIO(), io.StringIO()
    assert scan([str(har)], out=out, err=err) == 0
    assert len(out.getvalue().splitlines()) == 1
    passed = [line for line in err.getvalue().splitlines() if "passed over" in line]
    assert passed == [
        f"headerwatch: warning: {har}: 2 HAR entries were not readable and passed over "
        "(first: entry 1: request.headers: not a list of {name, value} objects)"
    ]
    har.write_text(json.dumps({"log": {"entries": [good, bad_date]}}), encoding="utf-8")
    err = io.StringIO()
    assert scan([str(har)], out=io.StringIO(), err=err) == 0
    one = f"{har}: 1 HAR entry was not readable and passed over (first: entry 2: "
    assert one in err.getvalue()


def test_an_entry_whose_post_data_cannot_be_read_keeps_its_request_and_says_so() -> None:
    # chrome-har 0.2.3 lists a JSON body's values as objects in postData.params
    # (entries 130, 142 and 154 of verizonwireless.com's HAR): not HAR, but the
    # request's URL, headers and cookies are still evidence.
    har = HARS.parent / "real" / "pagexray-verizonwireless.com.har"
    records, said = _scan(har)
    entries = json.loads(har.read_text(encoding="utf-8"))["log"]["entries"]
    assert len(records) == len(entries) == 169
    note = "HAR: post data not read (request.postData.params: not a list of {name, value} objects)"
    unread = [r for r in records if note in r["anomalies"]]
    assert [r["uri"] for r in unread] == ["https://api.ascend.ai/v1/log"] * 3
    assert all(r["method"] == "POST" and r["body_length"] > 0 for r in unread)
    assert "passed over" not in said
    assert said.count("post data not read") == 1


def test_a_har_over_the_bound_is_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("capture.sources.records.MAX_HAR", 1024 * 1024)
    big = tmp_path / "big.har"
    big.write_text('{"log": {"entries": [], "pad": "' + "x" * (1024 * 1024) + '"}}')
    assert _error(big) == (
        f"{big}: HAR larger than 1 MiB, not read (export fewer entries, or split the file)"
    )


# --- JSONL records keep order and duplicates too -------------------------------------


def test_jsonl_records_keep_header_order_case_and_duplicates(tmp_path: Path) -> None:
    record, _ = _scan(demo_capture_path())
    line = dict(record[0])
    line["headers"] = [["x-b", "2"], ["Host", "h.example"], ["X-A", "1"], ["x-b", "3"]]
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    again, _ = _scan(path)
    assert again[0]["headers"] == line["headers"]


def test_headerwatch_s_own_har_of_a_reflected_capture_keeps_sent_versus_received(
    tmp_path: Path,
) -> None:
    from tests.capture.test_echo_paths import _lab_capture

    capture = _lab_capture(tmp_path)
    first, _ = _scan(capture)
    entries, _ = _scan(capture, fmt="har")
    assert any(e.get("_injected") for e in entries)
    har = tmp_path / "echoed.har"
    har.write_text(json.dumps({"log": {"entries": entries}}), encoding="utf-8")
    again, _ = _scan(har)
    keys = ("uri", "findings", "injected", "removed", "changed")
    assert [{k: r.get(k) for k in keys} for r in again] == [
        {k: r.get(k) for k in keys} for r in first
    ]
    assert any(f["kind"] == "msisdn" for r in again for f in r["findings"])
