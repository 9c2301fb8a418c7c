"""The dashboard's secondary screens: help, comment, save session, export."""

from __future__ import annotations

import os
import textwrap
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static

from capture.formats.file_kinds import FILE_KINDS, kind_of
from capture.formats.table import ANOMALY_MARK
from capture.identity.catalog import load_catalog
from capture.model import IDENTITY_KINDS
from capture.text import counted
from capture.view.filter import FilterError, compile_filter, help_rows
from tui.keys import ACTIONS, BY_NAME, PREFIX, key_label
from tui.ordered_input import OrderedInput
from tui.render import ANOMALY_STYLE, BADGE_STYLE, KIND_LABEL, SEVERITY_RANK, safe
from tui.scrolling import ScrollsAtOnce


def help_text(keys: Mapping[str, str], width: int | None = None) -> Text:
    """The help screen's text: every command with its keys in effect, the filter grammar.
    ``width``: the cells it is laid out in, each line wrapped under its own column (a
    meaning under the meanings, not under the keys); None: one line each."""
    out = Text(end="")

    def row(lead: str, style: str, body: str, at: int | None = None) -> None:
        # The lead (keys, a syntax) then the body, its lines after the first at ``at``
        # (by default under the body's start).
        at = len(lead) if at is None else at
        out.append(lead, style=style)
        if width is None:
            out.append(body + "\n")
            return
        lines = textwrap.wrap(body, max(width - at, 12), initial_indent=" " * (len(lead) - at)) or [
            ""
        ]
        out.append(lines[0][len(lead) - at :])
        for line in lines[1:]:
            out.append("\n" + " " * at + line)
        out.append("\n")

    def title(name: str, note: str) -> None:
        # A section's title, and its note (dim) after it, or under it where it does
        # not fit.
        out.append(name, style="bold underline")
        if width is not None and len(name) + len(note) > width:
            note = "\n  " + note.strip()
        out.append(note + "\n", style="dim")

    row(
        "headerwatch",
        "bold",
        " — identity headers (MSISDN, IMEI, IMSI, X-UIDH …) in HTTP, as they arrive",
        0,
    )
    out.append("\n")
    title("Keys", "   (remap in the [keys] table of the config file)")
    # The longest description sets the column: "Copy identity value" ran into its name.
    column = max(len(action.description) for action in ACTIONS) + 2
    for action in ACTIONS:
        out.append(f"  {key_label(keys.get(action.name, action.keys)):<14}", style="bold cyan")
        out.append(f"{action.description:<{column}}")
        if width is not None and 16 + column + len(action.name) > width:
            out.append("\n" + " " * 16)  # the name under the description
        out.append(f"{action.name}\n", style="dim")
    row(f"  {'ctrl+p':<14}", "bold cyan", "Command palette")
    row(f"  {'tab':<14}", "bold cyan", "Move focus (list, detail, exposure)")
    row(f"  {'mouse':<14}", "", "click a row to select it, double-click to open, wheel scrolls")
    out.append("\n")
    title("Filter expressions", "   (mitmproxy's grammar; regexes, case-insensitive)")
    for syntax, meaning in help_rows():
        row(f"  {syntax:<22}", "bold cyan", meaning)
    # The examples break between examples, never inside one.
    out.append("\n  Examples: ", style="dim")
    line = 12
    for i, example in enumerate(
        ("~id msisdn & ~d bbc", '~h "x-up-calling-line-id"', "!~d example")
    ):
        sep = "   ·   " if i else ""
        if width is not None and i and line + len(sep) + len(example) > width:
            out.append("\n" + " " * 12)
            line, sep = 12, ""
        out.append(sep + example)
        line += len(sep) + len(example)
    out.append("\n")
    row(
        "  ",
        "",
        "While typing, an invalid expression is shown as an error and not applied; "
        "up/down in the filter input walk the history.",
    )
    out.append("\n")
    title("Colours", "  a badge's colour is its finding's severity")
    for severity, kinds in legend_kinds().items():
        out.append(f"  {severity:<8}")
        for kind in kinds:
            out.append(f" {KIND_LABEL.get(kind, kind.upper())} ", style=BADGE_STYLE[severity])
            out.append(" ")
        if not kinds:
            out.append(f" {severity} ", style=BADGE_STYLE[severity])
            out.append(" only from headers your config adds")
        out.append("\n")
    out.append("  ")
    out.append("●", style="bold magenta")
    out.append(" marked   ")
    out.append("✎", style="cyan")
    out.append(" commented   ")
    out.append("INJ", style="bold magenta")
    out.append(" injected in transit\n  ")
    out.append(ANOMALY_MARK, style=ANOMALY_STYLE)
    out.append(" an anomaly (the detail says which)\n")
    return out


def legend_kinds() -> dict[str, list[str]]:
    """Each badge severity with the identity kinds whose named headers (the catalog)
    reach it at most: the colour legend is derived from what the detector reports."""
    best: dict[str, str] = {}
    for entry in load_catalog().entries:
        if entry.kind not in IDENTITY_KINDS:
            continue
        old = best.get(entry.kind)
        if old is None or SEVERITY_RANK[entry.severity] > SEVERITY_RANK[old]:
            best[entry.kind] = entry.severity
    out: dict[str, list[str]] = {s: [] for s in BADGE_STYLE if s != "info"}
    for kind in IDENTITY_KINDS:
        if kind in best and best[kind] in out:
            out[best[kind]].append(kind)
    return out


# The list's moves scroll the help: j and k as arrows do. Same ids as the main
# screen's bindings, so that a [keys] table remaps them here too.
_HELP_SCROLLS = {
    "down": "scroll_down",
    "up": "scroll_up",
    "first": "scroll_home",
    "last": "scroll_end",
    "page_down": "page_down",
    "page_up": "page_up",
}


class HelpScreen(ModalScreen[None]):
    """Keys and filter grammar."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close"),
        *(
            Binding(BY_NAME[name].keys, f"scroll_help('{how}')", show=False, id=PREFIX + name)
            for name, how in _HELP_SCROLLS.items()
        ),
    ]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90; max-width: 100%; height: 90%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, keys: Mapping[str, str]) -> None:
        super().__init__()
        self.keys = dict(keys)
        self._laid_out_for = 0
        """The width the help text was last laid out for."""

    def compose(self) -> ComposeResult:
        with ScrollsAtOnce():
            yield Static(help_text(self.keys), id="help-text")

    def on_resize(self) -> None:
        # After the layout: until then the view's region is the old size's (back from a
        # tiny terminal, the text was laid out for it, and G scrolled past the end).
        self.call_after_refresh(self._lay_out)

    def _lay_out(self) -> None:
        """The help laid out for the width it has (a line that wraps goes on under its
        column), the view kept within the text."""
        view = self.query_one(ScrollsAtOnce)
        width = view.scrollable_content_region.width
        if width <= 0 or width == self._laid_out_for:
            return
        self._laid_out_for = width
        self.query_one("#help-text", Static).update(help_text(self.keys, width))
        view.call_after_refresh(
            lambda: view.scroll_to(y=min(view.scroll_y, view.max_scroll_y), animate=False)
        )

    def action_scroll_help(self, how: str) -> None:
        """Scroll the help (``how``: a scroll action of the view, as ``scroll_down``)."""
        getattr(self.query_one(ScrollsAtOnce), f"action_{how}")()


class CommentScreen(ModalScreen[str | None]):
    """Edit the comment of one request; dismissed with the new text or None (cancel)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    DEFAULT_CSS = """
    CommentScreen { align: center middle; }
    CommentScreen > Vertical {
        width: 80; max-width: 100%; height: auto;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, entry_id: int, comment: str) -> None:
        super().__init__()
        self.entry_id = entry_id
        self.comment = comment

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(f"Comment on request #{self.entry_id} (enter saves, esc cancels)"))
            yield OrderedInput(value=self.comment, placeholder="a note", id="comment-input")

    @on(Input.Submitted, "#comment-input")
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


class SearchScreen(ModalScreen[str | None]):
    """Ask for a search expression (the filter grammar); dismissed with it, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    DEFAULT_CSS = """
    SearchScreen { align: center middle; }
    SearchScreen > Vertical {
        width: 80; max-width: 100%; height: auto;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    SearchScreen #search-error { color: $error; width: 1fr; height: auto; }
    """

    def __init__(self, expr: str) -> None:
        super().__init__()
        self.expr = expr

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(
                Text("Search: the cursor jumps to matches, nothing is hidden (n next, N back)")
            )
            yield OrderedInput(
                value=self.expr, placeholder="~d bbc, ~id msisdn, ~h x-uidh …", id="search"
            )
            yield Label("", id="search-error")

    @on(Input.Submitted, "#search")
    def _submitted(self, event: Input.Submitted) -> None:
        expr = event.value.strip()
        try:
            compile_filter(expr)
        except FilterError as exc:
            self.query_one("#search-error", Label).update(Text(safe(str(exc))))
            return
        self.dismiss(expr)

    def action_cancel(self) -> None:
        self.dismiss(None)


class QuitScreen(ModalScreen[bool | None]):
    """Quit with unsaved work? Dismissed with True (y: quit), False (n, esc: stay) or
    None (the save key, as the prompt offers it: stay, and save)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Quit"),
        Binding("n,escape", "answer(False)", "Stay"),
    ]

    DEFAULT_CSS = """
    QuitScreen { align: center middle; }
    QuitScreen > Vertical {
        width: 64; max-width: 100%; height: auto;
        border: thick $warning; background: $surface; padding: 0 1;
    }
    QuitScreen Label { width: 1fr; }
    """

    def __init__(self, what: str, save_keys: str = "w") -> None:
        super().__init__()
        self.what = what
        self.save_keys = save_keys
        """The keys of the save command ([keys] may have moved it)."""

    def compose(self) -> ComposeResult:
        save = key_label(self.save_keys)
        with Vertical():
            yield Label(Text(f"Unsaved {self.what}. Quit anyway? (y/n)"), id="quit-question")
            yield Label(Text(f"{save} saves a session; [ui] confirm_quit = false: never ask"))

    def on_mount(self) -> None:
        self._bindings.bind(self.save_keys, "answer(None)", "Save", show=False)

    def action_answer(self, quit_now: bool | None) -> None:
        self.dismiss(quit_now)


class Choice(RadioButton):
    """A radio button whose mark says whether it is chosen without colour: ``●`` when
    chosen, ``○`` when not. Textual draws both as ``●`` and tells them apart by colour
    alone, which a monochrome terminal, a screen reader or a screen read as text (a
    tester's tmux capture) does not show."""

    def __init__(self, label: str, value: bool = False, id: str | None = None) -> None:
        super().__init__(label, value, id=id)
        self.BUTTON_INNER = "●" if value else "○"

    def watch_value(self) -> None:
        self.BUTTON_INNER = "●" if self.value else "○"
        super().watch_value()


@dataclass(frozen=True, slots=True)
class SaveRequest:
    """What the save or export dialog asked for."""

    path: str
    scope: str
    """``all`` (every stored request) or ``shown`` (the requests the view shows)."""
    format: str
    """``pcapng`` (session of frames), ``records`` (session of records, JSONL), ``har``
    or ``jsonl``."""


# The save and export dialogs write a format a suffix names (capture.formats.file_kinds)
# when they offer it (``exp.jsonl`` is JSONL whichever format button is pressed), refuse
# a name whose suffix names another kind (``keep.md`` is not a session), and keep the
# chosen format for any other name.

_FORMAT_KIND = {"records": "jsonl"}
"""A dialog format whose files are of another kind than its name (a session of
records is JSONL)."""


class SuffixError(ValueError):
    """A file name whose suffix names a kind of file the dialog does not write;
    ``str()`` is one line for the user."""


def format_for(path: str, chosen: str, offered: tuple[str, ...]) -> str:
    """The format to write ``path`` in: the offered format its suffix names, else
    ``chosen`` (no suffix, or one that names no kind of :data:`FILE_KINDS`).

    Raises :class:`SuffixError` when the suffix names a kind none of ``offered``
    writes (``keep.md`` for a session)."""
    suffix, kind = kind_of(path)
    if kind is None:
        return chosen
    if _FORMAT_KIND.get(chosen, chosen) == kind:
        return chosen
    for fmt in offered:
        if _FORMAT_KIND.get(fmt, fmt) == kind:
            return fmt
    wanted = [FILE_KINDS[_FORMAT_KIND.get(f, f)][0][0] for f in offered]
    ends = wanted[0] if len(wanted) == 1 else f"{', '.join(wanted[:-1])} or {wanted[-1]}"
    raise SuffixError(
        f"{os.path.basename(path)}: {suffix} is for {FILE_KINDS[kind][1]}, which this "
        f"dialog does not write; end the name with {ends}"
    )


def default_name(extension: str, now: float | None = None) -> str:
    """``headerwatch-20120110-142211.<extension>`` in the current directory."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now if now is not None else time.time()))
    return os.path.join(os.getcwd(), f"headerwatch-{stamp}.{extension}")


SAVE_KEYS_HINT = "shift+tab: the choices above  space: pick  enter: save  esc: cancel"
"""What the save dialog says under its file name (the focus starts there)."""


class SaveScreen(ModalScreen[SaveRequest | None]):
    """Ask where to save (session or export) and what: all requests or the shown ones.

    A file that exists is replaced only when asked twice: the first Save says so.
    Save hands the request to ``submit`` and the dialog stays up, saying it is
    writing, until :meth:`finished`: it closes when the file is written, and shows
    the error with the name still typed when it could not be (``esc`` closes it
    meanwhile; the result then comes as a notification)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        # Enter saves wherever the focus is, as the dialog says: on a choice, a radio
        # set's own Enter picked it, and the dialog stayed open with nothing written.
        Binding("enter", "enter", "Save", priority=True),
    ]

    DEFAULT_CSS = """
    SaveScreen { align: center middle; }
    SaveScreen > Vertical {
        width: 90; max-width: 100%; height: auto;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    SaveScreen RadioSet { width: 1fr; margin-right: 1; }
    SaveScreen #save-options { height: auto; }
    SaveScreen #save-buttons { height: auto; align-horizontal: right; }
    SaveScreen #save-error { color: $error; width: 1fr; height: auto; }
    SaveScreen #save-keys { color: $text-muted; width: 1fr; height: auto; }
    """

    def __init__(
        self,
        title: str,
        formats: tuple[str, ...],
        shown: int,
        total: int,
        path: str,
        shown_note: str = "",
        *,
        submit: Callable[[SaveRequest, SaveScreen], None],
        growing: bool = False,
        scope: str = "all",
    ) -> None:
        super().__init__()
        self.scope = scope
        """The choice pressed at first: ``all`` or ``shown``."""
        self.so_far = " so far" if growing else ""
        """After each count while the input is still read or captured: the file gets
        what there is when it is written, which the message after counts."""
        self.submit = submit
        """Starts the write (in a worker): it calls :meth:`finished` when done."""
        self.writing: SaveRequest | None = None
        """The request being written (Save does nothing meanwhile)."""
        self.shown_note = shown_note
        """Said after "shown N requests" (what else the file will hold)."""
        self._shown_button: RadioButton | None = None
        self.title_text = title
        self.formats = formats
        self.shown = shown
        self.total = total
        self.path = path
        self._replacing = ""
        """The existing file the user was told of: saving to it again replaces it."""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self.title_text, style="bold"))
            with Horizontal(id="save-options"):
                with RadioSet(id="save-scope"):
                    yield Choice(
                        f"all {counted(self.total, 'request')}{self.so_far}",
                        value=self.scope == "all",
                        id="scope-all",
                    )
                    self._shown_button = Choice(
                        self._shown_label(), value=self.scope == "shown", id="scope-shown"
                    )
                    yield self._shown_button
                if len(self.formats) > 1:
                    with RadioSet(id="save-format"):
                        for i, fmt in enumerate(self.formats):
                            yield Choice(fmt.upper(), value=i == 0, id=f"format-{fmt}")
            yield OrderedInput(value=self.path, id="save-path")
            # The name has the focus: how to reach the choices above it.
            yield Label(SAVE_KEYS_HINT, id="save-keys")
            yield Label("", id="save-error")
            with Horizontal(id="save-buttons"):
                yield Button("Save", variant="primary", id="save-ok")
                yield Button("Cancel", id="save-cancel")

    def on_mount(self) -> None:
        self.query_one("#save-path", Input).focus()

    def _format(self) -> str:
        if len(self.formats) == 1:
            return self.formats[0]
        pressed = self.query_one("#save-format", RadioSet).pressed_button
        if pressed is None or pressed.id is None:
            return self.formats[0]
        return pressed.id.removeprefix("format-")

    def _shown_label(self) -> str:
        return f"shown {counted(self.shown, 'request')}{self.so_far}{self.shown_note}"

    def set_shown_note(self, note: str) -> None:
        """Say what a save of the shown requests holds (counted in a worker thread:
        the dialog does not wait for it, and may not be mounted yet)."""
        self.shown_note = note
        if self._shown_button is not None:
            self._shown_button.label = self._shown_label()

    @on(RadioSet.Changed, "#save-format")
    def _format_changed(self) -> None:
        # Keep the file extension in line with the format.
        path_input = self.query_one("#save-path", Input)
        root, ext = os.path.splitext(path_input.value)
        if ext.lstrip(".") in self.formats:
            path_input.value = f"{root}.{self._format()}"

    @on(Input.Changed, "#save-path")
    def _path_changed(self, event: Input.Changed) -> None:
        # The buttons follow a suffix that names a format as it is typed, so the
        # dialog shows what Enter writes (a suffix of another kind is said at Enter).
        chosen = self._format()
        try:
            fmt = format_for(event.value.strip(), chosen, self.formats)
        except SuffixError:
            return
        if fmt != chosen:
            self.query_one(f"#format-{fmt}", RadioButton).value = True

    def _result(self) -> SaveRequest | None:
        path = self.query_one("#save-path", Input).value.strip()
        error = self.query_one("#save-error", Label)
        if not path:
            error.update(Text("a file name is needed"))
            return None
        chosen = self._format()
        try:
            fmt = format_for(path, chosen, self.formats)
        except SuffixError as exc:
            error.update(Text(safe(str(exc))))
            return None
        if fmt != chosen:
            # The name says what the file is: the buttons follow it, so the dialog
            # shows what is written (and the message after says it too).
            self.query_one(f"#format-{fmt}", RadioButton).value = True
        pressed = self.query_one("#save-scope", RadioSet).pressed_button
        scope = "shown" if pressed is not None and pressed.id == "scope-shown" else "all"
        return SaveRequest(os.path.expanduser(path), scope, fmt)

    @on(Input.Submitted, "#save-path")
    @on(Button.Pressed, "#save-ok")
    def _ok(self) -> None:
        if self.writing is not None:
            return
        result = self._result()
        if result is None:
            return
        said = self.query_one("#save-error", Label)
        if os.path.isdir(result.path):
            # Not a file to replace: "exists: Enter replaces it" would offer what fails.
            said.update(Text(safe(f"{result.path} is a directory: add a file name")))
            return
        if os.path.lexists(result.path) and result.path != self._replacing:
            # The file is replaced whole: it may be earlier evidence, so ask once.
            self._replacing = result.path
            said.update(
                Text(f"{os.path.basename(result.path)} exists: Enter or Save again replaces it")
            )
            return
        self.writing = result
        said.update(Text("writing… (esc closes this; a notification says when it is done)"))
        self.submit(result, self)

    def finished(self, error: str | None) -> None:
        """The write ended: close (``error`` None), or show why it failed and let the
        name be changed and saved again."""
        request, self.writing = self.writing, None
        if error is None:
            if self.is_current:
                self.dismiss(request)
            return
        self.query_one("#save-error", Label).update(Text(safe(error)))

    @on(Button.Pressed, "#save-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    class Entered(Message):
        """Enter, posted to the file name's input behind the keys it has yet to apply."""

    def action_enter(self) -> None:
        """Enter: save, but on the Cancel button, cancel."""
        focused = self.focused
        if isinstance(focused, Button) and focused.id == "save-cancel":
            self.action_cancel()
        elif isinstance(focused, OrderedInput):
            # Enter is the dialog's before any widget sees it (a priority binding), and
            # the keys typed just before it may still wait in the input's queue: a name
            # and Enter sent in one burst saved under the name as it stood before them,
            # or cut short. Queued behind them, it saves what they typed.
            focused.post_message(self.Entered())
        else:
            self._ok()

    def on_save_screen_entered(self, message: SaveScreen.Entered) -> None:
        message.stop()
        self._ok()
