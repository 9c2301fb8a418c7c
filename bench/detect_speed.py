"""How long identity detection takes per request, on a realistic mix.

A report, not a test: prints microseconds per request for ordinary browser, app
and CDN traffic (no identity), for identity-bearing traffic, and for both with
canaries configured. Run: python bench/detect_speed.py [--rounds N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from capture.identity import IdentityConfig, IdentityDetector
from capture.model import Header, Request

_CHROME_UA = (
    "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.6099.144 Mobile Safari/537.36"
)

BENIGN: list[tuple[str, tuple[Header, ...]]] = [
    (
        "/index.html",
        (
            ("Host", "www.bbc.co.uk"),
            ("User-Agent", _CHROME_UA),
            (
                "Accept",
                "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
            ),
            ("Accept-Language", "en-GB,en;q=0.9"),
            ("Accept-Encoding", "gzip, deflate"),
            ("Connection", "keep-alive"),
            ("Upgrade-Insecure-Requests", "1"),
            (
                "Cookie",
                "_ga=GA1.2.123456789.1326205331; _gid=GA1.2.987654321.1700000000; ckns_policy=111",
            ),
            ("If-None-Match", '"57c2-49c61513485c0"-gzip'),
            ("If-Modified-Since", "Sun, 6 Mar 2011 22:45:51 GMT"),
        ),
    ),
    (
        "/api/v2/feed?page=3&limit=20&_=1326205331123",
        (
            ("Host", "api.example.com"),
            ("User-Agent", "okhttp/4.12.0"),
            ("Accept", "application/json"),
            ("Accept-Encoding", "gzip"),
            ("Connection", "Keep-Alive"),
            ("X-Request-Id", "f0bbc176-60b9-47f7-a3f2-5c46077d5168"),
            ("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            ("Authorization", "Bearer mF_9.B5f-4.1JqM"),
            ("X-App-Version", "5.12.1 (51201)"),
            ("X-Client-Time", "1700000000123"),
        ),
    ),
    (
        "/static/app.3f9c2b.js",
        (
            ("Host", "cdn.example.net"),
            ("User-Agent", _CHROME_UA),
            ("Accept", "*/*"),
            ("Referer", "https://www.example.com/news/2024/01/15/story-123456789"),
            ("Accept-Encoding", "gzip, deflate, br"),
            ("Accept-Language", "en-US,en;q=0.9"),
            ("Range", "bytes=100000-110000"),
            ("X-Amzn-Trace-Id", "Root=1-67891233-abcdef012345678912345678"),
            ("Sec-Fetch-Site", "cross-site"),
            ("Sec-Fetch-Mode", "no-cors"),
            ("Via", "1.1 varnish"),
        ),
    ),
]

IDENTITY: list[tuple[str, tuple[Header, ...]]] = [
    (
        "/page/1",
        (
            ("Host", "bbc.co.uk"),
            ("User-Agent", _CHROME_UA),
            ("Accept", "*/*"),
            ("Accept-Encoding", "gzip"),
            ("Connection", "keep-alive"),
            ("x-up-calling-line-id", "447700900123"),
            ("X-Forwarded-For", "10.64.0.7"),
            ("Via", "1.1 wap.o2.co.uk"),
            ("x-wap-profile", '"http://nds1.nds.nokia.com/uaprof/N95r100.xml"'),
        ),
    ),
    (
        "/ads/v1?idfa=6D92078A-8246-4BA4-AE5B-76104861E7DC&phone=%2B12015550123",
        (
            ("Host", "ads.example.com"),
            ("User-Agent", "MyApp/3.1 (iPhone; iOS 17.2)"),
            ("Accept", "application/json"),
            ("X-UIDH", "OTgxNTk2NDk0ADJVquRu5NS5+rSbBANlrp+13QL7CXLGsFHpMi4LsUHw"),
            ("X-Subscriber", "12015550123"),
            ("Cookie", "sid=abc123; user_email=alice%40example.com"),
        ),
    ),
]


def _request(uri: str, headers: tuple[Header, ...]) -> Request:
    return Request(
        ts=0.0,
        flow=1,
        depth=1,
        src="10.64.0.7",
        sport=40001,
        dst="198.51.100.1",
        dport=80,
        method="GET",
        uri=uri,
        version="HTTP/1.1",
        headers=headers,
    )


def _varying(count: int) -> list[Request]:
    """Benign requests whose changing values (clocks, cache-busters, pages) never repeat,
    so no per-value cache can help."""
    requests = []
    for index in range(count):
        stamp = 1700000000123 + index * 7919
        uri, headers = BENIGN[index % len(BENIGN)]
        referer = ("Referer", f"https://www.example.com/news/story-{index}?page={index % 9}")
        changed = (
            *(
                (name, f"{stamp}") if name == "X-Client-Time" else (name, value)
                for name, value in headers
            ),
            referer,
        )
        requests.append(_request(f"{uri.split('?')[0]}?_={stamp}&page={index}", changed))
    return requests


def _ad_mix(count: int) -> list[Request]:
    """Analytics beacons and ad calls as bench/gen_capture.py makes them (``--traffic ad``):
    8-15 cookies and parameters each, names with random suffixes, a tenth with identities."""
    import random

    from bench.gen_capture import _AD_HOSTS, _ad_identity, _ad_request
    from capture.http.http1 import parse_request_head

    rng = random.Random(7)
    requests = []
    for index in range(count):
        identity = _ad_identity(rng) if rng.random() < 0.1 else None
        raw = _ad_request(rng, rng.choice(_AD_HOSTS), index, identity)
        head = parse_request_head(raw)
        requests.append(_request(head.uri or "/", head.headers))
    return requests


def _measure(detector: IdentityDetector, requests: list[Request], rounds: int) -> float:
    for request in requests:  # warm the name caches, as a long capture would
        detector.detect(request)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        repeats = max(1, rounds * 3 // len(requests))
        for _ in range(repeats):
            for request in requests:
                detector.detect(request)
        elapsed = time.perf_counter() - start
        best = min(best, elapsed / (repeats * len(requests)))
    return best * 1e6


def main() -> None:
    """Print µs/request for each mix."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()
    benign = [_request(u, h) for u, h in BENIGN]
    identity = [_request(u, h) for u, h in IDENTITY]
    varying = _varying(3000)
    # Names never repeat here, so every round is as cold for the name caches as the first.
    ads = _ad_mix(3000)
    plain = IdentityDetector(IdentityConfig(region="GB"))
    with_canaries = IdentityDetector(
        IdentityConfig(
            region="GB",
            msisdns=("+447700900123",),
            imeis=("490154203237518",),
            canaries=("alice@example.com",),
        )
    )
    print(f"{'mix':<42}{'µs/request':>12}")
    for label, detector, requests in (
        ("benign (no identity)", plain, benign),
        ("benign, values vary", plain, varying),
        ("identity-bearing", plain, identity),
        ("benign, 3 canaries", with_canaries, benign),
        ("benign, values vary, 3 canaries", with_canaries, varying),
        ("identity-bearing, 3 canaries", with_canaries, identity),
        ("ad/analytics (gen_capture --traffic ad)", plain, ads),
        ("ad/analytics, 3 canaries", with_canaries, ads),
    ):
        print(f"{label:<42}{_measure(detector, requests, args.rounds):>12.2f}")


if __name__ == "__main__":
    main()
