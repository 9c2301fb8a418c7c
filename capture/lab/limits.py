"""The reflector's limits: what one client, and all of them, can make it hold.

Apart from :mod:`capture.lab.reflect` so the command line can show the defaults
without loading asyncio.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from capture.http.http1 import MAX_HEAD

_MIB = 1 << 20


@dataclass(frozen=True, slots=True)
class Limits:
    """What one client, and all of them together, can make the reflector hold.

    Defaults suit a small internet-facing VPS, after nginx's (``worker_connections``
    512, ``client_header_timeout``/``client_body_timeout`` 60 s,
    ``large_client_header_buffers`` 4 × 8k, ``client_max_body_size`` 1m,
    ``keepalive_timeout`` 75 s) and h2o's (``http1-request-timeout`` 10 s), tightened
    where a deadline replaces an idle timer: a head is a few hundred bytes, so ten
    seconds for the whole of it is generous even on a bad mobile link.
    """

    max_connections: int = 512
    """Open client connections in total; beyond it the oldest connection still
    waiting for a request head is closed to make room, or the new one gets 503."""
    max_per_client: int = 64
    """Open connections per client address (a carrier's NAT puts many phones behind
    one address, so this is not 2 or 6); beyond it, 503."""
    head_timeout: float = 10.0
    """Seconds from a request's first byte (or the accept) to the end of its head: 408."""
    body_timeout: float = 30.0
    """Seconds from the end of a head to the end of its body: 408."""
    idle_timeout: float = 15.0
    """Seconds a keep-alive connection may wait for its next request (closed silently)."""
    send_timeout: float = 30.0
    """Seconds a client may leave its answers unread (pipelining, never reading)."""
    max_head: int = 32 * 1024
    """Largest request head in bytes (at most :data:`capture.http.http1.MAX_HEAD`): 431."""
    max_body: int = 1 * _MIB
    """Largest request body in bytes (read and discarded, not buffered): 413."""
    memory_budget: int = 64 * _MIB
    """Bytes buffered across all connections (heads in progress, unparsed input):
    the connection that would go beyond it gets 503."""

    def __post_init__(self) -> None:
        for f in fields(self):
            # NaN and infinity too: a deadline of NaN fires at once (every slow head
            # gets 408), one of infinity never does (a slowloris client holds on).
            if not 0 < getattr(self, f.name) < math.inf:
                raise ValueError(f"{f.name.replace('_', '-')} must be a finite number above 0")
        if self.max_head > MAX_HEAD:
            raise ValueError(f"max-head must be at most {MAX_HEAD} (what probe reads)")
