"""Which pane has the keys shows: the list's title row is lit and marked ▶, the
detail and the exposure panel light their border."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.tui.fakes import make_app, post_demo_capture


async def test_the_focused_pane_is_marked() -> None:
    app = make_app(source_name="demo")
    async with app.run_test(size=(200, 50)) as pilot:
        post_demo_capture(app)
        await pilot.pause()
        main = app.main
        requests, detail, exposure = main.requests, main.detail, main.exposure
        await pilot.press("enter")
        assert requests.has_focus
        assert requests.render_line(0).text.startswith("▶")
        detail.focus()
        await pilot.pause()
        assert not requests.render_line(0).text.startswith("▶")
        assert detail.styles.border_top[0] == "heavy"
        focused_detail = detail.styles.border_top[1]
        exposure.focus()
        await pilot.pause()
        assert exposure.styles.border_left[1] == focused_detail  # the same accent
        requests.focus()
        await pilot.pause()
        assert exposure.styles.border_left[1] != focused_detail
        assert detail.styles.border_top[1] != focused_detail


async def test_the_palettes_screenshot_is_saved_here_and_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "no-home"))  # no ~/Downloads
    app = make_app(source_name="demo")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        target = app.deliver_screenshot()
        await pilot.pause()
        assert target is not None and Path(target).parent == tmp_path
        assert Path(target).read_text().startswith("<svg")
        assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
        assert [n.message for n in app._notifications] == [f"screenshot saved to {target}"]
        assert app.deliver_screenshot(path=str(tmp_path / "missing")) is None
        await pilot.pause()
        assert "screenshot not saved" in [n.message for n in app._notifications][-1]
        # One of the same name (the same second) is never replaced.
        Path(target).write_text("the first")
        assert app.deliver_screenshot(filename=Path(target).name) is None
        await pilot.pause()
        said = [n.message for n in app._notifications][-1]
        assert said == f"{target}: screenshot not saved: file exists"
        assert Path(target).read_text() == "the first"
