"""The dashboard's keys (mitmproxy and termshark habits; docs/keys.md), remappable.

Every key is a Textual :class:`~textual.binding.Binding` with an id
``headerwatch.<name>``; the ``[keys]`` table of the config file maps names to
keys, e.g.::

    [keys]
    follow = "F,ctrl+f"      # several keys: comma-separated
    quit = "q"
    pause = "p"

and is applied with ``App.set_keymap``. Key names are Textual's (``space``,
``question_mark``, ``ctrl+x``, ``G`` for shift+g).

Importing this module registers the checks of ``[keys]`` and ``[ui]``
(:func:`capture.config.register_check`): every load of the config file runs them.
``tui.common`` imports it, so that every command that loads the file refuses a bad
table, ``scan`` too, which must not pay for Textual: :func:`bindings` alone imports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from capture.config import Config, only_keys, register_check

if TYPE_CHECKING:
    from textual.binding import Binding

PREFIX = "headerwatch."


@dataclass(frozen=True, slots=True)
class KeyAction:
    """One remappable command of the main screen."""

    name: str
    """Name in the ``[keys]`` table."""
    keys: str
    """Default keys, comma-separated (Textual key names)."""
    action: str
    """Action run on the main screen."""
    description: str
    """Shown in the footer, the help screen and the command palette."""
    show: bool = True
    """Shown in the footer."""
    display: str | None = None
    """How the key is shown in the footer (default: Textual's)."""
    wide_only: bool = False
    """Left out of the footer on a narrow terminal (help still lists it)."""


ACTIONS: tuple[KeyAction, ...] = (
    KeyAction("help", "question_mark", "help", "Help", display="?"),
    KeyAction("palette", "colon", "app.command_palette", "Commands", show=False, display=":"),
    KeyAction("filter", "f,slash", "filter", "Filter", display="f"),
    KeyAction(
        "toggle_filter",
        "exclamation_mark",
        "toggle_filter",
        "Filter on/off",
        display="!",
        wide_only=True,
    ),
    KeyAction("follow", "F", "follow", "Follow"),
    KeyAction("pause", "space", "pause", "Pause"),
    KeyAction("sort", "o", "sort", "Sort by column", show=False),
    KeyAction("reverse", "v", "reverse", "Reverse order", show=False),
    KeyAction("search", "s", "search", "Search", show=False),
    KeyAction("search_next", "n", "search_step(1)", "Next match", show=False),
    KeyAction("search_prev", "N", "search_step(-1)", "Previous match", show=False),
    KeyAction("detail", "enter", "detail", "Detail", show=False),
    KeyAction("full_view", "plus", "full_view", "Full view", show=False, display="+"),
    KeyAction("back", "escape", "back", "Back", show=False),
    KeyAction("down", "j,down", "cursor_down", "Down", show=False),
    KeyAction("up", "k,up", "cursor_up", "Up", show=False),
    KeyAction("first", "g,home", "first", "First", show=False),
    KeyAction("last", "G,end", "last", "Last (follow)", show=False),
    KeyAction("page_down", "pagedown", "page_down", "Page down", show=False),
    KeyAction("page_up", "pageup", "page_up", "Page up", show=False),
    KeyAction("mark", "m", "mark", "Mark"),
    KeyAction("marked_only", "M", "marked_only", "Marked only", show=False),
    KeyAction("comment", "semicolon", "comment", "Comment", show=False, display=";"),
    KeyAction("copy_request", "c", "copy('request')", "Copy request", show=False),
    KeyAction("copy_curl", "C", "copy('curl')", "Copy as curl", show=False),
    KeyAction("copy_value", "y", "copy('value')", "Copy identity value", show=False),
    KeyAction("exposure", "e", "exposure", "Exposure"),
    KeyAction("save", "w", "save", "Save"),
    KeyAction("export", "x", "export", "Export"),
    KeyAction("clear", "z", "clear", "Clear view", show=False),
    KeyAction("delete", "d", "delete", "Delete row", show=False),
    KeyAction("undo_clear", "u", "undo_clear", "Undo z or d", show=False),
    KeyAction("quit", "q", "app.quit", "Quit"),
)

BY_NAME = {a.name: a for a in ACTIONS}


def bindings() -> list[Binding]:
    """The main screen's bindings, each with its remappable id."""
    from textual.binding import Binding

    return [
        Binding(
            a.keys,
            a.action,
            a.description,
            show=a.show,
            key_display=a.display,
            id=PREFIX + a.name,
        )
        for a in ACTIONS
    ]


class KeysError(ValueError):
    """The ``[keys]`` table names an unknown command, a key that is not a string, or a
    key that another command has too."""


def keymap_from_config(table: Mapping[str, Any]) -> dict[str, str]:
    """A Textual keymap (binding id → keys) from the ``[keys]`` table.

    Raises :class:`KeysError` naming the first bad entry, or the first key that two
    commands would share (defaults included: ``pause = "q"`` takes quit's key).
    """
    keymap: dict[str, str] = {}
    for name, keys in table.items():
        if name not in BY_NAME:
            known = ", ".join(sorted(BY_NAME))
            raise KeysError(f"[keys] unknown command {name!r} (known: {known})")
        if isinstance(keys, (list, tuple)):
            # Every item a key name: str() made ["q", 3] the keys "q" and "3".
            if not all(isinstance(k, str) and k.strip() for k in keys):
                raise KeysError(f'[keys] {name}: every item must be a key name such as "F"')
            keys = ",".join(keys)
        if not isinstance(keys, str) or not keys.strip():
            raise KeysError(f'[keys] {name} must be a key name such as "F" or "ctrl+f"')
        given = [_canonical(k.strip()) for k in keys.split(",") if k.strip()]
        for key in given:
            if key in TEXTUAL_KEYS:
                raise KeysError(
                    f"[keys] key {key} is {TEXTUAL_KEYS[key]}'s (Textual's own); choose another"
                )
        keymap[PREFIX + name] = ",".join(given)
    owner: dict[str, str] = {}
    for name, keys in effective_keys(keymap).items():
        for key in keys.split(","):
            if key in owner and owner[key] != name:
                raise KeysError(f"[keys] key {key} is both {owner[key]} and {name}")
            owner.setdefault(key, name)
    return keymap


TEXTUAL_KEYS = {
    "ctrl+p": "the command palette",
    "tab": "moving the focus",
    "shift+tab": "moving the focus",
}
"""Keys Textual keeps for itself whatever a screen binds: a command remapped to one
lost it (help = "ctrl+p" left Help without a key that worked)."""


def _canonical(key: str) -> str:
    """``key`` as Textual names the key pressed: shift and a letter is the capital
    (``shift+p`` is ``P``; a binding of ``shift+p`` never fires)."""
    shifted = key.lower().removeprefix("shift+")
    if key.lower().startswith("shift+") and len(shifted) == 1 and shifted.isalpha():
        return shifted.upper()
    return key


def confirm_quit_of(table: Mapping[str, Any]) -> bool:
    """``confirm_quit`` of the ``[ui]`` table (default true): ``q`` asks before
    quitting with unsaved work. Raises ``ValueError`` for a value that is not a
    boolean, and for any other key (a typo would leave the question on in silence)."""
    only_keys(table, "ui", ("confirm_quit",))
    value = table.get("confirm_quit", True)
    if not isinstance(value, bool):
        raise ValueError("[ui] confirm_quit must be true or false")
    return value


def dashboard_settings(config: Config) -> tuple[dict[str, str], bool]:
    """The dashboard's key remapping (``[keys]``) and ``[ui] confirm_quit`` of one
    loaded config file: read once for both. Loading it checked both tables, so a bad
    one raised :class:`capture.config.ConfigError` naming the file there."""
    return keymap_from_config(config.section("keys")), confirm_quit_of(config.section("ui"))


register_check("keys", keymap_from_config)
register_check("ui", confirm_quit_of)


KEY_LABELS = {
    "question_mark": "?",
    "exclamation_mark": "!",
    "semicolon": ";",
    "colon": ":",
    "slash": "/",
    "plus": "+",
    "escape": "esc",
}
"""How Textual key names are shown to people (help, the command palette)."""


def key_label(keys: str) -> str:
    """Comma-separated Textual key names as people read them: ``semicolon`` → ``;``,
    ``f,slash`` → ``f /``."""
    return " ".join(KEY_LABELS.get(k, k) for k in keys.split(","))


def effective_keys(keymap: Mapping[str, str]) -> dict[str, str]:
    """Command name → keys as they are in effect (defaults overridden by ``keymap``)."""
    return {a.name: keymap.get(PREFIX + a.name, a.keys) for a in ACTIONS}
