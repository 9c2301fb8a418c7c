"""The reflector's output: a bounded queue in front of a writer thread."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from capture.lab.sink import RecordSink


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
