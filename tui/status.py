"""The status line: source, filter, counters (packets or what a log holds, requests,
identities, dropped)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Collection
from dataclasses import dataclass, field

from rich.text import Text
from textual.widget import Widget

from capture.gaps import sides
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
    """``live``, ``replay`` (a capture played at its own pace: the demo), ``loading``,
    ``done`` or ``error``; ``filtering`` or ``searching`` while a worker does that."""
    stopped: str = ""
    """When an error stopped the live capture (``16:50:01``); "": it did not."""
    filter: str = ""
    filter_on: bool = True
    saved_view: int = 0
    """A session saved with the shown requests only: how many it shows (0: none)."""
    saved_view_on: bool = True
    saved_view_filter: str = ""
    """The filter that showed the saved view's requests ("" if unknown)."""
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
    "replay": "bold cyan",
    "loading": "bold yellow",
    "done": "bold",
    "error": "bold red",
    "filtering": "bold yellow",
    "searching": "bold yellow",
}


def status_text(status: Status, narrow: bool = False) -> Text:
    """The status line as Text (the source name and filter are data: kept literal).

    ``narrow``: the short line, for a line too narrow for the whole text. Words
    shorten (``req``, ``ids``) and the source name is left to the title bar;
    :func:`fitted` gives up more of it, as :data:`SHORTENING` says, where even that
    does not fit.
    """
    if narrow:
        return _short_text(status)
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
        if status.saved_view_filter:
            out.append(" of ", style="dim")
            out.append(
                safe(status.saved_view_filter),
                style="bold" if status.saved_view_on else "dim strike",
            )
        if not status.saved_view_on:
            out.append(" (off)", style="dim")
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
    if stats.get("gaps"):
        # By side, as the stderr summary and the report say them (the dashboard
        # reads every server's bytes): a scan's summary counts the client side only.
        (client, _), (server, _), (unknown, _) = sides(dict(stats.counters))
        hit = f" ({counted(stats.get('gap_requests'), 'request')} hit)" if client else ""
        gaps = f"gaps: {client:,} client side{hit}, {server:,} server side"
        if unknown:
            gaps += f", {unknown:,} before the client was known"
        out.append(f" · {gaps}", style="yellow")
    ignored = stats.get("echoes_unsigned")
    if ignored:
        # --echo-key refused them: a site forging echoes, or a reflector with another key.
        out.append(
            f" · {counted(ignored, 'unsigned echo', 'unsigned echoes')} ignored", style="yellow"
        )
    unrecorded = stats.get("unrecorded")
    if unrecorded:
        # The notice that said so goes after a few seconds; what w can save is less.
        out.append(f" · spool full: {counted(unrecorded, 'frame')} not recorded", style="yellow")
    unwritten = stats.get("unwritten")
    if unwritten:
        # A write error (disk full) stopped the recording: w saves less than is shown.
        out.append(
            f" · recording stopped: {counted(unwritten, 'frame')} not recorded", style="yellow"
        )
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


def short_count(n: int) -> str:
    """``n`` in at most four cells (below 10¹²), as ``ls -h`` writes sizes: ``987``,
    ``1.2k``, ``12k``, ``123k``, ``1.2M``.

    Rounded down, so that a count never reads as more than it is (``999`` stays
    ``999``; ``1,999`` is ``1.9k``).
    """
    if n < 1000:
        return str(n)
    scale, unit = next((s, u) for s, u in ((10**9, "G"), (10**6, "M"), (1000, "k")) if n >= s)
    if n < 10 * scale:
        tenths = n * 10 // scale
        return f"{tenths // 10}.{tenths % 10}{unit}"
    return f"{n // scale:,}{unit}"


SHORTENING = (
    "deleted",  # "(3 deleted)": the whole line says it, and u brings them back
    "cleared",  # "(3 cleared)": likewise
    "sorted rows",  # "(5,000 rows)" beside the order
    "gap hits",  # the "/2 req" of "3 gaps/2 req"
    "exact counts",  # 1,234,567 → 1.2M (short_count)
    "requests",  # "28 req"
    "new count",  # the "· 4 new" after "paused"
    "stopped at",  # the time of "stopped 16:50:01"
    "source name",  # the interface or followed file: the title bar has it
    # "1 shown": under a filter, what the list holds of all the requests (it went
    # first, and a filtered view at 60 columns said "28 req" and not how many it showed).
    "shown",
    "filter text",  # the expression becomes the word "filter"
    "gaps",
    "filter",
    "saved",
    "marked",
    "evicted",
)
"""What the short status line gives up, first to last, until it fits its width.

Never given up: the state (``live``, ``done``, …), ``stopped``, ``down``, ``paused``,
the identities, the drops, ``spool full`` and the end (``follow``, ``no follow`` or
the order sorted by): what changes what the user sees or must act on. At 80 columns
(78 cells inside the padding) they all fit at once: a live capture stopped, its
interface down, its spool full, paused and sorted by identities, with counts up to
999G, takes 78 (``tests/tui/test_narrow.py``)."""


@dataclass(frozen=True, slots=True)
class _Piece:
    """A part of the short status line."""

    text: str
    style: str = ""
    gone_with: str = ""
    """The entry of :data:`SHORTENING` that takes it off the line ("": never)."""
    sep: str = " · "
    """What goes before it, unless it starts its group."""


def _short_groups(status: Status, cuts: Collection[str]) -> list[list[_Piece]]:
    """The short line's groups (those between ``│``), given up to ``cuts``."""
    number = short_count if "exact counts" in cuts else "{:,}".format
    state_style = _STATE_STYLE.get(status.state, "bold")
    named = "source name" not in cuts
    source = safe(status.source)
    # The title bar has the source's name; a live source keeps its interface, and a
    # followed proxy says it is one, with the file it follows (its name, cut: the
    # title bar has the whole path).
    if source.startswith(f"{status.state} "):
        head = [_Piece(source if named else status.state, state_style)]
    elif source.startswith("proxy "):
        followed = f" {_cut(os.path.basename(source[6:]) or source[6:])}" if named else ""
        head = [_Piece("proxy" + followed, "bold"), _Piece(status.state, state_style, sep=" ")]
    else:
        head = [_Piece(status.state, state_style)]
    if status.stopped:
        at = "" if "stopped at" in cuts else f" {status.stopped}"
        head.append(_Piece("stopped" + at, "bold red", sep=" "))
    if status.stats.get("iface_down"):
        head.append(_Piece("down", "bold red", sep=" "))
    if status.paused:
        head.append(_Piece("paused", "bold reverse yellow", sep=" "))
        head.append(_Piece(f"{number(status.new_while_paused)} new", "yellow", "new count"))
    view = []
    if status.filter:
        # Cut, so a long filter cannot push the counts off the line.
        text = "filter" if "filter text" in cuts else _cut(safe(status.filter))
        view.append(_Piece(text, "bold" if status.filter_on else "dim strike", "filter"))
        if not status.filter_on:
            # The style alone is lost where strike is not shown (many terminals, tmux).
            view.append(_Piece("(off)", "dim", "filter", sep=" "))
    if status.saved_view:
        style = "bold cyan" if status.saved_view_on else "dim strike"
        view.append(_Piece("saved", style, "saved", sep=" "))
        if status.saved_view_filter and "filter text" not in cuts:
            shown_by = _cut(safe(status.saved_view_filter))
            view.append(
                _Piece(shown_by, "bold" if status.saved_view_on else "dim strike", "saved", " ")
            )
        if not status.saved_view_on:
            view.append(_Piece("(off)", "dim", "saved", sep=" "))
    if status.marked_only:
        view.append(_Piece("marked", "bold magenta", "marked"))
    stats = status.stats
    identities, drops = stats.get("identities"), dropped(stats)
    counts = [
        _Piece(f"{number(stats.get('requests'))} req", gone_with="requests"),
        _Piece(f"{number(identities)} ids", "bold red" if identities else ""),
        _Piece(f"{number(drops)} dropped", "bold red" if drops else ""),
    ]
    if status.evicted:
        counts.append(_Piece(f"{number(status.evicted)} evicted", "bold red", "evicted"))
    if stats.get("gaps"):
        # Client side + server side (+ before the client was known), as the wide line.
        (client, _), (server, _), (unknown, _) = sides(dict(stats.counters))
        gaps = f"{number(client)}+{number(server)}" + (f"+{number(unknown)}" if unknown else "")
        hit = stats.get("gap_requests")
        # Gaps that hit no request are only counted: "/0 req" would push the end off.
        hits = f"/{number(hit)} req" if hit and "gap hits" not in cuts else ""
        counts.append(_Piece(f"{gaps} gaps{hits}", "yellow", "gaps"))
    if stats.get("unrecorded"):
        counts.append(_Piece("spool full", "yellow"))
    if stats.get("unwritten"):
        counts.append(_Piece("not recording", "yellow"))
    end = [_Piece(f"{number(status.shown)} shown", gone_with="shown")]
    if status.cleared:
        end.append(_Piece(f"({number(status.cleared)} cleared)", "dim", "cleared", " "))
    if status.deleted:
        end.append(_Piece(f"({number(status.deleted)} deleted)", "dim", "deleted", " "))
    if status.order:
        end.append(_Piece(status.order, "bold cyan"))
        if status.sorted_rows:
            rows = f"({number(status.sorted_rows)} rows)"
            end.append(_Piece(rows, "dim", "sorted rows", " "))
    elif not status.paused:
        following = "follow" if status.follow else "no follow"
        end.append(_Piece(following, "green" if status.follow else "dim"))
    return [[p for p in group if p.gone_with not in cuts] for group in (head, view, counts, end)]


def _short_text(status: Status, cuts: Collection[str] = ()) -> Text:
    """The short status line, with what ``cuts`` names given up."""
    out = Text(no_wrap=True, overflow="ellipsis", end="")
    for group in _short_groups(status, cuts):
        if not group:
            continue
        if out:
            out.append(" │ ", style="dim")
        for i, piece in enumerate(group):
            if i:
                out.append(piece.sep)
            out.append(piece.text, style=piece.style)
    return out


def fitted(status: Status, width: int) -> Text:
    """The status line for ``width`` cells: whole if it fits, else the short line,
    giving up what :data:`SHORTENING` names, in its order, until it fits (all of it,
    and cut with ``…``, if nothing does)."""
    shorter = (_short_text(status, SHORTENING[:n]) for n in range(len(SHORTENING) + 1))
    for line in itertools.chain((status_text(status),), shorter):
        if line.cell_len <= width:
            break
    return line


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
        return fitted(self.status, self.content_region.width)
