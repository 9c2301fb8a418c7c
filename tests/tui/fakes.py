"""Fakes for the dashboard tests: crafted records and a frame source that needs no network."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable, Iterator, Sequence

from capture.model import Event, Finding, Record, Request, RequestSeen, Response, StatsSnapshot
from capture.sources.frames import Frame
from tests.packets.craft import Conversation
from tui.app import HeaderwatchApp
from tui.messages import EventsArrived

T0 = 1326205331.0  # 2012-01-10 14:22:11 UTC

O2_FINDING = Finding(
    name="x-up-calling-line-id",
    where="header",
    kind="msisdn",
    value="447700900123",
    normalized="+447700900123",
    detector="catalog",
    severity="high",
    detail="+44 7700 900123 · GB mobile",
)
IMEI_FINDING = Finding(
    name="imei",
    where="query",
    kind="imei",
    value="490154203237518",
    normalized="490154203237518",
    detector="imei",
    severity="medium",
    detail="IMEI · TAC 49015420 · Luhn ok",
)

OK = Response(T0 + 0.05, "HTTP/1.1", 200, "OK", (("Content-Type", "text/html"),))


def record(
    rid: int,
    host: str = "www.example.com",
    uri: str = "/",
    *,
    method: str = "GET",
    src: str = "192.0.2.10",
    headers: Sequence[tuple[str, str]] | None = None,
    findings: Sequence[Finding] = (),
    response: Response | None = None,
    ts: float | None = None,
    anomalies: Sequence[str] = (),
) -> Record:
    """A record as the pipeline would make it (ts one second apart by default)."""
    if headers is None:
        headers = [("Host", host), ("User-Agent", "Mozilla/5.0")]
    request = Request(
        ts=T0 + rid if ts is None else ts,
        flow=rid,
        depth=1,
        src=src,
        sport=40000 + rid,
        dst="198.51.100.10",
        dport=80,
        method=method,
        uri=uri,
        version="HTTP/1.1",
        headers=tuple(headers),
        anomalies=tuple(anomalies),
    )
    if response is not None and response.ts < request.ts:
        response = dataclasses.replace(response, ts=request.ts + 0.042)
    return Record(rid, request, tuple(findings), response)


def o2_record(rid: int, host: str = "www.bbc.co.uk", uri: str = "/sport/") -> Record:
    """A request through O2's 2012 proxy: the subscriber's number injected."""
    headers = [
        ("Host", host),
        ("User-Agent", "Mozilla/5.0 (iPhone)"),
        ("Cookie", "s=1; uid=abc"),
        ("Via", "1.1 o2proxy-lon4"),
        ("x-up-calling-line-id", "447700900123"),
    ]
    return record(
        rid, host, uri, src="203.0.113.7", headers=headers, findings=[O2_FINDING], response=OK
    )


def demo_records() -> list[Record]:
    """A small mixed session: O2 requests, ordinary ones, an app with its IMEI."""
    out: list[Record] = []
    rid = 1
    for host, uri in [
        ("www.bbc.co.uk", "/sport/0/football/"),
        ("www.example.com", "/index.html"),
        ("www.guardian.co.uk", "/technology/2012/jan/25/o2"),
        ("www.example.com", "/"),
        ("m.facebook.com", "/profile.php?id=100000000000001"),
    ]:
        if host == "www.example.com":
            out.append(record(rid, host, uri, response=OK))
        else:
            out.append(o2_record(rid, host, uri))
        rid += 1
    out.append(
        record(
            rid,
            "ads.adnetwork.example",
            "/v2/ad?app=com.example.fruitgame&imei=490154203237518",
            src="203.0.113.7",
            findings=[IMEI_FINDING, O2_FINDING],
            headers=[
                ("Host", "ads.adnetwork.example"),
                ("User-Agent", "Dalvik/1.4.0"),
                ("x-up-calling-line-id", "447700900123"),
            ],
            response=OK,
        )
    )
    return out


def seen(records: Iterable[Record]) -> list[Event]:
    """The events of ``records`` with a stats snapshot, as a runner batch would carry."""
    events: list[Event] = [RequestSeen(r) for r in records]
    return events


def stats(**counters: int) -> StatsSnapshot:
    """A stats snapshot."""
    return StatsSnapshot(tuple(counters.items()))


def post_in_batches(app: HeaderwatchApp, records: Iterable[Record], size: int = 500) -> None:
    """Hand ``records`` to the app in batches of ``size``, as the capture thread does."""
    batch: list[Event] = []
    for rec in records:
        batch.append(RequestSeen(rec))
        if len(batch) == size:
            app.post_message(EventsArrived(batch))
            batch = []
    if batch:
        app.post_message(EventsArrived(batch))


def make_app(**kwargs: object) -> HeaderwatchApp:
    """The dashboard with no capture thread (events are posted by the test), UTC times,
    no config file read."""
    kwargs.setdefault("utc", True)
    kwargs.setdefault("keymap", {})
    kwargs.setdefault("confirm_quit", True)
    kwargs.setdefault("source_name", "test")
    return HeaderwatchApp(None, **kwargs)  # type: ignore[arg-type]


# -- a frame source ---------------------------------------------------------------------


def o2_frames(count: int = 3, start: float = T0) -> list[tuple[float, bytes]]:
    """Ethernet frames of ``count`` requests on one connection through O2's proxy."""
    conv = Conversation("203.0.113.7", 49153, "198.51.100.10", 80, ts=start)
    frames = conv.handshake()
    for i in range(count):
        request = (
            f"GET /page/{i} HTTP/1.1\r\nHost: www.bbc.co.uk\r\n"
            "x-up-calling-line-id: 447700900123\r\n\r\n"
        ).encode()
        frames += conv.send(True, request)
        frames += conv.send(False, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    frames += conv.close()
    return frames


class FakeSource:
    """A :class:`~capture.sources.source.FrameSource` over crafted frames.

    ``gate`` (when given) is waited for before the frames after ``hold_after`` are
    yielded, so a test can look at the app mid-capture. ``total_bytes`` /
    ``read_bytes`` make it look like a file source (progress bar).
    """

    def __init__(
        self,
        frames: Sequence[tuple[float, bytes]],
        *,
        name: str = "fake",
        gate: threading.Event | None = None,
        hold_after: int = 0,
        file_like: bool = False,
        extra_counters: dict[str, int] | None = None,
    ) -> None:
        self.name = name
        self._frames = list(frames)
        self._stop = threading.Event()
        self.gate = gate
        self.hold_after = hold_after
        self.extra_counters = extra_counters or {}
        if file_like:
            self.total_bytes = sum(len(f) for _, f in self._frames)
            self.read_bytes = 0

    def frames(self) -> Iterator[Frame | None]:
        for i, (ts, data) in enumerate(self._frames):
            if self.gate is not None and i == self.hold_after:
                while not self.gate.wait(0.05):
                    if self._stop.is_set():
                        return
                    yield None
            if self._stop.is_set():
                return
            if hasattr(self, "read_bytes"):
                self.read_bytes += len(data)
            yield Frame(ts, 1, data)

    def stop(self) -> None:
        self._stop.set()

    def current_time(self) -> float | None:
        return None

    def counters(self) -> dict[str, int]:
        return dict(self.extra_counters)


def demo_capture_events() -> tuple[list[Event], StatsSnapshot]:
    """The events and final counters of the bundled demo capture, read synchronously
    (no capture thread, so snapshots of it are the same every run), with the
    detector ``headerwatch demo`` uses."""
    from capture.identity.detector import IdentityConfig, IdentityDetector
    from capture.pipeline import Pipeline
    from capture.sources.source import FileSource
    from tui.common import DASHBOARD_RECURRENCE, demo_capture_path

    detector = IdentityDetector(IdentityConfig(recurrence=DASHBOARD_RECURRENCE))
    pipeline = Pipeline(detector)
    events = list(pipeline.run(f for f in FileSource([demo_capture_path()]).frames() if f))
    return events, pipeline.snapshot()


def post_demo_capture(app: HeaderwatchApp) -> None:
    """Hand ``app`` the demo capture's events and final counters, as its capture thread
    would (:func:`demo_capture_events`); the caller pauses for them to be drawn."""
    from tui.messages import StatsUpdated

    events, counters = demo_capture_events()
    app.post_message(EventsArrived(events))
    app.post_message(StatsUpdated(counters))
