"""Multipart and XML bodies read as fields, without building a document; gzip bodies
inflated, and bodies decoded from their Content-Encoding."""

from __future__ import annotations

import gzip
import zlib

from hypothesis import given, settings
from hypothesis import strategies as st

from capture.http.stream import BODY_CAP
from capture.identity.bodies import (
    MAX_FIELDS,
    MAX_INFLATED,
    MAX_VALUE,
    boundary,
    decoded,
    gunzipped,
    multipart_fields,
    xml_fields,
)


def _part(name: str, value: str, extra: str = "") -> str:
    return f'--B\r\nContent-Disposition: form-data; name="{name}"{extra}\r\n\r\n{value}\r\n'


def test_the_boundary_is_read_bare_or_quoted() -> None:
    assert boundary("multipart/form-data; boundary=----WebKitFormBoundary7MA4") == (
        "----WebKitFormBoundary7MA4"
    )
    assert boundary('multipart/form-data; charset=utf-8; BOUNDARY="a b:c"') == "a b:c"
    assert boundary("multipart/form-data") is None


def test_each_named_part_is_a_field_in_order() -> None:
    body = "preamble\r\n" + _part("phone", "447911123456") + _part("email", "a@b.c") + "--B--\r\n"
    assert multipart_fields(body.encode(), "B") == [("phone", "447911123456"), ("email", "a@b.c")]


def test_a_file_part_and_a_part_without_a_name_are_no_fields() -> None:
    body = (
        _part("avatar", "447911123456", '; filename="me.png"')
        + "--B\r\nContent-Type: text/plain\r\n\r\n447911123456\r\n"
        + _part("msisdn", "447911123456")
        + "--B--"
    )
    assert multipart_fields(body.encode(), "B") == [("msisdn", "447911123456")]


def test_bare_line_feeds_an_unquoted_name_and_a_cut_body_still_read() -> None:
    body = b"--B\nContent-Disposition: form-data; name=imei\n\n490154203237518\n--B\r\n"
    body += b'Content-Disposition: form-data; name="phone"\r\n\r\n4479111'
    assert multipart_fields(body, "B") == [("imei", "490154203237518"), ("phone", "4479111")]


def test_nothing_after_the_closing_delimiter_is_read() -> None:
    body = _part("a", "1") + "--B--\r\n" + _part("phone", "447911123456")
    assert multipart_fields(body.encode(), "B") == [("a", "1")]


def test_fields_and_values_are_bounded() -> None:
    body = "".join(_part(f"f{i}", "x" * (MAX_VALUE + 10)) for i in range(MAX_FIELDS + 5))
    fields = multipart_fields(body.encode(), "B")
    assert len(fields) == MAX_FIELDS
    assert all(len(value) == MAX_VALUE for _, value in fields)


def test_xml_leaves_and_attributes_are_fields_by_local_name() -> None:
    body = (
        b'<?xml version="1.0"?><s:Envelope xmlns:s="urn:x" xmlns="urn:y"><s:Body>'
        b"<ns:req><ns:msisdn> &#43;447911123456 </ns:msisdn>"
        b"<user imei='490154203237518' id=\"7\"/><name>A &amp; B</name></ns:req>"
        b"</s:Body></s:Envelope>"
    )
    assert xml_fields(body) == [
        ("msisdn", "+447911123456"),
        ("name", "A & B"),
        ("imei", "490154203237518"),
        ("id", "7"),
    ]


def test_no_entity_is_expanded_beyond_xml_s_own() -> None:
    body = (
        b'<!DOCTYPE d [<!ENTITY a "447911123456"><!ENTITY b "&a;&a;&a;">]>'
        b"<d><phone>&b;</phone><x>&#x2b;1&#0;&copy;</x></d>"
    )
    assert xml_fields(body) == [("phone", "&b;"), ("x", "+1&#0;&copy;")]


def test_an_element_that_holds_elements_is_no_field() -> None:
    assert xml_fields(b"<a><b>1</b>2</a>") == [("b", "1")]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.text(min_size=1, max_size=10))
def test_any_bytes_are_read_without_error(body: bytes, mark: str) -> None:
    for fields in (multipart_fields(body, mark), xml_fields(body)):
        assert len(fields) <= MAX_FIELDS
        assert all(isinstance(name, str) and isinstance(value, str) for name, value in fields)


def test_a_gzip_body_is_inflated_and_anything_else_is_not() -> None:
    beacon = b'{"user": {"tel": "07700900123"}}'
    assert gunzipped(gzip.compress(beacon)) == beacon
    assert gunzipped(beacon) is None
    assert gunzipped(b"") is None


def test_a_gzip_stream_cut_short_gives_what_it_held() -> None:
    beacon = b'{"msisdn": "447700900123", "pad": "' + bytes(range(48, 123)) * 200 + b'"}'
    packed = gzip.compress(beacon)
    inflated = gunzipped(packed[: len(packed) // 2])
    assert inflated is not None and beacon.startswith(inflated) and b"447700900123" in inflated


def test_a_gzip_bomb_inflates_to_the_bound_and_damage_to_nothing() -> None:
    bomb = gzip.compress(bytes(50_000_000))
    assert len(bomb) < 65536
    inflated = gunzipped(bomb)
    assert inflated is not None and len(inflated) == MAX_INFLATED
    assert gunzipped(b"\x1f\x8b" + bytes(30)) is None


def test_a_body_is_decoded_from_its_content_encoding() -> None:
    beacon = b'{"user": {"tel": "07700900123"}}'
    raw_deflate = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    sent = {
        "gzip": gzip.compress(beacon),
        "X-Gzip": gzip.compress(beacon),
        "deflate": zlib.compress(beacon),
        " deflate ": raw_deflate.compress(beacon) + raw_deflate.flush(),  # raw, as some send it
        "gzip, deflate": zlib.compress(gzip.compress(beacon)),  # undone last first
        "identity": beacon,
        "": beacon,
    }
    for coding, body in sent.items():
        assert decoded(body, coding) == (beacon, False), coding


def test_a_body_not_decodable_here_is_none() -> None:
    assert decoded(b"abc", "compress") is None  # no decoder for it
    assert decoded(b"\x1f\x8b" + bytes(30), "gzip") is None  # damaged
    assert decoded(gzip.compress(b"x"), "gzip, snappy") is None


def test_a_decoded_body_is_kept_to_the_bound_and_says_it_held_more() -> None:
    bomb = gzip.compress(bytes(50_000_000))
    assert decoded(bomb, "gzip") == (bytes(MAX_INFLATED), True)
    assert decoded(bytes(MAX_INFLATED + 1), "") == (bytes(MAX_INFLATED), True)
    assert decoded(bytes(MAX_INFLATED), "") == (bytes(MAX_INFLATED), False)
    # A step cut at the bound: the next decodes what it was handed, and it held more.
    layered = zlib.compress(gzip.compress(bytes(range(256)) * 2000))
    got = decoded(layered, "gzip, deflate", 1000)
    assert got is not None and got[1] is True and len(got[0]) <= 1000


def test_a_body_is_decoded_as_far_as_a_captured_body_is_kept() -> None:
    assert MAX_INFLATED == BODY_CAP


def test_every_member_of_a_gzip_body_is_read_and_bytes_after_its_end_as_they_are() -> None:
    """RFC 1952: members one after the other are their data one after the other, as
    browsers and servers decode them; the first member alone was read, and an
    identity in a second, or in plain bytes after the stream's end, went unseen."""
    from capture.identity.bodies import decoded

    first = gzip.compress(b'{"a":"hello",', mtime=0)
    second = gzip.compress(b'"msisdn":"447700900123"}', mtime=0)
    assert decoded(first + second, "gzip") == (b'{"a":"hello","msisdn":"447700900123"}', False)
    assert decoded(first + b'"msisdn":"447700900123"}', "gzip") == (
        b'{"a":"hello","msisdn":"447700900123"}',
        False,
    )
    damaged = second[:10] + b"\xff" * 8 + second[18:]
    assert decoded(first + damaged, "gzip") == (b'{"a":"hello",' + damaged, False)


def test_what_a_damaged_stream_gave_before_its_damage_is_kept_and_said_damaged() -> None:
    """The whole body was refused: a gzip beacon whose check was wrong lost the
    number at its start with the rest."""
    from capture.identity.bodies import decoded, decoded_in_part

    text = b'{"phone":"+447911123456","pad":"' + b"abcdefghij" * 300 + b'"}'
    damaged = gzip.compress(text, mtime=0)[:-8] + bytes(8)  # its check and length wrong
    assert decoded_in_part(damaged, "gzip") == (text, False, True)
    assert decoded(damaged, "gzip") is None  # the mitmproxy add-on keeps such a body as sent
    assert decoded_in_part(b"\x1f\x8b" + bytes(40), "gzip") is None  # nothing came out
    # The detector's own reading of a gzip body by its magic (found by the fuzz target
    # request-body: the damage escaped it as an exception).
    assert gunzipped(damaged) == text
