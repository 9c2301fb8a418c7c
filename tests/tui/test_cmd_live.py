"""``headerwatch live`` end to end: real HTTP between two network namespaces.

A client namespace sends HTTP requests (with and without identity headers, split
across segments, pipelined, on port 80 and 8123) to a server namespace over a
veth pair; ``headerwatch live -i <server veth> --format jsonl`` runs inside the
server namespace, as a user would run it. Tests that need root skip, saying so,
when not root; CI runs as root.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from capture.sources.frames import CaptureFile
from capture.sources.live.privileges import can_capture, interpreter_path
from tests.live_plan import O2, check_records, live_plan
from tests.netns import (
    REPO,
    Lab,
    LiveProc,
    make_lab,
    python_for,
    request,
    require_root,
    scanned,
)
from tests.tui.test_cli_reflect import table_on_screen
from tests.tui.test_cmd_live_from import _record
from tests.tui.test_e2e_demo import TMUX, Pane
from tui.cli import main

pytestmark = pytest.mark.netns

NOBODY = 65534


@pytest.fixture
def lab() -> Iterator[Lab]:
    """Client and server namespaces with an HTTP server on ports 80 and 8123."""
    yield from make_lab()


def test_every_request_is_reported_as_it_completes(lab: Lab) -> None:
    plan, expected = live_plan()
    live = lab.live("--format", "jsonl")
    live.wait_ready()
    assert lab.client(plan) == 9
    # Read while headerwatch still runs: records stream, they do not wait for the end.
    records = live.records(len(expected))
    check_records(records, expected, lab)
    assert live.stop(signal.SIGTERM) == 0
    assert len(live.all_records()) == len(expected)
    summary = live.stderr.splitlines()[-1]
    assert f"{len(expected)} HTTP requests" in summary
    assert "0 kernel drops, 0 queue drops" in summary
    assert "Traceback" not in live.stderr


def test_identity_findings_are_reported_live(lab: Lab) -> None:
    plan, expected = live_plan()
    live = lab.live("--format", "jsonl")
    live.wait_ready()
    lab.client(plan)
    records = live.records(len(expected))
    live.stop()
    by_uri = {r["uri"]: r for r in records}
    for uri in ("/sport/", "/odd-port", "/split", "/p3"):
        kinds = {(f["name"].lower(), f["kind"], f["normalized"]) for f in by_uri[uri]["findings"]}
        assert ("x-up-calling-line-id", "msisdn", "+447700900123") in kinds, by_uri[uri]
    for uri in ("/plain", "/p1", "/k1"):
        assert not [f for f in by_uri[uri]["findings"] if f["kind"] == "msisdn"]


def test_redact_masks_identities_as_they_stream(lab: Lab) -> None:
    plan, expected = live_plan()
    live = lab.live("--format", "jsonl", "--redact")
    live.wait_ready()
    lab.client(plan)
    live.records(len(expected))
    assert live.stop() == 0
    assert "447700900123" not in "".join(live.lines)
    masks = {f["value"] for r in live.all_records() for f in r["findings"] if f["kind"] == "msisdn"}
    assert len(masks) == 1 and masks.pop().startswith("<msisdn …23 #")
    # The client's address too: one pseudonym for it; the server's address stays.
    assert lab.client_ip not in "".join(live.lines)
    clients = {(r["src"], r["dst"]) for r in live.all_records()}
    assert len(clients) == 1
    src, dst = clients.pop()
    assert ipaddress.ip_address(src) in ipaddress.ip_network("198.18.0.0/15")
    assert dst == lab.server_ip


def test_redact_masks_a_supercookie_in_the_lines_streamed_before_recurrence_finds_it(
    lab: Lab,
) -> None:
    from tests.helpers import SUPERCOOKIE, SUPERCOOKIE_SITES

    token = ("X-Sub-Tag", SUPERCOOKIE)
    plan = [
        {"port": 80, "sends": [request("/p", host=host, extra=[token])]}
        for host in SUPERCOOKIE_SITES[:3]
    ]
    live = lab.live("--format", "jsonl", "--redact", "--recurrence", "3")
    live.wait_ready()
    lab.client(plan)
    records = live.records(3)
    assert live.stop() == 0
    assert SUPERCOOKIE[:16] not in "".join(live.lines)
    found = [[(f["kind"], f["detector"]) for f in r["findings"]] for r in records]
    assert found == [[], [], [("tracking_id", "recurrence")]]
    masks = {dict(r["headers"])["X-Sub-Tag"] for r in records}
    assert len(masks) == 1 and masks.pop().startswith("<tracking_id …74 #")


def test_filter_narrows_the_capture(lab: Lab) -> None:
    plan, expected = live_plan()
    live = lab.live("--format", "jsonl", "-f", "tcp port 8123")
    live.wait_ready()
    lab.client(plan)
    want = [e for e in expected if e["dport"] == 8123]
    records = live.records(len(want))
    assert live.stop() == 0
    check_records(live.all_records(), want, lab)
    assert records


@pytest.mark.parametrize(
    "sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["SIGINT", "SIGTERM", "SIGHUP"]
)
def test_a_signal_right_after_the_traffic_loses_nothing(lab: Lab, sig: int) -> None:
    live = lab.live("--format", "jsonl")
    live.wait_ready()
    n = 60
    plan = [
        {"port": 80 if i % 2 else 8123, "sends": [request(f"/r{i}", extra=[O2])]} for i in range(n)
    ]
    assert lab.client(plan) == n
    assert live.stop(sig) == 0  # at once: the queue is drained, the pipeline flushed
    assert [r["uri"] for r in live.all_records()] == [f"/r{i}" for i in range(n)]
    assert f"{n} HTTP requests" in live.stderr.splitlines()[-1]


def test_a_full_disk_for_the_output_stops_with_one_line(lab: Lab) -> None:
    """``headerwatch live ... > file`` on a disk that fills: say so, stop, exit 2."""
    argv = [sys.executable, "-m", "tui.cli", "live", "-i", lab.server_if, "--format", "jsonl"]
    shell = ["sh", "-c", 'exec "$@" > /dev/full', "sh", *argv]
    live = LiveProc(lab.spawn(lab.server_ns, shell))
    live.wait_ready()
    lab.client([{"port": 80, "sends": [request("/r", extra=[O2])]}])
    line = live.wait_stderr("cannot write")
    assert line == "headerwatch: error: cannot write the output: disk full"
    assert live.proc.wait(timeout=30) == 2
    assert "Traceback" not in live.stderr


def test_interface_down_and_up_is_reported_and_capture_resumes(lab: Lab) -> None:
    live = lab.live("--format", "jsonl")
    live.wait_ready()
    lab.client([{"port": 80, "sends": [request("/before")]}])
    live.records(1)
    lab.set_link(False)
    line = live.wait_stderr("is down")
    assert line == f"headerwatch: warning: {lab.server_if} is down; waiting for it to come back"
    lab.set_link(True)
    assert "capturing again" in live.wait_stderr("is back")
    lab.client([{"port": 8123, "sends": [request("/after", extra=[O2])]}])
    records = live.records(2)
    assert [r["uri"] for r in records] == ["/before", "/after"]
    assert live.stop() == 0
    assert "Traceback" not in live.stderr


def test_the_other_end_going_away_is_no_carrier(lab: Lab) -> None:
    """The phone end of the cable goes away: our interface stays up without a link."""
    live = lab.live("--format", "jsonl")
    live.wait_ready()
    lab.set_link(False, side="client")
    line = live.wait_stderr("has no link")
    no_link = "has no link (cable or tether unplugged?); waiting"
    assert line == f"headerwatch: warning: {lab.server_if} {no_link}"
    lab.set_link(True, side="client")
    live.wait_stderr("is back")
    lab.client([{"port": 8123, "sends": [request("/again")]}])
    assert [r["uri"] for r in live.records(1)] == ["/again"]
    assert live.stop() == 0


def test_started_while_the_interface_is_down_it_waits_for_it_to_come_up(lab: Lab) -> None:
    # Never up in this run: it is waited for to come up, not "back", and then it "is up".
    lab.set_link(False)
    live = lab.live("--format", "jsonl")
    live.wait_ready()
    line = live.wait_stderr("is down")
    assert line == f"headerwatch: warning: {lab.server_if} is down; waiting for it to come up"
    lab.set_link(True)
    assert live.wait_stderr("; capturing") == f"headerwatch: {lab.server_if} is up; capturing"
    lab.client([{"port": 80, "sends": [request("/late", extra=[O2])]}])
    assert [r["uri"] for r in live.records(1)] == ["/late"]
    assert live.stop() == 0


def test_unplugged_tether_is_reopened_after_sudo_dropped_root(lab: Lab) -> None:
    """Started with sudo: runs as the user, yet reopens the interface when it comes back."""
    found = python_for(NOBODY)
    if found is None:
        pytest.skip(f"uid {NOBODY} can read no Python with headerwatch here (all under /root?)")
    python, python_env = found
    with tempfile.TemporaryDirectory() as config_home:
        os.chmod(config_home, 0o755)  # the user's (empty) config directory
        env = {
            **python_env,
            "SUDO_UID": str(NOBODY),
            "SUDO_GID": str(NOBODY),
            "XDG_CONFIG_HOME": config_home,
        }
        _unplug_and_replug(lab, lab.live("--format", "jsonl", env=env, python=python))


def _unplug_and_replug(lab: Lab, live: LiveProc) -> None:
    live.wait_ready()
    status = Path(f"/proc/{live.proc.pid}/status").read_text()
    uids = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1:]
    assert uids == [str(NOBODY)] * 4
    cap_eff = next(line for line in status.splitlines() if line.startswith("CapEff:")).split()[1]
    assert int(cap_eff, 16) == (1 << 12) | (1 << 13)  # CAP_NET_ADMIN, CAP_NET_RAW only
    lab.client([{"port": 80, "sends": [request("/one")]}])
    live.records(1)
    lab.unplug()
    assert "waiting for it to come back" in live.wait_stderr("is gone")
    lab.plug()
    live.wait_stderr("is back")
    lab.client([{"port": 80, "sends": [request("/two", extra=[O2])]}])
    assert [r["uri"] for r in live.records(2)] == ["/one", "/two"]
    assert live.stop() == 0


# ``live`` as started by sudo, with the user unable to read what this Python needs
# (an interpreter under /root, say): the check is pointed at a private directory.
_UNREADABLE_LIVE = """
import sys
from capture.sources.live import privileges
privileges.needed_paths = lambda: [sys.argv[1]]
from tui.cli import main
sys.exit(main(["live", *sys.argv[2:]]))
"""


def _live_that_cannot_drop(lab: Lab, private: Path, *args: str) -> LiveProc:
    private.mkdir(mode=0o700)
    argv = [sys.executable, "-c", _UNREADABLE_LIVE, str(private), "-i", lab.server_if, *args]
    env = {"SUDO_UID": str(NOBODY), "SUDO_GID": str(NOBODY)}
    return LiveProc(lab.spawn(lab.server_ns, argv, env=env))


def test_root_that_cannot_be_given_back_stops_with_one_line(lab: Lab, tmp_path: Path) -> None:
    private = tmp_path / "private"
    live = _live_that_cannot_drop(lab, private, "--format", "jsonl")
    assert live.proc.wait(30) == 2
    assert live.stop() == 2
    assert live.stderr == (
        f"headerwatch: error: cannot give root back: nobody (who ran sudo) cannot read "
        f"{private}, which this Python needs; install headerwatch where nobody can read it, "
        f"or run it without sudo after: sudo setcap cap_net_raw,cap_net_admin=eip "
        f"{interpreter_path()}; or pass --stay-root to capture as root anyway"
    )
    assert live.all_records() == []


def test_stay_root_captures_as_root_and_says_whose_the_files_are(lab: Lab, tmp_path: Path) -> None:
    recording = tmp_path / "as-root.pcapng"
    live = _live_that_cannot_drop(
        lab, tmp_path / "private", "--format", "jsonl", "--stay-root", "-w", str(recording)
    )
    live.wait_ready()
    status = Path(f"/proc/{live.proc.pid}/status").read_text()
    uids = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1:]
    assert uids == ["0"] * 4
    warning = live.wait_stderr("--stay-root")
    assert warning.startswith("headerwatch: warning: running as root (--stay-root): cannot give")
    # The user who ran sudo cannot read the recording: the warning says so, and how.
    assert warning.endswith(
        "; the files it writes (-w, saved sessions, exports) belong to root, mode 0600: "
        "read them with sudo, or sudo chown them to you"
    )
    lab.client([{"port": 80, "sends": [request("/as-root")]}])
    assert [r["uri"] for r in live.records(1)] == ["/as-root"]
    assert live.stop() == 0
    st = recording.stat()
    assert (st.st_uid, st.st_mode & 0o777) == (0, 0o600)


def test_without_privileges_one_line_says_what_to_do() -> None:
    argv = [sys.executable, "-m", "tui.cli", "live", "-i", "lo", "--format", "jsonl"]
    if os.geteuid() == 0:
        argv = [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            *argv,
        ]
    elif can_capture():
        pytest.skip("this user may capture (CAP_NET_RAW): cannot show the message")
    env = {**os.environ, "HOME": "/", "XDG_CONFIG_HOME": "/proc/empty"}
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=REPO, env=env)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "headerwatch: error: live capture on lo needs root or the CAP_NET_RAW capability: "
        "run it with sudo, or allow this Python once with: "
        f"sudo setcap cap_net_raw,cap_net_admin=eip {interpreter_path()}\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["-i", "hw-nope0"],
            "headerwatch: error: no network interface named 'hw-nope0' "
            "(headerwatch interfaces lists them)",
        ),
        (
            ["-i", "lo", "-f", "tcp port banana"],
            "headerwatch: error: bad capture filter 'tcp port banana': ",
        ),
    ],
    ids=["unknown-interface", "bad-filter"],
)
def test_usage_errors_exit_2_with_one_line(args: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tui.cli", "live", *args, "--format", "jsonl"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert result.returncode == 2
    assert result.stderr.startswith(message)
    assert len(result.stderr.splitlines()) == 1


def test_recording_reopens_with_identical_records(lab: Lab, tmp_path: Path) -> None:
    out = tmp_path / "live.pcapng"
    plan, expected = live_plan()
    live = lab.live("--format", "jsonl", "-w", str(out))
    live.wait_ready()
    lab.client(plan)
    live.records(len(expected))
    time.sleep(1.5)
    # Flushed as it goes: readable while the capture still runs.
    assert [r["uri"] for r in scanned(out)] == [e["uri"] for e in expected]
    assert live.stop() == 0
    assert scanned(out) == live.all_records()
    # It holds identities: only its owner may read it, whatever the umask.
    assert out.stat().st_mode & 0o777 == 0o600


def test_a_recording_that_exists_is_refused_in_one_line_before_capturing(
    lab: Lab, tmp_path: Path
) -> None:
    earlier = tmp_path / "session.pcapng"
    earlier.write_bytes(b"yesterday's recording")
    live = lab.live("--format", "jsonl", "-w", str(earlier))
    assert live.proc.wait(30) == 2
    assert live.stop() == 2
    assert live.stderr == f"headerwatch: error: {earlier}: exists already, not replaced"
    assert earlier.read_bytes() == b"yesterday's recording"


@pytest.mark.parametrize(("name", "says"), [("out.jsonl", "JSONL"), ("out.html", "an HTML report")])
def test_a_recording_named_for_another_kind_of_file_is_refused_before_capturing(
    tmp_path: Path, name: str, says: str
) -> None:
    # live -i records pcapng: under this name the file would say it held something else.
    # (A process with a time limit: were the name taken, it would capture until stopped.)
    target = tmp_path / name
    argv = ["live", "-i", "lo", "--format", "jsonl", "-w", str(target)]
    done = subprocess.run(
        [sys.executable, "-m", "tui.cli", *argv], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr == (
        f"headerwatch: error: {target}: {target.suffix} is for {says}, but live -i records "
        "the raw capture as pcapng: end the name with .pcapng\n"
    )
    assert not target.exists()


def test_a_recording_where_no_file_can_be_made_is_refused_in_one_true_line(
    lab: Lab, tmp_path: Path
) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_bytes(b"")
    refused = {
        # /proc is there but takes no new file: this said "no such directory".
        "/proc/live.pcapng": "cannot create files in /proc (no such file or directory)",
        str(a_file / "live.pcapng"): f"{a_file.resolve()} is not a directory",
    }
    for target, reason in refused.items():
        live = lab.live("--format", "jsonl", "-w", target)
        assert live.proc.wait(30) == 2
        assert live.stop() == 2
        assert live.stderr == f"headerwatch: error: {target}: {reason}"


def test_a_recording_on_a_full_disk_is_one_line_and_leaves_no_empty_file(
    lab: Lab, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The file could not take even its first bytes: left empty, it was a capture
    that is no capture, and the next try was refused as "exists already"."""
    full = tmp_path / "full"
    full.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(full)], check=True)
    try:
        with (full / "filler").open("wb") as filler, contextlib.suppress(OSError):
            filler.write(b"x" * 128 * 1024)
        live = lab.live("--format", "jsonl", "-w", str(full / "live.pcapng"))
        assert live.proc.wait(30) == 2
        assert live.stop() == 2
        said = "disk full; nothing written, no file left"
        assert live.stderr == f"headerwatch: error: {full / 'live.pcapng'}: {said}"
        records = tmp_path / "proxy.jsonl"
        records.write_bytes(_record(1, []))
        argv = ["live", "--from", str(records), "--format", "jsonl"]
        assert main([*argv, "-w", str(full / "seen.jsonl")]) == 2
        assert capsys.readouterr().err == f"headerwatch: error: {full / 'seen.jsonl'}: {said}\n"
        assert [p.name for p in full.iterdir()] == ["filler"]
    finally:
        subprocess.run(["umount", "-l", str(full)], check=False)


def test_disk_full_keeps_capturing_and_keeps_what_was_saved_but_exits_2(
    lab: Lab, tmp_path: Path
) -> None:
    small = tmp_path / "small"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=128k", "tmpfs", str(small)], check=True)
    try:
        out = small / "live.pcapng"
        live = lab.live("--format", "jsonl", "-w", str(out))
        live.wait_ready()
        padding = ("X-Padding", "p" * 1000)
        n = 250  # about 400 KB of frames
        plan = [{"port": 80, "sends": [request(f"/r{i}", extra=[padding])]} for i in range(n)]
        lab.client(plan)
        live.records(n)
        line = live.wait_stderr("disk full")
        assert "recording stopped" in line and "capture goes on" in line
        lab.client([{"port": 80, "sends": [request("/after-full")]}])
        assert live.records(n + 1)[-1]["uri"] == "/after-full"
        # Capture went on, stdout has every request: that much this test held with its
        # exit 0. But a script that checks the status before using the file took it for
        # the whole capture; it is not, and the status says so at the end.
        assert live.stop() == 2
        assert live.stderr.splitlines()[-1] == (
            f"headerwatch: error: {out}: recording stopped (disk full); "
            "what was captured after it is not in the file"
        )
        saved = scanned(out)
        assert saved and [r["uri"] for r in saved] == [f"/r{i}" for i in range(len(saved))]
        # The summary counts the frames the file lacks too (before: only those in it).
        summary = live.stderr.splitlines()[-2]
        counts = {
            what: int(n.replace(",", ""))
            for n, what in re.findall(r"([0-9,]+) frames? (captured|recorded)", summary)
        }
        lacking = re.search(r"([0-9,]+) not recorded \(write error\)", summary)
        assert lacking is not None, summary
        assert counts["recorded"] == len(list(CaptureFile(str(out))))
        assert counts["recorded"] + int(lacking[1].replace(",", "")) == counts["captured"]
    finally:
        subprocess.run(["umount", "-l", str(small)], check=False)


def test_not_root_skips_say_why() -> None:
    """The namespace tests skip with a reason (only) when not root."""
    if os.geteuid() == 0:
        require_root()  # does not skip
        return
    with pytest.raises(pytest.skip.Exception, match="needs root"):
        require_root()


def test_a_buffer_size_beyond_a_quarter_of_memory_is_refused_before_anything() -> None:
    # The kernel took a ring of 100G page by page until the OOM killer ended the
    # process (exit 137). No interface called so: before the check, that was the error.
    memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    too_much = ["--buffer-size", str(memory // 4 + 1)]
    result = subprocess.run(
        [sys.executable, "-m", "tui.cli", "live", "-i", "nosuch0", *too_much],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("headerwatch live: error: argument --buffer-size: ")
    assert line.endswith(
        "a quarter of this machine's memory (the ring and the queue each take that much) "
        "(see headerwatch live --help)"
    )


def test_a_buffer_size_below_the_smallest_ring_is_refused() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tui.cli", "live", "-i", "lo", "--buffer-size", "1M"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert result.returncode == 2
    assert result.stderr == (
        "headerwatch live: error: argument --buffer-size: '1M': at least 4 MiB "
        "(see headerwatch live --help)\n"
    )


def test_the_live_dashboard_keeps_less_in_memory_than_open() -> None:
    """Live, the store holds LIVE_STORE_BYTES and spills the rest (its RSS must stay
    under 150 MB at 20,000 packets/s: bench/live_bench.py)."""
    from importlib import import_module

    from capture.sources.live.source import LiveSource
    from capture.view.store import DEFAULT_MAX_BYTES
    from tui.cmd_live import LIVE_STORE_BYTES, dashboard

    source = LiveSource("lo")
    app, _ = dashboard(import_module("tui.app"), source, source, None)
    assert app.store.max_bytes == LIVE_STORE_BYTES < DEFAULT_MAX_BYTES
    app.store.close()


@pytest.mark.tmux
@pytest.mark.skipif(TMUX is None, reason="needs tmux (apt-get install tmux) for a real terminal")
def test_the_table_is_fitted_to_the_terminal_it_is_printed_on(lab: Lab) -> None:
    argv = ["ip", "netns", "exec", lab.server_ns, sys.executable, "-m", "tui.cli", "live"]
    command = [*argv, "-i", lab.server_if, "--format", "table"]
    pane = Pane(command, {"TERM": "xterm-256color"}, width=80)
    try:
        pane.wait_for("listening on")
        lab.client([{"port": 80, "sends": [request("/fitted", extra=[O2])]}])
        header, row = table_on_screen(pane.wait_for("msisdn="), "/fi… ")  # PATH: 4 cells
    finally:
        pane.kill()
    assert header.split() == ["TIME", "CLIENT", "METHOD", "HOST", "PATH", "IDENTITIES"]
    assert len(header) <= 80 and len(row) <= 80, (header, row)
    assert row.index("msisdn=") == header.index("IDENTITIES"), (header, row)
