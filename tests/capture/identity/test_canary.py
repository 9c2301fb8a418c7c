"""Canaries: the test phone's own values, found in every form and encoding."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capture.identity.canary import (
    CanaryMatcher,
    _hashes,
    imei_canary,
    imsi_canary,
    msisdn_canary,
    value_canary,
)
from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.identity.phone import parse_lenient
from capture.model import Finding
from tests.capture.identity.factory import make_request

E164 = "+447700900123"
INTL = "447700900123"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _digest(algorithm: str, text: str) -> str:
    return hashlib.new(algorithm, text.encode()).hexdigest()


MSISDN_FORMS = [
    (E164, "E.164 form +447700900123"),
    (INTL, "international form 447700900123"),
    ("00447700900123", "00-prefixed form 00447700900123"),
    ("07700900123", "national form 07700900123"),
    ("7700900123", "national significant number 7700900123"),
    ("+44 7700 900123", "international format"),
    ("07700 900123", "national format"),
    ("tel:+44-7700-900123", "tel: URI"),
    ("%2B447700900123", "URL-encoded +447700900123"),
    ("%2B44%207700%20900123", "URL-encoded +44 7700 900123"),
    (_b64(E164), "base64 of +447700900123"),
    (_b64(E164).rstrip("="), "base64 of +447700900123"),
    (_b64(INTL), "base64 of 447700900123"),
    (_b64("07700900123"), "base64 of 07700900123"),
    (E164.encode().hex(), "hex of +447700900123"),
    (E164.encode().hex().upper(), "hex (upper case) of +447700900123"),
    (INTL.encode().hex(), "hex of 447700900123"),
    (_digest("md5", E164), "md5 of +447700900123"),
    (_digest("md5", E164).upper(), "md5 (upper case) of +447700900123"),
    (_digest("sha1", E164), "sha1 of +447700900123"),
    (_digest("sha1", E164).upper(), "sha1 (upper case) of +447700900123"),
    (_digest("sha256", E164), "sha256 of +447700900123"),
    (_digest("sha256", E164).upper(), "sha256 (upper case) of +447700900123"),
    (_digest("sha256", INTL), "sha256 of 447700900123"),
    (_digest("md5", "07700900123"), "md5 of 07700900123"),
    (_digest("sha1", "7700900123"), "sha1 of 7700900123"),
]


@pytest.fixture(scope="module")
def detector() -> IdentityDetector:
    return IdentityDetector(
        IdentityConfig(
            region="GB",
            msisdns=("07700 900123",),
            imeis=("490154203237518",),
            imsis=("234150999999999",),
            canaries=("Alice@Example.com",),
        )
    )


def _canaries(findings: tuple[Finding, ...]) -> list[Finding]:
    return [f for f in findings if f.kind == "canary"]


@pytest.mark.parametrize(("text", "description"), MSISDN_FORMS)
def test_every_msisdn_form_in_a_header(
    detector: IdentityDetector, text: str, description: str
) -> None:
    request = make_request(add=[("X-Anything", f"v=1; id={text}; z=2")])
    [finding] = _canaries(detector.detect(request))
    assert finding == Finding(
        name="X-Anything",
        where="header",
        kind="canary",
        value=text,
        normalized=E164,
        detector="canary",
        severity="high",
        detail=description,
    )


@pytest.mark.parametrize(("text", "description"), MSISDN_FORMS[::3])
def test_msisdn_forms_in_cookies(detector: IdentityDetector, text: str, description: str) -> None:
    request = make_request(add=[("Cookie", f"sid=abc; u={text}")])
    [finding] = _canaries(detector.detect(request))
    assert (finding.where, finding.name, finding.detail) == ("cookie", "u", description)


@pytest.mark.parametrize(("text", "description"), MSISDN_FORMS[1::3])
def test_msisdn_forms_in_query(detector: IdentityDetector, text: str, description: str) -> None:
    request = make_request(uri=f"/track?a=1&h={text}&b=2")
    [finding] = _canaries(detector.detect(request))
    assert (finding.where, finding.name, finding.detail) == ("query", "h", description)


def test_msisdn_in_the_path_and_the_body(detector: IdentityDetector) -> None:
    request = make_request(
        method="POST",
        uri=f"/users/{INTL}/profile",
        add=[("Content-Type", "application/json")],
        body=b'{"phone": "' + _digest("sha256", E164).encode() + b'"}',
    )
    found = {(f.where, f.name, f.detail) for f in _canaries(detector.detect(request))}
    assert found == {
        ("query", "(path)", "international form 447700900123"),
        ("body", "phone", "sha256 of +447700900123"),
    }


def test_a_canary_in_a_json_body_is_named_by_its_field_s_path_or_the_body_s(
    detector: IdentityDetector,
) -> None:
    """Under each field that holds it; the whole body's name where no field does (the
    number is a key) or the body is not JSON."""
    cases = [
        (
            b'{"user": {"tel": "447700900123", "ids": ["x", "447700900123"]}}',
            ["user.tel", "user.ids"],
        ),
        (b'{"447700900123": true}', ["(body)"]),
        (b"tel 447700900123", ["(body)"]),
    ]
    for body, names in cases:
        request = make_request(
            method="POST", uri="/v1", add=[("Content-Type", "application/json")], body=body
        )
        found = [f for f in _canaries(detector.detect(request)) if f.where == "body"]
        assert [f.name for f in found] == names, body


def test_form_body_parameters(detector: IdentityDetector) -> None:
    request = make_request(
        method="POST",
        add=[("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")],
        body=b"name=alice&mobile=07700900123",
    )
    [finding] = _canaries(detector.detect(request))
    assert (finding.where, finding.name, finding.detail) == (
        "body",
        "mobile",
        "national form 07700900123",
    )


@pytest.mark.parametrize(
    ("text", "description"),
    [
        ("490154203237518", "IMEI 490154203237518"),
        ("49-015420-323751-8", "IMEI formatted"),
        ("49015420323751", "IMEI without check digit 49015420323751"),
        (_digest("md5", "490154203237518"), "md5 of 490154203237518"),
        (_b64("490154203237518"), "base64 of 490154203237518"),
    ],
)
def test_imei_canary_forms(detector: IdentityDetector, text: str, description: str) -> None:
    [finding] = _canaries(detector.detect(make_request(uri=f"/a?d={text}")))
    assert finding.normalized == "490154203237518" and finding.detail == description


def test_imsi_canary(detector: IdentityDetector) -> None:
    request = make_request(add=[("X-Sub", _digest("sha1", "234150999999999").upper())])
    [finding] = _canaries(detector.detect(request))
    assert finding.normalized == "234150999999999"
    assert finding.detail == "sha1 (upper case) of 234150999999999"


@pytest.mark.parametrize(
    ("text", "description"),
    [
        ("Alice@Example.com", "as given"),
        ("alice%40example.com", "URL-encoded alice@example.com"),
        (_digest("md5", "alice@example.com"), "md5 of alice@example.com"),
        (_digest("sha256", "alice@example.com"), "sha256 of alice@example.com"),
        ("ALICE@EXAMPLE.COM", "upper case"),
    ],
)
def test_value_canary_forms(detector: IdentityDetector, text: str, description: str) -> None:
    request = make_request(uri=f"/p?e={text}")
    [finding] = _canaries(detector.detect(request))
    assert finding.normalized == "Alice@Example.com" and finding.detail == description


def test_url_safe_base64_is_a_form() -> None:
    canary = value_canary("???>>>abc")
    forms = dict(canary.forms)
    urlsafe = base64.urlsafe_b64encode(b"???>>>abc").decode()
    assert urlsafe == "Pz8_Pj4-YWJj"
    assert forms[urlsafe] == "URL-safe base64 of ???>>>abc"
    assert forms["Pz8/Pj4+YWJj"] == "base64 of ???>>>abc"
    matcher = CanaryMatcher([canary])
    [hit] = matcher.find(f"x={urlsafe}&y=1")
    assert hit.description == "URL-safe base64 of ???>>>abc"


def test_the_most_specific_form_wins() -> None:
    matcher = CanaryMatcher([msisdn_canary(E164, None)])
    [hit] = matcher.find("tel=+447700900123")
    assert hit.literal == E164 and hit.description == "E.164 form +447700900123"


@pytest.mark.parametrize(
    "text", ["1447700900123", "447700900124", "4477009001234", "x447700900123"]
)
def test_near_misses_are_not_canaries(text: str) -> None:
    matcher = CanaryMatcher([msisdn_canary(E164, None)])
    assert matcher.find(f"v={text}") == []


def test_address_canaries_are_indexed_by_the_user_part() -> None:
    matcher = CanaryMatcher([value_canary("alice@example.com")])
    assert not matcher.could_match("Host: www.example.com")
    assert matcher.could_match("to=alice@example.com")


def test_national_input_needs_the_region() -> None:
    assert msisdn_canary("07700 900123", "GB").canonical == E164
    assert msisdn_canary("447700900123", None).canonical == E164
    with pytest.raises(ValueError, match=r"written nationally: give its region \(--region GB\)"):
        msisdn_canary("07700 900123", None)


@pytest.mark.parametrize("region", ["US", "GB", None])
def test_international_digits_are_the_number_where_the_region_has_no_such_number(
    region: str | None,
) -> None:
    # As gateways send it (x-up-calling-line-id: 447700900123): in the US it is no
    # national number, and was refused as "not a phone number of a possible length".
    assert msisdn_canary("447700900123", region).canonical == E164


def test_digits_that_are_a_national_number_too_are_read_in_the_region() -> None:
    # German numbers have many lengths: 4477 00900123 could be one. Where both
    # readings are possible, the region's wins, as in detection; "+" settles it.
    assert msisdn_canary("447700900123", "DE").canonical == "+49447700900123"
    assert msisdn_canary("+447700900123", "DE").canonical == E164


@pytest.mark.parametrize(
    ("value", "e164"), [("+789123456789", "+79123456789"), ("+112015550123", "+12015550123")]
)
def test_a_national_prefix_written_after_the_country_code_is_the_number_detection_reads(
    value: str, e164: str
) -> None:
    # Russia's trunk 8, the US's 1, kept after the country code: libphonenumber (and so
    # detection) reads the number without it. The canary's shortcut once kept the digit
    # and refused the number as "not of a possible length".
    assert msisdn_canary(value, None).canonical == e164
    match = parse_lenient(value, None)
    assert match is not None and match.e164 == e164


@pytest.mark.parametrize("region", ["GB", "DE", None])
def test_the_international_prefix_00_is_read_without_a_region_and_in_regions_that_dial_it(
    region: str | None,
) -> None:
    assert msisdn_canary("0044 7700 900123", region).canonical == E164


@pytest.mark.parametrize(
    ("build", "value", "message"),
    [
        (imei_canary, "12345", "too short"),
        (imei_canary, "1234567890", "must have 14, 15 or 16 digits"),
        # A typo: the phone's IMEI, looked for as typed, would never be found.
        (
            imei_canary,
            "490154203237519",
            r"fails its Luhn check \(an IMEI with these first"
            r" 14 digits ends in 8\): a typo\?",
        ),
        (imei_canary, "abc", "is not an IMEI: no digits"),
        (imei_canary, "490154203237510", r"spare 0 in its place \(then give the first 14"),
        (imsi_canary, "abc", "is not an IMSI: no digits"),
        (imsi_canary, "1234567890123456", "16 digits where an IMSI has 6 to 15"),
        (imsi_canary, "hello-world", "no digits where an IMSI has 6 to 15"),
        (lambda value: msisdn_canary(value, "GB"), "abc", "is not a phone number: no digits"),
        (lambda value: msisdn_canary(value, None), "abcdefgh", "is not a phone number: no digits"),
        (value_canary, "abc", "too short"),
        (value_canary, "!!--!!--", "needs a run of at least 3"),
    ],
)
def test_unusable_canaries_are_refused(build: object, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build(value)  # type: ignore[operator]


def test_no_canaries_no_canary_findings() -> None:
    detector = IdentityDetector(IdentityConfig(region="GB"))
    assert _canaries(detector.detect(make_request(add=[("X-A", E164)]))) == []


@given(st.binary(max_size=300))
def test_the_digests_of_canaries_are_hashlibs(raw: bytes) -> None:
    # _hashes takes CPython's own md5/sha1/sha256 rather than OpenSSL's, to spare
    # loading OpenSSL; a canary's digest forms must be what every other tool computes.
    for algorithm, new in zip(("md5", "sha1", "sha256"), _hashes(), strict=True):
        assert new(raw).hexdigest() == hashlib.new(algorithm, raw).hexdigest()


def test_a_refused_value_of_100000_digits_is_named_by_its_first_40() -> None:
    """The error line echoed all of it."""
    with pytest.raises(ValueError) as caught:
        msisdn_canary("1" * 100_000, "GB")
    assert str(caught.value).startswith(f"--msisdn {'1' * 40!r}… (100,000 characters) is not")
    assert len(str(caught.value)) < 200
