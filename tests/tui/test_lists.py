"""The residents list from the first search on, and the separators of a language
(issue 13)."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable

from fieldapp.tui.screens.residents import ResidentsScreen
from tests.tui.conftest import make_app, settle


async def test_open_needs_are_counted_on_a_fresh_start(demo_vault: Path) -> None:
    """No filter toggled: the open-needs column is filled all the same."""
    app = make_app(demo_vault)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
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
        app.close_vault()


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
