"""The ``headerwatch`` command line: one module per command, registered here."""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

# Each command module has ``register(subparsers)`` and ``run(args) -> int``; listed by
# name, in the order of the help, and imported only when its command is parsed: a
# scan must not pay for the dashboard, live capture or the lab (a tenth of its
# start-up when all were imported).
COMMANDS: dict[str, str] = {
    "scan": "tui.cmd_scan",
    "rules": "tui.cmd_rules",
    "demo": "tui.cmd_demo",
    "open": "tui.cmd_open",
    "live": "tui.cmd_live",
    "interfaces": "tui.cmd_interfaces",
    "reflect": "tui.cmd_reflect",
    "probe": "tui.cmd_probe",
    "mitmproxy-addon": "tui.cmd_mitmproxy_addon",
    "report": "tui.cmd_report",
}


class _Parser(argparse.ArgumentParser):
    """A parser whose mistakes are one line, as every other error of the command line:
    ``headerwatch probe: error: unrecognized arguments: --regoin (see headerwatch probe
    --help)``, status 2. argparse's own put the whole usage block first, in which the
    error was the last line of many."""

    def error(self, message: str) -> NoReturn:
        """Print ``message`` on one line, naming the command and its help, and exit 2."""
        from capture.text import printable  # the error path only

        # A word of the command line may hold a newline or an escape sequence.
        self.exit(2, f"{self.prog}: error: {printable(message)} (see {self.prog} --help)\n")


class _Version(argparse.Action):
    """``--version``: what to cite with a finding, the tool's version and the identity
    catalog it judged by (its hash), read only when asked (importlib.metadata and the
    catalog are start-up a scan does not need)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help=str(kwargs.get("help", "")))

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        from capture.version import catalog_version, tool_version

        print(f"headerwatch {tool_version()} (identity catalog: {catalog_version()})")
        parser.exit()


def _parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser: with ``command``, that command's alone (the only
    one a command line naming it can reach), else all of them."""
    return _parsers(command)[0]


def _parsers(
    command: str | None = None,
) -> tuple[argparse.ArgumentParser, Mapping[str, argparse.ArgumentParser]]:
    """:func:`_parser`, and each command's own parser by its name."""
    parser = _Parser(
        prog="headerwatch",
        description="See which websites receive your phone number: identity headers in HTTP.",
    )
    parser.add_argument(
        "--version",
        action=_Version,
        help="print headerwatch's version and its identity catalog's, and exit",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, module in COMMANDS.items():
        if command is None or name == command:
            importlib.import_module(module).register(sub)
    return parser, sub.choices


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``headerwatch`` script."""
    words = sys.argv[1:] if argv is None else list(argv)
    # Only the first word can name the command: the top-level parser has no option
    # that takes a value, so any other first word gets the full parser (and help).
    command = words[0] if words and words[0] in COMMANDS else None
    # The modules, classes and tables made now live as long as the process: the
    # collector would only walk them again and again (7% of a scan's start-up), and
    # once frozen, every later collection (and the one at exit) passes over them.
    collecting = gc.isenabled()
    gc.disable()
    try:
        from capture.view.selection import EXIT_OK, EXIT_USAGE
        from tui.common import UsageError, take_notes

        parser, commands = _parsers(command)
    finally:
        gc.freeze()
        if collecting:
            gc.enable()
    args, unknown = _parse(parser, commands.get(command or ""), words)
    if unknown:
        # argparse would name the top-level parser ("headerwatch: error: ..."); the
        # command's own help is where the options it takes are listed.
        commands.get(args.command, parser).error("unrecognized arguments: " + " ".join(unknown))
    if args.command is None:
        parser.print_help()  # plain `headerwatch`: what it can do, not an error
        return EXIT_OK
    try:
        code: int = args.run(args)
    except UsageError as exc:
        from capture.text import printable  # the error path only

        print(f"headerwatch: error: {printable(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        code = 130
    if code != EXIT_USAGE:
        for note in take_notes():
            try:
                print(note, file=sys.stderr)
            except (OSError, ValueError):
                break  # the terminal is gone (a dashboard stopped by SIGHUP): the status stands
    _flush_or_drop()
    return code


def _parse(
    parser: argparse.ArgumentParser,
    chosen: argparse.ArgumentParser | None,
    words: list[str],
) -> tuple[argparse.Namespace, list[str]]:
    """``parser.parse_known_args(words)``, an unknown option of the ``chosen`` command
    said first: argparse says a missing required argument before it, so that ``report
    --bogus`` read "the following arguments are required: -o/--output", naming a word
    the user had not typed wrong. So the words are read once with nothing required."""
    if chosen is not None:
        required: list[Any] = [a for a in chosen._actions if a.required]
        required += [g for g in chosen._mutually_exclusive_groups if g.required]
        for item in required:
            item.required = False
        try:
            _, unknown = parser.parse_known_args(words)
        finally:
            for item in required:
                item.required = True
        if unknown:
            chosen.error("unrecognized arguments: " + " ".join(unknown))
    return parser.parse_known_args(words)


def _flush_or_drop() -> None:
    """Flush stdout and stderr now; where the terminal is gone (a dashboard stopped by
    SIGHUP), send what they still hold to /dev/null. Python flushes them again at exit,
    and a failure there would make the exit status 120 instead of the command's."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, stream.fileno())
                os.close(devnull)
            except (OSError, ValueError):
                pass  # no descriptor to take over (a closed or replaced stream)


if __name__ == "__main__":
    sys.exit(main())
