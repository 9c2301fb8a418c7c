"""Capture gaps are counted and named by side the same way in every output: ``scan``
(JSONL, table, a split scan, HAR) as a user runs it, the dashboard's status line, and
the evidence reports of both."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from textual.message import Message

from capture.identity.detector import IdentityDetector
from capture.report.write import report_records
from capture.sources.source import FileSource
from tests.helpers import gapped_capture
from tests.tui.test_app import status, wait_for
from tui.app import HeaderwatchApp
from tui.messages import SourceFinished

CLIENT = "1 client side (20 bytes missing, 1 request touched)"
REQUESTS_ONLY = (
    f"capture gaps: {CLIENT}, server side not counted (read only for reflectors' echoes)"
)
EVERY_SIDE = f"capture gaps: {CLIENT}, 2 server side (2,000 bytes missing)"


def _scan_summary(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "tui.cli", "scan", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stderr.splitlines()[0]


def _gap_rows(report: Path) -> dict[str, str]:
    """The Not inspected rows about gaps of a Markdown report: what → count."""
    rows = re.findall(r"^\| (Capture gaps[^|]*?) \| ([^|]+?) \|", report.read_text(), re.M)
    return dict(rows)


async def test_scan_and_the_dashboard_give_the_same_gaps_on_each_side(tmp_path: Path) -> None:
    capture = gapped_capture(tmp_path)
    # Requests only: the client side counted as the dashboard counts it, and the
    # servers' side said to be uncounted (before: "1 capture gap", beside the
    # dashboard's "3 gaps").
    for args in (["--format", "jsonl"], ["--format", "table"], ["--jobs", "2"]):
        assert REQUESTS_ONLY in _scan_summary(*args, capture), args
    # Responses read, as the dashboard reads them: both sides, the same figures.
    assert EVERY_SIDE in _scan_summary("--format", "har", capture)
    messages: list[Message] = []
    app = HeaderwatchApp(
        FileSource([capture]), IdentityDetector(), utc=True, keymap={}, batch_interval=0.02
    )
    dashboard = tmp_path / "dashboard.md"
    async with app.run_test(size=(160, 24), message_hook=messages.append) as pilot:
        await wait_for(pilot, messages, SourceFinished)
        await pilot.pause()
        assert "gaps: 1 client side (1 request hit), 2 server side" in status(app)
        stats = app.main.status_line.status.stats
        records = [entry.record for entry in app.store]
        report_records(
            records, str(dashboard), "md", sources=[capture], counters=dict(stats.counters)
        )
    assert _gap_rows(dashboard) == {
        "Capture gaps, client side": "1",
        "Capture gaps, server side": "2",
    }
    scanned = tmp_path / "scanned.md"
    result = subprocess.run(
        [sys.executable, "-m", "tui.cli", "report", capture, "-o", str(scanned)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    # report reads requests only, as scan: the servers' side is not known, not 0.
    assert _gap_rows(scanned) == {
        "Capture gaps, client side": "1",
        "Capture gaps, server side": "not known",
    }
