"""``--format table``: an aligned, streaming table for people.

Every value passes through :func:`capture.text.printable`, so a header value
holding terminal escapes is shown escaped, never obeyed.
"""

from __future__ import annotations

import time

from capture.model import Record
from capture.text import clock_ts, printable

_COLUMNS = (("TIME", 12), ("CLIENT", 22), ("METHOD", 7), ("HOST", 28), ("PATH", 40))


def _fit(text: str, width: int) -> str:
    text = printable(text)
    if len(text) > width:
        return text[: width - 1] + "…"
    return text.ljust(width)


def header_line() -> str:
    """The column titles."""
    return "  ".join(title.ljust(width) for title, width in _COLUMNS) + "  IDENTITIES"


def format_time(ts: float) -> str:
    """Local time of day with milliseconds."""
    ts = clock_ts(ts)
    return time.strftime("%H:%M:%S", time.localtime(ts)) + f".{int(ts * 1000) % 1000:03d}"


def record_line(record: Record) -> str:
    """One aligned row."""
    req = record.request
    client = f"{req.src}:{req.sport}" if ":" not in req.src else f"[{req.src}]:{req.sport}"
    cells = (
        format_time(req.ts),
        client,
        req.method,
        req.destination,
        req.uri if req.uri is not None else "",
    )
    row = "  ".join(_fit(cell, width) for cell, (_, width) in zip(cells, _COLUMNS, strict=True))
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
