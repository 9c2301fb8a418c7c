"""The echo page in a real browser: Debian's headless ``chromium`` opens the reflector
through a carrier's enrichment proxy, as a phone on mobile data would."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.lab.limits import Limits
from capture.lab.reflect import Reflector
from tests.carrier import enrichment_proxy, running_reflector

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)"
)

INJECTED = {"X-MSISDN": "447700900123", "X-Evil": "<script>document.title='owned'</script>"}


def chromium(tmp_path: Path, proxy: int, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",  # root in CI containers
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            # Every request through the "carrier", loopback included (bypassed by default).
            f"--proxy-server=http://127.0.0.1:{proxy}",
            "--proxy-bypass-list=<-loopback>",
            *args,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )


def test_a_browser_sees_the_injected_number_highlighted_and_the_script_as_text(
    tmp_path: Path,
) -> None:
    # A short idle timeout: the test proxy relays until the server closes.
    reflector = Reflector(
        IdentityDetector(IdentityConfig(region="GB")), limits=Limits(idle_timeout=1)
    )
    with (
        running_reflector(reflector) as port,
        enrichment_proxy(("127.0.0.1", port), INJECTED) as proxy,
    ):
        url = f"http://127.0.0.1:{port}/"
        dom = chromium(tmp_path, proxy, url, "--dump-dom")
        shot = tmp_path / "echo-page-phone.png"
        chromium(tmp_path, proxy, url, "--window-size=412,915", f"--screenshot={shot}")
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    # The number arrived, and its header is highlighted and explained.
    item = re.search(r'<li class="hdr identity">.*?</li>', html, re.S)
    assert item is not None, html[:3000]
    assert "X-MSISDN" in item[0] and "<mark>447700900123</mark>" in item[0]
    assert "+447700900123" in item[0] and "msisdn" in item[0] and "high" in item[0]
    assert "1 identity" in html
    # The header holding a script is shown as text; no script element, title untouched.
    assert "&lt;script&gt;document.title='owned'&lt;/script&gt;" in html
    assert "<script" not in html.lower()
    assert "<title>headerwatch: what this server received</title>" in html
    # A phone-sized screenshot, kept with the test's output.
    assert shot.exists() and shot.stat().st_size > 1000
    print(f"screenshot: {shot}")
