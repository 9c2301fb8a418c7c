"""Frame sources behind one small interface: files, a real-time replay, live capture.

Every consumer (scan, the dashboard, the headless live mode) takes a
:class:`FrameSource`; tests use the same interface with a fake, so nothing
needs a phone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from capture.model import Parsed
from capture.sources.frames import CaptureFile, Frame
from capture.sources.inputs import (
    Input,
    after_reading,
    open_inputs,
    read_noun,
    unreadable,
)


class FrameSource(Protocol):
    """Where frames come from."""

    name: str
    """Shown to the user: a file name, ``eth0``, ``demo``."""

    def frames(self) -> Iterator[Frame | Parsed | None]:
        """Frames in capture order (or, from a record file, requests already parsed);
        ends when exhausted or stopped.

        While waiting for traffic a source yields ``None`` at least every
        :data:`HEARTBEAT` seconds, so that what is already parsed gets delivered.
        """

    def stop(self) -> None:
        """Ask :meth:`frames` to end soon (thread-safe)."""

    def counters(self) -> dict[str, int]:
        """Source-level counters, e.g. ``kernel_drops``, ``queue_drops``."""

    def current_time(self) -> float | None:
        """Capture time now, for a source where time passes between frames (live
        capture, a real-time replay); None for a file, whose time is its frames'."""


HEARTBEAT = 0.1
"""Longest a waiting source stays silent (seconds)."""

Notify = Callable[[str, str], None]
"""``notify(level, text)``: a source telling the user something (warning, state)."""


@dataclass(frozen=True, slots=True)
class Halt:
    """A live capture that an error stopped before it was asked to: nothing that
    arrived after :attr:`at` was captured, parsed or recorded. Set by the thread that
    failed (the source's :attr:`~capture.sources.live.source.LiveSource.halted`, or the
    dashboard's for its own capture thread); said on screen, in the session's
    metadata and in the exit status."""

    at: float
    """Wall-clock time the capture stopped."""
    why: str
    """What failed, one line: ``the capture thread failed (RuntimeError: …)``."""

    def stamp(self) -> str:
        """:attr:`at` as ISO 8601 UTC, to the second."""
        when = datetime.fromtimestamp(self.at, UTC)
        return when.isoformat(timespec="seconds").replace("+00:00", "Z")

    def text(self) -> str:
        """One line for a session's metadata and a report: from when, and why."""
        return f"capture stopped at {self.stamp()}: {self.why}; nothing after it was recorded"


def halt_of(source: object) -> Halt | None:
    """The :class:`Halt` of ``source``, or of the source it wraps (a recording)."""
    for candidate in (source, getattr(source, "source", None)):
        halt = getattr(candidate, "halted", None)
        if isinstance(halt, Halt):
            return halt
    return None


class FileSource:
    """Frames of one or more capture files, or the requests of record files (see
    :mod:`capture.sources.inputs`), as fast as they can be read.

    ``progress`` (bytes read, total bytes) is updated as files are consumed so
    that a UI can show a progress bar for large files.
    """

    def __init__(
        self, paths: Sequence[str], notify: Notify | None = None, kind: str | None = None
    ) -> None:
        """``kind``: what every path is (a name of
        :data:`capture.sources.inputs.KINDS`); by default recognised by its first bytes."""
        self.paths = list(paths)
        self.name = ", ".join(paths) if len(paths) <= 2 else f"{paths[0]} and {len(paths) - 1} more"
        self._inputs: list[Input] = open_inputs(self.paths, kind)  # raises CaptureError early
        self._stop = threading.Event()
        self._notify = notify
        self.total_bytes = sum(c.size for c in self._inputs)
        self.read_bytes = 0
        self.truncated: list[str] = []
        self.on_input: Callable[[str], None] | None = None
        """Told the name of each input as it starts, when there are several (the
        runner gives it :meth:`capture.pipeline.Pipeline.begin`)."""
        self.noun = read_noun(self._inputs)
        """What the requests of its record files are called (``HTTP events``), to
        count them in; None when it reads captures only (counted in packets)."""

    def frames(self) -> Iterator[Frame | Parsed | None]:
        done = 0
        on_input = self.on_input if len(self._inputs) > 1 else None
        for source in self._inputs:
            if on_input is not None:
                on_input(source.name)
            items: Iterator[Frame | Parsed] = (
                iter(source) if isinstance(source, CaptureFile) else source.requests()
            )
            for i, item in enumerate(items):
                if i & 1023 == 0:
                    self.read_bytes = done + source.position
                    if self._stop.is_set():
                        source.close()
                        return
                yield item
            done += source.size
            self.read_bytes = done
            if not isinstance(source, CaptureFile):
                source.close()
            if source.truncated:
                self.truncated.append(source.name)
            if self._notify is not None:
                error = unreadable(source)
                if error is not None:
                    self._notify("error", error)
                    continue
                for line in after_reading(source):
                    self._notify("warning", line)

    @property
    def has_records(self) -> bool:
        """Some input gives requests, not frames (a record file of any kind): a session
        of packets cannot hold those, so a session of these inputs is a session of
        records (:mod:`capture.formats.record_session`), which holds every request."""
        return any(not isinstance(i, CaptureFile) for i in self._inputs)

    def stop(self) -> None:
        self._stop.set()

    def counters(self) -> dict[str, int]:
        return {}

    def current_time(self) -> float | None:
        return None


class ReplaySource:
    """Frames of a capture file replayed in real time (the demo).

    The gaps between frame timestamps are reproduced (scaled by ``speed``), so the
    replay goes through the pipeline exactly as a live capture would.
    """

    def __init__(self, path: str, speed: float = 1.0, name: str = "demo") -> None:
        self.path = path
        self.name = name
        self.speed = speed
        CaptureFile(path).close()  # fail early on a bad file
        self._stop = threading.Event()
        self._start: tuple[float, float] | None = None  # (monotonic, capture time)

    def frames(self) -> Iterator[Frame | None]:
        start_wall = time.monotonic()
        start_ts: float | None = None
        for frame in CaptureFile(self.path):
            if start_ts is None:
                start_ts = frame.ts
                self._start = (start_wall, start_ts)
            due = start_wall + (frame.ts - start_ts) / self.speed
            while (delay := due - time.monotonic()) > 0:
                if self._stop.wait(min(delay, HEARTBEAT)):
                    return
                yield None
            if self._stop.is_set():
                return
            yield frame

    def stop(self) -> None:
        self._stop.set()

    def counters(self) -> dict[str, int]:
        return {}

    def current_time(self) -> float | None:
        """Where the replay stands in the capture's own time."""
        if self._start is None:
            return None
        wall, ts = self._start
        return ts + (time.monotonic() - wall) * self.speed
