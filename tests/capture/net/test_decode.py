"""Link/IP/TCP decoding on raw bytes, one test per encapsulation (packets built with scapy)."""

from __future__ import annotations

import struct

import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop
from scapy.layers.l2 import GRE, Dot1AD, Dot1Q, Ether
from scapy.layers.ppp import PPP, PPPoE

from capture.net.decode import (
    LINKTYPE_C_HDLC,
    LINKTYPE_ETHERNET,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_LOOP,
    LINKTYPE_NFLOG,
    LINKTYPE_NULL,
    LINKTYPE_PPP,
    LINKTYPE_RAW,
    Decoder,
)

PAYLOAD = b"GET / HTTP/1.1\r\n\r\n"
TCP4 = IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=1234, dport=80, seq=7, flags="PA") / PAYLOAD
TCP6 = (
    IPv6(src="2001:db8::1", dst="2001:db8::2")
    / TCP(sport=1234, dport=80, seq=7, flags="PA")
    / PAYLOAD
)


def decode(linktype: int, data: bytes) -> tuple[str, int, str, int, int, bytes] | None:
    seg = Decoder().decode(1.0, linktype, data)
    if seg is None:
        return None
    import socket

    fam = socket.AF_INET if len(seg.src) == 4 else socket.AF_INET6
    return (
        socket.inet_ntop(fam, seg.src),
        seg.sport,
        socket.inet_ntop(fam, seg.dst),
        seg.dport,
        seg.seq,
        seg.payload,
    )


V4 = ("10.0.0.1", 1234, "10.0.0.2", 80, 7, PAYLOAD)
V6 = ("2001:db8::1", 1234, "2001:db8::2", 80, 7, PAYLOAD)


@pytest.mark.parametrize(
    ("linktype", "frame", "expected"),
    [
        (LINKTYPE_ETHERNET, bytes(Ether() / TCP4), V4),
        (LINKTYPE_ETHERNET, bytes(Ether() / TCP6), V6),
        (LINKTYPE_ETHERNET, bytes(Ether() / Dot1Q(vlan=5) / TCP4), V4),
        (LINKTYPE_ETHERNET, bytes(Ether() / Dot1AD(vlan=5) / Dot1Q(vlan=0) / TCP4), V4),
        (
            LINKTYPE_ETHERNET,
            bytes(Ether(type=0x8847)) + bytes.fromhex("0001004000020140") + bytes(TCP4),
            V4,
        ),
        (LINKTYPE_ETHERNET, bytes(Ether() / PPPoE(sessionid=1) / PPP(proto=0x0021) / TCP4), V4),
        (
            LINKTYPE_ETHERNET,
            bytes(Ether(type=0x8864))
            + bytes.fromhex("1100000100")
            + b"\x00"
            + b"\x21"
            + bytes(TCP4),
            V4,
        ),  # PPP protocol field compressed to one byte
        (
            LINKTYPE_ETHERNET,
            bytes(Ether(dst="ff:ff:ff:ff:ff:ff", type=len(TCP4) + 8))
            + bytes.fromhex("aaaa030000000800")
            + bytes(TCP4),
            V4,
        ),  # 802.3 LLC/SNAP
        (LINKTYPE_RAW, bytes(TCP4), V4),
        (LINKTYPE_RAW, bytes(TCP6), V6),
        (LINKTYPE_NULL, struct.pack("<I", 2) + bytes(TCP4), V4),
        (LINKTYPE_NULL, struct.pack("<I", 30) + bytes(TCP6), V6),
        (LINKTYPE_NULL, struct.pack(">I", 2) + bytes(TCP4), V4),  # captured on a big-endian host
        (LINKTYPE_LOOP, struct.pack(">I", 24) + bytes(TCP6), V6),
        (LINKTYPE_LINUX_SLL, bytes(16 - 2) + b"\x08\x00" + bytes(TCP4), V4),
        (LINKTYPE_LINUX_SLL2, b"\x86\xdd" + bytes(18) + bytes(TCP6), V6),
        (LINKTYPE_C_HDLC, b"\x0f\x00\x08\x00" + bytes(TCP4), V4),
        (LINKTYPE_PPP, b"\xff\x03\x00\x21" + bytes(TCP4), V4),
        (
            LINKTYPE_ETHERNET,
            bytes(
                Ether()
                / IPv6(src="2001:db8::1", dst="2001:db8::2")
                / IPv6ExtHdrHopByHop()
                / IPv6ExtHdrDestOpt()
                / TCP(sport=1234, dport=80, seq=7, flags="PA")
                / PAYLOAD
            ),
            V6,
        ),
        (
            LINKTYPE_ETHERNET,
            bytes(
                Ether()
                / IPv6(src="2001:db8::1", dst="2001:db8::2")
                / IPv6ExtHdrFragment(offset=0, m=0)
                / TCP(sport=1234, dport=80, seq=7, flags="PA")
                / PAYLOAD
            ),
            V6,
        ),
        (
            LINKTYPE_ETHERNET,
            bytes(
                Ether()
                / IP(src="10.0.0.1", dst="10.0.0.2", options=b"\x01" * 4)
                / TCP(sport=1234, dport=80, seq=7, flags="PA")
                / PAYLOAD
            ),
            V4,
        ),
    ],
    ids=[
        "ether4",
        "ether6",
        "vlan",
        "qinq",
        "mpls2",
        "pppoe",
        "pppoe-pfc",
        "llc-snap",
        "raw4",
        "raw6",
        "null-le",
        "null6",
        "null-be",
        "loop6",
        "sll",
        "sll2",
        "chdlc",
        "ppp",
        "ipv6-ext",
        "ipv6-atomic-frag",
        "ipv4-options",
    ],
)
def test_encapsulations(linktype: int, frame: bytes, expected: tuple[object, ...]) -> None:
    assert decode(linktype, frame) == expected


def test_nflog() -> None:
    ip = bytes(TCP4)
    tlv_prefix = struct.pack("<HH", 8, 1) + b"\x08\x00\x00\x00"  # NFULA_PACKET_HDR-ish
    payload_tlv = struct.pack("<HH", 4 + len(ip), 9) + ip + b"\0" * (-(len(ip)) % 4)
    frame = b"\x02\x00\x00\x00" + tlv_prefix + payload_tlv
    assert decode(LINKTYPE_NFLOG, frame) == V4


def test_ethernet_padding_is_not_payload() -> None:
    bare = IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=1, dport=2, flags="A")
    frame = bytes(Ether() / bare) + b"\0" * 6  # padded to the 60-byte minimum
    seg = Decoder().decode(1.0, LINKTYPE_ETHERNET, frame)
    assert seg is not None and seg.payload == b"" and seg.missing == 0


def test_snaplen_cut_is_counted_as_missing() -> None:
    frame = bytes(Ether() / TCP4)[:-5]
    seg = Decoder().decode(1.0, LINKTYPE_ETHERNET, frame)
    assert seg is not None and seg.payload == PAYLOAD[:-5] and seg.missing == 5


@pytest.mark.parametrize(
    ("linktype", "frame", "reason"),
    [
        (LINKTYPE_ETHERNET, bytes(Ether() / IP() / UDP() / b"x"), "IP protocol 17"),
        (
            LINKTYPE_ETHERNET,
            bytes(Ether() / IP(flags="MF", len=12) / TCP()),
            "bad IP fragment header",
        ),
        (LINKTYPE_ETHERNET, bytes(Ether() / IP() / GRE() / TCP4), "IP protocol 47"),
        (LINKTYPE_ETHERNET, bytes(Ether(type=0x0806)) + bytes(28), "ethertype 0x0806"),
        (LINKTYPE_ETHERNET, bytes(Ether() / TCP4)[:30], "truncated IP header"),
        (LINKTYPE_ETHERNET, b"\x00" * 5, "truncated link header"),
        (147, b"anything", "link type 147"),
        (LINKTYPE_RAW, b"\x70" + bytes(40), "IP version 7"),
    ],
)
def test_unusable_frames_are_counted_by_reason(linktype: int, frame: bytes, reason: str) -> None:
    decoder = Decoder()
    assert decoder.decode(1.0, linktype, frame) is None
    assert decoder.skipped == {reason: 1}


def test_a_fragment_is_held_for_reassembly_not_skipped() -> None:
    """capture/net/fragments.py puts them back together (tests/capture/net/test_fragments.py)."""
    decoder = Decoder()
    for frame in (bytes(Ether() / IP(flags="MF") / TCP()), bytes(Ether() / IP(frag=10) / TCP())):
        assert decoder.decode(1.0, LINKTYPE_ETHERNET, frame) is None
    assert not decoder.skipped
    assert decoder.fragments.counts()["ip_fragments"] == 2


def test_garbage_never_raises() -> None:
    import random

    rng = random.Random(7)
    decoder = Decoder()
    for _ in range(3000):
        linktype = rng.choice([0, 1, 9, 12, 101, 104, 108, 113, 239, 276])
        frame = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 80)))
        decoder.decode(1.0, linktype, frame)
    assert sum(decoder.skipped.values()) > 0
