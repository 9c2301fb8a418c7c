"""The backfill of a recurring token's finding onto the requests that took it to its
first sites: which get it, and the bounds on what is remembered."""

from __future__ import annotations

from dataclasses import replace

from capture.http.echo import transit
from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.model import Record
from capture.view.recurring import Backfill
from capture.view.store import Store
from tests.capture.factories import request
from tests.capture.identity.factory import ZORK_SITES, ZORK_TOKEN


def _records(detector: IdentityDetector, hosts: tuple[str, ...]) -> list[Record]:
    out = []
    for rid, host in enumerate(hosts, start=1):
        req = request(headers=(("Host", f"www.{host}"), ("X-Zork-Tag", ZORK_TOKEN)))
        out.append(Record(rid, req, detector.detect(req)))
    return out


def test_the_earlier_requests_get_the_finding_of_the_request_that_reached_the_nth_site() -> None:
    detector = IdentityDetector(IdentityConfig(recurrence=3))
    backfill = Backfill.for_detector(detector)
    assert backfill is not None
    records = _records(detector, ZORK_SITES[:3] + ZORK_SITES[:1])
    assert backfill.take(records[:2]) == {}
    given = backfill.take(records[2:])
    (third,) = records[2].findings
    assert given == {1: (third,), 2: (third,)}
    store = Store()
    for rec in records:
        store.add(rec)
    # Nothing more to give: the 4th carries its own finding.
    assert backfill.fill(store, records[3:]) == []


def test_only_a_detector_with_recurrence_on_has_a_backfill() -> None:
    assert Backfill.for_detector(IdentityDetector(IdentityConfig())) is None
    assert Backfill.for_detector(None) is None


def test_what_does_not_fit_is_counted() -> None:
    detector = IdentityDetector(IdentityConfig(recurrence=3))
    backfill = Backfill(detector.recurring_fields, max_tokens=1, max_earlier=2)
    first = _records(detector, (ZORK_SITES[0],) * 3)
    assert backfill.take(first) == {}
    assert backfill.cut == 1  # a third request to the same site
    other = request(headers=(("Host", "www.x.example"), ("X-Other", ZORK_TOKEN[::-1])))
    backfill.take([Record(9, other, ())])
    assert backfill.cut == 3  # the first token forgotten, its two requests with it


def test_a_token_injected_on_the_way_gives_its_finding_to_every_site_it_reached() -> None:
    # The carrier adds the token (a reflector's echo shows it): the requests as sent do
    # not hold it, the blocks as received do. The report said "went to 2 sites" of a
    # token whose own detail said 4.
    detector = IdentityDetector(IdentityConfig(recurrence=3))
    backfill = Backfill.for_detector(detector)
    assert backfill is not None
    records = []
    for rid, host in enumerate(ZORK_SITES[:3], start=1):
        sent = request(headers=(("Host", f"www.{host}"),))
        received = (*sent.headers, ("X-Zork-Tag", ZORK_TOKEN))
        moved = transit(sent.headers, received)
        found = detector.detect(replace(sent, headers=received))
        records.append(Record(rid, sent, found, transit=moved))
    assert backfill.take(records[:2]) == {}
    (third,) = records[2].findings
    assert backfill.take(records[2:]) == {1: (third,), 2: (third,)}
