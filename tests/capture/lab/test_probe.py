"""``probe`` against a real reflector on loopback, with and without a carrier between."""

from __future__ import annotations

import socket

import pytest

from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.lab.probe import ProbeError, _complete, describe, probe, result_to_dict
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
