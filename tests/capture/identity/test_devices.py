"""IMEI / IMEISV (Luhn, reporting bodies) and IMSI (Mobile Country Codes)."""

from __future__ import annotations

import pytest

from capture.identity.devices import luhn_ok, mcc_regions, parse_imei, parse_imsi

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
