"""The HTTP traffic of the live end-to-end tests, and what headerwatch must report."""

from __future__ import annotations

import itertools
from typing import Any

from tests.netns import Lab, request

O2 = ("x-up-calling-line-id", "447700900123")
"""The header O2 UK's proxy added in January 2012 (an example number)."""


def split(text: str, *cuts: int) -> list[str]:
    """``text`` cut at the given offsets."""
    points = [0, *cuts, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(points)]


def live_plan() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Connections to make, and the requests headerwatch must report, in order.

    With and without identity headers, on port 80 and 8123, cut across segments,
    pipelined, keep-alive; 9 responses in all.
    """
    split_req = request("/split", host="split.example", extra=[O2, ("Accept", "*/*")])
    plan = [
        {"port": 80, "sends": [request("/plain", extra=[("User-Agent", "lab/1.0")])]},
        {"port": 80, "sends": [request("/sport/", host="www.bbc.co.uk", extra=[O2])]},
        {"port": 8123, "sends": [request("/odd-port", host="odd.example", extra=[O2])]},
        # Cut inside the request line, inside a header name and inside a value.
        {"port": 80, "sends": split(split_req, 7, 40, 70), "gap": 0.05},
        # Three requests in one segment (pipelined), the last with a body.
        {
            "port": 8123,
            "sends": [
                request("/p1")
                + request("/p2")
                + request("/p3", method="POST", body="a=1&b=2", extra=[O2])
            ],
            "responses": 3,
        },
        # Keep-alive: two requests on one connection, in separate segments.
        {"port": 80, "sends": [request("/k1"), request("/k2")], "responses": 2},
    ]
    expected = [
        {
            "uri": "/plain",
            "dport": 80,
            "depth": 1,
            "host": "example.com",
            "headers": [["Host", "example.com"], ["User-Agent", "lab/1.0"]],
        },
        {
            "uri": "/sport/",
            "dport": 80,
            "depth": 1,
            "host": "www.bbc.co.uk",
            "headers": [["Host", "www.bbc.co.uk"], list(O2)],
        },
        {
            "uri": "/odd-port",
            "dport": 8123,
            "depth": 1,
            "host": "odd.example",
            "headers": [["Host", "odd.example"], list(O2)],
        },
        {
            "uri": "/split",
            "dport": 80,
            "depth": 1,
            "host": "split.example",
            "headers": [["Host", "split.example"], list(O2), ["Accept", "*/*"]],
        },
        {
            "uri": "/p1",
            "dport": 8123,
            "depth": 1,
            "host": "example.com",
            "headers": [["Host", "example.com"]],
        },
        {
            "uri": "/p2",
            "dport": 8123,
            "depth": 2,
            "host": "example.com",
            "headers": [["Host", "example.com"]],
        },
        {
            "uri": "/p3",
            "dport": 8123,
            "depth": 3,
            "host": "example.com",
            "method": "POST",
            "body_length": 7,
            "headers": [["Host", "example.com"], list(O2), ["Content-Length", "7"]],
        },
        {
            "uri": "/k1",
            "dport": 80,
            "depth": 1,
            "host": "example.com",
            "headers": [["Host", "example.com"]],
        },
        {
            "uri": "/k2",
            "dport": 80,
            "depth": 2,
            "host": "example.com",
            "headers": [["Host", "example.com"]],
        },
    ]
    return plan, expected


def check_records(records: list[dict[str, Any]], expected: list[dict[str, Any]], lab: Lab) -> None:
    """Method, URI, addresses, ports, depth, host and headers (order and case kept)."""
    assert [r["uri"] for r in records] == [e["uri"] for e in expected]
    for record, want in zip(records, expected, strict=True):
        assert record["method"] == want.get("method", "GET"), record
        assert record["version"] == "HTTP/1.1"
        assert record["src"] == lab.client_ip and record["dst"] == lab.server_ip
        for key in ("dport", "depth", "host", "headers"):
            assert record[key] == want[key], (key, record)
        assert record.get("body_length", 0) == want.get("body_length", 0)
