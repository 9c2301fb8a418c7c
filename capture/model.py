"""The immutable records that flow out of the capture core.

Everything a consumer (the dashboard, a JSONL writer, a test) receives is built
from these frozen dataclasses. Strings hold header bytes decoded as UTF-8 with
``surrogateescape`` so that the original bytes can always be recovered with
:func:`capture.text.to_bytes`; renderers turn the escapes into ``\\xNN``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import MISSING, dataclass, field, fields, replace
from typing import Any, TypeVar

from capture.target import split_absolute

try:  # built at install time where a C compiler is there (see pyproject.toml)
    from capture._positional import Builder as _Builder
except ImportError:
    _Builder = None  # type: ignore[assignment,misc]

_T = TypeVar("_T")


def _quick_init(cls: type[_T]) -> type[_T]:
    """``cls`` (a frozen dataclass with slots) with an ``__init__`` that does what the
    generated one does, twice as fast: each field is stored through its slot's own
    descriptor rather than ``object.__setattr__`` looked up per field. The classes
    built once per request (a million times in a scan of a large log) use it; they
    stay frozen, as ``__setattr__`` still refuses. Plain fields and defaults only."""
    params = []
    body = []
    namespace: dict[str, Any] = {}
    for f in fields(cls):  # type: ignore[arg-type]
        if f.default_factory is not MISSING or not f.init or f.kw_only:
            raise TypeError(f"{cls.__name__}.{f.name}: _quick_init takes plain fields only")
        if f.default is MISSING:
            params.append(f.name)
        else:
            params.append(f"{f.name}=_default_{f.name}")
            namespace[f"_default_{f.name}"] = f.default
        namespace[f"_set_{f.name}"] = getattr(cls, f.name).__set__
        body.append(f"    _set_{f.name}(self, {f.name})")
    source = f"def __init__(self, {', '.join(params)}):\n" + "\n".join(body) + "\n"
    exec(source, namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__annotations__ = dict(cls.__init__.__annotations__)
    cls.__init__ = init  # type: ignore[method-assign]
    return cls


def positional_new(cls: type[_T]) -> Callable[..., _T]:
    """A function that builds a ``cls`` (a frozen dataclass with slots, plain fields)
    from all its fields by position, equal to ``cls(...)`` and as frozen. Where
    ``capture/_positional.c`` was built it is one C call that stores each value in its
    slot (about 1/20 of the instructions of ``cls(...)``); elsewhere
    :func:`positional_twin`, its reference. For the places that build a record once
    per request or event (:mod:`capture.http.stream`, :mod:`capture.sources.eve`,
    :meth:`capture.pipeline.Pipeline.feed_request`)."""
    names = _positional_names(cls)
    if _Builder is not None:
        return _Builder(cls, names)
    return positional_twin(cls)


def _positional_names(cls: type) -> tuple[str, ...]:
    """The field names of ``cls``, checked to be what :func:`positional_new` can build."""
    names = tuple(f.name for f in fields(cls))
    if names != tuple(getattr(cls, "__slots__", ())):
        raise TypeError(f"{cls.__name__}: positional_new takes slots in field order only")
    if hasattr(cls, "__post_init__"):
        # Neither way runs it: the checks it makes would silently not be made.
        raise TypeError(f"{cls.__name__}: positional_new cannot run __post_init__")
    return names


def positional_twin(cls: type[_T]) -> Callable[..., _T]:
    """:func:`positional_new` in Python, in about half the instructions of ``cls(...)``:
    the fields are stored into a twin class with the same slots and no frozen
    ``__setattr__`` (plain slot stores, the cheapest there are), and the object then
    becomes a ``cls`` (``__class__`` assignment, which Python allows between classes
    of the same slots)."""
    names = _positional_names(cls)
    stores = "\n".join(f"        self.{name} = {name}" for name in names)
    args = ", ".join(names)
    source = (
        f"class _Twin:\n    __slots__ = {names!r}\n"
        f"    def __init__(self, {args}):\n{stores}\n"
        f"def new({args}):\n    made = _Twin({args})\n    made.__class__ = _cls\n    return made\n"
    )
    namespace: dict[str, Any] = {"_cls": cls}
    exec(source, namespace)
    new = namespace["new"]
    new.__qualname__ = new.__name__ = f"new_{cls.__name__}"
    return new  # type: ignore[no-any-return]


Header = tuple[str, str]
"""One header line: name as on the wire (original case), value trimmed of SP/HTAB."""

# Where a finding was made (the JSONL contract: docs/jsonl.md).
WHERE_HEADER = "header"
WHERE_COOKIE = "cookie"
WHERE_QUERY = "query"
WHERE_BODY = "body"

# Identity kinds: these are what the product exists to surface.
IDENTITY_KINDS = (
    "msisdn",
    "imsi",
    "imei",
    "subscriber_id",
    "tracking_id",
    "email",
    "device_id",
    "canary",
)
_IDENTITY_KIND_SET = frozenset(IDENTITY_KINDS)
# Informational kinds: shown, but they do not make a request an "identity leak".
INFO_KINDS = ("client_ip", "network_info", "device_profile")

SEVERITIES = ("high", "medium", "low", "info")

HEADERS_UNLOGGED = "request headers not logged"
"""How the anomaly of a request from a log that kept none of its headers starts
(Suricata without ``dump-all-headers``, Zeek without ``header-names.zeek``): only the
few fields such a log keeps apart (host, user agent, referrer) are known."""

NAMES_ONLY = "header values not logged: names only"
"""The anomaly of a request from a log that keeps header names without values (Zeek's
``client_header_names``). Its headers other than the few the log keeps apart (Host,
User-Agent, Referer) have empty values, and the detector reports an identity header
that was present as a finding with no value (detector ``name-only``)."""

JOINED_BY_SURICATA = "Suricata joins a header sent more than once"
"""In the anomaly of a request from an eve.json whose header value holds ``, ``
(:func:`capture.sources.eve.merged_note`): the value may be several headers, one of
them perhaps injected beside another."""


@_quick_init
@dataclass(frozen=True, slots=True)
class Finding:
    """One identity (or informational) value found in a request."""

    name: str
    """Header, cookie or query-parameter name, as on the wire."""
    where: str
    """One of ``header``, ``cookie``, ``query``, ``body``."""
    kind: str
    """One of :data:`IDENTITY_KINDS` or :data:`INFO_KINDS`."""
    value: str
    """The value (or the part of it) that carries the identity, as sent."""
    normalized: str
    """Canonical form: E.164 for phone numbers, digits for IMEI/IMSI, lower-case e-mail."""
    detector: str
    """What found it, e.g. ``catalog``, ``phonenumber``, ``imei``, ``canary``."""
    severity: str
    """One of :data:`SEVERITIES`."""
    detail: str = ""
    """One human line, e.g. ``+44 7700 900123 · GB mobile`` or the canary form that matched."""

    @property
    def is_identity(self) -> bool:
        """True for the kinds that identify a subscriber or device."""
        return self.kind in _IDENTITY_KIND_SET


@_quick_init
@dataclass(frozen=True, slots=True)
class Response:
    """An HTTP response head, paired with the request it answers."""

    ts: float
    version: str
    status: int
    reason: str
    headers: tuple[Header, ...]
    anomalies: tuple[str, ...] = ()


@_quick_init
@dataclass(frozen=True, slots=True)
class Request:
    """An HTTP/1.x request as reassembled from the wire."""

    ts: float
    """Capture time of the first packet carrying bytes of this request."""
    flow: int
    """Connection number, unique within one pipeline run (with :attr:`input`, within
    that input)."""
    depth: int
    """1 for the first request on its connection, 2 for the next, ..."""
    src: str
    sport: int
    dst: str
    dport: int
    method: str
    uri: str | None
    """Request target as on the wire; ``None`` when the request line has none."""
    version: str | None
    """Version token as on the wire; ``None`` for HTTP/0.9-style request lines."""
    headers: tuple[Header, ...] = ()
    body: bytes = b""
    """The first bytes of the body (bounded); ``body_length`` says how many were sent."""
    body_length: int = 0
    anomalies: tuple[str, ...] = ()
    """Human-readable notes on what was odd: gaps, obs-fold, bare LF, bad framing."""
    authority: str | None = None
    """The ``:authority`` pseudo-header of an HTTP/2 or HTTP/3 request (from a
    proxy's records), or the ``http.hostname`` of a Suricata eve.json event whose
    logged headers hold no Host; None for HTTP/1.x, whose target is in ``uri`` and
    ``Host``."""
    app: str = ""
    """The app that sent it, where the capture says (PCAPdroid's extensions:
    :mod:`capture.sources.pcapdroid`); empty when unknown."""
    input: str = ""
    """The input file the connection's first frame (or the record) came from, when a
    scan or dashboard read several (:meth:`capture.pipeline.Pipeline.begin`); ``flow``
    is then numbered within that file. Empty for a single input."""
    source: str = ""
    """What recorded the request, where its input says: ``mitmproxy`` (the add-on's
    records), ``har`` (a HAR that a browser or client-side proxy wrote). Both saw the
    request as the client sent it, before any network
    (:data:`capture.report.attribution.SENDING_SIDE`). ``reflector``: a reflector's own
    log, the request as the server received it, after any network
    (:data:`capture.formats.jsonl.REFLECTOR_SOURCE`). Empty when the input does not
    say (a capture: where it was taken is not in its bytes)."""

    @property
    def host(self) -> str | None:
        """The first Host header, else the ``:authority`` (HTTP/2), else the host of an
        absolute-form target (:func:`capture.target.split_absolute`)."""
        for name, value in self.headers:
            if name.lower() == "host":
                return value
        if self.authority:
            return self.authority
        absolute = split_absolute(self.uri)
        return (absolute[0] or None) if absolute is not None else None

    @property
    def destination(self) -> str:
        """Who received the request: the host, a CONNECT target, or the server address."""
        host = self.host
        if host:
            return host
        if self.method == "CONNECT" and self.uri:
            return self.uri
        return self.dst

    def header_values(self, name: str) -> list[str]:
        """Values of every header called ``name`` (case-insensitive), in wire order."""
        lname = name.lower()
        return [v for n, v in self.headers if n.lower() == lname]


@dataclass(frozen=True, slots=True)
class Transit:
    """Sent versus received: what a reflector's echo (:mod:`capture.http.echo`) shows
    happened to a request's header block on its way to the server."""

    received: tuple[Header, ...]
    """The header block as the server received it, in wire order."""
    injected: tuple[Header, ...] = ()
    """Headers the server received that were not sent (added in transit), as received."""
    removed: tuple[Header, ...] = ()
    """Headers sent that did not arrive (stripped in transit), as sent."""
    changed: tuple[tuple[str, str, str], ...] = ()
    """``(name, sent value, received value)`` of headers rewritten in transit."""
    signed: bool | None = None
    """Whether the echo was signed with the echo key (:mod:`capture.http.echo_key`):
    True where its signature held, False where a key was given and it did not (such
    a transit is not reported: any server may have written it), None where no key was
    given (compared as any server sent it)."""

    @property
    def altered(self) -> bool:
        """Something was added, removed or changed on the way."""
        return bool(self.injected or self.removed or self.changed)

    @property
    def touched_names(self) -> frozenset[str]:
        """Lower-case names of the headers added or changed in transit: where the
        findings the capture alone could not show are."""
        return frozenset(n.lower() for n, _ in self.injected) | {
            n.lower() for n, _, _ in self.changed
        }


@_quick_init
@dataclass(frozen=True, slots=True)
class Record:
    """A request with what was found in it: the unit every sink and the UI receive."""

    id: int
    """Sequence number in capture order, starting at 1."""
    request: Request
    findings: tuple[Finding, ...] = ()
    response: Response | None = None
    transit: Transit | None = None
    """Sent versus received, when a reflector echoed the request; findings in headers
    added or changed in transit are among :attr:`findings`."""

    @property
    def identities(self) -> tuple[Finding, ...]:
        """The findings whose kind identifies a subscriber or device."""
        # (A list, kinds tested here: asked of every record a scan writes.)
        return tuple([f for f in self.findings if f.kind in _IDENTITY_KIND_SET])

    @property
    def anomalies(self) -> tuple[str, ...]:
        """What was odd about the request and, once it came, its response (capture gaps,
        a head cut, TCP evasion, a reflector's refusal): caveats on the evidence, which
        the filter's ``~anomaly`` finds and the table and the request list mark ``⚠``."""
        response = self.response
        if response is None or not response.anomalies:
            return self.request.anomalies  # nearly always: no tuple built
        return self.request.anomalies + response.anomalies


def identities_seen(findings: Iterable[Finding]) -> int:
    """How many identities ``findings`` show: the identity findings, one for each value
    in each place (where, name, value). A canary that confirms what the catalog or a
    value detector read there is the same identity seen, not a second one; two
    numbers in one header are two."""
    # A loop, not a set comprehension (a function, a frame and a set a call): it is
    # asked of every record with a finding, nearly all of which show one identity, and
    # it makes a set only for a second.
    first: tuple[str, str, str] | None = None
    places: set[tuple[str, str, str]] | None = None
    for f in findings:
        if f.kind in _IDENTITY_KIND_SET:
            value = f.value
            if value[-1:] == ">" and value[:1] == "<":
                # A mask of --redact (capture.formats.redact: "<kind …23 #hash>"), whose
                # hash is the value's whatever its kind: a canary's mask and the
                # number's it confirms name one value (a redacted file read back
                # counted each such canary as an identity more).
                value = value.rpartition(" #")[2] or value
            place = (f.where, f.name, value)
            if first is None:
                first = place
            elif places is None:
                places = {first, place}
            else:
                places.add(place)
    if places is not None:
        return len(places)
    return 0 if first is None else 1


def has_identity(findings: Iterable[Finding]) -> bool:
    """Whether any of ``findings`` is an identity (:attr:`Record.identities` is not
    empty), without making their tuple: asked of every record with a finding that a
    scan writes (:class:`capture.view.selection.Selection`)."""
    for f in findings:  # noqa: SIM110 (any() over a generator costs more)
        if f.kind in _IDENTITY_KIND_SET:
            return True
    return False


@_quick_init
@dataclass(frozen=True, slots=True)
class Parsed:
    """A request that arrives already parsed (a JSONL or HAR file, another engine's log):
    what a request-level source hands to :meth:`capture.pipeline.Pipeline.feed_request`."""

    request: Request
    response: Response | None = None
    carried: tuple[Finding, ...] = ()
    """Findings the source states but the request may not show again (in a body the
    log does not keep; a recurring token's, whose first sites the log may not hold);
    they are added to what the detector finds, a recurrence finding unless it is found
    again (:func:`capture.identity.detector.with_carried`)."""
    transit: Transit | None = None
    """Sent versus received, as the source recorded it (the findings in what was added
    or changed are found again from it)."""
    as_written: bool = False
    """``carried`` is every finding of the record, its transit's too, in the source's
    order: a redacted record (``--redact``), whose masked values no detector can find
    again. Only what this run's canaries and recurrence find beyond them is added."""


@_quick_init
@dataclass(frozen=True, slots=True)
class RequestSeen:
    """Event: a request completed; ``record.response`` is still ``None``."""

    record: Record


@_quick_init
@dataclass(frozen=True, slots=True)
class ResponseSeen:
    """Event: the response to record ``record_id`` arrived."""

    record_id: int
    response: Response


@dataclass(frozen=True, slots=True)
class EchoSeen:
    """Event: a reflector's echo shows how request ``record`` arrived at the server
    (sent versus received, :mod:`capture.http.echo`); it comes just before the
    :class:`ResponseSeen` that carried the echo."""

    record: Record
    """The request as captured (as sent), with its own findings."""
    transit: Transit
    findings: tuple[Finding, ...]
    """Findings in the headers added or changed on the way (what the capture alone
    could not show); they count as the request's own."""

    def onto(self, record: Record) -> Record:
        """``record`` (this request, as a consumer holds it) with its transit, and the
        findings in the headers added or changed on the way counted as its own."""
        return replace(record, transit=self.transit, findings=record.findings + self.findings)


@dataclass(frozen=True, slots=True)
class Notice:
    """Event: something the user should know that is not a request (warning, state change)."""

    level: str
    """``info``, ``warning`` or ``error``."""
    text: str


@dataclass(frozen=True, slots=True)
class StatsSnapshot:
    """Event: counters at one moment; only the latest one matters."""

    counters: tuple[tuple[str, int], ...] = field(default_factory=tuple)
    clock: float | None = None
    """Capture time at the snapshot: the newest frame's, or the source's own clock
    while it waits for traffic (None when unknown)."""

    def get(self, name: str) -> int:
        """The value of counter ``name`` (0 when never counted)."""
        for key, value in self.counters:
            if key == name:
                return value
        return 0


Event = RequestSeen | ResponseSeen | EchoSeen | Notice | StatsSnapshot
"""Everything the core hands to a consumer."""
