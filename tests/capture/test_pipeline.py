"""The pipeline's shortcut: segments reassembly does not need are not decoded.

Scans pass over acknowledgements and response bodies inside the reader
(:meth:`CaptureFile.frames`) or before decoding (:meth:`Pipeline.feed`). Whatever
the traffic, that must change nothing but the time taken: the reference here
decodes and reassembles every frame.
"""

from __future__ import annotations

import json
import os
import random
import sys
import threading
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capture import pipeline as pipeline_module
from capture.formats.jsonl import record_to_dict
from capture.formats.pcapng import PcapngWriter
from capture.http.echo import ECHO_HEADER, encode_echo
from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.model import EchoSeen, Parsed, Record, RequestSeen, ResponseSeen
from capture.net.decode import ACK, FIN, RST, SYN, skippable
from capture.net.reassembly import Limits
from capture.pipeline import (
    ECHO_STOPPED_NOTE,
    STOPPED_NOTE,
    UNSEARCHED_NOTE,
    Pipeline,
    summarize,
)
from capture.sources import frames as frames_module
from capture.sources.frames import CaptureFile, Frame
from tests.capture.identity.factory import make_request
from tests.capture.test_property import requests
from tests.helpers import OK, conversation, post_request, records_of, run_file, save, simple_request
from tests.packets.craft import PSH, Conversation, tcp_frame

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import gen_capture


class _NeverSkip(dict[bytes, bool]):
    """A skip table that stays empty: every frame is decoded."""

    def __setitem__(self, key: bytes, value: bool) -> None:
        pass


def reference(
    path: str, responses: bool = False, limits: Limits | None = None
) -> list[dict[str, Any]]:
    """Requests with every frame decoded and reassembled."""
    pipeline = Pipeline(responses=responses, limits=limits)
    pipeline.reassembler.skip = _NeverSkip()
    return _dicts(pipeline.run(CaptureFile(path)))


def scanned(path: str, limits: Limits | None = None) -> list[dict[str, Any]]:
    """Requests as ``scan`` gets them: records passed over inside the reader."""
    return scan_pipeline(path, limits)[0]


def scan_pipeline(path: str, limits: Limits | None = None) -> tuple[list[dict[str, Any]], Pipeline]:
    """Requests as ``scan`` gets them, and the pipeline (for its counters)."""
    pipeline = Pipeline(responses=False, limits=limits)
    capture = CaptureFile(path)
    events = [*pipeline.run_capture(capture), *pipeline.flush()]
    assert pipeline.packets == capture.records
    return _dicts(events), pipeline


def fed(path: str) -> list[dict[str, Any]]:
    """Requests with frames fed one by one (as live capture does), skipping in feed()."""
    return _dicts(Pipeline().run(CaptureFile(path)))


def _dicts(events: Any) -> list[dict[str, Any]]:
    out = []
    for record in records_of(events):
        d = record_to_dict(record)
        d.pop("response", None)
        out.append(d)
    return out


def _response(size: int) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size + b"r" * size


@st.composite
def traffic(draw: st.DrawFn) -> list[tuple[float, bytes]]:
    """One to three interleaved keep-alive connections (IPv4 or IPv6, with a VLAN tag
    or without) with acknowledgements both ways, then capture loss, reordering and
    duplicates."""
    streams = []
    for port in range(draw(st.integers(1, 3))):
        client, server = draw(st.sampled_from([("10.0.0.1", "10.0.0.2"), ("fd00::1", "fd00::2")]))
        conv = conversation(
            client=client,
            server=server,
            cport=40000 + port,
            mss=draw(st.integers(20, 1460)),
            vlan=draw(st.sampled_from([None, 7])),
        )
        frames = conv.handshake() if draw(st.booleans()) else []
        for _ in range(draw(st.integers(1, 4))):
            frames += conv.send(True, draw(requests()))
            frames += conv.ack(False)
            for i, frame in enumerate(conv.send(False, _response(draw(st.integers(0, 6000))))):
                frames.append(frame)
                if i % 2:
                    frames += conv.ack(True)
            frames += conv.ack(True)
        if draw(st.booleans()):
            frames += conv.close()
        streams.append(frames)
    rng = random.Random(draw(st.integers(0, 2**32)))
    merged = []
    while any(streams):
        merged.append(rng.choice([s for s in streams if s]).pop(0))
    frames = [f for _, f in merged]
    loss, swaps, dups = (draw(st.integers(0, 3)) for _ in range(3))
    for _ in range(loss):
        frames.pop(rng.randrange(len(frames)))
    for _ in range(swaps):
        i = rng.randrange(len(frames))
        j = min(len(frames) - 1, i + rng.randint(1, 4))
        frames[i], frames[j] = frames[j], frames[i]
    for _ in range(dups):
        i = rng.randrange(len(frames))
        frames.insert(min(len(frames), i + rng.randint(1, 6)), frames[i])
    return [(1000.0 + n * 0.001, f) for n, f in enumerate(frames)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames=traffic())
def test_passing_over_segments_changes_no_request(
    frames: list[tuple[float, bytes]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("skip")
    path = save(folder, frames)
    want = reference(path)
    assert scanned(path) == want
    assert fed(path) == want
    assert _dicts(Pipeline(responses=True).run(CaptureFile(path))) == want
    # pcapng: the reader does not pass over records; the pipeline skips them.
    ng = str(folder / "t.pcapng")
    with PcapngWriter(ng) as writer:
        for ts, data in frames:
            writer.write(Frame(ts, 1, data))
    assert scanned(ng) == want


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
@pytest.mark.parametrize(
    "shape",
    [
        ("10.0.0.1", "10.0.0.2", None),
        ("fd00::1", "fd00::2", None),
        ("10.0.0.1", "10.0.0.2", 7),
        ("fd00::1", "fd00::2", 7),
    ],
    ids=["ipv4", "ipv6", "ipv4 vlan", "ipv6 vlan"],
)
def test_response_bodies_and_acknowledgements_are_not_decoded(
    tmp_path: Path, fmt: str, shape: tuple[str, str, int | None]
) -> None:
    client, server, vlan = shape
    conv = conversation(client=client, server=server, vlan=vlan)
    frames = conv.handshake() + conv.send(True, simple_request())
    for frame in conv.send(False, _response(20_000)):
        frames += [frame, *conv.ack(True)]
    frames += conv.close()
    path = save(tmp_path, frames)
    if fmt == "pcapng":
        path = str(tmp_path / "t.pcapng")
        with PcapngWriter(path) as writer:
            for ts, data in frames:
                writer.write(Frame(ts, 1, data))
    pipeline = Pipeline(responses=False)
    # Decoded: by the pipeline's decoder, or (classic pcap) by the reader, which hands
    # segments over ready; either way each decoded segment reaches reassembly.
    decoded = []
    reassembler = pipeline.reassembler
    # Both ways in counted once: the scan loop's feed (with its cases in C, whose Python
    # fallback is the feed below, unpatched) and the Python feed the decoder calls.
    feed, c_feed = reassembler.feed, reassembler.segment_feed()
    reassembler.feed = lambda seg: decoded.append(seg) or feed(seg)  # type: ignore[method-assign]
    reassembler.segment_feed = lambda: lambda seg: decoded.append(seg) or c_feed(seg)  # type: ignore[method-assign]
    capture = CaptureFile(path)
    records = [e for e in pipeline.run_capture(capture) if isinstance(e, RequestSeen)]
    assert len(records) == 1
    # Handshake (3: a connection is half-open until its first data, and those
    # segments are all decoded), request (1), the closing FINs (2) and the last bare
    # ACK (the connection is gone by then); not the 14 response segments (the reader
    # finds that the first is no reflector's echo without decoding it, in pcapng too:
    # the interface block the writer adds for its nanosecond stamp is read in the
    # walk's stride, where scapy's reader took it, and the segment after it, before),
    # nor the 14 acknowledgements.
    assert len(decoded) == 7
    assert pipeline.packets == capture.records == len(frames)
    assert records[0].record.request.flow == 1


def test_connection_kept_alive_by_skipped_segments_is_not_idle(tmp_path: Path) -> None:
    """A download longer than the idle timeout whose every segment is passed over
    must not be closed as idle (while other connections keep the clock moving):
    the request after it would be lost."""
    slow = conversation(step=1.0)  # one second per frame
    busy = conversation(cport=40001, step=1.0)
    frames = slow.handshake() + slow.send(True, simple_request("/big"))
    for i, frame in enumerate(slow.send(False, _response(30 * 1460))):
        slow.ts = frame[0]
        frames += [frame, *slow.ack(True)]
        if i % 5 == 0:
            busy.ts = slow.ts
            frames += (busy.handshake() if i == 0 else []) + busy.send(
                True, simple_request(f"/busy{i}")
            )
    frames += slow.send(True, simple_request("/after"))
    frames.sort(key=lambda f: f[0])
    path = save(tmp_path, frames)
    limits = Limits(idle_timeout=20.0)
    uris = [r["uri"] for r in scanned(path, limits)]
    assert uris == ["/big", *(f"/busy{i}" for i in range(0, 31, 5)), "/after"]
    assert frames[-1][0] - frames[0][0] > limits.idle_timeout
    assert uris == [r["uri"] for r in reference(path, limits=limits)]


def test_reading_resumes_where_a_skipped_direction_stands(tmp_path: Path) -> None:
    """Scan stops reading the server until an HTTP/0.9 request needs its reply; the
    response bodies passed over in between must not become a gap."""
    conv = conversation()
    frames = conv.handshake() + conv.send(True, simple_request("/one"))
    for frame in conv.send(False, _response(5000)):
        frames += [frame, *conv.ack(True)]
    frames += conv.send(True, b"GET /nine\r\n")
    frames += conv.send(False, b"<html>0.9</html>")
    frames += conv.close()
    path = save(tmp_path, frames)
    want = reference(path)
    assert [(r["uri"], r["version"], r.get("anomalies")) for r in want] == [
        ("/one", "HTTP/1.1", None),
        ("/nine", None, ["no HTTP version (HTTP/0.9-style request line)"]),
    ]
    got, pipeline = scan_pipeline(path)
    assert got == want
    assert pipeline.counters()["gaps"] == 0


FRAMES = {
    "bare ack": tcp_frame("10.0.0.1", 1, "10.0.0.2", 80, 5, 7, ACK),
    "data": tcp_frame("10.0.0.1", 1, "10.0.0.2", 80, 5, 7, ACK | PSH, b"abc"),
    "syn": tcp_frame("10.0.0.1", 1, "10.0.0.2", 80, 5, 0, SYN),
    "fin": tcp_frame("10.0.0.1", 1, "10.0.0.2", 80, 5, 7, FIN | ACK),
    "rst": tcp_frame("10.0.0.1", 1, "10.0.0.2", 80, 5, 7, RST | ACK),
    "other flow": tcp_frame("10.0.0.3", 1, "10.0.0.2", 80, 5, 7, ACK),
    "vlan": tcp_frame("10.0.0.1", 1, "10.0.0.2", 80, 5, 7, ACK, vlan=5),
    "ipv6": tcp_frame("fe80::1", 1, "fe80::2", 80, 5, 7, ACK),
}
_ack = bytearray(FRAMES["bare ack"])
_ack[20] = 0x20  # more fragments
FRAMES["fragment"] = bytes(_ack)
_ack = bytearray(FRAMES["bare ack"])
_ack[14] = 0x46  # IP options
FRAMES["ip options"] = bytes(_ack)
FRAMES["padded bare ack"] = FRAMES["bare ack"] + b"\0" * 6  # Ethernet minimum size
FRAMES["short"] = FRAMES["bare ack"][:50]
# Runts that still say IPv4 (a crafted frame, a tiny snap length): skippable() read
# byte 23 of them before checking the length, and raised in the live pipeline.
FRAMES["runt"] = FRAMES["bare ack"][:20]
FRAMES["runt with protocol"] = FRAMES["bare ack"][:24]
# IPv6 and stacked VLAN tags (802.1ad outer, 802.1Q inner): plain up to two tags.
FRAMES["ipv6 data"] = tcp_frame("fe80::1", 1, "fe80::2", 80, 5, 7, ACK | PSH, b"abc")
FRAMES["ipv6 vlan"] = tcp_frame("fe80::1", 1, "fe80::2", 80, 5, 7, ACK, vlan=5)
FRAMES["ipv6 syn"] = tcp_frame("fe80::1", 1, "fe80::2", 80, 5, 0, SYN)
_QINQ = bytes.fromhex("88a80009")
FRAMES["two tags"] = FRAMES["vlan"][:12] + _QINQ + FRAMES["vlan"][12:]
FRAMES["three tags"] = FRAMES["vlan"][:12] + _QINQ + _QINQ + FRAMES["vlan"][12:]
_ack = bytearray(FRAMES["ipv6"])
_ack[20] = 60  # a destination options header first: not straight to TCP
FRAMES["ipv6 extension header"] = bytes(_ack)
FRAMES["ipv6 short"] = FRAMES["ipv6"][:70]

KEY = bytes([10, 0, 0, 1, 10, 0, 0, 2, 0, 1, 0, 80])
KEY6 = bytes.fromhex("fe800000000000000000000000000001fe800000000000000000000000000002") + KEY[8:]


@pytest.mark.parametrize("walk", ["C", "Python"])
@pytest.mark.parametrize("whole", [False, True])
def test_the_reader_and_the_decoder_agree_on_what_to_pass_over(
    tmp_path: Path, whole: bool, walk: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reader has skippable() inlined (in C, and in Python where C was not built);
    each must pass over the same frames."""
    if walk == "Python":
        monkeypatch.setattr(frames_module, "_pcapwalk", None)
    names = list(FRAMES)
    path = save(tmp_path, [(1.0 + i, FRAMES[n]) for i, n in enumerate(names)])
    skip = {KEY: whole, KEY6: whole}
    touched: dict[bytes, float] = {}
    capture = CaptureFile(path)
    kept = {frame.data for frame in capture.frames(skip, touched)}
    passed = [n for n in names if FRAMES[n] not in kept]
    assert passed == [n for n in names if skippable(FRAMES[n], 0, skip) is not None]
    expected = ["bare ack", "padded bare ack", "vlan", "two tags", "ipv6", "ipv6 vlan"]
    expected += ["data", "ipv6 data"] if whole else []
    assert sorted(passed) == sorted(expected)
    assert capture.records == len(names)
    assert set(touched) == {KEY, KEY6}


def test_conversation_ack_acknowledges_everything() -> None:
    conv = Conversation("10.0.0.1", 1, "10.0.0.2", 80, 0.0)
    conv.handshake()
    conv.send(False, b"12345")
    _, frame = conv.ack(True)[0]
    assert int.from_bytes(frame[42:46], "big") == conv.server_isn + 1 + 5
    assert frame[47] == ACK


def test_acknowledgements_still_prove_gaps_when_bytes_wait(tmp_path: Path) -> None:
    """The server's ACK proves that the request bytes it covers were sent, so the
    hole is reported (and the request emitted) then, not at the end of the
    capture; the order of the records shows it."""
    a = conversation(cport=40001, mss=20)
    b = conversation(cport=40002)
    frames = a.handshake() + b.handshake()
    first, _lost, *rest = a.send(True, simple_request("/a", extra="X-Pad: " + "p" * 40 + "\r\n"))
    frames += [first, *rest]  # the capture lost the second segment of A's request
    frames += a.ack(False)  # ...which the server acknowledges
    frames += b.send(True, simple_request("/b"))
    path = save(tmp_path, frames)
    want = reference(path)
    assert [(r["uri"], bool(r.get("anomalies"))) for r in want] == [("/a", True), ("/b", False)]
    assert scanned(path) == want
    assert fed(path) == want
    # The summary says how many requests the gap touched: /a, not /b.
    _, pipeline = scan_pipeline(path)
    assert pipeline.counters()["gap_requests"] == 1
    assert "capture gaps: 1 client side (20 bytes missing, 1 request touched)" in (
        pipeline.summary()
    )


def _counters(n: int) -> dict[str, int]:
    keys = ("packets", "flows", "requests", "identities", "identity_requests", "gaps")
    more = ("gap_bytes", "gap_requests", "stream_buffer_overflows", "half_open_evicted")
    more += ("client_gaps", "client_gap_bytes")
    more += ("flows_evicted",)
    more += ("non_http_connections",)
    counters = dict.fromkeys(keys + more + ("malformed_heads",), n)
    return counters | {"total_buffer_overflows": 0}


def test_the_summary_line_counts_in_words() -> None:
    assert summarize(_counters(1), Counter({"IP protocol 17": 1})) == (
        "1 packet; 1 TCP connection; 1 HTTP request; 1 identity in 1 request; "
        "skipped 1 frame (1 IP protocol 17); "
        "capture gaps: 1 client side (1 byte missing, 1 request touched), 0 server side; "
        "1 reassembly buffer overflow; 1 half-open connection evicted (memory limit); "
        "1 connection with data evicted (memory limit); "
        "1 non-HTTP connection; 1 malformed HTTP head"
    )
    assert summarize(_counters(1200), Counter({"IP protocol 17": 1200})) == (
        "1,200 packets; 1,200 TCP connections; 1,200 HTTP requests; "
        "1,200 identities in 1,200 requests; skipped 1,200 frames (1,200 IP protocol 17); "
        "capture gaps: 1,200 client side (1,200 bytes missing, 1,200 requests touched), "
        "0 server side; "
        "1,200 reassembly buffer overflows; "
        "1,200 half-open connections evicted (memory limit); "
        "1,200 connections with data evicted (memory limit); 1,200 non-HTTP connections; "
        "1,200 malformed HTTP heads"
    )
    assert summarize(_counters(0), Counter()) == (
        "0 packets; 0 TCP connections; 0 HTTP requests; 0 identities in 0 requests"
    )
    # A capture without gaps says so on both sides where both were read (HAR, the
    # dashboard), as JSONL says it of the client side: none looked for and found.
    clean = {**_counters(0), "packets": 5, "flows": 1}
    assert summarize(clean, Counter()).endswith("capture gaps: 0 client side, 0 server side")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1))
def test_damaged_frames_one_at_a_time_never_raise(seed: int) -> None:
    """The live path (Pipeline.feed, frame by frame, skip table in use): frames of
    real exchanges with bytes flipped, cut anywhere (runts included) or repeated.
    Nothing raises: a hostile frame on the lab network must not stop the monitor."""
    rng = random.Random(seed)
    frames: list[tuple[float, bytes]] = []
    for n in range(3):
        conv = conversation(cport=40000 + n, ts=1000.0 + n)
        frames += conv.handshake()
        frames += conv.send(True, simple_request(f"/{n}", extra="X-MSISDN: 447700900123\r\n"))
        frames += conv.send(False, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        frames += conv.ack(True) + conv.close()
    pipeline = Pipeline(IdentityDetector(IdentityConfig(region="GB", msisdns=("07700 900123",))))
    for ts, data in frames:
        damaged = bytearray(data)
        roll = rng.random()
        if roll < 0.3:
            for _ in range(rng.randint(1, 4)):
                damaged[rng.randrange(len(damaged))] = rng.getrandbits(8)
        elif roll < 0.5:
            del damaged[rng.randrange(len(damaged) + 1) :]
        elif roll < 0.6:
            pipeline.feed(Frame(ts, 1, bytes(damaged)))
        pipeline.feed(Frame(ts, 1, bytes(damaged)))
    pipeline.advance(1e9)
    pipeline.flush()


@pytest.mark.parametrize("responses", [True, False])
def test_a_request_on_a_connection_that_survives_a_syn_flood_is_reported(
    responses: bool,
) -> None:
    """Half-open connections are evicted first: a keep-alive connection that carried
    data keeps its place through a flood larger than the bound, and its next request
    comes out with its identity (and the summary says what was evicted, and why)."""
    from capture.net.reassembly import FLOW_COST, HALF_OPEN_COST

    conv = conversation()
    extra = "x-up-calling-line-id: 447700900123\r\n"
    frames = conv.handshake() + conv.send(True, simple_request("/before", extra=extra))
    frames += conv.send(False, _response(100))
    for port in range(1000, 1050):  # a SYN flood: 50 half-open connections
        frames.append((conv.ts, tcp_frame("10.9.0.1", port, "10.0.0.2", 80, port, 0, SYN)))
    frames += conv.send(True, simple_request("/after", extra=extra))
    frames += conv.send(False, _response(100)) + conv.close()
    limits = Limits(memory=FLOW_COST + 10 * HALF_OPEN_COST)
    detector = IdentityDetector(IdentityConfig(region="GB"))
    pipeline = Pipeline(detector, limits=limits, responses=responses)
    records = records_of(pipeline.run(Frame(ts, 1, data) for ts, data in frames))
    assert [(r.request.uri, [f.kind for f in r.findings if f.is_identity]) for r in records] == [
        ("/before", ["msisdn"]),
        ("/after", ["msisdn"]),
    ]
    counters = pipeline.counters()
    assert counters["half_open_evicted"] == 40
    assert counters["flows_evicted"] == 0
    assert "40 half-open connections evicted (memory limit)" in pipeline.summary()
    assert "with data evicted" not in pipeline.summary()


def test_heads_still_arriving_are_charged_to_the_memory_bound() -> None:
    """What the HTTP layer holds (a head that has not ended) counts against the bound:
    a new connection evicts the least recent one stalled inside a large head, and
    what that one sent is still reported (cut at the close)."""
    from capture.net.reassembly import FLOW_COST

    partial = b"GET /stalled HTTP/1.1\r\nHost: example.com\r\nX-Pad: " + b"p" * 8000
    stalled: list[list[tuple[float, bytes]]] = []
    for n in range(3):
        conv = conversation(cport=41000 + n)
        stalled.append(conv.handshake() + conv.send(True, partial))
    fourth = conversation(cport=41003)
    late = fourth.handshake() + fourth.send(True, simple_request("/fourth"))
    pipeline = Pipeline(limits=Limits(memory=4 * FLOW_COST + 20_000), responses=False)
    events = []
    for ts, data in stalled[0] + stalled[1] + stalled[2]:
        events += pipeline.feed(Frame(ts, 1, data))
    held = pipeline.tracker.held_bytes
    assert held >= 3 * len(partial)
    assert pipeline.reassembler.state_bytes == 3 * FLOW_COST + held
    assert pipeline.counters()["flows_evicted"] == 0
    for ts, data in late:
        events += pipeline.feed(Frame(ts, 1, data))
    assert pipeline.counters()["flows_evicted"] == 1
    assert pipeline.reassembler.state_bytes <= 4 * FLOW_COST + 20_000
    events += pipeline.flush()
    uris = [r.request.uri for r in records_of(events)]
    assert sorted(uris) == ["/fourth", "/stalled", "/stalled", "/stalled"]
    assert pipeline.tracker.held_bytes == 0  # all closed at the end


@pytest.mark.parametrize("ending", ["close", "too many waiting"])
def test_a_request_that_will_get_no_response_is_not_kept_for_one(ending: str) -> None:
    """The dashboard's pipeline keeps each request's record until its response comes,
    to pair them. When no response can come any more (its connection ended, or more
    requests waited on it than the tracker keeps), the record is let go: a live
    capture that lost frames kept every record whose response it missed, up to
    100,000 of them, long after the store had spilled them."""
    conv = conversation()
    pipeline = Pipeline(responses=True)
    pipeline.tracker.max_outstanding = 2
    frames = conv.handshake()
    for path in ("/one", "/two", "/three"):
        frames += conv.send(True, simple_request(path))
    frames += conv.send(False, _response(10))  # answers the oldest the tracker still keeps
    if ending == "close":
        frames += conv.close()
    events = [e for ts, data in frames for e in pipeline.feed(Frame(ts, 1, data))]
    answered = [r.request.uri for r in records_of(events) if r.response is not None]
    assert answered == ["/two"]
    waiting = [r.request.uri for r in pipeline._awaiting.values()]
    assert waiting == ([] if ending == "close" else ["/three"])
    assert pipeline.counters()["unanswered_requests_forgotten"] == 1


def _encoded_bodies(tmp_path: Path) -> str:
    """A capture of one JSON body with a number and an IMEI, sent under each
    Content-Encoding (and a br body no module here undoes, and a damaged gzip)."""
    import gzip
    import zlib

    body = b'{"phone":"+447911123456","imei":"490154203237518"}'
    raw = zlib.compressobj(wbits=-15)
    sent = {
        "/gzip": ("gzip", gzip.compress(body, mtime=0)),
        "/deflate": ("deflate", zlib.compress(body)),
        "/raw-deflate": ("deflate", raw.compress(body) + raw.flush()),
        "/twice": ("deflate, gzip", gzip.compress(zlib.compress(body), mtime=0)),
        "/br": ("br", b"\x1b\x2c\x00\xf8\xa5\x40\x02\x10\x00\x00"),
        "/damaged": ("gzip", b"\x1f\x8b\x08\x00" + bytes(20)),
    }
    conv = conversation()
    frames = conv.handshake()
    for path, (coding, data) in sent.items():
        extra = f"Content-Encoding: {coding}\r\n"
        frames += conv.send(True, post_request(path, data, "application/json", extra))
        frames += conv.send(False, OK)
    return save(tmp_path, frames, "encoded.pcap")


def test_a_captured_body_is_read_as_its_content_encoding_decodes_and_recorded_as_sent(
    tmp_path: Path,
) -> None:
    path = _encoded_bodies(tmp_path)
    detector = IdentityDetector(IdentityConfig(region="GB"))
    records = {r.request.uri: r for r in run_file(path, Pipeline(detector=detector))}
    for uri in ("/gzip", "/deflate", "/raw-deflate", "/twice"):
        found = [(f.kind, f.normalized) for f in records[uri].identities]
        assert found == [("msisdn", "+447911123456"), ("imei", "490154203237518")], uri
        assert not records[uri].request.body.startswith(b"{")  # the bytes sent are kept
        assert records[uri].request.anomalies == ()


@pytest.mark.parametrize("uri", ["/br", "/damaged"])
def test_a_captured_body_whose_encoding_cannot_be_undone_says_so(tmp_path: Path, uri: str) -> None:
    """Read as sent, it held no identity: without a word, that reads as a clean body."""
    detector = IdentityDetector(IdentityConfig(region="GB"))
    records = {
        r.request.uri: r for r in run_file(_encoded_bodies(tmp_path), Pipeline(detector=detector))
    }
    [note] = records[uri].request.anomalies
    assert note.startswith("request body not decoded (Content-Encoding ")
    assert records[uri].identities == ()


def _gzip_labelled(tmp_path: Path, body: bytes) -> Record:
    """The record of one captured POST of ``body`` labelled ``Content-Encoding: gzip``,
    read by a detector in region GB."""
    conv = conversation()
    frames = conv.handshake()
    request = post_request("/p", body, "application/json", "Content-Encoding: gzip\r\n")
    frames += conv.send(True, request) + conv.send(False, OK)
    detector = IdentityDetector(IdentityConfig(region="GB"))
    [record] = run_file(save(tmp_path, frames), Pipeline(detector=detector))
    return record


def test_a_body_whose_first_32_bytes_are_ascii_is_read_as_sent_whatever_its_coding_says(
    tmp_path: Path,
) -> None:
    """No coding writes that (pipeline._coded): a body a proxy decoded and left
    labelled, read as the text it is, with no note that it could not be decoded."""
    body = b'{"phone":"+447911123456","imei":"490154203237518"}'
    record = _gzip_labelled(tmp_path, body)
    assert [f.kind for f in record.identities] == ["msisdn", "imei"]
    assert record.request.anomalies == ()


def test_a_body_that_decodes_past_what_is_searched_says_so(tmp_path: Path) -> None:
    """A 64 KiB compressed body can hold 64 MB: only its first 64 KiB are searched, and
    the number after them went unseen without a word."""
    import gzip

    from capture.report.model import noted_by

    body = gzip.compress(b'{"pad":"' + b"x" * 70_000 + b'","phone":"+447911123456"}', mtime=0)
    record = _gzip_labelled(tmp_path, body)
    assert record.request.anomalies == (
        "request body decoded from gzip is larger than 65536 bytes; the first 65536 searched",
    )
    assert noted_by(record.request) == ["request body decoded from"]


class _FailsOn:
    """The real detector, but raising on the request for ``/boom`` (a bug of its own)."""

    def __init__(self) -> None:
        self.inner = IdentityDetector(IdentityConfig(region="GB"))

    def detect(self, request: Any) -> Any:
        if request.uri == "/boom":
            raise ValueError("Exceeds the limit (4300 digits) for integer string conversion")
        return self.inner.detect(request)


def test_a_request_the_detector_fails_on_is_kept_said_and_the_capture_goes_on(
    tmp_path: Path,
) -> None:
    # A detector's exception on one request (int() of 4,301 digits) ended a live capture
    # in its thread, and a scan with a traceback and nothing written.
    conv = conversation()
    frames = conv.handshake()
    for target in ("/before", "/boom", "/after"):
        head = f"GET {target} HTTP/1.1\r\nHost: a.example\r\nX-MSISDN: 447700900123\r\n\r\n"
        frames += conv.send(True, head.encode()) + conv.send(False, OK)
    pipeline = Pipeline(_FailsOn())
    records = run_file(save(tmp_path, frames), pipeline)
    assert [(r.request.uri, len(r.identities)) for r in records] == [
        ("/before", 1), ("/boom", 0), ("/after", 1)
    ]  # fmt: skip
    (note,) = [a for a in records[1].request.anomalies if a.startswith(UNSEARCHED_NOTE)]
    assert note.endswith(
        "(ValueError: Exceeds the limit (4300 digits) for integer string conversion)"
    )
    assert pipeline.counters()["unsearched"] == 1
    assert "1 request not searched for identities (an internal error" in pipeline.summary()


@pytest.mark.parametrize("coded", [True, False], ids=["as-sent", "decoded-already"])
def test_a_record_s_body_still_coded_is_read_as_what_it_holds(coded: bool) -> None:
    # A HAR keeps a deflate beacon's bytes as sent (base64): read back, its number and
    # IMEI were lost (gzip's survived, told by its magic bytes). One decoded already,
    # its header still saying deflate, is text and read as it is, without a note.
    beacon = json.dumps({"phone": "+447700900141", "imei": "356938035643809"}).encode()
    request = make_request(
        method="POST",
        add=[("Content-Type", "application/json"), ("Content-Encoding", "deflate")],
        body=zlib.compress(beacon) if coded else beacon,
    )
    pipeline = Pipeline(IdentityDetector(IdentityConfig(region="GB")))
    (record,) = records_of(pipeline.feed_request(Parsed(request)))
    assert sorted(f.kind for f in record.identities) == ["imei", "msisdn"]
    assert record.request.body == request.body and record.request.anomalies == ()


# -- detection in batches (a detecting file scan) ------------------------------------


class _Watched:
    """A detector that notes, at each request it reads, how many frames its pipeline had
    read by then, and the request; ``counts_recurrence`` as the detector it wraps. It
    fails on a request to ``/boom``, alone or in a batch."""

    def __init__(self, inner: IdentityDetector) -> None:
        self.inner = inner
        self.pipeline: Pipeline | None = None
        self.read: list[tuple[int, Any]] = []

    @property
    def counts_recurrence(self) -> bool:
        return self.inner.counts_recurrence

    def detect(self, request: Any) -> Any:
        assert self.pipeline is not None
        self.read.append((self.pipeline.packets, request))
        if request.uri == "/boom":
            raise ValueError("a detector's bug")
        return self.inner.detect(request)

    def detect_many(self, requests: Any) -> Any:
        if any(request.uri == "/boom" for request in requests):
            raise ValueError("a detector's bug")  # the pipeline reads each alone then
        assert self.pipeline is not None
        self.read.extend((self.pipeline.packets, request) for request in requests)
        return self.inner.detect_many(requests)


def _scanned(
    path: str, config: IdentityConfig, batch: int, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[object], dict[str, int], _Watched]:
    """The events and counters of a requests-only pipeline (as ``scan`` runs it) over
    ``path``, detecting ``batch`` requests at a time (0: each as it comes)."""
    monkeypatch.setattr(pipeline_module, "DETECT_BATCH", batch)
    detector = _Watched(IdentityDetector(config))
    pipeline = Pipeline(detector, responses=False)
    detector.pipeline = pipeline
    events = [*pipeline.run_capture(CaptureFile(path)), *pipeline.flush()]
    return events, pipeline.counters(), detector


def _identity_capture(tmp_path: Path) -> str:
    """Ad and analytics requests, a tenth with an identity, several to a connection; a
    request the detector fails on; and a reflector's connection, its requests held for
    its echo, which shows a number the carrier added to the first."""
    frames = list(gen_capture.frames(600, 80, traffic="ad"))
    t = frames[-1][0] + 1
    boom = conversation(cport=41000, server="203.0.113.7", ts=t)
    frames += boom.handshake() + boom.send(True, simple_request("/boom")) + boom.send(False, OK)
    reflected = conversation(cport=41001, server="198.51.100.2", ts=t + 1)
    frames += reflected.handshake()
    for target, received in (
        ("/r1", (("Host", "example.com"), ("X-MSISDN", "447700900461"))),
        ("/r2", (("Host", "example.com"),)),
    ):
        echo = f"{ECHO_HEADER}: {encode_echo(received)}\r\n".encode()
        frames += reflected.send(True, simple_request(target))
        frames += reflected.send(
            False, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n" + echo + b"\r\nok"
        )
    return save(tmp_path, frames, "mixed.pcap")


@pytest.mark.parametrize("batch", [1, 3, 128])
@pytest.mark.parametrize("canaries", [False, True], ids=["plain", "canaries"])
def test_a_scan_detecting_in_batches_hands_out_what_it_did_one_request_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch: int, canaries: bool
) -> None:
    path = _identity_capture(tmp_path)
    config = IdentityConfig(region="GB", msisdns=("+447700900461",) if canaries else ())
    one_by_one, counted, _ = _scanned(path, config, 0, monkeypatch)
    events, counters, _ = _scanned(path, config, batch, monkeypatch)
    assert events == one_by_one
    assert counters == counted
    records = [e.record for e in events if isinstance(e, RequestSeen)]
    assert [r.id for r in records] == list(range(1, len(records) + 1))
    assert counters["identities"] > 50 and counters["unsearched"] == 1
    assert counters["echoes"] == 2 and counters["altered_in_transit"] == 1


def test_a_scan_reads_its_requests_for_identities_a_batch_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Read one by one between the frames that complete them, detection's code and the
    # reader's pushed each other out of the CPU's caches (a third more time on ad
    # traffic): most requests are read in runs, the reader not moving between them.
    path = _identity_capture(tmp_path)
    _, _, detector = _scanned(path, IdentityConfig(region="GB"), 128, monkeypatch)
    runs = Counter(packets for packets, _ in detector.read)
    assert len(detector.read) == 604
    assert max(runs.values()) >= 100
    assert sum(n for n in runs.values() if n >= 32) >= 400


def test_a_scan_that_counts_recurrence_reads_requests_in_capture_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Recurrence's findings depend on the order requests are read in: they are read
    # as they come, each as its record is made.
    path = _identity_capture(tmp_path)
    events, _, detector = _scanned(
        path, IdentityConfig(region="GB", recurrence=3), 128, monkeypatch
    )
    records = sorted((e.record for e in events if isinstance(e, RequestSeen)), key=lambda r: r.id)
    # (A reflector's echo has the request read again, as received, after it.)
    read = list(dict.fromkeys((r.flow, r.depth) for _, r in detector.read))
    assert read == [(r.request.flow, r.request.depth) for r in records]


def test_requests_waiting_for_their_batch_when_reading_fails_come_out_of_flush_detected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _identity_capture(tmp_path)
    whole, _, _ = _scanned(path, IdentityConfig(region="GB"), 0, monkeypatch)
    by_id = {e.record.id: e.record for e in whole if isinstance(e, RequestSeen)}
    monkeypatch.setattr(pipeline_module, "DETECT_BATCH", 128)
    frames = frames_module.CaptureFile.frames

    def failing(self: CaptureFile, *args: Any) -> Any:
        for n, frame in enumerate(frames(self, *args)):
            if n == 1000:
                raise RuntimeError("the disk went away")
            yield frame

    monkeypatch.setattr(frames_module.CaptureFile, "frames", failing)
    pipeline = Pipeline(IdentityDetector(IdentityConfig(region="GB")), responses=False)
    handed: list[object] = []
    with pytest.raises(RuntimeError):
        handed.extend(pipeline.run_capture(CaptureFile(path)))
    rest = pipeline.flush()
    assert all(isinstance(e, (RequestSeen, ResponseSeen, EchoSeen)) for e in rest)
    read = [e.record for e in [*handed, *rest] if isinstance(e, RequestSeen)]
    waited = [e.record for e in rest if isinstance(e, RequestSeen)]
    assert len(waited) > 20 and any(r.identities for r in waited)
    assert [r.id for r in read] == list(range(1, len(read) + 1))
    # As a whole scan has them, but the last of each connection the flush ended.
    kept = [r for r in read if by_id[r.id].request.body_length == r.request.body_length]
    assert kept == [by_id[r.id] for r in kept]
    assert len(kept) > len(read) - 40


def test_a_capture_read_from_a_pipe_has_each_request_detected_as_it_comes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # tcpdump -w - | headerwatch scan -: a request must not wait for 127 more to come.
    path = _identity_capture(tmp_path)
    data = Path(path).read_bytes()
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(data))
    writer.start()
    detector = _Watched(IdentityDetector(IdentityConfig(region="GB")))
    pipeline = Pipeline(detector, responses=False)
    detector.pipeline = pipeline
    capture = CaptureFile(str(fifo))
    assert capture.streamed and not CaptureFile(path).streamed
    handed = []
    for event in pipeline.run_capture(capture):
        if isinstance(event, RequestSeen):
            handed.append((pipeline.packets, event.record.id))
    writer.join()
    # Each request comes out as soon as the frames that complete it are read.
    assert len(handed) > 500
    assert max(Counter(packets for packets, _ in handed).values()) <= 3


def _whole_and_batched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: type[IdentityDetector]
) -> tuple[CaptureFile, list[object], Pipeline]:
    """The mixed capture, its events one request at a time, and a requests-only
    pipeline with a ``kind`` detector that will read it 128 requests at a time."""
    path = _identity_capture(tmp_path)
    one_by_one = Pipeline(IdentityDetector(IdentityConfig(region="GB")), responses=False)
    monkeypatch.setattr(pipeline_module, "DETECT_BATCH", 0)
    whole: list[object] = [*one_by_one.run_capture(CaptureFile(path)), *one_by_one.flush()]
    monkeypatch.setattr(pipeline_module, "DETECT_BATCH", 128)
    pipeline = Pipeline(kind(IdentityConfig(region="GB")), responses=False)
    return CaptureFile(path), whole, pipeline


@pytest.mark.parametrize("left", [None, 10], ids=["first-batch", "last-batch"])
def test_a_consumer_stopped_in_a_batch_finds_the_rest_of_what_was_read_in_unhanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, left: int | None
) -> None:
    # A scan's Ctrl-C while it writes a batch's lines: the rest of the batch, and the
    # requests waiting for the next, are what was read and not written yet; in the
    # file's last batch too (the rest of the file's is in no batch yet).
    capture, whole, pipeline = _whole_and_batched(tmp_path, monkeypatch, IdentityDetector)
    reading = pipeline.run_capture(capture)
    count = 5 if left is None else len([e for e in whole if not isinstance(e, ResponseSeen)])
    taken = [next(reading) for _ in range(count - (left or 0))]
    rest = pipeline.unhanded()
    assert len(taken) + len(rest) >= 128 and len(rest) >= (left or 0)
    assert [*taken, *rest] == whole[: len(taken) + len(rest)]
    assert pipeline.unhanded() == []


class _StoppedInDetection(IdentityDetector):
    """Ctrl-C in the middle of detecting the first batch (after some of it is read);
    asked again, it would wait for ever (libphonenumber's metadata lock, left held by
    a load the stop cut short, made a stopped scan one only SIGKILL ended)."""

    stopped = False

    def detect_many(self, requests: Any) -> Any:
        if self.stopped:
            raise AssertionError("asked again after a stop in it: it would hang")
        super().detect_many(requests[:50])
        self.stopped = True
        raise KeyboardInterrupt


def test_a_stop_in_the_detection_of_a_batch_writes_it_unsearched_without_asking_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    capture, whole, pipeline = _whole_and_batched(tmp_path, monkeypatch, _StoppedInDetection)
    with pytest.raises(KeyboardInterrupt):
        next(pipeline.run_capture(capture))
    # What waited for the detector is kept, as read, with no findings and a note that
    # says why; nothing half made escapes (no identity of the half read batch counted).
    rest = pipeline.unhanded()
    assert len(rest) >= 128
    expected = [e for e in whole[: len(rest)] if isinstance(e, RequestSeen)]
    assert len(expected) == len(rest)
    for kept, event in zip(rest, expected, strict=True):
        assert isinstance(kept, RequestSeen)
        record = kept.record
        assert record.id == event.record.id and record.findings == ()
        assert record.request.anomalies == (*event.record.request.anomalies, STOPPED_NOTE)
        assert record.request.headers == event.record.request.headers
    assert any(e.record.findings for e in expected)  # the batch held identities
    counters = pipeline.counters()
    assert counters["identities"] == 0 and counters["stopped_unsearched"] == len(rest)
    assert "not searched for identities (read as the scan was stopped" in pipeline.summary()
    assert pipeline.unhanded() == []


def test_a_stop_after_the_detector_read_a_batch_leaves_it_to_be_detected_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stop while the batch's records are made, the detector done: not "stopped inside
    # the detector" (the batch lost its findings and was said unsearched).
    capture, whole, pipeline = _whole_and_batched(tmp_path, monkeypatch, IdentityDetector)
    made = pipeline._seen
    calls = []

    def stopped_once(record: Any) -> Any:
        calls.append(record.id)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return made(record)

    monkeypatch.setattr(pipeline, "_seen", stopped_once)
    with pytest.raises(KeyboardInterrupt):
        next(pipeline.run_capture(capture))
    monkeypatch.setattr(pipeline, "_seen", made)
    rest = pipeline.unhanded()
    assert rest == whole[: len(rest)] and len(rest) >= 128
    assert pipeline.counters()["stopped_unsearched"] == 0


@pytest.mark.parametrize("taken", [1, 2, 7, 60, 129, 200])
def test_a_stopped_consumer_finds_every_request_read_taken_or_unhanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, taken: int
) -> None:
    # A request held for its connection's verdict (a round trip) was left out at a stop
    # (the summary said how many): now handed out as at a file's end.
    capture, whole, pipeline = _whole_and_batched(tmp_path, monkeypatch, IdentityDetector)
    reading = pipeline.run_capture(capture)
    got = [next(reading) for _ in range(taken)]
    got += pipeline.unhanded()
    requests = [e for e in got if isinstance(e, RequestSeen)]
    assert len(requests) == pipeline.counters()["requests"]
    assert [e.record.id for e in requests] == list(range(1, len(requests) + 1))
    expected = [e for e in whole if isinstance(e, RequestSeen)][: len(requests)]
    assert [e.record.request.uri for e in requests] == [e.record.request.uri for e in expected]


class _StoppedAt(IdentityDetector):
    """Ctrl-C as the detector reads the ``at``-th request, one at a time or in batches."""

    at = 1
    read = 0

    def detect(self, request: Any) -> Any:
        self.read += 1
        if self.read >= self.at:
            assert self.read == self.at, "asked again after a stop in it: it would hang"
            raise KeyboardInterrupt
        return super().detect(request)

    def detect_many(self, requests: Any) -> Any:
        if self.read + len(requests) >= self.at:
            assert self.read < self.at, "asked again after a stop in it: it would hang"
            self.read = self.at
            raise KeyboardInterrupt
        self.read += len(requests)
        return super().detect_many(requests)


@pytest.mark.parametrize("at", [1, 2, 130, 300, 601, 603])
@pytest.mark.parametrize("batch", [0, 128], ids=["one-at-a-time", "batched"])
def test_a_stop_in_the_detector_loses_no_request_read_held_or_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, at: int, batch: int
) -> None:
    # The request the detector read alone as the stop came, and those held for their
    # connection's verdict, were left out: every request read is written, ids in order,
    # the unsearched ones saying so and counted. (603: the stop comes as the detector
    # reads the number the reflector's echo of /r1 shows added on the way.)
    path = _identity_capture(tmp_path)
    monkeypatch.setattr(pipeline_module, "DETECT_BATCH", batch)
    detector = _StoppedAt(IdentityConfig(region="GB"))
    detector.at = at
    pipeline = Pipeline(detector, responses=False)
    got: list[object] = []
    with pytest.raises(KeyboardInterrupt):
        got.extend(pipeline.run_capture(CaptureFile(path)))
    got += pipeline.unhanded()
    requests = [e.record for e in got if isinstance(e, RequestSeen)]
    counters = pipeline.counters()
    assert [r.id for r in requests] == list(range(1, counters["requests"] + 1))
    stopped = [r for r in requests if STOPPED_NOTE in r.request.anomalies]
    assert counters["stopped_unsearched"] == len(stopped)
    assert all(not r.findings for r in stopped)
    echo_stopped = [r for r in requests if ECHO_STOPPED_NOTE in r.request.anomalies]
    if batch == 0 and at == 603:
        assert not stopped and [r.request.uri for r in echo_stopped] == ["/r1"]
    else:
        assert stopped and not echo_stopped
    assert pipeline.unhanded() == []
