"""The key footer: Textual's :class:`~textual.widgets.Footer`, shortened on narrow screens.

Under :data:`tui.app.NARROW_WIDTH` columns Textual's footer would cut off its last
keys (Save, Export, Quit). Narrow, this footer is compact (one space between keys),
leaves out the keys marked ``wide_only`` in :data:`tui.keys.ACTIONS` (help lists
them) and the command palette's ``^p`` (``:`` opens it too), so the essentials fit
in 80 columns.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.reactive import reactive
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from tui import keys as keymod


class KeyFooter(Footer):
    """The footer of the main screen."""

    narrow = reactive(False, recompose=True)
    """Fewer keys, compact: the terminal is narrow."""

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
        for _, binding, enabled, tooltip in self.screen.active_bindings.values():
            if not binding.show or binding.id in hidden or binding.action in shown:
                continue
            shown.add(binding.action)
            yield FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                disabled=not enabled,
                tooltip=tooltip,
            ).data_bind(compact=Footer.compact)
