"""Which process of a split scan reads which connection."""

from __future__ import annotations

import random

import pytest

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
