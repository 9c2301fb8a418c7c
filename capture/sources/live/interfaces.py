"""What can be sniffed: network interfaces, their state and addresses, tethers marked.

Read from ``/sys/class/net`` (state, type, driver) and ``ip -j addr`` (addresses,
with scapy's interface table as the fallback when iproute2 is missing). A phone
shared over USB shows up as ``usb0``/``rndis0``/``enx…`` (drivers ``rndis_host``,
``cdc_ncm``, ``ipheth``, …), a mobile-broadband modem as ``wwan0``, a Bluetooth
tether as ``bnep0``, and a laptop's own hotspot as a Wi-Fi interface in AP mode:
those are marked with the reason, since they are what a user usually wants.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from capture.sources.live.link import linktype_for

SYSFS = "/sys/class/net"

# Drivers of phones and modems seen over USB (what the phone shares its data through).
_TETHER_DRIVERS = {
    "rndis_host": "USB tether (Android RNDIS)",
    "cdc_ncm": "USB tether (CDC NCM: Android, some modems)",
    "cdc_ether": "USB tether or modem (CDC Ethernet)",
    "cdc_eem": "USB tether (CDC EEM)",
    "ipheth": "USB tether (iPhone Personal Hotspot)",
    "huawei_cdc_ncm": "USB modem (Huawei NCM)",
    "cdc_mbim": "mobile broadband modem (MBIM)",
    "qmi_wwan": "mobile broadband modem (QMI)",
    "sierra_net": "mobile broadband modem (Sierra)",
}

# (name pattern, reason), checked when the driver says nothing.
_TETHER_NAMES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"usb\d+$"), "USB tether (named usb*)"),
    (re.compile(r"rndis\d+$"), "USB tether (named rndis*)"),
    (re.compile(r"enx[0-9a-f]{12}$"), "USB network device: a phone's tether or a USB adapter"),
    (re.compile(r"wwan\d+|ww[a-z]\w*$"), "mobile broadband modem (named wwan*)"),
    (re.compile(r"bnep\d+$"), "Bluetooth tether (PAN)"),
    (re.compile(r"rmnet\w*$"), "mobile data interface (rmnet)"),
    (re.compile(r"ppp\d+$"), "PPP link (dial-up style mobile data)"),
    (re.compile(r"(ap|uap)\d+$"), "Wi-Fi hotspot interface (named ap*)"),
]


@dataclass(frozen=True)
class Interface:
    """One network interface as ``headerwatch interfaces`` shows it."""

    name: str
    index: int
    up: bool
    """Administratively up (``ip link set … up``)."""
    carrier: bool | None
    """Link detected; ``None`` when the interface is down (the kernel cannot say)."""
    mac: str
    kind: str
    """``ethernet``, ``loopback``, ``wifi``, ``raw-ip`` or ``other``."""
    driver: str | None
    addresses: tuple[str, ...]
    """``address/prefix``, IPv4 first."""
    tether: str | None
    """Why this looks like a tether or hotspot, or ``None``."""
    capturable: bool
    """False when its link type is not one headerwatch decodes."""

    @property
    def state(self) -> str:
        """``up``, ``up, no carrier`` or ``down``."""
        if not self.up:
            return "down"
        if self.carrier is False:
            return "up, no carrier"
        return "up"


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read().strip()
    except OSError:
        return None


def _driver(sysfs: str, name: str) -> str | None:
    try:
        return os.path.basename(os.readlink(f"{sysfs}/{name}/device/driver"))
    except OSError:
        return None


def _is_wifi(sysfs: str, name: str) -> bool:
    if os.path.exists(f"{sysfs}/{name}/phy80211") or os.path.isdir(f"{sysfs}/{name}/wireless"):
        return True
    uevent = _read(f"{sysfs}/{name}/uevent") or ""
    return "DEVTYPE=wlan" in uevent


def iw_type(name: str) -> str | None:
    """The Wi-Fi mode ``iw dev NAME info`` reports (``AP``, ``managed``, …), if iw exists."""
    iw = shutil.which("iw")
    if iw is None:
        return None
    try:
        out = subprocess.run(
            [iw, "dev", name, "info"], capture_output=True, text=True, timeout=2, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"^\s*type\s+(\S+)", out, re.MULTILINE)
    return match.group(1) if match else None


def _wifi_reason(name: str, mode: Callable[[str], str | None]) -> str | None:
    kind = mode(name)
    if kind is not None:
        if kind.upper() in ("AP", "AP/VLAN", "P2P-GO"):
            return f"Wi-Fi hotspot (iw: {kind} mode)"
        return None  # a Wi-Fi client: not where a phone's traffic arrives
    for run in ("/run/hostapd", "/var/run/hostapd"):
        if os.path.exists(f"{run}/{name}"):
            return "Wi-Fi hotspot (hostapd serves it)"
    return "Wi-Fi, maybe a hotspot (install iw to tell)"


def tether_reason(
    name: str,
    driver: str | None,
    wifi: bool,
    mode: Callable[[str], str | None] = iw_type,
) -> str | None:
    """Why ``name`` is likely a tether or hotspot interface, or ``None``."""
    if driver in _TETHER_DRIVERS:
        return f"{_TETHER_DRIVERS[driver]}, driver {driver}"
    if wifi:
        return _wifi_reason(name, mode)
    for pattern, reason in _TETHER_NAMES:
        if pattern.match(name):
            return reason
    return None


def _kind(arphrd: int | None, wifi: bool) -> str:
    if arphrd == 772:
        return "loopback"
    if wifi:
        return "wifi"
    if arphrd in (1, 6):
        return "ethernet"
    if arphrd in (0xFFFE, 512, 519, 768, 769, 776):
        return "raw-ip"
    return "other"


def _addresses_from_ip() -> dict[str, list[str]] | None:
    ip = shutil.which("ip")
    if ip is None:
        return None
    try:
        out = subprocess.run(
            [ip, "-j", "addr", "show"], capture_output=True, text=True, timeout=5, check=True
        ).stdout
        data = json.loads(out)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    result: dict[str, list[str]] = {}
    for entry in data:
        name = entry.get("ifname")
        if not isinstance(name, str):
            continue
        addrs = []
        for info in entry.get("addr_info", []):
            local, prefix = info.get("local"), info.get("prefixlen")
            if local:
                addrs.append(f"{local}/{prefix}" if prefix is not None else str(local))
        result[name] = addrs
    return result


def _addresses_from_scapy() -> dict[str, list[str]]:
    try:
        from scapy.config import conf

        conf.ifaces.reload()
        result: dict[str, list[str]] = {}
        for iface in conf.ifaces.values():
            ips = getattr(iface, "ips", {}) or {}
            result[str(iface.network_name)] = [str(a) for v in (4, 6) for a in ips.get(v, [])]
        return result
    except Exception:  # scapy's table is a fallback; without it, no addresses
        return {}


def addresses() -> dict[str, list[str]]:
    """Addresses of every interface, by name (IPv4 first)."""
    found = _addresses_from_ip()
    if found is None:
        found = _addresses_from_scapy()
    return {
        name: sorted(addrs, key=lambda a: (":" in a, addrs.index(a)))
        for name, addrs in found.items()
    }


def list_interfaces(
    sysfs: str = SYSFS,
    addrs: dict[str, list[str]] | None = None,
    mode: Callable[[str], str | None] = iw_type,
) -> list[Interface]:
    """Every interface in this network namespace, in index order."""
    try:
        names = os.listdir(sysfs)
    except OSError:
        return []
    if addrs is None:
        addrs = addresses()
    result = []
    for name in names:
        base = f"{sysfs}/{name}"
        index_text = _read(f"{base}/ifindex")
        flags_text = _read(f"{base}/flags")
        if index_text is None or flags_text is None:
            continue
        try:
            index = int(index_text)
            up = bool(int(flags_text, 16) & 1)
        except ValueError:
            continue
        carrier_text = _read(f"{base}/carrier") if up else None
        carrier = None if carrier_text in (None, "") else carrier_text == "1"
        type_text = _read(f"{base}/type")
        arphrd = int(type_text) if type_text and type_text.isdigit() else None
        wifi = _is_wifi(sysfs, name)
        driver = _driver(sysfs, name)
        capturable = arphrd is not None and linktype_for(arphrd) is not None
        result.append(
            Interface(
                name=name,
                index=index,
                up=up,
                carrier=carrier,
                mac=_read(f"{base}/address") or "",
                kind=_kind(arphrd, wifi),
                driver=driver,
                addresses=tuple(addrs.get(name, ())),
                tether=None if arphrd == 772 else tether_reason(name, driver, wifi, mode),
                capturable=capturable,
            )
        )
    result.sort(key=lambda i: i.index)
    return result


def table(interfaces: Sequence[Interface]) -> list[str]:
    """``headerwatch interfaces`` output: an aligned table, tether candidates marked ``*``."""
    rows = [("", "INTERFACE", "STATE", "ADDRESSES", "NOTE")]
    for iface in interfaces:
        notes = []
        if iface.tether:
            notes.append(f"likely tether/hotspot: {iface.tether}")
        elif iface.kind == "loopback":
            notes.append("loopback")
        if not iface.capturable:
            notes.append("link type not decodable")
        rows.append(
            (
                "*" if iface.tether else "",
                iface.name,
                iface.state,
                " ".join(iface.addresses) or "-",
                "; ".join(notes),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True))
        + "  "
        + row[4]
        for row in rows
    ]
    return [line.rstrip() for line in lines]


def interface_to_dict(iface: Interface) -> dict[str, object]:
    """One interface as a JSON object (``headerwatch interfaces --format jsonl``)."""
    return {
        "name": iface.name,
        "index": iface.index,
        "state": iface.state,
        "up": iface.up,
        "carrier": iface.carrier,
        "mac": iface.mac,
        "kind": iface.kind,
        "driver": iface.driver,
        "addresses": list(iface.addresses),
        "tether": iface.tether,
        "capturable": iface.capturable,
    }
