"""Type stub of the C line merge of a split scan (capture/_linemerge.c)."""

KEY: int
ID_DIGITS: int
ID_KEY: bytes
TRAILER: int
SKIPPED: int

def merge_lines(
    parts: list[bytes],
    starts: list[int],
    ended: list[bool],
    record_id: int,
    trailers: list[bytes],
    /,
) -> tuple[bytes, int, int]:
    """capture.linemerge.merge_lines_py, in C."""
