"""Property: any segmentation, reordering or duplication of a valid stream gives the
same requests as the stream delivered in one piece."""

from __future__ import annotations

import itertools
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capture.http.stream import HttpTracker
from capture.model import Request
from capture.net.decode import ACK, FIN, RST, SYN, Segment
from capture.net.reassembly import Limits, Reassembler
from capture.pipeline import Pipeline

CLIENT = bytes([10, 0, 0, 1])
SERVER = bytes([10, 0, 0, 2])

token = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)
value = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=30)


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    method = draw(st.sampled_from(["GET", "POST", "PUT", "HEAD", "OPTIONS"]))
    path = "/" + "/".join(draw(st.lists(token, max_size=3)))
    headers = [("Host", draw(token) + ".example")]
    headers += draw(st.lists(st.tuples(token.map(lambda t: "X-" + t), value), max_size=6))
    body = b""
    if method in ("POST", "PUT"):
        body = draw(st.binary(max_size=200))
        if draw(st.booleans()):
            headers.append(("Content-Length", str(len(body))))
        else:
            headers.append(("Transfer-Encoding", "chunked"))
            cut = draw(st.integers(0, len(body)))
            parts = [p for p in (body[:cut], body[cut:]) if p]
            body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{n}: {v}\r\n" for n, v in headers)
    return head.encode() + b"\r\n" + body


def parse(segments: list[Segment]) -> list[tuple[object, ...]]:
    out: list[Request] = []
    tracker = HttpTracker(lambda _settled, request: out.append(request), lambda *a: None)
    reassembler = Reassembler(tracker)
    for seg in segments:
        reassembler.feed(seg)
    reassembler.flush()
    return [(r.method, r.uri, r.version, r.headers, r.body, r.anomalies) for r in out]


def client_segments(stream: bytes, isn: int, cuts: list[int]) -> list[Segment]:
    points = sorted({c % (len(stream) + 1) for c in cuts} | {0, len(stream)})
    return [
        Segment(1.0, CLIENT, 40000, SERVER, 80, (isn + 1 + a) & 0xFFFFFFFF, 0, ACK, stream[a:b])
        for a, b in itertools.pairwise(points)
        if b > a
    ]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    reqs=st.lists(requests(), min_size=1, max_size=5),
    isn=st.integers(0, 0xFFFFFFFF),
    cuts=st.lists(st.integers(0, 10_000), max_size=20),
    order=st.randoms(use_true_random=False),
    dup_cuts=st.lists(st.integers(0, 10_000), max_size=6),
    dup_count=st.integers(0, 4),
)
def test_segmentation_reordering_duplication_do_not_change_requests(
    reqs: list[bytes], isn: int, cuts: list[int], order: object, dup_cuts: list[int], dup_count: int
) -> None:
    stream = b"".join(reqs)
    syn = Segment(0.5, CLIENT, 40000, SERVER, 80, isn, 0, SYN, b"")
    whole = parse([syn, *client_segments(stream, isn, [])])
    assert len(whole) == len(reqs)

    pieces = client_segments(stream, isn, cuts)
    # Retransmissions with a different segmentation (overlapping the originals).
    retransmitted = client_segments(stream, isn, dup_cuts)
    pieces += [retransmitted[i % len(retransmitted)] for i in range(dup_count)]
    order.shuffle(pieces)  # type: ignore[attr-defined]
    assert parse([syn, *pieces]) == whole


chunk = st.one_of(
    st.binary(max_size=120),
    st.sampled_from(
        [
            b"GET / HTTP/1.1\r\n",
            b"Host: a\r\n",
            b"\r\n",
            b"Content-Length: 5\r\n",
            b"Transfer-Encoding: chunked\r\n",
            b"0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\n",
            b"CONNECT a:443 HTTP/1.1\r\n",
            b"Upgrade: x\r\n",
            b"\x16\x03\x01",
            b" folded\r\n",
        ]
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(["c", "s", "gap-c", "gap-s"]), chunk, st.integers(1, 5000)),
        max_size=30,
    ),
    syn=st.booleans(),
)
def test_arbitrary_bytes_and_gaps_never_raise(
    steps: list[tuple[str, bytes, int]], syn: bool
) -> None:
    """Whatever arrives (garbage, half heads, gaps, tunnels), the HTTP layer neither
    raises nor reports a request that is not one."""
    out: list[Request] = []
    tracker = HttpTracker(lambda _settled, request: out.append(request), lambda *a: None)
    reassembler = Reassembler(tracker)
    seq = {"c": 1000, "s": 9000}
    if syn:
        reassembler.feed(Segment(0.5, CLIENT, 40000, SERVER, 80, 999, 0, SYN, b""))
    for kind, data, gap in steps:
        side = kind[-1]
        if kind.startswith("gap"):
            seq[side] += gap  # bytes the capture never saw
            continue
        src, dst, sport, dport = (
            (CLIENT, SERVER, 40000, 80) if side == "c" else (SERVER, CLIENT, 80, 40000)
        )
        reassembler.feed(Segment(1.0, src, sport, dst, dport, seq[side], 0, ACK, data))
        seq[side] += len(data)
    reassembler.flush()
    for request in out:
        assert request.method and " " not in request.method


# Payloads that move the HTTP layer between its states: heads, bodies, HTTP/0.9
# (which makes reading the server resume), tunnels, and bytes that are not HTTP.
MOVES = [
    b"",
    b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /\r\n",
    b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n",
    b"0123456789",
    b"\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    b"HTTP/1.0 200 OK\r\n\r\n",
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n",
    b"CONNECT a:443 HTTP/1.1\r\n\r\n",
    b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    b"\x16\x03\x01",
]
USUAL_FLAGS = [SYN, SYN | ACK, ACK, ACK | 0x08, FIN | ACK, RST, FIN | ACK | 0x08]


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1))
def test_any_flags_and_sequence_numbers_never_raise(seed: int) -> None:
    """Segments as damaged captures and odd stacks deliver them: any flags (a SYN
    with data out of place, RST with payload), sequence numbers anywhere, bytes
    beyond the snap length, port reuse, either side speaking HTTP first, through
    the whole pipeline with small limits and idle sweeps. Nothing raises. (A seed
    drives the draw, as in test_scan_jobs.busy_lan: what matters is many odd
    sequences, and a seed replays one exactly.)"""
    rng = random.Random(seed)
    for responses in (False, True):
        limits = Limits(idle_timeout=5.0, stream_buffer=200, total_buffer=500)
        pipeline = Pipeline(None, limits, responses)
        isn = [rng.getrandbits(32), rng.getrandbits(32)]
        sent = [0, 0]
        ts = 1.0
        for _ in range(rng.randint(1, 40)):
            side = rng.randrange(2)
            flags = rng.getrandbits(8) if rng.random() < 0.5 else rng.choice(USUAL_FLAGS)
            payload = rng.choice(MOVES)
            if rng.random() < 0.3:
                payload = payload[: rng.randrange(len(payload) + 1)]
            off = rng.choice([0, 0, 0, 1, -1, rng.randrange(-100, 100), rng.getrandbits(32)])
            seq = (isn[side] + 1 + sent[side] + off) & 0xFFFFFFFF
            ack = (isn[1 - side] + 1 + sent[1 - side] + rng.choice([0, 0, 5, -5])) & 0xFFFFFFFF
            if rng.random() < 0.8:
                sent[side] += len(payload)
            ts += rng.choice([0.001, 0.01, 1.0, 7.0])
            missing = rng.choice([0, 0, 0, 3, 100])
            port = rng.choice([40000, 40000, 40001])
            ends = (CLIENT, port, SERVER, 80) if side == 0 else (SERVER, 80, CLIENT, port)
            pipeline.reassembler.feed(Segment(ts, *ends, seq, ack, flags, payload, missing))
            if rng.random() < 0.1:
                pipeline.advance(ts)
        pipeline.flush()
