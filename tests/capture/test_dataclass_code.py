"""capture.dataclass_code: dataclasses' functions compiled once, and the same as
dataclasses compiles them."""

from __future__ import annotations

import dataclasses
import marshal
import subprocess
import sys
from dataclasses import dataclass, field
from importlib.util import MAGIC_NUMBER
from pathlib import Path

import pytest

import capture
from capture import dataclass_code
from capture.cache_files import _checksum, cache_path

ROOT = Path(capture.__file__).parent.parent


def test_importing_the_core_puts_the_cached_exec_in_dataclasses() -> None:
    assert dataclasses.exec is dataclass_code._exec  # type: ignore[attr-defined]


def test_every_kept_text_is_kept_as_the_code_it_compiles_to() -> None:
    # Their classes made, through the cache.
    import capture.pipeline
    import capture.scan  # noqa: F401

    ran = dict(dataclass_code._code)
    assert len(ran) > 100
    for text, code in ran.items():
        compiled = compile(text, "<string>", "exec", dont_inherit=True)
        assert code == compiled
        assert marshal.loads(dataclass_code._kept[text]) == compiled


def test_a_class_made_through_the_cache_behaves_as_dataclasses_makes_it() -> None:
    @dataclass(frozen=True, slots=True)
    class Point:
        x: int
        y: int = 2
        tags: tuple[str, ...] = field(default_factory=tuple)

    point = Point(1)
    assert (point.x, point.y, point.tags) == (1, 2, ())
    assert repr(point).endswith("<locals>.Point(x=1, y=2, tags=())")
    assert point == Point(1, 2, ()) and hash(point) == hash(Point(1, 2, ()))
    with pytest.raises(dataclasses.FrozenInstanceError):
        point.x = 3  # type: ignore[misc]
    # Compiled without this test module's `from __future__ import annotations`, as
    # dataclasses compiles it: the return annotation is the object, not a string.
    assert Point.__init__.__annotations__["return"] is None


def test_the_texts_compiled_are_kept_at_exit_and_read_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    monkeypatch.setattr(dataclass_code, "_compiled", False)

    @dataclass
    class Fresh:
        a_name_no_other_class_has: int

    path = tmp_path / "dataclass_code.marshal"
    dataclass_code.keep(path)
    read = dataclass_code.read(path)
    assert any("a_name_no_other_class_has" in text for text in read)
    assert read.keys() <= dataclass_code._kept.keys()


def test_nothing_is_written_when_nothing_was_compiled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    monkeypatch.setattr(dataclass_code, "_compiled", False)
    path = tmp_path / "dataclass_code.marshal"
    dataclass_code.keep(path)
    assert not path.exists()


def test_past_the_limit_only_the_texts_this_process_used_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    monkeypatch.setattr(dataclass_code, "_compiled", True)
    monkeypatch.setattr(dataclass_code, "MAX_KEPT", 0)
    stale = "def __create_fn__():\n def gone(self):\n  return 1\n return gone"
    code = marshal.dumps(compile(stale, "<string>", "exec"))
    monkeypatch.setitem(dataclass_code._kept, stale, code)
    path = tmp_path / "dataclass_code.marshal"
    dataclass_code.keep(path)
    read = dataclass_code.read(path)
    assert stale not in read
    assert read.keys() == dataclass_code._code.keys()


def test_a_kept_entry_that_cannot_be_read_is_compiled_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = "def __create_fn__():\n def f(self):\n  return 7\n return f"
    monkeypatch.setitem(dataclass_code._kept, text, b"\xe3not code")
    code = dataclass_code._code_of(text)
    assert code == compile(text, "<string>", "exec", dont_inherit=True)
    assert marshal.loads(dataclass_code._kept[text]) == code


@pytest.mark.parametrize(
    "content",
    [
        b"not marshal at all",
        marshal.dumps((b"\x00\x00\r\n", {"def f(): pass": compile("pass", "<s>", "exec")})),
        marshal.dumps((MAGIC_NUMBER, ["a list, not texts and code"])),
    ],
    ids=["damaged", "another interpreter's", "another shape"],
)
def test_a_cache_file_that_is_damaged_or_foreign_is_as_good_as_absent(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "dataclass_code.marshal"
    path.write_bytes(_checksum(content) + content)
    assert dataclass_code.read(path) == {}


def test_entries_that_are_not_text_and_bytes_are_passed_over(tmp_path: Path) -> None:
    path = tmp_path / "dataclass_code.marshal"
    code = marshal.dumps(compile("pass", "<string>", "exec"))
    entries = {"pass": code, "x": compile("pass", "<s>", "exec"), 3: code}
    content = marshal.dumps((MAGIC_NUMBER, entries))
    path.write_bytes(_checksum(content) + content)
    assert dataclass_code.read(path) == {"pass": code}


def test_a_new_process_reads_what_an_earlier_one_kept(tmp_path: Path) -> None:
    # The package's own cache, written by a fresh interpreter and read by the next:
    # the second compiles none of the core's classes' functions.
    probe = (
        "import capture.pipeline, capture.scan, capture.dataclass_code as d; "
        "print(int(d._compiled), len(d._code), len(d._kept) >= len(d._code))"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    first = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    second = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    path = cache_path(ROOT / "capture", "dataclass_code")
    assert path is not None and path.exists()
    compiled, ran, all_kept = second.stdout.split()
    assert compiled == "0" and int(ran) > 100 and all_kept == "True"
