"""``open`` of inputs in which nothing could be read ends as ``scan`` does: the error,
one line each, and exit status 2, not an empty dashboard after a passing notice."""

from __future__ import annotations

import argparse
from pathlib import Path

from textual.message import Message

from capture.identity.detector import IdentityDetector
from capture.sources.source import FileSource
from tests.tui.test_app import wait_for
from tui.app import HeaderwatchApp, NoticeBox
from tui.launch import dashboard_app
from tui.messages import SourceFinished

DEMO = Path(__file__).resolve().parents[2] / "capture" / "data" / "demo-o2-2012.pcap"


def _app(paths: list[str]) -> HeaderwatchApp:
    """The dashboard as ``open`` makes it: the files' notices go through a box."""
    args = argparse.Namespace(utc=True, view_filter="", redact=False, config=None)
    box = NoticeBox()
    source = FileSource(paths, notify=box)
    return dashboard_app(source, IdentityDetector(), args, {}, notice_box=box)


async def test_json_that_is_no_records_ends_the_dashboard_with_its_error(tmp_path: Path) -> None:
    odd = tmp_path / "x.json"
    odd.write_text('{"a": 1}\n')
    app = _app([str(odd)])
    messages: list[Message] = []
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await wait_for(pilot, messages, SourceFinished)
        await pilot.pause()
    assert app.return_value == 2
    assert len(app.unreadable) == 1
    assert app.unreadable[0].startswith(f"{odd}: nothing read: not headerwatch JSONL records")


async def test_a_readable_input_beside_an_unreadable_one_keeps_the_dashboard(
    tmp_path: Path,
) -> None:
    odd = tmp_path / "x.json"
    odd.write_text('{"a": 1}\n')
    app = _app([str(DEMO), str(odd)])
    messages: list[Message] = []
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await wait_for(pilot, messages, SourceFinished)
        await pilot.pause()
        assert app.is_running and len(app.store) == 28
        assert app.unreadable == []
        app.exit(0)
