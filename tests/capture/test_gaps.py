"""Capture gaps by side (capture/gaps.py): counted by the HTTP layer, worded once."""

from __future__ import annotations

from pathlib import Path

from capture.gaps import sides, summary
from capture.pipeline import Pipeline
from capture.sources.frames import CaptureFile
from tests.helpers import conversation, gapped_capture, save


def _counters(path: str, responses: bool) -> dict[str, int]:
    pipeline = Pipeline(responses=responses)
    capture = CaptureFile(path)
    try:
        for _ in pipeline.run_capture(capture):
            pass
    finally:
        capture.close()
    for _ in pipeline.flush():
        pass
    return pipeline.counters()


def test_each_side_s_gaps_are_counted_and_requests_only_count_none_of_the_servers(
    tmp_path: Path,
) -> None:
    path = gapped_capture(tmp_path)
    every = _counters(path, responses=True)
    assert sides(every) == ((1, 20), (2, 2000), (0, 0))
    assert every["gap_requests"] == 1
    # The servers' bytes past the first head are not read: the client side is the same.
    assert sides(_counters(path, responses=False)) == ((1, 20), (0, 0), (0, 0))


def test_a_gap_before_either_side_is_known_is_counted_apart_and_named(tmp_path: Path) -> None:
    # Caught mid-body, no handshake: nothing says which side is the client.
    conv = conversation(mss=10)
    first, _lost, *rest = conv.send(False, b"b" * 30)
    path = save(tmp_path, [first, *rest, *conv.ack(True)])
    counters = _counters(path, responses=True)
    assert sides(counters) == ((0, 0), (0, 0), (1, 10))
    assert summary(counters, True).endswith(", 1 before the client was known (10 bytes missing)")


def _gaps(client: int, client_bytes: int, server: int, server_bytes: int) -> dict[str, int]:
    """Counters of gaps whose side is known (1,100 requests hit when a client side is)."""
    return {
        "gaps": client + server,
        "gap_bytes": client_bytes + server_bytes,
        "client_gaps": client,
        "client_gap_bytes": client_bytes,
        "server_gaps": server,
        "server_gap_bytes": server_bytes,
        "gap_requests": 1_100 if client else 0,
    }


def test_the_summary_names_both_sides_and_says_when_the_servers_were_not_read() -> None:
    none = _gaps(0, 0, 0, 0)
    assert summary(none, True) == "capture gaps: 0 client side, 0 server side"
    assert summary(none, False) == (
        "capture gaps: 0 client side, server side not counted (read only for reflectors' echoes)"
    )
    many = _gaps(1_200, 3_000, 1, 1)
    assert summary(many, True) == (
        "capture gaps: 1,200 client side (3,000 bytes missing, 1,100 requests touched), "
        "1 server side (1 byte missing)"
    )
    assert summary(many, False).endswith(
        "server side not counted (read only for reflectors' echoes: 1 gap there, 1 byte missing)"
    )
