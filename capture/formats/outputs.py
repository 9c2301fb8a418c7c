"""Every output format, in one table: what ``scan``, ``live``, ``reflect`` and the
dashboard's export can write.

A format either streams (one line per request, as requests complete: JSONL, the
table) or writes one document at the end (HAR, which waits for each response).
Commands offer the formats their way of working allows: ``live`` and ``reflect``
print as they go, so they offer the streaming ones; ``scan`` and the dashboard's
export offer all. Adding an output format is one entry in :data:`OUTPUTS` (see
docs/extending.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, TextIO

from capture.formats.jsonl import dumps_bytes, dumps_entry
from capture.formats.table import header_line, layout_for, record_line, table_lines
from capture.model import Record

if TYPE_CHECKING:  # the dashboard's store, and HAR, are not imported for a scan to JSONL
    from capture.formats.session import SessionInfo
    from capture.pipeline import Detector
    from capture.view.store import Entry

    Item = Entry | Record
    """What an output writes: a record, or a dashboard entry (a record with the user's
    marks and comments)."""


@dataclass(frozen=True, slots=True)
class OutputFormat:
    """One output format."""

    name: str
    """As typed after ``--format``, and the file extension of an export."""
    help: str
    """One line for ``--help``."""
    needs_responses: bool
    """Whether it shows responses: the pipeline parses server bytes only when it does."""
    line: Callable[[Item], str] | None = None
    """A streaming format: the line of one request (no newline)."""
    line_bytes: Callable[[Record], bytes] | None = None
    """A streaming format whose lines are made as UTF-8 bytes (JSONL): ``line`` of a
    record as bytes, for writers of records as bytes (``scan``), saving a decode and
    an encode a line."""
    header: str | None = None
    """A streaming format: the line before the first request, if any."""
    document: Callable[[Iterable[Item], TextIO, SessionInfo | None, list[int]], int] | None = None
    """A whole-document format: write every item, citing what judged their findings
    where it has a place for that (HAR), counting them in the list's one number as
    they are written (a stop may end the writing); return how many were written."""
    sized: Callable[[int], OutputFormat] | None = None
    """A format laid out for the terminal: the same format for one ``width`` cells wide
    (a new one each call, for one output: the table's remembers its last row's date)."""

    def at_width(self, width: int | None) -> OutputFormat:
        """This format laid out for a terminal ``width`` cells wide (None: as is)."""
        if width is None or self.sized is None:
            return self
        return self.sized(width)

    @property
    def streams(self) -> bool:
        """Written a line at a time, as requests complete."""
        return self.line is not None

    def write(
        self,
        items: Iterable[Item],
        out: TextIO,
        cited: SessionInfo | None = None,
        written: list[int] | None = None,
    ) -> int:
        """Write ``items`` as a whole file; return how many were written. ``cited``: what
        judged their findings (:meth:`~capture.formats.session.SessionInfo.judged_by`),
        written by a format with a place for it (HAR's ``log.creator``). ``written``:
        a document's count as it is written, for a stop that ends the writing."""
        if self.document is not None:
            return self.document(items, out, cited, [0] if written is None else written)
        assert self.line is not None
        if self.header is not None:
            out.write(self.header + "\n")
        count = 0
        for item in items:
            out.write(self.line(item) + "\n")
            count += 1
        return count


def _record_line(render: Callable[[Record], str]) -> Callable[[Item], str]:
    return lambda item: render(item if isinstance(item, Record) else item.record)


def cited(detector: Detector | None, redact: bool = False) -> SessionInfo | None:
    """What judged the findings ``detector`` made, for a document to cite (HAR's
    ``log.creator``): :meth:`~capture.formats.session.SessionInfo.judged_by`; None
    without a detector. ``redact``: without the canary digests
    (:func:`~capture.formats.redact.redacted_info`)."""
    if detector is None:
        return None
    # Imported here: a scan to JSONL cites nothing and must not pay for them.
    from capture.formats.session import SessionInfo

    judged = SessionInfo.judged_by(detector)
    if redact:
        from capture.formats.redact import redacted_info

        judged = redacted_info(judged)
    return judged


def _write_har(
    items: Iterable[Item], out: TextIO, cited: SessionInfo | None, written: list[int]
) -> int:
    from capture.formats.har import write_har

    return write_har(items, out, cited=cited, written=written)


def _table(width: int) -> OutputFormat:
    # A new renderer each time: one that puts date lines remembers the last date.
    layout = layout_for(width)
    return replace(
        OUTPUTS["table"],
        line=_record_line(table_lines(layout)),
        header=header_line(layout),
        sized=None,
    )


OUTPUTS: dict[str, OutputFormat] = {
    f.name: f
    for f in (
        OutputFormat(
            "jsonl",
            "one JSON object per request (the default; pipes into jq)",
            needs_responses=False,
            line=dumps_entry,
            line_bytes=dumps_bytes,
        ),
        OutputFormat(
            "table",
            "aligned columns, for people (fitted to the terminal's width; times in UTC)",
            needs_responses=False,
            line=_record_line(record_line),
            header=header_line(),
            sized=lambda width: _table(width),
        ),
        OutputFormat(
            "har",
            "one HAR 1.2 document with the responses, for HAR viewers",
            needs_responses=True,
            document=_write_har,
        ),
    )
}
"""Every output format by name; the first is the default."""

STREAMING = tuple(name for name, f in OUTPUTS.items() if f.streams)
"""The formats a command that prints as it goes can offer."""


def formats_help(names: Iterable[str]) -> str:
    """``--format`` help text: each format with its line."""
    return "; ".join(f"{name}: {OUTPUTS[name].help}" for name in names)


def streaming(name: str, width: int | None) -> tuple[Callable[[Record], str], str | None]:
    """The line renderer of streaming format ``name`` for plain records, and the
    line that goes before the first (None: none), laid out for a terminal ``width``
    cells wide (None: fixed columns, for a file or a pipe)."""
    output = OUTPUTS[name].at_width(width)
    assert output.line is not None, f"{name} does not stream"
    return output.line, output.header  # an Entry-or-Record callable takes a Record
