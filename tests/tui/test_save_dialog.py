"""The save and export dialogs: what a file name's suffix decides, what the dialog
refuses before anything is written, and what a session of mixed inputs is."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from textual import events
from textual.keys import _character_to_key
from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import Button, Input, Label, RadioButton, RadioSet

from capture.formats.session import canary_digest, read_session_info
from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.sources.source import FileSource
from capture.version import catalog_version
from tests.tui.fakes import FakeSource, demo_records, make_app, o2_frames, seen
from tests.tui.test_app import feed, wait_for, wait_restored
from tui.app import HeaderwatchApp
from tui.common import build_detector, demo_capture_path
from tui.launch import dashboard_app
from tui.messages import LoadProgress, SourceFinished
from tui.screens import SaveScreen, SuffixError, format_for

DATA = Path(__file__).parents[1] / "data"
HAR = DATA / "har" / "chrome51.har"
IPV6 = DATA / "pcaps" / "suricata-verify" / "http-ipv6" / "input.pcap"


def _demo_app(redact: bool = False, detector: IdentityDetector | None = None) -> HeaderwatchApp:
    demo = demo_capture_path()
    return HeaderwatchApp(
        FileSource([demo]),
        detector if detector is not None else IdentityDetector(),
        keymap={},
        session_paths=[demo],
        batch_interval=0.02,
        redact=redact,
        confirm_quit=False,
    )


async def _export_dialog(pilot: Pilot[int], app: HeaderwatchApp) -> SaveScreen:
    """The demo's six requests in, then x."""
    await feed(pilot, app, *seen(demo_records()))
    await pilot.press("x")
    screen = app.screen
    assert isinstance(screen, SaveScreen)
    return screen


def _said(screen: SaveScreen) -> str:
    return str(screen.query_one("#save-error", Label).content)


async def _submit(pilot: Pilot[int], path: Path | str) -> None:
    """Type ``path`` in the open dialog, Enter, and wait for the write."""
    app = pilot.app
    screen = app.screen
    assert isinstance(screen, SaveScreen)
    field = screen.query_one("#save-path", Input)
    field.value = str(path)
    field.focus()
    await pilot.press("enter")
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


def test_a_suffix_picks_the_offered_format_it_names_and_refuses_other_kinds() -> None:
    offered = ("har", "jsonl", "table")
    assert format_for("exp.jsonl", "har", offered) == "jsonl"
    assert format_for("EXP.HAR", "jsonl", offered) == "har"
    assert format_for("notes", "har", offered) == "har"  # no suffix: as chosen
    assert format_for("notes.txt", "jsonl", offered) == "jsonl"  # unknown: as chosen
    assert format_for("s.jsonl", "records", ("records",)) == "records"
    assert format_for("r.htm", "md", ("html", "md")) == "html"
    with pytest.raises(SuffixError) as refused:
        format_for("/tmp/keep.md", "pcapng", ("pcapng",))
    assert str(refused.value) == (
        "keep.md: .md is for a Markdown report, which this dialog does not write; "
        "end the name with .pcapng"
    )
    with pytest.raises(SuffixError, match=r"end the name with \.har, \.jsonl or \.table$"):
        format_for("exp.pcapng", "har", offered)
    with pytest.raises(SuffixError, match=r"\.gz is for a gzip file"):
        format_for("exp.har.gz", "har", offered)


async def test_x_to_a_name_ending_jsonl_writes_jsonl_though_har_was_pressed(
    tmp_path: Path,
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        screen = await _export_dialog(pilot, app)
        assert screen.query_one("#format-har", RadioButton).value  # HAR first
        path = tmp_path / "exp.jsonl"
        await _submit(pilot, path)
        lines = path.read_text().splitlines()
        assert [json.loads(line)["id"] for line in lines] == [1, 2, 3, 4, 5, 6]
        said = [n.message for n in app._notifications]
        assert f"exported 6 requests as JSONL to {path}" in said
        # A name whose suffix names no format keeps the one chosen, and says which.
        await pilot.press("x")
        plain = tmp_path / "notes"
        await _submit(pilot, plain)
        assert len(json.loads(plain.read_text())["log"]["entries"]) == 6
        assert f"exported 6 requests as HAR to {plain}" in [n.message for n in app._notifications]


async def test_x_of_a_filtered_view_exports_the_shown_requests_unless_all_is_picked(
    tmp_path: Path,
) -> None:
    """x, Down, Enter in a filtered view exported all 6 requests: "all" was picked at
    first and the keys a user tried did not reach the choice. As Wireshark's export of
    specified packets, the shown ones are picked at first."""
    app = make_app()
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await feed(pilot, app, *seen(demo_records()))
        screen = await _dialog_over(pilot, "~id", "x")
        assert screen.query_one("#scope-shown", RadioButton).value
        assert "shift+tab: the choices above" in str(screen.query_one("#save-keys", Label).content)
        shown = tmp_path / "shown.jsonl"
        await _submit(pilot, shown)
        assert [json.loads(line)["id"] for line in shown.read_text().splitlines()] == [1, 3, 5, 6]
        screen = await _dialog_over(pilot, "", "x")
        assert screen.query_one("#scope-all", RadioButton).value  # nothing hidden


async def test_enter_on_a_choice_saves_and_enter_on_cancel_cancels(tmp_path: Path) -> None:
    """shift+tab to the choices, space to pick, Enter: the radio set's own Enter picked
    the highlighted choice, and the dialog stayed open with nothing written, though it
    says "enter: save"."""
    app = make_app()
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await feed(pilot, app, *seen(demo_records()))
        screen = await _dialog_over(pilot, "~id", "x")
        path = tmp_path / "picked.jsonl"
        screen.query_one("#save-path", Input).value = str(path)
        screen.query_one("#save-scope", RadioSet).focus()
        await pilot.press("enter")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert [json.loads(line)["id"] for line in path.read_text().splitlines()] == [1, 3, 5, 6]
        screen = await _dialog_over(pilot, "", "x")
        screen.query_one("#save-cancel", Button).focus()
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, SaveScreen)


async def test_w_of_a_filtered_view_saves_every_request_unless_shown_is_picked() -> None:
    # A session is the evidence kept: all of it, unless the user asks for less.
    app = _demo_app()
    messages: list[Message] = []
    async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        await wait_for(pilot, messages, SourceFinished)
        screen = await _dialog_over(pilot, "~id imei", "w")
        assert screen.query_one("#scope-all", RadioButton).value


async def _dialog_over(pilot: Pilot[int], expr: str, key: str) -> SaveScreen:
    """The dialog ``key`` opens over the view that filter ``expr`` shows."""
    app = pilot.app
    assert isinstance(app, HeaderwatchApp)
    app.main.apply_filter(expr)
    await pilot.pause()
    await pilot.press(key)
    screen = app.screen
    assert isinstance(screen, SaveScreen)
    return screen


async def test_w_to_a_name_of_another_kind_is_refused_and_the_dialog_keeps_it(
    tmp_path: Path,
) -> None:
    messages: list[Message] = []
    app = _demo_app()
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await wait_for(pilot, messages, SourceFinished)
        await pilot.press("w")
        path = tmp_path / "keep.md"
        await _submit(pilot, path)
        screen = app.screen
        assert isinstance(screen, SaveScreen), "the dialog closed"
        assert _said(screen).startswith("keep.md: .md is for a Markdown report")
        assert screen.query_one("#save-path", Input).value == str(path)
        assert not path.exists() and app.saved == []


async def test_x_to_a_directory_says_so_and_offers_no_replacing(tmp_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        screen = await _export_dialog(pilot, app)
        for _ in range(2):  # a second Enter does not replace it either
            await _submit(pilot, f"{tmp_path}/")
            assert app.screen is screen, "the dialog closed"
            assert _said(screen) == f"{tmp_path}/ is a directory: add a file name"
        assert tmp_path.is_dir() and list(tmp_path.iterdir()) == [] and app.saved == []


async def test_x_while_a_file_loads_counts_so_far_and_writes_what_is_there_then(
    tmp_path: Path,
) -> None:
    gate = threading.Event()
    messages: list[Message] = []
    source = FakeSource(o2_frames(4), gate=gate, hold_after=9, file_like=True)
    app = HeaderwatchApp(source, None, utc=True, keymap={}, batch_interval=0.02)
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        for _ in range(100):
            await pilot.pause(0.02)
            if any(isinstance(m, LoadProgress) and m.done for m in messages):
                break
        await pilot.pause(0.1)
        so_far = len(app.store)
        assert 0 < so_far < 4, "the gate holds the last request back"
        await pilot.press("x")
        screen = app.screen
        assert isinstance(screen, SaveScreen)
        labels = [str(b.label) for b in screen.query(RadioButton) if b.id.startswith("scope")]
        assert labels == [f"all {so_far} requests so far", f"shown {so_far} requests so far"]
        gate.set()
        await wait_for(pilot, messages, SourceFinished)
        path = tmp_path / "out.jsonl"
        await _submit(pilot, path)
        assert len(path.read_text().splitlines()) == 4
        assert f"exported 4 requests as JSONL to {path}" in [n.message for n in app._notifications]
        await pilot.press("x")  # loaded: the counts are the file's
        labels = [str(b.label) for b in app.screen.query(RadioButton) if b.id.startswith("scope")]
        assert labels == ["all 4 requests", "shown 4 requests"]


async def _written(app: HeaderwatchApp, key: str, path: Path) -> None:
    """The demo read whole, then ``key`` (w or x) and ``path`` typed in its dialog."""
    messages: list[Message] = []
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await wait_for(pilot, messages, SourceFinished)
        await pilot.pause()
        await pilot.press(key)
        await _submit(pilot, path)
    assert path.exists(), f"{path} was not written"


async def test_w_cites_the_region_of_the_locale_and_each_canary_once_as_a_digest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No --region: the locale's read the numbers. The canaries, from the options and
    a canary file, one of them typed twice: a digest each, of its canonical value."""
    monkeypatch.setenv("LC_ALL", "en_GB.UTF-8")
    listed = tmp_path / "canaries.txt"
    listed.write_text("msisdn +44 7700 900123\nimei 35-209900-176148-1\n")
    args = argparse.Namespace(
        config=None,
        region=None,
        msisdn=["447700900123"],
        imei=[],
        imsi=[],
        canary=["my-canary-1234"],
        canary_file=[str(listed)],
    )
    out = tmp_path / "s.pcapng"
    await _written(_demo_app(detector=build_detector(args)), "w", out)
    info = read_session_info(str(out))
    assert info is not None and info.region == "GB"
    values = ("+447700900123", "352099001761481", "my-canary-1234")
    assert info.canary_sha256 == tuple(sorted(map(canary_digest, values)))
    head = out.read_bytes()[:1024]
    assert b'"canary_sha256"' in head and b"my-canary-1234" not in head


@pytest.mark.parametrize("redact", [False, True])
async def test_x_to_har_cites_the_catalog_and_region_and_the_canaries_unless_redacted(
    tmp_path: Path, redact: bool
) -> None:
    detector = IdentityDetector(IdentityConfig(region="GB", canaries=("my-canary-1234",)))
    out = tmp_path / "export.har"
    await _written(_demo_app(redact, detector), "x", out)
    text = out.read_text()
    creator = json.loads(text)["log"]["creator"]
    assert (creator["_catalog"], creator["_region"]) == (catalog_version(detector), "GB")
    digest = canary_digest("my-canary-1234")
    if redact:
        assert "_canary_sha256" not in creator and digest not in text
    else:
        assert creator["_canary_sha256"] == [digest]


async def test_w_under_redact_refuses_before_any_dialog_opens() -> None:
    messages: list[Message] = []
    app = _demo_app(redact=True)
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await wait_for(pilot, messages, SourceFinished)
        await pilot.press("w")
        await pilot.pause()
        assert not isinstance(app.screen, SaveScreen)
        [said] = [n.message for n in app._notifications]
        assert said.startswith("no session with --redact:")
        assert "x exports HAR or JSONL with them masked" in said
        await pilot.press("x")  # what it points to is offered
        assert isinstance(app.screen, SaveScreen)


async def test_w_with_nothing_to_build_a_session_from_says_so_without_a_dialog() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await feed(pilot, app, *seen(demo_records()))
        await pilot.press("w")
        await pilot.pause()
        assert not isinstance(app.screen, SaveScreen)
        assert [n.message for n in app._notifications] == [
            "no capture file to build a session from; x exports HAR or JSONL"
        ]


async def test_a_failed_export_keeps_the_dialog_open_with_the_name_and_says_why(
    tmp_path: Path,
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        screen = await _export_dialog(pilot, app)
        await pilot.click("#format-jsonl")
        missing = tmp_path / "missing" / "out.jsonl"
        await _submit(pilot, missing)
        assert app.screen is screen, "the dialog closed: the name must be typed again"
        assert _said(screen).endswith("; nothing exported")
        assert screen.query_one("#save-path", Input).value == str(missing)
        # Corrected, the same dialog saves (the format chosen is still chosen).
        (tmp_path / "missing").mkdir()
        await _submit(pilot, missing)
        assert app.screen is not screen
        assert len(missing.read_text().splitlines()) == 6


async def test_w_over_a_capture_with_record_files_saves_every_request_with_marks(
    tmp_path: Path,
) -> None:
    """``open demo.pcap.gz x.jsonl x.har``: a session of packets cannot hold the
    records' requests (w used to fail on x.jsonl with "not a pcap or pcapng file
    (starts with b'{"ts')"), so w saves a session of records, which reopens with the
    marks and comments."""
    demo = demo_capture_path()
    records = tmp_path / "x.jsonl"
    with records.open("wb") as out:
        subprocess.run(
            [sys.executable, "-m", "tui.cli", "scan", "--format", "jsonl", str(IPV6)],
            stdout=out,
            check=True,
            timeout=60,
        )
    inputs = [demo, str(records), str(HAR)]
    args = argparse.Namespace(utc=True, view_filter="", redact=False, config=None)
    messages: list[Message] = []
    app = dashboard_app(FileSource(inputs), IdentityDetector(), args, {}, session_paths=inputs)
    app.confirm_quit = False
    path = tmp_path / "mixed"
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await wait_for(pilot, messages, SourceFinished)
        await pilot.pause()
        total = len(app.store)
        assert total > 29  # the capture's 28, the record's one, the HAR's
        await pilot.press("g", "m")  # from the capture
        app.main.requests.jump_to_request(app.main.requests.rows[28])
        await pilot.press("m")  # the record's
        await pilot.press("G", "semicolon", *"from the HAR", "enter")
        await pilot.press("w")
        await _submit(pilot, path)
        assert app.saved == [str(path)]
        said = [n.message for n in app._notifications]
        assert (
            f"saved {total:,} requests (session of records) to {path}, "
            "with 2 marks and 1 comment" in said
        )
        assert app.unsaved() == ""

    messages.clear()
    again = dashboard_app(
        FileSource([str(path)]), IdentityDetector(), args, {}, session_paths=[str(path)]
    )
    async with again.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await wait_restored(pilot, messages)
        assert len(again.store) == total
        assert again.restored is not None
        assert (again.restored.marked, again.restored.commented) == (2, 1)
        entries = list(again.store)
        assert [i for i, e in enumerate(entries) if e.marked] == [0, 28]
        assert entries[-1].comment == "from the HAR"


async def test_w_where_no_file_can_be_made_says_why_and_the_requests_save_elsewhere(
    tmp_path: Path,
) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("a file, not a directory\n")
    refused = {
        # /proc is there but takes no new file: this said "no such directory".
        "/proc/headerwatch.pcapng": "cannot create files in /proc (no such file or directory)",
        str(a_file / "s.pcapng"): f"{a_file.resolve()} is not a directory",
    }
    app = _demo_app()
    messages: list[Message] = []
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await wait_for(pilot, messages, SourceFinished)
        await pilot.pause()
        total = len(app.store)
        await pilot.press("w")
        screen = app.screen
        for target, reason in refused.items():
            await _submit(pilot, target)
            assert app.screen is screen, "the dialog closed: the name must be typed again"
            assert _said(screen) == f"{target}: {reason}; session not saved"
        assert len(app.store) == total == 28 and app.saved == []
        out = tmp_path / "s.pcapng"
        await _submit(pilot, out)
        assert app.screen is not screen and app.saved == [str(out)]
    again = HeaderwatchApp(FileSource([str(out)]), IdentityDetector(), keymap={})
    messages.clear()
    async with again.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await wait_for(pilot, messages, SourceFinished)
        assert len(again.store) == total


async def test_the_dialog_s_choices_say_which_is_chosen_without_colour() -> None:
    # Textual drew every radio button as "●", chosen or not, and told them apart by
    # colour alone: a tester's tmux capture at 80x24 showed "all" and "shown" both filled.
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _export_dialog(pilot, app)

        def marks() -> dict[str, str]:
            return {b.id or "": b.render().plain[1] for b in screen.query(RadioButton)}

        assert marks() == {
            "scope-all": "●",
            "scope-shown": "○",
            "format-har": "●",
            "format-jsonl": "○",
            "format-table": "○",
        }
        screen.query_one("#scope-shown", RadioButton).value = True
        await pilot.pause()
        assert marks()["scope-shown"] == "●" and marks()["scope-all"] == "○"


async def test_the_format_buttons_follow_a_suffix_as_it_is_typed() -> None:
    # The button followed the name only once Enter was pressed: the dialog showed HAR
    # chosen for "exp.jsonl" while the user looked at it.
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _export_dialog(pilot, app)
        field = screen.query_one("#save-path", Input)
        field.value = "/tmp/exp.jsonl"
        await pilot.pause()
        assert screen.query_one("#format-jsonl", RadioButton).value
        field.value = "/tmp/exp.table"
        await pilot.pause()
        assert screen.query_one("#format-table", RadioButton).value
        assert field.value == "/tmp/exp.table"
        field.value = "/tmp/notes.txt"  # no format's suffix: the button stays
        await pilot.pause()
        assert screen.query_one("#format-table", RadioButton).value


async def test_a_name_and_enter_sent_in_one_burst_save_under_that_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # tmux send-keys C-u "/path/name.jsonl" Enter, a fast typist, a busy machine: the
    # keys come in one read. Enter, the dialog's before any widget's, saved under the
    # name as it stood before the characters queued ahead of it (the default name,
    # or one cut short: "exp3.j", written as HAR).
    monkeypatch.chdir(tmp_path)  # where the default name would be written
    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await _export_dialog(pilot, app)
        path = tmp_path / "burst.jsonl"
        keys = [events.Key("ctrl+u", None)]
        keys += [events.Key(_character_to_key(c), c) for c in str(path)]
        keys.append(events.Key("enter", "\r"))
        for key in keys:  # as the driver hands the app the keys of one read
            app.post_message(key)
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert [json.loads(line)["id"] for line in path.read_text().splitlines()] == [
            1, 2, 3, 4, 5, 6
        ]  # fmt: skip
        assert f"exported 6 requests as JSONL to {path}" in [n.message for n in app._notifications]
        assert not isinstance(app.screen, SaveScreen)
