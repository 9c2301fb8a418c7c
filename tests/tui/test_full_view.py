"""+ shows one request full screen (mitmproxy's flow view): the list and the exposure
panel give way, j/k still move from request to request, + or esc goes back."""

from __future__ import annotations

from tests.tui.fakes import make_app, post_demo_capture


def _detail_plain(app: object) -> str:
    return app.main.detail.query_one("#detail-text").render().plain  # type: ignore[attr-defined, no-any-return]


async def test_plus_shows_the_request_full_screen_and_j_k_move_within_it() -> None:
    app = make_app(source_name="demo")
    async with app.run_test(size=(80, 24)) as pilot:
        post_demo_capture(app)
        await pilot.pause()
        main = app.main
        await pilot.press("k", "plus")  # the ad request: MSISDN and IMEI
        await pilot.pause()
        assert main.full_view and not main.requests.display and not main.exposure.display
        # The detail has the body: every row between the title and the status line.
        assert main.detail.region.height == 24 - 1 - 2
        assert main.detail.has_focus
        assert "#27 " in _detail_plain(app) and "query imei" in _detail_plain(app)
        await pilot.press("k")
        await pilot.pause()
        assert "#26 " in _detail_plain(app)
        await pilot.press("plus")  # back to the list, the cursor where the view left it
        await pilot.pause()
        assert not main.full_view and main.requests.display and main.requests.has_focus
        assert main.requests.cursor_id == 26
        # Back to the list as it was: without its detail pane (it was closed before +),
        # or with it, where it was open.
        assert not main.detail.display
        await pilot.press("plus", "escape")
        await pilot.pause()
        assert not main.full_view and main.requests.display and not main.detail.display
        await pilot.press("enter", "plus", "escape")
        await pilot.pause()
        assert not main.full_view and main.requests.display and main.detail.display


async def test_keys_that_come_together_scroll_the_full_view_a_line_each() -> None:
    # A held arrow key, or tmux send-keys of ten Downs, brings its keys within one
    # frame: each deferred scroll aimed from the same place, and ten moved it once.
    app = make_app(source_name="demo")
    async with app.run_test(size=(80, 24)) as pilot:
        post_demo_capture(app)
        await pilot.pause()
        await pilot.press("k", "plus")
        await pilot.pause()
        detail = app.main.detail
        assert detail.max_scroll_y >= 4
        for _ in range(4):
            detail.action_scroll_down()
        await pilot.pause()
        assert detail.scroll_y == 4
        for _ in range(3):
            detail.action_scroll_up()
        await pilot.pause()
        assert detail.scroll_y == 1
