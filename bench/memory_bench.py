#!/usr/bin/env python3
"""Peak memory of headerwatch against its limits, beside tshark on the same file.

Generates, with tests/packets (craft, writer), in a temporary directory (or
``--keep DIR``, reused when the files are there):

* ``flood``: a SYN flood of 200,000 half-open connections (a SYN from a spoofed
  address, the server's SYN+ACK, nothing more; 10,000 a second for 20 s) with
  2,000 real requests inside: 1,000 on connections of their own, and 1,000 on 100
  keep-alive connections open from the start to the end, one request every 2 s
  each. Every real request carries ``x-up-calling-line-id`` and a path
  ``/real/N``;
* ``requests``: 100,000 requests on 10,000 keep-alive connections, responses
  under 4 KB (``bench/gen_capture.py --bodies small``).

and measures, one after the other, the peak RSS (``/usr/bin/time -f %M``: the
largest single process of the command) of:

* ``headerwatch scan --jobs 1 FILE`` (output counted; on the flood, every
  ``/real/N`` is checked to come out with its MSISDN finding);
* ``headerwatch scan FILE`` as a user runs it (one process per CPU, up to 4, for
  files of 32 MB or more): the figure is per process;
* the dashboard's load of the file without a screen (``open``'s pipeline, with
  responses, into its store and exposure panel, as ``headerwatch open`` does),
  and the dashboard itself (the Textual app under its test pilot, 160x50, no
  terminal) until the file is loaded (``--no-open`` skips both);
* ``tshark -n -r FILE -Y http.request -T fields -e http.request.uri``, the
  reference tool, given as the ratio headerwatch/tshark.

Limits (issue 15): scan <= 100 MB per process, open <= 200 MB. It reports, it
does not assert.

    python bench/memory_bench.py [--keep DIR] [--cases flood,requests] [--no-open]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from capture.net.decode import ACK, SYN  # noqa: E402
from tests.packets.craft import Conversation, tcp_frame  # noqa: E402
from tests.packets.writer import write_pcap  # noqa: E402

SCAN_LIMIT_MB = 100
OPEN_LIMIT_MB = 200
SERVER = "198.51.100.10"
MSISDN = "447700900123"
T0 = 1_700_000_000.0

ENV = {
    k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED")
}


def _real_request(n: int) -> bytes:
    return (
        f"GET /real/{n} HTTP/1.1\r\nHost: news.example\r\n"
        "User-Agent: Mozilla/5.0 (Linux; Android 14) Chrome/126.0 Mobile\r\n"
        f"Accept: */*\r\nx-up-calling-line-id: {MSISDN}\r\nConnection: keep-alive\r\n\r\n"
    ).encode()


_RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 600\r\n\r\n" + b"x" * 600
)


def flood_frames(
    half_open: int = 200_000, requests: int = 2_000, seconds: float = 20.0, seed: int = 15
) -> Iterator[tuple[float, bytes]]:
    """The SYN flood with real requests inside, in time order."""
    rng = random.Random(seed)
    frames: list[tuple[float, bytes]] = []
    step = seconds / half_open
    for i in range(half_open):
        ts = T0 + i * step
        src = f"100.{64 + (i >> 16) % 64}.{(i >> 8) & 255}.{i & 255}"
        sport = rng.randint(1024, 65535)
        isn, server_isn = rng.getrandbits(32), rng.getrandbits(32)
        frames.append((ts, tcp_frame(src, sport, SERVER, 80, isn, 0, SYN)))
        frames.append(
            (ts + 0.00005, tcp_frame(SERVER, 80, src, sport, server_isn, isn + 1, SYN | ACK))
        )
    alone = requests // 2
    n = 0
    for i in range(alone):  # each on its own connection, spread over the flood
        conv = Conversation(
            f"10.20.{i >> 8}.{i & 255}",
            40000 + i % 20000,
            SERVER,
            80,
            ts=T0 + (i + 0.5) * seconds / alone,
            client_isn=rng.getrandbits(32),
            server_isn=rng.getrandbits(32),
            step=0.0002,
        )
        frames += conv.handshake()
        frames += conv.send(True, _real_request(n))
        frames += conv.send(False, _RESPONSE)
        frames += conv.ack(True)
        frames += conv.close()
        n += 1
    keepalive = 100
    per = (requests - alone) // keepalive
    convs = [
        Conversation(
            f"10.30.0.{i + 1}",
            50000 + i,
            SERVER,
            80,
            ts=T0 + 0.001 * i,
            client_isn=rng.getrandbits(32),
            server_isn=rng.getrandbits(32),
            step=0.0002,
        )
        for i in range(keepalive)
    ]
    for conv in convs:
        frames += conv.handshake()
    for k in range(per):  # one request every seconds/per on each
        for j, conv in enumerate(convs):
            conv.ts = T0 + 0.05 + k * seconds / per + j * 0.01
            frames += conv.send(True, _real_request(n))
            frames += conv.send(False, _RESPONSE)
            frames += conv.ack(True)
            n += 1
    for conv in convs:
        conv.ts = T0 + seconds + 0.5
        frames += conv.close()
    frames.sort(key=lambda item: item[0])
    yield from frames


def ensure(directory: Path, case: str) -> Path:
    """The capture of ``case`` in ``directory`` (made if missing)."""
    path = directory / f"memory-{case}.pcap"
    if path.exists():
        return path
    part = path.with_suffix(".part")
    if case == "flood":
        count = write_pcap(str(part), flood_frames())
    else:
        sys.path.insert(0, str(HERE))
        from gen_capture import frames  # type: ignore[import-not-found]

        count = write_pcap(str(part), frames(100_000, 10_000, bodies="small"))
    part.rename(path)
    print(f"{path.name}: {count:,} frames, {path.stat().st_size / 1e6:.0f} MB", flush=True)
    return path


def peak(cmd: list[str], out: Path) -> tuple[float, str]:
    """Peak RSS (MB) of ``cmd``'s largest process, and its stderr; stdout to ``out``."""
    timed = ["/usr/bin/time", "-f", "MAXRSS %M", *cmd]
    with out.open("wb") as stdout:
        proc = subprocess.run(timed, stdout=stdout, stderr=subprocess.PIPE, env=ENV, check=False)
    err = proc.stderr.decode(errors="replace")
    match = re.search(r"MAXRSS (\d+)", err)
    if match is None:
        raise SystemExit(f"{cmd[0]}: no figure ({err.strip()[-200:]})")
    return int(match.group(1)) / 1024, err.replace(match.group(0), "").strip()


OPEN_SCRIPT = """
import sys
from capture.pipeline import Pipeline
from capture.runner import Runner
from capture.sources.source import FileSource
from capture.view.exposure import Exposure
from capture.view.store import Store
from tui.common import build_detector
import argparse
args = argparse.Namespace(msisdn=[], imei=[], imsi=[], canary=[], region=None, config=None,
    recurrence=3)
store = Store()
exposure = Exposure()
def on_batch(batch):
    store.apply(batch)
    exposure.apply(batch)
source = FileSource([sys.argv[1]])
runner = Runner(source, Pipeline(build_detector(args)), on_batch)
runner.run()
print(len(store), store.evicted, getattr(store, "spilled", 0))
"""


APP_SCRIPT = """
import asyncio, sys
from capture.sources.source import FileSource
from tui.app import HeaderwatchApp
from tui.messages import SourceFinished
from capture.identity.detector import IdentityDetector

async def main():
    finished = []  # only that: a hook that kept every message would keep every request
    def hook(message):
        if isinstance(message, SourceFinished):
            finished.append(message)
    app = HeaderwatchApp(FileSource([sys.argv[1]]), IdentityDetector(), keymap={})
    async with app.run_test(size=(160, 50), message_hook=hook) as pilot:
        while not finished:
            await pilot.pause(0.5)
        await pilot.pause(1.0)
        print(len(app.store), app.store.evicted, getattr(app.store, "spilled", 0))

asyncio.run(main())
"""


def app_cmd(path: Path) -> list[str]:
    """``headerwatch open`` itself, the Textual app under its test pilot (no terminal)."""
    return [sys.executable, "-c", APP_SCRIPT, str(path)]


def open_cmd(path: Path) -> list[str]:
    """The dashboard's load of ``path`` without a screen (see OPEN_SCRIPT)."""
    return [sys.executable, "-c", OPEN_SCRIPT, str(path)]


def costs(n: int = 20_000) -> tuple[float, float]:
    """Bytes a half-open connection and a connection with data take, measured with
    tracemalloc over ``n`` of each (what reassembly's HALF_OPEN_COST and FLOW_COST
    charge)."""
    import gc
    import tracemalloc

    from capture.net.decode import Segment
    from capture.net.reassembly import Limits
    from capture.pipeline import Pipeline

    dst = bytes([198, 51, 100, 10])
    head = b"GET / HTTP/1.1\r\nHost: a\r\n"
    out = []
    for data in (False, True):
        reassembler = Pipeline(responses=False, limits=Limits(memory=1 << 40)).reassembler
        gc.collect()
        tracemalloc.start()
        for i in range(n):
            src, sport, isn = bytes([100, 64, i >> 8 & 255, i & 255]), 1024 + i, i * 7919
            reassembler.frame_no = i + 1
            reassembler.feed(Segment(1.0, src, sport, dst, 80, isn, 0, SYN, b""))
            reassembler.feed(Segment(1.0, dst, 80, src, sport, i, isn + 1, SYN | ACK, b""))
            if data:
                reassembler.feed(Segment(1.0, src, sport, dst, 80, isn + 1, i + 1, ACK, head))
        gc.collect()
        out.append(tracemalloc.get_traced_memory()[0] / n)
        tracemalloc.stop()
    return out[0], out[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", help="directory for the captures (kept, reused)")
    parser.add_argument("--cases", default="flood,requests")
    parser.add_argument("--no-open", action="store_true", help="skip the dashboard's load")
    args = parser.parse_args()
    tmp = None
    if args.keep:
        directory = Path(args.keep)
        directory.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.mkdtemp(prefix="hw-memory-bench-")
        directory = Path(tmp)
    exe = shutil.which("headerwatch") or str(Path(sys.executable).parent / "headerwatch")
    tshark = shutil.which("tshark")
    from capture.net.reassembly import FLOW_COST, HALF_OPEN_COST, Limits

    half_open, flow = costs()
    print(
        f"state per connection (tracemalloc): half-open {half_open:.0f} bytes (charged "
        f"{HALF_OPEN_COST}), with data {flow:.0f} bytes (charged {FLOW_COST}); "
        f"budget {Limits().memory >> 20} MiB"
    )
    try:
        for case in args.cases.split(","):
            path = ensure(directory, case)
            out = directory / "out.txt"
            ts_mb = None
            if tshark:
                ts_mb, _ = peak([tshark, "-n", "-r", str(path), "-Y", "http.request",
                                 "-T", "fields", "-e", "http.request.uri"], out)  # fmt: skip
                ts_lines = out.read_bytes().count(b"\n")
                print(f"{case}: tshark {ts_mb:.0f} MB ({ts_lines:,} requests)")
            runs = [("scan --jobs 1", ["scan", "--jobs", "1"]), ("scan", ["scan"])]
            for label, cmd in runs:
                mb, err = peak([exe, *cmd, str(path)], out)
                text = out.read_text()
                lines = text.count("\n")
                ratio = f", {mb / ts_mb:.2f}x tshark" if ts_mb else ""
                verdict = "within" if mb <= SCAN_LIMIT_MB else "OVER"
                print(
                    f"{case}: {label}: peak RSS {mb:.0f} MB per process (limit "
                    f"{SCAN_LIMIT_MB} MB: {verdict}{ratio}); {lines:,} requests"
                )
                if case == "flood":
                    real = set(re.findall(r'"/real/(\d+)"[^\n]*' + MSISDN, text))
                    print(f"  real requests reported with their MSISDN: {len(real):,} of 2,000")
                print(f"  {err.splitlines()[-1] if err else ''}")
            if not args.no_open:
                for label, make in (("open (headless load)", open_cmd), ("open (app)", app_cmd)):
                    mb, err = peak(make(path), out)
                    ratio = f", {mb / ts_mb:.2f}x tshark" if ts_mb else ""
                    verdict = "within" if mb <= OPEN_LIMIT_MB else "OVER"
                    print(
                        f"{case}: {label}: peak RSS {mb:.0f} MB (limit "
                        f"{OPEN_LIMIT_MB} MB: {verdict}{ratio}); stored, evicted, spilled: "
                        f"{out.read_text().strip()}"
                    )
                    if err:
                        print(f"  {err.splitlines()[-1]}")
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
