"""The identity stage of the pipeline: one :class:`Request` in, its findings out.

:class:`IdentityDetector` looks at every header value, every cookie pair, every
query parameter (and the parameters of a form-encoded body), and reports:

* headers named in the catalog (detector ``catalog``), with their value
  normalised (E.164 for numbers, digits for IMEI/IMSI);
* identities found by value under any other name (``phonenumber``, ``imei``,
  ``imsi``, ``email``, ``device-id-name``, ``hashed-name``), see
  :mod:`capture.identity.values`;
* the user's canaries in any form (``canary``), see :mod:`capture.identity.canary`;
* optionally, opaque tokens that reach several sites unchanged (``recurrence``),
  see :mod:`capture.identity.recurrence`.

It runs on every request, so the common case is made cheap: the decision for a
header *name* is computed once and kept in a bounded LRU (skip, cookie, catalog or
scan); a cookie header or query string is first tested whole (could a value hold
an identity, does a name hold a word of a hint or a catalog entry?) and passed over
when nothing in it could matter, which is nearly every analytics request; the
canaries are looked for only in a request that one pass over all of it says could
hold one (both whole-string tests in C where ``capture/identity/_idscan.c`` was
built, with the same answers as the Python here and in ``canary``); and a
value is only handed to libphonenumber after one regex says it could hold a
number, an address or an encoded number. What such a value gave is kept for the next
request that sends it again (bounded, see :meth:`IdentityDetector._remember`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache, lru_cache
from typing import TypeVar

import orjson

from capture.identity import bodies
from capture.identity import canary as canaries
from capture.identity import recurrence as recurring
from capture.identity.caching import short_keys_cached
from capture.identity.catalog import Catalog, CatalogEntry, load_catalog, make_entry
from capture.identity.deviceid import is_placeholder
from capture.identity.encodings import (
    B64_DIGITS_BODY,
    B64_JSON_HEAD,
    base64_json,
    base64_json_shaped,
    base64_shaped,
    hex_shaped,
    jwt_claims,
    split_parts,
    url_decode,
)
from capture.identity.nai import find_addresses
from capture.identity.names import (
    HINT_ANCHORS,
    NameHint,
    field_name,
    hint_key,
    name_hint,
    normalize_name,
)
from capture.identity.phone import is_region, parse_strict
from capture.identity.values import VALUE_DETECTORS, Mode, ValueHit, ValueScanner
from capture.model import (
    IDENTITY_KINDS,
    INFO_KINDS,
    NAMES_ONLY,
    WHERE_BODY,
    WHERE_COOKIE,
    WHERE_HEADER,
    WHERE_QUERY,
    Finding,
    Request,
    positional_new,
)

try:  # built at install time where a C compiler is there (see pyproject.toml)
    from capture.identity import _idscan
except ImportError:
    _idscan = None  # type: ignore[assignment]

CATALOG = "catalog"
NAME_ONLY = "name-only"
"""A catalog header present in a log that keeps names only (:data:`capture.model.NAMES_ONLY`):
a finding with an empty value."""
CANARY = "canary"
RECURRENCE = recurring.DETECTOR
DETECTORS = (CATALOG, NAME_ONLY, *VALUE_DETECTORS, CANARY, RECURRENCE)
"""Rule names that ``disabled`` may contain besides catalog header names."""


@dataclass(frozen=True, slots=True)
class HeaderRule:
    """An extra identity header from the user's configuration."""

    name: str
    kind: str
    severity: str = "high"


@dataclass(frozen=True, slots=True)
class IdentityConfig:
    """Everything the detector can be told (from the command line or ``[identity]``)."""

    region: str | None = None
    """Region for national phone numbers (``GB``); ``None`` takes it from the locale."""
    msisdns: tuple[str, ...] = ()
    imeis: tuple[str, ...] = ()
    imsis: tuple[str, ...] = ()
    canaries: tuple[str, ...] = ()
    headers: tuple[HeaderRule, ...] = ()
    """Header names to treat as identity headers, beyond the catalog."""
    disabled: tuple[str, ...] = ()
    """Catalog header names or detector names (:data:`DETECTORS`) to switch off."""
    recurrence: int = 0
    """Report an opaque token that reaches this many sites (registrable domains) under
    one name as a ``tracking_id`` (detector ``recurrence``); 0 switches it off. The
    dashboard turns it on (3), ``scan`` with ``--recurrence``."""


def locale_region(environ: Mapping[str, str] | None = None) -> str | None:
    """The region of the user's locale, if libphonenumber knows it: the locale POSIX
    gives telephone formats (``LC_ALL``, else ``LC_TELEPHONE``, else ``LANG``), so
    ``en_GB.UTF-8`` gives ``GB``, and ``C``, ``C.UTF-8`` and ``POSIX`` give none.

    Read from the environment: Python's ``locale.getlocale()`` calls ``C.UTF-8``
    ``en_US`` (its alias table), and a locale that is set but not generated falls back
    to that, so a British user of a stock Debian got US numbers read for them.
    """
    setting = locale_setting(environ)
    if setting is None:
        return None
    match = re.match(r"[A-Za-z]{2,3}_([A-Za-z]{2})(?![A-Za-z])", setting[1])
    region = match.group(1).upper() if match else None
    return region if region is not None and is_region(region) else None


def locale_setting(environ: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """The variable that sets the telephone locale and its value (``("LANG",
    "C.UTF-8")``), the first of ``LC_ALL``, ``LC_TELEPHONE`` and ``LANG`` that is set;
    ``None`` when none is."""
    environ = os.environ if environ is None else environ
    for variable in ("LC_ALL", "LC_TELEPHONE", "LANG"):
        value = environ.get(variable)
        if value:
            return variable, value
    return None


_new_finding = positional_new(Finding)
"""``Finding(...)`` of all its fields by position, in a seventh of its instructions (a
canary finding is built for every request that sends one: its cached hits are cheaper
to find than the finding is to build)."""

# What to do with a name, decided once per distinct name.
_SKIP, _COOKIE, _CATALOG, _SCAN, _URL = range(5)
# Headers whose value is a URL: only its query parameters can carry an identity (a
# page that had the MSISDN in its URL leaks it to the next site through Referer).
_URL_HEADERS = frozenset({"referer", "content-location"})


@dataclass(frozen=True, slots=True)
class _NameRule:
    action: int
    entry: CatalogEntry | None
    hint: NameHint
    worth: Callable[[str], bool] | None = None
    """The prefilter a value must pass before scanning; ``None`` scans every value."""


# Cheap tests decide whether a value is worth the detectors at all. They use str
# methods first because a regex scan of a long value costs microseconds in CPython.
_PLUS_DIGIT = re.compile(r"\+[0-9]")
# OMA's UAProf schema (ccppschema-20021212#, its RDF vocabulary), not a handset's profile.
_UAPROF_SCHEMA = re.compile(r"/UAPROF/ccppschema-\d{8}#?\W*$", re.IGNORECASE)
_URI_SCHEME = re.compile(r"(?i:tel|sips?):")
_DIGIT_RUN = re.compile(r"[0-9]{7}")
# Base64 of 7-16 digits (10-24 characters from K, M, N or O, as a whole value's test in
# _worth_param) as one part of a header's value, after "=", ":", a separator or a
# space: a gateway's "msisdn=NDQ3OTExMTIzNDU2" or "gprs NDQ3..." (one whole, or its
# hex with a run of digits, was all that was looked at).
_WRAPPED_PART = re.compile(r"(?:^|[=:;,\s])[KMNO][A-Za-z0-9+/]{9,23}(?:=|%3[dD]){0,2}(?:$|[;,&\s])")
_PHONE_SHAPED = re.compile(r"\+?[0-9]{10,15}")
# A subscriber-ID header's value that is the subscriber's number, alone or with the
# "_gateway" suffix China Mobile's WAP gateway adds (x-up-subno: 8613800138000_gateway).
_SUBNO_NUMBER = re.compile(r"(\+?[0-9]{10,15})(?:_gateway)?", re.IGNORECASE)


# Percent-encoding that may hide an identity: "%2B" (a "+"), "%40" (an "@"), encoded
# digits, or the colon of a tel:/sip: URI. Encoded URLs ("https%3A%2F%2F...", everywhere
# in analytics parameters) have none of them. Encoded twice ("%252B", a value that was
# already percent-encoded put into a query) counts too: url_decode once leaves "%2B".
_PCT_IDENTITY = re.compile(r"%(?:25)?(?:2[bB]|40|3[0-9])|(?i:tel|sips?)%3[aA]")
# Its first half alone: a pattern that starts with a literal is searched for fast.
_PCT_WRAPPED = re.compile(r"%(?:25)?(?:2[bB]|40|3[0-9])")
# The schemes of _URI_SCHEME and _PCT_IDENTITY, lower case, for str searches.
_SCHEMES = ("tel:", "sip:", "sips:")
_SCHEMES_PCT = ("tel%3a", "sip%3a", "sips%3a")


def _has_scheme(value: str, schemes: tuple[str, ...], pattern: re.Pattern[str]) -> bool:
    """Does ``value`` hold one of ``schemes`` in any case (``pattern`` the same test as a
    regex)? For ASCII, str searches of the value lower-cased: the regex, with no literal
    to start from and its case-insensitive branches, cost some 450 instructions a
    character (16k for a 35-character encoded URL). Other text is left to the regex,
    whose case folding (Unicode's) is not ``str.lower``'s."""
    if not value.isascii():
        return pattern.search(value) is not None
    lowered = value.lower()
    for scheme in schemes:  # noqa: SIM110 (any() over a generator costs more)
        if scheme in lowered:
            return True
    return False


def _pct_identity(value: str) -> bool:
    """``_PCT_IDENTITY.search(value)``, its halves apart: the first starts with a
    literal, and the second (a scheme, its ":" encoded) needs a "%3"."""
    if _PCT_WRAPPED.search(value):
        return True
    return "%3" in value and _has_scheme(value, _SCHEMES_PCT, _PCT_IDENTITY)


def _worth_param(value: str) -> bool:
    """Could ``value`` hold a deliberate identity: an address, "+<digits>", a tel: URI,
    percent-encoding that may hide either, digits wrapped in hex or base64, or JSON,
    plain, percent-encoded or wrapped in base64?"""
    if "@" in value:
        return True
    if "%" in value:
        if _idscan is not None:
            # The whole answer in C for an ASCII value: the regex searches of a long
            # percent-encoded one (a page's address, JSON in a cookie) cost more than
            # the rest of its reading. Python's below is the reference.
            answer = _idscan.worth(value)
            if answer is not None:
                return answer
        if _pct_identity(value):
            return True
    if "+" in value and _PLUS_DIGIT.search(value):
        return True
    if ":" in value and _has_scheme(value, _SCHEMES, _URI_SCHEME):
        return True
    size = len(value)
    if not size:
        return False
    first = value[0]
    # base64 of 7-16 digits is 10-24 characters starting K, M, N or O (encodings._B64_DIGITS);
    # hex of digits is a run of "3x" pairs, optionally after "2b" for a "+".
    # (up to 30: the "=" padding may arrive percent-encoded, "%3D%3D")
    if 10 <= size <= 30 and first in "KMNO":
        return True
    if first in "eW{[%":
        # JSON, plain or percent-encoded (Amplitude's e=), or base64 of a JSON object
        # or list (Mixpanel's data=): analytics events in one parameter.
        if first in "{[" or value[:3] in _JSON_START_PCT:
            return True
        if first in "eW" and base64_json_shaped(value):
            return True
    # Hex of digits whole: a cookie's hex token that only starts with 2 or 3 holds
    # none (ValueScanner._part reads such a value with hex_digits alone).
    return first in "23" and hex_shaped(value)


def _worth_credentials(value: str) -> bool:
    """:func:`_worth_header` for Authorization and Proxy-Authorization: not a part that
    is only shaped as base64 of digits (``Basic <base64>``, a bearer token: a client's
    credentials, read as a number a fifth of the time where they are digits)."""
    return _worth_param(value) or _DIGIT_RUN.search(value) is not None or value[:10] in _BEARER_JWT


def _worth_header(value: str) -> bool:
    """Like :func:`_worth_param`, and also a run of 7 digits (bare numbers count in
    headers), a bearer token that is a JWT (``Authorization: Bearer eyJ...``) or a
    part shaped as base64 of digits (:data:`_WRAPPED_PART`)."""
    return _worth_credentials(value) or _WRAPPED_PART.search(value) is not None


_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization"})
# "Bearer " and the start of a JWT ("eyJ": base64 of '{"'), as Authorization sends it.
_BEARER_JWT = frozenset({"Bearer eyJ", "bearer eyJ", "BEARER eyJ"})
# The claims every JWT has (RFC 7519's registered names): never a subscriber's identity.
# "sub" is the issuer's own ID of the user, which a subscriber hint would misread.
_JSON_SPACE = " \t\r\n"  # RFC 8259's whitespace
_JWT_REGISTERED = frozenset({"iss", "sub", "aud", "exp", "nbf", "iat", "jti"})


_FirstLook = tuple[Sequence[tuple[str, str]], bool | None, bool | None, str | bool | None]
"""What detect() takes from ``_idscan.request`` (:func:`_request_py`): the headers to
look at, whether the query may matter, what the canaries' needles say, how the body is
read; each but the first None where Python decides."""


# Names and values are attacker-controlled, so every cache is bounded. Name decisions
# live in LRUs: ad and analytics traffic sends thousands of one-off parameter names
# (tag managers add random suffixes), and a cache emptied when full would lose the
# few names that recur on every request each time such a burst filled it.
_NAME_CACHE_LIMIT = 16384
_VALUE_CACHE_LIMIT = 8192
_KEPT_NAME_CHARS = 256
"""A name longer than this is classified each time it comes, never kept: the caches
are bounded by count, and 16,384 names of 30 KB (a head holds one such name) are half
a gigabyte each cache. Real names are a few dozen characters."""
_KEPT_FIELD_CHARS = 2048
"""A field (name and value) longer than this is read each time it comes, its findings
never kept in :attr:`IdentityDetector._found` (8,192 header values of 60 KB held 477
MB): an identity's value is short, and a repeated one is what the cache is for."""
# Keys of IdentityDetector._found for header values, apart from parameters (whose
# first item is where they were found: a Referer's parameters are WHERE_HEADER's).
_HEADER_SCAN = "header value"
_HEADER_CATALOG = "catalog header value"


def configured_catalog(config: IdentityConfig, catalog: Catalog | None = None) -> Catalog:
    """The catalog ``config`` makes of ``catalog`` (default: the bundled one): its
    ``[identity.headers]`` added, the headers it disables removed, none at all when it
    disables ``catalog``. All that the configuration changes of the catalog: what
    :class:`IdentityDetector` looks up, and what ``headerwatch rules`` prints."""
    disabled = {normalize_name(name) for name in config.disabled}
    extra = [
        make_entry(r.name, r.kind, r.severity, "from the configuration", "user configuration")
        for r in config.headers
    ]
    base = catalog if catalog is not None else load_catalog()
    return base.customized(extra, disabled) if CATALOG not in disabled else Catalog((), base.benign)


class IdentityDetector:
    """Finds identities in requests. Build once; :meth:`detect` is called per request."""

    def __init__(
        self, config: IdentityConfig | None = None, catalog: Catalog | None = None
    ) -> None:
        config = config or IdentityConfig()
        region = config.region.upper() if config.region else locale_region()
        if region is not None and not is_region(region):
            raise ValueError(f"unknown region {config.region!r} (expected a code such as GB or US)")
        self.region = region
        disabled = {normalize_name(name) for name in config.disabled}
        self.catalog = configured_catalog(config, catalog)
        enabled = frozenset(d for d in VALUE_DETECTORS if d not in disabled)
        self._scanner = ValueScanner(region, enabled)
        self._canaries = canaries.CanaryMatcher(
            []
            if CANARY in disabled
            else [canaries.msisdn_canary(v, region) for v in config.msisdns]
            + [canaries.imei_canary(v) for v in config.imeis]
            + [canaries.imsi_canary(v) for v in config.imsis]
            + [canaries.value_canary(v) for v in config.canaries]
        )
        self._has_canaries = bool(self._canaries)
        self._needles = (
            self._canaries.needles if _idscan is not None and self._has_canaries else None
        )
        """What ``_idscan.needles`` is given for the first canary test of a request
        (:meth:`~capture.identity.canary.CanaryMatcher.could_be_in`); None when it is
        not made."""
        self._name_only = NAME_ONLY not in disabled
        self.detectors: tuple[str, ...] = tuple(
            d
            for d in DETECTORS
            if d not in disabled
            and (d != CANARY or self._has_canaries)
            and (d != RECURRENCE or config.recurrence)
        )
        """The detectors that run, in :data:`DETECTORS` order: each not disabled, the
        canaries' when any is given, recurrence when it is on (a report's Method lists
        these, not every one headerwatch has)."""
        self._canary_cache: dict[str, bool] = {}
        self._found: dict[tuple[str, str, str], tuple[Finding, ...]] = {}
        """The findings of a header value, a cookie or a parameter by (where, name, value as
        sent), where they cost more than a look-up: they depend on nothing else, and a
        device sends the same identity on every request (:meth:`_remember`)."""
        self._canary_found: dict[tuple[str, str, str, bool], tuple[Finding, ...]] = {}
        """The canary findings of a field (``(where, name, text, unseen)`` as
        ``_idscan.canary_fields`` gives it): they depend on nothing else (but see
        :meth:`_find_canaries`), and a device sends its identities again and again."""
        self._json_read: tuple[bytes, list[tuple[str, str, str]]] | None = None
        """The last JSON body :meth:`_json` read, and its fields."""
        self._recurrence: recurring.RecurrenceTracker | None = None
        if config.recurrence and RECURRENCE not in disabled:
            self._recurrence = recurring.RecurrenceTracker(config.recurrence)
        self._recurrence_key: Callable[[str], str | None] = lru_cache(_NAME_CACHE_LIMIT)(
            self._classify_recurrence
        )
        # A name over _KEPT_NAME_CHARS is classified each time, never kept.
        names_cached = short_keys_cached(_NAME_CACHE_LIMIT, _KEPT_NAME_CHARS)
        self._header_rule: Callable[[str], _NameRule] = names_cached(self._classify_header)
        self._header_kinds: dict[str, int] = {}
        """The action of each name in :attr:`_header_rules`, for the triage of
        ``_idscan.request`` (:func:`_triage_py`), which drops the headers that need no
        look."""
        self._header_rules: dict[str, _NameRule] = {}
        """The rule of each header name as sent: one dict lookup per header, where the
        LRU costs a call (a request sends half a dozen headers, most of them benign).
        Real traffic sends few distinct header names; it stops growing at the cache
        limit all the same (names are attacker-controlled), and names first seen after
        that are looked up in the LRU."""
        self._param_rule: Callable[[str], _NameRule] = names_cached(self._classify_param)
        self._names_matter: Callable[[str], bool] = names_cached(self._classify_names)
        self._anchors = _name_anchors(self.catalog)
        """Words of which every parameter name with a hint or a catalog entry contains
        one (lower-cased): a name with none, and a value no detector could read, is
        passed over without being classified."""
        self._plain: set[str] = set()
        """Parameter names with an anchor word that turned out to have neither a hint
        nor a catalog entry (``codeVersion``, ``demdex``): their pairs are then picked
        as those of a name without one (:func:`_picked_py`), since they are read so.
        Up to :data:`_NAME_CACHE_LIMIT` names, the first ones classified."""
        self._nothing_else = self._recurrence is None and (
            not self._has_canaries or self._needles is not None
        )
        """A request ``_idscan.request`` finds nothing to look at in (no needle among
        them, no body that may matter) holds no finding: no recurrence is counted, and
        no canary is looked for without the needles' test."""
        self._nothing_seen: _FirstLook = (
            (),
            False,
            None if self._needles is None else False,
            False,
        )
        """What ``_idscan.request``'s None stands for where the recurrence or canaries
        are still looked for: no header, query, needle or body to look at."""

    @property
    def canary_values(self) -> tuple[str, ...]:
        """The canonical value of each canary looked for, each once, in the order given:
        an MSISDN in E.164, an IMEI's or IMSI's digits, any other value as given (the
        ``normalized`` value of its findings). Two spellings of one canary give one."""
        return tuple(dict.fromkeys(c.canonical for c in self._canaries.canaries))

    @property
    def counts_recurrence(self) -> bool:
        """True when the recurrence detector is on: its counts span every request, so
        a scan must not be split over processes."""
        return self._recurrence is not None

    # -- per-name decisions ------------------------------------------------------

    def _classify_header(self, name: str) -> _NameRule:
        key = normalize_name(name)
        entry = self.catalog.lookup(key)
        if entry is not None:
            rule = _NameRule(_CATALOG, entry, NameHint(None, False))
        elif key == "cookie":
            rule = _NameRule(_COOKIE, None, NameHint(None, False))
        elif key in _URL_HEADERS:
            rule = _NameRule(_URL, None, NameHint(None, False))
        elif key in self.catalog.benign:
            rule = _NameRule(_SKIP, None, NameHint(None, True))
        else:
            hint = name_hint(hint_key(name, key))
            worth = None if hint.hint else _worth_param if hint.id_like else _worth_header
            if key in _CREDENTIAL_HEADERS:
                worth = _worth_credentials
            rule = _NameRule(_SCAN, None, hint, worth)
        return rule

    def _classify_param(self, name: str) -> _NameRule:
        key = normalize_name(name)
        entry = self.catalog.lookup(key)
        if entry is not None and entry.is_identity and not entry.header_only:
            # A gateway may put the MSISDN in a cookie under the header's name; an
            # informational name (a parameter called "via") means nothing there, nor
            # does a common word (clientId: entry.header_only).
            rule = _NameRule(_CATALOG, entry, NameHint(None, False))
        else:
            hint = name_hint(hint_key(name, key))
            rule = _NameRule(_SCAN, None, hint, None if hint.hint else _worth_param)
            if (
                hint.hint is None
                and len(self._plain) < _NAME_CACHE_LIMIT
                and len(name) <= _KEPT_NAME_CHARS
                and self._anchored(name)
            ):
                # Once a name (a classification is cached): a name without an anchor
                # word is picked so already, and would only take a place.
                self._plain.add(name)
        return rule

    # -- the hot path ------------------------------------------------------------

    def detect(self, request: Request) -> tuple[Finding, ...]:
        """Every identity (and informational) finding in ``request``, in wire order."""
        body = request.body
        if body and body[0] == 0x1F:
            # A gzip-compressed body (an SDK's beacon), gzip's first byte told apart
            # without a slice (every request passes here): read as what it holds, by
            # every detector. The findings say what was sent; the record keeps the bytes.
            inflated = bodies.gunzipped(body)
            if inflated is not None:
                request = replace(request, body=inflated)
                body = inflated
        if _idscan is None:
            return self._read(request, None)
        # The first look at the request in one call (_request_py): nearly every
        # header dropped (benign names, a Cookie header with nothing that may matter,
        # a Referer without a query), the query tested, the body's kind read and its
        # text tested, the canaries' needles looked for. What is left is looked at as
        # before, its tests made again. Nearly every request has nothing to look at:
        # it costs this call alone (no local is set before it, which was a tenth of
        # detect's own instructions for such a request).
        seen: _FirstLook | None = _idscan.request(
            request.headers,
            self._header_kinds,
            self._anchors,
            request.uri,
            self._needles,
            body or None,
            self._plain,
        )
        if seen is None:
            if self._nothing_else:
                return ()
            seen = self._nothing_seen
        return self._read(request, seen)

    def detect_many(self, requests: Sequence[Request]) -> list[tuple[Finding, ...]]:
        """:meth:`detect` of each of ``requests``, in order, in one call: a file scan's
        batch (:data:`capture.pipeline.DETECT_BATCH`). The first look at each is the C
        call alone, without a call of :meth:`detect`, for the nine in ten that hold
        nothing to look at."""
        if _idscan is None or not self._nothing_else:
            return [self.detect(request) for request in requests]
        look, read, detect = _idscan.request, self._read, self.detect
        kinds, anchors, needles, plain = (
            self._header_kinds, self._anchors, self._needles, self._plain
        )  # fmt: skip
        found: list[tuple[Finding, ...]] = []
        for request in requests:
            body = request.body
            if body and body[0] == 0x1F:
                found.append(detect(request))  # gzip's: read as what it holds (detect)
                continue
            seen = look(request.headers, kinds, anchors, request.uri, needles, body or None, plain)
            found.append(() if seen is None else read(request, seen))
        return found

    def _read(self, request: Request, seen: _FirstLook | None) -> tuple[Finding, ...]:
        """:meth:`detect` after its first look, which left ``seen`` (None: none was
        taken, ``_idscan`` not built): what may hold an identity, read whole."""
        body = request.body
        if seen is not None:
            headers, matters, first, look = seen
        else:
            headers, matters, first, look = request.headers, None, None, None
        uri = request.uri
        out: list[Finding] = []
        rules = self._header_rules
        for name, value in headers:
            rule = rules.get(name)
            if rule is None:
                rule = self._header_rule(name)
                if len(rules) < _NAME_CACHE_LIMIT and len(name) <= _KEPT_NAME_CHARS:
                    rules[name] = rule
                    self._header_kinds[name] = rule.action
            action = rule.action
            if action == _SKIP:
                continue
            if action == _SCAN:
                worth = rule.worth
                if worth is not None and not worth(value):
                    continue
                key = (_HEADER_SCAN, name, value)
                found = self._found.get(key)
                if found is None:
                    hits: list[Finding] | None = self._header_json(name, value)
                    if hits is None:
                        hits = []
                        hint = rule.hint
                        self._emit(
                            name, WHERE_HEADER, self._scanner.scan(value, hint, Mode.HEADER), hits
                        )
                    found = self._remember(key, hits)
                out.extend(found)
            elif action == _COOKIE:
                # An ASCII one kept by the first look in C may matter already: its test
                # is not made twice (kept because its name was new, it is read whole).
                if (_idscan is not None and value.isascii()) or self._may_matter(value, ";"):
                    self._cookies(value, out)
            elif action == _URL:
                if "?" in value:
                    self._url_header(name, value, out, _idscan is not None and value.isascii())
            elif rule.entry is not None:
                if value or not request.anomalies or NAMES_ONLY not in request.anomalies:
                    key = (_HEADER_CATALOG, name, value)
                    found = self._found.get(key)
                    if found is None:
                        hits = []
                        self._catalog(name, value, WHERE_HEADER, rule.entry, hits)
                        found = self._remember(key, hits)
                    out.extend(found)
                elif self._name_only:
                    entry = rule.entry
                    out.append(
                        Finding(
                            name,
                            WHERE_HEADER,
                            entry.kind,
                            "",
                            "",
                            NAME_ONLY,
                            entry.severity,
                            f"present, value not logged (names-only log): {entry.description}",
                        )
                    )
        if matters is None and uri and "?" in uri:
            # Not decided in C (not built, or a target that is not ASCII).
            matters = self._may_matter(uri.partition("?")[2], "&")
        if matters and uri:
            self._query(uri, WHERE_QUERY, out)
        if body:
            kind: str | bool | None = _body_kind(request.headers, body) if look is None else look
            if kind == _FORM:
                # A form body is a query string: cut and picked in one C call, as the
                # target's query is (_form_pairs is what it stands for).
                self._query(_form_query(body), WHERE_BODY, out)
            elif kind == _JSON:
                self._json(body, out)
            elif kind in (_MULTIPART, _XML):
                self._params(_markup_pairs(kind, request.headers, body), WHERE_BODY, out)
        # first: CanaryMatcher.could_be_in, made by _idscan.request above (None where
        # it was not made: then _find_canaries makes the exact test).
        if self._has_canaries and first is not False:
            self._find_canaries(request, out, first)
        if self._recurrence is not None:
            self._find_recurring(request, out)
        if len(out) > 1:
            return _dedupe(out)
        return tuple(out)

    def _params(self, pairs: Iterable[tuple[str, str]], where: str, out: list[Finding]) -> None:
        """The cookies or parameters of one request. Most values cannot hold an identity
        and most names say nothing: those pairs are passed over (:func:`_picked_py`,
        in one C call where it was built and they are ASCII: ``_idscan.pick``)."""
        for name, value in self._picked(list(pairs)):
            self._param(name, value, where, out)

    def _picked(self, pairs: list[tuple[str, str]], opens: bool = True) -> list[tuple[str, str]]:
        """The pairs worth a look (:func:`_picked_py`; ``_idscan.pick`` where built);
        ``opens`` as :meth:`_param_findings`'s."""
        picked = None if _idscan is None else _idscan.pick(pairs, self._anchors, opens, self._plain)
        return _picked_py(pairs, self._anchored, opens, self._plain) if picked is None else picked

    def _json(self, body: bytes, out: list[Finding]) -> None:
        """:meth:`_params` of a JSON body's fields (:func:`_json_fields`): each judged by
        its own key, as a parameter of that name would be, and reported under its path
        of keys (``user.tel``), which says where in the document it was."""
        fields = _json_fields(body)
        # Kept for the canaries of this body (_find_canaries names them by these paths).
        self._json_read = (body, fields)
        picked = self._picked([(key, value) for _, key, value in fields])
        if picked:
            chosen = set(picked)
            for path, key, value in fields:
                if (key, value) in chosen:
                    self._param(path, value, WHERE_BODY, out, key)

    def _query(self, uri: str, where: str, out: list[Finding]) -> None:
        """:meth:`_params` of the query of ``uri`` (:func:`_query_pairs`). Where
        ``_idscan`` was built, one C call cuts the pairs and picks them
        (``_idscan.pick_query``): only those picked are made str, where
        ``_query_pairs`` made a dozen tuples in Python to keep one."""
        picked = None if _idscan is None else _idscan.pick_query(uri, self._anchors, self._plain)
        if picked is None:
            self._params(_query_pairs(uri), where, out)
            return
        for name, value in picked:
            self._param(name, value, where, out)

    def _cookies(self, header: str, out: list[Finding]) -> None:
        """:meth:`_params` of the pairs of a Cookie header (:func:`_cookie_pairs`), cut
        and picked in one C call where ``_idscan`` was built (``_idscan.pick_cookies``)."""
        picked = (
            None if _idscan is None else _idscan.pick_cookies(header, self._anchors, self._plain)
        )
        if picked is None:
            self._params(_cookie_pairs(header), WHERE_COOKIE, out)
            return
        for name, value in picked:
            self._param(name, value, WHERE_COOKIE, out)

    def _anchored(self, name: str) -> bool:
        """Does ``name`` hold an anchor word (then it may have a hint or a catalog
        entry)? In C where it was built and the name is ASCII."""
        if _idscan is not None:
            answer = _idscan.anchored(name, self._anchors)
            if answer is not None:
                return answer
        return _anchored_py(name, self._anchors)

    def _may_matter(self, text: str, sep: str) -> bool:
        """Could any pair of a cookie header (``sep`` ";") or query string (``sep``
        "&") matter? A whole-string test, so that the common request (a dozen
        analytics cookies and parameters, none of them an identity) costs one pass in
        C (``_idscan.may_matter``, where it was built and ``text`` is ASCII) or a few
        regex searches (:meth:`_may_matter_py`, the reference) instead of a dozen pair
        tests in Python. It may say yes wrongly, never no wrongly: then every pair is
        tested on its own."""
        if _idscan is not None:
            answer = _idscan.may_matter(text, sep, self._anchors)
            if answer is not None:
                return answer
        return self._may_matter_py(text, sep)

    def _may_matter_py(self, text: str, sep: str) -> bool:
        """:meth:`_may_matter` in Python: the reference ``_idscan.c`` is held to."""
        names = (_COOKIE_VALUES if sep == ";" else _QUERY_VALUES).sub("", text)
        if "@" in text:
            return True
        if "%" in text and (_PCT_WRAPPED.search(text) or _URI_PCT.search(text)):
            return True
        if "+" in text and _PLUS_DIGIT.search(text):
            return True
        if ":" in text and _URI_SCHEME.search(text):
            return True
        if _wrapped_value().search(text):
            return True
        # The names whole: an anchor word can begin or end with hex letters ("adid",
        # "caller"), so a run of hex digits glued to it (a tag manager's random
        # suffix) cannot be cut out to make names look alike for the cache.
        if self._names_matter(names.lower()):
            return True
        # The names of the query a value carries (a page's address under dl=).
        if "?" in text or "%3" in text:
            values = (_COOKIE_VALUES if sep == ";" else _QUERY_VALUES).finditer(text)
            for value in values:
                carried = _carried_names(value.group()[1:])
                if carried and self._classify_names("&".join(carried).lower()):
                    return True
        return False

    def _worth_reading_py(self, text: str, sep: str) -> bool:
        """Is any pair of a cookie header (``sep`` ";") or query string (``sep`` "&",
        the text after its "?") one :meth:`_params` reads: :meth:`_may_matter_py`,
        then the pairs :func:`_picked_py` keeps (names in :attr:`_plain` taken as
        without an anchor word)? The test of the first look (``_idscan.request``) of
        a Cookie header, a query or a form, which answers so where its text is ASCII
        (and keeps one whose pairs only Python can pick); its reference."""
        if not self._may_matter_py(text, sep):
            return False
        pairs = _query_pairs("?" + text) if sep == "&" else list(_cookie_pairs(text))
        return bool(_picked_py(pairs, self._anchored, True, self._plain))

    def _classify_names(self, names: str) -> bool:
        """Does any of the names (a cookie header or query string without its values,
        lower-cased) contain an anchor word? Cached: a site's requests send the same names again
        and again, though with new values."""
        # A plain loop: any() over a generator costs a third more on this hot path.
        for anchor in self._anchors:  # noqa: SIM110
            if anchor in names:
                return True
        return False

    def _remember(self, key: tuple[str, str, str], found: list[Finding]) -> tuple[Finding, ...]:
        """``found`` kept in :attr:`_found` under ``key`` (see :func:`_keep`): only values
        that passed the cheap tests get here, and one costs its findings again."""
        return _keep(self._found, key, tuple(found))

    def _param(
        self, name: str, value: str, where: str, out: list[Finding], judged: str | None = None
    ) -> None:
        """The findings of one cookie or parameter ``name``, judged by the name
        ``judged`` where given (a JSON field's own key; ``name`` is its path)."""
        key = (where, name, value)
        found = self._found.get(key)
        if found is None:
            found = self._remember(key, self._param_findings(name, value, where, judged))
        out.extend(found)

    def _param_findings(
        self, name: str, value: str, where: str, judged: str | None = None, opens: bool = True
    ) -> list[Finding]:
        """The findings of one cookie or parameter (uncached: see :meth:`_param`).
        ``opens``: whether JSON or a page's address in the value is read field by field
        (not in a parameter of an address read so already: once)."""
        rule = self._param_rule(judged or name)
        worth = rule.worth
        found: list[Finding] = []
        if worth is not None and not worth(value) and not _carried_anchored(value, self._anchored):
            return found
        decoded = url_decode(value)
        if opens and decoded and rule.action != _CATALOG:
            if decoded[0] in "eW{[":
                # JSON in one parameter, wrapped in base64 (Mixpanel's data=) or not
                # (Amplitude's e=): its fields, where it is JSON.
                nested = self._json_value_findings(name, decoded, where)
                if nested is not None:
                    return nested
            elif "?" in decoded:
                carried = _carried_url(decoded)
                if carried is not None:
                    return self._url_value_findings(name, *carried, where, judged)
        if rule.action == _CATALOG and rule.entry is not None:
            self._catalog(name, decoded, where, rule.entry, found)
        else:
            self._emit(name, where, self._scanner.scan(decoded, rule.hint, Mode.PARAM), found)
        if decoded != value:
            # Findings quote what was sent; the decoded reading is in `normalized`.
            found = [_with_value(f, value) for f in found]
        return found

    def _url_value_findings(
        self, name: str, address: str, query: str, where: str, judged: str | None
    ) -> list[Finding]:
        """The findings in a page's address carried in the value of ``name`` (Google
        Analytics' dl=, "the full URL of the page"): the address without its query, as
        the value of ``name``; then each parameter of its query (at most
        :data:`_URL_PAIRS`) judged as a parameter, by its own name, and named by both
        (``dl → email``). Read once: a value in that query is not opened again."""
        found = self._param_findings(name, address, where, judged, opens=False)
        pairs = _query_pairs("?" + query)[:_URL_PAIRS]
        for inner, value in self._picked(pairs, opens=False):
            found += self._param_findings(f"{name} → {inner}", value, where, inner, opens=False)
        return found

    def _nested_json_findings(
        self, name: str, text: bytes, where: str, passed_over: frozenset[str] = frozenset()
    ) -> list[Finding] | None:
        """The findings in the fields of the JSON ``text`` that came in the value of
        ``name``, as it is or base64-wrapped (Amplitude's ``e=``, Mixpanel's and
        Segment's ``data=``, Snowplow's ``cx=``): each judged by its own key, as a JSON
        body's, and named by ``name`` and its path (``data.properties.$phone``); the
        top-level keys in ``passed_over`` are not read. ``None`` where ``text`` is not
        JSON: then the value is read as any other."""
        try:
            document = orjson.loads(text)
        except orjson.JSONDecodeError:
            return None
        found: list[Finding] = []
        if not self._json_may_matter(text):
            return found
        for path, key, value in _document_fields(document):
            if path in passed_over:
                continue
            if path == _WHOLE_BODY:
                path, key = name, name
            else:
                path = f"{name}.{path}"
            found.extend(self._param_findings(path, value, where, key))
        return found

    def _json_value_findings(self, name: str, text: str, where: str) -> list[Finding] | None:
        """The findings of a value that is JSON, plain, base64-wrapped or the claims of
        a JWT (:meth:`_nested_json_findings`; a JWT's registered claims passed over), or
        ``None`` for a value that is none of those."""
        if text[0] in "{[":
            if not _json_shaped(text):
                # Said without orjson's refusal, whose exception cost more than the
                # value's reading: Adobe's '[CS]v1|...[CE]', LivePerson's
                # '{INQ:{custID:...}}', '["BI_News"];type=...' (the recorded mix's
                # values that open like JSON are mostly none).
                return None
            return self._nested_json_findings(name, text.encode("utf-8", "surrogateescape"), where)
        raw = base64_json(text)
        if raw is not None:
            return self._nested_json_findings(name, raw, where)
        claims = jwt_claims(text) if text[0] == "e" else None
        if claims is None:
            return None
        return self._nested_json_findings(name, claims, where, _JWT_REGISTERED)

    def _header_json(self, name: str, value: str) -> list[Finding] | None:
        """The findings in a header value that is JSON, plain or base64-wrapped (an app's
        ``X-Device-Info: {"imei": ...}``), its fields judged by their keys and named
        ``X-Device-Info.imei``, as a JSON body's are (bare digits under a key that says
        nothing, or says order ID, do not count); ``None`` for a value that is not
        JSON, which is read as any other header's."""
        text = value.strip()
        if text[:10] in _BEARER_JWT:
            text = text[7:].strip()
        if not text or text[0] not in "{[eW":
            return None
        return self._json_value_findings(name, text, WHERE_HEADER)

    def _json_may_matter(self, text: bytes) -> bool:
        """:func:`_json_may_matter_py` of ``text``, in C where it was built."""
        answer = None if _idscan is None else _idscan.json_may_matter(text, self._anchors)
        return _json_may_matter_py(text, self._anchored) if answer is None else answer

    def _url_header(self, name: str, url: str, out: list[Finding], tested: bool = False) -> None:
        """Findings in the query of a URL-valued header, reported under the header's name;
        ``tested``: its query may matter (the first look's test, not made again)."""
        found: list[Finding] = []
        if tested or self._may_matter(url.partition("?")[2], "&"):
            self._query(url, WHERE_HEADER, found)
        for f in found:
            detail = f"parameter {f.name} · {f.detail}"
            out.append(
                Finding(
                    name, f.where, f.kind, f.value, f.normalized, f.detector, f.severity, detail
                )
            )

    def _catalog(
        self, name: str, value: str, where: str, entry: CatalogEntry, out: list[Finding]
    ) -> None:
        text = value.strip()
        if not text:
            return
        kind, severity = entry.kind, entry.severity
        if kind == "device_profile" and _UAPROF_SCHEMA.search(text):
            # The UAProf vocabulary's own address, which no handset's profile is (an
            # Android GPS-assistance client sends it): it names no model.
            detail = f"{entry.description} · the UAProf schema's own address, no handset's profile"
            out.append(Finding(name, where, "network_info", text, text, CATALOG, "info", detail))
            return
        if kind in IDENTITY_KINDS and is_placeholder(text):
            # "-", "unknown", "0", "***": the enrichment is there, the identity is not
            # (a gateway that had no number for this subscriber, or one masked it).
            detail = f"{entry.description} · placeholder value, no identity"
            out.append(Finding(name, where, "network_info", text, text, CATALOG, "info", detail))
            return
        if kind == "msisdn":
            phones = self._scanner.named_phones(text, force=True)
            for phone in phones:
                out.append(
                    Finding(
                        name,
                        where,
                        kind,
                        phone.value,
                        phone.normalized,
                        CATALOG,
                        severity,
                        phone.detail,
                    )
                )
            if not phones:
                # Operators often send an encrypted or aliased MSISDN under the same name.
                detail = "not a phone number: an encrypted or aliased MSISDN"
                out.append(
                    Finding(name, where, "subscriber_id", text, text, CATALOG, severity, detail)
                )
            return
        if kind in ("imei", "imsi"):
            hit = self._scanner.named_device(text, kind, force=True)
            if hit is not None:
                out.append(
                    Finding(name, where, kind, text, hit.normalized, CATALOG, severity, hit.detail)
                )
                return
            mobile = parse_strict(text.removeprefix("+")) if _PHONE_SHAPED.fullmatch(text) else None
            if mobile is not None:
                # Some sites read the subscriber's number out of an IMSI header (jpress's
                # RequestUtils takes the mobile from X-Imsi): a value that is no IMSI but a
                # valid mobile number in international digits is reported as what it is.
                detail = f"{mobile.detail} · phone number in an {kind.upper()} header"
                out.append(
                    Finding(name, where, "msisdn", text, mobile.e164, CATALOG, severity, detail)
                )
                return
            detail = f"{entry.description} (value is not {kind.upper()}-shaped)"
            out.append(Finding(name, where, kind, text, text, CATALOG, severity, detail))
            return
        number = _SUBNO_NUMBER.fullmatch(text) if kind == "subscriber_id" else None
        if number is not None:
            # Some operators put the MSISDN itself in a subscriber-ID header (Claro
            # Colombia's x-up-subno), or the MSISDN and "_gateway" (China Mobile's, as
            # jpress's RequestUtils and shaojiankui's phone.php read it): then it is
            # reported as what it is.
            hit = self._scanner.named_phone(number.group(1), force=True)
            if hit is not None:
                detail = f"{hit.detail} · phone number in a subscriber-ID header"
                out.append(
                    Finding(name, where, "msisdn", text, hit.normalized, CATALOG, severity, detail)
                )
                return
        if kind == "email":
            addresses = find_addresses(text)
            normalized = addresses[0].normalized if addresses else text
            out.append(
                Finding(name, where, kind, text, normalized, CATALOG, severity, entry.description)
            )
            return
        out.append(Finding(name, where, kind, text, text, CATALOG, severity, entry.description))
        if kind == "network_info" and self._numbers_inside(name, where, text, out):
            return
        if kind in INFO_KINDS and _worth_header(text):
            # Informational headers can carry identities (X-Network-Info: GPRS,<MSISDN>,...).
            self._emit(
                name, where, self._scanner.scan(text, NameHint(None, False), Mode.HEADER), out
            )

    def _numbers_inside(self, name: str, where: str, text: str, out: list[Finding]) -> bool:
        """Phone numbers among the fields of a network-information header
        (``GPRS,447700900123,unsecured``): the header is documented to carry the
        subscriber's number, so a field of 10-15 digits is read as one even where
        libphonenumber does not call it valid. True when one was found."""
        found = False
        for _, part in split_parts(text):
            if part.isdigit() and 10 <= len(part) <= 15:
                hit = self._scanner.named_phone(part, force=True)
                if hit is not None:
                    detail = f"{hit.detail} · inside network information"
                    out.append(
                        Finding(
                            name, where, "msisdn", part, hit.normalized, CATALOG, "high", detail
                        )
                    )
                    found = True
        return found

    @staticmethod
    def _emit(name: str, where: str, hits: list[ValueHit], out: list[Finding]) -> None:
        for hit in hits:
            out.append(
                Finding(
                    name,
                    where,
                    hit.kind,
                    hit.value,
                    hit.normalized,
                    hit.detector,
                    hit.severity,
                    hit.detail,
                )
            )

    # -- recurrence --------------------------------------------------------------

    def _classify_recurrence(self, name: str) -> str | None:
        """The key a name's tokens are counted under, or ``None`` when its values are
        not counted: catalog names (reported by name already), names the catalog calls
        benign, names whose values recur by design (CDN, cache, analytics keys), and
        names that say one request's, ad slot's, publisher's or app's value
        (:func:`~capture.identity.recurrence.scoped_name`)."""
        key = normalize_name(name)
        if (
            recurring.benign_name(key)
            or recurring.scoped_name(name)
            or key in self.catalog.benign
            or key == "cookie"
            or key in _URL_HEADERS
            or self.catalog.lookup(key) is not None
        ):
            return None
        return key

    def _counted(self, request: Request) -> Iterator[tuple[str, str, str, str]]:
        """``(key, where, name, value)`` of each field of ``request`` whose value the
        recurrence detector counts (the first
        :data:`~capture.identity.recurrence.MAX_PER_REQUEST`), ``key`` the name it is
        counted under. It reads the name rules' cache (an lru_cache, safe across
        threads) and nothing the tracker holds."""
        key_of = self._recurrence_key
        # Headers come first (_value_fields): a carrier's header is counted however
        # many values a page's query or body adds after it.
        left = recurring.MAX_PER_REQUEST
        for where, name, value in _value_fields(request):
            # A name past the bound is not looked up: each one would be cached, and
            # names are chosen by whoever sends the request.
            if len(value) < recurring.MIN_LENGTH or len(name) > recurring.MAX_NAME_LENGTH:
                continue
            key = key_of(name)
            if key == "id" and where == WHERE_BODY:
                continue  # a JSON document's own ID at its root (an OpenRTB bid request's)
            if key is not None and recurring.opaque(value):
                yield key, where, name, value
                left -= 1
                if not left:
                    return

    def _find_recurring(self, request: Request, out: list[Finding]) -> None:
        tracker = self._recurrence
        assert tracker is not None
        site = ""
        for key, where, name, value in self._counted(request):
            site = site or recurring.registrable_domain(request.destination)
            hit = tracker.observe(key, value, site)
            if hit is not None:
                out.append(
                    Finding(
                        name, where, "tracking_id", value, value, RECURRENCE, "medium", hit.detail
                    )
                )

    def recurring_values(self, request: Request) -> tuple[str, ...]:
        """The values of ``request`` the recurrence detector counts (opaque, under a
        name whose values it counts, the first 64): each one it may report as a ``tracking_id``, in
        this request or in any other, now or once it has reached more sites; none when
        it is off. Nothing is counted: ``--redact`` asks this to mask a token in the
        records written before it is found (:class:`capture.formats.redact.Redactor`)."""
        return tuple(value for _, _, _, value in self.recurring_fields(request))

    def recurring_fields(self, request: Request) -> tuple[tuple[str, str, str, str], ...]:
        """``(key, where, name, value)`` of each field of ``request`` whose value the
        recurrence detector counts (:meth:`recurring_values`), ``key`` the name it is
        counted under; none when it is off. Nothing is counted: the dashboard asks
        this to give a token's finding to the requests that took it to its first
        sites (:class:`capture.view.recurring.Backfill`)."""
        if self._recurrence is None:
            return ()
        # Asked from the thread that writes (reflect's writer, a dashboard export) or
        # the UI's while detect runs in another: _counted touches no tracker state.
        return tuple(self._counted(request))

    # -- canaries ----------------------------------------------------------------

    def _could_hold(self, text: str) -> bool:
        """Cheap canary test, cached: header values repeat from request to request."""
        cache = self._canary_cache
        answer = cache.get(text)
        if answer is None:
            answer = _keep(cache, text, self._canaries.could_match(text))
        return answer

    def _could_hold_canary(self, request: Request) -> bool:
        """False when no canary can be in ``request``'s header values, body or target
        (as sent, and the target percent-decoded), tested together
        (:meth:`~capture.identity.canary.CanaryMatcher.could_match_any`).

        A field :meth:`~capture.identity.canary.CanaryMatcher.find` finds a canary
        in is one of those texts or a part of one cut at a character that is no
        letter or digit (a cookie's value, the path, a parameter's value, as sent or,
        for the target's, decoded), so this is then true: it is asked only for the
        fields that are not (cookie and form values percent-decoded), whose canaries
        are reported only when it says yes."""
        texts = [value for _, value in request.headers]
        if request.body:
            texts.append(request.body.decode("utf-8", "surrogateescape"))
        uri = request.uri
        if uri:
            # The target is also tested percent-decoded: so it comes last.
            texts.append(uri)
        return bool(texts) and self._canaries.could_match_any(texts, decode_last=bool(uri))

    def _find_canaries(self, request: Request, out: list[Finding], first: bool | None) -> None:
        """The canaries in ``request``. First every canary's every form is looked for at
        once, in one pass in C over the request's bytes
        (:meth:`~capture.identity.canary.CanaryMatcher.could_be_in`), which lets
        through nearly only requests with a canary; then only the fields that hold
        one of those forms are searched, cut out in one C call where it was built
        (``_idscan.canary_fields``; :func:`_canary_fields`, the reference, where not,
        and for what it leaves to Python). Where that test is not made, the exact test
        (:meth:`_could_hold_canary`) comes first, as it did before. ``first`` is what
        that one pass said (:meth:`detect` makes it: None when it was not made)."""
        matcher = self._canaries
        if first is False:
            return
        exact: bool | None = None
        if first is None:
            # Not tested (too many canaries, wide characters): the exact test first,
            # as it is cheaper than searching every field.
            exact = self._could_hold_canary(request)
            if not exact:
                return
        fields: Iterable[tuple[str, str, str, bool]] | None = None
        needles = self._needles
        if needles is not None:
            # _canary_fields's walk in one C call, in a sixth of its instructions on
            # the ad mix (needles is set only where _idscan was built).
            fields = _idscan.canary_fields(needles, request.headers, request.uri, request.body)
        if fields is None:
            fields = _canary_fields(request, matcher.may_hold)
        cache = self._canary_found
        raw = ""
        for field in fields:
            # A request that holds a canary nearly always sends it as another did: its
            # findings are a look-up, not a search and new findings (the search and the
            # findings were three quarters of the canaries' cost on the one-phone ad mix).
            found = cache.get(field)
            if found is None:
                found = _keep(cache, field, self._field_canaries(*field[:3]))
            if not found:
                raw = field[2]
                continue
            if field[3]:
                # A percent-decoded cookie or form value, the one field that is neither
                # a text of the exact test nor a part of one: its canaries are reported
                # only when that test says yes. The value as sent comes just before it
                # (the order of _canary_fields) and is part of a text of that test, cut
                # at characters that are no letter or digit: where it could hold a
                # canary, so could the request, at the cost of a cached look-up.
                if exact is None:
                    exact = self._could_hold(raw) or self._could_hold_canary(request)
                if not exact:
                    continue
            if field[1] == _WHOLE_BODY and request.body:
                # A body that is not a form is searched whole; a JSON one's field that
                # holds the canary is named by its path, as its identities are.
                found = _named_by_path(self._json_body_fields(request), found)
            raw = field[2]
            out.extend(found)

    def _json_body_fields(self, request: Request) -> list[tuple[str, str, str]]:
        """:func:`_json_fields` of ``request``'s body where it is JSON (as
        :func:`_body_kind` says), else none: the fields :meth:`_json` read from that very
        body, where it did (one parse of the document, not two)."""
        body = request.body
        if not body or _body_kind(request.headers, body) != _JSON:
            return []
        read = self._json_read
        return read[1] if read is not None and read[0] is body else _json_fields(body)

    def _field_canaries(self, where: str, name: str, text: str) -> tuple[Finding, ...]:
        """The canary findings of one field (:meth:`_find_canaries`), named ``name``;
        none for a header value that the cheap test turns down."""
        if where == WHERE_HEADER and not self._could_hold(text):
            return ()
        return tuple(
            _new_finding(
                name,
                where,
                CANARY,
                hit.text,
                hit.canary.canonical,
                CANARY,
                "high",
                hit.description,
            )
            for hit in self._canaries.find(text)
        )


def _named_by_path(
    fields: list[tuple[str, str, str]], found: tuple[Finding, ...]
) -> tuple[Finding, ...]:
    """``found`` (a whole body's canary findings) named by the path of each of the
    body's JSON ``fields`` (:func:`_json_fields`) that holds its value, one finding a
    path; as they are where none does (a body that is not JSON, a value split by an
    escape or in a key)."""
    named: list[Finding] = []
    for finding in found:
        text = finding.value
        paths = tuple(path for path, _, value in fields if text in value)
        if not paths:
            named.append(finding)
            continue
        named.extend(replace(finding, name=path) for path in paths)
    return tuple(named)


def _triage_py(
    headers: Iterable[tuple[str, str]],
    kinds: dict[str, int],
    may_matter: Callable[[str, str], bool],
) -> list[tuple[str, str]]:
    """The headers :meth:`IdentityDetector.detect` must look at, in order (the
    reference of ``_idscan.request``'s triage, which answers the same where every
    Cookie header and URL-valued header is ASCII, and keeps one that is not).
    ``kinds`` maps a name as sent to its rule's action: a header is dropped when its
    name is skipped, when it is a Cookie header no pair of which may matter, or a
    URL-valued one without a query or with a query no pair of which may matter (a
    Referer, as the target's); a name not in ``kinds`` is kept (detect classifies it)."""
    kept = []
    for pair in headers:
        name, value = pair
        kind = kinds.get(name)
        if kind == _SKIP:
            continue
        if kind == _COOKIE and not may_matter(value, ";"):
            continue
        if kind == _URL and ("?" not in value or not may_matter(value.partition("?")[2], "&")):
            continue
        kept.append(pair)
    return kept


def _picked_py(
    pairs: Iterable[tuple[str, str]],
    anchored: Callable[[str], bool],
    opens: bool = True,
    plain: Container[str] = frozenset(),
) -> list[tuple[str, str]]:
    """The pairs :meth:`IdentityDetector._params` looks at, in order (the reference of
    ``_idscan.pick``): a value that could hold an identity (:func:`_worth_param`), or
    a name with an anchor word (``anchored``: then it may have a hint or a catalog
    entry). An opaque token that only starts like base64-wrapped digits counts only
    under such a name: its one part is itself, and only base64_digits could read it
    (values.ValueScanner._part). Where the pairs' JSON is opened (``opens``; see
    :meth:`IdentityDetector._param_findings`), neither does JSON with nothing to find
    in it (:func:`_json_fruitless`). A value that carries a query (a page's address
    under dl=) counts where one of that query's names has an anchor word
    (:func:`_carried_names`). A name in ``plain`` (known to have neither a hint nor
    a catalog entry: :attr:`IdentityDetector._plain`) is taken as one without an
    anchor word."""

    def named(name: str) -> bool:
        return anchored(name) and name not in plain

    picked = []
    for pair in pairs:
        name, value = pair
        if _worth_param(value):
            if (
                value[0] in "KMNO"
                and _B64URL_RUN.fullmatch(value)
                and not base64_shaped(value)
                and not named(name)
            ):
                continue
            if opens and value[0] in "{[%" and not named(name) and _json_fruitless(value, anchored):
                continue
            picked.append(pair)
        elif named(name) or _carried_anchored(value, anchored):
            picked.append(pair)
    return picked


def _request_py(
    headers: Sequence[tuple[str, str]],
    kinds: dict[str, int],
    may_matter: Callable[[str, str], bool],
    anchored: Callable[[str], bool],
    uri: str | None,
    needles: tuple[str, ...] | None,
    body: bytes | None,
) -> tuple[list[tuple[str, str]], bool, bool | None, str | bool] | None:
    """The first look :meth:`IdentityDetector.detect` takes at a request (the reference
    of ``_idscan.request``, which answers the same where the Cookie headers and the
    target are ASCII and no header value nor the target has a character past U+00FF;
    else it leaves the query or the needles to Python, None, and keeps a Cookie header
    that is not ASCII; and where a form or JSON body and the Content-Type values are
    ASCII, else the body's look is None). ``(kept, query, first, look)``: the headers
    :func:`_triage_py` keeps; whether the query (after the target's first "?") may
    matter (``may_matter``, "&"), False without one; whether a needle is in the
    request (:func:`~capture.identity.canary._needles_py`), None without ``needles``;
    how the body is to be read (:func:`_body_look_py`). None instead when nothing is
    kept, no query may matter, no needle was found or looked for, and the body needs no
    look."""
    kept = _triage_py(headers, kinds, may_matter)
    query = bool(uri and "?" in uri and may_matter(uri.partition("?")[2], "&"))
    first = None if needles is None else canaries._needles_py(needles, headers, body or b"", uri)
    look = _body_look_py(headers, body or b"", may_matter, anchored)
    if not kept and not query and not first and not look:
        return None
    return kept, query, first, look


def _body_look_py(
    headers: Sequence[tuple[str, str]],
    body: bytes,
    may_matter: Callable[[str, str], bool],
    anchored: Callable[[str], bool],
) -> str | bool:
    """How :meth:`IdentityDetector.detect` reads ``body``: as a form (:data:`_FORM`), as
    JSON (:data:`_JSON`), as a multipart form or XML (:data:`_MULTIPART`, :data:`_XML`,
    rare: always read), or not at all (False): none of those (:func:`_body_kind`), or a
    form whose text ``may_matter`` turns down ("&", as the target's query), or JSON
    :func:`_json_may_matter_py` turns down. Both tests may say yes wrongly, never no
    wrongly: then the fields are read and picked one by one."""
    kind = _body_kind(headers, body) if body else None
    if kind == _FORM:
        return _FORM if may_matter(body.decode("utf-8", "surrogateescape"), "&") else False
    if kind == _JSON:
        return _JSON if _json_may_matter_py(body, anchored) else False
    if kind in (_MULTIPART, _XML):
        return kind
    return False


# A token of a JSON text: a string (no '"' inside; a text with a backslash is not
# tested) and the ':' that makes it a key, or a number. Compiled on first use: only
# the reference of _idscan.c (_json_may_matter_py) searches with it.
@cache
def _json_tokens() -> re.Pattern[str]:
    return re.compile(r'"([^"]*)"(\s*:)?|(-?[0-9][0-9.eE+-]*)')


def _json_shaped(text: str) -> bool:
    """Could ``text``, which opens with ``{`` or ``[``, be JSON? False where its first
    token or its last character says it is not (RFC 8259: an object's first token is
    a string or its end, a list's a value or its end, and each ends as it opened),
    which is where orjson would refuse it."""
    body = text.strip(_JSON_SPACE)
    if body[-1] != ("}" if body[0] == "{" else "]"):
        return False
    first = body[1:].lstrip(_JSON_SPACE)[:1]
    return first in ('"', "}") if body[0] == "{" else first in _JSON_LIST_FIRST


_JSON_LIST_FIRST = frozenset('"-0123456789{[tfn]')


def _json_fruitless(value: str, anchored: Callable[[str], bool]) -> bool:
    """Does :meth:`IdentityDetector._param_findings`, opening ``value`` under a name
    without an anchor word, find nothing in it: JSON of an object or list, plain or
    percent-encoded, that orjson reads, none of whose fields may matter
    (:func:`_json_may_matter_py`, the items of a list at its top judged as values, as
    under that name they are)? The reference of ``_idscan``'s ``json_fruitless``
    (``pick`` passes such a pair over)."""
    decoded = url_decode(value)
    if decoded[:1] not in ("{", "["):
        return False
    text = decoded.encode("utf-8", "surrogateescape")
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        return False  # read as a value: _param_findings scans it
    return not _json_may_matter_py(text, anchored, lists=True)


def _json_may_matter_py(body: bytes, anchored: Callable[[str], bool], lists: bool = False) -> bool:
    """Could a field of the JSON ``body`` be one :meth:`IdentityDetector._json` looks
    at: a key with an anchor word (``anchored``), or a value :func:`_picked_py` would
    take under a name without one (a string that carries a query whose names have one,
    :func:`_carried_names`, among them)? The reference of ``_idscan``'s
    ``json_may_matter``.
    Each token of the text (:func:`_json_tokens`, from the left) is tested: a string
    followed by ":" is a key, any other string or a number a value. Yes for a body with
    a backslash (an escape may hide a word or an "@") or one that is not an object. It
    may say yes wrongly (a key whose value is an object, a float), never no wrongly:
    every field :func:`_json_fields` gives is a value token under its key's token (a
    list's items under the list's key). ``lists``: a list too is read so (its items
    at the top are then values: those of a parameter under a name without an anchor
    word, :func:`_json_fruitless`)."""
    if b"\\" in body or body.lstrip()[:1] not in ((b"{", b"[") if lists else (b"{",)):
        return True
    text = body.decode("utf-8", "surrogateescape")
    for match in _json_tokens().finditer(text):
        string, colon, number = match.groups()
        if colon is not None:
            if anchored(string):
                return True
        elif _picked_py([("", number if string is None else string)], _never, opens=False):
            return True
        elif string is not None and _carried_anchored(string, anchored):
            return True  # a page's address whose query names an identity
    return False


def _never(name: str) -> bool:
    """No name has an anchor word (a value judged alone)."""
    return False


_K = TypeVar("_K")
_V = TypeVar("_V")


def _key_size(key: object) -> int:
    """Characters of a cache's key: a text, or a tuple of texts and flags (where, name,
    value...)."""
    if isinstance(key, str):
        return len(key)
    return sum(len(part) for part in key if isinstance(part, str)) if isinstance(key, tuple) else 0


def _keep(cache: dict[_K, _V], key: _K, value: _V) -> _V:
    """``value`` kept in ``cache`` under ``key``, and returned. The keys are values from
    the network, chosen by whoever sends them, so a full cache (:data:`_VALUE_CACHE_LIMIT`)
    is emptied rather than grown: at worst each value costs its tests again; and a key
    longer than :data:`_KEPT_FIELD_CHARS` is not kept at all."""
    if _key_size(key) > _KEPT_FIELD_CHARS:
        return value
    if len(cache) >= _VALUE_CACHE_LIMIT:
        cache.clear()
    cache[key] = value
    return value


def _with_value(finding: Finding, value: str) -> Finding:
    """``finding`` quoting ``value`` (``dataclasses.replace`` costs several times more)."""
    f = finding
    return Finding(f.name, f.where, f.kind, value, f.normalized, f.detector, f.severity, f.detail)


def _cookie_pairs(header: str) -> Iterator[tuple[str, str]]:
    for pair in header.split(";"):
        name, sep, value = pair.partition("=")
        name = name.strip()
        value = value.strip().strip('"')
        if sep and name and value:
            yield name, value


def _query_pairs(uri: str) -> list[tuple[str, str]]:
    """``(name, raw value)`` of each parameter after the ``?``; names are decoded. The
    parameters are cut at each "&" and then at the first "="; both sides non-empty,
    the value may hold "=". (A split and a partition a parameter: a regex findall of
    the pairs, tried at every character of the query, cost seven times as much.)"""
    query = uri.partition("?")[2]
    if "#" in query:
        query = query.partition("#")[0]
    pairs: list[tuple[str, str]] = []
    append = pairs.append
    for piece in query.split("&"):
        name, _, value = piece.partition("=")
        if name and value:
            append((name, value))
    if "%" in query or "+" in query:
        pairs = [
            (url_decode(name.replace("+", " ")), value)
            if "%" in name or "+" in name
            else (name, value)
            for name, value in pairs
        ]
    return pairs


def _is_form(request: Request) -> bool:
    return _body_kind(request.headers, b"") == _FORM


_FORM = "form"
_JSON = "json"
_MULTIPART = "multipart"
_XML = "xml"


def _body_kind(headers: Sequence[tuple[str, str]], body: bytes) -> str | None:
    """:data:`_FORM` for a form-encoded body, :data:`_JSON` for JSON (said so by its
    Content-Type, or starting with ``{`` or ``[`` under any other: ``sendBeacon``
    posts JSON as text/plain), :data:`_MULTIPART` for ``multipart/form-data``,
    :data:`_XML` for a Content-Type that names XML, ``None`` for anything else. Where
    two Content-Type headers disagree a form wins, then JSON, then multipart."""
    kind = None
    # One pass, each name's length first: Request.header_values lower-cases every name,
    # and a third of an ad capture's requests come with a body.
    for name, value in headers:
        if len(name) == 12 and name.lower() == "content-type":
            text = value.lower()
            if text.startswith("application/x-www-form-urlencoded"):
                return _FORM
            if "json" in text:
                kind = _JSON
            elif kind != _JSON:
                if text.startswith("multipart/form-data"):
                    kind = _MULTIPART
                elif kind is None and "xml" in text:
                    kind = _XML
    if kind is None and body.lstrip()[:1] in (b"{", b"["):
        kind = _JSON
    return kind


def _markup_pairs(
    kind: str, headers: Sequence[tuple[str, str]], body: bytes
) -> list[tuple[str, str]]:
    """The fields of a multipart (:data:`_MULTIPART`, split at the boundary its
    Content-Type names) or XML (:data:`_XML`) body: :mod:`capture.identity.bodies`."""
    if kind == _XML:
        return bodies.xml_fields(body)
    for name, value in headers:
        if name.lower() == "content-type" and value.lower().startswith("multipart/form-data"):
            boundary = bodies.boundary(value)
            if boundary:
                return bodies.multipart_fields(body, boundary)
    return []


_WHOLE_BODY = "(body)"
"""The name of a body taken whole: searched whole for canaries (``_idscan.canary_fields``
names it so too), or a JSON document that is one value (:func:`_json_fields`)."""

_JSON_LEAVES = 4096
"""Values taken from one JSON body at most, in document order. A body is bounded (64
KiB kept), which holds up to ~32,000 (a list of one-digit numbers). 512, the bound
until 7 December, cut an analytics batch (Segment's, 60 events of 11 values) before
the identities of its last event; a 64 KiB batch of such events holds ~4,000. Each
value read costs what its reading costs: 4,096 distinct phone numbers (an uploaded
address book), ~0.2 s."""


def _json_fields(body: bytes) -> list[tuple[str, str, str]]:
    """The strings and integers of a JSON body, in document order, as ``(path, key,
    value)``: the path of keys that leads to the value (``user.phone``; a list adds
    nothing to it) and the name it is judged by, the last of them (``phone``;
    ``(body)`` for a document that is one value), or for a generic key in an object
    named for the device, the object's key and it (``device.id``:
    :func:`~capture.identity.names.field_name`). What an app's SDK POSTs, read as a
    form's fields are. Empty for a body that is not JSON (or is cut: only the first 64
    KiB are kept)."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return []
    return _document_fields(document)


def _document_fields(document: object) -> list[tuple[str, str, str]]:
    """:func:`_json_fields` of a document parsed already."""
    fields: list[tuple[str, str, str]] = []
    if type(document) is dict and len(document) <= _JSON_LEAVES:
        # Most beacons: one object of strings and numbers, taken in one loop.
        for key, value in document.items():
            kind = type(value)
            if kind is str:
                fields.append((key, key, value))
            elif kind is int:
                fields.append((key, key, str(value)))
            elif kind is not float and kind is not bool and value is not None:
                break  # an object or a list inside: the walk below
        else:
            return fields
        fields = []
    # Walked with a stack, not by recursion: a body may nest as deep as orjson allows.
    stack: list[tuple[str, str, object]] = [(_WHOLE_BODY, _WHOLE_BODY, document)]
    while stack and len(fields) < _JSON_LEAVES:
        path, key, node = stack.pop()
        if isinstance(node, dict):
            if path == _WHOLE_BODY:
                stack += reversed([(k, k, v) for k, v in node.items()])
            else:
                # A generic key ("id") is judged with its object's (Bugsnag's device.id).
                inner = path + "."
                stack += reversed([(inner + k, field_name(key, k), v) for k, v in node.items()])
        elif isinstance(node, list):
            stack += reversed([(path, key, v) for v in node])
        elif isinstance(node, str):
            fields.append((path, key, node))
        elif type(node) is int:  # not a bool; a float is no identifier's form
            fields.append((path, key, str(node)))
    return fields


def _body_pairs(request: Request) -> list[tuple[str, str]]:
    """The fields of a request body that is a form or JSON (:func:`_body_kind`)."""
    body = request.body
    if not body:
        return []
    kind = _body_kind(request.headers, body)
    if kind == _FORM:
        return _form_pairs(body)
    if kind == _JSON:
        return [(path, value) for path, _, value in _json_fields(body)]
    if kind in (_MULTIPART, _XML):
        return _markup_pairs(kind, request.headers, body)
    return []


def _form_query(body: bytes) -> str:
    """A form body as the query string of a target (``?`` and the fields)."""
    return "?" + body.decode("utf-8", "surrogateescape")


def _form_pairs(body: bytes) -> list[tuple[str, str]]:
    return _query_pairs(_form_query(body))


# A URI scheme whose ":" is percent-encoded (tel%3A, Sip%3a, SIPS%3A).
_URI_PCT = re.compile(r"(?:tel|sips?)%3", re.IGNORECASE)
# The values of a Cookie header or a query string, cut out to leave the names for the
# whole-string test: one substitution in C, found fast by its leading literal.
_COOKIE_VALUES = re.compile(r"=[^;]*")
_QUERY_VALUES = re.compile(r"=[^&]*")


# A JSON text percent-encoded starts so ("{" or "[", in either case).
_JSON_START_PCT = frozenset({"%7B", "%7b", "%5B", "%5b"})


# A value that starts like hex-wrapped digits, or is shaped like base64-wrapped digits
# (encodings.base64_shaped: the only such values _params looks at), or starts like
# base64-wrapped JSON (encodings.B64_JSON_HEAD) or like JSON, plain or percent-encoded
# (_JSON_START_PCT), anywhere in a cookie header or query
# string: after "=", to the end of the value. The lookahead
# keeps the 10 characters the test asked for before it took the shape. Compiled on
# first use: only the reference of _idscan.c (:meth:`_may_matter_py`) searches with it.
@cache
def _wrapped_value() -> re.Pattern[str]:
    return re.compile(
        r"=\s*\"?(?:(?:2[bB])?(?:3[0-9]){7}|(?=[KMNO][A-Za-z0-9+/_-]{9})"
        + B64_DIGITS_BODY
        + r"(?:=|%3[dD]){0,2}\"?(?:[;&\s]|$)|"
        # Four characters, as _idscan.c's b64_json_start wants (a base64 JSON value is
        # 16 characters at least: B64_JSON_MIN).
        + B64_JSON_HEAD
        + r"|[{\[]|%[57][bB])"
    )


# A value of base64url characters only: split_parts gives it whole, as one part.
_B64URL_RUN = re.compile(r"[A-Za-z0-9_-]+")


def _anchored_py(name: str, anchors: tuple[str, ...]) -> bool:
    """Does ``name``, lower-cased, contain one of ``anchors``? (The reference of
    ``_idscan.anchored``.)"""
    lowered = name.lower()
    # A plain loop: any() over a generator costs a third more on this hot path.
    for anchor in anchors:  # noqa: SIM110
        if anchor in lowered:
            return True
    return False


# The query a value may carry: a page's address under Google Analytics' dl= and dr=
# ("the full URL (document location) of the page", percent-encoded:
# dl=http%3A%2F%2Ffoo.com%2Fhome%3Fa%3Db), a tag's url=, u= or ref=. Its marks, as sent
# or percent-encoded once: the "?" that starts it, the "&" between its pairs, the "="
# in each.
_CARRIED_QUERY = re.compile(r"\?|%3[fF]")
_CARRIED_PAIRS = re.compile(r"&|%26")
_CARRIED_NAME_END = re.compile(r"=|%3[dD]")


def _carried_names(value: str) -> list[str]:
    """The names of the query ``value`` may carry, as sent: after its first "?" or
    "%3F", each piece between "&" or "%26" up to its first "=" or "%3D" (empty for a
    value with no "?" nor "%3F"). What the first looks (``_idscan``'s ``may_matter``,
    ``pick`` and ``json_may_matter``, ``carried_anchored``) read of a value besides its
    own tests: a value that carries ``email=`` or ``msisdn=`` in a page's address is
    worth a look, whatever the parameter's own name."""
    mark = _CARRIED_QUERY.search(value)
    if mark is None:
        return []
    pieces = _CARRIED_PAIRS.split(value[mark.end() :])
    return [_CARRIED_NAME_END.split(piece, 1)[0] for piece in pieces]


_URL_PAIRS = 512
"""Parameters read from the query of one page's address carried in a value at most
(as :data:`_JSON_LEAVES` for a JSON body): the value is bounded (a head, a body's
first 64 KiB kept), and this bounds the findings it can give."""


def _carried_url(text: str) -> tuple[str, str] | None:
    """``(address, query)`` of ``text`` where it is an absolute http or https URL with a
    query (a page's address carried in a parameter, decoded once): the address without
    its query (its fragment kept), and the query; ``None`` for any other value, and for
    one whose first "?" is in its fragment (RFC 3986 §3.5: a fragment may hold "?")."""
    if text[:8].lower().startswith(("http://", "https://")):
        address, mark, rest = text.partition("?")
        if mark and "#" not in address:
            query, hash_, fragment = rest.partition("#")
            return address + hash_ + fragment, query
    return None


def _carried_anchored(value: str, anchored: Callable[[str], bool]) -> bool:
    """Does a name of the query ``value`` may carry (:func:`_carried_names`) hold an
    anchor word (``anchored``)?"""
    if "?" not in value and "%3" not in value:
        return False
    for name in _carried_names(value):  # noqa: SIM110 (as _anchored_py)
        if anchored(name):
            return True
    return False


def _name_anchors(catalog: Catalog) -> tuple[str, ...]:
    """Lower-case words of which every name with a hint (``names.HINT_ANCHORS``) or
    an identity entry in ``catalog`` contains one, in any spelling: for a catalog
    entry, the longest word of its normalised name ("x-up-subno" gives "subno")."""
    words = set(HINT_ANCHORS)
    # Each key normalised once (a property, computed per use): this was most of
    # building a detector. Plain loops: any() over a generator costs twice as much,
    # and these run some 5,000 times a detector.
    for key in sorted(entry.key for entry in catalog.entries if entry.is_identity):
        for word in words:
            if word in key:
                break
        else:
            words.add(max(key.split("-"), key=len))
    # A word that contains another is never needed ("subno" has "sub"); the fewer
    # words, the cheaper the test. Only a shorter word can be inside one, so shortest
    # first, each is tested against those kept before it (a word dropped contains a
    # kept one, which is then inside any word that contains the dropped one).
    kept: list[str] = []
    for word in sorted(words, key=lambda word: (len(word), word)):
        for shorter in kept:
            if shorter in word:
                break
        else:
            kept.append(word)
    # The test blanks out runs of 6+ hex digits: a word must not be one (or fit in one).
    for word in kept:
        bare = word.replace("-", "").replace("_", "").replace(".", "")
        if bare and not bare.strip("0123456789abcdef"):
            raise ValueError(f"catalog name word {word!r} is all hex digits")
    return tuple(kept)


def _canary_fields(
    request: Request, holds: Callable[[str | bytes], bool] | None = None
) -> Iterator[tuple[str, str, str, bool]]:
    """``(where, name, text, unseen)`` for every place a canary is looked for;
    ``unseen`` marks the texts that are not among those of
    :meth:`IdentityDetector._could_hold_canary` nor a part of one (cookie and form
    values percent-decoded). With ``holds``, only where it says one could be (as sent
    or percent-decoded: :meth:`~capture.identity.canary.CanaryMatcher.may_hold`): a
    header value, target or body it turns down is not cut into its parts, and of the
    parts of one it lets through, only those it lets through are given. (With
    ``may_hold``, the reference ``_idscan.canary_fields`` is held to.)"""
    for name, value in request.headers:
        if holds is not None and not holds(value):
            continue
        if name.lower() == "cookie":
            for cookie, cookie_value in _cookie_pairs(value):
                if holds is None or holds(cookie_value):
                    yield WHERE_COOKIE, cookie, cookie_value, False
                    if "%" in cookie_value:
                        yield WHERE_COOKIE, cookie, url_decode(cookie_value), True
        else:
            yield WHERE_HEADER, name, value, False
    uri = request.uri
    if uri and (holds is None or holds(uri)):
        path = uri.split("?", 1)[0]
        # The path has no parameter name; "(path)" says where it was.
        if holds is None or holds(path):
            yield WHERE_QUERY, "(path)", path, False
        if "?" in uri:
            for param, value in _query_pairs(uri):
                if holds is None or holds(value):
                    yield WHERE_QUERY, param, value, False
                    if "%" in value:
                        yield WHERE_QUERY, param, url_decode(value), False
    if request.body and (holds is None or holds(request.body)):
        if _is_form(request):
            for param, value in _form_pairs(request.body):
                if holds is None or holds(value):
                    yield WHERE_BODY, param, value, False
                    if "%" in value:
                        yield WHERE_BODY, param, url_decode(value), True
        else:
            yield WHERE_BODY, _WHOLE_BODY, request.body.decode("utf-8", "surrogateescape"), False


def _value_fields(request: Request) -> Iterator[tuple[str, str, str]]:
    """``(where, name, value)`` of every header, cookie, query parameter and form or
    JSON body field (:func:`_body_pairs`), as sent."""
    for name, value in request.headers:
        if name.lower() == "cookie":
            for cookie, cookie_value in _cookie_pairs(value):
                yield WHERE_COOKIE, cookie, cookie_value
        else:
            yield WHERE_HEADER, name, value
    uri = request.uri
    if uri and "?" in uri:
        for param, value in _query_pairs(uri):
            yield WHERE_QUERY, param, value
    for param, value in _body_pairs(request):
        yield WHERE_BODY, param, value


def with_carried(found: tuple[Finding, ...], carried: tuple[Finding, ...]) -> tuple[Finding, ...]:
    """``found`` with the findings a record file carried over
    (:attr:`capture.model.Parsed.carried`: those in a body the file does not keep,
    and recurrence's) where :meth:`IdentityDetector.detect` puts them: its value
    detectors' findings come first, then the canaries', then recurrence's, and in
    each the body's come last. A record read back then lists its findings in the
    order of the scan that wrote it. A carried finding that ``found`` holds again
    (a token this run saw reach its sites too) is left out: it is the same one,
    unless the file's names more sites than this run saw (a file of the later
    requests only): then the file's stays and this run's goes."""
    wider = {_finding_key(f): f for f in carried if f.detector == RECURRENCE}
    if wider:
        found = tuple(
            f
            for f in found
            if f.detector != RECURRENCE
            or (held := wider.get(_finding_key(f))) is None
            or _sites(held) <= _sites(f)
        )
    return tuple(sorted(found + not_held(carried, found), key=_detector_rank))


def _finding_key(finding: Finding) -> tuple[str, str, str, str, str]:
    """What makes two findings the same one: where, name, kind, normalized value and
    detector (:func:`_dedupe` keeps it inline, on the hot path)."""
    return (finding.where, finding.name, finding.kind, finding.normalized, finding.detector)


_SITES_SAID = re.compile(r"sent to ([0-9]+) sites")


def _sites(finding: Finding) -> int:
    """How many sites a recurrence finding's detail says its token reached (0: none
    said, a detail written otherwise)."""
    said = _SITES_SAID.search(finding.detail)
    return int(said.group(1)) if said else 0


def not_held(findings: tuple[Finding, ...], held: tuple[Finding, ...]) -> tuple[Finding, ...]:
    """Of ``findings``, those of the recurrence detector or the canaries whose where,
    name, kind, normalized value and detector none of ``held`` has, and all the
    others: such a finding a record file carried is kept only where the run does not
    find it again (:func:`with_carried`)."""
    if not held or not any(f.detector in _OPTIONS_FOUND for f in findings):
        return findings
    keys = {_finding_key(f) for f in held}
    return tuple(
        f for f in findings if f.detector not in _OPTIONS_FOUND or _finding_key(f) not in keys
    )


_OPTIONS_FOUND = (RECURRENCE, CANARY)
"""The detectors whose findings a record file carries over (:func:`carried_findings
<capture.formats.jsonl.carried_findings>`): they depend on the run's options."""


def beyond_written(found: tuple[Finding, ...], written: tuple[Finding, ...]) -> tuple[Finding, ...]:
    """Of ``found`` (the detector's findings in a redacted record read back), those of
    the canaries and recurrence that ``written`` (its findings as the file has them:
    :attr:`capture.model.Parsed.as_written`) does not hold. Those are the run's own
    options, looked for in what the redaction left; the value detectors' findings are
    the file's (found again, they would read its masks as opaque subscriber IDs)."""
    added = [f for f in found if f.detector == CANARY or f.detector == RECURRENCE]
    if not added:
        return ()
    held = {_finding_key(f) for f in written}
    return tuple(f for f in added if _finding_key(f) not in held)


def _detector_rank(finding: Finding) -> int:
    """The place of a finding's detector in :meth:`IdentityDetector.detect`'s order."""
    detector = finding.detector
    return 1 if detector == CANARY else 2 if detector == RECURRENCE else 0


def _dedupe(findings: list[Finding]) -> tuple[Finding, ...]:
    """``findings`` without those whose where, name, kind, normalized value and
    detector an earlier one has, in order."""
    if len(findings) == 2 and findings[0].detector != findings[1].detector:
        # Two findings of different detectors share no key. Most requests with more
        # than one finding are such (a canary and the number a value detector or the
        # catalog read: 851 of 1,108 on the ad mix), and the set and keys cost some
        # 5,000 instructions.
        return tuple(findings)
    seen: set[tuple[str, str, str, str, str]] = set()
    kept = []
    for finding in findings:
        key = (finding.where, finding.name, finding.kind, finding.normalized, finding.detector)
        if key not in seen:
            seen.add(key)
            kept.append(finding)
    return tuple(kept)
