"""TCP reassembly: segments in, ordered per-direction byte streams out.

Each connection has two halves (one per direction). A half delivers bytes in
sequence order exactly once: retransmissions and overlaps are trimmed (the copy
delivered first wins, see below), out-of-order segments wait until the hole before
them fills. A hole that cannot fill is reported as a *gap* of N bytes, never papered over:

* the receiver acknowledged bytes that the capture never saw (the capture lost
  them; the network did not), or
* the out-of-order bytes waiting behind a hole exceed the per-stream cap, or
* the connection closes, goes idle, or the input ends;

except where the receiver was seen waiting for the hole (the same acknowledgement of
its first byte twice while bytes were held: :attr:`Half.awaited`): then what waits is
dropped (``ahead_dropped``, noted), the receiver never having read it in order, and the stream
keeps its place, so that bytes sent far ahead do not make the request that then comes
at the next byte read as a retransmission.

Sequence numbers are compared modulo 2**32, so wraparound is ordinary.

Where the monitor and the server could read different bytes (an evader's hope), the
policy is the receiver's where a passive capture can know it, and said on the
request (through :meth:`StreamSink.on_note`) where it cannot:

* **Resets.** A RST ends the connection only where the server would take it (RFC 5961
  §3.2, what Linux does): at the next byte its sender's half expects, where that
  place is not known (nothing seen from that side yet, or a direction nobody reads),
  or answering a SYN (RST+ACK acknowledging it, from a side that sent no SYN).
  Any other RST (out of the window, or in it but not at the next byte, which gets a
  challenge ACK) is passed over, whole, counted (``resets_passed_over``) and noted.
* **FINs.** A FIN ends its direction's stream only at the next byte or ahead of it by
  at most :attr:`Limits.stream_buffer`: the bytes between were lost by the capture
  (the receiver takes the FIN once they came). Any other FIN (behind the next byte,
  or further ahead, out of any window a real connection had: an evader's, which the
  receiver drops, RFC 9293 §3.10.7.4) is passed over, counted (``fins_passed_over``)
  and noted; its payload takes the way of any data. A receiver reads nothing past a
  FIN: held segments that start at or past it are dropped when the hole before them
  is given up, not read after a gap (``data_past_fin``, noted), unless the receiver
  acknowledged bytes past the hole or the sender went on past the FIN in order (then
  the FIN was no end: one that never reached the server).
* **Data on a SYN** is read only where the peer's SYN+ACK acknowledges it (TCP Fast
  Open): until then it is held (one segment a connection, within
  :attr:`Limits.total_buffer`), and it is dropped and counted (``syn_data_dropped``)
  where the SYN+ACK acknowledges the SYN alone, or where the sender goes on from the
  SYN's next byte, as Linux drops it without Fast Open.
* **Overlaps: the copy delivered first wins** (of copies held out of order, the one
  that starts earlier, then the one captured earlier; a held copy loses to a segment
  that arrives in order over it). Where both copies are in memory (held ones drained
  one after the other, or a held one against the segment just delivered over it) the
  overlapping bytes are compared: copies that differ are counted
  (``overlaps_differing``) and noted, since the server may have read the other one.
  Bytes already delivered are not kept (memory), so a retransmission of them is
  trimmed without being compared.

What a passive capture cannot know: whether a segment reached the server at all
(a TTL that runs out on the way, a bad checksum, which this module does not check:
captures on the sending host carry bad checksums from offload). A RST at the next
byte ends the connection here even if the server never got it. Where its sender then
goes on at that very byte (within :data:`RESET_GRACE`; a real stack sends nothing
after its own RST), the connection is read on from there, as the same one, counted
(``data_after_reset``) and noted: the server may have read it. So it is where the RST
came from the server's side and the client goes on at its own next byte: a forged
RST the client never got (the server, which did not send it, reads what follows), or
a real one that crossed the client's request (the server did not read it); noted as
such. The server's data after the client's RST is not read: the client drops it.
Other segments on its 4-tuple after that are counted (``late_segments``; those with
data ``data_after_close``), not read.

The reassembler calls a :class:`StreamSink` (the HTTP layer) rather than
returning lists: this is the per-packet hot path.
"""

from __future__ import annotations

# socket's C half: socket.py wraps it in enums and brings selectors, for the two
# functions used here (_ntop and the flow's addresses).
import _socket
import bisect
import heapq
import math
import struct
from _socket import AF_INET, inet_ntop
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from capture.net.decode import ACK, FIN, IP_OVERLAP, RST, SYN, Segment
from capture.net.fragments import OVERLAP_NOTE as FRAGMENT_OVERLAP_NOTE
from capture.text import counted

try:  # built at install time where a C compiler is there (see pyproject.toml)
    from capture.net import _inorder
except ImportError:
    _inorder = None  # type: ignore[assignment]


def _ipv4_text(addr: bytes) -> str:
    """A packed IPv4 address as text: the reference of ``_inorder.ipv4_text``."""
    return inet_ntop(AF_INET, addr)


_ipv4 = _ipv4_text if _inorder is None else _inorder.ipv4_text
"""A connection's IPv4 addresses as text (in C: the C library's inet_ntop formats
with sprintf, ~1,700 instructions a call, twice a connection)."""

_MASK = 0xFFFFFFFF
_HALF = 0x80000000


def _delta(a: int, b: int) -> int:
    """Signed distance from sequence number ``b`` to ``a`` (mod 2**32)."""
    return ((a - b + _HALF) & _MASK) - _HALF


_RARE = RST | IP_OVERLAP
"""The flags :meth:`Reassembler.feed` looks at before the segment's bytes, in one test."""

RESET_NOTE = "TCP reset not at the next byte passed over (the server may have ignored it too)"
"""The note (:meth:`StreamSink.on_note`) of a RST that did not end the connection."""
SYN_DATA_NOTE = (
    "data on the TCP SYN not acknowledged, not read (the server reads what follows the SYN)"
)
"""The note of a SYN's payload that was dropped (see the module's docstring)."""
OVERLAP_NOTE = (
    "TCP segments overlapped with different bytes; one copy was read "
    "(the server may have read the other)"
)
"""The note of two copies of the same bytes that differ."""
FIN_NOTE = "TCP FIN out of the window passed over (the server would have ignored it too)"
"""The note of a FIN that did not end its direction's stream."""
DATA_PAST_FIN_NOTE = "TCP data past its sender's FIN not read (the server never read it either)"
"""The note of held data dropped because it lies past its sender's FIN
(:meth:`Reassembler._drop_past_fin`)."""
AHEAD_NOTE = "TCP data sent ahead of bytes the receiver was still waiting for, not read"
"""The note of held data dropped where the receiver was seen waiting for the hole
before it (:meth:`Reassembler._drop_awaited`): over the buffer, or at the close."""
DATA_AFTER_RESET_NOTE = "data after a TCP reset (the server may not have taken the reset)"
"""The note of a connection read on after a RST (:meth:`Reassembler._read_on`)."""
CLIENT_AFTER_RESET_NOTE = (
    "client data after a TCP reset from the server's side (the client may never have got the reset)"
)
"""The note of a connection read on where the client went on after a RST that came
from the server's side (:meth:`Reassembler._read_on`)."""
RESET_GRACE = 30.0
"""Seconds (capture time) after a RST at the next byte during which data from its
sender at that very byte (or, after one from the server's side, from the client at
its next byte) is still read: an evader's real request follows his forged RST at
once; a real stack sends nothing after its own RST."""
RESET_PLACES = 1024
"""Places kept at once after such RSTs (about 300 bytes each; a RST from the server's
side keeps two, its own and the client's); past it the oldest is forgotten, and
data after it is counted, not read."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what reassembly may hold; overflow is counted, never silent."""

    stream_buffer: int = 1 << 20
    """Out-of-order bytes one direction may hold behind a hole."""
    total_buffer: int = 16 << 20
    """Out-of-order bytes all connections together may hold."""
    memory: int = 32 << 20
    """Bytes of connection state (the flow table): each tracked connection is
    charged :data:`HALF_OPEN_COST` until it carries data, :data:`FLOW_COST` from
    then on. Past it, half-open connections are evicted first (oldest first), then
    the least recently active connection."""
    idle_timeout: float = 300.0
    """Seconds (capture time) after which a silent connection is closed."""
    closed_memory: int = 20_000
    """Closed connections remembered, so late retransmissions are not new flows."""


FlowKey = tuple[bytes, int, bytes, int]

HALF_OPEN_COST = 192
"""Bytes a half-open connection (handshake segments only, no data yet) is charged:
its entry in the half-open table. ``bench/memory_bench.py`` measures it with
tracemalloc (about 160 bytes)."""
FLOW_COST = 3072
"""Bytes a connection that carried data is charged: its :class:`Flow`, both
:class:`Half` objects, its table entries and the HTTP layer's state of it when
empty. ``bench/memory_bench.py`` measures it with tracemalloc (about 3.0 KB: 3,024
bytes on 42aa9a5). The bytes the HTTP layer holds for it (a head being read, up to
``--max-head``; a request body, up to 64 KiB) are charged on top
(:attr:`Reassembler.state_bytes`)."""

_HALF_OPEN = struct.Struct("<qddIIIIB")
"""A half-open connection: id, first and last capture time, then per direction the
initial and next sequence numbers, and flags (:data:`_ISN0` ...)."""
_ISN0, _ISN1, _NEXT0, _NEXT1, _CLIENT_KNOWN, _CLIENT_B = 1, 2, 4, 8, 16, 32
_RESET0, _RESET1 = 64, 128
"""A RST from that direction was passed over: noted when the connection carries data."""
_HALF_OPEN_LAST = struct.Struct("<16xd")
"""The last capture time in a :data:`_HALF_OPEN` state."""


_PORTS = struct.Struct(">HH").pack
"""Two ports as they sit in a TCP header: the tail of a packed key."""


def _packed_key(src: bytes, sport: int, dst: bytes, dport: int) -> bytes:
    """A connection's key as one small bytes object (the half-open table's keys), which
    is also the direction's raw key (:func:`_raw_key`)."""
    return src + dst + _PORTS(sport, dport)


def _unpacked_key(packed: bytes) -> FlowKey:
    n = (len(packed) - 4) // 2
    return (
        packed[:n],
        int.from_bytes(packed[2 * n : 2 * n + 2], "big"),
        packed[n : 2 * n],
        int.from_bytes(packed[2 * n + 2 :], "big"),
    )


class _ClosedMemory:
    """Keys of closed connections, each until its own time runs out.

    Entries expire by the time they carry (the connection's last activity), not
    by when they were added: a connection closed for idleness is added long after
    its last segment, behind connections closed since with later times. Expiring
    in the order of adding would keep it until those expire, and whether a
    segment on its 4-tuple opens a new connection would depend on unrelated ones
    (and differ between the processes of a split scan, which close other
    processes' connections at other moments).
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._when: dict[FlowKey, float] = {}
        # (time, key), smallest first; entries whose key was forgotten or added
        # again since are stale and skipped.
        self._heap: list[tuple[float, FlowKey]] = []

    def __contains__(self, key: FlowKey) -> bool:
        return key in self._when

    def __len__(self) -> int:
        return len(self._when)

    def add(self, key: FlowKey, when: float) -> None:
        """Remember ``key`` as closed, last active at ``when``; beyond the limit
        the longest-inactive key is forgotten."""
        self._when[key] = when
        heapq.heappush(self._heap, (when, key))
        while len(self._when) > self._limit:
            self._pop()
        if len(self._heap) > 2 * len(self._when) + 64:
            # Too many stale entries (keys forgotten or closed again): rebuild.
            self._heap = [(w, k) for k, w in self._when.items()]
            heapq.heapify(self._heap)

    def forget(self, key: FlowKey) -> None:
        """A new connection uses ``key``: it is no longer a closed one."""
        self._when.pop(key, None)

    def expire(self, horizon: float) -> None:
        """Forget every key last active before ``horizon``."""
        heap = self._heap
        while heap and heap[0][0] < horizon:
            self._pop()

    def _pop(self) -> None:
        when, key = heapq.heappop(self._heap)
        if self._when.get(key) == when:
            del self._when[key]


class Half:
    """One direction of a connection."""

    __slots__ = (
        "acked_at",
        "awaited",
        "fin",
        "ignore",
        "isn",
        "next_seq",
        "offset",
        "pending",
        "pending_bytes",
        "probe",
        "syn_data",
    )

    def __init__(self) -> None:
        self.next_seq: int | None = None
        self.offset = 0
        """Bytes delivered (or skipped as gaps) so far: the stream position."""
        self.pending: list[tuple[int, float, bytes]] = []
        """Out-of-order data as (stream position, ts, bytes), sorted."""
        self.pending_bytes = 0
        self.isn: int | None = None
        """Initial sequence number, when the SYN was seen."""
        self.ignore = False
        """Set by the layer above when nobody reads this direction's bytes: they are
        then neither buffered nor delivered, only counted in the sequence space."""
        self.fin: int | None = None
        """Stream position of the FIN, once seen."""
        self.probe = False
        """Set by the layer above while the first bytes of this direction would only
        be looked at for a verdict the reader of the capture can give itself (see
        :attr:`Reassembler.skip`)."""
        self.syn_data: tuple[float, bytes, int] | None = None
        """The payload of this direction's SYN (capture time, bytes, bytes not
        captured) while the handshake has not said whether the peer took it; the
        stream's place (:attr:`next_seq`) is None meanwhile."""
        self.acked_at: int | None = None
        """While bytes are held behind a hole: the hole's first byte, once the receiver
        acknowledged it (it had everything before the hole, and none of it)."""
        self.awaited = False
        """While bytes are held behind a hole: the receiver acknowledged the hole's first
        byte twice (a duplicate, as a receiver sends for each segment that comes past a
        hole), so it was waiting for the hole's bytes: the network lost them, or they
        were never sent, not only the capture. One acknowledgement there is no proof: a
        late one, sent before the held bytes came, says as much. Nor is one inside the
        hole, even repeated (a window update): the receiver had bytes the capture lost."""

    def forget_wait(self) -> None:
        """What the receiver waits for is not known (nothing held, or the hole it
        acknowledged is past): :attr:`acked_at` and :attr:`awaited` start again."""
        self.acked_at = None
        self.awaited = False


class Flow:
    """A TCP connection: two halves plus a slot for the layer above."""

    __slots__ = (
        "a",
        "a_port",
        "app",
        "b",
        "b_port",
        "client",
        "closed",
        "foreign",
        "halves",
        "id",
        "key",
        "last_ts",
        "owner",
        "raw_keys",
        "stamp",
        "start_ts",
    )

    def __init__(
        self,
        flow_id: int,
        key: FlowKey,
        a: str,
        b: str,
        ts: float,
        raw_keys: tuple[bytes, bytes] | None = None,
    ) -> None:
        """``raw_keys``: :attr:`raw_keys`, when the caller has them at hand."""
        self.id = flow_id
        self.key = key
        self.a = a
        self.a_port = key[1]
        self.b = b
        self.b_port = key[3]
        self.client: int | None = None
        """0 if side ``a`` opened the connection, 1 if ``b`` did, None if unknown."""
        self.halves = (Half(), Half())
        self.owner: Reassembler | None = None
        self.app: object = None
        self.closed = False
        self.start_ts = ts
        self.last_ts = ts
        self.foreign = False
        """Another process reads this connection (see :attr:`Reassembler.owns`)."""
        self.stamp: int | tuple[int, float, int] = 0
        """When the connection last moved to the back of the least-recently-active
        order: the frame number of a segment, or (frame number, capture time, id)
        of a fold of skipped segments (:meth:`Reassembler._fold_touched`)."""
        self.raw_keys = raw_keys or (_raw_key(key), _raw_key(_reverse(key)))
        """Each direction's addresses and ports as they sit in a plain frame's IP and
        TCP headers (see :attr:`Reassembler.skip`)."""


class StreamSink(Protocol):
    """What reassembly feeds: the HTTP layer, or a recorder in tests."""

    def on_data(self, flow: Flow, direction: int, ts: float, data: bytes) -> None:
        """In-order bytes of ``direction`` (0: from ``flow.a``, 1: from ``flow.b``)."""

    def on_gap(self, flow: Flow, direction: int, ts: float, size: int) -> None:
        """``size`` bytes of the stream were never captured."""

    def on_roles(self, flow: Flow) -> None:
        """The handshake told which side is the client (``flow.client``)."""

    def on_note(self, flow: Flow, direction: int, ts: float, text: str) -> None:
        """Something in ``direction``'s segments the server may have read otherwise
        (``text``, in words a record can carry): for the connection's request in
        progress, or its next one."""

    def on_close(self, flow: Flow, why: str = "connection ended") -> None:
        """The connection is over: ``why`` says how, in words a record can carry
        (``connection ended``: FIN both ways or RST; else idle, eviction or the end
        of the capture, when the connection itself may have gone on)."""


def _reverse(key: FlowKey) -> FlowKey:
    """The key of the other direction of ``key``'s connection."""
    return (key[2], key[3], key[0], key[1])


def _raw_key(key: FlowKey) -> bytes:
    """Source and destination address, then ports, as they follow each other in a
    plain frame (:func:`capture.net.decode.plain_tcp`): IPv4 header bytes 12-19 or
    IPv6 bytes 8-39, then the TCP ports."""
    return key[0] + key[2] + key[1].to_bytes(2, "big") + key[3].to_bytes(2, "big")


def peer_raw_key(key: bytes) -> bytes:
    """The raw key (:func:`_raw_key`) of the other direction of ``key``'s connection:
    the addresses swapped, then the ports (12 bytes for IPv4, 36 for IPv6)."""
    n = (len(key) - 4) >> 1
    return key[n : 2 * n] + key[:n] + key[2 * n + 2 :] + key[2 * n : 2 * n + 2]


def _time_and_id(move: tuple[float, Flow]) -> tuple[float, int]:
    return move[0], move[1].id


def _ntop(addr: bytes) -> str:
    return _socket.inet_ntop(_socket.AF_INET if len(addr) == 4 else _socket.AF_INET6, addr)


class Reassembler:
    """Tracks connections and turns their segments into ordered streams."""

    def __init__(
        self,
        sink: StreamSink,
        limits: Limits | None = None,
        owns: Callable[[FlowKey], bool] | None = None,
    ) -> None:
        self.sink = sink
        self.limits = limits or Limits()
        self.owns = owns
        """For a scan split over processes: whether a connection (by its key) is this
        process's. Other connections are tracked as here (so connection numbers and
        idle timeouts match a single process; which connection a full table evicts
        may not) but never read, counted or shown to the sink. None: every
        connection is ours."""
        self.closing: Flow | None = None
        """The connection being closed by :meth:`tick` or :meth:`flush`, if any."""
        # Both orientations of each key map to (flow, direction).
        self._flows: dict[FlowKey, tuple[Flow, int]] = {}
        # Least recently active first, for idle and overflow eviction.
        self._lru: OrderedDict[int, Flow] = OrderedDict()
        self._closed = _ClosedMemory(self.limits.closed_memory)
        # Connections a RST at the next byte closed, by the key of a side that may go
        # on: (capture time, that side's next byte, whether it is the client or None,
        # whether it sent the RST), oldest first; see _keep_places and _read_on.
        self._reset_places: OrderedDict[FlowKey, tuple[float, int, bool | None, bool]] = (
            OrderedDict()
        )
        # Half-open connections (no data yet: a SYN flood is made of them), kept
        # compact: packed key (in the orientation of the first segment) -> packed
        # state (_HALF_OPEN). A connection moves to _flows with its first data.
        self._half_open: dict[bytes, bytes] = {}
        # Their keys, oldest first (entries whose key is gone are stale, skipped):
        # the order in which a full table evicts them.
        self._half_open_order: deque[bytes] = deque()
        # Their keys again, filed by the capture second in which their idle time may
        # run out: floor(last activity + idle timeout) when filed. Activity since
        # only makes it later, so a sweep looks at the seconds that are due and
        # files again the keys found active; a key is filed once per opening and
        # per sweep that finds it active, and stale keys are dropped as met.
        self._half_open_due: dict[int, list[bytes]] = {}
        self._half_open_seconds: list[int] = []  # the keys of _half_open_due, a heap
        self._half_open_filed = 0  # keys in _half_open_due, stale ones too
        self._next_id = 1
        self._buffered = 0
        self.frame_no = 0
        """Number of the frame being fed, set by the pipeline. A connection takes the
        number of the frame that opened it (like Wireshark's frame numbers), so it
        has a number the user can find in Wireshark."""
        self.skip: dict[bytes, bool | int] = {}
        """Segments that need not be decoded at all, by the raw address and port
        bytes of their direction (:attr:`Flow.raw_keys`), in plain frames
        (:func:`capture.net.decode.plain_tcp`). Only segments without
        SYN, FIN or RST qualify, and only while the peer holds no out-of-order bytes
        (its acknowledgements could prove a capture gap there). ``False``: segments
        without payload (acknowledgements carry nothing else we use); ``True``: any
        segment, because nobody reads this direction (:meth:`set_ignore`); an
        ``int``: the direction is probed (:meth:`set_probe`) and nothing of it was
        delivered yet, the int being the sequence number its first byte will have.
        Its segments without payload are skipped as for ``False``; the reader of the
        capture may look at the one with payload at that sequence number itself
        (:func:`capture.sources.frames.CaptureFile.frames`, ``probe``).

        Whoever skips a segment records its capture time in :attr:`touched` under
        the same key (whole seconds will do), so the connection still counts as
        active."""
        self.touched: dict[bytes, float] = {}
        """Capture time of the last skipped segment, by raw key (see :attr:`skip`)."""
        self.by_raw: dict[bytes, Flow] = {}
        """The connection of each raw key (see :attr:`skip`)."""
        self.foreign: set[Flow] = set()
        """The open connections of other processes (see :attr:`owns`). Only
        their keys, of all other processes' connections, can be in :attr:`skip`:
        while this is empty, a record of another process's connection is not in the
        table, and the reader of the capture passes over it without looking
        (:meth:`capture.sources.frames.CaptureFile.frames`, ``foreign``)."""
        self.sweep_due = 0.0
        """Capture time after which :meth:`tick` next looks for idle connections."""
        self.counters: dict[str, int] = dict.fromkeys(
            (
                "flows",
                "retransmitted_bytes",
                "gaps",
                "gap_bytes",
                "stream_buffer_overflows",
                "total_buffer_overflows",
                "flows_evicted",
                "half_open_evicted",
                "flows_idle_closed",
                "late_segments",
                "data_after_close",
                "data_after_reset",
                "resets_passed_over",
                "fins_passed_over",
                "syn_data_dropped",
                "overlaps_differing",
                "data_past_fin",
                "ahead_dropped",
            ),
            0,
        )

    @property
    def active_flows(self) -> int:
        """Connections currently tracked (all of them, ours or not, half-open too)."""
        return len(self._lru) + len(self._half_open)

    @property
    def half_open_flows(self) -> int:
        """Of :attr:`active_flows`, those that have carried no data yet."""
        return len(self._half_open)

    @property
    def state_bytes(self) -> int:
        """Bytes of connection state charged against :attr:`Limits.memory`: each
        connection's fixed cost, and what the layer above holds for them (its
        ``held_bytes``, when it has one: heads still arriving, request bodies)."""
        fixed = len(self._half_open) * HALF_OPEN_COST + len(self._lru) * FLOW_COST
        held: int = getattr(self.sink, "held_bytes", 0)
        return fixed + held

    @property
    def buffered_bytes(self) -> int:
        """Out-of-order bytes currently held."""
        return self._buffered

    def set_ignore(self, flow: Flow, direction: int, ignore: bool) -> None:
        """Stop (or resume) reading the bytes of one direction.

        Nobody needs the bytes of an ignored direction, so its segments are neither
        buffered nor delivered (what was held is let go); in plain frames they need
        not even be decoded (see :attr:`skip`), so where the stream stands is not known
        when reading resumes: it resumes at the next segment seen.
        """
        half = flow.halves[direction]
        if ignore == half.ignore:
            return
        half.ignore = ignore
        if ignore:
            self._buffered -= half.pending_bytes
            half.pending.clear()
            half.pending_bytes = 0
            self._sync_skip(flow, 1 - direction)
        else:
            half.next_seq = None
        self._sync_skip(flow, direction)

    def set_probe(self, flow: Flow, direction: int, probe: bool) -> None:
        """Let the reader of the capture (or not) look at the first segment of one
        direction before it is decoded (see :attr:`skip`): the layer above reads its
        verdict from a :data:`capture.sources.frames.VERDICT` frame instead."""
        half = flow.halves[direction]
        if half.probe != probe:
            half.probe = probe
            self._sync_skip(flow, direction)

    def ignore_probed(self, flow: Flow, direction: int) -> None:
        """:meth:`set_ignore` (True) for a direction whose first bytes settled a probe
        (:meth:`set_probe`): once per connection of a scan that looks for echoes. While
        the direction's :attr:`skip` entry is a probe's (an int: nothing of it delivered,
        the table up to date) and it holds nothing out of order, stopping it changes
        only that entry, to True, as :meth:`_sync_skip` would make it; anything else
        takes the general way."""
        half = flow.halves[direction]
        key = flow.raw_keys[direction]
        skip = self.skip
        if half.pending or half.ignore or type(skip.get(key)) is not int:
            self.set_ignore(flow, direction, True)
            return
        half.ignore = True
        skip[key] = True

    def _sync_skip(self, flow: Flow, direction: int) -> None:
        """Bring the :attr:`skip` entry of one direction up to date."""
        key = flow.raw_keys[direction]
        half = flow.halves[direction]
        if flow.closed or half.next_seq is None or flow.halves[1 - direction].pending:
            self.skip.pop(key, None)
        elif half.probe and not half.ignore and not half.offset:
            self.skip[key] = half.next_seq
        else:
            self.skip[key] = half.ignore

    def _fold_touched(self) -> None:
        """Count skipped segments as activity of their connections (see :attr:`skip`).

        Done before idle and overflow eviction rather than per segment, oldest
        first, so the least-recently-active order holds to the second.
        """
        touched = self.touched
        if not touched:
            return
        by_raw = self.by_raw
        lru = self._lru
        # Ties broken by connection number, not by which was touched first: a
        # process that skips other processes' connections sees the same order.
        moves = [(ts, flow) for key, ts in touched.items() if (flow := by_raw.get(key)) is not None]
        moves.sort(key=_time_and_id)
        touched.clear()
        frame_no = self.frame_no
        for ts, flow in moves:
            if ts > flow.last_ts:
                flow.last_ts = float(ts)
                flow.stamp = (frame_no, ts, flow.id)
                lru.move_to_end(flow.id)

    def segment_feed(self) -> Callable[[Segment], None]:
        """:meth:`feed`, with its common cases in C where that is built
        (``capture/net/_inorder.c``): a segment with payload, whole and in order, on a
        tracked connection that holds nothing out of order and has seen no SYN, FIN
        or RST since (a half-open connection is made whole for it by
        :meth:`_make_whole`); and the segments without payload of a short connection:
        its handshake in the half-open table, its acknowledgements and FINs (the close
        itself by :meth:`_close`), and an acknowledgement after the close. Every other
        segment goes to :meth:`feed` itself, which stays the reference; both do the same
        (tests/capture/net/test_inorder.py)."""
        if _inorder is None:
            return self.feed
        return _inorder.InOrder(
            self, self.feed, Flow, Half, SYN | FIN | RST | IP_OVERLAP, HALF_OPEN_COST, FLOW_COST
        )

    def feed(self, seg: Segment) -> None:
        """Process one TCP segment."""
        # Its fields taken once: each look-up by name on a named tuple is a
        # descriptor call, and this runs for every segment that is not skipped.
        ts, src, sport, dst, dport, sseq, ack, flags, payload, missing = seg
        key = (src, sport, dst, dport)
        entry = self._flows.get(key)
        if entry is None and self._half_open:
            made = self._half_open_segment(
                ts, src, sport, dst, dport, sseq, ack, flags, bool(payload or missing)
            )
            if made:
                return
            if made is not None:
                entry = self._flows.get(key)  # the segment made a half-open connection whole
        if entry is None:
            closed = self._closed._when  # its keys, without a method call a look
            reopened = None
            if key in closed or (dst, dport, src, sport) in closed:
                if not (flags & SYN and not flags & ACK):
                    if (payload or missing) and self._reset_places:
                        reopened = self._read_on(key, seg)
                    if reopened is None:
                        if self.owns is None or self.owns(key):
                            self.counters["late_segments"] += 1
                            if payload or missing:
                                # Not read: after a RST the server may not have taken.
                                self.counters["data_after_close"] += 1
                        return
                else:
                    self._closed.forget(key)
                    self._closed.forget((dst, dport, src, sport))
                    if self._reset_places:
                        self._reset_places.pop(key, None)
                        self._reset_places.pop((dst, dport, src, sport), None)
            if reopened is not None:
                flow = reopened
            else:
                if flags & RST:
                    return
                if not (payload or missing or flags & FIN):
                    self._open_half(ts, src, sport, dst, dport, sseq, flags)
                    return
                flow = self._open(key, seg)
            direction = 0
        else:
            flow, direction = entry
            if flags & SYN and not flags & ACK:
                isn = flow.halves[direction].isn
                if isn is not None and isn != sseq:
                    # A new SYN with another ISN on the same 4-tuple: port reuse.
                    self._close(flow)
                    flow = self._open(key, seg)
                    direction = 0
            self._lru.move_to_end(flow.id)
            flow.stamp = self.frame_no
        flow.last_ts = ts
        # Both halves taken once (a flow keeps its two for life).
        halves = flow.halves
        half = halves[direction]
        other = halves[1 - direction]

        if flags & _RARE:
            if flags & IP_OVERLAP and not flow.foreign:
                # Counted by the decoder's fragments; said here, before its bytes.
                self.sink.on_note(flow, direction, ts, FRAGMENT_OVERLAP_NOTE)
            if flags & RST and not self._reset_ends(half, other, sseq, ack, flags):
                # The server would not take it either: the segment is passed over whole.
                self._noted(flow, direction, ts, "resets_passed_over", RESET_NOTE)
                return
        if flags & SYN:
            self._syn(flow, direction, half, seg)
            if flags & ACK and other.syn_data is not None and other.isn is not None:
                # The SYN+ACK tells whether the peer took the data on its SYN.
                took = _delta(ack, other.isn + 1) > 0
                self._settle_syn_data(flow, 1 - direction, other, took)
        elif half.next_seq is None:
            if half.syn_data is not None and half.isn is not None:
                # No SYN+ACK seen: where the sender goes on from tells instead.
                self._settle_syn_data(flow, direction, half, _delta(sseq, half.isn + 1) > 0)
            else:
                half.next_seq = sseq
                self._sync_skip(flow, direction)

        # The peer acknowledging bytes of ours that wait behind a hole means the
        # capture, not the network, lost the bytes in the hole.
        if flags & ACK and other.pending and other.next_seq is not None:
            acked = _delta(ack, other.next_seq)
            if acked > 0 and other.pending[0][0] <= other.offset + acked:
                # (What it waits for next, if anything, its next acknowledgements say.)
                other.forget_wait()
                self._skip_hole(flow, 1 - direction, other, ts, proven=True)
            elif acked == 0:
                # The hole's first byte, again: the receiver waits for the hole. (Inside
                # the hole it had some of it: the capture lost those bytes, not it.)
                if other.acked_at == ack:
                    other.awaited = True
                other.acked_at = ack

        # A SYN's data is held until the handshake says whether the peer took it.
        if (payload or missing) and not (
            flags & SYN
            and not flags & ACK
            and self._hold_syn_data(flow, direction, half, ts, sseq, payload, missing)
        ):
            seq = sseq + 1 if flags & SYN else sseq
            next_seq = half.next_seq
            if next_seq is None:
                # A SYN carrying data where the stream's place is not known (reading
                # resumed after an ignore, or a SYN out of place): it resumes here.
                half.next_seq = next_seq = seq & _MASK
                self._sync_skip(flow, direction)
            if half.ignore:
                advance = _delta(seq + len(payload) + missing, next_seq)
                if advance > 0:
                    half.next_seq = (next_seq + advance) & _MASK
                    half.offset += advance
            elif seq == next_seq and not missing:
                # The common case, whole and in order: _data's first case with its
                # _deliver, written out (three calls a segment cost more than their
                # work). Anything else (a retransmission, a hole, a cut tail, a
                # sequence number 2**32 apart) takes _data.
                n = len(payload)
                half.offset += n
                half.next_seq = (seq + n) & _MASK
                self.sink.on_data(flow, direction, ts, payload)
                if half.pending:
                    self._drain(flow, direction, half, payload)
            else:
                self._data(flow, direction, half, ts, seq, payload, missing)
        if flags & FIN and half.fin is None and half.next_seq is not None:
            seq = sseq + 1 if flags & SYN else sseq
            ahead = _delta(seq + len(payload) + missing, half.next_seq)
            # The receiver's window is not in the capture. A FIN ahead of the next
            # byte means the capture lost the bytes before it; the bound is how far
            # ahead reassembly holds a direction's bytes anyway (1 MiB: the real
            # captures under tests/data lose at most a few KiB before a FIN). A real
            # FIN past it (a capture that lost more in a row) is noted, not a gap.
            if half.ignore or 0 <= ahead <= self.limits.stream_buffer:
                # (A direction nobody reads may have had its bytes skipped unseen: its
                # place is stale, and its FIN is taken where it says, as before.)
                half.fin = half.offset + ahead
            else:
                # Out of the window: the receiver drops it (RFC 9293 §3.10.7.4).
                self._noted(flow, direction, ts, "fins_passed_over", FIN_NOTE)
        if flags & RST:
            if sseq == half.next_seq and half.fin is None and not flow.foreign:
                # At the next byte: it may never have reached the server (see
                # _read_on). The sender's place is kept a while; where the sender is
                # the server's side, the client's too.
                client = flow.client
                sender = None if client is None else client == direction
                peer = other.next_seq if sender is False and other.fin is None else None
                self._keep_places(key, ts, sseq, sender, peer)
            self._close(flow)
            return
        if (
            half.fin is not None
            and other.fin is not None
            and (half.offset >= half.fin or half.ignore)
            and (other.offset >= other.fin or other.ignore)
        ):
            self._close(flow)
            return

    def _open(self, key: FlowKey, seg: Segment, new: bool = True) -> Flow:
        """A connection from ``seg`` (its sender's ``key``) on: counted in ``flows``
        where ``new`` (not where a reset one is read on, :meth:`_read_on`)."""
        flow = Flow(self.frame_no or self._next_id, key, _ntop(seg.src), _ntop(seg.dst), seg.ts)
        self._next_id += 1
        flow.stamp = self.frame_no
        if self.owns is not None and not self.owns(key):
            self._take_foreign(flow)
        elif new:
            self.counters["flows"] += 1
        flow.owner = self
        self._flows[key] = (flow, 0)
        self._flows[(seg.dst, seg.dport, seg.src, seg.sport)] = (flow, 1)
        self._lru[flow.id] = flow
        for raw in flow.raw_keys:
            self.by_raw[raw] = flow
        self._room()
        return flow

    # -- after a reset -----------------------------------------------------------

    def _keep_places(
        self, key: FlowKey, ts: float, seq: int, client: bool | None, peer: int | None
    ) -> None:
        """A RST at the next byte from ``key``'s side (at ``seq``, at ``ts``; ``client``:
        whether that side is the client, None where not known) closed its connection:
        its place is kept, and where ``peer`` is given (a RST from the server's side),
        the client's next byte too (:data:`RESET_PLACES` places at most, the oldest
        forgotten first).

        A forged RST from the server's side that the client never gets (one the
        monitor sees on the way, whose TTL runs out before the client) ends the
        connection here while the client goes on at its next byte, and the server,
        which never sent it, reads what follows: the request an evader wants unseen."""
        places = self._reset_places
        places.pop(key, None)
        places[key] = (ts, seq, client, True)
        reverse = _reverse(key)
        places.pop(reverse, None)
        if peer is not None:
            places[reverse] = (ts, peer, True, False)
        while len(places) > RESET_PLACES:
            places.popitem(last=False)

    def _read_on(self, key: FlowKey, seg: Segment) -> Flow | None:
        """A segment with data on a closed connection (``key``: its sender's): where a
        RST at the next byte from that side closed it within :data:`RESET_GRACE` and
        the data goes on at that very byte, the RST may never have reached the server
        (a bad checksum, a TTL that runs out on the way: the tester's cases 5h and
        5i), which then read this data; so too where the RST came from the server's
        side and the client goes on at its own next byte (the client may never have
        got it: :meth:`_keep_places`). The connection is opened again there (not
        counted as a new one; the roles kept), the data read and noted; else None."""
        place = self._reset_places.get(key)
        if place is None or place[1] != seg.seq:
            return None
        del self._reset_places[key]
        reverse = _reverse(key)
        # The connection's other place, if any, goes with it: it is read on, or over.
        self._reset_places.pop(reverse, None)
        if seg.ts - place[0] > RESET_GRACE:
            return None
        self._closed.forget(key)
        self._closed.forget(reverse)
        flow = self._open(key, seg, new=False)
        if place[2] is not None:
            flow.client = 0 if place[2] else 1
            self.sink.on_roles(flow)
        note = DATA_AFTER_RESET_NOTE if place[3] else CLIENT_AFTER_RESET_NOTE
        self._noted(flow, 0, seg.ts, "data_after_reset", note)
        return flow

    # -- half-open connections -------------------------------------------------

    def _take_foreign(self, flow: Flow) -> None:
        """``flow`` is another process's (see :attr:`owns`): tracked, both ways
        ignored, and kept in :attr:`foreign`."""
        flow.foreign = True
        flow.halves[0].ignore = flow.halves[1].ignore = True
        self.foreign.add(flow)

    def _open_half(
        self, ts: float, src: bytes, sport: int, dst: bytes, dport: int, seq: int, flags: int
    ) -> None:
        """A segment without data (those fields of it) opens a connection: tracked as
        half-open, compactly."""
        flow_id = self.frame_no or self._next_id
        self._next_id += 1
        packed = src + dst + _PORTS(sport, dport)
        if self.owns is None or self.owns((src, sport, dst, dport)):
            self.counters["flows"] += 1
        # _half_open_update of an empty state in direction 0, written out (once per
        # connection): a SYN gives the first direction its ISN and the roles.
        if flags & SYN:
            bits = _ISN0 | _NEXT0 | _CLIENT_KNOWN | (_CLIENT_B if flags & ACK else 0)
            state = _HALF_OPEN.pack(flow_id, ts, ts, seq, 0, (seq + 1) & _MASK, 0, bits)
        else:
            state = _HALF_OPEN.pack(flow_id, ts, ts, 0, 0, seq, 0, _NEXT0)
        self._half_open[packed] = state
        self._half_open_order.append(packed)
        self._file_half_open(packed, ts)
        self._room()

    def _file_half_open(self, packed: bytes, last: float) -> None:
        """File a half-open connection under the second its idle time may run out."""
        second = math.floor(last + self.limits.idle_timeout)
        keys = self._half_open_due.get(second)
        if keys is None:
            self._half_open_due[second] = keys = []
            heapq.heappush(self._half_open_seconds, second)
        keys.append(packed)
        self._half_open_filed += 1

    @staticmethod
    def _half_open_update(state: bytes, direction: int, ts: float, seq: int, flags: int) -> bytes:
        """``state`` after a segment (no data, no FIN) in ``direction`` at ``ts``, with
        sequence number ``seq`` and ``flags``: what :meth:`feed` does to a connection's
        halves for such a segment."""
        flow_id, start, _, isn0, isn1, next0, next1, bits = _HALF_OPEN.unpack(state)
        if flags & SYN:
            isn_bit = _ISN0 if direction == 0 else _ISN1
            if not bits & isn_bit:
                if direction == 0:
                    isn0, next0 = seq, (seq + 1) & _MASK
                else:
                    isn1, next1 = seq, (seq + 1) & _MASK
                bits |= isn_bit | (_NEXT0 if direction == 0 else _NEXT1)
            if not bits & _CLIENT_KNOWN:
                # SYN alone comes from the client; SYN+ACK from the server.
                client = 1 - direction if flags & ACK else direction
                bits |= _CLIENT_KNOWN | (_CLIENT_B if client else 0)
        else:
            next_bit = _NEXT0 if direction == 0 else _NEXT1
            if not bits & next_bit:
                if direction == 0:
                    next0 = seq
                else:
                    next1 = seq
                bits |= next_bit
        return _HALF_OPEN.pack(flow_id, start, ts, isn0, isn1, next0, next1, bits)

    def _half_open_segment(
        self,
        ts: float,
        src: bytes,
        sport: int,
        dst: bytes,
        dport: int,
        seq: int,
        ack: int,
        flags: int,
        data: bool,
    ) -> bool | None:
        """Feed a segment (those fields of it; ``data``: whether it carries payload,
        captured or not) to its half-open connection, if it has one; True when that
        was all, False when it was made whole for the segment, None when there is no
        such connection (any more: a new SYN on its 4-tuple ends it)."""
        half_open = self._half_open
        packed = src + dst + _PORTS(sport, dport)
        direction = 0
        state = half_open.get(packed)
        if state is None:
            packed = dst + src + _PORTS(dport, sport)
            state = half_open.get(packed)
            if state is None:
                return None
            direction = 1
        if flags & RST:
            if self._half_open_reset_ends(state, direction, seq, ack, flags):
                del half_open[packed]
                self._closed.add(_unpacked_key(packed), ts)
                _, _, _, _, _, next0, next1, bits = _HALF_OPEN.unpack(state)
                if bits & (_NEXT0 if direction == 0 else _NEXT1) and seq == (
                    next0 if direction == 0 else next1
                ):
                    key = (src, sport, dst, dport)
                    if self.owns is None or self.owns(key):
                        client = None
                        if bits & _CLIENT_KNOWN:
                            client = (1 if bits & _CLIENT_B else 0) == direction
                        peer = None
                        if client is False and bits & (_NEXT1 if direction == 0 else _NEXT0):
                            peer = next1 if direction == 0 else next0
                        self._keep_places(key, ts, seq, client, peer)
            else:
                # Passed over, as by the receiver; noted if the connection carries data.
                bits = state[-1] | (_RESET0 if direction == 0 else _RESET1)
                half_open[packed] = state[:-1] + bytes((bits,))
                if self.owns is None or self.owns(_unpacked_key(packed)):
                    self.counters["resets_passed_over"] += 1
            return True
        if flags & SYN and not flags & ACK:
            isn_bit = _ISN0 if direction == 0 else _ISN1
            fields = _HALF_OPEN.unpack(state)
            if fields[7] & isn_bit and fields[3 + direction] != seq:
                # A new SYN with another ISN on the same 4-tuple: port reuse. The
                # segment then opens a new connection.
                del half_open[packed]
                return None
        if data or flags & FIN:
            key = (src, sport, dst, dport) if direction == 0 else (dst, dport, src, sport)
            self._make_whole(packed, state, key)
            return False
        half_open[packed] = self._half_open_update(state, direction, ts, seq, flags)
        return True

    @staticmethod
    def _half_open_reset_ends(state: bytes, direction: int, seq: int, ack: int, flags: int) -> bool:
        """:meth:`_reset_ends` for a half-open connection's ``state``: whether a RST at
        ``seq`` from ``direction`` ends it."""
        _, _, _, isn0, isn1, next0, next1, bits = _HALF_OPEN.unpack(state)
        if not bits & (_NEXT0 if direction == 0 else _NEXT1):
            return True
        if seq == (next0 if direction == 0 else next1):
            return True
        peer_isn = isn1 if direction == 0 else isn0
        return bool(
            flags & ACK
            and not bits & (_ISN0 if direction == 0 else _ISN1)
            and bits & (_ISN1 if direction == 0 else _ISN0)
            and ack == (peer_isn + 1) & _MASK
        )

    def _make_whole(self, packed: bytes, state: bytes, key: FlowKey) -> Flow:
        """Data arrives on a half-open connection (``key``, packed as ``packed``): it
        becomes a :class:`Flow`, as if it had been one from its first segment. Once
        per connection: written out, the general helpers' work only where it applies."""
        del self._half_open[packed]
        flow_id, start, last, isn0, isn1, next0, next1, bits = _HALF_OPEN.unpack(state)
        a, b = key[0], key[2]
        # The packed key is the first direction's raw key (see _packed_key).
        raw_keys = (packed, peer_raw_key(packed))
        if len(a) == 4:
            flow = Flow(flow_id, key, _ipv4(a), _ipv4(b), start, raw_keys)
        else:
            flow = Flow(flow_id, key, _ntop(a), _ntop(b), start, raw_keys)
        flow.last_ts = last
        flow.stamp = self.frame_no
        first, second = flow.halves
        if self.owns is not None and not self.owns(key):
            self._take_foreign(flow)
        flow.owner = self
        self._flows[key] = (flow, 0)
        self._flows[_reverse(key)] = (flow, 1)
        self._lru[flow_id] = flow
        raw0, raw1 = flow.raw_keys
        by_raw = self.by_raw
        by_raw[raw0] = by_raw[raw1] = flow
        # _sync_skip for each direction whose place is known, written out: a new
        # flow is open, holds nothing out of order and probes nothing yet, so each
        # entry is its direction's ignore flag.
        skip = self.skip
        if bits & _ISN0:
            first.isn = isn0
        if bits & _NEXT0:
            first.next_seq = next0
            skip[raw0] = first.ignore
        if bits & _ISN1:
            second.isn = isn1
        if bits & _NEXT1:
            second.next_seq = next1
            skip[raw1] = second.ignore
        if bits & _CLIENT_KNOWN:
            flow.client = 1 if bits & _CLIENT_B else 0
            if not flow.foreign:
                self.sink.on_roles(flow)
        if bits & (_RESET0 | _RESET1) and not flow.foreign:
            self.sink.on_note(flow, 0 if bits & _RESET0 else 1, last, RESET_NOTE)
        self._room()
        return flow

    def _room(self) -> None:
        """:meth:`_make_room` where a connection was added: its test, written out (the
        state fits nearly always), then the queue's compaction as there."""
        held: int = getattr(self.sink, "held_bytes", 0)
        if (
            len(self._half_open) * HALF_OPEN_COST + len(self._lru) * FLOW_COST + held
            > self.limits.memory
        ):
            self._make_room()
        elif len(self._half_open_order) > 2 * len(self._half_open) + 1024:
            self._half_open_order = deque(self._half_open)

    def _oldest_half_open(self) -> bytes | None:
        """The key of the oldest half-open connection (stale queue entries dropped)."""
        order, half_open = self._half_open_order, self._half_open
        while order:
            packed = order[0]
            if packed in half_open:
                return packed
            order.popleft()
        return None

    def _compact_half_open_order(self) -> None:
        """Rebuild the queue when most of it is stale (connections made whole)."""
        if len(self._half_open_order) > 2 * len(self._half_open) + 1024:
            self._half_open_order = deque(self._half_open)

    # -- the memory bound ----------------------------------------------------------

    def _make_room(self) -> None:
        """Evict connections until the state fits :attr:`Limits.memory`: half-open
        ones first (oldest first), then the least recently active."""
        budget = self.limits.memory
        while self.state_bytes > budget:
            packed = self._oldest_half_open()
            if packed is not None:
                self._half_open_order.popleft()
                del self._half_open[packed]
                # Not remembered as closed: data that comes later opens it again.
                if self.owns is None or self.owns(_unpacked_key(packed)):
                    self.counters["half_open_evicted"] += 1
            elif len(self._lru) > 1:
                self._evict_one()
            else:
                break
        self._compact_half_open_order()

    def _evict_one(self) -> None:
        """Close the least recently active connection to make room."""
        self._fold_touched()
        flow = next(iter(self._lru.values()))
        if not flow.foreign:
            self.counters["flows_evicted"] += 1
        self._close(flow, "connection evicted (too many open)")

    def _syn(self, flow: Flow, direction: int, half: Half, seg: Segment) -> None:
        if half.isn is None and half.offset == 0 and not half.pending:
            half.next_seq = (seg.seq + 1) & _MASK
            half.isn = seg.seq
            self._sync_skip(flow, direction)
        if flow.client is None:
            # SYN alone comes from the client; SYN+ACK from the server.
            flow.client = 1 - direction if seg.flags & ACK else direction
            if not flow.foreign:
                self.sink.on_roles(flow)

    @staticmethod
    def _reset_ends(half: Half, other: Half, seq: int, ack: int, flags: int) -> bool:
        """Whether a RST at ``seq`` from ``half``'s side ends the connection, as the
        receiver would take it (RFC 5961 §3.2): at the next byte expected from that
        side (or, after that side's FIN, at the FIN or just past it), where that place
        is not known, or answering a SYN (RFC 9293 §3.10.7.3: in SYN-SENT a RST is
        taken when its ACK acknowledges the SYN)."""
        next_seq = half.next_seq
        if next_seq is None or half.ignore or seq == next_seq:
            return True
        if half.fin is not None and 0 <= _delta(seq, next_seq) <= half.fin - half.offset + 1:
            return True
        return bool(
            flags & ACK
            and half.isn is None
            and other.isn is not None
            and ack == (other.isn + 1) & _MASK
        )

    def _noted(self, flow: Flow, direction: int, ts: float, counter: str, text: str) -> None:
        """Something the server may have read otherwise: counted under ``counter`` and
        told to the layer above (:meth:`StreamSink.on_note`) as ``text``."""
        if not flow.foreign:
            self.counters[counter] += 1
            self.sink.on_note(flow, direction, ts, text)

    def _hold_syn_data(
        self,
        flow: Flow,
        direction: int,
        half: Half,
        ts: float,
        seq: int,
        payload: bytes,
        missing: int,
    ) -> bool:
        """Hold the payload of a SYN (no ACK) at ``seq`` until the handshake says
        whether the peer took it (:meth:`_settle_syn_data`); True when that is done
        with it (held, or dropped where the buffers are full). False where this SYN
        did not just give the stream its place (a SYN out of place, a direction
        nobody reads): its payload then takes the general way."""
        if half.syn_data is not None:
            return True  # the SYN again: its data is held already
        if half.isn != seq or half.next_seq != (seq + 1) & _MASK or half.offset or half.ignore:
            return False
        if self._buffered + len(payload) > self.limits.total_buffer:
            self.counters["total_buffer_overflows"] += 1
            self._noted(flow, direction, ts, "syn_data_dropped", SYN_DATA_NOTE)
            return True
        half.syn_data = (ts, payload, missing)
        half.next_seq = None
        self._buffered += len(payload)
        self._sync_skip(flow, direction)
        return True

    def _settle_syn_data(self, flow: Flow, direction: int, half: Half, took: bool) -> None:
        """The SYN data that ``half`` holds was taken by the peer (``took``: read it)
        or not (drop it): the stream goes on after the SYN either way."""
        ts, payload, missing = half.syn_data  # type: ignore[misc]
        half.syn_data = None
        self._buffered -= len(payload)
        half.next_seq = (half.isn + 1) & _MASK  # type: ignore[operator]
        self._sync_skip(flow, direction)
        if took:
            self._data(flow, direction, half, ts, half.next_seq, payload, missing)
        else:
            self._noted(flow, direction, ts, "syn_data_dropped", SYN_DATA_NOTE)

    def _data(
        self,
        flow: Flow,
        direction: int,
        half: Half,
        ts: float,
        seq: int,
        payload: bytes,
        missing: int,
    ) -> None:
        assert half.next_seq is not None
        rel = _delta(seq, half.next_seq)
        size = len(payload) + missing
        if rel == 0 and not missing:
            self._deliver(flow, direction, half, ts, payload)
            if half.pending:
                self._drain(flow, direction, half, payload)
            return
        if rel < 0:
            if rel + size <= 0:
                self.counters["retransmitted_bytes"] += size
                return
            self.counters["retransmitted_bytes"] += -rel
            if -rel >= len(payload):
                # Only the uncaptured tail is new: it is a gap.
                missing -= -rel - len(payload)
                payload = b""
            else:
                payload = payload[-rel:]
            rel = 0
        if rel == 0:
            if payload:
                self._deliver(flow, direction, half, ts, payload)
            if missing:
                self._gap(flow, direction, half, ts, missing)
            if half.pending:
                self._drain(flow, direction, half, b"" if missing else payload)
            return
        # Ahead of a hole: hold it, bounded.
        was_empty = not half.pending
        position = half.offset + rel
        if payload:
            bisect.insort(half.pending, (position, ts, payload))
            half.pending_bytes += len(payload)
            self._buffered += len(payload)
        if missing:
            # Record the uncaptured tail as a zero-length marker at its position:
            # when the stream reaches it, the hole is skipped as a gap.
            bisect.insort(half.pending, (position + len(payload) + missing, ts, b""))
        if was_empty:
            # From now on the peer's acknowledgements matter: they may prove the hole.
            self._sync_skip(flow, 1 - direction)
        if half.pending_bytes > self.limits.stream_buffer:
            self.counters["stream_buffer_overflows"] += 1
            self._overflow(flow, direction, half, ts)
        elif self._buffered > self.limits.total_buffer:
            self.counters["total_buffer_overflows"] += 1
            self._overflow(flow, direction, half, ts)

    def _overflow(self, flow: Flow, direction: int, half: Half, ts: float) -> None:
        """More is held behind ``half``'s hole than the buffers allow. Where the
        receiver was seen waiting for the hole (:attr:`Half.awaited`), what is held is
        dropped and the stream keeps its place: the hole's bytes are still to come (a
        sender retransmits them), and bytes sent a megabyte ahead of them must not
        make the real request, when it comes at the next byte, read as a
        retransmission of bytes already past (``ahead_dropped``, noted). Else (no
        acknowledgement seen: the capture lost the hole, or sees one direction only)
        the hole is given up as a gap."""
        if half.awaited:
            self._drop_awaited(flow, direction, half, ts)
        else:
            self._skip_hole(flow, direction, half, ts)

    def _drop_awaited(self, flow: Flow, direction: int, half: Half, ts: float) -> None:
        """Drop what ``half`` holds behind a hole its receiver was seen waiting for
        (:attr:`Half.awaited`): bytes the receiver could not read in order."""
        self._drop_held(flow, direction, half, 0, "ahead_dropped", AHEAD_NOTE, ts)

    def _drop_held(
        self,
        flow: Flow,
        direction: int,
        half: Half,
        start: int,
        counter: str,
        note: str,
        ts: float | None = None,
    ) -> None:
        """Drop ``half.pending[start:]``: counted under ``counter`` (the segments with
        data) and noted once as ``note`` (at ``ts``, else the first one's time)."""
        dropped = [entry for entry in half.pending[start:] if entry[2]]
        size = sum(len(entry[2]) for entry in dropped)
        del half.pending[start:]
        half.pending_bytes -= size
        self._buffered -= size
        if dropped:
            self._noted(flow, direction, dropped[0][1] if ts is None else ts, counter, note)
            if not flow.foreign:
                self.counters[counter] += len(dropped) - 1
        if not half.pending:
            half.forget_wait()
            self._sync_skip(flow, 1 - direction)

    def _deliver(self, flow: Flow, direction: int, half: Half, ts: float, data: bytes) -> None:
        n = len(data)
        half.offset += n
        half.next_seq = (half.next_seq + n) & _MASK  # type: ignore[operator]
        self.sink.on_data(flow, direction, ts, data)

    def _gap(self, flow: Flow, direction: int, half: Half, ts: float, size: int) -> None:
        half.offset += size
        half.next_seq = (half.next_seq + size) & _MASK  # type: ignore[operator]
        self.counters["gaps"] += 1
        self.counters["gap_bytes"] += size
        self.sink.on_gap(flow, direction, ts, size)

    def _drain(self, flow: Flow, direction: int, half: Half, recent: bytes = b"") -> None:
        """Deliver held segments that are now in order. ``recent``: the bytes delivered
        last, which end where the stream stands (held bytes that overlap them are
        compared with them)."""
        pending = half.pending
        while pending and pending[0][0] <= half.offset:
            position, ts, data = pending.pop(0)
            half.pending_bytes -= len(data)
            self._buffered -= len(data)
            overlap = half.offset - position
            if overlap:
                self.counters["retransmitted_bytes"] += min(overlap, len(data))
                if data and recent:
                    self._compare(flow, direction, ts, half.offset, recent, position, data)
            if overlap < len(data):
                self._deliver(flow, direction, half, ts, data[overlap:])
                recent = data
        if not pending:
            half.forget_wait()
            self._sync_skip(flow, 1 - direction)

    def _compare(
        self,
        flow: Flow,
        direction: int,
        ts: float,
        end: int,
        recent: bytes,
        position: int,
        data: bytes,
    ) -> None:
        """Compare the bytes of ``data`` (held from stream position ``position``) with
        those just delivered (``recent``, up to position ``end``) where they overlap:
        two copies that differ are counted and noted (the server may have read the
        other)."""
        start = max(position, end - len(recent))
        stop = min(position + len(data), end)
        if stop <= start:
            return
        mine = data[start - position : stop - position]
        theirs = recent[start - end + len(recent) : stop - end + len(recent)]
        if mine != theirs:
            self._noted(flow, direction, ts, "overlaps_differing", OVERLAP_NOTE)

    def _skip_hole(
        self, flow: Flow, direction: int, half: Half, ts: float, proven: bool = False
    ) -> None:
        """Give up on the hole before the first held segment: report it as a gap.
        ``proven``: the receiver acknowledged bytes past the hole, so what is held up to
        there was sent; else what is held at or past the sender's FIN is dropped first
        (:meth:`_drop_past_fin`)."""
        if not proven:
            self._drop_past_fin(flow, direction, half)
        if not half.pending:
            return
        size = half.pending[0][0] - half.offset
        if size > 0:
            self._gap(flow, direction, half, ts, size)
        self._drain(flow, direction, half)

    def _drop_past_fin(self, flow: Flow, direction: int, half: Half) -> None:
        """Drop the held segments that start at or past the sender's FIN, where the
        stream has not passed it (a FIN it went on past in order was no end).

        A FIN is the last byte of its direction's stream: a receiver reads nothing
        after it, so bytes there were never read by the server. Held until now, they
        were given after a gap when the hole was given up: an evader's segment sent
        far ahead (within the window, so the server holds it too, then drops it at
        the FIN) became a request the server never read, with whatever headers it
        chose. Counted (``data_past_fin``: segments with data) and noted."""
        fin = half.fin
        if fin is None or half.offset > fin:
            return
        # Held segments are sorted by position: those past the FIN are a tail.
        start = bisect.bisect_left(half.pending, (fin,))
        if start < len(half.pending):
            self._drop_held(flow, direction, half, start, "data_past_fin", DATA_PAST_FIN_NOTE)

    def _flush_half(self, flow: Flow, direction: int) -> None:
        half = flow.halves[direction]
        if half.ignore:
            return  # nobody reads it, and its data segments were never counted
        self._drop_past_fin(flow, direction, half)
        if half.pending and half.awaited:
            # The receiver was still waiting for the hole: it never read what is held.
            self._drop_awaited(flow, direction, half, flow.last_ts)
        while half.pending:
            first = half.pending[0]
            self._skip_hole(flow, direction, half, flow.last_ts)
            if half.pending and half.pending[0] is first:
                # Nothing taken: a held position no offset compares with as it should
                # (a float past 2**53, which no TCP header gives but the suite's damaged
                # segments do). Let go, not looped on forever.
                self._let_go_first(half)
        if half.fin is not None and half.fin > half.offset and half.next_seq is not None:
            # Bytes before the FIN that never showed up.
            self._gap(flow, direction, half, flow.last_ts, half.fin - half.offset)

    def _let_go_first(self, half: Half) -> None:
        """Drop the first segment ``half`` holds, its bytes no longer buffered."""
        _position, _ts, data = half.pending.pop(0)
        half.pending_bytes -= len(data)
        self._buffered -= len(data)

    def _close(self, flow: Flow, why: str = "connection ended") -> None:
        """Close ``flow``; ``why``: how it is over, for the layer above (see
        :meth:`StreamSink.on_close`). FIN both ways and RST leave the default."""
        if flow.closed:
            return
        flow.closed = True
        # _flush_half only where it has anything to do (held bytes, or a FIN beyond
        # what came), each looked at in turn as before: flushing one may stop the other.
        # The connection leaves the tables even where the layer above raises while its
        # held bytes are handed over: a closed connection left in _lru made every idle
        # sweep and eviction after it meet it again, and loop (found by the C feed's
        # property test, whose damaged segments made such a flush raise).
        first, second = flow.halves
        # SYN data the handshake never said was taken: not read.
        if first.syn_data is not None:
            self._settle_syn_data(flow, 0, first, False)
        if second.syn_data is not None:
            self._settle_syn_data(flow, 1, second, False)
        try:
            if not first.ignore and (first.pending or (first.fin or 0) > first.offset):
                self._flush_half(flow, 0)
            if not second.ignore and (second.pending or (second.fin or 0) > second.offset):
                self._flush_half(flow, 1)
        finally:
            self._forget(flow, why)

    def _forget(self, flow: Flow, why: str) -> None:
        """Take closed ``flow`` out of the tables, remember it as closed, and tell the
        layer above (:meth:`_close`'s last step)."""
        a_key = flow.key
        b_key = (a_key[2], a_key[3], a_key[0], a_key[1])
        flows = self._flows
        entry = flows.get(a_key)
        if entry is not None and entry[0] is flow:
            del flows[a_key]
        entry = flows.get(b_key)
        if entry is not None and entry[0] is flow:
            del flows[b_key]
        self._lru.pop(flow.id, None)
        skip, touched, by_raw = self.skip, self.touched, self.by_raw
        for raw in flow.raw_keys:
            skip.pop(raw, None)
            touched.pop(raw, None)
            if by_raw.get(raw) is flow:
                del by_raw[raw]
        self._closed.add(a_key, flow.last_ts)
        if not flow.foreign:
            self.sink.on_close(flow, why)
        else:
            self.foreign.discard(flow)

    def _sweep(self, now: float) -> None:
        """Close connections idle longer than the limit (oldest first)."""
        limit = now - self.limits.idle_timeout
        self._fold_touched()
        lru = self._lru
        while lru:
            flow = next(iter(lru.values()))
            if flow.last_ts >= limit:
                break
            if not flow.foreign:
                self.counters["flows_idle_closed"] += 1
            self.closing = flow
            self._close(flow, f"connection idle for {self.limits.idle_timeout:g} s")
        self.closing = None
        self._sweep_half_open(limit)
        # Forget closed connections after twice the idle time (TIME_WAIT is minutes).
        self._closed.expire(now - 2 * self.limits.idle_timeout)
        places = self._reset_places
        while places and next(iter(places.values()))[0] < now - RESET_GRACE:
            places.popitem(last=False)

    def _sweep_half_open(self, limit: float) -> None:
        """Close half-open connections silent since before ``limit``.

        Only the connections filed under a second that is due are looked at (see
        :meth:`_file_half_open`): those found active since are filed again. The
        second after the due ones is looked at too, so that rounding in ``last +
        idle timeout`` can never keep a connection that is due from closing. (A
        queue in order of opening, with active connections sent to its back, was
        not in order of activity: a connection behind a newer one closed late,
        and a split scan, whose processes saw other queues, gave another answer.)
        """
        due, seconds, half_open = self._half_open_due, self._half_open_seconds, self._half_open
        horizon = limit + self.limits.idle_timeout + 1.0
        batches = []
        while seconds and seconds[0] <= horizon:
            batches.append(due.pop(heapq.heappop(seconds)))
        seen: set[bytes] = set()
        for keys in batches:
            self._half_open_filed -= len(keys)
            for packed in keys:
                if packed in seen:
                    continue
                seen.add(packed)
                state = half_open.get(packed)
                if state is None:
                    continue
                last: float = _HALF_OPEN_LAST.unpack_from(state)[0]
                if last >= limit:
                    self._file_half_open(packed, last)
                    continue
                del half_open[packed]
                key = _unpacked_key(packed)
                if self.owns is None or self.owns(key):
                    self.counters["flows_idle_closed"] += 1
                self._closed.add(key, last)
        if self._half_open_filed > 2 * len(half_open) + 1024:
            self._refile_half_open()
        self._compact_half_open_order()

    def _refile_half_open(self) -> None:
        """File every half-open connection anew, when most filed keys are stale."""
        self._half_open_due.clear()
        self._half_open_seconds.clear()
        self._half_open_filed = 0
        for packed, state in self._half_open.items():
            self._file_half_open(packed, _HALF_OPEN_LAST.unpack_from(state)[0])

    def flush(self) -> None:
        """End of input: close every connection, reporting unfilled holes as gaps."""
        for flow in list(self._lru.values()):
            self.closing = flow
            self._close(flow, "capture ended")
        self.closing = None
        for packed, state in self._half_open.items():
            self._closed.add(_unpacked_key(packed), _HALF_OPEN.unpack(state)[2])
        self._half_open.clear()
        self._half_open_order.clear()
        self._half_open_due.clear()
        self._half_open_seconds.clear()
        self._half_open_filed = 0

    def tick(self, ts: float) -> None:
        """Time passes (capture time): close connections idle too long, once a second.

        Called at every live frame, before it is read (whatever becomes of it), and
        by a file scan at the first record of each capture second, so idle
        connections close on time even when the frames that pass are not decoded.
        """
        if ts >= self.sweep_due:
            self.sweep_due = ts + 1.0
            self._sweep(ts)
            if self.state_bytes > self.limits.memory:
                # What the layer above holds grew with the data of open connections.
                self._make_room()


_PROBLEMS = (
    (
        "resets_passed_over",
        "TCP reset passed over (not at the next byte)",
        "TCP resets passed over (not at the next byte)",
    ),
    (
        "fins_passed_over",
        "TCP FIN passed over (out of the window)",
        "TCP FINs passed over (out of the window)",
    ),
    (
        "syn_data_dropped",
        "TCP SYN's data not read (not acknowledged)",
        "TCP SYNs' data not read (not acknowledged)",
    ),
    (
        "overlaps_differing",
        "TCP segment overlap with different bytes (one copy read)",
        "TCP segment overlaps with different bytes (one copy read)",
    ),
    (
        "data_after_reset",
        "TCP connection read on after a reset at the next byte",
        "TCP connections read on after a reset at the next byte",
    ),
    (
        "ahead_dropped",
        "TCP segment sent ahead of bytes the receiver awaited not read",
        "TCP segments sent ahead of bytes the receiver awaited not read",
    ),
    (
        "data_past_fin",
        "TCP segment's data past its sender's FIN not read",
        "TCP segments' data past their sender's FIN not read",
    ),
    (
        "data_after_close",
        "segment with data after its connection closed (not read)",
        "segments with data after their connection closed (not read)",
    ),
)
"""Reassembly's counters of what the server may have read otherwise, in the summary's
words: the counter, then its words for one and for several."""


def reassembly_summary(c: Mapping[str, int]) -> list[str]:
    """The summary's parts for the counters of :data:`_PROBLEMS` in ``c`` that are not 0.
    (``late_segments`` itself is not one: nearly every connection closed by FINs has
    its last ACK after the close.)"""
    return [counted(c[name], one, many) for name, one, many in _PROBLEMS if c.get(name)]
