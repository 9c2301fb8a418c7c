"""``headerwatch reflect``: an HTTP endpoint that answers with what it received.

Run it on a server the phone (or the tethered laptop) can reach over plain HTTP.
Every request is answered ``200`` with the request as the server received it:
the header block in :data:`capture.http.echo.ECHO_HEADER` (what ``probe`` and the
dashboard compare with what was sent), and as the body either the JSONL record of
the request, findings included (for probes, curl and tools), or the echo page
(:mod:`capture.lab.page`) when the client's ``Accept`` prefers HTML (a browser).
Each request is also handed to ``on_record``: the server-side vantage point,
where requests arrive already enriched by the carrier. So is a request refused after
its head was read (loose header syntax, a body too large, too slow or badly framed, the
memory budget), with what had arrived and a note saying why
(:func:`capture.formats.jsonl.refused_note`): a middlebox's broken header is evidence
too. A head that does not parse at all (not HTTP, too large) is no request and is
only counted.

Heads are read with the same parser as captures (:mod:`capture.http.http1`), so the
echo keeps wire order, original case, duplicates and undecodable bytes.

The reflector is the one part of headerwatch that faces the internet, so every
resource a client can make it hold is limited (:class:`Limits`): connections, in
total and per client address; the time a request's head and body may take (deadlines
from their first byte, not idle timers, so a client trickling a byte at a time still
runs out of time); head and body size; and the bytes buffered across all
connections. Bodies are counted and discarded, never buffered (the first
:data:`BODY_KEPT` bytes are kept on the record). Each limit hit is answered with its
status where an answer is possible, and counted in :class:`Counters`.

The server is an :class:`asyncio.Protocol`: parsing works on the connection's buffer
with a position, so a head or a chunked body costs time in proportion to its size
however finely it is cut.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import os
import re
import resource
import socket
import sys
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from capture.formats.jsonl import dumps_bytes, refused_note
from capture.http.echo import ECHO_HEADER, ECHO_OMITTED_HEADER, encode_echo_capped
from capture.http.echo_key import ECHO_SIGNATURE_HEADER, sign_echo, signed_for
from capture.http.http1 import (
    MalformedHead,
    RequestHead,
    find_head_end,
    header_tokens,
    parse_chunk_size,
    parse_request_head,
    request_framing,
    server_rejects,
    skip_empty_lines,
)
from capture.http.stream import BODY_CUT_NOTE
from capture.lab.limits import Limits
from capture.lab.page import CONTENT_SECURITY_POLICY, prefers_html, render_page
from capture.model import Finding, Header, Record, Request
from capture.pipeline import Detector, unsearched
from capture.text import counted, from_bytes

BODY_KEPT = 4096
"""Body bytes kept on the record (form bodies can carry identities)."""
LINGER = 2.0
"""Seconds a connection answered with an error keeps being read (and discarded)
before it is closed, so the client reads the answer instead of a reset."""
ACCEPT_BATCH = 8
"""Connections accepted per wake-up of the loop (asyncio's ``backlog``)."""
LISTEN_BACKLOG = 1024
"""The kernel's queue of connections not yet accepted."""
DESCRIPTOR_RESERVE = 16 + 4 * ACCEPT_BATCH
"""Descriptors left for everything but open client connections: ``max_connections`` is
lowered to fit. asyncio makes an accepted connection's transport one loop turn after
the accept and calls ``connection_made`` one turn later, and an evicted connection's
descriptor is closed one turn after that: meanwhile the loop goes on accepting, so up
to four batches are open beyond the limit; 16 for the interpreter, the listening
sockets and the output file."""
_CHUNK_LINE_MAX = 4096
TURN = 0.005
"""Seconds a connection's buffered requests are answered before the others' turn."""
STOP_DRAIN = 5.0
"""Seconds the reflector goes on recording, once stopped, the requests still buffered
by connections that ended (:meth:`_Connection.after_loss`): a few a connection take
milliseconds, but 64 MiB of tiny pipelined requests (the memory budget) would take
minutes. What is left then is counted (:attr:`Counters.left_at_stop`), not read."""
_MEMORY_REACHED = "memory budget reached"
_BARE_CR = "bare CR in the request head"
_BAD_NAME = "a header name holding what no token holds"
_NOT_TOKEN = re.compile(r"[^!#$%&'*+\-.^_`|~0-9A-Za-z]")
_CUT_SHORT = f"connection ended {BODY_CUT_NOTE}"
"""The anomaly of a request whose client closed before its body was whole: the words
a capture's reader notes then (``capture.http.stream``'s ``close``)."""
_UNANSWERED = "connection ended before its answer was sent: recorded, not answered"
"""The anomaly of a request whole in the buffer when its connection ended before it
was answered (a reset after a burst, the reflector stopped)."""
_MIB = 1 << 20

__all__ = ["Counters", "Limits", "ReflectError", "Reflector", "serve"]


@dataclass
class Counters:
    """What the reflector has done, for the periodic summary and the one at exit."""

    connections: int = 0
    requests: int = 0
    """Requests answered with their echo. Those refused after their head was read are
    recorded too, but counted only by the limit that refused them."""
    open: int = 0
    busy: int = 0
    """503: ``max_connections`` reached and no waiting connection to close."""
    evicted: int = 0
    """Connections closed to make room for new ones: waiting for a head, else idle,
    else reading a body longest (its request recorded, cut short)."""
    per_client: int = 0
    """503: ``max_per_client`` reached."""
    head_timeout: int = 0
    """408: the head did not arrive within ``head_timeout``."""
    body_timeout: int = 0
    """408: the body did not arrive within ``body_timeout``."""
    send_timeout: int = 0
    """Answers left unread for ``send_timeout``."""
    head_too_large: int = 0
    """431."""
    body_too_large: int = 0
    """413."""
    memory: int = 0
    """503: ``memory_budget`` reached."""
    bad_request: int = 0
    """400: not HTTP, whitespace before a header's colon, a folded header line, or a
    body framing that cannot be trusted."""
    cut_short: int = 0
    """Requests whose connection ended before their body was whole (the client closed,
    or it was evicted): recorded, not answered."""
    unanswered: int = 0
    """Requests whole in a connection's buffer when it ended before they were answered
    (a client that reset after a burst, the reflector stopped): recorded, not answered."""
    unsearched: int = 0
    """Requests the detector failed on: recorded without findings, with an anomaly."""
    accept_errors: int = 0
    """Accepts refused by the system (out of descriptors or memory)."""
    buffered: int = 0
    """Bytes buffered now across all connections."""
    peak_buffered: int = 0
    """The most bytes ever buffered at once."""
    left_at_stop: int = 0
    """Bytes still buffered, not read as requests, when the stop's
    :data:`STOP_DRAIN` ran out."""
    unsigned: int = 0
    """With an echo key: echoes left unsigned, their request's Host naming neither the
    address it came in on nor a ``--name`` (a site passing on the requests it got)."""

    def summary(self) -> str:
        """One line: traffic, each limit that was hit (or that none was), then the
        malformed requests refused with 400, if any."""
        hits = [
            (self.busy, "503 busy"),
            (self.evicted, "evicted while waiting"),
            (self.per_client, "503 per-client"),
            (self.head_timeout, "408 head"),
            (self.body_timeout, "408 body"),
            (self.send_timeout, "unread answers"),
            (self.head_too_large, "431"),
            (self.body_too_large, "413"),
            (self.memory, "503 memory"),
            (self.accept_errors, "accept failed"),
        ]
        # Those cut short are recorded as the refused are: the line accounts for each record.
        cut = f"{counted(self.cut_short, 'request')} cut short before the body was whole, "
        unanswered = f"{counted(self.unanswered, 'request')} not answered (connection ended), "
        line = (
            f"{counted(self.requests, 'request')} reflected, {cut if self.cut_short else ''}"
            f"{unanswered if self.unanswered else ''}"
            f"{counted(self.connections, 'connection')} "
            f"({self.open:,} open), peak buffered {self.peak_buffered / _MIB:.1f} MiB"
        )
        limited = ", ".join(f"{what} {n:,}" for n, what in hits if n)
        line += f"; limits: {limited}" if limited else "; no limit hit"
        if self.unsearched:
            line += (
                f"; {counted(self.unsearched, 'request')} not searched for identities (an "
                "internal error, named in its anomalies: please report it)"
            )
        if self.unsigned:
            line += (
                f"; {counted(self.unsigned, 'echo', 'echoes')} not signed: the Host named "
                "neither this reflector's address nor a --name"
            )
        if self.left_at_stop:
            line += (
                f"; {self.left_at_stop:,} bytes still buffered at stop not read as requests "
                f"(recording them took over {STOP_DRAIN:g} s)"
            )
        # A 400 is the client's malformed input, not a bound the reflector reached.
        return line + (f"; malformed (400): {self.bad_request:,}" if self.bad_request else "")


class ReflectError(Exception):
    """The reflector cannot start; ``str()`` is one line for the user."""


_REASONS = {
    200: "OK",
    400: "Bad Request",
    408: "Request Timeout",
    413: "Content Too Large",
    431: "Request Header Fields Too Large",
    503: "Service Unavailable",
}

# Connection states.
_IDLE, _HEAD, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILER, _DONE = range(8)


@dataclass
class Reflector:
    """The echo server: request handling, limits and counters, one event loop."""

    detector: Detector | None = None
    on_record: Callable[[Record], None] | None = None
    limits: Limits = field(default_factory=Limits)
    counters: Counters = field(default_factory=Counters)
    echo_key: bytes | None = None
    """The key each echo is signed with (:mod:`capture.http.echo_key`), or None."""
    names: tuple[str, ...] = ()
    """What clients call the reflector besides the address they reached it on (its
    public address behind NAT, its DNS names), lower case: an echo is signed only for
    a request whose Host names it (:func:`~capture.http.echo_key.signed_for`)."""
    _per_client: dict[str, int] = field(default_factory=dict, repr=False)
    _fresh: OrderedDict[int, _Connection] = field(default_factory=OrderedDict, repr=False)
    """Connections waiting for their first request's head, oldest first."""
    _waiting: OrderedDict[int, _Connection] = field(default_factory=OrderedDict, repr=False)
    """Connections that have had an answer, waiting for their next head, oldest first."""
    _bodies: OrderedDict[int, _Connection] = field(default_factory=OrderedDict, repr=False)
    """Connections reading a request's body, oldest first: evicted last."""
    _open: set[_Connection] = field(default_factory=set, repr=False)
    # Connections that ended with requests still to record (_Connection.after_loss).
    _draining: set[_Connection] = field(default_factory=set, repr=False)
    # When a stop gives up recording them (the loop's clock; serve sets it).
    _stop_by: float | None = field(default=None, repr=False)
    _last_id: int = field(default=0, repr=False)
    """The last record id given: reflected and refused requests share the sequence."""

    @property
    def requests(self) -> int:
        """Requests reflected (answered with their echo) so far."""
        return self.counters.requests

    def record(self, request: Request, note: str | None = None) -> Record:
        """Number a received request, run the detector on it and hand it on
        (:meth:`hand_on`)."""
        return self.hand_on(self.numbered(request), note)

    def numbered(self, request: Request) -> Record:
        """``request``'s record, not yet handed on: the next id and the detector's findings."""
        self._last_id += 1
        findings: tuple[Finding, ...] = ()
        if self.detector is not None:
            try:
                findings = self.detector.detect(request)
            except Exception as exc:  # as the pipeline's (capture.pipeline.unsearched)
                request = unsearched(request, exc)
                self.counters.unsearched += 1
        return Record(self._last_id, request, findings)

    def hand_on(self, record: Record, note: str | None = None) -> Record:
        """Give ``record`` to ``on_record``: a reflected request (counted in
        :attr:`Counters.requests`), or with ``note`` one that was not: refused after
        its head was read (a :func:`refused_note`; the limit that refused it counts
        it), cut short by its client, or whole but not answered, its connection gone
        (:data:`_UNANSWERED`). The note is added to its anomalies."""
        if note is None:
            self.counters.requests += 1
        else:
            request = record.request
            record = replace(record, request=replace(request, anomalies=(*request.anomalies, note)))
        if self.on_record is not None:
            self.on_record(record)
        return record

    def protocol(self) -> asyncio.Protocol:
        """A protocol for one new connection (the ``asyncio`` server's factory)."""
        return _Connection(self)

    def give_up_draining(self) -> None:
        """Count what the connections still recording at stop hold, and let it go."""
        for conn in list(self._draining):
            self.counters.left_at_stop += len(conn.buf) - conn.pos
            conn.buf.clear()
            conn.pos = 0
            conn.done_after_loss()

    def close_all(self) -> None:
        """Close every open connection (on stop): idle keep-alive ones included."""
        for conn in list(self._open):
            conn.abort()


class _Connection(asyncio.Protocol):
    """One client connection: requests in order until close, error or a limit."""

    def __init__(self, server: Reflector) -> None:
        self.server = server
        self.limits = server.limits
        self.counters = server.counters
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.pos = 0
        self.scanned = 0  # where the search for the head's end resumes
        self.state = _HEAD
        self.timer: asyncio.TimerHandle | None = None
        self.send_timer: asyncio.TimerHandle | None = None
        self.write_paused = False
        self.registered = False
        self.client = ""
        self.peer: tuple[str, int] = ("", 0)
        self.local: tuple[str, int] = ("", 0)
        self.flow = 0
        self.depth = 0
        self.ts = 0.0
        self.head_block = b""
        self.body_kept = bytearray()
        self.body_length = 0
        self.remaining = 0
        self.close_after = False
        self.parsed: RequestHead | None = None
        self.ts_set = False
        self.accounted = 0  # this connection's share of Counters.buffered
        self.in_size = 0  # unparsed input
        self.out_held = 0  # answers written while the client was not reading
        self.lost = False  # connection_lost came
        self.turn_due = False  # take_turn's next_turn is to come

    # --- lifecycle -----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        server, counters, limits = self.server, self.counters, self.limits
        peer = transport.get_extra_info("peername") or ("", 0)
        local = transport.get_extra_info("sockname") or ("", 0)
        self.peer = (str(peer[0]), int(peer[1]))
        self.local = (str(local[0]), int(local[1]))
        self.client = client_key(self.peer[0])
        counters.connections += 1
        self.flow = counters.connections  # the record's "flow": connections in arrival order
        if server._per_client.get(self.client, 0) >= limits.max_per_client:
            counters.per_client += 1
            self.refuse(503, b"too many connections from your address\n", linger=False)
            return
        if len(server._open) >= limits.max_connections:
            # Slowloris holds connections that never finish a head; a real client sends
            # its head at once. Closing the oldest connection still waiting for its first
            # head (else the oldest idle keep-alive one) keeps room for the newcomer; else
            # the one reading a body longest (a body trickled a byte at a time on every
            # connection locked every other client out until its body timeout: the
            # request evicted is recorded, cut short, as a client's own hang-up is).
            queue = server._fresh or server._waiting or server._bodies
            if not queue:
                counters.busy += 1
                self.refuse(503, b"too many connections\n", linger=False)
                return
            _, oldest = queue.popitem(last=False)
            counters.evicted += 1
            oldest.abort()
        self.registered = True
        server._open.add(self)
        server._per_client[self.client] = server._per_client.get(self.client, 0) + 1
        counters.open = len(server._open)
        self.start_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.out_held = 0
        self.cancel_timers()  # a deadline (the send timer's too) is no one's now
        self.unwait()
        self.server._draining.add(self)
        if not self.turn_due:
            self.after_loss()
        server = self.server
        if self.registered:
            self.registered = False
            server._open.discard(self)
            left = server._per_client.get(self.client, 1) - 1
            if left > 0:
                server._per_client[self.client] = left
            else:
                server._per_client.pop(self.client, None)
            self.counters.open = len(server._open)

    def after_loss(self) -> None:
        """What the client sent before it went: each request whole in the buffer
        recorded (not answered: there is no one to answer), a turn at a time as when
        it was there; then the one it cut short, if any."""
        if self.state != _DONE:
            stop_by = self.server._stop_by
            if stop_by is not None and self.loop.time() > stop_by:
                return  # the stop gave up: give_up_draining counts what is left
            self.process()
            if self.turn_due:
                return  # on at the next turn (next_turn)
        self.done_after_loss()

    def done_after_loss(self) -> None:
        """The end of :meth:`after_loss` (or of a stop that gave up on it): the request
        cut short, if any, recorded, and nothing left buffered. (Its timers and its
        places among those to evict went at connection_lost, and none comes back.)"""
        if self.parsed is not None:
            # The client went away after the head, before the body was whole (a
            # refusal takes the request first): recorded with what came, noted as a
            # capture notes a body its connection cut short.
            self.counters.cut_short += 1
            self.server.record(self.take_request(), _CUT_SHORT)
        self.set_buffered(0)
        self.server._draining.discard(self)

    def abort(self) -> None:
        """Close now, without an answer."""
        if self.transport is not None:
            self.transport.abort()

    def cancel_timers(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.send_timer is not None:
            self.send_timer.cancel()
            self.send_timer = None

    def set_timer(self, seconds: float, then: Callable[[], None]) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.lost:
            return  # what is left is recorded (after_loss): no deadline is kept
        self.timer = self.loop.call_later(seconds, then)

    def set_buffered(self, size: int) -> None:
        """Account ``size`` bytes of unparsed input (plus any answers held, below)."""
        self.in_size = size
        self.account()

    def account(self) -> None:
        counters = self.counters
        total = self.in_size + self.out_held
        counters.buffered += total - self.accounted
        self.accounted = total
        counters.peak_buffered = max(counters.peak_buffered, counters.buffered)

    # --- flow control: a client that does not read its answers --------------

    def pause_writing(self) -> None:
        self.write_paused = True
        if self.transport is not None:
            self.transport.pause_reading()
            # Answers the client does not read count against the memory budget (an
            # echo page can be large); below the high-water mark they are not held long.
            self.out_held = self.transport.get_write_buffer_size()
            self.account()
        self.send_timer = self.loop.call_later(self.limits.send_timeout, self.send_timed_out)

    def resume_writing(self) -> None:
        self.write_paused = False
        self.out_held = 0
        self.account()
        if self.send_timer is not None:
            self.send_timer.cancel()
            self.send_timer = None
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()
            self.process()
            if self.state == _IDLE and self.timer is None:
                self.set_timer(self.limits.idle_timeout, self.abort)

    def take_turn(self) -> None:
        """Stop reading, and go on with what is buffered once every connection ready
        now has had its turn (:meth:`next_turn`)."""
        assert self.transport is not None
        self.turn_due = True
        if not self.lost:
            self.transport.pause_reading()
        self.loop.call_soon(self.next_turn)

    def next_turn(self) -> None:
        self.turn_due = False
        if self.lost:
            # Gone meanwhile, with requests still buffered (a reset after a burst).
            self.after_loss()
            return
        if self.transport is None or self.transport.is_closing() or self.state == _DONE:
            return
        if not self.write_paused:  # else resume_writing reads on, when the client does
            self.transport.resume_reading()
            self.process()

    def send_timed_out(self) -> None:
        self.counters.send_timeout += 1
        self.abort()

    # --- states --------------------------------------------------------------

    def start_head(self) -> None:
        """Wait for a request head: the deadline runs from now."""
        self.state = _HEAD
        if self.lost:
            return  # not a connection to evict: it is gone, its buffer being recorded
        (self.server._waiting if self.depth else self.server._fresh)[id(self)] = self
        self.set_timer(self.limits.head_timeout, self.head_timed_out)

    def start_idle(self) -> None:
        """Between keep-alive requests: wait for the next one's first byte."""
        self.state = _IDLE
        if self.lost:
            return  # as in start_head
        self.server._waiting[id(self)] = self
        if self.write_paused:
            # Not idle: its answers are unread, and the send deadline (pause_writing)
            # governs; the idle timer would close it first, uncounted.
            if self.timer is not None:
                self.timer.cancel()
                self.timer = None
            return
        self.set_timer(self.limits.idle_timeout, self.abort)

    def unwait(self) -> None:
        """No longer a candidate for eviction: a head has arrived, or it is closing."""
        key = id(self)
        self.server._fresh.pop(key, None)
        self.server._waiting.pop(key, None)
        self.server._bodies.pop(key, None)

    def head_timed_out(self) -> None:
        self.counters.head_timeout += 1
        self.refuse(408, b"request head took too long\n")

    def body_timed_out(self) -> None:
        self.counters.body_timeout += 1
        self.refuse(408, b"request body took too long\n")

    # --- input ---------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self.state == _DONE:
            return  # lingering after an error answer: discard
        counters = self.counters
        if counters.buffered + len(data) > self.limits.memory_budget:
            counters.memory += 1
            self.refuse(503, b"server busy\n", why=_MEMORY_REACHED)
            return
        self.buf += data
        self.set_buffered(len(self.buf))
        if self.state == _HEAD and b"\n" not in data:
            # No line end, so no head end: the common case of a trickled head
            # (slowloris sends a byte at a time) costs an append and a length check.
            if not self.ts_set:
                self.ts, self.ts_set = time.time(), True
            if len(self.buf) - self.pos > self.limits.max_head:
                self.counters.head_too_large += 1
                self.refuse(431, b"request head too large\n")
            return
        self.process()

    def process(self) -> None:
        """Parse what is buffered, answering each complete request (pipelining too), for
        :data:`TURN` seconds at most: the rest after every other connection's turn."""
        buf = self.buf
        first, began, start = self.depth, time.perf_counter(), self.pos
        # A lost client reads nothing: what it sent is recorded all the same.
        while (self.lost or not self.write_paused) and self.state != _DONE:
            state = self.state
            if state in (_IDLE, _HEAD):
                # Between requests only (the depth moves when one is answered): not at
                # each chunk of a body, a test a million times for a megabyte of them.
                if self.depth != first and time.perf_counter() - began > TURN:
                    # Thousands of pipelined requests in one read, answered at once,
                    # held the loop for seconds: no other client was answered meanwhile.
                    self.take_turn()
                    break
                if state == _IDLE:
                    if self.pos >= len(buf):
                        break
                    self.start_head()
                if not self.read_head():
                    break
            elif state == _LENGTH:
                self.take_body()
                if self.remaining:
                    break
                self.finish_request()
            elif state == _CHUNK_SIZE:
                # A gone client's body of tiny chunks is recorded a turn at a time too
                # (256 KiB of one-byte chunks took 245 ms): a stop gives up on time.
                if self.lost and self.pos != start and time.perf_counter() - began > TURN:
                    self.take_turn()
                    break
                if not self.read_chunk_size():
                    break
            elif state == _CHUNK_DATA:
                self.take_body()
                if self.remaining:
                    break
                self.state = _CHUNK_END
            elif state == _CHUNK_END:
                if not self.read_chunk_end():
                    break
            elif state == _TRAILER and not self.read_trailer():
                break
        # One compaction per read: what is left is at most an unfinished head or line.
        if self.pos:
            del buf[: self.pos]
            self.scanned = max(0, self.scanned - self.pos)
            self.pos = 0
        self.set_buffered(len(buf))

    def read_head(self) -> bool:
        buf = self.buf
        start = skip_empty_lines(buf, self.pos)  # RFC 9112 §2.2
        if start > self.pos:
            self.pos = start
            self.scanned = max(self.scanned, start)
        if self.pos >= len(buf):
            return False
        if not self.ts_set:  # the request's time: when its first byte was seen
            self.ts = time.time()
            self.ts_set = True
        # Resume the search a few bytes back (the empty line may straddle two reads).
        end = find_head_end(buf, max(self.pos, self.scanned - 3))
        if end < 0:
            self.scanned = len(buf)
            if len(buf) - self.pos > self.limits.max_head:
                self.counters.head_too_large += 1
                self.refuse(431, b"request head too large\n")
            return False
        if end - self.pos > self.limits.max_head:
            self.counters.head_too_large += 1
            self.refuse(431, b"request head too large\n")
            return False
        block = bytes(buf[self.pos : end])
        self.pos = self.scanned = end
        self.ts_set = False
        self.unwait()
        try:
            head = parse_request_head(block)
        except MalformedHead as exc:
            self.counters.bad_request += 1
            self.refuse(400, f"not an HTTP request: {exc}\n".encode())
            return False
        # A request from here on: a refusal records it with what arrived (refuse).
        self.head_block = block
        self.parsed = head
        self.body_kept = bytearray()
        self.body_length = 0
        rejected = server_rejects(head.anomalies)
        if rejected is None and any(_NOT_TOKEN.search(name) for name, _ in head.headers):
            # RFC 9110 §5.1: a field name is a token. "Content-Length\x00" was taken as
            # another header, which a front proxy that drops the NUL reads as the length.
            rejected = _BAD_NAME
        if rejected is None and block.count(b"\r") != block.count(b"\r\n"):
            # RFC 9112 §2.2: a bare CR is invalid (or a space). A front proxy that
            # ends lines at it reads "Host: a\rContent-Length: 5" as two headers and
            # a body, where this reads one header and the next request.
            rejected = _BARE_CR
        if rejected is not None:
            # Before framing: whitespace before a colon is how proxies are made to
            # disagree on Content-Length, so nothing after this head is trusted.
            self.counters.bad_request += 1
            self.refuse(
                400, f"bad header field: {rejected}\n".encode("utf-8", "replace"), why=rejected
            )
            return False
        framing = request_framing(head.headers)
        self.close_after = (
            _wants_close(head.version, head.headers)
            or head.method == "CONNECT"
            or bool(framing.anomalies)  # smuggling shapes: answer, then do not trust the rest
            # RFC 9112 §6.1: HTTP/1.0 has no Transfer-Encoding; its framing is faulty.
            or (
                head.version != "HTTP/1.1"
                and bool(header_tokens(head.headers, "transfer-encoding"))
            )
        )
        if framing.kind in ("length", "chunked"):
            if framing.length > self.limits.max_body:
                self.counters.body_too_large += 1
                if framing.kind == "length":
                    # The first bytes that came with the head are kept on the record, as
                    # for any body: an identity in a form's first fields is found.
                    self.remaining = framing.length
                    self.take_body()
                self.refuse(
                    413,
                    b"request body too large\n",
                    why=f"request body over the limit of {self.limits.max_body:,} bytes "
                    f"({framing.length:,} declared)",
                )
                return False
            if head.version == "HTTP/1.1" and "100-continue" in header_tokens(
                head.headers, "expect"
            ):
                # curl waits a second for this before sending a large body.
                assert self.transport is not None
                if not self.transport.is_closing():  # one log line a request, else
                    self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.remaining = framing.length
            self.state = _LENGTH if framing.kind == "length" else _CHUNK_SIZE
            if not self.lost:
                self.server._bodies[id(self)] = self
            self.set_timer(self.limits.body_timeout, self.body_timed_out)
        else:
            if self.timer is not None:
                self.timer.cancel()
            self.finish_request()
        return True

    def take_body(self) -> None:
        """Count (and drop) the body bytes buffered, up to what the framing says."""
        take = min(self.remaining, len(self.buf) - self.pos)
        if take <= 0:
            return
        room = BODY_KEPT - len(self.body_kept)
        if room > 0:
            self.body_kept += self.buf[self.pos : self.pos + min(room, take)]
        self.pos += take
        self.remaining -= take
        self.body_length += take

    def read_chunk_size(self) -> bool:
        buf = self.buf
        nl = buf.find(b"\n", self.pos, self.pos + _CHUNK_LINE_MAX)
        if nl < 0:
            if len(buf) - self.pos >= _CHUNK_LINE_MAX:
                self.counters.bad_request += 1
                self.refuse(400, b"chunk size line too long\n")
            return False
        try:
            if buf[self.pos] in b" \t":
                # RFC 9112 §7.1: chunk-size = 1*HEXDIG; a server behind may not skip it.
                raise MalformedHead("whitespace before a chunk size")
            size = parse_chunk_size(buf[self.pos : nl])
        except MalformedHead:
            self.counters.bad_request += 1
            self.refuse(400, b"broken chunked framing\n")
            return False
        self.pos = nl + 1
        if size == 0:
            self.state = _TRAILER
        elif self.body_length + size > self.limits.max_body:
            self.counters.body_too_large += 1
            self.refuse(
                413,
                b"request body too large\n",
                why=f"request body over the limit of {self.limits.max_body:,} bytes "
                f"(chunked, {self.body_length + size:,} by its chunks so far)",
            )
            return False
        else:
            self.remaining = size
            self.state = _CHUNK_DATA
        return True

    def read_chunk_end(self) -> bool:
        buf, pos = self.buf, self.pos
        if pos >= len(buf):
            return False
        if buf[pos] == 10:  # bare LF (RFC 9112 §2.2)
            self.pos = pos + 1
        elif buf[pos] == 13:
            if pos + 1 >= len(buf):
                return False
            if buf[pos + 1] != 10:
                self.counters.bad_request += 1
                self.refuse(400, b"broken chunked framing\n")
                return False
            self.pos = pos + 2
        else:
            self.counters.bad_request += 1
            self.refuse(400, b"broken chunked framing\n")
            return False
        self.state = _CHUNK_SIZE
        return True

    def read_trailer(self) -> bool:
        """The trailer section up to its empty line (trailers are not kept)."""
        buf, pos = self.buf, self.pos
        if pos >= len(buf):
            return False
        if buf.startswith(b"\n", pos):
            self.pos = pos + 1
        elif buf.startswith(b"\r\n", pos):
            self.pos = pos + 2
        elif buf.startswith(b"\r", pos) and pos + 1 == len(buf):
            return False
        else:
            end = find_head_end(buf, max(pos, self.scanned - 3))
            if end < 0:
                self.scanned = len(buf)
                if len(buf) - pos > self.limits.max_head:
                    self.counters.head_too_large += 1
                    self.refuse(431, b"trailer section too large\n")
                return False
            self.pos = self.scanned = end
        self.finish_request()
        return True

    # --- output --------------------------------------------------------------

    def take_request(self) -> Request:
        """The request whose head was read last, with its body as received so far. Taken
        once: a refusal after this has no request of its own to record."""
        head = self.parsed
        assert head is not None
        self.parsed = None
        self.depth += 1
        return Request(
            self.ts,
            self.flow,
            self.depth,
            self.peer[0],
            self.peer[1],
            self.local[0],
            self.local[1],
            head.method,
            head.uri,
            head.version,
            head.headers,
            bytes(self.body_kept),
            self.body_length,
            head.anomalies,
        )

    def finish_request(self) -> None:
        """Answer the request just read; then wait for the next one or close."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.server._bodies.pop(id(self), None)
        request = self.take_request()
        method, headers = request.method, request.headers
        # Numbered before it is answered (the answer carries its record), handed on
        # once it is known whether it is reflected or refused.
        record = self.server.numbered(request)
        assert self.transport is not None
        if self.lost or self.transport.is_closing():
            # Whole in the buffer when the connection ended (closed on a failed write,
            # connection_lost to come): what the client sent, with no one to answer
            # (asyncio logged a line for each write to it, 4,735 for one client's burst).
            self.counters.unanswered += 1
            self.server.hand_on(record, _UNANSWERED)
            if self.close_after:
                self.state = _DONE  # as answered: nothing after it would have been read
            else:
                self.start_idle()
            return
        echo, omitted = encode_echo_capped(headers)
        extra: list[Header] = [(ECHO_HEADER, echo)]
        if omitted:
            extra.append((ECHO_OMITTED_HEADER, str(omitted)))
        key = self.server.echo_key
        if key is not None:
            if signed_for(headers, (*self.server.names, self.local[0].lower())):
                extra.append((ECHO_SIGNATURE_HEADER, sign_echo(key, echo, omitted)))
            else:
                self.counters.unsigned += 1
        accept = ", ".join(v for n, v in headers if n.lower() == "accept")
        if prefers_html(accept):
            line = from_bytes(self.head_block.split(b"\n", 1)[0].rstrip(b"\r"))
            body = render_page(line, headers, record.findings, self.peer[0], 0)
            content_type = "text/html; charset=utf-8"
            extra.append(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
            extra.append(("Referrer-Policy", "no-referrer"))
        else:
            body = dumps_bytes(record) + b"\n"
            content_type = "application/json"
        if method == "HEAD":
            body = b""  # the echo is in the head; Content-Length 0, as before
        if self.counters.buffered + len(body) + len(echo) > self.limits.memory_budget:
            self.counters.memory += 1
            self.server.hand_on(record, refused_note(503, _MEMORY_REACHED))
            self.refuse(503, b"server busy\n")
            return
        self.server.hand_on(record)
        self.reply(200, body, content_type, self.close_after, extra)
        if self.close_after:
            self.state = _DONE
            assert self.transport is not None
            self.transport.close()
        else:
            self.start_idle()

    def reply(
        self,
        status: int,
        body: bytes,
        content_type: str,
        close: bool,
        extra: list[Header] | tuple[Header, ...] = (),
    ) -> None:
        lines = [
            f"HTTP/1.1 {status} {_REASONS[status]}",
            f"Content-Type: {content_type}",
            f"Content-Length: {len(body)}",
            # Caches and "optimising" proxies must pass the echo through untouched.
            "Cache-Control: no-store, no-transform",
            "X-Content-Type-Options: nosniff",
            f"Connection: {'close' if close else 'keep-alive'}",
            *(f"{n}: {v}" for n, v in extra),
        ]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape")
        # Never to a closing transport: finish_request and refuse record what comes
        # after the connection ended, and answer nothing.
        assert self.transport is not None
        self.transport.write(head + body)

    def refuse(
        self, status: int, message: bytes, linger: bool = True, why: str | None = None
    ) -> None:
        """Answer ``status`` and close: at once if the client has sent nothing (a
        refusal at connect: its descriptor is wanted back now), else after up to
        :data:`LINGER` seconds of reading and discarding (a close with unread input
        resets the connection, and the answer with it).

        A request whose head was read is recorded first, with what had arrived and a
        note of the refusal: ``why``, else ``message``. One whose head did not parse
        (not HTTP, too large, too slow) is no request, and is only counted."""
        transport = self.transport
        if transport is None or self.state == _DONE:
            return  # refused or answered already, and closing
        # Closing without this side's doing (a write failed, connection_lost to come)
        # or gone: the request is recorded and nothing after it read, as when the
        # client is there; only the answer is not sent.
        if self.parsed is not None:
            said = why or message.decode("utf-8", "replace").strip()
            self.server.record(self.take_request(), refused_note(status, said))
        self.unwait()
        self.state = _DONE
        del self.buf[:]
        self.pos = self.scanned = 0
        self.set_buffered(0)
        if self.lost or transport.is_closing():
            return  # a request the client sent before it went: no one to answer
        self.reply(status, message, "text/plain; charset=utf-8", close=True)
        if linger and transport.can_write_eof():
            transport.write_eof()
            self.set_timer(LINGER, self.abort)
            if self.write_paused:
                transport.resume_reading()
        else:
            transport.close()

    def eof_received(self) -> bool | None:
        if self.state == _DONE:
            self.abort()
        return None  # the transport closes itself once the answers are written


def _wants_close(version: str | None, headers: tuple[Header, ...]) -> bool:
    tokens = header_tokens(headers, "connection")
    if version == "HTTP/1.1":
        return "close" in tokens
    return "keep-alive" not in tokens


def client_key(address: str) -> str:
    """What ``max_per_client`` counts by: the address, or for IPv6 its /64 (what one
    subscriber or one VPS is given, so a client cannot escape the limit by cycling
    through its own addresses)."""
    if ":" not in address:
        return address
    try:
        ip = ipaddress.IPv6Address(address.split("%", 1)[0])
    except ValueError:
        return address
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ipaddress.IPv6Network((ip, 64), strict=False))


def descriptor_room() -> int:
    """How many client connections the process's descriptor limit leaves room for."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 1 << 20
    return max(1, soft - DESCRIPTOR_RESERVE)


_RESOURCE_ERRNOS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


class AcceptErrors:
    """The loop's exception handler: an accept refused for lack of descriptors or
    memory is one line on ``write`` at most every ``every`` seconds (asyncio's own
    handler logs a traceback for each, megabytes a minute under attack)."""

    def __init__(
        self, counters: Counters, write: Callable[[str], None], every: float = 10.0
    ) -> None:
        self.counters = counters
        self.write = write
        self.every = every
        self.last = -every
        self.since = 0

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, object]) -> None:
        exc = context.get("exception")
        if isinstance(exc, OSError) and exc.errno in _RESOURCE_ERRNOS:
            self.counters.accept_errors += 1
            self.since += 1
            now = time.monotonic()
            if now - self.last >= self.every:
                self.write(
                    f"headerwatch: cannot accept connections: {os.strerror(exc.errno or 0)} "
                    f"({counted(self.since, 'time')} since the last report); they wait in the "
                    "queue. "
                    "Raise the descriptor limit (LimitNOFILE=) or lower --max-connections"
                )
                self.last, self.since = now, 0
            return
        # Anything else: one line, no traceback (it still must not pass unseen).
        message = context.get("message", "error")
        self.write(f"headerwatch: internal error: {message}: {exc!r}" if exc else str(message))


async def serve(
    reflector: Reflector,
    host: str,
    port: int | Sequence[int],
    ready: Callable[[list[tuple[str, int]]], None] | None = None,
    stop: asyncio.Event | None = None,
    stats: Callable[[], None] | None = None,
    stats_interval: float = 0.0,
) -> None:
    """Serve on ``port`` (or on each of several: 80 and 8080) until ``stop`` is set
    (or until cancelled); ``ready`` gets the bound addresses once listening; ``stats``
    is called every ``stats_interval`` seconds. On the way out every connection is
    closed, idle keep-alive ones included."""
    loop = asyncio.get_running_loop()
    servers: list[asyncio.Server] = []
    try:
        for one in [port] if isinstance(port, int) else port:
            servers.append(await _listen(loop, reflector, host, one))
    except ReflectError:
        for server in servers:
            server.close()
        raise
    addresses = [
        s.getsockname()[:2]
        for server in servers
        for s in server.sockets
        if s.family in (socket.AF_INET, socket.AF_INET6)
    ]
    if ready is not None:
        ready(addresses)
    ticker: asyncio.Task[None] | None = None
    if stats is not None and stats_interval > 0:
        ticker = asyncio.create_task(_tick(stats, stats_interval))
    try:
        if stop is None:
            await asyncio.Future()  # until cancelled
        else:
            await stop.wait()
    finally:
        if ticker is not None:
            ticker.cancel()
        for server in servers:
            server.close()
        # The aborted transports report connection_lost, and what every connection
        # that ended has still buffered is recorded, a turn at a time, for up to
        # STOP_DRAIN seconds from now (then counted, not read).
        reflector._stop_by = loop.time() + STOP_DRAIN
        reflector.close_all()
        await asyncio.sleep(0)
        while reflector._draining and loop.time() < reflector._stop_by:
            await asyncio.sleep(0)
        reflector.give_up_draining()


async def _listen(
    loop: asyncio.AbstractEventLoop, reflector: Reflector, host: str, port: int
) -> asyncio.Server:
    try:
        server = await loop.create_server(
            reflector.protocol, host or None, port, reuse_address=True, backlog=ACCEPT_BATCH
        )
    except PermissionError:
        raise ReflectError(
            f"port {port}: permission denied (ports below 1024 need root or "
            "CAP_NET_BIND_SERVICE; try --port 8080)"
        ) from None
    except OSError as exc:
        # A name that does not resolve is a gaierror, whose errno is getaddrinfo's
        # (EAI_NONAME, -2): os.strerror calls that "unknown error -2".
        said = exc.strerror if isinstance(exc, socket.gaierror) else None
        why = said or (os.strerror(exc.errno) if exc.errno else str(exc))
        raise ReflectError(f"cannot listen on {host or '*'}:{port}: {why.lower()}") from None
    # asyncio accepts up to `backlog` connections per wake-up, each with its transport
    # and, at the limit, an eviction: 1,024 of them at once (slowloris reconnecting) stall
    # every other client for tens of ms. So asyncio gets a small batch, and the kernel
    # queue is raised again behind its back: a burst waits there instead of being refused.
    for listening in server.sockets:
        with socket.socket(fileno=os.dup(listening.fileno())) as same:
            same.listen(LISTEN_BACKLOG)
    return server


async def _tick(stats: Callable[[], None], every: float) -> None:
    while True:
        await asyncio.sleep(every)
        stats()


def default_stderr(line: str) -> None:
    """Write one line to stderr, ignoring a stderr that has gone away."""
    with contextlib.suppress(OSError, ValueError):
        print(line, file=sys.stderr, flush=True)
