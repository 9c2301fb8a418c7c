"""A comment is easy to find: while a row has one, the list has a COMMENT column
(between HOST and PATH), and a comment is the first thing in the detail."""

from __future__ import annotations

from capture.view.store import Entry
from tests.tui.fakes import demo_capture_events, make_app
from tui.messages import EventsArrived, StatsUpdated
from tui.render import detail_text


async def test_a_comment_shows_in_its_row_and_at_the_top_of_the_detail() -> None:
    app = make_app(source_name="demo")
    async with app.run_test(size=(80, 24)) as pilot:
        events, counters = demo_capture_events()
        app.post_message(EventsArrived(events))
        app.post_message(StatsUpdated(counters))
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
        assert detail.split("\n")[1] == "✎ IMEI to ads"


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
