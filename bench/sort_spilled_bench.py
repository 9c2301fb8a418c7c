"""Sorting the request list's window when its rows were spilled to disk.

A store bounded as the live dashboard's (``LIVE_STORE_BYTES``) takes ``--rows``
requests, most of them spilled; the list's window (``DEFAULT_WINDOW`` rows) is then
sorted by host, as ``o`` does, at the oldest rows (after ``g``: all spilled) and at
the newest (following: partly spilled). A third figure is a sorted list taking in a
batch the store spilled before the list saw it (``--batch`` rows, a live batch
larger than memory). Figures are wall time, best of ``--repeat``, page cache warm.

Run: python bench/sort_spilled_bench.py [--rows 200000] [--batch 10000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from capture.view.order import BY_NAME, SortedRows
from capture.view.store import Store
from tests.tui.fakes import O2_FINDING, OK, record
from tui.cmd_live import LIVE_STORE_BYTES
from tui.request_list import DEFAULT_WINDOW

HOSTS = [f"host{i % 97:02d}.example" for i in range(97)]
AGENT = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/120 Mobile"


def _fill(store: Store, first: int, last: int) -> None:
    for i in range(first, last + 1):
        host = HOSTS[i % len(HOSTS)]
        headers = [("Host", host), ("User-Agent", AGENT), ("Accept", "*/*")]
        findings = (O2_FINDING,) if i % 3 == 0 else ()
        response = OK if i % 2 else None
        store.add(
            record(i, host, f"/p/{i}?q=1", headers=headers, findings=findings, response=response)
        )


def _best(repeat: int, run: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    store = Store(max_bytes=LIVE_STORE_BYTES)
    _fill(store, 1, args.rows)
    # The list's source of sort fields (a tree before bulk reading sorted by entries).
    fields = getattr(store, "sort_fields", store.get)
    host = BY_NAME["host"]
    print(f"{args.rows:,} requests, {store.spilled:,} spilled; window {DEFAULT_WINDOW:,} rows")
    for where, first in (("oldest", 1), ("newest", args.rows - DEFAULT_WINDOW + 1)):
        ids = list(range(first, first + DEFAULT_WINDOW))
        spilled = sum(store.held(i) is None for i in ids)
        spent = _best(args.repeat, lambda ids=ids: SortedRows(host, False, fields, ids))
        print(f"  sort the {where} window ({spilled:,} spilled): {spent * 1e3:7.1f} ms")
    top = args.rows
    _fill(store, top + 1, top + args.batch)
    batch = list(range(top + 1, top + args.batch + 1))
    spilled = sum(store.held(i) is None for i in batch)

    def take_in() -> None:
        rows = SortedRows(host, False, fields, ())
        if hasattr(store, "sort_fields"):
            rows.add(batch)
        else:
            for rid in batch:
                rows.add(rid)  # type: ignore[arg-type]

    spent = _best(args.repeat, take_in)
    print(f"  a batch of {args.batch:,} ({spilled:,} spilled in it): {spent * 1e3:7.1f} ms")
    store.close()


if __name__ == "__main__":
    main()
