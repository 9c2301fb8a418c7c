"""The command line's parsing: mistakes are one line, naming the command and its help."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tui.cli import COMMANDS, main
from tui.common import demo_capture_path


def _usage_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as exit_:
        main(list(argv))
    assert exit_.value.code == 2
    return capsys.readouterr().err


def test_a_mistyped_option_is_one_line_naming_the_command_it_was_given_to(
    capsys: pytest.CaptureFixture[str],
) -> None:
    err = _usage_error(capsys, "probe", "--regoin", "GB", "http://127.0.0.1:1/")
    assert err == (
        "headerwatch probe: error: unrecognized arguments: --regoin "
        "(see headerwatch probe --help)\n"
    )


def test_a_mistyped_option_before_any_command_is_one_line_naming_the_top_level_help(
    capsys: pytest.CaptureFixture[str],
) -> None:
    err = _usage_error(capsys, "--bogus")
    assert err == "headerwatch: error: unrecognized arguments: --bogus (see headerwatch --help)\n"


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "--bogus"],
        ["open", "--bogus"],
        ["live", "--bogus"],
        ["report", "-o", "x.md", "--bogus"],
    ],
)
def test_an_unknown_option_is_said_before_a_missing_required_argument(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    # argparse said "the following arguments are required: -o/--output" for
    # `report --bogus`: a word the user had not typed wrong.
    err = _usage_error(capsys, *argv)
    assert err == (
        f"headerwatch {argv[0]}: error: unrecognized arguments: --bogus "
        f"(see headerwatch {argv[0]} --help)\n"
    )


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["scna"], "headerwatch: error: argument COMMAND: invalid choice: 'scna' "),
        (["live"], "headerwatch live: error: one of the arguments -i/--interface --from is "),
        (["scan", "--format", "csv"], "headerwatch scan: error: argument --format: invalid "),
        (["report"], "headerwatch report: error: the following arguments are required: "),
        (["scan", "--x\n\x1b[2Jy"], "headerwatch scan: error: unrecognized arguments: --x\\x0a"),
    ],
    ids=["command", "required", "choice", "positional", "control-characters"],
)
def test_every_argument_error_is_one_line_with_the_commands_help_and_status_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], said: str
) -> None:
    err = _usage_error(capsys, *argv)
    [line] = err.splitlines()
    assert line.startswith(said), line
    assert line.endswith(f"(see headerwatch {argv[0] + ' ' if argv[0] in COMMANDS else ''}--help)")
    assert "usage:" not in err and "\x1b" not in err


def test_version_names_the_installed_version_and_the_catalog_a_report_cites(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from importlib.metadata import version

    from capture.version import catalog_version

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == (
        f"headerwatch {version('headerwatch')} (identity catalog: {catalog_version()})\n"
    )
    assert catalog_version().split(", sha256 ")[1].isalnum()


@pytest.mark.parametrize("port", ["0", "70000", "-1", "http"])
def test_reflect_refuses_a_port_the_kernel_would_wrap_or_choose(
    capsys: pytest.CaptureFixture[str], port: str
) -> None:
    err = _usage_error(capsys, "reflect", "--port", port)
    assert f"argument --port: not a TCP port (1 to 65535): '{port}'" in err


@pytest.mark.parametrize("timeout", ["0", "-5", "nan", "inf", "soon", "86401", "1e308"])
def test_probe_refuses_a_deadline_that_has_passed_before_it_starts_or_never_comes(
    capsys: pytest.CaptureFixture[str], timeout: str
) -> None:
    # 1e308 was an OverflowError traceback from the socket's timeout.
    err = _usage_error(capsys, "probe", "--timeout", timeout, "http://127.0.0.1:1/")
    expected = f"not a number of seconds above 0 and at most 86400: '{timeout}'"
    assert f"argument --timeout: {expected}" in err


def _scan_stderr(env: dict[str, str], *argv: str) -> tuple[int, list[str]]:
    result = subprocess.run(
        [sys.executable, "-m", "tui.cli", "scan", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("LC_")}, **env},
    )
    return result.returncode, result.stderr.splitlines()


def test_a_scan_without_a_region_says_at_its_end_that_national_numbers_were_not_read() -> None:
    code, lines = _scan_stderr({"LANG": "C.UTF-8"}, demo_capture_path())
    assert code == 0
    assert lines[-2].startswith("headerwatch: 259 packets")
    assert lines[-1].startswith("headerwatch: note: no region in the locale (LANG=C.UTF-8)")
    code, lines = _scan_stderr({"LANG": "en_GB.UTF-8"}, demo_capture_path())
    assert code == 0 and not any("note:" in line for line in lines)


def test_a_scan_of_the_bundled_demo_reads_it_in_its_own_region_as_report_and_demo_do() -> None:
    """Named or not, the demo capture is O2 UK's: `headerwatch scan` alone said no
    region had been given, where `headerwatch report` read it as GB's."""
    code, lines = _scan_stderr({"LANG": "C.UTF-8"})
    assert code == 0
    assert lines[0] == f"headerwatch: scanning the bundled demo capture {demo_capture_path()}"
    assert not any("no region" in line for line in lines)


def test_an_input_error_is_its_one_line_without_the_region_note() -> None:
    code, lines = _scan_stderr({"LANG": "C.UTF-8"}, "/nonexistent/capture.pcap")
    assert code == 2
    assert lines == ["headerwatch: error: /nonexistent/capture.pcap: no such file"]


@pytest.mark.parametrize(
    ("option", "said"),
    [
        (["--region", "XX"], "--region 'XX' is not a region code such as GB or US"),
        (
            ["--region", "UK"],
            "--region 'UK' is not a region code such as GB or US (the code for UK is GB)",
        ),
        (
            ["--region", "44"],
            "--region '44' is not a region code such as GB or US (+44 is the calling code of GB)",
        ),
        (["--msisdn", "abc"], "--msisdn 'abc' is not a phone number: no digits"),
    ],
)
def test_a_bad_option_of_a_scan_of_the_demo_is_its_one_line_with_no_banner_before(
    option: list[str], said: str
) -> None:
    code, lines = _scan_stderr({"LANG": "C.UTF-8"}, *option)
    assert code == 2
    assert lines == [f"headerwatch: error: {said}"]


@pytest.mark.parametrize(
    "command",
    [
        ["rules"],
        ["probe", "http://127.0.0.1:1/"],
        ["reflect", "--bind", "127.0.0.1", "--port", "1"],
        ["live", "--from", "RECORDS", "--format", "jsonl"],
        ["report", "-o", "OUT"],
    ],
)
def test_every_command_that_loads_the_config_refuses_a_bad_keys_table_before_it_writes(
    tmp_path: Path, command: list[str]
) -> None:
    # The default file, as a user has it: live read no other's [keys], and started its
    # dashboard with the error as a notification; the others never looked.
    config = tmp_path / "headerwatch" / "config.toml"
    config.parent.mkdir()
    config.write_text("[keys]\nquit = 5\n")
    records = tmp_path / "records.jsonl"
    records.write_text("")
    out = tmp_path / "report.html"
    argv = [{"RECORDS": str(records), "OUT": str(out)}.get(word, word) for word in command]
    result = subprocess.run(
        [sys.executable, "-m", "tui.cli", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "XDG_CONFIG_HOME": str(tmp_path)},
    )
    assert result.returncode == 2
    assert result.stderr == (
        f'headerwatch: error: {config}: [keys] quit must be a key name such as "F" or "ctrl+f"\n'
    )
    assert result.stdout == ""
    assert not out.exists()


@pytest.mark.parametrize("dropped", [False, True])
def test_output_held_for_a_terminal_that_is_gone_does_not_change_the_exit_status(
    dropped: bool,
) -> None:
    """A dashboard stopped by SIGHUP exits 129 into a terminal that is gone: Python's
    own flush of what stdout still holds fails at exit and makes the status 120, unless
    main has sent it to /dev/null first (the first case shows the 120)."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the terminal, gone: every write to it fails
    code = (
        "import sys\nfrom tui.cli import _flush_or_drop\nprint('held in the buffer')\n"
        + ("_flush_or_drop()\n" if dropped else "")
        + "sys.exit(129)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # held, as by default
    try:
        result = subprocess.run(
            [sys.executable, "-c", code],
            stdout=write_end,
            stderr=subprocess.PIPE,
            env=env,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert result.returncode == (129 if dropped else 120), result.stderr


@pytest.mark.parametrize("command", [["scan"], ["report", "-o", "r.md"]])
def test_a_file_name_with_a_newline_and_an_escape_is_one_line_of_error_not_a_terminal_command(
    tmp_path: Path, command: list[str]
) -> None:
    # Printed raw, the message broke over two lines and turned the terminal red.
    name = tmp_path / "e\nx\x1b[31m<b>"
    name.write_bytes(b"")
    result = subprocess.run(
        [sys.executable, "-m", "tui.cli", *command, str(name)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"headerwatch: error: {tmp_path}/e\\x0ax\\x1b[31m<b>: empty file, nothing to read"
    ]


@pytest.mark.parametrize(
    ("option", "said"),
    [
        (["--region", ""], "headerwatch: error: --region '' is not a region code such as GB or US"),
        (
            ["--recurrence", "99999999999999999999999"],
            "not 0 or a number of sites from 2 to 1000: '99999999999999999999999'",
        ),
    ],
)
def test_an_empty_region_or_a_recurrence_no_study_reaches_is_refused_not_passed_over(
    option: list[str], said: str
) -> None:
    """Both were taken in silence: "" as no region, 10^22 sites as a detector on."""
    code, lines = _scan_stderr({"LANG": "C.UTF-8"}, *option, demo_capture_path())
    assert code == 2
    assert said in lines[-1]
