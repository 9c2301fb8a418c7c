"""The functions :mod:`dataclasses` writes for each class, compiled once and kept in
``capture/__pycache__`` beside the bytecode, to start faster.

For each class, Python 3.11's dataclasses writes the source of its ``__init__``,
``__repr__``, ``__eq__``, ``__hash__`` (and a frozen class's ``__setattr__`` and
``__delattr__``) and hands each to ``exec``, which parses and compiles it: a scan
makes some 30 classes, 180 to 200 such functions, 16-26 ms of every command's
start-up (at 20,000 requests, about 4% of a scan's CPU time).

The code compiled from a source text is always the same (the values a function
needs are passed in by dataclasses, never written into its text), so it is kept by
its text: :func:`install` puts :func:`_exec`, which looks the text up before it
compiles, where dataclasses calls ``exec``, and writes what was compiled anew at
exit, under :mod:`capture.cache_files`'s rules (the interpreter's cache tag and
bytecode magic, a checksum, written whole then renamed, quietly not where bytecode
is not written). Each text's code is kept as its marshal bytes, read only when a
class asks for it: the file holds the classes of every command (the dashboard's,
the tests'), and a scan reads its own. What runs is what dataclasses wrote: a text
not kept is compiled as it would have been, and a cache file that is damaged, or of
another interpreter, is as good as absent.
"""

from __future__ import annotations

import atexit
import builtins
import dataclasses
import marshal
from importlib.util import MAGIC_NUMBER
from pathlib import Path
from types import CodeType
from typing import Any

from capture.cache_files import cache_path, read_keyed, write_cache

# At most this many texts in the file (about 1 KB each): each process adds the
# classes it made, and upgrades of headerwatch or of a library leave texts no class
# makes any more; past this, a process keeps only its own.
MAX_KEPT = 1_000

_kept: dict[str, bytes] = {}
"""Each text's code, as marshal bytes: read from the file, or compiled here."""
_code: dict[str, CodeType] = {}
"""The texts this process has run, and their code."""
_compiled = False


def _exec(source: Any, globals: Any = None, locals: Any = None, /) -> None:
    """``exec(source, globals, locals)``, a source text compiled once: as dataclasses'
    own ``exec`` would (no ``__future__`` flags of this module's: dataclasses has none)."""
    if isinstance(source, str):
        code = _code.get(source)
        if code is None:
            code = _code[source] = _code_of(source)
        source = code
    builtins.exec(source, globals, locals)


def _code_of(text: str) -> CodeType:
    """The code of ``text``: kept, else compiled (and kept at exit)."""
    global _compiled
    kept = _kept.get(text)
    if kept is not None:
        try:
            code = marshal.loads(kept)
        except Exception:  # any: an entry that cannot be read is compiled again
            code = None
        if isinstance(code, CodeType):
            return code
    code = compile(text, "<string>", "exec", dont_inherit=True)
    _kept[text] = marshal.dumps(code)
    _compiled = True
    return code


def install(directory: Path | None = None) -> None:
    """Have dataclasses compile each function's text once: from now on in this
    process, its ``exec`` is :func:`_exec`, fed from (and, at exit, kept in)
    ``directory/__pycache__`` (the ``capture`` package's by default)."""
    if getattr(dataclasses, "exec", None) is _exec:
        return
    path = cache_path(directory or Path(__file__).parent, "dataclass_code")
    if path is not None:
        _kept.update(read(path))
        atexit.register(keep, path)
    # A global of the module shadows the builtin: dataclasses' calls of exec() find it.
    dataclasses.exec = _exec  # type: ignore[attr-defined]


def read(path: Path) -> dict[str, bytes]:
    """The texts and their code's marshal bytes kept in ``path`` by :func:`keep` (none
    where it is absent, damaged, or of another interpreter's bytecode)."""
    kept = read_keyed(path, MAGIC_NUMBER, dict)
    if kept is None:
        return {}
    return {
        text: code for text, code in kept.items() if isinstance(text, str) and type(code) is bytes
    }


def keep(path: Path) -> None:
    """Write the texts compiled in this process to ``path`` with those it read (only
    its own past :data:`MAX_KEPT`), when any was compiled here."""
    if not _compiled:
        return
    kept = _kept if len(_kept) <= MAX_KEPT else {text: _kept[text] for text in _code}
    write_cache(path, (MAGIC_NUMBER, kept))
