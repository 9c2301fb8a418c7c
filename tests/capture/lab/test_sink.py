"""The reflector's output: a bounded queue in front of a writer thread."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from capture.lab.sink import DISK_RESERVE, RecordSink


def test_a_full_queue_drops_and_counts_instead_of_waiting() -> None:
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, True)
    try:
        # Nobody reads the pipe: the writer blocks once it is full, the queue fills.
        sink: RecordSink[str] = RecordSink(lambda s: s, capacity=10, fd=write_end)
        accepted = sum(sink.submit("x" * 10_000) for _ in range(200))  # never blocks
        assert accepted < 200
        assert sink.dropped == 200 - accepted
    finally:
        os.close(read_end)  # the blocked writer gets EPIPE and ends
        sink.close()
        os.close(write_end)


def test_a_reader_that_leaves_is_reported_once_as_none() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    closed: list[str | None] = []
    done = threading.Event()

    def on_closed(reason: str | None) -> None:
        closed.append(reason)
        done.set()

    sink: RecordSink[str] = RecordSink(lambda s: s, on_closed=on_closed, fd=write_end)
    sink.submit("a")
    assert done.wait(5)
    sink.submit("b")
    sink.close()
    os.close(write_end)
    assert closed == [None]


def test_the_output_file_is_created_private_and_reopened_on_request(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    sink: RecordSink[str] = RecordSink(lambda s: s, str(path))
    sink.submit("one")
    for _ in range(100):  # bounded: 5 s
        if sink.written:
            break
        time.sleep(0.05)
    path.rename(tmp_path / "out.jsonl.1")  # logrotate moves it away
    sink.reopen()  # SIGHUP
    sink.submit("two")
    sink.close()
    assert (tmp_path / "out.jsonl.1").read_text() == "one\n"
    assert path.read_text() == "two\n"
    assert path.stat().st_mode & 0o777 == 0o600


def test_records_the_output_could_not_take_are_counted_as_lost(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    closed = threading.Event()
    sink: RecordSink[str] = RecordSink(lambda s: s, str(path), on_closed=lambda _: closed.set())
    sink.line("header")  # a table header is not a record: not counted
    sink.submit("one")
    for _ in range(100):  # bounded: 5 s
        if sink.written == 2:
            break
        time.sleep(0.05)
    path.rename(tmp_path / "out.jsonl.1")
    path.mkdir()  # the reopen fails
    sink.reopen()
    sink.submit("two")
    assert closed.wait(5)
    sink.submit("three")  # offered after the output closed
    sink.close()
    assert (tmp_path / "out.jsonl.1").read_text() == "header\none\n"
    assert sink.lost == 2


def _written(sink: RecordSink[str], lines: int) -> None:
    for _ in range(100):  # bounded: 5 s
        if sink.written + sink.unrecorded >= lines:
            return
        time.sleep(0.05)


def test_past_output_max_records_are_counted_not_written_until_a_reopen(tmp_path: Path) -> None:
    """A reflector on the internet is sent whatever anyone likes: its output file
    stops at --output-max, and after logrotate's move and SIGHUP it writes again."""
    path = tmp_path / "out.jsonl"
    sink: RecordSink[str] = RecordSink(lambda s: s, str(path), max_bytes=1000)
    for n in range(30):
        sink.submit(f"{n:02d}" + "x" * 97)  # 100 bytes a line with its newline
    _written(sink, 30)
    assert path.stat().st_size == 1000 and sink.written == 10
    assert sink.unrecorded == 20 and sink.full_because == "--output-max reached"
    assert sink.unrecorded_by == {"--output-max reached": 20}
    path.rename(tmp_path / "out.jsonl.1")
    sink.reopen()
    sink.submit("again")
    sink.close()
    assert path.read_text() == "again\n" and sink.full_because == ""
    assert (tmp_path / "out.jsonl.1").read_text().splitlines()[-1].startswith("09")


def test_records_are_not_written_into_the_last_64_mib_of_a_disk(tmp_path: Path) -> None:
    """A real file system 3 MiB larger than the reserve: the records that would eat
    into it are counted, and the disk is not filled."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs takes root")
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=67m", "tmpfs", str(disk)], check=True)
    try:
        sink: RecordSink[str] = RecordSink(lambda s: s, str(disk / "out.jsonl"))
        line = "r" * (64 * 1024 - 1)
        for _ in range(100):  # 6.25 MiB offered, about 3 MiB of room
            sink.submit(line)
        sink.close()
        assert 0 < sink.written < 100 and sink.written + sink.unrecorded == 100
        assert sink.full_because == "the disk was nearly full"
        assert sink.unrecorded_by == {"the disk was nearly full": sink.unrecorded}
        free = os.statvfs(disk)
        assert free.f_bavail * free.f_frsize >= DISK_RESERVE
    finally:
        subprocess.run(["umount", str(disk)], check=True)
