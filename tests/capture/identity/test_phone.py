"""Phone numbers through libphonenumber: lenient when named, strict when not."""

from __future__ import annotations

import contextlib
import random
import subprocess
import sys
import types

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capture.identity import phone
from capture.identity.phone import (
    SUPPORTED_REGIONS,
    _typed,
    is_region,
    libphonenumber,
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


def test_the_leading_digits_are_those_of_the_installed_libphonenumber() -> None:
    """The walk for a number's region passes over regions by a copy of their leading
    digits: an upgrade of phonenumbers must fail here (then the copy is taken again
    from it, with its version), not drift. Every region that shares its country code
    and has leading digits is in the copy, with the metadata's own."""
    assert phonenumbers.__version__ == phone.LEADING_DIGITS_VERSION
    expected = {}
    for code, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items():
        for region in regions if len(regions) > 1 else ():
            metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(code, region)
            if metadata is not None and metadata.leading_digits:
                expected[region] = metadata.leading_digits
    assert phone._leading_digits(phonenumbers.__version__) == expected
    assert phone._leading_digits("8.13.0") == {}


# Run in a fresh interpreter: this test process has loaded every region's metadata.
_REGIONS_LOADED = """
import sys
from capture.identity import phone
for text in ("+12015550123", "+18762345678", "+19995550123", "+447700900123", "+447624123456"):
    phone.parse_lenient(text, None)
loaded = [m for m in sys.modules if m.startswith("phonenumbers.data.region_")]
print(" ".join(sorted(m.rpartition("_")[2] for m in loaded)))
"""


def test_a_numbers_region_is_found_loading_only_the_regions_it_may_be_in() -> None:
    # +1: the US and Canada have no leading digits, Jamaica's are 876; 999 is no
    # region's area code (the number is read as invalid). +44: GB, Guernsey and Jersey
    # have none, the Isle of Man's are 7624...
    done = subprocess.run(
        [sys.executable, "-c", _REGIONS_LOADED], capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["CA", "GB", "GG", "IM", "JE", "JM", "US"]


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


@pytest.mark.parametrize(
    ("text", "region"), [("20231105", "GB"), ("+44 20231105", None), ("555-0123", "US")]
)
def test_lenient_refuses_a_length_only_dialled_locally(text: str, region: str | None) -> None:
    # libphonenumber calls "+44 20231105" possible, as a number dialled without its
    # area code: never a subscriber's line, often a date.
    assert parse_lenient(text, region) is None


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


def _random_numbers(count: int, seed: int) -> list[str]:
    """Digit strings in every form parse_lenient reads, under many country codes."""
    rng = random.Random(seed)
    codes = ["1", "7", "27", "33", "39", "44", "49", "55", "61", "81", "91", "353", "800", "882"]
    out = []
    for _ in range(count):
        code = rng.choice(codes)
        rest = "".join(str(rng.randrange(10)) for _ in range(rng.randint(6, 12)))
        out.append(
            rng.choice([code + rest, "+" + code + rest, "00" + code + rest, "0" + rest, rest])
        )
    return out


def test_a_number_is_valid_exactly_when_libphonenumber_gives_it_a_type() -> None:
    """phone._describe reads validity off number_type (UNKNOWN for an invalid number,
    as its documentation says): held here to is_valid_number, number by number."""
    unknown = phonenumbers.PhoneNumberType.UNKNOWN
    checked = 0
    for text in _random_numbers(3000, 16):
        try:
            number = phonenumbers.parse(text if text.startswith("+") else "+" + text, None)
        except phonenumbers.NumberParseException:
            continue
        checked += 1
        assert (phonenumbers.number_type(number) != unknown) == phonenumbers.is_valid_number(
            number
        ), text
    assert checked > 1500


def _numbers_of_every_type_of_every_region() -> list[phonenumbers.PhoneNumber]:
    """Each region's example number of each type, and each with its last digit changed
    and with a digit more (mostly numbers of no type: a walk that finds no region)."""
    numbers = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in range(12):  # every PhoneNumberType but UNKNOWN (99)
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            numbers.append(example)
            nsn = phonenumbers.national_significant_number(example)
            for changed in (nsn[:-1] + str((int(nsn[-1]) + 3) % 10), nsn + "7"):
                with contextlib.suppress(phonenumbers.NumberParseException):
                    numbers.append(phonenumbers.parse(f"+{example.country_code}{changed}"))
    return numbers


def test_a_numbers_type_and_region_are_the_librarys_two_answers() -> None:
    """_typed walks a shared country code's regions once for both answers: held to
    number_type and region_code_for_number, for numbers of every type of every region
    (the +1 and +44 regions among them) and random ones under shared codes."""
    numbers = _numbers_of_every_type_of_every_region()
    for text in _random_numbers(3000, 41):
        with contextlib.suppress(phonenumbers.NumberParseException):
            numbers.append(phonenumbers.parse(text if text.startswith("+") else "+" + text))
    shared = 0
    for number in numbers:
        expected = (phonenumbers.number_type(number), phonenumbers.region_code_for_number(number))
        assert _typed(number) == expected, phonenumbers.format_number(
            number, phonenumbers.PhoneNumberFormat.E164
        )
        shared += len(phonenumbers.region_codes_for_country_code(number.country_code or 0)) > 1
    assert len(numbers) > 5000 and shared > 1000


def test_a_library_without_its_pattern_look_up_is_walked_with_re(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # phonenumbers 8.x compiled the leading digits with re in the walk: its module has no
    # re_compile (the library's own functions here still use 9.x's).
    module = types.ModuleType("phonenumberutil_8")
    module.__dict__.update(
        (name, value) for name, value in vars(libphonenumber()).items() if name != "re_compile"
    )
    monkeypatch.setattr(phone, "libphonenumber", lambda: module)
    numbers = [n for n in _numbers_of_every_type_of_every_region() if n.country_code == 1]
    assert len(numbers) > 200
    for number in numbers:
        expected = (phonenumbers.number_type(number), phonenumbers.region_code_for_number(number))
        assert _typed(number) == expected


def _parse_or_none(text: str, region: str | None = None) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


def _digit_texts() -> list[str]:
    """ASCII digits, with ``+`` and without: every region's example numbers of every
    type (their last digit changed, a digit more) in E.164, international digits,
    national digits and with a national prefix put back after the country code, each
    also dialled with the international prefix of the region they are read in, and
    digits of every length after every country code and after none."""
    texts = []
    for number in _numbers_of_every_type_of_every_region():
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        code = str(number.country_code)
        region = phonenumbers.region_code_for_country_code(number.country_code or 0)
        metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(
            number.country_code or 0, region
        )
        prefix = (metadata.national_prefix if metadata else None) or "0"
        nsn = e164[1 + len(code) :]
        texts += [e164, "+" + code + prefix + nsn, e164[1:], code + prefix + nsn, nsn]
        texts += ["".join(ch for ch in national if ch.isdigit())]
        texts += ["00" + e164[1:], "011" + e164[1:], "810" + e164[1:], "0" + nsn]
    rng = random.Random(61)
    codes = [str(c) for c in phonenumbers.COUNTRY_CODE_TO_REGION_CODE]
    for code in codes:
        for size in range(0, 19):
            rest = "".join(str(rng.randrange(10)) for _ in range(size))
            texts += ["+" + code + rest, code + rest, "00" + code + rest]
    for size in range(0, 22):
        texts.append("+" + "".join(str(rng.randrange(10)) for _ in range(size)))
        texts.append("".join(str(rng.randrange(10)) for _ in range(size)))
    return texts


# Regions of every kind of prefix: none (IT keeps its leading zero), 0 (GB, DE, FR,
# JP...), 8 and 8-10 (RU), 1 and 011 (US), transforms of what follows the prefix
# (AR, MX, BR), a shared country code read in a region not its main one (GG, CA),
# one with no national prefix (ES), and none at all.
_DIGIT_REGIONS: tuple[str | None, ...] = (None, "GB", "US", "DE", "RU", "IT", "AR", "MX")
_DIGIT_REGIONS += ("BR", "IN", "JP", "AU", "CN", "FR", "GG", "CA", "ES", "NZ", "KR", "ZA")
_DIGIT_REGIONS += ("XX", "gb")


def test_digits_are_read_as_parse_reads_them() -> None:
    """parse_digits takes parse's steps for ASCII digits only: what it knows is parse's
    answer, field by field (or parse's refusal), for every region's examples in each
    of their forms and for random digits after every country code, read in regions
    of every kind of prefix; what it leaves to parse is little."""
    known = asked = numbers = 0
    texts = sorted(set(_digit_texts()))
    for index, text in enumerate(texts):
        # Each text in three of the regions, in turn: every region reads every kind.
        for turn in range(3):
            region = _DIGIT_REGIONS[(3 * index + turn) % len(_DIGIT_REGIONS)]
            expected = _parse_or_none(text, region)
            told, got = phone.parse_digits(text, region)
            if not told:
                asked += 1
                assert got is None
                continue
            known += 1
            numbers += got is not None
            assert repr(got) == repr(expected) and got == expected, (text, region)
    assert known > 8 * asked and numbers > 50_000


_PREFIXES = ("", "+", "0", "00", "011", "810", "8", "1", "9", "15", "0015", "+0")


@settings(max_examples=400, deadline=None)
@given(
    prefix=st.sampled_from(_PREFIXES),
    code=st.sampled_from(["", *map(str, phonenumbers.COUNTRY_CODE_TO_REGION_CODE)]),
    rest=st.text(alphabet="0123456789", max_size=18),
    region=st.sampled_from([None, "001", "gb", *sorted(phonenumbers.SUPPORTED_REGIONS)]),
)
def test_any_digits_in_any_region_are_read_as_parse_reads_them(
    prefix: str, code: str, rest: str, region: str | None
) -> None:
    """The same promise as above, on digits hypothesis makes up: any prefix a number is
    dialled with, any country code or none, in any region (or none, or one parse does
    not know)."""
    text = prefix + code + rest
    told, got = phone.parse_digits(text, region)
    if told:
        expected = _parse_or_none(text, region)
        assert repr(got) == repr(expected) and got == expected


@pytest.mark.parametrize(
    ("text", "region", "e164"),
    [
        # The national prefix written after the country code is taken off, as parse does.
        ("+789123456789", None, "+79123456789"),
        ("+112015550123", "GB", "+12015550123"),
        # A leading zero of the national number is kept (Italy's fixed lines).
        ("+390612345678", None, "+390612345678"),
        ("0612345678", "IT", "+390612345678"),
        # National digits, international digits, and dialled with the region's prefix.
        ("07700900123", "GB", "+447700900123"),
        ("447700900123", "GB", "+447700900123"),
        ("0012015550123", "GB", "+12015550123"),
        ("01112015550123", "US", "+12015550123"),
        # Argentina's mobiles: 0 and 15 taken off, 9 put in.
        ("0111512345678", "AR", "+5491112345678"),
    ],
)
def test_digits_are_read_in_each_form_a_number_is_dialled_in(
    text: str, region: str | None, e164: str
) -> None:
    told, number = phone.parse_digits(text, region)
    assert told and number is not None
    assert phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == e164
    assert number == phonenumbers.parse(text, region)


@pytest.mark.parametrize(
    ("text", "region"),
    [("+44 7700 900123", None), ("+４４7700900123", None), ("+12", None), ("0770０900123", "GB")],
)
def test_any_other_text_is_left_to_parse(text: str, region: str | None) -> None:
    assert phone.parse_digits(text, region) == (False, None)


@pytest.mark.parametrize("region", [None, "gb", "XX", "001"])
def test_national_digits_without_a_region_parse_knows_are_refused(region: str | None) -> None:
    assert phone.parse_digits("07700900123", region) == (True, None)
    assert _parse_or_none("07700900123", region) is None


def test_a_library_without_parses_steps_is_left_to_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("phonenumberutil_other")
    module.__dict__.update(
        (name, value)
        for name, value in vars(libphonenumber()).items()
        if name != "_maybe_strip_national_prefix_carrier_code"
    )
    monkeypatch.setattr(phone, "libphonenumber", lambda: module)
    assert phone.parse_digits("+447700900123", None) == (False, None)
    match = phone._parse("+447700900123", None)
    assert match is not None and match.national_number == 7700900123


def _lenient_reference(text: str, region: str | None) -> tuple[str, str, bool, bool] | None:
    """parse_lenient's ranking in the library's public calls: every reading ranked
    (the region's own number with its country code, a mobile, written as it reads,
    international of two that are no mobile, valid, in the region), then described
    with is_valid_number again (the reference for the one that reads each number's
    type once)."""
    text = text.strip()
    candidates = []
    digits = "".join(ch for ch in text if ch.isdigit())
    tries = [(text, None)] if text.startswith("+") else []
    if not text.startswith("+"):
        if digits.startswith("00"):
            tries.append(("+" + digits[2:], None))
        if region:
            tries.append((text, region))
        if not digits.startswith("0"):
            tries.append(("+" + digits, None))
    for written, where in tries:
        with contextlib.suppress(phonenumbers.NumberParseException):
            candidates.append(phonenumbers.parse(written, where))
    full = phonenumbers.ValidationResult.IS_POSSIBLE
    plausible = [n for n in candidates if phonenumbers.is_possible_number_with_reason(n) == full]
    if not plausible:
        return None
    international = None if text.startswith("+") or digits.startswith("0") else "+" + digits
    mobiles = (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )

    def rank(n: phonenumbers.PhoneNumber) -> tuple[bool, ...]:
        e164 = phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164)
        is_intl = e164 == international
        in_region = region is not None and phonenumbers.is_valid_number_for_region(n, region)
        valid = phonenumbers.is_valid_number(n)
        mobile = valid and phonenumbers.number_type(n) in mobiles
        national = phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.NATIONAL)
        written = is_intl or digits in (
            "".join(ch for ch in national if ch.isdigit()),
            str(n.national_number),
        )
        return (is_intl and in_region, mobile, written, is_intl and not mobile, valid, in_region)

    number = max(plausible, key=rank)
    valid = phonenumbers.is_valid_number(number)
    kind = phonenumbers.number_type(number)
    mobile = valid and kind in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    where = phonenumbers.region_code_for_number(number) if valid else None
    return e164, str(where), valid, mobile


@pytest.mark.parametrize("region", [None, "GB", "US", "DE"])
def test_lenient_picks_the_reading_the_reference_ranking_picks(region: str | None) -> None:
    for text in _random_numbers(600, 23):
        if not 7 <= sum(ch.isdigit() for ch in text) <= 17:
            continue
        match = parse_lenient(text, region)
        expected = _lenient_reference(text, region)
        got = (
            None
            if match is None
            else (
                match.e164,
                str(phonenumbers.region_code_for_number(phonenumbers.parse(match.e164)))
                if match.valid
                else "None",
                match.valid,
                match.mobile,
            )
        )
        assert got == expected, (text, region)
        if match is not None and match.valid:
            assert f"· {expected[1]} " in match.detail, (text, region, match.detail)


def test_a_value_too_short_or_unreadable_as_a_number_does_not_import_libphonenumber() -> None:
    code = (
        "import sys\n"
        "from capture.identity import phone\n"
        "assert phone.parse_lenient('12345', 'GB') is None\n"
        "assert phone.parse_lenient('0123456789', None) is None\n"
        "assert phone.parse_lenient('Thu, 23 Apr 2009', 'GB') is None\n"
        "print('phonenumbers' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


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


def test_a_number_is_spelt_in_each_form_it_may_be_written_in() -> None:
    from capture.identity.phone import spellings

    assert set(spellings("+447700900123")) == {
        "+447700900123",
        "447700900123",
        "00447700900123",
        "7700900123",
        "07700 900123",
        "07700900123",
        "+44 7700 900123",
    }
    assert spellings("+4") == spellings("not a number") == ()


def test_a_numbers_digits_are_given_in_the_order_of_each_form_it_is_written_in() -> None:
    from capture.identity.phone import digit_forms

    # E.164's, with 00, the national significant number, the national form's, and
    # "+44 (0)7700 900123" (the national prefix kept after the country code).
    assert digit_forms("+447700900123") == (
        "447700900123",
        "00447700900123",
        "7700900123",
        "07700900123",
        "4407700900123",
    )
    # No national prefix: "(201) 555-0123" is the number's own digits.
    assert digit_forms("+12015550123") == ("12015550123", "0012015550123", "2015550123")
    assert digit_forms("+4") == digit_forms("not a number") == ()


@pytest.mark.parametrize(
    ("text", "region", "e164"),
    [
        # International digits, as a carrier's header writes them, under a region with
        # an open numbering plan, which read them as one of its own fixed lines.
        ("447911123456", "DE", "+447911123456"),
        ("919812345678", "DE", "+919812345678"),
        ("33612345678", "DE", "+33612345678"),
        ("5511987654321", "DE", "+5511987654321"),
        ("4915112345678", "DE", "+4915112345678"),  # not +49 491 5112345678
        ("447700900123", "DE", "+447700900123"),  # the drama range: no valid reading
        ("447700900123", "IN", "+447700900123"),
        # National numbers as their countries write them stay national.
        ("2015550123", "US", "+12015550123"),
        ("13125540031", "CN", "+8613125540031"),
        ("8124062127", "IN", "+918124062127"),
        ("07700 900123", "GB", "+447700900123"),
    ],
)
def test_international_digits_are_not_read_as_a_national_number_of_the_region(
    text: str, region: str, e164: str
) -> None:
    """Under --region DE the demo's x-up-calling-line-id: 447700900123 was reported as
    +49 4477 00900123, a German fixed line: a number that was never sent."""
    match = parse_lenient(text, region)
    assert match is not None and match.e164 == e164
