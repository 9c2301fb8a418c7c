"""Making the dashboard from a command's options (tui/launch.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from textual.message import Message

from capture.identity.detector import IdentityDetector
from capture.sources.source import FileSource
from tests.tui.test_app import wait_for
from tui import common
from tui.app import NoticeBox
from tui.launch import dashboard_app
from tui.messages import SourceFinished

DEMO = Path(__file__).resolve().parents[2] / "capture" / "data" / "demo-o2-2012.pcap"
NO_REGION = (
    "headerwatch: note: no region in the locale (LANG=C.UTF-8): numbers written nationally "
    "(07700 900123) were not read; give one with --region (e.g. --region GB) or "
    "[identity] region"
)


async def test_a_missing_region_is_said_on_the_dashboards_screen_not_only_on_stderr(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The note went to stderr, seen only after the dashboard exited: on screen, a
    national number not read looked like no number (`1 req · 0 ids`)."""
    monkeypatch.setattr(common, "_NOTES", [NO_REGION, "headerwatch: note: region GB, from x"])
    args = argparse.Namespace(utc=True, view_filter="", redact=False, config=None)
    box = NoticeBox()
    app = dashboard_app(FileSource([str(DEMO)], notify=box), IdentityDetector(), args, {})
    messages: list[Message] = []
    async with app.run_test(size=(120, 30), message_hook=messages.append) as pilot:
        await wait_for(pilot, messages, SourceFinished)
        await pilot.pause()
        shown = [(n.level, n.text) for n in app.notices]
        toasts = [(n.severity, str(n.message)) for n in app._notifications]
    assert shown[:2] == [("warning", NO_REGION.removeprefix("headerwatch: note: ")),
                         ("info", "region GB, from x")]  # fmt: skip
    assert ("warning", NO_REGION.removeprefix("headerwatch: note: ")) in toasts
    # Still printed on stderr once the dashboard exits.
    assert common.take_notes()[0] == NO_REGION


async def test_the_demo_played_at_its_own_pace_says_replay_not_live() -> None:
    """ "live" on a screenshot of the demo said its 2012 traffic was being captured."""
    from capture.sources.source import ReplaySource

    args = argparse.Namespace(utc=True, view_filter="", redact=False, config=None)
    app = dashboard_app(ReplaySource(str(DEMO), speed=0.01), IdentityDetector(), args, {})
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert app.state == "replay"
        status = str(app.screen.query_one("#status").render())
        assert " replay " in status and " live " not in status
