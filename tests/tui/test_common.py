"""Options every command shares: output files private unless shared on purpose."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import tui.common
from capture.formats.private import files_shared, share_files
from capture.http.echo_key import echo_key, set_echo_key
from tui.common import (
    UsageError,
    add_echo_key_arg,
    add_files_arg,
    add_identity_args,
    build_detector,
    take_notes,
)


@pytest.fixture(autouse=True)
def private_again() -> Iterator[None]:
    yield
    share_files(False)


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_identity_args(parser)
    add_files_arg(parser)
    return parser.parse_args(argv)


def test_output_files_are_private_by_default(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("")
    assert not isinstance(build_detector(_args("--config", str(config))), int)
    assert not files_shared()


def test_shared_files_from_the_flag_or_the_config(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("")
    build_detector(_args("--config", str(config), "--shared-files"))
    assert files_shared()
    share_files(False)
    config.write_text("[files]\nshared = true\n")
    build_detector(_args("--config", str(config)))
    assert files_shared()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[files]\nshared = "yes"\n', "[files] shared must be true or false"),
        ("[files]\nmode = 420\n", "unknown key 'mode' in [files]"),
        ("files = 1\n", "files must be a table"),
    ],
)
def test_a_bad_files_table_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(text)
    with pytest.raises(UsageError) as caught:
        build_detector(_args("--config", str(config)))
    err = str(caught.value)
    assert err.startswith(f"{config}: ") and message in err
    assert "\n" not in err


def _echo_args(*argv: str, reflector: bool = False) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_identity_args(parser)
    add_echo_key_arg(parser, signs=reflector)
    return parser.parse_args(argv)


def test_the_echo_key_comes_from_the_option_or_the_config_and_the_option_wins(
    tmp_path: Path,
) -> None:
    first, second = tmp_path / "first.key", tmp_path / "second.key"
    for path, byte in ((first, "01"), (second, "02")):
        path.write_text(byte * 32 + "\n")
        path.chmod(0o600)
    config = tmp_path / "c.toml"
    config.write_text(f'[echo]\nkey = "{first}"\n')
    try:
        build_detector(_echo_args("--config", str(config)))
        assert echo_key() == bytes([1]) * 32
        build_detector(_echo_args("--config", str(config), "--echo-key", str(second)))
        assert echo_key() == bytes([2]) * 32
        config.write_text("")
        build_detector(_echo_args("--config", str(config)))
        assert echo_key() is None
        # The reflector makes the configured file where there is none, and says so.
        made = tmp_path / "made.key"
        config.write_text(f'[echo]\nkey = "{made}"\n')
        take_notes()
        build_detector(_echo_args("--config", str(config), reflector=True))
        assert made.exists() and echo_key() is not None
        assert any(f"a new echo key in {made}" in note for note in take_notes())
    finally:
        set_echo_key(None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[echo]\nkey = 5\n", "[echo] key must be the path of a key file"),
        ('[echo]\nkey = ""\n', "[echo] key must be the path of a key file"),
        ('[echo]\nfile = "x"\n', "unknown key 'file' in [echo]"),
        ('[echo]\nkey = "/nonexistent/echo.key"\n', "echo key /nonexistent/echo.key: No such"),
    ],
)
def test_a_bad_echo_table_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(text)
    with pytest.raises(UsageError) as caught:
        build_detector(_echo_args("--config", str(config)))
    err = str(caught.value)
    assert message in err and "\n" not in err


def test_canaries_from_a_file_join_those_of_the_options(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("")
    fleet = tmp_path / "fleet.txt"
    fleet.write_text("msisdn +447700900123\nimei 490154203237518\n")
    detector = build_detector(
        _args("--config", str(config), "--canary-file", str(fleet), "--msisdn", "+12015550123")
    )
    assert not isinstance(detector, int)
    labels = [(c.label, c.canonical) for c in detector._canaries.canaries]
    assert labels == [
        ("msisdn", "+12015550123"),
        ("msisdn", "+447700900123"),
        ("imei", "490154203237518"),
    ]


def test_a_bad_value_in_a_canary_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.toml"
    config.write_text("")
    fleet = tmp_path / "fleet.txt"
    fleet.write_text("msisdn 12\n")
    with pytest.raises(UsageError) as caught:
        build_detector(_args("--config", str(config), "--canary-file", str(fleet)))
    assert str(caught.value) and "\n" not in str(caught.value)


def test_a_detector_without_a_region_leaves_one_note_for_the_end_of_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "c.toml"
    config.write_text("")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_TELEPHONE", raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    assert build_detector(_args("--config", str(config))).region is None
    build_detector(_args("--config", str(config)))
    [note] = take_notes()
    assert note.startswith("headerwatch: note: no region in the locale (LANG=C.UTF-8): ")
    assert "--region" in note
    assert take_notes() == []
    build_detector(_args("--config", str(config), "--region", "GB"))
    monkeypatch.setenv("LANG", "en_GB.UTF-8")
    build_detector(_args("--config", str(config)))
    assert take_notes() == []


def test_only_the_commands_that_write_files_offer_shared_files() -> None:
    # probe, scan and rules print and write no file: the option would promise nothing.
    from tui.cli import _parsers

    _, commands = _parsers()
    offering = {
        name
        for name, parser in commands.items()
        if any("--shared-files" in action.option_strings for action in parser._actions)
    }
    assert {"demo", "live", "open", "report", "reflect"} <= offering
    assert not offering & {"probe", "scan", "rules"}


@pytest.mark.parametrize(
    "option",
    [
        ["--msisdn", "+447700900123"],
        ["--imei", "490154203237518"],
        ["--imsi", "234150999999999"],
        ["--canary", "alice@example.com"],
        ["--canary-file", "fleet.txt"],
        ["--region", "GB"],
        ["--recurrence", "3"],
    ],
)
def test_rules_refuses_the_identity_options_that_change_nothing_it_prints(
    capsys: pytest.CaptureFixture[str], option: list[str]
) -> None:
    # It prints the catalog and reads no traffic: a canary or a region taken in silence
    # let the user believe the rules look for them.
    from tui.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["rules", *option])
    assert exit_.value.code == 2
    assert f"unrecognized arguments: {option[0]}" in capsys.readouterr().err


def test_rules_prints_the_catalog_the_config_file_makes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tui.cli import main

    config = tmp_path / "c.toml"
    config.write_text(
        '[identity]\ndisabled = ["x-msisdn"]\n'
        '[identity.headers]\n"x-acme-subscriber" = { kind = "subscriber_id" }\n'
    )
    assert main(["rules", "--config", str(config)]) == 0
    names = {line.split()[0] for line in capsys.readouterr().out.splitlines()[1:] if line}
    assert "x-acme-subscriber" in names and "x-msisdn" not in names
    assert "x-up-calling-line-id" in names
    config.write_text("[identity\n")
    assert main(["rules", "--config", str(config)]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"headerwatch: error: {config}: not valid TOML")


def test_importing_tui_common_registers_the_table_checks_without_importing_textual() -> None:
    # capture.config cannot import tui: the checks of the tables tui reads are
    # registered by their readers, imported (Textual not) by what every command imports.
    code = (
        "import sys, capture.config as c, tui.common\n"
        "print(sorted(n for n, t in c.TABLES.items() if t.check is None))\n"
        "print(any(m.split('.')[0] == 'textual' for m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.splitlines() == ["['identity']", "False"]


def test_a_commands_config_file_is_read_once_however_many_parts_take_from_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The keys, the quit question and the catalog come from one read: a file edited
    while the command starts cannot give them different contents."""
    config = tmp_path / "c.toml"
    config.write_text('[keys]\nfollow = "F"\n\n[identity]\ndisabled = ["x-uidh"]\n')
    reads: list[object] = []
    load = tui.common.load_config
    monkeypatch.setattr(tui.common, "load_config", lambda path: reads.append(path) or load(path))
    args = argparse.Namespace(config=str(config))
    assert tui.common.dashboard_keys(args) == ({"headerwatch.follow": "F"}, True)
    config.write_text('[keys]\nfollow = "G"\n\n[ui]\nconfirm_quit = false\n')
    assert tui.common.dashboard_keys(args) == ({"headerwatch.follow": "F"}, True)
    assert tui.common.catalog_from_config(args).lookup("x-uidh") is None
    assert reads == [str(config)]
