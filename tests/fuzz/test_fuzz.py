"""Fuzzing every parser entry point (tests/fuzz/targets.py): real seeds mutated, and
random bytes. No input may raise anything but the entry point's documented one-line
error, or hang.

CI runs a short fixed budget, the same inputs every time (derandomized). The long run
(docs/fuzzing.md) sets ``HEADERWATCH_FUZZ_EXAMPLES``, and is random each time:

    HEADERWATCH_FUZZ_EXAMPLES=10000 .venv/bin/python -m pytest tests/fuzz -q
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.targets import ROOT, TARGETS, FuzzTarget

LONG = int(os.environ.get("HEADERWATCH_FUZZ_EXAMPLES", "0"))
EXAMPLES = LONG or 200
REPORT = os.environ.get("HEADERWATCH_FUZZ_REPORT")
"""A file to append one JSON line per target to: inputs run, seconds (the long run)."""

# Values that sit on the edges of length and offset fields.
_EDGES = [0, 1, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF]


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """One of ``seeds`` with a few mutations: bit flips, inserted, deleted and
    repeated bytes, a cut, edge values written over length fields."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.integers(0, 6))
        pos = draw(st.integers(0, len(data)))
        if op == 0 and data:
            data[min(pos, len(data) - 1)] ^= 1 << draw(st.integers(0, 7))
        elif op == 1:
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif op == 2:
            del data[pos : pos + draw(st.integers(1, 64))]
        elif op == 3:
            del data[pos:]
        elif op == 4:
            value = draw(st.sampled_from(_EDGES))
            data[pos : pos + 4] = struct.pack(draw(st.sampled_from(["<I", ">I"])), value)
        elif op == 5 and data:
            start = draw(st.integers(0, len(data) - 1))
            data[pos:pos] = data[start : start + draw(st.integers(1, 256))]
        elif op == 6:
            data[pos : pos + 1] = bytes([draw(st.sampled_from(b"\x00\n\r :\"'~\\\xff"))])
    return bytes(data)


def check(target: FuzzTarget, data: bytes) -> None:
    """Run ``data``: it may fail only with a documented error, in one line."""
    try:
        target.run(data)
    except target.expected as exc:
        # A one-line message for the user, as the commands print it.
        assert str(exc) and "\n" not in str(exc), repr(exc)


@st.composite
def unit_mutated(draw: st.DrawFn, target: FuzzTarget, seeds: list[bytes]) -> bytes:
    """A seed cut into units by ``target.split`` (the frames of a capture), a few units
    mutated, cut, repeated, dropped or swapped, and the input written back around
    them: the mutations reach the decoders instead of the file's framing."""
    assert target.split is not None
    head, units, join = target.split(draw(st.sampled_from(seeds)))
    if not units:
        return head
    for _ in range(draw(st.integers(1, 6))):
        i = draw(st.integers(0, len(units) - 1))
        unit = bytearray(units[i])
        op = draw(st.integers(0, 5))
        # Headers are at the front: most mutations land in the first 80 bytes.
        pos = draw(st.integers(0, min(len(unit), 80)))
        if op == 0 and unit:
            unit[min(pos, len(unit) - 1)] ^= 1 << draw(st.integers(0, 7))
        elif op == 1:
            del unit[pos:]
        elif op == 2:
            value = draw(st.sampled_from(_EDGES)) & 0xFFFF
            unit[pos : pos + 2] = value.to_bytes(2, draw(st.sampled_from(["big", "little"])))
        elif op == 3:
            units.insert(draw(st.integers(0, len(units))), bytes(unit))
        elif op == 4:
            j = draw(st.integers(0, len(units) - 1))
            units[i], units[j] = units[j], units[i]
            continue
        elif op == 5:
            unit[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        units[i] = bytes(unit)
    return join(head, units)


@pytest.mark.timeout(0 if LONG else 120)
@pytest.mark.parametrize("target", TARGETS, ids=[t.name for t in TARGETS])
def test_no_input_raises_more_than_its_one_line_error(target: FuzzTarget) -> None:
    seeds = target.seeds()
    assert seeds, f"{target.name}: no seeds"
    for seed in seeds:  # the seeds themselves first
        check(target, seed)
    count = 0
    started = time.monotonic()
    inputs = [mutated(seeds), st.binary(max_size=2048)]
    if target.split is not None:
        inputs.append(unit_mutated(target, seeds))

    @settings(
        max_examples=EXAMPLES,
        deadline=timedelta(seconds=5),
        derandomize=not LONG,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.one_of(*inputs))
    def fuzz(data: bytes) -> None:
        nonlocal count
        count += 1
        check(target, data)

    fuzz()
    if REPORT:
        line = {"target": target.name, "inputs": count, "seconds": time.monotonic() - started}
        with open(REPORT, "a") as out:
            out.write(json.dumps(line) + "\n")


def test_a_run_leaves_no_scratch_directory_behind() -> None:
    wrote = "from tests.fuzz.targets import _as_file; print(_as_file(b'x', 'input'))"
    result = subprocess.run(
        [sys.executable, "-c", wrote], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    scratch = Path(result.stdout.strip()).parent
    assert scratch.name.startswith("headerwatch-fuzz-")
    assert not scratch.exists()
