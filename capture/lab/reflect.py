"""``headerwatch reflect``: an HTTP endpoint that answers with what it received.

Run it on a server the phone (or the tethered laptop) can reach over plain HTTP.
Every request is answered ``200`` with the request as the server received it:
the header block in :data:`capture.http.echo.ECHO_HEADER` (what ``probe`` and the
dashboard compare with what was sent), and the JSONL record of the request,
findings included, as the body (for people with curl or a browser). Each
request is also handed to ``on_record``: the server-side vantage point, where
requests arrive already enriched by the carrier.

Heads are read with the same parser as captures (:mod:`capture.http.http1`), so the
echo keeps wire order, original case, duplicates and undecodable bytes.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from capture.formats.jsonl import dumps_bytes
from capture.http.echo import ECHO_HEADER, encode_echo
from capture.http.http1 import (
    MAX_HEAD,
    MalformedHead,
    find_head_end,
    header_tokens,
    parse_chunk_size,
    parse_request_head,
    request_framing,
    skip_empty_lines,
)
from capture.model import Record, Request
from capture.pipeline import Detector

IDLE_TIMEOUT = 30.0
"""Seconds a keep-alive connection may stay silent."""
MAX_BODY = 16 << 20
"""Request bodies beyond this end the connection (they are read and dropped below it)."""
BODY_KEPT = 4096
"""Body bytes kept on the record (form bodies can carry identities)."""


class ReflectError(Exception):
    """The reflector cannot start; ``str()`` is one line for the user."""


@dataclass
class Reflector:
    """The echo server's request handling, independent of sockets and loops."""

    detector: Detector | None = None
    on_record: Callable[[Record], None] | None = None
    requests: int = 0
    connections: int = 0

    def record(self, request: Request) -> Record:
        """Number a received request and run the detector on it."""
        self.requests += 1
        findings = self.detector.detect(request) if self.detector is not None else ()
        record = Record(self.requests, request, findings)
        if self.on_record is not None:
            self.on_record(record)
        return record

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one connection: requests in order until close, error or idle timeout."""
        self.connections += 1
        connection = self.connections  # the record's "flow": connections in arrival order
        depth = 0
        peer = writer.get_extra_info("peername") or ("", 0)
        local = writer.get_extra_info("sockname") or ("", 0)
        buf = bytearray()
        try:
            while True:
                ts = time.time()
                while True:
                    # RFC 9112 §2.2: empty lines before a request line are ignored.
                    del buf[: skip_empty_lines(buf)]
                    head_end = find_head_end(buf) if buf else -1
                    if head_end >= 0:
                        break
                    if len(buf) > MAX_HEAD:
                        await _reply(writer, 431, b"header block too large\n", close=True)
                        return
                    chunk = await _more(reader)
                    if not chunk:
                        return
                    if not buf:
                        ts = time.time()
                    buf += chunk
                block = bytes(buf[:head_end])
                del buf[:head_end]
                try:
                    head = parse_request_head(block)
                except MalformedHead as exc:
                    await _reply(writer, 400, f"not an HTTP request: {exc}\n".encode(), close=True)
                    return
                body, buf = await _read_body(reader, buf, head.headers)
                if body is None:
                    await _reply(writer, 413, b"body too large or framing broken\n", close=True)
                    return
                depth += 1
                request = Request(
                    ts,
                    connection,
                    depth,
                    str(peer[0]),
                    int(peer[1]),
                    str(local[0]),
                    int(local[1]),
                    head.method,
                    head.uri,
                    head.version,
                    head.headers,
                    body[:BODY_KEPT],
                    len(body),
                    head.anomalies,
                )
                record = self.record(request)
                close = _wants_close(head.version, head.headers) or head.method == "CONNECT"
                payload = b"" if head.method == "HEAD" else dumps_bytes(record) + b"\n"
                extra = ((ECHO_HEADER, encode_echo(head.headers)),)
                await _reply(writer, 200, payload, close=close, extra=extra)
                if close:
                    return
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()


async def _more(reader: asyncio.StreamReader) -> bytes:
    """What the client sends next (b"" at its end); TimeoutError if it goes quiet."""
    return await asyncio.wait_for(reader.read(65536), IDLE_TIMEOUT)


def _wants_close(version: str | None, headers: tuple[tuple[str, str], ...]) -> bool:
    tokens = header_tokens(headers, "connection")
    if version == "HTTP/1.1":
        return "close" in tokens
    return "keep-alive" not in tokens


async def _read_body(
    reader: asyncio.StreamReader, buf: bytearray, headers: tuple[tuple[str, str], ...]
) -> tuple[bytes | None, bytearray]:
    """The request body (by Content-Length or chunked) and what follows it."""
    framing = request_framing(headers)
    if framing.kind == "length":
        if framing.length > MAX_BODY:
            return None, buf
        while len(buf) < framing.length:
            chunk = await _more(reader)
            if not chunk:
                raise asyncio.IncompleteReadError(bytes(buf), framing.length)
            buf += chunk
        return bytes(buf[: framing.length]), buf[framing.length :]
    if framing.kind == "chunked":
        body = bytearray()
        while True:
            while b"\n" not in buf:
                chunk = await _more(reader)
                if not chunk or len(buf) > 4096:
                    return None, buf
                buf += chunk
            line, _, rest = bytes(buf).partition(b"\n")
            buf = bytearray(rest)
            try:
                size = parse_chunk_size(line)
            except MalformedHead:
                return None, buf
            if size == 0:
                # Trailer section, up to its empty line.
                while find_head_end(b"\r\n" + buf) < 0:
                    chunk = await _more(reader)
                    if not chunk or len(buf) > MAX_HEAD:
                        return None, buf
                    buf += chunk
                end = find_head_end(b"\r\n" + buf) - 2
                return bytes(body), buf[end:]
            if len(body) + size > MAX_BODY:
                return None, buf
            while len(buf) < size + 2:
                chunk = await _more(reader)
                if not chunk:
                    return None, buf
                buf += chunk
            body += buf[:size]
            buf = buf[size:].removeprefix(b"\r\n").removeprefix(b"\n")
    return b"", buf


_REASONS = {200: "OK", 400: "Bad Request", 413: "Content Too Large", 431: "Header Too Large"}


async def _reply(
    writer: asyncio.StreamWriter,
    status: int,
    body: bytes,
    close: bool,
    extra: tuple[tuple[str, str], ...] = (),
) -> None:
    content_type = "application/json" if status == 200 else "text/plain; charset=utf-8"
    lines = [
        f"HTTP/1.1 {status} {_REASONS[status]}",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
        # Caches and "optimising" proxies must pass the echo through untouched.
        "Cache-Control: no-store, no-transform",
        f"Connection: {'close' if close else 'keep-alive'}",
        *(f"{n}: {v}" for n, v in extra),
    ]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
    await writer.drain()


async def serve(
    reflector: Reflector,
    host: str,
    port: int,
    ready: Callable[[list[tuple[str, int]]], None] | None = None,
) -> None:
    """Serve until cancelled; ``ready`` gets the bound addresses once listening."""
    try:
        server = await asyncio.start_server(
            reflector.handle, host or None, port, reuse_address=True
        )
    except PermissionError:
        raise ReflectError(
            f"port {port}: permission denied (ports below 1024 need root or "
            "CAP_NET_BIND_SERVICE; try --port 8080)"
        ) from None
    except OSError as exc:
        why = os.strerror(exc.errno).lower() if exc.errno else str(exc)
        raise ReflectError(f"cannot listen on {host or '*'}:{port}: {why}") from None
    addresses = [
        s.getsockname()[:2] for s in server.sockets if s.family in (socket.AF_INET, socket.AF_INET6)
    ]
    if ready is not None:
        ready(addresses)
    async with server:
        await server.serve_forever()
