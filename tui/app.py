"""The dashboard: one Textual app over a frame source (``demo``, ``open``, ``live``).

Data flow (one direction)::

    FrameSource ─▶ Runner thread (Pipeline) ─post_message▶ HeaderwatchApp ─▶ Store ─▶ view
                    adaptive batches             EventsArrived       everything   filter +
                    + StatsUpdated/LoadProgress  (never merged)                   bounded list

The app only consumes the core's events. The store keeps every request; the
view is a filter over it (re-filtering never re-parses) shown in a bounded
window of rows. Wire data reaches the screen only through :mod:`tui.render`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol

from textual import events, on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.driver import Driver
from textual.drivers.linux_driver import LinuxDriver
from textual.filter import Monochrome
from textual.notifications import Notification
from textual.screen import Screen
from textual.widgets import Header, ProgressBar
from textual.worker import get_current_worker

from capture.config import ConfigError, load_config
from capture.formats.copy import CopyError, curl_command, identity_value, request_text
from capture.formats.export import ExportError, export
from capture.formats.jsonl import dumps_entry
from capture.formats.outputs import OUTPUTS
from capture.formats.pcapng import describe_os_error
from capture.formats.private import open_private
from capture.formats.record_session import RecordRecording, save_record_session
from capture.formats.session import (
    RestoreResult,
    SessionAnnotations,
    SessionError,
    SessionInfo,
    count_kept,
    load_annotations,
    save_session,
)
from capture.model import (
    EchoSeen,
    Event,
    Notice,
    Record,
    RequestSeen,
    ResponseSeen,
    StatsSnapshot,
    identities_seen,
)
from capture.pipeline import Detector, Pipeline
from capture.runner import Runner
from capture.sources.recording import Recorded, RecordingSource
from capture.sources.source import FileSource, FrameSource, Halt, ReplaySource, halt_of
from capture.sources.spool import size_text
from capture.text import counted, printable
from capture.view.filter import Filter, compile_filter
from capture.view.order import TIME, next_order
from capture.view.recurring import Backfill
from capture.view.selection import EXIT_FAILED, EXIT_USAGE
from capture.view.state import Refilter, SearchJob, ViewState, search_order
from capture.view.store import Entry, Snapshot, Store
from tui import keys as keymod
from tui.common import not_redacted
from tui.detail import DetailPane
from tui.exposure_panel import ExposurePanel
from tui.filter_bar import FilterBar
from tui.footer import KeyFooter
from tui.gc_pauses import GcPauses
from tui.messages import (
    EventsArrived,
    LoadProgress,
    SearchProgress,
    SourceFinished,
    StatsUpdated,
)
from tui.monochrome import SignalMonochrome
from tui.render import safe
from tui.request_list import DEFAULT_WINDOW, RequestList
from tui.screens import (
    CommentScreen,
    HelpScreen,
    QuitScreen,
    SaveRequest,
    SaveScreen,
    SearchScreen,
    default_name,
)
from tui.status import Status, StatusLine
from tui.stop_signals import HangupSafeDriver, exit_status, stopping_on_signals

BATCH_INTERVAL = 0.1
"""Seconds between batches from the capture thread when nothing else makes one due
(the status line's refresh). Requests come sooner: the runner's
:class:`~capture.runner.FlushPolicy` hands them over as soon as the source is idle
or 20 ms after the first (at least :data:`MIN_BATCH_GAP` after the previous batch),
and batches larger only while traffic is heavy."""

MIN_BATCH_GAP = 0.05
"""Seconds at least between two batches of requests: each costs the UI thread a
status line and a screen update whatever its size, and the UI shares the GIL with
the capture thread. bench/ui_bench.py at 2,000 requests/s on the loaded 2-CPU VM:
batches 20 ms apart fell behind (p95 0.9 s), and so did 50 ms while full garbage
collections stopped the UI for up to 0.3 s each; with those kept short
(:mod:`tui.gc_pauses`) 50 ms keeps up to 6,000 requests/s and halves the wait
that 100 ms gave (row p95 93-133 ms at 2,000/s, against 189-282 ms). A request
after a quiet spell still goes at once. (Holding batches back while the UI had a
backlog did not help.)"""

MAX_BACKLOG = 5_000
"""Events handed to the UI thread and not yet taken in: beyond this the capture
thread waits. The events queued in between would each hold a request the store has
already spilled, or is about to, and nothing else bounds them. A file is read far
faster than the screen takes it in; live, the source's own bounded queue fills
meanwhile and counts what it cannot keep (queue drops), where the queue to the
screen grew without bound (the live bench's traffic at 20,000 frames/s from an
in-process source on a loaded 2-CPU VM: 57,000 events waiting, 150 MB)."""
MAX_BACKLOG_BYTES = 64 * 1024 * 1024
"""Wire bytes (heads and bodies) the events handed to the UI thread and not yet taken
in may hold: beyond this, too, the capture thread waits. :data:`MAX_BACKLOG` events
alone would let a sender of large requests (64 KiB heads, 64 KiB bodies kept) hold
640 MB waiting for the screen."""
KEPT_COUNTING = " (with their connections: counting…)"
"""The save dialog's note while a worker counts what a session of the shown holds."""
ERROR_NOTICE_SECONDS = 30.0
"""How long a capture source's error stays on screen (other notices: Textual's 5 s)."""

THREAD_FILTER_THRESHOLD = 20_000
"""Stores larger than this are filtered in a worker thread (the UI stays responsive);
a search (``n``, ``N``) looks at no more rows than this on the UI thread."""
SEARCH_NOTE_AFTER = 0.5
"""Seconds a search goes on in a worker before a notice says so (and that esc stops it)."""


NARROW_WIDTH = 120
"""Under this many columns the layout is narrow: the exposure panel is an overlay
(hidden until ``e``), the list has no scrollbar, the status line and footer are
short. From this width up the panel sits beside the list."""

WIDE_WIDTH = 160
"""From this width up the exposure panel is 52 columns wide (40 below)."""


EXPORT_FORMATS = ("har", *(name for name in OUTPUTS if name != "har"))
"""What ``x`` offers: every output format, HAR (the evidence format) first."""
REPORT_FORMATS = ("html", "md")
"""What the palette's evidence report offers (:mod:`capture.report`)."""
REPORT_COMMAND = "Write evidence report (all / shown)"


class MainScreen(Screen[None]):
    """Request list, detail pane, exposure panel, filter bar, status line."""

    BINDINGS: ClassVar[list[BindingType]] = keymod.bindings()  # type: ignore[assignment]

    def __init__(self, hw: HeaderwatchApp) -> None:
        super().__init__(id="main")
        self._detail_before_full = False
        """Whether the detail pane was open when the full view was (``+``)."""
        self.hw = hw
        self.view = ViewState(hw.store, hw.initial_filter)
        """What is shown (filter, pause, clear point): decided there, drawn here."""
        self.ready = False
        """Mounted: widgets can be queried."""
        self.narrow = False
        """The terminal is under :data:`NARROW_WIDTH` columns."""
        self.search: Filter | None = None
        """The search of s, n and N (the filter grammar; rows are not hidden)."""
        self.searching: SearchJob | None = None
        """The search going on in a worker, if one is."""
        self.search_progress = (0, 0)
        """Rows that search has looked at, of how many (the progress bar)."""
        self.exposure_shown = {False: True, True: False}
        """Whether the exposure panel is shown, for wide and for narrow layouts (``e``
        sets it for the layout in effect; a resize shows the other layout's choice)."""

    # -- layout ---------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="◉")
        with Horizontal(id="body"):
            with Vertical(id="left"):
                store = self.hw.store
                yield RequestList(
                    store.get,
                    store.has_comment,
                    store.sort_fields,
                    window=self.hw.window,
                    utc=self.hw.utc,
                    id="requests",
                )
                yield DetailPane(utc=self.hw.utc, id="detail")
            yield ExposurePanel(id="exposure")
        yield FilterBar(self.view.history, id="filter-bar")
        yield ProgressBar(id="progress", show_eta=False)
        yield StatusLine(id="status")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.ready = True
        self.fit_width(self.app.size.width)
        self.requests.focus()
        self.show_progress()
        self.update_status()
        self.hw.ingest(())  # anything that arrived before the screen was up
        self.hw.apply_annotations()

    def on_resize(self, event: events.Resize) -> None:
        if self.ready:
            self.fit_width(event.size.width)

    def fit_width(self, width: int) -> None:
        """Lay out for a terminal ``width`` columns wide (at start and on every resize)."""
        self.narrow = width < NARROW_WIDTH
        self.set_class(self.narrow, "-narrow")
        self.set_class(width >= WIDE_WIDTH, "-wide")
        self.exposure.set_class(not self.exposure_shown[self.narrow], "-hidden")
        footer = self.query_one(KeyFooter)
        footer.narrow = self.narrow
        # Only a narrow footer leaves keys out: a wide one is not composed again for
        # each column a resize adds or takes.
        footer.columns = width if self.narrow else 0

    @property
    def requests(self) -> RequestList:
        """The request list."""
        return self.query_one("#requests", RequestList)

    @property
    def detail(self) -> DetailPane:
        """The detail pane."""
        return self.query_one("#detail", DetailPane)

    @property
    def exposure(self) -> ExposurePanel:
        """The exposure panel."""
        return self.query_one("#exposure", ExposurePanel)

    @property
    def filter_bar(self) -> FilterBar:
        """The filter input."""
        return self.query_one("#filter-bar", FilterBar)

    @property
    def status_line(self) -> StatusLine:
        """The status line."""
        return self.query_one("#status", StatusLine)

    # -- the view ---------------------------------------------------------------------

    def ingest(self, changed: Sequence[Entry]) -> None:
        """Entries were added or changed in the store: update the view."""
        if not changed:
            return
        arrived = self.view.arrive(changed)
        requests = self.requests
        if arrived.append:
            requests.append(arrived.append)
        if arrived.updated:
            late = self.view.late_matches(arrived.updated, requests.all_ids)
            if late:
                requests.insert(late)
            requests.changed(e.record.id for e in arrived.updated)
            detail = self.detail
            shown_id = detail.entry_id if detail.is_open else None
            if shown_id is not None and any(e.record.id == shown_id for e in arrived.updated):
                detail.show(self.hw.store.get(shown_id))
        self.update_status()

    def refilter(self, keep: int | None = None) -> None:
        """Recompute the shown rows from the store (filter, marked-only, clear point)."""
        job = self.view.start_refilter()
        if keep is None:
            keep = self.requests.cursor_id
        if len(job.entries) > THREAD_FILTER_THRESHOLD:
            self.view.filtering = True
            self.update_status()
            self._filter_in_thread(job, keep)
        else:
            self._filtered(job, job.run(), keep)

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="filter",
        description="re-filter the store for the view",
    )
    def _filter_in_thread(self, job: Refilter, keep: int | None) -> None:
        self.app.call_from_thread(self._filtered, job, job.run(), keep)

    def _filtered(self, job: Refilter, ids: list[int], keep: int | None) -> None:
        rows = self.view.finish_refilter(job, ids)
        if rows is None:
            return  # a newer filter was asked for meanwhile
        self.requests.set_rows(rows, keep=keep)
        self.update_status()

    def show_progress(self) -> None:
        """The progress bar while a search goes on in a worker, or else while a file
        source is being read."""
        progress = self.query_one("#progress", ProgressBar)
        done, total = self.search_progress if self.searching is not None else self.hw.progress
        shown = self.searching is not None or (bool(total) and self.hw.state == "loading")
        progress.set_class(shown, "-loading")
        if shown:
            progress.update(total=total, progress=done)

    def update_status(self) -> None:
        """Refresh the status line from the current state."""
        hw, view = self.hw, self.view
        requests = self.requests
        self.status_line.set(
            Status(
                source=hw.source_name,
                state="filtering"
                if view.filtering
                else "searching"
                if self.searching is not None
                else hw.state,
                stopped=time.strftime("%H:%M:%S", time.localtime(hw.halted.at))
                if hw.halted is not None
                else "",
                filter=view.filter_expr,
                filter_on=view.filter_on,
                saved_view=len(view.saved_view) if view.saved_view is not None else 0,
                saved_view_on=view.saved_view_on,
                saved_view_filter=view.saved_view_filter,
                marked_only=view.marked_only,
                follow=requests.follow,
                paused=view.paused_at is not None,
                new_while_paused=view.new_while_paused,
                shown=requests.total,
                sorted_rows=len(requests.ids) if requests.order_label and requests.beyond else 0,
                stats=hw.stats,
                # A file or followed source of records says what they are (a log's
                # HTTP events, not packets); a capture's or interface's has no noun.
                noun=getattr(hw.source, "noun", None),
                evicted=hw.store.evicted,
                cleared=view.cleared,
                deleted=view.deleted_shown,
                order=requests.order_label,
            )
        )

    # -- messages from widgets ----------------------------------------------------------

    @on(RequestList.Highlighted)
    def _highlighted(self, event: RequestList.Highlighted) -> None:
        if self.detail.is_open:
            self.detail.show(self.hw.store.get(event.entry_id) if event.entry_id else None)

    @on(RequestList.Selected)
    def _selected(self, event: RequestList.Selected) -> None:
        self.open_detail()

    @on(RequestList.FollowChanged)
    def _follow_changed(self, event: RequestList.FollowChanged) -> None:
        self.update_status()

    @on(FilterBar.Applied)
    def _filter_applied(self, event: FilterBar.Applied) -> None:
        self.view.set_filter(event.expr, event.filter)
        self.requests.focus()
        self.refilter()

    def apply_filter(self, expr: str) -> None:
        """Set and apply a filter expression (from the command palette); must be valid."""
        self.view.set_filter(expr)
        self.refilter()

    @on(FilterBar.Closed)
    def _filter_closed(self, event: FilterBar.Closed) -> None:
        self.requests.focus()

    # -- actions (keys in tui.keys) ---------------------------------------------------

    def action_help(self) -> None:
        """Show the keys and the filter grammar."""
        self.app.push_screen(HelpScreen(keymod.effective_keys(self.hw.keymap)))

    def action_filter(self) -> None:
        """Open the filter input."""
        self.filter_bar.open(self.view.filter_expr)

    def action_toggle_filter(self) -> None:
        """Switch the filter off and on again (the expression is kept)."""
        if not self.view.toggle_filter():
            self.app.notify("no filter set (f or / to set one)", severity="warning")
            return
        self.refilter()

    def action_search(self) -> None:
        """Ask for a search (filter grammar) and jump to the next match."""

        def done(expr: str | None) -> None:
            if expr is None:
                return
            if self.searching is not None:
                self.stop_search(say=False)
            self.search = compile_filter(expr) if expr else None
            if self.search is not None:
                self.action_search_step(1)

        self.app.push_screen(SearchScreen(self.search.expr if self.search else ""), done)

    def action_search_step(self, step: int) -> None:
        """Move the cursor to the next (1) or previous (-1) row matching the search, in
        time order among every shown row. Rows in memory about the cursor are looked at
        here (a match nearby comes at once); the rest, spilled to disk or too many, in
        a worker, the status line saying ``searching`` over a progress bar (esc stops)."""
        search = self.search
        if search is None:
            self.app.notify("no search (s to search)", severity="warning")
            return
        if self.searching is not None:
            self.app.notify("still searching (esc stops)", severity="warning")
            return
        ids, start = self.requests.search_rows()
        held, match = self.hw.store.held, search.match
        for done, (index, wrapped) in enumerate(search_order(len(ids), start, step)):
            entry = held(ids[index])
            if entry is None or done == THREAD_FILTER_THRESHOLD:
                break
            if match(entry):
                self._search_found(ids[index], wrapped, step)
                return
        else:
            self._no_match()
            return
        job = SearchJob(ids, start, step, done, self.hw.store.snapshot(), match)
        self.searching = job
        self.search_progress = (done, len(ids))
        self.show_progress()
        self.update_status()
        self.set_timer(SEARCH_NOTE_AFTER, lambda: self._search_note(job))
        self._search_in_thread(job)

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="search",
        description="search the shown requests, reading spilled ones from disk",
    )
    def _search_in_thread(self, job: SearchJob) -> None:
        worker = get_current_worker()
        total = len(job.ids)

        def going_on(done: int) -> bool:
            self.post_message(SearchProgress(done, total))
            return not worker.is_cancelled

        found = job.run(going_on)
        if not worker.is_cancelled:
            self.app.call_from_thread(self._searched, job, found)

    def on_search_progress(self, message: SearchProgress) -> None:
        if self.searching is not None:
            self.search_progress = (message.done, message.total)
            self.show_progress()

    def _search_note(self, job: SearchJob) -> None:
        if self.searching is job:
            rows = counted(len(job.ids) - job.done, "row")
            self.app.notify(f"searching {rows}… (esc stops)", timeout=3)

    def _searched(self, job: SearchJob, found: tuple[int, bool] | None) -> None:
        if job is not self.searching:
            return  # stopped, or a new search began
        self.searching = None
        self.show_progress()
        if found is None:
            self._no_match()
        else:
            self._search_found(*found, job.step)
        self.update_status()

    def stop_search(self, say: bool = True) -> None:
        """Stop a search going on in a worker (esc; a new search)."""
        self.searching = None
        self.workers.cancel_group(self, "search")
        self.show_progress()
        self.update_status()
        if say:
            self.app.notify("search stopped", timeout=2)

    def _no_match(self) -> None:
        expr = self.search.expr if self.search is not None else ""
        self.app.notify(safe(f"no match for {expr}"), severity="warning", markup=False)

    def _search_found(self, entry_id: int, wrapped: bool, step: int) -> None:
        if not self.requests.jump_to_request(entry_id):
            # Filtered out, deleted or cleared while the search went on.
            self.app.notify(f"the match, request #{entry_id}, is no longer shown")
            return
        if wrapped:
            where = "top" if step > 0 else "bottom"
            self.app.notify(f"search went round to the {where}", timeout=2)
        self.update_status()

    def action_follow(self) -> None:
        """Keep the newest request under the cursor (or stop)."""
        if self.requests.order_label:
            keys = keymod.effective_keys(self.hw.keymap)
            # Time order, reversed, comes back with reverse; any other, by going round.
            back = "reverse" if self.requests.order is TIME else "sort"
            key = keymod.key_label(keys[back])
            how = "takes it back" if back == "reverse" else "goes round to it"
            self.app.notify(
                f"sorted by {self.requests.order_label}: follow works in time order ({key} {how})",
                severity="warning",
            )
            return
        self.requests.follow = not self.requests.follow
        self.update_status()

    def action_sort(self) -> None:
        """Sort the list by the next column (mitmproxy's ``o``): time (capture order),
        host, path, method, status, identities, then time again."""
        order = next_order(self.requests.order)
        self.requests.sort_by(order, order.descending)
        self.update_status()

    def action_reverse(self) -> None:
        """Reverse the list's order (mitmproxy's ``v``)."""
        requests = self.requests
        requests.sort_by(requests.order, not requests.reverse)
        self.update_status()

    def action_pause(self) -> None:
        """Freeze the view (capture and counters go on), or resume it."""
        ids = self.view.toggle_pause()
        if ids:
            self.requests.append(ids)
        self.update_status()

    def open_detail(self) -> None:
        """Show the detail pane for the request under the cursor."""
        detail = self.detail
        detail.open()
        entry_id = self.requests.cursor_id
        detail.show(self.hw.store.get(entry_id) if entry_id is not None else None)

    def action_detail(self) -> None:
        """Open the detail of the request under the cursor."""
        self.open_detail()

    @property
    def full_view(self) -> bool:
        """Whether the request's detail has the whole body (``+``)."""
        return self.has_class("-full-view")

    def action_full_view(self) -> None:
        """The request under the cursor full screen (as mitmproxy's flow view), or back
        to the list; the cursor keys still move from request to request."""
        if self.full_view:
            self.leave_full_view()
            self.requests.focus()
            return
        # Back from it, the list is as it was: with its detail pane or without.
        self._detail_before_full = self.detail.is_open
        self.open_detail()
        self.add_class("-full-view")
        self.detail.focus()

    def leave_full_view(self) -> None:
        """Back from the full view (``+`` or ``esc``) to the list as it was before."""
        self.remove_class("-full-view")
        if not self._detail_before_full:
            self.detail.close()

    def action_back(self) -> None:
        """Stop a search going on in a worker; else close the filter input, the
        full-screen view, the exposure overlay or the detail pane; focus the list."""
        if self.searching is not None:
            self.stop_search()
        elif self.filter_bar.is_open:
            self.filter_bar.close()
        elif self.full_view:
            self.leave_full_view()
        elif self.narrow and self.exposure_shown[True]:
            self.action_exposure()
        elif self.detail.is_open:
            self.detail.close()
        self.requests.focus()

    def action_cursor_down(self) -> None:
        """Next request."""
        self.requests.action_cursor_down()

    def action_cursor_up(self) -> None:
        """Previous request."""
        self.requests.action_cursor_up()

    def action_first(self) -> None:
        """Oldest shown request."""
        self.requests.action_first()

    def action_last(self) -> None:
        """Newest request; follow."""
        self.requests.action_last()
        self.update_status()

    def action_page_down(self) -> None:
        """A page down."""
        self.requests.action_page_down()

    def action_page_up(self) -> None:
        """A page up."""
        self.requests.action_page_up()

    def action_mark(self) -> None:
        """Mark or unmark the request under the cursor."""
        entry_id = self.requests.cursor_id
        if entry_id is None:
            return
        entry = self.hw.store.toggle_mark(entry_id)
        if entry is None:
            return
        self.hw.edits += 1
        if self.view.marked_only and not entry.marked:
            self.requests.remove_row(entry_id)
        self.requests.changed([entry_id])
        if self.detail.is_open:
            self.detail.show(entry)
        self.update_status()

    def action_marked_only(self) -> None:
        """Show only marked requests (or everything again)."""
        self.view.toggle_marked_only()
        self.refilter()

    def action_comment(self) -> None:
        """Write a comment on the request under the cursor."""
        entry_id = self.requests.cursor_id
        if entry_id is None:
            return
        entry = self.hw.store.get(entry_id)
        if entry is None:
            return

        def done(comment: str | None) -> None:
            if comment is None:
                return
            got = self.hw.store.set_comment(entry_id, comment)
            if comment != entry.comment:
                self.hw.edits += 1
            self.requests.changed([entry_id])
            if got is not None and self.detail.is_open and self.detail.entry_id == entry_id:
                self.detail.show(got)

        self.app.push_screen(CommentScreen(entry_id, entry.comment), done)

    def action_copy(self, what: str) -> None:
        """Copy the request under the cursor to the clipboard: ``request`` (as text),
        ``curl`` (a command that repeats it) or ``value`` (its most severe identity)."""
        entry_id = self.requests.cursor_id
        entry = self.hw.store.get(entry_id) if entry_id is not None else None
        if entry is None:
            self.app.notify("no request selected", severity="warning")
            return
        record = entry.record
        try:
            if what == "curl":
                text, label = curl_command(record), "as a curl command"
            elif what == "value":
                kind, text = identity_value(record)
                label = f"{kind} {text}"
            else:
                text, label = request_text(record), "request"
        except CopyError as exc:
            self.app.notify(str(exc), severity="warning")
            return
        self.app.copy_to_clipboard(text)
        self.app.notify(safe(f"copied #{record.id} {label} to the clipboard"), markup=False)

    def action_exposure(self) -> None:
        """Show or hide the exposure panel (an overlay on a narrow terminal)."""
        self.exposure_shown[self.narrow] = not self.exposure_shown[self.narrow]
        self.exposure.set_class(not self.exposure_shown[self.narrow], "-hidden")

    def action_clear(self) -> None:
        """Clear the view: requests so far are hidden (the store and saves keep them)."""
        self.view.clear()
        self.requests.clear()
        self.exposure.recount((), self.view.cleared, self.hw.stats.clock, self.view.deleted_shown)
        if self.detail.is_open:
            self.detail.show(None)
        self.update_status()

    def recount_exposure(self) -> None:
        """The exposure panel counts afresh what the view covers (after ``d`` or ``u``)."""
        view = self.view
        records = [e.record for e in view.since_clear()]
        self.exposure.recount(records, view.cleared, self.hw.stats.clock, view.deleted_shown)

    def action_delete(self) -> None:
        """Take the request under the cursor out of the view (mitmproxy's ``d``); the
        store, saves and exports of everything keep it, ``u`` brings it back."""
        entry_id = self.requests.cursor_id
        if entry_id is None:
            self.app.notify("no request to delete", severity="warning")
            return
        self.view.delete(entry_id)
        self.requests.remove_row(entry_id)
        self.recount_exposure()
        self.update_status()

    def action_undo_clear(self) -> None:
        """Bring back what the last clear (``z``) hid, or the last deleted row (``d``)."""
        if not self.view.undo_clear():
            self.app.notify(
                "nothing to undo (z clears the view, d deletes a row)", severity="warning"
            )
            return
        self.recount_exposure()
        self.refilter()

    def action_save(self) -> None:
        """Save the session (all requests, or the shown ones): pcapng of a capture's
        frames, or JSONL records of a proxy's requests."""
        refused = self.hw.session_refused()
        if refused:
            # Said before the dialog: nothing typed in it would be of use.
            self.app.notify(refused, severity="error", markup=False)
            return
        if self.hw.record_session:
            self._ask_save("Save session (JSONL records: reopens here)", ("records",), "jsonl")
            return
        title = "Save session (pcapng: opens in Wireshark, reopens here)"
        hidden = len(self.hw.store) > self.requests.total
        screen = self._ask_save(title, ("pcapng",), note=KEPT_COUNTING if hidden else "")
        if hidden:
            # Their connections may bring other requests along. Counting them walks
            # the whole store, perhaps from disk: never on the UI thread.
            self._count_kept(screen, self.hw.store.snapshot(), self.view.predicate())

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="save-count",
        description="count the requests a session of the shown ones holds",
    )
    def _count_kept(
        self, screen: SaveScreen, entries: Snapshot, shown: Callable[[Entry], bool]
    ) -> None:
        chosen, kept = count_kept(entries, shown)
        note = f" (with their connections: {counted(kept, 'request')})" if kept > chosen else ""
        self.app.call_from_thread(screen.set_shown_note, note)

    def action_export(self) -> None:
        """Export requests in any output format (HAR first)."""
        self._ask_save("Export requests", EXPORT_FORMATS, what_is_shown=True)

    def action_report(self) -> None:
        """Write an evidence report (HTML or Markdown) of all requests or the shown ones."""
        self._ask_save(
            "Write evidence report (identities masked)", REPORT_FORMATS, what_is_shown=True
        )

    def _ask_save(
        self,
        title: str,
        formats: tuple[str, ...],
        extension: str = "",
        note: str = "",
        what_is_shown: bool = False,
    ) -> SaveScreen:
        """The save dialog. ``what_is_shown``: the shown requests are picked at first
        where the view shows fewer than all, as Wireshark's export of specified packets
        picks the displayed ones: an export or report of a filtered view is of what it
        shows, not of everything (a session keeps everything unless asked)."""
        total = len(self.hw.store)
        shown = self.requests.total

        def submit(request: SaveRequest, screen: SaveScreen) -> None:
            self.hw.save(request, self.view.predicate(), screen)

        name = default_name(extension or formats[0])
        # While a file loads or a capture runs, the counts grow until the file is written.
        growing = self.hw.state not in ("done", "error")
        scope = "shown" if what_is_shown and shown < total else "all"
        screen = SaveScreen(
            title, formats, shown, total, name, note, submit=submit, growing=growing, scope=scope
        )
        self.app.push_screen(screen)
        return screen


class Written(Protocol):
    """A recording the user asked for (``live -w FILE``): a
    :class:`~capture.sources.recording.RecordingSource` or a
    :class:`~capture.formats.record_session.RecordRecording`."""

    path: str
    failed: str | None
    """Why recording stopped, if it did (the file then lacks what came later)."""


class NoticeBox:
    """``notify(level, text)`` for a frame source, callable from any thread, before or
    after the app runs: notices wait here until the app is up, then go in as events."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._app: HeaderwatchApp | None = None
        self._pending: list[Event] = []

    def __call__(self, level: str, text: str) -> None:
        with self._lock:
            app = self._app
            if app is None:
                self._pending.append(Notice(level, text))
                return
        app.post_message(EventsArrived([Notice(level, text)], time.monotonic()))

    def attach(self, app: HeaderwatchApp) -> None:
        """From now on, post to ``app`` (what waited is posted first)."""
        with self._lock:
            self._app = app
            pending, self._pending = self._pending, []
        if pending:
            app.post_message(EventsArrived(pending, time.monotonic()))


class HeaderwatchApp(App[int]):
    """The headerwatch dashboard over one frame source.

    Args:
        source: Where frames come from (live, file, replay). The app runs it through a
            :class:`~capture.runner.Runner` and :class:`~capture.pipeline.Pipeline` in a
            worker thread and stops it on quit. ``None`` runs no capture thread: events
            are then handed in with :meth:`ingest` or by posting
            :class:`~tui.messages.EventsArrived` (thread-safe), as the tests do.
        detector: The identity detector (``tui.common.build_detector``); None finds nothing.
        title: Replaces "headerwatch" in the header.
        session_paths: The capture files the frames come from: ``w`` writes the session
            from them, and marks/comments saved in them are restored once the source
            has finished.
        recording: A live capture's recording (its ``-w`` file or the private spool):
            ``w`` flushes it and writes the session from what it holds.
        record_session: The source gives requests, not frames (a proxy followed by
            ``live --from``, or record files opened): ``w`` writes a session of
            records (JSONL) from the store; while a source is live, quitting warns of
            requests not saved yet.
        utc: Show times in UTC rather than local time.
        keymap: Binding id → keys (see :mod:`tui.keys`); None reads the ``[keys]``
            table of the default config file.
        window: Rows kept in the request list (the store keeps everything).
        batch_interval: Seconds between batches from the capture thread.
        initial_filter: A view filter to start with (must compile).
        store: The store to fill (a new one by default).
        source_name: What the header and status line call the source (default
            ``source.name``).
        redact: Exports mask identity values (``--redact``), and sessions, which
            hold the raw packets, are refused.
        written: The user's own recording of a live capture (``live -w FILE``): while
            it holds the capture (it has not failed), quitting does not ask about it.

    A source may also have ``total_bytes``/``read_bytes`` (like
    :class:`~capture.sources.source.FileSource`): a progress bar then shows while loading.
    Notices from a source thread go in through a :class:`NoticeBox` added to
    :attr:`notice_boxes` before :meth:`run`.
    """

    # Absolute, so that subclasses elsewhere (the bench, tests) find it too.
    CSS_PATH = str(Path(__file__).with_name("app.tcss"))
    TITLE = "headerwatch"

    def __init__(
        self,
        source: FrameSource | None,
        detector: Detector | None = None,
        *,
        title: str | None = None,
        session_paths: Sequence[str] = (),
        utc: bool = False,
        keymap: Mapping[str, str] | None = None,
        window: int = DEFAULT_WINDOW,
        batch_interval: float = BATCH_INTERVAL,
        initial_filter: str = "",
        store: Store | None = None,
        source_name: str | None = None,
        redact: bool = False,
        recording: RecordingSource | None = None,
        confirm_quit: bool | None = None,
        record_session: bool = False,
        written: Written | None = None,
    ) -> None:
        super().__init__()
        # NO_COLOR: the identities stay the most visible text (tui/monochrome.py).
        self._filters = [
            SignalMonochrome() if isinstance(f, Monochrome) else f for f in self._filters
        ]
        self.recording = recording
        self.written = written
        self.record_session = record_session
        self._backlog = 0
        """Events posted by the capture thread, not yet ingested (see MAX_BACKLOG)."""
        self._backlog_bytes = 0
        """The wire bytes those events hold (see MAX_BACKLOG_BYTES)."""
        self._backlog_changed = threading.Condition()
        self._stopping = False
        self.edits = 0
        """Marks and comments changed so far (a generation count)."""
        self.saved_edits = 0
        """``edits`` as of the last session saved."""
        self.seen_requests = 0
        self.saved_requests = 0
        """Requests seen, and as of the last session saved (a live recording's are
        unsaved until then)."""
        self.redact = redact
        self.source = source
        self.detector = detector
        self.session_paths = list(session_paths)
        self.utc = utc
        self.config_error: str | None = None
        if keymap is None or confirm_quit is None:
            # Not given by the command (a test's app): the default config file's, read
            # once for both; one it cannot use gives neither (the defaults, and why).
            try:
                read_keymap, read_confirm = keymod.dashboard_settings(load_config(None))
            except ConfigError as exc:
                self.config_error = str(exc)
                read_keymap, read_confirm = {}, True
            keymap = read_keymap if keymap is None else keymap
            confirm_quit = read_confirm if confirm_quit is None else confirm_quit
        self.keymap = dict(keymap)
        self.confirm_quit = confirm_quit
        self.window = window
        self.batch_interval = batch_interval
        self.initial_filter = initial_filter
        self.store = store if store is not None else Store()
        self.backfill = Backfill.for_detector(detector)
        """Gives a recurring token's finding to the requests that took it to its first
        sites (None: the detector finds no recurrence)."""
        self.source_name = source_name or (source.name if source is not None else "events")
        self.state = "live" if source is not None else "done"
        self.backfilled: dict[str, int] = {"identities": 0, "identity_requests": 0}
        """Identities the backfill gave, and requests that had none before: the
        pipeline counted what it found as each request came, and knows nothing of
        these; :attr:`stats` adds them to its counters."""
        self._pipeline_stats = StatsSnapshot()
        self._stats = self._pipeline_stats
        self.notices: list[Notice] = []
        self.unreadable: list[str] = []
        """Files opened in which nothing could be read, when nothing else was either:
        the dashboard ended with exit status 2, and the launcher says them (as scan)."""
        self.runner: Runner | None = None
        self.notice_boxes: list[NoticeBox] = []
        """Notice boxes of the source, attached when the app starts."""
        self._early: list[Event] = []
        self._annotations: SessionAnnotations | None = None
        self.restored: RestoreResult | None = None
        """What reopening a session put back (marks, comments), once done."""
        self.saved: list[str] = []
        """Files written by save/export."""
        self.progress: tuple[int, int] = (0, int(getattr(source, "total_bytes", 0) or 0))
        """Bytes read and total of a file source (total 0: no progress to show)."""
        if title:
            self.title = title
        self.sub_title = safe(self.source_name)
        self.main = MainScreen(self)
        self.gc_pauses = GcPauses()
        """Short full collections while the store grows (see :mod:`tui.gc_pauses`)."""
        self.stopped_by: int | None = None
        """The signal (SIGTERM, SIGHUP) that stopped the dashboard, if one did."""
        self.failure: str | None = None
        """What failed, in one line, if an error nothing handled ended the dashboard
        (``the dashboard failed (…)``) or its capture thread (``the capture thread
        failed (…)``; ``capture on IFACE failed (…)`` for the source's thread below it),
        the dashboard staying up: the command exits 1, and ``live`` keeps a capture not
        saved when the error ended the dashboard, as after a signal."""
        self.ended_by_error = False
        """Whether an error ended the dashboard (not the user's ``q``, not a signal)."""
        self.halted: Halt | None = None
        """When and why an error stopped the live capture (the capture thread, or the
        source's own thread below it), the dashboard staying up: the status line says
        it, sessions saved say it in their metadata, and the command exits 1."""
        self.kept: str = ""
        """What became of followed requests not saved when a signal or an error ended
        the dashboard (:meth:`keep_followed`), in one line for stderr; "" if nothing."""
        self._signal_loop: asyncio.AbstractEventLoop | None = None

    # -- start and stop -----------------------------------------------------------------

    def get_default_screen(self) -> Screen[Any]:
        return self.main

    def get_driver_class(self) -> type[Driver]:
        driver = super().get_driver_class()
        # A terminal that has gone (SIGHUP) must not hang the stop: see tui.stop_signals.
        return HangupSafeDriver if driver is LinuxDriver else driver

    def run(self, *args: Any, **kwargs: Any) -> int | None:
        """Run the dashboard until ``q``, or SIGTERM or SIGHUP, which stop it as ``q``
        does without asking, and make it return 128 + the signal's number
        (:mod:`tui.stop_signals`). After a :attr:`failure` it returns
        :data:`~capture.view.selection.EXIT_FAILED`."""
        with stopping_on_signals(self._signalled):
            try:
                code = super().run(*args, **kwargs)
            except Exception as exc:  # before or after Textual's own handling
                self.ended_by_error = True
                self._failed("the dashboard", exc)
                raise
        return EXIT_FAILED if self.failure is not None else code

    def _handle_exception(self, error: Exception) -> None:
        # Textual's one way in for an error no handler caught (it then ends the app
        # and prints the traceback): the only place to learn that the app failed.
        self.ended_by_error = True
        self._failed("the dashboard", error)
        super()._handle_exception(error)

    def _failed(self, what: str, error: BaseException) -> None:
        if self.failure is None:  # the first is the cause; what follows, its effects
            self.failure = f"{what} failed ({_said(error)})"

    def _signalled(self, signum: int) -> None:
        # In the signal handler: hand the stop to the app's loop (on_mount does it
        # when the signal came before the loop ran).
        self.stopped_by = signum
        if self._signal_loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed: ending anyway
                self._signal_loop.call_soon_threadsafe(self._stop_by_signal)

    def _stop_by_signal(self) -> None:
        if self.stopped_by is not None and self.return_value is None:
            self.stop_capture()
            self.exit(exit_status(self.stopped_by))

    def on_mount(self) -> None:
        self._signal_loop = asyncio.get_running_loop()
        if self.stopped_by is not None:
            self._stop_by_signal()
        self.gc_pauses.start()
        if self.keymap:
            self.set_keymap(self.keymap)
        for box in self.notice_boxes:
            box.attach(self)
        if self.config_error:
            self.notify(safe(self.config_error), severity="error", markup=False)
        if self.source is not None:
            if getattr(self.source, "total_bytes", 0):
                self.state = "loading"
            elif isinstance(self.source, ReplaySource):
                # A capture file played at its own pace (the demo): "live" on a
                # screenshot would say the 2012 traffic was being captured now.
                self.state = "replay"
            self.runner = Runner(
                self.source,
                Pipeline(self.detector),
                self._on_batch,
                interval=self.batch_interval,
                min_gap=MIN_BATCH_GAP,
            )
            self._capture()
        if self.session_paths:
            self._load_annotations()

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="capture",
        description="capture: frames → pipeline → event batches for the UI",
    )
    def _capture(self) -> None:
        runner = self.runner
        assert runner is not None
        error: str | None = None
        try:
            runner.run()
        except Exception as exc:  # the UI must hear of it, not die silently
            self._failed("the capture thread", exc)
            failed = Halt(time.time(), f"the capture thread failed ({_said(exc)})")
            # Nothing goes on being captured that would be neither shown nor recorded.
            self.stop_capture()
            stamp = time.strftime("%H:%M:%S", time.localtime(failed.at))
            error = f"capture stopped at {stamp}: {failed.why}; nothing after it is recorded"
            halt: Halt | None = failed
        else:
            # The source's own thread may have failed below (its notice said so).
            halt = halt_of(self.source)
            if halt is not None and self.failure is None:
                self.failure = halt.why
        self.halted = halt
        self.post_message(SourceFinished(error))

    def _on_batch(self, batch: list[Event]) -> None:
        """Called in the capture thread a few times a second: hand over; wait only
        while the screen has more than :data:`MAX_BACKLOG` events to take in."""
        stats = batch[-1] if batch and isinstance(batch[-1], StatsSnapshot) else None
        events = batch[:-1] if stats is not None else batch
        source = self.source
        total = getattr(source, "total_bytes", 0)
        if events:
            size = held_bytes(events)
            with self._backlog_changed:
                while (
                    self._backlog > MAX_BACKLOG or self._backlog_bytes > MAX_BACKLOG_BYTES
                ) and not self._stopping:
                    self._backlog_changed.wait(0.25)
                self._backlog += len(events)
                self._backlog_bytes += size
            self.post_message(EventsArrived(events, time.monotonic(), len(events), size))
        if total:
            self.post_message(LoadProgress(getattr(source, "read_bytes", 0), total))
        if stats is not None:
            self.post_message(StatsUpdated(stats))

    def stop_capture(self) -> None:
        """Ask the source to stop (the capture thread ends soon after)."""
        with self._backlog_changed:
            self._stopping = True
            self._backlog_changed.notify_all()
        if self.source is not None:
            self.source.stop()

    def unsaved(self) -> str:
        """What quitting now would lose ("" when nothing)."""
        what = []
        if self.edits > self.saved_edits:
            what.append("marks or comments")
        if self.capture_unsaved():
            what.append("live capture")
        return " and ".join(what)

    def session_refused(self) -> str:
        """Why ``w`` can save no session here, in one line ("" when it can)."""
        if self.redact:
            return (
                "no session with --redact: a session keeps the requests as they were, "
                "identities included; x exports HAR or JSONL with them masked"
            )
        if not (self.record_session or self.session_paths or self.recording is not None):
            return "no capture file to build a session from; x exports HAR or JSONL"
        return ""

    def capture_unsaved(self) -> bool:
        """Whether requests seen live came after the last whole session saved, and
        are in no file of the user's (``-w``)."""
        if self.written is not None and self.written.failed is None:
            return False  # recorded as it came: the capture is on disk already
        # Requests followed from a proxy are not on disk until saved (a file opened is).
        live = self.recording is not None or (self.record_session and self.state == "live")
        return live and self.seen_requests > self.saved_requests

    async def action_quit(self) -> None:
        what = self.unsaved() if self.confirm_quit else ""
        if what and not isinstance(self.screen, QuitScreen):

            def answered(quit_now: bool | None) -> None:
                if quit_now:
                    self.stop_capture()
                    self.exit(0)
                elif quit_now is None:
                    self.main.action_save()  # the save key, which the prompt offers

            save_keys = keymod.effective_keys(self.keymap)["save"]
            self.push_screen(QuitScreen(what, save_keys), answered)
            return
        self.stop_capture()
        self.exit(0)

    def _unnotify(self, notification: Notification, refresh: bool = True) -> None:
        super()._unnotify(notification, refresh)
        if not refresh:
            # A toast expired and removes itself; the rack is shown again for what is
            # left, hidden when nothing is, and the screen under it drawn again: with
            # many long notices at once (six HARs opened together), they stayed drawn
            # for minutes after they expired, until a key was pressed.
            self.call_after_refresh(self._after_toast)

    def _after_toast(self) -> None:
        self._refresh_notifications()
        self.screen.refresh(repaint=True)

    def on_unmount(self) -> None:
        self.gc_pauses.stop()
        self.stop_capture()
        self.kept = self.keep_followed()  # before the store's spill file goes
        self.store.close()  # the spill file of older requests goes with the dashboard

    def ended_unasked(self) -> str | None:
        """Why the dashboard ended without the user's say, in words for stderr (an error
        that ended it: :attr:`failure`; else ``stopped by SIGTERM``), or None after
        ``q``, whose answer stands. What is not saved is then kept, not lost."""
        if self.ended_by_error:
            return self.failure
        if self.stopped_by is not None:
            return self.failure or f"stopped by {signal.Signals(self.stopped_by).name}"
        return None

    def keep_followed(self) -> str:
        """Requests in no file when a signal or an error ended the dashboard with them
        not saved: those followed from a proxy (``live --from``: from a FIFO or a socket
        they are nowhere else) or captured without a spool, or those captured after the
        spool filled (the spool, which ``live`` keeps, holds the ones before). They go to
        a new private record session in the current directory, named as ``w`` names it.
        Return what to tell ("" if nothing)."""
        why = self.ended_unasked()
        if why is None or not self.capture_unsaved():
            return ""
        entries: Iterable[Entry] = self.store.snapshot()  # lazy: spilled ones from disk
        why += " with requests not saved"
        if not self.record_session:
            recorded = self.recording.sync() if self.recording is not None else None
            stopped_at = recorded.stopped_at if recorded is not None else None
            if recorded is None or stopped_at is None:
                return ""  # the recording holds every request
            later = [e for e in entries if e.record.request.ts >= stopped_at]
            if not later:
                return ""
            entries = later
            # The recording is kept with the requests before; what it lacks is said apart.
            why = f"{_stopped_since(recorded)}: {counted(len(later), 'request')} after that"
        target = default_name("jsonl")
        try:
            kept = RecordRecording(target, _session_info(self.source_name, "", None, self.detector))
        except SessionError as exc:
            return f"{why}; they could not be kept: {exc}"
        for entry in entries:
            kept.write(dumps_entry(entry).encode() + b"\n")
        kept.close()
        if kept.failed is not None:
            return f"{why}; {target}: {kept.failed}, {counted(kept.lines, 'request')} kept"
        they = "it is" if not self.record_session and kept.lines == 1 else "they are"
        said = f"{why}; {they} kept in {target} (headerwatch open reopens it)"
        return said + (not_redacted(target) if self.redact else "")

    @property
    def stats(self) -> StatsSnapshot:
        """The pipeline's latest counters, with what the backfill gave added
        (:attr:`backfilled`): the status line and the report count every request that
        carries an identity, as the exposure panel and a saved file reopened do."""
        return self._stats

    @stats.setter
    def stats(self, snapshot: StatsSnapshot) -> None:
        self._pipeline_stats = snapshot
        added = self.backfilled
        if not any(added.values()):
            self._stats = snapshot
            return
        counters = dict(snapshot.counters)
        for name, count in added.items():
            counters[name] = counters.get(name, 0) + count
        self._stats = StatsSnapshot(tuple(counters.items()), snapshot.clock)

    # -- messages from the capture thread ----------------------------------------------

    def ingest(self, events: Iterable[Event]) -> None:
        """Take in a batch of core events (UI thread)."""
        events = list(events)
        if not self.main.ready:
            # Posted before the main screen was mounted (a notice at start-up).
            self._early.extend(events)
            return
        if self._early:
            events = self._early + events
            self._early = []
        self.gc_pauses.check()
        changed = self.store.apply(events)
        if self.backfill is not None:
            changed = self._backfill(events, changed)
        self.seen_requests += sum(isinstance(e, RequestSeen) for e in events)
        for event in events:
            if isinstance(event, Notice):
                self.notices.append(event)
                severity = {"error": "error", "warning": "warning"}.get(event.level, "information")
                # An error stays up longer than Textual's 5 s: it is said once, and it
                # is why the capture stopped.
                timeout = ERROR_NOTICE_SECONDS if severity == "error" else None
                self.notify(safe(event.text), severity=severity, markup=False, timeout=timeout)  # type: ignore[arg-type]
                if severity == "error" and self._nothing_read():
                    return
            elif isinstance(event, StatsSnapshot):
                self.stats = event
        if not self.showing:
            # Exiting: the main screen's widgets are being taken down while the capture
            # thread's last batches are still in flight. They are in the store (kept or
            # saved from there); the screen is not updated.
            return
        self.main.exposure.apply(events)
        self.main.ingest(changed)

    def _backfill(self, events: list[Event], changed: list[Entry]) -> list[Entry]:
        """``changed`` with the earlier requests a token's recurrence finding, brought
        by a request of ``events``, was given to (:mod:`capture.view.recurring`);
        the exposure panel counts those the view covers. Before the batch is counted
        there: its own findings of the token, the latest, give the panel's detail."""
        assert self.backfill is not None
        filled = self.backfill.fill(
            self.store, (_carried(e) for e in events if isinstance(e, (RequestSeen, EchoSeen)))
        )
        self.main.exposure.note_unfilled(self.backfill.cut)
        if not filled:
            return changed
        by_id = {entry.record.id: entry for entry in changed}
        view = self.main.view
        added = self.backfilled
        for before, entry, findings in filled:
            rid = before.id
            by_id[rid] = entry
            # Counted as the pipeline counts (whatever the view shows: its counters
            # are of every request read).
            now = identities_seen(entry.record.findings)
            added["identities"] += now - identities_seen(before.findings)
            added["identity_requests"] += bool(now and not before.identities)
            if rid > view.floor and rid not in view.deleted:
                self.main.exposure.add_later(before, findings)
        self.stats = self._pipeline_stats  # what the backfill gave, added
        return list(by_id.values())

    def on_events_arrived(self, message: EventsArrived) -> None:
        self.ingest(message.events)
        if message.held:
            with self._backlog_changed:
                self._backlog -= message.held
                self._backlog_bytes -= message.held_bytes
                self._backlog_changed.notify_all()

    @property
    def showing(self) -> bool:
        """The main screen is up and stays up: mounted, and not exiting. An exit sets a
        return value (``q``, a signal); a shutdown without one (a test's end, Textual's
        after an error) stops the app running before it takes the widgets down."""
        return self.main.ready and self.return_value is None and self.is_running

    def on_stats_updated(self, message: StatsUpdated) -> None:
        self.stats = message.stats
        # Not once exiting (see ingest): the status line may be gone already.
        if self.showing:
            if message.stats.clock is not None:
                self.main.exposure.advance(message.stats.clock)
            self.main.update_status()

    def on_load_progress(self, message: LoadProgress) -> None:
        self.progress = (message.done, message.total)
        if self.showing:
            self.main.show_progress()

    def _nothing_read(self) -> bool:
        """Whether the files were read to their end and nothing could be read in any
        (JSON that is no records, a file named by the wrong ``--input``): then the
        dashboard ends with exit status 2 and their errors, as scan says them, not
        empty after a notice that passes. Tested at the end and at each notice after
        it (a file's notice may come after the end)."""
        if self.state != "done" or len(self.store) or not isinstance(self.source, FileSource):
            return False
        errors = [n.text for n in self.notices if n.level == "error"]
        if not errors:
            return False
        self.unreadable = errors
        self.exit(EXIT_USAGE)
        return True

    def on_source_finished(self, message: SourceFinished) -> None:
        self.state = "error" if message.error or self.halted is not None else "done"
        if self._nothing_read():
            return
        if message.error:
            self.notify(safe(message.error), severity="error", markup=False)
        if self.showing:
            self.main.show_progress()
            self.main.update_status()
            if self.state == "done":
                self.main.detail.input_finished()
        self.apply_annotations()

    # -- saving ---------------------------------------------------------------------------

    def save(
        self,
        request: SaveRequest,
        shown: Callable[[Entry], bool],
        screen: SaveScreen | None = None,
    ) -> None:
        """Write the session or an export in a worker thread (the UI carries on); the
        dialog that asked for it, if still open, hears how it went."""
        # A snapshot (the store keeps growing meanwhile); its spilled entries are read
        # from disk in the worker, as it writes.
        entries = self.store.snapshot()
        view_filter = self.main.view.active_filter
        # A session saves marks and comments (all of them, unless some are on requests
        # not shown: the worker checks), and requests if it holds every one. So does a
        # HAR export for marks and comments, which open brings back (not masked by
        # --redact: a comment masked there is not the comment typed).
        session = request.format in ("pcapng", "records")
        whole = session and request.scope == "all"
        keeps_notes = session or (request.format == "har" and not self.redact)
        done = (self.edits, self.seen_requests if whole else 0) if keeps_notes else None
        self._write(
            request, entries, shown if request.scope == "shown" else None, view_filter, done, screen
        )

    @work(thread=True, exit_on_error=False, group="save", description="save session / export")
    def _write(
        self,
        request: SaveRequest,
        entries: Snapshot,
        shown: Callable[[Entry], bool] | None,
        view_filter: str,
        done: tuple[int, int] | None = None,
        screen: SaveScreen | None = None,
    ) -> None:
        shown_ids = None
        if shown is not None:
            shown_ids = []
            notes_left_out = False
            for entry in entries:
                if shown(entry):
                    shown_ids.append(entry.record.id)
                elif entry.marked or entry.comment:
                    notes_left_out = True
            if notes_left_out:
                done = None  # a mark or comment of a request not shown is not in the file
        sources: Sequence[str] = self.session_paths
        recorded = None
        if self.recording is not None and request.format == "pcapng" and not self.redact:
            # Flushed under the capture thread's lock: every frame behind the entries
            # taken above is in the file now.
            recorded = self.recording.sync()
            sources = [recorded.path]
            if done is not None and (recorded.full_at is not None or recorded.failed):
                # The recording stopped (spool full, disk full): the session lacks the
                # requests after that, which stay unsaved (quitting asks; a signal keeps
                # them). Its marks and comments are saved.
                done = (done[0], 0)
        try:
            message = write_entries(
                request,
                entries,
                shown_ids,
                sources=sources,
                source_name=self.source_name,
                view_filter=view_filter,
                redact=self.redact,
                counters=dict(self.stats.counters),
                detector=self.detector,
                halted=self.halted,
            )
            if recorded is not None:
                message += recording_note(recorded, entries, shown_ids)
        except (SaveError, SessionError, ExportError) as exc:
            self.call_from_thread(self._save_failed, screen, str(exc))
            return
        except Exception as exc:  # the worker would swallow it: the user would never know
            text = f"{request.path}: not written: {type(exc).__name__}: {exc}".splitlines()[0]
            self.call_from_thread(self._save_failed, screen, text)
            return
        self.saved.append(request.path)
        if done is not None:
            # A session saved with every mark and comment: they are safe (and the
            # requests before it, if it holds them all).
            self.call_from_thread(self._saved_session, *done)
        self.call_from_thread(self._save_done, screen, message)

    def _save_done(self, screen: SaveScreen | None, message: str) -> None:
        if screen is not None and screen in self.screen_stack:
            screen.finished(None)
        self.notify(safe(message), markup=False)

    def _save_failed(self, screen: SaveScreen | None, text: str) -> None:
        # In the dialog, where the name can be changed and saved again, if it is
        # still open; else as a notification.
        if screen is not None and screen in self.screen_stack:
            screen.finished(text)
            if screen.is_current:
                return
        self.notify(safe(text), severity="error", markup=False)

    def _saved_session(self, edits: int, requests: int) -> None:
        self.saved_edits = max(self.saved_edits, edits)
        self.saved_requests = max(self.saved_requests, requests)

    # -- sessions: marks and comments come back ------------------------------------------

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="restore",
        description="read marks and comments from session files",
    )
    def _load_annotations(self) -> None:
        try:
            annotations = load_annotations(self.session_paths)
        except SessionError as exc:
            self.call_from_thread(self.notify, safe(str(exc)), severity="warning", markup=False)
            return
        if len(annotations):
            self.call_from_thread(self._annotations_loaded, annotations)

    def _annotations_loaded(self, annotations: SessionAnnotations) -> None:
        self._annotations = annotations
        self.apply_annotations()

    def apply_annotations(self) -> None:
        """Once every record is in the store (source finished, screen up), restore."""
        annotations = self._annotations
        if annotations is None or self.state not in ("done", "error"):
            return
        if not self.main.ready or self._early:
            return
        self._annotations = None
        result = annotations.apply(self.store)
        self.restored = result
        if result.marked or result.commented or result.injected:
            self.notify(
                f"session restored: {counted(result.marked, 'mark')}, "
                + counted(result.commented, "comment"),
                markup=False,
            )
        if result.shown is not None and len(self.session_paths) == 1:
            # Saved with the shown requests only: show those, as they were; the
            # file also holds the rest of their connections (the packets).
            self.main.view.restrict(result.shown, result.info.filter if result.info else "")
            key = keymod.key_label(keymod.effective_keys(self.keymap)["toggle_filter"])
            self.notify(
                f"session of {counted(len(result.shown), 'shown request')}; the file holds "
                f"{counted(len(self.store), 'request')} with their connections ({key} shows all)",
                markup=False,
            )
        self.main.refilter()

    # -- screenshots (the palette's "Screenshot") ----------------------------------------

    def deliver_screenshot(
        self,
        filename: str | None = None,
        path: str | None = None,
        time_format: str | None = None,
    ) -> str | None:
        """Save an SVG of the screen in the current directory (as saves are), private
        (0600: it shows identities), and say where; Textual's default wrote to
        ``~/Downloads`` and failed where that does not exist. A file of that name
        (two screenshots in one second) is never replaced."""
        name = filename or time.strftime("headerwatch-%Y%m%d-%H%M%S.svg")
        target = os.path.join(path or os.getcwd(), name)
        try:
            with open_private(target, "x", encoding="utf-8") as out:
                out.write(self.export_screenshot())
        except OSError as exc:
            reason = describe_os_error(exc)
            self.notify(
                safe(f"{target}: screenshot not saved: {reason}"), severity="error", markup=False
            )
            return None
        self.notify(safe(f"screenshot saved to {target}"), markup=False)
        return target

    # -- the command palette ------------------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        if isinstance(screen, MainScreen):
            keys = keymod.effective_keys(self.keymap)
            for action in keymod.ACTIONS:
                if action.name in ("palette", "back", "detail"):
                    continue
                target = action.action
                callback = _action_callback(self, screen, target)
                yield SystemCommand(
                    action.description,
                    f"{action.name} · key {keymod.key_label(keys[action.name])}",
                    callback,
                )
            yield SystemCommand(
                REPORT_COMMAND,
                "HTML or Markdown a reader understands without headerwatch; identities masked",
                screen.action_report,
            )
            for title, expr in QUICK_FILTERS:
                callback = _filter_callback(screen, expr)
                yield SystemCommand(title, expr or "show every request", callback)
        yield from super().get_system_commands(screen)


QUICK_FILTERS = (
    ("Filter: identities only", "~id"),
    ("Filter: phone numbers only", "~id msisdn"),
    ("Filter: injected headers", "~inj"),
    ("Filter: requests with anomalies", "~anomaly"),
    ("Filter: clear", ""),
)


def _filter_callback(screen: MainScreen, expr: str) -> Callable[[], None]:
    def run() -> None:
        screen.apply_filter(expr)

    return run


def _action_callback(app: App[Any], screen: Screen[Any], action: str) -> Callable[[], Any]:
    def run() -> Any:
        if action.startswith("app."):
            return app.run_action(action.removeprefix("app."))
        return screen.run_action(action)

    return run


def held_bytes(events: Iterable[Event]) -> int:
    """The wire bytes ``events`` hold in memory: each request's head (its header lines)
    and the body kept, and each response's head (no body is kept of it); an echo holds
    the request again."""
    size = 0
    for event in events:
        if isinstance(event, (RequestSeen, EchoSeen)):
            request = event.record.request
            size += len(request.body) + _head_bytes(request.headers)
        elif isinstance(event, ResponseSeen):
            size += _head_bytes(event.response.headers)
    return size


def _head_bytes(headers: Iterable[tuple[str, str]]) -> int:
    """A head's header lines' size, ``Name: value\\r\\n`` each."""
    return sum(len(name) + len(value) + 4 for name, value in headers)


def _said(error: BaseException) -> str:
    """An error in one printable line: ``RuntimeError: what it says``."""
    said = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return printable(said)


def _session_info(
    source_name: str, view_filter: str, halted: Halt | None, detector: Detector | None
) -> SessionInfo:
    """A session's metadata, with when and why the capture stopped if an error did, and
    what ``detector`` found its findings with (:meth:`SessionInfo.judged_by`)."""
    info = SessionInfo.judged_by(detector, source=source_name, filter=view_filter)
    return info if halted is None else dataclasses.replace(info, stopped=halted.text())


def _carried(event: RequestSeen | EchoSeen) -> Record:
    """What ``event`` shows a request carried, for the backfill: a request's record, or
    of an echo, the headers added or changed on the way and what was found in them (a
    token a carrier injects reaches its first sites there: they kept no finding)."""
    if isinstance(event, RequestSeen):
        return event.record
    moved = event.transit
    added = (*moved.injected, *((name, now) for name, _, now in moved.changed))
    record = event.record
    request = dataclasses.replace(record.request, headers=added)
    return dataclasses.replace(record, request=request, findings=event.findings, transit=None)


def _with_notes(marked: int, commented: int) -> str:
    """What a saved session holds besides its requests, as its save says it."""
    if marked or commented:
        return f"with {counted(marked, 'mark')} and {counted(commented, 'comment')}"
    return "with no marks or comments"


def _halt_note(halted: Halt | None) -> str:
    """What a session saved after an error stopped the capture lacks ("" if none did)."""
    if halted is None:
        return ""
    stamp = time.strftime("%H:%M:%S", time.localtime(halted.at))
    return f"; capture stopped at {stamp} ({halted.why}): nothing after it is in the session"


def recording_note(
    recorded: Recorded, entries: Iterable[Entry], shown_ids: list[int] | None
) -> str:
    """What a session saved from a live recording lacks, if anything ("" if nothing)."""
    stopped_at = recorded.stopped_at
    if stopped_at is not None:
        wanted = None if shown_ids is None else set(shown_ids)
        kept = missing = 0
        for e in entries:
            if wanted is None or e.record.id in wanted:
                if e.record.request.ts < stopped_at:
                    kept += 1
                else:
                    missing += 1
        # Both counts: which requests the file holds, and which are only on screen.
        return (
            f"; {_stopped_since(recorded)}: the session has the "
            f"{counted(kept, 'request')} captured before then, and not the "
            f"{counted(missing, 'request')} captured after (x exports those as JSONL or HAR)"
        )
    if recorded.failed is not None:
        return f"; recording had stopped ({recorded.failed}): later requests are not in it"
    return ""


def _stopped_since(recorded: Recorded) -> str:
    """Since when, and why, a live recording lacks frames (its :attr:`Recorded.stopped_at`
    is set): ``the spool was full (1.0 GiB) from 14:02:11`` or ``recording stopped at
    14:02:11 (disk full)``."""
    when = time.strftime("%H:%M:%S", time.localtime(recorded.stopped_at or 0.0))
    if recorded.full_at is not None:
        size = size_text(recorded.limit) if recorded.limit is not None else "its limit"
        return f"the spool was full ({size}) from {when}"
    return f"recording stopped at {when} ({recorded.reason or 'a write error'})"


class SaveError(Exception):
    """A session cannot be saved; ``str()`` is one line for the user."""


def _selection_notes(chosen: int, total: int, view_filter: str) -> tuple[str, ...]:
    """What a report of the shown requests tells its reader of those left out: without
    it, "went to 1 site" reads as all the capture (whose hash it gives) holds."""
    if chosen >= total:
        return ()
    why = f" (filter {view_filter})" if view_filter else ""
    return (
        f"a selection: {chosen:,} of the {counted(total, 'request')} the dashboard held, "
        f"those its view showed{why}; the other {total - chosen:,} are in no count here",
    )


def write_entries(
    request: SaveRequest,
    entries: Iterable[Entry],
    shown_ids: list[int] | None,
    *,
    sources: Sequence[str],
    source_name: str,
    view_filter: str = "",
    redact: bool = False,
    counters: dict[str, int] | None = None,
    detector: Detector | None = None,
    halted: Halt | None = None,
) -> str:
    """Write a session (pcapng), an export (HAR, JSONL) or an evidence report (HTML,
    Markdown: always redacted); return what to tell the user. ``detector``: the one
    that found what ``entries`` hold (what it counts as a token is masked too).
    ``halted``: an error stopped the capture; a session says when and why in its
    metadata (``stopped``), and so does the line returned.

    ``entries`` is every stored entry; ``shown_ids`` limits the output to the view.
    Raises :class:`SaveError`, :class:`~capture.formats.session.SessionError` or
    :class:`~capture.formats.export.ExportError` with a one-line reason.
    """
    if request.format == "records":
        if redact:
            raise SaveError(
                "a session must reopen as it was and cannot be redacted (--redact); "
                "use x to export HAR or JSONL, which are"
            )
        info = _session_info(source_name, view_filter if shown_ids else "", halted, detector)
        saved = save_record_session(request.path, entries, only=shown_ids, info=info)
        text = f"saved {counted(saved.requests, 'request')} (session of records) to "
        text += f"{request.path}, {_with_notes(saved.marked, saved.commented)}"
        return text + _halt_note(halted)
    if request.format == "pcapng":
        if redact:
            raise SaveError(
                "a session holds the raw packets and cannot be redacted (--redact); "
                "use x to export HAR or JSONL, which are"
            )
        if not sources:
            raise SaveError(
                "no capture file to build the session from; use x to export HAR or JSONL"
            )
        info = _session_info(source_name, view_filter if shown_ids else "", halted, detector)
        result = save_session(request.path, sources, entries, only=shown_ids, info=info)
        text = f"saved {counted(result.frames, 'frame')} to {request.path}, "
        text += _with_notes(result.marked, result.commented)
        if result.unplaced:
            # "Notes" meant nothing to a reader: say what is missing, and why.
            text += (
                f"; the findings, marks and comments of {counted(result.unplaced, 'request')} "
                "are not in it: no frame of theirs is in the capture it was built from"
            )
        return text + _halt_note(halted)
    chosen: Iterable[Entry] = entries
    held = 0  # of the entries, how many there are: counted only for a selection
    if shown_ids is not None:
        wanted = set(shown_ids)
        picked: list[Entry] = []
        for entry in entries:
            held += 1
            if entry.record.id in wanted:
                picked.append(entry)
        chosen = picked
    if request.format in REPORT_FORMATS:
        # Imported here: the report's modules (importlib.metadata with them) would
        # cost every dashboard 2.4 MB for a command of the palette.
        from capture.report.write import ReportError, report_records

        records = [e.record for e in chosen]
        try:
            return report_records(
                records,
                request.path,
                request.format,
                sources=sources,
                source_name=source_name,
                counters=counters,
                detector=detector,
                notes=_selection_notes(len(records), held, view_filter),
            )
        except ReportError as exc:
            raise SaveError(str(exc)) from None
    count = export(chosen, request.path, request.format, redact=redact, detector=detector)
    return f"exported {counted(count, 'request')} as {request.format.upper()} to {request.path}"
