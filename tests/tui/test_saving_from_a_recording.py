"""``w`` on a live capture saves from its recording (``-w`` or the spool), even a full one.

The capture here is the bundled demo file run through a recording, as a live
source is in ``headerwatch live``; the real thing, in a network namespace, is in
``test_live_dashboard.py``.
"""

from __future__ import annotations

import errno
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import Input

from capture.formats.pcapng import PcapngWriter
from capture.formats.session import read_session_info, restore
from capture.identity.detector import IdentityDetector
from capture.model import Event, Parsed
from capture.pipeline import Pipeline
from capture.sources.frames import CaptureFile, Frame
from capture.sources.recording import RecordingSource
from capture.sources.source import FileSource, Halt
from capture.sources.spool import Spool
from capture.text import counted
from capture.view.store import Store
from tui.app import HeaderwatchApp
from tui.cmd_live import dashboard
from tui.common import demo_capture_path
from tui.messages import SourceFinished
from tui.screens import QuitScreen
from tui.status import status_text


async def _wait(pilot: Pilot[int], done: object, what: str) -> None:
    for _ in range(500):
        await pilot.pause(0.02)
        if callable(done) and done():
            return
    raise AssertionError(f"timed out waiting for {what}")


async def _save_with_w(pilot: Pilot[int], app: HeaderwatchApp, path: Path) -> None:
    """Save a session to ``path`` as a user does: ``w``, the name, Save."""
    await pilot.press("w")
    app.screen.query_one("#save-path", Input).value = str(path)
    await pilot.click("#save-ok")
    await _wait(pilot, lambda: str(path) in app.saved, "the save")
    await pilot.pause()


def _frames(path: str) -> int:
    capture = CaptureFile(path)
    try:
        return sum(1 for _ in capture)
    finally:
        capture.close()


def _reopen(path: str) -> Store:
    store = Store()
    capture = CaptureFile(path)
    try:
        store.apply(list(Pipeline(IdentityDetector()).run(capture)))
    finally:
        capture.close()
    restore(store, [path])
    return store


async def test_a_full_spool_is_said_kept_on_the_status_line_and_w_saves_what_it_holds(
    tmp_path: Path,
) -> None:
    demo = demo_capture_path()
    total = _frames(demo)
    spool = Spool(limit=8192, parent=str(tmp_path))
    rec = spool.recording(FileSource([demo]))
    app = HeaderwatchApp(
        rec, IdentityDetector(), utc=True, keymap={}, batch_interval=0.02, recording=rec
    )
    rec.notify = lambda level, text: app.call_from_thread(app.notify, text, severity="warning")
    messages: list[Message] = []
    path = tmp_path / "s.pcapng"
    async with app.run_test(size=(120, 40), notifications=True, message_hook=messages.append) as p:
        await _wait(p, lambda: any(isinstance(m, SourceFinished) for m in messages), "the end")
        # capture went on past the full spool (its last batch applied a moment after)
        await _wait(p, lambda: len(app.store) == 28, "every request in the store")
        assert rec.full_at is not None
        when = time.strftime("%H:%M:%S", time.localtime(rec.full_at))
        texts = [n.message for n in app._notifications]
        assert f"spool full at 8 KiB: requests after {when} cannot be saved" in texts[0]
        assert rec.counters()["unrecorded"] == total - rec.recorded > 0
        # The notice goes; the status line keeps saying it, wide and narrow.
        unrecorded = total - rec.recorded
        line = status_text(app.main.status_line.status).plain
        assert f" · spool full: {counted(unrecorded, 'frame')} not recorded │ " in line
        assert " · spool full │ " in status_text(app.main.status_line.status, narrow=True).plain

        await _save_with_w(p, app, path)
        before = [e for e in app.store if e.record.request.ts < rec.full_at]
        after = len(app.store) - len(before)
        assert before and after
        said = [n.message for n in app._notifications][-1]
        assert said.startswith(f"saved {rec.recorded} frames")
        annotated = sum(1 for e in app.store if e.record.findings and e not in before)
        assert annotated
        missing = (
            f"; the findings, marks and comments of {counted(annotated, 'request')} are not "
            "in it: no frame of theirs is in the capture it was built from; the spool was full"
        )
        assert missing in said
        assert said.endswith(
            f"; the spool was full (8 KiB) from {when}: the session has the "
            f"{counted(len(before), 'request')} captured before then, and not the "
            f"{after} requests captured after (x exports those as JSONL or HAR)"
        )
        # The session lacks those: they are still unsaved, so quitting asks and a
        # signal keeps them (before, this save counted every request seen as saved).
        assert app.capture_unsaved() and "live capture" in app.unsaved()
    reopened = _reopen(str(path))
    got = [(e.record.request.uri, len(e.record.findings)) for e in reopened]
    assert got == [(e.record.request.uri, len(e.record.findings)) for e in before]
    assert any(n for _, n in got)  # an identity among them
    spool.remove()


class _FillingDisk:
    """A file whose disk fills after ``room`` bytes: a write past them fails with
    ENOSPC, as a full disk's does (the writer then cuts the file back)."""

    def __init__(self, path: Path, room: int) -> None:
        self.file = path.open("w+b")
        self.name = str(path)
        self.room = room

    def write(self, data: bytes) -> int:
        if self.file.tell() + len(data) > self.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        return self.file.write(data)

    def __getattr__(self, name: str) -> object:
        return getattr(self.file, name)


async def test_a_disk_that_fills_under_the_recording_is_said_and_what_it_lacks_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The status line keeps saying recording stopped, ``w`` says from when the file
    lacks requests, and a signal keeps those in a JSONL beside the capture, as for a
    full spool (before, they were lost without a word)."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "spool.pcapng"
    disk = _FillingDisk(path, room=100_000)  # one flush of 64 KiB fits, not two
    recording = RecordingSource(FileSource([demo_capture_path()]), PcapngWriter(disk), str(path))
    app = HeaderwatchApp(
        recording, IdentityDetector(), utc=True, keymap={}, batch_interval=0.02, recording=recording
    )
    messages: list[Message] = []
    saved = tmp_path / "s.pcapng"
    async with app.run_test(size=(120, 40), message_hook=messages.append) as p:
        await _wait(p, lambda: any(isinstance(m, SourceFinished) for m in messages), "the end")
        # The last batch may be applied a moment after the source says it ended (a
        # loaded machine: this failed once at 4 test processes on 2 CPUs).
        await _wait(p, lambda: len(app.store) == 28, "every request in the store")
        rec = recording.sync()
        assert rec.reason == "disk full" and rec.stopped_at is not None
        in_file = _frames(str(path))
        assert 0 < rec.frames == in_file
        line = status_text(app.main.status_line.status).plain
        assert f" · recording stopped: {counted(recording.unwritten, 'frame')} not recorded" in line
        assert " · not recording │ " in status_text(app.main.status_line.status, narrow=True).plain

        await _save_with_w(p, app, saved)
        when = time.strftime("%H:%M:%S", time.localtime(rec.stopped_at))
        before = [e for e in app.store if e.record.request.ts < rec.stopped_at]
        after = len(app.store) - len(before)
        assert before and after
        said = [n.message for n in app._notifications][-1]
        assert f"; recording stopped at {when} (disk full): the session has the " in said
        assert f"and not the {counted(after, 'request')} captured after" in said

        app.stopped_by = signal.SIGTERM  # as a signal ends it
        kept = app.keep_followed()
    [later] = tmp_path.glob("headerwatch-*.jsonl")
    assert kept.startswith(
        f"recording stopped at {when} (disk full): {counted(after, 'request')} after that; "
    )
    assert f"kept in {later}" in kept
    lines = later.read_text().splitlines()[1:]  # after the session's own first line
    assert len(lines) == after


class _Iface:
    """What ``cmd_live.dashboard`` reads of a live source besides its frames."""

    iface = "eth0"


async def test_quitting_with_a_w_recording_does_not_ask_about_the_capture_it_holds(
    tmp_path: Path,
) -> None:
    import tui.app as app_module

    path = tmp_path / "w.pcapng"
    recording = RecordingSource(
        FileSource([demo_capture_path()]), PcapngWriter(str(path)), str(path)
    )
    app, _ = dashboard(app_module, recording, _Iface(), IdentityDetector(), written=True)  # type: ignore[arg-type]
    app.confirm_quit = True
    messages: list[Message] = []
    async with app.run_test(size=(80, 24), message_hook=messages.append) as p:
        await _wait(p, lambda: any(isinstance(m, SourceFinished) for m in messages), "the end")
        await _wait(p, lambda: len(app.store) == 28, "every request in the store")
        assert app.unsaved() == ""  # -w has it on disk
        recording.failed = "no space left on device"
        assert app.unsaved() == "live capture"  # ... unless recording stopped
        recording.failed = None
        await p.press("q")
        await p.pause()
        assert not isinstance(app.screen, QuitScreen)
    assert app.return_code == 0
    # The spool is no file of the user's: there, quitting asks, as before.
    spool = Spool(parent=str(tmp_path))
    spooled = spool.recording(FileSource([demo_capture_path()]))
    app, _ = dashboard(app_module, spooled, _Iface(), IdentityDetector())  # type: ignore[arg-type]
    app.confirm_quit = True
    messages.clear()
    async with app.run_test(size=(80, 24), message_hook=messages.append) as p:
        await _wait(p, lambda: any(isinstance(m, SourceFinished) for m in messages), "the end")
        await p.press("q")
        await p.pause()
        assert isinstance(app.screen, QuitScreen)
        await p.press("y")
    spool.remove()


class _FailingBelow(FileSource):
    """The demo capture, after which the live source's own thread fails."""

    halted: Halt | None = None

    def frames(self) -> Iterator[Frame | Parsed | None]:
        yield from super().frames()
        self.halted = Halt(time.time(), "capture on usb9 failed (OSError: ring torn)")


@pytest.mark.parametrize("where", ["capture thread", "source below"])
async def test_a_capture_an_error_stopped_says_from_when_and_why_on_screen_and_in_the_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    import tui.app as app_module

    demo = demo_capture_path()
    if where == "capture thread":
        feed = Pipeline.feed
        fed = 0

        def failing_feed(self: Pipeline, frame: Frame) -> list[Event]:
            nonlocal fed
            fed += 1
            if fed == 60:
                raise RuntimeError("planted failure")
            return feed(self, frame)

        monkeypatch.setattr(Pipeline, "feed", failing_feed)
        source: FileSource = FileSource([demo])
        why = "the capture thread failed (RuntimeError: planted failure)"
    else:
        source = _FailingBelow([demo])
        why = "capture on usb9 failed (OSError: ring torn)"
    spool = Spool(parent=str(tmp_path))
    recording = spool.recording(source)
    app, _ = dashboard(app_module, recording, _Iface(), IdentityDetector())  # type: ignore[arg-type]
    messages: list[Message] = []
    path = tmp_path / "s.pcapng"
    async with app.run_test(size=(160, 40), notifications=True, message_hook=messages.append) as p:
        await _wait(p, lambda: any(isinstance(m, SourceFinished) for m in messages), "the end")
        await p.pause()
        halt = app.halted
        # The command exits 1 (EXIT_FAILED) after a failure, as HeaderwatchApp.run says.
        assert halt is not None and halt.why == why and app.failure == why
        stamp = time.strftime("%H:%M:%S", time.localtime(halt.at))
        line = status_text(app.main.status_line.status).plain
        assert f"error · capture stopped {stamp}" in line
        if where == "capture thread":
            assert source._stop.is_set()  # asked to stop: nothing goes on unrecorded
            assert [n.message for n in app._notifications][-1] == (
                f"capture stopped at {stamp}: {why}; nothing after it is recorded"
            )
            assert len(app.store) < 28
        await _save_with_w(p, app, path)
        said = [n.message for n in app._notifications][-1]
        assert said.endswith(
            f"; capture stopped at {stamp} ({why}): nothing after it is in the session"
        )
        await p.press("q")
        await p.pause()
        await p.press("y")
    info = read_session_info(str(path))
    assert info is not None
    assert (
        info.stopped == f"capture stopped at {halt.stamp()}: {why}; nothing after it was recorded"
    )
    assert _frames(str(path)) == recording.recorded
    spool.remove()
