"""Capture gaps by side, in the words every output uses for them.

A gap is bytes that TCP reassembly knows were sent but the capture never saw: what
it hit may be incomplete, and readers set one output's count beside another's. They
are counted by side (:class:`capture.http.stream.HttpTracker`): in what the client
sent, in what the server sent, and (rarely) before either side was known. A pipeline
that reads requests only (``scan`` in JSONL or table, headless ``live``, ``report``)
reads the servers' bytes only for reflectors' echoes: what it counts there is not
the servers' side, and is named so. The stderr summary, the dashboard's status line
and the report's Not inspected all read :func:`sides`.

Functions, not a frozen dataclass: every scan imports this module, and building a
dataclass costs start-up some 5 M instructions (its methods are compiled with exec).
"""

from __future__ import annotations

from collections.abc import Mapping

from capture.text import counted

SERVERS_UNREAD = "read only for reflectors' echoes"
"""How a requests-only pipeline read the servers' bytes: why it does not count their gaps."""

Side = tuple[int, int]
"""Gaps on one side, and the bytes they miss."""


def sides(c: Mapping[str, int]) -> tuple[Side, Side, Side]:
    """The gaps of :meth:`capture.pipeline.Pipeline.counters` (or a status snapshot's,
    as a dict) on the client side, on the server side, and before the connection
    showed which side was the client."""
    client = (c.get("client_gaps", 0), c.get("client_gap_bytes", 0))
    server = (c.get("server_gaps", 0), c.get("server_gap_bytes", 0))
    # Reassembly counts every gap; the rest came before the roles were known.
    unknown = (
        c.get("gaps", 0) - client[0] - server[0],
        c.get("gap_bytes", 0) - client[1] - server[1],
    )
    return client, server, unknown


def summary(c: Mapping[str, int], responses: bool) -> str:
    """The clause of the stderr summary. ``responses``: the pipeline read every
    server's bytes; else only for echoes, and their gaps are not counted."""
    (client, client_bytes), (server, server_bytes), (unknown, unknown_bytes) = sides(c)
    text = f"capture gaps: {client:,} client side"
    if client:
        text += (
            f" ({counted(client_bytes, 'byte')} missing, "
            f"{counted(c.get('gap_requests', 0), 'request')} touched)"
        )
    if responses:
        text += f", {server:,} server side"
        if server:
            text += f" ({counted(server_bytes, 'byte')} missing)"
    else:
        text += f", server side not counted ({SERVERS_UNREAD}"
        if server:
            # Gaps in what was read: a reflector's answers, the first bytes of others.
            text += f": {counted(server, 'gap')} there, {counted(server_bytes, 'byte')} missing"
        text += ")"
    if unknown:
        text += (
            f", {unknown:,} before the client was known ({counted(unknown_bytes, 'byte')} missing)"
        )
    return text
