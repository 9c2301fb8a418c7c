"""Suricata ``eve.json`` http events as already-parsed requests.

Suricata's eve logger writes one JSON object a line; ``event_type`` says what it
is. An ``http`` event carries the transaction's request and response headers in
``http.request_headers`` / ``http.response_headers`` (lists of ``{"name", "value"}``)
when the http logger has ``dump-all-headers: both`` (or ``request``). Without that
option only the few fields Suricata always logs are there (hostname, user agent,
referrer), and the record says so.

Field mapping (see docs/scale.md): ``timestamp`` → ts, ``flow_id`` → flow,
``tx_id`` + 1 → depth, ``src_ip``/``src_port``/``dest_ip``/``dest_port`` → the
endpoints, ``http.http_method``, ``http.url``, ``http.protocol`` → the request
line, ``http.hostname`` → Host when the headers were not dumped, ``http.status``
and ``response_headers`` → the response.

Limits (what the log cannot show): Suricata (libhtp) joins a header sent more than
once into one value separated by ``", "``, so a second injected header can hide in
the first's value; a value holding ``", "`` under a name that is not a list by
definition is flagged in the record's anomalies. The request body is not logged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from capture.model import Header, Parsed, Request, Response

HEADERS_NOT_DUMPED = (
    "request headers not logged (Suricata http logger without dump-all-headers): "
    "only hostname, user agent and referrer are known"
)

# Headers whose values are comma lists or dates by definition (RFC 9110 lists,
# HTTP dates, structured client hints): ", " in them says nothing about a repeated
# header. Lower case.
_LISTS = frozenset(
    [
        "accept",
        "accept-charset",
        "accept-encoding",
        "accept-language",
        "accept-ranges",
        "access-control-request-headers",
        "cache-control",
        "connection",
        "content-encoding",
        "content-language",
        "date",
        "expect",
        "expires",
        "forwarded",
        "if-match",
        "if-modified-since",
        "if-none-match",
        "if-range",
        "if-unmodified-since",
        "keep-alive",
        "last-modified",
        "pragma",
        "prefer",
        "priority",
        "referer",
        "sec-ch-ua",
        "sec-ch-ua-full-version-list",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "via",
        "warning",
        "x-forwarded-for",
        "cookie",
        "content-type",
        "link",
    ]
)


def merged_note(name: str) -> str:
    """The anomaly for a value that may be repeated headers joined by Suricata."""
    return (
        f"{name}: value holds ', ' - Suricata joins a header sent more than once into "
        "one value, so this may be several headers"
    )


def _ts(text: Any) -> float:
    if isinstance(text, str):
        try:
            return datetime.fromisoformat(text).timestamp()
        except ValueError:
            pass
    raise ValueError(f"timestamp: not an ISO 8601 time ({str(text)[:40]!r})")


def _int(obj: dict[str, Any], key: str, default: int | None = None) -> int:
    value = obj.get(key, default)
    if type(value) is not int:
        if value is None:
            raise ValueError(f"{key}: missing")
        raise ValueError(f"{key}: not an integer")
    return value


def _headers(items: Any, where: str) -> tuple[Header, ...]:
    if not isinstance(items, list):
        raise ValueError(f"{where}: not a list")
    out = []
    for item in items:
        try:
            name = item["name"]
            value = item["value"]
        except (TypeError, KeyError):
            raise ValueError(f"{where}: not a list of {{name, value}} objects") from None
        if type(name) is not str or type(value) is not str:
            raise ValueError(f"{where}: name and value must be strings")
        out.append((name, value))
    return tuple(out)


def parsed_from_eve(obj: Any) -> Parsed | None:
    """One eve.json event as a request; ``None`` for another event type (dns, tls,
    flow, alert, ...). Raises :class:`ValueError` naming the field that is wrong."""
    if type(obj) is not dict:
        raise ValueError("not a JSON object")
    event_type = obj.get("event_type")
    if event_type != "http":
        if type(event_type) is not str:
            raise ValueError("event_type: missing")
        return None
    http = obj.get("http")
    if type(http) is not dict:
        raise ValueError("http: missing")
    ts = _ts(obj.get("timestamp"))
    anomalies: list[str] = []
    raw = http.get("request_headers")
    if raw is None:
        headers: list[Header] = []
        for key, name in (
            ("hostname", "Host"),
            ("http_user_agent", "User-Agent"),
            ("http_refer", "Referer"),
        ):
            value = http.get(key)
            if type(value) is str:
                headers.append((name, value))
        request_headers = tuple(headers)
        anomalies.append(HEADERS_NOT_DUMPED)
    else:
        request_headers = _headers(raw, "http.request_headers")
        for name, value in request_headers:
            if ", " in value and name.lower() not in _LISTS:
                anomalies.append(merged_note(name))
    method = http.get("http_method")
    url = http.get("url")
    protocol = http.get("protocol")
    request = Request(
        ts=ts,
        flow=_int(obj, "flow_id", 0),
        depth=_int(obj, "tx_id", 0) + 1,
        src=_str(obj, "src_ip"),
        sport=_int(obj, "src_port", 0),
        dst=_str(obj, "dest_ip"),
        dport=_int(obj, "dest_port", 0),
        method=method if type(method) is str else "-",
        uri=url if type(url) is str else None,
        version=protocol if type(protocol) is str else None,
        headers=request_headers,
        anomalies=tuple(anomalies),
    )
    response = None
    status = http.get("status")
    if type(status) is int:
        response = Response(
            ts=ts,
            version=request.version or "",
            status=status,
            reason="",
            headers=_headers(http.get("response_headers", []), "http.response_headers"),
        )
    return Parsed(request, response)


def _str(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if type(value) is not str:
        raise ValueError(f"{key}: missing" if value is None else f"{key}: not a string")
    return value
