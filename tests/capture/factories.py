"""Factories for records, findings and entries (mitmproxy's ``tutils.treq`` habit)."""

from __future__ import annotations

from typing import Any

from capture.model import Finding, Header, Record, Request, Response


def finding(kind: str = "msisdn", **kw: Any) -> Finding:
    """A finding; an MSISDN in ``x-up-calling-line-id`` unless overridden."""
    args: dict[str, Any] = {
        "name": "x-up-calling-line-id",
        "where": "header",
        "kind": kind,
        "value": "447700900123",
        "normalized": "+447700900123",
        "detector": "catalog",
        "severity": "high",
    }
    args.update(kw)
    return Finding(**args)


def request(**kw: Any) -> Request:
    """A GET of http://bbc.co.uk/page/1 from 10.64.0.7:40001 unless overridden."""
    args: dict[str, Any] = {
        "ts": 1326205331.52,
        "flow": 1,
        "depth": 1,
        "src": "10.64.0.7",
        "sport": 40001,
        "dst": "198.51.100.1",
        "dport": 80,
        "method": "GET",
        "uri": "/page/1",
        "version": "HTTP/1.1",
        "headers": (("Host", "bbc.co.uk"), ("User-Agent", "Mozilla/5.0 (Linux; Android 4.0)")),
    }
    args.update(kw)
    return Request(**args)


def response(status: int = 200, headers: tuple[Header, ...] = (), **kw: Any) -> Response:
    """A response head."""
    args: dict[str, Any] = {
        "ts": 1326205331.60,
        "version": "HTTP/1.1",
        "status": status,
        "reason": "OK",
        "headers": headers or (("Content-Type", "text/html; charset=utf-8"),),
    }
    args.update(kw)
    return Response(**args)


def record(
    record_id: int = 1,
    findings: tuple[Finding, ...] = (),
    resp: Response | None = None,
    **kw: Any,
) -> Record:
    """A record around :func:`request` (keyword arguments go to the request)."""
    return Record(record_id, request(**kw), findings, resp)


class FakeDetector:
    """Finds an MSISDN in ``x-up-calling-line-id`` and a tracking id in ``x-uidh``."""

    def detect(self, req: Request) -> tuple[Finding, ...]:
        out = []
        for name, value in req.headers:
            lname = name.lower()
            if lname == "x-up-calling-line-id":
                out.append(finding(name=name, value=value, normalized="+" + value.lstrip("+")))
            elif lname == "x-uidh":
                out.append(
                    finding(
                        "tracking_id", name=name, value=value, normalized=value, severity="medium"
                    )
                )
            elif lname == "x-canary":
                out.append(
                    finding("canary", name=name, value=value, normalized=value, detector="canary")
                )
        return tuple(out)
