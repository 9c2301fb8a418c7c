"""``--format table``: an aligned, streaming table for people.

Every row says when (UTC), which client, which host and which identities, at any
width: laid out for a terminal, long cells are cut with a visible ``…`` and the
IDENTITIES cell is shortened so that each identity's kind stays; no column is
dropped and no row is longer than the terminal (from 75 columns). A file or a pipe
gets the fixed layout, whatever the terminal: whole timestamps, and CLIENT, HOST
and IDENTITIES never cut.

Every value passes through :func:`capture.text.printable`, so a header value
holding terminal escapes is shown escaped, never obeyed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from capture.http.urls import endpoint
from capture.model import Finding, Record
from capture.target import shown_path
from capture.text import clock_ts, counted, printable


@dataclass(frozen=True, slots=True)
class Layout:
    """The cells each column gets, and the spaces between columns (:func:`layout_for`)."""

    time: int = 24
    client: int = 22
    method: int = 7
    host: int = 28
    path: int = 40
    gap: int = 2
    identities: int | None = None
    """The cells IDENTITIES may take; None: as many as it needs, and the CLIENT and
    HOST cells whole too (a file or a pipe)."""


FIXED = Layout()
"""The layout when no width is given (output to a file or a pipe)."""

COLUMNS = (
    ("time", "TIME", False),
    ("client", "CLIENT", True),
    ("method", "METHOD", False),
    ("host", "HOST", True),
    ("path", "PATH", False),
)
"""The columns before IDENTITIES: the :class:`Layout` field, the title, and whether
the cell is evidence cut from its start (a name's end says the most: the domain of
a host, the app of a package name) and kept whole in the fixed layout."""

STAMPS = (
    (24, "%Y-%m-%dT%H:%M:%S", True),
    (20, "%Y-%m-%dT%H:%M:%S", False),
    (13, "%H:%M:%S", True),
    (9, "%H:%M:%S", False),
)
"""The forms of TIME, widest first: cells, :func:`time.strftime` format, and
milliseconds or not. All are UTC and end in ``Z``; a row without its date has it
on the date line above (:func:`table_lines`)."""

DATED = 20
"""The TIME width from which every row carries its date."""

CLIENT_WITH_PORT = 21
"""The CLIENT width from which the client's port is shown (as in the dashboard)."""

ANOMALY_MARK = "⚠"
"""What a request with anomalies (:attr:`capture.model.Record.anomalies`: capture gaps, a
head cut, TCP evasion, a reflector's refusal) is marked with: first in the IDENTITIES
cell here, a badge in the dashboard's list, before each note in its detail. The notes
themselves are in the JSONL (``anomalies``) and the detail."""

IDENTITIES_WANTED = 52
"""Cells kept for IDENTITIES when fitting a width (an MSISDN in a header with two
informational findings)."""

IDENTITIES_LEAST = 20
"""The fewest cells IDENTITIES gets (``msisdn=+447700900123``): on a terminal
narrower than the shrunk columns and these, rows are longer than a line."""

SHRINK_ORDER = (
    ("path", 16),
    ("time", DATED),
    ("host", 20),
    ("client", 15),
    ("time", 9),
    ("method", 6),
    ("path", 8),
    ("host", 16),
    ("gap", 1),
    ("path", 4),
)
"""How the table fits a narrow terminal, step by step (each only as far as needed,
down to the width given) until the columns leave :data:`IDENTITIES_WANTED` cells:
PATH to 16, the milliseconds go, HOST to 20, the client's port goes, the date
moves to date lines, then METHOD, PATH, HOST, the spaces between columns, and
PATH to 4 (the least evidence: ``/sp…``). At 80 columns, all of them: IDENTITIES
gets 25 cells, a UK number whole with a reflector's marks
(``msisdn=+447700900123 +-~…``)."""


def _fixed(layout: Layout) -> int:
    """Cells taken before IDENTITIES (each column and the gap after it)."""
    return sum(int(getattr(layout, name)) for name, _, _ in COLUMNS) + len(COLUMNS) * layout.gap


def layout_for(width: int | None) -> Layout:
    """The layout for a terminal ``width`` cells wide (None: :data:`FIXED`).

    Narrower than the fixed layout and :data:`IDENTITIES_WANTED`, the columns
    shrink in :data:`SHRINK_ORDER`; IDENTITIES gets what is left, however wide
    (at least :data:`IDENTITIES_LEAST`)."""
    if width is None:
        return FIXED
    layout = FIXED
    room = width - IDENTITIES_WANTED
    for name, least in SHRINK_ORDER:
        excess = _fixed(layout) - room
        if excess <= 0:
            break
        per_cell = len(COLUMNS) if name == "gap" else 1  # a gap's cell is taken five times
        cells = max(least, getattr(layout, name) - (excess + per_cell - 1) // per_cell)
        if name == "time":
            cells = next(w for w, _, _ in STAMPS if w <= cells)
        layout = replace(layout, **{name: cells})
    return replace(layout, identities=max(width - _fixed(layout), IDENTITIES_LEAST))


def narrowest() -> int:
    """The fewest columns a table's rows fit in: every column at its least
    (:data:`SHRINK_ORDER`), and IDENTITIES at :data:`IDENTITIES_LEAST`."""
    return _fixed(layout_for(1)) + IDENTITIES_LEAST


def header_line(layout: Layout = FIXED) -> str:
    """The column titles."""
    gap = " " * layout.gap
    cells = [_cell(title, getattr(layout, name)) for name, title, _ in COLUMNS]
    return gap.join(cells) + gap + "IDENTITIES"


def format_time(ts: float, cells: int = STAMPS[0][0]) -> str:
    """``ts`` in UTC, ISO 8601, in the widest form of :data:`STAMPS` that fits ``cells``."""
    ts = clock_ts(ts)
    form, millis = next(((f, m) for w, f, m in STAMPS if w <= cells), STAMPS[-1][1:])
    text = time.strftime(form, time.gmtime(ts))
    return (text + f".{int(ts * 1000) % 1000:03d}Z") if millis else text + "Z"


def date_line(ts: float) -> str:
    """The line that gives the rows below it their date, where they lack it."""
    return f"── {time.strftime('%Y-%m-%d', time.gmtime(clock_ts(ts)))} UTC ──"


def _cell(text: str, width: int, from_start: bool = False, whole: bool = False) -> str:
    text = printable(text)
    if len(text) <= width:
        return text.ljust(width)
    if whole:
        return text  # the rest of its row moves right: evidence is never cut here
    if from_start:
        return "…" + text[len(text) - width + 1 :]
    return text[: width - 1] + "…"


def record_line(record: Record, layout: Layout = FIXED) -> str:
    """One aligned row (``layout``: from :func:`layout_for`). A row whose TIME has no
    date belongs under a :func:`date_line`: :func:`table_lines` puts them there."""
    req = record.request
    sized = layout.identities is not None
    # The app, where the capture names it (PCAPdroid), says more than its address.
    client = req.app or (
        endpoint(req.src, req.sport) if layout.client >= CLIENT_WITH_PORT else req.src
    )
    texts = {
        "time": format_time(req.ts, layout.time),
        "client": client or "(unknown)",  # a HAR names no client: say so, not blank
        "method": req.method,
        "host": req.destination,
        "path": shown_path(req.uri),
    }
    gap = " " * layout.gap
    row = gap.join(
        _cell(texts[name], getattr(layout, name), evidence, evidence and not sized)
        for name, _, evidence in COLUMNS
    )
    width = layout.identities
    if record.anomalies:
        # First in the cell, where a column of rows shows it at one place; the
        # identities give up its two cells (a value is cut, never the mark).
        found = identities_cell(record, None if width is None else width - 2)
        found = f"{ANOMALY_MARK} {found}".rstrip()
    else:
        found = identities_cell(record, width)
    return row + gap + found if found else row.rstrip()


def table_lines(layout: Layout) -> Callable[[Record], str]:
    """A new row renderer for one table laid out as ``layout``. Where TIME has no
    date, the first row, and each row whose UTC date is not the row before's, comes
    after a date line (in the same string): the renderer remembers the last date."""
    if layout.time >= DATED:
        return lambda record: record_line(record, layout)
    last = [""]

    def line(record: Record) -> str:
        row = record_line(record, layout)
        day = date_line(record.request.ts)
        if day == last[0]:
            return row
        last[0] = day
        return f"{day}\n{row}"

    return line


Piece = tuple[str, str]
"""A part of the IDENTITIES cell when shortened: what stays (``msisdn=``, ``+``) and
what may be cut (the value, the header names)."""

ALTERED = (("injected", "+"), ("removed", "-"), ("changed", "~"))
"""How a reflector's echo says the request was altered: the label of the full
cell, and the mark of the short one (as in the dashboard's detail)."""


def identities_cell(record: Record, width: int | None = None) -> str:
    """IDENTITIES: ``kind:name=value`` for each identity finding, ``(+N info)`` for
    the informational ones (Via, X-Forwarded-For, ...: in the JSONL, here they would
    drown the identities), then, when a reflector's echo shows the request was
    altered, ``injected:``, ``removed:`` and ``changed:`` header names.

    Within ``width`` cells (None: no limit), the first form that fits: that one;
    ``kind=value`` and ``+``/``-``/``~`` names; that without the informational count;
    that with the header names cut with ``…``; that with the marks together and no
    names (``+-~…``); that with the values cut too (each kind and mark kept); else
    how many identities and their kinds. The values are the evidence: the marks
    give way first."""
    identities = record.identities
    info = len(record.findings) - len(identities)
    values = [printable(f.normalized or f.value or "(value not logged)") for f in identities]
    moved = record.transit
    altered: list[tuple[str, str, str]] = []
    if moved is not None and moved.altered:
        # Sent versus received (a reflector's echo): what the network did, by name.
        for (label, mark), names in zip(
            ALTERED,
            (
                [n for n, _ in moved.injected],
                [n for n, _ in moved.removed],
                [n for n, _, _ in moved.changed],
            ),
            strict=True,
        ):
            if names:
                altered.append((label, mark, printable(",".join(dict.fromkeys(names)))))
    informational = [f"(+{info} info)"] if info else []
    full = " ".join(
        [
            *(
                printable(f"{f.kind}:{f.name}=") + v
                for f, v in zip(identities, values, strict=True)
            ),
            *informational,
            *(f"{label}:{names}" for label, _, names in altered),
        ]
    )
    if width is None or len(full) <= width:
        return full
    found = [(printable(f"{f.kind}="), v) for f, v in zip(identities, values, strict=True)]
    marked = [(mark, names) for _, mark, names in altered]
    for extra in (informational, []):
        text = " ".join([*(h + t for h, t in found), *extra, *(h + t for h, t in marked)])
        if len(text) <= width:
            return text
    # The marks alone, together: they say how the request was altered, the values
    # what was sent, so the names go before any value is cut.
    together = [("".join(mark for mark, _ in marked), "…")] if marked else []
    return (
        _cut(found, marked, width, whole=True)
        or _cut(found, together, width, whole=True)
        or _cut(found, together, width)
        or _summary(identities, marked, width)
    )


VALUE_LEAST = 4
"""The fewest cells an identity's value is cut to (``+44…``); below, the cell says
how many identities and their kinds instead."""


def _summary(identities: Sequence[Finding], marked: list[Piece], width: int) -> str:
    """How many identities and their kinds, and how many names each way altered: the
    kinds are cut first (``4 identities: msisdn,i… +1``), so that the marks, which say
    the network altered the request, stay while the count fits beside them."""
    marks = " ".join(f"{mark}{names.count(',') + 1}" for mark, names in marked)
    if not identities:
        return _cell(marks, width).rstrip()
    count = counted(len(identities), "identity", "identities")
    head = f"{count}: {','.join(f.kind for f in identities)}"
    for shown in (marks, "".join(mark for mark, _ in marked)):  # "+1 -1", then "+-"
        room = width - len(shown) - 1 if shown else width
        if room >= len(count):
            # The kinds cut to fit, or left out where not one letter of them would.
            kinds = _cell(head, room).rstrip() if room > len(count) + 2 else count
            return f"{kinds} {shown}".rstrip()
    return _cell(f"{shown} {head}", width).rstrip()  # the marks before the count


def _cut(found: list[Piece], marked: list[Piece], width: int, whole: bool = False) -> str:
    """``found`` then ``marked`` in ``width`` cells: the tails of ``marked`` cut
    first, each to no less than ``…``, then those of ``found``, each to no less
    than :data:`VALUE_LEAST` cells (``whole``: not at all); empty when that does
    not fit."""
    pieces = found + marked
    room = width - sum(len(head) for head, _ in pieces) - (len(pieces) - 1)
    if room < len(pieces):
        return ""
    shares = _shares([tail for _, tail in found], room - len(marked))
    least = width if whole else VALUE_LEAST  # no value longer than the cell fits whole
    if any(s < min(len(tail), least) for (_, tail), s in zip(found, shares, strict=True)):
        return ""
    shares += _shares([tail for _, tail in marked], room - sum(shares))
    return " ".join(
        head + (tail if len(tail) <= share else tail[: share - 1] + "…")
        for (head, tail), share in zip(pieces, shares, strict=True)
    )


def _shares(tails: list[str], room: int) -> list[int]:
    """Cells for each of ``tails`` within ``room``: an even share each, and what
    the short ones leave to the long ones."""
    shares = [0] * len(tails)
    by_length = sorted(range(len(tails)), key=lambda i: len(tails[i]))
    for done, i in enumerate(by_length):
        shares[i] = min(len(tails[i]), room // (len(tails) - done))
        room -= shares[i]
    return shares
