"""HTTP/1.x message heads and body framing: pure functions on bytes and text.

Parsing is lenient where real traffic is (bare LF, obs-fold, HTTP/0.9, odd
request lines) and records every leniency as an anomaly, because a monitor
must see what a server or proxy would see, not reject it. Where the RFC decides
behaviour it is quoted.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import NamedTuple

from capture.model import Header
from capture.text import printable

try:  # built at install time where a C compiler is there (see pyproject.toml)
    from capture.http import _headsplit
except ImportError:
    _headsplit = None  # type: ignore[assignment]

MAX_HEAD = 64 * 1024
"""Largest header block accepted by default (bytes); larger ones are cut, flagged,
and scanned for identities up to the cut. ``--max-head`` changes it
(:func:`set_head_limit`)."""

HEAD_LIMITS = (1024, 64 * 1024 * 1024)
"""The smallest and largest ``--max-head`` accepted."""

_head_limit = MAX_HEAD


def set_head_limit(size: int) -> None:
    """Make ``size`` bytes the largest head accepted, for the pipelines made from now on."""
    low, high = HEAD_LIMITS
    if not low <= size <= high:
        raise ValueError(f"the largest head must be between {low:,} and {high:,} bytes")
    global _head_limit
    _head_limit = size


def head_limit() -> int:
    """The largest head new pipelines accept (:data:`MAX_HEAD` unless set)."""
    return _head_limit


MAX_CONTENT_LENGTH = (1 << 63) - 1
"""Content-Length values above this cannot be honoured by any real server."""

# Methods that may appear without a version (HTTP/0.9 "simple request" and its
# relatives): only well-known ones, so "SSH-2.0-x y" is not taken for a request.
KNOWN_METHODS = frozenset(
    [
        "GET",
        "POST",
        "HEAD",
        "PUT",
        "DELETE",
        "OPTIONS",
        "TRACE",
        "CONNECT",
        "PATCH",
        "PROPFIND",
        "PROPPATCH",
        "MKCOL",
        "COPY",
        "MOVE",
        "LOCK",
        "UNLOCK",
        "SEARCH",
        "REPORT",
        "MKACTIVITY",
        "CHECKOUT",
        "MERGE",
        "M-SEARCH",
        "NOTIFY",
        "SUBSCRIBE",
        "UNSUBSCRIBE",
        "PURGE",
        "LINK",
        "UNLINK",
        "QUERY",
        "CCM_POST",
    ]
)

# RFC 9110 §5.6.2: token = 1*tchar.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_TOKEN_BYTES = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,32}")
_VERSION = re.compile(r"HTTP/\S*", re.IGNORECASE)
_HEX = re.compile(rb"[0-9A-Fa-f]+")
_STATUS_START = re.compile(rb"HTTP/\d", re.IGNORECASE)


# A line that is unmistakably a request line, for finding our place after a gap. These
# two are compiled on first use: a stream caught from its start, without gaps, never
# looks for them.
@cache
def request_line_pattern() -> re.Pattern[bytes]:
    """The request line (group 1) at the start of a line, ``METHOD TARGET HTTP/d.d``."""
    return re.compile(
        rb"(?:^|\n)([!#$%&'*+\-.^_`|~0-9A-Za-z]{1,32} [^\s]+ HTTP/\d\.\d\r?\n)", re.IGNORECASE
    )


@cache
def request_line_start() -> re.Pattern[bytes]:
    """What the start of a request line may be while its end has not come (for
    :meth:`fullmatch`: method, target and version each cut anywhere; a little looser
    than :func:`request_line_pattern`, never stricter)."""
    return re.compile(
        rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]{0,32}(?: [^\s]*(?: [HTP/0-9.]{0,8}\r?)?)?", re.IGNORECASE
    )


@cache
def status_line_pattern() -> re.Pattern[bytes]:
    """The status line (group 1) at the start of a line, ``HTTP/d.d NNN ...``."""
    return re.compile(rb"(?:^|\n)(HTTP/\d\.\d \d\d\d[^\r\n]*\r?\n)", re.IGNORECASE)


class MalformedHead(ValueError):
    """The bytes cannot be an HTTP message head."""


class RequestHead(NamedTuple):
    """A parsed request line and header block."""

    method: str
    uri: str | None
    version: str | None
    headers: tuple[Header, ...]
    anomalies: tuple[str, ...]


class ResponseHead(NamedTuple):
    """A parsed status line and header block."""

    version: str
    status: int
    reason: str
    headers: tuple[Header, ...]
    anomalies: tuple[str, ...]


def find_head_end(buf: bytes | bytearray, start: int = 0) -> int:
    """Index just past the empty line that ends a header block, or -1.

    RFC 9112 §2.2 lets a recipient accept a bare LF as a line terminator, so
    both ``\\r\\n\\r\\n`` and ``\\n\\n`` (and mixtures) end the block.
    """
    crlf = buf.find(b"\n\r\n", start)
    if crlf < 0:
        lf = buf.find(b"\n\n", start)
        return lf + 2 if lf >= 0 else -1
    # A bare-LF end only counts before the CRLF one: searched up to it, not through
    # the rest of the buffer (thousands of pipelined heads made that quadratic).
    lf = buf.find(b"\n\n", start, crlf + 1)
    return lf + 2 if lf >= 0 else crlf + 3


def skip_empty_lines(buf: bytes | bytearray, start: int = 0) -> int:
    """Index of the first byte after any leading CR/LF.

    RFC 9112 §2.2: "a server that is expecting to receive and parse a
    request-line SHOULD ignore at least one empty line (CRLF) received prior to
    the request-line."
    """
    n = len(buf)
    while start < n and buf[start] in (13, 10):
        start += 1
    return start


OBS_FOLD = "obs-fold (folded header line)"
NO_VERSION = "no HTTP version (HTTP/0.9-style request line)"
_LEADING_FOLD = "continuation line before any header"
_SPACE_BEFORE_COLON = "whitespace before colon in header"


def server_rejects(anomalies: tuple[str, ...]) -> str | None:
    """The first of a request head's ``anomalies`` a server answers ``400`` to, if any.

    RFC 9112 §5.1: whitespace between a field name and its colon MUST be rejected
    (proxies and servers disagree on the name, a smuggling shape). §5.2 lets a server
    reject an obs-fold or replace it with SP; §2.2, a whitespace-led line before the
    first field. A server answering with what it received rejects all three: a
    replaced fold would not be what arrived. The parser itself stays lenient (a
    monitor records what it sees), so this is the server's own decision.
    """
    for anomaly in anomalies:
        if anomaly == OBS_FOLD or anomaly.startswith((_LEADING_FOLD, _SPACE_BEFORE_COLON)):
            return anomaly
    return None


def parse_header_lines(lines: list[str]) -> tuple[list[Header], list[str]]:
    """Header lines (terminators already split off) to ``(headers, anomalies)``.

    Lines still ending in CR had a CRLF; the others had a bare LF.
    """
    headers: list[Header] = []
    anomalies: list[str] = []
    bare_lf = False
    for line in lines:
        if line.endswith("\r"):
            line = line[:-1]
        else:
            bare_lf = True
        if not line:
            continue
        first = line[0]
        if first == " " or first == "\t":
            # RFC 9112 §5.2: "A user agent that receives an obs-fold ... MUST
            # replace each received obs-fold with one or more SP octets".
            if headers:
                name, value = headers[-1]
                folded = line.strip(" \t")
                headers[-1] = (name, f"{value} {folded}" if value else folded)
                if OBS_FOLD not in anomalies:
                    anomalies.append(OBS_FOLD)
            else:
                anomalies.append(f"{_LEADING_FOLD}: {printable(line)[:80]}")
            continue
        name, colon, value = line.partition(":")
        if not colon:
            anomalies.append(f"header line without colon: {printable(line)[:80]}")
            continue
        if name != name.rstrip(" \t"):
            # RFC 9112 §5.1: whitespace between name and colon MUST be rejected by
            # servers; proxies may normalise it. We keep the name and say so.
            anomalies.append(f"{_SPACE_BEFORE_COLON} {printable(name.strip())!r}")
            name = name.rstrip(" \t")
        headers.append((name, value.strip(" \t")))
    if bare_lf:
        anomalies.append("bare LF line endings")
    return headers, anomalies


# Clients repeat most header lines request after request (User-Agent, Accept, ...):
# the split of a line already seen is looked up, not redone. Bounded, because lines
# are whatever the wire carries.
_LINES: dict[str, Header] = {}
_LINES_LIMIT = 4096


def _split_head(block: bytes | bytearray) -> tuple[str, list[Header], list[str]]:
    """A head's first line, its headers, and anomalies.

    The fast path handles the common head (CRLF everywhere, no folding, every
    line ``name: value``) with C-level string operations; anything else goes
    through :func:`parse_header_lines`, which handles and names every oddity.
    Where ``capture/http/_headsplit.c`` was built, it takes the ASCII heads of that
    fast path, with the same results.
    """
    if _headsplit is not None:
        plain = _headsplit.split(block)
        if plain is not None:
            return plain[0], plain[1], []
    text = bytes(block).decode("utf-8", "surrogateescape")
    lines = text.split("\r\n")
    # Every LF is part of a CRLF; folded lines (starting with SP or HTAB) are
    # caught below, and never enter the cache.
    if text.count("\n") == len(lines) - 1:
        while len(lines) > 1 and not lines[-1]:
            lines.pop()
        headers: list[Header] = []
        append = headers.append
        known = _LINES.get
        for line in lines[1:]:
            header = known(line)
            if header is None:
                name, colon, value = line.partition(":")
                if not colon or not name or name[0] in " \t" or name[-1] in " \t":
                    break
                header = (name, value.strip(" \t"))
                if len(_LINES) >= _LINES_LIMIT:
                    _LINES.clear()
                _LINES[line] = header
            append(header)
        else:
            return lines[0], headers, []
    lines = text.split("\n")
    while len(lines) > 1 and lines[-1] in ("", "\r"):
        lines.pop()
    first = lines[0]
    headers, anomalies = parse_header_lines(lines[1:])
    return first[:-1] if first.endswith("\r") else first, headers, anomalies


def parse_request_line(line: str) -> tuple[str, str | None, str | None]:
    """Split a request line into method, target and version.

    The method is the first token and the version the last word when it starts
    with ``HTTP/``; everything between is the target, spaces included (so
    ``GET /a b HTTP/1.1`` has target ``/a b``, as Suricata and Zeek read it).
    """
    method, sp, rest = line.partition(" ")
    if not _TOKEN.fullmatch(method):
        raise MalformedHead(f"invalid request method: {printable(method)[:40]!r}")
    if not sp:
        if method not in KNOWN_METHODS:
            raise MalformedHead(f"request line without target: {printable(line)[:80]!r}")
        return method, None, None
    target, sp2, last = rest.rpartition(" ")
    if sp2 and _VERSION.fullmatch(last):
        return method, target, last
    if _VERSION.fullmatch(rest):
        # "GET HTTP/1.1": no target at all.
        return method, "", rest
    if method not in KNOWN_METHODS or not rest.strip(" "):
        raise MalformedHead(f"not a request line: {printable(line)[:80]!r}")
    return method, rest, None


def parse_request_head(block: bytes | bytearray) -> RequestHead:
    """Parse a request line plus header block (the ending empty line is optional)."""
    first, headers, anomalies = _split_head(block)
    method, uri, version = parse_request_line(first)
    if version is None and uri is not None:
        anomalies.insert(0, NO_VERSION)
    if uri is None:
        anomalies.insert(0, "request line without target")
    return RequestHead(method, uri, version, tuple(headers), tuple(anomalies))


CONTENT_LENGTH = 1
TRANSFER_ENCODING = 2
UPGRADE = 4
"""Flags of :func:`plain_request`: the head has a header of that name (any case)."""
FRAMING_FLAGS = {
    "content-length": CONTENT_LENGTH,
    "transfer-encoding": TRANSFER_ENCODING,
    "upgrade": UPGRADE,
}


# A plain request line: a method token, a target (empty, or with spaces), a version of
# printable characters. Other request lines (no version, odd spacing) are the general
# path's: parse_request_line names what is odd about them. Compiled on first use: where
# _headsplit.c was built, only this reference of it (plain_request) searches with it.
@cache
def _plain_request_line() -> re.Pattern[str]:
    return re.compile(r"([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (.*) (HTTP/[!-~]*)", re.DOTALL)


def plain_request(data: bytes | bytearray) -> tuple[int, RequestHead, int, int] | None:
    """``(end, head, flags, length)`` of the plain request head at the start of ``data``,
    in one pass; None for any other head, or when the head is not complete.

    Plain: ASCII up to ``end``, which ends a CRLF empty line with every line end before
    it a CRLF; a request line ``METHOD TARGET HTTP/...``; every header line ``name:
    value`` (no blank around the name). ``end`` is :func:`find_head_end`'s, ``head``
    :func:`parse_request_head`'s of ``data[:end]`` (no anomalies), and ``flags`` says
    which of Content-Length, Transfer-Encoding and Upgrade the header names are
    (:data:`CONTENT_LENGTH`, ...), so that a head without them needs no framing walk;
    ``length`` is the body's length where the head names one Content-Length, of 1 to
    18 digits, and no Transfer-Encoding (what :func:`request_framing` then reads, with
    no anomaly), else -1: the common POST needs no framing walk either.
    This is the reference of ``_headsplit.request`` (``capture/http/_headsplit.c``),
    which the stream reader calls where it was built.
    """
    end = find_head_end(data)
    if end < 0:
        return None
    block = bytes(data[:end])
    if not block.endswith(b"\r\n\r\n") or not block.isascii():
        return None
    if block.count(b"\n") != block.count(b"\r\n"):
        return None  # a bare LF
    first, *lines = block[:-4].decode("ascii").split("\r\n")
    line = _plain_request_line().fullmatch(first)
    if line is None:
        return None
    headers: list[Header] = []
    flags = 0
    lengths: list[str] = []
    for text in lines:
        name, colon, value = text.partition(":")
        if not colon or not name or name[0] in " \t" or name[-1] in " \t":
            return None
        value = value.strip(" \t")
        headers.append((name, value))
        flag = FRAMING_FLAGS.get(name.lower(), 0)
        if flag == CONTENT_LENGTH:
            lengths.append(value)
        flags |= flag
    length = -1
    if len(lengths) == 1 and not flags & TRANSFER_ENCODING:
        value = lengths[0]
        if 1 <= len(value) <= 18 and value.isdigit():  # ASCII, as the whole head
            length = int(value)
    return end, RequestHead(line[1], line[2], line[3], tuple(headers), ()), flags, length


c_request: (
    Callable[[bytes | bytearray, type[RequestHead]], tuple[int, RequestHead, int, int] | None]
    | None
)
c_request = _headsplit.request if _headsplit is not None else None
""":func:`plain_request` in C, where it was built: ``c_request(data, RequestHead)``
(None where it was not; the stream reader then takes every head the general way)."""


def parse_response_head(block: bytes | bytearray) -> ResponseHead:
    """Parse a status line plus header block (the ending empty line is optional)."""
    first, headers, anomalies = _split_head(block)
    version, _, rest = first.partition(" ")
    if not version[:5].upper() == "HTTP/":
        raise MalformedHead(f"not a status line: {printable(first)[:80]!r}")
    code, _, reason = rest.lstrip(" ").partition(" ")
    if len(code) != 3 or not code.isdigit():
        raise MalformedHead(f"invalid status code in {printable(first)[:80]!r}")
    return ResponseHead(version, int(code), reason, tuple(headers), tuple(anomalies))


def looks_like_request(buf: bytes | bytearray) -> bool | None:
    """Whether a stream starting with ``buf`` is HTTP requests; None: need more bytes."""
    start = skip_empty_lines(buf)
    match = _TOKEN_BYTES.match(buf, start)
    if match is None:
        return None if start == len(buf) else False
    end = match.end()
    if end == len(buf):
        return None if end - start < 32 else False
    sep = buf[end]
    method = bytes(buf[start:end]).decode("ascii")
    if sep == 32:  # SP
        if method in KNOWN_METHODS:
            return True
        eol = buf.find(b"\n", end)
        if eol < 0:
            return None if len(buf) - start < 2048 else False
        line = bytes(buf[start:eol]).rstrip(b"\r")
        try:
            parse_request_line(line.decode("utf-8", "surrogateescape"))
        except MalformedHead:
            return False
        return True
    if sep in (13, 10):  # a bare method such as "OPTIONS\n"
        return method in KNOWN_METHODS
    return False


def looks_like_response(buf: bytes | bytearray) -> bool | None:
    """Whether a stream starting with ``buf`` is HTTP responses; None: need more bytes."""
    if len(buf) < 6:
        return None if b"HTTP/"[: len(buf)] == bytes(buf).upper() else False
    return _STATUS_START.match(buf) is not None


class Framing(NamedTuple):
    """How the body after a head is delimited."""

    kind: str
    """``none``, ``length``, ``chunked``, ``close`` (until the connection ends) or ``tunnel``."""
    length: int
    anomalies: tuple[str, ...]


def _length_of(digits: str) -> int | None:
    """The number ASCII ``digits`` write, None past :data:`MAX_CONTENT_LENGTH`: told by
    their length before ``int()``, which refuses more than 4,300 digits (a peer's
    Content-Length of 5,000 stopped a live capture and the reflector's reading)."""
    significant = digits.lstrip("0")
    if len(significant) > 19:
        return None
    number = int(significant or "0")
    return number if number <= MAX_CONTENT_LENGTH else None


def _content_length(values: list[str], anomalies: list[str]) -> int | None:
    """The single valid Content-Length of a message, or None if there is none valid."""
    if len(values) == 1:
        # Nearly always: one value, digits alone (the loop below gives it the same way).
        value = values[0]
        if value.isdigit() and value.isascii():
            length = _length_of(value)
            if length is not None:
                return length
    parsed: list[int] = []
    for value in values:
        for item in value.split(","):
            item = item.strip(" \t")
            if not item.isdigit() or not item.isascii():
                anomalies.append(f"invalid Content-Length {printable(value)[:40]!r}")
                return None
            number = _length_of(item)
            if number is None:
                anomalies.append(f"Content-Length out of range: {printable(value)[:40]}")
                return None
            parsed.append(number)
    if len(set(parsed)) > 1:
        # RFC 9112 §6.3 calls differing values unrecoverable; servers disagree on
        # which one wins. Wireshark and Suricata (libhtp) take the last, so we do
        # too, and say that the framing is ambiguous.
        anomalies.append(f"conflicting Content-Length values: {parsed}; the last is used")
    return parsed[-1] if parsed else None


def header_tokens(headers: tuple[Header, ...], lname: str) -> list[str]:
    """The comma-separated tokens of every header called ``lname`` (lower case), in
    order, lowered: ``Connection: keep-alive, Upgrade`` → ``["keep-alive", "upgrade"]``."""
    tokens: list[str] = []
    for name, value in headers:
        if name.lower() == lname:
            tokens.extend(_lowered(t) for t in value.split(",") if t.strip(" \t"))
    return tokens


def _lowered(token: str) -> str:
    """``token`` stripped and lowered as ASCII: Unicode's case mapping would make
    ``chun\u212aed`` (a Kelvin sign) "chunked", a framing no other server reads there
    (the reflector and a capture's reader would cut its requests apart differently
    from the server behind them)."""
    token = token.strip(" \t")
    return token.lower() if token.isascii() else token


def request_framing(headers: tuple[Header, ...]) -> Framing:
    """Body framing of a request (RFC 9112 §6.3)."""
    anomalies: list[str] = []
    te_present = False
    cl_values: list[str] = []
    for name, value in headers:
        # Compare lengths first: most headers are neither, and lower() costs (a
        # non-ASCII name that lower-cases to either has the same length: only the
        # Kelvin sign lower-cases to an ASCII letter, and neither name has a "k").
        size = len(name)
        if size == 17 and name.lower() == "transfer-encoding":
            te_present = True
        elif size == 14 and name.lower() == "content-length":
            cl_values.append(value)
    if te_present:
        codings = header_tokens(headers, "transfer-encoding")
        if cl_values:
            # §6.3: TE overrides CL, and "ought to be handled as an error": this is
            # the classic request-smuggling shape, so it is flagged.
            anomalies.append("both Transfer-Encoding and Content-Length")
        if "chunked" in codings:
            if codings[-1] != "chunked":
                anomalies.append(f"chunked is not the final transfer coding: {codings}")
            return Framing("chunked", 0, tuple(anomalies))
        # §6.3: a request with a TE whose final coding is not chunked: length unknown.
        anomalies.append(f"Transfer-Encoding without chunked: {codings}")
        return Framing("none", 0, tuple(anomalies))
    if cl_values:
        length = _content_length(cl_values, anomalies)
        if length:
            return Framing("length", length, tuple(anomalies))
    return Framing("none", 0, tuple(anomalies))


def response_framing(
    request_method: str | None, status: int, headers: tuple[Header, ...]
) -> Framing:
    """Body framing of a response to ``request_method`` (RFC 9112 §6.3)."""
    if request_method == "HEAD" or 100 <= status < 200 or status in (204, 304):
        if status == 101:
            return Framing("tunnel", 0, ())
        return Framing("none", 0, ())
    if request_method == "CONNECT" and 200 <= status < 300:
        return Framing("tunnel", 0, ())
    cl_values: list[str] = []
    chunked_last: bool | None = None
    for name, value in headers:
        # Compare lengths first: most headers are neither, and lower() costs.
        size = len(name)
        if size == 14 and name.lower() == "content-length":
            cl_values.append(value)
        elif size == 17 and name.lower() == "transfer-encoding":
            codings = [_lowered(c) for c in value.split(",") if c.strip(" \t")]
            if codings:
                chunked_last = codings[-1] == "chunked"
    if chunked_last is not None:
        return Framing("chunked" if chunked_last else "close", 0, ())
    if cl_values:
        anomalies: list[str] = []
        length = _content_length(cl_values, anomalies)
        if length is not None:
            return Framing("length" if length else "none", length, tuple(anomalies))
        return Framing("close", 0, tuple(anomalies))
    return Framing("close", 0, ())


def parse_chunk_size(line: bytes | bytearray) -> int:
    """The size in a chunk-size line (``1a;ext=1``); raises MalformedHead if invalid."""
    text = bytes(line).split(b";", 1)[0].strip(b" \t\r\n")
    if not _HEX.fullmatch(text) or len(text) > 16:
        raise MalformedHead(f"invalid chunk size line {bytes(line)[:40]!r}")
    size = int(text, 16)
    if size > MAX_CONTENT_LENGTH:
        raise MalformedHead(f"chunk size out of range: {bytes(line)[:40]!r}")
    return size


def has_upgrade(headers: tuple[Header, ...]) -> bool:
    """True if the request asks to switch protocols (Upgrade header present)."""
    return any(name.lower() == "upgrade" for name, _ in headers)
