"""Rendering of one request: what was added in transit is shown with what it carries."""

from __future__ import annotations

from capture.http.echo import ECHO_HEADER, encode_echo
from capture.view.store import Entry
from tests.capture.factories import finding, record, response
from tui.render import detail_text

SENT = (("Host", "bbc.co.uk"), ("User-Agent", "Mozilla/5.0"))


def _echoed(received: tuple[tuple[str, str], ...]) -> Entry:
    echo = response(headers=((ECHO_HEADER, encode_echo(received)),))
    msisdn = finding(name="x-up-calling-line-id", value="447700900123")
    return Entry(record(1, findings=(msisdn,), resp=echo, headers=SENT))


def test_headers_added_in_transit_are_listed_with_their_findings() -> None:
    entry = _echoed((*SENT, ("x-up-calling-line-id", "447700900123")))
    text = detail_text(entry).plain
    head, added = text.split("added in transit (received by the server, not sent from here):\n")
    assert "x-up-calling-line-id" not in head.split("Findings")[0]  # not among the sent headers
    assert added.startswith("+ x-up-calling-line-id: 447700900123\n    ◀ ")
    assert "+447700900123" in added.split("\n")[1]


def test_nothing_added_nothing_shown() -> None:
    assert "added in transit" not in detail_text(_echoed(SENT)).plain
    assert "added in transit" not in detail_text(Entry(record(1, resp=response()))).plain


def test_hostile_values_added_in_transit_are_escaped() -> None:
    entry = _echoed((*SENT, ("X-Evil", "\x1b]0;pwned\x07[red]x[/red]")))
    text = detail_text(entry)
    assert "\x1b" not in text.plain and "\x07" not in text.plain
    assert "+ X-Evil: \\x1b]0;pwned\\x07[red]x[/red]" in text.plain


def test_exposure_panel_says_the_same_token_was_sent_to_n_sites() -> None:
    from capture.view.exposure import Exposure
    from tui.exposure_panel import exposure_text

    token = "OTgxNTk2NDk0ADJVquRu5NS5+rSbBANlrp+13QL7CXLGsFHpMi4LsUHw"
    found = finding(
        "tracking_id",
        name="X-Mystery",
        value=token,
        normalized=token,
        detector="recurrence",
        severity="medium",
        detail="the same token sent to 3 sites: a.example, b.example, c.example",
    )
    exposure = Exposure()
    exposure.add(record(1, (found,), headers=(("Host", "c.example"),)))
    assert "the same token sent to 3 sites: a.example" in exposure_text(exposure).plain
