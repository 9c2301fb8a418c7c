"""The view filter language: mitmproxy's grammar, our operators, errors, speed."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import re2
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from capture.http.echo import transit
from capture.view.filter import Filter, FilterError, compile_filter, matches, prepare
from capture.view.store import Entry, Store
from tests.capture.factories import finding, record, response

O2 = (
    ("Host", "bbc.co.uk"),
    ("User-Agent", "Mozilla/5.0 (Linux; Android 4.0)"),
    ("x-up-calling-line-id", "447700900123"),
)


def entry(**kw: object) -> Entry:
    """An entry around a record built by :func:`record`."""
    marked = bool(kw.pop("marked", False))
    comment = str(kw.pop("comment", ""))
    injected = tuple(kw.pop("injected", ()))  # type: ignore[call-overload]
    rec = record(**kw)  # type: ignore[arg-type]
    if injected:
        sent = rec.request.headers
        moved = transit(sent, (*sent, *((name, "x") for name in injected)))
        rec = dataclasses.replace(rec, transit=moved)
    e = Entry(rec)
    e.marked, e.comment = marked, comment
    return e


def ok(expr: str, e: Entry) -> bool:
    return compile_filter(expr)(e)


# --- operators -------------------------------------------------------------------


def test_header_line_matches_name_and_value() -> None:
    e = entry(headers=O2)
    assert ok("~h x-up-calling-line-id", e)
    assert ok("~h 'calling-line-id: 4477'", e)
    assert ok("~h ^host:", e)  # ^ anchors at each header line
    assert ok("~h 0123$", e)
    assert not ok("~h 'bbc.co.uk.*mozilla'", e)  # '.' does not cross lines
    assert not ok("~h x-uidh", e)


def test_hq_hs_and_h_over_the_response() -> None:
    e = entry(resp=response(headers=(("Set-Cookie", "uid=42"),)))
    assert ok("~hs set-cookie", e) and ok("~h set-cookie", e)
    assert not ok("~hq set-cookie", e)
    assert not ok("~hs host", entry())  # no response: ~hs never matches


def test_header_name_only() -> None:
    e = entry(headers=O2)
    assert ok("~hn ^x-up-", e)
    assert not ok("~hn 447700", e)  # values are not names


def test_case_insensitive_by_default_and_case_sensitive_on_request() -> None:
    e = entry(headers=O2)
    assert ok("~h X-UP-CALLING", e)
    assert ok("~h '[A-Z]-UP'", e)
    assert not ok("~h '(?-i:X-UP)'", e)
    assert ok("~h '(?-i:x-up)'", e)


def test_domain_method_url_addresses() -> None:
    e = entry(uri="/page/1?ref=home")
    assert ok("~d ^bbc\\.co\\.uk$", e)
    assert ok("~m get", e) and not ok("~m post", e)
    assert ok("~u bbc.co.uk/page/1", e) and ok("~u '^http://bbc'", e)
    assert ok("bbc.co.uk/page", e)  # a bare word is ~u
    assert ok("~src '^10\\.64\\.0\\.7:40001$'", e)
    assert ok("~dst 198.51.100.1:80", e)


def test_ipv6_endpoints_are_bracketed() -> None:
    e = entry(src="2001:db8::7", dst="2001:db8::1")
    assert ok("~src '^\\[2001:db8::7\\]:40001$'", e)
    assert ok("~dst '\\[2001:db8::1\\]:80'", e)


def test_domain_falls_back_to_server_address_and_absolute_uri() -> None:
    assert ok("~d ^198.51.100.1$", entry(headers=()))
    e = entry(headers=(), uri="http://proxy.example/x")
    assert ok("~d proxy.example", e) and ok("~u ^http://proxy.example/x$", e)


def test_content_type_and_body() -> None:
    e = entry(
        method="POST",
        headers=(("Host", "a"), ("Content-Type", "application/json")),
        body=b'{"imei": "353299110012345", "x": "\xff"}',
    )
    assert ok("~t json", e) and ok("~tq json", e)
    assert ok("~b imei", e) and ok("~b '\\xff'", e)  # latin-1: every byte is a character
    assert not ok("~b .*", entry())  # no body never matches
    assert ok("~ts html", entry(resp=response()))
    assert not ok("~ts html", entry())


def test_identity_operator() -> None:
    msisdn = entry(findings=(finding(),))
    info = entry(findings=(finding("client_ip", value="10.0.0.1", normalized="10.0.0.1"),))
    assert ok("~id", msisdn) and not ok("~id", info) and not ok("~id", entry())
    assert ok("~id msisdn", msisdn) and not ok("~id imei", msisdn)
    assert ok("~id client_ip", info)  # informational kinds can be asked for by name
    assert ok("~id 'imei|msisdn'", msisdn) and ok("~id MSISDN", msisdn)
    assert ok("~id !~d google", msisdn)  # '!' after ~id starts the next term


def test_marks_comments_injection_status() -> None:
    assert ok("~marked", entry(marked=True)) and not ok("~marked", entry())
    assert ok("~comment 'proxy added'", entry(comment="the proxy added it"))
    assert ok("~inj", entry(injected=("x-up-calling-line-id",)))
    assert not ok("~inj", entry())
    assert ok("~c 404", entry(resp=response(404))) and not ok("~c 404", entry())
    assert ok("~q", entry()) and ok("~s", entry(resp=response()))
    assert ok("~all", entry())


def test_anomaly_finds_the_caveats_noted_on_a_request_or_its_response() -> None:
    reset = "TCP reset not at the next byte passed over (the server may have ignored it too)"
    gapped = entry(anomalies=(reset,))
    refused = entry(anomalies=("refused by the reflector: 400 bad header line",))
    odd_response = entry(resp=response(anomalies=("bare LF line endings",)))
    assert ok("~anomaly", gapped) and ok("~anomaly", odd_response)
    assert not ok("~anomaly", entry()) and ok("!~anomaly", entry())
    assert ok("~anomaly reset", gapped) and not ok("~anomaly reset", refused)
    assert ok("~anomaly 'refused by the reflector: 400'", refused)
    assert ok("~anomaly '^TCP reset'", gapped)  # ^ anchors at each note's start
    assert ok("~anomaly 'bare lf'", odd_response)
    assert ok("~anomaly !~d google", gapped)  # '!' after ~anomaly starts the next term


# --- grammar ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("~m get & ~d bbc", True),
        ("~m get ~d bbc", True),  # juxtaposition is &
        ("~m post | ~d bbc", True),
        ("!~m post", True),
        ("!~m get | ~d bbc", True),  # ! binds tighter than |
        ("!(~m get | ~d google)", False),
        ("~m post & ~d bbc | ~d bbc", True),  # & binds tighter than |
        ("~m post & (~d bbc | ~d bbc)", False),
        ("!!~m get", True),
        ("~d google|~d bbc", True),  # a trailing | is an operator, not regex
        ("~d google&~d bbc", False),
        ("~h 'android|iphone'", True),
        ("~h android|iphone", True),  # unquoted regex with | (as in mitmproxy)
        ('~h "mozilla/5.0 \\(linux"', True),
        ("~h 'it\\'s'", False),
        ("   ", True),
        ("", True),
    ],
)
def test_precedence_and_quoting(expr: str, expected: bool) -> None:
    assert ok(expr, entry()) is expected


def test_quoted_backslashes_stay_regex_escapes() -> None:
    e = entry(headers=(("X-Id", "it's 42"),))
    assert ok("~h '\\d\\d'", e)
    assert ok('~h "it\'s"', e)
    assert ok("~h 'it\\'s'", e)


def test_empty_and_all_match_everything() -> None:
    assert compile_filter("").matches_all and compile_filter("~all").matches_all
    assert compile_filter("~all | ~m x").matches_all
    assert not compile_filter("~m x").matches_all
    assert compile_filter("~m get").expr == "~m get"
    assert repr(compile_filter("~q")) == "Filter('~q')"


@pytest.mark.parametrize(
    ("expr", "message", "position"),
    [
        ("~m get ~x foo", "unknown operator ~x at 7", 7),
        ("(~m get", "unbalanced parenthesis at 0", 0),
        ("~m get)", "unbalanced parenthesis at 6", 6),
        ("()", "empty parentheses at 0", 0),
        ("~m get &", "expected a filter term after &, found end of expression at 8", 8),
        ("| ~m get", "expected a filter term, found '|' at 0", 0),
        ("~h", "~h needs an argument at 2", 2),
        ("~h (", "~h needs an argument (quote a regex that starts with '(': ~h \"(...)\") at 3", 3),
        ("~d (?=bbc)", "~d needs an argument (quote a regex that starts with '('", 3),
        ("~h 'abc", "unterminated quote at 3", 3),
        ("~id msisdnx", "~id msisdnx matches no finding kind (kinds: msisdn, imsi,", 4),
        (
            "~id tracking",
            "~id tracking matches no finding kind fully (did you mean tracking_id?)",
            4,
        ),
        ("~id 'im.'", "no finding kind fully (did you mean imsi or imei?)", 4),
        ("~c ok", "~c needs a status code, not 'ok' at 3", 3),
        ("~c " + "2" * 5000, "~c needs a status code, not '22222222222222222222' at 3", 3),
        ("~bs x", "operator ~bs is not supported (response bodies are not kept) at 0", 0),
        ("~", "'~' must be followed by an operator name at 0", 0),
        ("!", "expected a filter term after !, found end of expression at 1", 1),
    ],
)
def test_errors_say_what_and_where(expr: str, message: str, position: int) -> None:
    with pytest.raises(FilterError) as info:
        compile_filter(expr)
    assert message in str(info.value)
    assert info.value.position == position
    assert "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)


def test_invalid_regex_is_named() -> None:
    with pytest.raises(FilterError, match=r"invalid regex in ~h: .* at 3") as info:
        compile_filter("~h '[abc'")
    assert info.value.position == 3
    with pytest.raises(FilterError, match="invalid regex in a bare word"):
        compile_filter("a+++")


@pytest.mark.parametrize("expression", ["~h '[\nbc'", "~h '[\rbc\x1b[2J'", "'(\n'"])
def test_an_invalid_regex_holding_a_newline_or_a_control_is_still_said_in_one_line(
    expression: str,
) -> None:
    """RE2's error quotes the pattern: its newline or escape sequence is written as
    ``\\xNN``, so the message stays one line that cannot drive the terminal (found by
    the fuzzer: ``~h '[`` and a newline)."""
    with pytest.raises(FilterError, match="invalid regex") as info:
        compile_filter(expression)
    said = str(info.value)
    assert "\n" not in said and "\r" not in said and "\x1b" not in said
    assert "\\x0a" in said or "\\x0d" in said


# --- the fast paths give the same answers as a plain case-insensitive RE2 search ----

_TOKENS = [
    "a", "A", "x", "X", "-", ":", " ", ".", "\\d", "\\D", "\\w", "\\W", "\\b", "\\.",
    "[a-z]", "[A-Z]", "[^a-c]", "[A-z]", "[]a]", "*", "+", "?", "|", "(?:", "(", ")",
    "^", "$", "\\x41", "(?-i:", "{2}", "é", "0", "7",
]  # fmt: skip

_HEADER_TEXT = st.text(alphabet="aAxX-: .0123456789_[]^é\u212a\udc80", max_size=20)


def re2_search(pattern: str, text: str) -> bool | None:
    """RE2's own answer, case-insensitive, on the text as it is; None when RE2
    cannot compile the pattern."""
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    try:
        compiled = re2.compile(pattern.encode(), options)
    except re2.error:
        return None
    return compiled.search(text.encode("utf-8", "surrogatepass")) is not None


@settings(max_examples=400, deadline=None)
@given(
    pattern=st.lists(st.sampled_from(_TOKENS), min_size=1, max_size=6).map("".join),
    name=st.text(alphabet="aAxX-", min_size=1, max_size=8),
    value=_HEADER_TEXT,
)
def test_header_search_agrees_with_re2(pattern: str, name: str, value: str) -> None:
    headers = (("Host", "h"), (name, value))
    expected = re2_search("(?m)" + pattern, "\n".join(f"{n}: {v}" for n, v in headers))
    quoted = "'" + pattern.replace("'", "\\'") + "'"
    if expected is None:
        with pytest.raises(FilterError, match="invalid regex in ~hq"):
            compile_filter(f"~hq {quoted}")
        return
    assert ok(f"~hq {quoted}", entry(headers=headers)) is expected


@settings(max_examples=200, deadline=None)
@given(pattern=st.lists(st.sampled_from(_TOKENS), min_size=1, max_size=5).map("".join))
def test_url_search_agrees_with_re2(pattern: str) -> None:
    expected = re2_search(pattern, "http://bbc.co.uk/A-x/é?q=X:7")
    assume(expected is not None)
    e = entry(uri="/A-x/é?q=X:7")
    assert ok("~u '" + pattern.replace("'", "\\'") + "'", e) is expected


# --- caches ----------------------------------------------------------------------


def test_search_texts_follow_a_replaced_record() -> None:
    store = Store()
    store.add(record(1))
    flt = compile_filter("~hs x-served-by")
    assert store.filter(flt) == []
    store.set_response(1, response(headers=(("X-Served-By", "cache-lhr"),)))
    assert store.filter(flt) == [1]


def test_prepare_builds_texts_ahead() -> None:
    e = entry(headers=O2)
    prepare([e])
    assert e.text_record is e.record and e.text_request_headers is not None
    assert "x-up-calling-line-id: 447700900123" in e.text_request_headers
    assert e.text_url == "http://bbc.co.uk/page/1"


def test_matches_one_off() -> None:
    assert matches("~id msisdn", record(findings=(finding(),)))


def test_filter_is_a_plain_callable_for_store_filter() -> None:
    flt = compile_filter("~m get")
    assert isinstance(flt, Filter) and flt(entry())
    store = Store()
    store.add(record(1))
    store.add(record(2, method="POST"))
    assert store.filter(flt) == [1]
    assert store.filter(lambda e: e.record.request.method == "POST") == [2]


# --- speed guard (the real measurement is bench/filter_bench.py) --------------------


def test_filtering_100k_entries_cold_and_warm_gives_the_same_answer(tmp_path: Path) -> None:
    """How long it takes is bench/filter_bench.py's (target 0.5 s), not a test's."""
    store = Store(spill_dir=str(tmp_path))  # 100k entries spill: into the test's own folder
    ua = (("User-Agent", "Mozilla/5.0 (Linux; Android 13; Pixel 7) Chrome/120.0 Mobile"),)
    hit = (finding(),)
    for i in range(1, 100_001):
        headers: tuple[tuple[str, str], ...] = (
            ("Host", f"h{i % 50}.example"),
            *ua,
            ("Accept", "*/*"),
        )
        if i % 20 == 0:
            headers += (("x-up-calling-line-id", "447700900123"),)
        store.add(record(i, hit if i % 20 == 0 else (), uri=f"/p/{i}", headers=headers))
    for expr, count in [
        ("~h x-up-calling-line-id", 5000),
        ("~id msisdn & !~d h10\\.", 5000 - 1000),
        ("~u /p/1 | ~m post", 11112),
    ]:
        flt = compile_filter(expr)
        ids = store.filter(flt)  # cold: builds the search texts
        assert len(ids) == count
        assert store.filter(flt) == ids  # warm: from the kept texts
    store.close()


def test_every_operator_in_the_table_compiles_with_a_typical_argument() -> None:
    from capture.view.filter import OPERATORS

    for op in OPERATORS:
        assert op.meaning
        arg = {"code": " 200", "rex": " x", "[kind]": " msisdn"}.get(op.argument, "")
        compile_filter(op.syntax.split()[0] + arg)


def test_the_help_rows_are_the_operator_table_and_docs_list_every_operator() -> None:
    from pathlib import Path

    from capture.view.filter import OPERATORS, help_rows

    rows = help_rows()
    assert [syntax for syntax, _ in rows[:-1]] == [op.syntax for op in OPERATORS]
    docs = (Path(__file__).resolve().parents[3] / "docs" / "filters.md").read_text()
    missing = [op.syntax for op in OPERATORS if f"`~{op.name}" not in docs]
    assert not missing, f"docs/filters.md does not describe {missing}"


def test_the_readme_lists_every_operator_as_the_help_does() -> None:
    from pathlib import Path

    from capture.view.filter import OPERATORS

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    missing = [op.syntax for op in OPERATORS if f"| `{op.syntax}` | {op.meaning} |" not in readme]
    assert not missing, f"README.md's filter table lacks {missing}"
