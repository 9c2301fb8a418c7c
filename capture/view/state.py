"""What the dashboard's view shows, without a widget: filter, pause, clear point.

The store holds every request; the view is a filter over it. :class:`ViewState`
decides which entries the request list shows and keeps the user's choices (the
filter and its history, marked-only, pause, the clear point of ``z``). The
dashboard's :class:`~tui.app.MainScreen` asks it and moves rows on screen; tests
use it directly, without Pilot.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from capture.view.filter import Filter, compile_filter
from capture.view.store import Entry, Snapshot, Store

Predicate = Callable[[Entry], bool]


@dataclass(slots=True)
class Refilter:
    """A recomputation of the shown rows, started by :meth:`ViewState.start_refilter`."""

    generation: int
    entries: Snapshot
    """The store's entries when it started (a snapshot: the store keeps growing;
    spilled entries are read from disk as the run reaches them)."""
    predicate: Predicate
    last: int
    """The newest id in the snapshot."""

    def run(self) -> list[int]:
        """The ids of the snapshot's entries that the view shows (thread-safe)."""
        pred = self.predicate
        return [e.record.id for e in self.entries if pred(e)]


@dataclass(slots=True)
class Arrived:
    """What :meth:`ViewState.arrive` makes of entries added or changed in the store."""

    append: list[int] = field(default_factory=list)
    """New ids to add to the end of the list."""
    updated: list[Entry] = field(default_factory=list)
    """Entries already known that changed (a response came)."""


class ViewState:
    """The view's state over ``store``."""

    def __init__(self, store: Store, filter_expr: str = "") -> None:
        self.store = store
        self.filter_expr = filter_expr
        """The expression as typed (kept while the filter is switched off)."""
        self.filter: Filter | None = compile_filter(filter_expr) if filter_expr else None
        self.filter_on = True
        self.marked_only = False
        self.saved_view: frozenset[int] | None = None
        """Reopening a session saved with the shown requests only: their ids (the
        file also holds the other requests of their connections); None: none."""
        self.saved_view_on = True
        self.saved_view_filter = ""
        """The filter the saved view was shown by when saved ("" if unknown)."""
        self.floor = 0
        """Entries with ids up to this were cleared from the view (``z``); the store keeps them."""
        self.cleared = 0
        """How many stored requests the clear point hides (``u`` brings them back)."""
        self.deleted: set[int] = set()
        """Ids taken out of the view one by one (``d``); the store keeps them."""
        self._undo: list[tuple[int, int] | int] = []
        """What ``u`` undoes, newest last: the clear point (floor, cleared) before a
        ``z``, or the id a ``d`` took out."""
        self.paused_at: int | None = None
        """While paused: the newest id the view may show."""
        self.new_while_paused = 0
        """While paused: how many new requests the view would show."""
        self.last_seen = 0
        """The newest id the view has been told about."""
        self.history: list[str] = [filter_expr] if filter_expr else []
        """Filters applied, oldest first (the filter input's up/down)."""
        self.generation = 0
        self.filtering = False
        """A re-filter is running in the background."""

    # -- what is shown -----------------------------------------------------------------

    @property
    def active_filter(self) -> str:
        """The expression in effect: empty when none is set or it is switched off."""
        return self.filter_expr if self.filter_on else ""

    def predicate(self, until: int | None = None) -> Predicate:
        """Whether an entry is shown: after the clear point, up to the pause (or
        ``until``), marked if only marked ones are, and matching the filter if on."""
        floor = self.floor
        match = None
        if self.filter_on and self.filter is not None and not self.filter.matches_all:
            match = self.filter.match
        marked_only = self.marked_only
        limit = until if until is not None else self.paused_at
        only = self.saved_view if self.saved_view_on else None
        deleted = self.deleted

        def pred(entry: Entry) -> bool:
            rid = entry.record.id
            if rid <= floor or (limit is not None and rid > limit):
                return False
            if deleted and rid in deleted:
                return False
            if only is not None and rid not in only:
                return False
            if marked_only and not entry.marked:
                return False
            return match is None or match(entry)

        return pred

    def entries_after(self, last: int) -> list[Entry]:
        """Entries with ids above ``last`` (up to the newest seen), oldest first.

        Record ids are consecutive in capture order, so this costs only the new ones.
        """
        get = self.store.get
        found = (get(rid) for rid in range(last + 1, self.last_seen + 1))
        return [entry for entry in found if entry is not None]

    # -- entries arriving ----------------------------------------------------------------

    def arrive(self, changed: Sequence[Entry]) -> Arrived:
        """Entries were added or changed in the store: what the list should do."""
        out = Arrived()
        new: list[Entry] = []
        last_seen = self.last_seen
        for entry in changed:
            (new if entry.record.id > last_seen else out.updated).append(entry)
        if new:
            self.last_seen = max(e.record.id for e in new)
        if self.paused_at is not None:
            pred = self.predicate(until=self.last_seen)
            self.new_while_paused += sum(1 for e in new if pred(e))
        else:
            pred = self.predicate()
            out.append = [e.record.id for e in new if pred(e)]
        return out

    def late_matches(self, updated: Sequence[Entry], shown: Sequence[int]) -> list[int]:
        """Updated entries that a filter now lets through (a response made ``~ts``
        or ``~c`` match) and that are not in ``shown`` (every shown id, in id order)."""
        if not (self.filter_on and self.filter is not None and not self.filter.matches_all):
            return []
        pred = self.predicate()

        def is_shown(rid: int) -> bool:
            i = bisect.bisect_left(shown, rid)
            return i < len(shown) and shown[i] == rid

        return [e.record.id for e in updated if not is_shown(e.record.id) and pred(e)]

    # -- the user's choices --------------------------------------------------------------

    def set_filter(self, expr: str, compiled: Filter | None = None) -> None:
        """Apply ``expr`` (compiled here unless given; it must be valid), switched on,
        and remember it in the history."""
        self.filter_expr = expr
        self.filter = compiled if compiled is not None else (compile_filter(expr) if expr else None)
        self.filter_on = True
        if expr and (not self.history or self.history[-1] != expr):
            self.history.append(expr)

    def toggle_filter(self) -> bool:
        """Switch the filter (and a saved view) off or on again; False when there is
        none to switch."""
        if not self.filter_expr and self.saved_view is None:
            return False
        # Both go off, or on, together.
        on = not (self.filter_on if self.filter_expr else self.saved_view_on)
        self.filter_on = self.saved_view_on = on
        return True

    def restrict(self, ids: frozenset[int], expr: str = "") -> None:
        """Show only ``ids`` (a session's saved view; ``toggle_filter`` lifts it),
        those the filter ``expr`` showed when the session was saved."""
        self.saved_view = ids
        self.saved_view_on = True
        self.saved_view_filter = expr

    def toggle_marked_only(self) -> None:
        """Show only marked requests, or everything again."""
        self.marked_only = not self.marked_only

    def toggle_pause(self) -> list[int]:
        """Freeze the view, or resume it; on resuming, the ids to append (what came
        meanwhile and is shown)."""
        if self.paused_at is None:
            self.paused_at = self.last_seen
            self.new_while_paused = 0
            return []
        paused_at = self.paused_at
        self.paused_at = None
        self.new_while_paused = 0
        pred = self.predicate()
        return [e.record.id for e in self.entries_after(paused_at) if pred(e)]

    def clear(self) -> None:
        """Hide every request so far (``z``): the store, saves and exports keep them."""
        self._undo.append((self.floor, self.cleared))
        self.floor = self.last_seen
        # Ids are consecutive and the store has every id up to last_seen (less any
        # it evicted): all of it is behind the clear point now.
        self.cleared = len(self.store)
        self.new_while_paused = 0
        if self.paused_at is not None:
            self.paused_at = self.last_seen

    def delete(self, rid: int) -> None:
        """Take request ``rid`` out of the view (``d``, as mitmproxy's delete): the
        store, saves and exports of everything keep it, and ``u`` brings it back."""
        if rid not in self.deleted:
            self.deleted.add(rid)
            self._undo.append(rid)

    @property
    def deleted_shown(self) -> int:
        """Requests taken out with ``d`` after the clear point (what the view lacks
        for them)."""
        floor = self.floor
        return sum(1 for rid in self.deleted if rid > floor)

    def undo_clear(self) -> bool:
        """Undo the last ``z`` (back to the clear point before it) or ``d`` (the
        request comes back); False when there was neither. Shown again after a
        re-filter."""
        if not self._undo:
            return False
        last = self._undo.pop()
        if isinstance(last, int):
            self.deleted.discard(last)
        else:
            self.floor, self.cleared = last
        if self.paused_at is not None:
            pred = self.predicate(until=self.last_seen)
            self.new_while_paused = sum(1 for e in self.entries_after(self.paused_at) if pred(e))
        return True

    def since_clear(self) -> list[Entry]:
        """The stored entries after the clear point and not deleted, oldest first
        (what the view covers, before the filter)."""
        floor, deleted = self.floor, self.deleted
        return [e for e in self.store if e.record.id > floor and e.record.id not in deleted]

    # -- re-filtering ---------------------------------------------------------------------

    def start_refilter(self) -> Refilter:
        """Begin recomputing the shown rows; an older unfinished one is then stale."""
        self.generation += 1
        entries = self.store.snapshot()
        return Refilter(self.generation, entries, self.predicate(), entries.last_id)

    def finish_refilter(self, job: Refilter, ids: list[int]) -> list[int] | None:
        """The rows to show once ``job`` computed ``ids``; None when a newer re-filter
        was started meanwhile (its result wins)."""
        if job.generation != self.generation:
            return None
        newer = self.entries_after(job.last)
        if newer:
            pred = self.predicate()
            ids.extend(e.record.id for e in newer if pred(e))
        self.filtering = False
        if self.paused_at is not None:
            pred = self.predicate(until=self.last_seen)
            self.new_while_paused = sum(1 for e in self.entries_after(self.paused_at) if pred(e))
        return ids


def search_order(count: int, start: int, step: int, done: int = 0) -> Iterator[tuple[int, bool]]:
    """The indexes of ``count`` rows a search looks at, in turn: from the row after
    ``start`` (``step`` 1) or before it (-1), going round the end once, each with
    whether it went round. ``start`` -1 searches from the top (or, backwards, the
    end). ``done``: the first rows of that order were looked at already (the search
    goes on from there, in a worker)."""
    if start < 0:
        start = -1 if step > 0 else count
    for offset in range(done + 1, count + 1):
        index = start + step * offset
        yield index % count, not 0 <= index < count


SEARCH_CHUNK = 1_000
"""Rows a search in a worker looks at between two reports of how far it got (each
a chance to stop it)."""


@dataclass(frozen=True, slots=True)
class SearchJob:
    """What a search (``n``, ``N``) leaves to a worker thread: the rows it has not
    looked at, spilled to disk or too many for the UI thread."""

    ids: Sequence[int]
    """The rows searched, in the order shown when it began (a copy)."""
    start: int
    """The cursor's place in :attr:`ids` (-1: none)."""
    step: int
    """1: forwards, -1: backwards."""
    done: int
    """How many rows of the search's order were looked at already."""
    entries: Snapshot
    """The store's entries when it began (spilled ones are read as reached)."""
    match: Predicate

    def run(self, going_on: Callable[[int], bool]) -> tuple[int, bool] | None:
        """The id of the next row that matches and whether the search went round the
        end to it; None when none does or the search was stopped. ``going_on`` is
        told how many rows were looked at, every :data:`SEARCH_CHUNK`; False from it
        stops the search. Thread-safe."""
        ids, get, match = self.ids, self.entries.get, self.match
        order = search_order(len(ids), self.start, self.step, self.done)
        for done, (index, wrapped) in enumerate(order, self.done):
            if done % SEARCH_CHUNK == 0 and not going_on(done):
                return None
            entry = get(ids[index])
            if entry is not None and match(entry):
                return ids[index], wrapped
        return None
