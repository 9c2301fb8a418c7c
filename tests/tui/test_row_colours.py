"""Only the badges carry a row's severity: with 20 of the demo's 28 rows carrying the
MSISDN, red HOST and PATH cells on every one of them would hide what stands out."""

from __future__ import annotations

from rich.segment import Segment

from tests.tui.fakes import make_app, post_demo_capture


def _cell(segments: list[Segment], text: str) -> Segment:
    return next(s for s in segments if s.text.strip() == text)


async def test_a_row_with_an_identity_keeps_the_text_colour_and_its_badge_is_red() -> None:
    app = make_app(source_name="demo")
    async with app.run_test(size=(120, 40)) as pilot:
        post_demo_capture(app)
        await pilot.pause()
        requests = app.main.requests
        await pilot.press("g")  # the cursor off the rows compared
        await pilot.pause()
        top = int(requests.scroll_y)
        rows = [list(requests.render_line(y + 1)) for y in range(requests.size.height - 1)]
        texts = ["".join(s.text for s in row) for row in rows]
        plain = next(rows[i] for i, t in enumerate(texts) if i + top > 0 and "MSISDN" not in t
                     and "www.bbc.co.uk" in t)  # fmt: skip
        msisdn = next(rows[i] for i, t in enumerate(texts) if i + top > 0 and "MSISDN" in t
                      and "www.bbc.co.uk" in t)  # fmt: skip
        host_plain = _cell(plain, "www.bbc.co.uk").style
        host_msisdn = _cell(msisdn, "www.bbc.co.uk").style
        assert host_plain is not None and host_msisdn is not None
        assert host_msisdn.color == host_plain.color and not host_msisdn.bold
        badge = _cell(msisdn, "MSISDN").style
        assert badge is not None and badge.bgcolor is not None
        assert badge.bgcolor != host_msisdn.bgcolor  # the badge is a coloured block
