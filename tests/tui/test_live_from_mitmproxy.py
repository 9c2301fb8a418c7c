"""End to end on loopback: curl → mitmdump with headerwatch's add-on → a local HTTPS
server; ``headerwatch live --from`` follows the add-on and reports what was sent."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path
from typing import Any

from tests.mitmproxy_lab import (
    https_server,
    mitmdump,
    mitmdump_with_addon,
    plain_server,
    read_jsonl,
)

MSISDN = "447700900123"
IMEI = "490154203237518"  # the Luhn-valid IMEI of the GSMA's examples


def _headerwatch(*args: str, **kw: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tui.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def _wait_for(predicate: Any, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _lines(path: Path) -> int:
    return len(path.read_bytes().splitlines()) if path.exists() else 0


def _stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    return out, err


def test_identities_sent_inside_https_through_mitmproxy_are_reported_as_sent(
    tmp_path: Path,
) -> None:
    out = tmp_path / "proxy.jsonl"
    session = tmp_path / "session.jsonl"
    with (
        https_server(tmp_path) as (port, cert),
        # lazy: mitmproxy offers the client h2 without asking the (HTTP/1.1) server first
        mitmdump_with_addon(
            tmp_path, str(out), "connection_strategy=lazy", upstream_ca=cert
        ) as proxy,
    ):
        hw = _headerwatch("live", "--from", str(out), "--format", "jsonl", "-w", str(session))
        try:
            base = f"https://localhost:{port}"
            first = proxy.curl(
                f"{base}/one",
                "--http1.1",
                "-H", f"X-MSISDN: {MSISDN}",
                "-H", "X-Second: b",
                "-H", "x-first: a",
            )  # fmt: skip
            second = proxy.curl(
                f"{base}/two?q=1", "--http1.1", "-H", f"Cookie: session=1; imei={IMEI}"
            )
            third = proxy.curl(f"{base}/three", "--http2", "-H", "X-MSISDN: +447700900124")
            assert first.stdout == "200 1.1", first.stderr
            assert second.stdout == "200 1.1", second.stderr
            assert third.stdout == "200 2", third.stderr
            # Everything the add-on wrote has been read (and recorded) by headerwatch.
            _wait_for(lambda: _lines(session) >= 4, "headerwatch to read three records")
        finally:
            stdout, stderr = _stop(hw)
    assert hw.returncode == 0, stderr
    records = [json.loads(line) for line in stdout.splitlines()]
    assert [r["uri"] for r in records] == ["/one", "/two?q=1", "/three"], stderr

    one, two, three = records
    names = [name for name, _ in one["headers"]]
    assert names[-3:] == ["X-MSISDN", "X-Second", "x-first"]  # wire order, case kept
    assert names[0] == "Host"
    assert {(f["kind"], f["name"], f["normalized"]) for f in one["findings"]} >= {
        ("msisdn", "X-MSISDN", f"+{MSISDN}")
    }
    assert [(f["kind"], f["where"], f["name"]) for f in two["findings"] if f["kind"] == "imei"] == [
        ("imei", "cookie", "imei")
    ]
    # HTTP/2: the pseudo-headers are the method, the authority and the path.
    assert three["version"] == "HTTP/2.0"
    assert three["method"] == "GET"
    assert three["authority"] == f"localhost:{port}"
    assert three["host"] == f"localhost:{port}"
    assert not any(name.startswith(":") or name.lower() == "host" for name, _ in three["headers"])
    assert ("msisdn", "x-msisdn") in {(f["kind"], f["name"]) for f in three["findings"]}
    assert "3 records followed" in stderr

    # The add-on's own lines: client TLS as mitmproxy saw it.
    written = [r for r in read_jsonl(out) if "headerwatch_addon" not in r]
    assert [(r["tls"]["sni"], r["tls"]["alpn"]) for r in written] == [  # type: ignore[index]
        ("localhost", "http/1.1"),
        ("localhost", "http/1.1"),
        ("localhost", "h2"),
    ]
    assert {r["source"] for r in written} == {"mitmproxy"}
    assert all(r["response"]["status"] == 200 for r in written)  # type: ignore[index]

    # The session recorded as it was read reopens as the same requests.
    reopened = subprocess.run(
        [sys.executable, "-m", "tui.cli", "scan", str(session), "--format", "jsonl"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert reopened.returncode == 0, reopened.stderr
    assert reopened.stdout.splitlines() == stdout.splitlines()
    assert os.stat(session).st_mode & 0o777 == 0o600


def test_the_proxy_keeps_serving_when_headerwatch_stops_reading_its_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "hw.fifo"
    os.mkfifo(fifo)
    with (
        plain_server() as port,
        mitmdump_with_addon(tmp_path, str(fifo), "headerwatch_queue=20") as proxy,
    ):
        seen = tmp_path / "seen.jsonl"
        hw = _headerwatch("live", "--from", str(fifo), "--format", "jsonl", "-w", str(seen))
        url = f"http://127.0.0.1:{port}/"
        try:
            # Until headerwatch has the FIFO open, the add-on drops (nobody reads).
            _wait_for(
                lambda: (
                    proxy.curl(url, "-H", f"X-MSISDN: {MSISDN}").stdout == "200 1.1"
                    and MSISDN.encode() in (seen.read_bytes() if seen.exists() else b"")
                ),
                "headerwatch to read a request",
            )
        finally:
            stdout, stderr = _stop(hw)
        assert MSISDN in stdout, stderr
        # Nobody reads the FIFO now: every request still gets its answer, at once.
        started = time.monotonic()
        answers = [proxy.curl(url, "-H", f"X-MSISDN: {MSISDN}").stdout for _ in range(20)]
        took = time.monotonic() - started
        assert answers == ["200 1.1"] * 20
        assert took < 20, f"20 requests took {took:.1f} s without a reader"
        # A reader coming back hears how many were dropped meanwhile.
        seen_again = tmp_path / "seen-again.jsonl"
        again = _headerwatch(
            "live", "--from", str(fifo), "--format", "jsonl", "-w", str(seen_again)
        )
        try:
            _wait_for(
                lambda: proxy.curl(url).stdout == "200 1.1" and _lines(seen_again) >= 3,
                "the new reader to read the add-on's count and a request",
            )
        finally:
            _, again_err = _stop(again)
        log = proxy.stop()
    assert "dropped by the proxy add-on" in again_err, again_err
    assert "records dropped" in log, log[-2000:]


def test_over_a_unix_socket_the_add_on_reconnects_when_headerwatch_comes_back(
    tmp_path: Path,
) -> None:
    sock = tmp_path / "hw.sock"
    seen = [tmp_path / "seen-1.jsonl", tmp_path / "seen-2.jsonl"]
    with (
        plain_server() as port,
        mitmdump_with_addon(tmp_path, f"unix:{sock}") as proxy,
    ):
        url = f"http://127.0.0.1:{port}/"
        outputs = []
        for n, recorded in enumerate(seen, 1):
            hw = _headerwatch(
                "live", "--from", f"unix:{sock}", "--format", "jsonl", "-w", str(recorded)
            )
            try:
                # The add-on (re)connects within half a second of the socket being there.
                _wait_for(
                    lambda n=n, recorded=recorded: (
                        proxy.curl(url, "-H", f"X-MSISDN: {MSISDN}{n}").stdout == "200 1.1"
                        and f"{MSISDN}{n}".encode()
                        in (recorded.read_bytes() if recorded.exists() else b"")
                    ),
                    f"reader {n} to get a request",
                )
            finally:
                outputs.append(_stop(hw))
            # Between readers nobody listens: the proxy answers all the same.
            assert proxy.curl(url).stdout == "200 1.1"
    for n, (stdout, stderr) in enumerate(outputs, 1):
        assert f"{MSISDN}{n}" in stdout, stderr
    assert not sock.exists()


def test_a_plain_request_through_the_proxy_is_recorded_with_its_path_and_its_host_header(
    tmp_path: Path,
) -> None:
    """curl sends the absolute form (``GET http://host:port/p?q=1``) to a proxy. As a
    regular proxy mitmproxy makes it origin-form before the add-on sees it: the record
    has the path, and the Host header says where. In upstream mode it is forwarded,
    and recorded, as it came."""
    uris = {}
    for name in ("up", "regular", "upstream"):
        (tmp_path / name).mkdir()
    with (
        plain_server() as port,
        mitmdump_with_addon(tmp_path / "up", "", addon=False) as upstream,
    ):
        url = f"http://127.0.0.1:{port}/p?q=1"
        for name, mode in (("regular", "regular"), ("upstream", f"upstream:{upstream.url}")):
            out = tmp_path / name / "proxy.jsonl"
            with mitmdump_with_addon(tmp_path / name, str(out), f"mode={mode}") as proxy:
                assert proxy.curl(url).stdout == "200 1.1"
                _wait_for(lambda out=out: _lines(out) >= 1, "the add-on's record")
            [record] = [r for r in read_jsonl(out) if "uri" in r]
            assert ["Host", f"127.0.0.1:{port}"] in record["headers"]  # type: ignore[operator]
            uris[name] = record["uri"]
    assert uris == {"regular": "/p?q=1", "upstream": url}


def _body_findings(jsonl: str) -> dict[str, list[tuple[str, str, str, str]]]:
    """Per request path, the findings in its body: (name, kind, normalized, detector)."""
    found = {}
    for line in jsonl.splitlines():
        record = json.loads(line)
        path = "/" + record["uri"].split("://", 1)[-1].split("/", 1)[-1]
        found[path] = sorted(
            (f["name"], f["kind"], f["normalized"], f["detector"])
            for f in record["findings"]
            if f["where"] == "body"
        )
    return found


def _brotli(data: bytes) -> bytes:
    # brotli is mitmproxy's (it decodes br), not headerwatch's.
    python = Path(mitmdump()).with_name("python")
    script = "import brotli, sys; sys.stdout.buffer.write(brotli.compress(sys.stdin.buffer.read()))"
    return subprocess.run(
        [str(python), "-c", script], input=data, capture_output=True, check=True
    ).stdout


def test_identities_in_request_bodies_through_mitmproxy_are_found_as_in_its_har(
    tmp_path: Path,
) -> None:
    out = tmp_path / "proxy.jsonl"
    har = tmp_path / "flows.har"
    beacon = json.dumps({"user": {"phone": f"+{MSISDN}", "imei": IMEI}}).encode()
    json_type = "Content-Type: application/json"
    form = f"tel=%2B{MSISDN}&device_imei={IMEI}".encode()
    sent = {
        "/plain": (beacon, [json_type]),
        "/gzip": (gzip.compress(beacon), [json_type, "Content-Encoding: gzip"]),
        "/deflate": (zlib.compress(beacon), [json_type, "Content-Encoding: deflate"]),
        "/br": (_brotli(beacon), [json_type, "Content-Encoding: br"]),
        "/form": (form, []),
        # Identities in the first 64 KiB of a longer body, as a capture keeps it.
        "/long": (form + b"&pad=" + b"x" * 100_000, []),
    }
    with (
        plain_server() as port,
        mitmdump_with_addon(tmp_path, str(out), f"hardump={har}") as proxy,
    ):
        for path, (body, headers) in sent.items():
            (tmp_path / "body").write_bytes(body)
            args = [arg for header in headers for arg in ("-H", header)]
            done = proxy.curl(
                f"http://127.0.0.1:{port}{path}", *args, "--data-binary", f"@{tmp_path / 'body'}"
            )
            assert done.stdout == "200 1.1", done.stderr
        _wait_for(lambda: _lines(out) >= len(sent), "the add-on to write every request")
        proxy.stop()  # mitmproxy writes the HAR as it stops
    scanned = {}
    for name in (out, har):
        run = subprocess.run(
            [sys.executable, "-m", "tui.cli", "scan", "--region", "GB", "--msisdn",
             f"+{MSISDN}", "--imei", IMEI, "--format", "jsonl", str(name)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        scanned[name] = _body_findings(run.stdout)
    from_addon = scanned[out]
    assert list(from_addon) == list(sent)
    assert from_addon == scanned[har]
    for path in sent:
        kinds = {kind for _, kind, _, _ in from_addon[path]}
        assert {"msisdn", "imei", "canary"} <= kinds, (path, from_addon[path])

    # live --from reads the same bodies.
    seen = tmp_path / "seen.jsonl"
    hw = _headerwatch(
        "live", "--from", str(out), "--format", "jsonl", "-w", str(seen),
        "--region", "GB", "--msisdn", f"+{MSISDN}", "--imei", IMEI,
    )  # fmt: skip
    try:
        _wait_for(lambda: _lines(seen) > len(sent), "headerwatch to read every record")
    finally:
        stdout, stderr = _stop(hw)
    assert _body_findings(stdout) == from_addon, stderr
