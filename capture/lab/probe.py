"""``headerwatch probe URL``: what does the network add to a request on its way?

From the tethered laptop (or the phone's browser pointed at the reflector), a
plain-HTTP request with a known header block goes to ``headerwatch reflect``;
its echo says what arrived. Headers added in transit, with the identities they
carry, are the evidence: the laptop's own capture never shows them.

Two kinds of echo are understood, and the verdict says which one it rests on:

- :data:`STRONG`: headerwatch's own reflector, whose echo is the header block
  exactly as received (wire order, case, duplicates, raw bytes);
- :data:`WEAK`: a JSON echo in the style of httpbin's ``/headers``
  (``{"headers": {"Name": "value", ...}}``), for users without a server. Such an
  echo merges duplicate headers, loses their order and normalises the case of
  names, so a header added a second time, re-cased or moved cannot be seen; the
  probe compares what is left (names case-insensitively, merged values).

The request is browser-like (:func:`sent_block`), after OONI's HTTP Header Field
Manipulation test: a proxy that strips or rewrites ``Accept-Language``,
``Accept-Encoding`` or ``Cookie`` shows, not only one that adds. With
``scramble_case`` the header names go out in random case, as OONI's test sends
them, so a middlebox that re-writes the block (and re-cases names on the way)
shows even when it adds nothing: :attr:`ProbeResult.recased`. A proxy that
rebuilds the block also moves headers (squid puts ``Host`` after the others):
:attr:`ProbeResult.moved`.

The whole exchange has one deadline (``timeout``): a server that trickles a byte
at a time cannot stretch it.
"""

from __future__ import annotations

import dataclasses
import secrets
import socket
import string
import time
import urllib.parse
import zlib
from collections import deque
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import orjson

from capture.formats.jsonl import finding_to_dict
from capture.http.echo import (
    ECHO_HEADER,
    carries_echo,
    echo_believed,
    echo_of,
    omitted_of,
    touched_findings,
    transit,
)
from capture.http.echo_key import echo_key, signature_of
from capture.http.http1 import (
    MAX_HEAD,
    MalformedHead,
    find_head_end,
    looks_like_response,
    parse_chunk_size,
    parse_response_head,
    response_framing,
)
from capture.model import Finding, Header, Request, Response, Transit, identities_seen
from capture.pipeline import Detector
from capture.text import counted, for_json, jsonable, printable

MAX_RESPONSE = 1 << 20
"""Most bytes of an answer read (the head itself is read up to ``MAX_HEAD``, the same
limit the reflector puts on request heads, and its echo stays below it)."""

STRONG = "reflector"
"""The echo is headerwatch's reflector: the header block exactly as received."""
WEAK = "json-echo"
"""The echo is a JSON object of headers (httpbin style): merged, unordered, re-cased."""

JSON_ECHO_CAVEAT = (
    "a JSON echo merges duplicate headers, loses their order and normalises name case: "
    "a header added twice, re-cased or moved is not seen (httpbin also hides proxy "
    "headers such as Via and X-Forwarded-For)"
)

# Headers public echo services add themselves (behind their own load balancers),
# not the network between the probe and them.
_ECHO_SERVICE_HEADERS = frozenset({"x-amzn-trace-id"})


class ProbeError(Exception):
    """The probe could not be made or answered; ``str()`` is one line for the user."""


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """One probe: what was sent, what the reflector received, and the difference."""

    url: str
    ts: float
    sent: tuple[Header, ...]
    received: tuple[Header, ...]
    diff: Transit
    findings: tuple[Finding, ...]
    """Findings in the headers that were added or rewritten in transit."""
    echo: str = STRONG
    """What kind of echo the verdict rests on: :data:`STRONG` or :data:`WEAK`."""
    omitted: int = 0
    """Headers the reflector received but left out of a too-large echo (not compared)."""
    recased: tuple[tuple[str, str], ...] = ()
    """``(sent name, received name)`` of headers whose name arrived in another case
    (a normalising middlebox), in received order; always empty for a :data:`WEAK`
    echo, which cannot tell. :func:`capture.http.echo.transit` compares names
    case-insensitively, so these are not among :attr:`diff`'s changes."""
    scrambled: bool = False
    """The header names were sent in scrambled case (``scramble_case``)."""
    label: str = ""
    """The tester's label of the network (``probe --label``), for a study's grouping."""
    client: str = ""
    """The probe's own address as its socket had it (the tether's side of the path)."""
    moved: tuple[tuple[str, int, int], ...] = ()
    """``(name, place sent, place received)`` of sent headers that arrived out of
    their order (:func:`moved`); always empty for a :data:`WEAK` echo, which loses
    the order."""

    @property
    def identities(self) -> tuple[Finding, ...]:
        """The findings that identify a subscriber or device."""
        return tuple(f for f in self.findings if f.is_identity)


# A current mobile Chrome, so that a carrier that enriches only browsers' requests
# enriches this one, with the probe's own name at the end for the server's logs.
_BROWSER = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)


def _user_agent() -> str:
    try:
        return f"{_BROWSER} headerwatch-probe/{metadata.version('headerwatch')}"
    except metadata.PackageNotFoundError:
        return f"{_BROWSER} headerwatch-probe"


COOKIE_NAME = "hw_probe"
"""The probe's cookie; its value is fresh letters each time (:func:`sent_block`)."""


def _cookie_token() -> str:
    # Letters only: no run of digits a detector could read as a number, no fixed
    # value that could be, or collide with, someone's canary.
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(20))


def scramble(name: str) -> str:
    """``name`` in random letter case, never as sent by ordinary clients (its own
    spelling, all lower, all upper or capitalised words), as OONI's
    ``random_capitalization`` does."""
    ordinary = {name, name.lower(), name.upper(), "-".join(w.capitalize() for w in name.split("-"))}
    if sum(c.isalpha() for c in name) < 3:
        return name  # too short to spell differently from all of them
    while True:
        out = "".join(c.upper() if secrets.randbits(1) else c.lower() for c in name)
        if out not in ordinary:
            return out


def sent_block(
    host_header: str, scramble_case: bool = False, detector: Detector | None = None
) -> tuple[Header, ...]:
    """The header block a probe sends: Host first, then what a browser sends.

    After OONI's HTTP Header Field Manipulation test (ooni/spec,
    nettests/ts-006-header-field-manipulation.md: User-Agent, Accept,
    Accept-Encoding, Accept-Language, each name in random capitalization), with the
    Connection, Cache-Control and Cookie a browser adds: a carrier that strips or
    rewrites any of them shows as removed or changed. ``Accept-Encoding`` offers
    only what the probe can decode. The Cookie's value is fresh random letters, and
    with a ``detector`` it is drawn again until nothing in the block is found (a
    rewritten Cookie is compared, and must not bring the probe's own token in as an
    identity).
    """
    for _ in range(8):
        block: tuple[Header, ...] = (
            ("Host", host_header),
            ("User-Agent", _user_agent()),
            ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
            ("Accept-Language", "en-GB,en;q=0.9"),
            ("Accept-Encoding", "gzip, deflate"),
            ("Connection", "close"),
            ("Cache-Control", "no-cache"),
            ("Cookie", f"{COOKIE_NAME}={_cookie_token()}"),
        )
        if detector is None or not detector.detect(
            Request(0.0, 0, 1, "", 0, host_header, 80, "GET", "/", "HTTP/1.1", block)
        ):
            break
    if scramble_case:
        block = tuple((scramble(name), value) for name, value in block)
    return block


def _pairs(sent: tuple[Header, ...], received: tuple[Header, ...]) -> list[int | None]:
    """For each received header, the index of the sent header it is (None: added on
    the way). Headers are paired by name (case-insensitively) and value first, then
    what is left by name alone (a changed value), so a header of the same name added
    on the way is not mistaken for the sent one."""
    by_pair: dict[tuple[str, str], deque[int]] = {}
    for at, (name, value) in enumerate(sent):
        by_pair.setdefault((name.lower(), value), deque()).append(at)
    matched: list[int | None] = []
    for name, value in received:
        queue = by_pair.get((name.lower(), value))
        matched.append(queue.popleft() if queue else None)
    by_name: dict[str, deque[int]] = {}
    for (lower, _), queue in by_pair.items():
        by_name.setdefault(lower, deque()).extend(queue)
    for k, ((name, _), paired) in enumerate(zip(received, matched, strict=True)):
        if paired is None:
            queue = by_name.get(name.lower())
            matched[k] = queue.popleft() if queue else None
    return matched


def recased(sent: tuple[Header, ...], received: tuple[Header, ...]) -> tuple[tuple[str, str], ...]:
    """``(sent name, received name)`` of the sent headers that arrived with their name
    in another case, in received order (:func:`_pairs` tells which is which)."""
    return tuple(
        (sent[at][0], name)
        for (name, _), at in zip(received, _pairs(sent, received), strict=True)
        if at is not None and sent[at][0] != name
    )


def moved(
    sent: tuple[Header, ...], received: tuple[Header, ...]
) -> tuple[tuple[str, int, int], ...]:
    """``(name, place sent, place received)`` (1-based, in their blocks) of the sent
    headers that arrived out of their order, in received order: those outside the
    longest run the two blocks keep in common order. A proxy that rebuilds the
    request moves headers (squid puts Host after the others) even when it adds
    nothing; added and removed headers do not count as moves."""
    pairs = [(k, at) for k, at in enumerate(_pairs(sent, received)) if at is not None]
    # The sent places in received order: the longest increasing run stayed in order.
    places = [at for _, at in pairs]
    n = len(places)
    best = [1] * n
    back: list[int | None] = [None] * n
    for i in range(n):
        for j in range(i):
            if places[j] < places[i] and best[j] + 1 > best[i]:
                best[i], back[i] = best[j] + 1, j
    kept: set[int] = set()
    end = max(range(n), key=best.__getitem__, default=None)
    while end is not None:
        kept.add(end)
        end = back[end]
    return tuple(
        (received[k][0], at + 1, k + 1) for i, (k, at) in enumerate(pairs) if i not in kept
    )


# RFC 3986 §3.3 and §3.4: what a path and a query may hold as they are; "%" too, so
# that the URL's own escapes go out unchanged. Anything else (a space, a control
# character, another script) is percent-encoded: sent raw it makes an invalid request
# line that a proxy on the way rewrites or refuses, and the test would measure that.
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"


def _target(url: str) -> tuple[str, int, str, str]:
    """Host, port, Host header and request target of an http:// URL."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError as exc:
        raise ProbeError(f"{url}: not a valid URL ({exc})") from None
    if parts.scheme == "https":
        raise ProbeError(
            f"{url}: carriers cannot add headers inside TLS; probe over http:// instead"
        )
    try:
        port = parts.port
    except ValueError:
        raise ProbeError(f"{url}: bad port") from None
    if port == 0:
        raise ProbeError(f"{url}: bad port")
    if parts.scheme != "http" or not parts.hostname:
        raise ProbeError(f"{url}: not an http:// URL")
    try:
        host = parts.hostname.encode("idna").decode("ascii")
    except UnicodeError:
        raise ProbeError(f"{url}: bad host name") from None
    # RFC 9110 §7.2: Host is the host and port alone; a user name and password in
    # the URL are never sent. Port 80 is left out, as browsers and curl leave it
    # (RFC 9110 §4.2.1's default): a proxy that writes Host its own way would
    # otherwise show a change made by the probe's spelling.
    shown_port = "" if port in (None, 80) else f":{port}"
    host_header = (f"[{host}]" if ":" in host else host) + shown_port
    token = secrets.token_hex(8)  # a fresh URL: no cache on the way can answer for the reflector
    path = urllib.parse.quote(parts.path or "/", safe=_PATH_SAFE)
    query = f"{urllib.parse.quote(parts.query, safe=_QUERY_SAFE)}&" if parts.query else ""
    return host, port or 80, host_header, f"{path}?{query}headerwatch-probe={token}"


MAX_INTERIM = 16
"""Interim (1xx) responses read past before the final one: a server sends one or two;
one sending 40,000 made each read of the probe parse them all again, past its
--timeout."""


def past_interim(answer: bytes) -> bytes:
    """``answer`` from its final response on: the interim ones before it (``100
    Continue``, ``103 Early Hints``; RFC 9110 §15.2) carry no echo, and the probe read
    the first head it met (an echo behind a 103 was "no echo"). At most
    :data:`MAX_INTERIM` of them: past that the answer is the interim head it is."""
    return answer[_interim_end(answer) :]


def _interim_end(data: bytes | bytearray) -> int:
    """Where the interim responses at the start of ``data`` end, at most
    :data:`MAX_INTERIM` of them (each head at most :data:`MAX_HEAD`): walked by
    offset, each head alone copied (the probe asks at each read)."""
    start = 0
    for _ in range(MAX_INTERIM):
        end = find_head_end(data, start)
        if end < 0 or end - start > MAX_HEAD:
            return start
        try:
            status = parse_response_head(bytes(data[start:end])).status
        except MalformedHead:
            return start
        if not 100 <= status < 200 or status == 101:
            return start
        start = end
    return start


def _complete(data: bytearray) -> bool:
    """Whether ``data`` holds a whole response with a known end (no body, or a
    Content-Length): a proxy on the way may keep the connection open although the
    probe asked to close it."""
    start = _interim_end(data)
    end = find_head_end(data, start)
    if end < 0:
        return False
    try:
        head = parse_response_head(bytes(data[start:end]))
    except MalformedHead:
        return False
    if head.status < 100 or head.status == 101:
        return False  # no status, or a tunnel: no answer of the probe's
    if head.status < 200:
        return True  # interim answers past MAX_INTERIM (an attacker's): read no more
    framing = response_framing("GET", head.status, head.headers)
    if framing.kind == "length":
        return len(data) >= end + framing.length
    return framing.kind == "none"


def _exchange(host: str, port: int, raw: bytes, timeout: float) -> tuple[bytes, str]:
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    # One deadline for connect, send and every read: a socket timeout alone restarts
    # with each byte, and a server sending one byte a second never reaches it.
    deadline = time.monotonic() + timeout

    def left() -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        return remaining

    data = bytearray()
    try:
        with socket.create_connection((host, port), timeout=left()) as sock:
            sock.settimeout(left())
            client = str(sock.getsockname()[0])
            sock.sendall(raw)
            while len(data) < MAX_RESPONSE and not _complete(data):
                sock.settimeout(left())
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
            return bytes(data), client
    except socket.gaierror as exc:
        raise ProbeError(f"{host}: cannot resolve ({exc.strerror})") from None
    except ConnectionRefusedError:
        raise ProbeError(
            f"{where}: connection refused (is `headerwatch reflect --port {port}` running there?)"
        ) from None
    except TimeoutError:
        # A server that began to answer was not silent: say the answer was cut short.
        answer = f"no complete answer ({counted(len(data), 'byte')})" if data else "no answer"
        raise ProbeError(f"{where}: {answer} within {timeout:g} s") from None
    except OSError as exc:
        raise ProbeError(f"{where}: {exc.strerror or exc}") from None


def probe(
    url: str,
    detector: Detector | None = None,
    timeout: float = 10.0,
    scramble_case: bool = False,
    label: str = "",
) -> ProbeResult:
    """Send one probe to the reflector at ``url`` and compare what it received;
    ``scramble_case`` sends the header names in random case (see :func:`sent_block`);
    ``label`` names the network tested (kept in the result)."""
    host, port, host_header, target = _target(url)
    sent = sent_block(host_header, scramble_case, detector)
    head = f"GET {target} HTTP/1.1\r\n" + "".join(f"{n}: {v}\r\n" for n, v in sent) + "\r\n"
    ts = time.time()
    answer, client = _exchange(host, port, head.encode("ascii"), timeout)
    answer = past_interim(answer)
    end = find_head_end(answer[:MAX_HEAD])
    if end < 0:
        if len(answer) > MAX_HEAD and looks_like_response(answer):
            # A reflector's head always fits (its echo is capped below this).
            raise ProbeError(
                f"{url}: the answer's head is longer than {MAX_HEAD // 1024} KiB, "
                "what probe reads: not a reflector's answer"
            )
        raise ProbeError(
            f"{url}: the answer is not an HTTP response ({counted(len(answer), 'byte')})"
        )
    try:
        response_head = parse_response_head(answer[:end])
    except MalformedHead as exc:
        raise ProbeError(f"{url}: the answer is not an HTTP response ({exc})") from None
    response = Response(
        ts, response_head.version, response_head.status, response_head.reason, response_head.headers
    )
    received = echo_of(response)
    key = echo_key()
    if (
        received is not None
        and key is not None
        and not echo_believed(sent, received, response.headers, key)
    ):
        if signature_of(response.headers) is None:
            raise ProbeError(
                f"{url}: answered {response.status} with an echo not signed with the echo "
                "key: a reflector signs only with --echo-key, and only requests whose Host "
                f"names it (here {printable(host_header)!r}: reflect --name HOST gives it "
                "another name), or this is not yours: not believed"
            )
        raise ProbeError(
            f"{url}: answered {response.status} with an echo not signed with the echo key "
            "(another reflector's, or written on the way): not believed"
        )
    kind, omitted = STRONG, 0
    recased_names: tuple[tuple[str, str], ...] = ()
    reordered: tuple[tuple[str, int, int], ...] = ()
    if received is not None:
        changes = transit(sent, received)
        recased_names = recased(sent, received)
        reordered = moved(sent, received)
        omitted = omitted_of(response.headers)
        if omitted:
            # A sent header missing from a capped echo may be among those left out:
            # "removed" cannot be told, only what was added.
            changes = dataclasses.replace(changes, removed=())
    elif carries_echo(response.headers):
        # Not "without": the header is there, and someone should look at what became of it.
        raise ProbeError(
            f"{url}: answered {response.status} with an {ECHO_HEADER} that is not a "
            "readable echo (cut or rewritten on the way?)"
        )
    elif key is not None:
        raise ProbeError(
            f"{url}: answered {response.status} without a signed {ECHO_HEADER}: with "
            "--echo-key only a reflector's signed echo is believed"
        )
    else:
        received = json_echo(_body(answer, end, response.headers))
        if received is None:
            raise ProbeError(
                f"{url}: answered {response.status} without {ECHO_HEADER} or a JSON echo "
                '({"headers": {...}}): is this `headerwatch reflect` or an echo service, '
                "and is nothing on the way stripping its headers?"
            )
        kind = WEAK
        changes = json_echo_diff(sent, received)
    if key is not None:
        changes = dataclasses.replace(changes, signed=True)
    findings: tuple[Finding, ...] = ()
    if detector is not None and changes.touched_names:
        as_received = Request(ts, 0, 1, "", 0, host, port, "GET", target, "HTTP/1.1", received)
        findings = touched_findings(sent, changes, detector.detect(as_received))
    return ProbeResult(
        url,
        ts,
        sent,
        received,
        changes,
        findings,
        kind,
        omitted,
        recased_names,
        scramble_case,
        label,
        client,
        reordered,
    )


def _body(answer: bytes, end: int, headers: tuple[Header, ...]) -> bytes:
    """The body of a response read until complete or closed (Content-Length honoured),
    decoded if it came gzip- or deflate-encoded (the probe offers both)."""
    framing = response_framing("GET", 200, headers)
    if framing.kind == "length":
        body = answer[end : end + framing.length]
    elif framing.kind == "chunked":
        body = _dechunk(answer, end)
    else:
        body = answer[end:]
    coding = next((v.strip().lower() for n, v in headers if n.lower() == "content-encoding"), "")
    return _decoded(body, coding)


def _decoded(body: bytes, coding: str) -> bytes:
    """``body`` decoded from ``coding`` (at most :data:`MAX_RESPONSE` bytes out); what
    cannot be decoded is no JSON echo (empty)."""
    wbits = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS}.get(coding)
    if coding == "deflate":
        # RFC 9110's deflate is zlib-wrapped; some servers send it raw.
        wbits = zlib.MAX_WBITS if body[:1] == b"\x78" else -zlib.MAX_WBITS
    if coding in ("", "identity") or wbits is None:
        return body
    try:
        return zlib.decompressobj(wbits).decompress(body, MAX_RESPONSE)
    except zlib.error:
        return b""


def _dechunk(data: bytes, pos: int) -> bytes:
    """A chunked body (read to the connection's end), as far as it is whole."""
    out = bytearray()
    while True:
        nl = data.find(b"\n", pos)
        if nl < 0:
            return bytes(out)
        try:
            size = parse_chunk_size(data[pos:nl])
        except MalformedHead:
            return bytes(out)
        if size == 0:
            return bytes(out)
        out += data[nl + 1 : nl + 1 + size]
        pos = nl + 1 + size
        pos += 2 if data.startswith(b"\r\n", pos) else 1


def json_echo(body: bytes) -> tuple[Header, ...] | None:
    """The headers of an httpbin-style JSON echo (``{"headers": {name: value}}``), or
    None when ``body`` is not one. A list value (some services keep repeats that way)
    becomes one header per item."""
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    headers = obj.get("headers") if isinstance(obj, dict) else None
    if not isinstance(headers, dict) or not headers:
        return None
    out: list[Header] = []
    for name, value in headers.items():
        values = value if isinstance(value, list) else [value]
        if not all(isinstance(v, str) for v in values):
            return None
        out.extend((str(name), v) for v in values)
    return tuple(out)


def _merged(headers: tuple[Header, ...]) -> dict[str, Header]:
    """Headers as a JSON echo shows them: one per name (lower-cased key), repeats
    joined with ", " in order (RFC 9110 §5.3), the last spelling of the name."""
    out: dict[str, Header] = {}
    for name, value in headers:
        key = name.lower()
        if key in out:
            out[key] = (name, f"{out[key][1]}, {value}")
        else:
            out[key] = (name, value)
    return out


def _same_value(a: str, b: str) -> bool:
    # Services join repeats with "," or ", ": compare the items, not the separators.
    return [x.strip() for x in a.split(",")] == [x.strip() for x in b.split(",")]


def json_echo_diff(sent: tuple[Header, ...], received: tuple[Header, ...]) -> Transit:
    """Headers injected, removed and changed, as far as a JSON echo can tell (see
    :data:`WEAK`): by name, case-insensitively, with repeated headers merged on both
    sides. Headers echo services add themselves (``X-Amzn-Trace-Id``) are not counted."""
    want = _merged(sent)
    got = _merged(tuple(h for h in received if h[0].lower() not in _ECHO_SERVICE_HEADERS))
    injected = tuple(h for key, h in got.items() if key not in want)
    removed = tuple(h for key, h in want.items() if key not in got)
    changed = tuple(
        (h[0], want[key][1], h[1])
        for key, h in got.items()
        if key in want and not _same_value(want[key][1], h[1])
    )
    return Transit(received, injected, removed, changed)


def result_to_dict(result: ProbeResult) -> dict[str, Any]:
    """A probe as one JSON object (``headerwatch probe --format jsonl``)."""
    out: dict[str, Any] = jsonable(
        {
            "url": result.url,
            "ts": result.ts,
            "sent": result.sent,
            "received": result.received,
            "injected": result.diff.injected,
            "removed": result.diff.removed,
            "changed": result.diff.changed,
        }
    )
    out["findings"] = [finding_to_dict(f) for f in result.findings]
    out["echo"] = result.echo
    out["omitted"] = result.omitted
    out["recased"] = jsonable(result.recased)
    out["scrambled"] = result.scrambled
    out["moved"] = jsonable(result.moved)
    out["client"] = result.client
    if result.diff.signed:
        out["echo_signed"] = True
    if result.label:
        out["label"] = for_json(result.label)
    return out


def failure_to_dict(url: str, ts: float, error: str, label: str = "") -> dict[str, Any]:
    """A probe that could not be made or had no echo, as one JSON object: a study counts
    it as inconclusive (``probe --format jsonl`` writes it in the result's place)."""
    out: dict[str, Any] = {"url": for_json(url), "ts": ts, "error": for_json(error)}
    if label:
        out["label"] = for_json(label)
    return out


def describe(result: ProbeResult) -> list[str]:
    """The probe for people: one line of verdict, then each difference (terminal-safe)."""
    d = result.diff
    ids = identities_seen(result.findings)  # a canary's confirmation is not a second one
    if not d.altered:
        verdict = "nothing added, removed or changed on the way"
    else:
        verdict = (
            f"{counted(len(d.injected), 'header')} added, {len(d.removed)} removed, "
            f"{len(d.changed)} changed on the way"
        )
        if ids:
            verdict += f"; {counted(ids, 'identity', 'identities')} injected"
    if result.recased:
        verdict += f"; {counted(len(result.recased), 'header name')} re-cased"
    elif result.scrambled and result.echo == STRONG:
        verdict += "; the scrambled case of the names arrived intact"
    if result.moved:
        verdict += f"; {counted(len(result.moved), 'header')} moved"
    lines = [f"{printable(result.url)}: {verdict}"]
    if result.echo == WEAK:
        lines.append(f"  weak verdict: {JSON_ECHO_CAVEAT}; `headerwatch reflect` sees all of it")
    elif result.diff.signed:
        lines.append("  the echo is signed with the echo key: your reflector's")
    if result.omitted:
        lines.append(
            f"  the echo left out {counted(result.omitted, 'header')} that arrived (a header "
            "block larger than the echo can carry): they are not compared"
        )
    by_name: dict[str, list[Finding]] = {}
    for finding in result.findings:
        by_name.setdefault(finding.name.lower(), []).append(finding)
    for name, value in d.injected:
        found = by_name.get(name.lower(), [])
        note = "; ".join(f"{f.kind} {printable(f.normalized)}" for f in found)
        lines.append(
            f"  + {printable(name)}: {printable(value)}" + (f"   [{note}]" if note else "")
        )
    for name, value in d.removed:
        lines.append(f"  - {printable(name)}: {printable(value)}")
    for name, sent, received in d.changed:
        found = by_name.get(name.lower(), [])
        note = "; ".join(f"{f.kind} {printable(f.normalized)}" for f in found)
        lines.append(
            f"  ~ {printable(name)}: {printable(sent)} → {printable(received)}"
            + (f"   [{note}]" if note else "")
        )
    if result.recased:
        lines.append(f"  re-cased: {counted(len(result.recased), 'header')}")
        lines.extend(f"    {printable(a)} → {printable(b)}" for a, b in result.recased)
    if result.moved:
        lines.append(f"  moved: {counted(len(result.moved), 'header')} out of the order sent")
        lines.extend(
            f"    {printable(name)}: {ordinal(sent)} sent → {ordinal(got)} received"
            for name, sent, got in result.moved
        )
    return lines


def ordinal(n: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``4th``, ..., ``11th``, ``12th``, ``13th``, ``21st``."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
