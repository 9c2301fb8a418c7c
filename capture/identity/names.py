"""What a header, cookie or parameter *name* says about its value.

Gateways and apps spell the same name many ways: ``X-MSISDN`` on the wire,
``HTTP_X_MSISDN`` in CGI and PHP, ``x.msisdn`` in some proxies. Every name is
reduced to one key (lower case, ``-`` for ``_`` and ``.``, no CGI ``http-``
prefix) before it is looked up. The name also hints at what its value holds
(``user_phone`` holds a phone number, ``idfa`` an advertising ID) and whether a
bare number in it is almost surely *not* a phone number (``request-id``,
``timestamp``): the value detectors use both hints. Names are classified with one
compiled alternation (one pass over the name, not one search per word list): real
ad and analytics traffic sends thousands of distinct parameter names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from capture.identity.caching import short_keys_cached

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def hint_key(name: str, key: str) -> str:
    """What :func:`name_hint` reads of ``name`` (whose :func:`normalize_name` is
    ``key``): its words, camelCase ones apart too. JSON keys are written so
    (``idsDeviceId``, ``userMobile``), and "device-id" or "mobile" as a whole word
    says more than inside one. The catalog is looked up by ``key``, as spelled."""
    if _CAMEL.search(name) is None:
        return key
    return normalize_name(_CAMEL.sub("-", name))


def normalize_name(name: str) -> str:
    """The lookup key of a name: ``HTTP_X_MSISDN``, ``x.msisdn``, ``X-Msisdn`` give
    ``x-msisdn``; a nested form name, ``user[mobile]``, gives ``user-mobile``."""
    # Two replace() calls, not str.translate with a table: translate looks every
    # character up in the table, a third of the cost of building a detector's catalog
    # (300 names, 8k instructions each; 2.5k this way).
    key = name.strip().lower().replace("_", "-").replace(".", "-")
    if "[" in key:
        # A form's nested name, PHP's and Rails' way: "user[mobile]", "phones[]".
        key = key.replace("[", "-").replace("]", "").rstrip("-")
    if key.startswith("http-") and len(key) > 5:
        # CGI/PHP spelling ($_SERVER['HTTP_X_MSISDN']); no real header starts with "http-".
        key = key[5:]
    return key


# What the value of a name probably holds, in order of precedence: when a name has
# several hints ("x-subscriber-imsi"), the most specific identifier wins.
HINT_IMEI = "imei"
HINT_IMSI = "imsi"
HINT_PHONE = "phone"
HINT_EMAIL = "email"
HINT_DEVICE = "device"
HINT_ADVERTISING = "advertising"
HINT_SUBSCRIBER = "subscriber"
"""A subscriber, caller or line (``x-carrier-sub``, ``callerid``, ``clid``,
``x-ztgo-beareraddress``): a phone-shaped value is a phone number, an IMSI-shaped
one an IMSI, but the name alone does not promise either."""

# Words that, in a name, make a bare digit string a counter, clock, size or opaque ID
# rather than a phone number. Only *bare digits* are suppressed under such names: a
# "+E.164" or "tel:" value is still reported.
_ID_WORDS = (
    "uid|uuid|guid|trace|traceid|span|spanid|request|req|session|sess|sid|"
    "time|timestamp|ts|date|epoch|ms|expires|expiry|age|ttl|nonce|seq|sequence|counter|count|"
    "version|ver|build|rev|revision|length|len|size|bytes|range|offset|etag|token|key|hash|"
    "sig|signature|checksum|crc|port|cb|cachebuster|rand|random|rnd|order|invoice|txn|"
    "transaction|isbn|ean|upc|sku|product|item|page|score|price|amount|lat|lon|lng|"
    "account|acct|card|ticket|tracking|ref|reference|confirmation|booking|policy|zip|postcode|"
    # Numbers of things a page or an app counts or addresses, not of a subscriber's line.
    "seat|street|house|room|flight|po|apt|apartment|suite|floor|gate|platform|"
    # An affiliate network's sub-IDs (HasOffers' aff_sub..aff_sub5, TUNE's), a basket's
    # sub_total, a subscription's plan, a campaign's: "sub" there is no subscriber.
    "aff|affiliate|total|subtotal|plan|campaign"
)
# Of those, the words there only to say "sub" is no subscriber: they do not silence a
# name's last word "mobile" (_mobile_last).
_NOT_SUB_WORDS = frozenset({"aff", "affiliate", "plan", "campaign"})
# Of those, the words that say a value counts, times or measures something: as a
# name's last word they outweigh even its phone word (phone_ts, x-tel-count: a clock's
# digits, read as a landline; not x-ms-msisdn, port_msisdn), where a digest, token or
# key word does not (phone_hash is the number hashed); so does "at" or "on" after a
# participle, a time's name (Rails' and Laravel's created_at, phone_verified_at,
# updated_on; not x-msisdn-at).
_COUNT_WORDS = frozenset(
    {
        *("time", "timestamp", "ts", "date", "epoch", "ms", "expires", "expiry", "age", "ttl"),
        *("seq", "sequence", "counter", "count", "version", "build", "rev", "revision"),
        *("length", "len", "size", "bytes", "range", "offset", "port", "cb", "cachebuster"),
        *("rand", "random", "rnd", "price", "amount", "score", "page", "lat", "lon", "lng"),
        "total",
    }
)
# The words of things numbered, an order's, an invoice's, a ticket's.
_NUMBERED_WORDS = frozenset(
    {
        *("order", "invoice", "txn", "transaction", "ticket", "booking", "confirmation"),
        *("product", "sku", "item", "isbn", "ean", "upc", "seat", "flight", "policy"),
        *("account", "acct", "card", "zip", "postcode", "street", "house", "room"),
    }
)
# Under a name with any of these, digits are never an identity, bare or wrapped
# (NameHint.counts).
_COUNTING = _COUNT_WORDS | _NUMBERED_WORDS
# The hints, each a named group; "<" and ">" mark where a match must be a whole token
# (a "-"-separated word of the normalised name).
_HINT_PARTS = (
    ("imei", "imei"),
    ("imsi", "imsi"),
    (
        "phone",
        # "phone" inside a word too (userphone, phonenumber); see _NOT_PHONES.
        "msisdn|phone|mobile-?(?:no|num|number)|calling-?line|"
        "<tel|[a-z]*mdn|cli|ani|subno|cellphone|telefon|telephone|ud-?ph|udff-?ph|"
        # The number in other languages' forms (Spanish, Italian, Portuguese, German).
        "telefono|celular|telemovel|handynummer|rufnummer|mobilnummer|handy|whatsapp>|"
        # A mobile's, cell's or contact's number, abbreviated as forms write them
        # (mob_no, cell_num, contactNo): "cell" alone is also a radio cell's ID.
        "<(?:mob|cell|contact)-?(?:no|num|number)>",
    ),
    # MDN, the Mobile Directory Number of CDMA networks, ends a word of its own in
    # carriers' glued names too (Reliance's _rapmdn, "x-callingmdn"); no English word
    # ends so.
    # Meta's advanced matching sends the visitor's e-mail address and phone number
    # SHA-256-hashed as ud[em] and ud[ph] (udff[...] before hashing is done). "em" as a
    # name's last word is the address (hashed) in the conversion APIs' user data
    # (Pinterest's user_data.em, "Sha256 hashes of lowercase version of user's email
    # addresses"; Meta's user_data.em), "hem" the hashed e-mail of ad-tech ID modules
    # (an ad tag's audience.hem.sha256, handed to ID5 as its hashed e-mail).
    ("email", "e-?mail|<ud-?em|udff-?em>|<em|hem>$"),
    # Facebook's SDK sends the IDFA or Android advertising ID as advertiser_id (Graph
    # API reference, Application Activities: "Apple's Advertising Identifier (IDFA) or
    # Google Android's advertising ID"; facebook-android-sdk's getAndroidAdvertiserId()),
    # and Unity Ads as advertisingTrackingId (its SDKs' init query parameters; older
    # ones the ID's MD5 there, the ID itself as rawAdvertisingTrackingId). Google Ad
    # Manager's rdid ("a resettable device identifier": the advertising ID, passed on ad
    # requests made without its SDK), and google_aid, under which ByteDance's app-log
    # SDK sends what AdvertisingIdClient returns (AppMetrica's install exports too).
    (
        "advertising",
        "<idfa|gaid|adid|aaid|oaid|ifa|aifa|advertising-?id(?:entifier)?|ad-?id|adv-?id|"
        "google-?ad-?id|apple-?ifa|advertiser-?id|advertising-?tracking-?id|rdid|"
        "google-?aid|maid|rida>",
    ),
    # maid: the mobile advertising ID (IAB's and ad exchanges' name for the IDFA or
    # GAID); rida: Roku's ID for advertising (its SDK's); meid: CDMA's equipment ID
    # (3GPP2 S.R0048), the IMEI of CDMA handsets.
    # Apple's names for the IDFA and IDFV (ASIdentifierManager.advertisingIdentifier,
    # UIDevice.identifierForVendor) and Branch's ios_vendor_id, as apps send them;
    # Firebase's app_instance_id, the ID of one install. From tweaselORG/TrackHAR's
    # adapters (what each tracker's SDK sends, and what it is): Singular's aifa (the
    # Android advertising ID), andi (the Android ID) and asid (the app set ID);
    # Adjust's android_uuid, ios_uuid and persistent_ios_uuid and Facebook's
    # fb_anon_id (an install's IDs); Branch's device_fingerprint_id. Facebook's own
    # anon_id (Graph API, Application Activities: "the ID of a person who has installed
    # the app anonymously", "XZ" and a UUID kept per install by its SDKs); AppMetrica's
    # ifv (its iOS SDK's kAMAIFVKey, the IDFV beside ifa); App Center's Install-ID header
    # (its SDKs' "installation identifier HTTP header") and OpenTelemetry's
    # app.installation.id ("the installation of an application on a specific device").
    (
        "device",
        "<idfv|udid|open-?udid|android-?id|device-?id|deviceid|dev-?id|device-?uuid|"
        "hardware-?id|hwid|serial-?number|identifier-?for-?vendor|ios-?vendor-?id|"
        "app-?instance-?id|andi|asid|android-?uuid|ios-?uuid|device-?fingerprint-?id|"
        "fb-?anon-?id|anon-?id|ifv|ios-?ifv|install-?id|installation-?id|meid>",
    ),
    # "mobile" as a name's last word is the mobile number ("mobile", "user_mobile",
    # "contact.mobile"); as any other word it qualifies the next ("x-mobile-gateway").
    ("subscriber", "subscriber|caller|clid|bearer-?address|<sub|subs|msid|bearer>|<mobile>$"),
)
_NUMBER_WORDS = "number|num|nr|nbr"
# Words that make a digest under an identifier's name something other than that
# identifier hashed: a one-time code, a signature, a key (``phone_verification_token``).
_SECRET_WORDS = "otp|code|verification|verify|csrf|xsrf|secret|salt|challenge|password|passwd|pwd"
# The same among _ID_WORDS, which match first.
_SECRET_ID_WORDS = frozenset(
    {"token", "nonce", "sig", "signature", "key", "session", "sess", "request", "req", "trace"}
)


def _whole_tokens(pattern: str) -> str:
    # The lookarounds match without consuming the "-", so that neighbouring tokens are
    # all seen in one pass.
    return pattern.replace("<", "(?<![^-])(?:").replace(">", ")(?![^-])")


# One compiled alternation classifies a name in one pass over it: each alternative is a
# named group, and :func:`name_hint` keeps the highest-precedence group that matched.
_CLASSIFY = re.compile(
    "|".join(
        [f"(?P<{group}>{_whole_tokens(pattern)})" for group, pattern in _HINT_PARTS]
        + [
            "(?P<idword>" + _whole_tokens("<id|ids|no|[a-z]+id>") + ")",
            "(?P<idlike>" + _whole_tokens("<" + _ID_WORDS + ">") + ")",
            "(?P<number>" + _whole_tokens("<" + _NUMBER_WORDS + ">") + ")",
            # A time's name: a participle and "at" or "on" last (verified_at, updated_on).
            "(?P<clock>(?<=ed-)(?:at|on)$)",
            "(?P<secret>" + _whole_tokens("<" + _SECRET_WORDS + ">") + ")",
        ]
    )
)


# The same words anywhere in a name as sent (any case, "-", "_" or "." or nothing
# between words): a superset of the names that get a hint, tested with one search
# before a name is classified at all. Ad and analytics traffic sends tens of thousands
# of one-off names (tag managers add random suffixes); almost none of them has any of
# these words, and those are passed over without normalising or classifying them.
# Compiled on first use: the detector tests HINT_ANCHORS instead, and this pattern
# alone was a sixth of the regex compiling at start-up.
@cache
def _could_hint() -> re.Pattern[str]:
    return re.compile(
        "|".join(
            [
                pattern.replace("<", "(?:")
                .replace(">", ")")
                .replace("-?", r"[-_.\[]?")
                .replace("$", "")
                for _, pattern in _HINT_PARTS
            ]
            + [_NUMBER_WORDS]
        ),
        re.IGNORECASE,
    )


HINT_ANCHORS = (
    "ud",
    "imei",
    "imsi",
    "msisdn",
    "phone",
    "mobile",
    "calling",
    "tel",
    "mdn",
    "cli",
    "ani",
    "sub",
    "mail",
    "idfa",
    "gaid",
    "adid",
    "aaid",
    "oaid",
    "ifa",
    "advert",
    "ad-id",
    "ad_id",
    "ad.id",
    "adv",
    "idfv",
    "udid",
    "android",
    "dev",
    "hardware",
    "hwid",
    "serial",
    "vendor",
    "instance",
    "andi",
    "asid",
    "uuid",
    "anon",
    "rdid",
    "google",
    "ifv",
    "install",
    "em",
    "caller",
    "bearer",
    "msid",
    "num",
    "nr",
    "nbr",
    "celular",
    "telemovel",
    "nummer",
    "maid",
    "rida",
    "meid",
    "handy",
    "whatsapp",
    "mob",
    "cell",
    "contact",
)
"""Lower-case words of which every name that gets a hint contains one, in any
spelling: a cheap test (``in``) that a name may have a hint. Checked against the
hint patterns by the tests."""


def could_hint(name: str) -> bool:
    """False when :func:`name_hint` of ``name`` (in any spelling) is sure to have no hint."""
    return _could_hint().search(name) is not None


_PRECEDENCE = (
    HINT_IMEI,
    HINT_IMSI,
    HINT_PHONE,
    HINT_EMAIL,
    HINT_ADVERTISING,
    HINT_DEVICE,
    HINT_SUBSCRIBER,
)


@dataclass(frozen=True, slots=True)
class NameHint:
    """What a name says about its value."""

    hint: str | None
    """One of the ``HINT_*`` constants, or ``None`` when the name says nothing."""
    id_like: bool
    """True when a bare number under this name is a counter, clock or opaque ID."""
    secret: bool = False
    """True when the name also says code, token, signature, key or secret
    (``phone_verification_token``): a digest under it is not its identifier hashed."""
    counts: bool = False
    """True when a word says the value counts, times, measures or numbers a thing (an
    order, an invoice, a ticket: ``order_id``, ``x-timestamp``, ``size``): digits there,
    bare or wrapped in hex or base64, are never an identity. Other ID words (``uid``,
    ``token``, ``session``) keep wrapped digits readable: an app may send its user's
    number base64-encoded as the user's ID."""
    only_number: bool = False
    """True for a subscriber hint that comes from "number" (or "num", "nr") and no
    other word (``number``, ``x-line-number``): such a name says less of whose number
    it is than ``subscriber`` or ``caller`` does (an invoice's, a ticket's)."""


_NOTHING = NameHint(None, False)
_ID_LIKE = NameHint(None, True)
_COUNTING_ID = NameHint(None, True, counts=True)
_HINTS = {hint: NameHint(hint, False) for hint in _PRECEDENCE}
_SECRET_HINTS = {hint: NameHint(hint, False, True) for hint in _PRECEDENCE}
_NUMBER_ONLY = NameHint(HINT_SUBSCRIBER, False, only_number=True)
_SECRET_NUMBER_ONLY = NameHint(HINT_SUBSCRIBER, False, True, only_number=True)


# Words with "phone" inside that name no phone number: an iPhone's, a microphone's,
# headphones' (iphone_udid, microphoneDeviceId: a WebRTC device's ID hashed, once read
# as a phone number hashed). Spelled so that the phone pattern passes them over.
_NOT_PHONES = re.compile("(?:(?<![a-z])i|micro|head|ear)phone")


def name_hint(key: str) -> NameHint:
    """Classify a normalised name (see :func:`normalize_name`) in one regex pass.

    A subscriber word loses to a counter, clock or size word (``x-subscriber-count``
    is a count), not to a bare "id" (``x-subscriber-id`` may well hold the number); a
    phone word only to a word that counts, times or measures (``phone_ts``,
    ``phone_verified_at``; not ``phone_hash``, the number hashed);
    "number" alone (``x-line-number``) hints at a subscriber only when no ID-like
    word is there too: ``order-number`` and ``build-number`` stay quiet. A word
    ending in "id" (``orderid``, ``userid``) is an ID. A code, token, signature, key
    or secret word marks the hint :attr:`~NameHint.secret`.
    """
    if "phone" in key:
        key = _NOT_PHONES.sub(lambda word: word.group()[:-5] + "fone", key)
    matches = [(match.lastgroup, match.group()) for match in _CLASSIFY.finditer(key)]
    found = {group for group, _ in matches}
    if found:
        hints = (
            _SECRET_HINTS
            if "secret" in found
            or any(group == "idlike" and word in _SECRET_ID_WORDS for group, word in matches)
            else _HINTS
        )
        # Only as the name's last word, after what it counts (phone_ts, x-tel-count):
        # x-ms-msisdn, port_msisdn and cb_phone are a number's names.
        last = key.rpartition("-")[2]
        counted = "clock" in found or last in _COUNT_WORDS
        for hint in _PRECEDENCE:
            if hint in found and not (
                (hint == HINT_SUBSCRIBER and "idlike" in found and not _mobile_last(last, matches))
                or (hint == HINT_PHONE and counted)
            ):
                return hints[hint]
        if "idlike" in found or "idword" in found or counted:
            if counted or any(
                # orderid, ticketid: a glued "id" after what it numbers
                word in _COUNTING or (group == "idword" and word[:-2] in _COUNTING)
                for group, word in matches
                if group in ("idlike", "idword")
            ):
                return _COUNTING_ID
            return _ID_LIKE
        if "number" in found:
            # "number" with nothing to say it counts
            return _SECRET_NUMBER_ONLY if hints is _SECRET_HINTS else _NUMBER_ONLY
    # One-letter names ("_", "t", "v") are cache-busters and versions in practice.
    return _ID_LIKE if len(key.strip("-")) <= 1 else _NOTHING


def _mobile_last(last: str, matches: list[tuple[str | None, str]]) -> bool:
    """Whether a name ends in "mobile" and its only ID words are those there to say
    that "sub" is no subscriber (affiliate_mobile, campaign_mobile: a number, as
    before those words were ID words); any other keeps it quiet (order_mobile,
    session_mobile, order_id_mobile, total_mobile)."""
    return last == "mobile" and all(
        group != "idword" and (group != "idlike" or word in _NOT_SUB_WORDS)
        for group, word in matches
    )


# Field names that say only "an ID", not whose: in a JSON object, the object's own key
# says whose (Bugsnag's event payload sends the device's ID as device.id, a UUID kept
# per install by bugsnag-android's DeviceIdStore; Segment's common fields send it as
# context.device.id).
GENERIC_FIELDS = frozenset({"id", "uuid"})

NUMBER_FIELDS = frozenset(_NUMBER_WORDS.split("|")) | {"no"}
"""Keys that say "number" and nothing of whose: a field under one is judged with its
object's key (``order.number`` is an order's, ``phone.number`` a phone's)."""


def field_name(parent: str, key: str) -> str:
    """The name a JSON field ``key`` of the object under ``parent`` is judged by: its
    own key, or where that is generic (:data:`GENERIC_FIELDS`) and with the object's
    key it names a device ID (``device.id``, ``android.id``), both. Only a device:
    ``order.id``, ``event.id``, ``session.id`` and ``user.id`` stay the IDs they say
    (no identity kind), and ``ad.id`` is an ad's, not the advertising ID. A key that
    says "number" (:data:`NUMBER_FIELDS`) is judged with its object's key always:
    ``order.number``, ``invoice.number``, ``account.number`` are the IDs they say, as
    ``order_number`` is, and ``phone.number`` a phone's."""
    lowered = key.lower()
    if lowered in NUMBER_FIELDS and parent:
        return f"{parent}.{key}"
    if lowered not in GENERIC_FIELDS:
        return key
    return _device_path(parent, key)


# Keys are a document's, chosen by whoever sends it: bounded in number and length.
@short_keys_cached(4096, 256)
def _device_path(parent: str, key: str) -> str:
    path = f"{parent}.{key}"
    hint = name_hint(hint_key(path, normalize_name(path))).hint
    return path if hint == HINT_DEVICE else key


@cache  # compiled on first use: only values holding key=value pairs need it
def _trailing_name() -> re.Pattern[str]:
    return re.compile(r"([A-Za-z][\w.-]{0,63})$")


def trailing_name(text: str) -> str | None:
    """The parameter name at the end of ``text`` (``http://x/?msisdn`` gives ``msisdn``).

    Used when a ``key=value`` pair is found inside a longer value (a Referer URL,
    an enrichment header carrying several fields).
    """
    match = _trailing_name().search(text)
    return match.group(1) if match else None
