"""Canaries: values the user knows belong to the test phone, found in any disguise.

Given ``--msisdn``, ``--imei``, ``--imsi`` or ``--canary VALUE``, every *form* of
the value is precomputed once: the spellings of a number (as given, E.164,
international digits, ``00`` prefix, national, national significant number, the
formatted national / international / ``tel:`` forms) and, for each spelling, its
URL encoding, base64 (standard and URL-safe), hex, and MD5 / SHA-1 / SHA-256
digests in lower and upper case. An app that hashes the user's phone number
before sending it to an ad network is caught by the digest.

Matching is by token, not by substring search over every form
(:class:`CanaryMatcher`): a value is cut into runs of letters and digits with one
regex, and each run is looked up: literal forms in a dict by their most
distinctive run, hex forms by decoding the run, digests in a sorted array of
their first bytes. The cost per request is one pass over its header values, body
and target (in C where ``capture/identity/_idscan.c`` was built:
:meth:`CanaryMatcher.could_match_any`) and a few lookups, whatever the number of
canaries: a fleet of 20,000 test SIMs costs no more per
request than one (``bench/canary_bench.py``). With a few canaries (up to
:data:`NEEDLE_LIMIT` needles), a cheaper pass comes first
(:meth:`CanaryMatcher.could_be_in`): every key, hex and digest of every canary looked
for at once in the request's bytes, so that a request holding none of them (nearly
every one) costs that pass alone. Memory is kept to what must be
kept: a canary holds its spellings, not its 80 forms, and descriptions are
written only for what is found. Each canary is built once per process, however
many times the configuration is checked (:func:`functools.lru_cache`).
"""

from __future__ import annotations

import base64
import functools
import re
from array import array
from binascii import b2a_base64
from bisect import bisect_left
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from capture.identity.devices import luhn_ok
from capture.identity.encodings import url_decode
from capture.identity.phone import libphonenumber, parse_digits

if TYPE_CHECKING:
    import phonenumbers

try:  # built at install time where a C compiler is there (see pyproject.toml)
    from capture.identity import _idscan
except ImportError:
    _idscan = None  # type: ignore[assignment]

MIN_CANARY_LENGTH = 6
"""Shorter values would match ordinary text; the loader refuses them."""

_RUN = re.compile(r"[A-Za-z0-9]+")
_DIGESTS = ("md5", "sha1", "sha256")


@functools.cache
def _hashes() -> tuple[Callable[[bytes], Any], ...]:
    """The constructors of :data:`_DIGESTS`, from CPython's own implementations
    (``_md5``, ``_sha1`` and ``_sha256``, ``_sha2`` from 3.12): the ones :mod:`hashlib`
    falls back to without OpenSSL, with the same digests (a test holds them to
    hashlib's). Loading OpenSSL for the digests of a few short spellings cost 10 M
    instructions, ~2 ms, most of building 3 canaries. hashlib's where a build of
    Python lacks them. Imported only when a canary is built (as libphonenumber, see
    :func:`~capture.identity.phone.libphonenumber`): most scans have none."""
    from importlib import import_module

    try:
        md5 = import_module("_md5").md5
        sha1 = import_module("_sha1").sha1
        try:
            sha256 = import_module("_sha2").sha256
        except ImportError:
            sha256 = import_module("_sha256").sha256
    except ImportError:
        import hashlib

        return (hashlib.md5, hashlib.sha1, hashlib.sha256)
    return (md5, sha1, sha256)


@dataclass(frozen=True, slots=True)
class Canary:
    """One value to look for: its spellings, from which every form is derived."""

    label: str
    """``msisdn``, ``imei``, ``imsi`` or ``canary``."""
    canonical: str
    """The ``normalized`` value of findings: E.164 for numbers, digits, or the value."""
    plains: tuple[str, ...]
    """Each distinct spelling long enough to look for, most specific first."""
    names: tuple[str, ...]
    """What each spelling is, ``{}`` standing for it: ``"E.164 form {}"``."""

    @property
    def spellings(self) -> tuple[tuple[str, str], ...]:
        """``(plain, name)`` pairs, e.g. ``("+447700900123", "E.164 form +447700900123")``."""
        return tuple(
            (plain, name.format(plain)) for plain, name in zip(self.plains, self.names, strict=True)
        )

    @property
    def forms(self) -> tuple[tuple[str, str], ...]:
        """Every ``(literal, description)`` looked for, e.g. ``("2f1c...", "sha256 of
        +447700900123")``; the first description of a literal wins."""
        forms: dict[str, str] = {}
        for number, plain in enumerate(self.plains):
            for literal, code in _encodings(plain):
                forms.setdefault(literal, describe(self, number, code))
        return tuple(forms.items())


# What each form of a spelling is, by code: the plain spelling, its URL encoding,
# standard and URL-safe base64 (found by their literal), then hex and each digest
# in lower and upper case (found by decoding a run of the text).
PLAIN, URL, B64, URLSAFE, HEX, HEX_UPPER = range(6)
_DIGEST_CODES = {name: 6 + 2 * i for i, name in enumerate(_DIGESTS)}  # md5 6, sha1 8, sha256 10
_DIGEST_LENGTHS = {32: "md5", 40: "sha1", 64: "sha256"}
_HEX_CHARS = "0123456789abcdefABCDEF"
# An entry packs a form in one int: canary place << 8 | spelling number << 4 | code.
_PLACE, _NUMBER = 8, 4


def describe(canary: Canary, number: int, code: int) -> str:
    """The description of form ``code`` of the canary's spelling ``number``."""
    plain = canary.plains[number]
    if code == PLAIN:
        return canary.names[number].format(plain)
    if code == URL:
        return f"URL-encoded {plain}"
    if code == B64:
        return f"base64 of {plain}"
    if code == URLSAFE:
        return f"URL-safe base64 of {plain}"
    if code == HEX:
        return f"hex of {plain}"
    if code == HEX_UPPER:
        return f"hex (upper case) of {plain}"
    algorithm = _DIGESTS[(code - 6) // 2]
    return f"{algorithm} (upper case) of {plain}" if code % 2 else f"{algorithm} of {plain}"


# quote(text, safe="") for ASCII text, as one str.translate: the unreserved
# characters stay, every other one becomes %XX. urllib's quote costs 10 µs a call.
_QUOTE = {
    code: f"%{code:02X}"
    for code in range(128)
    if not (chr(code).isascii() and (chr(code).isalnum() or chr(code) in "_.-~"))
}


def _quote(text: str) -> str:
    """``urllib.parse.quote(text, safe="")``, fast for ASCII text."""
    return text.translate(_QUOTE) if text.isascii() else quote(text, safe="")


def _looked_up(plain: str) -> Iterator[tuple[str, int]]:
    """The forms of ``plain`` found by their literal: itself, URL-encoded, base64."""
    yield plain, PLAIN
    if not (plain.isalnum() and plain.isascii()):  # else quote() would change nothing
        quoted = _quote(plain)
        if quoted != plain:
            yield quoted, URL
    raw = plain.encode("utf-8", "surrogateescape")
    # Unpadded, so that padded and unpadded occurrences both contain it.
    b64 = base64.b64encode(raw).decode("ascii").rstrip("=")
    yield b64, B64
    urlsafe = b64.replace("+", "-").replace("/", "_")
    if urlsafe != b64:
        yield urlsafe, URLSAFE


def _encodings(plain: str) -> Iterator[tuple[str, int]]:
    """Every form of ``plain`` with its code (the decoded ones too)."""
    yield from _looked_up(plain)
    raw = plain.encode("utf-8", "surrogateescape")
    hexed = raw.hex()
    yield hexed, HEX
    if hexed.upper() != hexed:
        yield hexed.upper(), HEX_UPPER
    for algorithm, new in zip(_DIGESTS, _hashes(), strict=True):
        digest = new(raw).hexdigest()
        yield digest, _DIGEST_CODES[algorithm]
        yield digest.upper(), _DIGEST_CODES[algorithm] + 1


def _canary(label: str, canonical: str, spellings: Iterable[tuple[str, str]]) -> Canary:
    kept: dict[str, str] = {}
    for plain, name in spellings:
        if len(plain) >= MIN_CANARY_LENGTH:
            # The first name of a spelling wins: spellings come most specific first.
            kept.setdefault(plain, name)
    if len(kept) >= 1 << (_PLACE - _NUMBER):
        raise ValueError(f"{label} {_shown(canonical)} has too many spellings")
    return Canary(label, canonical, tuple(kept), tuple(kept.values()))


def _check_length(value: str, label: str) -> str:
    value = value.strip()
    if len(value) < MIN_CANARY_LENGTH:
        raise ValueError(
            f"{label} {_shown(value)} is too short to look for "
            f"(at least {MIN_CANARY_LENGTH} characters)"
        )
    if max(map(len, _RUN.findall(value)), default=0) < 3:
        raise ValueError(f"{label} {_shown(value)} needs a run of at least 3 letters or digits")
    return value


def _shown(value: str) -> str:
    """``value`` quoted for a message, its first 40 characters where it is longer: the
    line names what was wrong, not 100,000 digits of it."""
    return repr(value) if len(value) <= 40 else f"{value[:40]!r}… ({len(value):,} characters)"


_SEPARATORS = re.compile(r"[^0-9+]+")


def msisdn_canary(value: str, region: str | None) -> Canary:
    """The canary for a phone number given in any format (national ones need ``region``)."""
    if value.lstrip().startswith("+"):
        # The region cannot change an international number: one cache entry for it,
        # whether the configuration was checked without a region or the detector
        # built with the locale's.
        region = None
    return _msisdn_canary(value, region)


def _msisdn_number(value: str, region: str | None) -> phonenumbers.PhoneNumber:
    """The number ``value`` is, read as :func:`msisdn_canary` says; ValueError, in one
    line, when it is none.

    Digits without ``+`` or a leading 0 are read in ``region`` first, then as
    international digits (``447700900123``, the form gateways send): a number given
    that way must not be refused because the locale's region is another country's."""
    lib = libphonenumber()
    digits = "".join(ch for ch in value if ch.isdigit())
    if value.startswith("+"):
        readings = [value]
    elif value.startswith("00") and region is None:
        readings = ["+" + digits[2:]]
    elif value.startswith("0"):
        if region is None:
            raise ValueError(
                f"--msisdn {_shown(value)} is written nationally: give its region (--region GB) "
                "or write it internationally (+44...)"
            )
        readings = [value]
    else:
        readings = ([value] if region else []) + ["+" + digits]
    failure = "is not a phone number"
    for text in readings:
        # Digits without parse's handling of text in general (a third of building a
        # canary); parse for the rest, and for its message on a refusal.
        number = parse_digits(text, region)[1]
        if number is None:
            try:
                number = lib.parse(text, region)
            except lib.NumberParseException as exc:
                # Its reason without the error's number ("(1) The string ..."): the
                # number means nothing to a user.
                failure = f"is not a phone number: {getattr(exc, '_msg', exc)}"
                continue
        if lib.is_possible_number(number):
            return number
        failure = "is not a phone number of a possible length"
    raise ValueError(f"--msisdn {_shown(value)} {failure}")


@functools.lru_cache(maxsize=1 << 16)
def _msisdn_canary(value: str, region: str | None) -> Canary:
    if not any(ch.isdigit() for ch in value):
        # Said before its length, or libphonenumber's own words for it.
        raise ValueError(f"--msisdn {_shown(value.strip())} is not a phone number: no digits")
    value = _check_length(value, "--msisdn")
    lib = libphonenumber()
    PhoneNumberFormat = lib.PhoneNumberFormat
    number = _msisdn_number(value, region)
    nsn = lib.national_significant_number(number)
    # What format_number(E164) gives (checked for every region's examples), without
    # its pattern matching: a fifth of building a canary, for 20,000 of them.
    e164 = f"+{number.country_code}{nsn}"
    national = lib.format_number(number, PhoneNumberFormat.NATIONAL)
    national_digits = "".join(ch for ch in national if ch.isdigit())
    international = lib.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    # RFC 3966 is the international format with each run of separators a hyphen
    # (phonenumbers' own rule; checked for every region's examples): one pattern
    # match fewer.
    rfc3966 = "tel:" + _SEPARATORS.sub("-", international)
    spellings = [
        (e164, "E.164 form {}"),
        (e164[1:], "international form {}"),
        ("00" + e164[1:], "00-prefixed form {}"),
        (national_digits, "national form {}"),
        (nsn, "national significant number {}"),
        (international, "international format"),
        (national, "national format"),
        (rfc3966, "tel: URI"),
        (value, "as given"),
    ]
    return _canary("msisdn", e164, spellings)


@functools.lru_cache(maxsize=1 << 16)
def imei_canary(value: str) -> Canary:
    """The canary for an IMEI (separators allowed); its 14 digits without check digit count too."""
    digits = "".join(ch for ch in value if ch.isdigit())
    if not digits:
        raise ValueError(f"--imei {_shown(value)} is not an IMEI: no digits")
    value = _check_length(value, "--imei")
    if len(digits) not in (14, 15, 16):
        raise ValueError(f"--imei {_shown(value)} must have 14, 15 or 16 digits")
    if len(digits) == 15 and not luhn_ok(digits):
        # A typo, most likely: looked for as typed, the phone's IMEI would never be found.
        check = next(d for d in "0123456789" if luhn_ok(digits[:14] + d))
        why = (
            "a typo, or a network's spare 0 in its place (then give the first 14 digits)"
            if digits[14] == "0"
            else "a typo?"
        )
        raise ValueError(
            f"--imei {_shown(value)} fails its Luhn check (an IMEI with these first 14 "
            f"digits ends in {check}): {why}"
        )
    spellings = [(digits, "IMEI {}"), (value, "as given")]
    if len(digits) >= 15:
        spellings.append((digits[:14], "IMEI without check digit {}"))
        spellings.append(
            (f"{digits[:2]}-{digits[2:8]}-{digits[8:14]}-{digits[14:]}", "IMEI formatted")
        )
    return _canary("imei", digits, spellings)


@functools.lru_cache(maxsize=1 << 16)
def imsi_canary(value: str) -> Canary:
    """The canary for an IMSI (up to 15 digits)."""
    digits = "".join(ch for ch in value if ch.isdigit())
    if digits:  # else said as no IMSI, not as too short
        value = _check_length(value, "--imsi")
    if not 6 <= len(digits) <= 15:
        count = f"{len(digits)} digits" if digits else "no digits"
        raise ValueError(
            f"--imsi {_shown(value)} is not an IMSI: {count} where an IMSI has 6 to 15"
        )
    return _canary("imsi", digits, [(digits, "IMSI {}"), (value, "as given")])


@functools.lru_cache(maxsize=1 << 16)
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
    if literal.isalnum() and literal.isascii():
        return literal  # digests, hex, most base64: the whole form is one run
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


def _case(run: str) -> int | None:
    """0 for a hex run in lower case (or digits only), 1 in upper case, None if mixed."""
    if run.islower() or run.isdigit():
        return 0
    return 1 if run.isupper() else None


def _add(table: dict[str, int], shared: dict[str, list[int]], key: str, entry: int) -> None:
    """Enter ``entry`` under ``key``: as the value alone, or, once there are several,
    in ``shared`` (the value is then -1)."""
    current = table.get(key)
    if current is None:
        table[key] = entry
        return
    if current >= 0:
        shared[key] = [current]
        table[key] = -1
    shared[key].append(entry)


class CanaryMatcher:
    """All canaries' forms, indexed so that matching costs the same for 3 or 20,000.

    * Literal forms (plain, URL-encoded, base64) in a dict by their key run
      (:func:`_key`): a text is cut into runs once, and the runs are looked up.
    * Hex forms by decoding: a run of an even number of hex digits is turned back
      into text and looked up among the spellings.
    * Digests by their first 4 bytes, packed with the entry in one sorted array
      of 8-byte integers (not a 100-byte string for each case of each digest): a
      run of 32, 40 or 64 hex digits is looked up by bisection and confirmed by
      hashing the spelling the entry names.
    """

    def __init__(self, canaries: Iterable[Canary]) -> None:
        self.canaries = tuple(canaries)
        # Most keys name one form: an int, not a list, saves 60 bytes a form (20,000
        # canaries: 400,000 forms); a key shared by several forms goes to _shared.
        index: dict[str, int] = {}
        shared: dict[str, list[int]] = {}
        plains: dict[str, int] = {}
        shared_plains: dict[str, list[int]] = {}
        packed: list[int] = []
        append = packed.append
        # Literals whose key is only part of them, kept so that a candidate is
        # checked without encoding its spelling again (URL-encoded forms mostly).
        literals: dict[int, str] = {}
        # The lengths and first two bytes (as hex) of the spellings: a run of the
        # text is decoded as hex only if it could be one.
        hex_sizes: set[int] = set()
        hex_heads: set[str] = set()

        # The forms of _looked_up, computed inline: this loop runs 160,000 times
        # for 20,000 phone numbers, and is most of the start-up of such a scan.
        def enter(literal: str, entry: int) -> None:
            key = literal if literal.isascii() and literal.isalnum() else _key(literal)
            if key in index:
                _add(index, shared, key, entry)
            else:
                index[key] = entry
            if key != literal and entry & 0xF != PLAIN:
                literals[entry] = literal

        if self.canaries:  # the loop below runs only then
            md5, sha1, sha256 = _hashes()
        from_bytes = int.from_bytes
        for place, canary in enumerate(self.canaries):
            for number, plain in enumerate(canary.plains):
                spelling = place << _PLACE | number << _NUMBER
                if plain in plains:
                    _add(plains, shared_plains, plain, spelling)
                else:
                    plains[plain] = spelling
                # Digits and letters (most spellings, most base64): the literal is its
                # own key, entered here rather than through enter().
                if plain.isascii() and plain.isalnum():
                    if plain in index:
                        _add(index, shared, plain, spelling)
                    else:
                        index[plain] = spelling  # | PLAIN, which is 0
                else:
                    enter(plain, spelling | PLAIN)
                    quoted = _quote(plain)
                    if quoted != plain:
                        enter(quoted, spelling | URL)
                raw = plain.encode("utf-8", "surrogateescape")
                b64 = b2a_base64(raw, newline=False).decode("ascii").rstrip("=")
                if b64.isalnum():
                    if b64 in index:
                        _add(index, shared, b64, spelling | B64)
                    else:
                        index[b64] = spelling | B64
                else:
                    enter(b64, spelling | B64)
                    urlsafe = b64.replace("+", "-").replace("/", "_")
                    if urlsafe != b64:
                        enter(urlsafe, spelling | URLSAFE)
                hex_sizes.add(2 * len(raw))
                hex_heads.add(raw[:2].hex())
                append(from_bytes(md5(raw).digest()[:4], "big") << 32 | spelling | 6)
                append(from_bytes(sha1(raw).digest()[:4], "big") << 32 | spelling | 8)
                append(from_bytes(sha256(raw).digest()[:4], "big") << 32 | spelling | 10)
        if len(self.canaries) >= 1 << (32 - _PLACE):
            raise ValueError(f"at most {(1 << (32 - _PLACE)) - 1:,} canaries")
        packed.sort()
        self._index = index
        self._shared = shared
        self._keys = index.keys()
        self._plains = plains
        self._shared_plains = shared_plains
        self._digests = array("Q", packed)
        self._literals = literals
        self._hex_sizes = frozenset(hex_sizes)
        # Tested inline before _hexlike is called: most runs have neither length, and a
        # method call per run cost more than the rest of the canary test on cookie- and
        # parameter-heavy traffic.
        self._hexlike_sizes = frozenset(_DIGEST_LENGTHS) | self._hex_sizes
        self._hex_heads = frozenset(hex_heads)
        # Only runs as long as the shortest key can be one: most of a cookie or a URL
        # is short runs, and not cutting them out makes the test a third cheaper.
        shortest = min((len(key) for key in index if key), default=1)
        self._shortest = shortest
        self._gate = run_gate(index)
        self._runs = re.compile(f"[A-Za-z0-9]{{{shortest},}}")
        self._needles = _needles(self.canaries, index)

    def could_be_in(
        self, headers: Sequence[tuple[str, str]], body: bytes, uri: str | None
    ) -> bool | None:
        """First test of a request, before :meth:`could_match_any`: False means no
        canary is in its header values, body or target (as sent or percent-decoded),
        True that one of their forms is. One pass in C (``_idscan.needles``) for every
        canary's every form at once. None when it was not made (then
        :meth:`could_match_any` decides): where the C extension was not built, for a
        str of wide characters, or for more canaries than :data:`NEEDLE_LIMIT` allows."""
        needles = self._needles
        if needles is None or _idscan is None:
            return None
        return _idscan.needles(needles, headers, body or None, uri)

    @property
    def needles(self) -> tuple[str, ...] | None:
        """The needles :meth:`could_be_in` gives ``_idscan.needles`` (for a caller that
        makes that call itself, on its hot path); None when that test is not made."""
        return self._needles

    def may_hold(self, text: str | bytes) -> bool:
        """False when no canary can be in ``text``, nor in any part of it, as sent or
        percent-decoded (a Cookie header's values, a target's path and parameters, a
        form body's values): which fields of a request :meth:`could_be_in` let through
        are searched. In C (``_idscan.needle_in``); True where it was not built."""
        needles = self._needles
        if needles is None or _idscan is None:
            return True
        found = _idscan.needle_in(needles, text)
        return True if found is None else found

    def __bool__(self) -> bool:
        return bool(self.canaries)

    @staticmethod
    def _entries(entry: int, key: str, shared: dict[str, list[int]]) -> Sequence[int]:
        """The entries of ``key``, whose table value is ``entry`` (-1: see ``shared``)."""
        return shared[key] if entry < 0 else (entry,)

    def _hexlike(self, run: str) -> bool:
        """Whether ``run`` could be a hex or digest form (then :meth:`_decoded` looks)."""
        size = len(run)
        if size in _DIGEST_LENGTHS:
            return not run.strip(_HEX_CHARS)
        return (
            size in self._hex_sizes
            and run[:4].lower() in self._hex_heads
            and not run.strip(_HEX_CHARS)
        )

    def _literal(self, entry: int, run: str) -> str:
        """The literal of a looked-up form, found under the key ``run``."""
        if entry & 0xF == PLAIN:
            return self.canaries[entry >> _PLACE].plains[entry >> _NUMBER & 0xF]
        return self._literals.get(entry) or run

    def could_match(self, text: str) -> bool:
        """Cheap test: False means no canary occurs in ``text``. The runs of ``text``
        are cut out and looked up in C (``_idscan.runs``) where it was built and the
        text is ASCII, else as :func:`_runs_py` does."""
        hits, hexes = self._cut(text)
        if hits:
            for run in set(hits):
                if len(run) >= MIN_CANARY_LENGTH:
                    return True
                # A short key ("0123" of "+1 201-555-0123"): with thousands of
                # canaries every 4-digit run is one, so the literal is checked here.
                for entry in self._entries(self._index[run], run, self._shared):
                    literal = self._literal(entry, run)
                    if literal == run or literal in text:
                        return True
        return any(self._decoded(run) for run in hexes if self._hexlike(run))

    def could_match_any(self, texts: Sequence[str], decode_last: bool = False) -> bool:
        """Whether :meth:`could_match` is true of any of ``texts`` (and, with
        ``decode_last``, of the last one percent-decoded), in one pass over them all:
        joined by a character that is no letter or digit, so that their runs stay
        theirs. A short key's literal must be in the text the run came from, so when
        only short keys were found, the texts are tested one by one."""
        joined = "\x00".join(texts)
        tail = len(joined) - len(texts[-1]) if decode_last and texts else -1
        keyed, hexes = self._cut(joined, tail)
        short = False
        for run in keyed:
            if len(run) >= MIN_CANARY_LENGTH:
                return True
            short = True
        if any(self._decoded(run) for run in hexes if self._hexlike(run)):
            return True
        if not short:
            return False
        one_by_one = list(texts)
        if decode_last and texts and "%" in texts[-1]:
            one_by_one.append(url_decode(texts[-1]))
        return any(self.could_match(text) for text in one_by_one)

    def _cut(self, text: str, tail: int = -1) -> tuple[list[str], list[str]]:
        """The runs of ``text`` that are keys, and those that could be hex forms (see
        :func:`_runs_py`); when ``tail`` is 0 or more, those of ``text[tail:]``
        percent-decoded too. In C where it was built."""
        if _idscan is not None:
            found = _idscan.runs(
                text, self._shortest, self._index, self._hexlike_sizes, self._gate, tail
            )
            if found is not None:
                return found
        keyed, hexes = _runs_py(text, self._runs, self._index, self._hexlike_sizes)
        if tail >= 0 and "%" in text[tail:]:
            more = _runs_py(url_decode(text[tail:]), self._runs, self._index, self._hexlike_sizes)
            keyed += more[0]
            hexes += more[1]
        return keyed, hexes

    def _decoded(self, run: str) -> list[tuple[int, int]]:
        """``(entry, code)`` of each hex or digest form that ``run`` (hex digits) is."""
        case = _case(run)
        if case is None:
            return []
        found: list[tuple[int, int]] = []
        raw = bytes.fromhex(run)
        algorithm = _DIGEST_LENGTHS.get(len(run))
        if algorithm is not None:
            digests = self._digests
            prefix = int.from_bytes(raw[:4], "big")
            at = bisect_left(digests, prefix << 32)
            while at < len(digests) and digests[at] >> 32 == prefix:
                entry = digests[at] & 0xFFFFFFFF
                at += 1
                if entry & 0xF != _DIGEST_CODES[algorithm]:
                    continue
                plain = self.canaries[entry >> _PLACE].plains[entry >> _NUMBER & 0xF]
                new = _hashes()[_DIGESTS.index(algorithm)]
                if new(plain.encode("utf-8", "surrogateescape")).digest() == raw:
                    found.append((entry, (entry & 0xF) + case))
        if len(run) in self._hex_sizes:
            # Decoding is exact and the run is in one case, so a spelling found here
            # is one whose hex is the run.
            plain = raw.decode("utf-8", "surrogateescape")
            spelling = self._plains.get(plain)
            if spelling is not None:
                found.extend(
                    (s | HEX, HEX + case)
                    for s in self._entries(spelling, plain, self._shared_plains)
                )
        return found

    def find(self, text: str) -> list[CanaryHit]:
        """The canaries in ``text``, each once, with the most specific form that matched."""
        best: dict[int, tuple[str, int, int]] = {}  # place -> (literal, number, code)

        def offer(entry: int, code: int, literal: str) -> None:
            place = entry >> _PLACE
            current = best.get(place)
            if current is None or len(literal) > len(current[0]):
                best[place] = (literal, entry >> _NUMBER & 0xF, code)

        keyed, hexes = self._cut(text)
        for run in set(keyed):
            for entry in self._entries(self._index[run], run, self._shared):
                literal = self._literal(entry, run)
                if literal != run and literal not in text:
                    continue
                offer(entry, entry & 0xF, literal)
        for run in set(hexes):
            if self._hexlike(run):
                for entry, code in self._decoded(run):
                    offer(entry, code, run)
        hits = []
        for place in sorted(best):
            literal, number, code = best[place]
            canary = self.canaries[place]
            hits.append(_as_sent(CanaryHit(canary, literal, describe(canary, number, code)), text))
        return hits


def _runs_py(
    text: str, runs: re.Pattern[str], keys: Container[str], sizes: Container[int]
) -> tuple[list[str], list[str]]:
    """The runs of ``text`` (``runs``: runs of letters and digits at least as long as
    the shortest key) that are in ``keys``, and those whose length is in ``sizes``
    and which are all hex digits: :meth:`CanaryMatcher.could_match`'s cut, and the
    reference ``_idscan.runs`` is held to."""
    cut = runs.findall(text)
    return [run for run in cut if run in keys], [
        run for run in cut if len(run) in sizes and not run.strip(_HEX_CHARS)
    ]


NEEDLE_LIMIT = 2048
"""Most needles the first test of a request looks for (:func:`_needles`): a few dozen a
canary, so some 25 phone numbers. With more, every request goes to the cut of runs,
whose cost does not grow with their number (``bench/canary_bench.py``)."""


def _needles(canaries: Sequence[Canary], keys: Iterable[str]) -> tuple[str, ...] | None:
    """The strings of which a text holds one wherever :meth:`CanaryMatcher.could_match`
    (and so :meth:`~CanaryMatcher.find`) can be true of it: every key (a run that is
    looked up must be one), and each spelling's hex and digests in lower and upper
    case (a run decoded must be one of them, in one case). All are ASCII letters and
    digits. None when there are more than :data:`NEEDLE_LIMIT`."""
    found = set(keys)
    for canary in canaries:
        for plain in canary.plains:
            raw = plain.encode("utf-8", "surrogateescape")
            hexes = [raw.hex()] + [new(raw).hexdigest() for new in _hashes()]
            found.update(hexes)
            found.update(text.upper() for text in hexes)
        if len(found) > NEEDLE_LIMIT:
            return None
    return tuple(sorted(found))


def _needle_in_py(needles: Sequence[str], text: str | bytes) -> bool:
    """Does any of ``needles`` occur in ``text`` or in ``text`` percent-decoded (bytes
    read as UTF-8)? (:meth:`CanaryMatcher.may_hold`'s test; the reference
    ``_idscan.needle_in`` is held to.)"""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "surrogateescape")
    decoded = url_decode(text)
    return any(needle in text or needle in decoded for needle in needles)


def _needles_py(
    needles: Sequence[str], headers: Sequence[tuple[str, str]], body: bytes, uri: str | None
) -> bool:
    """Does any of ``needles`` occur in a header value, the body, the target, or the
    target percent-decoded? (:meth:`CanaryMatcher.could_be_in`'s test; the reference
    ``_idscan.needles`` is held to.)"""
    texts = [value for _, value in headers]
    if body:
        texts.append(body.decode("utf-8", "surrogateescape"))
    if uri:
        texts.append(uri)
        texts.append(url_decode(uri))
    return any(needle in text for text in texts for needle in needles)


_GATE_LENGTHS = 64


def run_gate(keys: Iterable[str]) -> bytes:
    """Which runs can be keys, by length (the last slot for every longer run) and first
    character: ``_idscan.runs`` makes a str of a run and looks it up only where this
    says yes. Keys are runs of ASCII letters and digits (see :func:`_key`)."""
    gate = bytearray(_GATE_LENGTHS * 128)
    for key in keys:
        if key and key.isascii():
            gate[min(len(key), _GATE_LENGTHS - 1) * 128 + ord(key[0])] = 1
    return bytes(gate)


def _as_sent(hit: CanaryHit, text: str) -> CanaryHit:
    """``hit`` with :attr:`CanaryHit.text` set; base64 forms take their ``=`` padding along."""
    sent = hit.literal
    if "base64" in hit.description:
        end = text.find(sent) + len(sent)
        padding = len(text[end : end + 2]) - len(text[end : end + 2].lstrip("="))
        sent += "=" * padding
    return CanaryHit(hit.canary, hit.literal, hit.description, sent)
