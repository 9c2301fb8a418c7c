"""``headerwatch live -i IFACE [-f BPF] [-w FILE.pcapng] [--format jsonl]``, and
``headerwatch live --from PATH`` (a proxy's records: :mod:`tui.live_follow`).

Without ``--format`` the dashboard shows the capture; with it, records stream to
stdout as they complete (a batch at a time, flushed) for ``jq``, scripts and CI,
and a summary line with the kernel and queue drops goes to stderr at the end.
SIGINT, SIGTERM and SIGHUP stop the capture cleanly: what the kernel already holds
is read, the queue drained and the pipeline flushed, so nothing captured is lost.
The dashboard stops on SIGTERM and SIGHUP as on ``q`` (:mod:`tui.stop_signals`),
and keeps a capture not saved (:func:`keep_unsaved`), as it does when an error
ends it (exit status 1; after its capture thread failed, q asks as always).

Order of start-up: check the interface and the filter (no privileges needed),
open the packet socket, drop root if started with sudo, then open the output
file (so that it belongs to the user). If root cannot be dropped, live stops
with one line saying why and how to fix it, unless ``--stay-root`` was given.

The dashboard can always save a session (``w``): from the ``-w`` recording, or,
without ``-w``, from a private spool (:mod:`capture.sources.spool`) made at the
same point as a ``-w`` file (after the drop, so it is the user's), bounded by
``--spool-max`` and removed when the dashboard exits. Spools that killed
dashboards left behind are named at the start (:func:`~capture.sources.spool.leftovers`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from importlib import import_module
from types import FrameType
from typing import Any, TextIO

from capture.config import ConfigError
from capture.formats.file_kinds import FILE_KINDS, kind_of
from capture.formats.outputs import STREAMING, formats_help, streaming
from capture.formats.pcapng import CaptureWriteError, PcapngWriter, describe_os_error
from capture.formats.redact import Redactor
from capture.formats.session import SessionInfo
from capture.model import Notice, Record, RequestSeen
from capture.pipeline import Detector, Pipeline
from capture.runner import Batch, Runner
from capture.scan_stop import repeated
from capture.sources.live.link import LiveError, NeedsPrivileges
from capture.sources.live.packet_socket import DEFAULT_RING, MIN_RING
from capture.sources.live.privileges import CannotDrop, drop_privileges
from capture.sources.live.source import DEFAULT_FILTER, LiveSource
from capture.sources.recording import RecordingSource
from capture.sources.source import FrameSource, halt_of
from capture.sources.spool import DEFAULT_LIMIT, Spool, leftover_notice, leftovers, size_text
from capture.text import counted, printable
from capture.view.selection import EXIT_FAILED, EXIT_USAGE, Selection
from capture.view.store import Store
from tui.common import (
    DASHBOARD_RECURRENCE,
    RECORDED_AS_IT_CAME,
    REDACTED_FROM_THEN_ON,
    UsageError,
    add_echo_key_arg,
    add_files_arg,
    add_head_arg,
    add_identity_args,
    add_redact_arg,
    build_detector,
    byte_size,
    config_of,
    dashboard_keys,
    no_terminal,
    not_redacted,
    output_failed,
    output_width,
    spool_max_of,
    spool_size,
    take_notes,
    tell,
)

PCAPNG_APP = None
"""Application name in the file's section header: None means "headerwatch VERSION"."""


def register(sub: Any) -> None:
    """Add the ``live`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "live",
        help="capture on a network interface, or follow a proxy's records (dashboard, or "
        "headless with --format)",
        description="Capture HTTP on a network interface (a phone's tether, a hotspot, a lab "
        "server), or follow the records of the mitmproxy add-on (--from), and show every "
        "request with the identities it carries. -i needs root or CAP_NET_RAW. Without "
        "--format the dashboard opens; with --format jsonl records stream to stdout as they "
        "complete.",
    )
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "-i",
        "--interface",
        metavar="IFACE",
        help="interface to capture on (headerwatch interfaces lists them)",
    )
    where.add_argument(
        "--from",
        dest="follow",
        metavar="PATH",
        help="follow records as they are written instead of capturing: the mitmproxy "
        "add-on's output (headerwatch mitmproxy-addon), a file (followed like tail -F), "
        "a FIFO, or unix:SOCKET (a socket headerwatch listens on); no privileges needed. "
        "-w FILE then records a session of records (JSONL) as they come",
    )
    p.add_argument(
        "-f",
        "--filter",
        metavar="BPF",
        help=f"kernel capture filter, tcpdump syntax (default: {DEFAULT_FILTER!r}, "
        "so HTTP on any port is seen)",
    )
    p.add_argument(
        "-w",
        "--write",
        metavar="FILE.pcapng",
        help="record the raw capture as it goes, into a new file (one that exists is "
        "refused, never overwritten; reopen with headerwatch open or Wireshark; w in the "
        "dashboard saves sessions from it); with --from, a session of records (JSONL, "
        "reopen with headerwatch open)",
    )
    p.add_argument(
        "--spool-max",
        type=spool_size,
        default=None,
        metavar="SIZE",
        help="dashboard without -w: the capture is kept in a private spool (a 0600 file in "
        "a 0700 directory under $XDG_RUNTIME_DIR or the temp dir, deleted at exit; when "
        "SIGTERM, SIGHUP or an error ends the dashboard with requests not saved, copied to "
        "the current directory first) so that w can save a session; when it reaches SIZE (default "
        f"{size_text(DEFAULT_LIMIT)}, or [live] spool_max in the config file; e.g. 200M, "
        "4G; 0: no spool) recording stops, the "
        "dashboard says from when requests cannot be saved, and capture goes on",
    )
    p.add_argument(
        "--buffer-size",
        type=_buffer_size,
        default=None,
        metavar="SIZE",
        help="-i: size of the kernel capture ring, and the bound of the queue between "
        f"capture and parsing, each (default {size_text(DEFAULT_RING)}: about a second "
        "at 20,000 packets/s; both count in memory; e.g. 64M to absorb longer stalls)",
    )
    p.add_argument(
        "--format",
        choices=STREAMING,
        default=None,
        help="no dashboard: print records to stdout as they complete ("
        + formats_help(STREAMING)
        + ")",
    )
    p.add_argument(
        "-p",
        "--no-promisc",
        action="store_true",
        help="do not put the interface in promiscuous mode",
    )
    p.add_argument(
        "--only-identity",
        action="store_true",
        help="headless: print only requests with identity findings",
    )
    p.add_argument(
        "--fail-on-identity",
        action="store_true",
        help="headless: exit with status 1 if any request carried an identity",
    )
    add_redact_arg(
        p, "--format output (each from the request it is first found in) and dashboard exports"
    )
    p.add_argument(
        "--stay-root",
        action="store_true",
        help="when started with sudo and root cannot be given back to you, capture as "
        "root anyway (without it, live stops and says how to fix it)",
    )
    add_identity_args(p)
    add_echo_key_arg(p)
    add_files_arg(p)
    add_head_arg(p)
    p.set_defaults(run=run)


LIVE_STORE_BYTES = 8 << 20
"""Requests the live dashboard keeps in memory (by ``record_size``); older ones are
spilled to the store's private file, never lost (``open`` keeps the store's default
64 MiB). Live, memory must hold at a sustained rate: at 20,000 packets/s
``bench/live_bench.py`` measured the dashboard's peak RSS at 198 MB with 64 MiB
and 139 MB with 8 MiB (a manual run with 16 MiB reached 150 MB); 8 MiB is still
about the request list's window of 5,000 rows of typical requests."""


def _buffer_size(text: str) -> int:
    size = byte_size(text)
    if size < MIN_RING:
        raise argparse.ArgumentTypeError(f"{text!r}: at least {size_text(MIN_RING)}")
    # The kernel does not refuse a ring larger than memory (ENOMEM, which the ring's
    # set-up halves on): it takes its pages until the OOM killer ends this process,
    # or another one. The ring and the queue each take SIZE.
    most = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 4
    if size > most:
        raise argparse.ArgumentTypeError(
            f"{text!r}: at most {size_text(most)}, a quarter of this machine's memory "
            "(the ring and the queue each take that much)"
        )
    return size


def spool_limit(args: argparse.Namespace) -> int:
    """``--spool-max``, else the config file's ``[live] spool_max``, else 1 GiB.

    Raises :class:`~tui.common.UsageError` when the config file is unusable (loading
    it checks ``[live]``: :func:`~tui.common.spool_max_of`).
    """
    chosen: int | None = getattr(args, "spool_max", None)
    if chosen is not None:
        return chosen
    try:
        configured = spool_max_of(config_of(args).section("live"))
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    return DEFAULT_LIMIT if configured is None else configured


def _error(message: str, err: TextIO) -> int:
    print(f"headerwatch: error: {message}", file=err)
    return EXIT_USAGE


# What -w writes, by whether --from is given: the raw capture as pcapng (a .pcap name
# is taken as tcpdump users give it: dumpcap and tshark -w write pcapng under it too),
# or a session of records (JSONL).
_WRITES = {
    False: (("pcapng", "pcap"), "live -i records the raw capture as pcapng", ".pcapng"),
    True: (("jsonl",), "live --from writes a session of records (JSONL)", ".jsonl"),
}


def write_name_problem(path: str, follow: bool) -> str | None:
    """Why ``-w path`` is refused (its suffix names another kind of file than the one
    ``live`` writes there, ``follow`` for ``--from``), or None."""
    suffix, kind = kind_of(path)
    kinds, what, ending = _WRITES[follow]
    if kind is None or kind in kinds:
        return None
    return f"{path}: {suffix} is for {FILE_KINDS[kind][1]}, but {what}: end the name with {ending}"


def unused_options(args: argparse.Namespace) -> str | None:
    """Why options given would change nothing here, in one line, or None: a capture's
    options given with ``--from`` (records are followed, no packet is captured), or
    the dashboard's spool given headless (``--format`` keeps none)."""
    if args.follow is not None:
        given = [
            flag
            for flag, value in (
                ("-f", args.filter),
                ("--buffer-size", args.buffer_size),
                ("--spool-max", args.spool_max),
            )
            if value is not None
        ]
        if given:
            return f"{', '.join(given)}: only with -i (live --from follows records, not packets)"
    elif args.format is not None and args.spool_max is not None:
        return "--spool-max: only for the dashboard (headless live keeps no spool; -w FILE records)"
    return None


def run(args: argparse.Namespace) -> int:
    """Run ``live``."""
    err = sys.stderr
    headless = args.format is not None
    app_module = None
    if not headless:
        why = no_terminal()
        if why is not None:
            return _error(
                f"{why}; without one, --format jsonl prints the requests as they come", err
            )
        try:
            app_module = import_module("tui.app")
        except ImportError as exc:
            return _error(f"the dashboard cannot start ({exc}); use --format jsonl", err)

    notices: list[Notice] = []
    notify_box: list[Any] = []

    def notify(level: str, text: str) -> None:
        if notify_box:
            notify_box[0](level, text)
        else:
            notices.append(Notice(level, text))

    problem = unused_options(args)
    if problem is not None:
        return _error(problem, err)
    if args.filter is None:
        args.filter = DEFAULT_FILTER
    if args.write:
        problem = write_name_problem(args.write, args.follow is not None)
        if problem is not None:
            return _error(problem, err)
        if args.redact:
            # The recording is the evidence: kept as it came, whatever is shared from it.
            notices.append(Notice("info", RECORDED_AS_IT_CAME.format(file=args.write)))

    if args.follow is not None:
        from tui.live_follow import run_follow

        return run_follow(args, app_module, notify, notices, notify_box)

    buffers: dict[str, int] = {}
    if args.buffer_size is not None:
        buffers = {"ring": args.buffer_size, "max_queue_bytes": args.buffer_size}
    source = LiveSource(
        args.interface, args.filter, promisc=not args.no_promisc, notify=notify, **buffers
    )
    try:
        source.check()
        source.open()
    except NeedsPrivileges as exc:
        return _error(str(exc), err)
    except LiveError as exc:
        return _error(str(exc), err)
    try:
        dropped = drop_privileges()
    except CannotDrop as exc:
        # Never root without being asked: a capture runs for hours on hostile input.
        if not args.stay_root:
            source.stop()
            return _error(f"{exc}; or pass --stay-root to capture as root anyway", err)
        dropped = None
        # Nothing is chowned: what root wrote stays root's, and the user must be told.
        notices.append(
            Notice(
                "warning",
                f"running as root (--stay-root): {exc}; the files it writes (-w, saved "
                "sessions, exports) belong to root, mode 0600: read them with sudo, or "
                "sudo chown them to you",
            )
        )
    if dropped is not None and not dropped.kept_capabilities:
        notices.append(
            Notice(
                "warning",
                f"running as {dropped.user} without CAP_NET_RAW: if {args.interface} is "
                "unplugged, headerwatch must be restarted",
            )
        )
    # After the drop, as the spool is made: spools that this user's dashboards left
    # when killed (SIGKILL, power lost) are named, never removed.
    left = leftovers()
    if left:
        notices.append(Notice("warning", leftover_notice(left)))
    # After the drop: the config file read is the user's, not root's.
    # The dashboard counts recurring tokens unless told not to; headless output, like
    # scan, only when asked (--recurrence N).
    try:
        detector = build_detector(args, recurrence=0 if headless else DASHBOARD_RECURRENCE)
        if not headless:
            args.spool_max = spool_limit(args)
            keys = dashboard_keys(args)
    except UsageError:
        source.stop()
        raise

    frames: FrameSource = source
    # What judged the findings, in the recording's section header as a session's: the
    # capture (kept on a signal, -w's file) reads back in the region it was watched in.
    judged = SessionInfo.judged_by(detector, source=f"live {source.iface}").to_comment()
    if args.write:
        try:
            frames = _recording(source, args.write, args, notify, judged)
        except CaptureWriteError as exc:
            source.stop()
            return _error(str(exc), err)

    if headless:
        recording = frames if isinstance(frames, RecordingSource) else None
        return headless_run(
            args,
            frames,
            detector,
            notices,
            notify_box,
            banner=f"listening on {source.iface} (filter {source.bpf!r}); Ctrl-C to stop",
            join=source.join,
            summary=drops_summary,
            stopped_recording=lambda: recording.reason if recording is not None else None,
        )
    assert app_module is not None
    # Like a -w file, the spool is made after the drop: it is the user's.
    with spooled(frames, source, args, notify, notices, judged) as (recorded, spool):
        return _dashboard(
            app_module, args, recorded, source, detector, notices, notify_box, spool, keys
        )


def _comment(args: argparse.Namespace) -> str:
    return f"headerwatch live -i {args.interface} -f {args.filter!r}"


def _recording(
    source: LiveSource, path: str, args: argparse.Namespace, notify: Any, judged: str
) -> RecordingSource:
    writer = PcapngWriter(path, comment=_comment(args), app=PCAPNG_APP, comments=(judged,))
    return RecordingSource(source, writer, path, notify=notify)


@contextlib.contextmanager
def spooled(
    frames: FrameSource,
    source: LiveSource,
    args: argparse.Namespace,
    notify: Any,
    notices: list[Notice],
    judged: str = "",
) -> Iterator[tuple[FrameSource, Spool | None]]:
    """``frames`` recorded into a new private spool of ``args.spool_max`` bytes (its
    section header saying what judged the findings, ``judged``: a session's metadata), and
    the spool, which is removed on leaving (unless :meth:`Spool.leave` was called);
    ``frames`` as they are, and None, when already recorded (``-w``) or
    ``--spool-max 0``. When no spool can be made, a notice says what that means."""
    if args.write or not args.spool_max:
        yield frames, None
        return
    spool = None
    try:
        spool = Spool(args.spool_max)
        recording: FrameSource = spool.recording(source, _comment(args), notify, judged)
    except (OSError, CaptureWriteError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        notices.append(
            Notice(
                "warning",
                f"no spool ({reason}): w saves its requests (JSONL), not the capture; use -w FILE",
            )
        )
        recording = frames
    try:
        yield recording, spool
    finally:
        if spool is not None:
            spool.remove()


def headless_run(
    args: argparse.Namespace,
    frames: FrameSource,
    detector: Detector | None,
    notices: list[Notice],
    notify_box: list[Any],
    *,
    banner: str,
    join: Callable[[float], None],
    summary: Callable[[dict[str, int]], str],
    none_read: Callable[[], Sequence[str]] = tuple,
    stopped_recording: Callable[[], str | None] = lambda: None,
) -> int:
    """Headless ``live`` (``--format``): records to stdout a batch at a time, notices
    and the summary line (``summary`` of the source's counters) to stderr; SIGINT,
    SIGTERM and SIGHUP stop it after what was read is written. ``none_read``: a
    source of records' words for none read (see
    :func:`capture.pipeline.summarize`), asked at the end. ``stopped_recording``:
    what stopped the ``-w`` recording (``disk full``), if something did, asked at
    the end; the file then lacks what came after, and the status is 2."""
    out = sys.stdout
    err = sys.stderr
    line, header = streaming(args.format, output_width())
    mask = Redactor.new(detector).record if args.redact else None

    def render(record: Record) -> str:
        return line(mask(record) if mask is not None else record)

    selection = Selection(args.only_identity)
    output_closed = False
    failed: list[str] = []

    def say(level: str, text: str) -> None:
        prefix = "" if level == "info" else f"{level}: "
        # Escaped: a notice names files and interfaces (a path given to --from may
        # hold ESC and OSC sequences that reached the terminal).
        tell(f"headerwatch: {prefix}{printable(text)}")

    notify_box.append(say)
    for notice in notices:
        say(notice.level, notice.text)
    for note in take_notes():  # now: a capture may run for hours
        print(note, file=err, flush=True)
    if mask is not None:
        print(REDACTED_FROM_THEN_ON, file=err, flush=True)

    def on_batch(batch: Batch) -> None:
        nonlocal output_closed
        lines = []
        for event in batch:
            if isinstance(event, RequestSeen):
                if selection.keep(event.record):
                    lines.append(render(event.record) + "\n")
            elif isinstance(event, Notice):
                say(event.level, event.text)
        if lines and not output_closed:
            try:
                out.write("".join(lines))
                out.flush()
            except OSError as exc:
                # The reader (jq, head) went away: stop quietly. A full disk: say so.
                output_closed = True
                message = output_failed(exc)
                if message is not None:
                    failed.append(message)
                    print(message, file=err, flush=True)
                frames.stop()

    # Headless output is requests only: parsing responses would be wasted work.
    pipeline = Pipeline(detector, responses=False)
    runner = Runner(frames, pipeline, on_batch)
    stopping = threading.Event()

    first: list[float] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if stopping.is_set():
            if signum == signal.SIGHUP or repeated(first[0]):
                # A terminal that goes away sends SIGHUP more than once, and timeout(1)
                # its signal twice at once: the first one, not a second Ctrl-C.
                return
            # A second Ctrl-C: the user does not want to wait for the drain.
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        first.append(time.monotonic())
        stopping.set()
        frames.stop()

    # SIGHUP too: an SSH session lost must not lose what was captured (nor a -w tail).
    stop_on = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, on_signal) for sig in stop_on}
    try:
        if header is not None:
            out.write(header + "\n")
            out.flush()
        say("info", banner)
        runner.start()
        while not runner.finished.wait(0.5):
            pass
        join(5.0)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    counters = runner.counters()
    tell(printable(f"headerwatch: {pipeline.summary(none_read())}; {summary(counters)}"))
    if failed:
        return EXIT_USAGE
    # Capture went on past it, but a script must not take the file for the whole
    # capture: the status says it is not, as for a write error on stdout.
    stopped = stopped_recording()
    if stopped is not None:
        tell(
            f"headerwatch: error: {args.write}: recording stopped ({stopped}); "
            "what was captured after it is not in the file"
        )
    halt = halt_of(frames)
    if halt is not None:  # its notice said when and why, as it happened
        tell(f"headerwatch: error: {halt.why}")
        return EXIT_FAILED
    if stopped is not None:
        return EXIT_USAGE
    return selection.exit_code(args.fail_on_identity, pipeline.identity_requests)


def drops_summary(counters: dict[str, int], recorded: str = "recorded") -> str:
    """What the capture itself saw and lost, for the final stderr line. ``recorded``:
    what became of the frames written (``-w``: recorded; the dashboard's spool says
    where they were, and that it goes)."""
    parts = [
        f"{counted(counters.get('captured', 0), 'frame')} captured",
        counted(counters.get("kernel_drops", 0), "kernel drop"),
        counted(counters.get("queue_drops", 0), "queue drop"),
    ]
    if counters.get("iface_drops"):
        parts.append(f"{counters['iface_drops']:,} dropped by the interface")
    if counters.get("unread_at_stop"):
        parts.append(f"{counters['unread_at_stop']:,} left unread at stop")
    if "recorded" in counters:
        parts.append(f"{counted(counters['recorded'], 'frame')} {recorded}")
    if "unrecorded" in counters:
        parts.append(f"{counters['unrecorded']:,} not recorded (spool full)")
    if "unwritten" in counters:
        parts.append(f"{counters['unwritten']:,} not recorded (write error)")
    return ", ".join(parts)


def dashboard(
    app_module: Any,
    frames: FrameSource,
    source: LiveSource,
    detector: Detector | None,
    redact: bool = False,
    written: bool = False,
    keys: tuple[dict[str, str], bool] | None = None,
) -> tuple[Any, Callable[[str, str], None]]:
    """The dashboard over a live capture, and the ``notify`` that shows the source's notices.

    ``notify`` runs in the capture thread; ``post_message`` is thread-safe and never
    blocks, so a notice ("eth1 is down; …") reaches the screen without stalling capture.
    When ``frames`` is a recording (``-w`` or the spool), ``w`` saves sessions from it;
    ``written``: it is the user's ``-w`` file (the capture is on disk: quitting does
    not ask about it). Else (``--spool-max 0``, or no spool could be made) the requests
    are nowhere but in the dashboard: as those of ``live --from``, ``w`` saves them as
    a session of records, quitting asks first, and a signal keeps them. ``keys``: the
    key remapping and ``confirm_quit`` (:func:`dashboard_keys`; None: the app reads
    the default config file's).
    """
    recording = frames if isinstance(frames, RecordingSource) else None
    keymap, confirm_quit = (None, None) if keys is None else keys
    app = app_module.HeaderwatchApp(
        frames,
        detector,
        store=Store(max_bytes=LIVE_STORE_BYTES),
        source_name=f"live {source.iface}",
        redact=redact,
        recording=recording,
        written=recording if written else None,
        record_session=recording is None,
        keymap=keymap,
        confirm_quit=confirm_quit,
    )
    events_arrived = import_module("tui.messages").EventsArrived

    def post(level: str, text: str) -> None:
        app.post_message(events_arrived([Notice(level, text)]))

    return app, post


def _dashboard(
    app_module: Any,
    args: argparse.Namespace,
    frames: FrameSource,
    source: LiveSource,
    detector: Detector | None,
    notices: list[Notice],
    notify_box: list[Any],
    spool: Spool | None = None,
    keys: tuple[dict[str, str], bool] | None = None,
) -> int:
    app, post = dashboard(
        app_module,
        frames,
        source,
        detector,
        redact=args.redact,
        written=bool(args.write),
        keys=keys,
    )
    notify_box.append(post)
    for notice in notices:
        post(notice.level, notice.text)
    try:
        code = app.run()
    finally:
        # Even if the app failed on its way out of a dead terminal: the spool is next.
        frames.stop()
        source.join(5.0)
        runner = getattr(app, "runner", None)
        if isinstance(runner, Runner):
            runner.finished.wait(5.0)
        # A capture not saved is kept when the dashboard ended without the user's say:
        # a signal, or an error that ended it. After q, even past a failed capture
        # thread (shown in the dashboard, w still saves), the user's answer stands.
        failure = app.failure
        why = app.ended_unasked()
        keep = why if spool is not None and why is not None and app.capture_unsaved() else None
        spool_kept = keep is not None
        # The spool's frames are no recording of the user's: "recorded" read as if
        # they had been kept somewhere. Where a kept capture goes, a line says next.
        recorded = "recorded" if spool is None else "in the spool"
        recorded += "" if spool is None or spool_kept else " (deleted on exit)"
        if isinstance(runner, Runner):
            drops = drops_summary(runner.counters(), recorded)
            summary = f"{runner.pipeline.summary()}; {drops}"
        else:
            summary = drops_summary({**source.counters(), **frames.counters()}, recorded)
        tell(f"headerwatch: {summary}")
        if spool is not None and keep is not None:
            keep_unsaved(spool, frames, keep, failed=failure is not None, redacted=args.redact)
        # The requests themselves, kept as live --from keeps them: with no spool, all of
        # them; after the spool filled, those it lacks.
        if app.kept:
            tell(f"headerwatch: {'error: ' if failure is not None else ''}{app.kept}")
        elif failure is not None and not spool_kept:
            tell(f"headerwatch: error: {failure}")
    return int(code or 0)


def keep_unsaved(
    spool: Spool, recording: FrameSource, why: str, failed: bool = False, redacted: bool = False
) -> None:
    """After the dashboard ended with requests not saved, ``why``: a signal stopped
    it (``stopped by SIGHUP``: an SSH session lost, a ``kill``) or, ``failed``, an
    error (``the dashboard failed (…)``, ``the capture thread failed (…)``). The
    capture is copied out of the spool, as a new private file in the current
    directory named as ``w`` names a session, or the spool is left where it is;
    stderr says where (when it is still there to be read)."""
    from tui.screens import default_name  # the dashboard has imported Textual already

    if isinstance(recording, RecordingSource):
        recording.close()  # flushed and closed: every frame recorded is in the file
    level = "error: " if failed else ""
    why = f"{why} with requests not saved"
    target = default_name("pcapng")
    try:
        spool.keep(target)
    except OSError as exc:
        spool.leave()
        tell(
            f"headerwatch: {level or 'warning: '}{why}; they could not be copied to {target} "
            f"({describe_os_error(exc)}) and stay in {spool.path}"
        )
        return
    tell(
        f"headerwatch: {level}{why}; the capture is kept in {target} (headerwatch open reopens it)"
        + (not_redacted(target) if redacted else "")
    )
