"""Type stub of the C head split (capture/http/_headsplit.c)."""

def split(block: bytes | bytearray) -> tuple[str, list[tuple[str, str]]] | None:
    """(first line, headers) of a plain ASCII CRLF head; None for any other."""
