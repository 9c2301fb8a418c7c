"""libphonenumber's digit patterns matched in C: where re's matches end, on every
pattern of every region's metadata, and libphonenumber's readings unchanged."""

from __future__ import annotations

import random
import re
import struct
from collections.abc import Callable, Iterator
from typing import Any

import phonenumbers
import pytest
from phonenumbers import PhoneMetadata, PhoneNumberFormat

from capture.identity import digitpatterns
from capture.identity.digitpatterns import DigitPattern, digit_pattern, install
from capture.identity.phone import libphonenumber

pytestmark = pytest.mark.skipif(
    digitpatterns._digitpattern is None,
    reason="capture.identity._digitpattern is not built (no C compiler when headerwatch was "
    "installed): re compiles every pattern, as without this module",
)
_digitpattern = digitpatterns._digitpattern

_DESCS = (
    "general_desc", "fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost",
    "personal_number", "voip", "pager", "uan", "emergency", "voicemail", "short_code",
    "standard_rate", "carrier_specific", "sms_services", "no_international_dialling",
)  # fmt: skip


def _metadata() -> list[Any]:
    """Every region's metadata, and every non-geographic country code's."""
    regions = [PhoneMetadata.metadata_for_region(r) for r in sorted(phonenumbers.SUPPORTED_REGIONS)]
    codes = sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS)
    return regions + [PhoneMetadata.metadata_for_nongeo_region(c) for c in codes]


def _descs() -> Iterator[Any]:
    for metadata in _metadata():
        for name in _DESCS:
            desc = getattr(metadata, name, None)
            if desc is not None:
                yield desc


def _formats() -> Iterator[Any]:
    for metadata in _metadata():
        yield from metadata.number_format
        yield from metadata.intl_number_format


def _patterns() -> set[str]:
    """Every pattern of the metadata that libphonenumber compiles."""
    patterns = {d.national_number_pattern for d in _descs() if d.national_number_pattern}
    for metadata in _metadata():
        for name in ("international_prefix", "national_prefix_for_parsing", "leading_digits"):
            value = getattr(metadata, name, None)
            if value:
                patterns.add(value)
    for number_format in _formats():
        patterns.add(number_format.pattern)
        patterns.update(number_format.leading_digits_pattern)
    return patterns


def _examples() -> list[str]:
    return sorted({d.example_number for d in _descs() if d.example_number})


def test_every_number_types_pattern_of_every_region_is_matched_in_c() -> None:
    """The patterns read for every number (is it valid, which type) are the ones whose
    compiling cost most: none may fall back to re unnoticed after an upgrade."""
    refused = sorted(
        d.national_number_pattern
        for d in _descs()
        if d.national_number_pattern and digit_pattern(d.national_number_pattern) is None
    )
    assert refused == []


def test_the_formats_patterns_are_left_to_re() -> None:
    """libphonenumber formats a number with re.sub(pattern, ...), which takes only re's
    own patterns: each format's pattern must stay re's (they all capture groups)."""
    taken = sorted({f.pattern for f in _formats() if digit_pattern(f.pattern) is not None})
    assert taken == []


def test_every_pattern_taken_ends_its_match_where_res_does() -> None:
    """match and fullmatch against the examples, every prefix of them and random digits:
    the same answer as re, ending at the same place, for every pattern taken."""
    rng = random.Random(16)
    examples = _examples()
    prefixes = sorted({e[:i] for e in examples for i in range(len(e))})
    compared = 0
    for pattern in sorted(_patterns()):
        ours = digit_pattern(pattern)
        if ours is None:
            continue
        theirs = re.compile(pattern)
        texts = rng.sample(examples, 20) + rng.sample(prefixes, 20)
        texts += ["".join(rng.choices("0123456789", k=rng.randint(0, 17))) for _ in range(40)]
        for text in texts:
            for mine, real in ((ours.match, theirs.match), (ours.fullmatch, theirs.fullmatch)):
                found, expected = mine(text), real(text)
                assert (found is None) == (expected is None), (pattern, text)
                if found is not None and expected is not None:
                    assert found.span() == expected.span(), (pattern, text)
                    assert found.group() == expected.group(), (pattern, text)
                compared += 1
    assert compared > 250_000


def _readings(text: str, region: str | None) -> tuple[object, ...] | str:
    """What libphonenumber makes of ``text``, as this project asks it."""
    pu = libphonenumber()
    try:
        number = pu.parse(text, region)
    except pu.NumberParseException as exc:
        return f"refused: {exc.error_type}"
    return (
        number,
        pu.number_type(number),
        pu.region_code_for_number(number),
        pu.is_valid_number(number),
        pu.is_possible_number_with_reason(number),
        pu.format_number(number, PhoneNumberFormat.INTERNATIONAL),
        pu.format_number(number, PhoneNumberFormat.NATIONAL),
        pu.format_number(number, PhoneNumberFormat.E164),
    )


def _numbers() -> list[tuple[str, str | None]]:
    """Every region's example numbers read nationally, their international forms, and
    random numbers after every country code."""
    rng = random.Random(6)
    numbers: list[tuple[str, str | None]] = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        metadata = PhoneMetadata.metadata_for_region(region)
        for name in _DESCS:
            desc = getattr(metadata, name, None)
            if desc is not None and desc.example_number:
                numbers.append((desc.example_number, region))
                numbers.append(("0" + desc.example_number, region))
                numbers.append((f"+{metadata.country_code}{desc.example_number}", None))
    for code in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE):
        for _ in range(8):
            digits = "".join(rng.choices("0123456789", k=rng.randint(4, 12)))
            numbers.append((f"+{code}{digits}", None))
            numbers.append((f"00{code}{digits}", "GB"))
    return numbers


def test_numbers_are_read_as_they_are_without_digit_patterns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Parsing, type, region, validity, length and the three formats of thousands of
    numbers of every region: the same with the patterns matched in C as with re."""
    pu = libphonenumber()
    hooked: Callable[[str], Any] = pu.re_compile
    assert getattr(hooked, "digit_patterns", False), "libphonenumber() installs the hook"
    numbers = _numbers()
    with_c = [_readings(text, region) for text, region in numbers]
    monkeypatch.setattr(pu, "re_compile", hooked.original)  # type: ignore[attr-defined]
    with_re = [_readings(text, region) for text, region in numbers]
    assert len(numbers) > 5000
    assert with_c == with_re


def test_digits_of_other_scripts_are_matched_by_re() -> None:
    """\\d in a str pattern also takes Arabic-Indic digits: C leaves such text to re."""
    pattern = digit_pattern(r"\d{3}")
    assert pattern is not None
    found = pattern.fullmatch("\u0661\u0662\u0663")
    assert found is not None and found.end() == 3
    assert pattern.match("12a") is None and pattern.fullmatch("123") is not None


def test_a_search_past_its_step_budget_is_answered_by_re() -> None:
    """Backtracking that would run long gives up in C (-2) and re decides."""
    text = "1" * 15
    pattern = r"(?:\d?){16}\d{16}"
    ours = digit_pattern(pattern)
    assert ours is not None
    assert _digitpattern.match(ours.program, text, False) == -2
    assert ours.match(text) is None is re.match(pattern, text)


def test_more_choices_than_the_stack_holds_are_answered_by_re() -> None:
    """Each digit \\d* takes leaves a choice pending: past the stack, re decides."""
    ours = digit_pattern(r"\d*")
    assert ours is not None
    found = ours.match("7" * 5000)
    assert found is not None and found.end() == 5000


@pytest.mark.parametrize(
    "pattern",
    ["(\\d)", "\\d+?", "\\d??", "^1", "1$", "a", "\\w", "[a-z]", "\\d{2,1}", "(?=1)", "1{101}",
     "(?:1", "1)", "[", "[]", "[1-", "\\d**", "{1}", "1{,2}", "(?:1?)*", "(?:)+", "١"],
)  # fmt: skip
def test_patterns_outside_the_part_matched_in_c_are_left_to_re(pattern: str) -> None:
    assert digit_pattern(pattern) is None


def test_bytes_that_are_no_program_cannot_make_the_matcher_read_outside_them() -> None:
    jump_out = struct.pack("=3i", 2, 1000, 0)  # JMP +1000 in a program of one
    for program in (b"", b"abc", b"\xff" * 12, jump_out):
        assert _digitpattern.match(program, "123", False) == -2


def test_a_pattern_matched_in_c_still_does_what_re_would_elsewhere() -> None:
    """search, sub, flags: the compiled pattern's own, compiled when first asked."""
    pattern = digit_pattern("7[0-9]{2}")
    assert isinstance(pattern, DigitPattern)
    assert pattern.search("xx7123").span() == (2, 5)
    assert pattern.sub("#", "17001") == "1#1"
    assert pattern.flags == re.compile("7").flags


def test_installing_twice_or_without_the_c_extension_does_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pu = libphonenumber()
    assert install(pu) is False
    monkeypatch.setattr(digitpatterns, "_digitpattern", None)
    assert digit_pattern(r"\d") is None
