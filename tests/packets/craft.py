"""Raw TCP conversations as Ethernet frames: for the demo capture, tests and benchmarks.

Building frames with ``struct`` is ~50× faster than scapy layers, which matters
for the benchmark captures (hundreds of thousands of frames). Checksums are
correct, so Wireshark and tshark show no errors.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

from capture.net.decode import ACK, FIN, RST, SYN

PSH = 0x08
_MAC_CLIENT = bytes.fromhex("020000000001")
_MAC_SERVER = bytes.fromhex("020000000002")


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def tcp_frame(
    src: str,
    sport: int,
    dst: str,
    dport: int,
    seq: int,
    ack: int,
    flags: int,
    payload: bytes = b"",
    vlan: int | None = None,
) -> bytes:
    """One Ethernet frame carrying an IPv4 or IPv6 TCP segment."""
    s = ipaddress.ip_address(src)
    d = ipaddress.ip_address(dst)
    window = 65535
    tcp_header = struct.pack(
        "!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags, window, 0, 0
    )
    length = len(tcp_header) + len(payload)
    if s.version == 4:
        pseudo = s.packed + d.packed + struct.pack("!BBH", 0, 6, length)
    else:
        pseudo = s.packed + d.packed + struct.pack("!IxxxB", length, 6)
    csum = _checksum(pseudo + tcp_header + payload)
    tcp = tcp_header[:16] + struct.pack("!H", csum) + tcp_header[18:] + payload
    if s.version == 4:
        ip_header = struct.pack(
            "!BBHHHBBH4s4s", 0x45, 0, 20 + length, 0, 0x4000, 64, 6, 0, s.packed, d.packed
        )
        ip = ip_header[:10] + struct.pack("!H", _checksum(ip_header)) + ip_header[12:] + tcp
        ethertype = 0x0800
    else:
        ip = struct.pack("!IHBB16s16s", 6 << 28, length, 6, 64, s.packed, d.packed) + tcp
        ethertype = 0x86DD
    if vlan is not None:
        return _MAC_SERVER + _MAC_CLIENT + struct.pack("!HHH", 0x8100, vlan, ethertype) + ip
    return _MAC_SERVER + _MAC_CLIENT + struct.pack("!H", ethertype) + ip


@dataclass
class Conversation:
    """A TCP connection being written frame by frame, with timestamps.

    Each method returns ``(ts, frame)`` pairs; sequence numbers are tracked.
    """

    client: str
    cport: int
    server: str
    sport: int
    ts: float
    client_isn: int = 1000
    server_isn: int = 5000
    mss: int = 1460
    step: float = 0.0005
    vlan: int | None = None
    _cseq: int = field(init=False, default=0)
    _sseq: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self._cseq = self.client_isn
        self._sseq = self.server_isn

    def _frame(self, from_client: bool, flags: int, payload: bytes = b"") -> tuple[float, bytes]:
        self.ts += self.step
        if from_client:
            frame = tcp_frame(
                self.client,
                self.cport,
                self.server,
                self.sport,
                self._cseq,
                self._sseq,
                flags,
                payload,
                self.vlan,
            )
        else:
            frame = tcp_frame(
                self.server,
                self.sport,
                self.client,
                self.cport,
                self._sseq,
                self._cseq,
                flags,
                payload,
                self.vlan,
            )
        return self.ts, frame

    def handshake(self) -> list[tuple[float, bytes]]:
        """SYN, SYN+ACK, ACK."""
        out = [self._frame(True, SYN)]
        self._cseq += 1
        out.append(self._frame(False, SYN | ACK))
        self._sseq += 1
        out.append(self._frame(True, ACK))
        return out

    def send(
        self, from_client: bool, data: bytes, split: int | None = None
    ) -> list[tuple[float, bytes]]:
        """``data`` in segments of at most ``split`` (default: the MSS) bytes."""
        size = split or self.mss
        out = []
        for i in range(0, len(data), size):
            chunk = data[i : i + size]
            out.append(self._frame(from_client, ACK | PSH, chunk))
            if from_client:
                self._cseq += len(chunk)
            else:
                self._sseq += len(chunk)
        return out

    def ack(self, from_client: bool) -> list[tuple[float, bytes]]:
        """A bare acknowledgement of everything the other side sent."""
        return [self._frame(from_client, ACK)]

    def close(self) -> list[tuple[float, bytes]]:
        """FIN from the client, FIN+ACK from the server, last ACK."""
        out = [self._frame(True, FIN | ACK)]
        self._cseq += 1
        out.append(self._frame(False, FIN | ACK))
        self._sseq += 1
        out.append(self._frame(True, ACK))
        return out

    def reset(self, from_client: bool = True) -> list[tuple[float, bytes]]:
        """An RST."""
        return [self._frame(from_client, RST | ACK)]


def exchange(
    conv: Conversation, request: bytes, response: bytes, split: int | None = None
) -> Iterator[tuple[float, bytes]]:
    """A request and its response on an open conversation."""
    yield from conv.send(True, request, split)
    yield from conv.send(False, response)


def ip_fragment(
    frame: bytes, offset: int, length: int, more: bool, ident: int, data: bytes | None = None
) -> bytes:
    """One IP fragment of the Ethernet frame ``frame`` (IPv4 or IPv6, as
    :func:`tcp_frame` makes it, no VLAN): ``length`` bytes of its IP payload from
    ``offset`` (a multiple of 8), or ``data`` in their place (for overlaps that
    change bytes). IPv4 fragments carry the identification ``ident``; IPv6 ones a
    Fragment header with it."""
    link, ethertype = frame[:12], frame[12:14]
    part = frame[14:][(20 if ethertype == b"\x08\x00" else 40) :][offset : offset + length]
    if data is not None:
        part = data
    if ethertype == b"\x08\x00":
        header = bytearray(frame[14:34])
        struct.pack_into("!HHH", header, 2, 20 + len(part), ident, (more << 13) | offset // 8)
        header[10:12] = b"\0\0"
        header[10:12] = struct.pack("!H", _checksum(bytes(header)))
        return link + ethertype + bytes(header) + part
    fixed = bytearray(frame[14:54])
    struct.pack_into("!H", fixed, 4, 8 + len(part))
    next_header = fixed[6]
    fixed[6] = 44
    fragment = struct.pack("!BxHI", next_header, offset | more, ident)
    return link + ethertype + bytes(fixed) + fragment + part


def ip_fragments(frame: bytes, size: int, ident: int) -> list[bytes]:
    """The IP payload of ``frame`` in fragments of ``size`` bytes (a multiple of 8), in order."""
    total = len(frame) - 14 - (20 if frame[12:14] == b"\x08\x00" else 40)
    return [ip_fragment(frame, at, size, at + size < total, ident) for at in range(0, total, size)]
