"""Exporting entries to a file (the dashboard's ``x``): JSONL or HAR, all or nothing.

The file is written next to its destination and renamed over it when complete
(:mod:`capture.formats.atomic`): a full disk or a refused directory leaves no partial
export behind, and the failure is one line (:class:`ExportError`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from capture.formats.atomic import atomic_output
from capture.formats.har import write_har
from capture.formats.jsonl import record_to_dict
from capture.formats.pcapng import describe_errno
from capture.formats.private import open_private
from capture.formats.redact import Redactor
from capture.model import Record
from capture.text import escape_json, for_json
from capture.view.store import Entry

FORMATS = ("jsonl", "har")


class ExportError(Exception):
    """An export failed; ``str()`` is one line for the user."""


def _redacted(items: Iterable[Entry | Record], redactor: Redactor) -> Iterator[Entry | Record]:
    for item in items:
        if isinstance(item, Record):
            yield redactor.record(item)
        else:
            yield Entry(redactor.record(item.record), item.marked, item.comment, item.injected)


def entry_to_dict(item: Entry | Record) -> dict[str, Any]:
    """The JSONL object of a record, plus ``marked``/``comment``/``injected`` of an entry."""
    if isinstance(item, Record):
        return record_to_dict(item)
    out = record_to_dict(item.record)
    if item.marked:
        out["marked"] = True
    # Comments are typed by the user, injected names may come from the wire: both
    # can hold undecodable bytes, which no JSON writer takes raw.
    if item.comment:
        out["comment"] = for_json(item.comment)
    if item.injected:
        out["injected"] = [for_json(name) for name in item.injected]
    return out


def export(items: Iterable[Entry | Record], path: str, fmt: str, redact: bool = False) -> int:
    """Write ``items`` to ``path`` as ``jsonl`` or ``har``; return how many were written.

    With ``redact``, identity values are masked (:mod:`capture.formats.redact`),
    with a key of this file's own. Raises :class:`ExportError` (one line) on any
    failure; ``path`` is then left as it was.
    """
    if redact:
        items = _redacted(items, Redactor.new())
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r} (one of: {', '.join(FORMATS)})")
    try:
        with (
            atomic_output(path) as temp,
            open_private(temp, "x", encoding="utf-8", newline="\n") as out,
        ):
            if fmt == "har":
                count = write_har(items, out)
            else:
                count = 0
                for item in items:
                    out.write(
                        escape_json(
                            json.dumps(
                                entry_to_dict(item), ensure_ascii=False, separators=(", ", ": ")
                            )
                        )
                    )
                    out.write("\n")
                    count += 1
    except OSError as exc:
        reason = describe_errno(exc.errno, (exc.strerror or str(exc)).lower())
        raise ExportError(f"{path}: {reason}; nothing exported") from None
    except (ValueError, OverflowError) as exc:
        # A value no format can hold (an encoding error is a ValueError too): the
        # user must hear of it, not find an empty directory.
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ExportError(f"{path}: cannot export: {first}; nothing exported") from None
    return count
