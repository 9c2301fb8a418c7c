"""Name normalisation and what names say about their values."""

from __future__ import annotations

import pytest

from capture.identity.names import (
    HINT_ADVERTISING,
    HINT_DEVICE,
    HINT_EMAIL,
    HINT_IMEI,
    HINT_IMSI,
    HINT_PHONE,
    name_hint,
    normalize_name,
    trailing_name,
)


@pytest.mark.parametrize(
    "spelling", ["X-MSISDN", "x-msisdn", "X_Msisdn", "x.msisdn", "HTTP_X_MSISDN", " x-msisdn "]
)
def test_spellings_of_one_header_normalise_alike(spelling: str) -> None:
    assert normalize_name(spelling) == "x-msisdn"


def test_http_alone_is_not_stripped() -> None:
    assert normalize_name("http") == "http"
    assert normalize_name("HTTP_") == "http-"


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("user_phone", HINT_PHONE),
        ("msisdn", HINT_PHONE),
        ("x-calling-line", HINT_PHONE),
        ("tel", HINT_PHONE),
        ("mobileNumber", HINT_PHONE),
        ("imei", HINT_IMEI),
        ("x-device-imei", HINT_IMEI),
        ("imsi", HINT_IMSI),
        ("user_email", HINT_EMAIL),
        ("e-mail", HINT_EMAIL),
        ("idfa", HINT_ADVERTISING),
        ("gaid", HINT_ADVERTISING),
        ("adid", HINT_ADVERTISING),
        ("advertising_id", HINT_ADVERTISING),
        ("android_id", HINT_DEVICE),
        ("device_id", HINT_DEVICE),
        ("X-Device-Id", HINT_DEVICE),
        ("udid", HINT_DEVICE),
    ],
)
def test_names_hint_at_their_values(name: str, hint: str) -> None:
    assert name_hint(normalize_name(name)).hint == hint


@pytest.mark.parametrize(
    "name",
    [
        "x-request-id",
        "timestamp",
        "ts",
        "_",
        "cb",
        "x-client-time",
        "x-build-number",
        "isbn",
        "sid",
    ],
)
def test_counter_like_names_are_id_like(name: str) -> None:
    hint = name_hint(normalize_name(name))
    assert hint.hint is None and hint.id_like


@pytest.mark.parametrize("name", ["x-foo", "referer", "x-mobile-gateway", "thread", "subject"])
def test_plain_names_hint_nothing(name: str) -> None:
    hint = name_hint(normalize_name(name))
    assert hint.hint is None and not hint.id_like


def test_trailing_name_of_a_url() -> None:
    assert trailing_name("http://example.com/p?msisdn") == "msisdn"
    assert trailing_name("x") == "x"
    assert trailing_name("123") is None
