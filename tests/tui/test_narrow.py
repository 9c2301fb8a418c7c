"""The dashboard on a small terminal: columns drop in order, the exposure panel is an
overlay, the status line and footer keep the essentials, the detail leads with findings."""

from __future__ import annotations

import pytest
from textual.geometry import Region
from textual.widgets._footer import FooterKey
from textual.widgets._toast import Toast

from capture.model import StatsSnapshot
from capture.sources.source import Halt
from tests.tui.fakes import make_app, post_demo_capture, stats
from tui.app import HeaderwatchApp
from tui.messages import StatsUpdated
from tui.request_list import DROP_ORDER, HOST_WANTED, columns
from tui.status import Status, fitted, short_count, status_text


async def _load(pilot: object, app: HeaderwatchApp) -> None:
    post_demo_capture(app)
    await pilot.pause()  # type: ignore[attr-defined]


def test_columns_drop_port_then_milliseconds_then_client_as_the_list_narrows() -> None:
    assert DROP_ORDER == ("client port", "milliseconds", "client")
    wide, medium, small, tiny = columns(198), columns(100), columns(90), columns(80)
    assert (wide.client, wide.time) == (21, 12)  # address and port, milliseconds
    assert (medium.client, medium.time) == (15, 12)  # the port went first
    assert (small.client, small.time) == (15, 8) or small.client == 0
    assert (tiny.client, tiny.time) == (0, 8)  # then milliseconds, then CLIENT
    for width in (80, 100, 118, 160, 198):
        layout = columns(width)
        assert layout.host >= HOST_WANTED, (width, layout)
        assert layout.ids >= 15
        gaps = 6 if layout.client else 5
        assert sum(layout) + gaps == width


async def test_at_80_columns_the_list_has_the_width_and_every_story_shows() -> None:
    app = make_app(source_name="demo")
    async with app.run_test(size=(80, 24)) as pilot:
        await _load(pilot, app)
        main = app.main
        assert main.narrow and not main.exposure.display
        assert main.requests.size.width == 80  # no panel, no scrollbar beside it
        lines = [main.requests.render_line(y).text for y in range(main.requests.size.height)]
        assert lines[0].split() == ["▶", "TIME", "METHOD", "HOST", "PATH", "ST", "IDENTITIES"]
        screen = "\n".join(lines)
        assert "www.guardian.co.uk" in screen  # HOST is readable
        assert "TRKID" in screen and "MSISDN   IMEI" in screen


async def test_e_on_a_narrow_terminal_opens_the_panel_over_the_list_and_escape_closes_it() -> None:
    app = make_app(source_name="demo")
    async with app.run_test(size=(80, 24)) as pilot:
        await _load(pilot, app)
        main = app.main
        await pilot.press("e")
        assert main.exposure.display and main.exposure.styles.layer == "overlay"
        assert main.exposure.region.width == 52
        assert main.requests.size.width == 80  # the list keeps its columns beneath
        await pilot.press("escape")
        assert not main.exposure.display
        await pilot.press("e", "e")
        assert not main.exposure.display


async def test_resizing_from_wide_to_narrow_hides_the_panel_and_back_shows_it() -> None:
    app = make_app(source_name="demo")
    async with app.run_test(size=(200, 50)) as pilot:
        await _load(pilot, app)
        main = app.main
        assert not main.narrow and main.exposure.display
        assert main.exposure.region.width == 52
        assert main.requests.size.width == 200 - 52
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert main.narrow and not main.exposure.display
        assert main.requests.size.width == 80
        await pilot.resize_terminal(130, 40)
        await pilot.pause()
        assert main.exposure.display and main.exposure.region.width == 40
        await pilot.press("e")  # hidden by choice in the wide layout: stays so
        await pilot.resize_terminal(80, 24)
        await pilot.resize_terminal(200, 50)
        await pilot.pause()
        assert not main.exposure.display


async def test_the_footer_keeps_save_export_and_quit_at_80_columns() -> None:
    app = make_app(source_name="demo")
    async with app.run_test(size=(80, 24)) as pilot:
        await _load(pilot, app)
        await pilot.pause()
        keys = [k for k in app.screen.query(FooterKey) if k.display]
        described = [k.description for k in keys]
        for essential in ("Help", "Filter", "Follow", "Pause", "Save", "Export", "Quit"):
            assert essential in described
        assert all(k.region.right <= 80 for k in keys), [(k.description, k.region) for k in keys]
        await pilot.resize_terminal(200, 50)
        await pilot.pause()
        await pilot.pause()
        described = [k.description for k in app.screen.query(FooterKey)]
        assert "Filter on/off" in described


@pytest.mark.parametrize("width", [40, 60])
async def test_on_narrower_terminals_the_footer_gives_up_other_keys_before_save_export_quit(
    width: int,
) -> None:
    """At 60 columns the footer read "… m Mark e Exposure w Sav", at 40 "… m M": the
    keys it cut were the ones README says it keeps."""
    app = make_app(source_name="demo")
    async with app.run_test(size=(width, 20)) as pilot:
        await _load(pilot, app)
        await pilot.pause()
        keys = [k for k in app.screen.query(FooterKey) if k.display]
        described = [k.description for k in keys]
        assert described[-3:] == ["Save", "Export", "Quit"] and "Help" in described
        assert all(k.region.right <= width for k in keys), [(k.description, k.region) for k in keys]


def test_a_short_status_line_keeps_identities_drops_and_follow_or_pause() -> None:
    counters = StatsSnapshot((("requests", 28), ("identities", 26), ("kernel_drops", 3)))
    status = Status(source="demo (O2 UK, Jan 2012)", state="done", stats=counters, shown=28)
    full = status_text(status).plain
    short = status_text(status, narrow=True).plain
    assert len(short) < 60 < len(full)
    assert "26 ids" in short and "3 dropped" in short and "follow" in short
    paused = status_text(Status(state="live", paused=True, new_while_paused=4), narrow=True)
    assert "paused · 4 new" in paused.plain  # as the README and the wide line say
    live = status_text(Status(source="live lo", state="live"), narrow=True).plain
    assert live.startswith("live lo │")
    long_filter = Status(
        state="done", filter="~id msisdn & ~d bbc.co.uk & !~m POST", stats=counters
    )
    assert "│ ~id msisdn & ~d… │ 28 req" in status_text(long_filter, narrow=True).plain


def test_an_interface_that_is_down_stays_on_the_status_line_while_it_is() -> None:
    down = Status(source="live usb0", state="live", stats=StatsSnapshot((("iface_down", 1),)))
    assert status_text(down).plain.startswith("live usb0 · interface down (waiting) │ ")
    assert status_text(down, narrow=True).plain.startswith("live usb0 down │ ")
    up = Status(source="live usb0", state="live", stats=StatsSnapshot((("iface_down", 0),)))
    assert "down" not in status_text(up).plain
    assert "down" not in status_text(up, narrow=True).plain


async def test_the_status_line_shortens_rather_than_losing_its_end_at_80_columns() -> None:
    app = make_app(source_name="demo (O2 UK, Jan 2012)")
    async with app.run_test(size=(80, 24)) as pilot:
        await _load(pilot, app)
        await pilot.pause()
        line = app.main.status_line
        text = line.render().plain
        assert text.endswith("28 shown · follow"), text
        assert "21 ids" in text and "0 dropped" in text


async def test_the_detail_leads_with_the_findings_above_the_fold_at_24_rows() -> None:
    app = make_app(source_name="demo")
    async with app.run_test(size=(80, 24)) as pilot:
        await _load(pilot, app)
        await pilot.press("k", "enter")  # the ad request: MSISDN and IMEI
        await pilot.pause()
        detail = app.main.detail
        box = detail.content_region
        assert box.height <= 12  # a short pane
        shown = detail.query_one("#detail-text").render_lines(Region(0, 0, box.width, box.height))
        top = "\n".join(strip.text for strip in shown)
        assert "x-up-calling-line-id" in top and "imei 490154203237518" in top


async def test_the_detail_heading_puts_flow_and_request_on_the_next_line_not_across_two() -> None:
    """At 80 columns the terminal broke the heading as "flow" / "1 · request 2"."""
    app = make_app(source_name="demo")
    async with app.run_test(size=(80, 24)) as pilot:
        await _load(pilot, app)
        await pilot.press("g", "enter")
        await pilot.pause()
        detail = app.main.detail
        box = detail.content_region
        shown = detail.query_one("#detail-text").render_lines(Region(0, 0, box.width, 2))
        lines = [strip.text.rstrip() for strip in shown]
        assert lines[0].endswith("203.0.113.7:49153 → 198.51.100.10:80"), lines
        assert lines[1] == " flow 1 · request 1", lines
        await pilot.resize_terminal(200, 50)
        await pilot.pause()
        box = detail.content_region
        shown = detail.query_one("#detail-text").render_lines(Region(0, 0, box.width, 1))
        assert shown[0].text.rstrip().endswith("198.51.100.10:80  flow 1 · request 1")


def test_the_status_line_says_how_many_requests_gaps_hit_at_any_width() -> None:
    counters = stats(requests=28, gaps=3, client_gaps=1, server_gaps=2, gap_requests=2)
    status = Status(source="live eth0", state="live", stats=counters)
    assert "gaps: 1 client side (2 requests hit), 2 server side" in status_text(status).plain
    assert "1+2 gaps/2 req" in status_text(status, narrow=True).plain


async def test_a_notification_at_80_columns_leaves_the_status_line_and_footer_visible() -> None:
    app = make_app(source_name="demo (O2 UK, Jan 2012)")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await _load(pilot, app)
        app.notify("exported 28 requests as HAR to /tmp/somewhere/headerwatch-20120110.har")
        await pilot.pause()
        await pilot.pause()
        [toast] = app.screen.query(Toast)
        status_row = app.main.status_line.region.y
        assert status_row == 22 and toast.region.height >= 3
        assert toast.region.bottom <= status_row


def test_the_short_status_line_names_the_file_a_proxy_is_followed_from() -> None:
    proxy = Status(source="proxy /home/me/lab/flows-of-the-phone.jsonl", state="live")
    assert status_text(proxy, narrow=True).plain.startswith("proxy flows-of-the-ph… live │")
    socket = Status(source="proxy unix:/run/user/1000/hw.sock", state="live")
    assert status_text(socket, narrow=True).plain.startswith("proxy hw.sock live │")


def test_paused_both_lines_say_paused_and_how_many_new_and_never_following() -> None:
    paused = Status(source="live lo", state="live", paused=True, new_while_paused=10, shown=8)
    wide = status_text(paused).plain
    assert wide.startswith("live lo · paused · 10 new │") and wide.endswith("│ 8 shown")
    assert "follow" not in wide
    short = status_text(paused, narrow=True).plain
    assert short.startswith("live lo paused · 10 new │") and short.endswith("│ 8 shown")


def test_gaps_that_hit_no_request_leave_room_for_the_end_of_the_short_line() -> None:
    counters = stats(requests=14_000, identities=758, gaps=42, server_gaps=42)
    status = Status(state="done", stats=counters, shown=14_000, follow=False)
    short = status_text(status, narrow=True).plain
    assert short == "done │ 14,000 req · 758 ids · 0 dropped · 0+42 gaps │ 14,000 shown · no follow"
    assert len(short) <= 78  # inside the padding of an 80-column line


LOSSES = StatsSnapshot(
    (
        ("packets", 98_765_432),
        ("requests", 12_345_678),
        ("identities", 1_234_567),
        ("kernel_drops", 2_345_678),
        ("queue_drops", 1),
        ("gaps", 345_678),
        ("client_gaps", 345_000),
        ("server_gaps", 678),
        ("gap_requests", 45_678),
        ("iface_down", 1),
        ("unrecorded", 987_654),
    )
)
"""A long live capture that went badly: every loss, and counts in the millions."""


async def test_at_80_columns_long_counts_and_every_state_word_stay_on_the_status_line() -> None:
    app = make_app(source_name="live enx001122334455")
    app.state = "live"
    async with app.run_test(size=(80, 24)) as pilot:
        await _load(pilot, app)
        app.post_message(StatsUpdated(LOSSES))
        await pilot.pause()

        def on_screen() -> str:
            line = app.main.status_line
            text: str = line.render_line(0).text.rstrip()
            assert text == line.render().plain  # all of it: none cropped at the edge
            return text

        kept = ("down", "1.2M ids", "2.3M dropped", "spool full")
        following = on_screen()
        assert following.startswith("live down │ ")  # the title bar names the interface
        assert following.endswith(" │ follow") and all(word in following for word in kept)
        await pilot.press("F")
        assert on_screen().endswith(" │ no follow")
        await pilot.press("F", "space")
        paused = on_screen()
        assert " paused " in paused and "follow" not in paused
        assert all(word in paused for word in kept)
        await pilot.press("f")
        await pilot.press(*"~id msisdn")
        await pilot.press("enter", "M")
        for _ in range(5):  # time → host, path, method, status, identities
            await pilot.press("o")
        app.halted = Halt(1326205400.0, "capture on enx001122334455 failed")
        app.main.update_status()
        await pilot.pause()
        assert on_screen() == (
            "live stopped down paused │ 1.2M ids · 2.3M dropped · spool full │ identities ▼"
        )
        # Wide, the whole line: every count exact, every word whole.
        await pilot.resize_terminal(400, 40)
        await pilot.pause()
        whole = on_screen()
        assert (
            whole.startswith("live enx001122334455 · capture stopped ")
            and " · interface down (waiting) · paused · 0 new │ filter ~id msisdn" in whole
        )
        assert (
            "│ 98,765,432 packets · 12,345,678 requests · 1,234,567 identities · "
            "2,345,679 dropped · gaps: 345,000 client side (45,678 requests hit), "
            "678 server side · spool full: 987,654 frames not recorded │ 0 shown · "
            "sorted by identities ▼"
        ) in whole
        # Between the two, the short line with its counts exact.
        await pilot.resize_terminal(200, 40)
        await pilot.pause()
        assert "│ 12,345,678 req · 1,234,567 ids · 2,345,679 dropped · " in on_screen()


def test_the_short_line_gives_up_the_parts_of_its_table_in_order_until_it_fits() -> None:
    status = Status(
        source="live wlan0",
        state="live",
        stats=LOSSES,
        shown=12_000_000,
        cleared=300_000,
        deleted=45_678,
        evicted=2_000,
    )
    assert fitted(status, 200).plain == (
        "live wlan0 down │ 12,345,678 req · 1,234,567 ids · 2,345,679 dropped · 2,000 evicted"
        " · 345,000+678 gaps/45,678 req · spool full │ 12,000,000 shown (300,000 cleared)"
        " (45,678 deleted) · follow"
    )
    assert fitted(status, 160).plain == (
        "live wlan0 down │ 12,345,678 req · 1,234,567 ids · 2,345,679 dropped · 2,000 evicted"
        " · 345,000+678 gaps/45,678 req · spool full │ 12,000,000 shown · follow"
    )
    # Client-side + server-side gaps are wider than a total: the interface goes first.
    assert fitted(status, 90).plain == (
        "live down │ 1.2M ids · 2.3M dropped · 2.0k evicted · 345k+678 gaps · spool full │ follow"
    )
    assert fitted(status, 78).plain == (
        "live down │ 1.2M ids · 2.3M dropped · 2.0k evicted · spool full │ follow"
    )
    # Narrower than anything can be: the last entries go too, and what never goes stays.
    assert fitted(status, 40).plain.startswith("live down │ 1.2M ids · 2.3M dropped · spool")


def test_short_counts_round_down_and_take_at_most_four_cells() -> None:
    shown = {
        n: short_count(n)
        for n in (0, 999, 1000, 1999, 9999, 10_000, 123_456, 999_999, 1_000_000, 987_654_321)
    }
    assert shown == {
        0: "0",
        999: "999",
        1000: "1.0k",
        1999: "1.9k",
        9999: "9.9k",
        10_000: "10k",
        123_456: "123k",
        999_999: "999k",
        1_000_000: "1.0M",
        987_654_321: "987M",
    }
    assert short_count(12_345_678_901) == "12G"


async def test_at_80_columns_a_filter_switched_off_says_off_as_the_wide_line_does() -> None:
    """Struck-through text is plain in many terminals (and in tmux): the short line read
    "done │ ~id & ~d bbc │ … │ 28 shown", as if the filter were still on."""
    app = make_app(source_name="demo (O2 UK, Jan 2012)")
    async with app.run_test(size=(80, 24)) as pilot:
        await _load(pilot, app)
        app.main.apply_filter("~id & ~d bbc")
        await pilot.pause()
        await pilot.press("exclamation_mark")
        await pilot.pause()
        text = app.main.status_line.render().plain
        assert "│ ~id & ~d bbc (off) │" in text, text
        assert "filter ~id & ~d bbc (off)" in status_text(app.main.status_line.status).plain


def test_a_saved_view_says_the_filter_that_showed_it_and_when_it_is_off() -> None:
    on = Status(state="done", saved_view=2, saved_view_filter="~d fb.com", shown=2)
    off = Status(
        state="done",
        saved_view=2,
        saved_view_filter="~d fb.com",
        saved_view_on=False,
        shown=4,
    )
    assert "│ saved view (2) of ~d fb.com │" in status_text(on).plain
    assert "│ saved view (2) of ~d fb.com (off) │" in status_text(off).plain
    assert "│ saved ~d fb.com │" in fitted(on, 78).plain
    assert "│ saved ~d fb.com (off) │" in fitted(off, 78).plain


async def test_once_every_notice_has_expired_the_rack_is_hidden_and_the_screen_drawn_again() -> (
    None
):
    """Six HARs opened together: their notices stayed drawn over the list for minutes
    after they expired (a toast removes itself without the rack being shown again),
    until a key was pressed, and left a fragment on the title row."""
    from textual.widgets._toast import ToastRack

    app = make_app(source_name="demo")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        for i in range(6):
            app.notify(f"notice {i}: " + "a long warning about a HAR file " * 4, timeout=1.5)
        await pilot.pause()
        rack = app.screen.query_one(ToastRack)
        assert rack.display or not app._notifications  # (a slow machine: expired already)
        await pilot.pause(2.5)
        await pilot.pause()
        assert not app._notifications and not rack.display


def test_a_filtered_view_at_60_columns_says_how_many_it_shows_before_how_many_were_read() -> None:
    """`/~id imei` at 60x20 read "done │ ~id imei │ 28 req · 21 ids · 0 dropped │ follow":
    the count shown went first, exactly when a filter makes it differ from the total."""
    status = Status(
        source="demo-o2-2012.pcap",
        state="done",
        filter="~id imei",
        shown=1,
        stats=stats(requests=28, identities=21),
    )
    line = fitted(status, 58).plain
    assert "1 shown" in line and "~id imei" in line, line
