"""Data kept in a package's ``__pycache__`` beside its bytecode, to start faster.

What the bundled TOML tables parse to (:mod:`capture.identity.bundled`) is kept as
:mod:`marshal` data, under the rules bytecode follows: named with the interpreter's cache tag
(marshal's format is only stable within one Python version), written on first use
where the directory is writable and not under ``PYTHONDONTWRITEBYTECODE``, written
whole then renamed (a process reading meanwhile sees the old file or the new).
The reader checks that what it reads is what it would have made: a file that
fails the check, or that is damaged, is as good as absent. Each file begins with a
CRC-32 of its marshal data: a damaged file that marshal would still load (a changed
constant in kept code, a changed table) fails it, and marshal raises ``SystemError``
on some damage it does not take for an error of its input.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import sys
import zlib
from pathlib import Path
from typing import Any


def cache_path(directory: Path, name: str) -> Path | None:
    """``directory/__pycache__/NAME.TAG.marshal`` (None: no cache tag to name it by)."""
    tag = sys.implementation.cache_tag
    if tag is None:
        return None
    return directory / "__pycache__" / f"{name}.{tag}.marshal"


def read_cache(path: Path) -> Any:
    """What ``path`` holds (None when absent, unreadable or damaged)."""
    try:
        kept = path.read_bytes()
    except OSError:
        return None
    data = kept[_CHECK:]
    if len(kept) < _CHECK or kept[:_CHECK] != _checksum(data):
        return None
    try:
        return marshal.loads(data)  # the caller checks what it is
    except Exception:  # any: a damaged file is as good as absent (SystemError too)
        return None


_CHECK = 4
"""Bytes of the checksum before a file's marshal data."""


def _checksum(data: bytes) -> bytes:
    return zlib.crc32(data).to_bytes(_CHECK, "little")


def read_keyed(path: Path, key: object, kind: type) -> Any:
    """The value of kind ``kind`` kept in ``path`` with :func:`write_cache` as ``(key,
    value)``; None when the file is absent or damaged, or was made from another key
    (the source's text, or its size and time): then the source is read afresh."""
    kept = read_cache(path)
    if isinstance(kept, tuple) and len(kept) == 2 and kept[0] == key and isinstance(kept[1], kind):
        return kept[1]
    return None


def write_cache(path: Path, value: Any) -> None:
    """Keep ``value`` in ``path``; quietly not where bytecode is not written, where the
    directory is read-only, or for values marshal cannot hold (such as dates)."""
    if sys.dont_write_bytecode:
        return
    try:
        data = marshal.dumps(value)
    except ValueError:
        return
    data = _checksum(data) + data
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(exist_ok=True)
        partial.write_bytes(data)
        os.replace(partial, path)
    except OSError:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
