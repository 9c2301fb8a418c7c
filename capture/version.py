"""headerwatch's version, as files it writes and ``headerwatch --version`` name it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from capture.pipeline import Detector

_NAMED = 8
"""How many header names a catalog's changes name before they only count the rest."""


def tool_version() -> str:
    """headerwatch's installed version (``0.1.0``), or ``unknown`` where it runs from a
    checkout that was never installed."""
    # Imported here: importlib.metadata is start-up every command would pay, and only
    # the writers of sessions, HAR, reports and pcapng (and --version) ask.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("headerwatch")
    except PackageNotFoundError:
        return "unknown"


def catalog_version(detector: Detector | None = None) -> str:
    """The identity catalog as shipped: its entry count and the start of its SHA-256
    (the catalog has no version number of its own; the hash names it exactly). With
    ``detector``, the one whose findings are cited, the headers a configuration added
    to its catalog, redefined or disabled in it are named too: those findings are not
    the shipped catalog's alone."""
    import hashlib
    from importlib import resources

    from capture.identity.catalog import load_catalog
    from capture.identity.detector import IdentityDetector

    text = resources.files("capture.identity").joinpath("catalog.toml").read_bytes()
    shipped = load_catalog()
    said = f"{len(shipped)} headers, sha256 {hashlib.sha256(text).hexdigest()[:16]}"
    used = detector.catalog if isinstance(detector, IdentityDetector) else None
    if used is None or used.entries == shipped.entries:
        return said
    kept = set(shipped.entries)
    changed = [e for e in used.entries if e not in kept]
    redefined = [e.name for e in changed if shipped.lookup(e.key) is not None]
    added = [e.name for e in changed if shipped.lookup(e.key) is None]
    disabled = [e.name for e in shipped.entries if used.lookup(e.key) is None]
    changes = [
        f"{verb} {_names(names)}"
        for verb, names in (("added", added), ("redefined", redefined), ("disabled", disabled))
        if names
    ]
    return f"{said}, as the configuration changed it: {'; '.join(changes)}"


def _names(names: list[str]) -> str:
    """``x-a, x-b`` (at most :data:`_NAMED` of them, then how many more)."""
    more = len(names) - _NAMED
    return ", ".join(names[:_NAMED]) + (f" and {more} more" if more > 0 else "")
