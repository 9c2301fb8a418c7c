"""The report as data: the lead sentence, exposure, limits, from real detector findings."""

from __future__ import annotations

from collections import Counter

from capture.formats.redact import Redactor
from capture.identity.catalog import load_catalog
from capture.model import Finding
from capture.report.model import InputInfo, build_report, safe
from tests.capture.factories import finding, record, request
from tests.capture.report.samples import HOSTILE_HOST, injected_records


def test_the_lead_names_the_number_its_sites_and_headers_and_that_the_network_added_it() -> None:
    report = build_report(injected_records(), catalog=load_catalog())
    assert report.lead.startswith("The phone number +447700900123 went to 3 sites (")
    for host in ("news.example", "shop.example", safe(HOSTILE_HOST)):
        assert host in report.lead
    assert "X-MSISDN" in report.lead and "X-Nokia-Msisdn" in report.lead
    assert "added on the way by the network" in report.lead
    assert all(row.injected for row in report.findings)


def test_a_catalog_header_that_gateways_insert_is_not_blamed_on_the_network_unseen() -> None:
    from capture.identity.detector import IdentityDetector

    req = record(headers=(("Host", "bbc.co.uk"), ("x-up-calling-line-id", "447700900123"))).request
    found = IdentityDetector().detect(req)
    report = build_report([record(findings=found, headers=req.headers)], catalog=load_catalog())
    assert "in the header x-up-calling-line-id, a header that mobile networks insert" in report.lead
    assert not report.findings[0].injected  # no echo: said from the catalog, not shown
    # Where the capture was taken decides who added it: both are said, neither claimed.
    assert "if this traffic was recorded after the carrier (at a server), the" in report.lead
    assert "not the phone" not in report.lead


def test_exposure_counts_each_request_once_per_identity_per_site() -> None:
    report = build_report(injected_records(), redactor=Redactor.new())
    x = report.exposure
    phone = next(i for i, label in enumerate(x.identities) if label.startswith("phone number"))
    # Three names carried the number in each request: still one request per site.
    assert list(x.counts[phone]) == [1, 1, 1]
    assert len(x.hosts) == 3


def test_every_limit_is_listed_with_its_count_zero_or_not() -> None:
    counters = {"non_http_connections": 4, "gaps": 3, "gap_bytes": 1500, "client_gaps": 2,
                "client_gap_bytes": 1000, "server_gaps": 1, "server_gap_bytes": 500,
                "flows_evicted": 0,
                "ip_datagrams_timed_out": 1, "ip_datagrams_incomplete": 2,
                "ip_fragment_overlaps": 5, "ip_fragments": 40}  # fmt: skip
    skipped = Counter({"IP protocol 17": 7, "truncated TCP header": 1})
    report = build_report([], counters=counters, skipped=skipped)
    counts = {limit.what.split(" (")[0]: limit.count for limit in report.limits}
    assert counts["Encrypted or non-HTTP TCP connections"] == 4
    assert counts["UDP frames"] == 7
    assert counts["IP datagrams not reassembled from their fragments"] == 3
    assert counts["IP fragments overlapping with different bytes"] == 5
    assert counts["Other frames passed over"] == 1
    assert counts["Capture gaps, client side"] == 2
    assert counts["Capture gaps, server side"] == 1
    assert "Capture gaps before the client was known" not in counts  # none
    assert counts["Connections evicted"] == 0
    assert report.lead.startswith("No identity was found in 0 HTTP requests")
    # Of a pipeline that read requests only, the servers' side is not known, not 1.
    scanned = build_report([], counters=counters, skipped=skipped, responses=False)
    [server] = [limit for limit in scanned.limits if limit.what == "Capture gaps, server side"]
    assert server.figure == "not known"
    assert server.why == (
        "the servers' bytes were read only for reflectors' echoes "
        "(1 gap in those, 500 bytes missing)"
    )


def test_hostile_text_is_escaped_for_display_in_the_data_already() -> None:
    assert safe("a\u202eb\x1b[31m\udcff\u200f") == "a\\u202eb\\x1b[31m\\xff\\u200f"


def test_every_detector_is_explained_in_the_method_section() -> None:
    from capture.identity.detector import DETECTORS
    from capture.report.model import DETECTOR_WORDS

    assert set(DETECTORS) <= set(DETECTOR_WORDS)
    assert all(DETECTOR_WORDS[d] for d in DETECTORS)


def test_the_lead_names_a_url_parameter_as_one() -> None:
    imei = finding("imei", name="imei", where="query", value="490154203237518",
                   normalized="490154203237518", detector="imei")  # fmt: skip
    report = build_report([record(findings=(imei,))])
    assert report.lead == (
        "The handset identity (IMEI) 490154203237518 went to 1 site (bbc.co.uk) in the URL "
        "parameter imei."
    )


def test_the_lead_names_each_header_and_parameter_that_carried_the_number_as_what_it_is() -> None:
    # The same number in a header and in a URL parameter: the parameter is no header.
    header = finding("msisdn", name="X-MSISDN", where="header", value="447700900123",
                     normalized="+447700900123")  # fmt: skip
    query = finding("msisdn", name="msisdn", where="query", value="447700900123",
                    normalized="+447700900123")  # fmt: skip
    report = build_report([record(findings=(header, query))])
    assert "in the header X-MSISDN or the URL parameter msisdn" in report.lead
    assert "header X-MSISDN or msisdn" not in report.lead


def test_the_lead_names_a_field_of_a_json_body_as_a_body_field_not_a_form_field() -> None:
    # As an app's SDK posts it: {"user": {"tel": ...}}, no form anywhere.
    body = finding("msisdn", name="user.tel", where="body", value="+447700900123",
                   normalized="+447700900123", detector="phonenumber")  # fmt: skip
    report = build_report([record(findings=(body,))])
    assert "in the body field user.tel." in report.lead
    assert "form" not in report.lead


def _inputs(*traffic: bool) -> list[InputInfo]:
    return [InputInfo(f"in{i}", "k", 1, "0" * 64, t) for i, t in enumerate(traffic)]


def test_counts_that_only_a_capture_can_tell_are_not_known_from_records_alone() -> None:
    counters = {"non_http_connections": 0, "gaps": 0, "gap_bytes": 0}
    records = build_report(injected_records(), inputs=_inputs(False), counters=counters)
    assert {limit.count for limit in records.limits} == {None}
    assert {limit.figure for limit in records.limits} == {"not known"}
    assert "0 bytes" not in " ".join(limit.why for limit in records.limits)
    assert "Not known does not mean none." in records.limits_intro
    capture = build_report(injected_records(), inputs=_inputs(True), counters=counters)
    assert {limit.figure for limit in capture.limits} == {"0"}
    assert capture.limits_intro == "What the inputs held that this report could not look into."
    both = build_report(injected_records(), inputs=_inputs(True, False), counters=counters)
    assert {limit.figure for limit in both.limits} == {"0"}
    assert "The counts are of the captures only (in0)" in both.limits_intro
    assert "(in1)" in both.limits_intro and "may be higher" in both.limits_intro


def test_the_appendix_sends_a_reader_to_wireshark_only_for_requests_with_a_frame() -> None:
    records = injected_records()
    plain = build_report(records, inputs=_inputs(False))
    assert "no frame numbers" in plain.appendix_intro and "Ctrl-G" not in plain.appendix_intro
    # No input at all: a live dashboard's capture that no file kept, not a list of requests.
    live = build_report(records).appendix_intro
    assert "read live" in live and "list of web requests" not in live
    framed = build_report(records, frames={r.id: ("c.pcap", r.id) for r in records})
    assert "Ctrl-G" in framed.appendix_intro and "(—)" not in framed.appendix_intro
    some = build_report(records, frames={records[0].id: ("c.pcap", 7)})
    assert "Ctrl-G" in some.appendix_intro and "without a frame number (—)" in some.appendix_intro
    # A capture piped in is a capture: it was not "a list of web requests".
    piped = InputInfo("(standard input)", "pcap or pcapng capture", None, "", traffic=True)
    stdin = build_report(records, inputs=[piped]).appendix_intro
    assert "read from standard input" in stdin and "list of web requests" not in stdin


def test_requests_whose_headers_a_log_did_not_keep_are_counted_in_not_inspected() -> None:
    # A Suricata eve.json without dump-all-headers, a Zeek log without header values:
    # an identity header may have been sent, and no finding can say so.
    from capture.model import NAMES_ONLY
    from capture.report.model import noted_by
    from capture.sources.eve import HEADERS_NOT_DUMPED
    from capture.sources.zeek import HEADERS_NOT_LOGGED

    noted: Counter[str] = Counter()
    for anomalies in [(HEADERS_NOT_DUMPED,), (HEADERS_NOT_LOGGED,), (NAMES_ONLY,), ()]:
        noted.update(noted_by(request(anomalies=anomalies)))
    report = build_report([], inputs=_inputs(False), noted=noted)
    counts = {limit.what: limit.figure for limit in report.limits}
    assert counts["Requests whose headers the log did not keep"] == "2"
    assert counts["Requests whose header values the log did not keep"] == "1"
    # Limits no log has are not listed: a capture's report has none of them.
    capture = build_report([record()], inputs=_inputs(True))
    assert not any("the log did not keep" in limit.what for limit in capture.limits)


def test_requests_whose_body_the_input_did_not_keep_are_counted_in_not_inspected() -> None:
    # A JSONL record gives the body's length, not its bytes: a number in it was not
    # looked for again (under another --region), and the lead read as a clean bill.
    from capture.report.model import noted_by

    noted: Counter[str] = Counter()
    for kept in [request(body_length=30), request(body_length=30, body=b"a=1"), request()]:
        noted.update(noted_by(kept))
    report = build_report([], inputs=_inputs(False), noted=noted, span=(3, None, None))
    counts = {limit.what: limit.figure for limit in report.limits}
    assert counts["Request bodies not in the input"] == "1"
    assert "not inspected (request bodies not in the input: 1)" in report.lead


def test_requests_the_reflector_refused_are_counted_in_not_inspected() -> None:
    # Recorded with what had arrived before the refusal: the rest was not read.
    from capture.formats.jsonl import refused_note
    from capture.report.model import noted_by

    noted: Counter[str] = Counter()
    for anomalies in [(refused_note(413, "request body too large"),), ()]:
        noted.update(noted_by(request(anomalies=anomalies)))
    report = build_report([], inputs=_inputs(False), noted=noted, span=(2, None, None))
    counts = {limit.what: limit.figure for limit in report.limits}
    assert counts["Requests refused by the reflector"] == "1"
    assert "not inspected (requests refused by the reflector: 1)" in report.lead


def test_tcp_evasions_are_counted_and_a_lead_with_an_identity_says_the_server_may_differ() -> None:
    # An outside tester's decoy: a number read from one of two TCP copies that differed
    # was reported as "went to 1 site" with no word that the server may have read the
    # other copy.
    from capture.net.reassembly import OVERLAP_NOTE, RESET_NOTE, SYN_DATA_NOTE
    from capture.report.model import noted_by

    noted: Counter[str] = Counter()
    cases = [
        (OVERLAP_NOTE,),
        (RESET_NOTE,),
        (SYN_DATA_NOTE,),
        ("connection ended before the body was complete",),
        (),
    ]
    for anomalies in cases:
        noted.update(noted_by(request(anomalies=anomalies)))
    found = record(findings=(finding(),))
    report = build_report([found], inputs=_inputs(True), noted=noted)
    counts = {limit.what: limit.figure for limit in report.limits}
    assert counts["Requests with TCP segments that overlapped with different bytes"] == "1"
    assert counts["Requests after a TCP reset passed over"] == "1"
    assert counts["Requests after data on a TCP SYN"] == "1"
    assert counts["Requests whose body was cut short"] == "1"
    # And those the reassembly of the next commits notes: a FIN passed over, data read
    # after a reset at its own byte, a datagram whose fragments differed.
    from capture.net.fragments import OVERLAP_NOTE as FRAGMENTS
    from capture.net.reassembly import CLIENT_AFTER_RESET_NOTE, DATA_AFTER_RESET_NOTE, FIN_NOTE

    more: Counter[str] = Counter()
    for anomalies in [
        (FIN_NOTE,),
        (DATA_AFTER_RESET_NOTE,),
        (CLIENT_AFTER_RESET_NOTE,),
        (FRAGMENTS,),
    ]:
        more.update(noted_by(request(anomalies=anomalies)))
    other = build_report([found], inputs=_inputs(True), noted=more)
    counted_more = {limit.what: limit.figure for limit in other.limits}
    assert counted_more["Requests after a TCP FIN passed over"] == "1"
    assert counted_more["Requests read after a TCP reset"] == "1"
    assert counted_more["Requests read after a TCP reset from the server's side"] == "1"
    assert counted_more["Requests from IP fragments that overlapped with different bytes"] == "1"
    assert other.lead.endswith(
        " (requests read after a TCP reset: 1; requests read after a TCP reset from the "
        "server's side: 1; requests from IP fragments that overlapped with different bytes: "
        "1): see Not inspected."
    )
    assert report.lead.endswith(
        " The server may have read other bytes than those read here (requests after a TCP "
        "reset passed over: 1; requests after data on a TCP SYN: 1; requests with TCP "
        "segments that overlapped with different bytes: 1): see Not inspected."
    )
    # Nothing found: part of the traffic was not inspected, the cut body among it.
    empty = build_report([], inputs=_inputs(True), noted=noted, span=(5, None, None))
    assert "requests whose body was cut short: 1" in empty.lead


def test_data_reassembly_did_not_read_as_the_server_did_not_is_counted_not_a_caveat() -> None:
    """Bytes past a FIN, or sent ahead of bytes the server awaited, were not read, as
    the server never read them: counted on the requests they came before, without the
    lead saying the server may have read other bytes."""
    from capture.net.reassembly import AHEAD_NOTE, DATA_PAST_FIN_NOTE
    from capture.report.model import noted_by

    noted: Counter[str] = Counter()
    for anomalies in [(AHEAD_NOTE,), (DATA_PAST_FIN_NOTE,), (AHEAD_NOTE, DATA_PAST_FIN_NOTE), ()]:
        noted.update(noted_by(request(anomalies=anomalies)))
    report = build_report([record(findings=(finding(),))], inputs=_inputs(True), noted=noted)
    counts = {limit.what: limit.figure for limit in report.limits}
    assert counts["Requests after TCP data sent ahead of bytes the server awaited"] == "2"
    assert counts["Requests after TCP data past a FIN"] == "2"
    assert "may have read other bytes" not in report.lead
    assert "not inspected" not in report.lead


def test_the_enrichment_phrase_qualifies_only_the_headers_networks_insert() -> None:
    # As the mitmproxy add-on records an app that sends the number everywhere: the
    # phrase followed the whole list, a URL parameter and a body field among it.
    found = (
        finding(name="X-MSISDN"),
        finding(name="x-up-calling-line-id"),
        finding(name="msisdn", where="query", detector="phonenumber"),
        finding(name="phone", where="body", detector="phonenumber"),
    )
    mixed = build_report([record(findings=found, source="mitmproxy")], catalog=load_catalog())
    assert mixed.lead.endswith(
        "in the header X-MSISDN or x-up-calling-line-id or the URL parameter msisdn or the "
        "body field phone, X-MSISDN and x-up-calling-line-id being headers that mobile "
        "networks insert into their subscribers' requests (header enrichment), but sent by "
        "the phone or an app on it: seen before any network (recorded by headerwatch's "
        "mitmproxy add-on, a proxy on the phone's side)."
    )
    # A header of no catalog entry is no enrichment header either.
    header = (found[0], finding(name="X-Phone", detector="phonenumber"))
    one = build_report([record(findings=header, source="mitmproxy")], catalog=load_catalog())
    assert "X-MSISDN or X-Phone, X-MSISDN being a header that mobile networks" in one.lead
    # Enrichment headers alone: the phrase follows them, as before.
    alone = build_report([record(findings=found[:2], source="mitmproxy")], catalog=load_catalog())
    assert "x-up-calling-line-id, a header that mobile networks insert" in alone.lead


def test_identities_whose_values_a_log_did_not_keep_are_one_per_header_and_say_so() -> None:
    # A Zeek log of header names only: X-MSISDN and X-UP-CALLING-LINE-ID were sent,
    # their values not logged. Two headers, not one number "": nothing in the report
    # may read as an empty value, or as the same number sent twice.
    from capture.identity.detector import IdentityDetector
    from capture.model import NAMES_ONLY

    headers = (("Host", "bits.wikimedia.org"), ("X-MSISDN", ""), ("X-UP-CALLING-LINE-ID", ""))
    req = request(headers=headers, anomalies=(NAMES_ONLY,))
    found = IdentityDetector().detect(req)
    assert [f.value for f in found] == ["", ""]
    rec = record(findings=found, headers=headers, anomalies=(NAMES_ONLY,))
    report = build_report([rec], catalog=load_catalog())
    assert report.lead.startswith(
        "A phone number (its value not logged) went to 1 site (bits.wikimedia.org) in the "
        "header X-MSISDN."
    )
    assert "1 other identity also found." in report.lead
    assert "  " not in report.lead
    assert [row.shown for row in report.findings] == ["(value not logged)"] * 2
    assert report.exposure.identities == (
        "phone number in X-MSISDN (value not logged)",
        "phone number in X-UP-CALLING-LINE-ID (value not logged)",
    )
    assert report.appendix[0].findings == (
        "msisdn (value not logged) in header X-MSISDN; "
        "msisdn (value not logged) in header X-UP-CALLING-LINE-ID"
    )


def test_the_lead_is_the_identity_a_reflectors_echo_shows_the_network_added() -> None:
    # The phone sent its own X-MSISDN to more sites; the carrier added another number
    # to fewer. The lead told of the phone's and called the injected one "1 other
    # identity also left": the network's addition is the evidence.
    import dataclasses

    from capture.model import Transit

    own = finding(name="X-MSISDN", value="447700900999", normalized="+447700900999")
    added = finding(name="x-up-calling-line-id", value="447700900123", normalized="+447700900123")
    records = [
        record(i, findings=(own,), headers=(("Host", f"site{i}.example"), ("X-MSISDN", own.value)))
        for i in range(1, 5)
    ]
    sent = (("Host", "reflector.example"), ("X-MSISDN", own.value))
    injected = (("x-up-calling-line-id", added.value),)
    echoed = record(5, findings=(own, added), headers=sent)
    records.append(dataclasses.replace(echoed, transit=Transit(sent + injected, injected, (), ())))
    report = build_report(records, catalog=load_catalog())
    assert report.lead.startswith("The phone number +447700900123 went to 1 site")
    assert "added on the way by the network" in report.lead
    assert "1 other identity also found." in report.lead


def test_the_lead_says_only_of_the_injected_header_that_the_network_added_it() -> None:
    """The carrier lab: the phone sent ?phone=+447700900123 and squid added the same
    number as x-up-calling-line-id. The lead said "in the header x-up-calling-line-id or
    the URL parameter phone, added on the way by the network": of the parameter too."""
    import dataclasses

    from capture.model import Transit

    added = finding(name="x-up-calling-line-id", value="447700900123", normalized="+447700900123")
    own = finding(name="phone", where="query", value="%2B447700900123", normalized="+447700900123")
    sent = (("Host", "198.51.100.2"),)
    injected = (("x-up-calling-line-id", added.value),)
    echoed = record(1, findings=(added, own), headers=sent, uri="/y?phone=%2B447700900123")
    both = dataclasses.replace(echoed, transit=Transit(sent + injected, injected, (), ()))
    lead = build_report([both], catalog=load_catalog()).lead
    assert lead.startswith(
        "The phone number +447700900123 went to 1 site (198.51.100.2) in the header "
        "x-up-calling-line-id or the URL parameter phone; in the header x-up-calling-line-id, "
        "added on the way by the network: a reflector's echo shows the device did not send it."
    ), lead
    # The parameter alone, beside an echo: the device sent it.
    alone = dataclasses.replace(both, findings=(own,))
    lead = build_report([alone], catalog=load_catalog()).lead
    assert "sent by the phone or an app on it" in lead and "added on the way" not in lead, lead


def test_the_appendix_writes_an_ipv6_connection_with_brackets_and_says_what_a_har_lacks() -> None:
    """ "2001:db8:99::10:80" is itself an address: which part was the port? And a HAR's
    request read ":0 → 35.190.88.7:443", as if its client's port were 0."""
    v6 = record(1, (finding(),), src="2001:db8:77::7", sport=49153, dst="2001:db8:99::10", dport=80)
    har = record(2, (finding(),), src="", sport=0, dst="", dport=443)
    report = build_report([v6, har])
    assert [row.flow for row in report.appendix] == [
        "[2001:db8:77::7]:49153 → [2001:db8:99::10]:80",
        "client not recorded → server port 443",
    ]


def test_a_canary_naming_the_number_found_is_not_counted_as_another_identity() -> None:
    """--msisdn 07700900123: the number is found as a phone number and as the tester's
    canary, one value; the lead said "3 other identities also found" of two others."""
    imei = finding("imei", name="imei", where="query", value="490154203237518",
                   normalized="490154203237518")  # fmt: skip
    both = (finding(), finding("canary", detector="canary"), imei)
    for redactor in (None, Redactor.new()):
        report = build_report([record(1, both)], redactor=redactor)
        assert "1 other identity also found." in report.lead, report.lead


def test_the_lead_names_the_identity_that_went_furthest_under_all_its_names() -> None:
    """An app's advertising ID under two names to two sites, and an install ID to one:
    the lead named the install ID ("went to 1 site"), its row first of rows that each
    reached one site."""

    def device(value: str, name: str) -> Finding:
        return finding("device_id", name=name, where="body", value=value, normalized=value,
                       detector="name-hint", severity="medium")  # fmt: skip

    install, ad = "XZ1a2b3c4d-5e6f", "1209d0b9-b959-42e6-b921-aa5d9d08c1af"
    records = [
        record(1, (device(install, "anon_id"),), headers=[("Host", "graph.facebook.com")], ts=1.0),
        record(2, (device(ad, "advertiser_id"),), headers=[("Host", "graph.facebook.com")], ts=2.0),
        record(
            3, (device(ad, "google_advertising_id"),), headers=[("Host", "api2.branch.io")], ts=3.0
        ),
    ]
    lead = build_report(records).lead
    assert lead.startswith(
        f"The device ID {ad} went to 2 sites (graph.facebook.com, api2.branch.io)"
    )
    assert "1 other identity also found." in lead


def test_raw_values_that_look_like_masks_are_each_their_own_identity() -> None:
    """Without --redact, two cookie values "<a 1>" and "<b 1>" were keyed as masks are
    (the part after the space) and counted as one identity."""

    def token(value: str) -> Finding:
        return finding("tracking_id", name="uid", where="cookie", value=value,
                       normalized=value, detector="name-hint", severity="medium")  # fmt: skip

    records = [
        record(1, (token("<a 1>"),), headers=[("Host", "a.example")], ts=1.0),
        record(2, (token("<b 1>"),), headers=[("Host", "b.example")], ts=2.0),
    ]
    assert "1 other identity also found." in build_report(records).lead
    masked = build_report(records, redactor=Redactor.new()).lead
    assert "1 other identity also found." in masked


def test_records_of_the_mitmproxy_add_on_are_said_to_hold_what_was_inside_tls() -> None:
    """Its records were reported with the TLS row alone: "their contents cannot be
    read", of requests the add-on had decrypted."""
    import dataclasses

    own = record(1, (finding(),))
    proxied = dataclasses.replace(own, request=dataclasses.replace(own.request, source="mitmproxy"))
    intro = build_report([proxied]).limits_intro
    assert "decrypted TLS (headerwatch's mitmproxy add-on) are read whole" in intro
    assert "decrypted" not in build_report([own]).limits_intro


def test_a_lead_names_six_headers_of_one_identity_and_counts_the_rest() -> None:
    # 5,000 forged findings on one record made a lead of 44 KB, every name spelled.
    found = tuple(finding(name=f"X-Line-{n:04d}") for n in range(20))
    lead = build_report([record(1, found)]).lead
    assert "in the header X-Line-0000 or X-Line-0001 or X-Line-0002 or X-Line-0003 or " in lead
    assert "X-Line-0005 or 14 other names" in lead and "X-Line-0006" not in lead


def test_a_body_not_decoded_is_counted_as_not_inspected_and_said_by_a_lead_with_nothing() -> None:
    """A br beacon (no brotli module here) read as sent held no identity: without a
    row, the report said nothing of a body no one could read."""
    from capture.identity.bodies import BODY_UNDECODED_NOTE
    from capture.report.model import noted_by

    noted: Counter[str] = Counter()
    note = f"{BODY_UNDECODED_NOTE} (Content-Encoding 'br': not known here, or damaged)"
    for anomalies in [(note,), ()]:
        noted.update(noted_by(request(anomalies=anomalies)))
    report = build_report([], inputs=_inputs(True), noted=noted, span=(2, None, None))
    counts = {limit.what: limit.figure for limit in report.limits}
    assert counts["Requests whose body could not be decoded"] == "1"
    assert "requests whose body could not be decoded: 1" in report.lead


def test_the_injection_section_says_whether_its_echoes_were_signed_with_the_echo_key() -> None:
    from capture.report.html import render as render_html
    from capture.report.markdown import render as render_markdown
    from capture.report.model import echo_trust

    records = injected_records()
    unsigned = build_report(records, counters={"echoes": 3})
    assert echo_trust(unsigned).startswith("The echoes were not signed (no --echo-key)")
    signed = build_report(records, counters={"echoes": 3, "echoes_signed": 3})
    assert echo_trust(signed) == "Every echo was signed with the echo key: the reflector's own."
    partly = build_report(records, counters={"echoes": 3, "echoes_signed": 1, "echoes_unsigned": 2})
    assert echo_trust(partly) == (
        "1 of them were signed with the echo key; the others could have been written by "
        "any server. 2 echoes not signed with the echo key were ignored."
    )
    assert "Every echo was signed with the echo key" in render_markdown(signed)
    one = build_report(records, counters={"echoes": 3, "echoes_signed": 3, "echoes_unsigned": 1})
    assert echo_trust(one).endswith(" 1 echo not signed with the echo key was ignored.")
    assert "Every echo was signed with the echo key" in render_html(signed)
    assert build_report([]).echoed == 0 and echo_trust(build_report([])) == ""
