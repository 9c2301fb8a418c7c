"""URL and endpoint texts shared by filters and exports."""

from __future__ import annotations

import pytest

from capture.http.urls import endpoint, request_url
from tests.capture.factories import request


@pytest.mark.parametrize(
    ("overrides", "url"),
    [
        ({}, "http://bbc.co.uk/page/1"),
        ({"uri": "http://proxy.example/a?b"}, "http://proxy.example/a?b"),
        ({"headers": ()}, "http://198.51.100.1/page/1"),
        ({"headers": (), "dport": 8080}, "http://198.51.100.1:8080/page/1"),
        ({"headers": (), "dst": "2001:db8::1"}, "http://[2001:db8::1]/page/1"),
        ({"headers": (), "dst": "2001:db8::1", "dport": 81}, "http://[2001:db8::1]:81/page/1"),
        ({"method": "CONNECT", "uri": "example.com:443", "headers": ()}, "example.com:443"),
        ({"method": "OPTIONS", "uri": "*"}, "http://bbc.co.uk"),
        ({"uri": None, "version": None}, "http://bbc.co.uk"),
        ({"uri": "odd"}, "http://bbc.co.uk/odd"),
    ],
)
def test_request_url(overrides: dict[str, object], url: str) -> None:
    assert request_url(request(**overrides)) == url


def test_endpoint() -> None:
    assert endpoint("10.0.0.1", 80) == "10.0.0.1:80"
    assert endpoint("::1", 8080) == "[::1]:8080"
