"""A request factory for identity tests (in the spirit of mitmproxy's ``tutils.treq``)."""

from __future__ import annotations

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
