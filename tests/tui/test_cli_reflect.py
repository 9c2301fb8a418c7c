"""``headerwatch reflect`` attacked as a new user's server would be: real processes on
loopback. Every loop is bounded in count and in time; each test asserts behaviour."""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from tests.capture.lab.test_reflect import read_answer
from tests.tui.test_e2e_demo import TMUX, Pane


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def reflect(
    *args: str,
    stdout: int | None = subprocess.DEVNULL,
    nofile: int | None = None,
    code: str | None = None,
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """The real command on a free loopback port; yields it once it listens.

    ``nofile`` lowers its descriptor limit; ``code`` runs before the command (in the
    same interpreter) to simulate descriptors used by something else."""
    port = _free_port()
    argv = ["reflect", "--bind", "127.0.0.1", "--port", str(port), *args]
    prelude = code or ""
    script = f"import sys\n{prelude}\nfrom tui.cli import main\nsys.exit(main({argv!r}))"

    def limit() -> None:
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=stdout,
        stderr=subprocess.PIPE,
        preexec_fn=limit,
    )
    assert proc.stderr is not None
    line = b""
    for _ in range(5):  # a line about the descriptor limit may come first
        line = proc.stderr.readline()
        if b"reflecting on" in line or not line:
            break
    assert b"reflecting on" in line, line
    try:
        yield proc, port
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def stop(proc: subprocess.Popen[bytes]) -> tuple[int, str]:
    """SIGTERM, then the exit status and the rest of stderr."""
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=10)
    return proc.returncode, err.decode()


def get(port: int, extra: bytes = b"", timeout: float = 5.0) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: lab\r\n" + extra + b"Connection: close\r\n\r\n")
        return read_answer(sock, timeout)[0]


def slow_connections(port: int, count: int, addresses: int) -> list[socket.socket]:
    """``count`` connections from ``addresses`` loopback addresses, each having sent
    the start of a head and no more (slowloris)."""
    socks = []
    for i in range(count):
        sock = socket.socket()
        sock.bind((f"127.0.2.{i % addresses + 1}", 0))
        sock.setblocking(False)
        with suppress(BlockingIOError):
            sock.connect(("127.0.0.1", port))
        socks.append(sock)
    return socks


def trickle(socks: list[socket.socket], data: bytes) -> None:
    for sock in socks:
        with suppress(OSError):
            sock.send(data)


def wait_for(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def test_slowloris_above_the_descriptor_limit_while_a_normal_client_is_served() -> None:
    # 128 descriptors: room for 96 connections. 400 slow clients from 20 addresses
    # trickle a byte every 0.3 s; a normal client still gets its answer at once.
    with reflect("--head-timeout", "3", nofile=128) as (proc, port):
        socks = slow_connections(port, 400, 20)
        try:
            started = time.monotonic()
            statuses = []
            for _ in range(5):  # bounded: 5 rounds of 0.3 s
                trickle(socks, b"G")
                time.sleep(0.3)
                statuses.append(get(port, timeout=5))
            took = time.monotonic() - started
        finally:
            for sock in socks:
                sock.close()
        code, err = stop(proc)
    assert statuses == [200] * 5
    assert took < 5 * (0.3 + 1.0)  # no client waited for the head deadline
    assert code == 0 and "Traceback" not in err
    assert "evicted while waiting" in err.splitlines()[-1]


def test_out_of_descriptors_gives_one_line_not_tracebacks() -> None:
    # Something else holds most descriptors: the limit says 96 connections fit, but
    # accepts fail after a few. asyncio would log a traceback for each one.
    code = (
        "import os, resource\n"
        "import capture.lab.reflect as r\n"
        "r.descriptor_room = lambda: 1000\n"
        "held = [os.open(os.devnull, os.O_RDONLY) for _ in range(100)]\n"
    )
    with reflect(nofile=128, code=code) as (proc, port):
        socks = []
        try:
            for i in range(60):
                s = socket.create_connection(("127.0.0.1", port), 5, (f"127.0.3.{i % 30 + 1}", 0))
                socks.append(s)
            time.sleep(2.5)  # asyncio retries the accept every second
        finally:
            for s in socks:
                s.close()
        time.sleep(1.2)
        after = get(port)  # serving again once descriptors are back
        code_, err = stop(proc)
    lines = [line for line in err.splitlines() if "cannot accept connections" in line]
    assert len(lines) == 1, err[-2000:]
    assert "Too many open files" in lines[0]
    assert "Traceback" not in err
    assert after == 200 and code_ == 0
    assert "accept failed" in err.splitlines()[-1]


def test_a_stdout_pipe_nobody_reads_does_not_stop_serving() -> None:
    pad = b"X-Pad: " + b"p" * 4000 + b"\r\n"
    with reflect("--queue", "50", stdout=subprocess.PIPE) as (proc, port):
        # Nobody reads stdout: the pipe (64 KiB) fills after a dozen records.
        statuses = [get(port, pad, timeout=3) for _ in range(200)]
        assert proc.stdout is not None
        code, err = stop(proc)
    assert statuses == [200] * 200
    assert code == 0 and "Traceback" not in err
    assert "records dropped (output too slow)" in err


def test_a_closed_stdout_stops_the_reflector_with_one_line() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `reflect | head -1` once head has left
    try:
        with reflect(stdout=write_end) as (proc, port):
            os.close(write_end)
            get(port)
            assert wait_for(lambda: proc.poll() is not None, 10)
            _, err = proc.communicate(timeout=5)
    finally:
        with suppress(OSError):
            os.close(write_end)
    text = err.decode()
    assert proc.returncode == 0
    assert "headerwatch: stdout closed; stopping" in text
    assert "Traceback" not in text and "BrokenPipe" not in text


def test_sigterm_stops_it_and_closes_keep_alive_connections() -> None:
    with reflect() as (proc, port), socket.create_connection(("127.0.0.1", port), 5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: lab\r\n\r\n")
        assert read_answer(sock)[0] == 200
        code, err = stop(proc)
        sock.settimeout(5)
        assert sock.recv(1) == b""  # closed by the server, not left hanging
    assert code == 0 and "Traceback" not in err
    assert "1 request reflected" in err


def test_output_file_is_private_appended_and_reopened_on_sighup(tmp_path: Path) -> None:
    out = tmp_path / "reflect.jsonl"
    with reflect("--output", str(out)) as (proc, port):
        get(port)
        assert wait_for(lambda: out.exists() and out.stat().st_size > 0, 5)
        out.rename(tmp_path / "reflect.jsonl.1")  # logrotate
        proc.send_signal(signal.SIGHUP)
        time.sleep(0.3)
        get(port)
        assert wait_for(lambda: out.exists() and out.stat().st_size > 0, 5)
        code, _ = stop(proc)
    assert code == 0
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    assert len((tmp_path / "reflect.jsonl.1").read_text().splitlines()) == 1
    assert len(out.read_text().splitlines()) == 1


def test_a_request_answered_after_the_output_failed_is_counted_as_not_recorded(
    tmp_path: Path,
) -> None:
    # The output cannot be reopened after SIGHUP (a directory planted in its place,
    # as a symlink is refused as root): the next request is answered before the
    # writer finds out, so its record is in no file, and the last line must say so.
    out = tmp_path / "reflect.jsonl"
    with reflect("--output", str(out)) as (proc, port):
        get(port)
        assert wait_for(lambda: out.exists() and out.stat().st_size > 0, 5)
        out.rename(tmp_path / "reflect.jsonl.1")
        out.mkdir()
        proc.send_signal(signal.SIGHUP)
        time.sleep(0.3)
        assert get(port, b"X-MSISDN: 447700900123\r\n") == 200
        assert wait_for(lambda: proc.poll() is not None, 10)
        _, err = proc.communicate(timeout=5)
    text = err.decode()
    assert proc.returncode == 2
    assert f"headerwatch: cannot reopen {out}: " in text
    last = text.splitlines()[-1]
    assert "2 requests reflected" in last
    assert last.endswith("; 1 record not recorded (output stopped)"), last
    assert "447700900123" not in (tmp_path / "reflect.jsonl.1").read_text()


def test_a_refused_request_is_in_the_output_file_and_not_counted_as_reflected(
    tmp_path: Path,
) -> None:
    out = tmp_path / "reflect.jsonl"
    with reflect("--output", str(out), "--region", "GB") as (proc, port):
        assert get(port) == 200
        # A broken middlebox's injection: refused (RFC 9112 §5.1), and still evidence.
        assert get(port, b"X-MSISDN : 447700900123\r\n") == 400
        assert wait_for(lambda: out.exists() and len(out.read_text().splitlines()) == 2, 5)
        code, err = stop(proc)
    assert code == 0
    first, refused = (json.loads(line) for line in out.read_text().splitlines())
    assert (first["id"], refused["id"]) == (1, 2) and refused["reflector"] is True
    assert refused["anomalies"][-1] == (
        "refused by the reflector: 400 whitespace before colon in header 'X-MSISDN'"
    )
    assert [f["normalized"] for f in refused["findings"]] == ["+447700900123"]
    last = err.splitlines()[-1]
    assert last.endswith(
        "1 request reflected, 2 connections (0 open), peak buffered 0.0 MiB; "
        "no limit hit; malformed (400): 1"
    ), last


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--head-timeout", "0"),
        ("--head-timeout", "nan"),
        ("--body-timeout", "inf"),
        ("--idle-timeout", "-inf"),
        ("--max-head", "0"),
        ("--max-head", "100k"),
        ("--stats-interval", "-1"),
        ("--stats-interval", "nan"),
    ],
)
def test_limits_are_options_and_bad_values_are_one_line(option: str, value: str) -> None:
    # Not listening is the point: NaN or infinity used to start a reflector whose
    # deadline fired at once (NaN) or never (infinity).
    argv = ["reflect", "--bind", "127.0.0.1", "--port", str(_free_port()), f"{option}={value}"]
    result = subprocess.run(
        [sys.executable, "-m", "tui.cli", *argv],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode == 2
    name = option.removeprefix("--")
    said = {
        "max-head": "max-head must be at most 65536 (what probe reads)"
        if value != "0"
        else "max-head must be a finite number above 0",
        "stats-interval": "stats-interval must be 0 or a finite number above 0",
    }.get(name, f"{name} must be a finite number above 0")
    assert result.stderr.strip() == f"headerwatch: error: {said}"


def test_an_output_where_no_file_can_be_made_is_one_true_line_before_listening() -> None:
    argv = ["reflect", "--bind", "127.0.0.1", "--port", str(_free_port())]
    result = subprocess.run(
        [sys.executable, "-m", "tui.cli", *argv, "--output", "/proc/reflected.jsonl"],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode == 2
    # /proc is there but takes no new file: the OS's reason, and where.
    assert result.stderr == (
        "headerwatch: error: /proc/reflected.jsonl: cannot create files in /proc "
        "(no such file or directory)\n"
    )


def test_one_reflector_listens_on_several_ports() -> None:
    other = _free_port()
    with reflect("--port", str(other)) as (proc, port):
        assert (get(port), get(other)) == (200, 200)
        code, _ = stop(proc)
    assert code == 0


def test_a_port_given_twice_is_said_so_not_taken_for_a_port_in_use() -> None:
    port = _free_port()
    argv = [sys.executable, "-m", "tui.cli", "reflect", "--bind", "127.0.0.1"]
    result = subprocess.run(
        [*argv, "--port", str(port), "--port", "8081", "--port", str(port)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr == (
        f"headerwatch: error: --port {port} given twice; each port is listened on once\n"
    )


def table_on_screen(screen: str, row_text: str) -> tuple[str, str]:
    """The table's header line and the first row holding ``row_text``, as shown."""
    lines = [line.rstrip() for line in screen.splitlines()]
    header = next(line for line in lines if line.startswith("TIME"))
    return header, next(line for line in lines if row_text in line)


def table_in_pane(port: int) -> Pane:
    """``reflect --format table`` on ``port`` in a tmux pane 80 columns wide."""
    argv = [sys.executable, "-m", "tui.cli", "reflect", "--bind", "127.0.0.1", "--port"]
    return Pane([*argv, str(port), "--format", "table"], {"TERM": "xterm-256color"}, width=80)


@pytest.mark.tmux
@pytest.mark.skipif(TMUX is None, reason="needs tmux (apt-get install tmux) for a real terminal")
def test_the_table_is_fitted_to_the_terminal_it_is_printed_on() -> None:
    port = _free_port()
    pane = table_in_pane(port)
    try:
        pane.wait_for("reflecting on")
        assert get(port, b"X-MSISDN: 447700900765\r\n") == 200
        screen = pane.wait_for("msisdn=")
        header, row = table_on_screen(screen, "msisdn=")
    finally:
        # Stopped before its pane goes, by its own signal (SIGHUP has its own test).
        os.kill(int(pane.show("#{pane_pid}")), signal.SIGTERM)
        assert wait_for(lambda: not pane.alive(), 10), "reflect did not stop on SIGTERM"
        pane.kill()
    # Within 80 columns, the header and the row each on one line (not cut onto the
    # next), every column there, the row's under the header's, the date above it.
    assert header.split() == ["TIME", "CLIENT", "METHOD", "HOST", "PATH", "IDENTITIES"]
    assert len(header) <= 80 and len(row) <= 80, (header, row)
    assert row.endswith(" msisdn=+447700900765"), row
    assert row.index("msisdn=") == header.index("IDENTITIES"), (header, row)
    assert re.match(r"\d\d:\d\d:\d\dZ 127\.0\.0\.1 ", row), row
    assert re.search(r"^── \d{4}-\d\d-\d\d UTC ──$", screen, re.M), screen


def test_sighup_without_an_output_file_stops_it_with_its_summary() -> None:
    # Its terminal is gone: nothing to reopen, and nobody to tell what it reflects.
    with reflect() as (proc, port):
        assert get(port) == 200
        proc.send_signal(signal.SIGHUP)
        _, err = proc.communicate(timeout=10)
    text = err.decode()
    assert proc.returncode == 0 and "Traceback" not in text
    assert text.splitlines()[-1].startswith("headerwatch: 1 request reflected, ")


def test_an_idle_reflector_prints_no_summary_until_something_happens() -> None:
    # README: a summary every --stats-interval "only when something changed"; the first
    # came 1 s after the start, of nothing.
    with reflect("--stats-interval", "0.3") as (proc, port):
        time.sleep(1.2)
        assert get(port) == 200
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    summaries = [line for line in err.decode().splitlines() if " reflected, " in line]
    # One tick after the request, and the one at exit (the same line). On a loaded
    # machine a tick may also fall between the client's connect and its request: that
    # line reports the open connection, which is something; none reports nothing.
    assert summaries and summaries[-1].startswith("headerwatch: 1 request reflected")
    assert all(
        line.startswith("headerwatch: 1 request reflected")
        or line.startswith("headerwatch: 0 requests reflected, 1 connection (1 open)")
        for line in summaries
    )


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state == "Z"


@pytest.mark.tmux
@pytest.mark.skipif(TMUX is None, reason="needs tmux (apt-get install tmux) for a real terminal")
def test_a_table_in_a_tmux_session_stops_when_the_session_is_killed() -> None:
    pane = table_in_pane(_free_port())
    pid = 0
    try:
        pane.wait_for("reflecting on")
        pid = int(pane.show("#{pane_pid}"))
        pane._tmux("kill-session", "-t", pane.name)  # SIGHUP, as the tester did
        stopped = wait_for(lambda: _gone(pid), 10)
    finally:
        if pid and not _gone(pid):
            os.kill(pid, signal.SIGTERM)
        pane.kill()
    assert stopped, "reflect outlived its terminal"


def test_redact_masks_the_log_it_writes_and_the_echo_still_shows_what_arrived(
    tmp_path: Path,
) -> None:
    out = tmp_path / "reflect.jsonl"
    number = b"447700900123"
    with reflect("--redact", "--region", "GB", "--output", str(out)) as (proc, port):
        with socket.create_connection(("127.0.0.1", port), 5, ("127.0.2.9", 0)) as sock:
            sock.sendall(
                b"GET /?n=447700900123 HTTP/1.1\r\nHost: lab\r\nx-up-calling-line-id: "
                + number
                + b"\r\nConnection: close\r\n\r\n"
            )
            status, headers, body = read_answer(sock)
        assert wait_for(lambda: out.exists() and out.stat().st_size > 0, 5)
        code, err = stop(proc)
    assert code == 0 and "Traceback" not in err
    # The client is shown what arrived: the echo and its body keep the number.
    assert status == 200
    assert number in base64.b64decode(headers["x-headerwatch-received"])
    assert number in body
    # The log holds no trace of the number or the client's address.
    text = out.read_text()
    assert "447700900123" not in text
    assert "127.0.2.9" not in text
    record = json.loads(text)
    assert record["reflector"] is True
    assert ipaddress.ip_address(record["src"]) in ipaddress.ip_network("198.18.0.0/15")
    [msisdn] = [f for f in record["findings"] if f["kind"] == "msisdn"]
    assert re.fullmatch(r"<msisdn …23 #[0-9a-f]{10}>", msisdn["normalized"])
    assert ["x-up-calling-line-id", msisdn["normalized"]] in record["headers"]
    # Read back, its findings are those it was written with: a mask is not found again.
    again = subprocess.run(
        [sys.executable, "-m", "tui.cli", "scan", "--region", "GB", str(out)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert [json.loads(line)["findings"] for line in again.stdout.splitlines()] == [
        record["findings"]
    ]


def test_redact_keeps_the_host_on_a_reflector_reached_from_its_own_address(
    tmp_path: Path,
) -> None:
    """Client and server are both 127.0.0.1: the client's address gets its pseudonym
    wherever the request spells it, but the Host (and an absolute-form target's
    authority) names the site that received the request, and stays as it was sent."""
    out = tmp_path / "reflect.jsonl"
    with reflect("--redact", "--output", str(out)) as (proc, port):
        site = f"127.0.0.1:{port}"
        for target in ("/p?from=127.0.0.1", f"http://{site}/q?from=127.0.0.1"):
            with socket.create_connection(("127.0.0.1", port), 5) as sock:
                sock.sendall(
                    f"GET {target} HTTP/1.1\r\nHost: {site}\r\nX-Note: 127.0.0.1\r\n"
                    "Connection: close\r\n\r\n".encode()
                )
                assert read_answer(sock)[0] == 200
        assert wait_for(lambda: len(out.read_text().splitlines()) == 2, 5)
        code, err = stop(proc)
    assert code == 0 and "Traceback" not in err
    records = [json.loads(line) for line in out.read_text().splitlines()]
    pseudonym = records[0]["src"]
    assert ipaddress.ip_address(pseudonym) in ipaddress.ip_network("198.18.0.0/15")
    assert [r["uri"] for r in records] == [
        f"/p?from={pseudonym}",
        f"http://{site}/q?from={pseudonym}",
    ]
    for r in records:
        assert (r["src"], r["dst"]) == (pseudonym, "127.0.0.1")
        assert r["headers"][:2] == [["Host", site], ["X-Note", pseudonym]]


def test_redact_masks_a_supercookie_in_the_log_before_recurrence_finds_it(tmp_path: Path) -> None:
    """The first two requests are written before the third takes the token to its
    third site; none of the log's lines holds it."""
    from tests.helpers import SUPERCOOKIE, SUPERCOOKIE_SITES

    out = tmp_path / "reflect.jsonl"
    with reflect("--redact", "--recurrence", "3", "--output", str(out)) as (proc, port):
        for count, host in enumerate(SUPERCOOKIE_SITES[:3], 1):
            with socket.create_connection(("127.0.0.1", port), 5) as sock:
                sock.sendall(
                    f"GET / HTTP/1.1\r\nHost: {host}\r\nX-Sub-Tag: {SUPERCOOKIE}\r\n"
                    "Connection: close\r\n\r\n".encode()
                )
                assert read_answer(sock)[0] == 200
            assert wait_for(lambda n=count: len(out.read_text().splitlines()) == n, 5)
        code, err = stop(proc)
    assert code == 0 and "Traceback" not in err
    text = out.read_text()
    assert SUPERCOOKIE[:16] not in text
    records = [json.loads(line) for line in text.splitlines()]
    masks = {dict((n.lower(), v) for n, v in r["headers"])["x-sub-tag"] for r in records}
    assert len(masks) == 1 and re.fullmatch(r"<tracking_id …74 #[0-9a-f]{10}>", masks.pop())
    found = [[(f["kind"], f["detector"]) for f in r["findings"]] for r in records]
    assert found == [[], [], [("tracking_id", "recurrence")]]


def test_redact_says_at_the_start_that_it_masks_a_value_from_where_it_is_found() -> None:
    """A log written as requests come cannot mask a value in the lines written before
    it was found: its first lines say so, once."""
    note = (
        "headerwatch: note: --redact masks each value from the request it is first found "
        "in on; lines written before that keep it (scan --redact on the finished output "
        "masks it in all of them)"
    )

    def rest(*args: str) -> list[str]:
        # What it said after "reflecting on", read through the reader that read that
        # line (it may hold the next ones already), until it exits.
        with reflect(*args) as (proc, _):
            assert proc.stderr is not None
            proc.send_signal(signal.SIGTERM)
            said = proc.stderr.read().decode().splitlines()
            assert proc.wait(10) == 0
        return said

    said = rest("--redact")
    assert said.count(note) == 1 and said.index(note) < len(said) - 1, said  # before the end
    assert not [line for line in rest() if "--redact" in line]


def test_redact_says_its_key_is_made_for_the_run() -> None:
    """Not for each file: the files a SIGHUP reopens share it (docs/formats.md)."""
    help_text = subprocess.run(
        [sys.executable, "-m", "tui.cli", "reflect", "--help"],
        capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip
    said = " ".join(help_text.split())
    assert "a hash keyed per run, so one number is recognisable within a run and" in said
    assert "per file" not in said


def test_echo_key_makes_a_private_key_says_so_and_probe_believes_it_with_that_file(
    tmp_path: Path,
) -> None:
    key = tmp_path / "echo.key"
    with reflect("--echo-key", str(key)) as (proc, port):
        assert oct(key.stat().st_mode & 0o777) == "0o600"
        probed = subprocess.run(
            [sys.executable, "-m", "tui.cli", "probe", "--format", "jsonl", "--echo-key",
             str(key), f"http://127.0.0.1:{port}/"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert proc.stderr is not None
        note = proc.stderr.readline().decode()  # said as it starts, after "reflecting on"
        stop(proc)
    assert probed.returncode == 0, probed.stderr
    assert json.loads(probed.stdout)["echo_signed"] is True
    assert note.startswith(f"headerwatch: note: a new echo key in {key}: copy it to the capture")
    # Started again with the same file: the key is kept, and no new one is announced.
    before = key.read_bytes()
    with reflect("--echo-key", str(key), "--region", "GB") as (proc, _):
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
        assert proc.stderr is not None
        err = proc.stderr.read().decode()  # what readline left in its buffer too
    assert key.read_bytes() == before and "reflected" in err and "a new echo key" not in err


def test_a_key_file_others_can_read_is_refused_in_one_line_by_reflect_and_scan(
    tmp_path: Path,
) -> None:
    key = tmp_path / "echo.key"
    key.write_text("ab" * 32 + "\n")
    key.chmod(0o644)
    for argv in (
        ["reflect", "--port", str(_free_port()), "--echo-key", str(key)],
        [
            "scan",
            "--echo-key",
            str(key),
            str(Path(__file__).parent.parent.parent / "capture" / "data" / "demo-o2-2012.pcap"),
        ],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "tui.cli", *argv], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert lines == [
            f"headerwatch: error: echo key {key}: other users can read or change it (mode 0644); "
            f"chmod 600 {key}"
        ], done.stderr


def test_output_max_stops_the_file_not_the_reflector_and_says_how_many_were_left_out(
    tmp_path: Path,
) -> None:
    out = tmp_path / "records.jsonl"
    with reflect("--output", str(out), "--output-max", "1k", "--region", "GB") as (proc, port):
        statuses = [get(port) for _ in range(12)]  # a record is about 250 bytes
        code, err = stop(proc)
    assert code == 0, err
    assert statuses == [200] * 12  # every request answered
    written = out.read_text().splitlines()
    assert 0 < len(written) < 12 and out.stat().st_size <= 1024
    left = 12 - len(written)
    assert (
        f"{left} records not recorded ({left} --output-max reached); the file is full: "
        "SIGHUP after rotating it writes again"
    ) in err
    # Options that bound or name what another option gives: refused without it.
    for argv, said in (
        (["--output-max", "1M"], "--output-max bounds the file of --output: give one"),
        (
            ["--name", "lab.example"],
            "--name names the reflector whose echoes --echo-key signs: give one",
        ),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "tui.cli", "reflect", *argv],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 2
        assert done.stderr.strip() == f"headerwatch: error: {said}"


def test_name_goes_with_the_echo_key_of_the_config_file_too(tmp_path: Path) -> None:
    key = tmp_path / "echo.key"
    config = tmp_path / "c.toml"
    config.write_text(f'[echo]\nkey = "{key}"\n')
    with reflect("--config", str(config), "--name", "lab.example", "--region", "GB") as (proc, _):
        code, err = stop(proc)
    assert code == 0 and "error" not in err, err
    assert key.exists()
