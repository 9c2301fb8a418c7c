#!/usr/bin/env python3
"""headerwatch scan vs tshark on the same large capture, in the same run.

Generates captures with bench/gen_capture.py (cached under bench/out/), then
times, one after the other on the same file:

* ``headerwatch scan --format jsonl FILE`` (output counted, not stored), and
* ``tshark -n -o tcp.reassemble_out_of_order:TRUE -r FILE -Y http.request
  -T fields -e http.host -e http.request.uri``,

and prints requests/s for both, the ratio, and headerwatch's peak memory
(maximum resident set size of the process). Two capture sizes show whether
memory grows with the file.

    python bench/scan_bench.py [--sizes 25000,50000,50000s] [--repeat N]

The default captures: a web-like mix of response sizes (200 B-100 KB, about
20 frames a request) at two sizes, to show that memory does not grow with the
file, and one where every response is under 4 KB (about 5 frames a request,
the lightest case for tshark).

Targets (issue 2): ratio >= 10, peak memory <= 100 MB at every size.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"


def ensure_capture(requests: int, connections: int, small: bool) -> Path:
    path = OUT / f"scan-{requests}-{connections}{'-small' if small else ''}.pcap"
    if not path.exists():
        OUT.mkdir(exist_ok=True)
        cmd = [sys.executable, str(HERE / "gen_capture.py"), str(path),
               "--requests", str(requests), "--connections", str(connections)]  # fmt: skip
        subprocess.run(cmd + (["--small"] if small else []), check=True)
    return path


# Both tools run as a user runs them: Python writes its bytecode cache and buffers
# its output (some sandboxes set PYTHONDONTWRITEBYTECODE and PYTHONUNBUFFERED).
ENV = {
    k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED")
}


def run(cmd: list[str]) -> tuple[float, int, int]:
    """Wall seconds, output lines, peak RSS in KiB of ``cmd``."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=ENV)
    assert proc.stdout is not None
    lines = 0
    for chunk in iter(lambda: proc.stdout.read(1 << 20), b""):  # type: ignore[union-attr]
        lines += chunk.count(b"\n")
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd[0]} failed with status {status}")
    return elapsed, lines, usage.ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default="25000,50000,50000s",
        help="request counts, comma-separated; a trailing s means every response under 4 KB",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of each tool, turn about; the best counts"
    )
    args = parser.parse_args()
    headerwatch = shutil.which("headerwatch") or str(Path(sys.executable).parent / "headerwatch")
    tshark = shutil.which("tshark")
    if tshark is None:
        raise SystemExit(
            "tshark is not installed (apt-get install tshark): nothing to compare with"
        )
    print(
        f"{'requests':>9} {'capture':>8} {'headerwatch req/s':>18} {'tshark req/s':>13} "
        f"{'ratio':>6} {'hw peak RSS':>12} {'tshark RSS':>11}"
    )
    for spec in args.sizes.split(","):
        small = spec.endswith("s")
        size = int(spec.rstrip("s"))
        path = ensure_capture(size, max(5000, size // 10), small)
        hw_cmd = [headerwatch, "scan", "--format", "jsonl", str(path)]
        tshark_cmd = [tshark, "-n", "-o", "tcp.reassemble_out_of_order:TRUE", "-r", str(path),
                      "-Y", "http.request", "-T", "fields", "-e", "http.host",
                      "-e", "http.request.uri"]  # fmt: skip
        # Untimed: the capture into the page cache, headerwatch's bytecode cache.
        run(hw_cmd)
        # Turn about, best of --repeat for each: this VM's speed drifts by minutes.
        hw_runs, ts_runs = [], []
        for _ in range(args.repeat):
            hw_runs.append(run(hw_cmd))
            ts_runs.append(run(tshark_cmd))
        hw_s, hw_n, hw_rss = min(hw_runs)
        ts_s, ts_n, ts_rss = min(ts_runs)
        hw_rate, ts_rate = hw_n / hw_s, ts_n / ts_s
        mix = "small responses" if small else "web mix"
        print(
            f"{hw_n:>9,} {path.stat().st_size / 1e6:>6.0f}MB {hw_rate:>18,.0f} {ts_rate:>13,.0f} "
            f"{hw_rate / ts_rate:>6.1f} {hw_rss / 1024:>10.0f}MB {ts_rss / 1024:>9.0f}MB  "
            f"{mix} (tshark found {ts_n:,})"
        )

    detection_cost(ensure_capture(25000, 5000, False))


def detection_cost(path: Path) -> None:
    """The same scan in this process with and without identity detection (best of 3)."""
    sys.path.insert(0, str(HERE.parent))
    from capture.identity.detector import IdentityDetector
    from capture.scan import scan

    def timed(detector: IdentityDetector | None) -> float:
        best = float("inf")
        for _ in range(3):
            with open(os.devnull, "w") as out, open(os.devnull, "w") as err:
                start = time.process_time()
                scan([str(path)], detector=detector, out=out, err=err)
                best = min(best, time.process_time() - start)
        return best

    bare = timed(None)
    plain = timed(IdentityDetector())
    canaries = timed(IdentityDetector(_canary_config()))
    print(
        f"detection cost (CPU time, best of 3, {path.name}): without {bare:.2f}s, "
        f"with {plain:.2f}s ({plain / bare - 1:+.0%}), "
        f"with 3 canaries {canaries:.2f}s ({canaries / bare - 1:+.0%}); target <= +25%"
    )


def _canary_config() -> object:
    from capture.identity.detector import IdentityConfig

    return IdentityConfig(
        region="GB",
        msisdns=("07700 900123",),
        imeis=("490154203237518",),
        canaries=("alice@example.com",),
    )


if __name__ == "__main__":
    main()
