"""End to end through a real carrier proxy: squid intercepting port 80 in the carrier lab.

The lab (``scripts/carrier-lab.sh``, via :mod:`tests.carrier_lab`) puts squid in
intercept mode between a phone namespace and a server running ``headerwatch
reflect`` on ports 80 and 8080. squid adds this run's identity header to
everything on port 80 and strips ``Accept``; port 8080 is routed untouched.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.carrier_lab import (
    SCRIPT,
    CarrierLab,
    lab_script,
    lab_settings,
    make_carrier_lab,
    require_carrier_lab,
)
from tests.netns import PYTHON, LiveProc

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


def test_probe_with_the_labs_echo_key_believes_the_signed_echo_through_squid(
    lab: CarrierLab, tmp_path: Path
) -> None:
    key = str(lab.state_dir / "echo.key")
    result = lab.headerwatch(
        lab.phone_ns, "probe", "--format", "jsonl", "--fail-on-identity", "--echo-key", key,
        lab.url(),
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    record = json.loads(result.stdout)
    assert record["echo_signed"] is True
    assert identity_findings(record["findings"], lab), record["findings"]
    # Another key: the echo squid passed on is not believed, and nothing is compared.
    other = tmp_path / "other.key"
    other.write_text(secrets.token_hex(32) + "\n")
    other.chmod(0o600)
    refused = lab.headerwatch(
        lab.phone_ns, "probe", "--format", "jsonl", "--echo-key", str(other), lab.url()
    )
    assert refused.returncode == 2, refused.stdout
    assert "not signed with the echo key" in refused.stderr
    assert "injected" not in json.loads(refused.stdout)


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


def test_probe_with_scrambled_names_shows_squid_re_casing_them_and_8080_keeping_them(
    lab: CarrierLab,
) -> None:
    through = lab.headerwatch(
        lab.phone_ns, "probe", "--format", "jsonl", "--scramble-case", lab.url()
    )
    direct = lab.headerwatch(
        lab.phone_ns, "probe", "--format", "jsonl", "--scramble-case", lab.url(port=8080)
    )
    record, clean = json.loads(through.stdout), json.loads(direct.stdout)
    assert record["scrambled"] is True and clean["scrambled"] is True
    # squid rebuilds the header block: the names it forwards arrive in its own spelling.
    assert {"host", "user-agent", "cookie"} <= {r.lower() for _, r in record["recased"]}
    assert all(sent != got and sent.lower() == got.lower() for sent, got in record["recased"])
    assert clean["recased"] == [] and clean["injected"] == [] and clean["removed"] == []


def test_probe_shows_squid_moving_host_and_8080_keeping_the_order_sent(lab: CarrierLab) -> None:
    through = lab.headerwatch(lab.phone_ns, "probe", "--format", "jsonl", lab.url())
    direct = lab.headerwatch(lab.phone_ns, "probe", "--format", "jsonl", lab.url(port=8080))
    record, clean = json.loads(through.stdout), json.loads(direct.stdout)
    # squid rebuilds the block: Host, sent first, arrives after the headers it keeps.
    [host] = [m for m in record["moved"] if m[0].lower() == "host"]
    assert host[1] == 1 and host[2] > 1, record["moved"]
    assert clean["moved"] == []
    table = lab.headerwatch(lab.phone_ns, "probe", lab.url())
    assert re.search(r"^\s+Host: 1st sent → \d+th received$", table.stdout, re.M), table.stdout


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


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_an_up_stopped_by_ctrl_c_or_sigterm_half_way_removes_what_it_built(
    stop: signal.Signals,
) -> None:
    require_carrier_lab()
    settings = lab_settings()
    prefix = settings["HW_LAB_PREFIX"]
    up = subprocess.Popen(
        ["bash", str(SCRIPT), "up"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **settings},
        # As typed at a terminal: its own process group, which Ctrl-C signals whole;
        # and SIGINT not ignored, as a job started in the background (this suite
        # under `&`, say) inherits it, and bash then cannot trap it.
        process_group=0,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 60
        while (
            f"{prefix}-carrier"
            not in subprocess.run(
                ["ip", "netns", "list"], capture_output=True, text=True, check=True
            ).stdout
        ):
            assert up.poll() is None and time.monotonic() < deadline, up.communicate()
            time.sleep(0.02)
        if stop == signal.SIGINT:
            os.killpg(up.pid, stop)  # Ctrl-C: the script and the command it waits for
        else:
            up.send_signal(stop)  # kill PID: the script alone
        _, err = up.communicate(timeout=120)
        assert up.returncode == 128 + stop, err
        assert "cleaning up" in err, err
        status = lab_script("status", settings)
        for role in ("phone", "carrier", "server"):
            assert f"{prefix}-{role}: absent" in status.stdout, status.stdout
        assert not Path(settings["HW_LAB_STATE"]).exists()
    finally:
        with contextlib.suppress(ProcessLookupError):
            up.kill()
        up.communicate()
        lab_script("down", settings)


NOBODY = 65534
"""Another user of the machine, in none of the lab's groups."""


def as_nobody(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` as user and group nobody (no other groups), from ``/``."""
    return subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd="/",
        env=env,
        user=NOBODY,
        group=NOBODY,
        extra_groups=[],
    )


def test_no_file_the_lab_writes_is_readable_by_another_user_though_they_hold_the_number(
    lab: CarrierLab,
) -> None:
    uri = f"/private-{secrets.token_hex(4)}"
    lab.run(lab.phone_ns, "curl", "-sS", "-o", "/dev/null", lab.url(uri))
    reflected(lab, 80, uri)
    paths = [lab.state_dir, *sorted(lab.state_dir.rglob("*"))]
    holding = [p for p in paths if p.is_file() and lab.inject_value in p.read_text("latin-1")]
    assert {"reflect-80.out", "lab.env", "squid.conf"} <= {p.name for p in holding}, holding
    # No directory lets other users in (the state directory lets squid's group pass
    # through to squid's own), and what holds the number is its owner's alone.
    open_to_others = [
        f"{p} {stat.filemode(p.stat().st_mode)}"
        for p in paths
        if p.stat().st_mode & (0o077 if p in holding else 0o007 if p.is_dir() else 0)
    ]
    assert open_to_others == []
    for path in holding:
        read = as_nobody("cat", str(path))
        assert read.returncode != 0 and "Permission denied" in read.stderr, (path, read)


def printed_command(text: str, action: str) -> str:
    """The ``sudo ... ACTION`` command the script printed in ``text`` (its last one)."""
    found = re.findall(rf"(sudo \S.* {action})$", text, re.M)
    assert found, f"no command for {action} in:\n{text}"
    return str(found[-1])


def test_the_commands_the_script_prints_act_on_their_own_lab_when_typed_as_printed(
    tmp_path: Path,
) -> None:
    """A lab with its own prefix, run through sudo: each command the script prints,
    typed as printed (sudo passes on only what the command line sets), acts on that
    lab, not on the default one."""
    require_carrier_lab()
    settings = lab_settings()
    del settings["HW_LAB_STATE"]  # its default place, as a user leaves it
    prefix = settings["HW_LAB_PREFIX"]
    # The script where another user can read it, to be told that it needs root.
    shared = Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir="/run"))
    shared.chmod(0o755)
    script = shared / "carrier-lab.sh"
    shutil.copy(SCRIPT, script)
    # sudo's env_reset, for root: the command gets PATH and what its own line sets.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sudo").write_text('#!/bin/sh\nexec env -i PATH="$PATH" SUDO_USER=tester "$@"\n')
    (bin_dir / "sudo").chmod(0o755)
    shell = {**os.environ, **settings, "PATH": f"{bin_dir}:{os.environ['PATH']}"}

    def typed(command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", command], capture_output=True, text=True, timeout=120, env=shell,
            cwd=tmp_path, check=False,
        )  # fmt: skip

    try:
        refused = as_nobody("bash", str(script), "up", env={**os.environ, **settings})
        assert refused.returncode == 2, refused.stderr
        up_command = printed_command(refused.stderr, "up")
        for name in ("HW_LAB_PREFIX", "HW_LAB_INJECT_NAME", "HW_LAB_INJECT_VALUE", "HEADERWATCH"):
            assert f"{name}={settings[name]}" in up_command.split(), up_command
        up = typed(up_command)
        assert up.returncode == 0, up.stderr
        assert f"carrier lab '{prefix}' is up" in up.stdout
        tries = [line for line in up.stdout.splitlines() if "ip netns exec" in line]
        assert tries and all(line.startswith("  sudo ip netns exec ") for line in tries), tries
        again = typed(up_command)
        assert again.returncode == 1 and f"'{prefix}' is already" in again.stderr, again.stderr
        down_command = printed_command(up.stdout, "down")
        assert printed_command(again.stderr, "down") == down_command
        assert f"HW_LAB_PREFIX={prefix}" in down_command.split(), down_command
        not_root = as_nobody("bash", str(script), "down", env={**os.environ, **settings})
        assert not_root.returncode == 2 and "is down" not in not_root.stdout, not_root
        assert printed_command(not_root.stderr, "down").endswith(f"{script} down")
        down = typed(down_command)
        assert down.returncode == 0 and f"carrier lab '{prefix}' is down" in down.stdout, down
        assert lab_script("status", settings).returncode == 3
        assert not Path(f"/run/headerwatch-lab/{prefix}").exists()
        twice = typed(down_command)
        assert twice.returncode == 0, twice.stderr
        assert f"carrier lab '{prefix}' was not up" in twice.stdout, twice.stdout
    finally:
        lab_script("down", settings)
        shutil.rmtree(shared)


def test_up_and_down_leave_the_directory_that_holds_the_labs_state_as_they_found_it() -> None:
    require_carrier_lab()
    shared = Path(tempfile.mkdtemp(prefix="lab-", dir="/run"))
    shared.chmod(0o1777)  # like /tmp
    settings = lab_settings(HW_LAB_STATE=shared / "lab")
    try:
        up = lab_script("up", settings)
        assert up.returncode == 0, up.stderr
        assert stat.S_IMODE(shared.stat().st_mode) == 0o1777
        assert lab_script("down", settings).returncode == 0
        assert stat.S_IMODE(shared.stat().st_mode) == 0o1777
        assert list(shared.iterdir()) == []
    finally:
        lab_script("down", settings)
        shutil.rmtree(shared, ignore_errors=True)


# -- the tethered laptop's own capture: headless live and scan of its recording ----------
#
# These read the reflector's echo on the phone side (issue 13, items 1 and 2): each
# record of a request with an echo carries "injected", "removed" and "changed"
# ([[name, value], ...]; changed as [name, sent, received]) and the findings of the
# injected headers; HAR entries carry "_injected", "_removed", "_changed".


@dataclass
class PhoneCapture:
    """One headless ``live`` run on the phone's interface while curl fetched ``uri``."""

    uri: str
    records: list[dict[str, Any]]
    exit_code: int
    stderr: str
    recording: Path

    def record(self) -> dict[str, Any]:
        """The record of the curl request."""
        mine = [r for r in self.records if r["uri"] == self.uri]
        assert mine, f"no record of {self.uri}: {self.records}\n{self.stderr}"
        return mine[0]


@pytest.fixture(scope="module")
def phone_capture(lab: CarrierLab, tmp_path_factory: pytest.TempPathFactory) -> PhoneCapture:
    """``live -i PHONE_IF --format jsonl --fail-on-identity -w rec.pcapng`` around a curl."""
    recording = tmp_path_factory.mktemp("phone") / "rec.pcapng"
    uri = f"/x-{secrets.token_hex(4)}"
    argv = [PYTHON, "-m", "tui.cli", "live", "-i", lab.phone_if, "--format", "jsonl"]
    live = LiveProc(lab.spawn(lab.phone_ns, [*argv, "--fail-on-identity", "-w", str(recording)]))
    try:
        live.wait_ready()
        curl = lab.run(lab.phone_ns, "curl", "-sS", "-o", "/dev/null", lab.url(uri))
        assert curl.returncode == 0, curl.stderr
        with contextlib.suppress(AssertionError):  # the test says what is missing
            live.records(1, timeout=10)
    finally:
        code = live.stop(signal.SIGINT)
    return PhoneCapture(uri, live.all_records(), code, live.stderr, recording)


def header_names(items: list[Any]) -> set[str]:
    """Names of ``[[name, value], ...]`` or HAR's ``[{"name": ..., "value": ...}, ...]``."""
    return {(x["name"] if isinstance(x, dict) else x[0]).lower() for x in items}


def test_headless_live_on_the_phone_sees_the_identity_squid_injected_into_curls_request(
    phone_capture: PhoneCapture, lab: CarrierLab
) -> None:
    record = phone_capture.record()
    assert [lab.inject_name, lab.inject_value] in record.get("injected", []), record
    assert identity_findings(record["findings"], lab), record["findings"]


def test_headless_live_on_the_phone_names_the_header_squid_stripped_as_removed(
    phone_capture: PhoneCapture, lab: CarrierLab
) -> None:
    record = phone_capture.record()
    assert lab.strip.lower() in header_names(record.get("removed", [])), record


def test_headless_live_on_the_phone_with_fail_on_identity_exits_1(
    phone_capture: PhoneCapture,
) -> None:
    assert phone_capture.exit_code == 1, phone_capture.stderr


@pytest.mark.parametrize("fmt", ["jsonl", "table", "har"])
def test_scan_of_the_phones_recording_exits_1_with_the_number_in_every_format(
    phone_capture: PhoneCapture, lab: CarrierLab, fmt: str
) -> None:
    result = lab.headerwatch(
        lab.phone_ns, "scan", str(phone_capture.recording), "--format", fmt, "--fail-on-identity"
    )
    assert result.returncode == 1, f"{fmt}: {result.stderr}"
    assert lab.inject_value in result.stdout or lab.e164 in result.stdout, result.stdout


def test_scan_jsonl_of_the_phones_recording_has_the_injected_and_removed_headers(
    phone_capture: PhoneCapture, lab: CarrierLab
) -> None:
    result = lab.headerwatch(lab.phone_ns, "scan", str(phone_capture.recording))
    records = [json.loads(line) for line in result.stdout.splitlines()]
    (record,) = [r for r in records if r["uri"] == phone_capture.uri]
    assert [lab.inject_name, lab.inject_value] in record.get("injected", []), record
    assert lab.strip.lower() in header_names(record.get("removed", [])), record
    assert identity_findings(record["findings"], lab), record["findings"]


def test_scan_of_the_phones_recording_with_the_echo_key_says_each_echo_was_signed(
    phone_capture: PhoneCapture, lab: CarrierLab, tmp_path: Path
) -> None:
    key = str(lab.state_dir / "echo.key")
    result = lab.headerwatch(lab.phone_ns, "scan", str(phone_capture.recording), "--echo-key", key)
    (record,) = [
        json.loads(line)
        for line in result.stdout.splitlines()
        if json.loads(line)["uri"] == phone_capture.uri
    ]
    assert record["echo_signed"] is True
    assert identity_findings(record["findings"], lab), record["findings"]
    assert "echoed by a reflector (signed with the echo key)" in result.stderr
    # A key that is not the reflectors': what squid added is not believed.
    other = tmp_path / "other.key"
    other.write_text(secrets.token_hex(32) + "\n")
    other.chmod(0o600)
    forged = lab.headerwatch(
        lab.phone_ns, "scan", str(phone_capture.recording), "--echo-key", str(other)
    )
    records = [json.loads(line) for line in forged.stdout.splitlines()]
    assert all("injected" not in r and not identity_findings(r["findings"], lab) for r in records)
    assert "not signed with the echo key ignored" in forged.stderr


def test_scan_table_of_the_phones_recording_names_injected_and_removed_headers(
    phone_capture: PhoneCapture, lab: CarrierLab
) -> None:
    result = lab.headerwatch(
        lab.phone_ns, "scan", str(phone_capture.recording), "--format", "table"
    )
    assert re.search(rf"injected:.*{re.escape(lab.inject_name)}", result.stdout, re.I), (
        result.stdout
    )
    assert re.search(rf"removed:.*{re.escape(lab.strip)}", result.stdout, re.I), result.stdout


def test_scan_har_of_the_phones_recording_carries_injected_and_removed_and_the_finding(
    phone_capture: PhoneCapture, lab: CarrierLab
) -> None:
    result = lab.headerwatch(lab.phone_ns, "scan", str(phone_capture.recording), "--format", "har")
    entries = json.loads(result.stdout)["log"]["entries"]
    (entry,) = [e for e in entries if e["request"]["url"].endswith(phone_capture.uri)]
    assert lab.inject_name in header_names(entry.get("_injected", [])), entry
    assert lab.strip.lower() in header_names(entry.get("_removed", [])), entry
    assert identity_findings(entry["_identityFindings"], lab), entry["_identityFindings"]


# -- the phone-side dashboard, on the live source ------------------------------------------


def test_the_live_dashboard_on_the_phone_badges_filters_saves_and_reopens_the_injection(
    lab: CarrierLab, tmp_path: Path
) -> None:
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    driver = LiveProc(
        lab.spawn(
            lab.phone_ns,
            [PYTHON, "-m", "tests.tui.live_dashboard_driver", lab.phone_if, "1", "spool"],
            stdin=subprocess.PIPE,
            env={"XDG_RUNTIME_DIR": str(runtime)},
        )
    )

    def ask(command: str, answer: str) -> Any:
        assert driver.proc.stdin is not None
        driver.proc.stdin.write(command + "\n")
        driver.proc.stdin.flush()
        return line(answer)

    def line(prefix: str) -> Any:
        got = driver.out.get(timeout=60)
        assert got is not None and got.startswith(prefix), (got, driver.stderr)
        rest = got[len(prefix) :].strip()
        return json.loads(rest) if rest else None

    try:
        line("ready")
        uri = f"/dash-{secrets.token_hex(4)}"
        curl = lab.run(lab.phone_ns, "curl", "-sS", "-o", "/dev/null", lab.url(uri))
        assert curl.returncode == 0, curl.stderr
        seen = line("records")
        assert seen["ok"], seen
        [record] = [r for r in seen["records"] if r["uri"] == uri]
        assert [lab.inject_name, lab.inject_value] in record.get("injected", []), record
        assert identity_findings(record["findings"], lab), record
        rid = record["id"]
        for expr in ("~inj", f"~inj {lab.inject_name}", f"~hn {lab.inject_name}",
                     f"~rm ^{lab.strip}$"):  # fmt: skip
            shown = ask(f"filter {expr}", "shown")
            assert shown["ids"] == [rid] and shown["inj"] == [True], (expr, shown)
        session = tmp_path / "phone.pcapng"
        saved = ask(f"save {session}", "saved")
        assert saved["ok"], saved
        ask("quit", "stats")
    finally:
        driver.proc.kill()
    again = lab.headerwatch(lab.phone_ns, "scan", str(session), "--fail-on-identity")
    assert again.returncode == 1, again.stderr
    [reopened] = [json.loads(x) for x in again.stdout.splitlines() if uri in x]
    for key in ("injected", "removed", "changed"):
        assert reopened[key] == record[key], key


def test_the_report_of_the_phones_recording_says_the_network_added_the_number(
    phone_capture: PhoneCapture, lab: CarrierLab, tmp_path: Path
) -> None:
    out = tmp_path / "phone.md"
    made = lab.headerwatch(
        lab.phone_ns, "report", "--no-redact", str(phone_capture.recording), "-o", str(out)
    )
    assert made.returncode == 0, made.stderr
    text = out.read_text(encoding="utf-8").replace("\\", "")
    lead = text.split("\n")[4]
    assert lead.startswith(f"**The phone number {lab.e164} went to 1 site ({lab.server_ip})")
    assert f"in the header {lab.inject_name}, added on the way by the network" in lead
    assert f"### Seen from {lab.phone_ip}" in text
    row = next(
        line for line in text.splitlines() if f"{lab.inject_name}: {lab.inject_value}" in line
    )
    assert f"{lab.strip}: " in row  # what squid removed, in the same request's row
    assert re.search(r"^\| Capture gaps, client side \| 0 \|", text, re.M)
    # report reads the servers' bytes only for reflectors' echoes: their side is not known.
    assert re.search(r"^\| Capture gaps, server side \| not known \|", text, re.M)


# -- a study over the lab's probe results (issue 20) -------------------------------------


def test_a_study_of_probes_through_the_lab_is_injected_on_80_clean_on_8080_and_https_inconclusive(
    lab: CarrierLab, tmp_path: Path
) -> None:
    from tests.chromium import load

    label = "carrier=Carrier lab (squid), sim=test"
    labelled = lab.headerwatch(
        lab.phone_ns, "probe", "--format", "jsonl", "--label", label,
        lab.url(), lab.url(port=8080), f"https://{lab.server_ip}/",
    )  # fmt: skip
    unlabelled = lab.headerwatch(lab.phone_ns, "probe", "--format", "jsonl", lab.url(port=8080))
    results = tmp_path / "lab-probes.jsonl"
    results.write_text(labelled.stdout + unlabelled.stdout)
    assert len(results.read_text().splitlines()) == 4, labelled.stderr + unlabelled.stderr
    md, html = tmp_path / "study.md", tmp_path / "study.html"
    for out in (md, html):
        made = lab.headerwatch(lab.phone_ns, "report", str(results), "-o", str(out))
        assert made.returncode == 0, made.stderr
    text = md.read_text(encoding="utf-8").replace("\\", "")
    phone_range = ".".join(lab.phone_ip.split(".")[:3]) + ".0/24"
    row = rf"^\| {re.escape(label)} \| 3 \| 1 \| 0 \| 1 \| 1 \| {re.escape(lab.inject_name)}\b"
    assert re.search(row, text, re.M), text
    # The unlabelled test's network: the phone's range, masked (the report is redacted).
    assert re.search(
        r"^\| <client /24 #[0-9a-f]{10}> \| 1 \| 0 \| 0 \| 1 \| 0 \| none \|", text, re.M
    )
    assert phone_range not in text and lab.phone_ip not in text
    assert lab.inject_value not in text  # the injected number is masked
    page = load(html.as_uri(), tmp_path / "study.png", ("document.querySelectorAll('svg').length",))
    assert page.errors == [] and page.requests == [html.as_uri()]
