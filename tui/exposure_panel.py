"""The exposure panel: which hosts received which identities, per-header counts, sparklines.

Reads :class:`capture.view.exposure.Exposure` (fed by the app with every batch) and
redraws at most twice a second, and only when the aggregate changed.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Sparkline, Static

from capture.model import Event, Finding, Record
from capture.text import counted
from capture.view.exposure import Exposure
from tui.render import KIND_LABEL, safe, shorten_middle
from tui.scrolling import ScrollsAtOnce

REDRAW_INTERVAL = 0.5
MAX_IDENTITIES_SHOWN = 20
MAX_HOSTS_SHOWN = 8
MAX_CARRIERS_SHOWN = 12

_KIND_STYLE = {
    "msisdn": "bold red",
    "imsi": "bold red",
    "imei": "bold dark_orange",
    "subscriber_id": "bold dark_orange",
    "tracking_id": "bold dark_orange",
    "email": "bold red",
    "device_id": "yellow",
    "canary": "bold magenta",
}


def summary_text(exposure: Exposure, cleared: int = 0, deleted: int = 0, unfilled: int = 0) -> Text:
    """Totals; after a clear (``z``), labelled as counted since it, with how many
    requests it hid, and how many rows ``d`` took out (the status line says the same);
    ``unfilled``: earlier requests a recurring token's finding was not given to
    (:attr:`capture.view.recurring.Backfill.cut`)."""
    out = Text(end="")
    if cleared:
        out.append("since z: ", style="bold yellow")
    out.append(f"{counted(exposure.requests, 'request')} · ")
    out.append(
        f"{exposure.identity_requests:,} with identities",
        style="bold red" if exposure.identity_requests else "",
    )
    dropped = sum(exposure.dropped.values()) - exposure.dropped.get("late", 0)
    if dropped:
        out.append(f" · {dropped:,} not tracked (tables full)", style="yellow")
    if unfilled:
        out.append(
            f" · {counted(unfilled, 'earlier request')} without its token's finding (table full)",
            style="yellow",
        )
    if cleared:
        out.append(f"\n{cleared:,} cleared by z (u brings them back)", style="dim")
    if deleted:
        out.append(f"\n{deleted:,} deleted by d, not counted (u brings them back)", style="dim")
    return out


MIN_VALUE_CELLS = 16
"""A value is never cut shorter than this (the line wraps instead)."""
MIN_NAME_CELLS = 10
"""Nor a host or header name shorter than this."""


def _wrapped(out: Text, text: str, width: int | None, indent: str = "  ") -> None:
    """``text`` on lines of ``width`` cells, each indented (a long detail stays readable
    under its identity instead of wrapping back to the panel's edge)."""
    if width is None or len(indent) + cell_len(text) <= width:
        out.append(indent + text + "\n")
        return
    # Not at hyphens: a domain (alpha-news.com) or a header name read as two.
    room = max(width - len(indent), MIN_VALUE_CELLS)
    for line in textwrap.wrap(text, room, break_on_hyphens=False) or [""]:
        out.append(indent + line + "\n")


def _kinds(identities: Iterable[tuple[str, str]]) -> str:
    """``MSISDN IMEI``: each kind once, ``×N`` when several values of it."""
    counts: dict[str, int] = {}
    for kind, _ in identities:
        label = KIND_LABEL.get(kind, kind.upper())
        counts[label] = counts.get(label, 0) + 1
    return " ".join(label if n == 1 else f"{label}×{n}" for label, n in counts.items())


def exposure_text(exposure: Exposure, width: int | None = None) -> Text:
    """Identities with the hosts that received them, hosts with their identities, carriers.

    Every count is labelled and counts requests (``6 req``). ``width``: the cells a
    line has; a value too long for its line (an X-UIDH token) is cut in its middle,
    keeping its start and end (the detail of a request shows it whole).
    """
    out = Text(end="")
    identities = exposure.identities()
    out.append("Identities → hosts that received them\n", style="bold underline")
    if not identities:
        out.append("  none seen yet\n", style="dim")
    for ident in identities[:MAX_IDENTITIES_SHOWN]:
        style = _KIND_STYLE.get(ident.kind, "bold")
        label = safe(KIND_LABEL.get(ident.kind, ident.kind.upper()))
        count = f"  {ident.requests:,} req"
        value = safe(ident.value)
        if width is not None:
            room = width - 3 - cell_len(label) - len(count)
            value = shorten_middle(value, max(room, MIN_VALUE_CELLS))
        out.append("● ", style=style)
        out.append(label, style=style)
        out.append(" ")
        out.append(value, style="bold")
        out.append(count + "\n", style="dim")
        if ident.detail:
            _wrapped(out, safe(ident.detail), width)
        if ident.carriers:
            via, more = _via(ident.carriers, width)
            out.append("  via ", style="dim")
            out.append(via)
            out.append(more, style="dim")
            out.append("\n")
        for host in ident.hosts[:MAX_HOSTS_SHOWN]:
            count = f"  {host.requests:,} req"
            name = safe(host.host)
            if width is not None:
                name = shorten_middle(name, max(width - 4 - len(count), MIN_NAME_CELLS))
            out.append("  → ", style=style)
            out.append(name)
            out.append(count + "\n", style="dim")
        if len(ident.hosts) > MAX_HOSTS_SHOWN:
            more = counted(len(ident.hosts) - MAX_HOSTS_SHOWN, "more host")
            out.append(f"  → … {more}\n", style="dim")
    if len(identities) > MAX_IDENTITIES_SHOWN:
        more = counted(len(identities) - MAX_IDENTITIES_SHOWN, "more identity", "more identities")
        out.append(f"… {more}\n", style="dim")

    hosts = exposure.hosts()
    if hosts:
        out.append("\nHosts ← identities they received\n", style="bold underline")
        cells = len(f"{hosts[0].requests:,}")  # the most, first
        for receiver in hosts[:MAX_IDENTITIES_SHOWN]:
            # Count first, in a column (as below): it cannot wrap away from its label.
            count = f"  {receiver.requests:>{cells},} req  "
            received = safe(_kinds(receiver.identities))
            name = safe(receiver.host)
            if width is not None:
                # A long host name is cut in its middle rather than wrapping the line.
                room = width - len(count) - 3 - cell_len(received)
                name = shorten_middle(name, max(room, MIN_NAME_CELLS))
            out.append(count, style="bold")
            out.append(name)
            out.append(" ← ", style="dim")
            out.append(received, style="bold red")
            out.append("\n")
        if len(hosts) > MAX_IDENTITIES_SHOWN:
            more = counted(len(hosts) - MAX_IDENTITIES_SHOWN, "more host")
            out.append(f"  … {more}\n", style="dim")

    apps = exposure.apps()
    if apps:
        # Only captures that name the sending app (PCAPdroid's extensions) have these.
        out.append("\nApps → identities they sent\n", style="bold underline")
        for app in apps[:MAX_IDENTITIES_SHOWN]:
            out.append("  ")
            out.append(safe(app.app), style="bold")
            out.append(
                f"  {app.requests:,} req, {app.identity_requests:,} with identities",
                style="dim",
            )
            if app.identities:
                kinds: list[str] = []
                for kind, _ in app.identities:
                    label = KIND_LABEL.get(kind, kind.upper())
                    if label not in kinds:
                        kinds.append(label)
                out.append("  ")
                out.append(safe(" ".join(kinds)), style="bold red")
                out.append(" → ", style="dim")
                out.append(safe(", ".join(app.hosts[:3])))
                if len(app.hosts) > 3:
                    out.append(f" +{len(app.hosts) - 3}", style="dim")
            out.append("\n")
        if len(apps) > MAX_IDENTITIES_SHOWN:
            more = counted(len(apps) - MAX_IDENTITIES_SHOWN, "more app")
            out.append(f"  … {more}\n", style="dim")

    carriers = exposure.carriers()
    if carriers:
        out.append("\nRequests per header or parameter\n", style="bold underline")
        cells = len(f"{carriers[0].requests:,}")  # the most, first
        for carrier in carriers[:MAX_CARRIERS_SHOWN]:
            count = f"  {carrier.requests:>{cells},} req  "
            name = safe(carrier.name)
            if width is not None:
                room = width - len(count) - len(carrier.where) - 1
                name = shorten_middle(name, max(room, MIN_NAME_CELLS))
            out.append(count, style="bold")
            out.append(f"{carrier.where} ", style="dim")
            out.append(name)
            out.append("\n")
    out.rstrip()
    return out


def rate_caption(what: str, now: int, most: int, cells: int | None, span: str = "") -> str:
    """A sparkline's caption, ``what  (now N, max M, span)``, fitted to ``cells``: the
    span goes first, then the spaces and the brackets; the counts stay."""
    counts = f"now {now:,}, max {most:,}"
    for caption in (f"{what}  ({counts}, {span})" if span else "", f"{what}  ({counts})"):
        if caption and (cells is None or len(caption) <= cells):
            return caption
    short = f"{what} {counts}"
    return short if cells is None or len(short) <= cells else short[: max(cells - 1, 0)] + "…"


class ExposurePanel(ScrollsAtOnce):
    """Right-hand panel: exposure of identities, with request and identity sparklines."""

    DEFAULT_CSS = """
    ExposurePanel { padding: 0 1; background: $surface; scrollbar-gutter: stable; }
    ExposurePanel > .caption { height: 1; color: $text-muted; }
    ExposurePanel > Sparkline { height: 2; margin-bottom: 1; }
    ExposurePanel > #exposure-requests-spark > .sparkline--max-color { color: $accent; }
    ExposurePanel > #exposure-identities-spark > .sparkline--max-color { color: $error; }
    ExposurePanel > #exposure-identities-spark > .sparkline--min-color { color: $warning 50%; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.exposure = Exposure()
        self._drawn_version = -1
        self._drawn_width: int | None = None
        self._drawn_cleared = (0, 0)
        self.cleared = 0
        """Requests hidden by the view's clear point (labelled in the summary)."""
        self.deleted = 0
        """Rows taken out of the view with ``d`` (labelled in the summary)."""
        self.unfilled = 0
        """Earlier requests a recurring token's finding was not given to (the
        backfill's table was full: :attr:`capture.view.recurring.Backfill.cut`)."""
        self._body = Text("")
        self._body_lines = -1

    def compose(self) -> ComposeResult:
        yield Static(Text("Exposure", style="bold"), id="exposure-title")
        yield Static(Text(""), id="exposure-summary")
        yield Static(Text("requests/s", style="dim"), classes="caption", id="exposure-rps")
        yield Sparkline([0], id="exposure-requests-spark")
        yield Static(Text("identities/s", style="dim"), classes="caption", id="exposure-ips")
        yield Sparkline([0], id="exposure-identities-spark")
        yield Static(Text(""), id="exposure-body")

    def on_mount(self) -> None:
        self.set_interval(REDRAW_INTERVAL, self.redraw)
        self.redraw()

    def apply(self, events: list[Event]) -> None:
        """Count the requests of a batch (redrawn on the next tick)."""
        self.exposure.apply(events)

    def add_later(self, record: Record, findings: tuple[Finding, ...]) -> None:
        """Count ``findings``, found for the already counted ``record`` since (a token
        it carried recurred at a later request; redrawn on the next tick)."""
        self.exposure.add_later(record, findings)

    def note_unfilled(self, count: int) -> None:
        """The backfill has left ``count`` earlier requests without their token's
        finding so far (said in the summary, redrawn on the next tick)."""
        if count != self.unfilled:
            self.unfilled = count
            self.exposure.version += 1

    def advance(self, ts: float) -> None:
        """Capture time ``ts`` has come: the series move on even without traffic."""
        self.exposure.tick(ts)

    def recount(
        self, records: Iterable[Record], cleared: int, clock: float | None, deleted: int = 0
    ) -> None:
        """Count ``records`` afresh: what the view covers after a clear (``z``, none),
        a delete (``d``) or an undo (``u``); ``cleared``: how many requests the clear
        point hides, ``deleted``: how many rows ``d`` took out after it."""
        exposure = self.exposure
        exposure.clear()
        for record in records:
            exposure.add(record)
        if clock is not None:
            exposure.tick(clock)
        self.cleared = cleared
        self.deleted = deleted
        self.redraw()

    def _line_cells(self) -> int | None:
        """Cells a line of the body has (None before the first layout)."""
        width = self.scrollable_content_region.width
        return width if width > 0 else None

    def on_resize(self) -> None:
        # Long values are cut to the width: a new width draws them afresh.
        if self._line_cells() != self._drawn_width:
            self._drawn_version = -1
            self.redraw()

    def redraw(self) -> None:
        """Redraw if the aggregate (or the width) changed since the last time."""
        exposure = self.exposure
        if exposure.version == self._drawn_version:
            return
        self._drawn_width = self._line_cells()
        self._drawn_version = exposure.version
        # One-line widgets keep their size: no layout pass for them (a layout of the
        # whole screen twice a second would show as latency in the request list).
        self.query_one("#exposure-summary", Static).update(
            summary_text(exposure, self.cleared, self.deleted, self.unfilled),
            layout=(self.cleared, self.deleted) != self._drawn_cleared,
        )
        self._drawn_cleared = (self.cleared, self.deleted)
        requests, identities = exposure.series()
        # The last 60 seconds: one bar a second fits the panel.
        req = list(requests[-60:])
        ids = list(identities[-60:])
        cells = self._line_cells()
        self.query_one("#exposure-rps", Static).update(
            Text(rate_caption("requests/s", req[-1], max(req), cells, "last 60 s"), style="dim"),
            layout=False,
        )
        self.query_one("#exposure-ips", Static).update(
            Text(rate_caption("identities/s", ids[-1], max(ids), cells), style="dim"),
            layout=False,
        )
        self.query_one("#exposure-requests-spark", Sparkline).data = req
        self.query_one("#exposure-identities-spark", Sparkline).data = ids
        body = exposure_text(exposure, self._line_cells())
        if body != self._body:
            lines = body.plain.count("\n")
            self.query_one("#exposure-body", Static).update(body, layout=lines != self._body_lines)
            self._body, self._body_lines = body, lines


def _via(carriers: Sequence[str], width: int | None) -> tuple[str, str]:
    """The carriers an identity came in, as shown after "via" in ``width`` cells, and
    the count of those left out (`` +N``): up to three, whole; where even the first does
    not fit (a client names its headers: a long one), it alone, cut in its middle. A
    cut through the joined list made one name of two (``X-Carrier-S…N, header X.M``)."""
    shown: list[str] = []
    for carrier in carriers[:3]:
        left = len(carriers) - len(shown) - 1
        text = ", ".join([*shown, safe(carrier)])
        if width is not None and cell_len(text) + len(f" +{left}" if left else "") > width - 6:
            break
        shown.append(safe(carrier))
    if not shown:
        more = f" +{len(carriers) - 1}" if len(carriers) > 1 else ""
        first = shorten_middle(safe(carriers[0]), max((width or 0) - 6 - len(more), MIN_NAME_CELLS))
        return first, more
    left = len(carriers) - len(shown)
    return ", ".join(shown), f" +{left}" if left else ""
