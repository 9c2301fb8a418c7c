"""IP fragment reassembly: the policy of capture/net/fragments.py, and requests carried
in IPv4 and IPv6 fragments found as tshark finds them (its default reassembly)."""

from __future__ import annotations

import base64
import random
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.net.decode import IP_OVERLAP, Decoder
from capture.net.fragments import OVERLAP_NOTE, PIECE_COST, Fragments
from capture.net.shard import Shard
from capture.pipeline import Pipeline
from capture.sources import frames as frames_module
from capture.sources.frames import CaptureFile
from tests.helpers import records_of
from tests.packets.craft import Conversation, ip_fragment, ip_fragments, tcp_frame
from tests.packets.writer import write_pcap

TSHARK = shutil.which("tshark")
needs_tshark = pytest.mark.skipif(
    TSHARK is None, reason="tshark is not installed (apt-get install tshark): the cross-check"
)

REQUEST = (
    b"GET /fragmented/page?x=1 HTTP/1.1\r\nHost: frag.example\r\nX-MSISDN: 447700900123\r\n"
    b"User-Agent: " + b"a" * 300 + b"\r\n\r\n"
)
ADDRESSES = {"v4": ("10.0.0.1", "10.0.0.2"), "v6": ("2001:db8::1", "2001:db8::2")}
ORDERS = ("in order", "reversed", "overlapping", "overlapping, changed")


def fragmented_capture(family: str, order: str) -> list[tuple[float, bytes]]:
    """A connection whose request is one TCP segment sent in 128-byte IP fragments."""
    client, server = ADDRESSES[family]
    conv = Conversation(client, 40000, server, 80, 1000.0, mss=4000)
    frames = conv.handshake()
    ((ts, segment),) = conv.send(True, REQUEST)
    pieces = ip_fragments(segment, 128, 0x1234)
    if order == "reversed":
        pieces.reverse()
    elif order.startswith("overlapping"):
        # Bytes 64-320 once more, after the first fragment: they cover its end.
        again = segment[(34 if family == "v4" else 54) :][64:320]
        if order.endswith("changed"):
            again = again.replace(b"447700900123", b"000000000000")
            again = again.replace(b"frag.example", b"evil.example")
        pieces.insert(1, ip_fragment(segment, 64, 256, True, 0x1234, again))
    frames += [(ts + i * 0.0001, piece) for i, piece in enumerate(pieces)]
    frames += conv.send(False, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    return frames + conv.close()


def scan(path: str, shard: Shard | None = None) -> tuple[list[tuple[str, str, str]], Pipeline]:
    """(uri, host, MSISDN header) of each request, as ``scan`` reads the file."""
    pipeline = Pipeline(IdentityDetector(IdentityConfig()), responses=False, shard=shard)
    events = [*pipeline.run_capture(CaptureFile(path)), *pipeline.flush()]
    found = [
        (r.request.uri, r.request.host or "", dict(r.request.headers).get("X-MSISDN", ""))
        for r in records_of(events)
    ]
    return found, pipeline


@pytest.mark.parametrize("family", ["v4", "v6"])
@pytest.mark.parametrize("order", ORDERS)
def test_a_request_in_ip_fragments_is_found_with_its_identity(
    tmp_path: Path, family: str, order: str
) -> None:
    path = str(tmp_path / "f.pcap")
    write_pcap(path, fragmented_capture(family, order))
    found, pipeline = scan(path)
    # First wins: the changed copy of bytes already held is not what is read.
    assert found == [("/fragmented/page?x=1", "frag.example", "447700900123")]
    counters = pipeline.counters()
    assert counters["ip_datagrams_reassembled"] == 1
    assert counters["ip_fragment_overlaps"] == (1 if order.endswith("changed") else 0)
    assert counters["identities"] == 1
    assert "skipped" not in pipeline.summary()
    assert "→ 1 datagram reassembled" in pipeline.summary()


@pytest.mark.parametrize("family", ["v4", "v6"])
@pytest.mark.parametrize("order", ORDERS)
def test_the_request_of_fragments_that_overlapped_with_different_bytes_says_so(
    tmp_path: Path, family: str, order: str
) -> None:
    """The tester's cases 4b and 4c: the summary counted the overlap, the request whose
    bytes came from the datagram said nothing (Linux drops such a datagram)."""
    path = str(tmp_path / "f.pcap")
    write_pcap(path, fragmented_capture(family, order))
    pipeline = Pipeline(IdentityDetector(IdentityConfig()), responses=False)
    events = [*pipeline.run_capture(CaptureFile(path)), *pipeline.flush()]
    (rec,) = records_of(events)
    changed = order.endswith("changed")
    assert list(rec.request.anomalies) == ([OVERLAP_NOTE] if changed else [])


@pytest.mark.parametrize("family", ["v4", "v6"])
def test_the_segment_of_fragments_that_overlapped_with_different_bytes_is_marked(
    family: str,
) -> None:
    """Marked (IP_OVERLAP) and otherwise the segment of the first copy; a datagram
    whose overlaps repeat the same bytes is not marked."""
    client, server = ADDRESSES[family]
    frame = tcp_frame(client, 40000, server, 80, 7, 9, 0x18, REQUEST)
    first = Decoder().decode(1.0, 1, frame)
    assert first is not None
    for changed in (False, True):
        again = frame[(34 if family == "v4" else 54) :][64:320]
        if changed:
            again = again.replace(b"447700900123", b"000000000000")
        pieces = ip_fragments(frame, 128, 0x1234)
        pieces.insert(1, ip_fragment(frame, 64, 256, True, 0x1234, again))
        decoder = Decoder()
        (seg,) = [s for p in pieces if (s := decoder.decode(1.0, 1, p)) is not None]
        assert seg == first._replace(flags=first.flags | (IP_OVERLAP if changed else 0))


@needs_tshark
@pytest.mark.parametrize("family", ["v4", "v6"])
@pytest.mark.parametrize("order", ORDERS)
def test_tshark_reads_the_same_request_from_the_fragments(
    tmp_path: Path, family: str, order: str
) -> None:
    path = str(tmp_path / "f.pcap")
    write_pcap(path, fragmented_capture(family, order))
    out = subprocess.run(
        [
            *(str(TSHARK), "-n", "-r", path, "-Y", "http.request", "-T", "fields"),
            *("-e", "http.request.uri", "-e", "http.host", "-e", "http.request.line"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    uri, host, lines = out.stdout.strip().split("\t")
    msisdn = next(
        line.split(": ", 1)[1].removesuffix("\\r\\n")
        for line in lines.split(",")
        if line.startswith("X-MSISDN")
    )
    assert scan(path)[0] == [(uri, host, msisdn)]


def test_every_process_of_a_split_scan_reassembles_and_one_counts(tmp_path: Path) -> None:
    path = str(tmp_path / "f.pcap")
    write_pcap(path, fragmented_capture("v4", "reversed"))
    results = [scan(path, Shard(i, 2)) for i in range(2)]
    assert sum(len(found) for found, _ in results) == 1
    assert [p.counters()["ip_fragments"] for _, p in results] == [4, 0]


@pytest.mark.parametrize("walk", ["C", "Python"])
def test_the_c_and_python_record_walks_both_hand_fragments_on(
    tmp_path: Path, walk: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reader passes over segments reassembly does not need; a fragment is never
    one of them, even once its connection is in the skip table."""
    conv = Conversation("10.0.0.1", 40000, "10.0.0.2", 80, 1000.0, mss=4000)
    frames = conv.handshake() + conv.send(True, b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n")
    frames += conv.send(False, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    frames += conv.ack(True)
    ((ts, segment),) = conv.send(True, REQUEST)
    frames += [(ts + i, p) for i, p in enumerate(ip_fragments(segment, 64, 9))]
    path = str(tmp_path / "f.pcap")
    write_pcap(path, frames)
    if walk == "Python":
        monkeypatch.setattr(frames_module, "_pcapwalk", None)
    else:
        assert frames_module._pcapwalk is not None, "the C walk is not built (pip install -e .)"
    pipeline = Pipeline(responses=False)
    events = [*pipeline.run_capture(CaptureFile(path)), *pipeline.flush()]
    assert [r.request.uri for r in records_of(events)] == ["/a", "/fragmented/page?x=1"]


def _pieces(data: bytes, size: int) -> list[tuple[int, bool, bytes]]:
    return [(at, at + size < len(data), data[at : at + size]) for at in range(0, len(data), size)]


def add(fragments: Fragments, ts: float, offset: int, more: bool, data: bytes) -> bytes | None:
    whole = fragments.add(ts, b"k", offset, more, data, len(data), 6, 65_515)
    return None if whole is None else whole[1]


DATA = bytes(range(256)) * 4


def test_duplicates_are_harmless_and_counted_apart_from_changes() -> None:
    fragments = Fragments()
    pieces = _pieces(DATA, 256)
    add(fragments, 1.0, *pieces[0])
    add(fragments, 1.0, *pieces[0])
    add(fragments, 1.0, 128, True, b"X" * 256)  # changes 128-256, fills 256-384
    # The original 256-512 then differs from it at 256-384: a second overlap (X kept).
    for piece in pieces[1:-1]:
        assert add(fragments, 1.0, *piece) is None
    whole = add(fragments, 1.0, *pieces[-1])
    assert whole == DATA[:256] + b"X" * 128 + DATA[384:]
    assert fragments.counters["ip_fragment_duplicates"] == 1
    assert fragments.counters["ip_fragment_overlaps"] == 2
    assert fragments.pending == 0 and fragments.buffered == 0


def test_a_datagram_past_65535_bytes_is_dropped() -> None:
    fragments = Fragments()
    add(fragments, 1.0, 0, True, b"a" * 64)
    assert add(fragments, 1.0, 65_512, False, b"b" * 16) is None
    assert fragments.counters["ip_datagrams_too_large"] == 1
    assert fragments.pending == 0 and fragments.buffered == 0


def test_a_datagram_times_out_in_capture_time() -> None:
    fragments = Fragments(timeout=30.0)
    add(fragments, 1.0, 0, True, DATA[:64])
    add(fragments, 30.5, 64, True, DATA[64:128])
    assert fragments.pending == 1
    assert add(fragments, 31.5, 128, False, DATA[128:192]) is None
    assert fragments.counters["ip_datagrams_timed_out"] == 1
    assert fragments.counts()["ip_datagrams_incomplete"] == 1  # the last one, alone


def test_the_byte_budget_drops_the_oldest_datagrams_first() -> None:
    fragments = Fragments(budget=3 * (256 + 1000 + PIECE_COST))
    for i in range(5):
        fragments.add(1.0, bytes([i]), 0, True, b"x" * 1000, 1000, 6, 65_515)
        assert fragments.buffered <= fragments.budget
    assert fragments.counters["ip_datagrams_evicted"] == 2
    # The newest are still there: their last fragments complete them.
    assert fragments.add(1.0, b"\x04", 1000, False, b"y", 1, 6, 65_515) is not None
    assert fragments.add(1.0, b"\x00", 1000, False, b"y", 1, 6, 65_515) is None


def test_tiny_odd_and_cut_fragments_are_counted_by_reason() -> None:
    fragments = Fragments()
    add(fragments, 1.0, 0, True, DATA[:8])  # tiny: no room for a TCP header
    add(fragments, 1.0, 8, True, DATA[8:21])  # not a multiple of 8: trimmed to 8-16
    assert fragments.add(1.0, b"k", 16, True, DATA[16:20], 8, 6, 65_515) is None  # cut
    add(fragments, 1.0, 16, True, b"")
    assert add(fragments, 1.0, 16, False, DATA[16:24]) == DATA[:24]
    counts = fragments.counts()
    assert (counts["ip_fragments_tiny"], counts["ip_fragments_malformed"]) == (1, 2)
    assert counts["ip_fragments_cut"] == 1


def test_a_second_last_fragment_with_another_end_drops_the_datagram() -> None:
    fragments = Fragments()
    add(fragments, 1.0, 0, True, DATA[:64])
    add(fragments, 1.0, 128, False, DATA[128:192])
    assert add(fragments, 1.0, 64, False, DATA[64:128]) is None
    assert fragments.counters["ip_fragments_malformed"] == 1 and fragments.pending == 0


def test_fragments_of_other_protocols_are_not_held() -> None:
    decoder = Decoder()
    udp = bytearray(tcp_frame("10.0.0.1", 1, "10.0.0.2", 53, 0, 0, 0x18, b"x" * 64))
    udp[23] = 17
    (first, *_) = ip_fragments(bytes(udp), 32, 5)
    assert decoder.decode(1.0, 1, first) is None
    assert decoder.skipped == {"IP protocol 17": 1} and decoder.fragments.pending == 0


SURICATA = Path(__file__).resolve().parents[2] / "data" / "fragments"


@pytest.mark.parametrize(
    ("name", "tiny"),
    [("frag-ip-tcp", 0), ("frag-eth-vlan-ipv6-tcp", 0), ("frag-ip-tcp-syn", 1)],
)
def test_the_segment_is_the_one_suricata_reassembled(name: str, tiny: int) -> None:
    """Real captures of Suricata-verify: our reassembled TCP segment is the one in the
    packet Suricata rebuilt (its test.yaml, tests/data/fragments/README.md)."""
    yaml = (SURICATA / f"{name}.test.yaml").read_text()
    packet = base64.b64decode(re.search(r'packet: "([^"]+)"', yaml).group(1))  # type: ignore[union-attr]
    decoder = Decoder()
    segments = [
        seg
        for frame in CaptureFile(str(SURICATA / f"{name}.pcap"))
        if (seg := decoder.decode(frame.ts, frame.linktype, frame.data)) is not None
    ]
    assert len(segments) == 1
    (seg,) = segments
    # The TCP header ends the packet's headers: find it by the ports and sequence.
    tcp = packet.index(struct.pack("!HHI", seg.sport, seg.dport, seg.seq))
    assert packet[tcp + (packet[tcp + 12] >> 4) * 4 :] == seg.payload
    assert seg.src in packet[:tcp] and seg.dst in packet[:tcp]
    counts = decoder.fragments.counts()
    assert counts["ip_datagrams_reassembled"] == 1 and counts["ip_fragments_tiny"] == tiny
    assert not decoder.skipped


@settings(max_examples=100, deadline=None, derandomize=True)
@given(
    family=st.sampled_from(["v4", "v6"]),
    size=st.integers(1, 40).map(lambda n: n * 8),
    payload=st.binary(min_size=1, max_size=1200),
    order=st.randoms(use_true_random=False),
    duplicates=st.integers(0, 3),
)
def test_any_fragmentation_in_any_order_gives_back_the_segment(
    family: str, size: int, payload: bytes, order: random.Random, duplicates: int
) -> None:
    client, server = ADDRESSES[family]
    frame = tcp_frame(client, 40000, server, 80, 7, 9, 0x18, payload)
    pieces = ip_fragments(frame, size, 77)
    pieces += [order.choice(pieces) for _ in range(duplicates)]
    order.shuffle(pieces)
    decoder = Decoder()
    segments = [s for p in pieces if (s := decoder.decode(1.0, 1, p)) is not None]
    whole = decoder.decode(1.0, 1, frame)
    assert whole is not None
    # The datagram completes once; a duplicate after that starts a new one that never does.
    assert segments[:1] == [whole]
    assert decoder.fragments.counters["ip_fragment_overlaps"] == 0
