"""The largest head: configurable, and a head cut there is still read for identities.

A head longer than the limit is cut at the limit and flagged; its whole lines
up to the cut are headers like any other, so an identity in them is found. With
a larger ``--max-head`` a header beyond 64 KB is read too.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from capture.http import http1
from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.scan import scan
from tests.netns import REPO
from tests.packets.craft import Conversation, exchange
from tests.packets.writer import write_pcap

MSISDN = b"x-msisdn: 447700900123\r\n"
PADDING = b"".join(b"x-pad-%05d: %s\r\n" % (i, b"p" * 90) for i in range(700))  # ~75 KB


@pytest.fixture(autouse=True)
def default_limit() -> Iterator[None]:
    yield
    http1.set_head_limit(http1.MAX_HEAD)


def _capture(
    tmp_path: Path, head: bytes, split: int | None = None, after_a_small_one: bool = False
) -> Path:
    conv = Conversation("10.0.0.1", 40000, "10.0.0.2", 80, ts=1_700_000_000.0)
    request = b"GET /big HTTP/1.1\r\nHost: example.com\r\n" + head + b"\r\n"
    response = b"HTTP/1.1 204 No Content\r\n\r\n"
    frames = conv.handshake()
    if after_a_small_one:
        small = b"GET /small HTTP/1.1\r\nHost: example.com\r\n\r\n"
        frames += exchange(conv, small, response)
    frames += exchange(conv, request, response, split)
    path = tmp_path / f"big-head-{split}-{after_a_small_one}.pcap"
    write_pcap(str(path), [*frames, *conv.close()])
    return path


def _records(path: Path) -> list[dict[str, object]]:
    out = io.StringIO()
    scan([str(path)], detector=IdentityDetector(IdentityConfig()), out=out, err=io.StringIO())
    return [json.loads(line) for line in out.getvalue().splitlines()]


def _msisdns(record: dict[str, object]) -> list[str]:
    findings = record["findings"]
    assert isinstance(findings, list)
    return [f["normalized"] for f in findings if f["kind"] == "msisdn"]


def test_an_identity_before_the_cut_of_a_head_too_long_is_found(tmp_path: Path) -> None:
    [record] = _records(_capture(tmp_path, MSISDN + PADDING))
    assert record["anomalies"] == ["header block larger than 65536 bytes; cut"]
    assert _msisdns(record) == ["+447700900123"]
    headers = record["headers"]
    assert isinstance(headers, list)
    # Whole lines only, all before the cut: no value cut in two is invented.
    assert sum(len(n) + len(v) + 4 for n, v in headers) <= 65536
    assert all(v == "p" * 90 for n, v in headers if n.startswith("x-pad-"))


def test_an_identity_past_64_kb_needs_a_larger_limit(tmp_path: Path) -> None:
    path = _capture(tmp_path, PADDING + MSISDN)
    [cut] = _records(path)
    assert _msisdns(cut) == [] and cut["anomalies"]
    http1.set_head_limit(128 * 1024)
    [whole] = _records(path)
    assert _msisdns(whole) == ["+447700900123"]
    assert "anomalies" not in whole


@pytest.mark.parametrize("after_a_small_one", [False, True])
def test_a_head_too_long_is_cut_however_tcp_split_it(
    tmp_path: Path, after_a_small_one: bool
) -> None:
    # Its end in the segment that crosses the limit (60,000 bytes, then the rest),
    # or in one segment with the whole head: cut all the same, as in 1,460-byte ones.
    # (The end arriving with the crossing segment used to let 80 KB of head through.)
    head = PADDING + MSISDN
    records = [
        _records(_capture(tmp_path, head, split, after_a_small_one))[-1]
        for split in (1460, 30_000, 60_000, 65_000)
    ]
    assert all(r == records[0] for r in records[1:]), [r.get("anomalies") for r in records]
    assert records[0]["anomalies"] == ["header block larger than 65536 bytes; cut"]
    assert _msisdns(records[0]) == []


def test_a_small_limit_cuts_early_and_still_reads_up_to_the_cut(tmp_path: Path) -> None:
    http1.set_head_limit(4096)
    [record] = _records(_capture(tmp_path, MSISDN + PADDING))
    assert record["anomalies"] == ["header block larger than 4096 bytes; cut"]
    assert _msisdns(record) == ["+447700900123"]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", "scan", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )


def test_the_summary_counts_the_request_heads_cut_at_the_limit(tmp_path: Path) -> None:
    # The tester's case: the identity past the cut is not found, and nothing but each
    # record's anomaly said so; the summary line now names the cut and --max-head.
    result = _cli(str(_capture(tmp_path, PADDING + MSISDN, after_a_small_one=True)))
    assert result.returncode == 0
    [summary] = [line for line in result.stderr.splitlines() if "HTTP requests" in line]
    assert (
        "1 request head longer than --max-head, cut there (what came after the cut is "
        "not read)" in summary
    ), summary
    whole = _cli("--max-head", "128k", str(_capture(tmp_path, PADDING + MSISDN)))
    assert "--max-head" not in whole.stderr


def test_max_head_on_the_command_line(tmp_path: Path) -> None:
    path = _capture(tmp_path, PADDING + MSISDN)
    assert "447700900123" not in _cli("--only-identity", str(path)).stdout
    result = _cli("--max-head", "128k", "--only-identity", str(path))
    assert result.returncode == 0
    assert _msisdns(json.loads(result.stdout)) == ["+447700900123"]


@pytest.mark.parametrize(
    ("size", "message"),
    [("12", "must be between 1,024 and 67,108,864 bytes"), ("lots", "not a size: 'lots'")],
)
def test_a_bad_max_head_is_one_line(size: str, message: str) -> None:
    result = _cli("--max-head", size, "x.pcap")
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_a_scan_of_the_records_of_a_cut_head_counts_it_as_a_capture_does(
    tmp_path: Path,
) -> None:
    # The tester's case: `scan big.pcap > big.jsonl`, then `scan big.jsonl` said nothing
    # of the cut its record's anomaly names. Each request is counted once: a capture's
    # by the cut, a record's by its anomaly.
    capture = _capture(tmp_path, PADDING + MSISDN)
    records = tmp_path / "big.jsonl"
    records.write_text(_cli(str(capture)).stdout)
    for inputs, heads in (([records], "1 request head"), ([capture, records], "2 request heads")):
        result = _cli(*map(str, inputs))
        assert result.returncode == 0, result.stderr
        [summary] = [line for line in result.stderr.splitlines() if "HTTP request" in line]
        assert f"; {heads} longer than --max-head, cut there" in summary, summary
