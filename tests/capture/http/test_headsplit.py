"""The HTTP head split in C (``capture/http/_headsplit.c``) against the one in Python.

``capture.http.http1._split_head`` hands plain heads (ASCII, CRLF, ``name: value``) to
the C split where it was built; everything else, and everything where it was
not, goes the Python way. Whatever the head, both ways give the same first
line, headers and anomalies.

The stream reader hands a client's bytes to ``_headsplit.request`` first: where the
head ends, its split, its request line and its framing headers in one call. Its
reference is ``capture.http.http1.plain_request``; both give the same answer on any
bytes, and where they take a head, the general path (``find_head_end``,
``parse_request_head``, ``request_framing``) gives the same head.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capture.http import http1
from capture.http.http1 import (
    CONTENT_LENGTH,
    TRANSFER_ENCODING,
    UPGRADE,
    RequestHead,
    find_head_end,
    has_upgrade,
    parse_request_head,
    plain_request,
    request_framing,
)

pytestmark = pytest.mark.skipif(
    http1._headsplit is None,
    reason="capture.http._headsplit is not built (no C compiler when headerwatch was installed)",
)


def _both(block: bytes, monkeypatch: Any) -> tuple[Any, bool]:
    """The split of ``block`` both ways (equal), and whether C took it."""
    in_c = http1._split_head(block)
    with monkeypatch.context() as patch:
        patch.setattr(http1, "_headsplit", None)
        patch.setattr(http1, "_LINES", {})
        in_python = http1._split_head(block)
    assert in_c == in_python
    assert http1._headsplit is not None
    return in_c, http1._headsplit.split(block) is not None


PLAIN = (
    b"GET /a?b=c HTTP/1.1\r\nHost: example.com\r\nX-Up-Calling-Line-Id:  447700900123 \t\r\n\r\n"
)


@pytest.mark.parametrize(
    ("block", "taken"),
    [
        (PLAIN, True),
        (PLAIN[:-4], True),  # no end of head
        (PLAIN + b"\r\n\r\n", True),  # more empty lines
        (b"", True),
        (b"\r\n", True),
        (b"GET / HTTP/1.1", True),  # a request line alone
        (b"GET / HTTP/1.1\r\nEmpty:\r\nColons: a:b:c\r\n\r\n", True),
        (b"GET / HTTP/1.1\r\nCR: a\rb\r\r\n\r\n", True),  # a CR inside a line stays
        (b"GET / HTTP/1.1\r\nNUL: a\x00b\r\n\r\n", True),
        (b"GET / HTTP/1.1\nHost: a\n\n", False),  # bare LF
        (b"GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", False),  # one bare LF
        (b"GET / HTTP/1.1\r\nHost: caf\xc3\xa9\r\n\r\n", False),  # UTF-8
        (b"GET / HTTP/1.1\r\nHost: \xff\xfe\r\n\r\n", False),  # not UTF-8
        (b"GET / HTTP/1.1\r\nNo colon\r\n\r\n", False),
        (b"GET / HTTP/1.1\r\n: no name\r\n\r\n", False),
        (b"GET / HTTP/1.1\r\nName : space\r\n\r\n", False),
        (b"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", False),  # obs-fold
        (b"GET / HTTP/1.1\r\n\tTab: a\r\n\r\n", False),
        (b"GET / HTTP/1.1\r\nA: 1\r\n\r\nB: 2\r\n\r\n", False),  # an empty line inside
        (b"\r\nGET / HTTP/1.1\r\nA: 1\r\n\r\n", False),
    ],
)
def test_heads_plain_and_odd(block: bytes, taken: bool, monkeypatch: Any) -> None:
    assert _both(block, monkeypatch)[1] is taken
    assert _both(bytearray(block), monkeypatch)[1] is taken


def test_the_heads_of_the_corpus(pcaps_dir: Path, monkeypatch: Any) -> None:
    """Every head-like block of the corpus (each up to an empty line)."""
    taken = 0
    for path in sorted(pcaps_dir.rglob("*.pcap*")) + sorted(pcaps_dir.rglob("*.gz")):
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        for method in (b"GET ", b"POST ", b"HTTP/1."):
            start = data.find(method)
            while start >= 0:
                end = data.find(b"\r\n\r\n", start, start + 8192)
                block = data[start : end + 4 if end >= 0 else start + 2000]
                taken += _both(block, monkeypatch)[1]
                start = data.find(method, start + 1)
    assert taken > 300


_LINE = st.lists(
    st.sampled_from(
        [b"a", b"Host", b":", b" ", b"\t", b"\r", b"\n", b"\r\n", b"\xc3\xa9", b"\x80"]
    ),
    max_size=12,
).map(b"".join)


@settings(max_examples=400, deadline=None)
@given(st.lists(_LINE, max_size=8), st.sampled_from([b"", b"\r\n", b"\r\n\r\n"]))
def test_any_head(lines: list[bytes], end: bytes) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        _both(b"GET / HTTP/1.1\r\n" + b"\r\n".join(lines) + end, monkeypatch)
        _both(b"\r\n".join(lines) + end, monkeypatch)


def _request_both_ways(data: bytes) -> tuple[int, RequestHead, int, int] | None:
    """``_headsplit.request`` of ``data`` (bytes and bytearray), equal to its reference;
    where taken, the head is the general path's."""
    assert http1._headsplit is not None
    in_c = http1._headsplit.request(data, RequestHead)
    assert http1._headsplit.request(bytearray(data), RequestHead) == in_c
    assert in_c == plain_request(data)
    if in_c is not None:
        end, head, flags, length = in_c
        assert type(head) is RequestHead
        assert end == find_head_end(data)
        assert head == parse_request_head(data[:end])
        assert bool(flags & UPGRADE) == has_upgrade(head.headers)
        names = {name.lower() for name, _ in head.headers}
        assert bool(flags & CONTENT_LENGTH) == ("content-length" in names)
        assert bool(flags & TRANSFER_ENCODING) == ("transfer-encoding" in names)
        if not flags & (CONTENT_LENGTH | TRANSFER_ENCODING):
            assert request_framing(head.headers) == http1.Framing("none", 0, ())
        if length >= 0:
            # The length read with the head is the framing walk's, with no anomaly.
            framing = request_framing(head.headers)
            assert (framing.length, framing.anomalies) == (length, ())
            assert framing.kind == ("length" if length else "none")
    return in_c


@pytest.mark.parametrize(
    ("data", "taken"),
    [
        (PLAIN, True),
        (PLAIN + b"body after the head", True),
        (PLAIN + PLAIN, True),  # pipelined: the first head
        (b"GET / HTTP/1.1\r\n\r\n", True),  # no headers
        (b"GET  HTTP/1.1\r\n\r\n", True),  # an empty target
        (b"GET /a b HTTP/1.1\r\n\r\n", True),  # a space in the target
        (b"GET /\x00\r HTTP/1.1\r\n\r\n", True),  # controls in the target
        (b"GET / HTTP/\r\n\r\n", True),
        (b"M-SEARCH * HTTP/1.1\r\nST: x\r\n\r\n", True),
        (b"POST / HTTP/1.1\r\nContent-LENGTH: 3\r\n\r\nabc", True),
        (b"GET / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n", True),
        (b"GET / HTTP/1.1\r\nConnection: Upgrade\r\nUPGRADE: h2c\r\n\r\n", True),
        (b"CONNECT a:443 HTTP/1.1\r\n\r\n", True),
        (PLAIN[:-1], False),  # not complete
        (PLAIN[:-2], False),
        (PLAIN[:20], False),
        (b"", False),
        (b"\r\n\r\n", False),
        (b"\r\nGET / HTTP/1.1\r\n\r\n", False),  # an empty line first
        (b"GET / HTTP/1.1\n\n", False),  # bare LF
        (b"GET / HTTP/1.1\r\nA: b\n\r\n", False),
        (b"GET / HTTP/1.1\r\nA: b\r\n\n", False),
        (b"GET / HTTP/1.1\r\nHost: caf\xc3\xa9\r\n\r\n", False),  # not ASCII
        (b"GET / HTTP/1.1\r\n\r\n\xff", True),  # ... past the head: no matter
        (b"GET / HTTP/1.1\r\nNo colon\r\n\r\n", False),
        (b"GET / HTTP/1.1\r\nName : v\r\n\r\n", False),
        (b"GET / HTTP/1.1\r\n folded\r\n\r\n", False),
        (b"GET /\r\n\r\n", False),  # HTTP/0.9
        (b"GET HTTP/1.1\r\n\r\n", False),  # one space
        (b"GET / HTTP/1.1 \r\n\r\n", False),  # nothing after the last space
        (b"GET / http/1.1\r\n\r\n", False),  # the general path reads it
        (b"GET / HTTP/1.1\r\r\n\r\n", False),  # a CR in the version
        (b"GET / HTTP/1.\x1c\r\n\r\n", False),
        (b"G(T / HTTP/1.1\r\n\r\n", False),  # not a token
        (b" GET / HTTP/1.1\r\n\r\n", False),
    ],
)
def test_request_heads_plain_and_odd(data: bytes, taken: bool) -> None:
    assert (_request_both_ways(data) is not None) is taken


def test_the_request_heads_of_the_corpus(pcaps_dir: Path) -> None:
    """Every request-like stretch of the corpus, whole and cut short."""
    taken = 0
    for path in sorted(pcaps_dir.rglob("*.pcap*")) + sorted(pcaps_dir.rglob("*.gz")):
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        for method in (b"GET ", b"POST ", b"CONNECT "):
            start = data.find(method)
            while start >= 0:
                stretch = data[start : start + 3000]
                taken += _request_both_ways(stretch) is not None
                end = stretch.find(b"\r\n\r\n")
                for cut in (end, end + 3, len(stretch) // 2):
                    _request_both_ways(stretch[:cut])
                start = data.find(method, start + 1)
    assert taken > 100


_PIECE = st.sampled_from(
    [
        b"GET", b"POST", b"CONNECT", b" ", b"/", b"a", b"?", b"HTTP/1.1", b"HTTP/", b"http/1.0",
        b"\r\n", b"\r", b"\n", b":", b"Host", b"Content-Length", b"Transfer-Encoding",
        b"upgrade", b"\t", b"\x00", b"\x1c", b"\x7f", b"\xc3\xa9", b"\x80", b"\r\n\r\n",
        b"x: y", b"(",
    ]
)  # fmt: skip


@settings(max_examples=1000, deadline=None)
@given(
    st.lists(_PIECE, max_size=16).map(b"".join),
    st.sampled_from([b"", b"GET / HTTP/1.1\r\n", b"POST /p HTTP/1.0\r\nHost: h\r\n"]),
    st.sampled_from([b"", b"\r\n", b"\r\n\r\n", b"\r\n\r\nbody\n\n"]),
    st.integers(min_value=0, max_value=200),
)
def test_any_request_head_whole_or_cut(middle: bytes, start: bytes, end: bytes, cut: int) -> None:
    data = start + middle + end
    _request_both_ways(data)
    _request_both_ways(data[:cut])
    _request_both_ways(data[cut:])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes(data: bytes) -> None:
    _request_both_ways(data)
    _request_both_ways(b"GET / HTTP/1.1\r\n" + data)


_FRAMING_LINES = [
    *(b"Content-Length: 5", b"content-LENGTH:\t12 ", b"Content-Length: 0", b"Content-Length:"),
    *(b"Content-Length: 1x", b"Content-Length: 5, 5", b"Content-Length: +5", b"Content-Length: 05"),
    *(b"Content-Length: " + b"9" * 18, b"Content-Length: " + b"9" * 19, b"Content-Length : 5"),
    *(b"Transfer-Encoding: chunked", b"Upgrade: h2c", b"Host: a", b"X-Content-Length: 3"),
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_FRAMING_LINES), max_size=4), st.sampled_from([b"", b"body"]))
def test_a_head_s_content_length_is_read_with_it_as_the_framing_walk_reads_it(
    lines: list[bytes], body: bytes
) -> None:
    data = b"POST /p HTTP/1.1\r\n" + b"".join(line + b"\r\n" for line in lines) + b"\r\n"
    taken = _request_both_ways(data + body)
    assert taken is not None or any(line.startswith(b"Content-Length :") for line in lines)


def _names_of(data: bytes) -> list[str]:
    assert http1._headsplit is not None
    taken = http1._headsplit.request(data, RequestHead)
    assert taken is not None
    return [name for name, _ in taken[1].headers]


def test_a_header_name_seen_again_is_the_same_str() -> None:
    """A line that changes (a Cookie header) is split anew, but its name is the str
    kept from before: no new one, and its hash is computed once (detection looks
    every name up)."""
    first = _names_of(b"GET / HTTP/1.1\r\nCookie: a=1\r\nReferer: http://x/1\r\n\r\n")
    again = _names_of(b"GET / HTTP/1.1\r\nCookie: a=2\r\nReferer: http://x/2\r\n\r\n")
    assert first == again == ["Cookie", "Referer"]
    assert all(a is b for a, b in zip(first, again, strict=True))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.from_regex(rb"[A-Za-z][A-Za-z0-9-]{0,40}", fullmatch=True), max_size=300))
def test_names_that_share_a_slot_come_back_as_written(names: list[bytes]) -> None:
    """More names than the kept ones' slots, some too long or short to be kept: each
    comes back as it was sent, whichever name held its slot before."""
    for round_ in range(2):
        for index, name in enumerate(names):
            line = name + b": v%d-%d" % (round_, index)  # a new line: not in the line cache
            assert _names_of(b"GET / HTTP/1.1\r\n" + line + b"\r\n\r\n") == [name.decode()]
