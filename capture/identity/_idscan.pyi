"""Type stub of the whole-string tests of detection in C (capture/identity/_idscan.c)."""

from collections.abc import Container, Sequence
from collections.abc import Set as AbstractSet

def may_matter(text: str, sep: str, anchors: tuple[str, ...]) -> bool | None:
    """IdentityDetector._may_matter_py for ASCII text; None for any other."""

def json_may_matter(text: bytes, anchors: tuple[str, ...]) -> bool | None:
    """detector._json_may_matter_py of ASCII text (a parameter's JSON value); None for
    any other."""

def runs(
    text: str,
    min_len: int,
    keys: Container[str],
    sizes: Container[int],
    gate: bytes,
    decode_from: int,
) -> tuple[list[str], list[str]] | None:
    """canary._runs_py for ASCII text, then (when ``decode_from`` >= 0) for
    ``text[decode_from:]`` percent-decoded; None for any other text, or for an
    escape of a byte past 0x7f."""

def worth(text: str) -> bool | None:
    """detector._worth_param of an ASCII str; None for any other."""

def url_decoded(text: str) -> str | None:
    """encodings.url_decode of an ASCII str (``unquote(text, errors="surrogateescape")``);
    None for any other."""

SKIP: int
COOKIE: int
URL: int

def request(
    headers: Sequence[tuple[str, str]],
    kinds: dict[str, int],
    anchors: tuple[str, ...],
    uri: str | None,
    needles: tuple[str, ...] | None,
    body: bytes | None,
    plain: AbstractSet[str] | None,
) -> tuple[list[tuple[str, str]], bool | None, bool | None, str | bool | None] | None:
    """detector._request_py (the query None where ``uri`` is not ASCII, the needles'
    answer None where a header value or ``uri`` has a character past U+00FF, the body's
    look None where a form or JSON body or a Content-Type value is not ASCII: then
    Python decides)."""

def pick(
    pairs: Sequence[tuple[str, str]],
    anchors: tuple[str, ...],
    opens: bool = True,
    plain: AbstractSet[str] | None = None,
) -> list[tuple[str, str]] | None:
    """detector._picked_py; None when a name or value is not ASCII, or a value is JSON
    only orjson can judge."""

def pick_query(
    uri: str, anchors: tuple[str, ...], plain: AbstractSet[str] | None = None
) -> list[tuple[str, str]] | None:
    """pick of detector._query_pairs(uri); None when the target is not ASCII, a
    pair's name holds "%" or "+" decoded past ASCII, or a value is JSON only orjson can
    judge."""

def pick_cookies(
    header: str, anchors: tuple[str, ...], plain: AbstractSet[str] | None = None
) -> list[tuple[str, str]] | None:
    """pick of detector._cookie_pairs(header); None when the header is not ASCII or a
    value is JSON only orjson can judge."""

def anchored(name: str, anchors: tuple[str, ...]) -> bool | None:
    """detector._anchored_py for an ASCII name; None for any other."""

def needles(
    needles: tuple[str, ...],
    headers: Sequence[tuple[str, str]],
    body: bytes | None,
    uri: str | None,
) -> bool | None:
    """canary._needles_py; None when a header value or ``uri`` has a character past
    U+00FF (then Python decides)."""

def needle_in(needles: tuple[str, ...], text: str | bytes) -> bool | None:
    """canary._needle_in_py; None for a str with a character past U+00FF."""

def canary_fields(
    needles: tuple[str, ...],
    headers: Sequence[tuple[str, str]],
    uri: str | None,
    body: bytes | None,
) -> list[tuple[str, str, str, bool]] | None:
    """list(detector._canary_fields(request, CanaryMatcher.may_hold)); None where Python
    decides: a header name that is not ASCII, or, where a needle may be in it, a Cookie
    header, target, Content-Type value or form body that is not ASCII, or a text to be
    percent-decoded with an escape of a byte past 0x7f."""
