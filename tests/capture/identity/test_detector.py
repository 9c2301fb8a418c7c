"""IdentityDetector on whole requests: headers, cookies, query, body; every kind and wrapping."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capture.identity import detector as detector_module
from capture.identity.catalog import Catalog, load_catalog, make_entry
from capture.identity.detector import HeaderRule, IdentityConfig, IdentityDetector, locale_region
from capture.identity.names import HINT_ANCHORS, normalize_name
from capture.model import Finding
from tests.capture.identity.factory import make_request

UK = "+447700900123"
US = "+12015550123"
IMEI = "490154203237518"
IMSI = "234150999999999"
DEVICE = "6f1c9a52-0b7e-4d3a-9e21-5c8b7f30a4d1"


@pytest.fixture(scope="module")
def detector() -> IdentityDetector:
    return IdentityDetector(IdentityConfig(region="GB"))


def findings(detector: IdentityDetector, **request: object) -> list[Finding]:
    return list(detector.detect(make_request(**request)))


def posted(detector: IdentityDetector, content_type: str, body: bytes) -> list[Finding]:
    """The findings of a POST of ``body`` as ``content_type``."""
    return findings(detector, method="POST", add=[("Content-Type", content_type)], body=body)


def one(detector: IdentityDetector, **request: object) -> Finding:
    found = [f for f in findings(detector, **request) if f.is_identity]
    assert len(found) == 1, found
    return found[0]


# -- the O2 case and the JSONL contract --------------------------------------------------


def test_o2_calling_line_id_matches_the_architecture_example(detector: IdentityDetector) -> None:
    finding = one(detector, add=[("x-up-calling-line-id", "447700900123")])
    record = asdict(finding)
    del record["detail"]
    assert record == {
        "name": "x-up-calling-line-id",
        "where": "header",
        "kind": "msisdn",
        "value": "447700900123",
        "normalized": UK,
        "detector": "catalog",
        "severity": "high",
    }
    assert finding.detail == "+44 7700 900123 · GB, unallocated range"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        # Two X-MSISDN headers merged by a proxy, or by Suricata's eve.json.
        ("X-MSISDN", "447911123456, 447700900123"),
        ("x-up-calling-line-id", "+44 7911 123456;+44 7700 900123"),
        # A list under a name that says phone, and one that says subscriber.
        ("X-Phone-List", "+447911123456,+447700900123"),
        ("X-Carrier-Sub", "447911123456|447700900123"),
    ],
)
def test_every_number_of_a_list_is_reported_not_only_the_first(
    detector: IdentityDetector, name: str, value: str
) -> None:
    found = [f for f in findings(detector, add=[(name, value)]) if f.is_identity]
    assert [(f.kind, f.normalized) for f in found] == [
        ("msisdn", "+447911123456"),
        ("msisdn", UK),
    ]
    assert {f.name for f in found} == {name}


@pytest.mark.parametrize("name", ["X-Msisdn-Bin", "X-MSISDN"])
def test_a_number_after_a_byte_that_is_not_text_is_found_by_the_whole_detector(
    detector: IdentityDetector, name: str
) -> None:
    # Past the C first look too: the value is not ASCII. Under a new name and a known one.
    found = [f for f in findings(detector, add=[(name, "\udcff447700900123")]) if f.is_identity]
    assert [(f.kind, f.normalized, f.value) for f in found] == [
        ("msisdn", UK, "\udcff447700900123")
    ]


def test_a_composite_value_gives_its_number_and_not_its_other_fields(
    detector: IdentityDetector,
) -> None:
    found = [
        f
        for f in findings(detector, add=[("X-Phone", "GPRS,447700900123,10.1.2.3,unsecured")])
        if f.is_identity
    ]
    assert [(f.kind, f.value, f.normalized) for f in found] == [("msisdn", "447700900123", UK)]


@pytest.mark.parametrize("name", ["X-MSISDN", "HTTP_X_MSISDN", "x.msisdn", "X_Msisdn"])
def test_catalog_names_match_in_any_spelling(detector: IdentityDetector, name: str) -> None:
    finding = one(detector, add=[(name, "07700900123")])
    assert (finding.name, finding.kind, finding.normalized) == (name, "msisdn", UK)


@pytest.mark.parametrize(
    "value",
    [
        "447700900123",
        "+447700900123",
        "+44 7700 900123",
        "07700 900123",
        "tel:+44-7700-900123",
        b"447700900123".hex(),
        base64.b64encode(b"447700900123").decode(),
        "msisdn=447700900123;type=1",
    ],
)
def test_catalog_msisdn_in_every_format(detector: IdentityDetector, value: str) -> None:
    finding = one(detector, add=[("x-nokia-msisdn", value)])
    assert finding.kind == "msisdn" and finding.normalized == UK and finding.detector == "catalog"


def test_catalog_msisdn_that_is_not_a_number_is_a_subscriber_id(detector: IdentityDetector) -> None:
    finding = one(detector, add=[("msisdn", "dmwdovap66bFrvw=")])
    assert finding.kind == "subscriber_id" and finding.normalized == "dmwdovap66bFrvw="
    assert "encrypted or aliased" in finding.detail


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("x-msisdn", "-"),
        ("x-msisdn", "unknown"),
        ("x-msisdn", "null"),
        ("x-msisdn", "0"),
        ("x-msisdn", "***"),
        ("x-msisdn", "0000000000"),
        ("x-imsi", "-"),
        ("x-uidh", "N/A"),
    ],
)
def test_a_placeholder_under_an_identity_header_is_information_not_an_identity(
    detector: IdentityDetector, name: str, value: str
) -> None:
    # The gateway enriches (the header is there) but had no identity to put in it.
    [finding] = [f for f in findings(detector, add=[(name, value)]) if f.name == name]
    assert not finding.is_identity and finding.severity == "info"
    assert finding.kind == "network_info" and "placeholder" in finding.detail


def test_the_uaprof_schemas_own_address_under_x_wap_profile_names_no_handset(
    detector: IdentityDetector,
) -> None:
    # An Android GPS-assistance download sent it (nDPI's waze.pcap): it read as "the
    # URL of the handset's profile (identifies the exact model)".
    schema = "http://www.openmobilealliance.org/tech/profiles/UAPROF/ccppschema-20021212#"
    [finding] = findings(detector, add=[("x-wap-profile", schema)])
    assert finding.kind == "network_info" and "no handset's profile" in finding.detail
    handset = '"http://wap.samsungmobile.com/uaprof/SGH-I900.xml"'
    [finding] = findings(detector, add=[("x-wap-profile", handset)])
    assert finding.kind == "device_profile"


@pytest.mark.parametrize(
    ("name", "value", "kind", "normalized"),
    [
        ("X-UIDH", "OTgxNTk2NDk0ADJVquRu5NS5+rSbBANlrp+13QL7CXLGsFHpMi4LsUHw", "tracking_id", None),
        ("x-acr", "acr-token-123", "tracking_id", None),
        ("x-vf-acr", "MzQ1Njc4OTA=", "tracking_id", None),
        ("x-amobee-1", "a1b2c3d4", "tracking_id", None),
        ("x-up-subno", "T_ILL_CHI_1311234567000101234567", "subscriber_id", None),
        ("x-up-nai", "7700900123@vzw3g.example", "subscriber_id", None),
        ("x-up-3gpp-imeisv", "4901542032375101", "imei", "4901542032375101"),
        ("x-imsi", IMSI, "imsi", IMSI),
        ("x-wap-3gpp-imsi", IMSI, "imsi", IMSI),
        ("x_mti_email", "Bob@Example.org", "email", "bob@example.org"),
        ("x-avantgo-deviceid", "AVG-123456", "device_id", None),
    ],
)
def test_catalog_kinds(
    detector: IdentityDetector, name: str, value: str, kind: str, normalized: str | None
) -> None:
    finding = one(detector, add=[(name, value)])
    assert finding.kind == kind and finding.detector == "catalog"
    assert finding.normalized == (normalized or value)


def test_imei_header_that_is_not_an_imei_is_still_reported(detector: IdentityDetector) -> None:
    finding = one(detector, add=[("x-up-3gpp-imeisv", "unknown-device")])
    assert finding.kind == "imei" and "not IMEI-shaped" in finding.detail


@pytest.mark.parametrize(
    ("name", "value", "kind"),
    [
        ("X-Forwarded-For", "10.64.0.7, 198.51.100.9", "client_ip"),
        ("Via", "1.1 wap.o2.co.uk", "network_info"),
        ("x-wap-profile", '"http://nds1.nds.nokia.com/uaprof/N95r100.xml"', "device_profile"),
    ],
)
def test_informational_headers(
    detector: IdentityDetector, name: str, value: str, kind: str
) -> None:
    [finding] = findings(detector, add=[(name, value)])
    assert finding.kind == kind and finding.severity == "info" and not finding.is_identity


def test_msisdn_inside_an_informational_header(detector: IdentityDetector) -> None:
    found = findings(detector, add=[("X-Network-Info", "GPRS,12015550123,unsecured")])
    kinds = {(f.kind, f.detector, f.normalized) for f in found}
    assert ("network_info", "catalog", "GPRS,12015550123,unsecured") in kinds
    # The catalog documents the number inside: it is reported by the catalog, in full.
    assert ("msisdn", "catalog", US) in kinds


def test_network_info_with_an_ip_and_a_bearer_yields_the_number_and_the_rest_as_info(
    detector: IdentityDetector,
) -> None:
    found = findings(detector, add=[("X-Network-Info", "3G,447700900123,10.1.2.3,secured")])
    identities = [f for f in found if f.is_identity]
    assert [(f.kind, f.normalized, f.severity) for f in identities] == [("msisdn", UK, "high")]
    assert [f.kind for f in found if not f.is_identity] == ["network_info"]


def test_drama_number_under_a_subscriber_name_is_medium_and_says_why(
    detector: IdentityDetector,
) -> None:
    finding = one(detector, add=[("X-Carrier-Sub", "447700900123")])
    assert (finding.kind, finding.normalized, finding.severity) == ("msisdn", UK, "medium")
    assert "does not call it a valid number" in finding.detail
    real = one(detector, add=[("X-Carrier-Sub", "447911123456")])
    assert real.severity == "high"


@pytest.mark.parametrize("name", ["number", "X-Line-Number", "nr"])
def test_a_fixed_line_under_a_name_that_says_only_number_is_medium_and_says_why(
    detector: IdentityDetector, name: str
) -> None:
    # 01234 567890 is a valid Bedford line: under "number" alone it may as well be an
    # order's ten digits, where "subscriber" or "phone" would say whose line it is.
    finding = one(detector, add=[(name, "441234567890")])
    assert (finding.kind, finding.normalized, finding.severity) == (
        "msisdn",
        "+441234567890",
        "medium",
    )
    assert 'not a mobile, under a name that says only "number"' in finding.detail
    assert one(detector, add=[(name, "447911123456")]).severity == "high"
    assert one(detector, add=[("X-Subscriber", "441234567890")]).severity == "high"
    assert one(detector, add=[("X-Phone-Number", "441234567890")]).severity == "high"


@pytest.mark.parametrize(
    "name", ["x-subscriber-count", "x-order-number", "orderid", "x-build-number", "ts"]
)
def test_counter_names_with_subscriber_words_stay_quiet(
    detector: IdentityDetector, name: str
) -> None:
    assert [f for f in findings(detector, add=[(name, "447911123456")]) if f.is_identity] == []


@pytest.mark.parametrize("name", ["X-Affiliate-Mobile", "campaign_mobile"])
def test_a_mobile_number_under_a_name_ending_in_mobile_after_an_id_word_is_found(
    detector: IdentityDetector, name: str
) -> None:
    finding = one(detector, add=[(name, "447911123456")])
    assert (finding.kind, finding.normalized, finding.severity) == (
        "msisdn",
        "+447911123456",
        "high",
    )


def test_imsi_under_a_subscriber_name(detector: IdentityDetector) -> None:
    finding = one(detector, add=[("X-Subscriber", IMSI)])
    assert (finding.kind, finding.normalized) == ("imsi", IMSI)


@pytest.mark.parametrize("name", ["X-MSISDN", "X-Phone"])
def test_an_mms_address_under_a_phone_name_is_the_number(
    detector: IdentityDetector, name: str
) -> None:
    finding = one(detector, add=[(name, "+447700900123/TYPE=PLMN")])
    assert (finding.kind, finding.normalized) == ("msisdn", UK)


@pytest.mark.parametrize("value", ["8613109971272", "+8613109971272"])
def test_a_mobile_number_in_an_imsi_header_is_reported_as_the_number(
    detector: IdentityDetector, value: str
) -> None:
    # jpress's RequestUtils reads the subscriber's mobile number out of X-Imsi.
    finding = one(detector, add=[("X-Imsi", value)])
    assert (finding.kind, finding.normalized) == ("msisdn", "+8613109971272")
    assert finding.detail.endswith("phone number in an IMSI header")


def test_an_imsi_header_with_no_imsi_and_no_mobile_number_is_still_an_imsi_finding(
    detector: IdentityDetector,
) -> None:
    finding = one(detector, add=[("X-Imsi", "a1b2c3d4e5")])
    assert finding.kind == "imsi" and "not IMSI-shaped" in finding.detail


@pytest.mark.parametrize("value", [f"IMSI{IMSI}", f"imsi{IMSI}"])
def test_an_imsi_after_magma_s_imsi_prefix_is_read(detector: IdentityDetector, value: str) -> None:
    # Magma's header enrichment sends its subscriber ID: "IMSI" and the digits.
    finding = one(detector, add=[("imsi", value)])
    assert (finding.kind, finding.normalized) == ("imsi", IMSI)


def test_national_number_wrapped_in_hex_under_the_region(detector: IdentityDetector) -> None:
    finding = one(detector, add=[("X-Operator-Chosen", b"07911123456".hex())])
    assert finding.normalized == "+447911123456" and "hex-encoded" in finding.detail


def test_subscriber_id_header_holding_a_phone_number_reports_the_number(
    detector: IdentityDetector,
) -> None:
    finding = one(detector, add=[("HTTP_X_UP_SUBNO", "573101234567")])
    assert (finding.kind, finding.normalized, finding.detector) == (
        "msisdn",
        "+573101234567",
        "catalog",
    )


def test_empty_catalog_header_is_not_an_identity(detector: IdentityDetector) -> None:
    assert findings(detector, add=[("x-msisdn", "  ")]) == []


# -- values under names the catalog does not know -----------------------------------------


@pytest.mark.parametrize(
    ("value", "severity"),
    [
        ("12015550123", "medium"),
        ("+12015550123", "high"),
        ("+1 201 555 0123", "high"),
        ("tel:+1-201-555-0123", "high"),
        ("<sip:+12015550123@ims.example.net;user=phone>", "high"),
        (b"12015550123".hex(), "high"),
        (b"+12015550123".hex().upper(), "high"),
        (base64.b64encode(b"12015550123").decode(), "high"),
        (base64.b64encode(b"+447700900123").decode(), "high"),
        # "sub" names a subscriber: a valid number under it is as good as under msisdn.
        ("id=abc; sub=12015550123", "high"),
    ],
)
def test_phone_number_under_an_unknown_header(
    detector: IdentityDetector, value: str, severity: str
) -> None:
    finding = one(detector, add=[("X-Operator-Chosen", value)])
    assert finding.kind == "msisdn" and finding.detector == "phonenumber"
    assert finding.normalized in (US, UK) and finding.severity == severity


def test_unknown_header_reports_number_type(detector: IdentityDetector) -> None:
    finding = one(detector, add=[("X-Foo", "12015550123")])
    assert (
        finding.detail
        == "+1 201-555-0123 · US fixed line or mobile · bare digits under an unlisted name"
    )


@pytest.mark.parametrize(
    "name", ["X-Phone", "X-User-Mobile-Number", "X-Calling-Line", "x-subscriber-msisdn"]
)
def test_phone_named_header_reads_national_numbers(detector: IdentityDetector, name: str) -> None:
    finding = one(detector, add=[(name, "07700 900123")])
    assert finding.normalized == UK and finding.severity == "high"


def test_nai_with_a_number_is_an_msisdn(detector: IdentityDetector) -> None:
    finding = one(detector, add=[("X-Identity", "12015550123@mms.operator.example")])
    assert finding.kind == "msisdn" and finding.normalized == US
    assert finding.detail.endswith("user part of a NAI")


def test_email_anywhere(detector: IdentityDetector) -> None:
    finding = one(detector, add=[("From", "Crawler Ops <ops@example.org>")])
    assert (finding.kind, finding.normalized, finding.detector) == (
        "email",
        "ops@example.org",
        "email",
    )


def test_url_user_info_is_not_an_email(detector: IdentityDetector) -> None:
    assert [
        f
        for f in findings(detector, add=[("X-Link", "http://user:pa55word@example.com/x")])
        if f.is_identity
    ] == []


@pytest.mark.parametrize(
    "value",
    [
        "mailto:ops@example.org",
        "MAILTO:ops@example.org?subject=hi",
        "acct:ops@example.org",
        "okta:acct:ops@example.org",
        "https://idp.example/.well-known/webfinger?resource=acct%3Aops%40example.org",
    ],
)
def test_an_address_after_a_mailto_or_acct_scheme_is_found(
    detector: IdentityDetector, value: str
) -> None:
    finding = one(detector, add=[("X-Link", value)])
    assert (finding.kind, finding.normalized) == ("email", "ops@example.org")


def test_a_key_at_value_pair_whose_realm_has_no_real_top_level_domain_is_no_address(
    detector: IdentityDetector,
) -> None:
    # Dynamic Yield's _dyrc cookie on www.nytimes.com (sitespeedio/pagexray's HAR):
    # "key@value" pairs, of which "effcl@0.totcl" was reported as an e-mail address.
    cookie = "_dyrc=%2F%2Fpx.dynamicyield.com%2Fdps**effcl%400.totcl%400.clicks%400.scroll"
    assert findings(detector, add=[("Cookie", cookie)]) == []


_WRAPPED_ADDRESS = "cXVpZXQuaGVyb240MTdAZXhhbXBsZS5jb20="  # quiet.heron417@example.com


@pytest.mark.parametrize(
    ("where", "sent"),
    [
        # Dao and Fukuda's shopping sites (CoNEXT 2021): Mixpanel's cookie, in both
        # alphabets, padded, padding percent-encoded, or none.
        ("cookie", {"add": [("Cookie", f"mp_shop_mixpanel.bcRegisterEmail={_WRAPPED_ADDRESS}")]}),
        ("query", {"uri": f"/track?em={_WRAPPED_ADDRESS.rstrip('=')}"}),
        ("query", {"uri": f"/track?user_email={_WRAPPED_ADDRESS[:-1]}%3D"}),
        ("header", {"add": [("X-User-Email", _WRAPPED_ADDRESS)]}),
    ],
)
def test_an_address_wrapped_in_base64_under_an_e_mail_name_is_found(
    detector: IdentityDetector, where: str, sent: dict[str, Any]
) -> None:
    finding = one(detector, **sent)
    assert (finding.kind, finding.normalized, finding.where, finding.severity) == (
        "email",
        "quiet.heron417@example.com",
        where,
        "high",
    )
    assert finding.detail == "e-mail address · base64-encoded"


@pytest.mark.parametrize(
    "value",
    [
        "ZmY5MGFiMTJjZDM0ZWY1Ng",  # base64 of "ff90ab12cd34ef56": a token, no address
        "3q2+7wAAAAAAAAAAAAAAAAAAAAA=",  # base64 of bytes that are not text
        "not base64 at all!",
    ],
)
def test_base64_under_an_e_mail_name_that_wraps_no_address_is_not_one(
    detector: IdentityDetector, value: str
) -> None:
    assert findings(detector, uri=f"/track?email={quote(value)}") == []


@pytest.mark.parametrize(
    ("where", "sent"),
    [
        ("cookie", {"add": [("Cookie", "pref=ops%40example.co.uk")]}),
        ("header", {"add": [("X-Contact", "ops@mail.example")]}),  # reserved for examples
        ("query", {"uri": "/signup?email=ops@gmail.con"}),  # named: what was typed
    ],
)
def test_an_address_with_a_real_or_reserved_top_level_domain_or_under_an_e_mail_name_is_found(
    detector: IdentityDetector, where: str, sent: dict[str, Any]
) -> None:
    finding = one(detector, **sent)
    assert (finding.kind, finding.where) == ("email", where)


@pytest.mark.parametrize(
    "sent",
    [
        {"uri": "/collect?clientId=fdf075e8-1890-454c-bd64-a8a6ceb8beea"},
        {"add": [("Cookie", "clientid=fdf075e8-1890-454c-bd64-a8a6ceb8beea")]},
        {
            "method": "POST",
            "add": [("Content-Type", "application/json")],
            "body": b'{"uploadSessions": [{"clientId": "x-coredata://1C1409E3/Run/p1"}]}',
        },
    ],
)
def test_client_id_outside_headers_is_any_client_s_id_not_sprint_s(
    detector: IdentityDetector, sent: dict[str, Any]
) -> None:
    # The catalog's Sprint PCS ClientID header (header_only): as a parameter, cookie
    # or JSON key the word is an OAuth, analytics or app client's ID.
    assert [f for f in findings(detector, **sent) if f.is_identity] == []


def test_client_id_as_a_header_is_sprint_s_subscriber_id(detector: IdentityDetector) -> None:
    finding = one(detector, add=[("ClientID", "eGtUpsqEO19zVHmbOkgaPVI-@sprintpcs.com")])
    assert (finding.kind, finding.detector) == ("subscriber_id", "catalog")


def test_a_user_agent_sent_as_a_parameter_is_not_a_written_number(
    detector: IdentityDetector,
) -> None:
    # An ad SDK's request (ntop/nDPI's 1kxun.pcap): the "+" of a form-encoded space
    # before "sdk_gphone_x86" started a part whose digits made "+86 1201013001".
    ua = "Dalvik%2F2.1.0+%28Linux%3B+U%3B+Android+11%3B+sdk_gphone_x86+Build%2FRSR1.201013.001%29"
    assert findings(detector, uri=f"/openapi/ads?useragent={ua}&imei=1") == []


@pytest.mark.parametrize(
    "number", ["%2B44+7911+123456", "%2B447911123456", "%2B44%207911%20123456"]
)
def test_a_number_written_with_its_plus_in_a_form_is_found(
    detector: IdentityDetector, number: str
) -> None:
    finding = one(detector, uri=f"/p?x={number}")
    assert (finding.kind, finding.normalized) == ("msisdn", "+447911123456")


def test_unnamed_imei_in_a_header(detector: IdentityDetector) -> None:
    finding = one(detector, add=[("X-Handset", IMEI)])
    assert (finding.kind, finding.normalized, finding.detector) == ("imei", IMEI, "imei")
    # Why it is medium, as an IMSI's or a number's there says.
    assert finding.detail.endswith(" · Luhn ok · bare digits under an unlisted name")


def test_unnamed_imsi_in_a_header_is_proved_by_its_mcc_and_mnc(
    detector: IdentityDetector,
) -> None:
    finding = one(detector, add=[("X-Operator-Chosen", IMSI)])
    assert (finding.kind, finding.normalized, finding.detector) == ("imsi", IMSI, "imsi")
    assert finding.severity == "medium"
    assert finding.detail == (
        "IMSI · MCC 234 (GB) · MNC 15 (a listed network) · bare digits under an unlisted name"
    )


@pytest.mark.parametrize(
    ("name", "value", "place"),
    [
        # A listed MCC and MNC, but the name means a counter, clock, size or ID.
        ("X-Order-Number", IMSI, "header"),
        ("X-Request-Start", IMSI, "header"),
        ("X-Trace-Id", "310150123456789", "header"),
        ("X-Content-Size", "460001357924680", "header"),
        ("X-Sequence", IMSI, "header"),
        ("orderid", IMSI, "header"),
        # The same value in a cookie or the query under a plain name: numeric IDs abound.
        ("pv", IMSI, "cookie"),
        ("pv", IMSI, "query"),
        # A plain name, but no listed network, or the wrong length.
        ("X-Operator-Chosen", "234059999999999", "header"),
        ("X-Operator-Chosen", "176480000000000", "header"),
        ("X-Operator-Chosen", "23415099999999", "header"),
        ("X-Operator-Chosen", "2341509999999999", "header"),
    ],
)
def test_imsi_shaped_digits_stay_quiet_where_name_or_structure_does_not_prove_it(
    detector: IdentityDetector, name: str, value: str, place: str
) -> None:
    request: dict[str, Any] = {"add": [(name, value)]}
    if place == "cookie":
        request = {"add": [("Cookie", f"{name}={value}")]}
    elif place == "query":
        request = {"uri": f"/p?{name}={value}"}
    assert [f for f in findings(detector, **request) if f.is_identity] == []


def test_unnamed_imsi_rule_follows_the_imsi_switch() -> None:
    quiet = IdentityDetector(IdentityConfig(region="GB", disabled=("imsi",)))
    assert [f for f in findings(quiet, add=[("X-Operator-Chosen", IMSI)]) if f.is_identity] == []


@pytest.mark.parametrize(
    ("name", "value", "kind", "normalized", "detector_name"),
    [
        ("X-Device-IMEI", "49-015420-323751-8", "imei", IMEI, "imei"),
        ("X-Sim-Imsi", "001010123456789", "imsi", "001010123456789", "imsi"),
        ("X-User-Email", "alice@example.com", "email", "alice@example.com", "email"),
    ],
)
def test_named_identities_in_headers(
    detector: IdentityDetector,
    name: str,
    value: str,
    kind: str,
    normalized: str,
    detector_name: str,
) -> None:
    finding = one(detector, add=[(name, value)])
    assert (finding.kind, finding.normalized, finding.detector) == (kind, normalized, detector_name)


# -- cookies, query, body -----------------------------------------------------------------


def test_cookie_pairs(detector: IdentityDetector) -> None:
    cookie = (
        "sid=abc123; x-up-calling-line-id=07700900123; "
        "user_phone=%2B12015550123; mail=a%40b.example"
    )
    found = {
        (f.where, f.name, f.kind, f.normalized)
        for f in findings(detector, add=[("Cookie", cookie)])
    }
    assert found == {
        ("cookie", "x-up-calling-line-id", "msisdn", UK),
        ("cookie", "user_phone", "msisdn", US),
        ("cookie", "mail", "email", "a@b.example"),
    }


def test_query_parameters(detector: IdentityDetector) -> None:
    uri = (
        "/ads?phone=07700900123&imei=490154203237518&email=bob%40example.com"
        "&idfa=6D92078A-8246-4BA4-AE5B-76104861E7DC&android_id=9774d56d682e549c&x=%2B12015550123"
    )
    found = {
        (f.where, f.name, f.kind, f.normalized, f.detector) for f in findings(detector, uri=uri)
    }
    assert found == {
        ("query", "phone", "msisdn", UK, "phonenumber"),
        ("query", "imei", "imei", IMEI, "imei"),
        ("query", "email", "email", "bob@example.com", "email"),
        ("query", "idfa", "device_id", "6d92078a-8246-4ba4-ae5b-76104861e7dc", "device-id-name"),
        ("query", "android_id", "device_id", "9774d56d682e549c", "device-id-name"),
        ("query", "x", "msisdn", US, "phonenumber"),
    }


def test_query_parameter_named_like_a_catalog_header(detector: IdentityDetector) -> None:
    finding = one(detector, uri="/p?msisdn=447700900123")
    assert (finding.where, finding.detector, finding.normalized) == ("query", "catalog", UK)


def test_informational_names_mean_nothing_in_parameters(detector: IdentityDetector) -> None:
    assert findings(detector, uri="/p?via=home&x-forwarded-for=1") == []


def test_zeroed_advertising_id_is_not_an_identity(detector: IdentityDetector) -> None:
    assert findings(detector, uri="/p?idfa=00000000-0000-0000-0000-000000000000&gaid=unknown") == []


def test_a_device_id_after_a_scheme_prefix_is_read_without_it(detector: IdentityDetector) -> None:
    """MoPub's ad request: udid is "ifa:" and the advertising ID, or "mopub:" and the
    SDK's own UUID where the user limited ad tracking (its AdvertisingId's
    getIdWithPrefix, percent-encoded by its PlayServicesUrlRewriter). The ID is judged
    without the prefix and reported as it is; the detail keeps the prefix, and the
    prefix "ifa" says the ID is the advertising ID. A zeroed ID after it is none."""
    uri = f"/m/ad?v=6&udid=ifa%3A{DEVICE.upper()}&dnt=0&id=agltb3B1Yi1pbmNyDQsSBFNpdGUY"
    found = findings(detector, uri=uri)
    assert [(f.name, f.kind, f.value, f.normalized, f.detail) for f in found] == [
        (
            "udid",
            "device_id",
            f"ifa%3A{DEVICE.upper()}",
            DEVICE,
            "advertising ID (UUID, after the prefix ifa:)",
        )
    ]
    mopub = one(detector, uri=f"/m/open?udid=mopub%3A{DEVICE}&id=1")
    assert (mopub.normalized, mopub.detail) == (DEVICE, "device ID (UUID, after the prefix mopub:)")
    zeroed = "ifa%3A00000000-0000-0000-0000-000000000000"
    assert findings(detector, uri=f"/m/ad?udid={zeroed}") == []


@pytest.mark.parametrize(
    "value",
    [
        f"urn:uuid:{DEVICE}",  # two prefixes: not one ID after one
        f"x:{DEVICE}",  # one letter
        f"tracking2:{DEVICE}",  # not letters only
        "https://example.com/device",
        "ifa:",
        "ifa:short",
    ],
)
def test_a_value_is_not_an_id_after_just_any_prefix(detector: IdentityDetector, value: str) -> None:
    assert findings(detector, uri=f"/m/ad?udid={quote(value, safe='')}") == []


def test_a_prefixed_value_is_read_only_under_a_device_or_advertising_id_s_name(
    detector: IdentityDetector,
) -> None:
    assert findings(detector, uri=f"/p?request_id=ifa%3A{DEVICE}&ref=gaid%3A{DEVICE}") == []


def _ga(**params: str) -> str:
    """A Google Analytics hit (Measurement Protocol v1), its parameters percent-encoded
    as its reference shows them: dl=http%3A%2F%2Ffoo.com%2Fhome%3Fa%3Db."""
    query = "&".join(f"{name}={quote(value, safe='')}" for name, value in params.items())
    return f"/collect?v=1&tid=UA-12345-1&cid=555&t=pageview&{query}"


def test_a_page_s_address_in_a_parameter_has_its_query_read_as_parameters(
    detector: IdentityDetector,
) -> None:
    """Google Analytics' dl (the page's full address: "Be sure to remove any user
    authentication or other private information from the URL", its reference says) and
    dr (the referrer): the address's own parameters are judged by their names, and
    named by both (dl → msisdn); bare digits under msisdn, a digest under email and a
    national number under phone count there as they would in the query itself."""
    digest = hashlib.sha256(b"someone@gmail.com").hexdigest()
    uri = _ga(
        dl="https://shop.example/thanks?order=10293&msisdn=447700900123",
        dr=f"https://mail.example/open?utm_source=news&email={digest}",
        dt="Thanks",
    )
    found = findings(detector, uri=uri)
    assert [(f.where, f.name, f.kind, f.value, f.normalized) for f in found] == [
        ("query", "dl → msisdn", "msisdn", "447700900123", UK),
        ("query", "dr → email", "tracking_id", digest, digest),
    ]
    phone = one(detector, uri=_ga(dl="https://shop.example/?a=1&phone=07700900123"))
    assert (phone.name, phone.normalized, phone.severity) == ("dl → phone", UK, "high")
    # The value as the address holds it (decoded once, as the parameter is); under a
    # name that says e-mail, high.
    named = one(detector, uri=_ga(url="https://shop.example/?email=someone@gmail.com"))
    assert (named.name, named.value, named.severity) == (
        "url → email",
        "someone@gmail.com",
        "high",
    )


def test_the_rest_of_a_carried_page_s_address_is_still_read_under_the_parameter(
    detector: IdentityDetector,
) -> None:
    """The address without its query (its fragment kept) is the parameter's value, read
    as it was; a "?" in the fragment starts no query (RFC 3986 §3.5)."""
    page = "https://shop.example/thanks?tab=2#sent-to=someone@gmail.com"
    found = findings(detector, uri=_ga(dl=page))
    assert [(f.name, f.kind, f.normalized) for f in found] == [("dl", "email", "someone@gmail.com")]
    spa = one(detector, uri=_ga(dl="https://app.example/#/verify?email=someone@gmail.com"))
    assert (spa.name, spa.normalized) == ("dl", "someone@gmail.com")


@pytest.mark.parametrize(
    "page",
    [
        "https://shop.example/?utm_source=news&utm_medium=email&gclid=Cj0KCQiA",
        "https://shop.example/search?q=msisdn&page=2",  # the word is a value
        "https://shop.example/msisdn/447700900123",  # no query
    ],
)
def test_a_carried_page_s_address_with_no_identity_in_its_query_gives_nothing(
    detector: IdentityDetector, page: str
) -> None:
    assert findings(detector, uri=_ga(dl=page)) == []


def test_a_carried_address_is_opened_once(detector: IdentityDetector) -> None:
    """An address inside a carried address's query (its names percent-encoded twice) is
    not opened again: bounded depth. A value that is no absolute address is read
    whole, as any value (its key=value parts), under the parameter's name."""
    inner = "https://b.example/?msisdn=447700900123"
    assert findings(detector, uri=_ga(dl=f"https://a.example/?next={quote(inner, safe='')}")) == []
    bare = one(detector, uri=_ga(dl="shop.example/?msisdn=447700900123"))
    assert (bare.name, bare.normalized) == ("dl", UK)


def test_a_carried_address_gives_at_most_its_first_512_parameters(
    detector: IdentityDetector,
) -> None:
    pairs = [f"p{n}=x" for n in range(600)]
    pairs[100] = "msisdn=447700900123"
    pairs[550] = "phone=447911123456"
    found = findings(detector, uri=_ga(dl="https://a.example/?" + "&".join(pairs)))
    assert [(f.name, f.normalized) for f in found] == [("dl → msisdn", UK)]


def test_a_carried_address_is_read_in_forms_cookies_json_and_a_referer(
    detector: IdentityDetector,
) -> None:
    """The same reading wherever a parameter is: a form (GA's POST), a cookie, a JSON
    field (Segment's context.page.url) and the parameters of a Referer."""
    page = quote("https://shop.example/?phone=07700900123", safe="")
    form = posted(detector, "application/x-www-form-urlencoded", f"v=1&dl={page}".encode())
    cookie = findings(detector, add=[("Cookie", f"last_page={page}; a=1")])
    segment = {"context": {"page": {"url": "https://shop.example/?phone=07700900123"}}}
    body = posted(detector, "application/json", json.dumps(segment).encode())
    referer = findings(detector, add=[("Referer", f"https://t.example/r?to={page}")])
    assert [(f.where, f.name, f.normalized) for f in form + cookie + body + referer] == [
        ("body", "dl → phone", UK),
        ("cookie", "last_page → phone", UK),
        ("body", "context.page.url → phone", UK),
        ("header", "Referer", UK),
    ]
    assert referer[0].detail.startswith("parameter to → phone · ")


def test_referer_query_is_scanned_under_the_header_name(detector: IdentityDetector) -> None:
    finding = one(
        detector, add=[("Referer", "http://portal.example/next?msisdn=447700900123&lang=en")]
    )
    assert (finding.where, finding.name, finding.normalized) == ("header", "Referer", UK)
    assert finding.detail.startswith("parameter msisdn · ")


def test_form_body_parameters(detector: IdentityDetector) -> None:
    found = posted(detector, "application/x-www-form-urlencoded", b"user=alice&tel=07700900123")
    assert [(f.where, f.name, f.normalized) for f in found] == [("body", "tel", UK)]


def test_json_body_fields_are_read_under_their_key_paths(detector: IdentityDetector) -> None:
    """An SDK's JSON beacon: strings and integers, nested objects and lists, each
    under the path of its keys; booleans, nulls and floats are not values."""
    body = (
        b'{"event": "open", "ts": 1733270400123, "ok": true, "ratio": 0.5, "extra": null,'
        b' "user": {"tel": "07700900123", "devices": [{"imei": 490154203237518}]}}'
    )
    found = posted(detector, "application/json; charset=utf-8", body)
    assert [(f.where, f.name, f.kind, f.normalized) for f in found] == [
        ("body", "user.tel", "msisdn", UK),
        ("body", "user.devices.imei", "imei", "490154203237518"),
    ]


def test_the_last_event_of_an_analytics_batch_is_read_past_its_512th_value(
    detector: IdentityDetector,
) -> None:
    """Segment's batch of 60 events of 11 values, then one with the user's traits: cut
    at 512 values, its identities were never read, and nothing said so."""
    events = [
        {"type": "track", "event": f"e{n}", "messageId": f"m-{n:08d}", "timestamp": n,
         "properties": {"a": "x", "b": "y", "c": n, "d": "z", "e": "w", "f": n, "g": "v"}}
        for n in range(60)
    ]  # fmt: skip
    events.append({"type": "identify", "traits": {"phone": "07700900123"}})
    body = json.dumps({"batch": events}).encode()
    assert len(detector_module._json_fields(body)) > 600
    found = posted(detector, "application/json", body)
    assert [(f.name, f.kind, f.normalized) for f in found] == [("batch.traits.phone", "msisdn", UK)]


def test_a_number_in_an_object_is_judged_with_the_objects_key(detector: IdentityDetector) -> None:
    """order.number, invoice.number, account.number, flight.number: the IDs they say
    (they were phone numbers, high severity); phone.number stays a phone's."""
    body = (
        b'{"order": {"number": "7911123456"}, "invoice": {"number": 2129876543},'
        b' "account": {"number": "07911123457"}, "flight": {"no": "4477009001"},'
        b' "seat_number": "12345678901", "phone": {"number": "07700900123"}}'
    )
    found = posted(detector, "application/json", body)
    assert [(f.name, f.kind, f.normalized) for f in found] == [("phone.number", "msisdn", UK)]


def test_an_id_in_an_object_named_for_the_device_is_a_device_id(detector: IdentityDetector) -> None:
    """Bugsnag's error report (its API's JSON payload, as bugsnag-android's Device
    writes it: the device's ID under events[].device.id, a UUID kept per install by its
    DeviceIdStore, and user.email) and Segment's common fields (context.device.id):
    the ID's own key, "id", says nothing; the object's, "device", says whose it is.
    The app's, the session's, the user's and the referrer's IDs are other things."""
    bugsnag = {
        "apiKey": "0123456789abcdef0123456789abcdef",
        "events": [
            {
                "app": {"id": "com.example.app", "version": "1.4.2"},
                "device": {"id": DEVICE, "osName": "android", "manufacturer": "Google"},
                "session": {"id": "0b8e2a61-7d1c-4f5e-a3b9-2c6d8e4f1a70", "events": {}},
                "user": {"id": "48213", "email": "someone@gmail.com"},
            }
        ],
    }
    found = posted(detector, "application/json", json.dumps(bugsnag).encode())
    assert [(f.name, f.kind, f.normalized) for f in found] == [
        ("events.device.id", "device_id", DEVICE),
        ("events.user.email", "email", "someone@gmail.com"),
    ]
    segment = {
        "anonymousId": "507f191e810c19729de860ea",
        "context": {
            "device": {"id": DEVICE.upper(), "manufacturer": "Apple", "type": "ios"},
            "referrer": {"id": "ABCD582CDEFFFF01919", "type": "dataxu"},
        },
        "messageId": "022bb90c-bbac-11e4-8dfc-aa07a5b093db",
    }
    found = posted(detector, "application/json", json.dumps(segment).encode())
    assert [(f.name, f.kind, f.normalized) for f in found] == [
        ("context.device.id", "device_id", DEVICE)
    ]


@pytest.mark.parametrize("owner", ["order", "event", "session", "user", "app", "ad", "email"])
def test_an_id_in_an_object_named_for_anything_but_the_device_stays_quiet(
    detector: IdentityDetector, owner: str
) -> None:
    body = json.dumps({"batch": [{owner: {"id": DEVICE, "uuid": DEVICE}}]}).encode()
    assert posted(detector, "application/json", body) == []


def test_a_bracketed_form_name_is_judged_by_its_whole_path(detector: IdentityDetector) -> None:
    """Rails' and PHP's nested names, device[id] and user[email], as a query and as a
    form: the name read whole says whose the ID is; order[id] stays an order's."""
    query = f"/e?order%5Bid%5D={DEVICE}&device%5Bid%5D={DEVICE}&user[email]=someone%40gmail.com"
    form = f"order[id]={DEVICE}&device[id]={DEVICE}".encode()
    found = findings(detector, uri=query) + posted(
        detector, "application/x-www-form-urlencoded", form
    )
    assert [(f.where, f.name, f.kind) for f in found] == [
        ("query", "device[id]", "device_id"),
        ("query", "user[email]", "email"),
        ("body", "device[id]", "device_id"),
    ]


def test_a_multipart_form_s_text_parts_are_read_and_its_files_are_not(
    detector: IdentityDetector,
) -> None:
    """An app's sign-up with a photo: the photo's bytes are no field."""
    body = (
        b'--x7\r\nContent-Disposition: form-data; name="photo"; filename="me.jpg"\r\n'
        b"Content-Type: image/jpeg\r\n\r\n447911123456\r\n"
        b'--x7\r\nContent-Disposition: form-data; name="user[mobile]"\r\n\r\n07700900123\r\n'
        b"--x7--\r\n"
    )
    found = posted(detector, 'multipart/form-data; boundary="x7"', body)
    assert [(f.where, f.name, f.normalized) for f in found] == [("body", "user[mobile]", UK)]


def test_an_xml_body_s_elements_and_attributes_are_read_by_local_name(
    detector: IdentityDetector,
) -> None:
    """A SOAP call of a carrier API: the number in an element, the IMEI in an attribute."""
    body = (
        b'<?xml version="1.0"?><soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope">'
        b'<soap:Body><m:GetBalance xmlns:m="urn:x"><m:msisdn>447700900123</m:msisdn>'
        b'<m:device imei="490154203237518"/></m:GetBalance></soap:Body></soap:Envelope>'
    )
    found = posted(detector, "application/soap+xml; charset=utf-8", body)
    assert [(f.where, f.name, f.kind, f.normalized) for f in found] == [
        ("body", "msisdn", "msisdn", UK),
        ("body", "imei", "imei", "490154203237518"),
    ]


def test_json_wrapped_in_base64_in_one_parameter_is_read_field_by_field(
    detector: IdentityDetector,
) -> None:
    """Mixpanel's people update (data=, base64) and Snowplow's self-describing event
    (ue_px=, URL-safe base64 without padding): each field judged by its own key."""
    update = {"$token": "t0k", "$distinct_id": "42", "$set": {"$phone": "07700900123"}}
    mixpanel = base64.b64encode(json.dumps(update).encode()).decode()
    event = {"schema": "iglu:x", "data": {"data": {"msisdn": "447700900123", "n": 7}}}
    snowplow = base64.urlsafe_b64encode(json.dumps(event).encode()).decode().rstrip("=")
    uri = f"/engage/?data={quote(mixpanel, safe='')}&ue_px={snowplow}&verbose=1"
    found = detector.detect(make_request(uri=uri))
    assert [(f.where, f.name, f.value, f.normalized) for f in found] == [
        ("query", "data.$set.$phone", "07700900123", UK),
        ("query", "ue_px.data.data.msisdn", "447700900123", UK),
    ]


def test_a_gzip_compressed_beacon_is_read_as_what_it_holds() -> None:
    detector = IdentityDetector(IdentityConfig(region="GB", msisdns=("07700 900123",)))
    body = gzip.compress(b'{"event": "open", "user": {"tel": "07700900123"}}')
    headers = [("Content-Type", "application/json"), ("Content-Encoding", "gzip")]
    request = make_request(method="POST", add=headers, body=body, body_length=len(body))
    found = detector.detect(request)
    assert [(f.where, f.name, f.detector, f.normalized) for f in found] == [
        ("body", "user.tel", "phonenumber", UK),
        ("body", "user.tel", "canary", UK),
    ]
    assert request.body == body  # the record keeps the bytes sent


def test_json_text_in_a_cookie_or_a_form_field_is_read_field_by_field(
    detector: IdentityDetector,
) -> None:
    """A cookie that keeps JSON, and Amplitude's form (e=, a list of events)."""
    profile = quote(json.dumps({"user": {"tel": "07700900123", "id": 7}}), safe="")
    events = quote(
        json.dumps([{"event_type": "open", "user_properties": {"imei": 490154203237518}}])
    )
    body = f"client=k&e={events}&v=2".encode()
    headers = [
        ("Cookie", f"a=1; profile={profile}"),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ]
    found = detector.detect(
        make_request(method="POST", add=headers, body=body, body_length=len(body))
    )
    assert [(f.where, f.name, f.value, f.normalized) for f in found] == [
        ("cookie", "profile.user.tel", "07700900123", UK),
        ("body", "e.user_properties.imei", "490154203237518", "490154203237518"),
    ]


@pytest.mark.parametrize(
    "value",
    [
        "[+447700900123]",
        "{tel:+447700900123}",
        "%5B%2B447700900123%5D",
        "[+447700900123];type=x",
        "{tel:+447700900123",
    ],
)
def test_a_value_that_only_starts_like_json_is_read_as_any_other(
    detector: IdentityDetector, value: str
) -> None:
    found = detector.detect(make_request(uri=f"/p?x={value}"))
    assert [(f.name, f.normalized) for f in found] == [("x", UK)]


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=400)
@given(
    st.one_of(
        st.builds(lambda o, rest: o + rest, st.sampled_from("{["), st.text(max_size=12)),
        st.builds(
            lambda doc, pad: pad + json.dumps(doc, indent=pad and 1) + pad,
            st.lists(_JSON_VALUES, max_size=3) | st.dictionaries(st.text(), _JSON_VALUES),
            st.sampled_from(["", " ", "\n"]),
        ).map(str.strip),
    )
)
def test_every_value_orjson_reads_is_shaped_as_json(text: str) -> None:
    import orjson

    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        return
    assert detector_module._json_shaped(text)


@pytest.mark.parametrize(
    "value", ["[CS]v1|3419B9DF384788B2[CE]", "{INQ:{custID:1}}", '["BI_News"];type=x', "{", "[a]"]
)
def test_values_that_only_open_like_json_are_told_apart_without_orjson(value: str) -> None:
    assert not detector_module._json_shaped(value)


def test_a_header_that_carries_json_is_read_by_its_keys(detector: IdentityDetector) -> None:
    """An app's context header: its fields judged by their keys, as a JSON body's:
    bare digits under a key that says nothing do not count; a value that is not JSON
    is read as any header's."""
    context = json.dumps({"os": "android", "subscriber": "07700 900123"})
    found = detector.detect(make_request(add=[("X-App-Context", context)]))
    assert [(f.name, f.kind, f.normalized) for f in found] == [
        ("X-App-Context.subscriber", "msisdn", UK)
    ]
    assert detector.detect(make_request(add=[("X-App-Context", '{"order": "447911123456"}')])) == ()
    bare = detector.detect(make_request(add=[("X-App-Context", "{447911123456")]))
    assert [(f.name, f.normalized, f.severity) for f in bare] == [
        ("X-App-Context", "+447911123456", "medium")
    ]


def _jwt(claims: dict[str, object]) -> str:
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"eyJhbGciOiJSUzI1NiJ9.{payload}.c2lnbmF0dXJl"


def test_a_jwt_s_claims_are_read_by_their_keys_but_its_registered_ones(
    detector: IdentityDetector,
) -> None:
    """An ID token (Firebase's, in auth= or as a bearer token): phone_number is read;
    sub, the issuer's own ID of the user, is not (jwt.io's example, "1234567890",
    would read as a subscriber's number)."""
    token = _jwt({"iss": "x", "sub": "1234567890", "phone_number": "+447700900123", "iat": 1})
    query = detector.detect(make_request(uri=f"/users.json?auth={token}"))
    bearer = detector.detect(make_request(add=[("Authorization", f"Bearer {token}")]))
    assert [(f.where, f.name, f.normalized) for f in query + bearer] == [
        ("query", "auth.phone_number", UK),
        ("header", "Authorization.phone_number", UK),
    ]
    example = _jwt({"sub": "1234567890", "name": "John Doe", "iat": 1516239022})
    assert detector.detect(make_request(uri=f"/cb?id_token={example}")) == ()


def test_a_json_body_is_recognised_by_its_first_byte_under_any_type(
    detector: IdentityDetector,
) -> None:
    """navigator.sendBeacon posts a string as text/plain; a top-level list too."""
    found = posted(detector, "text/plain;charset=UTF-8", b' [{"msisdn": "447700900123"}]')
    assert [(f.where, f.name, f.normalized) for f in found] == [("body", "msisdn", UK)]


@pytest.mark.parametrize(
    "body",
    [b'{"msisdn": "4477009', b"msisdn=447700900123", b'{"msisdn": 447700900123.0}', b"[" * 5000],
    ids=["cut", "not JSON", "a float", "nested too deep"],
)
def test_a_body_that_is_not_whole_json_gives_no_json_finding(
    detector: IdentityDetector, body: bytes
) -> None:
    found = posted(detector, "application/json", body)
    assert [f for f in found if f.where == "body"] == []


def test_a_json_body_gives_at_most_its_first_4096_values(
    detector: IdentityDetector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(detector_module, "_JSON_LEAVES", 512)  # the bound, at a test's size
    values = [f'"v{n}"' for n in range(600)]
    values[100] = '"447700900123"'
    values[550] = '"447911123456"'
    body = ('{"phone": [' + ", ".join(values) + "]}").encode()
    found = posted(detector, "application/json", body)
    assert [f.normalized for f in found] == [UK]


def test_duplicates_are_reported_once(detector: IdentityDetector) -> None:
    found = findings(detector, add=[("x-msisdn", "447700900123"), ("x-msisdn", "447700900123")])
    assert len(found) == 1


# -- precision: ordinary values stay quiet ----------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("X-Request-Id", "12015550123"),
        ("X-Client-Time", "1700000000123"),
        ("X-Timestamp", "1326205331"),
        ("X-Build-Number", "12015550123"),
        ("X-Order-Id", "447700900123"),
        ("X-Sent", "1700000000"),
        ("X-Book", "9780306406157"),
        ("X-Path", "/news/2024/01/15/story-12015550123"),
        ("X-Version", "12.0.15550123"),
        ("Authorization", "Basic dGVzdDoxMjM0"),
        ("X-Counter", "4337126792298"),
        ("X-Fixed", "442079460123"),
        # Calendar stamps that libphonenumber reads as Egypt's mobiles (+20 15 ...).
        ("X-Bust", "201512041526"),
        ("X-Stamp", "201106301200"),
    ],
)
def test_ordinary_headers_are_quiet(detector: IdentityDetector, name: str, value: str) -> None:
    assert findings(detector, add=[(name, value)]) == []


@pytest.mark.parametrize(
    "uri",
    [
        "/api?_=1326205331123",
        "/p?id=12015550123",
        "/p?q=12015550123",
        "/p?cid=123456789.1326205331",
        "/p?isbn=9780306406157",
        "/p?page=2&sort=desc&t=1700000000",
    ],
)
def test_ordinary_query_parameters_are_quiet(detector: IdentityDetector, uri: str) -> None:
    assert findings(detector, uri=uri) == []


def test_an_http2_path_is_read_as_the_request_target_not_as_a_header_value(
    detector: IdentityDetector,
) -> None:
    # Chrome's HARs list an HTTP/2 request's pseudo-headers; its :path is the URL's
    # path and query, whose cache buster (2015-12-04 15:26) read as a bare header
    # value was "+20 15 12041526, EG mobile" (PerfCascade's enorm-magazin.de HAR).
    target = "/themes/enorm/js/app/app.js?bust=201512041526"
    pseudo = [(":method", "GET"), (":authority", "enorm-magazin.de"), (":scheme", "https")]
    assert findings(detector, uri=target, add=[*pseudo, (":path", target)]) == []
    leak = "/collect?msisdn=447700900123"
    found = findings(detector, uri=leak, add=[*pseudo, (":path", leak)])
    assert [(f.name, f.where, f.normalized) for f in found] == [
        ("msisdn", "query", "+447700900123")
    ]


def test_an_unnamed_egyptian_mobile_that_is_no_calendar_time_is_still_found(
    detector: IdentityDetector,
) -> None:
    # 2010-12-34 is no date: the number is read as before.
    finding = one(detector, add=[("X-Foo", "201012345678")])
    assert (finding.kind, finding.normalized, finding.severity) == (
        "msisdn",
        "+201012345678",
        "medium",
    )


def test_bare_numbers_in_cookies_are_quiet(detector: IdentityDetector) -> None:
    cookie = "_ga=GA1.2.123456789.1326205331; cart=12015550123; s_vsn_msnbcom_1=4337126792298"
    assert findings(detector, add=[("Cookie", cookie)]) == []


# -- configuration --------------------------------------------------------------------------


def test_extra_header_from_the_configuration() -> None:
    detector = IdentityDetector(
        IdentityConfig(region="GB", headers=(HeaderRule("X-Acme-Sub", "subscriber_id", "medium"),))
    )
    finding = one(detector, add=[("x_acme_sub", "S-998877")])
    assert (finding.kind, finding.severity, finding.detector) == (
        "subscriber_id",
        "medium",
        "catalog",
    )


def test_disabled_catalog_entry_and_detectors() -> None:
    detector = IdentityDetector(IdentityConfig(region="GB", disabled=("x-uidh", "phonenumber")))
    assert findings(detector, add=[("X-UIDH", "abc123def")]) == []
    assert findings(detector, add=[("X-Foo", "+12015550123")]) == []
    # The catalog still normalises its own headers.
    assert one(detector, add=[("x-msisdn", "447700900123")]).normalized == UK


def test_disabling_the_whole_catalog() -> None:
    detector = IdentityDetector(IdentityConfig(region="GB", disabled=("catalog",)))
    found = findings(detector, add=[("x-msisdn", "447700900123"), ("X-UIDH", "abc")])
    # X-UIDH is gone; x-msisdn is still a name that says "phone number".
    assert [(f.name, f.detector) for f in found] == [("x-msisdn", "phonenumber")]


def test_region_decides_national_numbers() -> None:
    us = IdentityDetector(IdentityConfig(region="US"))
    assert one(us, add=[("X-Phone", "(201) 555-0123")]).normalized == US
    gb = IdentityDetector(IdentityConfig(region="gb"))
    assert gb.region == "GB"


def test_unknown_region_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown region 'XX'"):
        IdentityDetector(IdentityConfig(region="XX"))


def test_region_defaults_to_the_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANG", "en_GB.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_TELEPHONE", raising=False)
    assert locale_region() == "GB"
    assert IdentityDetector(IdentityConfig()).region == "GB"


@pytest.mark.parametrize(
    ("environ", "region"),
    [
        # Python's locale.getlocale() calls C.UTF-8 "en_US": not a region anyone chose.
        ({"LANG": "C.UTF-8"}, None),
        ({"LANG": "POSIX"}, None),
        ({"LANG": "C"}, None),
        ({}, None),
        ({"LANG": "de_DE.UTF-8"}, "DE"),
        ({"LANG": "ast_ES.UTF-8"}, "ES"),
        ({"LANG": "sr_RS@latin"}, "RS"),
        # The first one set decides, as for any POSIX locale category.
        ({"LC_ALL": "en_GB.UTF-8", "LC_TELEPHONE": "fr_FR.UTF-8", "LANG": "de_DE"}, "GB"),
        ({"LC_TELEPHONE": "fr_FR.UTF-8", "LANG": "en_US.UTF-8"}, "FR"),
        ({"LC_ALL": "C.UTF-8", "LANG": "en_GB.UTF-8"}, None),
        ({"LC_ALL": "", "LANG": "en_GB.UTF-8"}, "GB"),
        # A language without a territory, or a territory libphonenumber does not know.
        ({"LANG": "eo.UTF-8"}, None),
        ({"LANG": "en_ZZ.UTF-8"}, None),
    ],
)
def test_the_locale_region_is_the_telephone_locale_of_the_environment(
    environ: dict[str, str], region: str | None
) -> None:
    assert locale_region(environ) == region


# Run in a fresh interpreter: this test process has imported phonenumbers already.
_FIRST_NUMBER = """
import sys
from capture.identity.detector import IdentityConfig, IdentityDetector
from tests.capture.identity.factory import make_request

IdentityDetector()  # the locale's region, checked
detector = IdentityDetector(IdentityConfig(region="GB"))
print("phonenumbers" in sys.modules)
print(repr(detector.detect(make_request(add=[("Accept-Language", "en-GB")]))))
print("phonenumbers" in sys.modules)
print(repr(detector.detect(make_request(add=[("X-Msisdn", "07700 900123")]))))
"""


def test_libphonenumber_is_loaded_by_the_first_value_to_parse_with_the_same_findings() -> None:
    """Building a detector checks its region without libphonenumber (~25 ms of a scan's
    start-up), and a request with no value to parse does not load it; the first that
    has one loads it and gets what a detector built after it was loaded finds."""
    result = subprocess.run(
        [sys.executable, "-c", _FIRST_NUMBER],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[3],  # where "tests" is imported from
    )
    before, clean, after, first = result.stdout.splitlines()
    assert (before, clean, after) == ("False", "()", "False")
    loaded = IdentityDetector(IdentityConfig(region="GB"))
    expected = loaded.detect(make_request(add=[("X-Msisdn", "07700 900123")]))
    assert expected and first == repr(expected)


def _anchors_reference(catalog: Catalog) -> tuple[str, ...]:
    """_name_anchors as first written: every word tested against every other."""
    words = set(HINT_ANCHORS)
    for key in sorted(entry.key for entry in catalog.entries if entry.is_identity):
        if not any(word in key for word in words):
            words.add(max(key.split("-"), key=len))
    kept = [w for w in words if not any(o != w and o in w for o in words)]
    return tuple(sorted(kept, key=lambda word: (len(word), word)))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.text("abcdghimnopstuwxyz-_", min_size=3, max_size=14).filter(
            lambda name: name.strip("-_") != ""
        ),
        max_size=12,
        unique_by=normalize_name,
    )
)
def test_name_anchors_are_those_of_the_all_pairs_reference(names: list[str]) -> None:
    """The anchors, tested shortest first against the words kept, are the words of the
    reference that tested every word against every other, in the same order."""
    base = load_catalog()
    taken = {entry.key for entry in base.entries}
    extra = [make_entry(n, "msisdn", "high") for n in names if normalize_name(n) not in taken]
    catalog = base.customized(extra)
    expected = _anchors_reference(catalog)
    if any(re.fullmatch("[0-9a-f]+", w.replace("-", "").replace("_", "")) for w in expected):
        with pytest.raises(ValueError, match="all hex digits"):
            detector_module._name_anchors(catalog)
        return
    assert detector_module._name_anchors(catalog) == expected


def test_hostile_names_do_not_grow_the_caches() -> None:
    detector = IdentityDetector(IdentityConfig(region="GB"))
    for index in range(20_000):
        detector.detect(make_request(add=[(f"X-Junk-{index}", "v"), (f"hOsT{index % 7}", "h")]))
    assert detector._header_rule.cache_info().currsize <= 16384  # type: ignore[attr-defined]
    assert len(detector._header_rules) <= 16384


def test_a_burst_of_one_off_names_does_not_evict_the_recurring_ones() -> None:
    detector = IdentityDetector(IdentityConfig(region="GB"))
    for index in range(40_000):
        detector.detect(make_request(add=[(f"X-Junk-{index}", "v"), ("X-Msisdn", "07700900123")]))
    info = detector._header_rule.cache_info()  # type: ignore[attr-defined]
    # An LRU keeps the names every request sends: they missed once each, not once per clear.
    assert info.misses <= 40_000 + 20


_US = IdentityDetector(IdentityConfig(region="US"))


@settings(max_examples=100, deadline=None)
@given(
    st.integers(min_value=100, max_value=199),
    st.sampled_from(
        ["+1201555{n:04d}", "1201555{n:04d}", "(201) 555-{n:04d}", "tel:+1-201-555-{n:04d}"]
    ),
    st.sampled_from(["x-msisdn", "X-Up-Calling-Line-Id", "HTTP_MSISDN", "x.nokia.msisdn"]),
)
def test_any_fictional_us_number_in_any_form_under_any_msisdn_header(
    n: int, form: str, name: str
) -> None:
    [finding] = _US.detect(make_request(add=[(name, form.format(n=n))]))
    assert finding.kind == "msisdn" and finding.normalized == f"+1201555{n:04d}"


@pytest.mark.parametrize(
    "value",
    [
        "%2B12015550123",
        "tel%3A%2B1-201-555-0123",
        b"12015550123".hex(),
        b"+12015550123".hex().upper(),
        base64.b64encode(b"12015550123").decode(),
        base64.urlsafe_b64encode(b"+12015550123").decode().rstrip("="),
    ],
)
@pytest.mark.parametrize("where", ["cookie", "query"])
def test_deliberate_numbers_in_unnamed_cookies_and_parameters(
    detector: IdentityDetector, value: str, where: str
) -> None:
    request = (
        {"add": [("Cookie", f"a=1; blob={value}")]}
        if where == "cookie"
        else {"uri": f"/p?blob={value}"}
    )
    finding = one(detector, **request)
    assert (finding.where, finding.name, finding.kind, finding.normalized) == (
        where,
        "blob",
        "msisdn",
        US,
    )
    assert finding.value == value  # as sent, not decoded


@pytest.mark.parametrize(
    "spelling", [str.lower, str.upper, lambda k: "HTTP_" + k.replace("-", "_")]
)
def test_every_catalog_identity_name_as_a_cookie_or_parameter_passes_the_fast_gate(
    detector: IdentityDetector, spelling: Any
) -> None:
    for entry in detector.catalog.entries:
        if entry.is_identity:
            name = spelling(entry.key)
            for sep in ";&":
                assert detector._may_matter(f"{name}=v", sep), name
                assert detector._may_matter_py(f"{name}=v", sep), name


def test_an_analytics_request_with_no_identity_is_passed_over_whole(
    detector: IdentityDetector,
) -> None:
    cookie = "; ".join(f"_hjSession_{i:x}a9={'Zq' * 12}{i}" for i in range(8))
    query = "&".join(f"gtm_{i:x}ff=https%3A%2F%2Fsite.example%2Fp{i}" for i in range(6))
    assert not detector._may_matter(cookie, ";")
    assert not detector._may_matter_py(cookie, ";")
    request = make_request(uri=f"/collect?{query}", add=[("Cookie", cookie)])
    assert detector.detect(request) == ()


@pytest.mark.parametrize(
    ("name", "value", "kind", "normalized"),
    [
        ("X-Hts_clid", "595961714786", "msisdn", "+595961714786"),
        ("nokia-callinglineid", "8613802423312", "msisdn", "+8613802423312"),
        ("rim-device-id", "200522ae", "device_id", "200522ae"),
    ],
)
def test_adobe_analytics_subscriber_id_headers_are_in_the_catalog(
    detector: IdentityDetector, name: str, value: str, kind: str, normalized: str
) -> None:
    finding = one(detector, add=[(name, value)])
    assert (finding.kind, finding.normalized, finding.detector) == (kind, normalized, "catalog")


def test_an_address_in_a_subscriber_info_cookie_is_not_a_phone_number(
    detector: IdentityDetector,
) -> None:
    cookie = ("Cookie", "X-SUBSCRIBER-INFO=IP=10.103.132.128")
    assert [f for f in findings(detector, add=[cookie]) if f.is_identity] == []


@pytest.mark.parametrize(
    "uri",
    [
        # "+447700900123" percent-encoded, then encoded again as a query value.
        "/p?x=1&X-Operator-Chosen=%252B447700900123&y=2",
        # base64 of "+447700900123" and of "12015550123" with their "=" padding encoded.
        "/p?x=1&X-Operator-Chosen=KzQ0NzcwMDkwMDEyMw%3D%3D&y=2",
        "/p?x=1&X-Operator-Chosen=MTIwMTU1NTAxMjM%3D&y=2",
    ],
)
def test_wrapped_numbers_in_a_query_pass_the_prefilter_however_encoded(
    detector: IdentityDetector, uri: str
) -> None:
    assert one(detector, uri=uri).kind == "msisdn"


@pytest.mark.parametrize(
    "uri",
    [
        "/p?contact=Tel%3A447911123456",
        "/p?contact=sips%3A447911123456",
        "/p?deadbeefcaller=447911123456",
    ],
)
def test_a_number_behind_a_mixed_case_scheme_or_a_hex_glued_name_is_found(
    detector: IdentityDetector, uri: str
) -> None:
    """The first, whole-string test once let these through to nobody: it looked for
    "tel%3" in two cases only, and cut runs of hex digits out of names, "caller"'s
    "ca" with them."""
    assert one(detector, uri=uri).kind == "msisdn"


_PREFILTER_PIECES = st.sampled_from(
    [
        *"%:@+aA2b3x",
        *("tel", "TEL", "sip", "SiPs", "%3a", "%3A", "%25", "%2B", "%40", "%35"),
        # long s, dotless i, dotted I, Kelvin sign: case folding beyond str.lower
        *("\u017f", "\u0131", "\u0130", "\u212a", "\u00e9"),
    ]
)


@settings(max_examples=2000, deadline=None)
@given(st.lists(_PREFILTER_PIECES, max_size=14).map("".join))
def test_the_prefilters_scheme_and_escape_tests_answer_as_their_regexes(value: str) -> None:
    # _pct_identity and _has_scheme search the value lower-cased where it is ASCII;
    # the regexes (and their Unicode case folding) are the reference.
    assert detector_module._pct_identity(value) == (
        detector_module._PCT_IDENTITY.search(value) is not None
    )
    assert detector_module._has_scheme(
        value, detector_module._SCHEMES, detector_module._URI_SCHEME
    ) == (detector_module._URI_SCHEME.search(value) is not None)


_FINDING_FIELDS = st.sampled_from(["a", "b"])
_FINDINGS = st.lists(
    st.builds(
        Finding,
        _FINDING_FIELDS,
        st.sampled_from(["header", "query"]),
        st.sampled_from(["msisdn", "canary"]),
        _FINDING_FIELDS,
        _FINDING_FIELDS,
        st.sampled_from(["phonenumber", "canary", "catalog"]),
        st.just("high"),
        _FINDING_FIELDS,
    ),
    max_size=5,
)


@settings(max_examples=300, deadline=None)
@given(_FINDINGS)
def test_dedupe_keeps_the_first_finding_of_each_key_in_order(findings: list[Finding]) -> None:
    # The reference: the first finding of each key, in the order the keys first come.
    first: dict[tuple[str, ...], Finding] = {}
    for f in findings:
        first.setdefault((f.where, f.name, f.kind, f.normalized, f.detector), f)
    assert detector_module._dedupe(findings) == tuple(first.values())


@pytest.mark.parametrize(
    "value", ["8613109971272", "8613109971272_gateway", "8613109971272_GATEWAY"]
)
def test_a_subscriber_number_header_holding_the_number_and_gateway_is_the_number(
    detector: IdentityDetector, value: str
) -> None:
    # China Mobile's WAP gateway sends x-up-subno as the number and "_gateway"
    # (jpress's RequestUtils pattern "86{0}_gateway"; shaojiankui's phone.php).
    finding = one(detector, add=[("x-up-subno", value)])
    assert (finding.kind, finding.normalized) == ("msisdn", "+8613109971272")
    assert finding.detail.endswith("phone number in a subscriber-ID header")


def test_a_subscriber_id_with_digits_and_another_suffix_stays_a_subscriber_id(
    detector: IdentityDetector,
) -> None:
    finding = one(detector, add=[("x-up-subno", "8613109971272_ims")])
    assert (finding.kind, finding.normalized) == ("subscriber_id", "8613109971272_ims")


def test_canary_values_are_canonical_so_one_canary_typed_two_ways_is_one_value() -> None:
    config = IdentityConfig(
        region="GB",
        msisdns=("07700 900123", "+44 7700 900123"),
        imeis=("35-209900-176148-1", "352099001761481"),
        imsis=("234 15 1234567890",),
        canaries=("Alice@Example.com", "+447700900123"),
    )
    assert IdentityDetector(config).canary_values == (
        "+447700900123",  # E.164, whether typed nationally or not (and as a --canary)
        "352099001761481",  # an IMEI's digits
        "234151234567890",  # an IMSI's
        "Alice@Example.com",  # any other value as given
    )


def test_a_detector_with_canaries_switched_off_has_no_canary_values() -> None:
    config = IdentityConfig(msisdns=("+447700900123",), disabled=("canary",))
    assert IdentityDetector(config).canary_values == ()


def _canary_findings(found: tuple[Finding, ...]) -> list[Finding]:
    return [f for f in found if f.detector == "canary"]


def _calls(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> list[tuple[Any, ...]]:
    """The arguments of each call of ``owner.name`` from here on (it still answers)."""
    calls: list[tuple[Any, ...]] = []
    real = getattr(owner, name)

    def spy(*args: Any, **keywords: Any) -> Any:
        calls.append(args)
        return real(*args, **keywords)

    monkeypatch.setattr(owner, name, spy)
    return calls


def test_a_field_sent_again_gives_the_canary_findings_it_gave_without_a_new_search() -> None:
    det = IdentityDetector(IdentityConfig(region="GB", msisdns=(UK,)))
    request = make_request(add=[("X-Carrier-Sub", UK)], uri=f"/c?phone={UK[1:]}")
    first = _canary_findings(det.detect(request))
    assert [(f.where, f.name) for f in first] == [("header", "X-Carrier-Sub"), ("query", "phone")]
    again = _canary_findings(det.detect(make_request(add=[("X-Carrier-Sub", UK)], uri=request.uri)))
    assert again == first
    # Kept, not searched and built again: the very findings of the first request.
    assert all(a is f for a, f in zip(again, first, strict=True))


def test_a_canary_in_a_decoded_cookie_whose_value_as_sent_holds_it_needs_no_whole_request_test(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    det = IdentityDetector(IdentityConfig(region="GB", msisdns=(UK,)))
    asked = _calls(monkeypatch, det._canaries, "could_match_any")
    # "%2B447700900123" is the URL-encoded E.164 form (found as sent, so its decoding's
    # E.164 form is the same finding): the cookie as sent could hold a canary, so the
    # request could, without testing all of it.
    request = make_request(add=[("Cookie", "a=1; msisdn=%2B447700900123")])
    found = _canary_findings(det.detect(request))
    assert [(f.where, f.name, f.value) for f in found] == [("cookie", "msisdn", "%2B" + UK[1:])]
    assert asked == []
    # A decoded value whose form as sent holds no key (each digit escaped) is still
    # reported only when the whole-request test says yes: here it does not (the
    # request is let through by a needle in a run that is no key, "x900123y").
    escaped = "".join(f"%{ord(c):02X}" for c in UK)
    sent = [("X-A", "x900123y"), ("Cookie", f"msisdn={escaped}")]
    assert _canary_findings(det.detect(make_request(add=sent))) == []
    assert len(asked) == 1


def test_a_json_body_holding_a_canary_is_parsed_once_to_name_its_fields(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    det = IdentityDetector(IdentityConfig(region="GB", msisdns=(UK,)))
    parsed = _calls(monkeypatch, detector_module, "_json_fields")
    body = b'{"event": "open", "user": {"tel": "+447700900123"}, "alt": "+447700900123"}'
    request = make_request(
        method="POST", add=[("Content-Type", "application/json")], body=body, body_length=len(body)
    )
    found = _canary_findings(det.detect(request))
    assert [(f.where, f.name, f.value) for f in found] == [
        ("body", "user.tel", UK),
        ("body", "alt", UK),
    ]
    # Once by the value detectors; the canary's fields are named from that reading.
    assert parsed == [(body,)]


def test_a_number_typed_with_a_space_and_posted_by_a_browser_is_read(
    detector: IdentityDetector,
) -> None:
    """A form encodes the space of "07700 900123" as "+": it was not found (%20 was)."""
    found = posted(detector, "application/x-www-form-urlencoded", b"name=a&phone=07700+900123")
    assert [(f.where, f.name, f.normalized) for f in found] == [("body", "phone", UK)]


def test_what_a_proxy_adds_for_its_backend_is_no_identity(detector: IdentityDetector) -> None:
    """Varnish's transaction IDs, counters that read as Danish and Singapore mobiles."""
    varnish = [("X-Varnish", "4520123456 4520123401"), ("X-Varnish", "6591234567")]
    queued = [("X-Request-Start", "t=1733270400123456"), ("X-Queue-Start", "1733270400123")]
    assert detector.detect(make_request(add=varnish + queued)) == ()


@pytest.mark.parametrize(
    "value",
    ["9" * 4301, "1," + "9" * 5000, "0" * 5000 + "1230768000", "+" + "4" * 5000],
    ids=["digits", "list", "zeros", "plus"],
)
def test_digits_past_what_int_takes_are_read_without_an_exception(
    detector: IdentityDetector, value: str
) -> None:
    # Python refuses int() of more than 4,300 digits: one header value of them stopped
    # a live capture (its runner's thread died), a scan and the reflector's reading.
    assert findings(detector, add=[("X-Foo", value), ("X-Count", value)]) == []
    assert [
        f.normalized
        for f in findings(detector, add=[("X-Foo", value), ("X-MSISDN", "447700900123")])
    ] == ["+447700900123"]


@pytest.mark.parametrize(
    "config",
    [
        IdentityConfig(region="GB"),
        IdentityConfig(region="GB", msisdns=("07700 900123",)),
        IdentityConfig(region="GB", recurrence=2),
    ],
    ids=["plain", "canary", "recurrence"],
)
def test_a_batch_is_read_as_each_of_its_requests_is_alone(config: IdentityConfig) -> None:
    beacon = gzip.compress(b'{"user": {"tel": "07700900123"}}')
    token = "Zk7Qp2Xv9LmR4tWb8NcY3hJd6FsA1gEu"
    batch = [
        make_request(),  # nothing to look at
        make_request(add=[("X-MSISDN", "447700900123")]),
        make_request(uri="/p?uid=" + token, add=[("Host", "a.example")]),
        make_request(method="POST", add=[("Content-Type", "application/json")], body=beacon),
        make_request(uri="/p?uid=" + token, headers=[("Host", "b.example")]),
        make_request(add=[("Cookie", "_ga=GA1.2.1.2; tel=07700900123")]),
    ]
    one_by_one = IdentityDetector(config)
    alone = [one_by_one.detect(request) for request in batch]
    assert IdentityDetector(config).detect_many(batch) == alone
    assert sum(1 for found in alone if found) >= 3


def test_long_names_and_values_from_the_network_are_read_but_never_kept() -> None:
    """Caches bounded by count held what senders chose: 8,192 header values of 60 KB
    (477 MB), 16,384 names of 30 KB, 4,096 texts read as numbers. Each is still read."""
    from capture.identity import phone, values

    readers = (phone.parse_lenient, phone.parse_strict, phone.parse_international)
    for shared in (values.ValueScanner.hint_for, *readers):  # shared with other tests
        shared.cache_clear()  # type: ignore[attr-defined]
    detector = IdentityDetector(IdentityConfig(region="GB"))
    for n in range(20):
        junk = f"{n:04d}" + "q" * 60_000
        name = f"x-phone-{n:04d}" + "z" * 20_000
        request = make_request(
            add=[("X-Msisdn-Info", f"447911123456 {junk}"), (name, "447911123456")],
            uri=f"/?phone{'a' * 20_000}{n}=447911123456&v={junk}",
        )
        found = detector.detect(request)
        assert {(f.where, f.normalized) for f in found} >= {
            ("header", "+447911123456"),
            ("query", "+447911123456"),
        }
    kept_names = [*detector._header_rules, *detector._header_kinds, *detector._plain]
    assert all(len(name) <= detector_module._KEPT_NAME_CHARS for name in kept_names)
    assert all(detector_module._key_size(key) <= 2048 for key in detector._found)
    for cache in (detector._header_rule, detector._param_rule, detector._names_matter):
        assert cache.cache_info().currsize <= 3  # type: ignore[attr-defined]
    assert values.ValueScanner.hint_for.cache_info().currsize < 100  # type: ignore[attr-defined]
    for reader in readers:
        assert reader.cache_info().currsize < 100  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "value",
    ["msisdn=NDQ3OTExMTIzNDU2", "type=gprs;msisdn=NDQ3OTExMTIzNDU2", "gprs NDQ3OTExMTIzNDU2"],
)
def test_base64_of_a_number_as_one_part_of_a_header_s_value_is_read(value: str) -> None:
    # Only a whole value so shaped, or hex with its run of digits, was looked at.
    detector = IdentityDetector(IdentityConfig(region="GB"))
    found = detector.detect(make_request(add=[("X-Enrich", value)]))
    assert [(f.kind, f.normalized) for f in found] == [("msisdn", "+447911123456")]
    # Under a session's name, as bare digits there, it is no number.
    quiet = detector.detect(make_request(add=[("X-Session", "sid=MTIzNDU2Nzg5MDEy; path=/")]))
    assert quiet == ()
    # Nor a client's credentials (a fifth of random digits' base64 read as a number).
    for scheme in ("Basic", "Bearer"):
        for name in ("Authorization", "Proxy-Authorization"):
            sent = make_request(add=[(name, f"{scheme} NDQ3OTExMTIzNDU2")])
            assert detector.detect(sent) == ()
