"""Live capture on a network interface: a :class:`~capture.sources.source.FrameSource`.

scapy opens the socket (``L2ListenSocket``: a Linux packet socket with a kernel
BPF filter compiled by libpcap, so only what the filter passes reaches Python).
A capture thread then reads it through a memory-mapped TPACKET_V3 ring, as
libpcap does, and does nothing but move raw ``(timestamp, bytes)`` pairs into a
bounded queue; parsing happens in the consumer (the
:class:`~capture.runner.Runner` thread).

Why the ring: a ``recvmsg`` per frame releases and retakes the GIL per frame, and
while the parser holds it each retake can wait a whole switch interval (5 ms), so
the reader starves and the kernel drops frames (measured here: kernel drops from
35,000 frames/s with a parser thread running). A ring block of hundreds of frames
is read in one go without a system call. Without a ring (it is refused, or
``ring=0``) frames are read one ``recvmsg`` at a time from a 128 MiB socket buffer.

What is lost is counted, never silent: ``kernel_drops`` (ring or socket buffer
full; from the packet socket statistics), ``queue_drops`` (the consumer fell
behind and the queue was full), and ``unread_at_stop`` (what the kernel still
held when a stop's drain ran out of time; normally never).

The interface may go away under us (a tether unplugged, ``ip link set down``):
the source says so in one line, keeps going, and resumes when it comes back.
A downed interface keeps its socket (the kernel resumes delivery when it comes
up again, so nothing is missed); an interface that disappears is reopened by
name when it reappears; one that is down at the start is waited for.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import mmap
import os
import select
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

from capture.net.decode import LINKTYPE_ETHERNET, LINKTYPE_RAW
from capture.sources.frames import CaptureError, Frame
from capture.sources.live.privileges import missing_privileges_message
from capture.sources.source import HEARTBEAT, Notify

# scapy's own warnings (e.g. about routes) would only repeat what we report.
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)

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

ARPHRD_LOOPBACK = 772
# Interface types whose packet-socket frames start with an Ethernet header.
_ETHERNET_ARPHRD = frozenset((1, 6, ARPHRD_LOOPBACK))
# Types whose frames start at the IP header: phones' raw-IP modems (qmi_wwan,
# MHI), PPP, tun, IP tunnels.
_RAW_IP_ARPHRD = frozenset((0xFFFE, 512, 519, 768, 769, 776))

DEFAULT_FILTER = "tcp"
DEFAULT_RCVBUF = 128 << 20
"""Socket buffer asked for: at ~25,000 packets/s a 128 KiB buffer loses packets."""
DEFAULT_RING = 64 << 20
"""Memory-mapped receive ring (TPACKET_V3), as libpcap and tcpdump use: seconds of
traffic at tens of thousands of frames per second, read without a system call per
frame; halved until the kernel grants it (down to :data:`_MIN_RING`)."""
_RING_BLOCK = 1 << 20
_MIN_RING = 4 << 20
_RING_TIMEOUT_MS = 20
"""A block that is not full is handed over after this long: bounds the latency."""
SNAPLEN = 262144
"""Largest frame kept whole (tcpdump's default); veth and GRO give frames above the MTU."""

_BATCH = 512
_STATS_INTERVAL = 0.5
_LINK_INTERVAL = 0.5
_DRAIN_SECONDS = 30.0
_ANCBUF = socket.CMSG_SPACE(16) + socket.CMSG_SPACE(20)
_unpack_ts = struct.Struct("qq").unpack
_unpack_aux = struct.Struct("IIIHHHH").unpack_from
_unpack_stats = struct.Struct("II").unpack_from
_unpack_block = struct.Struct("III").unpack_from  # block_status, num_pkts, offset_to_first_pkt
_unpack_tp3 = struct.Struct("IIIIIIH").unpack_from  # next, sec, nsec, snaplen, len, status, mac
_unpack_vlan = struct.Struct("IH").unpack_from  # tp_vlan_tci, tp_vlan_tpid (hv1 + 4)
_TP3_SLL_PKTTYPE = 48 + 10  # sockaddr_ll follows the 48-byte tpacket3_hdr

UP = "up"
NO_CARRIER = "no-carrier"
DOWN = "down"
GONE = "gone"


class LiveError(CaptureError):
    """Live capture cannot start; the message is one line for the user."""


class NeedsPrivileges(LiveError):
    """The packet socket needs root or CAP_NET_RAW."""


class _Down(Exception):
    """Internal: the interface is down, so the socket cannot be bound yet."""


def _check_privileges(iface: str) -> None:
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


def _sysfs(iface: str, name: str) -> str | None:
    try:
        with open(f"/sys/class/net/{iface}/{name}", encoding="ascii") as f:
            return f.read().strip()
    except (OSError, ValueError):
        return None


def interface_exists(iface: str) -> bool:
    """True if the interface is present now (in this network namespace)."""
    return bool(iface) and "/" not in iface and os.path.isdir(f"/sys/class/net/{iface}")


def link_state(iface: str) -> tuple[str, int]:
    """``(state, ifindex)`` of an interface: :data:`UP`, :data:`NO_CARRIER`, :data:`DOWN`
    or :data:`GONE` (ifindex 0)."""
    index = _sysfs(iface, "ifindex")
    flags = _sysfs(iface, "flags")
    if index is None or flags is None:
        return GONE, 0
    try:
        up = int(flags, 16) & 0x1
        ifindex = int(index)
    except ValueError:
        return GONE, 0
    if not up:
        return DOWN, ifindex
    # Reading ``carrier`` fails (EINVAL) on a down interface; "0" means no link.
    if _sysfs(iface, "carrier") == "0":
        return NO_CARRIER, ifindex
    return UP, ifindex


def linktype_for(arphrd: int) -> int | None:
    """The pcap link type of raw packet-socket frames of an ARPHRD type, if decodable."""
    if arphrd in _ETHERNET_ARPHRD:
        return LINKTYPE_ETHERNET
    if arphrd in _RAW_IP_ARPHRD:
        return LINKTYPE_RAW
    return None


def linktype_of(iface: str) -> int:
    """The pcap link type of frames read from ``iface`` with a raw packet socket."""
    kind = _sysfs(iface, "type")
    if kind is None or not kind.isdigit():
        raise LiveError(f"no network interface named {iface!r} (headerwatch interfaces lists them)")
    arphrd = int(kind)
    linktype = linktype_for(arphrd)
    if linktype is None:
        raise LiveError(
            f"{iface}: its link type (ARPHRD {arphrd}) carries no Ethernet or IP frames "
            "headerwatch can read; capture on the interface that carries the phone's IP traffic"
        )
    return linktype


def check_filter(bpf: str, linktype: int = LINKTYPE_ETHERNET) -> None:
    """Compile ``bpf`` (tcpdump syntax) with libpcap; raise :class:`LiveError` if it cannot.

    Needs no privileges (libpcap compiles against a "dead" handle), so a bad
    filter or a missing libpcap is reported before anything else.
    """
    try:
        from scapy.arch.common import compile_filter, free_filter
        from scapy.error import Scapy_Exception
    except ImportError as exc:  # pragma: no cover - scapy is a dependency
        raise LiveError(f"scapy cannot be imported: {exc}") from None
    try:
        program = compile_filter(bpf, linktype=linktype)
    except ImportError:
        raise LiveError(libpcap_missing_message()) from None
    except OSError as exc:
        if "libpcap" in str(exc) or "pcap" in str(exc):
            raise LiveError(libpcap_missing_message()) from None
        raise LiveError(f"capture filter {bpf!r}: {exc}") from None
    except Scapy_Exception as exc:
        detail = str(exc)
        if "(" in detail and detail.endswith(")"):
            detail = detail[detail.rindex("(") + 1 : -1]
        raise LiveError(f"bad capture filter {bpf!r}: {detail}") from None
    free_filter(program)


class _Ring:
    """A TPACKET_V3 receive ring mapped into memory: the kernel fills blocks of
    frames, we read a whole block without a system call and hand it back."""

    def __init__(self, sock: socket.socket, size: int) -> None:
        blocks = max(2, size // _RING_BLOCK)
        sock.setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V3)
        frame_size = 2048  # nominal for V3 (frames vary in size); must divide the block
        request = struct.pack(
            "IIIIIII",
            _RING_BLOCK,
            blocks,
            frame_size,
            _RING_BLOCK // frame_size * blocks,
            _RING_TIMEOUT_MS,
            0,
            0,
        )
        sock.setsockopt(SOL_PACKET, PACKET_RX_RING, request)
        self.blocks = blocks
        self.size = blocks * _RING_BLOCK
        self.map = mmap.mmap(
            sock.fileno(), self.size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE
        )
        self.next = 0
        """The block to read next (the kernel fills them in order)."""

    def close(self) -> None:
        with contextlib.suppress(BufferError, ValueError):
            self.map.close()


class _Socket:
    """One open packet socket and what it was opened on."""

    def __init__(self, scapy_socket: Any, ifindex: int, linktype: int) -> None:
        self.scapy_socket = scapy_socket
        self.sock: socket.socket = scapy_socket.ins
        self.ifindex = ifindex
        self.linktype = linktype
        self.poll = select.poll()
        self.poll.register(self.sock, select.POLLIN | select.POLLERR)
        self.loopback = _sysfs_int(str(scapy_socket.iface), "type") == ARPHRD_LOOPBACK
        self.ring: _Ring | None = None
        self.queued_before_ring = False
        """Frames that arrived between bind and ring set-up wait in the socket queue."""
        self.read = 0
        """Frames read from this socket (loopback duplicates included)."""
        self.packets = 0
        """Frames the kernel queued for this socket or dropped (its ``tp_packets``)."""
        self.drops = 0
        """Frames the kernel dropped because the socket buffer was full."""
        self.iface_base = _iface_drops(str(scapy_socket.iface))
        """The interface's own drop counter when the socket was opened."""

    def add_ring(self, size: int) -> int:
        """Switch to a TPACKET_V3 ring of at most ``size`` bytes; its size, or 0."""
        while size >= _MIN_RING:
            try:
                self.ring = _Ring(self.sock, size)
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
        with contextlib.suppress(OSError, AttributeError, ValueError):
            self.scapy_socket.close()


def _iface_drops(iface: str) -> int:
    """``rx_dropped + rx_missed_errors`` of the interface (what libpcap reports)."""
    return max(0, _sysfs_int(iface, "statistics/rx_dropped")) + max(
        0, _sysfs_int(iface, "statistics/rx_missed_errors")
    )


def _sysfs_int(iface: str, name: str) -> int:
    value = _sysfs(iface, name)
    try:
        return int(value) if value is not None else -1
    except ValueError:
        return -1


class LiveSource:
    """Frames captured on a network interface, through a kernel BPF filter.

    Call :meth:`open` first when privileges are to be dropped after the socket is
    open (it raises :class:`NeedsPrivileges` or :class:`LiveError` with a line for
    the user); :meth:`frames` opens it otherwise. ``notify(level, text)`` is called
    from the consumer's thread, in order with the frames, when the interface
    goes down, disappears or comes back.
    """

    def __init__(
        self,
        iface: str,
        bpf: str = DEFAULT_FILTER,
        *,
        promisc: bool = True,
        rcvbuf: int = DEFAULT_RCVBUF,
        ring: int = DEFAULT_RING,
        max_queue_frames: int = 200_000,
        max_queue_bytes: int = 64 << 20,
        notify: Notify | None = None,
    ) -> None:
        self.iface = iface
        self.name = iface
        self.bpf = bpf
        self.promisc = promisc
        self.rcvbuf = rcvbuf
        self.ring = ring
        """Receive ring size asked for (bytes); 0 reads frame by frame from the socket."""
        self.max_queue_frames = max_queue_frames
        self.max_queue_bytes = max_queue_bytes
        self.notify = notify
        self.state = UP
        """The interface as last seen: ``up``, ``no-carrier``, ``down`` or ``gone``."""
        self.rcvbuf_bytes = 0
        """The socket buffer the kernel granted (bytes)."""
        self.ring_bytes = 0
        """The receive ring the kernel granted (bytes; 0 without a ring)."""
        self._sock: _Socket | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._finished = threading.Event()
        self._thread: threading.Thread | None = None
        # Items are ("frames", linktype, [(ts, data), ...], nbytes) or ("notice", level, text).
        self._queue: deque[tuple[Any, ...]] = deque()
        # Written by the capture thread only:
        self._captured = 0
        self._queued_frames = 0
        self._queued_bytes = 0
        self._queue_drops = 0
        self._kernel_drops = 0
        self._unread = 0
        self._iface_drops = 0
        self._reopen_warned = False
        self._buf = bytearray(SNAPLEN)
        self._view = memoryview(self._buf)
        # Written by the consumer only:
        self._taken_frames = 0
        self._taken_bytes = 0

    # -- opening ---------------------------------------------------------

    def check(self) -> int:
        """Fail early with one line: the interface, its link type, the filter, libpcap.

        Needs no privileges. Returns the link type.
        """
        if not interface_exists(self.iface):
            raise LiveError(
                f"no network interface named {self.iface!r} (headerwatch interfaces lists them)"
            )
        linktype = linktype_of(self.iface)
        check_filter(self.bpf, linktype)
        return linktype

    def open(self) -> None:
        """Open the packet socket now (needs root or CAP_NET_RAW).

        An interface that is down cannot be bound to yet: the privileges are
        checked, the user is told it is down, and the capture thread opens it
        when it comes up.
        """
        if self._sock is not None:
            return
        linktype = self.check()
        try:
            self._sock = self._open_socket(linktype)
        except _Down:
            _check_privileges(self.iface)
            self._set_state(DOWN)
            return
        state, _ = link_state(self.iface)
        if state != UP:
            self._set_state(state)

    def _open_socket(self, linktype: int) -> _Socket:
        try:
            from scapy.arch.linux import L2ListenSocket
            from scapy.config import conf
            from scapy.error import Scapy_Exception
        except ImportError as exc:  # pragma: no cover - scapy is a dependency
            raise LiveError(f"scapy cannot be imported: {exc}") from None
        # scapy caches interfaces (index, type) at import: a replugged tether has
        # a new index, so refresh before every open.
        with contextlib.suppress(Exception):  # a failed refresh only means a stale cache
            conf.ifaces.reload()
        ifindex = _sysfs_int(self.iface, "ifindex")
        try:
            raw = L2ListenSocket(iface=self.iface, filter=self.bpf, promisc=False)
        except PermissionError:
            raise NeedsPrivileges(missing_privileges_message(self.iface)) from None
        except ValueError:
            raise LiveError(
                f"no network interface named {self.iface!r} (headerwatch interfaces lists them)"
            ) from None
        except Scapy_Exception as exc:
            raise LiveError(f"{self.iface}: {exc}") from None
        except OSError as exc:
            if exc.errno in (errno.EPERM, errno.EACCES):
                raise NeedsPrivileges(missing_privileges_message(self.iface)) from None
            if exc.errno == errno.ENETDOWN:
                raise _Down from None
            raise LiveError(f"{self.iface}: cannot capture ({exc.strerror or exc})") from None
        sock: socket.socket = raw.ins
        try:
            if self.promisc and ifindex > 0:
                mreq = struct.pack("iHH8s", ifindex, PACKET_MR_PROMISC, 0, b"")
                sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
            self.rcvbuf_bytes = _grow_buffer(sock, self.rcvbuf)
            sock.setblocking(False)
        except OSError as exc:
            raw.close()
            reason = exc.strerror or exc
            raise LiveError(f"{self.iface}: cannot set up capture ({reason})") from None
        opened = _Socket(raw, ifindex, linktype)
        if self.ring:
            self.ring_bytes = opened.add_ring(self.ring)
        # Packets of every interface can be queued (and dropped, with the tiny
        # buffer scapy sets) between socket() and bind(): start counting from here.
        opened.stats()
        opened.packets = opened.drops = 0
        return opened

    # -- FrameSource -----------------------------------------------------

    def start(self) -> None:
        """Open the socket if needed and start the capture thread."""
        if self._thread is not None:
            return
        self.open()
        self._thread = threading.Thread(
            target=self._capture, name=f"capture:{self.iface}", daemon=True
        )
        self._thread.start()

    def frames(self) -> Iterator[Frame | None]:
        """Frames as captured; ``None`` at least every :data:`HEARTBEAT` s while idle.

        Ends after :meth:`stop`, once everything already captured was yielded.
        """
        self.start()
        queue = self._queue
        wake = self._wake
        while True:
            if queue:
                item = queue.popleft()
                if item[0] == "frames":
                    _, linktype, batch, nbytes = item
                    self._taken_frames += len(batch)
                    self._taken_bytes += nbytes
                    for ts, data in batch:
                        yield Frame(ts, linktype, data)
                else:
                    _, level, text = item
                    if self.notify is not None:
                        self.notify(level, text)
                continue
            if self._finished.is_set():
                if queue:
                    continue
                return
            wake.clear()
            if not queue and not self._finished.is_set():
                wake.wait(HEARTBEAT)
            if not queue:
                yield None

    def stop(self) -> None:
        """Stop capturing; :meth:`frames` ends once what was captured is delivered."""
        self._stop.set()
        self._wake.set()
        if self._thread is None:
            # Never started: nothing to drain.
            if self._sock is not None:
                self._sock.close()
                self._sock = None
            self._finished.set()

    def current_time(self) -> float | None:
        """Wall-clock time: the kernel stamps live frames with it."""
        return time.time()

    def counters(self) -> dict[str, int]:
        """``captured``, ``kernel_drops``, ``queue_drops``, ``iface_down`` (0/1), and
        ``unread_at_stop`` (frames the kernel held that could not be read in time at
        stop or when the interface vanished) and ``iface_drops`` (what the interface
        itself counts as dropped or missed, as tcpdump's "dropped by interface": it
        may include frames the stack discarded after capture saw them); the last two
        only when not 0."""
        counters = {
            "captured": self._captured,
            "kernel_drops": self._kernel_drops,
            "queue_drops": self._queue_drops,
            "iface_down": int(self.state != UP),
        }
        if self._unread:
            counters["unread_at_stop"] = self._unread
        if self._iface_drops:
            counters["iface_drops"] = self._iface_drops
        return counters

    def join(self, timeout: float | None = None) -> None:
        """Wait for the capture thread to end (after :meth:`stop`)."""
        if self._thread is not None:
            self._thread.join(timeout)

    # -- the capture thread ----------------------------------------------

    def _notice(self, level: str, text: str) -> None:
        self._queue.append(("notice", level, text))
        self._wake.set()

    def _set_state(self, state: str) -> None:
        if state == self.state:
            return
        previous, self.state = self.state, state
        name = self.iface
        if state == DOWN:
            self._notice("warning", f"{name} is down; waiting for it to come back")
        elif state == GONE:
            self._notice("warning", f"{name} is gone (unplugged?); waiting for it to come back")
        elif state == NO_CARRIER:
            self._notice("warning", f"{name} has no link (cable or tether unplugged?); waiting")
        elif previous != UP:
            self._notice("info", f"{name} is back; capturing again")

    def _read_stats(self) -> None:
        opened = self._sock
        if opened is not None:
            _, drops = opened.stats()
            self._kernel_drops += drops
            now = _iface_drops(self.iface)
            if now >= opened.iface_base:
                self._iface_drops += now - opened.iface_base
                opened.iface_base = now

    def _push(self, linktype: int, batch: list[tuple[float, bytes]], nbytes: int) -> None:
        """Queue captured frames for :meth:`frames`; what does not fit is counted, dropped."""
        self._captured += len(batch)
        queued_frames = self._queued_frames - self._taken_frames
        queued_bytes = self._queued_bytes - self._taken_bytes
        if (
            queued_frames + len(batch) > self.max_queue_frames
            or queued_bytes + nbytes > self.max_queue_bytes
        ):
            room = self.max_queue_frames - queued_frames
            keep: list[tuple[float, bytes]] = []
            kept_bytes = 0
            for item in batch:
                size = len(item[1])
                if room <= 0 or queued_bytes + kept_bytes + size > self.max_queue_bytes:
                    break
                keep.append(item)
                kept_bytes += size
                room -= 1
            self._queue_drops += len(batch) - len(keep)
            batch, nbytes = keep, kept_bytes
            if not batch:
                return
        self._queued_frames += len(batch)
        self._queued_bytes += nbytes
        self._queue.append(("frames", linktype, batch, nbytes))
        self._wake.set()

    def _read_batch(self, opened: _Socket, limit: int) -> int:
        """Read about ``limit`` frames without blocking; return how many were read."""
        if opened.ring is None or opened.queued_before_ring:
            read = self._read_socket(opened, limit)
            if opened.ring is not None and read < limit:
                opened.queued_before_ring = False  # the old queue is empty: ring from now on
            return read
        return self._read_ring(opened, opened.ring, limit)

    def _read_ring(self, opened: _Socket, ring: _Ring, limit: int) -> int:
        """Frames of the ready blocks (at least one block's worth, up to ``limit``)."""
        mem = ring.map
        batch: list[tuple[float, bytes]] = []
        append = batch.append
        nbytes = 0
        read = 0
        loopback = opened.loopback
        try:
            while read < limit:
                block = ring.next * _RING_BLOCK
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
            opened.read += read
            if batch:
                self._push(opened.linktype, batch, nbytes)
        return read

    def _read_socket(self, opened: _Socket, limit: int) -> int:
        """Up to ``limit`` frames, one ``recvmsg`` each (without a ring)."""
        recvmsg_into = opened.sock.recvmsg_into
        buf = self._buf
        view = self._view
        batch: list[tuple[float, bytes]] = []
        append = batch.append
        nbytes = 0
        loopback = opened.loopback
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
            opened.read += read
            if batch:
                self._push(opened.linktype, batch, nbytes)
        return read

    def _capture(self) -> None:
        try:
            self._loop()
        except Exception as exc:  # the user gets a line, never a traceback
            self._notice("error", f"{self.iface}: capture stopped: {exc}")
        finally:
            try:
                self._drain_and_close()
            finally:
                self._finished.set()
                self._wake.set()

    def _loop(self) -> None:
        stop = self._stop
        next_stats = next_link = time.monotonic()
        while not stop.is_set():
            opened = self._sock
            now = time.monotonic()
            if opened is None:
                # Gone, or down since the start: wait for it, then (re)open.
                if stop.wait(0.2):
                    return
                self._try_reopen()
                continue
            if now >= next_link:
                next_link = now + _LINK_INTERVAL
                self._check_link(opened)
                if self._sock is None:
                    continue
            if now >= next_stats:
                next_stats = now + _STATS_INTERVAL
                self._read_stats()
            events = opened.poll.poll(HEARTBEAT * 1000)
            if not events:
                continue
            if events[0][1] & select.POLLERR:
                error = opened.pending_error()
                if error is not None:
                    self._on_error(opened, error)
                    continue
            try:
                self._read_batch(opened, _BATCH)
            except OSError as exc:
                self._on_error(opened, exc)

    def _on_error(self, opened: _Socket, exc: OSError) -> None:
        if exc.errno in (errno.ENETDOWN, errno.ENXIO, errno.ENODEV, errno.ENOENT):
            # The kernel reports ENETDOWN once when the interface goes down;
            # what state it is in now decides what to do.
            self._check_link(opened, force_notice=True)
            return
        self._notice("warning", f"{self.iface}: read error: {exc.strerror or exc}")
        self._stop.wait(0.1)

    def _check_link(self, opened: _Socket, force_notice: bool = False) -> None:
        state, ifindex = link_state(self.iface)
        if state != GONE and ifindex != opened.ifindex:
            # Same name, new interface (a tether replugged between two checks).
            state = GONE
        if state == GONE:
            self._drain_and_close()
        if force_notice and state == UP and self.state == UP:
            # Went down and up again between two checks.
            self._set_state(DOWN)
        self._set_state(state)

    def _try_reopen(self) -> None:
        state, _ = link_state(self.iface)
        if state in (GONE, DOWN):
            return
        try:
            linktype = linktype_of(self.iface)
            self._sock = self._open_socket(linktype)
        except _Down:
            return
        except NeedsPrivileges:
            if not self._reopen_warned:
                self._reopen_warned = True
                self._notice(
                    "error",
                    f"{self.iface} is back but cannot be reopened without CAP_NET_RAW; "
                    "restart headerwatch",
                )
            return
        except LiveError:
            return  # not quite there yet (e.g. renamed while appearing): try again
        self._reopen_warned = False
        self._set_state(link_state(self.iface)[0])

    def _drain_and_close(self) -> None:
        """Read what the kernel holds right now (not what arrives after), count, close.

        Whatever could not be read within :data:`_DRAIN_SECONDS` is counted as
        ``unread_at_stop``, so a stop never loses frames silently.
        """
        opened = self._sock
        if opened is None:
            return
        self._sock = None
        self._kernel_drops += opened.stats()[1]
        backlog = opened.backlog
        deadline = time.monotonic() + _DRAIN_SECONDS
        try:
            while backlog > 0 and time.monotonic() < deadline:
                read = self._read_batch(opened, min(_BATCH, backlog))
                if read:
                    backlog -= read
                elif opened.ring is None:
                    break
                else:
                    # The last block is handed over when full or after _RING_TIMEOUT_MS.
                    opened.poll.poll(_RING_TIMEOUT_MS)
        except OSError:
            pass
        self._unread += max(0, backlog)
        opened.close()


def _grow_buffer(sock: socket.socket, size: int) -> int:
    """Raise the receive buffer to ``size`` (past rmem_max when privileged); return it."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, size)
    except OSError:
        # Without CAP_NET_ADMIN the kernel caps this at net.core.rmem_max.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
    granted: int = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    return granted
