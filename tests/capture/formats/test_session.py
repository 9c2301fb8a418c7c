"""Session files: save, reopen through the pipeline, same records, marks and notes back."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from capture.formats.jsonl import record_to_dict
from capture.formats.session import (
    SessionError,
    SessionInfo,
    Tag,
    canary_digest,
    entry_comments,
    finding_comment,
    load_annotations,
    parse_tag,
    read_session_info,
    restore,
    save_session,
)
from capture.http.echo import ECHO_HEADER, encode_echo
from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.pipeline import Pipeline
from capture.sources.frames import CaptureFile
from capture.view.store import Store
from tests.capture.factories import FakeDetector, finding
from tests.capture.net.test_fragments import fragmented_capture
from tests.helpers import BODY_IMEI, BODY_NUMBER, conversation, identity_bodies_capture, save

TSHARK = shutil.which("tshark")
needs_tshark = pytest.mark.skipif(
    TSHARK is None,
    reason="tshark is not installed (apt-get install tshark); our own reader checks the file",
)
DEMO = Path(__file__).resolve().parents[3] / "capture" / "data" / "demo-o2-2012.pcap"
T0 = 1326205331.0
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def _req(path: str, host: str, *extra: str) -> bytes:
    lines = "".join(f"{h}\r\n" for h in extra)
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{lines}\r\n".encode()


def _capture(tmp_path: Path) -> str:
    """Four connections, interleaved in time, one of them pipelined, one over IPv6."""
    a = conversation(client="10.64.0.7", cport=40001, server="198.51.100.1", ts=T0)
    b = conversation(client="10.64.0.7", cport=40002, server="203.0.113.5", ts=T0 + 0.0002)
    c = conversation(client="10.64.0.8", cport=40003, server="198.51.100.1", ts=T0 + 0.0004)
    d = conversation(client="2001:db8::7", cport=40004, server="2001:db8::1", ts=T0 + 0.0006)
    frames = a.handshake() + b.handshake() + c.handshake() + d.handshake()
    # /news reaches a reflector through a carrier proxy that adds the number: the
    # reflector's echo in the response is how the session knows (sent versus received).
    frames += a.send(True, _req("/news", "bbc.co.uk"))
    frames += b.send(
        True, _req("/ad", "ads.example", "X-UIDH: OTgxNTk2NDk5", "x-canary: s3cret-42")
    )
    received = (("Host", "bbc.co.uk"), ("x-up-calling-line-id", "447700900123"))
    echo = f"{ECHO_HEADER}: {encode_echo(received)}\r\n".encode()
    frames += a.send(False, RESPONSE.replace(b"\r\n\r\n", b"\r\n" + echo + b"\r\n", 1))
    frames += b.send(False, RESPONSE)
    frames += a.send(True, _req("/sport", "bbc.co.uk"))
    # Two requests in one segment: both start in the same frame.
    frames += c.send(True, _req("/1", "m.example") + _req("/2", "m.example"))
    frames += c.send(False, RESPONSE + RESPONSE)
    frames += a.send(False, RESPONSE)
    frames += d.send(True, _req("/v6", "v6.example", "x-up-calling-line-id: 447700900124"))
    frames += d.send(False, RESPONSE)
    for conv in (a, b, c, d):
        frames += conv.close()
    frames.sort(key=lambda f: f[0])
    return save(tmp_path, frames, "source.pcap")


def _load(paths: list[str]) -> Store:
    store = Store()
    pipeline = Pipeline(detector=FakeDetector())
    for path in paths:
        for frame in CaptureFile(path):
            store.apply(pipeline.feed(frame))
    store.apply(pipeline.flush())
    return store


def _dicts(store: Store, drop: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    out = []
    for entry in store:
        d = record_to_dict(entry.record)
        for key in drop:
            d.pop(key, None)
        out.append(d)
    return out


def _user_state(store: Store) -> list[tuple[str | None, bool, str, tuple[str, ...]]]:
    return [
        (e.record.request.uri, e.marked, e.comment, e.injected)
        for e in store
        if e.marked or e.comment or e.injected
    ]


def _annotate(store: Store) -> None:
    by_uri = {e.record.request.uri: e for e in store}
    by_uri["/news"].marked = True
    by_uri["/ad"].comment = "seen on the café wifi\nsecond line"
    by_uri["/2"].marked = True  # the second request of a shared first frame
    by_uri["/1"].comment = "first of two"
    by_uri["/v6"].comment = " starts with a space"


def by_uri_injected(store: Store) -> dict[str | None, tuple[str, ...]]:
    return {e.record.request.uri: e.injected for e in store if e.injected}


def test_round_trip_keeps_records_marks_and_comments(tmp_path: Path) -> None:
    source = _capture(tmp_path)
    store = _load([source])
    uris = [e.record.request.uri for e in store]
    assert sorted(str(u) for u in uris) == ["/1", "/2", "/ad", "/news", "/sport", "/v6"]
    _annotate(store)
    out = str(tmp_path / "session.pcapng")
    info = SessionInfo.new(source="wlan0", filter="~id", region="GB", canaries=["s3cret-42"])
    result = save_session(out, [source], store, info=info)
    assert result.frames == len(list(CaptureFile(source)))
    assert result.annotated == 5 and result.unplaced == 0  # all but /sport

    assert by_uri_injected(store) == {"/news": ("x-up-calling-line-id",)}
    reopened = _load([out])
    assert _dicts(reopened) == _dicts(store)  # same records, findings recomputed
    assert by_uri_injected(reopened) == by_uri_injected(store)  # from the saved echo
    restored = restore(reopened, [out])
    assert _user_state(reopened) == _user_state(store)
    assert (restored.marked, restored.commented, restored.injected) == (2, 3, 1)
    assert restored.unmatched == 0
    assert restored.info is not None and restored.info.source == "wlan0"
    assert restored.info.region == "GB" and restored.info.filter == "~id"


def test_a_session_saved_again_and_again_lists_each_body_identity_once(tmp_path: Path) -> None:
    config = IdentityConfig(region="GB", msisdns=(BODY_NUMBER,), imeis=(BODY_IMEI,))

    def load(path: str) -> Store:
        store = Store()
        pipeline = Pipeline(detector=IdentityDetector(config))
        for frame in CaptureFile(path):
            store.apply(pipeline.feed(frame))
        store.apply(pipeline.flush())
        return store

    source = identity_bodies_capture(tmp_path)
    store = load(source)
    first = _dicts(store)
    assert sum(f["where"] == "body" for r in first for f in r["findings"]) == 11
    for n in range(1, 4):
        out = str(tmp_path / f"session{n}.pcapng")
        save_session(out, [source], store, info=SessionInfo.new(source=source))
        store = load(out)
        assert _dicts(store) == first, f"round {n}"  # the findings come from the frames
        source = out


def test_only_shown_keeps_whole_connections(tmp_path: Path) -> None:
    source = _capture(tmp_path)
    store = _load([source])
    _annotate(store)
    ids = {e.record.request.uri: e.record.id for e in store}
    out = str(tmp_path / "shown.pcapng")
    result = save_session(out, [source], store, only={ids["/ad"], ids["/1"]})
    reopened = _load([out])
    # /2 shares /1's connection, so it comes along; ids and flow numbers are renumbered.
    kept = [d for d in _dicts(store, ("id", "flow")) if d["uri"] in ("/ad", "/1", "/2")]
    assert _dicts(reopened, ("id", "flow")) == kept
    restore(reopened, [out])
    assert _user_state(reopened) == [
        ("/ad", False, "seen on the café wifi\nsecond line", ()),
        ("/1", False, "first of two", ()),
        ("/2", True, "", ()),
    ]
    assert result.annotated == 3  # /ad, /1, /2
    frames = list(CaptureFile(out))
    assert len(frames) == result.frames < len(list(CaptureFile(source)))


def test_a_session_of_shown_requests_says_which_were_shown(tmp_path: Path) -> None:
    """The file holds the whole connections; reopened, it tells which requests were
    shown (/1 and /2 were pipelined in one frame: the tag names the position)."""
    source = _capture(tmp_path)
    store = _load([source])
    ids = {e.record.request.uri: e.record.id for e in store}
    out = str(tmp_path / "shown.pcapng")
    result = save_session(out, [source], store, only={ids["/ad"], ids["/1"]})
    assert result.annotated == 1  # /ad's findings; being shown is no annotation
    info = read_session_info(out)
    assert info is not None and info.shown == 2
    reopened = _load([out])
    restored = restore(reopened, [out])
    assert restored.shown is not None
    shown = {e.record.request.uri for e in reopened if e.record.id in restored.shown}
    assert shown == {"/ad", "/1"}
    assert len(reopened) == 3  # /2 came along with /1's connection
    everything = str(tmp_path / "all.pcapng")
    save_session(everything, [source], store)
    assert restore(_load([everything]), [everything]).shown is None
    info = read_session_info(everything)
    assert info is not None and info.shown == 0


def test_a_request_in_ip_fragments_is_kept_whole_in_a_session_of_shown_requests(
    tmp_path: Path,
) -> None:
    """The later fragments of a datagram carry no ports: saving only some connections
    must keep them, or the request is gone from the session."""
    frames = fragmented_capture("v4", "reversed")
    other = conversation(client="10.0.0.9", cport=41000, ts=999.0)
    frames += other.handshake() + other.send(True, _req("/other", "o.example"))
    source = save(tmp_path, sorted(frames, key=lambda f: f[0]), "fragments.pcap")
    store = _load([source])
    by_uri = {e.record.request.uri: e for e in store}
    by_uri["/fragmented/page?x=1"].comment = "in fragments"
    out = str(tmp_path / "shown.pcapng")
    result = save_session(out, [source], store, only={by_uri["/fragmented/page?x=1"].record.id})
    reopened = _load([out])
    assert [e.record.request.uri for e in reopened] == ["/fragmented/page?x=1"]
    restore(reopened, [out])
    assert [e.comment for e in reopened] == ["in fragments"]
    assert result.annotated == 1 and result.unplaced == 0


def test_comments_in_the_file(tmp_path: Path) -> None:
    source = _capture(tmp_path)
    store = _load([source])
    _annotate(store)
    out = str(tmp_path / "session.pcapng")
    save_session(out, [source], store, info=SessionInfo.new(canaries=["s3cret-42"]))
    comments = [c.decode() for f in CaptureFile(out) for c in f.comments]
    assert "headerwatch:finding msisdn x-up-calling-line-id=+447700900123 (catalog, high)" in (
        comments
    )
    assert "headerwatch:mark" in comments and "headerwatch:mark@2" in comments
    assert "headerwatch:comment@1 first of two" in comments
    assert "headerwatch:injected x-up-calling-line-id" in comments
    # The canary value is never written in clear, neither in comments nor metadata.
    assert not any("s3cret-42" in c for c in comments)
    digest = canary_digest("s3cret-42")
    assert f"headerwatch:finding canary x-canary=sha256:{digest[:16]} (canary, high)" in comments
    info = read_session_info(out)
    assert info is not None and info.canary_sha256 == (digest,)
    head = Path(out).read_bytes()[:512]
    assert b"s3cret-42" not in head and b'"headerwatch"' in head


def test_the_first_frame_of_each_request_carries_its_notes(tmp_path: Path) -> None:
    source = _capture(tmp_path)
    store = _load([source])
    _annotate(store)
    out = str(tmp_path / "session.pcapng")
    save_session(out, [source], store)
    news = next(e for e in store if e.record.request.uri == "/news").record.request
    [anchor] = [f for f in CaptureFile(out) if b"headerwatch:mark" in f.comments]
    assert anchor.ts == news.ts
    assert b"GET /news" in anchor.data


@needs_tshark
def test_wireshark_reads_the_session(tmp_path: Path) -> None:
    source = _capture(tmp_path)
    store = _load([source])
    _annotate(store)
    out = str(tmp_path / "session.pcapng")
    save_session(out, [source], store)
    run = subprocess.run(
        [str(TSHARK), "-r", out, "-Y", "frame.comment", "-T", "fields", "-e", "frame.comment"],
        capture_output=True,
        text=True,
        check=True,
    )
    shown = run.stdout
    assert "headerwatch:finding msisdn x-up-calling-line-id=+447700900123" in shown
    assert "headerwatch:comment seen on the café wifi" in shown
    http = subprocess.run(
        [str(TSHARK), "-r", out, "-Y", "http.request", "-T", "fields", "-e", "http.request.uri"],
        capture_output=True,
        text=True,
        check=True,
    )
    # (tshark lists the two pipelined requests of one frame on one line, comma-separated)
    assert sorted(http.stdout.replace(",", " ").split()) == [
        "/1",
        "/2",
        "/ad",
        "/news",
        "/sport",
        "/v6",
    ]


def test_resaving_a_session_replaces_our_tags_and_keeps_others(tmp_path: Path) -> None:
    source = _capture(tmp_path)
    store = _load([source])
    _annotate(store)
    out = str(tmp_path / "session.pcapng")
    save_session(out, [source], store)
    reopened = _load([out])
    restore(reopened, [out])
    for entry in reopened:
        entry.marked = False
    first = next(iter(reopened))
    first.comment = "changed my mind"
    save_session(out, [out], reopened)  # over the file it reads from: atomic
    again = _load([out])
    restore(again, [out])
    assert next((e.record.request.uri, e.comment) for e in again if e.comment) == (
        "/news",
        "changed my mind",
    )
    assert not any(e.marked for e in again)
    comments = [c for f in CaptureFile(out) for c in f.comments]
    assert comments.count(b"headerwatch:comment changed my mind") == 1


def test_other_tools_comments_survive(tmp_path: Path, pcaps_dir: Path) -> None:
    """A pcapng from elsewhere round-trips: same records, its own comments kept."""
    src = str(pcaps_dir / "zeek/cooper-grill-dvwa.pcapng")
    store = _load([src])
    assert len(store) > 0
    next(iter(store)).comment = "login page"
    out = str(tmp_path / "dvwa.pcapng")
    save_session(out, [src], store)
    reopened = _load([out])
    assert _dicts(reopened) == _dicts(store)
    restore(reopened, [out])
    assert next(iter(reopened)).comment == "login page"
    theirs = [c for f in CaptureFile(src) for c in f.comments]
    ours = [c for f in CaptureFile(out) for c in f.comments]
    assert all(c in ours for c in theirs)


def test_demo_capture_round_trip_with_several_sources(tmp_path: Path) -> None:
    """The bundled O2 capture, split across two files as `open A B` would read it."""
    frames = list(CaptureFile(str(DEMO)))
    half = len(frames) // 2
    from tests.packets.writer import write_pcap

    first, second = str(tmp_path / "a.pcap"), str(tmp_path / "b.pcap")
    write_pcap(first, [(f.ts, f.data) for f in frames[:half]], frames[0].linktype)
    write_pcap(second, [(f.ts, f.data) for f in frames[half:]], frames[0].linktype)
    store = _load([first, second])
    leaky = [e for e in store if e.record.findings]
    assert leaky, "the demo capture carries x-up-calling-line-id"
    for i, entry in enumerate(leaky[:5]):
        entry.marked = True
        entry.comment = f"note {i}"
    out = str(tmp_path / "demo.pcapng")
    save_session(out, [first, second], store)
    reopened = _load([out])
    assert _dicts(reopened) == _dicts(store)
    assert restore(reopened, [out]).marked == min(5, len(leaky))
    assert _user_state(reopened) == _user_state(store)


def test_a_session_opened_beside_its_capture_gives_its_notes_to_its_own_requests(
    tmp_path: Path,
) -> None:
    """`open lab.pcap session.pcapng`: both hold the same connections; the marks and
    comments are the session's, not the first file's copy of each request."""
    source = _capture(tmp_path)
    store = _load([source])
    _annotate(store)
    out = str(tmp_path / "session.pcapng")
    save_session(out, [source], store)
    both = Store()
    pipeline = Pipeline(detector=FakeDetector())
    for path in (source, out):
        pipeline.begin(path)  # as FileSource does for several inputs
        for frame in CaptureFile(path):
            both.apply(pipeline.feed(frame))
    both.apply(pipeline.flush())
    restored = restore(both, [source, out])
    assert (restored.marked, restored.commented, restored.unmatched) == (2, 3, 0)
    noted = {e.record.request.input for e in both if e.marked or e.comment}
    assert noted == {out}
    in_session = [
        (e.record.request.uri, e.marked, e.comment)
        for e in both
        if e.record.request.input == out and (e.marked or e.comment)
    ]
    assert in_session == [(uri, marked, comment) for uri, marked, comment, _ in _user_state(store)]


def test_errors_are_one_line_and_leave_the_old_file(tmp_path: Path) -> None:
    source = _capture(tmp_path)
    store = _load([source])
    missing = tmp_path.resolve() / "missing"
    with pytest.raises(
        SessionError, match=re.escape(f"no such directory {missing}; session")
    ) as info:
        save_session(str(tmp_path / "missing" / "s.pcapng"), [source], store)
    assert "\n" not in str(info.value)
    with pytest.raises(SessionError, match="no such file; session not saved"):
        save_session(str(tmp_path / "s.pcapng"), [str(tmp_path / "gone.pcap")], store)
    out = tmp_path / "keep.pcapng"
    out.write_bytes(b"previous")
    with pytest.raises(SessionError):
        save_session(str(out), [str(tmp_path / "gone.pcap")], store)
    assert out.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_plain_captures_have_no_session_info(tmp_path: Path) -> None:
    source = _capture(tmp_path)
    assert read_session_info(source) is None
    annotations = load_annotations([source])
    assert annotations.info is None and len(annotations) == 0
    store = _load([source])
    assert restore(store, [source]).marked == 0


def test_session_info_json() -> None:
    info = SessionInfo.new(source="eth0", canaries=["a", "b"], now=1326205331)
    assert info.created == "2012-01-10T14:22:11Z"
    assert info.canary_sha256 == (canary_digest("a"), canary_digest("b"))
    assert SessionInfo.from_comment(info.to_comment()) == info
    assert SessionInfo.from_comment("a comment from Wireshark") is None
    assert SessionInfo.from_comment('{"other": 1}') is None


def test_a_region_that_is_not_a_string_is_read_back_as_its_json_text_not_as_none() -> None:
    # As "": a session edited to "region": 44 was read as one saved without a region.
    def region(value: object) -> str:
        info = SessionInfo.from_comment(json.dumps({"headerwatch": {"region": value}}))
        assert info is not None
        return info.region

    assert region(44) == "44" and region(None) == "null" and region(["GB"]) == '["GB"]'
    assert region("gb") == "gb" and region("") == ""
    absent = SessionInfo.from_comment('{"headerwatch": {}}')
    assert absent is not None and absent.region == ""


def test_session_info_judged_by_a_detector_cites_its_region_catalog_and_canaries() -> None:
    from capture.version import catalog_version

    detector = IdentityDetector(
        IdentityConfig(region="gb", msisdns=("07700 900123",), canaries=("s3cret-42",))
    )
    info = SessionInfo.judged_by(detector, source="eth0", filter="~id", now=1326205331)
    assert (info.source, info.filter, info.created) == ("eth0", "~id", "2012-01-10T14:22:11Z")
    assert (info.region, info.catalog) == ("GB", catalog_version(detector))
    digests = (canary_digest("+447700900123"), canary_digest("s3cret-42"))
    assert info.canary_sha256 == tuple(sorted(digests))
    # The same canaries in another order, typed another way: the same citation.
    again = IdentityDetector(
        IdentityConfig(region="GB", msisdns=("+44 7700 900123",), canaries=("s3cret-42",))
    )
    assert SessionInfo.judged_by(again).canary_sha256 == info.canary_sha256
    none = SessionInfo.judged_by(None)
    assert (none.region, none.catalog, none.canary_sha256) == ("", "", ())


def test_tags() -> None:
    assert parse_tag(b"headerwatch:mark") == Tag("mark", None, "")
    assert parse_tag("headerwatch:comment@3 two words") == Tag("comment", 3, "two words")
    assert parse_tag(b"something else") is None
    assert parse_tag("headerwatch:mark@x") is None
    # A digit to isdigit() that int() refuses, and more digits than int() takes.
    assert parse_tag("headerwatch:mark@²") is None
    assert parse_tag("headerwatch:mark@" + "9" * 5000) is None
    f = finding(where="cookie", name="msisdn")
    assert finding_comment(f) == (
        "headerwatch:finding msisdn cookie:msisdn=+447700900123 (catalog, high)"
    )
    from capture.view.store import Entry
    from tests.capture.factories import record

    e = Entry(record(findings=(finding(),)), marked=True, comment="hi")
    assert entry_comments(e, 2) == [
        "headerwatch:finding@2 msisdn x-up-calling-line-id=+447700900123 (catalog, high)",
        "headerwatch:mark@2",
        "headerwatch:comment@2 hi",
    ]
