"""Exports: JSONL or HAR, written whole or not at all, failures in one line."""

from __future__ import annotations

import dataclasses
import errno
import json
from pathlib import Path
from typing import Any

import pytest

from capture.formats import outputs
from capture.formats.export import ExportError, export
from capture.formats.jsonl import dumps_entry, record_to_dict
from capture.view.store import Entry
from tests.capture.factories import finding, record


def _entries() -> list[Entry]:
    first = Entry(record(1, (finding(),)), marked=True, comment="note")
    return [first, Entry(record(2, uri="/two"))]


def test_jsonl_has_the_contract_plus_user_state(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    assert export(_entries(), str(path), "jsonl") == 2
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0] == {
        **record_to_dict(record(1, (finding(),))),
        "marked": True,
        "comment": "note",
    }
    assert lines[1] == record_to_dict(record(2, uri="/two"))
    assert json.loads(dumps_entry(record(3))) == record_to_dict(record(3))


def test_har_file(tmp_path: Path) -> None:
    path = tmp_path / "out.har"
    assert export(_entries(), str(path), "har") == 2
    assert [e["_id"] for e in json.loads(path.read_text())["log"]["entries"]] == [1, 2]


def test_unknown_format_and_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="unknown export format 'xml'"):
        export([], str(tmp_path / "x"), "xml")
    with pytest.raises(ExportError, match=r"no such directory .*nope; nothing exported") as info:
        export(_entries(), str(tmp_path / "nope" / "out.har"), "har")
    assert "\n" not in str(info.value)


def test_a_directory_is_refused_as_one_before_anything_is_written(tmp_path: Path) -> None:
    for target in (str(tmp_path), f"{tmp_path}/"):
        with pytest.raises(ExportError, match="is a directory; nothing exported"):
            export(_entries(), target, "jsonl")
    assert list(tmp_path.iterdir()) == []
    assert [p.name for p in tmp_path.parent.iterdir() if p.name.endswith(".part")] == []


def test_full_disk_leaves_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "out.har"
    path.write_text("previous export")

    def half_written(items: Any, out: Any, cited: Any, written: Any) -> int:
        out.write('{"log": {"entries": [')
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setitem(
        outputs.OUTPUTS, "har", dataclasses.replace(outputs.OUTPUTS["har"], document=half_written)
    )
    with pytest.raises(ExportError, match=r"out\.har: disk full; nothing exported"):
        export(_entries(), str(path), "har")
    assert path.read_text() == "previous export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.har"]  # no temp file left


def test_permission_denied_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Root writes everywhere, so the refusal is simulated at the rename."""

    def refuse(src: str, dst: str) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", dst)

    monkeypatch.setattr("capture.formats.atomic.os.replace", refuse)
    with pytest.raises(ExportError, match="permission denied; nothing exported"):
        export(_entries(), str(tmp_path / "out.jsonl"), "jsonl")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", list(outputs.OUTPUTS))
def test_every_output_format_can_be_exported(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"out.{fmt}"
    assert export(_entries(), str(path), fmt) == 2
    assert "/two" in path.read_text()
