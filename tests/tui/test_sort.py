"""``o`` sorts the request list by a column, ``v`` reverses it (mitmproxy's keys);
time (capture) order is the default and the only one that follows."""

from __future__ import annotations

from textual.pilot import Pilot

from capture.model import Response, ResponseSeen
from capture.view.order import Order, sort_fields
from capture.view.store import Store
from tests.tui.fakes import (
    OK,
    T0,
    make_app,
    post_demo_capture,
    post_in_batches,
    record,
    seen,
)
from tui.app import HeaderwatchApp
from tui.messages import EventsArrived
from tui.status import status_text

HOSTS = ["m.example", "c.example", "x.example", "a.example", "c.example"]


def _rows(app: HeaderwatchApp) -> list[int]:
    return list(app.main.requests.rows)


def _hosts(app: HeaderwatchApp) -> list[str]:
    get = app.store.get
    return [get(rid).record.request.destination for rid in _rows(app)]  # type: ignore[union-attr]


def _status(app: HeaderwatchApp) -> str:
    return status_text(app.main.status_line.status).plain


def _header(app: HeaderwatchApp) -> str:
    requests = app.main.requests
    return requests._header_strip(requests.scrollable_content_region.width).text


async def _load(pilot: Pilot[int], app: HeaderwatchApp, hosts: list[str] = HOSTS) -> None:
    app.post_message(EventsArrived(seen(record(i, h) for i, h in enumerate(hosts, 1))))
    await pilot.pause()


async def _sort_by(pilot: Pilot[int], app: HeaderwatchApp, name: str) -> None:
    for _ in range(7):
        if app.main.requests.order.name == name:
            return
        await pilot.press("o")
    raise AssertionError(f"o never reached {name}")


async def test_sorting_by_host_orders_the_rows_and_says_so_in_the_header_and_status() -> None:
    app = make_app(source_name="demo")
    async with app.run_test(size=(120, 30)) as pilot:
        await _load(pilot, app)
        requests = app.main.requests
        assert _rows(app) == [1, 2, 3, 4, 5] and requests.follow
        assert requests.rows is requests.ids  # time order: no second view is kept
        assert "▲" not in _header(app) and "following" in _status(app)
        await pilot.press("o")
        assert requests.order.name == "host"
        assert _hosts(app) == sorted(HOSTS)
        assert _rows(app) == [4, 2, 5, 1, 3]  # equal hosts stay in capture order
        assert requests.ids == [1, 2, 3, 4, 5]  # capture order is kept beside it
        assert "HOST▲" in _header(app)
        assert "sorted by host ▲ (follow paused)" in _status(app)
        assert not requests.follow
        # It was following: the cursor goes to the first row, what the sort is for.
        assert requests.cursor_id == 4 and requests.cursor == 0


async def test_v_reverses_the_order_and_again_undoes_it() -> None:
    app = make_app(source_name="demo")
    async with app.run_test(size=(120, 30)) as pilot:
        await _load(pilot, app)
        await pilot.press("o", "v")
        assert _rows(app) == [3, 1, 2, 5, 4]  # the two c.example stay in capture order
        assert "HOST▼" in _header(app) and "sorted by host ▼" in _status(app)
        await pilot.press("g")
        assert app.main.requests.cursor_id == 3
        await pilot.press("v")
        assert _rows(app) == [4, 2, 5, 1, 3]
        # A row the user chose keeps the cursor, wherever the new order puts it.
        assert app.main.requests.cursor_id == 3 and app.main.requests.cursor == 4


async def test_v_in_time_order_shows_the_newest_first_and_pauses_follow() -> None:
    app = make_app(source_name="demo")
    async with app.run_test(size=(120, 30)) as pilot:
        await _load(pilot, app)
        await pilot.press("v")
        assert _rows(app) == [5, 4, 3, 2, 1]
        assert "TIME▼" in _header(app) and not app.main.requests.follow
        await pilot.press("v")
        assert _rows(app) == [1, 2, 3, 4, 5] and app.main.requests.follow


async def test_new_live_rows_go_to_their_sorted_place_and_the_cursor_stays_put() -> None:
    app = make_app(source_name="demo")
    async with app.run_test(size=(120, 30)) as pilot:
        await _load(pilot, app)
        await pilot.press("o", "g", "j")  # host order; cursor on the second row (#2)
        requests = app.main.requests
        assert requests.cursor_id == 2
        app.post_message(EventsArrived(seen([record(6, "b.example"), record(7, "0.example")])))
        await pilot.pause()
        assert _rows(app) == [7, 4, 6, 2, 5, 1, 3]
        assert requests.cursor_id == 2 and not requests.follow
        assert requests.ids == [1, 2, 3, 4, 5, 6, 7]


async def test_a_response_moves_its_row_when_sorted_by_status() -> None:
    app = make_app(source_name="demo")
    async with app.run_test(size=(120, 30)) as pilot:
        await _load(pilot, app, ["a.example", "b.example"])
        await _sort_by(pilot, app, "status")
        assert _rows(app) == [1, 2]
        app.post_message(EventsArrived([ResponseSeen(1, OK)]))
        await pilot.pause()
        assert _rows(app) == [2, 1]


async def test_filter_and_sort_work_together_and_the_filter_keeps_the_order() -> None:
    app = make_app(source_name="demo")
    async with app.run_test(size=(120, 30)) as pilot:
        await _load(pilot, app)
        await pilot.press("o", "f", *"!~d m\\.", "enter")
        await pilot.pause()
        assert _rows(app) == [4, 2, 5, 3]
        await pilot.press("f", *"~d c\\.|x\\.", "enter")
        await pilot.pause()
        assert _rows(app) == [2, 5, 3]
        assert "sorted by host ▲" in _status(app)


async def test_marks_delete_clear_and_undo_work_on_the_sorted_rows() -> None:
    app = make_app(source_name="demo")
    async with app.run_test(size=(120, 30)) as pilot:
        await _load(pilot, app)
        requests = app.main.requests
        await pilot.press("o", "g", "m")  # mark #4 (a.example, the first in host order)
        assert app.store.get(4).marked  # type: ignore[union-attr]
        await pilot.press("j", "d")  # delete #2, the second row
        assert _rows(app) == [4, 5, 1, 3]
        assert requests.cursor_id == 5  # the row after the deleted one
        await pilot.press("u")
        await pilot.pause()
        assert _rows(app) == [4, 2, 5, 1, 3]
        await pilot.press("M")
        await pilot.pause()
        assert _rows(app) == [4]
        await pilot.press("M", "z")
        await pilot.pause()
        assert _rows(app) == []
        await pilot.press("u")
        await pilot.pause()
        assert _rows(app) == [4, 2, 5, 1, 3]


async def test_search_n_and_the_detail_follow_the_sorted_order() -> None:
    app = make_app(source_name="demo")
    async with app.run_test(size=(120, 40)) as pilot:
        await _load(pilot, app)
        requests = app.main.requests
        await pilot.press("o", "g", "s", *"~d c\\.", "enter")
        await pilot.pause()
        assert requests.cursor_id == 2
        await pilot.press("n")
        assert requests.cursor_id == 5
        await pilot.press("n")
        assert requests.cursor_id == 2
        await pilot.press("g", "plus")
        detail = app.main.detail
        assert detail.entry_id == 4
        await pilot.press("j")
        await pilot.pause()
        assert detail.entry_id == 2
        await pilot.press("j")
        await pilot.pause()
        assert detail.entry_id == 5


async def test_follow_refused_in_reversed_time_order_names_the_key_that_takes_it_back() -> None:
    app = make_app(source_name="demo")
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await _load(pilot, app)
        await pilot.press("v", "F")  # time order reversed: v, not o, brings it back
        said = [n.message for n in app._notifications][-1]
        assert said == "sorted by time ▼: follow works in time order (v takes it back)"
        await pilot.press("o", "F")
        said = [n.message for n in app._notifications][-1]
        assert said.endswith("follow works in time order (o goes round to it)")


async def test_returning_to_time_order_resumes_follow_as_it_was() -> None:
    app = make_app(source_name="demo")
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await _load(pilot, app)
        requests = app.main.requests
        await pilot.press("o")
        await pilot.press("F")  # follow is refused while sorted, and the user is told why
        assert not requests.follow
        assert any("follow works in time order" in n.message for n in app._notifications)
        app.post_message(EventsArrived(seen([record(6, "0.example")])))
        await pilot.pause()
        await _sort_by(pilot, app, "time")
        assert _rows(app) == [1, 2, 3, 4, 5, 6]
        assert requests.follow and requests.cursor_id == 6
        assert "following" in _status(app) and "sorted" not in _status(app)
        assert requests.rows is requests.ids
        assert "▲" not in _header(app)

        # Not following before the sort: not following after it, the cursor on its row.
        await pilot.press("g", "o")
        await _sort_by(pilot, app, "time")
        assert not requests.follow and requests.cursor_id == 1


async def test_sorting_a_trimmed_window_drops_the_trimmed_rows_from_the_order_too() -> None:
    app = make_app(source_name="demo", window=5)
    async with app.run_test(size=(120, 30)) as pilot:
        await _load(pilot, app)
        await pilot.press("o")
        hosts = ["z.example", "b.example", "y.example"]
        app.post_message(EventsArrived(seen(record(i, h) for i, h in enumerate(hosts, 6))))
        await pilot.pause()
        requests = app.main.requests
        assert requests.ids == [4, 5, 6, 7, 8] and requests.start == 3
        assert _rows(app) == [4, 7, 5, 8, 6]
        # The status line says the sort holds the window's rows, not all 8 shown.
        line = status_text(app.main.status_line.status).plain
        assert line.endswith("8 shown · sorted by host ▲ (5 rows about the cursor; follow paused)")
        # Back in time order, every row is reached again.
        await _sort_by(pilot, app, "time")
        await pilot.press("g")
        assert requests.cursor_id == 1


async def test_sorting_by_identities_puts_the_demo_msisdn_first() -> None:
    app = make_app(source_name="demo")
    async with app.run_test(size=(80, 24)) as pilot:
        post_demo_capture(app)
        await pilot.pause()
        await _sort_by(pilot, app, "identities")
        first = app.store.get(_rows(app)[0])
        assert first is not None
        assert {f.severity for f in first.record.findings if f.is_identity} == {"high"}
        assert "IDENTITIES▼" in _header(app)
        assert "identities ▼" in status_text(app.main.status_line.status, narrow=True).plain


def _sorted_as_stored(app: HeaderwatchApp, order: Order, reverse: bool) -> list[int]:
    """The window's rows in ``order``, worked out from each entry as the store gives it."""
    keyed = []
    for rid in app.main.requests.ids:
        entry = app.store.get(rid)
        assert entry is not None
        head = sort_fields(entry.record)[order.fields]
        keyed.append((head, -rid if reverse else rid))
    return [abs(tie) for _, tie in sorted(keyed, reverse=reverse)]


async def test_a_window_of_spilled_and_held_rows_sorts_as_their_requests_say() -> None:
    store = Store(max_bytes=1 << 20)  # about 700 of these requests in memory
    app = make_app(store=store, window=2_000)
    total = 3_000

    def host(i: int) -> str:
        return f"h{i * 7919 % 101:03d}.example"

    def answer(i: int) -> ResponseSeen:
        status = (200, 301, 404, 500)[i * 31 % 4]
        return ResponseSeen(i, Response(T0 + i, "HTTP/1.1", status, "", ()))

    async with app.run_test(size=(100, 30)) as pilot:
        post_in_batches(
            app, (record(i, host(i), f"/p/{i * 13 % 997}") for i in range(1, total + 1))
        )
        # Responses to requests spilled in earlier batches, and to some in memory.
        app.post_message(EventsArrived([answer(i) for i in range(1001, total + 1, 3)]))
        await pilot.pause()
        requests = app.main.requests
        window = requests.ids
        assert len(window) == 2_000
        spilled = [rid for rid in window if store.held(rid) is None]
        assert 1_000 < len(spilled) < len(window)  # both kinds in the window
        for name in ("host", "path", "status", "identities"):
            await _sort_by(pilot, app, name)
            order = requests.order
            assert _rows(app) == _sorted_as_stored(app, order, order.descending)
        await pilot.press("v")
        assert _rows(app) == _sorted_as_stored(app, requests.order, not order.descending)
        await _sort_by(pilot, app, "status")
        # While sorted: a batch larger than memory (spilled before the list sees it)
        # and responses that move spilled rows.
        post_in_batches(
            app, (record(i, host(i), "/late") for i in range(total + 1, total + 1_201)), size=1_200
        )
        app.post_message(EventsArrived([answer(i) for i in range(total - 900, total + 1_201, 2)]))
        await pilot.pause()
        assert any(store.held(rid) is None for rid in range(total + 1, total + 1_201))
        assert _rows(app) == _sorted_as_stored(app, requests.order, reverse=False)
