"""``--redact``: exports that can be shared without the identities in them.

Each identity value a record's findings name is replaced, wherever it appears in
the record (header values, URL, body, response headers, the findings), by a
mask that keeps what is useful to a reader and nothing more::

    <msisdn …23 #3f9a1c2b7e>

the kind, the last two digits of the normalized value, and a keyed hash of it:
HMAC-SHA-256 with a random key made for each output file and never written
anywhere. Within one file, the same number always gets the same mask, so
requests can still be correlated ("these five sites got the same number");
across files, and to anyone without the key, the masks say nothing: a phone
number has too few possible values for a plain hash to hide it.

What is masked is what was found, for the identity kinds and client addresses
(:data:`MASKED_KINDS`; a Via header's network name stays): the value as sent,
the normalized value, a phone number's other spellings (its digits, national and
international forms: :func:`capture.identity.phone.spellings`), the URL-encoded
form of each (:meth:`Redactor.spellings`), and a phone number's digits however they
are grouped (``7700 900123``, ``tel:+44-7700-900123``: :meth:`Redactor.learn`), where
it stands alone: a copy whose end digit touches a further digit is part of a longer
number ("447700900123" in the order number "9447700900123999") and is kept
(:func:`_glued`). A finding's ``detail`` (which may spell the number out, e.g. "sha256
of +447700900123") is replaced by the mask.

Those spellings are masked in every record of the file, not only in the one where
the value was found: a number the detector reads in one request's header may be
in another's path, or under a header name it does not know. A record written before
the value was found can only be masked if the whole output is read first: an
output written at once (a dashboard export, a report, a ``scan``) learns every
record's values first (:meth:`Redactor.learn`; :func:`two_pass` sets a stream's
records aside in an unnamed temporary file, one record in memory at a time); a
stream (``live --format``, ``reflect``) masks in each record the values found up to
it, and a value found later stays in the records written before it (the commands say
so when they start: ``tui.common.REDACTED_FROM_THEN_ON``). A spelling shorter than
:data:`MIN_SHARED` characters is masked only in its own record: "44" or a year is
ordinary text anywhere else.

With the recurrence detector on, a supercookie is found only at the request that
takes it to its N-th site, and the requests before it carry it with no finding:
written already when it is found, in a stream. So every value that detector counts
(:meth:`capture.identity.detector.IdentityDetector.recurring_values`: opaque, under
a name whose values it counts) is masked in every record, found or not, as a
``tracking_id``: the mask its finding gets, if it ever gets one. That masks more
than will be found (a session token sent to one site), which a shareable file can
afford, and holds no record back; no finding is added.

A mask is told by its exact form (:func:`is_mask`): a redacted file read back keeps
its findings as written (:func:`capture.formats.jsonl.carried_findings`), and a
mask is not masked again.

The client's own address (``Request.src``: on a reflector, the phone's public
address) is replaced by a pseudonym address (:meth:`Redactor.address`): the JSONL
``src``, HAR ``_client`` and the table's CLIENT column promise an address, and
readers (headerwatch itself, jq, HAR viewers) parse it as one. Its text is
replaced by the same pseudonym wherever else the record holds it, but in the site the
request was sent to (the Host, an ``:authority``, an absolute-form or CONNECT target's
authority): that is the evidence, kept even where it is written as the client's
address (a reflector reached from its own host). Ports, and the server's address (a
website's), are kept. An address already in the pseudonyms'
ranges (a redacted file's, redacted again) is no one's public address and is kept
as it is, unless another client of the file has it already.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import functools
import hmac
import ipaddress
import operator
import re
import secrets
import socket
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from capture.http.echo import ECHO_HEADER
from capture.identity.bodies import content_coding, decoded_in_part, gunzipped
from capture.model import (
    IDENTITY_KINDS,
    Finding,
    Header,
    Record,
    Request,
    Response,
    Transit,
    positional_new,
)
from capture.target import site_end
from capture.text import printable

if TYPE_CHECKING:
    from capture.formats.session import SessionInfo

CLIENT_IP = "client_ip"
"""The kind of a client's address sent in a header (``X-Forwarded-For``)."""

MASKED_KINDS = frozenset((*IDENTITY_KINDS, CLIENT_IP))
"""Kinds of finding whose values are masked."""
TOKEN_KIND = "tracking_id"
"""The kind a recurring token is masked as, found or not: the kind of its finding."""

MIN_SPELT = 4
"""Characters a spelling of a value needs to be masked in its own record: shorter would
mask ordinary text around it."""
MIN_SHARED = 6
"""Characters a spelling of a value needs to be masked in every record of the file
(:meth:`Redactor.learn`): more than a country code, an area code or a year, which
are ordinary text in the records of other requests."""
MAX_SHARED = 16_384
"""Spellings masked in every record of one file; a value found past them is masked in
its own record only, and counted (:attr:`Redactor.unshared`)."""

HASH_DIGITS = 10
"""Hex digits of the keyed hash kept in a mask: 40 bits, no collision within a file."""

_KINDS = "|".join(sorted(map(re.escape, MASKED_KINDS)))
_MASK = re.compile(rf"<(?:{_KINDS})(?: …(\w\w))? #[0-9a-f]{{{HASH_DIGITS}}}>")
"""What :meth:`Redactor.mask` writes (the two characters after "…" are digits)."""


PSEUDONYMS_V4 = ipaddress.IPv4Network("198.18.0.0/15")
"""Where an IPv4 client's pseudonym is (RFC 2544's benchmarking range: no real client)."""
PSEUDONYMS_V6 = ipaddress.IPv6Network("2001:db8::/32")
"""Where any other client's pseudonym is (RFC 3849's documentation range)."""
MAX_V4_PSEUDONYMS = PSEUDONYMS_V4.num_addresses // 2
"""IPv4 pseudonyms given out per file (65,536): with half of the range free, a new
client finds a free one in two tries on average. Later IPv4 clients get an IPv6
pseudonym (not a loss: still one client, one pseudonym)."""
_V4_BASE = int(PSEUDONYMS_V4.network_address)
_V6_CACHED = 65_536
_V6_BASE = int(PSEUDONYMS_V6.network_address)
_V4_HOST_BITS = 32 - PSEUDONYMS_V4.prefixlen
_V6_HOST_BITS = 128 - PSEUDONYMS_V6.prefixlen

ECHO_REDACTED = "(redacted: the reflector's echo holds the identities)"
"""What a redacted output shows in place of the echo header's value."""
_ECHO = ECHO_HEADER.lower()


@dataclass(frozen=True, slots=True)
class Spelt:
    """The spellings of the identity values one record's findings name, each with the
    mask of its value (:meth:`Redactor.spellings`)."""

    texts: tuple[tuple[str, str], ...] = ()
    """Each text as it may be written: the value as sent, its normalized form, a phone
    number's other forms, and the URL-encoded form of each."""
    numbers: tuple[tuple[str, str], ...] = ()
    """The digits of each form of a phone number (:func:`capture.identity.phone.digit_forms`),
    found however they are grouped (:meth:`Redactor.learn`)."""


@dataclass(frozen=True, slots=True)
class Redactor:
    """Masks identity values, and gives client addresses pseudonyms, with a key of its
    own (one per output file)."""

    key: bytes
    tokens: Callable[[Request], Sequence[str]] | None = field(
        default=None, repr=False, compare=False
    )
    """The values of a request to mask as tokens, found or not (the recurrence
    detector's: :meth:`new`)."""
    # The IPv4 pseudonyms given out: address → pseudonym, and the pseudonyms taken.
    # 17 bits of range are too few for a hash alone to keep two clients apart.
    _v4: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    _v4_taken: set[int] = field(default_factory=set, repr=False, compare=False)
    # The other pseudonyms, computed again at will: a cache, cleared at _V6_CACHED.
    _v6: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    # The spellings masked in every record (learn): text → mask; the same by their
    # first MIN_SHARED characters; a phone number's digits → mask, their first
    # MIN_SHARED digits and the most digits of one; a pattern that finds those starts
    # (made again when a start is added: rarely); and the spellings past MAX_SHARED.
    _shared: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    _starts: dict[str, list[tuple[str, str, bytes]]] = field(
        default_factory=dict, repr=False, compare=False
    )
    _numbers: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    _number_starts: set[str] = field(default_factory=set, repr=False, compare=False)
    _longest: list[int] = field(default_factory=lambda: [0], repr=False, compare=False)
    _pattern: list[Any] = field(default_factory=list, repr=False, compare=False)
    _unshared: list[int] = field(default_factory=lambda: [0], repr=False, compare=False)

    @classmethod
    def new(cls, detector: object = None) -> Redactor:
        """A redactor with a fresh random key, for an output of what ``detector`` found:
        with its recurrence detector on, every value that detector counts is masked
        in every record (a token it finds later was written before)."""
        # Imported here: the detector's module is the caller's, loaded already.
        from capture.identity.detector import IdentityDetector

        tokens = None
        if isinstance(detector, IdentityDetector) and detector.counts_recurrence:
            tokens = detector.recurring_values
        return cls(secrets.token_bytes(32), tokens)

    def tag(self, text: str) -> str:
        """The keyed hash of ``text`` kept in a mask (:data:`HASH_DIGITS` hex digits)."""
        data = text.encode("utf-8", "surrogateescape")
        return hmac.digest(self.key, data, "sha256").hex()[:HASH_DIGITS]

    def mask(self, kind: str, normalized: str) -> str:
        """The mask of one identity value: kind, last two digits, keyed hash. A mask
        (:func:`is_mask`: a redacted file read back) is its own: masked again, its
        "last two digits" would be its hash's."""
        if normalized[:1] == "<" and is_mask(normalized):
            return normalized
        if kind == CLIENT_IP and "," in normalized:
            if all(is_mask(hop.strip()) for hop in normalized.split(",")):
                return normalized  # masked already, hop by hop
            hops = _address_list(normalized)
            if hops is not None:
                # Each hop of X-Forwarded-For its own mask: how many there were, and the
                # same address's mask wherever else it is sent, stay readable.
                return ", ".join(self.mask(kind, hop) for hop in hops)
        digits = "".join(ch for ch in normalized if ch.isdigit())
        tail = f" …{digits[-2:]}" if len(digits) >= 2 else ""
        return f"<{kind}{tail} #{self.tag(normalized)}>"

    def address(self, address: str) -> str:
        """The pseudonym of a client address in this file ("" stays "": none known).

        An IPv4 address gets an address of :data:`PSEUDONYMS_V4` picked by a keyed
        hash of it, never one given to another address (the hash again, with a
        counter, until a free one comes up). Past :data:`MAX_V4_PSEUDONYMS`, an IPv6
        address, or a text that is no address, gets 96 bits of keyed hash under
        :data:`PSEUDONYMS_V6`. Within one file the same address always has the same
        pseudonym and two addresses never share one; without the key the pseudonym
        says nothing of the address.

        An address already in those ranges (a pseudonym of a redacted file, redacted
        again) is kept, in its usual spelling, unless it is another client's pseudonym
        in this file: a pseudonym has no pseudonym of its own, and a benchmarking or
        documentation address is no one's public address."""
        if not address:
            return address
        known = self._v4.get(address) or self._v6.get(address)
        if known is not None:
            return known
        packed = _packed(address)
        if packed is not None and _pseudonymous(packed):
            if len(packed) == 16:
                # Not reserved: a hashed one meets it as rarely as two hashes meet
                # (96 bits), so two clients still never share one.
                return socket.inet_ntop(socket.AF_INET6, packed)
            offset = int.from_bytes(packed, "big") - _V4_BASE
            if offset not in self._v4_taken and len(self._v4) < MAX_V4_PSEUDONYMS:
                self._v4_taken.add(offset)
                kept = self._v4[address] = socket.inet_ntop(socket.AF_INET, packed)
                return kept
        if packed is None or len(packed) == 16 or len(self._v4) >= MAX_V4_PSEUDONYMS:
            # The address's bytes: one input per address ("2001:DB8::1" is "2001:db8::1").
            data = (
                b"v6 " + packed if packed else b"text " + address.encode("utf-8", "surrogatepass")
            )
            low = self._number(data) >> 32
            if len(self._v6) >= _V6_CACHED:
                self._v6.clear()
            pseudonym = socket.inet_ntop(socket.AF_INET6, (_V6_BASE | low).to_bytes(16, "big"))
            self._v6[address] = pseudonym
            return pseudonym
        size = PSEUDONYMS_V4.num_addresses
        attempt = 0
        offset = self._number(b"v4 0 " + packed) % size
        while offset in self._v4_taken:  # at most half taken: two tries on average
            attempt += 1
            offset = self._number(b"v4 %d " % attempt + packed) % size
        self._v4_taken.add(offset)
        pseudonym = socket.inet_ntop(socket.AF_INET, (_V4_BASE + offset).to_bytes(4, "big"))
        self._v4[address] = pseudonym
        return pseudonym

    def _number(self, data: bytes) -> int:
        # The first 128 bits of the keyed hash, as a number.
        return int.from_bytes(hmac.digest(self.key, data, "sha256")[:16], "big")

    def spellings(self, record: Record) -> Spelt:
        """The spellings of each identity value ``record``'s findings name, with its
        mask: the value as sent, its normalized form, a phone number's other spellings,
        and the URL-encoded form of each (with upper- and lower-case escapes); and the
        digits of each form of a phone number."""
        texts: list[tuple[str, str]] = []
        numbers: list[tuple[str, str]] = []
        for f in record.findings:
            if f.kind not in MASKED_KINDS or not f.value:
                continue
            masked = self.mask(f.kind, f.normalized)
            if masked == f.normalized:
                continue  # masked already: the record holds the mask, not the value
            spelt = [f.value, f.normalized]
            if f.kind == CLIENT_IP:
                # The hops of a list: each masked as it is alone, wherever it is.
                for hop in _address_list(f.normalized) or ():
                    texts.append((hop, self.mask(f.kind, hop)))
                    texts += ((encoded, self.mask(f.kind, hop)) for encoded in _encoded(hop))
            if f.kind == "msisdn" and f.normalized[:1] == "+":
                # Imported here: libphonenumber is loaded already when a number was found.
                from capture.identity.phone import digit_forms, spellings

                spelt += spellings(f.normalized)
                numbers += ((digits, masked) for digits in digit_forms(f.normalized))
            texts += ((text, masked) for text in spelt)
            texts += ((encoded, masked) for text in spelt for encoded in _encoded(text))
        return Spelt(tuple(texts), tuple(numbers))

    def learn(self, record: Record) -> Spelt:
        """Take note of the spellings of the identity values ``record``'s findings name
        (:meth:`spellings`, those of at least :data:`MIN_SHARED` characters or digits),
        to mask them in every record :meth:`record` masks after this: all of an output's
        records learnt first, in each of them. Gives those spellings, for :meth:`record`
        to mask ``record`` with, not computing them again.

        A phone number's digits are found in the order of one of its forms however they
        are grouped: each digit from the next by up to :data:`MAX_SEPARATORS` spaces,
        dots, dashes, brackets or ``+`` (a form-encoded space), as written or
        URL-encoded, after a ``+`` or ``%2B`` or not (``7700 900123``,
        ``tel:+44-7700-900123``, ``+44 (0)7700 900123``, ``07700%20900123``); a text of
        that shape is not learnt apart."""
        spelt = self.spellings(record)
        self._learn(spelt, counted=True)
        return spelt

    def _learn(self, spelt: Spelt, counted: bool) -> None:
        """:meth:`learn` of the spellings ``spelt``; ``counted``: those past
        :data:`MAX_SHARED` are counted (once per output: where they are learnt first)."""
        shared, numbers = self._shared, self._numbers
        added = False
        for digits, masked in spelt.numbers:
            if len(digits) < MIN_SHARED or digits in numbers:
                continue
            if len(shared) + len(numbers) >= MAX_SHARED:
                self._unshared[0] += counted
                continue
            numbers[digits] = masked
            self._longest[0] = max(self._longest[0], len(digits))
            if digits[:MIN_SHARED] not in self._number_starts:
                self._number_starts.add(digits[:MIN_SHARED])
                added = True
        for text, masked in spelt.texts:
            if len(text) < MIN_SHARED or text in shared:
                continue
            if _GROUPED.fullmatch(text) and _NOT_DIGITS.sub("", text) in numbers:
                continue  # found as a number's digits
            if len(shared) + len(numbers) >= MAX_SHARED:
                self._unshared[0] += counted
                continue
            shared[text] = masked
            start = text[:MIN_SHARED]
            added = added or start not in self._starts
            # With its UTF-8, compared where its start is found (not encoded there again:
            # a 2 MB canary value was, at each of 2 million places).
            raw = text.encode("utf-8", "surrogatepass")
            self._starts.setdefault(start, []).append((text, masked, raw))
        if added:
            self._pattern.clear()  # made again, with the new starts

    @property
    def unshared(self) -> int:
        """Spellings of values found past :data:`MAX_SHARED` (each time :meth:`learn`
        met one): masked in their own record only."""
        return self._unshared[0]

    def _swaps(
        self, record: Record, texts: str, spelt: Spelt | None = None
    ) -> list[tuple[str, str]]:
        """Each text to mask in ``record`` (whose texts, joined, are ``texts``), with its
        mask, longest first ("+447700900123" before its "447700900123"): the spellings of
        the identity values its findings name, the tokens the recurrence detector
        counts in it (:meth:`_tokens`), and the spellings learnt from other records
        (:meth:`learn`) that ``texts`` holds, a phone number's digits as grouped there.
        ``spelt``: its :meth:`spellings`, if known."""
        swaps: dict[str, str] = {}
        for text, masked in (self.spellings(record) if spelt is None else spelt).texts:
            if len(text) >= MIN_SPELT:
                swaps.setdefault(text, masked)
        if swaps:
            # A wrapper that holds one of them where no search for its text sees it
            # (base64 of JSON, a JWT's claims): masked whole, with that one's mask.
            for run, masked in _wrapping(texts, swaps):
                swaps.setdefault(run, masked)
        # After the findings: a value a finding names keeps that finding's mask.
        for token in self._tokens(record):
            masked = self.mask(TOKEN_KIND, token)
            if masked != token:
                for text in (token, quote(token, safe="")):
                    if len(text) >= MIN_SPELT:
                        swaps.setdefault(text, masked)
        return self._learnt(texts, swaps)

    def _learnt(self, texts: str, swaps: dict[str, str]) -> list[tuple[str, str]]:
        """``swaps`` and the spellings learnt from records (:meth:`learn`) that
        ``texts`` holds, a phone number's digits as grouped there, each with its mask,
        longest first."""
        if not self._starts and not self._numbers:
            return sorted(swaps.items(), key=lambda item: -len(item[0]))
        if not self._pattern:
            self._pattern.append(_starts_pattern(self._starts, self._number_starts))
        # One pass over the texts whatever the number of spellings: only where one
        # starts is each spelling of that start compared.
        starts, numbers = self._starts, self._numbers
        data = texts.encode("utf-8", "surrogatepass")
        size = len(data)
        hay = ""  # the same, a character a byte (Latin-1), once a start is found
        # The learnt spellings found: each is compared no more, and once all are (with
        # no number to look for) the rest of the texts is not searched.
        met: set[str] = set()
        for found in _found(self._pattern[0], data):
            at = found.start()
            hay = hay or data.decode("latin-1")
            entries = starts.get(found.group().decode("utf-8", "surrogatepass"))
            if hay[at] in _DIGITS:
                # A number's digits, grouped, may match longer than a text's start here.
                entries = entries or starts.get(hay[at : at + MIN_SHARED])
                number = self._number_at(hay, at)
                if number is not None:
                    swaps.setdefault(*number)
            for text, masked, raw in entries or ():
                if text in met or len(raw) > size - at:
                    continue
                if data.startswith(raw, at) and not _glued(hay, at, at + len(raw)):
                    swaps.setdefault(text, masked)
                    met.add(text)
            if not numbers and len(met) == len(self._shared):
                break
        return sorted(swaps.items(), key=lambda item: -len(item[0]))

    def _number_at(self, text: str, at: int) -> tuple[str, str] | None:
        """The copy of a learnt phone number's digits (:meth:`learn`) whose first digit
        is ``text[at]``, with a ``+`` or ``%2B`` before it, and a bracket before that
        which the copy closes (``(+44) 7700 900123``), and its mask; the longest where
        several end at the ends of runs of digits, none where it is glued to further
        digits (:func:`_glued`)."""
        if _digit_before(text, at):
            return None
        numbers, most, size = self._numbers, self._longest[0], len(text)
        digits = ""
        found: tuple[int, str] | None = None
        end = at
        while True:
            run = end
            while end < size and text[end] in _DIGITS:
                end += 1
            digits += text[run:end]
            if len(digits) > most:
                break
            masked = numbers.get(digits)
            if masked is not None:
                found = (end, masked)
            after = end
            for _ in range(MAX_SEPARATORS):
                if after < size and text[after] in _SEPARATORS:
                    after += 1
                elif text[after : after + 3] in _ESCAPED_SEPARATORS:
                    after += 3
                else:
                    break
            if after == end or after >= size or text[after] not in _DIGITS:
                break
            end = after
        if found is None:
            return None
        end, masked = found
        start = at - _ending(text, at, ("+", "%2B", "%2b"))
        if ")" in text[at:end] or "%29" in text[at:end]:
            start -= _ending(text, start, ("(", "%28"))  # "(07700) 900123": closed in it
        return text[start:end], masked

    def text(self, text: str) -> str:
        """Text about the records, not in one (an input file's name, a note on how it
        was read), with every spelling learnt from them (:meth:`learn`) masked."""
        if not text:
            return text
        swaps = self._learnt(_unescaped(text), {})
        return _scrub_escaped(text, swaps, (), "") if swaps else text

    def comment(self, record: Record, text: str) -> str:
        """The user's comment ``text`` on ``record``, masked as the record is: the
        identity values its findings name and its client's address. A comment is
        typed about its request, and may well spell out the number it carried."""
        if not text:
            return text
        forms = _address_forms(record.request.src)
        return _scrub(text, self._swaps(record, text), forms, self.address(record.request.src))

    def record(self, record: Record, spelt: Spelt | None = None) -> Record:
        """``record`` with every identity value its findings name, and every one learnt
        from the records before it (:meth:`learn`), masked everywhere, and the client's
        address replaced by its pseudonym everywhere. ``spelt``: the spellings
        :meth:`learn` gave for ``record``, if it was learnt."""
        if spelt is None:
            spelt = self.spellings(record)
            self._learn(spelt, counted=False)
        req = record.request
        body, said = _maskable_body(req)
        if said:
            req = dataclasses.replace(req, body=body, anomalies=(*req.anomalies, said))
            record = dataclasses.replace(record, request=req)
        client = req.src
        pseudonym = self.address(client)
        # The client's address as text (none for a text that is no address).
        forms = _address_forms(client)
        texts = _texts(record)
        if "%" in texts:
            # An escaped unreserved character is that character (RFC 3986 §6.2.2.2): a
            # number sent as %34%34… is found, and masked, as its digits.
            texts = _unescaped(texts)
        ordered = self._swaps(record, texts, spelt)
        if (
            not ordered
            and not any(f.kind in MASKED_KINDS for f in record.findings)
            and not _spelt(record, texts, forms)
        ):
            return _from(record, pseudonym)  # most records: only the address field changes

        def scrub(text: str) -> str:
            return _scrub_escaped(text, ordered, forms, pseudonym)

        # The site the request was sent to is the evidence, and not the client's
        # address even where the two are written alike (a reflector reached from its
        # own host, an address another request's X-Real-IP named as a client's): its
        # identity values alone are masked.
        site_swaps = [(value, masked) for value, masked in ordered if not _of_client(masked)]

        def scrub_site(text: str) -> str:
            return _scrub_escaped(text, site_swaps, (), pseudonym)

        def scrub_header(name: str, value: str) -> str:
            return scrub_site(value) if name.lower() == "host" else scrub(value)

        # In the request target a mask is escaped: its "#" would begin a fragment, its
        # spaces end the target (a HAR's queryString lost the parameters after it).
        escaped = [(value, quote(masked, safe="")) for value, masked in ordered]
        escaped_site = [(value, quote(masked, safe="")) for value, masked in site_swaps]

        def scrub_target(uri: str) -> str:
            if req.method.upper() == "CONNECT":
                return _scrub_escaped(uri, escaped_site, (), pseudonym)  # the site alone
            end = site_end(uri)  # an absolute-form target's scheme://authority
            rest = _scrub_escaped(uri[end:], escaped, forms, pseudonym)
            return _scrub_escaped(uri[:end], escaped_site, (), pseudonym) + rest

        # The body's bytes as Latin-1, which maps each byte to one character and back:
        # nothing else changes.
        latin = [(_latin(value), _latin(masked)) for value, masked in ordered]

        def scrub_bytes(data: bytes) -> bytes:
            if not data:
                return data
            text = data.decode("latin-1")
            return _scrub_escaped(text, latin, forms, pseudonym).encode("latin-1")

        request = dataclasses.replace(
            req,
            src=pseudonym,
            uri=scrub_target(req.uri) if req.uri is not None else None,
            headers=tuple((scrub(name), scrub_header(name, value)) for name, value in req.headers),
            body=scrub_bytes(body),
            anomalies=tuple(scrub(a) for a in req.anomalies),
            authority=scrub_site(req.authority) if req.authority is not None else None,
            app=scrub(req.app),
            source=scrub(req.source),
            # The file it came from may be named for its subject.
            input=scrub(req.input),
        )
        response = record.response
        if response is not None:
            response = dataclasses.replace(
                response,
                reason=scrub(response.reason),
                headers=tuple(
                    # The reflector's echo is the received block, base64-encoded: the
                    # identities are in it where no search for their text finds them.
                    (scrub(name), ECHO_REDACTED if name.lower() == _ECHO else scrub(value))
                    for name, value in response.headers
                ),
            )
        moved = record.transit
        if moved is not None:

            def pairs(headers: tuple[Header, ...]) -> tuple[Header, ...]:
                return tuple((scrub(name), scrub_header(name, value)) for name, value in headers)

            moved = Transit(
                pairs(moved.received),
                pairs(moved.injected),
                pairs(moved.removed),
                tuple(
                    (scrub(name), scrub_header(name, sent), scrub_header(name, got))
                    for name, sent, got in moved.changed
                ),
                moved.signed,
            )
        findings = tuple(
            # A finding with no value (a names-only log) has nothing to mask.
            self._finding(f, scrub) if f.kind in MASKED_KINDS and f.value else _scrubbed(f, scrub)
            for f in record.findings
        )
        return dataclasses.replace(
            record, request=request, findings=findings, response=response, transit=moved
        )

    def _tokens(self, record: Record) -> tuple[str, ...]:
        """The values of :attr:`tokens` in ``record``'s request, as sent and, where its
        echo shows headers added or changed on the way, as received (where the
        detector looked too)."""
        tokens = self.tokens
        if tokens is None:
            return ()
        found = tuple(tokens(record.request))
        moved = record.transit
        if moved is not None and moved.touched_names:
            found += tuple(tokens(dataclasses.replace(record.request, headers=moved.received)))
        return found

    def _finding(self, finding: Finding, scrub: Callable[[str], str]) -> Finding:
        masked = self.mask(finding.kind, finding.normalized)
        return dataclasses.replace(
            finding,
            name=scrub(finding.name),
            value=masked,
            normalized=masked,
            detail=masked if finding.detail else "",
        )


def _scrub(text: str, swaps: list[tuple[str, str]], forms: tuple[str, ...], pseudonym: str) -> str:
    """``text`` with each value of ``swaps`` masked where it stands alone
    (:func:`_replace`), then the client's address (any of ``forms``) replaced by its
    ``pseudonym``."""
    if len(swaps) > _INDEXED_FROM:
        swaps = _held(text, swaps)
    for value, masked in swaps:
        if value in text:
            text = _replace(text, value, masked)
    # The address last: no identity value is then cut in two.
    return _swap_address(text, forms, pseudonym) if forms else text


_INDEXED_FROM = 64
"""Swaps beyond which :func:`_scrub` looks only at those whose first characters the
text holds: each value tested against each text made a request of 3,000 identity
headers take 20 s to report (3,000 texts x 9,000 spellings)."""
_KEY = 4
"""The characters a swap is indexed by (its first)."""
_INDEX: list[tuple[list[tuple[str, str]], dict[str, list[int]], list[int]]] = []
"""The index of the last swaps :func:`_held` was given (one record's, for each of its
texts in turn): the swaps, their places by first characters, the places of the short."""


def _held(text: str, swaps: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Of ``swaps``, in their order, those ``text`` may hold: a value not in a text
    before it is masked is not in it after (a mask holds no identity's spelling)."""
    # The entry taken once: another thread (an export's worker) may index its own
    # swaps meanwhile, and this call must read the index of these.
    kept = _INDEX[0] if _INDEX else None
    if kept is None or kept[0] is not swaps:
        index: dict[str, list[int]] = {}
        short: list[int] = []
        for at, (value, _) in enumerate(swaps):
            if len(value) < _KEY:
                short.append(at)
            else:
                index.setdefault(value[:_KEY], []).append(at)
        kept = (swaps, index, short)
        _INDEX[:] = [kept]
    _, index, short = kept
    places = set(short)
    for start in range(len(text) - _KEY + 1):
        found = index.get(text[start : start + _KEY])
        if found:
            places.update(found)
    return [swaps[at] for at in sorted(places)]


def _address_list(value: str) -> list[str] | None:
    """The addresses of a comma-separated list of them (``X-Forwarded-For: 10.1.2.3,
    203.0.113.7``), or None where any item is no address (a ``Forwarded`` header's
    ``for=…;proto=…``: masked whole)."""
    hops = [hop.strip() for hop in value.split(",")]
    return hops if len(hops) > 1 and all(_packed(hop) is not None for hop in hops) else None


def _of_client(masked: str) -> bool:
    """Whether ``masked`` is the mask of a client's address (a ``client_ip`` value)."""
    return masked.startswith("<client_ip")


def _scrub_escaped(
    text: str, swaps: list[tuple[str, str]], forms: tuple[str, ...], pseudonym: str
) -> str:
    """:func:`_scrub` of ``text``, or of ``text`` with its escaped unreserved characters
    unescaped (:func:`_unescaped`) where that shows a value to mask: there the escapes
    hid it."""
    if "%" in text:
        plain = _unescaped(text)
        if plain != text:
            masked = _scrub(plain, swaps, forms, pseudonym)
            if masked != plain:
                return masked
    return _scrub(text, swaps, forms, pseudonym)


_UNRESERVED_ESCAPE = re.compile(r"%(?:3[0-9]|[46][1-9A-Fa-f]|[57][0-9Aa]|2[DdEe]|5[Ff]|7[Ee])")
"""An escaped unreserved character (RFC 3986 §2.3: a letter, a digit, ``-._~``)."""


def _unescaped(text: str) -> str:
    """``text`` with each escaped unreserved character written as itself, as RFC 3986
    §6.2.2.2 normalises a URI (``%34%34`` is ``44``); other escapes kept."""
    if "%" not in text:
        return text
    return _UNRESERVED_ESCAPE.sub(lambda m: chr(int(m.group()[1:], 16)), text)


def _replace(text: str, value: str, masked: str) -> str:
    """``text`` with each copy of ``value`` that is not glued to further digits
    (:func:`_glued`) replaced by ``masked``: "447700900123" inside the order number
    "9447700900123999" is part of another number, and stays."""
    if value[0] not in _DIGITS and value[-1] not in _DIGITS:
        return text.replace(value, masked)  # no digit at its ends to be glued by
    out: list[str] = []
    done = at = 0
    size = len(value)
    while (start := text.find(value, at)) >= 0:
        if _glued(text, start, start + size):
            at = start + 1
            continue
        out += (text[done:start], masked)
        done = at = start + size
    out.append(text[done:])
    return "".join(out)


def _ending(text: str, at: int, ends: tuple[str, ...]) -> int:
    """The length of the first of ``ends`` that ``text[:at]`` ends with; 0 for none."""
    for end in ends:
        if text.endswith(end, 0, at):
            return len(end)
    return 0


def _glued(text: str, start: int, end: int) -> bool:
    """Whether the copy ``text[start:end]`` of a value is part of a longer number: a
    digit at one of its ends touches a digit of ``text``."""
    if end < len(text) and text[end] in _DIGITS and text[end - 1] in _DIGITS:
        return True
    return _digit_before(text, start)


def _digit_before(text: str, start: int) -> bool:
    """Whether ``text[start]`` is a digit that follows a digit. The hex digits of a URL
    escape (``%20447700900123``) are no digits of a number."""
    if not start or text[start] not in _DIGITS or text[start - 1] not in _DIGITS:
        return False
    escape = start >= 3 and text[start - 3] == "%" and text[start - 2] in _HEX_DIGITS
    return not escape


def _latin(text: str) -> str:
    """``text`` as the Latin-1 reading of its bytes (UTF-8, lone surrogates as the
    bytes they stand for): what it is in a body read as Latin-1."""
    return text.encode("utf-8", "surrogateescape").decode("latin-1")


def redacted_info(info: SessionInfo) -> SessionInfo:
    """What a redacted output may cite of what judged its findings (``info``, from
    :meth:`~capture.formats.session.SessionInfo.judged_by`): all but the canary
    digests. A phone number's, IMEI's or IMSI's SHA-256 is found again by hashing
    every possible one, and names the test phone even where no request carried it."""
    return dataclasses.replace(info, canary_sha256=())


def is_mask(text: str) -> bool:
    """Whether ``text`` is exactly a mask :meth:`Redactor.mask` makes (a kind of
    :data:`MASKED_KINDS`, its last two digits if it has them, :data:`HASH_DIGITS` hex
    digits of keyed hash): a value of a redacted file, which no detector can find
    again."""
    match = _MASK.fullmatch(text)
    return match is not None and (match[1] is None or match[1].isdigit())


def _scrubbed(finding: Finding, scrub: Callable[[str], str]) -> Finding:
    # A finding not masked (a Via header's name) may still spell the client's address.
    return dataclasses.replace(
        finding,
        name=scrub(finding.name),
        value=scrub(finding.value),
        normalized=scrub(finding.normalized),
        detail=scrub(finding.detail),
    )


@functools.lru_cache(maxsize=4096)
def _address_forms(address: str) -> tuple[str, ...]:
    """How ``address`` is written in text: as it is and URL-encoded, longest first, in
    lower case for an IPv6 address (its hex digits may come in either case); none for
    a text that is no address (a log's "-" is not searched for)."""
    packed = _packed(address)
    if packed is None:
        return ()
    if len(packed) == 4:
        return (address,)  # digits and dots: the same URL-encoded
    lower = address.lower()
    return (lower.replace(":", "%3a"), lower)


_new_request = positional_new(Request)
_new_record = positional_new(Record)


def _from(record: Record, src: str) -> Record:
    """``record`` sent from ``src``: ``dataclasses.replace`` in a tenth of its time,
    for every record of a redacted output (each field named: one added is an error)."""
    r = record.request
    request = _new_request(
        ts=r.ts,
        flow=r.flow,
        depth=r.depth,
        src=src,
        sport=r.sport,
        dst=r.dst,
        dport=r.dport,
        method=r.method,
        uri=r.uri,
        version=r.version,
        headers=r.headers,
        body=r.body,
        body_length=r.body_length,
        anomalies=r.anomalies,
        authority=r.authority,
        app=r.app,
        input=r.input,
        source=r.source,
    )
    return _new_record(
        id=record.id,
        request=request,
        findings=record.findings,
        response=record.response,
        transit=record.transit,
    )


def unshared(count: int) -> str:
    """What an output says of ``count`` spellings past :data:`MAX_SHARED` (one line)."""
    return (
        f"{count} copies of identity values found past the first {MAX_SHARED:,} spellings "
        "are masked only in the request they were found in"
    )


_RUN = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")
"""A run that may be base64 (standard or URL-safe; a JWT's parts are such runs), with
its padding (masked with it)."""


def _wrapping(texts: str, swaps: dict[str, str]) -> Iterator[tuple[str, str]]:
    """Each base64 run of ``texts`` whose decoding holds some of ``swaps``' texts, with
    their masks one after another: the finding names the value inside
    (``Authorization.phone_number`` of a JWT, ``data.properties.$phone`` of a query's
    base64 JSON), and the wrapper as sent would carry it out unmasked."""
    wanted = [(text.encode("utf-8", "surrogateescape"), masked) for text, masked in swaps.items()]
    for run in set(_RUN.findall(texts)):
        data = run.rstrip("=").replace("-", "+").replace("_", "/")
        try:
            raw = base64.b64decode(data + "=" * (-len(data) % 4), validate=True)
        except (binascii.Error, ValueError):
            continue
        # Every identity inside, each by its own mask (a JWT's claims holding a number
        # and an IMEI showed the number's mask alone: the IMEI's was nowhere).
        inside = dict.fromkeys(masked for text, masked in wanted if text in raw)
        if inside:
            yield run, "".join(inside)


def _maskable_body(req: Request) -> tuple[bytes, str]:
    """The body of ``req`` as it can be masked, and what was done to it ("" for
    nothing): a compressed one (its Content-Encoding, or gzip's magic bytes) decoded,
    since no search sees into its bytes (a redacted HAR carried a beacon's number in
    its gzip body); one that cannot be decoded here left out, for the same reason."""
    body = req.body
    coding = content_coding(req.headers) if body else ""
    if not any(c.strip().lower() not in ("", "identity") for c in coding.split(",")):
        plain = gunzipped(body) if body[:2] == b"\x1f\x8b" else None
        if plain is None:
            return body, ""
        return plain, f"{BODY_DECODED_TO_MASK} (gzip by its first bytes)"
    got = decoded_in_part(body, coding)
    if got is None:
        return b"", f"{BODY_LEFT_OUT} (Content-Encoding {printable(coding[:60])!r})"
    return got[0], f"{BODY_DECODED_TO_MASK} (Content-Encoding {printable(coding[:60])!r})"


BODY_DECODED_TO_MASK = "body written decoded, to be masked"
"""The anomaly of a redacted record whose compressed body is written decoded."""
BODY_LEFT_OUT = "body left out: compressed in a coding not undone here, so not maskable"
"""The anomaly of a redacted record whose compressed body could not be decoded."""


def _texts(record: Record) -> str:
    """Every text of ``record`` that is masked, joined (its body decoded as its text
    fields are), to tell at once which values it holds."""
    req = record.request
    texts = [req.uri or "", req.authority or "", req.app, req.input, *req.anomalies]
    texts += [t for header in req.headers for t in header]
    response = record.response
    if response is not None:
        texts += [response.reason, *(value for _, value in response.headers)]
    moved = record.transit
    if moved is not None:
        blocks = (*moved.received, *moved.injected, *moved.removed)
        texts += [t for header in blocks for t in header]
        texts += [t for change in moved.changed for t in change]
    texts += [t for f in record.findings for t in (f.name, f.value, f.normalized, f.detail)]
    texts.append(req.body.decode("utf-8", "surrogateescape"))
    return "\n".join(texts)


def _spelt(record: Record, texts: str, forms: tuple[str, ...]) -> bool:
    """Whether ``record`` (whose texts are ``texts``) holds any of ``forms`` (its
    client's address), or a reflector's echo (whose base64 no search for a text sees
    into)."""
    response = record.response
    if response is not None and any(name.lower() == _ECHO for name, _ in response.headers):
        return True
    if not forms:
        return False
    if ":" in forms[-1]:
        texts = texts.lower()
    return any(form in texts for form in forms)


def _starts_pattern(starts: Iterable[str], number_starts: Iterable[str]) -> Any:
    """An RE2 pattern that finds any of ``starts`` (a spelling's first :data:`MIN_SHARED`
    characters), and any of ``number_starts`` (a phone number's first :data:`MIN_SHARED`
    digits) however they are grouped (:meth:`Redactor.learn`), in a record's texts
    encoded as UTF-8 (lone surrogates passed through): RE2 runs it as one automaton,
    linear in the text however many starts there are, where ``re`` tried each place in
    turn (most of a redacted scan's time). Bytes read as Latin-1, so that any byte is
    one character.

    Each set is written as a tree of their common beginnings (``44(?:7700|8…)``), not
    as one alternative each: 16,384 starts of random digits, each its own alternative,
    left RE2 out of memory for its automaton and 2,000 times slower (10 s for 300 KB of
    digit-rich JSON, on its slow path), where the tree keeps it on the fast one. Where
    several match at one place, the longest is taken: with digits grouped, the first
    would keep more of the automaton's states apart."""
    # Imported here: only a redacted output with values to mask everywhere needs it.
    import re2

    texts = _tree((start.encode("utf-8", "surrogatepass") for start in starts), b"")
    numbers = _tree((start.encode() for start in number_starts), _GROUPING)
    options = re2.Options()
    options.encoding = re2.Options.Encoding.LATIN1
    options.never_capture = True
    options.longest_match = True
    options.max_mem = 64 << 20  # MAX_SHARED spellings' starts, with room
    return re2.compile(b"|".join(tree for tree in (texts, numbers) if tree), options)


def _tree(starts: Iterable[bytes], grouping: bytes) -> bytes:
    """A regular expression for any of ``starts``, as a tree of their common beginnings,
    with ``grouping`` between each byte and the next; empty for none."""
    tree: dict[int, Any] = {}
    for start in starts:
        node = tree
        for byte in start:
            node = node.setdefault(byte, {})

    def branches(node: dict[int, Any]) -> bytes:
        parts = [
            re.escape(bytes((byte,))) + (grouping + branches(rest) if rest else b"")
            for byte, rest in sorted(node.items())
        ]
        return parts[0] if len(parts) == 1 else b"(?:" + b"|".join(parts) + b")"

    return branches(tree) if tree else b""


def _found(pattern: Any, data: bytes) -> Iterator[Any]:
    """Each match of ``pattern`` (:func:`_starts_pattern`) in ``data``, one at each place
    a start is: one may start inside another."""
    found = pattern.search(data)
    while found is not None:
        yield found
        found = pattern.search(data, found.start() + 1)


MAX_SEPARATORS = 3
"""Separators between two digits of a phone number's copy, at most (``") ("``,
``" - "``)."""
_SEPARATORS = frozenset(" .-()+")
_ESCAPED_SEPARATORS = frozenset(("%20", "%28", "%29"))
_SEPARATOR = r"(?:[ .()+\-]|%2[089])"
# Any run of separators, for RE2 (MAX_SEPARATORS is counted where a start is found).
_GROUPING = (_SEPARATOR + "*").encode()
# A text that is only a number's digits, grouped: found by them (:meth:`Redactor.learn`).
_GROUPED = re.compile(
    rf"(?:\(|%28)?(?:\+|%2[Bb])?[0-9](?:{_SEPARATOR}{{0,{MAX_SEPARATORS}}}[0-9])*"
)


_NOT_DIGITS = re.compile(r"%2[089Bb]|[^0-9]")
"""What is no digit of a number in a text :data:`_GROUPED` matches (``%2B44%207700``)."""


_ESCAPE = re.compile(r"%[0-9A-F]{2}")


@functools.lru_cache(maxsize=4096)
def _encoded(text: str) -> tuple[str, ...]:
    """``text`` URL-encoded, with upper- and lower-case escapes (both are sent); none
    if it has nothing to encode. A byte that is no UTF-8 (read as a lone surrogate, as
    every captured head is) is its own escape, as it was sent."""
    upper = quote(text, safe="", errors="surrogateescape")
    if upper == text:
        return ()
    lower = _ESCAPE.sub(lambda m: m.group().lower(), upper)
    return (upper,) if lower == upper else (upper, lower)


def two_pass(
    records: Iterable[Record], redactor: Redactor, stopped: list[KeyboardInterrupt]
) -> Iterator[Record]:
    """``records``, masked by ``redactor`` once all are read: each is learnt
    (:meth:`Redactor.learn`) and set aside with the spellings learnt from it in an
    unnamed temporary file (private, gone when closed), then read back and masked with
    them (not worked out again), so that a value found late is masked in the records
    before it too. One record is in memory at a time. Ctrl-C ends the
    reading, and is put in ``stopped``: what was read is still masked and given."""
    # Imported here: only a redacted output sets records aside.
    import pickle
    import tempfile

    with tempfile.TemporaryFile(prefix="headerwatch-redact-") as spool:
        # The process's own records, read back by it alone from a file no one else
        # can open: pickle is safe here, and keeps every field.
        pickler = pickle.Pickler(spool, pickle.HIGHEST_PROTOCOL)
        pickler.dispatch_table = _SPOOLED
        try:
            for record in records:
                # Its spellings with it (most records: none), not computed again below.
                spelt = redactor.learn(record)
                pickler.dump((record, spelt if spelt.texts or spelt.numbers else None))
                pickler.clear_memo()  # else it holds every record written
        except KeyboardInterrupt as stop:
            stopped.append(stop)
        spool.seek(0)
        while True:
            try:
                # (An unpickler of its own each: each record was written with a memo of
                # its own.)
                record, spelt = pickle.load(spool)
            except EOFError:
                break
            yield redactor.record(record, spelt or _UNSPELT)


def _by_fields(cls: type[Any]) -> Callable[[Any], tuple[Callable[..., Any], tuple[Any, ...]]]:
    """How pickle writes an object of dataclass ``cls``: the class and its fields in
    order, built again by its constructor (a tenth of the time of the state a frozen
    dataclass gives pickle by default)."""
    get = operator.attrgetter(*(f.name for f in dataclasses.fields(cls)))
    return lambda obj: (cls, get(obj))


_SPOOLED: dict[type, Callable[[Any], tuple[Callable[..., Any], tuple[Any, ...]]]] = {
    cls: _by_fields(cls) for cls in (Record, Request, Response, Finding, Transit, Spelt)
}
_UNSPELT = Spelt()
"""The spellings of a record whose findings name no value to mask."""


def _pseudonymous(packed: bytes) -> bool:
    """Whether the address of bytes ``packed`` is in :data:`PSEUDONYMS_V4` or
    :data:`PSEUDONYMS_V6`."""
    number = int.from_bytes(packed, "big")
    if len(packed) == 4:
        return number >> _V4_HOST_BITS == _V4_BASE >> _V4_HOST_BITS
    return number >> _V6_HOST_BITS == _V6_BASE >> _V6_HOST_BITS


def _packed(address: str) -> bytes | None:
    """The bytes of an IPv4 or IPv6 address written as text, or None for a text that
    is no address (the C parser: this is asked of each new client)."""
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            return socket.inet_pton(family, address)
        except (OSError, ValueError):  # ValueError: a NUL or a lone surrogate in it
            continue
    return None


_HEX = frozenset("0123456789abcdef:")
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_LOWER_HEX = str.maketrans("ABCDEF", "abcdef")
_DIGITS = frozenset("0123456789")


def _swap_address(text: str, forms: tuple[str, ...], pseudonym: str) -> str:
    """``text`` with an address (its :func:`_address_forms`) replaced by ``pseudonym``
    where it stands alone: not inside a longer number ("10.0.0.1" in "10.0.0.15" or
    "110.0.0.1"), so that nothing else is changed. Letters around an IPv4 address do
    not count ("ip203.0.113.7" is that address); hex digits around an IPv6 one do."""
    ipv6 = ":" in forms[-1]
    # (Not lower(): it may change a text's length, and the places found are the text's.)
    hay = text.translate(_LOWER_HEX) if ipv6 else text
    if not any(form in hay for form in forms):
        return text  # nearly always: one search per form
    inside = _HEX if ipv6 else _DIGITS
    out: list[str] = []
    done = at = 0
    while True:
        found = [(hay.find(form, at), -len(form)) for form in forms]
        start, minus = min(((i, n) for i, n in found if i >= 0), default=(-1, 0))
        if start < 0:
            break
        end = start - minus
        before = hay[start - 1] if start else ""
        after = hay[end : end + 3]
        alone = before not in inside and after[:1] not in inside
        if ipv6:
            alone = alone and not after.startswith("%3a")
        else:
            alone = alone and before != "." and not (after[:1] == "." and after[1:2] in _DIGITS)
        if alone:
            out += (text[done:start], pseudonym)
            done = at = end
        else:
            at = start + 1
    out.append(text[done:])
    return "".join(out)
