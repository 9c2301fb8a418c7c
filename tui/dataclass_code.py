"""The methods :mod:`dataclasses` writes, compiled once and kept between runs.

Every ``@dataclass`` writes its ``__init__``, ``__repr__``, ``__eq__``, ``__hash__``
and the rest as Python source and runs it with ``exec``: for the 40-odd dataclasses
a scan imports, parsing and compiling that source was about a sixth of the
command's start-up (some 100 M instructions), every run, for the same text. The
command line (:mod:`tui.cli`) therefore gives the :mod:`dataclasses` module an
``exec`` of its own that compiles a text the first time it sees it and keeps the
code, keyed by the whole text, in ``tui/__pycache__`` (:mod:`capture.cache_files`):
a text that differs in any character is compiled afresh, so what runs is always
what the text says. The code is compiled exactly as the built-in ``exec`` compiles
a string in :mod:`dataclasses` (file ``<string>``, no ``__future__`` flags
inherited), and the cache is used only by the interpreter (bytecode magic number)
and optimisation level that wrote it.
"""

from __future__ import annotations

import dataclasses
import sys
from importlib.util import MAGIC_NUMBER
from pathlib import Path
from types import CodeType
from typing import Any

from capture.cache_files import cache_path, read_cache, write_cache

MAX_KEPT = 2048
"""Texts kept at most: past this (code edited many times over), only the current
run's are kept."""


class CodeCache:
    """Compiled code by source text, read from and written to ``path``."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.known: dict[str, CodeType] = _read(path) if path is not None else {}
        self.used: dict[str, CodeType] = {}
        self.compiled = 0

    def exec(
        self,
        source: str,
        globals: dict[str, Any] | None = None,
        locals: dict[str, Any] | None = None,
    ) -> None:
        """``exec(source, globals, locals)``, with ``source`` compiled only if unseen."""
        code = self.known.get(source)
        if code is None:
            # As builtins.exec compiles a string in a module without __future__ imports.
            code = compile(source, "<string>", "exec", dont_inherit=True)
            self.known[source] = code
            self.compiled += 1
        self.used[source] = code
        exec(code, globals, locals)

    def save(self) -> None:
        """Write the cache if this run compiled anything (and bytecode is written)."""
        if self.path is None or not self.compiled:
            return
        kept = self.known if len(self.known) <= MAX_KEPT else self.used
        write_cache(self.path, (MAGIC_NUMBER, sys.flags.optimize, kept))
        self.compiled = 0


def _read(path: Path) -> dict[str, CodeType]:
    """The code kept at ``path`` (empty when absent, damaged, or from another
    interpreter or optimisation level)."""
    kept = read_cache(path)
    if (
        isinstance(kept, tuple)
        and len(kept) == 3
        and kept[0] == MAGIC_NUMBER
        and kept[1] == sys.flags.optimize
        and isinstance(kept[2], dict)
        and all(isinstance(k, str) and isinstance(v, CodeType) for k, v in kept[2].items())
    ):
        return kept[2]
    return {}


def default_path(command: str | None) -> Path | None:
    """Where the command line keeps the cache of ``command`` (None: the full parser's):
    one a command, so that a scan does not read the dashboard's. None when there is
    no cache tag to name it by."""
    return cache_path(Path(__file__).parent, f"dataclass-code-{command or 'all'}")


def install(cache: CodeCache) -> None:
    """Make :mod:`dataclasses` run its generated source through ``cache``: a name in
    the module's globals is found before the built-in ``exec``."""
    dataclasses.exec = cache.exec  # type: ignore[attr-defined]


def uninstall() -> None:
    """Give :mod:`dataclasses` back the built-in ``exec``."""
    vars(dataclasses).pop("exec", None)
