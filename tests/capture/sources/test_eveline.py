"""The eve.json line reader in C (``capture/sources/_eveline.c``) against the reference.

``capture.sources.eve.parsed_from_line`` reads an http event's bytes straight into
its request where the C reader was built, and hands every line the C reader is not
sure of to the reference: ``orjson.loads`` then ``parsed_from_eve``. Whatever the
line, both give the same request (or ``None``), or the same error.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capture.http.echo import ECHO_HEADER
from capture.sources import eve
from tests.conftest import REPO

pytestmark = pytest.mark.skipif(
    eve._eveline is None,
    reason="capture.sources._eveline is not built (no C compiler when headerwatch was installed)",
)

SURICATA = REPO / "tests" / "data" / "engines" / "suricata"


def _outcome(read: Any, line: bytes, responses: bool) -> tuple[str, Any]:
    try:
        return ("read", read(line, responses))
    except ValueError as exc:  # orjson.JSONDecodeError is one
        return (type(exc).__name__, str(exc))


def _reference(line: bytes, responses: bool) -> Any:
    return eve.parsed_from_eve(orjson.loads(line), responses)


def _same(line: bytes) -> bool:
    """Both ways give the same for ``line`` (with responses and without); whether C
    read it (rather than handing it back)."""
    taken = False
    for responses in (True, False):
        assert _outcome(eve.parsed_from_line, line, responses) == _outcome(
            _reference, line, responses
        ), line
        assert eve._eveline is not None
        taken = eve._eveline.http(line, responses) is not None
    return taken


def _event(**top: Any) -> dict[str, Any]:
    http: dict[str, Any] = {
        "hostname": "example.com",
        "url": "/a/b?c=d&msisdn=447700900123",
        "http_user_agent": "Mozilla/5.0",
        "http_method": "GET",
        "protocol": "HTTP/1.1",
        "status": 200,
        "length": 12,
        "request_headers": [
            {"name": "Host", "value": "example.com"},
            {"name": "X-MSISDN", "value": "447700900123"},
            {"name": "Accept-Encoding", "value": "gzip, deflate"},
            {"name": "X-Twice", "value": "a, b"},
        ],
        "response_headers": [{"name": "Server", "value": "nginx"}],
    }
    more = top.pop("http", {})
    if type(more) is not dict:  # a wrong http value, as it is
        top["http"] = more
    else:
        http = {k: v for k, v in {**http, **more}.items() if v is not _GONE}
        top["http"] = http
    event: dict[str, Any] = {
        "timestamp": "2026-12-03T10:00:00.250000+0100",
        "flow_id": 1234567890123,
        "in_iface": "eth1",
        "event_type": "http",
        "src_ip": "10.0.0.2",
        "src_port": 40000,
        "dest_ip": "192.0.2.80",
        "dest_port": 80,
        "proto": "TCP",
        "tx_id": 2,
        "http": None,
        "app_proto": "http",
    }
    event.update(top)
    return {k: v for k, v in event.items() if v is not _GONE}


_GONE = object()


def _line(event: Any, slashes: bool = True) -> bytes:
    """As Suricata writes it: one line, "/" escaped."""
    line = orjson.dumps(event)
    return (line.replace(b"/", b"\\/") if slashes else line) + b"\n"


def test_the_engine_files_of_the_suite_read_the_same_both_ways() -> None:
    lines = [
        line
        for path in sorted(SURICATA.glob("*.json"))
        for line in Path(path).read_bytes().splitlines(keepends=True)
    ]
    assert len(lines) >= 3
    assert any([_same(line) for line in lines])


@pytest.mark.parametrize(
    "event",
    [
        _event(),
        _event(http={"response_headers": None}),
        _event(http={"response_headers": _GONE}),
        _event(http={"status": None}),
        _event(http={"http_method": None, "url": None, "protocol": ["HTTP/1.1"]}),
        _event(flow_id=_GONE, tx_id=_GONE, src_port=_GONE, dest_port=_GONE),
        _event(flow_id=0, tx_id=-1, src_port=-0),
        _event(flow_id=999999999999999999),
        _event(timestamp="2026-12-03T10:00:00+0000"),
        _event(timestamp="2026-12-03T10:00:00"),
        _event(timestamp="2024-02-29T23:59:59.999999-2359"),
        _event(timestamp="1970-01-01T00:00:00.000001+0000"),
        _event(timestamp="1969-12-31T23:59:59.999999+0000"),
        _event(timestamp="2200-01-01T00:00:00.000000+0000"),
        _event(event_type="dns", dns={"rrname": "example.com", "answers": [1, 2.5, None, True]}),
        _event(event_type="alert", alert={"signature": "x", "severity": 2, "nested": {"a": []}}),
        _event(event_type="Http"),
        _event(http={"request_headers": []}),
        _event(http={"request_headers": [{"value": "x", "name": "Y", "extra": {"z": [1]}}]}),
        _event(http={"request_headers": [{"name": "Café-Ünïcode", "value": "naïve ☃ 😀"}]}),
        _event(http={"request_headers": [{"name": "X-Ctl", "value": "a\nb\tc\x00d\x7f\u2028"}]}),
        _event(http={"request_headers": [{"name": 'Q"uo\\te', "value": "\\/"}]}),
        _event(http={"request_headers": [{"name": "\u212aeep-Alive", "value": "a, b"}]}),
        _event(http={"request_headers": [{"name": "KEEP-alive", "value": "a, b"}]}),
        _event(http={"request_headers": [{"name": "Keep-Alive2", "value": "a, b"}]}),
        _event(http={"request_headers": [{"name": "Via", "value": "a,\u00a0b, c"}]}),
        _event(http={"request_headers": [{"name": "X", "value": "a,b ,c"}] * 3}),
        _event(http={"response_headers": [{"name": ECHO_HEADER, "value": "x"}]}),
        _event(http={"response_headers": [{"name": ECHO_HEADER.upper(), "value": "x"}]}),
        _event(http={"response_headers": [{"name": "X-Headerwatch-Receive", "value": "x"}]}),
        _event(http={"response_headers": [{"name": "Set-Cookie", "value": "a=b, c=d"}]}),
        _event(http={"request_headers": [{"name": "Accept", "value": "*/*"}]}),
        _event(http={"request_headers": [], "hostname": '\u00e9.example/"x'}),
        _event(http={"request_headers": [{"name": "hOsT", "value": ""}]}),
        _event(http={"request_headers": [{"name": "Hosts", "value": "a"}]}),
        _event(http={"request_headers": [{"name": "\u0130ost", "value": "a"}]}),
        _event(http={"request_headers": [], "hostname": ""}),
        _event(http={"request_headers": [], "hostname": None}),
        _event(http={"request_headers": [], "hostname": ["a.example"]}),
        _event(http={"request_headers": [], "hostname": _GONE}),
        _event(xff="\u00e9", http={"request_headers": [{"name": "X-FORWARDED-FOR", "value": "a"}]}),
    ],
)
def test_an_http_event_is_read_in_c_the_same_as_by_the_reference(event: dict[str, Any]) -> None:
    for slashes in (True, False):
        assert _same(_line(event, slashes))


@pytest.mark.parametrize("http", [{"url": 7}, {"http_method": {}}, {"url": [1]}])
def test_a_method_or_target_of_another_type_is_handed_back_and_refused_by_the_reference(
    http: dict[str, Any],
) -> None:
    """Read in C, the event was a request with no target or a method "-", in silence."""
    line = _line(_event(http=http))
    assert not _same(line)
    with pytest.raises(ValueError, match="not a string"):
        eve.parsed_from_line(line, True)


@pytest.mark.parametrize("status", ["200", 200.0, True, [200]])
def test_a_status_of_another_type_is_read_by_the_reference_which_notes_the_response_left_out(
    status: Any,
) -> None:
    line = _line(_event(http={"status": status}))
    assert not _same(line)  # handed back by C, read the same way after
    read = eve.parsed_from_line(line)
    assert read is not None and read.response is None
    assert read.request.anomalies[-1] == "eve: response not read (http.status: not a whole number)"


@pytest.mark.parametrize(
    ("headers", "host"),
    [
        ([{"name": "User-Agent", "value": "Wget/1.13.4"}], "test.co.uk"),
        ([], "test.co.uk"),
        ([{"name": "HOST", "value": "Test.co.uk:8080"}], "Test.co.uk:8080"),
    ],
)
def test_c_takes_the_host_from_http_hostname_when_no_host_header_was_logged(
    headers: list[dict[str, str]], host: str
) -> None:
    line = _line(_event(http={"hostname": "test.co.uk", "request_headers": headers}))
    assert _same(line)  # C read it, and the reference agrees
    for responses in (True, False):
        parsed = eve.parsed_from_line(line, responses)
        assert parsed is not None and parsed.request.host == host
    # A name spelt with escapes is compared unescaped, as Python compares it.
    escaped = _line(_event(http={"request_headers": []})).replace(
        b'"request_headers":[]', b'"request_headers":[{"name":"H\\u006fst","value":"h.example"}]'
    )
    assert _same(escaped)
    assert eve.parsed_from_line(escaped).request.host == "h.example"  # type: ignore[union-attr]


def test_c_reads_an_xff_field_beside_the_forwarded_for_header_it_came_from() -> None:
    # Suricata takes xff from X-Forwarded-For, which a dump holds: the common case
    # stays on the fast path; only an xff that adds a header goes the reference way.
    logged = [{"name": "X-Forwarded-For", "value": "198.51.100.7"}]
    assert _same(_line(_event(xff="198.51.100.7", http={"request_headers": logged})))
    for xff in ("198.51.100.7", "", None, ["198.51.100.7"]):
        assert not _same(_line(_event(xff=xff)))
        assert not _same(_line(_event(xff=xff, http={"request_headers": [], "hostname": _GONE})))
    escaped = _line(_event(xff="198.51.100.7", http={"request_headers": []})).replace(
        b'"request_headers":[]', b'"request_headers":[{"name":"X-Forwarded-F\\u006fr","value":"a"}]'
    )
    assert _same(escaped)


@pytest.mark.parametrize(
    "line",
    [
        # Escapes C reads: \uXXXX, a surrogate pair, every short escape.
        rb'{"timestamp":"2026-12-03T10:00:00+0000","event_type":"http","src_ip":"a","dest_ip":"b",'
        rb'"http":{"request_headers":[{"name":"X-\u0041\u00e9\u2603","value":"\ud83d\ude00'
        rb'\"\\\/\b\f\n\r\t"}]}}',
        # A list header's name spelt with escapes; a value's ", " spelt with one.
        rb'{"timestamp":"2026-12-03T10:00:00+0000","event_type":"http","src_ip":"a","dest_ip":"b",'
        rb'"http":{"request_headers":[{"name":"Acc\u0065pt","value":"a, b"},'
        rb'{"name":"X","value":"a,\u0020b"}]}}',
        # Whitespace everywhere JSON allows it.
        b' {\t"timestamp" : "2026-12-03T10:00:00+0000" ,\r"event_type":"http", "src_ip":"a",'
        b'"dest_ip":"b","http" : { "request_headers" : [ { "name" : "A" , "value" : "" } ] } }\r\n',
        b'{"event_type":"flow","timestamp":"yesterday"}',
        b'{"event_type":"flow","x":-0.5,"y":[[],{}],"z":""}',
    ],
)
def test_lines_c_reads_are_read_as_the_reference_reads_them(line: bytes) -> None:
    assert _same(line)


@pytest.mark.parametrize(
    "line",
    [
        b"",
        b"\n",
        b"[]",
        b'"http"',
        b"{}",
        b'{"event_type":"http"}',
        b'{"event_type":null}',
        b'{"event_type":"ht\\u0074p"}',  # an escape in a value read
        b'{"event_\\u0074ype":"dns"}',  # an escape in a key
        b'{"event_type":"dns","event_type":"http"}',  # orjson keeps the last
        b'{"event_type":"dns"',
        b'{"event_type":"dns"}x',
        b'{"event_type":"dns"}{}',
        b'\xef\xbb\xbf{"event_type":"dns"}',
        b'{"event_type":"dns","x":1e400}',
        b'{"event_type":"dns","x":1E5}',
        b'{"event_type":"dns","x":012}',
        b'{"event_type":"dns","x":1.}',
        b'{"event_type":"dns","x":-}',
        b'{"event_type":"dns","x":18446744073709551616}',
        b'{"event_type":"dns","x":"\\ud800"}',  # a lone high surrogate
        b'{"event_type":"dns","x":"\\udc00\\ud800"}',
        b'{"event_type":"dns","x":"\\ud800\\u0041"}',
        b'{"event_type":"dns","x":"\xed\xa0\x80"}',  # a surrogate in UTF-8
        b'{"event_type":"dns","x":"\xc0\xaf"}',  # overlong
        b'{"event_type":"dns","x":"\xf4\x90\x80\x80"}',  # above U+10FFFF
        b'{"event_type":"dns","x":"\xe2\x82"}',  # cut short
        b'{"event_type":"dns","x":"a\x01"}',
        b'{"event_type":"dns","x":"\\x41"}',
        b'{"event_type":"dns","x":"\\u12"}',
        b'{"event_type":"dns","x":tru}',
        b'{"event_type":"dns","x":[1,]}',
        b'{"event_type":"dns",}',
        b'{"event_type":"dns" "x":1}',
        b'{"event_type":"dns","x":' + b"[" * 70 + b"]" * 70 + b"}",
        b'{"event_type":"dns","x":' + b"[" * 1100 + b"]" * 1100 + b"}",
    ],
)
def test_damaged_or_unusual_lines_end_as_the_reference_ends_them(line: bytes) -> None:
    _same(line)


def test_a_wrong_http_event_is_handed_back_and_worded_by_the_reference() -> None:
    wrong = [
        _event(http="x"),
        _event(http=_GONE),
        _event(src_ip=None),
        _event(src_ip=_GONE),
        _event(src_port="80"),
        _event(tx_id=1.5),
        _event(flow_id=True),
        _event(timestamp="yesterday"),
        _event(timestamp="2026-02-30T10:00:00+0000"),
        _event(timestamp="2026-12-03T24:00:00+0000"),
        _event(timestamp="2026-12-03T10:00:00+2400"),
        _event(timestamp="2026-12-03T10:00:00.25+0000"),
        _event(timestamp="2026-12-03 10:00:00+00:00"),
        _event(timestamp="2026-12-03T10:00:00Z"),
        _event(timestamp=None),
        _event(http={"request_headers": None}),
        _event(http={"request_headers": _GONE, "http_refer": "http://a/"}),
        _event(http={"request_headers": [["Host", "x"]]}),
        _event(http={"request_headers": [{"name": "Host"}]}),
        _event(http={"request_headers": [{"name": "Host", "value": 1}]}),
        _event(http={"request_headers": {"Host": "x"}}),
        _event(http={"response_headers": [{"name": "Server"}]}),
        _event(http={"response_headers": "nginx"}),
        _event(http={"request_headers": [{"name": "A", "value": "b"}] * 200}),
    ]
    for event in wrong:
        assert not _same(_line(event))
    twice = b'{"name":"A","value":"b","name":"C"}'
    line = _line(_event()).replace(b'{"name":"Host","value":"example.com"}', twice)
    assert twice in line and not _same(line)


def test_a_duplicated_key_that_is_read_goes_the_reference_way() -> None:
    line = _line(_event())
    twice = line.replace(b'"tx_id":2,', b'"tx_id":2,"tx_id":5,')
    assert twice != line
    assert not _same(twice)
    assert eve.parsed_from_line(twice).request.depth == 6  # type: ignore[union-attr]


def test_the_generated_mix_of_the_bench_is_read_in_c_line_by_line_as_by_the_reference() -> None:
    r = random.Random(19)
    names = ["Host", "User-Agent", "Cookie", "Accept", "X-MSISDN", "Via", "Referer"]
    for n in range(300):
        headers = [
            {"name": r.choice(names), "value": f"v{r.getrandbits(40):x}, /p/{n}"}
            for _ in range(r.randrange(0, 12))
        ]
        when = datetime(2026, 12, 3, tzinfo=UTC) + timedelta(microseconds=r.getrandbits(40))
        event = _event(
            timestamp=when.strftime("%Y-%m-%dT%H:%M:%S.%f+0000"),
            flow_id=r.getrandbits(52),
            tx_id=r.randrange(4),
            http={"request_headers": headers, "status": r.choice([200, 404, None])},
        )
        assert _same(_line(event))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    when=st.datetimes(
        min_value=datetime(1700, 1, 1), max_value=datetime(2250, 12, 31), timezones=st.none()
    ),
    offset=st.integers(-(24 * 60 - 1), 24 * 60 - 1),
    fraction=st.booleans(),
    zone=st.booleans(),
)
def test_any_timestamp_of_suricatas_form_is_the_seconds_python_reads_from_it(
    when: datetime, offset: int, fraction: bool, zone: bool
) -> None:
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.%f" if fraction else "%Y-%m-%dT%H:%M:%S")
    if zone:
        sign = "+" if offset >= 0 else "-"
        stamp += f"{sign}{abs(offset) // 60:02d}{abs(offset) % 60:02d}"
    assert _same(_line(_event(timestamp=stamp)))


_SEED = _line(_event(http={"request_headers": [{"name": "A\u00e9", "value": "\U0001f600/b"}]}))


@settings(max_examples=500, deadline=None, derandomize=True)
@given(st.data())
def test_a_damaged_line_ends_as_the_reference_ends_it(data: st.DataObject) -> None:
    line = bytearray(_SEED)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(line)))
        how = data.draw(st.sampled_from(["cut", "flip", "insert", "delete"]))
        if how == "cut":
            del line[at:]
        elif how == "flip" and at < len(line):
            line[at] = data.draw(st.integers(0, 255))
        elif how == "insert":
            line[at:at] = data.draw(
                st.sampled_from(
                    [b"\\", b'"', b"\\ud800", b"\\udc00", b"\xff", b"\xed\xa0\x80", b"[" * 80,
                     b"{", b",", b"-", b"0", b"\x00", b"\\u00", b'"name":"x",']
                )
            )  # fmt: skip
        else:
            del line[at : at + data.draw(st.integers(1, 8))]
    _same(bytes(line))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.binary(max_size=200))
def test_random_bytes_end_as_the_reference_ends_them(line: bytes) -> None:
    _same(line)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    st.dictionaries(
        st.sampled_from(["name", "value", "x"]),
        st.text() | st.integers() | st.none() | st.lists(st.text(), max_size=2),
        max_size=3,
    ),
    st.text(),
)
def test_any_header_entry_and_value_reads_the_same_both_ways(
    entry: dict[str, Any], value: str
) -> None:
    for line in (
        _line(_event(http={"request_headers": [entry, {"name": "V", "value": value}]})),
        json.dumps(_event(http={"response_headers": [entry]})).encode(),  # \\uXXXX escapes
    ):
        _same(line)


@pytest.mark.parametrize(
    ("http", "version"),
    [
        ({"protocol": "HTTP/1.1"}, "HTTP/1.1"),
        ({"protocol": _GONE, "version": "2"}, "HTTP/2"),  # Suricata's HTTP/2 logger
        ({"protocol": "HTTP/1.0", "version": "2"}, "HTTP/1.0"),
        ({"protocol": _GONE, "version": ""}, None),
        ({"protocol": _GONE}, None),
    ],
)
def test_an_http2_events_version_field_is_its_request_lines_version_both_ways(
    http: dict[str, Any], version: str | None
) -> None:
    line = _line(_event(http=http))
    assert _same(line)  # C read it, and the reference agrees
    parsed = eve.parsed_from_line(line)
    assert parsed is not None and parsed.request.version == version
