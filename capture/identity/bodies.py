"""Request bodies that are neither a form nor JSON: multipart forms, XML, gzip.

An app's sign-up or profile upload posts ``multipart/form-data`` (a part named
``phone``, another ``email``), and carrier and older SDK APIs post XML
(``<msisdn>447700900123</msisdn>``, ``<user imei="...">``). Each field is given as
``(name, value)``, to be judged by its name as a form's fields are.

Both readers face what the network sends, so neither builds a document: no entity is
expanded, no DTD read, nothing nested is followed, and what is read is bounded
(:data:`MAX_FIELDS` fields, :data:`MAX_VALUE` characters a value). A body that is
not what its Content-Type says gives what could be read of it, or nothing.

SDKs also gzip their beacons (``Content-Encoding: gzip``): :func:`gunzipped` inflates
such a body, bounded, so that its JSON or form is read as if it had been sent plain.
:func:`decoded` undoes any Content-Encoding a proxy may hand over (gzip, deflate,
and br and zstd where their modules are installed, as in mitmproxy's environment),
bounded the same way: the mitmproxy add-on (``capture/data/mitmproxy_addon.py``)
writes the body so decoded, and loads this file by its path in mitmproxy's own
Python, so it imports nothing but the standard library.
"""

from __future__ import annotations

import importlib
import re
import zlib
from collections.abc import Callable, Iterable
from typing import Any

MAX_FIELDS = 512
"""Fields taken from one body at most (as for a JSON body)."""
MAX_VALUE = 1024
"""Characters of a field's value kept: identities are short, a part may be a file."""
MAX_INFLATED = 64 * 1024
"""Bytes of a compressed body inflated at most: as much as a body is kept
(:data:`capture.http.stream.BODY_CAP`)."""
BODY_UNDECODED_NOTE = "request body not decoded"
"""How the anomaly of a request whose body's Content-Encoding could not be undone
begins (one not known here, or a damaged stream): its identities could not be read,
which a report counts under Not inspected."""
BODY_DECODED_LARGER = "request body decoded from"
"""How the anomaly of a request whose body decoded to more than is searched begins
(``request body decoded from gzip is larger than 65536 bytes; the first 65536
searched``): a report counts it under Not inspected."""

_BOUNDARY = re.compile(r"""(?i)\bboundary=(?:"([^"]{1,200})"|([^\s;,"]{1,200}))""")
_PART_NAME = re.compile(r"""(?i)\bname=(?:"([^"]{0,200})"|([^\s;"]{1,200}))""")
# A leaf element with its text (no element inside), and an attribute of any tag.
_LEAF = re.compile(r"<([A-Za-z_][\w.:-]{0,99})(?:\s[^<>]{0,2000})?>([^<>]{1,1024})</\1\s*>")
_TAG = re.compile(r"<[A-Za-z_][\w.:-]{0,99}(\s[^<>]{1,2000})>")
# A name is tried only where one starts (the lookbehind): else every character of a
# long run of name characters started a try of its own, 100 steps each.
_ATTRIBUTE = re.compile(
    r"""(?<![\w.:-])([A-Za-z_][\w.:-]{0,99})\s*=\s*(?:"([^"<]{0,1024})"|'([^'<]{0,1024})')"""
)


def gunzipped(body: bytes) -> bytes | None:
    """The first :data:`MAX_INFLATED` bytes a gzip-compressed body holds (SDKs gzip
    their JSON beacons), or ``None`` for a body that is not gzip (it does not start
    with gzip's magic bytes) or whose stream is damaged before any byte comes out. A
    stream cut short (the body kept is its first 64 KiB) gives what it held so far;
    a bomb gives no more than the bound."""
    if body[:2] != b"\x1f\x8b":
        return None
    try:
        return _UNDO["gzip"](body, MAX_INFLATED) or None
    except _Damaged as exc:
        return exc.out  # what came out before the damage, as of a stream cut short


def content_coding(headers: Iterable[tuple[str, str]]) -> str:
    """The Content-Encoding of a message with ``headers``: the values of its
    Content-Encoding headers, joined as one list (RFC 9110 §5.3), "" for none."""
    return ", ".join(value for name, value in headers if name.lower() == "content-encoding")


def decoded(body: bytes, coding: str, limit: int = MAX_INFLATED) -> tuple[bytes, bool] | None:
    """``body`` with its Content-Encoding ``coding`` undone (a list such as ``gzip,
    br`` is undone last first, RFC 9110 §8.4.1): its first ``limit`` bytes, and
    whether it holds more. ``None`` for a coding not known here (br and zstd need
    the ``brotli`` and ``zstandard`` modules) or a damaged stream. No
    coding, or ``identity``, gives ``body`` itself; a bomb gives no more than the
    bound (a brotli stream is fed a byte at a time, since its decoder takes no
    bound: one byte can stand for at most its 16 MiB window)."""
    got = decoded_in_part(body, coding, limit)
    return None if got is None or got[2] else (got[0], got[1])


def decoded_in_part(
    body: bytes, coding: str, limit: int = MAX_INFLATED
) -> tuple[bytes, bool, bool] | None:
    """:func:`decoded`, and of a stream damaged after some of it decoded (the last
    coding undone: a gzip body with bytes changed in its middle), what decoded
    before the damage, with True third (the identity in that part was lost with
    the rest when the whole was refused)."""
    more = False
    names = [n.strip() for n in reversed(coding.lower().split(","))]
    names = [n for n in names if n not in ("", "identity")]
    for step, name in enumerate(names):
        undo = _UNDO.get(name)
        if undo is None:
            return None
        try:
            out = undo(body, limit + 1)
        except _Damaged as exc:
            if step < len(names) - 1:
                return None  # a part of an inner coding: no text of its own
            return exc.out[:limit], more or len(exc.out) > limit, True
        if out is None:
            return None
        # A step cut at the bound hands the next a stream cut short: what that holds.
        more = more or len(out) > limit
        body = out
    return body[:limit], more or len(body) > limit, False


class _Damaged(Exception):
    """A stream damaged after ``out`` came out of it."""

    def __init__(self, out: bytes) -> None:
        super().__init__("damaged")
        self.out = out


def _zlib(wbits: int, *fallback: int) -> Callable[[bytes, int], bytes | None]:
    """An undoer of a zlib format (``wbits`` as :func:`zlib.decompressobj` takes it),
    trying each of ``fallback`` where ``wbits`` finds damage. What follows the stream's
    end is read too, as those who receive it read it: a gzip body of several members
    (RFC 1952: their data one after the other, as browsers and servers decode it), and
    any other bytes after it as they are (an identity put after a stream's end was not
    searched at all: found by an outside tester)."""

    def undo(body: bytes, limit: int) -> bytes | None:
        for bits in (wbits, *fallback):
            try:
                return _members(body, bits, limit)
            except zlib.error:
                continue
        return None

    return undo


_PIECES = 64  # steps of a damaged stream's second reading: it loses at most one's output


def _members(body: bytes, wbits: int, limit: int) -> bytes:
    """``body`` decompressed (zlib.error where its first stream is damaged before
    anything came out of it, :class:`_Damaged` after), member after member, then what
    follows as it is; at most ``limit`` bytes."""
    stream = zlib.decompressobj(wbits)
    at = len(body)
    try:
        out = stream.decompress(body, limit)
    except zlib.error:
        # Damaged: again a step at a time, for what came out before the damage (the
        # error takes the output of the call it ends).
        stream, out, at = zlib.decompressobj(wbits), b"", 0
        piece = max(1, len(body) // _PIECES)
        try:
            while at < len(body) and len(out) < limit and not stream.eof:
                out += stream.decompress(body[at : at + piece], limit - len(out))
                at += piece
        except zlib.error:
            if not out:
                raise
            raise _Damaged(out) from None
    rest = stream.unused_data + body[at:]
    while stream.eof and len(out) < limit:
        if not (wbits > zlib.MAX_WBITS and rest[:2] == b"\x1f\x8b"):
            return out + rest[: limit - len(out)]  # not another member: as sent
        stream = zlib.decompressobj(wbits)
        try:
            out += stream.decompress(rest, limit - len(out))
        except zlib.error:
            return out + rest[: limit - len(out)]  # a damaged member: as sent
        rest = stream.unused_data
    return out


def _module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _unbrotli(body: bytes, limit: int) -> bytes | None:
    brotli = _module("brotli")
    if brotli is None:
        return None
    decoder = brotli.Decompressor()
    out = bytearray()
    view = memoryview(body)
    try:
        for at in range(len(body)):
            out += decoder.process(view[at : at + 1])
            if len(out) >= limit:
                break
    except brotli.error:
        return None
    return bytes(out[:limit])


def _unzstd(body: bytes, limit: int) -> bytes | None:
    zstandard = _module("zstandard")
    if zstandard is None:
        return None
    out = bytearray()
    try:
        reader = zstandard.ZstdDecompressor().stream_reader(body)
        while len(out) < limit:
            data = reader.read(limit - len(out))
            if not data:
                break
            out += data
    except zstandard.ZstdError:
        return None
    return bytes(out)


_UNDO: dict[str, Callable[[bytes, int], bytes | None]] = {
    "gzip": _zlib(16 + zlib.MAX_WBITS),
    "x-gzip": _zlib(16 + zlib.MAX_WBITS),
    # RFC 9110's deflate is zlib-wrapped; some clients send it raw (mitmproxy reads both).
    "deflate": _zlib(zlib.MAX_WBITS, -zlib.MAX_WBITS),
    "br": _unbrotli,
    "zstd": _unzstd,
}
"""Each Content-Encoding :func:`decoded` can undo: ``(body, limit)`` to at most
``limit`` bytes, or ``None`` for a damaged stream or a module not installed."""


def boundary(content_type: str) -> str | None:
    """The boundary a ``multipart/...`` Content-Type value names, or ``None``."""
    match = _BOUNDARY.search(content_type)
    if match is None:
        return None
    return match.group(1) or match.group(2)


def multipart_fields(body: bytes, boundary: str) -> list[tuple[str, str]]:
    """The text fields of a multipart body: ``(name, value)`` of each part with a
    ``name`` and no ``filename`` (a file's bytes are no field), in order."""
    delimiter = b"--" + boundary.encode("ascii", "replace")
    fields: list[tuple[str, str]] = []
    # The preamble before the first delimiter, and the epilogue after the last, are
    # no parts; a part cut short by the 64 KiB a body is kept to still counts.
    for part in body.split(delimiter)[1:]:
        if part.startswith(b"--") or len(fields) >= MAX_FIELDS:
            break
        head, separator, content = part.partition(b"\r\n\r\n")
        if not separator:
            head, separator, content = part.partition(b"\n\n")
            if not separator:
                continue
        name = _part_name(head.decode("latin-1"))
        if name is None:
            continue
        if content.endswith(b"\r\n"):
            content = content[:-2]
        elif content.endswith(b"\n"):
            content = content[:-1]
        value = content[:MAX_VALUE].decode("utf-8", "surrogateescape")
        fields.append((name, value.strip()))
    return fields


def _part_name(head: str) -> str | None:
    """The ``name`` of a part's Content-Disposition, ``None`` for a file or no name."""
    for line in head.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() != "content-disposition":
            continue
        if "filename" in value.lower():
            return None
        match = _PART_NAME.search(value)
        if match is None:
            return None
        return match.group(1) if match.group(1) is not None else match.group(2)
    return None


def xml_fields(body: bytes) -> list[tuple[str, str]]:
    """The leaf elements and attributes of an XML body, as ``(local name, text)``:
    ``<ns:msisdn>4477...</ns:msisdn>`` gives ``("msisdn", "4477...")``, ``<user
    imei="...">`` gives ``("imei", "...")``. Character references and the five
    predefined entities are replaced; no other entity is."""
    text = body.decode("utf-8", "surrogateescape")
    fields: list[tuple[str, str]] = []
    for match in _LEAF.finditer(text):
        value = match.group(2).strip()
        if value:
            fields.append((_local(match.group(1)), _unescape(value)))
            if len(fields) >= MAX_FIELDS:
                return fields
    for tag in _TAG.finditer(text):
        for attribute in _ATTRIBUTE.finditer(tag.group(1)):
            value = attribute.group(2) if attribute.group(2) is not None else attribute.group(3)
            name = _local(attribute.group(1))
            if value and name != "xmlns" and not attribute.group(1).startswith("xmlns:"):
                fields.append((name, _unescape(value.strip())))
                if len(fields) >= MAX_FIELDS:
                    return fields
    return fields


def _local(name: str) -> str:
    """A name without its namespace prefix (``soap:Body`` gives ``Body``)."""
    return name.rpartition(":")[2]


_PREDEFINED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}
_REFERENCE = re.compile(r"&(?:(lt|gt|amp|quot|apos)|#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6}));")


def _character(match: re.Match[str]) -> str:
    name, decimal, hexadecimal = match.groups()
    if name:
        return _PREDEFINED[name]
    code = int(decimal) if decimal else int(hexadecimal, 16)
    return chr(code) if 0 < code <= 0x10FFFF else match.group()


def _unescape(value: str) -> str:
    """XML's own references replaced: the five predefined entities and character
    references (``&#43;`` is a "+"). Any other entity needs a DTD, never read."""
    return _REFERENCE.sub(_character, value) if "&" in value else value
