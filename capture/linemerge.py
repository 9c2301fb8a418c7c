"""The parent's side of a split scan (:mod:`capture.scan_jobs`): the processes' lines
merged into one ordered stream, each record renumbered.

Each process writes lines that start with a fixed-width order key
(:data:`~capture.scan_jobs.KEY` bytes), then the record's JSONL line with the
process's own id (:data:`~capture.scan_jobs.ID_DIGITS` digits after the last
:data:`~capture.formats.jsonl.ID_KEY`), or :data:`~capture.scan_jobs.SKIPPED` for a
record not selected for printing; a :data:`~capture.scan_jobs.TRAILER` line with its
counters ends its output. The parent takes the least line of all the processes' next
ones (bytes compared; on a tie, the earlier process's), as :func:`heapq.merge` of their
lines would, and numbers the records in that order.

:func:`merge_lines` does that for as many lines as the bytes read so far decide: it
stops when a process that is not at its end has no whole line left, and says which,
so that the caller reads more of that one. It is written twice: in Python here (the
reference) and in C (``capture/_linemerge.c``), which takes a line in a few hundred
instructions where the Python merge took some 9,000 (on a 2-CPU machine the parent
competes with the processes it merges); tests/capture/test_linemerge.py holds the two
to the same answers, on damaged input too.
"""

from __future__ import annotations

from collections.abc import Callable

from capture.formats.jsonl import ID_KEY
from capture.scan_jobs import ID_DIGITS, KEY, SKIPPED, TRAILER

MAX_ID = 10**18
"""Record ids from here on are refused: 19 digits at most, in any line."""

_NEWLINE = b"\n"


def merge_lines_py(
    parts: list[bytes],
    starts: list[int],
    ended: list[bool],
    record_id: int,
    trailers: list[bytes],
) -> tuple[bytes, int, int]:
    """Merge the lines of ``parts`` (each process's bytes read so far, its unmerged ones
    from ``starts[i]``) while every process that has not ``ended`` has a whole line.

    Returns the output (each record line from its JSON on, its id replaced by the next
    of ``record_id``), the last id given, and the process that ran out of lines (read
    more of it, then call again), or -1 when all have ended and are merged. ``starts``
    is moved past what was merged; trailer lines (without their :data:`TRAILER`) are
    appended to ``trailers``. An ended process's last bytes are a line even without a
    newline. A record line shorter than its key raises :class:`IndexError`, one with no
    id :class:`ValueError` (a process that died mid-line); the merge is then over, its
    state undefined."""
    count = len(parts)
    if len(starts) != count or len(ended) != count:
        raise ValueError("merge_lines: parts, starts and ended differ in length")
    if not 0 <= record_id < MAX_ID:
        raise OverflowError("merge_lines: record id out of range")
    for part, start in zip(parts, starts, strict=True):
        if not 0 <= start <= len(part):
            raise ValueError("merge_lines: start out of range")
    heads = [_head(parts[i], starts[i], ended[i]) for i in range(count)]
    trailer = TRAILER[0]
    out: list[bytes] = []
    while True:
        best = -1
        line = b""
        for i, head in enumerate(heads):
            if head is None:
                return b"".join(out), record_id, i
            if head and (best < 0 or head < line):
                best, line = i, head
        if best < 0:
            return b"".join(out), record_id, -1
        start = starts[best] + len(line)
        starts[best] = start
        heads[best] = _head(parts[best], start, ended[best])
        if line[0] == trailer:
            trailers.append(line[1:])
            continue
        record_id += 1
        if line[KEY] == SKIPPED[0]:
            continue
        # The id the process gave (its own count) is replaced by the whole scan's.
        cut = line.rindex(ID_KEY) + len(ID_KEY)
        out += (line[KEY:cut], b"%d" % record_id, line[cut + ID_DIGITS :])


def _head(part: bytes, start: int, ended: bool) -> bytes | None:
    """The line of ``part`` at ``start``: b"" when an ended process has none left, None
    when more must be read first."""
    end = part.find(_NEWLINE, start)
    if end >= 0:
        return part[start : end + 1]
    return part[start:] if ended else None


MergeLines = Callable[
    [list[bytes], list[int], list[bool], int, list[bytes]], tuple[bytes, int, int]
]

merge_lines_c: MergeLines | None
try:
    from capture._linemerge import merge_lines as merge_lines_c
except ImportError:  # built without a C compiler: the reference does the same
    merge_lines_c = None

merge_lines: MergeLines = merge_lines_py if merge_lines_c is None else merge_lines_c
