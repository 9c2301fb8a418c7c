#!/usr/bin/env python3
"""Build the bundled demo capture: plain-HTTP browsing in January 2012, as websites saw it.

The story (all addresses from documentation ranges, all numbers from reserved
ranges, every host name a stand-in):

* A phone on O2 UK browses news and social sites. O2's transparent proxy
  (egress 203.0.113.7) adds ``x-up-calling-line-id: 447700900123`` (a fake
  number from Ofcom's drama range) to every plain-HTTP request, plus ``Via`` and
  ``X-Forwarded-For``: exactly what Lewis Peckover's header-echo page showed on
  25 January 2012.
* A game on the same phone calls its ad network with the handset's IMEI in the
  query string (490154203237518, the example IMEI of the GSMA documentation).
* A US phone's request carries a Verizon-style ``X-UIDH`` supercookie.
* Ordinary traffic from a Wi-Fi laptop: pages, images, a TLS connection on 443
  (not HTTP: must be ignored), and requests split across several segments.

Run ``python scripts/make_demo_capture.py`` to rebuild
``capture/data/demo-o2-2012.pcap``; the output is deterministic.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.packets.craft import Conversation
from tests.packets.writer import write_pcap

START = 1326205331.0  # 2012-01-10 14:22:11 UTC
OUT = Path(__file__).resolve().parent.parent / "capture" / "data" / "demo-o2-2012.pcap"

O2_PROXY = "203.0.113.7"
PHONE_PRIVATE = "10.64.0.7"
MSISDN = "447700900123"
IPHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 5_0_1 like Mac OS X) AppleWebKit/534.46 "
    "(KHTML, like Gecko) Version/5.1 Mobile/9A405 Safari/7534.48.3"
)
ANDROID_APP_UA = "Dalvik/1.4.0 (Linux; U; Android 2.3.6; GT-I9100 Build/GINGERBREAD)"
LAPTOP_UA = "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:9.0.1) Gecko/20100101 Firefox/9.0.1"
LAPTOP = "192.0.2.10"
VERIZON_EGRESS = "192.0.2.66"

SITES = {
    "www.bbc.co.uk": "198.51.100.10",
    "news.bbc.co.uk": "198.51.100.11",
    "www.guardian.co.uk": "198.51.100.20",
    "m.facebook.com": "198.51.100.30",
    "static.ak.fbcdn.net": "198.51.100.31",
    "www.google.co.uk": "198.51.100.40",
    "ads.adnetwork.example": "198.51.100.50",
    "www.example.com": "198.51.100.60",
    "mail.example.org": "198.51.100.70",
}

PAGES = {
    "www.bbc.co.uk": ["/", "/news/", "/sport/0/football/", "/weather/2643743"],
    "news.bbc.co.uk": ["/1/hi/technology/default.stm", "/mobile/news/uk-16721296"],
    "www.guardian.co.uk": ["/uk", "/technology/2012/jan/25/o2-mobile-phone-numbers"],
    "m.facebook.com": ["/home.php", "/messages/", "/profile.php?id=100000000000001"],
    "www.google.co.uk": ["/m?q=o2+phone+number+leak", "/search?q=weather+london&hl=en"],
}
ASSETS = {
    "www.bbc.co.uk": ["/img/logo.png", "/css/mobile.css", "/js/bbc.js"],
    "www.guardian.co.uk": ["/static/guardian-logo.png", "/static/main.css"],
    "m.facebook.com": ["/rsrc.php/v1/yH/r/logo.png"],
    "static.ak.fbcdn.net": ["/rsrc.php/v1/y7/r/sprite.png", "/rsrc.php/v1/zc/r/app.js"],
}


def carrier_headers(host: str, path: str, referer: str | None) -> list[tuple[str, str]]:
    """A Safari request after O2's proxy has enriched it."""
    headers = [
        ("Host", host),
        ("User-Agent", IPHONE_UA),
        ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
        ("Accept-Language", "en-gb"),
        ("Accept-Encoding", "gzip, deflate"),
    ]
    if referer:
        headers.append(("Referer", referer))
    headers += [
        ("Connection", "keep-alive"),
        ("Via", "1.1 o2proxy-lon4 (Openwave Web Optimizer)"),
        ("X-Forwarded-For", PHONE_PRIVATE),
        ("x-up-calling-line-id", MSISDN),
    ]
    return headers


def request_bytes(
    method: str, path: str, headers: list[tuple[str, str]], body: bytes = b""
) -> bytes:
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{n}: {v}\r\n" for n, v in headers) + "\r\n"
    return head.encode() + body


def response_bytes(kind: str, rng: random.Random) -> bytes:
    size = {"html": rng.randint(3000, 9000), "png": rng.randint(800, 4000)}.get(kind, 1200)
    ctype = {"html": "text/html; charset=utf-8", "png": "image/png", "css": "text/css"}.get(
        kind, "application/javascript"
    )
    body = bytes(rng.getrandbits(8) for _ in range(size)) if kind == "png" else (b"x" * size)
    head = (
        "HTTP/1.1 200 OK\r\nDate: Tue, 10 Jan 2012 14:22:11 GMT\r\nServer: Apache\r\n"
        f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
        "Cache-Control: max-age=60\r\n\r\n"
    )
    return head.encode() + body


def build() -> list[tuple[float, bytes]]:
    rng = random.Random(2012)
    frames: list[tuple[float, bytes]] = []
    t = START
    port = 49152

    def conversation(client: str, host: str, server_port: int = 80) -> Conversation:
        nonlocal port
        port += 1
        return Conversation(
            client,
            port,
            SITES[host],
            server_port,
            ts=t,
            client_isn=rng.getrandbits(32),
            server_isn=rng.getrandbits(32),
            step=rng.uniform(0.004, 0.03),
        )

    # Phone browsing via O2's proxy: a page, then its assets on the same connection.
    for host in [
        "www.bbc.co.uk",
        "www.guardian.co.uk",
        "m.facebook.com",
        "www.google.co.uk",
        "news.bbc.co.uk",
        "www.bbc.co.uk",
        "m.facebook.com",
        "www.guardian.co.uk",
    ]:
        conv = conversation(O2_PROXY, host)
        frames += conv.handshake()
        page = rng.choice(PAGES[host])
        frames += conv.send(True, request_bytes("GET", page, carrier_headers(host, page, None)))
        frames += conv.send(False, response_bytes("html", rng))
        for asset in ASSETS.get(host, [])[: rng.randint(1, 3)]:
            conv.ts += rng.uniform(0.05, 0.3)
            ref = f"http://{host}{page}"
            frames += conv.send(
                True, request_bytes("GET", asset, carrier_headers(host, asset, ref))
            )
            frames += conv.send(
                False, response_bytes("png" if asset.endswith(".png") else "css", rng)
            )
        frames += conv.close()
        t += rng.uniform(4.0, 9.0)

        # Meanwhile, the laptop on Wi-Fi: nothing identifying.
        lhost = rng.choice(["www.example.com", "www.bbc.co.uk", "www.guardian.co.uk"])
        conv = conversation(LAPTOP, lhost)
        frames += conv.handshake()
        path = rng.choice(PAGES.get(lhost, ["/", "/index.html"]))
        headers = [
            ("Host", lhost),
            ("User-Agent", LAPTOP_UA),
            ("Accept", "text/html,*/*;q=0.8"),
            ("Accept-Language", "en-GB,en;q=0.5"),
            ("Accept-Encoding", "gzip, deflate"),
            ("Cookie", "_ga=GA1.3.1492387241.1326205000; s_vi=[CS]v1|2767F5E1051D2E7E"),
            ("If-None-Match", '"5f3c-4b6a8e1f0c9c0"'),
            ("Connection", "keep-alive"),
        ]
        # Split the request across small segments, as a slow link would.
        frames += conv.send(
            True, request_bytes("GET", path, headers), split=rng.choice([40, 90, 300])
        )
        frames += conv.send(False, response_bytes("html", rng))
        frames += conv.close()
        t += rng.uniform(1.0, 3.0)

    # The game's ad SDK sends the IMEI.
    conv = conversation(O2_PROXY, "ads.adnetwork.example")
    frames += conv.handshake()
    path = "/v2/ad?app=com.example.fruitgame&imei=490154203237518&fmt=json&w=320&h=50"
    frames += conv.send(
        True,
        request_bytes(
            "GET",
            path,
            [
                ("Host", "ads.adnetwork.example"),
                ("User-Agent", ANDROID_APP_UA),
                ("Via", "1.1 o2proxy-lon4 (Openwave Web Optimizer)"),
                ("X-Forwarded-For", PHONE_PRIVATE),
                ("x-up-calling-line-id", MSISDN),
            ],
        ),
    )
    frames += conv.send(False, response_bytes("js", rng))
    frames += conv.close()
    t += 3.0

    # A US subscriber: the Verizon-style unique identifier header.
    conv = conversation(VERIZON_EGRESS, "www.example.com")
    frames += conv.handshake()
    frames += conv.send(
        True,
        request_bytes(
            "GET",
            "/deals/phones",
            [
                ("Host", "www.example.com"),
                ("User-Agent", ANDROID_APP_UA),
                ("Accept", "*/*"),
                ("X-UIDH", "OTgxNTk2NDk0ADJVquRu5NS5+rSbBANlrp+13QL7CXLGsFHpMi4LsUHw"),
                ("Connection", "keep-alive"),
            ],
        ),
    )
    frames += conv.send(False, response_bytes("html", rng))
    frames += conv.close()
    t += 2.0

    # A TLS connection: encrypted, so nothing for us to read, and no false alarm.
    conv = conversation(LAPTOP, "mail.example.org", 443)
    frames += conv.handshake()
    hello = (
        bytes.fromhex("160301")
        + (200).to_bytes(2, "big")
        + bytes(rng.getrandbits(8) for _ in range(200))
    )
    frames += conv.send(True, hello)
    frames += conv.send(False, bytes(rng.getrandbits(8) for _ in range(1400)))
    frames += conv.close()

    frames.sort(key=lambda item: item[0])
    return frames


def main() -> None:
    count = write_pcap(str(OUT), build())
    print(f"wrote {count} frames to {OUT} ({OUT.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
