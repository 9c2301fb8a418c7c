"""End to end through a real carrier proxy: squid intercepting port 80 in the carrier lab.

The lab (``scripts/carrier-lab.sh``, via :mod:`tests.carrier_lab`) puts squid in
intercept mode between a phone namespace and a server running ``headerwatch
reflect`` on ports 80 and 8080. squid adds this run's identity header to
everything on port 80 and strips ``Accept``; port 8080 is routed untouched.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.carrier_lab import (
    CarrierLab,
    lab_script,
    lab_settings,
    make_carrier_lab,
    require_carrier_lab,
)

pytestmark = pytest.mark.netns


@pytest.fixture(scope="module")
def lab() -> Iterator[CarrierLab]:
    """One carrier lab for the module, with this run's header and number."""
    yield from make_carrier_lab()


def identity_findings(findings: list[dict[str, Any]], lab: CarrierLab) -> list[dict[str, Any]]:
    """The findings of the lab's injected header with its number, normalised to E.164."""
    return [
        f
        for f in findings
        if f["name"].lower() == lab.inject_name
        and f["value"] == lab.inject_value
        and f["normalized"] == lab.e164
        and f["kind"] == "msisdn"
    ]


def names(pairs: list[list[str]]) -> set[str]:
    """The header names of ``[[name, value, ...], ...]``, lower-cased."""
    return {pair[0].lower() for pair in pairs}


def reflected(lab: CarrierLab, port: int, uri: str, timeout: float = 10.0) -> dict[str, Any]:
    """The reflector's printed record of the request for ``uri`` (waits for it)."""
    out = lab.state_dir / f"reflect-{port}.out"
    deadline = time.monotonic() + timeout
    while True:
        for line in out.read_text().splitlines():
            record = json.loads(line)
            if record["uri"] == uri:
                return dict(record)
        if time.monotonic() > deadline:
            raise AssertionError(f"no record of {uri} in {out}:\n{out.read_text()}")
        time.sleep(0.1)


# -- probe ------------------------------------------------------------------------------


def test_probe_through_squid_exits_1_with_the_injected_number_in_its_jsonl(
    lab: CarrierLab,
) -> None:
    result = lab.headerwatch(
        lab.phone_ns, "probe", "--format", "jsonl", "--fail-on-identity", lab.url()
    )
    assert result.returncode == 1, result.stderr
    record = json.loads(result.stdout)
    assert [lab.inject_name, lab.inject_value] in record["injected"]
    assert identity_findings(record["findings"], lab), record["findings"]


def test_probe_jsonl_names_the_header_squid_stripped_as_removed(lab: CarrierLab) -> None:
    result = lab.headerwatch(lab.phone_ns, "probe", "--format", "jsonl", lab.url())
    record = json.loads(result.stdout)
    assert lab.strip.lower() in names(record["removed"]), record
    assert lab.strip.lower() not in names(record["received"])


def test_probe_table_shows_the_number_and_names_the_stripped_header(lab: CarrierLab) -> None:
    result = lab.headerwatch(lab.phone_ns, "probe", "--fail-on-identity", lab.url())
    assert result.returncode == 1, result.stderr
    assert f"{lab.inject_name}: {lab.inject_value}" in result.stdout
    assert lab.e164 in result.stdout
    removed = re.compile(rf"^\s*(-|removed:?)\s*{re.escape(lab.strip)}\b", re.I | re.M)
    assert removed.search(result.stdout), result.stdout


def test_probe_of_the_port_squid_does_not_intercept_is_clean_and_exits_0(lab: CarrierLab) -> None:
    result = lab.headerwatch(
        lab.phone_ns, "probe", "--format", "jsonl", "--fail-on-identity", lab.url(port=8080)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    record = json.loads(result.stdout)
    assert record["findings"] == []
    assert record["injected"] == [] and record["removed"] == []


# -- the reflector and squid themselves --------------------------------------------------


def test_the_reflector_prints_the_injected_header_with_its_identity_finding(
    lab: CarrierLab,
) -> None:
    uri = f"/reflect-{secrets.token_hex(4)}"
    curl = lab.run(lab.phone_ns, "curl", "-sS", "-o", "/dev/null", lab.url(uri))
    assert curl.returncode == 0, curl.stderr
    record = reflected(lab, 80, uri)
    assert [lab.inject_name, lab.inject_value] in record["headers"]
    assert lab.strip.lower() not in names(record["headers"])
    assert identity_findings(record["findings"], lab), record["findings"]


def test_the_reflector_on_the_clean_port_sees_the_phone_itself_and_no_identity(
    lab: CarrierLab,
) -> None:
    uri = f"/clean-{secrets.token_hex(4)}"
    curl = lab.run(lab.phone_ns, "curl", "-sS", "-o", "/dev/null", lab.url(uri, port=8080))
    assert curl.returncode == 0, curl.stderr
    record = reflected(lab, 8080, uri)
    assert record["src"] == lab.phone_ip  # routed, not proxied
    assert record["findings"] == []
    assert lab.strip.lower() in names(record["headers"])


def test_squid_intercepts_port_80_and_forwards_to_the_original_destination(
    lab: CarrierLab,
) -> None:
    uri = f"/intercepted-{secrets.token_hex(4)}"
    lab.run(lab.phone_ns, "curl", "-sS", "-o", "/dev/null", lab.url(uri))
    assert reflected(lab, 80, uri)["src"] == lab.carrier_server_ip  # squid's own connection
    log = (lab.state_dir / "squid" / "access.log").read_text()
    line = next(x for x in log.splitlines() if uri in x)
    assert lab.phone_ip in line and f"ORIGINAL_DST/{lab.server_ip}" in line


# -- the script ------------------------------------------------------------------------


def test_down_after_a_failed_up_leaves_no_namespace_and_can_be_repeated(tmp_path: Path) -> None:
    require_carrier_lab()
    settings = lab_settings(HEADERWATCH=tmp_path / "no-such-headerwatch")
    up = lab_script("up", settings)
    assert up.returncode != 0
    assert "reflect did not start" in up.stderr and "cleaning up" in up.stderr
    prefix = settings["HW_LAB_PREFIX"]
    namespaces = lab_script("status", settings)
    assert namespaces.returncode == 3, namespaces.stdout
    for role in ("phone", "carrier", "server"):
        assert f"{prefix}-{role}: absent" in namespaces.stdout
    assert not Path(settings["HW_LAB_STATE"]).exists()
    for _ in range(2):
        down = lab_script("down", settings)
        assert down.returncode == 0, down.stderr
