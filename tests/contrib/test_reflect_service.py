"""contrib/headerwatch-reflect.service: hardened, and valid for systemd."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).parents[2] / "contrib" / "headerwatch-reflect.service"


def settings() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def test_the_unit_is_hardened_and_serves_ports_80_and_8080() -> None:
    unit = settings()
    for key, value in {
        "DynamicUser": "yes",
        "AmbientCapabilities": "CAP_NET_BIND_SERVICE",
        "CapabilityBoundingSet": "CAP_NET_BIND_SERVICE",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "StateDirectory": "headerwatch",
    }.items():
        assert unit[key] == [value], key
    [start] = unit["ExecStart"]
    assert "--port 80 --port 8080" in start
    assert "--output %S/headerwatch/reflect.jsonl" in start  # in the StateDirectory
    assert unit["ExecReload"] == ["/bin/kill -HUP $MAINPID"]  # reopens --output


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="needs systemd-analyze (Debian's systemd package; .ci/run installs it)",
)
def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    # verify also checks that ExecStart exists: point it at this install's command.
    command = Path(sys.executable).parent / "headerwatch"
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace("/usr/local/bin/headerwatch", str(command)))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    # verify exits 0 on unknown keys and bad values, only saying so: none may be said.
    complaints = [line for line in result.stderr.splitlines() if UNIT.name in line]
    assert result.returncode == 0 and complaints == [], result.stderr
