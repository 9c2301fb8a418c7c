"""``headerwatch interfaces``: what can be sniffed, tether and hotspot candidates marked."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from capture.sources.live.interfaces import interface_to_dict, list_interfaces, table
from capture.sources.live.privileges import can_capture


def register(sub: Any) -> None:
    """Add the ``interfaces`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "interfaces",
        help="list network interfaces; likely tethers and hotspots are marked",
        description="List the network interfaces of this machine with their state and "
        "addresses. Interfaces that look like a phone's tether (usb0, rndis0, enx…, "
        "wwan0, bnep0) or a Wi-Fi hotspot are marked with * and the reason.",
    )
    p.add_argument("--format", choices=("table", "jsonl"), default="table", help="output format")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run ``interfaces``."""
    interfaces = list_interfaces()
    if args.format == "jsonl":
        for iface in interfaces:
            print(json.dumps(interface_to_dict(iface), ensure_ascii=False))
        return 0
    for line in table(interfaces):
        print(line)
    candidates = [i for i in interfaces if i.tether and i.capturable]
    if candidates:
        sudo = "" if can_capture() else "sudo "
        print(
            f"\ncapture one with: {sudo}headerwatch live -i {candidates[0].name}",
            file=sys.stderr,
        )
    return 0
