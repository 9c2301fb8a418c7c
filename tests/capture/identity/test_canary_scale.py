"""Thousands of canaries: every form of every one is found, and only where it is.

A fleet of test SIMs is thousands of numbers. The matcher must find each form
(plain, national, international, formatted, URL-encoded, base64, hex, digests
in either case) of any of them, among all the others, with the same answers
as for that canary alone, and nothing in ordinary text that merely shares a
group of digits with one of them.
"""

from __future__ import annotations

import base64
import hashlib
import random
from pathlib import Path
from urllib.parse import quote

import pytest

from capture.config import ConfigError, read_canary_file
from capture.identity.canary import CanaryMatcher, imei_canary, msisdn_canary, value_canary

FLEET = [f"+4477009{i:05d}" for i in range(2500)] + [f"+1201555{i:04d}" for i in range(2500)]


@pytest.fixture(scope="module")
def fleet() -> CanaryMatcher:
    return CanaryMatcher(
        [msisdn_canary(v, None) for v in FLEET]
        + [imei_canary("490154203237518"), value_canary("Alice@Example.com")]
    )


def _forms(value: str) -> list[str]:
    raw = value.encode()
    return [
        value,
        quote(value, safe=""),
        base64.b64encode(raw).decode(),
        raw.hex(),
        raw.hex().upper(),
        *(hashlib.new(a, raw).hexdigest() for a in ("md5", "sha1", "sha256")),
        *(hashlib.new(a, raw).hexdigest().upper() for a in ("md5", "sha1", "sha256")),
    ]


@pytest.mark.parametrize("number", [FLEET[0], FLEET[1234], FLEET[2500], FLEET[-1]])
def test_every_form_of_any_number_in_the_fleet_is_found_as_if_alone(
    fleet: CanaryMatcher, number: str
) -> None:
    alone = CanaryMatcher([msisdn_canary(number, None)])
    canary = msisdn_canary(number, None)
    spellings = [plain for plain, _ in canary.spellings]
    for spelling in spellings:
        for form in _forms(spelling):
            text = f"/track?id={form}&v=2"
            hits = fleet.find(text)
            assert [h.canary.canonical for h in hits] == [number], (spelling, form)
            assert [(h.literal, h.description, h.text) for h in hits] == [
                (h.literal, h.description, h.text) for h in alone.find(text)
            ]
            assert fleet.could_match(text)


def test_ordinary_text_sharing_digits_with_the_fleet_is_quiet(fleet: CanaryMatcher) -> None:
    rng = random.Random(7)
    for _ in range(2000):
        # Four-digit groups (every one is a group of some US number in the fleet),
        # years, ports, sizes, and hex of the same lengths as the forms.
        text = " ".join(
            [
                f"{rng.randrange(10000):04d}",
                f"/v{rng.randrange(100)}/items/{rng.randrange(10**5)}",
                f"etag={rng.getrandbits(128):032x}",
                f"t={rng.getrandbits(104):026x}",
                f"555-{rng.randrange(10000):04d}",
            ]
        )
        assert fleet.find(text) == [], text
        assert not fleet.could_match(text), text


def test_mixed_case_hex_is_not_a_form(fleet: CanaryMatcher) -> None:
    digest = hashlib.sha1(FLEET[5].encode()).hexdigest()
    mixed = digest[:20].upper() + digest[20:]
    assert fleet.find(f"h={mixed}") == []


def test_a_value_in_two_canaries_is_found_in_both() -> None:
    matcher = CanaryMatcher([msisdn_canary("+447700900123", None), value_canary("447700900123")])
    text = "x=" + b"447700900123".hex()
    assert [h.canary.label for h in matcher.find(text)] == ["msisdn", "canary"]


def test_a_canary_is_built_once_per_process() -> None:
    assert msisdn_canary("+447700900999", None) is msisdn_canary("+447700900999", "GB")


def test_a_canary_file_lists_values_by_kind(tmp_path: Path) -> None:
    path = tmp_path / "fleet.txt"
    path.write_text(
        "# test SIMs\nmsisdn +447700900123\n\nimei 490154203237518\nIMSI 234150999999999\n"
        "alice@example.com\n07700 900123\n"
    )
    assert read_canary_file(path) == {
        "msisdn": ("+447700900123",),
        "imei": ("490154203237518",),
        "imsi": ("234150999999999",),
        "canary": ("alice@example.com", "07700 900123"),
    }


def test_a_missing_canary_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"--canary-file .*nope\.txt: no such file"):
        read_canary_file(tmp_path / "nope.txt")
