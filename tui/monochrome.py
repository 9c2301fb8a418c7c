"""The dashboard without colour (``NO_COLOR``), its signals still the brightest text.

Textual's ``Monochrome`` filter greys each colour by its brightness: the red of an
identity becomes a dark grey on the near-black background, the least visible text on
the screen, and a red badge a grey block like any other. Here a colour that signals
(saturated: the severities' red, orange and yellow, a comment's cyan, an injected
header's magenta) becomes the brightest grey instead, underlined where it is bold
(an identity's header line, its finding), and a signalling background (a badge, the
cursor's row) light grey behind black: as reverse video shows it. Other colours are
greyed as Textual greys them.
"""

from __future__ import annotations

from functools import lru_cache

from rich.color import Color as RichColor
from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.filter import LineFilter, monochrome_style

SATURATED = 0.5
"""Saturation (HSV) from which a colour is taken to signal something, not to shade."""

_BRIGHT = Color(250, 250, 250).rich_color
_LIGHT = Color(214, 214, 214).rich_color
_BLACK = Color(0, 0, 0).rich_color


def _signals(colour: RichColor | None) -> bool:
    """Whether ``colour`` is saturated (HSV) enough to signal: a terminal's standard
    red as much as the theme's truecolor one."""
    if colour is None or colour.is_default:
        return False
    red, green, blue = colour.get_truecolor()
    high = max(red, green, blue)
    return high > 0 and (high - min(red, green, blue)) / high >= SATURATED


@lru_cache(1024)
def signal_style(style: Style) -> Style:
    """``style`` without colour: a signalling foreground the brightest grey (underlined
    where bold), a signalling background light grey behind black, others greyed."""
    if _signals(style.bgcolor):
        return style + Style(color=_BLACK, bgcolor=_LIGHT)
    if _signals(style.color):
        return style + Style(color=_BRIGHT, underline=bool(style.bold))
    return monochrome_style(style)


class SignalMonochrome(LineFilter):
    """Textual's ``Monochrome``, with the colours that signal kept the most visible."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        """The segments without colour (see :func:`signal_style`)."""
        styled = signal_style
        return [
            Segment(text, styled(style) if style is not None else None, None)
            for text, style, _ in segments
        ]
