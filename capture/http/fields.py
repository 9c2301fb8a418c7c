"""The parameters inside a request: query and form parameters, and cookies.

One way of splitting them for what shows them (the detail pane, HAR), so that
both show the same pairs. Identity detection keeps its own split, a single regex
pass that keeps only non-empty pairs, because it runs on every request of a scan.
Splitting keeps the raw text; :func:`unquote` decodes percent-escapes losslessly
when a consumer wants to.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import unquote_to_bytes

from capture.model import Header
from capture.text import from_bytes, to_bytes


def query_of(uri: str | None) -> str:
    """The query of a request target: after the first ``?``, before any ``#``."""
    if not uri or "?" not in uri:
        return ""
    return uri.partition("?")[2].partition("#")[0]


def form_pairs(text: str) -> list[tuple[str, str]]:
    """``(name, value)`` of each ``&``-separated part of a query or form body, raw.

    Empty parts are passed over; a part without ``=`` is a name with an empty value.
    """
    out = []
    for part in text.split("&"):
        if part:
            name, _, value = part.partition("=")
            out.append((name, value))
    return out


def query_pairs(uri: str | None) -> list[tuple[str, str]]:
    """The query parameters of ``uri``, raw, in order."""
    return form_pairs(query_of(uri))


def cookie_pairs(value: str) -> list[tuple[str, str]]:
    """``(name, value)`` of each ``;``-separated cookie of one Cookie header, stripped."""
    out = []
    for part in value.split(";"):
        part = part.strip()
        if part:
            name, _, cookie = part.partition("=")
            out.append((name.strip(), cookie.strip()))
    return out


def request_cookies(headers: Iterable[Header]) -> list[tuple[str, str]]:
    """Every cookie of every Cookie header, in order."""
    return [
        pair for name, value in headers if name.lower() == "cookie" for pair in cookie_pairs(value)
    ]


def unquote(text: str) -> str:
    """Percent-decoding of a form value (``+`` is a space), lossless: bytes that are
    not UTF-8 stay recoverable (:func:`capture.text.to_bytes`)."""
    if "%" not in text and "+" not in text:
        return text
    return from_bytes(unquote_to_bytes(to_bytes(text.replace("+", " "))))
