"""Ctrl-C of a split scan (:mod:`capture.scan_jobs`): its processes all stop reading at
one place, so that their lines together are the scan of the input up to there, and the
summary added up from their trailers says what the output holds, as a single process's
does.

A process passes *stopping places*: the first record of each capture second (a
``TICK``; the place is the number of records read before it, counted over the
captures in turn), which every process passes, or the chunks of record files, which
are dealt among them in turn (the place is the chunk's number, counted over the files
in turn). At each one it notes the place in memory it shares with the parent, and
stops there when the place is past the one the parent chose. On Ctrl-C the parent
halts the processes (SIGSTOP), chooses the farthest place noted, and lets them go on
(SIGCONT). No process has passed a stopping place beyond the one it noted, so each
reads on to the first stopping place past the chosen one, or to its input's end if
there is none, and stops there: the same place for every process. Halted, a process
cannot be between noting its place and reading the choice, which is what lets it note
without a lock at each place.

A process still reading :data:`STOP_WAIT` seconds after Ctrl-C (one whose input has
no stopping place for that long, or that is stuck), or at a second Ctrl-C, is killed;
a third Ctrl-C is Python's (:class:`KeyboardInterrupt`).
"""

from __future__ import annotations

import contextlib
import mmap
import os
import signal
import threading
import time
from collections.abc import Iterator, Sequence

STOP_WAIT = 10.0
"""Seconds after Ctrl-C by which every process of a split scan must have stopped
reading; those that have not are killed (their counts are then lost)."""

SAME_SIGNAL = 0.5
"""Seconds within which a signal again is the first one delivered twice, not a second
Ctrl-C: coreutils' ``timeout`` (without ``--foreground``) sends its signal to the
command and then to the command's process group, so the command gets it twice at
once. Taken for a second Ctrl-C, the stop was cut short (the summary lost, exit 130,
in README's own ``timeout --preserve-status -s INT`` recipe, now and then)."""


def repeated(first: float) -> bool:
    """Whether a signal that comes now is the one that came at ``first`` (a
    :func:`time.monotonic` reading) delivered again."""
    return time.monotonic() - first < SAME_SIGNAL


class Stop:
    """Where the processes of a split scan stop reading, and whether they have (see
    the module's docstring). Made before the processes are forked; each sets
    :attr:`index` to its own number."""

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        # Anonymous and shared (mmap's default): the chosen place + 1 (0 while none
        # is), then each process's place, then whether each has stopped reading.
        self._memory = mmap.mmap(-1, 8 * (1 + 2 * jobs))
        self._places = memoryview(self._memory).cast("q")
        self.index = 0
        """The process this is (its shard's index)."""
        self.stopped = False
        """In a process: it stopped at a stopping place, before its input's end."""
        self.asked = False
        """In the parent: Ctrl-C came."""

    def past(self, place: int) -> bool:
        """In a process, at stopping place ``place``: note it; whether to stop here."""
        places = self._places
        places[1 + self.index] = place
        chosen = places[0]
        if chosen and place >= chosen:
            self.stopped = True
        return self.stopped

    def done(self) -> None:
        """In a process: it has read all it will (stopped, or at its input's end)."""
        self._places[1 + self.jobs + self.index] = 1

    @property
    def chosen(self) -> int:
        """The stopping place chosen at Ctrl-C: the processes read up to the first one
        after it (-1 before Ctrl-C)."""
        return self._places[0] - 1

    @contextlib.contextmanager
    def on_ctrl_c(self, pids: Sequence[int]) -> Iterator[None]:
        """While inside, in the parent: Ctrl-C (SIGINT) stops the processes ``pids`` (the
        ``i``-th is process ``i``) at one place, and :data:`STOP_WAIT` seconds later
        kills those still reading; a second Ctrl-C kills them at once. SIGINT is
        expected blocked on entry (:func:`held_ctrl_c`, while the processes were
        forked): one that came meanwhile is taken now. Ignored (``nohup``, or a
        shell's background job), it stays ignored."""
        main = threading.current_thread() is threading.main_thread()
        if not main or signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
            yield  # (no signal handler runs in another thread: the caller's is its own)
            return
        deadline = threading.Timer(STOP_WAIT, self._kill, (pids,))
        deadline.daemon = True

        first: list[float] = []

        def ctrl_c(signum: int, frame: object) -> None:
            if self.asked:
                if repeated(first[0]):
                    return
                self._kill(pids)
                signal.signal(signal.SIGINT, previous)
                return
            first.append(time.monotonic())
            self.asked = True
            self._choose(pids)
            deadline.start()

        previous = signal.signal(signal.SIGINT, ctrl_c)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)
            deadline.cancel()
            if self.asked:
                deadline.join()  # no kill after this: the processes are reaped next

    def _choose(self, pids: Sequence[int]) -> None:
        """Halt the processes, choose the farthest place noted, let them go on."""
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        for pid in pids:
            # Until it is halted (or has ended); WNOWAIT: it stays to be reaped.
            with contextlib.suppress(ChildProcessError):
                os.waitid(os.P_PID, pid, os.WSTOPPED | os.WEXITED | os.WNOWAIT)
        self._places[0] = max(self._places[1 : 1 + self.jobs]) + 1
        for pid in pids:
            os.kill(pid, signal.SIGCONT)

    def _kill(self, pids: Sequence[int]) -> None:
        """Kill the processes still reading (not yet reaped: their pids are theirs)."""
        for index, pid in enumerate(pids):
            if not self._places[1 + self.jobs + index]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def held_ctrl_c() -> Iterator[None]:
    """SIGINT blocked while inside (in this thread, and in processes forked inside,
    which unblock it themselves): a Ctrl-C that comes meanwhile waits, pending."""
    before = signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGINT])
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)
