"""A loopback lab for the mitmproxy add-on: a local HTTPS server with a test
certificate made here, mitmdump with the add-on on a free port, and curl through it.

mitmproxy lives in its own virtual environment (``/opt/mitmproxy``, made by
``.ci/run``), never in headerwatch's: it pins many libraries tightly.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tui.cmd_mitmproxy_addon import ADDON

OPT_MITMDUMP = Path("/opt/mitmproxy/bin/mitmdump")


def mitmdump() -> str:
    """The mitmdump to run; skips (outside CI) or fails (in CI) when there is none."""
    found = str(OPT_MITMDUMP) if OPT_MITMDUMP.exists() else shutil.which("mitmdump")
    if found is None:
        if os.environ.get("HEADERWATCH_CI") or os.environ.get("CI"):
            pytest.fail("mitmdump is missing in CI (.ci/run makes /opt/mitmproxy)")
        pytest.skip("needs mitmdump (/opt/mitmproxy/bin/mitmdump or on PATH; .ci/run installs it)")
    if shutil.which("curl") is None:
        pytest.skip("needs curl")
    return found


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def make_cert(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1 (cert, key)."""
    cert, key = folder / "server-cert.pem", folder / "server-key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.do_GET()

    def do_GET(self) -> None:
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def https_server(folder: Path) -> Iterator[tuple[int, Path]]:
    """A local HTTPS server (Python ssl, a test certificate); yields (port, cert)."""
    cert, key = make_cert(folder)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], cert
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def plain_server() -> Iterator[int]:
    """A local plain HTTP server; yields its port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


class Proxy:
    """A running mitmdump with the add-on."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int, confdir: Path, log: Path):
        self.proc = proc
        self.port = port
        self.confdir = confdir
        self.log = log

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ca(self) -> Path:
        return self.confdir / "mitmproxy-ca-cert.pem"

    def curl(self, url: str, *args: str, timeout: float = 10.0) -> subprocess.CompletedProcess[str]:
        """curl through the proxy, trusting its CA; ``-w`` prints status and HTTP version."""
        return subprocess.run(
            ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{http_version}",
             "--max-time", str(timeout), "--proxy", self.url, "--cacert", str(self.ca),
             *args, url],
            capture_output=True,
            text=True,
            timeout=timeout + 5,
        )  # fmt: skip

    def stop(self) -> str:
        """Stop mitmdump (SIGINT, as Ctrl-C) and return its log."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def mitmdump_with_addon(
    folder: Path, out: str, *options: str, upstream_ca: Path | None = None, addon: bool = True
) -> Iterator[Proxy]:
    """mitmdump on a free port with a fresh confdir (its CA is made there) and the
    add-on writing to ``out``; ``upstream_ca`` is trusted for the server side."""
    exe = mitmdump()
    port = free_port()
    confdir = folder / "mitmproxy-conf"
    confdir.mkdir(exist_ok=True)
    log = folder / f"mitmdump-{port}.log"
    cmd = [exe, "--listen-host", "127.0.0.1", "-p", str(port), "--set", f"confdir={confdir}"]
    if addon:
        cmd += ["-s", str(ADDON), "--set", f"headerwatch_out={out}"]
    if upstream_ca is not None:
        cmd += ["--set", f"ssl_verify_upstream_trusted_ca={upstream_ca}"]
    for option in options:
        cmd += ["--set", option]
    with open(log, "wb") as log_file:
        proc = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT)
    proxy = Proxy(proc, port, confdir, log)
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"mitmdump exited: {log.read_text(errors='replace')[-2000:]}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                if proxy.ca.exists():
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"mitmdump did not start: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.1)
        yield proxy
    finally:
        proxy.stop()


def read_jsonl(path: Path) -> list[dict[str, object]]:
    """The JSON objects of a JSONL file."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
