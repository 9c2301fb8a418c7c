"""Requests from files of records, already parsed: JSON lines, or one HAR document.

A :class:`RequestInput` is the request-level twin of
:class:`~capture.sources.frames.CaptureFile`: it yields
:class:`~capture.model.Parsed` requests for
:meth:`capture.pipeline.Pipeline.feed_request` instead of frames. Two kinds:

- :class:`RecordFile`: one JSON object a line. Each line format (headerwatch's own
  JSONL, another engine's log) is a parse function from a JSON object to a
  :class:`Parsed`; the file handling, bounds and error counting are here once.
- :class:`HarFile`: a HAR 1.2 document, one JSON tree, read whole up to
  :data:`MAX_HAR` bytes (parsed by :mod:`capture.sources.har_input`).
"""

from __future__ import annotations

import contextlib
import os
import stat
import zlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import IO, Any, Protocol

import orjson

from capture.model import Parsed
from capture.sources.frames import CaptureError, compressed_file, is_capture_magic
from capture.sources.json_fields import checked
from capture.text import counted, printable

MAX_LINE = 16 * 1024 * 1024
"""Longest line read (bytes); a longer one is counted as bad and passed over, so a
file with no newlines cannot make the reader hold all of it."""

MAX_HAR = 256 * 1024 * 1024
"""Largest HAR read (bytes). A HAR is one JSON document, parsed whole: a larger one
is refused in one line (export fewer entries, or split it)."""


UTF8_BOM = b"\xef\xbb\xbf"

SESSION_START = b'{"headerwatch_session":'
"""How a record session's first line starts (``capture.formats.record_session``).
``live --from -w`` writes the lines it follows after it as read, those of an engine's
log too: the lines after it are of the kind they are, and it is no line of theirs."""


def after_session_line(head: bytes) -> bytes:
    """``head`` (a file's first bytes) from its second line when its first is a record
    session's and more follows: what tells the kind of the lines recorded."""
    if not head.startswith(SESSION_START):
        return head
    rest = head.partition(b"\n")[2]
    return rest if rest.strip() else head


RECORDS: tuple[str, str] = ("record", "records")
"""What a record input holds, said of a kind that names nothing more precise (JSONL),
or of several kinds together: :attr:`capture.sources.inputs.InputKind.noun`'s default."""


class RequestInput(Protocol):
    """An open input of already-parsed requests (what ``scan``, ``open`` and the
    dashboard's file source take besides captures)."""

    name: str
    """For messages: the path, or ``<stdin>``."""
    what: str
    """What kind of file it is, for messages: ``headerwatch JSONL records``."""
    size: int
    """Bytes in the file (0 for a stream), for progress."""
    truncated: bool
    noun: tuple[str, str]
    """What one of its requests is in the file, singular and plural (``HTTP event``):
    its kind's :attr:`~capture.sources.inputs.InputKind.noun`, given when it is opened
    (:data:`RECORDS` until then)."""

    @property
    def position(self) -> int:
        """Bytes of the file consumed so far, as :attr:`size` counts them."""

    def requests(self, responses: bool = True) -> Iterator[Parsed]:
        """The requests, in file order. ``responses=False``: the consumer prints
        requests only, and the input may leave responses out (keeping those that
        carry a reflector's echo)."""

    def after_reading(self) -> list[str]:
        """What to tell the user once read to its end, one line each (no prefix)."""

    def unreadable(self) -> str | None:
        """Once read to its end: one line (no prefix) when nothing in it could be read
        as its kind (it had lines or entries, and every one was passed over); None
        otherwise. This is an input error, said instead of :meth:`after_reading`."""

    def close(self) -> None:
        """Close the file (not stdin)."""


ParseLine = Callable[[Any], Parsed | None]
"""A JSON object to a request; ``None`` for a line that is valid but holds no request
(another event type); :class:`ValueError` for a line that is not what it should be."""

DecodeLine = Callable[[bytes], Any]
"""One line's bytes to the object the parse function takes (JSON by default; a
stateful decoder for a text format with header lines, e.g. Zeek's TSV). It returns
:data:`SKIP` for a line that is not a record (a header or comment line); it raises
:class:`ValueError` for a line it cannot read."""

SKIP: Any = object()
"""What a :data:`DecodeLine` returns for a line that is not a record."""

ReadLine = Callable[[bytes, bool], Parsed | None]
"""One line's bytes straight to its request, as :data:`DecodeLine` then
:data:`ParseLine` give it (the same ``None`` and errors); the flag is ``responses``
(False: as ``requests_only`` would parse it)."""


class RecordFile:
    """Iterate the requests of one record file or stream (``-`` is stdin).

    Lines that cannot be read are passed over and counted; :meth:`problem` says so
    in one line once the file has been read, with the first such line's number.
    """

    def __init__(
        self,
        path: str,
        stream: IO[bytes],
        what: str,
        parse: ParseLine,
        decode: DecodeLine = orjson.loads,
        other: str = "other records",
        requests_only: ParseLine | None = None,
        read: ReadLine | None = None,
    ) -> None:
        """``requests_only``: the parse function for a consumer that prints requests
        only (:meth:`requests` with ``responses=False``), which may leave responses
        out, all but those with a reflector's echo (the record still shows what it
        tells); by default ``parse``. ``read``: a line's bytes straight to its
        request, in place of ``decode`` then ``parse`` (the same results, faster: see
        :func:`capture.sources.eve.parsed_from_line`)."""
        self.path = path
        self.name = "<stdin>" if path == "-" else path
        self.what = what
        self.noun = RECORDS
        self._stream = stream
        self._parse = parse
        self._requests_only = requests_only or parse
        self._decode = decode
        self._read = read
        self.other = other
        """What the lines without a request are, for :meth:`skipped` (``other event types``)."""
        self.truncated = False
        self.bad_lines = 0
        self.other_lines = 0
        """Valid lines that hold no request (e.g. other event types of a log)."""
        self.read_lines = 0
        """Lines read as requests."""
        self._first_bad: str | None = None
        self._head = b""
        """The file's first 4 bytes, once read (not a stream's: where it began is lost)."""
        self.first_bad: tuple[int, str] | None = None
        """Byte offset and reason of the first line passed over."""
        self.cut: str | None = None
        """Why reading stopped before the end (a gzip stream cut short, a read error)."""
        self.offset = 0
        """Bytes of lines read so far (of what the file decompresses to, if gzip)."""
        self.line_start = 0
        self._end = 1 << 62
        self._taught = False
        """The header lines at its top were given to the decoder (:meth:`restrict`)."""
        self._span: tuple[int, int] = (0, 0)
        """Bytes ``[a, b)`` in which no line starts but at ``b`` (:meth:`restrict`)."""
        self._compressed = compressed_file(stream)
        self.size = 0
        try:
            st = os.fstat(stream.fileno())
            if stat.S_ISREG(st.st_mode):
                self.size = st.st_size
        except (OSError, ValueError):
            pass

    @property
    def position(self) -> int:
        """Bytes of the file read so far, as :attr:`size` counts them (compressed bytes
        for gzip), for progress."""
        if self._compressed is None:
            return self.offset
        try:
            return self._compressed.tell()
        except (OSError, ValueError):
            return self.size  # closed: read to its end

    @property
    def splittable(self) -> bool:
        """Whether processes of a split scan can each read a byte range of it: a regular
        file, not compressed (a range of gzip cannot be read without all before it)."""
        return bool(self.size) and self._compressed is None

    def restrict(self, start: int, end: int) -> None:
        """Read only the lines that start at a byte offset in ``[start, end)`` of this
        regular file (one process's share of a split scan: see
        :mod:`capture.scan_jobs`). Header lines at the top of the file (``#``, as Zeek's
        TSV has) are given to the decoder first, so that a share in the middle knows
        the fields."""
        stream = self._stream
        self._end = end
        if start <= 0:
            return
        if not self._taught:
            # Once a process: a first line of 40 MB was read again for each chunk.
            self._taught = True
            stream.seek(0)
            line = stream.readline(MAX_LINE)
            if line.startswith(SESSION_START):
                line = stream.readline(MAX_LINE)
            while line.startswith(b"#") and line.endswith(b"\n"):
                # Lines the decoder cannot read are the first share's to count (a "#"
                # line of a file of another kind than named): here they only fail to
                # teach it.
                with contextlib.suppress(ValueError):
                    self._decode(line)
                line = stream.readline(MAX_LINE)
        # The line that starts before ``start`` belongs to the share before. Its end is
        # kept: each chunk inside one long line read it to its end again (a line of
        # 40 MB took --jobs 2 9.6 s where one process took 0.44 s).
        span = self._span
        if span[0] <= start - 1 < span[1]:
            self.offset = span[1]
            stream.seek(span[1])
            return
        stream.seek(start - 1)
        position = start - 1
        while (rest := stream.readline(MAX_LINE)) and not rest.endswith(b"\n"):
            position += len(rest)
        self.offset = position + len(rest)
        self._span = (start - 1, self.offset)

    def requests(self, responses: bool = True) -> Iterator[Parsed]:
        """The requests of the file, in file order. :attr:`line_start` is the byte
        offset of the line the last one came from. ``responses=False``: the consumer
        prints requests only, and the ``requests_only`` parse function reads the lines.
        A read that fails (a gzip stream cut short or damaged, a disk error) ends the
        requests there, with :attr:`cut` saying why."""
        number = 0
        readline = self._stream.readline
        parse = self._parse if responses else self._requests_only
        decode = self._decode
        read = self._read
        end = self._end
        # Kept in locals and stored when the generator hands out a request or stops:
        # this loop runs once per line of a log of millions.
        position = self.offset
        found = self.read_lines
        try:
            while position < end:
                line = readline(MAX_LINE)
                if not line:
                    return
                number += 1
                start = position
                position += len(line)
                if start < 4 and self.path != "-":
                    # A file's first bytes: a capture named by --input says so.
                    self._head += line[: 4 - start]
                if start == 0 and line[:3] == UTF8_BOM:
                    # A log saved by a Windows tool starts with a byte order mark, which
                    # would cost its first event (JSON has no BOM).
                    line = line[3:]
                if not line.endswith(b"\n") and len(line) >= MAX_LINE:
                    # Pass over the rest of an over-long line.
                    while (rest := readline(MAX_LINE)) and not rest.endswith(b"\n"):
                        position += len(rest)
                    position += len(rest)
                    self._bad(number, start, f"longer than {MAX_LINE:,} bytes")
                    continue
                if line.isspace():  # (no copy of the line, as strip() would make)
                    continue
                if start == 0 and line.startswith(SESSION_START):
                    continue
                try:
                    if read is not None:
                        parsed = read(line, responses)
                    else:
                        decoded = decode(line)
                        if decoded is SKIP:
                            continue
                        parsed = parse(decoded)
                    if parsed is not None:
                        parsed = checked(parsed)
                except orjson.JSONDecodeError as exc:
                    if _ends_inside_a_record(line, exc):
                        # The file ends there: a writer stopped mid-line, or a copy cut.
                        self.truncated = True
                        self.cut = "its last line ends inside a record: " + (
                            "inside a character" if "UTF-8" in exc.msg else exc.msg
                        )
                        return
                    self._bad(number, start, _not_json(exc.msg))
                    continue
                except ValueError as exc:
                    self._bad(number, start, str(exc))
                    continue
                if parsed is None:
                    self.other_lines += 1
                    continue
                found += 1
                self.offset = position
                self.line_start = start
                yield parsed
        except (OSError, EOFError, zlib.error) as exc:
            # A gzip stream cut short or damaged, a disk error: what came before stands.
            self.truncated = True
            self.cut = str(exc) or type(exc).__name__
        finally:
            self.offset = position
            self.read_lines = found

    def _bad(self, number: int, offset: int, why: str) -> None:
        self.bad_lines += 1
        if self._first_bad is None:
            self._first_bad = f"line {number}: {printable(why)}"
            self.first_bad = (offset, why)

    def absorb(
        self,
        other_lines: int,
        bad_lines: int,
        first_bad: tuple[int, int, str] | None,
        read_lines: int,
        cut: str | None = None,
    ) -> None:
        """Take the counts of the processes of a split scan that read this file, for
        :meth:`skipped`, :meth:`problem` and :meth:`unreadable`; ``first_bad`` is (line
        number, offset, why); ``cut``: why the process of its last share stopped short
        (:attr:`cut`)."""
        self.other_lines += other_lines
        self.bad_lines += bad_lines
        self.read_lines += read_lines
        if cut is not None:
            self.truncated = True
            self.cut = cut
        if first_bad is not None:
            self._first_bad = f"line {first_bad[0]}: {printable(first_bad[2])}"

    def problem(self) -> str | None:
        """One line on the lines that were passed over, or None if there were none."""
        if not self.bad_lines:
            return None
        # "not {what}" after a colon: the kind reads the same for one line or many.
        return (
            f"{self.name}: {counted(self.bad_lines, 'line')} passed over: not {self.what} "
            f"(first: {self._first_bad})"
        )

    def skipped(self) -> str | None:
        """One line on the valid lines that held no request (other event types of an
        engine's log), or None if there were none."""
        if not self.other_lines:
            return None
        return f"{self.name}: {counted(self.other_lines, 'line')} skipped: {self.other}"

    def after_reading(self) -> list[str]:
        """What to tell the user once the file has been read: :meth:`skipped`,
        :meth:`problem` and a read that stopped before the end, those that have
        something to say."""
        lines = [line for line in (self.skipped(), self.problem()) if line is not None]
        if self.cut is not None:
            lines.append(
                f"{self.name}: cut short ({printable(self.cut)}); every record before "
                "the cut is reported"
            )
        return lines

    def unreadable(self) -> str | None:
        """Nothing in the file was a line of its kind: every line that is not blank
        was passed over (a file of another kind, or JSON that is not records). Lines
        of other event types count as its kind; an empty file is no error (a log
        with nothing in it yet, an empty stream)."""
        if self.read_lines or self.other_lines or not self.bad_lines:
            return None
        if is_capture_magic(self._head):
            return (
                f"{self.name}: nothing read: a pcap or pcapng capture, not {self.what} "
                "(read it without --input)"
            )
        if self.bad_lines == 1:
            return f"{self.name}: nothing read: not {self.what} ({self._first_bad})"
        return (
            f"{self.name}: nothing read: none of its {self.bad_lines:,} lines are "
            f"{self.what} (first: {self._first_bad})"
        )

    def close(self) -> None:
        """Close the file (not stdin)."""
        if self.path != "-":
            self._stream.close()


def _not_json(why: str) -> str:
    """A line's JSON error as a user reads it: orjson's words for bytes that are not
    UTF-8 (``str is not valid UTF-8: surrogates not allowed``) say nothing to one."""
    return "not JSON (not UTF-8 text)" if "UTF-8" in why else f"not JSON ({why})"


def cut_record(line: bytes) -> bool:
    """Whether ``line``, the last bytes of a file or stream, is a record cut short:
    what :meth:`RecordFile.requests` reads as the file cut there, not as a bad line."""
    line = line.removeprefix(UTF8_BOM)
    if line.endswith(b"\n") or not line.lstrip().startswith(b"{"):
        return False
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return _ends_inside_a_record(line, exc)
    return False


def _ends_inside_a_record(line: bytes, error: orjson.JSONDecodeError) -> bool:
    """Whether ``line``, which JSON could not read, is a record cut short: the file's
    last line (no newline after it), an object begun, and the data ended before it
    did. Any other line that is not JSON is a bad line."""
    return (
        not line.endswith(b"\n")
        and line.lstrip().startswith(b"{")
        and (
            error.msg == "unexpected end of data"
            or error.pos >= len(line.rstrip())
            or _cut_in_a_character(line)
        )
    )


def _cut_in_a_character(line: bytes) -> bool:
    """Whether ``line`` is UTF-8 up to its end, which cuts a character short: orjson
    says only that it is not UTF-8, which read as a bad line in a file cut there."""
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.reason == "unexpected end of data" and exc.end == len(line)
    return False


def read_whole(stream: IO[bytes], name: str, close: bool) -> tuple[bytes, str | None]:
    """All of ``stream`` (refused past :data:`MAX_HAR`), and why a compressed one
    ended early, if it did (the bytes that came out before are kept: a HAR cut short
    is read up to its last whole entry). Closed after unless it is stdin."""
    chunks: list[bytes] = []
    total = 0
    broken = None
    # read1: one decompression step at a time, so a gzip stream cut short loses only
    # the step it ends in (a larger read loses all it gathered).
    read = getattr(stream, "read1", stream.read)
    try:
        while True:
            try:
                chunk = read(1 << 16)
            except (EOFError, zlib.error) as exc:
                broken = str(exc) or type(exc).__name__
                break
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > MAX_HAR:
                raise CaptureError(
                    f"{name}: HAR larger than {MAX_HAR // (1024 * 1024):,} MiB, not read "
                    "(export fewer entries, or split the file)"
                )
    except OSError as exc:
        raise CaptureError(f"{name}: cannot read ({exc.strerror or exc})") from None
    finally:
        if close:
            stream.close()
    if broken is not None and not total:
        raise CaptureError(f"{name}: cannot read ({broken})")
    return b"".join(chunks), broken


_NO_ENTRIES = b'{"log": {"version": "1.2", "creator": {}, "entries": []}}'
"""A HAR of no entry: what a gzip one cut before its first whole entry holds."""


HAR_CHECKED = 16 << 20
"""HARs from this size up have their reading's memory estimated before it (three
counts of their bytes: 0.3 s for 262 MB)."""


def har_memory(data: bytes) -> int:
    """About the resident memory reading the HAR ``data`` takes at its peak: its bytes,
    and its tree of Python objects, counted by the characters that open them (an
    object 300 bytes, a list 80, a string 40: orjson shares the keys). Measured on
    620,000 small entries (262 MB): 2.2 GB, estimated 2.5 GB; its address space was
    twice that (4.5 GB), which is what ``ulimit -v`` bounds."""
    strings = data.count(b'"') // 2
    return len(data) + 300 * data.count(b"{") + 80 * data.count(b"[") + 40 * strings


def har_room(data: bytes) -> str | None:
    """Why the HAR ``data`` cannot be read in the memory this process may take, or
    None where it can (or that cannot be told: not Linux). Read anyway, orjson died
    of the failed allocation under ``ulimit -v`` (a segfault, no word said), and the
    kernel's OOM killer ends a process without one either."""
    if len(data) < HAR_CHECKED:
        return None
    import resource

    try:
        with open("/proc/meminfo", "rb") as meminfo:
            free = next(
                int(line.split()[1]) * 1024 for line in meminfo if line.startswith(b"MemAvailable:")
            )
        with open("/proc/self/statm", "rb") as statm:
            held = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    needed = har_memory(data)
    if needed > free:
        return f"reading it takes about {needed:,} bytes; {free:,} are free"
    limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    if limit != resource.RLIM_INFINITY and 2 * needed > limit - held:
        return (
            f"reading it takes about {2 * needed:,} bytes of address space; ulimit -v "
            f"leaves {max(0, limit - held):,}"
        )
    return None


class HarFile:
    """The requests of one HAR 1.2 file or stream.

    The document is read and parsed when opened: one that is larger than
    :data:`MAX_HAR`, not JSON (but for a cut short one's entries before the cut, and
    lone surrogates: :func:`capture.sources.har_json.load_har`) or not a HAR raises
    :class:`CaptureError` with one line. Entries that are not what HAR says are
    passed over and counted; :meth:`after_reading` says so, and what the file's
    entries lack (:func:`capture.sources.har_input.lacks`), once.
    """

    what = "HAR 1.2 (browsers, mitmproxy, Charles, HTTP Toolkit)"

    def __init__(self, path: str, stream: IO[bytes]) -> None:
        self.path = path
        self.name = "<stdin>" if path == "-" else path
        self.noun = RECORDS
        self.truncated = False
        self.cut: str | None = None
        """Where a document cut short ended (its entries before the cut are read)."""
        self.lone_surrogates = 0
        data, broken = read_whole(stream, self.name, path != "-")
        self.size = len(data)
        self.position = 0
        data = data.removeprefix(UTF8_BOM)  # a BOM, which some Windows tools write
        # Imported when a HAR is opened: a scan of captures or logs reads none.
        from capture.sources.har_json import HarJsonError, load_har

        short = har_room(data)
        if short is not None:
            raise CaptureError(
                f"{self.name}: HAR of {len(data):,} bytes too large for the memory "
                f"available ({short})"
            )
        try:
            read = load_har(data)
        except HarJsonError as exc:
            if broken is None or data.lstrip()[:1] != b"{":
                raise self._unreadable(data, broken, exc) from None
            # A gzip stream cut before its first whole entry: a HAR of none, cut short,
            # as a JSONL or a capture cut there is (it was refused whole).
            read = replace(load_har(_NO_ENTRIES), cut="before its first whole entry")
        except MemoryError:
            raise CaptureError(
                f"{self.name}: HAR of {len(data):,} bytes too large for the memory available"
            ) from None
        doc, self.cut, self.lone_surrogates = read.doc, read.cut, read.lone_surrogates
        self.damage = read.damage
        """Where the document stops being JSON before its end (its entries before that
        are read): a report calls the input damaged."""
        if broken is not None:
            # Compressed and cut short: the entries whole in what came out are read.
            self.cut = broken if self.cut is None else f"{broken}; {self.cut}"
        # A gzip stream cut after the whole document is cut short too: its check
        # (CRC and length) never came, so nothing says the bytes are the ones written.
        self.truncated = self.cut is not None
        del data, read
        from capture.sources import har_input

        try:
            creator, self._entries = har_input.har_log(doc)
        except ValueError as exc:
            raise CaptureError(f"{self.name}: {exc}") from None
        self._count = len(self._entries)
        self.reading = har_input.HarReading(creator)

    def _unreadable(self, data: bytes, broken: str | None, exc: Exception) -> CaptureError:
        """The one-line error of a document load_har refused."""
        if broken is not None:  # a gzip stream cut before anything readable
            return CaptureError(f"{self.name}: cannot read ({broken})")
        if is_capture_magic(data[:4]):
            # Named --input har: JSON's own words for a capture's bytes ("str is not
            # valid UTF-8: surrogates not allowed") say nothing to a user.
            return CaptureError(
                f"{self.name}: a pcap or pcapng capture, not a HAR (read it without --input)"
            )
        return CaptureError(f"{self.name}: not a readable HAR ({printable(str(exc))})")

    def requests(self, responses: bool = True) -> Iterator[Parsed]:
        """The requests of the file, in entry order (with their responses either way:
        the document is parsed whole already)."""
        from capture.sources import har_input  # imported on opening

        entries, self._entries = self._entries, []  # let go of the tree as it is read
        yield from har_input.requests(entries, self.reading)
        self.position = self.size

    def after_reading(self) -> list[str]:
        """Entries passed over, start times clamped, and what the entries lack."""
        reading = self.reading
        lines = []
        if reading.bad_entries:
            entries = counted(reading.bad_entries, "HAR entry was", "HAR entries were")
            lines.append(
                f"{self.name}: {entries} not readable and passed over "
                f"(first: {printable(reading.first_bad or '')})"
            )
        if reading.clamped:
            lines.append(
                f"{self.name}: {counted(reading.clamped, 'entry', 'entries')} "
                "had a start time out of range, shown as 1970-01-01 or 2106-02-07"
            )
        if self.lone_surrogates:
            strings = counted(self.lone_surrogates, "string", "strings")
            lines.append(
                f"{self.name}: {strings} held half a surrogate pair (a \\uD800-\\uDFFF "
                "escape alone), read with U+FFFD in its place, as a browser sends it"
            )
        if self.cut is not None:
            lines.append(
                f"{self.name}: cut short ({printable(self.cut)}); every entry before the "
                "cut is reported"
            )
        if self.damage is not None:
            lines.append(f"{self.name}: damaged ({printable(self.damage)})")
        from capture.sources import har_input  # imported on opening

        lacking = har_input.lacks(reading)
        if lacking is not None:
            lines.append(f"{self.name}: {printable(lacking)}")
        return lines

    def unreadable(self) -> str | None:
        """Every entry of the file was passed over (a HAR with no entry is no error)."""
        reading = self.reading
        if not self._count or reading.bad_entries < self._count:
            return None
        first = printable(reading.first_bad or "")
        if reading.bad_entries == 1:
            return f"{self.name}: nothing read: its one HAR entry could not be read ({first})"
        return (
            f"{self.name}: nothing read: none of its {reading.bad_entries:,} HAR entries "
            f"could be read (first: {first})"
        )

    def close(self) -> None:
        """Nothing to close: the file was read whole when opened."""
