"""Write this folder's trimmed copies of real recorded traffic (see README.md here).

The originals are public test data of other projects, read at the commits the
README names. What a scan reads of them, every request, is kept as it was; what it
does not read is dropped, to keep the repository small:

* a HAR keeps every entry's request whole (its headers, cookies, query and posted
  body) and its response's status line; the responses' headers and bodies, the
  pages and the timings are dropped;
* a pcap keeps the frames a client sent to the HTTP ports (``tshark -Y``): the
  requests, whole; the servers' answers are dropped.

    python tests/data/real/make.py ORIGINAL.har NAME.har
    python tests/data/real/make.py ORIGINAL.pcap NAME.pcap PORT [PORT ...]
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

_ENTRY_KEYS = ("startedDateTime", "time", "request", "serverIPAddress", "connection")
_RESPONSE_KEYS = ("status", "statusText", "httpVersion")


def trim_har(original: Path, out: Path) -> None:
    """``original`` without response bodies, pages and timings, as :mod:`json` writes it."""
    log = json.loads(original.read_text(encoding="utf-8"))["log"]
    entries: list[dict[str, Any]] = []
    for entry in log["entries"]:
        kept = {key: entry[key] for key in _ENTRY_KEYS if key in entry}
        response = entry.get("response") or {}
        kept["response"] = {key: response[key] for key in _RESPONSE_KEYS if key in response}
        kept["response"].update(headers=[], content={"size": 0, "mimeType": ""})
        entries.append(kept)
    trimmed = {"log": {"version": log.get("version", "1.2"), "creator": log["creator"]}}
    trimmed["log"]["entries"] = entries
    text = json.dumps(trimmed, ensure_ascii=False, separators=(",", ":"))
    out.write_text(text + "\n", encoding="utf-8")


def trim_pcap(original: Path, out: Path, ports: list[int]) -> None:
    """The frames of ``original`` sent to one of ``ports`` over TCP (tshark's filter)."""
    wanted = " || ".join(f"tcp.dstport == {port}" for port in ports)
    subprocess.run(["tshark", "-r", str(original), "-Y", wanted, "-w", str(out)], check=True)


def main() -> None:
    original, name, *ports = sys.argv[1:]
    out = HERE / name
    if name.endswith(".har"):
        trim_har(Path(original), out)
    else:
        trim_pcap(Path(original), out, [int(port) for port in ports])


if __name__ == "__main__":
    main()
