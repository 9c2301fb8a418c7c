"""Where the reflector's records go: a writer thread behind a bounded queue.

Serving must never wait for output. A stalled stdout (Ctrl-S in the terminal, a
stalled SSH session, a paused ``less``, a pipe nobody reads) would otherwise freeze
every client, because the event loop would block in ``write``. Records are handed
over with :meth:`RecordSink.submit`, which never blocks: when the queue is full the
record is dropped and counted. The thread renders and writes them, in batches, to
stdout or to an output file (opened for appending, created ``0600``, reopened on
request for logrotate).

An output file is bounded: a reflector on the internet is sent whatever anyone likes,
and at thousands of requests a second its records would fill the disk (and with it
every other service's). Past ``max_bytes`` (``--output-max``), or with less than
:data:`DISK_RESERVE` left free where it is, records are not written but counted
(:attr:`RecordSink.unrecorded_by`) while the reflector goes on answering; a reopen (after
logrotate moved the file) writes again.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from capture.formats.private import create_private

T = TypeVar("T")

_STOP = object()

DISK_RESERVE = 64 << 20
"""Bytes an output file's file system keeps free: records that would leave less are
not written (:attr:`RecordSink.unrecorded_by`)."""


def _why(exc: OSError) -> str:
    """Why writing failed, as every writer of files says it."""
    from capture.formats.pcapng import describe_os_error  # a rare path: not at start-up

    return describe_os_error(exc)


class RecordSink(Generic[T]):
    """A bounded queue and the thread that writes what it holds.

    ``render`` turns an item into one line (without its newline). ``on_closed`` is
    called from the writer thread, once, with ``None`` when the reader of stdout has
    gone away (``head -1``) or with a one-line reason when writing failed; the
    writer then drops everything that follows, and counts each item it drops
    (:attr:`lost`): a request answered must not vanish from the evidence unsaid.
    """

    def __init__(
        self,
        render: Callable[[T], str],
        path: str | None = None,
        capacity: int = 10_000,
        on_closed: Callable[[str | None], None] | None = None,
        fd: int = 1,
        max_bytes: int | None = None,
    ) -> None:
        self.render = render
        self.path = path
        self.max_bytes = max_bytes
        """Largest output file written to (None: no bound but the disk's)."""
        self.unrecorded_by: dict[str, int] = {}
        """Records not written because the output file reached ``max_bytes`` (or its
        file system :data:`DISK_RESERVE`), by why (``--output-max reached``, ``the disk
        was nearly full``); counted by the writer thread."""
        self.full_because = ""
        """Why the last records were not written ("" while they are)."""
        self.on_closed = on_closed
        self.queue: queue.Queue[object] = queue.Queue(capacity)
        self.dropped = 0
        self._unwritten = 0  # counted by the writer thread only
        self._refused = 0  # counted by the submitting thread only
        self.written = 0
        self.closed = False
        self._reopen = threading.Event()
        self._fd = fd if path is None else self._open(path)
        self._size = 0 if path is None else os.fstat(self._fd).st_size
        self._thread = threading.Thread(target=self._run, name="headerwatch-output", daemon=True)
        self._thread.start()

    @staticmethod
    def _open(path: str) -> int:
        # Private (0600, no planted link followed as root): the records hold phone
        # numbers. Append: logrotate's copytruncate and several writers stay
        # consistent. Raises OSError for the caller.
        return create_private(path, append=True)

    @property
    def unrecorded(self) -> int:
        """Records not written for want of room (:attr:`unrecorded_by`, all reasons)."""
        # list() in one step: the writer thread may add a why meanwhile.
        return sum(list(self.unrecorded_by.values()))

    @property
    def lost(self) -> int:
        """Records accepted but never written, or offered once the output had closed:
        exact once :meth:`close` has returned."""
        return self._unwritten + self._refused

    def submit(self, item: T) -> bool:
        """Queue ``item`` for writing; False (and counted) when the queue is full or
        the output has closed."""
        if self.closed:
            self._refused += 1
            return False
        try:
            self.queue.put_nowait(item)
        except queue.Full:
            self.dropped += 1
            return False
        return True

    def line(self, text: str) -> None:
        """Queue a line that is already text (a table header)."""
        if not self.closed:
            try:
                self.queue.put_nowait(_Line(text))
            except queue.Full:
                self.dropped += 1

    def reopen(self) -> None:
        """Reopen the output file before the next write (SIGHUP, after logrotate)."""
        self._reopen.set()

    def close(self, timeout: float = 2.0) -> None:
        """Write what is queued (for at most ``timeout`` seconds), then stop the thread.

        A writer stuck on a stalled stdout is left behind (it is a daemon thread):
        the process must be able to exit although nobody reads its output.
        """
        try:
            self.queue.put(_STOP, timeout=timeout)
        except queue.Full:
            return
        self._thread.join(timeout)
        if self.path is not None and not self._thread.is_alive():
            os.close(self._fd)  # the output file's, once nothing writes to it any more

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            batch = [item]
            # Whatever else is queued goes out in the same write.
            while len(batch) < 512:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            stop = any(x is _STOP for x in batch)
            items = [x for x in batch if x is not _STOP]
            if self.closed:
                self._lose(items)
            else:
                self._write(items)
            if stop:
                return

    def _write(self, items: list[object]) -> None:
        if self._reopen.is_set() and self.path is not None:
            self._reopen.clear()
            try:
                fd = self._open(self.path)
            except OSError as exc:
                self._lose(items)
                self._fail(f"cannot reopen {self.path}: {_why(exc)}")
                return
            old, self._fd = self._fd, fd
            os.close(old)
            self._size = os.fstat(fd).st_size
        lines = []
        for item in items:
            text = item.text if isinstance(item, _Line) else self.render(item)  # type: ignore[arg-type]
            lines.append(text)
        if not lines:
            return
        if self.path is not None:
            items, lines = self._bounded(items, lines)
            if not lines:
                return
        data = ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape")
        done = 0
        try:
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
                done += written
        except OSError as exc:
            # What a failed write cut short is lost: the items whose line did not
            # reach the file whole.
            ends, cut = 0, []
            for item, text in zip(items, lines, strict=True):
                ends += len(text.encode("utf-8", "surrogateescape")) + 1
                if ends > done:
                    cut.append(item)
            self._lose(cut)
            self._fail(
                None
                if isinstance(exc, BrokenPipeError)
                else f"cannot write the output: {_why(exc)}"
            )
            return
        self.written += len(lines)
        self._size += done

    def _bounded(self, items: list[object], lines: list[str]) -> tuple[list[object], list[str]]:
        """The items (and their lines) that fit in the output file: under
        ``max_bytes`` and above the disk's reserve; the others are counted by why
        (:attr:`unrecorded_by`), the last why kept (:attr:`full_because`)."""
        room = None if self.max_bytes is None else self.max_bytes - self._size
        try:
            disk = os.fstatvfs(self._fd)
            free = disk.f_bavail * disk.f_frsize - DISK_RESERVE
        except OSError:
            free = None
        why = "--output-max reached"
        if free is not None and (room is None or free < room):
            room, why = free, "the disk was nearly full"
        if room is None:
            self.full_because = ""
            return items, lines
        kept = 0
        for text in lines:
            room -= len(text.encode("utf-8", "surrogateescape")) + 1
            if room < 0:
                break
            kept += 1
        if kept == len(lines):
            self.full_because = ""
            return items, lines
        left = sum(not isinstance(x, _Line) for x in items[kept:])
        self.unrecorded_by[why] = self.unrecorded_by.get(why, 0) + left
        self.full_because = why
        return items[:kept], lines[:kept]

    def _lose(self, items: list[object]) -> None:
        """Count the records among ``items`` (not table headers) as never written."""
        self._unwritten += sum(not isinstance(x, _Line) for x in items)

    def _fail(self, reason: str | None) -> None:
        self.closed = True
        if self.on_closed is not None:
            self.on_closed(reason)


class _Line:
    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text
