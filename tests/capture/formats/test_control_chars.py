"""Machine output carries no raw control or bidi characters, yet reads back exactly.

Every value of the dashboard's hostile list goes into every string field of a
record; JSONL (scan, live, reflect, the dashboard's export) and HAR must show
each DEL, C1, bidi and separator character as ``\\uXXXX`` and still parse, with
``json`` and with ``jq``, to the very strings that went in.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capture.formats.export import export
from capture.formats.har import har_document, write_har
from capture.formats.jsonl import dumps, dumps_bytes, dumps_json, record_to_dict
from capture.text import (
    _escape_json_bytes,
    _json_unsafe_bytes,
    escape_json,
    escape_json_bytes,
    for_json,
)
from tests.tui.test_safety import HOSTILE, hostile_record

# What no line of machine output may carry raw (C0 but newline, DEL, C1, bidi, separators,
# and what shows as nothing: soft hyphen, zero-width characters, joiners, the BOM).
RAW = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e"
    "\u2060-\u2064\u2066-\u2069\ufeff]"
)

UNSAFE = (
    [chr(c) for c in (*range(0x7F, 0xA0), 0xAD, 0x61C, 0x180E, *range(0x200B, 0x2010))]
    + [chr(c) for c in (*range(0x2028, 0x202F), *range(0x2060, 0x2065), *range(0x2066, 0x206A))]
    + ["\ufeff"]
)
VALUES = [*HOSTILE, "".join(UNSAFE), "café €5 😀 ok"]


@pytest.mark.parametrize("value", VALUES)
def test_jsonl_lines_escape_control_characters_and_parse_back_exactly(value: str) -> None:
    record = hostile_record(value).record
    line = dumps_bytes(record).decode("utf-8")
    assert not RAW.search(line), line
    assert json.loads(line) == record_to_dict(record)
    assert dumps(record) == line


@pytest.mark.parametrize("value", VALUES)
def test_har_escapes_control_characters_and_parses_back_exactly(value: str) -> None:
    entry = hostile_record(value)
    out = io.StringIO()
    write_har([entry], out)
    text = out.getvalue()
    assert not RAW.search(text.replace("\n", "")), text
    assert json.loads(text) == json.loads(json.dumps(har_document([entry])))


@pytest.mark.parametrize("fmt", ["jsonl", "har"])
def test_dashboard_exports_escape_control_characters(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"out.{fmt}"
    assert export([hostile_record(v, i + 1) for i, v in enumerate(VALUES)], str(path), fmt)
    text = path.read_text(encoding="utf-8")
    assert not RAW.search(text.replace("\n", ""))
    if fmt == "jsonl":
        hosts = [json.loads(line)["host"] for line in text.split("\n")[:-1]]
    else:
        entries = json.loads(text)["log"]["entries"]
        hosts = [e["request"]["headers"][0]["value"] for e in entries]
    assert hosts == [for_json(v) for v in VALUES]


def test_jq_reads_the_escaped_strings_back_exactly(tmp_path: Path) -> None:
    jq = shutil.which("jq")
    if jq is None:
        pytest.skip("needs jq (apt-get install jq) to read the output as users do")
    lines = b"".join(
        dumps_bytes(hostile_record(v, i + 1).record) + b"\n" for i, v in enumerate(VALUES)
    )
    # jq re-serializes strings with its own escaping: its output, parsed, must be
    # the exact values, and its raw (-r) output the exact bytes of each value.
    result = subprocess.run(
        [jq, "-c", "[.host, .uri, .headers]"],
        input=lines,
        capture_output=True,
        timeout=30,
        check=True,
    )
    # (split on newlines only: jq writes C1 and separators raw, and splitlines() cuts there)
    got = [json.loads(line) for line in result.stdout.decode("utf-8").split("\n")[:-1]]
    assert [g[0] for g in got] == [for_json(v) for v in VALUES]
    raw = subprocess.run(
        [jq, "-j", '.host, "\\u0000"'], input=lines, capture_output=True, timeout=30, check=True
    )
    assert raw.stdout.decode("utf-8").split("\x00")[:-1] == [for_json(v) for v in VALUES]


def test_escaping_leaves_every_other_character_alone() -> None:
    # Byte-identical output on the corpus depends on this: only the listed characters change.
    for code in range(0x20, 0x3000):
        char = chr(code)
        if char in UNSAFE or 0xD800 <= code < 0xE000:
            continue
        line = json.dumps(char, ensure_ascii=False)
        assert escape_json(line) == line
        assert escape_json_bytes(line.encode()) == line.encode()
    assert escape_json_bytes(b'{"a": "\\u0085"}') == b'{"a": "\\u0085"}'


def test_any_json_value_dumps_safely() -> None:
    assert dumps_json({"x": "a\u202eb\x85c\udcff"}) == b'{"x":"a\\u202eb\\u0085c\\\\xff"}'


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from([*UNSAFE, "a", "·", "é", "€", "\u2029", "😀", '"'])))
def test_the_escaping_shortcut_escapes_what_the_pattern_escapes(text: str) -> None:
    """escape_json_bytes looks for the pattern's byte sequences before running it: a line
    it passes over holds none of them."""
    line = json.dumps(text, ensure_ascii=False).encode()
    assert escape_json_bytes(line) == _json_unsafe_bytes().sub(_escape_json_bytes, line)


@settings(max_examples=500, deadline=None)
@given(
    st.binary().map(lambda b: b.replace(b"x", b"\xc2\xb7"))
    | st.lists(
        st.sampled_from(
            [
                b"a",
                b"\x7f",
                b"\xc2",
                b"\xb7",
                b"\xc2\xb7",
                b"\x85",
                b"\xe2\x80\xae",
                b"\xd8\x9c",
                b"\xad",
                b"\xc2\xad",
                b"\xef\xbb\xbf",
                b"\xe1\xa0\x8e",
                b"\xe2\x80\x8b",
            ]
        )
    ).map(b"".join)
)
def test_the_escaping_shortcut_escapes_what_the_pattern_escapes_in_any_bytes(line: bytes) -> None:
    """The same on bytes that are not UTF-8, "·" (\\xc2\\xb7) among them: a C1 control
    next to a "·" is not passed over."""
    assert escape_json_bytes(line) == _json_unsafe_bytes().sub(_escape_json_bytes, line)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64), st.text(max_size=16))
def test_for_json_escapes_each_undecodable_byte_and_nothing_else(raw: bytes, text: str) -> None:
    # One str.translate, where a regular expression's callback ran for each byte (an
    # attacker's head of 31 KB of such bytes cost the reflector 70-100 ms).
    value = raw.decode("utf-8", "surrogateescape") + text.replace("\\", "")
    expected = re.sub("[\udc80-\udcff]", lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}", value)
    assert for_json(value) == expected
    assert not re.search("[\udc80-\udcff]", for_json(value))  # no byte's surrogate left
