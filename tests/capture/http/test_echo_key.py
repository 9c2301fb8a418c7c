"""The echo key: a reflector's signature on its echo, and the key file it comes from."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from capture.http.echo import (
    ECHO_HEADER,
    ECHO_OMITTED_HEADER,
    echo_signed,
    echoed_transit,
    encode_echo,
)
from capture.http.echo_key import (
    ECHO_SIGNATURE_HEADER,
    EchoKeyError,
    host_named,
    make_key_file,
    read_key_file,
    sign_echo,
)
from capture.model import Response

KEY = bytes(range(32))
SENT = (("Host", "example.com"),)
RECEIVED = (("Host", "example.com"), ("X-MSISDN", "447700900123"))


def _response(*headers: tuple[str, str]) -> Response:
    return Response(0.0, "HTTP/1.1", 200, "OK", headers)


def _signed(key: bytes = KEY, omitted: int = 0) -> Response:
    echo = encode_echo(RECEIVED)
    headers = [(ECHO_HEADER, echo)]
    if omitted:
        headers.append((ECHO_OMITTED_HEADER, str(omitted)))
    headers.append((ECHO_SIGNATURE_HEADER, sign_echo(key, echo, omitted)))
    return _response(*headers)


def test_an_echo_signed_with_the_key_is_believed() -> None:
    moved = echoed_transit(SENT, _signed(), KEY)
    assert moved is not None and moved.signed is True
    assert moved.injected == (("X-MSISDN", "447700900123"),)


def test_an_echo_signed_with_another_key_is_not() -> None:
    moved = echoed_transit(SENT, _signed(bytes(32)), KEY)
    assert moved is not None and moved.signed is False


def test_an_echo_without_a_signature_is_not_believed_where_a_key_is_given() -> None:
    response = _response((ECHO_HEADER, encode_echo(RECEIVED)))
    moved = echoed_transit(SENT, response, KEY)
    assert moved is not None and moved.signed is False
    # Without a key nothing is said either way.
    unkeyed = echoed_transit(SENT, response)
    assert unkeyed is not None and unkeyed.signed is None


def test_a_signature_does_not_hold_for_another_echo_or_another_omitted_count() -> None:
    signed = _signed(omitted=2)
    headers = dict(signed.headers)
    other_echo = encode_echo((*RECEIVED, ("X-IMSI", "234150999999999")))
    swapped = _response(
        (ECHO_HEADER, other_echo),
        (ECHO_OMITTED_HEADER, "2"),
        (ECHO_SIGNATURE_HEADER, headers[ECHO_SIGNATURE_HEADER]),
    )
    assert not echo_signed(swapped.headers, KEY)
    recounted = _response(
        (ECHO_HEADER, headers[ECHO_HEADER]),
        (ECHO_OMITTED_HEADER, "0"),
        (ECHO_SIGNATURE_HEADER, headers[ECHO_SIGNATURE_HEADER]),
    )
    assert not echo_signed(recounted.headers, KEY)
    assert echo_signed(signed.headers, KEY)


def test_a_signature_header_of_any_case_is_read() -> None:
    echo = encode_echo(RECEIVED)
    response = _response(
        (ECHO_HEADER.upper(), echo),
        (ECHO_SIGNATURE_HEADER.lower(), " " + sign_echo(KEY, echo, 0)),
    )
    assert echo_signed(response.headers, KEY)


def test_a_new_key_file_is_private_random_and_read_back(tmp_path: Path) -> None:
    path = str(tmp_path / "echo.key")
    assert make_key_file(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    key = read_key_file(path)
    assert len(key) == 32
    # There already: kept as it is.
    assert not make_key_file(path)
    assert read_key_file(path) == key
    other = str(tmp_path / "other.key")
    make_key_file(other)
    assert read_key_file(other) != key


@pytest.mark.parametrize(
    ("text", "mode", "said"),
    [
        ("00" * 32 + "\n", 0o644, "other users can read or change it (mode 0644); chmod 600"),
        ("00" * 32 + "\n", 0o640, "other users can read or change it (mode 0640)"),
        ("00" * 15 + "\n", 0o600, "15 bytes, fewer than 16"),
        ("not a key\n", 0o600, "not a key (hex digits"),
        ("\xe9" * 4, 0o600, "not a key (hex digits"),
    ],
)
def test_a_key_file_that_cannot_be_a_secret_key_is_refused_in_one_line(
    tmp_path: Path, text: str, mode: int, said: str
) -> None:
    path = tmp_path / "echo.key"
    path.write_text(text, encoding="latin-1")
    path.chmod(mode)
    with pytest.raises(EchoKeyError) as caught:
        read_key_file(str(path))
    assert said in str(caught.value) and "\n" not in str(caught.value)


def test_a_missing_key_file_or_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(EchoKeyError, match="No such file"):
        read_key_file(str(tmp_path / "none"))
    with pytest.raises(EchoKeyError, match=r"not a regular file|Is a directory"):
        read_key_file(str(tmp_path))


def test_a_key_file_is_not_made_through_a_link(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    link = tmp_path / "echo.key"
    link.symlink_to(target)
    # A dangling link is a name taken: not followed to make a key where it points.
    assert not make_key_file(str(link))
    assert not target.exists()


def test_a_signature_past_ascii_is_not_signed_rather_than_an_error() -> None:
    echo = encode_echo(RECEIVED)
    for forged in ("v1=é", "v1=\udcff", sign_echo(KEY, echo, 0) + "é"):
        response = _response((ECHO_HEADER, echo), (ECHO_SIGNATURE_HEADER, forged))
        assert not echo_signed(response.headers, KEY)


def test_a_fifo_as_the_key_file_is_refused_at_once_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "echo.key"
    os.mkfifo(fifo, 0o600)
    with pytest.raises(EchoKeyError, match="not a regular file"):
        read_key_file(str(fifo))


def test_a_key_file_of_another_user_is_refused(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root can make a file another user owns")
    path = tmp_path / "echo.key"
    path.write_text("ab" * 32 + "\n")
    path.chmod(0o600)
    os.chown(path, 65534, 65534)
    with pytest.raises(EchoKeyError, match=r"belongs to another user \(uid 65534\)"):
        read_key_file(str(path))


def test_a_signed_echo_of_a_request_to_another_host_is_not_believed() -> None:
    """A site that passed the request on with the reflector's name as its Host got a
    signed echo: of another request than the one sent (to the site)."""
    received = (("Host", "reflector.example"), ("X-MSISDN", "447700900123"))
    echo = encode_echo(received)
    response = _response((ECHO_HEADER, echo), (ECHO_SIGNATURE_HEADER, sign_echo(KEY, echo, 0)))
    moved = echoed_transit((("Host", "evil.example"),), response, KEY)
    assert moved is not None and moved.signed is False
    same = echoed_transit((("host", "REFLECTOR.example:80"),), response, KEY)
    assert same is not None and same.signed is True


@pytest.mark.parametrize(
    ("value", "host"),
    [
        ("example.com", "example.com"),
        (" Example.COM:8080 ", "example.com"),
        ("[2001:db8::1]:80", "2001:db8::1"),
        ("[::1]", "::1"),
        ("2001:db8::1", "2001:db8::1"),
        ("198.51.100.2:80", "198.51.100.2"),
    ],
)
def test_the_host_a_request_names_is_without_port_or_brackets(value: str, host: str) -> None:
    assert host_named((("Accept", "*/*"), ("Host", value))) == host
    assert host_named((("Accept", "*/*"),)) is None


def test_a_pipeline_loads_no_hashing_until_an_echo_is_signed_or_checked() -> None:
    """Every pipeline imports the echo key's module: hashlib and its OpenSSL
    constructors were 3 ms of every scan's start-up."""
    from tests.helpers import fresh_python

    loaded = fresh_python(
        "import sys\nimport capture.pipeline\n"
        "print(sorted(m for m in ('hashlib', 'hmac', 'secrets') if m in sys.modules))\n"
    )
    assert loaded.strip() == "[]"
