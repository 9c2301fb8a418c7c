"""``scan --input suricata|zeek``: engine logs from files and from a pipe that is
still being written (``tail -F eve.json | headerwatch scan --input suricata -``)."""

from __future__ import annotations

import gzip
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

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
    assert "3 lines skipped: other Suricata event types (not http)" in err
    assert "3 parsed requests read" in err


def test_ctrl_c_ends_a_followed_log_with_its_summary_and_status_130() -> None:
    # `tail -F eve.json | headerwatch scan -` ends by Ctrl-C: what was read and
    # skipped is still said, as the README promises "at the end".
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "scan", "--region", "GB", "--input", "suricata", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stderr is not None
    try:
        # The dns line first: the record's line out says it was read.
        proc.stdin.write(b'{"event_type":"dns","timestamp":"x"}\n' + _eve(1, "447700900123"))
        proc.stdin.flush()
        assert json.loads(_read_line(proc, timeout=30))["uri"] == "/1"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
    err = proc.stderr.read().decode()
    assert "Traceback" not in err
    assert "1 line skipped: other Suricata event types (not http)" in err
    assert "1 parsed request read" in err and "1 identity in 1 request" in err


@pytest.mark.parametrize(
    ("named", "words"),
    [
        (["--input", "zeek"], "0 HTTP log records in <stdin>"),
        (["--input", "suricata"], "0 HTTP events in <stdin>"),
        ([], "nothing read from <stdin>"),  # no kind named, and no byte to tell it by
    ],
)
def test_ctrl_c_before_a_followed_log_brings_its_first_line_still_sums_it_up(
    named: list[str], words: str
) -> None:
    # `tail -F http.log | headerwatch scan --input zeek -` stopped before the log grew:
    # before, no summary at all (Ctrl-C came while the stream was being opened).
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "scan", "--region", "GB", *named, "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        # Waiting for stdin's first bytes (the kernel says where the process sleeps).
        while "pipe_read" not in Path(f"/proc/{proc.pid}/wchan").read_text():
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    assert out == b""
    assert err.decode().splitlines() == [
        f"headerwatch: {words}; 0 HTTP requests; 0 identities in 0 requests"
    ]


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
    assert result.returncode == 2 and not result.stdout
    assert result.stderr == (
        f"headerwatch: error: {path}: nothing read: none of its 23 lines are Suricata "
        "eve.json events (first: line 1: not JSON (unexpected character, expected a JSON "
        "value))\n"
    )


def test_rules_writes_the_catalog_for_each_engine_and_a_table_by_default() -> None:
    table = headerwatch("rules")
    assert table.returncode == 0 and table.stdout.startswith("HEADER")
    suricata = headerwatch("rules", "--format", "suricata")
    rules = sum(line.startswith("alert http") for line in suricata.stdout.splitlines())
    assert rules == len(load_catalog()) > 70
    zeek = headerwatch("rules", "--format", "zeek")
    assert "module Headerwatch;" in zeek.stdout and '["X-MSISDN"]' in zeek.stdout
    arkime = headerwatch("rules", "--format", "arkime")
    assert "http.hasheader.src:" in arkime.stdout


ENGINES = REPO / "tests" / "data" / "engines"
DEMO = REPO / "capture" / "data" / "demo-o2-2012.pcap"
PCAPNG = REPO / "tests" / "data" / "pcapdroid" / "demo-uidmap.pcapng"


def _zeek_tsv(name: str) -> str:
    """A Zeek baseline as Zeek writes it: btest's first line gone, times unmasked."""
    text = (ENGINES / "zeek" / name).read_text().split("\n", 1)[1]
    return text.replace("XXXXXXXXXX.XXXXXX", "1300475168.5")


def _without_column(tsv: str, field: str) -> str:
    """A Zeek TSV log with one column left out (a site's own log configuration)."""
    fields = next(line for line in tsv.splitlines() if line.startswith("#fields")).split("\t")
    at = fields.index(field)
    lines = []
    for line in tsv.splitlines():
        cells = line.split("\t")
        if line.startswith(("#fields", "#types")) or not line.startswith("#"):
            del cells[at]
        lines.append("\t".join(cells))
    return "\n".join(lines) + "\n"


def test_an_input_with_nothing_of_its_kind_in_it_fails_in_one_line_with_status_2(
    tmp_path: Path,
) -> None:
    """``--fail-on-identity`` in CI must not pass on the wrong file: "0 requests" and
    status 0 read as "no identity leaked"."""
    no_uid = tmp_path / "no-uid.http.log"
    no_uid.write_text(_without_column(_zeek_tsv("json-non-printable-escaping.http.log.tsv"), "uid"))
    not_har = tmp_path / "foo.json"
    not_har.write_text('{"foo":1}\n')
    latin1 = tmp_path / "latin1.json"
    latin1.write_bytes('{"host": "café"}\n'.encode("latin-1"))
    eve = ENGINES / "suricata" / "docs-dump-all-headers.eve.json"
    for args, said in (
        (
            ("--input", "suricata", str(DEMO)),
            f"{DEMO}: nothing read: a pcap or pcapng capture, not Suricata eve.json events "
            "(read it without --input)",
        ),
        (
            ("--input", "zeek", str(PCAPNG)),
            f"{PCAPNG}: nothing read: a pcap or pcapng capture, not Zeek http.log records "
            "(read it without --input)",
        ),
        (
            ("--input", "har", str(PCAPNG)),
            f"{PCAPNG}: a pcap or pcapng capture, not a HAR (read it without --input)",
        ),
        (
            ("--input", "suricata", str(latin1)),
            f"{latin1}: nothing read: not Suricata eve.json events "
            "(line 1: not JSON (not UTF-8 text))",
        ),
        (
            ("--input", "zeek", str(eve)),
            f"{eve}: nothing read: none of its 2 lines are Zeek http.log records "
            "(first: line 1: uid: missing)",
        ),
        (
            (str(no_uid),),
            f"{no_uid}: nothing read: none of its 4 lines are Zeek http.log records "
            "(first: line 9: uid: missing)",
        ),
        (
            (str(not_har),),
            f"{not_har}: nothing read: not headerwatch JSONL records (line 1: ts: missing)",
        ),
    ):
        result = headerwatch("scan", "--fail-on-identity", *args)
        assert result.returncode == 2 and not result.stdout, result.stderr
        assert result.stderr.startswith(f"headerwatch: error: {said}")
        assert len(result.stderr.splitlines()) == 1


def test_with_several_inputs_the_good_ones_records_are_written_then_the_error(
    tmp_path: Path,
) -> None:
    not_records = tmp_path / "foo.json"
    not_records.write_text('{"foo":1}\n')
    partly = tmp_path / "partly.json"
    partly.write_bytes(_eve(1, "447700900123") + b"not json\n")
    result = headerwatch("scan", "--fail-on-identity", str(DEMO), str(not_records), str(partly))
    assert result.returncode == 2  # not 1: an input could not be read
    uris = [json.loads(line)["uri"] for line in result.stdout.splitlines()]
    assert len(uris) == 29 and uris[-1] == "/1"  # the demo's 28, then partly.json's one
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"headerwatch: warning: {partly}: 1 line passed over: not Suricata")
    assert "; 29 HTTP requests; 22 identities in 21 requests" in lines[1]  # what was read
    assert lines[2].startswith(f"headerwatch: error: {not_records}: nothing read:")
    assert len(lines) == 3


def test_an_empty_stream_or_log_of_a_named_kind_is_no_error(tmp_path: Path) -> None:
    """A log with nothing in it yet, or ``tail -F`` stopped before a line came."""
    empty = tmp_path / "eve.json"
    empty.write_bytes(b"")
    for args, stdin in ((["-"], b""), ([str(empty)], None)):
        result = headerwatch("scan", "--input", "suricata", *args, stdin=stdin)
        assert result.returncode == 0 and "0 HTTP requests" in result.stderr, result.stderr


def test_gzip_compressed_logs_are_read_as_what_they_hold(tmp_path: Path) -> None:
    """Zeek archives its logs as .log.gz; eve.json is rotated and compressed too."""
    tsv = _zeek_tsv("header-names.http.log").encode()
    eve = (ENGINES / "suricata" / "docs-dump-all-headers.eve.json").read_bytes()
    for name, content, kind in (("http.log", tsv, "zeek"), ("eve.json", eve, "suricata")):
        plain = tmp_path / name
        plain.write_bytes(content)
        packed = tmp_path / f"{name}.gz"
        packed.write_bytes(gzip.compress(content))
        expected = headerwatch("scan", str(plain))
        assert expected.returncode == 0 and expected.stdout
        for args in ((str(packed),), ("--input", kind, str(packed))):
            result = headerwatch("scan", *args)
            assert result.returncode == 0
            assert result.stdout == expected.stdout
            assert result.stderr == expected.stderr.replace(str(plain), str(packed))
        piped = subprocess.run(
            [sys.executable, "-m", "tui.cli", "scan", "-"],
            input=gzip.compress(content),
            capture_output=True,
            timeout=120,
        )
        assert piped.returncode == 0 and piped.stdout.decode() == expected.stdout


def test_a_gzip_file_of_nothing_headerwatch_reads_says_so_and_what_was_looked_for(
    tmp_path: Path,
) -> None:
    path = tmp_path / "notes.gz"
    path.write_bytes(gzip.compress(b"# headers I saw today\n"))
    result = headerwatch("scan", str(path))
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(
        f"headerwatch: error: {path}: not a file headerwatch reads (gzip-compressed, and what "
        'it holds starts with "# headers I saw "; looked for: pcap or pcapng capture; HAR 1.2'
    )
    assert "Zeek http.log" in result.stderr and "each gzip-compressed too" in result.stderr
