"""A request factory for identity tests (in the spirit of mitmproxy's ``tutils.treq``)."""

from __future__ import annotations

from typing import Any

from capture.model import Header, Request

_DEFAULTS: dict[str, Any] = {
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
    "headers": (("Host", "bbc.co.uk"), ("Accept", "*/*")),
}


def make_request(**overrides: Any) -> Request:
    """A plain GET to bbc.co.uk; any field of :class:`Request` can be overridden.

    ``add=[(name, value), ...]`` appends headers to the default ones.
    """
    args = dict(_DEFAULTS)
    extra: list[Header] = list(overrides.pop("add", ()))
    args.update(overrides)
    args["headers"] = tuple(args["headers"]) + tuple(extra)
    return Request(**args)
