"""The runner batches events by time, and spaces batches out under heavy traffic."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import capture.runner as runner_module
from capture.frames import Frame
from capture.model import Event, RequestSeen, StatsSnapshot
from capture.pipeline import Pipeline
from capture.runner import Runner
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


def test_batches_every_interval_at_moderate_rates(monkeypatch: pytest.MonkeyPatch) -> None:
    assert 28 <= len(run(monkeypatch, rate=2000)) <= 32  # 3 s / 0.1 s


def test_batches_spaced_out_when_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    """At 8,000 events a second the consumer soon gets fewer, larger batches."""
    assert len(run(monkeypatch, rate=8_000)) < 22
