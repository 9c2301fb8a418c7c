#!/usr/bin/env python3
"""Instructions per event of ``headerwatch scan --input suricata``, counted by callgrind.

The steady A/B gauge for the eve.json path (parse, pipeline, detection, JSONL out),
as ``scan_icount.py`` is for captures: wall and CPU time on a shared VM drift by
±20%, instruction counts (fixed hash seed) do not. It is not the throughput figure
(``engine_log_bench.py`` prints that), only a way to tell whether a change helps:

    python bench/eve_icount.py                 # 5,000 events of engine_log_bench's mix
    git stash; python bench/eve_icount.py; git stash pop   # before/after

It scans a generated eve.json (``engine_log_bench.write_eve``, the same mix as the
throughput bench) and an empty one (start-up alone) under
``valgrind --tool=callgrind`` and prints the difference per event. Needs valgrind.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
sys.path.insert(0, str(HERE.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--format", default="jsonl", help="scan's --format")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    from engine_log_bench import write_eve
    from scan_icount import instructions

    OUT.mkdir(exist_ok=True)
    eve = OUT / f"icount-eve-{args.events}.json"
    if not eve.exists():
        write_eve(eve, args.events)
    empty = OUT / "icount-eve-empty.json"
    empty.write_bytes(b"")
    extra = ["--input", "suricata", "--format", args.format]
    instructions(eve, extra=extra)  # untimed: bytecode caches written
    startup = instructions(empty, extra=extra)
    total = instructions(eve, extra=extra)
    print(
        f"start-up {startup / 1e6:,.0f} M instructions; scan of {args.events:,} events "
        f"{total / 1e6:,.0f} M; {(total - startup) / args.events:,.0f} per event"
    )


if __name__ == "__main__":
    main()
