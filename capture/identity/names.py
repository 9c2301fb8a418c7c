"""What a header, cookie or parameter *name* says about its value.

Gateways and apps spell the same name many ways: ``X-MSISDN`` on the wire,
``HTTP_X_MSISDN`` in CGI and PHP, ``x.msisdn`` in some proxies. Every name is
reduced to one key (lower case, ``-`` for ``_`` and ``.``, no CGI ``http-``
prefix) before it is looked up. The name also hints at what its value holds
(``user_phone`` holds a phone number, ``idfa`` an advertising ID) and whether a
bare number in it is almost surely *not* a phone number (``request-id``,
``timestamp``): the value detectors use both hints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SEPARATORS = str.maketrans({"_": "-", ".": "-"})


def normalize_name(name: str) -> str:
    """The lookup key of a name: ``HTTP_X_MSISDN``, ``x.msisdn``, ``X-Msisdn`` give ``x-msisdn``."""
    key = name.strip().lower().translate(_SEPARATORS)
    if key.startswith("http-") and len(key) > 5:
        # CGI/PHP spelling ($_SERVER['HTTP_X_MSISDN']); no real header starts with "http-".
        key = key[5:]
    return key


# What the value of a name probably holds. Order matters: the first match wins, so the
# specific identifiers come before the generic "number" words.
HINT_IMEI = "imei"
HINT_IMSI = "imsi"
HINT_PHONE = "phone"
HINT_EMAIL = "email"
HINT_DEVICE = "device"
HINT_ADVERTISING = "advertising"

_HINTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (HINT_IMEI, re.compile(r"imei")),
    (HINT_IMSI, re.compile(r"imsi")),
    (
        HINT_PHONE,
        re.compile(
            r"msisdn|phone|mobile-?(?:no|num|number)|calling-?line|"
            r"(?:^|-)(?:tel|mdn|cli|ani|subno|cellphone|telefon|telephone)(?:-|$)"
        ),
    ),
    (HINT_EMAIL, re.compile(r"e-?mail")),
    (
        HINT_ADVERTISING,
        re.compile(
            r"(?:^|-)(?:idfa|gaid|adid|aaid|oaid|ifa|advertising-?id|ad-?id|adv-?id|"
            r"google-?ad-?id|apple-?ifa)(?:-|$)"
        ),
    ),
    (
        HINT_DEVICE,
        re.compile(
            r"(?:^|-)(?:idfv|udid|open-?udid|android-?id|device-?id|deviceid|dev-?id|"
            r"device-?uuid|hardware-?id|hwid|serial-?number)(?:-|$)"
        ),
    ),
)

# Words that, in a name, make a bare digit string a counter, clock, size or opaque ID
# rather than a phone number. Only *bare digits* are suppressed under such names: a
# "+E.164" or "tel:" value is still reported.
_ID_LIKE = re.compile(
    r"(?:^|-)(?:id|ids|uid|uuid|guid|trace|traceid|span|spanid|request|req|session|sess|sid|"
    r"time|timestamp|ts|date|epoch|ms|expires|expiry|age|ttl|nonce|seq|sequence|counter|count|"
    r"version|ver|build|rev|revision|length|len|size|bytes|range|offset|etag|token|key|hash|"
    r"sig|signature|checksum|crc|port|cb|cachebuster|rand|random|rnd|order|invoice|txn|"
    r"transaction|isbn|ean|upc|sku|product|item|page|score|price|amount|lat|lon|lng)(?:-|$)"
)


@dataclass(frozen=True, slots=True)
class NameHint:
    """What a name says about its value."""

    hint: str | None
    """One of the ``HINT_*`` constants, or ``None`` when the name says nothing."""
    id_like: bool
    """True when a bare number under this name is a counter, clock or opaque ID."""


def name_hint(key: str) -> NameHint:
    """Classify a normalised name (see :func:`normalize_name`)."""
    for hint, pattern in _HINTS:
        if pattern.search(key):
            return NameHint(hint, False)
    # One-letter names ("_", "t", "v") are cache-busters and versions in practice.
    return NameHint(None, len(key.strip("-")) <= 1 or bool(_ID_LIKE.search(key)))


_TRAILING_NAME = re.compile(r"([A-Za-z][\w.-]{0,63})$")


def trailing_name(text: str) -> str | None:
    """The parameter name at the end of ``text`` (``http://x/?msisdn`` gives ``msisdn``).

    Used when a ``key=value`` pair is found inside a longer value (a Referer URL,
    an enrichment header carrying several fields).
    """
    match = _TRAILING_NAME.search(text)
    return match.group(1) if match else None
