"""SIGTERM and SIGHUP stop a dashboard as ``q`` does, without asking.

Left to their default action they ended the process where it stood: the terminal
left in the dashboard's modes (a ``kill``), and the files it cleans up at exit left
on disk (the live spool, the store's spill), a closed SSH session or tmux window
(SIGHUP) included. While a dashboard runs, the first of them asks it to stop
instead; the command then ends as after ``q`` (terminal restored, files removed or,
for an unsaved live capture, kept: ``tui.cmd_live``), with exit status 128 + the
signal's number, as a shell reports a process that signal ended (143 for SIGTERM,
129 for SIGHUP; 130 is Ctrl-C's). Further ones are ignored from then on, so that
nothing cuts that stop short (a terminal that goes away sends SIGHUP more than
once); SIGKILL still ends the process at once.

After SIGHUP the terminal is gone, and writing to it fails (EIO). Textual's writer
thread dies of the first such error, and the app then waits forever to hand it the
lines that leave the dashboard's modes: :class:`HangupSafeDriver` writes through
:class:`GoneTerminal`, which drops what cannot be written instead.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any, TextIO

from textual.drivers.linux_driver import LinuxDriver

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def exit_status(signum: int) -> int:
    """The exit status of a dashboard that ``signum`` stopped."""
    return 128 + signum


@contextlib.contextmanager
def stopping_on_signals(stop: Callable[[int], None]) -> Iterator[None]:
    """While inside (in the main thread), the first SIGTERM or SIGHUP calls
    ``stop(signum)`` and both are ignored from then on, to the end of the process.
    ``stop`` runs in a signal handler, between two bytecodes of the main thread: it
    must only hand the stop on. Left without a signal, the previous handlers are
    put back."""
    received: list[int] = []

    def handler(signum: int, _frame: FrameType | None) -> None:
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        received.append(signum)
        stop(signum)

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        if not received:
            for sig, handler_before in previous.items():
                signal.signal(sig, handler_before)


class GoneTerminal:
    """The terminal as Textual's writer thread writes to it, what fails dropped (the
    terminal has gone: nothing written then can be seen)."""

    def __init__(self, terminal: TextIO) -> None:
        self._terminal = terminal

    def write(self, text: str) -> None:
        """Write ``text``, or drop it."""
        with contextlib.suppress(OSError, ValueError):
            self._terminal.write(text)

    def flush(self) -> None:
        """Flush, or drop what is buffered."""
        with contextlib.suppress(OSError, ValueError):
            self._terminal.flush()

    def fileno(self) -> int:
        """The terminal's descriptor."""
        return self._terminal.fileno()


class HangupSafeDriver(LinuxDriver):
    """Textual's terminal driver, its output written through :class:`GoneTerminal`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        terminal = getattr(self, "_file", None)  # where this Textual writes (sys.__stderr__)
        if terminal is not None:
            self._file = GoneTerminal(terminal)  # type: ignore[assignment] # write, flush, fileno
