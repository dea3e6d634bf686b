"""Ctrl+Z / Ctrl+Y in a text box: a slip of the keyboard can be taken back, and a
passphrase is never kept for it."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input

from fieldapp.tui.screens.form import FormScreen
from tests.tui.conftest import running, settle


async def test_a_cleared_field_comes_back_with_ctrl_z_and_goes_again_with_ctrl_y(
    demo_vault: Path,
) -> None:
    async with running(demo_vault, "zh_CN") as (app, pilot, _ws):
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)
        name = app.screen.query_one("#f-name", Input)
        assert app.focused is name
        await pilot.press(*"卓玛")
        await pilot.press("ctrl+u")  # the whole line gone by mistake
        await settle(pilot)
        assert name.value == ""
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert name.value == "卓玛"
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert name.value == "卓"
        await pilot.press("ctrl+y", "ctrl+y")
        await settle(pilot)
        assert name.value == ""
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert name.value == "卓玛"
        assert app.screen.values["name"] == "卓玛"  # the form saves what the box shows


async def test_a_passphrase_box_keeps_no_history(demo_vault: Path) -> None:
    async with running(demo_vault) as (app, pilot, _ws):
        await pilot.press("ctrl+l")
        await settle(pilot)
        box = app.screen.query_one("#passphrase", Input)
        await pilot.press(*"secret", "ctrl+u")
        await settle(pilot)
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert box.value == ""
        assert box not in app.typing._boxes
