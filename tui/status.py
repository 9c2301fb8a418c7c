"""The status line: source, filter, counters (packets or what a log holds, requests,
identities, dropped)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from rich.text import Text
from textual.widget import Widget

from capture.model import StatsSnapshot
from capture.text import counted
from tui.render import safe

DROP_COUNTERS = (
    "kernel_drops",
    "queue_drops",
    "stream_buffer_overflows",
    "total_buffer_overflows",
    "flows_evicted",
)
"""Counters of what was lost before it could be parsed (live sources add the first two)."""


@dataclass(frozen=True, slots=True)
class Status:
    """Everything the status line shows."""

    source: str = ""
    state: str = "live"
    """``live``, ``loading``, ``done`` or ``error``; ``filtering`` or ``searching``
    while a worker does that."""
    stopped: str = ""
    """When an error stopped the live capture (``16:50:01``); "": it did not."""
    filter: str = ""
    filter_on: bool = True
    saved_view: int = 0
    """A session saved with the shown requests only: how many it shows (0: none)."""
    saved_view_on: bool = True
    marked_only: bool = False
    follow: bool = True
    paused: bool = False
    new_while_paused: int = 0
    shown: int = 0
    sorted_rows: int = 0
    """Sorted by a column while the list's window holds only some of the shown rows:
    how many it holds, the rows sorted (0: all of them)."""
    evicted: int = 0
    """Oldest requests dropped from the store because it was full."""
    cleared: int = 0
    """Requests hidden by ``z`` (``u`` brings them back)."""
    deleted: int = 0
    """Requests taken out of the view with ``d`` (``u`` brings them back)."""
    order: str = ""
    """The list's order when sorted by a column (``host ▲``); "": time order."""
    stats: StatsSnapshot = field(default_factory=StatsSnapshot)
    noun: tuple[str, str] | None = None
    """What the source's requests read already parsed are called (``HTTP events``:
    an input kind's :attr:`~capture.sources.inputs.InputKind.noun`), counted in those
    words; None for a source of frames only, counted in packets."""


def dropped(stats: StatsSnapshot) -> int:
    """Everything lost: kernel and queue drops, buffer overflows, evicted connections."""
    return sum(stats.get(name) for name in DROP_COUNTERS)


NARROW_FILTER = 16
"""Cells of the filter expression, and of the name of a followed proxy's file, on a
short status line (the filter bar and the title have them whole)."""

_STATE_STYLE = {
    "live": "bold green",
    "loading": "bold yellow",
    "done": "bold",
    "error": "bold red",
    "filtering": "bold yellow",
    "searching": "bold yellow",
}


def status_text(status: Status, narrow: bool = False) -> Text:
    """The status line as Text (the source name and filter are data: kept literal).

    ``narrow``: for a line too narrow for the whole text. Words shorten (``req``,
    ``ids``) and the source name is left to the title bar, but the counts of
    identities and drops and the following or paused state stay.
    """
    if narrow:
        return _narrow_text(status)
    out = Text(no_wrap=True, overflow="ellipsis", end="")
    state_style = _STATE_STYLE.get(status.state, "bold")
    source = safe(status.source)
    state_first = f"{status.state} "
    if source.startswith(state_first):
        # A live source is named "live IFACE": its state leads, once ("live lo").
        out.append(status.state, style=state_style)
        out.append(" " + source[len(state_first) :], style="bold")
    else:
        out.append(source, style="bold")
        out.append(f" {status.state}", style=state_style)
    if status.stopped:
        out.append(f" · capture stopped {status.stopped}", style="bold red")
    if status.stats.get("iface_down"):
        # Kept while it lasts: after the notice, a quiet list would read as no traffic.
        out.append(" · interface down (waiting)", style="bold red")
    if status.paused:
        out.append(" · ")
        out.append("paused", style="bold reverse yellow")
        out.append(f" · {status.new_while_paused:,} new", style="yellow")
    out.append(" │ ", style="dim")
    if status.filter:
        out.append("filter ", style="dim")
        out.append(safe(status.filter), style="bold" if status.filter_on else "dim strike")
        if not status.filter_on:
            out.append(" (off)", style="dim")
    elif not status.saved_view:
        out.append("no filter", style="dim")
    if status.saved_view:
        out.append(" · " if status.filter else "")
        out.append(
            f"saved view ({status.saved_view:,})",
            style="bold cyan" if status.saved_view_on else "dim strike",
        )
    if status.marked_only:
        out.append(" · marked only", style="bold magenta")
    out.append(" │ ", style="dim")
    stats = status.stats
    identities = stats.get("identities")
    drops = dropped(stats)
    packets = stats.get("packets")
    if status.noun is None or packets:  # (packets beside a log: open x.pcap eve.json)
        out.append(f"{counted(packets, 'packet')} · ")
    if status.noun is not None:
        out.append(f"{counted(stats.get('parsed'), *status.noun)} · ")
    out.append(f"{counted(stats.get('requests'), 'request')} · ")
    out.append(
        counted(identities, "identity", "identities"), style="bold red" if identities else ""
    )
    out.append(" · ")
    out.append(f"{drops:,} dropped", style="bold red" if drops else "")
    if status.evicted:
        out.append(f" · {status.evicted:,} evicted from store", style="bold red")
    gaps = stats.get("gaps")
    if gaps:
        touched = stats.get("gap_requests")
        out.append(f" · {counted(gaps, 'gap')} ({counted(touched, 'request')} hit)", style="yellow")
    unrecorded = stats.get("unrecorded")
    if unrecorded:
        # The notice that said so goes after a few seconds; what w can save is less.
        out.append(f" · spool full: {counted(unrecorded, 'frame')} not recorded", style="yellow")
    out.append(" │ ", style="dim")
    out.append(f"{status.shown:,} shown")
    if status.cleared:
        out.append(f" ({status.cleared:,} cleared by z)", style="dim")
    if status.deleted:
        out.append(f" ({status.deleted:,} deleted by d)", style="dim")
    if status.order:
        # Follow waits while sorted: the newest row has no fixed place.
        out.append(" · ")
        out.append(f"sorted by {status.order}", style="bold cyan")
        about = f"{status.sorted_rows:,} rows about the cursor; " if status.sorted_rows else ""
        out.append(f" ({about}follow paused)", style="dim")
        return out
    if status.paused:
        # Nothing moves while paused: "following" would say otherwise (the line
        # says "paused · N new" after the source).
        return out
    out.append(" · ")
    out.append(
        "following" if status.follow else "not following", style="green" if status.follow else "dim"
    )
    return out


def _cut(text: str) -> str:
    """``text`` cut to :data:`NARROW_FILTER` cells with ``…`` (on the short line)."""
    return text if len(text) <= NARROW_FILTER else text[: NARROW_FILTER - 1] + "…"


def _narrow_text(status: Status) -> Text:
    out = Text(no_wrap=True, overflow="ellipsis", end="")
    state_style = _STATE_STYLE.get(status.state, "bold")
    source = safe(status.source)
    # The title bar has the source's name; a live source keeps its interface, and a
    # followed proxy says it is one, with the file it follows (its name, cut: the
    # title bar has the whole path).
    if source.startswith(f"{status.state} "):
        out.append(source, state_style)
    elif source.startswith("proxy "):
        out.append(f"proxy {_cut(os.path.basename(source[6:]) or source[6:])} ", style="bold")
        out.append(status.state, state_style)
    else:
        out.append(status.state, state_style)
    if status.stopped:
        out.append(f" stopped {status.stopped}", style="bold red")
    if status.stats.get("iface_down"):
        out.append(" down", style="bold red")
    if status.paused:
        out.append(" ")
        out.append("paused", style="bold reverse yellow")
        out.append(f" · {status.new_while_paused:,} new", style="yellow")
    if status.filter:
        # Cut, so a long filter cannot push the counts off the line.
        out.append(" │ ", style="dim")
        out.append(_cut(safe(status.filter)), style="bold" if status.filter_on else "dim strike")
    if status.saved_view:
        out.append(" │ " if not status.filter else " ", style="dim")
        out.append("saved", style="bold cyan" if status.saved_view_on else "dim strike")
    if status.marked_only:
        out.append(" · marked", style="bold magenta")
    out.append(" │ ", style="dim")
    stats = status.stats
    identities = stats.get("identities")
    drops = dropped(stats)
    out.append(f"{stats.get('requests'):,} req · ")
    out.append(f"{identities:,} ids", style="bold red" if identities else "")
    out.append(" · ")
    out.append(f"{drops:,} dropped", style="bold red" if drops else "")
    if status.evicted:
        out.append(f" · {status.evicted:,} evicted", style="bold red")
    gaps = stats.get("gaps")
    if gaps:
        hit = stats.get("gap_requests")
        # Gaps that hit no request are only counted: "/0 req" would push the end off.
        out.append(f" · {gaps:,} gaps" + (f"/{hit:,} req" if hit else ""), style="yellow")
    if stats.get("unrecorded"):
        out.append(" · spool full", style="yellow")
    out.append(" │ ", style="dim")
    out.append(f"{status.shown:,} shown")
    if status.cleared:
        out.append(f" ({status.cleared:,} cleared)", style="dim")
    if status.deleted:
        out.append(f" ({status.deleted:,} deleted)", style="dim")
    if status.order:
        out.append(" · ")
        out.append(status.order, style="bold cyan")
        if status.sorted_rows:
            out.append(f" ({status.sorted_rows:,} rows)", style="dim")
    elif not status.paused:
        out.append(" · ")
        out.append(
            "follow" if status.follow else "no follow", style="green" if status.follow else "dim"
        )
    return out


class StatusLine(Widget):
    """One line at the bottom of the main screen."""

    DEFAULT_CSS = """
    StatusLine {
        height: 1;
        background: $panel;
        color: $text;
        padding: 0 1;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.status = Status()

    def set(self, status: Status) -> None:
        """Show ``status``."""
        if status != self.status:
            self.status = status
            self.refresh()

    def render(self) -> Text:
        full = status_text(self.status)
        if full.cell_len <= self.content_region.width:
            return full
        return status_text(self.status, narrow=True)
