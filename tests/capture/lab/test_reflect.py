"""The reflector over real sockets on loopback: what it echoes is what arrived."""

from __future__ import annotations

import json
import socket

from capture.http.echo import ECHO_HEADER, decode_echo
from capture.http.http1 import find_head_end, parse_response_head
from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.lab.reflect import Reflector
from capture.model import Record
from tests.carrier import running_reflector


def exchange(port: int, raw: bytes, responses: int = 1) -> list[tuple[int, dict[str, str], bytes]]:
    """Send ``raw``; read ``responses`` answers (status, headers, body)."""
    out = []
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
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
        # Still serving.
        [(status, _, _)] = exchange(port, b"GET / HTTP/1.0\r\n\r\n")
        assert status == 200
