"""The user's regular expressions (filters and searches), compiled for RE2.

A filter's pattern is the user's, but the text it is searched in is an attacker's:
a header value, a URL, a body. Python's ``re`` backtracks, so ``(a+)+!`` over 60 KB
of ``a`` would run for years and, holding the interpreter all along, keep the
dashboard from drawing, and from ending on SIGTERM. RE2 (Google's engine, the one
Chrome, Go and Envoy use on untrusted text) matches in time linear in the text
whatever the pattern, and gives up the interpreter while it matches. The price is
its syntax: no backreferences, no lookaround, no possessive or atomic groups, which
are what make backtracking necessary. Such a pattern is refused with one line that
names what it used (:class:`RegexError`), never run some other way.

Every pattern is case-insensitive (``(?-i:...)`` turns that off for a part), as
the filter language promises. Text is searched as UTF-8: an undecodable byte, kept
as a lone surrogate (:func:`capture.text.from_bytes`), is one character that ``.``
and ``[^x]`` match, as in ``re``.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from capture.text import printable

# The groups RE2 leaves out on purpose (each needs backtracking), as its message
# "invalid perl operator: (?=" names them -> what the user wrote.
_GROUPS = {
    "(?P": "a named backreference (?P=name)",
    "(?=": "a lookahead (?=...)",
    "(?!": "a negative lookahead (?!...)",
    "(?<=": "a lookbehind (?<=...)",
    "(?<!": "a negative lookbehind (?<!...)",
    "(?>": "an atomic group (?>...)",
    "(?(": "a conditional (?(...)...)",
}
_RE2_ONLY = "filters use RE2, which matches in linear time"

# Python reads "a{,3}" as "a{0,3}"; RE2 reads "{,3}" as literal text. Outside a
# character class and not escaped: refused rather than silently meaning something else.
_OPEN_MIN = re.compile(r"\\.|\[\^?\]?(?:\\.|[^\]\\])*\]?|(\{,[0-9]+\})", re.DOTALL)


@functools.cache
def _re2() -> tuple[Any, Any]:
    """The ``re2`` module and the options of every pattern. Imported at the first
    pattern, not with the filter language: most filters have none, and the dashboard
    would carry the engine (2.5 MB) for nothing."""
    import re2

    options = re2.Options()
    options.case_sensitive = False
    # RE2 logs each pattern it cannot parse to stderr, over a full-screen dashboard.
    options.log_errors = False
    # Only whether it matches is asked: no submatches to find.
    options.never_capture = True
    return re2, options


class RegexError(ValueError):
    """A pattern RE2 cannot compile; ``str()`` is one line saying what is wrong."""


class Regex:
    """A user's pattern compiled with RE2, case-insensitive; searches are linear in
    the text."""

    __slots__ = ("_compiled", "source")

    def __init__(self, source: str, multiline: bool = False) -> None:
        self.source = source
        """The pattern as the user wrote it."""
        found = _OPEN_MIN.search(source)
        while found is not None and found.group(1) is None:
            found = _OPEN_MIN.search(source, found.end())
        if found is not None:
            written = found.group(1)
            raise RegexError(f"write {{0,{written[2:]} for {written} (RE2 reads it as text)")
        # (?m): ^ and $ at each line, for the header blocks of one line per header.
        pattern = "(?m)" + source if multiline else source
        re2, options = _re2()
        try:
            self._compiled = re2.compile(pattern.encode("utf-8", "surrogatepass"), options)
        except re2.error as exc:
            # RE2's message quotes the pattern, which may hold a newline: escaped.
            raise RegexError(printable(_reason(exc))) from None

    def search(self, text: str) -> bool:
        """Whether the pattern is found anywhere in ``text``."""
        return self._compiled.search(text.encode("utf-8", "surrogatepass")) is not None

    def fullmatch(self, text: str) -> bool:
        """Whether the pattern matches the whole of ``text``."""
        return self._compiled.fullmatch(text.encode("utf-8", "surrogatepass")) is not None


def _reason(exc: Exception) -> str:
    """One line for RE2's error: the construct by name when it is one RE2 leaves out."""
    raw = exc.args[0] if exc.args else ""
    message = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    what, _, written = message.partition(": ")
    construct = None
    if what == "invalid perl operator":
        construct = _GROUPS.get(written)
        if construct is None and written[2:3].isalpha():
            # (?x), (?a), (?L), (?u): Python's flags that RE2 does not have.
            return f"the inline flag in {written} is not supported (RE2 knows i, m, s and U)"
    elif what == "invalid escape sequence":
        if written[1:2] in set("123456789"):
            construct = "a backreference (\\1, \\2, ...)"
        elif written == "\\Z":
            return "\\Z is not supported: write \\z for the end of the text"
    elif what == "bad repetition operator" and written.endswith("+"):
        construct = "a possessive quantifier (*+, ++, ?+)"
    return message if construct is None else f"{construct} is not supported ({_RE2_ONLY})"
