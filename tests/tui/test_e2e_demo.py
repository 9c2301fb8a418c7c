"""End to end: the real ``headerwatch demo`` in a tmux pane, read off the screen."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TMUX = shutil.which("tmux")

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(
        TMUX is None,
        reason="tmux is not installed: this test runs the real `headerwatch demo` in a tmux "
        "pane and reads its screen (apt-get install tmux)",
    ),
]


class Pane:
    """One tmux server of our own (its own socket), one pane (200x50 unless told)."""

    def __init__(self, command: list[str], env: dict[str, str], width: int = 200) -> None:
        self.socket = f"headerwatch-test-{os.getpid()}"
        self.name = "demo"
        self._tmux(
            "new-session",
            "-d",
            "-s",
            self.name,
            "-x",
            str(width),
            "-y",
            "50",
            "-c",
            str(REPO),
            *(f"-e{k}={v}" for k, v in env.items()),
            " ".join(command),
        )
        self.socket_path = self._tmux("display-message", "-p", "#{socket_path}").strip()

    def _tmux(self, *args: str) -> str:
        assert TMUX is not None
        # COLUMNS/LINES (pytest sets them) would override the pane's real size.
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "TMUX")}
        result = subprocess.run(
            [TMUX, "-L", self.socket, *args], capture_output=True, text=True, timeout=30, env=env
        )
        return result.stdout

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", self.name)

    def keys(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", self.name, *keys)

    def wait_for(self, text: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.25)
        raise AssertionError(f"{text!r} never appeared; the screen was:\n{screen}")

    def alive(self) -> bool:
        return self.name in self._tmux("list-sessions", "-F", "#{session_name}")

    def kill(self) -> None:
        """Stop our own server (only ours: it has its own socket) and remove the socket."""
        self._tmux("kill-server")
        if self.socket_path.endswith(self.socket):
            Path(self.socket_path).unlink(missing_ok=True)


@pytest.fixture
def pane(tmp_path: Path) -> Iterator[Pane]:
    env = {
        "XDG_CONFIG_HOME": str(tmp_path),  # no user config
        "TERM": "xterm-256color",
        "TZ": "UTC",
        "LANG": "C.UTF-8",
    }
    python = sys.executable
    p = Pane([python, "-m", "tui.cli", "demo"], env)
    try:
        yield p
    finally:
        p.kill()


def test_the_demo_shows_the_o2_number_live(pane: Pane) -> None:
    # The first request of the capture went through O2's proxy: the exposure panel
    # names the number as soon as it is replayed.
    screen = pane.wait_for("+44 7700 900123")
    assert "www.bbc.co.uk" in screen
    assert "MSISDN" in screen
    # Open the first request: the header as sent, and what was found in it.
    pane.keys("g", "Enter")
    screen = pane.wait_for("x-up-calling-line-id: 447700900123", timeout=15)
    assert "msisdn +447700900123" in screen
    pane.keys("q")
    deadline = time.monotonic() + 15
    while pane.alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not pane.alive(), "q did not quit"
