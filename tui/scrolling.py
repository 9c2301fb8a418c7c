"""Scrolling that takes each key: Textual's own line and page steps are deferred to
the next refresh and aim from where the last one aimed (``scroll_target_y``) only once
it has run, so keys that come within one frame (a held key, a terminal's burst, tmux
``send-keys``) moved a view one step in all."""

from __future__ import annotations

from textual.actions import SkipAction
from textual.containers import VerticalScroll


class ScrollsAtOnce(VerticalScroll):
    """A :class:`VerticalScroll` whose keys scroll at once, one step per key."""

    def _to(self, y: float) -> None:
        if not self.allow_vertical_scroll:
            raise SkipAction()
        self.scroll_to(y=max(0.0, min(y, self.max_scroll_y)), animate=False, immediate=True)

    def action_scroll_down(self) -> None:
        self._to(self.scroll_y + 1)

    def action_scroll_up(self) -> None:
        self._to(self.scroll_y - 1)

    def action_page_down(self) -> None:
        self._to(self.scroll_y + self.scrollable_content_region.height)

    def action_page_up(self) -> None:
        self._to(self.scroll_y - self.scrollable_content_region.height)

    def action_scroll_home(self) -> None:
        self._to(0)

    def action_scroll_end(self) -> None:
        self._to(self.max_scroll_y)
