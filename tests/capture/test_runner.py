"""The runner batches events by time, and spaces batches out under heavy traffic."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import capture.runner as runner_module
from capture.model import Event, RequestSeen, StatsSnapshot
from capture.pipeline import Pipeline
from capture.runner import FlushPolicy, Runner
from capture.sources.frames import Frame
from tests.helpers import conversation, simple_request


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class PacedSource:
    """``rate`` requests a second for ``seconds``, on a fake clock."""

    name = "paced"

    def __init__(self, clock: Clock, rate: int, seconds: float) -> None:
        self.clock = clock
        self.rate = rate
        self.count = int(rate * seconds)

    def frames(self) -> Iterator[Frame | None]:
        conv = conversation()
        for ts, data in conv.handshake():
            yield Frame(ts, 1, data)
        for i in range(self.count):
            self.clock.now += 1 / self.rate
            [(ts, data)] = conv.send(True, simple_request(f"/{i}"))
            yield Frame(ts, 1, data)

    def stop(self) -> None:
        pass

    def current_time(self) -> float | None:
        return None

    def counters(self) -> dict[str, int]:
        return {}


def run(monkeypatch: pytest.MonkeyPatch, rate: int, seconds: float = 3) -> list[list[Event]]:
    clock = Clock()
    monkeypatch.setattr(runner_module.time, "monotonic", clock)
    batches: list[list[Event]] = []
    source = PacedSource(clock, rate, seconds)
    Runner(source, Pipeline(), batches.append, interval=0.1).run()
    return batches


def test_every_request_arrives_once_and_each_batch_ends_with_stats(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    batches = run(monkeypatch, rate=500)
    assert all(isinstance(b[-1], StatsSnapshot) for b in batches)
    uris = [e.record.request.uri for b in batches for e in b if isinstance(e, RequestSeen)]
    assert uris == [f"/{i}" for i in range(1500)]


def test_a_batch_goes_once_its_first_request_waited_the_latency_at_moderate_rates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """2,000 requests/s from a source never idle: a batch every 20 ms (3 s / 0.02 s)."""
    assert 140 <= len(run(monkeypatch, rate=2000)) <= 155


def test_batches_spaced_out_when_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    """At 8,000 events a second the consumer soon gets fewer, larger batches."""
    assert len(run(monkeypatch, rate=8_000)) < 22


# -- the flush policy, on a fake clock ------------------------------------------------


def test_light_traffic_is_handed_over_as_soon_as_the_source_is_idle() -> None:
    policy = FlushPolicy()
    policy.added(10.0, 1)
    assert not policy.due(10.0, 1, idle=False)
    assert policy.due(10.0, 1, idle=True)


def test_a_busy_source_still_hands_over_once_the_first_event_waited_the_latency() -> None:
    policy = FlushPolicy(latency=0.02)
    policy.added(10.0, 1)
    assert not policy.due(10.019, 50, idle=False)
    assert policy.due(10.021, 50, idle=False)


def test_nothing_pending_waits_for_the_stats_interval() -> None:
    policy = FlushPolicy(interval=0.25)
    assert not policy.due(10.0, 0, idle=True)
    assert not policy.due(10.2, 0, idle=True)
    assert policy.due(10.251, 0, idle=True)


def test_under_load_batches_grow_to_the_busy_interval() -> None:
    """Above ``busy_rate`` events/s (a moving average), idleness no longer makes a batch."""
    policy = FlushPolicy(latency=0.02, interval=1.0, busy_rate=5_000, busy_interval=0.4)
    now = 10.0
    policy.due(now, 0, idle=False)
    while not policy.busy:  # 600 events every 25 ms: 24,000 a second
        policy.added(now, 600)
        now += 0.025
        assert policy.due(now, 600, idle=False)
        policy.delivered(now, 600)
    policy.added(now, 10)
    assert not policy.due(now + 0.39, 4_000, idle=True)
    assert policy.due(now + 0.401, 4_000, idle=True)


def test_the_load_passing_brings_the_latency_back() -> None:
    policy = FlushPolicy(latency=0.02, interval=1.0, busy_rate=5_000, busy_interval=0.4)
    policy.due(10.0, 0, idle=False)
    policy.delivered(10.01, 10_000)  # a burst: 1,000,000/s, averaged to 100,000
    assert policy.busy
    now = 10.01
    while policy.busy:  # then 10 events every 0.4 s
        now += 0.4
        policy.delivered(now, 10)
    policy.added(now, 1)
    assert policy.due(now, 1, idle=True)


def test_a_full_batch_goes_at_once_whatever_the_load() -> None:
    policy = FlushPolicy(max_batch=100)
    policy.added(10.0, 100)
    assert policy.due(10.0, 100, idle=False)


class QuietLiveSource:
    """A request whose body never completes, then silence on a live interface."""

    name = "quiet"

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.now = 0.0

    def frames(self) -> Iterator[Frame | None]:
        conv = conversation()
        frames = conv.handshake() + conv.send(
            True, simple_request("/upload", extra="Content-Length: 100\r\n") + b"part"
        )
        for ts, data in frames:
            self.now = ts
            yield Frame(ts, 1, data)
        for _ in range(40):  # heartbeats: 10 s of capture time each, 0.2 s apart
            self.now += 10.0
            self.clock.now += 0.2
            yield None

    def stop(self) -> None:
        pass

    def current_time(self) -> float | None:
        return self.now

    def counters(self) -> dict[str, int]:
        return {}


def test_time_passes_while_a_live_capture_is_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Idle connections close on the source's clock, not only when the next frame
    comes: the unfinished upload is reported during the silence."""
    clock = Clock()
    monkeypatch.setattr(runner_module.time, "monotonic", clock)
    source = QuietLiveSource(clock)
    batches: list[list[Event]] = []
    Runner(source, Pipeline(), batches.append, interval=0.1).run()
    arrived = [i for i, b in enumerate(batches) if any(isinstance(e, RequestSeen) for e in b)]
    assert len(arrived) == 1 and arrived[0] < len(batches) - 1  # before the end of input
    [request] = [e.record.request for e in batches[arrived[0]] if isinstance(e, RequestSeen)]
    assert request.uri == "/upload"
    assert "connection idle for 300 s before the body was complete" in request.anomalies
    clocks = [b[-1].clock for b in batches if isinstance(b[-1], StatsSnapshot)]
    assert clocks == sorted(clocks) and clocks[-1] == source.now


def test_a_minimum_gap_holds_even_an_idle_source_back() -> None:
    policy = FlushPolicy(latency=0.02, min_gap=0.05)
    policy.due(10.0, 0, idle=True)
    policy.delivered(10.0, 5)
    policy.added(10.01, 1)
    assert not policy.due(10.04, 1, idle=True)
    assert policy.due(10.051, 1, idle=True)


def test_the_policy_never_says_yes_before_its_next_check() -> None:
    """The runner skips the policy until ``next_check``: nothing may fall due earlier
    (the source staying busy, never idle)."""
    policy = FlushPolicy(latency=0.02, interval=0.25, busy_rate=5_000, busy_interval=0.4)
    now, pending, batches = 10.0, 0, 0
    check_at = policy.next_check(now)
    for step in range(4_000):  # 10 s in 2.5 ms steps; 60 events a step, then 2
        now = 10.0 + step * 0.0025
        if policy.first is None:  # as the runner does when events start to wait
            policy.added(now, 1)
            check_at = min(check_at, policy.next_check(now))
        pending += 60 if step < 2_000 else 2
        due = policy.due(now, pending, idle=False)
        assert not (due and now < check_at)
        if now >= check_at:
            if due:
                policy.delivered(now, pending)
                pending, batches = 0, batches + 1
            check_at = policy.next_check(now)
    assert batches >= 20  # never starved: about one batch per busy interval (0.4 s) at least


def test_a_batch_of_only_the_stats_does_not_hold_a_request_back() -> None:
    """At 10 requests/s the stats go every ``interval`` between requests: the
    minimum gap counts from the last batch of events, or a lone request would wait
    up to ``min_gap`` behind a status line."""
    policy = FlushPolicy(latency=0.02, interval=0.1, min_gap=0.1)
    policy.due(10.0, 0, idle=True)
    policy.delivered(10.0, 2)  # a request and its response
    assert policy.due(10.11, 0, idle=True)  # the interval: the stats alone
    policy.delivered(10.11, 0)
    policy.added(10.111, 1)
    assert policy.due(10.111, 1, idle=True)
