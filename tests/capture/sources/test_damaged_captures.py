"""Real captures with damaged bytes: the scan never crashes, and a split scan says
exactly what one process says.

Each case takes a capture of the shared corpus and damages it as disks, cut
downloads and broken capture tools do: flipped bytes, holes, repeated stretches,
a record length gone wild. Whatever the damage, ``scan`` must end with an exit
code and one-line messages, never a traceback, in every output format; and the
split scan (:mod:`capture.scan_jobs`) must write the same bytes as the single one.
"""

from __future__ import annotations

import gzip
import io
import random
from pathlib import Path

import pytest

from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.scan import scan

PCAP_MAGICS = (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
CASES = 150
WILD_LENGTHS = (b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x00\x01\x00\x00")


def _corpus(pcaps_dir: Path) -> list[tuple[str, bytes]]:
    files = sorted(pcaps_dir.rglob("*.pcap*")) + sorted(pcaps_dir.rglob("*.gz"))
    corpus = []
    for path in files:
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        if data[:4] in (*PCAP_MAGICS, PCAPNG_MAGIC) and len(data) < 1_000_000:
            corpus.append((str(path.relative_to(pcaps_dir)), data))
    return corpus


def _damage(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 10)):
        # The file header stays whole most of the time: past it is where damage tells.
        start = 24 if rng.random() < 0.95 else 0
        if len(out) <= start + 1:
            break
        at = rng.randrange(start, len(out))
        roll = rng.random()
        if roll < 0.6:
            out[at] = rng.getrandbits(8)
        elif roll < 0.7:
            del out[at : at + rng.randint(1, 64)]
        elif roll < 0.8:
            out[at:at] = rng.randbytes(rng.randint(1, 64))
        elif roll < 0.9:
            source = rng.randrange(start, len(out))
            out[at:at] = out[source : source + rng.randint(1, 2000)]
        else:
            # A length field gone wild, if it lands on one.
            out[at : at + 4] = rng.choice(WILD_LENGTHS)
    return bytes(out)


@pytest.fixture(scope="module")
def corpus(pcaps_dir: Path) -> list[tuple[str, bytes]]:
    return _corpus(pcaps_dir)


@pytest.fixture(scope="module")
def detector() -> IdentityDetector:
    return IdentityDetector(IdentityConfig(region="GB", msisdns=("07700 900123",)))


def _scan(path: Path, detector: IdentityDetector, fmt: str, jobs: int) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = scan([str(path)], fmt=fmt, detector=detector, out=out, err=err, jobs=jobs)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("case", range(CASES))
def test_a_damaged_capture_is_scanned_without_a_crash(
    case: int, corpus: list[tuple[str, bytes]], detector: IdentityDetector, tmp_path: Path
) -> None:
    rng = random.Random(case)
    name, data = rng.choice(corpus)
    damaged = _damage(data, rng)
    suffix = ".pcapng" if data[:4] == PCAPNG_MAGIC else ".pcap"
    path = tmp_path / f"damaged{suffix}"
    path.write_bytes(damaged)
    fmt = ("jsonl", "table", "har")[case % 3]
    single = _scan(path, detector, fmt, jobs=1)
    code, _, err = single
    assert code in (0, 1, 2), f"{name}: exit {code}"
    for line in err.splitlines():
        assert line.startswith("headerwatch: "), f"{name}: {line!r}"
    if suffix == ".pcap" and fmt == "jsonl":
        assert _scan(path, detector, fmt, jobs=2 + case % 3) == single, name
