"""HAR 1.2 export (http://www.softwareishard.com/blog/har-12-spec/).

Headers are ordered ``[{name, value}]`` lists with duplicates kept, as sent.
Fields HAR has no place for start with ``_`` (the spec's rule for custom
fields, and mitmproxy's habit): ``_identityFindings`` (the JSONL ``findings``
objects), ``_anomalies``, ``_flow``, ``_depth``, ``_id``, ``_target``, ``_version``,
``_authority``, ``_marked``, ``_comment``, ``_injected``, ``_echoSigned`` (the
reflector's echo was signed with the echo key), ``_app``, ``_input``, ``_source``; on
``log.creator``, what judged the findings (:func:`creator`).
What the capture does not have is reported as the spec says (``-1`` sizes;
status 0 when no response was seen).

Control, bidi and invisible characters are written as ``\\uXXXX``
(:func:`capture.text.escape_json`).

Accepts store entries or bare records (``scan --format har`` has no store), and
streams: entries are written one by one, never all held as one JSON tree.
"""

from __future__ import annotations

import base64
import json
import re
import zlib
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any, TextIO

from capture.formats.jsonl import finding_to_dict
from capture.http.fields import form_pairs, query_pairs, request_cookies, unquote
from capture.http.urls import endpoint, request_url
from capture.model import Header, Record
from capture.text import clock_ts, escape_json, for_json, to_bytes
from capture.version import tool_version
from capture.view.store import Entry

if TYPE_CHECKING:
    from capture.formats.session import AnchorKey, SessionInfo, Tag


def _headers(headers: tuple[Header, ...]) -> list[dict[str, str]]:
    return [{"name": for_json(n), "value": for_json(v)} for n, v in headers]


def _first(headers: tuple[Header, ...], lname: str) -> str | None:
    for name, value in headers:
        if name.lower() == lname:
            return value
    return None


def _cookies(headers: tuple[Header, ...]) -> list[dict[str, str]]:
    """Request cookies: every ``name=value`` pair of every Cookie header."""
    return [{"name": for_json(k), "value": for_json(v)} for k, v in request_cookies(headers)]


def _set_cookies(headers: tuple[Header, ...]) -> list[dict[str, str]]:
    """Response cookies: the ``name=value`` of each Set-Cookie (attributes dropped)."""
    out = []
    for name, value in headers:
        if name.lower() == "set-cookie":
            key, _, val = value.split(";", 1)[0].strip().partition("=")
            out.append({"name": for_json(key), "value": for_json(val)})
    return out


def _query(uri: str | None) -> list[dict[str, str]]:
    return _params(query_pairs(uri))


def _params(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    """HAR's ``[{name, value}]``, percent-decoded."""
    return [{"name": for_json(unquote(k)), "value": for_json(unquote(v))} for k, v in pairs]


def _iso(ts: float) -> str:
    return (
        datetime.fromtimestamp(clock_ts(ts), UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def _post_data(record: Record) -> dict[str, Any] | None:
    req = record.request
    if not req.body:
        return None
    mime = for_json(_first(req.headers, "content-type") or "")
    post: dict[str, Any] = {"mimeType": mime}
    try:
        post["text"] = req.body.decode("utf-8")
    except UnicodeDecodeError:
        # Not text: base64, flagged the way HAR flags binary response content.
        post["text"] = base64.b64encode(req.body).decode("ascii")
        post["encoding"] = "base64"
    if mime.lower().startswith("application/x-www-form-urlencoded") and "encoding" not in post:
        post["params"] = _params(form_pairs(post["text"]))
    if len(req.body) < req.body_length:
        post["_truncated"] = True  # only the first bytes were kept (BODY_CAP)
    return post


def _response(record: Record) -> dict[str, Any]:
    resp = record.response
    if resp is None:
        # HAR requires a response; status 0 is what browsers write for "none".
        return {
            "status": 0,
            "statusText": "",
            "httpVersion": "",
            "cookies": [],
            "headers": [],
            "content": {"size": -1, "mimeType": ""},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": -1,
            "_noResponse": True,
        }
    length = (_first(resp.headers, "content-length") or "").strip()
    # ASCII digits of a size a body can have: "²" is a digit to isdigit() and none to
    # int(), which refuses 4,301 digits too (a server sends this header).
    size = int(length) if length.isascii() and length.isdigit() and len(length) <= 18 else -1
    out: dict[str, Any] = {
        "status": resp.status,
        "statusText": for_json(resp.reason),
        "httpVersion": for_json(resp.version),
        "cookies": _set_cookies(resp.headers),
        "headers": _headers(resp.headers),
        "content": {"size": size, "mimeType": for_json(_first(resp.headers, "content-type") or "")},
        "redirectURL": for_json(_first(resp.headers, "location") or ""),
        "headersSize": -1,
        "bodySize": size,
    }
    if resp.anomalies:
        out["_anomalies"] = [for_json(a) for a in resp.anomalies]
    return out


def _head_size(record: Record) -> int:
    """Bytes of the request head as sent: request line, header lines, blank line."""
    req = record.request
    line = len(to_bytes(req.method)) + 2
    if req.uri is not None:
        line += 1 + len(to_bytes(req.uri))
    if req.version is not None:
        line += 1 + len(to_bytes(req.version))
    return line + sum(len(to_bytes(n)) + 2 + len(to_bytes(v)) + 2 for n, v in req.headers) + 2


def har_entry(item: Entry | Record) -> dict[str, Any]:
    """One HAR ``entries`` object."""
    entry = item if isinstance(item, Entry) else None
    record = item.record if isinstance(item, Entry) else item
    req = record.request
    response = record.response
    elapsed = max(0.0, (response.ts - req.ts) * 1000.0) if response is not None else 0.0
    out: dict[str, Any] = {
        "startedDateTime": _iso(req.ts),
        "time": round(elapsed, 3),
        "request": {
            "method": for_json(req.method),
            "url": for_json(request_url(req)),
            "httpVersion": for_json(req.version or "HTTP/0.9"),
            "cookies": _cookies(req.headers),
            "headers": _headers(req.headers),
            "queryString": _query(req.uri),
            "headersSize": _head_size(record),
            "bodySize": req.body_length,
        },
        "response": _response(record),
        "cache": {},
        # Only the wait (request start to response head) is known from a capture.
        "timings": {"send": 0, "wait": round(elapsed, 3), "receive": 0},
        "serverIPAddress": req.dst,
        # Unique in the file: of several inputs, "_flow" is numbered within "_input".
        "connection": f"{req.input}:{req.flow}" if req.input else str(req.flow),
        "_id": record.id,
        "_flow": req.flow,
        "_depth": req.depth,
        "_client": endpoint(req.src, req.sport),
        "_server": endpoint(req.dst, req.dport),
        # The request line as sent, which url and httpVersion need not show (a
        # CONNECT's authority, OPTIONS *, HTTP/0.9): what reading the file back takes.
        "_target": None if req.uri is None else for_json(req.uri),
        "_version": None if req.version is None else for_json(req.version),
        "_identityFindings": [finding_to_dict(f) for f in record.findings],
    }
    post = _post_data(record)
    if post is not None:
        out["request"]["postData"] = post
    if req.anomalies:
        out["_anomalies"] = [for_json(a) for a in req.anomalies]
    if req.app:
        out["_app"] = for_json(req.app)
    if req.input:
        out["_input"] = for_json(req.input)
    if req.source:
        out["_source"] = for_json(req.source)
    if req.authority is not None:
        out["_authority"] = for_json(req.authority)
    if entry is not None:
        out["_marked"] = entry.marked
        if entry.comment:
            out["_comment"] = for_json(entry.comment)
            out["comment"] = for_json(entry.comment)  # HAR's own field: viewers show it
    moved = record.transit
    if moved is not None:
        out["_injected"] = _headers(moved.injected)
        out["_removed"] = _headers(moved.removed)
        out["_changed"] = [
            {"name": for_json(n), "sent": for_json(s), "received": for_json(r)}
            for n, s, r in moved.changed
        ]
        if moved.signed:
            out["_echoSigned"] = True
    return out


def creator(cited: SessionInfo | None = None) -> dict[str, Any]:
    """The ``log.creator`` object: headerwatch and its version, and with ``cited``
    (:meth:`SessionInfo.judged_by <capture.formats.session.SessionInfo.judged_by>` of
    the detector that made the findings) what judged them, in the fields a session's
    metadata names them by: ``_catalog``, ``_region`` ("" when there was none) and,
    when there are any, ``_canary_sha256``."""
    out: dict[str, Any] = {"name": "headerwatch", "version": tool_version()}
    if cited is not None:
        out["_catalog"] = for_json(cited.catalog)
        out["_region"] = cited.region
        if cited.canary_sha256:
            out["_canary_sha256"] = list(cited.canary_sha256)
    return out


def write_har(
    items: Iterable[Entry | Record],
    out: TextIO,
    comment: str = "",
    cited: SessionInfo | None = None,
    written: list[int] | None = None,
) -> int:
    """Stream a HAR document to ``out``; return the number of entries. ``cited``: what
    judged the findings (:func:`creator`). ``written``: its one number counts the
    entries as they are written (made, counted, then written: a stop, raised at the
    end of the write it came in, finds each entry counted that was written)."""
    counted = [0] if written is None else written
    log_head = {"version": "1.2", "creator": creator(cited), "pages": []}
    if comment:
        log_head["comment"] = for_json(comment)
    # Open the log object and its "entries" list, then stream the entries into it.
    head = escape_json(json.dumps(log_head, ensure_ascii=False))
    head = '{"log": ' + head[:-1] + ', "entries": ['
    count = 0
    try:
        # In the try: a stop is taken at the end of the write it came in, this one too.
        out.write(head)
        for item in items:
            entry = escape_json(json.dumps(har_entry(item), ensure_ascii=False))
            # One write an entry, its separator with it: a stop between two writes
            # left a comma that no entry followed.
            entry = (",\n" if count else "\n") + entry
            count += 1
            counted[0] += 1
            out.write(entry)
    except KeyboardInterrupt:
        out.write("\n]}}\n")  # closed at a stop too: what was written parses
        raise
    out.write("\n]}}\n")
    return count


def har_document(
    items: Iterable[Entry | Record], comment: str = "", cited: SessionInfo | None = None
) -> dict[str, Any]:
    """The whole HAR document as a dict (small exports and tests)."""
    log: dict[str, Any] = {
        "version": "1.2",
        "creator": creator(cited),
        "pages": [],
        "entries": [har_entry(i) for i in items],
    }
    if comment:
        log["comment"] = for_json(comment)
    return {"log": log}


# What write_har writes first: the log, its version, then its creator.
_CREATOR_START = re.compile(
    rb'\s*\{\s*"log"\s*:\s*\{\s*"version"\s*:\s*"[^"]*"\s*,\s*"creator"\s*:\s*'
)
_CREATOR_MOST = 16 << 20
"""Bytes read for a creator at most (thousands of canary digests in it)."""


def headerwatch_creator(stream: IO[bytes]) -> dict[str, Any] | None:
    """The ``log.creator`` object of a HAR that headerwatch wrote, read from the start
    of ``stream`` (:func:`creator` comes first); None for any other file."""
    head = b""
    # read1, as the reader reads: a gzip stream cut short gives what came out before
    # the cut (a whole read of it raised, and the HAR's marks were lost).
    read = getattr(stream, "read1", stream.read)
    while len(head) < _CREATOR_MOST:
        try:
            chunk = read(1 << 16)
        except (EOFError, zlib.error):
            chunk = b""
        head += chunk
        found = _CREATOR_START.match(head)
        if found is None:
            if len(head) >= 512 or not chunk:
                return None
            continue
        try:
            obj, _ = json.JSONDecoder().raw_decode(head.decode("utf-8", "replace"), found.end())
        except json.JSONDecodeError:
            if not chunk:
                return None
            continue
        return obj if isinstance(obj, dict) and obj.get("name") == "headerwatch" else None
    return None


def headerwatch_creator_of(path: str) -> dict[str, Any] | None:
    """:func:`headerwatch_creator` of the file ``path`` (gzip-compressed or not); None
    for any other file, or one that cannot be read."""
    from capture.sources.frames import CaptureError, open_stream

    try:
        stream, _ = open_stream(path)
        with stream:
            return headerwatch_creator(stream)
    except (CaptureError, OSError, EOFError, ValueError):
        return None


def har_info(creator_obj: dict[str, Any]) -> SessionInfo:
    """What a headerwatch HAR's creator says judged its findings, as a session's
    metadata says it: the region and the catalog."""
    from capture.formats.session import SessionInfo

    region = creator_obj.get("_region", "")
    catalog = creator_obj.get("_catalog", "")
    return SessionInfo(
        region=region if isinstance(region, str) else json.dumps(region),
        catalog=catalog if isinstance(catalog, str) else "",
        version=str(creator_obj.get("version", "")),
    )


def load_har_annotations(path: str) -> tuple[SessionInfo | None, dict[AnchorKey, list[Tag]]]:
    """The metadata and the marks and comments (``_marked``, ``_comment``) of a HAR that
    headerwatch exported, by the anchor of their request (``position``: its depth on
    its connection), as a record session gives them; ``(None, {})`` for any other file
    (another tool's HAR: its fields, if any, are not headerwatch's)."""
    from capture.formats.session import Tag
    from capture.sources.frames import CaptureError, open_stream
    from capture.sources.har_input import har_log, parsed_from_entry
    from capture.sources.har_json import load_har
    from capture.sources.records import UTF8_BOM, read_whole

    found = headerwatch_creator_of(path)
    if found is None:
        return None, {}
    try:
        stream, _ = open_stream(path)
        # As the reader reads it (a gzip stream cut short up to its last step, entries
        # before a cut, lone surrogates replaced): the marks are matched to its requests.
        data, _broken = read_whole(stream, path, True)
        doc = load_har(data.removeprefix(UTF8_BOM)).doc
        entries = har_log(doc)[1]
    except (CaptureError, OSError, EOFError, ValueError):
        return None, {}  # the reader says what is wrong with it
    tags: dict[AnchorKey, list[Tag]] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        comment = entry.get("_comment")
        marked = entry.get("_marked") is True
        if not marked and not (isinstance(comment, str) and comment):
            continue
        try:
            req = parsed_from_entry(entry).request
        except ValueError:
            continue  # passed over by the reader too
        key: AnchorKey = (req.ts, req.src, req.sport, req.dst, req.dport)
        if marked:
            tags.setdefault(key, []).append(Tag("mark", req.depth, "", req.uri))
        if isinstance(comment, str) and comment:
            tags.setdefault(key, []).append(Tag("comment", req.depth, comment, req.uri))
    return har_info(found), tags
