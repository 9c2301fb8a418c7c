"""Zeek ``http.log`` records as already-parsed requests, from TSV or JSON.

Zeek writes one record per HTTP request (and its response). Its ASCII writer's
default is tab-separated values with header lines (``#separator \\x09``,
``#set_separator``, ``#empty_field``, ``#unset_field``, ``#fields``, ``#types``);
with ``LogAscii::use_json=T`` it writes one JSON object a line with the same field
names. :class:`ZeekTsv` turns a TSV line into the object the JSON line would be,
so that one parse function, :func:`parsed_from_zeek`, reads both.

Field mapping: ``ts``, ``uid`` (the flow number is its CRC-32, so that the requests
of one connection share one), ``id.orig_h``/``id.orig_p``/``id.resp_h``/``id.resp_p``,
``trans_depth``, ``method``, ``host``, ``uri``, ``version``, ``user_agent``,
``referrer``, ``status_code``/``status_msg``. Zeek logs ``uri`` percent-decoded
(``/a%20b`` as ``/a b``): a limit of the log, kept as logged.

Headers: Zeek's own ``policy/protocols/http/header-names.zeek`` logs the client's
header names only (``client_header_names``); the ``zeek-log-all-http-headers``
package (github.com/sethhall/zeek-log-all-http-headers) adds the values in a
parallel vector (``client_header_values``). Zeek upper-cases header names in its
``http_header`` event, so the names read back upper-cased (a documented limit: the
wire spelling is lost). With names only, the request's headers have empty values
(but Host, User-Agent and Referer, which Zeek logs apart) and carry the
:data:`~capture.model.NAMES_ONLY` anomaly, so that an identity header that was
present is reported as a finding with no value.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import replace
from typing import Any

import orjson

from capture.http.echo import carries_echo
from capture.model import (
    HEADERS_UNLOGGED,
    NAMES_ONLY,
    Header,
    Parsed,
    Request,
    Response,
    positional_new,
)
from capture.sources.json_fields import iso_time, optional_strings, string, strings, whole
from capture.sources.records import SKIP
from capture.text import counted, from_bytes

UPPER_CASED = "header names upper-cased by Zeek (the wire spelling is not logged)"
HEADERS_NOT_LOGGED = (
    f"{HEADERS_UNLOGGED} (Zeek http.log without header-names.zeek or "
    "zeek-log-all-http-headers): only Host, User-Agent and Referer are known"
)

RESPONSE_NOT_READ = "zeek: response not read"
"""The anomaly of a request whose record's response fields are not what Zeek writes
(its reason follows in parentheses); the request is read all the same."""

_KEPT_APART = {"HOST": "host", "USER-AGENT": "user_agent", "REFERER": "referrer"}
_ESCAPE = re.compile(rb"\\(x[0-9a-fA-F]{2}|\\)")

_new_request = positional_new(Request)
_new_parsed = positional_new(Parsed)


def _unescape(raw: bytes) -> str:
    """A TSV field's text: Zeek writes ``\\xNN`` for separators and non-printable
    bytes and ``\\\\`` for a backslash."""
    if b"\\" in raw:
        raw = _ESCAPE.sub(
            lambda m: b"\\" if m.group(1) == b"\\" else bytes([int(m.group(1)[1:], 16)]), raw
        )
    return from_bytes(raw)


class ZeekTsv:
    """Decode the lines of one Zeek TSV log into JSON-like objects (the
    :data:`~capture.sources.records.DecodeLine` of the ``zeek`` input kind).

    Header lines set the separators and the fields, and give
    :data:`~capture.sources.records.SKIP`; a JSON line (``{``) is decoded as JSON,
    so that the same kind reads Zeek's JSON logs too."""

    def __init__(self) -> None:
        self.separator = b"\t"
        self.set_separator = b","
        self.empty = b"(empty)"
        self.unset = b"-"
        self.fields: list[str] | None = None
        self.types: list[str] = []

    def __call__(self, line: bytes) -> Any:
        line = line.rstrip(b"\r\n")
        if line.startswith(b"{"):  # the JSON form of the same log
            return orjson.loads(line)
        if line.startswith(b"#"):
            self._header(line)
            return SKIP
        if self.fields is None:
            raise ValueError("a record before the #fields line: not a Zeek TSV log")
        values = line.split(self.separator)
        if len(values) != len(self.fields):
            got = counted(len(values), "field")
            raise ValueError(f"{got} where #fields names {len(self.fields)}")
        obj: dict[str, Any] = {}
        for name, kind, raw in zip(self.fields, self.types, values, strict=True):
            if raw == self.unset:
                continue
            if kind.startswith(("vector", "set")):
                obj[name] = [] if raw == self.empty else self._elements(raw)
            elif kind in ("count", "port", "int"):
                # One that does not convert is kept as its text, as the JSON form would
                # carry it: the record's reader says what is wrong, and a response
                # field of the wrong type then loses the response, not the request.
                try:
                    obj[name] = int(raw)
                except ValueError:
                    obj[name] = _unescape(raw)
            elif kind in ("time", "interval", "double"):
                try:
                    obj[name] = float(raw)
                except ValueError:
                    obj[name] = _unescape(raw)
            else:
                obj[name] = "" if raw == self.empty else _unescape(raw)
        return obj

    def _elements(self, raw: bytes) -> list[str]:
        # Zeek's ASCII writer marks an empty string inside a vector with the
        # empty-field mark and an unset one with the unset mark, as it does a
        # column (a string that is literally either is escaped, \x28empty) or \x2d):
        # a header sent with no value must not read back as the text "(empty)".
        return [
            "" if x == self.empty or x == self.unset else _unescape(x)
            for x in raw.split(self.set_separator)
        ]

    def _header(self, line: bytes) -> None:
        if line.startswith(b"#separator "):
            self.separator = _unescape(line[11:]).encode("utf-8", "surrogateescape")
            return
        key, _, value = line[1:].partition(self.separator)
        if key == b"set_separator":
            self.set_separator = _unescape(value).encode("utf-8", "surrogateescape")
        elif key == b"empty_field":
            self.empty = value
        elif key == b"unset_field":
            self.unset = value
        elif key == b"fields":
            self.fields = [from_bytes(x) for x in value.split(self.separator)]
        elif key == b"types":
            self.types = [from_bytes(x) for x in value.split(self.separator)]
        if self.fields is not None and len(self.types) != len(self.fields):
            self.types = [*self.types, *["string"] * len(self.fields)][: len(self.fields)]


def _ts(obj: dict[str, Any]) -> float:
    value = obj.get("ts")
    if type(value) is float or type(value) is int:
        return float(value)
    if type(value) is str and not value[:4].isdigit():
        # Not a time in either form: said as both, since a TSV log's is epoch seconds
        # ("not an ISO 8601 time" sent a user of a masked log the wrong way).
        raise ValueError(f"ts: not a time (epoch seconds, or ISO 8601) ({value[:40]!r})")
    return iso_time(obj, "ts")  # LogAscii::json_timestamps = JSON::TS_ISO8601


def parsed_from_zeek(obj: Any, responses: bool = True) -> Parsed:
    """One Zeek http.log record (as JSON, or as :class:`ZeekTsv` gives it) as a
    request. Raises :class:`ValueError` naming the field that is wrong.
    ``responses=False`` (a consumer that prints requests only): the response is left
    out unless it carries a reflector's echo."""
    if type(obj) is not dict:
        raise ValueError("not a JSON object")
    uid = string(obj, "uid")
    names = optional_strings(obj, "client_header_names")
    values = optional_strings(obj, "client_header_values")
    anomalies: list[str] = []
    headers: list[Header]
    if names is not None and values is not None:
        if len(values) != len(names):
            raise ValueError("client_header_values: not as many as client_header_names")
        headers = list(zip(names, values, strict=True))
        anomalies.append(UPPER_CASED)
    elif names is not None:
        headers = []
        for name in names:
            apart = _KEPT_APART.get(name.upper())
            value = obj.get(apart) if apart is not None else None
            headers.append((name, value if type(value) is str else ""))
        anomalies += (NAMES_ONLY, UPPER_CASED)
    else:
        headers = []
        for name, key in (("Host", "host"), ("User-Agent", "user_agent"), ("Referer", "referrer")):
            value = obj.get(key)
            if type(value) is str:
                headers.append((name, value))
        anomalies.append(HEADERS_NOT_LOGGED)
    method = obj.get("method")
    uri = obj.get("uri")
    version = obj.get("version")
    ts = _ts(obj)
    request = _new_request(  # (positional_new: half the cost of Request(), once per line)
        ts=ts,
        # Zeek's uid names the connection; the flow number is derived from it so
        # that the requests of one connection share one.
        flow=zlib.crc32(uid.encode("utf-8", "surrogateescape")),
        depth=whole(obj, "trans_depth", 1),
        src=string(obj, "id.orig_h"),
        sport=whole(obj, "id.orig_p"),
        dst=string(obj, "id.resp_h"),
        dport=whole(obj, "id.resp_p"),
        method=method if type(method) is str else "-",
        uri=uri if type(uri) is str else None,
        version=f"HTTP/{version}" if type(version) is str else None,
        headers=tuple(headers),
        body=b"",
        body_length=whole(obj, "request_body_len", 0),
        anomalies=tuple(anomalies),
        authority=None,
        app="",
        input="",
        source="",
    )
    status = obj.get("status_code")
    if type(status) is not int:
        if status is not None:
            note = f"{RESPONSE_NOT_READ} (status_code: not a whole number)"
            request = replace(request, anomalies=(*request.anomalies, note))
        return _new_parsed(request, None, (), None, False)
    msg = obj.get("status_msg")
    try:
        server = strings(obj, "server_header_names")
        server_values = optional_strings(obj, "server_header_values")
    except ValueError as exc:
        # The request stands, its record saying what of the response was not read
        # (as a HAR's and an eve event's do): a response is no reason to lose it.
        note = f"{RESPONSE_NOT_READ} ({exc})"
        request = replace(request, anomalies=(*request.anomalies, note))
        return _new_parsed(request, None, (), None, False)
    response_headers = tuple(
        zip(server, server_values, strict=False)
        if server_values is not None and len(server_values) == len(server)
        else ((n, "") for n in server)
    )
    if not responses and not carries_echo(response_headers):
        return _new_parsed(request, None, (), None, False)
    response = Response(
        ts=ts,
        version=request.version or "",
        status=status,
        reason=msg if type(msg) is str else "",
        headers=response_headers,
    )
    return Parsed(request, response)
