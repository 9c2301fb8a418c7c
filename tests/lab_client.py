"""An HTTP client sending exact bytes: ``python -m tests.lab_client HOST < plan.json``.

The plan is a list of connections, made one after the other::

    [{"port": 80, "sends": ["<latin-1 text>", ...], "gap": 0.05, "responses": 1}]

Each item of ``sends`` goes out in its own TCP segment (TCP_NODELAY, a pause of
``gap`` seconds between them); then the client waits for ``responses`` answers
(counted by status line) and closes. Prints ``done N`` with the responses read.
"""

from __future__ import annotations

import json
import socket
import sys
import time


def run_connection(host: str, spec: dict[str, object]) -> int:
    """Make one connection of the plan; return how many responses came back."""
    port = int(spec["port"])  # type: ignore[call-overload]
    sends = [str(s).encode("latin-1") for s in spec["sends"]]  # type: ignore[attr-defined]
    gap = float(spec.get("gap", 0.05))  # type: ignore[arg-type]
    expected = int(spec.get("responses", 1))  # type: ignore[call-overload]
    sock = socket.create_connection((host, port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i, chunk in enumerate(sends):
        if i:
            time.sleep(gap)
        sock.sendall(chunk)
    got = b""
    deadline = time.monotonic() + 10
    while got.count(b"HTTP/1.1 200") < expected and time.monotonic() < deadline:
        data = sock.recv(65536)
        if not data:
            break
        got += data
    sock.close()
    return got.count(b"HTTP/1.1 200")


def main(argv: list[str]) -> None:
    """Run the plan read from stdin against ``argv[0]``."""
    plan = json.load(sys.stdin)
    total = sum(run_connection(argv[0], spec) for spec in plan)
    print(f"done {total}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
