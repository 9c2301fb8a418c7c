"""A filter's or a search's regex over an attacker's long header leaves the dashboard
responsive (RE2, capture/view/regex.py); one RE2 refuses is said in the filter's line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.tui.fakes import make_app, record
from tests.tui.test_app import feed, rows, seen, status, type_filter
from tui.screens import SearchScreen

ROOT = Path(__file__).resolve().parents[2]
PAD = "a" * 60_000


async def catastrophic_filters() -> list[object]:
    """What the dashboard shows after a filter and a search that backtrack for ever in
    Python's re, over a request with 60 KB of ``a`` in a header."""
    app = make_app()
    shown: list[object] = []
    async with app.run_test(size=(120, 30)) as pilot:
        padded = record(1, headers=[("Host", "ads.example"), ("X-Pad", PAD)])
        await feed(pilot, app, *seen([padded, record(2), record(3)]))
        for expr in ('~hq "(a+)+!"', '~hq "^x-pad: (a|aa)+$"'):
            await pilot.press("f")
            await type_filter(pilot, expr)
            await pilot.press("enter")
            await app.workers.wait_for_complete()
            await pilot.pause()
            shown += [rows(app), f"filter {expr}" in status(app)]
        await pilot.press("f")
        await type_filter(pilot, "")
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("s", *'~h "(a*)*b"', "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        shown += [rows(app), app.main.requests.cursor_id, isinstance(app.screen, SearchScreen)]
    return shown


def test_a_catastrophic_filter_and_search_leave_the_dashboard_responsive() -> None:
    # In a child: a regex engine that backtracks would hold this process past any
    # signal; the child is ended at the timeout instead, and the test fails.
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import asyncio\n"
            "from tests.tui.test_filter_regex import catastrophic_filters\n"
            "print(asyncio.run(catastrophic_filters()))\n",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines()[-1] == str([[], True, [1], True, [1, 2, 3], 3, False])


async def test_a_regex_re2_refuses_is_shown_in_the_filter_line_and_not_applied() -> None:
    app = make_app()
    async with app.run_test(size=(160, 30)) as pilot:
        await feed(pilot, app, *seen([record(1), record(2)]))
        await pilot.press("f")
        await type_filter(pilot, "~hq '(x-\\w+): .*\\1'")
        bar = app.main.filter_bar
        assert bar.has_class("-invalid")
        message = " ".join(str(bar.query_one("#filter-message").render()).split())
        assert message.startswith("✗ at 4: invalid regex in ~hq: a backreference")
        await pilot.press("enter")
        await pilot.pause()
        assert bar.is_open and rows(app) == [1, 2]


async def test_a_kind_named_in_part_is_refused_with_the_kind_it_nearly_named() -> None:
    """``~id tracking`` listed every kind; the kind must be matched fully, and the
    filter line now says which one was meant."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await feed(pilot, app, *seen([record(1)]))
        await pilot.press("f")
        await type_filter(pilot, "~id tracking")
        bar = app.main.filter_bar
        assert bar.has_class("-invalid")
        message = str(bar.query_one("#filter-message").render())
        assert message == (
            "✗ at 4: ~id tracking matches no finding kind fully (did you mean tracking_id?)"
        )
