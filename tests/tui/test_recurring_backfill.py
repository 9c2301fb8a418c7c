"""A recurring token's finding, in the dashboard, on every request that carried it: the
first sites too (the exposure panel, its hosts, filters and exports show them all)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from textual.message import Message

from capture.formats.export import export
from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.sources.source import FileSource
from capture.view.exposure import Exposure
from tests.capture.identity.factory import ZORK_SITES, ZORK_TOKEN, zork_har
from tests.helpers import SUPERCOOKIE_SITES, supercookie_capture
from tests.tui.fakes import make_app, post_in_batches, record
from tests.tui.test_app import wait_for
from tui.app import HeaderwatchApp
from tui.exposure_panel import exposure_text, summary_text
from tui.messages import SourceFinished
from tui.status import status_text

FIVE = "the same token sent to 5 sites: " + ", ".join(ZORK_SITES)


def _detector(recurrence: int = 3) -> IdentityDetector:
    return IdentityDetector(IdentityConfig(region="GB", recurrence=recurrence))


def _app(path: Path, detector: IdentityDetector, view_filter: str = "") -> HeaderwatchApp:
    return HeaderwatchApp(
        FileSource([str(path)]),
        detector,
        utc=True,
        keymap={},
        batch_interval=0.02,
        confirm_quit=False,
        initial_filter=view_filter,
    )


def _recurring(app: HeaderwatchApp) -> list[list[tuple[str, str]]]:
    return [
        [(f.where, f.name) for f in e.record.findings if f.detector == "recurrence"]
        for e in app.store
    ]


@asynccontextmanager
async def _loaded(app: HeaderwatchApp) -> AsyncIterator[None]:
    """``app`` running, its source read to the end."""
    messages: list[Message] = []
    async with app.run_test(size=(200, 50), message_hook=messages.append) as pilot:
        await wait_for(pilot, messages, SourceFinished)
        await pilot.pause()
        yield


def _section(text: str, title: str) -> list[str]:
    return text.split(title + "\n", 1)[1].split("\n\n", 1)[0].splitlines()


async def test_the_requests_that_took_a_token_to_its_first_sites_get_its_finding(
    tmp_path: Path,
) -> None:
    app = _app(zork_har(tmp_path / "rec4.har"), _detector(), "~id tracking_id")
    async with _loaded(app):
        both = [("header", "X-Zork-Tag"), ("cookie", "zqk")]
        assert _recurring(app) == [both] * 5
        first = next(iter(app.store)).record.findings
        # The same finding as the 3rd site's (kind, detector, detail), on the 1st site.
        assert {(f.kind, f.value, f.severity, f.detail) for f in first} == {
            ("tracking_id", ZORK_TOKEN, "medium", app.store.get(3).record.findings[0].detail)
        }
        # The filter shows every site that received it.
        assert len(app.main.requests.ids) == 5
        text = exposure_text(app.main.exposure.exposure).plain
        identity = text.split("● TRKID", 1)[1].split("\n\n", 1)[0]
        for site in ZORK_SITES:
            assert f"→ www.{site}  1 req" in identity, identity
        hosts = _section(text, "Hosts ← identities they received")
        assert sorted(line.split()[2] for line in hosts) == sorted(f"www.{s}" for s in ZORK_SITES)
        # The detail is the latest count, not the 3rd site's.
        assert FIVE in text.replace("\n  ", " ")
        # An export (shown requests) carries the finding on the first sites too.
        out = tmp_path / "shown.har"
        shown = [app.store.get(rid) for rid in app.main.requests.ids]
        export([e for e in shown if e is not None], str(out), "har")
        entries = json.loads(out.read_text())["log"]["entries"]
        assert [len(e["_identityFindings"]) for e in entries] == [2] * 5


async def test_a_token_across_batches_and_one_below_the_number_of_sites_gets_no_finding() -> None:
    detector = _detector(4)
    records = []
    for rid, host in enumerate(ZORK_SITES[:3] + ("other.example",) * 2, start=1):
        token = ZORK_TOKEN if rid <= 3 else ZORK_TOKEN[::-1]
        rec = record(rid, f"www.{host}", headers=[("Host", f"www.{host}"), ("X-Zork-Tag", token)])
        records.append(rec.__class__(rec.id, rec.request, detector.detect(rec.request)))
    app = make_app(detector=detector)
    async with app.run_test(size=(200, 50)) as pilot:
        post_in_batches(app, records, size=1)
        await pilot.pause()
        # Three sites of four: nothing to give, nothing given.
        assert _recurring(app) == [[]] * 5
        more = record(
            6, "www.delta.org", headers=[("Host", "www.delta.org"), ("X-Zork-Tag", ZORK_TOKEN)]
        )
        post_in_batches(app, [more.__class__(6, more.request, detector.detect(more.request))])
        await pilot.pause()
        one = [("header", "X-Zork-Tag")]
        assert _recurring(app) == [one, one, one, [], [], one]
        text = exposure_text(app.main.exposure.exposure).plain
        assert "  1 req  www.alpha-news.com ← TRKID" in _section(
            text, "Hosts ← identities they received"
        )


async def test_opening_an_export_without_the_first_sites_keeps_the_token_found(
    tmp_path: Path,
) -> None:
    app = _app(zork_har(tmp_path / "rec4.har"), _detector(), "~id tracking_id")
    async with _loaded(app):
        pass
    # What ~id tracking_id showed in a scan's stream (the 3rd site on), less one: two
    # sites, too few for the token to be found again when the file is read.
    s3 = tmp_path / "s3.jsonl"
    entries = [e for e in app.store if e.record.id >= 4]
    export(entries, str(s3), "jsonl")
    again = _app(s3, _detector())
    async with _loaded(again):
        both = [("header", "X-Zork-Tag"), ("cookie", "zqk")]
        assert _recurring(again) == [both] * 2
        status = status_text(again.main.status_line.status).plain
        assert "0 ids" not in status, status
        assert "● TRKID" in exposure_text(again.main.exposure.exposure).plain


def test_the_exposure_summary_says_how_many_earlier_requests_the_backfill_left_out() -> None:
    exposure = Exposure()
    assert "table full" not in summary_text(exposure).plain
    text = summary_text(exposure, unfilled=2).plain
    assert "2 earlier requests without its token's finding (table full)" in text


async def test_the_status_line_counts_the_identities_the_backfill_gave(tmp_path: Path) -> None:
    # The tester's case: "5 requests · 2 identities" while the exposure panel counted
    # 4 requests with the token, and the same file saved and reopened said "4 ids".
    app = _app(zork_har(tmp_path / "sc.har", ZORK_SITES[:4]), _detector())
    async with _loaded(app):
        assert _recurring(app) == [[("header", "X-Zork-Tag"), ("cookie", "zqk")]] * 4
        # Two identities a request (the header and the cookie), on all 4.
        assert app.stats.get("identities") == 8 and app.stats.get("identity_requests") == 4
        assert "4 requests · 8 identities" in status_text(app.main.status_line.status).plain
        narrow = status_text(app.main.status_line.status, narrow=True).plain
        assert "8 ids" in narrow, narrow


async def test_a_token_a_carrier_injects_is_on_every_request_it_reached(tmp_path: Path) -> None:
    # The token is in no request as sent: each reflector's echo shows it added. Only
    # the requests from its third site on got the finding; the report gave all four.
    app = _app(Path(supercookie_capture(tmp_path, injected=True)), _detector())
    async with _loaded(app):
        assert _recurring(app) == [[("header", "X-Sub-Tag")]] * len(SUPERCOOKIE_SITES)
