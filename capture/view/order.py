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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, overload

from capture.model import SEVERITIES, Record
from capture.target import shown_path

SortKey = tuple[Any, ...]
"""A row's place: what its order compares, then its id (so no two rows tie)."""

SortFields = tuple[str, str, str, int, int, int]
"""What every order compares, of one record (:func:`sort_fields`): host (lower case),
path, method (upper case), status (0: none yet), the most severe identity's rank and
how many kinds of identity. Small, so that the store keeps it beside a spilled record
and a sort reads it back without the record (:meth:`capture.view.store.Store.sort_fields`)."""

FieldsOf = Callable[[Sequence[int]], Mapping[int, SortFields]]
"""The sort fields of the rows asked for, in one call (rows gone from the store are
left out): the store reads those of spilled rows in bulk."""

_RANK = {name: len(SEVERITIES) - i for i, name in enumerate(SEVERITIES)}
"""high 4 … info 1; a request without identities ranks 0."""


def uri_path(record: Record) -> str:
    """The request target, an absolute-form one without ``scheme://authority`` (what
    the list's PATH shows)."""
    return shown_path(record.request.uri)


def sort_fields(record: Record) -> SortFields:
    """The fields of ``record`` that the orders of :data:`ORDERS` compare."""
    request, response = record.request, record.response
    # The most severe identity first, then how many kinds (MSISDN + IMEI above MSISDN).
    top = 0
    kinds: set[str] = set()
    for finding in record.findings:
        if finding.is_identity:
            kinds.add(finding.kind)
            top = max(top, _RANK.get(finding.severity, 0))
    return (
        (request.destination or "").lower(),
        uri_path(record),
        request.method.upper(),
        response.status if response is not None else 0,
        top,
        len(kinds),
    )


@dataclass(frozen=True, slots=True)
class Order:
    """One way to order the request list."""

    name: str
    """What the status line and docs call it (``host``)."""
    column: str
    """The list column whose title carries ▲ or ▼."""
    fields: slice
    """Which of a row's :data:`SortFields` it compares, in that order (its id is
    added after them)."""
    descending: bool = False
    """Picked with ``o``, it starts descending (identities: the most severe first)."""
    blank: SortKey = ()
    """The key of a row whose entry is gone from the store (it sorts first)."""


ORDERS: tuple[Order, ...] = (
    Order("time", "TIME", slice(0, 0)),
    Order("host", "HOST", slice(0, 1), blank=("",)),
    Order("path", "PATH", slice(1, 2), blank=("",)),
    Order("method", "METHOD", slice(2, 3), blank=("",)),
    Order("status", "ST", slice(3, 4), blank=(-1,)),
    Order("identities", "IDENTITIES", slice(4, 6), descending=True, blank=(-1, 0)),
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
    and moved (:meth:`rekey`). Lookups and inserts are binary searches. Rows come
    and are rekeyed in bulk: ``fields`` gives the sort fields of many in one call,
    those of spilled rows read from disk together, not one record at a time.
    """

    def __init__(
        self,
        order: Order,
        reverse: bool,
        fields: FieldsOf,
        ids: Iterable[int] = (),
    ) -> None:
        self.order = order
        self.reverse = reverse
        self.fields = fields
        self._keys: list[SortKey] = []
        self._key_of: dict[int, SortKey] = {}
        self.rebuild(ids)

    def _placed(self, rids: Sequence[int]) -> dict[int, SortKey]:
        """Where rows ``rids`` go now."""
        order = self.order
        part, blank, reverse = order.fields, order.blank, self.reverse
        got = self.fields(rids) if part.stop else {}
        placed: dict[int, SortKey] = {}
        for rid in rids:
            have = got.get(rid)
            head = tuple(have)[part] if have is not None else blank
            # Equal keys keep capture order both ways: reversed, the tie-break is the
            # negated id (shown from the other end). Time order has no key but the id.
            placed[rid] = (*head, -rid if head and reverse else rid)
        return placed

    def rebuild(self, ids: Iterable[int]) -> None:
        """Hold exactly ``ids`` (one sort: O(n log n))."""
        key_of = self._placed(list(dict.fromkeys(ids)))
        self._key_of = key_of
        self._keys = sorted(key_of.values())

    def add(self, rids: Iterable[int]) -> None:
        """Put rows ``rids`` at their places (those there already stay)."""
        new = [rid for rid in dict.fromkeys(rids) if rid not in self._key_of]
        for rid, key in self._placed(new).items():
            self._key_of[rid] = key
            bisect.insort(self._keys, key)

    def discard(self, rid: int) -> None:
        """Take row ``rid`` out (nothing if it is not there)."""
        key = self._key_of.pop(rid, None)
        if key is not None:
            del self._keys[bisect.bisect_left(self._keys, key)]

    def rekey(self, rids: Iterable[int]) -> bool:
        """Rows ``rids``' entries changed: move those whose place did; True if one moved."""
        held = [rid for rid in dict.fromkeys(rids) if rid in self._key_of]
        moved = False
        for rid, new in self._placed(held).items():
            old = self._key_of[rid]
            if new == old:
                continue
            del self._keys[bisect.bisect_left(self._keys, old)]
            self._key_of[rid] = new
            bisect.insort(self._keys, new)
            moved = True
        return moved

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
