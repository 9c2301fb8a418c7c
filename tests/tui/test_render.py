"""Rendering of one request: what was added in transit is shown with what it carries."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from capture.http.echo import ECHO_HEADER, encode_echo, transit
from capture.view.store import Entry
from tests.capture.factories import finding, record, response
from tui.render import KIND_LABEL, badge_labels, detail_text, fit_badges

SENT = (("Host", "bbc.co.uk"), ("User-Agent", "Mozilla/5.0"))


def _echoed(
    received: tuple[tuple[str, str], ...], sent: tuple[tuple[str, str], ...] = SENT
) -> Entry:
    echo = response(headers=((ECHO_HEADER, encode_echo(received)),))
    msisdn = finding(name="x-up-calling-line-id", value="447700900123")
    rec = record(1, findings=(msisdn,), resp=echo, headers=sent)
    return Entry(dataclasses.replace(rec, transit=transit(sent, received)))


RECEIVED_TITLE = "as received by the server (reflector's echo, not signed):\n"


def test_headers_added_in_transit_are_listed_with_their_findings() -> None:
    entry = _echoed((*SENT, ("x-up-calling-line-id", "447700900123")))
    text = detail_text(entry).plain
    head, received = text.split(RECEIVED_TITLE)
    assert "\nx-up-calling-line-id:" not in head  # not among the sent headers
    assert "⇢ in transit: injected x-up-calling-line-id\n" in head  # summed up on top
    lines = received.split("\n")
    assert lines[:2] == ["  Host: bbc.co.uk", "  User-Agent: Mozilla/5.0"]
    assert lines[2] == "+ x-up-calling-line-id: 447700900123  ⇢ injected in transit"
    assert "+447700900123" in lines[3]


def test_nothing_altered_says_so_and_no_echo_shows_nothing() -> None:
    assert "received by the server unchanged" in detail_text(_echoed(SENT)).plain
    plain = detail_text(Entry(record(1, resp=response()))).plain
    assert "received by the server" not in plain and "in transit" not in plain


def test_the_received_block_says_whether_the_echo_was_signed_with_the_echo_key() -> None:
    entry = _echoed((*SENT, ("x-up-calling-line-id", "447700900123")))
    signed = dataclasses.replace(
        entry.record, transit=dataclasses.replace(entry.record.transit, signed=True)
    )
    text = detail_text(Entry(signed)).plain
    assert "as received by the server (reflector's echo, signed):\n" in text
    assert "not signed" not in text


def test_a_stripped_header_is_shown_removed_in_both_blocks() -> None:
    text = detail_text(_echoed(SENT[:1])).plain
    head, received = text.split(RECEIVED_TITLE)
    assert "User-Agent: Mozilla/5.0  ⇢ removed in transit" in head
    assert "- User-Agent: Mozilla/5.0  ⇢ removed in transit (not received)" in received


def test_the_phones_own_via_line_is_changed_never_injected() -> None:
    sent = (*SENT, ("Via", "1.0 phone"))
    text = detail_text(_echoed((*SENT, ("Via", "1.0 phone, 1.1 squid")), sent)).plain
    head, received = text.split(RECEIVED_TITLE)
    assert "Via: 1.0 phone  ⇢ changed in transit" in head
    assert "~ Via: 1.0 phone, 1.1 squid  ⇢ changed in transit" in received
    assert "⇢ in transit: changed Via\n" in head
    assert "injected" not in text


def test_hostile_values_added_in_transit_are_escaped() -> None:
    entry = _echoed((*SENT, ("X-Evil", "\x1b]0;pwned\x07[red]x[/red]")))
    text = detail_text(entry)
    assert "\x1b" not in text.plain and "\x07" not in text.plain
    assert "+ X-Evil: \\x1b]0;pwned\\x07[red]x[/red]" in text.plain


def test_exposure_panel_says_the_same_token_was_sent_to_n_sites() -> None:
    from capture.view.exposure import Exposure
    from tui.exposure_panel import exposure_text

    token = "OTgxNTk2NDk0ADJVquRu5NS5+rSbBANlrp+13QL7CXLGsFHpMi4LsUHw"
    found = finding(
        "tracking_id",
        name="X-Mystery",
        value=token,
        normalized=token,
        detector="recurrence",
        severity="medium",
        detail="the same token sent to 3 sites: a.example, b.example, c.example",
    )
    exposure = Exposure()
    exposure.add(record(1, (found,), headers=(("Host", "c.example"),)))
    assert "the same token sent to 3 sites: a.example" in exposure_text(exposure).plain


def test_badges_that_do_not_fit_are_counted_in_a_plus_n_most_severe_kept() -> None:
    labels = [("IMEI", "high"), ("MSISDN", "high"), ("UIDH", "medium")]
    parts = fit_badges(labels, injected=True, width=18)
    assert "".join(text for text, _ in parts) == " IMEI   MSISDN  +2"
    assert parts[-1] == ("+2", "more")
    everything = "".join(text for text, _ in fit_badges(labels, injected=True, width=40))
    assert everything == " IMEI   MSISDN   UIDH  INJ"
    assert "".join(text for text, _ in fit_badges(labels, False, 3)) == "+3"


def test_the_anomaly_mark_comes_first_and_is_never_counted_away() -> None:
    labels = [("IMEI", "high"), ("MSISDN", "high"), ("UIDH", "medium")]
    parts = fit_badges(labels, injected=True, width=18, anomalous=True)
    assert parts[0] == ("⚠", "anomaly")
    assert "".join(text for text, _ in parts) == "⚠  IMEI  +3"
    assert "".join(text for text, _ in fit_badges([], False, 15, anomalous=True)) == "⚠"
    assert "".join(text for text, _ in fit_badges(labels, False, 3, anomalous=True)) == "⚠ +3"
    assert fit_badges(labels, injected=True, width=18) == fit_badges(
        labels, injected=True, width=18, anomalous=False
    )


def test_the_exposure_panel_groups_a_pcapdroid_capture_by_app() -> None:
    from capture.identity.detector import IdentityDetector
    from capture.pipeline import Pipeline
    from capture.sources.frames import CaptureFile
    from capture.view.exposure import Exposure
    from tui.exposure_panel import exposure_text

    path = Path(__file__).resolve().parents[1] / "data" / "pcapdroid" / "demo-uidmap.pcapng"
    pipeline = Pipeline(detector=IdentityDetector())
    exposure = Exposure()
    for frame in CaptureFile(str(path)):
        exposure.apply(pipeline.feed(frame))
    exposure.apply(pipeline.flush())
    text = exposure_text(exposure).plain
    apps = text.split("Apps → identities they sent\n", 1)[1].split("\n\n", 1)[0]
    assert apps.splitlines() == [
        "  com.android.chrome  14 req, 14 with identities  MSISDN → www.bbc.co.uk, "
        "www.guardian.co.uk, www.google.co.uk +1",
        "  com.facebook.katana  4 req, 4 with identities  MSISDN → m.facebook.com",
        "  com.example.fruitgame  1 req, 1 with identities  MSISDN IMEI → ads.adnetwork.example",
    ]
    # A capture that names no app has no such section.
    plain = Exposure()
    assert "Apps →" not in exposure_text(plain).plain


def test_a_tracking_id_found_by_recurrence_has_its_kinds_own_badge() -> None:
    # Not "UIDH": that names one carrier's header (Verizon's X-UIDH), and a token found
    # by recurrence under any name is no more an X-UIDH than a _ga cookie is.
    token = "OTgxNTk2NDk0ADJVquRu5NS5+rSbBANlrp+13QL7CXLGsFHpMi4LsUHw"
    found = finding(
        "tracking_id",
        name="X-Mystery",
        value=token,
        normalized=token,
        detector="recurrence",
        severity="medium",
        detail="the same token sent to 3 sites: a.example, b.example, c.example",
    )
    assert badge_labels(record(1, (found,))) == [("TRKID", "medium")]
    # One label per kind: no badge can be read as another kind's.
    assert len(set(KIND_LABEL.values())) == len(KIND_LABEL)


def _reflectors_own(*anomalies: str) -> Entry:
    """A request as ``reflect --output`` logs it (no response in the line), read back."""
    import orjson

    from capture.formats.jsonl import dumps, parsed_from_dict, reflector_line
    from capture.model import Record

    line = reflector_line(dumps(record(1, anomalies=anomalies)))
    parsed = parsed_from_dict(orjson.loads(line))
    assert parsed is not None and parsed.response is None
    return Entry(Record(1, parsed.request, (), parsed.response, parsed.transit))


def test_a_reflectors_own_record_says_its_response_is_not_in_the_log_not_none_yet() -> None:
    answered = detail_text(_reflectors_own()).plain
    assert "(none yet)" not in answered
    response = answered.split("\nResponse\n")[1]
    assert response.startswith("  not in this log: the reflector's own record"), response
    refused = detail_text(
        _reflectors_own("refused by the reflector: 400 whitespace before colon in header 'X'")
    ).plain.split("\nResponse\n")[1]
    assert "refused the request with 400 (see Anomalies)" in refused, refused
    # A capture's request without a response still waits for it, until the input has
    # been read to its end (another log without responses said "none yet" for good).
    assert "Response\n  (none yet)" in detail_text(Entry(record(1))).plain
    done = detail_text(Entry(record(1)), finished=True).plain
    assert "Response\n  (none in the input)" in done


def test_a_har_request_without_addresses_says_they_were_not_recorded() -> None:
    """A HAR keeps no client address, and a server's only where its tool wrote one:
    the heading read ":0 → :80"."""
    rec = record(1)
    har = dataclasses.replace(rec.request, src="", sport=0, dst="", dport=80)
    text = detail_text(Entry(dataclasses.replace(rec, request=har))).plain
    assert "client not recorded → server port 80" in text.splitlines()[0]
    assert ":0 →" not in text
