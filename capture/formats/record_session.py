"""Sessions of records: what a proxy's requests are saved as, and reopened from.

A capture's session is a pcapng of frames (:mod:`capture.formats.session`). A
proxy (``live --from``) gives requests, not frames, so its session is
headerwatch JSONL:

* line 1 is the session's metadata, ``{"headerwatch_session": {...}}``: the same
  fields as a pcapng session's section header comment (:class:`SessionInfo`:
  tool version, source, creation time, filter, region, canary digests), plus
  ``"records": true``;
* every other line is one request's record (docs/jsonl.md), with the user's
  ``marked`` and ``comment`` when there are any.

Reopening (``headerwatch open FILE``) reads it as any JSONL file: the first line
is passed over as a status line, the records go through the pipeline (findings
are found again), and :func:`load_record_annotations` puts marks and comments
back, matched by the request's time, addresses and place on its connection.

Two ways to write one, both private (0600, :mod:`capture.formats.private`):
:func:`save_record_session` writes the dashboard's entries at once (``w``,
atomically), and :class:`RecordRecording` writes every line as it is read
(``live --from PATH -w FILE``), so that stopping leaves everything read saved.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Collection, Iterable
from typing import Any, NamedTuple

import orjson

from capture.formats.atomic import atomic_output
from capture.formats.jsonl import dumps_entry
from capture.formats.pcapng import describe_errno, describe_os_error
from capture.formats.private import create_new, open_private, remove_new
from capture.formats.session import AnchorKey, SessionError, SessionInfo, Tag
from capture.sources.records import MAX_LINE
from capture.view.store import Entry

SESSION_KEY = "headerwatch_session"
"""The only key of a record session's first line."""


def info_line(info: SessionInfo) -> bytes:
    """The first line of a record session (with its newline)."""
    body: dict[str, Any] = json.loads(info.to_comment())["headerwatch"]
    body["records"] = True
    return orjson.dumps({SESSION_KEY: body}) + b"\n"


def info_of_line(line: bytes) -> SessionInfo | None:
    """The metadata in a record session's first line; None for any other line."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get(SESSION_KEY), dict):
        return None
    return SessionInfo.from_comment(json.dumps({"headerwatch": obj[SESSION_KEY]}))


def save_record_session(
    path: str,
    entries: Iterable[Entry],
    only: Collection[int] | None = None,
    info: SessionInfo | None = None,
) -> RecordsSaved:
    """Write the entries (those whose id is in ``only``, if given) as a record
    session; say how many, and how many of them were marked and commented. The file
    is replaced atomically; on failure it is left as it was and
    :class:`SessionError` says why in one line."""
    wanted = None if only is None else set(only)
    info = info if info is not None else SessionInfo.new()
    count = marked = commented = 0
    try:
        with atomic_output(path) as temp, open_private(temp, "xb") as out:
            out.write(info_line(info))
            for entry in entries:
                if wanted is not None and entry.record.id not in wanted:
                    continue
                out.write(dumps_entry(entry).encode() + b"\n")
                count += 1
                marked += entry.marked
                commented += bool(entry.comment)
    except OSError as exc:
        reason = describe_os_error(exc)
        raise SessionError(f"{path}: {reason}; session not saved") from None
    return RecordsSaved(count, marked, commented)


class RecordsSaved(NamedTuple):
    """What :func:`save_record_session` wrote."""

    requests: int
    marked: int
    commented: int


class RecordRecording:
    """A record session written as lines are read (``live --from PATH -w FILE``).

    Each line is written and flushed as it comes, so that a stop at any time
    leaves every line read in the file. A write error stops the recording (the
    reading goes on) and is kept in :attr:`failed`. A file already at ``path`` is
    refused (:class:`SessionError`), never overwritten.
    """

    def __init__(self, path: str, info: SessionInfo) -> None:
        self.path = path
        try:
            # New, as a -w capture is: an earlier recording is never overwritten.
            fd = create_new(path)
        except OSError as exc:
            raise SessionError(f"{path}: {describe_os_error(exc)}") from None
        # Written unbuffered, a line a write: each is in the file once written, and
        # after a failed write the file is cut back to the lines before it.
        self._fd: int | None = fd
        first = info_line(info)
        try:
            _write_all(fd, first)
        except OSError as exc:
            gone = ", no file left" if remove_new(fd, path) else ""
            with contextlib.suppress(OSError):
                os.close(fd)
            raise SessionError(f"{path}: {describe_os_error(exc)}; nothing written{gone}") from None
        self._size = len(first)
        """Bytes of whole lines in the file."""
        self.lines = 0
        self.failed: str | None = None

    def write(self, line: bytes) -> None:
        """Append one line as read (it ends with a newline). After a write error the
        file ends with the last whole line (a disk that filled mid-line left part of
        one, which read back as a bad line)."""
        fd = self._fd
        if self.failed is not None or fd is None:
            return
        try:
            _write_all(fd, line)
        except OSError as exc:
            self.failed = describe_os_error(exc)
            with contextlib.suppress(OSError):
                os.ftruncate(fd, self._size)
            return
        self._size += len(line)
        self.lines += 1

    def close(self) -> None:
        """Close the file (every line is in it already)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.close(fd)
        except OSError as exc:
            self.failed = self.failed or describe_errno(exc.errno, "error")


def _write_all(fd: int, data: bytes) -> None:
    """``data`` written to ``fd`` whole (a write may take part of it); OSError if not."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def is_record_session(path: str) -> bool:
    """Whether ``path`` starts with a record session's first line."""
    try:
        with open(path, "rb") as stream:
            return info_of_line(stream.readline(MAX_LINE)) is not None
    except OSError:
        return False


def load_record_annotations(path: str) -> tuple[SessionInfo | None, dict[AnchorKey, list[Tag]]]:
    """The metadata and the marks and comments of a record session, by the anchor of
    their request (``position``: its depth on its connection). A file that is not a
    record session gives ``(None, {})``."""
    tags: dict[AnchorKey, list[Tag]] = {}
    try:
        with open(path, "rb") as stream:
            info = info_of_line(stream.readline(MAX_LINE))
            if info is None:
                return None, {}
            for line in stream:
                if b'"marked"' not in line and b'"comment"' not in line:
                    continue
                try:
                    obj = orjson.loads(line)
                    key: AnchorKey = (
                        float(obj["ts"]),
                        obj["src"],
                        obj["sport"],
                        obj["dst"],
                        obj["dport"],
                    )
                    depth = int(obj.get("depth", 1))
                except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                    continue  # the reader counts it as a bad line
                uri = obj.get("uri")
                target = uri if isinstance(uri, str) else None
                found = []
                if obj.get("marked") is True:
                    found.append(Tag("mark", depth, "", target))
                comment = obj.get("comment")
                if isinstance(comment, str) and comment:
                    found.append(Tag("comment", depth, comment, target))
                if found:
                    tags.setdefault(key, []).extend(found)
    except OSError as exc:
        raise SessionError(f"{path}: cannot read ({describe_errno(exc.errno, 'error')})") from None
    return info, tags
