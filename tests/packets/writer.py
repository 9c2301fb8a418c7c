"""Writing frames to classic pcap files (tests, benchmarks, the demo capture)."""

from __future__ import annotations

from collections.abc import Iterable

from scapy.utils import RawPcapWriter


def write_pcap(path: str, frames: Iterable[tuple[float, bytes]], linktype: int = 1) -> int:
    """Write ``(ts, frame)`` pairs to ``path``; return how many were written."""
    writer = RawPcapWriter(path, linktype=linktype, sync=False)
    count = 0
    try:
        writer.write_header(None)
        for ts, frame in frames:
            sec = int(ts)
            writer.write_packet(frame, sec=sec, usec=round((ts - sec) * 1e6))
            count += 1
    finally:
        writer.close()
    return count
