"""Canaries: values the user knows belong to the test phone, found in any disguise.

Given ``--msisdn``, ``--imei``, ``--imsi`` or ``--canary VALUE``, every *form* of
the value is precomputed once: the spellings of a number (as given, E.164,
international digits, ``00`` prefix, national, national significant number, the
formatted national / international / ``tel:`` forms) and, for each spelling, its
URL encoding, base64 (standard and URL-safe), hex, and MD5 / SHA-1 / SHA-256
digests in lower and upper case. An app that hashes the user's phone number
before sending it to an ad network is caught by the digest.

Matching is by token, not by substring search over every form: each form is
indexed by its longest run of letters and digits, a value is cut into such runs
with one regex, and only forms whose run occurs are checked with ``in``. Cost is
one regex pass and a set intersection per request, whatever the number of forms.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import quote

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

MIN_CANARY_LENGTH = 6
"""Shorter values would match ordinary text; the loader refuses them."""

_RUN = re.compile(r"[A-Za-z0-9]+")
_DIGESTS = ("md5", "sha1", "sha256")


@dataclass(frozen=True, slots=True)
class Canary:
    """One value to look for, with all its precomputed forms."""

    label: str
    """``msisdn``, ``imei``, ``imsi`` or ``canary``."""
    canonical: str
    """The ``normalized`` value of findings: E.164 for numbers, digits, or the value."""
    forms: tuple[tuple[str, str], ...]
    """``(literal, description)`` pairs, e.g. ``("2f1c...", "sha256 of +447700900123")``."""


def _encodings(plain: str, name: str) -> Iterator[tuple[str, str]]:
    """``plain`` itself (described as ``name``) and every encoding of it."""
    yield plain, name
    quoted = quote(plain, safe="")
    if quoted != plain:
        yield quoted, f"URL-encoded {plain}"
    raw = plain.encode("utf-8", "surrogateescape")
    b64 = base64.b64encode(raw).decode("ascii").rstrip("=")
    # Unpadded, so that padded and unpadded occurrences both contain it.
    yield b64, f"base64 of {plain}"
    urlsafe = base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
    if urlsafe != b64:
        yield urlsafe, f"URL-safe base64 of {plain}"
    hexed = raw.hex()
    yield hexed, f"hex of {plain}"
    if hexed.upper() != hexed:
        yield hexed.upper(), f"hex (upper case) of {plain}"
    for algorithm in _DIGESTS:
        digest = hashlib.new(algorithm, raw).hexdigest()
        yield digest, f"{algorithm} of {plain}"
        yield digest.upper(), f"{algorithm} (upper case) of {plain}"


def _canary(label: str, canonical: str, spellings: Iterable[tuple[str, str]]) -> Canary:
    forms: dict[str, str] = {}
    for plain, name in spellings:
        if len(plain) < MIN_CANARY_LENGTH:
            continue
        for literal, description in _encodings(plain, name):
            # The first description of a literal wins: spellings come most specific first.
            forms.setdefault(literal, description)
    return Canary(label, canonical, tuple(forms.items()))


def _check_length(value: str, label: str) -> str:
    value = value.strip()
    if len(value) < MIN_CANARY_LENGTH:
        raise ValueError(
            f"{label} {value!r} is too short to look for (at least {MIN_CANARY_LENGTH} characters)"
        )
    if max(map(len, _RUN.findall(value)), default=0) < 3:
        raise ValueError(f"{label} {value!r} needs a run of at least 3 letters or digits")
    return value


def msisdn_canary(value: str, region: str | None) -> Canary:
    """The canary for a phone number given in any format (national ones need ``region``)."""
    value = _check_length(value, "--msisdn")
    digits = "".join(ch for ch in value if ch.isdigit())
    text = value if value.startswith("+") or value.startswith("0") or region else "+" + digits
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        raise ValueError(f"--msisdn {value!r} is not a phone number: {exc}") from None
    if not phonenumbers.is_possible_number(number):
        raise ValueError(f"--msisdn {value!r} is not a phone number of a possible length")
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    nsn = phonenumbers.national_significant_number(number)
    national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    national_digits = "".join(ch for ch in national if ch.isdigit())
    spellings = [
        (e164, f"E.164 form {e164}"),
        (e164[1:], f"international form {e164[1:]}"),
        ("00" + e164[1:], f"00-prefixed form 00{e164[1:]}"),
        (national_digits, f"national form {national_digits}"),
        (nsn, f"national significant number {nsn}"),
        (
            phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL),
            "international format",
        ),
        (national, "national format"),
        (phonenumbers.format_number(number, PhoneNumberFormat.RFC3966), "tel: URI"),
        (value, "as given"),
    ]
    return _canary("msisdn", e164, spellings)


def imei_canary(value: str) -> Canary:
    """The canary for an IMEI (separators allowed); its 14 digits without check digit count too."""
    value = _check_length(value, "--imei")
    digits = "".join(ch for ch in value if ch.isdigit())
    if len(digits) not in (14, 15, 16):
        raise ValueError(f"--imei {value!r} must have 14, 15 or 16 digits")
    spellings = [(digits, f"IMEI {digits}"), (value, "as given")]
    if len(digits) >= 15:
        spellings.append((digits[:14], f"IMEI without check digit {digits[:14]}"))
        spellings.append(
            (f"{digits[:2]}-{digits[2:8]}-{digits[8:14]}-{digits[14:]}", "IMEI formatted")
        )
    return _canary("imei", digits, spellings)


def imsi_canary(value: str) -> Canary:
    """The canary for an IMSI (up to 15 digits)."""
    value = _check_length(value, "--imsi")
    digits = "".join(ch for ch in value if ch.isdigit())
    if not 6 <= len(digits) <= 15:
        raise ValueError(f"--imsi {value!r} must have at most 15 digits")
    return _canary("imsi", digits, [(digits, f"IMSI {digits}"), (value, "as given")])


def value_canary(value: str) -> Canary:
    """The canary for any other value (an e-mail, an advertising ID, a name...)."""
    value = _check_length(value, "--canary")
    spellings = [(value, "as given")]
    if value.lower() != value:
        spellings.append((value.lower(), "lower case"))
    if value.upper() != value:
        spellings.append((value.upper(), "upper case"))
    return _canary("canary", value, spellings)


def _key(literal: str) -> str:
    """The run of letters and digits a form is indexed by: its most distinctive one.

    That is the longest run, except in an address, where the domain ("example" of
    alice@example.com) is shared with every URL of the site and the user part is not.
    """
    user, at, _ = literal.partition("@")
    runs = _RUN.findall(user if at and _RUN.search(user) else literal)
    return max(runs, key=len, default="")


@dataclass(frozen=True, slots=True)
class CanaryHit:
    """A canary found in a text: which one, the literal that matched, and its form."""

    canary: Canary
    literal: str
    description: str
    text: str = ""
    """What was in the text: the literal, with base64 padding when it was sent."""


class CanaryMatcher:
    """All canaries' forms, indexed for one-pass matching."""

    def __init__(self, canaries: Iterable[Canary]) -> None:
        self.canaries = tuple(canaries)
        index: dict[str, list[tuple[str, str, Canary]]] = {}
        for canary in self.canaries:
            for literal, description in canary.forms:
                index.setdefault(_key(literal), []).append((literal, description, canary))
        self._index = index
        self._keys = frozenset(index)
        # Only runs as long as the shortest key can be one: most of a cookie or a URL
        # is short runs, and not cutting them out makes the test a third cheaper.
        shortest = min((len(key) for key in index if key), default=1)
        self._runs = re.compile(f"[A-Za-z0-9]{{{shortest},}}")

    def __bool__(self) -> bool:
        return bool(self.canaries)

    def could_match(self, text: str) -> bool:
        """Cheap test: False means no canary occurs in ``text``."""
        return not self._keys.isdisjoint(self._runs.findall(text))

    def find(self, text: str) -> list[CanaryHit]:
        """The canaries in ``text``, each once, with the most specific form that matched."""
        best: dict[int, CanaryHit] = {}
        for run in set(self._runs.findall(text)) & self._keys:
            for literal, description, canary in self._index[run]:
                if literal != run and literal not in text:
                    continue
                current = best.get(id(canary))
                if current is None or len(literal) > len(current.literal):
                    best[id(canary)] = CanaryHit(canary, literal, description)
        order = {id(c): i for i, c in enumerate(self.canaries)}
        return [
            _as_sent(hit, text) for hit in sorted(best.values(), key=lambda h: order[id(h.canary)])
        ]


def _as_sent(hit: CanaryHit, text: str) -> CanaryHit:
    """``hit`` with :attr:`CanaryHit.text` set; base64 forms take their ``=`` padding along."""
    sent = hit.literal
    if "base64" in hit.description:
        end = text.find(sent) + len(sent)
        padding = len(text[end : end + 2]) - len(text[end : end + 2].lstrip("="))
        sent += "=" * padding
    return CanaryHit(hit.canary, hit.literal, hit.description, sent)
