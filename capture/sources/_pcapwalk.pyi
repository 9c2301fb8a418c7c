"""Type stub of the C record walk (capture/sources/_pcapwalk.c)."""

from collections.abc import Callable, Iterator
from typing import Any

def epb_span(
    buf: bytes,
    pos: int,
    big_endian: bool,
    interfaces: list[tuple[int, int]] | tuple[tuple[int, int], ...],
) -> tuple[int, tuple[int, int] | None, int]: ...

class Records(Iterator[Any]):
    """The frames of a classic-pcap stream, or of a run of pcapng packet blocks where
    they lie (span); see capture/sources/_pcapwalk.c."""

    records: int

    def __init__(
        self,
        read: Callable[[int], bytes],
        big_endian: bool,
        per_second: int,
        linktype: int,
        skip: dict[bytes, bool | int] | None,
        touched: dict[bytes, float] | None,
        shard_index: int,
        shard_count: int,
        owner: object,
        frame: type,
        cut: type[BaseException],
        probe: bool = False,
        segment: type | None = None,
        verdicts: list[bytes] | None = None,
        foreign: set[Any] | None = None,
        span: tuple[bytes, int, int] | None = None,
    ) -> None: ...
    def __next__(self) -> Any: ...
