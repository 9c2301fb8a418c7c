"""Name normalisation and what names say about their values."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capture.identity.names import (
    HINT_ADVERTISING,
    HINT_ANCHORS,
    HINT_DEVICE,
    HINT_EMAIL,
    HINT_IMEI,
    HINT_IMSI,
    HINT_PHONE,
    HINT_SUBSCRIBER,
    could_hint,
    field_name,
    hint_key,
    name_hint,
    normalize_name,
    trailing_name,
)


@pytest.mark.parametrize(
    "spelling", ["X-MSISDN", "x-msisdn", "X_Msisdn", "x.msisdn", "HTTP_X_MSISDN", " x-msisdn "]
)
def test_spellings_of_one_header_normalise_alike(spelling: str) -> None:
    assert normalize_name(spelling) == "x-msisdn"


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("user[mobile]", "user-mobile"),
        ("phones[]", "phones"),
        ("a[b][c]", "a-b-c"),
        ("ud[em]", "ud-em"),
    ],
)
def test_a_nested_form_name_normalises_to_its_words(name: str, key: str) -> None:
    assert normalize_name(name) == key


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
        ("mobile", HINT_SUBSCRIBER),
        ("user_mobile", HINT_SUBSCRIBER),
        ("HTTP_X_MOBILE", HINT_SUBSCRIBER),
        ("user[mobile]", HINT_SUBSCRIBER),
        ("ud[ph]", HINT_PHONE),
        ("ud[em]", HINT_EMAIL),
        ("udff[em]", HINT_EMAIL),
        # Apple's and Branch's names for the IDFA and IDFV, Firebase's install ID
        # (iOS apps' traffic in simoneauriemma/progReti's HARs).
        ("advertisingIdentifier", HINT_ADVERTISING),
        ("identifierForVendor", HINT_DEVICE),
        ("ios_vendor_id", HINT_DEVICE),
        ("app_instance_id", HINT_DEVICE),
        # tweaselORG/TrackHAR's labels of what trackers' SDKs send.
        ("aifa", HINT_ADVERTISING),
        ("andi", HINT_DEVICE),
        ("asid", HINT_DEVICE),
        ("persistent_ios_uuid", HINT_DEVICE),
        ("fb_anon_id", HINT_DEVICE),
        ("device_fingerprint_id", HINT_DEVICE),
        # Facebook's SDK's name for the advertising ID, and Unity Ads' (raw or MD5).
        ("advertiser_id", HINT_ADVERTISING),
        ("advertisingTrackingId", HINT_ADVERTISING),
        ("rawAdvertisingTrackingId", HINT_ADVERTISING),
        # Google Ad Manager's rdid, ByteDance's app-log google_aid; Facebook's anon_id,
        # AppMetrica's ifv, App Center's Install-ID header, OpenTelemetry's
        # app.installation.id; the hashed address as user data's em and ad tags' hem.
        ("rdid", HINT_ADVERTISING),
        ("google_aid", HINT_ADVERTISING),
        ("anon_id", HINT_DEVICE),
        ("ifv", HINT_DEVICE),
        ("Install-ID", HINT_DEVICE),
        ("app.installation.id", HINT_DEVICE),
        ("em", HINT_EMAIL),
        ("pd[em]", HINT_EMAIL),
        ("user_data.em", HINT_EMAIL),
        ("u_hem", HINT_EMAIL),
        # Other languages' forms; the mobile advertising ID, Roku's, CDMA's equipment ID.
        ("telefono", HINT_PHONE),
        ("celular", HINT_PHONE),
        ("handynummer", HINT_PHONE),
        # Forms' abbreviations of a mobile's or contact's number, German's word for a
        # mobile, a WhatsApp number.
        ("mob_no", HINT_PHONE),
        ("contactNo", HINT_PHONE),
        ("cell_number", HINT_PHONE),
        ("contact-num", HINT_PHONE),
        ("handy", HINT_PHONE),
        ("whatsapp_number", HINT_PHONE),
        ("maid", HINT_ADVERTISING),
        ("rida", HINT_ADVERTISING),
        ("meid", HINT_DEVICE),
        # CDMA's Mobile Directory Number glued to a carrier's prefix (Reliance's).
        ("_rapmdn", HINT_PHONE),
        ("X-CallingMDN", HINT_PHONE),
    ],
)
def test_names_hint_at_their_values(name: str, hint: str) -> None:
    assert name_hint(hint_key(name, normalize_name(name))).hint == hint


@pytest.mark.parametrize(
    ("name", "words", "hint", "id_like"),
    [
        ("idsDeviceId", "ids-device-id", HINT_DEVICE, False),  # iCloud's, in an iOS HAR
        ("userMobile", "user-mobile", HINT_SUBSCRIBER, False),
        ("appInstanceId", "app-instance-id", HINT_DEVICE, False),
        ("subscriberCount", "subscriber-count", None, True),
        ("orderId", "order-id", None, True),
        ("mobileOs", "mobile-os", None, False),
        ("X-Up-Calling-Line-Id", "x-up-calling-line-id", HINT_PHONE, False),
        ("MSISDN", "msisdn", HINT_PHONE, False),
    ],
)
def test_camel_case_words_are_read_apart_for_the_hint(
    name: str, words: str, hint: str | None, id_like: bool
) -> None:
    assert hint_key(name, normalize_name(name)) == words
    found = name_hint(words)
    assert (found.hint, found.id_like) == (hint, id_like)


@pytest.mark.parametrize(
    ("parent", "key", "judged"),
    [
        # Bugsnag's event payload (device.id: bugsnag-android's Device, a UUID its
        # DeviceIdStore keeps per install) and Segment's common fields (context.device.id).
        ("device", "id", "device.id"),
        ("Device", "ID", "Device.ID"),
        ("device", "uuid", "device.uuid"),
        ("android", "id", "android.id"),
        ("userDevice", "id", "userDevice.id"),
        # Other objects' IDs say whose they are, and none is a device's.
        ("order", "id", "id"),
        ("event", "id", "id"),
        ("session", "id", "id"),
        ("user", "id", "id"),
        ("app", "id", "id"),
        ("referrer", "id", "id"),
        ("ad", "id", "id"),
        ("email", "id", "id"),
        ("phone", "id", "id"),
        # A key that says "number" is judged with its object's, always.
        ("order", "number", "order.number"),
        ("phone", "no", "phone.no"),
        # A key that says what it holds is judged by itself.
        ("user", "email", "email"),
        ("device", "model", "model"),
        ("device", "advertisingId", "advertisingId"),
    ],
)
def test_a_generic_json_key_is_judged_with_its_object_s_key_only_for_a_device(
    parent: str, key: str, judged: str
) -> None:
    assert field_name(parent, key) == judged


def test_the_catalog_key_keeps_a_name_s_spelling() -> None:
    # "ClientID" is looked up as "clientid", the catalog's spelling, not "client-id".
    assert normalize_name("ClientID") == "clientid"
    assert hint_key("ClientID", "clientid") == "client-id"


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


@pytest.mark.parametrize(
    "name",
    [
        "x-foo",
        "referer",
        "x-mobile-gateway",
        "mobile-os",
        "thread",
        "subject",
        "csrf",
        "otp",
        # "em" is the address only as a name's last word; "install" and "em" inside one
        # are other words.
        "em-unit",
        "theme",
        "premium",
        "reinstall-source",
        "mdnx",  # MDN ends a word, never begins one
        "bestellnummer",  # an order's
    ],
)
def test_plain_names_hint_nothing(name: str) -> None:
    hint = name_hint(normalize_name(name))
    assert hint.hint is None and not hint.id_like


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("phone_verification_token", True),
        ("email_code", True),
        ("x-msisdn-signature", True),
        ("verification-number", True),
        ("msisdn", False),
        ("hashed_email", False),
        ("imei_md5", False),
        ("x-line-number", False),
    ],
)
def test_a_code_token_signature_or_key_word_marks_a_hint_secret(name: str, secret: bool) -> None:
    hint = name_hint(normalize_name(name))
    assert hint.hint is not None and hint.secret == secret


@pytest.mark.parametrize(
    ("name", "only_number"),
    [
        ("number", True),
        ("x-line-number", True),
        ("num", True),
        ("verification-number", True),
        ("phone_number", False),
        ("subscriber-number", False),
        ("x-subscriber", False),
    ],
)
def test_a_subscriber_hint_says_when_it_comes_from_number_alone(
    name: str, only_number: bool
) -> None:
    hint = name_hint(normalize_name(name))
    assert hint.hint is not None and hint.only_number == only_number


def test_trailing_name_of_a_url() -> None:
    assert trailing_name("http://example.com/p?msisdn") == "msisdn"
    assert trailing_name("x") == "x"
    assert trailing_name("123") is None


_HINT_WORDS = [
    "imei", "imsi", "msisdn", "phone", "mobileno", "mobile-num", "mobile_number", "calling-line",
    "callingline", "tel", "mdn", "cli", "ani", "subno", "cellphone", "telefon", "telephone",
    "email", "e-mail", "idfa", "gaid", "adid", "aaid", "oaid", "ifa", "advertising-id",
    "advertisingid", "ad-id", "ad_id", "ad.id", "adv-id", "advid", "google-ad-id", "apple-ifa",
    "idfv", "udid", "open-udid", "android-id", "device-id", "deviceid", "dev-id", "device-uuid",
    "hardware-id", "hwid", "serial-number", "subscriber", "caller", "clid", "bearer-address",
    "beareraddress", "sub", "subs", "msid", "bearer", "number", "num", "nr", "nbr", "mobile",
    "ud[em]", "ud[ph]", "udff[em]", "udff[ph]", "user[mobile]", "phones[]",
    "advertising-identifier", "advertisingIdentifier", "identifier-for-vendor",
    "identifierForVendor", "ios-vendor-id", "iosVendorId", "app-instance-id", "appInstanceId",
    "idsDeviceId", "userMobile", "aifa", "andi", "asid", "android_uuid", "ios_uuid",
    "persistent_ios_uuid", "fb_anon_id", "device_fingerprint_id", "advertiser_id",
    "advertisingTrackingId", "rdid", "google_aid", "anon_id", "ifv", "ios_ifv", "install_id",
    "Install-ID", "installation-id", "em", "pd[em]", "u_hem", "telefono", "celular",
    "telemovel", "handynummer", "rufnummer", "mobilnummer", "maid", "rida", "meid",
    "mob-no", "mobno", "cell_num", "contactnumber", "handy", "whatsapp",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(_HINT_WORDS),
    st.sampled_from(["", "x-", "HTTP_X_", "user_", "x.", "My"]),
    st.sampled_from(["", "-v2", "_id", ".x", "Value"]),
    st.sampled_from([str.lower, str.upper, str.title]),
)
def test_every_name_with_a_hint_contains_an_anchor_word(
    word: str, prefix: str, suffix: str, case: Any
) -> None:
    name = prefix + case(word) + suffix
    if name_hint(hint_key(name, normalize_name(name))).hint is not None:
        assert any(anchor in name.lower() for anchor in HINT_ANCHORS), name
        assert could_hint(name), name


@pytest.mark.parametrize("name", ["cell", "cellId", "contact", "mob", "contact_id", "mobile_os"])
def test_a_radio_cell_a_contact_or_a_mobile_flag_alone_says_nothing_of_a_number(
    name: str,
) -> None:
    # A cell ID is a radio cell's, not a phone's; "contact" alone is a person or a page.
    assert name_hint(hint_key(name, normalize_name(name))).hint is None


@pytest.mark.parametrize(
    "name",
    # A phone word beside a word that counts, times or measures: a clock's digits
    # (1704067200) were read as a landline, high.
    ["phone_ts", "phone_verified_at", "X-Tel-Count", "phone_size", "mobile_no_updated_on"],
)
def test_a_phone_word_loses_to_a_word_that_counts_times_or_measures(name: str) -> None:
    assert name_hint(normalize_name(name)).hint is None


@pytest.mark.parametrize("name", ["iphone_udid", "microphoneDeviceId", "headphones", "iphone"])
def test_phone_inside_an_iphone_a_microphone_or_headphones_is_no_phone(name: str) -> None:
    assert name_hint(normalize_name(name)).hint != "phone"


@pytest.mark.parametrize(
    "name",
    ["phone_hash", "userphone", "telephone", "x-at-msisdn", "x-msisdn-at", "phone_on", "cellphone"],
)
def test_a_phone_word_keeps_its_hint_beside_a_digest_s_word_or_glued_to_another(
    name: str,
) -> None:
    assert name_hint(normalize_name(name)).hint == "phone"


@pytest.mark.parametrize(
    "name", ["aff_sub", "aff_sub2", "sub_total", "x-subs-plan", "sub_campaign"]
)
def test_sub_in_an_affiliate_s_a_basket_s_or_a_plan_s_name_is_no_subscriber(name: str) -> None:
    hint = name_hint(normalize_name(name))
    assert hint.hint is None and hint.id_like


@pytest.mark.parametrize(
    "name", ["affiliate_mobile", "campaignMobile", "aff_mobile", "plan.mobile"]
)
def test_mobile_last_after_a_word_that_only_says_sub_is_no_subscriber_is_a_number(
    name: str,
) -> None:
    # The words added to say "sub" is no subscriber (aff_sub, sub_campaign) silenced
    # a valid mobile number under affiliate_mobile.
    hint = name_hint(hint_key(name, normalize_name(name)))
    assert hint.hint == "subscriber" and not hint.id_like


@pytest.mark.parametrize(
    "name",
    [
        *("total_mobile", "count_mobile", "x-mobile-count", "mobile_id", "subtotal_mobile"),
        *("order_mobile", "session_mobile", "token_mobile", "order_id_mobile", "platform.mobile"),
        *("campaign_id_mobile", "cb_mobile"),
    ],
)
def test_mobile_last_after_an_id_or_counting_word_is_no_number(name: str) -> None:
    assert name_hint(normalize_name(name)).hint is None
