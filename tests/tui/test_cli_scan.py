"""``headerwatch scan`` as a user runs it: a real subprocess."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import OK, conversation, save, simple_request
from tests.tui.test_e2e_demo import TMUX, Pane


def headerwatch(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args],
        input=stdin.decode("latin-1") if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_scan_without_file_scans_the_bundled_demo() -> None:
    result = headerwatch("scan")
    assert result.returncode == 0
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 28
    assert any(["x-up-calling-line-id", "447700900123"] in r["headers"] for r in records)
    assert "bundled demo capture" in result.stderr
    assert "28 HTTP requests" in result.stderr


def test_jsonl_keys_follow_the_contract(pcaps_dir: Path) -> None:
    result = headerwatch("scan", str(pcaps_dir / "zeek/get.pcap"))
    [record] = [json.loads(line) for line in result.stdout.splitlines()]
    for key in (
        "ts",
        "src",
        "sport",
        "dst",
        "dport",
        "method",
        "uri",
        "version",
        "host",
        "headers",
        "findings",
    ):
        assert key in record
    assert record["headers"][0] == ["User-Agent", "Wget/1.14 (darwin12.2.0)"]


def test_table_format_is_aligned(pcaps_dir: Path) -> None:
    result = headerwatch(
        "scan", "--format", "table", str(pcaps_dir / "zeek/pipelined-requests.pcap")
    )
    lines = result.stdout.splitlines()
    assert lines[0].startswith("TIME")
    assert len(lines) == 6
    host_col = lines[0].index("HOST")
    assert all(line[host_col - 2 : host_col] == "  " for line in lines[1:])


@pytest.mark.parametrize(("width", "height"), [(80, 24), (200, 50)])
@pytest.mark.tmux
@pytest.mark.skipif(TMUX is None, reason="needs tmux (apt-get install tmux) for a real terminal")
def test_the_table_in_a_terminal_fits_it_and_every_row_says_when_who_where_and_what(
    width: int, height: int, tmp_path: Path
) -> None:
    command = [sys.executable, "-m", "tui.cli", "scan", "--format", "table", "--region", "GB"]
    env = {"XDG_CONFIG_HOME": str(tmp_path), "TERM": "xterm-256color", "TZ": "EST+5"}
    pane = Pane([*command, ";", "sleep", "60"], env, width=width, height=height)
    try:
        screen = pane.wait_for("28 HTTP requests")
    finally:
        pane.kill()
    lines = [line.rstrip() for line in screen.splitlines()]
    summary = next(i for i, line in enumerate(lines) if line.startswith("headerwatch: 259"))
    table = [line for line in lines[:summary] if line and not line.startswith("headerwatch:")]
    time = r"\d\d:\d\d:\d\dZ" if width == 80 else r"2012-01-10T\d\d:\d\d:\d\d\.\d{3}Z"
    client = r"(?:203\.0\.113\.7|192\.0\.2\.\d+)" + ("" if width == 80 else r":\d+")
    row = re.compile(rf"({time}) +({client}) +GET +\S+ +\S+( +\w+[=:]\S+.*)?")
    # Every line on the screen is a whole row: none wrapped onto the next.
    rows = [line for line in table if line and not line.startswith(("TIME", "── 2012-01-10 UTC"))]
    assert len(rows) == 28 if width == 200 else len(rows) >= 20, screen
    assert all(row.fullmatch(line) for line in rows), screen
    assert all(len(line) <= width for line in table)
    identity = "msisdn=+447700900123" if width == 80 else "msisdn:x-up-calling-line-id=+4477"
    assert sum(identity in line for line in rows) >= 10, screen


def test_missing_file_exits_2_with_one_line() -> None:
    result = headerwatch("scan", "/nonexistent/capture.pcap")
    assert result.returncode == 2
    assert result.stderr.strip() == "headerwatch: error: /nonexistent/capture.pcap: no such file"
    assert result.stdout == ""


def test_text_file_exits_2(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a capture\n")
    result = headerwatch("scan", str(tmp_path / "notes.txt"))
    assert result.returncode == 2
    assert "not a file headerwatch reads" in result.stderr and "pcap or pcapng" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    # The start of the file as text, not Python's bytes repr (b'not a').
    assert "b'" not in result.stderr and 'starts with "not a capture' in result.stderr


@pytest.mark.parametrize("kind", [[], ["--input", "capture"]], ids=["sniffed", "named"])
def test_a_file_of_another_kind_shows_its_first_bytes_each_escaped_alike(
    tmp_path: Path, kind: list[str]
) -> None:
    png = tmp_path / "x.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00")
    result = headerwatch("scan", *kind, str(png))
    assert result.returncode == 2
    # Before: "\ufffdPNG\x0d..." (its first byte decoded), or b'\x89PNG' (Python's repr).
    assert 'starts with "\\x89PNG' in result.stderr, result.stderr
    if not kind:  # its first 16 bytes
        assert (
            'starts with "\\x89PNG\\x0d\\x0a\\x1a\\x0a\\x00\\x00\\x00\\x0dIHDR";' in result.stderr
        )
    assert "\ufffd" not in result.stderr and "b'" not in result.stderr


def test_a_file_named_twice_is_refused_in_one_line_since_its_requests_would_count_twice(
    tmp_path: Path,
) -> None:
    conv = conversation()
    capture = save(tmp_path, conv.handshake() + conv.send(True, simple_request("/x")))
    (tmp_path / "link.pcap").symlink_to(capture)
    for paths, line in (
        ([capture, capture], f"{capture}: given twice"),
        (
            [capture, str(tmp_path / "link.pcap")],
            f"{tmp_path}/link.pcap: the same file as {capture}",
        ),
        (["-", "-"], "<stdin>: given twice"),
    ):
        result = headerwatch("scan", *paths, stdin=b"")
        assert result.returncode == 2, paths
        assert result.stderr == (
            f"headerwatch: error: {line}; each input is read once "
            "(twice, its requests would count twice)\n"
        )
        assert result.stdout == ""
    # A copy of it (another file, the same bytes) too, once it holds more than a
    # capture of nothing would.
    big = save(
        tmp_path,
        conv.handshake()
        + conv.send(True, simple_request("/x", extra="X-Pad: " + "a" * 5000 + "\r\n")),
        "big.pcap",
    )
    copy = tmp_path / "copy.pcap"
    copy.write_bytes(Path(big).read_bytes())
    result = headerwatch("scan", big, str(copy))
    assert result.returncode == 2
    assert result.stderr == (
        f"headerwatch: error: {copy}: the same bytes as {big} (a copy); each input is read "
        "once (twice, its requests would count twice)\n"
    )
    # Two captures of nothing are alike without being copies: both are read.
    empty = save(tmp_path, [], "empty.pcap")
    other_empty = save(tmp_path, [], "other-empty.pcap")
    assert headerwatch("scan", empty, other_empty).returncode == 0
    # Two different files are read, each named in its records.
    conv = conversation(cport=40001)
    other = save(tmp_path, conv.handshake() + conv.send(True, simple_request("/y")), "y.pcap")
    result = headerwatch("scan", capture, other)
    assert result.returncode == 0
    records = [json.loads(x) for x in result.stdout.splitlines()]
    assert [(r["input"], r["uri"]) for r in records] == [(capture, "/x"), (other, "/y")]


def test_truncated_capture_reports_requests_before_the_cut_and_warns(tmp_path: Path) -> None:
    conv = conversation()
    frames = conv.handshake()
    for i in range(3):
        frames += conv.send(True, simple_request(f"/{i}")) + conv.send(False, OK)
    data = Path(save(tmp_path, frames)).read_bytes()
    (tmp_path / "cut.pcap").write_bytes(data[:-20])  # cut inside the last response
    result = headerwatch("scan", str(tmp_path / "cut.pcap"))
    assert result.returncode == 0
    assert [json.loads(x)["uri"] for x in result.stdout.splitlines()] == ["/0", "/1", "/2"]
    assert "cut short" in result.stderr


def test_stdin(tmp_path: Path) -> None:
    conv = conversation()
    frames = conv.handshake() + conv.send(True, simple_request("/piped")) + conv.close()
    data = Path(save(tmp_path, frames)).read_bytes()
    result = subprocess.run(
        [sys.executable, "-m", "tui.cli", "scan", "-"], input=data, capture_output=True, timeout=60
    )
    assert json.loads(result.stdout)["uri"] == "/piped"


def test_hostile_values_are_escaped_in_the_table(tmp_path: Path) -> None:
    """Terminal escapes and Rich markup in header values are shown, not obeyed."""
    evil_path = "/\x1b]0;pwned\x07\x1b[2J[red]x[/red]"
    conv = conversation()
    frames = (
        conv.handshake()
        + conv.send(True, simple_request(evil_path, host="[link=http://evil]h"))
        + conv.close()
    )
    result = headerwatch("scan", "--format", "table", save(tmp_path, frames))
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "\\x1b]0;pwned\\x07\\x1b[2J[red]x[/red]" in result.stdout
    assert "[link=http://evil]h" in result.stdout


@pytest.mark.parametrize("fmt", ["jsonl", "table"])
def test_broken_pipe_is_quiet(pcaps_dir: Path, fmt: str) -> None:
    gz = str(pcaps_dir / "zeek/1000-requests-one-dropped-response.pcap.gz")
    cmd = f"{sys.executable} -m tui.cli scan --format {fmt} {gz} | head -1"
    result = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in result.stderr
    assert len(result.stdout.splitlines()) == 1


@pytest.mark.parametrize("options", [["--jobs", "1"], ["--jobs", "2"], ["--format", "har"]])
def test_a_full_disk_is_one_line_and_exit_2(pcaps_dir: Path, options: list[str]) -> None:
    pcap = str(pcaps_dir / "zeek/1000-requests-one-dropped-response.pcap.gz")
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "tui.cli", "scan", *options, pcap],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    assert result.stderr == "headerwatch: error: cannot write the output: disk full\n"
    assert result.returncode == 2


def test_demo_findings_show_the_o2_number() -> None:
    result = headerwatch("scan", "--only-identity")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records and all(any(f["kind"] != "client_ip" for f in r["findings"]) for r in records)
    msisdn = [f for r in records for f in r["findings"] if f["kind"] == "msisdn"]
    assert msisdn[0]["name"] == "x-up-calling-line-id"
    assert msisdn[0]["normalized"] == "+447700900123"
    kinds = {f["kind"] for r in records for f in r["findings"]}
    assert {"msisdn", "imei", "tracking_id"} <= kinds


def test_fail_on_identity_exit_codes(pcaps_dir: Path) -> None:
    assert headerwatch("scan", "--fail-on-identity").returncode == 1
    assert (
        headerwatch("scan", "--fail-on-identity", str(pcaps_dir / "zeek/get.pcap")).returncode == 0
    )


def test_canary_from_the_command_line(tmp_path: Path) -> None:
    import hashlib

    digest = hashlib.sha256(b"+12015550123").hexdigest()
    conv = conversation()
    frames = conv.handshake() + conv.send(True, simple_request("/t", extra=f"X-Hash: {digest}\r\n"))
    result = headerwatch(
        "scan", "--msisdn", "+1 201 555 0123", save(tmp_path, frames + conv.close())
    )
    [record] = [json.loads(x) for x in result.stdout.splitlines()]
    [finding] = [f for f in record["findings"] if f["kind"] == "canary"]
    assert finding["severity"] == "high" and "sha256" in finding["detail"]


def test_bad_config_file_is_one_line(tmp_path: Path, pcaps_dir: Path) -> None:
    bad = tmp_path / "config.toml"
    bad.write_text("[identity\nregion = 'GB'\n")
    result = headerwatch("scan", "--config", str(bad), str(pcaps_dir / "zeek/get.pcap"))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and str(bad) in result.stderr


@pytest.mark.parametrize(
    ("table", "said"),
    [
        ("[keys]\nquit = 5\n", '[keys] quit must be a key name such as "F" or "ctrl+f"'),
        ('[keys]\nqiut = "q"\n', "[keys] unknown command 'qiut' (known: back, clear, "),
        ('[keys]\npause = "q"\n', "[keys] key q is both pause and quit"),
        ('[ui]\nconfirm_quit = "no"\n', "[ui] confirm_quit must be true or false"),
        ("[ui]\nconfirm_qiut = false\n", "unknown key 'confirm_qiut' in [ui]"),
        ('[live]\nspool_max = "lots"\n', "[live] spool_max: not a size: 'lots'"),
    ],
)
def test_scan_refuses_a_table_only_the_dashboard_reads_in_the_dashboards_one_line(
    tmp_path: Path, pcaps_dir: Path, table: str, said: str
) -> None:
    # scan passed these in silence: only the dashboard, started later, refused them.
    bad = tmp_path / "config.toml"
    bad.write_text(table)
    result = headerwatch("scan", "--config", str(bad), str(pcaps_dir / "zeek/get.pcap"))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"headerwatch: error: {bad}: {said}"), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr


def test_scan_takes_a_config_whose_keys_ui_and_live_tables_are_good(
    tmp_path: Path, pcaps_dir: Path
) -> None:
    good = tmp_path / "config.toml"
    good.write_text(
        '[keys]\nfollow = "F,ctrl+f"\npause = "p"\nquit = ["q", "ctrl+w"]\n'
        '[ui]\nconfirm_quit = false\n[live]\nspool_max = "200M"\n'
    )
    result = headerwatch("scan", "--config", str(good), str(pcaps_dir / "zeek/get.pcap"))
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 1
    assert "error" not in result.stderr and "warning" not in result.stderr


def test_rules_lists_the_catalog() -> None:
    result = headerwatch("rules", "--sources")
    assert result.returncode == 0
    assert "x-up-calling-line-id" in result.stdout and "source:" in result.stdout
    assert result.stdout.splitlines()[0].startswith("HEADER")
    # Every abbreviation a source: line uses is explained once, under SOURCES.
    rules, legend = result.stdout.split("SOURCES (abbreviations used above)\n", 1)
    explained = {line.split()[0] for line in legend.splitlines() if line.startswith("  ") and
                 not line.startswith("   ")}  # fmt: skip
    used = {
        part.strip().split()[0].rstrip(";")
        for line in rules.splitlines()
        if line.strip().startswith("source:")
        for part in line.split("source:", 1)[1].split("; ")
        # An abbreviation is one word with a dash (a repository's owner/name is not).
        if re.fullmatch(r"[A-Za-z][\w]*-[\w-]+;?", part.strip().split()[0])
    }
    assert used and used <= explained, used - explained


@pytest.mark.parametrize("engine", ["suricata", "zeek", "arkime"])
def test_rules_refuses_sources_with_an_engine_format_that_has_no_place_for_them(
    engine: str,
) -> None:
    result = headerwatch("rules", "--sources", "--format", engine)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("headerwatch: error: --sources is a line under each header")
    assert len(result.stderr.splitlines()) == 1


def test_rules_says_nothing_of_numbers_not_read_where_the_locale_has_no_region() -> None:
    # It reads no traffic: the note other commands give without a region is not true here.
    env = {k: v for k, v in os.environ.items() if not k.startswith("LC_")} | {"LANG": "C.UTF-8"}
    result = subprocess.run(
        [sys.executable, "-m", "tui.cli", "rules"], capture_output=True, text=True, env=env
    )
    assert result.returncode == 0 and "x-up-calling-line-id" in result.stdout
    assert result.stderr == ""


def test_har_format_is_one_document_with_the_responses() -> None:
    lines = headerwatch("scan").stdout.splitlines()
    result = headerwatch("scan", "--format", "har")
    assert result.returncode == 0
    log = json.loads(result.stdout)["log"]
    assert log["version"] == "1.2" and log["creator"]["name"] == "headerwatch"
    entries = log["entries"]
    records = [json.loads(line) for line in lines]
    # Capture order, every request, each with the response it got.
    assert [e["request"]["url"] for e in entries] == [
        f"http://{r['host']}{r['uri']}" for r in records
    ]
    assert all(e["response"]["status"] == 200 for e in entries)
    assert sum(1 for e in entries if e["_identityFindings"]) == sum(
        1 for r in records if r["findings"]
    )


def test_har_only_identity_and_fail_on_identity() -> None:
    result = headerwatch("scan", "--format", "har", "--only-identity", "--fail-on-identity")
    assert result.returncode == 1
    entries = json.loads(result.stdout)["log"]["entries"]
    assert entries and all(e["_identityFindings"] for e in entries)


def test_recurrence_flag_finds_a_token_sent_to_three_sites(tmp_path: Path) -> None:
    token = "OTgxNTk2NDk0ADJVquRu5NS5+rSbBANlrp+13QL7CXLGsFHpMi4LsUHw"
    frames = []
    for index, host in enumerate(["a.example", "b.example.org", "c.example.net"]):
        conv = conversation(cport=40000 + index, ts=1000.0 + index)
        frames += conv.handshake() + conv.send(True, simple_request("/", host, f"X-T: {token}\r\n"))
    path = save(tmp_path, frames)
    quiet = headerwatch("scan", path)
    assert '"recurrence"' not in quiet.stdout
    result = headerwatch("scan", "--recurrence", "3", "--jobs", "4", path)
    assert result.returncode == 0
    records = [json.loads(line) for line in result.stdout.splitlines()]
    found = [f for r in records for f in r["findings"] if f["detector"] == "recurrence"]
    assert [(f["kind"], f["name"]) for f in found] == [("tracking_id", "X-T")]
    assert headerwatch("scan", "--recurrence", "1", path).returncode == 2
    # The option overrides a config file that disables the detector, as options do;
    # without it, the file's word holds.
    config = tmp_path / "config.toml"
    config.write_text('[identity]\ndisabled = ["recurrence", "via"]\n')
    asked = headerwatch("scan", "--config", str(config), "--recurrence", "3", path)
    assert asked.returncode == 0 and asked.stdout == result.stdout
    assert '"recurrence"' not in headerwatch("scan", "--config", str(config), path).stdout


def test_table_width_option_fits_the_columns_and_a_terminal_sets_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result = headerwatch("scan", "--format", "table", "--width", "80")
    header, day, first = result.stdout.splitlines()[:3]
    assert header.split() == ["TIME", "CLIENT", "METHOD", "HOST", "PATH", "IDENTITIES"]
    assert day == "── 2012-01-10 UTC ──"  # the date and the zone, on a line of their own
    assert first.startswith("14:22:11Z 203.0.113.7     GET")  # no milliseconds, no port
    assert max(len(line) for line in result.stdout.splitlines()) == 80
    piped = headerwatch("scan", "--format", "table").stdout.splitlines()
    assert piped[1].startswith("2012-01-10T14:22:11.053Z  203.0.113.7:49153  ")
    for narrow in ("7", "60", "74"):
        # Its narrowest rows are 75 cells: at 60, every row would wrap.
        bad = headerwatch("scan", "--format", "table", "--width", narrow)
        assert bad.returncode == 2 and "not 0 or 75 to 10000 columns" in bad.stderr
    least = headerwatch("scan", "--format", "table", "--width", "75")
    assert max(len(line) for line in least.stdout.splitlines()) == 75

    import os

    from tui.common import output_width

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.setattr("shutil.get_terminal_size", lambda: os.terminal_size((97, 30)))
    assert output_width(None) == 97
    assert output_width(0) is None and output_width(150) == 150
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False)
    assert output_width(None) is None


@pytest.mark.parametrize(
    ("jobs", "signum", "then", "unbuffered"),
    [
        ("1", signal.SIGTERM, None, ""),
        ("2", signal.SIGTERM, None, ""),
        ("1", signal.SIGHUP, None, ""),
        # Unbuffered, a write is one system call, which the signal cut short: half a line.
        ("1", signal.SIGTERM, None, "1"),
        # A Ctrl-C a moment after: the same stop (it ended the process before its summary).
        ("1", signal.SIGTERM, signal.SIGINT, "1"),
        ("2", signal.SIGTERM, signal.SIGINT, ""),
    ],
)
def test_sigterm_or_sighup_stops_a_scan_as_ctrl_c_does_with_what_was_read_written(
    tmp_path: Path, jobs: str, signum: int, then: int | None, unbuffered: str
) -> None:
    """Their default action ended the process with its output still buffered: `kill`,
    `timeout`, systemd and CI lost every request read, and the summary."""
    from tests.capture.test_scan_jobs import gen_capture
    from tests.capture.test_scan_stop import SUMMARY, _copies

    capture = _copies(
        list(gen_capture.frames(3000, 300, bodies="small")), tmp_path / "c.pcap", 1000.0
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "scan", "--jobs", jobs, "--region", "GB", capture],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env={**os.environ, "PYTHONUNBUFFERED": unbuffered},
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()  # unread, the output holds the scan back
    # As systemd stops a service: the signal to every process of it.
    os.killpg(proc.pid, signum)
    if then is not None:
        time.sleep(0.1)
        os.killpg(proc.pid, then)
    lines = (first + proc.stdout.read()).splitlines()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 128 + signum, err
    assert [json.loads(line)["id"] for line in lines] == list(range(1, len(lines) + 1))
    assert 0 < len(lines) < 12_000
    summary = SUMMARY.match(err.splitlines()[-1])
    assert summary is not None, err
    assert int(summary[2].replace(",", "")) == len(lines)


def test_a_stop_while_the_output_is_not_read_ends_within_seconds_and_says_what_it_lacks(
    tmp_path: Path,
) -> None:
    """With the signals held for a whole write, a scan whose reader had stopped
    (`| sleep 15`) could be stopped by SIGKILL alone."""
    from capture.scan import STOP_GRACE
    from tests.capture.test_scan_jobs import gen_capture
    from tests.capture.test_scan_stop import _copies

    capture = _copies(
        list(gen_capture.frames(3000, 300, bodies="small")), tmp_path / "c.pcap", 1000.0
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "scan", "--jobs", "1", "--region", "GB", capture],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    time.sleep(2)  # the pipe full, nothing read from it
    proc.send_signal(signal.SIGTERM)
    started = time.monotonic()
    while proc.poll() is None:
        assert time.monotonic() - started < STOP_GRACE + 10, "not stopped"
        time.sleep(0.1)
    err = proc.stderr.read().decode()
    assert proc.returncode == 143, err
    assert "stopped while the output's reader took nothing for 3 s" in err
    assert " HTTP requests; " in err


def test_an_echo_that_comes_after_its_request_was_written_still_fails_on_identity(
    tmp_path: Path,
) -> None:
    # A stream on stdin holds a request ECHO_WAIT at most: the echo that came later
    # showed a number injected, the summary counted it, and --fail-on-identity gave 0.
    from tests.capture.test_echo_paths import _late_echo

    capture = Path(_late_echo(tmp_path)).read_bytes()
    result = subprocess.run(
        [sys.executable, "-m", "tui.cli", "scan", "--region", "GB", "--fail-on-identity", "-"],
        input=capture, capture_output=True, timeout=120,
    )  # fmt: skip
    err = result.stderr.decode()
    assert "1 identity in 1 request" in err and "written before its reflector's echo" in err
    assert result.returncode == 1, err
