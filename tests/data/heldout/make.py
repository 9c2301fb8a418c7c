"""Write this folder's held-out identity set from other projects' labelled data.

Nothing here was written for headerwatch or read while its detector was built
(each source's folder has a README: what the source is, its licence, and what was
kept). Each source becomes one ``items.jsonl`` in its folder: one labelled value a
line, with the request it travelled in (method, URL, where in the request, under
what name); recorded traffic, a trimmed HAR and its labels. The test builds
each item's request, writes them all as one HAR and scans it as ``headerwatch scan``
does (``tests/capture/identity/test_heldout.py``).

    python tests/data/heldout/make.py trackhar-wiki ADAPTER_EXAMPLES.json TRACKHAR_PATHS.json
    python tests/data/heldout/make.py tcf STAGE_1.csv STAGE_2.csv
    python tests/data/heldout/make.py pii-leakage PII_LEAKAGE_202105.csv
    python tests/data/heldout/make.py har ORIGINAL.har NAME.har LABELS.json
    python tests/data/heldout/make.py carrier-code

``TRACKHAR_PATHS.json`` (with ``trackhar-endpoints.json`` beside it) and
``LABELS.json`` come from TrackHAR itself (npm ``trackhar@1.0.0``, CC0); the README
gives the lines of Node that write them. ``carrier-code`` reads its own table,
``carrier-code/lines.tsv``: the lines of other projects' code, transcribed by hand, that
read or insert a carrier's identity header (the README there says where each is);
every value is made up here.
Sampling is deterministic: the same inputs give the same files.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import re
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import phonenumbers

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from tests.data.real.make import trim_har  # noqa: E402

# TrackHAR's properties (trackhar@1.0.0, i18n/en.json) as headerwatch's kinds.
# "identifier": an identifier headerwatch has no kind of its own for (a user, session
# or tracker-scoped ID): found when any identity kind reports it, and no false alarm
# when one does. "none": not an identity; any identity reported on it is a false alarm.
DEVICE_PROPERTIES = frozenset(
    {"advertisingId", "hashedAdvertisingId", "developerScopedId", "deviceId", "installationId"}
)
IDENTIFIER_PROPERTIES = frozenset(
    {"userId", "sessionId", "otherIdentifiers", "pushNotificationToken", "deviceName"}
)

# Endpoints TrackHAR gives only as a pattern: one URL each that the pattern matches.
_ENDPOINTS = {
    "adcolony/configure": "https://androidads4-7.adcolony.com/configure",
    "adjust/body": "https://app.adjust.com/session",
    "adjust/qs": "https://app.adjust.com/attribution",
    "branch-io/v1": "https://api2.branch.io/v1/install",
    "facebook/adnw-sync2": "https://www.facebook.com/adnw_sync2",
    "facebook/graph": "https://graph.facebook.com/v16.0",
    "facebook/graph-activities-json": "https://graph.facebook.com/v16.0/123456789/activities",
    "facebook/graph-activities-qs": "https://graph.facebook.com/v16.0/123456789/activities",
    "vungle/api-new": "https://api.vungle.com/api/v5/new",
}
# Values per field kept of the tracker wiki: every identity field has few, and the
# fields of app names, versions and sizes thousands.
_PER_IDENTITY_FIELD = 12
_PER_OTHER_FIELD = 5
# A tracker's word for "no ID" (vungle.invalid.IFA, null): no identity to find.
_NO_ID = re.compile(r"invalid|unknown|null|undefined|none|limited", re.IGNORECASE)


def kind_of(prop: str) -> str:
    """headerwatch's kind for a TrackHAR property."""
    if prop in DEVICE_PROPERTIES:
        return "device_id"
    if prop in IDENTIFIER_PROPERTIES:
        return "identifier"
    return "none"


def carries_no_id(value: str) -> bool:
    """A value under an identifier's name that identifies nothing: shorter than four
    characters ("0", "-1"), one character repeated (the zeroed advertising ID), or a
    tracker's word for none. Such items are kept out of the set."""
    bare = value.replace("-", "")
    return len(value) < 4 or len(set(bare)) <= 1 or _NO_ID.search(value) is not None


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    return None


def _sample(values: list[str], count: int) -> list[str]:
    """``count`` of ``values``, chosen by their SHA-256 (the order of the source's
    database says nothing)."""
    unique = sorted(set(values), key=lambda v: hashlib.sha256(v.encode()).hexdigest())
    return sorted(unique[:count])


def _field_path(path: str) -> str:
    """TrackHAR's JSONPath filter for MoPub's ``udid`` field, as the field's name."""
    match = re.match(r'\$\[\?\(@property === "(\w+)"', path)
    return match.group(1) if match else path


def trackhar_wiki(examples: Path, paths: Path) -> Iterator[dict[str, Any]]:
    """Items of the tracker wiki's examples: values seen in real apps' requests, under
    the field TrackHAR's adapter reads them from, labelled with its property."""
    spelled = json.loads(paths.read_text(encoding="utf-8"))
    endpoints = json.loads((paths.parent / "trackhar-endpoints.json").read_text("utf-8"))
    for key, values in json.loads(examples.read_text(encoding="utf-8")).items():
        tracker, adapter, _old, context, path = key.split("/", 4)
        slug = f"{tracker}/{adapter}"
        current = spelled[f"{slug}/{context}/{path}"]
        prop = current["property"]
        kind = kind_of(prop)
        if context == "path":
            continue  # OneSignal's URL path itself, labelled an identifier: no value.
        strings = [s for s in map(_scalar, values) if s is not None]
        if kind != "none":
            strings = [s for s in strings if not carries_no_id(s)]
        count = _PER_OTHER_FIELD if kind == "none" else _PER_IDENTITY_FIELD
        url = _ENDPOINTS.get(slug) or next(u for u in endpoints[slug] if isinstance(u, str))
        name = _field_path(current["path"])
        place = context
        if context == "body" and all(p.isdigit() or p == "*" for p in name.split(".")):
            place = "protobuf"  # Field numbers: the SDK sent protobuf, with no names.
        for value in _sample(strings, count):
            yield {
                "method": "GET" if context == "query" else "POST",
                "url": url,
                "place": place,
                "name": name,
                "value": value,
                "label": prop,
                "kind": kind,
            }


def _fresh_uuid(seed: str) -> str:
    """A UUID of the advertising ID's shape (version 4), the same for the same seed."""
    digest = bytearray(hashlib.sha256(seed.encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x40
    digest[8] = (digest[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(digest)))


def tcf(*stages: Path) -> Iterator[dict[str, Any]]:
    """Items of the TCF study's traffic analysis: each (endpoint, method, place, key)
    where the study found its emulator's advertising ID, with a fresh UUID in its place
    (the repository has no licence: only the names are kept)."""
    pattern = re.compile(r"^(GET|POST|PATCH) from (URL|payload): (.*):[^:]*$")
    seen: set[tuple[str, ...]] = set()
    for stage in stages:
        with stage.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                if row["PD"] != "AAID":
                    continue  # The study's public IP: replaced by a word in its data.
                match = pattern.match(row["Request"])
                if match is None:
                    raise ValueError(row["Request"])
                method, where, key = match.groups()
                parts = urlsplit(row["URL"])
                url = f"{parts.scheme}://{parts.netloc}{parts.path}"
                place = "query" if where == "URL" else "body"
                name = key.rstrip("\\").lstrip("#")
                if "?" in name:
                    # "/config?gaid": the study's key with the URL's path before it.
                    name = name.rsplit("?", 1)[1]
                    place = "query"
                if name.startswith("/"):
                    place = "path"  # The ID is a segment of the URL's path.
                elif name.startswith("c=42|"):
                    name = "c"  # A pipe-joined device profile in one parameter, c=.
                elif name in ("", "Improper request-key (length/encoding)"):
                    name, place = "", "protobuf" if where == "payload" else place
                elif name == "no_key_found (protobuf)":
                    name, place = "", "protobuf"
                item = (method, url, place, name)
                if item in seen:
                    continue
                seen.add(item)
                yield {
                    "method": method,
                    "url": url,
                    "place": place,
                    "name": name,
                    "value": _fresh_uuid("|".join(item)),
                    "label": "AAID",
                    "kind": "device_id",
                }


_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def synthetic_address(index: int) -> str:
    """The made-up address that stands in for the study's ``index``-th."""
    return f"quiet.heron{417 + index}@example.com"


def _spellings(email: str) -> dict[str, str]:
    """The encodings the PII-leakage study names (``encoding_form``), of ``email``."""
    md5 = hashlib.md5(email.encode()).hexdigest()
    sha1 = hashlib.sha1(email.encode()).hexdigest()
    sha256 = hashlib.sha256(email.encode()).hexdigest()
    return {
        "plaintext": email,
        "md5": md5,
        "sha1": sha1,
        "sha256": sha256,
        "base64": base64.b64encode(email.encode()).decode(),
        "sha256ofmd5": hashlib.sha256(md5.encode()).hexdigest(),
    }


_CONTEXT = 12
"""Characters kept either side of an address sent inside a longer value: the
tracker's own delimiters and prefix (``okta:acct:``, ``_uid_``, ``m=[``)."""


class Shape:
    """How a value carried the address: whole, inside a longer string (``before`` and
    ``after`` are the characters kept about it), as a query parameter of a page's URL
    (``inner``), or as a field of base64-wrapped JSON (``inner``)."""

    def __init__(
        self,
        name: str,
        sent: str,
        *,
        before: str = "",
        after: str = "",
        inner: str = "",
        wrap: str = "whole",
    ) -> None:
        self.name, self.sent, self.before, self.after = name, sent, before, after
        self.inner, self.wrap = inner, wrap

    def value(self, spelling: str, page: str) -> str:
        """The value with ``spelling`` standing in for the address."""
        if self.wrap == "url":
            return f"{page}?{self.inner}={spelling}"
        if self.wrap == "base64json":
            return base64.b64encode(json.dumps({self.inner: spelling}).encode()).decode()
        return f"{self.before}{spelling}{self.after}"


def _find(container: str, spelling: str) -> Shape | None:
    """Where ``container`` (a query, form or cookie string, or JSON) carries
    ``spelling`` (case aside): under which name (a dotted path into JSON where a
    parameter holds JSON), and in what shape."""
    container = container.strip()
    if container.startswith(("{", "[")):
        try:
            return _in_json(json.loads(container), spelling, "")
        except ValueError:
            return None
    pairs = [p.split("=", 1) for p in re.split(r"[&;]\s*", container) if "=" in p]
    for name, raw in pairs:
        name = name.strip()
        value = unquote(unquote(raw.replace("+", " ")))
        shape = _in_value(name, value, spelling)
        if shape is not None:
            return shape
    return None


def _in_value(name: str, value: str, spelling: str) -> Shape | None:
    lowered, wanted = value.lower(), spelling.lower()
    if lowered == wanted:
        return Shape(name, value)
    if value.strip().startswith(("{", "[")):
        try:
            return _in_json(json.loads(value), spelling, name)
        except ValueError:
            pass
    if lowered.startswith("http") and "?" in value:
        for inner, inner_value in parse_qsl(urlsplit(value).query):
            if inner_value.lower() == wanted:
                return Shape(name, inner_value, inner=inner, wrap="url")
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True).decode()
        found = _in_json(json.loads(decoded), spelling, "")
    except ValueError:
        found = None
    if found is not None and found.wrap == "whole" and not found.before + found.after:
        return Shape(name, found.sent, inner=found.name.rsplit(".", 1)[-1], wrap="base64json")
    at = lowered.find(wanted)
    if at < 0:
        return None
    return Shape(
        name,
        value[at : at + len(spelling)],
        before=value[max(0, at - _CONTEXT) : at],
        after=value[at + len(spelling) : at + len(spelling) + _CONTEXT],
    )


def _in_json(node: Any, spelling: str, prefix: str) -> Shape | None:
    if isinstance(node, dict):
        items = list(node.items())
    elif isinstance(node, list):
        items = [("*", v) for v in node]
    else:
        return _in_value(prefix, node, spelling) if isinstance(node, str) else None
    for key, value in items:
        found = _in_json(value, spelling, f"{prefix}.{key}" if prefix else str(key))
        if found is not None:
            return found
    return None


def pii_leakage(table: Path) -> Iterator[dict[str, Any]]:
    """Items of the PII-leakage study: each (receiver, method, place, name, encoding)
    under which a shopping site sent the study's e-mail address, with a made-up address
    in the same encoding (the repository has no licence: only the names are kept)."""
    seen: set[tuple[str, ...]] = set()
    with table.open(encoding="utf-8", newline="") as handle:
        # The table writes every "%" of a request twice ("%%3A"), in each column.
        rows = [{k: v.replace("%%", "%") for k, v in row.items()} for row in csv.DictReader(handle)]
    originals = _addresses(rows)
    for row in rows:
        parts = urlsplit(row["url"])
        places = {
            "query": parts.query,
            "body": row["payload_body"],
            "cookie": row["cookie"],
            "referer": urlsplit(row["referer"]).query,
        }
        hit = None
        for index, original in enumerate(originals):
            for form, spelling in _spellings(original).items():
                for place, container in places.items():
                    shape = _find(container, spelling)
                    if shape is not None:
                        hit = (place, shape, form, index)
                        break
                if hit:
                    break
            if hit:
                break
        if hit is None:
            continue  # Spelt in none of the study's encodings: counted in the README.
        place, shape, form, index = hit
        synthetic = _spellings(synthetic_address(index))[form]
        if shape.sent.isupper():
            synthetic = synthetic.upper()
        page = f"https://www.{row['1st_domain']}/"
        body_json = place == "body" and row["payload_body"].lstrip().startswith(("{", "["))
        item = (
            row["http_method"],
            f"{parts.scheme}://{parts.netloc}{parts.path}",
            "json" if body_json else place,
            shape.name,
            form,
            shape.wrap,
        )
        if item in seen:
            continue
        seen.add(item)
        yield {
            "method": row["http_method"],
            "url": item[1],
            "place": item[2],
            "name": shape.name,
            "value": shape.value(synthetic, page),
            "label": f"{row['pii_type']} ({form})",
            # A digest of the address is no address: headerwatch reports it, under a
            # name that says e-mail, as a tracking_id (detector hashed-name).
            "kind": "email" if form in ("plaintext", "base64") else "tracking_id",
            # The page whose address carried it, for a Referer.
            **({"page": page} if place == "referer" else {}),
        }


def _addresses(rows: list[dict[str, str]]) -> list[str]:
    """The study's own addresses, read off its table (they are not kept): those sent
    whole, as a parameter's value, in two rows or more, the most often sent first."""
    counts: dict[str, int] = {}
    for row in rows:
        if row["encoding_form"].startswith("plaintext"):
            text = unquote(unquote(row["url"])) + " " + row["payload_body"]
            for address in set(_ADDRESS.findall(text)):
                counts[address.lower()] = counts.get(address.lower(), 0) + 1
    return sorted((a for a, n in counts.items() if n >= 2), key=lambda a: (-counts[a], a))


# Carrier-code items: made-up values in the shape each transcribed line expects. A
# mobile number is a libphonenumber example of the region's mobile numbers with its
# last digits replaced (from the SHA-256 of the line) until libphonenumber calls it a
# valid mobile number; an IMSI, a real operator's MCC and MNC and made-up digits.
_IMSI_PLMN = {"GB": "23410", "DE": "26201"}
"""Operators of the IMSIs: O2 UK (234 10) and Telekom Deutschland (262 01)."""
_MOBILE_TYPES = frozenset(
    {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
)
"""libphonenumber cannot tell a US mobile number from a landline: both are the latter."""


def _digits(seed: str, count: int) -> str:
    """``count`` decimal digits from the SHA-256 of ``seed``."""
    digest = hashlib.sha256(seed.encode()).hexdigest()
    return "".join(str(int(c, 16) % 10) for c in digest)[:count]


def _mobile(region: str, seed: str) -> tuple[int, str]:
    """A valid mobile number of ``region``: its country code and national number."""
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    national = phonenumbers.national_significant_number(example)
    keep = 3 if len(national) > 8 else 2
    for attempt in range(1000):
        candidate = national[:keep] + _digits(f"{seed}#{attempt}", len(national) - keep)
        number = phonenumbers.parse(f"+{example.country_code}{candidate}")
        if (
            phonenumbers.is_valid_number(number)
            and phonenumbers.number_type(number) in _MOBILE_TYPES
            and "555" not in candidate[3:6]  # NANP's 555 exchange is for fiction.
        ):
            return example.country_code, candidate
    raise ValueError(f"no valid mobile number for {region}")


def _luhn(digits: str) -> str:
    """``digits`` and their Luhn check digit (an IMEI's last digit)."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return digits + str((10 - total % 10) % 10)


def _carrier_value(shape: str, region: str, seed: str) -> tuple[str, str]:
    """The made-up value of ``shape`` and, for a phone number, its E.164 form."""
    if shape.startswith("literal:"):
        return shape.removeprefix("literal:"), ""
    ip = "10." + ".".join(str(1 + int(_digits(f"{seed}/ip{n}", 3)) % 254) for n in range(3))
    if shape == "ipv4":
        return ip, ""
    if shape == "guid":
        return _fresh_uuid(seed).upper(), ""
    if shape in ("imsi", "imsi-prefixed"):
        imsi = _IMSI_PLMN[region] + _digits(seed, 10)
        return ("IMSI" + imsi if shape == "imsi-prefixed" else imsi), ""
    if shape == "imei":
        return _luhn("35" + _digits(seed, 12)), ""
    code, national = _mobile(region, seed)
    intl = f"{code}{national}"
    value = {
        "intl": intl,
        "plus": f"+{intl}",
        "national": national,
        "intl-ip": f"{intl}, {ip}",
        "netinfo": f"GPRS,{intl},{ip}",
        "netinfo-national": f"GPRS,{national},{ip}",
        "gateway": f"{intl}_gateway",
        "plmn": f"+{intl}/TYPE=PLMN",
    }[shape]
    return value, f"+{intl}"


def carrier_code(table: Path) -> Iterator[dict[str, Any]]:
    """Items of the carrier-code table: each transcribed line's header, with a made-up
    value in the shape that code reads or writes, sent to a site of the repository's
    name; ``region`` is the code's country (a scan is told it, as a user would be),
    ``e164`` the number a phone number must be normalised to."""
    with table.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            seed = "|".join((row["repo"], row["path"], row["line"], row["header"]))
            value, e164 = _carrier_value(row["shape"], row["region"], seed)
            host = row["repo"].lower().replace("/", ".").replace("_", "-")
            yield {
                "method": "GET",
                "url": f"http://{host}.example/",
                "place": "header",
                "name": row["header"],
                "value": value,
                "label": f"{row['code']} ({row['repo']} {row['path']}:{row['line']})",
                "kind": row["kind"],
                "region": row["region"],
                "e164": e164,
            }


def _write(items: Iterator[dict[str, Any]], folder: Path, prefix: str) -> int:
    lines = [
        json.dumps({"id": f"{prefix}{n:05d}", **item}, ensure_ascii=False)
        for n, item in enumerate(items, 1)
    ]
    (folder / "items.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)


def main(argv: list[str]) -> None:
    """Write one source's items (or a trimmed HAR and its labels), as the docstring says."""
    command, *args = argv
    if command == "trackhar-wiki":
        count = _write(trackhar_wiki(Path(args[0]), Path(args[1])), HERE / "trackhar-wiki", "tw")
    elif command == "tcf":
        count = _write(tcf(*map(Path, args)), HERE / "tcf-android", "tcf")
    elif command == "pii-leakage":
        count = _write(pii_leakage(Path(args[0])), HERE / "pii-leakage", "pl")
    elif command == "carrier-code":
        folder = HERE / "carrier-code"
        count = _write(carrier_code(folder / "lines.tsv"), folder, "cc")
    elif command == "har":
        trim_har(Path(args[0]), HERE / "tweasel-recorded" / args[1])
        labels = json.loads(Path(args[2]).read_text(encoding="utf-8"))
        target = HERE / "tweasel-recorded" / args[1].replace(".har", ".labels.json")
        target.write_text(json.dumps(labels, indent=1, ensure_ascii=False) + "\n", "utf-8")
        count = len(labels)
    else:
        raise SystemExit(__doc__)
    print(f"{count} items")


if __name__ == "__main__":
    main(sys.argv[1:])
