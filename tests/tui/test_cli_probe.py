"""``headerwatch reflect`` and ``headerwatch probe`` as a user runs them: real processes,
with a carrier's enrichment proxy between them."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.carrier import enrichment_proxy


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def reflector() -> Iterator[tuple[subprocess.Popen[str], int]]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "reflect", "--bind", "127.0.0.1", "--port", str(port),
         "--region", "GB"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    line = proc.stderr.readline()
    assert f"reflecting on http://127.0.0.1:{port}/" in line, line
    yield proc, port
    if proc.poll() is None:
        proc.kill()
    proc.wait(5)


def headerwatch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args], capture_output=True, text=True, timeout=60
    )


def test_probe_through_a_carrier_proxy_shows_the_injected_number(
    reflector: tuple[subprocess.Popen[str], int],
) -> None:
    proc, port = reflector
    clean = headerwatch("probe", "--fail-on-identity", f"http://127.0.0.1:{port}/")
    assert clean.returncode == 0, clean.stderr
    assert "nothing added, removed or changed" in clean.stdout
    o2 = {"x-up-calling-line-id": "447700900123"}
    with enrichment_proxy(("127.0.0.1", port), o2) as proxy:
        url = f"http://127.0.0.1:{proxy}/"
        leak = headerwatch("probe", "--region", "GB", "--fail-on-identity", url)
        as_json = headerwatch("probe", "--format", "jsonl", url)
    assert leak.returncode == 1, leak.stderr
    assert "1 identity injected" in leak.stdout
    assert "+ x-up-calling-line-id: 447700900123   [msisdn +447700900123]" in leak.stdout
    assert json.loads(as_json.stdout)["injected"] == [["x-up-calling-line-id", "447700900123"]]
    # The reflector's own log: the server-side view, findings included.
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == 3
    assert [f["normalized"] for f in records[1]["findings"] if f["kind"] == "msisdn"] == [
        "+447700900123"
    ]
    assert "3 requests reflected" in err


def test_reflect_on_a_busy_port_is_a_one_line_error(
    reflector: tuple[subprocess.Popen[str], int],
) -> None:
    _, port = reflector
    busy = headerwatch("reflect", "--bind", "127.0.0.1", "--port", str(port))
    assert busy.returncode == 2
    assert busy.stderr.strip().splitlines() == [
        f"headerwatch: error: cannot listen on 127.0.0.1:{port}: address already in use"
    ]


def test_reflect_stops_on_sigterm_with_its_summary(
    reflector: tuple[subprocess.Popen[str], int],
) -> None:
    proc, _ = reflector
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "0 requests reflected" in err


def test_probe_errors_exit_2_with_one_line() -> None:
    result = headerwatch("probe", f"http://127.0.0.1:{_free_port()}/")
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "connection refused" in line


def test_probe_piped_into_head_is_quiet(reflector: tuple[subprocess.Popen[str], int]) -> None:
    _, port = reflector
    url = f"http://127.0.0.1:{port}/"
    # Two URLs: the second line goes to a pipe whose reader has left.
    result = subprocess.run(
        f"{sys.executable} -m tui.cli probe {url} {url} {url} | head -c 1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout == "h"
    assert result.stderr == ""
