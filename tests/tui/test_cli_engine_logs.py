"""``scan --input suricata|zeek``: engine logs from files and from a pipe that is
still being written (``tail -F eve.json | headerwatch scan --input suricata -``)."""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from capture.identity.catalog import load_catalog
from tests.conftest import REPO
from tests.tui.test_cli_scan import headerwatch


def _eve(n: int, msisdn: str | None = None) -> bytes:
    headers = [{"name": "Host", "value": f"site{n}.example"}]
    if msisdn:
        headers.append({"name": "X-MSISDN", "value": msisdn})
    event: dict[str, Any] = {
        "timestamp": f"2026-12-03T10:00:{n:02d}.000000+0000",
        "flow_id": 1000 + n,
        "event_type": "http",
        "src_ip": "10.0.0.2",
        "src_port": 40000 + n,
        "dest_ip": "192.0.2.80",
        "dest_port": 80,
        "tx_id": 0,
        "http": {"url": f"/{n}", "http_method": "GET", "request_headers": headers},
    }
    return json.dumps(event).encode() + b"\n"


def _read_line(proc: subprocess.Popen[bytes], timeout: float) -> bytes:
    """One line of the process's stdout, waiting at most ``timeout`` seconds."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    os.set_blocking(fd, False)
    line = b""
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            assert left > 0, f"no line within {timeout} s (have {line!r})"
            if sel.select(left):
                chunk = os.read(fd, 1)
                assert chunk, "stdout closed"
                line += chunk
    return line


def test_a_pipe_written_slowly_is_read_and_reported_event_by_event() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "scan", "--input", "suricata", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None
    try:
        for n in range(3):
            # Each event is reported before the next is written: nothing waits for
            # the end of the stream, or for a buffer to fill.
            proc.stdin.write(_eve(n, "447700900123" if n == 1 else None))
            proc.stdin.flush()
            record = json.loads(_read_line(proc, timeout=30))
            assert record["uri"] == f"/{n}"
            assert bool(record["findings"]) == (n == 1)
            proc.stdin.write(b'{"timestamp":"2026-12-03T10:00:00+0000","event_type":"dns"}\n')
            proc.stdin.flush()
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.stderr is not None
    err = proc.stderr.read().decode()
    assert "3 lines were other Suricata event types (not http), skipped" in err
    assert "3 parsed requests read" in err


def test_scan_input_choices_come_from_the_inputs_table() -> None:
    result = headerwatch("scan", "--help")
    for kind in ("capture", "suricata", "zeek", "jsonl"):
        assert kind in result.stdout
    result = headerwatch("scan", "--input", "snort", "x")
    assert result.returncode == 2 and "invalid choice: 'snort'" in result.stderr


def test_a_zeek_log_is_recognised_and_a_named_kind_that_does_not_fit_says_why(
    tmp_path: Path,
) -> None:
    log = REPO / "tests" / "data" / "engines" / "zeek" / "header-names.http.log"
    path = tmp_path / "http.log"
    path.write_text(log.read_text().split("\n", 1)[1].replace("XXXXXXXXXX.XXXXXX", "1.5"))
    result = headerwatch("scan", "--format", "table", str(path))
    assert result.returncode == 0 and "14 HTTP requests" in result.stderr
    result = headerwatch("scan", "--input", "suricata", str(path))
    assert "lines were not Suricata eve.json events and passed over" in result.stderr


def test_rules_writes_the_catalog_for_each_engine_and_a_table_by_default() -> None:
    table = headerwatch("rules")
    assert table.returncode == 0 and table.stdout.startswith("HEADER")
    suricata = headerwatch("rules", "--format", "suricata")
    rules = sum(line.startswith("alert http") for line in suricata.stdout.splitlines())
    assert rules == len(load_catalog()) > 70
    zeek = headerwatch("rules", "--format", "zeek")
    assert "module Headerwatch;" in zeek.stdout and '["X-MSISDN"]' in zeek.stdout
    arkime = headerwatch("rules", "--format", "arkime")
    assert "http.request-header:" in arkime.stdout
