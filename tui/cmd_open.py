"""``headerwatch open FILE...``: the dashboard over saved sessions and captures.

Files are read as fast as they can be by the same runner and pipeline as a live
capture; a progress bar shows how far, and the UI stays responsive because the
reading runs in its own thread and hands over batches.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from capture.sources.frames import CaptureError
from capture.sources.source import FileSource
from capture.view.selection import EXIT_USAGE
from tui.common import (
    DASHBOARD_RECURRENCE,
    add_echo_key_arg,
    add_files_arg,
    add_head_arg,
    add_identity_args,
    add_input_arg,
    add_redact_arg,
    build_detector,
)
from tui.launch import add_dashboard_args, check_view_args, run_dashboard


def register(sub: Any) -> None:
    """Add the ``open`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "open",
        help="open captures or saved sessions in the dashboard",
        description="Open pcap/pcapng captures (gzip too), saved headerwatch sessions, "
        "JSONL records written by headerwatch, HAR 1.2 files, Suricata eve.json or Zeek "
        "http.log in the dashboard. Marks and comments saved in a session come back.",
    )
    p.add_argument(
        "files", nargs="+", metavar="FILE", help="capture, session, JSONL, HAR or engine log"
    )
    add_input_arg(p)
    add_dashboard_args(p)
    add_redact_arg(p, "exports (x)")
    add_identity_args(p)
    add_echo_key_arg(p)
    add_files_arg(p)
    add_head_arg(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run ``open``."""
    if "-" in args.files:
        print(
            "headerwatch: error: open reads files; for stdin use: headerwatch scan -",
            file=sys.stderr,
        )
        return EXIT_USAGE
    detector = build_detector(args, recurrence=DASHBOARD_RECURRENCE, inputs=args.files)
    keymap = check_view_args(args)
    from tui.app import NoticeBox  # textual: only once a dashboard is sure to start

    box = NoticeBox()
    try:
        source = FileSource(args.files, notify=box, kind=args.input)
    except CaptureError as exc:
        print(f"headerwatch: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"headerwatch: error: {exc.filename}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    return run_dashboard(source, detector, args, keymap, session_paths=args.files, notice_box=box)
