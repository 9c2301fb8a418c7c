"""Canaries at scale: ``scan`` of one capture with 3 canaries, then with 20,000.

A report, not a test. A fleet of test SIMs means thousands of phone numbers,
each looked for in ~80 forms (national, international, URL-encoded, base64, hex,
MD5/SHA-1/SHA-256 in either case). The whole command is timed, as a user runs
it (``headerwatch scan --canary-file FILE CAPTURE``): reading the list, building
the matcher, scanning. Both lists hold the number the capture's identity headers
carry, so both runs must report the same canary findings. Target: 20,000
canaries take at most twice the time of 3, in CPU time (user + system of the
scan process, best of N): wall-clock time is printed too, but on a shared
machine it depends on the other jobs' load.

    python bench/canary_bench.py [--requests 50000] [--rounds 3] [--capture FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.gen_capture import frames  # noqa: E402
from tests.packets.writer import write_pcap  # noqa: E402

IN_CAPTURE = "+447700900123"
"""The number gen_capture.py puts in an x-up-calling-line-id header of 5% of requests."""


def canary_file(path: Path, count: int) -> Path:
    """``count`` phone numbers (UK drama range and US 555), the capture's among them."""
    lines = [f"msisdn {IN_CAPTURE}"]
    for i in range(1, count):
        # Half UK (+44 7700 9xxxxx), half US (+1 201 555 xxxx): all distinct.
        lines.append(
            f"msisdn +4477009{i // 2 + 200:05d}" if i % 2 else f"msisdn +1201555{i // 2:04d}"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_scan(capture: Path, canaries: Path) -> tuple[float, float, int, float]:
    """(CPU seconds, wall seconds, canary findings, peak RSS in MB) of one ``scan``
    (one process). CPU time (user + system of the child) is the gauge: on a shared
    machine the wall-clock time of the same run varies with the other jobs' load."""
    argv = [
        sys.executable,
        "-c",
        "import resource, sys\n"
        "from tui.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
        "sys.exit(code)\n",
        "scan",
        "--jobs",
        "1",
        "--only-identity",
        "--canary-file",
        str(canaries),
        str(capture),
    ]
    before = os.times()
    start = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, check=True)
    seconds = time.perf_counter() - start
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    found = sum(
        1
        for line in result.stdout.splitlines()
        for f in json.loads(line)["findings"]
        if f["detector"] == "canary"
    )
    rss_kb = int(result.stderr.strip().splitlines()[-1])
    return cpu, seconds, found, rss_kb / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50_000, help="requests in the capture")
    parser.add_argument("--rounds", type=int, default=3, help="best of N runs each")
    parser.add_argument("--many", type=int, default=20_000, help="canaries in the large list")
    parser.add_argument("--capture", help="scan this capture instead of a generated one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="canary-bench-") as tmp:
        work = Path(tmp)
        if args.capture:
            capture = Path(args.capture)
        else:
            capture = work / "capture.pcap"
            write_pcap(str(capture), frames(args.requests, args.requests // 10, bodies="small"))
        size = os.path.getsize(capture) / 1e6
        print(f"capture: {capture.name}, {size:.1f} MB ({args.requests:,} requests)")
        results = {}
        for count in (3, args.many):
            listed = canary_file(work / f"canaries-{count}.txt", count)
            runs = [run_scan(capture, listed) for _ in range(args.rounds)]
            best = min(runs)
            results[count] = best
            wall = min(run[1] for run in runs)
            print(
                f"{count:>6,} canaries: {best[0]:6.2f} s CPU, {wall:6.2f} s wall "
                f"(best of {args.rounds}), {best[2]:,} canary findings, "
                f"peak RSS {best[3]:.0f} MB"
            )
        few, many = results[3], results[args.many]
        ratio = many[0] / few[0]
        verdict = "met" if ratio <= 2.0 else "NOT met"
        print(
            f"ratio {args.many:,} / 3 canaries: {ratio:.2f}x CPU time (target <= 2x: {verdict}); "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
        )
        if few[2] != many[2]:
            print(f"MISMATCH: {few[2]} findings with 3 canaries, {many[2]} with {args.many:,}")
            sys.exit(1)


if __name__ == "__main__":
    main()
