"""HAR 1.2 read back as requests (http://www.softwareishard.com/blog/har-12-spec/).

Pure functions from the parsed JSON document to :class:`~capture.model.Parsed`
requests; the file handling (size bound, errors) is
:class:`capture.sources.records.HarFile`.

What a HAR keeps: the method, the URL, the version, the request headers as an
ordered ``[{name, value}]`` list (duplicates kept), cookies, query, post data, the
server address, the start time, and the response's status and headers. What it
does not keep, each said as an anomaly of the record and once per file
(:func:`lacks`):

- the client address and port (no field for them);
- the raw head: the headers are the tool's listing, which need not be the wire
  order (Chrome's HTTP/1.1 entries list ``Host`` wherever its dictionary put it);
- the request target as sent: the full URL stands in for it;
- the name case of HTTP/2 entries, whose names browsers write lower-case, and how
  their cookies were split into fields (listed as one ``cookie`` header).

headerwatch's own HAR (:mod:`capture.formats.har`) writes what HAR has no place
for as ``_`` fields, which are read back: ``_client``, ``_server``, ``_flow``,
``_depth``, ``_anomalies``, ``_app``, ``_input``, ``_source``,
``_target``/``_version``/``_authority`` (the request line as sent, which the URL
need not show), ``_injected``/``_removed``/``_changed`` (sent versus received) and,
for an entry without ``postData`` (a request it had read from JSONL, which keeps no
body), the body findings of ``_identityFindings``: a body the entry keeps is searched
again, as a capture's is.
A HAR that another tool wrote, named as HAR requires (a browser, a client-side proxy),
is the client's own record: its requests' ``source`` is ``har`` (:data:`SOURCE`).
An entry written with ``--redact`` (a finding's value is a mask) has every finding of
``_identityFindings`` taken as written, none found again.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote, urlsplit

from capture.formats.jsonl import carried_findings, rebuild_received
from capture.model import Finding, Header, Parsed, Request, Response, Transit
from capture.sources.json_fields import (
    LAST_TS,
    array,
    checked,
    iso_time,
    mapping,
    name_values,
    optional_string,
    string,
    strings,
    whole,
)
from capture.target import split_absolute

BODY_KEPT = 64 * 1024
"""First bytes of a post body kept (as :data:`capture.http.stream.BODY_CAP`)."""

# Per-record anomalies: what the HAR does not say (docs/formats.md).
NO_CLIENT = "HAR: no client address or port"
NO_RAW_HEAD = "HAR: no raw head; header order is the tool's listing, not necessarily the wire's"
NO_TARGET = "HAR: no request target as sent; the URL stands in"
LOWER_CASE = "HAR: header names all lower-case (HTTP/2 as the tool lists it)"
COOKIES_MERGED = "HAR: HTTP/2 cookies as one header; how many cookie fields were sent is not kept"
COOKIES_JOINED = "HAR: cookies listed without a Cookie header; joined into one"
CLAMPED = "startedDateTime out of range (before 1970 or after 2106-02-07), clamped"
VERSION_UNKNOWN = "HAR: HTTP version unknown (a browser's cached or provisional entry?)"


@dataclass(slots=True)
class HarReading:
    """What reading one HAR's entries found besides its requests (filled as
    :func:`requests` goes)."""

    creator: str
    bad_entries: int = 0
    first_bad: str | None = None
    clamped: int = 0
    """Start times out of range (before 1970, after 2106-02-07), clamped."""
    lacking: dict[str, int] = field(default_factory=dict)
    """Anomaly (from the ``HAR:`` set above) → entries it applies to."""


UNNAMED = "an unnamed tool"
"""The creator of a HAR that names none."""


def har_log(doc: Any) -> tuple[str, list[Any]]:
    """The creator (``name version``) and entries of a HAR document; raises
    :class:`ValueError` naming what is not a HAR."""
    if not isinstance(doc, dict) or not isinstance(doc.get("log"), dict):
        raise ValueError('not a HAR (no "log" object)')
    log = doc["log"]
    entries = log.get("entries")
    if not isinstance(entries, list):
        raise ValueError('not a HAR ("log.entries" is not a list)')
    creator = log.get("creator")
    name = ""
    if isinstance(creator, dict):
        parts = [creator.get("name"), creator.get("version")]
        name = " ".join(p for p in parts if isinstance(p, str) and p)
    return name or UNNAMED, entries


def requests(entries: list[Any], reading: HarReading) -> Iterator[Parsed]:
    """The requests of ``entries`` in file order. An entry that is not what HAR
    says is passed over and counted in ``reading`` (with the first one named)."""
    flows: dict[tuple[str, str], tuple[int, int]] = {}
    # headerwatch's own HAR may be of a capture taken anywhere: it says where its
    # requests were recorded (_source) or nothing; so may a HAR that names no creator
    # (HAR requires one). Any other tool's is the client's.
    creator = reading.creator
    source = "" if creator == UNNAMED or creator.split(" ", 1)[0] == "headerwatch" else SOURCE
    for number, entry in enumerate(entries, 1):
        try:
            parsed = checked(parsed_from_entry(entry, source))
        except ValueError as exc:
            reading.bad_entries += 1
            if reading.first_bad is None:
                reading.first_bad = f"entry {number}: {exc}"
            continue
        request = parsed.request
        if CLAMPED in request.anomalies:
            reading.clamped += 1
        if not _has(entry, "_flow"):
            # Connection numbers and depths from HAR's "connection" (an id or a
            # port, by tool), per server address; each entry alone without one.
            key = (request.dst, _connection(entry) or f"#{number}")
            flow, depth = flows.get(key, (len(flows) + 1, 0))
            flows[key] = (flow, depth + 1)
            request = _replace_flow(request, flow, depth + 1)
            parsed = replace(parsed, request=request)
        for note in request.anomalies:
            if note.startswith("HAR: "):
                reading.lacking[note] = reading.lacking.get(note, 0) + 1
        yield parsed


def lacks(reading: HarReading) -> str | None:
    """One line saying what the file's entries lack, or None."""
    if not reading.lacking:
        return None
    said = "; ".join(note.removeprefix("HAR: ") for note in reading.lacking)
    return f"HAR written by {reading.creator}: {said}"


SOURCE = "har"
"""The :attr:`~capture.model.Request.source` of a request from a HAR that headerwatch
did not write: a browser's or a client-side proxy's (mitmproxy, Charles, Fiddler), a
record of what the client sent, before any network."""


def parsed_from_entry(entry: Any, source: str = "") -> Parsed:
    """One HAR entry as a request to feed the pipeline; raises :class:`ValueError`
    naming the first field that is missing or of the wrong type. ``source``: its
    :attr:`~capture.model.Request.source` unless the entry names one (``_source``)."""
    if not isinstance(entry, dict):
        raise ValueError("not an object")
    req = mapping(entry, "request")
    ts = iso_time(entry, "startedDateTime")  # no offset given: taken as UTC
    anomalies: list[str] = list(strings(entry, "_anomalies"))
    if not 0.0 <= ts <= LAST_TS:
        # As for captures: every output (and a session) can show the clamped time.
        ts = min(max(ts, 0.0), LAST_TS)
        anomalies.append(CLAMPED)
    url = string(req, "url", at="request")
    method = string(req, "method", at="request")
    version = string(req, "httpVersion", "", at="request") or None
    headers = list(name_values(req.get("headers"), "request.headers"))
    own = _has(entry, "_id")  # headerwatch's own HAR: its headers are the record's
    server = optional_string(entry, "_server")
    # headerwatch's HAR since _target: the request line as sent, which the URL need
    # not show (a CONNECT's authority, OPTIONS *, no target at all, no version).
    sent = own and server is not None and "_target" in entry

    if sent:
        uri = optional_string(entry, "_target")
        version = optional_string(entry, "_version")
        dport = 0  # from _server below
    elif own and server is not None and url[:1] == "/":
        # A headerwatch HAR written before _target gave an origin-form target with
        # "://" in it (/ad?click=http://a.example/) as its url, bare: request_url
        # took it for absolute-form. It is the target as sent.
        uri, dport = url, 0
    else:
        uri, dport = _target_of(url, req)

    regular = [n for n, _ in headers if not n.startswith(":")]
    if not own and _is_h2(version, headers):
        if regular and all(n == n.lower() for n in regular):
            anomalies.append(LOWER_CASE)
        cookie_fields = [v for n, v in headers if n.lower() == "cookie"]
        if len(cookie_fields) == 1 and ";" in cookie_fields[0]:
            # RFC 9113 §8.2.3 lets a client split cookies into fields; browsers'
            # HARs list them joined, so the split as sent is lost.
            anomalies.append(COOKIES_MERGED)
    cookies = name_values(req.get("cookies"), "request.cookies")
    if cookies and not any(n.lower() == "cookie" for n, _ in headers):
        headers.append(("Cookie", "; ".join(f"{n}={v}" for n, v in cookies)))
        anomalies.append(COOKIES_JOINED)

    client = optional_string(entry, "_client")
    src, sport = _split_endpoint(client) if client else ("", 0)
    if server:
        dst, dport = _split_endpoint(server)
    else:
        dst = (optional_string(entry, "serverIPAddress") or "").strip("[]")
    if not client:
        anomalies.append(NO_CLIENT)
    if not own:
        anomalies.append(NO_RAW_HEAD)
        anomalies.append(NO_TARGET)
    elif not sent and uri is not None:
        # headerwatch's own HAR was written from the wire: its order is the wire's,
        # and (in one written before _target) an origin-form target became
        # http://Host/target (request_url).
        host = next((v for n, v in headers if n.lower() == "host"), None)
        prefix = f"http://{host}/"
        if host is not None and uri.startswith(prefix):
            uri = uri[len(prefix) - 1 :]
    if not sent and version is not None and version.lower() == "unknown":
        anomalies.append(VERSION_UNKNOWN)
        version = None

    try:
        body, body_length = _post_body(req)
    except ValueError as exc:
        # As with a response: post data in a form HAR does not have (chrome-har lists
        # a JSON body's values as objects) does not cost the request its URL, headers
        # and cookies. Said on the request and, with the "HAR: " notes, once per file.
        body, body_length = b"", _declared_size(req)
        anomalies.append(f"HAR: post data not read ({exc})")
    try:
        response = _response(entry, ts)
    except ValueError as exc:
        # The request is evidence on its own: a response it cannot read does not cost it.
        response = None
        anomalies.append(f"HAR response not read ({exc})")
    request = Request(
        ts=ts,
        flow=whole(entry, "_flow", 0),
        depth=whole(entry, "_depth", 1),
        src=src,
        sport=sport,
        dst=dst,
        dport=dport,
        method=method,
        uri=uri,
        version=version,
        headers=tuple(headers),
        body=body[:BODY_KEPT],
        body_length=body_length,
        anomalies=tuple(dict.fromkeys(anomalies)),
        authority=optional_string(entry, "_authority"),
        app=optional_string(entry, "_app") or "",
        input=optional_string(entry, "_input") or "",
        source=optional_string(entry, "_source") or source,
    )
    # The body findings are carried only when the entry keeps no body (a request
    # headerwatch had read from JSONL): a kept body is searched again, as a capture's
    # is, and carrying its findings as well would list each twice, once more with
    # every round trip. A redacted entry's findings are all carried, as written.
    carried, written = carried_findings(array(entry, "_identityFindings"), not body, _finding)
    return Parsed(request, response, carried, _transit(entry, request.headers), written)


# --- fields --------------------------------------------------------------------------


def _target_of(url: str, req: dict[str, Any]) -> tuple[str, int]:
    """The request target (the absolute URL, with a query kept only as a list put
    back on it) and the port of ``url``; raises :class:`ValueError` for a URL that is
    not absolute or has a bad port."""
    absolute = split_absolute(url)
    if absolute is None or not absolute[0]:
        raise ValueError(f"request.url: not an absolute URL ({url[:60]!r})")
    parts = urlsplit(url)
    uri = url
    if not parts.query:
        query = name_values(req.get("queryString"), "request.queryString")
        if query:
            # A writer that keeps the query only as a list: put it back on the URL.
            uri = url + "?" + "&".join(f"{quote(n, safe='')}={quote(v, safe='')}" for n, v in query)
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"request.url: bad port ({url[:60]!r})") from None
    if port is None:
        port = 443 if parts.scheme.lower() in ("https", "wss") else 80
    return uri, port


def _response(entry: dict[str, Any], ts: float) -> Response | None:
    resp = entry.get("response")
    if resp is None:
        return None
    if not isinstance(resp, dict):
        raise ValueError("response: not an object")
    status = whole(resp, "status", 0, at="response")
    if status == 0 or resp.get("_noResponse"):
        return None  # HAR's way of saying no response came
    elapsed = entry.get("time")
    if isinstance(elapsed, bool) or not isinstance(elapsed, (int, float)) or elapsed < 0:
        elapsed = 0.0
    return Response(
        ts=min(ts + float(elapsed) / 1000.0, LAST_TS),
        version=string(resp, "httpVersion", "", at="response"),
        status=status,
        reason=string(resp, "statusText", "", at="response"),
        headers=name_values(resp.get("headers"), "response.headers"),
        anomalies=tuple(strings(resp, "_anomalies", at="response")),
    )


def _declared_size(req: dict[str, Any]) -> int:
    size = req.get("bodySize")
    return size if isinstance(size, int) and not isinstance(size, bool) and size > 0 else 0


def _post_body(req: dict[str, Any]) -> tuple[bytes, int]:
    post = req.get("postData")
    declared = _declared_size(req)
    if post is None:
        return b"", declared
    if not isinstance(post, dict):
        raise ValueError("request.postData: not an object")
    text = post.get("text")
    if text is None:
        params = name_values(post.get("params"), "request.postData.params")
        text = "&".join(f"{quote(n, safe='')}={quote(v, safe='')}" for n, v in params)
    if not isinstance(text, str):
        raise ValueError("request.postData.text: not a string")
    if post.get("encoding") == "base64":
        try:
            body = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("request.postData.text: not base64") from None
    else:
        body = text.encode("utf-8", "surrogateescape")
    return body, max(declared, len(body))


def _transit(entry: dict[str, Any], sent: tuple[Header, ...]) -> Transit | None:
    """Sent versus received from headerwatch's own ``_injected``/``_removed``/
    ``_changed`` (the received block rebuilt as :mod:`capture.formats.jsonl` does)."""
    if not any(key in entry for key in ("_injected", "_removed", "_changed")):
        return None
    injected = name_values(entry.get("_injected"), "_injected")
    removed = name_values(entry.get("_removed"), "_removed")
    changed: list[tuple[str, str, str]] = []
    for item in array(entry, "_changed"):
        if not isinstance(item, dict) or not all(
            isinstance(item.get(k), str) for k in ("name", "sent", "received")
        ):
            raise ValueError("_changed: not a list of {name, sent, received} objects")
        changed.append((item["name"], item["sent"], item["received"]))
    received = rebuild_received(sent, injected, removed, changed)
    return Transit(
        received, injected, removed, tuple(changed), entry.get("_echoSigned") is True or None
    )


def _finding(f: dict[str, Any]) -> Finding:
    at = "_identityFindings"
    return Finding(
        name=string(f, "name", at=at),
        where=string(f, "where", "body", at=at),
        kind=string(f, "kind", at=at),
        value=string(f, "value", at=at),
        normalized=string(f, "normalized", "", at=at),
        detector=string(f, "detector", "", at=at),
        severity=string(f, "severity", "info", at=at),
        detail=string(f, "detail", "", at=at),
    )


def _is_h2(version: str | None, headers: list[Header]) -> bool:
    if any(n.startswith(":") for n, _ in headers):
        return True
    v = (version or "").lower()
    return v.startswith(("h2", "h3", "http/2", "http/3"))


def _connection(entry: dict[str, Any]) -> str:
    value = entry.get("connection")
    return value if isinstance(value, str) else ""


def _split_endpoint(text: str) -> tuple[str, int]:
    """``address:port`` (IPv6 in brackets) as written by :func:`capture.http.urls.endpoint`."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        return text.strip("[]"), 0
    return host.strip("[]"), int(port)


def _replace_flow(request: Request, flow: int, depth: int) -> Request:
    return replace(request, flow=flow, depth=depth)


def _has(entry: Any, key: str) -> bool:
    return isinstance(entry, dict) and key in entry
