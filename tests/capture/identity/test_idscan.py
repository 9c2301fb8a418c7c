"""The whole-string tests of detection in C (``capture/identity/_idscan.c``) against Python.

``IdentityDetector._may_matter`` (could a cookie header or query string matter?) and
``CanaryMatcher.could_match`` (could a canary be in a text?) hand ASCII text to the C
tests where they were built; the Python ones (``_may_matter_py``, ``canary._runs_py``)
are the reference. Both ways must give the same answers on any text, and the
detector the same findings on the evaluation set and the captures under
``tests/data``, with and without canaries.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from capture.identity import canary, detector, encodings
from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.identity.encodings import url_decode
from capture.model import (
    WHERE_BODY,
    WHERE_COOKIE,
    WHERE_HEADER,
    WHERE_QUERY,
    Finding,
    Request,
    RequestSeen,
)
from capture.pipeline import Pipeline
from capture.sources.frames import CaptureFile
from tests.capture.identity.factory import make_request
from tests.capture.identity.test_evaluation import cases

pytestmark = pytest.mark.skipif(
    detector._idscan is None,
    reason="capture.identity._idscan is not built (no C compiler when headerwatch was installed)",
)

DATA = Path(__file__).parents[2] / "data"
CANARIES = IdentityConfig(
    region="GB",
    msisdns=("07700 900123",),
    imeis=("490154203237518",),
    canaries=("alice@example.com",),
)

_B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@cache
def _detector() -> IdentityDetector:
    return IdentityDetector(IdentityConfig(region="GB"))


def _fresh_detector() -> IdentityDetector:
    """A detector of its own, for a test that classifies names: what it learns
    (``_plain``) stays out of the shared one's."""
    return IdentityDetector(IdentityConfig(region="GB"))


@cache
def _matcher() -> canary.CanaryMatcher:
    return IdentityDetector(CANARIES)._canaries


@cache
def _short_key_matcher() -> canary.CanaryMatcher:
    # "+1 201-555-0123" has short keys ("0123"), whose literal must be in the same text.
    config = IdentityConfig(
        region="GB", msisdns=("+1 201-555-0123", "07700 900123"), canaries=("alice@example.com",)
    )
    return IdentityDetector(config)._canaries


def _may_matter_both(text: str, sep: str) -> bool:
    det = _detector()
    in_c = detector._idscan.may_matter(text, sep, det._anchors)
    in_python = det._may_matter_py(text, sep)
    if text.isascii():
        assert in_c == in_python, (text, sep)
    else:
        assert in_c is None
    return in_python


# Characters every branch of the test turns on: separators, '=', '%', '+', ':',
# quotes, spaces, hex digits, the K/M/N/O of base64-wrapped digits, anchor letters.
_PIECES = st.sampled_from(
    [
        *';&=%+:"@ \t\n\x1c',
        *"0123456789abcdefABCDEF",
        *"KMNO2bB3x_-/",
        *("tel", "TEL", "sip", "SIPS", "Tel", "%2B", "%40", "%3", "3434"),
        *("sub", "caller", "imei", "msisdn", "MSISDN", "dev", "num", "é", "K"),
        *("?", "%3F", "%3f", "%26", "%3D", "%3d", "%2", "%"),  # a carried query's marks
    ]
)


@settings(max_examples=600, deadline=None)
@given(st.lists(_PIECES, max_size=60).map("".join), st.sampled_from(";&"))
def test_may_matter_in_c_answers_as_python_on_any_text(text: str, sep: str) -> None:
    _may_matter_both(text, sep)


# Long runs of characters no value test turns on, as ad and analytics values are:
# the one pass skips them sixteen bytes at a time, so every special character is
# tried at every offset of a block and at its edges.
_LONG_PIECES = st.sampled_from(
    [
        *("Zq8wXy0_Lr-PtVb9", "Zq8wXy0_Lr-PtVb", "Zq8w", "x", "GA1.2.645157245.1700000000"),
        *';&=%+:@" ',
        *("%2B", "%40", "%35", "tel", "SIP", "2b", "3434373730303930", "NDQ3NzAwOTAw"),
        *("sub", "CALLER", "idfa", "imei", "gtm_a1b2c3d4e5", "_uetsid_484da98f1d", "é"),
        *("?", "%3F", "%26", "%3D", "https%3A%2F%2Fshop.example%2F%3F", "utm_source%3D"),
    ]
)


@settings(max_examples=600, deadline=None)
@given(st.lists(_LONG_PIECES, max_size=40).map("".join), st.sampled_from(";&"))
def test_may_matter_in_c_answers_as_python_on_long_values(text: str, sep: str) -> None:
    _may_matter_both(text, sep)


@pytest.mark.parametrize("offset", range(40))
@pytest.mark.parametrize("special", ["@", "%2B", "+4", "tel:", "=NDQ3NzAwOTAwMTIz&", "; msisdn="])
def test_may_matter_in_c_finds_a_special_at_any_offset_of_a_long_value(
    offset: int, special: str
) -> None:
    value = "Zq8wXy0_Lr-PtVb9" * 3
    text = f"a=1; b={value[:offset]}{special}{value[offset:]}; c=2"
    assert _may_matter_both(text, ";") is True
    assert _may_matter_both(f"a=1; b={value[:offset]}x{value[offset:]}; c=2", ";") is False


# Every ASCII character, as the network may send it: the one pass stops a value's
# sixteen-byte blocks at ranges of bytes ("'()*,<>?" are in them and are no stop).
@settings(max_examples=800, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.characters(max_codepoint=0x7F), st.sampled_from(["msisdn", "TeL:", "%3", "=M"])
        ),
        max_size=70,
    ).map("".join),
    st.sampled_from(";&"),
)
def test_may_matter_in_c_answers_as_python_on_any_ascii_text(text: str, sep: str) -> None:
    _may_matter_both(text, sep)


# A name is read four bytes a round and a value sixteen (its last bytes as the text's
# last sixteen): a word or a value test at every offset of a name or value, from the
# first byte to the last, in texts shorter and longer than a block.
_NAME_MARKS = [
    *("imei", "IMEI", "nr", "Nr", "tel:", "Sip%3A"),
    *("x@", "+4", "%2b", "%40", "%35", "%2540"),
]
_VALUE_MARKS = [*("@", "%2B", "%252b", "%40", "%31", "+4", "tel:", "SIPS%3a"), *"=M'?:", "%3"]


@pytest.mark.parametrize("sep", [";", "&"])
@pytest.mark.parametrize("mark", _NAME_MARKS)
def test_may_matter_in_c_finds_a_word_or_test_at_any_offset_of_a_name(sep: str, mark: str) -> None:
    filler = "9f3e7d2c1b0a8g7h6j5k4z3x2q1w0e9r"
    for before in range(0, 22):
        for after in range(0, 9):
            name = filler[:before] + mark + filler[:after]
            for text in (name, f"{name}=v", f"a=1{sep}{name}=Zq8wXy0_Lr-PtVb9", f"{sep}{name}"):
                assert _may_matter_both(text, sep) is True, text
            # One byte of the mark gone: the test may go either way, C as Python.
            _may_matter_both(name[:before] + mark[1:] + filler[:after], sep)
            _may_matter_both(name[: before + len(mark) - 1] + filler[:after], sep)


@pytest.mark.parametrize("sep", [";", "&"])
@pytest.mark.parametrize("mark", _VALUE_MARKS)
def test_may_matter_in_c_finds_a_value_test_at_any_offset_of_a_short_or_long_value(
    sep: str, mark: str
) -> None:
    filler = "Zq8wXy0_Lr-PtVb9Zq8wXy0_Lr-PtVb9Zq8w"
    for head in ("", "a=", f"gtm_3fa9c01b2e=1{sep}v="):
        for before in range(0, 36):
            for after in (0, 1, 2, 7, 15, 16, 17):
                value = filler[:before] + mark + filler[:after]
                _may_matter_both(head + value, sep)
                _may_matter_both(f"{head}{value}{sep}x=1", sep)
                _may_matter_both(f"{head}{value}{sep}msisdn", sep)


# Tokens that start as base64 of digits does (K, M, N or O) with an M, N, O or other
# byte at each multiple of four, of every length around the 8 to 24 of the shape.
@settings(max_examples=600, deadline=None)
@given(
    st.sampled_from("KMNOk"),
    st.lists(
        st.tuples(st.sampled_from("MNOKz9_-+/"), st.text(_B64URL + "+/", min_size=3, max_size=3)),
        max_size=7,
    ).map(lambda groups: "".join(a + b for a, b in groups)),
    st.text(_B64URL, max_size=3),
    st.sampled_from(["", "=", "==", "%3D", "%3d%3D", '"', '="', " ", "x", "%"]),
    st.sampled_from(";&"),
)
def test_may_matter_in_c_reads_tokens_shaped_near_base64_of_digits_as_python(
    first: str, groups: str, tail: str, close: str, sep: str
) -> None:
    token = first + groups[1:] + tail
    for text in (f"v={token}{close}", f"v={token}{close}{sep}w=1"):
        _may_matter_both(text, sep)


@pytest.mark.parametrize("offset", range(40))
@pytest.mark.parametrize(
    "carried", ["%3Fmsisdn%3D1", "?msisdn=1", "%3fa%3D1%26tel%3d2", "%3Futm%3Dmsisdn", "?a"]
)
def test_a_carried_query_is_read_in_c_at_any_offset_of_a_long_value(
    offset: int, carried: str
) -> None:
    # The value pass stops at '?' and '%' sixteen bytes at a time: a carried query's
    # mark anywhere in a value, and its names, are read as Python reads them.
    det = _detector()
    value = "Zq8wXy0_Lr-PtVb9" * 3
    value = value[:offset] + carried + value[offset:]
    for sep in ";&":
        _may_matter_both(f"a=1{sep} dl={value}{sep}c=2", sep)
    pairs = [("dl", value), ("v", "x" + value)]
    assert detector._idscan.pick(pairs, det._anchors) == detector._picked_py(pairs, det._anchored)
    body = json.dumps({"v": 1, "page": value}).encode()
    assert detector._idscan.json_may_matter(body, det._anchors) == detector._json_may_matter_py(
        body, det._anchored
    )


@pytest.mark.parametrize(
    ("text", "sep", "expected"),
    [
        ("a=1; b=2", ";", False),
        ("a=1; msisdn=2", ";", True),
        ("a=1&b=%2B447700900123", "&", True),
        ("a=1&b=tel%3A447700900123", "&", True),
        ("a=1&b=sip:447700900123", "&", True),
        ("a=1&b=+44", "&", True),
        ("a=x@y", "&", True),
        ("h=343437373030393030313233", "&", True),  # hex of digits
        ('h= "2b3434373730303930303132"', ";", True),
        ("b=NDQ3NzAwOTAwMTIz", "&", True),  # base64 of digits
        ("b=NDQ3NzAwOTAwMTIz==x", "&", False),
        ("b=NDQ3NzAwOTAwMTIzNDQ3NzAwOTAwMTIz", "&", False),  # too long a run
        ("b=NDQ3NzAwOTAwMTIz%3D%3D", "&", True),  # padding percent-encoded
        ("b=NDQ3NzAwOTAwMTI", "&", True),  # the last group of three
        ("b=NDQ3NzAwOTAwM", "&", False),  # a last group of one is no base64
        ("b=Kxq3Vq8wXy0_LrPtVb9", "&", False),  # a token that only starts like one
        ("_uetsid_604e=NzAwOTAwMTIzAbCdEf; v=1", ";", False),  # E at 20: not shaped
        ("b=NzAw", "&", False),
        ("gtm_a1b2c3d4e5=1&subscription_deadbeef=2", "&", True),
        ("gtm_a1b2c3d4e5=1&x_deadbeef=2", "&", False),
        ("https%3A%2F%2Fexample.com=1", "&", False),
        ("a=1&b=Tel%3A447700900123", "&", True),  # a scheme, encoded, in any case
        ("a=1&b=sips%3A447700900123", "&", True),
        ("a=1&b=SiP%3a447700900123", "&", True),
        ("deadbeefcaller=1", "&", True),  # an anchor glued to a run of hex digits
        ("c2d8ab4fadid=1", "&", True),
        ("x_1234abee=1; amobee9f8e7d6c=2", ";", True),
        ("", ";", False),
        # A page's address carried in a value (Google Analytics' dl=): its query's names.
        ("v=1&dl=https%3A%2F%2Fshop.example%2F%3Fmsisdn%3D447700900123", "&", True),
        ("dl=https%3a%2f%2fx%2f%3fa%3d1%26E-Mail%3d2&v=1", "&", True),
        ("dl=https%3A%2F%2Fshop.example%2F%3Futm_source%3Dgoogle%26utm_medium%3Dcpc", "&", False),
        ("dl=https%3A%2F%2Fshop.example%2F%3Fq%3Dmsisdn", "&", False),  # a value
        ("dl=https%3A%2F%2Fshop.example%2Fmsisdn%2F", "&", False),  # no query
        ("dl=https%253A%252F%252Fx%252F%253Fmsisdn%253D1", "&", False),  # encoded twice
        ("last=https://x/?a=1&phone=2; v=1", ";", True),  # as sent, in a cookie
        ("u=https://x/?a=1&phone=2", "&", True),  # '&' ends the value: "phone" a name
        ("u=https://x/?a=phone", "&", False),
    ],
)
def test_may_matter_in_c_on_chosen_texts(text: str, sep: str, expected: bool) -> None:
    assert _may_matter_both(text, sep) is expected


def _runs_both(text: str, tail: int) -> tuple[list[str], list[str]]:
    matcher = _matcher()
    args = (matcher._index, matcher._hexlike_sizes)
    in_c = detector._idscan.runs(text, matcher._shortest, *args, matcher._gate, tail)
    keyed, hexes = canary._runs_py(text, matcher._runs, *args)
    decoded = text
    if tail >= 0 and "%" in text[tail:]:
        decoded = canary.url_decode(text[tail:])
        more = canary._runs_py(decoded, matcher._runs, *args)
        keyed, hexes = keyed + more[0], hexes + more[1]
    if in_c is not None:
        assert in_c == (keyed, hexes), (text, tail)
    else:
        assert not text.isascii() or not decoded.isascii()
    return keyed, hexes


_RUN_PIECES = st.sampled_from(
    [
        *"0123456789abcdefABCDEFxyz%-_ .=é\x00",
        *("%2B", "%2b", "%40", "%e9", "%zz", "%4"),
        *("447700900123", "7700900123", "alice", "40example", "490154203237518"),
        *("3434373730303930303132", "NDQ3NzAwOTAwMTIz"),
    ]
)


@settings(max_examples=600, deadline=None)
@given(st.lists(_RUN_PIECES, max_size=40).map("".join), st.integers(-1, 30))
def test_runs_in_c_cuts_as_python_on_any_text(text: str, tail: int) -> None:
    _runs_both(text, min(tail, len(text)))


def test_runs_in_c_decodes_as_unquote_and_leaves_non_ascii_to_python() -> None:
    # As sent, the run is the key of the URL-encoded form; decoded, of the number.
    assert _runs_both("x=%2B447700900123", 0)[0] == ["2B447700900123", "447700900123"]
    assert _runs_both("x=%2B447700900123", -1)[0] == ["2B447700900123"]
    assert _runs_both("a%40example.com\x00alice%40example.com", 16)[0] == [
        "40example",
        "alice",
        "40example",
        "alice",
    ]
    matcher = _matcher()
    args = (matcher._shortest, matcher._index, matcher._hexlike_sizes, matcher._gate)
    assert detector._idscan.runs("caf%C3%A9 447700900123", *args, 0) is None
    assert detector._idscan.runs("café 447700900123", *args, -1) is None


# Escapes whole and cut short, of ASCII, of UTF-8's lead and continuation bytes and of
# bytes UTF-8 never holds, beside the characters around them in real cookies.
_ESCAPED_PIECES = st.sampled_from(
    ["%", "%2", "%2B", "%2b", "%7B%22", "%C3%A9", "%E2%82%AC", "%C3", "%A9", "%ff", "%FE",
     "%zz", "%%", "%g1", "%0", "%00", "+", "=", ";", "a", "Z", "9", " ", "{", "\x7f"]
)  # fmt: skip


@settings(max_examples=800, deadline=None)
@given(st.lists(_ESCAPED_PIECES, max_size=40).map("".join))
def test_url_decoded_in_c_decodes_as_unquote_on_any_ascii_text(text: str) -> None:
    assert detector._idscan.url_decoded(text) == unquote(text, errors="surrogateescape")


@pytest.mark.parametrize("size", [0, 1, 510, 511, 512, 513, 5000])
def test_url_decoded_in_c_decodes_a_value_of_any_length(size: int) -> None:
    # Its buffer is on the stack up to 512 bytes, then allocated.
    for text in ("%7B" * (size // 3) + "x" * (size % 3), "x" * size + "%40", "%" + "a" * size):
        assert detector._idscan.url_decoded(text) == unquote(text, errors="surrogateescape")


def test_url_decoded_leaves_what_is_not_ascii_to_python() -> None:
    assert detector._idscan.url_decoded("caf\u00e9%40") is None
    assert encodings.url_decode("caf\u00e9%40x") == "caf\u00e9@x"
    text = "no escape at all"
    assert detector._idscan.url_decoded(text) is text


def _capture_requests() -> Iterator[Request]:
    for path in sorted(DATA.rglob("*.pcap*")):
        pipeline = Pipeline(responses=False)
        events = [*pipeline.run_capture(CaptureFile(str(path))), *pipeline.flush()]
        yield from (e.record.request for e in events if isinstance(e, RequestSeen))


@cache
def _corpus() -> tuple[tuple[Request, str | None], ...]:
    evaluation = [(case.request, case.region) for case in cases()]
    captured = [(request, "GB") for request in _capture_requests()]
    return (*evaluation, *captured)


def _findings(config: IdentityConfig) -> list[tuple[Finding, ...]]:
    detectors: dict[Any, IdentityDetector] = {}
    found = []
    for request, case_region in _corpus():
        # The canaries' national number needs their region.
        region = config.region or case_region
        key = region or "default"
        if key not in detectors:
            detectors[key] = IdentityDetector(
                IdentityConfig(
                    region=region,
                    msisdns=config.msisdns,
                    imeis=config.imeis,
                    canaries=config.canaries,
                )
            )
        found.append(detectors[key].detect(request))
    return found


@pytest.mark.parametrize("config", [IdentityConfig(), CANARIES], ids=["plain", "canaries"])
def test_the_detector_finds_the_same_with_and_without_c(
    config: IdentityConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = _corpus()
    assert len(corpus) > 2000
    assert any(r.headers and any(n.lower() == "cookie" for n, _ in r.headers) for r, _ in corpus)
    fast = _findings(config)
    with monkeypatch.context() as patch:
        patch.setattr(detector, "_idscan", None)
        patch.setattr(canary, "_idscan", None)
        slow = _findings(config)
    assert fast == slow
    assert sum(1 for found in fast if found) > 500
    if config.canaries:
        assert sum(1 for found in fast for f in found if f.detector == "canary") > 100


@pytest.mark.parametrize("config", [IdentityConfig(), CANARIES], ids=["plain", "canaries"])
def test_findings_kept_for_values_seen_before_are_those_found_afresh(
    config: IdentityConfig,
) -> None:
    # The detector keeps the findings of a value (and the canaries found in a text):
    # a request seen again, after every other, gives what it gave, and what a
    # detector that kept nothing finds.
    requests = [request for request, _ in _corpus()]
    kept = IdentityDetector(replace(config, region="GB"))
    first = [kept.detect(request) for request in requests]
    assert [kept.detect(request) for request in requests] == first
    assert len(kept._found) > 100
    afresh = IdentityDetector(replace(config, region="GB"))
    found = []
    for request in requests:
        afresh._found.clear()
        afresh._canary_found.clear()
        found.append(afresh.detect(request))
    assert found == first


def test_the_kept_findings_are_emptied_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(detector, "_VALUE_CACHE_LIMIT", 2)
    det = IdentityDetector(IdentityConfig(region="GB"))
    requests = [
        make_request(add=[("X-MSISDN", f"4477009001{n:02d}")], uri=f"/?phone=%2B4479111234{n:02d}")
        for n in range(5)
    ]
    first = [det.detect(request) for request in requests]
    assert len(det._found) <= 2
    assert all(first)
    assert [det.detect(request) for request in requests] == first


def test_anchor_words_hold_no_separator() -> None:
    # The C test searches names cut out of the whole string: a word with ';' or '&'
    # could straddle two names, and one with '=' could never be found.
    assert not any(re.search("[;&=]", word) for word in _detector()._anchors)


_TEXT_PIECES = st.sampled_from(
    [
        *"0123456789abcdef xyz-%@.=&;\x00",
        *("%2B", "%40", "%30%31%32%33", "%e9"),
        *("447700900123", "7700900123", "0123", "(201) 555-", "alice", "example.com"),
        *("alice@example.com", "xalice@example.com", "3434373730303930303132"),
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.lists(_TEXT_PIECES, max_size=12).map("".join), max_size=5))
def test_one_pass_over_several_texts_answers_as_one_test_each(texts: list[str]) -> None:
    matcher = _short_key_matcher()
    assert matcher.could_match_any(texts) == any(matcher.could_match(t) for t in texts)
    # The last text (a request's target) is also tested percent-decoded.
    decoded = [canary.url_decode(texts[-1])] if texts and "%" in texts[-1] else []
    expected = any(matcher.could_match(t) for t in [*texts, *decoded])
    assert matcher.could_match_any(texts, decode_last=True) == expected


def test_a_short_key_in_one_text_and_its_literal_in_another_is_no_match() -> None:
    config = IdentityConfig(region="US", msisdns=("+1 201-555-0123",))
    matcher = IdentityDetector(config)._canaries
    assert any(len(key) < canary.MIN_CANARY_LENGTH for key in matcher._index)
    assert not matcher.could_match_any(["x 0123 y", "(201) 555-"])
    assert not matcher.could_match_any(["(201) 555-", "0123"])  # no literal across texts
    assert matcher.could_match_any(["x", "call (201) 555-0123"])


_NAME_PIECES = st.sampled_from(
    [*"abcxyzABC_-.0123456789é", "msisdn", "MSISDN", "sub", "dev", "ad-id", "Tel", "gtm_"]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_NAME_PIECES, max_size=8).map("".join))
def test_anchored_in_c_answers_as_python_on_any_name(name: str) -> None:
    anchors = _detector()._anchors
    in_c = detector._idscan.anchored(name, anchors)
    assert in_c == (detector._anchored_py(name, anchors) if name.isascii() else None)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from("KMNO"),
    st.text(_B64URL, min_size=9, max_size=25),
    st.sampled_from(["gtm_a1b2", "_ga", "sid", "x_subscriber", "phone", "idfa", "v"]),
    st.sampled_from([WHERE_COOKIE, WHERE_QUERY]),
)
def test_an_opaque_token_passed_over_by_params_holds_nothing(
    first: str, rest: str, name: str, where: str
) -> None:
    # _params passes over a base64url value starting with K, M, N or O that is not
    # shaped like base64 of digits, under a name with no anchor word: _param on its
    # own finds nothing in any such pair either.
    det = _detector()
    value = first + rest
    found: list[Finding] = []
    det._param(name, value, where, found)
    skipped: list[Finding] = []
    det._params([(name, value)], where, skipped)
    assert skipped == found
    if not det._anchored(name) and not encodings.base64_shaped(value):
        assert found == []


def test_base64_wrapped_digits_under_any_name_are_still_read() -> None:
    det = _detector()
    found: list[Finding] = []
    det._params([("gtm_a1b2", "NDQ3OTExMTIzNDU2")], WHERE_QUERY, found)  # 447911123456
    assert [f.normalized for f in found] == ["+447911123456"]


def _may_matter_with(anchors: tuple[str, ...], text: str, sep: str) -> None:
    """C and Python agree on ``text`` with ``anchors`` in place of the detector's."""
    det = IdentityDetector(IdentityConfig(region="GB"))
    det._anchors = anchors
    in_c = detector._idscan.may_matter(text, sep, anchors)
    assert in_c == (det._may_matter_py(text, sep) if text.isascii() else None), (anchors, text)


# Words over few letters share their first one or two (the one pass looks a name's
# words up by those two, lower-cased), are prefixes of one another, one letter long.
_WORDS = st.text("abAB-._1", min_size=1, max_size=5).map(str.lower)


@settings(max_examples=600, deadline=None)
@given(
    st.lists(_WORDS, min_size=1, max_size=12).map(tuple),
    st.lists(st.one_of(_WORDS, _WORDS.map(str.upper), st.sampled_from([*";&=%@+: xyZ", "é"])),
             max_size=30).map("".join),
    st.sampled_from(";&"),
)  # fmt: skip
def test_may_matter_in_c_finds_words_that_share_their_first_bytes_as_python(
    anchors: tuple[str, ...], text: str, sep: str
) -> None:
    _may_matter_with(anchors, text, sep)


# Words as a user may write them, capitals and all (lower-cased names never hold
# one), and names that hold a word's first two bytes with every other third byte.
@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.text("aBc-Z_", min_size=1, max_size=4), min_size=1, max_size=8).map(tuple),
    st.lists(st.text("aAbBcC-zZ_=;&", max_size=6), max_size=8).map("".join),
    st.sampled_from(";&"),
)
def test_may_matter_in_c_finds_words_with_capitals_and_near_misses_as_python(
    anchors: tuple[str, ...], text: str, sep: str
) -> None:
    _may_matter_with(anchors, text, sep)


def test_may_matter_in_c_with_more_word_starts_than_it_indexes_answers_as_python() -> None:
    # 8,281 first pairs of two bytes: past the one pass's 8,191 buckets.
    letters = [chr(c) for c in range(0x21, 0x7F) if chr(c) not in ";&="]
    anchors = tuple(a + b + "q" for a in letters for b in letters)
    assert len({word[:2] for word in anchors}) > 8191
    for text in ("x=1;y=2", "zz=1;" + anchors[-1].upper() + "=2", "a~q=1", "~~=1&b=2", "aAq"):
        for sep in ";&":
            _may_matter_with(anchors, text, sep)


@pytest.mark.parametrize("opening", [*" \t\n\v\f\r\x1c\x1d\x1e\x1f", '"', ' "', ""])
@pytest.mark.parametrize("wrapped", ["34343434343434", "2b34343434343434", "NDQ3NzAwOTAwMTIz"])
@pytest.mark.parametrize("sep", [";", "&"])
def test_may_matter_in_c_reads_wrapped_digits_after_any_opening_of_a_value(
    opening: str, wrapped: str, sep: str
) -> None:
    # Every byte the one pass lets a value start with before it reads the value
    # (spaces, a quote), and the first byte of each wrapping.
    close = '"' if opening.endswith('"') else ""
    text = f"zz=1{sep}qq={opening}{wrapped}{close}{sep}xx=2"
    assert _may_matter_both(text, sep)


# Values shaped and not shaped like base64 of digits: groups of four that start with
# M, N or O or with another letter, short and long, padded as sent or encoded.
_B64_PIECES = st.sampled_from(
    [*"KMNO", "MzQ", "Zq8", "Zq8w", "x", "NDQ3", "NzAw", "_-/", "=", "%3D", "%3d", *'"; &=']
)


@settings(max_examples=800, deadline=None)
@given(st.lists(_B64_PIECES, max_size=30).map("".join), st.sampled_from(";&"))
def test_may_matter_in_c_answers_as_python_on_base64_like_values(text: str, sep: str) -> None:
    _may_matter_both(text, sep)


_TOKENS = st.one_of(
    st.lists(_B64_PIECES.filter(lambda p: p not in ";&="), min_size=1, max_size=8).map("".join),
    st.sampled_from(["NDQ3OTExMTIzNDU2", "MzQ0Nzc=", "KzQ0Nzc5MTExMjM0NTY=", "490154203237518"]),
    st.text(_B64URL, min_size=1, max_size=30),
)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["gtm_a1b2", "_ga", "sid", "v", "AMCV_5698d00"]), _TOKENS),
        min_size=1,
        max_size=6,
    ),
    st.sampled_from([";", "&"]),
)
# Found by this test: base64-wrapped digits as the second part of a value that only
# starts with a K (wrapped digits in a cookie or parameter are now read as the whole
# value, as the whole-string test looks for them).
@example(pairs=[("gtm_a1b2", "K NDQ3NDQ3NDQ3MzQ")], sep=";")
@example(pairs=[("sid", "MzQ0Nzc= 343437373930313233343536")], sep="&")
# And: a value of the first 3 characters of base64 JSON alone, which the reference
# took for a start of it and C (one more character wanted) did not.
@example(pairs=[("gtm_a1b2", "ew0")], sep=";")
def test_pairs_may_matter_turns_down_hold_nothing(pairs: list[tuple[str, str]], sep: str) -> None:
    # "Never no wrongly": where the whole-string test says no pair may matter, the
    # pair tests find nothing in any of them (it turns down opaque tokens that only
    # start like base64-wrapped digits, which _params passes over one by one).
    det = _detector()
    text = (sep + " " if sep == ";" else sep).join(f"{name}={value}" for name, value in pairs)
    if _may_matter_both(text, sep):
        return
    found: list[Finding] = []
    where = WHERE_COOKIE if sep == ";" else WHERE_QUERY
    det._params(pairs, where, found)
    assert found == []
    for name, value in pairs:
        det._param(name, value, where, found)
    assert found == []


# -- the canary gate's first test: needles ------------------------------------------


@cache
def _three_letter_key_matcher() -> canary.CanaryMatcher:
    # "abc-de" is looked up by its run "abc": windows of 3 bytes, looked at everywhere.
    return IdentityDetector(IdentityConfig(region="GB", canaries=("abc-de",)))._canaries


_MATCHERS = {
    "three canaries": _matcher,
    "short keys": _short_key_matcher,
    "a 3-letter key": _three_letter_key_matcher,
}


def _form_pieces() -> list[str]:
    """Every form of the test canaries (hex and digests too), and pieces of them."""
    pieces: list[str] = []
    for make in _MATCHERS.values():
        for item in make().canaries:
            for literal, _ in item.forms:
                pieces += [literal, literal[: len(literal) // 2], literal[len(literal) // 2 :]]
    return pieces


# Escapes of letters and digits (which may make a needle when decoded), of other bytes
# (which cannot), a byte past 0x7f, a wide character (the C tests give it to Python).
_NEEDLE_PIECES = st.sampled_from(
    [
        *"0123456789abcdefABCDEF xyz-%@.=&;?/+\x00é",
        *("%2B", "%34", "%34%34%37%37", "%61lice", "%3A%2F%2F", "%e9", "%zz", "%4", "Ω"),
        *_form_pieces(),
    ]
)
_NEEDLE_TEXT = st.lists(_NEEDLE_PIECES, max_size=10).map("".join)


def _wide(text: str) -> bool:
    return any(ord(ch) > 0xFF for ch in text)


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from(sorted(_MATCHERS)),
    st.lists(_NEEDLE_TEXT, max_size=4),
    _NEEDLE_TEXT,
    st.one_of(st.none(), _NEEDLE_TEXT),
)
def test_needles_in_c_answer_as_python_on_any_request(
    which: str, values: list[str], body: str, uri: str | None
) -> None:
    needles = _MATCHERS[which]()._needles
    assert needles is not None
    headers = [("X-A", value) for value in values]
    raw = body.encode("utf-8", "surrogateescape")
    expected = canary._needles_py(needles, headers, raw, uri)
    in_c = detector._idscan.needles(needles, headers, raw or None, uri)
    if in_c is None:
        assert any(_wide(text) for text in [*values, uri or ""])
    else:
        assert in_c == expected, (values, body, uri)
    for text in [*values, raw]:
        one = detector._idscan.needle_in(needles, text)
        if one is None:
            assert isinstance(text, str) and _wide(text)
        else:
            assert one == canary._needle_in_py(needles, text), text


def test_needles_are_found_as_sent_and_percent_decoded_only_where_that_can_make_one() -> None:
    needles = _matcher()._needles
    assert needles is not None
    needle_in = detector._idscan.needle_in
    assert needle_in(needles, "x=447700900123")
    assert needle_in(needles, b"x=447700900123")
    assert needle_in(needles, "x=%34%34%37%37%30%30%39%30%30%31%32%33")  # digits, escaped
    assert needle_in(needles, "https%3A%2F%2Fa.example%2F%3Fn%3D447700900123")
    assert not needle_in(needles, "https%3A%2F%2Fa.example%2F%3Fn%3D44770090012")
    assert not needle_in(needles, "x=4477009001 23")
    assert needle_in(needles, "é Ω") is None
    # The target is tested decoded; header values (as could_match_any does) as sent.
    escaped = "%34%34%37%37%30%30%39%30%30%31%32%33"
    assert detector._idscan.needles(needles, [], None, "/?n=" + escaped)
    assert not detector._idscan.needles(needles, [("Cookie", "n=" + escaped)], None, "/")
    assert detector._idscan.needles(needles, [("X", "Ω")], None, "/") is None
    # A needle found elsewhere decides all the same.
    assert detector._idscan.needles(needles, [("X", "Ω"), ("Y", "447700900123")], None, "/")


def test_a_header_value_sent_again_is_not_read_again_by_the_first_test() -> None:
    # The header splitter hands out the same str for a line a client repeats: the
    # first test keeps its answer by the str (holding it, so that no other str can
    # take its address), and reads it no more.
    needles = _matcher()._needles
    assert needles is not None
    user_agent = "".join(["Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X)"])
    before = sys.getrefcount(user_agent)
    assert not detector._idscan.needles(needles, [("User-Agent", user_agent)], None, "/")
    assert sys.getrefcount(user_agent) == before + 1
    assert not detector._idscan.needles(needles, [("User-Agent", user_agent)], None, "/")
    # What was kept for some needles is forgotten when others are looked for.
    other = canary._needles([canary.value_canary("Mozilla/5.0")], ["Mozilla"])
    assert other is not None
    assert detector._idscan.needles(other, [("User-Agent", user_agent)], None, "/")
    assert sys.getrefcount(user_agent) == before + 1
    assert not detector._idscan.needles(needles, [("User-Agent", user_agent)], None, "/")


def test_a_kept_header_value_gives_the_answer_it_gave() -> None:
    needles = _matcher()._needles
    assert needles is not None
    number = "".join(["tel=", "447700900123"])
    empty = "".join(["tel=", "none"])
    for _ in range(2):
        assert detector._idscan.needles(needles, [("X-A", number)], None, "/")
        assert not detector._idscan.needles(needles, [("X-A", empty)], None, "/")
        assert detector._idscan.needles(needles, [("X-A", empty), ("X-B", number)], None, "/")


def test_the_needle_tests_in_c_turn_down_damaged_arguments() -> None:
    needles = _matcher()._needles
    assert needles is not None
    needle_in = detector._idscan.needle_in
    damaged_calls: list[tuple[object, ...]] = [
        (),
        (needles,),
        (needles, "x", "y"),
        (list(needles), "x"),
        (needles, 5),
        (needles, None),
        (("abc", 5), "x"),
        (("abcé",), "x"),
    ]
    for args in damaged_calls:
        with pytest.raises(TypeError):
            needle_in(*args)
    with pytest.raises(TypeError):
        detector._idscan.needles(needles, [("X-A", b"x")], None, "/")
    with pytest.raises(TypeError):
        detector._idscan.needles(needles, [], "body", "/")
    # The index of the needles is intact: they are found as before.
    assert needle_in(needles, "x=447700900123")
    assert not needle_in(needles, "x=4477009001 23")


# Needles of any lengths over a small alphabet, so that they overlap, hold one another
# and share pairs and windows: every way the index is built (one needle shorter than the
# window of 4; the split way, shortest 5 to 7 with short needles of up to 10 and long
# ones; too many short ones for it) and both ends of every text.
_ALPHABET = "ab01"
_NEEDLE_OF = st.text(_ALPHABET, min_size=1, max_size=40)
_SHORT_NEEDLE = st.text(_ALPHABET, min_size=5, max_size=10)
_LONG_NEEDLE = st.text(_ALPHABET, min_size=11, max_size=40)
_NEEDLE_SETS = st.one_of(
    st.lists(_NEEDLE_OF, min_size=1, max_size=8),
    st.tuples(
        st.lists(_SHORT_NEEDLE, min_size=1, max_size=6), st.lists(_LONG_NEEDLE, max_size=8)
    ).map(lambda parts: parts[0] + parts[1]),
    st.lists(_SHORT_NEEDLE, min_size=17, max_size=30),
)


def _texts_for(needles: list[str]) -> st.SearchStrategy[str]:
    """Texts of the needles, their pieces, their bytes escaped, other bytes."""
    pieces = [*needles, *(n[: len(n) // 2] for n in needles), *(n[1:] for n in needles)]
    escaped = ["".join(f"%{ord(ch):02X}" for ch in n[:3]) for n in needles]
    others = [*_ALPHABET, "c", "-", "%", "%6", "%zz", "%2F", "\x00", "é", "Ω"]
    return st.lists(st.sampled_from(pieces + escaped + others), max_size=12).map("".join)


@settings(max_examples=600, deadline=None)
@given(st.data(), _NEEDLE_SETS)
def test_needles_of_any_lengths_in_c_answer_as_python(
    data: st.DataObject, found: list[str]
) -> None:
    needles = tuple(found)
    texts = _texts_for(found)
    values = data.draw(st.lists(texts, max_size=3))
    body = data.draw(texts).encode("utf-8", "surrogateescape")
    uri = data.draw(st.one_of(st.none(), texts))
    headers = [("X-A", value) for value in values]
    in_c = detector._idscan.needles(needles, headers, body or None, uri)
    if in_c is None:
        assert any(_wide(text) for text in [*values, uri or ""])
    else:
        assert in_c == canary._needles_py(needles, headers, body, uri), (values, body, uri)
    for text in [*values, body, uri or ""]:
        one = detector._idscan.needle_in(needles, text)
        if one is None:
            assert isinstance(text, str) and _wide(text)
        else:
            assert one == canary._needle_in_py(needles, text), text


@settings(max_examples=300, deadline=None)
@given(_NEEDLE_SETS, st.text(_ALPHABET + "c", max_size=30), st.text(_ALPHABET + "c", max_size=30))
def test_a_needle_is_found_wherever_it_lies_in_a_text(
    found: list[str], before: str, after: str
) -> None:
    needles = tuple(found)
    for needle in found:
        for text in (needle, before + needle, needle + after, before + needle + after):
            assert detector._idscan.needle_in(needles, text), (needle, text)
            assert detector._idscan.needles(needles, [("X-A", text)], None, None)
            assert detector._idscan.needles(needles, [], text.encode(), None)
    # And texts shorter than any needle hold none.
    shortest = min(len(needle) for needle in found)
    for text in (before[: shortest - 1], after[: shortest - 1]):
        assert detector._idscan.needle_in(needles, text) == canary._needle_in_py(needles, text)


def test_short_needles_held_in_others_still_find_what_the_others_would() -> None:
    # "20900123" and "00447700900123" hold "900123": the index enters "900123" alone,
    # and "900123" in a text is found whichever of them it came from.
    needles = ("900123", "20900123", "00447700900123", "alice", "ALICE", "x" * 32)
    needle_in = detector._idscan.needle_in
    for text in ("n=00447700900123", "n=20900123;", "900123", "a%390%30123"):
        assert needle_in(needles, text), text
    for text in ("n=0044770090012", "n=2090012", "90012 3", "alic", "ALIC", "x" * 31, ""):
        assert not needle_in(needles, text), text


def test_many_long_needles_are_found_in_c_as_in_python() -> None:
    # 300 long needles with a short one: more windows than the split way takes.
    needles = ("abcde", *(f"{i:032x}" for i in range(300)))
    texts = [f"{i:032x}" for i in (0, 150, 299, 300)] + ["x-abcde", "abcd", f"y{7:031x}"]
    for text in texts:
        expected = canary._needle_in_py(needles, text)
        assert detector._idscan.needle_in(needles, text) == expected, text
    assert detector._idscan.needle_in(needles, f"{299:032x}")
    assert not detector._idscan.needle_in(needles, f"{300:032x}")


def test_an_escape_that_makes_a_needle_is_seen_wherever_it_lies_in_a_target() -> None:
    # The escapes are looked for sixteen bytes at a time, the last bytes as the last
    # sixteen: an escape of a digit (or one cut short, or after a "%" of its own)
    # before, across and after every such boundary, among escapes of other bytes.
    needles = ("abcde4", "x" * 32)
    needle_in = detector._idscan.needle_in
    for escape, made in (("%34", True), ("%%34", False), ("%3", False), ("%2F", False)):
        for before in range(0, 40):
            for after in range(0, 20):
                for filler in ("-", "%2F"):
                    head = (filler * before)[:before]
                    tail = (filler * after)[:after]
                    text = head + "abcde" + escape + tail
                    expected = canary._needle_in_py(needles, text)
                    assert needle_in(needles, text) == expected, text
                    assert detector._idscan.needles(needles, [], None, text) == expected, text
                    if filler == "-":
                        assert expected == made, text


def _window_slot(window: str) -> int:
    """The slot of the needle index's map a window of 4 bytes falls in (_idscan.c's
    window_hash of the bytes read as a little-endian word)."""
    return (int.from_bytes(window.encode(), "little") * 0x9E3779B1 & 0xFFFFFFFF) >> 17


def _window_print(window: str) -> int:
    """The window's fingerprint in its slot (_idscan.c's window_fp)."""
    return ((int.from_bytes(window.encode(), "little") * 0x85EBCA77 & 0xFFFFFFFF) >> 24) | 1


@cache
def _slot_fellows(window: str) -> tuple[str, str]:
    """Two windows of digits and lower-case letters in the slot of ``window``: one of
    another fingerprint, one of the same ("" where there is none)."""
    slot, mark = _window_slot(window), _window_print(window)
    other = same = ""
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    for k in range(36**4):
        candidate = "".join(digits[k // 36**p % 36] for p in range(4))
        if candidate == window or _window_slot(candidate) != slot:
            continue
        if _window_print(candidate) == mark:
            same = same or candidate
        else:
            other = other or candidate
        if other and same:
            break
    return other, same


@pytest.mark.parametrize("shortest", ["alice", "abcdefghijkl"])
def test_windows_that_share_a_slot_of_the_map_are_told_apart_by_the_whole_needle(
    shortest: str,
) -> None:
    # A long needle starts with a window, another long needle with a window of the same
    # slot and another fingerprint (the slot is then marked for many), and texts hold
    # windows of that slot, of either fingerprint, before the wrong bytes: the split way
    # (with "alice") and the generic one, each needle found and nothing else.
    first = "wxyz"
    other, same = _slot_fellows(first)
    assert other
    fellows = [window for window in (first, other, same) if window]
    needles = (shortest, first + "-long-needle-1", other + "-long-needle-2")
    texts = [
        *(pad + needle + pad for needle in needles for pad in ("", "0", "01234567")),
        *(pad + window + "-long-needle-3" for window in fellows for pad in ("", "0")),
        *(window + "-long-needle-1" for window in fellows[1:]),
        first + "-long-needle-2",
        "-".join([*fellows, first]),
    ]
    for text in texts:
        expected = canary._needle_in_py(needles, text)
        assert detector._idscan.needle_in(needles, text) == expected, text
        assert detector._idscan.needles(needles, [("X-A", text)], None, None) == expected
    # And alone in its slot, a window of another fingerprint is turned down.
    alone = (shortest, first + "-long-needle-1")
    for window in fellows[1:]:
        text = window + "-long-needle-1"
        assert not detector._idscan.needle_in(alone, text), text
        assert detector._idscan.needle_in(alone, "0" + first + "-long-needle-1")


def _random_request(values: list[str], body: str, uri: str, form: bool) -> Request:
    headers = [("Cookie" if i % 2 else "X-A", value) for i, value in enumerate(values)]
    if form:
        headers.append(("Content-Type", "application/x-www-form-urlencoded"))
    return make_request(add=headers, uri="/" + uri, body=body.encode("utf-8", "surrogateescape"))


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(sorted(_MATCHERS)),
    st.lists(_NEEDLE_TEXT, max_size=4),
    _NEEDLE_TEXT,
    _NEEDLE_TEXT,
    st.booleans(),
)
def test_the_first_test_never_rejects_what_the_canary_search_would_find(
    which: str, values: list[str], body: str, uri: str, form: bool
) -> None:
    matcher = _MATCHERS[which]()
    request = _random_request(values, body, uri, form)
    assert request.uri is not None
    texts = [value for _, value in request.headers]
    if request.body:
        texts.append(request.body.decode("utf-8", "surrogateescape"))
    texts.append(request.uri)
    first = matcher.could_be_in(request.headers, request.body, request.uri)
    if first is None:
        assert any(_wide(text) for text in [*values, uri])
    if first is False:
        assert not matcher.could_match_any(texts, decode_last=True)
    # Each field the search looks at, in a header value, target or body may_hold
    # turns down, holds no canary in any form.
    exact = matcher.could_match_any(texts, decode_last=True)
    for where, name, text, unseen in detector._canary_fields(request):
        if matcher.find(text):
            kept = detector._canary_fields(request, matcher.may_hold)
            assert (where, name, text, unseen) in list(kept), (where, name, text)
            # A field among the texts of the exact test, or part of one, is seen by it.
            assert unseen or exact, (where, name, text)


@settings(max_examples=300, deadline=None)
@given(st.lists(_NEEDLE_TEXT, max_size=4), _NEEDLE_TEXT, _NEEDLE_TEXT, st.booleans())
def test_the_detector_finds_the_same_canaries_as_the_whole_search(
    values: list[str], body: str, uri: str, form: bool
) -> None:
    # The whole search, as it was before the first test: nothing unless the exact test
    # over the request's texts says yes, then every field, each header value only
    # when it could hold a canary.
    request = _random_request(values, body, uri, form)
    det = IdentityDetector(CANARIES)
    matcher = det._canaries
    expected = []
    if det._could_hold_canary(request):
        for where, name, text, _ in detector._canary_fields(request):
            if where != "header" or matcher.could_match(text):
                expected += [(where, name, hit.text) for hit in matcher.find(text)]
    found: list[Finding] = []
    first = matcher.could_be_in(request.headers, request.body, request.uri)
    assert first is None or det._needles == matcher.needles
    det._find_canaries(request, found, first)
    assert [(f.where, f.name, f.value) for f in found] == expected


def test_needles_cover_every_form_of_every_canary() -> None:
    for make in _MATCHERS.values():
        matcher = make()
        assert matcher._needles is not None
        for item in matcher.canaries:
            for literal, description in item.forms:
                assert matcher.find(literal), description
                assert detector._idscan.needle_in(matcher._needles, literal), description
                assert matcher.could_be_in([("X-A", literal)], b"", None), description


def test_too_many_canaries_go_to_the_cut_of_runs() -> None:
    numbers = [f"+4477009{n:05d}" for n in range(canary.NEEDLE_LIMIT // 20)]
    matcher = IdentityDetector(IdentityConfig(msisdns=tuple(numbers)))._canaries
    assert matcher._needles is None
    assert matcher.could_be_in([("X-A", "nothing here")], b"", "/") is None
    assert matcher.may_hold("nothing here")
    # The exact test decides then, as it did before the first test.
    det = IdentityDetector(IdentityConfig(msisdns=tuple(numbers)))
    assert det._needles is None  # so detect() hands _find_canaries no first answer
    found: list[Finding] = []
    det._find_canaries(make_request(add=[("X-A", "447700900003")]), found, None)
    assert [f.normalized for f in found] == ["+447700900003"]
    det._find_canaries(make_request(add=[("X-A", "nothing here")]), found, None)
    assert len(found) == 1


# -- the fields of a request a canary is looked for in: canary_fields ----------------

# Pieces of cookie headers, targets and bodies: every separator and stripped character
# of the cut into fields, escapes that decode to a letter, to a separator or to nothing
# ("%zz", "%4"), and the canaries' forms; and, in some requests, what Python decides:
# escapes past 0x7f, non-ASCII text, the KELVIN SIGN.
_ASCII_PIECES = [
    *";&=?#%+\"' \t\n\x0b\x0c\x1c\x1f\x00/aZ1",
    *("%2B", "%34%34", "%61lice", "%3D", "%26", "%3B", "%23", "%zz", "%4"),
    *("%2b+", "a+b", "x%2", "==", "&&", ";;", ' "', '" '),
    *_form_pieces(),
]
_ODD_PIECES = ["é", "Ω", "\u212a", "%e9", "%C3%A9", "%80"]


def _field_texts(odd: bool) -> st.SearchStrategy[str]:
    """Texts of the pieces, bare or cut into ``name=value`` pairs by ";" or "&"."""
    text = st.lists(st.sampled_from(_ASCII_PIECES + (_ODD_PIECES if odd else [])), max_size=10)
    short = text.map("".join)
    pairs = st.tuples(
        st.sampled_from([";", "; ", "&"]), st.lists(st.tuples(short, short), max_size=5)
    ).map(lambda cut: cut[0].join(f"{name}={value}" for name, value in cut[1]))
    return st.one_of(short, pairs)


# Header names: the Cookie and Content-Type headers in any case, one spelled with the
# KELVIN SIGN (whose str.lower() is "cookie"), others, and an empty one.
_FIELD_NAMES = ["Cookie", "cookie", "COOKIE", "X-A", "Content-Type", "content-TYPE", "Host", ""]
_CONTENT_TYPES = [
    "application/x-www-form-urlencoded",
    "Application/X-WWW-Form-Urlencoded; charset=utf-8",
    "application/x-www-form-urlencode",
    "text/plain",
    "",
]


@st.composite
def _field_requests(draw: st.DrawFn) -> Request:
    """Requests of many headers (the Content-Type ones with types), any target, and a
    body that is a form, is not, or is not UTF-8; some with non-ASCII text."""
    odd = draw(st.booleans())
    texts = _field_texts(odd)
    names = _FIELD_NAMES + (["Coo\u212aie"] if odd else [])
    types = _CONTENT_TYPES + (["application/x-www-form-urlencodedé"] if odd else [])
    headers = []
    for name in draw(st.lists(st.sampled_from(names), max_size=12)):
        kind = st.sampled_from(types) if name.lower() == "content-type" else texts
        headers.append((name, draw(kind)))
    target = st.tuples(texts, texts, texts).map(lambda parts: f"/{parts[0]}?{parts[1]}#{parts[2]}")
    uri = draw(st.one_of(st.none(), texts, target))
    body = draw(
        st.one_of(
            texts.map(lambda text: text.encode("utf-8", "surrogateescape")),
            st.binary(max_size=12) if odd else st.just(b""),
        )
    )
    return replace(make_request(headers=headers), uri=uri, body=body)


def _escapes_past_ascii(text: str) -> bool:
    return re.search(r"%[89a-fA-F][0-9a-fA-F]", text) is not None


def _ascii_request(request: Request) -> bool:
    """Is every str and byte of ``request`` ASCII, and so is every escape in them (then
    ``canary_fields`` decides it whole)?"""
    texts = [*(text for pair in request.headers for text in pair), request.uri or ""]
    texts.append(request.body.decode("latin-1"))
    return all(text.isascii() and not _escapes_past_ascii(text) for text in texts)


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(sorted(_MATCHERS)), _field_requests())
def test_canary_fields_in_c_are_the_fields_python_walks(which: str, request: Request) -> None:
    matcher = _MATCHERS[which]()
    needles = matcher.needles
    assert needles is not None
    expected = list(detector._canary_fields(request, matcher.may_hold))
    in_c = detector._idscan.canary_fields(needles, request.headers, request.uri, request.body)
    if in_c is None:
        # Python decides only where something is not ASCII.
        assert not _ascii_request(request)
    else:
        assert in_c == expected
        assert [tuple(map(type, field)) for field in in_c] == [(str, str, str, bool)] * len(in_c)
    if _ascii_request(request):
        assert in_c is not None


def test_canary_fields_in_c_cut_and_decode_as_python() -> None:
    matcher = _matcher()
    needles = matcher.needles
    assert needles is not None
    request = make_request(
        add=[
            ("Cookie", ' a=1; ph = "447700900123" ;e=alice%40example.com;=447700900123'),
            ("X-A", "tel:+447700900123"),
            ("content-type", "Application/X-WWW-Form-Urlencoded; charset=utf-8"),
        ],
        uri="/p/447700900123?x+%41=alice%40example.com&=447700900123&b=2#n=447700900123",
        body=b"a=447700900123&b=%34%34%37%37%30%30%39%30%30%31%32%33#c=447700900123",
    )
    where = ("cookie", "header", "query", "body")
    assert where == (WHERE_COOKIE, WHERE_HEADER, WHERE_QUERY, WHERE_BODY)
    fields = [
        ("cookie", "ph", "447700900123", False),
        ("cookie", "e", "alice%40example.com", False),
        ("cookie", "e", "alice@example.com", True),
        ("header", "X-A", "tel:+447700900123", False),
        ("query", "(path)", "/p/447700900123", False),
        ("query", "x A", "alice%40example.com", False),
        ("query", "x A", "alice@example.com", False),
        ("body", "a", "447700900123", False),
        ("body", "b", "%34%34%37%37%30%30%39%30%30%31%32%33", False),
        ("body", "b", "447700900123", True),
    ]
    assert list(detector._canary_fields(request, matcher.may_hold)) == fields
    assert detector._idscan.canary_fields(needles, request.headers, request.uri, request.body) == (
        fields
    )
    # A body that is no form is one field, decoded as UTF-8 (a stray byte escaped).
    raw = b"\xff447700900123\xc3\xa9"
    assert detector._idscan.canary_fields(needles, [], None, raw) == [
        ("body", "(body)", raw.decode("utf-8", "surrogateescape"), False)
    ]
    # Python decides what holds a needle and is not ASCII, or decodes past 0x7f.
    for headers, uri, body in [
        ([("Coo\u212aie", "a=1")], None, None),
        ([("Cookie", "é=447700900123")], None, None),
        ([], "/é?n=447700900123", None),
        ([], "/?%e9=447700900123", None),
        ([("Cookie", "n=447700900123%e9")], None, None),
        ([("Content-Type", "application/x-www-form-urlencodedé")], None, b"n=447700900123"),
        ([("Content-Type", "application/x-www-form-urlencoded")], None, b"n=447700900123\xe9"),
    ]:
        assert detector._idscan.canary_fields(needles, headers, uri, body) is None, headers
    # What holds no needle is passed over, whatever it is.
    assert detector._idscan.canary_fields(needles, [("X-A", "Ω")], "/é", b"\xe9") == [
        ("header", "X-A", "Ω", False)
    ]


def test_canary_fields_in_c_turn_down_damaged_arguments() -> None:
    needles = _matcher().needles
    assert needles is not None
    canary_fields = detector._idscan.canary_fields
    damaged_calls: list[tuple[object, ...]] = [
        (),
        (needles, [], None),
        (list(needles), [], None, None),
        (needles, [("X-A",)], None, None),
        (needles, [("X-A", b"x")], None, None),
        (needles, [(1, "x")], None, None),
        (needles, ["X-A: x"], None, None),
        (needles, 5, None, None),
        (needles, [], b"/", None),
        (needles, [], "/", "body"),
    ]
    for args in damaged_calls:
        with pytest.raises(TypeError):
            canary_fields(*args)
    # The index of the needles is intact.
    assert canary_fields(needles, [("X-A", "447700900123")], None, None) == [
        ("header", "X-A", "447700900123", False)
    ]


def _picked_in_python(value: str, kind: int | None) -> bool:
    """Are the pairs of a Cookie header (``kind`` _COOKIE) or of the query of a
    URL-valued one ones only Python can pick (``pick_cookies`` or ``pick_query`` says
    None): then the first look keeps the header for Python to decide."""
    anchors = _detector()._anchors
    if kind == detector._COOKIE:
        return detector._idscan.pick_cookies(value, anchors) is None
    return "?" in value and detector._idscan.pick_query(value, anchors) is None


def _triage_in_c(headers: object, kinds: object, anchors: tuple[str, ...]) -> list[tuple[str, str]]:
    """The headers ``_idscan.request`` keeps (its first step, triage), for a request
    with no target, no needles and no body, with the shared detector's plain names
    (those its ``_worth_reading_py`` takes)."""
    plain = _detector()._plain
    work = detector._idscan.request(headers, kinds, anchors, None, None, None, plain)  # type: ignore[arg-type]
    return [] if work is None else work[0]


def test_triage_in_c_knows_the_detectors_actions() -> None:
    assert (detector._idscan.SKIP, detector._idscan.COOKIE, detector._idscan.URL) == (
        detector._SKIP,
        detector._COOKIE,
        detector._URL,
    )


_HEADER_NAMES = st.sampled_from(["Host", "Cookie", "cookie", "Referer", "X-Msisdn", "X-Other"])
_HEADER_VALUES = st.one_of(
    st.lists(_PIECES, max_size=30).map("".join),
    st.lists(_LONG_PIECES, max_size=12).map("".join),
    st.sampled_from(
        [
            "http://a.example/",
            "http://a.example/?msisdn=447700900123",
            "?",
            "https://www.news.example/article?utm_source=feed&cb=1517912345",
            "http://a.example/p?x=1&dl=http%3A%2F%2Fb.example%2F%3Femail%3Da%2540b.example",
            "http://caf\u00e9.example/?q=1",
        ]
    ),
)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.tuples(_HEADER_NAMES, _HEADER_VALUES), max_size=8),
    st.dictionaries(_HEADER_NAMES, st.sampled_from(range(5)), max_size=6),
)
def test_triage_in_c_keeps_what_python_keeps(
    headers: list[tuple[str, str]], kinds: dict[str, int]
) -> None:
    det = _detector()
    in_c = _triage_in_c(headers, kinds, det._anchors)
    in_python = detector._triage_py(headers, kinds, det._worth_reading_py)
    tested = (detector._COOKIE, detector._URL)
    if all(
        value.isascii() and not _picked_in_python(value, kinds.get(name))
        for name, value in headers
        if kinds.get(name) in tested
    ):
        assert in_c == in_python
    else:
        # A Cookie or URL-valued header that is not ASCII, or whose pairs only Python
        # can pick, is kept for Python to decide.
        assert [pair for pair in in_c if pair in in_python] == in_python
        assert all(
            pair in in_python
            or not pair[1].isascii()
            or _picked_in_python(pair[1], kinds.get(pair[0]))
            for pair in in_c
        )


def test_triage_drops_a_referer_whose_query_holds_nothing_and_keeps_one_that_may() -> None:
    det = _detector()
    kinds = {"Referer": detector._URL}
    quiet = ("Referer", "https://www.news.example/article?utm_source=feed&cb=1517912345")
    carried = ("Referer", "http://shop.example/basket?msisdn=447700900123")
    for triage in (
        lambda headers: _triage_in_c(headers, kinds, det._anchors),
        lambda headers: detector._triage_py(headers, kinds, det._worth_reading_py),
    ):
        assert triage([quiet]) == []
        assert triage([carried]) == [carried]
    request = make_request(headers=[("Host", "a.example"), carried])
    assert [f.name for f in det.detect(request) if f.is_identity] == ["Referer"]


def test_the_first_look_drops_a_cookie_query_or_form_whose_pairs_pick_keeps_none() -> None:
    # may_matter says yes to percent-encoded JSON and to a name with an anchor word;
    # pick then keeps no pair (JSON with nothing in it, a name known to say nothing),
    # so the request costs the first look alone, and detect finds nothing in it.
    det = _fresh_detector()
    kinds = {"Cookie": detector._COOKIE, "Referer": detector._URL, "Host": detector._SKIP}
    json = quote('{"id":"W5YYGDAMKSKV","vid":{"expires":"2018-01-14T08:22:30.611Z"}}', safe="")
    det._param_rule("codeVersion")
    quiet = [
        ("Cookie", f"_burtAgency={json}; codeVersion=3357736589430"),
        ("Referer", f"http://a.example/p?cfg={json}"),
    ]
    form = f"cfg={json}&codeVersion=3357736589430".encode()
    for text, sep in ((quiet[0][1], ";"), (f"cfg={json}", "&"), (form.decode(), "&")):
        assert det._may_matter_py(text, sep) and not det._worth_reading_py(text, sep)
    headers = [("Host", "a.example"), *quiet, ("Content-Type", "application/x-www-form-urlencoded")]
    kinds["Content-Type"] = detector._SKIP
    uri = f"/p?cfg={json}&codeVersion=1"
    assert (
        detector._idscan.request(headers, kinds, det._anchors, uri, None, form, det._plain) is None
    )
    assert det.detect(make_request(headers=headers, uri=uri, body=form)) == ()
    # The same with a value worth reading is kept, and read.
    loud = [("Host", "a.example"), ("Cookie", f"_burtAgency={json}; codeVersion=%2B447700900123")]
    seen = detector._idscan.request(loud, kinds, det._anchors, "/", None, None, det._plain)
    assert seen is not None and seen[0] == loud[1:]
    assert [f.normalized for f in det.detect(make_request(headers=loud))] == ["+447700900123"]


def test_triage_in_c_turns_down_damaged_headers() -> None:
    anchors = _detector()._anchors
    for damaged in ([("Host",)], [("Host", b"x")], [(1, "x")], ["Host: x"], 5):
        with pytest.raises(TypeError):
            _triage_in_c(damaged, {}, anchors)
    with pytest.raises(TypeError):
        _triage_in_c([], [], anchors)


def test_triage_keeps_a_name_it_has_no_kind_for() -> None:
    headers = [("Host", "a"), ("X-New", "b"), ("Cookie", "a=1"), ("Cookie", "msisdn=4")]
    kinds = {"Host": detector._SKIP, "Cookie": detector._COOKIE}
    kept = _triage_in_c(headers, kinds, _detector()._anchors)
    assert kept == [("X-New", "b"), ("Cookie", "msisdn=4")]


def test_triage_reads_a_name_anew_where_its_kinds_changed_or_are_another_dict() -> None:
    # Triage keeps the kind of a name it looked up, for that dict unchanged: a kind
    # changed, a name taken out, or another dict of the same names, is read anew.
    anchors = _detector()._anchors
    name = "X-Other"  # one object, as the parser gives
    headers = [(name, "b")]
    kinds = {name: detector._SKIP}
    assert _triage_in_c(headers, kinds, anchors) == []
    assert _triage_in_c(headers, kinds, anchors) == []
    kinds[name] = detector._SCAN
    assert _triage_in_c(headers, kinds, anchors) == headers
    del kinds[name]
    assert _triage_in_c(headers, kinds, anchors) == headers
    kinds[name] = detector._SKIP
    assert _triage_in_c(headers, kinds, anchors) == []
    for kind, kept in ((detector._SCAN, headers), (detector._SKIP, []), (detector._URL, [])):
        assert _triage_in_c(headers, {name: kind}, anchors) == kept


def test_triage_reads_as_python_with_more_names_than_it_keeps_kinds_for() -> None:
    # More names than the kept kinds' slots: each put out by another and read anew.
    det = _detector()
    names = [f"X-Name-{i}" for i in range(700)]
    kinds = {name: i % 5 for i, name in enumerate(names)}
    headers = [(name, "msisdn=1?" if i % 3 else "a=b") for i, name in enumerate(names)]
    for _ in range(3):
        expected = detector._triage_py(headers, kinds, det._worth_reading_py)
        assert _triage_in_c(headers, kinds, det._anchors) == expected
        assert _triage_in_c(headers[::-1], kinds, det._anchors) == expected[::-1]
        for name in names[::7]:
            kinds[name] = (kinds[name] + 1) % 5


def _assert_found_as_without_c(request: Request, config: IdentityConfig) -> None:
    """A detector with its C tests finds in ``request`` what one without them finds,
    twice over: the second time every name has a kind, so triage drops what it can
    (the first time it keeps names it has not seen)."""
    fast = IdentityDetector(config)
    found = [fast.detect(request), fast.detect(request)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(detector, "_idscan", None)
        patch.setattr(canary, "_idscan", None)
        slow = IdentityDetector(config).detect(request)
    assert found == [slow, slow]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["Cookie", "Referer", "X-Msisdn", "X-Other", "Host", "x-up-subno"]),
            _HEADER_VALUES,
        ),
        max_size=6,
    ),
    st.sampled_from([IdentityConfig(region="GB"), CANARIES]),
)
def test_the_triaged_detector_finds_what_the_python_one_finds(
    headers: list[tuple[str, str]], config: IdentityConfig
) -> None:
    _assert_found_as_without_c(make_request(add=headers), config)


def test_triage_keeps_a_name_that_is_not_an_exact_str() -> None:
    class Name(str):
        pass

    kept = _triage_in_c([(Name("Host"), "x"), ("Host", "y")], {"Host": 0}, ("a",))
    assert kept == [(Name("Host"), "x")]


_TARGETS = st.one_of(
    st.none(),
    st.just(""),
    _NEEDLE_TEXT,
    st.tuples(_NEEDLE_TEXT, st.lists(_PIECES, max_size=40).map("".join)).map("?".join),
    st.lists(_LONG_PIECES, max_size=12).map(lambda pieces: "/p?" + "".join(pieces)),
)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.tuples(_HEADER_NAMES, st.one_of(_HEADER_VALUES, _NEEDLE_TEXT)), max_size=6),
    st.dictionaries(_HEADER_NAMES, st.sampled_from(range(5)), max_size=6),
    _TARGETS,
    st.sampled_from([None, *sorted(_MATCHERS)]),
    st.one_of(st.none(), _NEEDLE_TEXT.map(lambda text: text.encode("utf-8", "surrogateescape"))),
)
def test_the_first_look_in_c_answers_as_python(
    headers: list[tuple[str, str]],
    kinds: dict[str, int],
    uri: str | None,
    which: str | None,
    body: bytes | None,
) -> None:
    det = _detector()
    needles = None if which is None else _MATCHERS[which]()._needles
    in_c = detector._idscan.request(
        headers, kinds, det._anchors, uri, needles, body or None, det._plain
    )
    in_python = detector._request_py(
        headers, kinds, det._worth_reading_py, det._anchored, uri, needles, body
    )
    # C tests a Cookie header, and the query of a URL-valued one, where it is ASCII
    # (one without a query it drops whole, as Python does).
    cookies_ascii = all(
        value.isascii()
        for name, value in headers
        if kinds.get(name) == detector._COOKIE
        or (kinds.get(name) == detector._URL and "?" in value)
    )
    wide = any(_wide(text) for text in [*(v for _, v in headers), uri or ""])
    # C tests a query only where it is ASCII: a target without one it decides whole.
    query_ascii = (uri or "").isascii() or "?" not in (uri or "")
    # Pairs only Python can pick (JSON only orjson can judge) keep their header or
    # query for Python.
    python_picks = any(
        _picked_in_python(value, kinds.get(name))
        for name, value in headers
        if kinds.get(name) in (detector._COOKIE, detector._URL) and value.isascii()
    ) or (query_ascii and _picked_in_python(uri or "", None))
    if python_picks:
        return
    if cookies_ascii and query_ascii and not (needles is not None and wide):
        assert in_c == in_python, (headers, kinds, uri, body)
        return
    # Where C leaves a part to Python, it says so (None) and keeps what it cannot drop.
    assert in_c is not None
    kept, query, first, look = in_c
    expected = in_python or ([], False, None if needles is None else False, False)
    assert look == expected[3]
    assert [pair for pair in kept if pair in expected[0]] == expected[0]
    assert (
        query is None if not (uri or "").isascii() and "?" in (uri or "") else query == expected[1]
    )
    assert first == expected[2] or (first is None and wide)


def test_the_first_look_in_c_turns_down_damaged_arguments() -> None:
    det = _detector()
    anchors = det._anchors
    needles = _matcher()._needles
    damaged_calls: list[tuple[object, ...]] = [
        ([], {}, anchors, "/", None, None),
        ([], [], anchors, "/", None, None, None),
        ([], {}, list(anchors), "/", None, None, None),
        ([], {}, anchors, b"/", None, None, None),
        ([], {}, anchors, "/", list(needles or ()), None, None),
        ([], {}, anchors, "/", needles, "body", None),
        ([], {}, anchors, "/", None, "body", None),
        ([], {}, anchors, "/", None, bytearray(b"{}"), None),
        ([], {}, anchors, "/", None, None, ["a"]),
        ([("Host", b"x")], {}, anchors, "/", None, None, None),
        ([("Host",)], {}, anchors, "/", needles, None, None),
        (5, {}, anchors, "/", None, None, None),
    ]
    for args in damaged_calls:
        with pytest.raises(TypeError):
            detector._idscan.request(*args)
    # The indexes are intact: a request is looked at as before.
    assert detector._idscan.request([], {}, anchors, "/?msisdn=1", needles, None, None) == (
        [],
        True,
        False,
        False,
    )
    assert (
        detector._idscan.request([("Cookie", "a=1")], {"Cookie": 1}, anchors, "/", None, None, None)
        is None
    )


def _query_pairs_findall(uri: str) -> list[tuple[str, str]]:
    # _query_pairs as it was: one regex findall of the pairs, then the names decoded.
    query = uri.partition("?")[2].partition("#")[0]
    pairs = re.findall(r"(?:^|(?<=&))([^&=]+)=([^&]+)", query)
    return [
        (
            encodings.url_decode(name.replace("+", " ")) if "%" in name or "+" in name else name,
            value,
        )
        for name, value in pairs
    ]


@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.sampled_from([*"&=?#%+ab1é\n", "%2B", "%41", "&&", "=="]), max_size=40).map("".join)
)
def test_query_pairs_cuts_as_the_regex_did(uri: str) -> None:
    assert detector._query_pairs(uri) == _query_pairs_findall(uri)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["Cookie", "Referer", "X-Msisdn", "Host"]), _HEADER_VALUES),
        max_size=4,
    ),
    _TARGETS,
    st.sampled_from([IdentityConfig(region="GB"), CANARIES]),
)
def test_the_detector_with_its_first_look_in_c_finds_what_the_python_one_finds(
    headers: list[tuple[str, str]], uri: str | None, config: IdentityConfig
) -> None:
    _assert_found_as_without_c(replace(make_request(add=headers), uri=uri), config)


# Pieces of values every branch of _worth_param and of the opaque-token test turns on.
_VALUE_PIECES = st.sampled_from(
    [
        *"@%+:=_-/0123456789abKMNOxyzé",
        *("%2B", "%2b", "%40", "%3", "%31", "%253", "%2540", "%25", "%3A", "%3a"),
        *("tel", "TEL", "sip", "SIPS", "Tel:", "sips%3A", "tel%3a", "+4", "MTIz", "NDQ3"),
        *("KzQ0NzcwMDkwMDEyMw", "NDQ3NzAwOTAwMTIz", "343437373030393030313233"),
        *("?", "%3F", "%3f", "%26", "%3D", "%3d", "msisdn", "Email", "utm"),
    ]
)
_NAMES = st.one_of(st.lists(_NAME_PIECES, max_size=4).map("".join), st.sampled_from(["v", "é"]))


@settings(max_examples=800, deadline=None)
@given(
    st.lists(st.tuples(_NAMES, st.lists(_VALUE_PIECES, max_size=12).map("".join)), max_size=8),
    st.lists(st.booleans(), max_size=8),
)
def test_pick_in_c_keeps_what_python_keeps(
    pairs: list[tuple[str, str]], plain_ones: list[bool]
) -> None:
    det = _detector()
    # Some of the names known to be plain (as IdentityDetector._plain has them).
    plain = {name for (name, _), chosen in zip(pairs, plain_ones, strict=False) if chosen}
    for known in (set(), plain):
        in_c = detector._idscan.pick(pairs, det._anchors, True, known)
        in_python = detector._picked_py(pairs, det._anchored, True, known)
        if all(name.isascii() and value.isascii() for name, value in pairs):
            assert in_c == in_python, (pairs, known)
        else:
            assert in_c is None


@settings(max_examples=500, deadline=None)
@given(
    st.lists(_NAME_PIECES, min_size=1, max_size=4).map("".join),
    st.lists(_VALUE_PIECES, min_size=1, max_size=12).map("".join),
    st.sampled_from([WHERE_COOKIE, WHERE_QUERY, WHERE_BODY]),
)
def test_a_name_known_to_say_nothing_loses_no_finding_when_its_pairs_are_picked(
    name: str, value: str, where: str
) -> None:
    # Once classified, a name with an anchor word but neither a hint nor a catalog
    # entry (IdentityDetector._plain) is picked as one without: _params then finds
    # what _param finds in the pair on its own.
    det = _fresh_detector()
    det._param_rule(name)
    picked: list[Finding] = []
    det._params([(name, value)], where, picked)
    found: list[Finding] = []
    det._param(name, value, where, found)
    assert picked == found
    query: list[Finding] = []
    det._query("/p?" + quote(name, safe="") + "=" + value, where, query)
    cookie: list[Finding] = []
    det._cookies(f"{name}={value}", cookie)
    if name.isascii() and "=" not in name and ";" not in name + value and "&" not in value:
        assert query == found or "%" in name or "+" in name
        assert [f.name for f in cookie] == [f.name for f in found] or name != name.strip()


def test_a_plain_name_is_one_with_an_anchor_word_and_no_hint() -> None:
    det = _fresh_detector()
    for name in ("codeVersion", "demdex", "msisdn", "gtm_a1b2", "user_phone", "uuid"):
        det._param_rule(name)
    assert {"codeVersion", "demdex"} <= det._plain
    assert not {"msisdn", "gtm_a1b2", "user_phone"} & det._plain


def _worth_in_python(value: str) -> bool:
    """detector._worth_param as it reads without the C extension."""
    built, detector._idscan = detector._idscan, None
    try:
        return detector._worth_param(value)
    finally:
        detector._idscan = built


@settings(max_examples=800, deadline=None)
@given(st.lists(_VALUE_PIECES, max_size=16).map("".join))
def test_worth_in_c_answers_as_python_on_any_value(value: str) -> None:
    in_c = detector._idscan.worth(value)
    if value.isascii():
        assert in_c == _worth_in_python(value), value
    else:
        assert in_c is None
    assert detector._worth_param(value) == _worth_in_python(value)


@pytest.mark.parametrize(
    "value",
    [
        "%7B%22id%22%3A%22L9YRCBC5HOCG%22%7D" * 40,  # percent-encoded JSON, 1,400 bytes
        "https%3A%2F%2Fwww.example.com%2Fp%3Fx%3D1" * 10,
        "a" * 5000 + "%40",
        "tel%3A%2B447700900123",
        "eyJ" + "A" * 100,
        "",
    ],
)
def test_worth_in_c_answers_as_python_on_long_and_chosen_values(value: str) -> None:
    assert detector._idscan.worth(value) == _worth_in_python(value)


def test_pick_in_c_turns_down_damaged_pairs() -> None:
    anchors = _detector()._anchors
    for damaged in ([("msisdn",)], [("msisdn", b"1")], [(1, "x")], ["msisdn=1"], 5):
        with pytest.raises(TypeError):
            detector._idscan.pick(damaged, anchors)
    with pytest.raises(TypeError):
        detector._idscan.pick([], list(anchors))
    with pytest.raises(TypeError):
        detector._idscan.pick([], anchors, True, ["msisdn"])
    for calls in (detector._idscan.pick_query, detector._idscan.pick_cookies):
        with pytest.raises(TypeError):
            calls("a=b", anchors, ["a"])
    assert detector._idscan.pick([("msisdn", "x"), ("v", "y")], anchors) == [("msisdn", "x")]
    assert detector._idscan.pick([("msisdn", "x")], anchors, True, {"msisdn"}) == []
    assert detector._idscan.pick([("msisdn", "x")], anchors, True, None) == [("msisdn", "x")]


@pytest.mark.parametrize(
    "special",
    [
        *("@", "+4", "%2B", "%3A", "%25", "%", ":", "tel:", "Sips%3a", "sip%3A", "SIPS:"),
        *("tel%3b", "te%3a", "sips%3", "ips:", "%253A", "tel%25%3a"),  # near misses
    ],
)
def test_pick_in_c_finds_a_value_test_at_any_offset_of_a_long_value(special: str) -> None:
    # worth_param passes sixteen bytes at a time: a special in any of them, or in the
    # last bytes of a value, must be read as Python reads it.
    det = _detector()
    for size in range(0, 40):
        for at in range(size + 1):
            filler = ("xQ7_-a" * 8)[:size]
            value = filler[:at] + special + filler[at:]
            pairs = [("v", value), ("w", "z" + value)]
            assert detector._idscan.pick(pairs, det._anchors) == detector._picked_py(
                pairs, det._anchored
            ), value


# -- JSON in a value: passed over where nothing in it can be found -------------------

# Strings and keys of JSON values: ones every value test turns on, names with and
# without an anchor word, and plain tokens.
_JSON_STRINGS = st.one_of(
    st.lists(_VALUE_PIECES, max_size=6).map("".join),
    st.sampled_from(["msisdn", "email", "ts", "cfg", "expires", "BI_News", "a2", "GMT+01:00"]),
    st.sampled_from(["343437373030393030313233", "3108767479c25394173766", "tel:+447700900123"]),
)
_JSON_SCALARS = st.one_of(
    _JSON_STRINGS,
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)
_JSON_DOCUMENTS = st.recursive(
    _JSON_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(_JSON_STRINGS, inner, max_size=4)
    ),
    max_leaves=12,
).filter(lambda document: isinstance(document, (dict, list)))
# What a client or a redraw may do to a document: nothing, a byte dropped or added.
_JSON_DAMAGE = st.one_of(
    st.just(("", 0)),
    st.tuples(
        st.sampled_from([*',:"{}[]0e.- \t\x01\\', "tru", "%", "%7B", "%C3%A9"]), st.integers(0, 200)
    ),
)


def _json_value(document: object, compact: bool, encoded: bool, damage: tuple[str, int]) -> str:
    """``document`` as a pair's value: JSON, compact or spaced, percent-encoded or
    not, with ``damage`` (a text put in at an offset, or nothing)."""
    text = json.dumps(document, separators=(",", ":") if compact else (", ", ": "))
    piece, at = damage
    if piece:
        at %= len(text) + 1
        text = text[:at] + piece + text[at:]
    return quote(text, safe="") if encoded else text


def _orjson_only(value: str) -> bool:
    """Is ``value`` JSON only orjson can judge, where pick in C leaves it to Python:
    an escape past ASCII, a number with an exponent or of 100 characters, nesting
    deeper than 256?"""
    decoded = url_decode(value)
    if not decoded.isascii():
        return True
    numbers = re.findall(r"-?[0-9][0-9.eE+-]*", decoded)
    return any("e" in n.lower() or len(n) >= 100 for n in numbers) or "[" * 257 in decoded


@settings(max_examples=600, deadline=None)
@given(_JSON_DOCUMENTS, st.booleans(), st.booleans(), _JSON_DAMAGE)
def test_pick_in_c_passes_over_json_with_nothing_to_find_as_python_does(
    document: object, compact: bool, encoded: bool, damage: tuple[str, int]
) -> None:
    det = _detector()
    value = _json_value(document, compact, encoded, damage)
    pairs = [("cfg", value), ("msisdn", value), ("tg_i.premium", value)]
    in_python = detector._picked_py(pairs, det._anchored)
    in_c = detector._idscan.pick(pairs, det._anchors)
    if in_c is None:
        assert _orjson_only(value), value
    else:
        assert in_c == in_python, value
    # What is passed over holds nothing: _param_findings, which opens the JSON field
    # by field, finds nothing in it either.
    for name, passed_over in pairs:
        if (name, passed_over) not in in_python:
            assert det._param_findings(name, passed_over, WHERE_QUERY) == [], passed_over
    # Where the JSON is not opened (a page's address carried in a value), it is kept.
    assert detector._idscan.pick(pairs, det._anchors, False) in (
        None,
        detector._picked_py(pairs, det._anchored, opens=False),
    )
    if detector._worth_param(value):
        assert detector._picked_py(pairs, det._anchored, opens=False) == pairs


@pytest.mark.parametrize(
    ("text", "passed_over"),
    [
        ('{"ts":"abcdefgh","n":1516778400000,"ok":true,"x":null,"f":-0.5}', True),
        ('[{"_eventName":"fb_sdk_activate"},[1,2],"a2",{}]', True),
        ("[]", True),
        ('{ "a" : [ 1 , 2 ] }\r\n', True),
        ('{"a":"+447700900123"}', False),  # a value worth a look
        ('{"email":"x"}', False),  # a key with an anchor word
        ('{"a":"q@example.com"}', False),
        ('{"a":"343437373030393030313233"}', False),  # hex-wrapped digits
        ('{"a":01}', False),  # not JSON (orjson refuses a leading zero): scanned
        ('{"a":1,}', False),
        ('{"a":"\x01"}', False),
        ("{a:1}", False),
        ('{"a":tru}', False),
        ('{"a":1.}', False),
        ('{"a":-}', False),
        ('{"a":1}x', False),
        ('{"a":1}\x0c', False),
        ('{"a":"\\u0040"}', False),  # an escape may hide an '@'
    ],
)
def test_pick_in_c_passes_over_chosen_json_values(text: str, passed_over: bool) -> None:
    det = _detector()
    for value in (text, quote(text, safe="")):
        pairs = [("cfg", value)]
        assert detector._picked_py(pairs, det._anchored) == ([] if passed_over else pairs)
        assert detector._idscan.pick(pairs, det._anchors) == ([] if passed_over else pairs)


@pytest.mark.parametrize(
    ("text", "passed_over"),
    [
        ('{"a":1e5}', True),
        ('{"a":1E+400}', False),  # orjson refuses it (infinity): read as text
        ("[" * 300 + "]" * 300, True),
        ('{"a":' + "1" * 120 + "}", True),
        ("%7B%22a%22%3A%22%C3%A9%22%7D", True),  # {"a":"é"}
    ],
)
def test_pick_in_c_leaves_json_only_orjson_can_judge_to_python(
    text: str, passed_over: bool
) -> None:
    det = _detector()
    pairs = [("cfg", text), ("v", "x")]
    assert detector._idscan.pick(pairs, det._anchors) is None
    assert detector._idscan.pick_query("/?cfg=" + text, det._anchors) is None
    assert detector._idscan.pick_cookies("cfg=" + text, det._anchors) is None
    assert detector._picked_py(pairs, det._anchored) == ([] if passed_over else pairs[:1])


@pytest.mark.parametrize(
    ("value", "worth"),
    [
        ("343437373030393030313233", True),
        ("2b343437373030393030313233", True),
        ("2B343437373030393030313233", True),
        ("3434373730303930303132333435363738393031", False),  # 20 digits: too long
        ("343437373030393", False),
        ("31087674799c25394173766c", False),  # a cookie's hex token
        ("2822722519435a28741d485e14a1278113", False),
        ("3434373730303930303132333", False),
    ],
)
def test_hex_wrapped_digits_are_worth_a_look_and_other_hex_tokens_are_not(
    value: str, worth: bool
) -> None:
    assert detector._worth_param(value) is worth
    for text in (value, value + "%20", "%20" + value):
        assert detector._idscan.worth(text) == _worth_in_python(text)
    det = _detector()
    # A name that says nothing ("v", one letter, is a cache-buster's or version's).
    found = det._param_findings("val", value, WHERE_COOKIE)
    assert bool(found) is worth


@settings(max_examples=400, deadline=None)
@given(st.sampled_from("23"), st.text("0123456789abcdef3", min_size=13, max_size=40))
def test_a_token_of_hex_that_is_not_wrapped_digits_holds_nothing(first: str, rest: str) -> None:
    det = _detector()
    value = first + rest
    if not detector._worth_param(value):
        assert det._param_findings("v", value, WHERE_COOKIE) == []
        assert det._param_findings("v", value, WHERE_QUERY) == []


# Pieces of a query or a Cookie header: separators, whitespace str.strip() takes off
# (the separators 0x1c-0x1f too), quotes, and values every branch of pick turns on.
_CUT_PIECES = st.one_of(
    _VALUE_PIECES,
    _NAME_PIECES,
    st.sampled_from([*"&;=?#\"' \t\n\x0b\x0c\r\x1c\x1f\x1b+%é", "msisdn=", "a=b", "==", ";;"]),
    # Names sent encoded: PHP's lists (imps[]), a letter, bytes past ASCII, cut short.
    st.sampled_from(["%5B%5D", "%5b", "%6dsisdn", "%C3%A9", "%e9", "%7F", "%2", "%%"]),
)


@settings(max_examples=800, deadline=None)
@given(st.lists(_CUT_PIECES, max_size=30).map("".join), st.booleans())
def test_pick_query_in_c_keeps_what_python_picks_of_the_pairs(uri: str, some_plain: bool) -> None:
    det = _detector()
    plain = {name for name, _ in detector._query_pairs(uri)[::2]} if some_plain else set()
    in_c = detector._idscan.pick_query(uri, det._anchors, plain)
    in_python = detector._picked_py(detector._query_pairs(uri), det._anchored, True, plain)
    if in_c is None:
        # Python decides only for a target that is not ASCII, a name that decodes
        # past ASCII, or JSON only orjson can judge.
        pairs = _query_pairs_raw(uri)
        assert (
            not uri.isascii()
            or any(not url_decode(name.replace("+", " ")).isascii() for name, _ in pairs)
            or any(_orjson_only(value) for _, value in pairs)
        ), uri
    else:
        assert uri.isascii()
        assert in_c == in_python, uri


def _query_pairs_raw(uri: str) -> list[tuple[str, str]]:
    # _query_pairs without the names decoded.
    query = uri.partition("?")[2].partition("#")[0]
    pieces = (piece.partition("=") for piece in query.split("&"))
    return [(name, value) for name, _, value in pieces if name and value]


@settings(max_examples=800, deadline=None)
@given(st.lists(_CUT_PIECES, max_size=30).map("".join), st.booleans())
def test_pick_cookies_in_c_keeps_what_python_picks_of_the_pairs(
    header: str, some_plain: bool
) -> None:
    det = _detector()
    pairs = list(detector._cookie_pairs(header))
    plain = {name for name, _ in pairs[1::2]} if some_plain else set()
    in_c = detector._idscan.pick_cookies(header, det._anchors, plain)
    if in_c is None:
        # Python decides only for a header that is not ASCII or JSON only orjson can
        # judge.
        assert not header.isascii() or any(_orjson_only(value) for _, value in pairs), header
    else:
        assert header.isascii()
        assert in_c == detector._picked_py(pairs, det._anchored, True, plain)


def test_pick_query_and_cookies_in_c_turn_down_damaged_arguments() -> None:
    anchors = _detector()._anchors
    for pick in (detector._idscan.pick_query, detector._idscan.pick_cookies):
        for damaged in ((b"msisdn=1", anchors), (None, anchors), ("a=b", list(anchors))):
            with pytest.raises(TypeError):
                pick(*damaged)
        with pytest.raises(TypeError):
            pick("a=b")  # type: ignore[call-arg]
    assert detector._idscan.pick_query("/?msisdn=1&v=y#x=%2B1", anchors) == [("msisdn", "1")]
    assert detector._idscan.pick_query("/?%6dsisdn=1", anchors) == [("msisdn", "1")]
    assert detector._idscan.pick_query("/?my+msisdn=1&imps%5B%5D=x", anchors) == [
        ("my msisdn", "1")
    ]
    assert detector._idscan.pick_query("/?caf%C3%A9=1&msisdn=1", anchors) is None
    long_name = "%5B" * 90 + "msisdn"  # decoded past the C's buffer: Python's
    assert detector._idscan.pick_query(f"/?{long_name}=1", anchors) is None
    assert detector._picked_py(detector._query_pairs(f"/?{long_name}=1"), _detector()._anchored)
    assert detector._idscan.pick_cookies(' msisdn = "1" ; v=y', anchors) == [("msisdn", "1")]


# -- the body's look: read as a form, as JSON, or not at all --------------------------

_BODY_TYPES = st.sampled_from(
    [
        None,
        "application/x-www-form-urlencoded",
        "Application/X-WWW-Form-Urlencoded; charset=utf-8",
        "application/json",
        "Application/JSON; charset=UTF-8",
        "application/vnd.api+json",
        "text/plain;charset=UTF-8",
        "",
        "application/jsoné",
    ]
)
_JSON_KEYS = st.sampled_from(
    [
        *("v", "tid", "cid", "ab_a66c47e8d9", "gtm_", "sr", "ul", "user", "devices", "(body)"),
        *("msisdn", "Tel", "IMEI", "x-up-subno", "sub", "ad-id", "é", "", 'a"b', "a:b"),
    ]
)
_JSON_LEAVES = st.one_of(
    _TOKENS,
    st.lists(_PIECES, max_size=12).map("".join),
    st.lists(_LONG_PIECES, max_size=6).map("".join),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.sampled_from(
        [
            *("447700900123", "+447700900123", "alice@example.com", "tel:+447700900123"),
            *("NDQ3NzAwOTAwMTIz", "3434373730303930303132", "490154203237518", "2b34343737"),
        ]
    ),
)
_JSON_DOCUMENTS = st.recursive(
    _JSON_LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(_JSON_KEYS, inner, max_size=5)
    ),
    max_leaves=12,
)


@st.composite
def _json_bodies(draw: st.DrawFn) -> bytes:
    """JSON as apps' SDKs write it (compact or spaced, escaped past ASCII or not), and
    texts that only look like it (cut, unbalanced, quotes left open, spaces of every
    kind Python's \\s takes)."""
    if draw(st.integers(0, 3)) == 0:
        junk = st.sampled_from(
            [
                *'{}[]":,\\ -.eE+\t\x0b\x1c',
                *"0123456789",
                "msisdn",
                "@",
                "K",
                "é",
                "NDQ3NzAwOTAwMTIz",
                "3434373730303930",
                '"sub"',
                '"v": ',
                "+4",
                "tel:",
            ]
        )
        return ("{" + "".join(draw(st.lists(junk, max_size=30)))).encode()
    text = json.dumps(
        draw(_JSON_DOCUMENTS),
        ensure_ascii=draw(st.booleans()),
        separators=draw(st.sampled_from([(",", ":"), (", ", ": "), (",", " :\x1c ")])),
        indent=draw(st.sampled_from([None, None, 2])),
    )
    return (draw(st.sampled_from(["", " ", "\n\t"])) + text).encode("utf-8", "surrogateescape")


_FORM_BODIES = st.one_of(
    _NEEDLE_TEXT.map(lambda text: text.encode("utf-8", "surrogateescape")),
    st.lists(st.tuples(_JSON_KEYS, _TOKENS), max_size=8).map(
        lambda pairs: "&".join(f"{name}={value}" for name, value in pairs).encode()
    ),
)


def _body_look_in_c(content_type: str | None, body: bytes) -> tuple[str | bool | None, Any]:
    """The body's look as _idscan.request gives it (False where it returns None), and
    the headers it was given."""
    det = _detector()
    headers = [("Host", "a.example")]
    if content_type is not None:
        headers.append(("Content-Type", content_type))
    answer = detector._idscan.request(
        headers, {"Host": 0}, det._anchors, "/", None, body, det._plain
    )
    return (False if answer is None else answer[3]), headers


@settings(max_examples=600, deadline=None)
@given(_BODY_TYPES, st.one_of(_json_bodies(), _FORM_BODIES))
def test_the_body_look_in_c_answers_as_python(content_type: str | None, body: bytes) -> None:
    look, headers = _body_look_in_c(content_type, body)
    det = _detector()
    expected = detector._body_look_py(
        headers, body, det._worth_reading_py, lambda name: detector._anchored_py(name, det._anchors)
    )
    if look is None:
        # Python decides only where the body or the Content-Type value is not ASCII.
        assert not body.isascii() or not (content_type or "").isascii()
    elif look == detector._FORM and _picked_in_python("?" + body.decode(), None):
        pass  # a form whose pairs only Python can pick is read (then picked) by it
    else:
        assert look == expected, (content_type, body)


@settings(max_examples=600, deadline=None)
@given(_json_bodies())
def test_a_json_body_turned_down_holds_nothing(body: bytes) -> None:
    # "Never no wrongly": where the whole-text test says no field may matter, no field
    # is picked, and no field judged by its own key holds a finding.
    det = _detector()
    if detector._json_may_matter_py(body, det._anchored):
        return
    fields = detector._json_fields(body)
    assert det._picked([(key, value) for _, key, value in fields]) == []
    found: list[Finding] = []
    det._json(body, found)
    for path, key, value in fields:
        det._param(path, value, WHERE_BODY, found, key)
    assert found == []


@settings(max_examples=300, deadline=None)
@given(
    _BODY_TYPES,
    st.one_of(_json_bodies(), _FORM_BODIES),
    st.sampled_from([IdentityConfig(region="GB"), CANARIES]),
)
def test_the_detector_finds_what_the_python_one_finds_in_any_body(
    content_type: str | None, body: bytes, config: IdentityConfig
) -> None:
    add = [] if content_type is None else [("Content-Type", content_type)]
    _assert_found_as_without_c(make_request(method="POST", add=add, body=body), config)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (
            "application/json",
            b'{"v": "6IX7ySZBB6SUuj0ryAMaUW46F4O25esnn2SHrIvQktYgaGIgKLll8Bz", "tid": '
            b'"https%3A%2F%2Fwww.site503.example%2Fp%2F1833", "sr": 1700304049528}',
        ),
        ("text/plain;charset=UTF-8", b'[{"ev": "view", "t": 1700304049.5, "ok": true}]'),
        (
            "application/x-www-form-urlencoded",
            b"v=1700059940685&tid=https%3A%2F%2Fwww.site163.example%2Fp%2F303"
            b"&gtm_21ab6caf28=ayx3euOv08gAEiIay3M_StglU9tW3Id5UMCdDloRb9vRYDtJT",
        ),
        ("image/png", b"\x89PNG\r\n\x1a\n{msisdn=447700900123"),
    ],
)
def test_an_ad_beacon_body_without_an_identity_is_not_read(content_type: str, body: bytes) -> None:
    # The common POST of ad traffic costs the C pass alone: no fields cut or parsed.
    # (The top-level list is read: its items' key is "(body)", which the test does
    # not judge.)
    look, _ = _body_look_in_c(content_type, body)
    assert look == (detector._JSON if body.startswith(b"[") else False)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"v": "x", "user": {"tel": "+447911123456"}}', "user.tel"),
        (b'{"v": "x", "devices": [{"imei": "490154203237518"}]}', "devices.imei"),
        (b'{"v": "x", "c": "alice@example.com"}', "c"),
        (b'{"v": "x", "blob": "NDQ3OTExMTIzNDU2"}', "blob"),
        (b'{"v": "x", "ph\\u006fne": "447911123456"}', "phone"),
        (
            b'{"v": "x", "page": {"url": "https://a.example/?msisdn=447911123456"}}',
            "page.url → msisdn",
        ),
    ],
)
def test_a_json_body_with_an_identity_is_read_and_found(body: bytes, field: str) -> None:
    look, _ = _body_look_in_c("application/json", body)
    assert look == detector._JSON
    request = make_request(method="POST", add=[("Content-Type", "application/json")], body=body)
    assert field in [finding.name for finding in IdentityDetector(CANARIES).detect(request)]


@pytest.mark.parametrize("size", [1, 15, 16, 17, 31, 32, 33, 47, 100])
@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_a_byte_past_ascii_anywhere_in_a_body_leaves_its_look_to_python(
    content_type: str, size: int
) -> None:
    # The body's bytes are tested sixteen at a time, the last ones as its last sixteen:
    # a byte past 0x7f at any offset, in a whole block or the part one, is seen.
    plain = (
        (b'{"v": "' + b"a" * size + b'"}') if content_type.endswith("json") else b"v=" + b"a" * size
    )
    for at in range(len(plain)):
        body = plain[:at] + b"\xe9" + plain[at + 1 :]
        look, _ = _body_look_in_c(content_type, body)
        assert look is None, (at, body)
    look, _ = _body_look_in_c(content_type, plain)
    assert look is False


@pytest.mark.parametrize("carried", ["?msisdn=1", "%3Fmsisdn%3D1", "%3ftel=2", "%3F", "?"])
@pytest.mark.parametrize("filler", ["xQ7_-a", "%2Fp%2F"])
def test_a_carried_query_is_found_in_c_at_any_offset_of_a_value_of_any_length(
    carried: str, filler: str
) -> None:
    # Its '?' or "%3F" is looked for sixteen bytes at a time, the last bytes of a value
    # as its last sixteen: a mark in any of them (after a '%' of another escape or
    # not) is read as Python reads it, by pick and by a JSON body's test.
    det = _detector()
    for size in range(40):
        for at in range(size + 1):
            text = (filler * 8)[:size]
            value = text[:at] + carried + text[at:]
            pairs = [("v", value)]
            assert detector._idscan.pick(pairs, det._anchors) == detector._picked_py(
                pairs, det._anchored
            ), value
            body = json.dumps({"v": value}).encode()
            assert detector._idscan.json_may_matter(
                body, det._anchors
            ) == detector._json_may_matter_py(body, det._anchored), value


@pytest.mark.parametrize("c_built", [True, False], ids=["c", "python"])
def test_a_request_the_first_look_clears_still_has_its_recurring_token_counted(
    c_built: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first look finds nothing to look at in these requests (an opaque token in a
    # cookie under a name without an anchor word); with recurrence on, detect goes on
    # past it and counts the token, the third site's request reporting it.
    if not c_built:
        monkeypatch.setattr(detector, "_idscan", None)
        monkeypatch.setattr(canary, "_idscan", None)
    det = IdentityDetector(IdentityConfig(region="GB", recurrence=3))
    found = []
    for n, host in enumerate(("alpha-news.com", "beta-shop.co.uk", "gamma.net")):
        request = make_request(
            headers=(("Host", host), ("Cookie", "zqk=Zk7Qp2Xv9LmR4tWb8NcY3hJd6FsA1gEu"))
        )
        if c_built and n:
            # (The first time, names it has no kind for yet are kept.)
            args = (
                request.headers,
                det._header_kinds,
                det._anchors,
                request.uri,
                None,
                None,
                det._plain,
            )
            assert detector._idscan.request(*args) is None
        found.append([(f.where, f.name, f.detector) for f in det.detect(request)])
    assert found == [[], [], [("cookie", "zqk", "recurrence")]]
