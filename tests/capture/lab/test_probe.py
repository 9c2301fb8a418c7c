"""``probe`` against a real reflector on loopback, with and without a carrier between."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.lab.probe import (
    STRONG,
    WEAK,
    ProbeError,
    _complete,
    describe,
    json_echo,
    json_echo_diff,
    probe,
    result_to_dict,
)
from tests.carrier import enrichment_proxy, running_reflector

O2 = {"x-up-calling-line-id": "447700900123", "Via": "1.1 o2-proxy"}


def test_a_clean_path_changes_nothing() -> None:
    with running_reflector() as port:
        result = probe(f"http://127.0.0.1:{port}/", IdentityDetector())
    assert not result.diff.altered and result.findings == ()
    assert result.received == result.sent
    assert describe(result) == [
        f"http://127.0.0.1:{port}/: nothing added, removed or changed on the way"
    ]


def test_an_enrichment_proxy_is_caught_with_the_number_it_adds() -> None:
    with running_reflector() as port, enrichment_proxy(("127.0.0.1", port), O2) as proxy:
        result = probe(
            f"http://127.0.0.1:{proxy}/page", IdentityDetector(IdentityConfig(region="GB"))
        )
    assert result.diff.injected == tuple(O2.items())
    assert result.diff.removed == ()
    [msisdn] = result.identities
    assert (msisdn.name, msisdn.kind, msisdn.normalized) == (
        "x-up-calling-line-id",
        "msisdn",
        "+447700900123",
    )
    lines = describe(result)
    assert "2 headers added, 0 removed, 0 changed on the way; 1 identity injected" in lines[0]
    assert "  + x-up-calling-line-id: 447700900123   [msisdn +447700900123]" in lines
    obj = result_to_dict(result)
    assert obj["injected"] == [list(p) for p in O2.items()]
    assert obj["findings"][0]["normalized"] == "+447700900123"


def test_a_rewritten_header_is_reported_as_changed() -> None:
    with (
        running_reflector() as port,
        enrichment_proxy(("127.0.0.1", port), {"Accept": "text/html"}) as proxy,
    ):
        # The proxy adds a second Accept; nothing was removed, one name now appears twice.
        result = probe(f"http://127.0.0.1:{proxy}/")
    assert result.diff.injected == (("Accept", "text/html"),)


def test_probe_errors_are_one_line() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    with pytest.raises(ProbeError, match="connection refused"):
        probe(f"http://127.0.0.1:{free}/")
    with pytest.raises(ProbeError, match="inside TLS"):
        probe("https://example.com/")
    with pytest.raises(ProbeError, match="not an http:// URL"):
        probe("ftp://example.com/")
    # Something that answers HTTP but is not a reflector.
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    import threading

    def answer() -> None:
        conn, _ = server.accept()
        conn.recv(4096)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
        conn.close()

    threading.Thread(target=answer, daemon=True).start()
    with pytest.raises(ProbeError, match="without X-Headerwatch-Received"):
        probe(f"http://127.0.0.1:{port}/")
    server.close()


def test_a_proxy_that_keeps_the_connection_open_does_not_stall_the_probe() -> None:
    """The answer is complete at its Content-Length, whoever holds the socket open."""
    import threading

    from capture.http.echo import ECHO_HEADER, encode_echo

    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    held: list[socket.socket] = []

    def answer() -> None:
        conn, _ = server.accept()
        held.append(conn)
        head = conn.recv(4096).split(b"\r\n\r\n")[0].decode()
        sent = tuple(tuple(line.split(": ", 1)) for line in head.split("\r\n")[1:])
        echo = encode_echo(sent)  # type: ignore[arg-type]
        conn.sendall(
            f"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n{ECHO_HEADER}: {echo}\r\n\r\nok".encode()
        )  # and the connection stays open

    threading.Thread(target=answer, daemon=True).start()
    result = probe(f"http://127.0.0.1:{port}/", timeout=3)
    assert not result.diff.altered
    for conn in held:
        conn.close()
    server.close()


def test_an_answer_is_complete_where_http_framing_says_it_ends() -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n"
    assert not _complete(bytearray(head + b"ok"))
    assert _complete(bytearray(head + b"okok"))
    assert _complete(bytearray(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
    assert _complete(bytearray(b"HTTP/1.1 204 No Content\r\n\r\n"))
    assert not _complete(bytearray(b"HTTP/1.1 100 Continue\r\n\r\n"))  # the answer follows
    assert not _complete(bytearray(b"HTTP/1.1 200 OK\r\n\r\nuntil close"))
    assert not _complete(bytearray(b"HTTP/1.1 200 OK\r\nContent-Length: 2"))  # head not ended


def test_the_own_reflector_gives_the_strong_verdict() -> None:
    with running_reflector() as port:
        result = probe(f"http://127.0.0.1:{port}/")
    assert result.echo == STRONG and result.omitted == 0
    assert not any("weak" in line for line in describe(result))
    assert result_to_dict(result)["echo"] == "reflector"


@contextmanager
def running_httpbin() -> Iterator[int]:
    """The real ``httpbin`` package (what httpbin.org runs) served by werkzeug on loopback."""
    from httpbin import app
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        thread.join(5)


def test_httpbin_headers_is_understood_with_a_weak_verdict_that_says_why() -> None:
    with running_httpbin() as port:
        clean = probe(f"http://127.0.0.1:{port}/headers", IdentityDetector())
        with enrichment_proxy(("127.0.0.1", port), O2) as proxy:
            leak = probe(
                f"http://127.0.0.1:{proxy}/headers", IdentityDetector(IdentityConfig(region="GB"))
            )
    assert clean.echo == WEAK and not clean.diff.altered
    lines = describe(clean)
    assert lines[0].endswith("nothing added, removed or changed on the way")
    assert "merges duplicate headers, loses their order and normalises name case" in lines[1]
    assert leak.echo == WEAK
    # httpbin re-cases the names (werkzeug's spelling), and hides Via, as the
    # weak verdict says.
    assert leak.diff.injected == (("X-Up-Calling-Line-Id", "447700900123"),)
    assert "hides proxy headers such as Via" in describe(leak)[1]
    assert [f.normalized for f in leak.identities] == ["+447700900123"]
    assert result_to_dict(leak)["echo"] == "json-echo"


def test_a_json_echo_cannot_show_a_duplicate_but_does_show_a_changed_value() -> None:
    sent = (("Host", "a"), ("Accept", "*/*"))
    # A proxy added a second Accept: the echo merges it into a changed value.
    merged = json_echo(b'{"headers": {"Host": "a", "Accept": "*/*,text/html"}}')
    assert merged is not None
    changes = json_echo_diff(sent, merged)
    assert changes.changed == (("Accept", "*/*", "*/*,text/html"),)
    assert changes.injected == () and changes.removed == ()
    # Re-cased names and moved headers: nothing to see in a JSON echo.
    assert not json_echo_diff(sent, (("accept", "*/*"), ("HOST", "a"))).altered
    assert json_echo(b'{"origin": "x"}') is None
    assert json_echo(b"not json") is None


def test_timeout_is_a_deadline_for_the_whole_exchange() -> None:
    # A server answering one byte every 0.4 s: a per-read timeout of 1 s never fires.
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    stop = threading.Event()

    def trickle() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(4096)
            for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 100:
                if stop.wait(0.4):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    started = time.monotonic()
    with pytest.raises(ProbeError, match="no answer within 1 s"):
        probe(f"http://127.0.0.1:{port}/", timeout=1)
    took = time.monotonic() - started
    stop.set()
    thread.join(5)
    server.close()
    assert took < 5  # not 140 bytes x 0.4 s


def test_a_chunked_json_echo_is_read_too() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def answer() -> None:
        conn, _ = server.accept()
        with conn:
            head = conn.recv(4096).split(b"\r\n\r\n")[0].decode()
            pairs = [line.split(": ", 1) for line in head.split("\r\n")[1:]]
            body = json.dumps({"headers": {n.title(): v for n, v in pairs}}).encode()
            half = len(body) // 2
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                + b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n"
                % (half, body[:half], len(body) - half, body[half:])
            )

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    result = probe(f"http://127.0.0.1:{port}/headers", timeout=5)
    thread.join(5)
    server.close()
    assert result.echo == WEAK and not result.diff.altered
