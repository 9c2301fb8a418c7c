"""Sessions of records (a proxy's requests): saved from the dashboard's store and
reopened as they were, marks and comments included."""

from __future__ import annotations

import gzip
import os
import stat
from pathlib import Path
from typing import Any

import orjson
import pytest

from capture.formats.jsonl import record_to_dict
from capture.formats.record_session import (
    RecordRecording,
    info_of_line,
    is_record_session,
    save_record_session,
)
from capture.formats.session import SessionError, SessionInfo, load_annotations
from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.pipeline import Pipeline
from capture.scan import scan
from capture.sources.source import FileSource
from capture.view.store import Store
from tests.helpers import BODY_IMEI, BODY_NUMBER, identity_bodies_capture


def _record(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "ts": 1700000000.25 + n,
        "src": "10.0.0.2",
        "sport": 40000,
        "dst": "192.0.2.1",
        "dport": 443,
        "method": "GET",
        "uri": f"/{n}",
        "version": "HTTP/1.1",
        "headers": [["Host", "a.example"], ["X-MSISDN", "447700900123"], ["x-msisdn", "2"]],
        "flow": 1,
        "depth": n,
        "source": "mitmproxy",
        "tls": {"sni": "a.example", "alpn": "http/1.1"},
        "response": {
            "ts": 1700000000.5 + n,
            "version": "HTTP/1.1",
            "status": 200,
            "reason": "OK",
            "headers": [["Content-Length", "0"]],
        },
        **extra,
    }


def _load(path: Path, config: IdentityConfig | None = None) -> Store:
    """What ``open PATH`` puts in its store: the pipeline's records, then the session's
    marks and comments (the dashboard's order)."""
    store = Store()
    pipeline = Pipeline(IdentityDetector(config))
    for item in FileSource([str(path)]).frames():
        if item is not None and not isinstance(item, tuple):
            store.apply(pipeline.feed_request(item))
    store.apply(pipeline.flush())
    load_annotations([str(path)]).apply(store)
    return store


def _state(store: Store) -> list[tuple[dict[str, Any], bool, str]]:
    return [(record_to_dict(e.record), e.marked, e.comment) for e in store]


@pytest.fixture
def proxied(tmp_path: Path) -> Store:
    """A store as live --from fills it, from records the add-on wrote (HTTP/2 too)."""
    lines = [_record(1), _record(2), _record(3, version="HTTP/2.0", authority="b.example:8443")]
    lines[2]["headers"] = [["user-agent", "app"], ["x-msisdn", "447700900123"]]
    source = tmp_path / "proxy.jsonl"
    source.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    store = _load(source)
    store.mark(1)
    store.set_comment(3, "the app's own request; phone number over h2")
    return store


def test_a_saved_session_of_records_reopens_identically(tmp_path: Path, proxied: Store) -> None:
    path = tmp_path / "session.jsonl"
    info = SessionInfo.new(source="proxy /tmp/x", region="GB")
    assert save_record_session(str(path), list(proxied), info=info).requests == 3
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert is_record_session(str(path))
    first = path.read_bytes().splitlines()[0]
    reread = info_of_line(first)
    assert reread is not None and (reread.source, reread.region) == ("proxy /tmp/x", "GB")

    reopened = _load(path)
    assert _state(reopened) == _state(proxied)
    assert [e.marked for e in reopened] == [True, False, False]
    assert reopened.get(3) is not None and reopened.get(3).record.request.host == "b.example:8443"  # type: ignore[union-attr]
    # Saved again from the reopened store: the very same bytes.
    again = tmp_path / "again.jsonl"
    save_record_session(str(again), list(reopened), info=info)
    assert again.read_bytes() == path.read_bytes()


def test_a_mark_goes_back_to_its_own_request_among_records_that_share_their_anchor(
    tmp_path: Path,
) -> None:
    """A HAR's records have no client address or port: two requests at the same time to
    the same server at the same depth shared the anchor, and a mark on one came back
    on both (one of 60 marks reopened as 61)."""
    lines = [
        _record(1, ts=1700000000.25, src="", sport=0, depth=4, uri=f"/page/{n}") for n in range(3)
    ]
    source = tmp_path / "har-like.jsonl"
    source.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    store = _load(source)
    store.mark(2)
    store.set_comment(3, "the third")
    path = tmp_path / "session.jsonl"
    save_record_session(str(path), list(store), info=SessionInfo.new(source="har"))
    reopened = _load(path)
    assert [(e.marked, e.comment) for e in reopened] == [
        (False, ""),
        (True, ""),
        (False, "the third"),
    ]


def test_a_session_of_records_with_body_identities_reopens_with_each_once_however_often_saved(
    tmp_path: Path,
) -> None:
    config = IdentityConfig(region="GB", msisdns=(BODY_NUMBER,), imeis=(BODY_IMEI,))
    records = tmp_path / "scan.jsonl"
    with records.open("w", encoding="utf-8") as out:
        capture = identity_bodies_capture(tmp_path)
        assert scan([capture], detector=IdentityDetector(config), out=out, jobs=1) == 0
    store = _load(records, config)
    store.mark(1)
    first = _state(store)
    # The records keep no body: their body findings come from the file, each once and
    # in the capture's order.
    scanned = [orjson.loads(line) for line in records.read_bytes().splitlines()]
    assert [r["findings"] for r, _, _ in first] == [r["findings"] for r in scanned]
    assert [f["name"] for f in scanned[0]["findings"] if f["detector"] != "canary"] == [
        "X-MSISDN",
        "user.tel",
        "user.imei",
    ]
    for n in range(1, 4):
        path = tmp_path / f"session{n}.jsonl"
        save_record_session(str(path), list(store), info=SessionInfo.new(source="scan.jsonl"))
        store = _load(path, config)
        assert _state(store) == first, f"round {n}"


def test_a_session_of_the_shown_requests_keeps_only_those(tmp_path: Path, proxied: Store) -> None:
    path = tmp_path / "shown.jsonl"
    assert save_record_session(str(path), list(proxied), only=[3]).requests == 1
    [entry] = list(_load(path))
    assert entry.record.request.uri == "/3"
    assert entry.comment == "the app's own request; phone number over h2"


def test_a_recording_of_records_as_read_is_a_session_and_a_failed_save_leaves_the_old_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "rec.jsonl"
    rec = RecordRecording(str(path), SessionInfo.new(source="proxy x"))
    rec.write(orjson.dumps(_record(1)) + b"\n")
    # Everything written is in the file before close: a stop at any time keeps it.
    assert len(path.read_bytes().splitlines()) == 2
    rec.close()
    assert [e.record.request.uri for e in _load(path)] == ["/1"]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600

    with pytest.raises(SessionError, match="session not saved"):
        save_record_session(str(tmp_path / "missing" / "x.jsonl"), [])


def test_a_dashboard_over_any_record_file_saves_sessions_of_records(tmp_path: Path) -> None:
    from tui.common import demo_capture_path

    records = tmp_path / "proxy.jsonl"
    records.write_bytes(orjson.dumps(_record(1)) + b"\n")
    assert FileSource([str(records)]).has_records
    # Mixed with a capture: a session of packets could not hold the records' requests.
    assert FileSource([str(records), demo_capture_path()]).has_records
    assert not FileSource([demo_capture_path()]).has_records


def test_a_har_headerwatch_exported_reopens_with_its_marks_comments_and_region(
    tmp_path: Path, proxied: Store
) -> None:
    """A HAR export keeps each entry's ``_marked`` and ``_comment`` and the region its
    findings were read in (``creator._region``): opened again, they were dropped."""
    from capture.formats.export import export
    from capture.formats.recorded import recorded_info

    path = tmp_path / "exp.har"
    detector = IdentityDetector(IdentityConfig(region="GB"))
    assert export(list(proxied), str(path), "har", detector=detector) == 3
    reopened = _load(path)
    assert [(e.marked, e.comment) for e in reopened] == [(e.marked, e.comment) for e in proxied]
    info = recorded_info(str(path))
    assert info is not None and info.region == "GB"
    # A HAR of another tool has neither: nothing to restore, and no region.
    other = tmp_path / "browser.har"
    doc = orjson.loads(path.read_bytes())
    doc["log"]["creator"] = {"name": "Firefox", "version": "120"}
    other.write_bytes(orjson.dumps(doc))
    info = recorded_info(str(other))
    assert info is None or not info.region
    assert len(load_annotations([str(other)])) == 0


def test_a_gzip_har_export_cut_short_reopens_with_the_marks_of_what_is_read(
    tmp_path: Path, proxied: Store
) -> None:
    """The marks were read by code of their own, which took a gzip stream cut short
    as unreadable: the reader read its entries, and every mark was lost."""
    from capture.formats.export import export
    from capture.sources.inputs import open_input

    whole = tmp_path / "exp.har"
    assert export(list(proxied), str(whole), "har") == 3
    packed = gzip.compress(whole.read_bytes())
    cut = tmp_path / "cut.har.gz"
    cut.write_bytes(packed[:-8])  # its check (CRC, length) lost: the document whole
    reopened = _load(cut)
    assert [(e.marked, e.comment) for e in reopened] == [(e.marked, e.comment) for e in proxied]
    assert any(e.marked for e in reopened)
    source = open_input(str(cut))
    list(source.requests())
    assert source.truncated  # said cut short, as the warning says it
    assert source.after_reading() == [
        f"{cut}: cut short (Compressed file ended before the end-of-stream marker was "
        "reached); every entry before the cut is reported"
    ]
