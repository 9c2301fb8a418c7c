"""The reflector under load and under attack, driven by ``wrk`` (Debian package ``wrk``).

    .venv/bin/python bench/reflect_bench.py [--seconds 10]

Starts ``headerwatch reflect`` with its default limits on a loopback port (records
to /dev/null through the output queue, as ``--output`` would write them) and prints:

1. keep-alive: ``wrk`` with 50 keep-alive connections, requests/s and p50/p99;
2. new connections: the same with ``Connection: close`` (one request per connection);
3. under attack: a fixed rate of about 500 requests/s (11 connections, each waiting
   20 ms between an answer and its next request, by wrk's Lua ``delay``; Debian's wrk
   has no ``-R``) while 1,000 slowloris connections
   from 50 loopback addresses trickle a byte a second (and reconnect when closed) and
   30 connections each send a 1,000,000-byte body at 64 KiB a second;
4. the reflector's peak RSS over all of it, and its summary line.

Targets on a 2-CPU machine: >= 5,000 requests/s keep-alive; p99 <= 50 ms at 500
requests/s under attack; RSS <= 256 MB throughout. The bench reports; it never asserts.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BODY_HEAD = b"Content-Length: 1000000\r\n\r\n"

PACED = """
-- About 500 requests/s from 11 connections: each waits 20 ms before its next request.
request = function() return wrk.format("GET", "/paced") end
delay = function() return 20 end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RssWatch(threading.Thread):
    """Samples a process's resident memory every 0.2 s; keeps the peak."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kb = 0
        self.stop = threading.Event()

    def run(self) -> None:
        status = Path(f"/proc/{self.pid}/status")
        while not self.stop.wait(0.2):
            try:
                text = status.read_text()
            except OSError:
                return
            match = re.search(r"VmRSS:\s+(\d+) kB", text)
            if match:
                self.peak_kb = max(self.peak_kb, int(match[1]))


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url: str, seconds: int, connections: int, *extra: str) -> dict[str, float]:
    """One wrk run: requests/s, p50 and p99 in ms, and errors."""
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", *extra, url],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    ).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    errors = re.search(r"Socket errors: (.*)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if not (rps and p50 and p99):
        raise SystemExit(f"wrk output not understood:\n{out}")
    return {
        "rps": float(rps[1]),
        "p50": _ms(p50[1]),
        "p99": _ms(p99[1]),
        "errors": errors[1] if errors else "none",  # type: ignore[dict-item]
        "non2xx": int(non2xx[1]) if non2xx else 0,
    }


class Attack(threading.Thread):
    """1,000 slowloris connections and 30 large bodies, held (reconnected) until stopped.

    Every loop is bounded by ``stop``; each round sends a byte to each slow connection
    and 64 KiB to each body connection, then sleeps a second.
    """

    def __init__(self, port: int, slow: int = 1000, bodies: int = 30) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.slow_n = slow
        self.bodies_n = bodies
        self.stop = threading.Event()
        self.slow: list[socket.socket | None] = [None] * slow
        self.bodies: list[tuple[socket.socket, int] | None] = [None] * bodies
        self.reconnects = 0
        self.held_max = 0

    def _connect(self, i: int) -> socket.socket | None:
        sock = socket.socket()
        sock.setblocking(False)
        try:
            sock.bind((f"127.0.4.{i % 50 + 1}", 0))
            sock.connect(("127.0.0.1", self.port))
        except BlockingIOError:
            pass
        except OSError:
            sock.close()
            return None
        return sock

    @staticmethod
    def _alive(sock: socket.socket) -> bool:
        try:
            return sock.recv(4096, socket.MSG_PEEK) != b""
        except BlockingIOError:
            return True  # nothing to read: still open
        except OSError:
            return False

    def run(self) -> None:
        chunk = b"a" * 65536
        while not self.stop.is_set():
            held = 0
            for i, sock in enumerate(self.slow):
                if sock is None or not self._alive(sock):
                    if sock is not None:
                        sock.close()
                        self.reconnects += 1
                    sock = self.slow[i] = self._connect(i)
                    if sock is None:
                        continue
                with contextlib.suppress(OSError):
                    sock.send(b"X")  # a head that never ends
                    held += 1
            self.held_max = max(self.held_max, held)
            for i, entry in enumerate(self.bodies):
                if entry is None or not self._alive(entry[0]) or entry[1] >= 1_000_000:
                    if entry is not None:
                        entry[0].close()
                    sock = self._connect(1000 + i)
                    if sock is None:
                        self.bodies[i] = None
                        continue
                    entry = (sock, 0)
                    with contextlib.suppress(OSError):
                        time.sleep(0.001)  # let the non-blocking connect finish
                        sock.send(b"POST /upload HTTP/1.1\r\nHost: b\r\n" + BODY_HEAD)
                sock, sent = entry
                with contextlib.suppress(OSError):
                    sent += sock.send(chunk[: 1_000_000 - sent])
                self.bodies[i] = (sock, sent)
            self.stop.wait(1.0)
        for sock in self.slow:
            if sock is not None:
                sock.close()
        for entry in self.bodies:
            if entry is not None:
                entry[0].close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk run")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("needs wrk (apt-get install wrk)")
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "reflect", "--bind", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    print(proc.stderr.readline().strip())
    watch = RssWatch(proc.pid)
    watch.start()
    print(f"cpus: {os.cpu_count()}, wrk runs of {args.seconds} s, default limits")
    try:
        ka = wrk(url, args.seconds, 50)
        print(
            f"keep-alive, 50 connections:      {ka['rps']:8,.0f} requests/s  "
            f"p50 {ka['p50']:.2f} ms  p99 {ka['p99']:.2f} ms  errors: {ka['errors']}"
        )
        nc = wrk(url, args.seconds, 50, "-H", "Connection: close")
        print(
            f"new connection per request, 50:  {nc['rps']:8,.0f} requests/s  "
            f"p50 {nc['p50']:.2f} ms  p99 {nc['p99']:.2f} ms  errors: {nc['errors']}"
        )
        attack = Attack(port)
        attack.start()
        time.sleep(5)  # the attack in place: 1,000 slow connections, 30 bodies
        with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
            script.write(PACED)
            script.flush()
            paced = wrk(url, args.seconds, 11, "-s", script.name)
        attack.stop.set()
        attack.join(10)
        print(
            f"paced ~500/s under attack:       {paced['rps']:8,.0f} requests/s  "
            f"p50 {paced['p50']:.2f} ms  p99 {paced['p99']:.2f} ms  errors: {paced['errors']}"
            f"  non-2xx: {paced['non2xx']}"
        )
        print(
            f"attack: 1,000 slowloris connections (open at once, attacker's side: up to "
            f"{attack.held_max:,}; reconnected {attack.reconnects:,} times) + 30 bodies of "
            "1,000,000 bytes"
        )
        time.sleep(0.5)
    finally:
        watch.stop.set()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    print(f"reflector peak RSS: {watch.peak_kb / 1024:.1f} MB")
    print(f"reflector summary: {err.strip().splitlines()[-1]}")


if __name__ == "__main__":
    main()
