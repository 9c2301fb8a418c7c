"""``z`` clears the view, ``d`` deletes a row and ``u`` undoes either; the exposure
panel and the status line count the same requests after each."""

from __future__ import annotations

from textual.pilot import Pilot

from tests.tui.fakes import make_app, post_demo_capture, record, seen
from tui.app import HeaderwatchApp
from tui.exposure_panel import summary_text
from tui.messages import EventsArrived
from tui.status import status_text


def _texts(app: HeaderwatchApp) -> tuple[str, str]:
    main = app.main
    status = status_text(main.status_line.status).plain
    exposure = summary_text(
        main.exposure.exposure, main.exposure.cleared, main.exposure.deleted
    ).plain
    return status, exposure


async def _load(pilot: Pilot[int], app: HeaderwatchApp) -> None:
    post_demo_capture(app)
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
        assert [n.message for n in app._notifications] == [
            "nothing to undo (z clears the view, d deletes a row)"
        ]
        assert len(app.main.requests.ids) == 28


async def test_d_deletes_the_row_under_the_cursor_every_panel_agrees_and_u_undoes_it() -> None:
    app = make_app(source_name="demo")
    async with app.run_test(size=(200, 50)) as pilot:
        await _load(pilot, app)
        main = app.main
        await pilot.press("k")  # the ad request: MSISDN and IMEI, the only IMEI
        assert main.requests.cursor_id == 27
        await pilot.press("d")
        await pilot.pause()
        status, exposure = _texts(app)
        assert 27 not in main.requests.ids and len(main.requests.ids) == 27
        assert main.requests.cursor_id == 28  # the next row takes its place
        assert "27 shown (1 deleted by d)" in status
        assert exposure.startswith("27 requests · 19 with identities")
        assert "1 deleted by d, not counted (u brings them back)" in exposure
        assert "imei" not in [i.kind for i in main.exposure.exposure.identities()]
        assert app.store.get(27) is not None  # saves and exports of everything keep it

        await pilot.press("z", "u")  # undo goes back one step at a time: first the z
        await pilot.pause()
        assert 27 not in main.requests.ids and len(main.requests.ids) == 27
        await pilot.press("u")  # then the d
        await pilot.pause()
        status, exposure = _texts(app)
        assert main.requests.ids == list(range(1, 29))
        assert "28 shown" in status and "deleted" not in status
        assert exposure.startswith("28 requests · 20 with identities") and "deleted" not in exposure
