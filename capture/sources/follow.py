"""Following records as they are written: ``headerwatch live --from PATH``.

A :class:`Follower` is a frame source over a stream of record lines that keeps
growing: the output of the mitmproxy add-on (``capture/data/mitmproxy_addon.py``)
or of any other writer of a record format of :data:`~capture.sources.inputs.INPUTS`.
``PATH`` is

* a regular file, followed like ``tail -F``: read from its start, then as it
  grows; waited for when it does not exist yet; read again from its start when it
  is replaced or truncated (log rotation), or rewritten in place (the bytes just
  before where it was read no longer those read: truncated and written again to
  the same size or beyond between two reads, which ``tail -F`` misses; said in one
  warning each time). A gzip-compressed file (a rotated
  ``eve.json.gz``) is read whole, as what it decompresses to, and not followed:
  gzip is written whole, so the stream ends there;
* a FIFO (``mkfifo``): read while writers come and go;
* ``unix:SOCKET``: a Unix stream socket headerwatch creates (0600) and listens on;
  writers connect (the add-on reconnects when headerwatch is restarted), one at a
  time, each sending lines.

The first line that is not blank decides the format, as :func:`open_input` does for
a file (a capture cannot be followed: ``live -i`` captures). The format's own
reader (a :class:`~capture.sources.records.RecordFile`) reads a
:class:`LineStream` whose ``readline`` waits for the next line; it runs in a
reader thread that hands parsed requests over a bounded queue, so the runner gets
``None`` every :data:`~capture.sources.source.HEARTBEAT` while nothing comes.

Stopping ends the stream after the lines already received: every request read is
delivered, and, with ``record``, written to the recording first. So does an error
(the path became a directory or unreadable, a stream of no record format): the
lines before it are delivered, then the error is said in one line and kept in
:attr:`Follower.failed`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import queue
import select
import socket
import stat
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from typing import IO, TYPE_CHECKING, Any

import orjson

from capture.model import Parsed
from capture.sources import inputs
from capture.sources.frames import GZIP_MAGIC, CaptureError, is_capture_magic
from capture.sources.inputs import SNIFF_BYTES, after_reading, nothing_in, open_as, unreadable
from capture.sources.records import MAX_LINE, RECORDS, RecordFile, cut_record
from capture.sources.source import HEARTBEAT, Notify
from capture.text import counted

if TYPE_CHECKING:
    from capture.sources.gunzip import Gunzipped

POLL = 0.05
"""Seconds between looks at a file or FIFO that has nothing new."""
QUEUE = 10_000
"""Parsed requests waiting for the runner at most (the reader waits beyond)."""
STATUS_PREFIX = b'{"headerwatch_addon"'
"""The start of the mitmproxy add-on's status line (its drop counter)."""
NOTICE_EVERY = 5.0
"""Seconds between two notices of records the add-on dropped."""
TAIL = 64
"""Bytes of a followed file read last, read again before each read after them: if
they changed, the file was rewritten in place."""

SOCKET_PREFIX = "unix:"


class NotLines(Exception):
    """What :meth:`LineStream.read` raises: a reader of whole documents cannot follow."""


class LineStream:
    """``readline`` over a file, FIFO or listening socket that waits for more.

    Returns ``b""`` (the end) only once :attr:`stop` is set, a gzip file is read to
    its end, or reading failed, and the bytes already received are handed out; a
    failure is raised then, once, in place of the line it cut. Every line returned
    goes to ``on_line`` first, with ``True`` when it came without a newline of its
    own: the last bytes of the stream, or a line a writer left unfinished, ended
    there (given without that newline). A line returned without a newline is
    otherwise the first ``limit`` bytes of a longer line.
    """

    def __init__(
        self,
        target: str,
        stop: threading.Event,
        on_line: Callable[[bytes, bool], None] | None = None,
        listener: socket.socket | None = None,
        on_warning: Callable[[str], None] | None = None,
        on_caught_up: Callable[[], None] | None = None,
    ) -> None:
        """``on_warning``: told, in one line, of a file rewritten in place.
        ``on_caught_up``: called when every line a regular file holds has been handed
        out and nothing more has come yet; a :class:`CaptureError` it raises ends the
        stream, as a failure to read does."""
        self.target = target
        self.stop = stop
        self.on_line = on_line
        self.on_warning = on_warning
        self.on_caught_up = on_caught_up
        self._buf = bytearray()
        self._handed = 0
        """Bytes handed out of the buffer so far."""
        self._ended_at: list[int] = []
        """Where, counted as :attr:`_handed` is, the newlines are that end lines a
        writer left unfinished."""
        self._listener = listener
        self._conn: socket.socket | None = None
        self._fd: int | None = None
        self._ino: tuple[int, int] | None = None
        self._fifo = False
        self._regular = False
        self._pos = 0
        self._tail = b""
        self._first = b""
        self._gzip: Gunzipped | None = None
        self.gzipped = False
        """The file is gzip: read whole through :class:`~capture.sources.gunzip.Gunzipped`."""
        self._ended = False
        self._finished = False  # the line part read at the stop was read to its end
        self._error: Exception | None = None
        self.connections = 0
        """Writers that connected (socket) or files opened (file, FIFO)."""

    # -- the file-like side (what RecordFile uses) -------------------------------------

    def fileno(self) -> int:
        raise OSError("a followed stream has no size")

    def read(self, size: int = -1) -> bytes:
        """Refused: a stream followed is lines, never read whole."""
        raise NotLines(self.target)

    def readline(self, limit: int = -1) -> bytes:
        """The next line (with its newline), at most ``limit`` bytes; waits for it."""
        limit = limit if limit > 0 else MAX_LINE
        buf = self._buf
        while True:
            cut = buf.find(b"\n", 0, limit)
            if cut >= 0 or len(buf) >= limit:
                end = cut + 1 if cut >= 0 else limit
                line = bytes(buf[:end])
                del buf[:end]
                unended = bool(self._ended_at) and self._ended_at[0] == self._handed + end - 1
                if unended:
                    del self._ended_at[0]
                self._handed += end
                if self.on_line is not None:
                    self.on_line(line[:-1] if unended else line, unended)
                return line
            if self.stop.is_set() and not self._ended and buf and self._finish_line(limit):
                continue  # the line part read when following stopped, read to its end
            if self._ended or self.stop.is_set():
                error, self._error = self._error, None
                if buf and error is None:
                    # Whatever came last, even without its newline, is read; as it
                    # came, so that the reader tells a record cut there from a whole
                    # one, as it does at the end of a file it scans.
                    line = bytes(buf)
                    buf.clear()
                    if self.on_line is not None:
                        self.on_line(line, True)
                    return line
                # A read that failed (a gzip file cut short) cut the line it was in:
                # the failure is the end, as scan reads that file.
                buf.clear()
                if error is not None:
                    raise error
                return b""
            self._more()

    def head(self, size: int) -> bytes:
        """The first ``size`` bytes to come (fewer once a line that is not blank has
        come, or at the end), left to be read: what decides the format."""
        buf = self._buf
        while len(buf) < size and not (self._ended or self.stop.is_set()):
            end = buf.rfind(b"\n")
            if end >= 0 and buf[:end].strip():
                break
            if is_capture_magic(bytes(buf[:4])) or b"\0" in buf:
                break  # binary: no line will tell more (and a capture is refused)
            self._more()
        if not buf and self._error is not None:
            error, self._error = self._error, None
            if isinstance(error, CaptureError):
                raise error
            raise CaptureError(self._unreadable(error))
        return bytes(buf[:size])

    def _unreadable(self, exc: Exception) -> str:
        why = getattr(exc, "strerror", None) or exc
        if self.gzipped:
            return f"{self.target}: gzip-compressed, but not readable ({why})"
        return f"{self.target}: cannot read ({why})"

    def close(self) -> None:
        """Close what is open (the listening socket belongs to the caller)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._gzip is not None:
            with contextlib.suppress(OSError):
                self._gzip.close()  # and the file below it
            self._gzip = None
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None

    # -- reading more ---------------------------------------------------------------

    def _end_of_writer(self) -> None:
        # A writer went away in the middle of a line: end it there, so that the next
        # writer's first line is not glued to it (it is then counted as bad).
        if self._buf and not self._buf.endswith(b"\n"):
            self._ended_at.append(self._handed + len(self._buf))
            self._buf += b"\n"

    def _finish_line(self, limit: int) -> bool:
        """Following stopped with part of a line read from a regular file (a read
        ends where it ends): the rest of that line, as far as the file holds it now,
        and nothing after it. Whether it came: else the part is what the file has (its
        writer stopped there), which the reader says is a record cut short. Without
        this a whole file stopped in was said to be cut short."""
        if not self._regular or self._fd is None or self._finished:
            return False
        self._finished = True
        buf = self._buf
        while b"\n" not in buf and len(buf) < limit:
            before = len(buf)
            self._more()
            if len(buf) == before or self._ended:
                break
        end = buf.find(b"\n")
        if end < 0:
            return False
        del buf[end + 1 :]  # read on from here no more: following has stopped
        return True

    def _more(self) -> None:
        """Read more into the buffer. A failure ends the stream: it is kept, to be
        raised once the bytes already read are handed out."""
        try:
            if self._gzip is not None:
                self._fill_gzip(self._gzip)
            elif self._listener is not None:
                self._fill_socket(self._listener)
            else:
                self._fill_path()
        except (CaptureError, OSError, EOFError, zlib.error) as exc:
            # (OSError, EOFError, zlib.error: a gzip file damaged or cut short, which
            # the record reader says as a file cut there, every record before it kept.)
            self._ended = True
            self._error = exc

    def _fill_gzip(self, stream: Gunzipped) -> None:
        data = stream.read1(1 << 16)
        if data:
            self._buf += data
        else:
            self._ended = True  # read whole: nothing more will come

    def _fill_socket(self, listener: socket.socket) -> None:
        if self._conn is None:
            ready, _, _ = select.select([listener], [], [], POLL)
            if ready:
                with contextlib.suppress(BlockingIOError, InterruptedError):
                    conn, _ = listener.accept()
                    conn.setblocking(False)
                    self._conn = conn
                    self.connections += 1
            return
        ready, _, _ = select.select([self._conn], [], [], POLL)
        if not ready:
            return
        try:
            data = self._conn.recv(1 << 16)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if data:
            self._buf += data
            return
        self._conn.close()
        self._conn = None
        self._end_of_writer()

    def _open_path(self) -> bool:
        try:
            fd = os.open(self.target, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError:
            return False
        except PermissionError:
            raise CaptureError(f"{self.target}: permission denied") from None
        except OSError as exc:
            raise CaptureError(f"{self.target}: cannot open ({exc.strerror or exc})") from None
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            os.close(fd)
            raise CaptureError(f"{self.target}: is a directory, not a file of records")
        self._fd = fd
        self._fifo = stat.S_ISFIFO(st.st_mode)
        self._regular = stat.S_ISREG(st.st_mode)
        self._ino = (st.st_dev, st.st_ino)
        self._pos = 0
        self._tail = b""
        self._first = b""
        self.connections += 1
        return True

    def _gunzip(self, fd: int) -> None:
        """Read the gzip file open at ``fd`` whole, as what it decompresses to, in
        place of the bytes of it read so far (only its first bytes: the magic is
        looked at as soon as they come, before any line of them is handed out)."""
        from capture.sources.gunzip import Gunzipped  # here: most inputs are not gzip

        del self._buf[len(self._buf) - self._pos :]
        os.lseek(fd, 0, os.SEEK_SET)
        self._fd = None  # the file object below owns it now
        self.gzipped = True
        self._gzip = Gunzipped(os.fdopen(fd, "rb"))

    def _fill_path(self) -> None:
        if self._fd is None and not self._open_path():
            time.sleep(POLL)
            return
        assert self._fd is not None
        try:
            if self._regular:
                # The bytes read last, and what follows them, in one call: a file
                # truncated and written again to where it was read shows no change
                # of size, only of those bytes.
                back = len(self._tail)
                data = os.pread(self._fd, back + (1 << 16), self._pos - back)
                if len(data) < back:
                    # Shorter than where it was read: truncated (rotation), and
                    # reopened as at its end (or the old one read on, if it is gone).
                    if not self._replaced():
                        time.sleep(POLL)
                    return
                if data[:back] != self._tail:
                    self._rewritten()
                    return
                data = data[back:]
                self._tail = (self._tail + data)[-TAIL:]
            else:
                data = os.read(self._fd, 1 << 16)
        except BlockingIOError:
            select.select([self._fd], [], [], POLL)
            return
        except OSError as exc:
            if exc.errno == errno.EINTR:
                return
            raise CaptureError(f"{self.target}: cannot read ({exc.strerror or exc})") from None
        if data:
            self._buf += data
            self._pos += len(data)
            if len(self._first) < len(GZIP_MAGIC) and not self._fifo:
                # A regular file's first bytes: is it gzip? (A FIFO's are looked at
                # with the rest of what its first line starts with.)
                self._first += data[: len(GZIP_MAGIC) - len(self._first)]
                if self._first == GZIP_MAGIC:
                    self._gunzip(self._fd)
            return
        # The end for now: a FIFO without writers (a line cut there is ended), or a
        # file not grown yet (the rest of its last line may still come).
        if self._fifo:
            self._end_of_writer()
        elif self._regular and self.on_caught_up is not None and not self._buf.strip():
            # (A last line without its newline may still be being written: not yet.)
            self.on_caught_up()
        if not self._replaced():
            time.sleep(POLL)

    def _rewritten(self) -> None:
        """The followed file's bytes before the read offset changed: read it again
        from its start (what was read of the old bytes stays read), and say so."""
        self._end_of_writer()
        self.close()
        if self.on_warning is not None:
            self.on_warning(
                f"{self.target}: rewritten in place (the bytes already read changed): "
                "read again from its start"
            )
        self._open_path()

    def _replaced(self) -> bool:
        """A followed file replaced or truncated (rotation): reopen it from its start."""
        try:
            st = os.stat(self.target)
        except OSError:
            return False  # gone for now: keep reading the old one until it comes back
        if stat.S_ISFIFO(st.st_mode):
            return False
        if (st.st_dev, st.st_ino) == self._ino and st.st_size >= self._pos:
            return False
        self._end_of_writer()
        self.close()
        return self._open_path()


def _check_path(target: str) -> None:
    """Refuse at once a path that exists and can never be followed (one not there
    yet is waited for)."""
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return
    except OSError as exc:  # a path through a file, or a directory not searchable
        raise CaptureError(f"{target}: cannot open ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise CaptureError(f"{target}: is a directory, not a file of records")
    if stat.S_ISSOCK(st.st_mode):
        raise CaptureError(f"{target}: is a socket; to listen on it, use --from unix:{target}")
    if not os.access(target, os.R_OK):
        raise CaptureError(f"{target}: permission denied")


def _listen(path: str) -> socket.socket:
    """A Unix stream socket listening at ``path`` (0600). A stale socket (its listener
    gone) is replaced; one that another process listens on, or anything that is no
    socket, is refused: taken over, the other follower would hear nothing more, and
    what its writers had sent it would be lost unsaid."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        mode = None  # nothing there (bind says what else is wrong)
    if mode is not None:
        if not stat.S_ISSOCK(mode):
            raise CaptureError(f"{path}: exists and is not a socket; give another path")
        if _listened_on(path):
            raise CaptureError(
                f"{path}: another process listens on it (another live --from?); give another path"
            )
        with contextlib.suppress(OSError):
            os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        sock.bind(path)
        sock.listen(4)
    except OSError as exc:
        sock.close()
        raise CaptureError(f"{path}: cannot listen ({exc.strerror or exc})") from None
    finally:
        os.umask(old)
    sock.setblocking(False)
    return sock


def _listened_on(path: str) -> bool:
    """Whether a process accepts connections on the Unix socket at ``path`` (a stale
    one, whose listener is gone, refuses them)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(path)
        except OSError:
            return False
    return True


class Follower:
    """A frame source of the requests written to ``target`` as they come.

    ``record(line)`` receives every line read, before it is parsed (``live --from
    -w``). Counters: ``followed`` (requests read), ``bad_lines``, and
    ``proxy_dropped`` (what the mitmproxy add-on says it dropped).
    """

    def __init__(
        self,
        target: str,
        notify: Notify | None = None,
        record: Callable[[bytes], None] | None = None,
    ) -> None:
        self.target = target
        self.name = f"proxy {target}"
        self._notify = notify
        self._record = record
        self._stop = threading.Event()
        self._queue: queue.Queue[Parsed] = queue.Queue(QUEUE)
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self.kind: str | None = None
        """The input kind of the first line, once known."""
        self.followed = 0
        self.proxy_dropped = 0
        self.failed: str | None = None
        """The error that ended following (one line, said as an error notice too)."""
        self._last_notice = 0.0
        self._open_line = False
        """The line recorded last is the first piece of a longer line, not ended yet."""
        self._source: RecordFile | None = None
        self._listener: socket.socket | None = None
        self._socket_path: str | None = None
        if target.startswith(SOCKET_PREFIX):
            self._socket_path = target[len(SOCKET_PREFIX) :]
            if not self._socket_path:
                raise CaptureError(f"{target}: no socket path after {SOCKET_PREFIX!r}")
            self._listener = _listen(self._socket_path)
        else:
            _check_path(target)
        self.stream = LineStream(
            target if self._listener is None else self._socket_path or target,
            self._stop,
            self._line,
            self._listener,
            lambda text: self._say("warning", text),
            self._caught_up,
        )

    def _say(self, level: str, text: str) -> None:
        if self._notify is not None:
            self._notify(level, text)

    def _fail(self, text: str) -> None:
        self.failed = text
        self._say("error", text)

    def _line(self, line: bytes, unended: bool) -> None:
        if self._record is not None:
            if not unended:
                self._record(line)
                self._open_line = not line.endswith(b"\n")  # a longer line goes on
            elif self._open_line or not cut_record(line):
                # A line without its own newline, whole (or the rest of a longer
                # one): a session's lines end with one. A record cut there (following
                # stopped, its writer went away) is not written: the session would
                # hold half of it.
                self._open_line = False
                self._record(line + b"\n")
        if line.startswith(STATUS_PREFIX):
            try:
                dropped = orjson.loads(line)["headerwatch_addon"]["dropped"]
            except (orjson.JSONDecodeError, KeyError, TypeError):
                return
            if isinstance(dropped, int) and dropped > self.proxy_dropped:
                self.proxy_dropped = dropped
                now = time.monotonic()
                if now - self._last_notice >= NOTICE_EVERY:
                    self._last_notice = now
                    self._say(
                        "warning",
                        f"the mitmproxy add-on dropped {counted(dropped, 'record')} so far "
                        "(nobody was reading, or headerwatch read too slowly)",
                    )

    def _caught_up(self) -> None:
        """Every line of the followed file read so far, none of them of its kind (JSON
        that is not records): say so now, as :func:`open_input` does of such a file,
        rather than once stopped; a writer that writes no record before its first
        lines will not start to. Raises :class:`CaptureError` then."""
        source = self._source
        if source is None or self.followed:
            return
        error = unreadable(source)
        if error is not None:
            raise CaptureError(error)

    def _read(self) -> None:
        try:
            head = self.stream.head(SNIFF_BYTES)
            if not head.strip():
                return
            # Looked up now: the table as it is (another input kind follows the same way).
            kinds = inputs.INPUTS
            kind = next((k for k in kinds if k.sniff(head)), None)
            if head.startswith(GZIP_MAGIC) and not self.stream.gzipped:
                # Only a regular file is read through gzip (whole): a FIFO or socket
                # carries lines as they come.
                self._fail(
                    f"{self.target}: gzip-compressed; a FIFO or socket is followed line by "
                    "line as written: send the lines uncompressed (zcat FILE into it)"
                )
                return
            if kind is None or kind.name == "capture":
                what = "a capture" if kind is not None else "not a record format headerwatch reads"
                gzip = " (gzip-compressed)" if self.stream.gzipped else ""
                self._fail(
                    f"{self.target}{gzip}: {what}; live --from follows records "
                    f"({'; '.join(k.what for k in kinds if k.followed)})"
                )
                return
            self.kind = kind.name
            try:
                opened = open_as(kind, self.target, self._stream_io())
            except NotLines:
                opened = None
            if not isinstance(opened, RecordFile):
                # A document (HAR) is whole only at its end: not lines to follow.
                self._fail(
                    f"{self.target}: {kind.what} cannot be followed (one document, not "
                    f"lines); read it with: headerwatch open {self.target}"
                )
                return
            self._source = opened
            for parsed in opened.requests():
                self._queue.put(parsed)
                self.followed += 1
            error = unreadable(opened)
            if error is not None:
                self._fail(error)
                return
            for line in after_reading(opened):
                self._say("warning", line)
        except CaptureError as exc:
            self._fail(str(exc))
        finally:
            self.stream.close()
            self._done.set()

    def _stream_io(self) -> IO[bytes]:
        stream: Any = self.stream
        result: IO[bytes] = stream
        return result

    def frames(self) -> Iterator[Parsed | None]:
        """Requests as they are written; ends once stopped and everything read is out."""
        self._thread = threading.Thread(
            target=self._read, name=f"follow:{self.target}", daemon=True
        )
        self._thread.start()
        get = self._queue.get
        get_nowait = self._queue.get_nowait
        while True:
            try:
                item = get_nowait()
            except queue.Empty:
                # Drained: say so before waiting, so that the runner hands over
                # what it holds now (its flush policy treats ``None`` as idle).
                yield None
                try:
                    item = get(timeout=HEARTBEAT)
                except queue.Empty:
                    if self._done.is_set() and self._queue.empty():
                        break
                    continue
            yield item
        self._close_listener()

    def _close_listener(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
            if self._socket_path is not None:
                with contextlib.suppress(OSError):
                    os.unlink(self._socket_path)

    @property
    def noun(self) -> tuple[str, str]:
        """What the requests it follows are called in what it follows (``HTTP events``
        in an eve.json): its kind's noun once the first line has told the kind,
        :data:`~capture.sources.records.RECORDS` until then."""
        source = self._source
        return source.noun if source is not None else RECORDS

    def none_read(self) -> list[str]:
        """For the summary line when no request was read (see
        :func:`capture.sources.inputs.none_read`): none of what it follows, in that
        kind's words, not in packets."""
        return [nothing_in(self.target, self.noun)]

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> None:
        """Wait for the reader thread to end."""
        if self._thread is not None:
            self._thread.join(timeout)

    def counters(self) -> dict[str, int]:
        out = {"followed": self.followed}
        if self.proxy_dropped:
            out["proxy_dropped"] = self.proxy_dropped
        if self._source is not None and self._source.bad_lines:
            out["bad_lines"] = self._source.bad_lines
        return out

    def current_time(self) -> float | None:
        """Wall-clock time: the records' times are the proxy's clock, now."""
        return time.time()
