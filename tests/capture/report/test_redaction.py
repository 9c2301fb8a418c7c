"""A redacted report holds no form of the test phone's number; a raw one says it is raw."""

from __future__ import annotations

import pytest

from capture.formats.redact import Redactor
from capture.identity.catalog import load_catalog
from capture.report import html, markdown
from capture.report.model import build_report
from capture.report.study import build_study, probe_test
from tests.capture.report.samples import FORMS, NUMBER, injected_records

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
