"""Requests the reflector refuses after reading their head are recorded: real sockets on
loopback. The answer is the refusal; the record is the evidence of what arrived."""

from __future__ import annotations

import socket
import time

from capture.formats.jsonl import REFUSED_NOTE, refused_note
from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.lab.limits import Limits
from capture.lab.reflect import Reflector
from capture.model import Record
from tests.capture.lab.test_reflect import exchange, read_answer
from tests.carrier import running_reflector


def reflector(limits: Limits | None = None) -> tuple[Reflector, list[Record]]:
    """A reflector that finds GB numbers and keeps the records it hands on."""
    records: list[Record] = []
    detector = IdentityDetector(IdentityConfig(region="GB"))
    return Reflector(detector, records.append, limits or Limits()), records


def msisdns(record: Record) -> list[str]:
    return [f.normalized for f in record.identities if f.kind == "msisdn"]


def test_an_msisdn_header_with_a_space_before_its_colon_gets_400_and_is_recorded() -> None:
    # A broken middlebox's injection: the reflector must refuse it (RFC 9112 §5.1),
    # and the number it carried is the evidence.
    refl, records = reflector()
    with running_reflector(refl) as port:
        [(status, headers, body)] = exchange(
            port, b"GET /p HTTP/1.1\r\nHost: lab\r\nX-MSISDN : 447700900123\r\n\r\n"
        )
    assert status == 400 and headers["connection"] == "close"
    assert body == b"bad header field: whitespace before colon in header 'X-MSISDN'\n"
    [record] = records
    assert record.request.uri == "/p"
    assert ("X-MSISDN", "447700900123") in record.request.headers
    assert record.request.anomalies[-1] == (
        "refused by the reflector: 400 whitespace before colon in header 'X-MSISDN'"
    )
    assert msisdns(record) == ["+447700900123"]
    assert refl.counters.requests == 0 and refl.counters.bad_request == 1


def test_a_folded_header_line_gets_400_and_the_request_is_recorded_with_its_msisdn() -> None:
    refl, records = reflector()
    with running_reflector(refl) as port:
        [(status, _, _)] = exchange(
            port,
            b"GET / HTTP/1.1\r\nHost: lab\r\nX-MSISDN: 447700900123\r\nX-Via: a\r\n b\r\n\r\n",
        )
    assert status == 400
    [record] = records
    assert record.request.anomalies[-1] == refused_note(400, "obs-fold (folded header line)")
    assert msisdns(record) == ["+447700900123"]
    assert refl.counters.requests == 0


def test_a_declared_body_over_the_limit_gets_413_and_its_head_is_recorded() -> None:
    refl, records = reflector(Limits(max_body=1000))
    with running_reflector(refl) as port:
        [(status, _, body)] = exchange(
            port,
            b"POST /up HTTP/1.1\r\nHost: lab\r\nX-MSISDN: 447700900123\r\n"
            b"Content-Length: 2000\r\n\r\n",
        )
    assert (status, body) == (413, b"request body too large\n")
    [record] = records
    assert (record.request.method, record.request.uri) == ("POST", "/up")
    assert (record.request.body, record.request.body_length) == (b"", 0)
    assert record.request.anomalies == (
        "refused by the reflector: 413 request body over the limit of 1,000 bytes (2,000 declared)",
    )
    assert msisdns(record) == ["+447700900123"]
    assert refl.counters.requests == 0 and refl.counters.body_too_large == 1


def test_a_declared_body_over_the_limit_keeps_the_first_bytes_that_came_with_its_head() -> None:
    # README: the first 4 KiB of a body stay on the record. Refused at its head, a form's
    # first fields were dropped with the rest, and the IMEI in them was never found.
    refl, records = reflector(Limits(max_body=1000))
    with running_reflector(refl) as port:
        [(status, _, _)] = exchange(
            port,
            b"POST /up HTTP/1.1\r\nHost: lab\r\nContent-Type: application/x-www-form-urlencoded"
            b"\r\nContent-Length: 5000\r\n\r\nmsisdn=447700900123&pad=" + b"x" * 100,
        )
    assert status == 413
    [record] = records
    assert record.request.body.startswith(b"msisdn=447700900123&pad=")
    assert record.request.body_length == len(record.request.body)
    assert msisdns(record) == ["+447700900123"]


def test_the_summary_counts_the_requests_cut_short_by_their_client() -> None:
    refl, records = reflector()
    with running_reflector(refl) as port:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"POST / HTTP/1.1\r\nHost: lab\r\nContent-Length: 100\r\n\r\nabc")
            time.sleep(0.2)
        deadline = time.monotonic() + 5
        while not records and time.monotonic() < deadline:
            time.sleep(0.02)
    assert len(records) == 1
    assert refl.counters.summary().startswith(
        "0 requests reflected, 1 request cut short before the body was whole, 1 connection"
    )


def test_a_body_cut_by_broken_chunked_framing_is_recorded_as_far_as_it_came() -> None:
    refl, records = reflector()
    with running_reflector(refl) as port:
        [(status, _, _)] = exchange(
            port, b"PUT / HTTP/1.1\r\nHost: lab\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY"
        )
    assert status == 400
    [record] = records
    assert (record.request.body, record.request.body_length) == (b"abc", 3)
    assert record.request.anomalies[-1] == refused_note(400, "broken chunked framing")


def test_a_body_past_its_deadline_gets_408_and_what_came_of_it_is_recorded() -> None:
    refl, records = reflector(Limits(body_timeout=0.5))
    with (
        running_reflector(refl) as port,
        socket.create_connection(("127.0.0.1", port), timeout=5) as sock,
    ):
        sock.sendall(b"POST / HTTP/1.1\r\nX-MSISDN: 447700900123\r\nContent-Length: 100\r\n\r\nabc")
        status, _, _ = read_answer(sock)
    assert status == 408
    [record] = records
    assert (record.request.body, record.request.body_length) == (b"abc", 3)
    assert record.request.anomalies[-1] == refused_note(408, "request body took too long")
    assert msisdns(record) == ["+447700900123"]


def test_a_client_that_closes_before_its_body_is_whole_has_its_request_recorded() -> None:
    # No refusal: the client went away. What came is the evidence, noted as a capture
    # notes a body its connection cut short.
    refl, records = reflector()
    with running_reflector(refl) as port:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(
                b"POST / HTTP/1.1\r\nX-MSISDN: 447700900123\r\nContent-Length: 100\r\n\r\nabc"
            )
            time.sleep(0.2)  # the head and the first bytes read before the close
        deadline = time.monotonic() + 5
        while not records and time.monotonic() < deadline:
            time.sleep(0.02)
    [record] = records
    assert (record.request.body, record.request.body_length) == (b"abc", 3)
    assert record.request.anomalies[-1] == "connection ended before the body was complete"
    assert msisdns(record) == ["+447700900123"]
    assert refl.counters.requests == 0


def test_a_request_refused_for_memory_as_it_is_answered_is_recorded_once_as_refused() -> None:
    # The head fits the budget; its echo and record do not.
    refl, records = reflector(Limits(memory_budget=4096))
    pad = b"X-Pad: " + b"p" * 1500 + b"\r\n"
    with running_reflector(refl) as port:
        [(status, _, _)] = exchange(
            port, b"GET / HTTP/1.1\r\nHost: lab\r\nX-MSISDN: 447700900123\r\n" + pad + b"\r\n"
        )
    assert status == 503
    [record] = records
    assert record.request.anomalies == (refused_note(503, "memory budget reached"),)
    assert msisdns(record) == ["+447700900123"]
    assert refl.counters.requests == 0 and refl.counters.memory == 1


def test_refused_requests_take_ids_in_turn_and_are_not_counted_as_reflected() -> None:
    refl, records = reflector(Limits(max_body=1000))
    with running_reflector(refl) as port:
        statuses = [
            exchange(port, raw)[0][0]
            for raw in (
                b"GET /1 HTTP/1.1\r\nHost: lab\r\n\r\n",
                b"GET /2 HTTP/1.1\r\nHost : lab\r\n\r\n",
                b"\x16\x03\x01\x02\x00\r\n\r\n",  # not HTTP: no request to record
                b"GET /x HTTP/1.1\r\nX: " + b"a" * 40_000 + b"\r\n\r\n",  # 431: nor here
                b"POST /3 HTTP/1.1\r\nContent-Length: 1001\r\n\r\n",
                b"GET /4 HTTP/1.1\r\nHost: lab\r\n\r\n",
            )
        ]
    assert statuses == [200, 400, 400, 431, 413, 200]
    assert [(r.id, r.request.uri) for r in records] == [(1, "/1"), (2, "/2"), (3, "/3"), (4, "/4")]
    refused = [
        r.id for r in records if any(a.startswith(REFUSED_NOTE) for a in r.request.anomalies)
    ]
    assert refused == [2, 3]
    assert refl.requests == 2
    assert refl.counters.summary().startswith("2 requests reflected, 6 connections")
