"""Every shown request can be reached with the keys, however many there are: the list
draws a window of them, and it moves to the rows the cursor goes to, or the mouse wheel
scrolls to, reading the spilled ones back from disk."""

from __future__ import annotations

from textual.events import MouseScrollDown, MouseScrollUp
from textual.pilot import Pilot
from textual.widgets import RadioButton

from capture.model import Response, ResponseSeen
from capture.view.store import Store
from tests.tui.fakes import T0, make_app, post_in_batches, record
from tests.tui.test_app import status
from tui.app import HeaderwatchApp
from tui.messages import EventsArrived
from tui.screens import SaveScreen

N = 14_000


async def test_g_reaches_the_oldest_of_14000_requests_though_they_were_spilled() -> None:
    store = Store(max_bytes=1 << 20)  # most of them spilled to disk
    app = make_app(store=store)
    async with app.run_test(size=(80, 24)) as pilot:
        post_in_batches(app, (record(i, uri=f"/p/{i}") for i in range(1, N + 1)))
        await pilot.pause()
        assert store.spilled > N // 2
        requests = app.main.requests
        assert len(requests.ids) < N and requests.total == N
        line = status(app)
        assert f"{N:,} shown" in line and "+" not in line  # no count of rows out of reach
        await pilot.press("g")
        assert requests.cursor_id == 1
        entry = store.get(1)
        assert entry is not None and entry.record.request.uri == "/p/1"
        # The row drawn on screen is the spilled request read back.
        shown = app.main.requests.render_line(1).text
        assert "/p/1 " in shown
        # page down goes on past the window's last row into the rows after it.
        requests.jump_to_request(requests.ids[-1])
        last = requests.cursor_id
        assert last is not None and last < N // 2
        await pilot.press("pagedown")
        assert requests.cursor_id == last + requests._rows_visible
        assert f"/p/{requests.cursor_id} " in "".join(
            requests.render_line(y).text for y in range(1, requests.size.height)
        )
        await pilot.press("G")
        assert requests.cursor_id == N and requests.follow
        # The export dialog counts what the status line counts.
        assert await export_scope(pilot) == f"shown {N:,} requests"


async def export_scope(pilot: Pilot[int]) -> str:
    """What the export dialog (``x``) says the shown requests are."""
    await pilot.press("x")
    screen = pilot.app.screen
    assert isinstance(screen, SaveScreen)
    return str(screen.query_one("#scope-shown", RadioButton).label)


async def test_requests_spilled_in_the_batch_they_arrive_in_are_listed_in_order() -> None:
    # The live dashboard's batches hold up to 10,000 events: one can be larger than
    # the store holds in memory, and spill its own oldest requests before the list
    # has seen them.
    store = Store(max_bytes=1 << 20)
    app = make_app(store=store, initial_filter="~d tracker", window=300)
    total = 3_000
    tracked = list(range(3, total + 1, 3))
    async with app.run_test(size=(80, 24)) as pilot:
        post_in_batches(
            app,
            (
                record(i, "tracker.example" if i % 3 == 0 else "www.example.com", f"/p/{i}")
                for i in range(1, total + 1)
            ),
            size=total,
        )
        await pilot.pause()
        assert store.spilled > total // 2 and store.held(3) is None
        requests = app.main.requests
        assert requests.all_ids.tolist() == tracked
        assert f"{len(tracked):,} shown" in status(app)
        await pilot.press("g")
        assert requests.cursor_id == 3 and "/p/3 " in requests.render_line(1).text
        # Down, a page at a time, past the end of the window about the oldest rows.
        row = 0
        for _ in range(40):
            await pilot.press("pagedown")
            row += requests._rows_visible
            assert requests.cursor_id == tracked[row]
        assert requests.start > 0
        assert f"/p/{tracked[row]} " in "".join(
            requests.render_line(y).text for y in range(1, requests.size.height)
        )
        await pilot.press("G")
        assert requests.cursor_id == total
        assert await export_scope(pilot) == f"shown {len(tracked):,} requests"


async def test_a_response_to_a_spilled_request_lets_it_into_a_list_filtered_on_status() -> None:
    store = Store(max_bytes=1 << 20)
    app = make_app(store=store, initial_filter="~c 404")
    total = 3_000
    async with app.run_test(size=(80, 24)) as pilot:
        post_in_batches(app, (record(i, uri=f"/p/{i}") for i in range(1, total + 1)))
        await pilot.pause()
        requests = app.main.requests
        assert requests.total == 0 and store.held(10) is None
        missing = Response(T0 + 0.5, "HTTP/1.1", 404, "Not Found", ())
        app.post_message(EventsArrived([ResponseSeen(i, missing) for i in range(10, total, 10)]))
        await pilot.pause()
        assert requests.all_ids.tolist() == list(range(10, total, 10))
        assert f"{total // 10 - 1:,} shown" in status(app)
        await pilot.press("g")
        assert requests.cursor_id == 10 and "/p/10 " in requests.render_line(1).text


async def wheel(pilot: Pilot[int], turn: type[MouseScrollDown | MouseScrollUp], times: int) -> None:
    """Turn the mouse wheel over the request list ``times`` notches, the events coming
    in as the terminal driver hands them to the app (Pilot has no wheel)."""
    app = pilot.app
    region = app.main.requests.region  # type: ignore[attr-defined]
    x, y = region.x + 10, region.y + 5
    for _ in range(times):
        app.post_message(turn(None, x, y, 0, 0, 0, False, False, False, screen_x=x, screen_y=y))
    await pilot.pause()


def top_row(app: HeaderwatchApp) -> tuple[int, str]:
    """The id of the list's first row on screen, and that line as drawn."""
    requests = app.main.requests
    return requests.rows[int(requests.scroll_y)], requests.render_line(1).text


async def test_the_mouse_wheel_moves_the_window_past_its_ends_over_spilled_rows() -> None:
    store = Store(max_bytes=1 << 20)  # most of them spilled to disk
    app = make_app(store=store, window=300)
    total = 3_000
    async with app.run_test(size=(80, 24)) as pilot:
        post_in_batches(app, (record(i, uri=f"/p/{i}") for i in range(1, total + 1)))
        await pilot.pause()
        assert store.spilled > total // 2
        requests = app.main.requests
        assert requests.follow and len(requests.ids) < total // 5
        # Up past the top of the window of the newest rows: the window moves up, a
        # notch at a time, and follow stops as it does when the cursor leaves.
        notch = round(app.scroll_sensitivity_y)  # rows a notch scrolls
        assert 360 % notch == 0
        first = requests.start + int(requests.scroll_y)
        await wheel(pilot, MouseScrollUp, 360 // notch)
        assert requests.start + int(requests.scroll_y) == first - 360
        assert top_row(app)[0] == requests.all_ids[first - 360]
        assert not requests.follow and "not following" in status(app)
        assert requests.cursor_id is not None
        # Down from the oldest, past the window's bottom: the rows after it come in,
        # read back from disk as they are drawn.
        await pilot.press("g")
        assert requests.start == 0 and top_row(app)[0] == 1
        await wheel(pilot, MouseScrollDown, 360 // notch)
        entry_id, line = top_row(app)
        assert entry_id == 361 and requests.start > 0 and "/p/361 " in line
        assert store.spilled >= 361  # a spilled one (the oldest are spilled first)
        # And back up over the window's top to the oldest request.
        await wheel(pilot, MouseScrollUp, 400 // notch)
        entry_id, line = top_row(app)
        assert entry_id == 1 and requests.start == 0 and "/p/1 " in line
