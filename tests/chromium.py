"""Debian's headless ``chromium`` driven over the DevTools protocol, for tests.

No Python client library: ``--remote-debugging-pipe`` makes Chromium read
commands on fd 3 and write answers and events on fd 4, as NUL-terminated JSON
(what Puppeteer's pipe transport speaks). :func:`load` opens one page and
returns what a test asserts on: console messages and errors, every network
request the page made, values of expressions, and a PNG screenshot.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def require_chromium() -> str:
    """The browser's path; skip, with the reason, where it is not installed (CI has it)."""
    if CHROMIUM is None:
        pytest.skip("needs Debian's chromium (apt-get install chromium; .ci/run installs it)")
    return CHROMIUM


@dataclass
class Page:
    """What loading one page showed."""

    console: list[tuple[str, str]] = field(default_factory=list)
    """``(level, text)`` of console messages, log entries and exceptions."""
    requests: list[str] = field(default_factory=list)
    """URL of every request the page made (the page itself included)."""
    values: dict[str, Any] = field(default_factory=dict)
    """Each expression asked for, with its value."""

    @property
    def errors(self) -> list[str]:
        """Console messages at error level, and exceptions."""
        return [text for level, text in self.console if level in ("error", "exception")]


class _Pipe:
    def __init__(self, send: int, receive: int, proc: subprocess.Popen[bytes]) -> None:
        self.send_fd, self.receive_fd, self.proc = send, receive, proc
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self.buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self.receive_fd, 1 << 16)
            if not chunk:
                raise RuntimeError(f"chromium exited ({self.proc.poll()})")
            self.buffer += chunk
        raw, _, self.buffer = self.buffer.partition(b"\0")
        message: dict[str, Any] = json.loads(raw)
        return message

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self.send_fd, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + 30
        while True:
            answer = self._read_message(deadline)
            if answer.get("id") == self.next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                result: dict[str, Any] = answer.get("result", {})
                return result
            self.events.append(answer)

    def wait_for(self, method: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            self.events.append(self._read_message(deadline))


def _high(fd: int) -> int:
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return moved


def load(
    url: str,
    screenshot: Path,
    expressions: tuple[str, ...] = (),
    pdf: Path | None = None,
    width: int = 1200,
    media: str = "screen",
) -> Page:
    """Open ``url`` in a fresh headless browser ``width`` CSS pixels wide, for ``media``
    (``print``: laid out by its print stylesheet, as on paper that wide), wait for its
    load event, evaluate ``expressions``, save a full-page PNG to ``screenshot`` (and,
    with ``pdf``, the page as printed, A4, with its print stylesheet); return what it
    showed."""
    browser = require_chromium()
    # Above 9 (bash reads such fd numbers, dash does not), so that the shell's
    # "3<&N 4>&M" never reads an fd it has just replaced.
    to_browser = tuple(_high(fd) for fd in os.pipe())
    from_browser = tuple(_high(fd) for fd in os.pipe())
    profile = screenshot.parent / f".{screenshot.stem}-profile"
    command = (
        f"exec {browser} --headless --no-sandbox --disable-gpu --no-first-run "
        "--disable-extensions --disable-background-networking --disable-sync "
        "--disable-component-update --disable-default-apps --hide-scrollbars "
        f"--remote-debugging-pipe --user-data-dir={profile} about:blank "
        f"3<&{to_browser[0]} 4>&{from_browser[1]}"
    )
    log = (screenshot.parent / f"{screenshot.stem}-chromium.log").open("wb")
    proc = subprocess.Popen(
        ["bash", "-c", command],
        pass_fds=(to_browser[0], from_browser[1]),
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    os.close(to_browser[0])
    os.close(from_browser[1])
    pipe = _Pipe(to_browser[1], from_browser[0], proc)
    page = Page()
    try:
        target = pipe.call("Target.createTarget", url="about:blank")["targetId"]
        session = pipe.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Runtime", "Log", "Network", "Page"):
            pipe.call(f"{domain}.enable", session)
        pipe.call("Emulation.setDeviceMetricsOverride", session, width=width, height=900,
                  deviceScaleFactor=1, mobile=False)  # fmt: skip
        if media != "screen":
            pipe.call("Emulation.setEmulatedMedia", session, media=media)
        pipe.call("Page.navigate", session, url=url)
        pipe.wait_for("Page.loadEventFired")
        for expression in expressions:
            answer = pipe.call("Runtime.evaluate", session, expression=expression,
                               returnByValue=True)  # fmt: skip
            page.values[expression] = answer.get("result", {}).get("value")
        shot = pipe.call("Page.captureScreenshot", session, format="png",
                         captureBeyondViewport=True)  # fmt: skip
        screenshot.write_bytes(base64.b64decode(shot["data"]))
        if pdf is not None:
            printed = pipe.call("Page.printToPDF", session, paperWidth=8.27, paperHeight=11.69)
            pdf.write_bytes(base64.b64decode(printed["data"]))
        # Anything logged while the page settled and was measured.
        pipe.call("Runtime.evaluate", session, expression="1")
        for event in pipe.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled":
                args = params.get("args", [])
                text = " ".join(str(a.get("value", a.get("description", ""))) for a in args)
                page.console.append((params.get("type", ""), text))
            elif method == "Runtime.exceptionThrown":
                page.console.append(("exception", json.dumps(params.get("exceptionDetails"))))
            elif method == "Log.entryAdded":
                entry = params.get("entry", {})
                page.console.append((entry.get("level", ""), entry.get("text", "")))
            elif method == "Network.requestWillBeSent":
                page.requests.append(params.get("request", {}).get("url", ""))
        with contextlib.suppress(RuntimeError, OSError, TimeoutError):
            pipe.call("Browser.close")
    finally:
        os.close(to_browser[1])
        os.close(from_browser[0])
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        shutil.rmtree(profile, ignore_errors=True)
        log.close()
    return page
