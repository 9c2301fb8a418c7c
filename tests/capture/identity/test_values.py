"""The value scanner's own rules: here, digests under an identifier's name."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capture.identity import values
from capture.identity.names import name_hint, normalize_name
from capture.identity.values import DIGEST, VALUE_DETECTORS, Mode, ValueScanner, hex_digest

_SHA256 = hashlib.sha256(b"+447700900123").hexdigest()


@pytest.mark.parametrize(
    ("value", "algorithm"),
    [
        (hashlib.md5(b"490154203237518").hexdigest(), "MD5"),
        (hashlib.sha1(b"alice@example.com").hexdigest(), "SHA-1"),
        (_SHA256, "SHA-256"),
        (_SHA256.upper(), "SHA-256"),
        (f" {_SHA256} ", "SHA-256"),
    ],
)
def test_a_hex_digest_is_known_by_its_length(value: str, algorithm: str) -> None:
    assert hex_digest(value) == algorithm


@pytest.mark.parametrize(
    "value",
    [
        "1" * 32,  # digits alone: a number, not a digest
        "abcdef" * 5 + "ab",  # letters alone
        _SHA256[:-1],  # 63 digits
        _SHA256 + "0",
        _SHA256[:-1] + "g",
        "447700900123",
    ],
)
def test_what_is_not_shaped_like_a_digest_is_not_one(value: str) -> None:
    assert hex_digest(value) is None


def _hashed(name: str, value: str, enabled: frozenset[str] = frozenset(VALUE_DETECTORS)) -> object:
    hint = name_hint(normalize_name(name))
    hit = ValueScanner("GB", enabled).hashed(value, hint)
    return None if hit is None else (hit.kind, hit.normalized, hit.severity, hit.detail)


@pytest.mark.parametrize(
    ("name", "kind", "what"),
    [
        ("hashed_phone_number", "subscriber_id", "phone number"),
        ("msisdn_sha256", "subscriber_id", "phone number"),
        ("sha256_email_address", "tracking_id", "e-mail address"),
        ("imei_md5", "device_id", "IMEI"),
        ("imsi-hash", "subscriber_id", "IMSI"),
    ],
)
def test_a_digest_under_an_identifier_s_name_is_that_identifier_hashed(
    name: str, kind: str, what: str
) -> None:
    detail = f"SHA-256 digest under a name that says {what}: the {what} hashed"
    assert _hashed(name, _SHA256.upper()) == (kind, _SHA256, "medium", detail)


@pytest.mark.parametrize(
    "name",
    [
        "phone_verification_token",  # a one-time token
        "email_confirm_code",
        "msisdn_signature",
        "x-msisdn-key",
        "phone_otp",
        "x-content-sha256",  # no identifier's name at all
        "device_id",  # device IDs have their own rule (device-id-name)
        "subscriber",  # says whose, not what was hashed
    ],
)
def test_a_digest_under_other_names_is_not_read_as_a_hashed_identifier(name: str) -> None:
    assert _hashed(name, _SHA256) is None


def test_the_rule_is_switched_off_by_its_detector_name() -> None:
    enabled = frozenset(VALUE_DETECTORS) - {DIGEST}
    assert _hashed("hashed_email", _SHA256, enabled) is None


# Pieces of composite values: separators, names, URI schemes, written and wrapped
# numbers, addresses, and the brackets a part is stripped of.
_PIECES = st.sampled_from(
    [
        *",;&| \t=+:@.-_{}[]()\"'",
        *("tel:", "TEL:", "sip:", "Sips:", "%2b", "%2B", "%40", "phone", "msisdn", "imei"),
        *("447700900123", "+447700900123", "07700900123", "490154203237518", "abc"),
        *("NDQ3NzAwOTAwMTIz", "343437373030393030313233", "2b343437373030393030313233"),
        *("alice@example.com", "x@0.totcl", "[CS]v1|", "INQ:", "custID:"),
    ]
)


@settings(max_examples=1500, deadline=None)
@given(
    st.lists(_PIECES, max_size=14).map("".join),
    st.sampled_from([None, "phone", "email", "imei"]),
    st.sampled_from([Mode.PARAM, Mode.HEADER]),
)
def test_a_value_whose_parts_say_nothing_is_read_as_when_walked_part_by_part(
    value: str, hint_of: str | None, mode: Mode
) -> None:
    # A parameter of several parts none of which is named, a URI or a written number
    # is not walked part by part: it finds what the walk finds.
    scanner = ValueScanner("GB", VALUE_DETECTORS)
    hint = name_hint(hint_of) if hint_of else name_hint("x")
    found = scanner.scan(value, hint, mode)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(values, "_parts_say_nothing", lambda value: False)
        walked = scanner.scan(value, hint, mode)
    assert found == walked, value


def test_a_javascript_object_in_a_parameter_is_not_walked_part_by_part() -> None:
    text = '{tzOf:88790985,_svMs:-1,_aTyp:3,cTACC:0,lcId:"0",errs:[],spc:0,ppn:"N/A"}'
    assert values._parts_say_nothing(text)
    assert values._parts_say_nothing("[CS]v1|3419B9DF384788B2-30262997791753A9[CE]")
    for opened in ("a,tel:447700900123", "a,b=1", "a,+447700900123", "a,%2B44", "a,SIP:x"):
        assert not values._parts_say_nothing(opened), opened
    assert not values._parts_say_nothing("NDQ3NzAwOTAwMTIz")  # one part: read whole


@pytest.mark.parametrize(
    "value",
    [
        "\udcff447911123456",  # a byte that is not UTF-8 before it, as the parser reads one
        "\xff447911123456",
        "\x01447911123456",  # a control byte: a gateway's length or type byte
        "447911123456\x00",
        "\x02\udcfe+44 7911 123456\x7f",
    ],
)
def test_a_number_between_bytes_that_are_not_text_is_read_under_a_phone_name(
    value: str,
) -> None:
    # An injected `X-Msisdn-Bin: \xff447700900456` gave no finding at all.
    (hit,) = ValueScanner("GB", VALUE_DETECTORS).named_phones(value)
    assert hit.normalized == "+447911123456"
    assert hit.detail.endswith("between bytes that are not text")
    assert hit.value == value.strip()  # the value as sent


@pytest.mark.parametrize(
    ("value", "read_as"),
    [
        ("\x01" + b"447911123456".hex(), "hex-encoded"),
        ("\x01447911123456,447700900123", ""),  # a list
        ("\udcffGPRS,447911123456,unsecured", ""),  # a composite value
    ],
)
def test_bytes_that_are_not_text_are_named_however_the_number_inside_is_read(
    value: str, read_as: str
) -> None:
    hit = ValueScanner("GB", VALUE_DETECTORS).named_phones(value)[0]
    assert hit.normalized == "+447911123456"
    assert "between bytes that are not text" in hit.detail and read_as in hit.detail


@pytest.mark.parametrize("value", ["x447911123456", "\x01\x02", "\udcff\udcfe", "\x01abc"])
def test_letters_or_nothing_between_such_bytes_are_no_number(value: str) -> None:
    assert ValueScanner("GB", VALUE_DETECTORS).named_phones(value) == []


@pytest.mark.parametrize("name", ["deviceId", "android_id", "X-Device-Id", "devid", "adid"])
@pytest.mark.parametrize("mode", [Mode.PARAM, Mode.HEADER])
def test_an_imei_its_digits_prove_is_an_imei_under_a_device_id_s_name_too(
    name: str, mode: Mode
) -> None:
    # A name that says device ID gave the vaguer device_id (medium) where a name that
    # says nothing gave imei: Luhn and a TAC's reporting body prove it either way.
    scanner = ValueScanner("GB", VALUE_DETECTORS)
    (hit,) = scanner.scan("490154203237518", name_hint(normalize_name(name)), mode)
    assert (hit.kind, hit.severity, hit.detail) == ("imei", "high", "IMEI · TAC 49015420 · Luhn ok")
    # Digits that prove nothing stay the device ID the name says they are (none under
    # an advertising ID's name, where digits alone are an ad's).
    device = [] if name == "adid" else ["device_id"]
    other = scanner.scan("490154203237519", name_hint(normalize_name(name)), mode)
    assert [hit.kind for hit in other] == device
    without = ValueScanner("GB", tuple(d for d in VALUE_DETECTORS if d != "imei"))
    off = without.scan("490154203237518", name_hint(normalize_name(name)), mode)
    assert [hit.kind for hit in off] == device


@pytest.mark.parametrize(
    ("name", "value", "mode"),
    [
        ("order_id", "MTY1MDI1MzAwMDA=", Mode.PARAM),  # base64 of 16502530000
        ("orderid", "3136353032353330303030", Mode.PARAM),  # its hex
        ("X-Order-Id", "MTY1MDI1MzAwMDA=", Mode.HEADER),
        ("X-Timestamp", "3136353032353330303030", Mode.HEADER),
        ("size", "MTY1MDI1MzAwMDA=", Mode.PARAM),
    ],
)
def test_digits_wrapped_in_hex_or_base64_under_an_id_s_or_a_count_s_name_never_count(
    name: str, value: str, mode: Mode
) -> None:
    # As bare digits there do not: the wrapping made them a high msisdn finding.
    scanner = ValueScanner("US", VALUE_DETECTORS)
    assert scanner.scan(value, name_hint(normalize_name(name)), mode) == []
    assert scanner.scan(value, name_hint("x-foo"), mode)  # under a name that says nothing
    # Under an ID's name that numbers nothing: a user's number sent wrapped as its ID.
    assert scanner.scan(value, name_hint(normalize_name("user_id")), mode)


@pytest.mark.parametrize("imei", ["490154203237518", "352099001761481", "912345678901238"])
def test_an_imei_wrapped_in_hex_or_base64_is_an_imei_not_a_number_in_its_tac_s_country(
    imei: str,
) -> None:
    import base64

    scanner = ValueScanner("GB", VALUE_DETECTORS)
    for wrapped in (imei.encode().hex(), base64.b64encode(imei.encode()).decode()):
        (hit,) = scanner.scan(wrapped, name_hint("x-foo"), Mode.HEADER)
        assert (hit.kind, hit.normalized) == ("imei", imei), wrapped


@pytest.mark.parametrize(
    ("name", "value", "found"),
    [
        # An IMEI (TAC 35..., also Grenada's MCC 352) under a subscriber's name.
        ("X-Mobile", "352099001761481", ("imei", "high")),
        # MCC 412 with no listed MNC 34 or 345: no IMSI (a quarter of all 15-digit
        # values under "number" were one).
        ("number", "412345678901234", None),
        ("number", "234150999999999", ("imsi", "medium")),  # "number" alone promises less
        ("sub", "234150999999999", ("imsi", "high")),
        ("x-subscriber", "310150123456789", ("imsi", "high")),
        # Known MCCs whose networks the table lacks (China Telecom, Jio): medium.
        ("x-subscriber", "460111234567898", ("imsi", "medium")),
        ("caller", "405841234567890", ("imsi", "medium")),
        # Luhn-valid, a reporting body's 44, and a listed network: an IMSI first.
        ("x-subscriber", "440101234567893", ("imsi", "high")),
        # Under "number" alone, an unlisted network is nothing, nor an invalid number.
        ("number", "460111234567898", None),
    ],
)
def test_fifteen_digits_under_a_subscriber_s_name_are_an_imsi_only_as_its_structure_proves(
    name: str, value: str, found: tuple[str, str] | None
) -> None:
    hits = ValueScanner("GB", VALUE_DETECTORS).scan(
        value, name_hint(normalize_name(name)), Mode.PARAM
    )
    assert [(h.kind, h.severity) for h in hits if h.kind in ("imsi", "imei")] == (
        [found] if found else []
    )
    assert len(hits) == (1 if found else 0), hits


@pytest.mark.parametrize("name", ["ad_id", "adid", "advertising_id", "idfa"])
def test_digits_alone_under_an_advertising_id_s_name_are_an_ad_s_not_a_device_s(
    name: str,
) -> None:
    scanner = ValueScanner("GB", VALUE_DETECTORS)
    hint = name_hint(normalize_name(name))
    assert scanner.scan("23851234567890123", hint, Mode.PARAM) == []
    (hit,) = scanner.scan("3F2504E0-4F89-41D3-9A0C-0305E82C3301", hint, Mode.PARAM)
    assert hit.kind == "device_id" and hit.detail.startswith("advertising ID")
    # A device's ID may be digits alone (ByteDance's device_id).
    assert scanner.scan("7123456789012345678", name_hint("device-id"), Mode.PARAM)
