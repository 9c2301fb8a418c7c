"""Reading inputs for a report and writing it: the I/O around the pure model.

Inputs are read as ``scan`` reads them (:func:`capture.sources.inputs.open_input`,
the same :class:`~capture.pipeline.Pipeline`), so a report can be made of anything
headerwatch reads; ``probe --format jsonl`` results are read here, as tests of a
study (:mod:`capture.report.study`). The file is written whole or not at all, and
private (0600): :mod:`capture.formats.atomic`, :mod:`capture.formats.private`.
"""

from __future__ import annotations

import hashlib
import os
import socket
import stat
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import orjson

from capture.formats.atomic import atomic_output
from capture.formats.file_kinds import kind_of
from capture.formats.jsonl import is_reflector_record
from capture.formats.pcapng import describe_os_error
from capture.formats.private import open_private
from capture.formats.recorded import recorded_info
from capture.formats.redact import Redactor
from capture.identity.catalog import load_catalog
from capture.identity.detector import IdentityDetector
from capture.identity.phone import is_region
from capture.model import Finding, Record, RequestSeen
from capture.net.decode import Decoder
from capture.pipeline import Detector, Pipeline
from capture.report import html, markdown
from capture.report.model import CUT_SHORT, DAMAGED, InputInfo, Report, build_report, noted_by
from capture.report.study import Study, Test, build_study, is_probe_result, probe_test, record_test
from capture.sources.frames import CaptureError, CaptureFile, open_problem
from capture.sources.inputs import Input, after_reading, open_input, refuse_repeats, unreadable
from capture.text import counted
from capture.version import catalog_version, tool_version

if TYPE_CHECKING:
    from capture.view.recurring import Backfill

CAPTURE = "pcap or pcapng capture"
"""The kind of input a capture is, in the Context table."""

FORMATS = ("html", "md")
"""Report formats, by file suffix (``.markdown`` is ``md`` too)."""

MAX_PROBE_LINE = 16 << 20
"""Longest probe result line read (as for record files)."""

EARLIER_SLACK = 4096
"""Requests held for the backfill past those it remembers before they are pruned to
those (:meth:`Read.add`): at least this many, or as many as it remembers."""
MAX_EARLIER_HELD = 20_000
"""Requests held for the backfill at most, the oldest let go first (counted, and said
with the backfill's own cuts): it remembers up to 16,384 tokens of 1,000 requests each,
ids the dashboard looks up in its store, but the report holds the records themselves,
and a capture of many sites' session tokens would otherwise keep most of its requests
in memory."""


class ReportError(Exception):
    """A report could not be made; ``str()`` is one line for the user."""


class NothingRead(ReportError):
    """Inputs in which nothing of their kind could be read
    (:func:`capture.sources.inputs.unreadable`): input errors, found once every input
    was read, as ``scan`` finds them. No report is written: one would hide them.
    ``errors``: one line each (``str()`` is the first); ``warnings``: what reading the
    other inputs found amiss."""

    def __init__(self, errors: Sequence[str], warnings: Sequence[str]) -> None:
        super().__init__(errors[0])
        self.errors = tuple(errors)
        self.warnings = tuple(warnings)


def format_of(path: str, fmt: str | None) -> str:
    """The format for ``path``: ``fmt`` if given, else from its suffix."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise ReportError(f"unknown report format {fmt!r} (one of: {', '.join(FORMATS)})")
        return fmt
    kind = kind_of(path)[1]
    if kind in FORMATS:  # the kinds of capture.formats.file_kinds: .htm and .markdown too
        return kind
    if os.path.isdir(path):
        # The reason that stands whatever the name: "-o /tmp" named no format either.
        raise ReportError(f"{path}: is a directory; no report written")
    raise ReportError(
        f"{path}: cannot tell the format from the name; use .html or .md, or --format"
    )


def describe_input(path: str, kind: str, traffic: bool, cut: str = "") -> InputInfo:
    """Name, kind, size and SHA-256 of an input file; ``traffic``: it is a capture
    (:attr:`InputInfo.traffic`); ``cut``: it was read to a cut (:attr:`InputInfo.cut`)."""
    if path == "-":
        return InputInfo(
            "(standard input)", kind, None, "not computed (standard input)", traffic, cut
        )
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return InputInfo(path, kind, size, digest.hexdigest(), traffic, cut)


def _how_made(path: str, region: str | None) -> str | None:
    """How a headerwatch session (of frames or of records) was made, from its metadata
    (None for other inputs). ``region``: the one this report read national numbers in,
    said where it is not the one the session records."""
    if path == "-":
        return None  # read once, by the input's reader
    info = recorded_info(path)
    if info is None:
        return None
    text = f"{path}: a headerwatch session saved {info.created or 'at an unknown time'}"
    text += f" by headerwatch {info.version}" if info.version else ""
    text += f" (identity catalog: {info.catalog})" if info.catalog else ""
    text += f" from {info.source}" if info.source else ""
    if info.filter:
        # Saved from a filtered view: what it holds is not all that was read.
        text += (
            f"; a selection: only the requests its view filter {info.filter!r} showed, "
            "not all that were read"
        )
    recorded = info.region.upper()
    if recorded and not is_region(recorded):
        # Metadata edited by hand (a number, null): said as the warning says it.
        recorded = f"{info.region!r} (not a region code)"
    if recorded and recorded == region:
        text += f"; national numbers read as region {recorded}"
    elif recorded:
        # Findings are found again: this report's region decides, not the session's.
        now = f"as region {region}" if region else "in no region"
        text += f"; national numbers read {now} in this report, instead of the recorded {recorded}"
    elif region:
        text += f"; saved without a region; national numbers read as region {region} here"
    if info.stopped:
        text += f"; {info.stopped}"
    return text


def _kind_of(source: Input) -> str:
    return CAPTURE if isinstance(source, CaptureFile) else source.what


def _describe_source(path: str) -> InputInfo:
    """:func:`describe_input` of a file the dashboard read, its kind told as
    :func:`open_input` tells it."""
    try:
        source = open_input(path)
    except CaptureError as exc:
        raise ReportError(str(exc)) from None
    source.close()
    return describe_input(path, _kind_of(source), isinstance(source, CaptureFile))


def _how_cut(source: object) -> str:
    """:attr:`InputInfo.cut` of an input read to its end."""
    if getattr(source, "damage", None) is not None:
        return DAMAGED
    return CUT_SHORT if getattr(source, "truncated", False) else ""


def _refuse_a_stream(path: str) -> None:
    """Refuse a named input that is no regular file (``<(zcat x.pcap.gz)``, a FIFO, a
    device): a report reads each input more than once (what it is, its records, its
    hash), and a pipe's second reader finds it empty. ``-`` is read once, for that."""
    if path == "-":
        return
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return  # said by the first reader, as any unreadable input is
    if stat.S_ISDIR(mode):
        return  # said by the first reader too (frames.open_problem), as scan says it
    if not stat.S_ISREG(mode):
        raise ReportError(
            f"{path}: not a regular file (a pipe?); a report reads each input more than "
            "once: save it to a file, or give it as - (standard input)"
        )


def _reflector_log(path: str) -> bool:
    """Whether record file ``path`` is a reflector's own log: its first line is a
    record ``reflect`` wrote (:func:`capture.formats.jsonl.is_reflector_record`)."""
    if path == "-":
        return False  # a pipe is read once, by the input's reader
    with open(path, "rb") as stream:
        while line := stream.readline(MAX_PROBE_LINE):
            if line.strip():
                try:
                    return is_reflector_record(orjson.loads(line))
                except orjson.JSONDecodeError:
                    return False
    return False


def _probe_lines(path: str) -> list[dict[str, Any]] | None:
    """The objects of a ``probe --format jsonl`` file, or None when it is not one
    (decided by its first non-blank line)."""
    if path == "-":
        return None
    objects: list[dict[str, Any]] = []
    try:
        stream = open(path, "rb")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise ReportError(f"{path}: {open_problem(exc)}") from None  # as scan says it
    with stream:
        for number, line in enumerate(stream, 1):
            if not line.strip():
                continue
            if len(line) > MAX_PROBE_LINE:
                raise ReportError(f"{path}: line {number} is longer than 16 MiB")
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError:
                if not objects:
                    return None
                raise ReportError(f"{path}: line {number} is not JSON") from None
            if not is_probe_result(obj):
                if not objects:
                    return None
                raise ReportError(f"{path}: line {number} is not a probe result")
            objects.append(obj)
    return objects or None


@dataclass
class Read:
    """Everything read from the inputs."""

    records: list[Record] = field(default_factory=list)
    probes: list[dict[str, Any]] = field(default_factory=list)
    inputs: list[InputInfo] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)
    skipped: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    made: list[str] = field(default_factory=list)
    """Of :attr:`notes`, those that say how a headerwatch session among the inputs was
    made: facts for the report's Context, where the others are warnings."""
    frames: dict[int, tuple[str, int]] = field(default_factory=dict)
    received: set[int] = field(default_factory=set)
    """Ids of the records read from a reflector's own log: requests as it received them."""
    study: bool = False
    """Every record is kept (a study judges each); else only those a report shows."""
    noted: Counter[str] = field(default_factory=Counter)
    """Requests counted in each row their records' anomalies (or bodies) call for
    (:func:`~capture.report.model.noted_by`, ``build_report``)."""
    requests: int = 0
    first_ts: float | None = None
    last_ts: float | None = None
    responses: bool = True
    """``counters`` are of a pipeline that read the servers' bytes (the dashboard's);
    :func:`read_inputs` reads requests only."""
    backfill: Backfill | None = None
    """Gives a recurring token's finding to the requests that took it to its first
    sites, as the dashboard does (:mod:`capture.view.recurring`); None: the detector
    finds no recurrence, or the records have it already (the dashboard's)."""
    earlier: dict[int, tuple[Record, str | None]] = field(default_factory=dict)
    """Requests not kept (nothing to show yet) that :attr:`backfill` may give a finding,
    with the record file each came from; pruned to those it remembers, so bounded as
    it is."""
    prune_at: int = EARLIER_SLACK
    """The size of :attr:`earlier` at which it is pruned next."""
    kept: dict[int, int] = field(default_factory=dict)
    """Record id → its index in :attr:`records`, for the backfill's findings (kept
    only with :attr:`backfill`)."""
    out_of_order: bool = False
    """A record the backfill gave a finding was kept after later ones (:meth:`done`)."""
    let_go: int = 0
    """Requests the backfill named that were no longer held (let go past
    :data:`MAX_EARLIER_HELD`): they did not get the finding, and the Context says so."""

    def add(self, record: Record, source: str | None = None) -> None:
        """Count ``record``, and keep it if the report will show it. ``source``: the
        record file it was read from, for the appendix (None: a capture, whose frames
        are numbered later, or the dashboard's records)."""
        req = record.request
        ts = req.ts
        self.requests += 1
        if req.anomalies or (req.body_length and not req.body):
            self.noted.update(noted_by(req))
        self.first_ts = ts if self.first_ts is None else min(self.first_ts, ts)
        self.last_ts = ts if self.last_ts is None else max(self.last_ts, ts)
        backfill = self.backfill
        if backfill is not None:
            for rid, findings in backfill.take((record,)).items():
                self._fill(rid, findings)
        moved = record.transit
        if self.study or record.identities or (moved is not None and moved.altered):
            self._keep(record, source)
        elif backfill is not None:
            earlier = self.earlier
            earlier[record.id] = (record, source)
            if len(earlier) >= MAX_EARLIER_HELD + EARLIER_SLACK:
                # At the cap: the oldest go first (ids come in order: a token's first
                # sites are the requests least likely to be named now), without asking
                # the backfill what it remembers, which may be far more.
                for rid in list(earlier)[: len(earlier) - MAX_EARLIER_HELD]:
                    del earlier[rid]
            elif len(earlier) >= self.prune_at:
                remembered = backfill.remembered()
                self.earlier = {rid: held for rid, held in earlier.items() if rid in remembered}
                # Amortized: as many requests come before the next pruning as it costs.
                self.prune_at = len(self.earlier) + max(EARLIER_SLACK, len(remembered))

    def _keep(self, record: Record, source: str | None) -> None:
        if self.backfill is not None:
            self.kept[record.id] = len(self.records)
        self.records.append(record)
        if source is not None and record.identities:
            # Its input, for the appendix; records have no frame to number.
            self.frames[record.id] = (source, 0)

    def _fill(self, rid: int, findings: tuple[Finding, ...]) -> None:
        """Give ``findings`` (a recurring token's) to earlier record ``rid``."""
        at = self.kept.get(rid)
        if at is not None:
            record = self.records[at]
            self.records[at] = replace(record, findings=record.findings + findings)
            return
        held = self.earlier.pop(rid, None)
        if held is None:
            # Named by the backfill, so remembered at every pruning: let go at the cap.
            self.let_go += 1
            return
        record, source = held
        self.out_of_order = True
        self._keep(replace(record, findings=record.findings + findings), source)

    def done(self) -> None:
        """Everything is read: the records in capture order, what the backfill left
        out said."""
        if self.out_of_order:
            self.records.sort(key=lambda r: r.id)
            self.kept = {r.id: at for at, r in enumerate(self.records)}
            self.out_of_order = False
        self.earlier.clear()
        lost = (self.backfill.cut if self.backfill is not None else 0) + self.let_go
        if lost:
            self.notes.append(
                f"{counted(lost, 'earlier request')} that took a recurring token "
                "to its first sites did not get its finding (more than the report remembers)"
            )


def read_inputs(paths: Sequence[str], detector: Detector | None, study: bool | None = None) -> Read:
    """Read every input: captures and record files through the pipeline (with the
    echoes: transits come with the records), probe results as they are. Raises
    :class:`NothingRead` when nothing of its kind could be read in an input.

    ``study``: whether the report is a study (None: when any input is probe results).
    A study judges every request; a report keeps only the records it shows (those
    with an identity or altered in transit) and counts the others, so memory follows
    the findings, not the size of the capture."""
    try:
        refuse_repeats(paths)
    except CaptureError as exc:
        raise ReportError(str(exc)) from None
    for path in paths:
        _refuse_a_stream(path)
    read = Read()
    probes: dict[str, list[dict[str, Any]]] = {}
    for path in paths:
        try:
            found = _probe_lines(path)
        except OSError as exc:
            raise ReportError(f"{path}: cannot read ({exc.strerror or exc})") from None
        if found is not None:
            probes[path] = found
    read.study = bool(probes) if study is None else study
    if getattr(detector, "counts_recurrence", False):
        from capture.view.recurring import Backfill  # only with the recurrence detector

        read.backfill = Backfill.for_detector(detector)
    # The report is written once all is read: a request waits for its reflector's echo
    # however late it comes, as a file scan's does.
    pipeline = Pipeline(detector, responses=False, echo_wait=None)
    several = len([path for path in paths if path not in probes]) > 1
    captures: list[str] = []
    unread: list[str] = []
    region = detector.region if isinstance(detector, IdentityDetector) else None
    for path in paths:
        if path in probes:
            read.probes += probes[path]
            read.inputs.append(describe_input(path, "headerwatch probe results", False))
            continue
        try:
            source = open_input(path)
        except CaptureError as exc:
            raise ReportError(str(exc)) from None
        if several:
            pipeline.begin(path)  # each record says which input it is in (anchor_frames)
        received = not isinstance(source, CaptureFile) and _reflector_log(path)
        try:
            if isinstance(source, CaptureFile):
                captures.append(path)
                events: Iterable[object] = pipeline.run_capture(source)
            else:
                events = (e for parsed in source.requests() for e in pipeline.feed_request(parsed))
            named = None if isinstance(source, CaptureFile) else path
            for event in events:
                if isinstance(event, RequestSeen):
                    read.add(event.record, named)
                    if received:
                        read.received.add(event.record.id)
        finally:
            source.close()
        error = unreadable(source)
        if error is not None:
            unread.append(error)  # said once the others are read, as scan says it
            continue
        read.notes += after_reading(source)
        read.inputs.append(
            describe_input(
                path,
                _kind_of(source),
                isinstance(source, CaptureFile),
                _how_cut(source),
            )
        )
        made = _how_made(path, region)
        if made:
            read.notes.append(made)
            read.made.append(made)
    if unread:
        raise NothingRead(unread, [n for n in read.notes if n not in read.made])
    for event in pipeline.flush():
        if isinstance(event, RequestSeen):
            read.add(event.record)
    read.done()
    read.counters = pipeline.counters()
    read.responses = pipeline.responses
    read.skipped = pipeline.decoder.skipped
    if captures:
        # Only the captures' records: one of a record file may have the same key.
        from_captures = [r for r in read.records if r.id not in read.frames]
        read.frames.update(anchor_frames(captures, from_captures))
    return read


def anchor_frames(paths: Sequence[str], records: Sequence[Record]) -> dict[int, tuple[str, int]]:
    """Record id → (capture, 1-based number of its anchor frame) for the records
    that carry an identity: the frame a reader opens in Wireshark. A record that
    names its input (one of several: :attr:`Request.input`) is looked for in that
    capture only, so the same traffic in two captures is found in each."""
    # The key the session writer places comments by: first frame of the request's bytes.
    wanted = {
        (
            r.request.input,
            r.request.ts,
            r.request.src,
            r.request.sport,
            r.request.dst,
            r.request.dport,
        ): r.id
        for r in records
        if r.identities
    }
    stamps = {key[1] for key in wanted}
    found: dict[int, tuple[str, int]] = {}
    for path in paths:
        if not wanted:
            break
        decoder = Decoder()
        try:
            capture = CaptureFile(path)
        except CaptureError:
            continue
        try:
            for ts, linktype, data, _ in capture:
                # Wireshark's number: the records read, which count the pcapng blocks
                # it numbers as frames too (PCAPdroid's UID map), not the frames alone.
                number = capture.records
                if ts not in stamps:
                    continue  # most frames: no decoding for them
                seg = decoder.decode(ts, linktype, data)
                if seg is None or not seg.payload:
                    continue
                key = (seg.ts, _address(seg.src), seg.sport, _address(seg.dst), seg.dport)
                rid = wanted.pop((path, *key), None) or wanted.pop(("", *key), None)
                if rid is not None:
                    found[rid] = (path, number)
        finally:
            capture.close()
    return found


def _address(packed: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET if len(packed) == 4 else socket.AF_INET6, packed)


def make_report(
    read: Read,
    redact: bool = True,
    label: str = "",
    now: float | None = None,
    detector: Detector | None = None,
) -> tuple[Report, Study | None]:
    """The report (and, when ``read.study``, the study) of what was read; ``detector``:
    the one that read it (redacted, what it counts as a token is masked too:
    :meth:`Redactor.new`)."""
    redactor = Redactor.new(detector) if redact else None
    common: dict[str, Any] = {
        "inputs": read.inputs,
        "counters": read.counters,
        "skipped": read.skipped,
        "redactor": redactor,
        "catalog": load_catalog(),
        "frames": read.frames,
        "created": time.time() if now is None else now,
        "version": tool_version(),
        "catalog_version": catalog_version(detector),
        "notes": read.notes,
        "noted": read.noted,
        "received": read.received,
        "responses": read.responses,
        # Any detector but headerwatch's own (a test's) does not say which ran.
        "ran": getattr(detector, "detectors", None),
        # Nor in which region it read national numbers; and a study of probe results
        # alone read none (each probe's findings are as it recorded them).
        "region": (
            detector.region
            if isinstance(detector, IdentityDetector) and (read.records or not read.probes)
            else ""
        ),
    }
    if not read.study:
        # Records the report does not show were counted, not kept: the lead counts them.
        span = (read.requests, read.first_ts, read.last_ts)
        return build_report(read.records, span=span, **common), None
    tests: list[Test] = [probe_test(p, redactor) for p in read.probes]
    tests += [record_test(r, redactor, label, r.id in read.received) for r in read.records]
    result = build_study(tests)
    report = build_report((), title="headerwatch study: identity injection per network", **common)
    stamps = [t.ts for t in tests]
    return (
        replace(
            report,
            lead=result.summary,
            # Each test is one request, but a probe that failed (refused, not answered)
            # may have made none: the context counts the others; the study, every test.
            first_ts=min(stamps, default=None),
            last_ts=max(stamps, default=None),
            requests=len(tests) - sum("error" in p for p in read.probes),
            # The tests whose request carried an identity, whoever put it there (the
            # verdicts say who did, where it is known).
            identity_requests=sum(1 for t in tests if t.identities),
        ),
        result,
    )


def report_records(
    records: Sequence[Record],
    path: str,
    fmt: str,
    *,
    sources: Sequence[str] = (),
    source_name: str = "",
    counters: dict[str, int] | None = None,
    redact: bool = True,
    detector: Detector | None = None,
    notes: Sequence[str] = (),
) -> str:
    """Write the report of records a consumer already holds (the dashboard's); the
    capture files they came from (``sources``) give the hashes and frame numbers, and
    ``detector`` found what they hold. ``notes``: more a reader must know (that the
    records are a selection). Returns what to tell the user; raises
    :class:`ReportError`."""
    read = Read(counters=dict(counters or {}))
    for record in records:
        read.add(record)
    try:
        read.inputs = [_describe_source(p) for p in sources]
    except OSError as exc:
        raise ReportError(f"cannot read a source of the session ({exc})") from None
    if source_name:
        read.notes.append(f"captured by the dashboard from: {source_name}")
    read.notes.extend(notes)
    read.frames = anchor_frames(sources, read.records)
    report, _ = make_report(read, redact=redact, detector=detector)
    write_report(render(report, None, fmt), path)
    return (
        f"wrote the evidence report of {counted(read.requests, 'request')} "
        f"({fmt.upper()}, {report.values}) to {path}"
    )


def render(report: Report, study: Study | None, fmt: str) -> str:
    """The report as text in ``fmt``."""
    if fmt == "html":
        return html.render(report, study)
    return markdown.render(report, study)


def write_report(text: str, path: str) -> None:
    """Write ``text`` to ``path`` whole, private (0600). Raises :class:`ReportError`."""
    try:
        with (
            atomic_output(path) as temp,
            open_private(temp, "x", encoding="utf-8", newline="\n") as out,
        ):
            out.write(text)
    except OSError as exc:
        reason = describe_os_error(exc)
        raise ReportError(f"{path}: {reason}; no report written") from None
    except (ValueError, UnicodeEncodeError) as exc:
        raise ReportError(f"{path}: cannot write the report: {exc}") from None
