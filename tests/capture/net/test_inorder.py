"""Reassembly's common segment in C (capture/net/_inorder.c) against the Python feed.

``Reassembler.segment_feed()`` takes a whole, in-order data segment in C and hands every
other segment to ``Reassembler.feed``, the reference. Here both are fed the same
segments (reordered, overlapping, retransmitted, across the sequence-number wrap, cut,
with any flags, and damaged: values no decoder gives) with sinks that act back on the
reassembler as the HTTP layer does, and must leave the same events, the same state and
the same exceptions after every segment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capture.net import reassembly
from capture.net.decode import ACK, FIN, IP_OVERLAP, RST, SYN, Segment
from capture.net.fragments import OVERLAP_NOTE
from capture.net.reassembly import Flow, Limits, Reassembler
from capture.scan import scan

_inorder = pytest.importorskip("capture.net._inorder")

A = bytes([10, 0, 0, 1])
B = bytes([10, 0, 0, 2])
PORTS = (40000, 40001, 40002)


@dataclass
class ActingSink:
    """A StreamSink that writes down everything and, told by the bytes it is given,
    acts back on the reassembler as the layer above may: stops or resumes reading a
    direction, probes one, or has the connection closed (evicted) under it."""

    events: list[tuple[object, ...]] = field(default_factory=list)
    held_bytes: int = 0

    def on_data(self, flow: Flow, direction: int, ts: float, data: bytes) -> None:
        self.events.append(("data", flow.id, direction, ts, bytes(data)))
        owner = flow.owner
        if owner is None or not data:
            return
        act = data[0]
        if act == ord("I"):
            owner.set_ignore(flow, 1 - direction, True)
        elif act == ord("i"):
            owner.set_ignore(flow, direction, True)
        elif act == ord("R"):
            owner.set_ignore(flow, 1 - direction, False)
        elif act == ord("P"):
            owner.set_probe(flow, 1 - direction, True)
        elif act == ord("X"):
            owner._close(flow)

    def on_gap(self, flow: Flow, direction: int, ts: float, size: int) -> None:
        self.events.append(("gap", flow.id, direction, ts, size))

    def on_note(self, flow: Flow, direction: int, ts: float, text: str) -> None:
        self.events.append(("note", flow.id, direction, ts, text))

    def on_roles(self, flow: Flow) -> None:
        self.events.append(("roles", flow.id, flow.client))

    def on_close(self, flow: Flow, why: str = "connection ended") -> None:
        self.events.append(("close", flow.id))


def _state(r: Reassembler) -> object:
    """Everything feed may change, comparable."""
    flows = {id(flow): flow for flow, _ in r._flows.values()}
    flows.update({id(flow): flow for flow in r._lru.values()})
    return (
        dict(r.counters),
        dict(r.skip),
        dict(r.touched),
        sorted(r.by_raw),
        list(r._lru),
        dict(r._half_open),
        list(r._half_open_order),
        {second: list(keys) for second, keys in r._half_open_due.items()},
        list(r._half_open_seconds),
        r._half_open_filed,
        r._next_id,
        dict(r._closed._when),
        r._buffered,
        sorted(
            (
                flow.id,
                flow.key,
                repr(flow.stamp),
                repr(flow.last_ts),
                flow.closed,
                flow.client,
                [
                    (h.next_seq, h.offset, list(h.pending), h.pending_bytes, h.isn, h.fin, h.ignore)
                    for h in flow.halves
                ],
                [h.syn_data for h in flow.halves],
                [h.probe for h in flow.halves],
            )
            for flow in flows.values()
        ),
    )


# Flags of the common segment, and any others.
PLAIN = st.sampled_from([ACK, ACK | 0x08, 0])
FLAGS = st.sampled_from(
    [SYN, SYN | ACK, FIN | ACK, FIN, RST, RST | ACK, SYN | FIN, ACK | IP_OVERLAP, 0xFF, -1]
)
# Sequence numbers: anywhere, and close to the wrap.
ISN = st.one_of(st.integers(0, 0xFFFFFFFF), st.integers(0xFFFFFF00, 0xFFFFFFFF))
# Payloads: most say nothing to the sink; the others make it act (see ActingSink).
PAYLOAD = st.sampled_from([b"GET ", b"body", b"HTTP"] * 12 + [b"I", b"i", b"R", b"P", b"X"])
# What a damaged segment may carry in place of a field (no decoder gives these).
ODD = st.sampled_from([-1, 1 << 32, (1 << 64) + 3, 2.5, None, "x", b"", bytearray(b"ab")])


@st.composite
def segments(draw: st.DrawFn) -> list[Segment]:
    """Segments of two connections, mostly whole and in order (the C feed's case), with
    every kind of trouble between them."""
    isns = [[draw(ISN), draw(ISN)] for _ in PORTS]
    sent = [[0, 0] for _ in PORTS]  # bytes sent so far per connection and direction
    out: list[Segment] = []
    for _ in range(draw(st.integers(1, 50))):
        conn = draw(st.integers(0, len(PORTS) - 1))
        direction = draw(st.integers(0, 1))
        kind = draw(
            st.sampled_from(["next"] * 16 + ["jump", "back", "flags"] + ["handshake"] * 2 + ["ack"])
        )
        payload = (draw(PAYLOAD) * 4)[: draw(st.integers(0 if kind != "next" else 1, 12))]
        flags = draw(PLAIN if kind in ("next", "jump", "back") else FLAGS)
        isn = isns[conn][direction]
        rel = sent[conn][direction]
        if kind == "handshake":
            seq, flags, payload = isn, SYN | (ACK if direction else 0), b""
            if draw(st.integers(0, 3)) == 0:  # a SYN with another ISN: port reuse
                seq = (seq + draw(st.integers(1, 1 << 31))) & 0xFFFFFFFF
        elif kind == "ack":  # the handshake's last segment, or any pure acknowledgement
            seq, flags, payload = (isn + 1 + rel) & 0xFFFFFFFF, ACK, b""
        else:
            if kind == "jump":
                rel += draw(st.integers(1, 20))
            elif kind == "back":
                rel -= draw(st.integers(0, 20))
            seq = (isn + 1 + rel) & 0xFFFFFFFF
        missing = draw(st.sampled_from([0] * 9 + [3]))
        if kind == "next":
            sent[conn][direction] += len(payload) + missing
        ack = (isns[conn][1 - direction] + 1 + sent[conn][1 - direction]) & 0xFFFFFFFF
        ack = draw(st.sampled_from([ack, ack, 0, (ack + 50) & 0xFFFFFFFF]))
        ends = (A, PORTS[conn], B, 80) if direction == 0 else (B, 80, A, PORTS[conn])
        # Time passes in steps, so that idle connections close (see LIMITS).
        ts = float(len(out) * draw(st.sampled_from([1, 1, 7])))
        fields: list[object] = [ts, *ends, seq, ack, flags, payload, missing]
        if draw(st.integers(0, 19)) == 0:
            fields[draw(st.sampled_from([0, 1, 2, 5, 7, 8, 9]))] = draw(ODD)
        out.append(Segment(*fields))  # type: ignore[arg-type]
    return out


@st.composite
def handshakes(draw: st.DrawFn) -> list[Segment]:
    """Segments of a few connections, mostly without payload (handshakes, pure
    acknowledgements, closes, and segments after the close), as a SYN flood or a
    scan of many short connections has them."""
    ports = range(40000, 40000 + draw(st.integers(1, 6)))
    isns = {(port, d): draw(ISN) for port in ports for d in (0, 1)}
    out: list[Segment] = []
    for _ in range(draw(st.integers(1, 40))):
        port = draw(st.sampled_from(ports))
        direction = draw(st.integers(0, 1))
        isn = isns[port, direction]
        kind = draw(st.sampled_from(["syn", "syn", "ack", "ack", "ack", "data", "fin", "rst"]))
        flags, seq, payload = ACK, (isn + 1) & 0xFFFFFFFF, b""
        if kind == "syn":
            flags, seq = SYN | draw(st.sampled_from([0, ACK])), isn
            if draw(st.integers(0, 5)) == 0:  # another ISN: port reuse
                seq = draw(ISN)
        elif kind == "data":
            payload = draw(PAYLOAD)
        elif kind == "fin":
            flags = FIN | ACK
        elif kind == "rst":
            flags = RST | draw(st.sampled_from([0, ACK]))
        ends = (A, port, B, 80) if direction == 0 else (B, 80, A, port)
        ts = float(len(out) * draw(st.sampled_from([1, 1, 7])))
        fields: list[object] = [ts, *ends, seq, 0, flags, payload, 0]
        if draw(st.integers(0, 19)) == 0:
            fields[draw(st.sampled_from([0, 1, 2, 4, 5, 7, 8, 9]))] = draw(ODD)
        out.append(Segment(*fields))  # type: ignore[arg-type]
    return out


def _run(r: Reassembler, feed: object, sink: ActingSink, segs: list[Segment]) -> list[object]:
    """Feed ``segs`` one by one (time passing as a scan has it, :meth:`Reassembler.tick`
    before each), then flush; what happened after each (exception, events, state)."""
    seen: list[object] = []
    for number, seg in enumerate([*segs, None], 1):
        r.frame_no = number
        try:
            if seg is None:
                r.flush()
            else:
                if type(seg.ts) is float:
                    r.tick(seg.ts)
                feed(seg)  # type: ignore[operator]
            error = None
        except Exception as exc:  # damaged segments may raise: alike in both
            error = (type(exc), str(exc))
        seen.append((error, list(sink.events), _state(r)))
    return seen


LIMITS = [
    Limits(),
    Limits(stream_buffer=8, total_buffer=12, memory=7000),
    # Half-open connections evicted for room, connections idle-closed, closed ones forgotten.
    Limits(memory=3072 + 2 * 192, idle_timeout=20, closed_memory=1),
    Limits(idle_timeout=9.5),
]


def _odd_ports(key: tuple[bytes, int, bytes, int]) -> bool:
    """A split scan's ``owns``: this process reads the connections of odd client ports."""
    return bool((key[1] ^ key[3]) & 1)


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    segs=st.one_of(segments(), handshakes()),
    limits=st.sampled_from(LIMITS),
    owns=st.sampled_from([None, _odd_ports]),
)
def test_the_c_feed_does_what_the_python_feed_does(
    segs: list[Segment], limits: Limits, owns: object
) -> None:
    python_sink, c_sink = ActingSink(), ActingSink()
    python = Reassembler(python_sink, limits, owns)  # type: ignore[arg-type]
    c = Reassembler(c_sink, limits, owns)  # type: ignore[arg-type]
    assert _run(python, python.feed, python_sink, segs) == _run(c, c.segment_feed(), c_sink, segs)


def test_a_whole_in_order_segment_is_taken_in_c(monkeypatch: pytest.MonkeyPatch) -> None:
    """The common case does not reach the Python feed (or the test above would compare
    the Python feed with itself)."""
    sink = ActingSink()
    r = Reassembler(sink)
    feed = r.segment_feed()
    feed(Segment(1.0, A, 40000, B, 80, 99, 0, SYN, b"", 0))
    feed(Segment(1.0, B, 80, A, 40000, 499, 100, SYN | ACK, b"", 0))
    feed(Segment(1.0, A, 40000, B, 80, 100, 500, ACK, b"GET ", 0))
    calls: list[Segment] = []
    monkeypatch.setattr(Reassembler, "feed", lambda self, seg: calls.append(seg))
    r.frame_no = 7
    feed(Segment(2.0, A, 40000, B, 80, 104, 500, ACK, b"/ HTTP/1.1", 0))
    assert calls == []
    (flow,) = r._lru.values()
    assert sink.events[-1] == ("data", flow.id, 0, 2.0, b"/ HTTP/1.1")
    assert (flow.stamp, flow.last_ts, flow.halves[0].offset) == (7, 2.0, 14)
    assert flow.halves[0].next_seq == 114


def _c_feed_watched(
    r: Reassembler, monkeypatch: pytest.MonkeyPatch
) -> tuple[Callable[[Segment], None], list[Segment]]:
    """``r``'s C feed, and the list of the segments it hands to the Python feed."""
    calls: list[Segment] = []
    python_feed = Reassembler.feed
    monkeypatch.setattr(
        Reassembler, "feed", lambda self, seg: (calls.append(seg), python_feed(self, seg))
    )
    return r.segment_feed(), calls


def test_a_whole_short_connection_is_taken_in_c(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SYN, SYN+ACK and ACK of a new connection, its first data (making it whole), its
    FINs and an ACK after its close do not reach the Python feed (or the comparison
    above would not look at the C that takes them)."""
    sink = ActingSink()
    r = Reassembler(sink)
    feed, calls = _c_feed_watched(r, monkeypatch)
    r.frame_no = 3
    feed(Segment(1.0, A, 40000, B, 80, 99, 0, SYN, b"", 0))
    feed(Segment(1.5, B, 80, A, 40000, 499, 100, SYN | ACK, b"", 0))
    feed(Segment(2.0, A, 40000, B, 80, 100, 500, ACK, b"", 0))
    assert calls == []
    assert r.counters["flows"] == 1 and r.half_open_flows == 1
    assert r._half_open_due == {301: [A + B + bytes([0x9C, 0x40, 0, 80])]}
    feed(Segment(2.0, A, 40000, B, 80, 100, 500, ACK, b"GET ", 0))  # made whole
    (flow,) = r._lru.values()
    assert (flow.id, flow.client, flow.start_ts, flow.halves[1].isn) == (3, 0, 1.0, 499)
    assert sink.events[-1] == ("data", 3, 0, 2.0, b"GET ")
    r.frame_no = 9
    feed(Segment(3.0, A, 40000, B, 80, 104, 500, FIN | ACK, b"", 0))
    assert (flow.halves[0].fin, flow.stamp, flow.last_ts, flow.closed) == (4, 9, 3.0, False)
    feed(Segment(3.5, B, 80, A, 40000, 500, 105, FIN | ACK, b"", 0))
    assert flow.closed and sink.events[-1] == ("close", 3)
    feed(Segment(4.0, A, 40000, B, 80, 105, 501, ACK, b"", 0))
    assert calls == []
    assert r.counters["late_segments"] == 1


def _opened_watched(
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[ActingSink, Reassembler, Callable[[Segment], None], list[Segment]]:
    """A reassembler and its watched C feed (:func:`_c_feed_watched`) after a
    connection's first data (which the Python feed opens; not in the list)."""
    sink = ActingSink()
    r = Reassembler(sink)
    feed, calls = _c_feed_watched(r, monkeypatch)
    feed(Segment(1.0, A, 40000, B, 80, 100, 500, ACK, b"GET ", 0))
    calls.clear()
    return sink, r, feed, calls


def test_a_fin_not_at_the_next_byte_is_left_to_the_python_feed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Whether it is in the window is the Python feed's to say (it passes over one
    far ahead, the tester's case 5e); one at the next byte stays in C."""
    _, r, feed, calls = _opened_watched(monkeypatch)
    far = Segment(2.0, A, 40000, B, 80, 10_000_104, 500, FIN | ACK, b"", 0)
    feed(far)
    assert calls == [far]
    (flow,) = r._lru.values()
    assert flow.halves[0].fin is None and r.counters["fins_passed_over"] == 1
    feed(Segment(3.0, A, 40000, B, 80, 104, 500, FIN | ACK, b"", 0))
    assert calls == [far] and flow.halves[0].fin == 4


def test_a_segment_of_overlapping_ip_fragments_is_left_to_the_python_feed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In order and whole, but marked by the decoder: the Python feed notes it before
    its bytes (the tester's cases 4b and 4c); so does a bare ACK so marked."""
    sink, r, feed, calls = _opened_watched(monkeypatch)
    marked = Segment(2.0, A, 40000, B, 80, 104, 500, ACK | IP_OVERLAP, b"/ HTTP/1.1", 0)
    feed(marked)
    (flow,) = r._lru.values()
    assert calls == [marked]
    assert sink.events[-2:] == [
        ("note", flow.id, 0, 2.0, OVERLAP_NOTE),
        ("data", flow.id, 0, 2.0, b"/ HTTP/1.1"),
    ]
    bare = Segment(3.0, B, 80, A, 40000, 500, 114, ACK | IP_OVERLAP, b"", 0)
    feed(bare)
    assert calls == [marked, bare] and sink.events[-1] == ("note", flow.id, 1, 3.0, OVERLAP_NOTE)


@pytest.mark.parametrize("c", [False, True], ids=["python", "c"])
def test_a_syn_flood_stays_within_the_memory_bound_oldest_evicted_first(c: bool) -> None:
    """Half-open connections opened in C are charged and evicted as the Python feed's: a
    flood of SYNs from 5,000 ports keeps at most the bound's worth, the newest."""
    sink = ActingSink()
    limits = Limits(memory=reassembly.FLOW_COST + 100 * reassembly.HALF_OPEN_COST)
    r = Reassembler(sink, limits)
    feed = r.segment_feed() if c else r.feed
    feed(Segment(0.5, A, 80, B, 9999, 7, 0, ACK, b"GET ", 0))  # one connection with data
    for port in range(1000, 6000):
        r.frame_no = port
        feed(Segment(1.0 + port / 10_000, A, port, B, 80, port * 7, 0, SYN, b"", 0))
        assert r.state_bytes <= limits.memory
    assert (r.half_open_flows, r.counters["half_open_evicted"]) == (100, 4900)
    assert sorted(int.from_bytes(key[8:10], "big") for key in r._half_open) == list(
        range(5900, 6000)
    )
    assert len(r._half_open_order) <= 2 * 100 + 1024  # its stale entries compacted away
    assert sink.events == [("data", 1, 0, 0.5, b"GET ")]


@given(addr=st.binary(min_size=4, max_size=4))
def test_an_ipv4_address_reads_in_c_as_inet_ntop_reads_it(addr: bytes) -> None:
    assert _inorder.ipv4_text(addr) == reassembly._ipv4_text(addr)


@pytest.mark.parametrize("addr", [b"", b"\x01\x02\x03", bytes(5), bytes(16), bytearray(4), "1234"])
def test_the_c_ipv4_text_refuses_anything_but_4_bytes(addr: object) -> None:
    with pytest.raises(ValueError):
        _inorder.ipv4_text(addr)  # type: ignore[arg-type]


def test_the_c_feed_takes_tcp_flags_as_the_decoder_names_them() -> None:
    """The C names the flags itself (they are RFC 793's)."""
    assert (FIN, SYN, RST, ACK) == (0x01, 0x02, 0x04, 0x10)


def test_the_c_feed_keeps_the_sequence_number_modulo_2_to_the_32() -> None:
    sink = ActingSink()
    r = Reassembler(sink)
    feed = r.segment_feed()
    feed(Segment(1.0, A, 40000, B, 80, 0xFFFFFFFE, 0, ACK, b"ab", 0))  # opens, in Python
    feed(Segment(1.0, A, 40000, B, 80, 0, 0, ACK, b"cdef", 0))  # at 0, in C
    (flow,) = r._lru.values()
    assert flow.halves[0].next_seq == 4
    assert [e[4] for e in sink.events if e[0] == "data"] == [b"ab", b"cdef"]


def test_the_c_feed_needs_flow_and_half_objects_with_slots() -> None:
    class Loose:  # class attributes, not slots: the C feed could not read them
        halves = id = stamp = last_ts = next_seq = ignore = pending = fin = offset = None

    with pytest.raises(TypeError):
        _inorder.InOrder(Reassembler(ActingSink()), print, Loose, Loose, SYN | FIN | RST)


CORPUS = sorted((Path(__file__).parents[2] / "data" / "pcaps").rglob("*.pcap*"))


@pytest.mark.parametrize("path", CORPUS[::6], ids=lambda p: p.name)
def test_a_scan_writes_the_same_with_and_without_the_c_feed(
    path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def run() -> str:
        out, err = tmp_path / "out", tmp_path / "err"
        with out.open("w") as o, err.open("w") as e:
            status = scan([str(path)], out=o, err=e, jobs=1)
        return f"{status}\n{out.read_text()}\n{err.read_text()}"

    with_c = run()
    monkeypatch.setattr(reassembly, "_inorder", None)
    assert run() == with_c
