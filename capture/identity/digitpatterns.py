"""libphonenumber's metadata patterns matched in C, not compiled by ``re``.

Reading the first number of a region makes libphonenumber compile that region's
patterns with :func:`re.compile`: about a million instructions each, re's parser and
compiler being Python. On traffic from many subscribers of many countries (the bench's
ad mix: 289 numbers of 11 regions) that compiling cost more than reading the numbers
(150 M instructions against 112 M) and was the largest part of detection's cost.

The patterns that decide what a number is use a small part of regex syntax (digits,
``\\d``, classes of digits, ``(?:...)``, ``|``, greedy ``? * + {n} {n,} {n,m}``) and are
only ever matched against digits. :func:`install` puts :class:`DigitPattern` in place of
``re.compile``'s result for the patterns ``phonenumberutil`` compiles that are of that
part; ``_digitpattern.c`` turns each into a backtracking program in microseconds and runs
it in re's order (greedy, leftmost alternative first), so ``match`` and ``fullmatch`` end
where re's would. Anything else goes to the real compiled pattern, compiled then: another
method, another argument, text that is not ASCII digits (``\\d`` also takes other
scripts' digits), a search that runs too long. A pattern with a capturing group (a
format's) stays re's: libphonenumber hands those to ``re.sub``, which takes re's alone.
tests/capture/identity/test_digitpatterns.py holds every pattern of every region's
metadata to re on thousands of strings, and libphonenumber's readings of every region's
example numbers to what they are without this.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

try:
    from capture.identity import _digitpattern
except ImportError:  # built without its C extensions: re compiles every pattern
    _digitpattern = None  # type: ignore[assignment]


if TYPE_CHECKING or _digitpattern is not None:
    from capture.identity._digitpattern import Pattern as _Base
else:  # never made then (digit_pattern gives None), but the class must exist
    _Base = object


class DigitPattern(_Base):
    """A stand-in for ``re.compile(pattern)`` whose ``match`` and ``fullmatch`` of a
    string of ASCII digits run in C (the base, ``_digitpattern.Pattern``, holds
    ``pattern`` and its ``program``); everything else is the compiled pattern's."""

    __slots__ = ("_compiled",)
    pattern: str
    program: bytes

    def __init__(self, pattern: str, program: bytes) -> None:
        self._compiled: re.Pattern[str] | None = None

    def compiled(self) -> re.Pattern[str]:
        """The pattern compiled by re (on first need)."""
        if self._compiled is None:
            self._compiled = re.compile(self.pattern)
        return self._compiled

    def _found(self, string: str, end: int, full: bool) -> DigitMatch:
        # The base's match or fullmatch found one ending at ``end``.
        return DigitMatch(self, string, end, full)

    def _by_re(self, full: bool, string: str, *args: Any) -> re.Match[str] | None:
        # What the base left to re: other arguments, text not of ASCII digits, a
        # search past its budget.
        compiled = self.compiled()
        return compiled.fullmatch(string, *args) if full else compiled.match(string, *args)

    def __getattr__(self, name: str) -> Any:
        # search, sub, split, flags, groups...: the compiled pattern's own.
        return getattr(self.compiled(), name)

    def __repr__(self) -> str:
        return f"DigitPattern({self.pattern!r})"


class DigitMatch:
    """What ``match``/``fullmatch`` of a :class:`DigitPattern` found: its span and
    whole text; anything else is asked of re's match of the same string."""

    __slots__ = ("_end", "_full", "_pattern", "string")

    def __init__(self, pattern: DigitPattern, string: str, end: int, full: bool) -> None:
        self._pattern = pattern
        self.string = string
        self._end = end
        self._full = full

    def end(self, group: int = 0) -> int:
        """``re.Match.end``."""
        return self._end if group == 0 else self._real().end(group)

    def start(self, group: int = 0) -> int:
        """``re.Match.start``."""
        return 0 if group == 0 else self._real().start(group)

    def span(self, group: int = 0) -> tuple[int, int]:
        """``re.Match.span``."""
        return (0, self._end) if group == 0 else self._real().span(group)

    def group(self, *groups: int) -> Any:
        """``re.Match.group``."""
        if groups in ((), (0,)):
            return self.string[: self._end]
        return self._real().group(*groups)

    def groups(self, default: Any = None) -> tuple[Any, ...]:
        """``re.Match.groups``: none, the pattern having no capturing group."""
        return ()

    def _real(self) -> re.Match[str]:
        compiled = self._pattern.compiled()
        found = (compiled.fullmatch if self._full else compiled.match)(self.string)
        assert found is not None, "re and _digitpattern disagree"  # the tests hold them equal
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real(), name)


def digit_pattern(pattern: str) -> DigitPattern | None:
    """``pattern`` as a :class:`DigitPattern`, or None where it is not of the part of
    regex syntax matched in C (or the C extension was not built)."""
    if _digitpattern is None:
        return None
    program = _digitpattern.program(pattern)
    return None if program is None else DigitPattern(pattern, program)


def install(phonenumberutil: ModuleType) -> bool:
    """Make ``phonenumberutil`` (libphonenumber's module) compile the patterns of that
    part of the syntax as :class:`DigitPattern`; True if it did.

    The module looks its patterns up by calling its global ``re_compile`` (the
    package's ``re_util.re_compile``); that one global is replaced, keeping each
    pattern once as that function's cache does. A package laid out otherwise (no such
    global) is left as it is: numbers are read the same, only slower.
    """
    original: Callable[[str], Any] | None = getattr(phonenumberutil, "re_compile", None)
    if _digitpattern is None or original is None or getattr(original, "digit_patterns", False):
        return False
    # Bounded by the metadata: libphonenumber compiles only its own patterns here.
    kept: dict[str, Any] = {}

    def re_compile(regex: str) -> Any:
        pattern = kept.get(regex)
        if pattern is None:
            pattern = digit_pattern(regex) if type(regex) is str else None
            kept[regex] = pattern = pattern if pattern is not None else original(regex)
        return pattern

    re_compile.digit_patterns = True  # type: ignore[attr-defined]
    re_compile.original = original  # type: ignore[attr-defined]
    phonenumberutil.re_compile = re_compile  # type: ignore[attr-defined]
    return True
