"""HTTP/1.x over reassembled TCP streams: requests, responses, and their pairing.

Each connection gets an :class:`HttpConnection` with one :class:`MessageReader`
per direction. Readers are state machines over the byte stream: they find
message heads, skip bodies by their framing (Content-Length, chunked, until
close) so that the next pipelined message is found, stop parsing after CONNECT
or Upgrade unless HTTP continues, and turn gaps into anomalies on the message
they hit. HTTP is recognised by content on any port; when the handshake was not
captured the content also says which side is the client.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from capture.http.http1 import (
    CONTENT_LENGTH,
    FRAMING_FLAGS,
    KNOWN_METHODS,
    NO_VERSION,
    TRANSFER_ENCODING,
    UPGRADE,
    Framing,
    MalformedHead,
    RequestHead,
    c_request,
    find_head_end,
    has_upgrade,
    head_limit,
    looks_like_request,
    looks_like_response,
    parse_chunk_size,
    parse_request_head,
    parse_response_head,
    request_framing,
    request_line_pattern,
    request_line_start,
    response_framing,
    skip_empty_lines,
    status_line_pattern,
)
from capture.model import Request, Response, positional_new
from capture.net.reassembly import Flow

_new_request = positional_new(Request)

BODY_CAP = 64 * 1024
"""Request body bytes kept per request (the length is always counted)."""

GAP_NOTE = "capture gap"
"""How every anomaly of a capture gap begins: a record read again (``scan`` of a
JSONL) says by it that a gap hit its request (:meth:`capture.pipeline.Pipeline.feed_request`)."""

HEAD_CUT_NOTE = "header block larger than"
"""How the anomaly of a head cut at the head limit begins (see :data:`GAP_NOTE`)."""

BODY_CUT_NOTE = "before the body was complete"
"""How the anomaly of a request whose body its connection or capture cut short ends
(``connection ended before the body was complete``): the reflector's record of a
client that closed early says it in the same words, and a report counts both by it."""

_SNIFF_LIMIT = 4096
"""Bytes examined before a stream is declared not to be HTTP."""

# Reader states.
START = 0  # first bytes of the stream (or after CONNECT/Upgrade): is this HTTP?
HEAD = 1  # between messages or inside a head
BODY = 2  # counted body
CHUNK_SIZE = 3
CHUNK_DATA = 4
CHUNK_END = 5  # the CRLF after chunk data
TRAILER = 6
UNTIL_CLOSE = 7
RESYNC = 8  # lost our place (gap): look for the next message start
OPAQUE = 9  # not HTTP (any more): ignore
UNKNOWN = 10  # role not known yet (no handshake seen)
HTTP09 = 11  # a request line without version: wait to see whether headers follow
_AT_REST = frozenset((START, HEAD, OPAQUE, UNKNOWN))
"""States in which a reader with no bytes held has nothing in progress to report."""


def _ignore(flow: Flow, direction: int, ignore: bool) -> None:
    if flow.owner is not None:
        flow.owner.set_ignore(flow, direction, ignore)
    else:
        flow.halves[direction].ignore = ignore


_FRAMING_NAMES = tuple((name.encode(), flag) for name, flag in FRAMING_FLAGS.items())


def _mentioned(block: bytes) -> int:
    """The framing flags of a head that may name those headers: every flag whose name
    is anywhere in it (lowered), so that a flag not set is a header it does not have."""
    lowered = block.lower()
    flags = 0
    for name, flag in _FRAMING_NAMES:
        # (find, not ``in``: ``in`` on bytes first tries the operand as an integer.)
        if lowered.find(name) >= 0:
            flags |= flag
    return flags


class PendingRequest:
    """A request whose head is parsed and whose body may still be arriving."""

    __slots__ = (
        "anomalies",
        "body",
        "body_length",
        "depth",
        "emitted",
        "head",
        "response",
        "ts",
    )

    def __init__(self, ts: float, head: RequestHead, depth: int) -> None:
        self.ts = ts
        self.head = head
        self.depth = depth
        self.body = bytearray()
        self.body_length = 0
        self.anomalies = list(head.anomalies)
        self.response: Response | None = None
        self.emitted = False


class MessageReader:
    """One direction of an HTTP connection: requests (client) or responses (server)."""

    __slots__ = (
        "buf",
        "conn",
        "current",
        "direction",
        "fresh",
        "is_request",
        "lost",
        "msg_ts",
        "remaining",
        "state",
        "waiting",
    )

    def __init__(self, conn: HttpConnection, direction: int) -> None:
        self.conn = conn
        self.direction = direction
        self.is_request = False
        self.state = UNKNOWN
        self.buf = bytearray()
        self.msg_ts = 0.0
        self.remaining = 0
        self.current: PendingRequest | None = None
        """For request readers: the request whose body is being read."""
        self.fresh = False
        """A message just ended inside ``_run``: the next byte starts a new one."""
        self.waiting = 0
        """A request head goes on in the next bytes, and :meth:`_request_head` has seen
        all ``abs(waiting)`` bytes of ``buf``: its first line (checked) and no end
        (> 0), or not even the end of its first line (< 0). 0: nothing known."""
        self.lost = 0
        """Bytes the capture lost since this reader lost its place (:data:`RESYNC`):
        said on the request it finds again (:meth:`_resync`)."""

    # -- input -----------------------------------------------------------------

    def feed(self, ts: float, data: bytes) -> None:
        """Consume in-order stream bytes."""
        # A loop, not a call a request: a segment of a thousand pipelined requests
        # went a thousand calls deep, past Python's recursion limit (the scan stopped
        # with a traceback, every request of the capture lost).
        while True:
            state = self.state
            if state == OPAQUE:
                return
            buf = self.buf
            if not buf:
                # Fast paths: a segment that is exactly body bytes, or that starts
                # with a complete head, needs no buffering.
                if state == BODY:
                    n = len(data)
                    if n <= self.remaining:
                        self._body_bytes(data)
                        self.remaining -= n
                        if self.remaining == 0:
                            self._body_done()
                        return
                elif (
                    state <= HEAD  # HEAD, or START
                    and self.is_request
                    and c_request is not None
                    and (plain := c_request(data, RequestHead))
                    and (state == HEAD or len(plain[1].method) <= 32)
                    and plain[0] <= self.conn.tracker.max_head
                ):
                    # The common head, whole in this segment (it starts with no empty
                    # line): one C call finds its end, splits it and names its framing
                    # headers. At a stream's start (a connection's first request), such a
                    # head is what _sniff takes for HTTP: a plain request line whose method
                    # is a token of at most 32 characters (looks_like_request).
                    end, head, flags, length = plain
                    self.state = HEAD
                    self.msg_ts = ts
                    if (
                        flags == CONTENT_LENGTH
                        and length > 0
                        and (stop := self._whole_body(ts, head, data, end, length))
                    ):
                        end = stop  # the request and its body went out
                    else:
                        self._plain_request(ts, head, flags)
                    if end < len(data):
                        data = data[end:]  # the next request of the segment
                        continue
                    return
                elif state <= HEAD and data[:1] not in (b"\r", b"\n", b""):  # HEAD, or START
                    end = find_head_end(data)
                    if 0 < end <= self.conn.tracker.max_head and state == HEAD:
                        self.msg_ts = ts
                        if self.is_request:
                            self._request_block(data[:end] if end < len(data) else data)
                        else:
                            self._response_block(data[:end] if end < len(data) else data)
                        if end < len(data):
                            data = data[end:]
                            continue
                        return
                    if (
                        end < 0
                        and self.is_request
                        and c_request is not None
                        and len(data) <= self.conn.tracker.max_head
                        and (state == HEAD or looks_like_request(data))
                    ):
                        # A request head that goes on in the next segment (at a stream's
                        # start, one _sniff takes for HTTP): what _run finds of it
                        # (_request_head, _take_head) when its first line is a version's,
                        # or not yet ended. Any other first line may be HTTP/0.9's: _run.
                        # (A shortcut like the C one's, and off with it: the shortcut
                        # tests hold the reader to the one without them.)
                        eol = data.find(b"\n")
                        if eol < 0 or data[:eol].rstrip(b"\r").upper().endswith(
                            (b" HTTP/1.1", b" HTTP/1.0")
                        ):
                            self.state = HEAD
                            self.msg_ts = ts
                            self.fresh = False
                            buf += data
                            self.waiting = len(data) if eol >= 0 else -len(data)
                            return
                self.waiting = 0
            elif self.waiting:
                # A head cut over segments goes on: HttpTracker.on_data takes such bytes
                # itself (a client's, the only ones), and what it knows of the head is
                # only good for them.
                self.waiting = 0
            if not buf:
                self.msg_ts = ts
                self.fresh = False
            buf += data
            self._run(ts)
            return

    def gap(self, ts: float, size: int) -> None:
        """``size`` bytes of this direction were not captured."""
        self.waiting = 0
        state = self.state
        note = f"{GAP_NOTE}: {size} bytes missing"
        if state == UNKNOWN:
            self.buf.clear()
            return
        if state in (OPAQUE, UNTIL_CLOSE):
            if state == UNTIL_CLOSE:
                self._note(f"{note} in body")
            return
        if state == BODY and not self.buf:
            self._note(f"{note} in body")
            if size < self.remaining:
                self.remaining -= size
                return
            if size == self.remaining:
                self.remaining = 0
                self._body_done()
                return
            self._body_done()
            self._enter_resync(size)
            return
        if state in (CHUNK_DATA, CHUNK_SIZE, CHUNK_END, TRAILER):
            self._note(f"{note} in chunked body; framing lost")
            self._body_done()
            self._enter_resync(size)
            return
        if state == HTTP09:
            self._finish_http09()
            self._enter_resync(size)
            return
        if state == HEAD and self.buf.strip(b"\r\n"):
            self._partial_head(f"{note} inside the header block; the rest of the head is lost")
        self._enter_resync(size)

    def close(self, why: str = "connection ended") -> None:
        """The connection is over (``why``: how, e.g. ``capture ended``): report
        whatever was in progress."""
        self.waiting = 0
        state = self.state
        if state == HTTP09:
            self._finish_http09()
        elif state == HEAD and self.buf.strip(b"\r\n"):
            self._partial_head(f"{why} inside the header block")
        elif state in (BODY, CHUNK_SIZE, CHUNK_DATA, CHUNK_END, TRAILER):
            if self.is_request and self.current is not None:
                self._note(f"{why} {BODY_CUT_NOTE}")
            self._body_done()
        self.state = OPAQUE
        self.buf.clear()

    def other_side_spoke(self) -> None:
        """The peer sent data: a pending HTTP/0.9 request is complete."""
        if self.state == HTTP09:
            self._finish_http09()
            self._run(self.msg_ts)

    # -- the state machine --------------------------------------------------------

    def _run(self, ts: float) -> None:
        buf = self.buf
        while buf:
            if self.fresh:
                # The previous message ended in this segment: so does the next begin.
                self.msg_ts = ts
                self.fresh = False
            state = self.state
            if state <= HEAD or state == UNKNOWN:
                # Empty lines between messages belong to neither (RFC 9112 §2.2).
                start = skip_empty_lines(buf)
                if start:
                    del buf[:start]
                    if not buf:
                        return
            if state == HEAD:
                if not self._head(ts):
                    return
            elif state == BODY:
                n = min(len(buf), self.remaining)
                self._body_bytes(bytes(buf[:n]))
                del buf[:n]
                self.remaining -= n
                if self.remaining == 0:
                    self._body_done()
            elif state == CHUNK_SIZE:
                eol = buf.find(b"\n")
                if eol < 0:
                    if len(buf) > 1024:
                        self._chunk_error("chunk size line too long")
                    return
                line = bytes(buf[: eol + 1])
                try:
                    size = parse_chunk_size(line)
                except MalformedHead as exc:
                    del buf[: eol + 1]
                    self._chunk_error(str(exc))
                    continue
                del buf[: eol + 1]
                if size == 0:
                    self.state = TRAILER
                else:
                    self.state = CHUNK_DATA
                    self.remaining = size
            elif state == CHUNK_DATA:
                n = min(len(buf), self.remaining)
                self._body_bytes(bytes(buf[:n]))
                del buf[:n]
                self.remaining -= n
                if self.remaining == 0:
                    self.state = CHUNK_END
            elif state == CHUNK_END:
                if buf[:2] == b"\r\n":
                    del buf[:2]
                elif buf[:1] == b"\n":
                    del buf[:1]
                elif buf == b"\r":
                    return
                else:
                    self._note("chunk data not followed by CRLF")
                self.state = CHUNK_SIZE
            elif state == TRAILER:
                if buf[:2] == b"\r\n" or buf[:1] == b"\n":
                    del buf[: 2 if buf[:1] == b"\r" else 1]
                    self._body_done()
                    continue
                end = find_head_end(b"\n" + buf)
                if end < 0:
                    if len(buf) > self.conn.tracker.max_head:
                        self._chunk_error("trailer section too large")
                    return
                del buf[: end - 1]
                self._body_done()
            elif state == UNTIL_CLOSE:
                self._body_bytes(bytes(buf))
                buf.clear()
            elif state in (START, UNKNOWN):
                if not self._sniff():
                    return
            elif state == RESYNC:
                if not self._resync():
                    return
            elif state == HTTP09:
                if not self._http09_followup(ts):
                    return
            else:  # OPAQUE
                buf.clear()
                return

    def _sniff(self) -> bool:
        """Decide whether the stream is HTTP (and, if roles are unknown, which side)."""
        buf = self.buf
        conn = self.conn
        if self.state == UNKNOWN:
            req = looks_like_request(buf)
            if req:
                conn.assign_roles(client=self.direction)
                return True
            resp = looks_like_response(buf)
            if resp:
                conn.assign_roles(client=1 - self.direction)
                return True
            if (req is None or resp is None) and len(buf) < _SNIFF_LIMIT:
                return False
            # Mid-stream capture: look for a line that starts a message.
            match = request_line_pattern().search(buf)
            smatch = status_line_pattern().search(buf)
            if match and (not smatch or match.start(1) <= smatch.start(1)):
                del buf[: match.start(1)]
                conn.assign_roles(client=self.direction)
                return True
            if smatch:
                del buf[: smatch.start(1)]
                conn.assign_roles(client=1 - self.direction)
                return True
            if len(buf) > _SNIFF_LIMIT:
                del buf[: len(buf) - 256]
            return False
        verdict = looks_like_request(buf) if self.is_request else looks_like_response(buf)
        if verdict:
            self.state = HEAD
            return True
        if verdict is None and len(buf) < _SNIFF_LIMIT:
            return False
        if not self.is_request and conn.expects_http09_reply():
            # HTTP/0.9 responses have no status line: the body runs to the close.
            self.state = UNTIL_CLOSE
            return True
        self.state = OPAQUE
        if self.is_request:
            # A connection counts once, by its client's bytes: the server's are read
            # only where responses are (HAR, the dashboard), and a server that answers
            # HTTP requests in another protocol leaves those requests read.
            conn.not_http()
        buf.clear()
        # Nothing after this is read: reassembly can stop holding and decoding it.
        _ignore(conn.flow, self.direction, True)
        if self.is_request and not conn.depth:
            # A client that never sent a request gets no echo: the server's side
            # need not be decoded to find that out.
            conn.not_an_echo()
        return False

    def _enter_resync(self, lost: int = 0) -> None:
        """Lose the place: look for the next message start (:meth:`_resync`); ``lost``:
        the bytes of a capture gap that made it lose it."""
        self.buf.clear()
        self.state = RESYNC
        self.current = None
        self.lost += lost

    def _resync(self) -> bool:
        buf = self.buf
        pattern = request_line_pattern() if self.is_request else status_line_pattern()
        match = pattern.search(buf)
        if match is not None:
            return self._found(match.start(1))
        # The last line may be a request line, its end still to come (an ad tracker's
        # runs over segments): kept from its start, up to the head limit. Past it, one
        # of a known method is a request whose head is cut there, as any head too long.
        # Anything else (the text of a lost body) is let go but its last 256 bytes.
        start = buf.rfind(b"\n") + 1
        if self.is_request and request_line_start().fullmatch(buf, start) is not None:
            if len(buf) - start <= self.conn.tracker.max_head:
                if start > 1:
                    del buf[: start - 1]
                return False
            method = bytes(buf[start : start + 33]).partition(b" ")[0]
            if method.decode("ascii", "replace").upper() in KNOWN_METHODS:
                return self._found(start)
        if len(buf) > 256:
            del buf[: len(buf) - 256]
        return False

    def _found(self, start: int) -> bool:
        """The next message starts at ``start`` of the buffer: read on from there."""
        del self.buf[:start]
        self.state = HEAD
        self.fresh = True
        self.conn.tracker.count("resyncs")
        if self.lost and self.is_request:
            # Bytes are missing before it: it may not be where the stream had a
            # request (a request line in a lost body's text), nor one the server read
            # (bytes sent ahead of the next byte, given up on as a gap at the close).
            self.conn.note(f"{GAP_NOTE}: {self.lost} bytes missing before this request")
        self.lost = 0
        return True

    # -- heads ------------------------------------------------------------------

    def _head(self, ts: float) -> bool:
        if self.is_request:
            return self._request_head(ts)
        return self._response_head(ts)

    def _request_head(self, ts: float) -> bool:
        buf = self.buf
        end = find_head_end(buf)
        if end < 0:
            eol = buf.find(b"\n")
            if eol >= 0:
                # A request line without a version may be a complete HTTP/0.9
                # request; whether headers follow decides.
                line = bytes(buf[:eol]).rstrip(b"\r")
                if not line.upper().endswith((b" HTTP/1.1", b" HTTP/1.0")):
                    try:
                        head = parse_request_head(line)
                    except MalformedHead as exc:
                        del buf[: eol + 1]
                        self._bad_head(str(exc))
                        return True
                    if head.version is None:
                        self.state = HTTP09
                        # Whether the server answers decides: listen to it.
                        _ignore(self.conn.flow, 1 - self.direction, False)
                        return self._http09_followup(ts)
            if not self._take_head(end):
                # It goes on: what was just found holds until bytes come (feed).
                self.waiting = len(buf) if eol >= 0 else -len(buf)
                return False
            return True
        return self._take_head(end)

    def _take_head(self, end: int) -> bool:
        """Hand a complete head (``end`` found) to its parser, or cut one that grew too big.

        Returns whether the buffer was consumed (False: wait for more bytes).
        """
        buf = self.buf
        limit = self.conn.tracker.max_head
        if end > limit or (end < 0 and len(buf) > limit):
            # Cut whether or not its end came in the same segment: a head's record
            # must not depend on where TCP happened to split it.
            if self.is_request:
                # Counted for the summary: an identity past the cut is not read, and
                # the record's anomaly alone is easy to miss among thousands.
                self.conn.tracker.count("heads_cut")
            # What came after the head's end, if it came (the next request, pipelined),
            # is where the next message is looked for.
            after = bytes(buf[end:]) if end >= 0 else b""
            self._partial_head(f"{HEAD_CUT_NOTE} {limit} bytes; cut", limit)
            self._enter_resync()
            self.buf += after
            return True
        if end < 0:
            return False
        block = bytes(buf[:end])
        del buf[:end]
        if self.is_request:
            self._request_block(block)
        else:
            self._response_block(block)
        return True

    def _request_block(self, block: bytes) -> None:
        """A complete request head (request line to empty line)."""
        if c_request is not None:
            plain = c_request(block, RequestHead)
            if plain is not None:  # its end is the block's
                self._plain_request(self.msg_ts, plain[1], plain[2])
                return
        try:
            head = parse_request_head(block)
        except MalformedHead as exc:
            self._bad_head(str(exc), block)
            return
        self._start_request(self.msg_ts, head, False, _mentioned(block))  # by position

    def _plain_request(self, ts: float, head: RequestHead, flags: int) -> None:
        """A plain head (:func:`capture.http.http1.plain_request`): with no framing
        header and no tunnel, the request is complete, and goes out at once (what
        :meth:`_start_request` then does, without its steps)."""
        if flags or head.method == "CONNECT":
            self._start_request(ts, head, False, flags)
            return
        self.fresh = True
        self.current = None
        conn = self.conn
        if conn.responses:
            conn.emit_request(conn.new_request(ts, head))
            return
        # No response is read for it: no PendingRequest. While the server may still
        # turn out to be a reflector (echo None), its head is all that pairing would
        # need (HttpConnection.await_responses); once it is known not to be, nothing.
        depth = conn.depth = conn.depth + 1
        if conn.echo is None:
            conn.wait_for_response(head)
        conn.tracker.emit(conn, ts, depth, head, b"", 0, head.anomalies)

    def _whole_body(self, ts: float, head: RequestHead, data: bytes, end: int, length: int) -> int:
        """A head whose one Content-Length, ``length`` (read by ``c_request``: digits
        alone, no Transfer-Encoding, what :func:`request_framing` would read), frames a
        body whole in ``data`` after it (from ``end``): the request goes out at once
        with its body, as :meth:`_plain_request` sends one without (what
        :meth:`_start_request` and the body's state then do, without their steps: a
        third of an ad capture's requests are POSTed beacons, each whole in its
        segment). Returns where the body ends in ``data``; 0 where it is not taken: it
        is past :data:`BODY_CAP` or the segment, responses are read, or the method is
        CONNECT."""
        conn = self.conn
        stop = end + length
        if stop > len(data) or length > BODY_CAP or conn.responses or head.method == "CONNECT":
            return 0
        self.fresh = True
        self.current = None
        depth = conn.depth = conn.depth + 1
        if conn.echo is None:
            conn.wait_for_response(head)
        conn.tracker.emit(conn, ts, depth, head, data[end:stop], length, head.anomalies)
        return stop

    def _http09_followup(self, ts: float) -> bool:
        """After a version-less request line: headers, an empty line, or nothing."""
        buf = self.buf
        eol = buf.find(b"\n")
        rest = bytes(buf[eol + 1 :])
        if not rest:
            return False  # wait for more bytes, the peer, or the close
        if rest[:1] == b"\n" or rest[:2] == b"\r\n" or (rest[:1] == b"\r" and len(rest) == 1):
            if rest == b"\r":
                return False
            # Request line, then an empty line: a head with no headers.
            self.state = HEAD
            return self._request_head(ts)
        colon = rest.find(b":")
        line_end = rest.find(b"\n")
        looks_header = colon > 0 and (line_end < 0 or colon < line_end)
        if looks_header or (line_end < 0 and len(rest) < 64):
            if line_end < 0 and not looks_header:
                return False
            self.state = HEAD
            end = find_head_end(buf)
            if end < 0:
                return False
            return self._request_head(ts)
        self._finish_http09()
        return True

    def _finish_http09(self) -> None:
        buf = self.buf
        eol = buf.find(b"\n")
        line = bytes(buf[: eol if eol >= 0 else len(buf)]).rstrip(b"\r")
        del buf[: eol + 1 if eol >= 0 else len(buf)]
        self.state = HEAD
        try:
            head = parse_request_head(line)
        except MalformedHead as exc:
            self._bad_head(str(exc))
            return
        self._start_request(self.msg_ts, head, http09=True)

    def _start_request(
        self, ts: float, head: RequestHead, http09: bool = False, flags: int | None = None
    ) -> None:
        """A request head: its body (if any) is read next, or it is complete.

        ``flags`` (:data:`capture.http.http1.CONTENT_LENGTH`, ...): which framing
        headers the head may name; a flag not set is a header it does not have (None:
        not known, the headers are looked at)."""
        self.fresh = True
        conn = self.conn
        if head.version is None and not conn.tracker.responses:
            # Listening to the server was only needed to settle HTTP/0.9.
            _ignore(conn.flow, 1 - self.direction, True)
        pending = conn.new_request(ts, head)
        if http09 or (head.version is None and not head.headers):
            conn.emit_request(pending)
            return
        # The flags spare walking the headers in the common case: no Upgrade, no
        # Content-Length, no Transfer-Encoding.
        if head.method == "CONNECT" or (
            (flags is None or flags & UPGRADE) and has_upgrade(head.headers)
        ):
            conn.emit_request(pending)
            self.state = START  # HTTP may or may not continue: look before parsing
            return
        if flags is not None and not flags & (CONTENT_LENGTH | TRANSFER_ENCODING):
            self.current = pending
            self.state = HEAD
            self._body_done()
            return
        framing = request_framing(head.headers)
        pending.anomalies.extend(framing.anomalies)
        self._start_body(framing, pending)

    def _start_body(self, framing: Framing, pending: PendingRequest | None) -> None:
        self.current = pending
        kind = framing.kind
        if kind == "length":
            self.state = BODY
            self.remaining = framing.length
        elif kind == "chunked":
            self.state = CHUNK_SIZE
        elif kind == "close":
            self.state = UNTIL_CLOSE
        elif kind == "tunnel":
            self.state = START
            self.current = None
        else:
            self.state = HEAD
            self._body_done()

    def _response_head(self, ts: float) -> bool:
        return self._take_head(find_head_end(self.buf))

    def _response_block(self, block: bytes) -> None:
        """A complete response head (status line to empty line)."""
        try:
            head = parse_response_head(block)
        except MalformedHead as exc:
            self._bad_head(str(exc), block)
            return
        method = self.conn.response_arrived(
            Response(
                self.msg_ts, head.version, head.status, head.reason, head.headers, head.anomalies
            ),
            interim=100 <= head.status < 200 and head.status != 101,
        )
        self.fresh = True
        framing = response_framing(method, head.status, head.headers)
        if framing.kind == "tunnel":
            self.conn.tunnel_opened()
        self._start_body(framing, None)

    def _partial_head(self, why: str, limit: int | None = None) -> None:
        """Report what arrived of a head that will never complete (its first
        ``limit`` bytes: what lies beyond a cut is not read as headers), with the
        identities in its whole lines."""
        block = bytes(self.buf[:limit] if limit is not None else self.buf)
        self.buf.clear()
        start = skip_empty_lines(block)
        block = block[start:]
        # Only whole lines: a cut line would be an invented value.
        eol = block.rfind(b"\n")
        whole = block[: eol + 1] if eol >= 0 else b""
        first_line_cut = eol < 0
        if not self.is_request:
            self.conn.tracker.count("partial_responses")
            return
        target = whole if not first_line_cut else block
        try:
            head = parse_request_head(target)
        except MalformedHead:
            self.conn.tracker.count("partial_requests_dropped")
            return
        anomalies = head.anomalies
        if first_line_cut:
            why += "; the request line itself is cut"
            head = head._replace(version=None)
            # Its version was cut off, not left out: no HTTP/0.9 request.
            anomalies = tuple(note for note in anomalies if note != NO_VERSION)
        head = head._replace(anomalies=(why, *anomalies))
        pending = self.conn.new_request(self.msg_ts, head)
        self.conn.emit_request(pending)
        self.state = HEAD

    def _bad_head(self, why: str, block: bytes = b"") -> None:
        """Not a message head: skip its first line and look for the next message.

        ``block`` is the rejected head when it was already taken off the buffer;
        its lines after the first go back for the search.
        """
        self.fresh = True
        self.conn.tracker.count("malformed_heads")
        self.state = RESYNC
        self.current = None
        eol = block.find(b"\n")
        if eol >= 0:
            self.buf[:0] = block[eol + 1 :]

    # -- bodies -----------------------------------------------------------------

    def _body_bytes(self, data: bytes) -> None:
        current = self.current
        if current is not None:
            current.body_length += len(data)
            room = BODY_CAP - len(current.body)
            if room > 0:
                current.body += data[:room]

    def _body_done(self) -> None:
        self.fresh = True
        current = self.current
        self.current = None
        if self.state not in (START, OPAQUE, RESYNC):
            self.state = HEAD
        if current is not None and not current.emitted:
            self.conn.emit_request(current)

    def _chunk_error(self, why: str) -> None:
        self._note(f"chunked framing broken ({why})")
        # Zeek and most servers stop treating the rest as body here: look for
        # the next message right after the bad line.
        self._body_done()
        self.state = HEAD

    def _note(self, text: str) -> None:
        if self.is_request and self.current is not None:
            self.current.anomalies.append(text)


ECHO_MARK = b"\nx-headerwatch-received:"
"""How a reflector's response head is recognised (lower case, at a line start)."""


def _interim(buf: bytes | bytearray, start: int, end: int) -> bool:
    """Whether the response head ``buf[start:end]`` is an interim one (1xx, not 101):
    the final response, and its echo, still come after it."""
    # The code is what follows the status line's first space (as the C walk reads it).
    space = buf.find(b" ", start, buf.find(b"\n", start, end))
    code = bytes(buf[space + 1 : space + 4])
    return space >= 0 and code[:1] == b"1" and code != b"101"


def first_head_settles(payload: bytes) -> bool:
    """Whether the first segment of a server's stream settles, by itself, that its
    connection brings no reflector's echo (what :meth:`HttpConnection._probe` finds
    from the same bytes): it cannot start a status line, or it holds a whole response
    head without the echo header whose status does not start with 1. False: more
    must be read (a head going on in the next segment, an interim response, the
    echo). The C record walk (``capture/sources/_pcapwalk.c``, ``settles``) is the
    same test: a scan's reader passes such a segment over undecoded."""
    start = skip_empty_lines(payload)
    if looks_like_response(payload[start : start + 6]) is False:
        return True
    end = find_head_end(payload, start)
    if end < 0 or ECHO_MARK in payload[start:end].lower():
        return False
    eol = payload.find(b"\n", start)
    space = payload.find(b" ", start, eol)
    return space < 0 or payload[space + 1 : space + 2] != b"1"


class HttpConnection:
    """HTTP state of one TCP connection."""

    __slots__ = (
        "client",
        "depth",
        "echo",
        "ends",
        "flow",
        "held",
        "notes",
        "opaque",
        "outstanding",
        "probe",
        "probe_ts",
        "proxied",
        "readers",
        "responses",
        "tracker",
    )

    def __init__(self, tracker: HttpTracker, flow: Flow) -> None:
        self.tracker = tracker
        self.flow = flow
        self.client: int | None = None
        self.readers = (MessageReader(self, 0), MessageReader(self, 1))
        self.outstanding: deque[PendingRequest | RequestHead] = deque()
        """The requests whose responses are still to come, oldest first (at most
        ``max_outstanding``). While the server is not known (``echo`` None), a request
        that went out at once is kept as its head alone (see
        :meth:`MessageReader._plain_request`): the depths are consecutive, up to
        :attr:`depth`, and :meth:`_oldest` makes them PendingRequests."""
        self.depth = 0
        self.responses = tracker.responses
        """Whether the server's bytes are parsed: always, or on a reflector's connection."""
        self.echo: bool | None = None if tracker.echoes and not tracker.responses else False
        """Whether the server is a reflector (its first response head carries the
        echo); None until that head has been seen."""
        self.probe: bytearray | None = None
        self.probe_ts = 0.0
        self.proxied = False
        """A request awaiting its answer went to a proxy (its target a whole URL): one
        answer without an echo settles nothing of the next (:meth:`_probe`)."""
        self.held = 0
        """Bytes this connection's readers held when last counted (see :meth:`buffered`)."""
        self.ends: tuple[str, int, str, int] | None = None
        """The client's address and port, then the server's, once the roles are known
        (the request's ``src``, ``sport``, ``dst``, ``dport``)."""
        self.opaque = False
        """Counted in ``non_http_connections`` (see :meth:`not_http`)."""
        self.notes: tuple[str, ...] = ()
        """Reassembly's notes (see :meth:`note`) for the next request to go out."""
        if flow.client is not None:
            self.assign_roles(flow.client)

    def note(self, text: str) -> None:
        """Reassembly's note (:meth:`capture.net.reassembly.StreamSink.on_note`): an
        anomaly of the request whose body is being read, else of the next request
        (whose head may be arriving): the one the note's bytes may have changed."""
        client = self.client
        current = self.readers[client].current if client is not None else None
        if current is not None and not current.emitted:
            if text not in current.anomalies:
                current.anomalies.append(text)
        elif text not in self.notes:
            self.notes += (text,)

    def buffered(self) -> int:
        """Bytes held for this connection: heads still arriving, a request body being
        kept, the first response head being probed."""
        first, second = self.readers
        held = len(first.buf) + len(second.buf)
        if first.current is not None:
            held += len(first.current.body)
        if second.current is not None:
            held += len(second.current.body)
        if self.probe is not None:
            held += len(self.probe)
        return held

    def assign_roles(self, client: int) -> None:
        """Side ``client`` sends requests; start (or restart) both readers."""
        if self.client is not None:
            return
        self.client = client
        if not self.responses:
            if self.echo is not None:
                _ignore(self.flow, 1 - client, True)
            elif self.flow.owner is not None:
                # The server's first segment may settle the probe before it is decoded.
                self.flow.owner.set_probe(self.flow, 1 - client, True)
        for reader in self.readers:
            reader.is_request = reader.direction == client
            if reader.state == UNKNOWN:
                reader.state = START
                if reader.buf:
                    reader._run(reader.msg_ts)

    def feed(self, direction: int, ts: float, data: bytes) -> None:
        """Bytes of one direction, in order."""
        readers = self.readers
        if self.client is not None and direction != self.client:
            readers[1 - direction].other_side_spoke()
            if not self.responses:
                if self.echo is None:
                    self._probe(direction, ts, data)
                return
        readers[direction].feed(ts, data)

    def _probe(self, direction: int, ts: float, data: bytes) -> None:
        """Look at the server's first final response head for a reflector's echo: only a
        reflector's connection has its responses parsed (sent versus received); on
        any other the server's bytes are ignored from here on, as before. Interim
        (1xx) heads before it are passed over: a reflector answers ``Expect:
        100-continue`` with ``100 Continue`` first, and its echo comes after."""
        probe = self.probe
        buf: bytes | bytearray
        if probe is None:
            # The common case, the whole head in the first segment: no copy kept.
            self.probe_ts = ts
            buf = data
            owner = self.flow.owner
            if owner is not None:
                # The capture's reader need look at nothing more of it: this does.
                owner.set_probe(self.flow, direction, False)
        else:
            probe += data
            buf = probe
        start = skip_empty_lines(buf)
        while True:
            # Settled as soon as the first bytes tell: a stream that does not start
            # with a status line (TLS, any other protocol) would be opaque to the
            # response reader too, so no echo can be parsed from it; without this a
            # non-HTTP server was decoded and buffered up to the head limit or its close.
            if looks_like_response(buf[start : start + 6]) is False:
                self.not_an_echo()
                return
            # Only the head is lowered and searched (where the reader would end it):
            # the body after it in the same segment cannot carry the echo header.
            end = find_head_end(buf, start)
            if ECHO_MARK in (buf[start:] if end < 0 else buf[start:end]).lower():
                self._read_responses(direction, buf)
                return
            if end < 0:
                break
            if not _interim(buf, start, end):
                if self.proxied:
                    # A proxy's answers come from many servers, a reflector's among
                    # them: the first said nothing of the next (an echo on the same
                    # connection after a plain site's answer was in a HAR and the
                    # dashboard, not in JSONL, a table or a report).
                    self._read_responses(direction, buf)
                else:
                    self.not_an_echo()
                return
            start = skip_empty_lines(buf, end)
            if start == len(buf):
                break
        if len(buf) > self.tracker.max_head:
            self.not_an_echo()
        elif probe is None:
            self.probe = bytearray(data)  # the head goes on in the next segment

    def _read_responses(self, direction: int, buf: bytes | bytearray) -> None:
        """Parse this connection's responses from here on, ``buf`` (the server's bytes
        so far) first, each paired with its request: a reflector's echo is read."""
        self.echo = self.responses = True
        self.probe = None
        found = self.tracker.on_echo
        if found is not None:
            found(self.flow.id)  # before the responses it pairs
        # From the stream's start: the reader pairs interim heads too.
        self.readers[direction].feed(self.probe_ts, bytes(buf))

    def _to_a_proxy(self) -> None:
        """A request went to a proxy: the server's first answer is read here (the
        capture's reader would pass one without an echo over, settling the connection:
        see :func:`first_head_settles`)."""
        self.proxied = True
        owner, client = self.flow.owner, self.client
        if owner is not None and client is not None:
            owner.set_probe(self.flow, 1 - client, False)

    def not_an_echo(self) -> None:
        """The server is no reflector (or cannot be told to be): stop reading it, and
        let the requests that waited for that answer go on. (A verdict that the reader
        of the capture settled itself, making the server's skip entry True, takes the
        steps of this written out: ``capture.pipeline.Pipeline._settle``.)"""
        if self.echo is not False:
            self.echo = False
            self.probe = None
            if self.outstanding:
                self.outstanding.clear()
            flow = self.flow
            if self.client is not None:
                if flow.owner is not None:  # _ignore, inlined: once per connection
                    flow.owner.ignore_probed(flow, 1 - self.client)
                else:
                    flow.halves[1 - self.client].ignore = True
            settled = self.tracker.on_settled
            if settled is not None:
                settled(flow.id)

    def _oldest(self) -> PendingRequest:
        """The oldest unanswered request (there is one), the requests kept as their
        heads alone (see :attr:`outstanding`) made PendingRequests that went out
        already, each with its depth: a response is read for them after all (a
        reflector's, or one whose server spoke before the roles were known)."""
        outstanding = self.outstanding
        depth = self.depth - len(outstanding)
        pending: deque[PendingRequest | RequestHead] = deque()
        for entry in outstanding:
            depth += 1
            if isinstance(entry, PendingRequest):
                pending.append(entry)
            else:
                request = PendingRequest(0.0, entry, depth)
                request.emitted = True
                pending.append(request)
        self.outstanding = pending
        return pending[0]  # type: ignore[return-value]

    def new_request(self, ts: float, head: RequestHead) -> PendingRequest:
        """A request head completed: it now waits for a response."""
        self.depth += 1
        pending = PendingRequest(ts, head, self.depth)
        if self.echo is False and not self.responses:
            return pending
        self.wait_for_response(pending)
        return pending

    def wait_for_response(self, request: PendingRequest | RequestHead) -> None:
        """Keep ``request`` (or its head alone, see :attr:`outstanding`) for the response
        to come; the oldest is forgotten, and counted, past ``max_outstanding``."""
        outstanding = self.outstanding
        outstanding.append(request)
        if not self.proxied and self.echo is None:
            uri = (request.head if isinstance(request, PendingRequest) else request).uri
            if uri is not None and uri[:7].lower() == "http://":
                self._to_a_proxy()
        if len(outstanding) > self.tracker.max_outstanding:
            oldest = outstanding.popleft()
            tracker = self.tracker
            tracker.count("unanswered_requests_forgotten")
            if tracker.on_unanswered is not None:
                # Heads alone have consecutive depths up to self.depth (see outstanding).
                depth = self.depth - len(outstanding)
                if type(oldest) is PendingRequest:
                    depth = oldest.depth
                tracker.on_unanswered(self.flow.id, depth)

    def emit_request(self, pending: PendingRequest) -> None:
        """The request is complete (head and body): hand it on."""
        if pending.emitted:
            return
        pending.emitted = True
        self.tracker.emit_request(self, pending)
        if pending.response is not None:
            self.tracker.emit_response(self, pending, pending.response)

    def response_arrived(self, response: Response, interim: bool) -> str | None:
        """Pair a response head with the oldest unanswered request; return its method."""
        if not self.outstanding:
            self.tracker.count("unpaired_responses")
            return None
        pending = self.outstanding[0]
        if type(pending) is not PendingRequest:
            pending = self._oldest()
        if interim:
            return pending.head.method
        self.outstanding.popleft()
        if pending.emitted:
            self.tracker.emit_response(self, pending, response)
        else:
            pending.response = response
        return pending.head.method

    def expects_http09_reply(self) -> bool:
        """True if the oldest unanswered request was HTTP/0.9 (replies have no head)."""
        outstanding = self.outstanding
        if not outstanding:
            return False
        oldest = outstanding[0]
        if type(oldest) is not PendingRequest:
            oldest = self._oldest()
        return oldest.head.version is None

    def tunnel_opened(self) -> None:
        """CONNECT succeeded or protocols switched: both sides may stop being HTTP."""
        for reader in self.readers:
            if reader.state not in (OPAQUE,) and not reader.buf:
                reader.state = START

    def not_http(self) -> None:
        """The client's bytes are not HTTP (TLS, another protocol, a tunnel's
        content): count the connection once, whichever side and format found it."""
        if not self.opaque:
            self.opaque = True
            self.tracker.count("non_http_connections")

    def close(self, why: str = "connection ended") -> None:
        """The TCP connection is over (``why``: how, for what it cut short)."""
        if self.client is None:
            # Bytes came (or were lost) but neither side ever read as HTTP: a connection
            # caught mid-way (no handshake) in TLS or another protocol.
            self.not_http()
        for reader in self.readers:
            if reader.buf or reader.state not in _AT_REST:
                reader.close(why)
            else:
                reader.state = OPAQUE  # MessageReader.close with nothing in progress
        tracker = self.tracker
        if self.outstanding:
            self._unanswered()
        if not tracker.responses:
            # No answer comes any more: the requests that waited for one go on.
            self.echo = False
            if tracker.on_settled is not None:  # tracker.settled, inlined
                tracker.on_settled(self.flow.id)

    def _unanswered(self) -> None:
        """The connection ended: the requests still waiting for a response get none.
        The layer above is told each one (``on_unanswered``), so that it lets go of
        what it kept for the pairing."""
        outstanding, self.outstanding = self.outstanding, deque()
        unanswered = self.tracker.on_unanswered
        if unanswered is None:
            return
        flow_id = self.flow.id
        depth = self.depth - len(outstanding)
        for entry in outstanding:
            depth += 1  # a head alone: consecutive depths up to self.depth
            unanswered(flow_id, entry.depth if type(entry) is PendingRequest else depth)


class HttpTracker:
    """The stream sink that turns reassembled TCP into HTTP requests and responses.

    ``on_request(echo, request)`` is called when a request is complete; ``echo``
    is what its connection's server is known to be (when responses are not
    parsed): False, no reflector, so no echo can come for it (always False when
    responses are parsed, or echoes not looked for); True, a reflector; None, not
    known yet (``on_echo(flow_id)`` tells when it turns out to be one,
    ``on_settled(flow_id)`` when no more echoes will come).
    ``on_response(flow_id, depth, response)`` when the response to the request
    with that depth on that flow has its head; ``on_unanswered(flow_id, depth)`` when
    that request will get none (its connection ended first, or more than
    ``max_outstanding`` requests waited on it).
    """

    def __init__(
        self,
        on_request: Callable[[bool | None, Request], None],
        on_response: Callable[[int, int, Response], None],
        max_outstanding: int = 100,
        responses: bool = True,
        echoes: bool = True,
        on_settled: Callable[[int], None] | None = None,
        max_head: int | None = None,
        on_echo: Callable[[int], None] | None = None,
        on_unanswered: Callable[[int, int], None] | None = None,
    ) -> None:
        self.on_request = on_request
        self.on_response = on_response
        self.on_unanswered = on_unanswered
        """``on_unanswered(flow_id, depth)``: no response will be paired with that request."""
        self.responses = responses
        """False: server bytes are not parsed (``scan`` prints requests only)..."""
        self.echoes = echoes
        """...except on a reflector's connection, told by its first response head."""
        self.on_settled = on_settled
        """``on_settled(flow_id)``: no more echoes will come on that connection."""
        self.on_echo = on_echo
        """``on_echo(flow_id)``: that connection's server is a reflector (its responses
        are read from here on); called before any of its responses."""
        self.max_head = head_limit() if max_head is None else max_head
        """Largest head (bytes): a longer one is cut there, flagged, and still read
        for identities up to the cut."""
        self.max_outstanding = max_outstanding
        self.held_bytes = 0
        """Bytes all connections hold in this layer (each counted after its last
        bytes or gap): reassembly charges them to its memory bound."""
        self.counters: dict[str, int] = dict.fromkeys(
            (
                "requests",
                "responses",
                "non_http_connections",
                "malformed_heads",
                "heads_cut",
                "resyncs",
                "unpaired_responses",
                "partial_responses",
                "partial_requests_dropped",
                "unanswered_requests_forgotten",
                # Of reassembly's gaps, those in what the client sent and in what the
                # server sent (the rest came before either side was known):
                # readers compare a scan's with the dashboard's, which reads more of
                # the servers' bytes.
                "client_gaps",
                "client_gap_bytes",
                "server_gaps",
                "server_gap_bytes",
            ),
            0,
        )

    def count(self, name: str) -> None:
        """Increment a counter."""
        self.counters[name] = self.counters.get(name, 0) + 1

    def settled(self, flow_id: int) -> None:
        """Connection ``flow_id`` will bring no more echoes."""
        if self.on_settled is not None:
            self.on_settled(flow_id)

    def _conn(self, flow: Flow) -> HttpConnection:
        conn = flow.app
        if conn is None:
            conn = flow.app = HttpConnection(self, flow)
        return conn  # type: ignore[return-value]

    # StreamSink
    def on_data(self, flow: Flow, direction: int, ts: float, data: bytes) -> None:
        """Reassembled bytes."""
        conn: HttpConnection | None = flow.app  # type: ignore[assignment]
        if conn is None:
            conn = flow.app = HttpConnection(self, flow)
        reader = conn.readers[direction]
        if conn.client == direction:
            # HttpConnection.feed, inlined: a client's bytes. The bytes of a head cut
            # over segments are taken here, not by MessageReader.feed (see below).
            buf = reader.buf
            state = reader.state
            if not buf:
                reader.feed(ts, data)
            elif reader.waiting:
                # A head cut over segments (most segments of ad traffic) whose first
                # abs(waiting) bytes MessageReader._request_head has seen: while the
                # new bytes neither end it nor end its first line, nor take it past the
                # limit, _run would only find that it goes on. (Bytes held: not OPAQUE,
                # which holds none.)
                held = reader.waiting
                reader.waiting = 0
                size = len(buf)
                buf += data
                if state == HEAD and not reader.fresh and (size == held or size == -held):
                    if held > 0:
                        # Only the new bytes, and the two before them, can hold the end.
                        end = find_head_end(buf, held - 2 if held > 2 else 0)
                        if 0 <= end <= self.max_head:
                            # The head ends here: what _run would do with it
                            # (_request_head, _take_head, _request_block), without
                            # looking for its end again nor copying a plain head out.
                            if c_request is not None and (plain := c_request(buf, RequestHead)):
                                del buf[:end]
                                reader._plain_request(reader.msg_ts, plain[1], plain[2])
                            else:
                                block = bytes(buf[:end])
                                del buf[:end]
                                reader._request_block(block)
                            if buf:
                                reader._run(ts)
                        elif end < 0 and size + len(data) <= self.max_head:
                            reader.waiting = size + len(data)
                        else:
                            reader._run(ts)
                    elif data.find(b"\n") < 0 and size + len(data) <= self.max_head:
                        reader.waiting = -(size + len(data))
                    else:
                        reader._run(ts)
                else:
                    reader._run(ts)
            else:
                reader.feed(ts, data)
        else:
            conn.feed(direction, ts, data)
        # Counted only where bytes may be held: this connection held some when last
        # counted, or the reader just fed (or the probe) holds some now. Nothing else
        # grows what a connection holds (the other reader's bytes only go), and most
        # deliveries are whole heads or body bytes, read without keeping any.
        if conn.held or reader.buf or reader.current is not None or conn.probe is not None:
            # HttpConnection.buffered, written out: on every segment of a head cut
            # over segments, and the one after it.
            first, second = conn.readers
            held = len(first.buf) + len(second.buf)
            if first.current is not None:
                held += len(first.current.body)
            if second.current is not None:
                held += len(second.current.body)
            if conn.probe is not None:
                held += len(conn.probe)
            self.held_bytes += held - conn.held
            conn.held = held

    def on_gap(self, flow: Flow, direction: int, ts: float, size: int) -> None:
        """Missing bytes, counted by side where the client is known."""
        conn = self._conn(flow)
        if conn.client is not None:
            side = "client" if direction == conn.client else "server"
            self.counters[f"{side}_gaps"] += 1
            self.counters[f"{side}_gap_bytes"] += size
        if conn.echo is None and conn.client is not None and direction != conn.client:
            conn.not_an_echo()  # the head that could tell is (partly) missing
        else:
            conn.readers[direction].gap(ts, size)
        held = conn.buffered()
        self.held_bytes += held - conn.held
        conn.held = held

    def on_note(self, flow: Flow, direction: int, ts: float, text: str) -> None:
        """A note of reassembly's, for the connection's request (see
        :meth:`HttpConnection.note`): the same on whichever side's segments it came."""
        self._conn(flow).note(text)

    def on_roles(self, flow: Flow) -> None:
        """The handshake named the client."""
        conn: HttpConnection | None = flow.app  # type: ignore[assignment]
        if conn is None:
            # A new connection takes the roles from the flow itself.
            flow.app = HttpConnection(self, flow)
        elif flow.client is not None:
            conn.assign_roles(flow.client)

    def on_close(self, flow: Flow, why: str = "connection ended") -> None:
        """The connection is over (``why``: how)."""
        conn: HttpConnection | None = flow.app  # type: ignore[assignment]
        if conn is not None:
            conn.close(why)
            self.held_bytes -= conn.held
            conn.held = 0
            flow.app = None
            # Over: its readers closed, nothing reaches it any more. Letting its readers
            # go breaks the connection <-> reader cycle, so reference counting frees the
            # lot now instead of the cyclic collector later (~12 objects a connection,
            # whose collections cost ~2,400 instructions a request on the ad mix).
            del conn.readers

    # emission
    def emit_request(self, conn: HttpConnection, pending: PendingRequest) -> None:
        """Build the immutable Request and pass it on."""
        self.emit(
            conn,
            pending.ts,
            pending.depth,
            pending.head,
            bytes(pending.body),
            pending.body_length,
            tuple(pending.anomalies),
        )

    def emit(
        self,
        conn: HttpConnection,
        ts: float,
        depth: int,
        head: RequestHead,
        body: bytes,
        body_length: int,
        anomalies: tuple[str, ...],
    ) -> None:
        """Pass on the request ``head`` (with its body) as the ``depth``-th of ``conn``."""
        flow = conn.flow
        ends = conn.ends
        if ends is None:
            if conn.client == 1:
                ends = (flow.b, flow.b_port, flow.a, flow.a_port)
            else:
                ends = (flow.a, flow.a_port, flow.b, flow.b_port)
            if conn.client is not None:  # (set once: assign_roles)
                conn.ends = ends
        src, sport, dst, dport = ends
        if conn.notes:
            anomalies = (*anomalies, *conn.notes)
            conn.notes = ()
        self.counters["requests"] += 1
        self.on_request(
            conn.echo,
            # Every field by position, as positional_new builds it: once per request.
            _new_request(
                ts,
                flow.id,
                depth,
                src,
                sport,
                dst,
                dport,
                head.method,
                head.uri,
                head.version,
                head.headers,
                body,
                body_length,
                anomalies,
                None,  # authority
                "",  # app
                "",  # input
                "",  # source
            ),
        )

    def emit_response(
        self, conn: HttpConnection, pending: PendingRequest, response: Response
    ) -> None:
        """Pass on a response paired with an emitted request."""
        self.counters["responses"] += 1
        self.on_response(conn.flow.id, pending.depth, response)
