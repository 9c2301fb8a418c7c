"""The live dashboard end to end: real HTTP between namespaces, the app under Pilot.

The app must run where the capture runs (the server namespace), so Pilot drives
it in a subprocess (``tests.tui.live_dashboard_driver``) that reports what the
store and the request list hold; this test makes the traffic and pulls the link.
"""

from __future__ import annotations

import json
import queue
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.live_plan import check_records, live_plan
from tests.netns import PYTHON, Lab, LiveProc, make_lab

pytestmark = pytest.mark.netns


@pytest.fixture
def lab() -> Iterator[Lab]:
    """Client and server namespaces with an HTTP server on ports 80 and 8123."""
    yield from make_lab()


def _line(proc: LiveProc, prefix: str, timeout: float = 30.0) -> Any:
    try:
        line = proc.out.get(timeout=timeout)
    except queue.Empty:
        line = None
    assert line is not None and line.startswith(prefix), (
        f"expected {prefix!r} from the driver, got {line!r}; stderr:\n{proc.stderr}"
    )
    rest = line[len(prefix) :].strip()
    return json.loads(rest) if rest else None


def _send(proc: LiveProc, line: str) -> None:
    stdin = proc.proc.stdin
    assert stdin is not None
    stdin.write(line + "\n")
    stdin.flush()


def test_dashboard_shows_live_requests_and_the_link_state(lab: Lab) -> None:
    plan, expected = live_plan()
    driver = LiveProc(
        lab.spawn(
            lab.server_ns,
            [PYTHON, "-m", "tests.tui.live_dashboard_driver", lab.server_if, str(len(expected))],
            stdin=subprocess.PIPE,
        )
    )
    _line(driver, "ready")
    lab.client(plan)
    seen = _line(driver, "records")
    assert seen["ok"], seen
    check_records(seen["records"], expected, lab)
    assert seen["shown"] == [r["id"] for r in seen["records"]]

    lab.set_link(False)
    _send(driver, "notice is down")
    notice = _line(driver, "notice")
    assert notice == {"ok": True, "text": f"{lab.server_if} is down; waiting for it to come back"}
    lab.set_link(True)
    _send(driver, "notice is back")
    assert _line(driver, "notice")["ok"]

    _send(driver, "quit")
    stats = _line(driver, "stats")
    assert stats["requests"] == len(expected)
    assert stats["kernel_drops"] == 0 and stats["queue_drops"] == 0
    assert stats["captured"] >= stats["packets"] > 0
    assert driver.proc.wait(30) == 0
    assert "Traceback" not in driver.stderr
