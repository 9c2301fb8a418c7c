"""Keys sent together to a text input are applied in the order they came."""

from __future__ import annotations

import pytest
from textual import events
from textual.app import App, ComposeResult
from textual.keys import _character_to_key
from textual.widgets import Input

from tui.ordered_input import OrderedInput


class _OneInput(App[None]):
    def __init__(self, kind: type[Input]) -> None:
        super().__init__()
        self.kind = kind
        self.submitted: list[str] = []

    def compose(self) -> ComposeResult:
        yield self.kind(value="/home/me/headerwatch-20120110-142211.har")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.submitted.append(event.value)


def _keys(text: str) -> list[events.Key]:
    return [events.Key(_character_to_key(c), c) for c in text]


async def _send_together(kind: type[Input], keys: list[events.Key]) -> _OneInput:
    """Post ``keys`` to the focused input at once, as the app forwards keys that
    arrived in one read (a burst), and let them all be handled."""
    app = _OneInput(kind)
    async with app.run_test() as pilot:
        field = app.query_one(kind)
        field.focus()
        await pilot.pause()
        for key in keys:
            key._set_forwarded()  # as App.on_event hands a key to the focused widget
            field.post_message(key)
        await pilot.pause()
        app.value = field.value  # type: ignore[attr-defined]
    return app


@pytest.mark.parametrize("kind", [OrderedInput, Input])
async def test_a_name_typed_after_ctrl_u_in_one_burst_is_kept(kind: type[Input]) -> None:
    """tmux send-keys C-u and then a path: Textual's own Input deleted the path typed,
    its ctrl+u binding run after the characters once the key had bubbled to the app."""
    app = await _send_together(kind, [events.Key("ctrl+u", None), *_keys("/tmp/e1.jsonl")])
    got = app.value  # type: ignore[attr-defined]
    if kind is OrderedInput:
        assert got == "/tmp/e1.jsonl"
    else:
        assert got != "/tmp/e1.jsonl"  # the race this class is for, still in Textual


async def test_enter_in_a_burst_submits_every_character_before_it_and_none_after() -> None:
    keys = [events.Key("ctrl+u", None), *_keys("a.jsonl"), events.Key("enter", "\r"), *_keys("x")]
    app = await _send_together(OrderedInput, keys)
    assert app.submitted == ["a.jsonl"]
    assert app.value == "a.jsonlx"  # type: ignore[attr-defined]


async def test_backspace_in_a_burst_deletes_the_character_just_typed() -> None:
    keys = [events.Key("ctrl+u", None), *_keys("ab"), events.Key("backspace", None), *_keys("c")]
    app = await _send_together(OrderedInput, keys)
    assert app.value == "ac"  # type: ignore[attr-defined]
