"""Type stub of libphonenumber's digit patterns matched in C (capture/identity/_digitpattern.c)."""

def program(pattern: str) -> bytes | None:
    """The backtracking program of a pattern of digits, \\d, classes of digits,
    non-capturing groups, alternation and greedy quantifiers; None for any other."""

def match(program: bytes, text: str, full: bool) -> int:
    """The end of the first match (re's order) of ``program`` at the start of ``text``
    (``full``: one ending at its end); -1 for none, -2 where re must decide."""
