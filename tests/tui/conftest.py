"""Fixtures for the dashboard tests: nothing may depend on the clock, the zone or a blink."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from textual.widgets import Input


@pytest.fixture(autouse=True)
def no_cursor_blink(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Inputs do not blink (a blinking cursor makes snapshots differ run to run)."""
    original = Input._on_mount

    def _on_mount(self: Input, event: object) -> None:
        self.cursor_blink = False
        original(self, event)  # type: ignore[arg-type]

    monkeypatch.setattr(Input, "_on_mount", _on_mount)
    yield


@pytest.fixture(autouse=True)
def no_user_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The user's own config file (keys, identities) must not change what tests see."""
    home = tmp_path_factory.mktemp("config-home")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))


@pytest.fixture(autouse=True)
def no_notes_left() -> None:
    """Start with no stderr notes of an earlier test (tui.common's notes are the
    process's: a test that builds a detector without a region and never runs a
    command left "no region in the locale" for the next command run in the same
    worker, which then said it beside the session's region)."""
    from tui.common import take_notes

    take_notes()
