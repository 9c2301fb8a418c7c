"""Frames from capture files and streams: pcap, pcapng, gzip-compressed, or stdin.

Classic pcap is read here: its file header is 24 bytes and its records are cut out
of large reads in one tight loop (the hot path of every scan), and importing scapy for
those 24 bytes would cost a file scan 0.2 s and 33 MB (measured here). That loop
is written twice: in Python here (the reference, and what runs where no C compiler
was at install time) and in C (``capture/sources/_pcapwalk.c``, a quarter of a scan's
time faster); tests/capture/sources/test_pcapwalk.py holds the two to the same frames. Two
things hold for both: a file that is cut short is told apart from a clean end
(scapy reports both as end-of-file, and returns a cut last packet as if whole),
and nothing is ever seeked, so a pcap stream on stdin works
(``curl -N http://PHONE:8080 | headerwatch scan -``).

pcapng as capture tools write it (dumpcap, editcap, tshark) is read here too: its
section, interface, name resolution and statistics blocks, and its packet blocks
without options through the C record walk in runs (:meth:`CaptureFile._native_pcapng`).
scapy's reader, in raw mode (no dissection), goes on from the first other block
(comments, PCAPdroid's blocks, damage; any packet block where the C walk was not
built, or frames are read without a skip table): a scan of a file without one never
imports it.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import struct
import sys
import zlib
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, Literal, NamedTuple, cast

try:  # built at install time where a C compiler is there (see pyproject.toml)
    from capture.sources import _pcapwalk
except ImportError:
    _pcapwalk = None  # type: ignore[assignment]

from capture.net.decode import Segment, plain_segment, plain_tcp
from capture.net.reassembly import peer_raw_key
from capture.net.shard import Shard
from capture.sources import pcapdroid
from capture.text import counted, printable, printable_bytes

if TYPE_CHECKING:
    from scapy.utils import RawPcapNgReader

# Classic pcap magic: (byte order, nanosecond timestamps).
_PCAP_MAGICS = {
    b"\xa1\xb2\xc3\xd4": (">", False),
    b"\xd4\xc3\xb2\xa1": ("<", False),
    b"\xa1\xb2\x3c\x4d": (">", True),
    b"\x4d\x3c\xb2\xa1": ("<", True),
}
_PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"


# pcapng blocks that Wireshark numbers as frames without a packet (4.0's wiretap: a
# record each), beside PCAPdroid's copyable Custom Block: the Custom Block rewriters
# must not copy, and systemd's Journal Export Block.
NO_COPY_CUSTOM_BLOCK = 0x40000BAD
JOURNAL_BLOCK = 0x00000009
GZIP_MAGIC = b"\x1f\x8b"
"""The first two bytes of a gzip file (RFC 1952 §2.3.1: ID1, ID2)."""
# Larger than any snap length in use (tcpdump's default is 262144).
_MAX_FRAME = 1 << 24
_CHUNK = 1 << 20
# A pcapng block is a frame plus its options (comments, flags): anything longer is
# damage, refused before the read that would allocate it (a 4 GB length field).
_MAX_BLOCK = _MAX_FRAME + (1 << 20)

MAX_TS = float((1 << 32) - 1)
"""The latest timestamp kept (2106-02-07, the end of classic pcap's range): every
output can show it, and a session can write it back at nanosecond resolution."""

TICK = -1
"""Link type of the marker :meth:`CaptureFile.frames` yields, with a table of
skipped segments, before the first record of each new capture second."""

VERDICT = -2
"""Link type of the marker :meth:`CaptureFile.frames` yields, with ``probe``, in place
of a probed direction's first segment that the probe settled (its data: the key)."""


SEGMENT = -3
"""Link type of a frame :meth:`CaptureFile.frames` decoded itself (with ``segments``):
its data is the :class:`capture.net.decode.Segment` of a plain TCP frame
(:func:`capture.net.decode.plain_segment`), not bytes."""

_ZERO_MACS = bytes(12)


class Frame(NamedTuple):
    """One captured link-layer frame."""

    ts: float
    linktype: int
    data: bytes
    comments: tuple[bytes, ...] = ()


WARNING = "headerwatch: warning: "
"""How a warning line on stderr starts."""


def cut_short(name: str) -> str:
    """The warning for a capture that stops inside a record."""
    return f"{WARNING}{name}: capture is cut short; every request before the cut is reported"


@dataclass(frozen=True, slots=True)
class Damage:
    """A record or block of a capture that cannot be one (its length field claims more
    than any capture holds, or the file goes on where a block should end): nothing
    after it can be trusted, so reading stopped there, as at a cut. Where it is and
    how much was left unread let the user know that evidence may be missing."""

    where: str
    """Classic pcap: ``record 80,001, byte 12,800,024`` (no byte from a pipe); pcapng:
    ``byte 12,800,024, after packet 80,000`` (the block may be of another type)."""
    why: str
    """What is wrong with it: ``its length field says 4,294,967,295 bytes, …``."""
    unread: int | None
    """Bytes from its start to the end of the file (decompressed), not read; None for
    a stream, which is not read on (it may never end)."""


def damaged(name: str, damage: Damage) -> str:
    """The warning for a capture damaged in the middle (see :class:`Damage`)."""
    if damage.unread is None:
        rest = "the rest of the stream was not read, and any requests in it are"
    else:
        rest = (
            f"the {damage.unread:,} bytes from there to the end were not read, and any "
            "requests in them are"
        )
    return (
        f"{WARNING}{name}: capture is damaged at {damage.where} ({damage.why}); "
        f"{rest} missing from the results"
    )


def bad_timestamps(name: str, count: int) -> str:
    """The warning for a capture with timestamps out of range."""
    return (
        f"{WARNING}{name}: {counted(count, 'frame')} "
        "had a timestamp out of range, shown as 1970-01-01 or 2106-02-07"
    )


class CaptureError(Exception):
    """A capture cannot be read at all; the message is one line for the user."""


class _Oversized(Exception):
    """Internal: a pcapng block claims more bytes than any capture holds (damage); its
    argument is the size of the read it asked for."""


class _Walk(NamedTuple):
    """What :meth:`CaptureFile.frames` was given for its record walk (see there)."""

    skip: dict[bytes, bool | int]
    touched: dict[bytes, float]
    shard: Shard | None
    probe: Callable[[bytes], bool] | None
    segments: bool
    verdicts: list[bytes] | None
    foreign: set[Any] | None


_MAX_SEC = int(MAX_TS)
"""Seconds a classic-pcap record holds below MAX_TS (2106-02-07)."""


class _Joined(io.RawIOBase):
    """``first``, then the rest of ``inner``: bytes read ahead, put back in front.

    Read from by position (``_at``), not by slicing off what was read: scapy reads a
    block's few bytes at a time, and each slice copied the rest, so that a file of
    200,000 small interface blocks took 70 s (4 MB)."""

    def __init__(self, first: bytes, inner: IO[bytes]) -> None:
        self._first = first
        self._at = 0
        self._inner = inner

    def _rest(self) -> bytes:
        """What is left of the bytes put back, taken: none are left after."""
        rest = self._first[self._at :]
        self._first, self._at = b"", 0
        return rest

    def read(self, size: int | None = -1) -> bytes:
        left = len(self._first) - self._at
        if not left:
            return self._inner.read(size if size is not None else -1)
        if size is None or size < 0:
            return self._rest() + self._inner.read()
        if size <= left:
            at = self._at
            self._at = at + size
            return self._first[at : at + size]
        # A read across the join: whole, as the readers ask for exact sizes.
        return self._rest() + self._inner.read(size - left)

    def read1(self, size: int = -1) -> bytes:
        """What is at hand: the bytes put back, else one read of the stream below (its
        ``read1`` where it has one), as the runs read a pcapng stream: a pipe's
        packets are not held back, and a gzip stream cut short gives what it holds
        before it fails, not a failed read of a megabyte."""
        left = len(self._first) - self._at
        if not left:
            read: Callable[[int], bytes] = getattr(self._inner, "read1", self._inner.read)
            return read(size)
        if 0 <= size < left:
            at = self._at
            self._at = at + size
            return self._first[at : at + size]
        return self._rest()

    def readable(self) -> bool:
        return True

    def taken_apart(self, before: bytes) -> tuple[bytes, IO[bytes]]:
        """``before`` and what is left of this stream's first bytes, and the stream
        under it: to put more bytes back without stacking a join on a join."""
        return before + self._rest(), self._inner


_MORE, _NOT_SIMPLE, _OTHER_KIND = 0, 1, 2
"""Why :func:`epb_run_py` stopped: the bytes at hand end (or a block goes on past
them), a block that is not simple, a packet of another link type or resolution."""


def epb_run_py(
    buf: bytes, pos: int, big_endian: bool, interfaces: tuple[tuple[int, int], ...]
) -> tuple[bytes, int, tuple[int, int] | None, int]:
    """The simple Enhanced Packet Blocks of a pcapng file from ``buf[pos:]``, as
    classic-pcap records (little-endian, the timestamp in seconds and the fraction of
    the interface's resolution): ``(run, pos after them, (linktype, resolution) or
    None, why it stopped)``. ``interfaces``: each interface's link type and
    resolution (units a second), as scapy read its block.

    Simple: the whole block here, no options (then its length is 32 and the padded
    packet), its trailing length the same, at most 16 MiB of packet, a known interface
    with micro- or nanosecond stamps, and a time before 2106-02-07. A run is of one
    link type and resolution. The reference of ``_pcapwalk.epb_span`` (its last
    three items) and of the C record walk of a span (``_pcapwalk.Records``, which gives
    the frames of the blocks in ``buf`` as a walk of ``run`` would), with which
    :meth:`CaptureFile._simple_blocks` reads them."""
    endian = ">" if big_endian else "<"
    head = struct.Struct(endian + "II").unpack_from
    epb = struct.Struct(endian + "IIIII").unpack_from  # interface, ts, ts, caplen, wire
    tail = struct.Struct(endian + "I").unpack_from
    record = struct.Struct("<IIII").pack
    run = bytearray()
    kind: tuple[int, int] | None = None
    why = _MORE
    while len(buf) - pos >= 8:
        block_type, length = head(buf, pos)
        if block_type != 6 or length % 4 or not 32 <= length <= _MAX_BLOCK:
            why = _NOT_SIMPLE
            break
        if len(buf) - pos < length:
            break  # the rest of the block is still to come
        interface, high, low, caplen, wire = epb(buf, pos + 8)
        if (
            length != 32 + caplen + (-caplen % 4)
            or caplen > _MAX_FRAME
            or tail(buf, pos + length - 4)[0] != length
            or interface >= len(interfaces)
        ):
            why = _NOT_SIMPLE
            break
        linktype, resolution = interfaces[interface]
        if resolution not in (1_000_000, 1_000_000_000):
            why = _NOT_SIMPLE
            break
        sec, frac = divmod(high << 32 | low, resolution)
        if sec >= _MAX_SEC:
            why = _NOT_SIMPLE
            break
        if kind is not None and kind != (linktype, resolution):
            why = _OTHER_KIND
            break
        kind = (linktype, resolution)
        run += record(sec, frac, caplen, wire)
        run += buf[pos + 28 : pos + 28 + caplen]
        pos += length
    return bytes(run), pos, kind, why


def _no_read(size: int) -> bytes:
    """The read of a walk of packet blocks where they lie (a span): never called."""
    raise AssertionError("a span's walk reads nothing")


class _Tap(io.RawIOBase):
    """Wraps a byte stream and remembers whether a record ended cleanly, and where.

    ``mark()`` is called where a pcapng block starts; the
    end of input is clean only if the first read after the mark found nothing.
    ``offset`` counts the bytes read through it from ``offset`` on (the stream's
    place in the file), and ``start`` is where the block being read starts.
    """

    def __init__(self, inner: IO[bytes], offset: int = 0) -> None:
        self._inner = inner
        self.first_read_empty = False
        self._reads = 0
        self.offset = offset
        self.start = offset

    @property
    def inner(self) -> IO[bytes]:
        """The wrapped stream, for readers that check lengths themselves."""
        return self._inner

    def mark(self) -> None:
        self._reads = 0
        self.first_read_empty = False
        self.start = self.offset

    def read(self, size: int | None = -1) -> bytes:
        if size is not None and size > _MAX_BLOCK:
            # scapy reads a pcapng block body in one read of the length it was
            # given: refuse before the stream allocates it.
            raise _Oversized(size)
        data = self._inner.read(size if size is not None else -1)
        if self._reads == 0 and not data:
            self.first_read_empty = True
        self._reads += 1
        self.offset += len(data)
        return data

    def readable(self) -> bool:
        return True


def _room_for_runs() -> None:
    """Have glibc's malloc keep the megabytes that the pcapng runs allocate and free for
    each chunk read (the chunk, the same joined to the block the last read cut, the run
    of records: three at once, where the classic walk holds one). It gives the top of
    its heap back to the kernel when more than twice its mmap threshold is free there,
    and raises that threshold only when a block it mapped is freed (mallopt(3),
    M_MMAP_THRESHOLD): a mapped 3 MiB freed once raises it past them. Without it, the
    kernel faulted each run's pages in again: 25,000 page faults and some 40 ms of
    system time a scan of the ad mix as pcapng (77 MB), against 6,700 with it
    (measured; scapy's import, which every pcapng scan paid before, did as much by
    chance). Elsewhere it is one mapping made and unmade."""
    bytes(3 * _CHUNK)


class _Owners(dict[bytes, bool]):
    """Whether each connection is a shard's, by its raw key (as
    :meth:`capture.net.shard.Shard.owns_raw` takes it); bounded."""

    def __init__(self, shard: Shard) -> None:
        super().__init__()
        self._owns = shard.owns_raw

    def __missing__(self, key: bytes) -> bool:
        if len(self) >= 1 << 16:
            self.clear()
        ours = self[key] = self._owns(key)
        return ours


class _PcapHeader(NamedTuple):
    """The file header of a classic pcap (records are read by CaptureFile)."""

    endian: str
    nano: bool
    linktype: int

    @property
    def per_second(self) -> int:
        """Timestamp fractions per second."""
        return 1_000_000_000 if self.nano else 1_000_000


def _pcap_header(magic: bytes, tap: _Tap) -> _PcapHeader:
    endian, nano = _PCAP_MAGICS[magic]
    rest = tap.read(20)  # version, zone, sigfigs, snap length, link type
    if len(rest) < 20:
        raise _Truncated
    return _PcapHeader(endian, nano, struct.unpack(endian + "16xI", rest)[0])


# pcapng byte-order magic (in the Section Header Block) → int.from_bytes byte order.
_BYTE_ORDERS: dict[bytes, Literal["big", "little"]] = {
    b"\x1a\x2b\x3c\x4d": "big",
    b"\x4d\x3c\x2b\x1a": "little",
}
_IDB, _NRB, _ISB = 1, 4, 5
"""The pcapng blocks read here besides packets: interface descriptions, and the name
resolution and interface statistics blocks, which scapy's reader reads past (dumpcap
ends a capture with statistics)."""
_SHB_MALFORMED = "The first SHB of the pcapng file is malformed !"
"""scapy's words for a first Section Header Block that a read failed in."""


class _PcapngHead(NamedTuple):
    """A pcapng file whose Section Header Block was read here (:func:`_pcapng_start`):
    the rest is read by :meth:`CaptureFile._native_pcapng` until a block it does not
    take, where scapy's reader goes on."""

    big_endian: bool
    section: bytes
    """The block after its first four bytes (the magic), as read: put in front of the
    stream again for scapy's reader."""


def _section_header(tap: _Tap) -> tuple[bool | None, bytes]:
    """Whether the Section Header Block of a pcapng file (read from ``tap``, after the
    magic) is big-endian, and the bytes read; None in place of the byte order when the
    block is not as capture tools write it (a length that is not a multiple of 4, a
    major version other than 1, its two lengths different, cut), which scapy's reader
    then reads again from those bytes, saying what is wrong in its own words.

    Raises :class:`_BadHeader` when a read fails (a damaged gzip stream), with scapy's
    words for it: the header would have failed the same way in scapy's reads."""
    try:
        held = tap.read(8)  # the block length, the byte-order magic
        order = _BYTE_ORDERS.get(held[4:8])
        if order is None:
            return None, held
        length = int.from_bytes(held[:4], order)
        if length < 28 or length % 4 or length > _MAX_BLOCK:
            return None, held
        held += tap.read(length - 12)  # versions, section length, options, length again
    except (OSError, EOFError, zlib.error):
        raise _BadHeader(_SHB_MALFORMED) from None
    if (
        len(held) != length - 4
        or int.from_bytes(held[8:10], order) != 1
        or int.from_bytes(held[-4:], order) != length
    ):
        return None, held
    return order == "big", held


def header_block(buf: bytes, pos: int, big_endian: bool) -> int:
    """The length of the Interface Description, Name Resolution or Interface Statistics
    Block at ``buf[pos:]`` when it is whole there and as capture tools write it (a
    length that is a multiple of 4 and at most 17 MiB, the same at its end, an
    interface's fixed fields there); 0 when more bytes are needed to tell; -1 when the
    block is of another type or not as capture tools write it (scapy's reader is then
    the one that reads it, and says what is wrong)."""
    if len(buf) - pos < 8:
        return 0
    order: Literal["big", "little"] = "big" if big_endian else "little"
    kind = int.from_bytes(buf[pos : pos + 4], order)
    length = int.from_bytes(buf[pos + 4 : pos + 8], order)
    if kind not in (_IDB, _NRB, _ISB) or length % 4 or not 12 <= length <= _MAX_BLOCK:
        return -1
    if kind == _IDB and length < 20:
        return -1  # no room for the link type and snap length
    if len(buf) - pos < length:
        return 0
    if int.from_bytes(buf[pos + length - 4 : pos + length], order) != length:
        return -1
    return length


def _straddled(
    rest: bytes, more: bytes, order: Literal["big", "little"]
) -> tuple[bytes, int, tuple[bytes, int] | None]:
    """``(buf, pos, after)`` to go on with, given the bytes ``rest`` left of a block the
    last read cut and the next read, ``more``: where that block ends in ``more``, the
    block alone (``rest`` and the bytes of ``more`` that end it) and, in ``after``,
    ``more`` and where in it the block ends; else ``rest + more`` (nothing left over,
    a block longer than ``more``, or a length no block has), as ever. A pcapng file
    read a megabyte at a time then costs a block's copy a read, not a megabyte's."""
    if rest:
        head = rest[:8] if len(rest) >= 8 else rest + more[: 8 - len(rest)]
        if len(head) == 8:
            length = int.from_bytes(head[4:8], order)
            need = length - len(rest)
            if length >= 12 and 0 < need < len(more):
                return rest + more[:need], 0, (more, need)
    return rest + more, 0, None


def interface(block: bytes, big_endian: bool) -> tuple[int, int]:
    """The link type and timestamp resolution (units a second) of a whole Interface
    Description Block (as :func:`header_block` takes it), as scapy's reader reads them:
    ``if_tsresol`` (option 9) is 10 to the power of its one byte, or 2 to the power of
    its low 7 bits where the top bit is set; where the option is given more than once
    the last counts, and one whose value is not a single byte leaves a millionth."""
    order: Literal["big", "little"] = "big" if big_endian else "little"
    tsresol: bytes | None = None
    # After the block type, length, link type, reserved and snap length; before the
    # length again.
    for code, length, value in block_options(block[16:-4], big_endian):
        if code == 9 and len(value) == length:
            tsresol = value
    resolution = 1_000_000
    if tsresol is not None and len(tsresol) == 1:
        resolution = (2 if tsresol[0] & 0x80 else 10) ** (tsresol[0] & 0x7F)
    return int.from_bytes(block[8:10], order), resolution


def block_options(options: bytes, big_endian: bool) -> Iterator[tuple[int, int, bytes]]:
    """The options of a pcapng block (``options``: the bytes between its fixed fields
    and its closing length), up to ``opt_endofopt``: each option's code, the length it
    declares, and its value (shorter than that length where the block ends first)."""
    head = struct.Struct(">HH" if big_endian else "<HH").unpack_from
    offset = 0
    while offset + 4 <= len(options):
        code, length = head(options, offset)
        if code == 0:  # opt_endofopt
            break
        value = offset + 4
        yield code, length, options[value : value + length]
        offset = value + length + (-length % 4)


def _pcapng_start(name: str, tap: _Tap, magic: bytes) -> _PcapngHead | RawPcapNgReader:
    """A pcapng file from its Section Header Block on: read here when it is as capture
    tools write it (the rest is then read without scapy, as long as it can be);
    otherwise scapy's reader, opened on the bytes read put back in front."""
    big_endian, held = _section_header(tap)
    if big_endian is not None:
        return _PcapngHead(big_endian, held)
    again = _Tap(cast(IO[bytes], _Joined(held, tap.inner)), tap.offset - len(held))
    return _pcapng_reader(name, again, magic)


def _pcapng_reader(name: str, tap: _Tap, magic: bytes) -> RawPcapNgReader:
    """scapy's pcapng reader in raw mode, with cut-block detection."""
    import logging  # here with scapy: a classic-pcap scan has no use for it

    from scapy.error import Scapy_Exception
    from scapy.utils import RawPcapNgReader

    # scapy logs "PcapNg: Invalid Block body length" and the like on its own logger;
    # we report cut files ourselves, in one line, so its warnings would only repeat us.
    logging.getLogger("scapy.runtime").setLevel(logging.ERROR)

    class PcapNgFrames(RawPcapNgReader):
        def _check_interface_id(self, intid: int) -> bool:
            # A packet of an interface no block described: scapy passes it over in
            # silence (157 of a capture's 259 packets went so), Wireshark stops there
            # with an error. Damage where the file goes on, said as such.
            if intid >= len(self.interfaces):
                raise EOFError(f"a packet of interface {intid}, which no interface block describes")
            return True

        def _read_block(
            self, size: int = _MAX_FRAME
        ) -> tuple[bytes, RawPcapNgReader.PacketMetadata] | None:
            # self.f: the tap it was opened on, or the one _pcapng_runs hands it.
            tap = cast(_Tap, self.f)
            tap.mark()
            try:
                return super()._read_block(size)
            except EOFError as exc:
                if tap.first_read_empty:
                    raise
                # Cut short, or damaged where the file goes on (CaptureFile._damage).
                raise _Truncated(str(exc) or "a block that cannot be read") from None
            except Scapy_Exception as exc:
                # A damaged block after the first (a Section Header Block whose options
                # are cut, found by fuzzing): nothing after it can be trusted.
                raise _Truncated(str(exc) or "a block that cannot be read") from None

    # scapy's reader metaclass opens files by name; this one is already open.
    reader = PcapNgFrames.__new__(PcapNgFrames)
    apps: dict[int, bytes] = {}
    reader.pcapdroid_apps = apps  # type: ignore[attr-defined]
    # Blocks without a packet that Wireshark numbers as frames all the same, since the
    # packet before: a request's frame number is Wireshark's (its Ctrl-G), so they
    # count. _iter_pcapng adds them before its next packet.
    unframed = [0]
    reader.unframed = unframed  # type: ignore[attr-defined]

    def custom_block(body: bytes, size: int) -> None:
        # PCAPdroid's UID map (capture/sources/pcapdroid.py); other custom blocks
        # are passed over, as scapy does with every block it does not know.
        unframed[0] += 1
        mapped = pcapdroid.uid_map(body, reader.endian)
        if mapped is not None:
            uid, package, app = mapped
            apps[uid] = pcapdroid.app_comment(package, app)

    def framed_block(body: bytes, size: int) -> None:
        unframed[0] += 1

    try:
        PcapNgFrames.__init__(reader, name, cast(IO[bytes], tap), magic)
        reader.blocktypes[pcapdroid.CUSTOM_BLOCK] = custom_block
        reader.blocktypes[NO_COPY_CUSTOM_BLOCK] = custom_block
        reader.blocktypes[JOURNAL_BLOCK] = framed_block
        return reader
    except Scapy_Exception as exc:
        raise _BadHeader(str(exc)) from None


def _with_app(comments: tuple[bytes, ...], apps: dict[int, bytes]) -> tuple[bytes, ...]:
    """``comments`` with the app of PCAPdroid's ``u-<uid>`` added (once), when the
    capture's UID map names it."""
    for comment in comments:
        if comment.startswith(pcapdroid.APP_COMMENT):
            return comments  # already resolved (a session saved from such a capture)
    for comment in comments:
        uid = pcapdroid.comment_uid(comment)
        if uid is not None and uid in apps:
            return (*comments, apps[uid])
    return comments


class _Truncated(Exception):
    """Internal: the input stopped inside a record. From the classic-pcap walks, with
    two arguments: a record's length field claims more than any capture holds
    (damage), and they are the bytes read from its start on and the length it claims."""


class _BadHeader(Exception):
    """Internal: scapy found the pcapng header damaged (its message says how)."""


def open_stream(path: str) -> tuple[IO[bytes], str]:
    """``path`` opened for reading (``-``: stdin) and its name for messages. A file that
    starts with gzip's magic is read as what it decompresses to
    (:class:`capture.sources.gunzip.Gunzipped`): every kind of input may be compressed.
    Raises :class:`CaptureError` with one line for the user."""
    if path == "-":
        stream: IO[bytes] = sys.stdin.buffer
        if not hasattr(stream, "peek"):
            stream = io.BufferedReader(stream)  # type: ignore[type-var]
        name = "<stdin>"  # never closed here, whatever reads it
    else:
        stream, name = _open_file(path), path
    try:
        magic = _peek(stream, 2)
    except OSError as exc:
        if path != "-":
            stream.close()
        raise CaptureError(f"{name}: cannot read ({exc.strerror or exc})") from None
    if magic != GZIP_MAGIC:
        return stream, name
    from capture.sources.gunzip import Gunzipped  # here: most inputs are not compressed

    return cast(IO[bytes], Gunzipped(stream)), name


def _open_file(path: str) -> IO[bytes]:
    try:
        return open(path, "rb")
    except OSError as exc:
        raise CaptureError(f"{path}: {open_problem(exc)}") from None


def open_problem(exc: OSError) -> str:
    """Why an input file could not be opened, in the words every reader says it in:
    ``no such file``, ``permission denied``, ..."""
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, IsADirectoryError):
        return "is a directory, not a file"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return f"cannot open ({exc.strerror or exc})"


def compressed_file(stream: IO[bytes]) -> IO[bytes] | None:
    """The gzip file below ``stream`` when :func:`open_stream` decompresses it (its
    position and size are in compressed bytes), else None."""
    below: IO[bytes] | None = getattr(stream, "compressed", None)
    return below


def is_capture_magic(head: bytes) -> bool:
    """Whether a file starting with ``head`` is a pcap or pcapng capture, or gzip."""
    return head[:4] in _PCAP_MAGICS or head[:4] == _PCAPNG_MAGIC or head[:2] == GZIP_MAGIC


def _peek(stream: IO[bytes], n: int) -> bytes:
    peek = getattr(stream, "peek", None)
    if peek is None:
        raise TypeError("stream must support peek()")
    return bytes(peek(n)[:n])


class CaptureFile:
    """Iterate the frames of one capture file or stream.

    Raises :class:`CaptureError` at construction for a missing, unreadable or
    non-capture input. After iteration, :attr:`truncated` says whether the input
    stopped in the middle of a record (every frame before the cut was yielded).
    """

    def __init__(self, path: str, stream: IO[bytes] | None = None) -> None:
        """``stream``: ``path`` as :func:`open_stream` opened it (decompressed), when
        the caller has opened it already; by default it is opened here."""
        self.path = path
        if stream is None:
            stream, self.name = open_stream(path)
        else:
            self.name = "<stdin>" if path == "-" else path
        self._closeable = stream if path != "-" else None
        below = compressed_file(stream)
        self._compressed = below is not None
        self._raw = stream if below is None else below
        self.truncated = False
        self.damage: Damage | None = None
        """Where a record or block that cannot be one was met, if one was: reading
        stopped there, as at a cut (:attr:`truncated` is set too)."""
        self.records = 0
        """Records read so far (frames yielded plus records passed over)."""
        self.bad_timestamps = 0
        """Frames whose timestamp was out of range (before 1970 or after
        :data:`MAX_TS`), clamped into it so that no output fails on them."""
        self.size = 0
        """Bytes in the file (0 for a stream), for progress display, and to tell a
        stream (:attr:`streamed`)."""
        try:
            st = os.fstat(stream.fileno())
            if stat.S_ISREG(st.st_mode):
                self.size = st.st_size
        except (OSError, ValueError, io.UnsupportedOperation):
            pass
        try:
            self._tap = _Tap(stream)
            magic = self._tap.read(4)
        except (OSError, EOFError, zlib.error) as exc:
            self.close()
            raise CaptureError(f"{self.name}: not a readable capture ({exc})") from None
        if not magic:
            self.close()
            raise CaptureError(f"{self.name}: empty file, not a capture")
        try:
            reader: _PcapHeader | _PcapngHead | RawPcapNgReader
            if magic in _PCAP_MAGICS:
                reader = _pcap_header(magic, self._tap)
            elif magic == _PCAPNG_MAGIC:
                reader = _pcapng_start(self.name, self._tap, magic)
            else:
                start = printable_bytes(magic)
                raise CaptureError(
                    f'{self.name}: not a pcap or pcapng file (starts with "{start}")'
                )
        except _Truncated:
            self.close()
            raise CaptureError(f"{self.name}: damaged capture header (cut short)") from None
        except _Oversized:
            self.close()
            raise CaptureError(f"{self.name}: damaged capture header (impossible length)") from None
        except CaptureError:
            self.close()
            raise
        except (_BadHeader, EOFError, OSError, zlib.error) as exc:
            self.close()
            raise CaptureError(f"{self.name}: damaged capture header ({exc})") from None
        self._reader = reader
        self.linktype: int | None = getattr(reader, "linktype", None)

    def __iter__(self) -> Iterator[Frame]:
        return self.frames()

    @property
    def streamed(self) -> bool:
        """Whether this input is not a regular file (stdin, a pipe, a FIFO): its frames
        may come as they are captured (``tcpdump -w - | headerwatch scan -``), and what
        is read of it must not wait on what has not come yet."""
        return not self.size

    def frames(
        self,
        skip: dict[bytes, bool | int] | None = None,
        touched: dict[bytes, float] | None = None,
        shard: Shard | None = None,
        probe: Callable[[bytes], bool] | None = None,
        segments: bool = False,
        verdicts: list[bytes] | None = None,
        foreign: set[Any] | None = None,
    ) -> Generator[Frame, None, None]:
        """The frames of the capture, in order.

        With ``skip`` (see :attr:`capture.net.reassembly.Reassembler.skip`), classic-pcap
        Ethernet records that :func:`capture.net.decode.skippable` finds in it are passed
        over without becoming frames, their time (whole seconds) recorded in
        ``touched``; this is the hot path of a file scan, where most records are
        acknowledgements and response bodies. A :data:`TICK` frame (no data, the
        whole second as time) then comes before the first record of each new
        second, passed over or not, so that time passes at the same records
        whatever is skipped. :attr:`records` counts every record read.

        With a table and ``shard`` too (a process of a split scan), those records
        of IPv4 connections that are not the shard's are passed over as well,
        handshake and close included, without a note in ``touched``: what another
        process reads changes nothing here. A record of a connection with an entry
        in the table is handled by the table, whoever's it is (a connection of
        another process that reached the reassembler, through a record that is not
        plain IPv4, is tracked there, its close included). With ``foreign`` too
        (:attr:`capture.net.reassembly.Reassembler.foreign`: the open connections of
        other processes that the table can hold keys of), the shard is tested
        first, and while ``foreign`` is empty another process's record is passed
        over before its key is made or looked up: the table then holds no key of
        another process's connection, so the look-up could only miss.

        With a table and ``probe`` too
        (:func:`capture.http.stream.first_head_settles`), a record of a probed
        direction (an ``int`` in the table: the sequence number of its first byte)
        that carries that first byte, its whole payload captured, and whose payload
        ``probe`` says settles the probe, is passed over too (noted in ``touched``),
        and a :data:`VERDICT` frame, the key as its data, comes in its place. The C
        walk has the same test built in; ``probe`` is then only a switch.

        With ``probe`` and ``verdicts`` (a list) too, such a verdict whose connection's
        other direction has an entry in the table is settled without a frame: its
        entry becomes ``True`` (what :meth:`capture.net.reassembly.Reassembler.ignore_probed`
        makes it) and its key is appended to ``verdicts``, for the caller to read
        before it handles the next frame. The other direction's entry says that the
        table is up to date for the connection (its peer holds nothing out of order),
        so nothing the walk passes over before then depends on the rest of the
        verdict; without it, a :data:`VERDICT` frame comes as before. A scan then pays
        no frame and no trip through the generators for most connections' verdicts.

        With ``segments`` too, a classic-pcap Ethernet record that
        :func:`capture.net.decode.plain_segment` decodes comes as a :data:`SEGMENT`
        frame holding its segment, decoded here (in C, in the C walk): a scan then
        makes no frame object and no Python decoding call for it. Frames with zero
        MAC addresses (PCAPdroid's, whose trailer names an app) stay frames.
        """
        reader = self._reader
        try:
            if isinstance(reader, _PcapHeader):
                # read1() returns what a pipe has now, so a live stream on stdin is
                # not held back.
                stream = self._tap.inner
                read = getattr(stream, "read1", stream.read)
                if reader.linktype != 1 or touched is None:
                    skip = None  # only Ethernet frames are passed over, by the table
                segments = segments and reader.linktype == 1
                if _pcapwalk is None:
                    yield from self._iter_pcap(
                        reader, read, skip, touched, shard, probe, segments, verdicts, foreign
                    )
                else:
                    # The C walk iterated here, not through a generator of its own:
                    # every frame of a scan passes this way.
                    walker = self._pcap_walker(
                        reader, read, skip, touched, shard, probe, segments, verdicts, foreign
                    )
                    try:
                        yield from walker
                    finally:
                        self.records = walker.records
            else:
                walk = None
                if _pcapwalk is not None and skip is not None and touched is not None:
                    walk = _Walk(skip, touched, shard, probe, segments, verdicts, foreign)
                    _room_for_runs()
                # Each run's C walk iterated here, as a classic pcap's is (see above).
                for piece in self._pcapng_pieces(reader, walk):
                    yield from piece
        except (_Truncated, _Oversized) as exc:
            # The end inside a record, or a damaged one: nothing after it can be trusted.
            self.truncated = True
            self.damage = self._damage(exc)
        except (OSError, EOFError, zlib.error):
            # A gzip stream cut short or a read error mid-file: what came before stands.
            self.truncated = True
        finally:
            self.close()

    def _damage(self, stop: _Truncated | _Oversized) -> Damage | None:
        """What the walk's ``stop`` inside a record says: the :class:`Damage` met, or None
        when the input simply ended there (a cut). Classic pcap: the walks say which
        (a length no capture has). pcapng: a block scapy could not read is damage where
        the file goes on after it, and a cut where it does not (from a stream, a cut: a
        byte read to tell would wait on a writer that may be slow)."""
        reader = self._reader
        if isinstance(reader, _PcapHeader):
            if not stop.args:
                return None
            held, claimed = stop.args
            stream = self._tap.inner
            try:
                start: int | None = stream.tell() - held
            except (OSError, ValueError):
                start = None  # a pipe
            where = f"record {self.records + 1:,}"
            if start is not None:
                where += f", byte {start:,}"
            why = f"its length field says {claimed:,} bytes, more than any capture holds"
            return Damage(where, why, self._unread(stream, start, held))
        if isinstance(reader, _PcapngHead):
            return None  # the end inside a block read here (_simple_blocks): a cut
        tap = cast(_Tap, reader.f)
        more = b""
        if self.size:
            with contextlib.suppress(OSError, EOFError, zlib.error):
                more = tap.inner.read(1)
        if isinstance(stop, _Oversized):
            why = f"a block length of over {stop.args[0]:,} bytes, more than any capture holds"
        elif more:
            why = printable(stop.args[0]) if stop.args else "a block that cannot be read"
        else:
            return None  # the file ends inside the block
        packets = f"after packet {self.records:,}" if self.records else "before any packet"
        where = f"byte {tap.start:,}, {packets}"
        held = tap.offset - tap.start + len(more)
        return Damage(where, why, self._unread(tap.inner, tap.start, held))

    def _unread(self, stream: IO[bytes], start: int | None, held: int) -> int | None:
        """Bytes of the file from ``start`` (a damaged record's offset, ``held`` bytes of
        which were read) to its end; None for a stream, which is not read on."""
        if not self.size:
            return None
        if not self._compressed and start is not None:
            return self.size - start
        rest = held
        try:
            while chunk := stream.read(_CHUNK):
                rest += len(chunk)
        except (OSError, EOFError, zlib.error):
            return None  # the compression is damaged too: how much is left is not known
        return rest

    def _iter_pcap(
        self,
        reader: _PcapHeader,
        read: Callable[[int], bytes],
        skip: dict[bytes, bool | int] | None,
        touched: dict[bytes, float] | None,
        shard: Shard | None,
        probe: Callable[[bytes], bool] | None = None,
        segments: bool = False,
        verdicts: list[bytes] | None = None,
        foreign: set[Any] | None = None,
    ) -> Iterator[Frame]:
        # The file header gave byte order, resolution and link type; the
        # records are cut out of large reads here, in one tight loop: this is the
        # hot path of every file scan, and scapy's per-record reader costs twice as
        # much and cannot tell a cut record from the end of the file.
        # Not mmap: it saves the copies (5-8% of a scan's CPU, measured), but a file
        # truncated while mapped (a capture tool's ring buffer reusing it) kills the
        # process with SIGBUS, losing what was not yet written out.
        linktype = reader.linktype
        # Integer arithmetic first: sec + usec * 1e-6 is off in the last bit for
        # some values, and sessions must round-trip timestamps exactly.
        per_second = reader.per_second
        unpack_from = struct.Struct(reader.endian + "III").unpack_from  # wire length unused
        split = shard is not None and shard.count > 1
        owners = _Owners(shard or Shard(0, 1))
        # Another process's records passed over before the table is looked at
        # (see frames()): while this set is empty.
        foreign_known = split and foreign is not None
        tracked: set[Any] = foreign if foreign is not None else set()
        # The second of the last TICK: none at all without a table.
        tick_sec = -1 if touched is not None else 1 << 64
        buf = b""
        size = 0  # len(buf)
        pos = 0
        records = self.records
        try:
            while True:
                if pos + 16 <= size:
                    sec, frac, caplen = unpack_from(buf, pos)
                    end = pos + 16 + caplen
                else:
                    end = pos + 16  # not even the record header is here yet
                if end > size:
                    if end - pos > 16 + _MAX_FRAME:
                        # A damaged record: nothing after it can be trusted.
                        raise _Truncated(size - pos, caplen)
                    if pos < size:
                        # A record cut by the last read: fetch only its rest. Joining
                        # it to a whole new chunk would allocate a fresh megabyte per
                        # chunk, which malloc maps and the kernel faults in page by
                        # page: 0.2 s of system time per 380 MB (measured).
                        more = read(end - size)
                        if not more:
                            raise _Truncated
                        buf = buf[pos:] + more
                    else:
                        buf = read(_CHUNK)
                        if not buf:
                            return
                    size = len(buf)
                    pos = 0
                    continue
                if sec > tick_sec:
                    tick_sec = sec
                    self.records = records
                    yield Frame(float(sec), TICK, b"")
                records += 1
                if skip is not None:
                    # capture.net.decode.skippable, inlined: this runs for every record
                    # of a scan, and the call alone would cost a tenth of the scan.
                    # tests/capture/test_pipeline.py checks that the two agree.
                    # h holds frame bytes 12-47: ethertype to TCP flags.
                    h = buf[pos + 28 : pos + 64]
                    if (
                        caplen >= 54
                        and h[0:3] == b"\x08\x00\x45"
                        and h[11] == 6
                        and not h[8] & 0x3F
                        and not h[9]
                    ):
                        # Untagged IPv4, nearly every record: plain_tcp written out.
                        key = h[14:26]
                        tcp = pos + 50
                        ip_end = pos + 30 + (h[4] << 8 | h[5])
                    else:
                        where = plain_tcp(buf, pos + 16, end) if caplen >= 54 else None
                        if where is None:
                            key = None
                        else:
                            key = buf[where[0] : where[1]]
                            tcp, ip_end = where[2], where[3]
                    if key is not None:
                        if foreign_known and not tracked and not owners[key]:
                            pos = end
                            continue
                        whole = skip.get(key)
                        if whole is None:
                            if split and not owners[key]:
                                pos = end
                                continue
                        elif not buf[tcp + 13] & 0x07:
                            doff = buf[tcp + 12] >> 4 << 2
                            if whole is True or ip_end == tcp + doff:
                                touched[key] = sec  # type: ignore[index]
                                pos = end
                                continue
                            if (
                                probe is not None
                                and type(whole) is int
                                and tcp + 20 <= ip_end
                                and tcp + doff < ip_end <= end
                                and whole == int.from_bytes(buf[tcp + 4 : tcp + 8], "big")
                                and probe(buf[tcp + doff : ip_end])
                            ):
                                # A probed direction's first segment settled the probe.
                                touched[key] = sec  # type: ignore[index]
                                pos = end
                                if verdicts is not None and peer_raw_key(key) in skip:
                                    skip[key] = True  # quietly: see frames()
                                    verdicts.append(key)
                                    continue
                                self.records = records
                                yield Frame(float(sec), VERDICT, key)
                                continue
                self.records = records
                ts = (sec * per_second + frac) / per_second
                frame = buf[pos + 16 : end]
                pos = end
                if segments and not frame.startswith(_ZERO_MACS):
                    seg = plain_segment(ts, frame)
                    if seg is not None:
                        yield Frame(ts, SEGMENT, seg)  # type: ignore[arg-type]
                        continue
                yield Frame(ts, linktype, frame)
        finally:
            self.records = records

    def _pcap_walker(
        self,
        reader: _PcapHeader,
        read: Callable[[int], bytes],
        skip: dict[bytes, bool | int] | None,
        touched: dict[bytes, float] | None,
        shard: Shard | None,
        probe: Callable[[bytes], bool] | None = None,
        segments: bool = False,
        verdicts: list[bytes] | None = None,
        foreign: set[Any] | None = None,
        span: tuple[bytes, int, int] | None = None,
    ) -> _pcapwalk.Records:
        """:meth:`_iter_pcap`, with the loop in C: it counts :attr:`records` on from
        where they are, set before each frame (the caller reads the count from it
        when done). ``span``: instead of records from ``read``, the simple pcapng
        packet blocks of ``bytes[start:end]`` (:meth:`_run_walker`)."""
        assert _pcapwalk is not None
        return _pcapwalk.Records(
            read,
            reader.endian == ">",
            reader.per_second,
            reader.linktype,
            skip,
            touched,
            0 if shard is None else shard.index,
            1 if shard is None else shard.count,
            self,
            Frame,
            _Truncated,
            probe is not None,
            Segment if segments else None,
            verdicts,
            foreign,
            span,
        )

    def _pcapng_pieces(
        self, reader: _PcapngHead | RawPcapNgReader, walk: _Walk | None
    ) -> Iterator[Iterable[Frame]]:
        """The frames of a pcapng file in pieces: each run of simple packet blocks as
        the C record walk of it, each packet scapy's reader reads as a frame alone.
        :meth:`frames` iterates each piece itself: a run's frames then pass through no
        generator of their own."""
        if isinstance(reader, _PcapngHead):
            scapy = yield from self._native_pcapng(reader, walk)
            if scapy is None:
                return
            reader = self._reader = scapy
        yield from self._iter_pcapng(reader, walk)

    def _native_pcapng(
        self, head: _PcapngHead, walk: _Walk | None
    ) -> Generator[Iterable[Frame], None, RawPcapNgReader | None]:
        """The pieces of a pcapng file whose Section Header Block was read here: its
        interface, name resolution and statistics blocks are read here too, and with
        ``walk`` its simple packet blocks go through the C record walk in runs
        (:meth:`_simple_blocks`), so that a file as dumpcap, editcap or tshark write it
        is read without scapy (whose import would cost a scan 55-80 ms of CPU and
        28 MB). At the first block taken neither way, returns scapy's reader, to go
        on from there (:meth:`_iter_pcapng`): the Section Header and Interface
        Description Blocks read so far, then that block and the rest, are put in front
        of it, so that it reads that block knowing the interfaces, as it would have
        read it from the start. None at the end of the file."""
        tap = self._tap
        stream = tap.inner
        read = getattr(stream, "read1", stream.read)
        kept = [head.section]
        rest, fetched, _ = yield from self._simple_blocks(read, head.big_endian, [], walk, kept)
        if not rest:
            return None  # the end, between blocks
        replay = b"".join(kept)
        # The tap counts from where the replayed bytes would start, so that when they
        # are read it says the place in the file of the block that follows.
        start = tap.offset + fetched - len(rest) - len(replay)
        again = _Tap(cast(IO[bytes], _Joined(replay + rest, stream)), start)
        return _pcapng_reader(self.name, again, _PCAPNG_MAGIC)

    def _iter_pcapng(
        self, reader: RawPcapNgReader, walk: _Walk | None = None
    ) -> Iterator[Iterable[Frame]]:
        """The pieces of a pcapng file, each block read by scapy's reader; with ``walk``,
        after each packet it reads, the simple ones that follow in runs through the C
        record walk (:meth:`_pcapng_runs`), until a block that is not."""
        read = reader._read_packet
        apps: dict[int, bytes] = getattr(reader, "pcapdroid_apps", {})
        unframed: list[int] = getattr(reader, "unframed", [0])
        misses = 0
        while True:
            try:
                data, meta = read(_MAX_FRAME)
            except EOFError:
                return
            # A Simple Packet Block has no timestamp.
            ts = 0.0 if meta.tshigh is None else ((meta.tshigh << 32) | meta.tslow) / meta.tsresol
            if not 0.0 <= ts <= MAX_TS:
                # 64 bits of seconds (if_tsresol 0) reach far past year 9999, where
                # dates fail to format and sessions cannot write them back.
                ts = MAX_TS if ts > 0 else 0.0
                self.bad_timestamps += 1
            comments = tuple(meta.comments) if meta.comments else ()
            if comments and apps:
                comments = _with_app(comments, apps)
            self.records += 1 + unframed[0]
            unframed[0] = 0
            yield (Frame(ts, meta.linktype, data, comments),)
            if walk is not None:
                # What follows, while it is simple, goes the classic way; then scapy
                # goes on from there, and after its next packet the runs are tried
                # again (a file's later interface), until twice in a row they find
                # nothing simple (PCAPdroid's, whose every packet has a comment).
                took = yield from self._pcapng_runs(reader, walk)
                misses = 0 if took else misses + 1
                if misses == 2:
                    walk = None

    def _pcapng_runs(
        self, reader: RawPcapNgReader, walk: _Walk
    ) -> Generator[Iterable[Frame], None, bool]:
        """The simple Enhanced Packet Blocks that follow a packet scapy's ``reader`` read
        (:meth:`_simple_blocks`); then the bytes read ahead go back in front of the
        stream and scapy's reader goes on from the block that was not simple, as it
        would have read it. True when a run was read."""
        tap = cast(_Tap, reader.f)
        stream = tap.inner
        read = getattr(stream, "read1", stream.read)
        # An interface block ends the runs, so the interfaces stay what they are here.
        interfaces = [(linktype, options["tsresol"]) for linktype, _, options in reader.interfaces]
        rest, fetched, took = yield from self._simple_blocks(
            read, reader.endian == ">", interfaces, walk, None
        )
        offset = tap.offset + fetched - len(rest)
        if isinstance(stream, _Joined):
            rest, stream = stream.taken_apart(rest)
        reader.f = cast(IO[bytes], _Tap(cast(IO[bytes], _Joined(rest, stream)), offset))
        return took

    def _simple_blocks(
        self,
        read: Callable[[int], bytes],
        big_endian: bool,
        interfaces: list[tuple[int, int]],
        walk: _Walk | None,
        kept: list[bytes] | None,
    ) -> Generator[Iterable[Frame], None, tuple[bytes, int, bool]]:
        """The pcapng blocks read with ``read`` while each is simple: with ``walk``, the
        Enhanced Packet Blocks as runs of classic-pcap records, each given as the C
        record walk of it (:meth:`_run_walker`), so that a pcapng file's
        acknowledgements and response bodies are passed over as a classic pcap's are,
        and its plain segments decoded in C; with ``kept`` (a list), the interface, name
        resolution and statistics blocks too (:func:`header_block`), each interface's
        added to ``interfaces`` (link type, resolution) and its block to ``kept``.
        Returns the bytes read from the first block not taken on (empty at the end of
        the input), the bytes read here, and whether a run was. Where the input ends
        inside a block, those bytes are that block's (for scapy's reader to say it is
        cut), or with ``kept`` :class:`_Truncated` is raised, as scapy's reader would
        have.

        A simple Enhanced Packet Block is whole, without options (no comment:
        PCAPdroid's name apps in them), of a known interface whose timestamps are in
        micro- or nanoseconds and before 2106: then its record says the same as scapy's
        reading of it. A run ends with the bytes at hand (a pipe's frames are not held
        back) or where the interface's link type or timestamp resolution changes."""
        buf = b""
        pos = 0
        # The read a block straddled into, and where in it that block ends: the block is
        # walked alone (buf), then the read where it lies, not copied onto the rest.
        after: tuple[bytes, int] | None = None
        took = False
        fetched = 0
        order: Literal["big", "little"] = "big" if big_endian else "little"
        while True:
            why = _NOT_SIMPLE
            if walk is not None:
                assert _pcapwalk is not None
                start = pos
                # The list itself, as it grows: a tuple of it made again for each
                # interface block took 102 s for a 4 MB file of 200,000 of them.
                pos, kind, why = _pcapwalk.epb_span(buf, pos, big_endian, interfaces)
                if kind is not None:
                    took = True
                    walker = self._run_walker(buf, start, pos, big_endian, kind, walk)
                    yield walker
                    self.records = walker.records  # with the records passed over at its end
                if why == _OTHER_KIND:
                    continue
            if why == _NOT_SIMPLE:
                length = -1 if kept is None else header_block(buf, pos, big_endian)
                if length < 0:
                    break
                if length:
                    block = buf[pos : pos + length]
                    if kept is not None and int.from_bytes(block[:4], order) == _IDB:
                        interfaces.append(interface(block, big_endian))
                        kept.append(block)
                    pos += length
                    continue
            if after is not None:
                # The straddling block is read: on in the read it came from (with what
                # is left of the block, where it was not whole after all: damage).
                more, start = after
                after = None
                buf, pos = (more, start) if pos == len(buf) else (buf[pos:] + more[start:], 0)
                continue
            more = read(_CHUNK)
            if not more:
                if kept is not None and pos < len(buf):
                    # The end inside a block whose lengths scapy's reader would take
                    # (or before its lengths): it would say the file is cut there.
                    raise _Truncated
                break
            fetched += len(more)
            buf, pos, after = _straddled(buf[pos:], more, order)
        return buf[pos:] if after is None else buf[pos:] + after[0][after[1] :], fetched, took

    def _run_walker(
        self,
        buf: bytes,
        start: int,
        end: int,
        big_endian: bool,
        kind: tuple[int, int],
        walk: _Walk,
    ) -> _pcapwalk.Records:
        """The C record walk of the Enhanced Packet Blocks of ``buf[start:end]``, where
        they lie (simple, of one link type and timestamp resolution, ``kind``:
        ``_pcapwalk.epb_span`` found them so), the table and the rest as :meth:`frames`
        was given them; it counts :attr:`records` on from where they are."""
        linktype, per_second = kind
        return self._pcap_walker(
            _PcapHeader(">" if big_endian else "<", per_second == 1_000_000_000, linktype),
            _no_read,
            walk.skip,
            walk.touched,
            walk.shard,
            walk.probe,
            walk.segments and linktype == 1,
            walk.verdicts,
            walk.foreign,
            span=(buf, start, end),
        )

    @property
    def splittable(self) -> bool:
        """Whether processes of a split scan can each read this file and pass over the
        others' records: a classic pcap, or a pcapng where the C record walk was built
        (its runs, :meth:`_pcapng_runs`, take the shard)."""
        return self.passes_over or _pcapwalk is not None

    @property
    def passes_over(self) -> bool:
        """Whether :meth:`frames` applies a skip table itself (classic pcap does)."""
        return isinstance(self._reader, _PcapHeader)

    @property
    def position(self) -> int:
        """Bytes of the file consumed so far (compressed bytes for gzip)."""
        if self._closeable is None or self._raw.closed:
            return self.size
        try:
            return self._raw.tell()
        except (OSError, ValueError):
            return 0

    def close(self) -> None:
        """Close the underlying file (not stdin)."""
        if self._closeable is not None:
            self._closeable.close()
            self._closeable = None
