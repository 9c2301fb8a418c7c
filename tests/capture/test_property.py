"""Property: any segmentation, reordering or duplication of a valid stream gives the
same requests as the stream delivered in one piece."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capture.decode import ACK, SYN, Segment
from capture.http_stream import HttpTracker
from capture.model import Request
from capture.reassembly import Reassembler

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
    tracker = HttpTracker(out.append, lambda *a: None)
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
    tracker = HttpTracker(out.append, lambda *a: None)
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
