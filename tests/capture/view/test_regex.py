"""The user's regexes run in RE2: linear in an attacker's text, refusals in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from capture.view.filter import FilterError, compile_filter
from capture.view.regex import Regex, RegexError

ROOT = Path(__file__).resolve().parents[3]

# Run in a child so that a regex engine that backtracks fails the test at the
# timeout instead of holding this process (it would not even see SIGALRM).
_CATASTROPHIC = """
from capture.view.filter import compile_filter
from capture.view.store import Entry
from tests.capture.factories import record

pad = "a" * 60_000
entry = Entry(record(1, headers=(("Host", "h"), ("X-Pad", pad)), body=pad.encode()))
for expr in ('~hq "(a+)+!"', '~hq "^x-pad: (a|aa)+$"', '~h "(a*)*b"', '~b "(a|a)+!"'):
    print(expr, compile_filter(expr)(entry))
"""


def test_a_catastrophic_pattern_over_a_60_kb_header_is_decided_at_once() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _CATASTROPHIC],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        '~hq "(a+)+!" False',
        '~hq "^x-pad: (a|aa)+$" True',
        '~h "(a*)*b" False',
        '~b "(a|a)+!" False',
    ]


@pytest.mark.parametrize(
    ("pattern", "named"),
    [
        (r"(a)\1", r"a backreference (\1, \2, ...) is not supported"),
        ("(?P<n>a)(?P=n)", "a named backreference (?P=name) is not supported"),
        ("msisdn(?=:)", "a lookahead (?=...) is not supported"),
        ("msisdn(?!:)", "a negative lookahead (?!...) is not supported"),
        ("(?<=x-)msisdn", "a lookbehind (?<=...) is not supported"),
        ("(?<!x-)msisdn", "a negative lookbehind (?<!...) is not supported"),
        ("(?>a+)b", "an atomic group (?>...) is not supported"),
        ("a++b", "a possessive quantifier (*+, ++, ?+) is not supported"),
        ("(?(1)a|b)", "a conditional (?(...)...) is not supported"),
        (r"msisdn\Z", r"\Z is not supported: write \z for the end of the text"),
        ("(?x) msisdn", "the inline flag in (?x is not supported (RE2 knows i, m, s and U)"),
        ("a{,3}", "write {0,3} for {,3} (RE2 reads it as text)"),
    ],
)
def test_a_pattern_re2_cannot_run_is_refused_naming_what_it_used(pattern: str, named: str) -> None:
    with pytest.raises(RegexError) as info:
        Regex(pattern)
    assert str(info.value).startswith(named)
    with pytest.raises(FilterError) as error:
        compile_filter(f"~hq '{pattern}'")
    assert str(error.value).startswith(f"invalid regex in ~hq: {named}")
    assert str(error.value).endswith(" at 4")
    assert "\n" not in str(error.value)


def test_a_refused_pattern_writes_nothing_to_the_terminal() -> None:
    # RE2 logs what it cannot parse to stderr unless told not to: over a dashboard.
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from capture.view.regex import Regex, RegexError\n"
            "for p in (r'(a)\\1', 'a(?=b)', '(', '[z-a]'):\n"
            "    try: Regex(p)\n"
            "    except RegexError as e: print(e)\n",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stderr == ""
    assert len(done.stdout.splitlines()) == 4


def test_braces_inside_a_class_or_escaped_are_text_as_in_re() -> None:
    assert Regex("[{,3}]").search(",")
    assert Regex(r"a\{,3}").search("a{,3}")
    assert Regex("a{0,3}b").search("aab")


def test_searches_ignore_case_in_any_script_unless_a_group_says_otherwise() -> None:
    assert Regex("X-MSISDN").search("x-msisdn: 1")
    assert Regex("ÉTÉ").search("un été")
    assert not Regex("(?-i:X)-msisdn").search("x-msisdn")
    assert Regex("(?-i:X)-MSISDN").search("X-msisdn")


def test_an_undecodable_byte_is_one_character_as_in_re() -> None:
    # Wire text keeps undecodable bytes as lone surrogates (capture.text.from_bytes).
    assert Regex("id: .+9$").search("id: \udcff123 9")
    assert Regex("^a[^b]c$").fullmatch("a\udc80c")
    assert not Regex("^a..c$").search("a\udc80c")


def test_multiline_anchors_at_each_line_and_dot_stops_at_its_end() -> None:
    block = "host: h\nx-msisdn: 447700900123\naccept: */*"
    assert Regex("^x-msisdn: [0-9]+$", multiline=True).search(block)
    assert not Regex("^x-msisdn: [0-9]+$").search(block)
    assert not Regex("x-msisdn.*accept", multiline=True).search(block)
