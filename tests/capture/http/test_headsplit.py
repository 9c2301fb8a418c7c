"""The HTTP head split in C (``capture/http/_headsplit.c``) against the one in Python.

``capture.http.http1._split_head`` hands plain heads (ASCII, CRLF, ``name: value``) to
the C split where it was built; everything else, and everything where it was
not, goes the Python way. Whatever the head, both ways give the same first
line, headers and anomalies.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capture.http import http1

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
