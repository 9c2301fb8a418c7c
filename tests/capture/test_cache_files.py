"""capture.cache_files: data kept beside the bytecode, and a damaged file as good as
absent."""

from __future__ import annotations

import marshal
import random
import sys
from pathlib import Path

import pytest

from capture.cache_files import _checksum, read_cache, read_keyed, write_cache

VALUE = ("key", {"text": compile("x = 1", "<string>", "exec"), "n": (1, 2, 3)})


@pytest.fixture
def kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    path = tmp_path / "x.marshal"
    write_cache(path, VALUE)
    return path


def test_what_is_written_is_read_back(kept: Path) -> None:
    assert read_cache(kept) == VALUE
    assert read_keyed(kept, "key", dict) == VALUE[1]
    assert read_keyed(kept, "another key", dict) is None


def test_every_single_byte_changed_is_caught(kept: Path) -> None:
    # marshal loads some damage without a word (a constant of kept code changed) and
    # raises SystemError on other (a command died on it, at every start-up).
    data = kept.read_bytes()
    for at in range(len(data)):
        damaged = bytearray(data)
        damaged[at] ^= 0x5A
        kept.write_bytes(damaged)
        assert read_cache(kept) is None, at


def test_damage_marshal_raises_systemerror_on_is_as_good_as_absent(kept: Path) -> None:
    # Eight bytes of a code object changed (as an outside check found in a real
    # cache): marshal says "bad argument to internal function", no ValueError. Here
    # with its checksum made to match, so that the load itself is what is tested.
    data = marshal.dumps(VALUE)
    rng = random.Random(1)
    for _ in range(1000):  # ~1 in 12 raises SystemError
        damaged = bytearray(data)
        at = rng.randrange(len(data) - 8)
        damaged[at : at + 8] = rng.randbytes(8)
        try:
            marshal.loads(bytes(damaged))
        except SystemError:
            break
        except (ValueError, EOFError, TypeError):
            pass
    else:
        pytest.fail("no damage that marshal raises SystemError on")
    kept.write_bytes(_checksum(bytes(damaged)) + damaged)
    assert read_cache(kept) is None


@pytest.mark.parametrize("content", [b"", b"abc", b"\x00\x00\x00\x00"])
def test_a_file_too_short_to_hold_its_checksum_is_as_good_as_absent(
    kept: Path, content: bytes
) -> None:
    kept.write_bytes(content)
    assert read_cache(kept) is None


def test_nothing_is_written_where_bytecode_is_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    write_cache(tmp_path / "x.marshal", VALUE)
    assert not (tmp_path / "x.marshal").exists()
