"""Bundled TOML tables: parsed once, kept beside their file, never used stale."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

from capture.identity.bundled import bundled_toml, cache_path, read_toml

TABLE = '[[header]]\nname = "x-msisdn"\n\n[mcc]\n234 = "GB"\n'


@pytest.fixture
def writes_caches(monkeypatch: pytest.MonkeyPatch) -> None:
    """As a user runs the command: caches written (some sandboxes say not to)."""
    monkeypatch.setattr(sys, "dont_write_bytecode", False)


def _table_file(tmp_path: Path, text: str = TABLE) -> Path:
    path = tmp_path / "table.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_table_is_what_tomllib_reads_before_and_after_it_is_cached(
    tmp_path: Path, writes_caches: None
) -> None:
    path = _table_file(tmp_path)
    first = read_toml(path)
    cache = cache_path(path)
    assert cache is not None and cache.exists()
    assert first == read_toml(path) == tomllib.loads(TABLE)


def test_an_edited_table_is_parsed_again_not_taken_from_its_cache(
    tmp_path: Path, writes_caches: None
) -> None:
    path = _table_file(tmp_path)
    read_toml(path)
    edited = TABLE.replace('"GB"', '"FR"')
    path.write_text(edited, encoding="utf-8")
    assert read_toml(path) == tomllib.loads(edited)
    assert read_toml(path)["mcc"]["234"] == "FR"


@pytest.mark.parametrize("damage", [b"", b"\x00garbage", b"\xe9" * 40])
def test_a_damaged_cache_is_parsed_again_and_rewritten(
    tmp_path: Path, writes_caches: None, damage: bytes
) -> None:
    path = _table_file(tmp_path)
    read_toml(path)
    cache = cache_path(path)
    assert cache is not None
    cache.write_bytes(damage)
    assert read_toml(path) == tomllib.loads(TABLE)
    assert cache.read_bytes() != damage


def test_no_cache_is_written_when_bytecode_is_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    path = _table_file(tmp_path)
    assert read_toml(path) == tomllib.loads(TABLE)
    cache = cache_path(path)
    assert cache is not None and not cache.exists()


def test_a_table_marshal_cannot_hold_is_read_without_a_cache(
    tmp_path: Path, writes_caches: None
) -> None:
    text = "when = 1979-05-27\n"
    path = _table_file(tmp_path, text)
    assert read_toml(path) == read_toml(path) == tomllib.loads(text)
    cache = cache_path(path)
    assert cache is not None and not cache.exists()


@pytest.mark.parametrize("name", ["catalog.toml", "mcc.toml"])
def test_the_bundled_tables_are_their_files_parsed(name: str) -> None:
    source = Path(__file__).parents[3] / "capture" / "identity" / name
    assert bundled_toml("capture.identity", name) == tomllib.loads(source.read_text("utf-8"))
