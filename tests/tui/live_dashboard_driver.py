"""Drives the live dashboard with Textual's Pilot inside a network namespace.

``python -m tests.tui.live_dashboard_driver IFACE N`` (run with ``ip netns exec``):
opens the live source on IFACE exactly as ``headerwatch live`` does, runs the app
under Pilot and talks with the test over stdin/stdout, one line each way:

- prints ``ready`` once the app is up and capturing;
- waits for N requests in the store, prints ``records <json>`` (what the store
  holds, and the ids the request list shows);
- for each stdin line ``notice TEXT``: waits for a notice containing TEXT,
  prints ``notice <the notice>``;
- stdin ``quit``: presses ``q``; prints ``stats <json>`` (the last counters).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from importlib import import_module
from typing import Any

from capture.formats.jsonl import record_to_dict
from capture.sources.live.source import LiveSource
from tui.cmd_live import dashboard


def _say(*parts: str) -> None:
    print(*parts, flush=True)


async def _until(pilot: Any, done: Any, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            return False
        await pilot.pause(0.05)
    return True


async def main(iface: str, expected: int) -> None:
    """Run the dashboard over a live capture of ``iface`` (see the module docstring)."""
    app_box: list[Any] = []
    source = LiveSource(iface, notify=lambda level, text: app_box[0][1](level, text))
    source.open()
    app, post = dashboard(import_module("tui.app"), source, source, None)
    app_box.append((app, post))
    loop = asyncio.get_running_loop()
    async with app.run_test(size=(180, 50)) as pilot:
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
            _, _, text = line.partition(" ")
            ok = await _until(pilot, lambda t=text: any(t in n.text for n in app.notices))
            found = [n.text for n in app.notices if text in n.text]
            _say("notice", json.dumps({"ok": ok, "text": found[-1] if found else ""}))
        stats = dict(app.stats.counters)
        await pilot.press("q")
    source.join(5.0)
    _say("stats", json.dumps(stats))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
