"""``headerwatch reflect``: the echo endpoint (server side of the sent-vs-received check)."""

from __future__ import annotations

import argparse
import dataclasses
from typing import TYPE_CHECKING, Any

from capture.formats.jsonl import reflector_line
from capture.formats.outputs import STREAMING, formats_help, streaming
from capture.http.echo_key import echo_key
from capture.text import counted
from capture.view.selection import EXIT_OK, EXIT_USAGE, Selection
from tui.common import (
    REDACTED_FROM_THEN_ON,
    add_echo_key_arg,
    add_files_arg,
    add_identity_args,
    add_redact_arg,
    build_detector,
    byte_size,
    note,
    output_width,
    take_notes,
    tcp_port,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from capture.model import Record


def register(sub: Any) -> None:
    """Add the ``reflect`` subcommand."""
    from capture.lab.limits import Limits  # no asyncio: the defaults live there

    d = Limits()
    p: argparse.ArgumentParser = sub.add_parser(
        "reflect",
        help="echo endpoint: answer every HTTP request with what the server received",
        description="Answer every plain-HTTP request with the request as it arrived (header "
        "block in the X-Headerwatch-Received response header; as the body, the JSONL record, "
        "or an HTML page for a browser), and print each one with the identities it carries. "
        "Run it on a server the phone reaches; `headerwatch probe` and the dashboard compare "
        "its echo with what was sent. Every limit below is counted, and the counts are "
        "printed to stderr periodically and at exit.",
    )
    p.add_argument(
        "--port",
        type=tcp_port,
        action="append",
        metavar="PORT",
        help="TCP port; repeat it for several, e.g. --port 80 --port 8080 (default 8080)",
    )
    p.add_argument("--bind", default="", metavar="ADDR", help="address to listen on (default: all)")
    p.add_argument(
        "--name",
        action="append",
        default=[],
        metavar="HOST",
        help="with --echo-key: a name or address clients reach this reflector by besides the "
        "one it listens on (its public address behind NAT, its DNS name; repeatable): only "
        "echoes of requests whose Host names it are signed",
    )
    p.add_argument(
        "--format",
        choices=STREAMING,
        default="jsonl",
        help="what to print per request (" + formats_help(STREAMING) + ")",
    )
    p.add_argument(
        "--only-identity", action="store_true", help="print only requests with identity findings"
    )
    p.add_argument(
        "--output",
        metavar="FILE",
        help="append records to FILE (created 0600, reopened on SIGHUP) instead of stdout",
    )
    p.add_argument(
        "--output-max",
        type=byte_size,
        metavar="SIZE",
        help="with --output: write no more records once FILE is SIZE (e.g. 2G), counting "
        "them, until SIGHUP reopens it (logrotate); records are never written past "
        "64 MiB from a full disk either (default: no size bound)",
    )
    p.add_argument(
        "--queue",
        type=int,
        default=10_000,
        metavar="N",
        help="records held for a slow output before they are dropped (default 10000)",
    )
    p.add_argument(
        "--stats-interval",
        type=float,
        default=60.0,
        metavar="S",
        help="seconds between summary lines on stderr, 0 for none (default 60)",
    )
    g = p.add_argument_group("limits")
    g.add_argument(
        "--max-connections",
        type=int,
        default=d.max_connections,
        metavar="N",
        help=f"open connections in total (default {d.max_connections}; lowered to fit the "
        "descriptor limit)",
    )
    g.add_argument(
        "--max-per-client",
        type=int,
        default=d.max_per_client,
        metavar="N",
        help=f"open connections per client address, IPv6 per /64 (default {d.max_per_client})",
    )
    g.add_argument(
        "--head-timeout",
        type=float,
        default=d.head_timeout,
        metavar="S",
        help=f"seconds for a whole request head, a deadline (default {d.head_timeout:g}): 408",
    )
    g.add_argument(
        "--body-timeout",
        type=float,
        default=d.body_timeout,
        metavar="S",
        help=f"seconds for a whole request body, a deadline (default {d.body_timeout:g}): 408",
    )
    g.add_argument(
        "--idle-timeout",
        type=float,
        default=d.idle_timeout,
        metavar="S",
        help=f"seconds a keep-alive connection may wait (default {d.idle_timeout:g})",
    )
    g.add_argument(
        "--max-head",
        type=byte_size,
        default=d.max_head,
        metavar="SIZE",
        help=f"largest request head (default {d.max_head >> 10}k, at most 64k): 431",
    )
    g.add_argument(
        "--max-body",
        type=byte_size,
        default=d.max_body,
        metavar="SIZE",
        help=f"largest request body, counted and discarded (default {d.max_body >> 20}M): 413",
    )
    g.add_argument(
        "--memory-budget",
        type=byte_size,
        default=d.memory_budget,
        metavar="SIZE",
        help=f"bytes buffered across all connections (default {d.memory_budget >> 20}M): 503",
    )
    add_redact_arg(
        p,
        "the records it prints or writes, each from the request it is first found in "
        "(the echo to each client stays as received)",
        # One key for the run: files reopened on SIGHUP share it (docs/formats.md).
        keyed="run",
    )
    add_identity_args(p)
    add_echo_key_arg(p, signs=True)
    add_files_arg(p)
    p.set_defaults(run=run)


def _err(line: str) -> None:
    from capture.lab.reflect import default_stderr

    default_stderr(line)


def run(args: argparse.Namespace) -> int:
    """Run ``reflect`` until interrupted (SIGINT, SIGTERM; SIGHUP without ``--output``)
    or until its output closes."""
    # asyncio and the server load here, not whenever the command line is parsed.
    import asyncio
    import math
    import signal

    from capture.lab.limits import Limits
    from capture.lab.reflect import (
        AcceptErrors,
        ReflectError,
        Reflector,
        descriptor_room,
        serve,
    )
    from capture.lab.sink import RecordSink

    try:
        limits = Limits(
            max_connections=args.max_connections,
            max_per_client=args.max_per_client,
            head_timeout=args.head_timeout,
            body_timeout=args.body_timeout,
            idle_timeout=args.idle_timeout,
            max_head=args.max_head,
            max_body=args.max_body,
            memory_budget=args.memory_budget,
        )
    except ValueError as exc:
        _err(f"headerwatch: error: {exc}")
        return EXIT_USAGE
    if args.queue < 1:
        _err("headerwatch: error: queue must be above 0")
        return EXIT_USAGE
    if args.output_max is not None and not args.output:
        _err("headerwatch: error: --output-max bounds the file of --output: give one")
        return EXIT_USAGE
    ports = args.port or [8080]
    again = next((port for i, port in enumerate(ports) if port in ports[:i]), None)
    if again is not None:
        # Bound twice, the second fails as a port some other program holds would.
        _err(f"headerwatch: error: --port {again} given twice; each port is listened on once")
        return EXIT_USAGE
    if not (args.stats_interval == 0 or 0 < args.stats_interval < math.inf):  # NaN fails
        _err("headerwatch: error: stats-interval must be 0 or a finite number above 0")
        return EXIT_USAGE
    # After the limits: --max-head's own bound (what probe reads) is said first.
    detector = build_detector(args)
    if args.name and echo_key() is None:
        # After the config file is read: its [echo] key is an echo key too.
        _err(
            "headerwatch: error: --name names the reflector whose echoes --echo-key signs: give one"
        )
        return EXIT_USAGE
    room = descriptor_room()
    if limits.max_connections > room:
        _err(
            f"headerwatch: the descriptor limit leaves room for {counted(room, 'connection')}; "
            f"--max-connections lowered from {limits.max_connections} (raise it with "
            "ulimit -n or LimitNOFILE=)"
        )
        limits = dataclasses.replace(limits, max_connections=room)
    # A table fits the terminal it is printed on; appended to a file, fixed columns.
    plain, header = streaming(args.format, None if args.output else output_width())
    marked = args.format == "jsonl"
    mask: Callable[[Record], Record] | None = None
    if args.redact:
        from capture.formats.redact import Redactor  # hashlib and hmac: only to redact

        # One key for the run. Only the writer thread renders, so only it touches the
        # redactor's pseudonym tables; the echo each client gets is built apart from
        # the records and keeps what arrived.
        mask = Redactor.new(detector).record

    def render(record: Record) -> str:
        if mask is not None:
            record = mask(record)
        # A JSONL record says it is the request as a reflector received it: the
        # evidence a study (report --study) judges such a log by.
        return reflector_line(plain(record)) if marked else plain(record)

    selection = Selection(args.only_identity)
    stopped_by_output: list[str | None] = []
    loop_box: list[asyncio.AbstractEventLoop] = []
    stop_box: list[asyncio.Event] = []

    def output_closed(reason: str | None) -> None:
        # Called from the writer thread: hand the stop to the loop.
        stopped_by_output.append(reason)
        if loop_box and stop_box:
            loop_box[0].call_soon_threadsafe(stop_box[0].set)

    try:
        sink: RecordSink[Record] = RecordSink(
            render, args.output, args.queue, output_closed, max_bytes=args.output_max
        )
    except OSError as exc:
        from capture.formats.pcapng import describe_os_error  # a rare path

        _err(f"headerwatch: error: {args.output}: {describe_os_error(exc)}")
        return EXIT_USAGE

    def show(record: Record) -> None:
        if selection.keep(record):
            sink.submit(record)

    names = tuple(name.lower().strip("[]") for name in args.name)
    if echo_key() is not None:
        # Said at the start: an echo left unsigned otherwise looks like a wrong key.
        given = ", ".join(names) if names else "none given"
        note(
            "headerwatch: note: echoes are signed only for requests whose Host names this "
            f"reflector: the address a request comes in on, or a --name ({given})"
        )
    reflector = Reflector(detector, show, limits, echo_key=echo_key(), names=names)
    counters = reflector.counters

    def summary() -> str:
        dropped = ""
        if sink.dropped:
            dropped = f"; {counted(sink.dropped, 'record')} dropped (output too slow)"
        if sink.lost:
            # Requests answered after the output failed (or in the write it failed in):
            # reflected, and in no file.
            dropped += f"; {counted(sink.lost, 'record')} not recorded (output stopped)"
        if sink.unrecorded:
            # Answered, and not in the file: said with why, and while the file is still
            # full, how writing goes on.
            # list() in one step: the writer thread may add a why meanwhile.
            reasons = list(sink.unrecorded_by.items())
            why = ", ".join(f"{n:,} {reason}" for reason, n in reasons)
            dropped += f"; {counted(sink.unrecorded, 'record')} not recorded ({why})"
            if sink.full_because:
                dropped += "; the file is full: SIGHUP after rotating it writes again"
        return f"headerwatch: {counters.summary()}{dropped}"

    # As it starts, nothing has happened: the first tick of an idle reflector is quiet.
    last: list[str] = [summary()]

    def stats() -> None:
        line = summary()
        if last[0] != line:  # quiet when nothing happened
            _err(line)
            last[:] = [line]

    def ready(addresses: list[tuple[str, int]]) -> None:
        where = ", ".join(f"http://{'[' + h + ']' if ':' in h else h}:{p}/" for h, p in addresses)
        _err(f"headerwatch: reflecting on {where} (Ctrl-C stops)")
        for line in take_notes():  # now, not at the exit of a server that runs for days
            _err(line)
        if args.redact:
            _err(REDACTED_FROM_THEN_ON)
        if header is not None:
            sink.line(header)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        loop_box.append(loop)
        stop_box.append(stop)
        if stopped_by_output:
            stop.set()
        loop.set_exception_handler(AcceptErrors(counters, _err))
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        # SIGHUP asks for the output file to be reopened (logrotate). Without one it
        # means what it means to `live`: the terminal is gone (an SSH session lost,
        # tmux kill-session), and a reflector left listening there has no one to tell.
        loop.add_signal_handler(signal.SIGHUP, sink.reopen if args.output else stop.set)
        await serve(reflector, args.bind, ports, ready, stop, stats, args.stats_interval)

    try:
        asyncio.run(main())
    except ReflectError as exc:
        _err(f"headerwatch: error: {exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        pass
    if stopped_by_output:
        reason = stopped_by_output[0]
        _err(f"headerwatch: {reason or 'stdout closed'}; stopping")
    # The writer drains the queue either way: what it could not write is then counted.
    sink.close()
    _err(summary())
    return EXIT_USAGE if stopped_by_output and stopped_by_output[0] else EXIT_OK
