"""The evidence report as data: built from the pipeline's records, rendered elsewhere.

:func:`build_report` is pure: records (and what was read, and the pipeline's
counters) in, one :class:`Report` out. Every string in a report is already
safe to show (raw bytes, control, bidirectional characters as ``\\xNN`` or
``\\uNNNN``: :func:`safe`) and, unless the report is built with ``redactor=None``,
every identity value is masked as ``--redact`` masks it
(:mod:`capture.formats.redact`). The renderers (:mod:`capture.report.html`,
:mod:`capture.report.markdown`) only lay it out and escape markup.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from capture.formats.jsonl import REFUSED_NOTE
from capture.formats.redact import PSEUDONYMS_V4, PSEUDONYMS_V6, Redactor, is_mask
from capture.gaps import SERVERS_UNREAD, sides
from capture.http.echo import added_on_the_way
from capture.http.stream import BODY_CUT_NOTE
from capture.http.urls import route
from capture.identity.bodies import BODY_DECODED_LARGER, BODY_UNDECODED_NOTE
from capture.identity.catalog import Catalog
from capture.identity.names import normalize_name
from capture.model import (
    HEADERS_UNLOGGED,
    JOINED_BY_SURICATA,
    NAMES_ONLY,
    SEVERITIES,
    WHERE_HEADER,
    Finding,
    Header,
    Record,
    Request,
)
from capture.net.fragments import OVERLAP_NOTE as FRAGMENT_OVERLAP_NOTE
from capture.net.reassembly import (
    AHEAD_NOTE,
    CLIENT_AFTER_RESET_NOTE,
    DATA_AFTER_RESET_NOTE,
    DATA_PAST_FIN_NOTE,
    FIN_NOTE,
    OVERLAP_NOTE,
    RESET_NOTE,
    SYN_DATA_NOTE,
)
from capture.report.attribution import (
    INJECTED,
    RECEIVED,
    UNKNOWN,
    Evidence,
    attribution,
    evidence,
    strongest,
)
from capture.text import counted, printable

KIND_WORDS: Mapping[str, str] = {
    "msisdn": "phone number",
    "imsi": "SIM identity (IMSI)",
    "imei": "handset identity (IMEI)",
    "subscriber_id": "subscriber ID",
    "tracking_id": "tracking ID",
    "email": "e-mail address",
    "device_id": "device ID",
    "canary": "test value (canary)",
}
"""The kinds of identity in words, for readers who do not know the JSONL names."""

NOT_LOGGED = "(value not logged)"
"""An identity's value where its input kept the header's name only (a Zeek log of
header names): the table of ``scan --format table`` says the same."""

REDACTED_NOTE = (
    "Identity values are masked: the same value always has the same mask within this "
    "report, and the mask cannot be reversed. Client addresses are replaced by pseudonym "
    f"addresses ({PSEUDONYMS_V4}, {PSEUDONYMS_V6}), one per client (an address already in "
    "those ranges, as a redacted file's, is kept as it is: a benchmarking or documentation "
    "address is no one's public address), and a study's client address ranges by masks; "
    "ports are kept."
)
"""What the Context section of a redacted report says of it, in both renderers."""

MASKED_ALREADY = (
    "This report was written with --no-redact, but its input was redacted already: its "
    "identity values are the masks that input was written with, not raw identities."
)
"""What a report of an already-redacted input says where a raw one warns."""

FINDING_COLUMNS = (
    "Identity",
    "Value",
    "Header or parameter",
    "Where",
    "Severity",
    "First seen",
    "Last seen",
    "Requests",
    "Sites",
)
"""The Findings table's columns, in both renderings."""

EXPOSURE_INTRO = (
    "Which site received which identity, in requests. A request that carried two "
    "identities counts under each; the last column counts it once."
)
"""The sentence over the Exposure table, in both renderings."""
EXPOSURE_TOTAL = "Requests with an identity"
"""The Exposure table's last column (:attr:`Exposure.requests`)."""

DETECTOR_WORDS: Mapping[str, str] = {
    "catalog": "a header named in headerwatch's catalog of identity headers (below, with "
    "where each was documented); the kind is the catalog's",
    "name-only": "a catalog identity header that an engine's log (Zeek's header names) "
    "shows was present, without its value: the value was not logged",
    "phonenumber": "a phone number in a header, cookie or parameter, checked with "
    "libphonenumber (number ranges, length, country)",
    "imei": "a 15-digit IMEI with a valid Luhn check digit",
    "imsi": "an IMSI (mobile country and network code, then the subscriber number) under a "
    "name that says IMSI",
    "email": "an e-mail address",
    "device-id-name": "a value under a name that says device or advertising ID",
    "hashed-name": "an MD5, SHA-1 or SHA-256 digest under a name that says phone number, "
    "e-mail, IMEI or IMSI: that identifier hashed, as ad tags and SDKs send it",
    "canary": "a value the tester declared as the test phone's (number, IMEI, IMSI or any "
    "string), in plain, hex, base64, URL-encoded or hashed form",
    "recurrence": "an opaque token sent unchanged under one name to several sites",
}
"""What each detector does, for the Method section (docs/jsonl.md#detectors)."""

# A catalog entry whose description says a gateway, carrier or operator puts the
# header in is header enrichment: a header networks add, though an app may send it
# too (who did, the evidence decides: capture.report.attribution).
_NETWORK_WORDS = re.compile(r"gateway|inserted|enrich|carrier|operator|proxy", re.I)


def safe(text: str) -> str:
    """``text`` safe to show anywhere: raw bytes, controls and bidirectional or
    invisible formatting characters escaped (:func:`capture.text.printable`; markup
    is the renderer's job)."""
    return printable(text)


CUT_SHORT, DAMAGED = "cut short", "damaged"
"""The values of :attr:`InputInfo.cut`."""


@dataclass(frozen=True, slots=True)
class InputInfo:
    """One input file of the report."""

    name: str
    kind: str
    """What it is (``pcap or pcapng capture``, ``headerwatch JSONL records``, ...)."""
    size: int | None
    """Bytes; None when not known (standard input)."""
    sha256: str
    traffic: bool = True
    """The input is the traffic itself (a capture or session), so the Not inspected
    counts cover it. False for request records (JSONL, HAR, engine logs) and probe
    results: lists of requests already read, which cannot tell what else the traffic
    held."""
    cut: str = ""
    """How the input's reading stopped before its end, if it did: ``cut short`` (it
    ends inside a record: a copy that ended early, a capture still being written) or
    ``damaged`` (a record that cannot be one, in the middle). What came before is read,
    what follows is not."""


@dataclass(frozen=True, slots=True)
class FindingRow:
    """One identity, under one name, with every request that carried it; where a
    reflector's echo shows it added on the way to some of them, those are a row of
    their own."""

    kind: str
    value: str
    """The normalized value (masked in a redacted report)."""
    where: str
    name: str
    severity: str
    detector: str
    first: float
    last: float
    count: int
    """Requests that carried it."""
    hosts: tuple[str, ...]
    """Who received it, in order of first request."""
    evidence: Evidence
    """Where it was seen, the strongest evidence of its requests
    (:func:`capture.report.attribution.strongest`): who put it in."""
    network_header: str
    """The catalog's description when the header is one networks insert, else ``""``."""
    records: tuple[int, ...]
    host_records: tuple[tuple[str, tuple[int, ...]], ...]
    """``(host, record ids)`` for each host, in :attr:`hosts` order."""
    seen_each: tuple[tuple[str, Evidence], ...] = ()
    """``(host, where it was seen)`` for each request that carried it, in order: what
    the lead says of who put it in holds for these only, not for the whole row."""

    @property
    def words(self) -> str:
        """The kind in words."""
        return KIND_WORDS.get(self.kind, self.kind)

    @property
    def shown(self) -> str:
        """The value as a reader sees it: :data:`NOT_LOGGED` where the input kept the
        header's name only (a Zeek log of header names)."""
        return self.value or NOT_LOGGED

    @property
    def identity(self) -> tuple[str, ...]:
        """What makes rows one identity: kind and value. A value not logged is no value:
        each name is an identity of its own, not one "" sent under both."""
        return (self.kind, self.value) if self.value else (self.kind, "", self.name.lower())

    @property
    def label(self) -> str:
        """The identity, as the exposure names it: its kind in words, then its value
        (or, not logged, the name it came under)."""
        if not self.value:
            return f"{self.words} in {self.name} {NOT_LOGGED}"
        return f"{self.words} {self.value}"

    @property
    def injected(self) -> bool:
        """A reflector's echo shows it arrived in a header added or changed on the way."""
        return self.evidence.vantage == INJECTED


@dataclass(frozen=True, slots=True)
class Exposure:
    """Which host received which identity: ``counts[i][j]`` requests of identity ``i``
    to host ``j``."""

    identities: tuple[str, ...]
    hosts: tuple[str, ...]
    counts: tuple[tuple[int, ...], ...]
    requests: tuple[int, ...]
    """Requests to host ``j`` that carried any of the identities: each once, so fewer
    than the sum of its counts when one request carried two identities."""


@dataclass(frozen=True, slots=True)
class InjectionRow:
    """One request a reflector echoed, and what the network did to it."""

    record: int
    ts: float
    vantage: str
    """Where it was seen from: the client address of the capture (or of the record)."""
    host: str
    added: tuple[Header, ...]
    removed: tuple[Header, ...]
    changed: tuple[tuple[str, str, str], ...]
    identities: tuple[str, ...]
    """``kind value`` of the identities in what was added or changed."""


@dataclass(frozen=True, slots=True)
class Limit:
    """Something the capture held that headerwatch did not (or could not) read."""

    what: str
    count: int | None
    """None: no input can tell (request records, not the traffic)."""
    why: str
    hides: bool = False
    """A count above 0 means a request may have been missed or read incomplete (a gap
    in what clients sent, a head not parsed): a lead that found nothing says so."""
    in_records: bool = False
    """Counted from the requests' anomalies too, as a record file keeps them: a count
    above 0 is known when every input is request records (where the others are not)."""
    differs: bool = False
    """A count above 0 means the server may have read other bytes than those read here
    (two copies that differed, a reset or SYN data it may have taken otherwise): a lead
    that found an identity says so."""

    @property
    def figure(self) -> str:
        """The count as the report shows it: never 0 for a figure no input can tell."""
        return "not known" if self.count is None else f"{self.count:,}"


@dataclass(frozen=True, slots=True)
class AppendixRow:
    """Where to find one request carrying an identity, to check it in Wireshark."""

    record: int
    ts: float
    host: str
    findings: str
    source: str
    """The input file holding it."""
    frame: int | None
    """Its anchor frame (the first frame carrying its bytes), 1-based as in Wireshark;
    None when the input is not a capture."""
    flow: str
    """``src:sport → dst:dport``, for a display filter when there is no frame number."""


@dataclass(frozen=True, slots=True)
class Report:
    """Everything an evidence report says; see the module docstring."""

    title: str
    lead: str
    redacted: bool
    created: float
    version: str
    catalog_version: str
    inputs: tuple[InputInfo, ...]
    first_ts: float | None
    last_ts: float | None
    requests: int
    identity_requests: int
    findings: tuple[FindingRow, ...]
    exposure: Exposure
    injections: tuple[InjectionRow, ...]
    limits: tuple[Limit, ...]
    detectors: tuple[tuple[str, str], ...]
    """``(detector, what it does)`` for every detector that found something, or (none
    did) every one that ran."""
    headers: tuple[tuple[str, str, str], ...]
    """``(header, description, source)`` of the catalog entries behind the findings."""
    sources: tuple[tuple[str, str], ...]
    """The catalog's source abbreviations that :attr:`headers` use, spelled out."""
    appendix: tuple[AppendixRow, ...]
    notes: tuple[str, ...] = ()
    """Anything else a reader must know (inputs passed over, records cut)."""
    echoed: int = 0
    """Requests a reflector echoed (the pipeline's ``echoes``), altered or not."""
    echoes_signed: int = 0
    """Of :attr:`echoed`, those whose echo was signed with the echo key (``--echo-key``):
    checked here, or as the record files read say (:attr:`echoes_signed_recorded`)."""
    echoes_signed_recorded: int = 0
    """Of :attr:`echoes_signed`, those a record file says were signed."""
    echoes_ignored: int = 0
    """Echoes not signed with the echo key given, and so not compared."""
    masked_already: bool = False
    """Not :attr:`redacted`, but every identity value is a mask its input was written
    with (a report of a ``--redact`` export): the report holds no raw identity."""
    numbers: str = ""
    """How numbers written nationally (no country code) were read: in which region, or
    not at all (:func:`national_numbers`); empty where the detector does not say."""
    decrypted: bool = False
    """Some request shown was recorded by a proxy that decrypted TLS (the mitmproxy
    add-on's records): what was inside TLS was read, which the TLS row must not deny."""

    @property
    def values(self) -> str:
        """What its identity values are, in a few words for the line that says a
        report was written."""
        if self.redacted:
            return "identities masked"
        return "masked already in its input" if self.masked_already else "raw identities"

    @property
    def limits_intro(self) -> str:
        """The sentence over the Not inspected table: whose traffic its counts cover."""
        records = [i.name for i in self.inputs if not i.traffic]
        text = "What the inputs held that this report could not look into."
        if self.decrypted:
            text += (
                " Requests recorded by a proxy that decrypted TLS (headerwatch's mitmproxy "
                "add-on) are read whole: what was inside their TLS is in this report."
            )
        if not records:
            return text
        listed = ", ".join(records)
        if len(records) == len(self.inputs):
            return (
                f"{text} The input ({listed}) is a list of web requests already read "
                "from the traffic, not the traffic itself: it cannot show what else the "
                'traffic held, so these figures say "not known", but for what each request\'s '
                "record notes of its own reading (a head cut at the head limit, a capture gap). "
                "Not known does not mean none."
            )
        captures = ", ".join(i.name for i in self.inputs if i.traffic)
        return (
            f"{text} The counts are of the captures only ({captures}), but for what each "
            "request's record notes of its own reading. The other inputs "
            f"({listed}) are lists of web requests already read from the traffic, not the "
            "traffic itself: what else their traffic held is not known, so each count may "
            "be higher."
        )

    @property
    def appendix_intro(self) -> str:
        """The sentence over the Appendix table: how a reader finds each request."""
        text = "Each request carrying an identity."
        numbered = sum(a.frame is not None for a in self.appendix)
        # Redacted, the client's address below is a pseudonym: it is not in the capture.
        where = (
            "the client's port, the server's address and port, and the time below (the "
            "client's address here is a pseudonym)"
            if self.redacted
            else "the addresses and ports below, at its time"
        )
        if not numbered and not self.inputs:
            # A live dashboard's capture without -w: its spool goes when it exits.
            return (
                f"{text} No input file is named: the requests were read live, and no file "
                "of them was kept when this report was written. To find a request in a "
                f"capture saved since, look for its connection by {where}."
            )
        if not numbered:
            if self.inputs and all(i.traffic and i.size is None for i in self.inputs):
                # A capture piped in: read once, its frames cannot be counted again.
                return (
                    f"{text} The capture was read from standard input, which cannot be "
                    "read again to number its frames: to find a request in the capture, "
                    f"look for its connection by {where}."
                )
            return (
                f"{text} The input gives no frame numbers (it is a list of web requests, "
                "not a capture): to find a request in the original capture, if there is "
                f"one, look for its connection by {where}."
            )
        text += (
            " In Wireshark, open the input and go to the frame (Ctrl-G), or filter "
            "frame.number == N: it is the first frame of the request."
        )
        if numbered < len(self.appendix):
            text += (
                " A request without a frame number (—) came from an input that has none "
                f"(a list of web requests): look for its connection by {where}."
            )
        return text


def _rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)


def _network_description(finding: Finding, catalog: Catalog | None) -> str:
    if catalog is None or finding.where != WHERE_HEADER or finding.detector != "catalog":
        return ""
    entry = catalog.lookup(normalize_name(finding.name))
    if entry is None or not _NETWORK_WORDS.search(entry.description):
        return ""
    return entry.description


def build_report(
    records: Iterable[Record],
    *,
    inputs: Sequence[InputInfo] = (),
    counters: Mapping[str, int] | None = None,
    skipped: Mapping[str, int] | None = None,
    redactor: Redactor | None = None,
    catalog: Catalog | None = None,
    frames: Mapping[int, tuple[str, int]] | None = None,
    created: float = 0.0,
    version: str = "",
    catalog_version: str = "",
    title: str = "headerwatch evidence report",
    notes: Sequence[str] = (),
    noted: Mapping[str, int] | None = None,
    received: Collection[int] = (),
    responses: bool = True,
    span: tuple[int, float | None, float | None] | None = None,
    ran: Collection[str] | None = None,
    region: str | None = "",
) -> Report:
    """The report of ``records`` (in capture order, with their transits).

    ``redactor``: identity values masked with it (None: raw identities, and the
    report says so). ``frames``: record id → (input name, anchor frame number; 0 for
    a request read from records, which have no frames).
    ``counters`` and ``skipped``: the pipeline's (:meth:`Pipeline.counters`,
    ``Decoder.skipped``), for the Not inspected section: not known when every input
    is request records (:attr:`InputInfo.traffic`). ``noted``: of all the requests
    read (the report keeps only those it shows), how many have each row of
    :data:`_NOTED_LIMITS` (their input left their headers, header values or body out,
    or their record notes a refusal, a cut body or a TCP or IP caveat), by
    :func:`noted_by`. ``received``: ids
    of the records read from a reflector's own log (the requests as the server
    received them).
    ``responses``: ``counters`` are of a pipeline that read the servers' bytes (the
    dashboard's), not only their reflectors' echoes (``report``'s). ``span``:
    ``(requests, first, last)`` of every request read, where ``records`` are only those
    the report shows (the others were counted, not kept); None: of ``records``.
    ``ran``: the detectors that read the requests (:attr:`IdentityDetector.detectors`),
    which the Method lists when none found anything; None: not known, all of them.
    ``region``: the one national numbers were read in (:attr:`IdentityDetector.region`),
    None for none (the report says so, and a lead that found nothing says so too),
    "" where the detector does not say.
    """
    groups: dict[tuple[str, str, str, str, bool], list[tuple[Record, Finding]]] = {}
    proof: dict[tuple[str, str, str, str, bool], list[Evidence]] = {}
    injections: list[InjectionRow] = []
    appendix: list[AppendixRow] = []
    first_ts: float | None = None
    last_ts: float | None = None
    requests = identity_requests = 0
    if redactor is not None:
        # Every value found in any record is masked in all of them: all learnt first.
        records = records if isinstance(records, Collection) else list(records)
        for original in records:
            redactor.learn(original)
    # Text about the inputs (their names, notes on how they were read) is masked as
    # the records are: a capture may be named for its subject's number.
    hide = redactor.text if redactor is not None else str
    decrypted = False
    for original in records:
        record = redactor.record(original) if redactor is not None else original
        req = record.request
        decrypted = decrypted or req.source == "mitmproxy"
        requests += 1
        first_ts = req.ts if first_ts is None else min(first_ts, req.ts)
        last_ts = req.ts if last_ts is None else max(last_ts, req.ts)
        ids = record.identities
        # Added on the way (an echo shows it) or not: one row each, so that no row says
        # "injected in transit" of a request whose phone sent it. Told on the record as
        # read (the masks of a redacted one stand for values the test looks for).
        raw = original.identities
        added = [added_on_the_way(original.request.headers, original.transit, f) for f in raw]
        for finding, came, as_read in zip(ids, added, raw, strict=True):
            key = (finding.kind, finding.normalized, finding.where, finding.name.lower(), came)
            groups.setdefault(key, []).append((record, finding))
            # Its evidence told on the record as read too: masked, a canary's value
            # ("<canary …23 #h>") is not the number's in the header ("<msisdn …23 #h>"),
            # and the phone's own header read as injected in the redacted report.
            proof.setdefault(key, []).append(evidence(original, as_read, original.id in received))
        if ids:
            identity_requests += 1
            source, frame = frames.get(record.id, ("", 0)) if frames else ("", 0)
            appendix.append(
                AppendixRow(
                    record.id,
                    req.ts,
                    safe(req.destination),
                    "; ".join(
                        safe(f"{f.kind} {f.normalized or NOT_LOGGED} in {f.where} {f.name}")
                        for f in ids
                    ),
                    safe(hide(source)),
                    frame or None,
                    safe(route(req)),
                )
            )
        moved = record.transit
        if moved is not None and moved.altered:
            injections.append(
                InjectionRow(
                    record.id,
                    req.ts,
                    safe(req.src),
                    safe(req.destination),
                    tuple((safe(n), safe(v)) for n, v in moved.injected),
                    tuple((safe(n), safe(v)) for n, v in moved.removed),
                    tuple((safe(n), safe(a), safe(b)) for n, a, b in moved.changed),
                    tuple(
                        safe(f"{f.kind} {f.normalized}")
                        for f, came in zip(ids, added, strict=True)
                        if came
                    ),
                )
            )
    rows = []
    for (kind, normalized, where, _name, _added), hits in groups.items():
        finding = hits[0][1]
        hosts: dict[str, list[int]] = {}
        for record, _f in hits:
            hosts.setdefault(safe(record.request.destination), []).append(record.id)
        stamps = [record.request.ts for record, _f in hits]
        each = proof[kind, normalized, where, _name, _added]
        rows.append(
            FindingRow(
                kind,
                safe(normalized),
                where,
                safe(finding.name),
                min((f.severity for _r, f in hits), key=_rank),
                finding.detector,
                min(stamps),
                max(stamps),
                len(hits),
                tuple(hosts),
                strongest(each),
                safe(_network_description(finding, catalog)),
                tuple(record.id for record, _f in hits),
                tuple((host, tuple(ids)) for host, ids in hosts.items()),
                tuple(
                    (safe(record.request.destination), seen)
                    for (record, _f), seen in zip(hits, each, strict=True)
                ),
            )
        )
    # What an echo shows the network added comes first, and so leads: a number the
    # phone sent to more sites is not the evidence that the carrier injected one.
    rows.sort(key=lambda r: (not r.injected, _rank(r.severity), -len(r.hosts), -r.count, r.first))
    requests_read, first_read, last_read = span or (requests, first_ts, last_ts)
    missed = limits(
        counters or {},
        skipped or {},
        known=not inputs or any(i.traffic for i in inputs),
        responses=responses,
    ) + _noted_limits(noted or {})
    exposure = _exposure(rows)
    detectors = sorted({r.detector for r in rows}) or [
        d
        for d in DETECTOR_WORDS
        if (ran is None or d in ran)
        # Name-only reads a log of header names only; of other inputs it reads nothing.
        and (d != "name-only" or (noted or {}).get(NAMES_ONLY))
    ]
    headers, sources = _catalog_rows(rows, catalog)
    return Report(
        title=safe(hide(title)),
        lead=_lead(
            rows,
            requests_read,
            redactor is not None,
            missed,
            [(safe(hide(i.name)), i.cut) for i in inputs if i.cut],
        )
        + (NO_REGION_LEAD if not rows and region is None else ""),
        redacted=redactor is not None,
        created=created,
        version=safe(version),
        catalog_version=safe(catalog_version),
        # A file name is the file system's bytes (surrogates where not UTF-8): shown safe.
        inputs=tuple(replace(i, name=safe(hide(i.name)), kind=safe(i.kind)) for i in inputs),
        first_ts=first_read,
        last_ts=last_read,
        requests=requests_read,
        identity_requests=identity_requests,
        findings=tuple(rows),
        exposure=exposure,
        injections=tuple(injections),
        limits=missed,
        detectors=tuple((d, DETECTOR_WORDS.get(d, "")) for d in detectors),
        headers=headers,
        sources=sources,
        appendix=tuple(appendix),
        notes=tuple(safe(hide(n)) for n in notes),
        echoed=(counters or {}).get("echoes", 0),
        echoes_signed=(counters or {}).get("echoes_signed", 0)
        + (counters or {}).get("echoes_signed_recorded", 0),
        echoes_signed_recorded=(counters or {}).get("echoes_signed_recorded", 0),
        echoes_ignored=(counters or {}).get("echoes_unsigned", 0),
        masked_already=redactor is None and _all_masks(rows),
        numbers="" if region == "" else national_numbers(region),
        decrypted=decrypted,
    )


def _exposure(rows: Sequence[FindingRow]) -> Exposure:
    """Identity (kind and value, whatever name it came under) × host, in requests:
    a request that carried one identity under two names counts once."""
    per: dict[tuple[str, str], set[int]] = {}
    identities: dict[str, None] = {}
    totals: dict[str, set[int]] = {}
    for row in rows:
        label = row.label
        identities.setdefault(label, None)
        for host, ids in row.host_records:
            per.setdefault((label, host), set()).update(ids)
            totals.setdefault(host, set()).update(ids)
    hosts = sorted(totals, key=lambda h: (-len(totals[h]), h))
    counts = tuple(tuple(len(per.get((label, host), ())) for host in hosts) for label in identities)
    requests = tuple(len(totals[host]) for host in hosts)
    return Exposure(tuple(identities), tuple(hosts), counts, requests)


_WHERE_WORDS = {
    "header": "header",
    "cookie": "cookie",
    "query": "URL parameter",
    "body": "body field",
}


def _all_masks(rows: Sequence[FindingRow]) -> bool:
    """Whether there are identities and every value is a redaction mask."""
    if not rows:
        return False
    # Imported here: redaction's keyed hashes are needed only when a report masks.
    from capture.formats.redact import is_mask

    return all(is_mask(row.value) for row in rows)


def _via(rows: Sequence[FindingRow]) -> str:
    """Each name of ``rows`` with what it is: a URL parameter that carried the number
    is no header (``header X-MSISDN or the URL parameter msisdn``)."""
    names: dict[str, set[str]] = {}
    for row in rows:
        names.setdefault(row.where, set()).add(row.name)
    return " or the ".join(
        f"{_WHERE_WORDS.get(where, where)} {_some(sorted(spelled))}"
        for where, spelled in names.items()
    )


_NAMES_SAID = 6
"""Names a lead spells out in one place; the rest are counted (a record of 5,000
forged findings made a lead of 44 KB)."""


def _some(names: Sequence[str]) -> str:
    """``a or b or c``; past :data:`_NAMES_SAID`, the first of them and how many more."""
    if len(names) <= _NAMES_SAID:
        return " or ".join(names)
    rest = len(names) - _NAMES_SAID
    return f"{' or '.join(names[:_NAMES_SAID])} or {counted(rest, 'other name')}"


def _sites(hosts: Iterable[str]) -> str:
    """``N sites (a, b, …)``: the first six named."""
    named = list(dict.fromkeys(hosts))
    shown = ", ".join(named[:6]) + (", …" if len(named) > 6 else "")
    return f"{counted(len(named), 'site')} ({shown})"


def _in_sentence(what: str) -> str:
    """A row's name inside a sentence: its first word in lower case, unless that word
    is an initialism (``IP fragments``), and the rest as written (``TCP``)."""
    first, _, rest = what.partition(" ")
    if first.isupper():
        return what
    return f"{first.lower()} {rest}" if rest else first.lower()


def _lead(
    rows: Sequence[FindingRow],
    requests: int,
    redacted: bool,
    missed: Sequence[Limit] = (),
    cut: Sequence[tuple[str, str]] = (),
) -> str:
    """The one sentence a reader needs: which identity went where, how, added by whom.
    ``missed``: the Not inspected rows; when nothing was found, those that could hide a
    request (:attr:`Limit.hides`) keep it from reading as a clean bill of health.
    ``cut``: the inputs read up to a cut or damage (name, how), the rest of them unread."""
    if not rows:
        text = (
            f"No identity was found in {counted(requests, 'HTTP request')}: no phone number, "
            "SIM or handset identity, subscriber or tracking ID was sent in a header, "
            "cookie or parameter that headerwatch could read."
        )
        hidden = [f"{_in_sentence(x.what)}: {x.figure}" for x in missed if x.hides and x.count]
        if hidden:
            text += (
                f" Part of the traffic was not inspected ({'; '.join(hidden)}), and an "
                "identity in it would not have been seen."
            )
        return text + _cut_caveat(cut)
    # The identity that went furthest, whatever kinds found it under which names (an
    # app's device ID under anon_id to one site and under another name to a second:
    # two sites, not one), the rows' order (injected, severity, sites) breaking ties.
    groups: dict[object, list[FindingRow]] = {}
    for row in rows:
        groups.setdefault(_value_key(row), []).append(row)
    # Each row's place, looked up: rows.index compared whole rows, one by one, for each
    # group (3,000 identity headers in one request took seconds).
    place = {id(row): at for at, row in enumerate(rows)}
    same = min(
        groups.values(),
        key=lambda g: (
            not any(r.injected for r in g),
            min(_rank(r.severity) for r in g),
            -len({h for r in g for h in r.hosts}),
            -len({record for r in g for record in r.records}),
            place[id(g[0])],
        ),
    )
    top = same[0]
    if top.value:
        text = f"The {top.words} {top.value}"
    else:
        article = "An" if top.words[0] in "aeiou" else "A"
        text = f"{article} {top.words} (its value not logged)"
    # Its sites in the order they first got it, whichever row leads.
    by_time = sorted(same, key=lambda r: (r.first, min(r.records)))
    text += f" went to {_sites(h for r in by_time for h in r.hosts)}"
    text += f" in the {_via(same)}"
    seen = strongest(r.evidence for r in same)
    # Who put it in is said of the requests the strongest evidence is about, and where
    # it rests on what the header is (no echo, no client-side record), of the headers
    # networks insert only: not of a cookie, or of the same number sent as it was.
    by_kind = seen.vantage in (RECEIVED, UNKNOWN)
    claimed = [r for r in same if r.network_header or not by_kind]
    # Requests counted once each: one request may carry the number under two names
    # (X-MSISDN and X-Phone), a row each, and is still one request.
    about = {
        record: host
        for r in claimed
        for record, (host, e) in zip(r.records, r.seen_each, strict=True)
        if e.vantage == seen.vantage
    }
    hosts = list(about.values())
    said = attribution(seen, any(r.network_header for r in claimed))
    whole = len({record for r in same for record in r.records})
    named = same  # the rows of the list the attribution follows
    # The rows the strongest evidence is about: an injected header's, not a parameter
    # the device sent with the same number in the same request.
    backed = [r for r in claimed if any(e.vantage == seen.vantage for _h, e in r.seen_each)]
    if said and len(about) == whole and _via(backed) != _via(same):
        # The same requests, not all the places named: which of them it is said of.
        named = backed
        text += f"; in the {_via(backed)}"
    elif said and len(about) < whole:
        claimed = backed
        named = claimed
        if set(hosts) != {h for r in same for h, _e in r.seen_each}:
            # The same names are not named again ("in the header X; in the header X").
            via = "of them," if _via(claimed) == _via(same) else f"in the {_via(claimed)}"
            text += f"; {via} to {_sites(hosts)}"
        else:
            # The same sites: which of the requests to them the evidence is about (the
            # sites again read as the same sentence twice).
            via = "" if _via(claimed) == _via(same) else f" in the {_via(claimed)}"
            text += f"; in {len(about)} of its {whole} requests{via}"
    # What networks insert qualifies the headers that are such, not a parameter or body
    # field (nor another header) named beside them: those are named.
    among = sorted({r.name for r in named if r.network_header})
    mixed = len(among) < len({(r.where, r.name) for r in named})
    text += (attribution(seen, bool(among), among if mixed else ()) if said else "") + "."
    # Other values: the number a canary names (--msisdn) is the one found under its
    # kind too, not another identity (masked, the same hash under another kind).
    others = len({_value_key(r) for r in rows} - {_value_key(top)})
    if others:
        # "Found", not "left": an injected one never left the phone.
        text += f" {counted(others, 'other identity', 'other identities')} also found."
    differed = [f"{_in_sentence(x.what)}: {x.figure}" for x in missed if x.differs and x.count]
    if differed:
        # Evidence a reader must weigh: what was read may not be what the server read.
        text += (
            f" The server may have read other bytes than those read here "
            f"({'; '.join(differed)}): see Not inspected."
        )
    text += _cut_caveat(cut)
    if redacted:
        text += " Identity values are masked in this report."
    return text


NO_REGION_LEAD = (
    " Numbers written nationally (without a country code) were not read: no region was given."
)
"""What a lead that found nothing adds when no region was given: a national number
missed is not a clean bill."""


def national_numbers(region: str | None) -> str:
    """The Context's sentence on numbers written nationally: read as ``region``'s, or
    (None) not read."""
    if region:
        return (
            f"Numbers written nationally (without a country code) were read as region {region}'s."
        )
    return (
        "Numbers written nationally (without a country code, as 07700 900123) were not "
        "read: no region was given (--region or [identity] region), and the locale named "
        "none."
    )


def _cut_caveat(cut: Sequence[tuple[str, str]]) -> str:
    """What the lead must add when inputs were not read to their end: its counts are
    of what was read, and the identity may have gone further (or one been sent) after."""
    if not cut:
        return ""
    said = [f"{name} is {how}" for name, how in cut[:3]] + (["…"] if len(cut) > 3 else [])
    which = "The input" if len(cut) == 1 else "The inputs"
    return (
        f" {which} {'; '.join(said)}: this is what the requests before "
        f"{'that point' if any(how != CUT_SHORT for _, how in cut) else 'the cut'} show, "
        "and the traffic after it was not read."
    )


def _catalog_rows(
    rows: Sequence[FindingRow], catalog: Catalog | None
) -> tuple[tuple[tuple[str, str, str], ...], tuple[tuple[str, str], ...]]:
    if catalog is None:
        return (), ()
    entries = {}
    for row in rows:
        if row.detector != "catalog":
            continue
        entry = catalog.lookup(normalize_name(row.name))
        if entry is not None:
            entries[entry.name] = entry
    headers = tuple((safe(e.name), safe(e.description), safe(e.source)) for e in entries.values())
    used = tuple(
        (safe(abbr), safe(text))
        for abbr, text in catalog.sources.items()
        if any(abbr in e.source for e in entries.values())
    )
    return headers, used


_DATAGRAMS_LOST = (
    "ip_datagrams_too_large",
    "ip_datagrams_timed_out",
    "ip_datagrams_evicted",
    "ip_datagrams_incomplete",
)
"""Fragment counters of datagrams dropped or left incomplete (:mod:`capture.net.fragments`)."""


BODY_NOT_KEPT = "request body not in the input"
"""The ``noted`` key of a request whose input gave its body's length, not its bytes
(``body_length`` above 0, no ``body``): a record file's, where a capture keeps the
first bytes of every body. Not an anomaly's text, as the other keys are."""

_NOTED_LIMITS = (
    (
        HEADERS_UNLOGGED,
        Limit(
            "Requests whose headers the log did not keep",
            0,
            "a Suricata eve.json without dump-all-headers, or a Zeek http.log without "
            "header names: only host, user agent and referrer were read, so an identity "
            "header that was sent cannot be seen",
            hides=True,
        ),
    ),
    (
        NAMES_ONLY,
        Limit(
            "Requests whose header values the log did not keep",
            0,
            "a Zeek http.log of header names only: an identity header present is a finding "
            "without its value, and an identity under another name is not seen",
            hides=True,
        ),
    ),
    (
        JOINED_BY_SURICATA,
        Limit(
            "Requests with a header the log joined",
            0,
            "Suricata's eve.json logs a header sent more than once as one value joined "
            "with ', ': how many were sent is lost, and a second header (one injected "
            "beside another) can hide in it; the findings are of the joined value",
        ),
    ),
    (
        REFUSED_NOTE,
        Limit(
            "Requests refused by the reflector",
            0,
            "answered with an error (where the client was still there), not their echo "
            "(loose header syntax, a body too large, "
            "too slow or badly framed, the memory budget), and recorded with what had "
            "arrived: the head, and the body up to the refusal, not past it",
            hides=True,
        ),
    ),
    (
        BODY_CUT_NOTE,
        Limit(
            "Requests whose body was cut short",
            0,
            "the connection (or the capture) ended before the body was complete: what "
            "came was searched, the rest was never read",
            hides=True,
        ),
    ),
    (
        BODY_DECODED_LARGER,
        Limit(
            "Requests whose body decoded to more than is searched",
            0,
            "a compressed body decodes to more than 64 KiB, the most of a body searched: "
            "an identity past that was not seen",
            hides=True,
        ),
    ),
    (
        BODY_UNDECODED_NOTE,
        Limit(
            "Requests whose body could not be decoded",
            0,
            "a Content-Encoding this installation cannot undo (br and zstd need the brotli "
            "and zstandard modules) or a damaged stream: the body was searched as sent, "
            "so an identity inside it cannot be seen",
            hides=True,
        ),
    ),
    (
        RESET_NOTE,
        Limit(
            "Requests after a TCP reset passed over",
            0,
            "a reset not at the next byte, which the server would not take, was passed "
            "over and the request read; the server may have ignored it too, or not",
            hides=True,
            differs=True,
        ),
    ),
    (
        SYN_DATA_NOTE,
        Limit(
            "Requests after data on a TCP SYN",
            0,
            "the SYN carried bytes the server did not acknowledge: they were not read, "
            "and the request is what followed the SYN, as the server reads it",
            hides=True,
            differs=True,
        ),
    ),
    (
        FIN_NOTE,
        Limit(
            "Requests after a TCP FIN passed over",
            0,
            "a FIN out of the window, which the server would not take, was passed over "
            "and the connection read on",
        ),
    ),
    (
        DATA_PAST_FIN_NOTE,
        Limit(
            "Requests after TCP data past a FIN",
            0,
            "bytes held past their sender's FIN, after which the server reads nothing, "
            "were not read: the request is what came before",
        ),
    ),
    (
        AHEAD_NOTE,
        Limit(
            "Requests after TCP data sent ahead of bytes the server awaited",
            0,
            "the server acknowledged the bytes before a hole again and again, so it never "
            "read in order what came past the hole: that was not read either, and the "
            "request is what came at the next byte",
        ),
    ),
    (
        DATA_AFTER_RESET_NOTE,
        Limit(
            "Requests read after a TCP reset",
            0,
            "data went on at the reset's own byte: the server may not have taken the "
            "reset (a forged one, or one lost on the way), or it did and never read this",
            hides=True,
            differs=True,
        ),
    ),
    (
        CLIENT_AFTER_RESET_NOTE,
        Limit(
            "Requests read after a TCP reset from the server's side",
            0,
            "the client went on at its next byte: the reset may be a forged one it never "
            "got, which the server never sent, so the server read this; or a real one "
            "that crossed the request, and the server never read it",
            hides=True,
            differs=True,
        ),
    ),
    (
        FRAGMENT_OVERLAP_NOTE,
        Limit(
            "Requests from IP fragments that overlapped with different bytes",
            0,
            "the first copy was read; the server may have read the other, or dropped the datagram",
            hides=True,
            differs=True,
        ),
    ),
    (
        OVERLAP_NOTE,
        Limit(
            "Requests with TCP segments that overlapped with different bytes",
            0,
            "two copies of the same bytes differed and one was read: the server may have "
            "read the other, with an identity in it, or without the one found here",
            hides=True,
            differs=True,
        ),
    ),
    (
        BODY_NOT_KEPT,
        Limit(
            "Request bodies not in the input",
            0,
            "the input gives each body's length, not its bytes (headerwatch's JSONL keeps "
            "none): they were not searched again, and findings in them are as the file "
            "recorded them, made with the options it was written with (region, canaries)",
            hides=True,
        ),
    ),
)
"""What a request's record says was left out of it or may differ from what its server
read, by what its anomaly says (or, for :data:`BODY_NOT_KEPT`, its body): what a log
did not keep, the reflector's refusals, a body cut short, reassembly's notes (a TCP
reset or FIN passed over, data past a FIN or sent ahead of bytes the server awaited and
not read, data on a SYN, data after a reset, overlaps that differ)."""


def noted_by(request: Request) -> list[str]:
    """The rows of :data:`_NOTED_LIMITS` that ``request`` counts in (what its input
    left out of it, what its anomalies note): the keys of ``build_report``'s ``noted``
    counts it adds to."""
    anomalies = request.anomalies
    marks = [
        mark
        for mark, _ in _NOTED_LIMITS
        if mark != BODY_NOT_KEPT and any(mark in a for a in anomalies)
    ]
    if request.body_length and not request.body:
        marks.append(BODY_NOT_KEPT)
    return marks


def _noted_limits(noted: Mapping[str, int]) -> tuple[Limit, ...]:
    """The Not inspected rows counted from the records' anomalies (:data:`_NOTED_LIMITS`;
    known whatever the inputs); only those some request has."""
    return tuple(
        replace(limit, count=noted[start]) for start, limit in _NOTED_LIMITS if noted.get(start)
    )


def limits(
    counters: Mapping[str, int],
    skipped: Mapping[str, int],
    known: bool = True,
    responses: bool = True,
) -> tuple[Limit, ...]:
    """What was not inspected, with counts: every limit is listed, zero or not, so a
    reader sees it was looked for. ``known`` False: no input was the traffic itself
    (request records only), and every count is None, not a zero that no input says.
    ``responses`` False: the servers' bytes were read only to find reflectors' echoes
    (a requests-only pipeline), so their gaps are not known either."""
    udp = sum(n for reason, n in skipped.items() if reason == "IP protocol 17")
    other = sum(skipped.values()) - udp
    c = counters.get
    # Fragments are reassembled (capture.net.fragments): what is lost is the datagrams
    # that never became whole, and what is unsure is bytes two overlapping copies differ in.
    unbuilt = sum(c(name, 0) for name in _DATAGRAMS_LOST)
    (client, client_bytes), (server, server_bytes), (unknown, unknown_bytes) = sides(counters)
    missed = counted(client_bytes, "byte") if known else "parts"
    server_missed = counted(server_bytes, "byte") if known else "parts"
    server_row = Limit(
        "Capture gaps, server side",
        server,
        f"{server_missed} of what servers sent the capture missed; responses across a gap "
        "may be incomplete",
    )
    if known and not responses:
        server_row = Limit(
            "Capture gaps, server side",
            None,
            f"the servers' bytes were {SERVERS_UNREAD} ({counted(server, 'gap')} in "
            f"those, {counted(server_bytes, 'byte')} missing)",
        )
    rows = (
        Limit(
            "Encrypted or non-HTTP TCP connections (HTTPS/TLS among them)",
            c("non_http_connections", 0),
            "their contents cannot be read; a carrier cannot add headers inside TLS either",
        ),
        Limit(
            "UDP frames (QUIC, HTTP/3, DNS)",
            udp,
            "not read: HTTP over QUIC is encrypted",
        ),
        Limit(
            "IP datagrams not reassembled from their fragments",
            unbuilt,
            "a fragment was missing, cut, malformed, or the datagram too large, too slow or "
            "beyond the memory for fragments: a request in it is not read",
            hides=True,
        ),
        Limit(
            "IP fragments overlapping with different bytes",
            c("ip_fragment_overlaps", 0),
            "the first copy was read; the server may have kept the other",
        ),
        Limit("Other frames passed over", other, "not IPv4/IPv6 TCP, or cut short"),
        Limit(
            "Capture gaps, client side",
            client,
            f"{missed} of what clients sent the capture missed; requests across a gap may "
            "be incomplete",
            hides=True,
        ),
        server_row,
        *(
            [
                Limit(
                    "Capture gaps before the client was known",
                    unknown,
                    f"{counted(unknown_bytes, 'byte')} the capture missed before the "
                    "connection showed which side was the client",
                    hides=True,
                )
            ]
            if unknown
            else []
        ),
        Limit(
            "Reassembly buffer overflows",
            c("stream_buffer_overflows", 0) + c("total_buffer_overflows", 0),
            "data beyond the buffer limits was dropped",
            hides=True,
        ),
        Limit(
            "Connections evicted",
            c("flows_evicted", 0),
            "the connection table was full; the oldest were dropped",
            hides=True,
        ),
        Limit("Malformed HTTP heads", c("malformed_heads", 0), "not read as requests", hides=True),
        Limit(
            "Request heads cut at the head limit",
            # A record file's cut heads are counted from their anomalies
            # (Pipeline.feed_request), a capture's as they are cut.
            c("heads_cut", 0),
            "longer than --max-head: read up to the cut, not past it",
            hides=True,
            in_records=True,
        ),
        Limit(
            "Partial requests dropped",
            c("partial_requests_dropped", 0),
            "connections that ended inside a request head",
            hides=True,
        ),
        Limit(
            "Echo waits cut",
            c("echo_waits_cut", 0),
            "requests whose reflector's echo came after they were written: what it "
            "showed injected is not in their records",
        ),
    )
    if c("parsed_gap_requests", 0):
        # A record file's own account of its capture's gaps (Pipeline.feed_request):
        # shown where a record says so, as the rows of what logs left out are.
        rows += (
            Limit(
                "Requests a capture gap touched, as their records say",
                c("parsed_gap_requests", 0),
                "read from records of a capture with gaps: each may be incomplete, and an "
                "identity in what the capture missed was not seen",
                hides=True,
                in_records=True,
            ),
        )
    if known:
        return rows
    # A record that notes nothing is no proof of none: a log of another tool's
    # (Suricata's, a browser's HAR) does not say where its own limits cut.
    return tuple(row if row.in_records and row.count else replace(row, count=None) for row in rows)


def _value_key(row: FindingRow) -> object:
    """What one value is, whatever kind found it: a mask without its kind (``<msisdn
    …23 #1c45…>`` and ``<canary …23 #1c45…>`` are one number), a value as it is, a
    value not logged as its name's."""
    if not row.value:
        return row.identity
    if is_mask(row.value):
        return row.value.split(" ", 1)[1]
    # A raw value (--no-redact) that looks like one ("<a b>") is itself.
    return row.value


def echo_trust(report: Report) -> str:
    """What the echoes a report rests on are worth, in a sentence or two (empty without
    echoes): signed with the echo key, or from any server that sends one."""
    said = ""
    echoed = max(report.echoed, len(report.injections))
    if echoed:
        recorded = report.echoes_signed_recorded
        if report.echoes_signed >= echoed and not recorded:
            said = "Every echo was signed with the echo key: the reflector's own."
        elif report.echoes_signed >= echoed:
            said = (
                f"Every echo was signed with the echo key ({recorded:,} as the records read "
                "say: checked when they were written)."
            )
        elif report.echoes_signed:
            said = (
                f"{report.echoes_signed:,} of them were signed with the echo key; the others "
                "could have been written by any server."
            )
        else:
            said = (
                "The echoes were not signed (no --echo-key): any server can answer with one, "
                "so what they show is evidence only for requests to a reflector of your own "
                "(the Site column)."
            )
    if report.echoes_ignored:
        ignored = counted(report.echoes_ignored, "echo", "echoes")
        were = "was" if report.echoes_ignored == 1 else "were"
        said += f" {ignored} not signed with the echo key {were} ignored."
    return said.strip()
