"""The TOML tables bundled with the package (``catalog.toml``, ``mcc.toml``), parsed.

Parsing the catalog with :mod:`tomllib` (and importing it) was about 6% of the
start-up of a scan, and every process of a split scan that met an IMSI-shaped value
parsed ``mcc.toml`` again. So a parsed table is kept in the ``__pycache__``
directory beside its file (:mod:`capture.cache_files`), together with the exact
text it was parsed from: it is used only when the file's text is still that text,
so an edited file is always parsed afresh and no stale table can change a result.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from capture.cache_files import cache_path as _cache_path
from capture.cache_files import read_keyed, write_cache

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
        kept: dict[str, Any] | None = read_keyed(cache, text, dict)
        if kept is not None:
            return kept
    import tomllib  # only when there is no usable cache: its import is not free

    table = tomllib.loads(text)
    if cache is not None:
        write_cache(cache, (text, table))
    return table


def cache_path(source: Traversable) -> Path | None:
    """Where the parsed table of ``source`` is kept (None: a file in a zip or a wheel,
    or an interpreter without a cache tag)."""
    if not isinstance(source, Path):
        return None
    return _cache_path(source.parent, source.name)
