"""Recording a source's raw frames to a file as they go by (``live -w FILE.pcapng``).

:class:`RecordingSource` wraps any :class:`~capture.sources.source.FrameSource`: each frame
is written before it is handed on, and the file is flushed at least every
:data:`FLUSH_INTERVAL` seconds (heartbeats included), so a crash loses at most
the last half second. When the disk fills up (or any write fails) the user gets one
line and capture goes on without recording; the writer
(:class:`~capture.formats.pcapng.PcapngWriter`) cuts the file back to its last complete
flush, so everything flushed before stays readable.

A recording may have a size ``limit`` (the dashboard's private spool, see
:mod:`capture.sources.spool`): the first frame that would take the file past it
stops the recording (the file keeps everything before, and is never larger than
the limit), ``full_notice(ts)`` tells the user, and capture goes on; frames not
recorded from then on are counted (``unrecorded``).

The writer is used from the capture thread; :meth:`RecordingSource.sync` (from
any thread, e.g. a dashboard saving a session) flushes it under the same lock,
so that every frame handed on so far is in the file when it returns.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from capture.formats.pcapng import CaptureWriteError, describe_os_error
from capture.model import Parsed
from capture.sources.frames import Frame
from capture.sources.source import FrameSource, Notify
from capture.text import counted

FLUSH_INTERVAL = 0.5
"""Longest time a recorded frame stays in memory (seconds)."""

FRAME_OVERHEAD = 128
"""Bytes a pcapng file may grow by beyond a frame's data (its block, and an interface
block before it): a frame is recorded under a limit only if data plus this fits."""


@dataclass(frozen=True, slots=True)
class Recorded:
    """What a recording's file holds, as :meth:`RecordingSource.sync` left it."""

    path: str
    frames: int
    """Frames in the file."""
    full_at: float | None
    """Capture time of the first frame left out because the size limit was reached."""
    limit: int | None
    failed: str | None
    """Why recording stopped on an error (disk full…), if it did."""
    failed_at: float | None = None
    """Capture time of the first frame the file lacks since an error stopped recording
    (one written but lost with the flush that failed, or the first after it)."""
    reason: str | None = None
    """That error in a few words (``disk full``)."""

    @property
    def stopped_at(self) -> float | None:
        """Capture time from which frames are not in the file (its limit reached, or an
        error), or None: the file holds every frame."""
        return self.full_at if self.full_at is not None else self.failed_at


class FrameWriter(Protocol):
    """What is needed of a capture writer (``capture.formats.pcapng.PcapngWriter``)."""

    def write(self, frame: Frame, comments: Sequence[str] = ()) -> None:
        """Append one frame."""

    def flush(self) -> None:
        """Push everything written so far to the file.

        On failure it raises (OSError or :class:`~capture.formats.pcapng.CaptureWriteError`)
        and leaves the file ending after the last complete flush.
        """

    def close(self) -> None:
        """Flush and close."""


class RecordingSource:
    """Frames of ``source``, each written to ``writer`` before it is yielded."""

    def __init__(
        self,
        source: FrameSource,
        writer: FrameWriter,
        path: str,
        notify: Notify | None = None,
        clock: Callable[[], float] = time.monotonic,
        limit: int | None = None,
        full_notice: Callable[[float], str] | None = None,
    ) -> None:
        self.source = source
        self.name = source.name
        self.writer: FrameWriter | None = writer
        self.path = path
        self.notify = notify
        self.clock = clock
        self.recorded = 0
        """Frames written and flushed to the file."""
        self.failed: str | None = None
        """Why recording stopped, if it did."""
        self.reason: str | None = None
        """What stopped it, in a few words (``disk full``), if a write error did."""
        self.limit = limit
        """Largest size of the file in bytes (None: no limit)."""
        self.full_notice = full_notice
        self.full_at: float | None = None
        """Capture time of the first frame that did not fit under :attr:`limit`."""
        self.unrecorded = 0
        """Frames not recorded since the limit was reached."""
        self.unwritten = 0
        """Frames not in the file since a write error stopped recording: those after it,
        and those written but lost with the flush that failed."""
        self.failed_at: float | None = None
        """Capture time of the first frame not in the file since a write error."""
        self._written = 0
        # The capture times of the frames written since the last flush that held
        # (the first of them is frame number _flushed): a failed flush loses the
        # frames past the writer's last complete flush, whose time is then known.
        self._flushed = 0
        self._unflushed: list[float] = []
        self._lock = threading.RLock()

    def frames(self) -> Iterator[Frame | Parsed | None]:
        """The frames of the wrapped source, recorded on the way (a request that
        arrived parsed has no frame to record)."""
        clock = self.clock
        next_flush = clock() + FLUSH_INTERVAL
        try:
            for frame in self.source.frames():
                with self._lock:
                    writer = self.writer
                    if writer is not None:
                        if frame is not None and not isinstance(frame, Parsed):
                            if self._fits(writer, frame):
                                try:
                                    self._unflushed.append(frame.ts)
                                    writer.write(frame)
                                    self._written += 1
                                except (OSError, CaptureWriteError) as exc:
                                    self._fail(exc)
                                    self.unwritten += 1  # this frame
                            else:
                                self._full(frame)
                        now = clock()
                        if now >= next_flush:
                            next_flush = now + FLUSH_INTERVAL
                            self._flush()
                    elif self.full_at is not None and isinstance(frame, Frame):
                        self.unrecorded += 1
                    elif self.failed is not None and isinstance(frame, Frame):
                        self.unwritten += 1
                        if self.failed_at is None:
                            self.failed_at = frame.ts
                yield frame
        finally:
            self.close()

    def _fits(self, writer: FrameWriter, frame: Frame) -> bool:
        if self.limit is None:
            return True
        size = getattr(writer, "size", 0)
        extra = sum(len(c) + 8 for c in frame.comments)
        return size + len(frame.data) + extra + FRAME_OVERHEAD <= self.limit

    def _full(self, frame: Frame) -> None:
        """The limit is reached: keep the file as it is, stop recording, say so."""
        self.full_at = frame.ts
        self.unrecorded += 1
        self._close()
        if self.notify is not None and self.full_notice is not None:
            self.notify("warning", self.full_notice(frame.ts))

    def sync(self) -> Recorded:
        """Flush what was recorded so far (callable from any thread); what the file holds."""
        with self._lock:
            self._flush()
            return Recorded(
                self.path,
                self.recorded,
                self.full_at,
                self.limit,
                self.failed,
                self.failed_at,
                self.reason,
            )

    def _flush(self) -> None:
        writer = self.writer
        if writer is None:
            return
        try:
            writer.flush()
        except (OSError, CaptureWriteError) as exc:
            self._fail(exc)
            return
        self._held()

    def _held(self) -> None:
        """Every frame written so far is in the file."""
        self.recorded = self._flushed = self._written
        self._unflushed.clear()

    def _fail(self, exc: OSError | CaptureWriteError) -> None:
        writer, self.writer = self.writer, None
        if writer is not None:
            self.recorded = int(getattr(writer, "flushed_packets", self.recorded))
            self.unwritten += max(0, self._written - self.recorded)  # lost with the flush
            lost = self.recorded - self._flushed
            if 0 <= lost < len(self._unflushed):
                self.failed_at = self._unflushed[lost]
            self._unflushed.clear()
            with contextlib.suppress(OSError, CaptureWriteError, ValueError):
                writer.close()
        if isinstance(exc, CaptureWriteError):
            what, self.reason = str(exc), exc.reason
        else:
            self.reason = describe_os_error(exc)
            kept = counted(self.recorded, "frame")
            what = f"{self.path}: {self.reason}; {kept} written before are kept"
        self.failed = f"{what}; recording stopped, capture goes on"
        if self.notify is not None:
            self.notify("error", self.failed)

    def close(self) -> None:
        """Flush and close the file (idempotent)."""
        with self._lock:
            self._close()

    def _close(self) -> None:
        writer = self.writer
        if writer is None:
            return
        try:
            writer.flush()
            self._held()
            writer.close()
        except (OSError, CaptureWriteError) as exc:
            self._fail(exc)
            return
        self.writer = None

    def stop(self) -> None:
        """Stop the wrapped source."""
        self.source.stop()

    def current_time(self) -> float | None:
        """The wrapped source's."""
        return self.source.current_time()

    def counters(self) -> dict[str, int]:
        """The wrapped source's counters plus ``recorded``."""
        counters = self.source.counters()
        counters["recorded"] = self.recorded
        if self.full_at is not None:
            counters["unrecorded"] = self.unrecorded
        if self.failed is not None:
            counters["unwritten"] = self.unwritten
        return counters
