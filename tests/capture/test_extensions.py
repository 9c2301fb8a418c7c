"""The optional C extensions, as built: present, and not older than their source.

Each has a Python twin that its own test file compares it with
(test_pcapwalk.py, test_headsplit.py, test_model.py); here only the build is checked. An
editable install builds them once, so after an edit of a C source the old build
would go on being tested: rebuild with ``pip install -e .``.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

EXTENSIONS = [
    "sources._pcapwalk",
    "http._headsplit",
    "sources._eveline",
    "_positional",
    "net._inorder",
]


@pytest.mark.parametrize("name", EXTENSIONS)
def test_the_build_is_not_older_than_its_source(name: str) -> None:
    try:
        module = importlib.import_module(f"capture.{name}")
    except ImportError:
        pytest.skip(
            f"capture.{name} is not built (no C compiler at install); .ci/run fails on that"
        )
    built = Path(str(module.__file__))
    source = built.with_name(f"{name.rpartition('.')[2]}.c")
    if not source.exists():
        pytest.skip("installed without the C sources (not an editable install)")
    assert built.stat().st_mtime >= source.stat().st_mtime, (
        f"{built.name} is older than {source.name}: rebuild with pip install -e ."
    )
