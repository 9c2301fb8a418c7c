"""The key footer: Textual's :class:`~textual.widgets.Footer`, shortened on narrow screens.

Under :data:`tui.app.NARROW_WIDTH` columns Textual's footer would cut off its last
keys (Save, Export, Quit). Narrow, this footer is compact (one space between keys),
leaves out the keys marked ``wide_only`` in :data:`tui.keys.ACTIONS` (help lists
them) and the command palette's ``^p`` (``:`` opens it too), so the essentials fit
in 80 columns; narrower, it leaves out more, from the last, Save, Export, Quit and
Help after all others (:data:`KEPT`).
"""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.reactive import reactive
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from tui import keys as keymod


class KeyFooter(Footer):
    """The footer of the main screen."""

    narrow = reactive(False, recompose=True)
    """Fewer keys, compact: the terminal is narrow."""

    columns = reactive(0, recompose=True)
    """The terminal's width: narrow, keys that do not fit are left out, Save, Export,
    Quit and Help last (0: not known yet, none left out)."""

    def watch_narrow(self, narrow: bool) -> None:
        self.compact = narrow
        self.show_command_palette = not narrow

    def compose(self) -> ComposeResult:
        if not self.narrow:
            yield from super().compose()
            return
        if not self._bindings_ready:
            return
        hidden = {keymod.PREFIX + a.name for a in keymod.ACTIONS if a.wide_only}
        shown: set[str] = set()
        keys = []
        for _, binding, enabled, tooltip in self.screen.active_bindings.values():
            if not binding.show or binding.id in hidden or binding.action in shown:
                continue
            shown.add(binding.action)
            keys.append((binding, enabled, tooltip))
        for binding, enabled, tooltip in _fitting(keys, self.columns, self.app.get_key_display):
            yield FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                disabled=not enabled,
                tooltip=tooltip,
            ).data_bind(compact=Footer.compact)


KEPT = ("quit", "save", "export", "help")
"""The keys a narrow footer gives up last, the last first: what leaves, keeps, and
explains (the others are in the help)."""


def _fitting(
    keys: list[tuple[Binding, bool, str]], columns: int, display: Callable[[Binding], str]
) -> list[tuple[Binding, bool, str]]:
    """``keys`` (in the footer's order) that fit in ``columns`` cells, compact (a key,
    a space, its description, a space): the others left out from the last, the
    :data:`KEPT` ones after all others (``columns`` 0: all)."""

    def cells(binding: Binding) -> int:
        return len(display(binding)) + len(binding.description) + 2

    chosen = list(keys)
    if not columns:
        return chosen
    kept = [keymod.PREFIX + name for name in KEPT]
    others = [i for i in reversed(range(len(chosen))) if chosen[i][0].id not in kept]
    last = [i for i in range(len(chosen)) if chosen[i][0].id in kept]
    # Left out first: the others, last first; then the kept ones, Help before Quit.
    order = others + sorted(last, key=lambda i: -kept.index(chosen[i][0].id or ""))
    total = sum(cells(b) for b, _, _ in chosen)
    dropped: set[int] = set()
    for i in order:
        if total <= columns:
            break
        dropped.add(i)
        total -= cells(chosen[i][0])
    return [key for i, key in enumerate(chosen) if i not in dropped]
