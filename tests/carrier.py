"""A carrier's header-enrichment proxy, for tests: O2's 2012 proxy in thirty lines.

Listens on loopback, adds headers to every request head it forwards to the
upstream server (after the request line, as enrichment proxies do), optionally
strips or re-cases the request's own, and relays the answer back untouched.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from capture.lab.reflect import Reflector, serve


def _canonical(name: bytes) -> bytes:
    """``name`` as a normalising proxy spells it: each word capitalised."""
    return b"-".join(word.capitalize() for word in name.split(b"-"))


def _rewrite(lines: list[bytes], strip: frozenset[bytes], recase: bool) -> bytes:
    """Header ``lines`` without the ``strip`` names (lower case), their names re-cased
    if ``recase``, each ending in CRLF."""
    out = b""
    for line in lines:
        name, sep, value = line.partition(b":")
        if name.strip().lower() in strip:
            continue
        out += (_canonical(name) if recase else name) + sep + value + b"\r\n"
    return out


def _relay(
    client: socket.socket,
    upstream: tuple[str, int],
    add: bytes,
    strip: frozenset[bytes],
    recase: bool,
) -> None:
    with client, socket.create_connection(upstream, timeout=5) as server:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(65536)
            if not chunk:
                return
            head += chunk
        top, _, body = head.partition(b"\r\n\r\n")
        line, _, block = top.partition(b"\r\n")
        kept = _rewrite(block.split(b"\r\n") if block else [], strip, recase)
        server.sendall(line + b"\r\n" + add + kept + b"\r\n" + body)
        while chunk := server.recv(65536):
            client.sendall(chunk)


@contextmanager
def enrichment_proxy(
    upstream: tuple[str, int],
    headers: dict[str, str],
    strip: Iterable[str] = (),
    recase: bool = False,
) -> Iterator[int]:
    """Run the proxy; yields its port. Connections are handled one at a time.

    It adds ``headers``, removes the request headers named in ``strip`` and, with
    ``recase``, spells every name the way a normalising proxy does (``User-Agent``)."""
    add = "".join(f"{n}: {v}\r\n" for n, v in headers.items()).encode()
    gone = frozenset(name.lower().encode() for name in strip)
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def loop() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            _relay(client, upstream, add, gone, recase)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        listener.close()


@contextmanager
def running_reflector(reflector: Reflector | None = None, bind: str = "127.0.0.1") -> Iterator[int]:
    """``headerwatch reflect`` in a background thread on a free loopback port (of
    ``bind``, an address of 127.0.0.0/8)."""
    refl = reflector if reflector is not None else Reflector()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    ports: list[int] = []

    def started(addresses: list[tuple[str, int]]) -> None:
        ports.append(addresses[0][1])
        ready.set()

    task = loop.create_task(serve(refl, bind, 0, started))

    def run() -> None:
        try:
            loop.run_until_complete(task)
        except asyncio.CancelledError:
            pass
        finally:
            # Let the cancelled connections' handlers finish closing their sockets.
            loop.run_until_complete(asyncio.sleep(0))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(5), "reflector did not start"
    try:
        yield ports[0]
    finally:
        loop.call_soon_threadsafe(task.cancel)
        thread.join(5)
        loop.close()
