"""Type stub of reassembly's common segment in C (capture/net/_inorder.c)."""

from typing import Any

class InOrder:
    """``Reassembler.feed`` with its common case in C; see capture/net/_inorder.c."""

    def __init__(
        self,
        reassembler: Any,
        fallback: Any,
        flow_type: type,
        half_type: type,
        mask: int,
        half_open_cost: int,
        flow_cost: int,
    ) -> None: ...
    def __call__(self, seg: Any, /) -> None: ...

def ipv4_text(addr: bytes, /) -> str:
    """``socket.inet_ntop(AF_INET, addr)`` for 4 bytes."""
