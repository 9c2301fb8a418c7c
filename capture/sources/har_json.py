"""A HAR document's JSON, read whole, or as far as it goes.

A HAR is one JSON tree, written at the end of a recording: a browser that crashed
while saving, a disk that filled, a copy cut in transit leave it cut short, and a
JSON parser refuses all of it. Every entry before the cut is whole, though, and is
evidence: :func:`load_har` keeps those, and says where the document ended.

orjson reads the document (fast, and strict). Where it refuses, Python's own parser
tries: it takes what orjson does not, a string escape of half a surrogate pair
(``"\\ud83d"`` alone, which ``JSON.stringify`` writes for a string cut inside an
emoji, so a page's beacon can carry one), and it can read a document member by
member, which is how a cut document is read up to its cut.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import orjson

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
"""A surrogate code point left in a str parsed by ``json``: a pair is joined into one
character, so any left is half of one."""

REPLACEMENT = "\ufffd"
"""What a lone surrogate is read as: what a browser's UTF-8 encoder sends for one
(the WHATWG Encoding Standard's replacement), so the request reads as it went."""

_PATH = ("log", "entries")
"""The members a cut document is read into: its entries are what it records."""


@dataclass(frozen=True, slots=True)
class HarDocument:
    """A HAR's parsed tree, and how it was read."""

    doc: Any
    cut: str | None = None
    """Where a document cut short ended (``its JSON ends unfinished at line L, column
    C``): its tree holds the entries before the cut. None for a whole document."""
    lone_surrogates: int = 0
    """Strings that held half a surrogate pair, read with U+FFFD in its place."""


class HarJsonError(ValueError):
    """The document is not JSON, and no entry could be read before where it fails."""


def load_har(data: bytes) -> HarDocument:
    """The tree of the HAR document ``data`` (a BOM already removed): whole, with
    lone surrogates replaced, or the entries before a cut. Raises
    :class:`HarJsonError` with orjson's account of the first error (``… at line L,
    column C``, with ``cut short?`` where the document ends there) when neither
    reading gives a HAR's entries."""
    try:
        return HarDocument(orjson.loads(data))
    except orjson.JSONDecodeError as exc:
        refused = exc
    where = f"not JSON: {refused.msg} at line {refused.lineno}, column {refused.colno}"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.reason != "unexpected end of data":
            raise HarJsonError(_said(refused, data, where)) from None
        text = data[: exc.start].decode("utf-8")  # cut inside a character: cut short
    if _ends_there(refused, data):
        # Cut short: not parsed whole again first (that tree, built to fail at the
        # end, would double what a large HAR costs in memory).
        cut = True
    else:
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            # Cut short where Python's parser fails at the end (orjson's account was
            # of a lone surrogate before it, or of half a pair the cut split).
            cut = _cut_at_end(exc, text)
        except RecursionError:
            cut = False
        else:
            counter = [0]
            return HarDocument(_replaced(doc, counter, text), lone_surrogates=counter[0])
    if not cut:
        raise HarJsonError(_said(refused, data, where))
    counter = [0]
    try:
        partial = _replaced(_read_cut(text, json.JSONDecoder()), counter, text)
    except (ValueError, RecursionError):
        partial = None
    log = partial.get("log") if isinstance(partial, dict) else None
    if not isinstance(log, dict) or not isinstance(log.get("entries"), list) or not log["entries"]:
        # Cut before its first entry ended: nothing of it can be read.
        raise HarJsonError(f"cut short? {where}")
    line = text.count("\n") + 1
    column = len(text) - text.rfind("\n")
    ended = f"its JSON ends unfinished at line {line}, column {column}"
    return HarDocument(partial, cut=ended, lone_surrogates=counter[0])


def _cut_at_end(exc: json.JSONDecodeError, text: str) -> bool:
    """Did Python's parser fail because ``text`` ends (cut short), not inside it? A
    string that never ends runs to the end of the text (a control character in it
    is an error of its own)."""
    return exc.msg.startswith("Unterminated string") or exc.pos >= len(text.rstrip())


def _ends_there(exc: orjson.JSONDecodeError, data: bytes) -> bool:
    """Did orjson fail where the document ends (cut short), not inside it?"""
    return "end of" in exc.msg or exc.pos >= len(data.rstrip())


def _said(exc: orjson.JSONDecodeError, data: bytes, where: str) -> str:
    return f"cut short? {where}" if _ends_there(exc, data) else where


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
"""How a surrogate is written in JSON text (UTF-8 cannot hold one)."""


def _replaced(node: Any, counter: list[int], text: str) -> Any:
    """``node``, parsed from ``text``, with every lone surrogate of its strings (keys
    too) replaced, counted in ``counter[0]``; not walked where ``text`` escapes no
    surrogate at all (as a HAR cut short need not). Walked with a stack: a document
    may nest deep."""
    if not _SURROGATE_ESCAPE.search(text):
        return node
    if isinstance(node, str):
        return _clean(node, counter)
    root = [node]
    stack: list[Any] = [root]
    while stack:
        container = stack.pop()
        items = container.items() if isinstance(container, dict) else enumerate(container)
        renamed = []
        for key, value in list(items):
            if isinstance(value, str):
                if _LONE_SURROGATE.search(value):
                    container[key] = _clean(value, counter)
            elif isinstance(value, dict | list):
                stack.append(value)
            if isinstance(key, str) and _LONE_SURROGATE.search(key):
                renamed.append(key)
        for key in renamed:
            # Rebuilt in order: a renamed key keeps its place among the others.
            pairs = [(_clean(k, counter) if k == key else k, v) for k, v in container.items()]
            container.clear()
            container.update(pairs)
    return root[0]


def _clean(text: str, counter: list[int]) -> str:
    if not _LONE_SURROGATE.search(text):
        return text
    counter[0] += 1
    return _LONE_SURROGATE.sub(REPLACEMENT, text)


_SPACE = re.compile(r"[ \t\n\r]*")


def _read_cut(text: str, decoder: json.JSONDecoder) -> Any:
    """The document ``text`` up to where it is cut: its members read one by one,
    each whole or not at all, except those on the way to the entries
    (:data:`_PATH`), read as far as they go. A top-level value that is not an object
    raises :class:`ValueError`."""
    at = _SPACE.match(text, 0).end()  # type: ignore[union-attr]
    if text[at : at + 1] != "{":
        raise ValueError("not an object")
    return _object(text, at + 1, decoder, _PATH)[0]


def _object(
    text: str, at: int, decoder: json.JSONDecoder, path: tuple[str, ...]
) -> tuple[dict[str, Any], int, bool]:
    """The members of the object whose ``{`` is just before ``at``, as far as they go:
    (members, where it ended, whether it was closed)."""
    members: dict[str, Any] = {}
    while True:
        at = _SPACE.match(text, at).end()  # type: ignore[union-attr]
        if text[at : at + 1] == "}":
            return members, at + 1, True
        if members:
            if text[at : at + 1] != ",":
                return members, at, False
            at = _SPACE.match(text, at + 1).end()  # type: ignore[union-attr]
        try:
            key, at = decoder.raw_decode(text, at)
        except json.JSONDecodeError:
            return members, at, False
        if not isinstance(key, str):
            return members, at, False
        at = _SPACE.match(text, at).end()  # type: ignore[union-attr]
        if text[at : at + 1] != ":":
            return members, at, False
        at = _SPACE.match(text, at + 1).end()  # type: ignore[union-attr]
        opener = text[at : at + 1]
        if path and key == path[0] and opener in ("{", "["):
            # On the way to the entries: read as far as it goes, member by member (not
            # tried whole first: that parse of all of it would fail only at the cut).
            read: tuple[dict[str, Any] | list[Any], int, bool]
            if opener == "{":
                read = _object(text, at + 1, decoder, path[1:])
            elif len(path) == 1:
                read = _array(text, at + 1, decoder)
            else:
                return members, at, False
            members[key], at, closed = read
            if not closed:
                return members, at, False
            continue
        try:
            value, at = decoder.raw_decode(text, at)
        except json.JSONDecodeError:
            return members, at, False
        members[key] = value


def _array(text: str, at: int, decoder: json.JSONDecoder) -> tuple[list[Any], int, bool]:
    """The whole items of the array whose ``[`` is just before ``at``, up to the first
    that is cut: (items, where it ended, whether it was closed)."""
    items: list[Any] = []
    while True:
        at = _SPACE.match(text, at).end()  # type: ignore[union-attr]
        if text[at : at + 1] == "]":
            return items, at + 1, True
        if items:
            if text[at : at + 1] != ",":
                return items, at, False
            at = _SPACE.match(text, at + 1).end()  # type: ignore[union-attr]
        try:
            item, at = decoder.raw_decode(text, at)
        except json.JSONDecodeError:
            return items, at, False
        items.append(item)
