"""Every shown request can be reached with the keys, however many there are: the list
draws a window of them, and it moves to the rows the cursor goes to, reading the
spilled ones back from disk."""

from __future__ import annotations

from textual.widgets import RadioButton

from capture.model import RequestSeen
from capture.view.store import Store
from tests.tui.fakes import make_app, record
from tests.tui.test_app import status
from tui.messages import EventsArrived
from tui.screens import SaveScreen

N = 14_000


async def test_g_reaches_the_oldest_of_14000_requests_though_they_were_spilled() -> None:
    store = Store(max_bytes=1 << 20)  # most of them spilled to disk
    app = make_app(store=store)
    async with app.run_test(size=(80, 24)) as pilot:
        for first in range(1, N + 1, 500):  # in batches, as the capture thread hands them
            batch = [RequestSeen(record(i, uri=f"/p/{i}")) for i in range(first, first + 500)]
            app.post_message(EventsArrived(batch))
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
        requests.jump_to(len(requests.ids) - 1)
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
        await pilot.press("x")
        screen = app.screen
        assert isinstance(screen, SaveScreen)
        label = str(screen.query_one("#scope-shown", RadioButton).label)
        assert label == f"shown {N:,} requests"
