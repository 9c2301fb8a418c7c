"""Driving a frame source through the pipeline, handing events over in batches.

The dashboard and the headless live mode both use :class:`Runner`: it pulls
frames (in its own thread), feeds the :class:`~capture.pipeline.Pipeline`, and
calls ``on_batch(events)`` when :class:`FlushPolicy` says so, never once per
packet. The last event of every batch is a :class:`~capture.model.StatsSnapshot`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from capture.model import Event, Notice, Parsed, StatsSnapshot
from capture.pipeline import Pipeline
from capture.sources.frames import CaptureError
from capture.sources.source import FileSource, FrameSource

Batch = list[Event]

LATENCY = 0.02
"""Seconds the first pending event may wait while traffic is light (about one
TPACKET_V3 ring block's retire time, which a live frame has already waited)."""


class FlushPolicy:
    """When the runner hands its pending events over: at once when traffic is light,
    in larger batches only under load.

    Why: a fixed interval adds half of it, on average, to every request's latency
    however quiet the line is (250 ms batches put p95 at 217-273 ms from the wire
    to ``live --format jsonl``, issue 17). Batching only pays when events come
    faster than the consumer takes them in, where the fixed cost of each batch (a
    screen refresh, a write) would otherwise dominate.

    A batch is due when there are pending events and

    * the source is idle (it has nothing more queued: nothing is gained by
      waiting), or the first of them has waited ``latency`` s, and the last
      batch of events went at least ``min_gap`` s ago (a batch of only the stats
      does not count: it costs the consumer a status line, not a screen of rows,
      and counting it held a lone request back for up to ``min_gap``); unless
    * under load: the event rate (a moving average over about ten batches, so one
      burst does not count) is above ``busy_rate`` a second. Then the first
      pending event may wait ``busy_interval`` s, so batches grow with the load.

    Whatever the traffic, a batch (perhaps only the stats) is due every
    ``interval`` s (under load, every ``busy_interval`` s if that is longer), so
    the status line stays current, and at once at ``max_batch`` events. Pure:
    the caller passes the time (tests use a fake clock).
    """

    def __init__(
        self,
        latency: float = LATENCY,
        interval: float = 0.25,
        max_batch: int = 10_000,
        busy_rate: float = 5_500.0,
        busy_interval: float = 0.4,
        min_gap: float = 0.0,
    ) -> None:
        self.latency = latency
        self.min_gap = min_gap
        """Seconds at least between two batches of events (the dashboard: each batch
        costs it a status line and a screen update, whatever its size)."""
        self.interval = interval
        self.max_batch = max_batch
        self.busy_rate = busy_rate
        self.busy_interval = max(busy_interval, latency)
        self.rate = 0.0
        """Events a second, a moving average taken at each batch."""
        self.busy = False
        """The rate was above ``busy_rate`` at the last batch."""
        self._last: float | None = None
        self._last_events: float | None = None
        """When the last batch holding events went (``min_gap`` counts from it)."""
        self.first: float | None = None
        """When the oldest pending event was added (``None``: nothing pending)."""

    def added(self, now: float, pending: int) -> None:
        """Events were added; ``pending`` is how many wait now."""
        if self.first is None and pending:
            self.first = now
        if self._last is None:
            self._last = now

    def due(self, now: float, pending: int, idle: bool) -> bool:
        """Whether to hand the pending events (and the stats) over now."""
        if self._last is None:
            self._last = now
        busy = self.busy
        every = max(self.interval, self.busy_interval) if busy else self.interval
        if pending >= self.max_batch or now - self._last >= every:
            return True
        if not pending or self.first is None or self._gap_left(now) > 0:
            return False
        waited = now - self.first
        if busy:
            return waited >= self.busy_interval
        return idle or waited >= self.latency

    def _gap_left(self, now: float) -> float:
        """Seconds until ``min_gap`` has passed since the last batch of events."""
        last = self._last_events
        return 0.0 if last is None else last + self.min_gap - now

    def next_check(self, now: float) -> float:
        """The time before which :meth:`due` cannot say yes unless the source goes
        idle or ``max_batch`` is reached: the runner skips the policy per frame."""
        last = self._last if self._last is not None else now
        at = last + (max(self.interval, self.busy_interval) if self.busy else self.interval)
        first = self.first
        if first is not None:
            ready = first + (self.busy_interval if self.busy else self.latency)
            at = min(at, max(ready, now + self._gap_left(now)))
        return at

    def delivered(self, now: float, count: int) -> None:
        """A batch of ``count`` events was handed over at ``now``."""
        if self._last is not None:
            self.rate = 0.9 * self.rate + 0.1 * count / max(now - self._last, 1e-3)
        self.busy = self.rate > self.busy_rate
        self._last = now
        if count:
            self._last_events = now
        self.first = None


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
        latency: float = LATENCY,
        min_gap: float = 0.0,
    ) -> None:
        self.source = source
        if isinstance(source, FileSource):
            # Of several files, each record says which one it came from.
            source.on_input = pipeline.begin
        self.pipeline = pipeline
        self.on_batch = on_batch
        self.policy = FlushPolicy(latency, interval, max_batch, busy_rate, busy_interval, min_gap)
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
        policy = self.policy
        max_batch = policy.max_batch
        # The policy is consulted only when it might say yes: this loop runs once
        # a frame (40,000 a second live), and a method call per frame shows there.
        check_at = policy.next_check(time.monotonic())
        clock: float | None = None
        try:
            for frame in self.source.frames():
                idle = False
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
                    # The source has nothing queued. Time still passes on a live
                    # capture or a replay.
                    idle = True
                    now_ts = self.source.current_time()
                    if now_ts is not None and (clock is None or now_ts > clock):
                        clock = now_ts
                        pending.extend(self.pipeline.advance(clock))
                now = time.monotonic()
                if pending and policy.first is None:
                    policy.added(now, len(pending))
                    check_at = min(check_at, policy.next_check(now))
                if idle or now >= check_at or len(pending) >= max_batch:
                    if policy.due(now, len(pending), idle):
                        count = len(pending)
                        self._clock = clock
                        self._deliver()
                        pending = self._pending
                        policy.delivered(now, count)
                    check_at = policy.next_check(now)
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
