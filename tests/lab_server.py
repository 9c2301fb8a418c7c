"""A tiny HTTP server for the network-namespace tests: ``python -m tests.lab_server PORT...``.

Answers every request head it reads (pipelined ones included, bodies skipped by
Content-Length) with ``200 OK`` and a two-byte body. Prints ``ready`` once it
listens on every port.
"""

from __future__ import annotations

import socket
import sys
import threading

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            try:
                return int(value.strip())
            except ValueError:
                return 0
    return 0


def _serve(conn: socket.socket) -> None:
    buf = b""
    with conn:
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            buf += data
            while True:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    break
                need = end + 4 + _content_length(buf[:end])
                if len(buf) < need:
                    break
                buf = buf[need:]
                try:
                    conn.sendall(RESPONSE)
                except OSError:
                    return


def _listen(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("0.0.0.0", port))
    sock.listen(128)
    return sock


def _accept(sock: socket.socket) -> None:
    while True:
        conn, _ = sock.accept()
        threading.Thread(target=_serve, args=(conn,), daemon=True).start()


def main(argv: list[str]) -> None:
    """Listen on every port given and serve forever."""
    listeners = [_listen(int(port)) for port in argv]
    for sock in listeners:
        threading.Thread(target=_accept, args=(sock,), daemon=True).start()
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main(sys.argv[1:])
