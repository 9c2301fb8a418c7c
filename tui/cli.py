"""The ``headerwatch`` command line: one module per command, registered here."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from types import ModuleType

from capture.view.selection import EXIT_OK, EXIT_USAGE
from tui import (
    cmd_demo,
    cmd_interfaces,
    cmd_live,
    cmd_mitmproxy_addon,
    cmd_open,
    cmd_probe,
    cmd_reflect,
    cmd_report,
    cmd_rules,
    cmd_scan,
)
from tui.common import UsageError

# Each command module has ``register(subparsers)`` and ``run(args) -> int``.
COMMANDS: list[ModuleType] = [
    cmd_scan,
    cmd_rules,
    cmd_demo,
    cmd_open,
    cmd_live,
    cmd_interfaces,
    cmd_reflect,
    cmd_probe,
    cmd_mitmproxy_addon,
    cmd_report,
]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="headerwatch",
        description="See which websites receive your phone number: identity headers in HTTP.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``headerwatch`` script."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()  # plain `headerwatch`: what it can do, not an error
        return EXIT_OK
    try:
        code: int = args.run(args)
        return code
    except UsageError as exc:
        print(f"headerwatch: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
