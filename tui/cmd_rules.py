"""``headerwatch rules``: the identity-header catalog, as a table or as other
engines' rules (Suricata, Zeek, Arkime)."""

from __future__ import annotations

import argparse
from typing import Any

from capture.identity.catalog import format_rules
from capture.identity.engine_rules import RULE_FORMATS, SID_BASE, SID_SPAN
from tui.common import add_identity_args, build_detector, take_notes


def register(sub: Any) -> None:
    """Add the ``rules`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "rules",
        help="list the identity headers headerwatch knows, or write them as engine rules",
        description="Print the catalog of identity headers (name, kind, severity, what it "
        "is), including headers added and rules disabled in the config file; or write it "
        "as rules for Suricata, Zeek or Arkime.",
    )
    p.add_argument("--sources", action="store_true", help="also print where each was documented")
    formats = "; ".join(f"{f.name}: {f.what}" for f in RULE_FORMATS.values())
    p.add_argument(
        "--format",
        choices=["table", *RULE_FORMATS],
        default="table",
        help=f"table: the catalog (default); {formats}. Suricata SIDs are "
        f"{SID_BASE:,}-{SID_BASE + SID_SPAN - 1:,}, stable per header",
    )
    add_identity_args(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run ``rules``."""
    detector = build_detector(args)
    # The catalog is printed, no traffic read: "numbers written nationally were not
    # read" (no region) would say something false of this command.
    take_notes()
    if args.format == "table":
        print(format_rules(detector.catalog, sources=args.sources), end="")
    else:
        print(RULE_FORMATS[args.format].write(detector.catalog), end="")
    return 0
