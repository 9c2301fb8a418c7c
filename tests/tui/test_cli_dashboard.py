"""``headerwatch demo`` and ``open`` refuse bad input before the dashboard starts."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from capture.config import load_config
from tui.keys import KeysError, dashboard_settings, keymap_from_config


def headerwatch(*args: str, config_home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"XDG_CONFIG_HOME": str(config_home), "PATH": "/usr/bin:/bin"},
    )


def test_open_a_missing_file_exits_2(tmp_path: Path) -> None:
    result = headerwatch("open", str(tmp_path / "nope.pcap"), config_home=tmp_path)
    assert result.returncode == 2
    assert "nope.pcap" in result.stderr


def test_open_stdin_is_refused(tmp_path: Path) -> None:
    result = headerwatch("open", "-", config_home=tmp_path)
    assert result.returncode == 2
    assert "headerwatch scan -" in result.stderr


def test_an_invalid_start_filter_exits_2(tmp_path: Path) -> None:
    result = headerwatch("demo", "--filter", "~d (", config_home=tmp_path)
    assert result.returncode == 2
    assert "--filter" in result.stderr


def test_a_start_filter_re2_refuses_exits_2_with_one_line_naming_what_it_used(
    tmp_path: Path,
) -> None:
    result = headerwatch("demo", "--filter", "~hq 'msisdn(?=:)'", config_home=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith(
        "headerwatch: error: --filter \"~hq 'msisdn(?=:)'\": invalid regex in ~hq: "
        "a lookahead (?=...) is not supported"
    )
    assert result.stderr.count("\n") == 1


def test_a_bad_speed_exits_2(tmp_path: Path) -> None:
    result = headerwatch("demo", "--speed", "0", config_home=tmp_path)
    assert result.returncode == 2
    assert "speed" in result.stderr


def test_a_bad_keys_table_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[keys]\nfollw = "F"\n')
    result = headerwatch("demo", "--config", str(config), config_home=tmp_path)
    assert result.returncode == 2
    assert "unknown command 'follw'" in result.stderr


def test_a_good_keys_table_is_the_dashboards_keymap_and_lets_it_start(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[keys]\nfollow = "F,ctrl+f"\npause = "p"\n[ui]\nconfirm_quit = false\n')
    assert dashboard_settings(load_config(str(config))) == (
        {"headerwatch.follow": "F,ctrl+f", "headerwatch.pause": "p"},
        False,
    )
    result = headerwatch("demo", "--config", str(config), config_home=tmp_path)
    # Past the config: what stops it here is the missing terminal.
    assert result.returncode == 2
    assert result.stderr.startswith("headerwatch: error: the dashboard needs a terminal")


def test_the_keys_table_becomes_a_textual_keymap() -> None:
    assert keymap_from_config({"follow": "ctrl+f, F", "quit": ["q", "ctrl+q"]}) == {
        "headerwatch.follow": "ctrl+f,F",
        "headerwatch.quit": "q,ctrl+q",
    }
    with pytest.raises(KeysError, match="must be a key name"):
        keymap_from_config({"follow": 3})


def test_a_keys_array_with_an_item_that_is_no_key_name_is_refused() -> None:
    # ["q", 3] was read as the keys "q" and "3", and every command ran with it.
    for keys in (["q", 3], ["q", ""], ["q", ["x"]]):
        with pytest.raises(KeysError, match=r"^\[keys\] quit: every item must be a key name"):
            keymap_from_config({"quit": keys})


def test_a_remap_that_takes_another_commands_key_is_refused() -> None:
    with pytest.raises(KeysError, match=r"^\[keys\] key q is both pause and quit$"):
        keymap_from_config({"pause": "q"})
    with pytest.raises(KeysError, match="key x is both follow and export"):
        keymap_from_config({"follow": "F,x"})
    # Moving quit away frees q for pause.
    assert keymap_from_config({"pause": "q", "quit": "ctrl+x"})["headerwatch.pause"] == "q"


def test_a_key_conflict_in_the_config_is_one_line_at_start(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[keys]\npause = "q"\n')
    result = headerwatch("demo", "--config", str(config), config_home=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "key q is both pause and quit" in lines[0]


def test_plain_headerwatch_prints_the_help_not_an_error(tmp_path: Path) -> None:
    result = headerwatch(config_home=tmp_path)
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.startswith("usage: headerwatch")
    assert "demo" in result.stdout and "open" in result.stdout


def test_help_lists_demo_and_open(tmp_path: Path) -> None:
    result = headerwatch("--help", config_home=tmp_path)
    assert "demo" in result.stdout and "open" in result.stdout


@pytest.mark.parametrize(
    ("command", "headless"),
    [(["demo"], "headerwatch scan"), (["open", "DEMO"], "headerwatch scan FILE")],
)
def test_the_dashboard_without_a_terminal_says_so_instead_of_waiting(
    tmp_path: Path, command: list[str], headless: str
) -> None:
    """For the demo, the command that prints its requests takes no FILE."""
    from tui.common import demo_capture_path

    argv = [demo_capture_path() if a == "DEMO" else a for a in command]
    result = headerwatch(*argv, config_home=tmp_path)  # stdin and stdout are pipes here
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "headerwatch: error: the dashboard needs a terminal (stdin and stdout); without "
        f"one, {headless} prints the same requests as JSONL"
    ]


def test_open_refuses_a_file_named_twice_before_the_dashboard_starts(tmp_path: Path) -> None:
    from tui.common import demo_capture_path

    demo = demo_capture_path()
    result = headerwatch("open", demo, demo, config_home=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        f"headerwatch: error: {demo}: given twice; each input is read once "
        "(twice, its requests would count twice)\n"
    )


def test_a_start_filter_with_a_backreference_is_quoted_as_it_was_typed(tmp_path: Path) -> None:
    """repr doubled the backslash: the line said '~hq "(a)\\\\1"' for ~hq "(a)\\1"."""
    result = headerwatch("demo", "--filter", '~hq "(a)\\1"', config_home=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith(
        "headerwatch: error: --filter '~hq \"(a)\\1\"': invalid regex in ~hq: a backreference"
    ), result.stderr
    assert result.stderr.count("\n") == 1


def test_a_key_textual_keeps_for_itself_is_refused() -> None:
    # help = "ctrl+p" left Help without a working key (the palette kept ctrl+p), and
    # mark = "tab" took the key that moves the focus.
    for name, key, owner in (
        ("help", "ctrl+p", "the command palette"),
        ("mark", "tab", "moving the focus"),
        ("pause", "shift+tab", "moving the focus"),
    ):
        with pytest.raises(KeysError, match=rf"^\[keys\] key {re.escape(key)} is {owner}'s"):
            keymap_from_config({name: key})


def test_shift_and_a_letter_is_that_capital_letter() -> None:
    # Textual names the key shift+p makes "P": a binding of "shift+p" never fired,
    # and beside pause = "P" it was no collision.
    assert keymap_from_config({"follow": "shift+x"}) == {"headerwatch.follow": "X"}
    with pytest.raises(
        KeysError, match=r"^\[keys\] key P is both (follow and pause|pause and follow)$"
    ):
        keymap_from_config({"pause": "P", "follow": "shift+p"})
