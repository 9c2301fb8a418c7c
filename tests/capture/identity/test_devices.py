"""IMEI / IMEISV (Luhn, reporting bodies) and IMSI (Mobile Country Codes)."""

from __future__ import annotations

import pytest

from capture.identity.devices import (
    imsi_by_structure,
    luhn_ok,
    mcc_mnc_prefixes,
    mcc_regions,
    parse_imei,
    parse_imsi,
)

IMEI = "490154203237518"  # the example IMEI of the GSMA / Wikipedia, Luhn-valid


def test_luhn() -> None:
    assert luhn_ok(IMEI)
    assert not luhn_ok("490154203237519")
    assert luhn_ok("79927398713")


@pytest.mark.parametrize("text", [IMEI, "49-015420-323751-8", "49 015420 323751 8"])
def test_imei_forms_unnamed(text: str) -> None:
    match = parse_imei(text, named=False)
    assert match is not None
    assert match.kind == "imei" and match.digits == IMEI
    assert match.detail == "IMEI · TAC 49015420 · Luhn ok"


def test_unnamed_imei_needs_luhn_and_a_reporting_body() -> None:
    assert parse_imei("490154203237519", named=False) is None  # bad check digit
    assert parse_imei("120154203237516", named=False) is None  # Luhn ok, RBI 12 unknown
    assert luhn_ok("120154203237516")


def test_named_imei_accepts_imeisv_and_14_digits() -> None:
    sv = parse_imei("4901542032375101", named=True)
    assert sv is not None and sv.detail == "IMEISV · TAC 49015420 · SV 01"
    short = parse_imei("49015420323751", named=True)
    assert short is not None and short.digits == "49015420323751"
    bad = parse_imei("490154203237519", named=True)
    assert bad is not None and "Luhn check fails" in bad.detail
    assert parse_imei("4901542032", named=True) is None
    assert parse_imei("35209900-abc", named=True) is None


@pytest.mark.parametrize(
    ("imsi", "detail"),
    [
        ("001010123456789", "IMSI · MCC 001 (test network) · MNC 01"),
        ("234150999999999", "IMSI · MCC 234 (GB) · MNC 15"),
        ("310260123456789", "IMSI · MCC 310 (US) · MNC 26"),
    ],
)
def test_imsi_with_known_mcc(imsi: str, detail: str) -> None:
    match = parse_imsi(imsi)
    assert match is not None and match.digits == imsi and match.detail == detail


@pytest.mark.parametrize(
    "text", ["100004123456789", "999990123456789", "23415099999", "2341509999999999x"]
)
def test_imsi_needs_a_known_mcc_and_length(text: str) -> None:
    assert parse_imsi(text) is None


def test_mcc_table_is_loaded_from_data() -> None:
    regions = mcc_regions()
    assert len(regions) > 200
    assert regions["234"] == "GB" and regions["310"] == "US" and regions["460"] == "CN"


@pytest.mark.parametrize(
    ("digits", "mcc", "mnc"),
    [
        ("234150999999999", "234", "15"),  # Vodafone UK: the UK test IMSI
        ("310150123456789", "310", "150"),  # AT&T: the example of Wikipedia's IMSI article
        ("460001357924680", "460", "00"),  # China Mobile: the same article's other example
        ("704012013128442", "704", "01"),  # Claro Guatemala (mobile-subscriber's factories)
        ("001010123456789", "001", "01"),  # the 3GPP test network
    ],
)
def test_an_imsi_is_proved_by_a_listed_mcc_and_mnc(digits: str, mcc: str, mnc: str) -> None:
    match = imsi_by_structure(digits)
    assert match is not None and match.kind == "imsi" and match.digits == digits
    assert f"MCC {mcc} " in match.detail and f"MNC {mnc} " in match.detail


@pytest.mark.parametrize(
    "digits",
    [
        "23415099999999",  # 14 digits: allowed by the standard, too weak without a name
        "2341509999999999",  # 16 digits
        "234059999999999",  # MCC 234 with MNC 05 or 059: not listed
        "123456789012345",  # no MCC starts with 1
        "176480000000000",  # a clock in 10-microsecond steps (2025): no MCC 176
        "999990123456789",
        "23415099999999x",
    ],
)
def test_an_imsi_by_structure_needs_15_digits_and_a_listed_network(digits: str) -> None:
    assert imsi_by_structure(digits) is None


def test_mnc_table_is_loaded_from_data() -> None:
    prefixes = mcc_mnc_prefixes()
    assert len(prefixes) > 2000
    assert {"23415", "310150", "46000", "00101"} <= prefixes
    assert all(p.isdigit() and len(p) in (5, 6) for p in prefixes)
    # The share of all 15-digit numbers that pass (1.7%): what the names must filter.
    five = sum(1 for p in prefixes if len(p) == 5)
    six = sum(1 for p in prefixes if len(p) == 6 and p[:5] not in prefixes)
    assert 0.01 < five / 100_000 + six / 1_000_000 < 0.02
