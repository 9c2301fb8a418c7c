"""The reflector over real sockets on loopback: what it echoes is what arrived."""

from __future__ import annotations

import asyncio
import json
import socket
import time

import pytest

from capture.http.echo import (
    ECHO_CAP,
    ECHO_HEADER,
    ECHO_OMITTED_HEADER,
    decode_echo,
    echo_signed,
)
from capture.http.echo_key import ECHO_SIGNATURE_HEADER, set_echo_key
from capture.http.http1 import find_head_end, parse_response_head
from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.lab.limits import Limits
from capture.lab.probe import ProbeError, describe, probe
from capture.lab.reflect import BODY_KEPT, ReflectError, Reflector, _listen, client_key
from capture.model import Record
from tests.carrier import enrichment_proxy, running_reflector


def exchange(
    port: int, raw: bytes, responses: int = 1, timeout: float = 5
) -> list[tuple[int, dict[str, str], bytes]]:
    """Send ``raw``; read ``responses`` answers (status, headers, body), each read
    waiting at most ``timeout`` seconds."""
    out = []
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(raw)
        buf = b""
        while len(out) < responses:
            end = find_head_end(buf)
            if end < 0:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                buf += chunk
                continue
            head = parse_response_head(buf[:end])
            headers = {n.lower(): v for n, v in head.headers}
            size = int(headers.get("content-length", "0"))
            while len(buf) < end + size:
                buf += sock.recv(65536)
            out.append((head.status, headers, buf[end : end + size]))
            buf = buf[end + size :]
    return out


def test_echo_keeps_order_case_duplicates_and_raw_bytes() -> None:
    raw = (
        b"\r\nGET /a?b=1 HTTP/1.1\r\nHost: lab\r\nx-UP-calling-line-id: 447700900123\r\n"
        b"Cookie: a=1\r\nCookie: b=2\r\nX-Odd: caf\xe9\r\n\r\n"
    )
    with running_reflector() as port:
        [(status, headers, body)] = exchange(port, raw)
    assert status == 200
    assert decode_echo(headers[ECHO_HEADER.lower()]) == (
        ("Host", "lab"),
        ("x-UP-calling-line-id", "447700900123"),
        ("Cookie", "a=1"),
        ("Cookie", "b=2"),
        ("X-Odd", "caf\\xe9"),
    )
    assert headers["cache-control"] == "no-store, no-transform"
    record = json.loads(body)
    assert record["uri"] == "/a?b=1" and record["headers"][4] == ["X-Odd", "caf\\xe9"]


def test_keep_alive_pipelining_bodies_and_head() -> None:
    raw = (
        b"POST /form HTTP/1.1\r\nHost: lab\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: 16\r\n\r\nmsisdn=447700900"
        b"PUT /c HTTP/1.1\r\nHost: lab\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
        b"HEAD /h HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n"
    )
    records: list[Record] = []
    with running_reflector(Reflector(on_record=records.append)) as port:
        answers = exchange(port, raw, responses=3)
    assert [a[0] for a in answers] == [200, 200, 200]
    assert answers[2][2] == b"" and answers[2][1]["connection"] == "close"
    assert [(r.request.method, r.request.body_length) for r in records] == [
        ("POST", 16),
        ("PUT", 5),
        ("HEAD", 0),
    ]
    assert records[1].request.body == b"abcde"
    assert [r.id for r in records] == [1, 2, 3]
    assert [(r.request.flow, r.request.depth) for r in records] == [(1, 1), (1, 2), (1, 3)]


def test_the_server_side_sees_identities_as_they_arrive() -> None:
    records: list[Record] = []
    detector = IdentityDetector(IdentityConfig(region="GB"))
    with running_reflector(Reflector(detector, records.append)) as port:
        exchange(port, b"GET / HTTP/1.1\r\nHost: lab\r\nx-up-calling-line-id: 447700900123\r\n\r\n")
    [record] = records
    assert [f.normalized for f in record.identities] == ["+447700900123"]
    assert record.request.src == "127.0.0.1" and record.request.dport > 0


def test_bad_requests_get_an_answer_and_the_door() -> None:
    with running_reflector() as port:
        [(status, _, body)] = exchange(port, b"\x16\x03\x01\x02\x00\r\n\r\n")
        assert status == 400 and b"not an HTTP request" in body
        [(status, _, _)] = exchange(port, b"GET / HTTP/1.1\r\nX: " + b"a" * 70_000)
        assert status == 431
        [(status, _, _)] = exchange(
            port, b"POST / HTTP/1.1\r\nContent-Length: 999999999999\r\n\r\n"
        )
        assert status == 413
        [(status, _, _)] = exchange(
            port, b"PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"
        )
        assert status == 400  # broken framing: a bad request, not a large one
        [(status, _, _)] = exchange(
            port, b"PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n 5\r\nhello\r\n0\r\n\r\n"
        )
        assert status == 400  # RFC 9112 §7.1: no whitespace before a chunk size
        # Still serving.
        [(status, _, _)] = exchange(port, b"GET / HTTP/1.0\r\n\r\n")
        assert status == 200


def test_an_http_1_0_request_with_transfer_encoding_is_answered_then_the_door() -> None:
    # RFC 9112 §6.1: HTTP/1.0 has no Transfer-Encoding, so its framing is faulty: the
    # connection stayed open for a second request the server behind may read otherwise.
    with running_reflector() as port:
        head = (
            b"POST / HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: lab\r\n\r\n"
        )
        answers = exchange(port, head, responses=2)
    assert [status for status, _, _ in answers] == [200]
    assert answers[0][1]["connection"] == "close"


@pytest.mark.parametrize(
    ("head", "said"),
    [
        # RFC 9112 §5.1: whitespace between a field name and the colon MUST get 400.
        (b"POST / HTTP/1.1\r\nHost: lab\r\nContent-Length : 3\r\n\r\nabc", b"before colon"),
        # §5.2: obs-fold, rejected rather than replaced (the echo is what arrived).
        (b"GET / HTTP/1.1\r\nHost: lab\r\nX-A: 1\r\n  2\r\n\r\n", b"obs-fold"),
        # §2.2: a whitespace-led line before the first field.
        (b"GET / HTTP/1.1\r\n X-A: 1\r\nHost: lab\r\n\r\n", b"continuation line"),
        # §2.2: a bare CR, where a front proxy may end a line (a smuggling shape).
        (b"POST / HTTP/1.1\r\nHost: a\rContent-Length: 5\r\n\r\nhello", b"bare CR"),
        # RFC 9110 §5.1: a field name is a token (a proxy may drop the NUL).
        (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length\x00: 5\r\n\r\nhello", b"no token"),
    ],
)
def test_loose_header_syntax_gets_400_and_the_connection_closes(head: bytes, said: bytes) -> None:
    # A second request follows on the same connection: it must not be answered.
    raw = head + b"GET /second HTTP/1.1\r\nHost: lab\r\n\r\n"
    records: list[Record] = []
    reflector = Reflector(on_record=records.append)
    with running_reflector(reflector) as port:
        answers = exchange(port, raw, responses=2)
    [(status, headers, body)] = answers
    assert status == 400 and headers["connection"] == "close"
    assert b"bad header field: " in body and said in body
    # Recorded as refused (the second request is not read); not counted as reflected.
    [record] = records
    assert record.request.anomalies[-1].startswith("refused by the reflector: 400 ")
    assert said.decode() in record.request.anomalies[-1]
    assert reflector.counters.bad_request == 1 and reflector.counters.requests == 0


# --- limits: every loop below is bounded in count and in time ----------------


def read_answer(sock: socket.socket, limit: float = 5.0) -> tuple[int, dict[str, str], bytes]:
    """One answer from ``sock`` (status, headers, body); status 0 if it closes first."""
    sock.settimeout(limit)
    buf = b""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        end = find_head_end(buf)
        if end >= 0:
            head = parse_response_head(buf[:end])
            headers = {n.lower(): v for n, v in head.headers}
            size = int(headers.get("content-length", "0"))
            while len(buf) < end + size and time.monotonic() < deadline:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                buf += chunk
            return head.status, headers, buf[end : end + size]
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return 0, {}, b""
        if not chunk:
            return 0, {}, b""
        buf += chunk
    raise AssertionError("no answer in time")


def test_one_megabyte_of_one_byte_chunks_is_read_whole_and_counted() -> None:
    body = b"1\r\nx\r\n" * (1 << 20) + b"0\r\n\r\n"
    records: list[Record] = []
    limits = Limits(max_body=2 << 20)
    with running_reflector(Reflector(on_record=records.append, limits=limits)) as port:
        # Reading 6 MB of chunk framing takes the reflector 3-5 s on this VM, more with
        # a second suite beside it: the wait is a guard against a hang, not a limit.
        [(status, _, _)] = exchange(
            port,
            b"POST /c HTTP/1.1\r\nHost: lab\r\nTransfer-Encoding: chunked\r\n\r\n" + body,
            timeout=60,
        )
    assert status == 200
    [record] = records
    assert record.request.body_length == 1 << 20
    assert record.request.body == b"x" * BODY_KEPT  # the rest was counted, not kept


def test_a_head_sent_one_byte_at_a_time_is_parsed_as_a_whole() -> None:
    raw = b"GET /slow HTTP/1.1\r\nHost: lab\r\nX-MSISDN: 447700900123\r\n\r\n"
    records: list[Record] = []
    with (
        running_reflector(Reflector(on_record=records.append)) as port,
        socket.create_connection(("127.0.0.1", port), timeout=5) as sock,
    ):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(len(raw)):
            sock.sendall(raw[i : i + 1])
        status, headers, _ = read_answer(sock)
    assert status == 200
    assert decode_echo(headers[ECHO_HEADER.lower()]) == (
        ("Host", "lab"),
        ("X-MSISDN", "447700900123"),
    )
    assert records[0].request.uri == "/slow"


def test_oversized_heads_and_bodies_get_their_status_codes() -> None:
    reflector = Reflector(limits=Limits(max_head=1024, max_body=1000))
    with running_reflector(reflector) as port:
        [(head, _, _)] = exchange(port, b"GET / HTTP/1.1\r\nX: " + b"a" * 2000 + b"\r\n\r\n")
        [(length, _, _)] = exchange(port, b"POST / HTTP/1.1\r\nContent-Length: 1001\r\n\r\n")
        [(chunked, _, _)] = exchange(
            port, b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3e9\r\n" + b"a" * 1001
        )
        [(fits, _, _)] = exchange(
            port, b"POST / HTTP/1.1\r\nContent-Length: 1000\r\n\r\n" + b"a" * 1000
        )
    assert (head, length, chunked, fits) == (431, 413, 413, 200)
    c = reflector.counters
    assert (c.head_too_large, c.body_too_large, c.requests) == (1, 2, 1)


def test_a_head_trickled_past_its_deadline_gets_408_however_often_bytes_come() -> None:
    reflector = Reflector(limits=Limits(head_timeout=0.6))
    with (
        running_reflector(reflector) as port,
        socket.create_connection(("127.0.0.1", port), timeout=5) as sock,
    ):
        sock.sendall(b"GET / HTTP/1.1\r\n")
        # A byte every 0.2 s: an idle timer would never fire; the deadline does.
        status = 0
        for _ in range(20):
            time.sleep(0.2)
            try:
                sock.sendall(b"X")
            except OSError:
                break
            sock.settimeout(0.01)
            try:
                if sock.recv(1, socket.MSG_PEEK):
                    break
            except TimeoutError:
                continue
        status, _, body = read_answer(sock)
    assert status == 408 and b"head" in body
    assert reflector.counters.head_timeout == 1


def test_a_body_past_its_deadline_gets_408() -> None:
    reflector = Reflector(limits=Limits(body_timeout=0.5))
    with (
        running_reflector(reflector) as port,
        socket.create_connection(("127.0.0.1", port), timeout=5) as sock,
    ):
        sock.sendall(b"POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc")
        status, _, _ = read_answer(sock)
    assert status == 408 and reflector.counters.body_timeout == 1


def test_connections_beyond_the_per_client_limit_get_503() -> None:
    reflector = Reflector(limits=Limits(max_per_client=3))
    with running_reflector(reflector) as port:
        held = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(3)]
        try:
            time.sleep(0.2)
            with socket.create_connection(("127.0.0.1", port), timeout=5) as extra:
                status, _, _ = read_answer(extra)
            # Another address on loopback is another client.
            with socket.create_connection(("127.0.0.1", port), 5, ("127.0.0.2", 0)) as other:
                other.sendall(b"GET / HTTP/1.1\r\nHost: lab\r\n\r\n")
                other_status, _, _ = read_answer(other)
        finally:
            for sock in held:
                sock.close()
    assert (status, other_status) == (503, 200)
    assert reflector.counters.per_client == 1


def test_at_the_connection_limit_the_oldest_waiting_connection_makes_room() -> None:
    reflector = Reflector(limits=Limits(max_connections=5))
    with running_reflector(reflector) as port:
        idle = [
            socket.create_connection(("127.0.0.1", port), 5, (f"127.0.1.{i + 1}", 0))
            for i in range(5)
        ]
        try:
            time.sleep(0.2)
            with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
                client.sendall(b"GET / HTTP/1.1\r\nHost: lab\r\n\r\n")
                status, _, _ = read_answer(client)
            assert idle[0].recv(1) == b""  # the oldest was closed
        finally:
            for sock in idle:
                sock.close()
    assert status == 200
    assert reflector.counters.evicted == 1


def test_at_the_connection_limit_one_reading_a_body_longest_makes_room() -> None:
    # Every connection trickling a body: no one waiting for a head, no one idle. Until
    # the body deadline, every other client got 503.
    records: list[Record] = []
    reflector = Reflector(limits=Limits(max_connections=3), on_record=records.append)
    with running_reflector(reflector) as port:
        slow = []
        for i in range(3):
            sock = socket.create_connection(("127.0.0.1", port), 5, (f"127.0.2.{i + 1}", 0))
            sock.sendall(b"POST /up HTTP/1.1\r\nHost: lab\r\nContent-Length: 1000000\r\n\r\nab")
            slow.append(sock)
            time.sleep(0.05)
        try:
            time.sleep(0.2)
            with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
                client.sendall(b"GET / HTTP/1.1\r\nHost: lab\r\n\r\n")
                status, _, _ = read_answer(client)
            assert slow[0].recv(1) == b""  # the oldest body was closed
        finally:
            for sock in slow:
                sock.close()
    assert status == 200
    assert reflector.counters.evicted == 1 and reflector.counters.busy == 0
    (cut,) = [r for r in records if r.request.uri == "/up" and r.request.body_length == 2][:1]
    assert "connection ended before the body was complete" in cut.request.anomalies


def test_a_burst_of_pipelined_requests_does_not_keep_another_client_waiting() -> None:
    # 20,000 tiny requests in one write were answered in one go, the loop held for
    # seconds: every other client waited behind them.
    reflector = Reflector()
    burst = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 20_000
    with running_reflector(reflector) as port:
        flood = socket.create_connection(("127.0.0.1", port), timeout=5)
        flood.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        try:
            flood.sendall(burst)
            time.sleep(0.05)  # the burst is being answered
            began = time.monotonic()
            with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
                client.sendall(b"GET /mine HTTP/1.1\r\nHost: lab\r\n\r\n")
                status, _, _ = read_answer(client)
            waited = time.monotonic() - began
        finally:
            flood.close()
    assert status == 200
    assert waited < 1.0, waited  # 2.6 s when the burst was answered in one go


def test_a_request_the_detector_fails_on_is_answered_and_recorded_with_why() -> None:
    class Fails:
        def detect(self, request: object) -> tuple[()]:
            raise ValueError("a bug")

    records: list[Record] = []
    reflector = Reflector(detector=Fails(), on_record=records.append)
    with running_reflector(reflector) as port:
        [(status, _, _)] = exchange(port, b"GET / HTTP/1.1\r\nHost: lab\r\n\r\n")
    assert status == 200
    (record,) = records
    assert record.findings == ()
    assert any("detector failed on it (ValueError: a bug)" in a for a in record.request.anomalies)
    assert "1 request not searched for identities" in reflector.counters.summary()


def test_many_large_bodies_stay_within_the_memory_budget() -> None:
    # 30 clients each send a 15 MB body at once: bodies are counted and dropped as
    # they arrive, so what is buffered stays a small part of the budget.
    reflector = Reflector(limits=Limits(max_body=16 << 20, memory_budget=8 << 20))
    size = 15_000_000
    chunk = b"a" * 65536
    with running_reflector(reflector) as port:
        socks = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(30)]
        try:
            for sock in socks:
                sock.sendall(b"POST / HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % size)
            sent = 0
            while sent < size:  # bounded: size / 64 KiB rounds
                n = min(len(chunk), size - sent)
                for sock in socks:
                    sock.sendall(chunk[:n])
                sent += n
            statuses = [read_answer(sock, 10)[0] for sock in socks]
        finally:
            for sock in socks:
                sock.close()
    assert statuses == [200] * 30
    assert 0 < reflector.counters.peak_buffered <= 8 << 20
    assert reflector.counters.memory == 0


def test_the_memory_budget_refuses_the_connection_that_would_exceed_it() -> None:
    reflector = Reflector(limits=Limits(memory_budget=4096, max_head=32 * 1024))
    with running_reflector(reflector) as port:
        [(status, _, _)] = exchange(port, b"GET / HTTP/1.1\r\nX: " + b"a" * 8000)
    assert status == 503 and reflector.counters.memory == 1


def pipeline_without_reading(reflector: Reflector) -> None:
    """Send pipelined requests and read none of the answers, until the reflector closes
    the connection (or 5 s pass)."""
    request = b"GET / HTTP/1.1\r\nHost: lab\r\nX-Pad: " + b"p" * 2000 + b"\r\n\r\n"
    with running_reflector(reflector) as port:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and reflector.counters.send_timeout == 0:
            try:
                sock.send(request * 16)
            except BlockingIOError:
                time.sleep(0.05)
            except OSError:
                break
        sock.close()


def test_a_client_that_pipelines_and_never_reads_is_closed_after_the_send_deadline() -> None:
    reflector = Reflector(limits=Limits(send_timeout=0.5))
    pipeline_without_reading(reflector)
    assert reflector.counters.send_timeout == 1


def test_a_client_that_leaves_its_answers_unread_is_not_closed_as_idle_and_uncounted() -> None:
    """The send deadline closes it, counted, not the shorter idle timer (which used to
    close it silently: the connection is between requests, but not idle)."""
    reflector = Reflector(limits=Limits(send_timeout=1.0, idle_timeout=0.2))
    pipeline_without_reading(reflector)
    assert reflector.counters.send_timeout == 1


def test_an_echo_larger_than_its_cap_keeps_what_fits_and_says_so() -> None:
    # 30 KiB of undecodable bytes: each is "\\xNN" in JSON, 4 times larger, then base64.
    raw = b"GET / HTTP/1.1\r\nHost: lab\r\n" + b"".join(
        b"X-Big-%d: " % i + b"\xff" * 1000 + b"\r\n" for i in range(30)
    )
    with running_reflector() as port:
        [(status, headers, _)] = exchange(port, raw + b"\r\n")
    assert status == 200
    assert len(headers[ECHO_HEADER.lower()]) <= ECHO_CAP
    omitted = int(headers[ECHO_OMITTED_HEADER.lower()])
    echo = decode_echo(headers[ECHO_HEADER.lower()])
    assert echo is not None and 0 < omitted < 31 and len(echo) + omitted == 31
    assert echo[0] == ("Host", "lab") and echo[1][0] == "X-Big-0"


def test_probe_reads_a_capped_echo_whole_and_says_what_it_left_out() -> None:
    # A proxy adds 45 KiB of headers: within the head limit, beyond the echo's cap.
    added = {f"X-Added-{i}": "a" * 1000 for i in range(45)}
    reflector = Reflector(limits=Limits(max_head=64 * 1024))
    with (
        running_reflector(reflector) as port,
        enrichment_proxy(("127.0.0.1", port), added) as proxy,
    ):
        result = probe(f"http://127.0.0.1:{proxy}/")
    assert result.omitted > 0
    # Left out: the end of the block, which is where the probe's own headers were.
    assert len(result.diff.injected) + result.omitted == 45 + len(result.sent)
    assert result.diff.removed == ()  # cannot be told from a capped echo
    assert any("left out" in line for line in describe(result))


def test_a_reflector_with_an_echo_key_signs_each_echo_capped_or_not() -> None:
    key = bytes(range(32))
    big = b"".join(b"X-Big-%d: %s\r\n" % (i, b"b" * 2000) for i in range(30))
    head = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    with running_reflector(Reflector(limits=Limits(max_head=64 * 1024), echo_key=key)) as port:
        [(_, small, _)] = exchange(port, head + b"\r\n")
        [(_, capped, _)] = exchange(port, head + big + b"\r\n")
    for headers in (small, capped):
        pairs = tuple(headers.items())
        assert echo_signed(pairs, key)
        assert not echo_signed(pairs, bytes(32))
    assert ECHO_OMITTED_HEADER.lower() in capped
    # Without a key there is nothing to sign with.
    with running_reflector() as port:
        [(_, unsigned, _)] = exchange(port, head + b"\r\n")
    assert ECHO_SIGNATURE_HEADER.lower() not in unsigned


def test_only_the_echo_of_a_request_whose_host_names_the_reflector_is_signed() -> None:
    """A site can pass the requests it gets on to the reflector, with a number added:
    their Host names the site, and their echo is not signed; a name given with
    --name (a DNS name, a public address behind NAT) is the reflector's."""
    key = bytes(range(32))
    reflector = Reflector(echo_key=key, names=("lab.example",))
    answers = []
    with running_reflector(reflector) as port:
        for host in (b"evil.example", b"lab.example:8080", b"LAB.example", b"[::1]", b"127.0.0.1"):
            [(_, headers, _)] = exchange(port, b"GET / HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
            answers.append(ECHO_SIGNATURE_HEADER.lower() in headers)
        [(_, hostless, _)] = exchange(port, b"GET / HTTP/1.0\r\n\r\n")
    assert answers == [False, True, True, False, True]
    assert ECHO_SIGNATURE_HEADER.lower() not in hostless
    assert reflector.counters.unsigned == 3
    assert "3 echoes not signed: the Host named neither" in reflector.counters.summary()


def test_probe_with_the_echo_key_believes_its_reflector_and_refuses_another() -> None:
    key = bytes(range(32))
    try:
        set_echo_key(key)
        with running_reflector(Reflector(echo_key=key)) as port:
            result = probe(f"http://127.0.0.1:{port}/")
        assert result.diff.signed is True
        assert "  the echo is signed with the echo key: your reflector's" in describe(result)
        for other in (Reflector(echo_key=bytes(32)), Reflector()):
            with (
                running_reflector(other) as port,
                pytest.raises(ProbeError, match="echo not signed with the echo key"),
            ):
                probe(f"http://127.0.0.1:{port}/")
    finally:
        set_echo_key(None)


def test_a_site_that_passes_requests_on_to_the_reflector_gets_no_signed_echo() -> None:
    """The relay an outside tester built: a site (here 127.0.0.1) that passes each
    request it gets on to the user's reflector (127.0.0.2), a number added, and
    answers with the reflector's echo. The request names the site: its echo is not
    signed, and probe with the key does not believe it."""
    key = bytes(range(32))
    try:
        set_echo_key(key)
        with (
            running_reflector(Reflector(echo_key=key), bind="127.0.0.2") as port,
            enrichment_proxy(("127.0.0.2", port), {"X-MSISDN": "447700900123"}) as relay,
        ):
            with pytest.raises(ProbeError, match="echo not signed with the echo key"):
                probe(f"http://127.0.0.1:{relay}/")
            # The reflector reached by its own address signs, as before.
            assert probe(f"http://127.0.0.2:{port}/").diff.signed is True
        # Reached by a name it was not given, it signs nothing, and probe says why.
        with (
            running_reflector(Reflector(echo_key=key)) as port,
            pytest.raises(ProbeError, match=r"only requests whose Host names it"),
        ):
            probe(f"http://localhost:{port}/")
    finally:
        set_echo_key(None)


def test_browsers_get_the_page_and_tools_get_json() -> None:
    with running_reflector() as port:
        [(page, page_headers, body)] = exchange(
            port,
            b"GET / HTTP/1.1\r\nHost: lab\r\n"
            b"Accept: text/html,application/xhtml+xml,*/*;q=0.8\r\n\r\n",
        )
        [(tool, tool_headers, json_body)] = exchange(
            port, b"GET / HTTP/1.1\r\nHost: lab\r\nAccept: */*\r\n\r\n"
        )
    assert (page, tool) == (200, 200)
    assert page_headers["content-type"] == "text/html; charset=utf-8"
    assert "script-src" not in page_headers["content-security-policy"]
    assert page_headers["content-security-policy"].startswith("default-src 'none'")
    assert page_headers["x-content-type-options"] == "nosniff"
    assert b"<script" not in body.lower()
    assert ECHO_HEADER.lower() in page_headers
    assert tool_headers["content-type"] == "application/json"
    assert tool_headers["x-content-type-options"] == "nosniff"
    assert json.loads(json_body)["uri"] == "/"


def test_ipv6_clients_count_by_their_slash_64() -> None:
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:bbbb::9")
    assert client_key("2001:db8:1:2::1") != client_key("2001:db8:1:3::1")
    assert client_key("::ffff:192.0.2.7") == "192.0.2.7" == client_key("192.0.2.7")


def test_a_large_body_announced_with_expect_gets_100_continue_first() -> None:
    with running_reflector() as port, socket.create_connection(("127.0.0.1", port), 5) as sock:
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: lab\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n"
        )
        sock.settimeout(5)
        assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(b"abc")
        assert read_answer(sock)[0] == 200


def test_clients_that_never_read_their_answers_stay_within_the_memory_budget() -> None:
    # Browsers' requests with 20 KB of headers: each echo page is larger than that.
    budget = 256 * 1024
    reflector = Reflector(limits=Limits(memory_budget=budget))
    request = (
        b"GET / HTTP/1.1\r\nHost: lab\r\nAccept: text/html\r\n"
        + b"".join(b"X-Pad-%d: %s\r\n" % (i, b"p" * 1000) for i in range(20))
        + b"\r\n"
    )
    with running_reflector(reflector) as port:
        socks = []
        try:
            deadline = time.monotonic() + 10
            for _ in range(50):  # bounded: 50 clients, 10 s
                if reflector.counters.memory or time.monotonic() > deadline:
                    break
                sock = socket.socket()
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                sock.connect(("127.0.0.1", port))
                sock.setblocking(False)
                socks.append(sock)
                # Requests until the reflector stops reading this client: the answers
                # fill the kernel's buffers (megabytes on loopback), then the reflector's.
                for _ in range(2000):
                    if reflector.counters.memory or time.monotonic() > deadline:
                        break
                    try:
                        sock.send(request)
                    except BlockingIOError:
                        break  # nobody reads our requests any more: the reflector paused
                    except OSError:
                        break
        finally:
            for sock in socks:
                sock.close()
    assert reflector.counters.memory >= 1
    assert reflector.counters.peak_buffered <= budget + 64 * 1024


def test_a_bind_name_that_does_not_resolve_is_said_as_the_resolver_says_it() -> None:
    class Unresolved(asyncio.AbstractEventLoop):
        async def create_server(self, *args: object, **kwargs: object) -> asyncio.Server:
            # What getaddrinfo gives for "999.1.1.1" or a name nobody serves.
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    reflector = Reflector()
    with pytest.raises(ReflectError) as caught:
        asyncio.run(_listen(Unresolved(), reflector, "999.1.1.1", 8080))
    assert str(caught.value) == "cannot listen on 999.1.1.1:8080: name or service not known"


class _ResetTransport(asyncio.Transport):
    """A transport for one connection driven by hand, whose client resets it when the
    test says so (``closing``): what it was sent is kept in ``written``."""

    def __init__(self) -> None:
        super().__init__()
        self.closing = False
        self.written: list[bytes] = []

    def get_extra_info(self, name: str, default: object = None) -> object:
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 80)}.get(name, default)

    def is_closing(self) -> bool:
        return self.closing

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written.append(bytes(data))

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.closing = True

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0


@pytest.mark.parametrize("turn_first", [True, False], ids=["turn first", "loss first"])
def test_requests_still_buffered_when_the_client_resets_are_all_recorded(
    monkeypatch: pytest.MonkeyPatch, turn_first: bool
) -> None:
    # Answered a turn at a time, a burst's requests still buffered when its client
    # reset the connection were never recorded: the turn saw a closed transport.
    from capture.lab import reflect

    monkeypatch.setattr(reflect, "TURN", 0.0)  # a turn after every request
    records: list[Record] = []
    burst = b"".join(b"GET /%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(40))
    burst += b"POST /cut HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhalf"

    async def reset_mid_burst() -> _ResetTransport:
        reflector = Reflector(on_record=records.append)
        connection = reflect._Connection(reflector)
        transport = _ResetTransport()
        connection.connection_made(transport)
        connection.data_received(burst)  # the first answered; the rest wait their turn
        transport.closing = True
        if turn_first:
            await asyncio.sleep(0)  # the turn comes, and finds the transport closed
        connection.connection_lost(ConnectionResetError())
        for _ in range(100):
            await asyncio.sleep(0)
        return transport

    transport = asyncio.run(reset_mid_burst())
    assert [r.request.uri for r in records] == [f"/{i}" for i in range(40)] + ["/cut"]
    assert any("connection ended before the body" in a for a in records[-1].request.anomalies)
    assert len(transport.written) == 1  # nothing written after the reset
    # Recorded, and not taken for reflected: they say so, and the summary counts them.
    unanswered = [r.request.uri for r in records if reflect._UNANSWERED in r.request.anomalies]
    assert unanswered == [f"/{i}" for i in range(1, 40)]


def test_a_request_refused_after_the_client_reset_is_recorded_with_its_refusal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from capture.lab import reflect

    monkeypatch.setattr(reflect, "TURN", 0.0)
    records: list[Record] = []
    too_large = b"POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999999\r\n\r\n"
    burst = b"GET /0 HTTP/1.1\r\nHost: x\r\n\r\n" * 2 + too_large

    async def reset_mid_burst() -> None:
        connection = reflect._Connection(Reflector(on_record=records.append))
        transport = _ResetTransport()
        connection.connection_made(transport)
        connection.data_received(burst)
        transport.closing = True
        connection.connection_lost(ConnectionResetError())
        for _ in range(20):
            await asyncio.sleep(0)

    asyncio.run(reset_mid_burst())
    assert [r.request.uri for r in records] == ["/0", "/0", "/big"]
    assert any("413" in a for a in records[-1].request.anomalies)


def test_the_summary_counts_requests_recorded_after_their_client_went_apart() -> None:
    reflector = Reflector()
    reflector.counters.requests, reflector.counters.unanswered = 3, 2
    assert reflector.counters.summary().startswith(
        "3 requests reflected, 2 requests not answered (connection ended), "
    )


def _burst_then_stop(reflector: Reflector, records: list[Record]) -> list[bytes]:
    """Send 1,500 pipelined requests, and stop the reflector as soon as it has recorded
    the first: the rest wait for their turns. The requests sent, in order."""
    requests = [b"GET /%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(1500)]
    with running_reflector(reflector) as port:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        # Under 64 KiB: one segment on loopback, read whole by the reflector's first read.
        sock.sendall(b"".join(requests))
        deadline = time.monotonic() + 5
        while not records and time.monotonic() < deadline:
            time.sleep(0.001)
    sock.close()
    return requests


def test_requests_buffered_when_the_reflector_stops_are_all_recorded() -> None:
    # Stopped while a burst waited for its turns, the reflector dropped the rest of it
    # (413 to 540 of 3,000 recorded).
    records: list[Record] = []
    reflector = Reflector(on_record=records.append)
    _burst_then_stop(reflector, records)
    assert [r.request.uri for r in records] == [f"/{i}" for i in range(1500)]
    counters = reflector.counters
    assert counters.unanswered > 0
    assert counters.requests + counters.unanswered == 1500
    assert counters.left_at_stop == 0


def test_what_the_stop_has_no_time_to_record_is_counted_in_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 64 MiB of tiny requests would take minutes to record: the stop gives it
    # STOP_DRAIN seconds, and says how much it left.
    from capture.lab import reflect

    monkeypatch.setattr(reflect, "STOP_DRAIN", 0.0)
    records: list[Record] = []
    reflector = Reflector(on_record=records.append)
    requests = _burst_then_stop(reflector, records)
    recorded = len(records)
    assert 0 < recorded < 1500
    assert [r.request.uri for r in records] == [f"/{i}" for i in range(recorded)]
    assert reflector.counters.left_at_stop == sum(len(r) for r in requests[recorded:])
    assert "bytes still buffered at stop not read as requests" in reflector.counters.summary()


class _FailingWrites(_ResetTransport):
    """A transport whose first write fails, as a send to a client that reset does:
    closing from then on, connection_lost to come."""

    def write(self, data: bytes | bytearray | memoryview) -> None:
        super().write(data)
        self.closing = True


def test_after_a_failed_write_a_refused_request_is_recorded_and_nothing_after_it() -> None:
    # The refusal went unrecorded, and the reading went on past it: a request the
    # client chose ("/smuggled") was recorded, none of the refused ones.
    records: list[Record] = []
    burst = (
        b"GET /first HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /barecr HTTP/1.1\r\nHost: x\rX: y\r\n\r\n"
        b"GET /smuggled HTTP/1.1\r\nHost: x\r\nX-Forged: yes\r\n\r\n"
    )

    async def reset_after_the_first_answer() -> None:
        from capture.lab import reflect

        connection = reflect._Connection(Reflector(on_record=records.append))
        connection.connection_made(_FailingWrites())
        connection.data_received(burst)
        connection.connection_lost(ConnectionResetError())
        for _ in range(20):
            await asyncio.sleep(0)

    asyncio.run(reset_after_the_first_answer())
    assert [r.request.uri for r in records] == ["/first", "/barecr"]
    assert any("400" in a for a in records[1].request.anomalies)


def test_a_gone_client_gets_no_100_continue_and_keeps_no_timer_or_eviction_place(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A 100 Continue written to a reset socket was a log line a request; a gone
    # connection put itself back in the eviction queue each turn (so max_connections
    # was passed, and evictions counted that closed nothing) and kept its timers.
    from capture.lab import reflect

    monkeypatch.setattr(reflect, "TURN", 0.0)
    expect = b"POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx"
    records: list[Record] = []
    seen_waiting: list[bool] = []

    async def reset_mid_burst() -> _ResetTransport:
        reflector = Reflector(on_record=records.append)
        connection = reflect._Connection(reflector)
        transport = _ResetTransport()
        connection.connection_made(transport)
        connection.pause_writing()  # a client that does not read: the send timer runs
        connection.data_received(expect * 30)
        transport.closing = True
        connection.connection_lost(ConnectionResetError())
        assert connection.send_timer is None and connection.timer is None
        for _ in range(100):
            key = id(connection)
            seen_waiting.append(
                key in reflector._waiting or key in reflector._fresh or key in reflector._bodies
            )
            assert connection.timer is None
            await asyncio.sleep(0)
        assert not reflector._draining
        return transport

    transport = asyncio.run(reset_mid_burst())
    assert len(records) == 30
    assert not any(seen_waiting)
    assert not any(b"100 Continue" in w for w in transport.written)


def test_a_gone_client_s_body_of_tiny_chunks_is_recorded_a_turn_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 256 KiB of one-byte chunks took 245 ms in one turn: a stop could not give up.
    from capture.lab import reflect

    monkeypatch.setattr(reflect, "TURN", 0.0)
    body = b"1\r\nx\r\n" * 500 + b"0\r\n\r\n"
    head = b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    records: list[Record] = []
    turns = 0

    async def reset_then_record() -> None:
        nonlocal turns
        connection = reflect._Connection(Reflector(on_record=records.append))
        connection.connection_made(_ResetTransport())
        connection.lost = True  # gone before its first byte was read: all of it to record
        connection.data_received(head + body)
        while connection.turn_due:
            turns += 1
            await asyncio.sleep(0)

    asyncio.run(reset_then_record())
    assert turns >= 100
    [record] = records
    assert record.request.body_length == 500
