"""Sent versus received: the echo header and the difference."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from capture.http.echo import (
    ECHO_HEADER,
    ECHO_OMITTED_HEADER,
    added_on_the_way,
    decode_echo,
    echoed_transit,
    encode_echo,
    omitted_of,
    touched_findings,
    transit,
)
from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.model import EchoSeen, Response, Transit
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


def test_transit_is_a_multiset_difference_with_same_name_pairs_as_changes() -> None:
    received = (
        ("host", "bbc.co.uk"),  # re-cased by a proxy: not a change
        ("x-up-calling-line-id", "447700900123"),
        ("User-Agent", "Mozilla/5.0 (carrier)"),
        ("Accept", "*/*"),
        ("Accept", "*/*"),
    )
    moved = transit(SENT, received)
    assert moved.injected == (("x-up-calling-line-id", "447700900123"), ("Accept", "*/*"))
    assert moved.removed == ()
    assert moved.changed == (("User-Agent", "Mozilla/5.0", "Mozilla/5.0 (carrier)"),)
    assert moved.received == received
    assert moved.touched_names == {"x-up-calling-line-id", "accept", "user-agent"}
    assert not transit(SENT, tuple(reversed(SENT))).altered  # order alone is not a change


def test_a_proxy_appending_to_via_changes_the_phones_line_and_never_injects_it() -> None:
    sent = (("Host", "h"), ("Via", "1.0 phone"))
    moved = transit(sent, (("Host", "h"), ("Via", "1.0 phone, 1.1 squid")))
    assert moved.injected == () and moved.removed == ()
    assert moved.changed == (("Via", "1.0 phone", "1.0 phone, 1.1 squid"),)


def test_a_proxy_that_only_strips_shows_the_header_as_removed() -> None:
    moved = transit(SENT, SENT[:2])
    assert moved.altered and moved.removed == (("Accept", "*/*"),)
    assert moved.injected == () and moved.changed == () and moved.touched_names == set()


def test_a_value_the_phone_sent_under_a_name_the_network_touched_did_not_come_on_the_way() -> None:
    sent = (("Host", "h"), ("X-MSISDN", "447700900151"), ("x-up-subno", "447700900152"))
    received = (
        ("Host", "h"),
        ("X-MSISDN", "447700900151"),
        ("X-UP-SUBNO", "447700900154"),
        ("X-MSISDN", "447700900153"),
    )
    moved = transit(sent, received)
    found = [finding(name=n, value=v) for n, v in received[1:]]
    assert [f.value for f in touched_findings(sent, moved, found)] == [
        "447700900154",
        "447700900153",
    ]
    assert [added_on_the_way(sent, moved, f) for f in found] == [False, True, True]
    assert not added_on_the_way(sent, None, found[2])  # no echo, nothing shown added
    # A name-only finding: added where no header of its name was sent.
    assert added_on_the_way(
        sent, transit(sent, (*sent, ("X-Sub", ""))), finding(name="X-Sub", value="")
    )


def test_store_notes_the_transit_and_the_findings_of_injected_headers() -> None:
    store = Store()
    store.add(record(1, headers=SENT))
    store.add(record(2, headers=SENT))
    msisdn = finding()
    received = (*SENT, ("x-up-calling-line-id", "447700900123"), ("x-up-calling-line-id", "4477"))
    moved = transit(SENT, received)
    store.apply([EchoSeen(record(1, headers=SENT), moved, (msisdn,))])
    first, second = store
    assert first.injected == ("x-up-calling-line-id",)
    assert first.record.findings == (msisdn,) and first.record.transit == moved
    assert second.injected == () and second.record.findings == ()
    assert second.record.transit is None


def test_filters_see_the_received_block_and_removed_headers() -> None:
    store = Store()
    store.add(record(1, headers=SENT))
    store.add(record(2, headers=SENT))
    received = (("Host", "bbc.co.uk"), ("X-Up-Calling-Line-ID", "447700900123"))
    store.apply([EchoSeen(record(1, headers=SENT), transit(SENT, received), ())])
    for expr in ("~hn x-up-", "~h 'x-up-calling-line-id: 4477'", "~hq 447700", "~inj",
                 "~inj x-up-", "~rm", "~rm ^accept$", "~rm user-agent"):  # fmt: skip
        assert store.filter(compile_filter(expr)) == [1], expr
    assert store.filter(compile_filter("~inj ^via$")) == []
    assert store.filter(compile_filter("!~inj")) == [2]
    assert Transit(()).altered is False


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


def test_a_capped_echo_calls_no_sent_header_removed_but_still_shows_what_was_added(
    tmp_path: Path,
) -> None:
    # A reflector's echo of a block too large for it keeps the first headers and says
    # how many it left out: the sent headers past the cut were called removed.
    conv = conversation()
    sent = simple_request("/big")  # Host, User-Agent, Accept, ...
    received = (("Host", "example.com"), ("x-up-calling-line-id", "447700900123"))
    answer = (
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
        + f"{ECHO_HEADER}: {encode_echo(received)}\r\n{ECHO_OMITTED_HEADER}: 2\r\n\r\n".encode()
    )
    frames = conv.handshake() + conv.send(True, sent) + conv.send(False, answer)
    events = list(
        Pipeline(IdentityDetector(IdentityConfig(region="GB"))).run(
            CaptureFile(save(tmp_path, frames))
        )
    )
    (echo,) = [e for e in events if isinstance(e, EchoSeen)]
    assert echo.transit.removed == ()
    assert echo.transit.injected == (("x-up-calling-line-id", "447700900123"),)
    assert [f.normalized for f in echo.findings] == ["+447700900123"]
    # Without the reflector's word, what the echo lacks was removed on the way.
    uncut = Response(1.0, "HTTP/1.1", 200, "OK", ((ECHO_HEADER, encode_echo(received)),))
    moved = echoed_transit(SENT, uncut)
    assert moved is not None and moved.removed == SENT[1:]


def test_an_omitted_count_that_is_no_ascii_number_of_a_block_s_size_is_none() -> None:
    # "²" is a digit to str.isdigit() and none to int(); 5,000 digits are past what
    # int() takes: either, from a middlebox or a hostile reflector, ended a probe.
    for count in ("²", "9" * 5000, "-1", "1e3", ""):
        assert omitted_of(((ECHO_OMITTED_HEADER, count),)) == 0, count
    assert omitted_of((("x-headerwatch-received-omitted", " 12 "),)) == 12


def test_a_value_inside_an_added_header_came_on_the_way_and_a_reformatted_one_did_not() -> None:
    # A finding of JSON inside an injected header is named by its path under the
    # header ("X-App-Context.subscriber"): by the name alone it was no header touched,
    # and dropped. A proxy that rewrote the phone's 447700900123 as +447700900123 did
    # not add the number: the report said "the device did not send it".
    sent = (("Host", "h"), ("X-MSISDN", "447700900123"))
    received = (("Host", "h"), ("X-MSISDN", "+447700900123"), ("X-App-Context", "e30="))
    moved = transit(sent, received)
    inner = finding(name="X-App-Context.subscriber", value="+447700900456")
    rewritten = finding(name="X-MSISDN", value="+447700900123")
    assert added_on_the_way(sent, moved, inner)
    assert not added_on_the_way(sent, moved, rewritten)
    assert touched_findings(sent, moved, [inner, rewritten]) == (inner,)
    # A name that only starts like a touched one is another header.
    assert not added_on_the_way(sent, moved, finding(name="X-App-Contextual", value="1234567"))


def _paired_one_by_one(
    sent: tuple[tuple[str, str], ...], received: tuple[tuple[str, str], ...]
) -> Transit:
    """The pairing as it was written first (each removed header against every injected
    one): the reference :func:`transit` must still give."""
    from collections import Counter

    def key(h: tuple[str, str]) -> tuple[str, str]:
        return h[0].lower(), h[1].strip(" \\t")

    want, got = Counter(map(key, sent)), Counter(map(key, received))

    def surplus(
        headers: tuple[tuple[str, str], ...], extra: Counter[tuple[str, str]]
    ) -> list[tuple[str, str]]:
        out = []
        for h in headers:
            if extra[key(h)] > 0:
                extra[key(h)] -= 1
                out.append(h)
        return out

    injected, removed = surplus(received, got - want), surplus(sent, want - got)
    changed = []
    for gone in list(removed):
        for i, added in enumerate(injected):
            if added[0].lower() == gone[0].lower():
                changed.append((added[0], gone[1], added[1]))
                removed.remove(gone)
                del injected[i]
                break
    return Transit(received, tuple(injected), tuple(removed), tuple(changed))


_HEADERS = st.lists(
    st.tuples(
        st.sampled_from(["A", "a", "B", "Via", "via", "X-Msisdn"]), st.sampled_from(["1", "2", "3"])
    ),
    max_size=8,
).map(tuple)


@settings(max_examples=300, deadline=None)
@given(_HEADERS, _HEADERS)
def test_transit_pairs_removed_and_injected_headers_as_the_one_by_one_walk_did(
    sent: tuple[tuple[str, str], ...], received: tuple[tuple[str, str], ...]
) -> None:
    # The walk of every injected header for each removed one was quadratic: 2 s a
    # request for an echo of thousands of names. An index of names gives the same.
    assert transit(sent, received) == _paired_one_by_one(sent, received)
