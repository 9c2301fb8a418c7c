"""Reading a report's inputs: what is kept, what is counted, probe results, errors."""

from __future__ import annotations

import dataclasses
import json
import stat
from pathlib import Path

import pytest

from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.report.write import (
    ReportError,
    format_of,
    make_report,
    read_inputs,
    render,
    write_report,
)

DEMO = str(Path(__file__).resolve().parents[3] / "capture" / "data" / "demo-o2-2012.pcap")
PROBE = {"url": "http://r.example/", "ts": 1.0, "sent": [], "received": [], "injected": [],
         "removed": [], "changed": [], "findings": [], "echo": "reflector"}  # fmt: skip


def test_a_report_keeps_the_records_it_shows_and_only_counts_the_others() -> None:
    read = read_inputs([DEMO], IdentityDetector())
    assert not read.study
    assert read.requests == 28 and len(read.records) == 20
    assert all(r.identities for r in read.records)
    assert len(read.frames) == 20 and read.inputs[0].sha256 and read.inputs[0].size > 0


def test_a_study_keeps_every_record_to_judge_it() -> None:
    read = read_inputs([DEMO], IdentityDetector(), study=True)
    assert read.study and len(read.records) == 28


def test_a_studys_context_counts_every_request_that_carried_an_identity() -> None:
    """The demo as a study: its 20 requests with an identity, though none can be judged
    (no reflector's echo); the Context said 0, the report of the same file 20."""
    detector = IdentityDetector(IdentityConfig(region="GB"))
    report, study = make_report(read_inputs([DEMO], detector, study=True), detector=detector)
    assert study is not None and report.requests == 28 and report.identity_requests == 20
    assert "28 HTTP requests, 20 requests carrying an identity" in render(report, study, "md")


def test_probe_results_make_a_study_by_themselves(tmp_path: Path) -> None:
    results = tmp_path / "p.jsonl"
    results.write_text(json.dumps(PROBE) + "\n\n" + json.dumps({**PROBE, "error": "x"}) + "\n")
    read = read_inputs([str(results), DEMO], IdentityDetector())
    assert read.study and len(read.probes) == 2
    assert [i.kind for i in read.inputs] == ["headerwatch probe results", "pcap or pcapng capture"]


def test_a_probe_file_with_another_line_in_it_is_a_one_line_error(tmp_path: Path) -> None:
    results = tmp_path / "p.jsonl"
    results.write_text(json.dumps(PROBE) + "\n" + json.dumps({"ts": 1}) + "\n")
    with pytest.raises(ReportError, match=r"p\.jsonl: line 2 is not a probe result$"):
        read_inputs([str(results)], None)


def test_the_format_comes_from_the_name_or_the_option(tmp_path: Path) -> None:
    assert format_of("a/Report.HTML", None) == "html"
    assert format_of("r.markdown", None) == "md"
    assert format_of("r.txt", "md") == "md"
    with pytest.raises(ReportError, match="cannot tell the format"):
        format_of("r.txt", None)
    # "-o /tmp": the reason that stands whatever the name is the one said.
    with pytest.raises(ReportError, match=r"is a directory; no report written$"):
        format_of(str(tmp_path), None)


def test_the_report_file_is_private_and_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "r.html"
    write_report("<p>x</p>", str(path))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(ReportError, match="no report written"):
        write_report("x", str(tmp_path / "missing" / "r.html"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]


def test_a_session_says_how_it_was_made_and_its_frames_are_numbered(tmp_path: Path) -> None:
    from capture.formats.session import SessionInfo, save_session
    from capture.view.store import Entry

    records = read_inputs([DEMO], IdentityDetector(), study=True).records
    session = tmp_path / "s.pcapng"
    info = SessionInfo.new(source="wlan0 <b>", filter="~id msisdn", region="GB")
    save_session(str(session), [DEMO], [Entry(r) for r in records], info=info)
    read = read_inputs([str(session)], IdentityDetector(IdentityConfig(region="GB")))
    [note] = read.notes
    assert note.startswith(f"{session}: a headerwatch session saved 20")
    assert (
        "from wlan0 <b>; a selection: only the requests its view filter '~id msisdn' "
        "showed, not all that were read; national numbers read as region GB"
    ) in note
    assert len(read.frames) == 20  # the same requests, found in the session's own frames


def test_a_session_of_records_says_how_it_was_made_and_which_region_the_report_used(
    tmp_path: Path,
) -> None:
    # A session of records (the dashboard's, live --from -w) was listed as JSONL records
    # only: its view filter and region went unsaid, and --region FR read it silently.
    from capture.formats.record_session import save_record_session
    from capture.formats.session import SessionInfo
    from capture.view.store import Entry

    gb = IdentityDetector(IdentityConfig(region="GB"))
    records = read_inputs([DEMO], gb, study=True).records
    session = tmp_path / "s.jsonl"
    info = SessionInfo.judged_by(gb, source="proxy 127.0.0.1:8080", filter="~d bbc")
    save_record_session(str(session), [Entry(r) for r in records[:5]], info=info)
    read = read_inputs([str(session)], IdentityDetector(IdentityConfig(region="FR")))
    assert read.notes == read.made
    [note] = read.notes
    assert note.startswith(f"{session}: a headerwatch session saved 20")
    assert note.endswith(
        " from proxy 127.0.0.1:8080; a selection: only the requests its view filter "
        "'~d bbc' showed, not all that were read; national numbers read as region FR in "
        "this report, instead of the recorded GB"
    )
    # Read in its own region, it says that region; a session saved without one, the
    # region this report used.
    [same] = read_inputs([str(session)], gb).notes
    assert same.endswith("; national numbers read as region GB")
    plain = tmp_path / "plain.jsonl"
    save_record_session(str(plain), [Entry(r) for r in records[:5]], info=SessionInfo.new())
    [none] = read_inputs([str(plain)], gb).notes
    assert "a selection" not in none
    assert none.endswith("; saved without a region; national numbers read as region GB here")


def test_a_session_whose_recorded_region_is_no_region_code_is_said_so_in_the_context(
    tmp_path: Path,
) -> None:
    # Metadata edited by hand: the report showed "instead of the recorded 44", as if 44
    # were a region.
    from capture.formats.record_session import save_record_session
    from capture.formats.session import SessionInfo
    from capture.view.store import Entry

    gb = IdentityDetector(IdentityConfig(region="GB"))
    records = read_inputs([DEMO], gb, study=True).records
    session = tmp_path / "s.jsonl"
    save_record_session(str(session), [Entry(r) for r in records[:2]], info=SessionInfo.new())
    lines = session.read_text().splitlines()
    head = json.loads(lines[0])
    assert "region" in json.dumps(head)
    _set_region(head, 44)
    session.write_text("\n".join([json.dumps(head), *lines[1:]]) + "\n")
    [note] = read_inputs([str(session)], gb).notes
    assert note.endswith(
        "; national numbers read as region GB in this report, instead of the recorded "
        "'44' (not a region code)"
    )


def _set_region(obj: object, region: object) -> None:
    """Set every "region" key in a JSON value, however deep the session keeps it."""
    if isinstance(obj, dict):
        for key in obj:
            if key == "region":
                obj[key] = region
            else:
                _set_region(obj[key], region)
    elif isinstance(obj, list):
        for item in obj:
            _set_region(item, region)


def test_a_report_and_a_session_cite_the_catalog_as_a_config_changed_it(tmp_path: Path) -> None:
    """The findings of a detector whose config disabled or added headers are not the
    shipped catalog's: the report's Context and the session's note say what changed."""
    from capture.formats.session import SessionInfo, save_session
    from capture.identity.detector import HeaderRule, IdentityConfig
    from capture.report.write import make_report
    from capture.version import catalog_version
    from capture.view.store import Entry

    config = IdentityConfig(
        headers=(HeaderRule("x-acme-subscriber", "subscriber_id", "high"),),
        disabled=("x-up-calling-line-id",),
    )
    changed = IdentityDetector(config)
    cited = catalog_version(changed)
    assert cited == (
        f"{catalog_version()}, as the configuration changed it: added x-acme-subscriber; "
        "disabled x-up-calling-line-id"
    )
    assert catalog_version(IdentityDetector()) == catalog_version()
    report, _ = make_report(read_inputs([DEMO], changed), detector=changed)
    assert report.catalog_version == cited
    records = read_inputs([DEMO], changed, study=True).records
    session = tmp_path / "s.pcapng"
    info = SessionInfo.new(source="wlan0", catalog=cited)
    save_session(str(session), [DEMO], [Entry(r) for r in records], info=info)
    [note] = read_inputs([str(session)], IdentityDetector()).notes
    assert f" (identity catalog: {cited}) from wlan0" in note


def test_a_session_of_a_capture_an_error_stopped_says_from_when_and_why(tmp_path: Path) -> None:
    from capture.formats.session import SessionInfo, save_session
    from capture.sources.source import Halt
    from capture.view.store import Entry

    records = read_inputs([DEMO], IdentityDetector(), study=True).records
    session = tmp_path / "s.pcapng"
    halt = Halt(1764952846.0, "the capture thread failed (RuntimeError: planted)")
    info = dataclasses.replace(SessionInfo.new(source="wlan0"), stopped=halt.text())
    save_session(str(session), [DEMO], [Entry(r) for r in records], info=info)
    [note] = read_inputs([str(session)], IdentityDetector()).notes
    assert note.endswith(
        "; capture stopped at 2025-12-05T16:40:46Z: the capture thread failed "
        "(RuntimeError: planted); nothing after it was recorded"
    )


def test_a_request_lost_with_a_fragment_is_counted_as_not_inspected(tmp_path: Path) -> None:
    from capture.report.write import make_report
    from tests.helpers import conversation, save, simple_request
    from tests.packets.craft import ip_fragments

    conv = conversation()
    frames = conv.handshake()
    ts, whole = conv.send(True, simple_request("/lost", extra="X-MSISDN: 447700900123\r\n"))[0]
    first, _missing, *rest = ip_fragments(whole, 24, ident=7)
    frames += [(ts, first), *((ts, f) for f in rest)]  # the capture missed one fragment
    frames += conv.send(True, simple_request("/kept")) + conv.close()
    read = read_inputs([save(tmp_path, frames)], IdentityDetector())
    report, _ = make_report(read)
    counts = {limit.what: limit.count for limit in report.limits}
    assert counts["IP datagrams not reassembled from their fragments"] == 1
    assert report.requests == 1  # /kept; /lost was in the datagram


def _cut_head_capture(tmp_path: Path) -> str:
    """A capture of one request whose head is cut at the head limit, its number past the cut."""
    from tests.helpers import conversation, save, simple_request

    padding = "".join(f"X-Pad-{i:05d}: {'p' * 90}\r\n" for i in range(700))  # ~75 KB
    conv = conversation()
    frames = conv.handshake()
    frames += conv.send(True, simple_request("/big", extra=padding + "X-MSISDN: 447700900123\r\n"))
    return save(tmp_path, frames + conv.close())


def test_a_request_head_cut_at_the_head_limit_is_counted_as_not_inspected(
    tmp_path: Path,
) -> None:
    from capture.report.write import make_report

    read = read_inputs([_cut_head_capture(tmp_path)], IdentityDetector())
    report, _ = make_report(read)
    counts = {limit.what: limit.count for limit in report.limits}
    assert counts["Request heads cut at the head limit"] == 1
    # The number past the cut was not read: the lead must not read as a clean bill.
    assert "request heads cut at the head limit: 1" in report.lead


def test_requests_of_a_log_without_headers_are_counted_though_the_report_keeps_none(
    tmp_path: Path,
) -> None:
    from capture.report.write import make_report

    # Suricata without dump-all-headers: no request_headers, nothing found in them.
    event = {"timestamp": "2026-12-03T10:00:00+0000", "flow_id": 1, "event_type": "http",
             "src_ip": "10.0.0.2", "src_port": 40000, "dest_ip": "192.0.2.80",
             "dest_port": 80, "tx_id": 0,
             "http": {"hostname": "a.example", "url": "/", "http_method": "GET"}}  # fmt: skip
    path = tmp_path / "eve.json"
    path.write_text((json.dumps(event) + "\n") * 3)
    read = read_inputs([str(path)], IdentityDetector())
    assert read.requests == 3 and not read.records
    report, _ = make_report(read)
    counts = {limit.what: limit.figure for limit in report.limits}
    assert counts["Requests whose headers the log did not keep"] == "3"
    assert report.lead.startswith("No identity was found in 3 HTTP requests: ")
    assert "not inspected (requests whose headers the log did not keep: 3)" in report.lead


def test_a_report_of_records_without_their_bodies_says_the_bodies_were_not_searched(
    tmp_path: Path,
) -> None:
    # scan in another region wrote the form's national number as no finding, and its
    # JSONL keeps no body: under --region GB the report said "No identity" of it.
    from capture.formats.jsonl import dumps
    from capture.report.write import make_report
    from tests.helpers import conversation, post_request, save

    conv = conversation()
    form = post_request("/signup", b"phone=07700900123", "application/x-www-form-urlencoded")
    capture = save(tmp_path, conv.handshake() + conv.send(True, form) + conv.close())
    us, gb = (
        IdentityDetector(IdentityConfig(region="US")),
        IdentityDetector(IdentityConfig(region="GB")),
    )
    scanned = read_inputs([capture], us, study=True).records
    assert [r.request.body_length for r in scanned] == [17] and not scanned[0].findings
    path = tmp_path / "f0.jsonl"
    path.write_text("".join(dumps(r) + "\n" for r in scanned))
    report, _ = make_report(read_inputs([str(path)], gb))
    counts = {limit.what: limit.figure for limit in report.limits}
    assert counts["Request bodies not in the input"] == "1"
    assert report.lead.startswith("No identity was found in 1 HTTP request: ")
    assert "not inspected (request bodies not in the input: 1)" in report.lead
    # The capture keeps the body: searched again, nothing to say.
    again, _ = make_report(read_inputs([capture], gb))
    assert "Request bodies not in the input" not in {limit.what for limit in again.limits}
    assert again.lead.startswith("The phone number")


def test_a_dashboard_report_of_a_live_capture_kept_in_no_file_says_so(tmp_path: Path) -> None:
    # A live dashboard without -w: its spool is deleted at exit, so no input is named;
    # the report said "a list of web requests, not a capture" under an empty table.
    from capture.report.write import report_records
    from tests.capture.factories import finding, record

    path = tmp_path / "live.md"
    report_records([record(findings=(finding(),))], str(path), "md", source_name="live usb0")
    text = path.read_text(encoding="utf-8").replace("\\", "")
    assert "| Input |" not in text  # no table of no inputs
    assert "- captured by the dashboard from: live usb0" in text
    assert "list of web requests" not in text
    assert (
        "No input file is named: the requests were read live, and no file of them was "
        "kept when this report was written." in text
    )
    page = tmp_path / "live.html"
    report_records([record(findings=(finding(),))], str(page), "html", source_name="live usb0")
    html = page.read_text(encoding="utf-8")
    assert "<th>Input</th>" not in html and "No input file is named" in html


def test_a_report_that_found_nothing_counts_every_request_read_in_its_lead(
    tmp_path: Path,
) -> None:
    # The requests without an identity are counted, not kept: the lead said "0".
    from capture.report.write import make_report
    from tests.helpers import conversation, save, simple_request

    conv = conversation()
    frames = conv.handshake() + conv.send(True, simple_request("/")) + conv.close()
    report, _ = make_report(read_inputs([save(tmp_path, frames)], IdentityDetector()))
    assert report.requests == 1
    assert report.lead.startswith("No identity was found in 1 HTTP request: ")
    assert "not inspected" not in report.lead  # nothing was missed: no caveat


def test_a_report_that_found_nothing_in_a_capture_with_gaps_says_part_was_not_inspected(
    tmp_path: Path,
) -> None:
    # A snaplen-cut capture (tcpdump -s 80) shows the same: its cut bytes are gaps.
    from capture.report.write import make_report
    from tests.helpers import gapped_capture

    report, _ = make_report(read_inputs([gapped_capture(tmp_path)], IdentityDetector()))
    assert report.lead.startswith("No identity was found in 2 HTTP requests: ")
    assert report.lead.endswith(
        " Part of the traffic was not inspected (capture gaps, client side: 1), and an "
        "identity in it would not have been seen."
    )


def test_an_input_whose_name_is_not_utf8_is_named_escaped_in_either_format(
    tmp_path: Path,
) -> None:
    # Its name read as surrogates: written raw, the report could not be encoded.
    import os
    import shutil

    from capture.report.write import make_report, render

    name = os.fsdecode(os.fsencode(tmp_path) + b"/na\xff<b>me.pcap")
    shutil.copy(DEMO, name)
    report, _ = make_report(read_inputs([name], IdentityDetector()))
    for fmt, shown in (("md", "na\\\\xff\\<b\\>me.pcap"), ("html", "na\\xff&lt;b&gt;me.pcap")):
        out = tmp_path / f"r.{fmt}"
        write_report(render(report, None, fmt), str(out))
        text = out.read_text(encoding="utf-8")
        assert shown in text and "\udcff" not in text


def _records_of_capture(tmp_path: Path, capture: str) -> str:
    """The JSONL ``scan`` writes of ``capture``: its requests as records."""
    import io

    from capture.scan import scan

    out = io.StringIO()
    scan([capture], detector=IdentityDetector(), out=out, err=io.StringIO())
    path = tmp_path / "records.jsonl"
    path.write_text(out.getvalue())
    return str(path)


def test_the_records_of_a_head_cut_at_the_head_limit_count_it_when_reported_again(
    tmp_path: Path,
) -> None:
    # The tester's case: `scan big.pcap > big.jsonl; report big.jsonl` said "not known"
    # of the cut that the record's anomaly names, and the lead read as a clean bill.
    from capture.report.write import make_report

    capture = _cut_head_capture(tmp_path)
    records = _records_of_capture(tmp_path, capture)
    for inputs, cut in (([records], 1), ([capture, records], 2)):  # each request once
        report, _ = make_report(read_inputs(inputs, IdentityDetector()))
        counts = {limit.what: limit.figure for limit in report.limits}
        assert counts["Request heads cut at the head limit"] == str(cut)
        assert f"request heads cut at the head limit: {cut}" in report.lead


def test_the_records_of_a_gapped_capture_reported_again_say_part_was_not_inspected(
    tmp_path: Path,
) -> None:
    from capture.report.write import make_report
    from tests.helpers import gapped_capture

    records = _records_of_capture(tmp_path, gapped_capture(tmp_path))
    report, _ = make_report(read_inputs([records], IdentityDetector()))
    counts = {limit.what: limit.figure for limit in report.limits}
    assert counts["Capture gaps, client side"] == "not known"  # records cannot tell gaps
    assert report.lead.endswith(
        " Part of the traffic was not inspected (requests a capture gap touched, as their "
        "records say: 1), and an identity in it would not have been seen."
    )


def test_a_recurring_token_s_report_counts_the_requests_that_took_it_to_its_first_sites(
    tmp_path: Path,
) -> None:
    # The tester's case: one token under a new header to 4 sites, --recurrence 3. The
    # 3rd and 4th requests bring the finding; the report said "went to 2 sites" where
    # the finding's detail (and the dashboard) said 4.
    from capture.identity.detector import IdentityConfig
    from capture.report.write import make_report
    from tests.capture.identity.factory import ZORK_SITES, zork_har

    sites = ZORK_SITES[:4]
    detector = IdentityDetector(IdentityConfig(region="GB", recurrence=3))
    read = read_inputs([str(zork_har(tmp_path / "sc.har", sites))], detector)
    report, _ = make_report(read, detector=detector)
    assert [r.id for r in read.records] == [1, 2, 3, 4]
    hosts = tuple(f"www.{site}" for site in sites)
    assert report.lead.startswith("The tracking ID ") and " went to 4 sites (" in report.lead
    assert {(r.name, r.hosts, r.count) for r in report.findings} == {
        ("X-Zork-Tag", hosts, 4),
        ("zqk", hosts, 4),
    }
    assert report.identity_requests == 4 and sorted(report.exposure.hosts) == sorted(hosts)
    assert {row.frame for row in report.appendix} == {None}  # each named in the HAR
    assert {row.source for row in report.appendix} == {str(tmp_path / "sc.har")}


def test_the_method_lists_only_the_detectors_that_ran(tmp_path: Path) -> None:
    from capture.identity.detector import IdentityConfig
    from capture.report.write import make_report
    from tests.helpers import conversation, save, simple_request

    conv = conversation()
    capture = save(tmp_path, conv.handshake() + conv.send(True, simple_request()) + conv.close())
    for recurrence, listed in ((0, False), (3, True)):
        detector = IdentityDetector(IdentityConfig(recurrence=recurrence))
        report, _ = make_report(read_inputs([capture], detector), detector=detector)
        assert report.lead.startswith("No identity was found")
        named = [name for name, _ in report.detectors]
        assert ("recurrence" in named) == listed, named
        assert "catalog" in named and "phonenumber" in named
        assert "canary" not in named  # no canary was given
        assert "name-only" not in named  # no log of header names was read
        # Not "Findings by detector" over a list of detectors that found nothing.
        for text in (render(report, None, "md"), render(report, None, "html")):
            assert "Findings by detector" not in text
            assert "No detector found anything; those that ran:" in text


def test_the_requests_held_for_a_recurring_token_are_only_those_the_backfill_remembers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A token per request that never recurs: without pruning, a report with the
    # recurrence detector on held every request of the capture.
    from capture.model import Request
    from capture.report import write
    from capture.report.write import Read
    from capture.view.recurring import Backfill
    from tests.capture.factories import record

    def fields(request: Request) -> tuple[tuple[str, str, str, str], ...]:
        return (("x-tag", "header", "X-Tag", request.uri),)

    monkeypatch.setattr(write, "EARLIER_SLACK", 8)
    read = Read(backfill=Backfill(fields, max_tokens=4), prune_at=8)
    for rid in range(1, 201):
        read.add(record(rid, uri=f"/{rid}"))
        assert len(read.earlier) < 4 + 8 + 8
    assert set(read.earlier) >= {197, 198, 199, 200} and read.backfill is not None
    assert read.backfill.cut == 196
    read.done()
    assert read.notes == [
        "196 earlier requests that took a recurring token to its first sites did not get "
        "its finding (more than the report remembers)"
    ]


def test_the_requests_held_for_recurring_tokens_are_at_most_the_cap_and_a_lost_one_is_said(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every token remembered (a capture of many sites' session tokens): the backfill
    # names its requests by id, but the report holds the records, so at most the cap,
    # the oldest let go; a finding the backfill then gives one of those is said lost.
    from capture.model import Finding, Request
    from capture.report import write
    from capture.report.write import Read
    from capture.view.recurring import Backfill
    from tests.capture.factories import record

    def fields(request: Request) -> tuple[tuple[str, str, str, str], ...]:
        return (("x-tag", "header", "X-Tag", "one-token-for-all"),)

    monkeypatch.setattr(write, "EARLIER_SLACK", 8)
    monkeypatch.setattr(write, "MAX_EARLIER_HELD", 50)
    read = Read(backfill=Backfill(fields), prune_at=8)
    for rid in range(1, 201):
        read.add(record(rid, uri=f"/{rid}"))
        assert len(read.earlier) <= 50 + 8
    found = Finding("X-Tag", "header", "tracking_id", "one-token-for-all",
                    "one-token-for-all", "recurrence", "medium", "the same token")  # fmt: skip
    held = sorted(read.earlier)
    assert held == list(range(201 - len(held), 201))  # the newest
    read.add(record(201, uri="/201", findings=[found]))
    read.done()
    given = [r.id for r in read.records if any(f.detector == "recurrence" for f in r.findings)]
    assert given == [*held, 201]  # those held, and the one that brought the finding
    lost = 200 - len(held)
    assert f"{lost} earlier requests that took a recurring token" in read.notes[0], read.notes


def test_the_lead_of_a_capture_cut_short_says_that_the_traffic_after_the_cut_was_not_read(
    tmp_path: Path,
) -> None:
    # The demo cut after its first requests: its number went to 1 site there, to 6 in
    # the whole capture. A lead that said "1 site" alone read as the whole story.
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(Path(DEMO).read_bytes()[:3000])
    detector = IdentityDetector(IdentityConfig(region="GB"))
    report, _ = make_report(read_inputs([str(cut)], detector), detector=detector)
    assert report.inputs[0].cut == "cut short"
    assert " went to 1 site (www.bbc.co.uk) " in report.lead
    assert report.lead.endswith(
        " The input " + str(cut) + " is cut short: this is what the requests before the cut "
        "show, and the traffic after it was not read. Identity values are masked in this "
        "report."
    )
    whole, _ = make_report(read_inputs([DEMO], detector), detector=detector)
    assert whole.inputs[0].cut == "" and "cut short" not in whole.lead


def test_a_report_that_found_nothing_before_a_cut_does_not_read_as_a_clean_bill(
    tmp_path: Path,
) -> None:
    from tests.helpers import conversation, save, simple_request

    conv = conversation()
    frames = conv.handshake() + conv.send(True, simple_request("/")) + conv.close()
    whole = Path(save(tmp_path, frames))
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(whole.read_bytes()[:-10])
    report, _ = make_report(read_inputs([str(cut)], IdentityDetector()))
    assert report.lead.startswith("No identity was found in 1 HTTP request: ")
    assert report.lead.endswith(
        f" The input {cut} is cut short: this is what the requests before the cut show, "
        "and the traffic after it was not read."
    )


def test_the_lead_of_a_damaged_capture_says_that_the_rest_was_not_read(tmp_path: Path) -> None:
    data = Path(DEMO).read_bytes()
    at = 24  # the records of a classic pcap: 16 bytes of header, then incl_len bytes
    for _ in range(12):
        at += 16 + int.from_bytes(data[at + 8 : at + 12], "little")
    damaged = tmp_path / "damaged.pcap"
    # The 13th record's length says 2 GB, as no capture's record is.
    damaged.write_bytes(data[: at + 8] + b"\x00\x00\x00\x7f" + data[at + 12 :])
    detector = IdentityDetector(IdentityConfig(region="GB"))
    report, _ = make_report(read_inputs([str(damaged)], detector), detector=detector)
    assert report.inputs[0].cut == "damaged"
    assert (
        f" The input {damaged} is damaged: this is what the requests before that point show, "
        "and the traffic after it was not read. "
    ) in report.lead


def test_a_report_says_in_which_region_national_numbers_were_read_or_that_none_were(
    tmp_path: Path,
) -> None:
    """A national number under phone= went unread without a region, and the lead said
    no identity was found, as a clean bill: the note on stderr is in no report."""
    from tests.helpers import conversation, save

    conv = conversation()
    ask = b"GET /x?phone=07700900123 HTTP/1.1\r\nHost: a.example\r\n\r\n"
    path = save(tmp_path, conv.handshake() + conv.send(True, ask) + conv.close())
    unread = IdentityDetector(IdentityConfig(region=None))
    report, _ = make_report(read_inputs([str(path)], unread), detector=unread)
    assert report.lead.startswith("No identity was found in 1 HTTP request: ")
    assert report.lead.endswith(
        " Numbers written nationally (without a country code) were not read: no region was given."
    )
    assert report.numbers.startswith("Numbers written nationally (without a country code, as ")
    assert report.numbers in render(report, None, "html")
    read = IdentityDetector(IdentityConfig(region="GB"))
    report, _ = make_report(read_inputs([str(path)], read), detector=read)
    assert report.lead.startswith("The phone number ")
    assert report.numbers == (
        "Numbers written nationally (without a country code) were read as region GB's."
    )
    assert "were read as region GB\\'s." in render(report, None, "md")


def test_a_study_of_probe_results_alone_says_nothing_of_reading_national_numbers(
    tmp_path: Path,
) -> None:
    """Probes run with --region GB, reported without it, read "were not read: no
    region was given": the report read no number, each probe's findings are its own."""
    results = tmp_path / "p.jsonl"
    results.write_text(json.dumps(PROBE) + "\n")
    unread = IdentityDetector(IdentityConfig(region=None))
    report, study = make_report(read_inputs([str(results)], unread), detector=unread)
    assert study is not None and report.numbers == ""
    report, _ = make_report(read_inputs([str(results), DEMO], unread), detector=unread)
    assert report.numbers.startswith("Numbers written nationally (without a country code, as ")
