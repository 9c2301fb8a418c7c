"""Link, IP and TCP headers decoded straight from bytes.

This is the hot path: one call per captured frame, so it works on ``bytes``
with ``struct`` and never builds scapy packets (a scapy dissection costs about
100 µs, this costs about 2). Whatever it cannot use is counted by reason in
:attr:`Decoder.skipped` and dropped, never raised.
"""

from __future__ import annotations

import struct
from collections import Counter
from typing import NamedTuple

from capture.net.fragments import MAX_DATAGRAM, Fragments
from capture.net.shard import Shard

# Link-layer header types (https://www.tcpdump.org/linktypes.html).
LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_PPP = 9
LINKTYPE_RAW = 101
LINKTYPE_RAW_12 = 12  # DLT_RAW on some BSDs
LINKTYPE_RAW_14 = 14  # DLT_RAW on OpenBSD
LINKTYPE_C_HDLC = 104
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_NFLOG = 239
LINKTYPE_LINUX_SLL2 = 276
LINKTYPE_PPP_HDLC = 50

ETH_IPV4 = 0x0800
ETH_IPV6 = 0x86DD
_ETH_VLAN = frozenset((0x8100, 0x88A8, 0x9100, 0x9200))
_ETH_MPLS = frozenset((0x8847, 0x8848))
_ETH_PPPOE_SESSION = 0x8864
_PPP_IPV4 = 0x0021
_PPP_IPV6 = 0x0057

# BSD loopback address families: AF_INET is 2 everywhere, AF_INET6 differs by OS.
_AF_INET6 = frozenset((10, 24, 28, 30))

# TCP flags.
FIN = 0x01
SYN = 0x02
RST = 0x04
ACK = 0x10
IP_OVERLAP = 0x100
"""Not a TCP flag (those fit a byte): the decoder's mark on the segment of a datagram
whose IP fragments overlapped with different bytes (:mod:`capture.net.fragments`),
which reassembly notes on the request its bytes reach."""

_IPV6_EXT_SIMPLE = frozenset((0, 43, 60))  # hop-by-hop, routing, destination options
_IPV6_FRAGMENT = 44
_IPV6_AH = 51
_PROTO_TCP = 6
# What may follow a Fragment header and still lead to TCP once the datagram is whole.
_FRAGMENTABLE = frozenset((_PROTO_TCP, 43, 60, _IPV6_AH))

_unpack_H = struct.Struct("!H").unpack_from
_unpack_tcp = struct.Struct("!HHIIBB").unpack_from
_unpack_ipv4 = struct.Struct("!BxHxxHxB").unpack_from
_pack_ipv4 = struct.Struct("!BxHxxxxBBxx4s4s").pack
_pack_ipv6 = struct.Struct("!IxxBB16s16s").pack
_unpack_eth_ipv4 = struct.Struct("!12xHBxHxxHxB").unpack_from


class Segment(NamedTuple):
    """A TCP segment with the addresses of its innermost IP header."""

    ts: float
    src: bytes
    """Packed source address (4 bytes IPv4, 16 bytes IPv6)."""
    sport: int
    dst: bytes
    dport: int
    seq: int
    ack: int
    flags: int
    payload: bytes
    missing: int = 0
    """Payload bytes on the wire that the capture did not keep (snap length)."""


_VLAN_TAGS = 2
"""VLAN tags (802.1Q, 802.1ad QinQ) the fast paths look through: more is rare, and
takes the general path (:meth:`Decoder.decode`)."""


def plain_tcp(data: bytes, offset: int, end: int) -> tuple[int, int, int, int] | None:
    """Where the parts of a plain TCP frame, ``data[offset:end]`` (Ethernet), sit: the
    frames the skip table passes over without decoding them. Plain is Ethernet II, at
    most :data:`_VLAN_TAGS` VLAN tags, then IPv4 without options and not a fragment,
    or IPv6 whose next header is TCP, and the whole TCP header in the frame.

    ``(key start, key end, TCP header start, IP end)``, offsets into ``data``: the key
    is the direction's source and destination addresses, then ports (12 bytes for
    IPv4, 36 for IPv6: in such a frame they follow each other, as
    :attr:`capture.net.reassembly.Flow.raw_keys` holds them); the IP end is where the
    IP header's length says the packet ends. ``None`` for any other frame.
    ``capture/sources/_pcapwalk.c`` (``plain``) computes the same.
    """
    n = offset + 14
    if end < n:
        return None
    ethertype = data[n - 2] << 8 | data[n - 1]
    tags = 0
    while ethertype in _ETH_VLAN:
        if tags == _VLAN_TAGS or end < n + 4:
            return None
        ethertype = data[n + 2] << 8 | data[n + 3]
        n += 4
        tags += 1
    if ethertype == ETH_IPV4:
        if end < n + 40 or data[n] != 0x45 or data[n + 9] != 6 or data[n + 6] & 0x3F or data[n + 7]:
            return None
        return n + 12, n + 24, n + 20, n + (data[n + 2] << 8 | data[n + 3])
    if ethertype == ETH_IPV6:
        if end < n + 60 or data[n] >> 4 != 6 or data[n + 6] != _PROTO_TCP:
            return None
        return n + 8, n + 44, n + 40, n + 40 + (data[n + 4] << 8 | data[n + 5])
    return None


def skippable(data: bytes, offset: int, skip: dict[bytes, bool | int]) -> bytes | None:
    """The key under which the Ethernet frame at ``data[offset:]`` may go undecoded.

    ``skip`` (:attr:`capture.net.reassembly.Reassembler.skip`) maps the address and
    port bytes of a TCP direction to True (skip any segment), or False or an ``int``
    (a probed direction, whose first segment is left to the capture's reader: skip
    segments without payload). Only plain frames (:func:`plain_tcp`: IPv4 without
    options or fragmentation, or IPv6 straight to TCP, behind at most two VLAN tags)
    without SYN, FIN or RST qualify; ``None`` otherwise.
    """
    where = plain_tcp(data, offset, len(data))
    if where is None:
        return None
    start, stop, tcp, ip_end = where
    key = data[start:stop]
    whole = skip.get(key)
    if (
        whole is not None
        and not data[tcp + 13] & 0x07
        and (whole is True or ip_end == tcp + (data[tcp + 12] >> 4 << 2))
    ):
        return key
    return None


def plain_segment(ts: float, data: bytes) -> Segment | None:
    """The segment of a plain frame (:func:`plain_tcp`), the overwhelmingly common
    kind: Ethernet II, at most two VLAN tags, IPv4 without options and not a fragment
    or IPv6 straight to TCP, its TCP header inside the IP length. ``None`` for
    anything else, which :meth:`Decoder.decode` then takes on its general path.

    The C record walk (``capture/sources/_pcapwalk.c``, ``plain_segment``) decodes
    these frames itself in a scan; tests/capture/sources/test_pcapwalk.py holds the
    two equal on garbled and truncated frames, and to the general path.
    """
    if len(data) < 54:
        return None
    ethertype, vihl, total, frag, proto = _unpack_eth_ipv4(data)
    if ethertype == ETH_IPV4 and vihl == 0x45 and proto == _PROTO_TCP and not frag & 0x3FFF:
        # Untagged IPv4, nearly every frame: plain_tcp written out.
        key, n, tcp = 26, 4, 34
        # An IP length below both headers' minimum is not believed: the frame's end.
        end = 14 + total if total >= 40 else len(data)
    else:
        where = plain_tcp(data, 0, len(data))
        if where is None:
            return None
        key, key_end, tcp, ip_end = where
        n = (key_end - key - 4) >> 1  # an address: 4 bytes, or 16
        if n == 4:
            end = ip_end if ip_end >= tcp + 20 else len(data)  # as above
        else:
            end = ip_end if ip_end != tcp else len(data)  # a payload length of 0: jumbo, TSO
    sport, dport, seq, ack, doff, flags = _unpack_tcp(data, tcp)
    start = tcp + (doff >> 4) * 4
    if start > end:
        return None
    payload = data[start:end]
    return Segment(
        ts,
        data[key : key + n],
        sport,
        data[key + n : key + 2 * n],
        dport,
        seq,
        ack,
        flags,
        payload,
        end - start - len(payload),
    )


class Decoder:
    """Turns link-layer frames into TCP :class:`Segment` objects."""

    def __init__(self, shard: Shard | None = None, fragments: Fragments | None = None) -> None:
        self.skipped: Counter[str] = Counter()
        self.fragments = fragments if fragments is not None else Fragments()
        """IP fragments of TCP datagrams, reassembled (:mod:`capture.net.fragments`).
        In a split scan every process reassembles them all (a later fragment has no
        ports to tell whose it is); the TCP segment then goes to its shard."""
        # In a split scan, each skipped frame is counted by one process only: frames
        # of a connection by the connection's shard, the rest by shard 0.
        self._owns = shard.owns if shard is not None else None
        self._counts_flowless = shard is None or shard.counts_flowless

    def decode(self, ts: float, linktype: int, data: bytes) -> Segment | None:
        """Decode one frame; ``None`` (and a count in :attr:`skipped`) if it is not TCP."""
        if linktype == LINKTYPE_ETHERNET:
            seg = plain_segment(ts, data)
            if seg is not None:
                return seg
            return self._ethernet(ts, data, 0)
        if linktype in (LINKTYPE_RAW, LINKTYPE_RAW_12, LINKTYPE_RAW_14):
            return self._ip(ts, data, 0)
        if linktype == LINKTYPE_LINUX_SLL:
            if len(data) < 16:
                return self._skip("truncated link header")
            return self._ethertype(ts, data, 16, _unpack_H(data, 14)[0])
        if linktype == LINKTYPE_LINUX_SLL2:
            if len(data) < 20:
                return self._skip("truncated link header")
            return self._ethertype(ts, data, 20, _unpack_H(data, 0)[0])
        if linktype in (LINKTYPE_NULL, LINKTYPE_LOOP):
            return self._null(ts, data, linktype == LINKTYPE_LOOP)
        if linktype in (LINKTYPE_IPV4, LINKTYPE_IPV6):
            return self._ip(ts, data, 0)
        if linktype == LINKTYPE_NFLOG:
            return self._nflog(ts, data)
        if linktype == LINKTYPE_C_HDLC:
            if len(data) < 4:
                return self._skip("truncated link header")
            return self._ethertype(ts, data, 4, _unpack_H(data, 2)[0])
        if linktype in (LINKTYPE_PPP, LINKTYPE_PPP_HDLC):
            # Address and control bytes (0xff 0x03) are optional (RFC 1661 ACFC).
            return self._ppp(ts, data, 2 if data[:2] == b"\xff\x03" else 0)
        return self._skip(f"link type {linktype}")

    def fragment_counts(self) -> dict[str, int]:
        """The fragment counters (:meth:`Fragments.counts`); in a split scan, zeros
        except in the process that counts what belongs to no connection, since
        every process reassembles every fragment."""
        counts = self.fragments.counts()
        if not self._counts_flowless:
            counts = dict.fromkeys(counts, 0)
        return counts

    def _overlapped(self, ts: float, datagram: bytes) -> Segment | None:
        """The segment of ``datagram``, made whole of IP fragments that overlapped with
        different bytes (an IP header without fragmentation, then the payload), marked
        :data:`IP_OVERLAP`. Only such datagrams pay for the copy and the second look."""
        seg = self._ip(ts, datagram, 0)
        return None if seg is None else seg._replace(flags=seg.flags | IP_OVERLAP)

    def _skip(self, reason: str) -> Segment | None:
        """Count a frame we cannot use; always None, for ``return self._skip(...)``."""
        if self._counts_flowless:
            self.skipped[reason] += 1
        return None

    def _ethernet(self, ts: float, data: bytes, offset: int) -> Segment | None:
        if len(data) < offset + 14:
            return self._skip("truncated link header")
        ethertype = _unpack_H(data, offset + 12)[0]
        offset += 14
        if ethertype <= 1500:
            # IEEE 802.3 length field: LLC follows; only SNAP carries an ethertype.
            if data[offset : offset + 3] != b"\xaa\xaa\x03" or len(data) < offset + 8:
                return self._skip("802.3 LLC (not SNAP)")
            ethertype = _unpack_H(data, offset + 6)[0]
            offset += 8
        return self._ethertype(ts, data, offset, ethertype)

    def _ethertype(self, ts: float, data: bytes, offset: int, ethertype: int) -> Segment | None:
        # VLAN tags (802.1Q, 802.1ad QinQ) can stack; each is 4 bytes.
        while ethertype in _ETH_VLAN:
            if len(data) < offset + 4:
                return self._skip("truncated VLAN tag")
            ethertype = _unpack_H(data, offset + 2)[0]
            offset += 4
        if ethertype in (ETH_IPV4, ETH_IPV6):
            return self._ip(ts, data, offset)
        if ethertype in _ETH_MPLS:
            # Label stack: 4 bytes each; bit 8 of the third byte marks the bottom.
            while True:
                if len(data) < offset + 4:
                    return self._skip("truncated MPLS label")
                bottom = data[offset + 2] & 1
                offset += 4
                if bottom:
                    break
            return self._ip(ts, data, offset)
        if ethertype == _ETH_PPPOE_SESSION:
            if len(data) < offset + 8:
                return self._skip("truncated PPPoE header")
            return self._ppp(ts, data, offset + 6)
        return self._skip(f"ethertype 0x{ethertype:04x}")

    def _ppp(self, ts: float, data: bytes, offset: int) -> Segment | None:
        if len(data) < offset + 2:
            return self._skip("truncated PPP header")
        protocol = data[offset]
        if protocol & 1:
            # Protocol-Field-Compression (RFC 1661 §6.5): a one-byte protocol.
            offset += 1
        else:
            protocol = _unpack_H(data, offset)[0]
            offset += 2
        if protocol in (_PPP_IPV4, _PPP_IPV6):
            return self._ip(ts, data, offset)
        return self._skip(f"PPP protocol 0x{protocol:04x}")

    def _null(self, ts: float, data: bytes, network_order: bool) -> Segment | None:
        if len(data) < 4:
            return self._skip("truncated link header")
        # DLT_NULL stores the family in the capturing host's byte order: try both.
        family = int.from_bytes(data[:4], "big" if network_order else "little")
        if not network_order and family > 0xFFFF:
            family = int.from_bytes(data[:4], "big")
        if family == 2 or family in _AF_INET6:
            return self._ip(ts, data, 4)
        return self._skip(f"loopback family {family}")

    def _nflog(self, ts: float, data: bytes) -> Segment | None:
        # 4-byte header, then TLVs (length and type in host order, padded to 4);
        # type 9 (NFULA_PAYLOAD) holds the IP packet.
        offset = 4
        size = len(data)
        while offset + 4 <= size:
            length = int.from_bytes(data[offset : offset + 2], "little")
            tlv_type = int.from_bytes(data[offset + 2 : offset + 4], "little")
            if length < 4:
                break
            if tlv_type == 9:
                return self._ip(ts, data[offset + 4 : offset + length], 0)
            offset += (length + 3) & ~3
        return self._skip("NFLOG without payload")

    def _ip(self, ts: float, data: bytes, offset: int) -> Segment | None:
        if len(data) <= offset:
            return self._skip("truncated IP header")
        version = data[offset] >> 4
        if version == 4:
            if len(data) < offset + 20:
                return self._skip("truncated IP header")
            vihl, total, frag, proto = _unpack_ipv4(data, offset)
            ihl = (vihl & 0x0F) * 4
            if proto != _PROTO_TCP:
                return self._skip(f"IP protocol {proto}")
            src = data[offset + 12 : offset + 16]
            dst = data[offset + 16 : offset + 20]
            start = offset + ihl
            if frag & 0x3FFF:
                # More-fragments set or a non-zero offset: a piece of a datagram.
                if ihl < 20 or total < ihl:
                    return self._skip("bad IP fragment header")
                end = offset + total
                whole = self.fragments.add(
                    ts,
                    data[offset + 4 : offset + 6] + bytes((proto,)) + src + dst,
                    (frag & 0x1FFF) * 8,
                    bool(frag & 0x2000),
                    data[start:end],
                    end - start,
                    proto,
                    MAX_DATAGRAM - ihl,
                )
                if whole is None:
                    return None
                if whole[2]:
                    return self._overlapped(
                        ts, _pack_ipv4(0x45, 20 + len(whole[1]), 64, proto, src, dst) + whole[1]
                    )
                data = whole[1]
                start, end = 0, len(data)
            else:
                # total == 0 happens with TCP segmentation offload: trust the capture.
                end = offset + total if total >= ihl else len(data)
        elif version == 6:
            if len(data) < offset + 40:
                return self._skip("truncated IP header")
            proto = data[offset + 6]
            plen = _unpack_H(data, offset + 4)[0]
            src = data[offset + 8 : offset + 24]
            dst = data[offset + 24 : offset + 40]
            start = offset + 40
            end = start + plen if plen else len(data)
            reassembled = False
            while proto != _PROTO_TCP:
                if proto in _IPV6_EXT_SIMPLE:
                    if len(data) < start + 2:
                        return self._skip("truncated IPv6 extension header")
                    proto, hlen = data[start], (data[start + 1] + 1) * 8
                elif proto == _IPV6_FRAGMENT:
                    if len(data) < start + 8:
                        return self._skip("truncated IPv6 extension header")
                    frag = _unpack_H(data, start + 2)[0]
                    if frag & 0xFFF9:
                        # Offset or More-fragments set (not an atomic fragment).
                        proto = data[start]
                        if proto not in _FRAGMENTABLE:
                            return self._skip(f"IP protocol {proto}")
                        if reassembled or plen == 0:
                            return self._skip("bad IP fragment header")
                        whole = self.fragments.add(
                            ts,
                            data[start + 4 : start + 8] + src + dst,
                            frag & 0xFFF8,
                            bool(frag & 1),
                            data[start + 8 : end],
                            end - start - 8,
                            proto,
                            MAX_DATAGRAM - (start + 8 - offset - 40),
                        )
                        if whole is None:
                            return None
                        proto, data, overlapped = whole
                        if overlapped:
                            # Payload length 0: the capture's length counts, and a
                            # second Fragment header is refused, as when reassembled.
                            return self._overlapped(
                                ts, _pack_ipv6(0x60000000, proto, 64, src, dst) + data
                            )
                        start, end, reassembled = 0, len(data), True
                        continue
                    proto, hlen = data[start], 8
                elif proto == _IPV6_AH:
                    if len(data) < start + 2:
                        return self._skip("truncated IPv6 extension header")
                    proto, hlen = data[start], (data[start + 1] + 2) * 4
                else:
                    return self._skip(f"IP protocol {proto}")
                start += hlen
        else:
            return self._skip(f"IP version {version}")
        if len(data) < start + 20:
            return self._skip("truncated TCP header")
        sport, dport, seq, ack, doff, flags = _unpack_tcp(data, start)
        payload_start = start + (doff >> 4) * 4
        wire = end - payload_start
        if wire < 0:
            if self._owns is None or self._owns((src, sport, dst, dport)):
                self.skipped["bad TCP header length"] += 1
            return None
        payload = data[payload_start:end]
        missing = wire - len(payload)
        return Segment(ts, src, sport, dst, dport, seq, ack, flags, payload, missing)
