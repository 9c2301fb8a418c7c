"""Every kind of input file, in one table: what it looks like and what reads it.

``scan`` and ``open`` call :func:`open_input` for each path; the first entry of
:data:`INPUTS` whose ``sniff`` accepts the file's first bytes reads it. Capture
files give frames (:class:`~capture.sources.frames.CaptureFile`); record files (JSON
lines, HAR) give already-parsed requests
(:class:`~capture.sources.records.RequestInput`), which enter the pipeline at
:meth:`~capture.pipeline.Pipeline.feed_request`. Adding an input format is one entry
here (see docs/extending.md).
"""

from __future__ import annotations

import io
import os
import stat
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import IO, Any, cast

import orjson

from capture.formats.jsonl import is_status, parsed_from_dict
from capture.sources.frames import (
    WARNING,
    CaptureError,
    CaptureFile,
    bad_timestamps,
    compressed_file,
    cut_short,
    damaged,
    is_capture_magic,
    open_stream,
)
from capture.sources.records import (
    RECORDS,
    SKIP,
    HarFile,
    RecordFile,
    RequestInput,
    after_session_line,
)
from capture.text import printable_bytes

Input = CaptureFile | RequestInput
"""An open input: frames, or already-parsed requests."""


@dataclass(frozen=True, slots=True)
class InputKind:
    """One kind of input file."""

    name: str
    what: str
    """What it is, for messages: ``headerwatch JSONL records``."""
    sniff: Callable[[bytes], bool]
    """Whether the first bytes of a file (up to :data:`SNIFF_BYTES`) are of this kind."""
    open: Callable[[str, IO[bytes]], Input]
    """Open ``path``, whose stream (positioned at the start, decompressed when the
    file is gzip: :func:`capture.sources.frames.open_stream`) is given."""
    followed: bool = True
    """Whether ``live --from`` can follow it as it grows: records a line at a time,
    not frames (a capture) or one document whole only at its end (HAR)."""
    noun: tuple[str, str] = RECORDS
    """What one of the things it holds is called, singular and plural: what the
    summary line says of a file that held none (``0 HTTP events in eve.json``), and
    what the dashboard's status line and ``live --from`` count, not in a capture's
    words."""


SNIFF_BYTES = 1024
"""Bytes looked at to tell kinds apart: an eve.json line names its ``event_type``
after the timestamp, flow id and interface, past the first hundred bytes. (From a
pipe, only what has arrived is looked at; ``--input`` names the kind instead.)"""


def _first_text(head: bytes) -> bytes:
    return after_session_line(head.removeprefix(b"\xef\xbb\xbf").lstrip())


def _open_capture(path: str, stream: IO[bytes]) -> Input:
    return CaptureFile(path, stream)


def _open_eve(path: str, stream: IO[bytes]) -> Input:
    # Imported when such a log is opened: a scan of captures needs no log reader.
    from capture.sources.eve import parsed_from_eve, read_line

    return RecordFile(
        path,
        stream,
        "Suricata eve.json events",
        parsed_from_eve,
        other="other Suricata event types (not http)",
        requests_only=partial(parsed_from_eve, responses=False),
        read=read_line,
    )


def _open_zeek(path: str, stream: IO[bytes]) -> Input:
    # Imported when such a log is opened, as eve's reader is.
    from capture.sources.zeek import ZeekTsv, parsed_from_zeek

    return RecordFile(
        path,
        stream,
        "Zeek http.log records",
        parsed_from_zeek,
        decode=ZeekTsv(),
        requests_only=partial(parsed_from_zeek, responses=False),
    )


def _record_line(line: bytes) -> Any:
    """A JSONL line's object; :data:`~capture.sources.records.SKIP` for headerwatch's
    own status lines (a record session's first line, the mitmproxy add-on's drop
    count), which are not "other records" to warn of."""
    obj = orjson.loads(line)
    if is_status(obj):
        return SKIP
    return obj


def _looks_like_har(head: bytes) -> bool:
    # {"log" after any blanks: mitmproxy and browsers pretty-print (the first line
    # is "{" alone), headerwatch writes it on one line.
    text = _first_text(head)
    return text.startswith(b"{") and text[1:].lstrip().startswith(b'"log"')


def _looks_like_jsonl(head: bytes) -> bool:
    # A record on the first line: a JSON document pretty-printed over lines (that is
    # not a HAR) is not records, and is refused in one line rather than line by line.
    text = _first_text(head)
    return text.startswith(b"{") and not text[1:].lstrip(b" \t").startswith((b"\n", b"\r"))


def _first_line(head: bytes) -> bytes:
    return _first_text(head).split(b"\n", 1)[0]


def _looks_like_eve(head: bytes) -> bool:
    line = _first_line(head)
    return line.startswith(b"{") and b'"event_type":' in line and b'"timestamp":' in line


def _looks_like_zeek(head: bytes) -> bool:
    line = _first_line(head)
    if line.startswith(b"#separator "):
        return True
    return line.startswith(b"{") and b'"uid":' in line and b'"id.orig_h":' in line


INPUTS: tuple[InputKind, ...] = (
    InputKind(
        "capture",
        "pcap or pcapng capture",
        is_capture_magic,
        _open_capture,
        followed=False,
        noun=("packet", "packets"),
    ),
    InputKind(
        "har",
        HarFile.what,
        _looks_like_har,
        HarFile,
        followed=False,
        noun=("HAR entry", "HAR entries"),
    ),
    InputKind(
        "suricata",
        "Suricata eve.json events",
        _looks_like_eve,
        _open_eve,
        noun=("HTTP event", "HTTP events"),
    ),
    InputKind(
        "zeek",
        "Zeek http.log (TSV or JSON)",
        _looks_like_zeek,
        _open_zeek,
        noun=("HTTP log record", "HTTP log records"),
    ),
    InputKind(
        "jsonl",
        "headerwatch JSONL records",
        _looks_like_jsonl,
        lambda path, stream: RecordFile(
            path,
            stream,
            "headerwatch JSONL records",
            parsed_from_dict,
            decode=_record_line,
            requests_only=partial(parsed_from_dict, responses=False),
        ),
    ),
)
"""Tried in order: the first that accepts a file reads it."""


KINDS = {kind.name: kind for kind in INPUTS}
"""The kinds by name: the choices of ``--input``."""


def inputs_help() -> str:
    """The ``--input`` help text, from :data:`INPUTS`."""
    kinds = "; ".join(f"{kind.name}: {kind.what}" for kind in INPUTS)
    return (
        f"what FILE is (default: recognised from its first bytes). {kinds}; "
        "each gzip-compressed too"
    )


def open_input(path: str, kind: str | None = None) -> Input:
    """Open ``path`` (``-`` is stdin; a gzip file is read as what it decompresses to)
    with the reader of input kind ``kind`` (a name in :data:`KINDS`), or else the
    first of :data:`INPUTS` that accepts its first bytes. Raises :class:`CaptureError`
    with one line for the user."""
    stream, name = open_stream(path)
    if kind is not None:
        # Named: no peeking beyond open_stream's look for gzip's magic.
        return open_as(KINDS[kind], path, stream)
    compressed = compressed_file(stream) is not None
    try:
        # open_stream gives buffered readers (a file, stdin, gzip): peeking leaves the
        # bytes there.
        head = bytes(cast(io.BufferedReader, stream).peek(SNIFF_BYTES)[:SNIFF_BYTES])
    except (OSError, EOFError, zlib.error) as exc:
        if path != "-":
            stream.close()
        if compressed:
            raise CaptureError(f"{name}: gzip-compressed, but not readable ({exc})") from None
        why = getattr(exc, "strerror", None) or exc
        raise CaptureError(f"{name}: cannot read ({why})") from None
    for entry in INPUTS:
        if entry.sniff(head):
            return open_as(entry, path, stream)
    if path != "-":
        stream.close()
    if not head:
        empty = "gzip-compressed, and holds nothing" if compressed else "empty file"
        raise CaptureError(f"{name}: {empty}, nothing to read")
    start = printable_bytes(head[:16])
    holds = "gzip-compressed, and what it holds starts" if compressed else "starts"
    raise CaptureError(
        f'{name}: not a file headerwatch reads ({holds} with "{start}"; looked for: {looked_for()})'
    )


def open_as(entry: InputKind, path: str, stream: IO[bytes]) -> Input:
    """``path``, whose ``stream`` is given, opened as ``entry``'s kind: a record file
    knowing what it holds (``entry.noun``)."""
    opened = entry.open(path, stream)
    if not isinstance(opened, CaptureFile):
        opened.noun = entry.noun
    return opened


def nothing_in(name: str, noun: tuple[str, str]) -> str:
    """Input ``name``, whose things are called ``noun``, summed up as holding none:
    ``0 HTTP events in eve.json``."""
    return f"0 {noun[1]} in {name}"


def none_read(sources: Sequence[Input]) -> list[str]:
    """For the summary of inputs in which no request was read: each record file's
    nothing in its own words (``0 HTTP events in eve.json``). Captures are said in
    packets and connections by :func:`capture.pipeline.summarize`."""
    return [
        nothing_in(source.name, source.noun)
        for source in sources
        if not isinstance(source, CaptureFile)
    ]


def none_opened(paths: Sequence[str], kind: str | None) -> list[str]:
    """For the summary of a scan of ``paths`` stopped (Ctrl-C) while it opened them,
    before a stream's first bytes came (``tail -F http.log | headerwatch scan -``):
    each in the words of kind ``kind`` (a name in :data:`KINDS`), or, with none
    named, as nothing read: what it would have been is not known."""
    names = ["<stdin>" if path == "-" else path for path in paths]
    if kind is None:
        return [f"nothing read from {name}" for name in names]
    return [nothing_in(name, KINDS[kind].noun) for name in names]


def read_noun(sources: Sequence[Input]) -> tuple[str, str] | None:
    """What the requests read from the record files among ``sources`` are called, to
    count them (the dashboard's status line): their kind's noun, or :data:`RECORDS`
    when they are of kinds that name theirs differently; None when all are captures
    (counted in packets)."""
    nouns = {source.noun for source in sources if not isinstance(source, CaptureFile)}
    if not nouns:
        return None
    return nouns.pop() if len(nouns) == 1 else RECORDS


def open_inputs(paths: Sequence[str], kind: str | None = None) -> list[Input]:
    """:func:`open_input` of each of ``paths``, after :func:`refuse_repeats`; none is
    left open when one cannot be. Raises :class:`CaptureError` with one line."""
    inputs, unopened = open_each(paths, kind)
    if unopened:
        for opened in inputs:
            opened.close()
        raise CaptureError(unopened[0][1])
    return inputs


def open_each(
    paths: Sequence[str], kind: str | None = None
) -> tuple[list[Input], list[tuple[str, str]]]:
    """:func:`open_input` of each of ``paths`` that can be opened, after
    :func:`refuse_repeats` (which raises :class:`CaptureError`), and ``(path, one-line
    reason)`` of each that cannot: ``scan`` writes what the others hold, then says
    why (an empty or unknown file among many does not lose the rest)."""
    refuse_repeats(paths)
    inputs: list[Input] = []
    unopened: list[tuple[str, str]] = []
    try:
        for path in paths:
            try:
                inputs.append(open_input(path, kind))
            except CaptureError as exc:
                unopened.append((path, str(exc)))
    except KeyboardInterrupt:  # (Ctrl-C while a stream's first bytes wait)
        for opened in inputs:
            opened.close()
        raise
    return inputs, unopened


def refuse_repeats(paths: Sequence[str]) -> None:
    """Raise :class:`CaptureError` when two of ``paths`` name the same file (the same
    path, another path to it, or ``-`` twice), or two regular files over
    :data:`COPY_MIN` bytes hold the same bytes (a ``cp`` of a capture). Read twice, its
    requests would be counted twice, and nothing in the records could say which
    reading each came from."""
    seen: dict[object, str] = {}
    by_size: dict[int, list[str]] = {}
    for path in paths:
        key: object = path
        if path != "-":
            try:
                info = os.stat(path)
            except OSError:
                continue  # open_input says what is wrong with it
            key = (info.st_dev, info.st_ino)
        first = seen.get(key)
        if first is None:
            seen[key] = path
            if path != "-" and stat.S_ISREG(info.st_mode) and info.st_size > COPY_MIN:
                same_size = by_size.setdefault(info.st_size, [])
                copied = next((other for other in same_size if _same_bytes(other, path)), None)
                if copied is not None:
                    raise CaptureError(
                        f"{path}: the same bytes as {copied} (a copy); each input is read "
                        "once (twice, its requests would count twice)"
                    )
                same_size.append(path)
            continue
        name = "<stdin>" if path == "-" else path
        again = "given twice" if first == path else f"the same file as {first}"
        raise CaptureError(
            f"{name}: {again}; each input is read once (twice, its requests would count twice)"
        )


COPY_MIN = 4096
"""Files of at most this many bytes are not compared: two captures of nothing (a
header and an interface block) are alike without being copies."""


def _same_bytes(one: str, other: str) -> bool:
    """Whether two files hold the same bytes (:func:`filecmp.cmp`, by content); False
    where one cannot be read (open_input then says why)."""
    import filecmp  # only for two inputs of one size

    try:
        return filecmp.cmp(one, other, shallow=False)
    except OSError:
        return False


def looked_for() -> str:
    """What :func:`open_input` recognises, for messages: every kind of :data:`INPUTS`."""
    return "; ".join(entry.what for entry in INPUTS) + "; each gzip-compressed too"


def after_reading(source: Input) -> list[str]:
    """What to tell the user once ``source`` has been read to its end (one line each,
    without the ``headerwatch: warning:`` prefix): a capture cut short, damaged or
    with timestamps out of range, record lines passed over. ``scan`` prints them, the
    dashboard shows them as notices. (When nothing at all could be read,
    :func:`unreadable` says so instead.)"""
    if not isinstance(source, CaptureFile):
        return source.after_reading()
    lines = []
    if source.damage is not None:
        lines.append(damaged(source.name, source.damage))
    elif source.truncated:
        lines.append(cut_short(source.name))
    if source.bad_timestamps:
        lines.append(bad_timestamps(source.name, source.bad_timestamps))
    return [line.removeprefix(WARNING) for line in lines]


def unreadable(source: Input) -> str | None:
    """Once ``source`` has been read to its end: the input error (one line, without the
    ``headerwatch: error:`` prefix) when nothing in it could be read as its kind (it
    had lines or entries, and every one was passed over: a file of another kind named
    by ``--input``, or JSON that is not records), else None. A capture always can:
    its header was read when it was opened."""
    if isinstance(source, CaptureFile):
        return None
    return source.unreadable()
