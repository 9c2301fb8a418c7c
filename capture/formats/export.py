"""Exporting entries to a file (the dashboard's ``x``), in any output format, all or nothing.

The file is written next to its destination and renamed over it when complete
(:mod:`capture.formats.atomic`), created private (:mod:`capture.formats.private`):
a full disk or a refused directory leaves no partial export behind, and the
failure is one line (:class:`ExportError`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from typing import TYPE_CHECKING

from capture.formats.atomic import atomic_output
from capture.formats.outputs import OUTPUTS, cited
from capture.formats.pcapng import describe_os_error
from capture.formats.private import open_private
from capture.formats.redact import Redactor
from capture.model import Record
from capture.view.store import Entry

if TYPE_CHECKING:
    from capture.formats.outputs import Item
    from capture.pipeline import Detector


class ExportError(Exception):
    """An export failed; ``str()`` is one line for the user."""


def _redacted(items: Iterable[Item], redactor: Redactor) -> Iterator[Item]:
    """``items`` masked by ``redactor``, each with every value found in any of them:
    all are learnt first (a second pass over the entries the dashboard holds)."""
    items = items if isinstance(items, Collection) else list(items)
    for item in items:
        redactor.learn(item if isinstance(item, Record) else item.record)
    for item in items:
        if isinstance(item, Record):
            yield redactor.record(item)
        else:
            comment = redactor.comment(item.record, item.comment)
            yield Entry(redactor.record(item.record), item.marked, comment)


def export(
    items: Iterable[Item],
    path: str,
    fmt: str,
    redact: bool = False,
    detector: Detector | None = None,
) -> int:
    """Write ``items`` to ``path`` in output format ``fmt`` (a name of
    :data:`~capture.formats.outputs.OUTPUTS`); return how many were written.
    ``detector``: the one that found what ``items`` hold; a HAR cites it
    (:func:`~capture.formats.outputs.cited`). ``redact``: identity values masked
    (:mod:`capture.formats.redact`), with the tokens ``detector`` counts as it
    looks for recurring ones (:meth:`~capture.formats.redact.Redactor.new`), and no
    canary digests cited.

    Raises :class:`ExportError` (one line) on any failure; ``path`` is then
    left as it was.
    """
    output = OUTPUTS.get(fmt)
    if output is None:
        raise ExportError(f"unknown export format {fmt!r} (one of: {', '.join(OUTPUTS)})")
    judged = cited(detector, redact) if output.document is not None else None
    if redact:
        items = _redacted(items, Redactor.new(detector))
    try:
        with (
            atomic_output(path) as temp,
            open_private(temp, "x", encoding="utf-8", newline="\n") as out,
        ):
            return output.write(items, out, judged)
    except OSError as exc:
        reason = describe_os_error(exc)
        raise ExportError(f"{path}: {reason}; nothing exported") from None
    except (ValueError, OverflowError) as exc:
        # A value no format can hold (an encoding error is a ValueError too): the
        # user must hear of it, not find an empty directory.
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ExportError(f"{path}: cannot export: {first}; nothing exported") from None
