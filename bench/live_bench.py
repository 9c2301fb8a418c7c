#!/usr/bin/env python3
"""Live capture: the highest lossless packet rate, tcpdump vs headerwatch, side by side.

Replays a large HTTP capture (bench/gen_capture.py, cached under bench/out/)
onto one end of a veth pair in a network namespace of its own with tcpreplay,
at increasing rates, while each tool captures on the other end with the filter
``tcp``:

* ``tcpdump -i VETH -n -w /dev/null tcp`` (the reference; default buffer),
* ``headerwatch live -i VETH --format jsonl > /dev/null`` (headless), and
* ``headerwatch live -i VETH`` (the dashboard, in a real terminal under tmux).

The truth is counted from the file itself: how many of the frames tcpreplay
sent are TCP. For each run it reports the real loss (TCP frames sent minus frames
the tool processed), what the tool itself reported as dropped (kernel, queue,
unread at stop), its peak RSS (VmHWM of its largest process, read just before it
is stopped; the dashboard's target, issue 15: at most 150 MB at 20,000 packets/s),
and how long the tool took to finish after the replay ended
(a long tail means it fell behind and lived off its socket buffer). Then, per
tool, the highest rate with < 0.1% loss. A report, not a test: nothing asserted.

    sudo python bench/live_bench.py [--rates 10000,20000,40000] [--seconds 30]
        [--tools tcpdump,headless,dashboard] [--requests 40000]

Needs root, iproute2, tcpreplay, tcpdump, tmux. Target (issue 5): at least
20,000 packets/s of HTTP without loss, and drops reported truthfully beyond that.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "out"
sys.path.insert(0, str(REPO))

from capture.sources.frames import CaptureFile  # noqa: E402
from tests.packets.writer import write_pcap  # noqa: E402

LOSS_LIMIT = 0.001  # < 0.1 %
SETTLE = 1.0
"""Seconds between the end of the replay and stopping the tool."""


def sh(*argv: str) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv)}: {result.stderr.strip()}")
    return result.stdout


# -- the capture and the truth ---------------------------------------------------------


def ensure_capture(requests: int, connections: int) -> Path:
    """The replay capture, generated once."""
    sys.path.insert(0, str(HERE))
    import gen_capture  # type: ignore[import-not-found]

    path = OUT / f"live-{requests}-{connections}-g{gen_capture.VERSION}.pcap"
    if not path.exists():
        OUT.mkdir(exist_ok=True)
        tmp = path.with_suffix(".tmp")
        write_pcap(str(tmp), gen_capture.frames(requests, connections, bodies="small"))
        tmp.rename(path)
    return path


def tcp_flags(path: Path) -> list[bool]:
    """For each frame of the file: does the BPF filter ``tcp`` pass it? A frame behind
    a VLAN tag does too: the veth hands the tag to the kernel as metadata (VLAN
    offload), so the filter sees the frame untagged (a tenth of gen_capture.py's
    connections are tagged)."""
    out = []
    for frame in CaptureFile(str(path)):
        data = frame.data
        at = 12
        ethertype = int.from_bytes(data[at : at + 2], "big") if len(data) >= 14 else 0
        while ethertype in (0x8100, 0x88A8) and len(data) >= at + 6:
            at += 4
            ethertype = int.from_bytes(data[at : at + 2], "big")
        ip = at + 2
        if ethertype == 0x0800:
            out.append(len(data) > ip + 9 and data[ip + 9] == 6)
        elif ethertype == 0x86DD:
            out.append(len(data) > ip + 6 and data[ip + 6] == 6)
        else:
            out.append(False)
    return out


def expected_tcp(flags: list[bool], sent: int) -> int:
    """TCP frames among the first ``sent`` frames of the file played in a loop."""
    total = sum(flags)
    loops, rest = divmod(sent, len(flags))
    return loops * total + sum(flags[:rest])


# -- the namespace ---------------------------------------------------------------------


@dataclass
class Veth:
    ns: str
    replay_if: str
    capture_if: str

    @classmethod
    def create(cls) -> Veth:
        tag = f"{os.getpid() % 100000:05d}"
        made = cls(f"hw-bench-{tag}", f"hwr{tag}", f"hwc{tag}")
        sh("ip", "netns", "add", made.ns)
        sh(
            "ip",
            "-n",
            made.ns,
            "link",
            "add",
            "name",
            made.replay_if,
            "type",
            "veth",
            "peer",
            "name",
            made.capture_if,
        )
        for ifname in (made.replay_if, made.capture_if):
            path = f"/proc/sys/net/ipv6/conf/{ifname}/disable_ipv6"
            sh(*made.exec("sh", "-c", f"[ ! -e {path} ] || echo 1 > {path}"))
            sh("ip", "-n", made.ns, "link", "set", ifname, "up")
        return made

    def destroy(self) -> None:
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True, timeout=60)

    def exec(self, *argv: str) -> list[str]:
        return ["ip", "netns", "exec", self.ns, *argv]


def replay(veth: Veth, path: Path, pps: int, packets: int, n_file: int) -> tuple[int, float]:
    """Send ``packets`` frames at ``pps``; (frames sent, actual rate)."""
    loops = math.ceil(packets / n_file)
    result = subprocess.run(
        veth.exec(
            "tcpreplay",
            "-i",
            veth.replay_if,
            f"--pps={pps}",
            f"--loop={loops}",
            f"--limit={packets}",
            str(path),
        ),
        capture_output=True,
        text=True,
        timeout=3600,
    )
    text = result.stdout + result.stderr
    sent = re.search(r"Actual: (\d+) packets", text)
    rate = re.search(r"Rated: .*?([\d.]+) pps", text)
    if result.returncode != 0 or not sent:
        raise SystemExit(f"tcpreplay failed: {text.strip()}")
    return int(sent.group(1)), float(rate.group(1)) if rate else float("nan")


# -- the tools -------------------------------------------------------------------------


@dataclass
class Outcome:
    processed: int
    """Frames the tool took in (tcpdump: captured; headerwatch: fed to the pipeline)."""
    reported: int
    """Frames the tool said it lost."""
    tail: float
    """Seconds from the stop signal to the tool's exit (draining its backlog)."""
    note: str = ""
    peak_mb: float = 0.0
    """Peak RSS of the tool's largest process, read just before it was stopped."""


def _peak_mb(pid: int) -> float:
    """Peak RSS (VmHWM) in MB of ``pid`` and its descendants, the largest of them."""
    pids, i, peak = [pid], 0, 0
    while i < len(pids):
        try:
            with open(f"/proc/{pids[i]}/task/{pids[i]}/children") as f:
                pids += [int(p) for p in f.read().split()]
            with open(f"/proc/{pids[i]}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]))
        except OSError:
            pass
        i += 1
    return peak / 1024


def _number(pattern: str, text: str) -> int:
    match = re.search(pattern, text)
    return int(match.group(1).replace(",", "")) if match else -1


class Tcpdump:
    name = "tcpdump"

    def start(self, veth: Veth) -> None:
        self.proc = subprocess.Popen(
            veth.exec("tcpdump", "-i", veth.capture_if, "-n", "-w", "/dev/null", "tcp"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stderr is not None
        line = self.proc.stderr.readline()
        if "listening" not in line:
            raise SystemExit(f"tcpdump did not start: {line}")

    def stop(self) -> Outcome:
        peak = _peak_mb(self.proc.pid)
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGINT)
        _, err = self.proc.communicate(timeout=120)
        tail = time.monotonic() - t0
        captured = _number(r"(\d+) packets? captured", err)
        dropped = _number(r"(\d+) packets? dropped by kernel", err)
        return Outcome(captured, max(dropped, 0), tail, peak_mb=peak)


class Headless:
    name = "headless"

    def start(self, veth: Veth) -> None:
        self.proc = subprocess.Popen(
            veth.exec(
                sys.executable, "-m", "tui.cli", "live", "-i", veth.capture_if, "--format", "jsonl"
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        assert self.proc.stderr is not None
        # Notes may come first (no region in the locale, ...): read up to the line
        # that says it listens, or to the end if it never starts.
        seen = []
        for line in self.proc.stderr:
            seen.append(line)
            if "listening on" in line:
                break
        else:
            raise SystemExit(f"headerwatch did not start: {''.join(seen)}")

    def stop(self) -> Outcome:
        peak = _peak_mb(self.proc.pid)
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGINT)
        _, err = self.proc.communicate(timeout=300)
        tail = time.monotonic() - t0
        outcome = _headerwatch_outcome(err, tail)
        outcome.peak_mb = peak
        return outcome


def _headerwatch_outcome(text: str, tail: float) -> Outcome:
    summary = [line for line in text.splitlines() if "frames captured" in line]
    if not summary:
        return Outcome(-1, -1, tail, note="no summary line")
    line = summary[-1]
    processed = _number(r"headerwatch: ([\d,]+) packets;", line)
    reported = sum(
        max(_number(pattern, line), 0)
        for pattern in (
            r"([\d,]+) kernel drops",
            r"([\d,]+) queue drops",
            r"([\d,]+) left unread at stop",
        )
    )
    breakdown = ", ".join(
        part for part in line.split("; ")[-1].split(", ") if "drops" in part or "unread" in part
    )
    return Outcome(processed, reported, tail, note=breakdown if reported else "")


class Dashboard:
    """The real dashboard in a real (tmux) terminal."""

    name = "dashboard"

    def start(self, veth: Veth) -> None:
        self.session = f"hwbench{os.getpid()}"
        command = " ".join(
            veth.exec(sys.executable, "-m", "tui.cli", "live", "-i", veth.capture_if)
        )
        subprocess.run(["tmux", "kill-session", "-t", self.session], capture_output=True)
        sh(
            "tmux",
            "new-session",
            "-d",
            "-s",
            self.session,
            "-x",
            "200",
            "-y",
            "50",
            "-c",
            str(REPO),
            f"{command}; echo HWEXIT=$?; sleep 3600",
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if f"live {veth.capture_if}" in self._screen():
                time.sleep(0.5)
                return
            time.sleep(0.2)
        raise SystemExit(f"the dashboard did not start:\n{self._screen()}")

    def _screen(self) -> str:
        return subprocess.run(
            ["tmux", "capture-pane", "-p", "-J", "-S", "-200", "-t", self.session],
            capture_output=True,
            text=True,
        ).stdout

    def stop(self) -> Outcome:
        pane = sh("tmux", "list-panes", "-t", self.session, "-F", "#{pane_pid}").split()
        peak = _peak_mb(int(pane[0])) if pane else 0.0
        t0 = time.monotonic()
        sh("tmux", "send-keys", "-t", self.session, "q")
        deadline = time.monotonic() + 300
        screen = ""
        asked = False
        while time.monotonic() < deadline:
            screen = self._screen()
            if "HWEXIT=" in screen:
                break
            if not asked and "(y/n)" in screen:
                # q asks first when the live capture is unsaved (its spool).
                sh("tmux", "send-keys", "-t", self.session, "y")
                asked = True
            time.sleep(0.1)
        tail = time.monotonic() - t0
        subprocess.run(["tmux", "kill-session", "-t", self.session], capture_output=True)
        outcome = _headerwatch_outcome(screen, tail)
        outcome.peak_mb = peak
        return outcome


TOOLS = {"tcpdump": Tcpdump, "headless": Headless, "dashboard": Dashboard}


# -- the runs --------------------------------------------------------------------------


def run(args: argparse.Namespace) -> None:
    if os.geteuid() != 0:
        raise SystemExit("needs root (network namespaces, packet sockets)")
    for tool in ("ip", "tcpreplay", "tcpdump", "tmux"):
        if shutil.which(tool) is None:
            raise SystemExit(f"needs {tool}")
    path = ensure_capture(args.requests, args.connections)
    flags = tcp_flags(path)
    print(
        f"capture: {path.relative_to(REPO)}: {len(flags):,} frames, {sum(flags):,} TCP, "
        f"{args.requests:,} requests; each run {args.seconds:g} s of traffic, filter 'tcp'"
    )
    print(
        f"machine: {os.cpu_count()} CPUs, Linux {os.uname().release}, "
        f"Python {sys.version.split()[0]}\n"
    )
    tools = [TOOLS[name]() for name in args.tools.split(",")]
    best: dict[str, int] = {}
    failed: set[str] = set()
    header = (
        f"{'rate':>8} {'actual':>8} {'tool':<10} {'sent tcp':>10} {'processed':>10} "
        f"{'real loss':>10} {'reported':>9} {'tail s':>7} {'peak RSS':>9}"
    )
    print(header)
    print("-" * len(header))
    veth = Veth.create()
    try:
        for rate in (int(r) for r in args.rates.split(",")):
            for tool in tools:
                if tool.name in failed:
                    continue
                packets = int(rate * args.seconds)
                tool.start(veth)
                sent, actual = replay(veth, path, rate, packets, len(flags))
                time.sleep(SETTLE)
                outcome = tool.stop()
                want = expected_tcp(flags, sent)
                lost = want - outcome.processed
                ratio = lost / want if want else 0.0
                ok = outcome.processed >= 0 and ratio < LOSS_LIMIT
                truthful = "" if lost == outcome.reported else f" (≠ {lost:,} lost)"
                print(
                    f"{rate:>8,} {actual:>8,.0f} {tool.name:<10} {want:>10,} "
                    f"{outcome.processed:>10,} {ratio:>9.3%} {outcome.reported:>9,}"
                    f"{truthful} {outcome.tail:>7.1f} {outcome.peak_mb:>6.0f} MB {outcome.note}",
                    flush=True,
                )
                if ok:
                    best[tool.name] = max(best.get(tool.name, 0), rate)
                else:
                    failed.add(tool.name)
                time.sleep(0.5)
            if len(failed) == len(tools):
                break
    finally:
        veth.destroy()
    print("\nhighest rate with < 0.1% loss (packets/s, TCP frames through the filter):")
    for tool in tools:
        top = best.get(tool.name)
        more = "" if tool.name in failed else " (every rate tried)"
        print(f"  {tool.name:<10} {f'{top:,}' if top else 'none'}{more}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="10000,20000,30000,40000,50000,60000,80000,100000")
    parser.add_argument("--seconds", type=float, default=30.0, help="traffic per run")
    parser.add_argument("--tools", default="tcpdump,headless,dashboard")
    parser.add_argument("--requests", type=int, default=40_000)
    parser.add_argument("--connections", type=int, default=4_000)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
