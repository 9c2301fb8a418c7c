"""HTTP over reassembled streams: pipelining, bodies, tunnels, roles, gaps."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capture.http import stream
from capture.http.stream import HttpTracker
from capture.model import Record, Request
from capture.net.decode import ACK
from capture.net.reassembly import Flow
from tests.helpers import OK, conversation, run_frames, simple_request
from tests.packets.craft import Conversation


def exchange_frames(
    requests: list[bytes],
    responses: list[bytes] | None = None,
    split: int | None = None,
    handshake: bool = True,
    **kw: object,
) -> list[tuple[float, bytes]]:
    conv = conversation(**kw)
    frames = conv.handshake() if handshake else []
    for i, req in enumerate(requests):
        frames += conv.send(True, req, split)
        if responses is not None and i < len(responses):
            frames += conv.send(False, responses[i])
    return frames + conv.close()


def uris(records: list[Record]) -> list[str | None]:
    return [r.request.uri for r in records]


def test_keep_alive_requests_are_paired_with_responses() -> None:
    records = run_frames(
        exchange_frames(
            [simple_request("/1"), simple_request("/2")],
            [
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
            ],
        )
    )
    assert uris(records) == ["/1", "/2"]
    assert [r.response.status if r.response else None for r in records] == [200, 404]
    assert [r.request.depth for r in records] == [1, 2]


@pytest.mark.parametrize("shortcuts", [True, False])
def test_thousands_of_pipelined_requests_in_one_segment_are_each_read(shortcuts: bool) -> None:
    # Each request of a segment read the rest with a call of its own: past ~980 of
    # them Python's recursion limit stopped the scan, and every request was lost.
    many = b"".join(b"GET /p%d HTTP/1.1\r\n\r\n" % i for i in range(2500))  # 56 KB
    conv = conversation()
    frames = conv.handshake() + conv.send(True, many, split=len(many)) + conv.close()
    with pytest.MonkeyPatch.context() as patch:
        if not shortcuts:
            patch.setattr(stream, "c_request", None)
        records = run_frames(frames)
    assert uris(records) == [f"/p{i}" for i in range(2500)]


def test_pipelined_requests_in_one_segment() -> None:
    both = simple_request("/a") + simple_request("/b") + simple_request("/c")
    responses = [OK * 3]
    records = run_frames(exchange_frames([both], responses))
    assert uris(records) == ["/a", "/b", "/c"]
    assert all(r.response is not None and r.response.status == 200 for r in records)


def test_request_split_byte_by_byte() -> None:
    records = run_frames(exchange_frames([simple_request("/slow", extra="X-A: 1\r\n")], split=1))
    assert uris(records) == ["/slow"]
    assert records[0].request.headers == (("Host", "example.com"), ("X-A", "1"))


def test_content_length_body_is_skipped_to_find_the_next_request() -> None:
    post = (
        b"POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 26\r\n\r\n"
        b"GET /fake HTTP/1.1\r\n\r\nabcd"
    )
    records = run_frames(exchange_frames([post, simple_request("/next")]))
    assert uris(records) == ["/form", "/next"]
    assert records[0].request.body == b"GET /fake HTTP/1.1\r\n\r\nabcd"
    assert records[0].request.body_length == 26


def test_chunked_body_with_extensions_and_trailers() -> None:
    post = (
        b"POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"
    )
    records = run_frames(exchange_frames([post, simple_request("/next")], split=7))
    assert uris(records) == ["/up", "/next"]
    assert records[0].request.body == b"hello world"


def test_chunked_response_body_is_framed() -> None:
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nHTT\r\n0\r\n\r\n"
    records = run_frames(
        exchange_frames([simple_request("/1"), simple_request("/2")], [chunked, OK])
    )
    assert [r.response.status if r.response else None for r in records] == [200, 200]


def test_head_response_has_no_body() -> None:
    head = b"HEAD /h HTTP/1.1\r\nHost: a\r\n\r\n"
    records = run_frames(
        exchange_frames(
            [head, simple_request("/g")],
            [b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", OK],
        )
    )
    assert [r.response.status if r.response else None for r in records] == [200, 200]


def test_interim_100_continue_does_not_consume_the_request() -> None:
    post = b"POST /p HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi"
    records = run_frames(
        exchange_frames(
            [post],
            [b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"],
        )
    )
    assert records[0].response is not None and records[0].response.status == 201


def test_connect_then_tls_stops_parsing() -> None:
    connect = b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"
    tls = b"\x16\x03\x01\x00\xa5" + bytes(range(165))
    records = run_frames(
        exchange_frames([connect, tls], [b"HTTP/1.1 200 Connection established\r\n\r\n"])
    )
    assert [(r.request.method, r.request.uri) for r in records] == [("CONNECT", "example.com:443")]


def test_connect_then_plain_http_inside_the_tunnel_is_parsed() -> None:
    connect = b"CONNECT example.com:80 HTTP/1.1\r\n\r\n"
    records = run_frames(
        exchange_frames([connect, simple_request("/inside")], [b"HTTP/1.1 200 OK\r\n\r\n", OK])
    )
    assert uris(records) == ["example.com:80", "/inside"]


def test_websocket_upgrade_stops_parsing() -> None:
    upgrade = b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
    frame = b"\x81\x05hello"
    records = run_frames(
        exchange_frames(
            [upgrade, frame + b"GET /not-http HTTP/1.1\r\n\r\n"],
            [b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"],
        )
    )
    assert uris(records) == ["/ws"]


def test_http09_request_completes_when_the_server_answers() -> None:
    records = run_frames(exchange_frames([b"GET /old\r\n"], [b"<html>raw body</html>"]))
    assert [(r.request.uri, r.request.version) for r in records] == [("/old", None)]


def test_http_on_an_odd_port_is_recognised_by_content() -> None:
    records = run_frames(exchange_frames([simple_request("/odd")], [OK], sport=31337))
    assert [(r.request.dport, r.request.uri) for r in records] == [(31337, "/odd")]


def test_non_http_stream_is_ignored() -> None:
    records = run_frames(exchange_frames([b"SSH-2.0-OpenSSH_9.6\r\n", b"\x00" * 100], sport=22))
    assert records == []


def test_missing_handshake_roles_from_content() -> None:
    """Capture started mid-connection; the client is the side that sends a request line,
    even when its port looks like a server's."""
    frames = exchange_frames([simple_request("/x")], [OK], handshake=False, cport=80, sport=6669)
    records = run_frames(frames)
    assert [(r.request.sport, r.request.dport, r.request.uri) for r in records] == [
        (80, 6669, "/x")
    ]


def test_missing_handshake_response_seen_first() -> None:
    conv = conversation()
    frames = conv.send(False, OK) + conv.send(True, simple_request("/after")) + conv.send(False, OK)
    records = run_frames(frames)
    assert uris(records) == ["/after"]
    assert records[0].request.src == "10.0.0.1"


def test_capture_starting_inside_a_body_resynchronises() -> None:
    conv = conversation()
    frames = conv.send(True, b"tail of an upload body\r\n" + simple_request("/found"))
    assert uris(run_frames(frames)) == ["/found"]


def _with_hole(request: bytes, hole: slice) -> list[tuple[float, bytes]]:
    """The request sent in three segments, the middle one lost by the capture."""
    conv = conversation()
    frames = conv.handshake()
    a, b, c = request[: hole.start], request[hole], request[hole.stop :]
    frames += conv.send(True, a)
    conv.send(True, b)  # sent, never captured
    frames += conv.send(True, c)
    # The server acknowledges everything: the capture lost the middle.
    frames.append(conv._frame(False, ACK))
    return frames + conv.send(True, simple_request("/next")) + conv.close()


def test_gap_inside_a_header_block_is_an_anomaly_not_invented_bytes() -> None:
    request = simple_request("/holey", extra="X-One: 1\r\nX-Two: 2\r\nX-Three: 3\r\n")
    start = request.index(b"X-Two")
    records = run_frames(_with_hole(request, slice(start, start + 5)))
    first = records[0].request
    assert first.uri == "/holey"
    assert first.headers == (("Host", "example.com"), ("X-One", "1"))
    assert any("capture gap: 5 bytes missing inside the header block" in a for a in first.anomalies)
    assert uris(records)[-1] == "/next"


def test_a_request_found_again_after_a_gap_says_bytes_were_missing_before_it() -> None:
    """The capture lost a whole request: the next one is found by its request line,
    which could as well be text of a lost body, and its record says so."""
    lost = simple_request("/lost", extra="X-Filler: " + "x" * 40 + "\r\n")
    first = simple_request("/1")
    records = run_frames(_with_hole(first + lost, slice(len(first), len(first) + len(lost))))
    assert uris(records) == ["/1", "/next"]
    assert records[0].request.anomalies == ()
    assert records[1].request.anomalies == (
        f"capture gap: {len(lost)} bytes missing before this request",
    )


def test_after_a_gap_a_request_line_longer_than_a_segment_is_found() -> None:
    """An ad tracker's request line runs to kilobytes, over two segments: the search
    for it after a gap kept 256 bytes of the first, the line's start was lost, and so
    was every request of the connection after it."""
    lost = simple_request("/lost")
    long = simple_request("/track?" + "&".join(f"p{i}=" + "v" * 40 for i in range(60)))
    conv = conversation()
    frames = conv.handshake() + conv.send(True, simple_request("/1"))
    conv.send(True, lost)  # sent, never captured
    frames += conv.send(True, long, split=1000)
    frames.append(conv._frame(False, ACK))
    frames += conv.send(True, simple_request("/next")) + conv.close()
    records = run_frames(frames)
    assert uris(records) == ["/1", long.split(b" ")[1].decode(), "/next"]
    assert records[1].request.anomalies == (
        f"capture gap: {len(lost)} bytes missing before this request",
    )


def test_gap_inside_a_body_keeps_framing() -> None:
    body = b"0123456789" * 10
    post = b"POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n" + body
    start = post.index(body) + 20
    records = run_frames(_with_hole(post, slice(start, start + 30)))
    assert uris(records) == ["/b", "/next"]
    assert records[0].request.body_length == 70
    assert any("30 bytes missing in body" in a for a in records[0].request.anomalies)


def test_request_cut_by_end_of_capture_is_reported() -> None:
    conv = conversation()
    frames = conv.handshake() + conv.send(True, b"GET /cut HTTP/1.1\r\nHost: a\r\nX-Par")
    records = run_frames(frames)
    assert records[0].request.uri == "/cut"
    assert records[0].request.headers == (("Host", "a"),)
    # The capture ended, not the connection: the record must not say it did.
    assert "capture ended inside the header block" in records[0].request.anomalies


def test_a_head_cut_by_a_reset_says_the_connection_ended() -> None:
    conv = conversation()
    frames = conv.handshake() + conv.send(True, b"GET /cut HTTP/1.1\r\nHost: a\r\nX-Par")
    [record] = run_frames(frames + conv.reset())
    assert "connection ended inside the header block" in record.request.anomalies


def test_body_cut_by_end_of_capture_is_reported() -> None:
    conv = conversation()
    frames = conv.handshake() + conv.send(
        True, b"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc"
    )
    [record] = run_frames(frames)
    assert record.request.body == b"abc"
    assert "capture ended before the body was complete" in record.request.anomalies


def test_bad_chunk_size_resumes_at_the_next_request() -> None:
    post = (
        b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"10000000000000000\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n"
    )
    records = run_frames(exchange_frames([post]))
    assert uris(records) == ["/", "/smuggled"]
    assert any("chunked framing broken" in a for a in records[0].request.anomalies)


def test_ipv6_and_vlan() -> None:
    conv = Conversation("2001:db8::1", 40000, "2001:db8::2", 8080, ts=1.0, vlan=7)
    frames = conv.handshake() + conv.send(True, simple_request("/v6")) + conv.close()
    [record] = run_frames(frames)
    assert (record.request.src, record.request.dport, record.request.uri) == (
        "2001:db8::1",
        8080,
        "/v6",
    )


def test_request_timestamp_is_its_first_packet() -> None:
    conv = conversation(step=1.0)
    frames = conv.handshake() + conv.send(True, simple_request("/t"), split=10)
    [record] = run_frames(frames)
    assert record.request.ts == frames[3][0]


def test_oversized_header_block_is_cut_and_flagged() -> None:
    """A head that never ends within 64 KiB is reported (what arrived) and parsing
    resumes at the next request line."""
    huge = b"GET /big HTTP/1.1\r\nHost: a\r\n" + b"X-Pad: " + b"p" * 70_000 + b"\r\n\r\n"
    records = run_frames(exchange_frames([huge, simple_request("/after")]))
    assert uris(records) == ["/big", "/after"]
    assert any("larger than 65536 bytes" in a for a in records[0].request.anomalies)
    assert records[0].request.headers == (("Host", "a"),)


def test_a_request_line_cut_at_the_head_limit_is_no_http_09_and_what_follows_is_read() -> None:
    """A 2 KB ad-tracking URL under --max-head 1k: its record said the line was cut
    and that it had no HTTP version (cut off, not absent), and the connection's later
    requests, as long, were never found again."""

    def long(path: str) -> bytes:
        return simple_request(f"/{path}?" + "&".join(f"p{i}=" + "v" * 30 for i in range(60)))

    heads = [long("track"), long("impression"), simple_request("/short"), long("click")]
    got, counters = _read([piece for head in heads for piece in (head[:1448], head[1448:])], True)
    assert [r.uri.partition("?")[0] if r.uri else r.uri for r in got] == [
        "/track",
        "/impression",
        "/short",
        "/click",
    ]
    for cut in (got[0], got[1], got[3]):
        assert cut.anomalies == (
            "header block larger than 1024 bytes; cut; the request line itself is cut",
        )
    assert got[2].anomalies == ()
    assert counters["heads_cut"] == 3


# -- the shortcuts of a client's stream ----------------------------------------------
# A plain head whole in a segment goes to _headsplit.request in one call, and a head
# cut over segments is looked at again only when new bytes could end it (or its first
# line). Whatever the heads and wherever they are cut, the requests are those of the
# reader without the shortcuts.

_HEADS = [
    b"GET /a?b=1 HTTP/1.1\r\nHost: a.example\r\nCookie: x=1; y=2\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: b\r\nX-MSISDN: 447700900123\r\n\r\n",
    b"POST /p HTTP/1.1\r\nHost: c\r\nContent-Length: 5\r\n\r\nhello",
    b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    b"GET /u HTTP/1.1\r\nHost: d\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n",
    b"GET /bare HTTP/1.1\nHost: e\n\n",
    b"GET /fold HTTP/1.1\r\nHost: f\r\nX-A: 1\r\n  2\r\n\r\n",
    b"GET /nine\r\n",
    b"GET /nine-headers\r\nHost: g\r\n\r\n",
    b"NOT A REQUEST LINE\r\nHost: h\r\n\r\n",
    b"GET /big HTTP/1.1\r\nX-Pad: " + b"p" * 1500 + b"\r\n\r\n",
    b"\r\n",
    b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: i\r\n\r\n",
    # A method longer than 32 characters: at a stream's start, not taken for HTTP.
    b"X" * 33 + b" / HTTP/1.1\r\nHost: j\r\n\r\n",
    # Bodies by Content-Length: whole in a segment, they go out with the head at once.
    b"POST /q HTTP/1.1\r\ncontent-length: 19\r\n\r\nGET /x HTTP/1.1\r\n\r\n",
    b"POST /two HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    b"POST /same HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab",
    b"POST /zero HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
    b"POST /bad HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
    b"POST /both HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"CONNECT a:443 HTTP/1.1\r\nContent-Length: 2\r\n\r\nab",
    b"POST /cap HTTP/1.1\r\nContent-Length: 70000\r\n\r\n" + b"b" * 70_000,
]


def _read(pieces: list[bytes], shortcuts: bool) -> tuple[list[Request], dict[str, int]]:
    """The requests of a client's stream fed in ``pieces`` (with or without the
    reader's shortcuts), and the counters."""
    got: list[Request] = []
    tracker = HttpTracker(
        lambda echo, request: got.append(request),
        lambda flow, depth, response: None,
        responses=False,
        max_head=1024,
    )
    flow = Flow(
        1, (bytes([10, 0, 0, 1]), 40000, bytes([192, 0, 2, 1]), 80), "10.0.0.1", "192.0.2.1", 0.0
    )
    flow.client = 0
    with pytest.MonkeyPatch.context() as patch:
        if not shortcuts:
            patch.setattr(stream, "c_request", None)
        for i, piece in enumerate(pieces):
            tracker.on_data(flow, 0, float(i), piece)
            if not shortcuts:
                for reader in flow.app.readers:  # type: ignore[attr-defined]
                    reader.waiting = 0
        tracker.on_close(flow)
    return got, tracker.counters


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(_HEADS), min_size=1, max_size=6).map(b"".join),
    st.lists(st.integers(min_value=0, max_value=4000), max_size=12),
)
def test_a_client_stream_cut_anywhere_reads_as_without_the_shortcuts(
    stream_bytes: bytes, cuts: list[int]
) -> None:
    points = sorted({0, len(stream_bytes), *(c % (len(stream_bytes) + 1) for c in cuts)})
    pieces = [stream_bytes[a:b] for a, b in itertools.pairwise(points) if b > a]
    assert _read(pieces, shortcuts=True) == _read(pieces, shortcuts=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_HEADS), min_size=1, max_size=8), st.booleans())
def test_requests_each_whole_in_a_segment_read_as_without_the_shortcuts(
    heads: list[bytes], joined: bool
) -> None:
    # A segment a request (or all in one): each head, a POST's with its body, is whole
    # where it starts, the case the shortcuts take.
    pieces = [b"".join(heads)] if joined else heads
    got = _read(pieces, shortcuts=True)
    assert got == _read(pieces, shortcuts=False)
    assert all(type(request.body) is bytes for request in got[0])


@pytest.mark.parametrize("before", [b"", _HEADS[0]], ids=["at the start", "after a request"])
def test_a_segment_past_the_head_limit_without_the_end_is_cut_as_without_the_shortcuts(
    before: bytes,
) -> None:
    big = _HEADS[10]  # 1,500 bytes of X-Pad, past the limit of 1,024
    pieces = [before + big[:1100], big[1100:], _HEADS[1]]
    read = _read(pieces, shortcuts=True)
    assert read == _read(pieces, shortcuts=False)
    assert any("larger than 1024 bytes" in a for r in read[0] for a in r.anomalies)


def test_a_head_cut_into_bytes_reads_as_without_the_shortcuts() -> None:
    data = b"".join(_HEADS)
    pieces = [data[i : i + 1] for i in range(len(data))]
    read = _read(pieces, shortcuts=True)
    assert read == _read(pieces, shortcuts=False)
    assert len(read[0]) > 5


def test_requests_waiting_for_a_server_that_never_answers_are_forgotten_past_the_bound() -> None:
    """While the server may still turn out to be a reflector, each request's head waits
    for its response; past ``max_outstanding`` the oldest is forgotten, and counted."""
    got: list[Request] = []
    tracker = HttpTracker(
        lambda echo, request: got.append(request),
        lambda flow, depth, response: None,
        responses=False,
        max_outstanding=3,
    )
    flow = Flow(
        1, (bytes([10, 0, 0, 1]), 40000, bytes([192, 0, 2, 1]), 80), "10.0.0.1", "192.0.2.1", 0.0
    )
    flow.client = 0
    for i in range(5):
        tracker.on_data(flow, 0, float(i), simple_request(f"/{i}"))
    conn = flow.app
    assert [r.uri for r in got] == [f"/{i}" for i in range(5)]
    assert [head.uri for head in conn.outstanding] == ["/2", "/3", "/4"]  # type: ignore[attr-defined]
    assert tracker.counters["unanswered_requests_forgotten"] == 2


def _non_http(frames: list[tuple[float, bytes]], responses: bool) -> int:
    from capture.pipeline import Pipeline

    pipeline = Pipeline(responses=responses)
    run_frames(frames, pipeline)
    return pipeline.counters()["non_http_connections"]


TLS_HELLO = b"\x16\x03\x01\x00\xa5" + bytes(165)
TLS_REPLY = b"\x16\x03\x03\x00\x5a" + bytes(90)


@pytest.mark.parametrize("responses", [True, False])
def test_a_connection_that_is_not_http_either_way_counts_once(responses: bool) -> None:
    frames = exchange_frames([TLS_HELLO], [TLS_REPLY], sport=443)
    assert _non_http(frames, responses) == 1


@pytest.mark.parametrize("responses", [True, False])
def test_a_tunnel_after_connect_counts_once_as_not_http(responses: bool) -> None:
    connect = b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"
    established = b"HTTP/1.1 200 Connection established\r\n\r\n"
    conv = conversation()
    frames = conv.handshake() + conv.send(True, connect) + conv.send(False, established)
    frames += conv.send(True, TLS_HELLO) + conv.send(False, TLS_REPLY) + conv.close()
    assert _non_http(frames, responses) == 1


@pytest.mark.parametrize("responses", [True, False])
def test_a_connection_caught_mid_way_in_tls_counts_as_not_http(responses: bool) -> None:
    conv = conversation(sport=443)
    frames = conv.send(True, TLS_HELLO) + conv.send(False, TLS_REPLY)
    assert _non_http(frames, responses) == 1


@pytest.mark.parametrize("responses", [True, False])
def test_an_http_connection_is_not_counted_as_non_http(responses: bool) -> None:
    assert _non_http(exchange_frames([simple_request("/a")], [OK]), responses) == 0
    assert _non_http(exchange_frames([simple_request("/a")], [OK], handshake=False), responses) == 0


def _noted(steps: list[tuple[str, bytes | str]]) -> list[Request]:
    """The requests of a client's stream given as data (``"data"``, bytes) and
    reassembly's notes (``"note"``, text), in that order."""
    got: list[Request] = []
    tracker = HttpTracker(
        lambda echo, request: got.append(request), lambda flow, depth, response: None
    )
    flow = Flow(
        1, (bytes([10, 0, 0, 1]), 40000, bytes([192, 0, 2, 1]), 80), "10.0.0.1", "192.0.2.1", 0.0
    )
    flow.client = 0
    for i, (kind, value) in enumerate(steps):
        if kind == "data":
            tracker.on_data(flow, 0, float(i), value)  # type: ignore[arg-type]
        else:
            tracker.on_note(flow, 1, float(i), value)  # type: ignore[arg-type]
    tracker.on_close(flow)
    return got


def test_a_note_of_reassembly_goes_on_the_next_request_only() -> None:
    got = _noted(
        [
            ("data", simple_request("/before")),
            ("note", "TCP reset passed over"),
            ("data", simple_request("/after")),
            ("data", simple_request("/later")),
        ]
    )
    assert [r.uri for r in got] == ["/before", "/after", "/later"]
    assert [r.anomalies for r in got] == [(), ("TCP reset passed over",), ()]


def test_a_note_in_the_middle_of_a_head_goes_on_that_request_once() -> None:
    head = simple_request("/cut", extra="X-MSISDN: 447700900123\r\n")
    got = _noted([("data", head[:20]), ("note", "n"), ("note", "n"), ("data", head[20:])])
    assert [r.anomalies for r in got] == [("n",)]


def test_a_note_while_a_body_is_read_goes_on_that_request() -> None:
    post = b"POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\n"
    got = _noted([("data", post + b"ab"), ("note", "n"), ("data", b"cd" + simple_request("/next"))])
    assert [r.uri for r in got] == ["/b", "/next"]
    assert [r.anomalies for r in got] == [("n",), ()]
