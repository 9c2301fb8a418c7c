"""What live capture says without privileges, and how root is given back after sudo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from capture.sources.live import privileges
from tests.netns import REPO


def test_setcap_names_the_real_interpreter_not_a_symlink() -> None:
    path = privileges.interpreter_path()
    assert os.path.isabs(path) and os.path.isfile(path) and not os.path.islink(path)
    assert os.path.samefile(path, sys.executable)
    assert privileges.setcap_command() == f"sudo setcap cap_net_raw,cap_net_admin=eip {path}"


def test_missing_privileges_is_one_line_with_both_remedies() -> None:
    line = privileges.missing_privileges_message("usb0")
    assert "\n" not in line
    assert line.startswith("live capture on usb0 needs root or the CAP_NET_RAW capability")
    assert "sudo" in line and privileges.setcap_command() in line


def test_nothing_to_drop_without_sudo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SUDO_UID", raising=False)
    assert privileges.sudo_user() is None
    assert privileges.drop_privileges() is None


def test_sudo_by_root_itself_is_not_a_drop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUDO_UID", "0")
    monkeypatch.setenv("SUDO_GID", "0")
    assert privileges.sudo_user() is None


_DROP = """
import json, os
from capture.sources.live import privileges
paths = json.loads(os.environ["HW_PATHS"])
try:
    dropped = privileges.drop_privileges(paths)
except privileges.CannotDrop as exc:
    print(json.dumps({"kept_root": str(exc), "uid": os.getresuid()}))
    raise SystemExit(0)
status = open("/proc/self/status").read().splitlines()
cap = next(l for l in status if l.startswith("CapEff:")).split()[1]
print(json.dumps({"user": dropped.user, "kept": dropped.kept_capabilities,
                  "uid": os.getresuid(), "gid": os.getresgid(), "cap_eff": cap,
                  "home": os.environ.get("HOME")}))
"""


def _drop(paths: list[str]) -> dict[str, object]:
    env = {**os.environ, "SUDO_UID": "65534", "SUDO_GID": "65534", "HW_PATHS": json.dumps(paths)}
    result = subprocess.run(
        [sys.executable, "-c", _DROP],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    out: dict[str, object] = json.loads(result.stdout)
    return out


def _need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root: dropping privileges is what sudo-started runs do")


def test_sudo_drop_becomes_the_user_keeping_only_capture_capabilities() -> None:
    _need_root()
    result = _drop([])
    assert result["uid"] == [65534, 65534, 65534]
    assert result["gid"] == [65534, 65534, 65534]
    assert result["kept"] is True
    assert int(str(result["cap_eff"]), 16) == (1 << 12) | (1 << 13)
    assert result["home"] == "/nonexistent"  # nobody's home, from the password database


def test_sudo_drop_stays_root_when_the_user_could_not_run_the_program(tmp_path: Path) -> None:
    _need_root()
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    result = _drop([str(private)])
    assert result["uid"] == [0, 0, 0]
    assert str(private) in str(result["kept_root"])
    assert str(result["kept_root"]).startswith(
        "cannot give root back: nobody (who ran sudo) cannot read"
    )
