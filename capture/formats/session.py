"""Session files: a pcapng that Wireshark opens and headerwatch reopens as it was.

A session is the capture itself plus what headerwatch and the user added:

* the section header's comment holds :class:`SessionInfo` as JSON (tool version,
  source, creation time, filter, region; canary values only as SHA-256 digests);
* each annotated request's *anchor* frame carries packet comments (Wireshark's
  ``frame.comment``): ``headerwatch:finding msisdn x-up-calling-line-id=+447700900123
  (catalog, high)``, ``headerwatch:comment <text>``, ``headerwatch:mark``,
  ``headerwatch:injected <names>``, and in a session of the shown requests only
  ``headerwatch:shown`` on each of them (the file holds their whole connections;
  reopening shows exactly those, see :attr:`RestoreResult.shown`).

The anchor of a request is the first frame carrying its bytes: the first frame
with payload whose time equals ``Request.ts`` and whose addresses and ports are
the request's (the pipeline stamps a request with exactly that frame's time).
When several requests start in one frame (pipelining), each tag names the
request's position on its connection: ``headerwatch:mark@2``.

Reopening runs the file through the normal pipeline (same records: findings are
recomputed, not read back) and then :func:`restore` puts marks, comments and
injected-header notes back onto the store's entries.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import socket
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from capture.formats.atomic import atomic_output
from capture.formats.pcapng import (
    CaptureWriteError,
    PcapngWriter,
    describe_errno,
    describe_os_error,
    read_section_header,
)
from capture.model import Finding, Record
from capture.net.decode import Decoder, Segment
from capture.sources.frames import CaptureError, CaptureFile
from capture.text import for_json
from capture.version import catalog_version, tool_version
from capture.view.store import Entry, Store

if TYPE_CHECKING:
    from capture.pipeline import Detector

PREFIX = "headerwatch:"
_PREFIX_B = PREFIX.encode()
SESSION_FORMAT = 1
"""Version of the session layout (SHB JSON and comment tags)."""

# (ts, src, sport, dst, dport) of a request, as the pipeline reports it.
AnchorKey = tuple[float, str, int, str, int]
_Conn = tuple[str, int, str, int]


class SessionError(Exception):
    """Saving or reading a session failed; ``str()`` is one line for the user."""


def canary_digest(value: str) -> str:
    """SHA-256 (hex) of a canary value: what a session may store instead of the value."""
    return hashlib.sha256(value.encode("utf-8", "surrogateescape")).hexdigest()


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """Session metadata, stored as JSON in the section header comment."""

    source: str = ""
    """Where the traffic came from: an interface, file names, ``demo``."""
    created: str = ""
    """ISO 8601 UTC time the session was written."""
    filter: str = ""
    """The view filter when it was saved ("" when everything was saved)."""
    region: str = ""
    """The ``--region`` used for national phone numbers. Read back, as written: a
    value that is not a string (metadata edited by hand: ``44``, ``null``) is kept as
    its JSON text, to be said to be no region code, not taken for no region."""
    canary_sha256: tuple[str, ...] = ()
    """Digests of the canary values (never the values: the file gets shared)."""
    shown: int = 0
    """A session of the shown requests only: how many were shown (each tagged
    ``headerwatch:shown``); 0 when everything in the file was."""
    stopped: str = ""
    """An error stopped the live capture before it was asked to: from when, and why
    (``capture stopped at 2026-12-05T16:40:46Z: the capture thread failed (…); nothing
    after it was recorded``); "" when none did."""
    version: str = field(default_factory=tool_version)
    """headerwatch version that wrote it."""
    catalog: str = ""
    """The identity catalog its findings were made with, as ``headerwatch --version``
    names it (:func:`~capture.version.catalog_version`); "" when not known."""

    @classmethod
    def new(
        cls,
        source: str = "",
        filter: str = "",
        region: str = "",
        canaries: Iterable[str] = (),
        now: float | None = None,
        catalog: str = "",
    ) -> SessionInfo:
        """Metadata for a session written now; canary values are hashed here."""
        when = datetime.fromtimestamp(time.time() if now is None else now, UTC)
        return cls(
            source=source,
            created=when.isoformat(timespec="seconds").replace("+00:00", "Z"),
            filter=filter,
            region=region or "",
            canary_sha256=tuple(canary_digest(c) for c in canaries),
            catalog=catalog,
        )

    @classmethod
    def judged_by(
        cls,
        detector: Detector | None,
        source: str = "",
        filter: str = "",
        now: float | None = None,
    ) -> SessionInfo:
        """Metadata for a file whose findings ``detector`` made, citing what judged
        them: its region (``--region``, the config's or the locale's), its catalog
        (:func:`~capture.version.catalog_version`) and its canaries, each as the
        SHA-256 of its canonical value (:attr:`IdentityDetector.canary_values
        <capture.identity.detector.IdentityDetector.canary_values>`: a canary typed
        two ways is one digest, the one its findings' packet comments begin), sorted.
        Every writer of a session builds its metadata here, so that none cites less.
        Without a detector: none of them."""
        from capture.identity.detector import IdentityDetector

        identity = detector if isinstance(detector, IdentityDetector) else None
        info = cls.new(
            source=source,
            filter=filter,
            region=(identity.region if identity is not None else None) or "",
            canaries=identity.canary_values if identity is not None else (),
            now=now,
            catalog=catalog_version(detector) if detector is not None else "",
        )
        # Sorted: the same canaries given in another order cite the same, and the
        # order says nothing of which was given first.
        return dataclasses.replace(info, canary_sha256=tuple(sorted(info.canary_sha256)))

    def to_comment(self) -> str:
        """The JSON text for the section header comment."""
        body: dict[str, Any] = {
            "format": SESSION_FORMAT,
            "version": self.version,
            "source": for_json(self.source),
            "created": self.created,
            "filter": for_json(self.filter),
            "region": self.region,
            "canary_sha256": list(self.canary_sha256),
        }
        if self.catalog:
            body["catalog"] = for_json(self.catalog)
        if self.shown:
            body["shown"] = self.shown
        if self.stopped:
            body["stopped"] = for_json(self.stopped)
        return json.dumps({"headerwatch": body}, ensure_ascii=False)

    @classmethod
    def from_comment(cls, text: str) -> SessionInfo | None:
        """Parse :meth:`to_comment` output; None for any other comment."""
        try:
            data = json.loads(text)
        except ValueError:
            return None
        body = data.get("headerwatch") if isinstance(data, dict) else None
        if not isinstance(body, dict):
            return None

        def text_of(key: str) -> str:
            value = body.get(key, "")
            return value if isinstance(value, str) else ""

        digests = body.get("canary_sha256", [])
        shown = body.get("shown", 0)
        region = body.get("region", "")
        return cls(
            source=text_of("source"),
            created=text_of("created"),
            filter=text_of("filter"),
            # Not text_of: a region passed over in silence reads the numbers in another.
            region=region if isinstance(region, str) else json.dumps(region),
            canary_sha256=tuple(d for d in digests if isinstance(d, str))
            if isinstance(digests, list)
            else (),
            version=text_of("version"),
            catalog=text_of("catalog"),
            shown=shown if isinstance(shown, int) and shown > 0 else 0,
            stopped=text_of("stopped"),
        )


def read_session_info(path: str) -> SessionInfo | None:
    """The metadata of a session file; None for a capture headerwatch did not write."""
    try:
        header = read_section_header(path)
    except OSError as exc:
        raise SessionError(f"{path}: cannot read ({describe_errno(exc.errno, 'error')})") from None
    if header is None:
        return None
    for comment in header.comments:
        info = SessionInfo.from_comment(comment)
        if info is not None:
            return info
    return None


# --- comments -------------------------------------------------------------------


def finding_comment(finding: Finding) -> str:
    """``headerwatch:finding msisdn x-up-calling-line-id=+447700900123 (catalog, high)``.

    Canary values are written as a digest prefix: session files get shared.
    """
    where = "" if finding.where == "header" else f"{finding.where}:"
    if finding.kind == "canary":
        value = f"sha256:{canary_digest(finding.normalized or finding.value)[:16]}"
    else:
        value = finding.normalized or finding.value
    return (
        f"{PREFIX}finding {finding.kind} {where}{finding.name}={value} "
        f"({finding.detector}, {finding.severity})"
    )


def entry_comments(entry: Entry, position: int | None = None, shown: bool = False) -> list[str]:
    """The packet comments that describe one entry (empty when there is nothing to say).

    ``position`` (the request's depth on its connection) is added to every tag
    when the anchor frame carries more than one request. ``shown``: the entry is
    one of the shown requests of a session saved with those only.
    """
    at = "" if position is None else f"@{position}"
    out = []
    for finding in entry.record.findings:
        text = finding_comment(finding)
        out.append(text.replace(" ", f"{at} ", 1) if at else text)
    if entry.injected:
        out.append(f"{PREFIX}injected{at} {', '.join(entry.injected)}")
    if entry.marked:
        out.append(f"{PREFIX}mark{at}")
    if entry.comment:
        out.append(f"{PREFIX}comment{at} {entry.comment}")
    if shown:
        out.append(f"{PREFIX}shown{at}")
    return out


@dataclass(frozen=True, slots=True)
class Tag:
    """One headerwatch packet comment, parsed."""

    kind: str
    """``finding``, ``comment``, ``mark``, ``injected`` (or a later addition)."""
    position: int | None
    """The ``@N`` request position; None when the frame anchors one request."""
    text: str
    """What follows the tag (the comment text, the finding summary)."""
    target: str | None = None
    """The request target (``uri``) of the request it belongs to, where a record says
    it (a session of records, a HAR): records without a client address or port (a
    HAR's) can share the anchor and depth of another request, and the target tells
    them apart. None: any request at the anchor and position (a frame's)."""


def parse_tag(comment: bytes | str) -> Tag | None:
    """A :class:`Tag` for a ``headerwatch:`` comment, None for any other comment."""
    text = comment.decode("utf-8", "replace") if isinstance(comment, bytes) else comment
    if not text.startswith(PREFIX):
        return None
    head, _, rest = text[len(PREFIX) :].partition(" ")
    kind, _, position = head.partition("@")
    if not kind or (position and not (position.isascii() and position.isdigit())):
        return None
    if len(position) > 18:
        return None  # no packet of a capture is that far in (int() refuses 4,301 digits)
    return Tag(kind, int(position) if position else None, rest)


def _anchor_key(record: Record) -> AnchorKey:
    req = record.request
    return (req.ts, req.src, req.sport, req.dst, req.dport)


def _conn(src: str, sport: int, dst: str, dport: int) -> _Conn:
    """A connection's 4-tuple with the endpoints in a fixed order (either direction)."""
    if (src, sport) <= (dst, dport):
        return (src, sport, dst, dport)
    return (dst, dport, src, sport)


class _Addresses:
    """Packed addresses as text (``inet_ntop``), cached: a capture has few hosts."""

    def __init__(self) -> None:
        self._cache: dict[bytes, str] = {}

    def text(self, packed: bytes) -> str:
        text = self._cache.get(packed)
        if text is None:
            family = socket.AF_INET if len(packed) == 4 else socket.AF_INET6
            text = socket.inet_ntop(family, packed)
            if len(self._cache) < 65536:
                self._cache[packed] = text
        return text

    def key(self, seg: Segment) -> AnchorKey:
        """The anchor key of the request that would start in this segment."""
        return (seg.ts, self.text(seg.src), seg.sport, self.text(seg.dst), seg.dport)

    def conn(self, seg: Segment) -> _Conn:
        """The segment's connection, either direction."""
        return _conn(self.text(seg.src), seg.sport, self.text(seg.dst), seg.dport)


# --- saving ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SaveResult:
    """What :func:`save_session` wrote."""

    path: str
    frames: int
    annotated: int
    """Requests whose findings, marks or comments were written."""
    unplaced: int
    """Annotated requests kept in the file whose first frame was not found (their
    notes are missing from the file); 0 unless the sources changed since loading."""
    marked: int = 0
    """Requests in the file marked by the user."""
    commented: int = 0
    """Requests in the file with the user's comment."""


def save_session(
    out_path: str,
    sources: Sequence[str],
    entries: Iterable[Entry],
    only: Collection[int] | None = None,
    info: SessionInfo | None = None,
) -> SaveResult:
    """Write a session: the frames of ``sources`` with the entries' annotations.

    ``sources`` are the capture files the entries were read from, in the order
    they went through the pipeline (for a live capture, the ``-w`` recording:
    flush its writer first). With ``only`` (record ids, e.g. the filtered
    view), just the frames of those records' TCP connections are kept; any
    other request on those connections comes along, annotations included (the
    packets are the evidence: cutting a request out of a keep-alive connection
    would leave a hole that reads back as a capture gap). Each of ``only`` is
    tagged ``headerwatch:shown`` and ``info.shown`` says how many, so that
    reopening shows exactly those.
    The file is replaced atomically: on failure it is left as it was and
    :class:`SessionError` says why in one line.
    """
    if isinstance(sources, str):
        sources = [sources]
    pending: dict[AnchorKey, list[Entry]] = {}
    keep: set[_Conn] | None = None if only is None else set()
    wanted = None if only is None else set(only)
    shown = 0
    for entry in entries:
        req = entry.record.request
        chosen = wanted is not None and entry.record.id in wanted
        if keep is not None and chosen:
            keep.add(_conn(req.src, req.sport, req.dst, req.dport))
            shown += 1
        if chosen or entry.record.findings or entry.marked or entry.comment or entry.injected:
            pending.setdefault(_anchor_key(entry.record), []).append(entry)
    captures = _open_all(sources)
    info = info if info is not None else SessionInfo.new(source=", ".join(sources))
    if wanted is not None:
        info = dataclasses.replace(info, shown=shown)
    decoder = Decoder()
    addresses = _Addresses()
    frames = annotated = marked = commented = 0
    try:
        with atomic_output(out_path) as temp, PcapngWriter(temp, info.to_comment()) as writer:
            for capture in captures:
                for frame in capture:
                    fragments = decoder.fragments.counters["ip_fragments"]
                    seg = decoder.decode(frame.ts, frame.linktype, frame.data)
                    # IP fragments are all kept: whose a later fragment is shows only
                    # once its datagram is whole, and without it the request is lost.
                    if (
                        keep is not None
                        and decoder.fragments.counters["ip_fragments"] == fragments
                        and (seg is None or addresses.conn(seg) not in keep)
                    ):
                        continue
                    # Our old tags are replaced by the current state; other tools'
                    # comments stay.
                    comments: list[str | bytes] = [
                        c for c in frame.comments if not c.startswith(_PREFIX_B)
                    ]
                    if seg is not None and seg.payload and pending:
                        anchored = pending.pop(addresses.key(seg), None)
                        if anchored:
                            comments += _anchor_comments(anchored, wanted)
                            annotated += sum(1 for e in anchored if _annotated(e))
                            marked += sum(1 for e in anchored if e.marked)
                            commented += sum(1 for e in anchored if e.comment)
                    writer.write(frame._replace(comments=()), comments)
                    frames += 1
    except CaptureWriteError as exc:
        raise SessionError(f"{out_path}: {exc.reason}; session not saved") from None
    except OSError as exc:
        reason = describe_os_error(exc)
        raise SessionError(f"{out_path}: {reason}; session not saved") from None
    finally:
        for capture in captures:
            capture.close()
    unplaced = sum(
        sum(1 for e in group if _annotated(e))
        for key, group in pending.items()
        if keep is None or _conn(key[1], key[2], key[3], key[4]) in keep
    )
    return SaveResult(out_path, frames, annotated, unplaced, marked, commented)


def _annotated(entry: Entry) -> bool:
    return bool(entry.record.findings or entry.marked or entry.comment or entry.injected)


def requests_kept(entries: Iterable[Entry], only: Collection[int]) -> int:
    """How many of ``entries`` a session saved with ``only`` holds: a session keeps
    the whole TCP connection of each chosen request (cutting one request out of a
    keep-alive connection would leave a hole that reads back as a capture gap), so
    the other requests on those connections come along."""
    wanted = set(only)
    return count_kept(entries, lambda e: e.record.id in wanted)[1]


def count_kept(entries: Iterable[Entry], chosen: Callable[[Entry], bool]) -> tuple[int, int]:
    """``(chosen, kept)``: how many of ``entries`` ``chosen`` accepts, and how many a
    session of those holds with their connections (see :func:`requests_kept`).

    One pass, keeping a count per connection rather than the entries: the store may
    be large and partly on disk (the dashboard runs this in a worker thread).
    """
    per_conn: dict[_Conn, int] = {}
    conns: set[_Conn] = set()
    shown = 0
    for entry in entries:
        req = entry.record.request
        conn = _conn(req.src, req.sport, req.dst, req.dport)
        per_conn[conn] = per_conn.get(conn, 0) + 1
        if chosen(entry):
            shown += 1
            conns.add(conn)
    return shown, sum(per_conn[c] for c in conns)


def _open_all(sources: Sequence[str]) -> list[CaptureFile]:
    captures: list[CaptureFile] = []
    try:
        for path in sources:
            captures.append(CaptureFile(path))
    except CaptureError as exc:
        for capture in captures:
            capture.close()
        raise SessionError(f"{exc}; session not saved") from None
    return captures


def _anchor_comments(group: list[Entry], shown: Collection[int] | None) -> list[str]:
    def is_shown(entry: Entry) -> bool:
        return shown is not None and entry.record.id in shown

    if len(group) == 1:
        return entry_comments(group[0], shown=is_shown(group[0]))
    out: list[str] = []
    for entry in sorted(group, key=lambda e: e.record.request.depth):
        out += entry_comments(entry, entry.record.request.depth, is_shown(entry))
    return out


# --- restoring ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RestoreResult:
    """What :func:`restore` put back."""

    info: SessionInfo | None
    """Metadata of the (first) session file; None when no file was a session."""
    marked: int
    commented: int
    injected: int
    unmatched: int
    """Annotated frames no entry claimed (records evicted from the store, or a
    file edited since)."""
    shown: frozenset[int] | None = None
    """A session of the shown requests only (:attr:`SessionInfo.shown`): the ids
    of the entries that were shown, for the view to show those alone; None for a
    session of everything."""


class SessionAnnotations:
    """The headerwatch tags of session files, by the input and the request they belong to.

    Reading (:func:`load_annotations`) is the slow part and touches no store, so
    it can run in a worker thread; :meth:`apply` then updates the store (in the
    thread that owns it) in one pass over its entries.
    """

    def __init__(
        self, info: SessionInfo | None, tags: dict[str, dict[AnchorKey, list[Tag]]]
    ) -> None:
        self.info = info
        self.tags = tags
        """Per input path, its tags by anchor: opened beside the capture it was saved
        from (``open lab.pcap session.pcapng``), a session holds the same connections
        as that capture, and its notes belong to its own copy of each request."""

    def __len__(self) -> int:
        return sum(len(found) for found in self.tags.values())

    def _tables_of(self, record: Record) -> list[dict[AnchorKey, list[Tag]]]:
        """The tag tables that may hold ``record``'s notes: its input's (records of
        several inputs name theirs, :attr:`capture.model.Request.input`), else every
        input's (one input, whose records name none; or a record naming an input of
        its own, read from a session of records)."""
        own = self.tags.get(record.request.input)
        return [own] if own is not None else list(self.tags.values())

    def apply(self, store: Store) -> RestoreResult:
        """Put marks, comments and injected-header notes back onto ``store``'s entries."""
        marked = commented = injected = 0
        shown: set[int] = set()
        claimed: set[tuple[int, AnchorKey]] = set()
        used: set[int] = set()  # each tag is one request's: given once
        if len(self):
            for entry in store:
                key = _anchor_key(entry.record)
                depth = entry.record.request.depth
                for tags in self._tables_of(entry.record):
                    found = tags.get(key)
                    if found is None:
                        continue
                    first = (id(tags), key) not in claimed
                    claimed.add((id(tags), key))
                    for tag in found:
                        # Untagged: the frame's first request. Tagged: the one at that depth.
                        if tag.position is None:
                            if not first:
                                continue
                        elif tag.position != depth:
                            continue
                        if id(tag) in used or (
                            tag.target is not None and tag.target != entry.record.request.uri
                        ):
                            continue
                        used.add(id(tag))
                        # Through the store: a spilled entry is a copy, written back.
                        if tag.kind == "mark":
                            store.mark(entry.id)
                            marked += 1
                        elif tag.kind == "comment":
                            store.set_comment(entry.id, tag.text)
                            commented += 1
                        elif tag.kind == "shown":
                            shown.add(entry.id)
                        elif tag.kind == "injected":
                            # A note for Wireshark: what was injected comes back from
                            # the reflector's echo in the saved response itself.
                            injected += 1
        only = frozenset(shown) if self.info is not None and self.info.shown else None
        return RestoreResult(self.info, marked, commented, injected, len(self) - len(claimed), only)


def load_annotations(paths: Sequence[str]) -> SessionAnnotations:
    """Read the headerwatch tags of ``paths`` (captures that are not sessions are skipped)."""
    if isinstance(paths, str):
        paths = [paths]
    info: SessionInfo | None = None
    by_input: dict[str, dict[AnchorKey, list[Tag]]] = {}
    decoder = Decoder()
    addresses = _Addresses()
    for path in paths:
        # Every input has a table, empty for a plain capture: its records take no
        # notes from a session opened beside it.
        tags = by_input.setdefault(path, {})
        this = read_session_info(path)
        if this is None:
            # A session of records (a proxy's, capture/formats/record_session.py)?
            from capture.formats.record_session import load_record_annotations

            this, found = load_record_annotations(path)
            if this is None:
                # Or a HAR headerwatch exported (its _marked and _comment).
                from capture.formats.har import load_har_annotations

                this, found = load_har_annotations(path)
            info = info or this
            for key, more in found.items():
                tags.setdefault(key, []).extend(more)
            continue  # else not written by headerwatch: no tags to find
        info = info or this
        try:
            capture = CaptureFile(path)
        except CaptureError as exc:
            raise SessionError(str(exc)) from None
        for frame in capture:
            if not frame.comments:
                data = frame.data
                if not (
                    frame.linktype == 1
                    and data[12:14] == b"\x08\x00"
                    and len(data) > 21
                    and not (data[20] & 0x3F or data[21])
                ):
                    # Not the common untagged frame (Ethernet, IPv4, not a fragment):
                    # it may be an IP fragment of a datagram a tagged frame completes.
                    decoder.decode(frame.ts, frame.linktype, data)
                continue
            parsed = [t for t in map(parse_tag, frame.comments) if t is not None]
            if not parsed:
                continue
            seg = decoder.decode(frame.ts, frame.linktype, frame.data)
            if seg is None:
                continue
            tags.setdefault(addresses.key(seg), []).extend(parsed)
    return SessionAnnotations(info, by_input)


def restore(store: Store, paths: Sequence[str]) -> RestoreResult:
    """Marks, comments and injected-header notes of session files, back onto ``store``.

    ``store`` holds the records of ``paths`` run through the pipeline. Both
    steps in one call; see :class:`SessionAnnotations` to split them.
    """
    return load_annotations(paths).apply(store)
