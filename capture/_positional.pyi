"""Type stub of the C positional builder (capture/_positional.c)."""

from typing import Any

class Builder:
    """A ``cls`` from the values of its slots, by position (``names``' order)."""

    def __init__(self, cls: type, names: tuple[str, ...]) -> None: ...
    def __call__(self, *values: Any) -> Any: ...
