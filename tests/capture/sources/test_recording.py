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


class _FlushFails:
    """A writer whose disk fills at its third flush: the frames written since its
    second are lost, the file ending after the last complete flush."""

    def __init__(self) -> None:
        self.flushed_packets = 0
        self.pending = 0
        self.flushes = 0

    def write(self, frame: Frame, comments: Sequence[str] = ()) -> None:
        self.pending += 1

    def flush(self) -> None:
        self.flushes += 1
        if self.flushes == 3:
            raise CaptureWriteError("x.pcapng: disk full", errno.ENOSPC, "disk full")
        self.flushed_packets += self.pending
        self.pending = 0

    def close(self) -> None:
        pass


def test_a_failed_flush_says_from_which_capture_time_frames_are_not_in_the_file() -> None:
    """What a save from the recording lacks, and what a signal must keep apart, are
    the requests from the first frame the failed flush lost, not from the failure."""
    clock = _Clock()
    writer = _FlushFails()

    def frames() -> Iterator[Frame | None]:
        for i in range(9):
            yield _frame(i)
            if i % 3 == 2:  # a flush after every three frames: the third one fails
                clock.now += FLUSH_INTERVAL
                yield None

    source = _Source([])
    source.frames = frames  # type: ignore[method-assign]
    rec = RecordingSource(source, writer, "x.pcapng", clock=clock)
    assert rec.sync().stopped_at is None
    list(rec.frames())
    synced = rec.sync()
    assert synced.frames == 3 and synced.reason == "disk full" and synced.full_at is None
    # Frames 0-2 were in the file after the first flush on the clock; 3-5 were lost
    # with the one that failed, 6-8 came after it.
    assert synced.failed_at == _frame(3).ts == synced.stopped_at
    assert rec.counters()["unwritten"] == 6


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
