"""Type stub of libphonenumber's digit patterns matched in C (capture/identity/_digitpattern.c)."""

def program(pattern: str) -> bytes | None:
    """The backtracking program of a pattern of digits, \\d, classes of digits,
    non-capturing groups, alternation and greedy quantifiers; None for any other."""

def match(program: bytes, text: str, full: bool) -> int:
    """The end of the first match (re's order) of ``program`` at the start of ``text``
    (``full``: one ending at its end); -1 for none, -2 where re must decide."""

class Pattern:
    """A digit pattern whose ``match`` and ``fullmatch`` of one str run in C; a match is
    made by the subclass's ``_found(text, end, full)``, what C leaves to re by its
    ``_by_re(full, *args)``."""

    pattern: str
    program: bytes
    def __init__(self, pattern: str, program: bytes) -> None: ...
    def match(self, string: str, *args: object) -> object: ...
    def fullmatch(self, string: str, *args: object) -> object: ...
