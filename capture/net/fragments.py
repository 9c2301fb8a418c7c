"""IPv4 and IPv6 fragment reassembly, before TCP, bounded in bytes and in time.

:class:`capture.net.decode.Decoder` hands every fragment of a TCP datagram here
(IPv4: More-Fragments set or a non-zero offset; IPv6: a Fragment extension header
that is not atomic). When a datagram is whole, its payload goes back to the decoder,
which reads the TCP segment in it as if it had come in one frame: a request carried
in fragments is found like any other.

Datagrams are keyed as the receiving host keys them: IPv4 by source, destination,
protocol and identification (RFC 791); IPv6 by source, destination and the
Fragment header's identification (RFC 8200 §4.5).

The policy, which decides what an evader can hide (a sender who makes two copies of
the same bytes differ hopes the monitor keeps one and the server the other):

* **Overlaps: first wins.** Bytes already held are kept; a later fragment only fills
  the holes it covers. This is what Wireshark/tshark show by default, what Zeek
  does, and the behaviour of the BSDs' "first" targets. Modern Linux (IPv4 since
  4.19, IPv6 by RFC 5722) drops the whole datagram instead, and Windows differs
  again: when an overlap *changes* bytes no monitor can know what the server read,
  so each such fragment is counted (``ip_fragment_overlaps``) and shows in the scan
  summary, and the datagram is said to have overlapped (:meth:`Fragments.add`): its
  TCP segment carries :data:`capture.net.decode.IP_OVERLAP`, and reassembly notes
  it on the request its bytes reach (:data:`OVERLAP_NOTE`). An overlap that repeats
  the same bytes (a retransmission) is counted apart, as a duplicate, and is harmless.
* **Tiny first fragments** (RFC 1858: too short to hold the TCP header, the classic
  way to slip flags past a packet filter) are counted and still reassembled, since
  the receiving host reassembles them too.
* **Odd lengths.** A fragment other than the last whose length is not a multiple of
  8 is trimmed to one, as Linux does (counted as malformed); an empty fragment, a
  second last fragment with a different end, or bytes past the end are malformed:
  the fragment (or, for conflicting ends, the datagram) is dropped.
* **Bounds.** A datagram may not grow past 65,535 bytes with its IP header
  (``ip_datagrams_too_large``: it is dropped, as every stack drops it). All
  datagrams being reassembled hold at most :data:`BUDGET` bytes together (each kept
  piece costs its length plus :data:`PIECE_COST`); past it, the oldest datagrams
  are dropped (``ip_datagrams_evicted``). A datagram not complete
  :data:`TIMEOUT` seconds of *capture time* after its first fragment is dropped
  (``ip_datagrams_timed_out``), as Linux's ``ipfrag_time`` (30 s) does; this is
  checked as each fragment arrives (only fragments can add to what is held).
* A fragment cut short by the capture's snap length cannot be reassembled; it is
  counted (``ip_fragments_cut``) and its datagram never completes.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter

from capture.text import counted

TIMEOUT = 30.0
"""Seconds of capture time a datagram may take to complete (Linux ``ipfrag_time``)."""
BUDGET = 4 * 1024 * 1024
"""Bytes held by all incomplete datagrams together (Linux ``ipfrag_high_thresh``)."""
MAX_DATAGRAM = 65_535
"""Largest IP datagram, header included (IPv4 total length, IPv6 payload length)."""
PIECE_COST = 64
"""Bytes each kept piece costs beyond its data (the list entries and bytes object)."""
DATAGRAM_COST = 256
"""Bytes each datagram being reassembled costs beyond its pieces."""
TCP_HEADER = 20
OVERLAP_NOTE = (
    "IP fragments overlapped with different bytes; the first copy was read "
    "(the server may have read the other or dropped the datagram)"
)
"""The note (an anomaly) of the request whose bytes came from such a datagram."""

COUNTERS = (
    "ip_fragments",
    "ip_datagrams_reassembled",
    "ip_fragment_overlaps",
    "ip_fragment_duplicates",
    "ip_fragments_tiny",
    "ip_fragments_malformed",
    "ip_fragments_cut",
    "ip_datagrams_too_large",
    "ip_datagrams_timed_out",
    "ip_datagrams_evicted",
)
"""Every counter of :attr:`Fragments.counters`, in the order the summary gives them."""


class _Datagram:
    """The pieces of one datagram held so far: sorted, never overlapping."""

    __slots__ = ("conflict", "cost", "covered", "end", "first_ts", "pieces", "proto", "starts")

    def __init__(self, ts: float) -> None:
        self.first_ts = ts
        self.starts: list[int] = []
        self.pieces: list[bytes] = []
        self.end = -1
        """Length of the payload once the last fragment is seen; -1 before."""
        self.covered = 0
        self.cost = DATAGRAM_COST
        self.proto = -1
        """The protocol (IPv6: the Fragment header's next header) of the first fragment."""
        self.conflict = False
        """Whether fragments overlapped with different bytes (first kept)."""


class Fragments:
    """Fragments of IP datagrams being put back together (see the module's policy)."""

    def __init__(self, budget: int = BUDGET, timeout: float = TIMEOUT) -> None:
        self.budget = budget
        self.timeout = timeout
        self.counters: Counter[str] = Counter()
        self.buffered = 0
        """Bytes held now (pieces and their costs), at most :attr:`budget`."""
        # Insertion order is the order of first fragments: the oldest are first.
        self._table: dict[bytes, _Datagram] = {}

    @property
    def pending(self) -> int:
        """Datagrams started and not yet complete."""
        return len(self._table)

    def add(
        self,
        ts: float,
        key: bytes,
        offset: int,
        more: bool,
        data: bytes,
        wire: int,
        proto: int,
        room: int,
    ) -> tuple[int, bytes, bool] | None:
        """Take one fragment; the datagram's protocol, payload and whether its fragments
        overlapped with different bytes, if it is now whole.

        ``key`` identifies the datagram, ``offset`` is in bytes (the header's field
        times 8), ``more`` is the More-Fragments flag, ``data`` the fragment's payload
        as captured and ``wire`` its length on the wire. ``proto`` is the protocol
        the header names (IPv6: the Fragment header's next header); the first
        fragment's counts. ``room`` is the largest payload end allowed: 65,535 less
        the headers that come before the fragmentable part.
        """
        counters = self.counters
        counters["ip_fragments"] += 1
        if self._table:
            self._expire(ts)
        if len(data) < wire:
            counters["ip_fragments_cut"] += 1
            return None
        size = len(data)
        if more and size & 7:
            counters["ip_fragments_malformed"] += 1
            size &= ~7
            data = data[:size]
        elif not size:
            counters["ip_fragments_malformed"] += 1
        if not size:
            return None
        end = offset + size
        table = self._table
        dgram = table.get(key)
        if end > room:
            counters["ip_datagrams_too_large"] += 1
            if dgram is not None:
                self._drop(key)
            return None
        if dgram is None:
            dgram = table[key] = _Datagram(ts)
            self.buffered += DATAGRAM_COST
        if offset == 0:
            dgram.proto = proto
            if size < TCP_HEADER:
                counters["ip_fragments_tiny"] += 1
        if not more:
            if (dgram.end >= 0 and dgram.end != end) or (
                dgram.starts and dgram.starts[-1] + len(dgram.pieces[-1]) > end
            ):
                counters["ip_fragments_malformed"] += 1
                self._drop(key)
                return None
            dgram.end = end
        elif dgram.end >= 0 and end > dgram.end:
            counters["ip_fragments_malformed"] += 1
            return None
        if self._place(dgram, offset, data):
            self._charge(dgram)
            if key not in table:
                return None  # the budget could not hold even this datagram
        if dgram.end < 0 or dgram.covered != dgram.end or dgram.proto < 0:
            return None
        del table[key]
        self.buffered -= dgram.cost
        counters["ip_datagrams_reassembled"] += 1
        return dgram.proto, b"".join(dgram.pieces), dgram.conflict

    def _place(self, dgram: _Datagram, offset: int, data: bytes) -> int:
        """Keep the parts of ``data`` (at ``offset``) that no piece holds yet (first
        wins); count the overlap. The number of pieces added."""
        starts, pieces = dgram.starts, dgram.pieces
        end = offset + len(data)
        i = bisect_right(starts, offset) - 1
        if i < 0 or starts[i] + len(pieces[i]) <= offset:
            i += 1
        conflict = overlap = False
        new: list[tuple[int, bytes]] = []
        at = offset  # the first byte of data not yet looked at
        while i < len(starts) and starts[i] < end:
            s, piece = starts[i], pieces[i]
            if s > at:
                new.append((at, data[at - offset : s - offset]))
            lo, hi = max(s, offset), min(s + len(piece), end)
            overlap = True
            if piece[lo - s : hi - s] != data[lo - offset : hi - offset]:
                conflict = True
            at = max(at, hi)
            i += 1
        if at < end:
            new.append((at, data[at - offset :]))
        if conflict:
            self.counters["ip_fragment_overlaps"] += 1
            dgram.conflict = True
        elif overlap:
            self.counters["ip_fragment_duplicates"] += 1
        for start, part in new:
            j = bisect_right(starts, start)
            starts.insert(j, start)
            pieces.insert(j, part)
            dgram.covered += len(part)
        return len(new)

    def _charge(self, dgram: _Datagram) -> None:
        """Account for what was just kept; evict the oldest datagrams past the budget."""
        cost = DATAGRAM_COST + dgram.covered + PIECE_COST * len(dgram.pieces)
        self.buffered += cost - dgram.cost
        dgram.cost = cost
        table = self._table
        while self.buffered > self.budget and table:
            oldest = next(iter(table))
            self.counters["ip_datagrams_evicted"] += 1
            self._drop(oldest)

    def _drop(self, key: bytes) -> None:
        dgram = self._table.pop(key)
        self.buffered -= dgram.cost

    def _expire(self, now: float) -> None:
        """Drop the datagrams whose first fragment came more than :attr:`timeout` ago."""
        table = self._table
        limit = now - self.timeout
        while table:
            key = next(iter(table))
            if table[key].first_ts >= limit:
                return
            self.counters["ip_datagrams_timed_out"] += 1
            self._drop(key)

    def counts(self) -> dict[str, int]:
        """Every counter by name (zeros included), and the datagrams still incomplete."""
        counts = {name: self.counters[name] for name in COUNTERS}
        counts["ip_datagrams_incomplete"] = self.pending
        return counts


_PROBLEMS = (
    ("ip_fragment_overlaps", "overlapping with different bytes (first kept)"),
    ("ip_fragment_duplicates", "duplicate"),
    ("ip_fragments_tiny", "tiny first fragment"),
    ("ip_fragments_malformed", "malformed"),
    ("ip_fragments_cut", "cut by the snap length"),
    ("ip_datagrams_too_large", "datagram too large"),
    ("ip_datagrams_timed_out", "datagram timed out"),
    ("ip_datagrams_evicted", "datagram dropped (fragment memory full)"),
    ("ip_datagrams_incomplete", "datagram incomplete"),
)


def fragments_summary(c: dict[str, int]) -> str:
    """The summary's part for the fragment counters in ``c`` (from :meth:`Fragments.counts`)."""
    text = (
        f"{counted(c['ip_fragments'], 'IP fragment')} → "
        f"{counted(c['ip_datagrams_reassembled'], 'datagram')} reassembled"
    )
    problems = [f"{c[name]:,} {what}" for name, what in _PROBLEMS if c.get(name)]
    return f"{text} ({', '.join(problems)})" if problems else text
