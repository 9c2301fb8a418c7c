"""``z`` clears the view and ``u`` undoes it; the exposure panel and the status line
count the same requests after either."""

from __future__ import annotations

from textual.pilot import Pilot

from tests.tui.fakes import demo_capture_events, make_app, record, seen
from tui.app import HeaderwatchApp
from tui.exposure_panel import summary_text
from tui.messages import EventsArrived, StatsUpdated
from tui.status import status_text


def _texts(app: HeaderwatchApp) -> tuple[str, str]:
    main = app.main
    status = status_text(main.status_line.status).plain
    exposure = summary_text(main.exposure.exposure, main.exposure.cleared).plain
    return status, exposure


async def _load(pilot: Pilot[int], app: HeaderwatchApp) -> None:
    events, counters = demo_capture_events()
    app.post_message(EventsArrived(events))
    app.post_message(StatsUpdated(counters))
    await pilot.pause()


async def test_after_z_the_panel_and_status_line_agree_and_u_brings_everything_back() -> None:
    app = make_app(source_name="demo")
    async with app.run_test(size=(200, 50)) as pilot:
        await _load(pilot, app)
        main = app.main
        before = main.exposure.exposure.identities()
        status, exposure = _texts(app)
        assert "28 shown" in status and exposure.startswith("28 requests · 20 with identities")

        await pilot.press("z")
        status, exposure = _texts(app)
        assert "0 shown (28 cleared by z)" in status
        assert exposure.startswith("since z: 0 requests · 0 with identities")
        assert "28 cleared by z (u brings them back)" in exposure
        assert main.requests.ids == []

        app.post_message(EventsArrived(seen([record(29)])))
        await pilot.pause()
        status, exposure = _texts(app)
        assert "1 shown (28 cleared by z)" in status
        assert exposure.startswith("since z: 1 request ·")

        await pilot.press("u")
        await pilot.pause()
        status, exposure = _texts(app)
        assert "29 shown" in status and "cleared" not in status
        assert exposure.startswith("29 requests · 20 with identities") and "z" not in exposure
        assert main.requests.ids == list(range(1, 30))
        assert main.exposure.exposure.identities() == before


async def test_u_with_nothing_cleared_says_so() -> None:
    app = make_app(source_name="demo")
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await _load(pilot, app)
        await pilot.press("u")
        await pilot.pause()
        assert [n.message for n in app._notifications] == ["nothing cleared (z clears the view)"]
        assert len(app.main.requests.ids) == 28
