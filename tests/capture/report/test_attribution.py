"""Who put an identity in: said from where the request was seen, in HTML and Markdown,
from real input files (a capture, records as the mitmproxy add-on and a reflector
write them, a browser's HAR)."""

from __future__ import annotations

import html as html_lib
import json
import re
from pathlib import Path

import pytest

from capture.formats.har import write_har
from capture.formats.record_session import save_record_session
from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.report.attribution import INJECTED, SENT
from capture.report.write import make_report, read_inputs, render
from capture.view.store import Entry
from tui.common import demo_capture_path

NUMBER = "447700900123"
NETWORK_ADDED = "the network added it, not the phone"
MOST_LIKELY = (
    "most likely added by the network; that the phone did not send it is shown only by "
    "what it sent (headerwatch probe)"
)
PHONE_SENT = "sent by the phone or an app on it: seen before any network"
UNDECIDED = (
    "a header that mobile networks insert into their subscribers' requests (header "
    "enrichment): if this traffic was recorded after the carrier (at a server), the network "
    "added it; if on the phone's side (on the phone, a tethered computer), the phone or an "
    "app on it sent it."
)


def _record(**keys: object) -> dict[str, object]:
    """A request to a site with the number in X-MSISDN, as the JSONL records have it."""
    return {
        "ts": 1700000000.0,
        "src": "10.0.0.2",
        "sport": 40000,
        "dst": "192.0.2.1",
        "dport": 80,
        "method": "GET",
        "uri": "/",
        "version": "HTTP/1.1",
        "headers": [["Host", "news.example"], ["X-MSISDN", NUMBER]],
        **keys,
    }


def _leads(path: Path) -> list[str]:
    """The lead sentence of the report of ``path``, in HTML and in Markdown, as text."""
    read = read_inputs([str(path)], IdentityDetector())
    report, _ = make_report(read, now=0.0)
    page = re.search(r'<p class="lead">(.*?)</p>', render(report, None, "html"), re.S)
    assert page is not None
    markdown = re.search(r"^\*\*(The .*)\*\*$", render(report, None, "md"), re.M)
    assert markdown is not None
    return [html_lib.unescape(page.group(1)), markdown.group(1).replace("\\", "")]


def _jsonl(tmp_path: Path, *records: dict[str, object]) -> Path:
    path = tmp_path / "records.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_the_add_on_s_records_say_the_phone_sent_an_enrichment_header_never_the_network(
    tmp_path: Path,
) -> None:
    # As capture/data/mitmproxy_addon.py writes a request: "source": "mitmproxy".
    path = _jsonl(tmp_path, _record(flow=1, depth=1, body_length=0, source="mitmproxy"))
    for lead in _leads(path):
        assert "in the header X-MSISDN, a header that mobile networks insert" in lead
        assert f"but {PHONE_SENT} (recorded by headerwatch's mitmproxy add-on" in lead
        assert "network added it" not in lead


def test_a_browser_s_har_says_the_phone_sent_it(tmp_path: Path) -> None:
    entry = {
        "startedDateTime": "2024-11-15T10:46:43.282Z",
        "request": {"method": "GET", "url": "http://news.example/", "httpVersion": "HTTP/1.1",
                    "headers": [{"name": "Host", "value": "news.example"},
                                {"name": "X-MSISDN", "value": NUMBER}]},
        "response": {"status": 200},
    }  # fmt: skip
    har = tmp_path / "browser.har"
    doc = {"log": {"version": "1.2", "creator": {"name": "Firefox"}, "entries": [entry]}}
    har.write_text(json.dumps(doc), encoding="utf-8")
    for lead in _leads(har):
        assert f"{PHONE_SENT} (from a HAR file, a browser's" in lead
        assert "network added it" not in lead


def test_an_echo_that_shows_the_header_added_says_the_network_added_it(tmp_path: Path) -> None:
    sent = [["Host", "news.example"]]
    path = _jsonl(tmp_path, _record(headers=sent, injected=[["X-MSISDN", NUMBER]], removed=[],
                                    changed=[]))  # fmt: skip
    for lead in _leads(path):
        assert lead.endswith(
            "in the header X-MSISDN, added on the way by the network: a reflector's echo shows "
            "the device did not send it. Identity values are masked in this report."
        )


def test_an_echo_that_shows_the_header_arrived_as_sent_says_the_phone_sent_it(
    tmp_path: Path,
) -> None:
    path = _jsonl(tmp_path, _record(injected=[], removed=[], changed=[]))
    for lead in _leads(path):
        assert f"{PHONE_SENT} (a reflector's echo shows it arrived as it was sent)" in lead
        assert "network added it" not in lead


def test_an_echo_that_shows_one_request_altered_blames_the_network_for_that_request_only(
    tmp_path: Path,
) -> None:
    # The number sent by the phone to one site (its echo shows it arrived as sent, and in
    # a cookie too), and added on the way to another: only the second is the network's.
    sent = _record(headers=[["Host", "news.example"], ["X-MSISDN", NUMBER],
                            ["Cookie", f"tel=+{NUMBER}"]],
                   injected=[], removed=[], changed=[])  # fmt: skip
    added = _record(headers=[["Host", "shop.example"]], injected=[["X-MSISDN", NUMBER]],
                    removed=[], changed=[], dst="192.0.2.2", sport=40001)  # fmt: skip
    for lead in _leads(_jsonl(tmp_path, sent, added)):
        assert (
            "went to 2 sites (news.example, shop.example) in the header X-MSISDN or the "
            "cookie tel; in the header X-MSISDN to 1 site (shop.example), added on the way "
            "by the network: a reflector's echo shows the device did not send it." in lead
        )
        assert PHONE_SENT not in lead


def test_the_findings_say_injected_in_transit_only_of_the_requests_an_echo_shows_it_of(
    tmp_path: Path,
) -> None:
    # The same header sent by the phone to one site and added on the way to another:
    # one row said "injected in transit" of both requests.
    sent = _record(injected=[], removed=[], changed=[])
    added = _record(headers=[["Host", "shop.example"]], injected=[["X-MSISDN", NUMBER]],
                    removed=[], changed=[], dst="192.0.2.2", sport=40001)  # fmt: skip
    read = read_inputs([str(_jsonl(tmp_path, sent, added))], IdentityDetector())
    report, _ = make_report(read, now=0.0)
    rows = [(r.name, r.injected, r.count, r.hosts) for r in report.findings]
    assert sorted(rows) == [
        ("X-MSISDN", False, 1, ("news.example",)),
        ("X-MSISDN", True, 1, ("shop.example",)),
    ]


def test_the_phone_s_own_header_beside_one_of_its_name_the_network_added_is_the_phone_s(
    tmp_path: Path,
) -> None:
    # The phone sent X-MSISDN and x-up-subno; the network added a second X-MSISDN and
    # rewrote x-up-subno. By the name alone all four numbers were the network's (the
    # lead named the phone's own as added on the way, and its row counted 2 requests).
    other, rewritten = "447700900153", "447700900154"
    sent = [["Host", "news.example"], ["X-MSISDN", NUMBER], ["x-up-subno", "447700900152"]]
    line = _record(headers=sent, injected=[["X-MSISDN", other]], removed=[],
                   changed=[["X-UP-SUBNO", "447700900152", rewritten]])  # fmt: skip
    read = read_inputs([str(_jsonl(tmp_path, line))], IdentityDetector(IdentityConfig(region="GB")))
    (record,) = read.records
    assert sorted(f.value for f in record.identities) == [
        NUMBER,
        "447700900152",
        other,
        rewritten,
    ]  # each once: the phone's X-MSISDN was found again in the block as received
    for redact in (False, True):  # told on the records as read, masked or not
        report, _ = make_report(read, redact=redact, now=0.0)
        # The number's last two digits, as its value or its mask shows them.
        rows = {(r.value[-15:-13] if redact else r.value[-2:], r.injected, r.count)
                for r in report.findings}  # fmt: skip
        assert rows == {("23", False, 1), ("52", False, 1), ("53", True, 1), ("54", True, 1)}
        assert sorted(e.vantage for e in (r.evidence for r in report.findings)) == sorted(
            [INJECTED, INJECTED, SENT, SENT]
        )


def test_a_redacted_report_says_of_a_canary_what_the_raw_one_says(tmp_path: Path) -> None:
    # Masked, the canary's value ("<canary …23 #h>") is not the number's in the header
    # the phone sent ("<msisdn …23 #h>"): the redacted report called the phone's own
    # X-MSISDN, through its canary, "added on the way by the network".
    line = _record(headers=[["Host", "news.example"], ["X-MSISDN", NUMBER]],
                   injected=[["X-MSISDN", "447700900999"]], removed=[], changed=[])  # fmt: skip
    detector = IdentityDetector(IdentityConfig(region="GB", msisdns=("+" + NUMBER,)))
    read = read_inputs([str(_jsonl(tmp_path, line))], detector)
    verdicts = []
    for redact in (False, True):
        report, _ = make_report(read, redact=redact, now=0.0, detector=detector)
        verdicts.append(sorted((r.kind, r.injected, r.evidence.vantage) for r in report.findings))
    assert verdicts[0] == verdicts[1]
    assert ("canary", False, SENT) in verdicts[0] and ("msisdn", True, INJECTED) in verdicts[0]


def test_a_reflector_s_own_log_is_after_the_carrier_so_the_network_most_likely_added_it(
    tmp_path: Path,
) -> None:
    path = _jsonl(tmp_path, _record(reflector=True))
    for lead in _leads(path):
        assert "seen as a reflector received it, after the carrier: " + MOST_LIKELY in lead
        assert NETWORK_ADDED not in lead


def test_the_readme_quotes_what_the_report_says_of_a_reflector_s_own_log() -> None:
    # It said "added on the way by the network", the words of an echo, for the log too.
    readme = Path(__file__).resolve().parents[3] / "README.md"
    text = " ".join(readme.read_text(encoding="utf-8").split())
    said = text[text.index('It says "added on the way by the network" only') :][:400]
    assert f'of a header networks insert in a reflector\'s own log, "{MOST_LIKELY}"' in said


def test_a_reflector_s_log_saved_as_a_session_or_exported_still_says_it_was_received(
    tmp_path: Path,
) -> None:
    # The dashboard's w (a session of records) and x (HAR) of a reflector's log, opened
    # in it: the lines they write have no "reflector" key of their own.
    log = _jsonl(tmp_path, _record(reflector=True))
    entries = [Entry(r) for r in read_inputs([str(log)], IdentityDetector()).records]
    session = tmp_path / "session.jsonl"
    save_record_session(str(session), entries)
    har = tmp_path / "export.har"
    with har.open("w", encoding="utf-8") as out:
        write_har(entries, out)
    for path in (session, har):
        for lead in _leads(path):
            assert "seen as a reflector received it, after the carrier: " + MOST_LIKELY in lead


@pytest.mark.parametrize("path", [demo_capture_path(), None])
def test_a_capture_or_records_of_unknown_vantage_state_the_fact_and_what_decides(
    tmp_path: Path, path: Path | None
) -> None:
    # The demo capture (a pcap: its bytes do not say where it was taken), and a scan's
    # records of one.
    for lead in _leads(path or _jsonl(tmp_path, _record())):
        assert UNDECIDED in lead
        assert NETWORK_ADDED not in lead and "sent by the phone" not in lead


def test_a_request_that_carries_the_number_under_two_names_is_counted_once_in_the_lead(
    tmp_path: Path,
) -> None:
    # As above, and the proxy's request carries the number under a second name too: a
    # row each, one request still. The lead said "in 1 of its 3 requests".
    added = _record(headers=[["Host", "shop.example"]], injected=[["X-MSISDN", NUMBER]],
                    removed=[], changed=[])  # fmt: skip
    onward = _record(headers=[["Host", "shop.example"], ["X-MSISDN", NUMBER],
                              ["X-Phone", NUMBER]], sport=40001, src="192.0.2.9")  # fmt: skip
    for lead in _leads(_jsonl(tmp_path, added, onward)):
        assert "; in 1 of its 2 requests" in lead, lead


def test_an_echo_about_some_requests_to_a_site_says_which_of_its_requests_not_the_site_again(
    tmp_path: Path,
) -> None:
    # One capture saw both sides of the carrier's proxy: the phone's request, which the
    # echo shows was added to, and the proxy's, which carries the header. The lead said
    # "went to 1 site (shop.example) in the header X-MSISDN; in the header X-MSISDN to 1
    # site (shop.example), added on the way…": the same clause twice.
    added = _record(headers=[["Host", "shop.example"]], injected=[["X-MSISDN", NUMBER]],
                    removed=[], changed=[])  # fmt: skip
    onward = _record(headers=[["Host", "shop.example"], ["X-MSISDN", NUMBER]], sport=40001,
                     src="192.0.2.9")  # fmt: skip
    for lead in _leads(_jsonl(tmp_path, added, onward)):
        assert (
            "went to 1 site (shop.example) in the header X-MSISDN; in 1 of its 2 requests, "
            "added on the way by the network: a reflector's echo shows the device did not "
            "send it." in lead
        ), lead
