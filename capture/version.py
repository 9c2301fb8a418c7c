"""headerwatch's version, as files it writes and ``headerwatch --version`` name it."""

from __future__ import annotations


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


def catalog_version() -> str:
    """The identity catalog as shipped: its entry count and the start of its SHA-256
    (the catalog has no version number of its own; the hash names it exactly)."""
    import hashlib
    from importlib import resources

    from capture.identity.catalog import load_catalog

    text = resources.files("capture.identity").joinpath("catalog.toml").read_bytes()
    return f"{len(load_catalog())} headers, sha256 {hashlib.sha256(text).hexdigest()[:16]}"
