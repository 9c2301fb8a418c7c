"""Equipment and SIM identities: IMEI / IMEISV (handset) and IMSI (SIM card).

An IMEI is 14 digits (8-digit Type Allocation Code, 6-digit serial) plus a Luhn
check digit; an IMEISV replaces the check digit with a 2-digit software version.
An IMSI is up to 15 digits starting with a Mobile Country Code (``mcc.toml``,
data) and a 2- or 3-digit network code.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from capture.identity.bundled import bundled_toml

# First two digits of every TAC: the GSMA Reporting Body Identifiers (GSMA TS.06
# Appendix A, as tabulated in Wikipedia's "Reporting Body Identifier" article),
# current and retired, without the 00 and 02-09 test ranges. Used only to make an
# *unnamed* 15-digit value more likely to be an IMEI.
_REPORTING_BODIES = frozenset(
    {
        "01",
        "10",
        "30",
        "33",
        "35",
        "44",
        "45",
        "49",
        "50",
        "51",
        "52",
        "53",
        "54",
        "86",
        "91",
        "98",
        "99",
    }
)


def luhn_ok(digits: str) -> bool:
    """True when the Luhn check digit (the last digit) of ``digits`` is right."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


@dataclass(frozen=True, slots=True)
class DeviceMatch:
    """An IMEI, IMEISV or IMSI found in a value."""

    kind: str
    """``imei`` or ``imsi`` (an IMEISV is an ``imei``)."""
    digits: str
    """The normalised identity: digits only."""
    detail: str


def _digits_of(text: str) -> str | None:
    # IMEIs are often written AA-BBBBBB-CCCCCC-D or with spaces; nothing else is allowed.
    stripped = text.strip().replace("-", "").replace(" ", "").replace("/", "")
    return stripped if stripped.isdigit() else None


def parse_imei(text: str, named: bool) -> DeviceMatch | None:
    """An IMEI or IMEISV in ``text``, or ``None``.

    ``named`` says the field's name calls it an IMEI: then 14 digits (no check
    digit) and 16 digits (IMEISV) are accepted too. Unnamed, only a 15-digit
    Luhn-valid number whose TAC starts with a known reporting body counts.
    """
    digits = _digits_of(text)
    if digits is None:
        return None
    tac = digits[:8]
    if len(digits) == 15 and luhn_ok(digits):
        if named or digits[:2] in _REPORTING_BODIES:
            return DeviceMatch("imei", digits, f"IMEI · TAC {tac} · Luhn ok")
        return None
    if not named:
        return None
    if len(digits) == 16:
        return DeviceMatch("imei", digits, f"IMEISV · TAC {tac} · SV {digits[14:]}")
    if len(digits) == 14:
        return DeviceMatch("imei", digits, f"IMEI without check digit · TAC {tac}")
    if len(digits) == 15:
        return DeviceMatch("imei", digits, f"IMEI · TAC {tac} · Luhn check fails")
    return None


@lru_cache(maxsize=1)
def mcc_regions() -> dict[str, str]:
    """Mobile Country Code -> region (from the bundled ``mcc.toml``)."""
    table = bundled_toml("capture.identity", "mcc.toml")["mcc"]
    return {str(code): str(region) for code, region in table.items()}


def parse_imsi(text: str) -> DeviceMatch | None:
    """An IMSI (14-15 digits with a known Mobile Country Code) in ``text``, or ``None``."""
    digits = text.strip()
    if not digits.isdigit() or not 14 <= len(digits) <= 15:
        return None
    region = mcc_regions().get(digits[:3])
    if region is None:
        return None
    return DeviceMatch("imsi", digits, f"IMSI · MCC {digits[:3]} ({region}) · MNC {digits[3:5]}")


@lru_cache(maxsize=1)
def mcc_mnc_prefixes() -> frozenset[str]:
    """Every MCC followed by one of its Mobile Network Codes (``23415``, ``310150``),
    from the ``[mnc]`` table of the bundled ``mcc.toml``."""
    table = bundled_toml("capture.identity", "mcc.toml")["mnc"]
    return frozenset(str(mcc) + mnc for mcc, mncs in table.items() for mnc in str(mncs).split())


def imsi_by_structure(digits: str) -> DeviceMatch | None:
    """An IMSI proved by its structure alone, for a value whose name says nothing:
    exactly 15 digits (3GPP TS 23.003 allows fewer, but 15 is what real SIMs carry,
    and every shorter length lets more counters through) starting with an MCC and
    one of that MCC's MNCs (2 or 3 digits, the ``[mnc]`` table of ``mcc.toml``).
    Random digits pass about 2 times in 100, so callers first keep out names that
    mean a counter, clock, size or ID; ``None`` when it is not IMSI-shaped."""
    if len(digits) != 15 or not digits.isdigit():
        return None
    prefixes = mcc_mnc_prefixes()
    # A 3-digit MNC first: the table lists some North American networks under both
    # "15" and "150", and 310 150 is the network that IMSIs of that MCC carry.
    if digits[:6] in prefixes:
        mnc = digits[3:6]
    elif digits[:5] in prefixes:
        mnc = digits[3:5]
    else:
        return None
    region = mcc_regions().get(digits[:3], "region not listed")
    return DeviceMatch(
        "imsi", digits, f"IMSI · MCC {digits[:3]} ({region}) · MNC {mnc} (a listed network)"
    )
