"""Every writer of files says why it could not write in one true line, the same way
(:func:`capture.formats.pcapng.describe_os_error`), whatever the odd target."""

from __future__ import annotations

import errno
from collections.abc import Callable
from pathlib import Path

import pytest

from capture.formats.export import ExportError, export
from capture.formats.pcapng import CaptureWriteError, PcapngWriter, describe_os_error
from capture.formats.record_session import RecordRecording, save_record_session
from capture.formats.session import SessionError, SessionInfo, save_session
from capture.report.write import ReportError, write_report
from capture.sources.frames import CaptureFile
from capture.view.store import Entry
from tests.capture.factories import record
from tests.capture.formats.test_session import _capture, _load

WRITERS: dict[str, Callable[[str, Path], object]] = {
    "export": lambda path, _: export([Entry(record(1))], path, "jsonl"),
    "record session": lambda path, _: save_record_session(path, [Entry(record(1))]),
    "pcapng session": lambda path, tmp: save_session(path, [src := _capture(tmp)], _load([src])),
    "live --from -w": lambda path, _: RecordRecording(path, SessionInfo.new()),
    "live -w": lambda path, _: PcapngWriter(path),
    "report": lambda path, _: write_report("<p>report</p>", path),
}
"""Each writer of a file the user names, given the path (and a scratch directory)."""

ERRORS = (ExportError, SessionError, CaptureWriteError, ReportError)
"""The one-line errors of the writers."""

TAILS = {
    "export": "; nothing exported",
    "record session": "; session not saved",
    "pcapng session": "; session not saved",
    "report": "; no report written",
}
"""What each writer adds after the reason (what was not done)."""


def _targets(tmp: Path) -> list[tuple[str, str]]:
    """Odd places for a file, and the reason each must give."""
    (tmp / "a-file").write_text("not a directory\n")
    real = tmp.resolve()
    return [
        # /proc is there but takes no new file: it was "no such directory".
        ("/proc/headerwatch-x.jsonl", "cannot create files in /proc (no such file or directory)"),
        (str(tmp / "a-file" / "x.jsonl"), f"{real / 'a-file'} is not a directory"),
        (str(tmp / "a-file" / "deeper" / "x.jsonl"), f"{real / 'a-file'} is not a directory"),
        (str(tmp / "missing" / "deeper" / "x.jsonl"), f"no such directory {real / 'missing'}"),
        (str(tmp), "is a directory"),
    ]


@pytest.mark.parametrize("writer", WRITERS)
def test_every_writer_says_what_is_wrong_with_an_odd_target_in_one_line(
    writer: str, tmp_path: Path
) -> None:
    scratch, out = tmp_path / "scratch", tmp_path / "out"
    scratch.mkdir()
    out.mkdir()
    for target, reason in _targets(out):
        with pytest.raises(ERRORS) as info:
            WRITERS[writer](target, scratch)
        assert str(info.value) == f"{target}: {reason}{TAILS.get(writer, '')}"
    assert [p.name for p in out.iterdir()] == ["a-file"]  # nothing half-written left


def test_a_session_saved_elsewhere_after_a_refusal_holds_everything(tmp_path: Path) -> None:
    source = _capture(tmp_path)
    store = _load([source])
    with pytest.raises(SessionError, match="cannot create files in /proc"):
        save_session("/proc/s.pcapng", [source], store)
    out = tmp_path / "s.pcapng"
    save_session(str(out), [source], store)
    assert len(list(CaptureFile(str(out)))) == len(list(CaptureFile(source)))
    assert len(store) == len(_load([str(out)]))


def test_an_error_without_a_path_is_said_by_its_number_else_in_the_os_words() -> None:
    said = {
        code: describe_os_error(OSError(code, "ignored"))
        for code in (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EROFS, errno.ENOENT)
    }
    assert said == {
        errno.ENOSPC: "disk full",
        errno.EDQUOT: "disk quota exceeded",
        errno.EACCES: "permission denied",
        errno.EROFS: "read-only file system",
        errno.ENOENT: "no such file or directory",  # a read: "directory" would be a guess
    }
    assert describe_os_error(OSError(errno.ENAMETOOLONG, "File name too long")) == (
        "file name too long"
    )
