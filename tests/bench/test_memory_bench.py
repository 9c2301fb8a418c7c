"""The memory bench's SYN flood is what it says, and holds under a small bound
(a shape check on a small flood, not a measurement)."""

from __future__ import annotations

import sys
from pathlib import Path

from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.net.reassembly import FLOW_COST, HALF_OPEN_COST, Limits
from capture.pipeline import Pipeline
from capture.sources.frames import Frame
from tests.helpers import records_of

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import memory_bench


def test_a_small_flood_under_a_small_bound_still_gives_every_real_request() -> None:
    frames = list(memory_bench.flood_frames(half_open=2_000, requests=200, seconds=2.0))
    assert [ts for ts, _ in frames] == sorted(ts for ts, _ in frames)
    # Room for the 101 connections with data open at once, and 500 half-open ones.
    limits = Limits(memory=110 * FLOW_COST + 500 * HALF_OPEN_COST)
    pipeline = Pipeline(IdentityDetector(IdentityConfig(region="GB")), limits=limits)
    records = records_of(pipeline.run(Frame(ts, 1, data) for ts, data in frames))
    real = {
        r.request.uri
        for r in records
        if any(f.normalized == "+" + memory_bench.MSISDN for f in r.identities)
    }
    assert real == {f"/real/{n}" for n in range(200)}
    counters = pipeline.counters()
    assert counters["half_open_evicted"] > 1_000
    assert counters["flows_evicted"] == 0
    assert counters["requests"] == 200
