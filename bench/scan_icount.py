#!/usr/bin/env python3
"""Instructions per request of ``headerwatch scan``, counted by callgrind.

Wall-clock timings on a shared VM drift by ±20% from one minute to the next;
instruction counts do not (with a fixed hash seed), so this is the measure for
deciding whether a change to the hot path helps. It is not a substitute for
``scan_bench.py`` (the ratio to tshark), only a steady A/B gauge:

    python bench/scan_icount.py            # on this checkout
    python bench/scan_icount.py --bodies small   # the small-responses mix
    python bench/scan_icount.py --bodies small --connections 1000   # 2 requests a connection
    python bench/scan_icount.py --no-echoes      # as if no reflector echo were looked for
    python bench/scan_icount.py --bodies ad --canaries   # with scan_bench's 3 canaries
    python bench/scan_icount.py --bodies mid --detection-cost   # without / with / 3 canaries
    python bench/scan_icount.py --bodies ad --jobs 2   # the parent of a split scan alone
    git stash; python bench/scan_icount.py; git stash pop   # before/after

It scans a generated capture (2,000 requests, web mix unless --bodies) and an empty one (start-up
alone) under ``valgrind --tool=callgrind`` and prints both totals and the
difference per request. Needs valgrind (``apt-get install valgrind``).

``--no-detection``, ``--detection`` and ``--canaries`` scan as ``scan_bench.py``'s
closing lines do (``capture.scan.scan`` in one process, output to /dev/null, the
detector built as there: none, ``--region GB``, or that with its 3 canaries);
``--detection-cost`` counts all three and prints what detection costs over none,
the instruction-count twin of those lines: whole processes, start-up included, so
that detection's fixed costs count whether they come at start-up (the detector and
its canaries) or at first use (libphonenumber, imported by the first number). It
then counts the three on the same mix a tenth the size and prints, from the two,
what each costs a request once its fixed costs are paid, and those fixed costs.
With a single mode, start-up is counted on the empty capture in the same mode and
left out.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from scan_bench import DETECTION_MODES, ensure_capture, scan_code

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
sys.path.insert(0, str(HERE.parent))


def instructions(
    capture: Path,
    echoes: bool = True,
    extra: Sequence[str] = (),
    mode: str | None = None,
    jobs: int = 1,
) -> int:
    """Instructions executed by one ``headerwatch scan`` of ``capture`` (``extra``:
    more options for scan); with ``echoes`` False, its pipeline looks for no
    reflector's echo (the A/B reference for what reading echoes costs). With
    ``mode`` (one of :data:`DETECTION_MODES`), the scan is the one of
    ``scan_bench.py``'s detection-cost lines instead (``extra`` unused). With ``jobs``
    above 1, a split scan: the instructions of its parent alone (the merge)."""
    # As a user runs it, and as scan_bench.py does: bytecode cached, output buffered
    # (unbuffered, one process writes through the text layer: ~5% more on the ad mix).
    drop = ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["PYTHONHASHSEED"] = "0"  # dict and set layouts change the count otherwise
    # One process: callgrind follows only this one (or counts the parent apart).
    argv = ["scan", "--jobs", str(jobs), *extra, str(capture)]
    code = f"import sys; from tui.cli import main; sys.exit(main({argv!r}))"
    if mode is not None:
        code = scan_code(capture, mode)
    # Both runs import the pipeline first: imported before the command line freezes its
    # start-up objects, it leaves another heap layout, worth ~170 instructions a request
    # of the A/B's difference that is not echo work.
    prefix = "import capture.pipeline as p; "
    if not echoes:
        # Pipeline(detector, limits, responses, shard, echoes): echoes off by default.
        prefix += (
            "d = p.Pipeline.__init__.__defaults__; "
            "p.Pipeline.__init__.__defaults__ = (*d[:-1], False); "
        )
    code = prefix + code
    return callgrind(["-c", code], env)


def callgrind(args: Sequence[str], env: dict[str, str]) -> int:
    """Instructions callgrind counts in ``python ARGS`` run with ``env``: that
    process's alone (a process it forks is counted too, and printed apart)."""
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         "--trace-children=no", sys.executable, *args],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    _, stderr = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"valgrind exited with {proc.returncode}:\n{stderr[-500:]}")
    match = re.search(rf"=={proc.pid}== Collected : (\d+)", stderr)
    if match is None:
        raise SystemExit(f"callgrind printed no count:\n{stderr[-500:]}")
    return int(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument(
        "--connections", type=int, help="connections in the capture (default: requests / 10)"
    )
    parser.add_argument(
        "--no-echoes", action="store_true", help="scan without looking for reflector echoes"
    )
    parser.add_argument(
        "--bodies",
        default="web",
        help="the mix: gen_capture.py's body mix (web, mid, small), or ad (ad and "
        "analytics requests from many clients), ad-phone (the same from one phone), or "
        "recorded (request heads browsers and apps really sent)",
    )
    parser.add_argument(
        "--detection",
        choices=DETECTION_MODES,
        help="scan as scan_bench.py's detection-cost lines do: without a detector (none), "
        "with the default one (plain), or with its 3 canaries (canaries)",
    )
    parser.add_argument(
        "--no-detection",
        dest="detection",
        action="store_const",
        const="none",
        help="the same as --detection none",
    )
    parser.add_argument(
        "--canaries",
        dest="detection",
        action="store_const",
        const="canaries",
        help="the same as --detection canaries (scan_bench.py's 3 canaries)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="scan with this many processes and count the parent alone (its merge of "
        "their lines: start-up and fork left out, per request = per output line)",
    )
    parser.add_argument(
        "--detection-cost",
        action="store_true",
        help="count all three --detection modes and print detection's cost over none",
    )
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")

    from tests.packets.writer import write_pcap

    connections = args.connections or max(1, args.requests // 10)
    capture = ensure_capture(args.requests, connections, args.bodies)
    empty = OUT / "icount-empty.pcap"
    write_pcap(str(empty), [])
    echoes = not args.no_echoes
    if args.detection_cost:
        instructions(empty, echoes, mode="canaries")  # uncounted: bytecode caches written
        # Whole processes, as scan_bench.py's wall-clock lines time them: what detection
        # costs at start-up and what it costs at first use (libphonenumber is imported
        # by the first number) count alike.
        startup = instructions(empty, echoes, mode="none")
        whole = {mode: instructions(capture, echoes, mode=mode) for mode in DETECTION_MODES}
        bare = whole["none"]
        per = {mode: (total - startup) / args.requests for mode, total in whole.items()}
        print(
            f"{capture.name}{'' if echoes else ' (no echoes)'}, whole process: without "
            f"detection {bare / 1e6:,.0f} M instructions, with {whole['plain'] / 1e6:,.0f} M "
            f"({whole['plain'] / bare - 1:+.1%}), with 3 canaries "
            f"{whole['canaries'] / 1e6:,.0f} M ({whole['canaries'] / bare - 1:+.1%}); per "
            f"request, the start-up of a scan without detection left out: "
            f"{per['none']:,.0f}, {per['plain']:,.0f}, {per['canaries']:,.0f}"
        )
        # The same mix a tenth the size, same requests a connection: the difference
        # between the two is what each mode costs a request once its fixed costs
        # (start-up, libphonenumber's import and first parses, the canaries) are paid.
        small_requests = args.requests // 10
        small = ensure_capture(small_requests, max(1, connections // 10), args.bodies)
        part = {mode: instructions(small, echoes, mode=mode) for mode in DETECTION_MODES}
        grows = {
            mode: (whole[mode] - part[mode]) / (args.requests - small_requests)
            for mode in DETECTION_MODES
        }
        fixed = {mode: part[mode] - small_requests * grows[mode] for mode in DETECTION_MODES}
        print(
            f"  against {small.name}: per request, fixed costs left out, without detection "
            f"{grows['none']:,.0f}, with {grows['plain']:,.0f} "
            f"({grows['plain'] / grows['none'] - 1:+.1%}), with 3 canaries "
            f"{grows['canaries']:,.0f} ({grows['canaries'] / grows['none'] - 1:+.1%}); "
            f"fixed costs of detection {(fixed['plain'] - fixed['none']) / 1e6:,.0f} M, "
            f"with 3 canaries {(fixed['canaries'] - fixed['none']) / 1e6:,.0f} M"
        )
        return
    if args.detection is not None:
        instructions(empty, echoes, mode=args.detection)  # uncounted: bytecode caches
        per_request = _per_request(capture, empty, args.requests, echoes, args.detection)
        print(
            f"{capture.name}{'' if echoes else ' (no echoes)'} (detection {args.detection}): "
            f"{per_request:,.0f} instructions per request"
        )
        return
    jobs = args.jobs
    instructions(capture, echoes, jobs=jobs)  # uncounted: bytecode caches written
    startup = instructions(empty, echoes, jobs=jobs)
    total = instructions(capture, echoes, jobs=jobs)
    print(
        f"{capture.name}{'' if echoes else ' (no echoes)'}"
        f"{f' (the parent of scan --jobs {jobs})' if jobs > 1 else ''}: "
        f"start-up {startup / 1e6:,.0f} M instructions; scan of {args.requests:,} requests "
        f"{total / 1e6:,.0f} M; {(total - startup) / args.requests:,.0f} per request"
    )


def _per_request(capture: Path, empty: Path, requests: int, echoes: bool, mode: str) -> float:
    """Instructions per request of a scan of ``capture`` in ``mode``, start-up left out."""
    startup = instructions(empty, echoes, mode=mode)
    return (instructions(capture, echoes, mode=mode) - startup) / requests


if __name__ == "__main__":
    main()
