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

import contextlib
import json
import math
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
"""A surrogate code point left in a str parsed by ``json``: a pair is joined into one
character, so any left is half of one."""

REPLACEMENT = "\ufffd"
"""What a lone surrogate is read as: what a browser's UTF-8 encoder sends for one
(the WHATWG Encoding Standard's replacement), so the request reads as it went."""

_DEPTH = 1100
"""Nesting Python's parser is given room for: orjson reads a document up to 1,024
levels deep, and a cut one is read by Python's, whose C scanner counts levels against
the interpreter's recursion limit."""


@contextlib.contextmanager
def _deep_enough() -> Iterator[None]:
    """The recursion limit raised, while Python's parser reads, to what orjson takes."""
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(max(before, _DEPTH + 100))
    try:
        yield
    finally:
        sys.setrecursionlimit(before)


def _whole_number(text: str) -> int | float:
    """A JSON integer as orjson reads it: an int within 64 bits, a float past them,
    refused (ValueError) where that float is infinite; so a number of thousands of
    digits, past what Python converts to an int, raises no error of its own."""
    if len(text) <= 18:
        return int(text)
    number = int(text) if len(text) <= 21 else None
    if number is not None and -(1 << 63) <= number < (1 << 64):
        return number
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"a number of {len(text.lstrip('-')):,} digits is infinite as a double")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_int=_whole_number, parse_constant=_no_constant)
"""Python's parser, taking what orjson takes (and lone surrogates): no NaN or
Infinity, no integer too long to be one."""

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
    damage: str | None = None
    """Where a whole document is followed by more (``more after the document, from
    line L, column C: not read; ...``): its tree is that document's; or where a document
    is damaged inside (:func:`_salvaged`): its tree holds the entries the damage left
    whole. None for a document with nothing after it, or one cut short."""


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
    if data.endswith(b"\0"):
        # A file whose writer died before it wrote there (the file system had given
        # it the blocks, which read as zeros): what precedes them is what was written.
        return load_har(data.rstrip(b"\0"))
    where = f"not JSON: {refused.msg} at line {refused.lineno}, column {refused.colno}"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.reason != "unexpected end of data":
            # Said as what it is: orjson's words ("str is not valid UTF-8: surrogates
            # not allowed at line 1, column 1") named neither the cause nor the place.
            line = data.count(b"\n", 0, exc.start) + 1
            said = (
                f"not UTF-8 text: byte 0x{data[exc.start]:02x} at line {line}, offset "
                f"{exc.start:,}; JSON is UTF-8"
            )
            # Each byte that is no UTF-8 read as a character JSON takes nowhere (a
            # control character, which no string holds raw): damage, as a stray "}".
            marked = _NOT_UTF8.sub("\0", data.decode("utf-8", "surrogateescape"))
            return _salvaged(marked, said, said)
        text = data[: exc.start].decode("utf-8")  # cut inside a character: cut short
    if _ends_there(refused, data):
        # Cut short: not parsed whole again first (that tree, built to fail at the
        # end, would double what a large HAR costs in memory).
        cut = True
    else:
        try:
            with _deep_enough():
                doc = _DECODER.decode(text)
        except json.JSONDecodeError as exc:
            # Cut short where Python's parser fails at the end (orjson's account was
            # of a lone surrogate before it, or of half a pair the cut split).
            cut = _cut_at_end(exc, text)
            if not cut and exc.msg == "Extra data" and _joined(text, exc.pos):
                # A whole document, then more (a second one, as cat joins them, or
                # closing brackets and zeros): its entries, all of them. What else
                # follows a document that ended early is the rest of it: bytes that
                # closed an entry early (an outside tester's "]}}" in its headers)
                # ended the document there, and that is damage (below).
                return _before_more(text, exc, refused, data, where)
        except (ValueError, RecursionError):
            cut = False  # what orjson refused too: a number too long, NaN, too deep
        else:
            counter = [0]
            return HarDocument(_replaced(doc, counter, text), lone_surrogates=counter[0])
    if not cut:
        return _salvaged(text, where, _said(refused, data, where))
    counter = [0]
    try:
        with _deep_enough():
            partial = _replaced(_read_cut(text, _DECODER), counter, text)
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


def _joined(text: str, at: int) -> bool:
    """Is what follows a whole document at ``at`` another one (an object whole), or
    nothing but closing brackets, white space and zeros: no part of the first?"""
    rest = text[at:].lstrip(" \t\n\r\0")
    if not rest.strip("}] \t\n\r\0"):
        return True
    if rest[0] != "{":
        return False
    try:
        with _deep_enough():
            _DECODER.raw_decode(rest)
    except (ValueError, RecursionError):
        return False
    return True


def _before_more(
    text: str, exc: json.JSONDecodeError, refused: orjson.JSONDecodeError, data: bytes, where: str
) -> HarDocument:
    """The document ``text`` holds before more text (``exc``: Python's parser's "Extra
    data"), read whole; HarJsonError (orjson's account, ``refused``) where it has no
    entry."""
    counter = [0]
    try:
        with _deep_enough():
            partial = _replaced(_DECODER.decode(text[: exc.pos]), counter, text)
    except (ValueError, RecursionError):
        partial = None
    log = partial.get("log") if isinstance(partial, dict) else None
    if not isinstance(log, dict) or not isinstance(log.get("entries"), list) or not log["entries"]:
        raise HarJsonError(_said(refused, data, where))
    if set(partial) != {"log"} or not _entry_shaped(log["entries"][-1]):
        # Not a document whole: bytes that closed an entry early ended it there, and
        # the rest of it was read as members after "log" (an outside tester's "]}}" in
        # the last entry's headers left "response" there, and closing brackets after).
        return _salvaged(text, where, _said(refused, data, where))
    damage = (
        f"more after the document, from line {exc.lineno}, column {exc.colno}: not read; "
        "every entry before that is reported, and any after it are missing from the results"
    )
    return HarDocument(partial, lone_surrogates=counter[0], damage=damage)


_NOT_UTF8 = re.compile("[\udc80-\udcff]")
"""A byte that is no UTF-8, as ``surrogateescape`` decodes it."""

_ENTRIES_KEY = re.compile(r'"entries"[ \t\n\r]*:[ \t\n\r]*\[')
"""Where the entries start, looked for after damage before them."""

_SPANS_SAID = 3
"""Stretches of lost entries named one by one in :attr:`HarDocument.damage`."""


def _salvaged(text: str, where: str, refusal: str) -> HarDocument:
    """The entries of a document damaged inside (``where``: the parser's account of
    the first damage). Bytes that break JSON may first have altered the entry before
    where it stops being JSON and left it JSON (a stray ``}`` closes an entry early:
    an outside tester had a request read without its headers), so that entry is not
    taken, nor the one the damage is in; reading starts again at the next item of the
    entries that reads whole as an entry (``startedDateTime`` and ``request``, as
    HAR requires), and so on at each damage. Raises ``HarJsonError(refusal)`` where
    no entry is left."""
    starts: list[int] = []
    try:
        with _deep_enough():
            tree, stop = _read_until(text, _DECODER, starts)
    except (ValueError, RecursionError):
        raise HarJsonError(refusal) from None
    log = tree.get("log")
    entries = log.get("entries") if isinstance(log, dict) else None
    closed, head = False, ""
    if not isinstance(entries, list):
        # Damaged before its entries (in its pages or creator): the entries are read
        # from where they start, and what precedes them, but the version, is not.
        found = _ENTRIES_KEY.search(text, stop)
        if found is None:
            raise HarJsonError(refusal)
        starts = []
        with _deep_enough():
            entries, stop, closed = _array(text, found.end(), _DECODER, starts)
        # What of the log was read whole before the damage (its version, its creator,
        # which says who recorded the requests) is kept.
        kept = (
            {k: v for k, v in log.items() if k in ("version", "creator")}
            if isinstance(log, dict)
            else {}
        )
        tree = {"log": {**kept, "entries": entries}}
        head = f"; what comes before its entries (lines 1-{_line(text, found.start())}) is not read"
    lost: list[tuple[int, int]] = []
    while not closed:
        since = _drop_suspect(entries, starts, stop)
        resumed = _next_entry(text, since, stop)
        lost.append((since, len(text) if resumed is None else resumed))
        if resumed is None:
            break
        more: list[int] = []
        with _deep_enough():
            items, stop, closed = _array(text, resumed, _DECODER, more)
        entries += items
        starts += more
        if closed:
            break
    if not any(isinstance(entry, dict) for entry in entries):
        raise HarJsonError(refusal)
    counter = [0]
    tree = _replaced(tree, counter, text)
    spans = [f"{_line(text, a)}-{_line(text, b)}" for a, b in lost[:_SPANS_SAID]]
    more_spans = (
        f" and {len(lost) - _SPANS_SAID:,} more stretches" if len(lost) > _SPANS_SAID else ""
    )
    entries_lost = (
        f"; the entries in lines {', '.join(spans)}{more_spans} are not read, as the damage "
        "may have altered them"
        if lost
        else ""
    )
    damage = f"{where}{head}{entries_lost}; every other entry is reported"
    return HarDocument(tree, lone_surrogates=counter[0], damage=damage)


def _entry_shaped(item: Any) -> bool:
    """Is ``item`` an object with what every HAR entry has (``startedDateTime`` and
    ``request``)?"""
    return isinstance(item, dict) and "startedDateTime" in item and "request" in item


def _drop_suspect(entries: list[Any], starts: list[int], stop: int) -> int:
    """Take from ``entries`` (read whole up to ``stop``, where the damage showed) what
    the damage may have altered: the items after the last one shaped as an entry (an
    entry closed early leaves its inner objects to be read as items), and that one;
    return where what was taken starts (``stop`` where nothing was)."""
    since = stop
    while entries and not _entry_shaped(entries[-1]):
        entries.pop()
        since = starts.pop()
    if entries:
        entries.pop()
        since = starts.pop()
    return since


_TOKENS = re.compile(r'"(?:[^"\\\x00-\x1f]|\\.)*"|[{}\[\]]')
"""A string whole, or a bracket: what :func:`_next_entry` counts depth by. A string
holds no control character (JSON escapes them): a quote the damage added or took away
makes strings of what is between them only to the end of its line, where a HAR that is
laid out in lines (as browsers write them) is read right again."""


def _next_entry(text: str, since: int, stop: int) -> int | None:
    """Where reading starts again after damage: the first object after ``stop`` that
    is an item of the entries array, reads whole as an entry and is followed by ``,``
    or ``]``, or None. An item of that array is at the depth of ``since`` (where the
    first entry left out starts), or shallower where the damage closed brackets: an
    object nested deeper (an entry's own, a stray ``{`` the damage put in an entry and
    what follows it) is not taken, so what is read is never part of an entry, nor a
    whole entry with its start cut off. Depth is counted once over the text, strings
    passed over whole."""
    depth = 0
    for token in _TOKENS.finditer(text, since):
        bracket = token.group()
        if bracket[0] == '"':
            continue
        if bracket in "]}":
            depth -= 1
            continue
        at = token.start()
        if bracket == "{" and depth <= 0 and at >= stop and _item_after_comma(text, at):
            try:
                with _deep_enough():
                    item, end = _DECODER.raw_decode(text, at)
            except (ValueError, RecursionError):
                item, end = None, at
            follows = text[_SPACE.match(text, end).end() :][:1]  # type: ignore[union-attr]
            if _entry_shaped(item) and follows in (",", "]"):
                return at
        depth += 1
    return None


def _item_after_comma(text: str, at: int) -> bool:
    """Is the last character before ``at`` that is not white space a comma?"""
    before = text[max(0, at - 64) : at].rstrip(" \t\n\r")
    return before.endswith(",")


def _line(text: str, at: int) -> int:
    return text.count("\n", 0, at) + 1


_CUT_TOKEN = re.compile(r'\s*(?:\\?u[^"]*|[-+.0-9eE]*|[A-Za-z]*)\s*\Z')
"""What may follow where Python's parser stopped in a text cut inside its last token:
an escape of a string that never ends (``u00`` after its backslash, or ``u00e9`` and
more of the string), or the start of a number (``-``, ``12.``) or of a literal
(``tr``)."""


def _cut_at_end(exc: json.JSONDecodeError, text: str) -> bool:
    """Did Python's parser fail because ``text`` ends (cut short), not inside it? A
    string that never ends runs to the end of the text (a control character in it is
    an error of its own); a cut inside an escape, a number or ``true`` is said where
    that token starts, with nothing after it but the rest of the token."""
    if exc.msg.startswith("Unterminated string") or exc.pos >= len(text.rstrip()):
        return True
    return _CUT_TOKEN.match(text, exc.pos) is not None


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
        renamed = False
        for key, value in list(items):
            if isinstance(value, str):
                if _LONE_SURROGATE.search(value):
                    container[key] = _clean(value, counter)
            elif isinstance(value, dict | list):
                stack.append(value)
            if isinstance(key, str) and _LONE_SURROGATE.search(key):
                renamed = True
        if renamed:
            # Rebuilt once, in order: a renamed key keeps its place among the others.
            pairs = [(_clean(k, counter), v) for k, v in container.items()]
            container.clear()
            container.update(pairs)
    return root[0]


def _clean(text: str, counter: list[int]) -> str:
    if not _LONE_SURROGATE.search(text):
        return text
    counter[0] += 1
    return _LONE_SURROGATE.sub(REPLACEMENT, text)


_SPACE = re.compile(r"[ \t\n\r]*")


def _read_cut(text: str, decoder: json.JSONDecoder, starts: list[int] | None = None) -> Any:
    """The document ``text`` up to where it is cut: its members read one by one,
    each whole or not at all, except those on the way to the entries
    (:data:`_PATH`), read as far as they go. A top-level value that is not an object
    raises :class:`ValueError`. ``starts``: where each entry read starts in ``text``."""
    return _read_until(text, decoder, starts)[0]


def _read_until(
    text: str, decoder: json.JSONDecoder, starts: list[int] | None = None
) -> tuple[dict[str, Any], int]:
    """:func:`_read_cut`'s tree, and where its reading stopped."""
    at = _SPACE.match(text, 0).end()  # type: ignore[union-attr]
    if text[at : at + 1] != "{":
        raise ValueError("not an object")
    tree, stop, _ = _object(text, at + 1, decoder, _PATH, starts)
    return tree, stop


def _object(
    text: str,
    at: int,
    decoder: json.JSONDecoder,
    path: tuple[str, ...],
    starts: list[int] | None = None,
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
                read = _object(text, at + 1, decoder, path[1:], starts)
            elif len(path) == 1:
                read = _array(text, at + 1, decoder, starts)
            else:
                return members, at, False
            members[key], at, closed = read
            if not closed:
                return members, at, False
            continue
        try:
            value, at = decoder.raw_decode(text, at)
        except (ValueError, RecursionError):
            return members, at, False
        members[key] = value


def _array(
    text: str, at: int, decoder: json.JSONDecoder, starts: list[int] | None = None
) -> tuple[list[Any], int, bool]:
    """The whole items of the array whose ``[`` is just before ``at``, up to the first
    that is cut: (items, where it ended, whether it was closed). ``starts``: where each
    item starts is added to it."""
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
            item, end = decoder.raw_decode(text, at)
        except (ValueError, RecursionError):
            return items, at, False  # the entry the cut is in (or one too deep)
        items.append(item)
        if starts is not None:
            starts.append(at)
        at = end
