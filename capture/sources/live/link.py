"""The state of a network interface, read from sysfs: up, down, gone; its link type.

Live capture watches these to say when a tether is unplugged or the link goes
down, and to know how to decode the frames of the interface it opens.
"""

from __future__ import annotations

import os

from capture.net.decode import LINKTYPE_ETHERNET, LINKTYPE_RAW
from capture.sources.frames import CaptureError

ARPHRD_LOOPBACK = 772
# Interface types whose packet-socket frames start with an Ethernet header.
_ETHERNET_ARPHRD = frozenset((1, 6, ARPHRD_LOOPBACK))
# Types whose frames start at the IP header: phones' raw-IP modems (qmi_wwan,
# MHI), PPP, tun, IP tunnels.
_RAW_IP_ARPHRD = frozenset((0xFFFE, 512, 519, 768, 769, 776))


UP = "up"
NO_CARRIER = "no-carrier"
DOWN = "down"
GONE = "gone"


class LiveError(CaptureError):
    """Live capture cannot start; the message is one line for the user."""


class NeedsPrivileges(LiveError):
    """The packet socket needs root or CAP_NET_RAW."""


def _sysfs(iface: str, name: str) -> str | None:
    try:
        with open(f"/sys/class/net/{iface}/{name}", encoding="ascii") as f:
            return f.read().strip()
    except (OSError, ValueError):
        return None


def interface_exists(iface: str) -> bool:
    """True if the interface is present now (in this network namespace)."""
    return bool(iface) and "/" not in iface and os.path.isdir(f"/sys/class/net/{iface}")


def link_state(iface: str) -> tuple[str, int]:
    """``(state, ifindex)`` of an interface: :data:`UP`, :data:`NO_CARRIER`, :data:`DOWN`
    or :data:`GONE` (ifindex 0)."""
    index = _sysfs(iface, "ifindex")
    flags = _sysfs(iface, "flags")
    if index is None or flags is None:
        return GONE, 0
    try:
        up = int(flags, 16) & 0x1
        ifindex = int(index)
    except ValueError:
        return GONE, 0
    if not up:
        return DOWN, ifindex
    # Reading ``carrier`` fails (EINVAL) on a down interface; "0" means no link.
    if _sysfs(iface, "carrier") == "0":
        return NO_CARRIER, ifindex
    return UP, ifindex


def linktype_for(arphrd: int) -> int | None:
    """The pcap link type of raw packet-socket frames of an ARPHRD type, if decodable."""
    if arphrd in _ETHERNET_ARPHRD:
        return LINKTYPE_ETHERNET
    if arphrd in _RAW_IP_ARPHRD:
        return LINKTYPE_RAW
    return None


def linktype_of(iface: str) -> int:
    """The pcap link type of frames read from ``iface`` with a raw packet socket."""
    kind = _sysfs(iface, "type")
    if kind is None or not kind.isdigit():
        raise LiveError(f"no network interface named {iface!r} (headerwatch interfaces lists them)")
    arphrd = int(kind)
    linktype = linktype_for(arphrd)
    if linktype is None:
        raise LiveError(
            f"{iface}: its link type (ARPHRD {arphrd}) carries no Ethernet or IP frames "
            "headerwatch can read; capture on the interface that carries the phone's IP traffic"
        )
    return linktype


def iface_drops(iface: str) -> int:
    """``rx_dropped + rx_missed_errors`` of the interface (what libpcap reports)."""
    return max(0, sysfs_int(iface, "statistics/rx_dropped")) + max(
        0, sysfs_int(iface, "statistics/rx_missed_errors")
    )


def sysfs_int(iface: str, name: str) -> int:
    value = _sysfs(iface, name)
    try:
        return int(value) if value is not None else -1
    except ValueError:
        return -1
