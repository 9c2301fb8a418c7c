"""The filter input: validates while typing, applies on enter, keeps a history."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Static

from capture.view.filter import Filter, FilterError, compile_filter
from tui.ordered_input import OrderedInput
from tui.render import safe

HISTORY_LIMIT = 100


def error_text(expr: str, error: FilterError) -> Text:
    """``✗ at N: message``: where first, then what is wrong (it may be long, as the
    list of finding kinds: the bar wraps it rather than cut it off)."""
    out = Text(end="")
    out.append("✗ ", style="bold red")
    out.append(f"at {error.position}: ", style="bold")
    out.append(safe(error.message), style="red")
    return out


class FilterInput(OrderedInput):
    """An :class:`Input` whose up/down keys walk the filter history."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "history(-1)", "Older filter", show=False),
        Binding("down", "history(1)", "Newer filter", show=False),
        Binding("escape", "cancel", "Cancel", show=False),
    ]

    class Cancelled(Message):
        """Escape in the input: leave the filter as it was."""

    def __init__(self, history: list[str], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.history = history
        self._position = len(history)
        self._draft = ""

    def reset_history(self) -> None:
        """Start walking from the newest entry again."""
        self._position = len(self.history)
        self._draft = self.value

    def action_history(self, step: int) -> None:
        """Show an older (-1) or newer (+1) filter from the history."""
        if not self.history:
            return
        if self._position == len(self.history):
            self._draft = self.value
        position = max(0, min(len(self.history), self._position + step))
        if position == self._position:
            return
        self._position = position
        self.value = self._draft if position == len(self.history) else self.history[position]
        self.cursor_position = len(self.value)

    def action_cancel(self) -> None:
        self.post_message(self.Cancelled())


class FilterBar(Vertical):
    """The filter input and a line under it: the error, or what enter will do."""

    DEFAULT_CSS = """
    FilterBar {
        height: auto;
        display: none;
        background: $panel;
    }
    FilterBar.-open { display: block; }
    FilterBar > Input { border: tall $accent; }
    FilterBar.-invalid > Input { border: tall $error; }
    FilterBar > #filter-message { height: auto; padding: 0 1; }
    """

    class Applied(Message):
        """Enter on a valid expression: ``filter`` is None for an empty one."""

        def __init__(self, expr: str, filter: Filter | None) -> None:
            super().__init__()
            self.expr = expr
            self.filter = filter

    class Closed(Message):
        """The bar was closed without applying anything."""

    def __init__(self, history: list[str] | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.history: list[str] = history if history is not None else []
        self.compiled: Filter | None = None
        self.error: FilterError | None = None

    def compose(self) -> ComposeResult:
        yield FilterInput(
            self.history,
            placeholder="filter: ~id msisdn · ~d bbc · !~d example  (enter applies, esc cancels)",
            id="filter-input",
        )
        yield Static(Text(""), id="filter-message")

    @property
    def input(self) -> FilterInput:
        """The input widget."""
        return self.query_one(FilterInput)

    def open(self, current: str) -> None:
        """Show the bar with ``current`` in the input, focused."""
        self.add_class("-open")
        field = self.input
        field.value = current
        field.cursor_position = len(current)
        field.reset_history()
        self._validate(current)
        field.focus()

    def close(self) -> None:
        """Hide the bar."""
        self.remove_class("-open")

    @property
    def is_open(self) -> bool:
        """Whether the bar is shown."""
        return self.has_class("-open")

    def _validate(self, expr: str) -> None:
        message = self.query_one("#filter-message", Static)
        if not expr.strip():
            self.compiled, self.error = None, None
            self.remove_class("-invalid")
            message.update(Text("enter: show every request", style="dim"))
            return
        try:
            self.compiled = compile_filter(expr)
            self.error = None
        except FilterError as exc:
            self.compiled, self.error = None, exc
            self.add_class("-invalid")
            message.update(error_text(expr, exc))
            return
        self.remove_class("-invalid")
        message.update(Text("✓ enter applies", style="green"))

    @on(Input.Changed, "#filter-input")
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self._validate(event.value)

    @on(Input.Submitted, "#filter-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        expr = event.value.strip()
        self._validate(expr)
        if self.error is not None:
            # Not applied: the error stays on screen.
            self.app.bell()
            return
        if expr and (not self.history or self.history[-1] != expr):
            if expr in self.history:
                self.history.remove(expr)
            self.history.append(expr)
            del self.history[:-HISTORY_LIMIT]
        self.close()
        self.post_message(self.Applied(expr, self.compiled))

    @on(FilterInput.Cancelled)
    def _cancelled(self, event: FilterInput.Cancelled) -> None:
        event.stop()
        self.close()
        self.post_message(self.Closed())
