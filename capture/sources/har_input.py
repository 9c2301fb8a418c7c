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
``_depth``, ``_anomalies``, ``_app``, ``_injected``/``_removed``/``_changed`` (sent versus
received) and the body findings of ``_identityFindings``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from capture.model import Finding, Header, Parsed, Request, Response, Transit

BODY_KEPT = 64 * 1024
"""First bytes of a post body kept (as :data:`capture.http.stream.BODY_CAP`)."""

LATEST_TS = float((1 << 32) - 1)
"""Latest start time kept (2106-02-07, as captures): later ones are clamped."""

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
    return name or "an unnamed tool", entries


def requests(entries: list[Any], reading: HarReading) -> Iterator[Parsed]:
    """The requests of ``entries`` in file order. An entry that is not what HAR
    says is passed over and counted in ``reading`` (with the first one named)."""
    flows: dict[tuple[str, str], tuple[int, int]] = {}
    for number, entry in enumerate(entries, 1):
        try:
            parsed = parsed_from_entry(entry)
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
            parsed = Parsed(request, parsed.response, parsed.carried, parsed.transit)
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


def parsed_from_entry(entry: Any) -> Parsed:
    """One HAR entry as a request to feed the pipeline; raises :class:`ValueError`
    naming the first field that is missing or of the wrong type."""
    if not isinstance(entry, dict):
        raise ValueError("not an object")
    req = _object(entry, "request")
    ts = _start(entry)
    anomalies: list[str] = list(_strings(entry, "_anomalies"))
    if not 0.0 <= ts <= LATEST_TS:
        # As for captures: every output (and a session) can show the clamped time.
        ts = min(max(ts, 0.0), LATEST_TS)
        anomalies.append(CLAMPED)
    url = _string(req, "request.url")
    method = _string(req, "request.method")
    version = _string(req, "request.httpVersion", "") or None
    headers = list(_pairs(req, "request.headers"))

    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        raise ValueError(f"request.url: not an absolute URL ({url[:60]!r})")
    uri = url
    if not parts.query:
        query = list(_pairs(req, "request.queryString"))
        if query:
            # A writer that keeps the query only as a list: put it back on the URL.
            uri = url + "?" + "&".join(f"{quote(n, safe='')}={quote(v, safe='')}" for n, v in query)
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"request.url: bad port ({url[:60]!r})") from None
    dport = port if port is not None else (443 if parts.scheme.lower() in ("https", "wss") else 80)

    regular = [n for n, _ in headers if not n.startswith(":")]
    if _is_h2(version, headers):
        if regular and all(n == n.lower() for n in regular):
            anomalies.append(LOWER_CASE)
        cookie_fields = [v for n, v in headers if n.lower() == "cookie"]
        if len(cookie_fields) == 1 and ";" in cookie_fields[0]:
            # RFC 9113 §8.2.3 lets a client split cookies into fields; browsers'
            # HARs list them joined, so the split as sent is lost.
            anomalies.append(COOKIES_MERGED)
    cookies = list(_pairs(req, "request.cookies"))
    if cookies and not any(n.lower() == "cookie" for n, _ in headers):
        headers.append(("Cookie", "; ".join(f"{n}={v}" for n, v in cookies)))
        anomalies.append(COOKIES_JOINED)

    client = _optional_string(entry, "_client")
    server = _optional_string(entry, "_server")
    src, sport = _split_endpoint(client) if client else ("", 0)
    if server:
        dst, dport = _split_endpoint(server)
    else:
        dst = (_optional_string(entry, "serverIPAddress") or "").strip("[]")
    if not client:
        anomalies.append(NO_CLIENT)
    if not _has(entry, "_id"):
        anomalies.append(NO_RAW_HEAD)
        anomalies.append(NO_TARGET)
    else:
        # headerwatch's own HAR was written from the wire: its order is the wire's,
        # and an origin-form target became http://Host/target (request_url).
        host = next((v for n, v in headers if n.lower() == "host"), None)
        prefix = f"http://{host}/"
        if host is not None and uri.startswith(prefix):
            uri = uri[len(prefix) - 1 :]
    if version is not None and version.lower() == "unknown":
        anomalies.append(VERSION_UNKNOWN)
        version = None

    body, body_length = _post_body(req)
    try:
        response = _response(entry, ts)
    except ValueError as exc:
        # The request is evidence on its own: a response it cannot read does not cost it.
        response = None
        anomalies.append(f"HAR response not read ({exc})")
    request = Request(
        ts=ts,
        flow=_int(entry, "_flow", 0),
        depth=_int(entry, "_depth", 1),
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
        app=_optional_string(entry, "_app") or "",
    )
    carried = tuple(
        _finding(f)
        for f in _list(entry, "_identityFindings")
        if isinstance(f, dict) and f.get("where") == "body"
    )
    return Parsed(request, response, carried, _transit(entry, request.headers))


# --- fields --------------------------------------------------------------------------


def _start(entry: dict[str, Any]) -> float:
    text = _string(entry, "startedDateTime")
    try:
        when = datetime.fromisoformat(text)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)  # no offset given: taken as UTC
        return when.timestamp()
    except (ValueError, OverflowError, OSError):
        raise ValueError(f"startedDateTime: not an ISO 8601 date ({text[:40]!r})") from None


def _response(entry: dict[str, Any], ts: float) -> Response | None:
    resp = entry.get("response")
    if resp is None:
        return None
    if not isinstance(resp, dict):
        raise ValueError("response: not an object")
    status = _int(resp, "response.status", 0)
    if status == 0 or resp.get("_noResponse"):
        return None  # HAR's way of saying no response came
    elapsed = entry.get("time")
    if isinstance(elapsed, bool) or not isinstance(elapsed, (int, float)) or elapsed < 0:
        elapsed = 0.0
    return Response(
        ts=min(ts + float(elapsed) / 1000.0, LATEST_TS),
        version=_string(resp, "response.httpVersion", ""),
        status=status,
        reason=_string(resp, "response.statusText", ""),
        headers=tuple(_pairs(resp, "response.headers")),
        anomalies=tuple(_strings(resp, "_anomalies")),
    )


def _post_body(req: dict[str, Any]) -> tuple[bytes, int]:
    post = req.get("postData")
    size = req.get("bodySize")
    declared = size if isinstance(size, int) and not isinstance(size, bool) and size > 0 else 0
    if post is None:
        return b"", declared
    if not isinstance(post, dict):
        raise ValueError("request.postData: not an object")
    text = post.get("text")
    if text is None:
        params = list(_pairs(post, "request.postData.params"))
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
    injected = tuple(_pairs(entry, "_injected"))
    removed = tuple(_pairs(entry, "_removed"))
    changed: list[tuple[str, str, str]] = []
    for item in _list(entry, "_changed"):
        if not isinstance(item, dict) or not all(
            isinstance(item.get(k), str) for k in ("name", "sent", "received")
        ):
            raise ValueError("_changed: not a list of {name, sent, received} objects")
        changed.append((item["name"], item["sent"], item["received"]))
    received = list(sent)
    for header in removed:
        if header in received:
            received.remove(header)
    for name, was, now in changed:
        if (name, was) in received:
            received[received.index((name, was))] = (name, now)
    received += injected
    return Transit(tuple(received), injected, removed, tuple(changed))


def _finding(f: dict[str, Any]) -> Finding:
    return Finding(
        name=_string(f, "_identityFindings.name"),
        where="body",
        kind=_string(f, "_identityFindings.kind"),
        value=_string(f, "_identityFindings.value"),
        normalized=_string(f, "_identityFindings.normalized", ""),
        detector=_string(f, "_identityFindings.detector", ""),
        severity=_string(f, "_identityFindings.severity", "info"),
        detail=_string(f, "_identityFindings.detail", ""),
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
    from dataclasses import replace

    return replace(request, flow=flow, depth=depth)


def _has(entry: Any, key: str) -> bool:
    return isinstance(entry, dict) and key in entry


_MISSING = object()


def _field(obj: dict[str, Any], path: str, default: Any) -> Any:
    value = obj.get(path.rpartition(".")[2], default)
    if value is _MISSING:
        raise ValueError(f"{path}: missing")
    return value


def _object(obj: dict[str, Any], path: str) -> dict[str, Any]:
    value = _field(obj, path, _MISSING)
    if not isinstance(value, dict):
        raise ValueError(f"{path}: not an object")
    return value


def _string(obj: dict[str, Any], path: str, default: Any = _MISSING) -> str:
    value = _field(obj, path, default)
    if not isinstance(value, str):
        raise ValueError(f"{path}: not a string")
    return value


def _optional_string(obj: dict[str, Any], path: str) -> str | None:
    value = obj.get(path)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{path}: not a string")
    return value


def _int(obj: dict[str, Any], path: str, default: Any = _MISSING) -> int:
    value = _field(obj, path, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{path}: not a whole number")
    return value


def _list(obj: dict[str, Any], path: str) -> list[Any]:
    value = obj.get(path.rpartition(".")[2], [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{path}: not a list")
    return value


def _strings(obj: dict[str, Any], path: str) -> list[str]:
    values = _list(obj, path)
    if not all(isinstance(v, str) for v in values):
        raise ValueError(f"{path}: not a list of strings")
    return values


def _pairs(obj: dict[str, Any], path: str) -> Iterator[Header]:
    """HAR's ``[{name, value}]`` in order, duplicates kept."""
    for item in _list(obj, path):
        if not (
            isinstance(item, dict)
            and isinstance(item.get("name"), str)
            and isinstance(item.get("value"), str)
        ):
            raise ValueError(f"{path}: not a list of {{name, value}} objects")
        yield item["name"], item["value"]
