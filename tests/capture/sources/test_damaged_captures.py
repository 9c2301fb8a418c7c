"""Real captures with damaged bytes: the scan never crashes, a split scan says
exactly what one process says, and damage in the middle is said with where it is and
how much was left unread.

Each case takes a capture of the shared corpus and damages it as disks, cut
downloads and broken capture tools do: flipped bytes, holes, repeated stretches,
a record length gone wild. Whatever the damage, ``scan`` must end with an exit
code and one-line messages, never a traceback, in every output format; and the
split scan (:mod:`capture.scan_jobs`) must write the same bytes as the single one.
"""

from __future__ import annotations

import gzip
import io
import random
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.scan import scan
from capture.sources import frames as frames_module
from tests.conftest import REPO

PCAP_MAGICS = (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
CASES = 150
WILD_LENGTHS = (b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x00\x01\x00\x00")


def _corpus(pcaps_dir: Path) -> list[tuple[str, bytes]]:
    files = sorted(pcaps_dir.rglob("*.pcap*")) + sorted(pcaps_dir.rglob("*.gz"))
    corpus = []
    for path in files:
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        if data[:4] in (*PCAP_MAGICS, PCAPNG_MAGIC) and len(data) < 1_000_000:
            corpus.append((str(path.relative_to(pcaps_dir)), data))
    return corpus


def _damage(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 10)):
        # The file header stays whole most of the time: past it is where damage tells.
        start = 24 if rng.random() < 0.95 else 0
        if len(out) <= start + 1:
            break
        at = rng.randrange(start, len(out))
        roll = rng.random()
        if roll < 0.6:
            out[at] = rng.getrandbits(8)
        elif roll < 0.7:
            del out[at : at + rng.randint(1, 64)]
        elif roll < 0.8:
            out[at:at] = rng.randbytes(rng.randint(1, 64))
        elif roll < 0.9:
            source = rng.randrange(start, len(out))
            out[at:at] = out[source : source + rng.randint(1, 2000)]
        else:
            # A length field gone wild, if it lands on one.
            out[at : at + 4] = rng.choice(WILD_LENGTHS)
    return bytes(out)


@pytest.fixture(scope="module")
def corpus(pcaps_dir: Path) -> list[tuple[str, bytes]]:
    return _corpus(pcaps_dir)


@pytest.fixture(scope="module")
def detector() -> IdentityDetector:
    return IdentityDetector(IdentityConfig(region="GB", msisdns=("07700 900123",)))


def _scan(path: Path, detector: IdentityDetector, fmt: str, jobs: int) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = scan([str(path)], fmt=fmt, detector=detector, out=out, err=err, jobs=jobs)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("case", range(CASES))
def test_a_damaged_capture_is_scanned_without_a_crash(
    case: int, corpus: list[tuple[str, bytes]], detector: IdentityDetector, tmp_path: Path
) -> None:
    rng = random.Random(case)
    name, data = rng.choice(corpus)
    damaged = _damage(data, rng)
    suffix = ".pcapng" if data[:4] == PCAPNG_MAGIC else ".pcap"
    path = tmp_path / f"damaged{suffix}"
    path.write_bytes(damaged)
    fmt = ("jsonl", "table", "har")[case % 3]
    single = _scan(path, detector, fmt, jobs=1)
    code, _, err = single
    assert code in (0, 1, 2), f"{name}: exit {code}"
    for line in err.splitlines():
        assert line.startswith("headerwatch: "), f"{name}: {line!r}"
    if suffix == ".pcap" and fmt == "jsonl":
        assert _scan(path, detector, fmt, jobs=2 + case % 3) == single, name


def _pcap_records(data: bytes) -> list[int]:
    """The byte offset of each record of a little-endian classic pcap."""
    offsets, at = [], 24
    while at + 16 <= len(data):
        offsets.append(at)
        at += 16 + struct.unpack_from("<I", data, at + 8)[0]
    return offsets


@pytest.mark.parametrize("walk", ["C", "Python"])
def test_a_record_length_gone_wild_in_the_middle_says_where_and_how_much_was_not_read(
    pcaps_dir: Path,
    detector: IdentityDetector,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    walk: str,
) -> None:
    """Not "cut short": the requests of the second half are missing, and the user must
    know it, in one process or split, plain or gzip-compressed."""
    if walk == "Python":
        monkeypatch.setattr(frames_module, "_pcapwalk", None)
    data = gzip.decompress(
        (pcaps_dir / "zeek/1000-requests-one-dropped-response.pcap.gz").read_bytes()
    )
    offsets = _pcap_records(data)
    middle = len(offsets) // 2
    at = offsets[middle]
    damaged = data[: at + 8] + b"\xff\xff\xff\xff" + data[at + 12 :]
    said = (
        f"capture is damaged at record {middle + 1:,}, byte {at:,} (its length field says "
        f"4,294,967,295 bytes, more than any capture holds); the {len(data) - at:,} bytes "
        "from there to the end were not read, and any requests in them are missing from "
        "the results\n"
    )
    whole = _scan(_written(tmp_path / "whole.pcap", data), detector, "jsonl", 1)[1]
    for name, content in (("big.pcap", damaged), ("big.pcap.gz", gzip.compress(damaged))):
        path = _written(tmp_path / name, content)
        for jobs in (1, 2):
            code, out, err = _scan(path, detector, "jsonl", jobs)
            assert code == 0 and f"headerwatch: warning: {path}: {said}" in err
            assert "cut short" not in err
            # What came before the damage is reported, as from the whole file.
            assert 300 < len(out.splitlines()) < 700
            assert whole.startswith(out)


def test_a_damaged_record_on_a_pipe_says_which_record_and_that_the_rest_was_not_read(
    pcaps_dir: Path,
) -> None:
    data = (pcaps_dir / "zeek/m57-long-49583-80.pcap").read_bytes()
    offsets = _pcap_records(data)
    at = offsets[100]
    damaged = data[: at + 8] + b"\x00\x00\x00\x7f" + data[at + 12 :]
    result = subprocess.run(
        [sys.executable, "-m", "tui.cli", "scan", "-"],
        input=damaged,
        capture_output=True,
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode == 0
    assert (
        "headerwatch: warning: <stdin>: capture is damaged at record 101 (its length field "
        "says 2,130,706,432 bytes, more than any capture holds); the rest of the stream was "
        "not read, and any requests in it are missing from the results\n"
    ) in result.stderr.decode()


def _pcapng_blocks(data: bytes) -> list[tuple[int, int, int]]:
    """(type, length, offset) of each block of a little-endian pcapng file."""
    blocks, at = [], 0
    while at + 8 <= len(data):
        kind, length = struct.unpack_from("<II", data, at)
        blocks.append((kind, length, at))
        at += length
    return blocks


@pytest.mark.parametrize("runs", [True, False])
def test_a_pcapng_block_that_does_not_end_where_it_says_is_damage_said_with_its_place(
    pcaps_dir: Path,
    detector: IdentityDetector,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    runs: bool,
) -> None:
    """The block is found by scapy after a run of simple blocks read in C (or, without
    the C walk, by scapy alone): its offset is the file's either way."""
    if not runs:
        monkeypatch.setattr(frames_module, "_pcapwalk", None)
    data = (pcaps_dir / "zeek/cooper-grill-dvwa.pcapng").read_bytes()
    blocks = _pcapng_blocks(data)
    packets = [block for block in blocks if block[0] == 6]
    _, length, at = packets[40]
    damaged = bytearray(data)
    damaged[at + length - 4 : at + length] = struct.pack("<I", length + 4)  # trailing length
    said = (
        f"capture is damaged at byte {at:,}, after packet 40 (PcapNg: Invalid pcapng block "
        f"(bad blocklen)); the {len(data) - at:,} bytes from there to the end were not read"
    )
    for name, content in (("d.pcapng", bytes(damaged)), ("d.pcapng.gz", gzip.compress(damaged))):
        path = _written(tmp_path / name, content)
        code, _, err = _scan(path, detector, "jsonl", 1)
        assert code == 0 and f"headerwatch: warning: {path}: {said}" in err, err


def test_a_pcapng_cut_inside_a_block_is_still_cut_short(
    pcaps_dir: Path, detector: IdentityDetector, tmp_path: Path
) -> None:
    data = (pcaps_dir / "zeek/cooper-grill-dvwa.pcapng").read_bytes()
    path = _written(tmp_path / "cut.pcapng", data[: len(data) // 2])
    code, _, err = _scan(path, detector, "jsonl", 1)
    assert code == 0 and "capture is cut short" in err and "damaged" not in err


def _written(path: Path, data: Any) -> Path:
    path.write_bytes(bytes(data))
    return path
