"""The record walk in C (``capture/sources/_pcapwalk.c``) against the one in Python.

``capture.sources.frames`` walks classic-pcap records in C when the extension was built
at install time, in Python otherwise. Both must give the same frames, ticks and
record counts at every frame, the same skip-table updates, and the same verdict
on a cut file, whatever the input and however the reads cut it. Each case runs
both walks on the same bytes and compares everything they give.
"""

from __future__ import annotations

import gzip
import io
import random
import struct
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capture.formats.jsonl import dumps
from capture.http.stream import first_head_settles
from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.model import RequestSeen
from capture.net.decode import ACK, FIN, RST, SYN, Decoder, Segment, plain_segment, plain_tcp
from capture.net.shard import Shard
from capture.pipeline import Pipeline
from capture.sources import frames as frames_module
from capture.sources.frames import SEGMENT, TICK, VERDICT, CaptureFile, Damage
from tests.capture.sources.test_damaged_captures import PCAP_MAGICS, _corpus, _damage
from tests.capture.test_property import CLIENT, SERVER, client_segments, requests
from tests.capture.test_scan_jobs import gen_capture
from tests.packets.craft import tcp_frame
from tests.packets.writer import write_pcap

# .ci/run fails when the extension is not built, so this never skips there.
pytestmark = pytest.mark.skipif(
    frames_module._pcapwalk is None,
    reason="capture.sources._pcapwalk is not built (no C compiler when headerwatch was installed)",
)

Trace = tuple[list[tuple[Any, ...]], bool, int, dict[bytes, float]]


class _Dribble(io.RawIOBase):
    """A pipe that hands out a few bytes at a time, in sizes drawn from ``seed``."""

    def __init__(self, data: bytes, seed: int) -> None:
        self._data = memoryview(data)
        self._pos = 0
        self._rng = random.Random(seed)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self._rng.choice((1, 3, 7, 16, 17, 100, 1500, 70000)))
        piece = self._data[self._pos : self._pos + n]
        buffer[: len(piece)] = piece
        self._pos += len(piece)
        return len(piece)


def _skip_policy(skip: dict[bytes, bool | int], data: bytes | Segment, probe: bool) -> None:
    """Change the skip table after a frame, as reassembly does, by the frame's bytes
    (or its segment, the same key and sequence number); with ``probe``, some
    directions become probed at the frame's sequence number."""
    if isinstance(data, Segment):
        key = data.src + data.dst + data.sport.to_bytes(2, "big") + data.dport.to_bytes(2, "big")
        seq = data.seq
    elif (where := plain_tcp(data, 0, len(data))) is not None:
        key = data[where[0] : where[1]]
        seq = int.from_bytes(data[where[2] + 4 : where[2] + 8], "big")
    elif len(data) >= 54:  # what an IPv4 key would be: a frame of any other shape
        key = data[26:38]
        seq = int.from_bytes(data[38:42], "big")
    else:
        return
    roll = (seq & 0xFF) % (4 if probe else 3)  # a byte of the sequence number
    if roll == 2:
        skip.pop(key, None)
    elif roll == 3:
        skip[key] = seq
    else:
        skip[key] = bool(roll)


def _walk(
    open_capture: Callable[[], CaptureFile],
    in_c: bool,
    table: bool,
    shard: Shard | None,
    monkeypatch: Any,
    probe: bool = False,
    start: dict[bytes, bool | int] | None = None,
    segments: bool = False,
    quiet: bool = False,
    foreign: set[Any] | None = None,
) -> tuple[Trace, Damage | None]:
    """Everything a walk gives: each frame with the record count when it came,
    whether the capture was cut, the final count, and the times noted in ``touched``;
    and the damage it met, if any (where, why, bytes left unread).
    With ``quiet``, the verdicts the walk settles without a frame are read before each
    frame (as a scan reads them) and noted as a ``("quiet", keys)`` entry. ``foreign``:
    given to the walk as is (see CaptureFile.frames)."""
    with monkeypatch.context() as patch:
        if not in_c:
            patch.setattr(frames_module, "_pcapwalk", None)
        capture = open_capture()
        skip: dict[bytes, bool | int] | None = dict(start or {}) if table else None
        touched: dict[bytes, float] = {}
        seen: list[tuple[Any, ...]] = []
        settles = first_head_settles if probe else None
        verdicts: list[bytes] | None = [] if quiet else None
        frames = capture.frames(
            skip, touched if table else None, shard, settles, segments, verdicts, foreign
        )
        for frame in frames:
            if verdicts:
                seen.append(("quiet", tuple(verdicts)))
                verdicts.clear()
            seen.append((*frame, capture.records, type(frame).__name__))
            if skip is not None and (frame.linktype >= 0 or frame.linktype == SEGMENT):
                _skip_policy(skip, frame.data, probe)
        if verdicts:
            seen.append(("quiet", tuple(verdicts)))
        return (seen, capture.truncated, capture.records, touched), capture.damage


def _both(
    open_capture: Callable[[], CaptureFile],
    monkeypatch: Any,
    table: bool = True,
    shard: Shard | None = None,
    probe: bool = False,
    start: dict[bytes, bool | int] | None = None,
    segments: bool = False,
    quiet: bool = False,
    foreign: set[Any] | None = None,
) -> Trace:
    args = (table, shard, monkeypatch, probe, start, segments, quiet, foreign)
    in_c, damage = _walk(open_capture, True, *args)
    assert (in_c, damage) == _walk(open_capture, False, *args)
    if segments:
        # Segment objects compare by value, and as the reference decoder reads the frame.
        for frame in in_c[0]:
            if frame[1] == SEGMENT:
                assert type(frame[2]) is Segment
    return in_c


def _from_bytes(tmp_path: Path, data: bytes) -> Callable[[], CaptureFile]:
    path = tmp_path / "walk.pcap"
    path.write_bytes(data)
    return lambda: CaptureFile(str(path))


def _from_pipe(data: bytes, seed: int, monkeypatch: Any) -> Callable[[], CaptureFile]:
    def open_capture() -> CaptureFile:
        stdin = io.TextIOWrapper(io.BufferedReader(_Dribble(data, seed), buffer_size=64))
        monkeypatch.setattr(sys, "stdin", stdin)
        return CaptureFile("-")

    return open_capture


def _pcap(records: list[tuple[int, int, bytes]], endian: str = "<", nano: bool = False) -> bytes:
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = [struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, 65535, 1)]
    for sec, frac, data in records:
        out.append(struct.pack(endian + "IIII", sec, frac, len(data), len(data)) + data)
    return b"".join(out)


def _tcp(src_port: int, payload: bytes = b"", flags: int = 0x10) -> bytes:
    """An Ethernet/IPv4/TCP frame from 10.0.0.1:``src_port`` to 10.0.0.2:80."""
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40 + len(payload), 1, 0, 64, 6, 0,
                     bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))  # fmt: skip
    tcp = struct.pack("!HHIIBBHHH", src_port, 80, 7, 9, 0x50, flags, 1024, 0, 0)
    return b"\x00" * 12 + b"\x08\x00" + ip + tcp + payload


def test_every_classic_pcap_of_the_corpus_walks_the_same(
    pcaps_dir: Path, tmp_path: Path, monkeypatch: Any
) -> None:
    corpus = [data for _, data in _corpus(pcaps_dir) if data[:4] in PCAP_MAGICS]
    assert len(corpus) > 50
    frames = 0
    for data in corpus:
        for table in (True, False):
            frames += len(_both(_from_bytes(tmp_path, data), monkeypatch, table)[0])
    assert frames > 2_000


def test_every_classic_pcap_of_the_corpus_walks_the_same_when_probed(
    pcaps_dir: Path, tmp_path: Path, monkeypatch: Any
) -> None:
    """Probed directions (an int in the table) too: the same frames, verdicts included."""
    corpus = [data for _, data in _corpus(pcaps_dir) if data[:4] in PCAP_MAGICS]
    verdicts = 0
    for data in corpus:
        seen = _both(_from_bytes(tmp_path, data), monkeypatch, probe=True)[0]
        verdicts += sum(1 for frame in seen if frame[1] == VERDICT)
    assert verdicts > 5  # the probe did settle some directions


def test_every_classic_pcap_of_the_corpus_walks_the_same_when_verdicts_are_quiet(
    pcaps_dir: Path, tmp_path: Path, monkeypatch: Any
) -> None:
    """With a list for verdicts, both walks settle the same probes without a frame (and
    the same with one), and leave the same table behind."""
    corpus = [data for _, data in _corpus(pcaps_dir) if data[:4] in PCAP_MAGICS]
    quiet = 0
    for data in corpus:
        seen = _both(_from_bytes(tmp_path, data), monkeypatch, probe=True, quiet=True)[0]
        quiet += sum(len(entry[1]) for entry in seen if entry[0] == "quiet")
    assert quiet > 5  # some settled without a frame


def test_a_probe_is_settled_quietly_only_where_the_other_direction_is_in_the_table(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """The key goes to the list and its entry becomes True when the other direction
    has an entry; without one, a VERDICT frame comes as without a list."""
    ok = _tcp(40000, b"HTTP/1.1 200 OK\r\n\r\n")
    other = _tcp(40001, b"HTTP/1.1 200 OK\r\n\r\n")
    key, other_key = ok[26:38], other[26:38]
    peer = key[4:8] + key[:4] + key[10:12] + key[8:10]
    start: dict[bytes, bool | int] = {key: 7, peer: False, other_key: 7}
    for in_c in (True, False):
        with monkeypatch.context() as patch:
            if not in_c:
                patch.setattr(frames_module, "_pcapwalk", None)
            capture = CaptureFile(str(_write(tmp_path, _pcap([(1, 0, ok), (1, 1, other)]))))
            skip, verdicts = dict(start), []
            kinds = [
                f.linktype
                for f in capture.frames(skip, {}, None, first_head_settles, False, verdicts)
            ]
        assert kinds == [TICK, VERDICT]
        assert verdicts == [key]
        assert skip == {key: True, peer: False, other_key: 7}


def _write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "quiet.pcap"
    path.write_bytes(data)
    return path


_PIECES = [
    b"HTTP/1.1 ", b"http/1.0 ", b"HTTP/", b"HTTPS", b"200 OK", b"100 Continue", b"101 x",
    b"1", b"2", b" ", b"\r\n", b"\n", b"\r", b"Server: x", b"x-headerwatch-received: e30",
    b"X-HeaderWatch-Received:", b"x-headerwatch-receive", b":", b"\x16\x03\x01", b"\xff",
]  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pieces=st.lists(st.sampled_from(_PIECES), min_size=1, max_size=14))
def test_the_c_probe_settles_exactly_where_the_python_one_does(pieces: list[bytes]) -> None:
    """A probed direction's first segment (its sequence number in the table) is passed
    over with a VERDICT frame by both walks exactly when ``first_head_settles`` says."""
    payload = b"".join(pieces)
    frame = _tcp(40000, payload)
    data = _pcap([(1, 0, frame), (1, 1, _tcp(40000, payload))])
    start: dict[bytes, bool | int] = {frame[26:38]: 7}  # _tcp's sequence number
    with pytest.MonkeyPatch.context() as monkeypatch:
        seen = _both(_from_pipe(data, 1, monkeypatch), monkeypatch, probe=True, start=start)[0]
        key = frame[26:38]
        start[key[4:8] + key[:4] + key[10:12] + key[8:10]] = False  # the other direction
        quiet = _both(
            _from_pipe(data, 1, monkeypatch), monkeypatch, probe=True, start=start, quiet=True
        )[0]
    kinds = [f[1] for f in seen if f[1] != TICK]
    settled = first_head_settles(payload)
    assert kinds[0] == (VERDICT if settled else 1)
    assert (quiet[0][0] == "quiet" or quiet[1][0] == "quiet") == settled


def test_a_probed_segment_is_looked_at_only_whole_and_in_place(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """Not at another sequence number, not cut by the snap length, and not with
    SYN, FIN or RST: those are decoded as any other segment."""
    ok = b"HTTP/1.1 200 OK\r\n\r\n"
    cut = _tcp(40001, ok)[:-3]
    records = [(1, 0, _tcp(40000, ok)), (1, 1, cut), (1, 2, _tcp(40002, ok, flags=0x11))]
    records.append((1, 3, _tcp(40003, ok)))
    start: dict[bytes, bool | int] = {r[2][26:38]: 7 for r in records[:3]}
    start[records[3][2][26:38]] = 8  # another sequence number
    seen = _both(_from_bytes(tmp_path, _pcap(records)), monkeypatch, probe=True, start=start)[0]
    assert [f[1] for f in seen if f[1] != TICK] == [VERDICT, 1, 1, 1]


def test_a_shard_passes_over_the_other_shards_connections(
    pcaps_dir: Path, tmp_path: Path, monkeypatch: Any
) -> None:
    """In a split scan each walk passes over the plain TCP connections (IPv4 and IPv6)
    of the other processes, and both walks agree on which those are (capture.net.shard's
    hash)."""
    corpus = [data for _, data in _corpus(pcaps_dir) if data[:4] in PCAP_MAGICS]
    corpus.append(_pcap(_shaped_records(random.Random(5), 600)))
    whole = plain = ipv6 = shares = 0
    for data in corpus:
        open_capture = _from_bytes(tmp_path, data)
        seen = _both(open_capture, monkeypatch)[0]
        whole += len(seen)
        for frame in seen:
            where = plain_tcp(frame[2], 0, len(frame[2])) if frame[1] == 1 else None
            plain += where is not None
            ipv6 += where is not None and where[1] - where[0] == 36
        for index in range(3):
            shares += len(_both(open_capture, monkeypatch, shard=Shard(index, 3))[0])
    # Each plain TCP frame goes to one shard; ticks and the rest to all three.
    assert plain > 500 and ipv6 > 50
    assert shares == plain + 3 * (whole - plain)


def test_while_no_other_shards_connection_is_tracked_its_records_pass_before_the_table(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """With ``foreign`` empty, another shard's records are passed over before the
    table is looked at (a key of theirs in it is not looked up: reassembly puts none
    there while ``foreign`` is empty); with it not empty, or not given, the table
    decides for them as for the shard's own, their close coming as a frame."""
    shard = Shard(0, 2)
    ours, theirs = (40000, 40001), (40002, 40003)  # by capture.net.shard's hash
    assert all(shard.owns_raw(_tcp(p)[26:38]) for p in ours)
    assert not any(shard.owns_raw(_tcp(p)[26:38]) for p in theirs)
    records = [(1, i, _tcp(40000 + i % 4, b"x" * (i % 2))) for i in range(12)]
    records.append((2, 0, _tcp(40002, flags=0x11)))  # their FIN
    # Their keys in the table (True: every segment without SYN, FIN or RST skipped).
    start: dict[bytes, bool | int] = {_tcp(p)[26:38]: True for p in theirs}
    open_capture = _from_bytes(tmp_path, _pcap(records))

    def frames_of(trace: Trace, ports: tuple[int, ...]) -> list[tuple[Any, ...]]:
        keys = {_tcp(p)[26:38] for p in ports}
        return [f for f in trace[0] if f[1] == 1 and f[2][26:38] in keys]

    first = _both(open_capture, monkeypatch, shard=shard, start=start, foreign=set())
    assert frames_of(first, theirs) == [] and not set(first[3]) & set(start)
    assert frames_of(first, ours)
    for foreign in (None, {"a connection"}):
        by_table = _both(open_capture, monkeypatch, shard=shard, start=start, foreign=foreign)
        assert [f[2] for f in frames_of(by_table, theirs)] == [records[-1][2]]
        assert set(start) <= set(by_table[3])  # their skipped records noted as activity
        assert frames_of(by_table, ours) == frames_of(first, ours)


_SHAPES = (("10.0.0.{}", None), ("10.0.0.{}", 7), ("fd00::{}", None), ("fd00::{}", 7))
"""Plain frames' shapes: IPv4 and IPv6, untagged and behind a VLAN tag."""


def _shaped_records(rng: random.Random, count: int) -> list[tuple[int, int, bytes]]:
    """``count`` records of many connections in every plain shape (:data:`_SHAPES`),
    both directions, with and without payload, some behind a second (802.1ad) tag."""
    records = []
    for i in range(count):
        address, vlan = rng.choice(_SHAPES)
        ends = [(address.format(rng.randrange(1, 4)), rng.randrange(1024, 1024 + 300)),
                (address.format(200), 80)]  # fmt: skip
        rng.shuffle(ends)
        (src, sport), (dst, dport) = ends
        payload = b"x" * rng.choice((0, 0, 5))
        frame = tcp_frame(src, sport, dst, dport, rng.getrandbits(32), 9, 0x10, payload, vlan)
        if vlan is not None and rng.random() < 0.3:
            frame = frame[:12] + bytes.fromhex("88a80009") + frame[12:]
        records.append((i // 500, i, frame))
    return records


def test_many_connections_interleaved_walk_the_same(tmp_path: Path, monkeypatch: Any) -> None:
    """More connections at once than the C walk keeps recent keys for (it hands out
    the key made for an earlier record when the bytes match): the same frames, table
    notes and verdicts as the reference, split or not."""
    rng = random.Random(20261204)
    records = []
    for i in range(3000):
        frame = bytearray(_tcp(rng.randrange(1024, 1024 + 900), b"x" * rng.choice((0, 0, 5))))
        frame[29] = rng.randrange(1, 4)  # a few client addresses
        if rng.random() < 0.5:  # the other direction
            frame[26:30], frame[30:34] = frame[30:34], frame[26:30]
            frame[34:36], frame[36:38] = frame[36:38], frame[34:36]
        records.append((i // 500, i, bytes(frame)))
    records += _shaped_records(rng, 3000)
    open_capture = _from_bytes(tmp_path, _pcap(records))
    for shard, foreign in ((None, None), (Shard(1, 2), set()), (Shard(0, 3), {"a connection"})):
        seen = _both(
            open_capture, monkeypatch, shard=shard, probe=True, quiet=True, foreign=foreign
        )
        assert len(seen[0]) > 300


def test_damaged_captures_walk_the_same(pcaps_dir: Path, tmp_path: Path, monkeypatch: Any) -> None:
    """Flipped bytes, holes, repeats and wild lengths: the same frames up to the same cut."""
    rng = random.Random(20261123)
    corpus = [data for _, data in _corpus(pcaps_dir) if data[:4] in PCAP_MAGICS]
    cut = damaged = 0
    for n in range(150):
        data = _damage(rng.choice(corpus), rng)
        foreign: set[Any] | None = [None, set(), {"a connection"}][n % 3]
        trace = _both(
            _from_bytes(tmp_path, data), monkeypatch, shard=Shard(n % 2, 2), foreign=foreign
        )
        cut += trace[1]
        damaged += _walk(_from_bytes(tmp_path, data), True, True, None, monkeypatch)[1] is not None
    assert cut > 30  # the damage did reach the record walk's cut-file checks
    assert damaged > 5  # and lengths no record has (said the same way by both walks)


def test_reads_that_cut_records_anywhere(pcaps_dir: Path, monkeypatch: Any) -> None:
    """A pipe that gives a few bytes at a time: every record, and every record
    header, is split across reads somewhere; gzip on the pipe too."""
    corpus = [data for _, data in _corpus(pcaps_dir) if data[:4] in PCAP_MAGICS]
    data = max(corpus, key=len)
    for seed in range(4):
        assert len(_both(_from_pipe(data, seed, monkeypatch), monkeypatch)[0]) > 100
    _both(_from_pipe(gzip.compress(data), 9, monkeypatch), monkeypatch)
    _both(_from_pipe(data[: len(data) // 2], 5, monkeypatch), monkeypatch)


@pytest.mark.parametrize("endian", ["<", ">"])
@pytest.mark.parametrize("nano", [False, True])
def test_byte_orders_resolutions_and_out_of_order_times(
    tmp_path: Path, monkeypatch: Any, endian: str, nano: bool
) -> None:
    """Both byte orders, micro- and nanosecond stamps (the latter beyond what a
    double holds exactly, so the division's rounding is compared), and records
    stamped earlier than the one before them, skipped or not."""
    fractions = (0, 1, 999_999, 123_456) if not nano else (0, 1, 999_999_999, 987_654_321)
    records = []
    for i in range(200):
        sec = 1_700_000_000 + (i // 3) - (5 if i % 17 == 0 else 0)
        records.append((sec, fractions[i % 4], _tcp(40000 + i % 5, b"x" * (i % 3))))
    seen, truncated, count, touched = _both(
        _from_bytes(tmp_path, _pcap(records, endian, nano)), monkeypatch
    )
    assert not truncated and count == 200
    assert touched and sum(1 for frame in seen if frame[1] == TICK) > 60


@pytest.mark.parametrize(
    "tail",
    [
        b"\x01\x02\x03",  # inside a record header
        struct.pack("<IIII", 1, 0, 100, 100) + b"x" * 50,  # inside a record's data
        struct.pack("<IIII", 1, 0, 0xFFFFFFFF, 100),  # a length no record has
    ],
)
def test_cut_files(tmp_path: Path, monkeypatch: Any, tail: bytes) -> None:
    data = _pcap([(1, 0, _tcp(40000)), (2, 0, _tcp(40001, b"GET"))]) + tail
    seen, truncated, count, _ = _both(_from_bytes(tmp_path, data), monkeypatch)
    assert truncated and count == 2 and len([f for f in seen if f[1] != TICK]) == 2


def test_an_empty_capture_and_a_header_only_one(tmp_path: Path, monkeypatch: Any) -> None:
    assert _both(_from_bytes(tmp_path, _pcap([])), monkeypatch) == ([], False, 0, {})


def test_stopping_early_keeps_the_count(tmp_path: Path, monkeypatch: Any) -> None:
    """A consumer that stops (Ctrl-C in the dashboard's open) still sees how far
    the walk got."""
    path = tmp_path / "ten.pcap"
    path.write_bytes(_pcap([(i, 0, _tcp(40000 + i)) for i in range(10)]))
    counts = []
    for in_c in (True, False):
        with monkeypatch.context() as patch:
            if not in_c:
                patch.setattr(frames_module, "_pcapwalk", None)
            capture = CaptureFile(str(path))
            walk: Iterator[Any] = capture.frames({}, {})
            for _ in range(7):
                next(walk)
            walk.close()  # type: ignore[attr-defined]
            counts.append(capture.records)
    assert counts[0] == counts[1] > 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sizes=st.lists(st.integers(0, 120), max_size=40),
    stamps=st.lists(st.integers(0, 4), min_size=40, max_size=40),
    cut=st.integers(0, 4000),
    seed=st.integers(0, 2**16),
    shards=st.integers(1, 3),
    foreign=st.sampled_from([None, set(), {"a connection"}]),
)
def test_any_records_cut_anywhere_read_in_any_pieces(
    sizes: list[int], stamps: list[int], cut: int, seed: int, shards: int, foreign: set[Any] | None
) -> None:
    """Records of any length (Ethernet frames and shorter), any cut, any reads; the
    shard tested first or not (``foreign`` empty or not), though the table driven
    here holds any key, other shards' too."""
    records = []
    for i, size in enumerate(sizes):
        frame = _tcp(40000 + i % 5, b"p" * size) if size >= 54 else bytes(range(size))
        records.append((stamps[i], i, frame))
    data = _pcap(records)
    data = data[: 24 + cut] if cut < len(data) - 24 else data
    with pytest.MonkeyPatch.context() as monkeypatch:
        shard = Shard(seed % shards, shards)
        _both(_from_pipe(data, seed, monkeypatch), monkeypatch, shard=shard, foreign=foreign)


def test_a_scan_writes_the_same_with_either_walk(tmp_path: Path, monkeypatch: Any) -> None:
    """The real pipeline, its skip table driven by reassembly, over a capture of
    several megabytes (so records straddle the walk's 1 MB reads)."""
    path = str(tmp_path / "mix.pcap")
    write_pcap(path, gen_capture.frames(2000, 200, bodies="mid"))
    assert Path(path).stat().st_size > 5 << 20
    outputs = []
    for in_c in (True, False):
        with monkeypatch.context() as patch:
            if not in_c:
                patch.setattr(frames_module, "_pcapwalk", None)
            pipeline = Pipeline(IdentityDetector(IdentityConfig(region="GB")), responses=False)
            events = [*pipeline.run_capture(CaptureFile(path)), *pipeline.flush()]
            lines = [dumps(e.record) for e in events if isinstance(e, RequestSeen)]
            outputs.append((lines, pipeline.counters(), pipeline.packets))
    assert len(outputs[0][0]) == 2000
    assert outputs[0] == outputs[1]


def test_a_walk_cannot_be_stepped_from_inside_its_own_step() -> None:
    """Python code that runs inside a step (here the read) must not step the same
    walk: the outer step points into the buffer the inner one would replace."""
    assert frames_module._pcapwalk is not None
    inner: list[BaseException] = []
    data = io.BytesIO(_pcap([(1, 0, _tcp(40000))])[24:])

    def read(size: int) -> bytes:
        try:
            next(walker)
        except ValueError as exc:
            inner.append(exc)
        return data.read(size)

    class Owner:
        records = 0

    walker = frames_module._pcapwalk.Records(
        read, False, 1_000_000, 1, None, None, 0, 1, Owner(), frames_module.Frame, EOFError
    )
    assert [frame.data for frame in walker] == [_tcp(40000)]
    assert inner and "already executing" in str(inner[0])


def _decoded_as_the_reference(plain: Trace, decoded: Trace) -> int:
    """``decoded`` (a walk with segments) is ``plain`` (the same walk without), each
    Ethernet/IPv4/TCP frame with nonzero MAC addresses in it replaced by what the
    reference decoder makes of it, everything else as it was; how many were."""
    assert plain[1:] == decoded[1:]
    assert len(plain[0]) == len(decoded[0])
    replaced = 0
    decoder = Decoder()
    for frame, seen in zip(plain[0], decoded[0], strict=True):
        if frame[0] == "quiet":
            assert seen == frame
            continue
        ts, linktype, data = frame[:3]
        reference = plain_segment(ts, data) if linktype == 1 else None
        if reference is not None and not data.startswith(bytes(12)):
            assert seen[1] == SEGMENT and seen[2] == reference
            assert seen[2] == decoder.decode(ts, linktype, data)
            assert (seen[0], *seen[3:]) == (frame[0], *frame[3:])
            replaced += 1
        else:
            assert seen == frame
    return replaced


def test_the_corpus_decoded_by_the_walk_is_what_the_decoder_makes_of_it(
    pcaps_dir: Path, tmp_path: Path, monkeypatch: Any
) -> None:
    """With segments, both walks give each plain TCP record (IPv4 or IPv6, VLAN tags
    or not) as the reference decoder's segment, and everything else (ticks, verdicts,
    other frames, record counts, skip-table notes, cut verdicts) as without."""
    corpus = [data for _, data in _corpus(pcaps_dir) if data[:4] in PCAP_MAGICS]
    corpus.append(_pcap(_shaped_records(random.Random(6), 800)))
    replaced = 0
    for data in corpus:
        open_capture = _from_bytes(tmp_path, data)
        plain = _both(open_capture, monkeypatch)
        decoded = _both(open_capture, monkeypatch, segments=True)
        replaced += _decoded_as_the_reference(plain, decoded)
    assert replaced > 1000


@given(
    shape=st.sampled_from(_SHAPES),
    tags=st.integers(0, 3),
    payload=st.binary(max_size=40),
    doff=st.integers(0, 15),
    length=st.one_of(st.none(), st.integers(0, 0xFFFF)),
    cut=st.integers(0, 40),
)
def test_a_plain_frame_decodes_as_the_general_path_decodes_it(
    shape: tuple[str, int | None], tags: int, payload: bytes, doff: int, length: int | None,
    cut: int,
) -> None:  # fmt: skip
    """plain_segment, the shortcut for plain frames, makes what the decoder's general
    path (each header in turn) makes of them, whatever their TCP header length, IP
    length or capture length; beyond two VLAN tags it leaves them to that path. (The
    one difference by design: an IPv4 length below both headers' minimum is taken as
    the frame's end, where the general path finds the TCP header too long.)"""
    address, _ = shape
    frame = bytearray(
        tcp_frame(address.format(1), 40000, address.format(2), 80, 7, 9, 0x18, payload)
    )
    for _ in range(tags):
        frame[12:12] = bytes.fromhex("81000007")
    net = 14 + 4 * tags
    tcp = net + (20 if address[0] == "1" else 40)
    frame[tcp + 12] = doff << 4
    if length is not None:
        frame[net + (2 if address[0] == "1" else 4) : net + (4 if address[0] == "1" else 6)] = (
            length.to_bytes(2, "big")
        )
    data = bytes(frame[: len(frame) - cut])
    fast = plain_segment(1.0, data)
    general = Decoder()._ethernet(1.0, data, 0)
    if tags > 2:
        assert fast is None
    elif address[0] == "1" and length is not None and 20 <= length < 40:
        # Not believed: the payload runs to the frame's end.
        assert fast is None or fast.payload == data[tcp + 4 * doff :]
    else:
        assert fast == general


def test_damaged_captures_decode_as_the_reference(
    pcaps_dir: Path, tmp_path: Path, monkeypatch: Any
) -> None:
    rng = random.Random(20261203)
    corpus = [data for _, data in _corpus(pcaps_dir) if data[:4] in PCAP_MAGICS]
    for n in range(60):
        data = _damage(rng.choice(corpus), rng)
        shard = Shard(n % 2, 2)
        probe, quiet = n % 3 == 0, n % 6 == 0
        plain = _both(
            _from_bytes(tmp_path, data), monkeypatch, shard=shard, probe=probe, quiet=quiet
        )
        decoded = _both(
            _from_bytes(tmp_path, data),
            monkeypatch,
            shard=shard,
            probe=probe,
            segments=True,
            quiet=quiet,
        )
        _decoded_as_the_reference(plain, decoded)


# Bytes of an Ethernet/IPv4/TCP header that decide whether and how it decodes:
# MAC addresses, ethertype, version and header length, total length, fragment
# field, protocol, data offset, flags.
_DECIDING = [0, 5, 11, 12, 13, 14, 16, 17, 20, 21, 23, 46, 47]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    payload=st.binary(max_size=80),
    changes=st.lists(st.tuples(st.sampled_from(_DECIDING), st.integers(0, 255)), max_size=4),
    cut=st.integers(0, 140),
    flags=st.sampled_from([0x10, 0x18, 0x02, 0x12, 0x11, 0x04, 0xFF]),
    seed=st.integers(0, 20),
)
def test_garbled_and_truncated_frames_decode_as_the_reference(
    payload: bytes, changes: list[tuple[int, int]], cut: int, flags: int, seed: int
) -> None:
    """Hostile frames: any header byte that matters changed, the record cut
    anywhere (shorter than the headers, inside them, inside the payload), lengths that
    lie both ways; the C walk decodes exactly the frames the reference does, to the
    same segment, and leaves the rest as bytes."""
    frame = bytearray(_tcp(40000 + seed % 3, payload, flags))
    frame[:12] = bytes(range(1, 13))
    for at, value in changes:
        frame[at] = value
    records = [(1, i, bytes(frame[: cut + i])) for i in range(3)]
    records.append((2, 0, bytes(frame)))
    data = _pcap(records)
    with pytest.MonkeyPatch.context() as monkeypatch:
        plain = _both(_from_pipe(data, seed, monkeypatch), monkeypatch)
        decoded = _both(_from_pipe(data, seed, monkeypatch), monkeypatch, segments=True)
    _decoded_as_the_reference(plain, decoded)


def test_a_scan_writes_the_same_whether_the_walk_decodes_or_not(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """The pipeline over SEGMENT frames (its scan path) against the pipeline over
    frames it decodes itself (the reference path), responses read or not."""
    path = str(tmp_path / "mix.pcap")
    write_pcap(path, gen_capture.frames(600, 40, bodies="small", traffic="ad"))
    for responses in (False, True):
        decoded = _scan(path, True, responses)
        assert len(decoded[0]) == 600
        assert decoded == _scan(path, False, responses)


_FRAMES = CaptureFile.frames


def _undecoded(self: CaptureFile, *args: Any, segments: bool = False) -> Iterator[Any]:
    """:meth:`CaptureFile.frames` as it was before the walk decoded: frames only."""
    return _FRAMES(self, *args)


def _scan(path: str, decoded: bool, responses: bool) -> tuple[list[str], Any, int]:
    """The JSONL lines, counters and frame count of a scan of ``path``: its segments
    decoded by the walk (the scan's way), or by the pipeline's decoder (the reference)."""
    with pytest.MonkeyPatch.context() as patch:
        if not decoded:
            patch.setattr(CaptureFile, "frames", _undecoded)
        pipeline = Pipeline(IdentityDetector(IdentityConfig(region="GB")), responses=responses)
        events = [*pipeline.run_capture(CaptureFile(path)), *pipeline.flush()]
        lines = [dumps(e.record) for e in events if isinstance(e, RequestSeen)]
        return lines, pipeline.counters(), pipeline.packets


def _frame(seg: Segment) -> bytes:
    """The Ethernet/IPv4/TCP frame of ``seg`` (nonzero MAC addresses)."""
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40 + len(seg.payload), 1, 0, 64, 6, 0,
                     seg.src, seg.dst)  # fmt: skip
    tcp = struct.pack("!HHIIBBHHH", seg.sport, seg.dport, seg.seq, seg.ack, 0x50, seg.flags,
                      1024, 0, 0)  # fmt: skip
    return bytes(range(1, 13)) + b"\x08\x00" + ip + tcp + seg.payload


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    reqs=st.lists(requests(), min_size=1, max_size=4),
    cuts=st.lists(st.integers(0, 10_000), max_size=12),
    dup_cuts=st.lists(st.integers(0, 10_000), max_size=4),
    dup_count=st.integers(0, 3),
    order=st.randoms(use_true_random=False),
    end=st.sampled_from(["fin", "rst", "none"]),
    answered=st.booleans(),
)
def test_reordered_retransmitted_and_closed_streams_scan_the_same_decoded_by_the_walk(
    reqs: list[bytes],
    cuts: list[int],
    dup_cuts: list[int],
    dup_count: int,
    order: random.Random,
    end: str,
    answered: bool,
) -> None:
    """Keep-alive and pipelined requests, cut anywhere, reordered, retransmitted with
    other cuts (overlapping), a response, then FIN, RST or nothing: the scan over
    the walk's SEGMENT frames writes what the scan over frames it decodes writes."""
    isn = 1000
    syn = Segment(0.5, CLIENT, 40000, SERVER, 80, isn, 0, SYN, b"")
    synack = Segment(0.6, SERVER, 80, CLIENT, 40000, 5000, isn + 1, SYN | ACK, b"")
    stream = b"".join(reqs)
    pieces = client_segments(stream, isn, cuts)
    retransmitted = client_segments(stream, isn, dup_cuts)
    pieces += [retransmitted[i % len(retransmitted)] for i in range(dup_count)]
    order.shuffle(pieces)
    segments = [syn, synack, *pieces]
    after = (isn + 1 + len(stream)) & 0xFFFFFFFF
    if answered:
        body = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        segments.append(Segment(2.0, SERVER, 80, CLIENT, 40000, 5001, after, ACK, body))
    if end != "none":
        flags = (FIN | ACK) if end == "fin" else RST
        segments.append(Segment(3.0, CLIENT, 40000, SERVER, 80, after, 5001, flags, b""))
    records = [(1_700_000_000 + i // 4, i, _frame(seg)) for i, seg in enumerate(segments)]
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "p.pcap")
        Path(path).write_bytes(_pcap(records))
        outputs = [_scan(path, decoded, answered) for decoded in (True, False)]
    assert len(outputs[0][0]) == len(reqs)
    assert outputs[0] == outputs[1]
