"""Sent versus received on every path: requests-only pipelines (scan's JSONL and table,
headless live) read a reflector's echo too, and every format gives the same answer."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from capture.http.echo import ECHO_HEADER, encode_echo
from capture.http.echo_key import ECHO_SIGNATURE_HEADER, set_echo_key, sign_echo
from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.model import EchoSeen, Parsed, Request, RequestSeen, Response, ResponseSeen
from capture.pipeline import ECHO_WAIT, Pipeline
from capture.scan import scan
from capture.sources import frames as frames_module
from capture.sources.frames import CaptureFile
from tests.capture.test_scan_jobs import gen_capture
from tests.helpers import OK, conversation, save, simple_request
from tests.packets.writer import write_pcap

NUMBER = "447700900461"


def _echoed(received: tuple[tuple[str, str], ...]) -> bytes:
    echo = f"{ECHO_HEADER}: {encode_echo(received)}\r\n".encode()
    return b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n" + echo + b"\r\nok"


def _lab_capture(tmp_path: Path) -> str:
    """Three connections, interleaved: a reflector's (a carrier added the number and
    stripped Accept), a plain server's, and one whose server never answers."""
    reflected = conversation(cport=40001, server="198.51.100.2", ts=1000.0)
    plain = conversation(cport=40002, server="203.0.113.9", ts=1000.1)
    silent = conversation(cport=40003, server="203.0.113.10", ts=1000.2)
    frames = reflected.handshake() + plain.handshake() + silent.handshake()
    frames += reflected.send(True, simple_request("/r1", extra="Accept: */*\r\n"))
    frames += plain.send(True, simple_request("/p1"))
    frames += silent.send(True, simple_request("/s1"))
    received = (("Host", "example.com"), ("X-MSISDN", NUMBER))
    frames += plain.send(False, OK)
    frames += reflected.send(False, _echoed(received))
    frames += plain.send(True, simple_request("/p2"))
    frames += plain.send(False, OK)
    frames += reflected.send(True, simple_request("/r2"))
    frames += reflected.send(False, _echoed((("Host", "example.com"),)))
    frames.sort(key=lambda f: f[0])
    return save(tmp_path, frames)


def _detector() -> IdentityDetector:
    return IdentityDetector(IdentityConfig(region="GB"))


def test_a_requests_only_pipeline_gives_each_request_with_its_transit_in_capture_order(
    tmp_path: Path,
) -> None:
    path = _lab_capture(tmp_path)
    pipeline = Pipeline(_detector(), responses=False)
    events = list(pipeline.run_capture(CaptureFile(path))) + pipeline.flush()
    records = [e.record for e in events if isinstance(e, RequestSeen)]
    assert [r.id for r in records] == [1, 2, 3, 4, 5]  # capture order, held or not
    by_uri = {r.request.uri: r for r in records}
    assert set(by_uri) == {"/r1", "/r2", "/p1", "/p2", "/s1"}
    first = by_uri["/r1"]
    assert first.transit is not None
    assert first.transit.injected == (("X-MSISDN", NUMBER),)
    assert first.transit.removed == (("Accept", "*/*"),)
    assert [f.normalized for f in first.identities] == [f"+{NUMBER}"]
    second = by_uri["/r2"].transit
    assert second is not None and not second.altered
    # No reflector answered these.
    assert all(by_uri[u].transit is None for u in ("/p1", "/p2", "/s1"))
    assert pipeline.counters()["echoes"] == 2


@pytest.mark.parametrize("fmt", ["jsonl", "table", "har"])
def test_every_format_reports_the_injected_identity_and_fails_on_it(
    tmp_path: Path, fmt: str
) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = scan([_lab_capture(tmp_path)], fmt=fmt, detector=_detector(), out=out, err=err,
                fail_on_identity=True, jobs=1)  # fmt: skip
    assert code == 1, err.getvalue()
    text = out.getvalue()
    assert f"+{NUMBER}" in text
    if fmt == "jsonl":
        first = next(json.loads(x) for x in text.splitlines() if '"/r1"' in x)
        assert first["injected"] == [["X-MSISDN", NUMBER]]
        assert first["removed"] == [["Accept", "*/*"]] and first["changed"] == []
    elif fmt == "table":
        assert "injected:X-MSISDN" in text and "removed:Accept" in text
    else:
        [entry] = [
            e for e in json.loads(text)["log"]["entries"] if e["request"]["url"].endswith("/r1")
        ]
        assert entry["_injected"] == [{"name": "X-MSISDN", "value": NUMBER}]
        assert entry["_removed"] == [{"name": "Accept", "value": "*/*"}]
    assert (
        "2 requests echoed by a reflector (echoes not signed, see --echo-key), 1 altered in transit"
        in err.getvalue()
    )


@pytest.mark.parametrize("fmt", ["jsonl", "har"])
def test_a_har_written_from_the_capture_read_back_says_what_the_capture_said(
    tmp_path: Path, fmt: str
) -> None:
    # A HAR keeps each response, its echo header with it: read back with responses,
    # the echo was read again beside the transit the entry carried, and every finding
    # added on the way came twice ("4 requests echoed, 4 altered" of 2 and 1).
    har = tmp_path / "lab.har"
    with har.open("w", encoding="utf-8") as out:
        scan([_lab_capture(tmp_path)], fmt="har", detector=_detector(), out=out,
             err=io.StringIO(), jobs=1)  # fmt: skip
    out, err = io.StringIO(), io.StringIO()
    scan([str(har)], fmt=fmt, detector=_detector(), out=out, err=err, jobs=1)
    assert (
        "2 requests echoed by a reflector (echoes not signed, see --echo-key), 1 altered in transit"
        in err.getvalue()
    )
    assert "1 identity in 1 request" in err.getvalue()
    assert out.getvalue().count(f'"+{NUMBER}"') == 1


@pytest.mark.parametrize("fmt", ["jsonl", "table", "har"])
def test_an_echo_on_a_proxy_s_connection_after_a_plain_answer_is_read_in_every_format(
    tmp_path: Path, fmt: str
) -> None:
    # One connection to an explicit proxy: a plain site's answer, then a reflector's
    # echo. The first answer settled the connection as no reflector's: HAR and the
    # dashboard showed the injection, JSONL, the table and the report did not.
    proxy = conversation(cport=40005, server="192.0.2.8", sport=3128, ts=1000.0)
    frames = proxy.handshake()
    frames += proxy.send(True, b"GET http://plain.example/ HTTP/1.1\r\nHost: plain.example\r\n\r\n")
    frames += proxy.send(False, OK)
    frames += proxy.send(True, b"GET http://lab.example/echo HTTP/1.1\r\nHost: lab.example\r\n\r\n")
    frames += proxy.send(False, _echoed((("Host", "lab.example"), ("X-MSISDN", NUMBER))))
    out, err = io.StringIO(), io.StringIO()
    code = scan([save(tmp_path, frames)], fmt=fmt, detector=_detector(), out=out, err=err,
                fail_on_identity=True, jobs=1)  # fmt: skip
    assert code == 1, err.getvalue()
    assert f"+{NUMBER}" in out.getvalue()
    assert (
        "1 identity in 1 request; 1 request echoed by a reflector (echoes not signed, see "
        "--echo-key), 1 altered" in err.getvalue()
    )


def test_only_identity_keeps_the_request_whose_identity_was_injected(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    scan([_lab_capture(tmp_path)], detector=_detector(), out=out, err=err, only_identity=True)
    assert [json.loads(line)["uri"] for line in out.getvalue().splitlines()] == ["/r1"]


def test_a_server_that_never_answers_holds_its_request_only_for_a_while(tmp_path: Path) -> None:
    conv = conversation(cport=40009, ts=2000.0)
    later = conversation(cport=40010, ts=2000.0 + ECHO_WAIT + 2)
    frames = conv.handshake() + conv.send(True, simple_request("/waits"))
    frames += later.handshake() + later.send(True, simple_request("/later"))
    pipeline = Pipeline(None, responses=False)
    seen = []
    for frame in CaptureFile(save(tmp_path, frames)):
        seen += [e.record.request.uri for e in pipeline.feed(frame) if isinstance(e, RequestSeen)]
    assert seen == ["/waits"]  # let go after ECHO_WAIT of capture time, not at the end
    # Nothing was cut: no echo came (a capture of one direction, a server that never
    # answers). Counted, every request of such a capture read as lost evidence.
    assert pipeline.counters()["echo_waits_cut"] == 0
    assert [e.record.request.uri for e in pipeline.flush() if isinstance(e, RequestSeen)] == [
        "/later"
    ]


def test_a_request_let_go_at_the_bound_leaves_nothing_behind_when_its_server_answers(
    tmp_path: Path,
) -> None:
    conv = conversation(cport=40011, ts=3000.0)
    later = conversation(cport=40012, ts=3000.0 + ECHO_WAIT + 2)
    frames = conv.handshake() + conv.send(True, simple_request("/slow"))
    frames += later.handshake() + later.send(True, simple_request("/later"))
    conv.ts = later.ts + 1  # the slow server answers after its request was let go
    frames += conv.send(False, OK)
    frames.sort(key=lambda f: f[0])
    pipeline = Pipeline(None, responses=False)
    uris = [
        e.record.request.uri
        for frame in CaptureFile(save(tmp_path, frames))
        for e in pipeline.feed(frame)
        if isinstance(e, RequestSeen)
    ]
    uris += [e.record.request.uri for e in pipeline.flush() if isinstance(e, RequestSeen)]
    assert uris == ["/slow", "/later"]
    assert not pipeline._ready and not pipeline._held and not pipeline._held_flows
    assert pipeline.hold_cut == 0  # its answer was no echo: the record lacks nothing


def _late_echo(tmp_path: Path) -> str:
    """A capture whose reflector echoes, with the number a carrier added, after
    :data:`ECHO_WAIT` (a slow 3G proxy), while another connection goes on."""
    conv = conversation(cport=40015, server="198.51.100.2", ts=3500.0)
    later = conversation(cport=40016, ts=3500.0 + ECHO_WAIT + 2)
    frames = conv.handshake() + conv.send(True, simple_request("/slow"))
    frames += later.handshake() + later.send(True, simple_request("/later"))
    conv.ts = later.ts + 1  # the reflector echoes after ECHO_WAIT
    frames += conv.send(False, _echoed((("Host", "example.com"), ("X-MSISDN", NUMBER))))
    frames.sort(key=lambda f: f[0])
    return save(tmp_path, frames)


def test_a_reflectors_echo_that_comes_after_its_request_was_let_go_is_counted(
    tmp_path: Path,
) -> None:
    # Live (and a stream on stdin) hold a request ECHO_WAIT at most: output must come.
    pipeline = Pipeline(_detector(), responses=False)
    records = []
    for frame in CaptureFile(_late_echo(tmp_path)):
        records += [e.record for e in pipeline.feed(frame) if isinstance(e, RequestSeen)]
    records += [e.record for e in pipeline.flush() if isinstance(e, RequestSeen)]
    slow = next(r for r in records if r.request.uri == "/slow")
    assert slow.transit is None  # written before the echo could say so
    assert pipeline.counters()["echo_waits_cut"] == 1
    assert "1 request written before its reflector's echo came" in pipeline.summary()


@pytest.mark.parametrize("fmt", ["jsonl", "table", "har"])
@pytest.mark.parametrize("jobs", [1, 2])
def test_a_file_scan_waits_for_a_late_echo_and_every_format_says_what_was_injected(
    tmp_path: Path, fmt: str, jobs: int
) -> None:
    # A file has no reader waiting: its requests wait for their echo as long as their
    # connection may bring one. JSONL and the table had written the request without
    # it, while HAR (which reads responses) showed the number injected.
    out, err = io.StringIO(), io.StringIO()
    code = scan(
        [_late_echo(tmp_path)],
        fmt=fmt,
        detector=_detector(),
        out=out,
        err=err,
        jobs=jobs,
        fail_on_identity=True,
    )
    assert code == 1, err.getvalue()
    text = out.getvalue()
    assert f"+{NUMBER}" in text
    if fmt == "jsonl":
        slow = next(json.loads(x) for x in text.splitlines() if '"/slow"' in x)
        assert slow["injected"] == [["X-MSISDN", NUMBER]]
    elif fmt == "table":
        assert "injected:X-MSISDN" in text
    assert "written before its reflector's echo came" not in err.getvalue()


def test_a_server_whose_first_bytes_are_no_status_line_lets_its_request_go_at_once(
    tmp_path: Path,
) -> None:
    conv = conversation(cport=40013, ts=4000.0)
    frames = conv.handshake() + conv.send(True, simple_request("/odd"))
    frames += conv.send(False, b"\x16\x03\x01" + b"\xaa" * 200)  # no head end, ever
    frames += conv.send(False, b"\xbb" * 200)
    pipeline = Pipeline(None, responses=False)
    seen: list[str] = []
    for frame in CaptureFile(save(tmp_path, frames)):
        seen += [e.record.request.uri for e in pipeline.feed(frame) if isinstance(e, RequestSeen)]
        if pipeline.packets == len(frames) - 1:
            # The first server segment settled it: no wait for a head that never ends.
            assert seen == ["/odd"]
    assert pipeline.tracker.held_bytes == 0  # nothing of the server's kept to probe


def test_a_client_that_is_not_http_leaves_its_server_unread(tmp_path: Path) -> None:
    conv = conversation(cport=40014, sport=443, ts=5000.0)
    frames = conv.handshake() + conv.send(True, b"\x16\x03\x01\x00\xc8" + b"\x01" * 200)
    frames += conv.send(False, b"HTTP/1.1 200 OK\r\nServer: odd\r\n")  # a head never ended
    pipeline = Pipeline(None, responses=False)
    for frame in CaptureFile(save(tmp_path, frames)):
        pipeline.feed(frame)
    # No request can be echoed there, so the server's bytes were not even probed.
    assert pipeline.tracker.held_bytes == 0


def test_an_echo_whose_head_spans_segments_is_still_read(tmp_path: Path) -> None:
    conv = conversation(cport=40015, ts=6000.0)
    frames = conv.handshake() + conv.send(True, simple_request("/split"))
    received = (("Host", "example.com"), ("X-MSISDN", NUMBER))
    frames += conv.send(False, _echoed(received), 20)  # cut inside the status line
    pipeline = Pipeline(_detector(), responses=False)
    events = list(pipeline.run_capture(CaptureFile(save(tmp_path, frames)))) + pipeline.flush()
    (record,) = [e.record for e in events if isinstance(e, RequestSeen)]
    assert record.transit is not None
    assert record.transit.injected == (("X-MSISDN", NUMBER),)


def _injected(path: str, in_c: bool, monkeypatch: pytest.MonkeyPatch, feed: bool = False) -> object:
    """The transit's injected headers of the one request of ``path``, scanned as a
    file (the C record walk or the Python one) or fed frame by frame (live)."""
    with monkeypatch.context() as patch:
        if not in_c:
            patch.setattr(frames_module, "_pcapwalk", None)
        pipeline = Pipeline(_detector(), responses=False)
        if feed:
            events = [e for frame in CaptureFile(path) for e in pipeline.feed(frame)]
        else:
            events = list(pipeline.run_capture(CaptureFile(path)))
        events += pipeline.flush()
    (record,) = [e.record for e in events if isinstance(e, RequestSeen)]
    return None if record.transit is None else record.transit.injected


# How a scan can read the server's bytes: the C walk, the Python walk, frame by frame.
READERS = [(True, False), (False, False), (False, True)]


@pytest.mark.parametrize(("in_c", "feed"), READERS)
@pytest.mark.parametrize("apart", [False, True])
def test_an_echo_after_an_interim_100_continue_is_still_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_c: bool, feed: bool, apart: bool
) -> None:
    """A reflector answers ``Expect: 100-continue`` with ``100 Continue`` before its
    echo (capture/lab/reflect.py): the first head the server sends has no echo, the
    next one does."""
    conv = conversation(cport=40016, ts=6100.0)
    body = b"x" * 40
    head = simple_request("/upload", extra="Expect: 100-continue\r\nContent-Length: 40\r\n")
    frames = conv.handshake() + conv.send(True, head)
    interim = b"HTTP/1.1 100 Continue\r\n\r\n"
    final = _echoed((("Host", "example.com"), ("X-MSISDN", NUMBER)))
    if apart:
        frames += conv.send(False, interim) + conv.send(True, body) + conv.send(False, final)
    else:
        frames += conv.send(True, body) + conv.send(False, interim + final)
    path = save(tmp_path, frames)
    assert _injected(path, in_c, monkeypatch, feed) == (("X-MSISDN", NUMBER),)


@pytest.mark.parametrize(("in_c", "feed"), READERS)
@pytest.mark.parametrize("cut", ["x-headerwatch-rec", "\r\nx", "\r", "HTTP/1.1 2"])
def test_an_echo_cut_anywhere_between_segments_is_still_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_c: bool, feed: bool, cut: str
) -> None:
    """The first server segment ends inside the echo header's name, just before it,
    or inside the status line: the head goes on in the next segment."""
    conv = conversation(cport=40017, ts=6200.0)
    frames = conv.handshake() + conv.send(True, simple_request("/cut"))
    response = _echoed((("Host", "example.com"), ("X-MSISDN", NUMBER)))
    at = response.lower().index(cut.lower().encode()) + len(cut)
    frames += conv.send(False, response[:at]) + conv.send(False, response[at:])
    path = save(tmp_path, frames)
    assert _injected(path, in_c, monkeypatch, feed) == (("X-MSISDN", NUMBER),)


@pytest.mark.parametrize(("in_c", "feed"), READERS)
def test_an_echo_in_the_first_segment_is_read_and_a_plain_answer_settles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_c: bool, feed: bool
) -> None:
    path = _lab_capture(tmp_path)
    with monkeypatch.context() as patch:
        if not in_c:
            patch.setattr(frames_module, "_pcapwalk", None)
        pipeline = Pipeline(_detector(), responses=False)
        if feed:
            events = [e for frame in CaptureFile(path) for e in pipeline.feed(frame)]
        else:
            events = list(pipeline.run_capture(CaptureFile(path)))
        events += pipeline.flush()
    records = {e.record.request.uri: e.record for e in events if isinstance(e, RequestSeen)}
    assert records["/r1"].transit is not None and records["/r2"].transit is not None
    assert records["/p1"].transit is None and records["/p2"].transit is None
    assert pipeline.counters()["echoes"] == 2


def _parsed_with_echo(injected: bool) -> Parsed:
    sent = (("Host", "example.com"),)
    received = (*sent, ("X-MSISDN", "447700900123")) if injected else sent
    request = Request(1.0, 1, 1, "10.0.0.2", 40000, "10.0.1.1", 80, "GET", "/", "HTTP/1.1", sent)
    response = Response(1.1, "HTTP/1.1", 200, "OK", ((ECHO_HEADER, encode_echo(received)),))
    return Parsed(request, response)


@pytest.mark.parametrize("responses", [True, False])
def test_a_parsed_request_with_an_echo_gives_its_transit_with_or_without_responses(
    responses: bool,
) -> None:
    pipeline = Pipeline(IdentityDetector(IdentityConfig()), responses=responses)
    events = pipeline.feed_request(_parsed_with_echo(injected=True))
    kinds = [type(event) for event in events]
    if responses:
        assert kinds == [RequestSeen, EchoSeen, ResponseSeen]
        echo = events[1]
        assert isinstance(echo, EchoSeen)
        assert [f.name for f in echo.findings] == ["X-MSISDN"]
    else:
        # Requests only: no ResponseSeen, and the record comes out complete with what
        # the echo shows, as from frames (what scan's JSONL and table write).
        assert kinds == [RequestSeen]
        seen = events[0]
        assert isinstance(seen, RequestSeen) and seen.record.transit is not None
        assert seen.record.transit.injected == (("X-MSISDN", "447700900123"),)
        assert [f.name for f in seen.record.findings] == ["X-MSISDN"]
    assert pipeline.counters()["echoes"] == 1
    assert pipeline.identity_requests == 1


@pytest.mark.parametrize(("in_c", "feed"), READERS)
def test_requests_sent_before_a_reflector_first_answers_are_each_paired_with_their_echo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_c: bool, feed: bool
) -> None:
    """Pipelined: both requests wait for the server's first head, which shows a
    reflector; only then are they kept for pairing, and each gets its own echo."""
    conv = conversation(cport=40018, ts=6300.0)
    frames = conv.handshake() + conv.send(True, simple_request("/a") + simple_request("/b"))
    first = _echoed((("Host", "example.com"), ("X-MSISDN", NUMBER)))
    frames += conv.send(False, first + _echoed((("Host", "example.com"),)))
    path = save(tmp_path, frames)
    with monkeypatch.context() as patch:
        if not in_c:
            patch.setattr(frames_module, "_pcapwalk", None)
        pipeline = Pipeline(_detector(), responses=False)
        if feed:
            events = [e for frame in CaptureFile(path) for e in pipeline.feed(frame)]
        else:
            events = list(pipeline.run_capture(CaptureFile(path)))
        events += pipeline.flush()
    records = [e.record for e in events if isinstance(e, RequestSeen)]
    assert [r.request.uri for r in records] == ["/a", "/b"]
    assert [None if r.transit is None else r.transit.injected for r in records] == [
        (("X-MSISDN", NUMBER),),
        (),
    ]
    assert not pipeline._awaiting and not pipeline._held and not pipeline._held_flows


@pytest.mark.parametrize(("in_c", "feed"), READERS)
def test_requests_whose_server_is_no_reflector_go_at_its_first_bytes_and_leave_nothing_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_c: bool, feed: bool
) -> None:
    """The usual capture: the verdict lets the waiting request go, the next one goes at
    once, and nothing of either is kept for pairing, the connection still open."""
    conv = conversation(cport=40019, ts=6400.0)
    frames = conv.handshake() + conv.send(True, simple_request("/p1")) + conv.send(False, OK)
    frames += conv.send(True, simple_request("/p2")) + conv.send(False, OK)
    path = save(tmp_path, frames)
    with monkeypatch.context() as patch:
        if not in_c:
            patch.setattr(frames_module, "_pcapwalk", None)
        pipeline = Pipeline(None, responses=False)
        if feed:
            events = [e for frame in CaptureFile(path) for e in pipeline.feed(frame)]
        else:
            events = list(pipeline.run_capture(CaptureFile(path)))
    # Not flushed: both came out as the capture went.
    assert [e.record.request.uri for e in events if isinstance(e, RequestSeen)] == ["/p1", "/p2"]
    assert not pipeline._awaiting and not pipeline._held and not pipeline._held_flows
    assert not pipeline._ready and pipeline.hold_cut == 0


def _scanned(
    path: str, in_c: bool, quiet: bool, monkeypatch: pytest.MonkeyPatch, settled: list[int]
) -> list[object]:
    """Every event of a requests-only scan of ``path``; unless ``quiet``, the reader is
    given no list for verdicts, so that each comes as a VERDICT frame. The number of
    verdicts the reader settled itself is appended to ``settled``."""
    with monkeypatch.context() as patch:
        settle = Pipeline._settle

        def counted(self: Pipeline, verdicts: list[bytes]) -> None:
            settled.append(len(verdicts))
            settle(self, verdicts)

        patch.setattr(Pipeline, "_settle", counted)
        if not in_c:
            patch.setattr(frames_module, "_pcapwalk", None)
        if not quiet:
            frames = CaptureFile.frames

            def loud(self: CaptureFile, *args: object, **kwargs: object) -> object:
                return frames(self, *args[:5], None)  # type: ignore[arg-type]

            patch.setattr(CaptureFile, "frames", loud)
        pipeline = Pipeline(_detector(), responses=False)
        events: list[object] = list(pipeline.run_capture(CaptureFile(path)))
        return events + list(pipeline.flush()) + [pipeline.counters()]


@pytest.mark.parametrize("in_c", [True, False])
def test_verdicts_the_reader_settles_itself_give_what_verdict_frames_give(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_c: bool
) -> None:
    """Interleaved connections, some requests split over segments, some reflectors: the
    scan whose reader settles verdicts without frames gives the same events, in the
    same order, with the same counters, as the one that gets a VERDICT frame for each."""
    frames = list(gen_capture.frames(300, 60, bodies="small"))
    path = tmp_path / "mix.pcap"
    write_pcap(str(path), frames)
    settled: list[int] = []
    loud = _scanned(str(path), in_c, False, monkeypatch, settled)
    assert not settled
    assert loud == _scanned(str(path), in_c, True, monkeypatch, settled)
    assert sum(settled) > 40  # most of the 60 connections' verdicts
    assert sum(isinstance(e, RequestSeen) for e in loud) == 300
    lab = _lab_capture(tmp_path)
    assert _scanned(lab, in_c, False, monkeypatch, []) == _scanned(lab, in_c, True, monkeypatch, [])


def test_requests_of_every_kind_sent_before_a_reflector_first_answers_keep_their_order(
    tmp_path: Path,
) -> None:
    """Pipelined before the server is known: bodyless requests are kept as their heads
    alone, one with a body as a PendingRequest; once the echo shows a reflector, each
    is paired with its own response, in order."""
    conv = conversation(cport=40031, ts=6500.0)
    post = b"POST /b HTTP/1.1\r\nHost: example.com\r\nContent-Length: 3\r\n\r\nabc"
    frames = conv.handshake() + conv.send(True, simple_request("/a") + post)
    frames += conv.send(True, simple_request("/c"))
    answers = [(("Host", "example.com"), ("X-MSISDN", NUMBER)), (), (("Host", "example.com"),)]
    frames += conv.send(False, b"".join(_echoed(received) for received in answers))
    pipeline = Pipeline(_detector(), responses=False)
    events = list(pipeline.run_capture(CaptureFile(save(tmp_path, frames)))) + pipeline.flush()
    records = [e.record for e in events if isinstance(e, RequestSeen)]
    assert [r.request.uri for r in records] == ["/a", "/b", "/c"]
    assert [r.transit is not None and r.transit.injected for r in records] == [
        (("X-MSISDN", NUMBER),),
        (),
        (),
    ]
    assert [len(r.transit.removed) for r in records if r.transit is not None] == [0, 2, 0]


def _queued_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every pipeline hold each waiting request in the queue (_held), never
    alone (_lone): the general steps the alone path must agree with."""
    hold = Pipeline._hold

    def queued(self: Pipeline, echo: bool | None, request: Request) -> None:
        hold(self, echo, request)
        self._queue_lone()

    monkeypatch.setattr(Pipeline, "_hold", queued)


@pytest.mark.parametrize("quiet", [True, False])
def test_a_request_held_alone_comes_out_as_it_would_through_the_queue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, quiet: bool
) -> None:
    """Interleaved connections, reflectors, servers that never answer, a request let go
    at ECHO_WAIT: the events and counters are those of a pipeline that queues every
    request it holds, with verdicts settled by the reader or as VERDICT frames."""
    frames = list(gen_capture.frames(200, 40, bodies="small"))
    conv = conversation(cport=40032, server="203.0.113.20", ts=frames[5][0])
    frames += conv.handshake() + conv.send(True, simple_request("/silent"))
    late = conversation(cport=40033, server="203.0.113.21", ts=frames[-1][0] + ECHO_WAIT + 1)
    frames += late.handshake() + late.send(True, simple_request("/late")) + late.send(False, OK)
    frames.sort(key=lambda f: f[0])
    for path in (save(tmp_path, frames, "mix.pcap"), _lab_capture(tmp_path)):
        alone = _scanned(path, True, quiet, monkeypatch, [])
        with monkeypatch.context() as patch:
            _queued_only(patch)
            assert _scanned(path, True, quiet, patch, []) == alone


@pytest.fixture
def echo_key() -> Iterator[bytes]:
    """An echo key for the pipelines made in the test (``--echo-key``), unset after."""
    key = bytes(range(32))
    set_echo_key(key)
    yield key
    set_echo_key(None)


def _signed_echo(key: bytes, received: tuple[tuple[str, str], ...]) -> bytes:
    value = encode_echo(received)
    echo = f"{ECHO_HEADER}: {value}\r\n{ECHO_SIGNATURE_HEADER}: {sign_echo(key, value, 0)}\r\n"
    return b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n" + echo.encode() + b"\r\nok"


def _two_sites(tmp_path: Path, key: bytes) -> str:
    """Two connections whose answers both claim the network added a number: the
    reflector's echo signed with ``key``, and a site's of its own making."""
    mine = conversation(cport=40021, server="198.51.100.2", ts=1000.0)
    site = conversation(cport=40022, server="203.0.113.66", ts=1000.1)
    frames = mine.handshake() + site.handshake()
    frames += mine.send(True, simple_request("/mine"))
    frames += site.send(True, simple_request("/site"))
    frames += mine.send(False, _signed_echo(key, (("Host", "example.com"), ("X-MSISDN", NUMBER))))
    frames += site.send(False, _echoed((("Host", "example.com"), ("X-MSISDN", "447700900999"))))
    frames.sort(key=lambda f: f[0])
    return save(tmp_path, frames)


@pytest.mark.parametrize("fmt", ["jsonl", "har"])
def test_with_an_echo_key_only_the_reflectors_signed_echo_is_believed(
    tmp_path: Path, echo_key: bytes, fmt: str
) -> None:
    out, err = io.StringIO(), io.StringIO()
    scan([_two_sites(tmp_path, echo_key)], fmt=fmt, detector=_detector(), out=out, err=err, jobs=1)
    text = out.getvalue()
    assert f"+{NUMBER}" in text and "+447700900999" not in text
    if fmt == "jsonl":
        by_uri = {json.loads(x)["uri"]: json.loads(x) for x in text.splitlines()}
        assert by_uri["/mine"]["echo_signed"] is True
        assert by_uri["/mine"]["injected"] == [["X-MSISDN", NUMBER]]
        assert "injected" not in by_uri["/site"] and by_uri["/site"]["findings"] == []
    else:
        entries = {e["request"]["url"][-5:]: e for e in json.loads(text)["log"]["entries"]}
        assert entries["/mine"]["_echoSigned"] is True and "_injected" not in entries["/site"]
    said = err.getvalue()
    assert "1 request echoed by a reflector (signed with the echo key)" in said
    assert "1 echo not signed with the echo key ignored (any server can write one)" in said


def test_without_an_echo_key_every_echo_is_compared_and_the_summary_says_unsigned(
    tmp_path: Path,
) -> None:
    out, err = io.StringIO(), io.StringIO()
    scan([_two_sites(tmp_path, bytes(32))], detector=_detector(), out=out, err=err, jobs=1)
    assert "+447700900999" in out.getvalue() and "echo_signed" not in out.getvalue()
    assert "2 requests echoed by a reflector (echoes not signed, see --echo-key)" in err.getvalue()


def test_a_signed_transit_read_back_from_jsonl_stays_signed_as_its_record_says(
    tmp_path: Path, echo_key: bytes
) -> None:
    first = io.StringIO()
    scan([_two_sites(tmp_path, echo_key)], detector=_detector(), out=first, err=io.StringIO())
    records = tmp_path / "records.jsonl"
    records.write_text(first.getvalue())
    again, err = io.StringIO(), io.StringIO()
    scan([str(records)], detector=_detector(), out=again, err=err)
    by_uri = {json.loads(x)["uri"]: json.loads(x) for x in again.getvalue().splitlines()}
    assert by_uri["/mine"]["echo_signed"] is True and "echo_signed" not in by_uri["/site"]
    # The file keeps no echo to check again: it is said to be signed as it says.
    assert "1 request echoed by a reflector (1 signed as their records say)" in err.getvalue()


def test_with_an_echo_key_a_record_files_unsigned_transit_and_its_findings_are_left_out(
    tmp_path: Path,
) -> None:
    """A JSONL written without a key (or by anyone) says a number was added on the way:
    with the key, it is not believed, and the number it carried goes with it."""
    first = io.StringIO()
    scan([_lab_capture(tmp_path)], detector=_detector(), out=first, err=io.StringIO())
    records = tmp_path / "records.jsonl"
    records.write_text(first.getvalue())
    set_echo_key(bytes(range(32)))
    try:
        out, err = io.StringIO(), io.StringIO()
        scan([str(records)], detector=_detector(), out=out, err=err)
    finally:
        set_echo_key(None)
    assert f"+{NUMBER}" not in out.getvalue() and '"injected"' not in out.getvalue()
    assert "2 echoes not signed with the echo key ignored" in err.getvalue()
