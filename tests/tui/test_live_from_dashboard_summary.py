"""The real ``headerwatch live --from`` dashboard, in a tmux pane, over a Suricata
eve.json without http events: the status line, and once the dashboard is quit the
terminal's summary line, count the log's events, not packets."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.tui.test_e2e_demo import NEEDS_TMUX, Pane

pytestmark = NEEDS_TMUX


def test_a_followed_log_without_http_events_is_summed_up_in_its_own_words(
    tmp_path: Path,
) -> None:
    eve = tmp_path / "eve.json"
    eve.write_bytes(
        b'{"timestamp":"2026-12-03T10:00:00.000000+0000","event_type":"dns","src_ip":"a"}\n'
    )
    env = {"XDG_CONFIG_HOME": str(tmp_path), "TERM": "xterm-256color", "LANG": "C.UTF-8"}
    live = [sys.executable, "-m", "tui.cli", "live", "--region", "GB", "--from", str(eve)]
    pane = Pane([*live, ";", "echo", "exit", "status", "$?;", "sleep", "60"], env, height=24)
    try:
        # The first line told the kind: counted in its words (before, "0 packets").
        pane.wait_for("│ 0 HTTP events · 0 requests · 0 identities · 0 dropped │")
        pane.keys("q")
        pane.wait_for("exit status", timeout=30)
        screen = pane.joined()  # wrapped lines joined, a space a wrap fell on kept
    finally:
        pane.kill()
    said = screen.replace("\n", "")
    # Before: "headerwatch: 0 packets; 0 TCP connections; ...; 0 records followed".
    assert (
        f"headerwatch: 0 HTTP events in {eve}; 0 HTTP requests; 0 identities in 0 requests; "
        "0 HTTP events followed"
    ) in said, screen
    assert "packet" not in said and "exit status 0" in said
