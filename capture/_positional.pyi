"""Type stub of capture.model.positional_new in C (capture/_positional.c)."""

from collections.abc import Callable
from typing import Any

def maker(cls: type, names: tuple[str, ...], /) -> Callable[..., Any]:
    """A callable building ``cls`` from the values of its slots ``names``, by position."""
