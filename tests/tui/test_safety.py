"""Header values are data: markup and terminal controls in them are shown, never obeyed.

Every place wire data reaches the screen is checked with hostile values: the
request list, the detail pane, the exposure panel, the status line, the title.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
from rich.console import Console
from rich.segment import Segment
from rich.text import Text

from capture.http.echo import transit
from capture.model import Finding, RequestSeen, Response
from capture.view.exposure import Exposure
from capture.view.store import Entry
from tests.tui.fakes import make_app, record
from tui.exposure_panel import exposure_text
from tui.messages import EventsArrived
from tui.render import detail_text
from tui.request_list import RequestList
from tui.status import Status, status_text

HOSTILE = [
    "[red]RED[/red]",
    "[link=https://evil.example/]click[/link]",
    "[/]",
    "[bold",
    "\x1b[2J\x1b[H",  # clear screen, home
    "\x1b]0;pwned title\x07",  # OSC: set window title, BEL
    "\x1b]8;;https://evil.example/\x1b\\link\x1b]8;;\x1b\\",  # OSC 8 hyperlink
    "\x1b]52;c;cHduZWQ=\x07",  # OSC 52: write the clipboard
    "abc\rXYZ",  # carriage return overwrites
    "secret\x08\x08\x08\x08\x08\x08public",  # backspaces
    "\x9b31m",  # 8-bit CSI
    "\u202eevil\u202c",  # bidi override
    "4477\u200b00900124 a\u200d\u200c\ufeffb\u00ad\u2060",  # shows as another value
    "bad\udcff\udcfebytes",  # undecodable bytes kept as surrogates
    "tab\there",
]

CONTROL = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\udc80-\udcff"
    "\u00ad\u061c\u180e\u200b-\u200f\u2060-\u2064\ufeff]"
)


def hostile_record(value: str, rid: int = 1) -> Entry:
    finding = Finding(
        name=f"x-evil-{value}",
        where="header",
        kind="msisdn",
        value=value,
        normalized=value,
        detector="catalog",
        severity="high",
        detail=value,
    )
    rec = record(
        rid,
        host=value,
        uri=f"/{value}?q={value}",
        method="GET",
        headers=[("Host", value), (f"x-evil-{value}", value), ("Cookie", f"c={value}")],
        findings=[finding],
        anomalies=[value],
        response=Response(0.0, "HTTP/1.1", 200, value, ((value, value),)),
    )
    sent = rec.request.headers
    received = (*sent, (f"x-evil-{value}", value))
    return Entry(dataclasses.replace(rec, transit=transit(sent, received)), comment=value)


def rendered(text: Text) -> list[Segment]:
    console = Console(width=200, force_terminal=True, color_system="truecolor")
    return list(console.render(text))


def assert_inert(text: Text, value: str) -> None:
    """No control character survives, no link style appears, markup stays literal."""
    plain = text.plain
    assert not CONTROL.search(plain.replace("\n", "")), repr(plain)
    for segment in rendered(text):
        assert segment.style is None or not segment.style.link, segment
        assert not CONTROL.search(segment.text.replace("\n", "")), repr(segment.text)
    if value.startswith("["):
        assert value in plain  # shown as typed


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_the_detail_pane_shows_hostile_values_inert(value: str) -> None:
    entry = hostile_record(value)
    text = detail_text(entry, utc=True)
    assert_inert(text, value)


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_the_exposure_panel_shows_hostile_values_inert(value: str) -> None:
    exposure = Exposure()
    exposure.add(hostile_record(value).record)
    assert_inert(exposure_text(exposure), value)


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_the_status_line_shows_a_hostile_source_and_filter_inert(value: str) -> None:
    assert_inert(status_text(Status(source=value, filter=value)), value)


def test_escapes_are_shown_as_hex() -> None:
    text = detail_text(hostile_record("\x1b]0;pwned\x07"), utc=True)
    assert "\\x1b]0;pwned\\x07" in text.plain
    text = detail_text(hostile_record("bad\udcffbytes"), utc=True)
    assert "bad\\xffbytes" in text.plain


async def test_hostile_values_in_the_running_app_stay_inert() -> None:
    app = make_app(source_name="[red]\x1b]0;t\x07")
    entries = [hostile_record(v, i + 1) for i, v in enumerate(HOSTILE)]
    async with app.run_test(size=(160, 50)) as pilot:
        app.post_message(EventsArrived([RequestSeen(e.record) for e in entries]))
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        lst = app.main.query_one(RequestList)
        # Every visible line of the list, header included.
        for y in range(lst.size.height):
            strip = lst.render_line(y)
            line = "".join(s.text for s in strip)
            assert not CONTROL.search(line), repr(line)
            assert all(s.style is None or not s.style.link for s in strip)
        visible = "".join(
            "".join(s.text for s in lst.render_line(y)) for y in range(lst.size.height)
        )
        assert "[red]RED[/red]" in visible and "[link=https://evi" in visible
        detail = app.main.detail.query_one("#detail-text")
        content = detail.render()
        assert not CONTROL.search(str(content).replace("\n", ""))
        assert app.sub_title == "[red]\\x1b]0;t\\x07"
        # The whole screen as the terminal would get it: no raw ESC from the data.
        svg = app.export_screenshot()
        assert "pwned" not in svg or "\\x1b" in svg
