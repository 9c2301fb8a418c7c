"""Exposure: which hosts received which identities, counts per carrier, per-second series."""

from __future__ import annotations

import pytest

from capture.http.echo import transit
from capture.model import EchoSeen, Notice, RequestSeen, ResponseSeen
from capture.view.exposure import CarrierCount, Exposure
from tests.capture.factories import finding, record, response

MSISDN = finding(detail="+44 7700 900123 · GB mobile")
UIDH = finding("tracking_id", name="X-UIDH", value="OTgxNTk2", normalized="OTgxNTk2")
CLIENT_IP = finding("client_ip", name="X-Forwarded-For", value="10.0.0.1", normalized="10.0.0.1")


def host_record(i: int, host: str, ts: float, *findings: object) -> object:
    return record(i, tuple(findings), ts=ts, headers=(("Host", host),))  # type: ignore[arg-type]


def test_which_hosts_received_which_identity() -> None:
    exp = Exposure()
    exp.add(host_record(1, "bbc.co.uk", 100.0, MSISDN))  # type: ignore[arg-type]
    exp.add(host_record(2, "BBC.co.uk", 101.0, MSISDN))  # type: ignore[arg-type]
    exp.add(host_record(3, "ads.example", 102.5, MSISDN, UIDH))  # type: ignore[arg-type]
    exp.add(host_record(4, "plain.example", 103.0))  # type: ignore[arg-type]
    [msisdn, uidh] = exp.identities()  # most requests first, though the UIDH came last
    assert (msisdn.kind, msisdn.value, msisdn.requests) == ("msisdn", "+447700900123", 3)
    assert msisdn.detail == "+44 7700 900123 · GB mobile"
    assert (msisdn.first_ts, msisdn.last_ts) == (100.0, 102.5)
    assert [(h.host, h.requests) for h in msisdn.hosts] == [("bbc.co.uk", 2), ("ads.example", 1)]
    assert msisdn.hosts[0].first_ts == 100.0 and msisdn.hosts[0].last_ts == 101.0
    assert msisdn.carriers == ("header x-up-calling-line-id",)
    assert [h.host for h in uidh.hosts] == ["ads.example"]
    # Hosts: requests that carried an identity there (one each, however many it held).
    assert [(h.host, h.requests, h.identities) for h in exp.hosts()] == [
        ("bbc.co.uk", 2, (("msisdn", "+447700900123"),)),
        ("ads.example", 1, (("msisdn", "+447700900123"), ("tracking_id", "OTgxNTk2"))),
    ]
    assert exp.requests == 4 and exp.identity_requests == 3


def test_counts_per_carrier_once_per_request() -> None:
    exp = Exposure()
    cookie = finding(where="cookie", name="msisdn")
    exp.add(record(1, (MSISDN, cookie)))
    exp.add(
        record(2, (MSISDN, finding("imsi", value="234150999999999", normalized="234150999999999")))
    )
    exp.add(record(3, (UIDH,)))
    assert exp.carriers() == [
        CarrierCount("header", "x-up-calling-line-id", 2),
        CarrierCount("cookie", "msisdn", 1),
        CarrierCount("header", "X-UIDH", 1),
    ]
    [ident] = [i for i in exp.identities() if i.kind == "msisdn"]
    assert ident.requests == 2  # header and cookie in one request: one exposure
    assert ident.carriers == ("header x-up-calling-line-id", "cookie msisdn")


def test_informational_findings_are_not_exposure() -> None:
    exp = Exposure()
    assert exp.add(record(1, (CLIENT_IP,))) is False
    assert exp.identities() == [] and exp.carriers() == [] and exp.identity_requests == 0
    assert exp.series()[0][-1] == 1 and exp.series()[1][-1] == 0


def test_per_second_series_is_a_bounded_ring() -> None:
    exp = Exposure(window=5)
    assert exp.series() == ((0,) * 5, (0,) * 5) and exp.latest_second is None
    exp.add(record(1, (MSISDN,), ts=1000.2))
    exp.add(record(2, ts=1000.9))
    exp.add(record(3, (MSISDN, UIDH), ts=1002.1))
    assert exp.series() == ((0, 0, 2, 0, 1), (0, 0, 1, 0, 2))
    assert exp.latest_second == 1002
    exp.tick(1004.5)  # a quiet second moves the sparkline on
    assert exp.series() == ((2, 0, 1, 0, 0), (1, 0, 2, 0, 0))
    exp.add(record(4, ts=1001.0))  # late but inside the window
    assert exp.series()[0] == (2, 1, 1, 0, 0)
    exp.add(record(5, ts=990.0))  # older than the window: counted, not drawn
    assert exp.dropped["late"] == 1 and exp.requests == 5
    exp.add(record(6, ts=2000.0))  # a jump past the whole window
    assert exp.series() == ((0, 0, 0, 0, 1), (0,) * 5)
    with pytest.raises(ValueError):
        Exposure(window=0)


def test_tables_are_bounded_and_overflow_is_counted() -> None:
    exp = Exposure(max_identities=2, max_hosts=1, max_carriers=1)
    for i in range(4):  # four identities, each in its own header
        f = finding(value=f"44770090050{i}", normalized=f"+44770090050{i}", name=f"x-id-{i}")
        exp.add(record(i + 1, (f,), headers=(("Host", "h"),)))
    assert [i.value for i in exp.identities()] == ["+447700900500", "+447700900501"]
    assert exp.dropped["identities"] == 2
    assert exp.dropped["carriers"] == 3
    # A known identity sent to a second host: the host table (1 per identity) is full.
    first = finding(value="447700900500", normalized="+447700900500", name="x-id-0")
    exp.add(record(9, (first,), headers=(("Host", "second-host"),)))
    assert exp.dropped["hosts"] == 1
    [ident] = [i for i in exp.identities() if i.value == "+447700900500"]
    assert ident.requests == 2 and [h.host for h in ident.hosts] == ["h"]


def test_apply_version_and_clear() -> None:
    exp = Exposure()
    v0 = exp.version
    assert exp.apply([RequestSeen(record(1, (MSISDN,))), ResponseSeen(1, response()),
                      Notice("info", "x")]) == 1  # fmt: skip
    assert exp.version > v0
    v1 = exp.version
    exp.clear()
    assert exp.version > v1 and exp.requests == 0 and exp.identities() == []


def test_forty_thousand_records_are_all_counted() -> None:
    """Called for every record (its cost is in bench/ui_bench.py's figures)."""
    exp = Exposure()
    for i in range(20_000):
        exp.add(record(i, ts=1000.0 + i / 100))
    for i in range(20_000):
        exp.add(record(i, (MSISDN, UIDH), ts=1000.0 + i / 100))
    assert exp.identity_requests == 20_000


def test_a_recurring_token_shows_as_the_same_token_sent_to_n_sites() -> None:
    exp = Exposure()
    token = "OTgxNTk2NDk0ADJVquRu5NS5+rSbBANlrp+13QL7CXLGsFHpMi4LsUHw"
    for index, sites in enumerate((3, 4), 1):
        detail = f"the same token sent to {sites} sites: a.example, b.example, c.example"
        found = finding(
            "tracking_id",
            name="X-Mystery",
            value=token,
            normalized=token,
            detector="recurrence",
            severity="medium",
            detail=detail,
        )
        exp.add(host_record(index, f"site{index}.example", 100.0 + index, found))  # type: ignore[arg-type]
    [ident] = exp.identities()
    # The latest count, not the one of the first request that reached the threshold.
    assert ident.detail.startswith("the same token sent to 4 sites")


def test_an_identity_sent_often_stays_above_a_one_off_seen_later() -> None:
    exp = Exposure()
    for i in range(1, 4):
        exp.add(host_record(i, "bbc.co.uk", 100.0 + i, MSISDN))  # type: ignore[arg-type]
    exp.add(host_record(9, "ads.example", 200.0, UIDH))  # type: ignore[arg-type]
    assert [(i.kind, i.requests) for i in exp.identities()] == [("msisdn", 3), ("tracking_id", 1)]


def test_a_host_counts_requests_once_even_when_identities_are_added_in_transit() -> None:
    exp = Exposure()
    first = host_record(1, "ads.example", 100.0, MSISDN)
    second = host_record(2, "ads.example", 101.0)
    exp.add(first)  # type: ignore[arg-type]
    exp.add(second)  # type: ignore[arg-type]
    moved = transit((("Host", "ads.example"),), (("Host", "ads.example"), ("X-UIDH", "OTgxNTk2")))
    # A UIDH added on the way to a request that already carried the number: one request.
    exp.add_injected(EchoSeen(first, moved, (UIDH,)))  # type: ignore[arg-type]
    # ... and to one that carried nothing: now a second request with an identity.
    exp.add_injected(EchoSeen(second, moved, (UIDH,)))  # type: ignore[arg-type]
    [host] = exp.hosts()
    assert (host.host, host.requests, len(host.identities)) == ("ads.example", 2, 2)
    assert exp.identity_requests == 2


def test_a_number_the_request_carried_and_the_network_added_again_is_one_request() -> None:
    """The carrier lab: the phone sent ?phone=+447700900123 and squid added the same
    number as x-up-calling-line-id. The panel said "4 req" of three requests."""
    exp = Exposure()
    query = finding(name="phone", where="query", value="%2B447700900123")
    sent = host_record(1, "198.51.100.2", 100.0, query)
    exp.add(sent)  # type: ignore[arg-type]
    exp.add(host_record(2, "198.51.100.2", 101.0, MSISDN))  # type: ignore[arg-type]
    exp.add(host_record(3, "198.51.100.2", 102.0, MSISDN))  # type: ignore[arg-type]
    added = (("Host", "198.51.100.2"), ("x-up-calling-line-id", "447700900123"))
    moved = transit((("Host", "198.51.100.2"),), added)
    exp.add_injected(EchoSeen(sent, moved, (MSISDN,)))  # type: ignore[arg-type]
    [ident] = exp.identities()
    assert ident.requests == 3 and [h.requests for h in ident.hosts] == [3]
    # The header it came in on the way is one of its places.
    assert ident.carriers == ("query phone", "header x-up-calling-line-id")
    assert exp.identity_requests == 3
