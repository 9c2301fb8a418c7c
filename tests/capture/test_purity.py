"""The capture core must stay importable without the TUI stack."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import capture


def _modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(capture.__path__, prefix="capture."))


def test_there_are_modules_to_check() -> None:
    names = _modules()
    assert "capture.pipeline" in names and "capture.net.reassembly" in names


def test_no_capture_module_imports_textual_or_rich() -> None:
    """Import every capture module in a fresh interpreter; textual/rich must stay out."""
    code = (
        "import importlib, sys\n"
        f"for name in {_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "", f"capture pulled in: {result.stdout.strip()}"
