"""The JSONL record (the contract in docs/jsonl.md): one line per request, and back.

Lines carry no raw control, bidi or invisible characters: C0 controls are escaped by
the JSON writer, and DEL, C1, bidi controls and characters that show as nothing (zero-width
space, soft hyphen, BOM...) as ``\\uXXXX`` by
:func:`capture.text.escape_json_bytes`, so ``cat`` of a JSONL file cannot drive the
terminal and ``jq`` still reads back the exact strings.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

from capture.formats.jsonobject import json_unsafe_in_c, object_from_array_c
from capture.http.echo import carries_echo
from capture.http.stream import BODY_CAP
from capture.model import (
    Finding,
    Header,
    Parsed,
    Record,
    Request,
    Response,
    Transit,
    positional_new,
)
from capture.sources.json_fields import (
    array,
    mapping,
    number,
    optional_string,
    pairs,
    string,
    strings,
    whole,
)
from capture.text import escape_json_bytes, jsonable

if TYPE_CHECKING:
    from capture.view.store import Entry


def _finding_fields(finding: Finding) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": finding.name,
        "where": finding.where,
        "kind": finding.kind,
        "value": finding.value,
        "normalized": finding.normalized,
        "detector": finding.detector,
        "severity": finding.severity,
    }
    if finding.detail:
        out["detail"] = finding.detail
    return out


def _response_fields(response: Response) -> dict[str, Any]:
    return {
        "ts": response.ts,
        "status": response.status,
        "reason": response.reason,
        "version": response.version,
        "headers": response.headers,
    }


_RECORD_KEYS = (
    "ts",
    "src",
    "sport",
    "dst",
    "dport",
    "method",
    "uri",
    "version",
    "host",
    "headers",
    "findings",
    "id",
    "flow",
    "depth",
    "body_length",
)
"""The keys of every record's object, in order: those of :func:`_record_values`."""
_RECORD_KEYS_JSON = tuple(orjson.dumps(key) for key in _RECORD_KEYS)


def _record_values(record: Record) -> tuple[Any, ...]:
    """The values of :data:`_RECORD_KEYS` for ``record``, as :func:`_record_fields`
    has them (tuples where JSON has arrays: orjson writes both as arrays, and a tuple
    is one allocation, none for the many records without findings)."""
    req = record.request
    headers = req.headers
    findings = record.findings
    return (
        req.ts,
        req.src,
        req.sport,
        req.dst,
        req.dport,
        req.method,
        req.uri,
        req.version,
        # Request.host where the first header is Host (spelt so, nearly always),
        # written out: a property costs a call from C, once per line.
        headers[0][1]
        if headers and ((name := headers[0][0]) == "Host" or name.lower() == "host")
        else req.host,
        headers,
        # (No comprehension for the many records without findings: it is a call.)
        [_finding_fields(f) for f in findings] if findings else (),
        record.id,
        req.flow,
        req.depth,
        req.body_length,
    )


def _record_fields(record: Record) -> dict[str, Any]:
    """The record's JSON object with strings as decoded (undecodable bytes still
    lone surrogates) and tuples where JSON has arrays."""
    req = record.request
    out: dict[str, Any] = dict(zip(_RECORD_KEYS, _record_values(record), strict=True))
    if req.anomalies:
        out["anomalies"] = req.anomalies
    if req.authority is not None:
        out["authority"] = req.authority
    if req.app:
        out["app"] = req.app
    if req.input:
        # One of several inputs: "flow" is numbered within it (Pipeline.begin).
        out["input"] = req.input
    if req.source:
        # What recorded it (the mitmproxy add-on, a HAR): kept, as it says where the
        # request was seen, which decides who put an identity header in it.
        out["source"] = req.source
    if record.response is not None:
        out["response"] = _response_fields(record.response)
    moved = record.transit
    if moved is not None:
        # Sent versus received (a reflector's echo); their findings are in "findings".
        out["injected"] = moved.injected
        out["removed"] = moved.removed
        out["changed"] = moved.changed
        if moved.signed:
            out["echo_signed"] = True
    return out


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    """The ``findings`` entry of one finding."""
    out: dict[str, Any] = jsonable(_finding_fields(finding))
    return out


def record_to_dict(record: Record) -> dict[str, Any]:
    """A record as the JSON object of the contract (plus ``flow``, ``depth``, ...)."""
    out: dict[str, Any] = jsonable(_record_fields(record))
    return out


_dumps = orjson.dumps


def dumps_bytes(record: Record) -> bytes:
    """One JSONL line as UTF-8 bytes (no trailing newline)."""
    req = record.request
    if object_from_array_c is not None and not (
        req.anomalies
        or req.authority is not None
        or req.app
        or req.input
        or req.source
        or record.response is not None
        or record.transit is not None
    ):
        # A record with none of the optional keys (most): its values written as an
        # array, the keys put in in C (capture.formats.jsonobject): a tenth fewer
        # instructions a line than the dict and orjson's object. The same bytes:
        # tests/capture/formats/test_jsonobject.py.
        try:
            line = object_from_array_c(_RECORD_KEYS_JSON, _dumps(_record_values(record)))
        except orjson.JSONEncodeError:
            line = None  # undecodable bytes (rare): dumps_json writes them
        if line is not None:
            # _escaped's first test in line (a call a line is 1/300 of a scan): nearly
            # every line is ASCII without DEL.
            if line.isascii() and line.find(b"\x7f") < 0:
                return line
            return _escaped(line)
    return dumps_json(_record_fields(record))


def dumps_json(value: Any) -> bytes:
    """Any JSON value as one line of UTF-8 bytes, safe to print: undecodable bytes
    as ``\\xNN`` (:func:`for_json`), control, bidi and invisible characters as ``\\uXXXX``."""
    try:
        line = orjson.dumps(value)
    except orjson.JSONEncodeError:
        # Undecodable bytes (rare): written as \\xNN, the convention of Zeek's logs.
        line = orjson.dumps(jsonable(value))
    return _escaped(line)


def _escaped(line: bytes) -> bytes:
    """``line`` (orjson's) as :func:`~capture.text.escape_json_bytes` has it."""
    # Its first test, written out: most lines are ASCII without DEL. A line with a
    # finding is not (the "·" of its detail): asked of json_unsafe_in in C first.
    if line.isascii():
        if line.find(b"\x7f") < 0:
            return line
    elif json_unsafe_in_c is not None and not json_unsafe_in_c(line):
        return line
    return escape_json_bytes(line)


def dumps(record: Record) -> str:
    """One JSONL line (no trailing newline)."""
    return dumps_bytes(record).decode()


def dumps_entry(item: Record | Entry) -> str:
    """One JSONL line of a record, or of a dashboard entry with the user's state
    (``marked``, ``comment``) added."""
    return dumps_entry_bytes(item).decode()


def dumps_entry_bytes(item: Record | Entry) -> bytes:
    """:func:`dumps_entry` as UTF-8 bytes, for a writer of bytes (``scan`` to a file
    or pipe): no decoding to ``str`` and encoding back."""
    if isinstance(item, Record):
        return dumps_bytes(item)
    fields = _record_fields(item.record)
    if item.marked:
        fields["marked"] = True
    if item.comment:
        fields["comment"] = item.comment
    return dumps_json(fields)


REFLECTOR_KEY = "reflector"
"""Key of the records ``reflect`` writes (``true``): the request as a reflector
received it. A study (``report --study``) judges a request of such a log by what
arrived; any other record without an echo cannot say what the device sent."""


REFLECTOR_SOURCE = "reflector"
""":attr:`~capture.model.Request.source` of a request read from a reflector's own log
(a line with :data:`REFLECTOR_KEY`), written as ``"source": "reflector"`` when the
request is written again (a scan's JSONL, a session, an export), so that it still says
it was seen as the server received it."""


REFUSED_NOTE = "refused by the reflector"
"""How the anomaly of a request the reflector refused after reading its head begins
(:func:`refused_note`): it was answered with an error, not its echo, and recorded with
what had arrived, as evidence of what was added on the way. A report counts these by it."""


def refused_note(status: int, why: str) -> str:
    """The anomaly of a request the reflector refused with ``status`` because of ``why``:
    ``refused by the reflector: 400 whitespace before colon in header 'X-MSISDN'``."""
    return f"{REFUSED_NOTE}: {status} {why}"


def reflector_line(line: str) -> str:
    """A record's JSONL ``line`` (an object, no newline) marked as a reflector's own
    (:data:`REFLECTOR_KEY`)."""
    return f'{line[:-1]},"{REFLECTOR_KEY}":true}}'


def is_reflector_record(obj: Any) -> bool:
    """Whether a decoded JSONL line is a record ``reflect`` wrote."""
    return type(obj) is dict and obj.get(REFLECTOR_KEY) is True


ID_KEY = b',"id":'
"""What comes before a record's id in its JSONL line, the id's digits then ending at
the next comma. Quotes inside JSON strings are escaped, so this is a key; the last one
in a line is the record's own, since no object after it (the response) has an id. A
split scan's processes write their lines with their own ids, and the parent, which
alone knows the order, replaces them: it looks from the end, where the id is near
(after the headers and findings)."""


# --- reading records back ------------------------------------------------------------


STATUS_KEYS = ("headerwatch_session", "headerwatch_addon")
"""Top-level keys of lines that are not requests: a record session's first line
(:mod:`capture.formats.record_session`) and the mitmproxy add-on's status line
(``capture/data/mitmproxy_addon.py``)."""


def is_status(obj: Any) -> bool:
    """Whether a JSONL line's object is one of headerwatch's status lines
    (:data:`STATUS_KEYS`), not a request."""
    return type(obj) is dict and len(obj) == 1 and next(iter(obj)) in STATUS_KEYS


_new_parsed = positional_new(Parsed)
"""``Parsed(...)`` by position, once per line (:func:`capture.model.positional_new`)."""

_NONE: tuple[tuple[Finding, ...], bool] = ((), False)
"""What :func:`carried_findings` gives a record without findings."""


def parsed_from_dict(obj: Any, responses: bool = True) -> Parsed | None:
    """A JSONL record (as written by :func:`dumps`, or by the mitmproxy add-on) back as
    a request to feed the pipeline; None for a status line (:data:`STATUS_KEYS`).

    Findings are found again by the detector, as for a capture; those in the body
    are carried over as written unless the record carries the body (the add-on's
    ``body`` or ``body_base64``, of which the first :data:`BODY_CAP` bytes are
    kept, as of a captured body), when they are found again too. A redacted record
    keeps all its findings as written instead (:func:`carried_findings`). Raises
    :class:`ValueError` naming the first field that is missing or of the wrong type
    (:mod:`capture.sources.json_fields`). ``responses=False`` (a consumer that prints
    requests only): the response is left out unless it carries a reflector's echo.
    """
    if type(obj) is not dict:
        raise ValueError("not a JSON object")
    if is_status(obj):
        return None
    body = _body(obj)
    request = Request(
        ts=number(obj, "ts"),
        flow=whole(obj, "flow", 0),
        depth=whole(obj, "depth", 1),
        src=string(obj, "src"),
        sport=whole(obj, "sport"),
        dst=string(obj, "dst"),
        dport=whole(obj, "dport"),
        method=string(obj, "method"),
        uri=optional_string(obj, "uri"),
        version=optional_string(obj, "version"),
        headers=pairs(obj, "headers"),
        body=b"" if body is None else body[:BODY_CAP],
        body_length=whole(obj, "body_length", 0),
        anomalies=tuple(strings(obj, "anomalies")),
        authority=optional_string(obj, "authority"),
        app=string(obj, "app", ""),
        input=string(obj, "input", ""),
        # A reflector's own line says so by its "reflector" key: kept as its source, so
        # that the request, written again, still says where it was seen.
        source=string(obj, "source", "") or (REFLECTOR_SOURCE if is_reflector_record(obj) else ""),
    )
    response = None
    if obj.get("response") is not None:
        r = mapping(obj, "response")
        headers = pairs(r, "headers", "response")
        response = Response(
            ts=number(r, "ts", at="response"),
            version=string(r, "version", at="response"),
            status=whole(r, "status", at="response"),
            reason=string(r, "reason", at="response"),
            headers=headers,
        )
        if not responses and not carries_echo(headers):
            response = None
    findings = array(obj, "findings")
    # (No call for the many records without findings.)
    carried, written = carried_findings(findings, body is None, _finding) if findings else _NONE
    return _new_parsed(request, response, carried, _transit(obj, request.headers), written)


def carried_findings(
    findings: list[Any], bodiless: bool, read: Callable[[dict[str, Any]], Finding]
) -> tuple[tuple[Finding, ...], bool]:
    """The findings a record file's record carries over (each object read with
    ``read``), and whether they are all of its findings
    (:attr:`~capture.model.Parsed.as_written`).

    A redacted record (a finding's value is a mask of ``--redact``:
    :func:`capture.formats.redact.is_mask`) carries all of them, as written: a mask
    cannot be found again (the detector would read it as an opaque subscriber ID).
    Any other carries those in the body when it keeps no body (``bodiless``), those
    of the recurrence detector: a token that reached its N-th site depends on
    requests the file may not hold (a filtered export keeps the N-th on, not the
    first sites), so it may not be found again; and the canaries': the values
    looked for were options of the run that wrote the file, which holds only their
    digests (a session reopened without them lost its canary findings but a body's).
    The pipeline keeps those unless it finds them again
    (:func:`capture.identity.detector.with_carried`). The rest are found again."""
    kept: list[dict[str, Any]] = []
    # One pass, no call (the many findings of a log that was not redacted): a mask
    # is looked for only in a value that starts as one.
    for f in findings:
        if type(f) is dict:
            value = f.get("value")
            if type(value) is str and value[:1] == "<" and _is_mask(value):
                return tuple(read(every) for every in findings if type(every) is dict), True
            if (bodiless and f.get("where") == "body") or f.get("detector") in _OPTIONS_FOUND:
                kept.append(f)
    return (tuple(map(read, kept)) if kept else ()), False


_OPTIONS_FOUND = ("recurrence", "canary")
"""The detectors whose findings depend on more than the record: recurrence's
(:data:`capture.identity.recurrence.DETECTOR`) and the canaries' (``CANARY``), spelt
here: reading a file imports no detector."""


def _is_mask(text: str) -> bool:
    # Imported here: the redactor loads hmac (OpenSSL), which reading a file that was
    # not redacted does without.
    from capture.formats.redact import is_mask

    return is_mask(text)


def _body(obj: dict[str, Any]) -> bytes | None:
    """The request body a record carries (``body`` as text, or ``body_base64``), or
    None when it carries none (headerwatch's own writers keep only its findings)."""
    text = optional_string(obj, "body")
    encoded = optional_string(obj, "body_base64")
    if text is not None and encoded is not None:
        raise ValueError("body_base64: beside body (one or the other)")
    if text is not None:
        # surrogatepass: any string JSON can hold gives bytes, none an error.
        return text.encode("utf-8", "surrogatepass")
    if encoded is not None:
        try:
            return base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("body_base64: not base64") from None
    return None


def _transit(obj: dict[str, Any], sent: tuple[Header, ...]) -> Transit | None:
    """The record's sent versus received, with the received block rebuilt from the
    headers as sent and what was injected, removed and changed (the record does not
    keep the block itself); None when the record had no echo."""
    if not any(key in obj for key in ("injected", "removed", "changed")):
        return None
    injected = pairs(obj, "injected")
    removed = pairs(obj, "removed")
    changed: list[tuple[str, str, str]] = []
    for triple in array(obj, "changed"):
        if not (type(triple) is list and len(triple) == 3 and all(type(x) is str for x in triple)):
            raise ValueError("changed: not a list of [name, sent, received] triples")
        changed.append((triple[0], triple[1], triple[2]))
    received = rebuild_received(sent, injected, removed, changed)
    signed = obj.get("echo_signed") is True or None
    return Transit(received, injected, removed, tuple(changed), signed)


def rebuild_received(
    sent: tuple[Header, ...],
    injected: tuple[Header, ...],
    removed: tuple[Header, ...],
    changed: list[tuple[str, str, str]],
) -> tuple[Header, ...]:
    """The header block as received, from the block as sent and what a record says
    was injected, removed and changed on the way (records keep only those)."""
    received = list(sent)
    for header in removed:
        if header in received:
            received.remove(header)
    for name, was, now in changed:
        # Its name as received: a proxy may write it in another case than the phone did.
        lower = name.lower()
        for at, (sent_name, value) in enumerate(received):
            if value == was and sent_name.lower() == lower:
                received[at] = (name, now)
                break
    received += injected
    return tuple(received)


def _finding(f: dict[str, Any]) -> Finding:
    at = "findings"
    return Finding(
        name=string(f, "name", at=at),
        where=string(f, "where", at=at),
        kind=string(f, "kind", at=at),
        value=string(f, "value", at=at),
        normalized=string(f, "normalized", at=at),
        detector=string(f, "detector", at=at),
        severity=string(f, "severity", at=at),
        detail=string(f, "detail", "", at=at),
    )
