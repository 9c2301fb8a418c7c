"""Following records as they are written (``live --from``): files, FIFOs, sockets."""

from __future__ import annotations

import gzip
import os
import socket
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from capture.model import Parsed, Request
from capture.sources import inputs
from capture.sources.follow import Follower
from capture.sources.frames import CaptureError
from capture.sources.records import MAX_LINE, RecordFile


def _line(n: int, **extra: Any) -> bytes:
    obj = {
        "ts": 1700000000.0 + n,
        "src": "10.0.0.2",
        "sport": 40000 + n,
        "dst": "192.0.2.1",
        "dport": 443,
        "method": "GET",
        "uri": f"/{n}",
        "version": "HTTP/1.1",
        "headers": [["Host", "a.example"], ["X-N", str(n)]],
        **extra,
    }
    return orjson.dumps(obj) + b"\n"


class Collected:
    """The follower run in a thread, its requests and notices collected."""

    def __init__(self, follower: Follower, notices: list[tuple[str, str]]) -> None:
        self.follower = follower
        self.notices = notices
        self.items: list[Parsed] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        for item in self.follower.frames():
            if item is not None:
                self.items.append(item)

    def uris(self) -> list[str | None]:
        return [p.request.uri for p in self.items]

    def wait(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, (self.uris(), self.notices)
            time.sleep(0.02)

    def finish(self) -> None:
        self.follower.stop()
        self.thread.join(5.0)
        assert not self.thread.is_alive()


def _follow(target: str, **kw: Any) -> Collected:
    notices: list[tuple[str, str]] = []
    follower = Follower(target, lambda level, text: notices.append((level, text)), **kw)
    return Collected(follower, notices)


def test_a_growing_file_is_followed_from_its_start_and_stop_keeps_what_was_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "proxy.jsonl"
    path.write_bytes(_line(1))
    recorded: list[bytes] = []
    run = _follow(str(path), record=recorded.append)
    run.wait(lambda: run.uris() == ["/1"])
    with open(path, "ab") as out:
        out.write(_line(2) + _line(3)[:20])
        out.flush()
        run.wait(lambda: run.uris() == ["/1", "/2"])
        out.write(_line(3)[20:])
    run.wait(lambda: len(run.items) == 3)
    run.finish()
    assert run.uris() == ["/1", "/2", "/3"]
    assert recorded == [_line(1), _line(2), _line(3)]
    assert run.follower.counters()["followed"] == 3


def test_a_file_that_does_not_exist_yet_is_waited_for_and_a_replaced_one_read_again(
    tmp_path: Path,
) -> None:
    path = tmp_path / "later.jsonl"
    run = _follow(str(path))
    time.sleep(0.2)
    path.write_bytes(_line(1))
    run.wait(lambda: run.uris() == ["/1"])
    # Rotation: a new file under the same name is read from its start.
    path.rename(tmp_path / "later.jsonl.1")
    path.write_bytes(_line(2))
    run.wait(lambda: run.uris() == ["/1", "/2"])
    run.finish()


def _overwrite(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        assert os.pwrite(fd, data, 0) == len(data)
    finally:
        os.close(fd)


def test_a_file_truncated_and_rewritten_to_the_same_size_is_read_again_and_said_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / "proxy.jsonl"
    path.write_bytes(_line(1))
    run = _follow(str(path))
    run.wait(lambda: run.uris() == ["/1"])
    time.sleep(0.2)  # read to its end: the follower waits at the same size
    inode = path.stat().st_ino
    # Truncated and written again between two reads, as tail -F misses: what the
    # follower then sees, made in one write (it cannot look in between).
    _overwrite(path, _line(7))
    assert path.stat().st_size == len(_line(1)) and path.stat().st_ino == inode
    run.wait(lambda: run.uris() == ["/1", "/7"])
    # Written again beyond where it was read, between two reads: read from the start.
    time.sleep(0.2)
    _overwrite(path, _line(8) + _line(9))
    run.wait(lambda: run.uris() == ["/1", "/7", "/8", "/9"])
    # Touched, or the same bytes written again: nothing to read again.
    time.sleep(0.2)
    _overwrite(path, _line(8) + _line(9))
    os.utime(path)
    time.sleep(0.3)
    run.finish()
    assert run.uris() == ["/1", "/7", "/8", "/9"]
    said = f"{path}: rewritten in place (the bytes already read changed): read again from its start"
    assert run.notices == [("warning", said)] * 2
    assert run.follower.counters() == {"followed": 4}


def test_a_fifo_is_read_while_writers_come_and_go(tmp_path: Path) -> None:
    fifo = tmp_path / "hw.fifo"
    os.mkfifo(fifo)
    run = _follow(str(fifo))
    time.sleep(0.2)
    for n in (1, 2):
        with open(fifo, "wb") as writer:
            writer.write(_line(n))
        run.wait(lambda n=n: len(run.items) == n)  # type: ignore[misc]
    run.finish()
    assert run.uris() == ["/1", "/2"]


def test_a_unix_socket_is_listened_on_privately_and_writers_may_reconnect(
    tmp_path: Path,
) -> None:
    path = tmp_path / "hw.sock"
    run = _follow(f"unix:{path}")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with socket.socket(socket.AF_UNIX) as writer:
        writer.connect(str(path))
        # A writer that dies in the middle of a line: that line is bad, the next is not.
        writer.sendall(_line(1) + _line(2)[:30])
    run.wait(lambda: len(run.items) == 1)
    with socket.socket(socket.AF_UNIX) as writer:
        writer.connect(str(path))
        writer.sendall(_line(3))
    run.wait(lambda: len(run.items) == 2)
    run.finish()
    assert run.uris() == ["/1", "/3"]
    assert run.follower.counters()["bad_lines"] == 1
    assert not path.exists()  # the socket is removed when following ends


def test_a_record_its_writer_left_unfinished_is_a_bad_line_and_never_recorded(
    tmp_path: Path,
) -> None:
    path = tmp_path / "hw.sock"
    recorded: list[bytes] = []
    run = _follow(f"unix:{path}", record=recorded.append)
    for data in (_line(1) + _line(2)[:30], b"not json", _line(3)):
        with socket.socket(socket.AF_UNIX) as writer:
            writer.connect(str(path))
            writer.sendall(data)
        time.sleep(0.2)  # one writer at a time: the next connects once this one is read
    run.wait(lambda: len(run.items) == 2)
    run.finish()
    assert run.uris() == ["/1", "/3"]
    assert run.follower.counters()["bad_lines"] == 2
    # Half a record is not written to the session; a line that is no record is, whole.
    assert recorded == [_line(1), b"not json\n", _line(3)]


def test_the_add_ons_drop_counter_becomes_a_warning_and_a_counter(tmp_path: Path) -> None:
    path = tmp_path / "proxy.jsonl"
    status = orjson.dumps({"headerwatch_addon": {"format": 1, "dropped": 42, "written": 1}})
    path.write_bytes(_line(1) + status + b"\n" + _line(2))
    run = _follow(str(path))
    run.wait(lambda: len(run.items) == 2)
    run.finish()
    assert run.follower.counters()["proxy_dropped"] == 42
    assert any("dropped 42 records" in text for level, text in run.notices if level == "warning")


def test_a_capture_cannot_be_followed_and_says_so_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "x.pcap"
    header = bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000")
    record = bytes.fromhex("00000000000000002800000028000000") + bytes(40)
    path.write_bytes(header + record)
    run = _follow(str(path))
    run.wait(lambda: bool(run.notices))
    run.finish()
    [(level, text)] = run.notices
    assert level == "error"
    assert "a capture" in text and "\n" not in text


def test_a_directory_or_an_existing_socket_path_is_refused_at_once(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="is a directory"):
        Follower(str(tmp_path))
    (tmp_path / "a-file").write_bytes(b"")
    with pytest.raises(CaptureError, match=r"a-file/x: cannot open \(Not a directory\)"):
        Follower(str(tmp_path / "a-file" / "x"))
    sock_path = tmp_path / "s.sock"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(sock_path))
        with pytest.raises(CaptureError, match="use --from unix:"):
            Follower(str(sock_path))


def test_another_record_kind_of_inputs_is_followed_the_same_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def parse(obj: Any) -> Parsed | None:
        if obj.get("event_type") != "http":
            return None
        req = Request(obj["t"], 0, 1, "10.0.0.9", 1, "192.0.2.9", 80, "GET", obj["url"], "HTTP/1.1")
        return Parsed(req)

    kind = inputs.InputKind(
        "eve",
        "an engine's log",
        lambda head: b'"event_type"' in head,
        lambda path, stream: RecordFile(path, stream, "an engine's log", parse),
    )
    monkeypatch.setattr(inputs, "INPUTS", (kind, *inputs.INPUTS))
    path = tmp_path / "eve.json"
    path.write_bytes(
        b'{"event_type":"http","t":1.0,"url":"/a"}\n'
        b'{"event_type":"dns"}\n'
        b'{"event_type":"http","t":2.0,"url":"/b"}\n'
    )
    run = _follow(str(path))
    run.wait(lambda: len(run.items) == 2)
    run.finish()
    assert run.uris() == ["/a", "/b"]
    assert run.follower.kind == "eve"


def _ends_by_itself(run: Collected) -> None:
    """The reader ended without being stopped (and frames() after it)."""
    run.thread.join(5.0)
    assert not run.thread.is_alive(), (run.uris(), run.notices)


def test_a_gzip_file_is_read_whole_as_what_it_decompresses_to_and_then_ends(
    tmp_path: Path,
) -> None:
    path = tmp_path / "proxy.jsonl.gz"
    path.write_bytes(gzip.compress(_line(1) + _line(2) + _line(3)))
    recorded: list[bytes] = []
    run = _follow(str(path), record=recorded.append)
    _ends_by_itself(run)  # gzip is written whole: nothing more to follow
    assert run.uris() == ["/1", "/2", "/3"]
    assert recorded == [_line(1), _line(2), _line(3)]  # -w records the lines, not gzip
    assert run.notices == [] and run.follower.failed is None
    assert run.follower.counters()["followed"] == 3


def test_a_gzip_file_cut_short_keeps_every_record_before_the_cut(tmp_path: Path) -> None:
    whole = gzip.compress(b"".join(_line(n) for n in range(1, 400)), mtime=0)
    path = tmp_path / "proxy.jsonl.gz"
    path.write_bytes(whole[: len(whole) // 2])
    recorded: list[bytes] = []
    run = _follow(str(path), record=recorded.append)
    _ends_by_itself(run)
    uris = run.uris()
    assert len(uris) > 10 and uris == [f"/{n}" for n in range(1, len(uris) + 1)]
    assert run.follower.failed is None
    # As scan says it: the line the cut went through is no bad line, nor recorded.
    [(level, text)] = run.notices
    assert level == "warning"
    assert text.startswith(f"{path}: cut short (Compressed file ended before")
    assert "bad_lines" not in run.follower.counters()
    assert recorded == [_line(n) for n in range(1, len(uris) + 1)]


@pytest.mark.parametrize(
    "cut",
    [b'{"ts": 1700000002.1, "src": "10.0.0.5"', b'{"ts": 1700000002.1, "src": "10.0.'],
    ids=["between-fields", "inside-a-string"],
)
def test_a_last_line_cut_inside_a_record_when_following_stops_is_cut_short_and_not_recorded(
    tmp_path: Path, cut: bytes
) -> None:
    path = tmp_path / "cut3.jsonl"
    path.write_bytes(_line(1) + _line(2) + cut)
    recorded: list[bytes] = []
    run = _follow(str(path), record=recorded.append)
    run.wait(lambda: len(run.items) == 2)
    time.sleep(0.2)  # the cut line is waited for: its writer may still be writing it
    run.finish()
    assert run.uris() == ["/1", "/2"]
    [(level, text)] = run.notices
    assert level == "warning"
    assert text == (
        f"{path}: cut short (its last line ends inside a record: unexpected end of data); "
        "every record before the cut is reported"
    )
    assert "bad_lines" not in run.follower.counters()
    # A session must never hold half a record.
    assert recorded == [_line(1), _line(2)]


def test_a_whole_last_record_without_its_newline_is_read_and_recorded_with_one(
    tmp_path: Path,
) -> None:
    path = tmp_path / "proxy.jsonl"
    path.write_bytes(_line(1) + _line(2).rstrip(b"\n"))
    recorded: list[bytes] = []
    run = _follow(str(path), record=recorded.append)
    run.wait(lambda: len(run.items) == 1)
    time.sleep(0.2)
    run.finish()
    assert run.uris() == ["/1", "/2"]
    assert run.notices == []
    assert recorded == [_line(1), _line(2)]


def test_an_over_long_last_line_is_recorded_whole_with_its_newline_and_passed_over(
    tmp_path: Path,
) -> None:
    # Its rest, past the first MAX_LINE bytes, looks like a record cut short: it is
    # still the end of the long line, which is recorded as it came, and ended.
    long = b'{"x": "' + b"a" * (MAX_LINE - 7) + b'{"y": "b'
    path = tmp_path / "proxy.jsonl"
    path.write_bytes(_line(1) + long)
    recorded: list[bytes] = []
    run = _follow(str(path), record=recorded.append)
    run.wait(lambda: len(run.items) == 1)
    time.sleep(0.2)
    run.finish()
    assert b"".join(recorded) == _line(1) + long + b"\n"
    assert run.follower.counters()["bad_lines"] == 1


def test_a_path_that_becomes_a_directory_ends_following_with_one_error_after_what_was_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "proxy.jsonl"
    path.write_bytes(_line(1) + _line(2))
    recorded: list[bytes] = []
    run = _follow(str(path), record=recorded.append)
    run.wait(lambda: len(run.items) == 2)
    path.rename(tmp_path / "proxy.jsonl.1")
    path.mkdir()
    _ends_by_itself(run)
    assert run.uris() == ["/1", "/2"] and recorded == [_line(1), _line(2)]
    [(level, text)] = run.notices
    assert (level, text) == ("error", f"{path}: is a directory, not a file of records")
    assert run.follower.failed == text


@pytest.mark.parametrize(
    "data",
    [
        b"\x7fELF\x02\x01\x01\x00",  # binary, shorter than what sniffing looks at
        bytes(range(256)) * 8,
        gzip.compress(b"\x00\x01binary inside"),
    ],
    ids=["short-binary", "binary", "gzip-of-binary"],
)
def test_a_stream_of_no_record_format_is_one_error_and_ends(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "garbage"
    path.write_bytes(data)
    run = _follow(str(path))
    _ends_by_itself(run)
    [(level, text)] = run.notices
    assert level == "error" and "\n" not in text
    assert text.startswith(f"{path}") and "not a record format headerwatch reads" in text
    # It names what can be followed, and nothing that cannot (a capture, a HAR).
    assert "eve.json" in text and "HAR" not in text and "capture" not in text.split(";")[1]
    assert run.follower.failed == text


def test_a_damaged_gzip_file_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "proxy.jsonl.gz"
    path.write_bytes(b"\x1f\x8b" + b"not deflate at all")
    run = _follow(str(path))
    _ends_by_itself(run)
    [(level, text)] = run.notices
    assert level == "error"
    assert text.startswith(f"{path}: gzip-compressed, but not readable (")


def test_lines_that_are_all_bad_are_an_error_once_stopped(tmp_path: Path) -> None:
    path = tmp_path / "proxy.jsonl"
    path.write_bytes(b"{not json\n{nor this\n")
    run = _follow(str(path))
    time.sleep(0.3)
    run.finish()
    [(level, text)] = run.notices
    assert level == "error" and "nothing read: none of its 2 lines" in text
    assert run.follower.failed == text


def test_gzip_through_a_fifo_is_refused_in_one_line(tmp_path: Path) -> None:
    fifo = tmp_path / "hw.fifo"
    os.mkfifo(fifo)
    run = _follow(str(fifo))
    with open(fifo, "wb") as writer:
        writer.write(gzip.compress(_line(1)))
    _ends_by_itself(run)
    [(level, text)] = run.notices
    assert level == "error" and text.startswith(f"{fifo}: gzip-compressed; a FIFO or socket")


def test_a_har_is_refused_in_one_line_not_read_as_lines(tmp_path: Path) -> None:
    path = tmp_path / "session.har"
    path.write_bytes(b'{"log": {"version": "1.2", "entries": []}}\n')
    run = _follow(str(path))
    _ends_by_itself(run)
    [(level, text)] = run.notices
    assert level == "error" and "cannot be followed (one document, not lines)" in text
    assert text.endswith(f"headerwatch open {path}")


def test_a_socket_another_follower_listens_on_is_refused_not_taken_over(tmp_path: Path) -> None:
    # Taken over, the first follower heard nothing more and the second nothing of what
    # the add-on had connected to the first: records lost, and nobody said so.
    path = tmp_path / "hw.sock"
    run = _follow(f"unix:{path}")
    with pytest.raises(CaptureError, match=r"hw.sock: another process listens on it"):
        Follower(f"unix:{path}")
    with socket.socket(socket.AF_UNIX) as writer:
        writer.connect(str(path))
        writer.sendall(_line(1))
    run.wait(lambda: len(run.items) == 1)
    run.finish()
    assert run.uris() == ["/1"]


def test_a_stale_socket_is_replaced_and_a_file_at_the_path_is_refused(tmp_path: Path) -> None:
    stale = tmp_path / "stale.sock"
    with socket.socket(socket.AF_UNIX) as dead:
        dead.bind(str(stale))  # left behind by a follower that was killed
    run = _follow(f"unix:{stale}")
    with socket.socket(socket.AF_UNIX) as writer:
        writer.connect(str(stale))
        writer.sendall(_line(1))
    run.wait(lambda: len(run.items) == 1)
    run.finish()
    plain = tmp_path / "plain"
    plain.write_bytes(b"evidence")
    with pytest.raises(CaptureError, match=r"plain: exists and is not a socket"):
        Follower(f"unix:{plain}")
    assert plain.read_bytes() == b"evidence"


def test_a_line_part_read_when_following_stops_is_read_to_its_end_not_said_cut(
    tmp_path: Path,
) -> None:
    """A read ends where it ends: stopped after one, a whole file was said to be cut
    short (its last line "ends inside a record"), as an outside tester found."""
    import threading

    from capture.sources.follow import LineStream

    lines = [_line(n, pad="p" * 30_000) for n in range(1, 5)]  # 64 KiB ends in the third
    path = tmp_path / "proxy.jsonl"
    path.write_bytes(b"".join(lines))
    stop = threading.Event()
    ended: list[bool] = []
    stream = LineStream(str(path), stop, lambda _line, unended: ended.append(unended))
    assert [stream.readline(), stream.readline()] == lines[:2]
    stop.set()
    assert stream.readline() == lines[2]  # whole, with its newline
    assert stream.readline() == b""  # and nothing after it: following stopped
    assert ended == [False, False, False]
