"""Phone numbers, parsed and judged by Google's libphonenumber (``phonenumbers``).

There is no home-made phone regex here: a regex flags build numbers and misses
national formats. Two levels of belief are offered:

* :func:`parse_lenient` for values whose *name* says they hold a number
  (``x-msisdn``, ``user_phone``): any number of a plausible length for its
  country is accepted, including ranges the metadata calls unallocated. This
  matters because libphonenumber 9 treats Ofcom's drama range 07700 900xxx as
  invalid, yet a gateway that sends it is still sending a phone number.
* :func:`parse_strict` for bare digits under names that say nothing: the number
  must be valid and of a mobile type, the kind of number a carrier injects.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from types import ModuleType
from typing import TYPE_CHECKING, Any

from capture.identity.caching import short_keys_cached

if TYPE_CHECKING:
    from phonenumbers import PhoneNumber


_LONGEST_NUMBER_TEXT = 64
"""Characters of a text whose reading is kept (:func:`short_keys_cached`): a number,
written with spaces, a prefix and an extension, is shorter; libphonenumber reads no
text over 250 as one."""


@cache
def libphonenumber() -> ModuleType:
    """``phonenumbers.phonenumberutil``: libphonenumber's API, every name this project
    calls (``parse``, ``is_valid_number``, ``PhoneNumberFormat``, ...), imported on
    first use, the one place the package is imported from: without the modules of
    the package that this project never calls (:mod:`capture.identity.libphonenumber_api`).
    """
    import importlib

    from capture.identity.digitpatterns import install  # with the library, not at start-up
    from capture.identity.libphonenumber_api import load_api

    api = load_api()
    # Every number type's pattern of every region a number comes from, kept compiled
    # (the package's own advice for checking many numbers from many regions): else
    # each test goes through re.compile's cache lookup again, dozens of them for a
    # number's first reading, and past 512 patterns (traffic from many countries)
    # that cache drops them and they are compiled again. An older package without
    # the switch uses re's cache alone.
    try:
        enable = importlib.import_module("phonenumbers.re_util").enable_pattern_cache
    except (ImportError, AttributeError):
        pass
    else:
        enable()
    # The patterns that decide what a number is, matched in C rather than compiled by
    # re (capture/identity/digitpatterns.py): the compiling cost more than the reading.
    install(api)
    return api


@cache
def _labels() -> tuple[dict[int, str], frozenset[int]]:
    """The label of each number type, and the types that count as mobile."""
    PhoneNumberType = libphonenumber().PhoneNumberType

    labels = {
        PhoneNumberType.FIXED_LINE: "fixed line",
        PhoneNumberType.MOBILE: "mobile",
        PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed line or mobile",
        PhoneNumberType.TOLL_FREE: "toll free",
        PhoneNumberType.PREMIUM_RATE: "premium rate",
        PhoneNumberType.SHARED_COST: "shared cost",
        PhoneNumberType.VOIP: "VoIP",
        PhoneNumberType.PERSONAL_NUMBER: "personal number",
        PhoneNumberType.PAGER: "pager",
        PhoneNumberType.UAN: "UAN",
        PhoneNumberType.VOICEMAIL: "voicemail",
    }
    return labels, frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})


# libphonenumber's regions (``phonenumbers.SUPPORTED_REGIONS``, of 9.0.43), kept here so
# that checking one (the locale's or --region's, at every start) does not import the
# package: that import is ~100 M instructions (~25 ms), and a scan whose traffic holds no
# value to parse never needs it. tests/capture/identity/test_phone.py checks this set
# against the installed package, so an upgrade that adds or drops a region fails there.
_REGION_CODES = (
    "AC AD AE AF AG AI AL AM AO AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN "
    "BO BQ BR BS BT BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE "
    "DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM "
    "GN GP GQ GR GT GU GW GY HK HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE "
    "KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH "
    "MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ "
    "OM PA PE PF PG PH PK PL PM PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI "
    "SJ SK SL SM SN SO SR SS ST SV SX SY SZ TA TC TD TG TH TJ TK TL TM TN TO TR TT TV TW "
    "TZ UA UG US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW"
)
SUPPORTED_REGIONS = frozenset(_REGION_CODES.split())

# The leading digits of each region that shares its country code with others and has
# them (phonenumbers 9.0.43's metadata, the version named here): where a number's
# region is sought, a region whose leading digits the number does not start with is
# passed over without its metadata being loaded. libphonenumber's own walk loads each
# region it tries, 0.1-0.3 ms each: an invalid +1 number loaded all 25 of +1's regions,
# and traffic with numbers of a few countries loaded 35. Used only with that version
# of the package (another one walks as the library does); tests/capture/identity/
# test_phone.py checks the table against the installed package.
LEADING_DIGITS_VERSION = "9.0.43"
_LEADING_DIGITS = {
    # +1
    "AG": "268", "AI": "264", "AS": "684", "BB": "246", "BM": "441", "BS": "242",
    "DM": "767", "DO": "8001|8[024]9", "GD": "473", "GU": "671", "JM": "658|876",
    "KN": "869", "KY": "345", "LC": "758", "MP": "670", "MS": "664", "PR": "787|939",
    "SX": "721", "TC": "649", "TT": "868", "VC": "784", "VG": "284", "VI": "340",
    # +7, +39, +44, +47, +212, +290, +358, +599
    "RU": "[3489]", "KZ": "7", "VA": "06698", "IM": "74576|(?:16|7[56])24",
    "NO": "[02-689]|7[0-8]", "SJ": "79", "MA": "[5-8]", "SH": "[2569]", "TA": "8",
    "FI": "1[03-79]|[2-9]", "AX": "18", "CW": "[69]", "BQ": "[347]",
}  # fmt: skip


@cache
def _leading_digits(version: str) -> dict[str, str]:
    """:data:`_LEADING_DIGITS` for the package's ``version`` it was taken from; none
    for any other."""
    return _LEADING_DIGITS if version == LEADING_DIGITS_VERSION else {}


def is_region(code: str) -> bool:
    """Whether libphonenumber knows the region ``code`` (upper case, e.g. ``GB``), without
    importing it (:data:`SUPPORTED_REGIONS`)."""
    return code in SUPPORTED_REGIONS


# E.164 numbers have at most 15 digits; the shortest national significant numbers
# in use are around 6 digits (plus a 1-3 digit country code).
MIN_DIGITS = 7
MAX_DIGITS = 15

# What a written phone number may contain. Anything else (letters, commas, colons)
# means the digits belong to something else, e.g. a date: they are never glued together.
_NUMBER_TEXT = re.compile(r"\+?[0-9(][0-9 ().\-/]*")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])"


@cache  # compiled on first use: few values are digits and dots alone
def _ipv4() -> re.Pattern[str]:
    return re.compile(rf"(?:{_OCTET}\.){{3}}{_OCTET}")


@dataclass(frozen=True, slots=True)
class PhoneMatch:
    """A phone number found in a value."""

    e164: str
    """The number in E.164 form, e.g. ``+447700900123``."""
    detail: str
    """One line for people, e.g. ``+1 201-555-0123 · US fixed line or mobile``."""
    valid: bool
    """True when the number is in a range the metadata knows to be allocated."""
    mobile: bool
    """True for mobile (or fixed-line-or-mobile) numbers."""


def _typed(number: PhoneNumber) -> tuple[int, str | None]:
    """``number``'s type and region: ``(number_type(number), region_code_for_number(number))``
    in one walk of its country's regions.

    libphonenumber finds a region for a country code that several regions share (+1,
    +44, +7) by matching the number against each region's type patterns in turn, until
    one gives it a type; ``number_type`` makes that walk and then matches the region it
    found once more; and asked for the region again, a second walk. On traffic with many
    subscribers nearly every number is a first reading, and those walks were a third of
    it. Here the walk is made once, as the library makes it (the same calls, in its
    order), and the type it found is kept: tests/capture/identity/test_phone.py holds
    the pair to the library's two answers for numbers of every type of every region.
    Without the library's walk helpers (another version), the two public calls.
    """
    phonenumbers = libphonenumber()
    helper = getattr(phonenumbers, "_number_type_helper", None)
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(number.country_code)
    if helper is None or regions is None or len(regions) == 1:
        # One region (or none): no walk to share; number_type asks for it by a lookup.
        return phonenumbers.number_type(number), phonenumbers.region_code_for_number(number)
    unknown = phonenumbers.PhoneNumberType.UNKNOWN
    metadata_for_region = phonenumbers.PhoneMetadata.metadata_for_region
    # The module's own look-up of patterns where it has one (9.x, and ours on it:
    # digitpatterns); before it (8.x), the walk compiled with re itself.
    compiled = getattr(phonenumbers, "re_compile", re.compile)
    nsn = phonenumbers.national_significant_number(number)
    known = _leading_digits(getattr(sys.modules.get("phonenumbers"), "__version__", ""))
    for region in regions:
        # _region_code_for_number_from_list's walk: a region with leading digits is
        # chosen by them alone, then typed (number_type's last step); any other, by
        # the type its patterns give.
        leading = known.get(region)
        if leading is not None and not compiled(leading).match(nsn):
            continue  # not this region, known without loading its metadata
        metadata = metadata_for_region(region.upper(), None)
        if metadata is None:
            continue
        if metadata.leading_digits is not None:
            if compiled(metadata.leading_digits).match(nsn):
                kind: int = helper(nsn, metadata)
                return kind, region
        else:
            kind = helper(nsn, metadata)
            if kind != unknown:
                return kind, region
    return unknown, None


def _describe(number: PhoneNumber, typed: tuple[int, str | None] | None = None) -> PhoneMatch:
    """The :class:`PhoneMatch` of ``number``; ``typed``, its :func:`_typed` where the
    caller has it already.

    Validity is read off the type: ``number_type`` is UNKNOWN exactly for an invalid
    number (its documented contract, and what ``is_valid_number`` tests: both look up
    the region and match the same patterns). Asked separately, the two made a first
    reading of a number cost twice the pattern matching, and on traffic with many
    subscribers every number is a first reading (tests/capture/identity/test_phone.py
    holds the two to each other).
    """
    phonenumbers = libphonenumber()
    PhoneNumberFormat = phonenumbers.PhoneNumberFormat
    kind, region = _typed(number) if typed is None else typed
    valid = kind != phonenumbers.PhoneNumberType.UNKNOWN
    pretty = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    if valid:
        labels, mobile = _labels()
        label = labels.get(kind, "number")
        return PhoneMatch(e164, f"{pretty} · {region or '?'} {label}", True, kind in mobile)
    regions = phonenumbers.region_codes_for_country_code(number.country_code or 0)
    first = regions[0] if regions else "?"
    return PhoneMatch(e164, f"{pretty} · {first}, unallocated range", False, False)


def _e164(number: PhoneNumber) -> str:
    """``number`` in E.164 form (``+447911123456``)."""
    phonenumbers = libphonenumber()
    text: str = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return text


def _full_length(number: PhoneNumber) -> bool:
    """Whether ``number`` has a length its country's numbers have when dialled in full.

    libphonenumber's ``is_possible_number`` also accepts the shorter lengths of numbers
    dialled locally, without their area code (``+44 20231105``): a subscriber's line is
    never sent that way, but dates and counts have those lengths.
    """
    phonenumbers = libphonenumber()
    reason = phonenumbers.is_possible_number_with_reason(number)
    return bool(reason == phonenumbers.ValidationResult.IS_POSSIBLE)


def parse_digits(text: str, region: str | None) -> tuple[bool, PhoneNumber | None]:
    """What ``phonenumbers.parse(text, region)`` gives for ASCII digits, with a ``+``
    (``+447700900123``, in any region) or without (``07700900123`` or ``447700900123``
    in ``region``), read without the library's handling of text in general:
    ``(True, number)``, or ``(True, None)`` where ``parse`` refuses the text.
    ``(False, None)`` for any other text, or where the library lacks a step named
    below: ask ``parse``.

    ``parse`` spends most of a reading on what such a text cannot hold: phone
    contexts, extensions, punctuation, letters and digits of other scripts. The steps
    that remain are its own, in its order, with its helpers:

    * ``+``: the country code is the first prefix of 1 to 3 digits that is one.
    * No ``+``: the region's international prefix (``00``) is taken off where a digit
      other than 0 follows it, and the country code is read after it; else digits that
      start with the region's own country code are read without it where they are too
      long for a national number, or fit its numbers only without it; else all the
      digits are the national number.
    * Then the national prefix is taken off (``0``, ``+7 8 912...``) where what is
      left still has a length its country's numbers have, and the leading zeros are
      counted (``+39 06...``).

    tests/capture/identity/test_phone.py holds it to ``parse`` on every region's
    example numbers in each of their forms and on digits of every length after every
    country code, in regions of every kind of prefix.
    """
    plus = text[:1] == "+"
    digits = text[1:] if plus else text
    if not (3 <= len(digits) < _MAX_INPUT and digits.isascii() and digits.isdigit()):
        return _ASK
    lib = libphonenumber()
    steps = _steps(lib)
    if steps is None:
        return _ASK
    strip, length, zeros, matches, compiled = steps
    metadata_for = lib.PhoneMetadata.metadata_for_region_or_calling_code
    result = lib.ValidationResult
    if plus:
        code, nsn = _country_code(lib, digits)
        if code == 0:
            return _ASK  # parse goes on to read it in the region, or refuses it
        metadata = metadata_for(code, lib.region_code_for_country_code(code))
    else:
        if region is None or region not in lib.SUPPORTED_REGIONS:
            return _REFUSED  # no region to read national digits in (none, or unknown)
        metadata = lib.PhoneMetadata.metadata_for_region(region.upper(), None)
        if metadata is None:
            return _ASK
        code, nsn = 0, ""
        idd = metadata.international_prefix
        found = None if idd is None else compiled(idd).match(digits)
        after = "" if found is None else digits[found.end() :]
        if found is not None and after[:1] != "0":
            # Dialled from the region to another country: its code follows.
            if len(after) <= _MIN_NSN:
                return _REFUSED
            code, nsn = _country_code(lib, after)
            if code == 0:
                return _REFUSED
        else:
            own = str(metadata.country_code)
            if digits.startswith(own):
                general = metadata.general_desc
                _, rest, _ = strip(digits[len(own) :], metadata)
                if (
                    not matches(digits, general, False) and matches(rest, general, False)
                ) or length(digits, metadata) == result.TOO_LONG:
                    code, nsn = metadata.country_code, rest
        if code == 0:
            code, nsn = metadata.country_code, digits
        else:
            where = lib.region_code_for_country_code(code)
            if where != region:
                metadata = metadata_for(code, where)
    if metadata is None:
        return _ASK
    if len(nsn) < _MIN_NSN:
        return _REFUSED
    _, stripped, _ = strip(nsn, metadata)
    if length(stripped, metadata) not in (
        result.TOO_SHORT,
        result.IS_POSSIBLE_LOCAL_ONLY,
        result.INVALID_LENGTH,
    ):
        nsn = stripped
    if not _MIN_NSN <= len(nsn) <= _MAX_NSN:
        return _REFUSED
    number: PhoneNumber = lib.PhoneNumber()
    number.country_code = code
    zeros(nsn, number)
    number.national_number = int(nsn)
    return True, number


_ASK: tuple[bool, None] = (False, None)
_REFUSED: tuple[bool, None] = (True, None)

# parse's bounds (phonenumberutil's _MAX_INPUT_STRING_LENGTH, _MIN_LENGTH_FOR_NSN and
# _MAX_LENGTH_FOR_NSN): a text at or past the first, or a national number out of the
# others, is one parse refuses.
_MAX_INPUT = 250
_MIN_NSN = 2
_MAX_NSN = 17

_Steps = tuple[
    Callable[..., Any],
    Callable[..., Any],
    Callable[..., Any],
    Callable[..., Any],
    Callable[[str], Any],
]


@cache
def _steps(lib: ModuleType) -> _Steps | None:
    """parse's helpers that :func:`parse_digits` calls, or None for a library without
    them (another version): its national prefix, length, leading zeros, pattern and
    pattern look-up steps."""
    names = (
        "_maybe_strip_national_prefix_carrier_code",
        "_test_number_length",
        "_set_italian_leading_zeros_for_phone_number",
        "_match_national_number",
        "re_compile",
    )
    found = tuple(getattr(lib, name, None) for name in names)
    if any(step is None for step in found):
        return None
    return found  # type: ignore[return-value]


def _country_code(lib: ModuleType, digits: str) -> tuple[int, str]:
    """``(country code, the digits after it)``: the first prefix of ``digits`` of 1 to 3
    digits that is a country code, as parse's ``_extract_country_code``; ``(0, "")``
    where there is none."""
    if digits[:1] == "0":
        return 0, ""
    codes = lib.COUNTRY_CODE_TO_REGION_CODE
    for size in (1, 2, 3):
        code = int(digits[:size])
        if code in codes:
            return code, digits[size:]
    return 0, ""


def _parse(text: str, region: str | None) -> PhoneNumber | None:
    """``phonenumbers.parse(text, region)``; None where it refuses ``text``."""
    known, read = parse_digits(text, region)
    if known:
        return read
    phonenumbers = libphonenumber()
    try:
        number: PhoneNumber = phonenumbers.parse(text, region)
        return number
    except phonenumbers.NumberParseException:
        return None


@short_keys_cached(4096, _LONGEST_NUMBER_TEXT)
def parse_lenient(text: str, region: str | None) -> PhoneMatch | None:
    """A number of plausible length in ``text`` (any format), or ``None``: a length its
    country's numbers have in full (:func:`_full_length`).

    ``text`` may be E.164 (``+447700900123``), international digits without ``+``
    (``447700900123``, the form gateways use), a ``00`` prefix, or a national
    number of ``region`` (``07700 900123``). When both readings of bare digits
    work: the region's own number written with its country code
    (``4915112345678`` in Germany); then a mobile before a fixed line
    (``447911123456`` in Germany is a British mobile, not the fixed line Germany's
    open numbering plan also reads in it); then a reading whose digits are written
    as it writes them (``2015550123`` in the US, ``13125540031`` in China: national,
    not Egyptian or American); then the international one (``447700900123`` in
    Germany: the British drama range, not a German fixed line); then a valid one;
    then the one in ``region``.
    """
    text = text.strip()
    if not _NUMBER_TEXT.fullmatch(text):
        return None
    if "." in text and _ipv4().fullmatch(text):
        # "10.103.132.128" under a subscriber name (X-Subscriber-Info: IP=...) is an
        # address; no dotted phone format has four groups of at most three digits.
        return None
    candidates: list[PhoneNumber] = []
    digits = digits_of(text)
    if text.startswith("+"):
        number = _parse(text, None)
        if number is not None:
            candidates.append(number)
    else:
        if not MIN_DIGITS <= len(digits) <= MAX_DIGITS + 2:
            return None
        if digits.startswith("00"):
            number = _parse("+" + digits[2:], None)
            if number is not None:
                candidates.append(number)
        national = None
        if region:
            national = _parse(text, region)
            if national is not None:
                candidates.append(national)
        if not digits.startswith("0") and not (
            # The region's reading of international digits that start with its own
            # country code ("447911123456" in GB) is often the international reading
            # already: an E.164 form is read one way only, so it is not read again.
            national is not None and _e164(national) == "+" + digits
        ):
            number = _parse("+" + digits, None)
            if number is not None and number not in candidates:
                candidates.append(number)
    if not candidates:
        return None
    phonenumbers = libphonenumber()  # imported by _parse already
    plausible = [n for n in candidates if _full_length(n)]
    if not plausible:
        return None
    if len(plausible) == 1:
        # One reading (nearly always): nothing to rank.
        return _describe(plausible[0])
    # The E.164 form of the international reading of bare digits (a "00" prefix is
    # read as such above): the digits as written.
    as_written = None if text.startswith("+") or digits.startswith("0") else "+" + digits
    unknown = phonenumbers.PhoneNumberType.UNKNOWN
    mobiles = (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )
    best: tuple[bool, ...] | None = None
    chosen = plausible[0]
    chosen_typed: tuple[int, str | None] = (unknown, None)
    for number in plausible:
        # The ranking (the type, kept for _describe); the first of equals stays, so
        # the order above breaks ties.
        typed = _typed(number)
        valid = typed[0] != unknown
        if region is None:
            in_region = False
        elif typed[1] == region:
            # is_valid_number_for_region types it against the region's patterns, as
            # the walk that found this region did.
            in_region = valid
        else:
            in_region = phonenumbers.is_valid_number_for_region(number, region)
        international = as_written is not None and _e164(number) == as_written
        mobile = typed[0] in mobiles
        rank = (
            # The region's own number with its country code (4915112345678 in DE).
            international and in_region,
            # A mobile before a fixed line: where both readings are valid, what an
            # identity header or a phone field carries (447911123456 in Germany is
            # a British mobile, not the fixed line an open numbering plan reads).
            mobile,
            international or _written_nationally(number, digits),
            # Neither a mobile: digits that begin with a country code are written so
            # on purpose (447700900123, the drama range, in Germany: not a fixed line
            # of Germany's open plan). Of two mobiles, the region's (13125540031 in
            # China, not Chicago).
            international and not mobile,
            valid,
            in_region,
        )
        if best is None or rank > best:
            best, chosen, chosen_typed = rank, number, typed
    return _describe(chosen, chosen_typed)


def digits_of(text: str) -> str:
    """The digits of ``text``, in order."""
    return "".join(ch for ch in text if ch.isdigit())


def _written_nationally(number: PhoneNumber, digits: str) -> bool:
    """Are ``digits`` (a value's) ``number`` as its country writes it nationally: its
    national form's digits, or those without the trunk prefix (India's mobiles, as
    people write them)?"""
    phonenumbers = libphonenumber()
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return digits in (digits_of(national), str(number.national_number))


@short_keys_cached(4096, _LONGEST_NUMBER_TEXT)
def parse_strict(digits: str) -> PhoneMatch | None:
    """A valid *mobile* number from international digits (``12015550123``), or ``None``.

    Used where nothing but the value suggests a phone number, so only the shape a
    carrier injects counts: country code first, no ``+``, a valid mobile range.
    """
    if not (MIN_DIGITS + 3 <= len(digits) <= MAX_DIGITS) or not digits.isdigit():
        return None
    if digits[0] == "0":
        return None
    number = _parse("+" + digits, None)
    if number is None:
        return None
    typed = _typed(number)
    if typed[0] == libphonenumber().PhoneNumberType.UNKNOWN:
        return None  # not valid
    match = _describe(number, typed)
    return match if match.mobile else None


@short_keys_cached(4096, _LONGEST_NUMBER_TEXT)
def parse_international(digits: str) -> PhoneMatch | None:
    """International digits (``447700900123``) of a plausible length for their country code.

    For digits that were deliberately wrapped (hex, base64): the wrapping is the
    evidence, so an unallocated range still counts, but no national reading is tried.
    """
    if digits.startswith("+"):
        digits = digits[1:]
    if (
        not (MIN_DIGITS + 3 <= len(digits) <= MAX_DIGITS)
        or not digits.isdigit()
        or digits[0] == "0"
    ):
        return None
    number = _parse("+" + digits, None)
    if number is None:
        return None
    if not _full_length(number):
        return None
    return _describe(number)


@short_keys_cached(4096, _LONGEST_NUMBER_TEXT)
def parse_e164(text: str) -> PhoneMatch | None:
    """A valid number written with its ``+`` (``+1 201 555 0123``, ``tel:+44...``), or ``None``.

    A leading ``+`` is deliberate notation, so any valid type is accepted.
    """
    number = _parse(text, None)
    if number is None:
        return None
    typed = _typed(number)
    if typed[0] == libphonenumber().PhoneNumberType.UNKNOWN:
        return None  # not valid
    return _describe(number, typed)


@lru_cache(maxsize=4096)
def spellings(e164: str) -> tuple[str, ...]:
    """How the number ``e164`` (``+447700900123``) may be written: E.164, its digits,
    with ``00``, its national significant number, and the national and international
    formats, with their spaces and without (``07700 900123``, ``07700900123``,
    ``+44 7700 900123``); none for a text that is no number (``()``)."""
    written = _written(e164)
    if written is None:
        return ()
    nsn, national, international = written
    digits = e164.lstrip("+")
    forms = [e164, digits, "00" + digits, nsn]
    for form in (national, international):
        forms += (form, "".join(ch for ch in form if ch.isdigit() or ch == "+"))
    return tuple(dict.fromkeys(forms))


def digit_forms(e164: str) -> tuple[str, ...]:
    """The digits of each form :func:`spellings` writes the number ``e164`` in, in
    order (``447700900123``, ``00447700900123``, ``7700900123``, ``07700900123``), and
    of the international form that keeps the national prefix in brackets (``+44 (0)7700
    900123``: ``4407700900123``); none for a text that is no number. However a form's
    digits are grouped (``7700 900123``, ``tel:+44-7700-900123``), these are its
    digits."""
    written = _written(e164)
    if written is None:
        return ()
    nsn, national, international = written
    digits = e164.lstrip("+")
    national_digits, international_digits = (
        "".join(ch for ch in form if ch.isdigit()) for form in (national, international)
    )
    forms = [digits, "00" + digits, nsn, national_digits, international_digits]
    if national_digits != nsn and national_digits.endswith(nsn):
        # The country code, then the national form (its prefix, then the number).
        forms.append(digits[: len(digits) - len(nsn)] + national_digits)
    return tuple(dict.fromkeys(forms))


@lru_cache(maxsize=4096)
def _written(e164: str) -> tuple[str, str, str] | None:
    """The national significant number of ``e164`` and its national and international
    formats (libphonenumber's); None for a text that is no number. Asked for both
    :func:`spellings` and :func:`digit_forms` of a number, in each request it is in."""
    phonenumbers = libphonenumber()
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    fmt = phonenumbers.PhoneNumberFormat
    return (
        phonenumbers.national_significant_number(number),
        phonenumbers.format_number(number, fmt.NATIONAL),
        phonenumbers.format_number(number, fmt.INTERNATIONAL),
    )
