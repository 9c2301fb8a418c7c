"""SVG snapshots of the main screens (pytest-textual-snapshot).

Deterministic: crafted records with fixed timestamps shown in UTC, no capture
thread, no cursor blink (conftest), the exposure panel redrawn explicitly.
Update after a deliberate change with ``pytest tests/tui/test_snapshots.py --snapshot-update``
and look at the report.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from capture.model import Event, RequestSeen
from tests.tui.fakes import (
    demo_records,
    make_app,
    o2_record,
    post_demo_capture,
    record,
    seen,
    stats,
)
from tests.tui.test_safety import HOSTILE, hostile_record
from tui.app import HeaderwatchApp
from tui.filter_bar import FilterInput
from tui.messages import EventsArrived, StatsUpdated

SnapCompare = Callable[..., bool]


def loaded(*keys: str, hostile: bool = False) -> Callable[[Pilot[Any]], Any]:
    """A ``run_before`` that feeds the demo records, then presses ``keys``."""

    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, HeaderwatchApp)
        events: list[Event]
        if hostile:
            events = [RequestSeen(hostile_record(v, i + 1).record) for i, v in enumerate(HOSTILE)]
        else:
            events = seen(
                [
                    *demo_records(),
                    record(
                        7,
                        "www.example.com",
                        "/a-very-long-path/that/does/not/fit/in/the/column.html",
                    ),
                ]
            )
        app.post_message(EventsArrived(events))
        app.post_message(StatsUpdated(stats(packets=259, requests=7, identities=6)))
        await pilot.pause()
        app.main.exposure.redraw()
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
        await pilot.pause()

    return run_before


def test_request_list(snap_compare: SnapCompare) -> None:
    # A marked and a commented row, the cursor on the third-newest.
    assert snap_compare(
        make_app(),
        terminal_size=(120, 24),
        run_before=loaded("k", "m", "k", "semicolon", "n", "b", "enter"),
    )


def test_detail(snap_compare: SnapCompare) -> None:
    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=loaded("g", "enter"))


def test_help(snap_compare: SnapCompare) -> None:
    assert snap_compare(make_app(), terminal_size=(120, 50), run_before=loaded("question_mark"))


def test_exposure_panel(snap_compare: SnapCompare) -> None:
    assert snap_compare(make_app(), terminal_size=(170, 40), run_before=loaded())


def test_filter_error(snap_compare: SnapCompare) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await loaded("f")(pilot)
        pilot.app.screen.query_one(FilterInput).value = ""
        await pilot.press(*"~d (bbc")
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=(120, 24), run_before=run_before)


def test_filtered_and_paused(snap_compare: SnapCompare) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await loaded()(pilot)
        app = pilot.app
        assert isinstance(app, HeaderwatchApp)
        app.main.apply_filter("~id msisdn")
        await pilot.press("space")
        app.post_message(EventsArrived(seen([record(8), o2_record(9)])))
        await pilot.pause()
        # The exposure panel redraws on a timer: draw now, or the picture depends on
        # whether a tick fell between the batch and the screenshot.
        app.main.exposure.redraw()
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=(120, 24), run_before=run_before)


def test_hostile_values(snap_compare: SnapCompare) -> None:
    assert snap_compare(
        make_app(source_name="[red]evil\x1b]0;t\x07"),
        terminal_size=(160, 50),
        run_before=loaded("g", "j", "enter", hostile=True),
    )


# -- the demo capture at three terminal sizes --------------------------------------------

SIZES = [(80, 24), (120, 40), (200, 60)]
"""A small terminal (narrow layout), the narrow edge of the wide one, a large one."""


def demo_loaded(*keys: str) -> Callable[[Pilot[Any]], Any]:
    """A ``run_before`` that feeds the demo capture's events, then presses ``keys``."""

    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, HeaderwatchApp)
        post_demo_capture(app)
        await pilot.pause()
        app.main.exposure.redraw()
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_demo_list(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    # At 80x24 the list has all of the screen: HOST is readable and the three stories
    # (MSISDN, X-UIDH, the ad request with MSISDN and IMEI) are all in it.
    assert snap_compare(make_app(source_name="demo"), terminal_size=size, run_before=demo_loaded())


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_demo_detail(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    # The ad request: its findings (MSISDN, IMEI) come before the headers.
    assert snap_compare(
        make_app(source_name="demo"), terminal_size=size, run_before=demo_loaded("k", "enter")
    )


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_demo_exposure(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    # Under 120 columns e opens the panel over the list; from 120 up it is beside it.
    keys = ("e",) if size[0] < 120 else ()
    assert snap_compare(
        make_app(source_name="demo"), terminal_size=size, run_before=demo_loaded(*keys)
    )


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_demo_help(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    assert snap_compare(
        make_app(source_name="demo"), terminal_size=size, run_before=demo_loaded("question_mark")
    )


@pytest.mark.parametrize("size", [(80, 24), (200, 60)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_demo_sorted_by_identities(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    # o five times: identities, most severe first (the ad request with MSISDN and IMEI
    # on top); IDENTITIES▼ in the title row, "identities ▼" in the status line.
    assert snap_compare(
        make_app(source_name="demo"), terminal_size=size, run_before=demo_loaded(*"ooooo")
    )
