"""Study verdicts (after AIBT and OONI) and grouping per network."""

from __future__ import annotations

import dataclasses
from typing import Any

from capture.model import Transit
from capture.report.study import (
    ARRIVED,
    CLEAN,
    INCONCLUSIVE,
    INJECTED,
    address_range,
    build_study,
    probe_test,
    record_test,
)
from tests.capture.factories import finding, record


def _probe(url: str = "http://r.example/", **kw: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "url": url, "ts": 1.0, "sent": [["Host", "r.example"]], "received": [["Host", "r.example"]],
        "injected": [], "removed": [], "changed": [], "findings": [], "echo": "reflector",
        "client": "10.0.0.2",
    }  # fmt: skip
    obj.update(kw)
    return obj


def test_an_identity_added_on_the_way_is_injected_and_its_header_named() -> None:
    test = probe_test(
        _probe(
            injected=[["X-MSISDN", "447700900123"], ["Via", "1.1 gw"]],
            findings=[{"kind": "msisdn", "normalized": "+447700900123", "name": "X-MSISDN"}],
        )
    )
    assert test.verdict == INJECTED
    assert test.headers == ("X-MSISDN", "Via")
    assert test.identities == ("msisdn +447700900123",)


def test_an_echo_without_an_added_identity_is_clean_even_with_a_via() -> None:
    test = probe_test(_probe(injected=[["Via", "1.1 gw"]]))
    assert test.verdict == CLEAN and test.headers == ("Via",)


def test_https_wifi_and_no_echo_are_inconclusive_with_the_reason() -> None:
    https = probe_test({"url": "https://r.example/", "ts": 1.0, "error": "inside TLS"})
    wifi = probe_test(_probe(label="carrier=O2 UK, net=wifi"))
    silent = probe_test({"url": "http://r.example/", "ts": 1.0, "error": "connection refused"})
    assert [t.verdict for t in (https, wifi, silent)] == [INCONCLUSIVE] * 3
    assert "HTTPS" in https.why and "Wi-Fi" in wifi.why and "connection refused" in silent.why


def test_a_wifi_test_that_got_an_echo_says_what_was_added_on_the_way() -> None:
    # Inconclusive of the carrier, but the echo showed what the Wi-Fi path added:
    # "not known (no echo)" said the echo never came.
    label = "carrier=O2 UK, net=wifi"
    clean = probe_test(_probe(label=label))
    via = probe_test(_probe(label=label, injected=[["Via", "1.1 cafe-proxy"]]))
    assert clean.verdict == via.verdict == INCONCLUSIVE
    assert clean.echoed and via.echoed and via.headers == ("Via",)
    assert build_study([clean]).networks[0].added == "none"
    assert build_study([via]).networks[0].added == "Via"
    silent = probe_test({"url": "http://r.example/", "ts": 1.0, "label": label, "error": "x"})
    assert not silent.echoed and "Wi-Fi" in silent.why
    assert build_study([silent]).networks[0].added == "not known (no echo)"


def test_tests_are_grouped_by_label_else_by_client_address_range() -> None:
    study = build_study(
        [
            probe_test(_probe(label="carrier=A")),
            probe_test(_probe(label="carrier=A", ts=2.0)),
            probe_test(_probe(client="10.0.0.77", ts=3.0)),
            probe_test(_probe(client="2001:db8:1:2::5", ts=4.0)),
        ]
    )
    assert [(n.name, n.tests) for n in study.networks] == [
        ("carrier=A", 2), ("10.0.0.0/24", 1), ("2001:db8:1::/48", 1),
    ]  # fmt: skip
    assert address_range("not an address") == "not an address"


def test_records_with_an_echo_are_judged_by_it_and_a_reflectors_log_by_what_arrived() -> None:
    msisdn = finding(name="X-MSISDN")
    moved = Transit((("X-MSISDN", "447700900123"),), (("X-MSISDN", "447700900123"),))
    echoed = record(findings=(msisdn,), src="10.1.2.3").__class__
    injected = record_test(echoed(1, record().request, (msisdn,), None, moved))
    received = record_test(record(findings=(msisdn,)), received=True)
    plain = record_test(record(), received=True)
    https = record_test(record(dport=443), received=True)
    assert [t.verdict for t in (injected, received, plain, https)] == [
        INJECTED, ARRIVED, CLEAN, INCONCLUSIVE,
    ]  # fmt: skip
    assert injected.headers == ("X-MSISDN",) and injected.echoed
    # The log holds what arrived, not what was sent: the header is not said to be added.
    assert received.why == (
        "received by the reflector with an identity header (X-MSISDN); who put it there "
        "is not known without what was sent"
    )
    assert received.headers == () and received.identities == ("msisdn +447700900123",)


def test_a_reflectors_log_shows_an_identity_arrived_and_only_an_echo_shows_it_injected() -> None:
    msisdn = finding(name="X-MSISDN")
    logged = record_test(record(findings=(msisdn,), src="10.1.2.3"), received=True)
    probed = probe_test(
        _probe(
            injected=[["X-MSISDN", "447700900123"]],
            findings=[{"kind": "msisdn", "normalized": "+447700900123", "name": "X-MSISDN"}],
        )
    )
    study = build_study([logged, probed])
    networks = {n.name: n for n in study.networks}
    log, probe = networks["10.1.2.0/24"], networks["10.0.0.0/24"]
    assert (log.injected, log.arrived) == (0, 1)
    assert log.added == "not known (no echo)"
    assert (probe.injected, probe.arrived, probe.added) == (1, 0, "X-MSISDN")
    assert study.summary == (
        "2 tests over 2 networks. An identity was injected on the way in 10.0.0.0/24. "
        "An identity arrived at a reflector in 10.1.2.0/24: its log holds only what "
        "arrived, so whether the device or the network put it there is not known "
        "(headerwatch probe sets what was sent beside it)."
    )
    # Its requests written again (scan, a session, an export) say the same.
    again = record(findings=(msisdn,), source="reflector")
    assert record_test(again).verdict == ARRIVED
    alone = build_study([logged, record_test(record(src="10.1.2.4"), received=True)])
    assert "injected" not in alone.summary and "No network" not in alone.summary
    # An echo that showed nothing added says none were; a log cannot say.
    assert build_study([probe_test(_probe())]).networks[0].added == "none"


def test_a_record_no_reflector_echoed_or_received_cannot_be_judged() -> None:
    carrying = record_test(record(findings=(finding(name="x-up-calling-line-id"),)))
    plain = record_test(record())
    assert [t.verdict for t in (carrying, plain)] == [INCONCLUSIVE, INCONCLUSIVE]
    assert "received by the reflector" not in carrying.why
    assert carrying.why.startswith("no reflector's echo: it carried an identity header")
    assert "(x-up-calling-line-id)" in carrying.why and "not known" in carrying.why
    assert plain.why == "no reflector's echo: what the device sent is not known"
    # Not an injection, and not a header added on the way; but the identity it carried
    # is counted as carried (the report's Context said 0 requests carried one).
    assert carrying.headers == () and plain.identities == ()
    assert len(carrying.identities) == 1 and carrying.identities[0].startswith("msisdn ")
    study = build_study([carrying, plain])
    assert study.networks[0].injected == 0 and study.networks[0].arrived == 0


def test_a_study_whose_tests_cannot_tell_does_not_say_the_networks_are_clean() -> None:
    unsure = build_study([record_test(record()), record_test(record(src="10.9.9.9"))])
    assert "could tell" in unsure.summary and "No network injected" not in unsure.summary
    mixed = build_study([probe_test(_probe()), record_test(record(src="10.0.0.9"))])
    assert mixed.summary.endswith(
        "No network injected an identity in the 1 test that could tell (1 inconclusive)."
    )
    clean = build_study([probe_test(_probe())])
    assert clean.summary.endswith("No network injected an identity in these tests.")


def test_a_clean_verdict_counts_the_headers_added_in_the_singular_and_plural() -> None:
    one = probe_test(_probe(injected=[["Via", "1.1 gw"]]))
    two = probe_test(_probe(injected=[["Via", "1.1 gw"], ["X-Forwarded-For", "10.0.0.2"]]))
    assert (one.verdict, two.verdict) == (CLEAN, CLEAN)
    assert one.why == "reflector's echo: no identity added (1 header added or changed)"
    assert two.why == "reflector's echo: no identity added (2 headers added or changed)"


def test_a_request_recorded_on_the_phone_s_side_says_the_phone_sent_its_identity_header() -> None:
    msisdn = finding("msisdn", name="X-MSISDN")
    test = record_test(record(findings=(msisdn,), source="mitmproxy"))
    assert test.verdict == INCONCLUSIVE
    assert test.why.startswith("seen before any network (recorded by headerwatch's mitmproxy")
    assert test.why.endswith("the phone or an app on it sent the identity header (X-MSISDN)")
    # Of a capture, where it was taken is not known: neither is who put it there.
    assert "whether the device or the network" in record_test(record(findings=(msisdn,))).why


def test_a_labels_number_has_the_mask_of_the_same_number_injected() -> None:
    """sim=447700900123 and the number injected on that network: two masks before, so
    a reader could not see that the network injected the SIM's own number."""
    from capture.formats.redact import Redactor

    redactor = Redactor.new()
    injected = [["X-MSISDN", "447700900123"]]
    found = [{"kind": "msisdn", "normalized": "+447700900123", "name": "X-MSISDN"}]
    test = probe_test(_probe(label="sim=447700900123", injected=injected, findings=found), redactor)
    mask = redactor.mask("msisdn", "+447700900123")
    assert (test.network, test.identities) == (f"sim={mask}", (f"msisdn {mask}",))
    imsi = probe_test(_probe(label="imsi 234150123456789"), redactor)
    assert imsi.network == f"imsi {redactor.mask('imsi', '234150123456789')}"
    other = probe_test(_probe(label="lab 12345678"), redactor)  # neither: a label's mask
    assert other.network == f"lab {redactor.mask('label', '12345678')}"


def test_a_test_whose_echo_was_signed_with_the_echo_key_says_so() -> None:
    injected = {
        "injected": [["X-MSISDN", "447700900123"]],
        "findings": [{"kind": "msisdn", "normalized": "+447700900123", "name": "X-MSISDN"}],
    }
    assert probe_test(_probe(echo_signed=True, **injected)).why == (
        "reflector's echo, signed: identity added"
    )
    assert probe_test(_probe(**injected)).why == "reflector's echo: identity added"
    sent = (("Host", "r.example"),)
    moved = Transit((*sent, ("Via", "1.1 gw")), (("Via", "1.1 gw"),), signed=True)
    test = record_test(dataclasses.replace(record(headers=sent), transit=moved))
    assert (test.verdict, test.why) == (CLEAN, "echo, signed: no identity added")
