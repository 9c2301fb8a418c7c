"""Which pane has the keys shows: the list's title row is lit and marked ▶, the
detail and the exposure panel light their border."""

from __future__ import annotations

from tests.tui.fakes import demo_capture_events, make_app
from tui.messages import EventsArrived, StatsUpdated


async def test_the_focused_pane_is_marked() -> None:
    app = make_app(source_name="demo")
    async with app.run_test(size=(200, 50)) as pilot:
        events, counters = demo_capture_events()
        app.post_message(EventsArrived(events))
        app.post_message(StatsUpdated(counters))
        await pilot.pause()
        main = app.main
        requests, detail, exposure = main.requests, main.detail, main.exposure
        await pilot.press("enter")
        assert requests.has_focus
        assert requests.render_line(0).text.startswith("▶")
        detail.focus()
        await pilot.pause()
        assert not requests.render_line(0).text.startswith("▶")
        assert detail.styles.border_top[0] == "heavy"
        focused_detail = detail.styles.border_top[1]
        exposure.focus()
        await pilot.pause()
        assert exposure.styles.border_left[1] == focused_detail  # the same accent
        requests.focus()
        await pilot.pause()
        assert exposure.styles.border_left[1] != focused_detail
        assert detail.styles.border_top[1] != focused_detail
