"""``headerwatch probe URL``: send requests to a reflector and show what was added."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import orjson

from capture.view.selection import EXIT_IDENTITY, EXIT_OK, EXIT_USAGE
from tui.common import add_identity_args, build_detector, output_failed


def register(sub: Any) -> None:
    """Add the ``probe`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "probe",
        help="send a request to `headerwatch reflect` and show what the network added",
        description="Send a plain-HTTP request with a known header block to each reflector URL "
        "(through the tether) and compare it with what the reflector received: headers added, "
        "removed or changed on the way, and the identities they carry. A URL may also be an "
        "httpbin-style JSON echo (e.g. http://HOST/headers): its verdict is weaker, because such "
        "an echo merges duplicate headers, loses their order and normalises name case. Exit "
        "status: 0 done, 1 an identity was injected (with --fail-on-identity), 2 a URL could "
        "not be probed.",
    )
    p.add_argument(
        "urls",
        nargs="+",
        metavar="URL",
        help="http://HOST[:PORT]/ of a reflector, or of a JSON echo",
    )
    p.add_argument("--format", choices=("table", "jsonl"), default="table", help="output format")
    p.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="deadline in seconds for each probe's whole exchange (default 10)",
    )
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
        try:
            if args.format == "jsonl":
                print(orjson.dumps(result_to_dict(result)).decode(), flush=True)
            else:
                print("\n".join(describe(result)), flush=True)
        except OSError as exc:
            # `probe URL | head -1`: the reader left; stop quietly (no BrokenPipeError).
            message = output_failed(exc)
            if message is not None:
                print(message, file=sys.stderr)
                return EXIT_USAGE
            break
    if failed:
        return EXIT_USAGE
    if args.fail_on_identity and injected:
        return EXIT_IDENTITY
    return EXIT_OK
