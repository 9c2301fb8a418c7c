"""The detector on real recorded traffic: every finding read by hand.

``tests/data/real`` holds public captures and HARs of real browsing and of a real
Android app (with their provenance in its README): news sites with dozens of ad and
analytics partners, a carrier's own site, an app with two ad SDKs. Each identity
the scan reports there is in ``findings.jsonl`` with the reason it is one; a
finding that is not there is a false alarm, and one that went away is a miss. The
false alarms these files showed (an HTTP/2 ``:path``'s cache buster read as an
Egyptian mobile, a cookie's ``key@value`` as an e-mail address, an analytics
``clientId`` as Sprint's subscriber ID, a User-Agent's words as a written number, a
page's URL, an app's package name, and a streaming app's session ID sent to its
CDN's servers by address as supercookies) are mended, and stay so here.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path

import pytest

from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.scan import scan

DATA = Path(__file__).resolve().parents[2] / "data" / "real"
EXPECTED = DATA / "findings.jsonl"
FILES = sorted(p.name for p in DATA.iterdir() if p.suffix in (".har", ".pcap"))
INFORMATIONAL = {"network_info", "client_ip", "device_profile"}


def _expected() -> list[dict[str, object]]:
    with EXPECTED.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _found(name: str) -> Counter[tuple[str, str, str, str, str]]:
    """(name, where, kind, detector, value) of every identity finding of a scan of
    ``name``, as ``headerwatch scan --recurrence 3`` makes it, and how many requests
    carry each."""
    out, err = io.StringIO(), io.StringIO()
    detector = IdentityDetector(IdentityConfig(region="US", recurrence=3))
    code = scan([str(DATA / name)], "jsonl", detector, only_identity=True, out=out, err=err, jobs=1)
    assert code == 0, err.getvalue()
    found: Counter[tuple[str, str, str, str, str]] = Counter()
    for line in out.getvalue().splitlines():
        for f in json.loads(line)["findings"]:
            if f["kind"] not in INFORMATIONAL:
                found[(f["name"], f["where"], f["kind"], f["detector"], f["value"])] += 1
    return found


def test_the_real_traffic_is_there_with_its_provenance() -> None:
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    assert len(FILES) >= 10
    for name in FILES:
        assert f"`{name}`" in readme, name
    assert {row["file"] for row in _expected()} <= set(FILES)


@pytest.mark.parametrize("name", FILES)
def test_every_identity_in_real_traffic_is_one_read_by_hand(name: str) -> None:
    expected = Counter(
        {
            (r["name"], r["where"], r["kind"], r["detector"], r["value"]): r["requests"]
            for r in _expected()
            if r["file"] == name
        }
    )
    assert _found(name) == expected


def test_every_expected_finding_says_why_it_is_an_identity() -> None:
    for row in _expected():
        assert isinstance(row["verdict"], str) and len(row["verdict"]) > 20, row
