"""The mitmproxy add-on's cost on mitmproxy's throughput, measured with ``wrk``.

    .venv/bin/python bench/mitmproxy_addon_bench.py [--seconds 3] [--connections 4] [--rounds 3]

A local plain HTTP server (Python's ``http.server``, keep-alive) sits behind
``mitmdump --mode reverse:...`` (mitmproxy from ``/opt/mitmproxy``, or ``mitmdump``
on PATH, ``-q``). ``wrk`` (1 thread, few connections, a few seconds, each request
with an ``X-MSISDN`` header) measures requests/s through the proxy:

* ``without``: mitmdump alone;
* ``file``: with the add-on writing to a file (``headerwatch_out=FILE``);
* ``followed``: with the add-on writing to a FIFO that ``headerwatch live --from FIFO
  --format jsonl`` reads (to /dev/null), as in use.

The configurations take turns for ``--rounds`` rounds (a shared machine drifts); the
median of each is printed with its ratio to ``without``, and so is mitmdump's own
CPU time per request (``/proc/PID/stat``), steadier than requests/s on a shared
machine. Last, the add-on's own CPU time per request is measured directly, in
mitmproxy's Python on its test flow, and set against mitmdump's. Target: the add-on
costs at most 10% (requests/s ratio >= 0.90, CPU ratio <= 1.10). The bench reports;
it never asserts.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ADDON = ROOT / "capture" / "data" / "mitmproxy_addon.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        # One write: head and body apart would meet Nagle and delayed ACKs (40 ms).
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")

    def log_message(self, format: str, *args: object) -> None:
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # mitmdump going away between runs resets its connections


def find_mitmdump() -> str:
    opt = Path("/opt/mitmproxy/bin/mitmdump")
    found = str(opt) if opt.exists() else shutil.which("mitmdump")
    if found is None:
        sys.exit("mitmdump not found (/opt/mitmproxy/bin/mitmdump or on PATH)")
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def proxy(exe: str, upstream: int, folder: Path, out: str | None) -> Iterator[tuple[int, int]]:
    port = free_port()
    cmd = [exe, "-q", "--listen-host", "127.0.0.1", "-p", str(port)]
    cmd += ["--mode", f"reverse:http://127.0.0.1:{upstream}", "--set", f"confdir={folder}/conf"]
    if out is not None:
        cmd += ["-s", str(ADDON), "--set", f"headerwatch_out={out}"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                sys.exit("mitmdump did not start")
            time.sleep(0.1)
        yield port, proc.pid
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wrk(port: int, seconds: int, connections: int) -> tuple[float, int]:
    run = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-H", "X-MSISDN: 447700900123",
         f"http://127.0.0.1:{port}/"],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
    )  # fmt: skip
    found = re.search(r"Requests/sec:\s+([\d.]+)", run.stdout)
    if found is None:
        sys.exit(f"wrk: no result\n{run.stdout}\n{run.stderr}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)", run.stdout)
    if errors:
        print(f"  wrk: {errors.group(0)}", file=sys.stderr)
    total = re.search(r"(\d+) requests in", run.stdout)
    return float(found.group(1)), int(total.group(1)) if total else 0


def measure(
    config: str, exe: str, upstream: int, folder: Path, seconds: int, connections: int
) -> tuple[float, float, int]:
    """Requests/s of one run, mitmdump's CPU milliseconds per request, and the records
    headerwatch (or the file) received."""
    out: str | None = None
    reader: subprocess.Popen[bytes] | None = None
    records = folder / f"{config}.jsonl"
    records.unlink(missing_ok=True)
    if config == "file":
        out = str(records)
    elif config == "followed":
        fifo = folder / "hw.fifo"
        if not fifo.exists():
            os.mkfifo(fifo)
        out = str(fifo)
        reader = subprocess.Popen(
            [sys.executable, "-m", "tui.cli", "live", "--from", str(fifo), "--format", "jsonl"],
            stdout=open(records, "wb"),  # noqa: SIM115 - closed with the process
            stderr=subprocess.DEVNULL,
            cwd=ROOT,
        )
        time.sleep(1.5)  # headerwatch has the FIFO open
    try:
        with proxy(exe, upstream, folder, out) as (port, pid):
            wrk(port, 1, connections)  # warm-up: connections to the server, caches
            before = cpu_seconds(pid)
            rate, requests = wrk(port, seconds, connections)
            cpu_ms = (cpu_seconds(pid) - before) * 1000 / max(requests, 1)
    finally:
        if reader is not None:
            reader.send_signal(signal.SIGINT)
            reader.wait(20)
    count = len(records.read_bytes().splitlines()) if records.exists() else 0
    return rate, cpu_ms, count


ADDON_WORK = r"""
import importlib.util, json, sys, time
from mitmproxy.test import tflow
spec = importlib.util.spec_from_file_location("addon", sys.argv[1])
addon = importlib.util.module_from_spec(spec)
spec.loader.exec_module(addon)
flow = tflow.tflow(resp=True)
flow.request.headers["X-MSISDN"] = "447700900123"
n = 20000
started = time.process_time()
for depth in range(n):
    json.dumps(addon.record_of(flow, 1, depth), separators=(",", ":")).encode()
print((time.process_time() - started) / n * 1e6)
"""


def addon_work(exe: str) -> float:
    """CPU microseconds the add-on spends per request (its hook's record and the
    writer's JSON encoding) on mitmproxy's own test flow, in mitmproxy's Python."""
    python = str(Path(exe).with_name("python"))
    run = subprocess.run(
        [python, "-c", ADDON_WORK, str(ADDON)], capture_output=True, text=True, timeout=120
    )
    if run.returncode != 0:
        sys.exit(f"the add-on's work could not be measured: {run.stderr[-500:]}")
    return float(run.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found (Debian package wrk)")
    exe = find_mitmdump()
    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    upstream = server.server_address[1]
    configs = ("without", "file", "followed")
    rates: dict[str, list[float]] = {c: [] for c in configs}
    cpus: dict[str, list[float]] = {c: [] for c in configs}
    with tempfile.TemporaryDirectory(prefix="hw-mitm-bench-") as tmp:
        folder = Path(tmp)
        for n in range(args.rounds):
            for config in configs:
                rate, cpu_ms, count = measure(
                    config, exe, upstream, folder, args.seconds, args.connections
                )
                rates[config].append(rate)
                cpus[config].append(cpu_ms)
                extra = f", {count:,} lines received" if config != "without" else ""
                print(
                    f"round {n + 1} {config:9} {rate:8.1f} requests/s, "
                    f"mitmdump {cpu_ms:.2f} CPU ms/request{extra}",
                    flush=True,
                )
    server.shutdown()
    base = statistics.median(rates["without"])
    base_cpu = statistics.median(cpus["without"])
    work = addon_work(exe)
    print(
        f"\nwrk -t1 -c{args.connections} -d{args.seconds}s through mitmdump --mode reverse "
        f"to a local http.server, median of {args.rounds}:"
    )
    for config in configs:
        median = statistics.median(rates[config])
        cpu = statistics.median(cpus[config])
        print(
            f"  {config:9} {median:8.1f} requests/s  ratio {median / base:.3f}   "
            f"mitmdump {cpu:.2f} CPU ms/request  ratio {cpu / base_cpu:.3f}"
        )
    print(
        f"the add-on's own work (record and JSON encoding of mitmproxy's test flow): "
        f"{work:.1f} CPU us/request, {work / 10 / base_cpu:.1f}% of mitmdump's "
        f"{base_cpu:.2f} ms/request without it"
    )


if __name__ == "__main__":
    main()
