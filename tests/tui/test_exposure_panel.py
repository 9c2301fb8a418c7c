"""The exposure panel on the demo capture: every count labelled, long tokens cut in the middle."""

from __future__ import annotations

import re

import pytest

from capture.identity.detector import IdentityDetector
from capture.model import RequestSeen
from capture.pipeline import Pipeline
from capture.sources.frames import CaptureFile
from capture.view.exposure import Exposure
from capture.view.store import Entry
from tests.capture.factories import finding, record
from tests.tui.fakes import make_app, post_demo_capture
from tui.common import demo_capture_path
from tui.exposure_panel import exposure_text, rate_caption
from tui.render import detail_text, shorten_middle

UIDH = "OTgxNTk2NDk0ADJVquRu5NS5+rSbBANlrp+13QL7CXLGsFHpMi4LsUHw"


@pytest.fixture(scope="module")
def demo() -> tuple[Exposure, list[RequestSeen]]:
    pipeline = Pipeline(detector=IdentityDetector())
    exposure = Exposure()
    seen: list[RequestSeen] = []
    for frame in CaptureFile(demo_capture_path()):
        events = pipeline.feed(frame)
        exposure.apply(events)
        seen += [e for e in events if isinstance(e, RequestSeen)]
    events = pipeline.flush()
    exposure.apply(events)
    seen += [e for e in events if isinstance(e, RequestSeen)]
    return exposure, seen


def _section(text: str, title: str) -> list[str]:
    return text.split(title + "\n", 1)[1].split("\n\n", 1)[0].splitlines()


def test_every_count_in_the_exposure_panel_is_labelled_and_counts_requests(
    demo: tuple[Exposure, list[RequestSeen]],
) -> None:
    exposure, _ = demo
    text = exposure_text(exposure).plain
    assert not re.search(r"\(\d[\d,]*\)", text), "an unlabelled (N) is back"
    identities = _section(text, "Identities → hosts that received them")
    assert identities[0] == "● MSISDN +447700900123  19 req"
    assert "  → www.bbc.co.uk  6 req" in identities
    hosts = _section(text, "Hosts ← identities they received")
    # The same meaning as above: requests that carried an identity to the host (the
    # ad request carried two identities: one request), most requests first.
    assert hosts[:3] == [
        "  6 req  www.bbc.co.uk ← MSISDN",
        "  6 req  www.guardian.co.uk ← MSISDN",
        "  4 req  m.facebook.com ← MSISDN",
    ]
    assert "  1 req  ads.adnetwork.example ← MSISDN IMEI" in hosts
    carriers = _section(text, "Requests per header or parameter")  # query imei too
    assert carriers[0] == "  19 req  header x-up-calling-line-id"
    counted = [line for line in identities if line.lstrip().startswith(("→", "●"))]
    for line in counted:
        assert re.search(r"\d req$", line), line
    for line in hosts + carriers:
        assert re.match(r" +\d+ req  ", line), line


def test_a_long_token_is_cut_in_its_middle_in_the_panel_and_whole_in_the_detail(
    demo: tuple[Exposure, list[RequestSeen]],
) -> None:
    exposure, seen = demo
    width = 48  # the panel's lines at 200 columns
    lines = exposure_text(exposure, width).plain.splitlines()
    [line] = [line for line in lines if line.startswith("● TRKID")]
    assert line == "● TRKID OTgxNTk2NDk0ADJV…CXLGsFHpMi4LsUHw  1 req"
    assert len(line) <= width
    # Its long description wraps under it, indented, not back to the panel's edge.
    uidh_block = lines[lines.index(line) : lines.index("  via header X-UIDH") + 1]
    assert all(len(line) <= width for line in uidh_block), uidh_block
    assert "  advertising 'perma-cookie' injected into every" in lines
    # A host name too long for its line is cut the same way (a 40-column panel).
    narrow = exposure_text(exposure, 34).plain.splitlines()
    hosts = narrow[narrow.index("Hosts ← identities they received") + 1 :]
    assert "  6 req  www.guar…n.co.uk ← MSISDN" in hosts
    assert "  6 req  www.bbc.co.uk ← MSISDN" in hosts  # it fits: whole
    assert "  1 req  ads.a…ample ← MSISDN IMEI" in hosts  # 10 cells at the least
    assert "  19 req  header x-up-cal…-line-id" in narrow  # a header's name too
    assert all(len(line) <= 34 for line in narrow if "req" in line and "TRKID" not in line)
    # Wide enough, nothing is cut; with no width (tests, reports), neither.
    assert f"● TRKID {UIDH}  1 req" in exposure_text(exposure, 120).plain.splitlines()
    assert f"● TRKID {UIDH}  1 req" in exposure_text(exposure).plain.splitlines()
    # The detail of the request has the whole value.
    [uidh] = [e.record for e in seen if any(f.name == "X-UIDH" for f in e.record.findings)]
    assert UIDH in detail_text(Entry(uidh)).plain


def test_shorten_middle_keeps_the_start_and_the_end() -> None:
    assert shorten_middle(UIDH, 21) == "OTgxNTk2ND…HpMi4LsUHw"
    assert shorten_middle("short", 5) == "short"
    assert shorten_middle("abcd", 3) == "a…d"
    assert shorten_middle("abcd", 1) == "…"
    assert shorten_middle("電話番号電話番号", 7) == "電 … 号"  # cells, not characters


def test_a_hostile_long_host_or_header_name_is_cut_under_its_identity_too() -> None:
    # A client can send any Host and any header name: 5,000 cells of either once
    # filled the panel, a line of its own for every 48 cells.
    host = "h" * 5000 + ".example"
    name = "x-msisdn-" + "n" * 5000
    found = finding(name=name)
    seen = RequestSeen(record(findings=(found,), headers=(("Host", host), (name, "447700900123"))))
    exposure = Exposure()
    exposure.apply([seen])
    width = 48
    lines = exposure_text(exposure, width).plain.splitlines()
    identities = _section("\n".join(lines), "Identities → hosts that received them")
    assert all(len(line) <= width for line in identities), identities
    [to] = [line for line in identities if line.startswith("  → ")]
    assert to.startswith("  → hhh") and to.endswith("h.example  1 req")
    [via] = [line for line in identities if line.startswith("  via ")]
    assert via.startswith("  via header x-msisdn-nnn") and via.endswith("nnn")
    # With no width (tests, reports), whole.
    assert f"  → {host}  1 req" in exposure_text(exposure).plain.splitlines()


def test_a_detail_wraps_between_the_sites_it_names_never_at_a_hyphen_in_one() -> None:
    """The panel (48 cells at 200 columns) wrapped as '… x.io, alpha-' / 'news.com, b.io'."""
    detail = "the same token sent to 3 sites: x.io, alpha-news.com, b.io"
    found = finding("tracking_id", name="x-tok", value="abc", normalized="abc", detail=detail)
    exposure = Exposure()
    exposure.apply([RequestSeen(record(findings=(found,)))])
    lines = exposure_text(exposure, 48).plain.splitlines()
    assert "  alpha-news.com, b.io" in lines, lines
    assert all(len(line) <= 48 for line in lines)


@pytest.mark.parametrize("cells", [20, 30, 33, 36, 40, 60, None])
def test_a_rate_caption_fits_the_panel_losing_its_span_first(cells: int | None) -> None:
    # At 120 columns the panel beside the list is 36 cells: "(now 1, max 1, last 60"
    # lost its end.
    caption = rate_caption("requests/s", 1_234, 56_789, cells, "last 60 s")
    assert cells is None or len(caption) <= cells
    if cells is None or cells >= 42:
        assert caption == "requests/s  (now 1,234, max 56,789, last 60 s)"
    if cells is None or cells >= 32:  # "requests/s now 1,234, max 56,789"
        assert "now 1,234" in caption and "56,789" in caption
    else:
        assert caption.endswith("…")


async def test_the_rate_captions_fit_the_panel_beside_the_list_at_120_columns() -> None:
    app = make_app(source_name="demo")
    async with app.run_test(size=(120, 30)) as pilot:
        post_demo_capture(app)
        await pilot.pause()
        panel = app.main.exposure
        assert panel.display
        for name in ("#exposure-rps", "#exposure-ips"):
            caption = panel.query_one(name).render().plain  # type: ignore[attr-defined]
            assert len(caption) <= panel.scrollable_content_region.width, caption
            assert caption.endswith(")"), caption


def test_the_names_an_identity_came_in_are_shown_whole_or_counted_never_cut_into_one() -> None:
    # A cut in the middle of the joined list made one name of two: "X-Carrier-S…N,
    # header X.Msisdn +10".
    names = ["X-Carrier-Subscriber-Number", "X.Msisdn", "X-Up-Calling-Line-Id", "X-Msisdn"]
    found = tuple(finding(name=name) for name in names)
    seen = RequestSeen(record(findings=found, headers=tuple((n, "447700900123") for n in names)))
    exposure = Exposure()
    exposure.apply([seen])
    for width in (40, 60, 80, 200):
        text = exposure_text(exposure, width).plain
        [via] = [line for line in text.splitlines() if line.startswith("  via ")]
        assert len(via) <= width
        shown, _, more = via.removeprefix("  via ").partition(" +")
        parts = shown.split(", ")
        if "…" in shown:  # the first alone, too long for the line: cut in its middle
            assert len(parts) == 1 and parts[0].startswith("header X-Carrie"), via
        else:
            assert all(part.removeprefix("header ") in names for part in parts), via
        assert len(parts) + int(more or 0) == len(names), via
    wide = exposure_text(exposure, 200).plain
    assert "  via header X-Carrier-Subscriber-Number, header X.Msisdn, header " in wide
