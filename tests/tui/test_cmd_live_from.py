"""``headerwatch live --from PATH`` on the command line, headless, and
``headerwatch mitmproxy-addon`` (no mitmproxy needed: the records are written here)."""

from __future__ import annotations

import gzip
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
import pytest

from capture.formats.record_session import info_of_line
from capture.formats.session import canary_digest
from capture.version import catalog_version
from tests.conftest import REPO
from tui.cli import main


def _record(n: int, headers: list[list[str]]) -> bytes:
    return (
        orjson.dumps(
            {
                "ts": 1700000000.0 + n,
                "src": "10.0.0.2",
                "sport": 40000 + n,
                "dst": "192.0.2.1",
                "dport": 443,
                "method": "GET",
                "uri": f"/{n}",
                "version": "HTTP/1.1",
                "headers": [["Host", "ads.example"], *headers],
                "source": "mitmproxy",
            }
        )
        + b"\n"
    )


def _follow(tmp_path: Path, *args: str, twice: bool = False) -> subprocess.CompletedProcess[str]:
    source = tmp_path / "proxy.jsonl"
    seen = tmp_path / "seen.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "live", "--from", str(source), "-w", str(seen), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while not (seen.exists() and len(seen.read_bytes().splitlines()) >= 3):
        assert time.monotonic() < deadline and proc.poll() is None, proc.stderr
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    if twice:
        # timeout(1)'s way: to the command, then to its process group, at once.
        time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_headless_follow_keeps_identity_options_and_exit_codes(tmp_path: Path) -> None:
    (tmp_path / "proxy.jsonl").write_bytes(
        _record(1, [["User-Agent", "app"]])
        + _record(2, [["X-Ad-Id", "my-canary-1234"], ["Cookie", "imei=490154203237518"]])
    )
    run = _follow(
        tmp_path,
        "--format", "table", "--only-identity", "--fail-on-identity",
        "--canary", "my-canary-1234",
    )  # fmt: skip
    assert run.returncode == 1, run.stderr
    rows = run.stdout.splitlines()[1:]
    assert len(rows) == 1 and "/2" in rows[0]
    assert "canary" in rows[0] and "imei" in rows[0]
    assert "2 records followed" in run.stderr
    assert "2 lines recorded" in run.stderr


@pytest.mark.skipif(shutil.which("timeout") is None, reason="needs coreutils' timeout")
@pytest.mark.parametrize(("records", "status"), [([["X-MSISDN", "447700900123"]], 1), ([], 0)])
def test_the_readmes_timeout_recipe_tells_a_script_whether_an_identity_was_seen(
    tmp_path: Path, records: list[list[str]], status: int
) -> None:
    """README: `timeout --preserve-status -s INT 60 headerwatch live ... --fail-on-identity`.
    As first written, without --preserve-status, it exited 124 either way."""
    source = tmp_path / "proxy.jsonl"
    source.write_bytes(_record(1, records))
    run = subprocess.run(
        ["timeout", "--preserve-status", "-s", "INT", "5", sys.executable, "-m", "tui.cli",
         "live", "--from", str(source), "--format", "jsonl", "--fail-on-identity"],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )  # fmt: skip
    assert run.returncode == status, run.stderr
    assert [orjson.loads(line)["uri"] for line in run.stdout.splitlines()] == ["/1"]


def test_one_signal_delivered_twice_at_once_stops_as_one_not_as_a_second_ctrl_c(
    tmp_path: Path,
) -> None:
    """Taken for a second Ctrl-C, the second delivery cut the stop short: no summary,
    exit 130 (the README's timeout recipe failed so now and then)."""
    (tmp_path / "proxy.jsonl").write_bytes(_record(1, []) + _record(2, []))
    run = _follow(tmp_path, "--format", "jsonl", "--fail-on-identity", twice=True)
    assert run.returncode == 0, run.stderr
    assert "2 records followed" in run.stderr


def test_following_nothing_of_identity_exits_0(tmp_path: Path) -> None:
    (tmp_path / "proxy.jsonl").write_bytes(_record(1, []) + _record(2, []))
    run = _follow(tmp_path, "--format", "jsonl", "--fail-on-identity")
    assert run.returncode == 0, run.stderr
    assert [orjson.loads(line)["uri"] for line in run.stdout.splitlines()] == ["/1", "/2"]


def test_redacted_lines_are_masked_from_then_on_and_it_says_so(tmp_path: Path) -> None:
    """A stream cannot mask what it wrote before a value was found: the first line
    keeps the number (its path is where nothing reads one), the second masks it; the
    note at the start says so."""
    (tmp_path / "proxy.jsonl").write_bytes(
        _record(1, [["X-Line-Ref", "447700900123"]])
        + _record(2, [["X-MSISDN", "447700900123"], ["X-Line-Ref", "447700900123"]])
    )
    run = _follow(tmp_path, "--format", "jsonl", "--redact", "--region", "GB")
    first, second = (orjson.loads(line) for line in run.stdout.splitlines())
    assert ["X-Line-Ref", "447700900123"] in first["headers"]
    assert "447700900123" not in orjson.dumps(second).decode()
    note = (
        "headerwatch: note: --redact masks each value from the request it is first found "
        "in on; lines written before that keep it (scan --redact on the finished output "
        "masks it in all of them)"
    )
    assert note in run.stderr.splitlines(), run.stderr
    plain = _follow(tmp_path, "--format", "jsonl")
    assert "--redact" not in plain.stderr


def test_a_redacted_follow_says_its_recording_keeps_the_identities_as_they_came(
    tmp_path: Path,
) -> None:
    """--redact masks what is printed; -w is the evidence, kept as it came. Before,
    nothing said so, and a user could take the recording for a redacted one."""
    (tmp_path / "proxy.jsonl").write_bytes(
        _record(1, [["X-MSISDN", "447700900123"]]) + _record(2, [])
    )
    run = _follow(tmp_path, "--format", "jsonl", "--redact")
    seen = tmp_path / "seen.jsonl"
    assert (
        f"headerwatch: note: {seen} records the capture as it came, identities included: "
        f"--redact masks only what is printed and exported (scan --redact {seen} masks a "
        "copy of it)"
    ) in run.stderr.splitlines()
    assert "447700900123" not in run.stdout
    assert b"447700900123" in seen.read_bytes()


def test_a_recording_cites_the_region_of_the_locale_that_read_its_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No --region: the locale's region read the national number, and the recording's
    session line says so (it said "" though its findings were made in GB)."""
    monkeypatch.setenv("LC_ALL", "en_GB.UTF-8")
    (tmp_path / "proxy.jsonl").write_bytes(
        _record(1, [["X-MSISDN", "07700 900123"]]) + _record(2, [])
    )
    run = _follow(tmp_path, "--format", "jsonl")
    found = orjson.loads(run.stdout.splitlines()[0])["findings"]
    assert [f["normalized"] for f in found if f["kind"] == "msisdn"] == ["+447700900123"]
    first = (tmp_path / "seen.jsonl").read_bytes().splitlines()[0]
    info = info_of_line(first)
    assert info is not None and info.source == f"proxy {tmp_path / 'proxy.jsonl'}"
    assert (info.region, info.catalog) == ("GB", catalog_version())


def test_a_recording_cites_each_canary_once_as_the_digest_of_its_canonical_value(
    tmp_path: Path,
) -> None:
    listed = tmp_path / "canaries.txt"
    listed.write_text("msisdn +44 7700 900123\nimsi 234 15 1234567890\n")
    (tmp_path / "proxy.jsonl").write_bytes(
        _record(1, [["X-Ad-Id", "my-canary-1234"]]) + _record(2, [])
    )
    run = _follow(
        tmp_path,
        "--format", "jsonl", "--region", "GB",
        "--msisdn", "07700 900123", "--canary", "my-canary-1234",
        "--canary-file", str(listed),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    first = (tmp_path / "seen.jsonl").read_bytes().splitlines()[0]
    info = info_of_line(first)
    values = ("+447700900123", "234151234567890", "my-canary-1234")
    assert info is not None and info.canary_sha256 == tuple(sorted(map(canary_digest, values)))
    assert b"900123" not in first and b"my-canary" not in first and b"1234567890" not in first


def test_a_path_that_cannot_be_followed_is_one_line_and_exit_2(
    tmp_path: Path, capsys: object
) -> None:
    assert main(["live", "--from", str(tmp_path), "--format", "jsonl"]) == 2
    err = capsys.readouterr().err  # type: ignore[attr-defined]
    assert err.strip().count("\n") == 0
    assert "is a directory" in err


def test_a_gzip_file_is_read_whole_and_following_ends_by_itself(tmp_path: Path) -> None:
    lines = _record(1, []) + _record(2, [["X-MSISDN", "447700900123"]])
    (tmp_path / "proxy.jsonl.gz").write_bytes(gzip.compress(lines))
    seen = tmp_path / "seen.jsonl"
    run = subprocess.run(
        [sys.executable, "-m", "tui.cli", "live", "--from", str(tmp_path / "proxy.jsonl.gz"),
         "--format", "jsonl", "--fail-on-identity", "-w", str(seen)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode == 1, run.stderr  # read, ended, and an identity was found
    assert [orjson.loads(line)["uri"] for line in run.stdout.splitlines()] == ["/1", "/2"]
    assert "2 records followed, 2 lines recorded" in run.stderr
    assert seen.read_bytes().splitlines(keepends=True)[1:] == lines.splitlines(keepends=True)


def test_a_recording_of_an_engine_log_reads_back_with_its_findings_in_one_process_or_split(
    tmp_path: Path,
) -> None:
    # live --from records the lines it follows as read, after the session's first line:
    # an eve.json's or a Zeek http.log's, whose kind the reader must see past that line.
    eve = {
        "timestamp": "2026-12-03T10:00:00.250000+0000", "flow_id": 7, "event_type": "http",
        "src_ip": "10.0.0.2", "src_port": 40000, "dest_ip": "192.0.2.80", "dest_port": 80,
        "tx_id": 0, "http": {"hostname": "ads.example", "url": "/e", "http_method": "GET",
        "protocol": "HTTP/1.1", "request_headers": [{"name": "X-MSISDN", "value": "447700900123"}]},
    }  # fmt: skip
    # btest masks the times (a real log has numbers there) and adds a first line.
    zeek = (REPO / "tests" / "data" / "engines" / "zeek" / "header-names.http.log").read_text()
    zeek_lines = zeek.replace("XXXXXXXXXX.XXXXXX", "1700000000.000000").splitlines(True)[1:]
    heads = [line for line in zeek_lines if line.startswith("#")]
    rows = [line for line in zeek_lines if not line.startswith("#")]
    # Larger than one share of a split scan (capture.scan_jobs.RECORD_CHUNK): the
    # second process starts in the middle of the file.
    logs = {
        "eve.json": b"".join(orjson.dumps(eve) + b"\n" for _ in range(1000)),
        "http.log": "".join(heads + rows * 50).encode(),
    }
    for name, lines in logs.items():
        (tmp_path / f"{name}.gz").write_bytes(gzip.compress(lines))
        seen = tmp_path / f"{name}.session.jsonl"
        run = subprocess.run(
            [sys.executable, "-m", "tui.cli", "live", "--from", str(tmp_path / f"{name}.gz"),
             "--format", "jsonl", "-w", str(seen)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        followed = run.stdout.splitlines()
        assert followed
        for jobs in ("1", "2"):
            again = subprocess.run(
                [sys.executable, "-m", "tui.cli", "scan", str(seen), "--jobs", jobs],
                capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            assert again.returncode == 0, again.stderr
            assert "passed over" not in again.stderr, again.stderr
            assert again.stdout.splitlines() == followed, (name, jobs)


def test_an_error_while_following_is_one_line_and_exit_2_after_what_was_read(
    tmp_path: Path,
) -> None:
    source = tmp_path / "proxy.jsonl"
    source.write_bytes(_record(1, []) + _record(2, [["X-MSISDN", "447700900123"]]))
    seen = tmp_path / "seen.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "live", "--from", str(source), "--format", "jsonl",
         "--fail-on-identity", "-w", str(seen)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while not (seen.exists() and len(seen.read_bytes().splitlines()) >= 3):
        assert time.monotonic() < deadline and proc.poll() is None, proc.stderr
        time.sleep(0.05)
    source.rename(tmp_path / "proxy.jsonl.1")  # rotated, and a directory comes instead
    source.mkdir()
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 2, err  # the input error, though an identity was found
    assert [orjson.loads(line)["uri"] for line in out.splitlines()] == ["/1", "/2"]
    errors = [line for line in err.splitlines() if line.startswith("headerwatch: error: ")]
    assert errors == [f"headerwatch: error: {source}: is a directory, not a file of records"]
    assert len(seen.read_bytes().splitlines()) == 3


def test_a_file_of_json_lines_none_of_which_is_a_record_is_refused_at_once(
    tmp_path: Path,
) -> None:
    # Before, it was followed until Ctrl-C, and only then said to hold no record.
    source = tmp_path / "j2.json"
    source.write_bytes(b'{"foo":1}\n{"bar":2}\n')
    run = subprocess.run(
        [sys.executable, "-m", "tui.cli", "live", "--from", str(source), "--format", "jsonl"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert run.returncode == 2, run.stderr
    assert run.stdout == ""
    errors = [line for line in run.stderr.splitlines() if line.startswith("headerwatch: error: ")]
    assert errors == [
        f"headerwatch: error: {source}: nothing read: none of its 2 lines are headerwatch "
        "JSONL records (first: line 1: ts: missing)"
    ]


def test_a_file_that_comes_unreadable_is_one_line_and_exit_2() -> None:
    argv = [sys.executable, "-m", "tui.cli", "live", "--format", "jsonl", "--from"]
    if os.geteuid() == 0:  # root reads anything: follow as nobody
        argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *argv]
    where = Path(tempfile.mkdtemp(prefix="hw-live-from-"))
    try:
        os.chmod(where, 0o755)
        source = where / "proxy.jsonl"
        env = {**os.environ, "HOME": "/", "XDG_CONFIG_HOME": "/proc/empty"}
        proc = subprocess.Popen(
            [*argv, str(source)], stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            cwd=REPO, env=env,
        )  # fmt: skip
        assert proc.stderr is not None
        while "following" not in (line := proc.stderr.readline()):
            assert line, proc.communicate(timeout=20)
        # Not there when following began (so waited for); it comes unreadable.
        fd = os.open(source, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o000)
        os.write(fd, _record(1, []))
        os.close(fd)
        out, err = proc.communicate(timeout=20)
    finally:
        shutil.rmtree(where)
    assert proc.returncode == 2, err
    assert out == ""
    assert f"headerwatch: error: {source}: permission denied\n" in err


_DNS = b'{"timestamp":"2026-12-03T10:00:00.000000+0000","event_type":"dns","src_ip":"a"}\n'


@pytest.mark.parametrize(
    ("name", "lines", "words"),
    [
        ("eve.json", _DNS * 2, "0 HTTP events"),  # no http event among them
        ("http.log", b"#separator \\x09\n#fields\tts\tuid\tid.orig_h\n", "0 HTTP log records"),
        ("proxy.jsonl", b'{"headerwatch_addon": {"dropped": 0}}\n', "0 records"),  # status only
        ("later.jsonl", None, "0 records"),  # not there yet: nothing came, of no kind yet
    ],
    ids=["eve", "zeek", "jsonl", "not-there"],
)
def test_a_log_followed_and_stopped_by_ctrl_c_having_read_nothing_is_summed_up_in_its_words(
    tmp_path: Path, name: str, lines: bytes | None, words: str
) -> None:
    source = tmp_path / name
    if lines is not None:
        source.write_bytes(lines)
    seen = tmp_path / "seen.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "live", "--from", str(source), "--format", "jsonl",
         "-w", str(seen)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    while "Ctrl-C to stop" not in (line := proc.stderr.readline()):
        assert line, proc.communicate(timeout=20)
    # Every line read (the recording has them after its session line), then Ctrl-C.
    want = 1 + (len(lines.splitlines()) if lines is not None else 0)
    deadline = time.monotonic() + 20
    while len(seen.read_bytes().splitlines()) < want:
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert out == ""
    # Before: "0 packets; 0 TCP connections; ...; 0 records followed".
    summary = err.splitlines()[-1]
    assert summary.startswith(
        f"headerwatch: {words} in {source}; 0 HTTP requests; 0 identities in 0 requests; "
        f"{words} followed, "
    ), err
    assert "packet" not in err and "TCP" not in err


def test_a_recording_that_exists_is_refused_in_one_line(tmp_path: Path, capsys: object) -> None:
    (tmp_path / "proxy.jsonl").write_bytes(_record(1, []))
    earlier = tmp_path / "seen.jsonl"
    earlier.write_bytes(b"yesterday's records\n")
    argv = ["live", "--from", str(tmp_path / "proxy.jsonl"), "--format", "jsonl"]
    assert main([*argv, "-w", str(earlier)]) == 2
    err = capsys.readouterr().err  # type: ignore[attr-defined]
    assert err == f"headerwatch: error: {earlier}: exists already, not replaced\n"
    assert earlier.read_bytes() == b"yesterday's records\n"


def test_a_recording_named_for_frames_is_refused_for_records(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "proxy.jsonl").write_bytes(_record(1, []))
    target = tmp_path / "seen.pcapng"
    argv = ["live", "--from", str(tmp_path / "proxy.jsonl"), "--format", "jsonl"]
    assert main([*argv, "-w", str(target)]) == 2
    assert capsys.readouterr().err == (
        f"headerwatch: error: {target}: .pcapng is for a pcapng session, but live --from "
        "writes a session of records (JSONL): end the name with .jsonl\n"
    )
    assert not target.exists()


def test_a_recording_where_no_file_can_be_made_is_refused_in_one_true_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "proxy.jsonl").write_bytes(_record(1, []))
    argv = ["live", "--from", str(tmp_path / "proxy.jsonl"), "--format", "jsonl", "-w"]
    # /proc is there but takes no new file: this said "no such directory".
    assert main([*argv, "/proc/seen.jsonl"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "headerwatch: error: /proc/seen.jsonl: cannot create files in /proc "
        "(no such file or directory)\n"
    )
    target = tmp_path / "proxy.jsonl" / "seen.jsonl"
    assert main([*argv, str(target)]) == 2
    err = capsys.readouterr().err
    assert err == f"headerwatch: error: {target}: {target.parent.resolve()} is not a directory\n"


def test_a_recording_that_fills_the_disk_keeps_following_but_exits_2(tmp_path: Path) -> None:
    """stdout gets every request; the status says the -w file lacks some (it was 0)."""
    from tests.netns import require_root

    require_root()  # to mount a small tmpfs
    small = tmp_path / "small"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(small)], check=True)
    try:
        with (small / "filler").open("wb") as filler:
            filler.write(b"x" * 56 * 1024)  # room left for the session line and a few
        n = 40  # about 40 KB of lines
        padding = ["X-Padding", "p" * 1000]
        (tmp_path / "proxy.jsonl").write_bytes(b"".join(_record(i, [padding]) for i in range(n)))
        seen = small / "seen.jsonl"
        proc = subprocess.Popen(
            [sys.executable, "-m", "tui.cli", "live", "--from", str(tmp_path / "proxy.jsonl"),
             "--format", "jsonl", "-w", str(seen)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert proc.stdout is not None
        read = [proc.stdout.readline() for _ in range(n)]
        assert all(read), proc.communicate(timeout=20)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == 2, err
        assert len(read) + len(out.splitlines()) == n  # every request, on stdout
        assert err.splitlines()[-1] == (
            f"headerwatch: error: {seen}: recording stopped (disk full); "
            "what was captured after it is not in the file"
        )
        assert "warning" not in err  # said once, as the error it is
        data = seen.read_bytes()
        kept = data.splitlines()
        assert 1 < len(kept) < n + 1  # the session line and the lines that fitted
        # Whole lines only: the disk filled mid-line, and that part line was left in
        # the file before (read back as "not JSON").
        assert data.endswith(b"\n")
        assert all(isinstance(orjson.loads(line), dict) for line in kept[1:])
    finally:
        subprocess.run(["umount", "-l", str(small)], check=False)


def test_live_needs_an_interface_or_a_path_not_both(tmp_path: Path) -> None:
    both = subprocess.run(
        [sys.executable, "-m", "tui.cli", "live", "-i", "lo", "--from", str(tmp_path / "x")],
        capture_output=True,
        text=True,
    )
    assert both.returncode == 2
    assert "not allowed with argument" in both.stderr


def test_the_add_on_command_prints_the_path_of_a_file_that_needs_only_mitmproxy(
    capsys: object,
) -> None:
    assert main(["mitmproxy-addon"]) == 0
    path = Path(capsys.readouterr().out.strip())  # type: ignore[attr-defined]
    assert path.is_file() and path.name == "mitmproxy_addon.py"
    # The modules of headerwatch's it loads from their files (headerwatch need not be
    # importable in mitmproxy's Python) need nothing but the standard library either.
    loaded = [
        path.parent.parent / name
        for name in re.findall(r'_headerwatch\("([^"]+)"\)', path.read_text())
    ]
    assert loaded and all(p.is_file() for p in loaded)
    for source in (path, *loaded):
        imports = {
            line.split()[1].split(".")[0]
            for line in source.read_text().splitlines()
            if line.startswith(("import ", "from "))
        }
        assert imports - {"__future__", "mitmproxy"} <= set(sys.stdlib_module_names), source


@pytest.mark.parametrize("source", [["--from", "proxy.jsonl"], ["-i", "lo"]])
def test_the_live_dashboard_without_a_terminal_is_refused_in_one_line(
    tmp_path: Path, source: list[str]
) -> None:
    # Before, it drew to the pipe, spun at full CPU and ignored SIGTERM.
    (tmp_path / "proxy.jsonl").write_bytes(_record(1, []))
    run = subprocess.run(
        [sys.executable, "-m", "tui.cli", "live", *source],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert run.returncode == 2
    assert run.stderr.splitlines() == [
        "headerwatch: error: the dashboard needs a terminal (stdin and stdout); without "
        "one, --format jsonl prints the requests as they come"
    ]
    assert run.stdout == ""


@pytest.mark.parametrize(
    ("options", "said"),
    [
        (["--from", "x.jsonl", "-f", "tcp port 9999"], "-f: only with -i"),
        (["--from", "x.jsonl", "--buffer-size", "8M", "--spool-max", "4M"],
         "--buffer-size, --spool-max: only with -i"),
        (["-i", "lo", "--format", "jsonl", "--spool-max", "4M"],
         "--spool-max: only for the dashboard"),
    ],
)  # fmt: skip
def test_live_options_that_would_change_nothing_are_refused_in_one_line(
    options: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before, each was accepted and did nothing, as the tester found.
    assert main(["live", *options, "--format", "jsonl"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"headerwatch: error: {said}")


def _following_stopped(source: Path) -> str:
    """What headless ``live --from source`` says on stderr from its start to its stop by
    Ctrl-C once it says it is following."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "live", "--from", str(source), "--format", "jsonl"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
    )  # fmt: skip
    assert proc.stderr is not None
    said = []
    while "following" not in (line := proc.stderr.readline()):
        assert line, proc.communicate(timeout=20)
        said.append(line)
    said.append(line)
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=20)
    return "".join(said) + rest


def test_a_path_not_there_yet_is_said_to_be_waited_for(tmp_path: Path) -> None:
    # A mistyped name was an empty dashboard, "0 req", that looked like a proxy with
    # nothing to send yet; headless, "following …" alone.
    source = tmp_path / "phnoe.jsonl"
    said = _following_stopped(source).splitlines()
    warning = f"headerwatch: warning: {source} does not exist (yet): waiting for it to appear"
    assert warning in said[: next(i for i, x in enumerate(said) if "following" in x)]


def test_a_path_holding_terminal_controls_is_said_escaped(tmp_path: Path) -> None:
    # "following …" and the notices printed the name as given: ESC and OSC reached the
    # terminal, as scan's messages never let them.
    text = _following_stopped(tmp_path / "x\x1b]0;owned\x07.jsonl")
    assert "\x1b" not in text and "\x07" not in text
    assert "x\\x1b]0;owned\\x07.jsonl" in text
