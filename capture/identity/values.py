"""What identity one value carries, given what its name says.

:class:`ValueScanner` ties the single-purpose detectors together (phone numbers,
IMEI, IMSI, e-mail/NAI, device IDs, hex and base64 wrappings, composite values)
and decides how much evidence is enough:

* a name that says "phone" (``msisdn``, ``user_phone``) makes any plausible
  number a phone number, in any format, national ones included;
* a value written as a number on purpose (``+1 201 555 0123``, ``tel:``, hex- or
  base64-wrapped digits) counts under any name;
* bare digits under a name that says nothing count only in headers (gateway
  vendors let operators choose header names), only as a valid mobile number,
  an IMEI (Luhn check and a known TAC prefix) or an IMSI (15 digits starting
  with a listed MCC and MNC), and never under a counter-like name
  (``x-request-id``, ``timestamp``). In cookies and query strings, where numeric
  IDs are everywhere, they never count;
* a hex digest (MD5, SHA-1, SHA-256) under a name that says phone, e-mail, IMEI or
  IMSI is that identifier hashed (``hashed_phone_number``, ``imei_md5``), unless the
  name also says code, token, signature or key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from capture.identity import names
from capture.identity.caching import short_keys_cached
from capture.identity.deviceid import device_id_detail, unprefixed
from capture.identity.devices import imsi_by_structure, parse_imei, parse_imsi
from capture.identity.encodings import (
    base64_digits,
    base64_text,
    hex_digits,
    several_parts,
    split_parts,
    url_decode,
)
from capture.identity.nai import AddressMatch, find_addresses, known_tld
from capture.identity.phone import (
    PhoneMatch,
    parse_e164,
    parse_international,
    parse_lenient,
    parse_strict,
)
from capture.identity.placeholder_digests import PLACEHOLDER_DIGESTS

# Detector names: the ``detector`` field of findings, and what ``disabled`` can name.
PHONENUMBER = "phonenumber"
IMEI = "imei"
IMSI = "imsi"
EMAIL = "email"
DEVICE_ID = "device-id-name"
DIGEST = "hashed-name"
VALUE_DETECTORS = (PHONENUMBER, IMEI, IMSI, EMAIL, DEVICE_ID, DIGEST)

# The hex digests sent in place of an identifier, by length. Meta's and Google's ad
# APIs take e-mail addresses and phone numbers SHA-256-hashed (Meta's advanced
# matching, Google's enhanced conversions), Chinese ad APIs an IMEI MD5-hashed
# (imei_md5): the digest is as stable as what was hashed, and a phone number's can be
# reversed by hashing every number of its country.
_DIGESTS = {32: "MD5", 40: "SHA-1", 64: "SHA-256"}
# What a digest under a name with each hint stands for: (kind, what was hashed).
_HASHED = {
    names.HINT_PHONE: ("subscriber_id", "phone number"),
    names.HINT_EMAIL: ("tracking_id", "e-mail address"),
    names.HINT_IMEI: ("device_id", "IMEI"),
    names.HINT_IMSI: ("subscriber_id", "IMSI"),
}
_HEX = "0123456789abcdefABCDEF"


def hex_digest(value: str) -> str | None:
    """The algorithm whose digest ``value`` is shaped like (``"SHA-256"``: 64 hex
    digits, letters and digits both, as any real digest has), or ``None``."""
    text = value.strip()
    algorithm = _DIGESTS.get(len(text))
    if algorithm is None or text.strip(_HEX) or text.isdigit() or text.isalpha():
        return None
    return algorithm


_URI_SCHEMES = ("tel:", "sip:", "sips:")
_WRITTEN_NUMBER = re.compile(r"\+[0-9][0-9 ().\-]{6,24}")
# A list of numbers: items split at list separators (not spaces, which a written number
# has), each one digits, perhaps written ("+44 7700 900123", "(201) 555-0123").
_LIST_SPLIT = re.compile(r"[,;|]")
_LIST_ITEM = re.compile(r"\+?[0-9(][0-9 ().\-/]{6,24}")
_QUOTES = " \t\"'<>"
# Characters that are no printable ASCII at either end of a value (control bytes, and
# the surrogates a byte that is not UTF-8 is read as): not part of a number written.
_JUNK_ENDS = re.compile(r"^[^\x20-\x7e]+|[^\x20-\x7e]+$")


# Unix times from 2009 to 2040 in seconds and milliseconds: the numbers most often
# found bare in headers. libphonenumber rejects nearly all of them already; this makes
# it certain, at the cost of never reading such a number as an unnamed phone number.
_EPOCH_RANGES = ((1_230_768_000, 2_208_988_800), (1_230_768_000_000, 2_208_988_800_000))


def _epoch_like(digits: str) -> bool:
    # Its length first: Python refuses int() of more than 4,300 digits, which a
    # header value can hold (an exception there stopped a live capture).
    significant = digits.lstrip("0")
    if len(significant) > 13:
        return False
    value = int(significant or "0")
    return any(low <= value < high for low, high in _EPOCH_RANGES)


# A calendar time written as digits, year first (YYYYMMDDhh, YYYYMMDDhhmm,
# YYYYMMDDhhmmss), from 1990 to 2040: cache busters and build stamps
# (``?bust=201512041526`` in an HTTP/2 request's ``:path``). Years 2010-2015 start
# like Egypt's mobile numbers (+20 10, 11, 12, 15), and libphonenumber calls such a
# stamp a valid one; a number that is also a valid time of day (about one in two
# hundred) is the price of never reporting a stamp as an unnamed phone number.
_CALENDAR = re.compile(
    r"(?:199[0-9]|20[0-3][0-9]|2040)(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
    r"(?:[01][0-9]|2[0-3])(?:(?:[0-5][0-9]){1,2})?"
)


def _valid_number(digits: str, region: str | None) -> bool:
    """Are ``digits`` a number libphonenumber calls valid (read as :func:`parse_lenient`
    reads a subscriber's)?"""
    phone = parse_lenient(digits, region)
    return phone is not None and phone.valid


def _calendar_like(digits: str) -> bool:
    return _CALENDAR.fullmatch(digits) is not None


class Mode(Enum):
    """How much a bare value is trusted where it was found."""

    HEADER = "header"
    """Headers: bare digits may be a phone number or IMEI (operator-chosen names)."""
    PARAM = "param"
    """Cookies and query parameters: only deliberate notations count unless named."""


@dataclass(frozen=True, slots=True)
class ValueHit:
    """One identity found in a value (the detector's half of a Finding)."""

    kind: str
    value: str
    """The part of the value that carries the identity, as sent."""
    normalized: str
    detector: str
    severity: str
    detail: str


def _what(address: AddressMatch) -> str:
    """What an address is called in a finding: an e-mail address, or a NAI (a realm
    without a dot, as a carrier's ``user@realm`` has)."""
    return "e-mail address" if "." in address.realm else "NAI"


def _phone_hit(part: str, match: PhoneMatch, severity: str, how: str = "") -> ValueHit:
    detail = f"{match.detail} · {how}" if how else match.detail
    return ValueHit("msisdn", part, match.e164, PHONENUMBER, severity, detail)


def _written(text: str) -> ValueHit | None:
    """A number written with its ``+`` (``+1 201 555 0123``, ``%2B447700900123``).

    A valid number is reported with high severity. The ``+`` is deliberate notation,
    so a number of plausible length that libphonenumber does not call valid (Ofcom's
    drama range +44 7700 900xxx) is still reported, with medium severity and a
    detail saying so, when it has at least 11 digits (shorter "+digits" are offsets
    and versions more often than numbers).
    """
    number = url_decode(text).strip()
    # Written as a number, "+" and all: digits and the separators people write
    # between them (a form's spaces arrive as "+": "%2B44+7700+900123"). A part that
    # only starts with "+" is not one: in an app's User-Agent sent as a parameter
    # ("...+sdk_gphone_x86+Build/RSR1.201013.001"), the digits of its words made
    # "+86 1201013001".
    if not _WRITTEN_NUMBER.fullmatch(number[:1] + number[1:].replace("+", " ")):
        return None
    match = parse_e164(number)
    if match is not None:
        return _phone_hit(text, match, "high")
    digits = "".join(ch for ch in number if ch.isdigit())
    if len(digits) < 11:
        return None
    match = parse_international(digits)
    if match is None:
        return None
    return _phone_hit(text, match, "medium", "libphonenumber does not call it a valid number")


_PART_OPENERS = ("%2b", *_URI_SCHEMES)
"""What a part opens with to be read on its own, besides a name (:meth:`ValueScanner._part`)."""


def _parts_say_nothing(value: str) -> bool:
    """Can no part of the composite ``value`` be read on its own in a parameter under a
    name without a hint (:meth:`ValueScanner._part`): it has several parts, and none
    is named (``=``), a URI (``tel:``, ``sip:``, ``sips:``, in any case) or a written
    number (a "+", or "%2b" still encoded)? Then only digits wrapped whole could be
    read, and they are not there."""
    if "=" in value or "+" in value or not several_parts(value):
        return False
    lowered = value.lower()
    for opener in _PART_OPENERS:  # noqa: SIM110 (any() over a generator costs more)
        if opener in lowered:
            return False
    return True


class ValueScanner:
    """Finds identities in single values; holds the region and the enabled detectors."""

    def __init__(
        self, region: str | None, enabled: frozenset[str] = frozenset(VALUE_DETECTORS)
    ) -> None:
        self.region = region
        self.enabled = enabled

    @staticmethod
    @short_keys_cached(8192, 256)
    def hint_for(name: str) -> names.NameHint:
        """The :class:`~capture.identity.names.NameHint` of a raw name.

        A bounded LRU: names are attacker-controlled, and a cache emptied when full
        would lose the common names every time a burst of one-off names filled it;
        a name over 256 characters is classified each time (none is that long).
        """
        return names.name_hint(names.hint_key(name, names.normalize_name(name)))

    # -- named values ---------------------------------------------------------------

    def named_phone(self, value: str, force: bool = False) -> ValueHit | None:
        """The phone number in a value whose name says it is one (lenient), or ``None``;
        the first, where the value lists several (:meth:`named_phones`).

        ``force`` looks even when the ``phonenumber`` rule is disabled: the catalog
        uses it to normalise the headers it reports by name.
        """
        found = self._named_phones(value, force)
        return found[0][0] if found else None

    def named_phones(self, value: str, force: bool = False) -> list[ValueHit]:
        """Every phone number in a value whose name says it holds one: one, or each of a
        list of numbers (``447911123456, 447700900123``: two headers of one name merged
        by a proxy, or an app's contact list), ``force`` as for :meth:`named_phone`."""
        return [hit for hit, _ in self._named_phones(value, force)]

    def _named_phones(self, value: str, force: bool) -> list[tuple[ValueHit, PhoneMatch]]:
        """:meth:`named_phones`'s hits and the numbers they read."""
        if not force and PHONENUMBER not in self.enabled:
            return []
        text = value.strip().strip("\"'<>")
        how = ""
        if not (text.isascii() and text.isprintable()):
            # Bytes that are no text at either end (a gateway's length or type byte
            # before the number, written \xNN): the number between them is read.
            bare = _JUNK_ENDS.sub("", text).strip()
            if bare != text and bare:
                text, how = bare, "between bytes that are not text"
        if text[:5].lower().startswith(_URI_SCHEMES):
            text = text.split(":", 1)[1].split(";", 1)[0].split("@", 1)[0]
        if text[-10:].upper() == "/TYPE=PLMN":
            # An MMS address (OMA's MMS encapsulation: a device address is the number,
            # then "/TYPE=PLMN"), as MMS centres take it from X-MSISDN.
            text = text[:-10]
        text = url_decode(text)
        if "+" in text[1:]:
            # A space as a form or a query writes it: a browser posts "07911 123456",
            # typed with its space, as "07911+123456" (a leading "+" is E.164's).
            text = text[:1] + text[1:].replace("+", " ")
        match = parse_lenient(text, self.region)
        if match is not None:
            return [(_phone_hit(value.strip(), match, "high", how), match)]
        for decoder, coded in ((hex_digits, "hex-encoded"), (base64_digits, "base64-encoded")):
            decoded = decoder(text)
            if decoded is not None:
                match = parse_lenient(decoded, self.region)
                if match is not None:
                    said = f"{how} · {coded}" if how else coded
                    return [(_phone_hit(value.strip(), match, "high", said), match)]
        items = [item.strip(_QUOTES) for item in _LIST_SPLIT.split(text)]
        items = [item for item in items if item]
        if len(items) > 1 and all(_LIST_ITEM.fullmatch(item) for item in items):
            # A list of numbers and nothing else: each one is a number sent. (Only the
            # first was read, and a second number merged into the header was lost.)
            found = []
            for item in items:
                match = parse_lenient(item, self.region)
                if match is not None:
                    found.append((_phone_hit(item, match, "high", how), match))
            return found
        # Composite value under a phone name ("GPRS,447700900123,unsecured"): its other
        # fields are not numbers, so the first number is the one it carries.
        for _, part in split_parts(text):
            if part != text:
                match = parse_lenient(part, self.region)
                if match is not None:
                    return [(_phone_hit(part, match, "high", how), match)]
        return []

    def named_subscriber(self, value: str, only_number: bool = False) -> list[ValueHit]:
        """The phone numbers or IMSI in a value whose name says "subscriber", "caller",
        "clid", "sub", "bearer address" or "number" (each of a list of numbers, as for
        :meth:`named_phones`).

        Such a name makes a phone-shaped value a phone number (international or,
        with a region, national; bare digits, ``+``, hex or base64), but it promises
        less than ``msisdn`` does: a number libphonenumber does not call valid (the
        drama range 07700 900xxx) is reported with medium severity, and says so.
        ``only_number``: the name says "number" and nothing else
        (:attr:`~capture.identity.names.NameHint.only_number`), which promises less
        still: a valid number that is not a mobile's (``number=1234567890``, a Bedford
        line in ``--region GB``, or an order's ten digits) is medium too, and says so.
        """
        text = value.strip()
        digits = text[1:] if text[:1] == "+" else text
        if digits.isdigit() and len(digits) == 15:
            found = self._subscriber_device(digits, text, only_number)
            if found is not None:
                return [found]
            if parse_imsi(digits) is not None and not _valid_number(digits, self.region):
                # IMSI-shaped, not one here (under "number" alone): no invalid number's
                # reading either (+46 111234567898 of China Telecom's 46011...).
                return []
        hits = []
        # Each number as read (its E.164 form read again is the same number, judged
        # the same: a second reading cost a subscriber's first value ~40 us).
        for hit, match in self._named_phones(value, False):
            if not match.valid and len(hit.normalized) < 11:
                # Under 10 digits with the country code, an invalid number is more
                # likely a count or a short code than a subscriber's line.
                continue
            if not match.valid:
                detail = f"{hit.detail} · libphonenumber does not call it a valid number"
                hit = ValueHit(hit.kind, hit.value, hit.normalized, hit.detector, "medium", detail)
            elif only_number and not match.mobile:
                detail = f'{hit.detail} · not a mobile, under a name that says only "number"'
                hit = ValueHit(hit.kind, hit.value, hit.normalized, hit.detector, "medium", detail)
            hits.append(hit)
        return hits

    def _subscriber_device(self, digits: str, text: str, only_number: bool) -> ValueHit | None:
        """The IMSI or IMEI in 15 digits under a subscriber's name, or ``None``: first an
        IMSI of a listed MCC and MNC (medium under "number" alone: an invoice's, a
        ticket's); then an IMEI its digits prove (X-Mobile: 352099001761481, whose TAC's
        352 is also Grenada's MCC); then an IMSI of a known MCC whose network the table
        lacks (China Telecom's 46011, Jio's 405 8xx), medium, and not under "number"
        alone, where an MCC let a quarter of all 15-digit values through. Not where the
        digits are a valid phone number."""
        if IMSI in self.enabled:
            listed = imsi_by_structure(digits)
            if listed is not None and not _valid_number(digits, self.region):
                severity = "medium" if only_number else "high"
                return ValueHit("imsi", text, listed.digits, IMSI, severity, listed.detail)
        if IMEI in self.enabled and (imei := parse_imei(digits, named=False)) is not None:
            return ValueHit("imei", text, imei.digits, IMEI, "high", imei.detail)
        if IMSI in self.enabled and not only_number:
            known = parse_imsi(digits)
            if known is not None and not _valid_number(digits, self.region):
                detail = f"{known.detail} · its network not in the MCC/MNC table"
                return ValueHit("imsi", text, known.digits, IMSI, "medium", detail)
        return None

    def named_device(
        self, value: str, kind: str, force: bool = False, proven: bool = False
    ) -> ValueHit | None:
        """An IMEI or IMSI in a value whose name says so, or ``None`` (``force`` as for
        phones); ``proven``: an IMEI only where its digits prove it, as unnamed."""
        text = value.strip()
        if kind == "imei" and (force or IMEI in self.enabled):
            found = parse_imei(text, named=not proven)
        elif kind == "imsi" and (force or IMSI in self.enabled):
            # Magma's header enrichment sends its subscriber ID, "IMSI" and the digits
            # (magma's pipelined envoy_client.py, IMSI_HDR).
            found = parse_imsi(text[4:] if text[:4].upper() == "IMSI" else text)
        else:
            return None
        if found is None:
            return None
        return ValueHit(found.kind, text, found.digits, found.kind, "high", found.detail)

    def named_id(self, value: str, advertising: bool) -> ValueHit | None:
        """The advertising (``advertising``) or device ID in a value whose name says it
        holds one, or ``None``: a UUID, hex string or token, whole or after a scheme
        prefix (MoPub's ``udid=ifa:<advertising ID>``), which the detail keeps; the
        normalized value is the ID alone."""
        if DEVICE_ID not in self.enabled:
            return None
        text = value.strip()
        identifier = text
        shape = device_id_detail(text)
        if shape is None:
            split = unprefixed(text)
            if split is None:
                return None
            prefix, identifier = split
            shape = device_id_detail(identifier)
            if shape is None:
                return None
            shape = f"{shape}, after the prefix {prefix}:"
            # "ifa:" or "gaid:" under MoPub's udid: the prefix says which ID it is.
            advertising = advertising or self.hint_for(prefix).hint == names.HINT_ADVERTISING
        if advertising and identifier.isdigit():
            # Every advertising ID (IDFA, GAID, OAID, Roku's RIDA) is a UUID; digits
            # alone under ad_id are an ad's (Meta's ad_id=23851234567890123 in a
            # campaign's links), not a device's. A device's ID may be all digits
            # (ByteDance's device_id), so only this hint asks.
            return None
        what = "advertising ID" if advertising else "device ID"
        detail = f"{what} ({shape})"
        return ValueHit("device_id", text, identifier.lower(), DEVICE_ID, "medium", detail)

    # -- any value ------------------------------------------------------------------

    def hashed(self, value: str, hint: names.NameHint) -> ValueHit | None:
        """A hex digest under a name that says phone, e-mail, IMEI or IMSI, and not
        code, token, signature or key: that identifier hashed, as ad SDKs send it
        (:data:`_HASHED`), or ``None``."""
        hashed = _HASHED.get(hint.hint) if hint.hint else None
        if hashed is None or hint.secret or DIGEST not in self.enabled:
            return None
        algorithm = hex_digest(value)
        if algorithm is None:
            return None
        kind, what = hashed
        text = value.strip()
        if text.lower() in PLACEHOLDER_DIGESTS:
            return None  # sha256("1"), md5(""): a field hashed empty, no one's identifier
        detail = f"{algorithm} digest under a name that says {what}: the {what} hashed"
        return ValueHit(kind, text, text.lower(), DIGEST, "medium", detail)

    def scan(self, value: str, hint: names.NameHint, mode: Mode) -> list[ValueHit]:
        """Every identity in ``value`` whose name gave ``hint``, found where ``mode`` says."""
        kind = hint.hint
        if kind in _HASHED:
            digest = self.hashed(value, hint)
            if digest is not None:
                return [digest]
        if kind == names.HINT_PHONE:
            phones = self.named_phones(value)
            if phones:
                return phones
        elif kind in (names.HINT_IMEI, names.HINT_IMSI):
            hit = self.named_device(value, kind)
            if hit is not None:
                return [hit]
        elif kind == names.HINT_SUBSCRIBER:
            subscribers = self.named_subscriber(value, hint.only_number)
            if subscribers:
                return subscribers
        elif kind in (names.HINT_DEVICE, names.HINT_ADVERTISING):
            # An IMEI its structure proves (Luhn, a known TAC's reporting body), as under
            # a name that says nothing: the name that says device ID is no reason to
            # call it a vaguer one (deviceId=490154203237518 was a device ID, medium).
            imei = self.named_device(value, names.HINT_IMEI, proven=True)
            if imei is not None:
                return [imei]
            found = self.named_id(value, kind == names.HINT_ADVERTISING)
            return [] if found is None else [found]
        elif kind == names.HINT_EMAIL and "@" not in value:
            addresses = self.named_wrapped_email(value)
            if addresses:
                return addresses

        hits: list[ValueHit] = []
        stripped = value.strip()
        if (
            stripped[:1] == "+"
            and PHONENUMBER in self.enabled
            and _WRITTEN_NUMBER.fullmatch(stripped)
        ):
            # "+1 201 555 0123": written as a number on purpose, spaces and all.
            hit = _written(stripped)
            if hit is not None:
                return [hit]
        if "@" in value or "%40" in value:
            hits.extend(self._addresses(url_decode(value), kind == names.HINT_EMAIL))
        if mode is Mode.PARAM and kind is None and _parts_say_nothing(value):
            # No part of it can be read on its own (none is named, a URI or a written
            # number), and digits wrapped in hex or base64 only where they are the
            # whole value: a JavaScript object or an Adobe visitor ID, a dozen parts,
            # is not walked part by part to find that.
            return hits
        parts = list(split_parts(value))
        # In a cookie or parameter, digits wrapped in hex or base64 are read where they
        # are the whole value, as the whole-string first look (the detector's
        # _may_matter, in C) finds them: one part of a list ("K NDQ3...") was read only
        # when the value's first letter happened to let it past the pair test.
        wrapped = mode is Mode.HEADER or len(parts) == 1
        for subname, part in parts:
            if "@" in part and not part[:5].lower().startswith(_URI_SCHEMES):
                continue  # an address: handled above
            subhint = self.hint_for(subname) if subname else hint
            if subname and subhint.hint is not None and subhint.hint != kind:
                hits.extend(self.scan(part, subhint, mode))
                continue
            hit = self._part(part, subhint, mode, wrapped)
            if hit is not None:
                hits.append(hit)
        return hits

    def named_wrapped_email(self, value: str) -> list[ValueHit]:
        """The address in ``value`` base64-wrapped, under a name that says e-mail
        (``email=cXVpZXQuaGVyb240MTdAZXhhbXBsZS5jb20=``): the name and the wrapping
        together are the evidence, so any realm counts, as for one sent bare."""
        if EMAIL not in self.enabled:
            return []
        text = url_decode(value).strip()
        decoded = base64_text(text)
        if decoded is None:
            return []
        return [
            ValueHit(
                "email",
                text,
                address.normalized,
                EMAIL,
                "high",
                f"{_what(address)} · base64-encoded",
            )
            for address in find_addresses(decoded)
        ]

    def _addresses(self, text: str, named: bool) -> list[ValueHit]:
        hits: list[ValueHit] = []
        for address in find_addresses(text):
            match = parse_lenient(address.user, self.region) if address.user.isdigit() else None
            if match is not None and PHONENUMBER in self.enabled:
                hits.append(_phone_hit(address.text, match, "high", "user part of a NAI"))
            elif EMAIL in self.enabled and (named or known_tld(address.realm)):
                # Under a name that says e-mail, what was typed is the evidence; a
                # bare "user@realm" must end in a real top-level domain, or it is a
                # value's own "key@value" syntax (a cookie's "effcl@0.totcl@0...").
                severity = "high" if named else "medium"
                hits.append(
                    ValueHit(
                        "email", address.text, address.normalized, EMAIL, severity, _what(address)
                    )
                )
        return hits

    def _part(
        self, part: str, hint: names.NameHint, mode: Mode, wrapped: bool = True
    ) -> ValueHit | None:
        """One piece of a (possibly composite) value; ``wrapped``: whether digits
        wrapped in hex or base64 are read in it."""
        if len(part) < 7:
            return None
        phones = PHONENUMBER in self.enabled
        head = part[:5].lower()
        if head.startswith(_URI_SCHEMES):
            if not phones:
                return None
            number = url_decode(part.split(":", 1)[1].split(";", 1)[0].split("@", 1)[0])
            match = parse_lenient(number, self.region)
            return _phone_hit(part, match, "high", "tel: URI") if match else None
        if head.startswith(("+", "%2b")):
            if not phones:
                return None
            return _written(part)
        if part.isdigit():
            hit = self._digits(part, hint, mode)
            if hit is not None or len(part) < 14:
                return hit
            # A long digit run may still be hex-encoded digits ("3434373730...").
        if not wrapped or hint.counts:
            # Under a name that counts, times, measures or numbers a thing, digits never
            # count, wrapped or not (order_id=MTY1MDI1MzAwMDA= is an order's number).
            return None
        for decoder, how in ((hex_digits, "hex-encoded"), (base64_digits, "base64-encoded")):
            decoded = decoder(part)
            if decoded is None:
                continue
            if IMEI in self.enabled:
                # First: an IMEI its digits prove (Luhn, a reporting body's TAC) is read
                # as a number (+49 1542..., unallocated) where its TAC starts with a
                # country code, as a fifth of the commonest (35...) do.
                device = parse_imei(decoded, named=False)
                if device is not None:
                    return ValueHit(
                        "imei", part, device.digits, IMEI, "high", f"{device.detail} · {how}"
                    )
            if phones:
                match = parse_international(decoded)
                if match is None and self.region is not None and decoded[:1] == "0":
                    # A national number ("07700900123") wrapped the same way: the
                    # wrapping is the evidence, the region says whose number it is.
                    match = parse_lenient(decoded, self.region)
                if match is not None:
                    return _phone_hit(part, match, "high", how)
        return None

    def _digits(self, digits: str, hint: names.NameHint, mode: Mode) -> ValueHit | None:
        """A bare run of digits: trusted only when named, or in a header under a plain name."""
        if hint.hint == names.HINT_PHONE:
            return self.named_phone(digits)
        if hint.hint in (names.HINT_IMEI, names.HINT_IMSI):
            return self.named_device(digits, hint.hint)
        if hint.hint == names.HINT_SUBSCRIBER:
            return next(iter(self.named_subscriber(digits, hint.only_number)), None)
        if (
            mode is not Mode.HEADER
            or hint.id_like
            or hint.hint is not None
            or _epoch_like(digits)
            or _calendar_like(digits)
        ):
            return None
        if PHONENUMBER in self.enabled:
            match = parse_strict(digits)
            if match is not None:
                return _phone_hit(digits, match, "medium", "bare digits under an unlisted name")
        if IMEI in self.enabled:
            device = parse_imei(digits, named=False)
            if device is not None:
                detail = f"{device.detail} · bare digits under an unlisted name"
                return ValueHit("imei", digits, device.digits, IMEI, "medium", detail)
        if IMSI in self.enabled and len(digits) == 15:
            # Only 15-digit runs reach the MCC/MNC table: the length test is the filter.
            imsi = imsi_by_structure(digits)
            if imsi is not None:
                detail = f"{imsi.detail} · bare digits under an unlisted name"
                return ValueHit("imsi", digits, imsi.digits, IMSI, "medium", detail)
        return None
