"""The status line: source, filter, counters (packets, requests, identities, dropped)."""

from __future__ import annotations

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
    """``live``, ``loading``, ``done`` or ``error``."""
    filter: str = ""
    filter_on: bool = True
    marked_only: bool = False
    follow: bool = True
    paused: bool = False
    new_while_paused: int = 0
    shown: int = 0
    trimmed: int = 0
    evicted: int = 0
    """Oldest requests dropped from the store because it was full."""
    stats: StatsSnapshot = field(default_factory=StatsSnapshot)


def dropped(stats: StatsSnapshot) -> int:
    """Everything lost: kernel and queue drops, buffer overflows, evicted connections."""
    return sum(stats.get(name) for name in DROP_COUNTERS)


def status_text(status: Status) -> Text:
    """The status line as Text (the source name and filter are data: kept literal)."""
    out = Text(no_wrap=True, overflow="ellipsis", end="")
    state_style = {
        "live": "bold green",
        "loading": "bold yellow",
        "done": "bold",
        "error": "bold red",
        "filtering": "bold yellow",
    }.get(status.state, "bold")
    source = safe(status.source)
    state_first = f"{status.state} "
    if source.startswith(state_first):
        # A live source is named "live IFACE": its state leads, once ("live lo").
        out.append(status.state, style=state_style)
        out.append(" " + source[len(state_first) :], style="bold")
    else:
        out.append(source, style="bold")
        out.append(f" {status.state}", style=state_style)
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
    else:
        out.append("no filter", style="dim")
    if status.marked_only:
        out.append(" · marked only", style="bold magenta")
    out.append(" │ ", style="dim")
    stats = status.stats
    identities = stats.get("identities")
    drops = dropped(stats)
    packets, requests = stats.get("packets"), stats.get("requests")
    out.append(f"{counted(packets, 'packet')} · {counted(requests, 'request')} · ")
    out.append(
        counted(identities, "identity", "identities"), style="bold red" if identities else ""
    )
    out.append(" · ")
    out.append(f"{drops:,} dropped", style="bold red" if drops else "")
    if status.evicted:
        out.append(f" · {status.evicted:,} evicted from store", style="bold red")
    gaps = stats.get("gaps")
    if gaps:
        out.append(f" · {counted(gaps, 'gap')}", style="yellow")
    out.append(" │ ", style="dim")
    out.append(f"{status.shown:,} shown")
    if status.trimmed:
        out.append(f" (last {status.shown:,}; {status.trimmed:,} older in store)", style="dim")
    out.append(" · ")
    out.append(
        "following" if status.follow else "not following", style="green" if status.follow else "dim"
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
        return status_text(self.status)
