"""Which process of a split scan reads which TCP connection.

A large capture is scanned by several processes at once (see
:mod:`capture.scan_jobs`): each reads the whole file but parses the HTTP of only
its share of the connections, chosen by a hash of the connection's two
endpoints, the same whichever way a segment travels.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Shard:
    """Process ``index`` of ``count``."""

    index: int
    count: int

    def owns(self, key: tuple[bytes, int, bytes, int]) -> bool:
        """Whether the connection with ``key`` (src, sport, dst, dport) is this shard's."""
        src, sport, dst, dport = key
        a = src + sport.to_bytes(2, "big")
        b = dst + dport.to_bytes(2, "big")
        return zlib.crc32(a + b if a < b else b + a) % self.count == self.index

    @property
    def counts_flowless(self) -> bool:
        """Whether this shard counts what belongs to no connection (frames that are
        not TCP): exactly one shard does, so counters can be summed."""
        return self.index == 0
