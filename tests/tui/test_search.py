"""s searches, n and N jump between matches, among every shown request (those beyond
the list's window and spilled to disk too, read in a worker); nothing is hidden."""

from __future__ import annotations

import threading

import pytest
from textual.message import Message
from textual.pilot import Pilot

from capture.view.store import Entry, Snapshot, Store
from tests.tui.fakes import (
    make_app,
    post_demo_capture,
    post_in_batches,
    record,
)
from tests.tui.test_app import status
from tui.app import SEARCH_NOTE_AFTER, HeaderwatchApp
from tui.messages import SearchProgress
from tui.screens import SearchScreen


async def test_s_then_n_and_shift_n_jump_between_matches_without_filtering() -> None:
    app = make_app(source_name="demo")
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        post_demo_capture(app)
        await pilot.pause()
        requests = app.main.requests
        await pilot.press("n")
        assert [n.message for n in app._notifications] == ["no search (s to search)"]
        await pilot.press("g", "s")
        assert isinstance(app.screen, SearchScreen)
        await pilot.press(*"~h x-uidh", "enter")
        await pilot.pause()
        uidh = [
            e.record.id
            for e in app.store
            if any(name.lower() == "x-uidh" for name, _ in e.record.request.headers)
        ]
        assert uidh and requests.cursor_id == uidh[0]
        assert len(requests.ids) == 28  # nothing hidden
        for expected in uidh[1:]:
            await pilot.press("n")
            assert requests.cursor_id == expected
        await pilot.press("n")  # round to the top
        assert requests.cursor_id == uidh[0]
        assert "search went round to the top" in [n.message for n in app._notifications]
        await pilot.press("N")
        assert requests.cursor_id == uidh[-1]


async def test_an_invalid_search_says_why_and_stays_open() -> None:
    app = make_app(source_name="demo")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("s", *"~d (bbc", "enter")
        await pilot.pause()
        assert isinstance(app.screen, SearchScreen)
        error = str(app.screen.query_one("#search-error").render())
        assert error
        await pilot.press("escape")
        assert app.main.search is None


# -- beyond the window, spilled ----------------------------------------------------------

N = 14_000
NEEDLES = (100, 7_000)
"""The requests to host needle.example: both far outside the window of the newest
rows, and spilled to disk."""


async def spilled_app(pilot: Pilot[int], app: HeaderwatchApp) -> None:
    """N requests, most spilled to disk."""
    hosts = ("needle.example" if i in NEEDLES else "www.example.com" for i in range(1, N + 1))
    post_in_batches(app, (record(i, host) for i, host in enumerate(hosts, 1)))
    await pilot.pause()
    assert app.store.spilled > N // 2 and app.main.requests.total == N
    assert all(app.store.held(i) is None for i in NEEDLES)


async def test_n_finds_matches_among_every_shown_request_spilled_ones_too_in_a_worker() -> None:
    store = Store(max_bytes=1 << 20)
    app = make_app(store=store)
    messages: list[Message] = []
    async with app.run_test(
        size=(80, 24), notifications=True, message_hook=messages.append
    ) as pilot:
        await spilled_app(pilot, app)
        requests = app.main.requests
        assert requests.cursor_id == N and requests.start > NEEDLES[1]  # the newest rows
        await pilot.press("s", *"~d needle", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        # From the newest row, round to the top: the first match, the window moved to it.
        assert requests.cursor_id == NEEDLES[0]
        assert requests.start <= NEEDLES[0] - 1 < requests.start + len(requests.ids)
        assert "search went round to the top" in [n.message for n in app._notifications]
        assert any(isinstance(m, SearchProgress) for m in messages)  # read in a worker
        await pilot.press("n")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert requests.cursor_id == NEEDLES[1]
        # The cursor's row on screen is the spilled request, read back.
        line = requests.render_line(requests.cursor - int(requests.scroll_y) + 1).text
        assert "needle.example" in line
        await pilot.press("N")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert requests.cursor_id == NEEDLES[0]
        assert "searching" not in status(app) and "needle" not in status(app)


async def test_esc_stops_a_search_going_on_and_the_cursor_stays(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gate = threading.Event()
    get = Snapshot.get

    def held_back(self: Snapshot, record_id: int) -> Entry | None:
        gate.wait(30)  # the disk is slow: the search goes on until the test lets it
        return get(self, record_id)

    monkeypatch.setattr(Snapshot, "get", held_back)
    store = Store(max_bytes=1 << 20)
    app = make_app(store=store)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await spilled_app(pilot, app)
        requests = app.main.requests
        await pilot.press("s", *"~d needle", "enter")
        assert "searching" in status(app)
        assert app.main.query_one("#progress").has_class("-loading")
        await pilot.pause(SEARCH_NOTE_AFTER + 0.2)
        notes = [n.message for n in app._notifications]
        assert any(m.startswith("searching ") and m.endswith("(esc stops)") for m in notes)
        await pilot.press("n")  # one search at a time
        assert "still searching (esc stops)" in [n.message for n in app._notifications]
        await pilot.press("escape")
        assert "search stopped" in [n.message for n in app._notifications]
        assert "searching" not in status(app)
        assert not app.main.query_one("#progress").has_class("-loading")
        gate.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert requests.cursor_id == N  # what the stopped search found is not shown
        # A new search goes on as usual.
        await pilot.press("n")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert requests.cursor_id == NEEDLES[0]
