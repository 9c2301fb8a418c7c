"""Recall and precision on held-out data: identities that others labelled, in traffic
that headerwatch's detector was not built from.

``tests/data/heldout``, a folder a source (each folder's README says where it comes
from, under what licence, and how its labels map to headerwatch's kinds):

* ``trackhar-wiki``: values seen in real apps' requests to 37 trackers'
  endpoints (tweaselORG's tracker wiki), under the field TrackHAR reads each from and
  labelled by TrackHAR: advertising, developer-scoped, device and installation IDs
  (``device_id``); user, session and other IDs (``identifier``); and app names,
  versions, models, sizes, languages, carriers... (``none``).
* ``tcf-android``: every endpoint and key under which a 2025 study of Android
  apps found its emulator's advertising ID, with a fresh UUID in its place.
* ``pii-leakage``: every receiver, name and encoding (plain, MD5, SHA-1,
  SHA-256, base64) under which shopping sites sent a 2021 study's e-mail address, with
  a made-up address in the same encoding and shape.
* ``tweasel-recorded``: two apps' recorded traffic (HAR), whole, with TrackHAR's
  labels of each request (``*.labels.json``).
* ``carrier-code``: the headers in which other projects' code (content providers'
  and WAP-billing sites, WAP gateways, MMSCs, operators' header enrichment) reads or
  inserts a subscriber's MSISDN, IMSI or IMEI, and headers the same code reads that
  are no identity, each with a made-up value in the shape that code expects.

Each item of the three web ``items.jsonl`` files becomes one request of a HAR that is
scanned as ``headerwatch scan --region US`` scans a file; the two recorded HARs are
scanned as they are. An item is found when a finding of its kind is reported in its
request; a finding of a kind on an item of another kind, or on a value labelled
``none``, is a false alarm (on an ``identifier`` it is neither). In the recorded HARs
a finding counts by its value: the label whose value it is. The carrier-code items
are scanned likewise, with ``--region`` set to the country of the code each came from
(as a user monitoring a phone of that country would), and counted apart (their total
is ``carrier``): an ``msisdn`` item is found when an ``msisdn`` finding is reported on
it, and a number found must be normalised to the E.164 form the item gives; recall is
reported for header names the catalog has and for those it lacks.

The figures are measured, not targets: the floors below are what the detector scored
when the set was made (5 December 2026), raised with each class of misses mended
(issue 16's classes 4, 6 and 8: an ID in an object named for the device, a prefixed
ID, a page's address carried in a parameter; then names SDKs' own sources and
references give: ``rdid``, ``google_aid``, ``anon_id``, ``ifv``, ``Install-ID``,
``em`` and ``hem``; an address after ``acct:`` or ``mailto:``, then after any ``:``
outside a URL's authority; the set is no longer
held out for those), so that a regression
fails. Issue 16 asks for recall >= 0.98 and precision >= 0.99; on this set precision
meets it and recall does not. The README there lists what is missed, by class, with
examples: an ID under a name the hints lack (``GPID``, ``ads_id``), under an
abbreviation or a vendor's name (``vendor_id``, ``deviceid2``) or under a name that
says nothing (``value``, ``uid``); a value with no name (protobuf, a URL path); a
token too short under a device ID's name; a hashed address under a name that does
not say e-mail; an address inside a value in a shape not opened; and identifiers
with no kind of their own (printed, not held to a floor). The carrier-code floors are
what the detector scored when that set was made (5 December 2026); its misses are
listed there too: a number in a shape not opened (``..._gateway``, ``/TYPE=PLMN``),
under a name that says nothing (``_rapmin``) or a device ID's or IMSI's name, and an
IMSI after ``IMSI``.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import phonenumbers
import pytest

from capture.identity.catalog import load_catalog
from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.identity.names import normalize_name
from capture.model import IDENTITY_KINDS
from capture.scan import scan
from tests.data.heldout.make import carries_no_id, kind_of

DATA = Path(__file__).resolve().parents[2] / "data" / "heldout"
EVALUATION = Path(__file__).with_name("evaluation") / "positives.jsonl"
ITEM_FILES = ("trackhar-wiki/items.jsonl", "tcf-android/items.jsonl", "pii-leakage/items.jsonl")
CARRIER_ITEMS = ("carrier-code/items.jsonl",)
RECORDED = ("tweasel-recorded/reporthar-android.har", "tweasel-recorded/platform-quizduel.har")
KINDS = ("device_id", "email", "tracking_id")
"""The identity kinds the held-out labels name; every other label is ``identifier``
(an identity with no kind of its own) or ``none``."""
CARRIER_KINDS = ("msisdn", "imsi", "imei")
"""The kinds the carrier-code labels name (their totals are ``carrier``, apart from the
web kinds' ``all``); every other label there is ``none``."""
_ANDROID = "Dalvik/2.1.0 (Linux; U; Android 11; sdk_gphone_x86_64 Build/RSR1.210722.013)"
_BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/91.0.4472.77 Safari/537.36"

# What each kind scored (see the module's docstring: when the set was made, raised
# with each class mended): recall, precision. A change that lowers one fails here; one
# that raises it says so, and the floor (and the README) can be raised with it.
FLOORS = {
    "device_id": (0.872, 1.0),
    "email": (0.896, 1.0),
    "tracking_id": (0.373, 1.0),
    "all": (0.826, 1.0),
}
# The carrier-code set's figures (5 December 2026: when it was made, 45 MSISDNs and one
# IMSI, then raised when a mobile number under an IMSI header and Magma's "IMSI"-prefixed
# IMSI were read, classes 4 and 5 of its README, and an MMS address, part of class 1;
# on 7 December, a name ending in "mdn", part of class 2), and the share of the
# numbers found as
# an MSISDN that were normalised to the item's E.164 form.
CARRIER_FLOORS = {
    "msisdn": (0.961, 1.0),
    "imsi": (1.0, 1.0),
    "imei": (1.0, 1.0),
    "carrier": (0.963, 1.0),
}
E164_FLOOR = 1.0


@dataclass(frozen=True, slots=True)
class Item:
    """One labelled value and the request it travelled in."""

    id: str
    method: str
    url: str
    place: str
    """``query``, ``body`` (a form, or JSON where ``name`` is a dotted path), ``json``,
    ``protobuf``, ``header``, ``cookie``, ``referer`` or ``path``."""
    name: str
    value: str
    label: str
    kind: str
    """``device_id``, ``email``, ``tracking_id`` (a digest of an address), ``identifier``
    or ``none``."""
    page: str = ""
    region: str = "US"
    """The region the detector is told (``--region``): the country of a carrier-code
    item's code; the web sets are scanned as ``US``."""
    e164: str = ""
    """The E.164 number a carrier-code item's phone number must be normalised to."""


def items(files: tuple[str, ...] = ITEM_FILES) -> list[Item]:
    """Every item of ``files`` (the web sets' unless told), in file order."""
    found: list[Item] = []
    for name in files:
        with (DATA / name).open(encoding="utf-8") as handle:
            found.extend(Item(**json.loads(line)) for line in handle if line.strip())
    return found


def _nested(segments: list[str], value: str) -> Any:
    """``value`` under the path ``segments`` (``*`` an array), innermost first."""
    node: Any = value
    for segment in reversed(segments):
        node = [node] if segment == "*" else {segment: node}
    return node


def _protobuf(value: str) -> str:
    """``value`` as field 1 of a protobuf message: a length and the bytes, no name."""
    data = value.encode()
    return "\n" + chr(len(data)) + value


def _param(name: str, value: str) -> str:
    return f"{quote(name, safe='[]()%*$!:@,')}={quote(value, safe='')}"


def har_entry(item: Item) -> dict[str, Any]:
    """The HAR entry of ``item``'s request: the item's value in its place, under its
    name, with the headers an app (or, for the e-mail set, a browser) sends."""
    agent = _BROWSER if item.id.startswith("pl") else _ANDROID
    headers = [
        {"name": "Host", "value": urlsplit(item.url).netloc},
        {"name": "User-Agent", "value": agent},
        {"name": "Accept", "value": "*/*"},
    ]
    url, body, mime = item.url, "", ""
    segments = item.name.split(".")
    if item.place == "query":
        value = item.value
        if len(segments) > 1:
            value = json.dumps(_nested(segments[1:], item.value))
        url = f"{item.url}?{_param(segments[0], value)}"
    elif item.place in ("body", "json") and (item.place == "json" or len(segments) > 1):
        body, mime = json.dumps(_nested(segments, item.value)), "application/json"
    elif item.place == "body":
        body, mime = _param(item.name, item.value), "application/x-www-form-urlencoded"
    elif item.place == "protobuf":
        body, mime = _protobuf(item.value), "application/x-protobuf"
    elif item.place == "header":
        headers.append({"name": item.name, "value": item.value})
    elif item.place == "cookie":
        headers.append({"name": "Cookie", "value": f"{item.name}={item.value}"})
    elif item.place == "referer":
        referer = f"{item.page}?{_param(item.name, item.value)}"
        headers.append({"name": "Referer", "value": referer})
    elif item.place == "path":
        url = f"{item.url.rstrip('/')}/{item.value}"
    else:
        raise ValueError(item.place)
    request: dict[str, Any] = {
        "method": item.method,
        "url": url,
        "httpVersion": "HTTP/1.1",
        "headers": headers,
        "queryString": [],
        "cookies": [],
        "headersSize": -1,
        "bodySize": len(body.encode()),
    }
    if body:
        request["headers"].append({"name": "Content-Type", "value": mime})
        request["postData"] = {"mimeType": mime, "text": body}
    return {
        "startedDateTime": "2026-12-05T00:00:00.000Z",
        "time": 0,
        "request": request,
        "response": {
            "status": 200,
            "statusText": "OK",
            "httpVersion": "HTTP/1.1",
            "headers": [],
            "content": {"size": 0, "mimeType": ""},
        },
        "timings": {"send": 0, "wait": 0, "receive": 0},
    }


def write_har(path: Path, batch: list[Item]) -> None:
    """Write ``batch`` to ``path`` as one HAR, an entry an item, in order."""
    log = {
        "version": "1.2",
        "creator": {"name": "heldout", "version": "1"},
        "entries": [har_entry(i) for i in batch],
    }
    path.write_text(json.dumps({"log": log}), "utf-8")


def scan_har(path: Path, region: str = "US") -> list[dict[str, Any]]:
    """The records ``headerwatch scan --region REGION`` writes for ``path``, one a
    request."""
    out, err = io.StringIO(), io.StringIO()
    detector = IdentityDetector(IdentityConfig(region=region))
    code = scan([str(path)], "jsonl", detector, out=out, err=err, jobs=1)
    assert code == 0, err.getvalue()
    return [json.loads(line) for line in out.getvalue().splitlines()]


def _identities(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The identity findings of a scanned record (not the informational ones)."""
    return [f for f in record["findings"] if f["kind"] in IDENTITY_KINDS]


@dataclass(slots=True)
class Tally:
    """Items of one kind (or all) and what the detector made of them."""

    items: int = 0
    found: int = 0
    false_alarms: int = 0
    misses: list[str] = field(default_factory=list)
    alarms: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.found / self.items if self.items else 1.0

    @property
    def precision(self) -> float:
        reported = self.found + self.false_alarms
        return self.found / reported if reported else 1.0


@dataclass(frozen=True, slots=True)
class Scores:
    """The held-out figures: per kind, for ``identifier`` items (found as any
    identity), and for the ``none`` items (how many drew a false alarm)."""

    kinds: dict[str, Tally]
    identifiers: Tally
    negatives: Tally
    by_source: dict[str, Counter[str]]
    unlabelled: tuple[str, ...]
    """Identity findings in the recorded HARs on a value TrackHAR did not label."""


def _names_seen() -> frozenset[str]:
    """The names of the evaluation set's positives (written alongside the detector)."""
    with EVALUATION.open(encoding="utf-8") as handle:
        return frozenset(normalize_name(json.loads(line)["name"]) for line in handle)


def _tally(
    scores: dict[str, Tally],
    kind: str,
    found: list[dict[str, Any]],
    label: str,
    identifiers: Tally,
    negatives: Tally,
    counted: tuple[str, ...] = KINDS,
    total: str = "all",
) -> bool:
    """Count one labelled value and the identity findings on it, under ``counted``
    kinds and their ``total``; whether it was found."""
    if kind == "identifier":
        identifiers.items += 1
        if found:
            identifiers.found += 1
        else:
            identifiers.misses.append(label)
        return bool(found)
    hit = kind in counted and any(f["kind"] == kind for f in found)
    if kind in counted:
        scores[kind].items += 1
        scores[total].items += 1
        if hit:
            scores[kind].found += 1
            scores[total].found += 1
        else:
            scores[kind].misses.append(f"{label}: {[f['kind'] for f in found]}")
    else:
        negatives.items += 1
    wrong = {f["kind"] for f in found if f["kind"] != kind}
    for other in wrong:
        tally = scores.setdefault(other, Tally())
        tally.false_alarms += 1
        tally.alarms.append(label)
    if wrong:
        scores[total].false_alarms += 1
        scores[total].alarms.append(label)
        if kind == "none":
            negatives.false_alarms += 1
    return hit


def scores(tmp: Path) -> Scores:
    """Scan the items (as one HAR) and the recorded HARs, and count."""
    kinds = {kind: Tally() for kind in (*KINDS, "all")}
    identifiers, negatives = Tally(), Tally()
    by_source: dict[str, Counter[str]] = {}
    every = items()
    har = tmp / "heldout.har"
    write_har(har, every)
    records = scan_har(har)
    assert len(records) == len(every)
    seen_names = _names_seen()
    for item, record in zip(every, records, strict=True):
        assert record["uri"].split("?")[0].startswith(item.url.split("?")[0]), item.id
        label = f"{item.id} {item.place} {item.name}={item.value[:60]} ({item.label})"
        hit = _tally(kinds, item.kind, _identities(record), label, identifiers, negatives)
        source = by_source.setdefault(item.id.rstrip("0123456789"), Counter())
        if item.kind in KINDS:
            seen = normalize_name(item.name.split(".")[-1]) in seen_names
            source[f"{item.kind} {'seen' if seen else 'unseen'} items"] += 1
            source[f"{item.kind} {'seen' if seen else 'unseen'} found"] += hit
    unlabelled: list[str] = []
    for name in RECORDED:
        _recorded(name, kinds, identifiers, negatives, unlabelled, by_source)
    return Scores(kinds, identifiers, negatives, by_source, tuple(unlabelled))


@dataclass(frozen=True, slots=True)
class CarrierScores:
    """The carrier-code figures: per kind and in all (``carrier``), the ``none``
    items, recall by whether the catalog has the header's name, and E.164."""

    kinds: dict[str, Tally]
    negatives: Tally
    by_name: Counter[str]
    """``KIND seen|unseen items`` and ``... found``: seen when the catalog has the
    header's name (normalised as it looks names up)."""
    phones: int
    """Items with a determinable number on which an ``msisdn`` finding was reported."""
    normalised: int
    wrong_numbers: tuple[str, ...]

    @property
    def e164_rate(self) -> float:
        return self.normalised / self.phones if self.phones else 1.0


def carrier_scores(tmp: Path) -> CarrierScores:
    """Scan the carrier-code items, one HAR a region (each told its region), and count."""
    every = items(CARRIER_ITEMS)
    kinds = {kind: Tally() for kind in (*CARRIER_KINDS, "carrier")}
    negatives, unused = Tally(), Tally()
    by_name: Counter[str] = Counter()
    catalog = load_catalog()
    phones = normalised = 0
    wrong: list[str] = []
    for region in sorted({i.region for i in every}):
        batch = [i for i in every if i.region == region]
        har = tmp / f"carrier-{region}.har"
        write_har(har, batch)
        records = scan_har(har, region)
        assert len(records) == len(batch), region
        for item, record in zip(batch, records, strict=True):
            found = _identities(record)
            label = f"{item.id} {item.name}: {item.value} --region {region} ({item.label})"
            hit = _tally(
                kinds, item.kind, found, label, unused, negatives, CARRIER_KINDS, "carrier"
            )
            if item.kind in CARRIER_KINDS:
                seen = "seen" if catalog.lookup(normalize_name(item.name)) else "unseen"
                by_name[f"{item.kind} {seen} items"] += 1
                by_name[f"{item.kind} {seen} found"] += hit
            numbers = [f["normalized"] for f in found if f["kind"] == "msisdn"]
            if item.e164 and numbers:
                phones += 1
                if all(n == item.e164 for n in numbers):
                    normalised += 1
                else:
                    wrong.append(f"{label}: {numbers}, not {item.e164}")
    return CarrierScores(kinds, negatives, by_name, phones, normalised, tuple(wrong))


def _recorded(
    name: str,
    kinds: dict[str, Tally],
    identifiers: Tally,
    negatives: Tally,
    unlabelled: list[str],
    by_source: dict[str, Counter[str]],
) -> None:
    """Count a recorded HAR against TrackHAR's labels of its requests, value by value."""
    labels = json.loads((DATA / name.replace(".har", ".labels.json")).read_text("utf-8"))
    counts = by_source.setdefault(name, Counter())
    records = scan_har(DATA / name)
    assert len(records) == len(labels)
    for index, (record, request_labels) in enumerate(zip(records, labels, strict=True)):
        found = _identities(record)
        matched: set[int] = set()
        values: dict[str, str] = {}
        for label in request_labels or ():
            text = (
                json.dumps(label["value"])
                if not isinstance(label["value"], str)
                else label["value"]
            )
            kind = kind_of(label["property"])
            if kind != "none" and carries_no_id(text):
                continue
            # One value labelled twice (an ID that is both device and user ID): its
            # most specific kind.
            if values.get(text) in KINDS:
                continue
            values[text] = kind
        for text, kind in values.items():
            on_it = [n for n, f in enumerate(found) if _same_value(f["value"], text)]
            matched.update(on_it)
            where = f"{name}#{index + 1} {text[:60]} ({kind})"
            hit = _tally(kinds, kind, [found[n] for n in on_it], where, identifiers, negatives)
            if kind in KINDS:
                counts[f"{kind} items"] += 1
                counts[f"{kind} found"] += hit
        unlabelled.extend(
            f"{name}#{index + 1} {f['name']}={f['value'][:60]} ({f['kind']})"
            for n, f in enumerate(found)
            if n not in matched
        )


def _same_value(reported: str, labelled: str) -> bool:
    """Whether a finding's value is the labelled value (or holds it, or is held in it:
    TrackHAR labels the decoded value, the finding the part that carries it)."""
    a, b = reported.strip().lower(), labelled.strip().lower()
    return a == b or (min(len(a), len(b)) >= 8 and (a in b or b in a))


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> Scores:
    return scores(tmp_path_factory.mktemp("heldout"))


@pytest.fixture(scope="module")
def carrier(tmp_path_factory: pytest.TempPathFactory) -> CarrierScores:
    return carrier_scores(tmp_path_factory.mktemp("carrier"))


def test_the_held_out_set_is_there_with_its_provenance() -> None:
    overview = (DATA / "README.md").read_text(encoding="utf-8")
    for name in (*ITEM_FILES, *CARRIER_ITEMS, *RECORDED):
        path = DATA / name
        assert f"`{path.parent.name}/`" in overview, name
        readme = (path.parent / "README.md").read_text(encoding="utf-8")
        assert f"`{path.name}`" in readme and "Licence" in readme, name
    every = items()
    assert len(every) >= 1000
    assert {i.kind for i in every} == {*KINDS, "identifier", "none"}
    assert len({i.id for i in every}) == len(every)
    carrier = items(CARRIER_ITEMS)
    assert {i.kind for i in carrier} == {*CARRIER_KINDS, "none"}
    assert {i.place for i in carrier} == {"header"}
    assert len({i.id for i in carrier}) == len(carrier)


def test_every_carrier_number_is_a_valid_number_of_its_region() -> None:
    numbers = [i for i in items(CARRIER_ITEMS) if i.e164]
    assert numbers
    for item in numbers:
        number = phonenumbers.parse(item.e164)
        assert phonenumbers.is_valid_number(number), item.id
        assert phonenumbers.region_code_for_number(number) == item.region, item.id


def test_every_item_becomes_a_request_that_carries_its_value() -> None:
    for item in (*items(), *items(CARRIER_ITEMS)):
        request = har_entry(item)["request"]
        parts = [request["url"], request.get("postData", {}).get("text", "")]
        text = " ".join(parts + [h["value"] for h in request["headers"]])
        spellings = (item.value, quote(item.value, safe=""), json.dumps(item.value)[1:-1])
        assert any(spelling in text for spelling in spellings), item.id


@pytest.mark.parametrize("kind", [*KINDS, "all"])
def test_recall_and_precision_stay_at_what_was_measured(kind: str, result: Scores) -> None:
    tally = result.kinds[kind]
    recall, precision = FLOORS[kind]
    assert tally.recall >= recall, "\n".join(tally.misses)
    assert tally.precision >= precision, "\n".join(tally.alarms)


@pytest.mark.parametrize("kind", [*CARRIER_KINDS, "carrier"])
def test_carrier_recall_and_precision_stay_at_what_was_measured(
    kind: str, carrier: CarrierScores
) -> None:
    tally = carrier.kinds[kind]
    recall, precision = CARRIER_FLOORS[kind]
    assert tally.recall >= recall, "\n".join(tally.misses)
    assert tally.precision >= precision, "\n".join(tally.alarms)


def test_carrier_numbers_found_are_normalised_as_often_as_measured(
    carrier: CarrierScores,
) -> None:
    assert carrier.e164_rate >= E164_FLOOR, "\n".join(carrier.wrong_numbers)


def _print_tallies(tallies: dict[str, Tally]) -> None:
    for kind, tally in tallies.items():
        print(
            f"  {kind:10} {tally.items:5} items, {tally.found:5} found: recall "
            f"{tally.recall:.3f}; {tally.false_alarms} false alarms: precision "
            f"{tally.precision:.3f}"
        )


def print_report(result: Scores, carrier: CarrierScores) -> None:
    """The figures, for the README and the closing note: ``python -m
    tests.capture.identity.test_heldout`` (the tests above hold the targets)."""
    print("\nheld-out set:")
    _print_tallies(result.kinds)
    ids, neg = result.identifiers, result.negatives
    print(f"  identifier {ids.items:5} items, {ids.found} reported as an identity")
    print(f"  none       {neg.items:5} items, {neg.false_alarms} with a false alarm")
    for source, counts in result.by_source.items():
        print(f"  {source}: {dict(sorted(counts.items()))}")
    print(f"  unlabelled findings in the recorded HARs: {len(result.unlabelled)}")
    for line in result.unlabelled:
        print(f"    {line}")
    print("carrier-code set:")
    _print_tallies(carrier.kinds)
    neg = carrier.negatives
    print(f"  none       {neg.items:5} items, {neg.false_alarms} with a false alarm")
    print(f"  by name in the catalog: {dict(sorted(carrier.by_name.items()))}")
    print(f"  E.164: {carrier.normalised} of {carrier.phones} numbers found")
    misses = [m for kind in CARRIER_KINDS for m in carrier.kinds[kind].misses]
    for line in (*misses, *neg.alarms, *carrier.wrong_numbers):
        print(f"    {line}")


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "heldout").mkdir()
        (Path(folder) / "carrier").mkdir()
        print_report(scores(Path(folder) / "heldout"), carrier_scores(Path(folder) / "carrier"))
