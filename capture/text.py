"""Lossless text from wire bytes, and safe rendering of it.

Header bytes are decoded as UTF-8 with ``surrogateescape``: valid UTF-8 reads as
itself and every other byte becomes a lone surrogate, so :func:`to_bytes` gives
back exactly what was on the wire. For display and JSON those surrogates are
shown as the four characters ``\\xNN`` (the convention of Zeek's logs and of our
oracles), and :func:`printable` also escapes terminal control characters so that
a hostile header can never drive the terminal.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any, TextIO, cast


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """``n`` with the noun that goes with it: "1 request", "2,048 requests"."""
    return f"{n:,} {singular if n == 1 else plural or singular + 's'}"


LATEST_TS = 253402300799.0
"""9999-12-31 23:59:59 UTC: the last second every date formatter can show."""


def clock_ts(ts: float) -> float:
    """``ts`` within what dates can show (1970 to year 9999; NaN as 0), for formatting.

    Capture files are read into that range already; this keeps every formatter
    from raising on a record made some other way.
    """
    if ts != ts:  # NaN
        return 0.0
    return min(max(ts, 0.0), LATEST_TS)


def from_bytes(data: bytes | bytearray | memoryview) -> str:
    """Decode wire bytes losslessly (UTF-8, undecodable bytes kept as surrogates)."""
    return bytes(data).decode("utf-8", "surrogateescape")


def to_bytes(text: str) -> bytes:
    """The exact wire bytes a :func:`from_bytes` string came from."""
    return text.encode("utf-8", "surrogateescape")


# The patterns of this module are compiled on first use: a scan of clean traffic
# needs none of them, and compiling them was a tenth of the regex work at start-up.
INVISIBLE = "\u00ad\u061c\u180e\u200b-\u200f\u2060-\u2064\ufeff"
"""Characters that show as nothing, as ranges of a regular expression's class: soft
hyphen, the Arabic letter mark, the Mongolian vowel separator, zero-width space,
non-joiner and joiner, the left-to-right and right-to-left marks, the word joiner and
invisible operators, and the byte-order mark (zero-width no-break space)."""


_SURROGATE_ESCAPES = {0xDC00 + byte: f"\\x{byte:02x}" for byte in range(0x80, 0x100)}
"""Each undecodable byte's surrogate (surrogateescape's) and its ``\\xNN``."""


def for_json(text: str) -> str:
    """Replace undecodable bytes with ``\\xNN`` so the string is valid UTF-8."""
    if text.isascii():
        return text
    # One C pass: a regular expression's callback per byte cost 70-100 ms of a
    # reflector's CPU for a head of 31 KB of such bytes (an attacker's, at will).
    return text.translate(_SURROGATE_ESCAPES)


# C0 controls (ESC, BEL, CR, BS, ...), DEL, C1 controls (0x80-0x9f: CSI/OSC in 8-bit
# form), and the undecodable-byte surrogates. Tab is escaped too: it breaks tables.
# And the characters that show as nothing (soft hyphen, zero-width space, joiners,
# word joiner, invisible operators, BOM): "4477\u200b00900124" read as a valid
# number on screen.
@cache
def _unprintable() -> re.Pattern[str]:
    return re.compile(
        f"[\x00-\x1f\x7f-\x9f\udc80-\udcff\u2028\u2029\u202a-\u202e\u2066-\u2069{INVISIBLE}]"
    )


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def printable(text: str) -> str:
    """Text safe to write to a terminal: control characters and raw bytes as ``\\xNN``.

    Bidirectional overrides (U+202A..U+202E, U+2066..U+2069) are escaped as
    ``\\uNNNN`` because they reorder what the reader sees, and characters that show as
    nothing (:data:`INVISIBLE`) because a value with one looks like another.
    """
    return _unprintable().sub(_escape_char, text)


def printable_bytes(data: bytes) -> str:
    """Bytes of no known kind (a file's first bytes, in an error) for a terminal:
    printable ASCII as it is, every other byte as ``\\xNN``. Not decoded: a byte read as
    part of a character would show as one the file may not hold (0x89, PNG's first,
    became U+FFFD), and a character cut at the end of the bytes shown as another."""
    return "".join(chr(byte) if 0x20 <= byte < 0x7F else f"\\x{byte:02x}" for byte in data)


# Characters JSON lets through raw but that a terminal (``cat``, ``less``, a CI log)
# obeys or a reader is fooled by: DEL, C1 controls (8-bit CSI, OSC...), bidirectional
# marks, embeddings, overrides and isolates, the line/paragraph separators that end
# lines in some JavaScript tools, and the characters that show as nothing
# (:data:`INVISIBLE`: "4477\u200b00900124" in a JSONL file read as a valid number in
# any viewer, as it did on screen). C0 controls are already escaped by every JSON
# writer. As UTF-8 each starts with a lead byte, so a match in valid UTF-8 is always
# one whole character.
@cache
def _json_unsafe_bytes() -> re.Pattern[bytes]:
    return re.compile(
        rb"\x7f|\xc2[\x80-\x9f\xad]|\xd8\x9c|\xe1\xa0\x8e|\xe2\x80[\x8b-\x8f\xa8-\xae]"
        rb"|\xe2\x81[\xa0-\xa4\xa6-\xa9]|\xef\xbb\xbf"
    )


@cache
def _json_unsafe() -> re.Pattern[str]:
    return re.compile(f"[\x7f-\x9f\u2028-\u202e\u2066-\u2069{INVISIBLE}]")


def _escape_json_bytes(match: re.Match[bytes]) -> bytes:
    return b"\\u%04x" % ord(match.group().decode("utf-8"))


def _escape_json_char(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def jsonable(value: Any) -> Any:
    """``value`` with every string made valid UTF-8 (:func:`for_json`), arrays as lists:
    ready for any JSON writer, e.g. header pairs as ``[[name, value], ...]``."""
    if isinstance(value, str):
        return for_json(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [jsonable(v) for v in value]
    return value


def escape_json_bytes(line: bytes) -> bytes:
    """Serialized JSON (UTF-8) with C1, bidi, separator and invisible characters as
    ``\\uXXXX``.

    Still valid JSON, parsing to the same strings. Cheap when nothing needs it:
    an ASCII line without DEL (most of them) costs two C-speed scans, and any other
    line a few (:func:`_may_need_escapes`) before the pattern looks at it.
    """
    # (find, not ``in``: ``in`` on bytes first tries the operand as an integer.)
    if line.isascii():
        if line.find(b"\x7f") < 0:
            return line
    elif not _may_need_escapes(line):
        return line
    return _json_unsafe_bytes().sub(_escape_json_bytes, line)


def _may_need_escapes(line: bytes) -> bool:
    """False when ``line`` holds nothing that :func:`_json_unsafe_bytes` matches: none
    of its byte sequences, each looked for with ``find`` (a ``·`` of a finding's detail
    is ``\\xc2\\xb7``, whose lead byte is the C1 controls'). The pattern's own scan
    tests a set of lead bytes at every position, some 30 instructions a byte."""
    if line.find(b"\x7f") >= 0 or line.find(b"\xd8\x9c") >= 0:
        return True
    if line.find(b"\xe2\x80") >= 0 or line.find(b"\xe2\x81") >= 0:
        return True
    if line.find(b"\xef\xbb\xbf") >= 0 or line.find(b"\xe1\xa0\x8e") >= 0:
        return True
    at = line.find(b"\xc2")
    while at >= 0:
        after = line[at + 1 : at + 2]
        if b"\x80" <= after <= b"\x9f" or after == b"\xad":
            return True
        at = line.find(b"\xc2", at + 1)
    return False


def escape_json(text: str) -> str:
    """:func:`escape_json_bytes` for JSON already decoded to ``str``."""
    if text.isascii() and "\x7f" not in text:
        return text
    return _json_unsafe().sub(_escape_json_char, text)


class EscapingWriter:
    """A text stream whose messages are written :func:`printable`: a file name or a
    value with a newline or an escape sequence in a message (``e\\nx\\x1b[31m.pcap:
    empty file``) split the message over two lines and drove the terminal. A message
    is one line: only the newline that ends a write (``print``'s own) is written as it
    is."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        """Write ``text`` :func:`printable`, a newline that ends it as it is."""
        if text.endswith("\n"):
            return self._stream.write(printable(text[:-1]) + "\n")
        return self._stream.write(printable(text))

    def __getattr__(self, name: str) -> Any:
        # flush, fileno, isatty, encoding...: the stream's own.
        return getattr(self._stream, name)


def escaping(stream: TextIO) -> TextIO:
    """``stream`` for messages: an :class:`EscapingWriter` of it."""
    return cast(TextIO, EscapingWriter(stream))
