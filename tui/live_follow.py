"""``headerwatch live --from PATH``: a proxy's requests, followed as they are written.

The mitmproxy add-on (``headerwatch mitmproxy-addon``) writes one record per request
to a file, a FIFO or a Unix socket; :class:`~capture.sources.follow.Follower`
follows it and the requests enter the pipeline at ``feed_request``, so detection,
canaries, filters, exposure, ``--only-identity`` and ``--fail-on-identity`` work as
for a capture. No packet socket is opened, so no privileges are needed.

``-w FILE`` records a session of records (:mod:`capture.formats.record_session`)
line by line as it is read; ``w`` in the dashboard saves one from what is shown.
"""

from __future__ import annotations

import argparse
import os
import sys
from importlib import import_module
from typing import Any

from capture.formats.record_session import RecordRecording
from capture.formats.session import SessionError, SessionInfo
from capture.model import Notice
from capture.runner import Runner
from capture.sources.follow import Follower
from capture.sources.frames import CaptureError
from capture.text import counted, printable
from capture.view.selection import EXIT_USAGE
from tui.cmd_live import headless_run
from tui.common import DASHBOARD_RECURRENCE, build_detector, dashboard_keys, tell


def follow_summary(counters: dict[str, int], noun: tuple[str, str]) -> str:
    """What following saw and lost, for the final stderr line; what it followed is
    counted as ``noun`` (:attr:`capture.sources.follow.Follower.noun`)."""
    parts = [f"{counted(counters.get('followed', 0), *noun)} followed"]
    if counters.get("proxy_dropped"):
        parts.append(f"{counters['proxy_dropped']:,} dropped by the proxy add-on")
    if counters.get("bad_lines"):
        parts.append(f"{counted(counters['bad_lines'], 'bad line')} passed over")
    if "recorded" in counters:
        parts.append(f"{counted(counters['recorded'], 'line')} recorded")
    return ", ".join(parts)


def run_follow(
    args: argparse.Namespace,
    app_module: Any,
    notify: Any,
    notices: list[Notice],
    notify_box: list[Any],
) -> int:
    """Run ``live --from PATH`` (headless with ``--format``, else the dashboard)."""
    err = sys.stderr
    headless = args.format is not None
    detector = build_detector(
        args, recurrence=0 if headless else DASHBOARD_RECURRENCE, inputs=[args.follow]
    )
    keymap, confirm_quit = (None, None) if headless else dashboard_keys(args)
    recording: RecordRecording | None = None
    if args.write:
        try:
            info = SessionInfo.judged_by(detector, source=f"proxy {args.follow}")
            recording = RecordRecording(args.write, info)
        except SessionError as exc:
            print(f"headerwatch: error: {exc}", file=err)
            return EXIT_USAGE
    try:
        follower = Follower(
            args.follow, notify, record=recording.write if recording is not None else None
        )
    except CaptureError as exc:
        if recording is not None:
            recording.close()
        print(f"headerwatch: error: {exc}", file=err)
        return EXIT_USAGE

    if not os.path.lexists(args.follow):
        # Waited for, as documented; said, so that a mistyped name is not an empty
        # dashboard that looks like a proxy with nothing to send yet.
        notices.append(
            Notice("warning", f"{args.follow} does not exist (yet): waiting for it to appear")
        )

    def summary(counters: dict[str, int]) -> str:
        if recording is not None:
            counters = {**counters, "recorded": recording.lines}
        return follow_summary(counters, follower.noun)

    told: list[str] = []

    def stopped_recording() -> str | None:
        """Why the recording lacks lines, closed first (its last write may fail then);
        headless_run says it, as an error."""
        if recording is None:
            return None
        recording.close()
        if recording.failed is not None:
            told.append(recording.failed)
        return recording.failed

    try:
        if headless:
            code = headless_run(
                args,
                follower,
                detector,
                notices,
                notify_box,
                banner=(
                    f"following {args.follow} (records: a proxy add-on or an engine log); "
                    "Ctrl-C to stop"
                ),
                join=follower.join,
                summary=summary,
                none_read=follower.none_read,
                stopped_recording=stopped_recording,
            )
            # An input error (said when it came, after what was read before it): 2, as
            # scan exits for a file it cannot read, whatever was found.
            return EXIT_USAGE if follower.failed is not None else code
        app = app_module.HeaderwatchApp(
            follower,
            detector,
            source_name=follower.name,
            redact=args.redact,
            record_session=True,
            written=recording,
            keymap=keymap,
            confirm_quit=confirm_quit,
        )
        events_arrived = import_module("tui.messages").EventsArrived

        def post(level: str, text: str) -> None:
            app.post_message(events_arrived([Notice(level, text)]))

        notify_box.append(post)
        for notice in notices:
            post(notice.level, notice.text)
        try:
            code = app.run()
        except BaseException:
            if app.kept:  # after the traceback, as live -i says it
                tell(f"headerwatch: error: {app.kept}")
            raise
        follower.stop()
        follower.join(5.0)
        runner = getattr(app, "runner", None)
        counters = follower.counters()
        if isinstance(runner, Runner):
            runner.finished.wait(5.0)
            seen = runner.pipeline.summary(follower.none_read())
            tell(printable(f"headerwatch: {seen}; {summary(counters)}"))
        else:
            tell(f"headerwatch: {summary(counters)}")
        if app.kept:
            tell(f"headerwatch: {'error: ' if app.ended_by_error else ''}{app.kept}")
        if follower.failed is not None and not code:
            # The dashboard showed it; the terminal and the exit status say it too.
            tell(f"headerwatch: error: {printable(follower.failed)}")
            return EXIT_USAGE
        return int(code or 0)
    finally:
        if recording is not None:
            recording.close()
            if recording.failed is not None and not told:
                tell(f"headerwatch: warning: {args.write}: recording stopped ({recording.failed})")
