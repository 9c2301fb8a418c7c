"""Saving the shown requests as a session keeps their whole connections (the save
dialog says how many requests that makes), and reopening it shows the shown ones."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.message import Message
from textual.widgets import RadioButton

from capture.formats.session import requests_kept
from capture.identity.detector import IdentityDetector
from capture.sources.source import FileSource
from capture.view.store import Entry, Snapshot, Store
from tests.tui.test_app import fill_save, wait_for, wait_for_file
from tui.app import HeaderwatchApp
from tui.common import demo_capture_path
from tui.messages import SourceFinished
from tui.screens import SaveScreen
from tui.status import status_text


def _app(path: str) -> HeaderwatchApp:
    return HeaderwatchApp(
        FileSource([path]),
        IdentityDetector(),
        utc=True,
        keymap={},
        session_paths=[path],
        batch_interval=0.02,
        confirm_quit=False,
    )


async def test_the_save_dialog_counts_the_requests_a_shown_session_will_hold(
    tmp_path: Path,
) -> None:
    messages: list[Message] = []
    app = _app(demo_capture_path())
    path = tmp_path / "shown.pcapng"
    async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:
        await wait_for(pilot, messages, SourceFinished)
        app.main.apply_filter("~d m.facebook.com & ~u rsrc")
        await pilot.pause()
        shown = list(app.main.requests.ids)
        assert len(shown) == 2
        assert requests_kept(app.store, shown) == 4  # each follows a profile.php request
        await pilot.press("w")
        screen = app.screen
        assert isinstance(screen, SaveScreen)
        await app.workers.wait_for_complete()
        await pilot.pause()
        label = str(screen.query_one("#scope-shown", RadioButton).label)
        assert label == "shown 2 requests (with their connections: 4 requests)"
        saw = [_seen(app, rid) for rid in shown]
        await fill_save(pilot, path, shown=True, fmt=None)
        await wait_for_file(pilot, path)

    messages.clear()
    again = _app(str(path))
    async with again.run_test(size=(120, 40), message_hook=messages.append) as pilot:
        await wait_for(pilot, messages, SourceFinished)
        await pilot.pause()
        assert len(again.store) == 4  # as the dialog said: the packets of the connections
        # ... and the view shows what was shown when it was saved, no more.
        for _ in range(100):
            if again.restored is not None:
                break
            await pilot.pause(0.02)
        await pilot.pause()
        assert [_seen(again, rid) for rid in again.main.requests.ids] == saw
        said = status_text(again.main.status_line.status).plain
        assert "saved view (2) of ~d m.facebook.com & ~u rsrc │" in said, said
        await pilot.press("exclamation_mark")  # the filter key lifts it, like a filter
        await pilot.pause()
        assert len(again.main.requests.ids) == 4
        said = status_text(again.main.status_line.status).plain
        assert "saved view (2) of ~d m.facebook.com & ~u rsrc (off) │" in said, said
        await pilot.press("exclamation_mark")
        await pilot.pause()
        assert [_seen(again, rid) for rid in again.main.requests.ids] == saw


def _seen(app: HeaderwatchApp, rid: int) -> tuple[float, str, str]:
    """What the user saw of a request (ids may differ between two openings)."""
    entry = app.store.get(rid)
    assert entry is not None
    req = entry.record.request
    return (req.ts, req.destination, req.uri)


async def test_the_save_dialog_opens_at_once_and_counts_in_a_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counting what a session of the shown requests holds walks the whole store
    (perhaps from disk): the dialog opens without waiting for it, the count comes
    when it is done, and the UI thread never walks the store."""
    messages: list[Message] = []
    app = _app(demo_capture_path())
    release = threading.Event()
    walkers: list[bool] = []
    real_iter = Snapshot.__iter__

    def slow_iter(snapshot: Snapshot) -> Iterator[Entry]:
        walkers.append(threading.current_thread() is threading.main_thread())
        release.wait(10)
        yield from real_iter(snapshot)

    async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:
        await wait_for(pilot, messages, SourceFinished)
        app.main.apply_filter("~d m.facebook.com & ~u rsrc")
        await pilot.pause()
        monkeypatch.setattr(Snapshot, "__iter__", slow_iter)
        monkeypatch.setattr(
            Store, "__iter__", lambda store: pytest.fail("the store walked on the UI thread")
        )
        await pilot.press("w")
        screen = app.screen
        assert isinstance(screen, SaveScreen)  # open while the count is still going
        label = screen.query_one("#scope-shown", RadioButton)
        assert str(label.label) == "shown 2 requests (with their connections: counting…)"
        release.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert str(label.label) == "shown 2 requests (with their connections: 4 requests)"
        assert walkers == [False]
        await pilot.press("escape")


async def test_no_count_when_every_request_is_shown() -> None:
    messages: list[Message] = []
    app = _app(demo_capture_path())
    async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:
        await wait_for(pilot, messages, SourceFinished)
        await pilot.press("w")
        screen = app.screen
        assert isinstance(screen, SaveScreen)
        assert not app.workers  # nothing hidden: nothing to count
        assert str(screen.query_one("#scope-shown", RadioButton).label) == "shown 28 requests"
        await pilot.press("escape")


def test_no_note_when_the_shown_requests_have_their_connections_to_themselves() -> None:
    from capture.model import RequestSeen
    from capture.view.store import Store
    from tests.tui.fakes import demo_capture_events

    events, _ = demo_capture_events()
    store = Store()
    store.apply([e for e in events if isinstance(e, RequestSeen)])
    assert requests_kept(store, [28]) == 1  # the last request is alone on its connection
    assert requests_kept(store, [1]) == 4  # the first shares its connection with 3 more
    assert requests_kept(store, []) == 0


async def test_quitting_asks_nothing_once_a_session_of_the_shown_requests_holds_every_note(
    tmp_path: Path,
) -> None:
    """The save said "with 2 marks and 1 comment", yet q asked "Unsaved marks or
    comments. Quit anyway?": only a session of all requests counted as saving them."""
    messages: list[Message] = []
    app = _app(demo_capture_path())
    async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:
        await wait_for(pilot, messages, SourceFinished)
        app.main.apply_filter("~d m.facebook.com & ~u rsrc")
        await pilot.pause()
        await pilot.press("g", "m", "down", "m", "semicolon", *"seen twice", "enter")
        await pilot.pause()
        assert app.unsaved() == "marks or comments"
        await pilot.press("w")
        await fill_save(pilot, tmp_path / "shown.pcapng", shown=True, fmt=None)
        await wait_for_file(pilot, tmp_path / "shown.pcapng")
        said = [n.message for n in app._notifications]
        assert any("with 2 marks and 1 comment" in line for line in said), said
        assert app.unsaved() == ""


async def test_quitting_still_asks_when_a_session_of_the_shown_requests_left_a_mark_out(
    tmp_path: Path,
) -> None:
    messages: list[Message] = []
    app = _app(demo_capture_path())
    async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:
        await wait_for(pilot, messages, SourceFinished)
        await pilot.press("G", "m")  # the last request: alone on its connection
        app.main.apply_filter("~d m.facebook.com & ~u rsrc")
        await pilot.pause()
        await pilot.press("g", "m")
        await pilot.press("w")
        await fill_save(pilot, tmp_path / "shown.pcapng", shown=True, fmt=None)
        await wait_for_file(pilot, tmp_path / "shown.pcapng")
        assert app.unsaved() == "marks or comments"
