"""End to end: the real ``headerwatch demo`` in a tmux pane, read off the screen."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TMUX = shutil.which("tmux")

NEEDS_TMUX = [
    pytest.mark.tmux,
    pytest.mark.skipif(
        TMUX is None,
        reason="tmux is not installed: the test runs the real command in a tmux pane and "
        "reads its screen (apt-get install tmux)",
    ),
]
"""The marks of a test that runs the real command in a :class:`Pane`."""

pytestmark = NEEDS_TMUX


class Pane:
    """One tmux server of our own (its own socket), one pane (200x50 unless told)."""

    def __init__(
        self,
        command: list[str],
        env: dict[str, str],
        width: int = 200,
        cwd: Path = REPO,
        height: int = 50,
    ) -> None:
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
            str(height),
            "-c",
            str(cwd),
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

    def joined(self) -> str:
        """The screen with the lines the pane wrapped joined back as they were written
        (a long path is not cut by a newline where the pane's width fell)."""
        return self._tmux("capture-pane", "-p", "-J", "-t", self.name)

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

    def show(self, fmt: str) -> str:
        """A tmux format of the pane: ``#{alternate_on}``, ``#{pane_pid}``, ..."""
        return self._tmux("display-message", "-p", "-t", self.name, fmt).strip()

    def child(self) -> int:
        """The process the pane's shell runs (the command before ``;``)."""
        shell = self.show("#{pane_pid}")
        children = Path(f"/proc/{shell}/task/{shell}/children").read_text().split()
        assert len(children) == 1, children
        return int(children[0])

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


def test_sigterm_ends_the_dashboard_with_the_terminal_restored(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path), "TERM": "xterm-256color", "LANG": "C.UTF-8"}
    demo = [sys.executable, "-m", "tui.cli", "demo"]
    pane = Pane([*demo, ";", "echo", "exit", "status", "$?;", "sleep", "60"], env)
    try:
        pane.wait_for("+44 7700 900123")
        assert pane.show("#{alternate_on}") == "1"  # the dashboard's screen
        os.kill(pane.child(), signal.SIGTERM)
        screen = pane.wait_for("exit status", timeout=30)
        # The shell's screen again, with the mouse and the cursor given back.
        modes = "#{alternate_on} #{mouse_any_flag} #{mouse_button_flag} #{cursor_flag}"
        assert pane.show(modes) == "0 0 0 1"
    finally:
        pane.kill()
    assert "exit status 143" in screen
    assert "Traceback" not in screen
    # The bundled capture's region is GB whatever the locale (C.UTF-8 has none): no
    # note that national numbers were not read.
    assert "no region" not in screen


@pytest.mark.parametrize("command", [["demo"], ["live", "-i", "lo"]], ids=["demo", "live"])
def test_a_dumb_terminal_is_refused_in_one_line_as_a_pipe_is(
    tmp_path: Path, command: list[str]
) -> None:
    """TERM=dumb (Emacs' shell, some consoles): the dashboard drew nothing, laid its
    screen out over and over at full CPU, and heeded neither q nor SIGTERM."""
    env = {"XDG_CONFIG_HOME": str(tmp_path), "LANG": "C.UTF-8"}
    # Set in the pane's command: tmux gives its panes a TERM of its own.
    run = ["env", "TERM=dumb", sys.executable, "-m", "tui.cli", *command]
    pane = Pane([*run, ";", "echo", "exit", "status", "$?;", "sleep", "60"], env, width=120)
    try:
        screen = pane.wait_for("exit status", timeout=30)
    finally:
        pane.kill()
    assert "headerwatch: error: the dashboard needs a terminal that can draw (TERM=dumb" in screen
    assert "exit status 2" in screen


def test_the_help_back_from_a_tiny_terminal_is_laid_out_again_and_g_ends_in_it(
    tmp_path: Path,
) -> None:
    """Resized to 20x6 and back to 80x24 with the help open, G showed empty rows: the
    text stayed laid out for the tiny width, and the view scrolled past its end."""
    env = {"XDG_CONFIG_HOME": str(tmp_path), "TERM": "xterm-256color", "LANG": "C.UTF-8"}
    pane = Pane([sys.executable, "-m", "tui.cli", "demo"], env, width=80, height=24)
    try:
        pane.wait_for("MSISDN")
        pane.keys("?")
        pane.wait_for("Keys   (remap")
        for size in (("20", "6"), ("80", "24")):
            pane._tmux("resize-window", "-t", pane.name, "-x", size[0], "-y", size[1])
            time.sleep(1.0)
        pane.keys("G")
        screen = pane.wait_for("~marked")  # the end of the help, on screen
    finally:
        pane.kill()
    rows = [line.strip("█ ") for line in screen.splitlines()[2:12]]
    assert sum(1 for row in rows if row) >= 8, screen
