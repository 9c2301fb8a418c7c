"""Re-filtering the dashboard's 100,000 stored requests: the "< 0.5 s" target.

A report, not a test: the real dashboard (Textual's headless run) holds N
synthetic requests (1 in 10 through a carrier proxy adding
``x-up-calling-line-id``); each expression is applied twice through the filter
bar's own path (``MainScreen.apply_filter`` and its worker). The first run
builds each entry's search texts; the second is what every later re-filter
costs. Prints seconds and the ratio to the target (< 1 is within it).
``bench/filter_bench.py`` measures the store alone.

Run: python bench/dashboard_filter_bench.py [--entries N]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from capture.model import RequestSeen
from tests.tui.fakes import make_app, o2_record, record
from tui.messages import EventsArrived

TARGET = 0.5
EXPRESSIONS = (
    "~d bbc",
    "~id msisdn & !~d example",
    "~h 'x-up-calling-line-id: 4477'",
    "~u /p/1",
    "",
)


async def run(n: int) -> None:
    app = make_app()
    records = [
        o2_record(i) if i % 10 == 0 else record(i, f"host{i % 500}.example", f"/p/{i}")
        for i in range(1, n + 1)
    ]
    async with app.run_test(size=(120, 30)) as pilot:
        app.post_message(EventsArrived([RequestSeen(r) for r in records]))
        await pilot.pause()
        print(f"dashboard filter, {n:,} stored requests, target {TARGET} s (warm)")
        print(f"{'expression':<36} {'cold s':>8} {'warm s':>8} {'warm/target':>12}")
        for expr in EXPRESSIONS:
            times = []
            for _ in range(2):
                start = time.perf_counter()
                app.main.apply_filter(expr)
                await app.workers.wait_for_complete()
                await pilot.pause()
                times.append(time.perf_counter() - start)
            cold, warm = times
            print(f"{expr or '(none)':<36} {cold:>8.3f} {warm:>8.3f} {warm / TARGET:>12.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    asyncio.run(run(parser.parse_args().entries))


if __name__ == "__main__":
    main()
