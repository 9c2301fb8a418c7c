"""What the dashboard copies: the request as text, as curl, its identity's value."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator

import pytest

from capture.formats.copy import CopyError, curl_command, identity_value, request_text
from tests.capture.factories import finding, record

CURL = shutil.which("curl")


def test_curl_repeats_the_request_with_every_header_quoted() -> None:
    rec = record(
        1,
        findings=(finding(name="x-up-calling-line-id", value="447700900123"),),
        headers=(
            ("Host", "www.bbc.co.uk"),
            ("x-up-calling-line-id", "447700900123"),
            ("Cookie", "a=1; b='$(rm -rf ~)'"),
            ("Content-Length", "0"),
        ),
    )
    command = curl_command(rec)
    args = shlex.split(command)
    assert args[0] == "curl" and args[1].startswith("http://www.bbc.co.uk/")
    assert args[2:6] == ["-H", "Host: www.bbc.co.uk", "-H", "x-up-calling-line-id: 447700900123"]
    assert "Cookie: a=1; b='$(rm -rf ~)'" in args  # one literal argument, never run
    assert not any(a.startswith("Content-Length") for a in args)


def test_control_characters_are_escaped_in_what_is_copied() -> None:
    rec = record(1, headers=(("Host", "h"), ("X-Evil", "\x1b]52;c;AAAA\x07")))
    assert "\x1b" not in request_text(rec) and "\\x1b]52;c;AAAA\\x07" in request_text(rec)
    assert "\x1b" not in curl_command(rec)


def test_the_value_is_the_most_severe_identity_and_none_is_said() -> None:
    low = finding(kind="device_id", severity="low", value="abc", normalized="abc")
    high = finding(value="447700900123", normalized="+447700900123")
    assert identity_value(record(1, findings=(low, high))) == ("msisdn", "+447700900123")
    with pytest.raises(CopyError, match="no identity"):
        identity_value(record(1))


def test_a_request_with_no_target_or_no_known_proxy_has_no_curl_form() -> None:
    with pytest.raises(CopyError, match="no target"):
        curl_command(record(1, uri=None, version=None))
    with pytest.raises(CopyError, match="proxy this request was sent to is not known"):
        curl_command(record(1, method="CONNECT", uri="a.example:443", dst="", dport=0))


@pytest.fixture
def listener() -> Iterator[tuple[int, list[bytes]]]:
    """A loopback server that answers one request and keeps its request line."""
    lines: list[bytes] = []
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(10)

    def serve() -> None:
        with contextlib.suppress(OSError), server, server.accept()[0] as conn:
            head = b""
            while b"\r\n\r\n" not in head and (chunk := conn.recv(65536)):
                head += chunk
            lines.append(head.partition(b"\r\n")[0])
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], lines
    thread.join(15)


# Where the request was for: its Host, or (sent to a proxy) the capture's server address.
TO_HOST, TO_PROXY = "host", "proxy"


@pytest.mark.skipif(CURL is None, reason="needs curl (apt-get install curl)")
@pytest.mark.parametrize(
    ("method", "target", "to"),
    [
        pytest.param("GET", "/p/1?click=http://a.example/b", TO_HOST, id="origin-form"),
        pytest.param("GET", "/a/../b/./c?x=/../#frag", TO_HOST, id="dot segments, fragment"),
        pytest.param("GET", "/caf\u00e9 '\"{}", TO_HOST, id="raw UTF-8, space, quotes"),
        pytest.param("OPTIONS", "*", TO_HOST, id="asterisk-form"),
        pytest.param("GET", "a.example/x", TO_HOST, id="no form (malformed)"),
        pytest.param("GET", "http://user:pw@a.example/b", TO_PROXY, id="absolute-form"),
        pytest.param("GET", "https://a.example:8443/b", TO_PROXY, id="absolute https"),
        pytest.param("CONNECT", "a.example:443", TO_PROXY, id="authority-form CONNECT"),
    ],
)
def test_the_curl_command_sends_the_request_target_as_it_was_sent(
    listener: tuple[int, list[bytes]], method: str, target: str, to: str
) -> None:
    port, lines = listener
    host = f"127.0.0.1:{port}" if to == TO_HOST else "a.example"
    rec = record(
        1,
        method=method,
        uri=target,
        headers=(("Host", host),),
        dst="127.0.0.1" if to == TO_PROXY else "198.51.100.1",
        dport=port if to == TO_PROXY else 80,
    )
    args = shlex.split(curl_command(rec))
    subprocess.run([*args, "-s", "-o", os.devnull, "-m", "10"], check=True, timeout=30)
    assert lines == [f"{method} {target} HTTP/1.1".encode()]


@pytest.mark.skipif(CURL is None, reason="needs curl (apt-get install curl)")
@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"k=1\nv=\xffz%s", id="in an argument"),
        pytest.param(b"k=1\nv=\xff\x00z%s'\\", id="with a NUL: through printf"),
    ],
)
def test_the_curl_command_run_by_bash_sends_control_characters_and_raw_bytes_as_sent(
    body: bytes,
) -> None:
    # A replay is evidence: an ESC, a bidi override, a raw byte, quotes and a
    # backslash in a header, and a body with a newline and a raw byte, arrive as the
    # bytes that were captured; the command itself holds none of them raw.
    value = "a\x1b[31m\u202eb\udcff'\"\\$(x)"
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(10)
    got: list[bytes] = []

    def serve() -> None:
        with contextlib.suppress(OSError), server, server.accept()[0] as conn:
            data = b""
            while not data.endswith(body) and (chunk := conn.recv(65536)):
                data += chunk
            got.append(data)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    port = server.getsockname()[1]
    rec = record(
        1,
        method="POST",
        uri="/up",
        headers=(("Host", f"127.0.0.1:{port}"), ("X-Evil", value)),
        body=body,
        body_length=len(body),
    )
    command = curl_command(rec)
    assert "\x1b" not in command and "\u202e" not in command and "\udcff" not in command
    subprocess.run(["bash", "-c", command + " -s -o /dev/null -m 10"], check=True, timeout=30)
    thread.join(15)
    [data] = got
    head, _, sent_body = data.partition(b"\r\n\r\n")
    assert b"\r\nX-Evil: " + value.encode("utf-8", "surrogateescape") + b"\r\n" in head + b"\r\n"
    assert sent_body == body
