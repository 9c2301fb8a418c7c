"""Supercookies found by recurrence: one opaque token, unchanged, at many unrelated sites.

A carrier "supercookie" (Verizon's X-UIDH, AT&T's x-acr) is one token that the
network adds to every request of a subscriber, whatever the site. No catalog can
list every name an operator or an SDK may choose, and ReCon (Ren et al., MobiSys
2016) found such leaks with a trained classifier. This module needs no training:
a value that

* is opaque: at least :data:`MIN_LENGTH` characters of a token alphabet, with
  high character entropy (not a word, a version, a date, an address, an ad unit's
  path or a slot's name: :func:`opaque`);
* travels under the same name (header, cookie or parameter, normalised);
* reaches at least ``sites`` distinct registrable domains (``a.example.co.uk`` and
  ``b.example.co.uk`` are one site: ``example.co.uk``);
* and is not carried under a name that recurs by design (CDN, cache, analytics,
  campaign and API keys: :data:`BENIGN_NAMES`, and names with a word of
  :data:`BENIGN_WORDS`), nor under one that says one request's, ad slot's,
  publisher's or app's value (:func:`scoped_name`: what a page's header bidding
  sends every exchange),

is reported as a ``tracking_id`` with detector ``recurrence`` and the sites it
reached. Memory is bounded: the tokens live in a segmented LRU of ``capacity``
entries, those seen at one site on probation and those seen at two or more
protected (up to half of ``capacity``), so that a flood of values seen once (a page's
or an attacker's) cannot push out a token seen at two sites; a request counts its
first :data:`MAX_PER_REQUEST` values only. Each token keeps the names of its first
:data:`MAX_SITES_KEPT` sites (its finding's detail) and a hash of each distinct site
past them, up to :data:`MAX_SITES_COUNTED` sites in all or ``sites`` where that is
more: the count is exact up to the threshold, and past the sites counted a finding
says "or more". Names longer than :data:`MAX_NAME_LENGTH` and values longer than
:data:`MAX_LENGTH` are not counted.

Registrable domains come from the Public Suffix List as shipped inside the
``publicsuffixlist`` package: no network access, loaded on first use only.
"""

from __future__ import annotations

import ipaddress
import math
import re
from array import array
from collections import Counter, OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from capture.identity.caching import short_keys_cached
from capture.identity.encodings import base64_json, base64_text, url_decode
from capture.identity.names import GENERIC_FIELDS, hint_key, normalize_name

DETECTOR = "recurrence"
DEFAULT_SITES = 3
MIN_LENGTH = 16
MIN_ENTROPY = 3.0
"""Bits per character: hex IDs have about 3.5-4, base64 tokens 4.5-5.5, words and
dates under 3.2 for 16 characters (a distinct-character-rich word can pass; the
site count is what makes the call)."""
MAX_LENGTH = 512
"""Characters a value counted has at most (as sent): a token is tens of characters."""
MAX_PER_REQUEST = 64
"""Values a request has counted at most (the first, headers before cookies, query and
body): a request of thousands of one-off values would otherwise push every token the
tracker holds out of it."""
MAX_NAME_LENGTH = 256
"""Characters a name has at most for its values to be counted (as sent). Names are
chosen by whoever sends the request: each one counted is cached and kept in the
tracker, and 16,384 names of 30 KB held nearly 1 GB."""
DEFAULT_CAPACITY = 16_384
MAX_SITES_KEPT = 8
"""Sites a token keeps the names of, for its finding's detail."""
MAX_SITES_COUNTED = 32
"""Distinct sites a token is counted to (past the :data:`MAX_SITES_KEPT` named, by a
hash of each), where the threshold is not higher: no carrier's token needs more to
be found, and a token sent to thousands of sites (a flood, an app's one key) costs
no more than one sent to a few dozen."""

_TOKEN = re.compile(r"[A-Za-z0-9+/=_\-.~%:]+")
# What a percent-encoded value holds that no token does: a query's "?", JSON's
# brackets and quotes (a "%7C" or "%20" is a token's own spelling).
_STRUCTURE = ("?", "{", "[", '"')
# Dates and times recur by the second across every site: "2024-01-15T12:30:00Z".
_DATE = re.compile(r"[0-9]{4}-?[0-9]{2}-?[0-9]{2}[T _:-]")
# An ad unit's path ("/1234567/news/homepage_top": Google Ad Manager's network code and
# ad unit) is a page's slot, sent by every visitor to every bidder. Three segments at
# least: a standard base64 token of 56 characters starts with "/" and holds two more,
# and no "+" nor "=", once in some 800, where two segments would miss one in 280.
_PATH = re.compile(r"(?:/[A-Za-z0-9_.~-]+){3,}/?")
# A slot's name: words, then numbers ("div-gpt-ad-1234567890123-0", Google Publisher
# Tag's div IDs), the same for every visitor of the page.
_SLOT = re.compile(r"[a-z]+(?:[-_][a-z]+)+(?:[-_][0-9]+)+")

BENIGN_NAMES = frozenset(
    {
        # Caches and CDNs: the same resource, or the same build, from many hosts.
        "if-none-match",
        "etag",
        "if-match",
        "integrity",
        "hash",
        "checksum",
        "sig",
        "signature",
        "v",
        "ver",
        "version",
        "build",
        "rev",
        "-",  # "_", as names are normalised ("_" and "." become "-")
        "cb",
        "x-cache-key",
        "x-edge-location",
        "cf-ray",
        # Campaign and analytics keys: one campaign, one property, many sites.
        "utm-source",
        "utm-medium",
        "utm-campaign",
        "utm-content",
        "utm-term",
        "utm-id",
        "tid",
        "x-goog-api-key",
        # Analytics cookies (normalised: "_ga" is "-ga"). Their values are client IDs
        # that a site's own analytics sets, and that cross-domain measurement
        # (Google's linker, Adobe's visitor ID service) carries to a property's other
        # sites on purpose: the tests' benign corpus has them on every kind of site.
        "-ga",
        "-gid",
        "-fbp",
        "-fbc",
        "-gcl-au",
        "--utma",
        "--utmb",
        "--utmc",
        "--utmz",
        "--utmv",
        "--qca",
        "s-vi",
        "s-fid",
        "s-cc",
        "s-sq",
        # API keys identify the app, not the person, and apps call many hosts with one.
        "key",
        "api-key",
        "apikey",
        "x-api-key",
        "app-key",
        "appkey",
        "app-id",
        "appid",
        "client-id",
        "x-client-id",
        "x-app-id",
        # New Relic's mobile agent adds its account and application ID (base64) to
        # every request the app makes, to every host (eight sites in an iOS app's HAR).
        "x-newrelic-id",
        "x-algolia-api-key",
        "x-algolia-application-id",
        # Request-scoped: the same trace may cross services of one request chain.
        "traceparent",
        "tracestate",
        "x-b3-traceid",
        "x-b3-spanid",
        "x-b3-parentspanid",
        "b3",
        "x-request-id",
        "x-correlation-id",
        "x-amzn-trace-id",
        "sentry-trace",
        "baggage",
        "referer",
    }
)


BENIGN_PREFIXES = ("-ga-", "-gat-", "amcv-")
"""Normalised name prefixes of analytics cookies whose names carry a property ID
(``_ga_<stream>`` of Google Analytics 4, ``_gat_UA-…``, Adobe's ``AMCV_<org>@AdobeOrg``)."""


BENIGN_WORDS = frozenset(
    {
        "cache",
        "cachebuster",
        "cachekey",
        "buster",
        "cdn",
        "surrogate",
        "etag",
        "build",
        "version",
        "integrity",
        "checksum",
        "fastly",
        "akamai",
        "cloudfront",
    }
)
"""Words of a normalised name (split at ``-``) that say its value is a cache's, a
CDN's or a build's, recurring by design however the rest of the name is made:
``Surrogate-Key``, ``CDN-Cache-Key``, ``X-Edge-Cache-Key``, ``X-Build-Hash``,
``cache_key``, ``cacheBuster``. A word, not a substring: ``x-uidh`` or a tracker's
``-bcache`` is not one."""


def benign_name(key: str) -> bool:
    """True when values under the normalised name ``key`` recur across sites by design:
    a name of :data:`BENIGN_NAMES`, one starting with :data:`BENIGN_PREFIXES`, or one
    with a word of :data:`BENIGN_WORDS`."""
    return (
        key in BENIGN_NAMES
        or key.startswith(BENIGN_PREFIXES)
        or not BENIGN_WORDS.isdisjoint(key.split("-"))
    )


# Words that say a value is one request's, one ad slot's, one publisher's or one
# app's: the same in every request a page view or an app sends out to its exchanges,
# bidders and vendors (an OpenRTB bid request's id, imp.id, imp.tagid, source.tid and
# site.publisher.id reach every exchange unchanged), by design and of no person. A
# carrier's supercookie is one token per subscriber under a name that says none of
# this (X-UIDH, x-acr, a uid or token). Words of the normalised, camelCase-split name
# ("-" between them), each with "id" glued on or after it ("tagId", "pubid",
# "auction_id"). The long words count at the end of a glued word too ("adslot",
# "bidRequestId"); the short ones only whole ("shrimp" and "public" are not "imp" and
# "pub"); "tag" only as "tag id" (a header X-Zork-Tag is any name).
_SCOPED = re.compile(
    r"(?:^|-)(?:"
    # One request, auction, transaction or trace.
    r"[a-z0-9]*(?:transaction|auction|request|trace|span|nonce|impression|placement|"
    r"publisher|slot)|tid|txn|req|imp|pub|tag-?id|ad-?unit|"
    # One app's key or token (an SDK's, an API client's, a browser's publishable one).
    r"(?:sdk|api|app|application|client|publishable|public|project|license|licence)-?"
    r"(?:key|token)"
    r")s?(?:-?(?:ids?|codes?))?$"
)


def scoped_name(name: str) -> bool:
    """True when the name ``name`` (as sent: a JSON body's field by its path,
    ``site.publisher.id``) says its value is one request's, auction's or trace's,
    one ad slot's or publisher's, or one app's key (``auctionId``, ``imp.tagid``,
    ``source.tid``, ``sdk_key``, ``client_token``): the same at every host a page view
    or an app sends it to, by design, and no person's. The scope's word is the name's
    last, "id" aside (``x-trace-user``, ``publisher_uid`` and ``pubProvidedId`` name a
    user's). A path is judged by its last key, and by its object's too where that key
    says only "id" (``imp.id`` is a slot's, ``user.id`` a user's). (A JSON body's "id"
    at its root, an OpenRTB bid request's own, is the detector's to pass over: a
    header, cookie or parameter named ``id`` may be a person's.)"""
    parent, _, last = name.rpartition(".")
    if parent and normalize_name(last) in GENERIC_FIELDS:
        last = f"{parent.rpartition('.')[2]}.{last}"
    return _SCOPED.search(hint_key(last, normalize_name(last))) is not None


def entropy(text: str) -> float:
    """Shannon entropy of ``text`` in bits per character."""
    size = len(text)
    return -sum(n / size * math.log2(n / size) for n in Counter(text).values())


# An address: a page's URL recurs at every tracker the page reports to (url=, dl=,
# u=), percent-encoded once or twice ("http%3A%2F%2Fwww.nytimes.com%2F" reached four
# sites in sitespeedio/pagexray's HAR of nytimes.com). An address is not a token.
_ADDRESS_MARKS = ("://", "%3a%2f%2f", "%253a%252f%252f")
# A name made of dotted words, an app's package or a host ("com.sceneway.kankan", sent
# by every copy of one app: ntop/nDPI's 1kxun.pcap), names the app or the site, as an
# API key does, not the person. A JWT's dotted parts are far longer than words.
# The first two characters of base64 of "http" and of a JSON object or list
# (encodings.B64_JSON_START): the values _wrapped decodes.
_WRAPPED_HEADS = frozenset({"aH", "ey", "ew", "W3", "Wy"})
_DOTTED_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,23}(?:\.[A-Za-z][A-Za-z0-9_-]{0,23})+")


def _wrapped(value: str) -> bool:
    """Is ``value`` an address or a JSON document in base64 (an ad tag's
    ``ref=aHR0cHM6Ly9…``, a beacon's ``data=eyJwYWdlIjo…``): a page's address or
    state, which recurs at every tracker the page reports to as the address itself
    does? What such JSON holds is judged field by field where it is sent
    (:func:`~capture.identity.encodings.base64_json`); it is no token whole."""
    if value.startswith("aHR0c"):
        text = base64_text(value)
        return text is not None and text.startswith(("http://", "https://"))
    raw = base64_json(value)
    if raw is None:
        return False
    import orjson  # with the detector, which reads JSON already

    try:
        return isinstance(orjson.loads(raw), dict | list)
    except orjson.JSONDecodeError:
        return False


def opaque(value: str) -> bool:
    """Could ``value`` be an identifying token: long, one token, high entropy, and
    not an address, nor one or a JSON document wrapped in base64? ``value`` is
    judged percent-decoded (twice, where it was encoded twice): what it holds, not
    how a URL spells it."""
    if len(value) < MIN_LENGTH or len(value) > MAX_LENGTH or not _TOKEN.fullmatch(value):
        # One token as sent: a "%7C" or "%20" in it is the sender's spelling of a
        # token, not two words.
        return False
    held = value
    if "%" in value:
        # encodeURIComponent(btoa(url)) spells an ad tag's ref= "aHR0cHM6Ly9…%2FeD0x",
        # base64 JSON's padding "%3D%3D", and JSON "%7B%22…": each a page's address or
        # state as much as when plain, which the tests below would not see through
        # "%". A redirect's parameter is encoded twice.
        held = url_decode(value)
        if "%" in held:
            held = url_decode(held)
        if len(held) < MIN_LENGTH or any(mark in held for mark in _STRUCTURE):
            return False
    if _DATE.match(held) or _SLOT.fullmatch(held):
        return False
    if held[0] == "/" and _PATH.fullmatch(held):
        return False
    if "." in held and _DOTTED_NAME.fullmatch(held):
        return False
    if ":" in held or "%" in held:
        lowered = held.lower()
        if any(mark in lowered for mark in _ADDRESS_MARKS):
            return False
    if held[:2] in _WRAPPED_HEADS and _wrapped(held):
        return False
    return entropy(held) >= MIN_ENTROPY


@lru_cache(maxsize=1)
def _suffixes() -> Any:
    from publicsuffixlist import PublicSuffixList

    # The list bundled in the package: PublicSuffixList() reads no network.
    return PublicSuffixList()


# Hosts named by address are grouped by network: one service's servers sit side by
# side (a streaming app's CDN at 23.246.3.140, 23.246.10.139 and 23.246.11.141 in
# ntop/nDPI's netflix.pcap), and its playback session ID is not sent to three sites.
# A /16 of IPv4 and a /32 of IPv6 (a regional registry's smallest usual allocation).
_NETWORK_BITS = {4: 16, 6: 32}


# A host is the client's Host header, any length: a DNS name has at most 253
# characters, and a longer one is read each time, not kept.
@short_keys_cached(4096, 300)
def registrable_domain(host: str) -> str:
    """The site ``host`` belongs to: ``www.bbc.co.uk:80`` gives ``bbc.co.uk``.

    A host named by its IP address belongs to its network (``23.246.0.0/16``; IPv6 by
    /32); names without a public suffix (``localhost``) are their own site.
    """
    host = host.strip().lower()
    if host.startswith("["):
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    host = host.rstrip(".")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        network = ipaddress.ip_network(f"{address}/{_NETWORK_BITS[address.version]}", strict=False)
        return str(network)
    site = _suffixes().privatesuffix(host)
    return site if isinstance(site, str) else host


@dataclass(frozen=True, slots=True)
class Recurrence:
    """A token that has reached enough sites."""

    sites: int
    """How many distinct registrable domains it has reached (counted up to
    :data:`MAX_SITES_COUNTED`, or to the threshold where that is higher)."""
    seen: tuple[str, ...]
    """The first of them (at most :data:`MAX_SITES_KEPT`), in the order reached."""
    more: bool = False
    """True when it has reached more sites than :attr:`sites`, past those counted."""

    @property
    def detail(self) -> str:
        """``the same token sent to 3 sites: a.example, b.example, c.example``;
        ``… sent to 32 sites or more: …`` past the sites counted."""
        more = "" if self.sites <= len(self.seen) else ", …"
        beyond = " or more" if self.more else ""
        return f"the same token sent to {self.sites} sites{beyond}: {', '.join(self.seen)}{more}"


class _Entry:
    __slots__ = ("count", "more", "others", "sites")

    def __init__(self) -> None:
        self.sites: list[str] = []
        """The first :data:`MAX_SITES_KEPT` sites, by name."""
        self.others: array[int] | None = None
        """A hash of each distinct site counted past them: 8 bytes a site, where a set
        of ints cost some 60."""
        self.count = 0
        """Distinct sites counted: those named and those hashed."""
        self.more = False


class RecurrenceTracker:
    """Remembers opaque (name, value) pairs and the sites each has reached."""

    def __init__(self, sites: int = DEFAULT_SITES, capacity: int = DEFAULT_CAPACITY) -> None:
        if sites < 2:
            raise ValueError(f"a token must reach at least 2 sites to recur, not {sites}")
        self.sites = sites
        self.capacity = capacity
        self._counted = max(sites, MAX_SITES_COUNTED)
        """Distinct sites a token is counted to: the threshold is always reached
        exactly."""
        self._probation: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        """Tokens seen at one site, least recently seen first: most values are one
        site's (its session IDs), and a flood of them evicts only each other."""
        self._protected: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        """Tokens seen at two sites or more, least recently seen first; the least
        recent goes back on probation past half of ``capacity``. The other half, for
        tokens seen at one site, takes 128 requests of :data:`MAX_PER_REQUEST` new
        values each to go round."""
        self._protected_size = capacity // 2

    def __len__(self) -> int:
        return len(self._probation) + len(self._protected)

    def observe(self, key: str, value: str, site: str) -> Recurrence | None:
        """Note that ``value`` under the normalised name ``key`` reached ``site``;
        return what it has reached once that is at least ``sites`` sites."""
        token = (key, value)
        probation = self._probation
        entry = self._protected.get(token)
        on_probation = entry is None
        if entry is not None:
            self._protected.move_to_end(token)
        else:
            entry = probation.get(token)
            if entry is None:
                entry = probation[token] = _Entry()
                if len(probation) + len(self._protected) > self.capacity:
                    self._trim()
            else:
                probation.move_to_end(token)
        sites = entry.sites
        if site not in sites:
            if len(sites) < MAX_SITES_KEPT:
                sites.append(site)
                entry.count += 1
            else:
                others = entry.others
                if others is None:
                    others = entry.others = array("q")
                digest = hash(site)
                if digest not in others:
                    if entry.count < self._counted:
                        others.append(digest)
                        entry.count += 1
                    else:
                        entry.more = True
        if on_probation and entry.count >= 2:
            # Seen at a second site, or again after it was sent back on probation.
            self._protect(token, entry)
        if entry.count >= self.sites:
            return Recurrence(entry.count, tuple(sites), entry.more)
        return None

    def _protect(self, token: tuple[str, str], entry: _Entry) -> None:
        """Move ``token``, seen at two sites or more, from probation to the protected
        tokens, and their least recently seen back on probation past their bound."""
        del self._probation[token]
        protected = self._protected
        protected[token] = entry
        if len(protected) > self._protected_size:
            old, demoted = protected.popitem(last=False)
            self._probation[old] = demoted
            self._trim()

    def _trim(self) -> None:
        """Forget the least recently seen tokens on probation while more than
        ``capacity`` are held."""
        probation = self._probation
        while len(probation) + len(self._protected) > self.capacity and probation:
            probation.popitem(last=False)
