"""The request list: one line per request, newest at the bottom.

A Line-API widget (like toolong's log view) rather than a ``DataTable``: measured
here, ``DataTable.add_rows`` costs ~0.35 ms a row once its idle re-measuring is
counted (500 rows ≈ 0.2 s, 5,000 ≈ 1 s of UI thread) and ``remove_row`` is
O(rows), so a window that slides at 2,000 requests/s could not keep up. This
widget only keeps entry ids (``append`` is O(new rows)) and renders the lines
that are visible, with a small cache of rendered strips.

It draws a window of at most ``window`` rows (the newest, while following) out of
:attr:`all_ids`, the ids of every shown row (8 bytes each, as the store's own index of
spilled requests). The window moves when the cursor goes past either end of it
(``up``, ``pageup``, ``g``/``home``, and down again) or the mouse wheel scrolls past
them: the rows it then shows are read back from the store, spilled or not, so every
shown request can be reached.

:attr:`ids` is always in id (capture) order: its binary searches, appends and
trimming stay as they are. Sorted by a column (``o``, ``v``), the rows are shown
in the order of a second view, :class:`~capture.view.order.SortedRows`, built only
then; cursor indexes are indexes into :attr:`rows`, the order shown.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar, NamedTuple

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.cache import FIFOCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from capture.http.urls import endpoint
from capture.view.order import TIME, FieldsOf, Order, SortedRows
from capture.view.store import Entry
from tui.render import (
    ANOMALY_STYLE,
    BADGE_STYLE,
    badge_labels,
    fit_badges,
    fit_str,
    format_time,
    safe,
    target_path,
)

DEFAULT_WINDOW = 5_000
"""Rows the list holds at once (sorting, a search while sorted and the COMMENT
column look at these): the newest shown ones while following, else those about the
cursor; the window moves as the cursor or the wheel leaves it, over every shown row
(:attr:`RequestList.all_ids`)."""

_SLACK = 0.2
"""The window is trimmed when it exceeds ``window * (1 + _SLACK)``: amortised O(1)."""

Lookup = Callable[[int], Entry | None]

CLIENT_WITH_PORT = 21
"""CLIENT width with the port (``[2001:db8::1]:49152`` is cut; IPv4 fits)."""
CLIENT_ADDRESS = 15
"""CLIENT width without the port (an IPv4 address)."""
HOST_WANTED = 18
"""HOST is given at least this many cells (``www.guardian.co.uk``) before anything
else is; narrower lists drop columns in the order of :data:`DROP_ORDER` to keep it."""
HOST_MAX = 30
HOST_SHARE_MAX = 24
"""On a tight list HOST takes half of what IDENTITIES leaves, up to this."""
IDS_MIN = 15
"""IDENTITIES: two badges (`` MSISDN  IMEI ``) or one and ``+N``."""

DROP_ORDER = ("client port", "milliseconds", "client")
"""What goes first as the list narrows (docs/keys.md, README): the port of CLIENT,
then the milliseconds of TIME, then CLIENT itself (the detail shows both)."""


class Columns(NamedTuple):
    """Cell widths of the list's columns; 0: the column is dropped."""

    mark: int
    time: int
    client: int
    method: int
    host: int
    path: int
    status: int
    ids: int
    comment: int = 0
    """COMMENT, shown between HOST and PATH while a row has a comment."""


COMMENT_MAX = 24
"""COMMENT takes half of PATH, up to this many cells."""


def columns(width: int, comments: bool = False) -> Columns:
    """The column widths for a list ``width`` cells wide.

    IDENTITIES gets its 15 cells (more on wide lists, up to 24) first, then HOST up
    to :data:`HOST_WANTED`; where that does not fit, the columns of
    :data:`DROP_ORDER` go one by one. HOST then gets its share of what is left
    (two fifths, or half up to :data:`HOST_SHARE_MAX` on a tight list), PATH the rest.
    With ``comments``, COMMENT takes half of PATH (up to :data:`COMMENT_MAX`),
    when PATH has 12 cells or more (below, a comment leads the PATH cell).
    """
    layout = Columns(2, 12, CLIENT_WITH_PORT, 7, 0, 0, 3, 0)
    for drop in (None, *DROP_ORDER):
        if drop == "client port":
            layout = layout._replace(client=CLIENT_ADDRESS)
        elif drop == "milliseconds":
            layout = layout._replace(time=8)
        elif drop == "client":
            layout = layout._replace(client=0)
        fixed = layout.mark + layout.time + 1 + layout.method + 1 + layout.status + 1
        fixed += (layout.client + 1 if layout.client else 0) + 1 + 1  # host and path gaps
        rest = max(0, width - fixed)
        ids = min(rest, max(IDS_MIN, min(24, rest // 4)))
        free = rest - ids
        host = min(HOST_MAX, max(free * 2 // 5, min(free // 2, HOST_SHARE_MAX)))
        if host >= HOST_WANTED or drop == DROP_ORDER[-1]:
            host = max(6, host)
            path = max(4, free - host)
            comment = min(COMMENT_MAX, path // 2) if comments and path >= 12 else 0
            if comment:
                path -= comment + 1
            return layout._replace(host=host, path=path, ids=ids, comment=comment)
    raise AssertionError("unreachable")  # pragma: no cover


class RequestList(ScrollView, can_focus=True, inherit_bindings=False):
    """Requests, one a line: mark, time, client, method, host, path, status, identities.

    It has no bindings of its own: the scroll container's (``up``, ``home``, ``end``
    …) only scrolled the view, leaving the cursor where it was and the keys the main
    screen gives them (the cursor, remappable in ``[keys]``) unreachable."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "request-list--header",
        "request-list--header-focused",
        "request-list--cursor",
        "request-list--marked",
        "request-list--dim",
    }

    DEFAULT_CSS = """
    RequestList {
        background: $surface;
        scrollbar-gutter: stable;
        overflow-x: hidden;
    }
    RequestList > .request-list--header {
        text-style: bold;
        background: $panel;
        color: $text;
    }
    RequestList > .request-list--header-focused {
        text-style: bold;
        background: $accent;
        color: $text;
    }
    RequestList > .request-list--cursor {
        background: $block-cursor-blurred-background;
    }
    RequestList:focus > .request-list--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: bold;
    }
    RequestList > .request-list--marked { color: $accent; text-style: bold; }
    RequestList > .request-list--dim { color: $text-muted; }
    """

    class Highlighted(Message):
        """The cursor moved to another request (``entry_id`` None when the list is empty)."""

        def __init__(self, request_list: RequestList, entry_id: int | None) -> None:
            super().__init__()
            self.request_list = request_list
            self.entry_id = entry_id

        @property
        def control(self) -> RequestList:
            return self.request_list

    class Selected(Message):
        """The user chose a request (enter, double click)."""

        def __init__(self, request_list: RequestList, entry_id: int) -> None:
            super().__init__()
            self.request_list = request_list
            self.entry_id = entry_id

        @property
        def control(self) -> RequestList:
            return self.request_list

    class FollowChanged(Message):
        """Follow mode was switched on or off (by a key or by moving away from the end)."""

        def __init__(self, request_list: RequestList, follow: bool) -> None:
            super().__init__()
            self.request_list = request_list
            self.follow = follow

        @property
        def control(self) -> RequestList:
            return self.request_list

    def __init__(
        self,
        lookup: Lookup,
        has_comment: Callable[[int], bool],
        sort_fields: FieldsOf,
        *,
        window: int = DEFAULT_WINDOW,
        utc: bool = False,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.lookup = lookup
        """The entry of an id, spilled ones read back from disk (the rows drawn)."""
        self.has_comment = has_comment
        """Whether an id's entry has a comment, without reading the disk: asked of
        every row the list takes in, where ``lookup`` would read spilled ones back."""
        self.sort_fields = sort_fields
        """What sorting compares, of many ids in one call: spilled rows' read in bulk,
        not their records one by one (a sort of a window of spilled rows)."""
        self.window = max(1, window)
        self.utc = utc
        self.ids: list[int] = []
        """The rows in the window, in id order: ``all_ids[start : start + len(ids)]``."""
        self.all_ids: array[int] = array("q")
        """Every shown row's id, in id order (the window is a slice of it)."""
        self.start = 0
        """Where the window begins in :attr:`all_ids`."""
        self.cursor = -1
        self._follow = True
        # FIFO, not LRU: Textual's LRUCache links its entries in a ring, so each
        # clear() leaves a cycle only a full collection frees, and the dashboard
        # freezes what survives those (tui/gc_pauses.py). A dict holds none.
        self._cache: FIFOCache[tuple[Any, ...], Strip] = FIFOCache(2048)
        self._commented: set[int] = set()
        """Rows with a comment: while there is one, the list has a COMMENT column."""
        self._final: FIFOCache[tuple[Any, ...], Strip] = FIFOCache(512)
        """Lines as the screen gets them (see :meth:`render_lines`)."""
        self._highlighted: int | None = None
        self._style_cache: dict[str, Style] | None = None
        self._sorted: SortedRows | None = None
        """The display order while sorted by a column; None: id order (:attr:`ids`)."""
        self._follow_before_sort = True
        """Follow mode when the sort began (given back on returning to time order)."""
        self._sort_top = False
        """The cursor is on the first sorted row because a sort put it there (it was
        following); the next order puts it on its first row too."""

    # -- data -----------------------------------------------------------------------

    @property
    def follow(self) -> bool:
        """Keep the cursor on the newest row as rows arrive."""
        return self._follow

    @follow.setter
    def follow(self, value: bool) -> None:
        if value == self._follow:
            return
        self._follow = value
        self.post_message(self.FollowChanged(self, value))
        if value:
            self._to_row(len(self.all_ids) - 1)

    @property
    def cursor_id(self) -> int | None:
        """The id of the entry under the cursor."""
        if 0 <= self.cursor < len(self.ids):
            return self.rows[self.cursor]
        return None

    @property
    def total(self) -> int:
        """How many rows are shown, in the window or not."""
        return len(self.all_ids)

    @property
    def beyond(self) -> int:
        """Shown rows outside the window (before or after it)."""
        return len(self.all_ids) - len(self.ids)

    @property
    def rows(self) -> Sequence[int]:
        """The row ids in the order shown (:attr:`ids` unless sorted by a column)."""
        return self.ids if self._sorted is None else self._sorted

    @property
    def order(self) -> Order:
        """The order of the rows (``time``: capture order)."""
        return TIME if self._sorted is None else self._sorted.order

    @property
    def reverse(self) -> bool:
        """The order is descending."""
        return self._sorted is not None and self._sorted.reverse

    @property
    def order_label(self) -> str:
        """``host ▲``, or "" in time order (the default)."""
        if self._sorted is None:
            return ""
        return f"{self._sorted.order.name} {'▼' if self._sorted.reverse else '▲'}"

    def sort_by(self, order: Order, reverse: bool = False) -> None:
        """Show the rows in ``order`` (descending if ``reverse``). Any order but time
        ascending pauses follow (the newest row has no fixed place); back in time
        order, follow is as it was before the sort. The cursor stays on its request,
        unless it was following: then it goes to the first row (what the sort is for)."""
        current = self.cursor_id
        if order is TIME and not reverse:
            if self._sorted is None:
                return
            self._sort_top = False
            self._sorted = None
            self._cache.clear()
            if self._follow_before_sort:
                self.follow = True  # moves to the newest row
            else:
                self.cursor = -1
                self.move_to(self._index_of(current) if current is not None else 0, force=True)
            self.refresh()
            return
        if self._sorted is None:
            self._follow_before_sort = self._follow
            self._sort_top = self._follow
            self.follow = False
        self._sorted = SortedRows(order, reverse, self.sort_fields, self.ids)
        self._cache.clear()
        self.cursor = -1
        index = self._index_of(current) if current is not None and not self._sort_top else 0
        self.move_to(max(0, index), force=True)
        self.refresh()

    def set_rows(self, ids: Sequence[int], keep: int | None = None) -> None:
        """Replace the rows (a new filter); the cursor stays on ``keep`` if shown."""
        self.all_ids = array("q", ids)
        row = len(self.all_ids) - 1
        if not self._follow and keep is not None:
            # On its row, or, filtered out, on the next one shown after it.
            row = min(row, bisect.bisect_left(self.all_ids, keep))
        self._place(row, anew=True)
        self.cursor = -1
        self.move_to(row - self.start, force=True)
        self.refresh()

    def _row_of(self, entry_id: int) -> int:
        """Row ``entry_id``'s index in :attr:`all_ids`, -1 if not shown."""
        i = bisect.bisect_left(self.all_ids, entry_id)
        return i if i < len(self.all_ids) and self.all_ids[i] == entry_id else -1

    def _place(self, row: int, anew: bool = False) -> None:
        """Make the window the rows about ``row`` (an index in :attr:`all_ids`): at
        most :attr:`window` rows, ``row`` in their middle unless an end is nearer.
        Those rows are read from the store (spilled ones from disk) as they are drawn.
        ``anew``: :attr:`all_ids` was replaced (else only the rows that come into the
        window are looked up for comments)."""
        total, window = len(self.all_ids), self.window
        start = 0 if total <= window else min(max(0, row - window // 2), total - window)
        old = self.ids
        self.start = start
        self.ids = self.all_ids[start : start + window].tolist()
        if self._sorted is not None:
            self._sorted.rebuild(self.ids)
        self._cache.clear()
        if anew or not old or not self.ids:
            self._note_comments(self.ids, reset=True)
        else:
            first, last = self.ids[0], self.ids[-1]
            self._commented = {i for i in self._commented if first <= i <= last}
            self._note_comments(i for i in self.ids if not old[0] <= i <= old[-1])
        self._update_size()

    def _to_row(self, row: int) -> None:
        """The cursor on row ``row`` of :attr:`all_ids` (clamped), the window moved
        there first if it is outside (in time order; sorted, the window stays). The
        rows on screen stay where they were as the window moves under them."""
        row = max(0, min(row, len(self.all_ids) - 1))
        if self._sorted is None and not self.start <= row < self.start + len(self.ids):
            was = self.start
            self._place(row)
            self.cursor = -1
            top = self.scroll_y + was - self.start
            self.scroll_to(y=max(0.0, top), animate=False, immediate=True)
        self.move_to(row - self.start if self._sorted is None else row)

    def append(self, ids: Iterable[int]) -> int:
        """Add rows at the bottom (in bulk); returns how many were added. The window
        takes them when it is at the end; else they wait beyond it."""
        at_end = self.start + len(self.ids) == len(self.all_ids)
        before_all = len(self.all_ids)
        self.all_ids.extend(ids)
        added = len(self.all_ids) - before_all
        if not added:
            return 0
        if not at_end:
            return added
        before = len(self.ids)
        self.ids.extend(self.all_ids[before_all:])
        self._note_comments(self.ids[before:])
        if self._sorted is not None:
            self._append_sorted(before)
            return added
        limit = int(self.window * (1 + _SLACK))
        if len(self.ids) > limit:
            cut = len(self.ids) - self.window
            if not self._follow and self.cursor >= 0:
                # The user is reading: the window keeps the cursor's row and the page
                # above it, and the rows past its end wait beyond it.
                cut = min(cut, max(0, self.cursor - self._rows_visible))
            del self.ids[:cut]
            del self.ids[self.window :]
            self.start += cut
            self._commented &= set(self.ids)
            self.cursor = max(-1, self.cursor - cut)
            self.scroll_to(y=max(0.0, self.scroll_y - cut), animate=False, immediate=True)
            self._cache.clear()
        self._update_size()
        if self._follow:
            self.move_to(len(self.ids) - 1)
        elif self.cursor < 0:
            self.move_to(0)
        self.refresh()
        return added

    def _append_sorted(self, before: int) -> None:
        """Sorted by a column: the rows appended to :attr:`ids` from ``before`` on go
        to their places; the cursor stays on its request (follow is off)."""
        view = self._sorted
        assert view is not None
        current = self.cursor_id
        view.add(self.ids[before:])
        limit = int(self.window * (1 + _SLACK))
        if len(self.ids) > limit:
            cut = len(self.ids) - self.window
            del self.ids[:cut]
            self.start += cut
            first = self.ids[0]
            view.keep_only(lambda rid: rid >= first)
            self._cache.clear()
        self._update_size()
        index = view.index_of(current) if current is not None else 0
        self.cursor = -1
        self.move_to(max(0, index))
        self.refresh()

    def insert(self, ids: Iterable[int]) -> None:
        """Add rows in id order (entries that started to match late); the cursor stays put."""
        current = self.cursor_id
        inserted: list[int] = []
        for entry_id in sorted(ids):
            if self._row_of(entry_id) >= 0:
                continue
            at_end = self.start + len(self.ids) == len(self.all_ids)
            row = bisect.bisect_left(self.all_ids, entry_id)
            self.all_ids.insert(row, entry_id)
            first, last = (self.ids[0], self.ids[-1]) if self.ids else (0, 0)
            inside = (first < entry_id < last) or (entry_id > last and at_end)
            if not inside and self.start == 0 and (not self.ids or entry_id < first):
                inside = True  # before the first row, and the window starts at the top
            if not inside:
                if not self.ids or entry_id < first:
                    self.start += 1  # before the window: it moved down a row
                continue
            bisect.insort(self.ids, entry_id)
            inserted.append(entry_id)
        if self._sorted is not None:
            self._sorted.add(inserted)
        if current is not None:
            self.cursor = self._index_of(current)
        self._update_size()
        if self._follow:
            self.move_to(len(self.ids) - 1)
        self.refresh()

    def remove_row(self, entry_id: int) -> None:
        """Take one row out (an entry unmarked while only marked ones are shown)."""
        row = self._row_of(entry_id)
        if row < 0:
            return
        del self.all_ids[row]
        if row < self.start:
            self.start -= 1
        index = self._index_of(entry_id)
        if index < 0:
            return
        if self._sorted is not None:
            self._sorted.discard(entry_id)
            del self.ids[bisect.bisect_left(self.ids, entry_id)]
        else:
            del self.ids[index]
        self._update_size()
        self.cursor = -1
        self.move_to(min(index, len(self.ids) - 1), force=True)
        self.refresh()

    def changed(self, ids: Iterable[int]) -> None:
        """Some entries changed (response, mark, comment): repaint their lines."""
        # Cache keys hold what is shown of an entry, so a change makes a new key;
        # only a repaint is needed, unless sorted rows have to move (a status came).
        ids = list(ids)
        self._note_comments(ids)
        view = self._sorted
        if view is not None:
            current = self.cursor_id
            if view.rekey(ids) and current is not None:
                self.cursor = -1
                self.move_to(view.index_of(current))
        self.refresh()

    def clear(self) -> None:
        """No rows."""
        self.ids = []
        self.all_ids = array("q")
        self.start = 0
        self._note_comments((), reset=True)
        if self._sorted is not None:
            self._sorted.rebuild(())
        self.cursor = -1
        self._cache.clear()
        self._update_size()
        self._post_highlight()
        self.refresh()

    def _index_of(self, entry_id: int) -> int:
        """Row ``entry_id``'s index in the order shown, -1 if not shown."""
        if self._sorted is not None:
            return self._sorted.index_of(entry_id)
        # ids are increasing: binary search.
        i = bisect.bisect_left(self.ids, entry_id)
        if i < len(self.ids) and self.ids[i] == entry_id:
            return i
        return -1

    def _update_size(self) -> None:
        size = Size(self.scrollable_content_region.width, len(self.ids) + 1)
        if size == self.virtual_size:
            return
        # Setting ``virtual_size`` normally lays out the whole screen; rows arriving
        # only change this widget (its scrollbar gutter is reserved), so update the
        # scroll range and repaint just the list. A layout is still asked for when
        # the scrollbar appears or goes.
        shown = self.show_vertical_scrollbar
        self.set_reactive(ScrollView.virtual_size, size)
        self._scroll_update(size)
        if self.show_vertical_scrollbar != shown:
            self.refresh(layout=True)
        else:
            self.refresh()

    # -- cursor -----------------------------------------------------------------------

    @property
    def _rows_visible(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def move_to(self, index: int, force: bool = False) -> None:
        """Put the cursor on row ``index`` (clamped) and scroll it into view."""
        if not self.ids:
            if self.cursor != -1 or force:
                self.cursor = -1
                self._post_highlight()
            return
        index = max(0, min(index, len(self.ids) - 1))
        moved = index != self.cursor
        self.cursor = index
        visible = self._rows_visible
        top = int(self.scroll_y)
        if index < top:
            self.scroll_to(y=index, animate=False, immediate=True)
        elif index >= top + visible:
            self.scroll_to(y=index - visible + 1, animate=False, immediate=True)
        if moved or force:
            self.refresh()
            self._post_highlight()

    def _post_highlight(self) -> None:
        entry_id = self.cursor_id
        if entry_id != self._highlighted or entry_id is None:
            self._highlighted = entry_id
            self.post_message(self.Highlighted(self, entry_id))

    def _user_move(self, index: int) -> None:
        """A move asked for by the user to row ``index`` of the window, which may be
        outside it (in time order the window follows: every shown row can be
        reached); leaving the last row turns follow off."""
        self._sort_top = False
        if self._sorted is None:
            self._to_row(self.start + index)
            at_end = self.start + self.cursor >= len(self.all_ids) - 1
        else:
            self.move_to(index)
            at_end = self.cursor >= len(self.ids) - 1
        if self._follow and not at_end:
            self.follow = False

    def search_rows(self) -> tuple[Sequence[int], int]:
        """What a search (``n``, ``N``) goes through, in the order shown, and the
        cursor's place there (-1: none): in time order every shown row, those beyond
        the window too; sorted, the sorted rows of the window. A copy: a worker
        may go on with them while rows come and go."""
        if self._sorted is None:
            return self.all_ids[:], self.start + self.cursor if self.cursor >= 0 else -1
        return list(self._sorted), self.cursor

    def jump_to_request(self, entry_id: int) -> bool:
        """Put the cursor on request ``entry_id`` as a user move would (a search
        match), the window moved to it; False if it is not shown (any more)."""
        if self._sorted is None:
            row = self._row_of(entry_id)
            if row < 0:
                return False
            self._user_move(row - self.start)
            return True
        index = self._sorted.index_of(entry_id)
        if index < 0:
            return False
        self._user_move(index)
        return True

    def action_cursor_down(self) -> None:
        """Next request."""
        self._user_move(self.cursor + 1)

    def action_cursor_up(self) -> None:
        """Previous request."""
        self._user_move(self.cursor - 1)

    def action_first(self) -> None:
        """Oldest shown request (sorted: the first row)."""
        self._user_move(-self.start if self._sorted is None else 0)

    def action_last(self) -> None:
        """Newest request, and follow from now on (sorted: the last row)."""
        if self._sorted is not None:
            self._user_move(len(self.ids) - 1)
            return
        self._to_row(len(self.all_ids) - 1)
        self.follow = True

    def action_page_down(self) -> None:
        """A page further."""
        self._user_move(self.cursor + self._rows_visible)

    def action_page_up(self) -> None:
        """A page back."""
        self._user_move(self.cursor - self._rows_visible)

    def action_select(self) -> None:
        """Open the request under the cursor."""
        entry_id = self.cursor_id
        if entry_id is not None:
            self.post_message(self.Selected(self, entry_id))

    async def _on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y == 0:
            return
        index = int(self.scroll_y) + offset.y - 1
        if 0 <= index < len(self.ids):
            self._user_move(index)
            if event.chain >= 2:
                self.action_select()

    def _on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self._wheel(event, -1)

    def _on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self._wheel(event, 1)

    def _wheel(self, event: events.MouseEvent, direction: int) -> None:
        """The wheel turned (``direction`` -1: up). Within the window Textual scrolls
        the view. In time order, a turn past the window's top or bottom moves the
        window on over the rows beyond it (read back from the store, spilled or
        not), as the keys do, and the view scrolls on a notch as it would within it:
        every shown row can be reached with the wheel too. The cursor stays on its request
        while the window holds it (else on the window's nearest row); follow stops,
        as when the cursor leaves the newest row."""
        if self._sorted is not None or not self.ids or event.ctrl or event.shift:
            return
        visible = self._rows_visible
        rows = max(1, round(self.app.scroll_sensitivity_y))
        top = self.start + int(self.scroll_y)
        wanted = max(0, min(top + direction * rows, len(self.all_ids) - visible))
        if wanted == top or self.start <= wanted <= self.start + len(self.ids) - visible:
            return  # nothing beyond, or still within the window: Textual's scroll
        event.prevent_default()
        event.stop()
        row = self.start + self.cursor if self.cursor >= 0 else self.start
        self._place(wanted + visible // 2)
        self.cursor = max(0, min(row - self.start, len(self.ids) - 1))
        self.scroll_to(y=wanted - self.start, animate=False, immediate=True)
        self.follow = False
        self._post_highlight()
        self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        self._cache.clear()
        self._update_size()
        if self.cursor >= 0:
            self.move_to(self.cursor, force=False)

    # -- rendering --------------------------------------------------------------------

    def _layout(self, width: int) -> Columns:
        """Column widths for a list ``width`` cells wide (see :func:`columns`)."""
        return columns(width, bool(self._commented))

    def _note_comments(self, ids: Iterable[int], reset: bool = False) -> None:
        """Keep :attr:`_commented` (the rows with a comment) up to date for ``ids``;
        the COMMENT column comes and goes with it, so lines are drawn anew then."""
        had = bool(self._commented)
        if reset:
            self._commented = set()
        has_comment, commented = self.has_comment, self._commented
        for entry_id in ids:
            if has_comment(entry_id):
                commented.add(entry_id)
            else:
                commented.discard(entry_id)
        if bool(commented) != had:
            self._cache.clear()

    def _styles(self) -> dict[str, Style]:
        """Rich styles of the components, on the widget's base style (cached: a lookup
        per row would cost more than the row)."""
        styles = self._style_cache
        if styles is None:
            base = self.rich_style
            styles = {"base": base}
            names = ("header", "header-focused", "cursor", "marked")
            for name in (*names, "dim"):
                styles[name] = base + self.get_component_rich_style(f"request-list--{name}")
            for severity, spec in BADGE_STYLE.items():
                styles[f"badge-{severity}"] = base + Style.parse(spec)
            styles["comment"] = base + Style.parse("cyan")
            styles["error"] = base + Style.parse("red")
            styles["inj"] = base + Style.parse("bold magenta")
            styles["anomaly"] = base + Style.parse(ANOMALY_STYLE)
            styles["more"] = base + Style.parse("bold")
            self._style_cache = styles
        return styles

    def _header_strip(self, width: int) -> Strip:
        """The title row, ``width`` cells wide."""
        return self._header(width)[1]

    def _header(self, width: int) -> tuple[tuple[Any, ...], Strip]:
        focused = self.has_focus
        sorted_by = self.order_label
        key = ("header", width, focused, sorted_by, bool(self._commented))
        cached = self._cache.get(key)
        if cached is not None:
            return key, cached
        # Which pane has the keys: the list's title row is lit, with a marker.
        style = self._styles()["header-focused" if focused else "header"]
        layout = self._layout(width)
        titles: tuple[str, ...] = (
            "▶" if focused else "",
            "TIME",
            "CLIENT",
            "METHOD",
            "HOST",
            "COMMENT",
            "PATH",
            "ST",
            "IDENTITIES",
        )
        widths = (*layout[:5], layout.comment, *layout[5:8])
        if sorted_by:
            # The sorted column's title carries the direction (mitmproxy, k9s).
            column = self.order.column
            arrow = sorted_by[-1]
            titles = tuple(f"{t}{arrow}" if t == column else t for t in titles)
        cells = [fit_str(t, w) for t, w in zip(titles, widths, strict=True) if w]
        line = cells[0] + cells[1] + " " + " ".join(cells[2:])
        strip = Strip([Segment(fit_str(line, width), style)], width)
        self._cache[key] = strip
        return key, strip

    def _row_strip(self, index: int, width: int) -> Strip:
        """Row ``index`` as a line ``width`` cells wide."""
        return self._row(index, width)[1]

    def _row(self, index: int, width: int) -> tuple[tuple[Any, ...], Strip]:
        # Not self.rows: this runs for every visible line of every frame.
        entry_id = (self.ids if self._sorted is None else self._sorted)[index]
        entry = self.lookup(entry_id)
        is_cursor = index == self.cursor
        styles = self._styles()
        if entry is None:
            return ("blank", width), Strip.blank(width, styles["base"])
        record = entry.record
        response = record.response
        status = response.status if response is not None else 0
        injected = bool(entry.injected)
        anomalous = bool(record.anomalies)
        key = (
            entry_id,
            width,
            is_cursor,
            entry.marked,
            entry.comment,
            status,
            injected,
            anomalous,
            self.has_focus,
            bool(self._commented),  # the COMMENT column moves PATH
        )
        cached = self._cache.get(key)
        if cached is not None:
            return key, cached
        req = record.request
        _, w_time, w_client, w_method, w_host, w_path, w_status, w_ids, w_comment = self._layout(
            width
        )
        base = styles["base"]
        # HOST and PATH keep the text colour: the badges alone carry the severity, so
        # they stand out when most rows have one (20 of the demo's 28 rows would be red).
        cursor = styles["cursor"] if is_cursor else None
        segments: list[Segment] = []

        def add(text: str, style: Style) -> None:
            # The cursor colours win over the cell's own.
            segments.append(Segment(text, style + cursor if cursor is not None else style))

        add("●" if entry.marked else " ", styles["marked"] if entry.marked else base)
        add("✎" if entry.comment else " ", styles["comment"])
        stamp = format_time(req.ts, self.utc)
        add(fit_str(stamp if w_time >= 12 else stamp[:8], w_time) + " ", styles["dim"])
        # A narrow client column shows the address only (the port is in the detail);
        # the app, where the capture names it (PCAPdroid), stands for the client.
        if w_client:
            client = req.app or (
                endpoint(req.src, req.sport) if w_client >= CLIENT_WITH_PORT else req.src
            )
            add(fit_str(safe(client), w_client) + " ", base)
        add(fit_str(safe(req.method), w_method) + " ", base)
        add(fit_str(safe(req.destination), w_host) + " ", base)
        path_width = w_path
        if w_comment:
            note = safe(" ".join(entry.comment.split())) if entry.comment else ""
            add(fit_str(note, w_comment) + " ", styles["comment"])
        elif entry.comment:
            # The comment's first words lead the PATH cell (up to half of it): the
            # detail has it whole, at the top.
            room = min(w_path, max(8, w_path // 2))
            note = fit_str(safe(" ".join(entry.comment.split())), room - 1).rstrip() + " "
            add(note, styles["comment"])
            path_width = max(0, w_path - cell_len(note))
        add(fit_str(safe(target_path(record)), path_width) + " ", base)
        add(
            fit_str(str(status) if status else "", w_status) + " ",
            styles["error"] if status >= 400 else base,
        )
        used = 0
        for part, kind in fit_badges(badge_labels(record), injected, w_ids, anomalous):
            if kind in ("gap", "more"):
                style = base if kind == "gap" else styles["more"]
            elif kind in ("inj", "anomaly"):
                style = styles[kind]
            else:
                style = styles.get(f"badge-{kind}", base)
            part = part[: w_ids - used]
            add(part, style)
            used += len(part)
        total = 2 + w_time + 1 + (w_client + 1 if w_client else 0) + w_method + 1
        total += w_host + 1 + w_path + 1 + (w_comment + 1 if w_comment else 0)
        total += w_status + 1 + used
        if total < width:
            add(" " * (width - total), base)
        strip = Strip(segments, width) if total <= width else Strip(segments).crop(0, width)
        self._cache[key] = strip
        return key, strip

    def _line(self, y: int, width: int) -> tuple[tuple[Any, ...], Strip]:
        """Line ``y`` of the widget and a key that names what it shows."""
        if y == 0:
            return self._header(width)
        index = int(self.scroll_y) + y - 1
        if 0 <= index < len(self.ids):
            return self._row(index, width)
        return ("blank", width), Strip.blank(width, self._styles()["base"])

    def render_line(self, y: int) -> Strip:
        return self._line(y, self.scrollable_content_region.width)[1]

    def render_lines(self, crop: Region) -> list[Strip]:
        """The lines of ``crop``, as Textual's own styling pass would make them
        (the row padded to the content width, then the app's line filters), but
        cached by what each line shows, not by its position.

        Why: in follow mode every new batch scrolls the list, so Textual's cache
        (by line number) misses on every visible line and styles each again,
        making new strips that the compositor then cuts and renders again too.
        A line that shows the same row is the same strip object here, so its cuts
        and its rendering are cached on it. A box Textual would draw differently
        (border, padding, outline, tint, opacity) takes Textual's path.
        """
        if not self._plain_box():
            return super().render_lines(crop)
        region_width = self.size.width
        width = self.scrollable_content_region.width
        content_width = self.content_region.width
        base_background, background = self.background_colors
        inner = Style(bgcolor=(base_background + background).rich_color)
        filters = self.get_line_filters()
        context = (content_width, inner, tuple(map(id, filters)))
        final = self._final
        strips: list[Strip] = []
        for y in crop.line_range:
            key, strip = self._line(y, width)
            full_key = (key, context)
            done = final.get(full_key)
            if done is None:
                done = strip.adjust_cell_length(content_width, inner)
                for line_filter in filters:
                    done = done.apply_filter(line_filter, background)
                final[full_key] = done
            strips.append(done)
        if crop.column_span != (0, region_width):
            x1, x2 = crop.column_span
            strips = [strip.crop(x1, x2) for strip in strips]
        return strips

    def _plain_box(self) -> bool:
        """No border, padding, outline, tint, hatch or opacity: nothing for Textual's
        styling pass to add but the background."""
        styles = self.styles
        return (
            not any(styles.gutter)
            and not any(edge for edge, _ in styles.outline)
            and not styles.tint.a
            and self.opacity == 1.0
            and styles.text_opacity == 1.0
            and not (styles.has_rule("hatch") and styles.hatch != "none")
            and self._border_title is None
            and self._border_subtitle is None
        )

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._style_cache = None
        self._cache.clear()
        self._final.clear()

    def _on_focus(self, event: events.Focus) -> None:
        self._style_cache = None
        self.refresh()

    def _on_blur(self, event: events.Blur) -> None:
        self._style_cache = None
        self.refresh()
