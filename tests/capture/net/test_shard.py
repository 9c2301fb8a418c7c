"""Which process of a split scan reads which connection."""

from __future__ import annotations

import random
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capture.net.shard import Shard


@pytest.mark.parametrize("count", [1, 2, 3, 4])
def test_every_connection_has_one_shard_whichever_way_it_is_seen(count: int) -> None:
    rng = random.Random(count)
    shards = [Shard(i, count) for i in range(count)]
    tally = [0] * count
    for _ in range(2000):
        a, b = rng.randbytes(rng.choice([4, 16])), rng.randbytes(4)
        b = b if len(a) == 4 else rng.randbytes(16)
        key = (a, rng.randrange(65536), b, rng.randrange(65536))
        back = (key[2], key[3], key[0], key[1])
        owners = [s.index for s in shards if s.owns(key)]
        assert len(owners) == 1
        assert shards[owners[0]].owns(back)
        tally[owners[0]] += 1
    # Spread evenly enough that no process waits long for another.
    assert min(tally) > 2000 / count * 0.8


def test_one_shard_counts_what_belongs_to_no_connection() -> None:
    assert [Shard(i, 3).counts_flowless for i in range(3)] == [True, False, False]


def _reference_owner(key: tuple[bytes, int, bytes, int], count: int) -> int:
    """The shard of a connection as defined: the CRC-32 of its lower endpoint (address,
    then port in two bytes, big-endian), then the other, modulo the count."""
    src, sport, dst, dport = key
    a, b = src + sport.to_bytes(2, "big"), dst + dport.to_bytes(2, "big")
    return zlib.crc32(a + b if a < b else b + a) % count


_ADDRESS = st.sampled_from([b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02", b"\xff" * 4]) | st.binary(
    min_size=4, max_size=4
)
_PORT = st.sampled_from([0, 80, 255, 256, 65535]) | st.integers(0, 65535)


@given(_ADDRESS, _PORT, _ADDRESS, _PORT, st.integers(1, 4), st.booleans())
def test_a_shard_owns_what_the_definition_gives_it(
    src: bytes, sport: int, dst: bytes, dport: int, count: int, six: bool
) -> None:
    """Same addresses, same ports, ports that differ in either byte: owns() and
    owns_raw() (the walk's key) agree with the definition, IPv6 included."""
    if six:
        src, dst = src * 4, dst * 4
    key = (src, sport, dst, dport)
    owner = _reference_owner(key, count)
    assert [Shard(i, count).owns(key) for i in range(count)] == [i == owner for i in range(count)]
    if not six:
        raw = src + dst + sport.to_bytes(2, "big") + dport.to_bytes(2, "big")
        assert Shard(owner, count).owns_raw(raw)
