"""The HTML report in a real browser (Debian's headless chromium, over DevTools):
no console error, no network request, the chart drawn, hostile values as text."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from capture.formats.redact import Redactor
from capture.identity.catalog import load_catalog
from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.report import html
from capture.report.model import InputInfo, build_report
from capture.report.write import make_report, read_inputs
from tests.capture.report.samples import SCRIPT, injected_records
from tests.chromium import load

DEMO = str(Path(__file__).resolve().parents[3] / "capture" / "data" / "demo-o2-2012.pcap")
A4_WIDTH = round((8.27 - 2 * 0.4) * 96)
"""CSS pixels across an A4 page inside printToPDF's default margins (0.4 in a side)."""


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)

    def handle_data(self, data: str) -> None:
        self.text += data


def _page(tmp_path: Path, redact: bool = True) -> Path:
    report = build_report(
        injected_records(),
        redactor=Redactor.new() if redact else None,
        catalog=load_catalog(),
        version="test",
    )
    path = tmp_path / "report.html"
    path.write_text(html.render(report), encoding="utf-8")
    return path


def test_the_report_loads_in_chromium_with_no_error_no_request_and_a_drawn_chart(
    tmp_path: Path,
) -> None:
    path = _page(tmp_path)
    shot = tmp_path / "report.png"
    page = load(
        path.as_uri(),
        shot,
        (
            "document.querySelectorAll('figure svg rect').length",
            "document.querySelector('figure svg rect').getBoundingClientRect().width",
            "document.querySelectorAll('script').length",
            "typeof window.__pwned",
            "document.body.innerText",
        ),
    )
    assert page.errors == [], page.console
    assert page.requests == [path.as_uri()]  # the page itself, nothing else
    values = page.values
    assert values["document.querySelectorAll('figure svg rect').length"] >= 3
    assert values["document.querySelector('figure svg rect').getBoundingClientRect().width"] > 50
    assert values["document.querySelectorAll('script').length"] == 0
    assert values["typeof window.__pwned"] == "undefined"
    assert SCRIPT in values["document.body.innerText"]  # shown as text
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_hostile_values_are_text_in_the_html_markup(tmp_path: Path) -> None:
    text = _page(tmp_path, redact=False).read_text(encoding="utf-8")
    parsed = _Tags()
    parsed.feed(text)
    assert {"script", "img", "b"}.isdisjoint(parsed.tags)
    assert "onerror" not in parsed.attributes
    assert SCRIPT in parsed.text and "<img src=x onerror=alert(1)>" in parsed.text
    assert "\u202e" not in text and "\x1b" not in text
    assert "\\u202eevil" in parsed.text


def test_the_report_prints_to_a_few_a4_pages_with_no_error(tmp_path: Path) -> None:
    path = _page(tmp_path)
    pdf = tmp_path / "report.pdf"
    page = load(path.as_uri(), tmp_path / "print.png", pdf=pdf)
    assert page.errors == [] and page.requests == [path.as_uri()]
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", data))
    # Nothing cut, every column on the paper: each of the three requests lists five
    # headers added on the way (one a hostile value of over 100 characters) and eight
    # identities, in the Injection table and again in the appendix, wrapped whole.
    # That is some six pages of rows, and a row is not split across pages: 8 here
    # (the demo's 28 requests print on 6).
    assert 1 <= pages <= 9, pages


@pytest.mark.parametrize("redact", [True, False])
@pytest.mark.parametrize(("width", "media"), [(1200, "screen"), (A4_WIDTH, "print")])
def test_no_table_of_the_demo_report_is_wider_than_the_page_or_the_paper(
    tmp_path: Path, redact: bool, width: int, media: str
) -> None:
    # Raw, the X-UIDH token is 49 characters unbroken; either way the SHA-256 is 64.
    read = read_inputs([DEMO], IdentityDetector(IdentityConfig(region="GB")))
    report, _ = make_report(read, redact=redact, now=0.0)
    path = tmp_path / "demo.html"
    path.write_text(html.render(report), encoding="utf-8")
    rights = "[...document.querySelectorAll('table')].map(t => t.getBoundingClientRect().right)"
    wide = "document.documentElement.scrollWidth"
    page = load(path.as_uri(), tmp_path / "demo.png", (rights, wide), width=width, media=media)
    assert len(page.values[rights]) == 5
    assert max(page.values[rights]) <= width and page.values[wide] == width


def test_the_page_forbids_every_load_and_has_a_print_stylesheet(tmp_path: Path) -> None:
    text = _page(tmp_path).read_text(encoding="utf-8")
    assert "Content-Security-Policy\" content=\"default-src 'none'" in text
    assert "@media print" in text
    assert "http://" not in text.split("<body>")[0].replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )


def test_a_hostile_network_label_and_url_are_text_in_a_study(tmp_path: Path) -> None:
    from capture.report.study import build_study, probe_test

    probe = {"url": f"http://x.example/{SCRIPT}", "ts": 1.0, "label": f"carrier={SCRIPT}",
             "error": "<b>refused</b>"}  # fmt: skip
    report = build_report([], redactor=Redactor.new())
    text = html.render(report, build_study([probe_test(probe)]))
    parsed = _Tags()
    parsed.feed(text)
    assert {"script", "b"}.isdisjoint(parsed.tags)
    assert f"carrier={SCRIPT}" in parsed.text and "<b>refused</b>" in parsed.text


def test_a_report_of_records_says_not_known_and_has_no_frame_column() -> None:
    info = InputInfo("export.jsonl", "headerwatch JSONL records", 1, "0" * 64, traffic=False)
    report = build_report(injected_records(), inputs=[info], counters={"non_http_connections": 0})
    page = html.render(report)
    limits = page.split('id="not-inspected"', 1)[1].split('id="method"', 1)[0]
    assert '<td class="n">not known</td>' in limits and '<td class="n">0</td>' not in limits
    appendix = page.split('id="appendix"', 1)[1]
    assert "<th>Frame</th>" not in appendix and "Ctrl-G" not in appendix


def test_the_chart_counts_a_request_carrying_two_identities_once_as_the_table_does() -> None:
    from tests.capture.factories import finding, record

    imei = finding("imei", name="imei", where="query", value="490154203237518",
                   normalized="490154203237518", detector="imei")  # fmt: skip
    both = record(1, findings=(finding(), imei), headers=(("Host", "ads.example"),))
    report = build_report([both, record(2, findings=(finding(),))])
    assert report.exposure.requests == (1, 1)
    page = html.render(report)
    section = page.split('id="exposure"', 1)[1].split('id="injection"', 1)[0]
    table, chart = section.split("<figure>", 1)
    ads = re.search(r"<tr><td><span class=\"v\">ads.example</span></td>(.*?)</tr>", table)
    assert ads is not None
    assert re.findall(r'<td class="n">(\d*)</td>', ads.group(1)) == ["1", "1", "1"]
    assert "<th>Requests with an identity</th>" in table
    # The number after the ads.example bar (two segments) is its one request.
    after = chart.split(">ads.example</text>", 1)[1].split("</text>", 1)[0]
    assert after.count("<rect") == 2 and after.endswith(">1")
    assert "each counted once" in chart
