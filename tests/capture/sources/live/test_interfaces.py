"""``headerwatch interfaces``: state, addresses, tethers and hotspots marked with the reason."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from capture.sources.live.interfaces import Interface, list_interfaces, table, tether_reason
from tests.netns import REPO, require_root, sh


def _iface(
    root: Path,
    name: str,
    index: int,
    *,
    up: bool = True,
    carrier: str = "1",
    arphrd: int = 1,
    driver: str | None = None,
    wifi: bool = False,
) -> None:
    d = root / name
    d.mkdir()
    (d / "ifindex").write_text(f"{index}\n")
    (d / "flags").write_text("0x1003\n" if up else "0x1002\n")
    if up:
        (d / "carrier").write_text(f"{carrier}\n")
    (d / "type").write_text(f"{arphrd}\n")
    (d / "address").write_text(f"02:00:00:00:00:{index:02x}\n")
    if driver:
        drivers = root / "_drivers" / driver
        drivers.mkdir(parents=True)
        (d / "device").mkdir()
        os.symlink(drivers, d / "device" / "driver")
    if wifi:
        (d / "phy80211").mkdir()


@pytest.fixture
def sysfs(tmp_path: Path) -> Path:
    root = tmp_path / "net"
    root.mkdir()
    _iface(root, "lo", 1, arphrd=772)
    _iface(root, "eth0", 2)
    _iface(root, "usb0", 3, driver="rndis_host")
    _iface(root, "enx0a1b2c3d4e5f", 4, driver="ipheth")
    _iface(root, "enx020000000099", 5, driver="r8152", carrier="0")
    _iface(root, "wwan0", 6, arphrd=0xFFFE, driver="qmi_wwan")
    _iface(root, "wlan0", 7, wifi=True)
    _iface(root, "wlp2s0", 8, wifi=True, up=False)
    _iface(root, "bnep0", 9)
    _iface(root, "mon0", 10, arphrd=803, wifi=True)
    return root


def _by_name(sysfs: Path, mode: object = lambda name: None) -> dict[str, Interface]:
    addrs = {"eth0": ["192.0.2.2/24", "fe80::1/64"], "usb0": ["192.168.42.129/24"]}
    found = list_interfaces(str(sysfs), addrs=addrs, mode=mode)  # type: ignore[arg-type]
    return {i.name: i for i in found}


def test_tethers_are_marked_with_the_reason(sysfs: Path) -> None:
    ifaces = _by_name(sysfs)
    assert ifaces["usb0"].tether == "USB tether (Android RNDIS), driver rndis_host"
    assert ifaces["enx0a1b2c3d4e5f"].tether == "USB tether (iPhone Personal Hotspot), driver ipheth"
    assert ifaces["enx020000000099"].tether == (
        "USB network device: a phone's tether or a USB adapter"
    )
    assert ifaces["wwan0"].tether == "mobile broadband modem (QMI), driver qmi_wwan"
    assert ifaces["bnep0"].tether == "Bluetooth tether (PAN)"
    assert ifaces["wlan0"].tether == "Wi-Fi, maybe a hotspot (install iw to tell)"
    assert ifaces["eth0"].tether is None and ifaces["lo"].tether is None


def test_wifi_mode_from_iw_decides_hotspot(sysfs: Path) -> None:
    modes = {"wlan0": "AP", "wlp2s0": "managed", "mon0": "monitor"}
    ifaces = _by_name(sysfs, mode=modes.get)
    assert ifaces["wlan0"].tether == "Wi-Fi hotspot (iw: AP mode)"
    assert ifaces["wlp2s0"].tether is None


def test_state_addresses_kind_and_capturability(sysfs: Path) -> None:
    ifaces = _by_name(sysfs)
    assert [i.name for i in ifaces.values()][:3] == ["lo", "eth0", "usb0"]  # index order
    assert ifaces["eth0"].state == "up"
    assert ifaces["eth0"].addresses == ("192.0.2.2/24", "fe80::1/64")
    assert ifaces["enx020000000099"].state == "up, no carrier"
    assert ifaces["wlp2s0"].state == "down" and ifaces["wlp2s0"].carrier is None
    assert ifaces["wwan0"].kind == "raw-ip" and ifaces["wwan0"].capturable
    assert ifaces["lo"].kind == "loopback"
    assert not ifaces["mon0"].capturable


def test_table_marks_candidates(sysfs: Path) -> None:
    lines = table(list(_by_name(sysfs).values()))
    assert lines[0].split() == ["INTERFACE", "STATE", "ADDRESSES", "NOTE"]
    usb = next(line for line in lines if " usb0 " in line)
    assert usb.startswith("*")
    assert "192.168.42.129/24" in usb and "likely tether/hotspot: USB tether" in usb
    eth = next(line for line in lines if " eth0 " in line)
    assert not eth.startswith("*") and eth.rstrip().endswith("fe80::1/64")
    assert "link type not decodable" in next(line for line in lines if " mon0 " in line)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("rndis0", "USB tether (named rndis*)"),
        ("ap0", "Wi-Fi hotspot interface (named ap*)"),
        ("eth1", None),
        ("docker0", None),
        ("wwp0s20f0u6", "mobile broadband modem (named wwan*)"),
    ],
)
def test_names_alone(name: str, reason: str | None) -> None:
    assert tether_reason(name, None, wifi=False) == reason


@pytest.mark.netns
def test_interfaces_command_in_a_namespace() -> None:
    """The real command, in a namespace holding a fake phone tether (a veth named usb0)."""
    require_root()
    ns = f"hw-test-{os.getpid()}-i"
    sh("ip", "netns", "add", ns)
    try:
        sh("ip", "-n", ns, "link", "add", "name", "usb0", "type", "veth", "peer", "name", "eth9")
        sh("ip", "-n", ns, "addr", "add", "192.168.42.129/24", "dev", "usb0")
        sh("ip", "-n", ns, "link", "set", "usb0", "up")
        run = [
            "ip",
            "netns",
            "exec",
            ns,
            sys.executable,
            "-m",
            "tui.cli",
            "interfaces",
        ]
        result = subprocess.run(run, capture_output=True, text=True, timeout=60, cwd=REPO)
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        usb = next(line for line in lines if " usb0 " in line)
        assert usb.startswith("*") and "192.168.42.129/24" in usb
        assert "up, no carrier" in usb  # its peer is down: a cable with nothing at the end
        assert "eth9" in result.stdout and "down" in next(x for x in lines if " eth9 " in x)
        assert "headerwatch live -i usb0" in result.stderr
        result = subprocess.run(
            [*run, "--format", "jsonl"], capture_output=True, text=True, timeout=60, cwd=REPO
        )
        usb0 = next(r for r in map(json.loads, result.stdout.splitlines()) if r["name"] == "usb0")
        assert usb0["addresses"] == ["192.168.42.129/24"]
        assert usb0["tether"] == "USB tether (named usb*)"
        assert usb0["up"] is True and usb0["carrier"] is False
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)
