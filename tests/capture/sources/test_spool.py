"""The dashboard's private spool: bounded, private, flushed on demand, gone at exit;
one a killed process left behind is found, never one in use nor another's."""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from capture.formats.pcapng import PcapngWriter
from capture.sources.frames import CaptureFile, Frame
from capture.sources.recording import FRAME_OVERHEAD, RecordingSource
from capture.sources.spool import (
    DEFAULT_LIMIT,
    FILE_NAME,
    Spool,
    leftover_notice,
    leftovers,
    size_text,
    spool_parent,
)
from tui.cmd_live import spool_limit, spooled
from tui.common import UsageError


class _Source:
    name = "fake0"

    def __init__(self, items: list[Frame | None]) -> None:
        self.items = items
        self.handed = 0

    def frames(self) -> Iterator[Frame | None]:
        for item in self.items:
            self.handed += 1
            yield item

    def stop(self) -> None:
        pass

    def current_time(self) -> float | None:
        return None

    def counters(self) -> dict[str, int]:
        return {"captured": len([f for f in self.items if f is not None])}


def _frame(i: int, size: int = 1000) -> Frame:
    return Frame(1_700_000_000.0 + i, 1, bytes([i % 256]) * size)


def _read(path: str) -> list[Frame]:
    capture = CaptureFile(path)
    try:
        return list(capture)
    finally:
        capture.close()


def test_a_full_spool_stops_recording_with_a_notice_and_capture_goes_on(tmp_path: Path) -> None:
    items: list[Frame | None] = [_frame(i) for i in range(20)]
    notices: list[tuple[str, str]] = []
    spool = Spool(limit=5000, parent=str(tmp_path))
    rec = spool.recording(_Source(items), notify=lambda level, text: notices.append((level, text)))

    assert list(rec.frames()) == items  # every frame still goes to the pipeline

    recorded = _read(spool.path)
    assert 0 < len(recorded) < 20
    assert recorded == items[: len(recorded)]
    assert os.path.getsize(spool.path) <= 5000  # never past the limit
    # It stopped only because the next frame would not have fitted.
    assert os.path.getsize(spool.path) + 1000 + FRAME_OVERHEAD > 5000
    cut = items[len(recorded)]
    assert cut is not None and rec.full_at == cut.ts
    when = time.strftime("%H:%M:%S", time.localtime(cut.ts))
    assert notices == [
        (
            "warning",
            f"spool full at 4.9 KiB: requests after {when} cannot be saved; "
            "use -w FILE to record everything",
        )
    ]
    assert rec.counters() == {
        "captured": 20,
        "recorded": len(recorded),
        "unrecorded": 20 - len(recorded),
    }
    synced = rec.sync()
    assert (synced.frames, synced.full_at, synced.limit) == (len(recorded), cut.ts, 5000)


def test_without_a_limit_nothing_is_left_out(tmp_path: Path) -> None:
    path = str(tmp_path / "w.pcapng")
    items: list[Frame | None] = [_frame(i) for i in range(20)]
    rec = RecordingSource(_Source(items), PcapngWriter(path), path)
    assert list(rec.frames()) == items
    assert len(_read(path)) == 20
    assert rec.full_at is None and "unrecorded" not in rec.counters()


def test_sync_from_another_thread_puts_every_frame_handed_on_in_the_file(tmp_path: Path) -> None:
    path = str(tmp_path / "w.pcapng")
    items: list[Frame | None] = [_frame(i, 60) for i in range(50)]
    rec = RecordingSource(_Source(items), PcapngWriter(path), path)
    frames = rec.frames()
    handed = [next(frames) for _ in range(30)]
    # The writer buffers 64 KiB and flushes every half second: nothing is in yet.
    assert _read(path) == []
    result: list[int] = []
    saver = threading.Thread(target=lambda: result.append(rec.sync().frames))
    saver.start()
    saver.join(5)
    assert result == [30]
    assert _read(path) == handed
    assert list(frames) == items[30:]
    assert len(_read(path)) == 50


def test_the_spool_is_private_and_under_xdg_runtime_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    old = os.umask(0o022)
    try:
        spool = Spool()
        rec = spool.recording(_Source([_frame(0)]))
        list(rec.frames())
    finally:
        os.umask(old)
    assert os.path.dirname(spool.directory) == str(tmp_path)
    assert os.path.basename(spool.directory).startswith("headerwatch-spool-")
    assert os.stat(spool.directory).st_mode & 0o777 == 0o700
    assert os.stat(spool.path).st_mode & 0o777 == 0o600
    assert spool.limit == DEFAULT_LIMIT == 1 << 30 and size_text(spool.limit) == "1 GiB"
    spool.remove()
    assert not os.path.exists(spool.directory)
    spool.remove()  # twice is fine


def test_without_xdg_runtime_dir_the_spool_goes_to_the_temp_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    assert spool_parent() == str(tmp_path)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "missing"))
    assert spool_parent() == str(tmp_path)


def _args(**kw: object) -> argparse.Namespace:
    base: dict[str, object] = {
        "interface": "eth9",
        "filter": "tcp",
        "write": None,
        "spool_max": 1 << 20,
    }
    return argparse.Namespace(**{**base, **kw})


def test_live_removes_the_spool_when_the_dashboard_exits_even_on_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    source = _Source([_frame(0)])
    with (
        pytest.raises(RuntimeError),
        spooled(source, source, _args(), None, []) as (frames, spool),  # type: ignore[arg-type]
    ):
        assert isinstance(frames, RecordingSource) and frames.limit == 1 << 20
        assert spool is not None and frames.path == spool.path
        list(frames.frames())
        assert os.path.exists(frames.path)
        raise RuntimeError("the dashboard crashed")
    assert list(tmp_path.iterdir()) == []


def test_keep_copies_the_capture_to_a_new_private_file_never_over_one(tmp_path: Path) -> None:
    spool = Spool(parent=str(tmp_path))
    frames = [_frame(i) for i in range(3)]
    recording = spool.recording(_Source(list(frames)))
    list(recording.frames())  # closed at the end, as when the capture stops
    kept = tmp_path / "kept.pcapng"
    spool.keep(str(kept))
    assert _read(str(kept)) == frames
    assert kept.stat().st_mode & 0o777 == 0o600
    earlier = tmp_path / "earlier.pcapng"
    earlier.write_bytes(b"earlier")
    with pytest.raises(OSError, match="exists already"):
        spool.keep(str(earlier))
    assert earlier.read_bytes() == b"earlier"
    spool.remove()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["earlier.pcapng", "kept.pcapng"]


def test_a_spool_left_in_place_is_not_removed(tmp_path: Path) -> None:
    spool = Spool(parent=str(tmp_path))
    list(spool.recording(_Source([_frame(0)])).frames())
    with pytest.raises(OSError):
        spool.keep(str(tmp_path / "no-such-directory" / "kept.pcapng"))
    assert [p.name for p in tmp_path.iterdir()] == [os.path.basename(spool.directory)]
    spool.leave()
    spool.remove()
    assert _read(spool.path) == [_frame(0)]


def test_no_spool_with_w_or_spool_max_0_and_a_notice_when_none_can_be_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    source = _Source([])
    for args in (_args(write="x.pcapng"), _args(spool_max=0)):
        with spooled(source, source, args, None, []) as (frames, spool):  # type: ignore[arg-type]
            assert frames is source and spool is None
    assert list(tmp_path.iterdir()) == []

    def refuse(*_a: object, **_k: object) -> str:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("tempfile.mkdtemp", refuse)
    notices: list[object] = []
    with spooled(source, source, _args(), None, notices) as (frames, spool):  # type: ignore[arg-type]
        assert frames is source and spool is None
    assert [getattr(n, "text", "") for n in notices] == [
        "no spool (Permission denied): w saves its requests (JSONL), not the capture; use -w FILE"
    ]


def test_the_spool_limit_comes_from_spool_max_else_the_config_else_1_gib(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[live]\nspool_max = "200M"\n')
    assert spool_limit(_args(spool_max=None, config=str(config))) == 200 << 20
    assert spool_limit(_args(spool_max=5 << 20, config=str(config))) == 5 << 20
    config.write_text("[live]\nspool_max = 0\n")
    assert spool_limit(_args(spool_max=None, config=str(config))) == 0
    config.write_text("")
    assert spool_limit(_args(spool_max=None, config=str(config))) == DEFAULT_LIMIT
    for bad, said in (
        ('spool_max = "lots"', "[live] spool_max: not a size: 'lots'"),
        ("spool_max = 1000", "[live] spool_max: '1000': at least 1M (or 0 for no spool)"),
        ("spool_max = true", "[live] spool_max: a size such as"),
        ("spool = 1", "unknown key 'spool' in [live]"),
    ):
        config.write_text(f"[live]\n{bad}\n")
        with pytest.raises(UsageError, match=re.escape(f"{config}: {said}")):
            spool_limit(_args(spool_max=None, config=str(config)))


def _dead_pid() -> int:
    """The id of a process that has ended (and been reaped)."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def _spool_dir(parent: Path, name: str, mode: int = 0o700, capture: bool = True) -> Path:
    made = parent / name
    made.mkdir()
    made.chmod(mode)
    if capture:
        (made / FILE_NAME).write_bytes(b"frames")
    return made


def test_a_spool_killed_with_its_process_is_found_and_left_where_it_is(tmp_path: Path) -> None:
    # A process makes a spool, records a frame and is killed (SIGKILL: no clean-up).
    code = (
        "import os, sys\n"
        "from capture.sources.frames import Frame\n"
        "from capture.sources.spool import Spool\n"
        "spool = Spool(parent=sys.argv[1])\n"
        "class Source:\n"
        "    name = 'fake0'\n"
        "    def frames(self):\n"
        "        yield Frame(1700000000.0, 1, b'x' * 60)\n"
        "recording = spool.recording(Source())\n"
        "next(recording.frames())\n"
        "recording.sync()\n"
        "print(os.getpid(), spool.path, flush=True)\n"
        "os.kill(os.getpid(), 9)\n"
    )
    killed = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    pid, path = killed.stdout.split()
    assert os.path.basename(os.path.dirname(path)).startswith(f"headerwatch-spool-{pid}-")
    assert leftovers([str(tmp_path)]) == [path]
    assert len(_read(path)) == 1  # found, and left whole
    assert os.path.exists(path)


def test_only_private_spool_directories_of_this_user_whose_process_is_gone_are_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = _dead_pid()
    left = _spool_dir(tmp_path, f"headerwatch-spool-{dead}-abc123")
    _spool_dir(tmp_path, f"headerwatch-spool-{os.getpid()}-inuse1")  # its process lives
    _spool_dir(tmp_path, f"headerwatch-spool-{dead}-open01", mode=0o755)  # not private
    _spool_dir(tmp_path, f"headerwatch-spool-{dead}-empty1", capture=False)
    linked = _spool_dir(tmp_path, f"headerwatch-spool-{dead}-link02", capture=False)
    (linked / FILE_NAME).symlink_to(left / FILE_NAME)  # its capture a link
    (tmp_path / f"headerwatch-spool-{dead}-link01").symlink_to(left)  # a link to a spool
    (tmp_path / f"headerwatch-spool-{dead}-file01").write_bytes(b"")  # not a directory
    _spool_dir(tmp_path, "headerwatch-spool-abc12345")  # no process named: never listed
    _spool_dir(tmp_path, f"headerwatch-spool-{dead}-\x1b[2J")  # a name a terminal obeys
    _spool_dir(tmp_path, "headerwatch-spool-0-zero01")  # 0 is no process
    assert leftovers([str(tmp_path), str(tmp_path)]) == [str(left / FILE_NAME)]

    # Another user's (as they all are to any other uid): none.
    uid = os.geteuid()
    monkeypatch.setattr(os, "geteuid", lambda: uid + 1)
    assert leftovers([str(tmp_path)]) == []


def test_a_spool_is_named_after_its_process_and_not_found_while_it_lives(tmp_path: Path) -> None:
    spool = Spool(parent=str(tmp_path))
    list(spool.recording(_Source([_frame(0)])).frames())
    assert os.path.basename(spool.directory).startswith(f"headerwatch-spool-{os.getpid()}-")
    assert leftovers([str(tmp_path)]) == []
    assert leftovers([str(tmp_path / "missing")]) == []


def test_the_notice_names_three_leftovers_and_counts_the_others() -> None:
    one = leftover_notice(["/run/user/1000/headerwatch-spool-41-abcd1234/capture.pcapng"])
    assert one == (
        "a capture left by a live dashboard that was killed: "
        "/run/user/1000/headerwatch-spool-41-abcd1234/capture.pcapng (headerwatch open "
        "reads it; move it elsewhere to keep it, then rm -r its directory)"
    )
    five = leftover_notice([f"/tmp/headerwatch-spool-{i}-x/capture.pcapng" for i in range(1, 6)])
    assert five.startswith(
        "5 captures left by live dashboards that were killed: "
        "/tmp/headerwatch-spool-1-x/capture.pcapng, /tmp/headerwatch-spool-2-x/capture.pcapng, "
        "/tmp/headerwatch-spool-3-x/capture.pcapng and 2 more beside them (headerwatch open "
        "reads one;"
    )
