"""Caches keyed by what the network sends: bounded in count, and in the size of a key.

An LRU of 4,096 entries holds 4,096 keys of whatever length the sender chose: a value
of 60 KB read as a phone number's text kept 256 MB alive in one of them. Identities,
names and numbers are short; a long key is computed each time it comes, never kept.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache, update_wrapper
from typing import Any, TypeVar, cast

_F = TypeVar("_F", bound=Callable[..., Any])


def short_keys_cached(maxsize: int, longest: int) -> Callable[[_F], _F]:
    """``functools.lru_cache(maxsize)``, for calls whose str arguments are each at most
    ``longest`` characters; any other call runs the function uncached. The cached
    function's ``cache_info`` and ``cache_clear`` are the wrapper's."""

    def decorate(function: _F) -> _F:
        cached = lru_cache(maxsize)(function)

        def call(*args: Any) -> Any:
            for arg in args:
                if type(arg) is str and len(arg) > longest:
                    return function(*args)
            return cached(*args)

        wrapper = update_wrapper(call, function)
        wrapper.cache_info = cached.cache_info  # type: ignore[attr-defined]
        wrapper.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
        return cast(_F, wrapper)

    return decorate
