"""Undoing the wrappings that values arrive in.

Gateways hex-encode or base64-wrap MSISDNs ("Convert Sender Address From / To
HEX" is a FortiOS Carrier option), URLs percent-encode them, and enrichment
headers pack several fields into one value (``GPRS,447700900123,unsecured``,
``msisdn=447700900123;imsi=...``). These helpers are pure string functions.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from urllib.parse import unquote

from capture.identity.names import trailing_name

try:  # built at install time where a C compiler is there (see pyproject.toml)
    from capture.identity import _idscan
except ImportError:
    _idscan = None  # type: ignore[assignment]

# Hex of 7-16 ASCII digits, optionally with a leading "+" (0x2b): "3434373730...".
_HEX_DIGITS = re.compile(r"(?:2[bB])?(?:3[0-9]){7,16}")
# Base64 of 7-16 ASCII digits (optionally "+"-led). Every 3 input bytes give 4
# characters; when the first byte is a digit (0x30-0x39) the group starts with M, N
# or O, and with K for "+" (0x2b). That makes the shape cheap to recognise.
B64_DIGITS_BODY = (
    r"[KMNO][A-Za-z0-9+/_-]{3}(?:[MNO][A-Za-z0-9+/_-]{3}){1,4}(?:[MNO][A-Za-z0-9+/_-]{1,3})?"
)
"""The shape of base64 of 7-16 digits without its padding (a regex): groups of four
characters each starting M, N or O (the first may start K), the last 2 to 4 long."""
_B64_DIGITS = re.compile(B64_DIGITS_BODY + "={0,2}")
_DIGITS = re.compile(r"\+?[0-9]{7,16}")


def hex_digits(text: str) -> str | None:
    """The digits a hex-ASCII string encodes (``3434...`` gives ``44...``), or ``None``."""
    if not _HEX_DIGITS.fullmatch(text):
        return None
    return bytes.fromhex(text).decode("ascii")


def hex_shaped(text: str) -> bool:
    """Whether ``text`` has the shape of hex-ASCII digits (:func:`hex_digits` is
    ``None`` for any text without it)."""
    return _HEX_DIGITS.fullmatch(text) is not None


def base64_shaped(text: str) -> bool:
    """Whether ``text`` has the shape of base64 of 7-16 digits (:func:`base64_digits`
    is ``None`` for any text without it)."""
    return _B64_DIGITS.fullmatch(text) is not None


def _b64decode(text: str) -> bytes | None:
    """``text`` decoded as base64 or URL-safe base64, padded or not, or ``None`` where
    it is neither."""
    body = text.rstrip("=").replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def base64_digits(text: str) -> str | None:
    """The digits a base64 (or URL-safe base64) string encodes, or ``None``."""
    if not _B64_DIGITS.fullmatch(text):
        return None
    raw = _b64decode(text)
    if raw is None:
        return None
    try:
        decoded = raw.decode("ascii")
    except UnicodeDecodeError:
        return None
    return decoded if _DIGITS.fullmatch(decoded) else None


_B64_RUN = re.compile(r"[A-Za-z0-9+/_-]{12,}={0,2}")


def base64_text(text: str) -> str | None:
    """The printable ASCII text that base64 (or URL-safe base64) ``text`` of at least
    12 characters encodes (``cXVpZXQu...`` gives ``quiet...``), or ``None``: for an
    e-mail address sent base64-wrapped, as shopping sites' third parties were found to
    receive them (Dao and Fukuda, CoNEXT 2021)."""
    if not _B64_RUN.fullmatch(text):
        return None
    raw = _b64decode(text)
    if raw is None or not raw.isascii():
        return None
    decoded = raw.decode("ascii")
    return decoded if decoded.isprintable() else None


# The first four characters of base64 (or URL-safe base64) of a JSON object or of a
# list of objects or strings: '{' then a quote, space, tab, CR or LF; or '[' then '{'
# or a quote. Analytics APIs take their events so in one parameter: Mixpanel's and
# Segment's data=, Snowplow's cx= and ue_px=.
B64_JSON_START = r"(?:ey[A-DI-L]|ew[k-r0-3]|W3[s-v]|Wy[I-L])"
"""The shape of the first 3 characters of base64 of a JSON object or list (a regex);
any base64 character may follow."""
B64_JSON_HEAD = B64_JSON_START + r"[A-Za-z0-9+/_-]"
"""The first 4 characters of base64 of a JSON object or list (a regex): what
:func:`base64_json_shaped` and the detector's whole-string first look start from."""
_B64_JSON = re.compile(B64_JSON_HEAD)
# Its first two characters: tested before the pattern, which costs a call (header
# values such as Accept-Language's "en-US,en;q=0.9" start with an "e" too).
_B64_JSON_HEADS = frozenset({"ey", "ew", "W3", "Wy"})
B64_JSON_MIN = 16
"""Characters a base64 JSON value has at least (12 bytes: ``{"a":"b"}`` and more)."""


def base64_json_shaped(text: str) -> bool:
    """Whether ``text`` starts like base64 of a JSON object or list and is at least
    :data:`B64_JSON_MIN` long (:func:`base64_json` is ``None`` for any text without it)."""
    return (
        len(text) >= B64_JSON_MIN
        and text[:2] in _B64_JSON_HEADS
        and _B64_JSON.match(text) is not None
    )


def base64_json(text: str) -> bytes | None:
    """The JSON text a base64 (or URL-safe base64, padded or not) value encodes, or
    ``None`` for a value that is not that (a JWT, with its dots, is not)."""
    if not base64_json_shaped(text):
        return None
    return _b64decode(text)


# A JSON Web Token in compact form (RFC 7519: base64url header, claims, signature, the
# first two JSON objects): an OpenID Connect ID token's claims include the user's
# phone_number and email, and Firebase's ID tokens travel in auth= parameters.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.(eyJ[A-Za-z0-9_-]*)\.[A-Za-z0-9_-]*")


def jwt_claims(text: str) -> bytes | None:
    """The claims (a JSON text) of a JSON Web Token in compact form, or ``None`` for a
    value that is not one. The signature is not checked: what was sent is reported."""
    match = _JWT.fullmatch(text)
    return None if match is None else _b64decode(match.group(1))


def url_decode(text: str) -> str:
    """Percent-decoding that keeps ``+`` (a leading ``+`` in a number is not a space):
    ``unquote(text, errors="surrogateescape")``, in C for an ASCII text (real cookies
    hold percent-encoded JSON, hundreds of escapes a value)."""
    if "%" not in text:
        return text
    if _idscan is not None:
        decoded = _idscan.url_decoded(text)
        if decoded is not None:
            return decoded
    return unquote(text, errors="surrogateescape")


_PART_SPLIT = re.compile(r"[,;&|\s]+")
_STRIP = "\"'<>()[]{}"


def several_parts(value: str) -> bool:
    """Whether :func:`split_parts` gives more than one part of ``value`` (counted
    without cutting out their names)."""
    if _PART_SPLIT.search(value) is None:
        return False  # no separator: one part, or none
    count = 0
    for piece in _PART_SPLIT.split(value):
        if piece.strip(_STRIP):
            count += 1
            if count > 1:
                return True
    return False


def split_parts(value: str) -> Iterator[tuple[str | None, str]]:
    """The ``(name, value)`` parts of a composite value.

    ``GPRS,447700900123,unsecured`` gives three unnamed parts;
    ``msisdn=447700900123;x=1`` gives ``("msisdn", "447700900123")`` and ``("x", "1")``;
    in ``http://h/p?phone=1`` the name is the word before ``=`` (``phone``). Base64
    padding (``abc==``) is not mistaken for ``key=value``.
    """
    for piece in _PART_SPLIT.split(value):
        piece = piece.strip(_STRIP)
        if not piece:
            continue
        eq = piece.find("=")
        if eq > 0 and piece[eq + 1 :].strip("="):
            yield trailing_name(piece[:eq]), piece[eq + 1 :].strip(_STRIP)
        else:
            yield None, piece
