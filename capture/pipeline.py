"""The one pipeline every command uses: frames (or parsed requests) in, events out.

``scan``, ``open``, ``live`` and ``demo`` all push frames through
:class:`Pipeline`, so a file and a live interface give the same records. Sources
of already-parsed requests (a JSONL file, another engine's log) enter one level
higher, at :meth:`Pipeline.feed_request`, and go on from there the same way.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from bisect import bisect_left
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Protocol, cast

from capture import gaps
from capture.http.echo import added_on_the_way, echoed_transit, touched_findings
from capture.http.echo_key import echo_key
from capture.http.stream import (
    GAP_NOTE,
    HEAD_CUT_NOTE,
    HttpConnection,
    HttpTracker,
    first_head_settles,
)
from capture.model import (
    EchoSeen,
    Event,
    Finding,
    Parsed,
    Record,
    Request,
    RequestSeen,
    Response,
    ResponseSeen,
    StatsSnapshot,
    Transit,
    identities_seen,
    positional_new,
)
from capture.net.decode import Decoder, skippable
from capture.net.fragments import fragments_summary
from capture.net.reassembly import Limits, Reassembler, reassembly_summary
from capture.net.shard import Shard
from capture.sources.frames import SEGMENT, TICK, CaptureFile, Frame
from capture.sources.pcapdroid import frame_app
from capture.text import counted, printable

_NO_EVENTS: list[Event] = []

ECHO_WAIT = 5.0
"""Longest a request is held (capture seconds) for its connection to show whether a
reflector answers it: a server that never answers delays output by this much."""
HOLD_LIMIT = 10_000
"""Most requests held at once; past it, the oldest goes without its verdict."""

APP_CONNECTIONS = 100_000
"""Connections whose app (PCAPdroid) is remembered; beyond, the oldest is forgotten."""

_ZERO_MACS = bytes(12)

# Half the cost of Record() and RequestSeen(), once per request (a million times in
# a scan of a large log): capture.model.positional_new.
_new_record = positional_new(Record)
_new_request_seen = positional_new(RequestSeen)

DETECT_BATCH = 128
"""Requests a file scan's reader lets pile up, undetected, before detection reads them
all in one go (:meth:`Pipeline._detect_waiting`). Read one by one between the frames
that complete them, detection's code and tables and the reader's pushed each other
out of the CPU's caches: on ad and analytics traffic the same scan took a third more
time for it (bench/scan_bench.py's detection-cost lines, docs/scale.md)."""


@dataclasses.dataclass(frozen=True, slots=True)
class _Undetected:
    """A request's place among the events, its record's id taken, until detection
    reads it with the others of its batch (:meth:`Pipeline._detect_waiting`)."""

    id: int
    request: Request


_new_undetected = positional_new(_Undetected)


class Detector(Protocol):
    """Finds identities in a request (see :mod:`capture.identity`)."""

    def detect(self, request: Request) -> tuple[Finding, ...]:
        """Every finding in ``request``."""


UNSEARCHED_NOTE = "not searched for identities: the detector failed on it"
"""The anomaly of a request the detector raised an exception on (its type and message
follow in brackets): it is kept without findings (:meth:`Pipeline._unsearched`)."""
STOPPED_NOTE = "not searched for identities: the scan was stopped while the detector read it"
"""The anomaly of a request read as a stop (Ctrl-C, SIGTERM) came inside the detector:
the requests waiting for it (a file scan's batch, :data:`DETECT_BATCH`, or the one read
alone) are written without findings rather than left out (:meth:`Pipeline.unhanded`)."""
ECHO_STOPPED_NOTE = (
    "echo not compared: the scan was stopped while the detector read what it shows added"
)
"""The anomaly of a request whose reflector's echo came as a stop came inside the
detector, reading the headers the echo shows added on the way: written without them."""


def unsearched(request: Request, exc: Exception) -> Request:
    """``request``, which the detector failed on with ``exc``, with an anomaly that says
    so (:data:`UNSEARCHED_NOTE`). A detector's bug set off by one request (Python's
    int() refusing 4,301 digits was one) ended a live capture, a scan with a traceback
    and nothing written, and the reflector's answer: the request is kept, without
    findings, and the capture goes on."""
    why = printable(f"{type(exc).__name__}: {exc}")[:80]
    return _noted(request, f"{UNSEARCHED_NOTE} ({why})")


def _noted(request: Request, note: str) -> Request:
    """``request`` with the anomaly ``note`` after its own."""
    return dataclasses.replace(request, anomalies=(*request.anomalies, note))


def _echo_stopped(record: Record) -> Record:
    """``record`` with the anomaly :data:`ECHO_STOPPED_NOTE`: a stop came as what its
    echo shows added was read."""
    return dataclasses.replace(record, request=_noted(record.request, ECHO_STOPPED_NOTE))


class Pipeline:
    """Decode → reassemble → parse HTTP → detect identities, one frame at a time."""

    def __init__(
        self,
        detector: Detector | None = None,
        limits: Limits | None = None,
        responses: bool = True,
        shard: Shard | None = None,
        echoes: bool = True,
        *,
        first_id: int = 1,
        echo_wait: float | None = ECHO_WAIT,
        batches: bool = True,
    ) -> None:
        """``responses=False`` skips parsing server bytes: for consumers that print
        requests only (``scan``), it saves a third of the work. Requests are the same
        either way; only :class:`ResponseSeen` events are missing.

        With ``shard``, only that shard's connections are read (and counted): the
        process's part of a split scan (:mod:`capture.scan_jobs`).

        ``echoes`` (with ``responses=False``): a connection whose server answers with
        a reflector's echo (:mod:`capture.http.echo`) still has its responses read, so
        that each request comes out complete with what the network did to it
        (:attr:`Record.transit`). Each request is then held, in capture order, until
        its connection's first response head shows whether it is a reflector's (one
        round trip), at most ``echo_wait`` seconds of capture time (None: as long as
        its connection may bring one, for a file, which no reader waits on) or
        :data:`HOLD_LIMIT` requests.

        ``first_id``: the id of the first record, the next ones counting on from it (a
        split scan's processes start where every id has as many digits).

        ``batches``: a file's requests may be detected in batches (:meth:`run_capture`);
        False where every request is detected as it completes (a redacted scan, which
        reads all before it writes, has no batch to write after a stop)."""
        self.detector = detector
        self.shard = shard
        self.decoder = Decoder(shard)
        self._holding = echoes and not responses
        self._echo_wait = echo_wait
        self._pairing = responses
        """Requests are kept for their responses (:attr:`responses`)."""
        self._quiet = True
        """Nothing is held (neither _lone nor anything in _held): a request known to
        bring no echo goes out at once. False may be out of date (_hold finds out);
        True never is."""
        self.tracker = HttpTracker(
            self._on_request,
            self._on_response,
            responses=responses,
            echoes=echoes,
            on_settled=self._on_settled,
            on_echo=self._on_echo,
            on_unanswered=self._on_unanswered,
        )
        self._lone: Record | _Undetected | None = None
        """The one request held, while it waits for its connection's verdict and
        nothing else is held (nor any connection's requests kept in _held_flows): the
        common case, a connection's first request, its verdict a round trip later.
        It goes as soon as the verdict comes (_on_settled) and skips the queue;
        anything else to hold, or its connection's echo, or a bound, queues it
        first (_queue_lone). While a file scan reads, made without detection
        (:class:`_Undetected`), which comes when it goes (:meth:`_lone_goes`)."""
        self._held: OrderedDict[int, Record] = OrderedDict()
        """Requests waiting for their connection's verdict, by id (capture order)."""
        self._ready: set[int] = set()
        """Held requests whose transit is known (or known not to come)."""
        self._held_flows: dict[int, list[Record]] = {}
        """The requests of each connection whose verdict is not known yet, or that is a
        reflector's (held or already let go at a bound), in order."""
        self.hold_cut = 0
        """Requests let go at a bound (``ECHO_WAIT``, ``HOLD_LIMIT``) whose reflector's
        echo came after: their records lack what it showed."""
        self.reassembler = Reassembler(self.tracker, limits, shard.owns if shard else None)
        self._out: list[Event | _Undetected] = []
        """The events completed since they were last handed out; during a file scan's
        read (:meth:`run_capture`), with the requests whose detection waits for their
        batch in their places (:meth:`_later`)."""
        self._batches = batches
        self._defer = False
        """Requests that go out at once are detected in batches (:meth:`_later`): while
        :meth:`run_capture` reads a file for a detecting pipeline that pairs no
        responses (nothing then looks at such a record before it is handed out)."""
        self._waiting = 0
        """Requests in :attr:`_out` whose detection waits (:class:`_Undetected`)."""
        self._handing: deque[Event] = deque()
        """The batch :meth:`run_capture` is handing out, what its consumer has not taken."""
        self._stopped_in_detection = False
        """A stop (Ctrl-C, SIGTERM) came while the detector read a request: it is not
        asked again (:meth:`unhanded`), as a library it calls may have been stopped
        holding a lock (libphonenumber's region metadata is loaded under one)."""
        self._unwritten: list[Record | tuple[int, Request, tuple[Finding, ...]]] = []
        """What a stop left in hand, in the order read, for :meth:`unhanded` to write
        after the requests read before it: records made, and the requests the detector
        was reading (their ids, and the findings their file carried), unsearched."""
        self._frame_app: str | None = None
        """The app of the frame being decoded, when the capture says (PCAPdroid)."""
        self._apps: OrderedDict[tuple[bytes, int, bytes, int], str] = OrderedDict()
        """Connection (addresses and ports as in a segment) → its app; bounded by
        :data:`APP_CONNECTIONS`."""
        self._awaiting: OrderedDict[tuple[int, int], Record] = OrderedDict()
        """(flow, depth) -> record, for pairing its response: until the response comes,
        or the tracker says none will (:meth:`_on_unanswered`); at most 100,000."""
        self._next_id = first_id
        self._starts: list[int] = []
        """The frames read before each input :meth:`begin` named, in order."""
        self._names: list[str] = []
        """The inputs :meth:`begin` named, in order."""
        self._seen: Callable[[Record], RequestSeen] = _new_request_seen
        """A record handed out as an event: as it is, or :meth:`_located` once inputs
        are named."""
        self.packets = 0
        self.parsed = 0
        """Requests that arrived already parsed (:meth:`feed_request`)."""
        self.identities = 0
        self.identity_requests = 0
        self.gap_requests = 0
        """Requests whose bytes a capture gap hit (the stream notes gaps on requests):
        what a kernel or queue drop, or a packet the capture missed, cost."""
        self.parsed_gap_requests = 0
        """Requests that arrived parsed whose anomalies say a capture gap hit them when
        their capture was read: a record file's own account (no reassembly here sees
        it), counted apart from :attr:`gap_requests`, which go with this run's gaps."""
        self.echoes = 0
        """Requests a reflector echoed (sent versus received known)."""
        self.echoes_signed = 0
        """Of :attr:`echoes`, those whose echo was signed with the echo key."""
        self.echoes_signed_recorded = 0
        """Of :attr:`echoes`, those of record files that say their echo was signed
        (checked when they were written, not here: the file keeps no echo)."""
        self.echoes_unsigned = 0
        """Echoes not signed with the echo key (:mod:`capture.http.echo_key`) where one
        was given: not compared, as any server may have written them."""
        self._echo_key = echo_key()
        self.altered = 0
        """Of those, requests whose headers were added to, removed or changed on the way."""
        self.unsearched = 0
        """Requests (or blocks as a reflector received them) the detector failed on:
        handed out without findings (:meth:`_unsearched`)."""
        self.stopped_unsearched = 0
        """Requests written unsearched as a stop came in the detector (:data:`STOPPED_NOTE`)."""

    @property
    def responses(self) -> bool:
        """Whether responses are handed out (:class:`ResponseSeen`): ``responses`` of
        the constructor. A request-level source may leave them out when not
        (:meth:`capture.sources.records.RecordFile.requests`)."""
        return self.tracker.responses

    def begin(self, name: str) -> None:
        """The frames or requests that follow come from input ``name``, one of several
        read in turn (a scan, report or dashboard of more files than one; never called
        for a single input, whose records stay as they are). Connections go on across
        inputs and keep their number internally, counted across all of them; each
        record handed out says which input its connection's first frame came from
        (:attr:`Request.input`), and its ``flow`` is that frame's number within it,
        from 1, as Wireshark numbers the file's frames. A record file's requests are
        named after it, their ``flow`` as the file has it (unless it names an input of
        its own)."""
        self._starts.append(self.packets)
        self._names.append(name)
        self._seen = self._seen_located

    def _seen_located(self, record: Record) -> RequestSeen:
        return _new_request_seen(self._located(record))

    def _located(self, record: Record) -> Record:
        """``record`` with its input named and its flow numbered within that input
        (see :meth:`begin`). The frame that opened its connection is in the last input
        begun before that frame: frame numbers only grow, and a record file's input
        adds none."""
        request = record.request
        if request.input:
            return record
        at = bisect_left(self._starts, request.flow) - 1
        if at < 0:
            return record  # not numbered by a frame
        located = dataclasses.replace(
            request, flow=request.flow - self._starts[at], input=self._names[at]
        )
        return dataclasses.replace(record, request=located)

    def feed(self, frame: Frame) -> list[Event]:
        """Process one frame; return the events it completed (often none)."""
        self.packets += 1
        ts, linktype, data, comments = frame
        # PCAPdroid's app: a comment, or a trailer behind zero MAC addresses.
        if comments or (linktype == 1 and data.startswith(_ZERO_MACS)):
            self._frame_app = frame_app(linktype, data, comments)
        else:
            self._frame_app = None
        self._frame(ts, linktype, data)
        return self._take()

    def _frame(self, ts: float, linktype: int, data: bytes) -> None:
        reassembler = self.reassembler
        if ts >= reassembler.sweep_due:
            # Time passes before the frame is read, as at a reader's TICK: what the
            # sweep closes comes before what the frame completes, the order of a
            # split scan's keys (scan_jobs: a tick's sorts before its record's
            # requests), where the processes that do not own the frame's
            # connection close theirs at it too.
            reassembler.frame_no = self.packets
            reassembler.tick(ts)
            if self._held or self._lone is not None:
                self._expire(ts)
        skip = reassembler.skip
        # Segments that reassembly has said it does not need (acknowledgements,
        # response bodies during scan) are not decoded at all.
        key = skippable(data, 0, skip) if skip and linktype == 1 else None
        if key is None:
            self._feed(ts, linktype, data)
        else:
            reassembler.touched[key] = ts

    def _on_settled(self, flow_id: int) -> None:
        """Connection ``flow_id`` brings no more echoes: its held requests may go."""
        records = self._held_flows.pop(flow_id, None)
        if records is None:
            # The common case of a verdict: its connection's first request waited
            # for it alone (held as _lone), and goes now. Otherwise the connection
            # was settled before, and is now closing.
            lone = self._lone
            if lone is not None and lone.request.flow == flow_id:
                self._lone = None
                self._quiet = True  # nothing else was held
                self._lone_goes(lone)
            return
        held = self._held
        if len(records) == 1 and not self._awaiting:
            # The common case of a verdict: one request waited for it, and nothing
            # pairs its response (no reflector seen). When it heads the queue it goes
            # now, without a mark in _ready.
            rid = records[0].id
            if held and next(iter(held)) == rid:
                self._out.append(self._seen(held.pop(rid)))
                # _release's first test, written out: the next head mostly still waits.
                if held and (next(iter(held)) in self._ready or len(held) > HOLD_LIMIT):
                    self._release()
                return
        ready, awaiting = self._ready, self._awaiting
        for record in records:
            rid = record.id
            # Only those still held: one let go at a bound must not linger in _ready.
            if rid in held:
                ready.add(rid)
            if awaiting:
                # No response of this connection is read any more: nothing to pair.
                awaiting.pop((flow_id, record.request.depth), None)
        self._release()

    def _on_echo(self, flow_id: int) -> None:
        """Connection ``flow_id``'s server is a reflector: its responses are read, and
        the requests that waited for that verdict are paired with them."""
        self._queue_lone()
        for record in self._held_flows.get(flow_id, ()):
            self._await(record)

    def _queue_lone(self) -> None:
        """Put the request held alone (_lone), if any, in the queue (_held, and its
        connection's in _held_flows), where the general steps find it."""
        lone = self._lone
        if lone is not None:
            self._lone = None
            if isinstance(lone, _Undetected):
                # Held with others now, and paired with an echo perhaps: detected.
                try:
                    lone = self._detected_record(lone)
                except BaseException:
                    self._lone = lone  # a stop in the detector: unhanded() writes it
                    raise
            self._held[lone.id] = lone
            self._held_flows[lone.request.flow] = [lone]

    def _lone_goes(self, lone: Record | _Undetected) -> None:
        """Hand out the request held alone (:attr:`_lone`); where its detection waits,
        with the rest of its batch (:meth:`_detect_waiting`)."""
        if isinstance(lone, _Undetected):
            self._waiting += 1
            self._out.append(lone)
        else:
            self._out.append(self._seen(lone))

    def _release(self) -> None:
        """Hand out the held requests at the head of the queue that are complete."""
        held, ready, out = self._held, self._ready, self._out
        while held:
            first = next(iter(held))
            if first in ready:
                ready.discard(first)
            elif len(held) <= HOLD_LIMIT:
                return
            # else bounded: the oldest goes without its verdict (an echo that comes
            # for it later is counted, in _answer)
            out.append(self._seen(held.pop(first)))

    def _expire(self, now: float) -> None:
        """Let go of held requests older than the echo wait in capture time (none
        without one: a file's requests wait for their connection's verdict)."""
        wait = self._echo_wait
        if wait is None:
            return
        lone = self._lone
        if lone is not None:
            if lone.request.ts > now - wait:
                return
            self._queue_lone()
        held = self._held
        while held:
            first = next(iter(held))
            if first not in self._ready and held[first].request.ts > now - wait:
                return
            self._let_go(first)

    def _let_go(self, rid: int) -> None:
        """Hand out held request ``rid``."""
        self._ready.discard(rid)
        self._out.append(self._seen(self._held.pop(rid)))

    def _decode(self, ts: float, linktype: int, data: bytes) -> None:
        """:meth:`_feed`, written out: this runs for every record a file scan's reader
        lets through, and the call cost more than its work."""
        reassembler = self.reassembler
        reassembler.frame_no = self.packets
        seg = self.decoder.decode(ts, linktype, data)
        if seg is not None:
            app = self._frame_app
            if app is not None:
                self._note_app(seg.src, seg.sport, seg.dst, seg.dport, app)
            reassembler.feed(seg)

    def _feed(self, ts: float, linktype: int, data: bytes) -> None:
        """Decode the frame and hand its segment to reassembly."""
        reassembler = self.reassembler
        reassembler.frame_no = self.packets
        seg = self.decoder.decode(ts, linktype, data)
        if seg is not None:
            app = self._frame_app
            if app is not None:
                self._note_app(seg.src, seg.sport, seg.dst, seg.dport, app)
            reassembler.feed(seg)

    def _note_app(self, src: bytes, sport: int, dst: bytes, dport: int, app: str) -> None:
        """Remember the app of a connection (either direction), once."""
        apps = self._apps
        key = (src, sport, dst, dport)
        if key in apps or (dst, dport, src, sport) in apps:
            return
        apps[key] = app
        if len(apps) > APP_CONNECTIONS:
            apps.popitem(last=False)

    def unhanded(self, searched: bool = False) -> list[Event]:
        """The events of what was read that :meth:`run_capture` has not handed out, its
        consumer stopped (a scan's Ctrl-C): the rest of the batch it was handing out, the
        requests waiting for their batch, detected now, and those held for their
        connection's verdict (where the stop came in the detector, what waited for it,
        the batch or the one request it read alone, without findings: :data:`STOPPED_NOTE`).
        What the frames read so far hold, and no more (:meth:`flush` ends the
        connections). ``searched``: without the requests the detector did not read
        (neither made nor counted): a redacted output's, which could not mask them."""
        rest = list(self._handing)
        self._handing.clear()
        if not self._stopped_in_detection:
            # The requests held for their connection's verdict (a round trip), which
            # the stop leaves unknown: handed out as they are, not left out; a
            # reflector's echo after them was not read.
            self._release_held()
            return rest + self._take() + self._in_hand(searched)
        # The detector is not asked again: what waits for it is written unsearched,
        # and says so (its anomaly, the summary's count); then the held requests (one
        # held alone may wait for it too), and last the one it was reading alone.
        made = [
            self._unsearched_at_stop(e) if isinstance(e, _Undetected) else e
            for e in self._out
            if not (searched and isinstance(e, _Undetected))
        ]
        self._out = []
        self._waiting = 0
        lone = self._lone
        if isinstance(lone, _Undetected):
            self._lone = None if searched else self._stopped(lone.id, lone.request)
        self._release_held()
        made += cast("list[Event]", self._out)  # released records only: none waits now
        self._out = []
        return rest + made + self._in_hand(searched)

    def _in_hand(self, searched: bool) -> list[Event]:
        """The events of what a stop left in hand (:attr:`_unwritten`); ``searched``:
        of the records made only."""
        unwritten, self._unwritten = self._unwritten, []
        return [
            self._seen(item if isinstance(item, Record) else self._stopped(*item))
            for item in unwritten
            if not (searched and not isinstance(item, Record))
        ]

    def _unsearched_at_stop(self, waiting: _Undetected) -> Event:
        """The event of a request whose detection waited as a stop came in the detector."""
        return self._seen(self._stopped(waiting.id, waiting.request))

    def _stopped(self, rid: int, request: Request, carried: tuple[Finding, ...] = ()) -> Record:
        """The record of a request whose detection a stop came in (:data:`STOPPED_NOTE`):
        its headers, body and target as read, no findings but those its file carried,
        counted."""
        request = _noted(request, STOPPED_NOTE)
        self._count(request, carried)
        self.stopped_unsearched += 1
        return _new_record(rid, request, carried, None, None)

    def _take(self) -> list[Event]:
        """The events completed since the last call."""
        if self._out:
            # Taken once made: a stop in the detection of the requests among them
            # leaves them where they were (unhanded()).
            out = self._handed(self._out)
            self._out = []
            return out
        return _NO_EVENTS

    def _hand_out(self) -> Iterator[Event]:
        """The events completed (:meth:`_take`), handed out from the pipeline's queue:
        what a consumer stopped in them has not taken stays for :meth:`unhanded` (a
        scan's Ctrl-C), and so do the requests of a batch a stop came in the detection
        of (:meth:`_take` leaves them where they were)."""
        handing = self._handing
        handing.extend(self._take())
        while handing:
            yield handing.popleft()

    def _handed(self, events: list[Event | _Undetected]) -> list[Event]:
        """``events`` as they are handed out: the requests among them whose detection
        waits (:meth:`_later`) detected now, as a batch (:meth:`_detect_waiting`)."""
        if self._waiting:
            return self._detect_waiting(events)
        return cast("list[Event]", events)  # none waits: every one is an event

    def advance(self, ts: float) -> list[Event]:
        """Capture time ``ts`` has come without a frame (a quiet live capture):
        connections idle too long close, and what that completes is returned."""
        self.reassembler.tick(ts)
        if self._held or self._lone is not None:
            self._expire(ts)
        return self._take()

    def flush(self) -> list[Event]:
        """End of input: close every connection and return what that completes."""
        self.reassembler.frame_no = self.packets + 1
        self.reassembler.flush()
        self._release_held()
        return self._take()

    def _release_held(self) -> None:
        """Hand out every request held for its connection's verdict, as it is: at the
        input's end (:meth:`flush`) or a stop (:meth:`unhanded`), no verdict is to come."""
        self._queue_lone()
        self._ready.update(self._held)
        self._held_flows.clear()
        self._release()

    def run(self, frames: Iterable[Frame]) -> Iterator[Event]:
        """All events of a finite frame source, flushed at the end."""
        feed = self.feed
        for frame in frames:
            events = feed(frame)
            if events:
                yield from events
        yield from self.flush()

    def run_capture(
        self, capture: CaptureFile, stop: Callable[[int], bool] | None = None
    ) -> Iterator[Event]:
        """The events of one capture file (not flushed: more files may follow).

        Records that reassembly does not need are passed over inside the reader
        (see :meth:`CaptureFile.frames`); frame numbers still count them, and time
        passes at the first record of each capture second, skipped or not.
        ``stop``: asked at the first record of each capture second, given the records
        read before it (of every capture read), whether to stop reading there (a split
        scan stopped by Ctrl-C, :mod:`capture.scan_stop`); the capture is then closed,
        read up to there.
        """
        reassembler = self.reassembler
        # What the reader lets through needs no second look at the skip table.
        step = self._decode if capture.passes_over else self._frame
        base = self.packets
        # Requests only, echoes read: a server's first segment that settles the echo
        # probe is looked at by the reader and never decoded (VERDICT frames).
        probe = first_head_settles if self._holding else None
        # Most verdicts the reader settles itself (see CaptureFile.frames): their keys
        # come here, read before the next frame is handled (and at the end).
        verdicts: list[bytes] = []
        # Plain TCP records come decoded by the reader (SEGMENT frames): the
        # C walk builds the segment without a frame object or a decoding call.
        frames = capture.frames(
            reassembler.skip,
            reassembler.touched,
            self.shard,
            probe,
            True,
            verdicts,
            reassembler.foreign,
        )
        # Most segments that reach reassembly are a client's data in order: fed in C.
        feed = reassembler.segment_feed()
        # PCAPdroid's app: a pcapng's comments may name one on any frame. A classic
        # pcap has no comments, and PCAPdroid wraps every frame of one in its bogus
        # Ethernet header (zero MAC addresses): its first frame tells whether each
        # frame's trailer is to be read, which spares every other capture a look.
        # Only a frame that goes to step() is looked at: the markers and SEGMENT
        # frames (nonzero MAC addresses, no comments) name no app, and the app is
        # read by step() alone.
        apps = not capture.passes_over
        first = not apps
        self._frame_app = None
        # Requests that go out at once wait for detection in batches (_later), and
        # the events are handed out a batch at a time: of a detecting scan's file,
        # where nothing pairs responses (a scan's requests only). Not of a stream
        # (stdin, a pipe), whose reader may be waiting on each request as it comes.
        # Nor where recurrence is counted: its findings depend on the order requests
        # are read in, and a connection's first request can be read before the batch
        # of those that went out before it (_queue_lone).
        batch = (
            DETECT_BATCH
            if self.detector is not None
            and self._batches
            and not self._pairing
            and not capture.streamed
            and not getattr(self.detector, "counts_recurrence", False)
            else 0
        )
        self._defer = batch > 0
        events: list[Event | _Undetected]
        try:
            for ts, linktype, data, comments in frames:
                if verdicts:
                    self._settle(verdicts)
                if linktype == SEGMENT:
                    # What _decode does with a frame, the reader having decoded it.
                    first = False
                    self.packets = reassembler.frame_no = base + capture.records
                    feed(data)  # type: ignore[arg-type]
                    if not self._out:
                        continue  # most segments complete nothing
                elif linktype < 0:
                    if linktype == TICK:
                        if stop is not None and stop(base + capture.records):
                            frames.close()
                            break
                        # Before the record that starts the second: it takes that number.
                        reassembler.frame_no = base + capture.records + 1
                        reassembler.tick(ts)
                        if self._held or self._lone is not None:
                            self._expire(ts)
                    else:
                        self._verdict(data)  # VERDICT
                    if not self._out:
                        continue
                else:
                    if apps:
                        if comments or (linktype == 1 and data.startswith(_ZERO_MACS)):
                            self._frame_app = frame_app(linktype, data, comments)
                        elif self._frame_app is not None:
                            self._frame_app = None
                    elif first:
                        first = False
                        if linktype == 1 and data.startswith(_ZERO_MACS):
                            apps = True
                            self._frame_app = frame_app(linktype, data, comments)
                    self.packets = base + capture.records
                    step(ts, linktype, data)
                    if not self._out:
                        continue
                if batch and len(self._out) < batch:
                    continue  # handed out with the rest of their batch
                if batch:
                    yield from self._hand_out()
                else:
                    events = self._out
                    self._out = []
                    # _handed, written out: nothing waits, and this runs once a request.
                    yield from events  # type: ignore[misc]  # none waits: all are events
            if verdicts:
                self._settle(verdicts)
            if self._out:
                yield from self._hand_out()  # the last batch (of a batched read)
        finally:
            # Requests still waiting (the read failed) are detected as flush() hands
            # them out (_take).
            self._defer = False
        self.packets = base + capture.records

    def _settle(self, verdicts: list[bytes]) -> None:
        """The verdicts the reader settled without a frame (their keys, in order): as a
        VERDICT frame's (:meth:`_verdict`), but the reader has made the server's skip
        entry True already, which leaves only its ignore flag to set.

        Once per connection of a scan, so its steps are written out here: those of
        :meth:`_verdict`, of :meth:`HttpConnection.not_an_echo` (what
        ``Reassembler.ignore_probed`` does, less the skip entry) and of the common
        case of :meth:`_on_settled` (the connection's first request waited alone)."""
        by_raw = self.reassembler.by_raw
        for key in verdicts:
            flow = by_raw.get(key)
            if flow is None:
                continue
            conn: HttpConnection | None = flow.app  # type: ignore[assignment]
            if conn is None or conn.echo is not None or conn.probe is not None:
                continue
            conn.echo = False
            outstanding = conn.outstanding
            while outstanding:
                outstanding.pop()  # (clear() would allocate a fresh block: mostly one head)
            client = conn.client
            if client is not None:
                flow.halves[1 - client].ignore = True
            lone = self._lone
            if lone is not None and lone.request.flow == flow.id:
                # _on_settled's common case, written out: the connection's first
                # request waited for this verdict alone, and goes now. (Calling
                # _on_settled measured ~700 instructions a connection more.)
                self._lone = None
                self._quiet = True  # nothing else was held
                if type(lone) is _Undetected:  # _lone_goes, written out too
                    self._waiting += 1
                    self._out.append(lone)
                else:
                    self._out.append(self._seen(lone))  # type: ignore[arg-type]
            else:
                self._on_settled(flow.id)
        verdicts.clear()

    def _verdict(self, key: bytes) -> None:
        """The server's first segment on connection ``key`` (its raw key) settled the
        echo probe and was passed over (only a server's direction with nothing read yet
        is probed: HttpConnection._probe ends that)."""
        flow = self.reassembler.by_raw.get(key)
        if flow is not None:
            conn: HttpConnection | None = flow.app  # type: ignore[assignment]
            if conn is not None and conn.echo is None and conn.probe is None:
                conn.not_an_echo()

    def feed_request(self, parsed: Parsed) -> list[Event]:
        """Process one request that arrived already parsed (the request-level entry,
        beside :meth:`feed` for frames): detection, echo pairing and events follow
        exactly as for a request reassembled from frames."""
        self.tracker.counters["requests"] += 1
        self.parsed += 1
        moved = parsed.transit
        if moved is not None and self._echo_key is not None and not moved.signed:
            # A record file's transit whose echo was not signed, as the file says: with
            # an echo key only a signed echo is believed. The findings the file carried
            # from what it showed added on the way go with it.
            self.echoes_unsigned += 1
            sent = parsed.request.headers
            carried = tuple(f for f in parsed.carried if not added_on_the_way(sent, moved, f))
            parsed = dataclasses.replace(parsed, transit=None, carried=carried)
            moved = None
        response = parsed.response
        if self._names and not parsed.request.input:
            parsed = dataclasses.replace(
                parsed, request=dataclasses.replace(parsed.request, input=self._names[-1])
            )
        # Requests only (``responses=False``) with a response: no ResponseSeen, as from
        # frames, and the record comes out complete with what a reflector's echo in its
        # response shows, as from frames (where it is held for it). With responses, the
        # echo comes as an EchoSeen before the ResponseSeen.
        complete = response is not None and not self.tracker.responses
        written = parsed.as_written
        handed = moved is None and not complete
        record = self._record(parsed.request, parsed.carried, handed, written, True)
        compared = False
        try:
            if moved is not None:
                # What the record says the network did: its findings are found again
                # too (a redacted record's are among those it was written with).
                found = self._moved_findings(record, moved, written, recorded=True)
                record = EchoSeen(record, moved, found).onto(record)
                compared = True
                if not complete:
                    self._out.append(self._seen(record))
                    handed = True
            if response is not None:
                self.tracker.counters["responses"] += 1
                if complete:
                    # A record that says what the network did (``moved``) has it already.
                    echo = self._echo(record, response) if moved is None else None
                    compared = True
                    self._out.append(self._seen(record if echo is None else echo.onto(record)))
                    handed = True
                elif moved is not None:
                    # It says what the network did already, from the echo in this
                    # response when it was written: read again, every finding added on
                    # the way came twice (a HAR or the dashboard's export, read back
                    # with responses).
                    self._out.append(ResponseSeen(record.id, response))
                else:
                    self._answer(record, response)
        except BaseException:
            if not handed:
                # A stop as what the echo shows added was read: the record is written
                # without it, and says so (unhanded()).
                self._unwritten.append(record if compared else _echo_stopped(record))
            raise
        return self._take()

    def _on_request(self, echo: bool | None, request: Request) -> None:
        """A request is complete (the tracker's ``on_request``). While nothing is held,
        one known to bring no echo (``echo`` False: always so without echoes, or with
        responses) goes out at once, and is kept for its response if those are read;
        any other is held (:meth:`_hold`)."""
        if echo is False and self._quiet:
            if self._defer:
                self._later(request)
                return
            record = self._record(request, (), True)
            if self._pairing:
                self._await(record)
            return
        self._hold(echo, request)

    def _hold(self, echo: bool | None, request: Request) -> None:
        """A request of a pipeline that holds them (requests only, echoes read), while
        some may be held: each comes out complete with what its echo shows, so it is
        held, in capture order, until its connection is known to bring no echo, or the
        echo came (see _release). A connection's first, whose server is not known yet,
        is held alone (_lone) when nothing else is."""
        if self._lone is None and not self._held:
            if echo is False:
                self._quiet = True  # what was held went since
                if self._defer:
                    self._later(request)
                else:
                    self._record(request, (), True)
                return
            if echo is None and not self._held_flows:
                # A connection's first request: mostly it goes at its verdict, alone.
                self._lone = (
                    self._undetected(request) if self._defer else self._record(request, (), False)
                )
                self._quiet = False
                return
        self._quiet = False
        record = self._record(request, (), False)
        try:
            self._queue_lone()
        except BaseException:
            # A stop as the one held alone was detected: this one, read and searched,
            # is written after it (unhanded()).
            self._unwritten.append(record)
            raise
        rid = record.id
        self._held[rid] = record
        if echo is False:
            self._ready.add(rid)
            return
        waiting = self._held_flows.get(request.flow)
        if waiting is None:
            self._held_flows[request.flow] = [record]
        else:
            waiting.append(record)
        if echo is None:
            return  # paired only if its server turns out to be a reflector (_on_echo)
        self._await(record)

    def _await(self, record: Record) -> None:
        """Keep ``record`` until its response comes (bounded)."""
        request = record.request
        awaiting = self._awaiting
        awaiting[(request.flow, request.depth)] = record
        if len(awaiting) > 100_000:
            awaiting.popitem(last=False)

    def _record(
        self,
        request: Request,
        carried: tuple[Finding, ...],
        emit: bool = True,
        written: bool = False,
        parsed: bool = False,
    ) -> Record:
        """The request's record, with its findings (handed out as :class:`RequestSeen`
        unless ``emit`` is False). ``written``: ``carried`` is all of them
        (:attr:`Parsed.as_written`), and only what the canaries and recurrence find
        beyond them is added. ``parsed``: it arrived parsed (:meth:`feed_request`)."""
        if self._apps and not request.app:
            request = self._with_app(request)
        if self.detector is None:
            findings: tuple[Finding, ...] = ()
        else:
            try:
                request, findings = self._detected(request)
            except BaseException:
                # A stop in the detector (Ctrl-C, SIGTERM): the request is kept as read,
                # and written by unhanded(), not lost with the stack.
                self._unwritten.append((self._next_id, request, carried))
                self._next_id += 1
                raise
        if carried:
            # Imported here: only a record file carries findings, and a pipeline for
            # the reflector or a probe imports no detector.
            from capture.identity.detector import beyond_written, with_carried

            if written:
                findings = carried + beyond_written(findings, carried)
            else:
                findings = with_carried(findings, carried)
        record = _new_record(self._next_id, request, findings, None, None)
        if findings or request.anomalies:
            self._count(request, findings, parsed)
        self._next_id += 1
        if emit:
            self._out.append(self._seen(record))
        return record

    def _count(self, request: Request, findings: tuple[Finding, ...], parsed: bool = False) -> None:
        """Count what a request's record holds: its identities, and the capture gaps
        (``parsed``: every note of a request that arrived parsed) its anomalies tell of."""
        anomalies = request.anomalies
        if anomalies:
            if parsed:
                self._count_notes(anomalies)
            elif _gapped(anomalies):
                self.gap_requests += 1
        if findings:
            identities = identities_seen(findings)
            self.identities += identities
            if identities:
                self.identity_requests += 1

    def _detected(self, request: Request) -> tuple[Request, tuple[Finding, ...]]:
        """``request`` as recorded, and what the detector finds in it: none without a
        detector, nor, with an anomaly that says so, where it failed (:meth:`_unsearched`)."""
        detector = self.detector
        if detector is None:
            return request, ()
        try:
            # A record's body too (a HAR keeps a deflate beacon's bytes as sent,
            # base64): one decoded already is text, and _coded lets it by.
            if not _coded(request.body):
                return request, detector.detect(request)
            read, request = _readable(request)
            return request, detector.detect(read)
        except Exception as exc:  # any: see _unsearched
            return self._unsearched(request, exc), ()
        except BaseException:
            self._stopped_in_detection = True
            raise

    def _later(self, request: Request) -> None:
        """:meth:`_record` of a request that goes out at once (``emit``), all but its
        detection: its id is taken and its place among the events kept, and it is
        detected with the others of its batch (:meth:`_detect_waiting`). Nothing looks
        at such a record before it is handed out, and what its record would have held
        (the app of its connection, known now) is the same."""
        # _undetected, written out: once a request of a detecting scan.
        if self._apps and not request.app:
            request = self._with_app(request)
        self._waiting += 1  # first: a placeholder is never in _out uncounted
        self._out.append(_new_undetected(self._next_id, request))
        self._next_id += 1

    def _undetected(self, request: Request) -> _Undetected:
        """``request`` as :meth:`_record` has it before detection, its record's id taken."""
        if self._apps and not request.app:
            request = self._with_app(request)
        waiting = _new_undetected(self._next_id, request)
        self._next_id += 1
        return waiting

    def _detected_record(self, waiting: _Undetected) -> Record:
        """The record :meth:`_record` makes of a request whose detection waited."""
        request, findings = self._detected(waiting.request)
        self._count(request, findings)
        return _new_record(waiting.id, request, findings, None, None)

    def _detect_waiting(self, events: list[Event | _Undetected]) -> list[Event]:
        """``events`` with each request whose detection waited (:meth:`_later`) made the
        event :meth:`_record` would have made of it, in its place: the requests read
        by the detector one after the other (:meth:`_detected_all`), its code and
        tables kept warm in the CPU's caches where, one at a time between frames, they
        and the reader's pushed each other out. Counted once all are made: where a stop
        (Ctrl-C, SIGTERM) comes in the middle, nothing is counted, the waiting requests
        are where they were, and :meth:`unhanded` makes them again."""
        unsearched = self.unsearched
        try:
            found = iter(self._detected_all([e.request for e in events if type(e) is _Undetected]))
        except BaseException:
            self.unsearched = unsearched  # counted when they are made again
            self._stopped_in_detection = True
            raise
        try:
            seen = self._seen
            out: list[Event] = []
            identities = identity_requests = gap_requests = 0
            for event in events:
                if isinstance(event, _Undetected):
                    request, findings = next(found)
                    if findings:
                        held = identities_seen(findings)
                        identities += held
                        identity_requests += held > 0
                    anomalies = request.anomalies
                    if anomalies and _gapped(anomalies):
                        gap_requests += 1  # as _count counts a request read from frames
                    out.append(seen(_new_record(event.id, request, findings, None, None)))
                else:
                    out.append(event)
        except BaseException:
            # A stop after the detector's work: nothing counted, and the batch detected
            # again by unhanded() (the detector was not stopped inside).
            self.unsearched = unsearched
            raise
        self.identities += identities
        self.identity_requests += identity_requests
        self.gap_requests += gap_requests
        self._waiting = 0
        return out

    def _detected_all(
        self, requests: list[Request]
    ) -> Iterable[tuple[Request, tuple[Finding, ...]]]:
        """:meth:`_detected` of each of ``requests``: in one call of the detector's
        ``detect_many`` where it has one and no body is coded (nearly every batch)."""
        many = getattr(self.detector, "detect_many", None)
        if many is not None and not any(_coded(body) for r in requests if (body := r.body)):
            try:
                return list(zip(requests, many(requests), strict=True))
            except Exception:  # any: each is read again alone, and the one that fails said
                pass
        return [self._detected(request) for request in requests]

    def _unsearched(self, request: Request, exc: Exception) -> Request:
        """:func:`unsearched`, counted (the summary says how many)."""
        self.unsearched += 1
        return unsearched(request, exc)

    def _count_notes(self, anomalies: tuple[str, ...]) -> None:
        """Count what the anomalies of a request that arrived parsed say its capture's
        reading cost it: a head cut at the head limit (with those this run cuts: each
        request comes one way only) and a capture gap (apart, see
        :attr:`parsed_gap_requests`). A record file read again then says what its
        capture's summary said."""
        if _gapped(anomalies):
            self.parsed_gap_requests += 1
        if any(note.startswith(HEAD_CUT_NOTE) for note in anomalies):
            self.tracker.counters["heads_cut"] += 1

    def _with_app(self, request: Request) -> Request:
        """``request`` with the app its connection's frames named, if any."""
        try:
            src = ipaddress.ip_address(request.src).packed
            dst = ipaddress.ip_address(request.dst).packed
        except ValueError:
            return request
        apps = self._apps
        app = apps.get((src, request.sport, dst, request.dport)) or apps.get(
            (dst, request.dport, src, request.sport)
        )
        return dataclasses.replace(request, app=app) if app else request

    def _on_response(self, flow: int, depth: int, response: Response) -> None:
        record = self._awaiting.pop((flow, depth), None)
        if record is not None:
            self._answer(record, response)

    def _on_unanswered(self, flow: int, depth: int) -> None:
        """No response will come for request ``depth`` of connection ``flow``: its record
        is not kept for one. (Kept, a live capture that lost frames held every request
        whose response it missed, up to the bound, long after its connection ended.)"""
        if self._awaiting:
            self._awaiting.pop((flow, depth), None)

    def _answer(self, record: Record, response: Response) -> None:
        """Hand out ``response`` to ``record``, after what its echo shows was injected."""
        if self._holding and record.id in self._held:
            # Requests only: the echo completes the held record, which may now go.
            try:
                echo = self._echo(record, response)
            except BaseException:
                # A stop in the detector: the record goes without the echo, saying so.
                self._held[record.id] = _echo_stopped(self._held[record.id])
                raise
            if echo is not None:
                self._held[record.id] = echo.onto(self._held[record.id])
            self._ready.add(record.id)
            self._release()
            return
        echo = self._echo(record, response)
        if echo is not None:
            if self._holding:
                # Its record went out, let go at a bound, before this echo came: what
                # the echo shows was injected is not in it. (Only such a request is
                # cut: one whose echo never comes lacks nothing.)
                self.hold_cut += 1
            if self._names:
                echo = dataclasses.replace(echo, record=self._located(echo.record))
            self._out.append(echo)  # first: consumers then see the response complete
        self._out.append(ResponseSeen(record.id, response))

    def _echo(self, record: Record, response: Response) -> EchoSeen | None:
        """What a reflector's echo in ``response`` shows happened to ``record`` on its
        way: None when the response carries no echo."""
        moved = echoed_transit(record.request.headers, response, self._echo_key)
        if moved is None:
            return None
        if moved.signed is False:
            self.echoes_unsigned += 1
            return None
        return EchoSeen(record, moved, self._moved_findings(record, moved))

    def _moved_findings(
        self, record: Record, moved: Transit, written: bool = False, recorded: bool = False
    ) -> tuple[Finding, ...]:
        """The findings in the headers added or changed on ``record``'s way (counted);
        ``written``: only those beyond the findings ``record`` was written with
        (:attr:`Parsed.as_written`), which hold the transit's already. ``recorded``:
        the transit is a record file's, signed only as the file says."""
        request = record.request
        received = moved.received
        findings: tuple[Finding, ...] = ()
        if self.detector is not None and moved.touched_names:
            as_received = dataclasses.replace(request, headers=received)
            try:
                found = self.detector.detect(as_received)
            except Exception:  # any: see _unsearched
                self.unsearched += 1  # counted: its record was handed out already
                found = ()
            except BaseException:
                self._stopped_in_detection = True  # not asked again (unhanded())
                raise
            findings = touched_findings(request.headers, moved, found)
            if written:
                from capture.identity.detector import beyond_written

                findings = beyond_written(findings, record.findings)
            elif record.findings:
                # A recurrence finding the record file carried may be found again in
                # what was added on the way: it is the record's already.
                from capture.identity.detector import not_held

                findings = not_held(findings, record.findings)
        identities = identities_seen(findings)
        if identities:
            self.identities += identities
            if not record.identities:
                self.identity_requests += 1
        self.echoes += 1
        if moved.signed:
            if recorded:
                self.echoes_signed_recorded += 1
            else:
                self.echoes_signed += 1
        if moved.altered:
            self.altered += 1
        return findings

    def counters(self) -> dict[str, int]:
        """Every counter of every stage, by name."""
        counters: dict[str, int] = {
            "packets": self.packets,
            "parsed": self.parsed,
            "requests": self.tracker.counters["requests"],
            "identities": self.identities,
            "identity_requests": self.identity_requests,
            "gap_requests": self.gap_requests,
            "parsed_gap_requests": self.parsed_gap_requests,
            "echoes": self.echoes,
            "echoes_signed": self.echoes_signed,
            "echoes_signed_recorded": self.echoes_signed_recorded,
            "echoes_unsigned": self.echoes_unsigned,
            "altered_in_transit": self.altered,
            "unsearched": self.unsearched,
            "stopped_unsearched": self.stopped_unsearched,
            "echo_waits_cut": self.hold_cut,
            "skipped_frames": sum(self.decoder.skipped.values()),
            "active_flows": self.reassembler.active_flows,
            "half_open_flows": self.reassembler.half_open_flows,
            "state_bytes": self.reassembler.state_bytes,
            "buffered_bytes": self.reassembler.buffered_bytes,
        }
        counters.update(self.decoder.fragment_counts())
        counters.update(self.reassembler.counters)
        counters.update(self.tracker.counters)
        return counters

    def snapshot(self) -> StatsSnapshot:
        """The counters as an event."""
        return StatsSnapshot(tuple(self.counters().items()))

    def summary(self, none_read: Sequence[str] = ()) -> str:
        """One line for stderr: what was seen, and everything that was dropped or lost.
        ``none_read``: see :func:`summarize`."""
        return summarize(self.counters(), self.decoder.skipped, none_read, responses=self.responses)


def _coded(body: bytes) -> bool:
    """Whether ``body`` may be compressed, and its headers are looked at for a
    Content-Encoding (:func:`_readable`): not when its first 32 bytes are all ASCII.
    What gzip, zlib, deflate and zstd write has a byte of 128 or more there at once
    (their magic; a stored block's length complement), br but once in 2^32 where it
    compresses, and where it does not (a meta-block stored as it is) the body's own
    bytes follow, read as sent. Half the bodies of ad traffic are plain JSON or forms:
    the test costs them a slice, where the headers' cost 0.9 µs (1.3% of a scan)."""
    return bool(body) and (len(body) < 32 or not body[:32].isascii())


def _readable(request: Request) -> tuple[Request, Request]:
    """A captured request as the detector reads it, its body with its Content-Encoding
    undone (a gzip or deflate beacon read as the JSON it holds, as the mitmproxy
    add-on's records are), and as it is recorded: as sent, with an anomaly
    (:data:`~capture.identity.bodies.BODY_UNDECODED_NOTE`) when that could not be
    done, so that a body whose identities were not read is not taken for one that
    holds none. Records read from a file are too, where their bodies are still coded
    (:func:`_coded`): one decoded already, its headers still saying how it was sent,
    is text, which no coding writes."""
    headers = request.headers
    # The length first: a cheap test of every body's headers, most of them other names.
    if not any(len(name) == 16 and name.lower() == "content-encoding" for name, _ in headers):
        return request, request
    # Imported here: a compressed request body is rare, and bodies.py imports no
    # more than the standard library.
    from capture.identity.bodies import (
        BODY_DECODED_LARGER,
        BODY_UNDECODED_NOTE,
        content_coding,
        decoded_in_part,
    )

    coding = content_coding(headers)
    shown = printable(coding[:100])
    got = decoded_in_part(request.body, coding)
    body, more, damaged = got if got is not None else (request.body, False, False)
    if got is None:
        note = (
            f"{BODY_UNDECODED_NOTE} (Content-Encoding {shown!r}: not known here, or "
            "damaged); searched as sent"
        )
    elif damaged:
        # What came out before the damage is read: the identity in it was lost with
        # the rest when the whole body was refused.
        note = (
            f"{BODY_UNDECODED_NOTE} whole (Content-Encoding {shown!r}: damaged after "
            f"{len(body):,} bytes decoded); searched as far as it decoded"
        )
    elif more:
        # As the mitmproxy add-on says it: what is past the bound was not searched.
        note = (
            f"{BODY_DECODED_LARGER} {shown} is larger than {len(body)} bytes; the first "
            f"{len(body)} searched"
        )
    else:
        return dataclasses.replace(request, body=body), request
    request = _noted(request, note)
    return dataclasses.replace(request, body=body), request


def _gapped(anomalies: tuple[str, ...]) -> bool:
    """Whether a message's anomalies say a capture gap hit it."""
    return any(note.startswith(GAP_NOTE) for note in anomalies)


def _echoes_signed(echoes: int, signed: int, recorded: int) -> str:
    """How many of ``echoes`` were signed with the echo key: checked here (``signed``)
    or as record files say (``recorded``)."""
    if signed == echoes:
        return "signed with the echo key"
    if not signed and not recorded:
        return "echoes not signed, see --echo-key"
    parts = [f"{signed:,} signed with the echo key"] if signed else []
    if recorded:
        parts.append(f"{recorded:,} signed as their records say")
    if echoes - signed - recorded:
        parts.append(f"{echoes - signed - recorded:,} not signed")
    return ", ".join(parts)


def summarize(
    c: dict[str, int],
    skipped: Counter[str],
    none_read: Sequence[str] = (),
    *,
    responses: bool = True,
) -> str:
    """The summary line for counters ``c`` and frames ``skipped`` by reason.
    ``none_read``: each record file read, in its own words for none of what it holds
    (:func:`capture.sources.inputs.none_read`), said when no request was parsed: a
    log without HTTP events is not "0 packets". ``responses``: the pipeline read the
    servers' bytes (:attr:`Pipeline.responses`), and a capture's gaps are counted on
    both sides; else on the client side only, which is said. A capture's are said
    even when there were none: "0" is what was looked for and not found."""
    parts = []
    if c["packets"] or not (c.get("parsed") or none_read):
        parts += [counted(c["packets"], "packet"), counted(c["flows"], "TCP connection")]
    if c.get("parsed"):
        parts.append(f"{counted(c['parsed'], 'parsed request')} read")
    else:
        parts += none_read
    parts += [
        counted(c["requests"], "HTTP request"),
        f"{counted(c['identities'], 'identity', 'identities')} in "
        + counted(c["identity_requests"], "request"),
    ]
    if c.get("echoes"):
        # Whether the echoes can be believed is part of what they show.
        how = _echoes_signed(
            c["echoes"], c.get("echoes_signed", 0), c.get("echoes_signed_recorded", 0)
        )
        parts.append(
            f"{counted(c['echoes'], 'request')} echoed by a reflector ({how}), "
            f"{c['altered_in_transit']:,} altered in transit"
        )
    if c.get("echoes_unsigned"):
        parts.append(
            f"{counted(c['echoes_unsigned'], 'echo', 'echoes')} not signed with the echo key "
            "ignored (any server can write one)"
        )
    if c.get("unsearched"):
        parts.append(
            f"{counted(c['unsearched'], 'request')} not searched for identities (an "
            "internal error, named in its anomalies: please report it)"
        )
    if stopped := c.get("stopped_unsearched"):
        parts.append(
            f"{counted(stopped, 'request')} not searched for identities (read as the scan "
            "was stopped inside the detector: written without findings, as "
            f"{'its anomalies say' if stopped == 1 else 'their anomalies say'})"
        )
    if c.get("echo_waits_cut"):
        parts.append(
            f"{counted(c['echo_waits_cut'], 'request')} written before its reflector's echo "
            "came (what it shows injected is not in the record)"
        )
    if skipped:
        # Most frequent first, ties by name: the same line however they were counted.
        common = sorted(skipped.items(), key=lambda item: (-item[1], item[0]))[:4]
        top = ", ".join(f"{n:,} {reason}" for reason, n in common)
        more = len(skipped) - 4
        frames = counted(sum(skipped.values()), "frame")
        parts.append(f"skipped {frames} ({top}{', …' if more > 0 else ''})")
    if c.get("ip_fragments"):
        parts.append(fragments_summary(c))
    if c["gaps"] or c["packets"]:
        parts.append(gaps.summary(c, responses))
    if c.get("parsed_gap_requests"):
        parts.append(
            "capture gaps in the records read: "
            f"{counted(c['parsed_gap_requests'], 'request')} touched"
        )
    overflows = c["stream_buffer_overflows"] + c["total_buffer_overflows"]
    if overflows:
        parts.append(counted(overflows, "reassembly buffer overflow"))
    parts += reassembly_summary(c)
    # Per reason: half-open connections go first, and they cost no request.
    if c.get("half_open_evicted"):
        parts.append(
            f"{counted(c['half_open_evicted'], 'half-open connection')} evicted (memory limit)"
        )
    if c["flows_evicted"]:
        parts.append(
            f"{counted(c['flows_evicted'], 'connection')} with data evicted (memory limit)"
        )
    if c["non_http_connections"]:
        parts.append(counted(c["non_http_connections"], "non-HTTP connection"))
    if c["malformed_heads"]:
        parts.append(counted(c["malformed_heads"], "malformed HTTP head"))
    if c.get("heads_cut"):
        parts.append(
            f"{counted(c['heads_cut'], 'request head')} longer than --max-head, cut there "
            "(what came after the cut is not read)"
        )
    return "; ".join(parts)
