"""Phone numbers through libphonenumber: lenient when named, strict when not."""

from __future__ import annotations

import subprocess
import sys

import phonenumbers
import pytest

from capture.identity.phone import (
    SUPPORTED_REGIONS,
    is_region,
    parse_e164,
    parse_international,
    parse_lenient,
    parse_strict,
)

# Fictional numbers only: Ofcom's drama range and the US 555-01xx range.
UK = "+447700900123"
US = "+12015550123"


def test_test_numbers_are_what_the_tests_assume() -> None:
    """libphonenumber 9 calls the Ofcom drama range unallocated; US 555-01xx is valid."""
    uk = phonenumbers.parse(UK)
    assert phonenumbers.is_possible_number(uk) and not phonenumbers.is_valid_number(uk)
    us = phonenumbers.parse(US)
    assert phonenumbers.is_valid_number(us)


def test_the_bundled_regions_are_those_of_the_installed_libphonenumber() -> None:
    """is_region answers from a copy, so that a region check imports nothing: an upgrade
    of phonenumbers that adds or drops a region must fail here, not drift."""
    assert frozenset(phonenumbers.SUPPORTED_REGIONS) == SUPPORTED_REGIONS


def test_is_region_knows_regions_and_nothing_else() -> None:
    assert is_region("GB") and is_region("US")
    assert not is_region("gb") and not is_region("ZZ") and not is_region("001")


@pytest.mark.parametrize(
    ("text", "region"),
    [
        ("447700900123", None),
        ("+447700900123", None),
        ("+44 7700 900123", None),
        ("00447700900123", None),
        ("07700 900123", "GB"),
        ("07700900123", "GB"),
        ("447700900123", "GB"),
    ],
)
def test_lenient_reads_every_form_of_a_uk_number(text: str, region: str | None) -> None:
    match = parse_lenient(text, region)
    assert match is not None
    assert match.e164 == UK
    assert match.detail == "+44 7700 900123 · GB, unallocated range"


@pytest.mark.parametrize(
    ("text", "region"),
    [
        ("(201) 555-0123", "US"),
        ("201-555-0123", "US"),
        ("12015550123", None),
        ("+1 201 555 0123", "GB"),
    ],
)
def test_lenient_reads_us_forms(text: str, region: str | None) -> None:
    match = parse_lenient(text, region)
    assert match is not None
    assert match.e164 == US and match.valid
    assert match.detail == "+1 201-555-0123 · US fixed line or mobile"


def test_region_breaks_ties_between_readings() -> None:
    # 6044301297: Vancouver without its country code, or +60 (Malaysia) 4430 1297.
    canadian = parse_lenient("6044301297", "CA")
    assert canadian is not None and canadian.e164 == "+16044301297"


@pytest.mark.parametrize(
    "text", ["", "abc", "12345", "Thu, 23 Apr 2009 00:01:55 GMT", "GPRS,447700900123"]
)
def test_lenient_refuses_text_that_is_not_a_number(text: str) -> None:
    assert parse_lenient(text, "GB") is None


def test_strict_accepts_valid_mobile_digits() -> None:
    match = parse_strict("12015550123")
    assert match is not None and match.e164 == US and match.mobile


@pytest.mark.parametrize(
    "digits",
    [
        "447700900123",  # unallocated range: strict wants a valid number
        "1326205331",  # epoch seconds
        "1326205331123",  # epoch milliseconds
        "9780306406157",  # ISBN-13
        "4337126792298",  # a cookie counter (+43 is Austria, but not a valid number)
        "442079460123",  # valid, but a London fixed line: carriers inject mobile numbers
        "012015550123",
        "123456",
    ],
)
def test_strict_rejects_what_is_not_a_carrier_msisdn(digits: str) -> None:
    assert parse_strict(digits) is None


def test_international_accepts_possible_numbers() -> None:
    match = parse_international("447700900123")
    assert match is not None and match.e164 == UK
    assert parse_international("+12015550123") is not None
    assert parse_international("1326205331") is None


def test_e164_needs_a_valid_number() -> None:
    match = parse_e164("+1 201 555 0123")
    assert match is not None and match.e164 == US
    assert parse_e164("+447700900123") is None
    assert parse_e164("+0100") is None


@pytest.mark.parametrize("text", ["10.103.132.128", "70.214.81.241", "211.139.172.70"])
def test_an_ipv4_address_is_never_a_number(text: str) -> None:
    # Adobe's X-SUBSCRIBER-INFO example (IP=10.103.132.128) under a subscriber name.
    assert parse_lenient(text, "US") is None and parse_lenient(text, None) is None


def test_dotted_numbers_that_are_not_addresses_still_read() -> None:
    match = parse_lenient("201.555.0123", "US")
    assert match is not None and match.e164 == "+12015550123"


# Run in a fresh interpreter: this test process has imported hashlib already.
_WITHOUT_CANARIES = """
import sys
from capture.identity import phone
from capture.identity.detector import IdentityDetector

IdentityDetector()  # the locale's region is checked, a canary-free matcher built
assert phone.parse_lenient("07700 900123", "GB") is not None
print("hashlib" in sys.modules, phone.libphonenumber().PhoneNumber.__module__)
"""


def test_hashlib_is_not_loaded_by_a_detector_without_canaries() -> None:
    """OpenSSL's start-up (11 M instructions) is paid only where a canary is built:
    hashlib is imported by the canary code that digests, not at import."""
    result = subprocess.run(
        [sys.executable, "-c", _WITHOUT_CANARIES], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "phonenumbers.phonenumber"]
