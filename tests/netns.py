"""A two-namespace lab for end-to-end live-capture tests.

:func:`make_lab` (behind each test module's ``lab`` fixture) creates a client and a
server network namespace joined
by a veth pair (10.77.x.0/24; the traffic never leaves them), runs an HTTP server
in the server namespace, and removes everything in its finalizer, even after a
failure. :class:`LiveProc` runs ``headerwatch live`` inside a namespace and reads
its output as it streams.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import queue
import secrets
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SERVER_PORTS = (80, 8123)


def require_root() -> None:
    """Skip (with the reason) unless the test may create network namespaces."""
    if os.geteuid() != 0:
        pytest.skip("needs root to create network namespaces and veth pairs (CI runs as root)")
    if shutil.which("ip") is None:
        pytest.skip("needs iproute2 (apt-get install iproute2)")


def no_ipv6(ns: str, ifname: str) -> None:
    """No IPv6 on ``ifname``: no router solicitations or DAD noise on the wire.

    Written to /proc (per namespace) rather than with sysctl, which minimal
    images may lack.
    """
    path = f"/proc/sys/net/ipv6/conf/{ifname}/disable_ipv6"
    sh("ip", "netns", "exec", ns, "sh", "-c", f"[ ! -e {path} ] || echo 1 > {path}")


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a command, failing loudly with its stderr."""
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {result.stderr.strip()}")
    return result


@dataclass
class Lab:
    """Two namespaces and a veth pair; ``server_if`` is where headerwatch listens."""

    tag: str = field(default_factory=lambda: secrets.token_hex(3))
    subnet: str = "10.77.0"
    procs: list[subprocess.Popen[str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.client_ns = f"hw-test-{self.tag}-c"
        self.server_ns = f"hw-test-{self.tag}-s"
        self.client_if = f"hwc{self.tag}"
        self.server_if = f"hws{self.tag}"
        self.client_ip = f"{self.subnet}.1"
        self.server_ip = f"{self.subnet}.2"

    # -- set-up and tear-down ------------------------------------------------------

    def create(self) -> None:
        """Make the namespaces, the veth pair, addresses; start the HTTP server."""
        sh("ip", "netns", "add", self.client_ns)
        sh("ip", "netns", "add", self.server_ns)
        for ns in (self.client_ns, self.server_ns):
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        self.plug()
        self.server = self.spawn(
            self.server_ns, [PYTHON, "-m", "tests.lab_server", *map(str, SERVER_PORTS)]
        )
        assert self.server.stdout is not None
        line = self.server.stdout.readline()
        assert line.strip() == "ready", f"lab server did not start: {line!r}"

    def plug(self) -> None:
        """Create the veth pair (again, after :meth:`unplug`) with its addresses, up."""
        sh(
            "ip",
            "link",
            "add",
            "name",
            self.client_if,
            "netns",
            self.client_ns,
            "type",
            "veth",
            "peer",
            "name",
            self.server_if,
            "netns",
            self.server_ns,
        )
        for ns, ifname, ip in (
            (self.client_ns, self.client_if, self.client_ip),
            (self.server_ns, self.server_if, self.server_ip),
        ):
            no_ipv6(ns, ifname)
            sh("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", ifname)
            sh("ip", "-n", ns, "link", "set", ifname, "up")

    def unplug(self) -> None:
        """Delete the veth pair, as when a USB tether is pulled out."""
        sh("ip", "-n", self.server_ns, "link", "del", self.server_if)

    def set_link(self, up: bool, side: str = "server") -> None:
        """``ip link set … up/down`` on one end of the pair."""
        if side == "server":
            ns, ifname = self.server_ns, self.server_if
        else:
            ns, ifname = self.client_ns, self.client_if
        sh("ip", "-n", ns, "link", "set", ifname, "up" if up else "down")

    def destroy(self) -> None:
        """Kill what was started here and delete both namespaces (never raises)."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
        for ns in (self.client_ns, self.server_ns):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)

    # -- processes ------------------------------------------------------------------

    def spawn(
        self,
        ns: str,
        argv: Sequence[str],
        *,
        user: int | None = None,
        env: dict[str, str] | None = None,
        stdin: Any = subprocess.DEVNULL,
        cwd: Path = REPO,
    ) -> subprocess.Popen[str]:
        """Start ``argv`` in namespace ``ns`` (optionally as uid/gid ``user``), pipes open,
        in ``cwd`` (a dashboard that a failing test ends keeps its requests there: a
        test's own directory, not the repository), the repository on the path."""
        prefix = ["ip", "netns", "exec", ns]
        if user is not None:
            prefix += [
                "setpriv",
                f"--reuid={user}",
                f"--regid={user}",
                "--clear-groups",
                "--inh-caps=-all",
            ]
        proc = subprocess.Popen(
            [*prefix, *argv],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=cwd,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO), **(env or {})},
        )
        self.procs.append(proc)
        return proc

    def client(self, plan: list[dict[str, Any]]) -> int:
        """Run an HTTP plan (see ``tests.lab_client``) from the client namespace."""
        result = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                self.client_ns,
                PYTHON,
                "-m",
                "tests.lab_client",
                self.server_ip,
            ],
            input=json.dumps(plan),
            capture_output=True,
            text=True,
            timeout=120,
            cwd=REPO,
        )
        assert result.returncode == 0, result.stderr
        return int(result.stdout.split()[1])

    def live(
        self,
        *args: str,
        user: int | None = None,
        env: dict[str, str] | None = None,
        iface: str | None = None,
        python: str = PYTHON,
    ) -> LiveProc:
        """Start ``headerwatch live -i SERVER_IF ARGS`` in the server namespace."""
        argv = [python, "-m", "tui.cli", "live", "-i", iface or self.server_if, *args]
        return LiveProc(self.spawn(self.server_ns, argv, user=user, env=env))


def python_for(uid: int) -> tuple[str, dict[str, str]] | None:
    """An interpreter (and environment) whose library and headerwatch ``uid`` can read.

    This one, unless it lives where ``uid`` cannot go (a pyenv under /root); then
    the system's python3 of the same version with this venv's packages; and if the
    checkout itself is out of reach, with a hard-linked mirror of the packages and
    the repository in a world-readable temporary directory (CI may check out
    anywhere, and these tests must not skip there).
    """
    site = sysconfig.get_paths()["purelib"]
    candidates = [
        (PYTHON, {}, str(REPO), site),
        ("/usr/bin/python3", {"PYTHONPATH": f"{site}{os.pathsep}{REPO}"}, str(REPO), site),
    ]
    for exe, env, repo, packages in candidates:
        if _usable(uid, exe, env, repo, packages):
            return exe, env
    if not os.path.exists("/usr/bin/python3"):
        return None
    mirror = _mirror(site)
    env = {"PYTHONPATH": f"{mirror}/site{os.pathsep}{mirror}/repo"}
    if _usable(uid, "/usr/bin/python3", env, f"{mirror}/repo", f"{mirror}/site"):
        return "/usr/bin/python3", env
    return None


def _usable(uid: int, exe: str, env: dict[str, str], repo: str, packages: str) -> bool:
    if not os.path.exists(exe):
        return False
    probe = (
        "import sys, sysconfig; print(sysconfig.get_paths()['stdlib']); print(sys.version_info[:2])"
    )
    result = subprocess.run(
        [exe, "-c", probe],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=30,
        check=False,
    )
    lines = result.stdout.splitlines()
    if result.returncode != 0 or len(lines) != 2 or lines[1] != str(sys.version_info[:2]):
        return False
    readable = subprocess.run(
        [
            "setpriv",
            f"--reuid={uid}",
            f"--regid={uid}",
            "--clear-groups",
            "sh",
            "-c",
            'test -r "$1/os.py" && test -r "$2/tui/cli.py" && test -r "$3/scapy/__init__.py"',
            "sh",
            lines[0],
            repo,
            packages,
        ],
        capture_output=True,
        timeout=30,
        check=False,
    )
    return readable.returncode == 0


_MIRRORS: list[str] = []


def _mirror(site: str) -> str:
    """Hard links (a copy across file systems) of the packages and the repo's code."""
    if _MIRRORS:
        return _MIRRORS[0]
    root = tempfile.mkdtemp(prefix="hw-mirror-")
    os.chmod(root, 0o755)
    os.makedirs(f"{root}/repo", mode=0o755)
    for src, dst in ((site, "site"), (str(REPO / "capture"), "repo/capture"),
                     (str(REPO / "tui"), "repo/tui")):  # fmt: skip
        linked = subprocess.run(["cp", "-al", src, f"{root}/{dst}"], capture_output=True)
        if linked.returncode != 0:
            shutil.rmtree(f"{root}/{dst}", ignore_errors=True)
            subprocess.run(["cp", "-a", src, f"{root}/{dst}"], check=True)
    atexit.register(shutil.rmtree, root, True)
    _MIRRORS.append(root)
    return root


class LiveProc:
    """A running ``headerwatch live``: stdout lines and stderr lines as they come."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.out: queue.Queue[str | None] = queue.Queue()
        self.err_lines: list[str] = []
        self._err_cond = threading.Condition()
        self.lines: list[str] = []
        assert proc.stdout is not None and proc.stderr is not None
        threading.Thread(target=self._pump, args=(proc.stdout, self.out), daemon=True).start()
        threading.Thread(target=self._pump_err, args=(proc.stderr,), daemon=True).start()

    @staticmethod
    def _pump(stream: Any, q: queue.Queue[str | None]) -> None:
        for line in stream:
            q.put(line)
        q.put(None)

    def _pump_err(self, stream: Any) -> None:
        for line in stream:
            with self._err_cond:
                self.err_lines.append(line.rstrip("\n"))
                self._err_cond.notify_all()
        with self._err_cond:
            self.err_lines.append("\0EOF")
            self._err_cond.notify_all()

    @property
    def stderr(self) -> str:
        """Everything on stderr so far."""
        with self._err_cond:
            return "\n".join(x for x in self.err_lines if x != "\0EOF")

    def wait_stderr(self, text: str, timeout: float = 20.0) -> str:
        """The first stderr line containing ``text``; fails after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._err_cond:
            while True:
                for line in self.err_lines:
                    if text in line:
                        return line
                remaining = deadline - time.monotonic()
                if remaining <= 0 or "\0EOF" in self.err_lines:
                    raise AssertionError(f"no {text!r} on stderr; got:\n{self.stderr}")
                self._err_cond.wait(remaining)

    def wait_ready(self) -> None:
        """Wait until the packet socket is open (the "listening on" line)."""
        self.wait_stderr("listening on")

    def records(self, n: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        """Wait until ``n`` records have streamed out (while still running); return them all."""
        deadline = time.monotonic() + timeout
        while len(self.lines) < n:
            try:
                line = self.out.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
        records = [json.loads(x) for x in self.lines]
        assert len(records) >= n, (
            f"expected {n} records, got {len(records)}; stderr:\n{self.stderr}"
        )
        return records

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Send ``sig``, wait for the exit, collect the rest of stdout; the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        while True:
            line = self.out.get(timeout=timeout)
            if line is None:
                break
            self.lines.append(line)
        self._wait_err_eof(timeout)
        return code

    def _wait_err_eof(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self._err_cond:
            while "\0EOF" not in self.err_lines and time.monotonic() < deadline:
                self._err_cond.wait(0.1)

    def all_records(self) -> list[dict[str, Any]]:
        """Every record printed (after :meth:`stop`)."""
        return [json.loads(x) for x in self.lines]


def scanned(path: Path) -> list[dict[str, Any]]:
    """The records ``headerwatch scan`` prints for ``path`` (a recording, a session)."""
    result = subprocess.run(
        [PYTHON, "-m", "tui.cli", "scan", "--format", "jsonl", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def make_lab() -> Iterator[Lab]:
    """For a fixture: a fresh namespace pair with an HTTP server on ports 80 and 8123.

    Skips when not root; tears everything down afterwards, even on failure.
    """
    require_root()
    made = Lab()
    try:
        made.create()
        yield made
    finally:
        made.destroy()


def make_pair() -> Iterator[tuple[str, str, str]]:
    """For a fixture: one namespace holding both ends of a veth pair, up, no addresses.

    Yields ``(namespace, send_if, capture_if)``; frames injected on ``send_if``
    arrive on ``capture_if``. Skips when not root; always cleaned up.
    """
    require_root()
    tag = secrets.token_hex(3)
    ns, send_if, capture_if = f"hw-test-{tag}-p", f"hwa{tag}", f"hwb{tag}"
    try:
        sh("ip", "netns", "add", ns)
        sh(
            "ip",
            "-n",
            ns,
            "link",
            "add",
            "name",
            send_if,
            "type",
            "veth",
            "peer",
            "name",
            capture_if,
        )
        for ifname in (send_if, capture_if):
            no_ipv6(ns, ifname)
            sh("ip", "-n", ns, "link", "set", ifname, "up")
        yield ns, send_if, capture_if
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)


def request(
    path: str,
    host: str = "example.com",
    extra: Sequence[tuple[str, str]] = (),
    method: str = "GET",
    body: str = "",
) -> str:
    """An HTTP/1.1 request as text (latin-1 on the wire)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in extra]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return "\r\n".join(lines) + "\r\n\r\n" + body
