"""The identity-header catalog: loading ``catalog.toml`` and printing it.

The catalog is data (``capture/identity/catalog.toml``); this module reads it
with :mod:`tomllib` through :mod:`importlib.resources` (so it works from a wheel
or a zip; parsed once, see :mod:`capture.identity.bundled`), checks every entry,
and indexes it by normalised name so that ``HTTP_X_MSISDN``, ``x.msisdn`` and
``X-Msisdn`` find the same entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from capture.identity.bundled import bundled_toml
from capture.identity.names import normalize_name
from capture.model import IDENTITY_KINDS, INFO_KINDS, SEVERITIES
from capture.text import printable

# "canary" is a finding kind, not something a header name can declare.
CATALOG_KINDS = tuple(k for k in IDENTITY_KINDS if k != "canary") + INFO_KINDS


class CatalogError(ValueError):
    """The catalog data is malformed; the message names the entry and the problem."""


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """One identity header."""

    name: str
    kind: str
    severity: str
    description: str
    source: str
    header_only: bool = False
    """True where the name means the identity only as a header: a common word as a
    parameter or JSON key (``clientId``, an OAuth or analytics client's ID)."""

    @property
    def key(self) -> str:
        """The normalised name this entry is looked up by."""
        return normalize_name(self.name)

    @property
    def is_identity(self) -> bool:
        """True when the header carries an identity (not only network information)."""
        return self.kind in IDENTITY_KINDS


@dataclass(frozen=True, slots=True, eq=False)
class Catalog:
    """The entries, the benign names, and an index by normalised name."""

    entries: tuple[CatalogEntry, ...]
    benign: frozenset[str] = frozenset()
    sources: Mapping[str, str] = field(default_factory=dict)
    """Abbreviation -> what it stands for, for the abbreviations the sources use."""
    _index: Mapping[str, CatalogEntry] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        index: dict[str, CatalogEntry] = {}
        for entry in self.entries:
            key = entry.key  # normalised on each use of the property
            if key in index:
                raise CatalogError(
                    f"duplicate catalog entry {entry.name!r} (same as {index[key].name!r})"
                )
            index[key] = entry
        object.__setattr__(self, "_index", MappingProxyType(index))

    def lookup(self, key: str) -> CatalogEntry | None:
        """The entry for a *normalised* name (see :func:`normalize_name`), or ``None``."""
        return self._index.get(key)

    def __len__(self) -> int:
        return len(self.entries)

    def customized(
        self, extra: Iterable[CatalogEntry] = (), disabled: Iterable[str] = ()
    ) -> Catalog:
        """A copy with ``extra`` entries added (or replaced) and ``disabled`` ones removed
        (this catalog itself when there are none: it is immutable)."""
        removed = {normalize_name(name) for name in disabled}
        added = {entry.key: entry for entry in extra}
        if not (removed or added):
            # Every run without a config: not indexed again (0.8 M instructions).
            return self
        kept = [e for e in self.entries if e.key not in removed and e.key not in added]
        kept.extend(e for e in added.values() if e.key not in removed)
        # frozenset - dict_keys is a set (dict_keys.__rsub__ answers); difference() keeps it frozen.
        return Catalog(tuple(kept), self.benign.difference(added), self.sources)


def make_entry(
    name: str,
    kind: str,
    severity: str,
    description: str = "",
    source: str = "",
    header_only: bool = False,
) -> CatalogEntry:
    """A checked :class:`CatalogEntry`; raises :class:`CatalogError` naming what is wrong."""
    if not name or not name.strip():
        raise CatalogError("header name is empty")
    if not name.isprintable():
        # No header on the wire has one, and the engine rules and the catalog table
        # would carry it: a line break ends a Suricata rule, an escape drives a terminal.
        raise CatalogError(
            f"header name '{printable(name)}' holds a control or invisible character; "
            "no header name can"
        )
    if kind not in CATALOG_KINDS:
        raise CatalogError(f"{name}: kind {kind!r} is not one of {', '.join(CATALOG_KINDS)}")
    if severity not in SEVERITIES:
        raise CatalogError(f"{name}: severity {severity!r} is not one of {', '.join(SEVERITIES)}")
    return CatalogEntry(name.strip(), kind, severity, description, source, header_only)


def _text_field(raw: Mapping[str, object], key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CatalogError(f"{where}: '{key}' must be a non-empty string")
    return value


def parse_catalog(text: str) -> Catalog:
    """A :class:`Catalog` from TOML text in the format of ``catalog.toml``."""
    import tomllib  # the bundled catalog is read without it (load_catalog)

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"catalog is not valid TOML: {exc}") from None
    return catalog_from_table(data)


def catalog_from_table(data: Mapping[str, Any]) -> Catalog:
    """A :class:`Catalog` from a TOML table in the format of ``catalog.toml``."""
    headers = data.get("header", [])
    if not isinstance(headers, list):
        raise CatalogError("'header' must be an array of tables ([[header]])")
    entries = []
    for number, raw in enumerate(headers, 1):
        if not isinstance(raw, dict):
            raise CatalogError(f"header #{number} is not a table")
        where = f"header #{number} ({raw.get('name', '?')})"
        header_only = raw.get("header_only", False)
        if not isinstance(header_only, bool):
            raise CatalogError(f"{where}: 'header_only' must be true or false")
        entries.append(
            make_entry(
                _text_field(raw, "name", where),
                _text_field(raw, "kind", where),
                _text_field(raw, "severity", where),
                _text_field(raw, "description", where),
                _text_field(raw, "source", where),
                header_only,
            )
        )
    benign = data.get("benign", [])
    if not isinstance(benign, list) or not all(isinstance(n, str) for n in benign):
        raise CatalogError("'benign' must be a list of header names")
    sources = data.get("sources", {})
    if not isinstance(sources, dict) or not all(isinstance(v, str) for v in sources.values()):
        raise CatalogError("'sources' must be a table of abbreviation = \"what it stands for\"")
    return Catalog(
        tuple(entries),
        frozenset(normalize_name(n) for n in benign),
        MappingProxyType(dict(sources)),
    )


def load_catalog() -> Catalog:
    """The catalog bundled with headerwatch (``capture/identity/catalog.toml``)."""
    return catalog_from_table(bundled_toml("capture.identity", "catalog.toml"))


_SEVERITY_ORDER = {name: rank for rank, name in enumerate(SEVERITIES)}


def format_rules(catalog: Catalog, sources: bool = False, width: int | None = None) -> str:
    """The catalog as an aligned plain-text table, most severe first (for ``headerwatch rules``).

    With ``sources``, each row is followed by an indented line saying where the
    header was documented, and the table by every abbreviation those lines use,
    spelled out. With ``width`` (a terminal's columns), the descriptions and sources
    are wrapped at words under their column, where a terminal cut them mid-word.
    """
    rows = sorted(catalog.entries, key=lambda e: (_SEVERITY_ORDER[e.severity], e.kind, e.key))
    headings = ("HEADER", "KIND", "SEVERITY", "DESCRIPTION")
    table = [(e.name, e.kind, e.severity, e.description) for e in rows]
    widths = [max(len(r[i]) for r in [headings, *table]) for i in range(3)]
    indent = " " * (sum(widths) + 2 * 3)

    def line(cells: tuple[str, str, str, str]) -> list[str]:
        left = "  ".join(cell.ljust(width) for cell, width in zip(cells[:3], widths, strict=True))
        return _wrapped(cells[3], f"{left}  ", indent, width)

    out = line(headings)
    source_lead = " " * (widths[0] + 2)
    for entry, cells in zip(rows, table, strict=True):
        out.extend(line(cells))
        if sources:
            out.extend(
                _wrapped(f"source: {entry.source}", source_lead, source_lead + " " * 8, width)
            )
    if sources:
        out.extend(_source_list(catalog))
    identities = sum(1 for e in rows if e.is_identity)
    out.append("")
    out.append(
        f"{len(rows)} headers ({identities} identity, {len(rows) - identities} informational)"
    )
    return "\n".join(out) + "\n"


def _wrapped(text: str, first: str, lead: str, width: int | None) -> list[str]:
    """``text`` after ``first``, wrapped at words to ``width`` columns (None: one line)
    with ``lead`` before each line after the first; never narrower than 24 columns of
    text (a terminal narrower than the table's first columns gets a narrow last one)."""
    if width is None:
        return [f"{first}{text}".rstrip()]
    import textwrap  # `headerwatch rules` on a terminal alone gets here

    return textwrap.wrap(
        text,
        max(len(lead) + 24, width),
        initial_indent=first,
        subsequent_indent=lead,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [first.rstrip()]


def _source_list(catalog: Catalog) -> list[str]:
    """The SOURCES section: each abbreviation used, wrapped to 100 columns."""
    if not catalog.sources:
        return []
    import textwrap  # `headerwatch rules` alone gets here

    width = max(len(abbreviation) for abbreviation in catalog.sources)
    out = ["", "SOURCES (abbreviations used above)"]
    for abbreviation, meaning in sorted(catalog.sources.items(), key=lambda i: i[0].lower()):
        # URLs and file names stay whole: a line may run long rather than break one.
        lines = textwrap.wrap(
            meaning, 96 - width, break_long_words=False, break_on_hyphens=False
        ) or [""]
        out.append(f"  {abbreviation.ljust(width)}  {lines[0]}")
        out.extend(f"  {'':{width}}  {line}" for line in lines[1:])
    return out
