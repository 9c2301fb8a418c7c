"""Drives the live dashboard with Textual's Pilot inside a network namespace.

``python -m tests.tui.live_dashboard_driver IFACE N [RECORDING]`` (run with ``ip netns
exec``): opens the live source on IFACE exactly as ``headerwatch live`` does, runs the
app under Pilot and talks with the test over stdin/stdout, one line each way.
RECORDING is ``spool`` (no ``-w``: the private spool ``live`` makes, with identity
detection on) or ``write:FILE`` (``-w FILE``, detection on); without it, neither.


- prints ``ready`` once the app is up and capturing;
- waits for N requests in the store, prints ``records <json>`` (what the store
  holds, and the ids the request list shows);
- for each stdin line ``notice TEXT``: waits for a notice containing TEXT,
  prints ``notice <the notice>``;
- stdin ``save PATH``: presses ``w``, saves the session to PATH, prints
  ``saved <json>`` (the notice that says what was written);
- stdin ``filter EXPR``: applies the view filter, prints ``shown <json>`` (the ids
  the request list shows, and the INJ badge's presence in each shown row);
- stdin ``status TEXT``: waits for the wide status line to hold TEXT (``status !TEXT``:
  not to), prints ``status <json>`` (whether it did, and the line);
- stdin ``spool``: prints ``spool <json>`` (its directory and file, their modes and owner);
- stdin ``quit``: presses ``q``; prints ``stats <json>`` (the last counters), then,
  once ``live`` would have exited, ``gone <json>`` (whether the spool directory is left).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from importlib import import_module
from typing import Any

from textual.widgets import Input

from capture.formats.jsonl import record_to_dict
from capture.formats.session import SessionInfo
from capture.identity.detector import IdentityDetector
from capture.sources.live.source import DEFAULT_FILTER, LiveSource
from capture.sources.recording import RecordingSource
from capture.sources.source import FrameSource
from capture.sources.spool import DEFAULT_LIMIT
from tui.cmd_live import _recording, dashboard, spooled
from tui.status import status_text


def _say(*parts: str) -> None:
    print(*parts, flush=True)


async def _until(pilot: Any, done: Any, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            return False
        await pilot.pause(0.05)
    return True


def _mode(path: str) -> dict[str, Any]:
    st = os.stat(path)
    return {"path": path, "mode": oct(st.st_mode & 0o777), "uid": st.st_uid}


async def _save(pilot: Any, app: Any, path: str) -> dict[str, Any]:
    before = len(app._notifications)
    await pilot.press("w")
    screen = app.screen
    screen.query_one("#save-path", Input).value = path
    await pilot.click("#save-ok")
    # Not workers.wait_for_complete(): the capture worker runs until q.
    ok = await _until(pilot, lambda: len(app._notifications) > before)
    texts = [n.message for n in list(app._notifications)[before:]]
    return {"ok": ok and path in app.saved, "text": " | ".join(texts)}


async def main(iface: str, expected: int, recording: str = "") -> None:
    """Run the dashboard over a live capture of ``iface`` (see the module docstring)."""
    app_box: list[Any] = []

    def notify(level: str, text: str) -> None:
        app_box[0][1](level, text)

    source = LiveSource(iface, notify=notify)
    source.open()
    write = recording.removeprefix("write:") if recording.startswith("write:") else None
    args = argparse.Namespace(
        interface=iface,
        filter=DEFAULT_FILTER,
        write=write,
        spool_max=DEFAULT_LIMIT if recording == "spool" else 0,
    )
    frames: FrameSource = source
    detector = IdentityDetector() if recording else None
    judged = SessionInfo.judged_by(detector, source=f"live {iface}").to_comment()
    if write:
        frames = _recording(source, write, args, notify, judged)
    with spooled(frames, source, args, notify, [], judged) as (frames, _spool):
        where = frames.path if isinstance(frames, RecordingSource) else ""
        await _run(source, frames, detector, expected, app_box)
    _say("gone", json.dumps({"spool": recording == "spool" and os.path.exists(where)}))


async def _run(
    source: LiveSource,
    frames: FrameSource,
    detector: IdentityDetector | None,
    expected: int,
    app_box: list[Any],
) -> None:
    app, post = dashboard(import_module("tui.app"), frames, source, detector)
    app_box.append((app, post))
    loop = asyncio.get_running_loop()
    async with app.run_test(size=(180, 50), notifications=True) as pilot:
        _say("ready")
        ok = await _until(pilot, lambda: len(app.store) >= expected)
        await pilot.pause(0.3)
        records = [record_to_dict(entry.record) for entry in app.store]
        shown = list(app.main.requests.ids)
        _say("records", json.dumps({"ok": ok, "records": records, "shown": shown}))
        while True:
            line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
            if not line or line == "quit":
                break
            command, _, text = line.partition(" ")
            if command == "save":
                _say("saved", json.dumps(await _save(pilot, app, text)))
                continue
            if command == "filter":
                app.main.apply_filter(text)
                await _until(pilot, lambda: not app.main.view.filtering)
                await pilot.pause(0.2)
                rows = app.main.requests
                badges = [
                    "INJ" in "".join(s.text for s in rows._row_strip(i, 180))
                    for i in range(len(rows.ids))
                ]
                _say("shown", json.dumps({"ids": list(rows.ids), "inj": badges}))
                continue
            if command == "status":
                want = not text.startswith("!")
                words = text.lstrip("!")

                def holds(words: str = words, want: bool = want) -> bool:
                    return (words in status_text(app.main.status_line.status).plain) == want

                ok = await _until(pilot, holds)
                line = status_text(app.main.status_line.status).plain
                _say("status", json.dumps({"ok": ok, "line": line}))
                continue
            if command == "spool":
                path = getattr(frames, "path", "")
                folder = os.path.dirname(path)
                _say("spool", json.dumps({"dir": _mode(folder), "file": _mode(path)}))
                continue
            ok = await _until(pilot, lambda t=text: any(t in n.text for n in app.notices))
            found = [n.text for n in app.notices if text in n.text]
            _say("notice", json.dumps({"ok": ok, "text": found[-1] if found else ""}))
        stats = dict(app.stats.counters)
        await pilot.press("q")
    source.join(5.0)
    runner = app.runner
    if runner is not None:
        runner.finished.wait(5.0)
    _say("stats", json.dumps(stats))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(sys.argv[1], int(sys.argv[2]), *sys.argv[3:4]))
