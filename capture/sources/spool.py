"""The dashboard's private spool: a live capture without ``-w`` is recorded anyway, so
that ``w`` can always save a session from it.

The spool is one pcapng file, ``capture.pcapng``, in a new directory made by
:func:`tempfile.mkdtemp` (mode 0700, its name ``headerwatch-spool-PID-XXXXXXXX``
with the process's id) under ``$XDG_RUNTIME_DIR`` when it is set and usable, else
the system's temporary directory; the file itself is created 0600
(:mod:`capture.formats.private`). Both belong to whoever creates them: ``live``
makes the spool after giving root back, as it opens a ``-w`` file.
:meth:`Spool.remove` deletes the directory when the dashboard exits: it is a
spool, and saving a session (``w``) is how to keep what it holds. A dashboard
that a signal or an error stopped with requests not saved keeps them
(:meth:`Spool.keep`, a copy where ``w`` would save, or :meth:`Spool.leave`, the
spool left in place); one killed outright (SIGKILL, or the machine losing power)
leaves the spool behind: :func:`leftovers` finds those of processes gone, for
the next ``live`` to name them (never to remove them: they hold the capture).

Its size is bounded by ``limit`` (:data:`DEFAULT_LIMIT`, ``live --spool-max``):
once full, recording stops with a notice naming the time from which requests
cannot be saved, capture goes on, and the frames left out are counted.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence

from capture.formats.pcapng import PcapngWriter
from capture.formats.private import create_new
from capture.sources.recording import RecordingSource
from capture.sources.source import FrameSource, Notify
from capture.text import counted

DEFAULT_LIMIT = 1 << 30
"""Largest spool file by default: 1 GiB."""

PREFIX = "headerwatch-spool-"
FILE_NAME = "capture.pcapng"

_NAME = re.compile(r"headerwatch-spool-([1-9][0-9]{0,9})-[a-z0-9_]+\Z")
"""A spool's directory: the prefix, the id of the process that made it, and what
mkdtemp adds (letters, digits, ``_``): nothing a terminal would obey."""

NAMED_LEFTOVERS = 3
"""Leftover spools named in full by :func:`leftover_notice`; the others are counted."""


def size_text(size: int) -> str:
    """``1 GiB``, ``512 MiB``, ``64 KiB``, ``900 bytes``: whole units when exact."""
    for shift, unit in ((30, "GiB"), (20, "MiB"), (10, "KiB")):
        if size >= 1 << shift:
            value = size / (1 << shift)
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return counted(size, "byte")


def spool_parent() -> str:
    """Where spools go: ``$XDG_RUNTIME_DIR`` if it is a directory we may write, else
    the system temporary directory."""
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if runtime and os.path.isdir(runtime) and os.access(runtime, os.W_OK | os.X_OK):
        return runtime
    return tempfile.gettempdir()


class Spool:
    """A private directory holding one capture file, removed by :meth:`remove`."""

    def __init__(self, limit: int = DEFAULT_LIMIT, parent: str | None = None) -> None:
        """Create the directory (raises :class:`OSError` when it cannot)."""
        self.limit = limit
        # The process's id in the name: a later live tells a spool left behind (its
        # process gone) from one in use (see leftovers).
        prefix = f"{PREFIX}{os.getpid()}-"
        self.directory = tempfile.mkdtemp(prefix=prefix, dir=parent or spool_parent())
        os.chmod(self.directory, 0o700)  # mkdtemp's mode already; said once more
        self.path = os.path.join(self.directory, FILE_NAME)
        self._left = False

    def full_notice(self, ts: float) -> str:
        """What the user is told when the spool is full at the frame of time ``ts``."""
        when = time.strftime("%H:%M:%S", time.localtime(ts))
        return (
            f"spool full at {size_text(self.limit)}: requests after {when} cannot be "
            "saved; use -w FILE to record everything"
        )

    def recording(
        self,
        source: FrameSource,
        comment: str = "",
        notify: Notify | None = None,
        judged: str = "",
    ) -> RecordingSource:
        """``source`` recorded into the spool, up to its limit (the writer may raise
        :class:`~capture.formats.pcapng.CaptureWriteError`); ``judged``, a session's
        metadata (``SessionInfo.to_comment``), goes in its section header."""
        writer = PcapngWriter(self.path, comment=comment, comments=(judged,) if judged else ())
        return RecordingSource(
            source, writer, self.path, notify=notify, limit=self.limit, full_notice=self.full_notice
        )

    def keep(self, target: str) -> None:
        """Copy the capture (its recording closed by the caller first, so that every
        frame is in it) to ``target``, a new private file (one that exists is refused:
        :func:`~capture.formats.private.create_new`), synced to disk. Raises
        :class:`OSError`, leaving no part of a copy behind."""
        fd = create_new(target)
        made = stat.S_ISREG(os.fstat(fd).st_mode)
        try:
            with open(fd, "wb") as out, open(self.path, "rb") as spooled:
                shutil.copyfileobj(spooled, out, 1 << 20)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            if made:
                with contextlib.suppress(OSError):
                    os.unlink(target)
            raise

    def leave(self) -> None:
        """Keep the spool where it is (its capture could be kept nowhere else):
        :meth:`remove` does nothing from now on."""
        self._left = True

    def remove(self) -> None:
        """Delete the spool and its directory (idempotent), unless :meth:`leave` was called."""
        if self._left:
            return
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(self.directory)


def leftovers(parents: Iterable[str] | None = None) -> list[str]:
    """The capture files of spools that processes now gone left in ``parents`` (by
    default where spools go: :func:`spool_parent` and the temporary directory), in
    the order of their paths.

    The temporary directory is shared with other users, who can make anything there
    under any name: only a directory (never a link to one) named as a spool is, of
    this user's, mode 0700, holding a regular file of this user's, counts. One whose
    process is alive (or whose number another process has taken since) is left
    unnamed: nothing here lists a spool in use. Nothing is opened or read."""
    if parents is None:
        parents = (spool_parent(), tempfile.gettempdir())
    found: list[str] = []
    for parent in dict.fromkeys(parents):
        try:
            names = os.listdir(parent)
        except OSError:
            continue
        for name in names:
            matched = _NAME.match(name)
            if matched is None or _alive(int(matched[1])):
                continue
            directory = os.path.join(parent, name)
            capture = os.path.join(directory, FILE_NAME)
            # Only looked at, never opened, read or removed: a path changed between
            # the two looks (no other user can, in a 0700 directory of ours in a
            # sticky /tmp) could at worst be named wrongly.
            if _ours(directory, stat.S_ISDIR, 0o700) and _ours(capture, stat.S_ISREG):
                found.append(capture)
    return sorted(found)


def _ours(path: str, kind: Callable[[int], bool], mode: int | None = None) -> bool:
    """Whether ``path`` itself (a link is not followed) is of ``kind``, this user's,
    and of exactly ``mode`` when one is given."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return (
        kind(st.st_mode)
        and st.st_uid == os.geteuid()
        and (mode is None or stat.S_IMODE(st.st_mode) == mode)
    )


def _alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (ours or another user's)."""
    try:
        os.kill(pid, 0)  # signal 0: only checked, never sent
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's: the number was taken again
    except (OverflowError, OSError):
        return True  # past what a process id can be: no spool of ours, never named
    return True


def leftover_notice(paths: Sequence[str]) -> str:
    """The line that names the spools :func:`leftovers` found and what to do with them."""
    named = ", ".join(paths[:NAMED_LEFTOVERS])
    if len(paths) > NAMED_LEFTOVERS:
        named += f" and {len(paths) - NAMED_LEFTOVERS} more beside them"
    if len(paths) == 1:
        return (
            f"a capture left by a live dashboard that was killed: {named} (headerwatch "
            "open reads it; move it elsewhere to keep it, then rm -r its directory)"
        )
    return (
        f"{len(paths)} captures left by live dashboards that were killed: {named} "
        "(headerwatch open reads one; move them elsewhere to keep them, then rm -r "
        "their directories)"
    )
