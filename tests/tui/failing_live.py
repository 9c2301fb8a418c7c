"""The real ``headerwatch`` command line with a fault planted, for the tests of a
dashboard that fails (``test_live_failures.py``).

``python -m tests.tui.failing_live WHERE ARGS...`` runs ``headerwatch ARGS...``, but
the first request for :data:`TRIGGER` makes WHERE fail with :data:`MESSAGE`:

- ``dashboard``: the app's handler of arriving requests raises, after taking them in
  (an error nothing in the app handles: Textual ends the app);
- ``capture``: the pipeline raises in the capture thread, having parsed the request
  (the frames of it are recorded by then; the dashboard never sees it);
- ``source``: the live source's packet-reading thread raises, having queued the
  frame that carries it (the thread below the capture thread).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from capture.model import Event, RequestSeen
from capture.pipeline import Pipeline
from capture.sources.frames import Frame
from capture.sources.live.source import LiveSource
from tui import cli
from tui.app import HeaderwatchApp

TRIGGER = "/trigger-failure"
MESSAGE = "planted failure"


def _triggered(events: Iterable[Event]) -> bool:
    return any(isinstance(e, RequestSeen) and e.record.request.uri == TRIGGER for e in events)


def plant(where: str) -> None:
    """Make ``where`` (``dashboard``, ``capture`` or ``source``) fail at the first
    :data:`TRIGGER`."""
    if where == "dashboard":
        ingest = HeaderwatchApp.ingest

        def failing_ingest(self: HeaderwatchApp, events: Iterable[Event]) -> None:
            events = list(events)
            ingest(self, events)
            if _triggered(events):
                raise RuntimeError(MESSAGE)

        HeaderwatchApp.ingest = failing_ingest  # type: ignore[method-assign]
    elif where == "capture":
        feed = Pipeline.feed

        def failing_feed(self: Pipeline, frame: Frame) -> list[Event]:
            events = feed(self, frame)
            if _triggered(events):
                raise RuntimeError(MESSAGE)
            return events

        Pipeline.feed = failing_feed  # type: ignore[method-assign]
    elif where == "source":
        push = LiveSource._push

        def failing_push(
            self: LiveSource, linktype: int, batch: list[tuple[float, bytes]], nbytes: int
        ) -> None:
            push(self, linktype, batch, nbytes)
            if any(TRIGGER.encode() in data for _, data in batch):
                raise RuntimeError(MESSAGE)

        LiveSource._push = failing_push  # type: ignore[method-assign]
    else:
        raise SystemExit(f"failing_live: no such place to fail: {where!r}")


if __name__ == "__main__":
    plant(sys.argv[1])
    sys.exit(cli.main(sys.argv[2:]))
