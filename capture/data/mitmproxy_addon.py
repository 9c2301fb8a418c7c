"""A mitmproxy add-on that writes one headerwatch JSONL record per request.

Run it inside mitmproxy's own environment (it imports only mitmproxy and the
standard library, and loads two of headerwatch's modules that need nothing else
out of the package it is shipped in: headerwatch need not be importable there)::

    mitmdump -s "$(headerwatch mitmproxy-addon)" --set headerwatch_out=PATH

and follow ``PATH`` with ``headerwatch live --from PATH``. ``PATH`` is

* a regular file (created 0600, appended to), followed like ``tail -F``;
* an existing FIFO (``mkfifo``): written while a reader has it open;
* ``unix:SOCKET``: a Unix socket that ``headerwatch live --from unix:SOCKET``
  listens on; the add-on connects, and reconnects when headerwatch is restarted.

A file or FIFO is opened as headerwatch opens its own output files
(``capture.formats.private.create_private``): 0600, and when running as root no
planted link followed and no other user's file written; a refusal is one line in
mitmproxy's log, and records are dropped (counted) meanwhile.

Each record is the headerwatch JSONL record (docs/jsonl.md): the request's
headers in wire order with their original case and duplicates, the HTTP/2 and
HTTP/3 pseudo-headers mapped to ``method``, ``authority`` and ``uri`` (the
path), the client's address as ``src``/``sport``, the server's as
``dst``/``dport``, ``tls`` (the client's SNI and ALPN, when it spoke TLS to the
proxy), the request body (``body``, or ``body_base64`` when it is not UTF-8: its
first 64 KiB, decoded from its Content-Encoding, as headerwatch keeps a captured
body), the response (status and headers), and ``"source": "mitmproxy"``.

The proxy never waits for headerwatch: records go into a bounded queue
(``headerwatch_queue``, 10,000 records) that a writer thread empties. When the
queue is full, or the FIFO or socket has no reader, records are dropped and
counted; the count is written as a status line
(``{"headerwatch_addon": {"dropped": N, ...}}``) as soon as writing works again,
and logged when mitmproxy stops.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import errno
import importlib.util
import json
import logging
import os
import socket
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from mitmproxy import ctx, http


def _headerwatch(relative: str) -> ModuleType:
    """A module of the headerwatch package this file is shipped in, loaded from its
    file: one rule with headerwatch's own code, whether or not headerwatch can be
    imported in mitmproxy's Python (the modules loaded use only the standard library)."""
    path = Path(__file__).resolve().parent.parent / relative
    spec = importlib.util.spec_from_file_location(f"headerwatch_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"headerwatch's {relative} is not beside the add-on ({path})")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


private = _headerwatch("formats/private.py")
bodies = _headerwatch("identity/bodies.py")

QUEUE = 10_000
"""Default bound of records waiting for the writer thread."""
RETRY = 0.5
"""Seconds between attempts to open a FIFO without a reader or connect to a socket."""
FORMAT = 1
"""Version of what this add-on writes (the ``headerwatch_addon`` status line's ``format``)."""
BODY_KEPT = bodies.MAX_INFLATED
"""Bytes of a request body written at most, decoded: as much as headerwatch keeps."""

log = logging.getLogger(__name__)


def _text(raw: bytes) -> str:
    # Undecodable bytes as \xNN: headerwatch's own convention in JSON (docs/jsonl.md).
    return raw.decode("utf-8", "backslashreplace")


def _headers(fields: Any) -> list[list[str]]:
    return [[_text(name), _text(value)] for name, value in fields]


def _address(address: Any) -> tuple[str, int]:
    if not address:
        return "", 0
    host, port = address[0], address[1]
    return str(host).removeprefix("::ffff:"), int(port)


def body_of(raw: bytes, coding: str) -> tuple[dict[str, str], list[str]]:
    """What a record carries of a request body sent as ``raw`` with Content-Encoding
    ``coding``: ``{"body": text}`` (``body_base64`` when it is not UTF-8), and its
    anomalies. The body is decoded from ``coding`` and its first :data:`BODY_KEPT`
    bytes kept (``body_length`` counts the bytes sent, as for a capture); one that
    cannot be decoded is kept as sent, as a capture keeps it."""
    notes: list[str] = []
    got = bodies.decoded(raw, coding, BODY_KEPT)
    if got is None:
        kept = raw[:BODY_KEPT]
        notes.append(
            f"{bodies.BODY_UNDECODED_NOTE} (Content-Encoding {coding[:100]!r} unknown or "
            "damaged); kept as sent"
        )
    else:
        kept, more = got
        if more and coding.strip().lower() not in ("", "identity"):
            # Else body_length says it, as for a capture: here it counts the coded bytes.
            notes.append(
                f"{bodies.BODY_DECODED_LARGER} {coding[:100]} is larger than {BODY_KEPT} "
                f"bytes; the first {BODY_KEPT} kept"
            )
    try:
        return {"body": kept.decode("utf-8")}, notes
    except UnicodeDecodeError:
        return {"body_base64": base64.b64encode(kept).decode("ascii")}, notes


def record_of(flow: http.HTTPFlow, number: int, depth: int) -> dict[str, Any]:
    """The JSONL record (as a dict) of one finished flow."""
    req = flow.request
    src, sport = _address(flow.client_conn.peername)
    dst, dport = _address(flow.server_conn.peername)
    if not dst:
        # No connection was made (an error): the address the client asked for.
        dst, dport = (
            _address(flow.server_conn.address)
            if flow.server_conn.address
            else (
                req.host,
                req.port,
            )
        )
    pseudo = req.http_version.startswith(("HTTP/2", "HTTP/3"))
    uri = req.path
    if not pseudo and req.authority:
        # HTTP/1: an authority is left only on CONNECT, and on an absolute-form
        # target mitmproxy forwards as it came (upstream mode); the target as sent.
        # A regular proxy's absolute-form target (plain HTTP through it) is made
        # origin-form before add-ons see it (mitmproxy 11, proxy/layers/http: some
        # servers refuse absolute-form): its uri is the path, and the Host header,
        # recorded, says where it went.
        uri = (
            req.authority
            if req.method == "CONNECT"
            else (f"{req.scheme}://{req.authority}{req.path}")
        )
    out: dict[str, Any] = {
        "ts": req.timestamp_start,
        "src": src,
        "sport": sport,
        "dst": dst,
        "dport": dport,
        "method": req.method,
        "uri": uri,
        "version": req.http_version,
        "headers": _headers(req.headers.fields),
        "flow": number,
        "depth": depth,
        "body_length": len(req.raw_content or b""),
    }
    anomalies: list[str] = []
    if req.raw_content:
        coding = ", ".join(req.headers.get_all("content-encoding"))
        body, anomalies = body_of(req.raw_content, coding)
        out.update(body)
    out["source"] = "mitmproxy"
    if pseudo:
        # HTTP/2 and HTTP/3 carry the target in pseudo-headers, not in Host.
        out["authority"] = req.authority
        out["scheme"] = req.scheme
    client = flow.client_conn
    if client.tls_established:
        out["tls"] = {
            "sni": client.sni,
            "alpn": _text(client.alpn) if client.alpn else None,
            "version": client.tls_version,
        }
    resp = flow.response
    if resp is not None:
        out["response"] = {
            "ts": resp.timestamp_start,
            "version": resp.http_version,
            "status": resp.status_code,
            "reason": resp.reason,
            "headers": _headers(resp.headers.fields),
        }
    if flow.error is not None:
        anomalies.append(f"mitmproxy: {flow.error.msg}")
    if anomalies:
        out["anomalies"] = anomalies
    return out


class Output:
    """Where lines go: a file, a FIFO or a Unix socket; opened and reopened as needed."""

    def __init__(self, target: str) -> None:
        self.target = target
        self._fd: int | None = None
        self._sock: socket.socket | None = None
        self._said: str | None = None
        """The last error logged: a refusal is said once, not at every retry."""

    def open(self) -> bool:
        """Ready to write (True), or nobody to write to yet (False)."""
        if self._fd is not None or self._sock is not None:
            return True
        try:
            if self.target.startswith("unix:"):
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    sock.connect(self.target.removeprefix("unix:"))
                except OSError:
                    sock.close()
                    raise
                self._sock = sock
            else:
                # As headerwatch's own output files: 0600, and as root no planted link
                # followed, no other user's file written. A FIFO that nobody reads
                # fails at once (ENXIO) rather than stalling the writer.
                self._fd = private.create_private(self.target, append=True, wait=False)
        except OSError as exc:
            # Nobody to write to yet is no error: a socket whose follower has not
            # started (there is nothing at its path, or nobody listens), a FIFO that
            # nobody reads. A file that cannot be made (its directory missing) is.
            waiting = (
                (errno.ENOENT, errno.ECONNREFUSED)
                if self.target.startswith("unix:")
                else (errno.ENXIO,)
            )
            if exc.errno not in waiting:
                said = f"headerwatch: {self.target}: {exc.strerror or exc}"
                if said != self._said:
                    log.warning("%s", said)
                    self._said = said
            return False
        self._said = None
        return True

    def write(self, data: bytes) -> bool:
        """Write all of ``data``; False (and closed) when the reader went away."""
        try:
            if self._sock is not None:
                self._sock.sendall(data)
            elif self._fd is not None:
                view = memoryview(data)
                while view:
                    view = view[os.write(self._fd, view) :]
            else:
                return False
        except OSError:
            self.close()
            return False
        return True

    def close(self) -> None:
        """Close the descriptor or socket (it is opened again on the next write)."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


class Writer:
    """The bounded queue and the thread that empties it into an :class:`Output`."""

    def __init__(self, target: str, bound: int) -> None:
        self.output = Output(target)
        self.bound = bound
        self.queue: collections.deque[dict[str, Any]] = collections.deque()
        self.full = 0
        """Records dropped because the queue was full (counted by the proxy's thread)."""
        self.unread = 0
        """Records dropped because nobody was reading (counted by the writer thread):
        two counters, so that neither thread's ``+=`` can lose the other's."""
        self.written = 0
        self._reported = 0
        self._wake = threading.Condition()
        self._stop = False
        self.thread = threading.Thread(target=self._run, name="headerwatch-writer", daemon=True)
        self.thread.start()

    @property
    def dropped(self) -> int:
        """Records dropped: queue full, or nobody reading."""
        return self.full + self.unread

    def put(self, record: dict[str, Any]) -> None:
        """Queue a record; never blocks (a full queue drops it and counts it)."""
        if len(self.queue) >= self.bound:
            self.full += 1
            return
        self.queue.append(record)
        if len(self.queue) == 1:
            with self._wake:
                self._wake.notify()

    def _status(self, dropped: int) -> bytes:
        body = {
            "format": FORMAT,
            "ts": time.time(),
            "dropped": dropped,
            "written": self.written,
        }
        return json.dumps({"headerwatch_addon": body}).encode() + b"\n"

    def _run(self) -> None:
        output = self.output
        while True:
            with self._wake:
                while not self.queue and not self._stop:
                    self._wake.wait(1.0)
            if not self.queue and self._stop:
                return
            if not output.open():
                # Nobody reading: what waits is dropped (counted), so that a reader
                # arriving later sees the present, not a backlog of stale records.
                while self.queue:
                    self.queue.popleft()
                    self.unread += 1
                if self._stop:
                    return
                time.sleep(RETRY)
                continue
            batch: list[dict[str, Any]] = []
            while self.queue and len(batch) < 512:
                batch.append(self.queue.popleft())
            lines = b"".join(json.dumps(r, separators=(",", ":")).encode() + b"\n" for r in batch)
            dropped = self.dropped
            if dropped != self._reported:
                lines = self._status(dropped) + lines
            if output.write(lines):
                self.written += len(batch)
                self._reported = dropped
            else:
                self.unread += len(batch)

    def close(self, timeout: float = 2.0) -> None:
        """Write what is queued (within ``timeout``) and stop."""
        with self._wake:
            self._stop = True
            self._wake.notify()
        self.thread.join(timeout)
        dropped = self.dropped
        if not self.thread.is_alive() and dropped != self._reported and self.output.open():
            self.output.write(self._status(dropped))
        self.output.close()


class Headerwatch:
    """The add-on: one record per finished request (with its response or error)."""

    def __init__(self) -> None:
        self.writer: Writer | None = None
        self._conns: dict[str, tuple[int, int]] = {}
        self._count = 0

    def load(self, loader: Any) -> None:
        loader.add_option(
            "headerwatch_out",
            str,
            "",
            "Where headerwatch records go: a file, a FIFO, or unix:SOCKET "
            "(follow it with: headerwatch live --from PATH)",
        )
        loader.add_option(
            "headerwatch_queue",
            int,
            QUEUE,
            "Records waiting for the writer at most; more are dropped and counted",
        )

    def configure(self, updated: set[str]) -> None:
        if "headerwatch_out" in updated or "headerwatch_queue" in updated:
            if self.writer is not None:
                self.writer.close()
                self.writer = None
            out = ctx.options.headerwatch_out
            if out:
                self.writer = Writer(out, max(1, ctx.options.headerwatch_queue))
            else:
                log.warning(
                    "headerwatch: headerwatch_out is not set: no records are written "
                    "(--set headerwatch_out=FILE, FIFO or unix:SOCKET)"
                )

    def _number(self, flow: http.HTTPFlow) -> tuple[int, int]:
        # headerwatch's flow/depth: a number per client connection, and the
        # request's place on it.
        key = flow.client_conn.id
        number, depth = self._conns.get(key, (0, 0))
        if not number:
            self._count += 1
            number = self._count
            if len(self._conns) > 100_000:
                self._conns.pop(next(iter(self._conns)))
        self._conns[key] = (number, depth + 1)
        return number, depth + 1

    def _emit(self, flow: http.HTTPFlow) -> None:
        writer = self.writer
        if writer is None:
            return
        if len(writer.queue) >= writer.bound:
            writer.full += 1  # not even built: the cheapest way to drop
            return
        number, depth = self._number(flow)
        writer.put(record_of(flow, number, depth))

    def response(self, flow: http.HTTPFlow) -> None:
        self._emit(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        if flow.response is None and flow.request is not None:
            self._emit(flow)

    def client_disconnected(self, client: Any) -> None:
        self._conns.pop(client.id, None)

    def done(self) -> None:
        writer = self.writer
        if writer is not None:
            self.writer = None
            writer.close()
            if writer.dropped:
                log.warning(
                    "headerwatch: %d record%s dropped (nobody reading, reading too slowly, "
                    "or the output could not be opened)",
                    writer.dropped,
                    "" if writer.dropped == 1 else "s",
                )


addons = [Headerwatch()]
