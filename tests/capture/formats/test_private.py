"""Files that hold identities are 0600 whatever the umask, and root writes no planted link.

Every writer of such files (exports, sessions, pcapng recordings) is checked
under a permissive umask; then the rules of privileged runs: a symbolic link in
place of the output is not followed, and another user's file is not replaced,
neither written in place nor renamed over.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from capture.formats import private
from capture.formats.atomic import atomic_output
from capture.formats.export import ExportError, export
from capture.formats.pcapng import CaptureWriteError, PcapngWriter
from capture.formats.private import (
    check_replaceable,
    create_new,
    create_private,
    open_private,
    remove_new,
    share_files,
)
from capture.formats.session import SessionError, save_session
from capture.view.store import Entry
from tests.capture.factories import finding, record

DEMO = Path(__file__).resolve().parents[3] / "capture" / "data" / "demo-o2-2012.pcap"
NOBODY = 65534


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    """umask 022, the usual default that made these files world-readable."""
    old = os.umask(0o022)
    share_files(False)
    yield
    os.umask(old)
    share_files(False)


@pytest.fixture
def as_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(private, "privileged", lambda: True)


@pytest.fixture
def as_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(private, "privileged", lambda: False)


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def _entries() -> list[Entry]:
    return [Entry(record(1, (finding(),)), marked=True)]


def _write_each(tmp_path: Path) -> list[Path]:
    """One file from each writer of identities."""
    paths = [tmp_path / "out.jsonl", tmp_path / "out.har", tmp_path / "session.pcapng"]
    export(_entries(), str(paths[0]), "jsonl")
    export(_entries(), str(paths[1]), "har")
    save_session(str(paths[2]), [str(DEMO)], [])
    recording = tmp_path / "live.pcapng"
    PcapngWriter(str(recording)).close()
    return [*paths, recording]


def test_every_file_with_identities_is_0600_under_umask_022(tmp_path: Path) -> None:
    for path in _write_each(tmp_path):
        assert _mode(path) == 0o600, path


def test_0600_exactly_even_under_a_stricter_umask(tmp_path: Path) -> None:
    os.umask(0o277)
    for path in _write_each(tmp_path):
        assert _mode(path) == 0o600, path


def test_an_existing_readable_file_becomes_private_when_written(tmp_path: Path) -> None:
    path = tmp_path / "old.jsonl"
    path.write_bytes(b"old")
    path.chmod(0o644)
    with open_private(str(path), "wb") as out:
        out.write(b"new")
    assert _mode(path) == 0o600
    assert path.read_bytes() == b"new"


@pytest.mark.parametrize("privileged", [False, True], ids=["as a user", "as root"])
def test_a_recording_never_replaces_a_file_that_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, privileged: bool
) -> None:
    monkeypatch.setattr(private, "privileged", lambda: privileged)
    earlier = tmp_path / "session.pcapng"
    earlier.write_bytes(b"the earlier recording")
    earlier.chmod(0o644)
    link = tmp_path / "link.pcapng"
    link.symlink_to(earlier)  # ours, in our own directory: followed even as root
    for path in (earlier, link):
        with pytest.raises(CaptureWriteError, match=r"\.pcapng: exists already, not replaced$"):
            PcapngWriter(str(path))
    # Not written, not truncated, not even made private: left exactly as it was.
    assert earlier.read_bytes() == b"the earlier recording" and _mode(earlier) == 0o644


def test_a_new_recording_left_empty_is_removed_but_nothing_put_there_since(
    tmp_path: Path,
) -> None:
    made = tmp_path / "live.pcapng"
    fd = create_new(str(made))
    assert remove_new(fd, str(made)) and not made.exists()
    os.close(fd)
    # Swapped for another file after it was made: that one stays.
    fd = create_new(str(made))
    made.unlink()
    made.write_bytes(b"someone else's")
    assert not remove_new(fd, str(made)) and made.read_bytes() == b"someone else's"
    os.close(fd)
    # A device or FIFO is written as it is, and never removed.
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    fd = os.open(fifo, os.O_RDWR)
    assert not remove_new(fd, str(fifo)) and fifo.exists()
    os.close(fd)


def test_a_recording_writes_a_device_as_it_is() -> None:
    PcapngWriter("/dev/null").close()
    assert os.stat("/dev/null").st_mode & 0o777 == 0o666


def test_shared_files_follow_the_umask(tmp_path: Path) -> None:
    share_files()
    for path in _write_each(tmp_path):
        assert _mode(path) == 0o644, path


def test_devices_are_written_as_they_are(as_root: None) -> None:
    with open_private("/dev/null", "wb") as out:
        out.write(b"x")
    assert os.stat("/dev/null").st_mode & 0o777 == 0o666


def test_as_root_a_planted_link_is_not_followed(tmp_path: Path, as_root: None) -> None:
    victim = tmp_path / "shadow"
    victim.write_text("root:x:0:0\n")
    shared = tmp_path / "tmp"
    shared.mkdir()
    shared.chmod(0o1777)  # like /tmp: anyone could have made the link
    link = shared / "live.pcapng"
    link.symlink_to(victim)
    with pytest.raises(
        CaptureWriteError, match="is a symbolic link, not followed when running as root"
    ):
        PcapngWriter(str(link))
    assert victim.read_text() == "root:x:0:0\n"


def test_as_root_a_link_nobody_else_could_plant_is_followed(as_root: None) -> None:
    # /dev/stdout: root's link in root's /dev, to a pipe or a terminal.
    assert os.path.islink("/dev/stdout")
    with open_private("/dev/stdout", "wb") as out:
        out.write(b"")


def test_as_root_a_link_planted_by_another_user_is_refused(tmp_path: Path, as_root: None) -> None:
    _need_root()
    shared = tmp_path / "tmp"
    shared.mkdir()
    shared.chmod(0o1777)
    link = shared / "out.pcapng"
    link.symlink_to(tmp_path / "victim")
    os.lchown(link, NOBODY, NOBODY)
    with pytest.raises(OSError, match="is a symbolic link, not followed"):
        open_private(str(link), "wb")
    assert not (tmp_path / "victim").exists()


def test_as_a_user_a_link_is_followed(tmp_path: Path, as_user: None) -> None:
    target = tmp_path / "real.pcapng"
    link = tmp_path / "link.pcapng"
    link.symlink_to(target)
    PcapngWriter(str(link)).close()
    assert target.read_bytes()[:4] == b"\x0a\x0d\x0d\x0a"


def _need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to give a file to another user (CI runs as root)")


def test_as_root_another_users_file_is_not_written(tmp_path: Path, as_root: None) -> None:
    _need_root()
    theirs = tmp_path / "theirs.pcapng"
    theirs.write_text("theirs")
    os.chown(theirs, NOBODY, NOBODY)
    with pytest.raises(OSError, match=f"belongs to another user \\(uid {NOBODY}\\)"):
        open_private(str(theirs), "wb")
    assert theirs.read_text() == "theirs"


def test_as_root_another_users_fifo_is_not_written_nor_waited_for(
    tmp_path: Path, as_root: None
) -> None:
    # Planted in /tmp by another user, it read a reflector's records, identities and
    # all; with no reader, the open waited and the reflector never listened.
    _need_root()
    theirs = tmp_path / "records.jsonl"
    os.mkfifo(theirs)
    os.chown(theirs, NOBODY, NOBODY)
    with pytest.raises(OSError, match=f"is a FIFO of another user \\(uid {NOBODY}\\)"):
        create_private(str(theirs), append=True)  # at once: no reader is waited for
    reader = os.open(theirs, os.O_RDONLY | os.O_NONBLOCK)  # their reader, there now
    try:
        with pytest.raises(OSError, match="is a FIFO of another user"):
            create_private(str(theirs), append=True)
        assert os.read(reader, 1) == b""  # nothing was written to it
    finally:
        os.close(reader)


def test_as_root_another_users_file_is_not_renamed_over(tmp_path: Path, as_root: None) -> None:
    _need_root()
    theirs = tmp_path / "theirs.har"
    theirs.write_text("theirs")
    os.chown(theirs, NOBODY, NOBODY)
    with pytest.raises(ExportError, match="belongs to another user"):
        export(_entries(), str(theirs), "har")
    with pytest.raises(SessionError, match="belongs to another user"):
        save_session(str(theirs), [str(DEMO)], [])
    assert theirs.read_text() == "theirs"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["theirs.har"]  # no temp left


def test_as_root_a_link_is_replaced_not_followed(tmp_path: Path, as_root: None) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep")
    link = tmp_path / "out.jsonl"
    link.symlink_to(victim)
    export(_entries(), str(link), "jsonl")
    assert victim.read_text() == "keep"
    assert not link.is_symlink() and _mode(link) == 0o600


def test_as_root_a_directory_others_can_swap_files_in_is_refused(
    tmp_path: Path, as_root: None
) -> None:
    _need_root()
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chown(shared, NOBODY, NOBODY)
    shared.chmod(0o777)  # no sticky bit: anyone may rename files in it
    with pytest.raises(OSError, match="directory is writable by other users"):
        check_replaceable(str(shared / "out.har"))
    shared.chmod(0o1777)  # /tmp: sticky, others cannot touch our files
    check_replaceable(str(shared / "out.har"))


def test_as_a_user_renames_are_the_kernels_business(tmp_path: Path, as_user: None) -> None:
    target = tmp_path / "out.jsonl"
    with atomic_output(str(target)) as temp, open_private(temp, "x", encoding="utf-8") as out:
        out.write("{}\n")
    assert target.read_text() == "{}\n" and _mode(target) == 0o600


def test_open_private_writes_new_files_only(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="new files only"):
        open_private(str(tmp_path / "x"), "a")  # type: ignore[call-overload]


def test_without_wait_a_fifo_nobody_reads_fails_at_once_and_one_read_is_written(
    tmp_path: Path,
) -> None:
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    with pytest.raises(OSError) as caught:
        create_private(str(fifo), append=True, wait=False)
    assert caught.value.errno == errno.ENXIO
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        fd = create_private(str(fifo), append=True, wait=False)
        try:
            assert os.get_blocking(fd)  # written as any output: no short writes
            os.write(fd, b"line\n")
        finally:
            os.close(fd)
        assert os.read(reader, 100) == b"line\n"
    finally:
        os.close(reader)
    assert _mode(fifo) == 0o644  # not a file of ours to narrow: written as it is
