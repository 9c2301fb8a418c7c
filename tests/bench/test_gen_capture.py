"""The ad/analytics bench mix has the shape issue 16 asks for (a shape check, not a timing)."""

from __future__ import annotations

import random
import sys
from pathlib import Path

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
