from __future__ import annotations

from capture.identity.caching import short_keys_cached


def test_a_call_with_short_texts_is_kept_and_one_with_a_long_text_is_computed_each_time() -> None:
    calls: list[tuple[str, int]] = []

    @short_keys_cached(2, 8)
    def measured(text: str, times: int) -> int:
        calls.append((text, times))
        return len(text) * times

    assert measured("short", 2) == measured("short", 2) == 10
    assert measured("x" * 9, 1) == measured("x" * 9, 1) == 9
    assert calls == [("short", 2), ("x" * 9, 1), ("x" * 9, 1)]
    assert measured.cache_info().currsize == 1  # type: ignore[attr-defined]
    measured("a", 1), measured("b", 1), measured("c", 1)  # bounded in count too
    assert measured.cache_info().currsize == 2  # type: ignore[attr-defined]
    measured.cache_clear()  # type: ignore[attr-defined]
    assert measured.cache_info().currsize == 0  # type: ignore[attr-defined]
    assert measured.__name__ == "measured"
