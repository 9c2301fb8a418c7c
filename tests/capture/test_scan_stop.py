"""Ctrl-C of a split scan: every process stops at one place, and the output and summary
are those of the input up to there, as one process scans it."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from capture import scan_jobs, scan_stop
from capture.identity.detector import IdentityDetector
from capture.pipeline import ECHO_STOPPED_NOTE, STOPPED_NOTE
from capture.scan import scan
from tests.capture.test_pipeline import _identity_capture
from tests.capture.test_scan_jobs import REPO, gen_capture
from tests.helpers import OK, conversation, save, simple_request
from tests.packets.writer import write_pcap

SUMMARY = re.compile(r"headerwatch: ([\d,]+) packets; .*?; ([\d,]+) HTTP requests; ")


@pytest.fixture(scope="module")
def frames() -> list[tuple[float, bytes]]:
    return list(gen_capture.frames(3000, 300, bodies="small"))


def _copies(frames: list[tuple[float, bytes]], path: Path, apart: float) -> str:
    """Four copies of ``frames`` in one capture, each ``apart`` seconds after the last
    (0: the same times again, so that no capture second starts after the first copy's)."""
    write_pcap(str(path), [(ts + apart * n, frame) for n in range(4) for ts, frame in frames])
    return str(path)


def _cut(path: str, records: int, to: Path) -> str:
    """The first ``records`` records of the classic pcap ``path``, little-endian."""
    data = Path(path).read_bytes()
    end = 24
    for _ in range(records):
        end += 16 + int.from_bytes(data[end + 8 : end + 12], "little")
    to.write_bytes(data[:end])
    return str(to)


@pytest.mark.parametrize("unbuffered", ["", "1"])
def test_ctrl_c_stops_every_process_at_one_record_and_the_summary_says_what_was_written(
    frames: list[tuple[float, bytes]], tmp_path: Path, unbuffered: str
) -> None:
    # A copy every 1,000 s: a capture second starts every few hundred records.
    capture = _copies(frames, tmp_path / "four.pcap", 1000.0)
    command = [sys.executable, "-m", "tui.cli", "scan", "--jobs", "2", "--region", "GB"]
    proc = subprocess.Popen(
        [*command, capture],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
        start_new_session=True,
        # Unbuffered, stdout's write is one system call, which Ctrl-C cuts short.
        env={**os.environ, "PYTHONUNBUFFERED": unbuffered},
    )
    assert proc.stdout is not None and proc.stderr is not None
    # Unread, the output holds the scan back (it is some 12 MB, the pipes hold a few).
    first = proc.stdout.readline()
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    assert len(children) == 2
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal sends Ctrl-C: to every process
    output = first + proc.stdout.read()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 130
    lines = output.splitlines()
    assert [json.loads(line)["id"] for line in lines] == list(range(1, len(lines) + 1))
    assert 0 < len(lines) < 12_000
    summary = SUMMARY.match(err.splitlines()[-1])
    assert summary is not None, err
    assert int(summary[2].replace(",", "")) == len(lines)
    # What was written is the scan of the capture up to the record where all stopped.
    packets = int(summary[1].replace(",", ""))
    cut = _cut(capture, packets, tmp_path / "cut.pcap")
    single = subprocess.run([*command[:-3], "1", "--region", "GB", cut], capture_output=True)
    assert single.stdout == output
    assert single.stderr.decode() == err
    deadline = time.monotonic() + 5
    while any(Path(f"/proc/{pid}").exists() for pid in children):
        assert time.monotonic() < deadline, "a scan process outlived Ctrl-C"
        time.sleep(0.05)


def test_a_split_scan_that_ignores_ctrl_c_goes_on_to_the_end(
    frames: list[tuple[float, bytes]], tmp_path: Path
) -> None:
    capture = _copies(frames, tmp_path / "four.pcap", 1000.0)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "scan", "--jobs", "2", "--region", "GB", capture],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
        start_new_session=True,
        # As a shell starts a job in the background: Ctrl-C ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    os.killpg(proc.pid, signal.SIGINT)
    lines = (first + proc.stdout.read()).splitlines()
    assert proc.wait(timeout=60) == 0
    assert len(lines) == 12_000
    assert " 12,000 HTTP requests; " in proc.stderr.read().decode()


class _CtrlCAtFirstWrite(io.StringIO):
    """An output at whose first write Ctrl-C is pressed ``times`` times."""

    def __init__(self, times: int) -> None:
        super().__init__()
        self.times = times

    def write(self, text: str) -> int:
        written = super().write(text)
        while self.times:
            self.times -= 1
            os.kill(os.getpid(), signal.SIGINT)
        return written


def test_processes_killed_at_a_second_ctrl_c_leave_whole_lines_counted_as_such(
    frames: list[tuple[float, bytes]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A second Ctrl-C comes later than the first delivered twice (see the next test).
    monkeypatch.setattr(scan_stop, "SAME_SIGNAL", 0.0)
    # The same times again: no capture second starts after the first copy's, so no
    # process reaches a place to stop before its input ends.
    capture = _copies(frames, tmp_path / "again.pcap", 0.0)
    out, err = _CtrlCAtFirstWrite(2), io.StringIO()
    assert scan([capture], detector=IdentityDetector(), out=out, err=err, jobs=2) == 130
    lines = out.getvalue().splitlines()
    assert [json.loads(line)["id"] for line in lines] == list(range(1, len(lines) + 1))
    assert 0 < len(lines) < 12_000
    # Both processes are killed unless one reached its input's end first (its share
    # can be done by the parent's first write): how many is said either way.
    [said] = err.getvalue().splitlines()
    assert re.fullmatch(
        f"headerwatch: {len(lines):,} HTTP requests \\(counted from the output: [12] of 2 scan "
        "processes had not stopped reading 10 s after Ctrl-C, or at a second one, and were "
        "killed; what they read is not known\\)",
        said,
    ), said


def test_one_ctrl_c_delivered_twice_at_once_stops_a_split_scan_as_one(
    frames: list[tuple[float, bytes]], tmp_path: Path
) -> None:
    """timeout(1) sends its signal to the command and then to its process group: taken
    for a second Ctrl-C, it killed the processes and their counts were lost."""
    capture = _copies(frames, tmp_path / "four.pcap", 1000.0)
    out, err = _CtrlCAtFirstWrite(2), io.StringIO()
    assert scan([capture], detector=IdentityDetector(), out=out, err=err, jobs=2) == 130
    lines = out.getvalue().splitlines()
    summary = SUMMARY.match(err.getvalue().splitlines()[-1])
    assert summary is not None, err.getvalue()
    assert int(summary[2].replace(",", "")) == len(lines) < 12_000
    assert "killed" not in err.getvalue()


def test_ctrl_c_stops_a_split_scan_of_a_log_at_one_chunk(
    frames: list[tuple[float, bytes]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scan_jobs, "RECORD_CHUNK", 1 << 16)
    records = io.StringIO()
    scan([_copies(frames[:20_000], tmp_path / "some.pcap", 1000.0)], out=records, jobs=1)
    log = tmp_path / "log.jsonl"
    log.write_text(records.getvalue() * 6)
    out, err = _CtrlCAtFirstWrite(1), io.StringIO()
    assert scan([str(log)], detector=IdentityDetector(), out=out, err=err, jobs=2) == 130
    lines = out.getvalue().splitlines(keepends=True)
    assert 0 < len(lines) < len(log.read_text().splitlines())
    # The lines that start in the chunks read: the first lines of the log, as one
    # process scans them.
    cut = tmp_path / "cut.jsonl"
    cut.write_text("".join(log.read_text().splitlines(keepends=True)[: len(lines)]))
    single_out, single_err = io.StringIO(), io.StringIO()
    scan([str(cut)], detector=IdentityDetector(), out=single_out, err=single_err, jobs=1)
    assert single_out.getvalue() == out.getvalue()
    assert single_err.getvalue() == err.getvalue()
    assert f"{len(lines):,} parsed requests read" in err.getvalue()


def test_a_one_process_scan_stopped_says_how_many_requests_read_its_output_lacks(
    frames: list[tuple[float, bytes]], tmp_path: Path
) -> None:
    """The summary counted requests read as the stop came and never handed out (256
    lines, 257 counted, in an outside tester's run), without a word."""
    capture = _copies(frames, tmp_path / "four.pcap", 1000.0)
    out, err = _CtrlCAtFirstWrite(1), io.StringIO()
    assert scan([capture], detector=IdentityDetector(), out=out, err=err, jobs=1) == 130
    lines = len(out.getvalue().splitlines())
    said = err.getvalue().splitlines()
    summary = SUMMARY.match(said[-1])
    assert summary is not None, said
    lacking = int(summary[2].replace(",", "")) - lines
    assert lacking >= 0
    warned = [line for line in said if "read as the stop came" in line]
    if lacking:
        noun = "request" if lacking == 1 else "requests"
        assert warned and warned[0].startswith(
            f"headerwatch: warning: stopped: {lacking:,} {noun} "
        )
    else:
        assert not warned


class _StoppedInItsThirdBatch(IdentityDetector):
    """Ctrl-C while the detector reads the third batch of a file scan."""

    batches = 0

    def detect_many(self, requests: Any) -> Any:
        self.batches += 1
        if self.batches == 3:
            super().detect_many(requests[:40])
            raise KeyboardInterrupt
        return super().detect_many(requests)


def test_a_scan_stopped_inside_the_detector_writes_what_it_read_unsearched_and_says_so(
    tmp_path: Path,
) -> None:
    capture = _copies(list(gen_capture.frames(300, 60, bodies="small")), tmp_path / "c.pcap", 0)
    out, err = io.StringIO(), io.StringIO()
    assert scan([capture], detector=_StoppedInItsThirdBatch(), out=out, err=err, jobs=1) == 130
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    unsearched = [r for r in records if STOPPED_NOTE in r.get("anomalies", ())]
    # The two batches handed out, then the third, read as the stop came: all of it.
    assert len(records) >= 3 * 128 and len(unsearched) >= 128
    assert all(not r["findings"] for r in unsearched)
    assert [r["id"] for r in records] == list(range(1, len(records) + 1))
    said = err.getvalue()
    assert f"{len(unsearched):,} requests not searched for identities (read as the scan" in said
    summary = SUMMARY.match(said.splitlines()[-1])
    assert summary is not None, said
    assert int(summary[2].replace(",", "")) == len(records)
    assert "read as the stop came" not in said


class _StoppedAtItsFifthRequest(IdentityDetector):
    """Ctrl-C while the detector reads the fifth request, read one at a time (a HAR)."""

    read = 0

    def detect(self, request: Any) -> Any:
        self.read += 1
        if self.read == 5:
            raise KeyboardInterrupt
        return super().detect(request)


def test_a_har_scan_stopped_inside_the_detector_writes_the_request_it_was_reading(
    tmp_path: Path,
) -> None:
    # A HAR's requests are detected one at a time: the one the stop came in was lost
    # with the stack (four lines written, five counted).
    har = str(REPO / "tests/data/real/pagexray-verizonwireless.com.har")
    out, err = io.StringIO(), io.StringIO()
    assert scan([har], detector=_StoppedAtItsFifthRequest(), out=out, err=err, jobs=1) == 130
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["id"] for r in records] == [1, 2, 3, 4, 5]
    assert [STOPPED_NOTE in r.get("anomalies", ()) for r in records] == [False] * 4 + [True]
    assert records[4]["findings"] == [] and records[4]["uri"]
    said = err.getvalue()
    assert said.splitlines()[-1].startswith(
        "headerwatch: 5 parsed requests read; 5 HTTP requests; 0 identities in 0 requests; "
        "1 request not searched for identities (read as the scan was stopped inside the "
        "detector: written without findings, as its anomalies say)"
    )
    assert "read as the stop came" not in said


def test_a_redacted_scan_stopped_inside_the_detector_leaves_out_the_request_it_could_not_mask(
    tmp_path: Path,
) -> None:
    # Not searched, its identities could not be masked: left out, and the summary's
    # line before it says so (it said the request written without findings).
    har = str(REPO / "tests/data/real/pagexray-verizonwireless.com.har")
    out, err = io.StringIO(), io.StringIO()
    detector = _StoppedAtItsFifthRequest()
    assert scan([har], detector=detector, out=out, err=err, jobs=1, redact=True) == 130
    assert len(out.getvalue().splitlines()) == 4
    said = err.getvalue().splitlines()
    assert said[-2] == (
        "headerwatch: warning: stopped: 1 request read as the stop came is not in the "
        "output; the summary counts it"
    )
    assert "not searched" not in said[-1] and "; 5 HTTP requests;" in said[-1]


class _StoppedAt(IdentityDetector):
    """Ctrl-C as the detector reads for the ``at``-th time, one request at a time."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at, self.read = at, 0

    def detect(self, request: Any) -> Any:
        self.read += 1
        if self.read == self.at:
            raise KeyboardInterrupt
        return super().detect(request)


def _records(path: str, detector: IdentityDetector) -> list[dict[str, Any]]:
    out, err = io.StringIO(), io.StringIO()
    assert scan([path], detector=detector, out=out, err=err, jobs=1) == 130
    assert "is not in the output" not in err.getvalue()
    return [json.loads(line) for line in out.getvalue().splitlines()]


def _two_first_requests(tmp_path: Path) -> str:
    """A capture of two connections' first requests, both sent before either answer."""
    a = conversation(cport=41000, server="203.0.113.7", ts=1000.0)
    b = conversation(cport=41001, server="203.0.113.8", ts=1000.0001)
    frames = a.handshake() + a.send(True, simple_request("/a"))
    frames += b.handshake() + b.send(True, simple_request("/b"))
    frames += a.send(False, OK) + b.send(False, OK)
    return save(tmp_path, sorted(frames, key=lambda frame: frame[0]), "two.pcap")


def test_a_stop_as_the_request_held_alone_is_detected_loses_the_one_read_after_it_neither(
    tmp_path: Path,
) -> None:
    # Two connections' first requests before either answer: the second was detected,
    # then the stop came in the first's detection, and the second was left out.
    records = _records(_two_first_requests(tmp_path), _StoppedAt(2))
    assert [(r["id"], r["uri"]) for r in records] == [(1, "/a"), (2, "/b")]
    assert STOPPED_NOTE in records[0]["anomalies"] and "anomalies" not in records[1]


def test_a_stop_as_a_record_file_s_transit_is_read_writes_the_record_without_it(
    tmp_path: Path,
) -> None:
    # The record whose echo showed a number added on the way: made, then left out
    # when the stop came as the detector read what was added.
    out = io.StringIO()
    scan([_identity_capture(tmp_path)], detector=IdentityDetector(), out=out, err=io.StringIO())
    lines = out.getvalue().splitlines()
    log = tmp_path / "log.jsonl"
    log.write_text("\n".join([*lines[:3], *(line for line in lines if '"/r' in line)]) + "\n")
    # The detector reads the three requests, /r1, then what its echo shows added.
    records = _records(str(log), _StoppedAt(5))
    assert [(r["id"], r["uri"]) for r in records] == [
        (1, "/collect"),
        (2, "/collect"),
        (3, "/collect"),
        (4, "/r1"),
    ]
    assert ECHO_STOPPED_NOTE in records[3]["anomalies"]


@pytest.mark.parametrize("redact", [False, True], ids=["plain", "redacted"])
def test_a_har_output_stopped_inside_the_detector_is_a_whole_document(
    tmp_path: Path, redact: bool
) -> None:
    # It ended where the stop came, without its closing brackets, and no line said
    # what it lacked.
    har = str(REPO / "tests/data/real/pagexray-verizonwireless.com.har")
    out, err = io.StringIO(), io.StringIO()
    detector = _StoppedAtItsFifthRequest()
    assert scan([har], fmt="har", detector=detector, out=out, err=err, redact=redact) == 130
    entries = json.loads(out.getvalue())["log"]["entries"]
    said = err.getvalue().splitlines()
    if redact:  # the one not searched could not be masked: left out, and said
        assert len(entries) == 4
        assert said[-2].startswith("headerwatch: warning: stopped: 1 request read as the stop")
    else:  # written as the line formats write it: unsearched, and counted
        assert len(entries) == 5
        assert "1 request not searched for identities" in said[-1]
        assert not any("is not in the output" in line for line in said)


def test_a_redacted_scan_stopped_inside_the_detector_writes_the_held_requests_it_searched(
    tmp_path: Path,
) -> None:
    # Read one at a time, the first connection's request is searched and held for its
    # verdict; the stop comes in the second's. The first was left out with it.
    out, err = io.StringIO(), io.StringIO()
    path = _two_first_requests(tmp_path)
    assert scan([path], detector=_StoppedAt(2), out=out, err=err, jobs=1, redact=True) == 130
    assert [json.loads(line)["uri"] for line in out.getvalue().splitlines()] == ["/a"]
    assert "stopped: 1 request read as the stop came is not in the output" in err.getvalue()
