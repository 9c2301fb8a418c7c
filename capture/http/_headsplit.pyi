"""Type stub of the C head split (capture/http/_headsplit.c)."""

from typing import TypeVar

_Head = TypeVar("_Head", bound=tuple[object, ...])

def split(block: bytes | bytearray) -> tuple[str, list[tuple[str, str]]] | None:
    """(first line, headers) of a plain ASCII CRLF head; None for any other."""

def request(data: bytes | bytearray, head_type: type[_Head]) -> tuple[int, _Head, int, int] | None:
    """(end, head, framing flags, clean Content-Length or -1) of a plain request head at
    the start of data; else None."""
