"""The real ``sudo headerwatch live -i IFACE`` dashboard, in a tmux pane, without ``-w``:
its spool belongs to the user sudo gave root back to, ``w`` saves from it, and it is
gone once the dashboard exits."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.netns import Lab, make_lab, python_for, request, scanned
from tests.tui.test_e2e_demo import NEEDS_TMUX, Pane

pytestmark = [pytest.mark.netns, *NEEDS_TMUX]

NOBODY = 65534
IDENTITY = ("X-MSISDN", "447700900654")  # not the README's header or number


@pytest.fixture
def lab() -> Iterator[Lab]:
    yield from make_lab()


@pytest.fixture
def home() -> Iterator[Path]:
    """A directory of nobody's own (its runtime dir, its config, where it saves)."""
    path = Path(tempfile.mkdtemp(prefix="hw-nobody-"))
    os.chmod(path, 0o755)
    run = path / "run"
    run.mkdir(mode=0o700)
    os.chown(run, NOBODY, NOBODY)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _mode(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_mode & 0o777, st.st_uid


def test_sudo_live_dashboard_spools_as_the_user_saves_and_cleans_up(lab: Lab, home: Path) -> None:
    found = python_for(NOBODY)
    if found is None:
        pytest.skip(f"uid {NOBODY} can read no Python with headerwatch here (all under /root?)")
    python, python_env = found
    run = home / "run"
    env = {
        **python_env,
        "SUDO_UID": str(NOBODY),
        "SUDO_GID": str(NOBODY),
        "XDG_RUNTIME_DIR": str(run),
        "XDG_CONFIG_HOME": str(home),
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
    }
    command = ["ip", "netns", "exec", lab.server_ns, python, "-m", "tui.cli", "live"]
    pane = Pane([*command, "-i", lab.server_if, "--spool-max", "50M"], env)
    try:
        pane.wait_for(f"live {lab.server_if}")
        spools = list(run.iterdir())
        assert len(spools) == 1 and spools[0].name.startswith("headerwatch-spool-")
        assert _mode(spools[0]) == (0o700, NOBODY)
        assert _mode(spools[0] / "capture.pcapng") == (0o600, NOBODY)

        lab.client([{"port": 80, "sends": [request("/whose", extra=[IDENTITY])]}])
        pane.wait_for("/whose")
        session = run / "saved.pcapng"
        pane.keys("w")
        pane.wait_for("Save session")
        # Keys typed before the dialog's input has focus would go elsewhere: type the
        # path until it shows in the input (a loaded machine mounts it late), then save.
        # The whole path, not its name: the first keys can be lost and leave the tail.
        for _ in range(5):
            pane.keys("C-u")
            pane.keys("-l", str(session))
            try:
                pane.wait_for(str(session), timeout=5)
                break
            except AssertionError:
                continue
        pane.keys("Enter")
        # The file, not the toast: a toast can come and go between two looks at a
        # loaded machine's screen.
        deadline = time.monotonic() + 60
        while not (session.exists() and session.stat().st_size) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert session.exists(), pane.screen()
        time.sleep(0.5)  # the save renames a whole file into place: let it land
        assert _mode(session) == (0o600, NOBODY)

        pane.keys("q")
        deadline = time.monotonic() + 20
        while pane.alive() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not pane.alive(), "q did not quit"
    finally:
        pane.kill()
    assert list(run.iterdir()) == [session]  # the spool is gone, the session stays

    records = scanned(session)
    assert [(r["uri"], [f["value"] for f in r["findings"]]) for r in records] == [
        ("/whose", [IDENTITY[1]])
    ]
