"""A text input that applies the keys it is sent in the order they came.

Textual's ``Input`` inserts a printable key as it handles the key, but an editing key
(``ctrl+u``, ``backspace``, ``home``) and ``enter`` are its bindings, which run only
once the key has bubbled up to the app, message by message. Keys that arrive together
(a fast typist, a paste that is not bracketed, ``tmux send-keys``, a machine under
load) were then applied out of order: ``ctrl+u`` then a new file name gave an empty
box (the name typed, then everything left of the cursor deleted), and ``enter``
could submit a name before its last characters. Here the input's own bindings run as
their key is handled, between the keys before and after it.
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input


class OrderedInput(Input):
    """An :class:`~textual.widgets.Input` whose own key bindings run in key order."""

    async def _on_key(self, event: events.Key) -> None:
        if not event.is_printable:
            for binding in self._bindings.key_to_bindings.get(event.key, ()):
                # Priority bindings were the app's to run before the key came here.
                if not binding.priority and await self.app.run_action(binding.action, self):
                    event.stop()
                    event.prevent_default()
                    return
        await super()._on_key(event)
