"""Type stub of the C eve.json line reader (capture/sources/_eveline.c)."""

from collections.abc import Iterable
from typing import Any

def set_lists(names: Iterable[str], /) -> None:
    """The lower-case header names whose values are lists by definition (a ", " in
    them is not flagged as merged)."""

def http(line: bytes, responses: bool, /) -> tuple[Any, ...] | int | None:
    """The facts of an eve.json http event (ts, flow, depth, src, sport, dst, dport,
    method, uri, version, headers, merged, status, answer, authority); 0 for a valid line of
    another event type; None when not sure (read it with orjson then)."""
