"""Crafted pcapng files: impossible timestamps and block lengths end in one line, not a crash.

A pcapng timestamp is 64 bits in units the file chooses (``if_tsresol`` 0 means
whole seconds), so a file can date a frame in year 48,283,939 or later; a block
length is 32 bits, so a file can ask for a 4 GB read. Every output format must
still report every request with its findings, and say what was wrong in a line.
"""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.scan import scan
from capture.sources.frames import MAX_TS, CaptureError, CaptureFile
from tests.netns import REPO
from tests.packets.craft import Conversation, exchange

MSISDN = "447700900123"
REQUEST = b"GET /track HTTP/1.1\r\nHost: ads.example\r\nx-msisdn: " + MSISDN.encode() + b"\r\n\r\n"
RESPONSE = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"


def _block(kind: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    return struct.pack("<II", kind, len(body) + 12) + body + struct.pack("<I", len(body) + 12)


def _frames() -> list[tuple[float, bytes]]:
    conv = Conversation("10.0.0.1", 40000, "10.0.0.2", 80, ts=1_700_000_000.0)
    return [*conv.handshake(), *exchange(conv, REQUEST, RESPONSE), *conv.close()]


def pcapng(units: Iterable[int], tsresol: int = 0, frames: list[bytes] | None = None) -> bytes:
    """A pcapng with one Ethernet interface of ``if_tsresol`` ``tsresol`` and the
    exchange's frames at the given timestamps (in the interface's units)."""
    shb = _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    options = struct.pack("<HHB", 9, 1, tsresol) + b"\0\0\0" + struct.pack("<HH", 0, 0)
    idb = _block(1, struct.pack("<HHI", 1, 0, 0) + options)
    out = shb + idb
    data = frames if frames is not None else [frame for _, frame in _frames()]
    for unit, frame in zip(units, data, strict=False):
        body = struct.pack("<IIIII", 0, unit >> 32, unit & 0xFFFFFFFF, len(frame), len(frame))
        out += _block(6, body + frame)
    return out


def _scan(path: Path, fmt: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    detector = IdentityDetector(IdentityConfig())
    code = scan([str(path)], fmt=fmt, detector=detector, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


HUGE = 1_523_717_000_000_000  # seconds: year 48,283,939
UNITS = [(HUGE + i) for i in range(len(_frames()))]


@pytest.mark.parametrize("fmt", ["jsonl", "table", "har"])
def test_a_timestamp_beyond_any_date_is_clamped_and_the_finding_kept(
    tmp_path: Path, fmt: str
) -> None:
    path = tmp_path / "future.pcapng"
    path.write_bytes(pcapng(UNITS))
    code, out, err = _scan(path, fmt)
    assert code == 0
    assert MSISDN in out
    warning, summary = err.splitlines()
    assert warning.endswith(
        "8 frames had a timestamp out of range, shown as 1970-01-01 or 2106-02-07"
    )
    assert "1 HTTP request; 1 identity in 1 request" in summary
    if fmt == "har":
        entry = json.loads(out)["log"]["entries"][0]
        assert entry["startedDateTime"] == "2106-02-07T06:28:15.000Z"
        assert entry["_identityFindings"][0]["normalized"] == "+" + MSISDN
    if fmt == "jsonl":
        assert json.loads(out.splitlines()[0])["ts"] == MAX_TS


def test_the_largest_timestamp_of_all_is_clamped_too(tmp_path: Path) -> None:
    path = tmp_path / "max.pcapng"
    path.write_bytes(pcapng([(1 << 64) - 1] * len(UNITS)))
    frames = list(CaptureFile(str(path)))
    assert {f.ts for f in frames} == {MAX_TS}


def test_an_ordinary_timestamp_is_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "ok.pcapng"
    path.write_bytes(pcapng([1_700_000_000_123_456 + i for i in range(len(UNITS))], tsresol=6))
    capture = CaptureFile(str(path))
    stamps = [f.ts for f in capture]
    assert stamps[0] == 1_700_000_000.123456
    assert capture.bad_timestamps == 0


def test_a_block_length_of_4_gb_is_refused_before_the_read(tmp_path: Path) -> None:
    good = pcapng(UNITS, tsresol=0)
    bad = bytearray(good + struct.pack("<II", 6, 0xFFFFFFF0) + b"\0" * 64)
    path = tmp_path / "huge-block.pcapng"
    path.write_bytes(bytes(bad))
    # Under a 1 GB address-space limit, a 4 GB read would be a MemoryError.
    code = (
        "import resource, sys, io\n"
        "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
        "from tui.cli import main\n"
        f"sys.exit(main(['scan', '--msisdn', '+{MSISDN}', {str(path)!r}]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert (
        f"huge-block.pcapng: capture is damaged at byte {len(good):,}, after packet 8 "
        "(a block length of over 4,294,967,268 bytes, more than any capture holds); the 72 "
        "bytes from there to the end were not read" in result.stderr
    )
    assert MSISDN in result.stdout


def test_a_header_block_of_4_gb_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "huge-shb.pcapng"
    path.write_bytes(struct.pack("<III", 0x0A0D0D0A, 0xFFFFFFF0, 0x1A2B3C4D) + b"\0" * 64)
    with pytest.raises(CaptureError, match="damaged capture header"):
        CaptureFile(str(path))


def test_a_second_section_header_with_options_cut_ends_the_capture_there(tmp_path: Path) -> None:
    """Found by fuzzing (tests/fuzz): scapy raised its own exception, a traceback."""
    good = pcapng(range(len(_frames())), tsresol=6)
    # A Section Header Block of 304 bytes, cut after its fixed 24.
    bad = struct.pack("<II", 0x0A0D0D0A, 304) + struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)
    path = tmp_path / "second-shb.pcapng"
    path.write_bytes(good + bad)
    code, out, err = _scan(path, "jsonl")
    assert code == 0 and "Traceback" not in err
    assert "capture is cut short; every request before the cut is reported" in err
    assert MSISDN in out


def test_a_packet_of_an_interface_no_block_describes_is_damage_said_not_passed_over(
    tmp_path: Path,
) -> None:
    """scapy passed such packets over in silence (157 of a capture's 259 went so);
    Wireshark stops there with an error. The requests before it stand."""
    good = pcapng(range(len(_frames())), tsresol=6)
    frame = _frames()[0][1]
    body = struct.pack("<IIIII", 1, 0, 7, len(frame), len(frame))  # interface 1
    path = tmp_path / "undescribed.pcapng"
    path.write_bytes(good + _block(6, body + frame) + good[len(good) // 2 :])
    code, out, err = _scan(path, "jsonl")
    assert code == 0 and "Traceback" not in err
    assert f"capture is damaged at byte {len(good):,}" in err
    assert "(a packet of interface 1, which no interface block describes)" in err
    assert MSISDN in out
