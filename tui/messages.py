"""Messages from the capture thread (and the dashboard's workers) to the dashboard.

The capture thread hands the UI a batch a few times a second with
``post_message`` (thread-safe). Data batches are never merged (merging would
lose requests); messages that only carry the latest value (counters, load
progress) override ``can_replace`` so that a backlog collapses to one.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from capture.model import Event, StatsSnapshot


@dataclass
class EventsArrived(Message, bubble=False):
    """A batch of core events (requests, responses, notices), in capture order.

    ``posted_at`` is the ``time.monotonic()`` of the hand-over, for latency measurements.
    """

    events: list[Event]
    posted_at: float = 0.0
    held: int = 0
    """How many of the events the dashboard's backlog counted (the capture thread's
    batches; a notice posted from elsewhere is not counted)."""
    held_bytes: int = 0
    """The wire bytes (heads and bodies) those events hold, as the backlog counted them."""


@dataclass
class StatsUpdated(Message, bubble=False):
    """The latest counters of the pipeline and the source; only the newest matters."""

    stats: StatsSnapshot

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, StatsUpdated)


@dataclass
class LoadProgress(Message, bubble=False):
    """How much of the input files has been read (bytes); only the newest matters."""

    done: int
    total: int

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, LoadProgress)


@dataclass
class SearchProgress(Message, bubble=False):
    """How many rows a search in a worker has looked at, of how many; only the newest
    matters."""

    done: int
    total: int

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SearchProgress)


@dataclass
class SourceFinished(Message, bubble=False):
    """The source is exhausted (end of file, replay over) or stopped; nothing follows."""

    error: str | None = None
