"""Sent versus received: the reflector's echo of a request, and the difference.

On a tethered laptop the carrier adds its headers after the laptop, so the
laptop's capture shows the request as sent. A reflector (``headerwatch
reflect``) answers every request with the header block it received, in the
response header :data:`ECHO_HEADER`; comparing the two shows what was added,
removed or changed in transit. ``headerwatch probe``, the dashboard (``~inj``,
the INJ badge) and session files all use this one comparison.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from dataclasses import replace

import orjson

from capture.http.echo_key import host_named, signature_holds, signature_of
from capture.model import WHERE_HEADER, Finding, Header, Response, Transit
from capture.text import for_json, jsonable

ECHO_HEADER = "X-Headerwatch-Received"
"""Response header carrying the received header block: base64url of a JSON list of
``[name, value]`` pairs in wire order (undecodable bytes as ``\\xNN``)."""
_ECHO_LOWER = ECHO_HEADER.lower()
_ECHO_LENGTH = len(ECHO_HEADER)  # tested first: most names differ in length

ECHO_OMITTED_HEADER = "X-Headerwatch-Received-Omitted"
"""Response header saying how many received headers (from the end of the block) the
echo leaves out to stay within :data:`ECHO_CAP`; absent when none are left out."""

ECHO_CAP = 48 * 1024
"""Longest :data:`ECHO_HEADER` value a reflector sends. ``probe`` reads response heads
up to :data:`capture.http.http1.MAX_HEAD` (64 KiB); the echo stays 16 KiB below that,
so the rest of the head always fits. A received block can be larger than the cap
once escaped and base64-encoded (a 32 KiB head of undecodable bytes is ~170 KiB as
an echo): the echo then keeps the headers that fit, in order, and says how many it
left out in :data:`ECHO_OMITTED_HEADER`."""

MAX_ECHO = 96 * 1024
"""Longest echo value accepted (from captures of older reflectors too; today's send at
most :data:`ECHO_CAP`)."""


def encode_echo(headers: tuple[Header, ...]) -> str:
    """The :data:`ECHO_HEADER` value for a received header block (uncapped)."""
    return base64.urlsafe_b64encode(orjson.dumps(jsonable(headers))).decode("ascii")


def _b64_length(n: int) -> int:
    return 4 * ((n + 2) // 3)


def encode_echo_capped(headers: tuple[Header, ...], cap: int = ECHO_CAP) -> tuple[str, int]:
    """The :data:`ECHO_HEADER` value for the longest prefix of ``headers`` whose echo
    fits in ``cap`` characters, and how many headers were left out.

    A JSON list is its items joined by commas inside brackets, so the size of each
    prefix is known from the item sizes alone: one pass, no re-encoding.
    """
    items = [orjson.dumps(pair) for pair in jsonable(headers)]
    size, kept = 2, 0  # "[]"
    for item in items:
        grown = size + len(item) + (1 if kept else 0)
        if _b64_length(grown) > cap:
            break
        size, kept = grown, kept + 1
    body = b"[" + b",".join(items[:kept]) + b"]"
    return base64.urlsafe_b64encode(body).decode("ascii"), len(items) - kept


def decode_echo(value: str) -> tuple[Header, ...] | None:
    """The header block in an :data:`ECHO_HEADER` value; None if it is not one."""
    if len(value) > MAX_ECHO:
        return None
    try:
        pairs = orjson.loads(base64.urlsafe_b64decode(value.strip().encode("ascii")))
    except (ValueError, binascii.Error, UnicodeEncodeError):
        return None
    if not isinstance(pairs, list) or not all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in pairs
    ):
        return None
    return tuple((n, v) for n, v in pairs)


def echo_value(headers: tuple[Header, ...]) -> str | None:
    """The :data:`ECHO_HEADER` value among response ``headers`` as sent, or None."""
    for name, value in headers:
        if len(name) == _ECHO_LENGTH and name.lower() == _ECHO_LOWER:
            return value
    return None


def echo_of(response: Response) -> tuple[Header, ...] | None:
    """The received header block a reflector's response carries, if it carries one."""
    value = echo_value(response.headers)
    return None if value is None else decode_echo(value)


def echo_signed(headers: tuple[Header, ...], key: bytes) -> bool:
    """Whether the echo among response ``headers`` is signed with ``key``
    (:mod:`capture.http.echo_key`): its :data:`ECHO_HEADER` and omitted count as sent."""
    value = echo_value(headers)
    if value is None:
        return False
    return signature_holds(key, value, omitted_of(headers), signature_of(headers))


def echo_believed(
    sent: tuple[Header, ...], received: tuple[Header, ...], headers: tuple[Header, ...], key: bytes
) -> bool:
    """Whether the echo of ``received`` among response ``headers`` is to be believed
    with the echo ``key``: signed with it, and of this request, one addressed to the
    host it was sent to. The reflector signs only what names it; a site that passed a
    request on to it with another Host has a signed echo of another request."""
    return echo_signed(headers, key) and host_named(sent) == host_named(received)


def echoed_transit(
    sent: tuple[Header, ...], response: Response, key: bytes | None = None
) -> Transit | None:
    """What the reflector's echo in ``response`` shows happened to the header block
    ``sent`` on its way (:func:`transit`); None when it carries no echo. Where the echo
    says it left headers out (:data:`ECHO_OMITTED_HEADER`: the block as received was
    too large for it), a sent header it lacks may be among them: none is called
    removed (they were, of every large request a capture paired with its echo).

    With the echo ``key``, the transit's :attr:`~capture.model.Transit.signed` says
    whether the echo's signature holds (False: any server may have written it, and
    nothing in it is to be believed); without one it is None."""
    received = echo_of(response)
    if received is None:
        return None
    moved = transit(sent, received)
    if moved.removed and omitted_of(response.headers):
        moved = replace(moved, removed=())
    if key is not None:
        moved = replace(moved, signed=echo_believed(sent, received, response.headers, key))
    return moved


def omitted_of(headers: tuple[Header, ...]) -> int:
    """How many received headers a reflector's echo says it left out
    (:data:`ECHO_OMITTED_HEADER`), 0 where it says none."""
    wanted = ECHO_OMITTED_HEADER.lower()
    for name, value in headers:
        if name.lower() == wanted:
            count = value.strip()
            # ASCII digits of a size a block can have: "²" is a digit to isdigit() and
            # none to int(), and int() refuses 4,301 (a reflector or a middlebox sends
            # this header: either ended a probe with a traceback).
            if count.isascii() and count.isdigit() and len(count) <= 9:
                return int(count)
    return 0


def carries_echo(headers: tuple[Header, ...]) -> bool:
    """Whether response ``headers`` hold a reflector's echo (:data:`ECHO_HEADER`):
    a reader that leaves responses out keeps those (:func:`echo_of` reads them)."""
    for name, _ in headers:  # noqa: SIM110 (a loop: any() of a generator costs twice as much)
        if len(name) == _ECHO_LENGTH and name.lower() == _ECHO_LOWER:
            return True
    return False


def _key(header: Header) -> tuple[str, str]:
    # Names are case-insensitive (RFC 9110 §5.1) and proxies re-case them; values
    # are compared as JSON shows them, so an echo and a capture compare alike.
    return header[0].lower(), for_json(header[1]).strip(" \t")


def transit(sent: tuple[Header, ...], received: tuple[Header, ...]) -> Transit:
    """What happened between ``sent`` and ``received``: headers injected, removed and
    changed, each in wire order.

    A multiset comparison by (name, value): a header sent twice and received once
    was removed once; order changes alone are not reported. A header removed and
    one of the same name injected are a change (a proxy appending to ``Via``, a
    rewritten ``User-Agent``), paired in order: the sender's line is never called
    injected.
    """
    want = Counter(map(_key, sent))
    got = Counter(map(_key, received))
    injected = _surplus(received, got - want)
    removed = _surplus(sent, want - got)
    # Each removed header paired with the first injected one of its name not paired
    # yet, by an index of names: walking every injected header for every removed one
    # was quadratic, 2 s a request for an echo of thousands of names (an attacker's).
    by_name: dict[str, deque[int]] = {}
    for at, (name, _) in enumerate(injected):
        by_name.setdefault(name.lower(), deque()).append(at)
    paired: dict[int, tuple[str, str, str]] = {}
    kept: list[Header] = []
    for gone in removed:
        waiting = by_name.get(gone[0].lower())
        if waiting:
            at = waiting.popleft()
            paired[at] = (injected[at][0], gone[1], injected[at][1])
        else:
            kept.append(gone)
    # Changes in the order of the removed headers they pair, as before.
    added = tuple(header for at, header in enumerate(injected) if at not in paired)
    return Transit(received, added, tuple(kept), tuple(paired.values()))


def touched_findings(
    sent: Sequence[Header], moved: Transit, findings: Iterable[Finding]
) -> tuple[Finding, ...]:
    """Of the findings in a request as received, those that came with the headers
    added or changed in transit (:func:`added_on_the_way`; found in context, kept where
    they are). ``sent``: the header block as sent."""
    return tuple(f for f in findings if added_on_the_way(sent, moved, f))


def added_on_the_way(sent: Sequence[Header], moved: Transit | None, finding: Finding) -> bool:
    """Whether ``finding`` came with a header an echo shows added or changed in transit
    (``moved``), not from the device: it is in a header of such a name (the finding's
    name, or its start: ``X-App-Context.subscriber`` of JSON in the header's value,
    ``Referer → phone`` of its query), and no header of that name as sent (``sent``)
    holds its value, as written or as digits (a proxy that rewrote the phone's
    ``447700900123`` as ``+447700900123``). A phone's own ``X-MSISDN`` beside a second
    one the network added, or its own value of a header the network then rewrote, is
    the phone's: by the name alone both were called the network's."""
    if moved is None or finding.where != WHERE_HEADER:
        return False
    header = _header_of(finding.name.lower(), moved.touched_names)
    return header is not None and not _sent(sent, header, finding.value)


def _header_of(name: str, headers: frozenset[str]) -> str | None:
    """Which of ``headers`` (lower case) the finding named ``name`` (lower case) is in:
    its name, or the header its name starts with."""
    if name in headers:
        return name
    for header in headers:
        if name.startswith(header) and name[len(header) : len(header) + 1] in (".", " "):
            return header
    return None


_NOT_DIGIT = re.compile(r"[^0-9]+")


def _sent(sent: Sequence[Header], header: str, value: str) -> bool:
    """Whether a header called ``header`` (lower case) as sent holds ``value`` (any
    such header, for an empty value): as written, or its digits, seven or more, among
    the header's."""
    digits = _NOT_DIGIT.sub("", value)
    for name, text in sent:
        if name.lower() == header:
            if value in text:
                return True
            if len(digits) >= 7 and digits in _NOT_DIGIT.sub("", text):
                return True
    return False


def _surplus(headers: tuple[Header, ...], surplus: Counter[tuple[str, str]]) -> tuple[Header, ...]:
    """The headers that make up ``surplus``, in the order of ``headers``."""
    out = []
    for header in headers:
        key = _key(header)
        if surplus[key] > 0:
            surplus[key] -= 1
            out.append(header)
    return tuple(out)
