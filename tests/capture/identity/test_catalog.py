"""The catalog data file, its loader and the ``headerwatch rules`` table."""

from __future__ import annotations

import pytest

from capture.identity.catalog import (
    CATALOG_KINDS,
    Catalog,
    CatalogError,
    format_rules,
    load_catalog,
    make_entry,
    parse_catalog,
)
from capture.identity.names import normalize_name
from capture.model import SEVERITIES

REQUIRED = [
    "x-up-calling-line-id",
    "msisdn",
    "x-msisdn",
    "x-nokia-msisdn",
    "x-wap-msisdn",
    "x-up-subno",
    "x-up-3gpp-imeisv",
    "x-imsi",
    "x-uidh",
    "x-acr",
    "x-vf-acr",
    "x-amobee-1",
    "x-up-nai",
    "x-forwarded-for",
    "x-wap-profile",
    "via",
]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def test_catalog_has_dozens_of_entries(catalog: Catalog) -> None:
    assert len(catalog) >= 50


@pytest.mark.parametrize("name", REQUIRED)
def test_required_headers_are_listed(catalog: Catalog, name: str) -> None:
    assert catalog.lookup(name) is not None


def test_every_entry_is_complete(catalog: Catalog) -> None:
    for entry in catalog.entries:
        assert entry.kind in CATALOG_KINDS, entry
        assert entry.severity in SEVERITIES, entry
        assert entry.description and entry.source, entry
        assert entry.key == normalize_name(entry.name)


def test_known_kinds_of_famous_headers(catalog: Catalog) -> None:
    def kind(name: str) -> str:
        entry = catalog.lookup(name)
        assert entry is not None
        return entry.kind

    assert kind("x-up-calling-line-id") == "msisdn"
    assert kind("x-uidh") == "tracking_id"
    assert kind("x-up-3gpp-imeisv") == "imei"
    assert kind("x-imsi") == "imsi"
    assert kind("x-forwarded-for") == "client_ip"
    assert kind("via") == "network_info"
    assert kind("x-wap-profile") == "device_profile"


@pytest.mark.parametrize("spelling", ["HTTP_X_MSISDN", "x.msisdn", "X-Msisdn", "x_msisdn"])
def test_lookup_ignores_case_and_separators(catalog: Catalog, spelling: str) -> None:
    entry = catalog.lookup(normalize_name(spelling))
    assert entry is not None and entry.name == "x-msisdn"


def test_jinny_dot_spelling_finds_the_entry(catalog: Catalog) -> None:
    entry = catalog.lookup(normalize_name("X-Jinny.cid"))
    assert entry is not None and entry.kind == "msisdn"


def test_benign_names_are_not_in_the_catalog(catalog: Catalog) -> None:
    assert "date" in catalog.benign and "x-request-id" in catalog.benign
    assert not [name for name in catalog.benign if catalog.lookup(name)]


def test_duplicate_names_are_rejected() -> None:
    text = """
[[header]]
name = "x-msisdn"
kind = "msisdn"
severity = "high"
description = "a"
source = "b"
[[header]]
name = "X_MSISDN"
kind = "msisdn"
severity = "high"
description = "a"
source = "b"
"""
    with pytest.raises(CatalogError, match="duplicate catalog entry 'X_MSISDN'"):
        parse_catalog(text)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('kind = "phone"\nseverity = "high"', "kind 'phone' is not one of"),
        ('kind = "msisdn"\nseverity = "urgent"', "severity 'urgent' is not one of"),
        ('kind = "msisdn"', "'severity' must be a non-empty string"),
        ('kind = "msisdn"\nseverity = "high"\nheader_only = "yes"', "'header_only' must be true"),
    ],
)
def test_bad_entries_are_named(body: str, message: str) -> None:
    text = f'[[header]]\nname = "x-a"\n{body}\ndescription = "d"\nsource = "s"\n'
    with pytest.raises(CatalogError, match=message):
        parse_catalog(text)


def test_only_common_words_are_header_only(catalog: Catalog) -> None:
    assert [e.name for e in catalog.entries if e.header_only] == ["clientid"]
    msisdn = catalog.lookup("x-msisdn")
    assert msisdn is not None and not msisdn.header_only


def test_invalid_toml_is_reported() -> None:
    with pytest.raises(CatalogError, match="not valid TOML"):
        parse_catalog("[[header]\n")


def test_customized_adds_replaces_and_removes(catalog: Catalog) -> None:
    extra = [
        make_entry("X-Acme-Sub", "subscriber_id", "medium"),
        make_entry("via", "msisdn", "low"),
        make_entry("DNT", "subscriber_id", "low"),  # benign until configured
    ]
    custom = catalog.customized(extra, ["x-uidh"])
    assert "dnt" in catalog.benign and "dnt" not in custom.benign
    assert isinstance(custom.benign, frozenset)
    assert custom.lookup("x-uidh") is None
    added = custom.lookup("x-acme-sub")
    assert added is not None and added.severity == "medium"
    via = custom.lookup("via")
    assert via is not None and via.kind == "msisdn"
    assert len(custom) == len(catalog) + 1  # +2 added, 1 replaced, -1 removed


def test_format_rules_is_an_aligned_table(catalog: Catalog) -> None:
    text = format_rules(catalog)
    lines = text.splitlines()
    assert lines[0].split() == ["HEADER", "KIND", "SEVERITY", "DESCRIPTION"]
    rows = lines[1 : 1 + len(catalog)]
    assert len(rows) == len(catalog)
    kind_column = lines[0].index("KIND")
    severity_column = lines[0].index("SEVERITY")
    for row in rows:
        assert row[kind_column - 1] == " " and row[kind_column] != " "
        assert row[severity_column - 1] == " " and row[severity_column] != " "
    # Most severe first.
    assert rows[0].split()[2] == "high" and rows[-1].split()[2] == "info"
    assert lines[-1].startswith(f"{len(catalog)} headers (")


def test_format_rules_with_sources(catalog: Catalog) -> None:
    text = format_rules(catalog, sources=True)
    assert text.count("source: ") == len(catalog)
    assert "webpolicy.org" in text


def test_rules_with_sources_lists_every_source_and_explains_every_abbreviation(
    catalog: Catalog,
) -> None:
    text = format_rules(catalog, sources=True)
    for entry in catalog.entries:
        assert f"source: {entry.source}" in text
    section = text.split("SOURCES (abbreviations used above)", 1)[1]
    for abbreviation in catalog.sources:
        assert f"  {abbreviation} " in section
    assert "https://blog.jgc.org/2012/02/mobile-subscriber-leakage-in-http.html" in section


def test_every_abbreviation_is_cited_and_the_new_sources_are_there(catalog: Catalog) -> None:
    cited = " ".join(entry.source for entry in catalog.entries)
    assert [a for a in catalog.sources if a not in cited] == []
    assert {"jpmobile", "mobile-subscriber", "AccessNow-CSV"} <= set(catalog.sources)
    for name in ("x-dcmguid", "x-em-uid", "x-up-ch-msisdn", "x-ztgo-beareraddress", "x-nokia-imsi"):
        assert catalog.lookup(name) is not None


def test_the_rules_table_fits_a_terminal_wrapping_at_words_under_their_column() -> None:
    # At 80 columns a terminal cut the descriptions mid-word ("...with sof / tware").
    catalog = load_catalog()
    whole = format_rules(catalog, sources=True)
    fitted = format_rules(catalog, sources=True, width=80)
    table = fitted.split("\nSOURCES")[0].splitlines()
    for text in table:
        # Longer only where one word (a URL, a file's path) is longer than the room.
        assert len(text) <= 80 or max(map(len, text.split())) > 80 - 51, text
    assert fitted.split() == whole.split()  # the same words, in the same order
    assert format_rules(catalog) == format_rules(catalog, width=None)
