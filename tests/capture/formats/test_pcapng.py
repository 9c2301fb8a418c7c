"""The pcapng writer: Wireshark-readable, exact timestamps, comments, full disks."""

from __future__ import annotations

import errno
import io
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from capture.formats.pcapng import (
    CaptureWriteError,
    PcapngWriter,
    describe_errno,
    read_section_header,
)
from capture.sources.frames import CaptureFile, Frame
from tests.helpers import OK, conversation, simple_request

TSHARK = shutil.which("tshark")
needs_tshark = pytest.mark.skipif(
    TSHARK is None, reason="tshark is not installed (apt-get install tshark); read-back checked"
)


def _frames(ts: float = 1326205331.25) -> list[Frame]:
    conv = conversation(ts=ts)
    pairs = (
        conv.handshake() + conv.send(True, simple_request()) + conv.send(False, OK) + conv.close()
    )
    return [Frame(t, 1, d) for t, d in pairs]


def _write(path: Path, frames: list[Frame], **kw: Any) -> None:
    with PcapngWriter(str(path), **kw) as writer:
        for i, frame in enumerate(frames):
            writer.write(frame, ["first note", "second note: é"] if i == 3 else ())


def test_frames_and_comments_read_back(tmp_path: Path) -> None:
    frames = _frames()
    path = tmp_path / "s.pcapng"
    _write(path, frames, comment='{"headerwatch": {}}', app="headerwatch test")
    got = list(CaptureFile(str(path)))
    assert [f.data for f in got] == [f.data for f in frames]
    assert [f.ts for f in got] == [f.ts for f in frames]  # exactly, not approximately
    assert [f.linktype for f in got] == [1] * len(frames)
    assert got[3].comments == (b"first note", "second note: é".encode())
    assert all(not f.comments for i, f in enumerate(got) if i != 3)
    header = read_section_header(str(path))
    assert header is not None
    assert header.comments == ('{"headerwatch": {}}',)
    assert header.userappl == "headerwatch test" and header.os


def test_timestamps_are_exact_in_either_resolution(tmp_path: Path) -> None:
    stamps = [1326205331.123456, 1700000000.000001, 1326205331.5, 1e9 + 0.1234567]
    frames = [Frame(ts, 1, b"\0" * 60) for ts in stamps]
    path = tmp_path / "t.pcapng"
    _write(path, frames)
    assert [f.ts for f in CaptureFile(str(path))] == stamps
    micro = tmp_path / "t6.pcapng"
    _write(micro, frames, tsresol=6)
    assert [f.ts for f in CaptureFile(str(micro))][:3] == stamps[:3]
    with pytest.raises(ValueError, match="tsresol"):
        PcapngWriter(str(path), tsresol=3)


def test_frame_comments_are_kept_and_extended(tmp_path: Path) -> None:
    path = tmp_path / "c.pcapng"
    with PcapngWriter(str(path)) as writer:
        writer.write(Frame(1e9, 1, b"\0" * 60, (b"from wireshark",)), ["ours"])
    [frame] = CaptureFile(str(path))
    assert frame.comments == (b"from wireshark", b"ours")


def test_several_link_types_get_their_interfaces(tmp_path: Path) -> None:
    eth = _frames()[0]
    raw = Frame(eth.ts + 1, 101, eth.data[14:])  # the same IPv4 packet, no Ethernet header
    path = tmp_path / "l.pcapng"
    with PcapngWriter(str(path)) as writer:
        writer.write(eth)
        writer.write(raw)
        writer.write(eth)
    got = list(CaptureFile(str(path)))
    assert [(f.linktype, f.data) for f in got] == [(1, eth.data), (101, raw.data), (1, eth.data)]


def test_writes_to_a_file_object(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with PcapngWriter(buffer) as writer:
        for frame in _frames():
            writer.write(frame)
        assert writer.packets == len(_frames())
    assert not buffer.closed  # the caller's object: flushed, not closed
    (tmp_path / "b.pcapng").write_bytes(buffer.getvalue())
    assert len(list(CaptureFile(str(tmp_path / "b.pcapng")))) == len(_frames())


@needs_tshark
def test_tshark_reads_it_with_comments(tmp_path: Path) -> None:
    path = tmp_path / "w.pcapng"
    _write(path, _frames(), comment="session notes")
    out = subprocess.run(
        [str(TSHARK), "-r", str(path), "-T", "fields", "-e", "frame.number", "-e", "frame.comment"],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = out.stdout.strip().splitlines()
    assert len(lines) == len(_frames())
    assert lines[3].split("\t")[1] == "first note,second note: é"
    capinfos = shutil.which("capinfos")  # ships with tshark; shows the section comment
    if capinfos is not None:
        info = subprocess.run([capinfos, str(path)], capture_output=True, text=True, check=True)
        assert "session notes" in info.stdout


class _FillingDisk(io.RawIOBase):
    """A file that accepts ``room`` bytes, then takes part of a write and fails ENOSPC."""

    def __init__(self, path: Path, room: int) -> None:
        self._file = open(path, "w+b")  # noqa: SIM115
        self.name = str(path)
        self.room = room

    def write(self, data: Any) -> int:
        data = bytes(data)
        if len(data) > self.room:
            self._file.write(data[: self.room])  # the OS got part of it in
            self.room = 0
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= len(data)
        return self._file.write(data)

    def tell(self) -> int:
        return self._file.tell()

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._file.seek(offset, whence)

    def truncate(self, size: int | None = None) -> int:
        return self._file.truncate(size)

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        super().close()
        self._file.close()

    def writable(self) -> bool:
        return True


def test_full_disk_is_one_line_and_keeps_what_was_flushed(tmp_path: Path) -> None:
    path = tmp_path / "full.pcapng"
    disk = _FillingDisk(path, room=600)
    frames = _frames()
    writer = PcapngWriter(disk)
    writer.write(frames[0])
    writer.write(frames[1])
    writer.flush()  # these two are safe from here on
    with pytest.raises(CaptureWriteError) as info:
        for frame in frames[2:] * 20:
            writer.write(frame)
            writer.flush()
    message = str(info.value)
    assert "\n" not in message and "disk full" in message and str(path) in message
    assert info.value.errno == errno.ENOSPC
    with pytest.raises(CaptureWriteError):  # it stays failed: no silent later writes
        writer.write(frames[0])
    writer.close()
    disk.close()
    capture = CaptureFile(str(path))
    got = list(capture)
    assert not capture.truncated  # cut back to the last complete block
    assert len(got) == writer.flushed_packets >= 2
    assert [f.data for f in got[:2]] == [frames[0].data, frames[1].data]


def test_dev_full_is_reported(tmp_path: Path) -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system (Linux has it); simulated above")
    with pytest.raises(CaptureWriteError, match=r"^/dev/full: disk full"):
        PcapngWriter("/dev/full")


def test_unwritable_path_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(CaptureWriteError, match="no such directory") as info:
        PcapngWriter(str(tmp_path / "missing" / "x.pcapng"))
    assert "\n" not in str(info.value)
    assert describe_errno(errno.EACCES) == "permission denied"
    assert describe_errno(None, "odd") == "odd"


def test_section_header_of_other_files(tmp_path: Path, pcaps_dir: Path) -> None:
    assert read_section_header(str(pcaps_dir / "zeek/get.pcap")) is None
    header = read_section_header(str(pcaps_dir / "zeek/cooper-grill-dvwa.pcapng"))
    assert header is not None  # another tool's pcapng: its options, whatever they are
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert read_section_header(str(empty)) is None
