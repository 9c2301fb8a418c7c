"""Records as Rich ``Text``: the one place where wire data becomes something on screen.

Header names and values, URIs, host names, comments: all of it is data chosen by
whoever sent the request. Everything here therefore

* builds :class:`rich.text.Text` objects by appending plain strings with a style
  (never ``Text.from_markup`` or ``f"[red]{value}"``), so ``[red]`` or
  ``[link=…]`` in a value is shown as those characters and never interpreted;
* passes every string through :func:`capture.text.printable` first, so ESC, OSC,
  BEL, CR, backspace, C1 controls and bidi overrides are shown as ``\\xNN`` /
  ``\\uNNNN`` and can never drive the terminal.

No widget code lives here, so the rules can be tested on plain objects.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Protocol

from rich.cells import cell_len, set_cell_size
from rich.text import Text

from capture.formats.jsonl import REFLECTOR_SOURCE, REFUSED_NOTE
from capture.formats.table import ANOMALY_MARK
from capture.http.fields import query_pairs, request_cookies, unquote
from capture.http.urls import route as request_route
from capture.model import Finding, Record, Request, Transit
from capture.text import clock_ts, counted, from_bytes, printable
from capture.view.order import uri_path

SEVERITY_RANK = {"high": 3, "medium": 2, "low": 1, "info": 0}
"""Order of severities, most severe first when sorted descending."""

SEVERITY_STYLE = {
    "high": "bold red",
    "medium": "bold dark_orange",
    "low": "yellow",
    "info": "dim",
}
"""Colour of each severity: badges, highlighted header lines, the exposure panel."""

BADGE_STYLE = {
    "high": "bold white on red",
    "medium": "bold black on dark_orange",
    "low": "black on yellow",
    "info": "dim",
}

KIND_LABEL = {
    "msisdn": "MSISDN",
    "imsi": "IMSI",
    "imei": "IMEI",
    "subscriber_id": "SUBID",
    "tracking_id": "TRKID",
    "email": "EMAIL",
    "device_id": "DEVID",
    "canary": "CANARY",
    "client_ip": "ip",
    "network_info": "net",
    "device_profile": "dev",
}
"""Short badge text of each finding kind (identity kinds in capitals)."""

ANOMALY_STYLE = "yellow"
"""Colour of the anomaly mark (``⚠``): in the list's badges and before each note in the
detail."""


class EntryLike(Protocol):
    """What the renderers need from a store entry (see :mod:`capture.view.store`)."""

    @property
    def record(self) -> Record: ...

    @property
    def marked(self) -> bool: ...

    @property
    def comment(self) -> str: ...


def safe(text: str | None) -> str:
    """``text`` with control characters and raw bytes escaped (``None`` is empty)."""
    if not text:
        return ""
    return printable(text)


def format_time(ts: float, utc: bool = False) -> str:
    """Time of day with milliseconds, local time unless ``utc``."""
    ts = clock_ts(ts)
    parts = time.gmtime(ts) if utc else time.localtime(ts)
    return time.strftime("%H:%M:%S", parts) + f".{int(ts * 1000) % 1000:03d}"


def format_datetime(ts: float, utc: bool = False) -> str:
    """Date and time with milliseconds and the zone name."""
    ts = clock_ts(ts)
    parts = time.gmtime(ts) if utc else time.localtime(ts)
    zone = "UTC" if utc else time.strftime("%Z", parts)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", parts)
    return f"{stamp}.{int(ts * 1000) % 1000:03d} {zone}"


def top_severity(findings: Iterable[Finding]) -> str | None:
    """The most severe severity among identity findings, ``None`` when there are none."""
    best: str | None = None
    rank = -1
    for finding in findings:
        if not finding.is_identity:
            continue
        r = SEVERITY_RANK.get(finding.severity, 0)
        if r > rank:
            best, rank = finding.severity, r
    return best


def badge_labels(record: Record) -> list[tuple[str, str]]:
    """(label, severity) of each distinct identity kind in ``record``, most severe first."""
    if not record.findings:
        return []
    seen: dict[str, str] = {}
    for finding in record.findings:
        if not finding.is_identity:
            continue
        old = seen.get(finding.kind)
        if old is None or SEVERITY_RANK.get(finding.severity, 0) > SEVERITY_RANK.get(old, 0):
            seen[finding.kind] = finding.severity
    ordered = sorted(seen.items(), key=lambda kv: -SEVERITY_RANK.get(kv[1], 0))
    return [(safe(KIND_LABEL.get(kind, kind.upper())), severity) for kind, severity in ordered]


def fit_badges(
    labels: list[tuple[str, str]],
    injected: bool,
    width: int | None = None,
    anomalous: bool = False,
) -> list[tuple[str, str]]:
    """The badges that fit in ``width`` cells as (text, style key) pairs, gaps included.

    ``⚠`` first when ``anomalous`` (the record has anomalies), always kept; then most
    severe first (``labels`` come in that order), ``INJ`` last; what does not fit is
    counted in a final ``+N`` so no finding is hidden silently. The style key is a
    severity, ``"anomaly"``, ``"inj"``, ``"more"`` or ``"gap"``.
    """
    if anomalous:
        # First, where a column of rows shows it in one place (as the table's cell);
        # the badges give up its two cells and say what they leave out in +N.
        rest = fit_badges(labels, injected, None if width is None else width - 2)
        return [(ANOMALY_MARK, "anomaly"), *([(" ", "gap"), *rest] if rest else [])]
    items = [(f" {label} ", severity) for label, severity in labels]
    if injected:
        items.append(("INJ", "inj"))

    def joined(shown: list[tuple[str, str]]) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for item in shown:
            if out:
                out.append((" ", "gap"))
            out.append(item)
        return out

    def size(shown: list[tuple[str, str]]) -> int:
        return sum(len(text) for text, _ in shown)

    if width is None or size(joined(items)) <= width:
        return joined(items)
    for keep in range(len(items) - 1, -1, -1):
        shown = joined([*items[:keep], (f"+{len(items) - keep}", "more")])
        if size(shown) <= width or keep == 0:
            return shown
    return []  # pragma: no cover - the loop always returns


def badges(record: Record, injected: bool = False, width: int | None = None) -> Text:
    """``⚠`` when the record has anomalies, one badge per distinct identity kind (most
    severe first), ``INJ`` when injected, and ``+N`` for what does not fit in ``width``
    cells."""
    text = Text(end="")
    for part, key in fit_badges(badge_labels(record), injected, width, bool(record.anomalies)):
        if key == "anomaly":
            style = ANOMALY_STYLE
        elif key == "inj":
            style = "bold magenta"
        elif key in ("gap", "more"):
            style = "bold" if key == "more" else ""
        else:
            style = BADGE_STYLE.get(key, "")
        text.append(part, style=style)
    return text


def target_path(record: Record) -> str:
    """What the list shows as the path: the URI without ``scheme://authority``."""
    return uri_path(record)


def fit_str(text: str, width: int) -> str:
    """``text`` cut to ``width`` terminal cells (with an ellipsis) or padded to it."""
    size = len(text) if text.isascii() else cell_len(text)
    if size <= width:
        return text + " " * (width - size)
    if width <= 0:
        return ""
    return set_cell_size(text, width - 1) + "…"


def shorten_middle(text: str, width: int) -> str:
    """``text`` cut to ``width`` cells by an ellipsis in the middle, keeping its start
    and its end (how a long token is told apart from another); unchanged if it fits."""
    size = len(text) if text.isascii() else cell_len(text)
    if size <= width:
        return text
    if width <= 1:
        return "…"[:width]
    head = (width - 1 + 1) // 2
    tail = width - 1 - head
    start = set_cell_size(text, head)
    end = text[::-1]
    end = set_cell_size(end, tail)[::-1] if tail else ""
    return start + "…" + end


def fit(text: Text, width: int) -> Text:
    """``text`` cut to ``width`` cells (ellipsis) and padded to exactly ``width``."""
    out = text.copy()
    out.truncate(width, overflow="ellipsis", pad=True)
    return out


# -- the detail pane ----------------------------------------------------------------


def split_query(uri: str | None) -> list[tuple[str, str]]:
    """Query parameters of ``uri`` in order, percent-decoded losslessly (``+`` is a space)."""
    return [(unquote(name), unquote(value)) for name, value in query_pairs(uri)]


def split_cookies(headers: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Every ``name=value`` pair of every ``Cookie`` header, in order."""
    return request_cookies(headers)


def finding_note(finding: Finding) -> Text:
    """``msisdn +447700900123 · +44 7700 900123 · GB mobile (catalog, high)``."""
    style = SEVERITY_STYLE.get(finding.severity, "")
    note = Text(end="")
    note.append(safe(finding.kind), style=style)
    value = finding.normalized or finding.value
    if value:
        note.append(" ")
        note.append(safe(value), style="bold")
    if finding.detail:
        note.append(" · ")
        note.append(safe(finding.detail))
    note.append(f" ({safe(finding.detector)}, {safe(finding.severity)})", style="dim")
    return note


def _findings_for(findings: Sequence[Finding], where: str, name: str) -> list[Finding]:
    lname = name.lower()
    return [f for f in findings if f.where == where and f.name.lower() == lname]


def _header_line(
    out: Text, name: str, value: str, findings: Sequence[Finding], note: str = ""
) -> None:
    """One header, highlighted by its most severe identity, with what was found in it;
    ``note`` says what happened to it in transit."""
    hits = _findings_for(findings, "header", name)
    severity = top_severity([f for f in hits if f.is_identity])
    style = SEVERITY_STYLE.get(severity, "") if severity else ""
    out.append(safe(name), style=style or "bold cyan")
    out.append(": ", style=style)
    out.append(safe(value), style=style)
    if note:
        out.append(f"  ⇢ {note}", style="bold magenta")
    for hit in hits:
        out.append("\n    ◀ ", style=SEVERITY_STYLE.get(hit.severity, ""))
        out.append_text(finding_note(hit))
    out.append("\n")


def _section(out: Text, title: str) -> None:
    out.append("\n")
    out.append(title, style="bold underline")
    out.append("\n")


def _pairs(
    out: Text, pairs: list[tuple[str, str]], findings: Sequence[Finding], where: str
) -> None:
    for name, value in pairs:
        hits = _findings_for(findings, where, name)
        style = SEVERITY_STYLE.get(top_severity(hits) or "", "") if hits else ""
        out.append("  ")
        out.append(safe(name), style=style or "bold")
        out.append(" = ")
        out.append(safe(value), style=style)
        for hit in hits:
            out.append("   ◀ ", style=style)
            out.append_text(finding_note(hit))
        out.append("\n")


def _received_block(out: Text, moved: Transit, findings: Sequence[Finding]) -> None:
    """The header block as the reflector received it: ``+`` added on the way, ``~``
    changed on the way; what was stripped is listed after it."""
    # Whether the echo can be believed: signed with the echo key, or from any server.
    whose = "reflector's echo, signed" if moved.signed else "reflector's echo, not signed"
    if not moved.altered:
        out.append(f"\nreceived by the server unchanged ({whose})\n", style="dim")
        return
    out.append(f"\nas received by the server ({whose}):\n", style="bold magenta")
    added = list(moved.injected)
    changed = {(n.lower(), v) for n, _, v in moved.changed}
    for name, value in moved.received:
        if (name, value) in added:
            added.remove((name, value))
            out.append("+ ", style="bold magenta")
            _header_line(out, name, value, findings, "injected in transit")
        elif (name.lower(), value) in changed:
            out.append("~ ", style="bold magenta")
            _header_line(out, name, value, findings, "changed in transit")
        else:
            out.append("  ")
            _header_line(out, name, value, ())
    for name, value in moved.removed:
        out.append("- ", style="bold magenta")
        _header_line(out, name, value, (), "removed in transit (not received)")


def _parts_in_lines(parts: list[Text], width: int | None) -> Text:
    """``parts`` two spaces apart, a part that would pass ``width`` cells on a new line
    (indented by one): each is read as one, and "flow 1 · request 2" broken after
    "flow" read as two things. Ends with a newline."""
    out = Text(end="")
    line = 0
    for i, part in enumerate(parts):
        if i and width is not None and line + 2 + part.cell_len > width:
            out.append("\n ")
            line = 1
        elif i:
            out.append("  ")
            line += 2
        out.append_text(part)
        line += part.cell_len
    out.append("\n")
    return out


def detail_text(
    entry: EntryLike, utc: bool = False, width: int | None = None, finished: bool = False
) -> Text:
    """Everything about one request. First what matters (above the fold of a short
    terminal): the user's comment, the findings, most severe first, one line of
    what was injected, removed and changed in transit, and the anomalies (caveats on
    the evidence). Then the request line and headers as sent, in wire order, identity
    headers highlighted with what was found; when a reflector echoed it, the header
    block as the server received it, with what was added, removed and changed on the
    way; query parameters and cookies broken out; the response.

    ``width``: the cells a line has; the heading's parts that would pass it go on a
    line of their own rather than break where the terminal wraps (None: one line).
    ``finished``: the input has been read to its end, so a response not there will not
    come (:func:`_no_response`).
    """
    record = entry.record
    req = record.request
    findings = record.findings
    when = Text(f"#{record.id}  ", style="dim", end="")
    when.append(format_datetime(req.ts, utc))
    route = Text(safe(request_route(req)), end="")
    # Of several inputs, the connection's first frame is numbered within its file.
    where = f"{printable(req.input)} · " if req.input else ""
    heading = [when, route, Text(f"{where}flow {req.flow} · request {req.depth}", style="dim")]
    if req.app:
        heading.append(Text.assemble(("app ", "dim"), (safe(req.app), "bold"), end=""))
    if entry.marked:
        heading.append(Text("● marked", style="bold magenta"))
    out = _parts_in_lines(heading, width)
    # What matters first, above the fold of a 24-row terminal: the user's comment,
    # what was found, what was changed on the way, and the caveats on it; the request
    # in full follows.
    if entry.comment:
        out.append("✎ ", style="bold cyan")
        out.append(safe(entry.comment), style="bold cyan")
        out.append("\n")
    identities = [f for f in findings if f.is_identity]
    if findings:
        found = counted(len(identities), "identity", "identities")
        title = f"Findings ({found}, {len(findings)} in all)"
        out.append(title, style="bold underline")
        out.append("\n")
        ordered = sorted(findings, key=lambda f: -SEVERITY_RANK.get(f.severity, 0))
        for finding in ordered:
            out.append(
                "  ● " if finding.is_identity else "  · ",
                style=SEVERITY_STYLE.get(finding.severity, ""),
            )
            out.append(f"{safe(finding.where)} ", style="dim")
            out.append(safe(finding.name), style="bold")
            out.append("  ")
            out.append_text(finding_note(finding))
            out.append("\n")
    out.append_text(moved_summary(record.transit))
    out.append("\n")
    if req.anomalies:
        # Caveats on the evidence (a capture gap, a TCP copy that differed, a refusal):
        # above the fold with the findings they qualify, not under the request.
        out.append("Anomalies", style="bold underline")
        out.append("\n")
        _anomaly_lines(out, req.anomalies)
        out.append("\n")

    # The request line and the header block exactly as sent, in wire order.
    line = Text(end="")
    line.append(safe(req.method), style="bold")
    if req.uri is not None:
        line.append(" ")
        line.append(safe(req.uri))
    if req.version is not None:
        line.append(" ")
        line.append(safe(req.version))
    out.append_text(line)
    out.append("\n")
    moved = record.transit
    removed = list(moved.removed) if moved is not None else []
    changed = list(moved.changed) if moved is not None else []
    for name, value in req.headers:
        note = ""
        if (name, value) in removed:
            removed.remove((name, value))
            note = "removed in transit"
        else:
            for i, (cname, sent, _) in enumerate(changed):
                if cname.lower() == name.lower() and sent == value:
                    note = "changed in transit"
                    del changed[i]
                    break
        # Sent headers are shown without findings made in the received block only.
        _header_line(out, name, value, findings if not note else (), note)
    if moved is not None:
        _received_block(out, moved, findings)
    if req.body_length:
        out.append(f"\n[body: {req.body_length:,} bytes", style="dim")
        if req.body:
            out.append("] ", style="dim")
            out.append(safe(from_bytes(req.body[:200])))
            if req.body_length > 200:
                out.append(" …", style="dim")
        else:
            out.append("]", style="dim")
        out.append("\n")

    params = split_query(req.uri)
    if params:
        _section(out, "Query parameters")
        _pairs(out, params, findings, "query")
    cookies = split_cookies(req.headers)
    if cookies:
        _section(out, "Cookies")
        _pairs(out, cookies, findings, "cookie")
    _section(out, "Response")
    response = record.response
    if response is None:
        out.append(f"  {_no_response(req, finished)}\n", style="dim")
    else:
        status_style = "green" if response.status < 400 else "red"
        out.append("  ")
        out.append(safe(response.version))
        out.append(" ")
        out.append(str(response.status), style=f"bold {status_style}")
        out.append(" ")
        out.append(safe(response.reason))
        if response.ts >= req.ts:
            out.append(f"   +{(response.ts - req.ts) * 1000:.0f} ms", style="dim")
        out.append("\n")
        for name, value in response.headers:
            out.append("  ")
            out.append(safe(name), style="cyan")
            out.append(": ")
            out.append(safe(value))
            out.append("\n")
        _anomaly_lines(out, response.anomalies)
    out.rstrip()
    return out


def _anomaly_lines(out: Text, notes: Sequence[str]) -> None:
    """Each of ``notes`` (a request's or a response's anomalies) on a line of its own,
    after the anomaly mark."""
    for note in notes:
        out.append(f"  {ANOMALY_MARK} ", style=ANOMALY_STYLE)
        out.append(safe(note))
        out.append("\n")


def _no_response(req: Request, finished: bool = False) -> str:
    """What the Response section says when there is none: a reflector's own log has
    none to wait for (it logs the request it received, not what it answered); an
    input read to its end (``finished``) has none for it; else one may still come."""
    if req.source != REFLECTOR_SOURCE:
        return "(none in the input)" if finished else "(none yet)"
    said = "not in this log: the reflector's own record"
    for note in req.anomalies:
        if note.startswith(REFUSED_NOTE + ": "):
            status = note[len(REFUSED_NOTE) + 2 :].split(" ", 1)[0]
            return f"{said}; it refused the request with {status} (see Anomalies)"
    return f"{said} (it logs what it received, not its answer)"


def moved_summary(moved: Transit | None) -> Text:
    """One line of what was done to the headers on the way (empty when nothing):
    ``⇢ in transit: injected x-up-calling-line-id · removed Cookie · changed Via``."""
    out = Text(end="")
    if moved is None or not moved.altered:
        return out
    parts = [
        ("injected", [name for name, _ in moved.injected]),
        ("removed", [name for name, _ in moved.removed]),
        ("changed", [name for name, _, _ in moved.changed]),
    ]
    out.append("⇢ in transit:", style="bold magenta")
    first = True
    for what, names in parts:
        if not names:
            continue
        out.append(" " if first else " · ", style="bold magenta")
        first = False
        out.append(f"{what} ", style="bold magenta")
        out.append(safe(", ".join(names)), style="bold")
    out.append("\n")
    return out
