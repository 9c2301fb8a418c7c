"""A comment is easy to find: while a row has one, the list has a COMMENT column
(between HOST and PATH), and a comment is the first thing in the detail."""

from __future__ import annotations

from capture.view.store import Entry, Store
from tests.tui.fakes import (
    demo_capture_events,
    make_app,
    post_demo_capture,
    post_in_batches,
    record,
)
from tui.render import detail_text


async def test_a_comment_shows_in_its_row_and_at_the_top_of_the_detail() -> None:
    app = make_app(source_name="demo")
    async with app.run_test(size=(80, 24)) as pilot:
        post_demo_capture(app)
        await pilot.pause()
        requests = app.main.requests
        assert "COMMENT" not in requests.render_line(0).text  # no comment, no column
        await pilot.press("k", "semicolon", *"IMEI to ads", "enter")
        await pilot.pause()
        header = requests.render_line(0).text
        assert "HOST                 COMMENT    PATH " in header, header
        row = requests.render_line(requests.cursor - int(requests.scroll_y) + 1).text
        assert "✎" in row and "IMEI to a… /v2/ad" in row, row  # COMMENT: half of PATH
        assert "MSISDN   IMEI" in row  # the badges keep their place
        other = requests.render_line(requests.cursor - int(requests.scroll_y)).text
        assert "✎" not in other and "IMEI to ads" not in other
        await pilot.press("enter")
        await pilot.pause()
        detail = app.main.detail.query_one("#detail-text").render().plain  # type: ignore[attr-defined]
        # Right under the heading, whose parts wrap whole at 80 columns (two lines).
        lines = detail.split("\n")
        assert lines.index("✎ IMEI to ads") == 2 and "flow" in lines[1], lines[:3]


async def test_the_column_comes_back_as_the_window_reaches_a_spilled_comment() -> None:
    store = Store(max_bytes=1 << 20)  # most of them spilled to disk
    app = make_app(store=store, window=300)
    async with app.run_test(size=(80, 24)) as pilot:
        post_in_batches(app, (record(i, uri=f"/p/{i}") for i in range(1, 3_001)))
        await pilot.pause()
        requests = app.main.requests
        await pilot.press("g", "semicolon", *"first seen", "enter")
        await pilot.pause()
        assert store.held(1) is None and "COMMENT" in requests.render_line(0).text
        await pilot.press("G")  # the window of the newest rows: none has a comment
        assert requests.start > 0 and "COMMENT" not in requests.render_line(0).text
        await pilot.press("g")
        assert "COMMENT" in requests.render_line(0).text
        assert "first seen" in requests.render_line(1).text


def test_a_comment_with_newlines_and_escapes_leads_the_detail_escaped() -> None:
    events, _ = demo_capture_events()
    from capture.model import RequestSeen

    record = next(e.record for e in events if isinstance(e, RequestSeen))
    entry = Entry(record)
    entry.comment = "line one\nline two \x1b[31m " + "x" * 200
    text = detail_text(entry).plain
    # Whitespace and control characters are escaped in the detail, never passed on.
    assert "\x1b" not in text
    assert text.split("\n")[1].startswith("✎ line one")
