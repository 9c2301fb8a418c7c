"""Driving a frame source through the pipeline, handing events over in batches.

The dashboard and the headless live mode both use :class:`Runner`: it pulls
frames (in its own thread), feeds the :class:`~capture.pipeline.Pipeline`, and
calls ``on_batch(events)`` a few times a second, never once per packet, so a
UI thread is woken at a bounded rate whatever the packet rate. The last event of
every batch is a :class:`~capture.model.StatsSnapshot`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from capture.model import Event, Notice, Parsed, StatsSnapshot
from capture.pipeline import Pipeline
from capture.sources.frames import CaptureError
from capture.sources.source import FrameSource

Batch = list[Event]


class Runner:
    """Pulls frames from ``source`` and delivers event batches to ``on_batch``."""

    def __init__(
        self,
        source: FrameSource,
        pipeline: Pipeline,
        on_batch: Callable[[Batch], None],
        interval: float = 0.25,
        max_batch: int = 10_000,
        busy_rate: float = 5_500.0,
        busy_interval: float = 0.4,
    ) -> None:
        self.source = source
        self.pipeline = pipeline
        self.on_batch = on_batch
        self.interval = interval
        self.max_batch = max_batch
        # Under heavy traffic a consumer (the dashboard) spends most of its time on
        # the fixed cost of each batch (a screen refresh): while events come faster
        # than ``busy_rate`` a second (a moving average, so that one burst does not
        # count), batches are ``busy_interval`` apart. Below that rate (2,000
        # requests/s and their responses) latency stays low.
        self.busy_rate = busy_rate
        self.busy_interval = max(busy_interval, interval)
        self.finished = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._pending: Batch = []
        self._clock: float | None = None

    def counters(self) -> dict[str, int]:
        """Pipeline and source counters together."""
        counters = self.pipeline.counters()
        counters.update(self.source.counters())
        return counters

    def _snapshot(self) -> StatsSnapshot:
        return StatsSnapshot(tuple(self.counters().items()), self._clock)

    def _deliver(self) -> None:
        batch = self._pending
        self._pending = []
        batch.append(self._snapshot())
        self.on_batch(batch)

    def run(self) -> None:
        """Run to the end of the source (blocking)."""
        feed = self.pipeline.feed
        feed_request = self.pipeline.feed_request
        pending = self._pending
        last_flush = time.monotonic()
        next_flush = last_flush + self.interval
        rate = 0.0
        clock: float | None = None
        try:
            for frame in self.source.frames():
                if isinstance(frame, Parsed):
                    # From a record file: already parsed, it enters a level higher.
                    pending.extend(feed_request(frame))
                    clock = frame.request.ts
                elif frame is not None:
                    events = feed(frame)
                    if events:
                        pending.extend(events)
                    clock = frame[0]
                else:
                    # No traffic: time still passes on a live capture or a replay.
                    now_ts = self.source.current_time()
                    if now_ts is not None and (clock is None or now_ts > clock):
                        clock = now_ts
                        pending.extend(self.pipeline.advance(clock))
                now = time.monotonic()
                if now >= next_flush or len(pending) >= self.max_batch:
                    rate = 0.9 * rate + 0.1 * len(pending) / max(now - last_flush, 1e-3)
                    busy = rate > self.busy_rate
                    self._clock = clock
                    self._deliver()
                    pending = self._pending
                    last_flush = now
                    next_flush = now + (self.busy_interval if busy else self.interval)
            pending.extend(self.pipeline.flush())
        except CaptureError as exc:
            pending.append(Notice("error", str(exc)))
        except OSError as exc:
            pending.append(Notice("error", f"{self.source.name}: {exc.strerror or exc}"))
        finally:
            self._clock = clock
            self._deliver()
            self.finished.set()

    def start(self) -> threading.Thread:
        """Run in a daemon thread."""
        self._thread = threading.Thread(
            target=self.run, name=f"runner:{self.source.name}", daemon=True
        )
        self._thread.start()
        return self._thread

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the source and wait for the last batch."""
        self.source.stop()
        if self._thread is not None:
            self._thread.join(timeout)
