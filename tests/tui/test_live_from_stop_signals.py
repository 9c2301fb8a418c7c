"""The real ``headerwatch live --from unix:SOCKET`` dashboard, in a tmux pane, ended by
a signal instead of ``q``: the requests it followed came through a socket and are
nowhere else, so those not saved are kept where ``w`` would have saved them, as
``live -i`` keeps its spool's capture."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from tests.tui.test_e2e_demo import NEEDS_TMUX, Pane

pytestmark = NEEDS_TMUX

NUMBER = "447700900583"  # not the README's number


def _record(path: str, injected: bool) -> bytes:
    """A record as ``live --format jsonl`` writes one, a reflector's echo included."""
    return orjson.dumps(
        {
            "ts": 1796480000.0,
            "src": "192.0.2.2",
            "sport": 40000,
            "dst": "198.51.100.2",
            "dport": 80,
            "method": "GET",
            "uri": path,
            "version": "HTTP/1.1",
            "host": "198.51.100.2",
            "headers": [["Host", "198.51.100.2"], ["User-Agent", "curl/7.88.1"]],
            "injected": [["X-MSISDN", NUMBER]] if injected else [],
            "removed": [],
            "changed": [],
        }
    )


def _until(done: object, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not (callable(done) and done()):
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


@pytest.mark.parametrize("how", ["SIGTERM", "SIGHUP"])
def test_requests_followed_from_a_socket_are_kept_when_a_signal_ends_the_dashboard(
    tmp_path: Path, how: str
) -> None:
    here = tmp_path / "here"
    here.mkdir()
    sock = tmp_path / "hw.sock"
    env = {
        "XDG_CONFIG_HOME": str(tmp_path),
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    live = [sys.executable, "-m", "tui.cli", "live", "--region", "GB", "--from", f"unix:{sock}"]
    pane = Pane([*live, ";", "echo", "exit", "status", "$?;", "sleep", "60"], env, cwd=here)
    try:
        pane.wait_for("proxy unix:")
        with socket.socket(socket.AF_UNIX) as writer:
            writer.connect(str(sock))
            writer.sendall(_record("/enriched", True) + b"\n" + _record("/clean", False) + b"\n")
        pane.wait_for("/clean")
        ended = pane.child()
        if how == "SIGTERM":
            os.kill(ended, signal.SIGTERM)
            pane.wait_for("exit status", timeout=30)
            # Lines wrap: joined back by tmux, a space the wrap fell on is kept (taking
            # out the newlines lost it when the wrap fell on one: "reopensit").
            said = pane.joined()
        else:
            pane.kill()  # the terminal goes away, as with a dropped SSH session
            said = ""
        _until(lambda: not Path(f"/proc/{ended}").exists(), "the dashboard did not end")
    finally:
        pane.kill()
    # Before, nothing was kept: the requests were gone with the dashboard.
    [kept] = here.iterdir()
    assert kept.name.startswith("headerwatch-") and kept.suffix == ".jsonl"
    assert kept.stat().st_mode & 0o777 == 0o600
    if how == "SIGTERM":
        assert (
            "headerwatch: stopped by SIGTERM with requests not saved; they are kept in "
            f"{kept} (headerwatch open reopens it)"
        ) in said
        assert "exit status 143" in said
    scan = [sys.executable, "-m", "tui.cli", "scan", "--format", "jsonl", str(kept)]
    out = subprocess.run(scan, capture_output=True, timeout=60, env={**os.environ, **env})
    records = [orjson.loads(line) for line in out.stdout.splitlines()]
    assert [(r["uri"], r["injected"], [f["value"] for f in r["findings"]]) for r in records] == [
        ("/enriched", [["X-MSISDN", NUMBER]], [NUMBER]),
        ("/clean", [], []),
    ]
