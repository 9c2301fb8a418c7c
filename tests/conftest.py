"""Shared fixtures and helpers for the whole suite."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# Real captures with peer oracles, kept in the repository (provenance: tests/data/pcaps/README.md).
PCAPS = REPO / "tests" / "data" / "pcaps"


@pytest.fixture(scope="session")
def pcaps_dir() -> Path:
    """The corpus of real captures with oracles."""
    return PCAPS
