"""The ``headerwatch`` command line: one module per command, registered here."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from types import ModuleType

from tui import (
    cmd_demo,
    cmd_interfaces,
    cmd_live,
    cmd_open,
    cmd_probe,
    cmd_reflect,
    cmd_rules,
    cmd_scan,
)

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
]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="headerwatch",
        description="See which websites receive your phone number: identity headers in HTTP.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``headerwatch`` script."""
    args = _parser().parse_args(argv)
    try:
        code: int = args.run(args)
        return code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
