"""Without colour (NO_COLOR), an identity is the brightest text, not the darkest."""

from __future__ import annotations

import pytest
from rich.style import Style
from textual.color import Color
from textual.filter import Monochrome, monochrome_style

from tests.tui.fakes import make_app
from tui.monochrome import SignalMonochrome, signal_style
from tui.render import BADGE_STYLE, SEVERITY_STYLE


def _brightness(style: Style, background: bool = False) -> float:
    colour = style.bgcolor if background else style.color
    assert colour is not None
    return Color.from_rich_color(colour).brightness


@pytest.mark.parametrize("severity", ["high", "medium", "low"])
def test_a_severity_is_brighter_than_plain_text_where_textual_made_it_darker(
    severity: str,
) -> None:
    style = Style.parse(SEVERITY_STYLE[severity])
    plain = Style(color=Color(224, 224, 224).rich_color)  # Textual's text
    assert _brightness(monochrome_style(style)) < _brightness(plain)  # why this exists
    assert _brightness(signal_style(style)) > _brightness(signal_style(plain))
    assert signal_style(style).underline == bool(style.bold)


@pytest.mark.parametrize("severity", ["high", "medium", "low"])
def test_a_badge_is_black_on_light_grey_as_reverse_video_shows_it(severity: str) -> None:
    badge = signal_style(Style.parse(BADGE_STYLE[severity]))
    assert _brightness(badge, background=True) > 0.8 > _brightness(badge)


def test_greys_stay_as_textual_greys_them() -> None:
    grey = Style(color=Color(120, 120, 120).rich_color, bgcolor=Color(18, 18, 18).rich_color)
    assert signal_style(grey) == monochrome_style(grey)


async def test_the_dashboard_draws_with_it_under_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app()
    assert any(isinstance(f, SignalMonochrome) for f in app._filters)
    assert not any(isinstance(f, Monochrome) for f in app._filters)
    monkeypatch.delenv("NO_COLOR")
    assert not any(isinstance(f, SignalMonochrome) for f in make_app()._filters)
