"""Write the two crafted PCAPdroid captures of this folder from the bundled demo capture.

No capture exported by PCAPdroid itself with its extensions was found in a public
repository, so these follow PCAPdroid's documented format (see README.md here) and
its writer, ``app/src/main/jni/core/pcap_dump.c`` of emanuele-f/PCAPdroid. The
packets are the demo capture's (capture/data/demo-o2-2012.pcap), unchanged from
the IP header on; each connection is given an app by its client port.

    python tests/data/pcapdroid/make.py     # rewrites both files
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEMO = HERE.parents[2] / "capture" / "data" / "demo-o2-2012.pcap"

# Client port → (uid, package name, app name). Other connections: uid -1, no name.
APPS = {
    49169: (10123, "com.example.fruitgame", "Fruit Game"),
    49157: (10150, "com.facebook.katana", "Facebook"),
    49165: (10150, "com.facebook.katana", "Facebook"),
}
BROWSER = (10087, "com.android.chrome", "Chrome")
PHONE = b"\xcb\x00\x71\x07"  # 203.0.113.7, the phone of the demo
MAGIC = 0x01072021
PEN = 62652


def _packets() -> list[tuple[int, int, bytes]]:
    """(seconds, microseconds, IP packet) of every IPv4 frame of the demo."""
    data = DEMO.read_bytes()
    assert data[:4] == b"\xd4\xc3\xb2\xa1"  # little-endian, microseconds
    out = []
    pos = 24
    while pos < len(data):
        sec, usec, incl, _ = struct.unpack("<IIII", data[pos : pos + 16])
        frame = data[pos + 16 : pos + 16 + incl]
        pos += 16 + incl
        if frame[12:14] == b"\x08\x00":
            total = struct.unpack("!H", frame[16:18])[0]
            out.append((sec, usec, frame[14 : 14 + total]))
    return out


def _app(ip: bytes) -> tuple[int, str, str]:
    header = (ip[0] & 0x0F) * 4
    sport, dport = struct.unpack("!HH", ip[header : header + 4])
    if ip[12:16] != PHONE and ip[16:20] != PHONE:
        return (-1, "", "")
    client = sport if ip[12:16] == PHONE else dport
    return APPS.get(client, BROWSER)


def trailer_pcap() -> bytes:
    """Classic pcap, Ethernet: bogus header (zero MACs), IP, padding, trailer, FCS."""
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for sec, usec, ip in _packets():
        uid, package, _ = _app(ip)
        frame = bytearray(bytes(12) + b"\x08\x00" + ip)
        frame += bytes((-len(frame)) % 4)
        frame += struct.pack("!Ii", MAGIC, uid) + package.encode()[:19].ljust(20, b"\0")
        frame += struct.pack("<I", zlib.crc32(frame))
        out += struct.pack("<IIII", sec, usec, len(frame), len(frame)) + frame
    return bytes(out)


def _block(kind: int, body: bytes) -> bytes:
    body += bytes((-len(body)) % 4)
    length = 12 + len(body)
    return struct.pack("<II", kind, length) + body + struct.pack("<I", length)


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + value + bytes((-len(value)) % 4)


def uid_map_pcapng() -> bytes:
    """pcapng, raw IP: a UID map Custom Block per app, ``u-<uid>`` on every packet."""
    out = bytearray()
    shb = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + _option(4, b"PCAPdroid") + bytes(4)
    out += _block(0x0A0D0D0A, shb)
    out += _block(1, struct.pack("<HHI", 101, 0, 65535))  # LINKTYPE_RAW, as in VPN mode
    mapped: set[int] = set()
    for sec, usec, ip in _packets():
        uid, package, name = _app(ip)
        if uid not in mapped and package:
            mapped.add(uid)
            names = package.encode() + name.encode()
            body = struct.pack("<IHBBiBB", PEN, 1, 1, 0, uid, len(package), len(name)) + names
            out += _block(0x00000BAD, body)
        ts = sec * 1_000_000 + usec
        epb = struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(ip), len(ip))
        epb += ip + bytes((-len(ip)) % 4)
        epb += _option(1, f"u-{uid}".encode()) + bytes(4)
        out += _block(6, epb)
    return bytes(out)


FILES = {"demo-trailer.pcap": trailer_pcap, "demo-uidmap.pcapng": uid_map_pcapng}

if __name__ == "__main__":
    for name, make in FILES.items():
        (HERE / name).write_bytes(make())
