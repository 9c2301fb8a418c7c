"""Starting the dashboard from a command: options shared by ``demo``, ``open`` and ``live``."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from capture.model import Notice
from capture.pipeline import Detector
from capture.sources.source import FrameSource
from capture.text import printable
from capture.view.filter import FilterError, compile_filter
from tui.common import (
    NO_REGION_NOTE,
    UsageError,
    dashboard_keys,
    no_terminal,
    pending_notes,
)

if TYPE_CHECKING:
    from tui.app import HeaderwatchApp, NoticeBox

# Textual (tui.app, tui.keys) is imported when a dashboard starts, not when the
# command line is parsed: it costs half a second that `scan` does not need.


def add_dashboard_args(parser: argparse.ArgumentParser) -> None:
    """``--filter EXPR`` (initial view filter) and ``--utc`` (times in UTC)."""
    group = parser.add_argument_group("dashboard")
    group.add_argument(
        "--filter",
        dest="view_filter",
        default="",
        metavar="EXPR",
        help="start with this view filter, e.g. '~id' (mitmproxy syntax; f changes it)",
    )
    group.add_argument("--utc", action="store_true", help="show times in UTC, not local time")


# Inside double quotes a shell still reads these ('!': bash's history, interactively).
_DOUBLE_QUOTED_SPECIAL = re.compile(r'["$`!]|\\(?:["$`\\\n]|$)')


def as_typed(expr: str) -> str:
    """``expr`` quoted as it could be typed at a shell, where ``repr`` doubled each
    backslash: in single quotes, or in double ones when it holds a single quote and
    nothing a shell reads inside double quotes."""
    if "'" in expr and printable(expr) == expr and not _DOUBLE_QUOTED_SPECIAL.search(expr):
        return f'"{expr}"'
    # Only on this error path: scan and the dashboards need none of copy's imports.
    from capture.formats.copy import shell_word

    return shell_word(expr)


def check_view_args(args: argparse.Namespace) -> dict[str, str]:
    """The keymap; raises :class:`~tui.common.UsageError` saying what is wrong with
    the dashboard's options (or its config file)."""
    expr = getattr(args, "view_filter", "")
    if expr:
        try:
            compile_filter(expr)
        except FilterError as exc:
            raise UsageError(f"--filter {as_typed(expr)}: {exc}") from None
    keymap, _ = dashboard_keys(args)
    return keymap


def run_dashboard(
    source: FrameSource,
    detector: Detector | None,
    args: argparse.Namespace,
    keymap: dict[str, str],
    headless: str = "headerwatch scan FILE",
    **named: Any,
) -> int:
    """Run the dashboard over ``source`` until the user quits; the exit code.
    ``headless``: the command that prints the same requests without a terminal (said
    when there is none). ``named``: the keywords of :func:`dashboard_app`.

    Raises :class:`~tui.common.UsageError` without a terminal that can draw it
    (:func:`no_terminal`)."""
    why = no_terminal()
    if why is not None:
        source.stop()
        raise UsageError(f"{why}; without one, {headless} prints the same requests as JSONL")
    app = dashboard_app(source, detector, args, keymap, **named)
    code = app.run()
    source.stop()
    for error in app.unreadable:
        print(f"headerwatch: error: {error}", file=sys.stderr)
    return int(code or 0)


def dashboard_app(
    source: FrameSource,
    detector: Detector | None,
    args: argparse.Namespace,
    keymap: dict[str, str],
    *,
    source_name: str | None = None,
    session_paths: Sequence[str] = (),
    notice_box: NoticeBox | None = None,
) -> HeaderwatchApp:
    """The dashboard :func:`run_dashboard` runs, made from the command's options."""
    from tui.app import HeaderwatchApp

    # The config file as check_view_args read it (config_of keeps that read).
    _, confirm_quit = dashboard_keys(args)
    app = HeaderwatchApp(
        source,
        detector,
        source_name=source_name,
        session_paths=session_paths,
        utc=getattr(args, "utc", False),
        keymap=keymap,
        initial_filter=getattr(args, "view_filter", ""),
        redact=getattr(args, "redact", False),
        confirm_quit=confirm_quit,
        # A record file among the inputs: a session of packets could not hold its
        # requests, so w saves a session of records, which holds them all.
        record_session=bool(getattr(source, "has_records", False)),
    )
    if notice_box is not None:
        app.notice_boxes.append(notice_box)
    app.ingest(set_up_notices())
    return app


def set_up_notices() -> list[Notice]:
    """What the command's set-up said for stderr (:func:`~tui.common.pending_notes`),
    as notices for the dashboard's screen: a missing region above all, a national
    number not read looking like no number (printed on stderr too, after it exits)."""
    notices = []
    for note in pending_notes():
        level, _, text = note.removeprefix("headerwatch: ").partition(": ")
        if note.startswith(NO_REGION_NOTE):
            level = "warning"
        notices.append(Notice("warning" if level == "warning" else "info", text))
    return notices
