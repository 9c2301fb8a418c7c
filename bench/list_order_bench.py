"""CPU cost of the request list taking in rows, in time order and sorted by a column.

The dashboard (headless, 120x40) is fed ``--rows`` crafted requests in batches of
``--batch``, as the capture thread hands them over, and each batch is drawn. The
figure is the UI thread's CPU time (``time.process_time``), best of ``--repeat``.
Time order is the default path; ``host`` and ``identities`` are sorted views
(``o``), kept sorted by inserting each new row at its place. Run on a tree without
sorting, it measures time order only (an A/B of the default path).

Run: python bench/list_order_bench.py [--rows 5000] [--batch 50] [--repeat 3] [--orders time]

For an A/B of the default path, count instructions (PYTHONHASHSEED=0) with
``valgrind --tool=callgrind`` at ``--rows 0`` (start-up alone) and ``--rows 1000
--orders time`` on both trees: the difference over 1,000 is the cost of a row.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from tests.tui.fakes import O2_FINDING, make_app, record, seen
from tui.messages import EventsArrived

HOSTS = [f"host{i % 97:02d}.example" for i in range(97)]


async def _run(rows: int, batch: int, order: str) -> float:
    app = make_app(source_name="bench")
    async with app.run_test(size=(120, 40)) as pilot:
        requests = app.main.requests
        if order != "time":
            from capture.view.order import BY_NAME  # absent on a tree without sorting

            requests.sort_by(BY_NAME[order], BY_NAME[order].descending)
        records = [
            record(i, HOSTS[i % len(HOSTS)], findings=(O2_FINDING,) if i % 3 == 0 else ())
            for i in range(1, rows + 1)
        ]
        await pilot.pause()
        start = time.process_time()
        for first in range(0, rows, batch):
            app.post_message(EventsArrived(seen(records[first : first + batch])))
            await pilot.pause()
        spent = time.process_time() - start
        assert len(requests.ids) == rows
        return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--orders", default="time,host,identities", help="comma-separated (time only for A/B)"
    )
    args = parser.parse_args()
    orders = args.orders.split(",")
    try:
        import capture.view.order  # noqa: F401
    except ImportError:
        orders = ["time"]
    print(f"{args.rows} rows in batches of {args.batch}, 120x40, CPU s best of {args.repeat}")
    for order in orders:
        best = min(asyncio.run(_run(args.rows, args.batch, order)) for _ in range(args.repeat))
        per_row = best / args.rows * 1e6
        print(f"  {order:<11} {best:6.3f} s  ({per_row:5.1f} µs a row)")


if __name__ == "__main__":
    main()
