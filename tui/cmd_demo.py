"""``headerwatch demo``: the bundled January 2012 capture, replayed live through the dashboard.

The capture (``capture/data/demo-o2-2012.pcap``, built by
``scripts/make_demo_capture.py``) is replayed in real time (``--speed`` scales
it) through the same :class:`~capture.runner.Runner` and pipeline as a live
capture: no root, no phone.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from capture.sources.frames import CaptureError
from capture.sources.source import ReplaySource
from capture.view.selection import EXIT_USAGE
from tui.common import (
    DASHBOARD_RECURRENCE,
    DEMO_REGION,
    add_files_arg,
    add_head_arg,
    add_identity_args,
    add_redact_arg,
    build_detector,
    demo_capture_path,
)
from tui.launch import add_dashboard_args, check_view_args, run_dashboard


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.01 <= value <= 10_000:
        raise argparse.ArgumentTypeError("the speed factor must be between 0.01 and 10000")
    return value


def register(sub: Any) -> None:
    """Add the ``demo`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "demo",
        help="replay the bundled O2 UK 2012 capture live through the dashboard",
        description="Replay, in real time, a capture that reproduces January 2012: a phone "
        "browsing over O2 UK's proxy, which added x-up-calling-line-id with the "
        "subscriber's number to every plain-HTTP request, mixed with ordinary traffic, "
        "an app sending its IMEI and a Verizon-style X-UIDH. No root, no phone needed.",
    )
    p.add_argument(
        "--speed",
        type=_speed,
        default=1.0,
        metavar="X",
        help="replay speed factor (2 = twice as fast; default 1, real time)",
    )
    add_dashboard_args(p)
    add_redact_arg(p, "exports (x)")
    add_identity_args(p)
    add_files_arg(p)
    add_head_arg(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run ``demo``."""
    # The bundled capture is O2 UK's: its region is the capture's, not the locale's
    # (--region still wins).
    args.region = DEMO_REGION if args.region is None else args.region
    detector = build_detector(args, recurrence=DASHBOARD_RECURRENCE)
    keymap = check_view_args(args)
    path = demo_capture_path()
    try:
        source = ReplaySource(path, speed=args.speed, name="demo")
    except CaptureError as exc:
        print(f"headerwatch: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    name = "demo (O2 UK, Jan 2012)"
    if args.speed != 1:
        name += f" ×{args.speed:g}"
    # Saving a session (w) writes the demo's frames with the marks and comments.
    # Without a terminal: `headerwatch scan` alone scans the same bundled capture.
    return run_dashboard(
        source, detector, args, keymap, "headerwatch scan", source_name=name, session_paths=[path]
    )
