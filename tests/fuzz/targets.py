"""Every parser entry point the fuzz harness drives, in one table: :data:`TARGETS`.

Each :class:`FuzzTarget` names the entry point, gives real seeds (files under
tests/data, heads and expressions the other tests use) and a ``run`` function that
feeds one input (bytes) through the entry point the way a command does. An input
may fail only with the target's ``expected`` error types, the documented one-line
errors (:class:`CaptureError`, :class:`ConfigError`, :class:`FilterError`, ...);
anything else, or a hang, is a bug. Adding an input format (HAR, Suricata EVE,
Zeek http.log) is one more entry here: a name, its seeds, and how it is read.
See docs/fuzzing.md.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import gzip
import io
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from capture.config import ConfigError, parse_config
from capture.formats.jsonl import parsed_from_dict, record_to_dict
from capture.formats.session import SessionError, load_annotations, read_session_info, restore
from capture.http import http1
from capture.http.echo import ECHO_HEADER, decode_echo, encode_echo, transit
from capture.identity import canary, detector
from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.identity.digitpatterns import _digitpattern, digit_pattern
from capture.model import Request, RequestSeen
from capture.net.decode import Decoder
from capture.net.fragments import DATAGRAM_COST, PIECE_COST, Fragments
from capture.pipeline import Pipeline
from capture.sources.frames import CaptureError, CaptureFile, Frame
from capture.sources.inputs import after_reading, open_input
from capture.sources.records import RecordFile
from capture.view.filter import FilterError, compile_filter
from capture.view.store import Entry, Store
from tests.capture.factories import request as make_request
from tests.packets.craft import Conversation, ip_fragment, ip_fragments

ROOT = Path(__file__).resolve().parents[2]
PCAPS = ROOT / "tests" / "data" / "pcaps"
DATA = ROOT / "tests" / "data"
SEED_SIZE = 32 * 1024
"""Largest seed file taken: larger ones make each example slow without finding more."""
SERVER = b"\n--server--\n"
"""In an HTTP stream input: what the client sent, this, what the server sent."""
FRAME = b"\n--frame--\n"
"""In a fragment input: the Ethernet frames, one after the other."""


@dataclass(frozen=True)
class FuzzTarget:
    """One parser entry point under fuzzing."""

    name: str
    seeds: Callable[[], list[bytes]]
    """Real inputs to mutate (called once, lazily)."""
    run: Callable[[bytes], None]
    """Feed one input through the entry point; raises only ``expected`` (or a bug)."""
    expected: tuple[type[BaseException], ...] = ()
    """The documented one-line error types this entry point may raise on bad input."""
    split: (
        Callable[[bytes], tuple[bytes, list[bytes], Callable[[bytes, list[bytes]], bytes]]] | None
    ) = None
    """For inputs made of units (the frames of a capture): ``(head, units, join)``, so
    that units are mutated one by one and the input rebuilt consistent around them
    (record lengths rewritten). Random bytes rarely get past a file's framing."""


# --- shared -------------------------------------------------------------------------


@cache
def _scratch() -> Path:
    """A directory for the inputs that must be files (captures, sessions), removed
    when the run ends (each run used to leave one in the temp directory)."""
    path = Path(tempfile.mkdtemp(prefix="headerwatch-fuzz-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def _as_file(data: bytes, name: str) -> str:
    path = _scratch() / name
    path.write_bytes(data)
    return str(path)


@cache
def _detector() -> IdentityDetector:
    return IdentityDetector(IdentityConfig(region="GB", msisdns=("07700 900123",)))


def _files(*patterns: str) -> list[bytes]:
    found = sorted(p for pattern in patterns for p in PCAPS.rglob(pattern))
    return [p.read_bytes() for p in found if p.stat().st_size <= SEED_SIZE]


def _pipelines(frames: list[Frame]) -> None:
    """``frames`` through the dashboard's pipeline (every response parsed, frames fed
    one by one) and summarized."""
    pipeline = Pipeline(_detector())
    for _ in pipeline.run(frames):
        pass
    pipeline.summary()


# --- captures: pcap, pcapng, gzip ------------------------------------------------------


def _run_capture(data: bytes) -> None:
    """As ``scan FILE`` and ``open FILE`` read it: sniffed by :func:`open_input`, then
    the scan's pipeline (records passed over inside the reader) and the dashboard's."""
    path = _as_file(data, "input")
    source = open_input(path)
    if not isinstance(source, CaptureFile):
        source.close()
        return
    pipeline = Pipeline(_detector(), responses=False)
    for _ in pipeline.run_capture(source):
        pass
    pipeline.flush()
    pipeline.summary()
    after_reading(source)
    _pipelines(list(CaptureFile(path)))


def _pcap_seeds() -> list[bytes]:
    return _files("*.pcap")


def split_pcap(
    data: bytes,
) -> tuple[bytes, list[bytes], Callable[[bytes, list[bytes]], bytes]]:
    """A classic pcap as its file header, its frames, and how to write them back with
    their record headers (lengths rewritten, timestamps kept in order)."""
    if len(data) < 24 or data[:4] not in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        return data, [], lambda head, frames: head
    frames: list[bytes] = []
    at = 24
    while at + 16 <= len(data):
        caplen = int.from_bytes(data[at + 8 : at + 12], "little")
        frames.append(data[at + 16 : at + 16 + caplen])
        at += 16 + caplen

    def join(head: bytes, frames: list[bytes]) -> bytes:
        out = [head]
        for i, frame in enumerate(frames):
            size = len(frame).to_bytes(4, "little")
            out.append((1_000_000_000 + i).to_bytes(4, "little") + bytes(4) + size + size)
            out.append(frame)
        return b"".join(out)

    return data[:24], frames, join


def _pcapng_seeds() -> list[bytes]:
    return [*_files("*.pcapng"), _session_seed()]


def _gzip_seeds() -> list[bytes]:
    # Compressed with the fastest level: mutations then hit deflate blocks and the trailer.
    return [gzip.compress(seed, 1, mtime=0) for seed in _pcap_seeds()[:20]] + _files("*.gz")


def split_gzip(
    data: bytes,
) -> tuple[bytes, list[bytes], Callable[[bytes, list[bytes]], bytes]]:
    """:func:`split_pcap` inside gzip: the frames are mutated, then compressed again."""
    try:
        inner = gzip.decompress(data)
    except (OSError, EOFError, ValueError):
        return data, [], lambda head, frames: head
    head, frames, join = split_pcap(inner)
    return head, frames, lambda head, frames: gzip.compress(join(head, frames), 1, mtime=0)


# --- sessions --------------------------------------------------------------------------


@cache
def _session_seed() -> bytes:
    """A session written by headerwatch: marks, a comment and its header comment."""
    from capture.formats.session import SessionInfo, save_session

    source = _as_file(_fragment_frames_pcap(), "session-source.pcap")
    store = _store(source)
    for entry in store:
        entry.marked = True
        entry.comment = "fuzz seed"
    out = str(_scratch() / "seed-session.pcapng")
    save_session(out, [source], store, info=SessionInfo.new(canaries=["s3cret"], region="GB"))
    return Path(out).read_bytes()


def _store(path: str) -> Store:
    store = Store()
    pipeline = Pipeline(_detector())
    for frame in CaptureFile(path):
        store.apply(pipeline.feed(frame))
    store.apply(pipeline.flush())
    return store


def _run_session(data: bytes) -> None:
    """As ``open SESSION`` reopens a saved session: records, then marks and notes."""
    path = _as_file(data, "session.pcapng")
    read_session_info(path)
    load_annotations([path])
    restore(_store(path), [path])


# --- HTTP heads and bodies ----------------------------------------------------------

HTTP_SEEDS = [
    b"GET / HTTP/1.1\r\nHost: example.com\r\nX-MSISDN: 447700900123\r\n\r\n"
    + SERVER
    + b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    b"POST /form HTTP/1.1\r\nHost: a.example\r\nContent-Length: 11\r\n\r\nhello=world"
    + b"GET /2 HTTP/1.1\r\nHost: a.example\r\n\r\n"
    + SERVER
    + b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=1\r\nhello\r\n0\r\nT: 1\r\n\r\n"
    + b"HTTP/1.1 204 No Content\r\n\r\n",
    b"PUT /up HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    + SERVER
    + b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
    b"GET /old\nHost: lf.example\nX-Folded: a\n  b\n\n"
    + SERVER
    + b"HTTP/1.0 200 OK\n\nbody to close",
    b"GET /nine\r\n" + SERVER + b"<html>",
    b"CONNECT host:443 HTTP/1.1\r\nHost: host:443\r\n\r\n"
    + SERVER
    + b"HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x01",
    b"GET /ws HTTP/1.1\r\nHost: w\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
    + SERVER
    + b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x00",
    b"HEAD / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"
    + SERVER
    + b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
    b"GET /echo HTTP/1.1\r\nHost: reflect.example\r\nx-up-calling-line-id: 447700900123\r\n\r\n"
    + SERVER
    + b"HTTP/1.1 200 OK\r\n"
    + ECHO_HEADER.encode()
    + b": "
    + encode_echo((("Host", "reflect.example"), ("X-MSISDN", "447700900123"))).encode()
    + b"\r\nContent-Length: 0\r\n\r\n",
    "GET /caf\u00e9 HTTP/1.1\r\nHost: xn--caf-dma.example\r\nCookie: a=\u00e9\r\n\r\n".encode(),
    # The canary in every field it is looked for in: path, query (escaped, under a name
    # with a '+'), cookies (quoted, escaped) and a form body.
    b"POST /p/447700900123?n=%34%34%37%37%30%30%39%30%30%31%32%33&x+y=447700900123#f HTTP/1.1"
    + b'\r\nHost: c.example\r\nCookie: a=1; ph="447700900123"; e=%34477009001%323\r\n'
    + b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 20\r\n\r\n"
    + b"m=447700900123&k=%31",
]


def _http_seeds() -> list[bytes]:
    return HTTP_SEEDS


def _run_http(data: bytes) -> None:
    """The head parsers (C split, C request head and Python agree), body framing, and
    the whole stream (requests, pipelining, bodies, responses) through the pipeline."""
    client, _, server = data.partition(SERVER)
    for block in (client, server):
        end = http1.find_head_end(block)
        head = block if end < 0 else block[:end]
        _heads(head)
        if http1.c_request is not None:
            # The one-call head of a client's segment, whole or cut: as its reference.
            for part in (block, block[: len(block) // 2]):
                got = http1.c_request(part, http1.RequestHead)
                assert got == http1.plain_request(part), (part, got)
    conv = Conversation("10.0.0.1", 40000, "10.0.0.2", 80, 1000.0)
    split = 1 + (data[0] % 97 if data else 0)
    frames = conv.handshake() + conv.send(True, client, split) + conv.send(False, server)
    frames += conv.close()
    _pipelines([Frame(ts, 1, frame) for ts, frame in frames])
    pipeline = Pipeline(_detector(), responses=False)
    for event in pipeline.run(Frame(ts, 1, frame) for ts, frame in frames):
        if isinstance(event, RequestSeen):
            _canary_fields_agree(event.record.request)


BODY_SEEDS = [
    b"multipart/form-data; boundary=B\n--B\r\nContent-Disposition: form-data; "
    b'name="user[mobile]"\r\n\r\n07700900123\r\n--B\r\nContent-Disposition: form-data; '
    b'name="f"; filename="a.jpg"\r\n\r\n\xff\xd8\r\n--B--\r\n',
    b'text/xml\n<?xml version="1.0"?><s:E xmlns:s="u"><s:B><msisdn>&#43;447700900123</msisdn>'
    b'<d imei="490154203237518"/></s:B></s:E>',
    b"application/json\n" + gzip.compress(b'{"user": {"tel": "07700900123"}}', mtime=0),
    b"application/x-www-form-urlencoded\nclient=k&e=%5B%7B%22user_properties%22%3A%7B%22"
    b"imei%22%3A490154203237518%7D%7D%5D&data="
    + base64.b64encode(b'{"$set": {"$phone": "+447700900123", "$email": "a@b.example"}}')
    + b"&ud[em]=62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f",
    b'application/json\n{"hashed_phone_number": "1e231c66011e7a2d867a9cfae267a6aff103cf4913'
    b'640b6e71a99850fc0ffbc8", "ctx": "{\\"msisdn\\": \\"447700900123\\"}"}',
    b"application/x-www-form-urlencoded\nauth=eyJhbGciOiJSUzI1NiJ9."
    + base64.urlsafe_b64encode(b'{"sub": "1234567890", "phone_number": "+447700900123"}')
    + b".c2ln",
]
"""Request bodies of every kind the detector reads: multipart, XML, gzip, a form
with JSON and base64 JSON in its fields, JSON in a JSON string, digests, a JWT."""


def _run_body(data: bytes) -> None:
    """A POST whose Content-Type is the input's first line and body the rest, and a GET
    whose query is the body: the detector gives the same with its C first look and
    without it (the Python references), canaries included."""
    content_type, _, body = data.partition(b"\n")
    headers = (("Host", "t.example"), ("Content-Type", content_type.decode("latin-1")))
    query = "/p?" + body.decode("latin-1").replace("\r", "").replace("\n", "&")
    requests = [
        make_request(method="POST", uri="/e", headers=headers, body=body, body_length=len(body)),
        make_request(method="GET", uri=query, headers=headers[:1]),
    ]
    fast = [_detector().detect(request) for request in requests]
    saved = detector._idscan, canary._idscan
    detector._idscan = canary._idscan = None
    try:
        # A detector made without C (its needles are made only where C is built).
        reference = IdentityDetector(IdentityConfig(region="GB", msisdns=("07700 900123",)))
        slow = [reference.detect(request) for request in requests]
    finally:
        detector._idscan, canary._idscan = saved
    assert fast == slow, (fast, slow)


def _canary_fields_agree(request: Request) -> None:
    """The fields of ``request`` a canary is looked for in, cut out in C
    (``_idscan.canary_fields``, where it was built) as in Python."""
    matcher = _detector()._canaries
    needles = matcher.needles
    if detector._idscan is None or needles is None:
        return
    fast = detector._idscan.canary_fields(needles, request.headers, request.uri, request.body)
    if fast is not None:
        assert fast == list(detector._canary_fields(request, matcher.may_hold)), request


def _heads(head: bytes) -> None:
    for parse in (http1.parse_request_head, http1.parse_response_head):
        try:
            parsed = parse(head)
        except http1.MalformedHead:
            continue
        http1.request_framing(parsed.headers)
        for status in (200, 204, 101):
            http1.response_framing("GET", status, parsed.headers)
    if http1._headsplit is not None:
        fast = http1._headsplit.split(head)
        if fast is not None:
            # The C split takes only heads the Python path reads the same way.
            c_module, http1._headsplit = http1._headsplit, None  # type: ignore[assignment]
            try:
                slow = http1._split_head(head)
            finally:
                http1._headsplit = c_module
            assert (fast[0], fast[1], []) == slow, (fast, slow)
    for line in head.split(b"\n")[:8]:
        with contextlib.suppress(http1.MalformedHead):
            http1.parse_chunk_size(line)


# --- text inputs: config, filters, echo headers -------------------------------------

CONFIG_SEEDS = [
    b"""[identity]
region = "GB"
msisdn = ["07700 900123"]
imei = "490154203237518"
imsi = []
canary = ["alice@example.com"]
disabled = ["via", "device-id-name"]

[identity.headers]
"x-acme-subscriber" = { kind = "subscriber_id", severity = "high" }

[files]
shared = false

[keys]
follow = "F,ctrl+f"

[ui]
confirm_quit = true
""",
    b'[identity]\nregion = "US"\nmsisdn = "+1 202 555 0143"\n',
    b"a = [[[[[[[[1]]]]]]]]\n",
    b"",
]


def _run_config(data: bytes) -> None:
    parse_config(data.decode("utf-8", "replace"))


FILTER_SEEDS = [
    s.encode()
    for s in (
        "~id msisdn",
        "~m get & ~u /b$",
        "!~inj | ~hs x-served-by",
        "~h '[abc'",
        "(~q | ~s) & !~marked",
        "~comment proxy",
        "~inj ^via$",
        "~all | ~m x",
        '~b "a(b|c)+" & ~c 200',
        "~t json",
        "~d example.com & ~src 10.0.0.1",
        "a+++",
        "",
    )
]


@cache
def _entries() -> list[Entry]:
    """Entries to run compiled filters on: requests with identities, responses, echoes."""
    store = Store()
    pipeline = Pipeline(_detector())
    for seed in HTTP_SEEDS:
        client, _, server = seed.partition(SERVER)
        conv = Conversation("10.0.0.1", 40000, "10.0.0.2", 80, 1000.0)
        frames = conv.handshake() + conv.send(True, client) + conv.send(False, server)
        for ts, frame in frames + conv.close():
            store.apply(pipeline.feed(Frame(ts, 1, frame)))
    store.apply(pipeline.flush())
    entries = list(store)
    entries[0].marked = True
    entries[0].comment = "proxy"
    return entries


def _run_filter(data: bytes) -> None:
    match = compile_filter(data.decode("utf-8", "replace"))
    for entry in _entries():
        match(entry)


def _echo_seeds() -> list[bytes]:
    headers = [
        (("Host", "a.example"), ("X-MSISDN", "447700900123")),
        (("Host", "b"), ("Via", "1.1 proxy"), ("via", "2")),
        (),
        (("\u00e9", "\u202e"),),
    ]
    return [encode_echo(h).encode() for h in headers] + [b"W10=", b"not base64!"]


def _run_echo(data: bytes) -> None:
    """A reflector's echo header value, as the pipeline decodes and compares it."""
    sent = (("Host", "a.example"), ("X-MSISDN", "447700900123"))
    for value in (data.decode("utf-8", "replace"), base64.urlsafe_b64encode(data).decode()):
        received = decode_echo(value)
        if received is not None:
            transit(sent, received)


# --- libphonenumber's digit patterns in C ----------------------------------------------


def _digit_pattern_seeds() -> list[bytes]:
    """Patterns of a few regions' metadata, each with its examples and their prefixes."""
    from phonenumbers import PhoneMetadata

    seeds = []
    for region in ("GB", "US", "DE", "FR", "IN", "BR", "JP", "ZA", "AR", "IT"):
        metadata = PhoneMetadata.metadata_for_region(region)
        descs = [metadata.general_desc, metadata.fixed_line, metadata.mobile, metadata.toll_free]
        examples = [d.example_number for d in descs if d is not None and d.example_number]
        texts = examples + [e[: len(e) // 2] for e in examples] + ["", "0", "123456789012"]
        patterns = [d.national_number_pattern for d in descs if d and d.national_number_pattern]
        patterns += [metadata.international_prefix, metadata.national_prefix_for_parsing]
        patterns += [p for f in metadata.number_format for p in f.leading_digits_pattern[-1:]]
        seeds += ["\n".join([pattern, *texts]).encode() for pattern in patterns if pattern]
    return seeds


def _run_digit_pattern(data: bytes) -> None:
    """The input's first line as a pattern, the digits of each next line as a text:
    where ``_digitpattern`` takes the pattern, re must compile it too, and wherever the
    C program answers (not -2: gave up, which re then decides), its match and
    fullmatch end where re's do. Patterns are libphonenumber's; texts are traffic's."""
    text, _, rest = data.decode("utf-8", "replace").partition("\n")
    ours = digit_pattern(text)
    if ours is None:
        return
    theirs = re.compile(text)  # re.error here is a bug: C took a pattern re refuses
    for line in rest.split("\n")[:16]:
        digits = "".join(ch for ch in line if "0" <= ch <= "9")[:24]
        for full in (False, True):
            end = _digitpattern.match(ours.program, digits, full)
            if end == -2:
                continue
            found = theirs.fullmatch(digits) if full else theirs.match(digits)
            expected = -1 if found is None else found.end()
            assert end == expected, (text, digits, full, end, expected)


# --- JSONL records ----------------------------------------------------------------------


def _jsonl_seeds() -> list[bytes]:
    return _files("*.jsonl")[:40]


def _run_jsonl(data: bytes) -> None:
    """As ``scan FILE.jsonl`` reads it: :class:`RecordFile` with :func:`parsed_from_dict`,
    each request through :meth:`Pipeline.feed_request`, and written back as JSONL."""
    records = RecordFile("fuzz.jsonl", io.BytesIO(data), "JSONL", parsed_from_dict)
    pipeline = Pipeline(_detector())
    for parsed in records.requests():
        for event in pipeline.feed_request(parsed):
            record = getattr(event, "record", None)
            if record is not None:
                record_to_dict(record)
    records.problem()
    pipeline.summary()


# --- other tools' records: HAR, Suricata eve.json, Zeek http.log ---------------------------


def _data_seeds(*patterns: str) -> list[bytes]:
    found = sorted(p for pattern in patterns for p in DATA.glob(pattern))
    return [p.read_bytes()[:SEED_SIZE] for p in found]


def _run_kind(kind: str) -> Callable[[bytes], None]:
    """As ``scan --input KIND FILE`` reads it: :func:`open_input` with that kind, each
    request through :meth:`Pipeline.feed_request` and written back as JSONL, then what
    is said once the file has been read."""

    def run(data: bytes) -> None:
        source = open_input(_as_file(data, f"input.{kind}"), kind)
        try:
            assert not isinstance(source, CaptureFile)
            pipeline = Pipeline(_detector())
            for parsed in source.requests():
                for event in pipeline.feed_request(parsed):
                    record = getattr(event, "record", None)
                    if record is not None:
                        record_to_dict(record)
            after_reading(source)
            pipeline.summary()
        finally:
            source.close()

    return run


# --- IP fragments -----------------------------------------------------------------------


def _fragment_frames() -> list[tuple[float, bytes]]:
    conv = Conversation("10.0.0.1", 40000, "10.0.0.2", 80, 1000.0, mss=4000)
    frames = conv.handshake()
    request = HTTP_SEEDS[0].partition(SERVER)[0] + b"X-Pad: " + b"p" * 200 + b"\r\n\r\n"
    ((ts, segment),) = conv.send(True, request)
    frames += [(ts, piece) for piece in reversed(ip_fragments(segment, 64, 7))]
    frames.append((ts, ip_fragment(segment, 16, 48, True, 7, b"X" * 48)))
    six = Conversation("2001:db8::1", 40001, "2001:db8::2", 80, 1001.0, mss=4000)
    frames += six.handshake()
    ((ts, segment),) = six.send(True, request)
    frames += [(ts, piece) for piece in ip_fragments(segment, 96, 8)]
    return frames


def _fragment_frames_pcap() -> bytes:
    from tests.packets.writer import write_pcap

    path = str(_scratch() / "fragments.pcap")
    write_pcap(path, _fragment_frames())
    return Path(path).read_bytes()


def _fragment_seeds() -> list[bytes]:
    return [FRAME.join(frame for _, frame in _fragment_frames())]


def _run_fragments(data: bytes) -> None:
    """Ethernet frames (IP fragments mostly) through the decoder, with a small budget
    and timeout so the bounds are reached; the accounting must stay exact."""
    fragments = Fragments(budget=8 * 1024, timeout=2.0)
    decoder = Decoder(fragments=fragments)
    for i, frame in enumerate(data.split(FRAME)):
        seg = decoder.decode(1000.0 + i * 0.25, 1, frame)
        if seg is not None:
            assert len(seg.payload) <= 65_535
        assert 0 <= fragments.buffered <= fragments.budget
    held = sum(
        DATAGRAM_COST + d.covered + PIECE_COST * len(d.pieces) for d in fragments._table.values()
    )
    assert held == fragments.buffered, (held, fragments.buffered)
    for d in fragments._table.values():
        ends = [s + len(p) for s, p in zip(d.starts, d.pieces, strict=True)]
        assert all(e <= s for e, s in zip(ends, d.starts[1:], strict=False)), "pieces overlap"


TARGETS: tuple[FuzzTarget, ...] = (
    FuzzTarget("pcap", _pcap_seeds, _run_capture, (CaptureError,), split_pcap),
    FuzzTarget("pcapng", _pcapng_seeds, _run_capture, (CaptureError,)),
    FuzzTarget("gzip", _gzip_seeds, _run_capture, (CaptureError,), split_gzip),
    FuzzTarget("http", _http_seeds, _run_http),
    FuzzTarget("session", lambda: [_session_seed()], _run_session, (CaptureError, SessionError)),
    FuzzTarget("config", lambda: CONFIG_SEEDS, _run_config, (ConfigError,)),
    FuzzTarget("filter", lambda: FILTER_SEEDS, _run_filter, (FilterError,)),
    FuzzTarget("echo", _echo_seeds, _run_echo),
    FuzzTarget("digit-pattern", _digit_pattern_seeds, _run_digit_pattern),
    FuzzTarget("request-body", lambda: BODY_SEEDS, _run_body),
    FuzzTarget("jsonl", _jsonl_seeds, _run_jsonl),
    FuzzTarget("ip-fragments", _fragment_seeds, _run_fragments),
    FuzzTarget("har", lambda: _data_seeds("har/*.har"), _run_kind("har"), (CaptureError,)),
    FuzzTarget(
        "suricata",
        lambda: _data_seeds("engines/suricata/*.json"),
        _run_kind("suricata"),
        (CaptureError,),
    ),
    FuzzTarget(
        "zeek",
        lambda: _data_seeds("engines/zeek/*.log", "engines/zeek/*.json", "engines/zeek/*.tsv"),
        _run_kind("zeek"),
        (CaptureError,),
    ),
)
"""Every fuzzed entry point (tests/fuzz/test_fuzz.py runs each)."""

assert len({t.name for t in TARGETS}) == len(TARGETS)
