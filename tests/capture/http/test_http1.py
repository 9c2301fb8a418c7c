"""Pure HTTP/1.x parsing functions, on raw bytes."""

from __future__ import annotations

import pytest

from capture.http.http1 import (
    MAX_CONTENT_LENGTH,
    MalformedHead,
    find_head_end,
    looks_like_request,
    looks_like_response,
    parse_chunk_size,
    parse_request_head,
    parse_request_line,
    parse_response_head,
    request_framing,
    response_framing,
)


@pytest.mark.parametrize(
    ("data", "end"),
    [
        (b"GET / HTTP/1.1\r\nHost: a\r\n\r\nrest", 27),
        (b"GET / HTTP/1.1\nHost: a\n\nrest", 24),
        (b"GET / HTTP/1.1\r\nHost: a\n\r\n", 26),
        (b"GET / HTTP/1.1\r\nHost: a\r\n", -1),
    ],
)
def test_find_head_end(data: bytes, end: int) -> None:
    assert find_head_end(data) == end


@pytest.mark.parametrize(
    ("line", "parts"),
    [
        ("GET /a HTTP/1.1", ("GET", "/a", "HTTP/1.1")),
        ("GET http://example.com/x?y=1 HTTP/1.1", ("GET", "http://example.com/x?y=1", "HTTP/1.1")),
        ("CONNECT example.com:443 HTTP/1.1", ("CONNECT", "example.com:443", "HTTP/1.1")),
        ("OPTIONS * HTTP/1.1", ("OPTIONS", "*", "HTTP/1.1")),
        ("GET /a", ("GET", "/a", None)),  # HTTP/0.9
        ("get /a http/1.1", ("get", "/a", "http/1.1")),
        ("GET /a b HTTP/1.1", ("GET", "/a b", "HTTP/1.1")),
        ("GET HTTP/1.1", ("GET", "", "HTTP/1.1")),
        ("OPTIONS", ("OPTIONS", None, None)),
        ("QUERY /users HTTP/1.1", ("QUERY", "/users", "HTTP/1.1")),
        ("GET / HTTP/1.", ("GET", "/", "HTTP/1.")),
    ],
)
def test_request_line_forms(line: str, parts: tuple[str, str | None, str | None]) -> None:
    assert parse_request_line(line) == parts


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("\x16\x03\x01GET / HTTP/1.1", "invalid request method"),
        ("SSH-2.0-OpenSSH_9.6 Ubuntu", "not a request line"),
        ("T /zeek.html", "not a request line"),  # unknown method, no version
        ("GET ", "not a request line"),
        ("FOO", "request line without target"),
    ],
)
def test_not_request_lines(line: str, message: str) -> None:
    with pytest.raises(MalformedHead, match=message):
        parse_request_line(line)


def test_headers_keep_order_case_and_duplicates() -> None:
    head = parse_request_head(
        b"GET / HTTP/1.1\r\nHost: a\r\nX-Dup: 1\r\nx-dup: 2\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n"
    )
    assert head.headers == (
        ("Host", "a"),
        ("X-Dup", "1"),
        ("x-dup", "2"),
        ("Cookie", "a=1"),
        ("Cookie", "b=2"),
    )
    assert head.anomalies == ()


def test_values_are_trimmed_of_spaces_and_tabs_only() -> None:
    head = parse_request_head(b"GET / HTTP/1.1\r\nA: \t v  w \t\r\nB:\r\n\r\n")
    assert head.headers == (("A", "v  w"), ("B", ""))


def test_obs_fold_is_joined_and_flagged() -> None:
    head = parse_request_head(b"GET / HTTP/1.1\r\nX-Long: one\r\n two\r\n\tthree\r\nB: c\r\n\r\n")
    assert head.headers == (("X-Long", "one two three"), ("B", "c"))
    assert head.anomalies == ("obs-fold (folded header line)",)


@pytest.mark.parametrize("fold", [b" ", b"\t"])
def test_a_folded_line_that_holds_a_colon_is_still_a_fold(fold: bytes) -> None:
    head = parse_request_head(b"GET / HTTP/1.1\r\nX-Long: one\r\n" + fold + b"two: 2\r\n\r\n")
    assert head.headers == (("X-Long", "one two: 2"),)
    assert head.anomalies == ("obs-fold (folded header line)",)


def test_bare_lf_is_accepted_and_flagged() -> None:
    head = parse_request_head(b"GET / HTTP/1.1\nHost: a\nB: c\n\n")
    assert head.headers == (("Host", "a"), ("B", "c"))
    assert "bare LF line endings" in head.anomalies


def test_header_line_without_colon_is_skipped_and_named() -> None:
    head = parse_request_head(b"GET / HTTP/1.1\r\nHost: a\r\nNoColonHere\r\n\r\n")
    assert head.headers == (("Host", "a"),)
    assert head.anomalies == ("header line without colon: NoColonHere",)


def test_whitespace_before_colon_is_flagged() -> None:
    head = parse_request_head(b"GET / HTTP/1.1\r\nHost : a\r\n\r\n")
    assert head.headers == (("Host", "a"),)
    assert "whitespace before colon" in head.anomalies[0]


def test_non_utf8_bytes_are_kept_losslessly() -> None:
    head = parse_request_head(b"GET /caf\xe9 HTTP/1.1\r\nX: \xff\xfe\r\n\r\n")
    assert head.uri is not None
    assert head.uri.encode("utf-8", "surrogateescape") == b"/caf\xe9"
    assert head.headers[0][1].encode("utf-8", "surrogateescape") == b"\xff\xfe"


def test_hostile_values_are_data() -> None:
    raw = b"GET / HTTP/1.1\r\nX-Evil: \x1b]0;t\x07[red]x[/red]\x08\r\n\r\n"
    head = parse_request_head(raw)
    assert head.headers == (("X-Evil", "\x1b]0;t\x07[red]x[/red]\x08"),)


def test_anomaly_text_escapes_hostile_bytes() -> None:
    head = parse_request_head(b"GET / HTTP/1.1\r\n\x1b[2Jgarbage\r\n\r\n")
    assert "\x1b" not in head.anomalies[0] and "\\x1b[2Jgarbage" in head.anomalies[0]


def test_response_head() -> None:
    head = parse_response_head(b"HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\n")
    assert (head.version, head.status, head.reason) == ("HTTP/1.1", 404, "Not Found")
    assert head.headers == (("Content-Length", "3"),)
    with pytest.raises(MalformedHead, match="invalid status code"):
        parse_response_head(b"HTTP/1.1 abc\r\n\r\n")


@pytest.mark.parametrize(
    ("headers", "kind", "length", "anomaly"),
    [
        ((), "none", 0, None),
        ((("Content-Length", "12"),), "length", 12, None),
        ((("Content-Length", "0000012"),), "length", 12, None),
        ((("CONTENT-LENGTH", "5"),), "length", 5, None),
        ((("content-length", " 5\t"),), "length", 5, None),
        ((("Content-Length", "\uff11\uff12"),), "none", 0, "invalid Content-Length"),
        ((("Content-Length", str(MAX_CONTENT_LENGTH)),), "length", MAX_CONTENT_LENGTH, None),
        ((("Content-Length", str(MAX_CONTENT_LENGTH + 1)),), "none", 0, "out of range"),
        ((("Content-Lengths", "5"), ("Transfer-Encodings", "chunked")), "none", 0, None),
        ((("Content-Length", "12, 12"),), "length", 12, None),
        ((("Content-Length", "-1"),), "none", 0, "invalid Content-Length"),
        ((("Content-Length", "18446744073709551615"),), "none", 0, "out of range"),
        ((("Content-Length", "5"), ("Content-Length", "7")), "length", 7, "conflicting"),
        # Past the 4,300 digits Python's int() takes: a traceback stopped a live capture.
        ((("Content-Length", "9" * 5000),), "none", 0, "out of range"),
        ((("Content-Length", "5, " + "9" * 5000),), "none", 0, "out of range"),
        ((("Content-Length", "0" * 5000 + "5"),), "length", 5, None),
        ((("Transfer-Encoding", "chunked"),), "chunked", 0, None),
        ((("Transfer-Encoding", "gzip, chunked"),), "chunked", 0, None),
        ((("Transfer-Encoding", "chunked, identity"),), "chunked", 0, "not the final"),
        ((("Transfer-Encoding", "chunked"), ("Content-Length", "50")), "chunked", 0, "both"),
        ((("Transfer-Encoding", "gzip"),), "none", 0, "without chunked"),
        # A Kelvin sign is "k" to Unicode's lower(), to no other server's reading.
        ((("Transfer-Encoding", "chun\u212aed"),), "none", 0, "without chunked"),
    ],
)
def test_request_framing(
    headers: tuple[tuple[str, str], ...], kind: str, length: int, anomaly: str | None
) -> None:
    framing = request_framing(headers)
    assert (framing.kind, framing.length) == (kind, length)
    if anomaly:
        assert any(anomaly in a for a in framing.anomalies)
    else:
        assert framing.anomalies == ()


@pytest.mark.parametrize(
    ("method", "status", "headers", "kind"),
    [
        ("GET", 200, (("Content-Length", "5"),), "length"),
        ("HEAD", 200, (("Content-Length", "5"),), "none"),
        ("GET", 204, (), "none"),
        ("GET", 304, (("Content-Length", "5"),), "none"),
        ("GET", 100, (), "none"),
        ("GET", 101, (), "tunnel"),
        ("CONNECT", 200, (), "tunnel"),
        ("CONNECT", 407, (("Content-Length", "5"),), "length"),
        ("GET", 200, (("Transfer-Encoding", "chunked"),), "chunked"),
        ("GET", 200, (("Transfer-Encoding", "gzip"),), "close"),
        ("GET", 200, (("Transfer-Encoding", "chun\u212aed"),), "close"),
        ("GET", 200, (), "close"),
        (None, 200, (("Content-Length", "0"),), "none"),
    ],
)
def test_response_framing(
    method: str | None, status: int, headers: tuple[tuple[str, str], ...], kind: str
) -> None:
    assert response_framing(method, status, headers).kind == kind


@pytest.mark.parametrize(
    ("line", "size"), [(b"1a\r\n", 26), (b"0\r\n", 0), (b"A;ext=1\r\n", 10), (b"ff \r\n", 255)]
)
def test_chunk_size(line: bytes, size: int) -> None:
    assert parse_chunk_size(line) == size


@pytest.mark.parametrize(
    "line", [b"zz\r\n", b"0x10\r\n", b"1_0\r\n", b"10000000000000000\r\n", b"\r\n"]
)
def test_bad_chunk_size(line: bytes) -> None:
    with pytest.raises(MalformedHead):
        parse_chunk_size(line)


@pytest.mark.parametrize(
    ("data", "verdict"),
    [
        (b"GET / HTTP/1.1\r\n", True),
        (b"GE", None),
        (b"\r\nPOST /x HTTP/1.0\r\n", True),
        (b"QUERY /x HTTP/1.1\r\n", True),
        (b"FROB /x", None),  # an unknown method: wait for the version
        (b"\x16\x03\x01\x00", False),
        (b"SSH-2.0-OpenSSH_9.6\r\n", False),
        (b"HTTP/1.1 200 OK\r\n", False),
        (b"OPTIONS\n", True),
    ],
)
def test_looks_like_request(data: bytes, verdict: bool | None) -> None:
    assert looks_like_request(data) is verdict


@pytest.mark.parametrize(
    ("data", "verdict"),
    [(b"HTTP/1.1 200 OK", True), (b"http/1.0 404", True), (b"HTT", None), (b"\x16\x03", False)],
)
def test_looks_like_response(data: bytes, verdict: bool | None) -> None:
    assert looks_like_response(data) is verdict


def test_repeated_header_lines_parse_the_same_and_the_memo_stays_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from capture.http import http1

    # The memo belongs to the Python split; the C one (capture/http/_headsplit.c) has none.
    monkeypatch.setattr(http1, "_headsplit", None)

    head = b"GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: x\r\n\r\n"
    first = parse_request_head(head)
    assert parse_request_head(head) == first
    # A line seen in a clean head, then in a head that needs the careful path.
    folded = parse_request_head(b"GET / HTTP/1.1\r\nUser-Agent: x\r\nX-A: 1\r\n  2\r\n\r\n")
    assert folded.headers == (("User-Agent", "x"), ("X-A", "1 2"))
    assert folded.anomalies == ("obs-fold (folded header line)",)
    for i in range(http1._LINES_LIMIT + 10):
        parse_request_head(b"GET / HTTP/1.1\r\nX-N: %d\r\n\r\n" % i)
    assert 0 < len(http1._LINES) <= http1._LINES_LIMIT


def _head_end_reference(buf: bytes, start: int = 0) -> int:
    """find_head_end as it was: both endings searched through the whole buffer."""
    crlf = buf.find(b"\n\r\n", start)
    lf = buf.find(b"\n\n", start)
    if crlf < 0:
        return lf + 2 if lf >= 0 else -1
    if lf < 0 or crlf < lf:
        return crlf + 3
    return lf + 2


def test_the_head_end_is_the_first_of_either_ending_from_any_start() -> None:
    # The bare-LF ending is looked for only up to the CRLF one (thousands of pipelined
    # heads made the search through the rest of the buffer quadratic): same answers.
    import random

    rng = random.Random(7)
    for _ in range(20_000):
        buf = bytes(rng.choice(b"\r\nab") for _ in range(rng.randrange(0, 24)))
        start = rng.randrange(0, len(buf) + 1)
        assert find_head_end(buf, start) == _head_end_reference(buf, start), (buf, start)
