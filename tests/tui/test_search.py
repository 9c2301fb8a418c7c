"""s searches, n and N jump between matches; nothing is hidden."""

from __future__ import annotations

from tests.tui.fakes import demo_capture_events, make_app
from tui.messages import EventsArrived, StatsUpdated
from tui.screens import SearchScreen


async def test_s_then_n_and_shift_n_jump_between_matches_without_filtering() -> None:
    app = make_app(source_name="demo")
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        events, counters = demo_capture_events()
        app.post_message(EventsArrived(events))
        app.post_message(StatsUpdated(counters))
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
