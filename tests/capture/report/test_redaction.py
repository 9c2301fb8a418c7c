"""A redacted report holds no form of the test phone's number; a raw one says it is raw."""

from __future__ import annotations

import html as html_lib
import re

import pytest

from capture.formats.redact import Redactor
from capture.identity.catalog import load_catalog
from capture.report import html, markdown
from capture.report.model import build_report
from capture.report.study import build_study, probe_test
from tests.capture.report.samples import FORMS, NUMBER, injected_records

CLIENT = "10.64.0.7"
"""The client address of every sample record."""
RENDERERS = {"html": html.render, "md": markdown.render}


def _leaks(text: str) -> list[str]:
    # Markdown escapes punctuation and HTML escapes markup: look at the text both ways.
    plain = text.replace("\\", "")
    return [form for form in FORMS if form in text or form in plain]


@pytest.mark.parametrize("fmt", RENDERERS)
def test_no_form_of_the_number_is_in_a_redacted_report(fmt: str) -> None:
    report = build_report(injected_records(), redactor=Redactor.new(), catalog=load_catalog())
    text = RENDERERS[fmt](report, None)
    assert _leaks(text) == []
    assert "…23 #" in text.replace("\\", "")  # masked, recognisably
    assert "raw identities" not in text


@pytest.mark.parametrize("fmt", RENDERERS)
def test_a_raw_report_shows_the_number_and_says_it_holds_raw_identities(fmt: str) -> None:
    report = build_report(injected_records(), catalog=load_catalog())
    text = RENDERERS[fmt](report, None)
    assert "+447700900123" in text.replace("\\", "")
    assert "raw identities" in text
    # What the redacted report must hide is there to hide: plain, national, hex, base64.
    assert {FORMS[0], FORMS[4], FORMS[5], FORMS[7]} <= set(_leaks(text))


@pytest.mark.parametrize("fmt", RENDERERS)
def test_a_redacted_study_masks_the_injected_number_and_a_number_in_the_label(fmt: str) -> None:
    redactor = Redactor.new()
    probe = {
        "url": "http://reflector.example/",
        "ts": 1700000000.0,
        "label": f"carrier=Lab, sim=+{NUMBER}",
        "sent": [["Host", "reflector.example"]],
        "received": [["Host", "reflector.example"], ["X-MSISDN", NUMBER]],
        "injected": [["X-MSISDN", NUMBER]],
        "removed": [],
        "changed": [],
        "findings": [
            {"name": "X-MSISDN", "where": "header", "kind": "msisdn", "value": NUMBER,
             "normalized": "+" + NUMBER, "detector": "catalog", "severity": "high"},
        ],
        "echo": "reflector",
    }  # fmt: skip
    study = build_study([probe_test(probe, redactor)])
    report = build_report([], redactor=redactor)
    text = RENDERERS[fmt](report, study)
    assert _leaks(text) == []
    assert "carrier=Lab, sim=" in text.replace("\\", "")
    assert "injected" in text


@pytest.mark.parametrize("fmt", RENDERERS)
def test_a_redacted_report_shows_the_client_address_as_its_pseudonym(fmt: str) -> None:
    records = injected_records()
    assert {r.request.src for r in records} == {CLIENT}
    redactor = Redactor.new()
    text = RENDERERS[fmt](build_report(records, redactor=redactor), None).replace("\\", "")
    assert CLIENT not in text
    # Where it was seen from, and each appendix connection, with the port kept.
    assert f"Seen from {redactor.address(CLIENT)}" in text
    assert f"{redactor.address(CLIENT)}:40000 → " in text
    raw = RENDERERS[fmt](build_report(records), None).replace("\\", "")
    assert f"Seen from {CLIENT}" in raw


@pytest.mark.parametrize("fmt", RENDERERS)
def test_a_redacted_study_groups_by_client_address_range_under_a_mask(fmt: str) -> None:
    def probe(client: str, ts: float) -> dict[str, object]:
        return {"url": "http://r.example/", "ts": ts, "client": client, "echo": "reflector",
                "sent": [["Host", "r.example"]], "received": [["Host", "r.example"]]}  # fmt: skip

    clients = ("203.0.113.7", "203.0.113.99", "2001:db8:aa::1", "2001:db8:aa:1::2")
    redactor = Redactor.new()
    study = build_study([probe_test(probe(c, float(i))) for i, c in enumerate(clients)])
    masked = build_study([probe_test(probe(c, float(i)), redactor) for i, c in enumerate(clients)])
    assert [n.tests for n in masked.networks] == [n.tests for n in study.networks] == [2, 2]
    names = [re.fullmatch(r"<client /(24|48) #([0-9a-f]{10})>", n.name) for n in masked.networks]
    assert all(names)
    text = RENDERERS[fmt](build_report([], redactor=redactor), masked).replace("\\", "")
    assert [c for c in (*clients, "203.0.113.0", "2001:db8:aa::") if c in text] == []
    assert all(f"client /{m[1]} #{m[2]}" in text for m in names if m)  # (HTML escapes <>)


@pytest.mark.parametrize("fmt", RENDERERS)
def test_an_input_named_for_the_number_and_a_note_spelling_it_are_masked(fmt: str) -> None:
    # subject-447700900123.pcap was named in the Context and the Appendix of the
    # report that masked the same number in its lead; so was a HAR's creator name.
    from capture.report.model import InputInfo

    name = f"subject-{NUMBER}.pcap"
    records = injected_records()
    frames = {r.id: (name, 10 + r.id) for r in records}
    report = build_report(
        records,
        redactor=Redactor.new(),
        catalog=load_catalog(),
        inputs=(InputInfo(name, "pcap or pcapng capture", 1000, "ab" * 32),),
        frames=frames,
        notes=(f"{name}: HAR written by test +{NUMBER} 1: no raw head",),
    )
    text = RENDERERS[fmt](report, None)
    assert _leaks(text) == []
    assert "subject-<msisdn …23 #" in html_lib.unescape(text.replace("\\", ""))
