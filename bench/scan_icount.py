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
    git stash; python bench/scan_icount.py; git stash pop   # before/after

It scans a generated capture (2,000 requests, web mix unless --bodies) and an empty one (start-up
alone) under ``valgrind --tool=callgrind`` and prints both totals and the
difference per request. Needs valgrind (``apt-get install valgrind``).
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

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
sys.path.insert(0, str(HERE.parent))


def instructions(capture: Path, echoes: bool = True, extra: Sequence[str] = ()) -> int:
    """Instructions executed by one ``headerwatch scan`` of ``capture`` (``extra``:
    more options for scan); with ``echoes`` False, its pipeline looks for no
    reflector's echo (the A/B reference for what reading echoes costs)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE",)}
    env["PYTHONHASHSEED"] = "0"  # dict and set layouts change the count otherwise
    # One process: callgrind follows only this one.
    argv = ["scan", "--jobs", "1", *extra, str(capture)]
    code = f"import sys; from tui.cli import main; sys.exit(main({argv!r}))"
    if not echoes:
        # Pipeline(detector, limits, responses, shard, echoes): echoes off by default.
        code = (
            "import capture.pipeline as p; d = p.Pipeline.__init__.__defaults__; "
            "p.Pipeline.__init__.__defaults__ = (*d[:-1], False); " + code
        )
    proc = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         sys.executable, "-c", code],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True,
    )  # fmt: skip
    match = re.search(r"Collected : (\d+)", proc.stderr)
    if match is None:
        raise SystemExit(f"callgrind printed no count:\n{proc.stderr[-500:]}")
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
        "--bodies", default="web", help="gen_capture.py's body mix (web, small, ...)"
    )
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    from scan_bench import ensure_capture

    from tests.packets.writer import write_pcap

    connections = args.connections or max(1, args.requests // 10)
    capture = ensure_capture(args.requests, connections, args.bodies)
    empty = OUT / "icount-empty.pcap"
    write_pcap(str(empty), [])
    echoes = not args.no_echoes
    instructions(capture, echoes)  # uncounted: bytecode caches written
    startup = instructions(empty, echoes)
    total = instructions(capture, echoes)
    print(
        f"{capture.name}{'' if echoes else ' (no echoes)'}: "
        f"start-up {startup / 1e6:,.0f} M instructions; scan of {args.requests:,} requests "
        f"{total / 1e6:,.0f} M; {(total - startup) / args.requests:,.0f} per request"
    )


if __name__ == "__main__":
    main()
