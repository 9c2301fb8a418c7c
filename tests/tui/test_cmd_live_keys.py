"""The live dashboard takes its keys from the ``--config`` file, as its identities."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

import tui.app as app_module
from capture.identity.detector import IdentityDetector
from capture.sources.source import FileSource
from tests.tui.test_saving_from_a_recording import _Iface
from tui.cmd_live import dashboard
from tui.common import UsageError, dashboard_keys, demo_capture_path


def _args(config: Path | None) -> argparse.Namespace:
    return argparse.Namespace(config=None if config is None else str(config))


def test_the_config_files_keys_and_quit_question_are_the_live_dashboards(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[keys]\nfollow = "F,ctrl+f"\n\n[ui]\nconfirm_quit = false\n')
    keys = dashboard_keys(_args(config))
    assert keys == ({"headerwatch.follow": "F,ctrl+f"}, False)
    app, _ = dashboard(
        app_module, FileSource([demo_capture_path()]), _Iface(), IdentityDetector(), keys=keys
    )  # type: ignore[arg-type]
    assert app.keymap == {"headerwatch.follow": "F,ctrl+f"}
    assert app.confirm_quit is False


def test_without_config_the_default_files_keys_are_read(tmp_path: Path) -> None:
    # conftest points XDG_CONFIG_HOME at an empty folder: no file, no remapping.
    assert dashboard_keys(_args(None)) == ({}, True)


def test_a_bad_keys_table_in_the_config_file_is_one_usage_error(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[keys]\nquit = 5\n")
    with pytest.raises(UsageError) as caught:
        dashboard_keys(_args(config))
    assert str(caught.value).startswith(f"{config}: [keys] quit")
    assert "\n" not in str(caught.value)
