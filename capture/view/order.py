"""The request list's display order, kept apart from capture (id) order.

The list's rows are ids in capture order: that order is what its fast paths (binary
search, appends at the end, trimming the oldest) rely on, and it is the default.
Sorting by a column (``o``, reversed with ``v``: mitmproxy's keys) is a second,
separate view, :class:`SortedRows`, built only while a sort is in effect and kept
sorted as rows arrive by inserting each at its place (bisect on its key).

Each order is one entry of :data:`ORDERS`.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

from capture.model import SEVERITIES, Record
from capture.target import shown_path
from capture.view.store import Entry

SortKey = tuple[Any, ...]
"""A row's place: what its order compares, then its id (so no two rows tie)."""

_RANK = {name: len(SEVERITIES) - i for i, name in enumerate(SEVERITIES)}
"""high 4 … info 1; a request without identities ranks 0."""


def uri_path(record: Record) -> str:
    """The request target, an absolute-form one without ``scheme://authority`` (what
    the list's PATH shows)."""
    return shown_path(record.request.uri)


def _time(entry: Entry) -> SortKey:
    return ()


def _host(entry: Entry) -> SortKey:
    return ((entry.record.request.destination or "").lower(),)


def _path(entry: Entry) -> SortKey:
    return (uri_path(entry.record),)


def _method(entry: Entry) -> SortKey:
    return (entry.record.request.method.upper(),)


def _status(entry: Entry) -> SortKey:
    response = entry.record.response
    return (response.status if response is not None else 0,)


def _identities(entry: Entry) -> SortKey:
    # The most severe identity first, then how many kinds (MSISDN + IMEI above MSISDN).
    findings = entry.record.findings
    top = 0
    kinds: set[str] = set()
    for finding in findings:
        if finding.is_identity:
            kinds.add(finding.kind)
            top = max(top, _RANK.get(finding.severity, 0))
    return (top, len(kinds))


@dataclass(frozen=True, slots=True)
class Order:
    """One way to order the request list."""

    name: str
    """What the status line and docs call it (``host``)."""
    column: str
    """The list column whose title carries ▲ or ▼."""
    key: Callable[[Entry], SortKey]
    """The entry's place (its id is added after it)."""
    descending: bool = False
    """Picked with ``o``, it starts descending (identities: the most severe first)."""
    blank: SortKey = ()
    """The key of a row whose entry is gone from the store (it sorts first)."""


ORDERS: tuple[Order, ...] = (
    Order("time", "TIME", _time),
    Order("host", "HOST", _host, blank=("",)),
    Order("path", "PATH", _path, blank=("",)),
    Order("method", "METHOD", _method, blank=("",)),
    Order("status", "ST", _status, blank=(-1,)),
    Order("identities", "IDENTITIES", _identities, descending=True, blank=(-1, 0)),
)
"""What ``o`` cycles through, in this order; ``time`` is capture order (the default)."""

BY_NAME = {order.name: order for order in ORDERS}
TIME = ORDERS[0]


def next_order(current: Order) -> Order:
    """The order after ``current`` in :data:`ORDERS` (round to ``time``)."""
    index = ORDERS.index(current)
    return ORDERS[(index + 1) % len(ORDERS)]


class SortedRows(Sequence[int]):
    """Row ids in ``order`` (descending when ``reverse``), indexed as displayed.

    Keys are kept ascending, each ending with its id (negated when reversed, so that
    equal keys stay in capture order); the key a row was placed
    with is remembered, so a row whose entry changed (a response came) can be found
    and moved (:meth:`rekey`). Lookups and inserts are binary searches.
    """

    def __init__(
        self,
        order: Order,
        reverse: bool,
        lookup: Callable[[int], Entry | None],
        ids: Iterable[int] = (),
    ) -> None:
        self.order = order
        self.reverse = reverse
        self.lookup = lookup
        self._keys: list[SortKey] = []
        self._key_of: dict[int, SortKey] = {}
        self.rebuild(ids)

    def key(self, rid: int) -> SortKey:
        """Where row ``rid`` goes now."""
        entry = self.lookup(rid)
        head = self.order.key(entry) if entry is not None else self.order.blank
        # Equal keys keep capture order both ways: reversed, the tie-break is the
        # negated id (shown from the other end). Time order has no key but the id.
        return (*head, -rid if head and self.reverse else rid)

    def rebuild(self, ids: Iterable[int]) -> None:
        """Hold exactly ``ids`` (one sort: O(n log n))."""
        key_of = {rid: self.key(rid) for rid in ids}
        self._key_of = key_of
        self._keys = sorted(key_of.values())

    def add(self, rid: int) -> None:
        """Put row ``rid`` at its place (nothing if it is there)."""
        if rid in self._key_of:
            return
        key = self.key(rid)
        self._key_of[rid] = key
        bisect.insort(self._keys, key)

    def discard(self, rid: int) -> None:
        """Take row ``rid`` out (nothing if it is not there)."""
        key = self._key_of.pop(rid, None)
        if key is not None:
            del self._keys[bisect.bisect_left(self._keys, key)]

    def rekey(self, rid: int) -> bool:
        """Row ``rid``'s entry changed: move it if its place did; True if it moved."""
        old = self._key_of.get(rid)
        if old is None:
            return False
        new = self.key(rid)
        if new == old:
            return False
        del self._keys[bisect.bisect_left(self._keys, old)]
        self._key_of[rid] = new
        bisect.insort(self._keys, new)
        return True

    def keep_only(self, wanted: Callable[[int], bool]) -> None:
        """Drop the rows ``wanted`` refuses (the list's window trimmed its oldest)."""
        self._keys = [k for k in self._keys if wanted(abs(k[-1]))]
        self._key_of = {abs(k[-1]): k for k in self._keys}

    def index_of(self, rid: int) -> int:
        """Row ``rid``'s displayed index, -1 if it is not there."""
        key = self._key_of.get(rid)
        if key is None:
            return -1
        pos = bisect.bisect_left(self._keys, key)
        return len(self._keys) - 1 - pos if self.reverse else pos

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, rid: object) -> bool:
        return rid in self._key_of

    @overload
    def __getitem__(self, index: int) -> int: ...

    @overload
    def __getitem__(self, index: slice) -> list[int]: ...

    def __getitem__(self, index: int | slice) -> int | list[int]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self._keys)))]
        if index < 0:
            index += len(self._keys)
        if not 0 <= index < len(self._keys):
            raise IndexError(index)
        if self.reverse:
            index = len(self._keys) - 1 - index
        return abs(int(self._keys[index][-1]))

    def __iter__(self) -> Iterator[int]:
        keys = reversed(self._keys) if self.reverse else iter(self._keys)
        return (abs(int(k[-1])) for k in keys)
