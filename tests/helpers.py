"""Test helpers: run the pipeline on frames or files, collect requests."""

from __future__ import annotations

import gzip
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from capture.model import Record, RequestSeen, ResponseSeen
from capture.pipeline import Pipeline
from capture.sources.frames import CaptureFile, Frame
from tests.packets.craft import Conversation
from tests.packets.writer import write_pcap


def run_frames(
    frames: Iterable[tuple[float, bytes]], pipeline: Pipeline | None = None
) -> list[Record]:
    """Records from Ethernet frames, responses folded in."""
    pipeline = pipeline or Pipeline()
    return records_of(pipeline.run(Frame(ts, 1, data) for ts, data in frames))


def run_file(path: str, pipeline: Pipeline | None = None) -> list[Record]:
    """Records from a capture file."""
    pipeline = pipeline or Pipeline()
    return records_of(pipeline.run(CaptureFile(path)))


def records_of(events: Iterable[object]) -> list[Record]:
    """Records from pipeline events, responses folded in."""
    import dataclasses

    records: dict[int, Record] = {}
    for event in events:
        if isinstance(event, RequestSeen):
            records[event.record.id] = event.record
        elif isinstance(event, ResponseSeen):
            records[event.record_id] = dataclasses.replace(
                records[event.record_id], response=event.response
            )
    return list(records.values())


def conversation(**kw: object) -> Conversation:
    """A TCP conversation 10.0.0.1:40000 -> 10.0.0.2:80 unless overridden."""
    args: dict[str, object] = {
        "client": "10.0.0.1",
        "cport": 40000,
        "server": "10.0.0.2",
        "sport": 80,
        "ts": 1000.0,
    }
    args.update(kw)
    return Conversation(**args)  # type: ignore[arg-type]


def simple_request(path: str = "/", host: str = "example.com", extra: str = "") -> bytes:
    """A minimal HTTP/1.1 GET."""
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode()


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def save(tmp_path: object, frames: list[tuple[float, bytes]], name: str = "t.pcap") -> str:
    """Write frames to a pcap in ``tmp_path``."""
    path = f"{tmp_path}/{name}"
    write_pcap(path, frames)
    return path


def post_request(path: str, body: bytes, content_type: str, extra: str = "") -> bytes:
    """An HTTP/1.1 POST of ``body`` to example.com."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: example.com\r\n{extra}Content-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


BODY_NUMBER = "447700900123"
BODY_IMEI = "490154203237518"


def identity_bodies_capture(tmp_path: object) -> str:
    """A capture whose requests carry identities in their bodies (JSON, a form, gzipped
    JSON that is no text) besides a header and a query, each answered: the requests a
    format that keeps bodies, or does not, must read back with the same findings."""
    conv = conversation()
    json_body = f'{{"user":{{"tel":"+{BODY_NUMBER}","imei":"{BODY_IMEI}"}}}}'.encode()
    requests = [
        post_request("/h", json_body, "application/json", f"X-MSISDN: {BODY_NUMBER}\r\n"),
        post_request(
            "/f",
            f"imsi=234150999999999&msisdn={BODY_NUMBER}".encode(),
            "application/x-www-form-urlencoded",
        ),
        post_request("/z", gzip.compress(json_body, mtime=0), "application/json"),
        simple_request(f"/q?imei={BODY_IMEI}"),
    ]
    frames = conv.handshake()
    for request in requests:
        frames += conv.send(True, request)
        frames += conv.send(False, OK)
    return save(tmp_path, frames, "bodies.pcap")


SUPERCOOKIE = "OTgxNTk2NDk0ADJVquRu5NS5+rSbBANlrp+13QL7CXLGsFHpMi4LsUHw"
"""An X-UIDH-like token (base64, as Verizon's was), under a name no catalog knows: only
the recurrence detector can tell it is an identity."""
SUPERCOOKIE_SITES = ("a.example", "b.example.org", "c.example.net", "d.example.com")
"""The sites it is sent to, in order: ``--recurrence 3`` finds it at the third."""


def supercookie_capture(tmp_path: object, injected: bool = False) -> str:
    """A capture of one request to each of :data:`SUPERCOOKIE_SITES` carrying
    :data:`SUPERCOOKIE` in an ``X-Sub-Tag`` header and a query parameter, each answered;
    ``injected``: the header is not sent but added on the way, as a reflector's echo in
    each answer shows (and the query has no token)."""
    from capture.http.echo import ECHO_HEADER, encode_echo

    frames = []
    for index, host in enumerate(SUPERCOOKIE_SITES):
        conv = conversation(cport=40000 + index, ts=1000.0 + index)
        tag = f"X-Sub-Tag: {SUPERCOOKIE}\r\n"
        if injected:
            request = simple_request("/p", host)
            received = (("Host", host), ("X-Sub-Tag", SUPERCOOKIE))
            echo = f"{ECHO_HEADER}: {encode_echo(received)}\r\n".encode()
            answer = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n" + echo + b"\r\n"
        else:
            request = simple_request(f"/p?u={SUPERCOOKIE}", host, tag)
            answer = OK
        frames += conv.handshake() + conv.send(True, request) + conv.send(False, answer)
    return save(tmp_path, frames, "supercookie.pcap")


def fresh_python(code: str) -> str:
    """What ``code`` prints, run in a fresh interpreter from the repository (what it
    imports is its own: for tests of what a command loads)."""
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def gapped_capture(tmp_path: object) -> str:
    """A capture with gaps on both sides, each proven by the other side's
    acknowledgement: one in a request (the second of its segments lost), two in a
    response (its second and fourth segments lost), on two connections."""
    frames = []
    lossy = conversation(cport=41000, mss=20)
    request = simple_request("/client-gap", extra="X-Pad: " + "p" * 40 + "\r\n")
    frames += lossy.handshake()
    first, _lost, *rest = lossy.send(True, request)
    frames += [first, *rest, *lossy.ack(False), *lossy.send(False, OK), *lossy.close()]
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 4000\r\n\r\n" + b"b" * 4000
    cut = conversation(cport=41001, mss=1000, ts=1001.0)
    frames += cut.handshake() + cut.send(True, simple_request("/server-gaps"))
    segments = cut.send(False, answer)
    frames += [segments[0], segments[2], *segments[4:], *cut.ack(True), *cut.close()]
    return save(tmp_path, frames, "gapped.pcap")
