"""A pcapng file as capture tools write it is read here, without scapy: its Section
Header, Interface Description, Name Resolution and Statistics Blocks, and its simple
packet blocks through the C record walk (``CaptureFile._native_pcapng``). At the first
block read neither way, scapy's reader goes on from there: what a file gives must not
change.

The reference is scapy's reader from the start (``_pcapng_start`` as it was:
``_pcapng_reader``), then the runs after each packet it reads, as before.
Every pcapng of tests/data is read both ways, and files made here with what capture
tools and damage put in them: options, comments, several interfaces and resolutions,
big-endian sections, a Simple Packet Block, unknown and custom blocks, a second
section, a block cut at the end, damaged blocks in the middle.
"""

from __future__ import annotations

import gzip
import io
import json
import random
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.scan import scan
from capture.sources import frames as frames_module
from capture.sources.frames import TICK, CaptureError, CaptureFile, interface
from tests.capture.sources.test_damaged_captures import _damage
from tests.capture.sources.test_pcapwalk import _Dribble
from tests.capture.test_scan_jobs import gen_capture
from tests.conftest import REPO

DATA = REPO / "tests" / "data"
SHB, IDB, SPB, NRB, ISB, EPB = 0x0A0D0D0A, 1, 3, 4, 5, 6


def _option(code: int, value: bytes, e: str) -> bytes:
    return struct.pack(e + "HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def _block(kind: int, body: bytes, e: str, length: int | None = None) -> bytes:
    """A block; ``length`` in place of its own, at both ends, where given (damage)."""
    body += b"\0" * (-len(body) % 4)
    size = len(body) + 12 if length is None else length
    return struct.pack(e + "II", kind, size) + body + struct.pack(e + "I", size)


def _shb(e: str, options: bytes = b"") -> bytes:
    return _block(SHB, struct.pack(e + "IHHq", 0x1A2B3C4D, 1, 0, -1) + options, e)


def _idb(e: str, linktype: int = 1, options: bytes = b"") -> bytes:
    if options:
        options += _option(0, b"", e)
    return _block(IDB, struct.pack(e + "HHI", linktype, 0, 262144) + options, e)


def _epb(e: str, interface_id: int, units: int, data: bytes, options: bytes = b"") -> bytes:
    head = struct.pack(
        e + "IIIII", interface_id, units >> 32, units & 0xFFFFFFFF, len(data), len(data) + 4
    )
    return _block(EPB, head + data + b"\0" * (-len(data) % 4) + options, e)


def _dumpcap_header(e: str) -> bytes:
    """The section and interface blocks as dumpcap writes them."""
    shb_options = (
        _option(2, b"Intel(R) Core(TM) i7", e)  # shb_hardware
        + _option(3, b"Linux 6.8.0", e)  # shb_os
        + _option(4, b"Dumpcap (Wireshark) 4.2.2", e)  # shb_userappl
        + _option(0, b"", e)
    )
    idb_options = (
        _option(2, b"eth0", e)  # if_name
        + _option(9, b"\x09", e)  # if_tsresol: nanoseconds
        + _option(12, b"Linux 6.8.0", e)  # if_os
    )
    return _shb(e, shb_options) + _idb(e, 1, idb_options)


def _statistics(e: str) -> bytes:
    """An Interface Statistics Block and a Name Resolution Block, as tools end files."""
    isb = _block(ISB, struct.pack(e + "III", 0, 0, 1) + _option(4, b"\0" * 8, e), e)
    record = struct.pack(e + "HH", 1, 16) + bytes([198, 51, 100, 1]) + b"ads.example\0"
    nrb = _block(NRB, record + struct.pack(e + "HH", 0, 0), e)
    return isb + nrb


@pytest.fixture(scope="module")
def traffic() -> list[tuple[int, bytes]]:
    """Ad traffic with identities, over a few seconds: (nanoseconds, Ethernet frame)."""
    frames = gen_capture.frames(60, 12, bodies="mid", traffic="ad")
    return [(1_700_000_000_000_000_000 + i * 7_000_011, data) for i, (_, data) in enumerate(frames)]


def _dumpcap(traffic: list[tuple[int, bytes]], e: str = "<") -> bytes:
    body = b"".join(_epb(e, 0, ns, data) for ns, data in traffic)
    return _dumpcap_header(e) + body + _statistics(e)


def _interfaces(traffic: list[tuple[int, bytes]]) -> bytes:
    """Interfaces of every resolution, one described in the middle, one of raw IP."""
    e = "<"
    out = _shb(e) + _idb(e)  # microseconds, as no if_tsresol says
    out += _idb(e, 1, _option(9, b"\x09", e) + _option(9, b"\x06", e))  # the last counts
    out += _idb(e, 101, _option(2, b"rmnet0", e) + _option(9, b"\x09", e))  # raw IP
    half = len(traffic) // 2
    for i, (ns, data) in enumerate(traffic[:half]):
        if i % 7 == 3:
            out += _epb(e, 2, ns, data[14:])
        else:
            out += _epb(e, i % 2, ns // 1000, data)
    out += _idb(e, 1, _option(9, b"\x8a", e))  # 2**-10 s
    out += _idb(e, 1, _option(9, b"\x09\x09", e))  # not one byte: microseconds
    for i, (ns, data) in enumerate(traffic[half:]):
        if i % 5 == 0:
            out += _epb(e, 3, ns * 1024 // 10**9, data)
        else:
            out += _epb(e, 4 if i % 2 else 0, ns // 1000, data)
    return out


def _odd_blocks(traffic: list[tuple[int, bytes]]) -> bytes:
    """Comments, a Simple Packet Block, unknown and custom blocks, a packet of an
    interface never described, and a second section, big-endian, with its own."""
    e = "<"
    out = _dumpcap_header(e)
    third = len(traffic) // 3
    for i, (ns, data) in enumerate(traffic[:third]):
        if i == 5:
            out += _block(SPB, struct.pack(e + "I", len(data)) + data, e)
        elif i == 9:
            out += _block(0x1234, b"not a block scapy knows", e)
            out += _block(0xBAD, struct.pack(e + "I", 32473) + b"someone else's", e)
            out += _epb(e, 7, ns, data)
        elif i % 11 == 4:
            out += _epb(e, 0, ns, data, _option(1, b"seen in the lab", e) + _option(0, b"", e))
        else:
            out += _epb(e, 0, ns, data)
    out += _statistics(e)
    b = ">"
    out += _shb(b) + _idb(b, 1, _option(9, b"\x06", b))
    out += b"".join(_epb(b, 0, ns // 1000, data) for ns, data in traffic[third:])
    return out + _statistics(b)


def _made(traffic: list[tuple[int, bytes]]) -> dict[str, bytes]:
    """The files read both ways, by what is in them."""
    dumpcap = _dumpcap(traffic)
    header = len(_dumpcap_header("<"))
    second = header + len(_epb("<", 0, *traffic[0]))  # where the second packet starts
    third = second + len(_epb("<", 0, *traffic[1]))
    # The same with a section header of 28 bytes, no options: changed in its fields.
    plain = _shb("<") + dumpcap[struct.unpack_from("<I", dumpcap, 4)[0] :]
    sections = {
        "of 4 GB": struct.pack("<II", SHB, 0xFFFFFFF0),
        "of an odd length": struct.pack("<II", SHB, 30),
        "of version 2": plain[:12] + b"\x02" + plain[13:28],
        "whose two lengths differ": plain[:24] + b"\x20\x00\x00\x00",
        "with a bad byte-order magic": plain[:8] + b"\x01\x02\x03\x04" + plain[12:28],
    }
    made = {
        f"a section header {name}": head + plain[len(head) :] for name, head in sections.items()
    }
    made |= {
        "dumpcap": dumpcap,
        "dumpcap, big-endian": _dumpcap(traffic, ">"),
        "several interfaces": _interfaces(traffic),
        "odd blocks": _odd_blocks(traffic),
        "the last block cut": dumpcap[: len(dumpcap) - len(_statistics("<")) - 30],
        "cut in the interface block": dumpcap[: header - 10],
        "cut in the section header": dumpcap[:60],
        "cut after 3 bytes of a block": dumpcap[: second + 3],
        "a section header alone": _shb("<"),
        # The second packet's length at its end differs from its start.
        "a damaged block": dumpcap[: third - 4] + b"\x01\x02\x03\x04" + dumpcap[third:],
        "a block of 4 GB": dumpcap[:second]
        + struct.pack("<II", EPB, 0xFFFFFFF0)
        + dumpcap[second:],
        "an interface block too short": dumpcap[:second]
        + _block(IDB, b"\x01\x00\x00\x00", "<")
        + dumpcap[second:],
        # An interface described before each packet: the interfaces the walk is
        # given grew as a tuple made again for each, quadratic in them.
        "an interface a packet, 3,000 times": _shb("<")
        + b"".join(
            _idb("<")
            + _epb("<", i, traffic[i % len(traffic)][0] // 1000, traffic[i % len(traffic)][1])
            for i in range(3000)
        ),
        "timestamps in seconds": _shb("<")
        + _idb("<", 1, _option(9, b"\x00", "<"))
        + b"".join(_epb("<", 0, ns, data) for ns, data in traffic[:40]),
    }
    rng = random.Random(2026)
    for n in range(12):
        made[f"damaged at random, {n}"] = _damage(dumpcap, rng)
    compressed = gzip.compress(dumpcap)
    made["dumpcap, gzip"] = compressed
    made["dumpcap, gzip cut short"] = compressed[: len(compressed) * 2 // 3]
    made["a damaged block, gzip"] = gzip.compress(made["a damaged block"])
    made["the last block cut, gzip"] = gzip.compress(made["the last block cut"])
    return made


# The names alone: the files are made once, from the traffic, by the fixture below.
MADE = list(_made([(1_700_000_000_000_000_000 + i, bytes(60)) for i in range(4)]))


Reading = tuple[Any, ...]


def _read(path: str) -> Reading:
    """Everything reading ``path`` gives: its frames (plain, and through the record walk,
    ticks left out), counts and damage, or the error that refused it."""
    try:
        capture = CaptureFile(path)
    except CaptureError as exc:
        return ("refused", str(exc))
    frames = list(capture)
    plain = (frames, capture.records, capture.truncated, capture.damage, capture.bad_timestamps)
    capture = CaptureFile(path)
    walked = [f for f in capture.frames({}, {}) if f.linktype != TICK]
    return plain, (walked, capture.records, capture.truncated, capture.damage)


def _scanned(path: str) -> Reading:
    out, err = io.StringIO(), io.StringIO()
    detector = IdentityDetector(IdentityConfig(region="GB"))
    code = scan([path], fmt="jsonl", detector=detector, out=out, err=err, jobs=1)
    return code, out.getvalue(), err.getvalue()


def _both(path: str, read: Callable[[str], Reading], monkeypatch: Any) -> Reading:
    here = read(path)
    with monkeypatch.context() as patch:
        # As the file was opened before: scapy's reader from the start, on the stream.
        patch.setattr(frames_module, "_pcapng_start", frames_module._pcapng_reader)
        reference = read(path)
    assert here == reference
    return here


def _pcapng_files() -> list[Path]:
    files = []
    for path in sorted(DATA.rglob("*")):
        if path.is_file() and path.stat().st_size < 1_000_000:
            with path.open("rb") as f:
                head = f.read(4)
            if head == b"\x0a\x0d\x0d\x0a" or (
                head[:2] == b"\x1f\x8b" and gzip.decompress(path.read_bytes())[:4] == head
            ):
                files.append(path)
    return files


DATA_FILES = _pcapng_files()


def test_there_are_pcapng_files_under_tests_data() -> None:
    assert len(DATA_FILES) >= 8


@pytest.mark.parametrize("c_walk", [True, False], ids=["C walk", "no C walk"])
@pytest.mark.parametrize("path", DATA_FILES, ids=lambda p: str(p.relative_to(DATA)))
def test_every_pcapng_under_tests_data_reads_as_scapy_reads_it(
    path: Path, c_walk: bool, monkeypatch: Any
) -> None:
    if not c_walk:
        monkeypatch.setattr(frames_module, "_pcapwalk", None)
    plain, _ = _both(str(path), _read, monkeypatch)
    assert plain[0]
    _both(str(path), _scanned, monkeypatch)


@pytest.fixture(scope="module")
def made(traffic: list[tuple[int, bytes]], tmp_path_factory: Any) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("made")
    paths = {}
    for n, (name, data) in enumerate(_made(traffic).items()):
        path = folder / f"{n}.pcapng"
        path.write_bytes(data)
        paths[name] = str(path)
    return paths


@pytest.mark.parametrize("c_walk", [True, False], ids=["C walk", "no C walk"])
@pytest.mark.parametrize("name", MADE)
def test_a_made_pcapng_reads_and_scans_as_scapy_reads_it(
    made: dict[str, str], name: str, c_walk: bool, monkeypatch: Any
) -> None:
    if not c_walk:
        monkeypatch.setattr(frames_module, "_pcapwalk", None)
    _both(made[name], _read, monkeypatch)
    _both(made[name], _scanned, monkeypatch)


class _Pipe:
    """stdin that gives the same bytes at each opening, a few at a time."""

    def __init__(self, data: bytes, seed: int) -> None:
        self._data = data
        self._seed = seed

    @property
    def buffer(self) -> io.BufferedReader:
        return io.BufferedReader(_Dribble(self._data, self._seed), buffer_size=64)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("name", ["dumpcap", "odd blocks", "the last block cut"])
def test_a_made_pcapng_from_a_pipe_a_few_bytes_at_a_time_reads_as_scapy_reads_it(
    made: dict[str, str], name: str, seed: int, monkeypatch: Any
) -> None:
    monkeypatch.setattr(sys, "stdin", _Pipe(Path(made[name]).read_bytes(), seed))
    _both("-", _read, monkeypatch)
    _both("-", _scanned, monkeypatch)


def test_the_made_files_have_what_their_names_say(
    made: dict[str, str], traffic: list[tuple[int, bytes]]
) -> None:
    """The comparisons above are not between two empty readings, and the files that
    should be read here are."""
    plain, walked = _read(made["dumpcap"])
    assert len(plain[0]) == len(walked[0]) == plain[1] == len(traffic) and not plain[2]
    code, out, err = _scanned(made["dumpcap"])
    assert code == 0 and out.count("\n") == 60 and "identities in" in err
    assert _scanned(made["dumpcap, big-endian"])[1] == out
    assert _scanned(made["dumpcap, gzip"])[1] == out
    comments = [f.comments for f in _read(made["odd blocks"])[0][0] if f.comments]
    assert comments and all(c == (b"seen in the lab",) for c in comments)
    assert {f.linktype for f in _read(made["several interfaces"])[0][0]} == {1, 101}
    damage = _read(made["a damaged block"])[0][3]
    assert damage is not None and damage.where.endswith("after packet 1")
    assert _read(made["a block of 4 GB"])[0][3] is not None
    assert _read(made["the last block cut"])[0][2:4] == (True, None)
    assert _read(made["timestamps in seconds"])[0][4] == 40
    assert _read(made["cut in the section header"]) == (
        "refused",
        f"{made['cut in the section header']}: damaged capture header "
        "(PcapNg: Invalid Section Header Block  options (too short))",
    )
    assert _read(made["a section header of 4 GB"])[1].endswith("(impossible length)")
    assert _read(made["a section header whose two lengths differ"])[1].endswith(
        "(The first SHB of the pcapng file is malformed !)"
    )
    for name in ("dumpcap", "several interfaces", "odd blocks", "a damaged block"):
        assert isinstance(CaptureFile(made[name])._reader, frames_module._PcapngHead)


IDB_OPTIONS: dict[str, list[tuple[int, bytes]]] = {
    "no options": [],
    "nanoseconds": [(9, b"\x09")],
    "microseconds": [(9, b"\x06")],
    "2 to the power of -10": [(9, b"\x8a")],
    "2 to the power of 0": [(9, b"\x80")],
    "10 to the power of -127": [(12, b"Linux"), (9, b"\x7f")],
    "the last of two": [(9, b"\x03"), (9, b"\x09")],
    "the last of two, of two bytes": [(9, b"\x09"), (9, b"\x06\x06")],
    "empty": [(9, b"")],
    "after a name": [(2, b"eth0"), (9, b"\x09"), (0, b"")],
    "after the end of options": [(0, b""), (9, b"\x03")],
}


@pytest.mark.parametrize("e", ["<", ">"], ids=["little-endian", "big-endian"])
@pytest.mark.parametrize("options", list(IDB_OPTIONS.values()), ids=list(IDB_OPTIONS))
def test_an_interface_block_says_what_scapy_reads_in_it(
    options: list[tuple[int, bytes]], e: str
) -> None:
    from scapy.utils import RawPcapNgReader

    def read_by_scapy(block: bytes) -> tuple[int, int]:
        reader = RawPcapNgReader.__new__(RawPcapNgReader)
        reader.endian = e
        reader.interfaces = []
        reader.default_options = {"tsresol": 1000000}
        reader._read_block_idb(block[8:-4], 0)
        linktype, _, read = reader.interfaces[0]
        return linktype, read["tsresol"]

    head = struct.pack(e + "HHI", 113, 0, 65535)
    block = _block(IDB, head + b"".join(_option(code, value, e) for code, value in options), e)
    assert interface(block, e == ">") == read_by_scapy(block)
    # An option that runs past the block, after them.
    overrun = _block(IDB, head + block[16:-4] + struct.pack(e + "HH", 9, 9) + b"\x03", e)
    assert interface(overrun, e == ">") == read_by_scapy(overrun)


DUMPCAP_REAL = DATA / "pcaps" / "zeek" / "cooper-grill-dvwa.pcapng"


def test_a_pcapng_as_capture_tools_write_it_is_scanned_without_importing_scapy(
    made: dict[str, str],
) -> None:
    """scapy costs a scan 55 ms to import (its manufacturer and services tables), for
    blocks read here in a few lines; a file that needs it still gets it."""
    paths = [
        str(DUMPCAP_REAL),
        made["dumpcap"],
        made["dumpcap, big-endian"],
        made["dumpcap, gzip"],
        made["the last block cut"],
    ]
    code = (
        "import sys\n"
        "from tui.cli import main\n"
        "for path in sys.argv[1:]:\n"
        "    status = main(['scan', '--jobs', '1', '--region', 'GB', path])\n"
        "    print(path, status, sorted(m for m in sys.modules if m.startswith('scapy')), "
        "file=sys.stderr)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, *paths, made["odd blocks"]],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stderr
    lines = [line for line in run.stderr.splitlines() if not line.startswith("headerwatch:")]
    assert lines[:-1] == [f"{path} 0 []" for path in paths]
    assert lines[-1].startswith(f"{made['odd blocks']} 0 [") and "'scapy.utils'" in lines[-1]
    assert "capture is cut short" in run.stderr
    assert run.stdout.count("+44") >= 4 * 20


# Blocks between packets that Wireshark numbers as frames of their own (4.0's
# wiretap returns each as a record: "PCAPNG Custom Block", "systemd Journal"), and
# blocks it does not (a Decryption Secrets Block, name resolution, statistics, a type
# it does not know).
FRAMED_BLOCKS = (
    _block(0xBAD, struct.pack("<I", 62652) + b"PCAPdroid's UID map goes here", "<"),
    _block(0x40000BAD, struct.pack("<I", 32473) + b"not to be copied", "<"),
    _block(9, b"__REALTIME_TIMESTAMP=1700000000000000\nMESSAGE=hello\n", "<"),
)
UNFRAMED_BLOCKS = (
    _block(0xA, struct.pack("<II", 0x544C534B, 4) + b"keys", "<"),
    _statistics("<"),
    _block(0x1234, b"not a block anyone knows", "<"),
)


def _tcp_source_port(frame: bytes) -> int | None:
    """The TCP source port of an Ethernet frame of IPv4 or IPv6 (no extension headers,
    as gen_capture writes them); None for any other frame (its non-HTTP noise)."""
    if frame[12:14] == b"\x08\x00" and frame[23] == 6:
        return int.from_bytes(frame[14 + (frame[14] & 15) * 4 :][:2], "big")
    if frame[12:14] == b"\x86\xdd" and frame[20] == 6:
        return int.from_bytes(frame[54:56], "big")
    return None


def _between_blocks(traffic: list[tuple[int, bytes]]) -> tuple[bytes, dict[int, int]]:
    """A dumpcap file with a block of the two kinds above after every fourth packet,
    and the frame number (Wireshark's) of each client port's first packet."""
    out = _dumpcap_header("<")
    number = 0
    first: dict[int, int] = {}
    for i, (ns, data) in enumerate(traffic):
        out += _epb("<", 0, ns, data)
        number += 1
        sport = _tcp_source_port(data)
        if sport is not None:
            first.setdefault(sport, number)
        if i % 4 == 1:
            out += FRAMED_BLOCKS[i // 4 % 3] + UNFRAMED_BLOCKS[i // 4 % 3]
            number += 1
    return out, first


def _flows(path: Path) -> dict[int, int]:
    code, out, err = _scanned(str(path))
    assert code == 0, err
    records = [json.loads(line) for line in out.splitlines()]
    assert records
    return {r["sport"]: r["flow"] for r in records}


@pytest.fixture
def between(traffic: list[tuple[int, bytes]], tmp_path: Path) -> tuple[Path, dict[int, int]]:
    """:func:`_between_blocks` written to a file: its path, and its first frames."""
    data, first = _between_blocks(traffic)
    path = tmp_path / "blocks.pcapng"
    path.write_bytes(data)
    return path, first


def test_a_request_names_the_frame_wireshark_numbers_past_custom_and_journal_blocks(
    between: tuple[Path, dict[int, int]],
) -> None:
    # PCAPdroid writes its UID map as a Custom Block: frame numbers that skip it sent
    # a reader checking the evidence in Wireshark (Ctrl-G) to the wrong packet.
    path, first = between
    flows = _flows(path)
    assert flows == {sport: first[sport] for sport in flows}
    assert max(flows.values()) > len(flows)  # the blocks pushed the numbers on


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
def test_the_frame_numbers_past_custom_and_journal_blocks_are_tsharks(
    between: tuple[Path, dict[int, int]],
) -> None:
    path, _ = between
    shown = subprocess.run(
        ["tshark", "-r", str(path), "-T", "fields", "-e", "frame.number", "-e", "tcp.srcport"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    first: dict[int, int] = {}
    for line in shown.splitlines():
        number, _, sport = line.partition("\t")
        if sport:
            first.setdefault(int(sport), int(number))
    flows = _flows(path)
    assert flows == {sport: first[sport] for sport in flows}
