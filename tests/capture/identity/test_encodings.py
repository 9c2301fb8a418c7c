"""Hex, base64, percent-encoding and composite values."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable

import pytest

from capture.identity.encodings import (
    B64_JSON_START,
    base64_digits,
    base64_json,
    base64_json_shaped,
    base64_text,
    hex_digits,
    jwt_claims,
    split_parts,
    url_decode,
)


@pytest.mark.parametrize(
    "digits", ["447700900123", "+447700900123", "12015550123", "4901542032375"]
)
def test_hex_of_digits(digits: str) -> None:
    assert hex_digits(digits.encode().hex()) == digits
    assert hex_digits(digits.encode().hex().upper()) == digits


def test_hex_of_anything_else_is_refused() -> None:
    assert hex_digits(b"hello world!".hex()) is None
    assert hex_digits("d41d8cd98f00b204e9800998ecf8427e") is None
    assert hex_digits("3434") is None


@pytest.mark.parametrize("digits", ["447700900123", "+447700900123", "12015550123", "4477009"])
def test_base64_of_digits(digits: str) -> None:
    raw = digits.encode()
    assert base64_digits(base64.b64encode(raw).decode()) == digits
    assert base64_digits(base64.b64encode(raw).decode().rstrip("=")) == digits
    assert base64_digits(base64.urlsafe_b64encode(raw).decode()) == digits


@pytest.mark.parametrize(
    "text", ["dGVzdDoxMjM0", "NDQ3NzAwOTAwMTIzYWJj", "OTgxNTk2NDk0ADJV", "Nq3x9nS0dWv1aZ2y"]
)
def test_base64_of_anything_else_is_refused(text: str) -> None:
    assert base64_digits(text) is None


def test_url_decode_keeps_plus() -> None:
    assert url_decode("%2B447700900123") == "+447700900123"
    assert url_decode("+447700900123") == "+447700900123"
    assert url_decode("a%40b.example") == "a@b.example"
    assert url_decode("%ff") == "\udcff"


def test_split_parts_of_lists_and_pairs() -> None:
    assert list(split_parts("GPRS,447700900123,unsecured")) == [
        (None, "GPRS"),
        (None, "447700900123"),
        (None, "unsecured"),
    ]
    assert list(split_parts("msisdn=447700900123; imsi=234150999999999")) == [
        ("msisdn", "447700900123"),
        ("imsi", "234150999999999"),
    ]
    assert list(split_parts("http://h.example/p?phone=12015550123&x=1")) == [
        ("phone", "12015550123"),
        ("x", "1"),
    ]


def test_split_parts_does_not_split_base64_padding() -> None:
    assert list(split_parts("NDQ3NzAwOTAwMTIz==")) == [(None, "NDQ3NzAwOTAwMTIz==")]
    assert list(split_parts('"<tel:+12015550123>"')) == [(None, "tel:+12015550123")]


_JSON_OPENINGS = [b'{"', b"{ ", b"{\t", b"{\n", b"{\r", b"[{", b'["']


def test_the_base64_json_start_is_exactly_base64_of_a_json_opening() -> None:
    # Every third byte after each opening, in both alphabets: the three characters
    # their base64 starts with are those the pattern allows, and no others are.
    start = re.compile(B64_JSON_START)
    allowed = set()
    for opening in _JSON_OPENINGS:
        for third in range(256):
            for encode in (base64.b64encode, base64.urlsafe_b64encode):
                head = encode(opening + bytes([third])).decode()[:3]
                assert start.fullmatch(head), (opening, third)
                allowed.add(head)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_"
    matching = {a + b + c for a in "eW" for b in alphabet for c in alphabet}
    assert {head for head in matching if start.fullmatch(head)} == allowed


@pytest.mark.parametrize(
    "document",
    [
        {"event": "Signup", "properties": {"$phone": "+447911123456"}},
        [{"a": 12345}],
        ["xyz", "abc"],
    ],
)
def test_base64_json_is_read_in_either_alphabet_padded_or_not(document: object) -> None:
    text = json.dumps(document).encode()
    for encoded in (base64.b64encode(text), base64.urlsafe_b64encode(text)):
        for value in (encoded.decode(), encoded.decode().rstrip("=")):
            assert base64_json_shaped(value)
            assert base64_json(value) == text


@pytest.mark.parametrize(
    "text",
    [
        # A JWT: three parts, the dots are no base64.
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "eyJhYmMiOjF9",  # 12 characters: shorter than any event
        "eXJhbGciOiJIUzI1NiJ9aaaa",  # base64 of something else
        "ey$hbGciOiJIUzI1NiJ9aaaa",
    ],
)
def test_what_is_not_base64_json_is_not_read_as_it(text: str) -> None:
    assert base64_json(text) is None


def test_a_jwt_s_claims_are_its_second_part_decoded() -> None:
    claims = b'{"sub": "1234567890", "phone_number": "+447700900123"}'
    payload = base64.urlsafe_b64encode(claims).decode().rstrip("=")
    assert jwt_claims(f"eyJhbGciOiJSUzI1NiJ9.{payload}.c2ln") == claims
    assert jwt_claims(f"eyJhbGciOiJSUzI1NiJ9.{payload}.") == claims  # unsigned
    assert jwt_claims(f"eyJhbGciOiJSUzI1NiJ9.{payload}") is None  # two parts
    assert jwt_claims(f"eyJhbGciOiJSUzI1NiJ9.{payload}.c2ln.eA") is None  # a JWE has five
    assert jwt_claims("eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln") is None  # claims not JSON-shaped


@pytest.mark.parametrize(
    "encode", [base64.b64encode, base64.urlsafe_b64encode], ids=["standard", "url-safe"]
)
@pytest.mark.parametrize("padded", [True, False])
def test_base64_of_printable_text_is_read_back(
    encode: Callable[[bytes], bytes], padded: bool
) -> None:
    text = "quiet.heron417+ads@example.com?"
    wrapped = encode(text.encode()).decode()
    assert base64_text(wrapped if padded else wrapped.rstrip("=")) == text


@pytest.mark.parametrize(
    "text",
    [
        base64.b64encode(b"short").decode(),  # under 12 characters
        base64.b64encode(b"\x00\x01 binary, not text").decode(),
        base64.b64encode("caf\u00e9 au lait".encode()).decode(),  # not ASCII
        "cXVpZXQu aGVyb240",  # a space: not one base64 run
        "cXVpZXQuaGVyb240MTdAZXhhbXBsZS5jb20===",  # three padding characters
    ],
)
def test_what_is_not_base64_of_printable_ascii_is_not_read_as_it(text: str) -> None:
    assert base64_text(text) is None
