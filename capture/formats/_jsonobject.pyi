"""Type stub of the C JSON object joiner (capture/formats/_jsonobject.c)."""

def object_from_array(keys: tuple[bytes, ...], array: bytes, /) -> bytes | None:
    """capture.formats.jsonobject.object_from_array_py, in C."""

def json_unsafe_in(line: bytes, /) -> bool:
    """capture.formats.jsonobject.json_unsafe_in_py, in C."""
