"""A request factory for identity tests (in the spirit of mitmproxy's ``tutils.treq``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from capture.model import Header, Request
from tests.capture.factories import request

_HEADERS: tuple[Header, ...] = (("Host", "bbc.co.uk"), ("Accept", "*/*"))


def make_request(**overrides: Any) -> Request:
    """A plain GET to bbc.co.uk; any field of :class:`Request` can be overridden.

    ``add=[(name, value), ...]`` appends headers to the default ones.
    """
    extra: tuple[Header, ...] = tuple(overrides.pop("add", ()))
    overrides["headers"] = tuple(overrides.get("headers", _HEADERS)) + extra
    return request(**overrides)


ZORK_TOKEN = "Zk7Qp2Xv9LmR4tWb8NcY3hJd6FsA1gEu"
ZORK_SITES = ("alpha-news.com", "beta-shop.co.uk", "gamma.net", "delta.org", "epsilon.io")


def zork_har(path: Path, hosts: tuple[str, ...] = ZORK_SITES) -> Path:
    """A browser-style HAR: one token under the header X-Zork-Tag and the cookie zqk,
    sent to each of ``hosts`` in turn (an outside tester's shape)."""
    entries = [
        {
            "startedDateTime": f"2026-12-06T03:00:0{index}.000Z",
            "time": 1,
            "request": {
                "method": "GET",
                "url": f"http://www.{host}/page",
                "httpVersion": "HTTP/1.1",
                "headers": [
                    {"name": "Host", "value": f"www.{host}"},
                    {"name": "X-Zork-Tag", "value": ZORK_TOKEN},
                    {"name": "Cookie", "value": f"zqk={ZORK_TOKEN}"},
                ],
                "cookies": [],
                "queryString": [],
                "headersSize": -1,
                "bodySize": 0,
            },
            "response": {
                "status": 200,
                "statusText": "OK",
                "httpVersion": "HTTP/1.1",
                "headers": [],
                "cookies": [],
                "content": {"size": 0, "mimeType": "text/html"},
                "redirectURL": "",
                "headersSize": -1,
                "bodySize": 0,
            },
            "cache": {},
            "timings": {"send": 0, "wait": 1, "receive": 0},
        }
        for index, host in enumerate(hosts)
    ]
    path.write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}), encoding="utf-8")
    return path
