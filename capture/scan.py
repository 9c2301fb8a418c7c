"""``headerwatch scan``: captures or record files in, one line per request out (or one
HAR document)."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import select
import signal
import stat
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from itertools import chain, islice
from typing import TYPE_CHECKING, Any, TextIO

from capture.formats.outputs import OUTPUTS, cited
from capture.model import EchoSeen, Event, Record, RequestSeen, ResponseSeen
from capture.pipeline import ECHO_WAIT, Detector, Pipeline
from capture.scan_jobs import (
    after_input,
    input_errors,
    jobs_for,
    jobs_for_records,
    scan_split,
    scan_split_records,
    written_whole,
)
from capture.sources.frames import WARNING, CaptureError, CaptureFile
from capture.sources.inputs import Input, after_reading, none_opened, none_read, open_each
from capture.sources.records import RecordFile, RequestInput
from capture.text import counted, escaping
from capture.view.selection import EXIT_INTERRUPTED, EXIT_USAGE, Selection

if TYPE_CHECKING:
    from capture.formats.outputs import Item, OutputFormat

UNANSWERED_LIMIT = 10_000
"""HAR: requests held for their response; beyond this the oldest is written without."""


def _events(
    pipeline: Pipeline,
    inputs: Sequence[Input],
    err: TextIO,
    errors: list[str],
    reading: list[Input],
) -> Iterator[Event]:
    """The events of every input, then those of the pipeline's flush. Chained in C from
    :func:`_event_runs`: a generator here would be one more resumed per event."""
    return chain.from_iterable(_event_runs(pipeline, inputs, err, errors, reading))


def _event_runs(
    pipeline: Pipeline,
    inputs: Sequence[Input],
    err: TextIO,
    errors: list[str],
    reading: list[Input],
) -> Iterator[Iterable[Event]]:
    """The events of each input in turn (its warnings printed once they are read, or
    the input error it turned out to be appended to ``errors``), then those of the
    pipeline's flush. ``reading`` holds the input being read, for a scan stopped in it.
    Of several inputs, each is named to the pipeline as it starts: records then say
    which they came from (:meth:`Pipeline.begin`)."""
    several = len(inputs) > 1
    for source in inputs:
        reading[:] = [source]
        if several:
            pipeline.begin(source.name)
        if isinstance(source, CaptureFile):
            yield pipeline.run_capture(source)
        else:
            yield _parsed_events(pipeline, source)
        error = after_input(source, err)
        reading.clear()
        if error is not None:
            errors.append(error)
    yield pipeline.flush()


def _parsed_events(pipeline: Pipeline, source: RequestInput) -> Iterator[Event]:
    """The events of a record file's requests (the file closed at its end)."""
    feed = pipeline.feed_request
    for parsed in source.requests(responses=pipeline.responses):
        yield from feed(parsed)
    source.close()


def _same(records: Iterable[Record]) -> Iterable[Record]:
    return records


def scan(
    paths: Sequence[str],
    fmt: str = "jsonl",
    detector: Detector | None = None,
    only_identity: bool = False,
    fail_on_identity: bool = False,
    out: TextIO | None = None,
    err: TextIO | None = None,
    jobs: int | None = None,
    redact: bool = False,
    width: int | None = None,
    kind: str | None = None,
) -> int:
    """Scan input files (``-`` is stdin: captures, or record files such as
    headerwatch's own JSONL; see :mod:`capture.sources.inputs`) and write records;
    return the exit code.

    ``jobs``: processes to split a JSONL scan of files over (see
    :mod:`capture.scan_jobs`); by default, one per CPU for large files.
    ``redact``: identity values masked (:mod:`capture.formats.redact`), with one
    key for the whole output; such a scan runs in one process. ``width``: lay the
    output out for a terminal that wide (the table; None: fixed columns).
    ``kind``: what every path is (a name in :data:`capture.sources.inputs.KINDS`);
    by default each is recognised from its first bytes."""
    out = out if out is not None else sys.stdout
    # Every message escaped: file names and values are the user's or a network's.
    err = escaping(err if err is not None else sys.stderr)
    try:
        inputs, unopened = open_each(paths, kind)
    except CaptureError as exc:
        print(f"headerwatch: error: {exc}", file=err)
        return EXIT_USAGE
    except KeyboardInterrupt:
        # Ctrl-C before a stream's first bytes came (tail -F http.log | scan -): the
        # summary still comes, saying nothing was read, in the words of --input's kind.
        print(f"headerwatch: {Pipeline().summary(none_opened(paths, kind))}", file=err)
        return EXIT_INTERRUPTED
    # An input that cannot be opened (empty, of no kind read here, a HAR cut short) is
    # said last, as one found unreadable once read is: what the others hold is written.
    late = [reason for _path, reason in unopened]
    if not inputs:
        return input_errors(late, err)
    captures = [source for source in inputs if isinstance(source, CaptureFile)]
    logs = [source for source in inputs if isinstance(source, RecordFile)]
    if logs and len(logs) == len(inputs) and not redact:
        split = jobs_for_records(logs, fmt, jobs)
        if split > 1:
            code = scan_split_records(
                logs, kind, split, detector, only_identity, fail_on_identity, out, err
            )
            return _with_unopened(code, late, err)
    whole = len(captures) == len(inputs) and not redact
    jobs = jobs_for(captures, fmt, jobs) if whole else 1
    if jobs > 1:
        for capture in captures:
            capture.close()
        failed = {path for path, _reason in unopened}
        opened = [path for path in paths if path not in failed]
        code = scan_split(opened, jobs, detector, only_identity, fail_on_identity, out, err)
        return _with_unopened(code, late, err)
    selection = Selection(only_identity)
    output = OUTPUTS[fmt].at_width(width)
    # Responses are parsed only for the formats that show them.
    # A file has no reader waiting on it: its requests wait for their reflector's echo
    # however late it comes (a stream on stdin is read as it comes, and waits
    # ECHO_WAIT at most, as live does).
    pipeline = Pipeline(
        detector,
        responses=output.needs_responses,
        echo_wait=ECHO_WAIT if "-" in paths else None,
        # A redacted scan reads all before it writes: a stop leaves no batch to write.
        batches=not redact,
    )
    errors: list[str] = []
    reading: list[Input] = []
    events = _events(pipeline, inputs, err, errors, reading)
    stopped: list[KeyboardInterrupt] = []
    written = [0]  # the lines handed to the output
    mask: Callable[[Iterable[Record]], Iterable[Record]] = _same
    redactor = None
    if redact:
        from capture.formats.redact import (  # hashlib and hmac: only to redact
            Redactor,
            two_pass,
        )

        # Every value found anywhere is masked everywhere: all is read, then written.
        redactor = Redactor.new(pipeline.detector)
        mask = partial(two_pass, redactor=redactor, stopped=stopped)
    # What was read and not handed out as a stop came: not where masked, the requests
    # the detector did not read (their identities could not be masked).
    rest = pipeline.unhanded if redactor is None else partial(pipeline.unhanded, searched=True)
    try:
        if output.line is None:
            # A stop ends the events: what was read is answered and written, the
            # document closed (a HAR cut where the stop came did not parse).
            read = _until_stopped(events, stopped, rest)
            kept = mask(r for r in answered(read) if selection.keep(r))
            output.write(kept, out, cited(pipeline.detector, redact), written)
        else:
            if redactor is not None:
                # Masked once all is read: what was read as the stop came is among it.
                events = _until_stopped(events, stopped, rest)
            _write_lines(
                mask(_requests(events, selection)),
                output.line,
                output.header,
                streaming="-" in paths,
                out=out,
                render_bytes=output.line_bytes,
                written=written,
            )
    except KeyboardInterrupt:
        # Ctrl-C is how a followed stream ends (tail -F eve.json | scan -): the lines
        # written stand, and the input's warnings and the summary still say what was
        # read and skipped (an input stopped in is no input error, whatever it held).
        stopped.append(KeyboardInterrupt())
    lacking = 0
    with _said_whole(bool(stopped)):
        if stopped and output.line is not None and redactor is None:
            # (A document's and a masked output's came before their stop's end,
            # _until_stopped; one not searched could not be masked: counted below.)
            _write_unhanded(pipeline, selection, output, "-" in paths, out, written)
        if stopped and not only_identity:
            # Read as the stop came, and not written: the summary counts them.
            lacking = pipeline.counters()["requests"] - written[0]
        return _after(
            lacking,
            stopped,
            reading,
            redactor,
            errors,
            inputs,
            late,
            pipeline,
            selection,
            out,
            err,
            fail_on_identity,
        )


def _until_stopped(
    events: Iterable[Event], stopped: list[KeyboardInterrupt], rest: Callable[[], list[Event]]
) -> Iterator[Event]:
    """``events`` until a stop (Ctrl-C, SIGTERM) ends them, put in ``stopped``, then
    what ``rest`` gives (the pipeline's :meth:`~Pipeline.unhanded`, what was read and
    not handed out), as :func:`_write_unhanded` writes it after a line format's."""
    try:
        yield from events
    except KeyboardInterrupt:
        stopped.append(KeyboardInterrupt())
        with contextlib.suppress(KeyboardInterrupt):  # a second stop leaves them
            yield from rest()


def _write_unhanded(
    pipeline: Pipeline,
    selection: Selection,
    output: OutputFormat,
    streaming: bool,
    out: TextIO,
    written: list[int],
) -> None:
    """Write the requests read and not handed out as a stop came (the rest of a file
    scan's batch, :meth:`Pipeline.unhanded`), as those read before it were: what was
    read is written. A second stop while they are written leaves them."""
    assert output.line is not None
    if GAVE_UP:
        return  # the output's reader took nothing more: it ends where it was given up
    # OSError: the reader went away (a broken pipe): the summary still comes.
    with contextlib.suppress(KeyboardInterrupt, OSError):
        _write_lines(
            _requests(pipeline.unhanded(), selection),
            output.line,
            None,
            streaming,
            out,
            render_bytes=output.line_bytes,
            written=written,
            stopped=True,
        )


def _after(
    lacking: int,
    stopped: list[KeyboardInterrupt],
    reading: list[Input],
    redactor: Any,
    errors: list[str],
    inputs: Sequence[Input],
    late: list[str],
    pipeline: Pipeline,
    selection: Selection,
    out: TextIO,
    err: TextIO,
    fail_on_identity: bool,
) -> int:
    """What ends a scan: its inputs' warnings, the summary, the exit status.
    ``lacking``: requests a stopped scan read and did not write."""
    if stopped:
        # (A redacted scan's, while it read: what it had read was written after it.)
        for source in reading:
            # Its warnings even when nothing in it was read (the rows of a Zeek log
            # whose header lines tail left out): that is no error here, but unsaid,
            # nothing would tell the user why nothing came.
            for line in after_reading(source):
                print(f"{WARNING}{line}", file=err)
    out.flush()
    if lacking > 0 and not GAVE_UP:
        print(
            f"{WARNING}stopped: {counted(lacking, 'request')} read as the stop came "
            f"{'is' if lacking == 1 else 'are'} not in the output; the summary counts "
            f"{'it' if lacking == 1 else 'them'}",
            file=err,
        )
    if GAVE_UP:
        print(
            f"{WARNING}stopped while the output's reader took nothing for "
            f"{STOP_GRACE:.0f} s: the output ends inside a line, and lacks requests the "
            "summary counts",
            file=err,
        )
        GAVE_UP.clear()
    if redactor is not None and redactor.unshared:
        from capture.formats.redact import unshared

        print(f"headerwatch: warning: {unshared(redactor.unshared)}", file=err)
    if len(errors) < len(inputs):
        print(f"headerwatch: {pipeline.summary(none_read(inputs))}", file=err)
    if stopped:
        return _with_unopened(EXIT_INTERRUPTED, late, err)
    return input_errors(errors + late, err) or selection.exit_code(
        fail_on_identity, pipeline.identity_requests
    )


@contextlib.contextmanager
def _said_whole(stopping: bool) -> Iterator[None]:
    """While a stopped scan says what it read (``stopping``): Ctrl-C ignored, in the
    main thread. A second signal there (SIGTERM, then Ctrl-C a moment later) ended
    the process before its summary, with status 130."""
    if not stopping or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _with_unopened(code: int, unopened: Sequence[str], err: TextIO) -> int:
    """``code`` after the inputs that could not be opened are said (an input error,
    exit status 2, unless the scan was stopped)."""
    failed = input_errors(unopened, err)
    return code if code == EXIT_INTERRUPTED or not failed else failed


def _requests(events: Iterable[Event], selection: Selection) -> Iterator[Record]:
    """The records of the requests among ``events`` that ``selection`` keeps (one
    generator, not two: once per request of a large log)."""
    keep = selection.keep
    if not selection.only_identity:
        # The common scan: every request (the loop below, without its test).
        for event in events:
            if type(event) is RequestSeen:
                record = event.record
                if not record.findings or keep(record):
                    yield record
        return
    for event in events:
        if type(event) is RequestSeen:
            record = event.record
            # Selection.keep of a record without findings, written out: it counts
            # nothing and keeps it unless only identities are asked for.
            if record.findings and keep(record):
                yield record


def _write_lines(
    records: Iterable[Record],
    render: Callable[[Item], str],
    header: str | None,
    streaming: bool,
    out: TextIO,
    render_bytes: Callable[[Record], bytes] | None = None,
    written: list[int] | None = None,
    stopped: bool = False,
) -> None:
    """One line per record. Lines go out in batches: one write per record costs a
    system call each when output is unbuffered (python -u, PYTHONUNBUFFERED). A
    stream on stdin is written record by record, as it arrives. A format made as
    bytes (``render_bytes``) is written to ``out``'s buffered byte stream when it has
    one. ``written``: its one number counts the lines handed to the output.
    ``stopped``: written after a stop, so a reader that takes nothing for
    :data:`STOP_GRACE` seconds is given up on (:func:`_whole`)."""
    count = written if written is not None else [0]
    if header is not None:
        out.write(header + "\n")
    batch = 1 if streaming else 256
    # The byte stream under ``out``: buffered, or raw where output is unbuffered
    # (python -u, PYTHONUNBUFFERED), whose one system call a write is.
    raw = getattr(out, "buffer", None) if render_bytes is not None else None
    # str or bytes alike below: the lines, their separator and the stream they go to.
    line: Callable[[Record], Any] = render
    write: Callable[[Any], object] = out.write
    flush = out.flush
    newline: Any = "\n"
    if isinstance(raw, (io.BufferedIOBase, io.RawIOBase)) and render_bytes is not None:
        out.flush()  # what was written as text goes first
        line, write, newline = render_bytes, _whole(raw, stopped), b"\n"
    end = newline[:0]
    # A batch at a time, each made by one comprehension: no append, no length test
    # per record. islice takes no record beyond the batch, so each batch is written
    # before the next record is read, as a stream needs.
    items = iter(records)
    while True:
        lines: list[Any] = []
        try:
            lines.extend(map(line, islice(items, batch)))
        except KeyboardInterrupt:
            # Ctrl-C: the lines of the batch already made are written (extend keeps
            # what it took), or the summary would count requests the output lacks.
            if lines:
                data = newline.join(lines) + newline
                count[0] += len(lines)
                write(data)
            raise
        if not lines:
            return
        made = len(lines)
        lines.append(end)
        # Made, then counted, then written: a stop comes (it is held while the write
        # takes the lines, and taken at its end) in the making, and then no line of
        # it is counted, or after the write. Counted after the making and before the
        # write, a stop in the making lost the batch without a word.
        data = newline.join(lines)
        count[0] += made
        write(data)
        if made < batch:
            return  # the records ran out
        if streaming:
            flush()


_HELD = frozenset({signal.SIGINT, signal.SIGTERM, signal.SIGHUP})
_STEP = 4096  # PIPE_BUF: what a pipe that select() says is writable takes without waiting
STOP_GRACE = 3.0
"""Seconds a stopped scan waits for its output's reader to take a write it has begun
(a slow reader goes on; one that takes nothing, ``| sleep 15``, is given up)."""
GAVE_UP: list[int] = []
"""Bytes of a write given up at a stop, one entry per write (see :func:`_whole`)."""


def _whole(raw: Any, stopped: bool = False) -> Callable[[bytes], object]:
    """A writer of whole lines to the byte stream ``raw``: the signals that stop a
    scan (Ctrl-C; SIGTERM and SIGHUP, which ``tui.cmd_scan`` turns into it) are held
    while it writes, and taken when the write is done. Without that, a write to a pipe
    its reader was slow to empty, cut by the signal, returned having taken part of
    the bytes, and half a line ended the output.

    It writes to the descriptor itself, a pipe's share at a time, each once
    ``select`` says the pipe takes it: where a stop is asked for and the reader takes
    nothing for :data:`STOP_GRACE` seconds (``| sleep 15``), it gives up the write
    (:data:`GAVE_UP`) and lets the signal act (a wait with the signals held made the
    scan one only SIGKILL stopped). ``stopped``: the stop came already (the
    requests a stop found read and not written, :func:`_write_unhanded`), and the
    reader is given up on as if asked again. A stream without a descriptor (a
    test's) is written to as it is."""
    try:
        fd = raw.fileno()
        regular = stat.S_ISREG(os.fstat(fd).st_mode)
    except (OSError, ValueError, io.UnsupportedOperation, AttributeError):
        return written_whole(raw)
    mask = signal.pthread_sigmask
    raw.flush()  # what it holds goes first: from here on the descriptor is written to

    def whole(data: bytes) -> object:
        if stopped and GAVE_UP:
            return None  # given up on already
        held = mask(signal.SIG_BLOCK, _HELD)
        try:
            view = memoryview(data)
            while view:
                if not regular:
                    asked = time.monotonic() if stopped else None
                    while not select.select([], [fd], [], 0.25)[1]:
                        if asked is None and not signal.sigpending() & _HELD:
                            continue
                        asked = asked or time.monotonic()
                        if time.monotonic() - asked >= STOP_GRACE:
                            # The reader stopped, and a stop is asked for: given up.
                            GAVE_UP.append(len(view))
                            return None
                view = view[os.write(fd, view if regular else view[:_STEP]) :]
            return len(data)
        finally:
            mask(signal.SIG_SETMASK, held)

    return whole


def answered(events: Iterable[Event], limit: int = UNANSWERED_LIMIT) -> Iterator[Record]:
    """Records in capture order, each with its response once that has arrived.

    A record waits for its response, and the records after it wait their turn;
    when more than ``limit`` wait, the oldest goes on without one (its response
    was not captured, or the connection never answered). Memory stays bounded.
    """
    waiting: OrderedDict[int, Record] = OrderedDict()
    done: set[int] = set()
    for event in events:
        if isinstance(event, RequestSeen):
            waiting[event.record.id] = event.record
        elif isinstance(event, EchoSeen):
            # Comes just before its ResponseSeen: findings in headers added in transit.
            record = waiting.get(event.record.id)
            if record is not None:
                waiting[event.record.id] = event.onto(record)
            continue
        elif isinstance(event, ResponseSeen):
            record = waiting.get(event.record_id)
            if record is None:
                continue
            waiting[event.record_id] = dataclasses.replace(record, response=event.response)
            done.add(event.record_id)
        else:
            continue
        while waiting:
            first = next(iter(waiting))
            if first not in done and len(waiting) <= limit:
                break
            done.discard(first)
            yield waiting.pop(first)
    yield from waiting.values()
