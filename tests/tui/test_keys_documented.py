"""README's key table and docs/keys.md name every key of the dashboard, as help does
(help is generated from tui.keys.ACTIONS)."""

from __future__ import annotations

import re
from pathlib import Path

from tui.keys import ACTIONS, KEY_LABELS

ROOT = Path(__file__).parents[2]


def _readme_keys() -> set[str]:
    text = (ROOT / "README.md").read_text()
    table = text.split("### Keys", 1)[1].split("\n\n", 2)[1]
    return {
        key for row in table.splitlines() for key in re.findall(r"`([^`]+)`", row.split("|")[1])
    }


def test_every_key_is_in_the_readme_table_and_every_command_in_keys_md() -> None:
    documented = {part for cell in _readme_keys() for part in re.split(r"[ ,]+", cell)}
    keys_md = (ROOT / "docs/keys.md").read_text()
    for action in ACTIONS:
        assert f"| `{action.name}` |" in keys_md, action.name
        for key in action.keys.split(","):
            label = KEY_LABELS.get(key, key)
            assert label in documented, (action.name, label)
