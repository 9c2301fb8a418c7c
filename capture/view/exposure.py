"""Exposure: which hosts received which identities (the question O2's customers asked).

An incremental aggregate over records: :meth:`Exposure.add` is called once per
record (from the dashboard's batch handler, or :meth:`Exposure.apply` on a
batch) and costs well under a microsecond for a request without identities. It
keeps, for each identity (kind, normalised value), the hosts that received it
with counts and first/last times; how many requests carried an identity in each
header (cookie, query parameter); and a per-second series of requests and
identities over the last :attr:`Exposure.window` seconds, for sparklines.

Every table is bounded; what does not fit is counted (:attr:`Exposure.dropped`).
Times are capture times (``Request.ts``), so a replayed file draws the same
sparklines as the live capture did.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from capture.identity.recurrence import DETECTOR as RECURRENCE
from capture.model import EchoSeen, Event, Finding, Record, RequestSeen

DEFAULT_WINDOW = 120
"""Seconds of history in the per-second series."""
MAX_IDENTITIES = 10_000
"""Distinct identities tracked; more are counted in ``dropped["identities"]``."""
MAX_HOSTS = 10_000
"""Hosts tracked per identity; more are counted in ``dropped["hosts"]``."""
MAX_HOSTS_WITH_IDENTITIES = 10_000
"""Hosts whose identity requests are counted; past it, a host's count is that of its
most frequent identity (and the request counts in ``dropped["hosts"]``)."""
MAX_CARRIERS = 10_000
"""Distinct carriers (header, cookie, parameter names) tracked."""
MAX_APPS = 10_000
"""Distinct apps (PCAPdroid captures name them) tracked."""


@dataclass(frozen=True, slots=True)
class HostExposure:
    """One host that received an identity."""

    host: str
    requests: int
    first_ts: float
    last_ts: float


@dataclass(frozen=True, slots=True)
class IdentityExposure:
    """One identity and everywhere it went."""

    kind: str
    value: str
    """The normalised value (E.164 for a phone number), else the value as sent."""
    detail: str
    """The detector's human line for it, e.g. ``+44 7700 900123 · GB mobile``."""
    requests: int
    """Requests that carried it."""
    first_ts: float
    last_ts: float
    hosts: tuple[HostExposure, ...]
    """Most requests first."""
    carriers: tuple[str, ...]
    """Where it was carried, first seen first: ``header x-up-calling-line-id``, ``cookie uid``."""


@dataclass(frozen=True, slots=True)
class HostCount:
    """One host that received any identity: the "Hosts ← identities" view."""

    host: str
    requests: int
    """Requests to it that carried at least one identity (each counted once)."""
    identities: tuple[tuple[str, str], ...]
    """``(kind, value)`` of each identity it received, most requests first."""


@dataclass(frozen=True, slots=True)
class CarrierCount:
    """How many requests carried an identity in one header, cookie or parameter."""

    where: str
    """``header``, ``cookie``, ``query`` or ``body``."""
    name: str
    """As first seen on the wire (counted case-insensitively)."""
    requests: int


@dataclass(frozen=True, slots=True)
class AppExposure:
    """One app (where the capture names it, :attr:`capture.model.Request.app`) and
    the identities its requests carried."""

    app: str
    requests: int
    identity_requests: int
    identities: tuple[tuple[str, str], ...]
    """``(kind, value)`` of each identity it sent, first seen first."""
    hosts: tuple[str, ...]
    """Hosts it sent identities to, first seen first."""


class _App:
    __slots__ = ("hosts", "identities", "identity_requests", "requests")

    def __init__(self) -> None:
        self.requests = 0
        self.identity_requests = 0
        self.identities: dict[tuple[str, str], None] = {}  # ordered sets
        self.hosts: dict[str, None] = {}


class _Host:
    __slots__ = ("first_ts", "last_ts", "requests")

    def __init__(self, ts: float) -> None:
        self.requests = 0
        self.first_ts = ts
        self.last_ts = ts


class _Identity:
    __slots__ = ("carriers", "detail", "first_ts", "hosts", "kind", "last_ts", "requests", "value")

    def __init__(self, kind: str, value: str, detail: str, ts: float) -> None:
        self.kind = kind
        self.value = value
        self.detail = detail
        self.requests = 0
        self.first_ts = ts
        self.last_ts = ts
        self.hosts: dict[str, _Host] = {}
        self.carriers: dict[str, None] = {}  # an ordered set


class _Carrier:
    __slots__ = ("name", "requests", "where")

    def __init__(self, where: str, name: str) -> None:
        self.where = where
        self.name = name
        self.requests = 0


class Exposure:
    """The running aggregate; feed it every record once."""

    def __init__(
        self,
        window: int = DEFAULT_WINDOW,
        max_identities: int = MAX_IDENTITIES,
        max_hosts: int = MAX_HOSTS,
        max_carriers: int = MAX_CARRIERS,
        max_apps: int = MAX_APPS,
    ) -> None:
        if window < 1:
            raise ValueError(f"window must be at least 1 second, not {window}")
        self.window = window
        self.max_identities = max_identities
        self.max_hosts = max_hosts
        self.max_carriers = max_carriers
        self.max_apps = max_apps
        self.version = 0
        """Bumped by every change: a UI redraws only when it moved."""
        self._reset()

    def _reset(self) -> None:
        self.requests = 0
        """Records seen."""
        self.identity_requests = 0
        """Records with at least one identity finding."""
        self.dropped = {"identities": 0, "hosts": 0, "carriers": 0, "apps": 0, "late": 0}
        """What did not fit: identities/hosts/carriers past their bound (counted per
        request), and ``late`` records older than the series window (they count in
        every total, only not in the series)."""
        self._identities: dict[tuple[str, str], _Identity] = {}
        self._carriers: dict[tuple[str, str], _Carrier] = {}
        self._apps: dict[str, _App] = {}
        self._host_requests: dict[str, int] = {}
        """Identity requests per host (a request counted once, however many identities)."""
        self._req_series = [0] * self.window
        self._id_series = [0] * self.window
        self._latest: int | None = None

    # --- feeding ---------------------------------------------------------------

    def apply(self, events: Iterable[Event]) -> int:
        """Count the record of every :class:`RequestSeen` in a batch, and the identities
        of every :class:`EchoSeen`; return how many requests were added."""
        added = 0
        for event in events:
            if isinstance(event, RequestSeen):
                self.add(event.record)
                added += 1
            elif isinstance(event, EchoSeen):
                self.add_injected(event)
        return added

    def add(self, record: Record) -> bool:
        """Count one record; True when it carried an identity."""
        self.version += 1
        self.requests += 1
        slot = self._slot(int(record.request.ts))
        if slot is not None:
            self._req_series[slot] += 1
        if record.request.app:
            app = self._app(record.request.app)
            if app is not None:
                app.requests += 1
        return self._count_findings(record, slot, counted=False)

    def _app(self, name: str) -> _App | None:
        app = self._apps.get(name)
        if app is None:
            if len(self._apps) >= self.max_apps:
                self.dropped["apps"] += 1
                return None
            app = self._apps[name] = _App()
        return app

    def add_injected(self, event: EchoSeen) -> bool:
        """Count the identities added to an already counted request in transit."""
        return self.add_later(event.record, event.findings)

    def add_later(self, record: Record, findings: tuple[Finding, ...]) -> bool:
        """Count ``findings``, found for the already counted ``record`` after it was
        counted (added in transit; a token it carried recurred at a later request)."""
        self.version += 1
        later = Record(record.id, record.request, findings)
        slot = self._slot(int(record.request.ts))
        # A value the request carried already (the number the phone sent in its query,
        # then added as a header on the way) was counted with it: the same request
        # again made "4 req" of three.
        known = {(f.kind, f.normalized or f.value) for f in record.findings if f.is_identity}
        return self._count_findings(later, slot, counted=bool(record.identities), known=known)

    def _count_findings(
        self,
        record: Record,
        slot: int | None,
        counted: bool,
        known: Collection[tuple[str, str]] = (),
    ) -> bool:
        """Count the identities of ``record``; ``counted``: its request already was an
        identity request; ``known``: the identities it was counted with already (their
        new places are added to them, not a request)."""
        findings = record.findings
        if not findings:
            return False
        ts = record.request.ts
        # A value found twice in one request (header and cookie) is one exposure.
        seen: dict[tuple[str, str], None] = {}
        carriers: dict[tuple[str, str], str] = {}
        for finding in findings:
            if not finding.is_identity:
                continue
            seen.setdefault((finding.kind, finding.normalized or finding.value), None)
            carriers.setdefault((finding.where, finding.name.lower()), finding.name)
        if not seen:
            return False
        if not counted:
            self.identity_requests += 1
        if slot is not None:
            self._id_series[slot] += sum(key not in known for key in seen)
        host = record.request.destination.lower()
        if not counted:
            host_requests = self._host_requests
            if host in host_requests or len(host_requests) < MAX_HOSTS_WITH_IDENTITIES:
                host_requests[host] = host_requests.get(host, 0) + 1
            else:
                self.dropped["hosts"] += 1
        for key in seen:
            if key in known:
                self._more_places(key, record)
            else:
                self._count_identity(key, record, host, ts, carriers)
        for key, name in carriers.items():
            self._count_carrier(key, name)
        app = self._apps.get(record.request.app) if record.request.app else None
        if app is not None:
            if not counted:
                app.identity_requests += 1
            for key in seen:
                app.identities.setdefault(key, None)
            app.hosts.setdefault(host, None)
        return True

    def _count_identity(
        self,
        key: tuple[str, str],
        record: Record,
        host: str,
        ts: float,
        carriers: dict[tuple[str, str], str],
    ) -> None:
        ident = self._identities.get(key)
        if ident is None:
            if len(self._identities) >= self.max_identities:
                self.dropped["identities"] += 1
                return
            detail = next(
                (f.detail for f in record.findings if (f.kind, f.normalized or f.value) == key),
                "",
            )
            ident = self._identities[key] = _Identity(key[0], key[1], detail, ts)
        ident.requests += 1
        if ts < ident.first_ts:
            ident.first_ts = ts
        if ts > ident.last_ts:
            ident.last_ts = ts
        for finding in record.findings:
            if (finding.kind, finding.normalized or finding.value) == key:
                ident.carriers.setdefault(f"{finding.where} {finding.name}", None)
                if finding.detector == RECURRENCE:
                    # "the same token sent to N sites": the latest count, not the first.
                    ident.detail = finding.detail
        hosts = ident.hosts
        entry = hosts.get(host)
        if entry is None:
            if len(hosts) >= self.max_hosts:
                self.dropped["hosts"] += 1
                return
            entry = hosts[host] = _Host(ts)
        entry.requests += 1
        if ts < entry.first_ts:
            entry.first_ts = ts
        if ts > entry.last_ts:
            entry.last_ts = ts

    def _more_places(self, key: tuple[str, str], record: Record) -> None:
        """The places in ``record`` of identity ``key``, counted with its request
        already: named among its carriers, the request not counted again."""
        ident = self._identities.get(key)
        if ident is None:
            return
        for finding in record.findings:
            if (finding.kind, finding.normalized or finding.value) == key:
                ident.carriers.setdefault(f"{finding.where} {finding.name}", None)
                if finding.detector == RECURRENCE:
                    ident.detail = finding.detail

    def _count_carrier(self, key: tuple[str, str], name: str) -> None:
        carrier = self._carriers.get(key)
        if carrier is None:
            if len(self._carriers) >= self.max_carriers:
                self.dropped["carriers"] += 1
                return
            carrier = self._carriers[key] = _Carrier(key[0], name)
        carrier.requests += 1

    def tick(self, ts: float) -> None:
        """Move the series forward to ``ts`` without traffic (a quiet live capture)."""
        latest = self._latest
        if latest is not None and int(ts) > latest:
            self._slot(int(ts))
            self.version += 1

    def _slot(self, second: int) -> int | None:
        """The ring index of ``second``, advancing (and zeroing) the ring as needed."""
        window = self.window
        latest = self._latest
        if latest is None or second > latest:
            if latest is None or second - latest >= window:
                self._req_series = [0] * window
                self._id_series = [0] * window
            else:
                req, ids = self._req_series, self._id_series
                for s in range(latest + 1, second + 1):
                    req[s % window] = 0
                    ids[s % window] = 0
            self._latest = second
            return second % window
        if second > latest - window:
            return second % window
        self.dropped["late"] += 1
        return None

    def clear(self) -> None:
        """Forget everything (a fresh view)."""
        self._reset()
        self.version += 1

    # --- reading ---------------------------------------------------------------

    def identities(self) -> list[IdentityExposure]:
        """Every identity seen, most requests first, then the most recently seen: a
        number sent with every request stays above a one-off token (issue 17)."""
        out = [
            IdentityExposure(
                kind=i.kind,
                value=i.value,
                detail=i.detail,
                requests=i.requests,
                first_ts=i.first_ts,
                last_ts=i.last_ts,
                hosts=tuple(
                    sorted(
                        (
                            HostExposure(h, e.requests, e.first_ts, e.last_ts)
                            for h, e in i.hosts.items()
                        ),
                        key=lambda h: (-h.requests, h.host),
                    )
                ),
                carriers=tuple(i.carriers),
            )
            for i in self._identities.values()
        ]
        out.sort(key=lambda i: (-i.requests, -i.last_ts))
        return out

    def carriers(self) -> list[CarrierCount]:
        """Requests per identity carrier (header, cookie, parameter), most first."""
        out = [CarrierCount(c.where, c.name, c.requests) for c in self._carriers.values()]
        out.sort(key=lambda c: (-c.requests, c.where, c.name.lower()))
        return out

    def apps(self) -> list[AppExposure]:
        """Each app named by the capture, those that sent the most identity requests
        first, then the most requests; empty when no record names its app."""
        out = [
            AppExposure(
                name,
                a.requests,
                a.identity_requests,
                tuple(a.identities),
                tuple(a.hosts),
            )
            for name, a in self._apps.items()
        ]
        out.sort(key=lambda a: (-a.identity_requests, -a.requests, a.app))
        return out

    def hosts(self) -> list[HostCount]:
        """Each host that received any identity, with how many requests carried one
        there, most first (then the most identities, then by name)."""
        received: dict[str, list[tuple[int, tuple[str, str]]]] = {}
        for key, ident in self._identities.items():
            for host, entry in ident.hosts.items():
                received.setdefault(host, []).append((entry.requests, key))
        out = []
        for host, idents in received.items():
            idents.sort(key=lambda ri: -ri[0])
            requests = self._host_requests.get(host, max(r for r, _ in idents))
            out.append(HostCount(host, requests, tuple(key for _, key in idents)))
        out.sort(key=lambda h: (-h.requests, -len(h.identities), h.host))
        return out

    @property
    def latest_second(self) -> int | None:
        """The last second of the series (None before the first record)."""
        return self._latest

    def series(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(requests per second, identities per second), oldest first, ``window`` long.

        The last value is the second of the newest record (or :meth:`tick`).
        """
        window = self.window
        latest = self._latest
        if latest is None:
            zeros = (0,) * window
            return zeros, zeros
        start = (latest + 1) % window
        req, ids = self._req_series, self._id_series
        return tuple(req[start:] + req[:start]), tuple(ids[start:] + ids[:start])
