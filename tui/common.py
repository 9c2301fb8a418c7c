"""Options and helpers shared by several commands."""

from __future__ import annotations

import argparse
from importlib import resources

from capture.pipeline import Detector

DEMO_CAPTURE = "demo-o2-2012.pcap"


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


def build_detector(args: argparse.Namespace) -> Detector | int | None:
    """The identity detector the options ask for; an exit code (2) after a config error.

    Until the identity module lands this returns None (no detection).
    """
    return None
