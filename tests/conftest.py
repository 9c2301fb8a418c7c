"""Shared fixtures and helpers for the whole suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PCAPS = Path(os.environ.get("HEADERWATCH_PCAPS", REPO.parent / "shared" / "pcaps"))


@pytest.fixture(scope="session")
def pcaps_dir() -> Path:
    """The shared corpus of real captures with oracles."""
    if not PCAPS.is_dir():
        pytest.fail(f"the shared pcap corpus is missing at {PCAPS} (set HEADERWATCH_PCAPS)")
    return PCAPS
