"""Who put an identity in a request, the phone or the network, as far as the evidence says.

A header that mobile networks insert (header enrichment: ``x-up-calling-line-id``,
``x-msisdn``) is not proof that a network inserted it: an app can send it too, and a
capture taken on the phone's side (a tethered computer, mitmproxy, a browser's HAR)
shows what the phone sent. So the catalog says what a header is, and where the request
was seen says who put it there: :func:`evidence` decides, for one finding of one record,
and :func:`attribution` words it. The report's lead sentence and a study's verdicts use
them, and nothing else words who added an identity.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from capture.formats.jsonl import REFLECTOR_SOURCE
from capture.http.echo import added_on_the_way
from capture.model import WHERE_HEADER, Finding, Record

INJECTED = "injected"
"""A reflector's echo shows the header arrived but was not sent: added on the way."""
SENT = "sent"
"""Seen as the client sent it, before any network: the phone or an app on it sent it."""
RECEIVED = "received"
"""Seen as the server received it (a reflector's own log), after the carrier: where
networks add headers, though an app may have sent it."""
UNKNOWN = "unknown"
"""Seen somewhere not known (a capture, a log): the records alone cannot say."""

STRENGTH = (INJECTED, SENT, RECEIVED, UNKNOWN)
"""The vantages, strongest evidence first: of several requests, the first that one of
them shows decides what a sentence about all of them says."""

SENDING_SIDE: Mapping[str, str] = {
    "mitmproxy": "recorded by headerwatch's mitmproxy add-on, a proxy on the phone's side",
    "har": "from a HAR file, a browser's or client-side proxy's record of what it sent",
}
""":attr:`~capture.model.Request.source` → how such a record shows what the client
sent: every source that records requests before they reach any network."""


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where one identity was seen, and how that is known."""

    vantage: str
    """One of :data:`STRENGTH`."""
    how: str
    """How it is known, in words (empty for :data:`UNKNOWN`)."""


def evidence(record: Record, finding: Finding, received: bool = False) -> Evidence:
    """Where ``finding`` of ``record`` was seen. ``received``: the record is from a
    reflector's own log (the request as the server received it)."""
    moved = record.transit
    if moved is not None:
        if finding.where != WHERE_HEADER:
            # A parameter, cookie or body field of a request whose echo came back: the
            # record is the request as the device sent it (what the echo is set beside),
            # so the device sent it. It read "added on the way by the network" beside an
            # injected header carrying the same number.
            return Evidence(SENT, "in the request as the device sent it, beside a reflector's echo")
        if added_on_the_way(record.request.headers, moved, finding):
            return Evidence(INJECTED, "a reflector's echo shows the device did not send it")
        # Not added or changed on the way: the header was in the block as sent (its
        # value there, where the network added or rewrote another of its name).
        return Evidence(SENT, "a reflector's echo shows it arrived as it was sent")
    return vantage(record, received)


def vantage(record: Record, received: bool = False) -> Evidence:
    """Where ``record`` was seen, by its input alone (:data:`SENDING_SIDE`, or a
    reflector's log when ``received``); an echo's finer evidence is :func:`evidence`'s."""
    how = SENDING_SIDE.get(record.request.source)
    if how is not None:
        return Evidence(SENT, how)
    if received or record.request.source == REFLECTOR_SOURCE:
        return Evidence(RECEIVED, "as a reflector received it, after the carrier")
    return Evidence(UNKNOWN, "")


def strongest(seen: Iterable[Evidence]) -> Evidence:
    """The first of ``seen`` in :data:`STRENGTH` order (:data:`UNKNOWN` if none)."""
    return min(seen, key=lambda e: STRENGTH.index(e.vantage), default=Evidence(UNKNOWN, ""))


ENRICHMENT = (
    "a header that mobile networks insert into their subscribers' requests (header enrichment)"
)
"""What a catalog entry of a header that gateways or carriers insert says of it."""


def _enrichment(among: Sequence[str]) -> str:
    """:data:`ENRICHMENT`, of the names ``among`` when the list it follows holds others."""
    if not among:
        return ENRICHMENT
    if len(among) == 1:
        return f"{among[0]} being {ENRICHMENT}"
    names = f"{', '.join(among[:-1])} and {among[-1]}"
    return f"{names} being {ENRICHMENT.replace('a header that', 'headers that', 1)}"


def attribution(seen: Evidence, enrichment: bool, among: Sequence[str] = ()) -> str:
    """Who put the identity in, as the end of a sentence that named where it was
    (``, added on the way by the network: ...``); empty when nothing can be said.
    ``enrichment``: the header is one that networks insert (its catalog entry).
    ``among``: where the sentence named other places or headers too, the names of
    those that are such headers: the words on enrichment qualify them only."""
    what = _enrichment(among)
    if seen.vantage == INJECTED:
        return f", added on the way by the network: {seen.how}"
    if seen.vantage == SENT:
        lead = f", {what}, but" if enrichment else ","
        return f"{lead} sent by the phone or an app on it: seen before any network ({seen.how})"
    if not enrichment:
        return ""
    if seen.vantage == RECEIVED:
        # After the carrier, where such headers are added; but an app can send one too,
        # and only what the phone sent, set beside it (probe), tells the two apart.
        return (
            f", {what}, seen {seen.how}: most likely added by the network; "
            "that the phone did not send it is shown only by what it sent (headerwatch probe)"
        )
    # A capture's bytes (or records of one, or a proxy's) do not say where they were
    # recorded: the reader must know.
    return (
        f", {what}: if this traffic was recorded after the carrier (at a server), the "
        "network added it; if on the phone's side (on the phone, a tethered computer), "
        "the phone or an app on it sent it"
    )
