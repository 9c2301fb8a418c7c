"""Suricata ``eve.json`` http events as already-parsed requests.

Suricata's eve logger writes one JSON object a line; ``event_type`` says what it
is. An ``http`` event carries the transaction's request and response headers in
``http.request_headers`` / ``http.response_headers`` (lists of ``{"name", "value"}``)
when the http logger has ``dump-all-headers: both`` (or ``request``). Without that
option only the few fields Suricata always logs are there (hostname, user agent,
referrer), and the record says so. With Suricata's ``xff`` option in ``extra-data``
mode, the event's top-level ``xff`` is the address Suricata took from the request's
X-Forwarded-For header (or the header ``xff.header`` names): it becomes that header
when the headers logged hold none, with an anomaly saying where it came from.

Field mapping (see docs/scale.md): ``timestamp`` → ts, ``flow_id`` → flow, ``tx_id``
+ 1 → depth, ``src_ip``/``src_port``/``dest_ip``/``dest_port`` → the endpoints,
``http.http_method``, ``http.url``, ``http.protocol`` (an HTTP/2 event's
``http.version``, "2", as ``HTTP/2``) → the request line, ``http.hostname`` → Host
when the headers were not dumped, and the request's ``authority`` (what ``host``
falls back to) when the headers dumped hold no Host (a dump limited to some names,
or a request sent without one), ``http.status`` and ``response_headers`` → the
response. Suricata documents ``hostname`` as "the hostname this HTTP event is
attributed to": libhtp's, from an absolute target or the Host header, without its
port (``http_port``).

Limits (what the log cannot show): Suricata (libhtp) joins a header sent more than
once into one value separated by ``", "``, so a second injected header can hide in
the first's value; a value holding ``", "`` under a name that is not a list by
definition is flagged in the record's anomalies. The request body is not logged.
An HTTP/2 event's lists also hold HPACK's dynamic table size updates
(``{"table_size_update": N}``), which are no headers and are left out, and the
headers Suricata could not decode (``{"error": "..."}``), which the log does not
hold and the record's anomalies name.
"""

from __future__ import annotations

from typing import Any

import orjson

from capture.http.echo import ECHO_HEADER
from capture.model import (
    HEADERS_UNLOGGED,
    JOINED_BY_SURICATA,
    Header,
    Parsed,
    Request,
    Response,
    positional_new,
)
from capture.sources.json_fields import (
    iso_time,
    mapping,
    name_values,
    optional_string,
    string,
    whole,
)

try:  # built at install time where a C compiler is there (see pyproject.toml)
    from capture.sources import _eveline
except ImportError:
    _eveline = None  # type: ignore[assignment]

HEADERS_NOT_DUMPED = (
    f"{HEADERS_UNLOGGED} (Suricata http logger without dump-all-headers): "
    "only hostname, user agent and referrer are known"
)

RESPONSE_NOT_READ = "eve: response not read"
"""The anomaly of a request whose event's response fields are not what Suricata writes
(its reason follows in parentheses); the request is read all the same."""

XFF_NOTE = (
    "X-Forwarded-For: from Suricata's xff field, one address Suricata took from the "
    "header its xff option names (X-Forwarded-For unless set otherwise), not the value sent"
)
"""The anomaly of a request whose X-Forwarded-For is Suricata's ``xff`` field."""

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


if _eveline is not None:
    _eveline.set_lists(sorted(_LISTS))

_ECHO_LOWER = ECHO_HEADER.lower()
_ECHO_LENGTH = len(ECHO_HEADER)
_new_request = positional_new(Request)
_new_parsed = positional_new(Parsed)


def _echo_among(items: Any) -> bool:
    """Whether an eve ``response_headers`` list holds a reflector's echo
    (:func:`capture.http.echo.carries_echo`), checked as :func:`name_values` checks
    it (same error): for a requests-only consumer, which keeps no other response.
    One loop over the list, no header pairs built (half the instructions)."""
    if type(items) is not list:
        if items is None:
            return False
        raise ValueError("http.response_headers: not a list")
    found = False
    for item in items:
        if type(item) is not dict:
            break
        if _hpack_entry(item):
            continue
        name = item.get("name")
        if type(name) is not str or type(item.get("value")) is not str:
            break
        if len(name) == _ECHO_LENGTH and name.lower() == _ECHO_LOWER:
            found = True
    else:
        return found
    raise ValueError("http.response_headers: not a list of {name, value} objects")


def undecoded_note(error: str) -> str:
    """The anomaly for a header Suricata's HTTP/2 parser could not decode."""
    return (
        f"a request header Suricata could not decode ({error[:100]}) is not in the log, "
        "so it was not searched"
    )


def _hpack_entry(item: Any) -> bool:
    """Whether an entry of an HTTP/2 event's header list is one of the two that are no
    header (rust/src/http2/logger.rs): a table size update or a header not decoded."""
    if type(item) is not dict or len(item) != 1:
        return False
    return type(item.get("table_size_update")) is int or type(item.get("error")) is str


def _header_list(items: Any, where: str) -> tuple[tuple[Header, ...], tuple[str, ...]]:
    """An eve header list as :func:`name_values` reads it, and the anomalies of its
    HTTP/2 entries that are no header (:func:`_hpack_entry`), which are left out."""
    try:
        return name_values(items, where), ()
    except ValueError:
        if type(items) is not list or not any(map(_hpack_entry, items)):
            raise
    notes = tuple(undecoded_note(item["error"]) for item in items if "error" in item)
    kept = [item for item in items if not _hpack_entry(item)]
    return name_values(kept, where), notes


def merged_note(name: str) -> str:
    """The anomaly for a value that may be repeated headers joined by Suricata."""
    return (
        f"{name}: value holds ', ' - {JOINED_BY_SURICATA} into one value, so this may be "
        "several headers"
    )


def parsed_from_eve(obj: Any, responses: bool = True) -> Parsed | None:
    """One eve.json event as a request; ``None`` for another event type (dns, tls,
    flow, alert, ...). Raises :class:`ValueError` naming the field that is wrong.

    ``responses=False`` (a consumer that prints requests only): the response is
    left out, unless it carries a reflector's echo, which the request's record
    still shows (:meth:`capture.pipeline.Pipeline.feed_request`)."""
    if type(obj) is not dict:
        raise ValueError("not a JSON object")
    if obj.get("event_type") != "http":
        string(obj, "event_type")  # raises if it is not there
        return None
    http = mapping(obj, "http")
    ts = iso_time(obj, "timestamp")
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
        anomalies: tuple[str, ...] = (HEADERS_NOT_DUMPED,)
        authority: str | None = None  # the hostname is the Host header above
    else:
        request_headers, undecoded = _header_list(raw, "http.request_headers")
        anomalies = _merged_notes(request_headers) + undecoded
        authority = _hostname_apart(http.get("hostname"), request_headers)
    xff = obj.get("xff")
    if type(xff) is str and xff and not _named(request_headers, "x-forwarded-for"):
        # Suricata's xff option (extra-data) logs the address beside the http object:
        # the one trace of the header where the headers were not dumped.
        request_headers += (("X-Forwarded-For", xff),)
        anomalies += (XFF_NOTE,)
    method = http.get("http_method")
    url = http.get("url")
    if not (type(method) is str or method is None) or not (type(url) is str or url is None):
        # A number or an object where Suricata writes text: the event is damaged, not
        # a request without a method or target (it was read as one, without a word).
        optional_string(http, "http_method", at="http")
        optional_string(http, "url", at="http")
    protocol = http.get("protocol")
    if type(protocol) is str:
        version: str | None = protocol
    else:
        # Suricata's HTTP/2 logger writes "version": "2" where HTTP/1's has "protocol".
        number = http.get("version")
        version = f"HTTP/{number}" if type(number) is str and number else None
    get = obj.get
    flow = get("flow_id", 0)
    tx = get("tx_id", 0)
    src: Any = get("src_ip")
    sport = get("src_port", 0)
    dst: Any = get("dest_ip")
    dport = get("dest_port", 0)
    if not (
        type(flow) is int
        and type(tx) is int
        and type(src) is str
        and type(sport) is int
        and type(dst) is str
        and type(dport) is int
    ):
        # One test for the six on the way of a million events; the readers say which.
        whole(obj, "flow_id", 0)
        whole(obj, "tx_id", 0)
        string(obj, "src_ip")
        whole(obj, "src_port", 0)
        string(obj, "dest_ip")
        whole(obj, "dest_port", 0)
    status = http.get("status")
    response_headers: tuple[Header, ...] | None = None
    if status is not None and type(status) is not int:
        anomalies += (f"{RESPONSE_NOT_READ} (http.status: not a whole number)",)
    elif type(status) is int:
        raw = http.get("response_headers")
        try:
            if responses or _echo_among(raw):
                response_headers = _header_list(raw, "http.response_headers")[0]
        except ValueError as exc:
            # The request stands, its record saying what of the response was not read
            # (as a HAR's does): a response is no reason to lose what was sent.
            anomalies += (f"{RESPONSE_NOT_READ} ({exc})",)
    request = _new_request(  # (positional_new: half the cost of Request(), once per event)
        ts,
        flow,
        tx + 1,
        src,
        sport,
        dst,
        dport,
        method if type(method) is str else "-",
        url if type(url) is str else None,
        version,
        request_headers,
        b"",
        0,
        anomalies,
        authority,
        "",
        "",
        "",
    )
    if response_headers is None:
        return _new_parsed(request, None, (), None, False)
    response = Response(
        ts=ts,
        version=version or "",
        status=status,  # type: ignore[arg-type]  # an int where there are headers
        reason="",
        headers=response_headers,
    )
    return Parsed(request, response)


def _hostname_apart(hostname: Any, headers: tuple[Header, ...]) -> str | None:
    """``http.hostname`` when the headers logged name no Host (else the request's
    host is that header's value): the request's authority, which ``host`` falls back
    to. None when it is not a string, or empty."""
    if type(hostname) is not str or not hostname or _named(headers, "host"):
        return None
    return hostname


def _named(headers: tuple[Header, ...], lower: str) -> bool:
    """Whether one of ``headers`` is named ``lower`` (a lower-case name), in any case."""
    return any(name.lower() == lower for name, _ in headers)


def _merged_notes(headers: tuple[Header, ...]) -> tuple[str, ...]:
    """The anomalies of a request's headers: values that may be repeated headers."""
    return tuple(
        [
            merged_note(name)
            for name, value in headers
            if ", " in value and name.lower() not in _LISTS
        ]
    )


def parsed_from_line(line: bytes, responses: bool = True) -> Parsed | None:
    """One eve.json line as :func:`parsed_from_eve` reads it after ``orjson.loads``
    (the same request, the same ``None``, the same errors), most lines without
    decoding the JSON into objects first: where ``capture/sources/_eveline.c`` was
    built it reads an http event's bytes straight into the request's fields, and
    hands back (``None``) any line it is not sure of, which goes the way above."""
    facts = _eveline.http(line, responses)
    if facts is None:
        return parsed_from_eve(orjson.loads(line), responses)
    if isinstance(facts, int):
        return None  # another event type
    (
        ts,
        flow,
        depth,
        src,
        sport,
        dst,
        dport,
        method,
        uri,
        version,
        headers,
        merged,
        status,
        answer,
        authority,
    ) = facts
    request = _new_request(
        ts,
        flow,
        depth,
        src,
        sport,
        dst,
        dport,
        method,
        uri,
        version,
        headers,
        b"",
        0,
        _merged_notes(headers) if merged else (),
        authority,
        "",
        "",
        "",
    )
    if status is None or answer is False:
        return _new_parsed(request, None, (), None, False)
    if answer is True:  # requests only, and a reflector's echo (rare): the slow way
        return parsed_from_eve(orjson.loads(line), responses)
    response = Response(ts=ts, version=version or "", status=status, reason="", headers=answer)
    return Parsed(request, response)


read_line = parsed_from_line if _eveline is not None else None
"""What reads an eve.json line straight from its bytes (:class:`RecordFile`'s
``read``): None where the C reader was not built, and lines are decoded with orjson
and mapped by :func:`parsed_from_eve`."""
