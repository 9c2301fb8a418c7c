"""``--format table``: an aligned, streaming table for people.

Every value passes through :func:`capture.text.printable`, so a header value
holding terminal escapes is shown escaped, never obeyed.
"""

from __future__ import annotations

import time

from capture.http.urls import endpoint
from capture.model import Record
from capture.text import clock_ts, printable

_COLUMNS = (("TIME", 12), ("CLIENT", 22), ("METHOD", 7), ("HOST", 28), ("PATH", 40))
"""The columns when no width is given (output to a file or a pipe)."""

IDENTITIES_WANTED = 52
"""Cells kept for IDENTITIES when fitting a width (an MSISDN in a header with two
informational findings); it is never cut: a longer one wraps."""

SHRINK_ORDER = (("PATH", 16), ("HOST", 20), ("CLIENT", 15), ("TIME", 8), ("CLIENT", 0))
"""How the table fits a narrow terminal, step by step until the columns leave
:data:`IDENTITIES_WANTED` cells: PATH down to 16, HOST to 20, the client's port
dropped, then the milliseconds, then CLIENT (as the dashboard's list does)."""

Columns = tuple[tuple[str, int], ...]


def columns_for(width: int | None) -> Columns:
    """The columns for a terminal ``width`` cells wide (None: the fixed default).

    Wider than the default needs, PATH takes the room beyond IDENTITIES' share (up
    to 60 more cells); narrower, the columns shrink in :data:`SHRINK_ORDER`."""
    cols = dict(_COLUMNS)
    if width is None:
        return _COLUMNS

    def fixed() -> int:
        return sum(w + 2 for w in cols.values() if w)

    room = width - IDENTITIES_WANTED
    if fixed() < room:
        cols["PATH"] += min(room - fixed(), 60)
    for name, smaller in SHRINK_ORDER:
        if fixed() <= room:
            break
        cols[name] = smaller if name != "PATH" else max(smaller, cols[name] - (fixed() - room))
    if fixed() < room:
        cols["PATH"] += room - fixed()  # a dropped column left more than needed
    return tuple((name, cols[name]) for name, _ in _COLUMNS)


def _fit(text: str, width: int) -> str:
    text = printable(text)
    if len(text) > width:
        return text[: width - 1] + "…"
    return text.ljust(width)


def header_line(columns: Columns = _COLUMNS) -> str:
    """The column titles."""
    cells = [title.ljust(width) for title, width in columns if width]
    return "  ".join(cells) + "  IDENTITIES"


def format_time(ts: float) -> str:
    """Local time of day with milliseconds."""
    ts = clock_ts(ts)
    return time.strftime("%H:%M:%S", time.localtime(ts)) + f".{int(ts * 1000) % 1000:03d}"


def record_line(record: Record, columns: Columns = _COLUMNS) -> str:
    """One aligned row (``columns``: from :func:`columns_for`)."""
    req = record.request
    widths = dict(columns)
    # The app, where the capture names it (PCAPdroid), says more than its address.
    client = req.app or endpoint(req.src, req.sport)
    if not req.app and widths["CLIENT"] < 21:
        client = req.src  # the port goes first when the table is narrowed
    stamp = format_time(req.ts)
    cells = (
        stamp if widths["TIME"] >= 12 else stamp[:8],
        client,
        req.method,
        req.destination,
        req.uri if req.uri is not None else "",
    )
    row = "  ".join(
        _fit(cell, width) for cell, (_, width) in zip(cells, columns, strict=True) if width
    )
    found = [
        printable(f"{f.kind}:{f.name}={f.normalized or f.value or '(value not logged)'}")
        for f in record.findings
        if f.is_identity
    ]
    info = len(record.findings) - len(found)
    if info:
        # Informational findings (Via, X-Forwarded-For, ...) are in the JSONL; here
        # they would drown the identities.
        found.append(f"(+{info} info)")
    moved = record.transit
    if moved is not None and moved.altered:
        # Sent versus received (a reflector's echo): what the network did, by name.
        for label, names in (
            ("injected", [n for n, _ in moved.injected]),
            ("removed", [n for n, _ in moved.removed]),
            ("changed", [n for n, _, _ in moved.changed]),
        ):
            if names:
                found.append(printable(f"{label}:{','.join(dict.fromkeys(names))}"))
    return row + "  " + " ".join(found) if found else row.rstrip()
