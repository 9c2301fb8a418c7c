"""A recurring token's finding, given back to the requests that took it to its first sites.

The recurrence detector (:mod:`capture.identity.recurrence`) can only say that a
token is a supercookie once it has reached N sites: the request that takes it to
the N-th site, and those after it, carry the ``tracking_id``; the requests that took
it to the first sites carry it with no finding. A stream (``scan``'s JSONL) has
written them by then. The dashboard holds every row, so it can do better: a
:class:`Backfill` remembers, for each token the detector counts and has not reported
yet, which requests carried it (and where, under which name), and once a record
brings the token's finding, hands out the same finding (kind, detector, severity,
detail) for each of those earlier requests. The exposure panel, its hosts, filters
and exports then show every site that received the token.

Memory is bounded as the detector's is: at most :data:`MAX_TOKENS` tokens waiting
(the least recently seen forgotten first) and :data:`MAX_EARLIER` requests for each;
what does not fit is counted in :attr:`Backfill.cut`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import replace

from capture.identity.recurrence import DEFAULT_CAPACITY
from capture.identity.recurrence import DETECTOR as RECURRENCE
from capture.model import Finding, Record, Request
from capture.view.store import Entry, Store

MAX_TOKENS = DEFAULT_CAPACITY
"""Tokens whose earlier requests are remembered (as many as the detector counts)."""
MAX_EARLIER = 1_000
"""Earlier requests remembered for one token; more are counted in :attr:`Backfill.cut`
(a token sent with every request of a page to one site before a second)."""

Fields = Callable[[Request], tuple[tuple[str, str, str, str], ...]]
"""``(key, where, name, value)`` of each field the detector counts
(:meth:`capture.identity.detector.IdentityDetector.recurring_fields`)."""


class Backfill:
    """Finds the earlier requests a recurring token's finding belongs to as well."""

    def __init__(
        self, fields: Fields, max_tokens: int = MAX_TOKENS, max_earlier: int = MAX_EARLIER
    ) -> None:
        self._fields = fields
        self.max_tokens = max_tokens
        self.max_earlier = max_earlier
        self._waiting: OrderedDict[tuple[str, str], list[tuple[int, str, str]]] = OrderedDict()
        """(key, value) -> (record id, where, name) of each request that carried it."""
        self.cut = 0
        """Earlier requests not remembered (past a bound): they keep no finding."""

    @classmethod
    def for_detector(cls, detector: object) -> Backfill | None:
        """A backfill for ``detector``'s recurrence findings; None when it has none to
        give (no :class:`~capture.identity.detector.IdentityDetector`, or its
        recurrence detector is off)."""
        # Imported here, as the redactor does: the view needs no detector otherwise.
        from capture.identity.detector import IdentityDetector

        if isinstance(detector, IdentityDetector) and detector.counts_recurrence:
            return cls(detector.recurring_fields)
        return None

    def take(self, records: Iterable[Record]) -> dict[int, tuple[Finding, ...]]:
        """Note ``records`` (new requests, in id order); return, by record id, the
        findings each earlier request (of these or of earlier calls) gets because one
        of them brought a token's recurrence finding."""
        out: dict[int, list[Finding]] = {}
        waiting = self._waiting
        for record in records:
            fields = self._fields(record.request)
            moved = record.transit
            if moved is not None and moved.touched_names:
                # The block as received too, where the detector looked too: a token a
                # carrier injects reaches its first sites in headers the device never
                # sent (the report said "went to 2 sites" of a token its detail said
                # reached 4).
                received = self._fields(replace(record.request, headers=moved.received))
                fields = tuple(dict.fromkeys([*fields, *received]))
            if not fields:
                continue
            found = {
                (f.where, f.name, f.value): f for f in record.findings if f.detector == RECURRENCE
            }
            for key, where, name, value in fields:
                token = (key, value)
                hit = found.get((where, name, value))
                if hit is None:
                    self._remember(token, (record.id, where, name))
                    continue
                earlier = waiting.pop(token, None)
                for rid, at, called in earlier or ():
                    # The same finding, under the name and place that request used.
                    out.setdefault(rid, []).append(replace(hit, name=called, where=at))
        return {rid: tuple(findings) for rid, findings in out.items()}

    def fill(
        self, store: Store, records: Iterable[Record]
    ) -> list[tuple[Record, Entry, tuple[Finding, ...]]]:
        """:meth:`take` ``records`` and add the findings to the earlier requests in
        ``store``: for each one changed, its record as it was, its entry as it is now
        and the findings added (for the exposure panel to count)."""
        out = []
        for rid, findings in self.take(records).items():
            held = store.get(rid)
            if held is None:
                continue  # evicted meanwhile
            before = held.record
            entry = store.add_findings(rid, findings)
            if entry is not None:
                out.append((before, entry, findings))
        return out

    def remembered(self) -> set[int]:
        """The ids of the earlier requests remembered now: those :meth:`take` may still
        give a finding to (a consumer that holds them for it may let go of the others)."""
        return {rid for earlier in self._waiting.values() for rid, _, _ in earlier}

    def _remember(self, token: tuple[str, str], carrier: tuple[int, str, str]) -> None:
        waiting = self._waiting
        earlier = waiting.get(token)
        if earlier is None:
            earlier = waiting[token] = []
            if len(waiting) > self.max_tokens:
                _, forgotten = waiting.popitem(last=False)
                self.cut += len(forgotten)
        else:
            waiting.move_to_end(token)
            if earlier[-1] == carrier:
                return  # the same name twice in one request: one finding
        if len(earlier) >= self.max_earlier:
            self.cut += 1
            return
        earlier.append(carrier)

    def clear(self) -> None:
        """Forget every token waiting (the store was emptied)."""
        self._waiting.clear()
