"""The residents list from the first search on, and the separators of a language
(issue 13)."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable

from fieldapp.tui.screens.residents import ResidentsScreen
from tests.tui.conftest import make_app, running, settle


async def test_open_needs_are_counted_on_a_fresh_start(demo_vault: Path) -> None:
    """No filter toggled: the open-needs column is filled all the same."""
    async with running(demo_vault) as (app, pilot, _ws):
        assert app.workspace is not None
        counts = app.workspace.open_needs_by_resident()
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ResidentsScreen)
        table = app.screen.query_one("#residents", DataTable)
        shown = {str(key.value): str(table.get_row(key)[4]) for key in table.rows}
        assert any(counts.get(rid) for rid in shown)
        for rid, cell in shown.items():
            assert cell == str(counts.get(rid) or "")


async def test_tags_are_joined_as_each_language_joins_a_list(demo_vault: Path) -> None:
    """ ", " in English, "、" in Chinese: in the residents list and in a resident's file."""
    from fieldapp.domain import Resident
    from fieldapp.tui.i18n import show_value

    for lang, sep in (("en", ", "), ("zh_CN", "、")):
        app = make_app(demo_vault, lang=lang)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            assert app.workspace is not None
            several = next(r for r in app.workspace.records.all(Resident) if len(r.tags) > 1)
            await pilot.press("r")
            await settle(pilot)
            table = app.screen.query_one("#residents", DataTable)
            cell = str(table.get_row(several.id)[3])
            other = "、" if sep == ", " else ", "
            assert sep in cell and other not in cell
            assert sep in show_value("resident", "tags", [t.value for t in several.tags])
            app.close_vault()


async def test_an_open_dropdown_says_its_key_in_chinese(demo_vault: Path) -> None:
    """Textual's "esc Dismiss menu" in a dropdown's footer, in the user's language."""
    from textual.widgets import Select

    async with running(demo_vault, lang="zh_CN") as (app, pilot, _ws):
        await pilot.press("r")
        await settle(pilot)
        app.screen.query_one("#community", Select).focus()
        await pilot.press("enter")  # the menu opens
        await settle(pilot)
        shown = {a.binding.description for a in app.screen.active_bindings.values()}
        assert "关闭菜单" in shown and "Dismiss menu" not in shown
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("f2")  # English again: the menu's key too
        await settle(pilot)
        app.screen.query_one("#community", Select).focus()
        await pilot.press("enter")
        await settle(pilot)
        shown = {a.binding.description for a in app.screen.active_bindings.values()}
        assert "Close the menu" in shown


async def test_the_palette_says_no_matches_in_chinese(demo_vault: Path) -> None:
    from textual.command import CommandPalette
    from textual.widgets import OptionList

    async with running(demo_vault, lang="zh_CN") as (app, pilot, _ws):
        await pilot.press("ctrl+p")
        await settle(pilot)
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"qqqqxyz")
        for _ in range(40):  # the palette waits half a second before it says so
            await pilot.pause(0.05)
            options = app.screen.query_one(OptionList)
            if options.option_count:
                break
        texts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert texts and all("No matches" not in text for text in texts)
        assert any("没有找到" in text for text in texts)
        await pilot.press("escape")
