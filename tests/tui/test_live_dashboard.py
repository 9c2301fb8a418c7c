"""The live dashboard end to end: real HTTP between namespaces, the app under Pilot.

The app must run where the capture runs (the server namespace), so Pilot drives
it in a subprocess (``tests.tui.live_dashboard_driver``) that reports what the
store and the request list hold; this test makes the traffic and pulls the link.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live_plan import check_records, live_plan
from tests.netns import PYTHON, Lab, LiveProc, make_lab, request, scanned

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


def test_dashboard_shows_live_requests_and_the_link_state(lab: Lab, tmp_path: Path) -> None:
    plan, expected = live_plan()
    driver = LiveProc(
        lab.spawn(
            lab.server_ns,
            [PYTHON, "-m", "tests.tui.live_dashboard_driver", lab.server_if, str(len(expected))],
            stdin=subprocess.PIPE,
            cwd=tmp_path,
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
    _send(driver, "status interface down (waiting)")  # kept after the notice has gone
    assert _line(driver, "status")["ok"]
    lab.set_link(True)
    _send(driver, "notice is back")
    assert _line(driver, "notice")["ok"]
    _send(driver, "status !interface down")
    assert _line(driver, "status")["ok"]

    _send(driver, "quit")
    stats = _line(driver, "stats")
    assert stats["requests"] == len(expected)
    assert stats["kernel_drops"] == 0 and stats["queue_drops"] == 0
    assert stats["captured"] >= stats["packets"] > 0
    assert driver.proc.wait(30) == 0
    assert "Traceback" not in driver.stderr


# Not the README's header or number: nothing here passes on one baked-in value.
IDENTITY = ("X-MSISDN", "447700900321")


def _seen(records: list[dict[str, Any]]) -> list[tuple[str, str, list[str]]]:
    return [
        (r["host"], r["uri"], sorted(f["value"] for f in r["findings"]))
        for r in sorted(records, key=lambda r: r["ts"])
    ]


@pytest.mark.parametrize("recording", ["spool", "write"])
def test_w_saves_a_session_during_a_live_capture_with_or_without_w(
    lab: Lab, tmp_path: Path, recording: str
) -> None:
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    mode = "spool" if recording == "spool" else f"write:{tmp_path / 'rec.pcapng'}"
    driver = LiveProc(
        lab.spawn(
            lab.server_ns,
            [PYTHON, "-m", "tests.tui.live_dashboard_driver", lab.server_if, "2", mode],
            stdin=subprocess.PIPE,
            env={"XDG_RUNTIME_DIR": str(runtime)},
            cwd=tmp_path,
        )
    )
    _line(driver, "ready")
    lab.client(
        [
            {"port": 80, "sends": [request("/who", host="save.example", extra=[IDENTITY])]},
            {"port": 8123, "sends": [request("/plain", host="save.example")]},
        ]
    )
    seen = _line(driver, "records")
    assert seen["ok"], seen
    expected = [
        ("save.example", "/plain", []),
        ("save.example", "/who", [IDENTITY[1]]),
    ]
    assert sorted(_seen(seen["records"])) == expected

    if recording == "spool":
        _send(driver, "spool")
        spool = _line(driver, "spool")
        # A private directory under $XDG_RUNTIME_DIR, a private file, both ours.
        assert os.path.dirname(spool["dir"]["path"]) == str(runtime)
        assert os.path.basename(spool["dir"]["path"]).startswith("headerwatch-spool-")
        assert spool["dir"]["mode"] == "0o700" and spool["file"]["mode"] == "0o600"
        assert spool["dir"]["uid"] == spool["file"]["uid"] == os.getuid()

    session = tmp_path / "saved.pcapng"
    _send(driver, f"save {session}")
    saved = _line(driver, "saved")
    assert saved["ok"], saved
    assert saved["text"].startswith("saved ") and "with no marks or comments" in saved["text"]

    _send(driver, "quit")
    _line(driver, "stats")
    assert _line(driver, "gone") == {"spool": False}
    assert driver.proc.wait(30) == 0
    assert "Traceback" not in driver.stderr
    if recording == "spool":
        assert list(runtime.iterdir()) == []

    # Reopened, the session holds the same requests and the same identity.
    assert sorted(_seen(scanned(session))) == expected
