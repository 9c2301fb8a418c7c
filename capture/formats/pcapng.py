"""Writing pcapng files that Wireshark opens: sessions and live ``-w`` recordings.

Blocks are written with ``struct`` (pcapng spec, draft-ietf-opsawg-pcapng):
one Section Header Block with the file's comment, the application and the OS;
one Interface Description Block per link type, created when the first frame of
that type arrives; one Enhanced Packet Block per frame, with any number of
``opt_comment`` options (Wireshark shows them as packet comments). scapy's
``RawPcapNgWriter`` writes neither section options nor ``if_tsresol``, and
rounds timestamps through a float multiplication, so it is not used.

Timestamps are converted exactly from the float (integer arithmetic, no float
product), in microseconds when that gives back the very same float and in
nanoseconds otherwise (each resolution has its own interface block). Reading
the file back with :mod:`capture.sources.frames` therefore gives the same ``Frame.ts``,
so a reopened session yields identical records, and a frame read from a
microsecond pcap shows in Wireshark with the time it had there.

Writes are buffered and reach the file on :meth:`PcapngWriter.flush` (and
whenever 64 KiB are pending). A full disk raises :class:`CaptureWriteError`,
one line for the user; the file is cut back to the last complete flush, so what
was flushed before stays readable and nothing half-written follows it.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import os
import platform
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import IO, Any, Protocol, cast

from capture.formats.private import create_new, remove_new
from capture.sources.frames import Frame, block_options
from capture.text import counted, for_json
from capture.version import tool_version

SHB_TYPE = 0x0A0D0D0A
IDB_TYPE = 0x00000001
EPB_TYPE = 0x00000006
BYTE_ORDER_MAGIC = 0x1A2B3C4D

OPT_ENDOFOPT = 0
OPT_COMMENT = 1
SHB_HARDWARE = 2
SHB_OS = 3
SHB_USERAPPL = 4
IF_TSRESOL = 9

_BUFFER = 64 * 1024


def _pad(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + _pad(value)


def _options(options: Sequence[tuple[int, bytes]]) -> bytes:
    if not options:
        return b""
    return b"".join(_option(c, v) for c, v in options) + struct.pack("<HH", OPT_ENDOFOPT, 0)


def _block(block_type: int, body: bytes) -> bytes:
    length = 12 + len(body)
    return struct.pack("<II", block_type, length) + body + struct.pack("<I", length)


def _text(value: str | bytes) -> bytes:
    """Option text as UTF-8 (the spec's encoding); undecodable wire bytes as ``\\xNN``."""
    if isinstance(value, bytes):
        return value
    return for_json(value).encode("utf-8", "backslashreplace")


class CaptureWriteError(Exception):
    """Writing a capture failed; ``str()`` is one line for the user.

    ``errno`` is the OS error number (``errno.ENOSPC`` for a full disk, ...), and
    ``reason`` the words for it (:func:`describe_os_error`), without the file's name.
    """

    def __init__(self, message: str, errno: int | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.errno = errno
        self.reason = reason or message


ERRNO_WORDS = {
    errno.ENOSPC: "disk full",
    errno.EDQUOT: "disk quota exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "read-only file system",
    # Not "no such directory": reading a file that is not there gives it too, and so
    # does /proc when asked to create one (describe_os_error looks which it was).
    errno.ENOENT: "no such file or directory",
    errno.EISDIR: "is a directory",
}
"""The words :func:`describe_errno` says an OS error in."""


def describe_errno(code: int | None, fallback: str = "write failed") -> str:
    """A few words for the user: "disk full", "permission denied", ..."""
    return ERRNO_WORDS.get(code, fallback) if code is not None else fallback


def describe_os_error(exc: OSError) -> str:
    """Why an output file could not be created or written, for the user, in the
    words of :func:`describe_errno` (else the OS's own). Every writer of files says
    it this way. Where ``exc`` names the file, what is wrong with its path:
    ``no such directory /home/me/captrues`` (the first that is not there),
    ``/etc/passwd is not a directory``, or ``cannot create files in /proc (no such
    file or directory)`` (its directory is there but takes no new file)."""
    reason = describe_errno(exc.errno, (exc.strerror or str(exc)).lower())
    path = exc.filename
    if not isinstance(path, str) or exc.errno not in (errno.ENOENT, errno.ENOTDIR):
        return reason
    # Where the file was to go (a link there followed to where it points): the
    # nearest of its parents that is there tells what is wrong.
    missing = there = os.path.dirname(os.path.realpath(path))
    while not os.path.exists(there):
        missing, there = there, os.path.dirname(there)
    if not os.path.isdir(there):
        return f"{there} is not a directory"
    if missing != there:
        return f"no such directory {missing}"
    return f"cannot create files in {there} ({reason})" if exc.errno == errno.ENOENT else reason


class BinaryOutput(Protocol):
    """Anything with ``write(bytes)``: a file opened ``"wb"``, a socket file, BytesIO."""

    def write(self, data: bytes, /) -> int | None:
        """Write ``data``; return how many bytes were taken (None: all, or unknown)."""


class PcapngWriter:
    """Streams frames into a pcapng file (or any binary file object).

    ``tsresol`` forces 6 (microseconds) or 9 (nanoseconds) digits; by default
    (None) each frame gets microseconds when they represent its timestamp
    exactly, else nanoseconds. Usable as a context manager; :meth:`close` flushes.
    A path names a new file: one that exists is refused
    (:func:`~capture.formats.private.create_new`), a device or FIFO written as it is.
    """

    def __init__(
        self,
        target: str | os.PathLike[str] | BinaryOutput,
        comment: str = "",
        app: str | None = None,
        tsresol: int | None = None,
        comments: Sequence[str] = (),
    ) -> None:
        if tsresol not in (None, 6, 9):
            raise ValueError(f"tsresol must be 6 (µs), 9 (ns) or None (either), not {tsresol}")
        self._tsresol = tsresol
        self._owned = isinstance(target, (str, os.PathLike))
        if isinstance(target, (str, os.PathLike)):
            self.name = os.fspath(target)
            try:
                # Private (0600), no link followed when privileged: it holds identities.
                # New: a capture is evidence, and an earlier one is never overwritten.
                fd = create_new(self.name)
                # Unbuffered: this class buffers, and must know what reached the OS.
                self._file: Any = open(fd, "wb", buffering=0)  # noqa: SIM115 - closed by close()
            except OSError as exc:
                reason = describe_os_error(exc)
                raise CaptureWriteError(f"{self.name}: {reason}", exc.errno, reason) from None
        else:
            self._file = target
            self.name = str(getattr(target, "name", "<stream>"))
        try:
            self._good: int | None = self._file.tell()
        except (OSError, AttributeError, ValueError):
            self._good = None  # a pipe: cannot cut back after a failed write
        self._buffer = bytearray()
        self._interfaces: dict[tuple[int, int], int] = {}
        self._failed: CaptureWriteError | None = None
        self._closed = False
        self.packets = 0
        """Frames written (some may still be in the buffer)."""
        self.flushed_packets = 0
        """Frames that reached the file."""
        self._pending_packets = 0
        self._flushed_bytes = 0
        section = [(OPT_COMMENT, _text(c)) for c in ([comment] if comment else [])]
        section += [(OPT_COMMENT, _text(c)) for c in comments]
        section.append((SHB_OS, _text(f"{platform.system()} {platform.release()}".strip())))
        tool = app if app is not None else f"headerwatch {tool_version()}"
        section.append((SHB_USERAPPL, _text(tool)))
        body = struct.pack("<IHHq", BYTE_ORDER_MAGIC, 1, 0, -1) + _options(section)
        self._buffer += _block(SHB_TYPE, body)
        # Fail now, not at the first packet, if the file cannot take even a header.
        try:
            self.flush()
        except CaptureWriteError as exc:
            gone = ""
            if self._owned:
                gone = ", no file left" if remove_new(self._file.fileno(), self.name) else ""
                with contextlib.suppress(OSError):
                    self._file.close()
            message = f"{self.name}: {exc.reason}; nothing written{gone}"
            raise CaptureWriteError(message, exc.errno, exc.reason) from None

    def _interface(self, linktype: int, digits: int) -> int:
        key = (linktype, digits)
        ifid = self._interfaces.get(key)
        if ifid is None:
            ifid = self._interfaces[key] = len(self._interfaces)
            # Snap length 0: no limit. if_tsresol: 10^-digits seconds per unit.
            body = struct.pack("<HHI", linktype, 0, 0) + _options([(IF_TSRESOL, bytes([digits]))])
            self._buffer += _block(IDB_TYPE, body)
        return ifid

    def _units(self, ts: float) -> tuple[int, int]:
        """(timestamp in units, digits of resolution) for ``ts``, converted exactly."""
        num, den = max(float(ts), 0.0).as_integer_ratio()
        digits = self._tsresol
        if digits is None:
            # Microseconds when they give back this very float (every timestamp
            # read from a microsecond pcap/pcapng does); otherwise nanoseconds.
            units = (2 * num * 1_000_000 + den) // (2 * den)
            if units / 1_000_000 == ts:
                return units, 6
            digits = 9
        scale = 10**digits
        return (2 * num * scale + den) // (2 * den), digits

    def write(self, frame: Frame, comments: Sequence[str | bytes] = ()) -> None:
        """Append one frame with its packet comments (plus any it already carries)."""
        if self._failed is not None:
            raise self._failed
        if self._closed:
            raise ValueError("write to a closed PcapngWriter")
        units, digits = self._units(frame.ts)
        ifid = self._interface(frame.linktype, digits)
        data = frame.data
        all_comments = list(frame.comments) + list(comments)
        body = (
            struct.pack("<IIIII", ifid, units >> 32, units & 0xFFFFFFFF, len(data), len(data))
            + _pad(data)
            + _options([(OPT_COMMENT, _text(c)) for c in all_comments])
        )
        self._buffer += _block(EPB_TYPE, body)
        self.packets += 1
        self._pending_packets += 1
        if len(self._buffer) >= _BUFFER:
            self.flush()

    def flush(self) -> None:
        """Hand everything buffered to the OS; on failure cut the file back and raise."""
        if self._failed is not None:
            raise self._failed
        if not self._buffer:
            return
        data = bytes(self._buffer)
        try:
            done = 0
            while done < len(data):
                # A raw file may take part of a write: go on with the rest.
                written = self._file.write(data[done:] if done else data)
                done += len(data) - done if written is None else written
            if not self._owned:
                self._file.flush()
        except OSError as exc:
            self._fail(exc)
        self._buffer.clear()
        self._flushed_bytes += len(data)
        if self._good is not None:
            self._good += len(data)
        self.flushed_packets += self._pending_packets
        self._pending_packets = 0

    @property
    def size(self) -> int:
        """Bytes written so far, buffered or not (the file's size once flushed)."""
        return self._flushed_bytes + len(self._buffer)

    def _fail(self, exc: OSError) -> None:
        lost = self._pending_packets
        if self._good is not None:
            try:
                # Drop the part of a block that made it: the file then ends cleanly
                # after the last complete flush (truncating frees space, so it works
                # on a full disk).
                self._file.truncate(self._good)
                self._file.seek(self._good)
            except (OSError, AttributeError, ValueError):
                pass
        self._buffer.clear()
        kept = f"{counted(self.flushed_packets, 'packet')} written before are kept"
        if lost:
            kept += f", the last {lost:,} are lost"
        reason = describe_os_error(exc)
        self._failed = CaptureWriteError(f"{self.name}: {reason}; {kept}", exc.errno, reason)
        raise self._failed from None

    def close(self) -> None:
        """Flush and close (a file object passed in is flushed, not closed)."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._failed is None:
                self.flush()
        finally:
            if self._owned:
                with contextlib.suppress(OSError):
                    self._file.close()

    def __enter__(self) -> PcapngWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
            return
        # Already failing: keep what can be kept, do not mask the first error.
        with contextlib.suppress(OSError, CaptureWriteError):
            self.close()


@dataclass(frozen=True, slots=True)
class SectionHeader:
    """The options of a pcapng file's first section header block."""

    comments: tuple[str, ...] = ()
    hardware: str = ""
    os: str = ""
    userappl: str = ""


def read_section_header(path: str) -> SectionHeader | None:
    """The first section header's options; None when ``path`` is not a pcapng file.

    scapy's reader skips section options, so they are read here. Compressed
    (gzip) files are read too. Raises OSError when the file cannot be read.
    """
    with open(path, "rb") as raw:
        head = raw.read(2)
        raw.seek(0)
        stream = cast(IO[bytes], gzip.GzipFile(fileobj=raw)) if head == b"\x1f\x8b" else raw
        try:
            start = stream.read(12)
        except (OSError, EOFError):
            return None
        if len(start) < 12 or start[:4] != b"\x0a\x0d\x0d\x0a":
            return None
        if start[8:12] == b"\x4d\x3c\x2b\x1a":
            endian = "<"
        elif start[8:12] == b"\x1a\x2b\x3c\x4d":
            endian = ">"
        else:
            return None
        (length,) = struct.unpack(endian + "I", start[4:8])
        if length < 28 or length > 1 << 24:
            return None
        rest = stream.read(length - 12)
    if len(rest) < length - 12:
        return None
    options = rest[12:-4]  # after version and section length; before the trailing length
    values: dict[int, list[str]] = {}
    for code, _, value in block_options(options, endian == ">"):
        values.setdefault(code, []).append(value.decode("utf-8", "replace"))
    return SectionHeader(
        comments=tuple(values.get(OPT_COMMENT, ())),
        hardware=values.get(SHB_HARDWARE, [""])[0],
        os=values.get(SHB_OS, [""])[0],
        userappl=values.get(SHB_USERAPPL, [""])[0],
    )
