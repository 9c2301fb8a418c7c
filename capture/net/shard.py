"""Which process of a split scan reads which TCP connection.

A large capture is scanned by several processes at once (see
:mod:`capture.scan_jobs`): each reads the whole file but parses the HTTP of only
its share of the connections, chosen by a hash of the connection's two
endpoints, the same whichever way a segment travels.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

_PAIR4 = struct.Struct("!4sH4sH").pack  # two IPv4 endpoints, address then port


@dataclass(frozen=True, slots=True)
class Shard:
    """Process ``index`` of ``count``."""

    index: int
    count: int

    def owns(self, key: tuple[bytes, int, bytes, int]) -> bool:
        """Whether the connection with ``key`` (src, sport, dst, dport) is this shard's."""
        src, sport, dst, dport = key
        if len(src) == 4 == len(dst):
            # What _owns computes, in one packing (reassembly asks once or more per
            # connection): for addresses of one length, the tuples order as the bytes.
            if (src, sport) < (dst, dport):
                raw = _PAIR4(src, sport, dst, dport)
            else:
                raw = _PAIR4(dst, dport, src, sport)
            return zlib.crc32(raw) % self.count == self.index
        return self._owns(src + sport.to_bytes(2, "big"), dst + dport.to_bytes(2, "big"))

    def owns_raw(self, raw: bytes) -> bool:
        """:meth:`owns`, for addresses and ports as they follow each other in the
        headers: src, dst, sport, dport (12 bytes for IPv4, 36 for IPv6)."""
        n = (len(raw) - 4) >> 1
        return self._owns(raw[:n] + raw[2 * n : 2 * n + 2], raw[n : 2 * n] + raw[2 * n + 2 :])

    def _owns(self, a: bytes, b: bytes) -> bool:
        # capture/sources/_pcapwalk.c computes the same for the frames it passes over.
        return zlib.crc32(a + b if a < b else b + a) % self.count == self.index

    @property
    def counts_flowless(self) -> bool:
        """Whether this shard counts what belongs to no connection (frames that are
        not TCP): exactly one shard does, so counters can be summed."""
        return self.index == 0
