"""``headerwatch report INPUT... -o report.html``: an evidence report people can read."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from capture.text import escaping
from capture.view.selection import EXIT_OK, EXIT_USAGE
from tui.common import (
    DEMO_REGION,
    add_echo_key_arg,
    add_files_arg,
    add_head_arg,
    add_identity_args,
    build_detector,
    demo_capture_path,
)


def register(sub: Any) -> None:
    """Add the ``report`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "report",
        help="write an evidence report (HTML or Markdown) of captures, sessions or results",
        description="Read captures, sessions, JSONL records (from scan, live or reflect) or "
        "probe results, and write one report a reader understands without headerwatch: which "
        "identity went to which sites, in which header, added by whom; with the inputs' "
        "SHA-256, an exposure chart, what a reflector's echo shows was injected, what could "
        "not be inspected, the method and each finding's frame number. Identity values are "
        "masked unless --no-redact. Probe results (or --study) give a study: tests per "
        "network with injected / arrived with identity (a reflector's log) / clean / "
        "inconclusive verdicts. Without INPUT, the bundled "
        "demo capture (O2 UK, January 2012).",
    )
    p.add_argument(
        "inputs", nargs="*", metavar="INPUT", help="capture, session, JSONL or probe results"
    )
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="report.html or report.md")
    p.add_argument(
        "--format", choices=("html", "md"), help="report format (default: from the file name)"
    )
    p.add_argument(
        "--no-redact",
        dest="redact",
        action="store_false",
        help="write identity values as captured (the report then says it holds raw "
        "identities); by default they are masked as --redact masks them",
    )
    p.add_argument(
        "--study",
        action="store_true",
        help="aggregate the inputs per network as tests with verdicts (default when an "
        "input is probe results)",
    )
    p.add_argument(
        "--label",
        default="",
        metavar="TEXT",
        help="study: the network of records that carry no label (e.g. 'carrier=O2 UK')",
    )
    add_identity_args(p)
    add_echo_key_arg(p)
    add_files_arg(p)
    add_head_arg(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run ``report``."""
    from capture.report.write import (  # deferred: scan-like commands need none of it
        NothingRead,
        ReportError,
        format_of,
        make_report,
        read_inputs,
        render,
        write_report,
    )

    # Every message escaped: input names are the user's, or a capture's subject's.
    err = escaping(sys.stderr)
    inputs = args.inputs or [demo_capture_path()]
    if not args.inputs:
        # The bundled capture's, as demo reads it.
        args.region = DEMO_REGION if args.region is None else args.region
    # A report is derived, and replaces an earlier one; never the evidence it is made of.
    if any(_same_file(path, args.output) for path in inputs):
        print(f"headerwatch: error: {args.output} is an input; not replaced", file=err)
        return EXIT_USAGE
    try:
        fmt = format_of(args.output, args.format)
        detector = build_detector(args, inputs=inputs)
        read = read_inputs(inputs, detector, study=True if args.study else None)
        report, study = make_report(read, redact=args.redact, label=args.label, detector=detector)
        write_report(render(report, study, fmt), args.output)
    except NothingRead as exc:
        # As scan says them: the others' warnings, then each input error.
        for line in exc.warnings:
            print(f"headerwatch: warning: {line}", file=err)
        for line in exc.errors:
            print(f"headerwatch: error: {line}", file=err)
        return EXIT_USAGE
    except ReportError as exc:
        print(f"headerwatch: error: {exc}", file=err)
        return EXIT_USAGE
    for said, note in zip(read.notes, report.notes, strict=True):
        # How a session was made is no warning; what reading found amiss is.
        kind = "note" if said in read.made else "warning"
        print(f"headerwatch: {kind}: {note}", file=err)
    print(f"headerwatch: wrote {args.output} ({fmt}, {report.values}): {report.lead}", file=err)
    return EXIT_OK


def _same_file(one: str, other: str) -> bool:
    try:
        return os.path.samefile(one, other)
    except OSError:
        return False  # one of them is not there (or is stdin's "-")
