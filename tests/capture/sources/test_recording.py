"""``live -w``: frames recorded as they pass, flushed often, and a full disk survived."""

from __future__ import annotations

import errno
from collections.abc import Iterator, Sequence
from pathlib import Path

from capture.formats.pcapng import CaptureWriteError, PcapngWriter
from capture.sources.frames import CaptureFile, Frame
from capture.sources.recording import FLUSH_INTERVAL, RecordingSource


class _Source:
    name = "fake0"

    def __init__(self, items: list[Frame | None]) -> None:
        self.items = items
        self.stopped = False

    def frames(self) -> Iterator[Frame | None]:
        yield from self.items

    def stop(self) -> None:
        self.stopped = True

    def current_time(self) -> float | None:
        return None

    def counters(self) -> dict[str, int]:
        return {"captured": len([f for f in self.items if f is not None])}


class _Writer:
    def __init__(self, fail_on_write: int | None = None) -> None:
        self.frames: list[Frame] = []
        self.flushes = 0
        self.closed = False
        self.fail_on_write = fail_on_write

    def write(self, frame: Frame, comments: Sequence[str] = ()) -> None:
        if self.fail_on_write is not None and len(self.frames) == self.fail_on_write:
            raise CaptureWriteError(
                "x.pcapng: disk full; 2 packets written before are kept", errno.ENOSPC
            )
        self.frames.append(frame)

    def flush(self) -> None:
        self.flushes += 1

    def close(self) -> None:
        self.closed = True


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _frame(i: int) -> Frame:
    return Frame(1000.0 + i, 1, bytes([i]) * 60)


def test_frames_pass_through_unchanged_and_are_written_in_order() -> None:
    items: list[Frame | None] = [_frame(0), None, _frame(1), _frame(2)]
    writer = _Writer()
    rec = RecordingSource(_Source(items), writer, "x.pcapng")
    assert list(rec.frames()) == items
    assert writer.frames == [f for f in items if f is not None]
    assert writer.closed
    assert rec.counters() == {"captured": 3, "recorded": 3}


def test_flushed_at_least_every_interval_even_when_idle() -> None:
    clock = _Clock()
    writer = _Writer()

    def frames() -> Iterator[Frame | None]:
        yield _frame(0)
        for _ in range(10):  # heartbeats only: nothing new, but time passes
            clock.now += FLUSH_INTERVAL / 2
            yield None

    source = _Source([])
    source.frames = frames  # type: ignore[method-assign]
    rec = RecordingSource(source, writer, "x.pcapng", clock=clock)
    it = rec.frames()
    next(it)
    assert writer.flushes == 0
    for _ in range(3):
        next(it)
    assert writer.flushes >= 1
    assert rec.recorded == 1


def test_a_full_disk_is_one_line_and_capture_goes_on() -> None:
    said: list[tuple[str, str]] = []
    writer = _Writer(fail_on_write=2)
    items: list[Frame | None] = [_frame(i) for i in range(6)]
    rec = RecordingSource(
        _Source(items), writer, "x.pcapng", notify=lambda level, text: said.append((level, text))
    )
    assert list(rec.frames()) == items  # every frame still goes to the screen
    assert said == [
        (
            "error",
            "x.pcapng: disk full; 2 packets written before are kept; "
            "recording stopped, capture goes on",
        )
    ]
    assert len(writer.frames) == 2 and writer.closed


def test_real_pcapng_reopens_with_the_same_frames(tmp_path: Path) -> None:
    path = str(tmp_path / "rec.pcapng")
    items: list[Frame | None] = [
        Frame(1700000000.123456789 + i, 1, bytes(range(60))) for i in range(5)
    ]
    rec = RecordingSource(_Source(items), PcapngWriter(path), path)
    list(rec.frames())
    again = list(CaptureFile(path))
    assert [(f.ts, f.linktype, f.data) for f in again] == [
        (f.ts, f.linktype, f.data) for f in items if f is not None
    ]
