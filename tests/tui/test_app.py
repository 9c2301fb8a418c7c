"""Pilot tests of the dashboard over fake sources, harlequin style: collect the app's
messages with ``message_hook`` and assert on them and on the state they produced."""

from __future__ import annotations

import dataclasses
import io
import ipaddress
import json
import re
import threading
from pathlib import Path
from typing import TypeVar

import pytest
from textual.command import CommandPalette
from textual.containers import VerticalScroll
from textual.geometry import Region
from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import Input, Label, ProgressBar

from capture.config import ConfigError, load_config
from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.model import Notice, RequestSeen, ResponseSeen, StatsSnapshot
from capture.scan import scan
from capture.sources.source import FileSource
from tests.conftest import REPO
from tests.helpers import fresh_python
from tests.tui.fakes import (
    OK,
    FakeSource,
    demo_records,
    make_app,
    o2_frames,
    o2_record,
    record,
    seen,
    stats,
)
from tui import app as app_module
from tui.app import HeaderwatchApp, MainScreen, NoticeBox, SaveError, write_entries
from tui.common import DASHBOARD_RECURRENCE, demo_capture_path
from tui.detail import DetailPane
from tui.filter_bar import FilterBar, FilterInput
from tui.keys import ACTIONS, dashboard_settings
from tui.messages import EventsArrived, LoadProgress, SourceFinished, StatsUpdated
from tui.render import BADGE_STYLE, detail_text
from tui.request_list import RequestList
from tui.screens import (
    CommentScreen,
    HelpScreen,
    QuitScreen,
    SaveRequest,
    SaveScreen,
    help_text,
)
from tui.status import Status, status_text


def main(app: HeaderwatchApp) -> MainScreen:
    return app.main


def rows(app: HeaderwatchApp) -> list[int]:
    return list(app.main.requests.ids)


def status(app: HeaderwatchApp) -> str:
    return status_text(app.main.status_line.status).plain


M = TypeVar("M", bound=Message)


def sent(messages: list[Message], kind: type[M]) -> list[M]:
    """Each message of ``kind`` once (the hook sees a bubbling message at every level)."""
    out: list[M] = []
    ids: set[int] = set()
    for message in messages:
        if isinstance(message, kind) and id(message) not in ids:
            ids.add(id(message))
            out.append(message)
    return out


async def feed(pilot: Pilot[int], app: HeaderwatchApp, *events: object) -> None:
    """Post a batch as the capture thread would, and let the app take it in."""
    app.post_message(EventsArrived(list(events)))  # type: ignore[arg-type]
    await pilot.pause()


# -- events in, rows out -----------------------------------------------------------------


async def test_a_batch_becomes_rows_and_counters_reach_the_status_line() -> None:
    messages: list[Message] = []
    app = make_app()
    async with app.run_test(message_hook=messages.append) as pilot:
        await feed(pilot, app, *seen(demo_records()))
        app.post_message(StatsUpdated(stats(packets=259, requests=6, identities=6)))
        await pilot.pause()
        assert rows(app) == [1, 2, 3, 4, 5, 6]
        assert len(app.store) == 6
        [batch] = sent(messages, EventsArrived)
        assert [e.record.id for e in batch.events if isinstance(e, RequestSeen)] == list(
            range(1, 7)
        )
        line = status(app)
        assert "259 packets · 6 requests · 6 identities · 0 dropped" in line
        assert "6 shown" in line


async def test_batches_and_stats_in_flight_at_exit_go_to_the_store_not_the_screen() -> None:
    # CI caught it: the capture thread's stats update came after q, while the main
    # screen's widgets were being taken down, and the query for the list raised.
    app = make_app()
    async with app.run_test() as pilot:
        await feed(pilot, app, *seen(demo_records()[:2]))
        app.exit(0)
        await app.main.requests.remove()  # as the exit takes the widgets down
        app.on_stats_updated(StatsUpdated(stats(packets=9, requests=3, identities=3)))
        app.ingest(seen(demo_records()[2:3]))
        assert len(app.store) == 3  # kept: saved or kept from the store after the exit


async def test_stats_and_batches_after_a_shutdown_without_exit_touch_no_widget() -> None:
    # CI caught it: a test's run ended (Textual's shutdown, no exit() and so no return
    # value) while the capture thread's stats were in flight; the exposure panel was gone.
    app = make_app()
    async with app.run_test() as pilot:
        await feed(pilot, app, *seen(demo_records()[:2]))
    assert app.return_value is None  # no exit(): the widgets went all the same
    with_clock = StatsSnapshot(stats(packets=9).counters, 5.0)  # the panel advances on it
    app.on_stats_updated(StatsUpdated(with_clock))
    app.ingest(seen(demo_records()[2:3]))
    app.on_load_progress(LoadProgress(2, 10))
    app.on_source_finished(SourceFinished())
    assert len(app.store) == 3 and app.state == "done"


async def test_at_80_columns_a_request_with_an_msisdn_and_an_imei_shows_both() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await feed(pilot, app, *seen(demo_records()))
        await pilot.pause()
        listing = app.main.requests
        width = listing.scrollable_content_region.width
        index = len(listing.ids) - 1  # the ad request: IMEI and MSISDN
        line = "".join(seg.text for seg in listing._row_strip(index, width))
        assert "IMEI" in line
        assert "MSISDN" in line or "+1" in line


async def test_a_request_whose_app_is_known_shows_the_app_as_its_client() -> None:
    records = demo_records()
    last = records[-1]
    app_named = dataclasses.replace(
        last, request=dataclasses.replace(last.request, app="com.example.fruitgame")
    )
    app = make_app()
    # Wide enough for the CLIENT column beside the exposure panel (narrower, it drops).
    async with app.run_test(size=(200, 24)) as pilot:
        await feed(pilot, app, *seen([*records[:-1], app_named]))
        await pilot.pause()
        listing = app.main.requests
        width = listing.scrollable_content_region.width
        rows = ["".join(seg.text for seg in listing._row_strip(i, width)) for i in (0, -1)]
        assert "com.example.fruitgame" in rows[1]
        assert "com.example" not in rows[0] and records[0].request.src in rows[0]
        detail = detail_text(app.store.get(app_named.id))  # type: ignore[arg-type]
        assert "app com.example.fruitgame" in detail.plain


async def test_a_response_updates_its_row_in_place() -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await feed(pilot, app, RequestSeen(record(1)))
        assert app.store.get(1).record.response is None  # type: ignore[union-attr]
        await feed(pilot, app, ResponseSeen(1, OK))
        assert rows(app) == [1]
        assert app.store.get(1).record.response == OK  # type: ignore[union-attr]


async def test_drops_from_a_live_source_are_shown() -> None:
    app = make_app()
    async with app.run_test() as pilot:
        app.post_message(StatsUpdated(stats(packets=10, kernel_drops=3, queue_drops=2)))
        await pilot.pause()
        assert "5 dropped" in status(app)


async def _until_ended(pilot: Pilot[int], thread: threading.Thread) -> None:
    """Let the UI thread take events in until ``thread`` (a capture thread) ends."""
    for _ in range(200):
        await pilot.pause(0.02)
        if not thread.is_alive():
            break
    await pilot.pause()


async def test_a_live_capture_waits_while_the_screen_has_too_much_to_take_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Live as for a file: past MAX_BACKLOG events handed over and not taken in, the
    capture thread waits (its source's bounded queue then counts what it cannot keep)
    instead of queueing requests for the screen without bound; nothing is lost."""
    monkeypatch.setattr(app_module, "MAX_BACKLOG", 2)
    app = make_app()  # no total_bytes: a live source's batches
    async with app.run_test() as pilot:
        handed: list[int] = []

        def capture_thread() -> None:
            for rid in range(1, 6):
                app._on_batch(seen([record(rid)]))
                handed.append(rid)

        thread = threading.Thread(target=capture_thread, daemon=True)
        thread.start()
        # The UI thread is held here: it takes nothing in meanwhile.
        thread.join(1.0)
        assert thread.is_alive()
        assert handed == [1, 2, 3]
        await _until_ended(pilot, thread)
        assert handed == [1, 2, 3, 4, 5]
        assert rows(app) == [1, 2, 3, 4, 5]


async def test_a_live_capture_waits_while_the_screen_holds_too_many_bytes_to_take_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Few events but large ones (a sender of 64 KiB heads and bodies): past
    MAX_BACKLOG_BYTES handed over and not taken in, the capture thread waits too."""
    monkeypatch.setattr(app_module, "MAX_BACKLOG_BYTES", 1_000)
    app = make_app()
    async with app.run_test() as pilot:
        handed: list[int] = []

        def large(rid: int) -> RequestSeen:
            plain = record(rid)
            request = dataclasses.replace(plain.request, body=b"x" * 600)
            return RequestSeen(dataclasses.replace(plain, request=request))

        def capture_thread() -> None:
            for rid in range(1, 6):
                app._on_batch([large(rid)])
                handed.append(rid)

        thread = threading.Thread(target=capture_thread, daemon=True)
        thread.start()
        thread.join(1.0)
        # Two events of over 600 bytes each are more than 1,000: the third waits
        # (before, only the count of events was bounded, at 5,000).
        assert thread.is_alive()
        assert handed == [1, 2]
        await _until_ended(pilot, thread)
        assert handed == [1, 2, 3, 4, 5]
        assert rows(app) == [1, 2, 3, 4, 5]
        assert (app._backlog, app._backlog_bytes) == (0, 0)


async def test_notices_posted_apart_from_the_capture_do_not_loosen_the_backlog_bound() -> None:
    app = make_app()
    async with app.run_test() as pilot:
        app.post_message(EventsArrived([Notice("info", "a notice")]))
        await pilot.pause()
        # Before, each such notice was taken off the count of events it never added.
        assert (app._backlog, app._backlog_bytes) == (0, 0)


def test_status_messages_collapse_but_data_batches_never_do() -> None:
    a, b = StatsUpdated(stats(packets=1)), StatsUpdated(stats(packets=2))
    assert b.can_replace(a)
    assert LoadProgress(2, 10).can_replace(LoadProgress(1, 10))
    assert not EventsArrived([]).can_replace(EventsArrived([]))
    assert not StatsUpdated(stats()).can_replace(EventsArrived([]))


async def test_a_fake_frame_source_goes_through_the_real_runner_and_pipeline() -> None:
    messages: list[Message] = []
    source = FakeSource(o2_frames(3))
    app = HeaderwatchApp(source, IdentityDetector(), utc=True, keymap={}, batch_interval=0.02)
    async with app.run_test(message_hook=messages.append) as pilot:
        for _ in range(200):
            await pilot.pause(0.02)
            if any(isinstance(m, SourceFinished) for m in messages):
                break
        await pilot.pause()
        assert rows(app) == [1, 2, 3]
        entry = app.store.get(1)
        assert entry is not None
        assert [f.normalized for f in entry.record.identities] == ["+447700900123"]
        assert entry.record.response is not None  # paired by the pipeline
        assert any(isinstance(m, StatsUpdated) for m in messages)
        assert app.stats.get("requests") == 3
        assert app.state == "done"
        assert "fake done" in status(app)
        assert app.main.exposure.exposure.identity_requests == 3


async def test_file_sources_show_a_progress_bar_and_the_ui_stays_responsive() -> None:
    gate = threading.Event()
    messages: list[Message] = []
    source = FakeSource(o2_frames(4), gate=gate, hold_after=9, file_like=True)
    app = HeaderwatchApp(source, None, utc=True, keymap={}, batch_interval=0.02)
    async with app.run_test(message_hook=messages.append) as pilot:
        for _ in range(100):
            await pilot.pause(0.02)
            if any(isinstance(m, LoadProgress) and m.done for m in messages):
                break
        progress = app.main.query_one("#progress", ProgressBar)
        assert progress.has_class("-loading") and progress.display
        assert "loading" in status(app)
        # Still loading: the keys work.
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)
        gate.set()
        for _ in range(200):
            await pilot.pause(0.02)
            if any(isinstance(m, SourceFinished) for m in messages):
                break
        await pilot.pause()
        assert not progress.has_class("-loading")
        last = [m for m in messages if isinstance(m, LoadProgress)][-1]
        assert last.done == last.total
        assert len(rows(app)) == 4


async def test_notices_from_a_source_reach_the_user_even_before_the_app_runs() -> None:
    box = NoticeBox()
    box("warning", "t.pcap: capture is cut short; every request before the cut is shown")
    app = make_app()
    app.notice_boxes.append(box)
    async with app.run_test() as pilot:
        await pilot.pause()
        box("info", "second")
        await pilot.pause()
        assert [n.text for n in app.notices] == [
            "t.pcap: capture is cut short; every request before the cut is shown",
            "second",
        ]
        await feed(pilot, app, Notice("error", "[red]not markup[/]"))
        assert app.notices[-1].text == "[red]not markup[/]"


async def test_a_sources_error_stays_on_screen_longer_than_other_notices() -> None:
    """Why the capture stopped, said once, must not be gone in Textual's 5 seconds."""
    app = make_app()
    async with app.run_test() as pilot:
        await feed(pilot, app, Notice("info", "a notice"), Notice("error", "x.bin: unreadable"))
        timeouts = {n.message: n.timeout for n in app._notifications}
        assert timeouts == {"a notice": app.NOTIFICATION_TIMEOUT, "x.bin: unreadable": 30.0}
        assert app.NOTIFICATION_TIMEOUT < 30.0


# -- moving, following, pausing ---------------------------------------------------------


async def test_j_k_g_G_move_and_leaving_the_end_stops_following() -> None:
    messages: list[Message] = []
    app = make_app()
    async with app.run_test(message_hook=messages.append) as pilot:
        await feed(pilot, app, *seen(demo_records()))
        lst = app.main.requests
        assert lst.cursor_id == 6 and lst.follow
        await pilot.press("k")
        assert lst.cursor_id == 5
        assert not lst.follow
        assert [m.follow for m in sent(messages, RequestList.FollowChanged)] == [False]
        await pilot.press("g")
        assert lst.cursor_id == 1
        await pilot.press("j", "j")
        assert lst.cursor_id == 3
        # Not following: new rows do not move the cursor.
        await feed(pilot, app, RequestSeen(record(7)))
        assert lst.cursor_id == 3
        await pilot.press("G")
        assert lst.cursor_id == 7 and lst.follow
        await feed(pilot, app, RequestSeen(record(8)))
        assert lst.cursor_id == 8
        highlighted = [m.entry_id for m in sent(messages, RequestList.Highlighted)]
        assert highlighted[-3:] == [3, 7, 8]


async def test_F_toggles_follow() -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await feed(pilot, app, *seen(demo_records()[:3]))
        await pilot.press("F")
        assert not app.main.requests.follow
        assert "not following" in status(app)
        await feed(pilot, app, RequestSeen(record(4)))
        assert app.main.requests.cursor_id == 3
        await pilot.press("F")
        assert app.main.requests.follow and app.main.requests.cursor_id == 4
        assert "following" in status(app)


async def test_space_pauses_the_view_while_capture_and_counters_go_on() -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await feed(pilot, app, *seen(demo_records()[:2]))
        await pilot.press("space")
        assert "paused" in status(app)
        await feed(pilot, app, *seen([record(3), o2_record(4)]))
        app.post_message(StatsUpdated(stats(requests=4)))
        await pilot.pause()
        assert rows(app) == [1, 2]  # the view is frozen ...
        assert len(app.store) == 4  # ... the capture is not
        line = status(app)
        assert "paused · 2 new" in line and "4 requests" in line
        await pilot.press("space")
        assert rows(app) == [1, 2, 3, 4]
        assert "paused" not in status(app)


async def test_filter_while_paused_counts_only_matching_new_requests() -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await feed(pilot, app, *seen(demo_records()))
        await pilot.press("space")
        await feed(pilot, app, *seen([record(7), o2_record(8), o2_record(9)]))
        assert "paused · 3 new" in status(app)
        app.main.apply_filter("~id")
        await pilot.pause()
        assert rows(app) == [1, 3, 5, 6]
        assert "paused · 2 new" in status(app)
        await pilot.press("space")
        assert rows(app) == [1, 3, 5, 6, 8, 9]


# -- detail -------------------------------------------------------------------------------


async def test_enter_opens_the_detail_of_the_selected_request_and_esc_closes_it() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await feed(pilot, app, *seen(demo_records()))
        await pilot.press("g")
        detail = app.main.query_one(DetailPane)
        assert not detail.display
        await pilot.press("enter")
        assert detail.display and detail.entry_id == 1
        text = detail.query_one("#detail-text").render()
        plain = str(text)
        # The header block as sent, wire order, identity header annotated.
        lines = plain.splitlines()
        start = lines.index("GET /sport/0/football/ HTTP/1.1")
        assert lines[start + 1 : start + 6] == [
            "Host: www.bbc.co.uk",
            "User-Agent: Mozilla/5.0 (iPhone)",
            "Cookie: s=1; uid=abc",
            "Via: 1.1 o2proxy-lon4",
            "x-up-calling-line-id: 447700900123",
        ]
        assert "msisdn +447700900123 · +44 7700 900123 · GB mobile (catalog, high)" in plain
        assert "  uid = abc" in plain  # cookies broken out
        assert "HTTP/1.1 200 OK" in plain
        # The detail follows the cursor.
        await pilot.press("j")
        assert detail.entry_id == 2
        await pilot.press("escape")
        assert not detail.display


async def test_double_click_opens_the_detail_and_a_click_selects() -> None:
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await feed(pilot, app, *seen(demo_records()))
        lst = app.main.requests
        # Row 0 of the widget is the header; row 2 shows the second request.
        await pilot.click(RequestList, offset=(20, 2))
        assert lst.cursor_id == 2
        assert not lst.follow
        await pilot.double_click(RequestList, offset=(20, 3))
        assert lst.cursor_id == 3
        assert app.main.detail.display and app.main.detail.entry_id == 3


async def test_the_detail_breaks_out_query_parameters_and_names_anomalies() -> None:
    app = make_app()
    rec = record(
        1,
        "ads.adnetwork.example",
        "/v2/ad?app=fruit&imei=490154203237518&q=a%20b",
        anomalies=["obs-fold in header X-Long (joined with a space)", "gap of 12 bytes"],
        findings=demo_records()[-1].findings,
    )
    async with app.run_test(size=(120, 50)) as pilot:
        await feed(pilot, app, RequestSeen(rec))
        await pilot.press("enter")
        plain = str(app.main.detail.query_one("#detail-text").render())
        assert "Query parameters" in plain
        assert "  imei = 490154203237518   ◀ imei 490154203237518 · IMEI" in plain
        assert "  q = a b" in plain
        assert "⚠ obs-fold in header X-Long" in plain and "⚠ gap of 12 bytes" in plain
        assert "(none yet)" in plain  # no response
        app.post_message(SourceFinished())
        await pilot.pause()
        plain = str(app.main.detail.query_one("#detail-text").render())
        assert "(none in the input)" in plain  # read to its end: none will come


# -- filter -------------------------------------------------------------------------------


async def type_filter(pilot: Pilot[int], text: str) -> None:
    field = pilot.app.screen.query_one(FilterInput)
    field.value = ""
    await pilot.press(*text)


async def test_f_applies_a_filter_and_bang_toggles_it() -> None:
    messages: list[Message] = []
    app = make_app()
    async with app.run_test(message_hook=messages.append) as pilot:
        await feed(pilot, app, *seen(demo_records()))
        await pilot.press("f")
        bar = app.main.query_one(FilterBar)
        assert bar.is_open and app.focused is bar.input
        await type_filter(pilot, "~d bbc|guardian")
        await pilot.press("enter")
        await pilot.pause()
        assert rows(app) == [1, 3]
        assert not bar.is_open and app.focused is app.main.requests
        [applied] = sent(messages, FilterBar.Applied)
        assert applied.expr == "~d bbc|guardian"
        assert "filter ~d bbc|guardian" in status(app)
        await pilot.press("exclamation_mark")
        assert rows(app) == [1, 2, 3, 4, 5, 6]
        assert "(off)" in status(app)
        await pilot.press("exclamation_mark")
        assert rows(app) == [1, 3]
        # New requests are filtered as they arrive.
        await feed(pilot, app, *seen([record(7, "www.bbc.co.uk"), record(8, "example.org")]))
        assert rows(app) == [1, 3, 7]


async def test_slash_opens_the_filter_too_and_esc_leaves_it_unchanged() -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await feed(pilot, app, *seen(demo_records()))
        await pilot.press("slash")
        assert app.main.filter_bar.is_open
        await type_filter(pilot, "~id")
        await pilot.press("escape")
        assert not app.main.filter_bar.is_open
        assert rows(app) == [1, 2, 3, 4, 5, 6] and app.main.view.filter_expr == ""


async def test_an_invalid_filter_is_shown_while_typing_and_not_applied() -> None:
    messages: list[Message] = []
    app = make_app()
    async with app.run_test(message_hook=messages.append) as pilot:
        await feed(pilot, app, *seen(demo_records()))
        await pilot.press("f")
        await type_filter(pilot, "~d (bbc")
        bar = app.main.filter_bar
        assert bar.has_class("-invalid")
        message = str(bar.query_one("#filter-message").render())
        assert message.startswith("✗ ")
        await pilot.press("enter")
        await pilot.pause()
        assert bar.is_open  # stays open with the error ...
        assert rows(app) == [1, 2, 3, 4, 5, 6]  # ... and nothing was applied
        assert not sent(messages, FilterBar.Applied)
        # Fixing it clears the error.
        await pilot.press("backspace", "backspace", "backspace", "backspace")
        await pilot.press("b", "b", "c")
        assert bar.input.value == "~d bbc"
        assert not bar.has_class("-invalid")
        assert "✓" in str(bar.query_one("#filter-message").render())


async def test_a_long_filter_error_wraps_at_80_columns_with_its_position_first() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await feed(pilot, app, *seen(demo_records()))
        await pilot.press("f")
        await type_filter(pilot, "~id bbc")
        bar = app.main.filter_bar
        message = bar.query_one("#filter-message")
        # Every line of it is on screen: the line under the input grows.
        strips = message.render_lines(Region(0, 0, *message.size))
        shown = "".join("".join(strip.text.split()) for strip in strips)
        assert len(strips) >= 2
        assert shown.startswith("✗at4:~idbbcmatchesnofindingkind(kinds:msisdn,")
        assert shown.endswith("device_profile)")
        assert message.region.bottom <= app.main.status_line.region.y


async def test_up_and_down_in_the_filter_input_walk_the_history() -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await feed(pilot, app, *seen(demo_records()))
        for expr in ("~d bbc", "~id"):
            await pilot.press("f")
            await type_filter(pilot, expr)
            await pilot.press("enter")
        await pilot.press("f")
        field = app.main.query_one(FilterInput)
        assert field.value == "~id"  # the current filter
        await type_filter(pilot, "~m GET")
        await pilot.press("up")
        assert field.value == "~id"
        await pilot.press("up")
        assert field.value == "~d bbc"
        await pilot.press("up")
        assert field.value == "~d bbc"
        await pilot.press("down")
        assert field.value == "~id"
        await pilot.press("down")
        assert field.value == "~m GET"  # the draft comes back


async def test_an_empty_filter_shows_everything() -> None:
    app = make_app(initial_filter="~id")
    async with app.run_test() as pilot:
        await feed(pilot, app, *seen(demo_records()))
        assert rows(app) == [1, 3, 5, 6]
        await pilot.press("f")
        await type_filter(pilot, "")
        await pilot.press("enter")
        await pilot.pause()
        assert rows(app) == [1, 2, 3, 4, 5, 6]


# -- marks, comments, clear -----------------------------------------------------------------


async def test_m_marks_and_M_shows_marked_only() -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await feed(pilot, app, *seen(demo_records()))
        await pilot.press("g", "m", "j", "j", "m")
        assert [e.record.id for e in app.store if e.marked] == [1, 3]
        await pilot.press("M")
        assert rows(app) == [1, 3]
        assert "marked only" in status(app)
        # Unmarking while only marked ones are shown takes the row away.
        await pilot.press("g", "m")
        assert rows(app) == [3]
        await pilot.press("M")
        assert rows(app) == [1, 2, 3, 4, 5, 6]


async def test_semicolon_comments_the_selected_request() -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await feed(pilot, app, *seen(demo_records()))
        await pilot.press("g", "semicolon")
        assert isinstance(app.screen, CommentScreen)
        await pilot.press(*"O2 adds my number")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        assert app.store.get(1).comment == "O2 adds my number"  # type: ignore[union-attr]
        # Escape cancels without touching it.
        await pilot.press("semicolon", "x", "escape")
        assert app.store.get(1).comment == "O2 adds my number"  # type: ignore[union-attr]
        app.main.apply_filter("~comment number")
        await pilot.pause()
        assert rows(app) == [1]


async def test_z_clears_the_view_but_the_store_keeps_everything() -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await feed(pilot, app, *seen(demo_records()))
        await pilot.press("z")
        assert rows(app) == []
        assert len(app.store) == 6
        assert app.main.exposure.exposure.requests == 0
        await feed(pilot, app, RequestSeen(record(7)))
        assert rows(app) == [7]
        # A new filter does not bring the cleared rows back.
        app.main.apply_filter("~all")
        await pilot.pause()
        assert rows(app) == [7]


# -- save and export -----------------------------------------------------------------------


async def fill_save(pilot: Pilot[int], path: Path, *, shown: bool, fmt: str | None) -> None:
    screen = pilot.app.screen
    assert isinstance(screen, SaveScreen)
    if shown:
        await pilot.click("#scope-shown")
    if fmt is not None:
        await pilot.click(f"#format-{fmt}")
    screen.query_one("#save-path", Input).value = str(path)
    await pilot.click("#save-ok")
    await pilot.pause()


async def wait_for_file(pilot: Pilot[int], path: Path) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    assert path.exists(), f"{path} was not written"


async def test_a_har_export_of_every_request_keeps_the_marks_a_jsonl_one_does_not(
    tmp_path: Path,
) -> None:
    # open brings a HAR's marks and comments back: quitting after exporting one asked
    # about marks the file held. A JSONL export holds none of them.
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await feed(pilot, app, *seen(demo_records()))
        await pilot.press("g", "m")
        assert app.unsaved() == "marks or comments"
        await pilot.press("x")
        await fill_save(pilot, tmp_path / "e.jsonl", shown=False, fmt="jsonl")
        await wait_for_file(pilot, tmp_path / "e.jsonl")
        assert app.unsaved() == "marks or comments"
        await pilot.press("x")
        await fill_save(pilot, tmp_path / "e.har", shown=False, fmt="har")
        await wait_for_file(pilot, tmp_path / "e.har")
        await pilot.pause()
        assert app.unsaved() == ""


async def test_saving_over_a_file_that_exists_asks_once_then_replaces_it(tmp_path: Path) -> None:
    earlier = tmp_path / "earlier.jsonl"
    earlier.write_text("earlier evidence\n")
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await feed(pilot, app, *seen(demo_records()))
        await pilot.press("x")
        await fill_save(pilot, earlier, shown=False, fmt="jsonl")
        screen = app.screen
        assert isinstance(screen, SaveScreen), "the dialog closed without asking"
        said = str(screen.query_one("#save-error", Label).content)
        assert said == "earlier.jsonl exists: Enter or Save again replaces it"
        await app.workers.wait_for_complete()
        assert earlier.read_text() == "earlier evidence\n"
        screen.query_one("#save-path", Input).focus()
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, SaveScreen)
        await app.workers.wait_for_complete()
        assert app.saved == [str(earlier)]
        assert earlier.read_text().count("\n") == len(demo_records())


async def test_x_exports_jsonl_of_all_or_shown_requests(tmp_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await feed(pilot, app, *seen(demo_records()))
        await pilot.press("g", "m", "semicolon", *"note", "enter")
        await pilot.press("x")
        all_path = tmp_path / "all.jsonl"
        await fill_save(pilot, all_path, shown=False, fmt="jsonl")
        await wait_for_file(pilot, all_path)
        lines = [json.loads(x) for x in all_path.read_text().splitlines()]
        assert [x["id"] for x in lines] == [1, 2, 3, 4, 5, 6]
        assert lines[0]["marked"] is True and lines[0]["comment"] == "note"
        assert lines[0]["findings"][0]["normalized"] == "+447700900123"
        app.main.apply_filter("~id")
        await pilot.pause()
        await pilot.press("x")
        shown_path = tmp_path / "shown.jsonl"
        await fill_save(pilot, shown_path, shown=True, fmt="jsonl")
        await wait_for_file(pilot, shown_path)
        ids = [json.loads(x)["id"] for x in shown_path.read_text().splitlines()]
        assert ids == [1, 3, 5, 6]


async def test_x_exports_har(tmp_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await feed(pilot, app, *seen(demo_records()))
        await pilot.press("x")
        path = tmp_path / "out.har"
        await fill_save(pilot, path, shown=False, fmt="har")
        await wait_for_file(pilot, path)
        har = json.loads(path.read_text())
        assert len(har["log"]["entries"]) == 6


@pytest.mark.parametrize("fmt", ["jsonl", "har", "table"])
async def test_a_redacted_export_hides_client_addresses_and_keeps_one_pseudonym_each(
    tmp_path: Path, fmt: str
) -> None:
    records = demo_records()
    clients = {r.request.src for r in records}
    assert clients == {"192.0.2.10", "203.0.113.7"}
    app = make_app(redact=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await feed(pilot, app, *seen(records))
        await pilot.press("x")
        path = tmp_path / f"out.{fmt}"
        await fill_save(pilot, path, shown=False, fmt=fmt)
        await wait_for_file(pilot, path)
    text = path.read_text()
    assert [a for a in clients if a in text] == []
    if fmt == "table":
        given = [line.split()[1].rsplit(":", 1)[0] for line in text.splitlines()[1:]]
    else:
        # headerwatch reads the export back, pseudonyms and all.
        out = io.StringIO()
        assert scan([str(path)], out=out, err=io.StringIO()) == 0
        given = [json.loads(line)["src"] for line in out.getvalue().splitlines()]
    assert len(given) == len(records)
    # One pseudonym per client (correlation kept), in the benchmarking range.
    pairs = set(zip((r.request.src for r in records), given, strict=True))
    assert len(pairs) == len({p for _, p in pairs}) == len(clients)
    assert all(ipaddress.ip_address(p) in ipaddress.ip_network("198.18.0.0/15") for _, p in pairs)


@pytest.mark.parametrize("fmt", ["jsonl", "har", "table"])
async def test_a_redacted_export_masks_a_supercookie_in_the_requests_before_it_was_found(
    tmp_path: Path, fmt: str
) -> None:
    """The dashboard counts recurring tokens (at 3 sites): the first two requests
    carried the token before it was found, and are exported with it masked."""
    from tests.helpers import SUPERCOOKIE, supercookie_capture

    capture = supercookie_capture(tmp_path)
    messages: list[Message] = []
    app = HeaderwatchApp(
        FileSource([capture]),
        IdentityDetector(IdentityConfig(recurrence=DASHBOARD_RECURRENCE)),
        utc=True,
        keymap={},
        batch_interval=0.02,
        redact=True,
    )
    path = tmp_path / f"out.{fmt}"
    async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:
        await wait_for(pilot, messages, SourceFinished)
        await pilot.pause()
        assert len(app.store) == 4
        await pilot.press("x")
        await fill_save(pilot, path, shown=False, fmt=fmt)
        await wait_for_file(pilot, path)
    text = path.read_text()
    assert SUPERCOOKIE[:16] not in text
    assert len(set(re.findall(r"<tracking_id …74 #[0-9a-f]{10}>", text))) == 1


async def test_q_with_unsaved_marks_asks_and_n_stays_and_y_quits() -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await feed(pilot, app, *seen(demo_records()))
        await pilot.press("g", "m", "q")
        assert isinstance(app.screen, QuitScreen)
        assert "marks or comments" in str(app.screen.query_one("#quit-question").render())
        await pilot.press("n")
        assert isinstance(app.screen, MainScreen) and app.is_running
        await pilot.press("q", "y")
        await pilot.pause()
    assert app.return_code == 0


@pytest.mark.parametrize("keymap", [{}, {"headerwatch.save": "s"}])
async def test_the_save_key_the_quit_prompt_offers_closes_it_and_saves(
    keymap: dict[str, str],
) -> None:
    """The prompt says "w saves a session": w there did nothing (n, then w, did)."""
    app = make_app(keymap=keymap)
    key = keymap.get("headerwatch.save", "w")
    async with app.run_test() as pilot:
        saves: list[bool] = []
        app.main.action_save = lambda: saves.append(True)  # type: ignore[method-assign]
        await feed(pilot, app, *seen(demo_records()))
        await pilot.press("g", "m", "q")
        assert isinstance(app.screen, QuitScreen)
        assert any(
            f"{key} saves a session" in str(label.render()) for label in app.screen.query(Label)
        )
        await pilot.press(key)
        await pilot.pause()
        assert isinstance(app.screen, MainScreen) and app.is_running and saves == [True]


async def test_q_quits_at_once_with_nothing_unsaved_or_confirm_quit_off() -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await feed(pilot, app, *seen(demo_records()))
        await pilot.press("q")
        await pilot.pause()
        assert not isinstance(app.screen, QuitScreen)
    assert app.return_code == 0
    app = make_app(confirm_quit=False)
    async with app.run_test() as pilot:
        await feed(pilot, app, *seen(demo_records()))
        await pilot.press("g", "semicolon", *"note", "enter", "q")
        await pilot.pause()
        assert not isinstance(app.screen, QuitScreen)
    assert app.return_code == 0


async def test_q_during_a_recorded_live_capture_with_new_requests_asks() -> None:
    app = make_app(recording=object())
    async with app.run_test() as pilot:
        assert app.unsaved() == ""
        await feed(pilot, app, *seen(demo_records()))
        assert app.unsaved() == "live capture"
        await pilot.press("q")
        assert isinstance(app.screen, QuitScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


def test_confirm_quit_is_read_from_the_ui_table_of_the_config(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[ui]\nconfirm_quit = false\n")
    assert dashboard_settings(load_config(str(config)))[1] is False
    config.write_text('[keys]\nquit = "q"\n')
    assert dashboard_settings(load_config(str(config)))[1] is True
    config.write_text('[ui]\nconfirm_quit = "no"\n')
    with pytest.raises(ConfigError, match="confirm_quit must be true or false"):
        dashboard_settings(load_config(str(config)))


def test_an_app_given_neither_setting_reads_both_from_one_load_of_the_default_config(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from capture.config import default_config_path

    config = default_config_path()  # under the test's own XDG_CONFIG_HOME
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('[keys]\npause = "p"\n[ui]\nconfirm_quit = false\n')
    loads: list[object] = []
    real_load = app_module.load_config
    monkeypatch.setattr(
        app_module, "load_config", lambda path: loads.append(path) or real_load(path)
    )
    app = HeaderwatchApp(None, None)
    assert (app.keymap, app.confirm_quit, app.config_error) == (
        {"headerwatch.pause": "p"},
        False,
        None,
    )
    assert loads == [None]
    # Given one, the other is still read from the file.
    assert HeaderwatchApp(None, None, keymap={}).confirm_quit is False
    assert HeaderwatchApp(None, None, confirm_quit=True).keymap == {"headerwatch.pause": "p"}
    # A file it cannot use gives the defaults and says why (shown when the app starts).
    config.write_text("[ui]\nconfirm_quit = 1\n")
    app = HeaderwatchApp(None, None)
    assert (app.keymap, app.confirm_quit) == ({}, True)
    assert app.config_error is not None and "confirm_quit must be true or false" in app.config_error


async def test_a_saved_session_clears_the_unsaved_state(tmp_path: Path) -> None:
    demo = demo_capture_path()
    messages: list[Message] = []
    app = HeaderwatchApp(
        FileSource([demo]),
        IdentityDetector(),
        utc=True,
        keymap={},
        session_paths=[demo],
        batch_interval=0.02,
        confirm_quit=True,
    )
    path = tmp_path / "s.pcapng"
    async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:
        await wait_for(pilot, messages, SourceFinished)
        await pilot.press("g", "m")
        assert app.unsaved() == "marks or comments"
        await pilot.press("w")
        await fill_save(pilot, path, shown=False, fmt=None)
        await wait_for_file(pilot, path)
        await pilot.pause()
        assert app.unsaved() == ""
        await pilot.press("q")
        await pilot.pause()
        assert not isinstance(app.screen, QuitScreen)
    assert app.return_code == 0


async def wait_for(pilot: Pilot[int], messages: list[Message], kind: type[Message]) -> None:
    for _ in range(500):
        await pilot.pause(0.02)
        if any(isinstance(m, kind) for m in messages):
            return
    raise AssertionError(f"no {kind.__name__}")


async def wait_restored(pilot: Pilot[int], messages: list[Message]) -> None:
    """The source read and the marks and comments of its sessions put back."""
    await wait_for(pilot, messages, SourceFinished)
    app = pilot.app
    assert isinstance(app, HeaderwatchApp)
    for _ in range(200):
        await pilot.pause(0.02)
        if app.restored is not None:
            return


def _inputs(tmp_path: Path) -> dict[str, str]:
    """Files of every kind, by name: what the status line counts in each."""
    engines = REPO / "tests" / "data" / "engines" / "suricata"
    eve = str(engines / "docs-dump-all-headers.eve.json")  # one http event, one other
    zeek = tmp_path / "http.log"
    zeek.write_text(
        '{"ts":1700000000.0,"uid":"C1","id.orig_h":"10.0.0.2","id.orig_p":40000,'
        '"id.resp_h":"192.0.2.1","id.resp_p":80,"trans_depth":1,"method":"GET",'
        '"host":"a.example","uri":"/z"}\n'
    )
    jsonl = tmp_path / "records.jsonl"
    scan([eve], out=jsonl.open("w"), err=io.StringIO())
    return {
        "eve": eve,
        "eve without http": str(engines / "verify-output-eve-fileinfo.eve.json"),
        "zeek": str(zeek),
        "har": str(REPO / "tests" / "data" / "har" / "chrome51.har"),
        "jsonl": str(jsonl),
        "capture": demo_capture_path(),
    }


@pytest.mark.parametrize(
    ("names", "counts"),
    [
        (["eve"], "1 HTTP event · 1 request · "),
        (["eve without http"], "0 HTTP events · 0 requests · "),
        (["zeek"], "1 HTTP log record · 1 request · "),
        (["har"], "27 HAR entries · 27 requests · "),
        (["jsonl"], "1 record · 1 request · "),
        (["capture"], "259 packets · 28 requests · "),
        (["capture", "eve"], "259 packets · 1 HTTP event · 29 requests · "),
        (["eve", "zeek"], "2 records · 2 requests · "),  # kinds whose words differ
    ],
)
async def test_the_status_line_counts_what_a_log_or_record_file_holds_not_packets(
    tmp_path: Path, names: list[str], counts: str
) -> None:
    paths = [_inputs(tmp_path)[name] for name in names]
    messages: list[Message] = []
    app = HeaderwatchApp(
        FileSource(paths), IdentityDetector(), utc=True, keymap={}, batch_interval=0.02
    )
    async with app.run_test(size=(120, 24), message_hook=messages.append) as pilot:
        await wait_for(pilot, messages, SourceFinished)
        await pilot.pause()
        line = status(app)
    # Before, a log said "0 packets · 1 request": a capture's words, and nothing it read.
    assert f"│ {counts}" in line, line
    assert ("packet" in line) == ("capture" in names), line


async def test_w_saves_a_session_and_open_brings_marks_and_comments_back(tmp_path: Path) -> None:
    demo = demo_capture_path()
    messages: list[Message] = []
    app = HeaderwatchApp(
        FileSource([demo]),
        IdentityDetector(),
        utc=True,
        keymap={},
        session_paths=[demo],
        batch_interval=0.02,
    )
    path = tmp_path / "s.pcapng"
    async with app.run_test(
        size=(120, 40), message_hook=messages.append, notifications=True
    ) as pilot:
        await wait_for(pilot, messages, SourceFinished)
        await pilot.pause()
        assert len(app.store) == 28
        await pilot.press("g", "m", "j", "semicolon", *"my number", "enter")
        await pilot.press("w")
        assert isinstance(app.screen, SaveScreen)
        await fill_save(pilot, path, shown=False, fmt=None)
        await wait_for_file(pilot, path)
        assert app.saved == [str(path)]
        # Said plainly: what the file holds of the user's own work.
        said = [n.message for n in app._notifications]
        assert f"saved 259 frames to {path}, with 1 mark and 1 comment" in said

    messages.clear()
    again = HeaderwatchApp(
        FileSource([str(path)]),
        IdentityDetector(),
        utc=True,
        keymap={},
        session_paths=[str(path)],
        batch_interval=0.02,
    )
    async with again.run_test(size=(120, 40), message_hook=messages.append) as pilot:
        await wait_restored(pilot, messages)
        assert again.restored is not None and again.restored.marked == 1
        assert [e.record.id for e in again.store if e.marked] == [1]
        assert again.store.get(2).comment == "my number"  # type: ignore[union-attr]
        await pilot.press("M")
        assert rows(again) == [1]


async def test_save_dialog_escape_cancels() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await feed(pilot, app, *seen(demo_records()))
        await pilot.press("x")
        assert isinstance(app.screen, SaveScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


# -- help, palette, quit, keymap ----------------------------------------------------------


async def test_question_mark_shows_help_and_escape_closes_it() -> None:
    app = make_app()
    async with app.run_test(size=(120, 50)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one("#help-text").render())
        assert "~id [kind]" in text and "Follow" in text
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


async def test_j_and_k_scroll_the_help_as_the_arrows_do_and_a_remapping_holds_there_too() -> None:
    app = make_app(keymap={"headerwatch.down": "ctrl+n"})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        scroll = app.screen.query_one(VerticalScroll)
        assert scroll.scroll_y == 0
        await pilot.press("j", "j", "j")
        assert scroll.scroll_y == 0  # j is no longer "down"
        await pilot.press("ctrl+n", "ctrl+n", "ctrl+n")
        assert scroll.scroll_y == 3
        await pilot.press("k")
        assert scroll.scroll_y == 2
        await pilot.press("G")
        assert scroll.scroll_y == scroll.max_scroll_y > 3
        await pilot.press("g")
        assert scroll.scroll_y == 0
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark", "j", "j")
        assert app.screen.query_one(VerticalScroll).scroll_y == 2


async def test_help_keys_that_come_together_scroll_it_a_step_each() -> None:
    # tmux send-keys of 24 j's, or a held key: the keys of one frame each scroll.
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        scroll = app.screen.query_one(VerticalScroll)
        for _ in range(5):
            app.screen.action_scroll_help("scroll_down")
        await pilot.pause()
        assert scroll.scroll_y == 5
        page = scroll.scrollable_content_region.height
        for _ in range(2):
            app.screen.action_scroll_help("page_down")
        await pilot.pause()
        assert scroll.scroll_y == min(5 + 2 * page, scroll.max_scroll_y)


async def test_colon_opens_the_command_palette_and_its_commands_work() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await feed(pilot, app, *seen(demo_records()))
        await pilot.press("colon")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"identities only")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        assert app.main.view.filter_expr == "~id"
        assert rows(app) == [1, 3, 5, 6]
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"marked only")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert app.main.view.marked_only


async def test_q_quits() -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_keys_can_be_remapped() -> None:
    app = make_app(keymap={"headerwatch.follow": "ctrl+f", "headerwatch.quit": "ctrl+q"})
    async with app.run_test() as pilot:
        await feed(pilot, app, *seen(demo_records()[:2]))
        await pilot.press("F")
        assert app.main.requests.follow  # F no longer bound
        await pilot.press("ctrl+f")
        assert not app.main.requests.follow
        await pilot.press("question_mark")
        text = str(app.screen.query_one("#help-text").render())
        assert "ctrl+f" in text
        await pilot.press("escape")
        await pilot.press("q")  # not quit any more
        assert app.is_running


# -- bounds ------------------------------------------------------------------------------------


async def test_the_list_draws_a_bounded_window_and_the_keys_reach_every_row() -> None:
    app = make_app(window=50)
    async with app.run_test(size=(80, 24)) as pilot:
        await feed(pilot, app, *seen(record(i) for i in range(1, 101)))
        ids = rows(app)
        assert len(ids) <= 60 and ids[-1] == 100
        await feed(pilot, app, *seen(record(i) for i in range(101, 131)))
        ids = rows(app)
        assert len(ids) <= 60 and ids[-1] == 130
        assert len(app.store) == 130
        requests = app.main.requests
        assert requests.total == 130
        assert "130 shown" in status(app)
        # Re-filtering keeps the window too.
        app.main.apply_filter("~m GET")
        await pilot.pause()
        assert rows(app) == list(range(81, 131)) and requests.total == 130
        # g and home: the oldest; G and end: the newest, following again.
        await pilot.press("g")
        assert requests.cursor_id == 1 and rows(app)[0] == 1
        assert not requests.follow
        await pilot.press("end")
        assert requests.cursor_id == 130 and requests.follow
        await pilot.press("home")
        assert requests.cursor_id == 1
        await pilot.press("G")
        # Up goes on past the window's top, a row at a time ...
        for _ in range(129):
            await pilot.press("up")
        assert requests.cursor_id == 1
        # ... and page up and page down a page at a time, both ways.
        await pilot.press("G")
        seen_ids = {requests.cursor_id}
        while requests.cursor_id != 1:
            await pilot.press("pageup")
            seen_ids.add(requests.cursor_id)
        page = requests._rows_visible
        assert len(seen_ids) == -(-129 // page) + 1
        while requests.cursor_id != 130:
            await pilot.press("pagedown")
        assert "130 shown" in status(app)


async def test_moving_the_window_keeps_the_rows_on_screen_in_place() -> None:
    app = make_app(window=50)
    async with app.run_test(size=(80, 24)) as pilot:
        await feed(pilot, app, *seen(record(i) for i in range(1, 131)))
        requests = app.main.requests
        await pilot.press("G")
        while requests.start + requests.cursor > requests.start:
            await pilot.press("up")
        top = requests.cursor_id
        assert top is not None and top > 1
        assert int(requests.scroll_y) == requests.cursor  # the window's first row, on top
        await pilot.press("up")
        # The row above came into view at the top, the rest one line down.
        assert requests.cursor_id == top - 1
        assert requests.rows[int(requests.scroll_y)] == top - 1


async def test_the_exposure_series_move_on_while_a_live_capture_is_quiet() -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await feed(pilot, app, RequestSeen(record(1)))
        exposure = app.main.exposure.exposure
        first = exposure.latest_second
        assert first is not None
        app.post_message(StatsUpdated(StatsSnapshot((("packets", 3),), clock=first + 30.5)))
        await pilot.pause()
        assert exposure.latest_second == first + 30
        requests, _ = exposure.series()
        assert requests[-1] == 0 and sum(requests) == 1  # a quiet second, the one request


async def _loaded(app: HeaderwatchApp) -> list[tuple[str, tuple[str, ...]]]:
    """(uri, identities) of every entry once the app has read its whole source."""
    messages: list[Message] = []
    async with app.run_test(message_hook=messages.append) as pilot:
        for _ in range(300):
            await pilot.pause(0.02)
            if any(isinstance(m, SourceFinished) for m in messages):
                break
        await pilot.pause()
        return [
            (e.record.request.uri or "", tuple(f.normalized for f in e.record.identities))
            for e in app.store
        ]


async def test_open_of_headerwatch_jsonl_shows_what_open_of_the_capture_shows(
    tmp_path: Path,
) -> None:
    from capture.scan import scan

    jsonl = tmp_path / "demo.jsonl"
    with jsonl.open("w", encoding="utf-8") as out:
        scan([demo_capture_path()], detector=IdentityDetector(), out=out, err=io.StringIO())

    def app_over(path: str) -> HeaderwatchApp:
        source = FileSource([path])
        return HeaderwatchApp(source, IdentityDetector(), utc=True, keymap={}, batch_interval=0.02)

    from_capture = await _loaded(app_over(demo_capture_path()))
    from_records = await _loaded(app_over(str(jsonl)))
    assert len(from_capture) == 28
    assert from_records == from_capture
    assert (
        "/v2/ad?app=com.example.fruitgame&imei=490154203237518&fmt=json&w=320&h=50",
        ("+447700900123", "490154203237518"),
    ) in from_records


async def test_open_of_a_har_shows_its_requests_identities_and_what_it_lacks(
    tmp_path: Path,
) -> None:
    from capture.scan import scan

    har = tmp_path / "demo.har"
    with har.open("w", encoding="utf-8") as out:
        scan([demo_capture_path()], fmt="har", detector=IdentityDetector(), out=out,
             err=io.StringIO())  # fmt: skip
    # As a browser would have written it: no headerwatch fields.
    doc = json.loads(har.read_text(encoding="utf-8"))
    for entry in doc["log"]["entries"]:
        for key in [k for k in entry if k.startswith("_")]:
            del entry[key]
    har.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    notes: list[str] = []
    source = FileSource([str(har)], notify=lambda level, text: notes.append(text))
    app = HeaderwatchApp(source, IdentityDetector(), utc=True, keymap={}, batch_interval=0.02)
    loaded = await _loaded(app)
    assert len(loaded) == 28
    assert (
        "http://ads.adnetwork.example/v2/ad?app=com.example.fruitgame&imei=490154203237518"
        "&fmt=json&w=320&h=50",
        ("+447700900123", "490154203237518"),
    ) in loaded
    assert [n for n in notes if "HAR written by headerwatch" in n] == [
        f"{har}: HAR written by headerwatch {doc['log']['creator']['version']}: no client "
        "address or port; no raw head; header order is the tool's listing, not necessarily "
        "the wire's; no request target as sent; the URL stands in"
    ]


async def test_an_export_that_fails_shows_the_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await feed(pilot, app, *seen(demo_records()))
        # A refused directory: the export's own one-line error.
        await pilot.press("x")
        await fill_save(pilot, tmp_path / "missing" / "out.har", shown=False, fmt="har")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SaveScreen)  # still open: the name can be changed
        said = str(screen.query_one("#save-error", Label).content)
        missing = tmp_path.resolve() / "missing"
        assert said.endswith(f"no such directory {missing}; nothing exported")
        await pilot.press("escape")
        # Anything else going wrong in the writer is shown too, never swallowed,
        # and so is a failure after the dialog was closed.

        release = threading.Event()

        def broken(*_: object, **__: object) -> str:
            release.wait(10)
            raise RuntimeError("disk on fire")

        monkeypatch.setattr("tui.app.write_entries", broken)
        await pilot.press("x")
        await fill_save(pilot, tmp_path / "out.har", shown=False, fmt="har")
        await pilot.press("escape")
        release.set()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert any(
            "not written: RuntimeError: disk on fire" in n.message for n in app._notifications
        )


async def test_the_evidence_chain_in_the_dashboard_badge_filters_save_and_reopen(
    tmp_path: Path,
) -> None:
    """A tethered laptop's capture of requests a reflector echoed (a carrier added a
    number and stripped Accept on one): the INJ badge, ~inj, ~hn and ~rm find it,
    the detail shows what was received, and a saved session reopens the same."""
    from tests.capture.test_echo_paths import NUMBER, _lab_capture

    capture = _lab_capture(tmp_path)
    detector = IdentityDetector(IdentityConfig(region="GB"))

    def app_over(path: str) -> HeaderwatchApp:
        return HeaderwatchApp(FileSource([path]), detector, utc=True, keymap={},
                              session_paths=[path], batch_interval=0.02)  # fmt: skip

    def evidence(app: HeaderwatchApp) -> list[tuple[str, tuple[str, ...], tuple[str, ...]]]:
        return [
            (e.record.request.uri or "", e.injected,
             tuple(n for n, _ in e.record.transit.removed) if e.record.transit else ())
            for e in app.store
        ]  # fmt: skip

    messages: list[Message] = []
    app = app_over(capture)
    session = tmp_path / "evidence.pcapng"
    async with app.run_test(size=(160, 40), message_hook=messages.append) as pilot:
        await wait_for(pilot, messages, SourceFinished)
        await pilot.pause()
        first = evidence(app)
        [reflected] = [e for e in app.store if e.injected]
        assert reflected.injected == ("X-MSISDN",)
        assert [f.normalized for f in reflected.record.identities] == [f"+{NUMBER}"]
        row = app.main.requests._row_strip(app.main.requests.ids.index(reflected.id), 160)
        assert "INJ" in "".join(segment.text for segment in row)
        for expr in ("~inj", "~inj x-msisdn", "~hn x-msisdn", f"~h 'x-msisdn: {NUMBER}'",
                     "~rm accept"):  # fmt: skip
            app.main.apply_filter(expr)
            await pilot.pause()
            assert rows(app) == [reflected.id], expr
        app.main.apply_filter("")
        await pilot.pause()
        detail = detail_text(reflected, utc=True).plain
        assert f"+ X-MSISDN: {NUMBER}  ⇢ injected in transit" in detail
        assert "- Accept: */*  ⇢ removed in transit (not received)" in detail
        await pilot.press("w")
        await fill_save(pilot, session, shown=False, fmt=None)
        await wait_for_file(pilot, session)

    messages.clear()
    again = app_over(str(session))
    async with again.run_test(size=(160, 40), message_hook=messages.append) as pilot:
        await wait_for(pilot, messages, SourceFinished)
        await pilot.pause()
        assert evidence(again) == first


def test_the_help_legend_colours_imei_as_high_like_its_findings() -> None:
    text = help_text({})
    legend = text.plain.index("Colours")
    styles = {
        text.plain[span.start : span.end].strip(): str(span.style)
        for span in text.spans
        if span.start > legend
    }
    assert styles["IMEI"] == BADGE_STYLE["high"]
    assert styles["MSISDN"] == BADGE_STYLE["high"]
    assert "IMEI medium" not in " ".join(text.plain.split())


def test_every_key_of_the_help_has_its_description_apart_from_its_name() -> None:
    lines = help_text({}).plain.splitlines()
    for action in ACTIONS:
        [line] = [line for line in lines if line.endswith(f" {action.name}")][:1]
        # "Copy identity valuecopy_value" ran the two together.
        assert f"{action.description} " in line, line


@pytest.mark.parametrize("width", [60, 76, 88])
def test_the_help_wraps_each_line_under_its_own_column_at_a_narrow_width(width: int) -> None:
    # At 80x24 a long meaning wrapped to column 0, under the keys ("bodies are not
    # kept)"), and the examples broke inside one ("!~d" / "example").
    lines = help_text({}, width).plain.splitlines()
    assert all(len(line) <= width for line in lines), max(lines, key=len)
    body = lines.index(next(line for line in lines if line.startswith("  ~b rex")))
    assert lines[body + 1].startswith(" " * 24) and lines[body + 1].strip()
    assert any(line.strip() == "!~d example" or line.endswith("!~d example") for line in lines)
    assert not any(line.startswith(("example", "bodies")) for line in lines)
    # Laid out, not cut: the same words in the same order (an example that starts a
    # line loses the "·" before it).
    words = [[w for w in help_text({}, at).plain.split() if w != "·"] for at in (None, width)]
    assert words[0] == words[1]


def test_the_live_status_line_says_live_once() -> None:
    line = status_text(Status(source="live lo", state="live")).plain
    assert line.startswith("live lo │") and "live lo live" not in line
    done = status_text(Status(source="live lo", state="done")).plain
    assert done.startswith("live lo done")
    assert status_text(Status(source="demo", state="live")).plain.startswith("demo live")


def test_the_dashboard_leaves_the_report_writer_and_the_regex_engine_until_used() -> None:
    """Starting a dashboard imports neither the evidence report's writer (a command of
    the palette) nor RE2 (a filter or search with a regex): about 6 MB that a live
    dashboard carried for nothing. Each comes when first used."""
    code = (
        "import sys, tui.cmd_live, tui.launch, tui.app\n"
        "print(sorted(m for m in ('re2', 'capture.report.write') if m in sys.modules))\n"
        "from capture.view.filter import compile_filter\n"
        "compile_filter('~h x-up-(calling|imsi)')\n"
        "print(sorted(m for m in ('re2',) if m in sys.modules))\n"
    )
    assert fresh_python(code).split("\n")[:2] == ["[]", "['re2']"]


def test_a_report_the_palette_cannot_write_says_why_in_one_line(tmp_path: Path) -> None:
    """The report's own error (a source of the session gone since) reaches the save
    dialog as the one line it is, like any other save's."""
    request = SaveRequest(str(tmp_path / "report.md"), "all", "md")
    gone = str(tmp_path / "gone.pcapng")
    with pytest.raises(SaveError, match=r"^\S*gone\.pcapng: no such file$"):
        write_entries(request, [], None, sources=[gone], source_name="live lo")
    assert not (tmp_path / "report.md").exists()


async def test_the_palette_writes_an_evidence_report_of_the_shown_requests_saying_so(
    tmp_path: Path,
) -> None:
    demo = demo_capture_path()
    messages: list[Message] = []
    app = HeaderwatchApp(
        FileSource([demo]),
        IdentityDetector(),
        utc=True,
        keymap={},
        session_paths=[demo],
        batch_interval=0.02,
    )
    async with app.run_test(
        size=(120, 40), message_hook=messages.append, notifications=True
    ) as pilot:
        await wait_for(pilot, messages, SourceFinished)
        await pilot.pause()
        app.main.apply_filter("~id tracking_id")
        await pilot.pause()
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"evidence report")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        path = tmp_path / "report.md"
        await fill_save(pilot, path, shown=True, fmt="md")
        await wait_for_file(pilot, path)
        text = path.read_text(encoding="utf-8").replace("\\", "")
        assert (
            "The tracking ID <tracking_id …74 #" in text
            and "went to 1 site (www.example.com)" in text
        )
        assert "x-up-calling-line-id" not in text  # only what was shown
        # ...and says so: "went to 1 site" is not what the whole capture (hashed) holds.
        assert (
            "a selection: 1 of the 28 requests the dashboard held, those its view showed "
            "(filter ~id tracking_id); the other 27 are in no count here" in text
        )
        assert "| 28 | 2012-01-10 14:23:16 UTC | www.example.com |" in text
        assert text.count(" | 244 | ") == 1  # its frame in the demo capture
        assert any(
            "wrote the evidence report of 1 request " in n.message for n in app._notifications
        )
        await pilot.press("ctrl+p")
        await pilot.press(*"evidence report")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        await fill_save(pilot, tmp_path / "no" / "such" / "dir.html", shown=False, fmt=None)
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SaveScreen)  # kept open with the name, saying why
        assert "no report written" in str(screen.query_one("#save-error", Label).content)


@pytest.mark.parametrize("kind", ["pcapng", "records"])
def test_a_saved_session_cites_the_catalog_and_region_its_findings_were_made_with(
    tmp_path: Path, kind: str
) -> None:
    """As ``--version`` and a report name them: a config's changes to the catalog too."""
    from capture.formats.record_session import load_record_annotations
    from capture.formats.session import read_session_info
    from capture.identity.detector import HeaderRule
    from capture.pipeline import Pipeline
    from capture.sources.frames import CaptureFile
    from capture.version import catalog_version
    from capture.view.store import Entry

    demo = demo_capture_path()
    config = IdentityConfig(
        region="GB",
        headers=(HeaderRule("x-acme-subscriber", "subscriber_id", "high"),),
        disabled=("x-up-calling-line-id",),
    )
    detector = IdentityDetector(config)
    capture = CaptureFile(demo)
    try:
        events = list(Pipeline(detector).run(capture))
    finally:
        capture.close()
    store = [Entry(e.record) for e in events if isinstance(e, RequestSeen)]
    path = tmp_path / ("s.pcapng" if kind == "pcapng" else "s.jsonl")
    request = SaveRequest(str(path), "all", kind)
    write_entries(request, store, None, sources=[demo], source_name="demo", detector=detector)
    if kind == "records":
        info, _ = load_record_annotations(str(path))
    else:
        info = read_session_info(str(path))
    assert info is not None and info.region == "GB"
    assert info.catalog == (
        f"{catalog_version()}, as the configuration changed it: added x-acme-subscriber; "
        "disabled x-up-calling-line-id"
    )


async def test_with_an_echo_key_the_status_line_counts_the_unsigned_echoes_it_ignored(
    tmp_path: Path,
) -> None:
    """A site that answers with an echo of its own making: with --echo-key, its
    "injection" is not shown, and the status line says an echo was ignored."""
    from capture.http.echo_key import set_echo_key
    from tests.capture.test_echo_paths import NUMBER, _two_sites

    key = bytes(range(32))
    set_echo_key(key)
    try:
        messages: list[Message] = []
        app = HeaderwatchApp(
            FileSource([_two_sites(tmp_path, key)]),
            IdentityDetector(IdentityConfig(region="GB")),
            utc=True,
            keymap={},
            batch_interval=0.02,
        )
        async with app.run_test(size=(200, 40), message_hook=messages.append) as pilot:
            await wait_for(pilot, messages, SourceFinished)
            await pilot.pause()
            line = status(app)
            identities = [f.normalized for e in app.store for f in e.record.identities]
    finally:
        set_echo_key(None)
    assert identities == [f"+{NUMBER}"]
    assert "1 unsigned echo ignored" in line, line
