"""Advertising and device IDs, recognised only where the *name* says so.

A UUID or a long hex string is everywhere in HTTP (request IDs, cache keys), so
the value alone proves nothing; under ``idfa``, ``gaid``, ``android_id`` or
``device_id`` it is the device. The all-zero advertising ID is what iOS and
Android send when the user limited ad tracking: it identifies no one.
"""

from __future__ import annotations

import re
from functools import cache


# Compiled on first use: only values under a device or advertising ID's name need them.
@cache
def _shapes() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """The UUID, hex and token shapes."""
    return (
        re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"),
        re.compile(r"[0-9A-Fa-f]{16,64}"),
        re.compile(r"[A-Za-z0-9_-]{12,128}"),
    )


_PLACEHOLDERS = frozenset(
    {"unknown", "null", "none", "undefined", "nil", "n/a", "na", "false", "0", "-"}
)


def is_placeholder(text: str) -> bool:
    """Whether ``text`` (stripped) stands in for a value that is not there: a word
    such as ``unknown`` or ``null``, ``-``, or one character repeated (``***``, the
    zeroed ad ID ``00000000-0000-...``)."""
    return text.lower() in _PLACEHOLDERS or len(set(text.replace("-", ""))) <= 1


# A scheme prefix before the ID: MoPub's SDK sends its udid parameter as "ifa:" and the
# advertising ID, or "mopub:" and its own rotating UUID where the user limited ad
# tracking (com.mopub.common.privacy.AdvertisingId.getIdWithPrefix); other SDKs keep
# theirs so ("gaid:", "aid:" and the Android ID in BlueCats' IdentityProvider). Letters
# only, up to ten, then ":": a URN, a URL or a time is not one ID after one prefix.
_PREFIX_MAX = 10


def unprefixed(text: str) -> tuple[str, str] | None:
    """``(prefix, ID)`` of a value that is a short alphabetic prefix, ``:`` and the rest
    (``ifa:`` and a UUID gives ``("ifa", "<the UUID>")``), or ``None``."""
    prefix, colon, rest = text.partition(":")
    if colon and rest and 2 <= len(prefix) <= _PREFIX_MAX and prefix.isascii() and prefix.isalpha():
        return prefix, rest
    return None


def device_id_detail(value: str) -> str | None:
    """Why ``value`` looks like a device or advertising ID (its shape), or ``None``."""
    text = value.strip()
    if not text or is_placeholder(text):
        return None
    uuid, hex_digits, token = _shapes()
    if uuid.fullmatch(text):
        if text[14] == "1" and text[19] in "89abAB":
            # A time-based UUID (RFC 9562 version 1: a clock reading and the making
            # machine's node) is made per event, on a server: an ad session's (Integral
            # Ad Science's asid=, a dozen in one page load) or a message's. Advertising
            # and vendor IDs are random (version 4), and an install's or a device's made
            # from its properties is name-based (version 3 or 5): none is version 1.
            return None
        return "UUID"
    if hex_digits.fullmatch(text):
        # Branch's device_fingerprint_id is decimal: "hex digits" said otherwise.
        return f"{len(text)} digits" if text.isdigit() else f"{len(text)} hex digits"
    if token.fullmatch(text) and any(ch.isdigit() for ch in text):
        return f"{len(text)}-character token"
    return None
