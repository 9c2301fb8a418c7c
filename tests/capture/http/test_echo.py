"""Sent versus received: the echo header and the difference."""

from __future__ import annotations

from pathlib import Path

from capture.http.echo import ECHO_HEADER, HeaderDiff, decode_echo, diff, encode_echo
from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.model import InjectionSeen
from capture.pipeline import Pipeline
from capture.sources.frames import CaptureFile
from capture.text import from_bytes
from capture.view.exposure import Exposure
from capture.view.filter import compile_filter
from capture.view.store import Store
from tests.capture.factories import finding, record
from tests.helpers import OK, conversation, save, simple_request

SENT = (("Host", "bbc.co.uk"), ("User-Agent", "Mozilla/5.0"), ("Accept", "*/*"))


def test_echo_round_trip_and_rejects() -> None:
    headers = (("Host", "h"), ("X-Odd", from_bytes(b"caf\xe9")), ("X", ""))
    assert decode_echo(encode_echo(headers)) == (("Host", "h"), ("X-Odd", "caf\\xe9"), ("X", ""))
    for junk in ("", "!!!", encode_echo(()) + "x", "eyJhIjoxfQ==", "W1sxLDJdXQ==", "é"):
        assert decode_echo(junk) is None or decode_echo(junk) == ()
    assert decode_echo("A" * 200_000) is None


def test_diff_is_a_multiset_difference() -> None:
    received = (
        ("host", "bbc.co.uk"),  # re-cased by a proxy: not a change
        ("x-up-calling-line-id", "447700900123"),
        ("User-Agent", "Mozilla/5.0 (carrier)"),
        ("Accept", "*/*"),
        ("Accept", "*/*"),
    )
    d = diff(SENT, received)
    assert d.injected == (
        ("x-up-calling-line-id", "447700900123"),
        ("User-Agent", "Mozilla/5.0 (carrier)"),
        ("Accept", "*/*"),
    )
    assert d.removed == (("User-Agent", "Mozilla/5.0"),)
    assert d.changed_names == ("user-agent",)
    assert not diff(SENT, tuple(reversed(SENT)))  # order alone is not a change
    assert HeaderDiff((), ()).changed_names == ()


def test_store_notes_injected_headers_and_their_findings() -> None:
    store = Store()
    store.add(record(1, headers=SENT))
    store.add(record(2, headers=SENT))
    msisdn = finding()
    injected = (("x-up-calling-line-id", "447700900123"), ("x-up-calling-line-id", "4477"))
    store.apply([InjectionSeen(record(1, headers=SENT), injected, (msisdn,))])
    first, second = store
    assert first.injected == ("x-up-calling-line-id",)
    assert first.record.findings == (msisdn,)
    assert second.injected == () and second.record.findings == ()


def test_a_laptop_capture_of_a_reflected_request_shows_the_injection(tmp_path: Path) -> None:
    """The tethered-laptop vantage point end to end: the capture holds the request as
    sent and the reflector's answer; the dashboard's store and ~inj see the difference."""
    conv = conversation()
    sent = simple_request("/probe")
    received = (("Host", "example.com"), ("x-up-calling-line-id", "447700900123"))
    answer = (
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
        + f"{ECHO_HEADER}: {encode_echo(received)}\r\n\r\n".encode()
    )
    frames = conv.handshake() + conv.send(True, sent) + conv.send(False, answer)
    frames += conv.send(True, simple_request("/other")) + conv.send(False, OK)
    events = list(
        Pipeline(IdentityDetector(IdentityConfig(region="GB"))).run(
            CaptureFile(save(tmp_path, frames))
        )
    )
    store = Store()
    store.apply(events)
    assert [e.injected for e in store] == [("x-up-calling-line-id",), ()]
    assert store.filter(compile_filter("~inj")) == [1]
    # The number the carrier added is an identity of the request, and an exposure.
    assert store.filter(compile_filter("~id msisdn")) == [1]
    exposure = Exposure()
    exposure.apply(events)
    [ident] = exposure.identities()
    assert (ident.kind, ident.value, ident.requests) == ("msisdn", "+447700900123", 1)
    assert [h.host for h in ident.hosts] == ["example.com"]
    assert exposure.requests == 2
