"""Hex, base64, percent-encoding and composite values."""

from __future__ import annotations

import base64

import pytest

from capture.identity.encodings import base64_digits, hex_digits, split_parts, url_decode


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
