"""The bench's request mixes have the shapes they claim (shape checks, not timings): the
ad/analytics mix issue 16 asks for, and the recorded mix of real request heads."""

from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from capture.http.http1 import parse_request_head
from capture.identity.detector import IdentityConfig, IdentityDetector, _cookie_pairs, _query_pairs
from capture.identity.devices import luhn_ok
from capture.identity.phone import parse_international
from capture.model import Request

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import gen_capture


def _requests(count: int) -> list[Request]:
    rng = random.Random(1)
    out = []
    for index in range(count):
        identity = gen_capture._ad_identity(rng) if rng.random() < 0.1 else None
        raw = gen_capture._ad_request(rng, rng.choice(gen_capture._AD_HOSTS), index, identity)
        head = parse_request_head(raw)
        out.append(
            Request(
                1.0,
                1,
                1,
                "10.0.0.1",
                40000,
                "10.0.0.2",
                80,
                head.method,
                head.uri,
                head.version,
                head.headers,
            )
        )
    return out


def test_ad_mix_has_many_pairs_many_names_long_values_and_a_tenth_identities() -> None:
    requests = _requests(20_000)
    names: set[str] = set()
    sizes = []
    long_values = 0
    for request in requests:
        pairs = _query_pairs(request.uri or "")
        for name, value in request.headers:
            if name == "Cookie":
                pairs += list(_cookie_pairs(value))
        names.update(name for name, _ in pairs)
        sizes.append(len(pairs))
        long_values += sum(1 for _, value in pairs if len(value) >= 20)
    assert min(sizes) >= 8 and max(sizes) <= 16  # 8-15, plus an identity's own pair
    assert len(names) >= 10_000
    assert long_values >= 3 * len(requests)
    detector = IdentityDetector(IdentityConfig(region="GB"))
    with_identity = sum(
        1 for r in requests[:5000] if any(f.is_identity for f in detector.detect(r))
    )
    assert 0.08 <= with_identity / 5000 <= 0.12


def test_ad_identities_come_from_many_subscribers_and_a_quarter_from_the_test_phone() -> None:
    rng = random.Random(2)
    drawn = [gen_capture._subscriber(rng) for _ in range(2000)]
    own = sum(1 for who in drawn if who == gen_capture.OWN_PHONE)
    assert 400 <= own <= 600
    others = {who for who in drawn if who != gen_capture.OWN_PHONE}
    assert len(others) >= 700
    for msisdn, imei, email in others:
        assert luhn_ok(imei) and len(imei) == 15
        assert parse_international(msisdn) is not None, msisdn
        assert email.endswith("@example.org")


def test_the_one_phone_mix_sends_only_the_test_phones_identities() -> None:
    rng = random.Random(3)
    msisdn, imei, email = gen_capture.OWN_PHONE
    allowed = {msisdn, "%2B" + msisdn, imei, msisdn.encode().hex(), email.replace("@", "%40")}
    values = {gen_capture._ad_identity(rng, gen_capture.OWN_PHONE)[2] for _ in range(200)}
    assert values == allowed


def _recorded(client: random.Random, heads: list[Any], start: int, count: int) -> list[Any]:
    """``count`` requests of one client of the recorded mix, parsed, from ``start``."""
    drawn: dict[str, str] = {}
    return [
        parse_request_head(gen_capture._recorded_request(client, drawn, heads[start + n]))
        for n in range(count)
    ]


def test_the_recorded_mix_replays_every_bundled_har_request_with_its_names() -> None:
    heads = gen_capture._recorded_heads()
    assert len(heads) >= 1500  # the news sites' page loads and the apps' SDK calls
    replayed = _recorded(random.Random(4), heads, 0, len(heads))
    for (method, host, target, headers, body), head in zip(heads, replayed, strict=True):
        assert head.method == method
        assert head.uri.partition("?")[0] == target.partition("?")[0]
        assert head.headers[0] == ("Host", host)
        assert [name for name, _ in head.headers[1:]][: len(headers)] == [n for n, _ in headers]
        assert ("Content-Length" in dict(head.headers)) == bool(body)
        query = [pair.partition("=")[0] for pair in target.partition("?")[2].split("&")]
        assert [pair.partition("=")[0] for pair in head.uri.partition("?")[2].split("&")] == query


def test_each_client_of_the_recorded_mix_has_its_own_values_kept_across_its_requests() -> None:
    heads = gen_capture._recorded_heads()
    # A cookie the recorded browser sent on every request to one site.
    at = next(
        i
        for i, head in enumerate(heads)
        if any(n.lower() == "cookie" and "_ga=GA1.2." in v for n, v in head[3])
    )

    def cookie(head: Any) -> str:
        return next(v for n, v in head.headers if n.lower() == "cookie")

    one = _recorded(random.Random(5), heads, at, 1)[0]
    other = _recorded(random.Random(6), heads, at, 1)[0]
    assert cookie(one) != cookie(other)
    ga = re.search(r"_ga=GA1\.2\.(\d+)\.(\d+)", cookie(one))
    assert ga is not None  # digits redrawn as digits, the shape kept
    drawn: dict[str, str] = {}
    client = random.Random(7)
    twice = [gen_capture._recorded_request(client, drawn, heads[at]) for _ in range(2)]
    assert twice[0] == twice[1]


def test_the_recorded_mix_keeps_hex_hex_and_escapes_whole() -> None:
    drawn: dict[str, str] = {}
    text = "id=3cb779f4-9f4a-4491-9f65-91c7fd7a484a&u=https%3A%2F%2Fwww.example.com%2Fpage"
    redrawn = gen_capture._redraw_values(random.Random(8), drawn, text, "&")
    uuid, _, url = redrawn.partition("&")
    assert re.fullmatch(r"id=[0-9a-f]{8}-9f4a-4491-9f65-[0-9a-f]{12}", uuid), uuid
    assert uuid != text.partition("&")[0]
    assert url.startswith("u=https%3A%2F%2Fwww.") and url.count("%2F") == 3


def test_the_recorded_mix_holds_the_identities_the_apps_sent() -> None:
    heads = gen_capture._recorded_heads()
    detector = IdentityDetector(IdentityConfig(region="GB"))
    kinds: set[str] = set()
    for head in _recorded(random.Random(9), heads, 0, len(heads)):
        request = Request(
            1.0, 1, 1, "10.0.0.1", 40000, "10.0.0.2", 80,
            head.method, head.uri, head.version, head.headers,
        )  # fmt: skip
        kinds.update(f.kind for f in detector.detect(request) if f.is_identity)
    assert "device_id" in kinds


def test_the_recorded_mix_keeps_the_names_inside_encoded_values() -> None:
    # Facebook's app events: JSON percent-encoded in a form's value, its keys what every
    # client sends; and a page's address carried in dl=, its query's names too.
    text = (
        "custom_events=%5B%7B%22_eventName%22%3A%22fb_mobile_activate_app%22%7D%5D"
        "&dl=https%3A%2F%2Fwww.example.com%2F%3Futm_campaign%3Dspringsale2018"
    )
    redrawn = gen_capture._redraw_values(random.Random(10), {}, text, "&")
    assert "%22_eventName%22%3A%22" in redrawn and "%3Futm_campaign%3D" in redrawn
    assert "activate" not in redrawn and "springsale2018" not in redrawn
    assert gen_capture._redraw(random.Random(11), {}, '{"eventName":"abcdefghij"}').startswith(
        '{"eventName":"'
    )


def test_the_recorded_mix_keeps_the_json_it_redraws_json() -> None:
    # A number redrawn must not start with 0: JSON refuses it, and the mix would then
    # send documents no client sends (read as text, not as JSON).
    text = "%7B%22sync%22%3A%7B%22expires%22%3A1516778400000%7D%2C%22ts%22%3A80000000%7D"
    for seed in range(200):
        redrawn = gen_capture._redraw(random.Random(seed), {}, text)
        document = json.loads(unquote(redrawn))
        assert len(str(document["sync"]["expires"])) == 13 and len(str(document["ts"])) == 8
