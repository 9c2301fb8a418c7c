"""What the dashboard copies: the request as text, as curl, its identity's value."""

from __future__ import annotations

import shlex

import pytest

from capture.formats.copy import CopyError, curl_command, identity_value, request_text
from tests.capture.factories import finding, record


def test_curl_repeats_the_request_with_every_header_quoted() -> None:
    rec = record(
        1,
        findings=(finding(name="x-up-calling-line-id", value="447700900123"),),
        headers=(
            ("Host", "www.bbc.co.uk"),
            ("x-up-calling-line-id", "447700900123"),
            ("Cookie", "a=1; b='$(rm -rf ~)'"),
            ("Content-Length", "0"),
        ),
    )
    command = curl_command(rec)
    args = shlex.split(command)
    assert args[0] == "curl" and args[1].startswith("http://www.bbc.co.uk/")
    assert args[2:6] == ["-H", "Host: www.bbc.co.uk", "-H", "x-up-calling-line-id: 447700900123"]
    assert "Cookie: a=1; b='$(rm -rf ~)'" in args  # one literal argument, never run
    assert not any(a.startswith("Content-Length") for a in args)


def test_control_characters_are_escaped_in_what_is_copied() -> None:
    rec = record(1, headers=(("Host", "h"), ("X-Evil", "\x1b]52;c;AAAA\x07")))
    assert "\x1b" not in request_text(rec) and "\\x1b]52;c;AAAA\\x07" in request_text(rec)
    assert "\x1b" not in curl_command(rec)


def test_the_value_is_the_most_severe_identity_and_none_is_said() -> None:
    low = finding(kind="device_id", severity="low", value="abc", normalized="abc")
    high = finding(value="447700900123", normalized="+447700900123")
    assert identity_value(record(1, findings=(low, high))) == ("msisdn", "+447700900123")
    with pytest.raises(CopyError, match="no identity"):
        identity_value(record(1))
