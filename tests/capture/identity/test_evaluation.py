"""Recall, precision and E.164 normalisation on a held-out set built from published sources.

``evaluation/positives.jsonl`` holds identities as published (carrier header names
from Access Now, jpmobile, mobile-subscriber, JGC-2012, dabr-Orange, Adobe Analytics'
table of subscriber-ID headers; values from the same sources where they give one),
and ``evaluation/negatives.jsonl`` values that look like numbers but are not
identities (timestamps, ISBNs, build numbers, order IDs, trace IDs) under the names
they travel with; ``evaluation/README.md`` says where each came from. Every positive
is tried in every place its name can carry it (header, cookie, query, form body; a
body also as JSON, as an app's SDK posts it (plain and gzip-compressed), as a
multipart form and as XML; a query
also as an analytics event, JSON in one parameter, base64-wrapped or percent-encoded,
and as a claim of a JWT;
a header also as a field of JSON in a header) and in every wrapping listed for it
(bare, ``+``, percent-encoded, ``tel:``, hex, base64); every negative in every place
listed.

Targets (issue 16): recall >= 0.98, precision >= 0.99, and every phone number found
normalised to the expected E.164 number.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.model import Finding, Header, Request
from tests.capture.factories import request

HERE = Path(__file__).with_name("evaluation")
_XML_NAME = re.compile(r"[A-Za-z_][\w.-]*")
_JWT_REGISTERED = frozenset({"iss", "sub", "aud", "exp", "nbf", "iat", "jti"})
_BASE: tuple[Header, ...] = (
    ("Host", "www.example.com"),
    ("User-Agent", "Mozilla/5.0 (Linux; Android 14; Pixel 8) Mobile Safari/537.36"),
    ("Accept", "*/*"),
)


@dataclass(frozen=True, slots=True)
class Case:
    """One request to detect in, and what must (or must not) be found."""

    label: str
    request: Request
    region: str | None
    kind: str | None
    """The identity kind that must be found; ``None`` for a negative."""
    expected: str | None
    """The normalised value it must have (E.164 for phone numbers), when known."""


def _load(name: str) -> list[dict[str, Any]]:
    with (HERE / name).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _encode(value: str, e164: str | None, encoding: str) -> str:
    """``value`` in one wrapping. Phone numbers in "+" forms use the E.164 number."""
    if encoding == "plain":
        return value
    if encoding == "plus":
        return e164 or value
    if encoding == "percent":
        return quote(e164 or value, safe="")
    if encoding == "tel":
        return f"tel:{e164 or value}"
    if encoding == "hex":
        return value.encode().hex()
    if encoding == "base64":
        return base64.b64encode(value.encode()).decode()
    raise ValueError(encoding)


def _place(name: str, value: str, place: str) -> Request:
    if place == "header":
        return request(headers=(*_BASE, (name, value)))
    if place == "cookie":
        return request(headers=(*_BASE, ("Cookie", f"a=1; {name}={value}; b=2")))
    if place == "query":
        return request(uri=f"/p?x=1&{quote(name)}={quote(value, safe='')}&y=2", headers=_BASE)
    if place == "body":
        body = f"x=1&{quote(name)}={quote(value, safe='')}".encode()
        headers = (*_BASE, ("Content-Type", "application/x-www-form-urlencoded"))
        return request(method="POST", headers=headers, body=body, body_length=len(body))
    if place == "json":
        body = json.dumps({"x": 1, "event": {name: value}}).encode()
        headers = (*_BASE, ("Content-Type", "application/json"))
        return request(method="POST", headers=headers, body=body, body_length=len(body))
    if place == "base64":
        # An analytics event wrapped in one parameter, as Mixpanel's and Segment's data=.
        event = json.dumps({"event": "x", "properties": {"token": "t", name: value}})
        data = quote(base64.b64encode(event.encode()).decode(), safe="")
        return request(uri=f"/track/?data={data}&ip=1", headers=_BASE)
    if place == "jwt":
        # An ID token's claim, as Firebase's REST calls send the token (auth=).
        claims = json.dumps({"iss": "https://securetoken.google.com/x", "sub": "u1", name: value})
        payload = base64.urlsafe_b64encode(claims.encode()).decode().rstrip("=")
        return request(uri=f"/users.json?auth=eyJhbGciOiJSUzI1NiJ9.{payload}.c2ln", headers=_BASE)
    if place == "jsonheader":
        # An app's context header that carries JSON.
        return request(headers=(*_BASE, ("X-App-Context", json.dumps({"os": "14", name: value}))))
    if place == "jsonparam":
        # Events as JSON text in one parameter, as Amplitude's e=.
        events = json.dumps([{"event_type": "x", "user_properties": {name: value}}])
        return request(uri=f"/2/httpapi?client=k&e={quote(events, safe='')}&v=2", headers=_BASE)
    if place == "gzip":
        # An SDK's beacon, gzip-compressed (Content-Encoding: gzip).
        body = gzip.compress(json.dumps({"x": 1, "event": {name: value}}).encode(), mtime=0)
        headers = (*_BASE, ("Content-Type", "application/json"), ("Content-Encoding", "gzip"))
        return request(method="POST", headers=headers, body=body, body_length=len(body))
    if place == "multipart":
        body = (
            f'--b0undary\r\nContent-Disposition: form-data; name="x"\r\n\r\n1\r\n'
            f'--b0undary\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            f"{value}\r\n--b0undary--\r\n"
        ).encode()
        headers = (*_BASE, ("Content-Type", "multipart/form-data; boundary=b0undary"))
        return request(method="POST", headers=headers, body=body, body_length=len(body))
    if place == "xml":
        element = f"<{name}>{escape(value)}</{name}>"
        body = f'<?xml version="1.0"?><event x="1">{element}</event>'.encode()
        headers = (*_BASE, ("Content-Type", "application/xml; charset=utf-8"))
        return request(method="POST", headers=headers, body=body, body_length=len(body))
    raise ValueError(place)


def _places(row: dict[str, Any]) -> list[str]:
    """The places a row lists; a body is tried as a form, as JSON, as a multipart form
    and, where the name can name an element, as XML; a query also as base64-wrapped
    JSON in one parameter."""
    places = [*row["places"], *(["base64", "jsonparam"] if "query" in row["places"] else [])]
    if "query" in row["places"] and row["name"] not in _JWT_REGISTERED:
        # In a JWT, "sub" is the token's subject (the issuer's ID of the user), not a
        # carrier's subscriber: a registered claim's name is no place for these rows.
        places.append("jwt")
    if "header" in row["places"] and "query" in row["places"]:
        # A name a parameter can carry is a key an app's JSON can carry; bare digits
        # under a name that says nothing count in a header only (an operator chose it).
        places.append("jsonheader")
    if "body" not in row["places"]:
        return places
    xml = ["xml"] if _XML_NAME.fullmatch(row["name"]) else []
    return [*places, "json", "gzip", "multipart", *xml]


def cases() -> Iterator[Case]:
    """Every positive in every place and wrapping, then every negative in every place."""
    for row in _load("positives.jsonl"):
        e164 = row.get("e164")
        expected = e164 or row.get("normalized")
        for encoding in row["encodings"]:
            value = _encode(row["value"], e164, encoding)
            for place in _places(row):
                label = f"+ {row['name']}={value} ({place}, {encoding})"
                yield Case(
                    label,
                    _place(row["name"], value, place),
                    row.get("region"),
                    row["kind"],
                    expected,
                )
    for row in _load("negatives.jsonl"):
        for place in _places(row):
            label = f"- {row['name']}={row['value']} ({place})"
            yield Case(label, _place(row["name"], row["value"], place), None, None, None)


@dataclass(frozen=True, slots=True)
class Scores:
    """What the detector made of the evaluation set."""

    positives: int
    negatives: int
    found: int
    false_positives: int
    phones: int
    phones_normalised: int
    misses: tuple[str, ...]
    false_alarms: tuple[str, ...]
    wrong_numbers: tuple[str, ...]

    @property
    def recall(self) -> float:
        return self.found / self.positives

    @property
    def precision(self) -> float:
        return self.found / (self.found + self.false_positives)

    @property
    def e164_rate(self) -> float:
        return self.phones_normalised / self.phones


def _hit(finding: Finding, case: Case) -> bool:
    return finding.kind == case.kind and (
        case.expected is None
        or finding.kind not in ("msisdn", "imsi", "imei", "email")
        or finding.normalized == case.expected
    )


@cache
def scores() -> Scores:
    """Run the detector (one per region) over every case."""
    detectors: dict[str | None, IdentityDetector] = {}
    positives = negatives = found = false_positives = phones = normalised = 0
    misses: list[str] = []
    alarms: list[str] = []
    wrong: list[str] = []
    for case in cases():
        detector = detectors.get(case.region)
        if detector is None:
            # A fixed region (the most common locale) unless the case names one: the
            # machine's locale must not change the figures.
            detector = detectors[case.region] = IdentityDetector(
                IdentityConfig(region=case.region or "US")
            )
        identities = [f for f in detector.detect(case.request) if f.is_identity]
        if case.kind is None:
            negatives += 1
            if identities:
                false_positives += 1
                alarms.append(f"{case.label}: {identities}")
            continue
        positives += 1
        if any(_hit(f, case) for f in identities):
            found += 1
        else:
            misses.append(f"{case.label}: {identities}")
        others = [f for f in identities if not _hit(f, case)]
        if others:
            false_positives += 1
            alarms.append(f"{case.label}: also {others}")
        if case.kind == "msisdn":
            numbers = [f for f in identities if f.kind == "msisdn"]
            if numbers:
                phones += 1
                if all(f.normalized == case.expected for f in numbers):
                    normalised += 1
                else:
                    wrong.append(f"{case.label}: {[f.normalized for f in numbers]}")
    return Scores(
        positives,
        negatives,
        found,
        false_positives,
        phones,
        normalised,
        tuple(misses),
        tuple(alarms),
        tuple(wrong),
    )


def test_the_evaluation_set_is_substantial_and_covers_every_place_and_wrapping() -> None:
    rows = _load("positives.jsonl")
    assert all(row["source"] for row in rows + _load("negatives.jsonl"))
    places = {place for row in rows for place in row["places"]}
    encodings = {encoding for row in rows for encoding in row["encodings"]}
    assert places == {"header", "cookie", "query", "body"}
    assert encodings == {"plain", "plus", "percent", "tel", "hex", "base64"}
    result = scores()
    assert result.positives >= 500 and result.negatives >= 500


def test_recall_is_at_least_098() -> None:
    result = scores()
    assert result.recall >= 0.98, "\n".join(result.misses)


def test_precision_is_at_least_099() -> None:
    result = scores()
    assert result.precision >= 0.99, "\n".join(result.false_alarms)


def test_every_phone_number_found_is_normalised_to_its_e164_form() -> None:
    result = scores()
    assert result.e164_rate == 1.0, "\n".join(result.wrong_numbers)


if __name__ == "__main__":
    # The figures, for the README and the closing note (the tests above hold the
    # targets): python -m tests.capture.identity.test_evaluation
    result = scores()
    print(
        f"evaluation: {result.positives} positive cases, {result.negatives} negative; "
        f"recall {result.recall:.4f}, precision {result.precision:.4f}, "
        f"E.164 {result.phones_normalised}/{result.phones}"
    )
