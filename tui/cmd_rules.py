"""``headerwatch rules``: the identity-header catalog, as a table or as other
engines' rules (Suricata, Zeek, Arkime)."""

from __future__ import annotations

import argparse
from typing import Any

from capture.identity.catalog import format_rules
from capture.identity.engine_rules import RULE_FORMATS, SID_BASE, SID_SPAN
from tui.common import UsageError, add_config_arg, catalog_from_config, output_width


def register(sub: Any) -> None:
    """Add the ``rules`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "rules",
        help="list the identity headers headerwatch knows, or write them as engine rules",
        description="Print the catalog of identity headers (name, kind, severity, what it "
        "is), with the headers the config file adds and without those it disables; or "
        "write it as rules for Suricata, Zeek or Arkime.",
    )
    p.add_argument(
        "--sources",
        action="store_true",
        help="also print where each was documented (the table only)",
    )
    formats = "; ".join(f"{f.name}: {f.what}" for f in RULE_FORMATS.values())
    p.add_argument(
        "--format",
        choices=["table", *RULE_FORMATS],
        default="table",
        help=f"table: the catalog (default); {formats}. Suricata SIDs are "
        f"{SID_BASE:,}-{SID_BASE + SID_SPAN - 1:,}, stable per header",
    )
    # Only what changes what is printed: no traffic is read, so no canary, region or
    # recurrence has anything to act on.
    add_config_arg(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run ``rules``."""
    if args.sources and args.format != "table":
        # An engine's rules file has no place for them: said, not silently dropped.
        raise UsageError(
            f"--sources is a line under each header of the table; --format {args.format} writes "
            "rules without them (drop one of the two)"
        )
    catalog = catalog_from_config(args)
    if args.format == "table":
        print(format_rules(catalog, sources=args.sources, width=output_width()), end="")
    else:
        print(RULE_FORMATS[args.format].write(catalog), end="")
    return 0
