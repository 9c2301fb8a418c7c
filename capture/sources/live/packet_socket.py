"""The kernel side of live capture: a packet socket, its BPF filter and its ring.

:func:`open_socket` opens a Linux packet socket on one interface with a kernel BPF
filter compiled by libpcap (:mod:`capture.sources.live.bpf`). :class:`PacketSocket`
then reads it through a memory-mapped TPACKET_V3 :class:`Ring`, as libpcap does, or
one ``recvmsg`` at a time when the kernel refuses a ring; either way it hands raw
``(timestamp, bytes)`` pairs to the capture thread (:mod:`capture.sources.live.source`).
"""

from __future__ import annotations

import contextlib
import errno
import mmap
import os
import select
import socket
import struct
import time
from collections.abc import Callable

from capture.net.decode import LINKTYPE_ETHERNET
from capture.sources.live.bpf import FilterError, LibpcapMissing, attach, compile_bpf
from capture.sources.live.link import (
    ARPHRD_LOOPBACK,
    LiveError,
    NeedsPrivileges,
    iface_drops,
    sysfs_int,
)
from capture.sources.live.privileges import missing_privileges_message

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1
PACKET_STATISTICS = 6
PACKET_AUXDATA = 8
PACKET_RX_RING = 5
PACKET_VERSION = 10
TPACKET_V3 = 2
TP_STATUS_USER = 1
SO_RCVBUFFORCE = 33
SO_TIMESTAMPNS = 35
PACKET_OUTGOING = 4
TP_STATUS_VLAN_VALID = 0x10
TP_STATUS_VLAN_TPID_VALID = 0x40
ETH_P_8021Q = 0x8100

DEFAULT_RCVBUF = 128 << 20
"""Socket buffer asked for: at ~25,000 packets/s a 128 KiB buffer loses packets."""
DEFAULT_RING = 16 << 20
"""Memory-mapped receive ring (TPACKET_V3), as libpcap and tcpdump use, read without
a system call per frame; halved until the kernel grants it (down to :data:`MIN_RING`).
The kernel maps every page of it into the process at set-up, so all of it counts in
RSS from the start: 16 MiB absorbs about a second of stalled reading at 20,000
frames/s (64 blocks, each handed over full or after :data:`RING_TIMEOUT_MS`, so at
least ~400 frames each at that rate). ``live --buffer-size`` changes it."""
RING_BLOCK = 256 << 10
"""Block size: a block holds any frame up to :data:`SNAPLEN` (the kernel cuts a frame
to what fits in one block), and smaller blocks than libpcap's 1 MiB make more of
them per MiB, which matters when blocks are handed over part-full by the timeout."""
MIN_RING = 4 << 20
RING_TIMEOUT_MS = 20
"""A block that is not full is handed over after this long: bounds the latency."""
SNAPLEN = 262144
"""Largest frame kept whole (tcpdump's default); veth and GRO give frames above the MTU."""

_ANCBUF = socket.CMSG_SPACE(16) + socket.CMSG_SPACE(20)
_unpack_ts = struct.Struct("qq").unpack
_unpack_aux = struct.Struct("IIIHHHH").unpack_from
_unpack_stats = struct.Struct("II").unpack_from
_unpack_block = struct.Struct("III").unpack_from  # block_status, num_pkts, offset_to_first_pkt
_unpack_tp3 = struct.Struct("IIIIIIH").unpack_from  # next, sec, nsec, snaplen, len, status, mac
_unpack_vlan = struct.Struct("IH").unpack_from  # tp_vlan_tci, tp_vlan_tpid (hv1 + 4)
_TP3_SLL_PKTTYPE = 48 + 10  # sockaddr_ll follows the 48-byte tpacket3_hdr

Push = Callable[[int, list[tuple[float, bytes]], int], None]
"""``push(linktype, frames, nbytes)``: where a read hands its frames."""


class InterfaceDown(Exception):
    """Internal: the interface is down, so the socket cannot be bound yet."""


def check_privileges(iface: str) -> None:
    """Raise :class:`NeedsPrivileges` unless packet sockets may be opened."""
    try:
        socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0).close()
    except PermissionError:
        raise NeedsPrivileges(missing_privileges_message(iface)) from None


def libpcap_missing_message() -> str:
    """One line for a system without libpcap (needed to compile BPF filters)."""
    return (
        "capture filters are compiled by libpcap, which is not installed: "
        "sudo apt-get install libpcap0.8 (tcpdump brings it too)"
    )


def check_filter(bpf: str, linktype: int = LINKTYPE_ETHERNET) -> bytes:
    """Compile ``bpf`` (tcpdump syntax) with libpcap for frames of ``linktype`` (kept
    up to :data:`SNAPLEN`); the program. Raises :class:`LiveError` if it cannot.

    Needs no privileges (libpcap compiles against a "dead" handle), so a bad
    filter or a missing libpcap is reported before anything else.
    """
    try:
        return compile_bpf(bpf, linktype, SNAPLEN)
    except LibpcapMissing:
        raise LiveError(libpcap_missing_message()) from None
    except FilterError as exc:
        raise LiveError(f"bad capture filter {bpf!r}: {exc}") from None


def open_socket(iface: str, program: bytes) -> socket.socket:
    """A packet socket on ``iface`` (every protocol, both directions) that receives
    the frames ``program`` (:func:`check_filter`) lets through, with their VLAN tags
    (auxiliary data) and nanosecond timestamps. Raises :class:`OSError` as the kernel
    does (``EPERM`` without privileges, ``ENODEV``, ``ENETDOWN`` while it is down)."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    try:
        # Until the bind, frames of every interface are queued for the socket: the
        # filter goes first, the queue is kept tiny, and what reached it is dropped.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 0)
        attach(sock, program)
        sock.bind((iface, ETH_P_ALL))
        sock.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            while True:
                sock.recv(1)
        sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    except BaseException:
        sock.close()
        raise
    return sock


class Ring:
    """A TPACKET_V3 receive ring mapped into memory: the kernel fills blocks of
    frames, we read a whole block without a system call and hand it back."""

    def __init__(self, sock: socket.socket, size: int) -> None:
        blocks = max(2, size // RING_BLOCK)
        sock.setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V3)
        frame_size = 2048  # nominal for V3 (frames vary in size); must divide the block
        request = struct.pack(
            "IIIIIII",
            RING_BLOCK,
            blocks,
            frame_size,
            RING_BLOCK // frame_size * blocks,
            RING_TIMEOUT_MS,
            0,
            0,
        )
        sock.setsockopt(SOL_PACKET, PACKET_RX_RING, request)
        self.blocks = blocks
        self.size = blocks * RING_BLOCK
        self.map = mmap.mmap(
            sock.fileno(), self.size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE
        )
        self.next = 0
        """The block to read next (the kernel fills them in order)."""

    def close(self) -> None:
        with contextlib.suppress(BufferError, ValueError):
            self.map.close()


class PacketSocket:
    """One open packet socket and what it was opened on."""

    def __init__(self, sock: socket.socket, iface: str, ifindex: int, linktype: int) -> None:
        self.sock = sock
        self.ifindex = ifindex
        self.linktype = linktype
        self.poll = select.poll()
        self.poll.register(self.sock, select.POLLIN | select.POLLERR)
        self.loopback = sysfs_int(iface, "type") == ARPHRD_LOOPBACK
        self.ring: Ring | None = None
        self.queued_before_ring = False
        """Frames that arrived between bind and ring set-up wait in the socket queue."""
        self.read = 0
        """Frames read from this socket (loopback duplicates included)."""
        self.packets = 0
        """Frames the kernel queued for this socket or dropped (its ``tp_packets``)."""
        self.drops = 0
        """Frames the kernel dropped because the socket buffer was full."""
        self.iface_base = iface_drops(iface)
        """The interface's own drop counter when the socket was opened."""

    def add_ring(self, size: int) -> int:
        """Switch to a TPACKET_V3 ring of at most ``size`` bytes; its size, or 0."""
        while size >= MIN_RING:
            try:
                self.ring = Ring(self.sock, size)
            except OSError as exc:
                if exc.errno == errno.ENOMEM:
                    size //= 2
                    continue
                return 0
            self.queued_before_ring = True
            return self.ring.size
        return 0

    def stats(self) -> tuple[int, int]:
        """Add the kernel's counts since the last call (they reset on read);
        return the new ``(packets, drops)``."""
        size = 12 if self.ring is not None else 8  # tpacket_stats_v3 with a V3 ring
        try:
            packets, drops = _unpack_stats(
                self.sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, size)
            )
        except OSError:
            return 0, 0
        self.packets += packets
        self.drops += drops
        return packets, drops

    def pending_error(self) -> OSError | None:
        """The error the kernel reported on the socket (ENETDOWN, …), if any."""
        try:
            code = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        except OSError as exc:
            return exc
        return OSError(code, os.strerror(code)) if code else None

    @property
    def backlog(self) -> int:
        """Frames queued in the socket buffer, not read yet (as of the last :meth:`stats`)."""
        return max(0, self.packets - self.drops - self.read)

    def close(self) -> None:
        if self.ring is not None:
            self.ring.close()
        with contextlib.suppress(OSError):
            self.sock.close()

    def read_batch(self, limit: int, push: Push, buf: bytearray) -> int:
        """Read about ``limit`` frames without blocking, hand them to ``push`` (also
        when reading fails half-way); return how many were read. ``buf`` is the
        capture thread's frame buffer (one, reused) for reads without a ring."""
        if self.ring is None or self.queued_before_ring:
            read = self._read_socket(limit, push, buf)
            if self.ring is not None and read < limit:
                self.queued_before_ring = False  # the old queue is empty: ring from now on
            return read
        return self._read_ring(self.ring, limit, push)

    def _read_ring(self, ring: Ring, limit: int, push: Push) -> int:
        """Frames of the ready blocks (at least one block's worth, up to ``limit``)."""
        mem = ring.map
        batch: list[tuple[float, bytes]] = []
        append = batch.append
        nbytes = 0
        read = 0
        loopback = self.loopback
        try:
            while read < limit:
                block = ring.next * RING_BLOCK
                status, count, first = _unpack_block(mem, block + 8)
                if not status & TP_STATUS_USER:
                    break
                at = block + first
                for _ in range(count):
                    following, sec, nsec, snaplen, _, tp_status, mac = _unpack_tp3(mem, at)
                    if loopback and mem[at + _TP3_SLL_PKTTYPE] == PACKET_OUTGOING:
                        at += following
                        continue
                    start = at + mac
                    data = mem[start : start + snaplen]
                    if tp_status & TP_STATUS_VLAN_VALID and snaplen >= 12:
                        tci, tpid = _unpack_vlan(mem, at + 32)
                        if not tp_status & TP_STATUS_VLAN_TPID_VALID:
                            tpid = ETH_P_8021Q
                        data = data[:12] + struct.pack("!HH", tpid, tci) + data[12:]
                    append((sec + nsec * 1e-9, data))
                    nbytes += snaplen
                    at += following
                read += count
                # Hand the block back to the kernel, then move on.
                mem[block + 8 : block + 12] = b"\0\0\0\0"
                ring.next = (ring.next + 1) % ring.blocks
        finally:
            self.read += read
            if batch:
                push(self.linktype, batch, nbytes)
        return read

    def _read_socket(self, limit: int, push: Push, buf: bytearray) -> int:
        """Up to ``limit`` frames, one ``recvmsg`` each (without a ring)."""
        recvmsg_into = self.sock.recvmsg_into
        view = memoryview(buf)
        batch: list[tuple[float, bytes]] = []
        append = batch.append
        nbytes = 0
        loopback = self.loopback
        read = 0
        try:
            for _ in range(limit):
                try:
                    n, ancdata, _flags, addr = recvmsg_into([buf], _ANCBUF)
                except BlockingIOError:
                    break
                except InterruptedError:
                    continue
                read += 1
                if loopback and addr[2] == PACKET_OUTGOING:
                    # On lo every packet is seen leaving and arriving: keep one.
                    continue
                ts = 0.0
                data = bytes(view[:n])
                for level, kind, cdata in ancdata:
                    if kind == SO_TIMESTAMPNS and level == socket.SOL_SOCKET:
                        sec, nsec = _unpack_ts(cdata[:16])
                        ts = sec + nsec * 1e-9
                    elif kind == PACKET_AUXDATA and level == SOL_PACKET and len(cdata) >= 20:
                        status, _, _, _, _, tci, tpid = _unpack_aux(cdata)
                        if (tci or status & TP_STATUS_VLAN_VALID) and n >= 12:
                            # The kernel took the VLAN tag off; put it back where it was.
                            if not status & TP_STATUS_VLAN_TPID_VALID:
                                tpid = ETH_P_8021Q
                            data = data[:12] + struct.pack("!HH", tpid, tci) + data[12:]
                if not ts:
                    ts = time.time()
                append((ts, data))
                nbytes += len(data)
        finally:
            self.read += read
            if batch:
                push(self.linktype, batch, nbytes)
        return read


def grow_buffer(sock: socket.socket, size: int) -> int:
    """Raise the receive buffer to ``size`` (past rmem_max when privileged); return it."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, size)
    except OSError:
        # Without CAP_NET_ADMIN the kernel caps this at net.core.rmem_max.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
    granted: int = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    return granted
