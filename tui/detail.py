"""The detail pane: one request in full (see :func:`tui.render.detail_text`)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from capture.view.store import Entry
from tui.render import detail_text
from tui.scrolling import ScrollsAtOnce


class DetailPane(ScrollsAtOnce):
    """Scrollable detail of the request under the list cursor."""

    DEFAULT_CSS = """
    DetailPane {
        display: none;
        height: 3fr;
        border-top: heavy $primary;
        background: $surface;
        padding: 0 1;
    }
    DetailPane.-open { display: block; }
    DetailPane:focus { border-top: heavy $accent; }
    """

    def __init__(self, *, utc: bool = False, id: str | None = None) -> None:
        super().__init__(id=id)
        self.utc = utc
        self.entry_id: int | None = None
        self._entry: Entry | None = None
        self.finished = False
        """The input was read to its end: a response not there will not come."""

    def compose(self) -> ComposeResult:
        yield Static(Text(""), id="detail-text")

    def show(self, entry: Entry | None) -> None:
        """Show ``entry`` (None: nothing selected)."""
        static = self.query_one("#detail-text", Static)
        self._entry = entry
        if entry is None:
            self.entry_id = None
            static.update(Text("no request selected", style="dim"))
            return
        if entry.record.id != self.entry_id:
            self.scroll_home(animate=False, immediate=True)
        self.entry_id = entry.record.id
        # Less the scrollbar, which a long request brings (the text is what decides).
        width = self.content_region.width - self.styles.scrollbar_size_vertical
        static.update(detail_text(entry, self.utc, width if width > 0 else None, self.finished))

    def input_finished(self) -> None:
        """The input was read to its end: the request shown, if any, says so."""
        self.finished = True
        if self._entry is not None:
            self.show(self._entry)

    def on_resize(self) -> None:
        # The heading's parts are laid out for the width: again at the new one.
        if self._entry is not None:
            self.show(self._entry)

    @property
    def is_open(self) -> bool:
        """Whether the pane is shown."""
        return self.has_class("-open")

    def open(self) -> None:
        """Show the pane."""
        self.add_class("-open")

    def close(self) -> None:
        """Hide the pane."""
        self.remove_class("-open")
