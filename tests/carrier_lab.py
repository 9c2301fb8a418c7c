"""The carrier lab of ``scripts/carrier-lab.sh`` as a pytest fixture: real squid in the middle.

:func:`make_carrier_lab` (behind a test module's ``carrier_lab`` fixture) runs
``carrier-lab.sh up`` with a random prefix, so labs of parallel runs never meet,
and with a header, number and stripped header drawn for this run (never the
README's ``x-up-calling-line-id: 447700900123``), so that no single value is
baked into the code under test. It yields a :class:`CarrierLab` with the
names and addresses the script wrote to ``lab.env``, and runs ``down`` in its
finalizer, even after a failure.
"""

from __future__ import annotations

import os
import random
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "carrier-lab.sh"
PYTHON = sys.executable

# Enrichment headers from the catalog that carry a bare MSISDN (README's name excluded).
INJECT_NAMES = ("x-msisdn", "x-nokia-msisdn", "x-wap-msisdn", "msisdn")
# A request header `headerwatch probe` and curl both send (not the README's default,
# Accept-Language, which curl does not send).
STRIP = "Accept"


def require_carrier_lab() -> None:
    """Skip, with the reason, unless the lab can be built here (CI installs all of it)."""
    if os.geteuid() != 0:
        pytest.skip("needs root for network namespaces, iptables and squid (CI runs as root)")
    for tool, package in (
        ("ip", "iproute2"),
        ("iptables", "iptables"),
        ("squid", "squid"),
        ("curl", "curl"),
    ):
        if shutil.which(tool) is None:
            pytest.skip(f"needs {tool} (apt-get install {package}; .ci/run installs it)")


def drama_number() -> str:
    """A UK mobile number in Ofcom's drama range (07700 900000-900999), E.164 digits, not 123."""
    while (tail := random.randrange(1000)) == 123:
        pass
    return f"447700900{tail:03d}"


@dataclass(frozen=True)
class CarrierLab:
    """Names and addresses of one running lab, as the script wrote them to ``lab.env``."""

    prefix: str
    phone_ns: str
    carrier_ns: str
    server_ns: str
    phone_if: str
    """The phone's end of the phone-carrier pair: where the tethered laptop would capture."""
    carrier_phone_if: str
    carrier_server_if: str
    server_if: str
    phone_ip: str
    carrier_phone_ip: str
    carrier_server_ip: str
    server_ip: str
    squid_port: str
    inject_name: str
    inject_value: str
    strip: str
    state: str

    @classmethod
    def from_env_file(cls, path: Path) -> CarrierLab:
        """Read ``lab.env`` (KEY=VALUE lines)."""
        pairs = dict(line.split("=", 1) for line in path.read_text().splitlines() if line)
        return cls(**pairs)

    @property
    def state_dir(self) -> Path:
        """Where the script keeps squid's files and the reflectors' output."""
        return Path(self.state)

    @property
    def e164(self) -> str:
        """The injected number, normalised."""
        return "+" + self.inject_value

    def url(self, path: str = "/", port: int = 80) -> str:
        """A URL on the server, by IP literal (so squid's Host verification passes)."""
        where = self.server_ip if port == 80 else f"{self.server_ip}:{port}"
        return f"http://{where}{path}"

    def run(
        self, ns: str, *argv: str, timeout: float = 60, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` in namespace ``ns`` to completion; output captured, never raises."""
        return subprocess.run(
            ["ip", "netns", "exec", ns, *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd or REPO,
            check=False,
        )

    def spawn(
        self,
        ns: str,
        argv: Sequence[str],
        cwd: Path | None = None,
        *,
        stdin: Any = subprocess.DEVNULL,
        env: dict[str, str] | None = None,
    ) -> subprocess.Popen[str]:
        """Start ``argv`` in namespace ``ns``, stdout and stderr piped (the caller stops
        it); ``env`` is added to this environment."""
        return subprocess.Popen(
            ["ip", "netns", "exec", ns, *argv],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=cwd or REPO,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )

    def headerwatch(
        self, ns: str, *args: str, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """``headerwatch ARGS`` (this checkout's) in namespace ``ns``."""
        return self.run(ns, PYTHON, "-m", "tui.cli", *args, timeout=timeout)


def lab_script(action: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``carrier-lab.sh ACTION`` with ``env`` added to this environment."""
    return subprocess.run(
        ["bash", str(SCRIPT), action],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )


def lab_settings(**overrides: Any) -> dict[str, str]:
    """The environment for one lab: a fresh prefix, this run's header and number."""
    headerwatch = Path(PYTHON).parent / "headerwatch"
    if not headerwatch.exists():
        pytest.fail(f"no {headerwatch}: install the checkout (pip install -e '.[test]')")
    prefix = "t" + secrets.token_hex(3)
    settings = {
        "HW_LAB_PREFIX": prefix,
        "HW_LAB_STATE": f"/run/headerwatch-lab/{prefix}",
        "HW_LAB_INJECT_NAME": random.choice(INJECT_NAMES),
        "HW_LAB_INJECT_VALUE": drama_number(),
        "HW_LAB_STRIP": STRIP,
        "HEADERWATCH": str(headerwatch),
    }
    settings.update({k: str(v) for k, v in overrides.items()})
    return settings


def make_carrier_lab() -> Iterator[CarrierLab]:
    """For a fixture: bring a lab up, yield it, bring it down (skips where it cannot run)."""
    require_carrier_lab()
    settings = lab_settings()
    try:
        up = lab_script("up", settings)
        assert up.returncode == 0, f"carrier-lab.sh up failed:\n{up.stdout}\n{up.stderr}"
        yield CarrierLab.from_env_file(Path(settings["HW_LAB_STATE"]) / "lab.env")
    finally:
        lab_script("down", settings)
