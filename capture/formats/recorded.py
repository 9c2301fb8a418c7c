"""What a session file records of how it was made: above all its region, so that
reading it again reads its numbers so.

A session (a pcapng one, :mod:`capture.formats.session`, or one of records,
:mod:`capture.formats.record_session`) cites the region its national numbers were read
in. A command that reads it again without a region of its own (``--region``, the
config's) reads them in that region, not the locale's (``tui.common.build_detector``).

Every input of ``scan`` is looked at, so the look is cheap: the first bytes of the file
say whether it may be a session, and only then are the session modules imported (28 ms).
"""

from __future__ import annotations

import os
import stat
import zlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from capture.formats.session import SessionInfo

_LOOK = 1 << 16
"""Bytes looked at: a session's metadata starts in them (the section header's first
option, or the first line)."""

_PCAPNG = b"\x0a\x0d\x0d\x0a"
_GZIP = b"\x1f\x8b"


def recorded_info(path: str) -> SessionInfo | None:
    """The metadata of the session file ``path``, of frames or of records, gzip-compressed
    or not; None for any other file, one that cannot be read, and what is not a regular
    file (a FIFO or a proxy's socket: a look would take bytes its reader is owed)."""
    found = recorded_session(path)
    return found[0] if found is not None else None


def recorded_session(path: str) -> tuple[SessionInfo, bool] | None:
    """:func:`recorded_info` of ``path`` and whether it is a session of frames (pcapng):
    its findings are found again from its packets, where a session of records carries
    them (its canaries' too); None where :func:`recorded_info` is. One look at the file."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        with open(path, "rb") as stream:
            head = stream.read(_LOOK)
    except (OSError, ValueError):  # ValueError: a path with a NUL byte
        return None
    packed = head[:2] == _GZIP
    if packed:
        try:
            head = zlib.decompressobj(wbits=31).decompress(head, _LOOK)
        except zlib.error:
            return None
    info = None
    frames = head.startswith(_PCAPNG)
    if frames and b'"headerwatch"' in head:
        from capture.formats.session import SessionError, read_session_info

        try:
            info = read_session_info(path)
        except SessionError:
            return None
    elif head.lstrip().startswith(b'{"headerwatch_session"'):
        info = _record_session_info(path, packed)
    elif head.lstrip().startswith(b'{"log"') and b'"headerwatch"' in head:
        info = _har_info(path)
    return None if info is None else (info, frames)


def _har_info(path: str) -> SessionInfo | None:
    """What a HAR headerwatch exported says judged its findings (its creator)."""
    from capture.formats.har import har_info, headerwatch_creator_of

    found = headerwatch_creator_of(path)
    return har_info(found) if found is not None else None


def _record_session_info(path: str, packed: bool) -> SessionInfo | None:
    """The metadata on a record session's first line, read whole (thousands of canary
    digests make it longer than the bytes looked at)."""
    import gzip

    from capture.formats.record_session import info_of_line
    from capture.sources.records import MAX_LINE

    try:
        with gzip.open(path, "rb") if packed else open(path, "rb") as stream:
            return info_of_line(stream.readline(MAX_LINE))
    except (OSError, EOFError, zlib.error):
        return None
