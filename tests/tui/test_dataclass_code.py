"""The dataclass methods the command line compiles once: the same classes, never stale."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui.dataclass_code import CodeCache, install, uninstall


@pytest.fixture
def writes_caches(monkeypatch: pytest.MonkeyPatch) -> None:
    """As a user runs the command: caches written (some sandboxes say not to)."""
    monkeypatch.setattr(sys, "dont_write_bytecode", False)


@pytest.fixture
def installed() -> Iterator[None]:
    yield
    uninstall()


def _point(cache: CodeCache) -> type:
    install(cache)
    try:

        @dataclasses.dataclass(frozen=True, order=True)
        class Point:
            x: int
            y: int = 2

        return Point
    finally:
        uninstall()


def test_a_dataclass_made_through_the_cache_behaves_as_one_made_without(
    tmp_path: Path, writes_caches: None, installed: None
) -> None:
    path = tmp_path / "code.marshal"
    first = CodeCache(path)
    made = _point(first)
    assert first.compiled > 0
    first.save()
    again = CodeCache(path)
    remade = _point(again)
    assert again.compiled == 0  # every method's code came from the file
    for point in (made, remade):
        assert repr(point(1)).endswith(".<locals>.Point(x=1, y=2)")
        assert point(1) == point(1, 2) and point(1) < point(2)
        assert hash(point(1)) == hash(point(1, 2))
        with pytest.raises(dataclasses.FrozenInstanceError):
            point(1).x = 3  # type: ignore[attr-defined]


def test_a_text_not_in_the_cache_is_compiled_not_matched_to_a_neighbour(
    tmp_path: Path, writes_caches: None
) -> None:
    path = tmp_path / "code.marshal"
    cache = CodeCache(path)
    namespace: dict[str, object] = {}
    cache.exec("def f():\n return 1\n", {}, namespace)
    cache.save()
    cache = CodeCache(path)
    cache.exec("def f():\n return 2\n", {}, namespace)
    assert cache.compiled == 1
    assert namespace["f"]() == 2  # type: ignore[operator]


@pytest.mark.parametrize("damage", [b"", b"\x00garbage", b"\xe9" * 40])
def test_a_damaged_cache_is_ignored(tmp_path: Path, writes_caches: None, damage: bytes) -> None:
    path = tmp_path / "code.marshal"
    path.write_bytes(damage)
    cache = CodeCache(path)
    assert cache.known == {}
    namespace: dict[str, object] = {}
    cache.exec("x = 3\n", {}, namespace)
    assert namespace["x"] == 3
    cache.save()
    assert CodeCache(path).known.keys() == {"x = 3\n"}


def test_nothing_is_written_when_bytecode_is_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    path = tmp_path / "code.marshal"
    cache = CodeCache(path)
    cache.exec("x = 3\n", {}, {})
    cache.save()
    assert not path.exists()


def test_generated_code_does_not_take_the_future_flags_of_this_module(
    tmp_path: Path, writes_caches: None
) -> None:
    # This file has `from __future__ import annotations`; dataclasses has none, and
    # exec there compiles annotations as values. The cache must compile as it does.
    cache = CodeCache(tmp_path / "code.marshal")
    namespace: dict[str, object] = {}
    cache.exec("def f(a: int) -> int:\n return a\n", {}, namespace)
    assert namespace["f"].__annotations__ == {"a": int, "return": int}  # type: ignore[attr-defined]


def test_the_command_line_gives_dataclasses_its_exec_back(tmp_path: Path) -> None:
    script = (
        "import dataclasses, sys; from tui.cli import main; main(['rules']); "
        "sys.exit('exec' in vars(dataclasses))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
