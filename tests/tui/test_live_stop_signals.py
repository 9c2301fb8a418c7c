"""The real ``headerwatch live`` dashboard, in a tmux pane, ended by a signal instead of
``q``: its terminal closed (SIGHUP, an SSH session lost) or ``kill`` (SIGTERM). The
terminal is given back, the spool goes, and a capture not saved is kept where ``w``
would have saved it."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from capture.formats.recorded import recorded_info
from tests.netns import REPO, Lab, make_lab, request, scanned
from tests.tui.test_e2e_demo import NEEDS_TMUX, Pane

pytestmark = [pytest.mark.netns, *NEEDS_TMUX]

IDENTITY = ("X-MSISDN", "447700900582")  # not the README's header or number
STATUS = "echo exit status $? ; sleep 60"
"""What the pane's shell does after the dashboard: say how it ended, and wait."""


@pytest.fixture
def lab() -> Iterator[Lab]:
    yield from make_lab()


@contextlib.contextmanager
def dashboard(
    lab: Lab,
    tmp_path: Path,
    before: str = "",
    after: str = STATUS,
    command: Sequence[str] = ("-m", "tui.cli"),
    options: Sequence[str] = (),
) -> Iterator[tuple[Pane, Path, Path]]:
    """The dashboard on the lab's interface, started from a directory of its own, with a
    runtime directory of its own; the pane, its spool (a path that does not exist when
    ``options`` ask for none), and that directory. The shell runs ``before`` first and
    ``after`` once the dashboard has ended; ``command``: how the interpreter runs
    headerwatch (the repository is on its path); ``options``: more for ``live``."""
    run, here = tmp_path / "run", tmp_path / "here"
    run.mkdir(mode=0o700)
    here.mkdir()
    env = {
        "XDG_RUNTIME_DIR": str(run),
        "XDG_CONFIG_HOME": str(tmp_path),  # no user config
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(REPO),
    }
    live = ["ip", "netns", "exec", lab.server_ns, sys.executable, *command, "live"]
    pane = Pane([before, *live, "-i", lab.server_if, *options, ";", after], env, cwd=here)
    try:
        pane.wait_for(f"live {lab.server_if}")
        [spool] = list(run.iterdir()) or [run / "no spool"]
        yield pane, spool, here
    finally:
        pane.kill()


def terminate(pane: Pane) -> tuple[str, str]:
    """SIGTERM to the dashboard: the pane's text once the shell says how it ended (the
    lines the pane wrapped joined as written, then runs of space made one), and the
    terminal's modes then."""
    os.kill(pane.child(), signal.SIGTERM)
    pane.wait_for("exit status", timeout=30)
    screen = pane.joined()
    return " ".join(screen.split()), pane.show("#{alternate_on} #{mouse_any_flag} #{cursor_flag}")


def _until(done: Callable[[], Any], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def _kill_if(pid: int, marker: str) -> None:
    """SIGKILL ``pid`` if it is still the process whose command line names ``marker``
    (not another that took its number)."""
    with contextlib.suppress(OSError):
        if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
            os.kill(pid, signal.SIGKILL)


def browse(lab: Lab, pane: Pane, path: str) -> None:
    """A request for ``path`` with the identity, once the dashboard shows it."""
    lab.client([{"port": 80, "sends": [request(path, extra=[IDENTITY])]}])
    pane.wait_for(path)


def _requests(path: Path) -> list[tuple[str, list[str]]]:
    return [(r["uri"], [f["value"] for f in r["findings"]]) for r in scanned(path)]


def test_a_closed_terminal_keeps_the_capture_not_saved_and_removes_the_spool(
    lab: Lab, tmp_path: Path
) -> None:
    with dashboard(lab, tmp_path) as (pane, spool, here):
        browse(lab, pane, "/lost-ssh")
        ended = pane.child()
        pane.kill()  # the terminal goes away, as with a dropped SSH session: SIGHUP
        _until(lambda: not Path(f"/proc/{ended}").exists(), "the dashboard did not end")
    assert not spool.exists()
    [kept] = here.iterdir()
    assert kept.name.startswith("headerwatch-") and kept.suffix == ".pcapng"
    assert kept.stat().st_mode & 0o777 == 0o600
    assert _requests(kept) == [("/lost-ssh", [IDENTITY[1]])]


def test_sigterm_gives_the_terminal_back_keeps_the_capture_and_says_where(
    lab: Lab, tmp_path: Path
) -> None:
    with dashboard(lab, tmp_path, options=("--region", "GB")) as (pane, spool, here):
        browse(lab, pane, "/killed")
        said, modes = terminate(pane)
    assert modes == "0 0 1"  # the shell's screen, mouse and cursor given back
    assert not spool.exists()
    [kept] = here.iterdir()
    assert (
        "headerwatch: stopped by SIGTERM with requests not saved; the capture is kept in "
        f"{kept} (headerwatch open reopens it)"
    ) in said
    # The summary line before says where the frames were; the line above, where they are.
    assert re.search(r"\d+ frames? in the spool headerwatch: stopped by SIGTERM", said), said
    assert "exit status 143" in said
    assert "Traceback" not in said
    assert _requests(kept) == [("/killed", [IDENTITY[1]])]
    # It reads back in the region it was watched in, as a session saved with w does.
    info = recorded_info(str(kept))
    assert info is not None and info.region == "GB" and info.source == f"live {lab.server_if}"


def test_q_answered_y_says_the_frames_were_in_the_spool_that_goes_not_recorded(
    lab: Lab, tmp_path: Path
) -> None:
    with dashboard(lab, tmp_path) as (pane, spool, here):
        browse(lab, pane, "/asked")
        pane.keys("q")
        pane.wait_for("Quit anyway?")
        pane.keys("y")
        pane.wait_for("exit status", timeout=30)
        said = " ".join(pane.joined().split())
    assert not spool.exists() and list(here.iterdir()) == []
    # Before: "N frames recorded", though no file of the user's holds them.
    assert re.search(r"\d+ frames? in the spool \(deleted on exit\)", said), said
    assert " recorded" not in said
    assert "exit status 0" in said


def test_sigterm_without_a_spool_keeps_the_requests_as_a_session_of_records(
    lab: Lab, tmp_path: Path
) -> None:
    with dashboard(lab, tmp_path, options=("--spool-max", "0")) as (pane, spool, here):
        browse(lab, pane, "/no-spool")
        said, _ = terminate(pane)
    assert not spool.exists()
    [kept] = here.iterdir()
    assert kept.name.startswith("headerwatch-") and kept.suffix == ".jsonl"
    assert kept.stat().st_mode & 0o777 == 0o600
    assert (
        "headerwatch: stopped by SIGTERM with requests not saved; they are kept in "
        f"{kept} (headerwatch open reopens it)"
    ) in said
    assert "exit status 143" in said
    assert _requests(kept) == [("/no-spool", [IDENTITY[1]])]


def test_sigterm_after_the_spool_filled_keeps_the_requests_it_lacks_as_well(
    lab: Lab, tmp_path: Path
) -> None:
    options = ("--spool-max", "1M")
    with dashboard(lab, tmp_path, options=options) as (pane, spool, here):
        browse(lab, pane, "/before-full")
        # More than the spool's 1 MiB in one body: the spool is full from here on.
        lab.client(
            [{"port": 80, "sends": [request("/filler", method="POST", body="f" * 1_200_000)]}]
        )
        pane.wait_for("/filler")
        browse(lab, pane, "/after-full")
        said, _ = terminate(pane)
    assert not spool.exists()
    [capture] = [p for p in here.iterdir() if p.suffix == ".pcapng"]
    [later] = [p for p in here.iterdir() if p.suffix == ".jsonl"]
    assert later.stat().st_mode & 0o777 == 0o600
    assert f"the capture is kept in {capture}" in said
    # Before, the request after the fill was in neither file, and nothing said so.
    assert re.search(
        rf"headerwatch: the spool was full \(1 MiB\) from [0-9:]{{8}}: 1 request after that; "
        rf"it is kept "
        rf"in {re.escape(str(later))} \(headerwatch open reopens it\)",
        said,
    ), said
    assert ("/before-full", [IDENTITY[1]]) in _requests(capture)
    assert _requests(later) == [("/after-full", [IDENTITY[1]])]


@pytest.mark.parametrize("spool", ["1G", "0"])
def test_a_file_kept_under_redact_says_it_is_not_redacted(
    lab: Lab, tmp_path: Path, spool: str
) -> None:
    options = ("--spool-max", spool, "--redact")
    with dashboard(lab, tmp_path, options=options) as (pane, _, here):
        browse(lab, pane, "/redacted-screen")
        said, _ = terminate(pane)
    [kept] = here.iterdir()
    # As captured (the evidence): before, nothing told a --redact user so.
    assert f"(headerwatch open reopens it); it is not redacted (scan --redact {kept} " in said
    assert _requests(kept) == [("/redacted-screen", [IDENTITY[1]])]


def test_sigterm_with_nothing_to_keep_removes_the_spool_and_keeps_nothing(
    lab: Lab, tmp_path: Path
) -> None:
    with dashboard(lab, tmp_path) as (pane, spool, here):
        said, _ = terminate(pane)
    assert "exit status 143" in said
    assert not spool.exists()
    assert list(here.iterdir()) == []


def test_a_terminal_gone_before_its_sighup_came_does_not_hang_the_stop(
    lab: Lab, tmp_path: Path
) -> None:
    # The shell ignores SIGHUP and outlives the terminal: nothing signals the dashboard,
    # which goes on painting into a terminal that is gone (each write fails) until a
    # SIGHUP comes later. Textual's writer thread died of the first failure.
    status = tmp_path / "status"
    with dashboard(lab, tmp_path, "trap '' HUP ;", f"echo $? > {status}") as (pane, spool, here):
        shell, ended = int(pane.show("#{pane_pid}")), pane.child()
        try:
            browse(lab, pane, "/late")
            pane.kill()
            time.sleep(3)  # repaints of the status line fail meanwhile
            os.kill(ended, signal.SIGHUP)
            _until(status.exists, "the dashboard did not end after SIGHUP")
        finally:
            for pid in (ended, shell):  # they outlive the pane: never left behind
                _kill_if(pid, lab.server_if)
    assert status.read_text() == "129\n"
    assert not spool.exists()
    [kept] = here.iterdir()
    assert _requests(kept) == [("/late", [IDENTITY[1]])]
