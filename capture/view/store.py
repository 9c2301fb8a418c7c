"""The store: every record of a session, in id order, with the user's marks and notes.

"The store holds everything; the view is a filter over it; re-filtering never
re-parses." The dashboard keeps one :class:`Store`, feeds it the pipeline's
event batches with :meth:`Store.apply`, and asks :meth:`Store.filter` for the ids
to show. Records stay immutable; what the user adds (a mark, a comment) lives on
the mutable :class:`Entry` around the record.

The store is bounded in bytes (:attr:`Store.max_bytes`, :data:`DEFAULT_MAX_BYTES`,
each record charged :func:`record_size`): past the bound the oldest entries are
*spilled*, with their marks and comments, to a private file on disk (a
``headerwatch-spill-*`` directory, 0700, in the system's temporary directory; the
file 0600; removed by :meth:`Store.close`). A spilled entry stays retrievable: by
id (:meth:`Store.get`), in iteration, filters, saves and exports, which read it
back from the file; marks and comments set on it are written back. Each spilled
record's sort fields (:func:`capture.view.order.sort_fields`) are written uncompressed
before it, so that sorting the list reads those of many rows in a few reads
(:meth:`Store.sort_fields`), never a record. Only where no
spill file can be made (or written) are the oldest entries dropped instead, past
:attr:`Store.max_records`, and counted in :attr:`Store.evicted`, never silently.
"""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
import marshal
import os
import pickle
import shutil
import tempfile
import threading
import weakref
import zlib
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from capture.model import (
    EchoSeen,
    Event,
    Finding,
    Record,
    RequestSeen,
    Response,
    ResponseSeen,
)
from capture.view.order import SortFields, sort_fields

DEFAULT_MAX_RECORDS = 1_000_000
"""Entries kept in memory where nothing can be spilled: about 1-2 GB of records."""
DEFAULT_MAX_BYTES = 64 << 20
"""Default bound of the records a store keeps in memory (by :func:`record_size`);
older ones are spilled to disk."""
SPILL_PREFIX = "headerwatch-spill-"
_GAP = 64 << 10
"""Spilled copies at most this far apart in the file are read together for their
sort fields (the bytes between them read and passed over)."""
_CHUNK = 4 << 20
"""The most one read for sort fields takes in (a window of 5,000 spilled rows is
about 2 MB)."""


def record_size(record: Record) -> int:
    """About how many bytes ``record`` and its entry take in memory (the store's
    charge): a fixed part for the objects, and each header's text with the
    overhead of its two strings and its pair."""
    size = 1200 + len(record.request.body) + len(record.request.uri or "")
    for name, value in record.request.headers:
        size += len(name) + len(value) + 140
    if record.response is not None:
        size += 400
        for name, value in record.response.headers:
            size += len(name) + len(value) + 140
    return size + 200 * len(record.findings)


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


class _Spill:
    """Entries written out of memory: one file of compressed pickles, appended to
    (a changed entry is written again), read back with ``pread`` so that a worker
    thread can read while the owning thread writes. Each copy is its record's sort
    fields (their length in 4 bytes, then marshal), then the compressed pickle."""

    def __init__(self, parent: str | None = None) -> None:
        self.directory = tempfile.mkdtemp(prefix=SPILL_PREFIX, dir=parent)
        os.chmod(self.directory, 0o700)
        self.path = os.path.join(self.directory, "entries")
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        # Removed with the last reference too, or at the interpreter's exit: a store
        # dropped without close() (an exception, a test) must not leave the older
        # requests, numbers and all, in /tmp.
        self._removal = weakref.finalize(self, _remove_spill, self._fd, self.directory)
        self._size = 0
        self._lock = threading.Lock()
        # Spilled ids, ascending, and where each one's latest copy starts and ends.
        self.ids = array("q")
        self.starts = array("q")
        self.ends = array("q")
        self.commented: set[int] = set()
        """Spilled ids whose latest copy has a comment (the list's COMMENT column
        asks for every row it shows; reading each back would cost a disk read)."""

    def __len__(self) -> int:
        return len(self.ids)

    def _index(self, record_id: int) -> int:
        i = bisect.bisect_left(self.ids, record_id)
        return i if i < len(self.ids) and self.ids[i] == record_id else -1

    def __contains__(self, record_id: int) -> bool:
        return self._index(record_id) >= 0

    def write(self, entry: Entry) -> None:
        """Spill ``entry`` (or its newer copy): record, mark and comment."""
        fields = marshal.dumps(sort_fields(entry.record))
        blob = b"".join(
            (
                len(fields).to_bytes(4, "little"),
                fields,
                zlib.compress(pickle.dumps((entry.record, entry.marked, entry.comment), 5), 1),
            )
        )
        with self._lock:
            os.write(self._fd, blob)
            start = self._size
            self._size += len(blob)
            rid = entry.record.id
            if entry.comment:
                self.commented.add(rid)
            else:
                self.commented.discard(rid)
            i = bisect.bisect_left(self.ids, rid)
            if i < len(self.ids) and self.ids[i] == rid:
                self.starts[i], self.ends[i] = start, self._size
            else:
                self.ids.insert(i, rid)
                self.starts.insert(i, start)
                self.ends.insert(i, self._size)

    def read(self, record_id: int) -> Entry | None:
        """A copy of the spilled entry ``record_id`` (None if it was not spilled)."""
        with self._lock:
            i = self._index(record_id)
            if i < 0:
                return None
            start, end = self.starts[i], self.ends[i]
        return self._load(start, end)

    def _load(self, start: int, end: int) -> Entry:
        blob = memoryview(os.pread(self._fd, end - start, start))
        skip = 4 + int.from_bytes(blob[:4], "little")
        record, marked, comment = pickle.loads(zlib.decompress(blob[skip:]))
        return Entry(record, marked, comment)

    def sort_fields(self, rids: Iterable[int]) -> dict[int, SortFields]:
        """The sort fields of the spilled entries among ``rids`` (others left out),
        read in bulk: copies near each other in the file in one read (the window's
        rows were mostly spilled together), and no record decompressed."""
        spans: list[tuple[int, int, int]] = []
        with self._lock:
            ids, starts, ends = self.ids, self.starts, self.ends
            for rid in rids:
                i = bisect.bisect_left(ids, rid)
                if i < len(ids) and ids[i] == rid:
                    spans.append((starts[i], ends[i], rid))
        spans.sort()
        got: dict[int, SortFields] = {}
        first = 0
        while first < len(spans):
            # One read for a run of copies close together, up to _CHUNK bytes.
            last, begin = first, spans[first][0]
            while (
                last + 1 < len(spans)
                and spans[last + 1][0] - spans[last][1] <= _GAP
                and spans[last + 1][1] - begin <= _CHUNK
            ):
                last += 1
            data = memoryview(os.pread(self._fd, spans[last][1] - begin, begin))
            for start, _, rid in spans[first : last + 1]:
                at = start - begin
                size = int.from_bytes(data[at : at + 4], "little")
                got[rid] = marshal.loads(data[at + 4 : at + 4 + size])
            first = last + 1
        return got

    def spans(self) -> tuple[array[int], array[int], array[int]]:
        """Copies of the index (ids, starts, ends): what a :class:`Snapshot` reads."""
        with self._lock:
            return self.ids[:], self.starts[:], self.ends[:]

    def close(self) -> None:
        """Delete the file and its directory (idempotent)."""
        self._removal()


def _remove_spill(fd: int, directory: str) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)
    shutil.rmtree(directory, ignore_errors=True)


def _entry_id(entry: Entry) -> int:
    return entry.record.id


class Snapshot:
    """The store's entries at one moment, in id order, read lazily: spilled entries
    come from disk only as the iteration reaches them, so a snapshot holds in memory
    only what the store held there. Iterable more than once, and in a worker thread
    while the store goes on (a spilled entry is a copy, as from :meth:`Store.get`)."""

    __slots__ = ("_ends", "_ids", "_memory", "_spill", "_starts")

    def __init__(self, spill: _Spill | None, memory: tuple[Entry, ...]) -> None:
        self._spill = spill
        self._ids, self._starts, self._ends = (
            spill.spans() if spill is not None else (array("q"), array("q"), array("q"))
        )
        self._memory = memory

    def __len__(self) -> int:
        return len(self._ids) + len(self._memory)

    @property
    def last_id(self) -> int:
        """The newest id in the snapshot (0 when empty)."""
        if self._memory:
            return self._memory[-1].record.id
        return self._ids[-1] if self._ids else 0

    def get(self, record_id: int) -> Entry | None:
        """The entry ``record_id`` as the snapshot holds it (a spilled one read back
        from disk), or None: not in the snapshot, or the store was closed meanwhile.
        Thread-safe, as iteration is: a search reads the rows it reaches by id."""
        memory = self._memory
        i = bisect.bisect_left(memory, record_id, key=_entry_id)
        if i < len(memory) and memory[i].record.id == record_id:
            return memory[i]
        i = bisect.bisect_left(self._ids, record_id)
        if self._spill is None or i == len(self._ids) or self._ids[i] != record_id:
            return None
        try:
            return self._spill._load(self._starts[i], self._ends[i])
        except OSError:  # the store was cleared or closed meanwhile
            return None

    def __iter__(self) -> Iterator[Entry]:
        spill = self._spill
        if spill is not None:
            for start, end in zip(self._starts, self._ends, strict=True):
                try:
                    entry = spill._load(start, end)
                except OSError:  # the store was cleared or closed meanwhile
                    break
                yield entry
        yield from self._memory


class Store:
    """Entries ordered by record id, the newest :attr:`max_bytes` in memory, older
    ones spilled to disk (see the module's docstring)."""

    def __init__(
        self,
        max_records: int = DEFAULT_MAX_RECORDS,
        max_bytes: int | None = DEFAULT_MAX_BYTES,
        spill_dir: str | None = None,
    ) -> None:
        """``max_bytes=None``: no spilling, every entry in memory up to
        ``max_records``. ``spill_dir``: where the spill directory is made (the
        system's temporary directory by default)."""
        if max_records < 1:
            raise ValueError(f"max_records must be at least 1, not {max_records}")
        self.max_records = max_records
        self.max_bytes = max_bytes
        self.spill_dir = spill_dir
        self.evicted = 0
        """Entries dropped because the store was full and could not spill (oldest first)."""
        self.spill_error = ""
        """Why spilling stopped (the spill file could not be made or written), if it did."""
        self.bytes = 0
        """What the entries in memory are charged (:func:`record_size`)."""
        # A deque keeps id order and drops the oldest in O(1); the dict finds by id.
        # (Popping the first key of a plain dict over and over degrades to O(n).)
        self._order: deque[Entry] = deque()
        self._by_id: dict[int, Entry] = {}
        self._sizes: dict[int, int] = {}
        self._spill: _Spill | None = None

    @property
    def spilled(self) -> int:
        """Entries held on disk rather than in memory."""
        return len(self._spill) if self._spill is not None else 0

    @property
    def spill_path(self) -> str | None:
        """The spill file, once there is one."""
        return self._spill.path if self._spill is not None else None

    def close(self) -> None:
        """Delete the spill file (the dashboard exits): spilled entries are gone."""
        if self._spill is not None:
            self._spill.close()
            self._spill = None

    def __len__(self) -> int:
        return len(self._order) + self.spilled

    def __iter__(self) -> Iterator[Entry]:
        # Over a snapshot (a C-level copy, ~5 ms per million entries): a worker
        # thread can filter or save while the owning thread keeps adding entries;
        # iterating the deque itself would raise "deque mutated during iteration".
        # Spilled entries (the oldest) come first, read back from disk.
        return iter(self.snapshot())

    def snapshot(self) -> Snapshot:
        """Every entry as of now, for a worker thread (re-filter, save, export).
        Call it from the thread that adds entries."""
        return Snapshot(self._spill, tuple(self._order))

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
        if record_id in self._by_id:
            return True
        return self._spill is not None and isinstance(record_id, int) and record_id in self._spill

    def get(self, record_id: int) -> Entry | None:
        """The entry of record ``record_id``, or None (never seen, evicted or cleared).

        A spilled entry comes back as a copy read from disk: change it through
        :meth:`mark`, :meth:`set_comment` and the like, which write it back.
        """
        entry = self._by_id.get(record_id)
        if entry is None and self._spill is not None:
            return self._spill.read(record_id)
        return entry

    def held(self, record_id: int) -> Entry | None:
        """The entry of record ``record_id`` if it is in memory; None if it is
        spilled or not stored. Never reads the disk: what the UI thread may look
        at without waiting (a search hands the rest to a worker)."""
        return self._by_id.get(record_id)

    def sort_fields(self, record_ids: Sequence[int]) -> dict[int, SortFields]:
        """The sort fields (:func:`capture.view.order.sort_fields`) of the entries
        ``record_ids``, those not stored left out: a spilled entry's are read back
        from disk with the others' in bulk, not its record (the request list sorts
        its window, spilled rows and all)."""
        got: dict[int, SortFields] = {}
        by_id = self._by_id
        spilled: list[int] = []
        for rid in record_ids:
            entry = by_id.get(rid)
            if entry is not None:
                got[rid] = sort_fields(entry.record)
            else:
                spilled.append(rid)
        if spilled and self._spill is not None:
            got.update(self._spill.sort_fields(spilled))
        return got

    def has_comment(self, record_id: int) -> bool:
        """Whether the entry of record ``record_id`` has a comment, spilled or not.
        Never reads the disk (the request list asks it of every row it takes in)."""
        entry = self._by_id.get(record_id)
        if entry is not None:
            return bool(entry.comment)
        return self._spill is not None and record_id in self._spill.commented

    def _spilled_change(self, record_id: int, change: Callable[[Entry], None]) -> Entry | None:
        """Apply ``change`` to spilled entry ``record_id`` and write it back."""
        if self._spill is None:
            return None
        entry = self._spill.read(record_id)
        if entry is not None:
            change(entry)
            self._spill.write(entry)
        return entry

    def add(self, record: Record) -> Entry:
        """Store a record; a record whose id is already stored replaces it (marks kept)."""
        entry = self._by_id.get(record.id)
        if entry is not None:
            entry.record = record
            self._resize(entry)
            return entry
        if self._spill is not None and record.id in self._spill:
            got = self._spilled_change(record.id, lambda e: setattr(e, "record", record))
            assert got is not None
            return got
        entry = Entry(record)
        order = self._order
        if not order or order[-1].record.id < record.id:
            order.append(entry)
        else:
            self._insert_in_order(entry)
        self._by_id[record.id] = entry
        size = self._sizes[record.id] = record_size(record)
        self.bytes += size
        self._make_room()
        return entry

    def _resize(self, entry: Entry) -> None:
        """An entry in memory changed its record: charge it anew."""
        rid = entry.record.id
        size = record_size(entry.record)
        self.bytes += size - self._sizes.get(rid, 0)
        self._sizes[rid] = size
        self._make_room()

    def _make_room(self) -> None:
        """Spill the oldest entries while over :attr:`max_bytes` (down to 7/8 of it,
        so spilling comes in batches); drop them, counted, where nothing can spill."""
        order = self._order
        budget = self.max_bytes
        if budget is not None and self.bytes > budget and not self.spill_error:
            try:
                if self._spill is None:
                    self._spill = _Spill(self.spill_dir)
                while order and len(order) > 1 and self.bytes > budget - budget // 8:
                    oldest = order[0]
                    self._spill.write(oldest)
                    order.popleft()
                    self._forget(oldest.record.id)
            except OSError as exc:
                self.spill_error = f"{exc.strerror or exc}"
        while len(order) > self.max_records:
            self._forget(order.popleft().record.id)
            self.evicted += 1

    def _forget(self, record_id: int) -> None:
        del self._by_id[record_id]
        self.bytes -= self._sizes.pop(record_id, 0)

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
            return self._spilled_change(
                record_id,
                lambda e: setattr(e, "record", dataclasses.replace(e.record, response=response)),
            )
        entry.record = dataclasses.replace(entry.record, response=response)
        self._resize(entry)
        return entry

    def set_echo(self, event: EchoSeen) -> Entry | None:
        """Note what a reflector's echo showed (sent versus received, and the findings
        in headers added or changed on the way) on a stored record."""
        entry = self._by_id.get(event.record.id)
        if entry is None:
            return self._spilled_change(
                event.record.id, lambda e: setattr(e, "record", event.onto(e.record))
            )
        entry.record = event.onto(entry.record)
        self._resize(entry)
        return entry

    def add_findings(self, record_id: int, findings: tuple[Finding, ...]) -> Entry | None:
        """Add ``findings`` to a stored record (found for it after it was stored: a
        recurring token's, :mod:`capture.view.recurring`); None if it is not stored."""

        def found(entry: Entry) -> None:
            entry.record = dataclasses.replace(
                entry.record, findings=entry.record.findings + findings
            )

        entry = self._by_id.get(record_id)
        if entry is None:
            return self._spilled_change(record_id, found)
        found(entry)
        self._resize(entry)
        return entry

    def apply(self, events: Iterable[Event]) -> list[Entry]:
        """Take in a batch of pipeline events; return the entries added or changed,
        for the view to show.

        Each changed entry appears once, in the order it was first touched, as it
        is now. That includes entries spilled to disk within the batch, or changed
        there (a response to an older request): given as the copy the spill file
        holds, to read (change them through the store). An entry that was added and
        then evicted within the same batch is left out: it is gone.
        Notices and stats snapshots are not the store's business and are ignored.
        """
        # Assigned, not setdefault: a spilled entry's change comes back as a new copy,
        # and the latest one is what the store holds (the key keeps its first place).
        changed: dict[int, Entry] = {}
        evicted = self.evicted
        for event in events:
            if isinstance(event, RequestSeen):
                entry = self.add(event.record)
                changed[entry.record.id] = entry
            elif isinstance(event, ResponseSeen):
                got = self.set_response(event.record_id, event.response)
                if got is not None:
                    changed[event.record_id] = got
            elif isinstance(event, EchoSeen):
                got = self.set_echo(event)
                if got is not None:
                    changed[event.record.id] = got
        if self.evicted != evicted:
            return [e for rid, e in changed.items() if rid in self]
        return list(changed.values())

    def filter(self, pred: Callable[[Entry], bool]) -> list[int]:
        """Ids of the entries ``pred`` accepts, in id order.

        A :class:`capture.view.filter.Filter` is called through its bare ``match``
        function, which saves a method call per entry. Safe in a worker thread
        while the owning thread adds entries (it filters a snapshot).
        """
        match: Callable[[Entry], bool] = getattr(pred, "match", pred)
        return [e.record.id for e in self.snapshot() if match(e)]

    def mark(self, record_id: int, marked: bool = True) -> Entry | None:
        """Set or clear the mark of an entry; None if it is not stored."""
        entry = self._by_id.get(record_id)
        if entry is None:
            return self._spilled_change(record_id, lambda e: setattr(e, "marked", marked))
        entry.marked = marked
        return entry

    def toggle_mark(self, record_id: int) -> Entry | None:
        """Flip the mark of an entry; None if it is not stored."""
        entry = self._by_id.get(record_id)
        if entry is None:
            return self._spilled_change(record_id, lambda e: setattr(e, "marked", not e.marked))
        entry.marked = not entry.marked
        return entry

    def set_comment(self, record_id: int, comment: str) -> Entry | None:
        """Replace the comment of an entry ("" removes it); None if it is not stored."""
        entry = self._by_id.get(record_id)
        if entry is None:
            return self._spilled_change(record_id, lambda e: setattr(e, "comment", comment))
        entry.comment = comment
        return entry

    def clear(self) -> None:
        """Forget every entry and reset the eviction counter (a fresh view)."""
        self._order.clear()
        self._by_id.clear()
        self._sizes.clear()
        self.bytes = 0
        self.close()
        self.evicted = 0
