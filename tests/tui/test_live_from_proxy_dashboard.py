"""The dashboard over a proxy's records (``live --from``): the status line says so,
and ``w`` saves a session of records that reopens as it was."""

from __future__ import annotations

from pathlib import Path

import orjson
from textual.pilot import Pilot
from textual.widgets import Input

from capture.formats.jsonl import record_to_dict
from capture.formats.session import load_annotations
from capture.identity.detector import IdentityDetector
from capture.model import Parsed
from capture.pipeline import Pipeline
from capture.sources.follow import Follower
from capture.sources.source import FileSource
from capture.view.store import Store
from tui.app import HeaderwatchApp
from tui.status import StatusLine, status_text


async def _wait(pilot: Pilot[int], done: object, what: str) -> None:
    for _ in range(500):
        await pilot.pause(0.02)
        if callable(done) and done():
            return
    raise AssertionError(f"timed out waiting for {what}")


def _line(n: int) -> bytes:
    return (
        orjson.dumps(
            {
                "ts": 1700000000.0 + n,
                "src": "10.0.0.2",
                "sport": 40000 + n,
                "dst": "192.0.2.1",
                "dport": 443,
                "method": "GET",
                "uri": f"/{n}",
                "version": "HTTP/2.0",
                "authority": "ads.example",
                "headers": [["x-msisdn", "447700900123"], ["user-agent", "app"]],
                "source": "mitmproxy",
            }
        )
        + b"\n"
    )


def _reopen(path: Path) -> Store:
    store = Store()
    pipeline = Pipeline(IdentityDetector())
    for item in FileSource([str(path)]).frames():
        if isinstance(item, Parsed):
            store.apply(pipeline.feed_request(item))
    store.apply(pipeline.flush())
    load_annotations([str(path)]).apply(store)
    return store


async def test_w_on_a_proxy_saves_a_session_of_records_that_reopens_identically(
    tmp_path: Path,
) -> None:
    source = tmp_path / "proxy.jsonl"
    source.write_bytes(_line(1) + _line(2))
    follower = Follower(str(source))
    app = HeaderwatchApp(
        follower,
        IdentityDetector(),
        utc=True,
        keymap={},
        batch_interval=0.02,
        source_name=follower.name,
        record_session=True,
        confirm_quit=False,
    )
    path = tmp_path / "session.jsonl"
    async with app.run_test(size=(140, 40)) as pilot:
        await _wait(pilot, lambda: len(app.store) == 2, "two requests")
        with open(source, "ab") as out:
            out.write(_line(3))
        await _wait(pilot, lambda: len(app.store) == 3, "the third request, as written")
        assert "proxy" in str(app.screen.query_one(StatusLine).render())
        assert app.unsaved() == "live capture"
        app.store.mark(2)
        app.store.set_comment(3, "sent over h2")
        await pilot.press("w")
        app.screen.query_one("#save-path", Input).value = str(path)
        await pilot.click("#save-ok")
        await _wait(pilot, lambda: str(path) in app.saved, "the save")
        assert app.unsaved() == ""
        saved = [(record_to_dict(e.record), e.marked, e.comment) for e in app.store]
        # Stopping (q, Ctrl-C) ends the source once what was read is in.
        follower.stop()
        await _wait(pilot, lambda: app.state == "done", "the source to end")
        assert len(app.store) == 3
    reopened = [(record_to_dict(e.record), e.marked, e.comment) for e in _reopen(path)]
    assert reopened == saved
    assert [m for _, m, _ in saved] == [False, True, False]
    assert saved[0][0]["host"] == "ads.example"
    assert {f["kind"] for f in saved[0][0]["findings"]} == {"msisdn"}


async def test_the_status_line_of_a_followed_log_counts_its_events_not_packets(
    tmp_path: Path,
) -> None:
    source = tmp_path / "eve.json"
    source.write_bytes(b"")
    follower = Follower(str(source))
    app = HeaderwatchApp(
        follower, IdentityDetector(), utc=True, keymap={}, batch_interval=0.02, confirm_quit=False
    )
    event = {
        "timestamp": "2026-12-03T10:00:00.000000+0000",
        "flow_id": 1,
        "event_type": "http",
        "src_ip": "10.0.0.2",
        "src_port": 40000,
        "dest_ip": "192.0.2.80",
        "dest_port": 80,
        "http": {"url": "/1", "http_method": "GET", "hostname": "a.example"},
    }
    async with app.run_test(size=(140, 24)) as pilot:

        def line() -> str:
            return status_text(app.screen.query_one(StatusLine).status).plain

        # Nothing come yet: records, whatever they turn out to be; never packets.
        await _wait(pilot, lambda: "│ 0 records · 0 requests · " in line(), "nothing yet")
        with open(source, "ab") as out:
            out.write(orjson.dumps({**event, "event_type": "dns"}) + b"\n" + orjson.dumps(event))
            out.write(b"\n")
        await _wait(pilot, lambda: len(app.store) == 1, "the http event")
        await _wait(pilot, lambda: "│ 1 HTTP event · 1 request · " in line(), "its count")
        assert "packet" not in line()
        follower.stop()
        await _wait(pilot, lambda: app.state == "done", "the source to end")
