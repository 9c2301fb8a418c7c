"""The real ``headerwatch live --from`` dashboard, in a tmux pane, over a stream it
cannot read: the error is shown, and once the dashboard is quit the terminal keeps it
in one line and the exit status is 2."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from tests.tui.test_e2e_demo import NEEDS_TMUX, Pane

pytestmark = NEEDS_TMUX


def _notice_text(screen: str) -> str:
    """The notice's rows run together: it wraps where its path's length decides (the
    pytest-xdist workers' temporary paths are longer), so its words may fall on two."""
    rows = (row.split("▌", 1)[1].strip() for row in screen.splitlines() if "▌" in row)
    return " ".join(row for row in rows if row)


def _until_notice(pane: Pane, text: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = pane.screen()
        if text in _notice_text(screen):
            return
        time.sleep(0.25)
    raise AssertionError(f"{text!r} never appeared; the screen was:\n{screen}")


def test_an_unreadable_stream_is_shown_then_left_on_the_terminal_with_exit_status_2(
    tmp_path: Path,
) -> None:
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(2048))
    env = {"XDG_CONFIG_HOME": str(tmp_path), "TERM": "xterm-256color", "LANG": "C.UTF-8"}
    live = [sys.executable, "-m", "tui.cli", "live", "--region", "GB", "--from", str(garbage)]
    pane = Pane([*live, ";", "echo", "exit", "status", "$?;", "sleep", "60"], env)
    try:
        _until_notice(pane, "not a record format headerwatch reads")  # the dashboard's
        pane.keys("q")
        pane.wait_for("exit status", timeout=30)
        screen = pane.joined()  # wrapped lines joined, a space a wrap fell on kept
    finally:
        pane.kill()
    lines = screen.replace("\n", "").split("headerwatch: ")
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {garbage}: not a record format")
    assert "exit status 2" in screen
