#!/usr/bin/env python3
"""Generate a large, realistic HTTP capture for the benchmarks.

Keep-alive connections from many clients, browser-like request heads (~500
bytes, a tenth of them split over 2-4 segments), responses with bodies over
several segments, client ACKs, a carrier-style identity header on some
requests, and non-HTTP noise: TLS connections and UDP (DNS) datagrams. As on real
links, a fifth of the connections are IPv6, a tenth are behind a VLAN tag, and a
few segments are sent twice or arrive out of order (:data:`SHAPES`).
``--traffic ad`` makes the requests analytics beacons and ad calls instead:
8-15 cookies and query parameters each, names with random suffixes (tens of
thousands of distinct names), long opaque values, a third of them POSTed as a form
or JSON (as SDKs send them), and a tenth of the clients sending
an identity with each request (numbers of eight countries, IMEIs, addresses: each
client its own); ``--traffic ad-phone`` the same requests from one test phone, a tenth
with one of its identities. ``--traffic recorded`` replays request heads that
browsers and apps really sent (the HAR files under tests/data, with their
provenance there), each client's opaque values its own.

    python bench/gen_capture.py OUT.pcap --requests 50000 --connections 5000
    python bench/gen_capture.py OUT.pcap --requests 20000 --traffic ad --bodies small
    python bench/gen_capture.py OUT.pcap --requests 20000 --traffic ad-phone --bodies small
    python bench/gen_capture.py OUT.pcap --requests 20000 --traffic recorded --bodies small
"""

from __future__ import annotations

import argparse
import json
import random
import re
import struct
import sys
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from capture.net.decode import ACK
from tests.packets.craft import Conversation, tcp_frame
from tests.packets.writer import write_pcap

UAS = [
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "okhttp/4.12.0",
    "Dalvik/2.1.0 (Linux; U; Android 13; SM-S911B Build/TP1A.220624.014)",
]
HOSTS = [f"www.site{i}.example" for i in range(200)]


def _udp_frame(rng: random.Random) -> bytes:
    payload = bytes(rng.getrandbits(8) for _ in range(rng.randint(40, 120)))
    udp = struct.pack("!HHHH", rng.randint(1024, 65535), 53, 8 + len(payload), 0) + payload
    ip = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        20 + len(udp),
        0,
        0,
        64,
        17,
        0,
        bytes([10, 1, 0, 9]),
        bytes([192, 0, 2, 53]),
    )
    return bytes.fromhex("020000000002020000000001") + b"\x08\x00" + ip + udp


# The shapes of real traffic besides its requests, in every mix: they cost a reader
# that takes a fast path for the common frame and a slow one for the rest (until
# aba16be an IPv6 connection's acknowledgements and response bodies were all decoded
# in Python: a fifth of them made a scan 39% slower).
SHAPES = {"ipv6": 0.2, "vlan": 0.1, "resent": 0.01, "swapped": 0.01}
"""Shares of connections over IPv6 and behind an 802.1Q tag, and of segments sent
twice (a retransmission) or swapped with the next (out of order)."""
VERSION = 4
"""Of the captures made here: scan_bench.py and live_bench.py name their cached
captures with it, so that a changed mix is generated again (2: SHAPES, POSTs; 3: the
recorded mix keeps the names inside encoded values; 4: its redrawn numbers do not
start with 0)."""


def _shaken(rng: random.Random, segments: list[tuple[float, bytes]]) -> list[tuple[float, bytes]]:
    """``segments`` with a few of them sent twice or swapped with the next
    (:data:`SHAPES`)."""
    out = []
    index = 0
    while index < len(segments):
        roll = rng.random()
        if roll < SHAPES["swapped"] and index + 1 < len(segments):
            out += [segments[index + 1], segments[index]]
            index += 2
            continue
        out.append(segments[index])
        if roll > 1 - SHAPES["resent"]:
            out.append(segments[index])
        index += 1
    return out


def _posted(rng: random.Random, head: bytes) -> bytes:
    """An ad request (:func:`_ad_request`) with its query sent as a POST body instead,
    a form (three in ten) or JSON (three in twenty), as analytics SDKs send beacons;
    otherwise ``head`` as it is."""
    roll = rng.random()
    if roll >= 0.45:
        return head
    line, rest = head.decode().split("\r\n", 1)
    target, _, query = line.split(" ")[1].partition("?")
    if roll < 0.3:
        body, kind = query, "application/x-www-form-urlencoded"
    else:
        pairs = dict(pair.split("=", 1) for pair in query.split("&") if "=" in pair)
        body, kind = json.dumps(pairs), "application/json"
    data = body.encode()
    return (
        f"POST {target} HTTP/1.1\r\n{rest[:-2]}"
        f"Content-Type: {kind}\r\nContent-Length: {len(data)}\r\n\r\n"
    ).encode() + data


def _request(rng: random.Random, host: str, n: int, identity: bool) -> bytes:
    path = f"/content/{rng.randint(1, 10**6)}/page{n}.html?session={rng.getrandbits(40):x}&v={n}"
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {host}",
        f"User-Agent: {rng.choice(UAS)}",
        "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8",
        "Accept-Language: en-GB,en;q=0.9",
        "Accept-Encoding: gzip, deflate",
        f"Referer: http://{host}/",
        f"Cookie: _ga=GA1.2.{rng.randint(10**8, 10**9)}.1700000000; sid={rng.getrandbits(64):x}",
        f'If-None-Match: "{rng.getrandbits(48):x}"',
        "Connection: keep-alive",
    ]
    if identity:
        lines.insert(8, "x-up-calling-line-id: 447700900123")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


# -- ad and analytics traffic ------------------------------------------------------
# Tag managers and analytics SDKs send many cookies and parameters a request, many of
# them under names with random suffixes (one per container, experiment or session),
# with long opaque values: the shape that made identity detection most of the scan.
_AD_HOSTS = [f"{kind}{i}.adtech{i % 37}.example" for i in range(120) for kind in ("px", "t")]
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _opaque(rng: random.Random, low: int = 20, high: int = 64) -> str:
    return "".join(rng.choice(_B64) for _ in range(rng.randint(low, high)))


def _suffixed(rng: random.Random, stem: str) -> str:
    """A name as tag managers make them: a stem and a random suffix."""
    return f"{stem}{rng.getrandbits(40):x}"


_AD_STEMS = ("_hjSession_", "gtm_", "ev_", "_uetsid_", "ab_", "exp_", "AMCV_", "_pk_id_", "cx_")
_AD_PARAMS = ("v", "tid", "cid", "ul", "sr", "dl", "dt", "en", "ep.page", "_p", "gcs", "seg")


# The identities of ad traffic come from many devices, as at a gateway or in a study's
# pooled capture, not from one phone. A tenth of the devices (clients) leak: every
# request of one carries its identity, in the one form its SDK or carrier uses. So
# each number, IMEI and address is new to the detector at its device's first request
# (the cost of a first reading, libphonenumber's parse, ~100 us a number, is paid as
# on real traffic) and comes again with its next ones. A quarter of the leaking
# devices are the researcher's own phone: scan_bench's canaries.
OWN_PHONE = ("447700900123", "490154203237518", "alice@example.com")
"""(MSISDN, IMEI, e-mail) of the test phone: scan_bench.py's canaries."""

# International prefixes of mobile ranges and the number's length in digits. Half the
# subscribers are on the home network (UK, as scan_bench's --region); the others are
# roamers: US, Germany, France, India, Brazil (Sao Paulo), South Africa (Vodacom),
# Japan. Random digits after them make mostly valid mobiles, and some numbers no
# range holds.
_HOME_RANGE = ("447", 12)
_ROAMING_RANGES = (
    ("1201", 11),
    ("1415", 11),
    ("4915", 13),
    ("4917", 13),
    ("336", 11),
    ("337", 11),
    ("919", 12),
    ("5511", 13),
    ("2782", 11),
    ("8190", 12),
)

SUBSCRIBERS = 2000
"""How many subscribers the identities of an ad capture come from."""


def _luhn_digit(digits: str) -> str:
    """The check digit that makes ``digits`` + it pass the Luhn test (an IMEI's 15th)."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return str((10 - total % 10) % 10)


def _subscriber(rng: random.Random) -> tuple[str, str, str]:
    """(MSISDN, IMEI, e-mail) of one of SUBSCRIBERS subscribers, or the test phone's."""
    if rng.random() < 0.25:
        return OWN_PHONE
    who = random.Random(rng.randrange(SUBSCRIBERS))
    prefix, length = _HOME_RANGE if who.random() < 0.5 else who.choice(_ROAMING_RANGES)
    msisdn = prefix + "".join(str(who.randrange(10)) for _ in range(length - len(prefix)))
    tac_serial = "35" + "".join(str(who.randrange(10)) for _ in range(12))
    return msisdn, tac_serial + _luhn_digit(tac_serial), f"user{who.randrange(10**6)}@example.org"


def _ad_identity(
    rng: random.Random, subscriber: tuple[str, str, str] | None = None
) -> tuple[str, str, str]:
    """(where, name, value) of one identity of ``subscriber`` (MSISDN, IMEI, e-mail;
    default: :func:`_subscriber`'s), in one of the forms apps and gateways use."""
    msisdn, imei, email = subscriber or _subscriber(rng)
    return rng.choice(
        [
            ("header", "x-up-calling-line-id", msisdn),
            ("header", "X-MSISDN", msisdn),
            ("query", "phone", "%2B" + msisdn),
            ("query", "imei", imei),
            ("cookie", "msisdn", msisdn.encode().hex()),
            ("query", "email", email.replace("@", "%40")),
            ("header", "X-Carrier-Sub", msisdn),
        ]
    )


def _ad_request(
    rng: random.Random, host: str, n: int, identity: tuple[str, str, str] | None
) -> bytes:
    """An analytics beacon or ad call: 8-15 cookies and query parameters together, and
    ``identity`` (:func:`_ad_identity`'s where, name and value) if given."""
    total = rng.randint(8, 15)
    params = rng.randint(3, total - 3)
    query = []
    for index in range(params):
        roll = rng.random()
        if roll < 0.35:
            name = _suffixed(rng, rng.choice(_AD_STEMS))
        else:
            name = _AD_PARAMS[index % len(_AD_PARAMS)]
        if roll < 0.6:
            value = _opaque(rng)
        elif roll < 0.8:
            value = str(1_700_000_000_000 + rng.randint(0, 10**9))
        else:
            value = f"https%3A%2F%2Fwww.site{rng.randint(1, 999)}.example%2Fp%2F{n}"
        query.append(f"{name}={value}")
    cookies = [f"_ga=GA1.2.{rng.randint(10**8, 10**9)}.1700000000"]
    for _ in range(total - params - 1):
        cookies.append(f"{_suffixed(rng, rng.choice(_AD_STEMS))}={_opaque(rng, 16, 48)}")
    headers = [
        f"Host: {host}",
        f"User-Agent: {rng.choice(UAS)}",
        "Accept: image/avif,image/webp,*/*",
        f"Referer: http://www.site{rng.randint(1, 999)}.example/",
    ]
    if identity is not None:
        where, name, value = identity
        if where == "header":
            headers.append(f"{name}: {value}")
        elif where == "query":
            query.insert(rng.randrange(len(query) + 1), f"{name}={value}")
        else:
            cookies.insert(rng.randrange(len(cookies) + 1), f"{name}={value}")
    headers.append(f"Cookie: {'; '.join(cookies)}")
    headers.append("Connection: keep-alive")
    lines = [f"GET /collect?{'&'.join(query)} HTTP/1.1", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


# -- recorded traffic --------------------------------------------------------------
# What the generators above cannot give: the names, orders, encodings and lengths of
# requests as browsers, trackers and app SDKs really send them. The HAR files bundled
# for the tests (1,609 requests to 250 hosts: five news and magazine sites, their ad
# and analytics partners, a carrier's own site, two Android apps' SDKs; provenance and
# licences in each folder's README)
# are replayed as plain HTTP/1.1 heads. Each client walks them in order from its own
# starting point, and its opaque values are its own: every run of 8 or more letters
# and digits in its cookies, targets' queries, bodies and X- headers is redrawn
# (digits as digits, letters in their case), the same run the same way for the
# client's every request, as a browser resends its cookies.
_RECORDED = ("tests/data/real", "tests/data/heldout/tweasel-recorded")
_REDRAWN = re.compile(r"%[0-9A-Fa-f]{2}|[A-Za-z0-9]{8,}")
# Not copied: HTTP/2's pseudo-headers and what the replayed body changes.
_RECOMPUTED = {"host", "content-length", "transfer-encoding", "content-encoding"}


def _recorded_heads() -> list[tuple[str, str, str, list[tuple[str, str]], bytes]]:
    """(method, host, target, headers, body) of every plain or TLS HTTP request in the
    bundled HAR files, in file and capture order."""
    root = Path(__file__).resolve().parent.parent
    heads = []
    for folder in _RECORDED:
        for har in sorted((root / folder).glob("*.har")):
            for entry in json.loads(har.read_text())["log"]["entries"]:
                request = entry["request"]
                scheme, _, rest = request["url"].partition("://")
                if scheme.lower() not in ("http", "https"):
                    continue
                host, _, target = rest.partition("/")
                headers = [
                    (h["name"], h["value"])
                    for h in request["headers"]
                    if re.fullmatch(r"[A-Za-z0-9_-]+", h["name"])
                    and h["name"].lower() not in _RECOMPUTED
                ]
                body = (request.get("postData") or {}).get("text", "").encode()
                heads.append((request["method"], host, "/" + target, headers, body))
    return heads


def _redraw(rng: random.Random, drawn: dict[str, str], text: str) -> str:
    """``text`` with its runs of 8 or more letters and digits redrawn (percent escapes
    kept; a run of hex digits stays hex), each run as ``drawn`` has it, or newly and
    then kept there. A run that ends a name is kept: a key of JSON inside the value
    (``"key":``, percent-encoded or not) or a name of a query it carries (``name=``,
    ``name%3D``), which every client sends alike."""

    def one(match: re.Match[str]) -> str:
        run = match.group()
        if run[0] == "%" or match.string.startswith(_NAME_ENDS, match.end()):
            return run
        new = drawn.get(run)
        if new is None:
            hexed = all(c in "0123456789abcdefABCDEF" for c in run)
            new = "".join(rng.choice(_CLASSES[_class(c, hexed)]) for c in run)
            if new[0] == "0" and run[0] in "123456789":
                # A number does not start with 0 (JSON refuses one that does): the
                # run's own first digit then, which draws nothing more from rng (the
                # rest of the mix stays as it was).
                new = run[0] + new[1:]
            drawn[run] = new
        return new

    return _REDRAWN.sub(one, text)


# What follows the last letter of a name inside a value: JSON's '":' (as sent or
# percent-encoded, its '"' escaped in a JSON string) and a carried query's '='.
_NAME_ENDS = ('":', '\\":', "%22%3A", "%22%3a", "%22:", "%5C%22%3A", "=", "%3D", "%3d")

_CLASSES = {
    "digit": "0123456789",
    "hex": "0123456789abcdef",
    "HEX": "0123456789ABCDEF",
    "lower": "abcdefghijklmnopqrstuvwxyz",
    "upper": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
}


def _class(char: str, hexed: bool) -> str:
    if char.isdigit():
        return "digit"
    if hexed:
        return "hex" if char.islower() else "HEX"
    return "lower" if char.islower() else "upper"


def _redraw_values(rng: random.Random, drawn: dict[str, str], text: str, sep: str) -> str:
    """``text``, pairs ``name=value`` joined by ``sep`` (a query, a form, a Cookie
    header), with only the values redrawn: names are what the detector classifies."""
    pairs = []
    for pair in text.split(sep):
        name, eq, value = pair.partition("=")
        pairs.append(f"{name}{eq}{_redraw(rng, drawn, value)}" if eq else pair)
    return sep.join(pairs)


def _redraw_json(rng: random.Random, drawn: dict[str, str], value: object) -> object:
    """A JSON document's strings redrawn, its keys kept."""
    if isinstance(value, str):
        return _redraw(rng, drawn, value)
    if isinstance(value, list):
        return [_redraw_json(rng, drawn, item) for item in value]
    if isinstance(value, dict):
        return {key: _redraw_json(rng, drawn, item) for key, item in value.items()}
    return value


def _redraw_body(rng: random.Random, drawn: dict[str, str], body: bytes) -> bytes:
    """A recorded body with its values redrawn: a JSON document's strings, a form's
    values; any other body as it was."""
    text = body.decode("utf-8", "replace")
    try:
        document = json.loads(text)
    except ValueError:
        if "=" in text and not text.lstrip().startswith("<"):
            return _redraw_values(rng, drawn, text, "&").encode()
        return body
    return json.dumps(_redraw_json(rng, drawn, document), separators=(",", ":")).encode()


def _recorded_request(
    rng: random.Random,
    drawn: dict[str, str],
    head: tuple[str, str, str, list[tuple[str, str]], bytes],
) -> bytes:
    """One of :func:`_recorded_heads` as a client sends it, its values redrawn."""
    method, host, target, headers, body = head
    path, mark, query = target.partition("?")
    query = _redraw_values(rng, drawn, query, "&")
    lines = [f"{method} {path}{mark}{query} HTTP/1.1", f"Host: {host}"]
    for name, value in headers:
        lowered = name.lower()
        if lowered == "cookie":
            value = _redraw_values(rng, drawn, value, "; ")
        elif lowered.startswith("x-"):
            value = _redraw(rng, drawn, value)
        lines.append(f"{name}: {value}")
    if body:
        body = _redraw_body(rng, drawn, body)
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


TRAFFIC = ("browser", "ad", "ad-phone", "recorded")
"""Request mixes: ``browser`` page loads with a few cookies; ``ad`` analytics beacons and
ad calls (:func:`_ad_request`) from many clients, a tenth of them sending their own
identity with every request; ``ad-phone`` the same beacons from one test phone (a lab
capture of a tethered phone), a tenth of them carrying one of its identities
(:data:`OWN_PHONE`, in any of the forms); ``recorded`` request heads that browsers and
apps really sent (:func:`_recorded_heads`), each client's opaque values its own."""

BODIES = ("web", "mid", "small")
"""Response body mixes: the lighter the bodies, the faster tshark (which reads
every byte) and the less headerwatch's lead (which skips them)."""


def _body_size(rng: random.Random, bodies: str) -> int:
    """A response body size drawn from the ``bodies`` mix.

    ``web``: web traffic, mostly small with a long tail of images and scripts.
    ``mid``: 200 B-12 KB, about 6 KB on average; tshark reads this capture at a rate
    close to the ~2,200 requests/s the issue quotes for its own benchmark capture.
    ``small``: every body under 4 KB, the lightest case for tshark.
    """
    if bodies == "small":
        return rng.randint(200, 4000)
    if bodies == "mid":
        return rng.randint(200, 12_000)
    roll = rng.random()
    if roll < 0.4:
        return rng.randint(200, 2_000)  # API answers, redirects, small HTML
    if roll < 0.8:
        return rng.randint(2_000, 20_000)  # pages, CSS, icons
    return rng.randint(20_000, 100_000)  # images, scripts


def _response(rng: random.Random, bodies: str) -> bytes:
    body = b"x" * _body_size(rng, bodies)
    head = (
        "HTTP/1.1 200 OK\r\nDate: Mon, 02 Sep 2024 10:00:00 GMT\r\nServer: nginx\r\n"
        f"Content-Type: text/html\r\nContent-Length: {len(body)}\r\n"
        "Cache-Control: max-age=60\r\n\r\n"
    )
    return head.encode() + body


def _client_ack(conv: Conversation) -> tuple[float, bytes]:
    """The client's acknowledgement of all it has received, at the conversation's time."""
    ends = (conv.client, conv.cport, conv.server, conv.sport)
    return conv.ts, tcp_frame(*ends, conv._cseq, conv._sseq, ACK, vlan=conv.vlan)


def frames(
    requests: int, connections: int, seed: int = 1, bodies: str = "web", traffic: str = "browser"
) -> Iterator[tuple[float, bytes]]:
    """Frames in time order (connections interleaved a few at a time)."""
    rng = random.Random(seed)
    per_conn = max(1, requests // connections)
    t = 1_700_000_000.0
    made = 0
    # (conversation, requests left, its identity (ad), its place in the recorded
    # requests and its redrawn values (recorded))
    active: list[
        tuple[Conversation, int, tuple[str, str, str] | None, tuple[int, dict[str, str]] | None]
    ] = []
    conn_no = 0
    recorded = _recorded_heads() if traffic == "recorded" else []
    while made < requests or active:
        # Keep ~8 connections open at once, interleaving their packets.
        while len(active) < 8 and conn_no < connections:
            conn_no += 1
            if rng.random() < SHAPES["ipv6"]:
                client = f"2001:db8:{conn_no >> 16:x}:{conn_no & 0xFFFF:x}::1"
                server = f"2001:db8:ffff::{conn_no % 250 + 1:x}"
            else:
                client = f"10.{(conn_no >> 16) & 255}.{(conn_no >> 8) & 255}.{conn_no & 255}"
                server = f"198.51.100.{conn_no % 250 + 1}"
            conv = Conversation(
                client,
                1024 + conn_no % 60000,
                server,
                80,
                ts=t,
                client_isn=rng.getrandbits(32),
                server_isn=rng.getrandbits(32),
                step=0.0001,
                vlan=100 if rng.random() < SHAPES["vlan"] else None,
            )
            yield from conv.handshake()
            last = requests - per_conn * (connections - 1)
            # The client's identity, sent with each of its requests (ad traffic).
            device = _ad_identity(rng) if traffic == "ad" and rng.random() < 0.1 else None
            # The client's place in the recorded requests, and its redrawn values.
            place: tuple[int, dict[str, str]] | None = (
                (rng.randrange(len(recorded)), {}) if recorded else None
            )
            active.append((conv, per_conn if conn_no < connections else last, device, place))
        if not active:
            break
        i = rng.randrange(len(active))
        conv, left, device, place = active[i]
        conv.ts = max(conv.ts, t)
        split = rng.choice([37, 120, 300]) if rng.random() < 0.1 else None
        if place is not None:
            at, drawn = place
            head = _recorded_request(rng, drawn, recorded[at % len(recorded)])
            place = (at + 1, drawn)
        elif traffic == "ad":
            head = _posted(rng, _ad_request(rng, rng.choice(_AD_HOSTS), made, device))
        elif traffic == "ad-phone":
            identity = _ad_identity(rng, OWN_PHONE) if rng.random() < 0.1 else None
            head = _posted(rng, _ad_request(rng, rng.choice(_AD_HOSTS), made, identity))
        else:
            head = _request(rng, rng.choice(HOSTS), made, identity=rng.random() < 0.05)
        yield from _shaken(rng, conv.send(True, head, split))
        for n, item in enumerate(_shaken(rng, conv.send(False, _response(rng, bodies))), 1):
            yield item
            if n % 2 == 0:
                # Delayed ACK: the client acknowledges every second segment.
                yield _client_ack(conv)
        yield _client_ack(conv)
        made += 1
        left -= 1
        if rng.random() < 0.05:
            yield conv.ts, _udp_frame(rng)
        if rng.random() < 0.02:
            # A TLS connection: non-HTTP noise the parser must skip.
            tls = Conversation(
                f"10.9.0.{rng.randint(1, 254)}",
                rng.randint(30000, 60000),
                "198.51.100.250",
                443,
                ts=conv.ts,
            )
            yield from tls.handshake()
            yield from tls.send(
                True, b"\x16\x03\x01\x00\xc8" + bytes(rng.getrandbits(8) for _ in range(200))
            )
            yield from tls.send(False, bytes(rng.getrandbits(8) for _ in range(3000)))
            yield from tls.close()
        t = conv.ts
        if left <= 0:
            yield from conv.close()
            active.pop(i)
        else:
            active[i] = (conv, left, device, place)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--connections", type=int, default=5_000)
    parser.add_argument(
        "--bodies", choices=BODIES, default="web", help="response body sizes (see _body_size)"
    )
    parser.add_argument(
        "--traffic", choices=TRAFFIC, default="browser", help="request mix (see TRAFFIC)"
    )
    args = parser.parse_args()
    count = write_pcap(
        args.out,
        frames(args.requests, args.connections, bodies=args.bodies, traffic=args.traffic),
    )
    print(
        f"{args.out}: {count:,} frames, {args.requests:,} requests, "
        f"{args.connections:,} connections, {Path(args.out).stat().st_size / 1e6:.1f} MB"
    )


if __name__ == "__main__":
    main()
