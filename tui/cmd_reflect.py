"""``headerwatch reflect``: the echo endpoint (server side of the sent-vs-received check)."""

from __future__ import annotations

import argparse
import signal
import sys
from typing import TYPE_CHECKING, Any

from capture.formats.outputs import OUTPUTS, STREAMING, formats_help, record_line_of
from capture.text import counted
from capture.view.selection import EXIT_OK, EXIT_USAGE, Selection
from tui.common import add_identity_args, build_detector

if TYPE_CHECKING:
    from capture.model import Record


def register(sub: Any) -> None:
    """Add the ``reflect`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "reflect",
        help="echo endpoint: answer every HTTP request with what the server received",
        description="Answer every plain-HTTP request with the request as it arrived (header "
        "block in the X-Headerwatch-Received response header, JSONL record as the body), and "
        "print each one with the identities it carries. Run it on a server the phone reaches; "
        "`headerwatch probe` and the dashboard compare its echo with what was sent.",
    )
    p.add_argument("--port", type=int, default=8080, help="TCP port (default 8080)")
    p.add_argument("--bind", default="", metavar="ADDR", help="address to listen on (default: all)")
    p.add_argument(
        "--format",
        choices=STREAMING,
        default="jsonl",
        help="what to print per request (" + formats_help(STREAMING) + ")",
    )
    p.add_argument(
        "--only-identity", action="store_true", help="print only requests with identity findings"
    )
    add_identity_args(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run ``reflect`` until interrupted."""
    # asyncio and the server load here, not whenever the command line is parsed.
    import asyncio

    from capture.lab.reflect import ReflectError, Reflector, serve

    detector = build_detector(args)
    render = record_line_of(args.format)
    header = OUTPUTS[args.format].header
    selection = Selection(args.only_identity)

    def show(record: Record) -> None:
        if selection.keep(record):
            print(render(record), flush=True)

    def ready(addresses: list[tuple[str, int]]) -> None:
        where = ", ".join(f"http://{'[' + h + ']' if ':' in h else h}:{p}/" for h, p in addresses)
        print(f"headerwatch: reflecting on {where} (Ctrl-C stops)", file=sys.stderr, flush=True)
        if header is not None:
            print(header, flush=True)

    reflector = Reflector(detector, show)
    try:
        # SIGTERM (systemd, timeout, kill) stops it as Ctrl-C does: with the summary.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        asyncio.run(serve(reflector, args.bind, args.port, ready))
    except ReflectError as exc:
        print(f"headerwatch: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        pass
    print(f"headerwatch: {counted(reflector.requests, 'request')} reflected", file=sys.stderr)
    return EXIT_OK
