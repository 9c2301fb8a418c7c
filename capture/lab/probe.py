"""``headerwatch probe URL``: what does the network add to a request on its way?

From the tethered laptop (or the phone's browser pointed at the reflector), a
plain-HTTP request with a known header block goes to ``headerwatch reflect``;
its echo says what arrived. Headers added in transit, with the identities they
carry, are the evidence: the laptop's own capture never shows them.
"""

from __future__ import annotations

import secrets
import socket
import time
import urllib.parse
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from capture.formats.jsonl import finding_to_dict, jsonable
from capture.http.echo import ECHO_HEADER, echo_of, touched_findings, transit
from capture.http.http1 import (
    MAX_HEAD,
    MalformedHead,
    find_head_end,
    parse_response_head,
    response_framing,
)
from capture.model import Finding, Header, Request, Response, Transit
from capture.pipeline import Detector
from capture.text import counted, printable

MAX_RESPONSE = 1 << 20


class ProbeError(Exception):
    """The probe could not be made or answered; ``str()`` is one line for the user."""


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """One probe: what was sent, what the reflector received, and the difference."""

    url: str
    ts: float
    sent: tuple[Header, ...]
    received: tuple[Header, ...]
    diff: Transit
    findings: tuple[Finding, ...]
    """Findings in the headers that were added or rewritten in transit."""

    @property
    def identities(self) -> tuple[Finding, ...]:
        """The findings that identify a subscriber or device."""
        return tuple(f for f in self.findings if f.is_identity)


def _user_agent() -> str:
    try:
        return f"headerwatch-probe/{metadata.version('headerwatch')}"
    except metadata.PackageNotFoundError:
        return "headerwatch-probe"


def _target(url: str) -> tuple[str, int, str, str]:
    """Host, port, Host header and request target of an http:// URL."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https":
        raise ProbeError(
            f"{url}: carriers cannot add headers inside TLS; probe over http:// instead"
        )
    try:
        port = parts.port or 80
    except ValueError:
        raise ProbeError(f"{url}: bad port") from None
    if parts.scheme != "http" or not parts.hostname:
        raise ProbeError(f"{url}: not an http:// URL")
    token = secrets.token_hex(8)  # a fresh URL: no cache on the way can answer for the reflector
    query = f"{parts.query}&" if parts.query else ""
    return (
        parts.hostname,
        port,
        parts.netloc,
        f"{parts.path or '/'}?{query}headerwatch-probe={token}",
    )


def _complete(data: bytearray) -> bool:
    """Whether ``data`` holds a whole response with a known end (no body, or a
    Content-Length): a proxy on the way may keep the connection open although the
    probe asked to close it."""
    end = find_head_end(data)
    if end < 0:
        return False
    try:
        head = parse_response_head(bytes(data[:end]))
    except MalformedHead:
        return False
    if head.status < 200:
        return False  # an interim response: the real one follows
    framing = response_framing("GET", head.status, head.headers)
    if framing.kind == "length":
        return len(data) >= end + framing.length
    return framing.kind == "none"


def _exchange(host: str, port: int, raw: bytes, timeout: float) -> bytes:
    where = f"{host}:{port}"
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(raw)
            data = bytearray()
            while len(data) < MAX_RESPONSE and not _complete(data):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
            return bytes(data)
    except socket.gaierror as exc:
        raise ProbeError(f"{host}: cannot resolve ({exc.strerror})") from None
    except ConnectionRefusedError:
        raise ProbeError(
            f"{where}: connection refused (is `headerwatch reflect --port {port}` running there?)"
        ) from None
    except TimeoutError:
        raise ProbeError(f"{where}: no answer within {timeout:g} s") from None
    except OSError as exc:
        raise ProbeError(f"{where}: {exc.strerror or exc}") from None


def probe(url: str, detector: Detector | None = None, timeout: float = 10.0) -> ProbeResult:
    """Send one probe to the reflector at ``url`` and compare what it received."""
    host, port, host_header, target = _target(url)
    sent: tuple[Header, ...] = (
        ("Host", host_header),
        ("User-Agent", _user_agent()),
        ("Accept", "*/*"),
        ("Connection", "close"),
    )
    head = f"GET {target} HTTP/1.1\r\n" + "".join(f"{n}: {v}\r\n" for n, v in sent) + "\r\n"
    ts = time.time()
    answer = _exchange(host, port, head.encode("ascii"), timeout)
    end = find_head_end(answer[:MAX_HEAD])
    if end < 0:
        raise ProbeError(f"{url}: the answer is not an HTTP response ({len(answer)} bytes)")
    try:
        response_head = parse_response_head(answer[:end])
    except MalformedHead as exc:
        raise ProbeError(f"{url}: the answer is not an HTTP response ({exc})") from None
    response = Response(
        ts, response_head.version, response_head.status, response_head.reason, response_head.headers
    )
    received = echo_of(response)
    if received is None:
        raise ProbeError(
            f"{url}: answered {response.status} without {ECHO_HEADER}: is this "
            "`headerwatch reflect`, and is nothing on the way stripping its headers?"
        )
    changes = transit(sent, received)
    findings: tuple[Finding, ...] = ()
    if detector is not None and changes.touched_names:
        as_received = Request(ts, 0, 1, "", 0, host, port, "GET", target, "HTTP/1.1", received)
        findings = touched_findings(changes, detector.detect(as_received))
    return ProbeResult(url, ts, sent, received, changes, findings)


def result_to_dict(result: ProbeResult) -> dict[str, Any]:
    """A probe as one JSON object (``headerwatch probe --format jsonl``)."""
    out: dict[str, Any] = jsonable(
        {
            "url": result.url,
            "ts": result.ts,
            "sent": result.sent,
            "received": result.received,
            "injected": result.diff.injected,
            "removed": result.diff.removed,
            "changed": result.diff.changed,
        }
    )
    out["findings"] = [finding_to_dict(f) for f in result.findings]
    return out


def describe(result: ProbeResult) -> list[str]:
    """The probe for people: one line of verdict, then each difference (terminal-safe)."""
    d = result.diff
    ids = result.identities
    if not d.altered:
        verdict = "nothing added, removed or changed on the way"
    else:
        verdict = (
            f"{counted(len(d.injected), 'header')} added, {len(d.removed)} removed, "
            f"{len(d.changed)} changed on the way"
        )
        if ids:
            verdict += f"; {counted(len(ids), 'identity', 'identities')} injected"
    lines = [f"{printable(result.url)}: {verdict}"]
    by_name: dict[str, list[Finding]] = {}
    for finding in result.findings:
        by_name.setdefault(finding.name.lower(), []).append(finding)
    for name, value in d.injected:
        found = by_name.get(name.lower(), [])
        note = "; ".join(f"{f.kind} {printable(f.normalized)}" for f in found)
        lines.append(
            f"  + {printable(name)}: {printable(value)}" + (f"   [{note}]" if note else "")
        )
    for name, value in d.removed:
        lines.append(f"  - {printable(name)}: {printable(value)}")
    for name, sent, received in d.changed:
        found = by_name.get(name.lower(), [])
        note = "; ".join(f"{f.kind} {printable(f.normalized)}" for f in found)
        lines.append(
            f"  ~ {printable(name)}: {printable(sent)} → {printable(received)}"
            + (f"   [{note}]" if note else "")
        )
    return lines
