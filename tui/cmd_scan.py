"""``headerwatch scan``: captures in, one line per request out."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
import time
from collections.abc import Iterator
from types import FrameType
from typing import Any

from capture.formats.outputs import OUTPUTS, formats_help
from capture.formats.table import narrowest
from capture.scan import scan
from capture.scan_stop import repeated
from capture.view.selection import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from tui.common import (
    DEMO_REGION,
    add_echo_key_arg,
    add_head_arg,
    add_identity_args,
    add_input_arg,
    add_redact_arg,
    build_detector,
    demo_capture_path,
    output_failed,
    output_width,
    whole_number,
)


def register(sub: Any) -> None:
    """Add the ``scan`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "scan",
        help="read captures and print one line per HTTP request",
        description="Read pcap/pcapng captures (- for stdin), JSONL records "
        "written by headerwatch, HAR 1.2 files (browsers, mitmproxy), Suricata eve.json or "
        "Zeek http.log, each gzip-compressed too, and print every HTTP request with the "
        "identities it carries (found again, with today's catalog and options). Logs on "
        "stdin are read as they come (tail -F eve.json | headerwatch scan --input "
        "suricata -). Without FILE, the "
        "bundled demo capture (O2 UK, January 2012) is scanned.",
    )
    p.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="capture, JSONL, HAR or engine log, or - for stdin",
    )
    add_input_arg(p)
    p.add_argument(
        "--format",
        choices=list(OUTPUTS),
        default="jsonl",
        help=formats_help(OUTPUTS),
    )
    p.add_argument(
        "--width",
        type=_width,
        metavar="N",
        help="lay the table out for N columns (default: the terminal's width when "
        "printing to a terminal, fixed columns into a file or pipe; 0: fixed columns)",
    )
    p.add_argument(
        "--only-identity", action="store_true", help="print only requests with identity findings"
    )
    p.add_argument(
        "--fail-on-identity",
        action="store_true",
        help="exit with status 1 if any request carries an identity",
    )
    p.add_argument(
        "--jobs",
        type=_positive,
        metavar="N",
        help="processes to scan with (default: one per CPU, up to 4, for JSONL from "
        "pcap files and logs over 32 MB; the output is the same as with --jobs 1)",
    )
    add_redact_arg(p, "the output (for sharing)")
    add_identity_args(p)
    add_echo_key_arg(p)
    add_head_arg(p)
    p.set_defaults(run=run)


_positive = whole_number("a positive number", lambda n: n >= 1)
# Narrower than the table's narrowest rows, every row would wrap.
_width = whole_number(
    f"0 or {narrowest()} to 10000 columns", lambda n: n == 0 or narrowest() <= n <= 10_000
)


def run(args: argparse.Namespace) -> int:
    """Run ``scan``."""
    files = args.files or [demo_capture_path()]
    if not args.files:
        # The bundled capture's, as demo reads it.
        args.region = DEMO_REGION if args.region is None else args.region
    # Built first: a bad option is its one line of error, with no banner before it.
    detector = build_detector(args, inputs=files)
    if not args.files:
        print(f"headerwatch: scanning the bundled demo capture {files[0]}", file=sys.stderr)
    jobs = args.jobs
    if detector.counts_recurrence and (jobs or 0) != 1:
        # Each process of a split scan sees only its share of connections: a token's
        # sites must all be counted in one.
        jobs = 1
    try:
        with stopping_as_ctrl_c() as received:
            code = scan(
                files,
                fmt=args.format,
                detector=detector,
                only_identity=args.only_identity,
                fail_on_identity=args.fail_on_identity,
                jobs=jobs,
                redact=args.redact,
                width=output_width(args.width),
                kind=args.input,
            )
        # Stopped by SIGTERM or SIGHUP: the status a shell gives a process it ended.
        return 128 + received[0] if code == EXIT_INTERRUPTED and received else code
    except OSError as exc:
        # Writing stdout (reading errors end a capture early, with a warning).
        message = output_failed(exc)
        if message is None:
            return EXIT_OK
        print(message, file=sys.stderr)
        return EXIT_USAGE


@contextlib.contextmanager
def stopping_as_ctrl_c() -> Iterator[list[int]]:
    """While inside (in the main thread), SIGTERM and SIGHUP stop the scan as Ctrl-C
    does: what was read is written, with its summary (their default action ended the
    process with its output still buffered: `kill`, `timeout`, systemd and CI lost
    every request read). Each is handed to whichever handler Ctrl-C has (a split
    scan's stops every process at one place). Ctrl-C's own, here, stops once: a
    signal again within :data:`~capture.scan_stop.SAME_SIGNAL` (SIGTERM, then Ctrl-C
    a moment later; or `timeout`'s, delivered twice) is the same stop, where it ended
    the process before its summary. The list given holds the signals received, for
    the exit status. Where Ctrl-C is ignored (a script's background job, nohup), all
    are left as they were: handed on, SIGTERM would be ignored with it."""
    received: list[int] = []
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    ):
        yield received
        return
    first: list[float] = []

    def ctrl_c(signum: int, _frame: FrameType | None) -> None:
        if first and repeated(first[0]):
            return  # the stop under way
        first[:] = [time.monotonic()]
        raise KeyboardInterrupt

    def handler(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        on_int = signal.getsignal(signal.SIGINT)
        if callable(on_int):
            on_int(signal.SIGINT, frame)

    stops = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {
        sig: signal.signal(sig, ctrl_c if sig == signal.SIGINT else handler) for sig in stops
    }
    try:
        yield received
    finally:
        for sig, before in previous.items():
            signal.signal(sig, before)
