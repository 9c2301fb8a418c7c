"""``headerwatch probe URL``: send requests to a reflector and show what was added."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from capture.formats.jsonl import dumps_json
from capture.model import identities_seen
from capture.text import counted
from capture.view.selection import EXIT_IDENTITY, EXIT_OK, EXIT_USAGE
from tui.common import add_echo_key_arg, add_identity_args, build_detector, output_failed, seconds


def register(sub: Any) -> None:
    """Add the ``probe`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "probe",
        help="send a request to `headerwatch reflect` and show what the network added",
        description="Send a plain-HTTP request with a browser-like header block (Host, "
        "User-Agent, Accept, Accept-Language, Accept-Encoding, Connection, Cache-Control and a "
        "Cookie with a fresh random token, after OONI's HTTP Header Field Manipulation test) to "
        "each reflector URL (through the tether) and compare it with what the reflector "
        "received: headers added, removed or changed on the way, each named, and the identities "
        "they carry, and headers moved out of the order sent (a proxy rebuilding the "
        "block). A URL may also be an httpbin-style JSON echo (e.g. http://HOST/headers): "
        "its verdict is weaker, because such an echo merges duplicate headers, loses their "
        "order and normalises name case. Exit status: 0 done; 1 with --fail-on-identity when "
        "any URL shows an injected identity, even if another URL could not be probed (stderr "
        "says so); 2 when no URL could be probed, or on a usage error.",
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
        type=seconds,
        default=10.0,
        metavar="S",
        help="deadline in seconds for each probe's whole exchange (default 10)",
    )
    p.add_argument(
        "--scramble-case",
        action="store_true",
        help="send the header names in random case (uSeR-aGeNT), as OONI's test does: a "
        "middlebox that re-cases them shows as 're-cased' even when it adds nothing",
    )
    p.add_argument(
        "--label",
        default="",
        metavar="TEXT",
        help="name the network tested, carried into each JSONL result for a study "
        "(`headerwatch report`), e.g. 'carrier=O2 UK, sim=prepaid'; 'net=wifi' marks a test "
        "over Wi-Fi (inconclusive)",
    )
    p.add_argument(
        "--fail-on-identity",
        action="store_true",
        help="exit with status 1 if an identity was injected on the way",
    )
    add_identity_args(p)
    add_echo_key_arg(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run ``probe``."""
    from capture.lab.probe import (  # only when probing
        ProbeError,
        describe,
        failure_to_dict,
        probe,
        result_to_dict,
    )

    detector = build_detector(args)
    failed = probed = injected = 0
    for url in args.urls:
        started = time.time()
        try:
            result = probe(url, detector, args.timeout, args.scramble_case, args.label)
        except ProbeError as exc:
            print(f"headerwatch: error: {exc}", file=sys.stderr)
            failed += 1
            if args.format == "jsonl":
                # A study counts a test without an echo as inconclusive: it must see it.
                failure = failure_to_dict(url, started, str(exc), args.label)
                if not _emit(dumps_json(failure).decode()):
                    return EXIT_USAGE
            continue
        probed += 1
        injected += identities_seen(result.findings)
        try:
            if args.format == "jsonl":
                print(dumps_json(result_to_dict(result)).decode(), flush=True)
            else:
                print("\n".join(describe(result)), flush=True)
        except OSError as exc:
            # `probe URL | head -1`: the reader left; stop quietly (no BrokenPipeError).
            message = output_failed(exc)
            if message is not None:
                print(message, file=sys.stderr)
                return EXIT_USAGE
            break
    return _status(args, probed, failed, injected)


def _emit(line: str) -> bool:
    """Print one line; False after a failed write that was reported."""
    try:
        print(line, flush=True)
    except OSError as exc:
        message = output_failed(exc)
        if message is not None:
            print(message, file=sys.stderr)
            return False
    return True


def _status(args: argparse.Namespace, probed: int, failed: int, injected: int) -> int:
    """The exit status: an identity found outweighs a URL that could not be probed."""
    if not probed:
        return EXIT_USAGE
    not_probed = f"{failed:,} of {counted(failed + probed, 'URL')} could not be probed"
    if args.fail_on_identity and injected:
        if failed:
            print(
                f"headerwatch: an identity was injected (exit 1), though {not_probed}",
                file=sys.stderr,
            )
        return EXIT_IDENTITY
    if failed:
        done = f"{counted(probed, 'URL')} {'was' if probed == 1 else 'were'} probed"
        print(f"headerwatch: {not_probed}; {done}", file=sys.stderr)
    return EXIT_OK
