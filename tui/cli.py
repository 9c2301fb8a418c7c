"""The ``headerwatch`` command line."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from importlib import resources

from capture.scan import EXIT_USAGE, FORMATS, scan

DEMO_CAPTURE = "demo-o2-2012.pcap"


def demo_capture_path() -> str:
    """Path of the capture bundled with the package (January 2012, O2 UK)."""
    return str(resources.files("capture") / "data" / DEMO_CAPTURE)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="headerwatch",
        description="See which websites receive your phone number: identity headers in HTTP.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p_scan = sub.add_parser(
        "scan",
        help="read captures and print one line per HTTP request",
        description="Read pcap/pcapng captures (gzip too; - for stdin) and print every "
        "HTTP request with the identities it carries. Without FILE, the bundled "
        "demo capture (O2 UK, January 2012) is scanned.",
    )
    p_scan.add_argument("files", nargs="*", metavar="FILE", help="capture file, or - for stdin")
    p_scan.add_argument("--format", choices=FORMATS, default="jsonl", help="output format")
    p_scan.add_argument(
        "--only-identity", action="store_true", help="print only requests with identity findings"
    )
    p_scan.add_argument(
        "--fail-on-identity",
        action="store_true",
        help="exit with status 1 if any request carries an identity",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``headerwatch`` script."""
    args = _parser().parse_args(argv)
    if args.command == "scan":
        files = args.files or [demo_capture_path()]
        if not args.files:
            print(f"headerwatch: scanning the bundled demo capture {files[0]}", file=sys.stderr)
        try:
            return scan(
                files,
                fmt=args.format,
                only_identity=args.only_identity,
                fail_on_identity=args.fail_on_identity,
            )
        except BrokenPipeError:
            # The reader (head, less) went away: not an error of ours.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 0
        except KeyboardInterrupt:
            return 130
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
