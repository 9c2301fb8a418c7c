"""The dashboard's garbage-collector policy (tui.gc_pauses) with the real collector."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from tests.tui.fakes import make_app, record, seen
from tui.gc_pauses import GcPauses


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def pauses() -> Iterator[tuple[GcPauses, Clock]]:
    clock = Clock()
    policy = GcPauses(every=600.0, clock=clock)
    try:
        yield policy, clock
    finally:
        policy.stop()
        assert gc.get_freeze_count() == 0


def test_what_survives_a_full_collection_is_frozen_so_the_next_walks_less(
    pauses: tuple[GcPauses, Clock],
) -> None:
    policy, _ = pauses
    policy.start()
    assert gc.get_freeze_count() > 0
    kept = [[i] for i in range(1_000)]  # long-lived, tracked: the store's entries
    policy.check()
    before = policy.freezes
    policy.check()
    assert policy.freezes == before  # no full collection since: nothing to do
    gc.collect()
    frozen = gc.get_freeze_count()
    policy.check()
    assert policy.freezes == before + 1
    assert gc.get_freeze_count() >= frozen + len(kept)
    assert len(gc.get_objects(generation=2)) < len(kept)


def test_every_so_often_a_full_pass_sweeps_everything_again(
    pauses: tuple[GcPauses, Clock],
) -> None:
    """Cyclic garbage among frozen objects is only found once they are unfrozen."""
    policy, clock = pauses
    policy.start()
    clock.now += 601.0
    gc.collect()
    policy.check()
    assert gc.get_freeze_count() == 0 and policy.freezes == 0
    clock.now += 1.0
    gc.collect()
    policy.check()
    assert gc.get_freeze_count() > 0 and policy.freezes == 1


def test_quitting_gives_everything_back_to_the_collector(pauses: tuple[GcPauses, Clock]) -> None:
    policy, _ = pauses
    policy.start()
    policy.stop()
    assert gc.get_freeze_count() == 0
    gc.collect()
    policy.check()  # stopped: does nothing
    assert gc.get_freeze_count() == 0


async def test_the_dashboard_freezes_while_it_runs_and_unfreezes_when_it_quits() -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await pilot.pause()
        assert gc.get_freeze_count() > 0
        app.ingest(seen([record(1)]))
        before = app.gc_pauses.freezes
        gc.collect()
        app.ingest(seen([record(2)]))
        assert app.gc_pauses.freezes == before + 1
    assert gc.get_freeze_count() == 0
