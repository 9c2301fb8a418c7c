"""c, C and y copy the request under the cursor (text, curl, identity value) with a notice."""

from __future__ import annotations

import shlex

from tests.tui.fakes import make_app, post_demo_capture


async def test_c_shift_c_and_y_copy_and_say_so() -> None:
    app = make_app(source_name="demo")
    copied: list[str] = []
    app.copy_to_clipboard = copied.append  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        post_demo_capture(app)
        await pilot.pause()
        await pilot.press("k")  # the ad request: MSISDN and IMEI
        await pilot.press("y", "c", "C")
        await pilot.pause()
        assert copied[0] == "+447700900123"
        assert copied[1].startswith("GET /v2/ad?app=com.example.fruitgame&imei=490154203237518")
        assert "x-up-calling-line-id: 447700900123" in copied[1]
        args = shlex.split(copied[2])
        assert args[:2] == [
            "curl",
            "http://ads.adnetwork.example/v2/ad?app=com.example.fruitgame&imei=490154203237518&fmt=json&w=320&h=50",
        ]
        said = [n.message for n in app._notifications]
        assert said == [
            "copied #27 msisdn +447700900123 to the clipboard",
            "copied #27 request to the clipboard",
            "copied #27 as a curl command to the clipboard",
        ]
        await pilot.press("g", "j", "j", "j", "j", "y")  # #5 carries no identity
        assert app.main.requests.cursor_id == 5
        await pilot.pause()
        assert len(copied) == 3
        assert "this request carries no identity to copy" in [n.message for n in app._notifications]


async def test_the_palette_names_keys_as_people_type_them() -> None:
    app = make_app(source_name="demo")
    async with app.run_test(size=(120, 40)):
        helps = {c.title: c.help for c in app.get_system_commands(app.main)}
        assert helps["Comment"] == "comment · key ;"
        assert helps["Help"] == "help · key ?"
        assert helps["Filter"] == "filter · key f /"
        assert not any("semicolon" in h or "question_mark" in h for h in helps.values())
