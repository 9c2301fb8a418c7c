"""``headerwatch rules``: the identity-header catalog, as a table."""

from __future__ import annotations

import argparse
from typing import Any

from capture.identity.catalog import format_rules
from tui.common import add_identity_args, build_detector


def register(sub: Any) -> None:
    """Add the ``rules`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "rules",
        help="list the identity headers headerwatch knows, with their sources",
        description="Print the catalog of identity headers (name, kind, severity, what it "
        "is), including headers added and rules disabled in the config file.",
    )
    p.add_argument("--sources", action="store_true", help="also print where each was documented")
    add_identity_args(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run ``rules``."""
    detector = build_detector(args)
    print(format_rules(detector.catalog, sources=args.sources), end="")
    return 0
