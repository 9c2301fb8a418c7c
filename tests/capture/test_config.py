"""The TOML configuration file: the [identity] table, other sections kept, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import capture
import tui
from capture.config import (
    TABLES,
    Config,
    ConfigError,
    ConfigTable,
    default_config_path,
    load_config,
    merge_identity,
    parse_config,
    read_canary_file,
)
from capture.identity.detector import HeaderRule, IdentityConfig, IdentityDetector
from tests.capture.identity.factory import make_request
from tests.netns import REPO

FULL = """
[identity]
region = "gb"
msisdn = ["07700 900123", "+12015550123"]
imei = "490154203237518"
imsi = ["234150999999999"]
canary = ["alice@example.com"]
disabled = ["via", "device-id-name"]

[identity.headers]
"x-acme-subscriber" = { kind = "subscriber_id", severity = "medium" }
"x-acme-phone" = { kind = "msisdn" }

[keys]
quit = "q"
filter = ["f", "/"]

[live]
spool_max = "2G"

[ui]
confirm_quit = false
"""


def test_full_identity_table(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(FULL, encoding="utf-8")
    config = load_config(path)
    assert config.path == path
    assert config.identity == IdentityConfig(
        region="GB",
        msisdns=("+447700900123", "+12015550123"),  # read in the file's region
        imeis=("490154203237518",),
        imsis=("234150999999999",),
        canaries=("alice@example.com",),
        headers=(
            HeaderRule("x-acme-subscriber", "subscriber_id", "medium"),
            HeaderRule("x-acme-phone", "msisdn", "high"),
        ),
        disabled=("via", "device-id-name"),
    )


def test_other_sections_are_kept_read_only() -> None:
    config = parse_config(FULL)
    assert config.section("keys")["quit"] == "q"
    assert config.section("keys")["filter"] == ("f", "/")
    assert config.section("live")["spool_max"] == "2G"
    assert config.section("ui")["confirm_quit"] is False
    assert config.section("absent") == {}
    with pytest.raises(TypeError):
        config.section("keys")["quit"] = "x"  # type: ignore[index]


def test_configured_detector_works_end_to_end() -> None:
    detector = IdentityDetector(parse_config(FULL).identity)
    request = make_request(
        add=[("X-Acme-Subscriber", "S-42"), ("Via", "1.1 gw"), ("X-Anything", "447700900123")]
    )
    found = {(f.name, f.kind, f.detector) for f in detector.detect(request)}
    assert found == {
        ("X-Acme-Subscriber", "subscriber_id", "catalog"),
        ("X-Anything", "canary", "canary"),
    }


def test_missing_default_file_gives_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("capture.config.default_config_path", lambda: tmp_path / "none.toml")
    assert load_config() == Config()


def test_a_default_file_hidden_behind_a_directory_it_cannot_search_gives_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # reflect on port 80 as nobody, HOME still /root: whether a config is there cannot
    # be told, and no --config asked for one. An error there stopped the reflector.
    hidden = tmp_path / "root-only" / "config.toml"
    monkeypatch.setattr("capture.config.default_config_path", lambda: hidden)

    def refused(self: Path, *args: object, **kwargs: object) -> object:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", refused)
    monkeypatch.setattr(Path, "stat", refused)
    assert load_config() == Config()
    # Given by --config, the same file is an error: the user asked for it.
    with pytest.raises(ConfigError, match="cannot read: Permission denied"):
        load_config(hidden)


def test_a_default_file_there_but_unreadable_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The user's identity settings are in it: read without them, the findings would
    # differ from what the user set, and nothing would say so.
    there = tmp_path / "config.toml"
    there.write_text("[identity]\nregion = 'GB'\n")
    monkeypatch.setattr("capture.config.default_config_path", lambda: there)

    def refused(self: Path, *args: object, **kwargs: object) -> object:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", refused)
    with pytest.raises(ConfigError, match="cannot read: Permission denied"):
        load_config()


def test_default_path_is_in_the_user_config_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert default_config_path() == tmp_path / "headerwatch" / "config.toml"


def test_default_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "headerwatch").mkdir()
    (tmp_path / "headerwatch" / "config.toml").write_text('[identity]\nregion = "US"\n')
    assert load_config().identity.region == "US"


def test_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match=r"nope\.toml: no such file"):
        load_config(missing)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[identity\n", "not valid TOML"),
        ('[identity]\nregoin = "GB"\n', "unknown key 'regoin' in \\[identity\\]"),
        ('[identity]\nregion = "XX"\n', "region 'XX' is not a region code"),
        # Said once: "[identity] msisdn [identity] msisdn must be" said it twice.
        (
            "[identity]\nmsisdn = 447700900123\n",
            r": \[identity\] msisdn must be a string or a list of strings$",
        ),
        ('[identity]\nmsisdn = ["07700 900123"]\n', "written nationally: give its region"),
        ('[identity]\nimei = "123"\n', "too short"),
        # Typos that turned nothing on or off, and said nothing.
        (
            '[identty]\nregion = "GB"\n',
            r"unknown table \[identty\] \(a config file holds \[echo\], \[files\]",
        ),
        ("regoin = 1\n", "unknown key 'regoin'"),
        ('[identity]\ndisabled = ["recurence"]\n', "'recurence' is neither a detector"),
        ('[identity]\ndisabled = "x-nonexistent-header"\n', "nor a catalog header"),
        ('[identity.headers]\n"x-a" = { kind = "phone" }\n', "kind 'phone' is not one of"),
        (
            '[identity.headers]\n"x-a" = { kind = "msisdn", colour = "red" }\n',
            "unknown key 'colour'",
        ),
        ('[identity.headers]\n"x-a" = "msisdn"\n', "must be {kind = ..., severity = ...}"),
        # A name no header can have: a line break would end a Suricata rule of it.
        (
            '[identity.headers]\n"x-new\\nline" = { kind = "msisdn" }\n',
            r"header name 'x-new\\x0aline' holds a control or invisible character",
        ),
        ('[identity.headers]\n"x-esc\\u001b[31m" = "msisdn"\n', r"x-esc\\x1b\[31m must be"),
        ('identity = "yes"\n', "\\[identity\\] must be a table"),
        ("[identity]\ndisabled = [1]\n", "disabled must be a string or a list of strings"),
        # A canary named by its key in the file, not by an option nobody typed, and
        # libphonenumber's reason without its error number ("(1) The string ...").
        (
            '[identity]\nmsisdn = ["not a number"]\n',
            r": \[identity\] msisdn 'not a number' is not a phone number: no digits",
        ),
        ('[identity]\nimei = ["12"]\n', r": \[identity\] imei '12' is too short"),
        ('[identity]\nimsi = ["1234567890123456"]\n', r": \[identity\] imsi '1234567890123456'"),
        ('[identity]\ncanary = ["ab"]\n', r": \[identity\] canary 'ab' is too short"),
        ("a = " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
        ("a = " + "{b = " * 3000 + "1" + "}" * 3000 + "\n", "nested too deeply"),
        ("a = " + "[" * 40 + "]" * 40 + "\n", "nested too deeply"),
        ("[identity]\ncanary = [" + '"aaaaaa", ' * (2 << 20) + "]\n", "larger than 16 MB"),
    ],
)
def test_errors_are_one_line_and_name_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: ")
    assert "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)


def test_a_file_that_is_not_text_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bin.toml"
    path.write_bytes(b"a = 1\n\xff\xfe")
    with pytest.raises(ConfigError, match=r"bin\.toml: not UTF-8 text \(byte 6\)"):
        load_config(path)


def test_a_directory_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory, not a config file"):
        load_config(tmp_path)


def test_an_endless_file_is_read_only_up_to_the_limit() -> None:
    with pytest.raises(ConfigError, match="larger than 16 MB"):
        load_config("/dev/zero")


def test_a_section_that_is_a_value_is_one_line() -> None:
    # Said by the load when the table's reader has registered a check, else by the read.
    with pytest.raises(
        ConfigError, match=r"c\.toml: keys must be a table \(\[keys\]\), not a value"
    ):
        parse_config("keys = 5\n", Path("c.toml")).section("keys")


def test_a_table_is_refused_at_load_by_the_check_its_reader_registered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def check(table: object) -> None:
        raise ValueError("[ui] confirm_quit must be true or false")

    monkeypatch.setitem(TABLES, "ui", ConfigTable("the dashboard's confirmations", check))
    with pytest.raises(ConfigError) as raised:
        parse_config('[ui]\nconfirm_quit = "no"\n', Path("c.toml"))
    assert str(raised.value) == "c.toml: [ui] confirm_quit must be true or false"
    # Only the tables the file holds are checked.
    assert parse_config("[files]\nshared = true\n").section("files")["shared"] is True


@pytest.mark.parametrize(
    "text",
    [
        "a = " + "[" * 5000 + "]" * 5000 + "\n",
        "[identity]\nregion = 5\n",
        "keys = 5\n",
        "[keys]\nquit = 5\n",
    ],
)
def test_the_cli_says_one_line_and_exits_2(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    capture = str(REPO / "capture" / "data" / "demo-o2-2012.pcap")
    for command in (
        ["scan", "--config", str(path), capture],
        ["open", "--config", str(path), capture],
    ):
        result = subprocess.run(
            [sys.executable, "-m", "tui.cli", *command],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=REPO,
        )
        assert result.returncode == 2, (command, result.stderr)
        assert result.stderr.startswith(f"headerwatch: error: {path}: "), result.stderr
        assert result.stderr.count("\n") == 1, result.stderr


def test_merge_identity_with_command_line_values() -> None:
    base = parse_config('[identity]\nregion = "GB"\nmsisdn = ["07700 900123"]\n').identity
    merged = merge_identity(
        base, region="us", msisdns=("+12015550124",), canaries=("bob@example.org",)
    )
    assert merged.region == "US"
    assert merged.msisdns == ("+447700900123", "+12015550124")
    assert merged.canaries == ("bob@example.org",)


def test_merge_identity_refuses_bad_values() -> None:
    with pytest.raises(ConfigError, match="--region 'XX'"):
        merge_identity(IdentityConfig(), region="XX")
    with pytest.raises(ConfigError, match="--imei"):
        merge_identity(IdentityConfig(), imeis=("12",))


def test_disabled_takes_detectors_catalog_headers_in_any_spelling_and_the_config_s_own() -> None:
    config = parse_config(
        '[identity]\ndisabled = ["recurrence", "HTTP_X_UP_CALLING_LINE_ID", "x-acme"]\n'
        '[identity.headers]\n"x-acme" = { kind = "subscriber_id" }\n'
    )
    assert config.identity.disabled == ("recurrence", "HTTP_X_UP_CALLING_LINE_ID", "x-acme")


def test_every_table_a_config_file_may_hold_is_read_by_someone() -> None:
    sources = " ".join(
        path.read_text()
        for package in (capture, tui)
        for path in Path(package.__path__[0]).rglob("*.py")
    )
    for table in TABLES:
        assert f'section("{table}")' in sources or f'pop("{table}"' in sources, table


@pytest.mark.parametrize("command", ["scan", "live", "probe", "reflect"])
def test_a_canary_file_that_is_not_there_is_one_line_not_a_traceback(
    tmp_path: Path, command: str
) -> None:
    # The one-line error was made, then a second read of the file (to name a bad
    # line) raised FileNotFoundError.
    path = tmp_path / "not-there.txt"
    rest = {
        "scan": ["-"],
        "live": ["--from", str(tmp_path / "records.jsonl"), "--format", "jsonl"],
        "probe": ["http://127.0.0.1:1/"],
        "reflect": ["--bind", "127.0.0.1", "--port", "1"],
    }[command]
    result = subprocess.run(
        [sys.executable, "-m", "tui.cli", command, "--canary-file", str(path), *rest],
        input=b"",
        capture_output=True,
        timeout=60,
        cwd=REPO,
        env={**os.environ, "XDG_CONFIG_HOME": str(tmp_path)},
    )
    assert result.returncode == 2
    assert result.stderr.decode() == f"headerwatch: error: --canary-file {path}: no such file\n"


def _scan_nothing(*options: str) -> subprocess.CompletedProcess[bytes]:
    """``headerwatch scan OPTIONS -`` of an empty stdin, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", "scan", *options, "-"],
        input=b"",
        capture_output=True,
        timeout=60,
        cwd=REPO,
    )


def test_a_bad_canary_in_a_file_is_named_by_its_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "phone.txt"
    path.write_text(
        "# the test phone\nmsisdn +447700900123\n\nimei 490154203237518\nmsisdn 12345\n"
    )
    result = _scan_nothing("--canary-file", str(path))
    assert result.returncode == 2
    assert result.stderr.decode() == (
        f"headerwatch: error: {path}:5: msisdn '12345' is too short to look for "
        "(at least 6 characters)\n"
    )


@pytest.mark.parametrize("kind", ["msisdn", "IMEI", "canary"])
def test_a_canary_file_line_with_a_kind_and_no_value_is_an_error_not_a_canary_of_that_word(
    tmp_path: Path, kind: str
) -> None:
    # "msisdn" alone was looked for as a value: every X-Auth-Method: msisdn a canary.
    path = tmp_path / "phone.txt"
    path.write_text(f"imei 490154203237518\n{kind}  \n")
    result = _scan_nothing("--canary-file", str(path))
    assert result.returncode == 2
    assert result.stderr.decode() == (
        f"headerwatch: error: {path}:2: {kind!r} with no value after it (a line is KIND "
        "VALUE, or a value alone)\n"
    )
    with pytest.raises(ConfigError, match=f"^--canary-file {path}:2: {kind!r} with no value"):
        read_canary_file(path)


@pytest.mark.parametrize("given", ["nope.txt", "."])
def test_a_canary_file_that_cannot_be_read_is_one_line(tmp_path: Path, given: str) -> None:
    good = tmp_path / "phone.txt"
    good.write_text("msisdn +447700900123\n")
    path = tmp_path / given
    result = _scan_nothing("--canary-file", str(good), "--canary-file", str(path))
    assert result.returncode == 2
    [line] = result.stderr.decode().splitlines()
    assert line.startswith(f"headerwatch: error: --canary-file {path}: "), line
