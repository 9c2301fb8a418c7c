"""Precision: ordinary traffic produces no identity findings.

``benign_headers.jsonl`` holds the request headers of every HTTP request in the
real-world captures (tests/data/pcaps, Zeek and Suricata-verify traces) plus
typical browser, app, CDN and analytics requests written for this test. None of
them carries a subscriber identity, so none may produce one.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capture.identity.detector import IdentityConfig, IdentityDetector
from tests.capture.identity.factory import make_request

CORPUS = Path(__file__).with_name("benign_headers.jsonl")


def _corpus() -> list[dict[str, Any]]:
    with CORPUS.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def test_corpus_is_substantial() -> None:
    records = _corpus()
    assert len(records) >= 100
    assert sum(1 for r in records if r["source"].startswith("tests/data/pcaps/")) >= 100
    names = {name.lower() for r in records for name, _ in r["headers"]}
    for expected in (
        "cookie",
        "authorization",
        "range",
        "if-none-match",
        "referer",
        "x-request-id",
    ):
        assert expected in names


@pytest.mark.parametrize("region", ["GB", "US", "DE", "IN"])
def test_benign_corpus_has_no_identity_findings(region: str) -> None:
    detector = IdentityDetector(IdentityConfig(region=region))
    leaks = []
    for record in _corpus():
        headers = tuple((name, value) for name, value in record["headers"])
        request = make_request(uri=record["uri"], headers=headers)
        leaks += [(record["source"], f) for f in detector.detect(request) if f.is_identity]
    assert leaks == []


@pytest.mark.parametrize("region", ["GB", "US"])
def test_benign_corpus_posted_as_json_has_no_identity_findings(region: str) -> None:
    """The same names and values as an app's JSON beacon: each request's headers and
    query parameters as fields of one document (flat, and nested as an SDK nests
    them), posted to a collector."""
    detector = IdentityDetector(IdentityConfig(region=region))
    leaks = []
    for record in _corpus():
        fields = dict(record["headers"])
        query = dict(parse_qsl(urlsplit(record["uri"]).query))
        for document in (
            {**fields, **query},
            {"context": {"headers": fields}, "properties": [query]},
        ):
            body = json.dumps(document).encode()
            request = make_request(
                method="POST",
                uri="/v1/batch",
                add=[("Content-Type", "application/json")],
                body=body,
            )
            found = [f for f in detector.detect(request) if f.is_identity]
            leaks += [(record["source"], f) for f in found]
    assert leaks == []


def test_benign_corpus_with_canaries_has_no_canary_findings() -> None:
    detector = IdentityDetector(
        IdentityConfig(
            region="GB",
            msisdns=("07700 900123",),
            imeis=("490154203237518",),
            imsis=("234150999999999",),
            canaries=("alice@example.com",),
        )
    )
    leaks = []
    for record in _corpus():
        headers = tuple((name, value) for name, value in record["headers"])
        request = make_request(uri=record["uri"], headers=headers)
        leaks += [(record["source"], f) for f in detector.detect(request) if f.is_identity]
    assert leaks == []


_DETECTOR = IdentityDetector(IdentityConfig(region="GB"))


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(
        [
            "Date",
            "Content-Length",
            "ETag",
            "If-None-Match",
            "Range",
            "X-Request-Id",
            "traceparent",
            "X-B3-TraceId",
            "X-Amzn-Trace-Id",
            "User-Agent",
        ]
    ),
    st.text(min_size=0, max_size=80),
)
def test_benign_names_never_yield_findings(name: str, value: str) -> None:
    assert _DETECTOR.detect(make_request(add=[(name, value)])) == ()


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=0, max_value=10**16),
    st.sampled_from(["_", "cb", "t", "ts", "id", "v", "page"]),
)
def test_numbers_in_ordinary_parameters_never_yield_findings(number: int, name: str) -> None:
    assert _DETECTOR.detect(make_request(uri=f"/x?{name}={number}")) == ()


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=1230768000, max_value=2208988799), st.booleans())
def test_epoch_timestamps_under_unknown_headers_are_quiet(seconds: int, millis: bool) -> None:
    """Unix times of 2009-2040, in seconds or milliseconds, are never phone numbers."""
    value = str(seconds * 1000 + 123 if millis else seconds)
    assert _DETECTOR.detect(make_request(add=[("X-Whatever", value)])) == ()


@settings(max_examples=300, deadline=None)
@given(
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2040, 12, 31, 23, 59, 59)),
    st.sampled_from(["%Y%m%d%H", "%Y%m%d%H%M", "%Y%m%d%H%M%S"]),
)
def test_calendar_stamps_under_unknown_headers_are_quiet(moment: datetime, shape: str) -> None:
    """A date and time written as digits, year first (a cache buster, a build stamp),
    is never a phone number: 2015-12-04 15:26 reads as an Egyptian mobile."""
    value = moment.strftime(shape)
    assert _DETECTOR.detect(make_request(add=[("X-Whatever", value)])) == ()
