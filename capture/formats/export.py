"""Exporting entries to a file (the dashboard's ``x``), in any output format, all or nothing.

The file is written next to its destination and renamed over it when complete
(:mod:`capture.formats.atomic`): a full disk or a refused directory leaves no partial
export behind, and the failure is one line (:class:`ExportError`).
"""

from __future__ import annotations

from collections.abc import Iterable

from capture.formats.atomic import atomic_output
from capture.formats.outputs import OUTPUTS, Item
from capture.formats.pcapng import describe_errno


class ExportError(Exception):
    """An export failed; ``str()`` is one line for the user."""


def export(items: Iterable[Item], path: str, fmt: str) -> int:
    """Write ``items`` to ``path`` in output format ``fmt`` (a name of
    :data:`~capture.formats.outputs.OUTPUTS`); return how many were written.

    Raises :class:`ExportError` (one line) on any failure; ``path`` is then
    left as it was.
    """
    output = OUTPUTS.get(fmt)
    if output is None:
        raise ExportError(f"unknown export format {fmt!r} (one of: {', '.join(OUTPUTS)})")
    try:
        with atomic_output(path) as temp, open(temp, "x", encoding="utf-8", newline="\n") as out:
            return output.write(items, out)
    except OSError as exc:
        reason = describe_errno(exc.errno, (exc.strerror or str(exc)).lower())
        raise ExportError(f"{path}: {reason}; nothing exported") from None
