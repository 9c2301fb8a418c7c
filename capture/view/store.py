"""The store: every record of a session, in id order, with the user's marks and notes.

"The store holds everything; the view is a filter over it; re-filtering never
re-parses." The dashboard keeps one :class:`Store`, feeds it the pipeline's
event batches with :meth:`Store.apply`, and asks :meth:`Store.filter` for the ids
to show. Records stay immutable; what the user adds (a mark, a comment) lives on
the mutable :class:`Entry` around the record.

The store is bounded (:attr:`Store.max_records`): past the bound the oldest
entries are dropped and counted in :attr:`Store.evicted`, never silently.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from capture.model import EchoSeen, Event, Record, RequestSeen, Response, ResponseSeen

DEFAULT_MAX_RECORDS = 1_000_000
"""Default bound of a store: about 1-2 GB of records with typical headers."""


SEARCH_TEXT_FIELDS = (
    "text_request_headers",
    "text_response_headers",
    "text_header_names",
    "text_url",
    "text_destination",
    "text_src",
    "text_dst",
    "text_app",
    "text_content_type",
    "text_response_content_type",
)
"""The :class:`Entry` slots where :mod:`capture.view.filter` keeps derived search texts."""


def _text() -> Any:
    # A search-text slot: not set by __init__, not shown, not compared.
    return field(init=False, repr=False, compare=False)


@dataclass(slots=True)
class Entry:
    """A record in the store plus what the user and later analysis added to it."""

    record: Record
    marked: bool = False
    comment: str = ""

    # Search texts, built by capture.view.filter on first use and kept for every later
    # filter: building a header block costs more than searching it. They live in
    # slots of the entry itself, not in a separate object, because allocating
    # 100,000 small objects wakes Python's cyclic GC and doubles a first filter
    # (strings are not GC-tracked). ``text_record`` says which record they were
    # built from: when a response replaces the record, they are rebuilt.
    text_record: Record | None = field(default=None, init=False, repr=False, compare=False)
    text_request_headers: str | None = _text()
    text_response_headers: str | None = _text()
    text_header_names: str | None = _text()
    text_url: str | None = _text()
    text_destination: str | None = _text()
    text_src: str | None = _text()
    text_dst: str | None = _text()
    text_app: str | None = _text()
    text_content_type: str | None = _text()
    text_response_content_type: str | None = _text()

    @property
    def id(self) -> int:
        """The record id (capture order)."""
        return self.record.id

    @property
    def injected(self) -> tuple[str, ...]:
        """Names of the headers added in transit (a reflector's echo showed them)."""
        moved = self.record.transit
        if moved is None:
            return ()
        return tuple(dict.fromkeys(name for name, _ in moved.injected))


class Store:
    """Entries ordered by record id, bounded to :attr:`max_records` (oldest dropped first)."""

    def __init__(self, max_records: int = DEFAULT_MAX_RECORDS) -> None:
        if max_records < 1:
            raise ValueError(f"max_records must be at least 1, not {max_records}")
        self.max_records = max_records
        self.evicted = 0
        """Entries dropped because the store was full (oldest first)."""
        # A deque keeps id order and drops the oldest in O(1); the dict finds by id.
        # (Popping the first key of a plain dict over and over degrades to O(n).)
        self._order: deque[Entry] = deque()
        self._by_id: dict[int, Entry] = {}

    def __len__(self) -> int:
        return len(self._order)

    def __iter__(self) -> Iterator[Entry]:
        # Over a snapshot (a C-level copy, ~5 ms per million entries): a worker
        # thread can filter or save while the owning thread keeps adding entries;
        # iterating the deque itself would raise "deque mutated during iteration".
        return iter(tuple(self._order))

    def __reversed__(self) -> Iterator[Entry]:
        return reversed(self._order)

    def after(self, record_id: int) -> list[Entry]:
        """Entries with ids above ``record_id``, oldest first.

        Walks from the newest end, so the cost is the number returned, not the
        store size (what arrived while the view was paused). Like ``reversed()``,
        call it from the thread that adds entries.
        """
        out: list[Entry] = []
        for entry in reversed(self._order):
            if entry.record.id <= record_id:
                break
            out.append(entry)
        out.reverse()
        return out

    def __contains__(self, record_id: object) -> bool:
        return record_id in self._by_id

    def get(self, record_id: int) -> Entry | None:
        """The entry of record ``record_id``, or None (never seen, evicted or cleared)."""
        return self._by_id.get(record_id)

    def add(self, record: Record) -> Entry:
        """Store a record; a record whose id is already stored replaces it (marks kept)."""
        entry = self._by_id.get(record.id)
        if entry is not None:
            entry.record = record
            return entry
        entry = Entry(record)
        order = self._order
        if not order or order[-1].record.id < record.id:
            order.append(entry)
        else:
            self._insert_in_order(entry)
        self._by_id[record.id] = entry
        if len(order) > self.max_records:
            oldest = order.popleft()
            del self._by_id[oldest.record.id]
            self.evicted += 1
        return entry

    def _insert_in_order(self, entry: Entry) -> None:
        # Rare (ids arrive in order from one pipeline): search from the newest end,
        # where a late record almost always belongs.
        order = self._order
        rid = entry.record.id
        i = len(order)
        while i > 0 and order[i - 1].record.id > rid:
            i -= 1
        order.insert(i, entry)

    def set_response(self, record_id: int, response: Response) -> Entry | None:
        """Attach a response to a stored record; None if the record is not stored."""
        entry = self._by_id.get(record_id)
        if entry is None:
            return None
        entry.record = dataclasses.replace(entry.record, response=response)
        return entry

    def set_echo(self, event: EchoSeen) -> Entry | None:
        """Note what a reflector's echo showed (sent versus received, and the findings
        in headers added or changed on the way) on a stored record."""
        entry = self._by_id.get(event.record.id)
        if entry is None:
            return None
        entry.record = event.onto(entry.record)
        return entry

    def apply(self, events: Iterable[Event]) -> list[Entry]:
        """Take in a batch of pipeline events; return the entries added or changed.

        Each changed entry appears once, in the order it was first touched; an
        entry that was added and then evicted within the same batch is left out.
        Notices and stats snapshots are not the store's business and are ignored.
        """
        changed: dict[int, Entry] = {}
        for event in events:
            if isinstance(event, RequestSeen):
                entry = self.add(event.record)
                changed.setdefault(entry.record.id, entry)
            elif isinstance(event, ResponseSeen):
                got = self.set_response(event.record_id, event.response)
                if got is not None:
                    changed.setdefault(event.record_id, got)
            elif isinstance(event, EchoSeen):
                got = self.set_echo(event)
                if got is not None:
                    changed.setdefault(event.record.id, got)
        if self.evicted:
            by_id = self._by_id
            return [e for rid, e in changed.items() if by_id.get(rid) is e]
        return list(changed.values())

    def filter(self, pred: Callable[[Entry], bool]) -> list[int]:
        """Ids of the entries ``pred`` accepts, in id order.

        A :class:`capture.view.filter.Filter` is called through its bare ``match``
        function, which saves a method call per entry. Safe in a worker thread
        while the owning thread adds entries (it filters a snapshot).
        """
        match: Callable[[Entry], bool] = getattr(pred, "match", pred)
        return [e.record.id for e in tuple(self._order) if match(e)]

    def mark(self, record_id: int, marked: bool = True) -> Entry | None:
        """Set or clear the mark of an entry; None if it is not stored."""
        entry = self._by_id.get(record_id)
        if entry is not None:
            entry.marked = marked
        return entry

    def toggle_mark(self, record_id: int) -> Entry | None:
        """Flip the mark of an entry; None if it is not stored."""
        entry = self._by_id.get(record_id)
        if entry is not None:
            entry.marked = not entry.marked
        return entry

    def set_comment(self, record_id: int, comment: str) -> Entry | None:
        """Replace the comment of an entry ("" removes it); None if it is not stored."""
        entry = self._by_id.get(record_id)
        if entry is not None:
            entry.comment = comment
        return entry

    def clear(self) -> None:
        """Forget every entry and reset the eviction counter (a fresh view)."""
        self._order.clear()
        self._by_id.clear()
        self.evicted = 0
