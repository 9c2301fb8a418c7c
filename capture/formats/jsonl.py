"""The JSONL record (the contract in docs/jsonl.md): one line per request, and back.

Lines carry no raw control or bidi characters: C0 controls are escaped by the JSON
writer, and DEL, C1 and bidi controls as ``\\uXXXX`` by
:func:`capture.text.escape_json_bytes`, so ``cat`` of a JSONL file cannot drive the
terminal and ``jq`` still reads back the exact strings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from capture.model import Finding, Header, Parsed, Record, Request, Response, Transit
from capture.text import escape_json_bytes, for_json

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


def _record_fields(record: Record) -> dict[str, Any]:
    """The record's JSON object with strings as decoded (undecodable bytes still
    lone surrogates) and tuples where JSON has arrays."""
    req = record.request
    out: dict[str, Any] = {
        "ts": req.ts,
        "src": req.src,
        "sport": req.sport,
        "dst": req.dst,
        "dport": req.dport,
        "method": req.method,
        "uri": req.uri,
        "version": req.version,
        "host": req.host,
        "headers": req.headers,
        "findings": [_finding_fields(f) for f in record.findings],
        "id": record.id,
        "flow": req.flow,
        "depth": req.depth,
        "body_length": req.body_length,
    }
    if req.anomalies:
        out["anomalies"] = req.anomalies
    if req.authority is not None:
        out["authority"] = req.authority
    if req.app:
        out["app"] = req.app
    if record.response is not None:
        out["response"] = _response_fields(record.response)
    moved = record.transit
    if moved is not None:
        # Sent versus received (a reflector's echo); their findings are in "findings".
        out["injected"] = moved.injected
        out["removed"] = moved.removed
        out["changed"] = moved.changed
    return out


def jsonable(value: Any) -> Any:
    """``value`` with every string made valid UTF-8 (:func:`for_json`), arrays as lists:
    ready for any JSON writer, e.g. header pairs as ``[[name, value], ...]``."""
    if isinstance(value, str):
        return for_json(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [jsonable(v) for v in value]
    return value


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    """The ``findings`` entry of one finding."""
    out: dict[str, Any] = jsonable(_finding_fields(finding))
    return out


def record_to_dict(record: Record) -> dict[str, Any]:
    """A record as the JSON object of the contract (plus ``flow``, ``depth``, ...)."""
    out: dict[str, Any] = jsonable(_record_fields(record))
    return out


def dumps_bytes(record: Record) -> bytes:
    """One JSONL line as UTF-8 bytes (no trailing newline)."""
    return dumps_json(_record_fields(record))


def dumps_json(value: Any) -> bytes:
    """Any JSON value as one line of UTF-8 bytes, safe to print: undecodable bytes
    as ``\\xNN`` (:func:`for_json`), control and bidi characters as ``\\uXXXX``."""
    try:
        line = orjson.dumps(value)
    except orjson.JSONEncodeError:
        # Undecodable bytes (rare): written as \\xNN, the convention of Zeek's logs.
        line = orjson.dumps(jsonable(value))
    return escape_json_bytes(line)


def dumps(record: Record) -> str:
    """One JSONL line (no trailing newline)."""
    return dumps_bytes(record).decode()


def dumps_entry(item: Record | Entry) -> str:
    """One JSONL line of a record, or of a dashboard entry with the user's state
    (``marked``, ``comment``) added."""
    if isinstance(item, Record):
        return dumps(item)
    fields = _record_fields(item.record)
    if item.marked:
        fields["marked"] = True
    if item.comment:
        fields["comment"] = item.comment
    return dumps_json(fields).decode()


def dumps_around_id(record: Record) -> tuple[bytes, bytes]:
    """The JSONL line of ``record`` cut around its id: ``head + b"%d" % id + tail``
    is :func:`dumps_bytes`. A split scan's processes write lines this way and the
    parent, which alone knows the order, numbers them."""
    line = dumps_bytes(record)
    # Quotes inside JSON strings are escaped, so this is the top-level key.
    cut = line.index(b',"id":') + 6
    return line[:cut], line[line.index(b",", cut) :]


# --- reading records back ------------------------------------------------------------


STATUS_KEYS = ("headerwatch_session", "headerwatch_addon")
"""Top-level keys of lines that are not requests: a record session's first line
(:mod:`capture.formats.record_session`) and the mitmproxy add-on's status line
(``capture/data/mitmproxy_addon.py``)."""


def parsed_from_dict(obj: Any) -> Parsed | None:
    """A JSONL record (as written by :func:`dumps`, or by the mitmproxy add-on) back as
    a request to feed the pipeline; None for a status line (:data:`STATUS_KEYS`).

    Findings are found again by the detector, as for a capture; only those in the
    body (which the record does not keep) are carried over as written. Raises
    :class:`ValueError` naming the first field that is missing or of the wrong type.
    """
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    if len(obj) == 1 and next(iter(obj)) in STATUS_KEYS:
        return None
    request = Request(
        ts=_number(obj, "ts"),
        flow=_int(obj, "flow", 0),
        depth=_int(obj, "depth", 1),
        src=_str(obj, "src"),
        sport=_int(obj, "sport"),
        dst=_str(obj, "dst"),
        dport=_int(obj, "dport"),
        method=_str(obj, "method"),
        uri=_optional_str(obj, "uri"),
        version=_optional_str(obj, "version"),
        headers=_headers(obj, "headers"),
        body_length=_int(obj, "body_length", 0),
        anomalies=tuple(_strings(obj, "anomalies")),
        authority=_optional_str(obj, "authority"),
        app=_str(obj, "app", ""),
    )
    response = None
    if obj.get("response") is not None:
        r = obj["response"]
        if not isinstance(r, dict):
            raise ValueError("response: not an object")
        response = Response(
            ts=_number(r, "ts"),
            version=_str(r, "version"),
            status=_int(r, "status"),
            reason=_str(r, "reason"),
            headers=_headers(r, "headers"),
        )
    carried = tuple(
        _finding(f)
        for f in _list(obj, "findings")
        if isinstance(f, dict) and f.get("where") == "body"
    )
    return Parsed(request, response, carried, _transit(obj, request.headers))


def _transit(obj: dict[str, Any], sent: tuple[Header, ...]) -> Transit | None:
    """The record's sent versus received, with the received block rebuilt from the
    headers as sent and what was injected, removed and changed (the record does not
    keep the block itself); None when the record had no echo."""
    if not any(key in obj for key in ("injected", "removed", "changed")):
        return None
    injected = _headers(obj, "injected")
    removed = _headers(obj, "removed")
    changed: list[tuple[str, str, str]] = []
    for triple in _list(obj, "changed"):
        if not (
            isinstance(triple, list)
            and len(triple) == 3
            and all(isinstance(x, str) for x in triple)
        ):
            raise ValueError("changed: not a list of [name, sent, received] triples")
        changed.append((triple[0], triple[1], triple[2]))
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
        name=_str(f, "name"),
        where=_str(f, "where"),
        kind=_str(f, "kind"),
        value=_str(f, "value"),
        normalized=_str(f, "normalized"),
        detector=_str(f, "detector"),
        severity=_str(f, "severity"),
        detail=_str(f, "detail", ""),
    )


_MISSING = object()


def _get(obj: dict[str, Any], key: str, default: Any) -> Any:
    value = obj.get(key, default)
    if value is _MISSING:
        raise ValueError(f"{key}: missing")
    return value


def _number(obj: dict[str, Any], key: str) -> float:
    value = _get(obj, key, _MISSING)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{key}: not a number")
    return float(value)


def _int(obj: dict[str, Any], key: str, default: Any = _MISSING) -> int:
    value = _get(obj, key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{key}: not a whole number")
    return value


def _str(obj: dict[str, Any], key: str, default: Any = _MISSING) -> str:
    value = _get(obj, key, default)
    if not isinstance(value, str):
        raise ValueError(f"{key}: not a string")
    return value


def _optional_str(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{key}: not a string")
    return value


def _list(obj: dict[str, Any], key: str) -> list[Any]:
    value = obj.get(key, [])
    if not isinstance(value, list):
        raise ValueError(f"{key}: not a list")
    return value


def _strings(obj: dict[str, Any], key: str) -> list[str]:
    values = _list(obj, key)
    if not all(isinstance(v, str) for v in values):
        raise ValueError(f"{key}: not a list of strings")
    return values


def _headers(obj: dict[str, Any], key: str) -> tuple[Header, ...]:
    out = []
    for pair in _list(obj, key):
        if not (
            isinstance(pair, list)
            and len(pair) == 2
            and isinstance(pair[0], str)
            and isinstance(pair[1], str)
        ):
            raise ValueError(f"{key}: not a list of [name, value] pairs")
        out.append((pair[0], pair[1]))
    return tuple(out)
