"""Which app sent a packet, from PCAPdroid's capture extensions.

PCAPdroid (an Android capture app, https://emanuele-f.github.io/PCAPdroid/) adds the
originating app to the packets it exports when "PCAPdroid extensions" (formerly
"PCAPdroid trailer") is on. Its user guide (advanced_features.md, §4.5) and its
source (``app/src/main/jni/core/pcap_dump.h`` and ``pcap_dump.c``,
``tools/pcapdroid.lua``) describe two forms:

- **pcap**: each packet is wrapped in a bogus Ethernet header (both MAC addresses
  zero), the IP packet, zero padding to a 4-byte boundary, then a 32-byte trailer:
  magic ``0x01072021`` (big-endian), the UID (int32, big-endian, -1 if unknown), the
  package name (20 bytes, NUL-padded, truncated to 19 characters) and an FCS.
- **pcapng**: a Custom Block (type ``0x00000BAD``, PEN 62652) per app, version 1,
  type 1 ("UID map"): the UID (int32), the package name's and the app name's
  lengths (one byte each) and both names; each Enhanced Packet Block carries the
  comment ``u-<uid>``.

Pure functions: the capture reader (:mod:`capture.sources.frames`) resolves the
pcapng comments through the map and adds the app to the frame's comments as
``PCAPdroid app <package>``; :func:`frame_app` reads either form from a frame.
"""

from __future__ import annotations

import struct

TRAILER_MAGIC = b"\x01\x07\x20\x21"
TRAILER_SIZE = 32
"""magic, uid, appname[20], fcs."""
PEN = 62652
CUSTOM_BLOCK = 0x00000BAD
"""pcapng Custom Block that rewriters may copy (PCAPdroid writes this one)."""
BLOCK_UID_MAP = 1
APP_COMMENT = b"PCAPdroid app "
"""What the reader adds to a frame's comments once a ``u-<uid>`` is resolved."""

_ZERO_MACS = bytes(12)


def trailer_app(data: bytes) -> str | None:
    """The package name in the PCAPdroid trailer of an Ethernet frame, or None when
    the frame has none."""
    if len(data) < 14 + 20 + TRAILER_SIZE or not data.startswith(_ZERO_MACS):
        return None
    trailer = data[-TRAILER_SIZE:]
    if trailer[:4] != TRAILER_MAGIC:
        return None
    # The trailer must sit right after the IP packet and its padding, as PCAPdroid
    # writes it: four bytes at the end of a payload (a loopback capture also has
    # zero MAC addresses) must not name an app.
    version = data[14] >> 4
    if version == 4 and data[12:14] == b"\x08\x00":
        ip_length = int.from_bytes(data[16:18], "big")
    elif version == 6 and data[12:14] == b"\x86\xdd" and len(data) >= 14 + 40:
        ip_length = 40 + int.from_bytes(data[18:20], "big")
    else:
        return None
    end = 14 + ip_length
    padding = -end % 4
    if len(data) != end + padding + TRAILER_SIZE or any(data[end : end + padding]):
        return None
    name = trailer[8:28].split(b"\0", 1)[0]
    if not name:
        return None
    return name.decode("utf-8", "replace")


def frame_app(linktype: int, data: bytes, comments: tuple[bytes, ...]) -> str | None:
    """The app that sent or received a frame, as PCAPdroid recorded it, or None."""
    for comment in comments:
        if comment.startswith(APP_COMMENT):
            return comment[len(APP_COMMENT) :].decode("utf-8", "replace") or None
    if linktype == 1:
        return trailer_app(data)
    return None


def comment_uid(comment: bytes) -> int | None:
    """The UID of PCAPdroid's ``u-<uid>`` packet comment, or None for another comment."""
    if not comment.startswith(b"u-"):
        return None
    digits = comment[2:]
    if digits.startswith(b"-"):
        digits = digits[1:]
    if not digits.isdigit() or len(digits) > 10:
        return None
    return int(comment[2:])


def uid_map(body: bytes, endian: str) -> tuple[int, str, str] | None:
    """``(uid, package name, app name)`` of a Custom Block's body (after type and
    length) when it is PCAPdroid's UID map; None for any other custom block or a
    damaged one. ``endian`` is the section's (``<`` or ``>``)."""
    if len(body) < 12:
        return None
    pen, version, kind = struct.unpack(endian + "IHB", body[:7])
    if pen != PEN or version != 1 or kind != BLOCK_UID_MAP:
        return None
    uid, package_len, app_len = struct.unpack(endian + "iBB", body[8:14])
    end = 14 + package_len + app_len
    if len(body) < end:
        return None
    package = body[14 : 14 + package_len].decode("utf-8", "replace")
    app = body[14 + package_len : end].decode("utf-8", "replace")
    return uid, package, app


def app_comment(package: str, app: str) -> bytes:
    """The comment the reader adds for a resolved UID: the package name (or the app
    name when the map has no package)."""
    return APP_COMMENT + (package or app).encode("utf-8")
