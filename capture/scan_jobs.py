"""A large scan split over processes, with the output of a single one.

Every process walks the whole capture (passing over records is cheap) but reads
only its share of the connections (:class:`capture.net.shard.Shard`). The record walk
passes over the others' plain IPv4 connections (Ethernet, no IP options) whole,
handshake and close included; the rest of theirs it tracks without reading (and
then their plain records too, by the skip table: see ``Reassembler.foreign``).
Nothing of one connection's requests depends on another's: a connection is
numbered by its first record, idles by its own time, and closes by its own
segments. Each line a process writes starts with the key of the moment the
request completed:

* while a record was being processed: (record number, 1);
* when :meth:`~capture.net.reassembly.Reassembler.tick` or ``flush`` closed its
  connection: (record number, 0, the connection's place in the
  least-recently-active order), the order in which a single process closes them.

The keys are fixed-width hex, so the parent merges the processes' lines by
comparing bytes, then numbers the records in that order. The output is the same
as a single process's, byte for byte, as long as no reassembly limit overflows:
which connection is evicted from a full table, which hole is given up when all
out-of-order data together hits its cap, or which closed connection is forgotten
when more are remembered than the limit allows, can then differ. (A process
does not hold the other processes' connections, or closes them when their FINs
pass rather than when their data is read, so anything decided by how many are
open or by the order of closing differs; closed connections are therefore
forgotten by their own time: see ``reassembly._ClosedMemory``.)
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from io import BufferedIOBase, BufferedReader, FileIO
from typing import IO, TYPE_CHECKING, Any, NamedTuple, TextIO, cast

import orjson

from capture.formats.jsonl import dumps_bytes
from capture.model import Request, RequestSeen
from capture.net.reassembly import Limits
from capture.net.shard import Shard
from capture.pipeline import Detector, Pipeline, summarize
from capture.sources.frames import WARNING, CaptureFile
from capture.sources.inputs import Input, after_reading, none_read, open_input, unreadable
from capture.sources.records import RecordFile
from capture.text import counted
from capture.view.selection import EXIT_INTERRUPTED, EXIT_USAGE, Selection

if TYPE_CHECKING:
    from capture.scan_stop import Stop

MIN_SIZE = 32 << 20
"""Below this many bytes of capture a single process is faster than a split."""
MAX_JOBS = 4

KEY = 47
"""Bytes of the order key that starts each line (its JSON, or :data:`SKIPPED`, then)."""
SKIPPED = b"-\n"
"""In place of the JSON: a record not selected for printing (numbered, not written)."""
TRAILER = b"~"
"""Starts a process's last line, its counters: sorts after every key."""
_NO_FLOW = b"%034x" % 0  # the rest of the key of a request completed by a record
ID_DIGITS = 16
"""Digits of every record id a process writes (after the last
:data:`~capture.formats.jsonl.ID_KEY` of its line): its ids start at
:data:`_FIRST_ID`, so the parent finds where one ends without looking."""
_FIRST_ID = 10 ** (ID_DIGITS - 1)

BATCH = 192
"""Pieces of lines (three a line: key, JSON, newline) a process joins into one write:
a write per line, its key and JSON formatted into one more copy, cost each process
more than the parent's whole merge did."""


def jobs_for(captures: Sequence[CaptureFile], fmt: str, jobs: int | None) -> int:
    """How many processes should scan ``captures``: ``jobs`` if given, else one per
    CPU (at most :data:`MAX_JOBS`) for large files. Only JSONL from files each process
    can read and pass over its share of can be split (:attr:`CaptureFile.splittable`): a
    stream cannot be read twice."""
    if fmt != "jsonl" or not hasattr(os, "fork"):
        return 1
    if any(c.path == "-" or not c.splittable or not c.size for c in captures):
        return 1
    if jobs is None:
        if sum(c.size for c in captures) < MIN_SIZE:
            return 1
        jobs = min(MAX_JOBS, _cpus())
    return max(1, jobs)


def _cpus() -> int:
    """CPUs this process may run on (all of them where the system cannot say)."""
    affinity = getattr(os, "sched_getaffinity", None)  # Linux
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


class _ShardPipeline(Pipeline):
    """A pipeline that notes the order key of each request it completes."""

    def __init__(self, detector: Detector | None, shard: Shard, limits: Limits | None) -> None:
        # A split scan reads files: as one process's pipeline, no time bound on a
        # request's wait for its reflector's echo (capture.scan).
        super().__init__(
            detector, limits, responses=False, shard=shard, first_id=_FIRST_ID, echo_wait=None
        )
        self.keys: dict[int, bytes] = {}

    def _on_request(self, echo: bool | None, request: Request) -> None:
        reassembler = self.reassembler
        flow = reassembler.closing
        if flow is None:
            key = b"%012x1%s" % (reassembler.frame_no, _NO_FLOW)
        else:
            stamp = flow.stamp
            if isinstance(stamp, int):  # moved by a segment of that record
                key = b"%012x0%013x%021x" % (reassembler.frame_no, 2 * stamp + 1, 0)
            else:  # moved when skipped segments were folded in at a tick
                frame_no, ts, flow_id = stamp
                key = b"%012x0%013x%09x%012x" % (
                    reassembler.frame_no,
                    2 * frame_no,
                    int(ts),
                    flow_id,
                )
        self.keys[self._next_id] = key
        super()._on_request(echo, request)


def work(
    paths: Sequence[str],
    detector: Detector | None,
    only_identity: bool,
    shard: Shard,
    out: IO[bytes],
    limits: Limits | None = None,
    stop: Stop | None = None,
) -> None:
    """One process's share of a split scan: its lines, then a trailer with its
    counters (what :func:`merge` reads). ``stop``: where Ctrl-C stops it (the input
    read up to there is then scanned as if it ended there)."""
    pipeline = _ShardPipeline(detector, shard, limits)
    selection = Selection(only_identity)
    batch: list[bytes] = []
    warnings = []
    past = None if stop is None else stop.past
    for path in paths:
        capture = CaptureFile(path)
        if len(paths) > 1:
            pipeline.begin(capture.name)  # as a single process names it (scan._event_runs)
        _write_requests(pipeline.run_capture(capture, past), pipeline.keys, selection, batch, out)
        warnings += after_reading(capture)  # every process reads the whole file: the same
        if stop is not None and stop.stopped:
            break
    if stop is not None:
        stop.done()
    _write_requests(iter(pipeline.flush()), pipeline.keys, selection, batch, out)
    trailer = {"skipped": dict(pipeline.decoder.skipped), "warnings": warnings}
    _write_trailer(pipeline, selection, trailer, batch, out)


def _write_requests(
    events: Iterator[Any],
    keys: dict[int, bytes],
    selection: Selection,
    batch: list[bytes],
    out: IO[bytes],
) -> None:
    """The lines of the requests among ``events``, each after the key noted when it
    completed, onto ``batch``; written to ``out`` each :data:`BATCH` lines (what is
    left stays in ``batch``)."""
    # The same lines as work_records writes, in a loop of its own: one loop over
    # (key, record) pairs from either cost each process ~700 instructions a request.
    keep = selection.keep
    pop = keys.pop
    for event in events:
        if type(event) is RequestSeen:
            record = event.record
            key = pop(record.id)
            if keep(record):
                batch += (key, dumps_bytes(record), b"\n")
            else:
                batch += (key, SKIPPED)
            if len(batch) >= BATCH:
                out.write(b"".join(batch))
                batch.clear()


def _write_trailer(
    pipeline: Pipeline,
    selection: Selection,
    trailer: dict[str, Any],
    batch: list[bytes],
    out: IO[bytes],
) -> None:
    """A process's last write: the lines left in ``batch``, then its trailer (the
    pipeline's counters, what was selected, and ``trailer``) for :func:`merge`."""
    trailer["counters"] = pipeline.counters()
    trailer["identities"] = selection.identities
    batch.append(TRAILER + orjson.dumps(trailer) + b"\n")
    out.write(b"".join(batch))


def jobs_for_records(sources: Sequence[RecordFile], fmt: str, jobs: int | None) -> int:
    """How many processes should read the record files ``sources`` (engine logs,
    JSONL): as :func:`jobs_for`; only regular files, not compressed, can be split by
    byte range (:attr:`RecordFile.splittable`)."""
    if fmt != "jsonl" or not hasattr(os, "fork"):
        return 1
    if not all(s.splittable for s in sources):
        return 1
    if jobs is None:
        if sum(s.size for s in sources) < MIN_SIZE:
            return 1
        jobs = min(MAX_JOBS, _cpus())
    return max(1, jobs)


RECORD_CHUNK = 1 << 18
"""Bytes of a record file one process of a split scan reads before the next
process's turn. The parent writes the lines in file order, so it reads one process
while the others wait on their pipes: with the file cut in as many ranges as
processes, the second waited, blocked, until the first had finished (a 2-process
scan of an eve.json ran no faster than one). Chunks this small keep every process
within its pipe's buffer (1 MiB) of the parent."""


def work_records(
    paths: Sequence[str],
    kind: str | None,
    detector: Detector | None,
    only_identity: bool,
    shard: Shard,
    out: IO[bytes],
    stop: Stop | None = None,
) -> None:
    """One process's share of a split scan of record files: the lines that start in
    its chunks of each file's bytes (chunks of :data:`RECORD_CHUNK` bytes dealt in
    turn: the ``shard.index``-th, then every ``shard.count``-th after it). Requests
    from record lines do not depend on each other (there is no reassembly), so each
    line's request is keyed by (file, line offset); then a trailer with the counters
    and, per file opened, the lines passed over. ``stop``: where Ctrl-C stops it (a
    chunk: the stopping places are the chunks, numbered over the files in turn)."""
    pipeline = Pipeline(detector, responses=False, first_id=_FIRST_ID)
    selection = Selection(only_identity)
    keep = selection.keep
    batch: list[bytes] = []
    files = []
    first = 0  # the number of the file's first chunk
    for number, path in enumerate(paths):
        if stop is not None and stop.stopped:
            break
        source = open_input(path, kind)
        assert isinstance(source, RecordFile)
        if len(paths) > 1:
            pipeline.begin(source.name)  # as a single process names it (scan._event_runs)
        size = source.size
        feed = pipeline.feed_request
        for chunk in range(shard.index, chunks(size), shard.count):
            if stop is not None and stop.past(first + chunk):
                break
            source.restrict(chunk * RECORD_CHUNK, (chunk + 1) * RECORD_CHUNK)
            for parsed in source.requests(responses=False):
                key = b"%012x1%034x" % (number, source.line_start)
                for event in feed(parsed):  # as in _write_requests
                    if type(event) is RequestSeen:
                        record = event.record
                        if keep(record):
                            batch += (key, dumps_bytes(record), b"\n")
                        else:
                            batch += (key, SKIPPED)
                if len(batch) >= BATCH:
                    out.write(b"".join(batch))
                    batch.clear()
        files.append(
            [source.other_lines, source.bad_lines, source.first_bad, source.read_lines, source.cut]
        )
        source.close()
        first += chunks(size)
    if stop is not None:
        stop.done()
    _write_trailer(pipeline, selection, {"skipped": {}, "files": files}, batch, out)


def chunks(size: int) -> int:
    """The chunks of :data:`RECORD_CHUNK` bytes a record file of ``size`` bytes is read in."""
    return -(-size // RECORD_CHUNK)


def _line_number(path: str, offset: int) -> int:
    """The number of the line that starts at byte ``offset`` of ``path``."""
    lines = 1
    with open(path, "rb") as f:
        left = offset
        while left > 0:
            chunk = f.read(min(left, 1 << 20))
            if not chunk:
                break
            lines += chunk.count(b"\n")
            left -= len(chunk)
    return lines


def scan_split_records(
    sources: Sequence[RecordFile],
    kind: str | None,
    jobs: int,
    detector: Detector | None,
    only_identity: bool,
    fail_on_identity: bool,
    out: TextIO,
    err: TextIO,
) -> int:
    """``scan --format jsonl`` of record files over ``jobs`` processes, each reading
    one byte range of every file; the output is a single process's (stopped by Ctrl-C:
    a single process's of the files up to where they stopped, :mod:`capture.scan_stop`)."""
    paths = [s.path for s in sources]
    for source in sources:
        source.close()

    def work(shard: Shard, sink: IO[bytes], stop: Stop) -> None:
        work_records(paths, kind, detector, only_identity, shard, sink, stop)

    _before_fork(detector)
    split = _run_split(work, jobs, out, err)
    trailers, stopped_at = split.trailers, split.stopped_at
    if split.error is not None:
        print(f"headerwatch: error: {split.error}", file=err)
        return EXIT_USAGE
    if stopped_at is not None and len(trailers) < jobs:
        return _stopped_short(split, jobs, err)
    errors = []
    end = 0  # the number of the chunk after the file's last
    for number, source in enumerate(sources):
        first, end = end, end + chunks(source.size)
        if stopped_at is not None and first > stopped_at:
            break  # not reached
        shares = [t["files"][number] for t in trailers if number < len(t["files"])]
        bad = [(share[2][0], share[2][1]) for share in shares if share[2] is not None]
        first_bad = None
        if bad:
            offset, why = min(bad)
            first_bad = (_line_number(source.path, offset), offset, why)
        totals = [sum(share[i] for share in shares) for i in (0, 1, 3)]
        cut = next((share[4] for share in shares if share[4] is not None), None)
        source.absorb(totals[0], totals[1], first_bad, totals[2], cut)
        if stopped_at is None or end - 1 <= stopped_at:
            error = after_input(source, err)
            if error is not None:
                errors.append(error)
        else:  # stopped in: as a single process, its warnings, and no input error
            for line in after_reading(source):
                print(f"{WARNING}{line}", file=err)
    code = (
        _summary(trailers, fail_on_identity, err, none_read(sources))
        if len(errors) < len(sources)
        else 0
    )
    if stopped_at is not None:
        return EXIT_INTERRUPTED
    return input_errors(errors, err) or code


def after_input(source: Input, err: TextIO) -> str | None:
    """Once ``source`` has been read: its warnings printed on ``err``; or, when nothing in
    it could be read as its kind, that input error returned instead, for
    :func:`input_errors` to say after all output."""
    error = unreadable(source)
    if error is None:
        for line in after_reading(source):
            print(f"{WARNING}{line}", file=err)
    return error


def input_errors(errors: Sequence[str], err: TextIO) -> int:
    """Print the inputs found unreadable once read (:func:`capture.sources.inputs.unreadable`;
    what the others held is written by now); the exit code they make (0: none)."""
    for error in errors:
        print(f"headerwatch: error: {error}", file=err)
    return EXIT_USAGE if errors else 0


class _Split(NamedTuple):
    """What the processes of a split scan gave."""

    trailers: list[dict[str, Any]]
    error: str | None
    """What went wrong, when a process failed."""
    records: int
    """Records merged: written, or passed over as not selected."""
    stopped_at: int | None
    """Stopped by Ctrl-C: the stopping place chosen (:mod:`capture.scan_stop`)."""


def _before_fork(detector: Detector | None) -> None:
    """What each process of a split scan with ``detector`` would load at its first
    phone number, loaded once before they fork: libphonenumber (its import, ~20 ms).
    Only a large input is split, and one that holds no number at all is rare."""
    if detector is not None:
        from capture.identity.phone import libphonenumber

        libphonenumber()


def _run_split(
    work: Callable[[Shard, IO[bytes], Stop], None], jobs: int, out: TextIO, err: TextIO
) -> _Split:
    """Run ``work`` in ``jobs`` processes and merge their lines onto ``out``."""
    # Imported here: threading, for a split scan only.
    from capture.scan_stop import Stop, held_ctrl_c

    out.flush()
    err.flush()
    # Objects alive now are shared with the children, and stay shared if the
    # collector does not write to them.
    frozen = gc.get_freeze_count()
    gc.freeze()
    stop = Stop(jobs)
    children: list[tuple[int, BufferedReader]] = []
    finished = False
    trailers: list[dict[str, Any]] = []
    records = 0
    try:
        with held_ctrl_c():
            for index in range(jobs):
                children.append(_fork_work(work, Shard(index, jobs), stop))
            with stop.on_ctrl_c([pid for pid, _ in children]):
                trailers, records = merge([reader for _, reader in children], _binary(out))
        finished = True
    finally:
        for pid, reader in children:
            reader.close()
            if not finished:  # our output went away, or a third Ctrl-C
                os.kill(pid, signal.SIGTERM)
        statuses = [os.waitpid(pid, 0)[1] for pid, _ in children]
        _thaw(frozen)
    errors = [t["error"] for t in trailers if "error" in t]
    stopped_at = stop.chosen if stop.asked else None
    if len(trailers) < jobs and not errors and stopped_at is None:
        died = next((s for s in statuses if s), 0)
        errors.append(f"a scan process ended without its results ({_how(died)})")
    return _Split(trailers, errors[0] if errors else None, records, stopped_at)


def _stopped_short(split: _Split, jobs: int, err: TextIO) -> int:
    """Say what a split scan holds that Ctrl-C stopped before each of its processes had
    sent its counters (one killed, not stopped in time): the requests it merged."""
    from capture.scan_stop import STOP_WAIT

    lost = jobs - len(split.trailers)
    print(
        f"headerwatch: {counted(split.records, 'HTTP request')} (counted from the output: "
        f"{lost} of {jobs} scan processes had not stopped reading {STOP_WAIT:g} s after "
        "Ctrl-C, or at a second one, and were killed; what they read is not known)",
        file=err,
    )
    return EXIT_INTERRUPTED


def _summary(
    trailers: list[dict[str, Any]],
    fail_on_identity: bool,
    err: TextIO,
    nothing: Sequence[str] = (),
) -> int:
    """Say what a split scan found (its processes' ``trailers`` added up) on ``err``;
    its exit code. ``nothing``: the record files' words for none read
    (:func:`capture.sources.inputs.none_read`)."""
    # Its processes read requests only (_ShardPipeline), as the scan they stand for.
    print(f"headerwatch: {summarize(*totals(trailers), nothing, responses=False)}", file=err)
    selection = Selection()
    selection.identities = sum(t["identities"] for t in trailers)
    return selection.exit_code(fail_on_identity)


def _thaw(frozen_before: int) -> None:
    """Undo a split scan's freeze, leaving frozen what was frozen before it (the
    command line's start-up, see :func:`tui.cli.main`): thawed, the collection at
    exit walked it all again, 28 M instructions of a split scan's parent."""
    gc.unfreeze()
    if frozen_before:
        gc.freeze()


def _fork_work(
    work: Callable[[Shard, IO[bytes], Stop], None], shard: Shard, stop: Stop
) -> tuple[int, BufferedReader]:
    """Start one process running ``work`` on ``shard`` (stopped by ``stop``); its pid
    and the read end of its output."""
    read_fd, write_fd = os.pipe()
    _widen(write_fd)
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 0
        try:
            os.close(read_fd)
            # Ctrl-C is the parent's: it stops every process at one place.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])
            stop.index = shard.index
            # A small buffer: a batch of lines (BATCH) is larger, and goes to the
            # pipe as it is, not copied into the buffer first.
            with open(write_fd, "wb", buffering=1 << 12) as out:
                try:
                    work(shard, out, stop)
                except Exception as exc:  # reported by the parent, in one line
                    out.write(TRAILER + orjson.dumps({"error": f"{exc}"}) + b"\n")
                    code = 1
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write_fd)
    # Made as open(read_fd, "rb", buffering=...) makes it, but typed as what it is:
    # merge() reads with read1, which the BinaryIO that open() is typed to return lacks.
    return pid, BufferedReader(FileIO(read_fd, "r"), 1 << 20)


PIPE_SIZE = 1 << 20
"""Bytes a process's pipe holds (Linux's default is 64 KiB). The parent takes lines
from every process in turn, in the order of their keys, so a process that is ahead
waits on its pipe until the others catch up: the larger the pipe, the less often.
A process writes a batch of lines at a time (:data:`BATCH`, tens of KiB), not 1 MiB:
a process whose write was 1 MiB into a 64 KiB pipe sat blocked until the parent had
merged most of it, the parent waiting in turn for the other process's next write."""


def _widen(fd: int) -> None:
    """Make the pipe ``fd`` hold :data:`PIPE_SIZE` bytes where the system lets it."""
    # Not Linux (no F_SETPIPE_SZ; fcntl is Unix's), or over the user's pipe-size limit.
    with contextlib.suppress(ImportError, AttributeError, OSError):
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_SIZE)


def scan_split(
    paths: Sequence[str],
    jobs: int,
    detector: Detector | None,
    only_identity: bool,
    fail_on_identity: bool,
    out: TextIO,
    err: TextIO,
) -> int:
    """``scan --format jsonl`` over ``jobs`` processes; return the exit code. Stopped
    by Ctrl-C, the output and summary are those of the captures up to the record where
    every process stopped (:mod:`capture.scan_stop`), and the exit code 130."""

    def work_captures(shard: Shard, sink: IO[bytes], stop: Stop) -> None:
        work(paths, detector, only_identity, shard, sink, None, stop)

    _before_fork(detector)
    split = _run_split(work_captures, jobs, out, err)
    trailers = split.trailers
    for line in trailers[0].get("warnings", []) if trailers else []:
        print(f"{WARNING}{line}", file=err)
    if split.error is not None:
        print(f"headerwatch: error: {split.error}", file=err)
        return EXIT_USAGE
    if split.stopped_at is None:
        return _summary(trailers, fail_on_identity, err)
    if len(trailers) < jobs:
        return _stopped_short(split, jobs, err)
    _summary(trailers, False, err)
    return EXIT_INTERRUPTED


def totals(trailers: list[dict[str, Any]]) -> tuple[Counter[str], Counter[str]]:
    """The pipeline counters and skipped frames of a whole split scan, from its
    processes' trailers: each process counts only what is its own, so they add up."""
    counters: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    for trailer in trailers:
        counters.update(trailer["counters"])
        skipped.update(trailer["skipped"])
    counters["packets"] = trailers[0]["counters"]["packets"]  # every process reads all
    return counters, skipped


def merge(readers: Sequence[BufferedIOBase], write: Any) -> tuple[list[dict[str, Any]], int]:
    """Write the processes' lines (from ``readers``) as one JSONL stream: in order,
    records numbered (:func:`capture.linemerge.merge_lines`, as many lines at a time as
    the bytes read decide). Return the processes' trailers, and the records merged.
    A process's output that ends inside a line (a process that died, or was killed
    after Ctrl-C) ends at the line before: no line is written in part."""
    # Imported here: loading the C merge was start-up of every scan (0.7 M instructions).
    from capture.linemerge import merge_lines

    count = len(readers)
    reads = [reader.read1 for reader in readers]
    parts, starts, ended = [b""] * count, [0] * count, [False] * count
    trailers: list[bytes] = []
    record_id = 0
    while True:
        out, record_id, stalled = merge_lines(parts, starts, ended, record_id, trailers)
        if out:
            write(out)
        if stalled < 0:
            return [orjson.loads(trailer) for trailer in trailers], record_id
        data = reads[stalled](READ_SIZE)
        if not data:
            # What is left of it is not a whole line (it stalled for want of one).
            parts[stalled], starts[stalled] = b"", 0
            ended[stalled] = True
            continue
        rest = parts[stalled][starts[stalled] :]  # the start of a line, if any: kept
        parts[stalled] = rest + data if rest else data
        starts[stalled] = 0


READ_SIZE = 1 << 20
"""Bytes the parent asks of a process's pipe at a time (what it holds: PIPE_SIZE)."""


def _binary(out: TextIO) -> Any:
    """A function writing bytes to ``out`` (its binary buffer when it has one)."""
    buffer = getattr(out, "buffer", None)
    if buffer is None:
        return lambda data: out.write(data.decode())
    return written_whole(buffer)


def written_whole(stream: Any) -> Callable[[bytes], object]:
    """A writer of all of each bytes given to the byte stream ``stream``: its write,
    where it is buffered (which takes all); else one that writes again what a write
    did not take. Unbuffered (python -u, PYTHONUNBUFFERED), the raw stream's write is
    one system call, which a signal caught (Ctrl-C, capture.scan_stop) cuts short in
    a pipe; what it did not take would be lost."""
    if isinstance(stream, BufferedIOBase):
        return cast(Callable[[bytes], object], stream.write)

    def write_all(data: bytes) -> object:
        view = memoryview(data)
        while view:
            view = view[stream.write(view) or 0 :]
        return len(data)

    return write_all


def _how(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"
