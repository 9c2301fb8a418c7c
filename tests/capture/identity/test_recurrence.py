"""The recurrence detector: a supercookie is one opaque token at many unrelated sites."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tracemalloc
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.identity.recurrence import (
    MAX_NAME_LENGTH,
    MAX_PER_REQUEST,
    MAX_SITES_COUNTED,
    RecurrenceTracker,
    opaque,
    registrable_domain,
    scoped_name,
)
from capture.model import Finding, Request
from capture.scan import scan
from tests.capture.identity.factory import ZORK_TOKEN, make_request, zork_har
from tests.helpers import conversation, save, simple_request

# The shape of Verizon's X-UIDH (Mayer 2014): base64, about 56 characters.
UIDH_LIKE = "OTgxNTk2NDk0ADJVquRu5NS5+rSbBANlrp+13QL7CXLGsFHpMi4LsUHw"
BENIGN_CORPUS = Path(__file__).with_name("benign_headers.jsonl")


@pytest.mark.parametrize(
    ("host", "site"),
    [
        ("www.bbc.co.uk", "bbc.co.uk"),
        ("news.bbc.co.uk:8080", "bbc.co.uk"),
        ("WWW.Example.COM.", "example.com"),
        ("alice.github.io", "alice.github.io"),
        # Addresses by network: one service's servers are side by side.
        ("198.51.100.7", "198.51.0.0/16"),
        ("198.51.100.7:80", "198.51.0.0/16"),
        ("23.246.3.140", "23.246.0.0/16"),
        ("23.246.11.141", "23.246.0.0/16"),
        ("[2001:db8::1]:80", "2001:db8::/32"),
        ("2001:db8:4::1", "2001:db8::/32"),
        ("localhost", "localhost"),
    ],
)
def test_registrable_domain_groups_hosts_into_sites(host: str, site: str) -> None:
    assert registrable_domain(host) == site


@pytest.mark.parametrize(
    "value", [UIDH_LIKE, "6f1e2d3c4b5a69788796a5b4c3d2e1f0", "Zx9_Qw3-Er7tYu1Io5pA"]
)
def test_long_high_entropy_tokens_are_opaque(value: str) -> None:
    assert opaque(value)


@pytest.mark.parametrize(
    "value",
    [
        "short1234",
        "Mozilla/5.0 (Linux; Android 14)",
        "aaaaaaaaaaaaaaaaaaaaaaaa",
        "2024-01-15T12:30:00Z",
        "text/html,application/xhtml+xml",
        # A page's address, as trackers are sent it (sitespeedio/pagexray's HAR of
        # nytimes.com: url= to four sites), once or twice percent-encoded, or plain.
        "http%3A%2F%2Fwww.nytimes.com%2F",
        "https%253A%252F%252Fwww.nytimes.com%252Fsection%252Fworld",
        "https://www.nytimes.com/section/world",
        # An app's package and a host: every copy of the app sends the same
        # (ntop/nDPI's 1kxun.pcap: Client-Package to three sites).
        "com.sceneway.kankan",
        "static.xx.fbcdn.net",
        # A page's address or state in base64 (an ad tag's ref=, a beacon's data=):
        # it reaches every tracker the page reports to, as the address itself does.
        base64.b64encode(b"https://news.example.org/2026/12/07/some-article").decode(),
        base64.urlsafe_b64encode(b'{"page":"https://news.example.org/a","ts":17}').decode(),
        base64.b64encode(b'[{"event":"view","url":"http://shop.example/"}]').decode(),
        # An ad unit's path (Google Ad Manager's network code and ad unit) and a
        # slot's div (Google Publisher Tag's): a page's, sent to every bidder.
        "/1234567/news/homepage_top",
        "/21775744923/example.com/sports/top_leaderboard",
        "div-gpt-ad-1234567890123-0",
        "div-gpt-ad-1712345678901-12",
        "ad_slot_top_9876543210123",
    ],
)
def test_words_dates_lists_addresses_names_ad_unit_paths_and_slots_are_not_opaque(
    value: str,
) -> None:
    assert not opaque(value)


@pytest.mark.parametrize(
    "value",
    [
        # A JWT's parts are dotted too, but far longer than words.
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhYmMxMjMifQ.c2lnbmF0dXJlX2hlcmVfMTIzNDU2",
        "GA1.2.742214986.1440859427",
        "F5EB01CC01A8E08CD83630828DE17C2B02162FD8",
        # Tokens that start as base64 of JSON or of "http" does, and are neither.
        "eyJhbGciOiJIUzI1NiJ9xQ2mP4vR8tL1wN6yB3cH7jF5sD0aE",
        "aHR0cZx9kQ2mP4vR8tL1wN6yB3cH7jF5sD0aE",
        "W3sZx9kQ2mP4vR8tL1wN6yB3cH7jF5sD0aE",
    ],
)
def test_dotted_hex_and_wrapper_like_tokens_stay_opaque(value: str) -> None:
    assert opaque(value)


def test_a_token_recurs_once_it_reaches_the_number_of_sites() -> None:
    tracker = RecurrenceTracker(sites=3)
    assert tracker.observe("x-id", UIDH_LIKE, "a.example") is None
    assert tracker.observe("x-id", UIDH_LIKE, "a.example") is None  # same site again
    assert tracker.observe("x-id", UIDH_LIKE, "b.example") is None
    hit = tracker.observe("x-id", UIDH_LIKE, "c.example")
    assert hit is not None and hit.sites == 3
    assert hit.detail == "the same token sent to 3 sites: a.example, b.example, c.example"


def test_the_same_value_under_different_names_does_not_add_up() -> None:
    tracker = RecurrenceTracker(sites=2)
    assert tracker.observe("x-a", UIDH_LIKE, "a.example") is None
    assert tracker.observe("x-b", UIDH_LIKE, "b.example") is None


def test_memory_is_bounded_least_recently_seen_first() -> None:
    tracker = RecurrenceTracker(sites=2, capacity=100)
    tracker.observe("x-keep", UIDH_LIKE, "a.example")
    for index in range(1000):
        tracker.observe("x-junk", f"{index:032x}", "a.example")
        if index % 50 == 0:
            tracker.observe("x-keep", UIDH_LIKE, "a.example")  # recently used: kept
    assert len(tracker) <= 100
    assert tracker.observe("x-keep", UIDH_LIKE, "b.example") is not None


def test_sites_beyond_those_kept_are_still_counted() -> None:
    tracker = RecurrenceTracker(sites=3)
    hit = None
    for index in range(20):
        hit = tracker.observe("x-id", UIDH_LIKE, f"site{index}.example")
    assert hit is not None and hit.sites == 20 and len(hit.seen) == 8
    assert hit.detail.endswith(", …")


def _uidh_capture(tmp_path: Path) -> str:
    """Five sites each receive the same token in a header no catalog names."""
    frames = []
    for index, host in enumerate(
        ["www.news.example", "shop.example.co.uk", "cdn.other.example", "api.fourth.example"]
    ):
        conv = conversation(cport=40000 + index, ts=1000.0 + index)
        extra = f"X-Mystery-Sub-Token: {UIDH_LIKE}\r\nCookie: sid=s{index}\r\n"
        frames += conv.handshake() + conv.send(True, simple_request("/", host, extra))
    return save(tmp_path, frames)


def test_an_injected_uidh_like_token_under_an_unseen_name_is_found_in_a_capture(
    tmp_path: Path,
) -> None:
    out, err = io.StringIO(), io.StringIO()
    detector = IdentityDetector(IdentityConfig(region="GB", recurrence=3))
    assert scan([_uidh_capture(tmp_path)], detector=detector, out=out, err=err, jobs=1) == 0
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    found = [[f for f in r["findings"] if f["detector"] == "recurrence"] for r in records]
    # The first two sites are not enough; the third and fourth request are reported.
    assert [len(f) for f in found] == [0, 0, 1, 1]
    third = found[2][0]
    assert (third["kind"], third["name"], third["value"]) == (
        "tracking_id",
        "X-Mystery-Sub-Token",
        UIDH_LIKE,
    )
    assert third["detail"] == (
        "the same token sent to 3 sites: news.example, example.co.uk, other.example"
    )
    assert found[3][0]["detail"].startswith("the same token sent to 4 sites")


def test_without_the_option_nothing_is_counted(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    detector = IdentityDetector(IdentityConfig(region="GB"))
    scan([_uidh_capture(tmp_path)], detector=detector, out=out, err=err, jobs=1)
    assert '"recurrence"' not in out.getvalue()


def _benign_corpus() -> list[dict[str, Any]]:
    with BENIGN_CORPUS.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def test_silent_on_the_benign_corpus_as_captured() -> None:
    detector = IdentityDetector(IdentityConfig(region="GB", recurrence=3))
    found = []
    for record in _benign_corpus():
        headers = tuple((name, value) for name, value in record["headers"])
        found += [f for f in detector.detect(make_request(uri=record["uri"], headers=headers))]
    assert [f for f in found if f.detector == "recurrence"] == []


# Values that recur across sites by design, each sent to five sites: the same CDN
# object's validators, one campaign's UTM tags, one app's API key, one property's
# analytics tag, one trace crossing services.
_BY_DESIGN = [
    ("If-None-Match", '"5d8c72a5edda8d6a:0"'),
    ("If-None-Match", 'W/"0815b3d6d2e1b5c7e1c35b1d9c1e0b2f"'),
    ("X-Api-Key", "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"),
    ("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
    ("X-Amzn-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793"),
    ("X-Client-Data", "CJa2yQEIpLbJAQjBtskBCKmdygEIqKPKAQ=="),
    # New Relic's mobile agent: the app's account and application ID, to every host.
    ("X-NewRelic-ID", "VQYFUFNbGwIFVlVWBQ=="),
    # CDN and cache keys and build stamps under names no list holds whole (an outside
    # tester's): each said by a word of its name.
    ("Surrogate-Key", "k8f3Jd92LmQz7Xv1Pa4R"),
    ("Fastly-Key", "Zt4kq9Lm2Xc8Vb7Nn1Qw"),
    ("CDN-Cache-Key", "c2f8e1a9d7b3f6e4a0c5"),
    ("Akamai-Cache-Key", "Ak9Xm2Lq7Zt4Vb8Nc1Rw"),
    ("X-Edge-Cache-Key", "e7Hf2Kq9Lm4Xz8Vb1Nc3"),
    ("X-Cache-Token", "Tq8Zm2Xk7Lf4Vb9Nc1Rw"),
    ("X-CDN-Token", "Nd3Kq8Zm1Xf7Lb4Vc9Rw"),
    ("X-Build-Hash", "9f8e7d6c5b4a39281706f5e4"),
    ("X-Asset-Version", "a7F3k9Qm2Lx8Zv4Bn1Wc"),
]
_QUERIES = [
    "/?utm_source=newsletter&utm_campaign=spring_sale_2024_q1_x7f3k9&v=3f9c2b7a1e5d4c6b",
    "/lib.js?integrity=sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC",
    "/collect?tid=UA-12345678-1&key=a94a8fe5ccb19ba61c4c0873d391e987982fbbd3",
    "/app.js?cachebuster=Xq7Lm2Kz9Vb4Nc8Rw1Tf&cache_key=Pz4Kq9Lm2Xc7Vb8Nn1Qw",
    "/img.png?cacheBuster=Lm9Xq2Kz7Vb4Nc8Rw1Tf",
]


def test_silent_on_cdn_cache_and_analytics_keys_that_recur_by_design() -> None:
    detector = IdentityDetector(IdentityConfig(region="GB", recurrence=3))
    found = []
    for site in ("a.example", "b.example", "c.example.org", "d.example.net", "e.example.co.uk"):
        for name, value in _BY_DESIGN:
            found += detector.detect(make_request(headers=(("Host", f"www.{site}"), (name, value))))
        for uri in _QUERIES:
            found += detector.detect(make_request(uri=uri, headers=(("Host", f"cdn.{site}"),)))
    assert [f for f in found if f.detector == "recurrence"] == []


def _analytics_cookies() -> list[str]:
    """The Cookie headers of the benign corpus that carry analytics cookies."""
    return [
        value
        for record in _benign_corpus()
        for name, value in record["headers"]
        if name.lower() == "cookie" and ("_ga=" in value or "__utma=" in value)
    ]


def test_analytics_cookies_of_the_benign_corpus_are_not_counted_when_they_recur() -> None:
    cookies = _analytics_cookies()
    assert any("_ga=GA1." in c for c in cookies) and any("__utma=" in c for c in cookies)
    detector = IdentityDetector(IdentityConfig(region="GB", recurrence=3))
    found = []
    for site in ("a.example", "b.example", "c.example.org", "d.example.net", "e.example.co.uk"):
        for cookie in cookies:
            # A GA4 cookie named after its stream, and Adobe's visitor ID cookie, too.
            cookie += "; _ga_Q8W7E6R5T4=GS1.1.1700000000.1.0.1700000000.0.0.0"
            cookie += "; AMCV_0123456789ABCDEF01234567%40AdobeOrg=" + "-1124106680%7CMCID%7C"
            cookie += "49862758150327146593487236785642837521"
            headers = (("Host", f"www.{site}"), ("Cookie", cookie))
            found += detector.detect(make_request(headers=headers))
    assert [f for f in found if f.detector == "recurrence"] == []
    # The same cookies with one more, under a name nothing explains: that one recurs.
    for site in ("a.example", "b.example", "c.example.org"):
        cookie = f"{cookies[0]}; xsub={UIDH_LIKE}"
        found += detector.detect(make_request(headers=(("Host", site), ("Cookie", cookie))))
    assert {(f.name, f.detector) for f in found} == {("xsub", "recurrence")}


def test_the_demo_capture_has_no_recurrence_finding_on_its_analytics_cookie() -> None:
    # The laptop of the demo sends one _ga cookie to three sites (bbc, guardian, example).
    out, err = io.StringIO(), io.StringIO()
    detector = IdentityDetector(IdentityConfig(region="GB", recurrence=3))
    demo = str(resources.files("capture") / "data" / "demo-o2-2012.pcap")
    assert scan([demo], detector=detector, out=out, err=err, jobs=1) == 0
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    cookies = [r for r in records if "_ga=GA1." in json.dumps(r.get("headers", ""))]
    assert cookies, "the demo capture no longer sends a _ga cookie"
    assert [f for r in records for f in r["findings"] if f["detector"] == "recurrence"] == []


def test_catalog_tokens_are_reported_by_the_catalog_not_twice() -> None:
    detector = IdentityDetector(IdentityConfig(region="GB", recurrence=2))
    found = []
    for site in ("a.example", "b.example", "c.example"):
        found += detector.detect(make_request(headers=(("Host", site), ("X-UIDH", UIDH_LIKE))))
    assert {f.detector for f in found} == {"catalog"}


def test_the_recurrence_rule_can_be_disabled() -> None:
    detector = IdentityDetector(IdentityConfig(region="GB", recurrence=2, disabled=("recurrence",)))
    found = []
    for site in ("a.example", "b.example", "c.example"):
        found += detector.detect(make_request(headers=(("Host", site), ("X-Tok", UIDH_LIKE))))
    assert found == []


def test_a_token_an_sdk_posts_in_json_to_three_sites_recurs_under_its_path() -> None:
    detector = IdentityDetector(IdentityConfig(region="GB", recurrence=3))
    body = json.dumps({"event": "open", "context": {"device": {"token": UIDH_LIKE}}}).encode()
    found = []
    for site in ("a.example", "b.example", "c.example"):
        headers = (("Host", site), ("Content-Type", "application/json"))
        found += detector.detect(make_request(method="POST", headers=headers, body=body))
    assert [(f.where, f.name, f.kind, f.detector) for f in found] == [
        ("body", "context.device.token", "tracking_id", "recurrence")
    ]


def _scan_records(path: Path, recurrence: int = 3) -> list[dict[str, Any]]:
    out, err = io.StringIO(), io.StringIO()
    detector = IdentityDetector(IdentityConfig(region="GB", recurrence=recurrence))
    scan([str(path)], detector=detector, out=out, err=err, jobs=1)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def _recurring(record: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (f["where"], f["name"], f["detail"])
        for f in record["findings"]
        if f["detector"] == "recurrence"
    ]


def test_a_recurrence_finding_survives_reading_back_a_file_without_the_first_sites(
    tmp_path: Path,
) -> None:
    records = _scan_records(zork_har(tmp_path / "rec.har"))
    # The 3rd site on carry the token's findings: header and cookie.
    assert [len(_recurring(r)) for r in records] == [0, 0, 2, 2, 2]
    # As a filtered export writes them (~id tracking_id): the first sites are gone.
    kept = tmp_path / "s3.jsonl"
    kept.write_text(
        "".join(json.dumps(r) + "\n" for r in records if _recurring(r)), encoding="utf-8"
    )
    again = _scan_records(kept)
    # The first two are not found again (the run sees 1, then 2 sites): as written.
    assert [_recurring(r) for r in again[:2]] == [_recurring(r) for r in records[2:4]]
    # The last is found again, but the run saw 3 sites (those the file holds) where the
    # file's finding names 5: the file's is kept, once, not replaced by the narrower.
    assert _recurring(again[2]) == _recurring(records[4])
    assert "sent to 5 sites" in _recurring(again[2])[0][2]
    # Without the detector, none is found again: the file's evidence is kept.
    assert [_recurring(r) for r in _scan_records(kept, recurrence=0)] == [
        _recurring(r) for r in records[2:]
    ]


def test_a_recurrence_finding_found_again_on_reading_back_is_listed_once(
    tmp_path: Path,
) -> None:
    records = _scan_records(zork_har(tmp_path / "rec.har"))
    whole = tmp_path / "all.jsonl"
    whole.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    again = _scan_records(whole)
    assert [r["findings"] for r in again] == [r["findings"] for r in records]


def test_canary_findings_are_carried_from_the_file_unless_found_again(tmp_path: Path) -> None:
    """The file holds its canaries' digests, not their values: a run without them
    cannot find them again, and a session reopened so lost its canary findings (but a
    body's). Carried, as recurrence's are; found again, listed once."""
    records = _scan_records(zork_har(tmp_path / "rec.har"))
    record = records[3]
    record["findings"].append(
        {
            "name": "X-Zork-Tag",
            "where": "header",
            "kind": "msisdn",
            "value": ZORK_TOKEN,
            "normalized": ZORK_TOKEN,
            "detector": "canary",
            "severity": "high",
            "detail": "",
        }
    )
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    (again,) = _scan_records(path)
    assert [f["detector"] for f in again["findings"]] == ["canary", "recurrence", "recurrence"]
    assert again["findings"][0]["name"] == "X-Zork-Tag"


def _three_sites(
    uri: str, sites: tuple[str, ...] = ("one.com", "two.com", "three.com")
) -> list[Finding]:
    """The recurrence findings of ``uri`` sent to each of ``sites``."""
    detector = IdentityDetector(IdentityConfig(region="GB", recurrence=3))
    found = []
    for site in sites:
        found += detector.detect(make_request(uri=uri, headers=(("Host", site),)))
    return [f for f in found if f.detector == "recurrence"]


# An ad tag's ref= (encodeURIComponent(btoa(url))), a beacon's state in base64 JSON
# with its padding percent-encoded, and JSON percent-encoded: a page's address or
# state, which each tracker on the page is sent, as when not percent-encoded.
_PERCENT_ENCODED_PAGE = [
    "aHR0cHM6Ly9uZXdzLmV4YW1wbGUuY29tL2EvdmVyeS9sb25nL3BhdGg%2FeD0x",
    base64.b64encode(b'{"page":"https://news.example.org/a","ts":170}')
    .decode()
    .replace("=", "%3D"),
    "%7B%22zz%22%3A%22Qx7Lm2Kz9Vb4Nc8Rw1Tf%22%2C%22t%22%3A1%7D",
    # Twice percent-encoded, as a redirect's parameter carries it.
    "aHR0cHM6Ly9uZXdzLmV4YW1wbGUuY29tL2EvdmVyeS9sb25nL3BhdGg%253FeD0x",
]


@pytest.mark.parametrize("value", _PERCENT_ENCODED_PAGE)
def test_a_percent_encoded_page_address_or_state_is_not_a_token(value: str) -> None:
    assert "%" in value
    assert not opaque(value)


@pytest.mark.parametrize("value", _PERCENT_ENCODED_PAGE)
def test_a_percent_encoded_page_address_sent_to_three_sites_is_not_a_supercookie(
    value: str,
) -> None:
    assert _three_sites(f"/ad?ref={value}") == []


def test_a_percent_encoded_token_is_still_one_and_recurs() -> None:
    encoded = UIDH_LIKE.replace("+", "%2B").replace("/", "%2F")
    assert encoded != UIDH_LIKE and opaque(encoded)
    found = _three_sites(f"/p?xsub={encoded}")
    assert [(f.name, f.value) for f in found] == [("xsub", encoded)]


# An OpenRTB 2.x bid request as a page's header bidding POSTs it to each exchange: the
# auction's ID (id), the slot's (imp.id, a GPT div), the ad unit (imp.tagid), the
# publisher's account (site.publisher.id) and the transaction ID (source.tid) are the
# same at every exchange by design: one auction, one page, no person.
_BID_REQUEST = {
    "id": "a1b2c3d4-e5f6-4a5b-8c9d-0123456789ab",
    "imp": [{"id": "div-gpt-ad-1234567890123-0", "tagid": "/1234567/news/homepage_top"}],
    "site": {"publisher": {"id": "pub-1234567890123456"}},
    "source": {"tid": "3f1e2d3c-4b5a-6978-8a9b-0c1d2e3f5678"},
}
_EXCHANGES = ("fastlane.rubiconproject.com", "hbopenbid.pubmatic.com", "rtb.openx.net")


def _posted(body: dict[str, Any], hosts: tuple[str, ...] = _EXCHANGES) -> list[Finding]:
    """The recurrence findings of ``body`` POSTed as JSON to each of ``hosts``."""
    detector = IdentityDetector(IdentityConfig(region="GB", recurrence=3))
    found = []
    for host in hosts:
        headers = (("Host", host), ("Content-Type", "application/json"))
        request = make_request(method="POST", headers=headers, body=json.dumps(body).encode())
        found += detector.detect(request)
    return [f for f in found if f.detector == "recurrence"]


def test_a_bid_request_posted_to_three_exchanges_holds_no_supercookie() -> None:
    assert _posted(_BID_REQUEST) == []


def test_a_token_under_the_user_of_a_bid_request_still_recurs() -> None:
    body = {**_BID_REQUEST, "user": {"id": UIDH_LIKE}}
    assert [(f.name, f.value) for f in _posted(body)] == [("user.id", UIDH_LIKE)]


def test_an_sdk_key_and_a_client_token_sent_to_a_vendors_domains_are_not_counted() -> None:
    uri = "/init?sdk_key=sk_live_4eC39HqLyjWDarjtT1zdp7dc&client_token=pub9f8e7d6c5b4a3928170"
    assert _three_sites(uri, ("vendor.com", "vendor-cdn.net", "vendor.io")) == []


@pytest.mark.parametrize(
    ("name", "scoped"),
    [
        # One request's, auction's or trace's: the same at every host it fans out to.
        # "id" at a JSON body's root is the detector's to pass over (a header, cookie
        # or parameter named id may be a person's: DoubleClick's id cookie).
        ("id", False),
        ("auctionId", True),
        ("x-transaction-id", True),
        ("txn_id", True),
        ("bidRequestId", True),
        ("span_id", True),
        ("nonce", True),
        ("source.tid", True),
        # One slot's, ad unit's or publisher's: the same from every visitor of a page.
        ("imp.id", True),
        ("imp.tagid", True),
        ("tagId", True),
        ("slot", True),
        ("adslot", True),
        ("imp.ext.data.pbadslot", True),
        ("placementId", True),
        ("impression_id", True),
        ("adUnitCode", True),
        ("site.publisher.id", True),
        ("pubid", True),
        # One app's key: the same from every install.
        ("sdk_key", True),
        ("sdkKey", True),
        ("client_token", True),
        ("publishable_key", True),
        # A supercookie's names, and those of a person's ID, are counted.
        ("X-Mystery-Sub-Token", False),
        ("X-Zork-Tag", False),
        ("xsub", False),
        ("uid", False),
        ("token", False),
        ("x-acr", False),
        ("user.id", False),
        ("device.id", False),
        ("context.device.token", False),
        ("Client-Uid", False),
        ("X-DevTools-Emulate-Network-Conditions-Client-Id", False),
        ("guid", False),
        ("uuid", False),
        # Words that hold a scoped one only inside another word.
        ("x-simple-token", False),
        # A scope's word before what the value is: a user's (second review).
        *(("x-trace-user", False), ("publisher_uid", False), ("slot_uid", False)),
        *(("x-auction-uid", False), ("pubProvidedId", False)),
        ("public_uid", False),
        ("shrimp", False),
    ],
)
def test_names_that_say_a_request_a_slot_a_publisher_or_an_app_key_are_scoped(
    name: str, scoped: bool
) -> None:
    assert scoped_name(name) is scoped


def test_a_name_longer_than_the_bound_is_neither_counted_nor_remembered() -> None:
    detector = IdentityDetector(IdentityConfig(region="GB", recurrence=3))
    name = "x" + "a" * MAX_NAME_LENGTH
    found = []
    for site in ("a.example", "b.example", "c.example"):
        request = make_request(headers=(("Host", site), (name, UIDH_LIKE)))
        assert detector.recurring_values(request) == ()
        found += detector.detect(request)
    assert [f for f in found if f.detector == "recurrence"] == []
    # Names are chosen by whoever sends the request: a 30 KB one each time filled
    # the name cache and the tracker with 16,384 of them (nearly 1 GB).
    assert detector._recurrence_key.cache_info().currsize == 0  # type: ignore[attr-defined]
    assert len(detector._recurrence) == 0  # type: ignore[arg-type]


def test_a_name_as_long_as_the_bound_is_counted() -> None:
    detector = IdentityDetector(IdentityConfig(region="GB", recurrence=3))
    name = "x" * MAX_NAME_LENGTH
    found = []
    for site in ("a.example", "b.example", "c.example"):
        found += detector.detect(make_request(headers=(("Host", site), (name, UIDH_LIKE))))
    assert [f.name for f in found if f.detector == "recurrence"] == [name]


def test_a_token_sent_to_a_thousand_sites_remembers_a_few_dozen() -> None:
    tracker = RecurrenceTracker(sites=3)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        hit = None
        for index in range(1010):
            site = f"site{index}.example"
            for token in range(50):
                hit = tracker.observe("x-id", f"{token:04d}{UIDH_LIKE}", site)
        held = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    # 50 tokens: each remembered 1,000 sites' hashes (some 60 KB) where it now keeps
    # MAX_SITES_COUNTED.
    assert held < 50 * 2_000
    assert hit is not None and (hit.sites, hit.more) == (MAX_SITES_COUNTED, True)
    assert len(hit.seen) == 8
    assert hit.detail.startswith(f"the same token sent to {MAX_SITES_COUNTED} sites or more: ")


def test_sites_are_counted_exactly_up_to_a_threshold_above_those_kept() -> None:
    sites = MAX_SITES_COUNTED + 20
    tracker = RecurrenceTracker(sites=sites)
    hits = [tracker.observe("x-id", UIDH_LIKE, f"site{index}.example") for index in range(70)]
    assert hits[: sites - 1] == [None] * (sites - 1)
    first, past = hits[sites - 1], hits[sites]
    assert first is not None and (first.sites, first.more) == (sites, False)
    assert past is not None and (past.sites, past.more) == (sites, True)
    # A site counted already adds nothing, not even "or more".
    again = RecurrenceTracker(sites=3)
    for site in ("a.example", "b.example", "c.example", "a.example"):
        hit = again.observe("x-id", UIDH_LIKE, site)
    assert hit is not None and (hit.sites, hit.more) == (3, False)


def _flood(requests: int, per_request: int, host: str = "flood.example") -> Iterator[Request]:
    """``requests`` requests to ``host``, each with ``per_request`` parameters whose
    16-character opaque values no other request sends."""
    for index in range(requests):
        values = (
            base64.urlsafe_b64encode(hashlib.sha256(f"{index}.{n}".encode()).digest())[:16]
            for n in range(per_request)
        )
        query = "&".join(f"p{n}={value.decode()}" for n, value in enumerate(values))
        yield make_request(uri=f"/f?{query}", headers=(("Host", host),))


def test_a_flood_of_first_sightings_does_not_evict_a_half_counted_supercookie() -> None:
    detector = IdentityDetector(IdentityConfig(region="GB", recurrence=3))
    found = list(
        detector.detect(make_request(headers=(("Host", "a.example"), ("X-Zz", ZORK_TOKEN))))
    )
    # 18,000 new opaque values, more than the tracker holds: each request counts its
    # first MAX_PER_REQUEST.
    for request in _flood(6, 3000):
        assert len(detector.recurring_values(request)) == MAX_PER_REQUEST
        found += detector.detect(request)
    for site in ("b.example", "c.example"):
        found += detector.detect(make_request(headers=(("Host", site), ("X-Zz", ZORK_TOKEN))))
    assert [(f.name, f.detail) for f in found if f.detector == "recurrence"] == [
        ("X-Zz", "the same token sent to 3 sites: a.example, b.example, c.example")
    ]


def test_a_token_seen_at_two_sites_outlives_a_flood_of_tokens_seen_once() -> None:
    tracker = RecurrenceTracker(sites=3, capacity=100)
    tracker.observe("x-zz", UIDH_LIKE, "a.example")
    tracker.observe("x-zz", UIDH_LIKE, "b.example")
    for index in range(1000):
        tracker.observe("p", f"{index:032x}", "flood.example")
    assert len(tracker) <= 100
    assert tracker.observe("x-zz", UIDH_LIKE, "c.example") is not None


def test_tokens_seen_at_two_sites_are_bounded_too() -> None:
    tracker = RecurrenceTracker(sites=3, capacity=100)
    for index in range(1000):
        for site in ("a.example", "b.example"):
            tracker.observe("x-zz", f"{index:032x}", site)
    assert len(tracker) <= 100
    # The latest are kept, the oldest forgotten.
    assert tracker.observe("x-zz", f"{999:032x}", "c.example") is not None
    assert tracker.observe("x-zz", f"{0:032x}", "c.example") is None


def test_a_hostile_long_host_is_read_but_never_kept() -> None:
    # The Host header is the client's: 4,096 kept hosts of 60 KB were 240 MB.
    registrable_domain.cache_clear()  # type: ignore[attr-defined]
    for n in range(10):
        host = f"{n}" + "h" * 60_000 + ".example.com"
        assert registrable_domain(host).endswith("example.com")
    assert registrable_domain.cache_info().currsize == 0  # type: ignore[attr-defined]
    assert registrable_domain("www.bbc.co.uk") == "bbc.co.uk"
    assert registrable_domain.cache_info().currsize == 1  # type: ignore[attr-defined]


def test_a_token_named_id_in_a_cookie_a_header_or_a_query_is_counted() -> None:
    # Only a JSON body's root "id" is one document's (a bid request's); the rule once
    # dropped DoubleClick's id cookie and any header or parameter named id.
    found = _three_sites(f"/p?id={UIDH_LIKE}")
    assert [(f.name, f.value) for f in found] == [("id", UIDH_LIKE)]
    detector = IdentityDetector(IdentityConfig(region="GB", recurrence=3))
    for site in ("one.com", "two.com", "three.com"):
        headers = (("Host", site), ("Id", UIDH_LIKE), ("Cookie", f"id={UIDH_LIKE}"))
        seen = detector.detect(make_request(headers=headers))
    assert {(f.where, f.name) for f in seen if f.detector == "recurrence"} == {
        ("header", "Id"),
        ("cookie", "id"),
    }


def test_a_token_with_a_percent_encoded_separator_is_still_one_token() -> None:
    # "%7C" and "%20" are how a URL spells a token's "|" or " ": the token as sent.
    assert opaque("Xk3j9aLq%7C82hdKq0Zp1mB")
    assert not opaque("%7B%22zz%22%3A%22abcdefghijklmnop%22%7D")  # JSON
