"""The TOML tables bundled with the package (``catalog.toml``, ``mcc.toml``), parsed.

Parsing the catalog with :mod:`tomllib` (and importing it) was about 6% of the
start-up of a scan, and every process of a split scan that met an IMSI-shaped value
parsed ``mcc.toml`` again. So a parsed table is kept, as :mod:`marshal` data,
in the ``__pycache__`` directory beside its file, together with the exact text it
was parsed from: it is used only when the file's text is still that text, so an
edited file is always parsed afresh and no stale table can change a result. Like
bytecode, it is written on first use where the directory is writable (not under
``PYTHONDONTWRITEBYTECODE``), and its name carries the interpreter's cache tag,
as :mod:`marshal`'s format is only stable within one Python version.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable


def bundled_toml(package: str, name: str) -> dict[str, Any]:
    """The TOML file ``name`` of ``package`` (imported), parsed (see the module's
    docstring)."""
    # The file beside the package's __init__, as importlib.resources would find it,
    # without importing that (it brings tempfile, shutil, bz2, lzma and zipfile).
    origin = getattr(sys.modules[package], "__file__", None)
    if origin is not None:
        source = Path(origin).parent / name
        if source.is_file():
            return read_toml(source)
    from importlib import resources  # a package in a zip or a wheel

    return read_toml(resources.files(package).joinpath(name))


def read_toml(source: Traversable) -> dict[str, Any]:
    """The TOML file ``source``, parsed as :func:`tomllib.loads` does; from its cache
    when that was made from the same text."""
    text = source.read_text(encoding="utf-8")
    cache = cache_path(source)
    if cache is not None:
        table = _cached(cache, text)
        if table is not None:
            return table
    import tomllib  # only when there is no usable cache: its import is not free

    table = tomllib.loads(text)
    if cache is not None and not sys.dont_write_bytecode:
        _store(cache, text, table)
    return table


def cache_path(source: Traversable) -> Path | None:
    """Where the parsed table of ``source`` is kept (None: a file in a zip or a wheel,
    or an interpreter without a cache tag)."""
    tag = sys.implementation.cache_tag
    if not isinstance(source, Path) or tag is None:
        return None
    return source.parent / "__pycache__" / f"{source.name}.{tag}.marshal"


def _cached(cache: Path, text: str) -> dict[str, Any] | None:
    """The table kept in ``cache`` if it was parsed from ``text``."""
    try:
        data = cache.read_bytes()
    except OSError:
        return None
    try:
        kept = marshal.loads(data)
    except (ValueError, EOFError, TypeError):  # damaged: parsed again and rewritten
        return None
    if isinstance(kept, tuple) and len(kept) == 2 and kept[0] == text and isinstance(kept[1], dict):
        table: dict[str, Any] = kept[1]
        return table
    return None


def _store(cache: Path, text: str, table: dict[str, Any]) -> None:
    """Keep ``table`` (parsed from ``text``) in ``cache``; quietly not, where it cannot
    be (a read-only install, or values marshal cannot hold such as dates)."""
    try:
        data = marshal.dumps((text, table))
    except ValueError:
        return
    # Written whole then renamed: a process reading it meanwhile sees the old or the new.
    partial = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
    try:
        cache.parent.mkdir(exist_ok=True)
        partial.write_bytes(data)
        os.replace(partial, cache)
    except OSError:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
