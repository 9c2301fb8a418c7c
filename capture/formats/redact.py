"""``--redact``: exports that can be shared without the identities in them.

Each identity value a record's findings name is replaced, wherever it appears in
the record (header values, URL, body, response headers, the findings), by a
mask that keeps what is useful to a reader and nothing more::

    <msisdn …23 #3f9a1c2b7e>

the kind, the last two digits of the normalized value, and a keyed hash of it:
HMAC-SHA-256 with a random key made for each output file and never written
anywhere. Within one file, the same number always gets the same mask, so
requests can still be correlated ("these five sites got the same number");
across files, and to anyone without the key, the masks say nothing: a phone
number has too few possible values for a plain hash to hide it.

What is masked is what was found, for the identity kinds and client addresses
(:data:`MASKED_KINDS`; a Via header's network name stays): the value as sent,
its URL-encoded form and the normalized value. A finding's ``detail`` (which
may spell the number out, e.g. "sha256 of +447700900123") is replaced by the
mask.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from capture.http.echo import ECHO_HEADER
from capture.model import IDENTITY_KINDS, Finding, Header, Record, Transit

MASKED_KINDS = frozenset((*IDENTITY_KINDS, "client_ip"))
"""Kinds of finding whose values are masked."""

HASH_DIGITS = 10
"""Hex digits of the keyed hash kept in a mask: 40 bits, no collision within a file."""


ECHO_REDACTED = "(redacted: the reflector's echo holds the identities)"
"""What a redacted output shows in place of the echo header's value."""
_ECHO = ECHO_HEADER.lower()


@dataclass(frozen=True, slots=True)
class Redactor:
    """Masks identity values with a key of its own (one per output file)."""

    key: bytes

    @classmethod
    def new(cls) -> Redactor:
        """A redactor with a fresh random key."""
        return cls(secrets.token_bytes(32))

    def mask(self, kind: str, normalized: str) -> str:
        """The mask of one identity value: kind, last two digits, keyed hash."""
        digits = "".join(ch for ch in normalized if ch.isdigit())
        tag = hmac.new(self.key, normalized.encode("utf-8", "surrogateescape"), hashlib.sha256)
        tail = f" …{digits[-2:]}" if len(digits) >= 2 else ""
        return f"<{kind}{tail} #{tag.hexdigest()[:HASH_DIGITS]}>"

    def record(self, record: Record) -> Record:
        """``record`` with every identity value its findings name masked everywhere."""
        if not any(f.kind in MASKED_KINDS for f in record.findings):
            return record
        swaps: dict[str, str] = {}
        for finding in record.findings:
            if finding.kind not in MASKED_KINDS:
                continue
            masked = self.mask(finding.kind, finding.normalized)
            for text in (finding.value, quote(finding.value, safe=""), finding.normalized):
                if len(text) >= 4:  # shorter would mask ordinary text around it
                    swaps.setdefault(text, masked)
        # Longest first: "+447700900123" before its "447700900123".
        ordered = sorted(swaps.items(), key=lambda item: -len(item[0]))

        def scrub(text: str) -> str:
            for value, masked in ordered:
                if value in text:
                    text = text.replace(value, masked)
            return text

        def scrub_bytes(data: bytes) -> bytes:
            for value, masked in ordered:
                raw = value.encode("utf-8", "surrogateescape")
                if raw in data:
                    data = data.replace(raw, masked.encode("utf-8"))
            return data

        req = record.request
        request = dataclasses.replace(
            req,
            uri=scrub(req.uri) if req.uri is not None else None,
            headers=tuple((name, scrub(value)) for name, value in req.headers),
            body=scrub_bytes(req.body),
            anomalies=tuple(scrub(a) for a in req.anomalies),
        )
        response = record.response
        if response is not None:
            response = dataclasses.replace(
                response,
                reason=scrub(response.reason),
                headers=tuple(
                    # The reflector's echo is the received block, base64-encoded: the
                    # identities are in it where no search for their text finds them.
                    (name, ECHO_REDACTED if name.lower() == _ECHO else scrub(value))
                    for name, value in response.headers
                ),
            )
        moved = record.transit
        if moved is not None:

            def pairs(headers: tuple[Header, ...]) -> tuple[Header, ...]:
                return tuple((name, scrub(value)) for name, value in headers)

            moved = Transit(
                pairs(moved.received),
                pairs(moved.injected),
                pairs(moved.removed),
                tuple((name, scrub(sent), scrub(got)) for name, sent, got in moved.changed),
            )
        findings = tuple(
            # A finding with no value (a names-only log) has nothing to mask.
            self._finding(f, scrub) if f.kind in MASKED_KINDS and f.value else f
            for f in record.findings
        )
        return dataclasses.replace(
            record, request=request, findings=findings, response=response, transit=moved
        )

    def _finding(self, finding: Finding, scrub: Callable[[str], str]) -> Finding:
        masked = self.mask(finding.kind, finding.normalized)
        return dataclasses.replace(
            finding,
            name=scrub(finding.name),
            value=masked,
            normalized=masked,
            detail=masked if finding.detail else "",
        )
