"""Live capture on a network interface: a :class:`~capture.sources.source.FrameSource`.

This module is the capture thread. The kernel side (the packet socket, its BPF
filter, the TPACKET_V3 ring and the reads from it) is
:mod:`capture.sources.live.packet_socket`; the interface's state (up, down, gone)
and link type come from :mod:`capture.sources.live.link`. The thread does nothing
but move raw ``(timestamp, bytes)`` pairs from the socket into a bounded queue;
parsing happens in the consumer (the :class:`~capture.runner.Runner` thread).

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

import errno
import select
import struct
import threading
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

from capture.sources.frames import Frame
from capture.sources.live.link import (
    DOWN,
    GONE,
    NO_CARRIER,
    UP,
    LiveError,
    NeedsPrivileges,
    iface_drops,
    interface_exists,
    link_state,
    linktype_of,
    sysfs_int,
)
from capture.sources.live.packet_socket import (
    DEFAULT_RCVBUF,
    DEFAULT_RING,
    PACKET_ADD_MEMBERSHIP,
    PACKET_MR_PROMISC,
    RING_TIMEOUT_MS,
    SNAPLEN,
    SOL_PACKET,
    InterfaceDown,
    PacketSocket,
    check_filter,
    check_privileges,
    grow_buffer,
    open_socket,
)
from capture.sources.live.privileges import missing_privileges_message
from capture.sources.source import HEARTBEAT, Halt, Notify

DEFAULT_FILTER = "tcp"
_BATCH = 512
_STATS_INTERVAL = 0.5
_LINK_INTERVAL = 0.5
_DRAIN_SECONDS = 30.0
DEFAULT_QUEUE_BYTES = 16 << 20
"""Bound of the queue between the capture thread and parsing, in bytes (frames plus
:data:`FRAME_OVERHEAD` each): about a second of parsing falling behind at 20,000
frames/s of HTTP (~600 bytes a frame). ``live --buffer-size`` changes it."""
FRAME_OVERHEAD = 128
"""Bytes charged per queued frame on top of its data: the Python objects that hold it
(its ``bytes`` header, the ``(ts, data)`` tuple, the float, the list slot)."""


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
        max_queue_bytes: int = DEFAULT_QUEUE_BYTES,
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
        self._was_up = False
        """Whether the interface was up at any time of this capture: one down since the
        start is waited for to come *up*, and then *is up*, never *back*."""
        self.rcvbuf_bytes = 0
        """The socket buffer the kernel granted (bytes)."""
        self.ring_bytes = 0
        """The receive ring the kernel granted (bytes; 0 without a ring)."""
        self.halted: Halt | None = None
        """When and why an error stopped the capture thread, if one did (set before
        :meth:`frames` ends; its consumer then fails as for an error of its own)."""
        self._sock: PacketSocket | None = None
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
        except InterfaceDown:
            check_privileges(self.iface)
            self._set_state(DOWN)
            return
        state, _ = link_state(self.iface)
        if state != UP:
            self._set_state(state)
        else:
            self._was_up = True

    def _open_socket(self, linktype: int) -> PacketSocket:
        # The interface's index now: a replugged tether has a new one.
        ifindex = sysfs_int(self.iface, "ifindex")
        program = check_filter(self.bpf, linktype)
        try:
            sock = open_socket(self.iface, program)
        except OSError as exc:
            if exc.errno in (errno.EPERM, errno.EACCES):
                raise NeedsPrivileges(missing_privileges_message(self.iface)) from None
            if exc.errno == errno.ENETDOWN:
                raise InterfaceDown from None
            if exc.errno in (errno.ENODEV, errno.ENXIO):
                raise LiveError(
                    f"no network interface named {self.iface!r} (headerwatch interfaces lists them)"
                ) from None
            raise LiveError(f"{self.iface}: cannot capture ({exc.strerror or exc})") from None
        try:
            if self.promisc and ifindex > 0:
                mreq = struct.pack("iHH8s", ifindex, PACKET_MR_PROMISC, 0, b"")
                sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
            self.rcvbuf_bytes = grow_buffer(sock, self.rcvbuf)
        except OSError as exc:
            sock.close()
            reason = exc.strerror or exc
            raise LiveError(f"{self.iface}: cannot set up capture ({reason})") from None
        opened = PacketSocket(sock, self.iface, ifindex, linktype)
        if self.ring:
            self.ring_bytes = opened.add_ring(self.ring)
        # Packets of every interface can be queued (and dropped, with the tiny
        # buffer set until the bind) between socket() and bind(): count from here.
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
        """Frames as captured; ``None`` each time the queue runs dry, and at least
        every :data:`HEARTBEAT` s while idle.

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
            # Drained: say so at once, before waiting, so that the runner hands
            # over what it holds now rather than a batch interval later (its
            # flush policy treats ``None`` as "the source is idle").
            yield None
            wake.clear()
            if not queue and not self._finished.is_set():
                wake.wait(HEARTBEAT)

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
            again = "come back" if self._was_up else "come up"
            self._notice("warning", f"{name} is down; waiting for it to {again}")
        elif state == GONE:
            self._notice("warning", f"{name} is gone (unplugged?); waiting for it to come back")
        elif state == NO_CARRIER:
            self._notice("warning", f"{name} has no link (cable or tether unplugged?); waiting")
        elif previous != UP:
            said = "is back; capturing again" if self._was_up else "is up; capturing"
            self._notice("info", f"{name} {said}")
        if state == UP:
            self._was_up = True

    def _read_stats(self) -> None:
        opened = self._sock
        if opened is not None:
            _, drops = opened.stats()
            self._kernel_drops += drops
            now = iface_drops(self.iface)
            if now >= opened.iface_base:
                self._iface_drops += now - opened.iface_base
                opened.iface_base = now

    def _push(self, linktype: int, batch: list[tuple[float, bytes]], nbytes: int) -> None:
        """Queue captured frames for :meth:`frames`; what does not fit is counted, dropped.

        Each frame is charged its bytes plus :data:`FRAME_OVERHEAD` against
        :attr:`max_queue_bytes`, so that the bound holds for small frames too."""
        self._captured += len(batch)
        queued_frames = self._queued_frames - self._taken_frames
        queued_bytes = self._queued_bytes - self._taken_bytes
        nbytes += FRAME_OVERHEAD * len(batch)
        if (
            queued_frames + len(batch) > self.max_queue_frames
            or queued_bytes + nbytes > self.max_queue_bytes
        ):
            room = self.max_queue_frames - queued_frames
            keep: list[tuple[float, bytes]] = []
            kept_bytes = 0
            for item in batch:
                size = len(item[1]) + FRAME_OVERHEAD
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

    def _capture(self) -> None:
        try:
            self._loop()
        except Exception as exc:  # the user gets a line, never a traceback
            said = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            self.halted = Halt(time.time(), f"capture on {self.iface} failed ({said})")
            stamp = time.strftime("%H:%M:%S", time.localtime(self.halted.at))
            self._notice(
                "error",
                f"{self.iface}: capture stopped at {stamp} ({said}): nothing after it is recorded",
            )
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
                opened.read_batch(_BATCH, self._push, self._buf)
            except OSError as exc:
                self._on_error(opened, exc)

    def _on_error(self, opened: PacketSocket, exc: OSError) -> None:
        if exc.errno in (errno.ENETDOWN, errno.ENXIO, errno.ENODEV, errno.ENOENT):
            # The kernel reports ENETDOWN once when the interface goes down;
            # what state it is in now decides what to do.
            self._check_link(opened, force_notice=True)
            return
        self._notice("warning", f"{self.iface}: read error: {exc.strerror or exc}")
        self._stop.wait(0.1)

    def _check_link(self, opened: PacketSocket, force_notice: bool = False) -> None:
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
        except InterfaceDown:
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
                read = opened.read_batch(min(_BATCH, backlog), self._push, self._buf)
                if read:
                    backlog -= read
                elif opened.ring is None:
                    break
                else:
                    # The last block is handed over when full or after RING_TIMEOUT_MS.
                    opened.poll.poll(RING_TIMEOUT_MS)
        except OSError:
            pass
        self._unread += max(0, backlog)
        opened.close()
