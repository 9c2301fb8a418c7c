"""``headerwatch probe URL``: send requests to a reflector and show what was added."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import orjson

from capture.view.selection import EXIT_IDENTITY, EXIT_OK, EXIT_USAGE
from tui.common import add_identity_args, build_detector


def register(sub: Any) -> None:
    """Add the ``probe`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "probe",
        help="send a request to `headerwatch reflect` and show what the network added",
        description="Send a plain-HTTP request with a known header block to each reflector URL "
        "(through the tether) and compare it with what the reflector received: headers added, "
        "removed or changed on the way, and the identities they carry.",
    )
    p.add_argument("urls", nargs="+", metavar="URL", help="http://HOST[:PORT]/ of a reflector")
    p.add_argument("--format", choices=("table", "jsonl"), default="table", help="output format")
    p.add_argument("--timeout", type=float, default=10.0, metavar="S", help="seconds per probe")
    p.add_argument(
        "--fail-on-identity",
        action="store_true",
        help="exit with status 1 if an identity was injected on the way",
    )
    add_identity_args(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run ``probe``."""
    from capture.lab.probe import ProbeError, describe, probe, result_to_dict  # only when probing

    detector = build_detector(args)
    failed = injected = 0
    for url in args.urls:
        try:
            result = probe(url, detector, args.timeout)
        except ProbeError as exc:
            print(f"headerwatch: error: {exc}", file=sys.stderr)
            failed += 1
            continue
        injected += len(result.identities)
        if args.format == "jsonl":
            print(orjson.dumps(result_to_dict(result)).decode(), flush=True)
        else:
            print("\n".join(describe(result)), flush=True)
    if failed:
        return EXIT_USAGE
    if args.fail_on_identity and injected:
        return EXIT_IDENTITY
    return EXIT_OK
