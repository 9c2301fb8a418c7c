"""Recording a source's raw frames to a file as they go by (``live -w FILE.pcapng``).

:class:`RecordingSource` wraps any :class:`~capture.sources.source.FrameSource`: each frame
is written before it is handed on, and the file is flushed at least every
:data:`FLUSH_INTERVAL` seconds (heartbeats included), so a crash loses at most
the last second. When the disk fills up (or any write fails) the user gets one
line and capture goes on without recording; the writer
(:class:`~capture.formats.pcapng.PcapngWriter`) cuts the file back to its last complete
flush, so everything flushed before stays readable.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from capture.formats.pcapng import CaptureWriteError, describe_errno
from capture.model import Parsed
from capture.sources.frames import Frame
from capture.sources.source import FrameSource, Notify
from capture.text import counted

FLUSH_INTERVAL = 0.5
"""Longest time a recorded frame stays in memory (seconds)."""


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
        self._written = 0

    def frames(self) -> Iterator[Frame | Parsed | None]:
        """The frames of the wrapped source, recorded on the way (a request that
        arrived parsed has no frame to record)."""
        clock = self.clock
        next_flush = clock() + FLUSH_INTERVAL
        try:
            for frame in self.source.frames():
                writer = self.writer
                if writer is not None:
                    if frame is not None and not isinstance(frame, Parsed):
                        try:
                            writer.write(frame)
                            self._written += 1
                        except (OSError, CaptureWriteError) as exc:
                            self._fail(exc)
                    now = clock()
                    if now >= next_flush:
                        next_flush = now + FLUSH_INTERVAL
                        self._flush()
                yield frame
        finally:
            self.close()

    def _flush(self) -> None:
        writer = self.writer
        if writer is None:
            return
        try:
            writer.flush()
        except (OSError, CaptureWriteError) as exc:
            self._fail(exc)
            return
        self.recorded = self._written

    def _fail(self, exc: OSError | CaptureWriteError) -> None:
        writer, self.writer = self.writer, None
        if writer is not None:
            self.recorded = int(getattr(writer, "flushed_packets", self.recorded))
            with contextlib.suppress(OSError, CaptureWriteError, ValueError):
                writer.close()
        if isinstance(exc, CaptureWriteError):
            what = str(exc)
        else:
            reason = describe_errno(exc.errno, (exc.strerror or str(exc)).lower())
            what = (
                f"{self.path}: {reason}; {counted(self.recorded, 'frame')} written before are kept"
            )
        self.failed = f"{what}; recording stopped, capture goes on"
        if self.notify is not None:
            self.notify("error", self.failed)

    def close(self) -> None:
        """Flush and close the file (idempotent)."""
        writer = self.writer
        if writer is None:
            return
        try:
            writer.flush()
            self.recorded = self._written
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
        return counters
