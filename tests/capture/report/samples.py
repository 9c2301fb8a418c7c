"""Records for report tests: an identity injected on the way, in several encodings,
next to hostile values (markup, escapes, bidirectional overrides, raw bytes)."""

from __future__ import annotations

import base64

from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.model import Parsed, Record, RequestSeen, Transit
from capture.pipeline import Pipeline
from tests.capture.factories import request

NUMBER = "447700900123"
"""The test phone's number (Ofcom's drama range), E.164 digits."""
FORMS = (
    NUMBER,
    "+" + NUMBER,
    "7700900123",
    "07700900123",
    "07700 900123",
    NUMBER.encode().hex(),
    ("+" + NUMBER).encode().hex(),
    base64.b64encode(NUMBER.encode()).decode(),
    base64.b64encode(("+" + NUMBER).encode()).decode(),
)
"""Every form of the number that must not be in a redacted report."""
SCRIPT = "<script>window.__pwned=1</script>"
HOSTILE = (
    f"{SCRIPT}<b>bold</b> &amp; `code` | *star* [link](http://x.example/) \u202eevil\u202c \x1b[31m"
)
HOSTILE_HOST = "evil.example<img src=x onerror=alert(1)>"


def detector() -> IdentityDetector:
    """The real detector, told the test phone's number (a canary in every form)."""
    return IdentityDetector(IdentityConfig(region="GB", msisdns=("+" + NUMBER,)))


def injected_records() -> list[Record]:
    """Three requests through a network that added the number (plain, hex, base64,
    national)
    and a hostile header; one went to a host with markup in its name."""
    pipeline = Pipeline(detector(), responses=False)
    out: list[Record] = []
    hosts = ("news.example", "shop.example", HOSTILE_HOST)
    for i, host in enumerate(hosts):
        sent = (("Host", host), ("User-Agent", "Mozilla/5.0"), ("Accept", "*/*"))
        added = (
            ("X-MSISDN", NUMBER),
            ("X-Up-Subno-Hex", NUMBER.encode().hex()),
            ("X-Nokia-Msisdn", base64.b64encode(NUMBER.encode()).decode()),
            ("X-Up-Calling-Line-Id", "07700 900123"),
            ("X-Hostile", HOSTILE),
        )
        received = (sent[0], sent[1], *added)
        moved = Transit(received, added, (sent[2],), ())
        req = request(ts=1700000000.0 + i, flow=i + 1, sport=40000 + i, headers=sent, uri=f"/p?{i}")
        for event in pipeline.feed_request(Parsed(req, transit=moved)):
            if isinstance(event, RequestSeen):
                out.append(event.record)
    out += [e.record for e in pipeline.flush() if isinstance(e, RequestSeen)]
    return out
