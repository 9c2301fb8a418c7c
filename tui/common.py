"""Options and helpers shared by several commands."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from importlib import resources

from capture.config import ConfigError, load_config, merge_identity
from capture.formats.pcapng import describe_errno
from capture.identity.detector import IdentityDetector

DEMO_CAPTURE = "demo-o2-2012.pcap"
DASHBOARD_RECURRENCE = 3
"""Sites a token must reach to be a supercookie, in the dashboard (``--recurrence``)."""


def demo_capture_path() -> str:
    """Path of the capture bundled with the package (January 2012, O2 UK)."""
    return str(resources.files("capture") / "data" / DEMO_CAPTURE)


def add_identity_args(parser: argparse.ArgumentParser) -> None:
    """``--region``, ``--msisdn``, ``--imei``, ``--imsi``, ``--canary``, ``--config``."""
    group = parser.add_argument_group("identity detection")
    group.add_argument("--region", metavar="CC", help="region for national phone numbers (e.g. GB)")
    group.add_argument(
        "--msisdn",
        action="append",
        default=[],
        metavar="N",
        help="the test phone's number (repeatable)",
    )
    group.add_argument(
        "--imei",
        action="append",
        default=[],
        metavar="N",
        help="the test phone's IMEI (repeatable)",
    )
    group.add_argument(
        "--imsi",
        action="append",
        default=[],
        metavar="N",
        help="the test phone's IMSI (repeatable)",
    )
    group.add_argument(
        "--canary",
        action="append",
        default=[],
        metavar="VALUE",
        help="any other value that belongs to the test phone (repeatable)",
    )
    group.add_argument("--config", metavar="FILE", help="config file (default: user config dir)")
    group.add_argument(
        "--recurrence",
        type=_sites,
        metavar="N",
        help="report an opaque token sent unchanged under one name to N or more sites "
        "(registrable domains) as a tracking ID, whatever its name: a supercookie "
        "no catalog lists; 0 turns it off (default: 3 in the dashboard, off in scan)",
    )


class UsageError(Exception):
    """The options or the config file cannot be used; ``str()`` is one line for the
    user. :func:`tui.cli.main` prints it and exits with status 2."""


def _sites(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value != 0 and value < 2:
        raise argparse.ArgumentTypeError(f"not 0 or a number of sites from 2 up: {text!r}")
    return value


def build_detector(args: argparse.Namespace, recurrence: int = 0) -> IdentityDetector:
    """The identity detector the options and the config file ask for.

    ``recurrence``: the command's default for ``--recurrence`` (3 for the dashboard).

    Raises :class:`UsageError` when the config file or an option is unusable.
    """
    try:
        config = load_config(args.config)
        identity = merge_identity(
            config.identity,
            region=args.region,
            msisdns=tuple(args.msisdn),
            imeis=tuple(args.imei),
            imsis=tuple(args.imsi),
            canaries=tuple(args.canary),
        )
        chosen = getattr(args, "recurrence", None)
        identity = replace(identity, recurrence=recurrence if chosen is None else chosen)
        return IdentityDetector(identity)
    except (ConfigError, ValueError) as exc:
        raise UsageError(str(exc)) from None


def output_failed(exc: OSError) -> str | None:
    """Stop writing to stdout after ``exc``; return the one-line error to print, or
    None when the reader (head, less, jq) went away, which is not an error."""
    # Later writes, and the interpreter's final flush, go nowhere instead of failing.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    if isinstance(exc, BrokenPipeError):
        return None
    reason = describe_errno(exc.errno, exc.strerror or str(exc))
    return f"headerwatch: error: cannot write the output: {reason}"
