"""Short garbage-collector pauses while the dashboard runs.

CPython's full (generation 2) collection walks every tracked object, and it runs
each time the long-lived objects have grown by a quarter. The dashboard's store
grows for as long as traffic comes, so the passes come again and again and each
is longer than the last: bench/ui_bench.py at 2,000 requests/s (200x50, the
2-CPU VM, load average 2-3) saw 9 full passes in 16 s taking 37-344 ms each, the
UI thread stopped for all of it, and those stops were the tail of the row latency.

After a full pass, what survived it is long-lived (the store's entries, the
widgets, the modules): :meth:`GcPauses.check` moves it to the permanent generation
(``gc.freeze``), so the next full pass walks only what came since. Reference
counting still frees frozen objects; only cyclic garbage made of objects frozen
earlier waits, so every :data:`FULL_SWEEP_EVERY` seconds one full pass sweeps
everything again (``gc.unfreeze``). Quitting unfreezes.

The cost: memory that such cycles hold until the sweep. ``bench/live_bench.py
--tools dashboard`` reports the dashboard's peak RSS.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

FULL_SWEEP_EVERY = 120.0
"""Seconds between full passes that walk every object: they free the cyclic garbage
that was frozen (one longer pause every two minutes). Widgets that drop caches
often keep them free of cycles (the request list's are dicts, not Textual's
ring-linked LRUCache) so that little waits for this."""


def full_collections() -> int:
    """How many full (generation 2) collections this process has run."""
    return int(gc.get_stats()[2]["collections"])


class GcPauses:
    """Freezes what survives each full collection; call :meth:`check` from the UI
    thread now and then (the dashboard: every batch), :meth:`stop` at the end."""

    def __init__(
        self, every: float = FULL_SWEEP_EVERY, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.every = every
        self.clock = clock
        self.freezes = 0
        """Times survivors were frozen (for tests and the curious)."""
        self._full = full_collections()
        self._swept = clock()
        self._active = False

    def start(self) -> None:
        """What exists now (modules, the app's widgets) is long-lived: freeze it."""
        self._active = True
        gc.freeze()
        self._full = full_collections()
        self._swept = self.clock()

    def check(self) -> None:
        """After a full collection, freeze its survivors (or, once every
        :attr:`every` seconds, unfreeze so that the next full pass sweeps all)."""
        if not self._active:
            return
        full = full_collections()
        if full == self._full:
            return
        self._full = full
        now = self.clock()
        if now - self._swept >= self.every:
            self._swept = now
            gc.unfreeze()
        else:
            self.freezes += 1
            gc.freeze()

    def stop(self) -> None:
        """Give the frozen objects back to the collector."""
        if self._active:
            self._active = False
            gc.unfreeze()
