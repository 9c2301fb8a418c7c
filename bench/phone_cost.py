#!/usr/bin/env python3
"""What libphonenumber costs identity detection: at import, per region, per number.

Every phone number headerwatch reports is read by Google's libphonenumber
(``capture/identity/phone.py``): on traffic where many subscribers' numbers pass, its
cost grows with the numbers, not with the requests. This prints the three parts:

* its import, as the first number of a scan makes it (``phone.libphonenumber()``):
  CPU time of a fresh process after the detector's own imports, less the same
  process without it (median of 7 pairs);
* a number's first reading, in a loop of readings alone (``phone.parse_lenient`` or
  ``parse_e164``, each number new): microseconds a number for 2,000 numbers of each
  of three forms;
* inside one scan (``capture.scan.scan``, ``--jobs 1``, scan_bench.py's detector,
  ``--region GB``, output to /dev/null) of a capture, by default scan_bench.py's ad
  and analytics capture:
  the time spent in libphonenumber's calls (timed where phone.py makes them, its walk
  of a shared country code's regions, ``phone._typed``, as one call), the
  regular-expression compiles among it (each region's patterns are compiled at their
  first use), and how many distinct values were read;
* the import and the calls together, as a share of the same scan without detection
  (CPU time of fresh ``--jobs 1`` processes, as scan_bench.py's detection-cost lines
  take it): the part of detection's +20% budget libphonenumber takes alone.

    python bench/phone_cost.py [--capture FILE]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from scan_bench import _plain_config, ensure_capture, process_cpu, scan_code  # noqa: E402

# The calls phone.py makes, or made (libphonenumber's API, phone.libphonenumber()).
_CALLS = (
    "parse",
    "is_possible_number",
    "number_type",
    "is_valid_number",
    "is_valid_number_for_region",
    "region_code_for_number",
    "region_codes_for_country_code",
    "format_number",
)


def import_cost(pairs: int = 7) -> float:
    """Median CPU seconds the library's import, as the detector makes it
    (``phone.libphonenumber()``: its API without the package's other modules), adds to
    a fresh process."""
    base = "import capture.identity.detector"
    imported = "; from capture.identity.phone import libphonenumber; libphonenumber()"
    costs = []
    for _ in range(pairs):
        with_import = process_cpu(base + imported, HERE.parent)
        without = process_cpu(base, HERE.parent)
        costs.append(with_import - without)
    return statistics.median(costs)


def reading_costs(count: int = 2000) -> list[tuple[str, float]]:
    """Microseconds of CPU a first reading takes, for ``count`` new numbers of each form."""
    from capture.identity import phone

    phone.parse_lenient("447700900123", "GB")  # the import and the UK patterns, first
    rng = random.Random(5)
    forms: list[tuple[str, Callable[[str], Any], list[str]]] = [
        (
            "UK mobile, international digits, --region GB (parse_lenient)",
            lambda text: phone.parse_lenient(text, "GB"),
            [f"447{rng.randrange(10**9):09d}" for _ in range(count)],
        ),
        (
            "US number, international digits, --region GB (parse_lenient)",
            lambda text: phone.parse_lenient(text, "GB"),
            [f"1{rng.randrange(2012000000, 9899999999)}" for _ in range(count)],
        ),
        (
            "French mobile written +33 6 ... (parse_e164)",
            phone.parse_e164,
            [f"+33 6{rng.randrange(10**8):08d}" for _ in range(count)],
        ),
    ]
    out = []
    for label, read, numbers in forms:
        read(numbers[0])  # this region's patterns, compiled before the clock starts
        started = time.process_time()
        for text in numbers[1:]:
            read(text)
        out.append((label, 1e6 * (time.process_time() - started) / (len(numbers) - 1)))
    return out


def scan_cost(capture: Path) -> dict[str, Any]:
    """libphonenumber's share of one scan of ``capture``, timed from inside."""
    import re._compiler as re_compiler

    from capture.identity import phone
    from capture.identity.detector import IdentityDetector
    from capture.scan import scan

    lib = phone.libphonenumber()  # imported here: its import is import_cost's
    clock = time.perf_counter_ns
    spent = {"calls": 0, "compiles": 0, "compile_ns": 0, "ns": 0}
    depth = [0]

    def timed(call: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            # Only the outermost call is timed: libphonenumber calls itself inside.
            depth[0] += 1
            started = clock()
            try:
                return call(*args, **kwargs)
            finally:
                depth[0] -= 1
                if depth[0] == 0:
                    spent["ns"] += clock() - started
                    spent["calls"] += 1

        return wrapper

    compile_pattern = re_compiler.compile

    def compiled(pattern: Any, flags: int = 0) -> Any:
        started = clock()
        try:
            return compile_pattern(pattern, flags)
        finally:
            spent["compiles"] += 1
            spent["compile_ns"] += clock() - started

    saved = {name: getattr(lib, name) for name in _CALLS}
    for name, call in saved.items():
        setattr(lib, name, timed(call))
    # phone._typed walks a shared country code's regions with the library's own helpers
    # (its metadata, its type matching), which no public call above wraps: timed whole,
    # as one call.
    walk = phone._typed
    phone._typed = timed(walk)
    re_compiler.compile = compiled
    readers = (phone.parse_lenient, phone.parse_strict, phone.parse_international, phone.parse_e164)
    for reader in readers:
        reader.cache_clear()
    try:
        with open(os.devnull, "w") as out:
            started = time.process_time()
            scan(
                [str(capture)], detector=IdentityDetector(_plain_config()), out=out, err=out, jobs=1
            )
            cpu = time.process_time() - started
    finally:
        re_compiler.compile = compile_pattern
        for name, call in saved.items():
            setattr(lib, name, call)
        phone._typed = walk
    spent["readings"] = sum(reader.cache_info().misses for reader in readers)
    spent["cpu"] = cpu
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--capture", type=Path, help="default: scan_bench.py's ad capture")
    args = parser.parse_args()
    capture = args.capture or ensure_capture(20000, 5000, "ad")
    print(f"# Python {sys.version.split()[0]}; {os.cpu_count()} CPUs; CPU time")
    imported = import_cost()
    print(f"libphonenumber's import: {1000 * imported:.1f} ms (median of 7, fresh processes)")
    # The scan first: the readings below would compile its regions' patterns before it.
    spent = scan_cost(capture)
    share = spent["ns"] / 1e9 / spent["cpu"]
    print(
        f"in a scan of {capture.name} (--jobs 1, --region GB, {spent['cpu']:.2f}s of CPU, "
        f"libphonenumber imported before it): {spent['readings']} distinct values read, "
        f"{spent['calls']} libphonenumber calls taking {spent['ns'] / 1e6:.1f} ms ({share:.0%}), "
        f"of which {spent['compiles']} regex compiles {spent['compile_ns'] / 1e6:.1f} ms"
    )
    bare = statistics.median(process_cpu(scan_code(capture, "none")) for _ in range(5))
    alone = imported + spent["ns"] / 1e9
    print(
        f"libphonenumber in all (import and calls): {1000 * alone:.1f} ms, "
        f"{alone / bare:+.0%} of the same scan without detection ({bare:.2f}s: fresh --jobs 1 "
        "processes, median of 5); detection in all may cost +20%"
    )
    for label, micros in reading_costs():
        print(f"first reading of a number: {micros:.0f} us  {label}")


if __name__ == "__main__":
    main()
