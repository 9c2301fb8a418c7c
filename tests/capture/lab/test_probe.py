"""``probe`` against a real reflector on loopback, with and without a carrier between."""

from __future__ import annotations

import contextlib
import gzip
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from capture.http import echo
from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.lab.probe import (
    STRONG,
    WEAK,
    ProbeError,
    ProbeResult,
    _complete,
    _target,
    describe,
    json_echo,
    json_echo_diff,
    moved,
    ordinal,
    probe,
    recased,
    result_to_dict,
    scramble,
    sent_block,
)
from capture.lab.reflect import Reflector
from capture.model import Record, Request
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


def test_a_canary_confirming_the_injected_number_is_one_identity_injected() -> None:
    config = IdentityConfig(region="GB", msisdns=("07700 900123",))
    with running_reflector() as port, enrichment_proxy(("127.0.0.1", port), O2) as proxy:
        result = probe(f"http://127.0.0.1:{proxy}/page", IdentityDetector(config))
    assert {f.kind for f in result.identities} == {"msisdn", "canary"}
    assert "; 1 identity injected" in describe(result)[0]


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
    with socket.socket(socket.AF_INET6) as s:
        s.bind(("::1", 0))
        free6 = s.getsockname()[1]
    # An IPv6 address and its port, written as a URL writes them: "::1:8080" is not.
    with pytest.raises(ProbeError, match=rf"^\[::1\]:{free6}: connection refused"):
        probe(f"http://[::1]:{free6}/")
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
    with pytest.raises(ProbeError, match=r"no complete answer \(\d+ bytes\) within 1 s"):
        probe(f"http://127.0.0.1:{port}/", timeout=1)
    took = time.monotonic() - started
    stop.set()
    thread.join(5)
    server.close()
    assert took < 5  # not 140 bytes x 0.4 s


@contextmanager
def answering_once(answer: bytes) -> Iterator[int]:
    """A server on loopback that reads one request and sends ``answer``; yields its port."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = server.accept()
        conn.recv(4096)
        with contextlib.suppress(OSError):  # the probe closes once it has read enough
            conn.sendall(answer)
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield server.getsockname()[1]
    finally:
        server.close()


def test_an_answer_whose_head_is_too_long_to_read_is_called_that() -> None:
    # It was called "not an HTTP response", which it is.
    too_long = r"/: the answer's head is longer than 64 KiB, what probe reads: "
    with (
        answering_once(b"HTTP/1.1 200 OK\r\n" + b"X-Pad: padding\r\n" * 10_000 + b"\r\n") as port,
        pytest.raises(ProbeError, match=too_long + r"not a reflector's answer$"),
    ):
        probe(f"http://127.0.0.1:{port}/", timeout=5)


def test_a_server_that_never_answers_is_reported_as_silent() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    try:
        # The kernel accepts the connection; nobody reads or answers.
        with pytest.raises(ProbeError, match=r": no answer within 0.5 s$"):
            probe(f"http://127.0.0.1:{port}/", timeout=0.5)
    finally:
        server.close()


@contextmanager
def _answered_once(reply: Callable[[list[tuple[str, str]]], bytes]) -> Iterator[int]:
    """A server on loopback (its port given) that answers one request with ``reply`` of
    the header pairs it received, then closes."""
    server = socket.create_server(("127.0.0.1", 0))

    def answer() -> None:
        conn, _ = server.accept()
        with conn:
            head = conn.recv(4096).split(b"\r\n\r\n")[0].decode()
            pairs = [line.split(": ", 1) for line in head.split("\r\n")[1:]]
            conn.sendall(reply([(name, value) for name, value in pairs]))

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        thread.join(5)
        server.close()


def test_a_chunked_json_echo_is_read_too() -> None:
    def chunked(pairs: list[tuple[str, str]]) -> bytes:
        body = json.dumps({"headers": {n.title(): v for n, v in pairs}}).encode()
        half = len(body) // 2
        return (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n"
            % (half, body[:half], len(body) - half, body[half:])
        )

    with _answered_once(chunked) as port:
        result = probe(f"http://127.0.0.1:{port}/headers", timeout=5)
    assert result.echo == WEAK and not result.diff.altered


def test_an_echo_behind_an_interim_early_hints_response_is_read() -> None:
    # A 103 Early Hints (a CDN's) before the reflector's answer: the probe read the
    # first head it met and said "answered 103 without X-Headerwatch-Received".
    def hints_then_echo(pairs: list[tuple[str, str]]) -> bytes:
        received = (*pairs, ("X-MSISDN", "447700900123"))
        return (
            b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
            + b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
            + f"{echo.ECHO_HEADER}: {echo.encode_echo(received)}\r\n\r\n".encode()
        )

    with _answered_once(hints_then_echo) as port:
        result = probe(f"http://127.0.0.1:{port}/", detector=IdentityDetector(), timeout=5)
    assert result.echo == STRONG
    assert result.diff.injected == (("X-MSISDN", "447700900123"),)
    assert _complete(bytearray(b"HTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"))


def test_a_server_sending_interim_answers_without_end_is_left_at_once() -> None:
    # 40,000 "100 Continue" heads: each read parsed them all again, past --timeout.
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    done = threading.Event()

    def answer() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(4096)
            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n" * 1000)
            done.wait(10)  # and never the final answer

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    began = time.monotonic()
    with pytest.raises(ProbeError, match="answered 100 without"):
        probe(f"http://127.0.0.1:{port}/", timeout=8)
    assert time.monotonic() - began < 4
    done.set()
    thread.join(5)
    server.close()


BROWSER_BLOCK = [
    "Host",
    "User-Agent",
    "Accept",
    "Accept-Language",
    "Accept-Encoding",
    "Connection",
    "Cache-Control",
    "Cookie",
]


def test_the_whole_browser_like_block_arrives_at_the_reflector_host_first() -> None:
    with running_reflector() as port:
        first = probe(f"http://127.0.0.1:{port}/", IdentityDetector())
        second = probe(f"http://127.0.0.1:{port}/")
    assert [name for name, _ in first.received] == BROWSER_BLOCK
    assert first.received == first.sent and not first.diff.altered
    sent = dict(first.sent)
    assert (
        sent["User-Agent"].startswith("Mozilla/5.0 ") and "headerwatch-probe" in sent["User-Agent"]
    )
    assert sent["Accept"].startswith("text/html,")
    assert re.fullmatch(r"hw_probe=[a-z]{20}", sent["Cookie"])
    assert dict(second.sent)["Cookie"] != sent["Cookie"]  # fresh for every probe
    # Well inside any server's head limits (nginx: 8 KiB a line; the reflector: 32 KiB).
    assert sum(len(n) + len(v) + 4 for n, v in first.sent) < 1024


def test_nothing_in_the_block_the_probe_sends_is_found_as_an_identity() -> None:
    detector = IdentityDetector(
        IdentityConfig(region="GB", msisdns=("07700900123",), canaries=("probecanary",))
    )
    for scrambled in (False, True):
        block = sent_block("198.51.100.7", scrambled, detector)
        request = Request(0.0, 0, 1, "", 0, "198.51.100.7", 80, "GET", "/", "HTTP/1.1", block)
        assert detector.detect(request) == ()


def test_a_stripping_proxy_shows_each_header_it_removed_by_name() -> None:
    with (
        running_reflector() as port,
        enrichment_proxy(("127.0.0.1", port), {}, strip=("Accept-Language", "Cookie")) as proxy,
    ):
        result = probe(f"http://127.0.0.1:{proxy}/")
    assert [name for name, _ in result.diff.removed] == ["Accept-Language", "Cookie"]
    assert result.diff.injected == () and result.diff.changed == ()
    lines = describe(result)
    assert "0 headers added, 2 removed, 0 changed on the way" in lines[0]
    assert "  - Accept-Language: en-GB,en;q=0.9" in lines
    assert any(line.startswith("  - Cookie: hw_probe=") for line in lines)
    assert [r[0] for r in result_to_dict(result)["removed"]] == ["Accept-Language", "Cookie"]


def test_a_rewritten_header_is_one_change_named_with_both_values() -> None:
    with (
        running_reflector() as port,
        enrichment_proxy(
            ("127.0.0.1", port), {"Accept-Encoding": "identity"}, strip=("Accept-Encoding",)
        ) as proxy,
    ):
        result = probe(f"http://127.0.0.1:{proxy}/")
    assert result.diff.changed == (("Accept-Encoding", "gzip, deflate", "identity"),)
    assert result.diff.injected == () and result.diff.removed == ()
    assert "  ~ Accept-Encoding: gzip, deflate → identity" in describe(result)


def test_a_re_casing_proxy_is_caught_only_with_scrambled_names() -> None:
    with (
        running_reflector() as port,
        enrichment_proxy(("127.0.0.1", port), {}, recase=True) as proxy,
    ):
        plain = probe(f"http://127.0.0.1:{proxy}/")
        scrambled = probe(f"http://127.0.0.1:{proxy}/", scramble_case=True)
    # Canonical names re-cased to themselves: nothing to see.
    assert plain.recased == () and not plain.diff.altered
    assert describe(plain)[0].endswith("nothing added, removed or changed on the way")
    # Scrambled, every name comes back re-cased; the values are untouched.
    assert not scrambled.diff.altered
    assert [received for _, received in scrambled.recased] == BROWSER_BLOCK
    assert [sent for sent, _ in scrambled.recased] == [name for name, _ in scrambled.sent]
    lines = describe(scrambled)
    assert lines[0].endswith(
        "nothing added, removed or changed on the way; 8 header names re-cased"
    )
    assert "  re-cased: 8 headers" in lines
    sent_ua = scrambled.sent[1][0]
    assert f"    {sent_ua} → User-Agent" in lines
    obj = result_to_dict(scrambled)
    assert obj["recased"][1] == [sent_ua, "User-Agent"]
    assert obj["scrambled"] is True and result_to_dict(plain)["recased"] == []


def test_scrambled_names_that_arrive_intact_say_so() -> None:
    with running_reflector() as port:
        result = probe(f"http://127.0.0.1:{port}/", scramble_case=True)
    assert result.recased == () and not result.diff.altered
    assert [n.lower() for n, _ in result.sent] == [n.lower() for n in BROWSER_BLOCK]
    assert describe(result)[0].endswith("; the scrambled case of the names arrived intact")


def test_a_scrambled_name_is_never_spelt_as_ordinary_clients_spell_it() -> None:
    for name in BROWSER_BLOCK * 20:
        out = scramble(name)
        assert out.lower() == name.lower()
        assert out not in {name, name.lower(), name.upper()}


def test_recasing_pairs_a_sent_header_with_its_own_value_before_a_same_name_addition() -> None:
    sent = (("aCcEpT", "*/*"), ("HoSt", "a"))
    # A proxy added another Accept before the probe's own, and re-cased only that one.
    received = (("Accept", "text/html"), ("HoSt", "a"), ("Accept", "*/*"))
    assert recased(sent, received) == (("aCcEpT", "Accept"),)
    # A changed value is still paired by name.
    assert recased(sent, (("HOST", "a"), ("accept", "text/html"))) == (
        ("HoSt", "HOST"),
        ("aCcEpT", "accept"),
    )


def test_a_gzip_encoded_json_echo_is_decoded() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def answer() -> None:
        conn, _ = server.accept()
        with conn:
            head = conn.recv(4096).split(b"\r\n\r\n")[0].decode()
            pairs = [line.split(": ", 1) for line in head.split("\r\n")[1:]]
            body = gzip.compress(json.dumps({"headers": dict(pairs)}).encode())
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s"
                % (len(body), body)
            )

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    result = probe(f"http://127.0.0.1:{port}/headers", timeout=5)
    thread.join(5)
    server.close()
    assert result.echo == WEAK and not result.diff.altered
    assert result.recased == ()  # a JSON echo cannot tell


def test_a_url_that_cannot_be_probed_is_a_one_line_error_not_a_traceback() -> None:
    with pytest.raises(ProbeError, match=r"http://\[::1/: not a valid URL"):
        probe("http://[::1/")
    with pytest.raises(ProbeError, match="bad port"):
        probe("http://127.0.0.1:0/")  # not quietly port 80
    with pytest.raises(ProbeError, match="bad host name"):
        probe(f"http://{'a' * 64}.example/")


def test_the_request_target_goes_out_percent_encoded_as_a_valid_request_line() -> None:
    """A space, a control character or another script sent raw makes an invalid request
    line, which a proxy on the way rewrites (squid drops the space) or refuses."""
    records: list[Record] = []
    with running_reflector(Reflector(on_record=records.append)) as port:
        result = probe(f"http://127.0.0.1:{port}/a b/\x1b[1mé?q=x y&r=%41", timeout=5)
    [record] = records
    assert record.request.uri.startswith("/a%20b/%1B%5B1m%C3%A9?q=x%20y&r=%41&headerwatch-probe=")
    assert not result.diff.altered


def test_the_host_header_is_host_and_port_alone_without_the_urls_password() -> None:
    with running_reflector() as port:
        result = probe(f"http://user:secret@127.0.0.1:{port}/", timeout=5)
    assert dict(result.received)["Host"] == f"127.0.0.1:{port}"
    assert not any("secret" in value for _, value in result.received)


def test_an_internationalised_host_name_is_sent_in_its_ascii_form() -> None:
    host, port, host_header, _ = _target("http://bücher.example:8080/")
    assert (host, port) == ("xn--bcher-kva.example", 8080)
    assert host_header == "xn--bcher-kva.example:8080"


def test_port_80_written_in_the_url_is_not_sent_in_the_host_header() -> None:
    # As browsers and curl send it: a Host of "example.com:80" came back from a
    # carrier's proxy as "example.com", and the probe called its own spelling a
    # change made on the way.
    for url in ("http://198.51.100.2:80/", "http://198.51.100.2/"):
        assert _target(url)[1:3] == (80, "198.51.100.2")
    assert _target("http://[2001:db8::1]:80/")[2] == "[2001:db8::1]"
    assert _target("http://198.51.100.2:8080/")[2] == "198.51.100.2:8080"


def test_an_echo_header_that_cannot_be_read_is_called_that_not_missing() -> None:
    cut = (
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n"
        b"X-Headerwatch-Received: W1siSG9zdCIsIn\r\n\r\n"  # cut short on the way
    )
    with answering_once(cut) as port, pytest.raises(ProbeError) as caught:
        probe(f"http://127.0.0.1:{port}/", timeout=5)
    assert str(caught.value) == (
        f"http://127.0.0.1:{port}/: answered 200 with an X-Headerwatch-Received that is "
        "not a readable echo (cut or rewritten on the way?)"
    )


def test_a_header_put_elsewhere_is_moved_while_added_removed_or_rewritten_ones_are_not() -> None:
    sent = (("Host", "a"), ("User-Agent", "b"), ("Accept", "c"), ("Connection", "close"))
    # squid's way: Host after the others; Via added, Connection rewritten in place.
    received = (
        ("User-Agent", "b"),
        ("Accept", "c"),
        ("Via", "1.1 squid"),
        ("host", "a"),
        ("Connection", "keep-alive"),
    )
    assert moved(sent, received) == (("host", 1, 4),)
    assert moved(sent, sent) == ()
    assert moved(sent, sent[1:]) == ()  # removed: not a move
    assert moved(sent, (("X-Added", "1"), *sent)) == ()  # places shift, order stays
    swapped = (sent[1], sent[0], *sent[2:])
    assert len(moved(sent, swapped)) == 1  # of two swapped, one moved


def test_a_moved_header_is_in_the_verdict_the_lines_and_the_jsonl() -> None:
    sent = (("Host", "a"), ("Accept", "c"))
    received = (("Accept", "c"), ("Host", "a"))
    result = ProbeResult(
        "http://x/", 0.0, sent, received, echo.transit(sent, received), (), moved=(("Host", 1, 2),)
    )
    lines = describe(result)
    assert lines[0] == "http://x/: nothing added, removed or changed on the way; 1 header moved"
    assert lines[-2:] == [
        "  moved: 1 header out of the order sent",
        "    Host: 1st sent → 2nd received",
    ]
    assert result_to_dict(result)["moved"] == [["Host", 1, 2]]
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "111th"
    ]  # fmt: skip
