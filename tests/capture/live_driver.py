"""Runs a :class:`~capture.sources.live.source.LiveSource` inside a network namespace for the tests.

``python -m tests.capture.live_driver MODE SEND_IF CAPTURE_IF N READER`` (with
``ip netns exec``; SEND_IF and CAPTURE_IF are the two ends of one veth pair;
READER is ``ring``, the TPACKET_V3 ring, or ``socket``, one recvmsg per frame).
Frames are injected on SEND_IF with a raw packet socket, so the test knows
exactly how many were sent; the result is one JSON line on stdout.

Modes:

- ``kernel``: the smallest ring (or a tiny socket buffer) and nobody reading
  while N frames arrive; then capture. ``captured + kernel_drops`` must equal N.
- ``queue``: the capture thread runs but nobody consumes a 10-frame queue while
  N frames arrive; then consume. ``captured`` is N, ``queue_drops`` N - 10.
- ``exact``: N frames (two of them VLAN-tagged), no filter: the bytes captured
  must be the bytes sent.
- ``stop``: N frames wait in the socket buffer when the stop comes, before the
  capture thread read anything: every one must still come out.
- ``info``: the socket buffer the kernel granted.
"""

from __future__ import annotations

import json
import socket
import sys
import time
from typing import Any

from capture.sources.frames import Frame
from capture.sources.live import packet_socket
from capture.sources.live.source import LiveSource
from tests.packets.craft import tcp_frame


def _frames(n: int, vlan_every: int = 0) -> list[bytes]:
    out = []
    for i in range(n):
        vlan = 42 if vlan_every and i % vlan_every == 1 else None
        payload = f"GET /{i} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
        port = 1024 + i % 60000
        out.append(tcp_frame("10.9.0.1", port, "10.9.0.2", 80, 1, 1, 0x18, payload, vlan))
    return out


def _inject(iface: str, frames: list[bytes]) -> None:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((iface, 0))
    for frame in frames:
        sock.send(frame)
    sock.close()


def _take(source: LiveSource, want: int, quiet: float = 0.5) -> list[Frame]:
    """Frames from ``source`` until ``want`` arrived or none came for ``quiet`` seconds."""
    got: list[Frame] = []
    last = time.monotonic()
    for frame in source.frames():
        if frame is not None:
            got.append(frame)
            last = time.monotonic()
        if len(got) >= want or time.monotonic() - last > quiet:
            source.stop()
    return got


def main(argv: list[str]) -> dict[str, Any]:
    """Run one mode; the result as a dict."""
    mode, send_if, capture_if, count, reader = argv[:5]
    n = int(count)
    ring = packet_socket.DEFAULT_RING if reader == "ring" else 0

    def make(**kw: Any) -> LiveSource:
        kw.setdefault("ring", ring)
        return LiveSource(capture_if, **kw)

    if mode == "info":
        source = make()
        source.open()
        source.stop()
        return {"rcvbuf_bytes": source.rcvbuf_bytes, "ring_bytes": source.ring_bytes}
    if mode == "kernel":
        source = make(ring=packet_socket.MIN_RING) if ring else make(rcvbuf=4096)
        source.open()  # socket open, nobody reading yet
        sent = _frames(n)
        _inject(send_if, sent)
        time.sleep(0.2)
        got = _take(source, n)
    elif mode == "queue":
        source = make(max_queue_frames=10)
        source.start()  # the capture thread runs; nobody consumes
        sent = _frames(n)
        _inject(send_if, sent)
        time.sleep(0.5)
        got = _take(source, n)
    elif mode == "stop":
        source = make()
        source.open()
        sent = _frames(n)
        _inject(send_if, sent)
        # The stop lands before the capture thread read anything (or any statistics).
        source._stop.set()
        got = [f for f in source.frames() if f is not None]
    elif mode == "exact":
        source = make(bpf="")
        source.start()
        sent = _frames(n, vlan_every=5)
        _inject(send_if, sent)
        got = _take(source, n)
        # Neighbour discovery and the like may pass an empty filter: keep ours.
        got = [f for f in got if f.data in set(sent)] + [f for f in got if f.data not in set(sent)]
    else:
        raise SystemExit(f"unknown mode {mode}")
    source.join(5.0)
    counters = source.counters()
    return {
        "sent": len(sent),
        "delivered": len(got),
        "same_bytes": [f.data for f in got[: len(sent)]] == sent,
        "linktypes": sorted({f.linktype for f in got}),
        "ts_sane": all(abs(f.ts - time.time()) < 60 for f in got),
        **counters,
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])), flush=True)
