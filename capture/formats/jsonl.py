"""The JSONL record (ARCHITECTURE.md contract): one line per request.

Lines carry no raw control or bidi characters: C0 controls are escaped by the JSON
writer, and DEL, C1 and bidi controls as ``\\uXXXX`` by
:func:`capture.text.escape_json_bytes`, so ``cat`` of a JSONL file cannot drive the
terminal and ``jq`` still reads back the exact strings.
"""

from __future__ import annotations

from typing import Any

import orjson

from capture.model import Finding, Record, Response
from capture.text import escape_json_bytes, for_json


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
    if record.response is not None:
        out["response"] = _response_fields(record.response)
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


def dumps_around_id(record: Record) -> tuple[bytes, bytes]:
    """The JSONL line of ``record`` cut around its id: ``head + b"%d" % id + tail``
    is :func:`dumps_bytes`. A split scan's processes write lines this way and the
    parent, which alone knows the order, numbers them."""
    line = dumps_bytes(record)
    # Quotes inside JSON strings are escaped, so this is the top-level key.
    cut = line.index(b',"id":') + 6
    return line[:cut], line[line.index(b",", cut) :]
