"""The JSONL record (ARCHITECTURE.md contract): one line per request."""

from __future__ import annotations

from typing import Any

import orjson

from capture.model import Finding, Record, Response
from capture.text import for_json


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    """The ``findings`` entry of one finding."""
    out: dict[str, Any] = {
        "name": for_json(finding.name),
        "where": finding.where,
        "kind": finding.kind,
        "value": for_json(finding.value),
        "normalized": for_json(finding.normalized),
        "detector": finding.detector,
        "severity": finding.severity,
    }
    if finding.detail:
        out["detail"] = for_json(finding.detail)
    return out


def response_to_dict(response: Response) -> dict[str, Any]:
    """The ``response`` summary of a record."""
    return {
        "ts": response.ts,
        "status": response.status,
        "reason": for_json(response.reason),
        "version": for_json(response.version),
        "headers": [[for_json(n), for_json(v)] for n, v in response.headers],
    }


def record_to_dict(record: Record) -> dict[str, Any]:
    """A record as the JSON object of the contract (plus ``flow``, ``depth``, ...)."""
    req = record.request
    uri = req.uri
    host = req.host
    out: dict[str, Any] = {
        "ts": req.ts,
        "src": req.src,
        "sport": req.sport,
        "dst": req.dst,
        "dport": req.dport,
        "method": for_json(req.method),
        "uri": for_json(uri) if uri is not None else None,
        "version": for_json(req.version) if req.version is not None else None,
        "host": for_json(host) if host is not None else None,
        "headers": [[for_json(n), for_json(v)] for n, v in req.headers],
        "findings": [finding_to_dict(f) for f in record.findings],
        "id": record.id,
        "flow": req.flow,
        "depth": req.depth,
        "body_length": req.body_length,
    }
    if req.anomalies:
        out["anomalies"] = [for_json(a) for a in req.anomalies]
    if record.response is not None:
        out["response"] = response_to_dict(record.response)
    return out


def dumps(record: Record) -> str:
    """One JSONL line (no trailing newline)."""
    return orjson.dumps(record_to_dict(record)).decode()


def dumps_bytes(record: Record) -> bytes:
    """One JSONL line as UTF-8 bytes (no trailing newline)."""
    return orjson.dumps(record_to_dict(record))
