"""Per-app attribution from PCAPdroid's capture extensions (crafted captures:
tests/data/pcapdroid/README.md)."""

from __future__ import annotations

import importlib.util
import io
import json
import struct
from pathlib import Path
from typing import Any

from capture.formats.pcapng import PcapngWriter
from capture.formats.session import save_session
from capture.identity.detector import IdentityDetector
from capture.model import Record, Request
from capture.net.decode import SYN
from capture.pipeline import Pipeline
from capture.scan import scan
from capture.sources import pcapdroid
from capture.sources.frames import CaptureFile
from capture.view.exposure import Exposure
from capture.view.filter import compile_filter
from capture.view.store import Store
from tests.packets.craft import tcp_frame
from tests.packets.writer import write_pcap

DATA = Path(__file__).resolve().parents[2] / "data" / "pcapdroid"
TRAILER = DATA / "demo-trailer.pcap"
UID_MAP = DATA / "demo-uidmap.pcapng"


def _scan(path: Path, fmt: str = "jsonl") -> list[dict[str, Any]]:
    out, err = io.StringIO(), io.StringIO()
    assert scan([str(path)], fmt=fmt, detector=IdentityDetector(), out=out, err=err, jobs=1) == 0
    if fmt == "har":
        entries: list[dict[str, Any]] = json.loads(out.getvalue())["log"]["entries"]
        return entries
    return [json.loads(line) for line in out.getvalue().splitlines()]


def _apps(records: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return [(r["uri"], r.get("app")) for r in records]


def _load(path: Path) -> Store:
    store = Store()
    pipeline = Pipeline(detector=IdentityDetector())
    for frame in CaptureFile(str(path)):
        store.apply(pipeline.feed(frame))
    store.apply(pipeline.flush())
    return store


def test_the_crafted_captures_are_what_make_py_writes() -> None:
    spec = importlib.util.spec_from_file_location("make_pcapdroid", DATA / "make.py")
    assert spec is not None and spec.loader is not None
    make = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make)
    assert make.trailer_pcap() == TRAILER.read_bytes()
    assert make.uid_map_pcapng() == UID_MAP.read_bytes()


def test_the_pcapng_uid_map_names_each_request_s_app_and_others_have_none() -> None:
    records = _scan(UID_MAP)
    apps = dict(_apps(records))
    assert apps["/v2/ad?app=com.example.fruitgame&imei=490154203237518&fmt=json&w=320&h=50"] == (
        "com.example.fruitgame"
    )
    assert apps["/profile.php?id=100000000000001"] == "com.facebook.katana"
    assert apps["/search?q=weather+london&hl=en"] == "com.android.chrome"
    # The connections from other clients (uid -1, no map entry) name no app.
    assert all(r.get("app") is None for r in records if r["src"] != "203.0.113.7")
    assert sum(1 for r in records if r.get("app")) == 19


def test_the_pcap_trailer_gives_the_same_apps_with_the_name_cut_at_19_characters() -> None:
    from_trailer = _apps(_scan(TRAILER))
    from_map = _apps(_scan(UID_MAP))
    cut = [(uri, app[:19] if app else app) for uri, app in from_map]
    assert from_trailer == cut
    assert "com.example.fruitga" in {app for _, app in from_trailer}


def test_the_pcap_trailer_is_read_in_a_pcapng_file_too(tmp_path: Path) -> None:
    """The trailer capture as pcapng (as editcap converts it): its packets, without
    comments, go through the record walk's runs, and each frame that comes out of them
    is looked at for its trailer as scapy's were."""
    converted = tmp_path / "demo-trailer.pcapng"
    with converted.open("wb") as out, PcapngWriter(out) as writer:
        for frame in CaptureFile(str(TRAILER)):
            writer.write(frame)
    records = _scan(converted)
    assert _apps(records) == _apps(_scan(TRAILER))
    assert sum(1 for r in records if r.get("app")) == 19


def test_a_classic_pcap_whose_first_frame_is_not_pcapdroid_s_has_no_trailer_read(
    tmp_path: Path,
) -> None:
    """Its first frame tells whether each frame's trailer is read, even when the record
    walk decoded that frame itself (a plain TCP segment, real MAC addresses)."""
    frames = [(frame.ts, frame.data) for frame in CaptureFile(str(TRAILER))]
    syn = tcp_frame("192.0.2.1", 40000, "192.0.2.2", 80, 1, 0, SYN)
    mixed = tmp_path / "mixed.pcap"
    write_pcap(str(mixed), [(frames[0][0], syn), *frames])
    records = _scan(mixed)
    assert len(records) == len(_scan(TRAILER))
    assert all(r.get("app") is None for r in records)


def test_a_plain_capture_scanned_after_a_pcapdroid_one_names_no_app(tmp_path: Path) -> None:
    """The trailer is looked for in a classic pcap whose first frame has PCAPdroid's
    zero MAC addresses, and the last frame's app does not carry over to the next file."""
    plain = DATA.parent / "pcaps" / "zeek" / "wikipedia.pcap"  # Ethernet, real MACs
    # Its frames again in another file: a file named twice is refused, and so is a
    # copy, so this one differs in the global header's sigfigs, which no reader uses.
    again = tmp_path / TRAILER.name
    data = bytearray(TRAILER.read_bytes())
    data[12] ^= 1
    again.write_bytes(bytes(data))
    out, err = io.StringIO(), io.StringIO()
    paths = [str(TRAILER), str(plain), str(again)]
    assert scan(paths, detector=IdentityDetector(), out=out, err=err, jobs=1) == 0
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    alone = _scan(TRAILER)
    assert len(records) > 2 * len(alone)
    middle = records[len(alone) : len(records) - len(alone)]
    assert middle and all(r.get("app") is None for r in middle)
    assert _apps(records[-len(alone) :]) == _apps(alone)


def test_the_app_goes_through_jsonl_and_har_and_back(tmp_path: Path) -> None:
    first = _scan(UID_MAP)
    jsonl = tmp_path / "apps.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in first), encoding="utf-8")
    assert _apps(_scan(jsonl)) == _apps(first)
    entries = _scan(UID_MAP, fmt="har")
    assert sum(1 for e in entries if e.get("_app")) == 19
    har = tmp_path / "apps.har"
    har.write_text(json.dumps({"log": {"entries": entries}}), encoding="utf-8")
    assert _apps(_scan(har)) == _apps(first)


def test_a_session_saved_from_a_pcapdroid_capture_reopens_with_its_apps(tmp_path: Path) -> None:
    for source in (UID_MAP, TRAILER):
        store = _load(source)
        out = tmp_path / f"{source.stem}.session.pcapng"
        save_session(str(out), [str(source)], store)
        again = _load(out)
        assert [e.record.request.app for e in again] == [e.record.request.app for e in store]
        assert any(e.record.request.app for e in again)


def test_app_filter_and_exposure_group_by_app() -> None:
    store = _load(UID_MAP)
    matched = compile_filter("~app facebook")
    shown = [e.record.request.uri for e in store if matched(e)]
    assert shown == ["/profile.php?id=100000000000001", "/rsrc.php/v1/yH/r/logo.png"] * 2
    assert not [e for e in store if compile_filter("~app .")(e) and e.record.request.app == ""]
    exposure = Exposure()
    for entry in store:
        exposure.add(entry.record)
    apps = {a.app: a for a in exposure.apps()}
    assert set(apps) == {"com.android.chrome", "com.facebook.katana", "com.example.fruitgame"}
    game = apps["com.example.fruitgame"]
    assert (game.requests, game.identity_requests) == (1, 1)
    assert {kind for kind, _ in game.identities} == {"msisdn", "imei"}
    assert game.hosts == ("ads.adnetwork.example",)
    assert exposure.apps()[0].app == "com.android.chrome"  # the most identity requests


def test_an_exposure_without_apps_lists_none() -> None:
    exposure = Exposure()
    request = Request(0.0, 1, 1, "10.0.0.1", 1, "10.0.0.2", 80, "GET", "/", "HTTP/1.1")
    exposure.add(Record(1, request))
    assert exposure.apps() == []


# --- the parsing, on its own ---------------------------------------------------------


def test_the_trailer_needs_zero_macs_the_magic_and_to_follow_the_ip_packet() -> None:
    ip = b"\x45\x00\x00\x29" + bytes(37)  # IPv4, 41 bytes: 14 + 41 + 1 byte of padding
    trailer = struct.pack("!Ii", 0x01072021, 10123) + b"com.example.app".ljust(20, b"\0") + bytes(4)
    frame = bytes(12) + b"\x08\x00" + ip + bytes(1) + trailer
    assert pcapdroid.trailer_app(frame) == "com.example.app"
    assert pcapdroid.trailer_app(b"\x01" * 12 + frame[12:]) is None  # real MAC addresses
    assert pcapdroid.trailer_app(frame[:-32] + bytes(32)) is None  # no magic
    # The magic at the end of a payload (a loopback capture: zero MACs too) is not a
    # trailer: the IP packet does not end where the trailer would start.
    longer = b"\x45\x00\x00\x49" + bytes(37) + bytes(1) + trailer
    assert pcapdroid.trailer_app(bytes(12) + b"\x08\x00" + longer) is None


def test_the_uid_map_block_is_read_only_under_pcapdroid_s_pen() -> None:
    body = struct.pack("<IHBBiBB", 62652, 1, 1, 0, 10087, 18, 6) + b"com.android.chromeChrome"
    assert pcapdroid.uid_map(body, "<") == (10087, "com.android.chrome", "Chrome")
    other = struct.pack("<I", 32473) + body[4:]
    assert pcapdroid.uid_map(other, "<") is None
    assert pcapdroid.uid_map(body[:20], "<") is None  # names cut short: damaged
    assert pcapdroid.comment_uid(b"u-10087") == 10087
    assert pcapdroid.comment_uid(b"u--1") == -1
    assert pcapdroid.comment_uid(b"user comment") is None
