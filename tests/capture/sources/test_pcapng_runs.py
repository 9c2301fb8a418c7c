"""A pcapng file's simple packet blocks go through the C record walk in runs
(``CaptureFile._pcapng_runs``): what a scan makes of the file must not change.

The reference is scapy's reader alone (the runs off: ``_pcapwalk`` None, as where the
extension was not built). Runs stop at any block that is not simple (an interface
block in the middle, a comment, a timestamp resolution the walk has not, damage, a
cut) and scapy goes on from there, so the files here have all of those.
"""

from __future__ import annotations

import gzip
import io
import random
import struct
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capture.formats.jsonl import dumps
from capture.formats.pcapng import PcapngWriter
from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.model import RequestSeen
from capture.pipeline import Pipeline
from capture.sources import frames as frames_module
from capture.sources.frames import CaptureFile, Frame
from tests.capture.sources.test_pcapwalk import _Dribble
from tests.capture.test_scan_jobs import gen_capture
from tests.packets.writer import write_pcap

pytestmark = pytest.mark.skipif(
    frames_module._pcapwalk is None, reason="the C record walk (_pcapwalk) was not built"
)

Scan = tuple[list[bytes], dict[str, int], int, bool]


def _scan(open_capture: Callable[[], CaptureFile]) -> Scan:
    """The records a scan writes, its counters, the records read, and whether the
    capture was cut."""
    capture = open_capture()
    pipeline = Pipeline(IdentityDetector(IdentityConfig(region="GB")), responses=False)
    events = [*pipeline.run_capture(capture), *pipeline.flush()]
    lines = [dumps(e.record) for e in events if isinstance(e, RequestSeen)]
    return lines, pipeline.counters(), capture.records, capture.truncated


def _both(open_capture: Callable[[], CaptureFile], monkeypatch: Any) -> Scan:
    with_runs = _scan(open_capture)
    with monkeypatch.context() as patch:
        patch.setattr(frames_module, "_pcapwalk", None)
        reference = _scan(open_capture)
    assert with_runs == reference
    return with_runs


def _pcapng(frames: list[tuple[float, bytes]], rng: random.Random | None = None) -> bytes:
    """``frames`` as pcapng, as the session writer writes them; with ``rng``, some with
    a nanosecond timestamp (a second interface, its block in the middle of the file)
    and some with a comment."""
    out = io.BytesIO()
    with PcapngWriter(out) as writer:
        for ts, data in frames:
            comments: tuple[str, ...] = ()
            if rng is not None:
                roll = rng.random()
                if roll < 0.01:
                    ts += 1e-9
                elif roll < 0.02:
                    comments = ("seen in the lab",)
            writer.write(Frame(ts, 1, data), comments)
    return out.getvalue()


def _from_bytes(tmp_path: Path, data: bytes) -> Callable[[], CaptureFile]:
    path = tmp_path / "runs.pcapng"
    path.write_bytes(data)
    return lambda: CaptureFile(str(path))


@pytest.fixture(scope="module")
def mixed() -> list[tuple[float, bytes]]:
    """Some 1,200 requests of the ad mix, IPv6 and VLAN connections among them: a few
    megabytes, so that runs meet the reads' ends."""
    frames = gen_capture.frames(1200, 150, bodies="mid", traffic="ad")
    # Microseconds, as a classic pcap holds them: the two forms then say the same.
    return [(round(ts, 6), data) for ts, data in frames]


def test_a_pcapng_file_scans_as_its_classic_pcap_form_does(
    mixed: list[tuple[float, bytes]], tmp_path: Path, monkeypatch: Any
) -> None:
    classic = tmp_path / "classic.pcap"
    write_pcap(str(classic), mixed)
    lines, counters, records, truncated = _both(_from_bytes(tmp_path, _pcapng(mixed)), monkeypatch)
    assert len(lines) == 1200 and records == len(mixed) and not truncated
    assert (lines, counters) == _scan(lambda: CaptureFile(str(classic)))[:2]


def test_interface_blocks_and_comments_in_the_middle_hand_over_and_back(
    mixed: list[tuple[float, bytes]], tmp_path: Path, monkeypatch: Any
) -> None:
    data = _pcapng(mixed, random.Random(7))
    assert data.count(b"seen in the lab") > 10
    lines, _, records, _ = _both(_from_bytes(tmp_path, data), monkeypatch)
    assert len(lines) == 1200 and records == len(mixed)


def test_most_records_of_a_pcapng_file_are_passed_over_in_the_reader(
    mixed: list[tuple[float, bytes]], tmp_path: Path
) -> None:
    """Its acknowledgements and response bodies, as a classic pcap's: only the
    frames reassembly needs reach the pipeline."""
    capture = _from_bytes(tmp_path, _pcapng(mixed))()
    pipeline = Pipeline(responses=False)
    frames = capture.frames
    counted = []

    def counting(*args: Any) -> Any:
        for frame in frames(*args):
            counted.append(frame.linktype)
            yield frame

    capture.frames = counting  # type: ignore[method-assign]
    assert sum(1 for e in pipeline.run_capture(capture) if isinstance(e, RequestSeen)) == 1200
    assert capture.records == len(mixed)
    assert len([t for t in counted if t != frames_module.TICK]) < len(mixed) / 2


@pytest.mark.parametrize("chunk", [5, 37, 500, 4096, 65536])
def test_blocks_that_straddle_the_reads_scan_as_the_classic_pcap_does(
    mixed: list[tuple[float, bytes]], tmp_path: Path, monkeypatch: Any, chunk: int
) -> None:
    # Each read's first block is walked alone and the read where it lies (_straddled):
    # a block's lengths cut by the read (chunk 5), blocks longer than a read (37, 500),
    # many reads a megabyte's worth (4096); interface blocks and comments among them.
    classic = tmp_path / "classic.pcap"
    part = mixed[:3000]
    write_pcap(str(classic), part)
    monkeypatch.setattr(frames_module, "_CHUNK", chunk)
    lines, counters, records, truncated = _scan(_from_bytes(tmp_path, _pcapng(part)))
    assert records == len(part) and not truncated
    assert (lines, counters) == _scan(lambda: CaptureFile(str(classic)))[:2]
    varied = _pcapng(part, random.Random(chunk))
    assert _both(_from_bytes(tmp_path, varied), monkeypatch)[2] == len(part)


def test_a_straddling_block_is_walked_alone_and_the_read_where_it_lies() -> None:
    size = (40).to_bytes(4, "little")
    block = b"\x06\x00\x00\x00" + size + b"x" * 28 + size
    rest, more = block[:10], block[10:] + b"next read"
    assert frames_module._straddled(rest, more, "little") == (block, 0, (more, 30))
    # The lengths themselves cut: read from both sides.
    assert frames_module._straddled(block[:5], block[5:] + b"!", "little")[0] == block
    # A block longer than the read, or a length no block has: joined whole, as ever.
    assert frames_module._straddled(rest, block[10:20], "little") == (rest + block[10:20], 0, None)
    bad = block[:4] + (8).to_bytes(4, "little")
    assert frames_module._straddled(bad, b"y" * 50, "little") == (bad + b"y" * 50, 0, None)
    assert frames_module._straddled(b"", more, "little") == (more, 0, None)


@pytest.mark.parametrize("seed", range(6))
def test_a_pcapng_file_cut_anywhere_scans_as_scapy_reads_it(
    mixed: list[tuple[float, bytes]], tmp_path: Path, monkeypatch: Any, seed: int
) -> None:
    rng = random.Random(seed)
    data = _pcapng(mixed[:3000], rng)
    cut = data[: rng.randrange(200, len(data))]
    _, _, _, truncated = _both(_from_bytes(tmp_path, cut), monkeypatch)
    assert truncated or cut == data


def test_a_gzip_pcapng_cut_short_after_a_hand_back_keeps_every_packet_before_the_cut(
    mixed: list[tuple[float, bytes]], tmp_path: Path, monkeypatch: Any
) -> None:
    """After scapy's reader takes a block, the runs read on through the bytes put back
    in front of the stream: a read there of a megabyte, where the gzip stream ends,
    failed whole, and the packets in it before the end were lost."""
    compressed = gzip.compress(_pcapng(mixed, random.Random(3)))
    cut = compressed[: len(compressed) * 2 // 3]
    lines, _, records, truncated = _both(_from_bytes(tmp_path, cut), monkeypatch)
    assert truncated and records > len(mixed) / 2 and len(lines) > 600


@pytest.mark.parametrize("seed", range(4))
def test_a_pcapng_pipe_read_a_few_bytes_at_a_time_scans_the_same(
    mixed: list[tuple[float, bytes]], monkeypatch: Any, seed: int
) -> None:
    data = _pcapng(mixed[:4000], random.Random(seed))

    def open_capture() -> CaptureFile:
        stdin = io.TextIOWrapper(io.BufferedReader(_Dribble(data, seed), buffer_size=64))
        monkeypatch.setattr(sys, "stdin", stdin)
        return CaptureFile("-")

    lines, _, records, truncated = _both(open_capture, monkeypatch)
    assert lines and records == 4000 and not truncated


def _epb(
    interface: int, units: int, data: bytes, big: bool, options: bytes = b"", length: int = 0
) -> bytes:
    """An Enhanced Packet Block; ``length`` in place of its own where given (damage)."""
    e = ">" if big else "<"
    body = struct.pack(e + "IIIII", interface, units >> 32, units & 0xFFFFFFFF, len(data), 60)
    body += data + b"\0" * (-len(data) % 4) + options
    size = length or 12 + len(body)
    return struct.pack(e + "II", 6, size) + body + struct.pack(e + "I", size)


@st.composite
def _blocks(draw: st.DrawFn) -> tuple[bytes, bool, tuple[tuple[int, int], ...]]:
    """Enhanced Packet Blocks of a few interfaces, some with options, damaged lengths,
    other block types or stamps past 2106, and the bytes cut anywhere."""
    big = draw(st.booleans())
    interfaces = tuple(
        draw(
            st.lists(
                st.tuples(
                    st.sampled_from([1, 101, 113]), st.sampled_from([10**6, 10**9, 10**3, 2**10])
                ),
                min_size=1,
                max_size=3,
            )
        )
    )
    out = b""
    for _ in range(draw(st.integers(0, 12))):
        roll = draw(st.integers(0, 19))
        data = draw(st.binary(max_size=70))
        interface = draw(st.integers(0, len(interfaces)))
        units = draw(
            st.sampled_from([0, 1_700_000_000_123_456, 1_700_000_000_123_456_789, 1 << 63])
        )
        if roll == 0:
            out += _epb(interface, units, data, big, options=b"\x01\x00\x02\x00hi\0\0\0\0\0\0")
        elif roll == 1:
            out += _epb(interface, units, data, big, length=draw(st.integers(0, 200)))
        elif roll == 2:
            out += struct.pack((">" if big else "<") + "II", 1, 20) + b"\0" * 12
        else:
            out += _epb(interface, units, data, big)
    cut = draw(st.integers(0, len(out)))
    return out[:cut], big, interfaces


@settings(max_examples=500, deadline=None)
@given(blocks=_blocks(), start=st.integers(0, 40))
def test_the_c_epb_span_cuts_what_the_python_run_cuts_and_its_walk_gives_the_runs_frames(
    blocks: tuple[bytes, bool, tuple[tuple[int, int], ...]], start: int
) -> None:
    data, big, interfaces = blocks
    pos = min(start, len(data)) if start % 5 == 0 else 0
    walk = frames_module._pcapwalk
    assert walk is not None
    run, end, kind, why = frames_module.epb_run_py(data, pos, big, interfaces)
    assert walk.epb_span(data, pos, big, interfaces) == (end, kind, why)
    if kind is None:
        return
    linktype, per_second = kind

    class Owner:
        records = 0

    def walked(
        read: Callable[[int], bytes], endian: bool, span: tuple[bytes, int, int] | None = None
    ) -> list[Any]:
        owner = Owner()
        frames = list(
            walk.Records(
                read, endian, per_second, linktype, None, None, 0, 1, owner, Frame, EOFError,
                False, None, None, None, span,
            )
        )  # fmt: skip
        return [*frames, owner.records]

    # Where they lie, the blocks walk as the classic records the reference rewrote them
    # as (little-endian, whatever the file's order): the same frames, stamps and count.
    in_place = walked(_never_read, big, span=(data, pos, end))
    assert in_place == walked(io.BytesIO(run).read, False)
    assert in_place[-1] == len(in_place) - 1 > 0


def test_a_span_of_blocks_epb_span_would_not_pass_is_refused_not_walked_forever() -> None:
    """The walk of a span trusts epb_span's checks; a span made another way whose block
    says a length shorter than its packet (0 here: no step forward) is an error."""
    walk = frames_module._pcapwalk
    assert walk is not None
    block = struct.pack("<IIIIIII", 6, 0, 0, 0, 0, 4, 4) + b"\0" * 8

    class Owner:
        records = 0

    records = walk.Records(
        _never_read, False, 1_000_000, 1, None, None, 0, 1, Owner(), Frame, EOFError,
        False, None, None, None, (block, 0, len(block)),
    )  # fmt: skip
    with pytest.raises(ValueError, match="epb_span did not find"):
        list(records)


def _never_read(size: int) -> bytes:
    raise AssertionError("a walk of blocks where they lie reads nothing")
